"""Style statistics other than the raw Gram, for separation (``separate --statistics``).

The raw Gram G = AᵀA / T of a branch's activations A (T x F) mixes two things: the mean
activation (G = mu muᵀ + C, mu the mean row, C the covariance), which for the harmonic branch
is a random projection of the average log spectrum and so of the notes played, and the
covariance C, how the activations vary over time. With ``statistics``:
  gram            G (the engine's style statistic; the Objective does this one)
  centered        C = (A - mu)ᵀ(A - mu) / T: the covariance, the mean removed
  shape           G / tr(G): the Gram of A scaled to unit mean energy per row, so a source's
                  level against its example's does not count
  centered-shape  C / tr(C)
Each one is the Gram of transformed activations A' = t(A), so the style loss ops of every
backend (dense and Gram-free) run unchanged on A'; the transforms and their backwards are
compositions of array operations on the backend's ``xp``:
  centering  A' = A - 1 muᵀ,  dA = dA' - 1 mean(dA')ᵀ (a projection: its own adjoint)
  scaling    A' = c A, c = sqrt(T / (||A||² + eps)),  dA = c dA' - c <dA', A> / (||A||² + eps) A
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.errors import ParameterError
from engine.model.network import Network
from engine.model.style_target import STYLE_CHUNK_FRAMES, combine, factor_can_pay, finish

STATISTICS = ("gram", "centered", "shape", "centered-shape")
TERMS = {"harmonic": "style_harmonic", "rhythm": "style_rhythm"}
EPS = 1e-8  # per row, in the scaling's ||A||² + eps T: a silent source stays finite


def transform_forward(xp: Any, A: Any, kind: str) -> tuple[Any, list]:
    """A' = t(A) for one of STATISTICS, and the cache of its backward."""
    if kind not in STATISTICS:
        raise ParameterError(f"statistics must be one of {', '.join(STATISTICS)}, got {kind!r}")
    steps = []
    if kind in ("centered", "centered-shape"):
        A = A - A.mean(axis=0, keepdims=True)
        steps.append(("center", None))
    if kind in ("shape", "centered-shape"):
        T = A.shape[0]
        sq = float(xp.sum(xp.square(A.astype(np.float64)))) + EPS * T
        c = float(np.sqrt(T / sq))
        steps.append(("scale", (A, c, sq)))
        A = A * A.dtype.type(c)
    return A, steps


def transform_backward(xp: Any, dA: Any, steps: list) -> Any:
    """dL/dA from dL/dA' through the steps of ``transform_forward``, last first."""
    for kind, data in reversed(steps):
        if kind == "scale":
            A, c, sq = data
            inner = float(xp.sum(dA.astype(np.float64) * A.astype(np.float64)))
            dA = dA * dA.dtype.type(c) - A * A.dtype.type(c * inner / sq)
        else:
            dA = dA - dA.mean(axis=0, keepdims=True)
    return dA


def example_targets(net: Network, styles: list, branches: tuple, kind: str) -> dict:
    """{branch: [StyleTarget]} of the transformed activations of several examples
    [(signal, weight), ...], averaged by weight (factors stacked where they pay). Each
    example's transform uses its own mean and energy; its activations are computed whole
    (a chunk of STYLE_CHUNK_FRAMES frames at a time, each reading its K - 1 frames of
    context), so memory grows with the example's length times the filters."""
    if kind == "gram":
        raise ParameterError("the raw Gram's targets are the engine's style_targets")
    b, c = net.backend, net.config
    per_example = []
    for x, w in styles:
        targets = {}
        for name in branches:
            br = net.branches[name]
            if br.resid:
                raise ParameterError("--statistics other than gram needs --n-resid 0")
            K = br.width
            T = 1 + (len(x) - c.n_fft) // c.hop_length
            rows = []
            for r0 in range(0, T - K + 1, STYLE_CHUNK_FRAMES):
                r1 = min(r0 + STYLE_CHUNK_FRAMES, T - K + 1)
                seg = x[r0 * c.hop_length:(r1 + K - 2) * c.hop_length + c.n_fft]
                rows.append(net.features(seg, (name,))[name][0])
            A, _ = transform_forward(b.xp, b.xp.concatenate(rows), kind)
            n = A.shape[0]
            factor = A * A.dtype.type(1 / np.sqrt(n))
            G = b.gram_forward(A)[0]
            targets[name] = [finish(b.xp, G, factor if factor_can_pay(n, A.shape[1])
                                    else None)]
        per_example.append((targets, w))
    return {name: combine(b.xp, [(t[name], w) for t, w in per_example]) for name in branches}


class StatsObjective:
    """The style loss of ``statistics`` against an example's targets: the interface of
    engine.model.objective.Objective that MaskSeparation uses (terms_and_grad, balance,
    network), for style terms only.

    L = sum over branches b: w_b ||Gram(t(A_b(x))) - target_b||²"""

    def __init__(self, network: Network, targets: dict, kind: str, style_weight: float = 1.0,
                 rhythm_weight: float = 1.0) -> None:
        self.network, self.kind, self.targets = network, kind, targets
        self.user_weights = {"harmonic": float(style_weight), "rhythm": float(rhythm_weight)}
        self.style_branches = [b for b, w in self.user_weights.items() if w > 0]
        self.factors = {b: 1.0 for b in self.style_branches}
        self.last_terms: dict = {}

    def _forward(self, x: np.ndarray, unit: bool = False) -> tuple[dict, dict, dict]:
        net = self.network
        b = net.backend
        feats, caches = net.forward(net.asarray(np.asarray(x, dtype=net.dtype)),
                                    self.style_branches)
        terms, grads = {}, {}
        for name in self.style_branches:
            w = 1.0 if unit else self.user_weights[name] * self.factors[name]
            A, steps = transform_forward(b.xp, feats[name][0], self.kind)
            target = self.targets[name][0]
            if target.use_factor(A.shape[0]):
                loss, cache = b.gramfree_style_loss_forward(A, target.factor, target.gram_sq, w)
                dA = b.gramfree_style_loss_backward(1.0, cache)
            else:
                loss, cache = b.gram_style_loss_forward(A, target.gram, w)
                dA = b.gram_style_loss_backward(1.0, cache)
            terms[TERMS[name]] = float(loss)
            grads[TERMS[name]] = {name: [transform_backward(b.xp, dA, steps)]}
        terms["style"] = sum(terms.values())
        terms["total"] = terms["style"]
        return terms, grads, caches

    def _backward(self, grads: dict, caches: dict) -> np.ndarray:
        b = self.network.backend
        return np.asarray(b.to_numpy(self.network.backward(grads, caches)), dtype=np.float64)

    def terms_and_grad(self, x: np.ndarray) -> tuple[dict, np.ndarray]:
        terms, term_grads, caches = self._forward(x)
        merged = {}
        for per_branch in term_grads.values():
            merged.update(per_branch)
        self.last_terms = terms
        return terms, self._backward(merged, caches)

    def balance(self, x0: np.ndarray) -> dict:
        """As Objective.balance without content: each branch's gradient norm at x0 made the
        first style branch's."""
        _, term_grads, caches = self._forward(x0, unit=True)
        norms = {t: float(np.linalg.norm(self._backward(g, caches)))
                 for t, g in term_grads.items()}
        ref = norms[TERMS[self.style_branches[0]]]
        for name in self.style_branches:
            n = norms[TERMS[name]]
            self.factors[name] = ref / n if n > 0 else 1.0
        return dict(self.factors)
