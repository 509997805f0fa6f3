"""Checkpoints: what a stopped run needs to continue, in one .npz written atomically."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from randstyle.engine.audio import atomic_write
from randstyle.engine.errors import ParameterError

FORMAT = 1


def path_for(wav: str) -> str:
    return str(Path(wav).with_suffix(".ckpt.npz"))


def save(path: str, *, command: str, args: dict, parts_done: list, part_reports: list,
         x: np.ndarray, history: list) -> None:
    """The finished parts (channels), the current part's signal and iteration history, and
    the run's options (with its inputs and outputs)."""
    meta = {"format": FORMAT, "command": command, "args": args, "history": history,
            "part_reports": part_reports, "n_done": len(parts_done)}
    arrays = {f"part{i}": np.asarray(p, dtype=np.float32) for i, p in enumerate(parts_done)}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                     x=np.asarray(x, dtype=np.float64), **arrays)
    atomic_write(path, write)


def load(path: str) -> dict:
    if not Path(path).is_file():
        raise ParameterError(f"checkpoint not found: {path}")
    try:
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            state = {**meta, "x": z["x"],
                     "parts_done": [z[f"part{i}"] for i in range(meta["n_done"])]}
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ParameterError(f"{path} is not a randstyle checkpoint: {exc}") from None
    if state.get("format") != FORMAT:
        raise ParameterError(f"{path}: unsupported checkpoint format {state.get('format')}")
    return state
