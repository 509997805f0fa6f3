"""The backend interface: the names every backend module defines (numpy_ref.py is their spec,
cpu.py and cuda.py the fast ones). Each backend calls ``check`` as its last line, so a backend
that lacks one fails when it is imported, not midway through a run."""
from __future__ import annotations

from functools import update_wrapper
from types import ModuleType
from typing import Any, Callable

# Arrays: the array module of the backend's arrays, and the moves on and off it.
ARRAYS = ("xp", "asarray", "to_numpy", "synchronize")
# Ops, each a pair: op_forward(...) -> (out, cache) and op_backward(grad_out, cache).
PAIRS = ("stft_matrix", "stft_fft", "magnitude", "log1p", "mel", "conv1d", "relu", "conv1d_relu",
         "gram", "squared_error", "style_loss", "content_loss", "gram_style_loss",
         "gramfree_style_loss", "l1", "fastfood_conv_relu", "autocorr", "autocorr_loss",
         "band_power", "spectrum_loss", "chroma_loss",
         # separation by soft masks of the mix (docs/design.md §7)
         "mask_stft", "istft", "mask_apply", "softmax", "box_smooth")
# separation by dictionaries: NMF steps and Wiener masks (docs/results/separation.md)
NMF = ("nmf_activations_step", "nmf_dictionary_step", "nmf_model_power", "wiener_apply",
       "nmf_continuity_terms")
OPS = ARRAYS + ("mask_frames",) + NMF + tuple(f"{p}_{d}" for p in PAIRS
                                        for d in ("forward", "backward"))


def missing(module: ModuleType) -> list:
    """The interface's names that ``module`` does not define (or defines as non-callables)."""
    return [name for name in OPS
            if not hasattr(module, name) or (name != "xp" and not callable(getattr(module, name)))]


def check(module: ModuleType) -> None:
    """ImportError naming what ``module`` lacks of the interface."""
    lacks = missing(module)
    if lacks:
        raise ImportError(f"backend {module.__name__} lacks {', '.join(lacks)}")


def module_functions(ops: Any, module_name: str, *names: str) -> tuple[Callable, ...]:
    """``ops``'s methods ``names`` as functions of module ``module_name``: the ops a shared
    class writes once for both fast backends (kernels/autocorr_xp.py, spectrum_xp.py), made
    each backend's own. A bound method's ``__module__`` would name the shared class's module,
    and the gradient checks find an op's backend (its asarray) through ``__module__``."""
    def function(method: Callable) -> Callable:
        def op(*args: Any) -> Any:
            return method(*args)
        update_wrapper(op, method)  # its name and docstring
        op.__module__ = module_name
        return op
    return tuple(function(getattr(ops, name)) for name in names)
