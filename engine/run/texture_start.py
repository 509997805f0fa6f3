"""A texture's start: noise with the style's long-term spectrum (not its samples or frames).

Measured with bench/texture.py (3 s textures of 6 s styles, distance under the independent
evaluation network): from here a texture is, after 10 iterations, about as close to its
style as from faint white noise after ~80 (drums), closer than after 100 (chord pad). The
noise has random phases throughout, so nothing of the style's order in time is copied: the
optimizer still has to make the events, only the average colour is given.

Also the pieces every start shares (engine/run/start.py, texture_templates.py): how many
samples the frames cover, and the level of the styles.
"""
from __future__ import annotations

import numpy as np

from kernels.numpy_ref import n_frames


def style_noise(styles: list, n_samples: int, n_fft: int, hop_length: int,
                seed: int = 0) -> np.ndarray:
    """Gaussian noise whose power spectrum is the weighted average of the styles' (each
    style's |rfft|^2 / length, interpolated onto the output's frequency grid) and whose
    power is the weighted average of theirs; ``styles`` = [(signal, weight), ...] with
    weights summing to 1. Samples that no STFT frame covers are zero (as for the noise
    start: no gradient reaches them)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n_samples)
    for x, w in styles:
        x = np.asarray(x, dtype=np.float64)
        m = max(n_samples, len(x))  # at the style's own grid when the texture is shorter
        power = np.abs(np.fft.rfft(x)) ** 2 / len(x)
        grid = np.interp(np.fft.rfftfreq(m), np.fft.rfftfreq(len(x)), power)
        y = np.fft.irfft(np.fft.rfft(rng.standard_normal(m)) * np.sqrt(grid), m)[:n_samples]
        out += np.sqrt(w) * y * (rms(x) / max(rms(y), 1e-30))
    out[covered(n_samples, n_fft, hop_length):] = 0.0
    return out


def covered(n_samples: int, n_fft: int, hop_length: int) -> int:
    """How many leading samples the STFT frames cover (the rest gets no gradient)."""
    T = n_frames(n_samples, n_fft, hop_length)
    return (T - 1) * hop_length + n_fft if T else 0


def rms(x: np.ndarray) -> float:
    """Root mean square, in float64."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def at_style_level(x: np.ndarray, styles: list) -> np.ndarray:
    """x scaled to the styles' RMS (energy averaged by weight). A Gram grows with the square
    of the level, so a start at the content's own level (the demo melody: 2.8x the drum
    loop's RMS) puts the style term far out on its quartic, and L-BFGS-B spends its first
    iterations bringing the level down (bench/quality.py, README "Quality"). The written
    result is brought to its loudness target (engine/loudness.py), so this level is never
    heard."""
    target = float(np.sqrt(sum(w * rms(s) ** 2 for s, w in styles))) if styles else 0.0
    level = rms(x)
    return x * (target / level) if target > 0 and level > 0 else x
