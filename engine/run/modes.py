"""Whole runs: transfer and texture, each returning the signal and its report."""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from typing import Any, Callable, Optional

import numpy as np

from randstyle import kernels
from randstyle.engine.config import RunConfig, TextureConfig, TransferConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model import memory
from randstyle.engine.model.autocorr import autocorr_targets
from randstyle.engine.model.ensemble import SEED_STRIDE, Ensemble
from randstyle.engine.model.network import Network
from randstyle.engine.model.objective import Objective
from randstyle.engine.model.spectrum import BURIED_DB, content_offset_db, spectrum_target
from randstyle.engine.model.style_target import weighted_styles
from randstyle.engine.run.choice import choose
from randstyle.engine.run.common import (
    announce,
    build_network,
    gemm_precision,
    member_networks,
    resolve,
    run_report,
    style_branches,
    style_targets,
)
from randstyle.engine.run.optimize import lbfgs
from randstyle.engine.run.progress import cost_line, phase, say
from randstyle.engine.run.quality import Monitor
from randstyle.engine.run.start import init_signal, initial_signal, resolve_init
from randstyle.engine.run.style_keys import transposed_styles


def _run(mode: str, cfg: RunConfig, network: Network, objective: Objective,
         n_samples: int, started: float, resume: Optional[dict] = None,
         checkpoint: Optional[Callable] = None, *, styles: Optional[list] = None,
         content: Optional[np.ndarray] = None, fields: Optional[dict] = None,
         cost: bool = True, shared: Optional[dict] = None, start: Optional[np.ndarray] = None,
         given: Optional[RunConfig] = None) -> tuple[np.ndarray, dict]:
    init = resolve_init(cfg.init, mode)  # the report has ``given``, the config as given
    # A long run's segment (engine/run/segments.py) starts from its stretch of the song's
    # start, so two segments start alike where they overlap.
    x0 = init_signal(init, n_samples, content, styles or [], cfg) if start is None else \
        np.asarray(start, dtype=np.float64)
    # A transfer is balanced at the seeded noise whatever its start (at the content the
    # content term's gradient is zero); a texture at its own start, as bench/texture.py
    # measured it. Both are seeded, so a resumed run optimizes the same objective.
    at = x0 if content is None else initial_signal(n_samples, cfg)
    factors = _balance(cfg, objective, at)
    if resume is not None:
        x0 = np.asarray(resume["x"], dtype=np.float64)
        if x0.shape != (n_samples,):
            raise ParameterError(f"checkpoint holds {x0.size} samples, the run needs {n_samples}")
    monitor = _monitor(cfg, styles or [], content, shared)
    every = cfg.eval_every
    if every and monitor.skipped:
        if mode != "texture":  # texture measures by default: a short one just runs unmeasured
            raise ParameterError(f"--eval-every: {monitor.skipped}")
        every = 0
    setup_s = time.perf_counter() - started - monitor.time_s
    first_eval = _announce_cost(cfg, n_samples, styles or []) if cost else None
    with gemm_precision(cfg, network):
        res = lbfgs(objective, x0, maxiter=cfg.maxiter, ftol=cfg.ftol, maxcor=cfg.maxcor,
                    bounds=cfg.bounds, progress=cfg.progress, desc=mode,
                    history=None if resume is None else resume["history"],
                    checkpoint=checkpoint, checkpoint_every=cfg.checkpoint_every,
                    patience=cfg.patience, min_improvement=cfg.min_improvement,
                    monitor=monitor, monitor_every=every, first_eval=first_eval)
    returned = res.nit
    if res.message.startswith("measure:"):  # the best measured iterate, not the last
        res.x, returned = monitor.best["x"], monitor.best["iter"]
    quality = monitor.figures(res.x)
    report = run_report(
        mode, cfg if given is None else given, network, started, res,
        n_samples=n_samples,
        seconds=n_samples / cfg.sr,
        balance_factors=factors,
        style_weights=objective.style_weights,
        style_algorithms=dict(getattr(objective, "style_algorithms", {})),
        content_branch=objective.content_branch if objective.content_target is not None
        else None,
        resumed_at_iteration=None if resume is None else len(resume["history"]),
        setup_time_s=round(setup_s, 4),
        optimize_time_s=round(res.wall_time_s, 4),
        eval_time_s=round(monitor.time_s, 4),
        init=init,
        returned_iteration=returned,
        quality_history=monitor.history,
        **({"networks": objective.describe()} if isinstance(objective, Ensemble) else {}),
        **(fields or {}),
        quality=quality,
    )
    return res.x.astype(np.float32), report


