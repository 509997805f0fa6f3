"""Naive source separation (Barry & Kim): components x_1..x_n of the mix's length with

    L = lambda * ||sum_i x_i - mix||^2 + sum_i s_i * L_style(x_i; G_i)

G_i the Gram statistics of example i, s_i the balancing scale of source i (1 without).
All components are one vector for L-BFGS-B.
"""
from __future__ import annotations

import time
from dataclasses import asdict, replace
from typing import Any, Optional

import numpy as np

from engine.config import SeparateConfig
from engine.errors import ParameterError
from engine.model.objective import Objective
from engine.run.modes import (
    VERSION,
    announce,
    build_network,
    gemm_precision,
    initial_signal,
    resolve,
    style_branches,
)
from engine.run.optimize import lbfgs, summary


class SeparationObjective:
    """terms_and_grad over the stacked components (n * N,), as Objective does for one."""

    def __init__(self, mix: np.ndarray, objectives: dict, mix_weight: float) -> None:
        self.mix = np.asarray(mix, dtype=np.float64)
        self.objectives = objectives  # name -> Objective (style only)
        self.mix_weight = float(mix_weight)
        self.scales = {name: 1.0 for name in objectives}
        self.n = len(self.mix)

    def split(self, X: np.ndarray) -> dict:
        return {name: X[i * self.n:(i + 1) * self.n] for i, name in enumerate(self.objectives)}

    def terms_and_grad(self, X: np.ndarray) -> tuple[dict, np.ndarray]:
        parts = self.split(np.asarray(X, dtype=np.float64))
        residual = sum(parts.values()) - self.mix
        terms = {"mix": self.mix_weight * float(residual @ residual)}
        grads = []
        for name, obj in self.objectives.items():
            t, g = obj.terms_and_grad(parts[name])
            terms[f"style_{name}"] = self.scales[name] * t["total"]
            grads.append(self.scales[name] * g + 2 * self.mix_weight * residual)
        terms["total"] = sum(terms.values())
        return terms, np.concatenate(grads)

    def balance(self, X0: np.ndarray) -> dict:
        """Scale each source's style loss so its gradient norm at X0 equals that of an
        unweighted mix term with all components at zero, 2 ||mix|| (at X0 = mix/n it is ~0);
        lambda then weighs the mix term on top, as the user's weights do elsewhere."""
        ref = 2 * float(np.linalg.norm(self.mix))
        for name, part in self.split(X0).items():
            obj = self.objectives[name]
            obj.balance(part)
            norm = float(np.linalg.norm(obj.terms_and_grad(part)[1]))
            self.scales[name] = ref / norm if norm > 0 else 1.0
        return dict(self.scales)


def separate(mix: np.ndarray, examples: dict, config: Optional[SeparateConfig] = None,
             **overrides: Any) -> tuple[dict, dict]:
    """Split ``mix`` into one component per example ({name: signal}), each matching its
    example's style statistics, together summing to the mix. Returns ({name: signal}, report)."""
    started = time.perf_counter()
    cfg = resolve(SeparateConfig, config, overrides)
    if len(examples) < 2:
        raise ParameterError("separation needs two or more sources (--source NAME=FILE)")
    styles = style_branches(cfg)
    if not styles:
        raise ParameterError("separation needs --style-weight or --rhythm-weight above 0")
    signals = {"mix": (mix, styles), **{f"example {n!r}": (e, styles)
                                         for n, e in examples.items()}}
    net = build_network(cfg, signals, len(mix), n_optimized=len(examples))
    announce(cfg, net, f"style Grams of {len(examples)} examples")
    objectives = {name: Objective(net, style=ex, style_weight=cfg.style_weight,
                                  rhythm_weight=cfg.rhythm_weight, l1_weight=cfg.l1_weight)
                  for name, ex in examples.items()}
    sep = SeparationObjective(mix, objectives, cfg.mix_weight)
    n = len(mix)
    # Start from an even split plus a little noise: the sum already matches the mix.
    X0 = np.concatenate([np.asarray(mix, dtype=np.float64) / len(examples)
                         + initial_signal(n, replace(cfg, seed=cfg.seed + i))
                         for i in range(len(examples))])
    scales = sep.balance(X0) if cfg.balance else {}
    with gemm_precision(cfg, net):
        res = lbfgs(sep, X0, maxiter=cfg.maxiter, ftol=cfg.ftol, maxcor=cfg.maxcor,
                    bounds=cfg.bounds, progress=cfg.progress, desc="separate")
    parts = {name: x.astype(np.float32) for name, x in sep.split(res.x).items()}
    residual = sum(p.astype(np.float64) for p in parts.values()) - mix
    report = {
        "mode": "separate",
        "config": asdict(cfg),
        "backend": net.backend.name,
        "sources": list(examples),
        "balance_scales": scales,
        "mix_residual_rel": float(np.linalg.norm(residual) / np.linalg.norm(mix)),
        **summary(res),
        "wall_time_s": round(time.perf_counter() - started, 4),
        "randstyle_version": VERSION,
    }
    return parts, report
