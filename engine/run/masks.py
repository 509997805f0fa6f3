"""Separation made of the mix (docs/design.md §7): sources as soft time-frequency masks of its STFT.

Logits U (S, T, n_bins), one plane per source, optionally box-smoothed in time and frequency
(a self-adjoint linear map, so its backward is itself); masks M = softmax over the sources;
source i = iSTFT(M_i * X), X the mix's STFT. The sources sum to the mix to float rounding
whatever U is, and none can hold energy the mix lacks. Each source's loss is its own
Objective (style terms against its example's Grams); the gradient with respect to U goes back
through the inverse STFT's adjoint, the mask product and the softmax, by hand, in the
network's backend. The mask ops run in float64: next to the network they cost nothing, and
the sum stays exact.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.ndimage import uniform_filter

from engine.config import check_mask_stft
from engine.model.filters import hann_window
from kernels.numpy_ref import mask_frames


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
        self.last_sources: Optional[np.ndarray] = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def _smooth(self, U: np.ndarray) -> np.ndarray:
        if self.smooth == (1, 1, 1):
            return U
        return uniform_filter(U, size=self.smooth, mode="constant")

    def _forward(self, u: np.ndarray) -> tuple[np.ndarray, tuple]:
        b = self.b
        M, c1 = b.softmax_forward(b.asarray(self._smooth(np.reshape(u, self.shape))))
        Y, c2 = b.mask_apply_forward(M, self.X)
        y, c3 = b.istft_forward(Y, self.window, self.hop_length, self.n)
        return np.asarray(b.to_numpy(y), dtype=np.float64), (c1, c2, c3)

    def _backward(self, dy: np.ndarray, caches: tuple) -> np.ndarray:
        b = self.b
        c1, c2, c3 = caches
        dU = b.softmax_backward(b.mask_apply_backward(b.istft_backward(b.asarray(dy), c3), c2),
                                c1)
        return self._smooth(np.asarray(b.to_numpy(dU), dtype=np.float64)).reshape(-1)

    def sources(self, u: np.ndarray) -> dict:
        """{name: float64 signal} for the flattened logits u."""
        y, _ = self._forward(u)
        return dict(zip(self.names, y))

    def terms_and_grad(self, u: np.ndarray) -> tuple[dict, np.ndarray]:
        y, caches = self._forward(np.asarray(u, dtype=np.float64))
        self.last_sources = y
        terms, dy = {}, np.empty_like(y)
        for i, name in enumerate(self.names):
            t, g = self.objectives[name].terms_and_grad(y[i])
            terms[f"style_{name}"] = self.scales[name] * t["total"]
            dy[i] = self.scales[name] * g
        terms["total"] = sum(terms.values())
        return terms, self._backward(dy, caches)

    def balance(self, u0: np.ndarray, between_sources: bool = True) -> dict:
        """Barry & Kim's balancing inside each source's objective at its starting signal;
        then, with ``between_sources``, each source's loss scaled so that the norm of its
        gradient with respect to the logits at u0 is the geometric mean of them all (no
        source's statistics drown the others')."""
        y, caches = self._forward(np.asarray(u0, dtype=np.float64))
        norms = {}
        for i, name in enumerate(self.names):
            obj = self.objectives[name]
            obj.balance(y[i])
            if between_sources:
                dy = np.zeros_like(y)
                dy[i] = obj.terms_and_grad(y[i])[1]
                norms[name] = float(np.linalg.norm(self._backward(dy, caches)))
        if between_sources and all(v > 0 for v in norms.values()):
            ref = float(np.exp(np.mean(np.log(list(norms.values())))))
            self.scales = {name: ref / v for name, v in norms.items()}
        return dict(self.scales)
