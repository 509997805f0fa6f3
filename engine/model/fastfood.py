"""Structured random filters (Fastfood; Le, Sarlos & Smola, ICML 2013): the draw.

A dense random conv projects each patch p (K frames x C bins, D = K*C values) onto F Gaussian
rows. Fastfood replaces the rows by V = S H G P H B, with p zero-padded to N = 2^ceil(log2 D):
B random signs, H the Walsh-Hadamard matrix (entries +-1), P a permutation, G a Gaussian
diagonal, S a scaling. Blocks of N rows are stacked while F > N, and the first F rows kept.

Scale (docs/design.md, "Structured random filters"): with the unnormalized H, row i of
H G P H B has norm sqrt(N) |g| exactly, so S_i = sigma r_i / (sqrt(N) |g|), r_i ~ chi(N),
makes row i's norm sigma r_i: the norm of a row of N Gaussians of std sigma, as Fastfood's
S matrix does. sigma is the dense conv's (Ulyanov & Lebedev), so the two kinds of filters give
activations of the same scale; restricted to the D non-padded columns the expected squared
norm is sigma^2 D, the dense row's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from randstyle.engine.model.params import ulyanov_std


@dataclass
class FastfoodFilters:
    """The draw of one structured conv (float32, int64 perm), shapes (n_blocks, N)."""
    width: int
    n_in: int
    n_out: int
    signs: np.ndarray
    perm: np.ndarray
    gauss: np.ndarray
    scale: np.ndarray

    @property
    def size(self) -> int:
        return self.signs.shape[1]

    def cast(self, dtype) -> "FastfoodFilters":
        signs, gauss, scale = (a.astype(dtype, copy=False)
                               for a in (self.signs, self.gauss, self.scale))
        return FastfoodFilters(self.width, self.n_in, self.n_out, signs, self.perm, gauss,
                               scale)


def padded_size(width: int, n_in: int) -> int:
    """N: the patch length width * n_in rounded up to a power of two."""
    return 1 << max(0, (width * n_in - 1).bit_length())


def draw_fastfood(rng: np.random.Generator, width: int, n_in: int,
                  n_out: int) -> FastfoodFilters:
    """Signs, permutation, Gaussian diagonal and scale of each block, drawn in float32 (like
    random_conv) so every dtype shares them exactly; deterministic in the generator."""
    N = padded_size(width, n_in)
    n_blocks = -(-n_out // N)
    sigma = ulyanov_std(n_in, n_out, width)
    signs = np.where(rng.random((n_blocks, N)) < 0.5, -1.0, 1.0).astype(np.float32)
    perm = np.stack([rng.permutation(N) for _ in range(n_blocks)]).astype(np.int64)
    gauss = rng.standard_normal((n_blocks, N), dtype=np.float32)
    chi = np.sqrt(rng.chisquare(N, (n_blocks, N)))
    g_norm = np.linalg.norm(gauss.astype(np.float64), axis=1, keepdims=True)
    scale = (sigma * chi / (np.sqrt(N) * g_norm)).astype(np.float32)
    return FastfoodFilters(width, n_in, n_out, signs, perm, gauss, scale)


def dense_matrix(ff: FastfoodFilters) -> np.ndarray:
    """(N, n_out) float64: the explicit matrix of the same transform, column i the
    projection's i-th output as a function of the padded patch. For tests and the theory's
    checks only (N x n_out values)."""
    from scipy.linalg import hadamard
    N = ff.size
    H = hadamard(N).astype(np.float64)
    blocks = []
    for b in range(ff.signs.shape[0]):
        PHB = (H * ff.signs[b].astype(np.float64))[ff.perm[b]]
        blocks.append(ff.scale[b, :, None] * (H @ (ff.gauss[b, :, None] * PHB)))
    return np.concatenate(blocks, axis=0)[:ff.n_out].T
