"""Command line: ``randstyle SUBCOMMAND [options]`` (also ``python cli.py ...``).

argparse-dataclass has no subcommands: dispatch on the first word, then parse the rest with
the subcommand's dataclass. No ``from __future__ import annotations``: it breaks that parser.
"""
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, List, Literal, Optional

import argparse_dataclass
import numpy as np

from engine import audio, bench, demo
from engine.bench import BenchConfig
from engine.config import ReconstructConfig, SeparateConfig, TextureConfig, TransferConfig, opt
from engine.errors import ParameterError
from engine.modes import texture, transfer
from engine.reconstruct import reconstruct
from engine.separate import separate

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


def _fresh_stem(stem: str, suffixes: tuple) -> str:
    """``stem``, or the first "stem-N", for which no stem + suffix exists yet."""
    candidate, n = stem, 0
    while any(Path(candidate + s).exists() for s in suffixes):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def _check_outputs(paths: list, overwrite: bool) -> None:
    for path in paths:
        audio.check_output(path, overwrite)


def _output_paths(args, default_stem: str) -> tuple[str, str]:
    """The WAV and report paths, checked before any work so a run never ends in a clash."""
    if args.output is None:
        wav = _fresh_stem(default_stem, (".wav", ".json")) + ".wav"
    else:
        wav = args.output
        if Path(wav).suffix.lower() != ".wav":
            raise ParameterError(f"output must be a .wav file, got {wav}")
    rep = audio.report_path(wav)
    _check_outputs([wav, rep], args.overwrite)
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
        wav, rep = _output_paths(args, "randstyle_demo")
    else:
        wav, rep = _output_paths(
            args, f"{Path(args.content).stem}_x_{Path(args.style).stem}")
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
        wav, rep = _output_paths(args, "randstyle_texture")
    else:
        wav, rep = _output_paths(args, f"{Path(args.style).stem}_texture")
        style = audio.load(args.style, args.sr, args.style_start, args.style_end, what="style")
        inputs = {"style": args.style}
    signal, report = texture(style, args)
    _finish(args, signal, report, wav, rep, inputs)


@dataclass
class SeparateArgs(SeparateConfig):
    mix: Optional[str] = field(default=None, metadata={"args": ["mix"],
                                                        "help": "MIX audio file to separate"})
    source: Optional[List[str]] = field(default=None, metadata={
        "nargs": "+", "metavar": "NAME=EXAMPLE", "type": str,
        "help": "a source and an example recording of its kind; give two or more, each with "
                "its own --source"})
    output: Optional[str] = field(default=None, metadata={
        "args": ["-o", "--output"],
        "help": "output folder: NAME.wav per source and separation.json (default: "
                "MIX_separated, never an existing one)"})
    overwrite: bool = opt(False, "replace existing outputs in the folder")
    subtype: Literal["pcm16", "pcm24", "float"] = opt("pcm16", "WAV sample format")


@dataclass
class ReconstructArgs(ReconstructConfig):
    content: Optional[str] = _positional("CONTENT audio file (omit it for the demo melody)")
    output: Optional[str] = field(default=None, metadata={
        "args": ["-o", "--output"],
        "help": "output prefix: PREFIX_time.wav, PREFIX_griffinlim.wav and PREFIX.json "
                "(default: CONTENT_reconstruct, never an existing one)"})
    overwrite: bool = opt(False, "replace the outputs if they exist")
    subtype: Literal["pcm16", "pcm24", "float"] = opt("pcm16", "WAV sample format")
    content_start: Optional[float] = _cut("content", "start")
    content_end: Optional[float] = _cut("content", "end")


def _gather(argv: list, flag: str) -> list:
    """Repeated ``flag VALUE`` (or ``flag=VALUE``) pairs gathered into one ``flag V1 V2 ...``,
    since argparse-dataclass has no append action."""
    values, rest, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a == flag:
            j = i + 1
            while j < len(argv) and not argv[j].startswith("-"):
                values.append(argv[j])
                j += 1
            i = j
            continue
        if a.startswith(flag + "="):
            values.append(a.split("=", 1)[1])
        else:
            rest.append(a)
        i += 1
    return rest + ([flag, *values] if values else [])


