"""Working like a tool: several styles, channels, presets, reproducibility, plots,
checkpoints, --resume and Ctrl-C."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from helpers import SMALL, rel_error, sine, write

import engine
from engine.cli import main
from engine.demo import drum_loop, plucked_melody
from engine.model.style_target import weighted_styles
from engine.run import session as style_module
from engine.run.common import style_grams, style_targets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SR = 8000
FAST = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet"]


@pytest.fixture
def files(tmp_path):
    return {
        "content": write(tmp_path / "content.wav", plucked_melody(1.5, SR), SR),
        "stereo": write(tmp_path / "stereo.wav", np.stack(
            [plucked_melody(1.5, SR), plucked_melody(1.5, SR, seed=3)], axis=1), SR),
        "six": write(tmp_path / "six.wav", np.stack(
            [plucked_melody(1.5, SR, seed=s) for s in range(6)], axis=1), SR),
        "drums": write(tmp_path / "drums.wav", drum_loop(2.0, SR), SR),
        "tone": write(tmp_path / "tone.wav", sine(2.0, SR, 300.0), SR),
    }


def test_weighted_styles_average_grams():
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    a, b = drum_loop(2.0, SR), sine(2.0, SR, 300.0)
    mixed = style_grams(net, weighted_styles([(a, 0.7), (b, 0.3)]), ("harmonic", "rhythm"),
                        False)
    ga, gb = net.grams(a, ("harmonic", "rhythm")), net.grams(b, ("harmonic", "rhythm"))
    for br in ("harmonic", "rhythm"):
        assert rel_error(mixed[br][0], 0.7 * ga[br][0] + 0.3 * gb[br][0]) < 1e-12
    # Weights are relative: 7 and 3 mean the same as 0.7 and 0.3.
    assert [w for _, w in weighted_styles([(a, 7), (b, 3)])] == pytest.approx([0.7, 0.3])
    with pytest.raises(engine.ParameterError):
        weighted_styles([(a, 1.0), (b, 0.0)])


def test_several_styles_in_cli(files, tmp_path, capsys):
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files["content"], "--style", f"{files['drums']}:0.7",
                 "--style", f"{files['tone']}:0.3", "-o", out, *FAST]) == 0
    report = json.load(open(tmp_path / "o.json"))
    assert report["inputs"]["styles"] == [{"path": files["drums"], "weight": 0.7},
                                          {"path": files["tone"], "weight": 0.3}]
    assert main(["texture", "--style", f"{files['drums']}:-1", "-o", str(tmp_path / "t.wav"),
                 *FAST]) == 2
    assert "positive" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_weighted_short_styles_keep_float32_and_a_finite_loss(backend):
    """Two weighted styles short enough for the Gram-free factors: the stacked factor stays
    in the network's dtype (a float64 sqrt(weight) once promoted it, and the cpu loss was
    NaN)."""
    cfg = engine.TransferConfig(**SMALL, backend=backend, maxiter=2, progress=False)
    net = engine.Network(cfg.network_config(), backend=backend)
    styles = weighted_styles([(drum_loop(0.3, SR), 0.7), (sine(0.3, SR, 300.0), 0.3)])
    targets = style_targets(net, styles, ("harmonic", "rhythm"), False)
    factors = [t.factor for layers in targets.values() for t in layers]
    assert any(f is not None for f in factors)  # the Gram-free path is what is tested
    assert all(f.dtype == np.float32 for f in factors if f is not None)
    _, report = engine.transfer(plucked_melody(1.0, SR), styles, cfg)
    assert np.isfinite(report["final_loss"]["total"])


@pytest.mark.parametrize("content,mode,channels_out", [
    ("stereo", "mono", 1), ("stereo", "each", 2), ("stereo", "mid-side", 2),
    ("content", "mid-side", 2), ("six", "each", 6)])
def test_channels(files, tmp_path, content, mode, channels_out):
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files[content], files["drums"], "--channels", mode, "-o", out,
                 *FAST]) == 0
    y, sr = sf.read(out, always_2d=True)
    assert y.shape == (int(1.5 * SR), channels_out) and sr == SR
    report = json.load(open(tmp_path / "o.json"))
    assert report["channels"] == mode
    if content == "content" and mode == "mid-side":  # a mono file has no side: L == R
        assert np.array_equal(y[:, 0], y[:, 1])
        assert report["parts"][1]["skipped"] == "silent"
    elif channels_out > 1:
        assert not np.allclose(y[:, 0], y[:, 1]) and len(report["parts"]) == channels_out


def test_a_signal_between_channels_keeps_the_finished_channel(files, tmp_path, monkeypatch):
    """SIGTERM while the second channel's features are computed: the first channel is written
    and checkpointed, and --resume reuses it and optimizes only the second."""
    real, calls = style_module.transfer, []

    def transfer(*args, **kwargs):
        calls.append(kwargs.get("resume"))
        if len(calls) == 2:  # a real SIGTERM as the second part's setup begins
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends
        return real(*args, **kwargs)

    monkeypatch.setattr(style_module, "transfer", transfer)
    out, ckpt = tmp_path / "o.wav", tmp_path / "o.ckpt.npz"
    # --loudness peak: one plain gain (a limiter's gain would follow the other channel too)
    assert main(["transfer", files["stereo"], files["drums"], "--channels", "each", "-o",
                 str(out), "--subtype", "float", "--loudness", "peak", *FAST]) == 143
    y, _ = sf.read(str(out), always_2d=True)
    assert np.max(np.abs(y[:, 0])) > 0 and not np.any(y[:, 1])  # the unfinished one silent
    assert json.load(open(tmp_path / "o.json"))["interrupted"] and ckpt.exists()

    calls.clear()
    monkeypatch.setattr(style_module, "transfer", lambda *a, **k: (calls.append(1),
                                                                   real(*a, **k))[1])
    assert main(["transfer", "--resume", str(ckpt), "--quiet"]) == 0
    y2, _ = sf.read(str(out), always_2d=True)
    assert len(calls) == 1  # only the second channel ran again
    peak = lambda x: x / np.max(np.abs(x))  # noqa: E731  (the file is scaled by one gain)
    np.testing.assert_allclose(peak(y2[:, 0]), peak(y[:, 0]), atol=1e-6)
    assert np.max(np.abs(y2[:, 1])) > 0
    assert not ckpt.exists()


def test_texture_each_channel_follows_the_style(files, tmp_path):
    out = str(tmp_path / "t.wav")
    assert main(["texture", files["stereo"], "--channels", "each", "--seconds", "1.5",
                 "-o", out, *FAST]) == 0
    assert sf.info(out).channels == 2


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


def test_same_seed_same_bytes(files, tmp_path):
    outs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = str(tmp_path / f"{name}.wav")
        assert main(["transfer", files["content"], files["drums"], "--seed", str(seed),
                     "--backend", "cpu", "-o", out, *FAST]) == 0
        outs.append(open(out, "rb").read())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_plot(files, tmp_path):
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files["content"], files["drums"], "--plot", "-o", out,
                 *FAST]) == 0
    png = open(tmp_path / "o.png", "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_plot_without_matplotlib(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now raises ImportError
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files["content"], files["drums"], "--plot", "-o", out,
                 *FAST]) == 2
    assert "needs matplotlib" in capsys.readouterr().err
    assert not os.path.exists(out)


def test_stdout_holds_only_the_path(files, tmp_path):
    out = str(tmp_path / "o.wav")
    args = [a for a in FAST if a != "--quiet"]
    res = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "transfer",
                          files["content"], files["drums"], "-o", out, *args],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout == out + "\n"
    assert "transfer" in res.stderr and "it/s" in res.stderr  # the progress bar went to stderr


def test_checkpoint_resume_and_sigint(files, tmp_path, capsys):
    out = tmp_path / "long.wav"
    ckpt = tmp_path / "long.ckpt.npz"
    args = [a for a in FAST if a not in ("--maxiter", "3")]
    cmd = [sys.executable, os.path.join(ROOT, "cli.py"), "transfer", files["content"],
           files["drums"], "-o", str(out), "--checkpoint-every", "2", "--maxiter", "100000",
           "--ftol", "1e-30", "--patience", "0", "--style-kind", "none", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert ckpt.exists(), "no checkpoint within 60 s"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr and stdout.strip() == str(out)
    y, sr = sf.read(str(out))
    assert len(y) == int(1.5 * SR) and np.all(np.isfinite(y)) and np.max(np.abs(y)) > 0
    report = json.load(open(tmp_path / "long.json"))
    assert report["interrupted"] and report["nit"] >= 2
    done = report["nit"]

    # A resumed run may not change the network (given no iterations left, a run that took
    # the change anyway ends at once, not after the checkpoint's 100000)...
    assert main(["transfer", "--resume", str(ckpt), "--n-filters", "64", "--maxiter",
                 str(done)]) == 2
    assert "--n-filters cannot change" in capsys.readouterr().err and ckpt.exists()
    # ...but continues from where it stopped, with the same options and output.
    assert main(["transfer", "--resume", str(ckpt), "--maxiter", str(done + 3),
                 "--quiet"]) == 0
    report = json.load(open(tmp_path / "long.json"))
    assert not report["interrupted"] and report["resumed_at_iteration"] == done
    assert report["nit"] == done + 3 and len(report["iterations"]) == done + 3
    assert not ckpt.exists()  # finished: the checkpoint is gone


def test_resume_rejects_a_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "x.ckpt.npz"
    bad.write_bytes(b"not a checkpoint")
    assert main(["transfer", "--resume", str(bad)]) == 2
    assert "not a randstyle checkpoint" in capsys.readouterr().err
    assert main(["texture", "--resume", str(tmp_path / "missing.ckpt.npz")]) == 2


def test_checkpoint_round_trip_and_a_foreign_format(tmp_path, monkeypatch):
    """What a checkpoint holds comes back whole (the finished channels, the current signal,
    its history, the options); a checkpoint of another format is refused in one line."""
    from engine.errors import ParameterError
    from engine.run import checkpoint
    path = str(tmp_path / "o.ckpt.npz")
    parts = [np.linspace(-1, 1, 50, dtype=np.float32), np.full(50, 0.25, dtype=np.float32)]
    x, history = np.random.default_rng(0).standard_normal(50), [{"iter": 1, "total": 2.5}]
    checkpoint.save(path, command="transfer", args={"maxiter": 7}, parts_done=parts,
                    part_reports=[{"part": 0}, {"part": 1}], x=x, history=history)
    state = checkpoint.load(path)
    assert state["command"] == "transfer" and state["args"] == {"maxiter": 7}
    assert len(state["parts_done"]) == 2 and state["history"] == history
    for got, want in zip(state["parts_done"], parts):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(state["x"], x)  # float64 kept: resuming is exact
    assert state["part_reports"] == [{"part": 0}, {"part": 1}]
    monkeypatch.setattr(checkpoint, "FORMAT", 2)  # written by a later version
    checkpoint.save(path, command="transfer", args={}, parts_done=[], part_reports=[], x=x,
                    history=[])
    monkeypatch.setattr(checkpoint, "FORMAT", 1)
    with pytest.raises(ParameterError, match="unsupported checkpoint format 2"):
        checkpoint.load(path)
