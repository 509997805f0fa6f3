"""``python -m bench.separation SUBCOMMAND``: separation against true stems."""
import sys

from bench.commands import run

DOC = "Separation measured against true stems (docs/results/separation.md)."
COMMANDS = {
    "generated": ("bench.separation.generated", "mixes generated in code: table, sweep, "
                                                "distances, diagnose"),
    "corpus": ("bench.separation.corpus", "the instrument corpus's mixes: table, sweep, "
                                          "memory, consistent, fuse, misi"),
    "probes": ("bench.separation.probes", "where the dictionary method's error is: stems, "
                                          "transpose, templates"),
    "frames": ("bench.separation.frames", "the dictionary method's error per frame, and its "
                                          "atoms' start: errors, starts"),
    "memory": ("bench.separation.memory", "a statistics separation's peak RSS against the "
                                          "memory estimate"),
}

if __name__ == "__main__":
    sys.exit(run("separation", DOC, COMMANDS))