def _balance(cfg: RunConfig, objective: Objective, at: np.ndarray) -> dict:
    if not cfg.balance:
        return {}
    with phase(cfg.progress, "balancing the terms (a first run also compiles the kernels)"):
        return objective.balance(at)


def _monitor(cfg: RunConfig, styles: list, content: Optional[np.ndarray],
             shared: Optional[dict]) -> Monitor:
    """The run's quality measure; a long run's segments share the styles' evaluation Grams."""
    monitor = Monitor(cfg.sr, styles, content, cfg.eval_patience, cfg.eval_min_improvement,
                      grams=None if shared is None else shared.get("eval_grams"))
    if shared is not None and monitor.grams is not None:
        shared["eval_grams"] = monitor.grams
    return monitor


def _announce_cost(cfg: RunConfig, n_samples: int, styles: list) -> Callable:
    """The up-front line, once the first evaluation is timed (progress.cost_line)."""
    def first_eval(seconds: float) -> None:
        if cfg.progress:
            need = memory.estimate_bytes(cfg, n_samples, [len(x) for x, _ in styles])
            say(True, cost_line(seconds, n_samples, cfg.sr, cfg.maxiter, need))
    return first_eval


def _memo(shared: Optional[dict], key: tuple, make: Callable) -> Any:
    """make() once per ``shared`` dict (a long run's segments: the same style targets for
    every segment, computed once), or every time without one."""
    if shared is None:
        return make()
    if key not in shared:
        shared[key] = make()
    return shared[key]


def _objective(cfg: RunConfig, net: Network, styles: list, n_samples: int,
               shared: Optional[dict] = None, harmonic_styles: Optional[list] = None,
               **kwargs: Any) -> Objective:
    """One network's objective; ``harmonic_styles`` (default ``styles``): what the harmonic
    branch's Grams and the band spectrum are taken over (run/style_keys.py), the rhythm
    branch and the autocorrelation keeping ``styles``. With ``shared``, the targets are
    computed once for all of a long run's segments."""
    tonal = styles if harmonic_styles is None else harmonic_styles
    branches = style_branches(cfg)
    key = repr(net.config)
    targets = _memo(shared, ("grams", key), lambda: {
        **style_targets(net, tonal, tuple(b for b in branches if b == "harmonic"),
                        cfg.progress),
        **style_targets(net, styles, tuple(b for b in branches if b != "harmonic"),
                        cfg.progress)})
    autocorr = _memo(shared, ("autocorr", key, n_samples), lambda: autocorr_targets(
        net, styles, cfg.autocorr_branch_names(), cfg.autocorr_lags, n_samples)) \
        if cfg.autocorr_weight > 0 else None
    spectrum = _memo(shared, ("spectrum", key),
                     lambda: spectrum_target(net, tonal, cfg.spectrum_bands)) \
        if cfg.spectrum_weight > 0 else None
    return Objective(net, style_weight=cfg.style_weight, rhythm_weight=cfg.rhythm_weight,
                     l1_weight=cfg.l1_weight, style_grams=targets,
                     autocorr_weight=cfg.autocorr_weight, autocorr_targets=autocorr,
                     spectrum_weight=cfg.spectrum_weight, spectrum_target=spectrum, **kwargs)


def _style_signals(styles: list, branches: tuple) -> dict:
    names = ["style"] if len(styles) == 1 else [f"style {i + 1}" for i in range(len(styles))]
    return {name: (x, branches) for name, (x, _) in zip(names, styles)}


