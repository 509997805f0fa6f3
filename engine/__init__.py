"""randstyle engine: musical style transfer with random, untrained convolutions.

Public API:
    NetworkConfig, TransferConfig, TextureConfig   configuration dataclasses
    Network(config, backend="numpy")                the fixed random network
    Objective(network, content=..., style=...)      .value_and_grad(x) -> (float, ndarray)
    transfer(content, style, config) / texture(style, config) -> (signal, report): one run
                                                    (with channels (N, C): as the session)
    transfer_session(content, style, config, channels=, loudness=, checkpoint=, resume=)
    texture_session(style, config, ...) -> (signal, report): a run as the CLI runs it
    run_song("transfer", content, style, config) -> (signal, report): a long one in segments
    separate(mix, {name: example}, config) -> ({name: signal}, report)
    reconstruct(content, config) -> ({"time": signal, "griffinlim": signal}, report)
    evaluate(result, sr, style=, content=, reference=) -> {style_distance, ...}: the measure
    load / write_wav(path, x, sr, overwrite=)       audio I/O (written at its level as given)
    ParameterError                                  the one error type for bad input
"""
# First (it sorts first too): sets OMP_WAIT_POLICY before anything loads Numba.
from randstyle.engine import _omp as _omp
from randstyle.engine.audio import load, write_wav
from randstyle.engine.config import (
    NetworkConfig,
    ReconstructConfig,
    SeparateConfig,
    TextureConfig,
    TransferConfig,
)
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.evaluate import evaluate
from randstyle.engine.model.network import Network
from randstyle.engine.model.objective import Objective
from randstyle.engine.run.reconstruct import reconstruct
from randstyle.engine.run.separate import separate
from randstyle.engine.run.session import texture_api as texture
from randstyle.engine.run.session import texture_session, transfer_session
from randstyle.engine.run.session import transfer_api as transfer
from randstyle.engine.run.spread import run_song
from randstyle.engine.version import __version__

__all__ = ["NetworkConfig", "TransferConfig", "TextureConfig", "SeparateConfig",
           "ReconstructConfig", "Network", "Objective", "transfer", "texture",
           "transfer_session", "texture_session", "separate",
           "reconstruct", "run_song", "evaluate", "load", "write_wav", "ParameterError",
           "__version__"]
