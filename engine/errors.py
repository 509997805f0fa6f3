"""The one exception type for bad input (defined at the ground, kernels/errors.py, which the
backends below the engine reach too); the CLI turns it into one line on stderr and exit 2."""
from randstyle.kernels.errors import ParameterError

__all__ = ["ParameterError"]
