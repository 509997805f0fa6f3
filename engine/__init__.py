"""randstyle engine: musical style transfer with random, untrained convolutions.

Public API:
    NetworkConfig, TransferConfig, TextureConfig   configuration dataclasses
    Network(config, backend="numpy")                the fixed random network
    Objective(network, content=..., style=...)      .value_and_grad(x) -> (float, ndarray)
    transfer(content, style, config) / texture(style, config) -> (signal, report)
    load / write_wav                                audio I/O
    ParameterError                                  the one error type for bad input
"""
from engine.audio import load, write_wav
from engine.config import NetworkConfig, TextureConfig, TransferConfig
from engine.errors import ParameterError
from engine.modes import VERSION as __version__
from engine.modes import texture, transfer
from engine.network import Network
from engine.objective import Objective

__all__ = ["NetworkConfig", "TransferConfig", "TextureConfig", "Network", "Objective",
           "transfer", "texture", "load", "write_wav", "ParameterError", "__version__"]
