"""The one exception type for bad input, at the ground: the backends raise it (an unknown or
unusable backend) and every floor of the engine above them reaches it here; engine.errors
re-exports it under its public name. The CLI turns it into one line on stderr and exit 2."""


class ParameterError(ValueError):
    """A bad file, signal or option value. The message names the value and what is wrong."""
