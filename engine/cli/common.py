"""What every subcommand shares: output naming and checks, logging, the one-line parser."""
import argparse
import difflib
import re
import sys
from dataclasses import field
from pathlib import Path
from typing import Optional

import argparse_dataclass

from randstyle.engine import audio, loudness
from randstyle.engine.config import opt
from randstyle.engine.errors import ParameterError

PROG = "randstyle"
DEMO_SECONDS = {"content": 4.0, "style": 6.0}


# Options a user rarely sets, shown after the others in --help, in two groups.
NETWORK = ("sr", "n_fft", "hop_length", "kernel_size", "n_mels", "fmin", "fmax", "mel_norm",
           "mel_log", "rhythm_filters", "rhythm_kernel_size", "n_resid", "resid_kernel_size",
           "content_features", "content_n_mels", "dtype", "dft")
ADVANCED = ("ftol", "maxcor", "bounds", "init_std", "init_mix", "l1_weight", "balance",
            "patience", "min_improvement", "eval_every", "eval_patience", "checkpoint_every",
            "tf32", "threads", "subtype", "transpose", "statistics", "autocorr_lags",
            "autocorr_branches", "spectrum_bands")
# The network's fields for a content's features: a command with no content (texture,
# separate --method statistics) has no flag for them (Parser: NOT_TAKEN).
CONTENT_ONLY = ("content_features", "content_n_mels")


class Parser(argparse_dataclass.ArgumentParser):
    """The commands' parser: flags from the dataclass, what users set first in --help, the
    network's and the optimizer's internals in groups after it."""

    def __init__(self, options_class: type, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(options_class, *args, **kwargs)
        self._drop(getattr(options_class, "NOT_TAKEN", ()))
        for title, dests in (("network (the random convolutions)", NETWORK),
                             ("advanced (the optimizer and internals)", ADVANCED)):
            group = self.add_argument_group(title)
            for action in [a for a in self._optionals._group_actions if a.dest in dests]:
                self._optionals._group_actions.remove(action)
                group._group_actions.append(action)

    def _drop(self, dests: tuple) -> None:
        """No flag for the fields a command inherits but does not take (a texture has no
        content to put features on): not in its help, and unrecognized if given."""
        self.not_taken = set()
        for action in [a for a in self._actions if a.dest in dests]:
            self.not_taken.update(action.option_strings)
            self._remove_action(action)
            self._optionals._group_actions.remove(action)
            for option in action.option_strings:
                del self._option_string_actions[option]

    def parse_args(self, args=None, namespace=None):
        """The options' dataclass; a value its checks refuse is one ParameterError that says
        the option as its flag (the engine's messages name the config field)."""
        try:
            return super().parse_args(args, namespace)
        except ParameterError as exc:
            raise ParameterError(flagged(exc)) from None

    def error(self, message: str) -> None:  # one line, exit 2, as for every bad input
        given = message.split(":", 1)[1].split() if message.startswith("unrecognized") else []
        inherited = [w.split("=")[0] for w in given if w.split("=")[0] in self.not_taken]
        if inherited:
            self.exit(2, f"{self.prog}: error: {inherited[0]}: no effect on {self.prog.split()[-1]}"
                         " (it has no content)\n")
        self.exit(2, f"{self.prog}: error: {message}{self.suggestion(message)}\n")

    def suggestion(self, message: str) -> str:
        """"; did you mean --maxiter?" for a mistyped flag among unrecognized arguments
        (difflib's close matches, as argparse itself suggests a mistyped choice)."""
        if not message.startswith("unrecognized arguments:"):
            return ""
        flags = [s for a in self._actions for s in a.option_strings if s.startswith("--")]
        for word in message.split(":", 1)[1].split():
            close = difflib.get_close_matches(word.split("=")[0], flags, n=1, cutoff=0.75)
            if word.startswith("--") and close:
                return f"; did you mean {close[0]}?"
        return ""

    def explicit(self, argv: list) -> set:
        """Fields whose flags appear in argv: what presets and --resume must not touch."""
        given = set()
        for action in self._actions:
            for flag in action.option_strings:
                if any(tok == flag or tok.startswith(flag + "=") for tok in argv):
                    given.add(action.dest)
        return given


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def flagged(exc: Exception) -> str:
    """The message of ``exc`` with the parameters it names (ParameterError.params) said as
    the command's flags: ``maxiter must be positive`` -> ``--maxiter must be positive``,
    ``pass overwrite=True`` -> ``pass --overwrite``. Each name's first mention only (a field
    such as ``networks`` can be a plain word later on); ``fmin=3`` (a value) stays."""
    text = str(exc)
    for name in getattr(exc, "params", ()):
        if f"{name}=True" in text:
            text = text.replace(f"{name}=True", flag(name), 1)
            continue
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w=])", flag(name), text, count=1)
    return text


