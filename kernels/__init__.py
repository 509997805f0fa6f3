"""Backends: one module per way of running the ops, all with the op list of
kernels/interface.py, checked when each is imported.

The engine runs its ops on the backend ``get_backend`` gives; numpy_ref's plain helpers
(framing, overlap-add, STFT magnitude) reach it through engine/signal.py.
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType

from randstyle.kernels.errors import ParameterError

BACKENDS = ("numpy", "cpu", "cuda")
_MODULES = {"numpy": "randstyle.kernels.numpy_ref", "cpu": "randstyle.kernels.cpu",
            "cuda": "randstyle.kernels.cuda"}


def available(name: str) -> bool:
    """True when the backend imports and can run here (for cuda: a device answers)."""
    try:
        module = importlib.import_module(_MODULES[name])
    except ImportError:
        return False
    check = getattr(module, "is_usable", None)
    return check() if check else True


def get_backend(name: str = "auto", verbose: bool = False) -> ModuleType:
    """The backend module for "auto", "numpy", "cpu" or "cuda".

    "auto" picks cuda when a usable GPU is present, then cpu, then numpy, and (with verbose)
    says which on stderr.
    """
    if name == "auto":
        for candidate in ("cuda", "cpu", "numpy"):
            if available(candidate):
                if verbose:
                    print(f"randstyle: backend auto -> {candidate}", file=sys.stderr)
                return importlib.import_module(_MODULES[candidate])
    if name not in _MODULES:
        raise ParameterError(f"unknown backend {name!r}: choose from auto, {', '.join(BACKENDS)}")
    if not available(name):
        reason = "it does not import"
        try:
            reason = importlib.import_module(_MODULES[name]).unusable_reason() or reason
        except (ImportError, AttributeError):
            pass
        raise ParameterError(f"backend {name!r} is not usable here: {reason}")
    return importlib.import_module(_MODULES[name])


_blas_limits = None
_threads = None  # None: every core


def set_threads(n: int) -> None:
    """Threads for BLAS (through threadpoolctl), the cpu backend's blocks (GEMMs and Numba
    kernels, kernels/cpu.py) and scipy.fft workers."""
    global _blas_limits, _threads
    from threadpoolctl import threadpool_limits
    if n < 1:
        raise ParameterError(f"--threads must be >= 1, got {n}")
    _threads = int(n)
    _blas_limits = threadpool_limits(limits=_threads, user_api="blas")


def n_threads() -> int:
    """Threads the backends' own parallel work should use (GEMM blocks, Numba kernels' blocks
    of rows, FFT workers): the cores this process may run on, unless set_threads said
    otherwise."""
    import os
    if _threads:
        return _threads
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
