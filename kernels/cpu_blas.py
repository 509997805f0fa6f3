"""BLAS for the cpu backend: one thread per block of a product, on the backend's own threads.

Why not just call threaded BLAS: OpenBLAS's worker threads spin for a while after every call
(OPENBLAS_THREAD_TIMEOUT, read once when the library loads, so a library cannot set it once a
program has imported NumPy), and the spinning threads starve the Numba kernels and the other
BLAS library (NumPy and SciPy each ship their own) that run between GEMMs on the same cores.
Here every product is split into blocks, one per core, each block a single-threaded BLAS call
on a thread of our own pool; those threads sleep on a lock between calls, and OpenBLAS's own
workers are never woken. The speed then no longer depends on what the caller imported first.
Only the library the blocks call (SciPy's) is held at one thread, for the length of each
product, and put back after; NumPy's own BLAS keeps the caller's setting.

The calls go through SciPy's ``cython_blas`` function pointers with ctypes, which releases
the GIL (SciPy's f2py wrappers hold it, so they cannot run two blocks at once).

Layout: arrays are row-major (C order) 2-D views with unit stride along one axis. A row-major
(m, n) matrix with row stride ld is the column-major (n, m) matrix of leading dimension ld, so
C = A B is computed as Cᵀ = Bᵀ Aᵀ, and a transposed view costs a 'T' flag, never a copy.
"""
from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, Sequence

import numpy as np
import scipy.linalg.cython_blas as _cython_blas
from threadpoolctl import ThreadpoolController

_ptr_t = ctypes.c_void_p
_pyapi = ctypes.pythonapi
_pyapi.PyCapsule_GetName.restype = ctypes.c_char_p
_pyapi.PyCapsule_GetName.argtypes = [ctypes.py_object]
_pyapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
_pyapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _blas_function(name: str, n_args: int):
    capsule = _cython_blas.__pyx_capi__[name]
    address = _pyapi.PyCapsule_GetPointer(capsule, _pyapi.PyCapsule_GetName(capsule))
    return ctypes.CFUNCTYPE(None, *([_ptr_t] * n_args))(address)  # CFUNCTYPE: GIL released


_GEMM = {np.dtype(np.float32): _blas_function("sgemm", 13),
         np.dtype(np.float64): _blas_function("dgemm", 13)}
_SYRK = {np.dtype(np.float32): _blas_function("ssyrk", 10),
         np.dtype(np.float64): _blas_function("dsyrk", 10)}
_SCALAR = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}

_pool: Optional[ThreadPoolExecutor] = None
_blas_libs = None


