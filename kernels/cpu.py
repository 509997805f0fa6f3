"""Fast CPU backend: BLAS GEMMs with no needless copies, scipy.fft, fused Numba kernels.

Same op list and signatures as numpy_ref (the spec). GEMMs run on the backend's own threads
with single-threaded BLAS (kernels/cpu_blas.py). The convs are im2col + one GEMM (or K
shifted GEMMs accumulating in place where the im2col buffer would be large). The Gram is a
symmetric rank-k update; the Gram-free style loss a rank-k update and GEMMs. Elementwise work
(framing, overlap-add, magnitude, log1p, ReLU masks, Gram difference and loss) is one Numba
pass each. Large internal buffers are allocated once per shape and reused across iterations;
arrays an op returns are always fresh, since callers keep them (targets, caches).
"""
from __future__ import annotations

import os
import sys
import weakref
from typing import Any

import numpy as np
import scipy.fft
from numba import njit

from randstyle import kernels
from randstyle.kernels import cpu_blas as blas
from randstyle.kernels import interface
from randstyle.kernels.autocorr_xp import AutocorrOps
from randstyle.kernels.masks_xp import MaskOps
from randstyle.kernels.nmf_xp import NMF_EPS, NMFOps
from randstyle.kernels.numpy_ref import asarray, n_frames, synchronize, to_numpy  # noqa: F401  host arrays
from randstyle.kernels.spectrum_xp import SpectrumOps

name = "cpu"
xp = np
# Scratch arrays by key. Bounded: a fixed name holds one array (a new shape replaces it), and
# a key owned by a style target (``_owned_buffer``) leaves with its target, so a long-lived
# process (a batch worker running row after row, each with its own styles) keeps only what its
# live targets need.
_buffers: dict = {}


def _owned_buffer(name: str, owner: Any, shape: tuple, dtype) -> np.ndarray:
    """A scratch array that lives as long as ``owner`` (one per owner and name)."""
    key = f"{name}{id(owner)}"
    if key not in _buffers:  # dropped when the owner is collected (before its id is reused)
        weakref.finalize(owner, _buffers.pop, key, None)
    return _buffer(key, shape, dtype)


def _buffer(key: str, shape: tuple, dtype, order: str = "C") -> np.ndarray:
    """A scratch array reused across calls with the same key, shape and dtype."""
    buf = _buffers.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype or \
            not buf.flags[f"{order}_CONTIGUOUS"]:
        buf = np.empty(shape, dtype=dtype, order=order)
        _buffers[key] = buf
    return buf


# --- the kernels' threads ---------------------------------------------------------------------
# Each Numba kernel below takes a block of rows [lo, hi) and releases the GIL (nogil); the
# blocks run on the backend's own threads, the GEMM blocks' pool (kernels/cpu_blas.py), not
# under Numba's prange. A prange loop compiles through Numba's parallel passes: 2.5x the CPU
# time of the same kernel without them (the tests' float32 kernels 35 CPU s against 10 here,
# the float64 ones 40 against 13, on a 2-core AVX2 EPYC at Numba's level 1; a first demo run
# 38.5 against 12.7, docs/results/performance.md), paid on every first run, for loops of
# independent rows that need nothing from it. Per-row partial sums are added up after the
# blocks, in one order whatever the blocks: a result does not depend on the thread count.

SHARE_MIN = 1 << 15  # elements: below this a kernel runs on the calling thread (a block
# handed to the pool costs tens of microseconds)


