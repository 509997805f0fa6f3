"""What the style loss compares against, per branch and layer: the style's Gram, and when it
pays, a factor of it (docs/design.md §8).

With A (T x F) the result's activations and B (T_s x F) the style's activations / sqrt(T_s)
(so the style Gram is Gs = BᵀB), ||AᵀA/T - Gs||² = ||AAᵀ||²/T² - 2||ABᵀ||²/T + ||Gs||²:
the Gram-free loss costs ~3T²F + 4T T_s F FLOPs per loss and gradient, the dense one ~3TF²
(a rank-k update for G, a GEMM for the gradient) plus passes over F x F matrices. The factor
is kept only for styles short enough that it can win (4 T_s < 3F), so a long style never
holds more than its Gram; the chunked accumulation keeps memory bounded by the chunk.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from tqdm import tqdm

from randstyle.engine.errors import ParameterError
from randstyle.engine.signal import n_frames

STYLE_CHUNK_FRAMES = 1024  # frames of style per chunk when accumulating a Gram


def gram_by_syrk(backend: Any) -> bool:
    """Whether the backend forms AᵀA by a rank-k update (the cpu backend's SYRK, NumPy's
    matmul of a matrix with its own transpose) at half a GEMM's FLOPs; the cuda backend
    says False (GRAM_BY_SYRK): its Grams are cuBLAS GEMMs."""
    return bool(getattr(backend, "GRAM_BY_SYRK", True))


def dense_flops(T: int, F: int, syrk: bool = True) -> float:
    """Dense Gram style loss and gradient: syrk for G (T F², a GEMM: 2 T F²), a GEMM for dA
    (2 T F²)."""
    return (3.0 if syrk else 4.0) * T * F * F


def gramfree_flops(T: int, T_s: int, F: int, syrk: bool = True) -> float:
    """Gram-free loss and gradient: syrk for AAᵀ (T² F, a GEMM: 2 T² F), ABᵀ (2 T T_s F),
    (AAᵀ)A (2 T² F), (ABᵀ)B (2 T T_s F)."""
    return (3.0 if syrk else 4.0) * T * T * F + 4.0 * T * T_s * F


def factor_can_pay(T_s: int, F: int, syrk: bool = True) -> bool:
    """Whether a factor of T_s rows beats the dense path for some result length (T >= 1)."""
    return gramfree_flops(1, T_s, F, syrk) < dense_flops(1, F, syrk)


def _sum_squares(xp: Any, G: Any, rows: int = 256) -> float:
    """||G||_F² in float64, a block of rows at a time (no F x F float64 temporary)."""
    return float(sum(float(xp.sum(xp.square(G[i:i + rows].astype(np.float64))))
                     for i in range(0, G.shape[0], rows)))


@dataclass
class StyleTarget:
    """gram: the style Gram (F x F, backend array); factor: B (T_s x F, backend array) with
    BᵀB = gram, or None where it would not pay; gram_sq: ||gram||_F²."""
    gram: Any
    factor: Optional[Any] = None
    gram_sq: Optional[float] = None

    def use_factor(self, T: int, syrk: bool = True) -> bool:
        """Gram-free for a result of T rows: when a factor is kept and its FLOPs are fewer
        (``syrk``: how the backend forms Grams, ``gram_by_syrk``)."""
        if self.factor is None:
            return False
        F = self.gram.shape[0]
        return gramfree_flops(T, self.factor.shape[0], F, syrk) < dense_flops(T, F, syrk)


def style_term(b: Any, A: Any, target: StyleTarget, weight: float) -> tuple[Any, Any, str]:
    """One layer's style loss ``weight`` ||Gram(A) - target||² on backend ``b``, its gradient
    dL/dA, and the algorithm that computed them: Gram-free (the target's factor) where that
    costs fewer FLOPs for A's rows (StyleTarget.use_factor), else the dense Gram. The one
    place that choice is made; every objective's style term comes through here."""
    if target.use_factor(A.shape[0], gram_by_syrk(b)):
        loss, cache = b.gramfree_style_loss_forward(A, target.factor, target.gram_sq, weight)
        return loss, b.gramfree_style_loss_backward(1.0, cache), "gramfree"
    loss, cache = b.gram_style_loss_forward(A, target.gram, weight)
    return loss, b.gram_style_loss_backward(1.0, cache), "dense"


def compress_factor(xp: Any, B: Any, tol: float) -> tuple[Any, Optional[float]]:
    """(B', ||B'ᵀB'||²): B' = U_rᵀB, the r rows along the leading eigenvectors U_r of BBᵀ
    that keep ||B'ᵀB' - BᵀB||_F <= tol ||BᵀB||_F (docs/design.md §8). Its rows are
    orthogonal, so ||B'ᵀB'||² is the sum of the kept eigenvalues squared, taken in float64
    here (never from a product that TF32 may round). (B, None) where cutting would not save
    a tenth of the rows, or tol is 0. The Gram-free loss costs ~4 T T_s F in the style's rows
    T_s, so r rows cost r / T_s of that term."""
    if tol <= 0:
        return B, None
    B64 = B.astype(np.float64)
    ev, U = xp.linalg.eigh(B64 @ B64.T)
    ev, U = xp.maximum(ev[::-1], 0.0), U[:, ::-1]  # descending
    sq = ev * ev
    total = float(sq.sum())
    tail = xp.cumsum(sq[::-1])[::-1]  # tail[r]: the squared norm dropping rows r.. loses
    r = int((tail > (tol * tol) * total).sum())
    if r > 0.9 * B.shape[0] or total == 0.0:
        return B, None
    return xp.ascontiguousarray((U[:, :r].T @ B64).astype(B.dtype)), float(sq[:r].sum())


def finish(xp: Any, gram: Any, factor: Optional[Any], tol: float = 0.0) -> StyleTarget:
    """The target; where a factor is kept, it is cut to ``tol`` (compress_factor) and the
    Gram becomes the cut factor's own, so the dense and Gram-free losses still compare
    against the same target; ||gram||², the Gram-free loss's constant."""
    if factor is None:
        return StyleTarget(gram, None, None)
    cut, gram_sq = compress_factor(xp, factor, tol)
    if gram_sq is None:
        return StyleTarget(gram, factor, _sum_squares(xp, gram))
    return StyleTarget(xp.matmul(cut.T, cut), cut, gram_sq)


def weighted_styles(style: Any) -> list:
    """[(signal, weight), ...] from one signal or a list of (signal, weight) pairs; the
    weights are normalized to sum to 1 (Grams are averaged by weight)."""
    if isinstance(style, (list, tuple)) and style and isinstance(style[0], tuple):
        pairs = [(np.asarray(x), float(w)) for x, w in style]
    else:
        pairs = [(np.asarray(style), 1.0)]
    if any(w <= 0 for _, w in pairs):
        raise ParameterError("style weights must be positive")
    total = sum(w for _, w in pairs)
    return [(x, w / total) for x, w in pairs]


def combine(xp: Any, weighted: list, tol: float = 0.0) -> list:
    """Targets of several styles [(targets per layer, weight), ...] -> targets per layer of
    their weighted mix: Grams summed by weight, factors stacked with sqrt(weight) (when all
    have one and the stack can still pay)."""
    if len(weighted) == 1 and weighted[0][1] == 1.0:
        return list(weighted[0][0])  # one style: no 64 MiB copies of its Grams
    out = []
    for layer in zip(*[targets for targets, _ in weighted]):
        gram = sum(w * t.gram for t, (_, w) in zip(layer, weighted))
        factor = None
        if all(t.factor is not None for t in layer):
            rows = sum(t.factor.shape[0] for t in layer)
            if factor_can_pay(rows, gram.shape[0]):
                # A Python float, not np.sqrt's float64 scalar, which would promote a
                # float32 factor to float64 (NumPy 2) and the Gram-free loss to NaN.
                factor = xp.concatenate([float(np.sqrt(w)) * t.factor
                                         for t, (_, w) in zip(layer, weighted)])
        out.append(finish(xp, gram, factor, tol))
    return out


def style_targets(net: Any, x: np.ndarray, branches: tuple, chunk_frames: int,
                  progress: bool, factors: bool = True) -> dict:
    """{branch: [StyleTarget of each layer]} of a signal of any length, its Grams accumulated
    over chunks of frames so memory stays bounded by the chunk, not the clip.

    A chunk computes the output rows [r0, r1) from the frames they read, plus the residual
    blocks' reach on each side; rows whose reach crosses a chunk edge that is not the clip's
    edge are dropped, so the sum equals the unchunked Gram. The rows themselves are kept
    (as the factor) only when the clip is short enough for the factor to pay."""
    c, b = net.config, net.backend
    T = n_frames(len(x), c.n_fft, c.hop_length)
    out = {}
    for name in branches:
        br = net.branches[name]
        K, m = br.width, br.margin
        n_rows = T - K + 1
        keep = factors and factor_can_pay(n_rows, br.n_out, gram_by_syrk(b))
        step = max(chunk_frames - K + 1 - 2 * m, 1)
        totals, kept, r0 = None, [], 0
        bar = tqdm(total=n_rows, desc=f"{name} Gram", unit="frame", leave=False,
                   disable=not progress or n_rows <= step, dynamic_ncols=True)
        while r0 < n_rows:
            r1 = min(r0 + step, n_rows)
            f0, f1 = max(r0 - m, 0), min(r1 + m, n_rows) + K - 1  # frames [f0, f1)
            seg = x[f0 * c.hop_length:(f1 - 1) * c.hop_length + c.n_fft]
            acts = net.features(seg, (name,))[name]
            grams = []
            for A in acts:
                rows = A[r0 - f0:r1 - f0]
                G = b.gram_forward(rows)[0]
                G *= rows.shape[0]  # un-normalize: chunks weigh by their rows
                grams.append(G)
            if keep:
                kept.append([A[r0 - f0:r1 - f0].copy() for A in acts])
            if totals is None:
                totals = grams
            else:
                for tot, G in zip(totals, grams):
                    tot += G
            bar.update(r1 - r0)
            r0 = r1
        bar.close()
        targets = []
        for i, tot in enumerate(totals):
            tot /= n_rows
            factor = None
            if keep:
                factor = b.xp.concatenate([chunk[i] for chunk in kept])
                factor *= factor.dtype.type(1.0 / np.sqrt(n_rows))
            targets.append(finish(b.xp, tot, factor, c.style_factor_tol))
        out[name] = targets
    return out
