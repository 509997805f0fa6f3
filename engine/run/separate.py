"""Separation of a mix into sources, each like an example recording of its kind: each source
a soft mask of the mix's STFT (docs/design.md §7, engine/run/masks.py), optimized so that its style
statistics match its example's; the sources sum to the mix exactly.

The seed's time-domain form (free components tied to the mix by a penalty) ended below the
equal split or at it on every mix measured, so it is no option here; bench/separation/generated.py
keeps it as the baseline of its table.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

from randstyle.engine.config import SeparateConfig, StatisticsConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.objective import Objective
from randstyle.engine.model.separation_layers import envelope_patch, shift_patch
from randstyle.engine.model.separation_stats import StatsObjective, example_targets
from randstyle.engine.run.common import (
    announce,
    build_network,
    gemm_precision,
    resolve,
    run_report,
    style_branches,
    style_targets,
)
from randstyle.engine.run.masks import MaskSeparation
from randstyle.engine.run.optimize import lbfgs
from randstyle.engine.run.separate_dictionary import separate_dictionary
from randstyle.engine.run.separate_shared import (
    REFERENCE_MEASURE,
    check_references,
    reference_scores,
    transposed,
)


def example_grams(net: Any, example: np.ndarray, cfg: StatisticsConfig) -> dict:
    """The example's style Grams, averaged over its transpositions by -N..N semitones (N =
    cfg.transpose): statistics of the instrument rather than of the example's notes."""
    shifts = range(-cfg.transpose, cfg.transpose + 1)
    styles = [(example if s == 0 else transposed(example, s), 1 / len(shifts)) for s in shifts]
    return style_targets(net, styles, style_branches(cfg), False)


def source_objectives(net: Any, examples: dict, cfg: StatisticsConfig) -> dict:
    """{name: objective} of each source against its example's statistics (cfg.statistics;
    with cfg.transpose, averaged over the example's transpositions)."""
    if cfg.statistics == "gram" and not cfg.envelope_weight and not cfg.shift_weight:
        return {name: Objective(net, style_grams=example_grams(net, ex, cfg),
                                style_weight=cfg.style_weight, rhythm_weight=cfg.rhythm_weight,
                                l1_weight=cfg.l1_weight)
                for name, ex in examples.items()}
    if cfg.l1_weight > 0:
        raise ParameterError("--l1-weight needs --statistics gram")
    shifts = range(-cfg.transpose, cfg.transpose + 1)
    patches = {}
    if cfg.envelope_weight:
        patches["envelope"] = envelope_patch(net, cfg.envelope_width, cfg.envelope_filters)
    if cfg.shift_weight:
        patches["shift"] = shift_patch(net, cfg.shift_width, cfg.shift_filters,
                                       cfg.shift_octaves)
    branches = style_branches(cfg) + tuple(patches)
    weights = {"harmonic": cfg.style_weight, "rhythm": cfg.rhythm_weight,
               "envelope": cfg.envelope_weight, "shift": cfg.shift_weight}
    out = {}
    for name, ex in examples.items():
        styles = [(ex if s == 0 else transposed(ex, s), 1 / len(shifts)) for s in shifts]
        targets = example_targets(net, styles, branches, cfg.statistics, patches)
        out[name] = StatsObjective(net, targets, cfg.statistics, weights, patches)
    return out


def separate(mix: np.ndarray, examples: dict, config: Optional[SeparateConfig] = None, *,
             references: Optional[dict] = None, **overrides: Any) -> tuple[dict, dict]:
    """Split ``mix`` into one component per example ({name: signal}), each matching its
    example's style statistics, together summing to the mix. ``references`` ({name: true
    stem}, optional) adds SDR scores to the report. Returns ({name: signal}, report).
    ``config`` is the method's class (``SeparateConfig(method=...)`` makes it); without one,
    the overrides make it, ``method`` among them."""
    started = time.perf_counter()
    cfg = SeparateConfig(**overrides) if config is None else \
        resolve(SeparateConfig, config, overrides)
    if cfg.method == "dictionary":
        return separate_dictionary(mix, examples, cfg, references=references)
    if len(examples) < 2:
        raise ParameterError("separation needs two or more sources (--source NAME=FILE)")
    styles = style_branches(cfg)
    if not styles and not cfg.envelope_weight and not cfg.shift_weight:
        raise ParameterError("separation needs --style-weight, --rhythm-weight, "
                             "--envelope-weight or --shift-weight above 0")
    check_references(mix, list(examples), references or {})
    signals = {"mix": (mix, styles), **{f"example {n!r}": (e, styles)
                                         for n, e in examples.items()}}
    net = build_network(cfg, signals, len(mix), n_optimized=len(examples))
    announce(cfg, net, f"style Grams of {len(examples)} examples")
    objectives = source_objectives(net, examples, cfg)
    mix64 = np.asarray(mix, dtype=np.float64)
    sep = MaskSeparation(mix64, objectives, cfg.mask_n_fft, cfg.mask_hop_length,
                         cfg.mask_smooth())
    u0 = np.zeros(sep.size)  # equal logits: the equal split
    scales = sep.balance(u0, cfg.balance_sources) if cfg.balance else {}
    # No --bounds: on logits they mean nothing, and a mask never takes a source past the mix.
    with gemm_precision(cfg, net):
        res = lbfgs(sep, u0, maxiter=cfg.maxiter, ftol=cfg.ftol, maxcor=cfg.maxcor,
                    progress=cfg.progress, desc="separate", patience=cfg.patience,
                    min_improvement=cfg.min_improvement)
    found = sep.sources(res.x)
    parts = {name: x.astype(np.float32) for name, x in found.items()}
    residual = sum(found.values()) - mix64
    report = run_report("separate", cfg, net, started, res, sources=list(examples),
                        balance_scales=scales,
                        mix_residual_rel=float(np.linalg.norm(residual) / np.linalg.norm(mix64)))
    if references:
        report["reference"] = reference_scores(mix64, found, references, cfg)
        report["reference_measure"] = REFERENCE_MEASURE
    return parts, report
