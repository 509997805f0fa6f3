"""The batch manifest: a CSV whose rows are parsed once, each by its command's own parser
into that command's arguments, all checked before any job starts; a job carries the
arguments' fields, which the job server (engine/cli/job.py) runs as they are.

Columns: mode (transfer | texture | separate), content (for separate: the mix), style (a path,
several as PATH[:WEIGHT];PATH[:WEIGHT]; for separate NAME=PATH;NAME=PATH), output (a name
inside OUTDIR), and any option of the mode as a column named like its flag without the
dashes. The option columns come from the modes' own argument dataclasses, so a flag added to
a command is a manifest column at once. Rows are counted like the file's lines (header = 1).
"""
import argparse
import csv
import json
import os
from dataclasses import asdict
from functools import partial
from pathlib import Path

from randstyle.engine import presets
from randstyle.engine.audio import FORMATS, weighted_spec
from randstyle.engine.batch.runner import VOLATILE, Job
from randstyle.engine.cli.common import PROG, Parser, gather
from randstyle.engine.cli.style import TextureArgs, TransferArgs
from randstyle.engine.cli.tools import SEPARATE_ARGS, separate_args
from randstyle.engine.errors import ParameterError
from randstyle.engine.run.session import engine_config

MODES = ("transfer", "texture", "separate")
FIXED = ("mode", "content", "style", "output")
# Flags the batch sets itself; as columns they would fight it.
RESERVED = {"output", "overwrite", "quiet", "resume", "threads", "html", "style", "source"}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class RowParser(Parser):
    """A command's own parser for a manifest row: a bad value raises instead of exiting, and
    repeated --style/--source are gathered as engine.cli.main gathers them."""

    def __init__(self, cls: type, mode: str) -> None:
        super().__init__(cls, prog=f"{PROG} {mode}")
        self.repeated = "--source" if mode == "separate" else "--style"

    def error(self, message: str) -> None:
        raise ParameterError(message)

    def parse(self, argv: list) -> tuple:
        argv = gather(argv, self.repeated)
        return self.parse_args(argv), self.explicit(argv)


class SeparateRowParser:
    """separate's rows: its columns those of every method, a row parsed by its --method's
    arguments (engine/cli/tools.py: separate_args)."""

    selects = ("method",)  # the column that picks the arguments class: with every check

    def __init__(self) -> None:
        self.parsers = {m: RowParser(cls, "separate") for m, cls in SEPARATE_ARGS.items()}
        seen, self._actions = set(), []
        for parser in self.parsers.values():
            for action in parser._actions:
                if action.dest not in seen:
                    seen.add(action.dest)
                    self._actions.append(action)

    def parse(self, argv: list) -> tuple:
        return RowParser(separate_args(argv), "separate").parse(argv)


# Each mode's row parser: the command's own arguments class (engine/cli/style.py, tools.py).
PARSERS = {"transfer": partial(RowParser, TransferArgs, "transfer"),
           "texture": partial(RowParser, TextureArgs, "texture"),
           "separate": SeparateRowParser}


def _parse(mode: str, argv: list) -> tuple:
    return PARSERS[mode]().parse(argv)


def option_columns(mode: str) -> dict:
    """{column: argparse action} of the mode's flags that a manifest may set."""
    parser = PARSERS[mode]()
    columns = {}
    for action in parser._actions:
        longs = [s for s in action.option_strings if s.startswith("--")]
        if not longs or isinstance(action, argparse._HelpAction):
            continue
        name = longs[0][2:]
        if name not in RESERVED:
            columns[name] = action
    return columns


def _fail(row: int, column: str, message: str) -> ParameterError:
    return ParameterError(f"manifest row {row}, column {column}: {message}")


def _path(value: str, base: Path) -> str:
    return os.path.abspath(os.path.join(base, os.path.expanduser(value)))


