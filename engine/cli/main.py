"""Command line: ``randstyle SUBCOMMAND [options]`` (also ``python cli.py ...``).

argparse-dataclass has no subcommands: dispatch on the first word, then parse the rest with
the subcommand's dataclass. No ``from __future__ import annotations``: it breaks that parser.
"""
import sys
from typing import Callable, Optional

from engine.bench.harness import BenchConfig
from engine.cli.batch import BatchArgs, run_batch
from engine.cli.common import PROG, Parser, flagged, gather
from engine.cli.evaluate import EvaluateArgs, run_evaluate
from engine.cli.style import TextureArgs, TransferArgs, run_styled
from engine.cli.tools import (
    DictionaryArgs,
    ReconstructArgs,
    run_bench,
    run_reconstruct,
    run_separate,
    separate_args,
)
from engine.errors import ParameterError
from engine.run import interrupt
from engine.version import __version__

COMMANDS: dict[str, tuple[type, Callable, str]] = {
    "transfer": (TransferArgs, lambda a, e: run_styled(a, "transfer", e),
                 "transfer the style of STYLE onto CONTENT"),
    "texture": (TextureArgs, lambda a, e: run_styled(a, "texture", e),
                "synthesize a texture of any length from STYLE"),
    "separate": (DictionaryArgs, lambda a, e: run_separate(a, e),
                 "split MIX into sources, each like its example"),
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
# Commands whose arguments class follows from the argv (separate: its --method's).
ARGS_OF = {"separate": separate_args}
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
    return execute(command, parse)


def call(job: dict) -> int:
    """A batch row's call (engine/batch/runner.py: command): the arguments' fields as the
    manifest parsed them once (engine/cli/manifest.py), run as the command runs them."""
    command, fields = job["mode"], job["fields"]

    def arguments() -> tuple:
        cls = COMMANDS[command][0]
        if command in ARGS_OF:  # separate: its method's class
            cls = ARGS_OF[command](["--method", fields.get("method", "dictionary")])
        return cls(**fields), set(job["explicit"])
    return execute(command, arguments)


def execute(command: str, arguments: Callable[[], tuple]) -> int:
    """The command run on ``arguments()`` ((its arguments, the fields given)); a bad input is
    one line on stderr and exit 2, a signal the run's own exit status."""
    run, scope = COMMANDS[command][1], None  # scope: the run's signals, read after it ended
    try:
        # SIGTERM (timeout, scheduler, docker stop) stops a run as Ctrl-C does.
        with interrupt.handling() as scope:
            args, explicit = arguments()
            return run(args, explicit) or 0
    except ParameterError as exc:  # the engine names parameters, the command its flags
        print(f"{PROG} {command}: error: {flagged(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, permissions: not bad input, but still one line
        print(f"{PROG} {command}: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{PROG} {command}: error: out of memory; try fewer --n-filters or shorter "
              "clips", file=sys.stderr)
        return 1
    except BaseException as exc:  # Ctrl-C, SIGTERM, or either wrapped by compiled code
        stopped = interrupt.wrapped(exc)
        if stopped is None:
            raise
        return _interrupted(command, stopped, scope)


def _interrupted(command: str, exc: KeyboardInterrupt, scope) -> int:
    done = "after its outputs were written" if interrupt.wrote_outputs(scope) else \
        "before there was a result; nothing written"
    signum = interrupt.signum_of(exc, scope)
    print(f"{PROG} {command}: interrupted ({interrupt.name(signum)}) {done}", file=sys.stderr)
    return interrupt.exit_status(exc, scope)
