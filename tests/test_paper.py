"""The paper's capabilities: rhythm branch, residual stack, balancing, L1, mel content,
different lengths, naive separation and the reconstruction experiment."""
import json

import numpy as np
import pytest
import soundfile as sf
from helpers import FEW_SHIFT_FILTERS, SMALL, rel_error, write

import engine
from engine.cli import main
from engine.demo import drum_loop, plucked_melody
from engine.run.reconstruct import griffin_lim, reconstruct, spectral_convergence
from engine.signal import stft_magnitude

SR = SMALL["sr"]
FAST = dict(SMALL, rhythm_filters=64, backend="cpu", progress=False)


def chord(seconds, root=220.0, phases=(0, 1, 2, 3)):
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * root * r * t + p) for r, p in zip([1, 1.25, 1.5, 2.0], phases))
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def term_grad_norms(obj, x):
    """The norm of each weighted loss term's gradient with respect to x."""
    _, term_grads, caches = obj._forward(x)
    return {t: np.linalg.norm(obj._backward(g, caches)) for t, g in term_grads.items()}


def test_balancing_equalizes_gradient_norms():
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    content, style = plucked_melody(1.5, SR), drum_loop(2.0, SR)
    obj = engine.Objective(net, content=content, style=style, style_weight=3.0,
                           rhythm_weight=0.5)
    x0 = np.random.default_rng(0).standard_normal(len(content)) * 0.01
    factors = obj.balance(x0)
    assert set(factors) == {"harmonic", "rhythm"} and all(f > 0 for f in factors.values())
    norms = term_grad_norms(obj, x0)
    # After balancing, each style term's gradient norm is its user weight times the content's.
    assert abs(norms["style_harmonic"] / norms["content"] - 3.0) < 1e-9
    assert abs(norms["style_rhythm"] / norms["content"] - 0.5) < 1e-9


def test_style_only_balances_against_harmonic():
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    obj = engine.Objective(net, style=drum_loop(2.0, SR))
    x0 = np.random.default_rng(1).standard_normal(8000) * 0.01
    factors = obj.balance(x0)
    assert factors["harmonic"] == 1.0 and factors["rhythm"] != 1.0
    norms = term_grad_norms(obj, x0)
    n_h, n_r = norms["style_harmonic"], norms["style_rhythm"]
    assert abs(n_r / n_h - 1.0) < 1e-9


def test_weight_zero_drops_the_branch():
    net = engine.Network(engine.NetworkConfig(**SMALL))
    obj = engine.Objective(net, style=drum_loop(2.0, SR), rhythm_weight=0.0)
    assert obj.style_branches == ["harmonic"] and "rhythm" not in obj.style_grams
    terms, _ = obj.terms_and_grad(np.random.default_rng(0).standard_normal(8000) * 0.1)
    assert "style_rhythm" not in terms and terms["style"] == terms["style_harmonic"]


def test_residual_stack_grams_per_layer():
    # The paper's widths: 4096 filters for one rhythm layer, 2048 with residual blocks.
    assert engine.NetworkConfig().rhythm_channels == 4096
    assert engine.NetworkConfig(n_resid=2).rhythm_channels == 2048
    net = engine.Network(engine.NetworkConfig(**{**SMALL, "rhythm_filters": 32}, n_resid=3,
                                              resid_kernel_size=5))
    grams = net.grams(drum_loop(2.0, SR), ("rhythm",))["rhythm"]
    assert len(grams) == 4 and all(G.shape == (32, 32) for G in grams)


@pytest.mark.parametrize("style_seconds", [1.0, 5.0])  # shorter and longer than the content
def test_transfer_with_style_of_another_length(style_seconds):
    content = plucked_melody(2.0, SR)
    signal, report = engine.transfer(content, drum_loop(style_seconds, SR),
                                     engine.TransferConfig(**FAST, maxiter=15))
    assert signal.shape == content.shape
    assert report["final_loss"]["style"] < report["initial_loss"]["style"]


def test_gram_of_stationary_signal_barely_changes_when_doubled():
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(int(16 * SR)) * 0.1  # stationary: white noise
    short = net.grams(noise[:8 * SR], ("harmonic", "rhythm"))
    long = net.grams(noise, ("harmonic", "rhythm"))
    for b in ("harmonic", "rhythm"):
        # Measured 0.8% (harmonic) and 0.2% (rhythm) relative error; a Gram that scaled with
        # length would be off by 33% (normwise), the Gram of a drum loop is off by 86-93%.
        assert rel_error(short[b][0], long[b][0]) < 0.03, b


def test_l1_penalty_lowers_log_magnitude():
    content, style = plucked_melody(1.5, SR), drum_loop(2.0, SR)
    runs = {}
    for w in (0.0, 10.0):
        signal, report = engine.transfer(content, style, engine.TransferConfig(
            **FAST, maxiter=20, l1_weight=w))
        runs[w] = np.log1p(stft_magnitude(signal, SMALL["n_fft"], SMALL["hop_length"])).sum()
        assert report["config"]["l1_weight"] == w
    assert "l1" in report["final_loss"]
    assert runs[10.0] < runs[0.0]


