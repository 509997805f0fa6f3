"""The lab: the scripts behind docs/results/, the instrument corpus and the test audit, run
from a checkout as ``python -m bench.GROUP SUBCOMMAND`` (corpus, transfer, separation,
machine, audit; ``python -m bench.GROUP`` lists a group's subcommands) or ``python -m
bench.texture`` / ``bench.songs``. Not installed: the installed harness of ``randstyle bench``
is engine/bench. Shared by every script: bench/lab.py (corpus loading, table output)."""
