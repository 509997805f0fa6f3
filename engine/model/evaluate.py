"""Measures of a result that the optimization did not fit.

A lower loss is no evidence of a better result: the loss is what L-BFGS-B fits, under the
very network it fits. These measures are independent of it:

- style distance: the relative Frobenius distance ||G(x) - G(s)|| / ||G(s)|| of the Gram
  matrices of an *evaluation network* that shares nothing with the optimized one (its own
  seed, STFT size, conv widths and filter counts: ``EVAL_NETWORK``), per branch and averaged,
  with the result first scaled to the style's RMS: a Gram grows with the level, and the level
  is set when the result is written (engine/loudness.py), so it is no part of the style. The
  figure of a run's written file is thus the figure of its report;
- content similarity: the Pearson correlation of log-mel spectrograms (1 = same, ~0
  unrelated), the result at the content's RMS;
- chroma similarity: the Pearson correlation of chromagrams (the notes without the timbre,
  which log-mel features mix with the notes: a content term on mel bands comes near the
  content similarity while the notes go), level-free as every frame is scaled to its peak;
- SDR against a known reference (separation).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

import numpy as np

from randstyle.engine.config import NetworkConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.filters import chroma_filterbank, mel_filterbank
from randstyle.engine.model.style_target import weighted_styles
from randstyle.engine.signal import frame, hann_window

# The evaluation network: a different STFT (1024/256), widths (5 and 32 frames), filter counts
# (1024), mel bins (16) and seed from every default of the optimized network.
EVAL_NETWORK = dict(n_fft=1024, hop_length=256, n_filters=1024, kernel_size=5, n_mels=16,
                    rhythm_filters=1024, rhythm_kernel_size=32, seed=20251125, dtype="float32")
EVAL_BRANCHES = ("harmonic", "rhythm")
CONTENT_MEL = dict(n_fft=2048, hop_length=512, n_mels=64)
# 4096 points (5.4 Hz bins at 22050 Hz) part the semitones down to ~100 Hz; 2048 blurs the
# bass line's pitch classes.
CHROMA = dict(n_fft=4096, hop_length=1024)


def evaluation_network(sr: int, backend: str = "auto",
                       network: Optional[dict] = None) -> Any:
    """The fixed evaluation network at sample rate ``sr`` (built once per process);
    ``network``: other NetworkConfig options for a second measuring network (a held-out
    check in bench/texture.py), EVAL_NETWORK by default."""
    return _built(sr, backend, tuple(sorted((network or EVAL_NETWORK).items())))


@lru_cache(maxsize=4)
def _built(sr: int, backend: str, options: tuple) -> Any:
    from randstyle import kernels
    from randstyle.engine.model.network import Network
    if backend == "auto":  # the GPU is the optimizer's; the measure is small
        backend = "cpu" if kernels.available("cpu") else "numpy"
    return Network(NetworkConfig(sr=sr, **dict(options)), backend=backend)


RMS = "rms"  # the key of a style's eval_grams that holds its RMS, beside the branches'


def rms_of(signal: Any) -> float:
    """RMS of one signal, or of [(signal, weight)] their energy averaged by weight."""
    return float(np.sqrt(sum(w * np.mean(np.square(np.asarray(x, dtype=np.float64)))
                             for x, w in weighted_styles(signal))))


def at_rms(x: np.ndarray, target: float) -> np.ndarray:
    """``x`` scaled to RMS ``target`` (unchanged when either is zero)."""
    level = float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)))))
    return (x * (target / level)).astype(np.float32) if target > 0 and level > 0 else x


def eval_grams(signal: Any, sr: int, backend: str = "auto",
               network: Optional[dict] = None) -> dict:
    """{branch: Gram} of the evaluation network (or ``network``, as evaluation_network),
    and under ``RMS`` the signal's RMS (what style_distance scales a result to);
    ``signal`` is one signal or [(signal, weight)] (Grams averaged by weight, as the style
    loss does)."""
    net = evaluation_network(sr, backend, network)
    out: dict = {RMS: rms_of(signal)}
    for x, w in weighted_styles(signal):
        x = np.asarray(x, dtype=np.float32)
        net.check_length(len(x), "a signal measured by the evaluation network", EVAL_BRANCHES)
        for b, layers in net.grams(x, EVAL_BRANCHES).items():
            G = np.asarray(net.backend.to_numpy(layers[0]), dtype=np.float64) * w
            out[b] = G if b not in out else out[b] + G
    return out


def style_distance(result: np.ndarray, style: Any, sr: int, *,
                   style_grams: Optional[dict] = None, backend: str = "auto",
                   network: Optional[dict] = None) -> dict:
    """Relative Gram distance per evaluation branch and their mean ("style_distance"), of
    the result scaled to the style's RMS. 0 = same statistics; pass ``style_grams`` (from
    ``eval_grams``, same ``network``) to reuse the style's."""
    target = style_grams if style_grams is not None else eval_grams(style, sr, backend,
                                                                     network)
    if target.get(RMS):
        result = at_rms(result, target[RMS])
    mine = eval_grams(result, sr, backend, network)
    per = {f"style_distance_{b}": float(np.linalg.norm(mine[b] - target[b])
                                        / max(np.linalg.norm(target[b]), 1e-30))
           for b in EVAL_BRANCHES}
    return {"style_distance": float(np.mean(list(per.values()))), **per}