def transfer(content: np.ndarray, style: Any, config: Optional[TransferConfig] = None, *,
             resume: Optional[dict] = None, checkpoint: Optional[Callable] = None,
             shared: Optional[dict] = None, start: Optional[np.ndarray] = None,
             **overrides: Any) -> tuple[np.ndarray, dict]:
    """Style transfer of mono float signals at ``config.sr``; the result has the content's
    length. ``style`` is one signal or a list of (signal, weight) pairs whose Grams are
    averaged by weight. Keyword overrides replace config fields. ``resume`` ({"x", "history"})
    continues a checkpointed run; ``checkpoint(x, history)`` is called every
    ``config.checkpoint_every`` iterations. ``shared`` (a dict kept between calls) holds the
    style targets after the first call, and ``start`` replaces the --init start: a long
    content's segments (engine/run/segments.py). Returns (signal float32, report dict)."""
    started = time.perf_counter()
    cfg = resolve(TransferConfig, config, overrides)
    styles = weighted_styles(style)
    # The report's config keeps the options as given (a batch compares them with its row's);
    # what the choice set is the report's "choice".
    given, (cfg, choice) = cfg, choose(cfg, styles, content)
    branches = style_branches(cfg)
    content_branches = ("harmonic" if cfg.content_features == "harmonic" else "rhythm",)
    net = build_network(cfg, {"content": (content, content_branches + branches),
                              **_style_signals(styles, branches)})
    announce(cfg, net, "content features and style Grams")
    _resuming(cfg, resume)
    # A segment's own offset would warn once a segment: its song's is the caller's to measure.
    offset = _spectrum_offset(cfg, net, content, styles) if shared is None else None
    with phase(cfg.progress, "content features and style Grams", begin=False):
        obj = transfer_objective(cfg, net, styles, content, shared)
    return _run("transfer", cfg, net, obj, len(content), started, resume, checkpoint,
                styles=styles, content=content,
                fields={"choice": choice, **({} if offset is None else
                                             {"spectrum_offset_db": round(offset, 2)})},
                cost=shared is None, shared=shared, start=start, given=given)


def _resuming(cfg: RunConfig, resume: Optional[dict]) -> None:
    if resume is not None:
        say(cfg.progress, f"resuming at iteration {len(resume['history'])}: the set-up (style "
                          "targets, balance) is computed again, the iterations are not")


def _spectrum_offset(cfg: TransferConfig, net: Network, content: np.ndarray,
                     styles: list) -> Optional[float]:
    """With the band spectrum term on: the styles' bands against the content's where its
    energy is (model/spectrum.py), and a warning where the term would bury the content."""
    if cfg.spectrum_weight <= 0 or cfg.content_weight <= 0:
        return None
    offset = content_offset_db(net, content, styles, cfg.spectrum_bands)
    if offset < BURIED_DB and cfg.progress:
        print(f"randstyle: warning: the style holds {-offset:.0f} dB less than the content "
              "where the content's energy is; the band spectrum term (--spectrum-weight, "
              "--preset percussive) will bury much of the content there (docs/results/quality.md); "
              "a lower --spectrum-weight keeps more", file=sys.stderr)
    return offset


def texture(style: Any, config: Optional[TextureConfig] = None, *,
            resume: Optional[dict] = None, checkpoint: Optional[Callable] = None,
            shared: Optional[dict] = None, start: Optional[np.ndarray] = None,
            **overrides: Any) -> tuple[np.ndarray, dict]:
    """Style-only synthesis of ``config.seconds`` of audio; ``style`` as for transfer.
    Returns (signal, report)."""
    started = time.perf_counter()
    cfg = resolve(TextureConfig, config, overrides)
    resolve_init(cfg.init, "texture")  # a start that does not fit fails before any work
    branches = style_branches(cfg)
    if not branches:
        raise ParameterError("a texture needs --style-weight or --rhythm-weight above 0")
    styles = weighted_styles(style)
    n_samples = int(round(cfg.seconds * cfg.sr))
    # With several networks this one only checks lengths and picks the backend: one filter
    # each, not a 4096-filter set of weights that no member uses.
    checker = cfg if cfg.networks == 1 else replace(cfg, n_filters=1, rhythm_filters=1)
    if checker is not cfg:  # the estimate counts the members (model/memory.py)
        memory.check(cfg, n_samples, [len(x) for x, _ in styles])
        memory.check_device(cfg, kernels.get_backend(cfg.backend), n_samples,
                            [len(x) for x, _ in styles])
    net = build_network(checker, _style_signals(styles, branches), n_samples)
    net.check_length(n_samples, "the requested texture", branches)
    announce(cfg, net, "style Grams")
    _resuming(cfg, resume)
    with phase(cfg.progress, "style Grams", begin=False):
        obj = texture_objective(cfg, net, styles, n_samples, shared)
    return _run("texture", cfg, net, obj, n_samples, started, resume, checkpoint,
                styles=styles, cost=shared is None, shared=shared, start=start)


def texture_objective(cfg: TextureConfig, net: Network, styles: list,
                       n_samples: int, shared: Optional[dict] = None) -> Any:
    """One network's Objective, or with --networks N an Ensemble of N members (1/N of the
    filters each, own seeds and widths) whose widths fit the shortest signal."""
    if cfg.networks == 1:
        return _objective(cfg, net, styles, n_samples, shared)
    shortest = min([n_samples] + [len(x) for x, _ in styles])
    return Ensemble([_objective(cfg, m, styles, n_samples, shared)
                     for m in member_networks(cfg, net, shortest)])


