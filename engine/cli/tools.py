"""separate, reconstruct and bench from the command line."""
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import List, Optional

from randstyle.engine import audio, demo, loudness
from randstyle.engine.bench import harness
from randstyle.engine.bench.harness import BenchConfig
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
from randstyle.engine.config import (
    SEPARATE_METHODS,
    DictionaryConfig,
    ReconstructConfig,
    RunConfig,
    SeparateConfig,
    StatisticsConfig,
    opt,
    separate_class,
)
from randstyle.engine.errors import ParameterError
from randstyle.engine.report import page
from randstyle.engine.run import interrupt
from randstyle.engine.run.reconstruct import reconstruct
from randstyle.engine.run.separate import separate


@dataclass
class SeparateOutputs:
    """The separate command's own options (inputs, outputs, their format): beside each
    method's config in its arguments, never in the engine's config or the report's."""
    progress: bool = progress_field()
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
    subtype: str = subtype_field()
    output_sr: Optional[int] = output_sr_field()
    loudness: str = loudness_field("the mix, by one gain for all sources (match keeps them as "
                                   "they are in the mix, so they still sum to it)")
    html: bool = opt(False, "also write separation.html and separation_files/ in the folder: "
                            "a page to listen to the mix, the examples and the sources")
    reference: Optional[List[str]] = field(default=None, metadata={
        "nargs": "+", "metavar": "NAME=STEM", "type": str,
        "help": "the true stem of a source, to score the separation: SDR per source in the "
                "report, beside the equal split's and (two sources) HPSS's; repeatable"})

    def config(self) -> SeparateConfig:
        """The engine's config of this method: its fields only."""
        cls = separate_class(self.method)
        return cls(**{f.name: getattr(self, f.name) for f in fields(cls)})


@dataclass
class DictionaryArgs(SeparateOutputs, DictionaryConfig):
    pass


@dataclass
class StatisticsArgs(SeparateOutputs, StatisticsConfig):
    NOT_TAKEN = CONTENT_ONLY


# The command's arguments per --method: each lists (and parses) only its method's options.
SEPARATE_ARGS = {"dictionary": DictionaryArgs, "statistics": StatisticsArgs}
assert set(SEPARATE_ARGS) == set(SEPARATE_METHODS)


def _flags(cls: type) -> dict:
    """{--flag: field name} of a dataclass's options (--no-balance for balance)."""
    return {flag: f.name for f in fields(cls)
            for flag in f.metadata.get("args", ["--" + f.name.replace("_", "-")])
            if flag.startswith("--")}


def separate_args(argv: list) -> type:
    """The arguments class of the --method in ``argv`` (default dictionary). An option that
    class lacks but another method's (or a style mode's) config has is refused here, in one
    line, before argparse would call it unrecognized."""
    method = "dictionary"
    for i, tok in enumerate(argv):
        if tok == "--method" and i + 1 < len(argv):
            method = argv[i + 1]
        elif tok.startswith("--method="):
            method = tok.split("=", 1)[1]
    if method not in SEPARATE_ARGS:
        return DictionaryArgs  # whose parser names the unknown method and the choices
    cls = SEPARATE_ARGS[method]
    own = _flags(cls)
    methods = {k for c in SEPARATE_ARGS.values() for k in _flags(c)}
    given = dict.fromkeys(tok.split("=", 1)[0] for tok in argv if tok.startswith("--"))
    foreign = [t for t in given if t not in own and (t in methods or t in _flags(RunConfig))]
    for flags, what in (([t for t in foreign if t not in methods], "separate"),
                        (foreign, f"separate --method {method}")):
        if flags:  # the flags as given (--no-balance, not the field's name)
            raise ParameterError(f"{', '.join(flags)}: no effect on {what}")
    return cls


