"""The random network's fixed parameters: weight draws, and one branch's arrays."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np


def ulyanov_std(n_in: int, n_out: int, width: int) -> float:
    """Ulyanov & Lebedev's scale for random conv weights: sqrt(2) * sqrt(2 / ((C + F) K))."""
    return float(np.sqrt(2.0) * np.sqrt(2.0 / ((n_in + n_out) * width)))


def random_conv(rng: np.random.Generator, width: int, n_in: int, n_out: int) -> np.ndarray:
    """(width, n_in, n_out) weights, drawn in float32 so every dtype shares them exactly."""
    w = rng.standard_normal((width, n_in, n_out), dtype=np.float32)
    w *= np.float32(ulyanov_std(n_in, n_out, width))
    return w


@dataclass
class Branch:
    """One branch's fixed parameters (NumPy, engine dtype).

    mel_basis (n_mels, n_bins) or None for the harmonic branch (which reads log1p(M));
    weights (K, C, F): Y[t, f] = sum_k sum_c X[t + k, c] W[k, c, f], "valid"; or None when
    fastfood holds the structured filters of the same conv (engine/model/fastfood.py);
    resid: per block i, (dilated weights (K_r, F, F) with dilation 2^i and "same" padding,
    1x1 weights (1, F, F)).
    """
    name: str
    weights: Optional[np.ndarray]
    mel_basis: Optional[np.ndarray] = None
    log: bool = True
    resid: list = field(default_factory=list)
    fastfood: Optional[Any] = None

    @property
    def width(self) -> int:
        return self.fastfood.width if self.weights is None else self.weights.shape[0]

    @property
    def n_out(self) -> int:
        """Filters of the first conv."""
        return self.fastfood.n_out if self.weights is None else self.weights.shape[2]

    @property
    def margin(self) -> int:
        """Frames each side that the residual blocks' "same" convs reach beyond a row."""
        return sum(((w.shape[0] - 1) * 2 ** i + 1) // 2 for i, (w, _) in enumerate(self.resid))


def same_padding(width: int, dilation: int) -> tuple[int, int]:
    total = (width - 1) * dilation
    return total // 2, total - total // 2
