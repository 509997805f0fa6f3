"""Every option's validator: one line on stderr and exit 2, the API raising the same."""
import numpy as np
import pytest
from helpers import write

from randstyle.engine.demo import drum_loop, plucked_melody

SR = 8000


def _numeric_options(cls) -> dict:
    """{field: type} of the numeric options of a command's dataclass."""
    from dataclasses import fields
    from typing import Optional
    kinds = {int: int, float: float, Optional[int]: int, Optional[float]: float}
    return {f.name: kinds[f.type] for f in fields(cls) if f.type in kinds}


ZERO_OK = {"n_resid", "seed", "fmin", "init_std", "checkpoint_every", "style_weight",
           "rhythm_weight", "l1_weight", "content_weight", "content_start", "style_start",
           "transpose", "init_mix", "patience", "min_improvement", "eval_every",
           "eval_patience", "eval_min_improvement", "envelope_weight", "shift_weight",
           "dictionary_transpose", "dictionary_harmonic", "style_factor_tol", "autocorr_weight",
           "spectrum_weight", "segment", "overlap", "chroma_weight", "style_transpose",
           "continuity", "dictionary_refine", "chroma_n_fft",
           "dictionary_high_down"}


def _bad_values(cls) -> list:
    """(field, value): NaN and Inf for every float, -1 for every number, 0 where it must be
    positive. No numeric option of these commands accepts any of them."""
    cases = []
    for name, kind in _numeric_options(cls).items():
        if kind is float:
            cases += [(name, "nan"), (name, "inf"), (name, "-inf")]
        cases.append((name, "-1"))
        if name not in ZERO_OK:
            cases.append((name, "0"))
    return cases


def _commands():
    from randstyle.engine.cli.style import TextureArgs, TransferArgs
    from randstyle.engine.cli.tools import DictionaryArgs, ReconstructArgs, StatisticsArgs
    return {"transfer": TransferArgs, "texture": TextureArgs, "separate": DictionaryArgs,
            "separate --method statistics": StatisticsArgs, "reconstruct": ReconstructArgs}


# A field the command has no flag for (NOT_TAKEN: a texture's content features) is not an
# option of it: tests/test_help.py checks that it is refused.
CASES = [(cmd, name, value) for cmd, cls in _commands().items()
         for name, value in _bad_values(cls) if name not in getattr(cls, "NOT_TAKEN", ())]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    return {"c": write(d / "c.wav", plucked_melody(1.5, SR), SR),
            "s": write(d / "s.wav", drum_loop(1.5, SR), SR), "dir": d}


def _tool_cases() -> list:
    from randstyle.engine.bench.harness import BenchConfig
    from randstyle.engine.cli.batch import BatchArgs
    from randstyle.engine.cli.evaluate import EvaluateArgs
    return [(cmd, name, value) for cmd, cls in (("bench", BenchConfig), ("batch", BatchArgs),
                                                ("evaluate", EvaluateArgs))
            for name, value in _bad_values(cls) if name != "long_style_minutes" or value != "0"]


TOOL_CASES = _tool_cases()


def _exit_status(argv: list) -> int:
    """main()'s status; argparse's own errors exit 2 through SystemExit."""
    from randstyle.engine.cli import main
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("command,name,value", CASES,
                         ids=[f"{c}-{n}={v}" for c, n, v in CASES])
