"""A run's session (engine/run/session.py): the API runs a transfer or a texture as the CLI
does (channels, loudness, checkpoint and resume), its report holds the engine's config only,
write_wav writes what it is given, and the API's messages name parameters where the CLI's
name flags."""
import json
from dataclasses import fields

import numpy as np
import pytest
import soundfile as sf
from helpers import write

from randstyle import engine
from randstyle.engine.cli import main
from randstyle.engine.cli.common import flagged
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.run import optimize

SR = 8000
FAST = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet"]
CFG = dict(sr=SR, n_fft=256, hop_length=64, n_filters=32, rhythm_filters=16,
           rhythm_kernel_size=10, maxiter=3)
# Long enough a run that an interruption at iteration 2 leaves iterations to resume.
LONGER = ["--maxiter", "5", "--patience", "0", "--ftol", "1e-30"]


@pytest.fixture
def files(tmp_path):
    return {
        "content": write(tmp_path / "content.wav", plucked_melody(1.0, SR), SR),
        "stereo": write(tmp_path / "stereo.wav", np.stack(
            [plucked_melody(1.0, SR), plucked_melody(1.0, SR, seed=3)], axis=1), SR),
        "drums": write(tmp_path / "drums.wav", drum_loop(1.5, SR), SR),
    }


def _cli(args: list, out) -> tuple:
    code = main([*args, "-o", str(out), "--subtype", "float", *FAST])
    return code, sf.read(str(out), dtype="float32", always_2d=True)[0], \
        json.loads(out.with_suffix(".json").read_text())


def test_a_stereo_api_run_is_the_clis(files, tmp_path):
    """transfer_session on a stereo content with channels="mid-side" gives the CLI's stereo
    result for the same seed and options, at the CLI's loudness (match: the content's), and
    both reports hold the same config: the engine's fields, none of the command's."""
    code, written, cli_report = _cli(["transfer", files["stereo"], files["drums"],
                                      "--channels", "mid-side"], tmp_path / "o.wav")
    assert code == 0 and written.shape == (SR, 2)
    content = engine.load(files["stereo"], SR, mono=False)
    style = engine.load(files["drums"], SR, mono=False)
    y, report = engine.transfer_session(content, style, engine.TransferConfig(**CFG),
                                        channels="mid-side")
    assert y.shape == (SR, 2) and not np.allclose(y[:, 0], y[:, 1])
    np.testing.assert_allclose(y, written, rtol=0, atol=1e-5)
    assert report["channels"] == "mid-side" and len(report["parts"]) == 2
    assert report["loudness"]["mode"] == "match"
    assert report["loudness"]["output_lufs"] == pytest.approx(
        engine.loudness.integrated(content, SR), abs=0.2)
    engine_fields = {f.name for f in fields(engine.TransferConfig)}
    assert set(cli_report["config"]) == engine_fields  # no output, overwrite, jobs, ...
    assert json.loads(json.dumps(report["config"])) == cli_report["config"]


def test_engine_transfer_of_a_stereo_signal_runs_as_the_cli(files, tmp_path):
    """engine.transfer given a content with channels (one optimization takes one channel:
    it failed in a compiled kernel) runs the session, as ``randstyle transfer`` does with
    its defaults (mixed down, at the content's loudness) or the channels asked for; a mono
    content is still the one optimization; a one-run keyword on a stereo signal is refused."""
    code, written, _ = _cli(["transfer", files["stereo"], files["drums"]], tmp_path / "o.wav")
    content = engine.load(files["stereo"], SR, mono=False)
    style = engine.load(files["drums"], SR)
    cfg = engine.TransferConfig(**CFG)
    y, report = engine.transfer(content, style, cfg)
    assert code == 0 and y.shape == (SR,) and report["channels"] == "mono"
    np.testing.assert_allclose(y, written[:, 0], rtol=0, atol=1e-5)
    both, report = engine.transfer(content, style, cfg, channels="each")
    assert both.shape == (SR, 2) and len(report["parts"]) == 2
    mono, report = engine.transfer(content[:, 0], style, cfg)
    assert mono.shape == (SR,) and "loudness" not in report  # one optimization, as before
    with pytest.raises(engine.ParameterError, match="resume= is for one mono optimization"):
        engine.transfer(content, style, cfg, resume={"x": mono})


def test_a_texture_session_is_stereo_under_each(files):
    style = engine.load(files["stereo"], SR, mono=False)
    y, report = engine.texture_session(style, engine.TextureConfig(**CFG, seconds=1.0),
                                       channels="each", loudness="peak")
    assert y.shape == (SR, 2) and report["loudness"]["mode"] == "peak"
    assert set(report["config"]) == {f.name for f in fields(engine.TextureConfig)}


def _stop_at_iteration(monkeypatch, n: int) -> None:
    """Ctrl-C (a KeyboardInterrupt) as iteration n's callback ends."""
    real = optimize._Watch.callback

    def callback(self, intermediate_result):
        real(self, intermediate_result)
        if len(self.result.history) == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(optimize._Watch, "callback", callback)


