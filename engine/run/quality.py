"""The quality measure during and after a run (engine.model.evaluate): figures every
``eval_every`` iterations, a stop when they no longer improve, the final figures."""
from __future__ import annotations

import time
from typing import Optional

import numpy as np

from engine.errors import ParameterError
from engine.model.evaluate import eval_grams, evaluate


class Monitor:
    """Measures iterates against the styles (and the content); keeps the best by style
    distance. Built once per run: the styles' evaluation Grams are computed here."""

    def __init__(self, sr: int, styles: list, content: Optional[np.ndarray] = None,
                 patience: int = 0) -> None:
        began = time.perf_counter()
        self.sr, self.content, self.patience = sr, content, patience
        self.history: list = []
        self.best: dict = {}
        self.skipped: Optional[str] = None
        try:
            self.grams: Optional[dict] = eval_grams([(s, w) for s, w in styles], sr)
        except ParameterError as exc:  # shorter than the evaluation network's field
            self.grams, self.skipped = None, f"not measured: {exc}"
        self.time_s = time.perf_counter() - began

    def figures(self, x: np.ndarray) -> dict:
        if self.skipped:
            return {"skipped": self.skipped}
        began = time.perf_counter()
        try:
            out = evaluate(np.asarray(x, dtype=np.float32), self.sr, style_grams=self.grams,
                           content=self.content)
        except ParameterError as exc:  # a result too short for the measure
            out = {"skipped": f"not measured: {exc}"}
        self.time_s += time.perf_counter() - began
        return out

    def __call__(self, x: np.ndarray, entry: dict) -> Optional[str]:
        """Record the figures of iterate ``x`` (``entry``: its loss history entry); a reason
        to stop when the style distance has not improved over ``patience`` measurements."""
        figures = self.figures(x)
        self.history.append({"iter": entry["iter"], "time_s": entry["time_s"], **figures})
        d = figures.get("style_distance")
        if d is None:
            return None
        if not self.best or d < self.best["style_distance"]:
            self.best = {"style_distance": d, "iter": entry["iter"], "x": np.array(x)}
        elif self.patience and len(self.history) - self._best_index() >= self.patience:
            return (f"measure: the style distance has not improved over {self.patience} "
                    f"measurements; the best measured iterate ({self.best['iter']}) returned")
        return None

    def _best_index(self) -> int:
        return next(i for i, h in enumerate(self.history) if h["iter"] == self.best["iter"]) + 1
