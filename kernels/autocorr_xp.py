"""The temporal autocorrelation ops (docs/design.md §13) in array-module style, shared by the cpu
and cuda backends: numpy_ref's ops of the same names, by a zero-padded FFT along time where it
costs fewer FLOPs than the direct sum over lags, else by that sum.

FFT form, A zero-padded to P >= T' + n_lags - 1 rows (so the correlation is linear: a lag
below n_lags never wraps around to the start), F_A = rfft(A):
  R[k] = irfft(|F_A|^2)[k] / (T' - k),
  dA = irfft(F_A * 2 Re(rfft(g)))[:T'], g[k] = dR[k] / (T' - k),
since sum_k g[k] A[t+k] (a correlation: conj) plus sum_k g[k] A[t-k] (a convolution) is the
transform of F_A (conj(F_g) + F_g).
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import scipy.fft


def fft_size(T: int, n_lags: int) -> int:
    """Rows of the padded FFT: at least T + n_lags - 1 (linear, not circular), a fast size."""
    return scipy.fft.next_fast_len(T + n_lags - 1, real=True)


def uses_fft(T: int, n_lags: int) -> bool:
    """Whether the FFT form costs fewer FLOPs per filter than the direct sum, forward and
    backward together: the direct sum ~6 T' n_lags (2 forward, 4 backward), the FFT four
    real transforms of P rows, ~2.5 P log2 P each."""
    P = fft_size(T, n_lags)
    return 10.0 * P * np.log2(P) < 6.0 * T * n_lags


class AutocorrOps:
    """The ops on a backend module's ``xp``, ``mask_rfft`` and ``mask_irfft`` (its real FFTs
    along an axis), and its ``squared_error`` pair (whose loss stays where the backend keeps
    its losses), read at each call (the cuda backend turns ``xp`` into NumPy for its host
    emulation)."""

    def __init__(self, backend: ModuleType) -> None:
        self.backend = backend

    @property
    def xp(self) -> Any:
        return self.backend.xp

    def _counts(self, T: int, n_lags: int, dtype) -> Any:
        """(n_lags, 1): the pairs each lag has, T' - k."""
        return (T - self.xp.arange(n_lags, dtype=dtype))[:, None]

    def _padded_rfft(self, X: Any, P: int) -> Any:
        padded = self.xp.zeros((P, X.shape[1]), dtype=X.dtype)
        padded[:X.shape[0]] = X
        return self.backend.mask_rfft(padded, 0)

    def autocorr_forward(self, A, n_lags, fft=None):
        """numpy_ref.autocorr_forward; ``fft`` forces a form (None: the cheaper, uses_fft)."""
        T = A.shape[0]
        if not 0 < n_lags <= T:
            raise ValueError(f"autocorrelation needs 0 < n_lags <= rows ({T}), got {n_lags}")
        fft = uses_fft(T, n_lags) if fft is None else fft
        counts = self._counts(T, n_lags, A.dtype)
        if not fft:
            R = self.xp.stack([(A[:T - k] * A[k:]).sum(axis=0) for k in range(n_lags)])
            return R / counts, (A, None, 0)
        P = fft_size(T, n_lags)
        FA = self._padded_rfft(A, P)
        power = (FA.real * FA.real + FA.imag * FA.imag).astype(FA.dtype)
        R = self.backend.mask_irfft(power, P, 0)[:n_lags]
        return self.xp.ascontiguousarray(R.astype(A.dtype, copy=False) / counts), (A, FA, P)

    def autocorr_backward(self, dR, cache):
        A, FA, P = cache
        T, n_lags = A.shape[0], dR.shape[0]
        g = (dR / self._counts(T, n_lags, A.dtype)).astype(A.dtype, copy=False)
        if FA is None:
            dA = self.xp.zeros_like(A)
            for k in range(n_lags):
                dA[:T - k] += g[k] * A[k:]
                dA[k:] += g[k] * A[:T - k]
            return dA
        Fg = self._padded_rfft(g, P)
        dA = self.backend.mask_irfft(FA * (2 * Fg.real), P, 0)[:T]
        return self.xp.ascontiguousarray(dA.astype(A.dtype, copy=False))

    def autocorr_loss_forward(self, A, R_target, weight, fft=None):
        R, a_cache = self.autocorr_forward(A, R_target.shape[0], fft)
        loss, l_cache = self.backend.squared_error_forward(R, R_target, weight)
        return loss, (a_cache, l_cache)

    def autocorr_loss_backward(self, dL, cache):
        a_cache, l_cache = cache
        return self.autocorr_backward(self.backend.squared_error_backward(dL, l_cache), a_cache)
