"""Signal utilities every floor uses (run/, model/, report/): the window, framing and
overlap-add (the reference kernels' own, so every path frames alike), the STFT magnitude, the
log spectrogram, how many samples the frames cover, and the RMS. Below engine/model: it
imports only kernels."""
from __future__ import annotations

import numpy as np

from randstyle.kernels import numpy_ref
from randstyle.kernels.numpy_ref import frame, n_frames, overlap_add

__all__ = ["hann_window", "frame", "overlap_add", "n_frames", "stft_magnitude", "log_frames",
           "covered", "rms"]


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window (scipy.signal.get_window("hann", n_fft)), shape (n_fft,)."""
    n = np.arange(n_fft)
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)


def stft_magnitude(x: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """|STFT| with the engine's framing ("valid", periodic Hann), shape (T, n_bins)."""
    Z, _ = numpy_ref.stft_fft_forward(np.asarray(x, dtype=np.float64), hann_window(n_fft),
                                      hop_length)
    return numpy_ref.magnitude_forward(Z)[0]


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


def covered(n_samples: int, n_fft: int, hop_length: int) -> int:
    """How many leading samples the STFT frames cover (the rest gets no gradient)."""
    T = n_frames(n_samples, n_fft, hop_length)
    return (T - 1) * hop_length + n_fft if T else 0


def rms(x: np.ndarray) -> float:
    """Root mean square, in float64."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
