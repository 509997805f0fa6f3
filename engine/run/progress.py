"""Progress that tells the truth: where a run will stop, what a set-up phase is doing, and
what the run will roughly cost on this machine.

The bar used to count toward --maxiter (300) while the stop rule (--patience over
--min-improvement, or a texture's measure) ends most runs at 25-40 % of it, so its time left
was off by 3-6x (issue 32). ``predict_stop`` extrapolates the loss's per-iteration relative
decrease (a power law in the iteration, fitted on the recent history) to the iteration where
the decrease over ``patience`` iterations falls below ``min_improvement``: the plateau rule's
own test, ahead of time.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np

# Before a run has a history: where the stop rule ended the runs the issue measured (25-40 %
# of the default 300 iterations), and scipy's evaluations per iteration (line searches).
TYPICAL_ITERATIONS = 100
EVALS_PER_ITERATION = 1.1
MIN_FIT = 4  # iterations before the history is extrapolated
SLOW_PHASE_S = 1.0  # a phase's time is printed once it took this long


def say(progress: bool, message: str) -> None:
    """One line on stderr, as every command's progress line."""
    if progress:
        print(f"randstyle: {message}", file=sys.stderr, flush=True)


@contextmanager
def phase(progress: bool, what: str, begin: bool = True) -> Iterator[None]:
    """A set-up phase that can take long: a line before it (unless ``begin`` is False: the
    caller said it already), and its time after it when it took more than SLOW_PHASE_S (a
    line of silence for minutes reads as a hang)."""
    if begin:
        say(progress, f"{what} ...")
    began = time.perf_counter()
    yield
    took = time.perf_counter() - began
    if took >= SLOW_PHASE_S:
        say(progress, f"{what}: {took:.0f} s")


def predict_stop(history: list, maxiter: int, patience: int, min_improvement: float) -> int:
    """The iteration where the plateau rule (optimize.plateaued) is expected to stop the run,
    from the losses so far; ``maxiter`` when the rule is off or the loss does not slow."""
    done = len(history)
    guess = min(maxiter, max(TYPICAL_ITERATIONS, done + 1))
    if patience <= 0 or min_improvement <= 0:
        return maxiter
    if done < MIN_FIT:
        return guess
    loss = np.array([h["total"] for h in history], dtype=np.float64)
    drop = (loss[:-1] - loss[1:]) / np.maximum(np.abs(loss[:-1]), 1e-300)
    t = np.arange(2, done + 1, dtype=np.float64)
    recent = slice(len(drop) // 2, None)  # the early, fast iterations say little of the end
    ok = drop[recent] > 0
    if ok.sum() < 2:
        return min(maxiter, done + patience)  # no decrease left: the rule fires within patience
    slope, intercept = np.polyfit(np.log(t[recent][ok]), np.log(drop[recent][ok]), 1)
    if slope >= -1e-3:  # the drops do not shrink: the rule fires within patience if they are
        # already under its threshold, and never otherwise
        level = patience * np.exp(intercept) * t[-1] ** slope
        return min(maxiter, done + patience) if level < min_improvement else maxiter
    # patience * c * T^slope < min_improvement  =>  T > (min_improvement / (patience c))^(1/slope)
    at = (np.log(min_improvement / patience) - intercept) / slope
    return int(np.clip(np.ceil(np.exp(min(at, 50.0))), done + 1, maxiter))


def cost_line(eval_s: float, n_samples: int, sr: int, maxiter: int,
              memory_bytes: Optional[int] = None, what: str = "this run") -> str:
    """What ``what`` will roughly cost here: one evaluation's measured time times the
    iterations the stop rule usually allows, and the estimated peak memory."""
    iterations = min(maxiter, TYPICAL_ITERATIONS)
    total = eval_s * EVALS_PER_ITERATION * iterations
    mem = "" if memory_bytes is None else f", peak memory about {memory_bytes / 2**20:.0f} MiB"
    return (f"one evaluation of {n_samples / sr:.1f} s takes {eval_s:.2f} s here; {what}: "
            f"about {clock(total)} at the ~{iterations} iterations the stop rule usually "
            f"allows (--maxiter {maxiter} at most){mem}")


def clock(seconds: float) -> str:
    """h:mm:ss or m:ss."""
    s = int(round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def expected_stop(history: list, maxiter: int, patience: int, min_improvement: float,
                  monitor: object = None, monitor_every: int = 0) -> int:
    """The bar's total: the earlier of the plateau rule's predicted stop and, when a measure
    stops the run (a texture's --eval-patience), the measure's, extrapolated the same way
    over its measurements (one every ``monitor_every`` iterations)."""
    stop = predict_stop(history, maxiter, patience, min_improvement)
    measured = getattr(monitor, "history", None)
    if monitor_every and getattr(monitor, "patience", 0) and measured:
        distances = [{"total": m["style_distance"]} for m in measured if "style_distance" in m]
        if distances:
            at = predict_stop(distances, -(-maxiter // monitor_every), monitor.patience,
                              monitor.min_improvement)
            mark = getattr(monitor, "mark", {}).get("index", len(measured))
            if mark < len(measured):  # not improving now: it fires unless that changes
                at = min(at, mark + monitor.patience)
            stop = min(stop, max(at * monitor_every, len(history) + 1))
    return max(min(stop, maxiter), len(history))
