"""The CUDA kernels of kernels/cuda_src/*.cu compiled for the CPU (g++ and host_shim.h) and
loaded with ctypes: how the GPU code's logic is tested on machines without a GPU.

For each ``extern "C"`` kernel NAME the build adds ``host_NAME(grid, block, args...)``, which
runs the kernel over the whole grid on one CPU thread.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

SOURCE_DIR = Path(__file__).resolve().parent / "cuda_src"
SIGNATURE = re.compile(r'extern\s+"C"\s+void\s+(\w+)\s*\(([^)]*)\)')
_CTYPES = {np.int32: ctypes.c_int32, np.int64: ctypes.c_int64, np.float32: ctypes.c_float,
           np.float64: ctypes.c_double}


def sources() -> list:
    return sorted(SOURCE_DIR.glob("*.cu"))


def kernel_signatures(source: Path, compiler: str = "g++") -> dict:
    """{name: parameter text} of the extern "C" kernels, read from the preprocessed source
    (macros such as ops.cu's per-dtype wrappers expanded by the real preprocessor)."""
    out = subprocess.run([compiler, "-E", "-P", "-x", "c++", "-include",
                          str(SOURCE_DIR / "host_shim.h"), str(source)],
                         capture_output=True, text=True, check=True).stdout
    return {m.group(1): m.group(2) for m in SIGNATURE.finditer(out)}


def _launchers(signatures: dict) -> str:
    lines = []
    for name, params in signatures.items():
        args = ", ".join(p.strip().split()[-1].lstrip("*") for p in params.split(","))
        lines.append(f'extern "C" void host_{name}(unsigned grid, unsigned block, {params}) '
                     f'{{ launch({name}, grid, block, {args}); }}')
    return "\n".join(lines)


_C_PARAMS = {"int": ctypes.c_int32, "long long": ctypes.c_int64, "int64_t": ctypes.c_int64,
             "float": ctypes.c_float, "double": ctypes.c_double}


def _argtypes(params: str) -> list:
    """ctypes types of a kernel's parameters, from its declaration: pointers as addresses,
    scalars as their exact C type, so ctypes itself refuses a call with another type (as a
    GPU would misread it)."""
    types = [ctypes.c_uint, ctypes.c_uint]  # grid, block
    for p in params.split(","):
        words = p.replace("*", " * ").split()[:-1]  # drop the parameter's name
        if "*" in words:
            types.append(ctypes.c_void_p)
        else:
            types.append(_C_PARAMS[" ".join(w for w in words if w != "const")])
    return types


def build(compiler: str = "g++") -> ctypes.CDLL:
    """Compile every .cu with its host launchers into one shared library (cached by source
    hash in the temp folder) and load it, each launcher typed by its kernel's signature.

    The signatures are kept beside the library: read from the preprocessed sources, they ran
    the compiler once a source in every process that loaded the cached library (1.7 CPU s)."""
    if shutil.which(compiler) is None:
        raise RuntimeError(f"{compiler} not found: cannot build the CUDA kernels for the CPU")
    text = "".join(p.read_text() for p in sources()) + (SOURCE_DIR / "host_shim.h").read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    lib = Path(tempfile.gettempdir()) / f"randstyle_cuda_host_{digest}.so"
    kept = lib.with_suffix(".json")
    if not (lib.exists() and kept.exists()):
        signatures = {src.name: kernel_signatures(src, compiler) for src in sources()}
        with tempfile.TemporaryDirectory() as tmp:
            unit = Path(tmp, "host.cpp")
            parts = ['#include "host_shim.h"']
            for src in sources():
                parts += [f'#include "{src}"', _launchers(signatures[src.name])]
            unit.write_text("\n".join(parts) + "\n")
            built = Path(tmp, lib.name)
            subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-std=c++14",
                            f"-I{SOURCE_DIR}", str(unit), "-o", str(built)],
                           check=True, capture_output=True, text=True)
            Path(tmp, kept.name).write_text(json.dumps(signatures))
            shutil.move(str(Path(tmp, kept.name)), kept)  # before the library: it marks both
            shutil.move(str(built), lib)
    loaded = ctypes.CDLL(str(lib))
    for signatures in json.loads(kept.read_text()).values():
        for name, params in signatures.items():
            launcher = getattr(loaded, f"host_{name}")
            launcher.argtypes, launcher.restype = _argtypes(params), None
    return loaded


def marshal(arg):
    """A kernel argument for ctypes: arrays by pointer, numpy scalars by their C type."""
    if isinstance(arg, np.ndarray):
        if not arg.flags.c_contiguous:
            raise ValueError("kernel arrays must be C-contiguous")
        return ctypes.c_void_p(arg.ctypes.data)
    return _CTYPES[type(arg)](arg)