def _fortran(a: np.ndarray) -> tuple[bytes, int]:
    """(op, ld) under which the column-major BLAS sees aᵀ, for a 2-D view of unit stride."""
    isz = a.itemsize
    if a.strides[1] == isz or a.shape[1] == 1:
        return b"N", max(1, a.strides[0] // isz if a.shape[0] > 1 else a.shape[1])
    if a.strides[0] == isz or a.shape[0] == 1:
        return b"T", max(1, a.strides[1] // isz if a.shape[1] > 1 else a.shape[0])
    raise ValueError("BLAS operand needs unit stride along one axis")


def _addr(*values) -> list:
    return [ctypes.addressof(v) for v in values]


def gemm1(alpha: float, a: np.ndarray, b: np.ndarray, beta: float, c: np.ndarray) -> None:
    """c = alpha a @ b + beta c on the calling thread; c row-major, a and b any unit-stride
    views (transposed views included)."""
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        c *= beta
        return
    assert c.strides[1] == c.itemsize and b.shape[0] == k and c.shape == (m, n)
    dt = c.dtype
    op_b, ldb = _fortran(b)  # Cᵀ (n x m) = Bᵀ (n x k) Aᵀ (k x m)
    op_a, lda = _fortran(a)
    ldc = c.strides[0] // c.itemsize if m > 1 else n
    s = _SCALAR[dt]
    ints = [ctypes.c_int(v) for v in (n, m, k, ldb, lda, ldc)]
    ta, tb, al, be = ctypes.c_char(op_b), ctypes.c_char(op_a), s(alpha), s(beta)
    _GEMM[dt](*_addr(ta, tb, ints[0], ints[1], ints[2], al), b.ctypes.data,
              ctypes.addressof(ints[3]), a.ctypes.data, ctypes.addressof(ints[4]),
              ctypes.addressof(be), c.ctypes.data, ctypes.addressof(ints[5]))


def syrk1(alpha: float, a: np.ndarray, beta: float, c: np.ndarray, rows: bool = False) -> None:
    """Lower triangle (row-major) of c = alpha aᵀ a + beta c (columns' products), or with
    ``rows`` of c = alpha a aᵀ + beta c (rows' products); a row-major."""
    k, n = a.shape[::-1] if rows else a.shape
    if n == 0:
        return
    assert a.strides[1] == a.itemsize and c.strides[1] == c.itemsize
    dt = c.dtype
    s = _SCALAR[dt]
    # Row-major lower of c is the column-major upper of the same (symmetric) matrix. The
    # column-major view of a is X = aᵀ (ld = a's row stride): aᵀa = X Xᵀ ('N'), a aᵀ = XᵀX.
    ints = [ctypes.c_int(v) for v in (n, k, max(1, a.strides[0] // a.itemsize),
                                      max(1, c.strides[0] // c.itemsize))]
    uplo, trans, al, be = (ctypes.c_char(b"U"), ctypes.c_char(b"T" if rows else b"N"),
                           s(alpha), s(beta))
    _SYRK[dt](*_addr(uplo, trans, ints[0], ints[1], al), a.ctypes.data,
              ctypes.addressof(ints[2]), ctypes.addressof(be), c.ctypes.data,
              ctypes.addressof(ints[3]))


def n_workers() -> int:
    from randstyle import kernels
    return max(1, kernels.n_threads())


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _called_library() -> Optional[str]:
    """The file of the BLAS library SciPy's cython_blas calls (its sgemm's symbol looked up
    from cython_blas's own scope), or None where that cannot be told."""
    try:
        scope, libc = ctypes.CDLL(_cython_blas.__file__), ctypes.CDLL(None)
        for symbol in ("scipy_sgemm_", "sgemm_", "scipy_sgemm_64_", "sgemm_64_"):
            info = _DlInfo()
            if hasattr(scope, symbol) and libc.dladdr(
                    ctypes.cast(getattr(scope, symbol), ctypes.c_void_p), ctypes.byref(info)):
                return os.path.realpath(info.dli_fname.decode())
    except (OSError, AttributeError):
        pass
    return None


def _limits():
    """The controller (threadpoolctl) of the BLAS library the blocks call, found once: only
    that library is held at one thread during a product, so a caller's NumPy BLAS (NumPy's
    own library where it ships one) keeps its threads. Every BLAS library where the called
    one cannot be told."""
    global _blas_libs
    if _blas_libs is None:
        blas = [lc for lc in ThreadpoolController().lib_controllers if lc.user_api == "blas"]
        called = _called_library()
        _blas_libs = [lc for lc in blas if os.path.realpath(lc.filepath) == called] or blas
    return _blas_libs


def parallel(tasks: Sequence[Callable[[], None]]) -> None:
    """Run the tasks (blocks of one product) at once, one per thread, the last one on the
    calling thread, with the BLAS library they call single-threaded meanwhile."""
    libs = _limits()
    saved = [lc.get_num_threads() for lc in libs]
    for lc, n in zip(libs, saved):
        if n != 1:
            lc.set_num_threads(1)
    try:
        run_blocks(tasks)
    finally:
        for lc, n in zip(libs, saved):
            if n != 1:
                lc.set_num_threads(n)


def run_blocks(tasks: Sequence[Callable[[], None]]) -> None:
    """Run the tasks at once on the pool's threads, the last one on the calling thread. Tasks
    that call no BLAS (the Numba kernels' blocks of rows, kernels/cpu.py) come here directly:
    setting the BLAS library's threads costs more than a small kernel."""
    global _pool
    if len(tasks) == 1:
        tasks[0]()
        return
    if _pool is None or _pool._max_workers < len(tasks) - 1:
        # Exactly as many threads as blocks beyond the caller's: each thread that calls
        # OpenBLAS gets its own packing buffer (tens of MiB resident).
        _pool = ThreadPoolExecutor(len(tasks) - 1, thread_name_prefix="randstyle-blas")
    futures = [_pool.submit(t) for t in tasks[:-1]]
    tasks[-1]()
    for f in futures:
        f.result()


def _splits(n: int, parts: int, align: int = 16) -> list:
    """parts contiguous [lo, hi) ranges covering n, boundaries on multiples of align."""
    bounds = [min(n, (round(n * i / parts) + align - 1) // align * align) for i in range(parts)]
    bounds.append(n)
    return [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def split(n: int, parts: Optional[int] = None, align: int = 16) -> list:
    return _splits(n, parts or n_workers(), align)


def gemm(alpha: float, a: np.ndarray, b: np.ndarray, beta: float = 0.0,
         c: Optional[np.ndarray] = None) -> np.ndarray:
    """c = alpha a @ b + beta c, split over the workers along c's longer side."""
    m, n = a.shape[0], b.shape[1]
    if c is None:
        c = np.empty((m, n), dtype=np.result_type(a, b))
        beta = 0.0
    workers = n_workers()
    if workers == 1 or 2.0 * m * n * a.shape[1] < 4e6:  # too small to share
        gemm1(alpha, a, b, beta, c)
        return c
    if n >= m:
        tasks = [lambda lo=lo, hi=hi: gemm1(alpha, a, b[:, lo:hi], beta, c[:, lo:hi])
                 for lo, hi in split(n, workers)]
    else:
        tasks = [lambda lo=lo, hi=hi: gemm1(alpha, a[lo:hi], b, beta, c[lo:hi])
                 for lo, hi in split(m, workers, 1)]
    parallel(tasks)
    return c


def syrk_lower(alpha: float, a: np.ndarray, c: np.ndarray, rows: bool = False) -> np.ndarray:
    """Lower triangle of c = alpha aᵀ a, or alpha a aᵀ with ``rows`` (upper left as is),
    split so every worker gets the same FLOPs: row block [r0, r1) of the lower triangle is a
    syrk of its diagonal block plus a GEMM for the rows' part left of it."""
    n = a.shape[0] if rows else a.shape[1]
    workers = n_workers()
    # Row blocks with equal shares of the triangle: r_i = n sqrt(i / workers).
    if 1.0 * n * n * (a.size // n) < 2e6:
        workers = 1
    edges = sorted({min(n, int(round(n * np.sqrt(i / workers) / 16)) * 16)
                    for i in range(workers)} | {n})
    blocks = [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]

    def block(lo: int, hi: int) -> None:
        if rows:
            syrk1(alpha, a[lo:hi], 0.0, c[lo:hi, lo:hi], rows=True)
            if lo:
                gemm1(alpha, a[lo:hi], a[:lo].T, 0.0, c[lo:hi, :lo])
            return
        syrk1(alpha, a[:, lo:hi], 0.0, c[lo:hi, lo:hi])
        if lo:
            gemm1(alpha, a[:, lo:hi].T, a[:, :lo], 0.0, c[lo:hi, :lo])

    parallel([lambda lo=lo, hi=hi: block(lo, hi) for lo, hi in blocks])
    return c
