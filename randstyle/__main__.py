"""``python -m randstyle ...``: the command line, the same program as the installed
``randstyle`` command and a checkout's ``python cli.py``."""
import sys

from randstyle.engine.cli import main

sys.exit(main())