def _parse_sources(specs: Optional[list]) -> dict:
    if not specs or len(specs) < 2:
        raise ParameterError("give two or more sources: --source NAME=EXAMPLE.wav --source ...")
    sources = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ParameterError(f"--source must be NAME=FILE, got {spec!r}")
        if not all(ch.isalnum() or ch in "-_" for ch in name):
            raise ParameterError(f"source name {name!r} may hold only letters, digits, - and _")
        if name in sources:
            raise ParameterError(f"source name {name!r} is given twice")
        sources[name] = path
    return sources


def run_separate(args: SeparateArgs) -> None:
    if args.mix is None:
        raise ParameterError("give the MIX file to separate")
    sources = _parse_sources(args.source)
    out = Path(args.output if args.output is not None else
               _fresh_stem(f"{Path(args.mix).stem}_separated", ("",)))
    if out.exists() and not out.is_dir():
        raise ParameterError(f"output {out} exists and is not a folder")
    if not out.parent.is_dir():
        raise ParameterError(f"output folder's parent {out.parent} does not exist")
    wavs = {name: str(out / f"{name}.wav") for name in sources}
    rep = str(out / "separation.json")
    if out.is_dir():
        _check_outputs([*wavs.values(), rep], args.overwrite)
    mix = audio.load(args.mix, args.sr, what="mix")
    examples = {name: audio.load(path, args.sr, what=f"source {name!r}")
                for name, path in sources.items()}
    parts, report = separate(mix, examples, args)
    out.mkdir(exist_ok=True)
    # One gain for all sources keeps their sum equal to the mix (up to that gain).
    peak = max(float(np.max(np.abs(p))) for p in parts.values())
    gain = min(1.0, audio.PEAK / peak) if peak > 0 else 1.0
    report["output_gain"] = gain
    report["inputs"] = {"mix": args.mix, **{f"source {n}": p for n, p in sources.items()}}
    report["outputs"] = wavs
    for name, part in parts.items():
        audio.write_wav(wavs[name], part * gain, args.sr, subtype=args.subtype,
                        overwrite=args.overwrite, normalize=False)
    audio.write_json(rep, report, overwrite=args.overwrite)
    _log(args, f"sum of sources is {100 * report['mix_residual_rel']:.1f}% of the mix away "
               f"from it; {report['wall_time_s']:.1f} s")
    print(out)


def run_reconstruct(args: ReconstructArgs) -> None:
    if args.content is None:
        print(f"{PROG}: no input file: reconstructing the built-in demo melody", file=sys.stderr)
        content = demo.plucked_melody(DEMO_SECONDS["content"], args.sr)
        stem = "randstyle_reconstruct"
        inputs = {"content": "demo:plucked_melody"}
    else:
        stem = f"{Path(args.content).stem}_reconstruct"
        content = None
        inputs = {"content": args.content}
    suffixes = ("_time.wav", "_griffinlim.wav", ".json")
    prefix = args.output if args.output is not None else _fresh_stem(stem, suffixes)
    paths = [prefix + s for s in suffixes]
    _check_outputs(paths, args.overwrite)
    if content is None:
        content = audio.load(args.content, args.sr, args.content_start, args.content_end,
                             what="content")
    signals, report = reconstruct(content, args)
    report["inputs"] = inputs
    report["outputs"] = paths
    audio.write_wav(paths[0], signals["time"], args.sr, subtype=args.subtype,
                    overwrite=args.overwrite)
    audio.write_wav(paths[1], signals["griffinlim"], args.sr, subtype=args.subtype,
                    overwrite=args.overwrite)
    audio.write_json(paths[2], report, overwrite=args.overwrite)
    for method, r in report["results"].items():
        _log(args, f"{method}: spectral convergence {r['spectral_convergence']:.4f}, "
                   f"{r['wall_time_s']:.1f} s")
    print(prefix)


def run_bench(args: BenchConfig) -> None:
    bench.main(args)


COMMANDS: dict[str, tuple[type, Callable, str]] = {
    "transfer": (TransferArgs, run_transfer, "transfer the style of STYLE onto CONTENT"),
    "texture": (TextureArgs, run_texture, "synthesize a texture of any length from STYLE"),
    "separate": (SeparateArgs, run_separate, "split MIX into sources, each like its example"),
    "reconstruct": (ReconstructArgs, run_reconstruct,
                    "content-only reconstruction: time domain vs Griffin-Lim"),
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
    if command == "separate":
        rest = _gather(rest, "--source")
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
