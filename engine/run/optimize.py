"""L-BFGS-B on the signal itself, with a progress bar driven by the iteration callback,
periodic checkpoints, and Ctrl-C returning the best point seen so far."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from scipy.optimize import Bounds, minimize
from tqdm import tqdm

from engine.run import interrupt

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


def lbfgs(objective: Any, x0: np.ndarray, *, maxiter: int = 300, ftol: float = 1e-9,
          maxcor: int = 20, bounds: bool = False, progress: bool = True,
          desc: str = "optimizing", history: Optional[list] = None,
          checkpoint: Optional[Callable[[np.ndarray, list], None]] = None,
          checkpoint_every: int = 0, patience: int = 0, min_improvement: float = 0.0,
          monitor: Optional[Callable[[np.ndarray, dict], Optional[str]]] = None,
          monitor_every: int = 0) -> OptimResult:
    """Minimize ``objective.terms_and_grad`` over x with scipy's L-BFGS-B (float64 on scipy's
    side). ``history`` continues a resumed run (its length counts against ``maxiter``);
    ``checkpoint(x, history)`` runs every ``checkpoint_every`` iterations. The run stops early
    when the loss plateaus (``plateaued``) or when ``monitor(x, entry)``, called every
    ``monitor_every`` iterations, returns a reason; the monitor's time is kept out of the
    iterations' ``time_s`` and ``wall_time_s`` (it is ``monitor_time_s``). Ctrl-C
    (KeyboardInterrupt) ends the run with the lowest-loss point evaluated, flagged
    ``interrupted``."""
    x0 = np.asarray(x0, dtype=np.float64)
    result = OptimResult(x=x0, history=list(history or []))
    done = len(result.history)
    last: dict = {}
    best = {"loss": np.inf, "x": x0}
    stop: dict = {}
    calls = [0]  # evaluations: a load-independent clock for comparing runs

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        terms, grad = objective.terms_and_grad(x)
        calls[0] += 1
        last["x"], last["terms"] = x.copy(), terms
        if terms["total"] < best["loss"]:
            best["loss"], best["x"] = terms["total"], last["x"]
        return float(terms["total"]), grad

    start = time.perf_counter()
    fun(x0)
    result.initial = last["terms"]
    bar = tqdm(total=maxiter, initial=done, desc=desc, disable=not progress, unit="it",
               dynamic_ncols=True)

    def callback(intermediate_result) -> None:
        x = intermediate_result.x
        # The accepted iterate is nearly always the last point evaluated; if not, measure it.
        terms = last["terms"] if np.array_equal(x, last.get("x")) else \
            objective.terms_and_grad(x)[0]
        entry = {"iter": len(result.history) + 1,
                 "time_s": round(time.perf_counter() - start - result.monitor_time_s, 4),
                 "nfev": calls[0], **terms}
        result.history.append(entry)
        bar.set_postfix({k: f"{v:.4g}" for k, v in terms.items()}, refresh=False)
        bar.update(1)
        if checkpoint is not None and checkpoint_every and \
                len(result.history) % checkpoint_every == 0:
            checkpoint(x, result.history)
        if monitor is not None and monitor_every and entry["iter"] % monitor_every == 0:
            began = time.perf_counter()
            reason = monitor(x, entry)
            result.monitor_time_s += time.perf_counter() - began
            if reason:
                stop["reason"] = reason
        if not stop and plateaued(result.history, patience, min_improvement):
            stop["reason"] = PLATEAU.format(tol=min_improvement, n=patience)
        if stop:
            raise StopIteration  # scipy ends the run and returns this iterate

    try:
        if maxiter - done > 0:
            res = minimize(fun, x0, jac=True, method="L-BFGS-B", callback=callback,
                           bounds=Bounds(-1.0, 1.0) if bounds else None,
                           options={"maxiter": maxiter - done, "ftol": ftol, "maxcor": maxcor,
                                    "gtol": 0.0})
            result.x = res.x
            result.message = stop.get("reason") or (
                MAXITER if "ITERATIONS" in str(res.message) else str(res.message))
            result.nit, result.nfev = done + int(res.nit), int(res.nfev)
        else:
            result.message = "no iterations left: maxiter reached before resuming"
            result.nit = done
    except BaseException as exc:  # Ctrl-C, or SIGTERM through engine.run.interrupt
        stopped = interrupt.wrapped(exc)
        if stopped is None:
            raise
        result.x, result.interrupted = best["x"], True
        result.message = interrupt.stop_message(stopped)
        result.nit = len(result.history)
    finally:
        bar.close()
    result.wall_time_s = time.perf_counter() - start - result.monitor_time_s
    return result
