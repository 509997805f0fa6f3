"""``python -m engine.cli ...``: the command line without the checkout's cli.py shim."""
import sys

from engine.cli import main

sys.exit(main())
