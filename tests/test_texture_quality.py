"""Textures from several random networks (engine/model/ensemble.py): the ensemble's gradient,
its members really differ, the wiring in texture(), and bad width options."""

import numpy as np
import pytest
import soundfile as sf
from helpers import SMALL, TINY, numeric_grad, rel_error, sine
from scipy.signal import welch

from randstyle import engine
from randstyle.engine.cli import main
from randstyle.engine.config import NetworkConfig, TextureConfig
from randstyle.engine.demo import drum_loop
from randstyle.engine.model.ensemble import Ensemble, member_configs, spread
from randstyle.engine.model.evaluate import log_mel
from randstyle.engine.run.optimize import lbfgs
from randstyle.engine.run.start import style_noise
from randstyle.kernels.numpy_ref import n_frames

rng = np.random.default_rng(10)


def _members(n: int = 3, **base) -> list:
    return member_configs(NetworkConfig(**{**TINY, "dtype": "float64", **base}), n)


def test_ensemble_gradient_matches_finite_differences():
    style = rng.standard_normal(320) * 0.3
    members = [engine.Objective(engine.Network(c), style=style, rhythm_weight=0.7)
               for c in _members(3)]
    ens = Ensemble(members)
    x = rng.standard_normal(200) * 0.3
    ens.balance(x * 0.1)  # member weights and branch factors: part of the gradient too
    assert len(set(ens.weights)) == 3  # balancing did weigh the members (not all 1)
    value, grad = ens.value_and_grad(x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    assert rel_error(grad, numeric_grad(lambda v: ens.value_and_grad(v)[0], x)) < 1e-6
    # The total is the weighted sum of the members' totals.
    parts = [w * m.value_and_grad(x)[0] for m, w in zip(ens.members, ens.weights)]
    assert value == pytest.approx(sum(parts), rel=1e-12)


def test_members_are_different_networks():
    configs = _members(3, kernel_size=5, rhythm_kernel_size=4)
    assert len({c.seed for c in configs}) == 3
    assert [c.kernel_size for c in configs] == spread(5, 3, 2.2) == [2, 5, 11]
    # Each member its own STFT: halved, kept, doubled, hops in the same ratio; the rhythm
    # conv's frames are the same, so its time span follows the hop.
    assert [(c.n_fft, c.hop_length) for c in configs] == [(16, 4), (32, 8), (64, 16)]
    assert [c.rhythm_kernel_size for c in configs] == [4, 4, 4]
    assert all(c.n_filters == TINY["n_filters"] // 3 for c in configs)
    # Same widths, different seeds: still different weights, so different Grams.
    same = [NetworkConfig(**{**TINY, "dtype": "float64", "seed": c.seed}) for c in configs]
    x = rng.standard_normal(400)
    grams = [engine.Network(c).grams(x, ("harmonic",))["harmonic"][0] for c in same]
    assert min(rel_error(grams[i], grams[j]) for i in range(3) for j in range(i)) > 0.05
    assert member_configs(NetworkConfig(**TINY), 1) == [NetworkConfig(**TINY)]


def test_texture_optimizes_every_network():
    """A default texture runs an Ensemble whose every member's style loss falls."""
    sr = SMALL["sr"]
    style = drum_loop(2.0, sr)
    seen = []
    x, report = engine.texture(style, seconds=1.0, maxiter=15, progress=False,
                               backend="numpy", checkpoint=lambda x, h: seen.append(x),
                               checkpoint_every=15, **SMALL)
    assert report["config"]["networks"] == 3 and len(seen) == 1
    assert {k for k in report["style_weights"]} == {
        f"{b}_{i}" for b in ("harmonic", "rhythm", "spectrum") for i in range(3)}
    cfg = TextureConfig(seconds=1.0, backend="numpy", **SMALL)
    widths = [c.kernel_size for c in member_configs(cfg.network_config(), 3)]
    assert widths == [5, 11, 24]
    x0 = engine.run.modes.initial_signal(len(x), cfg)
    for c in member_configs(cfg.network_config(), 3):
        obj = engine.Objective(engine.Network(c), style=style,
                               spectrum_weight=cfg.spectrum_weight)
        obj.balance(x0)
        start, end = obj.value_and_grad(x0)[0], obj.value_and_grad(x)[0]
        # Measured: each member's loss falls 34-68x; with member 0 alone weighted, the
        # others fall only ~9x (their Grams share the sound's statistics, not enough).
        assert end < start / 20, (c.seed, start, end)


def test_short_texture_caps_the_widths():
    sr = SMALL["sr"]
    # 0.4 s: 47 frames at hop 64 and 22 at the third member's hop 128; 80 fits neither.
    seen = {}
    x, report = engine.texture(drum_loop(2.0, sr), seconds=0.4, maxiter=2, progress=False,
                               backend="numpy", rhythm_widths="10,20,80", **SMALL)
    assert len(x) == int(0.4 * sr) and np.all(np.isfinite(x))
    cfg = TextureConfig(seconds=0.4, rhythm_widths="10,20,80", **SMALL)
    for c in member_configs(cfg.network_config(), 3, None, cfg.member_widths("rhythm"),
                            n_samples=len(x)):
        seen[c.hop_length] = c.rhythm_kernel_size
    assert seen == {32: 10, 64: 20, 128: n_frames(len(x), 512, 128)}
    # A texture shorter than the largest member's STFT is a one-line error, not a crash.
    with pytest.raises(engine.ParameterError, match="n_fft 4096"):
        engine.texture(drum_loop(2.0, sr), seconds=0.4, maxiter=2, progress=False,
                       backend="numpy", n_ffts="128,256,4096", **SMALL)


@pytest.mark.parametrize("flag,value", [("--harmonic-widths", "5,x,9"),
                                        ("--rhythm-widths", "10,20"),
                                        ("--n-ffts", "1024,2048,4095"),
                                        ("--n-ffts", "1024,2048"),
                                        ("--networks", "0")])
def test_bad_ensemble_options_are_one_line_errors(tmp_path, capsys, flag, value):
    style = tmp_path / "s.wav"
    sf.write(str(style), drum_loop(1.0, 8000), 8000)
    out = tmp_path / "t.wav"
    assert main(["texture", str(style), flag, value, "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag.lstrip("-").split("-")[0] in err
    assert not out.exists()


def test_one_network_is_todays_texture():
    """--networks 1: exactly the single-network run (the baseline of bench/texture.py)."""
    sr = SMALL["sr"]
    style = drum_loop(2.0, sr)
    x, report = engine.texture(style, seconds=1.0, maxiter=3, progress=False,
                               backend="numpy", networks=1, init="noise", **SMALL)
    assert set(report["style_weights"]) == {"harmonic", "rhythm", "spectrum"}
    cfg = TextureConfig(seconds=1.0, maxiter=3, progress=False, backend="numpy", **SMALL)
    obj = engine.Objective(engine.Network(cfg.network_config()), style=style,
                           spectrum_weight=cfg.spectrum_weight)
    x0 = engine.run.modes.initial_signal(len(x), cfg)
    obj.balance(x0)
    res = lbfgs(obj, x0, maxiter=3, maxcor=cfg.maxcor, ftol=cfg.ftol, progress=False)
    assert np.array_equal(x, res.x.astype(np.float32))


def test_resumed_ensemble_keeps_its_weights():
    """A resumed texture rebuilds the same members and balances them at the run's own
    starting noise, so it continues the same loss."""
    sr = SMALL["sr"]
    style = drum_loop(2.0, sr)
    kept = {}
    opts = dict(seconds=1.0, progress=False, backend="numpy", **SMALL)
    _, first = engine.texture(style, maxiter=4, checkpoint_every=2, checkpoint=lambda x, h:
                              kept.setdefault(len(h), (x.copy(), [dict(r) for r in h])),
                              **opts)
    x2, h2 = kept[2]
    y, again = engine.texture(style, maxiter=4, resume={"x": x2, "history": h2}, **opts)
    assert again["resumed_at_iteration"] == 2 and again["nit"] == 4
    assert again["balance_factors"] == first["balance_factors"]
    # Its first evaluation, at the checkpointed signal, is the first run's loss there.
    assert again["initial_loss"]["total"] == pytest.approx(first["iterations"][1]["total"],
                                                           rel=1e-6)


def _band_db(x: np.ndarray, sr: int, n_bands: int = 24) -> np.ndarray:
    """Mean power in log-spaced bands (50 Hz to sr/2), dB."""
    f, p = welch(x, fs=sr, nperseg=2048)
    edges = np.geomspace(50, sr / 2, n_bands + 1)
    return np.array([10 * np.log10(p[(f >= a) & (f < b)].mean() + 1e-20)
                     for a, b in zip(edges[:-1], edges[1:])])


def test_style_noise_has_the_styles_spectrum_but_not_its_samples():
    sr = 22050
    style = drum_loop(4.0, sr)
    y = style_noise([(style, 1.0)], 3 * sr, 2048, 512, seed=1)
    band_error = np.abs(_band_db(y, sr) - _band_db(style, sr))
    white = np.random.default_rng(0).standard_normal(3 * sr) * np.std(style)
    assert band_error.max() < 3.0, band_error  # dB; white noise of the same power: > 10
    assert np.abs(_band_db(white, sr) - _band_db(style, sr)).max() > 10
    assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(style ** 2)), rel=0.05)
    # Not a copy: neither its samples nor its frames in order (band-wise centred log-mel).
    assert abs(np.corrcoef(y, style[:len(y)])[0, 1]) < 0.05
    a, b = log_mel(y, sr), log_mel(style[:len(y)], sr)
    a, b = a - a.mean(0), b - b.mean(0)
    assert abs(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))) < 0.2
    assert np.array_equal(y, style_noise([(style, 1.0)], 3 * sr, 2048, 512, seed=1))
    assert not np.allclose(y, style_noise([(style, 1.0)], 3 * sr, 2048, 512, seed=2))


