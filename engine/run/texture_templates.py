"""A texture's start from the style's spectral vocabulary: ``--init templates``.

The style's STFT frames are grouped into k spectra (k-means on log magnitudes); the start
plays those spectra at random, each for a run of frames drawn from how long the style stays
with one, as noise with that spectrum (random phases). So every moment of the start has the
spectrum of one of the style's typical moments (a note, a chord, a hit, a pause) where the
long-term-spectrum noise (texture_start.style_noise) has them all at once; but nothing of the
style's samples, phases or order in time is kept: a statistical model of the style, like the
Grams, not a copy of the recording. The optimizer then makes the events and their order fit
the networks' statistics.
"""
from __future__ import annotations

import numpy as np

from engine.model.filters import hann_window
from engine.run.texture_start import at_style_level, covered
from kernels.numpy_ref import frame, overlap_add

N_TEMPLATES = 16
KMEANS_ITERATIONS = 20
MAX_FIT_FRAMES = 4096  # k-means is fitted on at most this many frames, evenly spaced
MIN_RUNS = 8  # runs in a start at least


def log_frames(x: np.ndarray, n_fft: int, hop_length: int,
               chunk: int = 512) -> np.ndarray:
    """log1p |STFT| of x, (frames, n_fft // 2 + 1); x shorter than a frame is zero-padded.
    Computed ``chunk`` frames at a time, so a long style (a 4-minute one has ~10,000 frames)
    costs its result (85 MB), not several copies of its windowed frames and their DFT."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    frames = frame(x, n_fft, hop_length)
    w = hann_window(n_fft)
    out = np.empty((len(frames), n_fft // 2 + 1))
    for i in range(0, len(frames), chunk):
        out[i:i + chunk] = np.log1p(np.abs(np.fft.rfft(frames[i:i + chunk] * w, axis=1)))
    return out


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