@dataclass
class ReconstructArgs(ReconstructConfig):
    progress: bool = progress_field()
    content: Optional[str] = positional("CONTENT audio file (omit it for the demo melody)")
    output: Optional[str] = field(default=None, metadata={
        "args": ["-o", "--output"],
        "help": "output prefix: PREFIX_time.wav, PREFIX_griffinlim.wav and PREFIX.json "
                "(default: CONTENT_reconstruct, never an existing one)"})
    overwrite: bool = opt(False, "replace the outputs if they exist")
    subtype: str = subtype_field()
    output_sr: Optional[int] = output_sr_field()
    loudness: str = loudness_field("the content")
    content_start: Optional[float] = cut_field("content", "start")
    content_end: Optional[float] = cut_field("content", "end")


def _parse_sources(specs: Optional[list], flag: str = "--source", least: int = 2) -> dict:
    if flag == "--source" and len(specs or ()) < least:
        raise ParameterError("give two or more sources: --source NAME=EXAMPLE.wav --source ... "
                             "(or one and --rest NAME)")
    sources = {}
    for spec in specs or ():
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ParameterError(f"{flag} must be NAME=FILE, got {spec!r}")
        if not all(ch.isalnum() or ch in "-_" for ch in name):
            raise ParameterError(f"source name {name!r} may hold only letters, digits, - and _")
        if name in sources:
            raise ParameterError(f"source name {name!r} is given twice")
        sources[name] = path
    return sources


def run_separate(args: SeparateOutputs, explicit: frozenset | set = frozenset()) -> int:
    """``args``: the --method's arguments (separate_args), its options checked already."""
    if args.mix is None:
        raise ParameterError("give the MIX file to separate")
    mode = loudness.parse_mode(args.loudness)
    rest = getattr(args, "rest", None)  # the dictionary method's source without an example
    sources = _parse_sources(args.source, least=1 if rest else 2)
    ref_paths = _parse_sources(args.reference, "--reference")
    unknown = set(ref_paths) - set(sources) - {rest}
    if unknown:
        raise ParameterError(f"--reference names no --source: {', '.join(sorted(unknown))}")
    out, wavs, rep, htm = _separate_outputs(args, [*sources, *filter(None, [rest])])
    mix = audio.load(args.mix, args.sr, what="mix")
    examples = {name: audio.load(path, args.sr, what=f"source {name!r}")
                for name, path in sources.items()}
    references = {name: audio.load(path, args.sr, what=f"reference {name!r}")
                  for name, path in ref_paths.items()}
    out_sr = output_rate(args, args.mix, "mix")
    note_compiling(args)
    cfg = args.config()
    parts, report = separate(mix, examples, cfg, references=references)
    out.mkdir(exist_ok=True)
    # One gain for all sources keeps their sum equal to the mix (up to that gain); under
    # match, the sum is the mix, so its loudness is the mix's and the gain is 1 unless a
    # source's true peak is over the ceiling.
    names = list(parts)
    leveled, report["loudness"] = loudness.level(
        [parts[n] for n in names], args.sr, mode, loudness.reference_loudness([mix], args.sr))
    parts = dict(zip(names, leveled))
    report["output_gain"] = report["loudness"]["gain"]
    report["inputs"] = {"mix": args.mix, **{f"source {n}": p for n, p in sources.items()},
                        **{f"reference {n}": p for n, p in ref_paths.items()}}
    report["outputs"], report["output_sr"] = wavs, out_sr
    with interrupt.protected_writes():  # a signal now waits for whole outputs
        for name, part in parts.items():
            audio.write_wav(wavs[name], part, args.sr, subtype=args.subtype,
                            overwrite=args.overwrite, normalize=False, out_sr=out_sr)
        audio.write_json(rep, report, overwrite=args.overwrite)
        if args.html:
            changed = {f.name: getattr(cfg, f.name) for f in fields(cfg)
                       if getattr(cfg, f.name) != f.default and f.name not in page.NOT_OPTIONS}
            page.write_run(htm, report, {f"result {n}": p for n, p in wavs.items()}, args.sr,
                           changed)
    print(out)
    if report["interrupted"] or interrupt.received():
        print(f"{PROG}: interrupted ({interrupt.name(interrupt.signum_of(None))}): wrote the "
              f"best sources so far to {out}", file=sys.stderr)
        return interrupt.exit_status()
    _log_separation(args, report)
    return 0


