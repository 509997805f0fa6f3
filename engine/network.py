"""The random network: fixed parameters, and forward/backward through a backend's ops.

Chain (DESIGN.md): x -> DFT conv -> magnitude -> log1p -> harmonic conv + ReLU -> features.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

import kernels
from engine.config import NetworkConfig
from engine.errors import ParameterError
from engine.filters import dft_basis, hann_window
from kernels.numpy_ref import n_frames

STYLE_CHUNK_FRAMES = 1024  # frames of style per chunk when accumulating a Gram


def ulyanov_std(n_in: int, n_out: int, width: int) -> float:
    """Ulyanov & Lebedev's scale for random conv weights: sqrt(2) * sqrt(2 / ((C + F) K))."""
    return float(np.sqrt(2.0) * np.sqrt(2.0 / ((n_in + n_out) * width)))


class Network:
    """Fixed random network on one backend.

    Public parameters, NumPy arrays in the engine dtype:
      window            (n_fft,)               periodic Hann
      dft_basis         (n_fft, 2 * n_bins)    [w*cos | -w*sin]; frames @ basis = [Re | Im]
      harmonic_weights  (kernel_size, n_bins, n_filters)  W[k, c, f]: Y[t, f] =
                        sum_k sum_c S[t + k, c] W[k, c, f]
    with n_bins = n_fft // 2 + 1. The weights are drawn once from NumPy's default_rng(seed)
    in float32 (so float32 and float64 networks share them exactly).
    """

    def __init__(self, config: Optional[NetworkConfig] = None, backend: str = "numpy",
                 verbose: bool = False) -> None:
        self.config = config or NetworkConfig()
        self.backend = kernels.get_backend(backend, verbose=verbose)
        self.dtype = np.dtype(self.config.dtype)
        c = self.config
        self.n_bins = c.n_fft // 2 + 1
        self.window = hann_window(c.n_fft).astype(self.dtype)
        self.dft_basis = dft_basis(c.n_fft).astype(self.dtype)
        rng = np.random.default_rng(c.seed)
        std = ulyanov_std(self.n_bins, c.n_filters, c.kernel_size)
        weights = rng.standard_normal((c.kernel_size, self.n_bins, c.n_filters), dtype=np.float32)
        weights *= np.float32(std)
        self.harmonic_weights = weights.astype(self.dtype, copy=False)
        b = self.backend
        self._window = b.asarray(self.window)
        self._basis = b.asarray(self.dft_basis)
        self._weights = b.asarray(self.harmonic_weights)

    @property
    def min_samples(self) -> int:
        """Shortest signal the network accepts: enough frames for one conv output."""
        c = self.config
        return c.n_fft + (c.kernel_size - 1) * c.hop_length

    def check_length(self, n_samples: int, what: str) -> None:
        if n_samples < self.min_samples:
            c = self.config
            raise ParameterError(
                f"{what} is {n_samples / c.sr:.3f} s long, shorter than the network's receptive "
                f"field of {self.min_samples / c.sr:.3f} s ({self.min_samples} samples)")

    def asarray(self, x: Any) -> Any:
        return self.backend.asarray(x, dtype=self.dtype)

    # --- forward / backward ---------------------------------------------------------------
    def forward(self, x: Any) -> tuple[dict[str, Any], list]:
        """Features per branch ({"harmonic": A (T', n_filters)}) and the caches for backward."""
        b, hop = self.backend, self.config.hop_length
        if self.config.dft == "fft":
            Z, c_stft = b.stft_fft_forward(x, self._window, hop)
        else:
            Z, c_stft = b.stft_matrix_forward(x, self._basis, hop)
        M, c_mag = b.magnitude_forward(Z)
        S, c_log = b.log1p_forward(M)
        A, c_conv = b.conv1d_relu_forward(S, self._weights)
        return {"harmonic": A}, [c_stft, c_mag, c_log, c_conv]

    def backward(self, dfeatures: dict[str, Any], caches: list) -> Any:
        """Gradient with respect to x of the features' gradients."""
        b = self.backend
        c_stft, c_mag, c_log, c_conv = caches
        dS = b.conv1d_relu_backward(dfeatures["harmonic"], c_conv)
        dZ = b.magnitude_backward(b.log1p_backward(dS, c_log), c_mag)
        if self.config.dft == "fft":
            return b.stft_fft_backward(dZ, c_stft)
        return b.stft_matrix_backward(dZ, c_stft)

    def features(self, x: np.ndarray) -> dict[str, Any]:
        return self.forward(self.asarray(x))[0]

    def grams(self, x: np.ndarray, chunk_frames: int = STYLE_CHUNK_FRAMES) -> dict[str, Any]:
        """Gram per branch of a signal of any length, accumulated over chunks of frames.

        Chunks overlap by kernel_size - 1 frames so every conv output row is counted once;
        memory stays bounded by the chunk, not the clip.
        """
        c, b = self.config, self.backend
        n_total = n_frames(len(x), c.n_fft, c.hop_length)
        K = c.kernel_size
        chunk_frames = max(chunk_frames, K)
        total, rows, start = None, 0, 0
        while start + K <= n_total:
            stop = min(start + chunk_frames, n_total)
            seg = x[start * c.hop_length:(stop - 1) * c.hop_length + c.n_fft]
            A = self.features(seg)["harmonic"]
            G = b.gram_forward(A)[0]
            G *= A.shape[0]  # un-normalize: chunks weigh by their rows
            if total is None:
                total = G
            else:
                total += G
            rows += A.shape[0]
            start = stop - K + 1
        return {"harmonic": total / rows}
