"""The network's fixed linear parameters: window, DFT basis, mel filterbank.

Built in float64 with NumPy whatever the backend; the network casts them once.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from randstyle.engine.signal import hann_window


def dft_basis(n_fft: int, window: Optional[np.ndarray] = None) -> np.ndarray:
    """Windowed DFT basis (n_fft, 2*n_bins): columns [w*cos(2 pi k n/N) | -w*sin(2 pi k n/N)].

    frames @ basis gives [Re | Im] with numpy's rfft sign convention.
    """
    if window is None:
        window = hann_window(n_fft)
    n = np.arange(n_fft)[:, None]
    k = np.arange(n_fft // 2 + 1)[None, :]
    phase = 2 * np.pi * ((n * k) % n_fft) / n_fft  # reduce mod n_fft before scaling: exact angles
    return np.concatenate([np.cos(phase), -np.sin(phase)], axis=1) * window[:, None]


# Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(freqs: np.ndarray) -> np.ndarray:
    freqs = np.asarray(freqs, dtype=np.float64)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(freqs, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(freqs >= _MIN_LOG_HZ, log_part, freqs / _F_SP)


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels - _MIN_LOG_MEL))
    return np.where(mels >= _MIN_LOG_MEL, log_part, _F_SP * mels)


def mel_filterbank(*, sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
                   fmax: Optional[float] = None, norm: Optional[str] = "slaney") -> np.ndarray:
    """Triangular mel filterbank, shape (n_mels, 1 + n_fft // 2); equals librosa.filters.mel.

    norm="slaney" divides each triangle by its width in Hz (constant area); norm=None leaves
    peaks at 1 (Barry & Kim's choice).
    """
    if fmax is None:
        fmax = sr / 2.0
    if norm not in ("slaney", None):
        raise ValueError(f"mel norm must be 'slaney' or None, got {norm!r}")
    fftfreqs = np.linspace(0, sr / 2.0, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights


def chroma_filterbank(*, sr: int, n_fft: int, n_chroma: int = 12, tuning: float = 0.0,
                      ctroct: float = 5.0, octwidth: Optional[float] = 2.0) -> np.ndarray:
    """Chroma filterbank, shape (n_chroma, 1 + n_fft // 2), row 0 = C; equals
    librosa.filters.chroma (its defaults: Gaussian bumps around each pitch class, each bin's
    column of unit L2 norm, weighted by a Gaussian over octaves centred on ``ctroct``
    octaves above 27.5 Hz, A440 at ``tuning`` fractions of a bin)."""
    freqs = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    bins = n_chroma * np.log2(freqs / (a440 / 16))
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))  # DC: 1.5 octaves below bin 1
    widths = np.concatenate((np.maximum(bins[1:] - bins[:-1], 1.0), [1.0]))
    d = bins[None, :] - np.arange(n_chroma, dtype=np.float64)[:, None]
    half = np.round(n_chroma / 2.0)
    d = np.remainder(d + half + 10 * n_chroma, n_chroma) - half  # pitch-class distance
    w = np.exp(-0.5 * (2 * d / widths[None, :]) ** 2)
    w /= np.maximum(np.linalg.norm(w, axis=0, keepdims=True), np.finfo(np.float64).tiny)
    if octwidth is not None:
        w *= np.exp(-0.5 * ((bins / n_chroma - ctroct) / octwidth) ** 2)[None, :]
    w = np.roll(w, -3 * (n_chroma // 12), axis=0)  # from A-based rows to C-based
    return np.ascontiguousarray(w[:, :1 + n_fft // 2])