def log_mel(x: np.ndarray, sr: int) -> np.ndarray:
    """log1p of a 64-band mel magnitude spectrogram (2048/512), shape (frames, n_mels)."""
    n_fft, hop = CONTENT_MEL["n_fft"], CONTENT_MEL["hop_length"]
    x = np.asarray(x, dtype=np.float64)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    frames = frame(x, n_fft, hop)
    mag = np.abs(np.fft.rfft(frames * hann_window(n_fft), axis=1))
    mel = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=CONTENT_MEL["n_mels"])
    return np.log1p(mag @ mel.T)


def content_similarity(result: np.ndarray, content: np.ndarray, sr: int) -> float:
    """Pearson correlation of the two log-mel spectrograms over their common frames, the
    result scaled to the content's RMS first (log1p is not scale-free: the level would
    count)."""
    return _pearson(log_mel(at_rms(result, rms_of(content)), sr), log_mel(content, sr))


def power_stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2 (T, n_bins) in float64, periodic Hann, "valid" framing; a signal shorter than
    one frame padded with zeros to one."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    return np.abs(np.fft.rfft(frame(x, n_fft, hop) * hann_window(n_fft), axis=1)) ** 2


def chromagram(x: np.ndarray, sr: int) -> np.ndarray:
    """(frames, 12) chroma of the power STFT (CHROMA), each frame scaled to its largest pitch
    class (librosa.feature.chroma_stft with tuning 0 and center=False); silent frames 0."""
    S = power_stft(x, CHROMA["n_fft"], CHROMA["hop_length"])
    c = S @ chroma_filterbank(sr=sr, n_fft=CHROMA["n_fft"]).T
    peak = c.max(axis=1, keepdims=True)
    return c / np.where(peak < np.finfo(np.float64).tiny, 1.0, peak)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two (frames, ...) arrays over their common frames, flattened."""
    n = min(len(a), len(b))
    a, b = a[:n].ravel() - a[:n].mean(), b[:n].ravel() - b[:n].mean()
    denom = np.sqrt((a @ a) * (b @ b))
    return float(a @ b / denom) if denom > 0 else 0.0


def chroma_similarity(result: np.ndarray, content: np.ndarray, sr: int) -> float:
    """Pearson correlation of the two chromagrams over their common frames: the notes held,
    whatever the timbre (1 = the same pitch classes frame by frame)."""
    return _pearson(chromagram(result, sr), chromagram(content, sr))


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB: 10 log10(||s||^2 / ||s - s_hat||^2)."""
    reference = np.asarray(reference, dtype=np.float64)
    err = reference - np.asarray(estimate, dtype=np.float64)
    return float(10 * np.log10(np.sum(reference ** 2) / max(np.sum(err ** 2), 1e-30)))


def evaluate(result: np.ndarray, sr: int, *, style: Any = None,
             content: Optional[np.ndarray] = None, reference: Optional[np.ndarray] = None,
             style_grams: Optional[dict] = None, backend: str = "auto") -> dict:
    """Every measure that applies: style distance (with a style), content and chroma
    similarity (with a content), SDR in dB (with a reference)."""
    out: dict = {}
    if style is not None or style_grams is not None:
        out.update(style_distance(result, style, sr, style_grams=style_grams, backend=backend))
    if content is not None:
        out["content_similarity"] = content_similarity(result, content, sr)
        out["chroma_similarity"] = chroma_similarity(result, content, sr)
    if reference is not None:
        if len(reference) != len(result):
            raise ParameterError(f"the reference has {len(reference)} samples and the result "
                                 f"{len(result)}: SDR needs the same length")
        out["sdr_db"] = sdr(reference, result)
    return out