def test_every_numeric_option_rejects_a_bad_value(inputs, tmp_path, capsys, command, name,
                                                  value):
    from randstyle.engine.cli import main
    command, *method = command.split()  # each separate method parses its own options
    files = {"transfer": [inputs["c"], inputs["s"]], "texture": [inputs["s"]],
             "separate": [inputs["c"], *method, "--source", f"a={inputs['s']}", "--source",
                          f"b={inputs['c']}"], "reconstruct": [inputs["c"]]}[command]
    out = str(tmp_path / ("out" if command in ("separate", "reconstruct") else "out.wav"))
    flag = f"--{name.replace('_', '-')}"
    # separate's default method takes no --maxiter (and refuses it before some checks)
    short = name == "maxiter" or (command == "separate" and not method)
    code = main([command, *files, "-o", out, f"{flag}={value}", "--quiet"] if short else
                [command, *files, "-o", out, f"{flag}={value}", "--maxiter", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    # audio.cut says "start"/"end" of which file rather than the flag
    cut = name.endswith(("_start", "_end")) and ("start" in err[0] or "end" in err[0])
    assert flag in err[0] or cut, err[0]
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("command,name,value", TOOL_CASES,
                         ids=[f"{c}-{n}={v}" for c, n, v in TOOL_CASES])
def test_the_other_commands_reject_a_bad_number(inputs, tmp_path, capsys, command, name,
                                                value):
    """bench, batch and evaluate: the same one line naming the option, before any work
    (bench's --repeat 0 once failed with a traceback after its setup)."""
    manifest = inputs["dir"] / "jobs.csv"
    manifest.write_text(f"mode,style,output\ntexture,{inputs['s']},t.wav\n")
    before = {"bench": [], "batch": [str(manifest), "-o", str(tmp_path / "out")],
              "evaluate": [inputs["c"], "--style", inputs["s"]]}[command]
    flag = f"--{name.replace('_', '-')}"
    code = _exit_status([command, *before, f"{flag}={value}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and flag in err[0], err
    assert not list(tmp_path.iterdir())


def test_other_validators_reject(inputs, tmp_path, capsys):
    c, s = inputs["c"], inputs["s"]
    out = str(tmp_path / "o.wav")
    for args, words in [
        (["--n-fft", "255"], "--n-fft must be even"),
        (["--fmin", "3000", "--fmax", "2000"], "--fmin < --fmax"),
        (["--fmax", "5000"], "sr/2"),
        (["--dtype", "float16"], "--dtype"),
        (["--backend", "tpu"], "--backend"),
        (["--content-start", "1", "--content-end", "0.5"],
         "--content-start (1.0 s) must be before --content-end"),
        (["--style-start", "99"], "--style-start 99.0 s is past the end of style"),
        (["--style", f"{s}:nan"], "--style weight"),
        (["--style", f"{s}:inf"], "--style weight"),
        (["--style", f"{s}:0"], "--style weight"),
    ]:
        code = _exit_status(["transfer", c, *(["--style", s] if "--style" not in args else []),
                     "-o", out, *args, "--sr", "8000", "--quiet"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and words in err[0], (args, err)
    assert not list(tmp_path.iterdir())


def test_each_remaining_validator_rejects_what_it_must(inputs, tmp_path, capsys):
    """The validators of paths, names, choices and combinations, one value each that must be
    refused: exit 2, one line saying why, nothing written."""
    c, s = inputs["c"], inputs["s"]
    six = write(inputs["dir"] / "six.wav", np.tile(plucked_melody(1.5, SR)[:, None], 6), SR)
    manifest = inputs["dir"] / "jobs.csv"
    manifest.write_text(f"mode,style,output\ntexture,{s},t.wav\n")
    (tmp_path / "file").write_text("x")
    out, sep = str(tmp_path / "o.wav"), str(tmp_path / "sep")
    two = ["--source", f"a={s}", "--source", f"b={c}"]
    run = ["--sr", "8000", "--maxiter", "1", "--quiet"]
    # One network: the default's choice would add members too long for these 1.5 s inputs
    # before the check each row is about.
    one = ["--style-kind", "none"]
    for argv, words in [
        (["transfer", c, s, "-o", str(tmp_path / "o.aiff")], "output must be a .wav, .flac"),
        (["transfer", c, s, "-o", str(tmp_path / "no" / "o.wav")], "does not exist"),
        (["transfer", c, s, "-o", out, "--subtype", "PCM_7"], "--subtype: invalid choice"),
        (["transfer", c, "-o", out], "give both CONTENT and a style"),
        (["transfer", c, s, "-o", out, "--eval-patience", "2"], "--eval-patience needs"),
        (["transfer", six, s, "-o", out, "--channels", "mid-side"],
         "--channels mid-side needs mono or stereo"),
        (["separate", "-o", sep], "required: mix"),
        (["separate", c, "--source", f"a={s}", "-o", sep], "give two or more sources"),
        (["separate", c, "--source", f"a={s}", "--source", f"a={c}", "-o", sep],
         "is given twice"),
        (["separate", c, "--source", f"a b={s}", "--source", f"c={c}", "-o", sep],
         "may hold only letters"),
        (["separate", c, *two, "--reference", f"z={c}", "-o", sep], "names no --source"),
        (["separate", c, *two, "-o", str(tmp_path / "file")], "is not a folder"),
        (["separate", c, *two, "-o", str(tmp_path / "no" / "sep")], "does not exist"),
        # The statistics method: the dictionary one refuses every network option anyway.
        (["separate", c, *two, "-o", sep, "--method", "statistics", "--init", "noise"],
         "--init: no effect on separate"),
        (["separate", c, *two, "-o", sep, "--method", "statistics", "--autocorr-weight", "1"],
         "--autocorr-weight: no effect on separate"),
        (["separate", c, *two, "-o", sep, "--method", "statistics", "--spectrum-weight", "1"],
         "--spectrum-weight: no effect on separate"),
        (["separate", c, *two, "-o", sep, "--transpose", "13"], "--transpose"),
        (["separate", c, *two, "-o", sep, "--mask-hop-length", "5000"], "--mask-hop-length"),
        (["evaluate"], "give the RESULT file"),
        (["evaluate", c], "give --style, --content or --reference"),
        (["evaluate", c, "--style", f"{s}:0"], "style weight must be positive"),
        (["batch"], "give the manifest"),
        (["batch", str(manifest)], "give the output folder"),
        (["batch", str(manifest), "-o", str(tmp_path / "b"), "--scheduler", "localhost"],
         "--scheduler must be an address"),
    ]:
        # separate's default method takes no --maxiter (it would refuse it first)
        extra = {"transfer": run + one, "separate": run[:2] + run[-1:]}.get(argv[0], [])
        code = _exit_status([*argv, *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and words in err[0], (argv, code, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["file"], argv


def test_api_rejects_non_numbers_and_fractions():
    from randstyle import engine
    from randstyle.engine.errors import ParameterError
    for bad in ({"n_filters": 2.5}, {"n_filters": 64.0}, {"hop_length": True},
                {"fmin": float("nan")}):
        with pytest.raises(ParameterError):
            engine.NetworkConfig(**bad)
    with pytest.raises(ParameterError, match="^content_weight must be a finite"):
        engine.TransferConfig(content_weight=float("nan"))
