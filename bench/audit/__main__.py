"""``python -m bench.audit SUBCOMMAND``: the test audit."""
import sys

from bench.commands import run

DOC = "The test audit (docs/results/testing.md): break a behaviour, see which test catches it."
COMMANDS = {
    "mutants": ("bench.audit.mutants", "apply each mutant of bench/audit/mutant_list.py and "
                                       "run its room of tests"),
}

if __name__ == "__main__":
    sys.exit(run("audit", DOC, COMMANDS))
