"""L-BFGS-B on the signal itself, with a progress bar driven by the iteration callback."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, minimize
from tqdm import tqdm

from engine.objective import Objective


@dataclass
class OptimResult:
    x: np.ndarray
    history: list = field(default_factory=list)  # one dict of loss terms per iteration
    initial: dict = field(default_factory=dict)
    message: str = ""
    nit: int = 0
    nfev: int = 0
    wall_time_s: float = 0.0


def lbfgs(objective: Objective, x0: np.ndarray, *, maxiter: int = 300, ftol: float = 1e-9,
          maxcor: int = 20, bounds: bool = False, progress: bool = True,
          desc: str = "optimizing") -> OptimResult:
    """Minimize the objective over x with scipy's L-BFGS-B (float64 on scipy's side)."""
    x0 = np.asarray(x0, dtype=np.float64)
    result = OptimResult(x=x0)
    last: dict = {}

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        terms, grad = objective.terms_and_grad(x)
        last["x"], last["terms"] = x.copy(), terms
        return float(terms["total"]), grad

    start = time.perf_counter()
    result.initial = objective.terms_and_grad(x0)[0]
    bar = tqdm(total=maxiter, desc=desc, disable=not progress, unit="it", dynamic_ncols=True)

    def callback(intermediate_result) -> None:
        x = intermediate_result.x
        # The accepted iterate is nearly always the last point evaluated; if not, measure it.
        terms = last["terms"] if np.array_equal(x, last.get("x")) else \
            objective.terms_and_grad(x)[0]
        result.history.append({"iter": len(result.history) + 1,
                               "time_s": round(time.perf_counter() - start, 4), **terms})
        bar.set_postfix({k: f"{v:.4g}" for k, v in terms.items()}, refresh=False)
        bar.update(1)

    try:
        res = minimize(fun, x0, jac=True, method="L-BFGS-B", callback=callback,
                       bounds=Bounds(-1.0, 1.0) if bounds else None,
                       options={"maxiter": maxiter, "ftol": ftol, "maxcor": maxcor,
                                "gtol": 0.0})
    finally:
        bar.close()
    result.x, result.message = res.x, str(res.message)
    result.nit, result.nfev = int(res.nit), int(res.nfev)
    result.wall_time_s = time.perf_counter() - start
    return result
