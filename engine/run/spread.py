"""One long run (a song) as segments (engine/run/segments.py): run here one after
another, and joined as they finish, with one progress bar for the whole song; finished
segments kept in a store so that an interrupted run resumes segment by segment."""
from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import replace
from typing import Any, Iterator, Optional

import numpy as np
from tqdm import tqdm

from randstyle.engine.errors import ParameterError
from randstyle.engine.model import memory
from randstyle.engine.model.style_target import weighted_styles
from randstyle.engine.run import cluster, interrupt, segments
from randstyle.engine.run.choice import song_choice
from randstyle.engine.run.progress import clock, say
from randstyle.engine.run.start import init_signal, resolve_init


def _local(command: str, cfg: Any, song: tuple, styles: list, wins: list, tasks: list,
           key: str) -> Iterator[tuple]:
    """The segments in this process, one after another (the style targets computed for
    the first serve the others)."""
    try:
        for k, args in _tasks(cfg, song, styles, wins, tasks, key, command):
            yield (k, *timed_segment(*args))
    finally:
        segments._SHARED.clear()  # the targets go with the run


def timed_segment(*args: Any) -> tuple:
    """segments.run_segment's (result, report), the report saying where and when it ran
    ("ran": the process, the Dask worker if any, its start and end in time.time()), so
    that a song's report shows its schedule (docs/results/songs.md)."""
    import os
    import socket
    import sys
    began = time.time()
    x, report = segments.run_segment(*args)
    worker = None
    if "distributed" in sys.modules:  # imported by a Dask worker, never here for this
        try:
            worker = sys.modules["distributed"].get_worker().address
        except ValueError:  # not on a worker
            pass
    report["ran"] = {"host": socket.gethostname(), "pid": os.getpid(), "worker": worker,
                     "began": round(began, 3), "ended": round(time.time(), 3)}
    return x, report


def _check_memory(need: int) -> None:
    avail = memory.available_bytes()
    if avail is not None and need > avail:
        raise ParameterError(f"this run needs about {need / 2**20:.0f} MiB of memory per "
                             f"process (one segment's run and the whole signal) but "
                             f"{avail / 2**20:.0f} MiB is available; use a shorter --segment "
                             "or fewer filters")


def run_song(command: str, content: Optional[np.ndarray], style: Any, cfg: Any, *,
             segment_s: float = segments.SEGMENT_S, overlap_s: float = segments.OVERLAP_S,
             store: Optional[str] = None, runner: Any = None,
             where: str = "this process") -> tuple:
    """A transfer of ``content`` (or, with content None, a texture of ``cfg.seconds``) cut
    into segments of ``segment_s`` overlapping by ``overlap_s``; ``store``: a folder that
    keeps each finished segment (a resumed run takes them from there); ``runner``: how the
    segments run (spread.py's pool or Dask; default: here, in turn). Returns (signal
    float32, report); an interruption returns what is done (the segment being optimized
    at its best so far, the segments not started silent) with ``interrupted`` set."""
    started, progress = time.perf_counter(), cfg.progress
    cfg = replace(segments.plain_config(command, cfg), progress=False)
    styles = weighted_styles(style)
    if command == "transfer":  # one kind for the song: a segment alone may read otherwise
        cfg = song_choice(cfg, styles, content)
    n = len(content) if content is not None else int(round(cfg.seconds * cfg.sr))
    length, overlap = segments.lengths(cfg, segment_s, overlap_s)
    wins = segments.windows(n, min(length, n), overlap)
    key = segments.digest(command, cfg, content, styles, wins)
    kept = segments.Store(store, key)
    need = segments.estimate_bytes(cfg, n, wins[0][1] - wins[0][0],
                                   [len(x) for x, _ in styles], content is not None)
    _check_memory(need)
    out, done, parts, reports = np.zeros(n, dtype=np.float32), set(), {}, {}
    for k in range(len(wins)):
        found = kept.load(k)
        if found is not None:
            segments.place(out, done, k, found[0], wins, content is None)
            reports[k], parts[k] = found[1], segments.summary(k, wins[k], found[1])
    say(progress, f"{n / cfg.sr:.0f} s in {len(wins)} segments of {length / cfg.sr:g} s "
                  f"(overlapping by {overlap_s:g} s) on {where}; peak memory about "
                  f"{need / 2**20:.0f} MiB a process" +
                  (f"; {len(done)} done before, resumed" if done else ""))
    tasks = [k for k in range(len(wins)) if k not in done]
    # The song's start, once: two segments start alike where they overlap, so their
    # results there differ less than two independent starts' would (docs/results/songs.md).
    start = init_signal(resolve_init(cfg.init, command), n, content, styles, cfg) \
        .astype(np.float32) if tasks else np.zeros(n, dtype=np.float32)
    # The style targets depend on the styles and options only: a worker keeps them for the
    # next song under the same style.
    targets = segments.digest(command, cfg, None, styles, [])
    interrupted = _run_tasks(command, cfg, (content, start), styles, wins, tasks, targets,
                             runner, kept, (out, done, parts, reports), progress)
    del start
    if not reports:
        raise interrupt.Interrupted(interrupt.received() or 2)
    first = reports[min(reports)]
    report = segments.song_report(first, [parts[k] for k in sorted(parts)], cfg.sr, {
        "n_samples": n, "seconds": n / cfg.sr, "segment_s": segment_s,
        "overlap_s": overlap_s, "segments_total": len(wins),
        "segments_done": sum(not p["interrupted"] for p in parts.values())})
    report["interrupted"] = interrupted or report["segments_done"] < len(wins)
    report["wall_time_s"] = round(time.perf_counter() - started, 4)
    return out, report


