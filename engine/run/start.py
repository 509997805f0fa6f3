"""Where an optimization starts (``--init``): noise, noise with the style's spectrum, the
content, the content plus noise, the style itself, or the style's spectral templates.

The spectrum start: noise with the style's long-term spectrum (not its samples or frames).

Measured with bench/texture.py (3 s textures of 6 s styles, distance under the independent
evaluation network): from here a texture is, after 10 iterations, about as close to its
style as from faint white noise after ~80 (drums), closer than after 100 (chord pad). The
noise has random phases throughout, so nothing of the style's order in time is copied: the
optimizer still has to make the events, only the average colour is given.

The templates start, from the style's spectral vocabulary: the style's STFT frames are grouped
into k spectra (k-means on log magnitudes); the start plays those spectra at random, each for a
run of frames drawn from how long the style stays with one, as noise with that spectrum (random
phases). So every moment of the start has the spectrum of one of the style's typical moments (a
note, a chord, a hit, a pause) where the long-term-spectrum noise (style_noise) has them all at
once; but nothing of the style's samples, phases or order in time is kept: a statistical model
of the style, like the Grams, not a copy of the recording. The optimizer then makes the events
and their order fit the networks' statistics.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from randstyle.engine.errors import ParameterError
from randstyle.engine.signal import covered, hann_window, log_frames, overlap_add, rms

# The default start per mode, chosen by the quality measure (bench/transfer/quality.py,
# docs/results/quality.md): on 10 s clips a transfer from the content plus noise with the style's
# spectrum, at the style's level, passed the old noise start's 300-iteration result in 0.07x
# (drum style) and 0.20x (chord pad) of its evaluations, closer to the content. For texture
# the templates start (the style's typical spectra played at random) came closest at equal
# CPU time on all three generated styles, under the evaluation network and a second held-out
# one (bench/texture.py, docs/results/textures.md).
DEFAULT_INIT = {"transfer": "mix", "texture": "templates"}
# A texture is a new sound: no start that copies the style's (or a content's) samples or
# time course; templates keeps only spectra and how long each lasts, not their order.
FITS = {"transfer": ("noise", "spectrum", "content", "mix", "style"),
        "texture": ("noise", "spectrum", "templates")}


def resolve_init(kind: str, mode: str) -> str:
    """``kind`` with "auto" replaced by the mode's default; a kind that does not fit the mode
    is a ParameterError."""
    kind = DEFAULT_INIT[mode] if kind == "auto" else kind
    if kind not in FITS[mode]:
        raise ParameterError(f"--init {kind} does not fit {mode}; choose from "
                             f"{', '.join(FITS[mode])}")
    return kind


def initial_signal(n_samples: int, config: Any) -> np.ndarray:
    """Small seeded noise on the samples the frames cover; zeros on the uncovered tail."""
    rng = np.random.default_rng(config.seed + 1)
    x = np.zeros(n_samples)
    n = covered(n_samples, config.n_fft, config.hop_length)
    x[:n] = rng.standard_normal(n) * config.init_std
    return x


def spectrum_noise(n_samples: int, styles: list, config: Any) -> np.ndarray:
    """Stationary noise with the styles' weighted long-term spectrum and power: random
    phases, so nothing of the styles' time course is copied (style_noise, the
    start bench/texture.py measured)."""
    return style_noise(styles, n_samples, config.n_fft, config.hop_length, config.seed + 1)


def init_signal(kind: str, n_samples: int, content: Optional[np.ndarray], styles: list,
                config: Any) -> np.ndarray:
    """The starting signal (float64, ``n_samples``) of a resolved ``kind``; ``styles`` is
    [(signal, weight)] with weights summing to 1."""
    if kind == "noise":
        return initial_signal(n_samples, config)
    if kind == "spectrum":
        return spectrum_noise(n_samples, styles, config)
    if kind == "templates":
        return template_noise(styles, n_samples, config.n_fft, config.hop_length,
                              config.seed + 1)
    if kind == "style":  # the heaviest style, tiled (np.resize repeats it) or cut to length
        heaviest = max(styles, key=lambda pair: pair[1])[0]
        return np.resize(np.asarray(heaviest, dtype=np.float64), n_samples)
    if content is None:
        raise ParameterError(f"--init {kind} needs a content signal")
    x = np.asarray(content, dtype=np.float64).copy()
    if kind == "mix":  # the content plus the spectrum start, the noise at init_mix its RMS
        noise = spectrum_noise(n_samples, styles, config)
        level = rms(noise)
        if level > 0:
            x = x + noise * (config.init_mix * rms(x) / level)
    elif kind != "content":
        raise ParameterError(f"unknown --init {kind!r}")
    return at_style_level(x, styles)


# The spectrum start

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


def at_style_level(x: np.ndarray, styles: list) -> np.ndarray:
    """x scaled to the styles' RMS (energy averaged by weight). A Gram grows with the square
    of the level, so a start at the content's own level (the demo melody: 2.8x the drum
    loop's RMS) puts the style term far out on its quartic, and L-BFGS-B spends its first
    iterations bringing the level down (bench/transfer/quality.py, docs/results/quality.md). The
    written result is brought to its loudness target (engine/loudness.py), so this level is never
    heard."""
    target = float(np.sqrt(sum(w * rms(s) ** 2 for s, w in styles))) if styles else 0.0
    level = rms(x)
    return x * (target / level) if target > 0 and level > 0 else x


# The templates start

N_TEMPLATES = 16
KMEANS_ITERATIONS = 20
MAX_FIT_FRAMES = 4096  # k-means is fitted on at most this many frames, evenly spaced
MIN_RUNS = 8  # runs in a start at least


def nearest(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Index of the nearest row of C for each row of X (squared Euclidean)."""
    d = (C * C).sum(1)[None, :] - 2.0 * X @ C.T
    return d.argmin(1)