def _spans(n: int, work: int, triangle: bool = False) -> list:
    """Blocks [lo, hi) of n rows, one per thread, of equal work (rows i of a triangle cost
    about i each); one block where the work is too small to share."""
    parts = min(blas.n_workers(), n)
    if parts < 2 or work < SHARE_MIN:
        return [(0, n)]
    if triangle:
        edges = sorted({int(round(n * np.sqrt(i / parts))) for i in range(parts)} | {n})
    else:
        edges = [n * i // parts for i in range(parts + 1)]
    return [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


def _over_rows(kernel, n: int, work: int, *args, triangle: bool = False) -> None:
    """kernel(*args, lo, hi) over blocks of rows [0, n) on the backend's threads."""
    spans = _spans(n, work, triangle)
    if len(spans) == 1:
        kernel(*args, 0, n)
        return
    blas.run_blocks([lambda lo=lo, hi=hi: kernel(*args, lo, hi) for lo, hi in spans])


# --- framing and overlap-add (fused with the window) ---------------------------------------

@njit(nogil=True, cache=True)
def _frame_window(x, window, hop, out, lo, hi):
    n = out.shape[1]
    for t in range(lo, hi):
        base = t * hop
        for i in range(n):
            out[t, i] = x[base + i] * window[i]


@njit(nogil=True, cache=True)
def _overlap_add_block(dframes, window, hop, use_window, dx, lo, hi):
    """Gather form: each sample sums the frames that cover it (no write races)."""
    T, n = dframes.shape
    for s in range(lo, hi):
        t_hi = min(T - 1, s // hop)
        t_lo = max(0, (s - n + hop) // hop)
        acc = 0.0
        for t in range(t_lo, t_hi + 1):
            i = s - t * hop
            if i < n:
                acc += dframes[t, i] * (window[i] if use_window else 1.0)
        dx[s] = acc


def _overlap_add(dframes, window, hop, n_samples, use_window):
    dx = np.empty(n_samples, dtype=dframes.dtype)
    _over_rows(_overlap_add_block, n_samples, dframes.size, dframes, window, hop, use_window, dx)
    return dx


def _frames(x, window, hop, key):
    n_fft = window.shape[0]
    out = _buffer(key, (n_frames(x.shape[0], n_fft, hop), n_fft), x.dtype)
    _over_rows(_frame_window, out.shape[0], out.size, x, window, hop, out)
    return out


# --- DFT conv, matrix form -------------------------------------------------------------------

def stft_matrix_forward(x, basis, hop_length):
    ones = np.ones(basis.shape[0], dtype=x.dtype)
    Z = blas.gemm(1.0, _frames(x, ones, hop_length, "frames"), basis)
    return Z, (x.shape[0], basis, hop_length)


def stft_matrix_backward(dZ, cache):
    n_samples, basis, hop_length = cache
    dframes = blas.gemm(1.0, dZ, basis.T, 0.0,
                        _buffer("dframes", (dZ.shape[0], basis.shape[0]), dZ.dtype))
    # A contiguous copy of the column (n_fft values): the kernel then has the one layout
    # the FFT form passes, not a second signature to compile on a first run (~1.5 s each).
    return _overlap_add(dframes, np.ascontiguousarray(basis[:, 0]), hop_length, n_samples,
                        False)


# --- DFT conv, FFT form ------------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _split_complex(spec, Z, lo, hi):
    nb = spec.shape[1]
    for t in range(lo, hi):
        for k in range(nb):
            Z[t, k] = spec[t, k].real
            Z[t, nb + k] = spec[t, k].imag


@njit(nogil=True, cache=True)
def _join_complex(dZ, n_fft, spec, lo, hi):
    """spec = n_fft * (dRe + i dIm), interior bins halved (irfft counts them twice)."""
    nb = spec.shape[1]
    for t in range(lo, hi):
        for k in range(nb):
            s = n_fft if (k == 0 or k == nb - 1) else 0.5 * n_fft
            spec[t, k] = complex(dZ[t, k] * s, dZ[t, nb + k] * s)


def stft_fft_forward(x, window, hop_length):
    n_fft = window.shape[0]
    frames = _frames(x, window, hop_length, "frames")
    spec = scipy.fft.rfft(frames, axis=1, workers=kernels.n_threads())
    Z = np.empty((spec.shape[0], 2 * spec.shape[1]), dtype=x.dtype)
    _over_rows(_split_complex, Z.shape[0], Z.size, spec, Z)
    return Z, (x.shape[0], window, hop_length, n_fft)


def stft_fft_backward(dZ, cache):
    n_samples, window, hop_length, n_fft = cache
    cdtype = np.complex64 if dZ.dtype == np.float32 else np.complex128
    spec = _buffer("dspec", (dZ.shape[0], dZ.shape[1] // 2), cdtype)
    _over_rows(_join_complex, spec.shape[0], dZ.size, dZ, n_fft, spec)
    dwin = scipy.fft.irfft(spec, n=n_fft, axis=1, workers=kernels.n_threads())
    return _overlap_add(dwin, window, hop_length, n_samples, True)


# --- magnitude, log1p, mel ---------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _magnitude(Z, M, lo, hi):
    nb = M.shape[1]
    for t in range(lo, hi):
        for k in range(nb):
            M[t, k] = np.sqrt(Z[t, k] * Z[t, k] + Z[t, nb + k] * Z[t, nb + k])


@njit(nogil=True, cache=True)
def _magnitude_backward(dM, Z, M, dZ, lo, hi):
    nb = M.shape[1]
    for t in range(lo, hi):
        for k in range(nb):
            s = dM[t, k] / M[t, k] if M[t, k] > 0 else 0.0
            dZ[t, k] = s * Z[t, k]
            dZ[t, nb + k] = s * Z[t, nb + k]


def magnitude_forward(Z):
    M = np.empty((Z.shape[0], Z.shape[1] // 2), dtype=Z.dtype)
    _over_rows(_magnitude, M.shape[0], Z.size, Z, M)
    return M, (Z, M)


def magnitude_backward(dM, cache):
    Z, M = cache
    dZ = np.empty_like(Z)
    _over_rows(_magnitude_backward, M.shape[0], Z.size, dM, Z, M, dZ)
    return dZ


@njit(nogil=True, cache=True)
def _log1p(M, S, lo, hi):
    for t in range(lo, hi):
        for k in range(M.shape[1]):
            S[t, k] = np.log1p(M[t, k])


@njit(nogil=True, cache=True)
def _log1p_backward(dS, M, dM, lo, hi):
    for t in range(lo, hi):
        for k in range(M.shape[1]):
            dM[t, k] = dS[t, k] / (1 + M[t, k])


def log1p_forward(M):
    S = np.empty_like(M)
    _over_rows(_log1p, M.shape[0], M.size, M, S)
    return S, M


def log1p_backward(dS, cache):
    M = cache
    dM = np.empty_like(M)
    _over_rows(_log1p_backward, M.shape[0], M.size, dS, M, dM)
    return dM


def mel_forward(M, mel_basis):
    return blas.gemm(1.0, M, mel_basis.T), mel_basis


def mel_backward(dP, cache):
    return blas.gemm(1.0, dP, cache)


# --- random conv over time (+ ReLU) ---------------------------------------------------------
# As numpy_ref: im2col into a reused buffer, then one GEMM of inner dimension K*C (forward),
# and one GEMM into a reused buffer, then col2im (backward). Measured against K shifted GEMMs
# accumulating in place (no copies), single-threaded on the harmonic conv (T' = 420, C = 1025,
# K = 11, F = 4096; thread time, 3 runs): forward 0.89-0.94 of the 4096² sgemm rate either
# way, backward 0.92-0.96 with one GEMM against 0.84-0.89 with the taps, whose GEMMs have
# a tenth of the output and repack their operands every tap. The shifted taps remain for
# convs whose im2col buffer would be large (the residual blocks' F x F dilated convs).

IM2COL_MAX_BYTES = 32 << 20  # the 10 s content conv (19 MiB) yes; a 1024-frame style chunk (46) no


def _use_im2col(Tp, K, C, itemsize):
    return Tp * K * C * itemsize <= IM2COL_MAX_BYTES


@njit(nogil=True, cache=True)
def _im2col(Xp, K, dilation, out, lo, hi):
    C = Xp.shape[1]
    for t in range(lo, hi):
        for k in range(K):
            for c in range(C):
                out[t, k * C + c] = Xp[t + k * dilation, c]


@njit(nogil=True, cache=True)
def _col2im_rows(dcols, K, dilation, dXp, lo, hi):
    """Gather form of col2im: each input row sums the taps that read it (no write races);
    dXp zeroed."""
    Tp, C = dcols.shape[0], dXp.shape[1]
    for s in range(lo, hi):
        for k in range(K):
            t = s - k * dilation
            if 0 <= t < Tp:
                for c in range(C):
                    dXp[s, c] += dcols[t, k * C + c]


def _col2im(dcols, K, dilation, C, n_rows):
    dXp = np.zeros((n_rows, C), dtype=dcols.dtype)
    _over_rows(_col2im_rows, n_rows, dcols.size, dcols, K, dilation, dXp)
    return dXp


@njit(nogil=True, cache=True)
def _relu_inplace(Y, lo, hi):
    """Rows lo to hi of Y rectified in place: a block of rows (_over_rows), or all the rows of
    one GEMM thread's block of columns (_gemm_relu, _conv_taps)."""
    for t in range(lo, hi):
        for f in range(Y.shape[1]):
            if Y[t, f] < 0:
                Y[t, f] = 0


@njit(nogil=True, cache=True)
def _relu_mask(dA, A, out, lo, hi):
    for t in range(lo, hi):
        for f in range(A.shape[1]):
            out[t, f] = dA[t, f] if A[t, f] > 0 else 0


def _relu_mask_rows(dA, A, out):
    _over_rows(_relu_mask, A.shape[0], A.size, dA, A, out)


def _pad_rows(X, padding):
    if not any(padding):
        return X
    Xp = np.zeros((X.shape[0] + padding[0] + padding[1], X.shape[1]), dtype=X.dtype)
    Xp[padding[0]:padding[0] + X.shape[0]] = X
    return Xp


def _gemm_relu(a, b, Y, relu):
    """Y = a @ b (then ReLU), each thread owning a block of Y's columns: it rectifies its own
    block while the block is still in cache."""
    def block(lo, hi):
        blas.gemm1(1.0, a, b[:, lo:hi], 0.0, Y[:, lo:hi])
        if relu:
            _relu_inplace(Y[:, lo:hi], 0, Y.shape[0])

    blas.parallel([lambda lo=lo, hi=hi: block(lo, hi) for lo, hi in blas.split(Y.shape[1])])


def _conv_taps(Xp, W, dilation, Y, relu):
    """Y = sum_k Xp[k*d : k*d + T'] @ W[k] (and ReLU): each thread owns a block of filters and
    runs every tap on it, so the threads never meet until the end."""
    K = W.shape[0]
    Tp = Y.shape[0]

    def block(lo, hi):
        for k in range(K):
            s = k * dilation
            blas.gemm1(1.0, Xp[s:s + Tp], W[k][:, lo:hi], 1.0 if k else 0.0, Y[:, lo:hi])
        if relu:
            _relu_inplace(Y[:, lo:hi], 0, Y.shape[0])

    blas.parallel([lambda lo=lo, hi=hi: block(lo, hi) for lo, hi in blas.split(W.shape[2])])


def _conv_forward(X, W, dilation, padding, relu):
    K, C, F = W.shape
    Xp = _pad_rows(X, padding)
    Tp = Xp.shape[0] - (K - 1) * dilation
    Y = np.empty((Tp, F), dtype=X.dtype)
    if _use_im2col(Tp, K, C, X.itemsize):
        cols = _buffer(f"im2col{C}x{K}", (Tp, K * C), X.dtype)
        _over_rows(_im2col, Tp, cols.size, Xp, K, dilation, cols)
        _gemm_relu(cols, W.reshape(K * C, F), Y, relu)
    else:
        _conv_taps(Xp, W, dilation, Y, relu)
    return Y


def conv1d_forward(X, W, dilation=1, padding=(0, 0)):
    return _conv_forward(X, W, dilation, padding, False), (X.shape, W, dilation, padding)


def conv1d_backward(dY, cache):
    x_shape, W, dilation, padding = cache
    K, C, F = W.shape
    Tp, n_rows = dY.shape[0], x_shape[0] + padding[0] + padding[1]
    if _use_im2col(Tp, K, C, dY.itemsize):
        # The forward's im2col buffer (consumed there) takes the column gradients.
        dcols = blas.gemm(1.0, dY, W.reshape(K * C, F).T, 0.0,
                          _buffer(f"im2col{C}x{K}", (Tp, K * C), dY.dtype))
        dXp = _col2im(dcols, K, dilation, C, n_rows)
    else:
        dXp = np.zeros((n_rows, C), dtype=dY.dtype)

        def block(lo, hi):  # col2im fused into the GEMMs: dXp[k*d : k*d+T', c] += dY W[k]ᵀ
            for k in range(K):
                s = k * dilation
                blas.gemm1(1.0, dY, W[k][lo:hi].T, 1.0, dXp[s:s + Tp, lo:hi])

        blas.parallel([lambda lo=lo, hi=hi: block(lo, hi) for lo, hi in blas.split(C)])
    return dXp[padding[0]:padding[0] + x_shape[0]]


def relu_forward(X):
    A = X.copy()
    _over_rows(_relu_inplace, A.shape[0], A.size, A)
    return A, A


def relu_backward(dA, cache):
    out = np.empty_like(dA)
    _relu_mask_rows(dA, cache, out)
    return out


def conv1d_relu_forward(X, W):
    A = _conv_forward(X, W, 1, (0, 0), True)  # fused: each GEMM block rectified in place
    return A, (X.shape, W, A)


def conv1d_relu_backward(dA, cache):
    x_shape, W, A = cache
    dY = _buffer("conv_dY", A.shape, dA.dtype)
    _relu_mask_rows(dA, A, dY)
    return conv1d_backward(dY, (x_shape, W, 1, (0, 0)))


# --- structured random conv (+ ReLU): Fastfood, one patch's whole transform in cache --------

@njit(cache=True, inline="always")
def _fwht(u):
    """In place, unnormalized, Sylvester order (numpy_ref.fwht). The first three butterfly
    passes run as one 8-point transform per group in registers; the later ones have inner
    loops of 8 or more contiguous values, which vectorize."""
    N = u.shape[0]
    for g in range(0, N - 7, 8):
        a0, a1, a2, a3 = u[g] + u[g + 1], u[g] - u[g + 1], u[g + 2] + u[g + 3], u[g + 2] - u[g + 3]
        a4, a5, a6, a7 = u[g + 4] + u[g + 5], u[g + 4] - u[g + 5], u[g + 6] + u[g + 7], \
            u[g + 6] - u[g + 7]
        b0, b1, b2, b3 = a0 + a2, a1 + a3, a0 - a2, a1 - a3
        b4, b5, b6, b7 = a4 + a6, a5 + a7, a4 - a6, a5 - a7
        u[g], u[g + 1], u[g + 2], u[g + 3] = b0 + b4, b1 + b5, b2 + b6, b3 + b7
        u[g + 4], u[g + 5], u[g + 6], u[g + 7] = b0 - b4, b1 - b5, b2 - b6, b3 - b7
    h = 8
    if N < 8:  # tiny transforms (tests): plain passes
        h = 1
    while h < N:
        for i in range(0, N, 2 * h):
            lo, hi = u[i:i + h], u[i + h:i + 2 * h]  # two views: LLVM then vectorizes (2.4x)
            for j in range(h):
                a, b = lo[j], hi[j]
                lo[j] = a + b
                hi[j] = a - b
        h *= 2


@njit(nogil=True, cache=True)
def _fastfood_forward(X, K, signs, perm, gauss, scale, A, lo, hi):
    n_blocks, N = signs.shape
    C = X.shape[1]
    D = K * C
    n_out = A.shape[1]
    u = np.empty(N, dtype=X.dtype)  # one pair per block of rows, reused row after row
    v = np.empty(N, dtype=X.dtype)
    for t in range(lo, hi):
        for b in range(n_blocks):
            for k in range(K):
                for c in range(C):
                    u[k * C + c] = X[t + k, c] * signs[b, k * C + c]
            u[D:] = 0
            _fwht(u)
            for j in range(N):
                v[j] = u[perm[b, j]] * gauss[b, j]
            _fwht(v)
            off = b * N
            for i in range(min(N, n_out - off)):
                y = v[i] * scale[b, i]
                A[t, off + i] = y if y > 0 else 0


@njit(nogil=True, cache=True)
def _fastfood_backward(dA, A, signs, perm, gauss, scale, dcols, lo, hi):
    n_blocks, N = signs.shape
    n_out = A.shape[1]
    D = dcols.shape[1]
    u = np.empty(N, dtype=dA.dtype)
    v = np.empty(N, dtype=dA.dtype)
    acc = np.empty(N, dtype=dA.dtype)
    for t in range(lo, hi):
        acc[:] = 0
        for b in range(n_blocks):
            off = b * N
            m = min(N, n_out - off)
            for i in range(m):
                u[i] = dA[t, off + i] * scale[b, i] if A[t, off + i] > 0 else 0
            u[m:] = 0
            _fwht(u)
            for j in range(N):  # the gather's adjoint: a scatter through the permutation
                v[perm[b, j]] = u[j] * gauss[b, j]
            _fwht(v)
            for j in range(D):
                acc[j] += v[j] * signs[b, j]
        for j in range(D):
            dcols[t, j] = acc[j]


def fastfood_conv_relu_forward(X, K, signs, perm, gauss, scale, n_out):
    X = np.ascontiguousarray(X)
    A = np.empty((X.shape[0] - K + 1, n_out), dtype=X.dtype)
    _over_rows(_fastfood_forward, A.shape[0], A.size * 8, X, K, signs, perm, gauss, scale, A)
    return A, (X.shape, K, signs, perm, gauss, scale, A)


def fastfood_conv_relu_backward(dA, cache):
    x_shape, K, signs, perm, gauss, scale, A = cache
    dcols = _buffer("fastfood_dcols", (A.shape[0], K * x_shape[1]), dA.dtype)
    _over_rows(_fastfood_backward, A.shape[0], A.size * 8, np.ascontiguousarray(dA), A, signs,
               perm, gauss, scale, dcols)
    return _col2im(dcols, K, 1, x_shape[1], x_shape[0])


# --- Gram and losses ---------------------------------------------------------------------------

TILE = 64


def _tiles(n: int) -> int:
    return (n + TILE - 1) // TILE


@njit(nogil=True, cache=True)
def _mirror_lower(G, lo, hi):
    """Copy the lower triangle onto the upper, in tiles so the transposed writes stay cached
    (tile rows lo to hi)."""
    n = G.shape[0]
    for bi in range(lo, hi):
        for bj in range(bi + 1):
            for i in range(bi * TILE, min(n, (bi + 1) * TILE)):
                for j in range(bj * TILE, min(i, (bj + 1) * TILE)):
                    G[j, i] = G[i, j]


@njit(nogil=True, cache=True)
def _symmetrize_scaled(dG, scale, out, lo, hi):
    """out = scale * (dG + dGᵀ), tile by tile (tile rows lo to hi)."""
    n = dG.shape[0]
    for bi in range(lo, hi):
        for bj in range(bi + 1):
            for i in range(bi * TILE, min(n, (bi + 1) * TILE)):
                for j in range(bj * TILE, min(i + 1, (bj + 1) * TILE)):
                    v = scale * (dG[i, j] + dG[j, i])
                    out[i, j] = v
                    out[j, i] = v


GRAM_TILE = 128  # measured on 4096 x 4096 float32: 64 -> 28.6 ms, 128 -> 13.5 ms, 256 -> 15.7


@njit(cache=True, fastmath=True)
def _gram_diff_row(G, G_target, coef, out, bi, tileT):
    """Tiles (bi, 0..bi) of the lower triangle; returns their share of sum((G - Gt)^2).

    Each value is written in place (row-contiguous) and into a small transposed tile, which
    is then copied row by row into the upper triangle: every write to the large matrix is
    contiguous, and the strided accesses stay in cache."""
    n = G.shape[0]
    acc = 0.0
    i0, i1 = bi * GRAM_TILE, min(n, (bi + 1) * GRAM_TILE)
    for bj in range(bi + 1):
        j0, j1 = bj * GRAM_TILE, min(n, (bj + 1) * GRAM_TILE)
        diagonal = bi == bj
        for i in range(i0, i1):
            row = np.float32(0.0)  # a tile row: float32 is exact enough, and vectorizes
            for j in range(j0, j1 if not diagonal else i + 1):
                d = G[i, j] - G_target[i, j]
                v = coef * d
                row += d * d if (diagonal and j == i) else 2 * d * d  # off-diagonal: twice
                out[i, j] = v
                tileT[j - j0, i - i0] = v
            acc += row
        for j in range(j0, j1):
            for i in range(i0 if not diagonal else j + 1, i1):
                out[j, i] = tileT[j - j0, i - i0]
    return acc


@njit(nogil=True, cache=True)
def _gram_diff_pairs(G, G_target, coef, out, partial, lo, hi):
    """Pairs lo to hi of tile rows (p, nt-1-p): each pair holds the same share of the
    triangle."""
    nt = (G.shape[0] + GRAM_TILE - 1) // GRAM_TILE
    tileT = np.empty((GRAM_TILE, GRAM_TILE), dtype=out.dtype)
    for p in range(lo, hi):
        acc = _gram_diff_row(G, G_target, coef, out, p, tileT)
        if nt - 1 - p != p:
            acc += _gram_diff_row(G, G_target, coef, out, nt - 1 - p, tileT)
        partial[p] = acc


def _gram_diff(G, G_target, coef, out):
    """sum((G - G_target)^2) over the full matrix from its lower triangle, and
    out = coef * (G - G_target) in full."""
    half = ((G.shape[0] + GRAM_TILE - 1) // GRAM_TILE + 1) // 2
    partial = np.zeros(half)
    _over_rows(_gram_diff_pairs, half, G.size // 2, G, G_target, coef, out, partial)
    return partial.sum()


def _syrk_lower(A, owner=None):
    """AᵀA / T' with only the lower triangle (of the C-order result) computed; into a buffer
    that ``owner`` keeps, or a new array."""
    F = A.shape[1]
    G = _owned_buffer("gram_grad", owner, (F, F), A.dtype) if owner is not None else \
        np.empty((F, F), A.dtype)
    return blas.syrk_lower(1.0 / A.shape[0], A, G)


def gram_forward(A):
    G = _syrk_lower(A)
    _over_rows(_mirror_lower, _tiles(G.shape[0]), G.size // 2, G, triangle=True)
    return G, A


def gram_backward(dG, cache):
    A = cache
    S = _buffer("gram_sym", dG.shape, dG.dtype)
    _over_rows(_symmetrize_scaled, _tiles(dG.shape[0]), dG.size, dG, 1.0 / A.shape[0], S,
               triangle=True)
    return blas.gemm(1.0, A, S)


@njit(nogil=True, cache=True, fastmath=True)
def _squared_error(A, B, diff, partial, lo, hi):
    for i in range(lo, hi):
        acc = 0.0
        for j in range(A.shape[1]):
            d = A[i, j] - B[i, j]
            diff[i, j] = d
            acc += d * d
        partial[i] = acc


def squared_error_forward(A, A_target, weight):
    diff, partial = np.empty_like(A), np.zeros(A.shape[0])
    _over_rows(_squared_error, A.shape[0], A.size, A, A_target, diff, partial)
    return float(weight * partial.sum()), (diff, weight)


def squared_error_backward(dL, cache):
    diff, weight = cache
    return diff * diff.dtype.type(2 * weight * dL)


style_loss_forward, style_loss_backward = squared_error_forward, squared_error_backward
content_loss_forward, content_loss_backward = squared_error_forward, squared_error_backward


def gram_style_loss_forward(A, G_target, weight):
    """weight * ||AᵀA/T' - G_target||^2 fused: a rank-k update, then one pass over the
    lower triangle that also prepares the gradient's symmetric matrix."""
    Tp = A.shape[0]
    # S lives until backward, after the other style layers' forwards: one buffer per target.
    # G is computed into it and overwritten in place by S (_gram_diff reads only the lower
    # triangle, each element before writing it, and writes the upper one from a tile copy):
    # no second F x F buffer.
    G = _syrk_lower(A, owner=G_target)
    # dA = A (dG + dGᵀ) / T' with dG = 2 w (G - G_target), symmetric: A @ (4w/T' (G - Gt)).
    loss = weight * _gram_diff(G, G_target, 4.0 * weight / Tp, G)
    return float(loss), (A, G)


def gram_style_loss_backward(dL, cache):
    A, S = cache
    return blas.gemm(dL, A, S)


# --- the style loss without F x F matrices (docs/design.md §8) ------------------------------------

@njit(nogil=True, cache=True)
def _sym_sum_squares_rows(S, partial, lo, hi):
    for i in range(lo, hi):
        acc = 0.0
        for j in range(i):
            v = S[i, j]
            S[j, i] = v
            acc += 2.0 * v * v
        partial[i] = acc + np.float64(S[i, i]) ** 2


def _sym_sum_squares(S):
    """Mirror S's lower triangle onto its upper one; return the float64 sum of squares of the
    full matrix."""
    partial = np.zeros(S.shape[0])
    _over_rows(_sym_sum_squares_rows, S.shape[0], S.size // 2, S, partial, triangle=True)
    return partial.sum()


@njit(nogil=True, cache=True)
def _sum_squares_rows(X, partial, lo, hi):
    for i in range(lo, hi):
        acc = 0.0
        for j in range(X.shape[1]):
            acc += np.float64(X[i, j]) ** 2
        partial[i] = acc


def _sum_squares(X):
    partial = np.zeros(X.shape[0])
    _over_rows(_sum_squares_rows, X.shape[0], X.size, X, partial)
    return partial.sum()


def gramfree_style_loss_forward(A, B, target_sq, weight):
    """weight * ||AᵀA/T' - BᵀB||^2 from AAᵀ (a rank-k update) and ABᵀ, sums in float64."""
    T = A.shape[0]
    AA = blas.syrk_lower(1.0, A, np.empty((T, T), dtype=A.dtype), rows=True)
    AB = blas.gemm(1.0, A, B.T)
    sq = _sym_sum_squares(AA) / T**2 - 2.0 * _sum_squares(AB) / T
    return float(weight * (sq + target_sq)), (A, B, AA, AB, weight)


def gramfree_style_loss_backward(dL, cache):
    A, B, AA, AB, weight = cache
    T = A.shape[0]
    dA = blas.gemm(4.0 * weight * dL / T**2, AA, A)
    return blas.gemm(-4.0 * weight * dL / T, AB, B, 1.0, dA)


@njit(nogil=True, cache=True, fastmath=True)
def _l1_rows(S, partial, lo, hi):
    for i in range(lo, hi):
        acc = 0.0
        for j in range(S.shape[1]):
            acc += abs(S[i, j])
        partial[i] = acc


def _l1(S):
    partial = np.zeros(S.shape[0])
    _over_rows(_l1_rows, S.shape[0], S.size, S, partial)
    return partial.sum()


def l1_forward(S, weight):
    return float(weight * _l1(S)), (S, weight)


def l1_backward(dL, cache):
    S, weight = cache
    return np.sign(S) * S.dtype.type(weight * dL)


# --- mask separation: padded STFT of the mix, masks, inverse STFT (docs/design.md §7) -------------
# numpy_ref's ops of the same names (kernels/masks_xp.py), FFTs through scipy.fft's workers.

def mask_rfft(a, axis):
    return scipy.fft.rfft(a, axis=axis, workers=kernels.n_threads())


def mask_irfft(a, n, axis):
    return scipy.fft.irfft(a, n=n, axis=axis, workers=kernels.n_threads())


# The mask-separation ops, shared with the cuda backend (kernels/masks_xp.py).
_masks = MaskOps(sys.modules[__name__])
mask_frames = _masks.mask_frames
mask_stft_forward, mask_stft_backward = _masks.mask_stft_forward, _masks.mask_stft_backward
istft_forward, istft_backward = _masks.istft_forward, _masks.istft_backward
mask_apply_forward, mask_apply_backward = _masks.mask_apply_forward, _masks.mask_apply_backward
softmax_forward, softmax_backward = _masks.softmax_forward, _masks.softmax_backward
box_smooth_forward, box_smooth_backward = _masks.box_smooth_forward, _masks.box_smooth_backward

# --- dictionary separation (kernels/nmf_xp.py): matmuls through NumPy's BLAS; KL's ratio
# V / max(A @ D, eps), a pass over the whole spectrogram per step, in one threaded loop.

@njit(nogil=True, cache=True)
def _kl_ratio(V, L, eps, out, lo, hi):
    for t in range(lo, hi):
        for f in range(V.shape[1]):
            out[t, f] = V[t, f] / max(L[t, f], eps)


def nmf_kl_ratio(V, L):
    out = np.empty_like(V)
    _over_rows(_kl_ratio, V.shape[0], V.size, V, L, V.dtype.type(NMF_EPS), out)  # numpy_ref's floor
    return out


def nmf_matmul(a, b):
    return blas.gemm(1.0, a, b)


_nmf = NMFOps(sys.modules[__name__])
nmf_activations_step, nmf_dictionary_step = _nmf.nmf_activations_step, _nmf.nmf_dictionary_step
nmf_model_power, wiener_apply = _nmf.nmf_model_power, _nmf.wiener_apply
nmf_continuity_terms = _nmf.nmf_continuity_terms

# The temporal autocorrelation ops, shared with the cuda backend (kernels/autocorr_xp.py): FFTs
# through scipy.fft's workers where they cost fewer FLOPs than the direct sum; and the
# long-term band spectrum ops (kernels/spectrum_xp.py). Functions of this module
# (interface.module_functions).
autocorr_forward, autocorr_backward, autocorr_loss_forward, autocorr_loss_backward = \
    interface.module_functions(AutocorrOps(sys.modules[__name__]), __name__, "autocorr_forward",
                               "autocorr_backward", "autocorr_loss_forward",
                               "autocorr_loss_backward")
band_power_forward, band_power_backward, spectrum_loss_forward, spectrum_loss_backward = \
    interface.module_functions(SpectrumOps(sys.modules[__name__]), __name__,
                               "band_power_forward", "band_power_backward",
                               "spectrum_loss_forward", "spectrum_loss_backward")
chroma_loss_forward, chroma_loss_backward = interface.module_functions(
    SpectrumOps(sys.modules[__name__]), __name__, "chroma_loss_forward", "chroma_loss_backward")


def kernels_cached() -> bool:
    """Whether Numba's on-disk cache (cache=True) holds kernels of this source from an
    earlier run: False on a first run, or after an edit, when the first calls compile for
    tens of seconds (the CLI says so in one line). Kernels a run has not used yet (fastfood,
    the masks) compile in seconds when first called. A Numba whose cache has another layout
    counts as cached: then nothing is said."""
    from numba.core.registry import CPUDispatcher
    source = os.path.getmtime(__file__)
    indexes = [getattr(getattr(getattr(k, "_cache", None), "_cache_file", None),
                       "_index_path", None)
               for k in globals().values() if isinstance(k, CPUDispatcher)]
    if any(i is None for i in indexes):
        return True
    return any(os.path.exists(i) and os.path.getmtime(i) >= source for i in indexes)

interface.check(sys.modules[__name__])  # a missing op fails here, at import
