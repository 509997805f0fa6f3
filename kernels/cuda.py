"""CuPy backend: the op list of numpy_ref on an NVIDIA GPU.

GEMMs go to cuBLAS through ``xp.matmul``, the FFT form of the DFT conv to cuFFT through
``xp.fft``, and the fused elementwise, framing and overlap-add ops (and their backwards) are
the grid-stride kernels of kernels/cuda_src/ops.cu, launched as cupy.RawModule functions. The
orchestration is written against ``xp`` only, so that with ``use_host_emulation()`` (tests)
the same code runs on NumPy arrays with the same .cu kernels compiled for the CPU. All arrays
of a run stay on the device; the only host traffic per evaluation is the signal in, the
gradient out and the loss terms, summed on the device and brought over together
(``to_floats``; Objective does all three). Every launch is checked against the parameter
types of ops.cu (``check_args``), on a GPU and in the emulation alike.
"""
from __future__ import annotations

import importlib
import re
import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from randstyle.kernels import interface
from randstyle.kernels.autocorr_xp import AutocorrOps
from randstyle.kernels.masks_xp import MaskOps
from randstyle.kernels.nmf_xp import NMFOps
from randstyle.kernels.numpy_ref import n_frames
from randstyle.kernels.spectrum_xp import SpectrumOps

name = "cuda"
SOURCE = Path(__file__).resolve().parent / "cuda_src" / "ops.cu"
# Grams are cuBLAS GEMMs here (2 T F² FLOPs, not a SYRK's T F²): the dense/Gram-free choice
# (engine/model/style_target.py) counts them so.
GRAM_BY_SYRK = False
THREADS = 256  # per block
MAX_BLOCKS = 2048  # grid-stride loops cover the rest

NVRTC_OPTIONS = ("-std=c++14",)  # NVRTC's --std=c++14 (short form accepted by NVRTC and nvcc)


def _import_cupy(importer=importlib.import_module) -> tuple:
    """(cupy or None, why not): "not installed" only when the module cupy itself is missing;
    any other failure (CuPy present but broken: a missing libcudart, a wrong wheel for the
    CUDA driver, a dependency of CuPy missing) is reported by its own first line."""
    try:
        return importer("cupy"), None
    except ModuleNotFoundError as exc:
        if exc.name == "cupy":
            return None, "CuPy is not installed (pip install -e '.[gpu]')"
        return None, f"CuPy does not import ({_first_line(exc)})"
    except Exception as exc:  # ImportError of a shared library, CUDARuntimeError, ...
        return None, f"CuPy does not import ({_first_line(exc)})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


cupy, _import_error = _import_cupy()
xp = cupy
_host = None  # ctypes library of the host-compiled kernels, when emulating
_module = None
_functions: dict = {}
_tf32_emulated = False  # emulation only: float32 products round their inputs as TF32 does
_i32, _i64 = np.int32, np.int64


def use_host_emulation(threads: int = 32, max_blocks: int = 3) -> None:
    """Run this backend on NumPy arrays with the .cu kernels compiled for the CPU (tests on
    machines without a GPU). Small blocks and grids make every grid-stride loop iterate."""
    global xp, _host, THREADS, MAX_BLOCKS
    from randstyle.kernels import cuda_host
    _host = cuda_host.build()
    xp, THREADS, MAX_BLOCKS = np, threads, max_blocks


_probe: Optional[str] = None  # the probe's verdict, once run: "" when the GPU works


def unusable_reason() -> str | None:
    """None when the GPU path works here (or emulation is on), else why not. A device count
    is not enough: CuPy also loads NVRTC (to compile ops.cu), cuBLAS and cuFFT on first use,
    and ``pip install cupy-cuda12x`` alone brings none of them. So the probe does what a run
    does, once, on tiny inputs: compile the module, one GEMM, one FFT."""
    global _probe
    if _host is not None:
        return None
    if cupy is None:
        return _import_error
    if _probe is None:
        _probe = _run_probe()
    return _probe or None


def _run_probe() -> str:
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError without a driver, among others
        return f"no usable NVIDIA GPU ({_first_line(exc)})"
    if count < 1:
        return "no NVIDIA GPU found"
    steps = (("NVRTC could not compile kernels/cuda_src/ops.cu", _compile),
             ("cuBLAS failed a GEMM", lambda: cupy.matmul(cupy.ones((2, 2), np.float32),
                                                         cupy.ones((2, 2), np.float32))),
             ("cuFFT failed an FFT", lambda: cupy.fft.rfft(cupy.ones(8, np.float32))),
             ("the device failed to finish the probe", synchronize))
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # missing libnvrtc/libcublas/libcufft, among others
            return (f"{what} ({_first_line(exc)}); install the CUDA libraries with "
                    "pip install -e '.[gpu]' or a CUDA Toolkit")
    return ""


