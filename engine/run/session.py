"""A run's session: the optimizations a transfer or a texture is made of (one per channel
part, each whole or in segments), their checkpoints and resume, and the level the result is
written at. The CLI (engine/cli/style.py) and the API (transfer_session, texture_session)
both run it, so a Python caller gets what a command gets: stereo, resume, loudness."""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from randstyle.engine import loudness
from randstyle.engine.config import TextureConfig, TransferConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.evaluate import evaluate
from randstyle.engine.run import channels, checkpoint, interrupt, segments, spread
from randstyle.engine.run.common import resolve
from randstyle.engine.run.modes import texture, transfer
from randstyle.engine.run.progress import say

# Options a resumed run may change; everything else comes from the checkpoint.
RESUMABLE = {"resume", "maxiter", "progress", "checkpoint_every", "threads", "plot", "html",
             "patience", "min_improvement", "eval_every", "eval_patience",
             "eval_min_improvement", "loudness", "jobs", "scheduler"}


@dataclass
class Session:
    """What a run does around its optimizations: the fields of the CLI's options of the same
    names (engine/cli/style.py: StyleRunArgs). ``checkpoint``: the .ckpt.npz a stopped run
    is saved to (and a long run's finished segments beside it, NAME.segments); None: none."""
    channels: str = "mono"
    loudness: Union[str, float] = "match"
    segment: float = segments.SEGMENT_S
    overlap: float = segments.OVERLAP_S
    jobs: int = 1
    scheduler: Optional[str] = None
    checkpoint: Optional[str] = None

    def store(self) -> Optional[str]:
        """The folder of a long run's finished segments: the checkpoint's name, .segments."""
        if self.checkpoint is None:
            return None
        return str(self.checkpoint).removesuffix(".ckpt.npz") + ".segments"


def engine_config(command: str, cfg: Any) -> Any:
    """The engine's own configuration of ``cfg`` (the CLI's options carry more fields): what
    a run's report holds, and what a batch compares a finished row's report with."""
    return segments.plain_config(command, cfg)


def restore(args, command: str, explicit: set):
    state = _state(args.resume, command)
    changed = sorted(explicit - RESUMABLE)
    if changed:
        raise ParameterError(f"{changed[0]} cannot change when resuming; a resumed run keeps "
                             "its checkpoint's options", (changed[0],))
    restored = type(args)(**{**state["args"], **{k: getattr(args, k) for k in explicit}})
    restored.overwrite = True  # its outputs are its own (Ctrl-C may have written them)
    return state, restored


def _state(path: str, command: str) -> dict:
    state = checkpoint.load(path)
    if state["command"] != command:
        raise ParameterError(f"{path} is a checkpoint of '{state['command']}', "
                             f"not '{command}'")
    return state


def run(command: str, cfg: Any, content: Optional[np.ndarray], styles: list,
        session: Session, state: Optional[dict] = None, saved: Optional[dict] = None,
        extra: Optional[dict] = None) -> tuple[np.ndarray, dict]:
    """A whole run: ``content`` (transfer; None for a texture) and ``styles`` [(signal,
    weight)], each (N,) or (N, C), under the engine config ``cfg`` (a CLI's options are
    narrowed to it) and ``session``. ``state``: a checkpoint's (checkpoint.load) to resume;
    ``saved``: the options a checkpoint keeps (default: cfg's and session's); ``extra``:
    the caller's report fields, after "channels". Returns (the result (N, C) float32 at its
    level, its report)."""
    mode = loudness.parse_mode(session.loudness)  # bad input fails before any work
    cfg = engine_config(command, cfg)
    saved = saved if saved is not None else {**asdict(cfg), **asdict(session)}
    parts, reports, interrupted = optimize_parts(cfg, session, command, content, styles,
                                                 state, saved)
    result = channels.merge(parts, session.channels)
    report = next((r for r in reports if "skipped" not in r), reports[0])
    report = {**report, "channels": session.channels, **(extra or {}),
              "interrupted": interrupted}
    if len(reports) > 1:
        report["parts"] = reports
        report["quality"] = quality_of_mix(result, content, styles, cfg.sr)
    (result,), report["loudness"] = loudness.level(
        [result], cfg.sr, mode, stands_for(content, styles, cfg.sr), limit=True)
    report["quality"] = report.pop("quality", {})  # the report ends with the measure
    return result, report


def finish(session: Session, report: dict) -> None:
    """A finished run's checkpoint and kept segments removed (they have served); an
    interrupted run's kept for its resume. The CLI calls it once its outputs are written."""
    if session.checkpoint is not None and not report["interrupted"]:
        Path(session.checkpoint).unlink(missing_ok=True)  # finished: the checkpoint has served
        shutil.rmtree(session.store(), ignore_errors=True)  # and the segments kept


