"""``python -m randstyle.engine.cli ...``: the command line without the checkout's cli.py shim."""
import sys

from randstyle.engine.cli import main

sys.exit(main())
