"""The command line: flags -> run calls. ``main`` is the console script's entry point."""
from randstyle.engine.cli.main import main

__all__ = ["main"]
