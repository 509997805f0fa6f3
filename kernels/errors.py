"""The one exception type for bad input, at the ground: the backends raise it (an unknown or
unusable backend) and every floor of the engine above them reaches it here; engine.errors
re-exports it under its public name. The CLI turns it into one line on stderr and exit 2."""


class ParameterError(ValueError):
    """A bad file, signal or option value. The message names the value and what is wrong;
    ``params``: the parameters (config fields, keywords) it names by their Python names, so
    that the CLI can say them as its flags (``maxiter`` -> ``--maxiter``)."""

    def __init__(self, message: str = "", params: tuple = ()) -> None:
        super().__init__(message)
        self.params = tuple(params)
