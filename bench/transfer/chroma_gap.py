"""Issue 29: why the engine's chroma and librosa's chroma_cqt disagree on a transfer's result.

``python -m bench.transfer chroma-gap RESULT.wav --content NAME [--corpus /work/corpus_t29]`` prints
the Pearson correlation of result and content chromagrams read several ways: chroma_cqt;
the CQT's pitch classes over octave ranges (with each range's share of the CQT energy); a
2048/4096 STFT chromagram over chroma_stft's octave weighting or flat octaves, summing power
or magnitude; and the share of a flat chromagram's sum above C8 (where chroma_cqt stops).
A result comes from ``python -m bench.transfer default ... --save DIR``.
"""
from __future__ import annotations

import argparse

import numpy as np

from bench import lab
from randstyle.engine.audio import load
from randstyle.engine.model.filters import chroma_filterbank
from randstyle.engine.signal import frame

C8 = 4186.0


def corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n].ravel(), b[:n].ravel())[0, 1])


def stft_chroma(x: np.ndarray, n_fft: int, flat: bool, power: int) -> np.ndarray:
    X = np.abs(np.fft.rfft(frame(x, n_fft, 512) * np.hanning(n_fft + 1)[:-1], axis=1)) ** power
    c = X @ chroma_filterbank(sr=lab.SR, n_fft=n_fft, octwidth=None if flat else 2.0).T
    return c / np.maximum(c.max(axis=1, keepdims=True), 1e-12)


def cqt_octaves(y: np.ndarray, x: np.ndarray) -> list:
    """(octaves, correlation, energy share in result, in content) over C1-B7 ranges."""
    import librosa
    C = [np.abs(librosa.cqt(v, sr=lab.SR, fmin=librosa.note_to_hz("C1"), n_bins=252,
                            bins_per_octave=36)).reshape(7, 36, -1) for v in (y, x)]

    def chroma(M, lo, hi):
        c = M[lo:hi].sum(axis=0).reshape(12, 3, -1).sum(axis=1).T
        return c / np.maximum(c.max(axis=1, keepdims=True), 1e-12)
    return [(f"C{lo + 1}-B{hi}", corr(chroma(C[0], lo, hi), chroma(C[1], lo, hi)),
             *(float((M[lo:hi] ** 2).sum() / (M ** 2).sum()) for M in C))
            for lo, hi in ((0, 7), (0, 2), (2, 4), (4, 7))]


def main(argv=None) -> int:
    import librosa
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("result")
    p.add_argument("--content", required=True)
    p.add_argument("--corpus", default="/work/corpus_t29")
    args = p.parse_args(argv)
    y = np.asarray(load(args.result, sr=lab.SR), np.float64)
    x = np.asarray(lab.clip(args.corpus, args.content)[:int(10.0 * lab.SR)], np.float64)
    cqt = [librosa.feature.chroma_cqt(y=v, sr=lab.SR).T for v in (y, x)]
    print(f"chroma_cqt {corr(*cqt):.3f}")
    for octaves, r, share_y, share_x in cqt_octaves(y, x):
        print(f"cqt {octaves}: {r:.3f}, energy share result {share_y:.3f} content {share_x:.3f}")
    for n_fft in (2048, 4096):
        for flat in (False, True):
            for power in (2, 1):
                r = corr(stft_chroma(y, n_fft, flat, power), stft_chroma(x, n_fft, flat, power))
                print(f"stft {n_fft} {'flat' if flat else 'weighted'} "
                      f"{'power' if power == 2 else 'magnitude'}: {r:.3f}")
    f = np.arange(1 + 2048 // 2) * lab.SR / 2048
    fb = chroma_filterbank(sr=lab.SR, n_fft=2048, octwidth=None)
    for name, v in (("result", y), ("content", x)):
        X = np.abs(np.fft.rfft(frame(v, 2048, 512) * np.hanning(2049)[:-1], axis=1))
        for power in (2, 1):
            Q, Qh = (X ** power) @ fb.T, (X[:, f > C8] ** power) @ fb[:, f > C8].T
            print(f"{name}: share of the flat {'power' if power == 2 else 'magnitude'} sum "
                  f"above C8 {Qh.sum() / Q.sum():.3f}")
    return 0