def _separate_outputs(args: SeparateOutputs, names: list) -> tuple:
    """The output folder, each source's WAV, the report and the page, all checked before any
    work: an existing file is replaced only with --overwrite."""
    out = Path(args.output if args.output is not None else
               fresh_stem(f"{Path(args.mix).stem}_separated", ("",)))
    if out.exists() and not out.is_dir():
        raise ParameterError(f"output {out} exists and is not a folder")
    if not out.parent.is_dir():
        raise ParameterError(f"output folder's parent {out.parent} does not exist")
    wavs = {name: str(out / f"{name}.wav") for name in names}
    rep = str(out / "separation.json")
    htm = page.page_path(rep)
    if out.is_dir():
        check_outputs([*wavs.values(), rep] + ([htm] if args.html else []), args.overwrite)
    return out, wavs, rep, htm


def _log_separation(args: SeparateOutputs, report: dict) -> None:
    log(args, f"sum of sources is {100 * report['mix_residual_rel']:.1g}% of the mix away "
              f"from it; {report['wall_time_s']:.1f} s")
    for name, s in report.get("reference", {}).items():
        hpss = f", HPSS {s['hpss_sdr']:.1f} dB" if "hpss_sdr" in s else ""
        log(args, f"{name}: BSS Eval SDR {s['sdr']:.1f} dB, SIR {s['sir']:.1f}, SAR "
                  f"{s['sar']:.1f}, SI-SDR {s['si_sdr']:.1f} (equal split SDR "
                  f"{s['equal_split_sdr']:.1f} dB{hpss})")


def run_reconstruct(args: ReconstructArgs) -> int:
    if args.content is None:
        log(args, "no input file: reconstructing the built-in demo melody")
        content = demo.plucked_melody(DEMO_SECONDS["content"], args.sr)
        stem = "randstyle_reconstruct"
        inputs = {"content": "demo:plucked_melody"}
    else:
        stem = f"{Path(args.content).stem}_reconstruct"
        content = None
        inputs = {"content": args.content}
    suffixes = ("_time.wav", "_griffinlim.wav", ".json")
    mode = loudness.parse_mode(args.loudness)
    prefix = args.output if args.output is not None else fresh_stem(stem, suffixes)
    paths = [prefix + s for s in suffixes]
    check_outputs(paths, args.overwrite)
    if content is None:
        content = audio.load(args.content, args.sr, args.content_start, args.content_end,
                             what="content")
    out_sr = output_rate(args, args.content, "content")
    note_compiling(args)
    signals, report = reconstruct(content, args)
    target = loudness.reference_loudness([content], args.sr)
    report["loudness"] = {}
    for method in list(signals):  # each reconstruction at the content's level
        (signals[method],), report["loudness"][method] = loudness.level(
            [signals[method]], args.sr, mode, target, limit=True)
    report["inputs"] = inputs
    wavs = dict(zip(("time", "griffinlim"), paths[:2]))
    report["outputs"] = [wavs[m] for m in signals] + [paths[2]]
    report["output_sr"] = out_sr
    with interrupt.protected_writes():  # a signal now waits for whole outputs
        for method, signal in signals.items():
            audio.write_wav(wavs[method], signal, args.sr, subtype=args.subtype,
                            overwrite=args.overwrite, normalize=False, out_sr=out_sr)
        audio.write_json(paths[2], report, overwrite=args.overwrite)
    for method, r in report["results"].items():
        log(args, f"{method}: spectral convergence {r['spectral_convergence']:.4f}, "
                   f"{r['wall_time_s']:.1f} s")
    print(prefix)
    if report["interrupted"] or interrupt.received():
        print(f"{PROG}: interrupted ({interrupt.name(interrupt.signum_of(None))}): wrote "
              f"{', '.join(report['outputs'])}", file=sys.stderr)
        return interrupt.exit_status()
    return 0


def run_bench(args: BenchConfig) -> None:
    harness.main(args)
