"""Command line: ``randstyle SUBCOMMAND [options]`` (also ``python cli.py ...``).

argparse-dataclass has no subcommands: dispatch on the first word, then parse the rest with
the subcommand's dataclass. No ``from __future__ import annotations``: it breaks that parser.
"""
import sys
from typing import Callable, Optional

from randstyle.engine.bench.harness import BenchConfig
from randstyle.engine.cli.batch import BatchArgs, run_batch
from randstyle.engine.cli.commands import ARGS_OF, ROWS, execute
from randstyle.engine.cli.common import PROG, Parser, gather
from randstyle.engine.cli.evaluate import EvaluateArgs, run_evaluate
from randstyle.engine.cli.tools import ReconstructArgs, run_bench, run_reconstruct
from randstyle.engine.version import __version__

COMMANDS: dict[str, tuple[type, Callable, str]] = {
    "transfer": (*ROWS["transfer"], "transfer the style of STYLE onto CONTENT"),
    "texture": (*ROWS["texture"], "synthesize a texture of any length from STYLE"),
    "separate": (*ROWS["separate"], "split MIX into sources, each like its example"),
    "reconstruct": (ReconstructArgs, lambda a, e: run_reconstruct(a),
                    "content-only reconstruction: time domain vs Griffin-Lim"),
    "bench": (BenchConfig, lambda a, e: run_bench(a),
              "time every op and a whole evaluation per backend, against this machine's GEMM "
              "floor"),
    "batch": (BatchArgs, lambda a, e: run_batch(a),
              "run a CSV manifest of transfer/texture/separate jobs, here or on Dask"),
    "evaluate": (EvaluateArgs, lambda a, e: run_evaluate(a),
                 "measure a result: style distance, content similarity, SDR (JSON)"),
}
EXAMPLES = {
    "transfer": ["randstyle transfer vocals.wav --style drums.flac -o out.wav",
                 "randstyle transfer vocals.wav --style a.wav:0.7 --style b.wav:0.3 --preset fast",
                 "randstyle transfer          (no files: the built-in demo)"],
    "texture": ["randstyle texture drums.flac --seconds 20 -o tex.wav"],
    "separate": ["randstyle separate mix.wav --source drums=drums.wav --source pad=pad.wav "
                 "-o sep/",
                 "randstyle separate --method statistics --help   (that method's options)"],
    "reconstruct": ["randstyle reconstruct vocals.wav -o recon"],
    "bench": ["randstyle bench --backends numpy,cpu"],
    "batch": ["randstyle batch jobs.csv -o results --jobs 2 --threads 1"],
    "evaluate": ["randstyle evaluate out.wav --style drums.flac --content vocals.wav"],
}
REPEATABLE = {"transfer": ("--style",), "texture": ("--style",),
              "separate": ("--source", "--reference"), "evaluate": ("--style",)}


def usage() -> str:
    lines = [f"usage: {PROG} COMMAND [options]   ({PROG} COMMAND --help for its options;"
             f" {PROG} --version)",
             "", "Musical style transfer with random, untrained convolutions.", "", "commands:"]
    lines += [f"  {name:<10} {help}" for name, (_, _, help) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Optional[list] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] in ("-V", "--version"):
        print(f"{PROG} {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"{PROG}: error: unknown command {command!r}; choose from "
              f"{', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    cls, _, help = COMMANDS[command]
    for flag in REPEATABLE.get(command, ()):
        rest = gather(rest, flag)

    def parse() -> tuple:
        klass = ARGS_OF[command](rest) if command in ARGS_OF else cls
        examples = "\n".join(f"  {e}" for e in EXAMPLES[command])
        parser = Parser(klass, prog=f"{PROG} {command}", description=help,
                        epilog=f"examples:\n{examples}")
        return parser.parse_args(rest), parser.explicit(rest)
    return execute(command, COMMANDS[command][1], parse)
