"""The templates start of a texture (engine/run/start.py): each moment one of the
style's typical spectra, in the style's proportions, at its power, and no copy of it."""
import numpy as np
import pytest
from helpers import SMALL
from scipy.signal import fftconvolve

from randstyle import engine
from randstyle.engine.errors import ParameterError
from randstyle.engine.run.start import init_signal, kmeans, run_lengths, style_noise, template_noise
from randstyle.engine.signal import covered, log_frames

SR, N_FFT, HOP = SMALL["sr"], SMALL["n_fft"], SMALL["hop_length"]


def two_notes(seconds: float, share_a: float = 0.75, seed: int = 0) -> np.ndarray:
    """Notes of 500 Hz (a ``share_a`` of the time) and 1500 Hz in random order, 0.25 s each,
    with random phases: a style whose every moment is one note or the other."""
    rng = np.random.default_rng(seed)
    note = int(0.25 * SR)
    t = np.arange(note) / SR
    out = [np.sin(2 * np.pi * (500 if rng.random() < share_a else 1500) * t
                  + rng.uniform(0, 2 * np.pi)) for _ in range(int(seconds / 0.25))]
    return np.concatenate(out) * 0.3


def band_energy(x: np.ndarray) -> tuple:
    """Energy per frame around 500 Hz and around 1500 Hz."""
    mag = np.expm1(log_frames(x, N_FFT, HOP))
    bins = np.fft.rfftfreq(N_FFT, 1 / SR)
    def near(f):  # noqa: E306
        return (mag[:, np.abs(bins - f) < 80] ** 2).sum(1)
    return near(500), near(1500)


def test_each_moment_is_one_of_the_styles_spectra():
    style = two_notes(8.0, share_a=0.5)
    start = template_noise([(style, 1.0)], 3 * SR, N_FFT, HOP, seed=1, k=4)
    noise = style_noise([(style, 1.0)], 3 * SR, N_FFT, HOP, seed=1)

    def single(x):  # frames holding one note (>= 10x the other's energy)
        a, b = band_energy(x)
        return np.mean(np.maximum(a, b) / np.maximum(np.minimum(a, b), 1e-12) > 10)
    # Measured 0.92 (templates; the rest are where two runs overlap) against 0.04 for the
    # long-term-spectrum noise, which holds both notes in every frame.
    assert single(start) > 0.75 and single(noise) < 0.2


def test_the_styles_proportions():
    style = two_notes(8.0, share_a=0.75)
    a, b = band_energy(template_noise([(style, 1.0)], 3 * SR, N_FFT, HOP, seed=1, k=4))
    sa, sb = band_energy(style)
    assert np.mean(a > b) == pytest.approx(np.mean(sa > sb), abs=0.1)


def test_level_tail_seed_and_no_copy():
    style = two_notes(4.0, seed=3)
    n = 2 * SR + 37  # a tail no frame covers
    x = template_noise([(style, 1.0)], n, N_FFT, HOP, seed=5)
    assert len(x) == n and np.all(x[covered(n, N_FFT, HOP):] == 0)
    assert np.sqrt(np.mean(x ** 2)) == pytest.approx(np.sqrt(np.mean(style ** 2)), rel=1e-6)
    # No click at the ends (the written texture is under a true-peak ceiling: a click would make the
    # rest quiet): the peak is a noise peak (measured 3.1x the RMS; with the ends divided
    # by their fading windows, 45x at sample 16).
    assert np.max(np.abs(x)) < 6 * np.sqrt(np.mean(x ** 2))
    np.testing.assert_array_equal(x, template_noise([(style, 1.0)], n, N_FFT, HOP, seed=5))
    assert not np.array_equal(x, template_noise([(style, 1.0)], n, N_FFT, HOP, seed=6))
    # Random phases: no stretch of a noisy style's samples comes back, at any lag: the start
    # correlates with the style no more than other noise of the same kind does (measured
    # 0.53 against 0.58), where a copy correlates 1.
    def hits(seed):  # noise bursts, 4 a second
        return np.random.default_rng(seed).standard_normal(4 * SR) * np.tile(
            np.exp(-np.arange(SR // 4) / 300.0), 16)
    style = hits(1)
    y = template_noise([(style, 1.0)], 2 * SR, N_FFT, HOP, seed=5)
    assert max_correlation(y, style) < max_correlation(hits(5)[:2 * SR], style) + 0.05
    # Each frame its own random phases: with one phase for all, the frames would add up to a
    # buzz at the hop rate (correlation ~1 one hop apart; measured ~0 with random phases).
    lag = np.dot(y[:-HOP], y[HOP:]) / np.dot(y, y)
    assert abs(lag) < 0.3
    assert max_correlation(style[SR:3 * SR], style) > 0.99


def max_correlation(x: np.ndarray, style: np.ndarray, win: int = 4 * HOP) -> float:
    """Largest normalized correlation of any window of x with the style at any lag."""
    energy = np.concatenate([[0], np.cumsum(style ** 2)])
    local = np.sqrt(energy[win:] - energy[:-win]) + 1e-9
    best = 0.0
    for i in range(0, len(x) - win, win):
        w = x[i:i + win]
        if np.linalg.norm(w) < 1e-6:
            continue
        c = fftconvolve(style, w[::-1], mode="valid") / (local * np.linalg.norm(w))
        best = max(best, float(np.abs(c).max()))
    return best


def test_several_styles_by_weight():
    low, high = two_notes(4.0, share_a=1.0), two_notes(4.0, share_a=0.0)
    x = template_noise([(low, 0.8), (high, 0.2)], 4 * SR, N_FFT, HOP, seed=2)
    a, b = band_energy(x)
    assert np.mean(a > b) == pytest.approx(0.8, abs=0.1)


def test_kmeans_and_run_lengths():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.1, (50, 3)), rng.normal(5, 0.1, (30, 3))])
    C = kmeans(X, 2, rng)
    assert sorted(np.round(C[:, 0]).astype(int)) == [0, 5]
    assert list(run_lengths(np.array([1, 1, 2, 2, 2, 1]))) == [2, 3, 1]


def test_texture_takes_templates_and_transfer_refuses_them():
    style = two_notes(2.0)
    cfg = engine.TextureConfig(**SMALL, seconds=1.0)
    start = init_signal("templates", SR, None, [(style, 1.0)], cfg)
    np.testing.assert_array_equal(start, template_noise([(style, 1.0)], SR, N_FFT, HOP,
                                                        seed=cfg.seed + 1))
    x, report = engine.texture(style, seconds=1.0, maxiter=2, init="templates",
                               progress=False, backend="numpy", **SMALL)
    assert report["init"] == "templates"
    with pytest.raises(ParameterError, match="does not fit transfer"):
        engine.transfer(style, style, init="templates", maxiter=1, progress=False,
                        backend="numpy", **SMALL)
