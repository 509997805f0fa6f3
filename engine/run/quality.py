"""The quality measure during and after a run (engine.model.evaluate): figures every
``eval_every`` iterations, a stop when they no longer improve, the final figures."""
from __future__ import annotations

import time
from typing import Optional

import numpy as np

from randstyle.engine.errors import ParameterError
from randstyle.engine.model.evaluate import eval_grams, evaluate


class Monitor:
    """Measures iterates against the styles (and the content); keeps the best by style
    distance. Built once per run: the styles' evaluation Grams are computed here."""

    def __init__(self, sr: int, styles: list, content: Optional[np.ndarray] = None,
                 patience: int = 0, min_improvement: float = 0.0,
                 grams: Optional[dict] = None) -> None:
        began = time.perf_counter()
        self.sr, self.content, self.patience = sr, content, patience
        self.min_improvement = min_improvement
        self.mark: dict = {}  # the last measurement that improved by min_improvement
        self.history: list = []
        self.best: dict = {}
        self.skipped: Optional[str] = None
        try:  # ``grams``: the styles' evaluation Grams computed before (a long run's segments)
            self.grams: Optional[dict] = grams if grams is not None else \
                eval_grams([(s, w) for s, w in styles], sr)
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
        # Progress that no longer pays does not count: only a step of more than
        # min_improvement below the last such step resets the patience.
        if not self.mark or d < self.mark["style_distance"] * (1 - self.min_improvement):
            self.mark = {"style_distance": d, "index": len(self.history)}
        elif self.patience and len(self.history) - self.mark["index"] >= self.patience:
            by = f" by more than {self.min_improvement:g}" if self.min_improvement else ""
            return (f"measure: the style distance has not improved{by} over {self.patience} "
                    f"measurements; the best measured iterate ({self.best['iter']}) returned")
        return None
