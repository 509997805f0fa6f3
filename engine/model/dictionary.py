"""Dictionaries of each source's spectra (supervised NMF, Smaragdis, Raj & Shashanka 2007;
beta-divergence multiplicative updates, Fevotte & Idier 2011; docs/results/separation.md).

A magnitude spectrogram V (T frames, n_bins) is modelled as A @ D: D (k, n_bins) holds k
nonnegative spectra (atoms) of a source, learned from its example; A (T, k) says how loud each
atom is in each frame. For a mix, the sources' dictionaries are stacked and held fixed while
the mix's activations are fitted; each source's model A_s @ D_s then shapes its Wiener mask.
The steps are backend ops (numpy_ref.nmf_activations_step / nmf_dictionary_step), so the
arrays here stay on the backend's device; only seeds' starts cross from the host.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


def _start(rng: np.random.Generator, shape: tuple, level: float) -> np.ndarray:
    """Positive random start around ``level`` (never zero: a multiplicative update keeps a
    zero entry at zero forever)."""
    return (level * (0.5 + rng.random(shape))).astype(np.float32)


def normalize_atoms(b: Any, D: Any) -> Any:
    """Each atom scaled to unit sum (the activations absorb the scale): atoms of every source
    and transposition on one footing in the mix's fit."""
    return D / b.xp.maximum(D.sum(axis=1, keepdims=True), D.dtype.type(1e-30))


# Spectral flatness (geometric over arithmetic mean of a frame's power) below which an example
# counts as pitched: measured at 8192/2048 on the corpus's examples, drums 0.047 and the
# generated drum loop 0.09, every pitched instrument (organ, piano, strings, guitar, flute,
# the generated pluck) 0.00001-0.0009 (medians over frames; docs/results/separation.md).
PITCHED_FLATNESS = 0.01


def spectral_flatness(b: Any, V: Any) -> float:
    """Median over the frames of V (T, n_bins; those within 30 dB of the loudest) of the
    power spectrum's geometric over arithmetic mean: ~1 for noise, ~0 for a harmonic tone."""
    xp = b.xp
    P = V.astype(np.float64) ** 2 + 1e-20
    energy = P.sum(axis=1)
    P = P[energy > 1e-3 * float(energy.max())]
    flat = xp.exp(xp.log(P).mean(axis=1)) / P.mean(axis=1)
    return float(xp.median(flat))  # a scalar crosses, not the frames


def transpose_atoms(b: Any, D: Any, semitones: int) -> Any:
    """The atoms D (k, n_bins) of a note ``semitones`` higher: each spectrum stretched along
    frequency by r = 2^(s/12) (bin f takes the value at f / r, linearly interpolated; zero
    past the top bin), then unit sum again. Harmonics stay harmonics at the new pitch; what
    resampling the audio would do, on the atoms, without learning them again."""
    n = D.shape[1]
    pos = np.arange(n) / 2 ** (semitones / 12)
    lo = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    w = (pos - lo).astype(np.float32)[None, :]
    inside = (pos <= n - 1).astype(np.float32)[None, :]
    lo, hi = b.asarray(lo), b.asarray(hi)
    w, inside = b.asarray(w).astype(D.dtype), b.asarray(inside).astype(D.dtype)
    return normalize_atoms(b, (D[:, lo] * (1 - w) + D[:, hi] * w) * inside)


def learn_dictionary(b: Any, V: Any, k: int, n_iter: int, beta: float,
                     rng: np.random.Generator) -> Any:
    """k atoms (k, n_bins) of the spectrogram V (T, n_bins, on backend b), by n_iter rounds of
    alternating activation and dictionary steps from a seeded random start."""
    level = float(np.sqrt(max(float(V.mean()), 1e-12) / k))
    A = b.asarray(_start(rng, (V.shape[0], k), level)).astype(V.dtype)
    D = b.asarray(_start(rng, (k, V.shape[1]), level)).astype(V.dtype)
    return alternate(b, V, A, D, n_iter, beta)


def alternate(b: Any, V: Any, A: Any, D: Any, n_iter: int, beta: float) -> Any:
    """The atoms after n_iter rounds of alternating activation and dictionary steps from the
    start (A, D), unit-sum."""
    for _ in range(n_iter):
        A = b.nmf_activations_step(V, A, D, beta)
        D = b.nmf_dictionary_step(V, A, D, beta)
    return normalize_atoms(b, D)


