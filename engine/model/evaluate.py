"""Measures of a result that the optimization did not fit."""
from __future__ import annotations

import numpy as np


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB: 10 log10(||s||^2 / ||s - s_hat||^2)."""
    reference = np.asarray(reference, dtype=np.float64)
    err = reference - np.asarray(estimate, dtype=np.float64)
    return float(10 * np.log10(np.sum(reference ** 2) / max(np.sum(err ** 2), 1e-30)))
