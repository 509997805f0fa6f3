"""Shim so ``python cli.py ...`` works from a checkout; the console script is ``randstyle``."""
import sys

from randstyle.engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
