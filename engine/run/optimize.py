"""L-BFGS-B on the signal itself, with a progress bar driven by the iteration callback,
periodic checkpoints, and Ctrl-C returning the best point seen so far."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from tqdm import tqdm

from randstyle.engine.run import interrupt
from randstyle.engine.run.progress import expected_stop

PLATEAU = "plateau: the loss fell by less than {tol:g} (relative) over the last {n} iterations"
MAXITER = "maxiter reached"


@dataclass
class OptimResult:
    x: np.ndarray
    history: list = field(default_factory=list)  # one dict of loss terms per iteration
    initial: dict = field(default_factory=dict)
    message: str = ""
    nit: int = 0
    nfev: int = 0
    wall_time_s: float = 0.0  # optimization only: the monitor's time is in monitor_time_s
    interrupted: bool = False
    monitor_time_s: float = 0.0


def summary(res: OptimResult) -> dict:
    """The optimizer's part of a run report."""
    return {"initial_loss": res.initial,
            "final_loss": res.history[-1] if res.history else res.initial,
            "iterations": res.history, "nit": res.nit, "nfev": res.nfev,
            "stop_reason": res.message, "interrupted": res.interrupted}


def plateaued(history: list, patience: int, min_improvement: float) -> bool:
    """True when the loss fell by less than ``min_improvement`` (relative) over the last
    ``patience`` iterations; never with ``patience`` 0 or fewer iterations than that."""
    if patience <= 0 or len(history) <= patience:
        return False
    then, now = history[-1 - patience]["total"], history[-1]["total"]
    return then - now < min_improvement * abs(then)


@dataclass
class _Watch:
    """What scipy's two callbacks share: the objective, the run's result and history, the
    last and best points evaluated, and why the run should stop."""
    objective: Any
    result: OptimResult
    checkpoint: Optional[Callable[[np.ndarray, list], None]] = None
    checkpoint_every: int = 0
    monitor: Optional[Callable[[np.ndarray, dict], Optional[str]]] = None
    monitor_every: int = 0
    patience: int = 0
    min_improvement: float = 0.0
    maxiter: int = 0
    bar: Any = None
    start: float = field(default_factory=time.perf_counter)
    last: dict = field(default_factory=dict)
    best: dict = field(default_factory=dict)
    stop: str = ""
    calls: int = 0  # evaluations: a load-independent clock for comparing runs

    def fun(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        interrupt.unheard()  # a signal whose exception a finalizer dropped still stops the run
        terms, grad = self.objective.terms_and_grad(x)
        self.calls += 1
        self.last["x"], self.last["terms"] = x.copy(), terms
        if terms["total"] < self.best.get("loss", np.inf):
            self.best["loss"], self.best["x"] = terms["total"], self.last["x"]
        return float(terms["total"]), grad

    def callback(self, intermediate_result: Any) -> None:
        x = intermediate_result.x
        # The accepted iterate is nearly always the last point evaluated; if not, measure it.
        terms = self.last["terms"] if np.array_equal(x, self.last.get("x")) else \
            self.objective.terms_and_grad(x)[0]
        history = self.result.history
        elapsed = time.perf_counter() - self.start - self.result.monitor_time_s
        entry = {"iter": len(history) + 1, "time_s": round(elapsed, 4), "nfev": self.calls,
                 **terms}
        history.append(entry)
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in terms.items()}, refresh=False)
        # The bar ends where the stop rule is expected to end the run, not at --maxiter.
        self.bar.total = expected_stop(history, self.maxiter, self.patience,
                                       self.min_improvement, self.monitor, self.monitor_every)
        self.bar.update(1)
        if self.checkpoint is not None and self.checkpoint_every and \
                len(history) % self.checkpoint_every == 0:
            self.checkpoint(x, history)
        self._measure(x, entry)
        if not self.stop and plateaued(history, self.patience, self.min_improvement):
            self.stop = PLATEAU.format(tol=self.min_improvement, n=self.patience)
        if self.stop:
            raise StopIteration  # scipy ends the run and returns this iterate

    def _measure(self, x: np.ndarray, entry: dict) -> None:
        """The monitor, every ``monitor_every`` iterations, its time kept apart."""
        if self.monitor is None or not self.monitor_every or entry["iter"] % self.monitor_every:
            return
        began = time.perf_counter()
        reason = self.monitor(x, entry)
        self.result.monitor_time_s += time.perf_counter() - began
        if reason:
            self.stop = reason


