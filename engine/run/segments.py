"""Long content in bounded memory: a song cut into overlapping segments, each optimized
against the same style targets (computed once per process), joined by crossfading where
they overlap.

A style's statistics are the same everywhere in a song and the content term is local in
time (issue 32), so a segment needs only its own stretch of the content. Memory is then
that of one segment's run (its activations, L-BFGS-B's 2 --maxcor vectors of its samples)
plus the song itself (content and result, float32) whatever the song's length; the segments
can run one after another here, on local processes or on Dask workers
(engine/run/spread.py), each finished one kept on disk so an interrupted run resumes
segment by segment.

The join: consecutive segments overlap by at least --overlap seconds; over the overlap the
result goes from the earlier segment to the later one along a raised cosine (weights that
sum to one, so a signal the optimizer left alone comes back sample for sample). The
segments' own edges, where fewer STFT frames cover a sample, are thereby given weight near
zero. docs/results/songs.md measures the joins against the rest.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from randstyle.engine.audio import atomic_write
from randstyle.engine.config import TextureConfig, TransferConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model import memory
from randstyle.engine.run.modes import texture, transfer

# Default segment length: a 10 s clip's scale of work, twice over. 10 s segments were
# measured on a 60 s song at equal CPU (docs/results/songs.md, "Segments as long as the
# clip"): nearer the style (mean eval 0.520 against 0.541 over six windows), a little further
# from the content (0.730 against 0.734), peak RSS 709 against 912 MiB; a trade, not a win.
SEGMENT_S = 20.0
OVERLAP_S = 2.0
LONG_FACTOR = 1.5  # a signal longer than this many segments is cut; a shorter one runs whole


def windows(n: int, length: int, overlap: int) -> list:
    """[(start, end)] of equal-length segments covering [0, n), consecutive ones
    overlapping by at least ``overlap`` samples (the starts spread evenly); one window when
    ``n <= length``."""
    if n <= length:
        return [(0, n)]
    if not 0 <= 2 * overlap < length:
        raise ParameterError("overlap must be under half of segment", ("overlap", "segment"))
    k = math.ceil((n - overlap) / (length - overlap))
    starts = np.round(np.linspace(0, n - length, k)).astype(int)
    return [(int(s), int(s) + length) for s in starts]


def ramp(n: int) -> np.ndarray:
    """Raised-cosine weights of the later segment over an overlap of n samples (0 to 1)."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / max(n, 1))).astype(np.float32)


def place(out: np.ndarray, done: set, k: int, piece: np.ndarray, wins: list,
          power: bool = False) -> None:
    """Write segment k's result into ``out``, crossfaded with the neighbours already in
    ``done`` (in any order); a neighbour not yet placed is blended in when it comes.
    ``a + w (b - a)`` gives a back exactly where both are a. With ``power`` (a texture's
    segments, independent noises) the weights' squares sum to one instead, so the level
    holds through the join."""
    s, e = wins[k]
    piece = np.asarray(piece, dtype=np.float32)
    lo = wins[k - 1][1] if k > 0 else s  # [s, lo): the overlap with the segment before
    hi = wins[k + 1][0] if k + 1 < len(wins) else e  # [hi, e): with the one after
    out[lo:hi] = piece[lo - s:hi - s]
    if k - 1 in done:
        out[s:lo] = _blend(out[s:lo], piece[:lo - s], power)
    else:
        out[s:lo] = piece[:lo - s]
    if k + 1 in done:
        out[hi:e] = _blend(piece[hi - s:], out[hi:e], power)
    else:
        out[hi:e] = piece[hi - s:]
    done.add(k)


def _blend(a: np.ndarray, b: np.ndarray, power: bool) -> np.ndarray:
    """From a (the earlier segment) to b over their overlap."""
    w = ramp(len(a))
    if power:
        return a * np.sqrt(1.0 - w) + b * np.sqrt(w)
    return a + w * (b - a)


def join(pieces: dict, wins: list, n: int, power: bool = False) -> np.ndarray:
    """The whole signal from {k: segment k's result}; segments missing are silent."""
    out, done = np.zeros(n, dtype=np.float32), set()
    for k in sorted(pieces):
        place(out, done, k, pieces[k], wins, power)
    return out


def plain_config(command: str, cfg: Any) -> Any:
    """The engine's own configuration of ``cfg`` (a CLI's options carry more fields): what
    goes to a worker, and what the segments' digest is made of."""
    cls = TransferConfig if command == "transfer" else TextureConfig
    return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls)})


def lengths(cfg: Any, segment_s: float, overlap_s: float) -> tuple:
    """(segment, overlap) in samples, checked."""
    if not segment_s > 0 or not overlap_s >= 0 or not math.isfinite(segment_s + overlap_s):
        raise ParameterError("segment must be above 0 seconds and overlap at least 0",
                             ("segment", "overlap"))
    length, overlap = int(round(segment_s * cfg.sr)), int(round(overlap_s * cfg.sr))
    if not 2 * overlap < length:
        raise ParameterError(f"overlap ({overlap_s:g} s) must be under half of segment "
                             f"({segment_s:g} s)", ("overlap", "segment"))
    return length, overlap


