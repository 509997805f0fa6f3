"""The layers of separation's statistics (``separate --statistics``, the envelope and shift
branches): patch convolutions on the log-magnitude and the statistic transforms, each with its
backward; engine/model/separation_stats.py builds their targets and their objective.

Style statistics other than the raw Gram, for separation (``separate --statistics``).

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

from randstyle.engine.errors import ParameterError
from randstyle.engine.model.network import Network
from randstyle.engine.model.params import random_conv

STATISTICS = ("gram", "centered", "shape", "centered-shape")
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
