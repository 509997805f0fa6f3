"""transfer and texture from the command line: the flags turned into an engine config and a
session (engine/run/session.py runs channels, checkpoints, resume, segments and the level),
the inputs, presets, several styles, --resume's options, plots, and the outputs."""
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Literal, Optional

import numpy as np

from randstyle.engine import audio, demo, loudness, presets
from randstyle.engine.cli.common import (
    CONTENT_ONLY,
    DEMO_SECONDS,
    PROG,
    check_outputs,
    cut_field,
    fresh_stem,
    log,
    loudness_field,
    note_compiling,
    output_rate,
    output_sr_field,
    positional,
    progress_field,
    subtype_field,
)
from randstyle.engine.cli.evaluate import summary_line
from randstyle.engine.config import TextureConfig, TransferConfig, opt
from randstyle.engine.errors import ParameterError
from randstyle.engine.report import page, plot
from randstyle.engine.run import channels, checkpoint, interrupt, segments, session

# The stretch of each input a run used: in the report's "inputs", for the page's players.
CUTS = ("content_start", "content_end", "style_start", "style_end")


@dataclass
class StyleRunArgs:
    """Options of transfer and texture beyond the engine's configuration."""
    output: Optional[str] = field(default=None, metadata={
        "args": ["-o", "--output"],
        "help": "output audio: .wav, .flac, .ogg or .mp3 (the format from the suffix); a JSON "
                "report is written beside it (default: a new .wav name in the current folder, "
                "never an existing file)"})
    overwrite: bool = opt(False, "replace the output and its report if they exist")
    subtype: str = subtype_field()
    output_sr: Optional[int] = output_sr_field()
    loudness: str = loudness_field("the content (transfer) or the styles (texture)")
    styles: Optional[List[str]] = field(default=None, metadata={
        "args": ["--style"], "nargs": "+", "type": str, "metavar": "FILE[:WEIGHT]",
        "help": "a style reference with its weight (default 1); repeat it for several, whose "
                "Grams are averaged by weight, e.g. --style a.wav:0.7 --style b.wav:0.3"})
    channels: Literal["mono", "mid-side", "each"] = opt(
        "mono", "mono: mix down; mid-side: optimize mid and side, write stereo; each: one "
                "optimization per channel, same channels out")
    plot: bool = opt(False, "also write a PNG beside the output: spectrograms of content, "
                            "style and result, and the loss curves (needs matplotlib)")
    resume: Optional[str] = opt(None, "continue the run saved in this checkpoint (.ckpt.npz); "
                                      "its inputs, options and output come from it", show=False)
    html: bool = opt(False, "also write OUTPUT.html and OUTPUT_files/: a page to listen to the "
                            "inputs and the result, with spectrograms and loss curves")
    segment: float = opt(segments.SEGMENT_S, "a content (or texture) longer than 1.5 segments "
                         "is cut into segments of this many seconds, each optimized against "
                         "the same style targets and crossfaded where they overlap: memory "
                         "that does not grow with the song (0: one optimization whole)")
    overlap: float = opt(segments.OVERLAP_S, "seconds that consecutive segments overlap and "
                                             "crossfade over")
    jobs: int = opt(1, "segments optimized at once in local worker processes")
    scheduler: Optional[str] = opt(None, "a Dask scheduler (tcp://HOST:PORT) whose workers "
                                         "optimize the segments (they must reach this "
                                         "output's folder)", show=False)


def preset_field(mode: str) -> Optional[str]:
    """--preset whose help lists the mode's own presets only. Every name parses, so that
    another mode's preset gets its own message (presets.apply) rather than 'invalid choice'."""
    return opt(None, "a named set of options (what you set yourself wins): "
               + presets.describe(mode), show=False, choices=list(presets.PRESETS),
               metavar="NAME")


