"""Separation scores as the field reports them: BSS Eval's SDR, SIR and SAR (Vincent, Gribonval
& Fevotte 2006, version 3: distortion filters of 512 taps, as mir_eval.separation.
bss_eval_sources computes them, without its permutation search) and SI-SDR (Le Roux, Wisdom,
Erdogan & Hershey 2019).

Written here rather than imported so that ``separate --reference`` needs no more than NumPy and
SciPy; tests/test_bss_eval.py checks the figures against mir_eval's (the test and bench
extras install it). Each estimate is projected by least squares onto the span of the
references delayed by 0..511 samples: its own reference's span is the target (plus the
allowed filtering), the other references' the interference, what is left the artifacts.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import toeplitz

FILTER_TAPS = 512  # mir_eval's flen: distortion filters up to 23 ms at 22050 Hz


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB: the estimate's projection on the reference, alpha s with
    alpha = <s_hat, s> / ||s||^2, against what is left, s_hat - alpha s (no mean removal)."""
    s = np.asarray(reference, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    target = (e @ s) / max(s @ s, 1e-300) * s
    return _db(target @ target, np.sum((e - target) ** 2))


def _db(num: float, den: float) -> float:
    return float("inf") if den == 0 else float(10 * np.log10(num / den))


class Projector:
    """The references' delayed-copy Gram matrix, built once for every estimate scored."""

    def __init__(self, references: np.ndarray, taps: int = FILTER_TAPS) -> None:
        self.refs = np.asarray(references, dtype=np.float64)
        self.taps = taps
        n_src, n = self.refs.shape
        self.n_fft = int(2 ** np.ceil(np.log2(n + taps - 1.0)))
        self.spectra = np.fft.fft(self.refs, n=self.n_fft, axis=1)
        self.gram = np.zeros((n_src * taps, n_src * taps))
        for i in range(n_src):
            for j in range(i, n_src):
                block = self._toeplitz(self.spectra[i] * np.conj(self.spectra[j]))
                self.gram[i * taps:(i + 1) * taps, j * taps:(j + 1) * taps] = block
                self.gram[j * taps:(j + 1) * taps, i * taps:(i + 1) * taps] = block.T

    def _lags(self, cross: np.ndarray) -> np.ndarray:
        """Correlations at lags 0, -1, .., -(taps-1) of a cross spectrum, and the column."""
        c = np.real(np.fft.ifft(cross))
        return c, np.hstack((c[0], c[-1:-self.taps:-1]))

    def _toeplitz(self, cross: np.ndarray) -> np.ndarray:
        c, col = self._lags(cross)
        return toeplitz(col, r=c[:self.taps])

    def project(self, estimate: np.ndarray, which: list) -> np.ndarray:
        """Least-squares fit of the estimate by the references ``which`` (indices), each
        filtered by its own FIR of ``taps`` taps; length n + taps - 1."""
        t, n = self.taps, self.refs.shape[1]
        est = np.fft.fft(estimate, n=self.n_fft)
        rows = np.concatenate([np.arange(i * t, (i + 1) * t) for i in which])
        rhs = np.concatenate([self._lags(self.spectra[i] * np.conj(est))[1] for i in which])
        G = self.gram[np.ix_(rows, rows)]
        try:
            coef = np.linalg.solve(G, rhs)
        except np.linalg.LinAlgError:
            coef = np.linalg.lstsq(G, rhs, rcond=None)[0]
        from scipy.signal import fftconvolve  # here, not at import: engine/audio.py says why
        out = np.zeros(n + t - 1)
        for k, i in enumerate(which):
            out += fftconvolve(coef[k * t:(k + 1) * t], self.refs[i])[:n + t - 1]
        return out


def bss_eval_sources(references: np.ndarray, estimates: np.ndarray,
                     taps: int = FILTER_TAPS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(SDR, SIR, SAR) in dB, one per source, of estimates (n_src, n) against references
    (n_src, n) in the same order: mir_eval.separation.bss_eval_sources(references,
    estimates, compute_permutation=False)'s first three results."""
    proj = Projector(references, taps)
    n_src, n = proj.refs.shape
    out = np.zeros((3, n_src))
    for j in range(n_src):
        est = np.asarray(estimates[j], dtype=np.float64)
        s_true = np.hstack((proj.refs[j], np.zeros(taps - 1)))
        e_spat = proj.project(est, [j]) - s_true
        e_interf = proj.project(est, list(range(n_src))) - s_true - e_spat
        e_artif = -s_true - e_spat - e_interf
        e_artif[:n] += est
        target = s_true + e_spat
        # the allowed filtering counts as target (sources, not images: e_spat is no error)
        out[:, j] = (_db(target @ target, np.sum((e_interf + e_artif) ** 2)),
                     _db(target @ target, e_interf @ e_interf),
                     _db(np.sum((target + e_interf) ** 2), e_artif @ e_artif))
    return out[0], out[1], out[2]