def transfer_objective(cfg: TransferConfig, net: Network, styles: list,
                       content: np.ndarray, shared: Optional[dict] = None) -> Any:
    """One network's content and style Objective, or with --networks N an Ensemble: the
    content term on the full network first (alone, or with its style terms: --base-style;
    the ensemble reports its content branch and target), then N style-only members, each
    balanced against the content term (Ensemble.balance), weighted by --member-weight.
    With 1/N of the filters the content term lost too much of the content (issue 20:
    similarity 0.586), so it keeps its own network. The chroma term sits on the content
    network, (--chroma-network longest) on the member with the longest STFT, or
    (--chroma-n-fft N) on an STFT of its own, a last member beside the rest."""
    if cfg.chroma_n_fft and cfg.chroma_weight > 0:
        own = chroma_stft(cfg, net, content)  # first: a content too short fails at once
        rest = transfer_objective(replace(cfg, chroma_weight=0.0, chroma_n_fft=0), net,
                                  styles, content, shared)
        members, weights = (rest.members, rest.weights) if isinstance(rest, Ensemble) \
            else ([rest], [1.0])
        return Ensemble(members + [own], weights + [1.0])
    n = len(content)
    tonal = transposed_styles(styles, cfg.style_transpose, cfg.sr)
    chroma = {"chroma_weight": cfg.chroma_weight, "chroma_octaves": cfg.chroma_octaves,
              "chroma_spectrum": cfg.chroma_spectrum}
    if cfg.networks == 1:
        return _objective(cfg, net, styles, n, shared, tonal, content=content,
                          content_weight=cfg.content_weight, **chroma)
    shortest = min([n] + [len(x) for x, _ in styles])
    # Members' seeds past the content network's: the first member would otherwise hold the
    # content network's first 1/N filters at the same STFT size (a view it already has).
    nets = member_networks(replace(cfg, seed=cfg.seed + SEED_STRIDE), net, shortest)
    on = chroma_member(cfg, net, nets)
    here = chroma if on is None or cfg.chroma_network == "both" else {}
    if cfg.base_style:  # today's network whole (the members beside it)
        base = _objective(cfg, net, styles, n, shared, tonal, content=content,
                          content_weight=cfg.content_weight, **here)
    else:
        base = Objective(net, content=content, content_weight=cfg.content_weight,
                         style_weight=0.0, rhythm_weight=0.0, **here)
    # On a member the term's pull is scaled by --member-weight with the rest of the member:
    # its weight divided by it keeps --chroma-weight's meaning (chroma_member: above 0).
    there = {**chroma, "chroma_weight": cfg.chroma_weight / cfg.member_weight,
             "content": content, "content_weight": 0.0}
    members = [_objective(cfg, m, styles, n, shared, tonal, **(there if i == on else {}))
               for i, m in enumerate(nets)]
    return Ensemble([base] + members, [1.0] + [cfg.member_weight] * len(members))


def chroma_member(cfg: TransferConfig, net: Network, members: list) -> Optional[int]:
    """The index of the style network that holds the chroma term (--chroma-network longest
    or both: the first of the longest STFT, longer than the content network's), or None:
    the content network holds it (with both, it holds it too)."""
    if cfg.chroma_network not in ("longest", "both") or cfg.chroma_weight <= 0 \
            or cfg.member_weight <= 0:
        return None
    sizes = [m.config.n_fft for m in members]
    longest = max(sizes)
    return sizes.index(longest) if longest > net.config.n_fft else None


def chroma_stft(cfg: TransferConfig, net: Network, content: np.ndarray) -> Objective:
    """The chroma term alone on its own --chroma-n-fft STFT, hop a quarter of it: a network
    of one filter per branch (built, never run: only its log magnitudes are computed), no
    content or style term. Balanced to the content term as a style member is, at ensemble
    weight 1: --chroma-weight pulls as it does on the content network."""
    n_fft = cfg.chroma_n_fft
    c = replace(cfg.network_config(), n_fft=n_fft, hop_length=n_fft // 4, n_filters=1,
                rhythm_filters=1)
    m = Network(c, backend=net.backend.name)
    m.check_length(len(content), f"the content clip (for the chroma term's STFT of {n_fft} "
                   "points; --chroma-n-fft sets it)", ())
    return Objective(m, content=content, content_weight=0.0, style_weight=0.0,
                     rhythm_weight=0.0, chroma_weight=cfg.chroma_weight,
                     chroma_octaves=cfg.chroma_octaves, chroma_spectrum=cfg.chroma_spectrum)
