"""Channel handling: which mono signals to optimize, and how to put the results back.

mono: one optimization on the mix of all channels, mono output.
mid-side: M = (L + R) / 2 and S = (L - R) / 2 optimized separately, output L = M + S, R = M - S.
each: one optimization per channel, output with the same channels.
"""
from __future__ import annotations

import numpy as np

from randstyle.engine.errors import ParameterError

MODES = ("mono", "mid-side", "each")
SILENT = 1e-8


def split(x: np.ndarray, mode: str) -> list:
    """Mono signals to optimize from (N, C) audio."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if mode == "mono":  # one channel: a view (a song's content is not held twice)
        return [x[:, 0] if x.shape[1] == 1 else x.mean(axis=1)]
    if mode == "mid-side":
        if x.shape[1] > 2:
            raise ParameterError(f"channels mid-side needs mono or stereo audio, got "
                                 f"{x.shape[1]} channels", ("channels",))
        left, right = x[:, 0], x[:, -1]
        return [(left + right) / 2, (left - right) / 2]
    if mode == "each":
        return [x[:, c] for c in range(x.shape[1])]
    raise ParameterError(f"channels must be one of {', '.join(MODES)}, got {mode!r}",
                         ("channels",))


def merge(parts: list, mode: str) -> np.ndarray:
    """(N, C) audio from the optimized mono signals."""
    if mode == "mid-side":
        mid, side = parts
        return np.stack([mid + side, mid - side], axis=1)
    if len(parts) == 1:  # a view: no second copy of a long song
        return np.asarray(parts[0])[:, None]
    return np.stack(parts, axis=1)


def n_parts(x: np.ndarray, mode: str) -> int:
    return {"mono": 1, "mid-side": 2}.get(mode, 1 if np.ndim(x) == 1 else np.shape(x)[1])


def style_parts(style: np.ndarray, mode: str, count: int) -> list:
    """One mono style signal per part: the matching part of the style where it has one
    and it is not silent (the side of a mono file is), else the style's mono mix."""
    mono = split(style, "mono")[0]
    parts = split(style, mode) if mode != "mono" else [mono]
    return [parts[i] if i < len(parts) and np.max(np.abs(parts[i])) > SILENT else mono
            for i in range(count)]


def is_silent(x: np.ndarray) -> bool:
    return not np.max(np.abs(x)) > SILENT