def is_long(n: int, cfg: Any, segment_s: float) -> bool:
    """Whether a signal of n samples is cut into segments (0 turns segments off)."""
    return segment_s > 0 and n > LONG_FACTOR * segment_s * cfg.sr


def estimate_bytes(cfg: Any, n: int, length: int, style_samples: Iterable[int],
                   has_content: bool) -> int:
    """Peak bytes of a segmented run in one process: one segment's run (model/memory.py)
    plus the song's content, start and result, float32 (and the result's copy written out)."""
    return memory.estimate_bytes(cfg, length, list(style_samples)) + 4 * n * (3 + has_content)


# Options a resumed run may change (engine/run/session.py's RESUMABLE): a finished segment
# stands whatever they become.
RESUMABLE = {"threads", "progress", "checkpoint_every", "maxiter", "patience",
             "min_improvement", "eval_every", "eval_patience", "eval_min_improvement"}


def digest(command: str, cfg: Any, content: Optional[np.ndarray], styles: list,
           wins: list) -> str:
    """What a segment's stored result depends on: a segment is reused only by a run of the
    same inputs, options and cut."""
    config = {k: v for k, v in asdict(cfg).items() if k not in RESUMABLE}
    h = hashlib.sha256(json.dumps([command, config, wins], sort_keys=True).encode())
    for x in ([] if content is None else [content]) + [s for s, _ in styles]:
        h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    h.update(json.dumps([float(w) for _, w in styles]).encode())
    return h.hexdigest()[:20]


class Store:
    """Finished segments on disk, one file each (written whole or not at all): what a
    resumed run does not compute again. No folder: nothing kept."""

    def __init__(self, folder: Optional[str], key: str) -> None:
        self.folder, self.key = folder, key

    def _path(self, k: int) -> Path:
        return Path(self.folder) / f"{self.key}_{k:04d}.npz"

    def load(self, k: int) -> Optional[tuple]:
        if self.folder is None or not self._path(k).is_file():
            return None
        try:
            with np.load(self._path(k)) as z:
                return z["x"], json.loads(bytes(z["report"]).decode())
        except (OSError, ValueError, KeyError):
            return None  # unreadable: computed again

    def save(self, k: int, x: np.ndarray, report: dict) -> None:
        if self.folder is None:
            return
        Path(self.folder).mkdir(parents=True, exist_ok=True)
        text = json.dumps(report, default=float).encode()

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, x=np.asarray(x, dtype=np.float32),
                         report=np.frombuffer(text, dtype=np.uint8))
        atomic_write(str(self._path(k)), write)


_SHARED: dict = {}  # {digest: the style targets of this process's segments}, one kept


def run_segment(command: str, cfg: Any, content: Optional[np.ndarray], styles: list,
                k: int, length: int, key: str, start: Optional[np.ndarray] = None) -> tuple:
    """Segment k's (result, report): a transfer of its stretch of the content or a texture
    of its length, against the style targets this process computed for ``key`` (the first
    segment it runs computes them), from ``start``, its stretch of the song's start.
    Runs anywhere: here, a
    local process, a Dask worker."""
    shared = _SHARED.get(key)
    if shared is None:
        _SHARED.clear()
        shared = _SHARED[key] = {}
    if command == "transfer":
        return transfer(content, styles, cfg, shared=shared, start=start)
    return texture(styles, replace(cfg, seconds=length / cfg.sr), shared=shared,
                   start=start)


def summary(k: int, win: tuple, report: dict) -> dict:
    """A segment's line in the song's report."""
    return {"segment": k, "start": win[0], "end": win[1], "nit": report.get("nit"),
            "nfev": report.get("nfev"), "stop_reason": report.get("stop_reason"),
            "interrupted": report.get("interrupted", False),
            "wall_time_s": report.get("wall_time_s"), "quality": report.get("quality", {}),
            "ran": report.get("ran")}


def song_report(first: dict, parts: list, sr: int, extra: dict) -> dict:
    """The song's report: the first segment's (its config, backend, versions), the
    iterations summed, each segment's line, and the quality figures averaged over the
    segments by length (a measure of the whole song would hold its whole activations)."""
    report = {k: v for k, v in first.items() if k not in ("iterations", "quality_history")}
    report["nit"] = sum(p["nit"] or 0 for p in parts)
    report["nfev"] = sum(p["nfev"] or 0 for p in parts)
    report["iterations"] = []
    report["stop_reason"] = "; ".join(sorted({str(p["stop_reason"]) for p in parts}))
    report["interrupted"] = any(p["interrupted"] for p in parts)
    report.update(extra, segments=parts)
    weights = [p["end"] - p["start"] for p in parts]
    figures = {}
    for name in {n for p in parts for n, v in p["quality"].items() if _number(v)}:
        pairs = [(p["quality"][name], w) for p, w in zip(parts, weights)
                 if _number(p["quality"].get(name))]
        figures[name] = float(sum(v * w for v, w in pairs) / sum(w for _, w in pairs))
    report["quality"] = figures or {"skipped": "not measured"}
    return report


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