def _style_args(value: str, row: int, base: Path) -> tuple:
    """(argv, inputs) of a transfer/texture style cell: PATH[:WEIGHT];PATH[:WEIGHT]."""
    argv, inputs = [], {}
    specs = [s.strip() for s in value.split(";") if s.strip()]
    for i, spec in enumerate(specs):
        try:
            path, weight = weighted_spec(spec)
        except ParameterError as exc:
            raise _fail(row, "style", str(exc)) from None
        suffix = "" if weight is None else f":{spec.rpartition(':')[2]}"
        full = _path(path, base)
        argv += ["--style", full + suffix]
        inputs["style" if len(specs) == 1 else f"style {i + 1}"] = full
    return argv, inputs


def _source_args(value: str, row: int, base: Path) -> tuple:
    """(argv, inputs) of a separate style cell: NAME=PATH;NAME=PATH (two or more)."""
    argv, inputs = [], {}
    for spec in (s.strip() for s in value.split(";") if s.strip()):
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not sep or not name or not path.strip():
            raise _fail(row, "style", f"separate needs NAME=PATH;NAME=PATH, got {spec!r}")
        if not all(ch.isalnum() or ch in "-_" for ch in name):
            raise _fail(row, "style", f"source name {name!r} may hold only letters, digits, "
                                      "- and _")
        if name in inputs:
            raise _fail(row, "style", f"source name {name!r} is given twice")
        inputs[name] = _path(path.strip(), base)
        argv += ["--source", f"{name}={inputs[name]}"]
    if len(inputs) < 2:
        raise _fail(row, "style", "separate needs two or more sources: NAME=PATH;NAME=PATH")
    return argv, {f"source {n}": p for n, p in inputs.items()}


def _inputs_argv(mode: str, cells: dict, row: int, base: Path) -> tuple:
    content, style = cells.get("content", ""), cells.get("style", "")
    if mode == "texture" and content:
        raise _fail(row, "content", "texture takes no content; leave it empty")
    if mode != "texture" and not content:
        raise _fail(row, "content", f"{mode} needs a {'mix' if mode == 'separate' else 'content'}"
                                    " file")
    if not style:
        raise _fail(row, "style", f"{mode} needs {'sources' if mode == 'separate' else 'a style'}")
    if mode == "separate":
        argv, inputs = _source_args(style, row, base)
        mix = _path(content, base)
        return [mix, *argv], {"mix": mix, **inputs}
    argv, inputs = _style_args(style, row, base)
    if mode == "transfer":
        full = _path(content, base)
        return [full, *argv], {"content": full, **inputs}
    return argv, inputs


def _option_argv(column: str, action: argparse.Action, value: str, row: int) -> list:
    flag = "--" + column
    if action.nargs == 0:  # an on/off flag
        if value.lower() in TRUE:
            return [flag]
        if value.lower() in FALSE:
            return []
        raise _fail(row, column, f"expected true or false, got {value!r}")
    return [flag, value]


def _check_output(value: str, mode: str, row: int, taken: dict) -> str:
    if not value:
        raise _fail(row, "output", "give the output's name inside OUTDIR")
    p = Path(value)
    if p.is_absolute() or ".." in p.parts:
        raise _fail(row, "output", f"must be a name inside OUTDIR, got {value!r}")
    if mode != "separate" and p.suffix.lower() not in FORMATS:
        raise _fail(row, "output", f"{mode} writes a {', '.join(FORMATS)} file, got {value!r}")
    if mode == "separate" and p.suffix:
        raise _fail(row, "output", f"separate writes a folder; give a name without a suffix, "
                                   f"got {value!r}")
    key = str(p.with_suffix("")).lower()
    if key in taken:
        raise _fail(row, "output", f"{value!r} is also the output of row {taken[key]}")
    taken[key] = row
    return str(p)


def parsed(mode: str, argv: list) -> tuple:
    """(the arguments' fields as the command parsed argv, the fields given, the report
    "config" that a run of them writes less what may change between runs): the expected
    config with the preset applied as the command applies it."""
    args, explicit = _parse(mode, argv)
    fields = json.loads(json.dumps(asdict(args)))
    return fields, sorted(explicit), expected_config(args, explicit, mode)


