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
An extra branch, ``envelope`` (weight ``envelope_weight``, off by default), is pitch-free: the
log-magnitude S = log1p(M) of the harmonic branch's input, each frequency bin's time series on
its own through one random conv over time (width K, F filters, one input channel) + ReLU, and
the Gram pooled over every bin and frame: how a partial's level moves (a pluck decays, an
organ holds), whatever its frequency. As a composition: the bins' series stacked end to end
into one (n_bins T x 1) sequence, the backend's conv1d_relu on it, the rows whose window
spans two bins dropped (their gradient is zero); the backward scatters back and transposes.

Each one is the Gram of transformed activations A' = t(A), so the style loss ops of every
backend (dense and Gram-free) run unchanged on A'; the transforms and their backwards are
compositions of array operations on the backend's ``xp``:
  centering  A' = A - 1 muᵀ,  dA = dA' - 1 mean(dA')ᵀ (a projection: its own adjoint)
  scaling    A' = c A, c = sqrt(T / (||A||² + eps)),  dA = c dA' - c <dA', A> / (||A||² + eps) A
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ParameterError
from engine.model.network import Network
from engine.model.objective import input_gradient, summed
from engine.model.params import random_conv
from engine.model.style_target import (
    STYLE_CHUNK_FRAMES,
    combine,
    factor_can_pay,
    finish,
    gram_by_syrk,
)

STATISTICS = ("gram", "centered", "shape", "centered-shape")
TERMS = {"harmonic": "style_harmonic", "rhythm": "style_rhythm", "envelope": "style_envelope",
         "shift": "style_shift"}
EPS = 1e-8  # per row, in the scaling's ||A||² + eps T: a silent source stays finite


@dataclass
class Patch:
    """A patch branch on the log-magnitude S (T x n_bins): S @ basisᵀ (T x B; basis None: S
    itself), then at every position p of B - Kf + 1 the Kf adjacent columns' series through
    one random conv over time (weights (Kt, Kf, F)) + ReLU; the rows of all positions pooled
    into one Gram. envelope: Kf = 1 on the bins (each bin's series on its own); shift: Kf
    bands of a log-frequency axis, so a transposition only moves the position."""
    weights: Any
    basis: Any = None


def logf_basis(sr: int, n_fft: int, fmin: float, bands_per_octave: int,
               n_bands: int) -> np.ndarray:
    """(n_bands, n_bins) rows of triangles centred at fmin 2^(k / bands_per_octave), each
    reaching its neighbours' centres and at least one bin either side; rows sum to 1."""
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    df = sr / n_fft
    out = np.zeros((n_bands, len(freqs)))
    for k in range(n_bands):
        c = fmin * 2 ** (k / bands_per_octave)
        lo = max(c - fmin * 2 ** ((k - 1) / bands_per_octave), df)
        hi = max(fmin * 2 ** ((k + 1) / bands_per_octave) - c, df)
        w = np.where(freqs < c, 1 - (c - freqs) / lo, 1 - (freqs - c) / hi)
        out[k] = np.maximum(w, 0)
        out[k] /= out[k].sum()
    return out


def make_patch(net: Network, index: int, width: int, filters: int,
               basis: Any = None) -> Patch:
    """Weights (width, Kf, filters) from default_rng([seed, index, 0]), Kf = 1 without a
    basis, else the basis's rows (all the bands one position sees: see ``shift_patch``)."""
    b = net.backend
    w = random_conv(np.random.default_rng([net.config.seed, index, 0]), width,
                    1 if basis is None else basis[1], filters)
    return Patch(b.asarray(w.astype(net.dtype)),
                 None if basis is None else b.asarray(basis[0].astype(net.dtype)))


def envelope_patch(net: Network, width: int, filters: int) -> Patch:
    return make_patch(net, 3, width, filters)


def shift_patch(net: Network, width: int, filters: int, octaves: int,
                bands_per_octave: int = 12, fmin: float = 65.4) -> Patch:
    """Log-frequency bands (12 a octave from C2 up to the Nyquist), patches ``octaves``
    octaves tall."""
    c = net.config
    n_bands = int(np.floor(np.log2(c.sr / 2 / fmin) * bands_per_octave)) - 1
    Kf = octaves * bands_per_octave
    if n_bands < Kf:
        raise ParameterError(f"--shift-octaves {octaves} is taller than the {n_bands} bands "
                             f"from {fmin} Hz to sr / 2")
    return make_patch(net, 4, width, filters,
                      (logf_basis(c.sr, c.n_fft, fmin, bands_per_octave, n_bands), Kf))


def patch_forward(b: Any, S: Any, patch: Patch) -> tuple[Any, tuple]:
    """Activations ((B - Kf + 1)(T - Kt + 1) x F) of every position's series."""
    xp = b.xp
    Q = S if patch.basis is None else S @ patch.basis.T
    T, B = Q.shape
    Kt, Kf, _ = patch.weights.shape
    if T < Kt:
        raise ParameterError(f"a patch statistic needs {Kt} frames, got {T}")
    P = B - Kf + 1
    if Kf == 1:
        X = xp.ascontiguousarray(Q.T).reshape(P * T, 1)
    else:
        X = xp.stack([Q[:, p:p + Kf] for p in range(P)]).reshape(P * T, Kf)
    A_all, cache = b.conv1d_relu_forward(X, patch.weights)
    idx = (xp.arange(P)[:, None] * T + xp.arange(T - Kt + 1)[None, :]).reshape(-1)
    return A_all[idx], (cache, idx, A_all.shape, T, B, P, Kf)


def patch_backward(b: Any, dA: Any, cache: tuple, patch: Patch) -> Any:
    """dL/dS (T x n_bins) from dL/dA."""
    xp = b.xp
    conv_cache, idx, shape, T, B, P, Kf = cache
    d = xp.zeros(shape, dtype=dA.dtype)
    d[idx] = dA
    dX = b.conv1d_relu_backward(d, conv_cache).reshape(P, T, Kf)
    dQ = xp.zeros((T, B), dtype=dA.dtype)
    for j in range(Kf):
        dQ[:, j:j + P] += dX[:, :, j].T
    return dQ if patch.basis is None else dQ @ patch.basis


def transform_forward(xp: Any, A: Any, kind: str) -> tuple[Any, list]:
    """A' = t(A) for one of STATISTICS, and the cache of its backward."""
    if kind not in STATISTICS:
        raise ParameterError(f"statistics must be one of {', '.join(STATISTICS)}, got {kind!r}")
    steps = []
    if kind in ("centered", "centered-shape"):
        A = A - A.mean(axis=0, keepdims=True)
        steps.append(("center", None))
    if kind in ("shape", "centered-shape"):
        # c and ||A||² stay 0-d arrays on the device (a float() is a sync and a copy a term)
        T = A.shape[0]
        sq = xp.sum(xp.square(A.astype(np.float64))) + EPS * T
        c = xp.sqrt(T / sq)
        steps.append(("scale", (A, c, sq)))
        A = A * c.astype(A.dtype)
    return A, steps


def transform_backward(xp: Any, dA: Any, steps: list) -> Any:
    """dL/dA from dL/dA' through the steps of ``transform_forward``, last first."""
    for kind, data in reversed(steps):
        if kind == "scale":
            A, c, sq = data
            inner = xp.sum(dA.astype(np.float64) * A.astype(np.float64))
            dA = dA * c.astype(dA.dtype) - A * (c * inner / sq).astype(A.dtype)
        else:
            dA = dA - dA.mean(axis=0, keepdims=True)
    return dA


def example_targets(net: Network, styles: list, branches: tuple, kind: str,
                    patches: Any = None) -> dict:
    """{branch: [StyleTarget]} of the transformed activations of several examples
    [(signal, weight), ...], averaged by weight (factors stacked where they pay). Each
    example's transform uses its own mean and energy; its activations are computed whole
    (a chunk of STYLE_CHUNK_FRAMES frames at a time, each reading its K - 1 frames of
    context), so memory grows with the example's length times the filters. ``patches``:
    {name: Patch} of the patch branches in ``branches``."""
    b, c = net.backend, net.config
    per_example = []
    for x, w in styles:
        targets = {}
        for name in branches:
            if name in (patches or {}):
                K = patches[name].weights.shape[0]
            else:
                br = net.branches[name]
                if br.resid:
                    raise ParameterError("these separation statistics need --n-resid 0")
                K = br.width
            T = 1 + (len(x) - c.n_fft) // c.hop_length
            rows = []
            for r0 in range(0, T - K + 1, STYLE_CHUNK_FRAMES):
                r1 = min(r0 + STYLE_CHUNK_FRAMES, T - K + 1)
                seg = x[r0 * c.hop_length:(r1 + K - 2) * c.hop_length + c.n_fft]
                if name in (patches or {}):
                    S = net.features(seg, ("logmag",))["logmag"][0]
                    rows.append(patch_forward(b, S, patches[name])[0])
                else:
                    rows.append(net.features(seg, (name,))[name][0])
            A, _ = transform_forward(b.xp, b.xp.concatenate(rows), kind)
            n = A.shape[0]
            factor = A * A.dtype.type(1 / np.sqrt(n))
            G = b.gram_forward(A)[0]
            pays = factor_can_pay(n, A.shape[1], gram_by_syrk(b))
            targets[name] = [finish(b.xp, G, factor if pays else None)]
        per_example.append((targets, w))
    return {name: combine(b.xp, [(t[name], w) for t, w in per_example]) for name in branches}


class StatsObjective:
    """The style loss of ``statistics`` against an example's targets: the interface of
    engine.model.objective.Objective that MaskSeparation uses (terms_and_grad, balance,
    network), for style terms only.

    L = sum over branches b: w_b ||Gram(t(A_b(x))) - target_b||²"""

    def __init__(self, network: Network, targets: dict, kind: str, weights: dict,
                 patches: Any = None) -> None:
        """``weights``: {branch: user weight} ("harmonic", "rhythm" and the names of
        ``patches``, {name: Patch}); a weight of 0 drops the branch."""
        self.network, self.kind, self.targets = network, kind, targets
        self.patches = patches or {}
        self.user_weights = {name: float(w) for name, w in weights.items()}
        self.style_branches = [b for b, w in self.user_weights.items() if w > 0]
        self.factors = {b: 1.0 for b in self.style_branches}
        self.last_terms: dict = {}

    def _forward(self, x: np.ndarray, unit: bool = False,
                 device: bool = False) -> tuple[dict, dict, dict]:
        """As Objective._forward: ``device``, x is a backend array in the network's dtype and
        the terms stay on the device."""
        net = self.network
        b = net.backend
        patched = [n for n in self.style_branches if n in self.patches]
        branches = [n for n in self.style_branches if n not in self.patches] + \
            (["logmag"] if patched else [])
        xd = x if device else net.asarray(np.asarray(x, dtype=net.dtype))
        feats, caches = net.forward(xd, branches)
        for name in patched:
            A, caches[name] = patch_forward(b, feats["logmag"][0], self.patches[name])
            feats[name] = [A]
        terms, grads = {}, {}
        for name in self.style_branches:
            w = 1.0 if unit else self.user_weights[name] * self.factors[name]
            A, steps = transform_forward(b.xp, feats[name][0], self.kind)
            target = self.targets[name][0]
            if target.use_factor(A.shape[0], gram_by_syrk(b)):
                loss, cache = b.gramfree_style_loss_forward(A, target.factor, target.gram_sq, w)
                dA = b.gramfree_style_loss_backward(1.0, cache)
            else:
                loss, cache = b.gram_style_loss_forward(A, target.gram, w)
                dA = b.gram_style_loss_backward(1.0, cache)
            terms[TERMS[name]] = loss
            dA = transform_backward(b.xp, dA, steps)
            if name in self.patches:
                grads[TERMS[name]] = {"logmag": [patch_backward(b, dA, caches[name],
                                                                self.patches[name])]}
            else:
                grads[TERMS[name]] = {name: [dA]}
        terms["style"] = sum(terms.values())
        terms["total"] = terms["style"]
        if not device:
            terms = b.to_floats(terms) if hasattr(b, "to_floats") else \
                {k: float(v) for k, v in terms.items()}
        return terms, grads, caches

    def _backward(self, grads: dict, caches: dict) -> np.ndarray:
        return input_gradient(self.network, grads, caches)

    def device_terms_and_grad(self, x: Any) -> tuple[dict, Any]:
        """As Objective.device_terms_and_grad: x, the terms and dL/dx on the device."""
        terms, term_grads, caches = self._forward(x, device=True)
        return terms, self.network.backward(summed(term_grads), caches)

    def terms_and_grad(self, x: np.ndarray) -> tuple[dict, np.ndarray]:
        terms, term_grads, caches = self._forward(x)
        self.last_terms = terms
        return terms, self._backward(summed(term_grads), caches)  # patches all feed "logmag"

    def balance(self, x0: np.ndarray) -> dict:
        """As Objective.balance without content: each branch's gradient norm at x0 made the
        first style branch's."""
        _, term_grads, caches = self._forward(x0, unit=True)
        # each term's gradient on its own: the patch terms' caches are separate
        norms = {t: float(np.linalg.norm(self._backward(g, caches)))
                 for t, g in term_grads.items()}
        ref = norms[TERMS[self.style_branches[0]]]
        for name in self.style_branches:
            n = norms[TERMS[name]]
            self.factors[name] = ref / n if n > 0 else 1.0
        return dict(self.factors)
