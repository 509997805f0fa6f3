"""The mask-separation ops (docs/design.md §7) in array-module style, shared by the cpu and cuda
backends: numpy_ref's ops of the same names, vectorized over frames and sources, framing and
overlap-add as R = ceil(n_fft / hop) shifted slice copies/adds of hop-long blocks. They cost
little next to the network."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


class MaskOps:
    """The ops on a backend module's ``xp``, ``mask_rfft`` and ``mask_irfft``, read at each
    call (the cuda backend turns ``xp`` into NumPy for its host emulation)."""

    def __init__(self, backend: ModuleType) -> None:
        self.backend = backend
        self._window_sums: dict = {}  # (id(window), hop, n) -> (window, its window sum)

    @property
    def xp(self) -> Any:
        return self.backend.xp

    def mask_frames(self, n_samples, n_fft, hop_length):
        from randstyle.kernels import numpy_ref  # the one definition of the padded framing
        return numpy_ref.mask_frames(n_samples, n_fft, hop_length)

    def mask_blocks(self, n_fft, hop_length):
        return -(-n_fft // hop_length)

    def mask_frame(self, padded, n_fft, hop_length, T):
        """(..., T, n_fft) frames of (..., length) signals, length = (T-1)*hop + n_fft."""
        R = self.mask_blocks(n_fft, hop_length)
        lead = padded.shape[:-1]
        full = self.xp.zeros(lead + ((T + R - 1) * hop_length,), dtype=padded.dtype)
        full[..., :padded.shape[-1]] = padded
        blocks = full.reshape(lead + (T + R - 1, hop_length))
        out = self.xp.empty(lead + (T, R * hop_length), dtype=padded.dtype)
        for r in range(R):
            out[..., r * hop_length:(r + 1) * hop_length] = blocks[..., r:r + T, :]
        return out[..., :n_fft]

    def mask_overlap_add(self, frames, hop_length, length):
        """Adjoint of mask_frame: (..., T, n_fft) -> (..., length)."""
        T, n_fft = frames.shape[-2:]
        R = self.mask_blocks(n_fft, hop_length)
        lead = frames.shape[:-2]
        wide = self.xp.zeros(lead + (T, R * hop_length), dtype=frames.dtype)
        wide[..., :n_fft] = frames
        blocks = self.xp.zeros(lead + (T + R - 1, hop_length), dtype=frames.dtype)
        for r in range(R):
            blocks[..., r:r + T, :] += wide[..., r * hop_length:(r + 1) * hop_length]
        return blocks.reshape(lead + (-1,))[..., :length]

    def mask_window_sum(self, window, hop_length, n_samples):
        """The inverse STFT's window sum, built once per window, hop and length (a T x n_fft
        tile to build: ~0.4 GB at 10 minutes) and kept: separation's inverse runs every
        evaluation with the same three. The window object itself is kept beside it, so a new
        window that reuses a freed one's id() is never matched."""
        key = (id(window), hop_length, n_samples)
        hit = self._window_sums.get(key)
        if hit is not None and hit[0] is window:
            return hit[1]
        T, before, length = self.mask_frames(n_samples, window.shape[0], hop_length)
        wss = self.mask_overlap_add(self.xp.tile(window * window, (T, 1)), hop_length, length)
        wss = wss[before:before + n_samples]
        if len(self._window_sums) >= 8:  # a few runs' worth: a batch does not grow it
            self._window_sums.clear()
        self._window_sums[key] = (window, wss)
        return wss

    @staticmethod
    def mask_complex(dtype):
        return np.complex64 if np.dtype(dtype) == np.float32 else np.complex128

    def mask_rfft_weights(self, n_fft, dtype):
        c = self.xp.full(n_fft // 2 + 1, 2.0 / n_fft, dtype=dtype)
        c[0] = c[-1] = 1.0 / n_fft
        return c

    def mask_stft_forward(self, x, window, hop_length):
        n_fft = window.shape[0]
        T, before, length = self.mask_frames(x.shape[0], n_fft, hop_length)
        padded = self.xp.zeros(length, dtype=x.dtype)
        padded[before:before + x.shape[0]] = x
        X = self.backend.mask_rfft(self.mask_frame(padded, n_fft, hop_length, T) * window, axis=-1)
        return X.astype(self.mask_complex(x.dtype), copy=False), (x.shape[0], window, hop_length)

    def mask_stft_backward(self, dX, cache):
        n_samples, window, hop_length = cache
        n_fft = window.shape[0]
        _, before, length = self.mask_frames(n_samples, n_fft, hop_length)
        # as numpy_ref: n_fft, interior halved
        spec = dX / self.mask_rfft_weights(n_fft, dX.real.dtype)
        dframes = self.backend.mask_irfft(spec, n=n_fft, axis=-1) * window
        dx = self.mask_overlap_add(dframes, hop_length, length)[before:before + n_samples]
        return self.xp.ascontiguousarray(dx.astype(dX.real.dtype, copy=False))

    def istft_forward(self, Y, window, hop_length, n_samples):
        n_fft = window.shape[0]
        _, before, length = self.mask_frames(n_samples, n_fft, hop_length)
        wss = self.mask_window_sum(window, hop_length, n_samples)
        frames = self.backend.mask_irfft(Y, n=n_fft, axis=-1) * window
        y = self.mask_overlap_add(frames, hop_length, length)[..., before:before + n_samples] / wss
        return (self.xp.ascontiguousarray(y.astype(Y.real.dtype, copy=False)),
                (window, hop_length, n_samples, wss))

    def istft_backward(self, dy, cache):
        window, hop_length, n_samples, wss = cache
        n_fft = window.shape[0]
        T, before, length = self.mask_frames(n_samples, n_fft, hop_length)
        padded = self.xp.zeros((dy.shape[0], length), dtype=dy.dtype)
        padded[:, before:before + n_samples] = dy / wss
        frames = self.mask_frame(padded, n_fft, hop_length, T) * window
        dY = self.backend.mask_rfft(frames, axis=-1) * self.mask_rfft_weights(n_fft, dy.dtype)
        return dY.astype(self.mask_complex(dy.dtype), copy=False)

    def mask_apply_forward(self, M, X):
        return M * X, X

    def mask_apply_backward(self, dY, cache):
        X = cache
        return X.real * dY.real + X.imag * dY.imag

    def box_smooth_forward(self, U, frames, bins):
        """numpy_ref.box_smooth_forward as ``size`` shifted slice adds per axis (sizes are a
        few frames or bins), on the backend's device."""
        if frames % 2 == 0 or bins % 2 == 0:
            raise ValueError(f"the box must have odd sides, got {frames} x {bins}")
        V = U
        for axis, size in ((1, frames), (2, bins)):
            if size > 1:
                V = self._box(V, axis, size)
        return V, (frames, bins)

    def _box(self, U, axis, size):
        n, r = U.shape[axis], size // 2
        shape = list(U.shape)
        shape[axis] = n + 2 * r
        padded = self.xp.zeros(shape, dtype=U.dtype)
        where = [slice(None)] * U.ndim
        where[axis] = slice(r, r + n)
        padded[tuple(where)] = U
        out = self.xp.zeros_like(U)
        for d in range(size):
            where[axis] = slice(d, d + n)
            out += padded[tuple(where)]
        out *= 1.0 / size
        return out

    def box_smooth_backward(self, dV, cache):
        return self.box_smooth_forward(dV, *cache)[0]

    def softmax_forward(self, U):
        E = self.xp.exp(U - U.max(axis=0, keepdims=True))
        E /= E.sum(axis=0, keepdims=True)
        return E, E

    def softmax_backward(self, dM, cache):
        M = cache
        return M * (dM - self.xp.sum(M * dM, axis=0, keepdims=True))
