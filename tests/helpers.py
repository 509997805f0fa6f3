"""Shared test tools: finite differences, relative error, small configs, generated audio."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from randstyle.kernels import cuda


def rel_error(a, b) -> float:
    """max|a - b| / max(|a|max + |b|max, 1e-8): normwise (CS231n's, so that tiny entries do
    not rule), on NumPy arrays or scalars."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a)) + np.max(np.abs(b))))


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of scalar f at every entry of x (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f(x)
        flat[i] = old - eps
        lo = f(x)
        flat[i] = old
        gflat[i] = (hi - lo) / (2 * eps)
    return grad


def numeric_grad_of_total(obj, u: np.ndarray, picked: np.ndarray,
                          eps: float = 1e-6) -> np.ndarray:
    """Central differences of obj.terms_and_grad's total at the coordinates ``picked`` of u
    (the others held): for objectives too costly to difference everywhere."""
    def loss_at(v):
        w = u.copy()
        w[picked] = v
        return obj.terms_and_grad(w)[0]["total"]
    return numeric_grad(loss_at, u[picked], eps=eps)


TINY = dict(sr=8000, n_fft=32, hop_length=8, n_filters=8, kernel_size=3, n_mels=4,
            rhythm_filters=6, rhythm_kernel_size=5, resid_kernel_size=3, content_n_mels=3)
# `separate --method statistics` with 32 shift-statistic filters, not the default 1024: the
# shift statistic is most of the run's work (test_common's separate: 17 s of CPU at 1024
# filters, 0.8 s at 64). For tests of a command's options, files, report or signals, not of
# how well it separates (those set their own network).
FEW_SHIFT_FILTERS = ["--shift-filters", "32"]
SMALL = dict(sr=8000, n_fft=256, hop_length=64, n_filters=128, kernel_size=11, n_mels=8,
             rhythm_filters=96, rhythm_kernel_size=20)


def check_objective(obj, x: np.ndarray) -> dict:
    """The whole objective at x: its total is the sum of its terms (the Gram terms' "style"
    sum aside), and its gradient equals central differences (relative error < 1e-6,
    float64). Returns the terms."""
    terms, grad = obj.terms_and_grad(x)
    assert terms["total"] == pytest.approx(sum(v for k, v in terms.items()
                                               if k not in ("style", "total")))
    numeric = numeric_grad(lambda v: obj.value_and_grad(v)[0], x)
    assert rel_error(grad, numeric) < 1e-6
    return terms


def objectives_agree(make, backends: tuple, x: np.ndarray, terms: tuple, dtype: str) -> None:
    """``make(backend)``'s objectives on two backends give the same ``terms`` and gradient
    at x, at test_parity.py's tolerances for ``dtype``."""
    (t_r, g_r), (t_f, g_f) = (make(b).terms_and_grad(x) for b in backends)
    tol_v, tol_g = (3e-6, 1e-5) if dtype == "float32" else (1e-12, 1e-12)
    for term in terms:
        assert abs(t_f[term] - t_r[term]) < tol_v * abs(t_r[term]), term
    assert rel_error(g_f, g_r) < tol_g


def transfer_ensemble(sizes: dict = SMALL, backend: str = "numpy", signals: tuple = (),
                      **overrides):
    """The transfer objective (an Ensemble where the options ask for one) of a 330 Hz tone
    under a drum loop, or of ``signals`` (content, style), with the chroma term at 2 unless
    overridden; and its content. The chroma tests build their members with it."""
    from randstyle.engine.config import TransferConfig
    from randstyle.engine.demo import drum_loop
    from randstyle.engine.model.network import Network
    from randstyle.engine.run.modes import transfer_objective
    sr = SMALL["sr"]
    content, style = signals or (sine(1.0, sr, 330.0), drum_loop(2.0, sr))
    cfg = TransferConfig(backend=backend, **{"chroma_weight": 2.0, **sizes, **overrides})
    return transfer_objective(cfg, Network(cfg.network_config(), backend=backend),
                              [(style, 1.0)], content), content


def chroma_holders(obj) -> list:
    """Which of an ensemble's members hold the chroma term."""
    return [m.chroma is not None for m in obj.members]


def sine(seconds: float, sr: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path, x, sr: int, subtype: str = "PCM_16") -> str:
    sf.write(str(path), x, sr, subtype=subtype)
    return str(path)


def _counting(monkeypatch):
    """Wrap the cuda backend's host<->device copies: asarray (up) and to_numpy (down)."""
    up, down = [], []
    real_up, real_down = cuda.asarray, cuda.to_numpy
    monkeypatch.setattr(cuda, "asarray", lambda a, dtype=None: (up.append(np.shape(a)),
                                                                real_up(a, dtype))[1])
    monkeypatch.setattr(cuda, "to_numpy", lambda a: (down.append(np.shape(a)),
                                                     real_down(a))[1])
    return up, down


# The commands' options for a run that takes a second: the tool tests' (channels, checkpoint,
# output, plot, presets, weighted styles), which read the clips of conftest's ``files``.
FAST = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet"]
