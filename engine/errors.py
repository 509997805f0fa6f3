"""The one exception type for bad input; the CLI turns it into one line on stderr and exit 2."""


class ParameterError(ValueError):
    """A bad file, signal or option value. The message names the value and what is wrong."""
