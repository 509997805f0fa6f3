"""``python -m bench.corpus SUBCOMMAND``: the instrument corpus and the tables measured on it."""
import sys

from bench.commands import run

DOC = "The instrument corpus (docs/corpus.md): rendering it, checking it, measuring on it."
COMMANDS = {
    "render": ("bench.corpus.render", "render the corpus (fluidsynth, or the demo's signals)"),
    "check": ("bench.corpus.check", "listen-check by numbers: levels, silence, stems' sums"),
    "quality": ("bench.corpus.quality", "quality against CPU time, old defaults and new "
                                        "(issue 20)"),
    "targets": ("bench.corpus.targets", "a default transfer and texture as a user runs them"),
}

if __name__ == "__main__":
    sys.exit(run("corpus", DOC, COMMANDS))
