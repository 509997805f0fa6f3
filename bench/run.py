"""``python -m bench.run [options]``: the same as ``python cli.py bench``."""
import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