def fit_activations(b: Any, V: Any, D: Any, n_iter: int, beta: float, l1: float = 0.0,
                    free: Any = None, continuity: float = 0.0) -> tuple[Any, Any]:
    """Activations A (T, K) of V with the atoms D (K, n_bins) fixed, from scikit-learn's flat
    start sqrt(mean(V) / K); with ``free`` (k_free, n_bins), those atoms are appended and
    learned from V itself meanwhile (semi-supervised: a source with no example); continuity
    the weight of a temporal continuity cost on A (Virtanen 2007). Returns (A, the atoms
    used)."""
    fixed = D.shape[0]
    if free is not None:
        D = b.xp.concatenate([D, free], axis=0)
    A = b.xp.full((V.shape[0], D.shape[0]), np.sqrt(max(float(V.mean()), 1e-12) / D.shape[0]),
                  dtype=V.dtype)
    for _ in range(n_iter):
        A = b.nmf_activations_step(V, A, D, beta, l1, continuity)
        if free is not None:
            # The dictionary step is row-separable: the free rows' update is exact, the fixed
            # ones are put back.
            learned = b.nmf_dictionary_step(V, A, D, beta)[fixed:]
            # unit-sum free atoms, their activations scaled up to keep the model A @ D
            sums = b.xp.maximum(learned.sum(axis=1), V.dtype.type(1e-30))
            A[:, fixed:] *= sums[None, :]
            D = b.xp.concatenate([D[:fixed], learned / sums[:, None]], axis=0)
    return A, D


def hann_lobe(d: np.ndarray) -> np.ndarray:
    """|DTFT| of a Hann window d bins off a partial's frequency (1 at d = 0): the shape a
    steady sinusoid leaves in the magnitude STFT; 0 past 3 bins (side lobes below -31 dB)."""
    lobe = np.abs(0.5 * np.sinc(d) + 0.25 * np.sinc(d - 1) + 0.25 * np.sinc(d + 1)) / 0.5
    return np.where(np.abs(d) < 3, lobe, 0.0)