def optimize_parts(cfg: Any, session: Session, command: str, content, styles: list,
                   state: Optional[dict], saved: dict) -> tuple:
    """One optimization per channel part (--channels); returns (parts, their reports,
    interrupted). A resumed run skips the parts its checkpoint holds. Each finished part is
    checkpointed at once, and a signal that arrives before the next part's optimization has
    begun (while its features are computed) keeps the finished parts as the result."""
    if content is not None:
        content_parts = channels.split(content, session.channels)
    else:
        content_parts = [None] * channels.n_parts(styles[0][0], session.channels)
    style_parts = [channels.style_parts(s, session.channels, len(content_parts))
                   for s, _ in styles]
    parts = list(state["parts_done"]) if state else []
    reports = list(state["part_reports"]) if state else []
    interrupted = False
    for i in range(len(parts), len(content_parts)):
        part_content = content_parts[i]
        if part_content is not None and channels.is_silent(part_content):
            parts.append(np.zeros_like(part_content))  # e.g. the side of a mono file
            reports.append({"part": i, "skipped": "silent"})
            continue
        # A checkpoint written between parts holds no signal of the part to come.
        resume = {"x": state["x"], "history": state["history"]} \
            if state and i == len(state["parts_done"]) and state["x"].size else None
        done, done_reports = list(parts), list(reports)  # what a resumed run skips

        def save(x, history, done=done, done_reports=done_reports):
            _save(session, command, saved, done, done_reports, x, history)

        styles_i = [(sp[i], w) for sp, (_, w) in zip(style_parts, styles)]
        try:
            signal, report = optimize_one(cfg, session, command, part_content, styles_i, resume,
                                          save)
        except BaseException as exc:  # a signal while this part's features are computed
            if interrupt.wrapped(exc) is None or all("skipped" in r for r in reports):
                raise
            interrupted = True  # the finished parts are the result
            break
        report["part"] = i
        parts.append(signal)
        reports.append(report)
        if report["interrupted"]:
            with interrupt.protected_writes():
                save(signal, report["iterations"])
            interrupted = True
            break
        if i + 1 < len(content_parts):  # the finished part survives what comes next
            _save(session, command, saved, parts, reports, np.zeros(0), [])
    silent = np.zeros(len(parts[0]), dtype=np.float32)  # parts a Ctrl-C left undone
    parts += [silent] * (len(content_parts) - len(parts))
    return parts, reports, interrupted


def _save(session: Session, command: str, saved: dict, parts: list, reports: list,
          x: np.ndarray, history: list) -> None:
    if session.checkpoint is not None:
        checkpoint.save(session.checkpoint, command=command, args=saved, parts_done=parts,
                        part_reports=reports, x=x, history=history)


def optimize_one(cfg: Any, session: Session, command: str, content, styles: list, resume,
                 save) -> tuple:
    """One part's optimization: whole, or a long one in segments (engine/run/spread.py),
    whose finished segments are kept beside the output for --resume."""
    n = len(content) if content is not None else int(round(cfg.seconds * cfg.sr))
    runner = spread.runner_for(session.jobs, session.scheduler, cfg.threads)  # checked anyway
    if session.segment != 0:
        segments.lengths(cfg, session.segment, session.overlap)
    if segments.is_long(n, cfg, session.segment):
        return spread.run_song(command, content, styles, cfg, segment_s=session.segment,
                               overlap_s=session.overlap, store=session.store(), **runner)
    if runner:
        say(cfg.progress, f"{n / cfg.sr:.0f} s is one segment (--segment {session.segment:g}): "
                          "it runs here, whole; --jobs and --scheduler spread a longer one's "
                          "segments")
    if command == "transfer":
        return transfer(content, styles, cfg, resume=resume, checkpoint=save)
    return texture(styles, cfg, resume=resume, checkpoint=save)


def quality_of_mix(result: np.ndarray, content, styles: list, sr: int) -> dict:
    """The measure of a several-part result on its mono mix, against the mono inputs."""
    mono = [(channels.split(s, "mono")[0], w) for s, w in styles]
    mono_content = None if content is None else channels.split(content, "mono")[0]
    try:
        return evaluate(result.mean(axis=1), sr, style=mono, content=mono_content)
    except ParameterError as exc:
        return {"skipped": f"not measured: {exc}"}


def stands_for(content, styles: list, sr: int):
    """The loudness in LUFS the result is written at under --loudness match: its content's
    (transfer), else its styles' (texture)."""
    return loudness.reference_loudness([content] if content is not None else styles, sr)


def _pairs(style: Any) -> list:
    """[(signal, weight)] from one signal or a list of (signal, weight) pairs, as given."""
    if isinstance(style, (list, tuple)) and style and isinstance(style[0], tuple):
        return [(np.asarray(x, dtype=np.float32), float(w)) for x, w in style]
    return [(np.asarray(style, dtype=np.float32), 1.0)]


