"""What every mode shares: its configuration, its network, its announcement, its precision,
its style targets and its report's fields (engine/run/modes.py, separate.py and
reconstruct.py take these from here, not from each other)."""
from __future__ import annotations

import platform
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any, Iterator, Optional

import numpy as np

from randstyle import kernels
from randstyle.engine.audio import check_signal
from randstyle.engine.config import RunConfig
from randstyle.engine.model import memory
from randstyle.engine.model.ensemble import member_configs
from randstyle.engine.model.network import Network
from randstyle.engine.model.style_target import combine
from randstyle.engine.run.optimize import summary
from randstyle.engine.version import __version__


def run_report(mode: str, cfg: Any, net: Network, started: float, res: Any = None,
           **fields: Any) -> dict:
    """A run's report, the same fields for every mode in one order: what ran (mode, config,
    backend, dtype, sr), the optimizer's summary when the mode ran one optimization (``res``),
    the wall time and the versions, then the mode's own ``fields`` (a transfer's ends with its
    quality figures)."""
    return {"mode": mode, "config": asdict(cfg), "backend": net.backend.name,
            "dtype": cfg.dtype, "sr": cfg.sr, **(summary(res) if res is not None else {}),
            "wall_time_s": round(time.perf_counter() - started, 4),
            "randstyle_version": __version__, "python": platform.python_version(),
            "numpy": np.__version__, **fields}


def resolve(cls: type, config: Optional[RunConfig], overrides: dict) -> Any:
    config = config if config is not None else cls()
    if not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    return replace(config, **overrides) if overrides else config


def style_branches(cfg: RunConfig) -> tuple:
    """The style branches a configuration uses: those with a positive weight."""
    return tuple(b for b, w in (("harmonic", cfg.style_weight), ("rhythm", cfg.rhythm_weight))
                 if w > 0)


def build_network(cfg: RunConfig, signals: dict, n_samples: Optional[int] = None,
                  n_optimized: int = 1) -> Network:
    """The network, after every signal is checked, so bad input fails before any work.

    ``signals`` maps a name ("content", "style", ...) to (signal, branches it feeds);
    ``n_optimized`` signals of ``n_samples`` are optimized (default: the first signal's
    length). A run estimated above the memory available is refused here (model/memory.py)."""
    for what, (x, _) in signals.items():
        check_signal(np.asarray(x), f"the {what} signal")
    lengths = [len(x) for x, _ in signals.values()]
    n = n_samples if n_samples is not None else lengths[0]
    styles = [k for name, k in zip(signals, lengths) if "style" in name or "example" in name]
    memory.check(cfg, n, styles, n_optimized)
    memory.check_device(cfg, kernels.get_backend(cfg.backend), n, styles, n_optimized)
    net = Network(cfg.network_config(), backend=cfg.backend)
    if cfg.threads is not None:
        kernels.set_threads(cfg.threads)
    if cfg.tf32 and not hasattr(net.backend, "tf32") and cfg.progress:
        print(f"randstyle: --tf32 has no effect on the {net.backend.name} backend",
              file=sys.stderr)
    for what, (x, branches) in signals.items():
        net.check_length(len(x), f"the {what}", branches)
    return net


@contextmanager
def gemm_precision(cfg: Any, net: Network) -> Iterator[None]:
    """TF32 matmuls inside when --tf32 asks for them on a backend that has them (the
    optimization only: target features and Grams are computed at full precision); the
    backend's previous setting comes back after. Without --tf32 nothing is touched, so a
    user's own CUPY_TF32 holds."""
    if cfg.tf32 and hasattr(net.backend, "tf32"):
        with net.backend.tf32():
            yield
    else:
        yield


def announce(cfg: RunConfig, net: Network, what: str) -> None:
    if cfg.progress:
        picked = " (auto)" if cfg.backend == "auto" else ""
        print(f"randstyle: backend {net.backend.name}{picked}, {net.dtype}; computing {what}",
              file=sys.stderr)


def style_targets(net: Network, styles: list, branches: tuple, progress: bool) -> dict:
    """The weight-averaged style targets of several style signals, branch by branch, layer by
    layer: Grams, plus the factors the Gram-free loss uses where they pay
    (model/style_target.py); one style passes through without copies."""
    per_style = [(net.style_targets(x, branches, progress=progress), w) for x, w in styles]
    tol = net.config.style_factor_tol
    return {b: combine(net.backend.xp, [(t[b], w) for t, w in per_style], tol)
            for b in branches}


def style_grams(net: Network, styles: list, branches: tuple, progress: bool) -> dict:
    """The weight-averaged Grams of several style signals, branch by branch, layer by layer."""
    return {b: [t.gram for t in layers]
            for b, layers in style_targets(net, styles, branches, progress).items()}


def member_networks(cfg: Any, net: Network, shortest: int) -> list:
    """The --networks members of a texture's or a transfer's style (engine/model/ensemble.py):
    1/N of the filters each, own seeds, STFT sizes (--n-ffts) and widths that fit the
    ``shortest`` signal, on ``net``'s backend."""
    configs = member_configs(cfg.network_config(), cfg.networks, cfg.member_widths("harmonic"),
                             cfg.member_widths("rhythm"), n_samples=shortest,
                             n_ffts=cfg.member_n_ffts())
    members = [Network(c, backend=net.backend.name) for c in configs]
    for m in members:
        m.check_length(shortest, f"the shortest signal (for a network of n_fft {m.config.n_fft};"
                       " --n-ffts sets them)", style_branches(cfg))
    return members