def test_mel_content_uses_its_own_mel_size():
    cfg = engine.NetworkConfig(**SMALL, content_features="mel", content_n_mels=16)
    net = engine.Network(cfg)
    assert net.content_branch == "content_mel"
    assert net.branches["content_mel"].mel_basis.shape == (16, 129)
    assert net.branches["rhythm"].mel_basis.shape == (8, 129)
    same = engine.Network(engine.NetworkConfig(**SMALL, content_features="mel",
                                               content_n_mels=8))
    assert same.content_branch == "rhythm" and "content_mel" not in same.branches


def test_mel_content_is_key_invariant_where_harmonic_is_not():
    """A melody and the same melody a semitone up: their mel-feature content distance is a
    small fraction of the harmonic one (both relative to the features' size)."""
    t = np.arange(2 * SR) / SR
    tone = lambda f: np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * 2 * t))  # noqa: E731
    a, b = tone(440.0), tone(440.0 * 2 ** (1 / 12))
    dist = {}
    for features in ("harmonic", "mel"):
        net = engine.Network(engine.NetworkConfig(**SMALL, content_features=features,
                                                  content_n_mels=4, dtype="float64"))
        br = net.content_branch
        fa, fb = net.features(a, (br,))[br][-1], net.features(b, (br,))[br][-1]
        dist[features] = np.linalg.norm(fa - fb) / np.linalg.norm(fa)
    assert dist["mel"] < 0.5 * dist["harmonic"], dist


def test_separate_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "mix.wav", drum_loop(2.0, SR) + chord(2.0), SR)
    write(tmp_path / "d.wav", drum_loop(2.0, SR, seed=4), SR)
    write(tmp_path / "p.wav", chord(2.0, phases=(1, 1, 1, 1)), SR)
    opts = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
            "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet",
            "--method", "statistics", *FEW_SHIFT_FILTERS]
    assert main(["separate", "mix.wav", "--source", "drums=d.wav", "--source", "pad=p.wav",
                 *opts]) == 0
    assert capsys.readouterr().out.strip() == "mix_separated"
    report = json.load(open("mix_separated/separation.json"))
    assert report["sources"] == ["drums", "pad"] and "mix_residual_rel" in report
    a, sr = sf.read("mix_separated/drums.wav")
    b, _ = sf.read("mix_separated/pad.wav")
    assert sr == 8000 and len(a) == len(b) == 16000
    for bad in (["--source", "drums=d.wav"], ["--source", "drums", "--source", "pad=p.wav"],
                ["--source", "d=d.wav", "--source", "d=p.wav"],
                ["--source", "a/b=d.wav", "--source", "pad=p.wav"]):
        assert main(["separate", "mix.wav", *bad, *opts]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    # Options of the style modes that mean nothing here are refused, not silently ignored...
    sources = ["--source", "drums=d.wav", "--source", "pad=p.wav"]
    for flag in (["--init", "noise"], ["--bounds"], ["--eval-every", "2"]):
        assert main(["separate", "mix.wav", *sources, *opts, *flag, "-o", "x"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and flag[0] in err and not (tmp_path / "x").exists()
    # Each method refuses the other's options: the optimizer's mean nothing to the dictionary
    # method, the dictionaries' nothing to the statistics.
    for method, flag in (("dictionary", ["--patience", "1"]), ("dictionary", ["--n-filters", "8"]),
                         ("statistics", ["--components", "8"])):
        assert main(["separate", "mix.wav", *sources, "--sr", "8000", "--quiet", "--method",
                     method, *flag, "-o", "x"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and flag[0] in err and not (tmp_path / "x").exists()
    assert main(["separate", "mix.wav", *sources, "--sr", "8000", "--quiet", "--components",
                 "4", "--dictionary-transpose", "0", "-o", "d"]) == 0
    assert json.load(open("d/separation.json"))["method"] == "dictionary"
    # ...and --patience stops the statistics method as it does a transfer.
    assert main(["separate", "mix.wav", *sources, *opts, "--maxiter", "50", "--patience", "1",
                 "--min-improvement", "0.9", "-o", "p"]) == 0
    report = json.load(open("p/separation.json"))
    assert report["stop_reason"].startswith("plateau") and report["nit"] < 50


def test_griffin_lim_converges_on_a_true_magnitude():
    x = plucked_melody(1.0, SR).astype(np.float64)
    mag = stft_magnitude(x, 256, 64)
    sc = [spectral_convergence(griffin_lim(mag, 256, 64, len(x), n, seed=0), mag, 256, 64)
          for n in (0, 30)]
    assert sc[1] < 0.5 * sc[0], sc


def test_reconstruct_reports_both_methods(tmp_path, capsys):
    signals, report = reconstruct(plucked_melody(1.0, SR), **FAST, maxiter=10,
                                  griffin_lim_iters=5)
    for method in ("time", "griffinlim"):
        r = report["results"][method]
        assert 0 < r["spectral_convergence"] < 2 and r["wall_time_s"] > 0
        assert signals[method].shape == (SR,)
    path = write(tmp_path / "c.wav", plucked_melody(1.0, SR), SR)
    prefix = str(tmp_path / "out")
    assert main(["reconstruct", path, "-o", prefix, "--sr", "8000", "--n-fft", "256",
                 "--hop-length", "64", "--n-filters", "32", "--maxiter", "3",
                 "--griffin-lim-iters", "2", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == prefix
    for suffix in ("_time.wav", "_griffinlim.wav", ".json"):
        assert (tmp_path / f"out{suffix}").exists()
    assert main(["reconstruct", path, "-o", prefix, "--quiet"]) == 2  # no clobbering