def _compile():
    """The compiled RawModule. Kept only once compile() succeeded: after a failure the next
    call compiles again (and fails again with NVRTC's message), never hands out a module
    whose first launch would fail far from the cause."""
    global _module
    if _module is None:
        module = cupy.RawModule(code=SOURCE.read_text(), options=NVRTC_OPTIONS)
        module.compile()
        _module = module
    return _module


def is_usable() -> bool:
    return unusable_reason() is None


def asarray(a, dtype=None):
    return xp.ascontiguousarray(xp.asarray(a, dtype=dtype))


def to_numpy(a) -> np.ndarray:
    return np.asarray(a) if xp is np else cupy.asnumpy(a)


def synchronize() -> None:
    if xp is not np:
        cupy.cuda.Device().synchronize()


def device_pool_bytes() -> Optional[int]:
    """Bytes CuPy's default memory pool holds on the device. The pool keeps every block it
    ever allocated until freed, so after a run this is the run's peak device memory (None
    when emulating: there is no device)."""
    if xp is np:
        return None
    return int(cupy.get_default_memory_pool().total_bytes())


def device_free_bytes() -> Optional[int]:
    """Bytes a run may still allocate on the GPU: the driver's free memory plus what CuPy's
    pool holds unused (None when emulating: there is no device)."""
    if xp is np:
        return None
    free, _ = cupy.cuda.runtime.memGetInfo()
    return int(free) + int(cupy.get_default_memory_pool().free_bytes())


def set_tf32(enabled: bool) -> None:
    """Set CuPy's compute type of every float32 matmul to TF32 (True) or to its default
    (False): process-wide, so prefer ``tf32()``, which restores what was there. In the
    emulation it turns on the host's TF32 model (``tf32_round`` of every product's inputs)."""
    global _tf32_emulated
    if xp is np:
        _tf32_emulated = bool(enabled)
        return
    from cupy._core import _routines_linalg as rl  # CuPy has no public API for this
    rl.set_compute_type(np.float32, rl.COMPUTE_TYPE_TF32 if enabled else
                        rl.COMPUTE_TYPE_DEFAULT)


@contextmanager
def tf32() -> Iterator[None]:
    """TF32 tensor-core math for the float32 matmuls inside: the conv GEMMs, and also the
    dense Gram, mel and matrix-form DFT products (CuPy's setting is per dtype, not per call),
    but not the Gram-free style loss's (``exact_matmul``). The compute type that was set
    before (a user's CUPY_TF32=1 included) comes back after."""
    global _tf32_emulated
    if xp is np:
        before_emulated = _tf32_emulated
        _tf32_emulated = True
        try:
            yield
        finally:
            _tf32_emulated = before_emulated
        return
    from cupy._core import _routines_linalg as rl
    before = rl.get_compute_type(np.float32)
    rl.set_compute_type(np.float32, rl.COMPUTE_TYPE_TF32)
    try:
        yield
    finally:
        rl.set_compute_type(np.float32, before)


