"""A Dask distributed scheduler, reached the one way both of its users do: a long run's
segments (run/spread.py) and a batch's rows (batch/runner.py). Dask is imported here only
when asked for, so the engine runs without it."""
from __future__ import annotations

from typing import Any

from randstyle.engine.errors import ParameterError


def connect(address: str) -> Any:
    """A distributed.Client for ``address``; one line (ParameterError) where Dask is missing
    or the scheduler does not answer in 15 s."""
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("--scheduler needs Dask distributed: pip install "
                             "'randstyle[cluster]'") from None
    try:
        return Client(address, timeout="15s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
