"""``python -m bench.transfer SUBCOMMAND``: the transfer's (and reconstruction's) tables."""
import sys

from bench.commands import run

DOC = ("Transfer measured: quality against time, the default, filters, networks "
       "(docs/results/quality.md, filters.md, performance.md, reconstruction.md).")
COMMANDS = {
    "quality": ("bench.transfer.quality", "the quality measure's scale; quality against time "
                                          "(calibrate, transfer, table)"),
    "default": ("bench.transfer.default", "issue 29: the default against the old one and "
                                          "the percussive preset"),
    "chroma-gap": ("bench.transfer.chroma_gap", "why the engine's chroma and chroma_cqt disagree "
                                                "on a result"),
    "views": ("bench.transfer.views", "several style networks against one at equal CPU time"),
    "filters": ("bench.transfer.filters", "texture quality at equal CPU time, dense against "
                                          "Fastfood filters"),
    "fastfood": ("bench.transfer.fastfood", "speed of the Fastfood harmonic conv against the "
                                            "dense one"),
    "style-cut": ("bench.transfer.style_cut", "the style's factor cut against the exact "
                                              "factor"),
    "spectrum-gap": ("bench.transfer.spectrum_gap", "what the band spectrum term was made for"),
    "reconstruct": ("bench.transfer.reconstruct", "content-only reconstruction: time domain "
                                                  "against Griffin-Lim"),
}

if __name__ == "__main__":
    sys.exit(run("transfer", DOC, COMMANDS))