def spectral_envelope(b: Any, V: Any, sr: int, n_fft: int) -> Any:
    """The mean of V (T, n_bins) over frames, box-smoothed over ~200 Hz so that the example's
    own notes leave little comb in it (float64, on backend b)."""
    xp, n_bins = b.xp, V.shape[1]
    width = max(1, int(round(200.0 * n_fft / sr)))
    mean = V.mean(axis=0).astype(np.float64)
    c = xp.concatenate([xp.zeros(1, dtype=mean.dtype), xp.cumsum(mean)])
    lo = np.clip(np.arange(n_bins) - width // 2, 0, n_bins)
    hi = np.clip(np.arange(n_bins) + width // 2 + 1, 0, n_bins)
    return (c[b.asarray(hi)] - c[b.asarray(lo)]) / b.asarray((hi - lo).astype(np.float64))


def f0_bins(midi: Any, sr: int, n_fft: int) -> Any:
    """The fundamental of MIDI note(s) ``midi`` in STFT bins (equal temperament, A4 440 Hz)."""
    return 440.0 * 2 ** ((np.asarray(midi) - 69) / 12) * n_fft / sr


def partial_combs(midi: list, sr: int, n_fft: int, n_bins: int,
                  amplitudes: Optional[np.ndarray] = None) -> np.ndarray:
    """(len(midi), n_bins) float64 on the host: at each MIDI note the Hann lobe at f0, 2 f0,
    ... up to Nyquist, partial h times amplitudes[h - 1] (and no more partials than it holds;
    every partial 1 without it)."""
    k = np.arange(n_bins, dtype=np.float64)
    combs = np.zeros((len(midi), n_bins))
    for i, m in enumerate(midi):
        f0 = float(f0_bins(m, sr, n_fft))
        top = int((n_bins - 1) / f0)
        for h in range(1, (top if amplitudes is None else min(len(amplitudes), top)) + 1):
            near = slice(max(0, int(h * f0) - 3), min(n_bins, int(h * f0) + 5))
            lobe = hann_lobe(k[near] - h * f0)
            combs[i, near] += lobe if amplitudes is None else amplitudes[h - 1] * lobe
    return combs


def harmonic_atoms(b: Any, V: Any, sr: int, n_fft: int, midi: list) -> Any:
    """Source-filter atoms (FitzGerald et al. 2008; Durrieu et al. 2010), one per MIDI note of
    ``midi``: a comb of the Hann lobe at f0, 2 f0, ... (up to Nyquist) times the example's
    spectral envelope (the mean of V (T, n_bins) over frames, box-smoothed over ~200 Hz so
    that the example's own notes leave no comb in it); unit sum. Notes the example never
    plays, coloured as the instrument colours its partials."""
    env = spectral_envelope(b, V, sr, n_fft)
    combs = partial_combs(midi, sr, n_fft, V.shape[1])
    atoms = b.asarray(combs.astype(np.float32)) * env[None, :].astype(V.dtype)
    return normalize_atoms(b, atoms + V.dtype.type(1e-12))


def _loud_frames(V: np.ndarray) -> np.ndarray:
    """The frames of V (T, n_bins, host) within 30 dB of the loudest, float64."""
    V = np.asarray(V, dtype=np.float64)
    return V[V.sum(axis=1) > 1e-3 * V.sum(axis=1).max()]


def _partials(near: np.ndarray, f0: float, count: int) -> np.ndarray:
    """(T, count): the amplitudes of near (T, n_bins) at the bins of f0, 2 f0, ... (f0 in
    bins), 0 at or past the top bin."""
    n_bins = near.shape[1]
    bins = np.round(f0 * np.arange(1, count + 1)).astype(np.int64)
    return np.where(bins < n_bins - 1, near[:, np.minimum(bins, n_bins - 1)], 0.0)


PITCH_MIDI = np.arange(36, 96)  # the notes the harmonic-sum pitch estimate considers


def frame_pitches(V: np.ndarray, sr: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """The dominant f0 of each loud frame of V (T, n_bins, host): the MIDI note of
    PITCH_MIDI with the most weight on its first 8 harmonics (0.84 a harmonic less each; a
    partial's amplitude the largest bin within one of h f0). Returns (its MIDI note per loud
    frame, near: the loud frames' magnitudes with each bin the largest of its 3 neighbours)."""
    V = _loud_frames(V)
    f0s = f0_bins(PITCH_MIDI, sr, n_fft)
    near = np.maximum.reduce([np.roll(V, d, axis=1) for d in (-1, 0, 1)])
    weights = 0.84 ** np.arange(8)
    salience = np.stack([_partials(near, f0, 8) @ weights for f0 in f0s], axis=1)
    return PITCH_MIDI[salience.argmax(axis=1)], near


def register(V: np.ndarray, sr: int, n_fft: int) -> float:
    """The example's register: the median over its loud frames of frame_pitches (MIDI). Polyphonic
    examples may read an octave high (the corpus's organ 55, pyin 43); the corpus's flute
    reads 85, every other pitched example 49-55."""
    return float(np.median(frame_pitches(V, sr, n_fft)[0]))


def partial_template(V: np.ndarray, sr: int, n_fft: int, n_partials: int = 40) -> np.ndarray:
    """The example's own harmonic amplitudes (FitzGerald et al. 2008's shifted templates):
    in each loud frame of V (T, n_bins, host) its partials' amplitudes at the frame's f0
    (frame_pitches) as a share of their sum; the median over frames. (n_partials,), unit
    sum."""
    midi, near = frame_pitches(V, sr, n_fft)
    f0s = f0_bins(midi, sr, n_fft)
    amps = np.stack([_partials(near, f0, n_partials)[t] for t, f0 in enumerate(f0s)])
    amps /= np.maximum(amps.sum(axis=1, keepdims=True), 1e-30)
    template = np.median(amps, axis=0)
    return template / max(template.sum(), 1e-30)


def template_atoms(b: Any, template: np.ndarray, sr: int, n_fft: int, n_bins: int,
                   midi: list) -> Any:
    """One atom per MIDI note of ``midi``: the Hann lobe at each partial h f0 (up to Nyquist)
    weighted by template[h - 1]; unit sum."""
    atoms = partial_combs(midi, sr, n_fft, n_bins, template)
    atoms = b.asarray((atoms + 1e-12).astype(np.float32))
    return normalize_atoms(b, atoms)