@dataclass
class TransferArgs(TransferConfig, StyleRunArgs):
    progress: bool = progress_field()
    preset: Optional[str] = preset_field("transfer")
    content: Optional[str] = positional("CONTENT audio file (omit it and the style for the "
                                        "demo)")
    style: Optional[str] = positional("STYLE audio file (or use --style)")
    content_start: Optional[float] = cut_field("content", "start")
    content_end: Optional[float] = cut_field("content", "end")
    style_start: Optional[float] = cut_field("style", "start")
    style_end: Optional[float] = cut_field("style", "end")


@dataclass
class TextureArgs(TextureConfig, StyleRunArgs):
    NOT_TAKEN = CONTENT_ONLY
    progress: bool = progress_field()
    preset: Optional[str] = preset_field("texture")
    style: Optional[str] = positional("STYLE audio file (or use --style; omit both for the "
                                      "demo drum loop)")
    style_start: Optional[float] = cut_field("style", "start")
    style_end: Optional[float] = cut_field("style", "end")


def _style_specs(args) -> list:
    """[(path, weight)] from the positional STYLE and every --style FILE[:WEIGHT]."""
    specs = [(args.style, 1.0)] if args.style else []
    for spec in args.styles or []:
        path, weight = audio.weighted_spec(spec)
        specs.append((path, 1.0 if weight is None else weight))
    return specs


def _output_wav(args, command: str, specs: list, is_demo: bool, resuming: bool) -> str:
    """The output path: the user's (or the checkpoint's), else a fresh name beside nothing."""
    if resuming or args.output is not None:
        audio.check_output_format(args.output, args.subtype)
        return args.output
    if is_demo:
        stem = f"randstyle_{'demo' if command == 'transfer' else 'texture'}"
    elif command == "transfer":
        stem = f"{Path(args.content).stem}_x_{Path(specs[0][0]).stem}"
    else:
        stem = f"{Path(specs[0][0]).stem}_texture"
    return fresh_stem(stem, (".wav", ".json", ".png", ".ckpt.npz")) + ".wav"


def _inputs(args, command: str, specs: list, is_demo: bool) -> tuple:
    """(content or None, [(style, weight)], what the report says they were); (N, C) arrays
    unless --channels mono."""
    if is_demo:
        content = demo.plucked_melody(DEMO_SECONDS["content"], args.sr) \
            if command == "transfer" else None
        styles = [(demo.drum_loop(DEMO_SECONDS["style"], args.sr), 1.0)]
        inputs = {"content": "demo:plucked_melody",
                  "styles": [{"path": "demo:drum_loop", "weight": 1.0}]}
    else:
        mono = args.channels == "mono"
        content = audio.load(args.content, args.sr, args.content_start, args.content_end,
                             what="content", mono=mono, progress=args.progress) \
            if command == "transfer" else None
        styles = [(audio.load(path, args.sr, args.style_start, args.style_end, what="style",
                              mono=mono, progress=args.progress), w) for path, w in specs]
        inputs = {"content": getattr(args, "content", None),
                  "styles": [{"path": p, "weight": w} for p, w in specs]}
        inputs.update({k: getattr(args, k) for k in CUTS if getattr(args, k, None) is not None})
    if content is None:
        inputs.pop("content")
    return content, styles, inputs


def _apply_preset(args, command: str, is_demo: bool, resumed: bool, explicit: set) -> None:
    """--preset (the demo preset when there are no input files), except on --resume, where
    the checkpoint's options stand."""
    preset = args.preset or ("demo" if is_demo and not resumed else None)
    if not preset or resumed:
        return
    applied = presets.apply(args, preset, explicit, command)
    args.preset = preset
    if is_demo and args.progress:
        print(f"{PROG}: no input files: running the built-in demo with the {preset} preset "
              f"({', '.join(f'{k}={v}' for k, v in applied.items())}); set options to "
              "override", file=sys.stderr)


