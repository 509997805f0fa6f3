"""CuPy backend: the op list of numpy_ref on an NVIDIA GPU.

GEMMs go to cuBLAS through ``xp.matmul``, the FFT form of the DFT conv to cuFFT through
``xp.fft``, and the fused elementwise, framing and overlap-add ops (and their backwards) are
the grid-stride kernels of kernels/cuda/ops.cu, launched as cupy.RawModule functions. The
orchestration is written against ``xp`` only, so that with ``use_host_emulation()`` (tests)
the same code runs on NumPy arrays with the same .cu kernels compiled for the CPU. All arrays
of a run stay on the device; the only host traffic per evaluation is the signal in and the
gradient out (Objective does both).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kernels.numpy_ref import n_frames

name = "cuda"
SOURCE = Path(__file__).resolve().parent / "cuda" / "ops.cu"
THREADS = 256  # per block
MAX_BLOCKS = 2048  # grid-stride loops cover the rest

try:
    import cupy
except ImportError:  # the gpu extra is not installed
    cupy = None

xp = cupy
_host = None  # ctypes library of the host-compiled kernels, when emulating
_module = None
_functions: dict = {}
_i32, _i64 = np.int32, np.int64


def use_host_emulation(threads: int = 32, max_blocks: int = 3) -> None:
    """Run this backend on NumPy arrays with the .cu kernels compiled for the CPU (tests on
    machines without a GPU). Small blocks and grids make every grid-stride loop iterate."""
    global xp, _host, THREADS, MAX_BLOCKS
    from kernels import cuda_host
    _host = cuda_host.build()
    xp, THREADS, MAX_BLOCKS = np, threads, max_blocks


def unusable_reason() -> str | None:
    """None when a GPU answers (or emulation is on), else why not."""
    if _host is not None:
        return None
    if cupy is None:
        return "CuPy is not installed (pip install -e '.[gpu]')"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError without a driver, among others
        return f"no usable NVIDIA GPU ({str(exc).splitlines()[0]})"
    return None if count > 0 else "no NVIDIA GPU found"


def is_usable() -> bool:
    return unusable_reason() is None


def asarray(a, dtype=None):
    return xp.ascontiguousarray(xp.asarray(a, dtype=dtype))


def to_numpy(a) -> np.ndarray:
    return np.asarray(a) if xp is np else cupy.asnumpy(a)


def synchronize() -> None:
    if xp is not np:
        cupy.cuda.Device().synchronize()


def set_tf32(enabled: bool) -> None:
    """TF32 tensor-core math for float32 matmuls (cuBLAS compute type), off by default."""
    if xp is np:
        return
    from cupy._core import _routines_linalg as rl
    rl.set_compute_type(np.float32, rl.COMPUTE_TYPE_TF32 if enabled else
                        rl.COMPUTE_TYPE_DEFAULT)


# --- kernel launches ---------------------------------------------------------------------------

def _grid(n: int) -> int:
    return int(min(MAX_BLOCKS, max(1, -(-n // THREADS))))


def _launch(kernel: str, dtype, n: int, *args) -> None:
    """Run kernel NAME_f32 / NAME_f64 over n work items (grid-stride)."""
    full = f"{kernel}_{'f32' if np.dtype(dtype) == np.float32 else 'f64'}"
    grid = _grid(n)
    if _host is not None:
        from kernels.cuda_host import marshal
        getattr(_host, f"host_{full}")(grid, THREADS, *[marshal(a) for a in args])
        return
    global _module
    if full not in _functions:
        if _module is None:
            _module = cupy.RawModule(code=SOURCE.read_text(), options=("-std=c++14",))
        _functions[full] = _module.get_function(full)
    _functions[full]((grid,), (THREADS,), args)


def _scalar(dtype, value):
    return np.dtype(dtype).type(value)


def _partial_sum(kernel: str, n: int, *args) -> float:
    """Launch a kernel that ends in per-thread partial sums; return their total."""
    partial = xp.zeros(_grid(n) * THREADS, dtype=np.float64)
    _launch(kernel, args[0].dtype, n, *args, partial)
    return float(partial.sum())


# --- DFT conv ----------------------------------------------------------------------------------

def _frames(x, window, hop):
    n_fft = window.shape[0]
    T = n_frames(x.shape[0], n_fft, hop)
    out = xp.empty((T, n_fft), dtype=x.dtype)
    _launch("frame_window", x.dtype, T * n_fft, x, window, _i32(hop), _i32(T), _i32(n_fft), out)
    return out


def _overlap_add(dframes, window, use_window, hop, n_samples):
    T, n_fft = dframes.shape
    dx = xp.empty(n_samples, dtype=dframes.dtype)
    _launch("overlap_add", dframes.dtype, n_samples, dframes, window, _i32(use_window),
            _i32(hop), _i32(T), _i32(n_fft), _i64(n_samples), dx)
    return dx


def _complex_dtype(dtype):
    return np.complex64 if np.dtype(dtype) == np.float32 else np.complex128


def stft_matrix_forward(x, basis, hop_length):
    ones = xp.ones(basis.shape[0], dtype=x.dtype)
    Z = xp.matmul(_frames(x, ones, hop_length), basis)
    return Z, (x.shape[0], basis, hop_length)


def stft_matrix_backward(dZ, cache):
    n_samples, basis, hop_length = cache
    dframes = xp.ascontiguousarray(xp.matmul(dZ, basis.T))
    unused = xp.ones(basis.shape[0], dtype=dZ.dtype)  # no window here: it is in the basis
    return _overlap_add(dframes, unused, 0, hop_length, n_samples)


def stft_fft_forward(x, window, hop_length):
    spec = xp.fft.rfft(_frames(x, window, hop_length), axis=1)
    spec = xp.ascontiguousarray(spec.astype(_complex_dtype(x.dtype), copy=False))
    T, nb = spec.shape
    Z = xp.empty((T, 2 * nb), dtype=x.dtype)
    _launch("split_complex", x.dtype, T * nb, spec.view(x.dtype), _i32(T), _i32(nb), Z)
    return Z, (x.shape[0], window, hop_length)


def stft_fft_backward(dZ, cache):
    n_samples, window, hop_length = cache
    n_fft = window.shape[0]
    T, nb = dZ.shape[0], dZ.shape[1] // 2
    spec = xp.empty((T, nb), dtype=_complex_dtype(dZ.dtype))
    _launch("join_complex", dZ.dtype, T * nb, dZ, _i32(T), _i32(nb), _i32(n_fft),
            spec.view(dZ.dtype))
    dwin = xp.ascontiguousarray(xp.fft.irfft(spec, n=n_fft, axis=1).astype(dZ.dtype,
                                                                          copy=False))
    return _overlap_add(dwin, window, 1, hop_length, n_samples)


# --- magnitude, log1p, mel ---------------------------------------------------------------------

def magnitude_forward(Z):
    T, nb = Z.shape[0], Z.shape[1] // 2
    M = xp.empty((T, nb), dtype=Z.dtype)
    _launch("magnitude", Z.dtype, T * nb, Z, _i32(T), _i32(nb), M)
    return M, (Z, M)


def magnitude_backward(dM, cache):
    Z, M = cache
    T, nb = M.shape
    dZ = xp.empty_like(Z)
    _launch("magnitude_backward", Z.dtype, T * nb, xp.ascontiguousarray(dM), Z, M, _i32(T),
            _i32(nb), dZ)
    return dZ


def log1p_forward(M):
    S = xp.empty_like(M)
    _launch("log1p_forward", M.dtype, M.size, M, _i64(M.size), S)
    return S, M


def log1p_backward(dS, cache):
    M = cache
    dM = xp.empty_like(M)
    _launch("log1p_backward", M.dtype, M.size, xp.ascontiguousarray(dS), M, _i64(M.size), dM)
    return dM


def mel_forward(M, mel_basis):
    return xp.matmul(M, mel_basis.T), mel_basis


def mel_backward(dP, cache):
    return xp.matmul(dP, cache)


# --- random conv over time (+ ReLU): im2col kernel and one cuBLAS GEMM -------------------------

def relu_forward(X):
    A = xp.empty_like(X)
    _launch("relu", X.dtype, X.size, xp.ascontiguousarray(X), _i64(X.size), A)
    return A, A


def relu_backward(dA, cache):
    out = xp.empty_like(cache)
    _launch("relu_mask", cache.dtype, cache.size, xp.ascontiguousarray(dA), cache,
            _i64(cache.size), out)
    return out


def conv1d_forward(X, W, dilation=1, padding=(0, 0)):
    K, C, F = W.shape
    Xp = X
    if any(padding):
        Xp = xp.zeros((X.shape[0] + padding[0] + padding[1], C), dtype=X.dtype)
        Xp[padding[0]:padding[0] + X.shape[0]] = X
    Xp = xp.ascontiguousarray(Xp)
    Tp = Xp.shape[0] - (K - 1) * dilation
    cols = xp.empty((Tp, K * C), dtype=X.dtype)
    _launch("im2col", X.dtype, Tp * K * C, Xp, _i32(C), _i32(K), _i32(dilation), _i32(Tp),
            cols)
    return xp.matmul(cols, W.reshape(K * C, F)), (X.shape, W, dilation, padding)


def conv1d_backward(dY, cache):
    x_shape, W, dilation, padding = cache
    K, C, F = W.shape
    Tp, n_rows = dY.shape[0], x_shape[0] + padding[0] + padding[1]
    dcols = xp.ascontiguousarray(xp.matmul(dY, W.reshape(K * C, F).T))
    dXp = xp.empty((n_rows, C), dtype=dY.dtype)
    _launch("col2im", dY.dtype, n_rows * C, dcols, _i32(C), _i32(K), _i32(dilation), _i32(Tp),
            _i32(n_rows), dXp)
    return dXp[padding[0]:padding[0] + x_shape[0]]


def conv1d_relu_forward(X, W):
    Y, cache = conv1d_forward(X, W)
    _launch("relu", Y.dtype, Y.size, Y, _i64(Y.size), Y)  # in place: same index in and out
    return Y, (cache, Y)


def conv1d_relu_backward(dA, cache):
    conv_cache, A = cache
    return conv1d_backward(relu_backward(dA, A), conv_cache)


# --- Gram and losses ---------------------------------------------------------------------------

def gram_forward(A):
    G = xp.matmul(A.T, A)
    G *= _scalar(A.dtype, 1.0 / A.shape[0])
    return G, A


def gram_backward(dG, cache):
    A = cache
    return xp.matmul(A, (dG + dG.T) * _scalar(A.dtype, 1.0 / A.shape[0]))


def squared_error_forward(A, A_target, weight):
    diff = xp.empty_like(A)
    total = _partial_sum("squared_diff", A.size, xp.ascontiguousarray(A),
                         xp.ascontiguousarray(A_target), _i64(A.size), diff)
    return weight * total, (diff, weight)


def squared_error_backward(dL, cache):
    diff, weight = cache
    return diff * _scalar(diff.dtype, 2 * weight * dL)


style_loss_forward, style_loss_backward = squared_error_forward, squared_error_backward
content_loss_forward, content_loss_backward = squared_error_forward, squared_error_backward


def gram_style_loss_forward(A, G_target, weight):
    """weight * ||AᵀA/T' - G_target||^2, with the gradient's matrix 4w/T' (G - G_target)
    written in the same pass (G and G_target are symmetric, so dG + dGᵀ = 2 dG)."""
    G, _ = gram_forward(A)
    S = xp.empty_like(G)
    total = _partial_sum("gram_diff", G.size, G, xp.ascontiguousarray(G_target),
                         _scalar(A.dtype, 4.0 * weight / A.shape[0]), _i64(G.size), S)
    return weight * total, (A, S)


def gram_style_loss_backward(dL, cache):
    A, S = cache
    dA = xp.matmul(A, S)
    if dL != 1.0:
        dA *= _scalar(dA.dtype, dL)
    return dA


# --- the style loss without F x F matrices (DESIGN.md 8): cuBLAS GEMMs and two reductions ----

def _sum_squares(X) -> float:
    return float(xp.sum(xp.square(X.astype(np.float64))))


def gramfree_style_loss_forward(A, B, target_sq, weight):
    """weight * ||AᵀA/T' - BᵀB||^2 from AAᵀ and ABᵀ (T' x T' and T' x T_s), sums in float64."""
    T = A.shape[0]
    AA, AB = xp.matmul(A, A.T), xp.matmul(A, B.T)
    sq = _sum_squares(AA) / T**2 - 2.0 * _sum_squares(AB) / T
    return float(weight * (sq + target_sq)), (A, B, AA, AB, weight)


def gramfree_style_loss_backward(dL, cache):
    A, B, AA, AB, weight = cache
    T = A.shape[0]
    dA = xp.matmul(AA, A)
    dA *= _scalar(A.dtype, 4.0 * weight * dL / T**2)
    dA -= _scalar(A.dtype, 4.0 * weight * dL / T) * xp.matmul(AB, B)
    return dA


def l1_forward(S, weight):
    return float(weight * xp.abs(S).sum()), (S, weight)


def l1_backward(dL, cache):
    S, weight = cache
    return xp.sign(S) * _scalar(S.dtype, weight * dL)
