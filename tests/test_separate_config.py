"""Per-method configs of separate (engine/config.py): each method's class holds its own
options, an option of another method is refused in one line, and a separation's report
carries only its method's fields."""
import json
from dataclasses import fields

import numpy as np
import pytest
import soundfile as sf

from randstyle import engine
from randstyle.engine.cli import main, manifest
from randstyle.engine.config import DictionaryConfig, SeparateConfig, StatisticsConfig
from randstyle.engine.demo import drum_loop, plucked_melody

SR = 8000
QUICK = {"components": 4, "dictionary_iter": 5, "fit_iter": 5, "dictionary_transpose": 0,
         "mask_n_fft": 256, "mask_hop_length": 64, "backend": "numpy", "sr": SR}


def names(cls: type) -> set:
    return {f.name for f in fields(cls)}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    melody, drums = plucked_melody(1.0, SR), drum_loop(1.0, SR)
    for name, x in (("melody", melody), ("drums", drums), ("mix", melody + drums)):
        sf.write(str(d / f"{name}.wav"), x, SR)
    return d


def test_each_method_is_its_own_class_holding_only_its_options():
    dictionary, statistics = SeparateConfig(), SeparateConfig(method="statistics")
    assert type(dictionary) is DictionaryConfig and type(statistics) is StatisticsConfig
    assert {"components", "beta", "rest"} <= names(DictionaryConfig)
    assert not {"maxiter", "n_filters", "style_weight", "shift_weight"} & names(DictionaryConfig)
    assert not {"components", "rest", "init", "spectrum_weight"} & names(StatisticsConfig)
    shared = names(SeparateConfig)
    assert {"method", "mask_n_fft", "sr", "seed", "backend"} <= shared
    assert shared <= names(DictionaryConfig) & names(StatisticsConfig)


@pytest.mark.parametrize("method,option", [("dictionary", "shift_weight"),
                                           ("dictionary", "maxiter"),
                                           ("statistics", "components")])
def test_the_api_refuses_another_methods_option(method, option):
    with pytest.raises(engine.ParameterError,
                       match=f"--{option.replace('_', '-')}: no effect on separate --method "
                             f"{method}"):
        SeparateConfig(method=method, **{option: 2})


def test_a_dictionary_report_holds_the_dictionary_fields_only(clips):
    mix, _ = sf.read(str(clips / "mix.wav"), dtype="float32")
    examples = {n: sf.read(str(clips / f"{n}.wav"), dtype="float32")[0]
                for n in ("melody", "drums")}
    _, report = engine.separate(mix, examples, **QUICK)
    assert set(report["config"]) == names(DictionaryConfig)
    assert report["dtype"] == "float32"


def test_a_statistics_report_holds_the_statistics_fields_only(clips):
    mix, _ = sf.read(str(clips / "mix.wav"), dtype="float32")
    examples = {n: sf.read(str(clips / f"{n}.wav"), dtype="float32")[0]
                for n in ("melody", "drums")}
    _, report = engine.separate(mix, examples, method="statistics", sr=SR, n_fft=256,
                                hop_length=64, n_filters=32, rhythm_filters=32,
                                rhythm_kernel_size=8, shift_filters=32, shift_octaves=1,
                                maxiter=1, mask_n_fft=256, mask_hop_length=64,
                                backend="numpy")
    assert set(report["config"]) == names(StatisticsConfig)


def test_the_commands_report_holds_the_methods_fields_not_its_own(clips, tmp_path, capsys):
    out = tmp_path / "sep"
    argv = ["separate", str(clips / "mix.wav"), "--source", f"melody={clips / 'melody.wav'}",
            "--source", f"drums={clips / 'drums.wav'}", "-o", str(out), "--quiet",
            "--html", *[f"--{k.replace('_', '-')}={v}" for k, v in QUICK.items()]]
    assert main(argv) == 0
    config = json.loads((out / "separation.json").read_text())["config"]
    assert set(config) == names(DictionaryConfig)  # no mix, source, output, html, loudness


@pytest.mark.parametrize("method,flag,value", [("dictionary", "--shift-weight", "2"),
                                               ("dictionary", "--no-balance", None),
                                               ("statistics", "--components", "4"),
                                               ("statistics", "--rest", "other")])
def test_the_command_refuses_another_methods_option_in_one_line(clips, tmp_path, capsys,
                                                                 method, flag, value):
    out = tmp_path / "sep"
    code = main(["separate", str(clips / "mix.wav"), "--method", method, "--source",
                 f"a={clips / 'melody.wav'}", "--source", f"b={clips / 'drums.wav'}",
                 "-o", str(out), flag, *([value] if value else [])])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert f"{flag}: no effect on separate --method {method}" in err[0]
    assert not out.exists()


def test_a_manifest_row_takes_its_methods_options_and_refuses_the_others(tmp_path, clips):
    rows = ["mode,content,style,output,method,shift-weight",
            f"separate,{clips / 'mix.wav'},a={clips / 'melody.wav'};b={clips / 'drums.wav'},"
            "s1,statistics,0.5"]
    path = tmp_path / "ok.csv"
    path.write_text("\n".join(rows) + "\n")
    (job,) = manifest.read(str(path))
    assert set(job.expected) == names(StatisticsConfig) - manifest.VOLATILE
    assert job.expected["shift_weight"] == 0.5
    path.write_text("\n".join([rows[0], rows[1].replace("statistics", "dictionary")]) + "\n")
    with pytest.raises(engine.ParameterError,
                       match="row 2, column shift-weight: --shift-weight: no effect on "
                             "separate --method dictionary"):
        manifest.read(str(path))


def test_the_arrays_sum_to_the_mix_whatever_the_class(clips):
    """The classes changed nothing of the method: the dictionary's sources still sum to the
    mix to float rounding."""
    mix, _ = sf.read(str(clips / "mix.wav"), dtype="float32")
    examples = {n: sf.read(str(clips / f"{n}.wav"), dtype="float32")[0]
                for n in ("melody", "drums")}
    parts, _ = engine.separate(mix, examples, SeparateConfig(**QUICK))
    assert np.allclose(sum(parts.values()), mix, atol=1e-4)


def test_an_unknown_method_is_named_before_any_option_is_judged(clips, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's own exit, as for any bad choice
        main(["separate", str(clips / "mix.wav"), "--method", "nmf", "--shift-weight", "2"])
    code = stop.value.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "invalid choice: 'nmf'" in err[0], err