def _api(command: str, content: Optional[np.ndarray], style: Any, cfg: Any,
         session: Session, resume: bool) -> tuple[np.ndarray, dict]:
    state = None
    if resume:
        if session.checkpoint is None:
            raise ParameterError("resume needs checkpoint= (the .ckpt.npz to continue)")
        state = _state(session.checkpoint, command)
        kept = state["args"]
        given = json.loads(json.dumps({**asdict(cfg), **asdict(session)}))  # as kept
        changed = sorted(k for k, v in given.items()
                         if k in kept and k not in RESUMABLE | {"checkpoint"}
                         and kept[k] != v)
        if changed:
            raise ParameterError(f"{changed[0]} cannot change when resuming; a resumed run "
                                 "keeps its checkpoint's options", params=(changed[0],))
    styles = _pairs(style)
    if session.channels == "mono":  # mixed down first, as the CLI reads its files: the
        # loudness matched is the mix's (a stereo content's own reads ~3 dB louder)
        content = None if content is None else channels.split(content, "mono")[0]
        styles = [(channels.split(s, "mono")[0], w) for s, w in styles]
    result, report = run(command, cfg, content, styles, session, state)
    finish(session, report)
    return (result[:, 0] if result.shape[1] == 1 else result), report


def transfer_session(content: np.ndarray, style: Any,
                     config: Optional[TransferConfig] = None, *, channels: str = "mono",
                     loudness: Union[str, float] = "match", checkpoint: Optional[str] = None,
                     resume: bool = False, segment: float = segments.SEGMENT_S,
                     overlap: float = segments.OVERLAP_S, jobs: int = 1,
                     scheduler: Optional[str] = None, **overrides: Any) -> tuple:
    """A transfer as ``randstyle transfer`` runs it: ``content`` (N,) or (N, C) at
    ``config.sr``; ``style`` one signal or [(signal, weight)], mono or not. ``channels``:
    mono (mix down), mid-side or each (a stereo result); ``loudness``: match (the content's
    integrated loudness), peak or a target in LUFS, under a -1 dBTP true peak; a content
    longer than 1.5 ``segment`` seconds runs in segments (0: whole); ``checkpoint``: a
    .ckpt.npz path saved every ``config.checkpoint_every`` iterations and on Ctrl-C, removed
    once the run finishes; ``resume=True`` continues from it (same inputs and options).
    Returns (signal float32 (N,) for mono, else (N, C); report)."""
    cfg = resolve(TransferConfig, config, overrides)
    session = Session(channels, loudness, segment, overlap, jobs, scheduler, checkpoint)
    return _api("transfer", np.asarray(content, dtype=np.float32), style, cfg, session,
                resume)


def texture_session(style: Any, config: Optional[TextureConfig] = None, *,
                    channels: str = "mono", loudness: Union[str, float] = "match",
                    checkpoint: Optional[str] = None, resume: bool = False,
                    segment: float = segments.SEGMENT_S, overlap: float = segments.OVERLAP_S,
                    jobs: int = 1, scheduler: Optional[str] = None,
                    **overrides: Any) -> tuple:
    """A texture as ``randstyle texture`` runs it (``config.seconds`` long; channels as the
    first style's under mid-side or each; loudness: match is the styles'); the keywords as
    for transfer_session."""
    cfg = resolve(TextureConfig, config, overrides)
    session = Session(channels, loudness, segment, overlap, jobs, scheduler, checkpoint)
    return _api("texture", None, style, cfg, session, resume)


# engine.transfer / engine.texture: one optimization of mono signals (engine/run/modes.py);
# given a signal with channels, which one optimization cannot take (it failed in a compiled
# kernel), the run the command makes of it: its session, with the session's defaults.
ONE_RUN = ("resume", "checkpoint", "shared", "start")  # modes' keywords, not a session's


def _has_channels(content: Any, style: Any) -> bool:
    signals = [] if content is None else [content]
    signals += [s for s, _ in _pairs(style)]
    return any(np.ndim(s) == 2 and np.shape(s)[1] > 1 for s in signals)


def _as_session(command: str, keywords: dict) -> None:
    given = sorted(k for k in keywords if k in ONE_RUN)
    if given:
        raise ParameterError(f"{given[0]}= is for one mono optimization; a signal with "
                             f"channels runs as a session: {command}_session(..., "
                             "checkpoint=PATH, resume=True)", params=(given[0],))


def transfer_api(content: np.ndarray, style: Any, config: Optional[TransferConfig] = None,
                 **keywords: Any) -> tuple[np.ndarray, dict]:
    """engine.transfer: mono signals (N,) make one optimization (engine.run.modes.transfer,
    its keywords); a content or style with channels (N, C) runs as ``randstyle transfer``
    runs it, transfer_session with its defaults (mixed down, at the content's loudness) or
    the session keywords given (channels=, loudness=, ...)."""
    if _has_channels(content, style):
        _as_session("transfer", keywords)
        return transfer_session(content, style, config, **keywords)
    return transfer(content, style, config, **keywords)


def texture_api(style: Any, config: Optional[TextureConfig] = None,
                **keywords: Any) -> tuple[np.ndarray, dict]:
    """engine.texture: as transfer_api, for a texture (texture_session given channels)."""
    if _has_channels(None, style):
        _as_session("texture", keywords)
        return texture_session(style, config, **keywords)
    return texture(style, config, **keywords)
