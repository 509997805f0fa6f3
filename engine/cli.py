"""Command line: ``randstyle SUBCOMMAND [options]`` (also ``python cli.py ...``).

argparse-dataclass has no subcommands: dispatch on the first word, then parse the rest with
the subcommand's dataclass. No ``from __future__ import annotations``: it breaks that parser.
"""
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Literal, Optional

import argparse_dataclass

from engine import audio, bench, demo
from engine.bench import BenchConfig
from engine.config import TextureConfig, TransferConfig, opt
from engine.errors import ParameterError
from engine.modes import texture, transfer

PROG = "randstyle"

# The demo runs on a 2-core laptop in well under 3 minutes; these replace any option the user
# left at its default.
DEMO_PRESET = {"n_filters": 2048, "maxiter": 100}
DEMO_SECONDS = {"content": 4.0, "style": 6.0}


def _cut(what: str, edge: str) -> Optional[float]:
    word = "from" if edge == "start" else "up to"
    return opt(None, f"cut the {what} {word} this second (default: its {edge})", show=False)


@dataclass
class OutputArgs:
    output: Optional[str] = field(default=None, metadata={
        "args": ["-o", "--output"],
        "help": "output WAV; a JSON report is written beside it (default: a new name in the "
                "current folder, never an existing file)"})
    overwrite: bool = opt(False, "replace the output and its report if they exist")
    subtype: Literal["pcm16", "pcm24", "float"] = opt("pcm16", "WAV sample format")


def _positional(help: str) -> Optional[str]:
    return field(default=None, metadata={"args": [help.split()[0].lower()], "nargs": "?",
                                         "help": help})


@dataclass
class TransferArgs(TransferConfig, OutputArgs):
    content: Optional[str] = _positional("CONTENT audio file (omit both files for the demo)")
    style: Optional[str] = _positional("STYLE audio file")
    content_start: Optional[float] = _cut("content", "start")
    content_end: Optional[float] = _cut("content", "end")
    style_start: Optional[float] = _cut("style", "start")
    style_end: Optional[float] = _cut("style", "end")


@dataclass
class TextureArgs(TextureConfig, OutputArgs):
    style: Optional[str] = _positional("STYLE audio file (omit it for the demo drum loop)")
    style_start: Optional[float] = _cut("style", "start")
    style_end: Optional[float] = _cut("style", "end")


class _Parser(argparse_dataclass.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


def _log(args, message: str) -> None:
    if args.progress:
        print(f"{PROG}: {message}", file=sys.stderr)


def _apply_demo(args, cls: type) -> None:
    defaults = {f.name: f.default for f in fields(cls)}
    applied = {k: v for k, v in DEMO_PRESET.items() if getattr(args, k) == defaults[k]}
    for k, v in applied.items():
        setattr(args, k, v)
    print(f"{PROG}: no input files: running the built-in demo with a light preset "
          f"({', '.join(f'{k}={v}' for k, v in applied.items())}); set options to override",
          file=sys.stderr)


def _output_paths(args, default_name: str) -> tuple[str, str]:
    """The WAV and report paths, checked before any work so a run never ends in a clash."""
    if args.output is None:
        name = default_name
        while True:  # a fresh name whose report name is fresh too
            name = audio.free_path(name)
            if not Path(audio.report_path(name)).exists():
                break
            name = audio.free_path(name.replace(".wav", "-1.wav"))
        wav = name
    else:
        wav = args.output
        if Path(wav).suffix.lower() != ".wav":
            raise ParameterError(f"output must be a .wav file, got {wav}")
    rep = audio.report_path(wav)
    audio.check_output(wav, args.overwrite)
    audio.check_output(rep, args.overwrite)
    return wav, rep


def _finish(args, signal, report: dict, wav: str, rep: str, inputs: dict) -> None:
    report["inputs"] = inputs
    report["output"] = wav
    audio.write_wav(wav, signal, args.sr, subtype=args.subtype, overwrite=args.overwrite)
    audio.write_json(rep, report, overwrite=args.overwrite)
    _log(args, f"stopped after {report['nit']} iterations ({report['stop_reason']}), "
               f"{report['wall_time_s']:.1f} s")
    print(wav)


def run_transfer(args: TransferArgs) -> None:
    if (args.content is None) != (args.style is None):
        raise ParameterError("give both CONTENT and STYLE files, or neither for the demo")
    if args.content is None:
        _apply_demo(args, TransferArgs)
        content = demo.plucked_melody(DEMO_SECONDS["content"], args.sr)
        style = demo.drum_loop(DEMO_SECONDS["style"], args.sr)
        inputs = {"content": "demo:plucked_melody", "style": "demo:drum_loop"}
        wav, rep = _output_paths(args, "randstyle_demo.wav")
    else:
        wav, rep = _output_paths(
            args, f"{Path(args.content).stem}_x_{Path(args.style).stem}.wav")
        content = audio.load(args.content, args.sr, args.content_start, args.content_end,
                             what="content")
        style = audio.load(args.style, args.sr, args.style_start, args.style_end, what="style")
        inputs = {"content": args.content, "style": args.style}
    signal, report = transfer(content, style, args)
    _finish(args, signal, report, wav, rep, inputs)


def run_texture(args: TextureArgs) -> None:
    if args.style is None:
        _apply_demo(args, TextureArgs)
        style = demo.drum_loop(DEMO_SECONDS["style"], args.sr)
        inputs = {"style": "demo:drum_loop"}
        wav, rep = _output_paths(args, "randstyle_texture.wav")
    else:
        wav, rep = _output_paths(args, f"{Path(args.style).stem}_texture.wav")
        style = audio.load(args.style, args.sr, args.style_start, args.style_end, what="style")
        inputs = {"style": args.style}
    signal, report = texture(style, args)
    _finish(args, signal, report, wav, rep, inputs)


def run_bench(args: BenchConfig) -> None:
    bench.main(args)


COMMANDS: dict[str, tuple[type, Callable, str]] = {
    "transfer": (TransferArgs, run_transfer, "transfer the style of STYLE onto CONTENT"),
    "texture": (TextureArgs, run_texture, "synthesize a texture of any length from STYLE"),
    "bench": (BenchConfig, run_bench, "time every op and a whole evaluation per backend, "
                                      "against this machine's GEMM floor"),
}


def usage() -> str:
    lines = [f"usage: {PROG} COMMAND [options]   ({PROG} COMMAND --help for its options)",
             "", "Musical style transfer with random, untrained convolutions.", "", "commands:"]
    lines += [f"  {name:<10} {help}" for name, (_, _, help) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Optional[list] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"{PROG}: error: unknown command {command!r}; choose from "
              f"{', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    cls, run, help = COMMANDS[command]
    try:
        parser = _Parser(cls, prog=f"{PROG} {command}", description=help)
        run(parser.parse_args(rest))
    except ParameterError as exc:
        print(f"{PROG} {command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {command}: interrupted; nothing written", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"{PROG} {command}: error: out of memory; try fewer --n-filters or shorter "
              "clips", file=sys.stderr)
        return 1
    return 0