def _write_outputs(args, paths: tuple, result: np.ndarray, report: dict, inputs: tuple,
                   explicit: set, run: session.Session) -> None:
    """The result, its report, and the --plot and --html pictures, each whole or not at all;
    a finished run's checkpoint removed."""
    content, styles = inputs
    wav, rep, png, htm = paths
    with interrupt.protected_writes():  # a signal now waits for whole outputs
        audio.write_wav(wav, result if result.shape[1] > 1 else result[:, 0], args.sr,
                        subtype=args.subtype, overwrite=args.overwrite, normalize=False,
                        out_sr=report["output_sr"])
        audio.write_json(rep, report, overwrite=args.overwrite)
        if args.plot:
            shown = {"style": channels.split(styles[0][0], "mono")[0],
                     "result": result.mean(axis=1)}
            if content is not None:
                shown = {"content": channels.split(content, "mono")[0], **shown}
            plot.plot_run(png, shown, args.sr, args.n_fft, args.hop_length,
                          report.get("iterations", []))
        if args.html:
            page.write_run(htm, report, {"result": wav}, args.sr, {k: getattr(args, k) for k in
                           sorted(explicit | {"preset"}) if k not in page.NOT_OPTIONS},
                           demo={"content": content, "styles": [s for s, _ in styles]})
        session.finish(run, report)


def _session(args, ckpt: str) -> session.Session:
    """The session of the command's options (the engine's run, engine/run/session.py)."""
    return session.Session(channels=args.channels, loudness=args.loudness,
                           segment=args.segment, overlap=args.overlap, jobs=args.jobs,
                           scheduler=args.scheduler, checkpoint=ckpt)


def run_styled(args, command: str, explicit: set) -> int:
    state = None
    if args.resume:
        state, args = session.restore(args, command, explicit)
    specs = _style_specs(args)
    is_demo = not specs and (command == "texture" or args.content is None)
    if command == "transfer" and (args.content is None) != (not specs):
        raise ParameterError("give both CONTENT and a style, or neither for the demo")
    _apply_preset(args, command, is_demo, state is not None, explicit)
    if args.plot:
        plot.check_available()
    loudness.parse_mode(args.loudness)  # bad input fails before any work
    wav = args.output = _output_wav(args, command, specs, is_demo, state is not None)
    rep, png, ckpt = audio.report_path(wav), str(Path(wav).with_suffix(".png")), \
        checkpoint.path_for(wav)
    htm = page.page_path(wav)
    check_outputs([wav, rep] + ([png] if args.plot else []) + ([htm] if args.html else []),
                  args.overwrite)

    content, styles, inputs = _inputs(args, command, specs, is_demo)
    note_compiling(args)
    first = None if is_demo else args.content if command == "transfer" else specs[0][0]
    out_sr = output_rate(args, first, "content" if command == "transfer" else "style")
    run = _session(args, ckpt)
    # The checkpoint keeps every option (a --resume restores the command's own), the report
    # the engine's config only.
    result, report = session.run(command, args, content, styles, run, state, asdict(args),
                                 {"preset": args.preset, "inputs": inputs,
                                  "output_sr": out_sr, "output": wav})
    interrupted = report["interrupted"]
    _write_outputs(args, (wav, rep, png, htm), result, report, (content, styles), explicit,
                   run)
    print(wav)
    if interrupted:
        print(f"{PROG}: interrupted ({interrupt.name(interrupt.signum_of(None))}): wrote the "
              f"best result so far to {wav}; continue with --resume {ckpt}", file=sys.stderr)
        return interrupt.exit_status()
    if interrupt.received():
        print(f"{PROG}: {interrupt.name(interrupt.received())} arrived while writing; the "
              "outputs are whole", file=sys.stderr)
        return interrupt.exit_status()
    log(args, f"stopped after {report['nit']} iterations ({report['stop_reason']}), "
              f"{report['wall_time_s']:.1f} s; {summary_line(report['quality']) or 'no measure'}")
    return 0