def _run_tasks(command: str, cfg: Any, song: tuple, styles: list, wins: list,
               tasks: list, key: str, runner: Any, kept: Any, state: tuple,
               progress: bool) -> bool:
    """Run ``tasks`` (segment indices), placing, storing and counting each as it comes;
    True when a signal stopped them."""
    out, done, parts, reports = state
    content, start = song
    sr = cfg.sr
    share = len(out) / sr / len(wins)  # each segment's part of the song, overlaps aside
    bar = tqdm(total=round(len(out) / sr, 1), initial=round(len(done) * share, 1),
               unit="s", desc=f"{command}, {len(wins)} segments", disable=not progress,
               dynamic_ncols=True, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s of audio "
               "[{elapsed}<{remaining}]")
    began, interrupted = time.perf_counter(), False
    run = runner or _local
    try:
        for k, x, report in run(command, cfg, (content, start), styles, wins, tasks, key):
            if report.get("interrupted"):  # a signal inside: its best so far, not kept
                segments.place(out, done, k, x, wins, content is None)
                reports.setdefault(k, report)
                parts[k] = segments.summary(k, wins[k], report)
                interrupted = True
                break
            kept.save(k, x, report)
            segments.place(out, done, k, x, wins, content is None)
            reports[k], parts[k] = report, segments.summary(k, wins[k], report)
            bar.update(share)
            if len(parts) == 1 and progress:
                bar.write(f"randstyle: the first segment took {clock(time.perf_counter() - began)}")
    except BaseException as exc:  # Ctrl-C or SIGTERM between or inside segments
        if interrupt.wrapped(exc) is None:
            raise
        interrupted = True
    finally:
        bar.close()
    return interrupted


