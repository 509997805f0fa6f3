"""Whole runs: transfer and texture, each returning the signal and its report."""
from __future__ import annotations

import platform
import sys
import time
from dataclasses import asdict, replace
from typing import Any, Optional

import numpy as np

import kernels
from engine.audio import check_signal
from engine.config import RunConfig, TextureConfig, TransferConfig
from engine.errors import ParameterError
from engine.network import Network
from engine.objective import Objective
from engine.optimize import lbfgs
from kernels.numpy_ref import n_frames

VERSION = "0.1.0"


def _resolve(cls: type, config: Optional[RunConfig], overrides: dict) -> Any:
    config = config if config is not None else cls()
    if not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    return replace(config, **overrides) if overrides else config


def initial_signal(n_samples: int, config: RunConfig) -> np.ndarray:
    """Small seeded noise on the samples the frames cover; zeros on the uncovered tail."""
    rng = np.random.default_rng(config.seed + 1)
    x = np.zeros(n_samples)
    T = n_frames(n_samples, config.n_fft, config.hop_length)
    covered = (T - 1) * config.hop_length + config.n_fft if T else 0
    x[:covered] = rng.standard_normal(covered) * config.init_std
    return x


def _run(mode: str, cfg: RunConfig, network: Network, objective: Objective,
         n_samples: int, started: float) -> tuple[np.ndarray, dict]:
    x0 = initial_signal(n_samples, cfg)
    factors = objective.balance(x0) if cfg.balance else {}
    setup_s = time.perf_counter() - started
    res = lbfgs(objective, x0, maxiter=cfg.maxiter, ftol=cfg.ftol,
                maxcor=cfg.maxcor, bounds=cfg.bounds, progress=cfg.progress, desc=mode)
    report = {
        "mode": mode,
        "config": asdict(cfg),
        "backend": network.backend.name,
        "dtype": cfg.dtype,
        "sr": cfg.sr,
        "n_samples": n_samples,
        "seconds": n_samples / cfg.sr,
        "balance_factors": factors,
        "style_weights": objective.style_weights,
        "content_branch": objective.content_branch if objective.content_target is not None
        else None,
        "initial_loss": res.initial,
        "final_loss": res.history[-1] if res.history else res.initial,
        "iterations": res.history,
        "nit": res.nit,
        "nfev": res.nfev,
        "stop_reason": res.message,
        "setup_time_s": round(setup_s, 4),
        "optimize_time_s": round(res.wall_time_s, 4),
        "wall_time_s": round(time.perf_counter() - started, 4),
        "randstyle_version": VERSION,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    return res.x.astype(np.float32), report


def style_branches(cfg: RunConfig) -> tuple:
    """The style branches a configuration uses: those with a positive weight."""
    return tuple(b for b, w in (("harmonic", cfg.style_weight), ("rhythm", cfg.rhythm_weight))
                 if w > 0)


def build_network(cfg: RunConfig, signals: dict) -> Network:
    """The network, after every signal is checked, so bad input fails before any work.

    ``signals`` maps a name ("content", "style", ...) to (signal, branches it feeds)."""
    for what, (x, _) in signals.items():
        check_signal(np.asarray(x), f"the {what} signal")
    net = Network(cfg.network_config(), backend=cfg.backend)
    if cfg.threads is not None:
        kernels.set_threads(cfg.threads)
    for what, (x, branches) in signals.items():
        net.check_length(len(x), f"the {what}", branches)
    return net


def announce(cfg: RunConfig, net: Network, what: str) -> None:
    if cfg.progress:
        picked = " (auto)" if cfg.backend == "auto" else ""
        print(f"randstyle: backend {net.backend.name}{picked}, {net.dtype}; computing {what}",
              file=sys.stderr)


def _objective(cfg: RunConfig, net: Network, **kwargs: Any) -> Objective:
    return Objective(net, style_weight=cfg.style_weight, rhythm_weight=cfg.rhythm_weight,
                     l1_weight=cfg.l1_weight, **kwargs)


def transfer(content: np.ndarray, style: np.ndarray, config: Optional[TransferConfig] = None,
             **overrides: Any) -> tuple[np.ndarray, dict]:
    """Style transfer of mono float signals at ``config.sr``; the result has the content's
    length. Keyword overrides replace config fields. Returns (signal float32, report dict)."""
    started = time.perf_counter()
    cfg = _resolve(TransferConfig, config, overrides)
    styles = style_branches(cfg)
    content_branches = ("harmonic" if cfg.content_features == "harmonic" else "rhythm",)
    net = build_network(cfg, {"content": (content, content_branches + styles),
                              "style": (style, styles)})
    announce(cfg, net, "content features and style Grams")
    obj = _objective(cfg, net, content=content, style=style, content_weight=cfg.content_weight)
    return _run("transfer", cfg, net, obj, len(content), started)


def texture(style: np.ndarray, config: Optional[TextureConfig] = None,
            **overrides: Any) -> tuple[np.ndarray, dict]:
    """Style-only synthesis of ``config.seconds`` of audio. Returns (signal, report)."""
    started = time.perf_counter()
    cfg = _resolve(TextureConfig, config, overrides)
    styles = style_branches(cfg)
    if not styles:
        raise ParameterError("a texture needs --style-weight or --rhythm-weight above 0")
    n_samples = int(round(cfg.seconds * cfg.sr))
    net = build_network(cfg, {"style": (style, styles)})
    net.check_length(n_samples, "the requested texture", styles)
    announce(cfg, net, "style Grams")
    obj = _objective(cfg, net, style=style)
    return _run("texture", cfg, net, obj, n_samples, started)
