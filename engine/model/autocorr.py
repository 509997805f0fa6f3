"""The autocorrelation style term's targets (docs/design.md §13; Antognini, Hoffman & Weiss
2019): each filter's temporal autocorrelation R[k, n] over lags 0..L-1 of the style's
activations, the time order that a Gram (a sum over frames) cannot see.

R of a long style is accumulated over chunks of rows as the Grams are
(engine/model/style_target.py): a chunk reads rows [r0, e) with e = r1 + L - 1 (the pairs that
start in [r0, r1) reach L - 1 rows on), and counts only the pairs that start before r1; its
sums minus those of rows [r1, e) alone are exactly those pairs. The sums are divided by each
lag's pair count at the end, so the target equals the whole clip's R.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from randstyle.engine.errors import ParameterError
from randstyle.engine.model.style_target import STYLE_CHUNK_FRAMES
from randstyle.engine.signal import n_frames


def branch_rows(net: Any, n_samples: int, branch: str) -> int:
    """Rows of a branch's activations for a signal of n_samples: the most lags it has."""
    c = net.config
    return n_frames(n_samples, c.n_fft, c.hop_length) - net.branches[branch].width + 1


def lags_for(net: Any, n_lags: int, branch: str, lengths: Iterable[int]) -> int:
    """n_lags, capped at the rows of the shortest signal (result or style) under this network,
    as conv widths are capped at its frames (engine/model/ensemble.py)."""
    return max(1, min([n_lags] + [branch_rows(net, n, branch) for n in lengths]))


def _pair_sums(b: Any, rows: Any, n_lags: int) -> np.ndarray:
    """(n_lags, F) float64 on the host: sum_t rows[t] rows[t+k] over the pairs inside rows."""
    out = np.zeros((n_lags, rows.shape[1]))
    T = rows.shape[0]
    if T == 0:
        return out
    L = min(n_lags, T)
    R = np.asarray(b.to_numpy(b.autocorr_forward(rows, L)[0]), dtype=np.float64)
    out[:L] = R * (T - np.arange(L))[:, None]
    return out


def autocorr_target(net: Any, x: np.ndarray, branch: str, n_lags: int,
                    chunk_frames: int = STYLE_CHUNK_FRAMES) -> list:
    """[R (n_lags x F) of each layer of ``branch``] of signal x (float64 on the host), over
    chunks of about ``chunk_frames`` frames (the module's docstring)."""
    c, b = net.config, net.backend
    br = net.branches[branch]
    K, m = br.width, br.margin
    n_rows = n_frames(len(x), c.n_fft, c.hop_length) - K + 1
    if not 0 < n_lags <= n_rows:
        raise ParameterError(f"the style has {max(n_rows, 0)} rows of {branch} activations, "
                             f"fewer than the {n_lags} autocorrelation lags asked")
    step = max(chunk_frames - K + 1 - 2 * m - (n_lags - 1), 1)
    sums, r0 = None, 0
    while r0 < n_rows:
        r1 = min(r0 + step, n_rows)
        e = min(r1 + n_lags - 1, n_rows)  # rows [r0, e) hold every pair starting in [r0, r1)
        f0, f1 = max(r0 - m, 0), min(e + m, n_rows) + K - 1  # frames [f0, f1)
        seg = x[f0 * c.hop_length:(f1 - 1) * c.hop_length + c.n_fft]
        part = [_pair_sums(b, A[r0 - f0:e - f0], n_lags) - _pair_sums(b, A[r1 - f0:e - f0],
                                                                      n_lags)
                for A in net.features(seg, (branch,))[branch]]
        sums = part if sums is None else [s + p for s, p in zip(sums, part)]
        r0 = r1
    counts = (n_rows - np.arange(n_lags))[:, None]
    return [s / counts for s in sums]


def autocorr_targets(net: Any, styles: list, branches: Iterable[str], n_lags: int,
                     n_samples: int) -> dict:
    """{branch: [R of each layer, backend array in the network's dtype]}: the weighted mean
    of the styles' R ([(signal, weight)], weights summing to 1, as their Grams are mixed),
    with n_lags capped at the rows of the result (n_samples) and of each style."""
    out = {}
    for branch in branches:
        L = lags_for(net, n_lags, branch, [n_samples] + [len(x) for x, _ in styles])
        mixed = None
        for x, w in styles:
            layers = [w * R for R in autocorr_target(net, np.asarray(x), branch, L)]
            mixed = layers if mixed is None else [a + r for a, r in zip(mixed, layers)]
        out[branch] = [net.asarray(R) for R in mixed]
    return out
