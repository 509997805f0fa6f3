"""randstyle engine: musical style transfer with random, untrained convolutions.

Public API:
    NetworkConfig, TransferConfig, TextureConfig   configuration dataclasses
    Network(config, backend="numpy")                the fixed random network
    Objective(network, content=..., style=...)      .value_and_grad(x) -> (float, ndarray)
    transfer(content, style, config) / texture(style, config) -> (signal, report)
    separate(mix, {name: example}, config) -> ({name: signal}, report)
    reconstruct(content, config) -> ({"time": signal, "griffinlim": signal}, report)
    evaluate(result, sr, style=, content=, reference=) -> {style_distance, ...}: the measure
    load / write_wav                                audio I/O
    ParameterError                                  the one error type for bad input
"""
import os

# The cpu backend runs its GEMMs on its own threads with single-threaded BLAS (kernels/
# cpu_blas.py), so its speed does not depend on the BLAS libraries' load-time settings nor on
# whether NumPy was imported first. The Numba kernels' OpenMP threads are the one pool left
# that reads a setting at load, and libgomp loads at the first parallel kernel, after this:
# passive waiting leaves the cores to the GEMM threads between kernels.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from engine.audio import load, write_wav  # noqa: E402
from engine.config import (  # noqa: E402
    NetworkConfig,
    ReconstructConfig,
    SeparateConfig,
    TextureConfig,
    TransferConfig,
)
from engine.errors import ParameterError  # noqa: E402
from engine.model.evaluate import evaluate  # noqa: E402
from engine.model.network import Network  # noqa: E402
from engine.model.objective import Objective  # noqa: E402
from engine.run.modes import texture, transfer  # noqa: E402
from engine.run.reconstruct import reconstruct  # noqa: E402
from engine.run.separate import separate  # noqa: E402
from engine.version import __version__  # noqa: E402

__all__ = ["NetworkConfig", "TransferConfig", "TextureConfig", "SeparateConfig",
           "ReconstructConfig", "Network", "Objective", "transfer", "texture", "separate",
           "reconstruct", "evaluate", "load", "write_wav", "ParameterError", "__version__"]