def kmeans(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k centers of X's rows (Lloyd's iterations from k distinct rows; an emptied cluster
    keeps its center)."""
    C = X[rng.choice(len(X), size=k, replace=False)].copy()
    for _ in range(KMEANS_ITERATIONS):
        labels = nearest(X, C)
        for j in range(k):
            members = X[labels == j]
            if len(members):
                C[j] = members.mean(0)
    return C


def run_lengths(labels: np.ndarray) -> np.ndarray:
    """Lengths of the runs of equal consecutive labels."""
    edges = np.flatnonzero(np.diff(labels)) + 1
    return np.diff(np.concatenate([[0], edges, [len(labels)]]))


def vocabulary(x: np.ndarray, n_fft: int, hop_length: int, k: int,
               rng: np.random.Generator) -> tuple:
    """(templates as magnitudes (k', bins), how often each is used, run lengths in frames) of
    one style; k' = min(k, frames)."""
    L = log_frames(x, n_fft, hop_length)
    fit = L[np.linspace(0, len(L) - 1, min(len(L), MAX_FIT_FRAMES)).astype(int)]
    C = kmeans(fit, min(k, len(fit)), rng)
    labels = nearest(L, C)
    use = np.bincount(labels, minlength=len(C)) / len(labels)
    return np.expm1(C), use, run_lengths(labels)


def random_phases(templates: np.ndarray, rows: np.ndarray, n_fft: int, hop_length: int,
                  n_samples: int, rng: np.random.Generator, chunk: int = 512) -> np.ndarray:
    """Samples whose frame t has the magnitude ``templates[rows[t]]`` and random phases
    (windowed inverse DFTs, overlap-added, ``chunk`` frames at a time so a long texture
    never holds all its frames at once). Divided by the windows' summed square where the
    frames overlap fully, not at the two ends, where it falls to zero: dividing there would
    blow the first and last samples up into a click (the written texture is kept under a
    true-peak ceiling, so a click left in it makes everything else quiet); the ends fade
    in and out instead."""
    w = hann_window(n_fft)
    out = np.zeros((len(rows) - 1) * hop_length + n_fft)
    for i in range(0, len(rows), chunk):
        mags = templates[rows[i:i + chunk]]
        phase = np.exp(2j * np.pi * rng.random(mags.shape))
        frames = np.fft.irfft(mags * phase, n_fft, axis=1) * w
        span = (len(frames) - 1) * hop_length + n_fft
        out[i * hop_length:i * hop_length + span] += overlap_add(frames, span, hop_length)
    return out[:n_samples] / (np.sum(w * w) / hop_length)


def template_noise(styles: list, n_samples: int, n_fft: int, hop_length: int,
                   seed: int = 0, k: int = N_TEMPLATES) -> np.ndarray:
    """A start of ``n_samples`` that plays the styles' k typical spectra each at random, for
    run lengths drawn from the style's own, each spectrum for about the share of frames its
    style (by weight) gives it; at the styles' weighted power. ``styles`` = [(signal,
    weight)] with weights summing to 1. Samples no STFT frame covers are zero."""
    rng = np.random.default_rng(seed)
    templates, share, runs = [], [], []
    for x, w in styles:
        t, use, r = vocabulary(x, n_fft, hop_length, k, rng)
        templates += list(t)
        share += list(w * use)
        runs += [r] * len(t)
    share = np.array(share) / np.sum(share)
    n_out = n_samples // hop_length + n_fft // hop_length + 1
    # Each spectrum is drawn by what is left of its share of the start, so that even a short
    # start has the style's proportions (a free draw could fill a 3 s start of a chord pad
    # with one chord or two); no run longer than an eighth of the start.
    longest = max(1, n_out // MIN_RUNS)
    got = np.zeros(len(templates))
    rows: list = []
    while len(rows) < n_out:
        left = np.maximum(share * n_out - got, 0.0)
        p = left / left.sum() if left.sum() > 0 else share
        j = rng.choice(len(templates), p=p)
        n = min(int(rng.choice(runs[j])), longest, n_out - len(rows))
        rows += [j] * n
        got[j] += n
    y = random_phases(np.array(templates), np.array(rows), n_fft, hop_length, n_samples, rng)
    y = np.pad(y, (0, n_samples - len(y)))
    y[covered(n_samples, n_fft, hop_length):] = 0.0
    return at_style_level(y, styles)