def expected_config(args: object, explicit: set, mode: str) -> dict:
    """The report "config" of a run of ``args``, less what may change between runs."""
    preset = getattr(args, "preset", None)
    if preset:
        presets.apply(args, preset, explicit, mode)
    # the report's config: the engine's fields only (a separation's: its method's)
    if mode in ("transfer", "texture"):
        args = engine_config(mode, args)
    elif hasattr(args, "config"):
        args = args.config()
    config = json.loads(json.dumps(asdict(args)))
    return {k: v for k, v in config.items() if k not in VOLATILE}


def _job(row: int, cells: dict, base: Path, taken: dict) -> Job:
    mode = cells.get("mode", "")
    if mode not in MODES:
        raise _fail(row, "mode", f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    columns = option_columns(mode)
    output = _check_output(cells.get("output", ""), mode, row, taken)
    inputs_argv, inputs = _inputs_argv(mode, cells, row, base)
    argv, options = list(inputs_argv), {}
    for column, value in cells.items():
        if column not in FIXED and value and column not in columns:
            raise _fail(row, column, f"{mode} has no option --{column}")
    selects = getattr(PARSERS[mode](), "selects", ())
    lead = [t for c in selects if cells.get(c) for t in
            _option_argv(c, columns[c], cells[c], row)]
    for column, value in cells.items():
        if column in FIXED or not value:
            continue
        tokens = _option_argv(column, columns[column], value, row)
        try:  # each value alone first (with what picks the options), so the error names it
            _parse(mode, inputs_argv + lead + tokens)
        except ParameterError as exc:
            raise _fail(row, column, str(exc)) from None
        argv += tokens
        options[column] = value
    try:  # then together: checks across options (--fmin < --fmax, ...)
        fields, explicit, expected = parsed(mode, argv)
    except ParameterError as exc:
        named = [c for c in options if f"--{c}" in str(exc)]
        raise _fail(row, named[0] if named else "options", str(exc)) from None
    return Job(row=row, mode=mode, output=output, fields=fields, explicit=explicit,
               options=options, inputs=inputs, expected=expected)


def _column(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def read(path: str) -> list:
    """The jobs of the manifest at ``path``, each row checked by its command's own parser
    (``parsers``: {mode: factory}, handed by the CLI); ParameterError naming the row and column
    of the first problem."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"manifest not found: {path}")
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header:
                raise ParameterError(f"manifest {path} is empty; it needs a header row")
            columns = [_column(h) for h in header]
            for name in ("mode", "output"):
                if name not in columns:
                    raise _fail(1, name, "missing; the header needs mode, content, style, "
                                         "output and any option columns")
            dupes = [c for c in columns if columns.count(c) > 1]
            if dupes:
                raise _fail(1, dupes[0], "appears twice in the header")
            if "" in columns:
                raise _fail(1, str(columns.index("") + 1), "a header cell is empty")
            known = set(FIXED).union(*(option_columns(m) for m in MODES))
            unknown = [c for c in columns if c not in known]
            if unknown and unknown[0] in RESERVED:
                raise _fail(1, unknown[0], f"the batch sets --{unknown[0]} itself; not a "
                                           "manifest column")
            if unknown:
                raise _fail(1, unknown[0], "no mode has this option")
            jobs, taken = [], {}
            for values in reader:
                row = reader.line_num
                if not any(v.strip() for v in values):
                    continue  # blank line
                if len(values) > len(columns):
                    raise _fail(row, str(len(columns) + 1), "more cells than header columns")
                cells = {c: v.strip() for c, v in zip(columns, values)}
                jobs.append(_job(row, cells, p.parent, taken))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ParameterError(f"cannot read manifest {path} as CSV: {exc}") from None
    if not jobs:
        raise ParameterError(f"manifest {path} has no rows")
    return jobs