def runner_for(jobs: int, scheduler: Optional[str], threads: Optional[int]) -> dict:
    """run_song's ``runner`` and ``where`` for --jobs N (local processes) or --scheduler
    (Dask workers); {} for this process."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be 1 or more, got {jobs}", ("jobs",))
    if scheduler and jobs > 1:
        raise ParameterError("jobs and scheduler: give one (the cluster's workers "
                             "are its processes)", ("jobs", "scheduler"))
    each = threads or 1
    if scheduler:
        return {"runner": _dask(scheduler, each), "where": f"the Dask cluster at {scheduler}"}
    if jobs > 1:
        return {"runner": _pool(jobs, each), "where": f"{jobs} local processes"}
    return {}


def _tasks(cfg: Any, song: tuple, styles: list, wins: list, tasks: list, key: str,
           command: str) -> Iterator[tuple]:
    """(k, run_segment's arguments) of each task; ``cfg`` as the workers run it, ``song``
    (content or None, the song's start)."""
    content, start = song
    for k in tasks:
        s, e = wins[k]
        yield k, (command, cfg, None if content is None else content[s:e], styles, k, e - s,
                  key, start[s:e])


def _ignore_sigint() -> None:
    # Ctrl-C reaches the terminal's whole process group: the main process stops the
    # workers itself (and keeps what they finished).
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool(jobs: int, threads: int) -> Any:
    """Segments on ``jobs`` spawned processes of ``threads`` threads each."""
    def run(command: str, cfg: Any, song: tuple, styles: list, wins: list, tasks: list,
            key: str) -> Iterator[tuple]:
        import multiprocessing
        import os
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        saved = {v: os.environ.get(v) for v in THREAD_VARS}
        os.environ.update({v: str(threads) for v in THREAD_VARS})  # sized at their start
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_ignore_sigint)
        pending: dict = {}
        try:
            worker_cfg = replace(cfg, threads=threads)
            pending = {pool.submit(timed_segment, *args): k for k, args in
                       _tasks(worker_cfg, song, styles, wins, tasks, key, command)}
            while pending:
                finished, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    k = pending.pop(future)
                    yield (k, *future.result())
        finally:
            for v, old in saved.items():
                os.environ.pop(v) if old is None else os.environ.__setitem__(v, old)
            # Stopped early: a segment being optimized is not waited for.
            workers = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=not pending, cancel_futures=True)
            for p in workers if pending else []:
                p.terminate()
    return run


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _dask(address: str, threads: int, in_flight: Optional[int] = None) -> Any:
    """Segments on a Dask distributed scheduler's workers (engine/batch's machinery); a
    worker lost mid-segment has its segment run again elsewhere (Dask's retries).

    At most as many segments in flight as the cluster has threads, the next submitted as
    one finishes: Dask places a task on a worker when it is submitted, by its guess of
    each worker's queue, and a song's few long segments all submitted at once could be
    queued unevenly (docs/results/songs.md); fed one by one, a segment goes to a worker
    that is free (one that joins meanwhile adds its threads). ``in_flight``: another
    bound (bench/songs.py compares all at once)."""
    def run(command: str, cfg: Any, song: tuple, styles: list, wins: list, tasks: list,
            key: str) -> Iterator[tuple]:
        client = cluster.connect(address)
        from distributed import as_completed  # there once connect() has imported Dask
        todo = _tasks(replace(cfg, threads=threads), song, styles, wins, tasks, key, command)
        futures: dict = {}

        def feed() -> list:  # submit until every thread of the cluster has a segment
            slots = in_flight or max(1, sum(client.nthreads().values()))
            new = []
            for k, args in itertools.islice(todo, max(0, slots - len(futures))):
                new.append(client.submit(timed_segment, *args, pure=False, retries=2,
                                         key=f"randstyle-segment{k}-{key}-{uuid.uuid4().hex[:8]}"))
                futures[new[-1]] = k
            return new
        try:
            running = as_completed(feed())
            for future in running:
                k = futures.pop(future)
                result = _result(future, k)
                running.update(feed())  # before this one is placed and saved here
                yield (k, *result)
        finally:
            client.cancel(list(futures))
            client.close()
    return run


def _result(future: Any, k: int) -> tuple:
    """A finished segment's (result, report), or one line when it failed on the cluster."""
    try:
        return future.result()
    except Exception as exc:  # lost more often than Dask retries, or failed
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ParameterError(f"segment {k} failed on the cluster: {type(exc).__name__}: "
                             f"{first}; the finished segments are kept: run the command "
                             "again to resume") from None