def test_an_api_run_checkpoints_and_resumes_as_the_cli(files, tmp_path, monkeypatch):
    """Stopped at iteration 2, then resumed: the API keeps its checkpoint where it was told,
    resumes from it (resumed_at_iteration 2), removes it once finished, and its result is
    the CLI's after the same stop and --resume."""
    out, ckpt = tmp_path / "o.wav", tmp_path / "o.ckpt.npz"
    _stop_at_iteration(monkeypatch, 2)
    assert main(["transfer", files["content"], files["drums"], "-o", str(out), "--subtype",
                 "float", *FAST, *LONGER]) == 130
    assert ckpt.exists()
    content, style = engine.load(files["content"], SR), engine.load(files["drums"], SR)
    cfg = engine.TransferConfig(**{**CFG, "maxiter": 5, "patience": 0, "ftol": 1e-30})
    api_ckpt = tmp_path / "api.ckpt.npz"
    _, stopped = engine.transfer_session(content, style, cfg, checkpoint=str(api_ckpt))
    assert stopped["interrupted"] and stopped["nit"] == 2 and api_ckpt.exists()
    monkeypatch.undo()

    assert main(["transfer", "--resume", str(ckpt), "--quiet"]) == 0
    resumed_cli = sf.read(str(out), dtype="float32")[0]
    y, report = engine.transfer_session(content, style, cfg, checkpoint=str(api_ckpt),
                                        resume=True)
    assert report["resumed_at_iteration"] == 2 and not report["interrupted"]
    assert report["nit"] == json.loads(out.with_suffix(".json").read_text())["nit"]
    np.testing.assert_allclose(y, resumed_cli, rtol=0, atol=1e-5)
    assert not api_ckpt.exists() and not ckpt.exists()  # finished: they have served


def test_an_api_resume_keeps_the_checkpoints_options(files, tmp_path, monkeypatch):
    content, style = engine.load(files["content"], SR), engine.load(files["drums"], SR)
    cfg = engine.TransferConfig(**{**CFG, "maxiter": 5, "patience": 0, "ftol": 1e-30})
    ckpt = str(tmp_path / "a.ckpt.npz")
    _stop_at_iteration(monkeypatch, 2)
    engine.transfer_session(content, style, cfg, checkpoint=ckpt)
    monkeypatch.undo()
    with pytest.raises(engine.ParameterError, match=r"^n_filters cannot change when resum"):
        engine.transfer_session(content, style, cfg, checkpoint=ckpt, resume=True,
                                n_filters=16)
    with pytest.raises(engine.ParameterError, match="resume needs checkpoint="):
        engine.transfer_session(content, style, cfg, resume=True)


def test_write_wav_writes_what_it_is_given_and_overwrites_by_keyword(tmp_path):
    """The README's example run twice: the second write replaces the first with
    overwrite=True; without it, one message naming the keyword (not the CLI's flag). The
    level is the signal's own (the session's results are at the CLI's loudness)."""
    path = str(tmp_path / "out.wav")
    x = (0.25 * np.sin(np.arange(800) / 5.0)).astype(np.float32)
    for _ in range(2):
        engine.write_wav(path, x, SR, subtype="float", overwrite=True)
    np.testing.assert_array_equal(sf.read(path, dtype="float32")[0], x)
    with pytest.raises(engine.ParameterError, match=r"pass overwrite=True") as err:
        engine.write_wav(path, x, SR)
    assert "--overwrite" not in str(err.value)
    with pytest.raises(engine.ParameterError, match="above full scale.*normalize=True"):
        engine.write_wav(str(tmp_path / "loud.wav"), 5 * x, SR)
    engine.write_wav(str(tmp_path / "loud.wav"), 5 * x, SR, normalize=True)


def test_api_errors_name_parameters_the_cli_its_flags(files, tmp_path, capsys):
    with pytest.raises(engine.ParameterError, match=r"^maxiter must be positive, got 0$"):
        engine.TransferConfig(maxiter=0)
    with pytest.raises(engine.ParameterError, match=r"^channels must be one of"):
        engine.transfer_session(np.ones(SR, np.float32), np.ones(SR, np.float32),
                                engine.TransferConfig(**CFG), channels="left")
    with pytest.raises(engine.ParameterError, match=r"^loudness must be match, peak"):
        engine.texture_session(np.ones(SR, np.float32), engine.TextureConfig(**CFG),
                               loudness="loud")
    assert main(["transfer", files["content"], files["drums"], "--maxiter", "0"]) == 2
    assert "error: --maxiter must be positive, got 0" in capsys.readouterr().err
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files["content"], files["drums"], "-o", out, *FAST]) == 0
    assert main(["transfer", files["content"], files["drums"], "-o", out, *FAST]) == 2
    assert "exists; pass --overwrite to replace it" in capsys.readouterr().err


def test_flagged_says_each_named_parameter_once_as_its_flag():
    err = engine.ParameterError
    assert flagged(err("need 0 <= fmin < fmax <= sr/2 = 4000, got fmin=5, fmax=3",
                       ("fmin", "fmax"))) == \
        "need 0 <= --fmin < --fmax <= sr/2 = 4000, got fmin=5, fmax=3"
    assert flagged(err("networks above 1 needs content_weight above 0 (the style networks "
                       "sit beside it)", ("networks", "content_weight"))) == \
        "--networks above 1 needs --content-weight above 0 (the style networks sit beside it)"
    assert flagged(err("output a.wav exists; pass overwrite=True to replace it",
                       ("overwrite",))) == "output a.wav exists; pass --overwrite to replace it"
    assert flagged(err("maxiter must be positive")) == "maxiter must be positive"  # none named
