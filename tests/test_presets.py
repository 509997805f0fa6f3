"""Presets (engine/presets.py): values, overrides and which command takes which."""
import json

import pytest
from helpers import FAST

from randstyle.engine.cli import main

SR = 8000



def test_presets_and_overrides(files, tmp_path, capsys):
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files["content"], files["drums"], "--preset", "fast",
                 "-o", out, *FAST]) == 0
    report = json.load(open(tmp_path / "o.json"))
    config = report["config"]  # the engine's; the preset's name is the report's own field
    # The preset's n_filters (1024) loses to the explicit --n-filters 32; its rhythm_filters
    # loses too; its maxiter (150) loses to --maxiter 3.
    assert (config["n_filters"], config["maxiter"], report["preset"]) == (32, 3, "fast")
    out2 = str(tmp_path / "o2.wav")
    args = [a for a in FAST if a not in ("--n-filters", "32")]
    assert main(["transfer", files["content"], files["drums"], "--preset", "fast",
                 "-o", out2, *args]) == 0
    assert json.load(open(tmp_path / "o2.json"))["config"]["n_filters"] == 1024
    with pytest.raises(SystemExit):
        main(["transfer", "--help"])
    help_text = capsys.readouterr().out
    assert "paper:" in help_text and "fast: n_filters=1024" in help_text


def test_the_percussive_preset_is_a_transfers_only(files, tmp_path, capsys):
    """--preset percussive sets the band spectrum term and the mel content (an explicit
    --content-weight wins); a texture refuses it in one line, exit 2, writing nothing."""
    out = tmp_path / "p.wav"
    assert main(["transfer", files["content"], files["drums"], "--preset", "percussive",
                 "--content-weight", "2", "-o", str(out), *FAST]) == 0
    config = json.load(open(tmp_path / "p.json"))["config"]
    assert (config["networks"], config["harmonic_filters"], config["content_features"],
            config["content_n_mels"], config["spectrum_weight"], config["content_weight"]) == \
        (3, "fastfood", "mel", 64, 16.0, 2.0)
    capsys.readouterr()
    tex = tmp_path / "t.wav"
    assert main(["texture", files["drums"], "--preset", "percussive", "--seconds", "1",
                 "-o", str(tex), *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--preset percussive is for transfer only" in err[0], err
    assert not tex.exists() and not (tmp_path / "t.json").exists()


def test_each_commands_help_lists_only_its_presets(capsys):
    """texture --help does not offer the transfer-only preset that it refuses; transfer's does."""
    helps = {}
    for command in ("transfer", "texture"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        helps[command] = " ".join(capsys.readouterr().out.split())
    assert "percussive:" in helps["transfer"] and "percussive" not in helps["texture"]
    assert "fast: n_filters=1024" in helps["texture"]
