"""A run's session: the optimizations a transfer or a texture is made of (one per channel
part, each whole or in segments), their checkpoints and resume, and the level the result is
written at. The CLI (engine/cli/style.py) and the API both run it."""
from pathlib import Path
from dataclasses import asdict

import numpy as np

from engine import loudness
from engine.errors import ParameterError
from engine.model.evaluate import evaluate
from engine.run import channels, checkpoint, interrupt, segments, spread
from engine.run.modes import texture, transfer
from engine.run.progress import say

# Options a resumed run may change; everything else comes from the checkpoint.
RESUMABLE = {"resume", "maxiter", "progress", "checkpoint_every", "threads", "plot", "html",
             "patience", "min_improvement", "eval_every", "eval_patience",
             "eval_min_improvement", "loudness", "jobs", "scheduler"}


def restore(args, command: str, explicit: set):
    state = checkpoint.load(args.resume)
    if state["command"] != command:
        raise ParameterError(f"{args.resume} is a checkpoint of '{state['command']}', "
                             f"not '{command}'")
    changed = sorted(explicit - RESUMABLE)
    if changed:
        raise ParameterError(f"--{changed[0].replace('_', '-')} cannot change when resuming; "
                             f"a resumed run keeps its checkpoint's options")
    restored = type(args)(**{**state["args"], **{k: getattr(args, k) for k in explicit}})
    restored.overwrite = True  # its outputs are its own (Ctrl-C may have written them)
    return state, restored


def optimize_parts(args, command: str, content, styles: list, state, ckpt: str) -> tuple:
    """One optimization per channel part (--channels); returns (parts, their reports,
    interrupted). A resumed run skips the parts its checkpoint holds. Each finished part is
    checkpointed at once, and a signal that arrives before the next part's optimization has
    begun (while its features are computed) keeps the finished parts as the result."""
    if content is not None:
        content_parts = channels.split(content, args.channels)
    else:
        content_parts = [None] * channels.n_parts(styles[0][0], args.channels)
    style_parts = [channels.style_parts(s, args.channels, len(content_parts))
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
            checkpoint.save(ckpt, command=command, args=asdict(args), parts_done=done,
                            part_reports=done_reports, x=x, history=history)

        styles_i = [(sp[i], w) for sp, (_, w) in zip(style_parts, styles)]
        try:
            signal, report = optimize_one(args, command, part_content, styles_i, resume, save)
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
            checkpoint.save(ckpt, command=command, args=asdict(args), parts_done=parts,
                            part_reports=reports, x=np.zeros(0), history=[])
    silent = np.zeros(len(parts[0]), dtype=np.float32)  # parts a Ctrl-C left undone
    parts += [silent] * (len(content_parts) - len(parts))
    return parts, reports, interrupted


def optimize_one(args, command: str, content, styles: list, resume, save) -> tuple:
    """One part's optimization: whole, or a long one in segments (engine/run/spread.py),
    whose finished segments are kept beside the output for --resume."""
    n = len(content) if content is not None else int(round(args.seconds * args.sr))
    runner = spread.runner_for(args.jobs, args.scheduler, args.threads)  # checked either way
    if args.segment != 0:
        segments.lengths(args, args.segment, args.overlap)
    if segments.is_long(n, args, args.segment):
        return spread.run_song(command, content, styles, args, segment_s=args.segment,
                               overlap_s=args.overlap, store=store_path(args.output),
                               **runner)
    if runner:
        say(args.progress, f"{n / args.sr:.0f} s is one segment (--segment {args.segment:g}): "
                           "it runs here, whole; --jobs and --scheduler spread a longer one's segments")
    if command == "transfer":
        return transfer(content, styles, args, resume=resume, checkpoint=save)
    return texture(styles, args, resume=resume, checkpoint=save)


def store_path(wav: str) -> str:
    return str(Path(wav).with_suffix(".segments"))


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