def progress_field() -> bool:
    """The commands' ``progress`` field: on, ``-q`` / ``--quiet`` turns it off (the library's
    configs default to off)."""
    return field(default=True, metadata={
        "args": ["-q", "--quiet"], "help": "no progress output on stderr (default: shown)"})


def log(args, message: str) -> None:
    if args.progress:
        print(f"{PROG}: {message}", file=sys.stderr)


def cut_field(what: str, edge: str) -> Optional[float]:
    word = "from" if edge == "start" else "up to"
    return opt(None, f"cut the {what} {word} this second (default: its {edge})", show=False)


def subtype_field() -> str:
    """--subtype, with its choices from the one table of them (audio.SUBTYPES)."""
    return opt("pcm16", "WAV sample format", choices=list(audio.SUBTYPES))


def note_compiling(args) -> None:
    """One progress line where the run's backend is cpu and its Numba kernels have no
    on-disk cache yet (a first run): the tens of seconds of compiling are not silent."""
    from randstyle import kernels
    if not args.progress or args.backend not in ("auto", "cpu"):
        return
    backend = kernels.get_backend(args.backend)
    if not getattr(backend, "kernels_cached", lambda: True)():
        log(args, "compiling the CPU kernels once (cached for later runs)...")


def output_sr_field() -> Optional[int]:
    """--output-sr: the rate the outputs are written at (the method runs at --sr)."""
    return opt(None, "sample rate of the written audio (default: the input's, as read; the "
                     "method itself runs at --sr and its result is resampled back)",
               show=False)


def output_rate(args, path: Optional[str], what: str) -> int:
    """The rate to write at: --output-sr, else the input file's (a demo: --sr). Says so in a
    progress line where it differs from --sr."""
    if args.output_sr is not None:
        if args.output_sr <= 0:
            raise ParameterError(f"--output-sr must be positive, got {args.output_sr}")
        return args.output_sr
    rate = audio.file_rate(path) if path else args.sr
    if rate != args.sr:
        log(args, f"ran at {args.sr} Hz; writing at the {what}'s {rate} Hz (--output-sr "
                  f"{args.sr} keeps the run's rate)")
    return rate


def loudness_field(stands_for: str) -> str:
    """--loudness: the level the outputs are written at (engine.loudness)."""
    return opt("match", f"match: the integrated loudness (ITU-R BS.1770) of {stands_for}; "
                        "peak: true peak at -1 dBTP; -N: N LUFS. Always under a -1 dBTP true "
                        "peak, by lowering the gain, never clipping", metavar="match|peak|-N",
               type=_loudness_arg)


def _loudness_arg(value: str) -> str:
    """Checked as it is parsed (a batch manifest's column is refused before any job runs);
    kept as written, so reports and checkpoints hold what the user gave."""
    try:
        loudness.parse_mode(value)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(flagged(exc)) from None
    return value


def positional(help: str) -> Optional[str]:
    return field(default=None, metadata={"args": [help.split()[0].lower()], "nargs": "?",
                                         "help": help})


def fresh_stem(stem: str, suffixes: tuple) -> str:
    """``stem``, or the first "stem-N", for which no stem + suffix exists yet."""
    candidate, n = stem, 0
    while any(Path(candidate + s).exists() for s in suffixes):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def check_outputs(paths: list, overwrite: bool) -> None:
    for path in paths:
        audio.check_output(path, overwrite)


def gather(argv: list, flag: str) -> list:
    """Repeated ``flag VALUE`` (or ``flag=VALUE``) pairs gathered into one ``flag V1 V2 ...``,
    since argparse-dataclass has no append action. One value per flag, so the word after it
    stays what it is (``transfer --style drums.wav speech.wav``: speech.wav is the content)."""
    values, rest, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a == flag:
            if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                values.append(argv[i + 1])
                i += 1
            else:
                rest.append(a)  # no value: argparse says so
            i += 1
            continue
        if a.startswith(flag + "="):
            values.append(a.split("=", 1)[1])
        else:
            rest.append(a)
        i += 1
    return rest + ([flag, *values] if values else [])