def test_style_noise_mixes_weighted_styles_and_leaves_the_tail_silent():
    sr = 8000
    low, high = sine(2.0, sr, 300.0), sine(1.0, sr, 2000.0)
    y = style_noise([(low, 0.75), (high, 0.25)], 2 * sr + 100, 256, 64, seed=0)
    f, p = welch(y[:2 * sr], fs=sr, nperseg=1024)
    p_low, p_high = p[np.abs(f - 300) < 30].sum(), p[np.abs(f - 2000) < 30].sum()
    assert p_low / p_high == pytest.approx(3.0, rel=0.3)
    covered = (n_frames(len(y), 256, 64) - 1) * 64 + 256
    assert covered < len(y) and not np.any(y[covered:]) and np.all(y[covered - 64:covered])


def test_texture_is_balanced_at_its_own_start():
    """The templates start (texture's default) is where the branches are balanced, as
    bench/texture.py measured it; balanced at the faint seeded noise the factors differ."""
    from randstyle.engine.run.start import init_signal
    sr = SMALL["sr"]
    style = drum_loop(2.0, sr)
    _, report = engine.texture(style, seconds=1.0, maxiter=1, progress=False,
                               backend="numpy", networks=1, **SMALL)
    assert report["init"] == "templates"
    cfg = TextureConfig(seconds=1.0, progress=False, backend="numpy", **SMALL)
    n = int(round(cfg.seconds * cfg.sr))
    obj = engine.Objective(engine.Network(cfg.network_config()), style=style,
                           spectrum_weight=cfg.spectrum_weight)
    at_start = obj.balance(init_signal("templates", n, None, [(style, 1.0)], cfg))
    assert report["balance_factors"] == pytest.approx(at_start, rel=1e-6)
    at_noise = obj.balance(engine.run.modes.initial_signal(n, cfg))
    assert at_noise["rhythm"] != pytest.approx(at_start["rhythm"], rel=1e-2)
