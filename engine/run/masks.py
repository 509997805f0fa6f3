"""Separation made of the mix (docs/design.md §7): sources as soft time-frequency masks of its
STFT.

Logits U (S, T, n_bins), one plane per source, optionally box-smoothed in time and frequency
(the backends' box_smooth op: a self-adjoint linear map, so its backward is itself); masks
M = softmax over the sources; source i = iSTFT(M_i * X), X the mix's STFT. The sources sum to
the mix to float rounding whatever U is, and none can hold energy the mix lacks. Each
source's loss is its own Objective (style terms against its example's Grams); the gradient
with respect to U goes back through the inverse STFT's adjoint, the mask product and the
softmax, by hand, in the network's backend. The mask ops run in float64: next to the network
they cost nothing, and the sum stays exact. Every array of an evaluation stays on the
backend's device: only the logits in, and their gradient and the loss terms out, cross to the
host (for L-BFGS-B).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from randstyle.engine.config import check_mask_stft
from randstyle.engine.model.filters import hann_window
from randstyle.kernels.numpy_ref import mask_frames


class MaskSeparation:
    """terms_and_grad over the flattened logits, for ``engine.run.optimize.lbfgs``.

    ``objectives`` maps each source's name to its Objective (on one shared network)."""

    def __init__(self, mix: np.ndarray, objectives: dict, n_fft: int = 2048,
                 hop_length: int = 512, smooth: tuple = (1, 1)) -> None:
        check_mask_stft(n_fft, hop_length, smooth)
        self.objectives = objectives
        self.names = list(objectives)
        self.b = b = next(iter(objectives.values())).network.backend
        self.n = len(mix)
        self.hop_length = hop_length
        self.smooth = (1, *smooth)
        self.window = b.asarray(hann_window(n_fft))
        self.X, _ = b.mask_stft_forward(b.asarray(np.asarray(mix, dtype=np.float64)),
                                        self.window, hop_length)
        T = mask_frames(self.n, n_fft, hop_length)[0]
        self.shape = (len(objectives), T, n_fft // 2 + 1)
        self.scales = {name: 1.0 for name in self.names}
        self._last_y = None  # the last evaluation's sources, on the device

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def last_sources(self) -> Optional[np.ndarray]:
        """The sources (S, N) of the last evaluation, brought to the host on demand."""
        if self._last_y is None:
            return None
        return np.asarray(self.b.to_numpy(self._last_y), dtype=np.float64)

    def _forward(self, u: np.ndarray) -> tuple[object, tuple]:
        """The sources (S, N), float64, on the backend's device from the host's logits: the
        evaluation's one upload."""
        b = self.b
        U = b.asarray(np.reshape(np.asarray(u, dtype=np.float64), self.shape))
        V, c0 = b.box_smooth_forward(U, *self.smooth[1:])
        M, c1 = b.softmax_forward(V)
        Y, c2 = b.mask_apply_forward(M, self.X)
        y, c3 = b.istft_forward(Y, self.window, self.hop_length, self.n)
        return y, (c0, c1, c2, c3)

    def _backward(self, dy: object, caches: tuple) -> np.ndarray:
        """dL/du on the host from dL/d(sources) on the device: the evaluation's one
        download besides the loss terms."""
        b = self.b
        c0, c1, c2, c3 = caches
        dU = b.istft_backward(dy, c3)
        dU = b.box_smooth_backward(b.softmax_backward(b.mask_apply_backward(dU, c2), c1), c0)
        return np.asarray(b.to_numpy(dU), dtype=np.float64).reshape(-1)

    def sources(self, u: np.ndarray) -> dict:
        """{name: float64 signal} for the flattened logits u."""
        y, _ = self._forward(u)
        return dict(zip(self.names, np.asarray(self.b.to_numpy(y), dtype=np.float64)))

    def terms_and_grad(self, u: np.ndarray) -> tuple[dict, np.ndarray]:
        """Every array stays on the backend's device: the sources go to each objective in
        its network's dtype, their gradients come back into one float64 array; only u in,
        the gradient and the loss terms (together) out."""
        b = self.b
        y, caches = self._forward(u)
        self._last_y = y
        terms, dy = {}, b.xp.empty_like(y)
        for i, name in enumerate(self.names):
            obj = self.objectives[name]
            t, g = obj.device_terms_and_grad(y[i].astype(obj.network.dtype))
            terms[f"style_{name}"] = self.scales[name] * t["total"]
            dy[i] = g
            dy[i] *= self.scales[name]
        terms["total"] = sum(terms.values())
        if hasattr(b, "to_floats"):
            terms = b.to_floats(terms)
        return {k: float(v) for k, v in terms.items()}, self._backward(dy, caches)

    def balance(self, u0: np.ndarray, between_sources: bool = True) -> dict:
        """Barry & Kim's balancing inside each source's objective at its starting signal;
        then, with ``between_sources``, each source's loss scaled so that the norm of its
        gradient with respect to the logits at u0 is the geometric mean of them all (no
        source's statistics drown the others')."""
        b = self.b
        y, caches = self._forward(u0)
        y = np.asarray(b.to_numpy(y), dtype=np.float64)  # once per run: on the host
        norms = {}
        for i, name in enumerate(self.names):
            obj = self.objectives[name]
            obj.balance(y[i])
            if between_sources:
                dy = np.zeros_like(y)
                dy[i] = obj.terms_and_grad(y[i])[1]
                norms[name] = float(np.linalg.norm(self._backward(b.asarray(dy), caches)))
        if between_sources and all(v > 0 for v in norms.values()):
            ref = float(np.exp(np.mean(np.log(list(norms.values())))))
            self.scales = {name: ref / v for name, v in norms.items()}
        return dict(self.scales)
