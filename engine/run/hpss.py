"""Harmonic-percussive separation (Fitzgerald 2010): the reference a percussive + harmonic
separation should beat. Median-filter the magnitude spectrogram along time (harmonic: steady
partials) and along frequency (percussive: broadband onsets), then split the mix with the
soft (Wiener) masks of the two, through the same perfect-reconstruction STFT pair as the mask
separation, so harmonic + percussive = mix."""
from __future__ import annotations

import numpy as np

from randstyle.engine.model.filters import hann_window
from randstyle.kernels import numpy_ref


def hpss(x: np.ndarray, n_fft: int = 2048, hop_length: int = 512, kernel_size: int = 17,
         power: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(harmonic, percussive) float64 signals of x's length; kernel_size frames / bins."""
    from scipy.ndimage import median_filter  # here, not at import: engine/audio.py says why
    window = hann_window(n_fft)
    X, _ = numpy_ref.mask_stft_forward(np.asarray(x, dtype=np.float64), window, hop_length)
    mag = np.abs(X)
    harm = median_filter(mag, size=(kernel_size, 1), mode="reflect") ** power
    perc = median_filter(mag, size=(1, kernel_size), mode="reflect") ** power
    total = harm + perc
    mask_h = np.divide(harm, total, out=np.full_like(total, 0.5), where=total > 0)
    masks = np.stack([mask_h, 1 - mask_h])
    y, _ = numpy_ref.istft_forward(masks * X, window, hop_length, len(x))
    return y[0], y[1]