def tf32_round(a: np.ndarray) -> np.ndarray:
    """float32 values rounded to TF32's 10 explicit mantissa bits (to nearest), the way
    tensor cores read a TF32 product's inputs: the emulation's model of --tf32."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)
    return rounded.view(np.float32)


def matmul(a, b):
    """Every product of this backend: cuBLAS at the compute type set (TF32 under ``tf32()``);
    in the emulation under TF32, float32 inputs rounded by ``tf32_round``."""
    if xp is np and _tf32_emulated and a.dtype == np.float32:
        return np.matmul(tf32_round(a), tf32_round(b))
    return xp.matmul(a, b)


def exact_matmul(a, b):
    """A product in full float32 whatever ``tf32()`` set (cuBLAS's pedantic compute type):
    for the Gram-free style loss, a small difference of large terms, which TF32's 10-bit
    inputs turn into noise near convergence (docs/design.md §8, docs/gpu.md)."""
    if xp is np:
        return np.matmul(a, b)
    from cupy._core import _routines_linalg as rl
    before = rl.get_compute_type(a.dtype)
    rl.set_compute_type(a.dtype, rl.COMPUTE_TYPE_PEDANTIC)
    try:
        return xp.matmul(a, b)
    finally:
        rl.set_compute_type(a.dtype, before)


def to_floats(terms: dict) -> dict:
    """Loss terms left on the device (0-d arrays) as Python floats, in one transfer."""
    names = list(terms)
    host = to_numpy(xp.stack([xp.asarray(terms[k], dtype=np.float64).reshape(())
                              for k in names]))
    return dict(zip(names, map(float, host)))


# --- kernel launches ---------------------------------------------------------------------------

def _grid(n: int) -> int:
    return int(min(MAX_BLOCKS, max(1, -(-n // THREADS))))


# A kernel parameter's C type -> what the launch must pass: ("array", element dtype) for a
# pointer, ("scalar", NumPy scalar type) by value. CuPy sends a scalar's bytes as typed (4 for
# np.int32, 8 for np.int64) whatever the kernel declares, so only the exact type is safe.
C_TYPES = {"int": np.int32, "long long": np.int64, "int64_t": np.int64, "float": np.float32,
           "double": np.float64}
_PARAM = re.compile(r"^(?:const\s+)?([A-Za-z_][\w ]*?)\s*(\*?)\s*\w+$")


@lru_cache(maxsize=None)
def kernel_params(source: Path = SOURCE) -> dict:
    """{kernel name: ((kind, type), ...)} of every extern "C" kernel in ``source``, with the
    WRAP(T, S) macro of ops.cu expanded here (no compiler needed)."""
    text = source.read_text()
    expanded = text
    macro = re.search(r"#define\s+WRAP\((\w+),\s*(\w+)\)((?:.*\\\n)*.*)", text)
    if macro:
        t_name, s_name, body = macro.group(1), macro.group(2), macro.group(3)
        body = body.replace("\\\n", "\n")
        expanded = ""
        for t, suffix in re.findall(r"^WRAP\((\w+),\s*(\w+)\)", text, flags=re.M):
            expanded += re.sub(rf"\b{t_name}\b", t, body).replace(f"##{s_name}", suffix)
    out = {}
    for name, params in re.findall(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)',
                                   expanded):
        kinds = []
        for p in params.split(","):
            m = _PARAM.match(" ".join(p.split()))
            if m is None or m.group(1) not in C_TYPES:
                raise ValueError(f"{name}: parameter {p.strip()!r} has no known C type")
            kinds.append(("array" if m.group(2) else "scalar", C_TYPES[m.group(1)]))
        out[name] = tuple(kinds)
    return out


def check_args(name: str, args: tuple) -> None:
    """Reject a launch whose arguments differ from the kernel's parameters in number, kind,
    element type or scalar type (a np.int32 for a long long reads 4 bytes of garbage)."""
    params = kernel_params().get(name)
    if params is None:
        raise TypeError(f"no kernel {name} in {SOURCE.name}")
    if len(args) != len(params):
        raise TypeError(f"{name} takes {len(params)} arguments, got {len(args)}")
    for i, (arg, (kind, want)) in enumerate(zip(args, params)):
        if kind == "array":
            dtype = getattr(arg, "dtype", None)
            if not hasattr(arg, "flags") or dtype != want:
                raise TypeError(f"{name} argument {i}: needs a {np.dtype(want).name} array, "
                                f"got {type(arg).__name__} of {dtype}")
            if not arg.flags.c_contiguous:
                raise TypeError(f"{name} argument {i}: the array must be C-contiguous")
        elif type(arg) is not want:
            raise TypeError(f"{name} argument {i}: needs {np.dtype(want).name}, got "
                            f"{type(arg).__name__}")


def _launch(kernel: str, dtype, n: int, *args) -> None:
    """Run kernel NAME_f32 / NAME_f64 over n work items (grid-stride), after checking every
    argument against the kernel's declared parameter types."""
    full = f"{kernel}_{'f32' if np.dtype(dtype) == np.float32 else 'f64'}"
    check_args(full, args)
    grid = _grid(n)
    if _host is not None:
        from randstyle.kernels.cuda_host import marshal
        getattr(_host, f"host_{full}")(grid, THREADS, *[marshal(a) for a in args])
        return
    if full not in _functions:
        _functions[full] = _compile().get_function(full)
    _functions[full]((grid,), (THREADS,), args)


def _scalar(dtype, value):
    return np.dtype(dtype).type(value)


def _partial_sum(kernel: str, n: int, *args):
    """Launch a kernel that ends in per-thread partial sums; return their total as a 0-d
    device array (Objective brings all terms to the host at once: ``to_floats``)."""
    partial = xp.empty(_grid(n) * THREADS, dtype=np.float64)  # every thread writes its slot
    _launch(kernel, args[0].dtype, n, *args, partial)
    return xp.sum(partial, keepdims=True).reshape(())


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
    Z = matmul(_frames(x, ones, hop_length), basis)
    return Z, (x.shape[0], basis, hop_length)


def stft_matrix_backward(dZ, cache):
    n_samples, basis, hop_length = cache
    dframes = xp.ascontiguousarray(matmul(dZ, basis.T))
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
    return matmul(M, mel_basis.T), mel_basis


def mel_backward(dP, cache):
    return matmul(dP, cache)


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
    return matmul(cols, W.reshape(K * C, F)), (X.shape, W, dilation, padding)


def conv1d_backward(dY, cache):
    x_shape, W, dilation, padding = cache
    K, C, F = W.shape
    Tp, n_rows = dY.shape[0], x_shape[0] + padding[0] + padding[1]
    dcols = xp.ascontiguousarray(matmul(dY, W.reshape(K * C, F).T))
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


# --- structured random conv (+ ReLU): Fastfood, the Hadamard transforms as two GEMMs --------

@lru_cache(maxsize=None)
def _hadamard_factor(n: int, dtype_name: str, on_host: bool):
    """Sylvester H of size 2^n, on the device (cached per size and dtype)."""
    H = np.ones((1, 1))
    for _ in range(n):
        H = np.block([[H, H], [H, -H]])
    return xp.asarray(H.astype(dtype_name))


def fwht(X):
    """numpy_ref.fwht along the last axis of a (T, N) array, as H_N = H_a kron H_b
    (N = a*b, H[i, j] = (-1)^popcount(i & j) factors over the high and low bits): each row
    reshaped to (a, b) becomes H_a @ row @ H_b, two batched GEMMs on tensor-core-sized
    blocks instead of log2(N) memory-bound butterfly passes."""
    T, N = X.shape
    n = N.bit_length() - 1
    na = n // 2
    Ha = _hadamard_factor(na, X.dtype.name, _host is not None)
    Hb = _hadamard_factor(n - na, X.dtype.name, _host is not None)
    Y = xp.matmul(Ha, X.reshape(T, 1 << na, 1 << (n - na)))
    return xp.matmul(Y, Hb).reshape(T, N)


def fastfood_conv_relu_forward(X, K, signs, perm, gauss, scale, n_out):
    X = xp.ascontiguousarray(X)
    T, C = X.shape
    Tp, (n_blocks, N) = T - K + 1, signs.shape
    P = xp.zeros((Tp, N), dtype=X.dtype)  # im2col straight into the padded patches
    cols = xp.empty((Tp, K * C), dtype=X.dtype)
    _launch("im2col", X.dtype, Tp * K * C, X, _i32(C), _i32(K), _i32(1), _i32(Tp), cols)
    P[:, :K * C] = cols
    A = xp.empty((Tp, n_out), dtype=X.dtype)
    for b in range(n_blocks):
        lo, hi = b * N, min(n_out, (b + 1) * N)
        V = fwht(fwht(P * signs[b])[:, perm[b]] * gauss[b])
        A[:, lo:hi] = V[:, :hi - lo] * scale[b, :hi - lo]
    _launch("relu", A.dtype, A.size, A, _i64(A.size), A)
    return A, (X.shape, K, signs, perm, gauss, scale, A)


def fastfood_conv_relu_backward(dA, cache):
    x_shape, K, signs, perm, gauss, scale, A = cache
    (T, C), (n_blocks, N) = x_shape, signs.shape
    Tp = A.shape[0]
    dY = relu_backward(dA, A)
    dP = xp.zeros((Tp, N), dtype=dA.dtype)
    for b in range(n_blocks):
        lo, hi = b * N, min(A.shape[1], (b + 1) * N)
        dV = xp.zeros((Tp, N), dtype=dA.dtype)
        dV[:, :hi - lo] = dY[:, lo:hi] * scale[b, :hi - lo]
        dW = xp.empty_like(dV)
        dW[:, perm[b]] = fwht(dV) * gauss[b]  # the gather's adjoint: scatter (perm is 1-1)
        dP += fwht(dW) * signs[b]
    dcols = xp.ascontiguousarray(dP[:, :K * C])
    dX = xp.empty((T, C), dtype=dA.dtype)
    _launch("col2im", dA.dtype, T * C, dcols, _i32(C), _i32(K), _i32(1), _i32(Tp), _i32(T), dX)
    return dX


# --- Gram and losses ---------------------------------------------------------------------------

def gram_forward(A):
    G = matmul(A.T, A)
    G *= _scalar(A.dtype, 1.0 / A.shape[0])
    return G, A


def gram_backward(dG, cache):
    A = cache
    return matmul(A, (dG + dG.T) * _scalar(A.dtype, 1.0 / A.shape[0]))


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
    dA = matmul(A, S)
    if dL != 1.0:
        dA *= _scalar(dA.dtype, dL)
    return dA


# --- the style loss without F x F matrices (docs/design.md §8): cuBLAS GEMMs and two reductions ---

def _sum_squares(X):
    """||X||² in float64 as a 0-d device array (no host transfer: see to_floats)."""
    return xp.sum(xp.square(X.astype(np.float64)), keepdims=True).reshape(())


def gramfree_style_loss_forward(A, B, target_sq, weight):
    """weight * ||AᵀA/T' - BᵀB||^2 from AAᵀ and ABᵀ (T' x T' and T' x T_s), sums in float64,
    left on the device like the other losses."""
    T = A.shape[0]
    AA, AB = exact_matmul(A, A.T), exact_matmul(A, B.T)
    sq = _sum_squares(AA) / T**2 - 2.0 * _sum_squares(AB) / T
    return weight * (sq + target_sq), (A, B, AA, AB, weight)


def gramfree_style_loss_backward(dL, cache):
    A, B, AA, AB, weight = cache
    T = A.shape[0]
    dA = exact_matmul(AA, A)
    dA *= _scalar(A.dtype, 4.0 * weight * dL / T**2)
    dA -= _scalar(A.dtype, 4.0 * weight * dL / T) * exact_matmul(AB, B)
    return dA


def l1_forward(S, weight):
    return weight * xp.abs(S).sum(dtype=np.float64), (S, weight)


def l1_backward(dL, cache):
    S, weight = cache
    return xp.sign(S) * _scalar(S.dtype, weight * dL)


# --- mask separation: padded STFT of the mix, masks, inverse STFT (docs/design.md §7) -------------
# numpy_ref's ops of the same names (kernels/masks_xp.py) in xp, cuFFT through CuPy: the same
# code runs on NumPy (host emulation) and on CuPy.

def mask_rfft(a, axis):
    return xp.fft.rfft(a, axis=axis)


def mask_irfft(a, n, axis):
    return xp.fft.irfft(a, n=n, axis=axis)


# The mask-separation ops, shared with the cpu backend (kernels/masks_xp.py).
_masks = MaskOps(sys.modules[__name__])
mask_frames = _masks.mask_frames
mask_stft_forward, mask_stft_backward = _masks.mask_stft_forward, _masks.mask_stft_backward
istft_forward, istft_backward = _masks.istft_forward, _masks.istft_backward
mask_apply_forward, mask_apply_backward = _masks.mask_apply_forward, _masks.mask_apply_backward
softmax_forward, softmax_backward = _masks.softmax_forward, _masks.softmax_backward
box_smooth_forward, box_smooth_backward = _masks.box_smooth_forward, _masks.box_smooth_backward

# --- dictionary separation: numpy_ref's NMF steps and Wiener masks (kernels/nmf_xp.py) in xp:
# cuBLAS matmuls and CuPy elementwise work, nothing leaves the device.

_nmf = NMFOps(sys.modules[__name__])
nmf_activations_step, nmf_dictionary_step = _nmf.nmf_activations_step, _nmf.nmf_dictionary_step
nmf_model_power, wiener_apply = _nmf.nmf_model_power, _nmf.wiener_apply
nmf_continuity_terms = _nmf.nmf_continuity_terms

# The temporal autocorrelation ops, shared with the cpu backend (kernels/autocorr_xp.py): FFTs
# through cuFFT where they cost fewer FLOPs than the direct sum; and the long-term band
# spectrum ops (kernels/spectrum_xp.py). Functions of this module (interface.module_functions).
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


interface.check(sys.modules[__name__])  # a missing op fails here, at import