def _minimize(watch: _Watch, x0: np.ndarray, done: int, maxiter: int, ftol: float,
              maxcor: int, bounds: bool) -> None:
    """scipy's L-BFGS-B for the iterations left; its outcome into ``watch.result``."""
    result = watch.result
    if maxiter - done <= 0:
        result.message = "no iterations left: maxiter reached before resuming"
        result.nit = done
        return
    from scipy.optimize import Bounds, minimize  # here: 0.7 CPU s at import, engine/audio.py
    res = minimize(watch.fun, x0, jac=True, method="L-BFGS-B", callback=watch.callback,
                   bounds=Bounds(-1.0, 1.0) if bounds else None,
                   options={"maxiter": maxiter - done, "ftol": ftol, "maxcor": maxcor,
                            "gtol": 0.0})
    result.x = res.x
    result.message = watch.stop or (
        MAXITER if "ITERATIONS" in str(res.message) else str(res.message))
    result.nit, result.nfev = done + int(res.nit), int(res.nfev)


def lbfgs(objective: Any, x0: np.ndarray, *, maxiter: int = 300, ftol: float = 1e-9,
          maxcor: int = 20, bounds: bool = False, progress: bool = True,
          desc: str = "optimizing", history: Optional[list] = None,
          checkpoint: Optional[Callable[[np.ndarray, list], None]] = None,
          checkpoint_every: int = 0, patience: int = 0, min_improvement: float = 0.0,
          monitor: Optional[Callable[[np.ndarray, dict], Optional[str]]] = None,
          monitor_every: int = 0,
          first_eval: Optional[Callable[[float], None]] = None) -> OptimResult:
    """Minimize ``objective.terms_and_grad`` over x with scipy's L-BFGS-B (float64 on scipy's
    side). ``history`` continues a resumed run (its length counts against ``maxiter``);
    ``checkpoint(x, history)`` runs every ``checkpoint_every`` iterations. The run stops early
    when the loss plateaus (``plateaued``) or when ``monitor(x, entry)``, called every
    ``monitor_every`` iterations, returns a reason; the monitor's time is kept out of the
    iterations' ``time_s`` and ``wall_time_s`` (it is ``monitor_time_s``); ``first_eval``
    gets the first evaluation's seconds (the run's cost announced up front). Ctrl-C
    (KeyboardInterrupt) ends the run with the lowest-loss point evaluated, flagged
    ``interrupted``."""
    x0 = np.asarray(x0, dtype=np.float64)
    result = OptimResult(x=x0, history=list(history or []))
    done = len(result.history)
    watch = _Watch(objective, result, checkpoint, checkpoint_every, monitor, monitor_every,
                   patience, min_improvement, maxiter, best={"loss": np.inf, "x": x0})
    began = time.perf_counter()
    watch.fun(x0)
    if first_eval is not None:
        first_eval(time.perf_counter() - began)
    result.initial = watch.last["terms"]
    total = expected_stop(result.history, maxiter, patience, min_improvement)
    watch.bar = tqdm(total=total, initial=done, desc=desc, disable=not progress, unit="it",
                     dynamic_ncols=True)
    try:
        _minimize(watch, x0, done, maxiter, ftol, maxcor, bounds)
    except BaseException as exc:  # Ctrl-C, or SIGTERM through engine.run.interrupt
        stopped = interrupt.wrapped(exc)
        if stopped is None:
            raise
        result.x, result.interrupted = watch.best["x"], True
        result.message = interrupt.stop_message(stopped)
        result.nit = len(result.history)
    finally:
        watch.bar.total = watch.bar.n  # where it did stop
        watch.bar.close()
    result.wall_time_s = time.perf_counter() - watch.start - result.monitor_time_s
    return result
