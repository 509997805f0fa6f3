"""Whole songs (issue 32): memory and time against length, the speed-up of Dask workers,
and the seams of a segmented transfer.

    python -m bench.songs runs  --lengths 10,60 [--maxiter 8] [--segment 20] [--offset S] \\
        [--out DIR]
    python -m bench.songs dask  --seconds 40 --segment 11 [--maxiter 8] [--repeat 3]
    python -m bench.songs control [--cpu-s 3]
    python -m bench.songs seams RESULT.wav [--content CONTENT.wav] --style STYLE.wav \\
        [--segment 20 --overlap 2]
    python -m bench.songs finish --seconds 600 [--result R.wav --gain 0.5] [--output-sr 44100]
    python -m bench.songs equal RESULT.wav --content CONTENT.wav --style STYLE.wav \\
        --clips OFFSET:CLIP.wav ... [--trim 0.5]

``runs``: transfers of a piano song (the corpus's piano parts one after another, repeated
to length) under the corpus's 20 s drum clip, each a CLI run in a child process of its own
(peak RSS from ru_maxrss, wall time, CPU seconds from its rusage), with the default options
and one thread; --maxiter 0 runs to the default stop rule; a length over 30 s is segmented
(the default) and, with --whole, also run as one optimization (--segment 0). ``dask``: the
same song on a loopback LocalCluster of 1 and of 2 single-thread workers, --repeat times
(each run's schedule: which worker ran each segment, and when; the load average beside it;
each repeat's speed-up and the median); ``control``: the
same clusters on a busy loop (the speed-up the machine allows at all). ``seams``: 2 s
windows of the result centred on the joins against 2 s windows elsewhere: style distance,
content similarity (none for a texture: no --content), and spectral flux, each join's
z-score against the others' spread.
``equal``: the song's result per 10 s against 10 s transfers of stretches of the same song
(``runs --lengths 10 --offset S``), with the CPU seconds per second of audio each took;
``--trim S`` leaves out each window's first and last S seconds (a run's ends weigh in its
score beyond their share, docs/results/songs.md).
``finish``: what a transfer does with the whole song after its segments, alone, on a song
of --seconds (a result repeated to length, times --gain; loud: the limiter's path): each
step's peak of numpy memory above what it was given (tracemalloc) and the peak RSS.
Rows go to docs/results/data/songs.jsonl.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

from bench import lab

SR = 22050
CORPUS = lab.CORPUS
ROWS = lab.DATA / "songs.jsonl"
MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "r = subprocess.run(sys.argv[1:]); u = resource.getrusage(resource.RUSAGE_CHILDREN); "
           "print(r.returncode, u.ru_maxrss, time.perf_counter() - t, u.ru_utime + u.ru_stime)")
OPTIONS = ["--threads", "1", "--quiet"]  # the defaults otherwise (fastfood filters since #29)
# One thread a process: the CLI runs' environment, and each Dask worker's
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMBA_NUM_THREADS")}
ENV = {**os.environ, **ONE_THREAD}


def song(seconds: float, corpus: str = CORPUS) -> np.ndarray:
    """The corpus's piano parts one after another, repeated to ``seconds``."""
    paths = [f"{corpus}/clips/piano_chorale.wav", f"{corpus}/examples/piano.wav",
             *sorted(glob.glob(f"{corpus}/mixes/*/piano.wav"))]
    x = np.concatenate([sf.read(p, dtype="float32")[0] for p in paths])
    return np.resize(x, int(round(seconds * SR)))


def run_cli(argv: list) -> tuple:
    """(peak RSS bytes, wall seconds, CPU seconds) of a CLI run in a child process (the
    machine is shared: its CPU seconds, user and system, are the comparable time)."""
    out = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "randstyle",
                          *argv], capture_output=True, text=True, env=ENV)
    code, kib, wall, cpu = out.stdout.split()[-4:]
    if int(code):
        raise SystemExit(f"{argv} exited {code}: {out.stderr.strip().splitlines()[-1:]}")
    return int(kib) * 1024, float(wall), float(cpu)


def record(row: dict) -> None:
    lab.append_jsonl(ROWS, row)


def runs(args: argparse.Namespace) -> None:
    from randstyle.engine.config import TransferConfig
    from randstyle.engine.run import segments
    style = f"{CORPUS}/clips/drums.wav"
    cfg = TransferConfig()
    iters = ["--maxiter", str(args.maxiter)] if args.maxiter else []  # 0: the default stop
    tag = f"it{args.maxiter}" if args.maxiter else "stop"
    for seconds in [float(s) for s in args.lengths.split(",")]:
        # --offset: the song's stretch from there (a clip that is a stretch of a longer song)
        content = os.path.join(args.out, f"piano_{seconds:g}_at{args.offset:g}.wav")
        sf.write(content, song(args.offset + seconds)[int(args.offset * SR):], SR)
        n = int(seconds * SR)
        # --segment (the CLI's default when not given) passed on and in the file's name, so
        # that runs of two lengths do not overwrite each other
        long = segments.is_long(n, cfg, args.segment)
        modes = [("segmented", ["--segment", f"{args.segment:g}"])] if long else [("whole", [])]
        if args.whole and long:
            modes.append(("whole", ["--segment", "0"]))
        for mode, extra in modes:
            name = f"{mode}{args.segment:g}" if mode == "segmented" else mode
            out = os.path.join(args.out, f"song_{seconds:g}_at{args.offset:g}_{name}_{tag}.wav")
            jobs = ["--jobs", str(args.jobs)] if args.jobs > 1 else []
            peak, wall, cpu = run_cli(["transfer", content, style, "-o", out, "--overwrite",
                                       *iters, *OPTIONS, *extra, *jobs])
            cpu += args.cpu_before  # an interrupted run's, which this one resumed
            seg = args.segment * SR if mode == "segmented" else n
            estimate = segments.estimate_bytes(cfg, n, int(seg), [20 * SR], True) \
                if mode == "segmented" else segments.memory.estimate_bytes(cfg, n, [20 * SR])
            report = json.load(open(out.replace(".wav", ".json")))
            nits = [p.get("nit") for p in report.get("segments", [])] if mode == "segmented" \
                else [report["nit"]]
            record({"bench": "songs.runs", "seconds": seconds, "offset_s": args.offset,
                    "mode": mode, "maxiter": args.maxiter or "default stop",
                    **({"segment_s": args.segment} if mode == "segmented" else {}),
                    "peak_mib": round(peak / 2**20), "estimate_mib": round(estimate / 2**20),
                    "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                    "cpu_s_per_audio_s": round(cpu / seconds, 2), "nit": report["nit"],
                    "nit_per_segment": nits, "segments": report.get("segments_total", 1),
                    "quality": report["quality"], "result": out, "content": content,
                    **({"jobs": args.jobs} if args.jobs > 1 else {}),
                    **({"resumed_after_cpu_s": args.cpu_before} if args.cpu_before else {})})


def _schedule(report: dict, t0: float) -> list:
    """Which worker ran each segment and when, in seconds from ``t0`` (the report's
    "ran", spread.timed_segment's): [segment, worker's pid, began, ended]."""
    return [[p["segment"], p["ran"]["pid"], round(p["ran"]["began"] - t0, 1),
             round(p["ran"]["ended"] - t0, 1)] for p in report["segments"]]


def _load() -> list:
    return [round(v, 2) for v in os.getloadavg()]


def _clusters(stack, args: argparse.Namespace, content, style, cfg) -> tuple:
    """A LocalCluster of 1 and of 2 single-thread workers (closed with ``stack``), each warmed
    up by a song of its own: ({workers: runner}, {workers: scheduler address})."""
    from distributed import LocalCluster

    from randstyle.engine.run import spread
    runners, addresses = {}, {}
    for workers in (1, 2):
        cluster = stack.enter_context(LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            dashboard_address=None, env=ONE_THREAD))
        addresses[workers] = cluster.scheduler_address
        runners[workers] = spread.runner_for(1, addresses[workers], 1)
        # Each worker imports the engine, compiles, and computes the style's targets
        # once (kept for the next song under that style): a warm-up song first, of as
        # many segments as workers, so that the timed song is the segments' work alone.
        warm = content[:int((workers * (args.segment - 1) + 1) * SR)][::-1].copy()
        t0 = time.time()
        _, report = spread.run_song("transfer", warm, style, cfg, segment_s=args.segment,
                                    overlap_s=1.0, **runners[workers])
        record({"bench": "songs.dask", "warm_up": True, "workers": workers,
                "code": args.label, "schedule": _schedule(report, t0)})
    return runners, addresses


def dask(args: argparse.Namespace) -> None:
    """The song on 1 and on 2 single-thread workers, --repeat times (the two clusters kept,
    their runs alternating, so that a change of the machine's load falls on both): each
    run's wall time, schedule and load average, each repeat's speed-up, and their median."""
    from contextlib import ExitStack

    from randstyle.engine.config import TransferConfig
    from randstyle.engine.run import spread
    content = song(args.seconds)
    style = sf.read(f"{CORPUS}/clips/drums.wav", dtype="float32")[0]
    cfg = TransferConfig(harmonic_filters="fastfood", maxiter=args.maxiter, threads=1)
    with ExitStack() as stack:
        runners, addresses = _clusters(stack, args, content, style, cfg)
        # --all-at-once: the 2 workers also given every segment at submission (spread.py's
        # feeding bypassed, as before it), alternating with the fed runs under the same load
        modes = [(1, "fed"), (2, "fed")] + ([(2, "all")] if args.all_at_once else [])
        ratios: dict = {"fed": [], "all": []}
        for repeat in range(args.repeat):
            walls, outs = {}, {}
            for workers, mode in modes:
                runner = runners[workers] if mode == "fed" else {
                    "runner": spread._dask(addresses[2], 1, in_flight=10**6)}
                load, t0 = _load(), time.time()
                outs[workers, mode], report = spread.run_song(
                    "transfer", content, style, cfg, segment_s=args.segment, overlap_s=1.0,
                    **runner)
                walls[workers, mode] = time.time() - t0
                record({"bench": "songs.dask", "code": args.label, "repeat": repeat,
                        "workers": workers, "submit": mode, "threads_per_worker": 1,
                        "seconds": args.seconds, "segment_s": args.segment,
                        "segments": report["segments_total"], "maxiter": args.maxiter,
                        "wall_s": round(walls[workers, mode], 1), "loadavg_before": load,
                        "loadavg_after": _load(), "schedule": _schedule(report, t0)})
            row = {}
            for mode in sorted({m for w, m in modes if w == 2}):
                ratios[mode].append(walls[1, "fed"] / walls[2, mode])
                row[mode] = round(ratios[mode][-1], 2)
                print(f"repeat {repeat}: 1 worker {walls[1, 'fed']:.1f} s, 2 workers "
                      f"({mode}) {walls[2, mode]:.1f} s, speed-up {ratios[mode][-1]:.2f} "
                      f"(load {_load()[0]})", flush=True)
            record({"bench": "songs.dask", "code": args.label, "repeat": repeat,
                    "speedup_2_over_1": row["fed"],
                    **({"speedup_2_all_at_once_over_1": row["all"]} if "all" in row else {}),
                    "same_result": all(np.array_equal(outs[1, "fed"], o)
                                       for o in outs.values())})
    summary = {f"median_speedup_{m}": round(float(np.median(r)), 2)
               for m, r in ratios.items() if r}
    record({"bench": "songs.dask", "code": args.label, "repeats": args.repeat,
            "speedups": {m: [round(v, 2) for v in r] for m, r in ratios.items() if r},
            **summary})
    print(f"median speed-up over {args.repeat}: {summary}")


def _busy(seconds: float) -> float:
    """A CPU-bound task of ``seconds`` of this process's CPU time; its wall seconds."""
    began, wall, x = time.process_time(), time.perf_counter(), 0
    while time.process_time() - began < seconds:
        x += 1
    return time.perf_counter() - wall


def _gemm(seconds: float) -> float:
    """A task of ``seconds`` of this process's CPU time spent in one-thread float32 matrix
    products (1024 x 1024: the songs' own bulk, in cache, nothing shared); its wall seconds."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((1024, 1024)).astype(np.float32) for _ in range(2))
    began, wall = time.process_time(), time.perf_counter()
    while time.process_time() - began < seconds:
        a @ b
    return time.perf_counter() - wall


def control(args: argparse.Namespace) -> None:
    """The same loopback clusters on four tasks of pure CPU, nothing shared: a busy loop
    (``--task busy``: the speed-up the machine allows at all; on a machine whose CPU share
    is capped it bounds the songs') or one-thread float32 matrix products (``--task gemm``:
    what two cores give on the floating-point work that is most of a segment's, where two
    virtual CPUs may share one core's units)."""
    from distributed import Client, LocalCluster
    task = {"busy": _busy, "gemm": _gemm}[args.task]
    walls = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, env=ONE_THREAD) as cluster, \
                Client(cluster) as client:
            client.gather(client.map(task, [0.5] * workers, pure=False))  # started
            began = time.perf_counter()
            client.gather(client.map(task, [args.cpu_s] * 4, pure=False))
            walls[workers] = time.perf_counter() - began
            record({"bench": "songs.control", "task": args.task, "workers": workers,
                    "tasks": 4, "cpu_s_each": args.cpu_s, "wall_s": round(walls[workers], 1),
                    "code": args.label})
    speedup = round(walls[1] / walls[2], 2)
    record({"bench": "songs.control", "task": args.task, "code": args.label,
            "speedup_2_over_1": speedup})
    print(f"{args.task}: 1 worker {walls[1]:.1f} s, 2 workers {walls[2]:.1f} s, "
          f"speed-up {speedup}")


def flux(x: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Spectral flux per frame: the summed rise of the log-magnitude spectrum."""
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    mag = np.log1p(np.abs(np.fft.rfft(frames, axis=1)))
    return np.concatenate([[0.0], np.maximum(np.diff(mag, axis=0), 0).sum(axis=1)])


def _cut(args: argparse.Namespace, n: int, segments) -> list:
    """The result's segments [(start, end)]: from its report beside it (RESULT.json) when
    there is one, else cut as --segment and --overlap say."""
    report = os.path.splitext(args.result)[0] + ".json"
    if args.segment is None and os.path.isfile(report):
        kept = json.load(open(report))
        if kept.get("segments"):
            args.segment, args.overlap = kept["segment_s"], kept["overlap_s"]
            return [(p["start"], p["end"]) for p in kept["segments"]]
    args.segment = args.segment or segments.SEGMENT_S
    return segments.windows(n, int(args.segment * SR), int(args.overlap * SR))


def seams(args: argparse.Namespace) -> None:
    from randstyle.engine.model.evaluate import evaluate
    from randstyle.engine.run import segments
    y = sf.read(args.result, dtype="float32")[0]
    content = sf.read(args.content, dtype="float32")[0][:len(y)] if args.content else None
    style = sf.read(args.style, dtype="float32")[0]
    wins = _cut(args, len(y), segments)
    joins = [(wins[k + 1][0] + wins[k][1]) // 2 for k in range(len(wins) - 1)]
    half = SR  # 2 s windows
    others = [c for c in range(half, len(y) - half, 2 * half)
              if all(abs(c - j) >= 2 * half for j in joins)]
    f = flux(y)

    def figures(c: int) -> dict:
        w = slice(c - half, c + half)
        out = evaluate(y[w], SR, style=style, content=None if content is None else content[w])
        out["flux"] = float(f[(c - half) // 512:(c + half) // 512].mean())
        return {k: out[k] for k in names}
    # A texture (no --content): its segments joined at equal power, no content to compare
    names = ("style_distance", "flux") if content is None else \
        ("style_distance", "content_similarity", "flux")
    at_joins, elsewhere = [figures(c) for c in joins], [figures(c) for c in others]
    summary = {}
    for name in names:
        rest = np.array([r[name] for r in elsewhere])
        z = [(r[name] - rest.mean()) / rest.std() for r in at_joins]
        summary[name] = {"joins": [round(r[name], 4) for r in at_joins],
                         "elsewhere_mean": round(float(rest.mean()), 4),
                         "elsewhere_std": round(float(rest.std()), 4),
                         "z": [round(float(v), 2) for v in z],
                         "within_2_sd": bool(all(abs(v) <= 2 for v in z))}
    record({"bench": "songs.seams", "result": args.result, "label": args.label,
            "command": "transfer" if content is not None else "texture",
            "segment_s": args.segment,
            "overlap_s": args.overlap, "joins": len(joins), "windows_elsewhere": len(others),
            **summary})


def _row_of(result: str) -> dict:
    """The last ``runs`` row of ``result`` (its CPU seconds and iterations)."""
    rows = [json.loads(line) for line in open(ROWS)]
    return [r for r in rows if r.get("bench") == "songs.runs" and r.get("result") == result][-1]


def equal(args: argparse.Namespace) -> None:
    """The song's result per 10 s against 10 s transfers of stretches of the same song
    (``runs --lengths 10 --offset S``): the same quality figures on the same stretch of
    content, and the CPU seconds per second of audio each took."""
    from bench.corpus.quality import measured
    from bench.texture import check_grams
    from randstyle.engine.model.evaluate import eval_grams
    y = sf.read(args.result, dtype="float32")[0]
    content = sf.read(args.content, dtype="float32")[0][:len(y)]
    style = sf.read(args.style, dtype="float32")[0]
    span = int(args.window * SR)
    # bench/transfer's scores (bench/corpus/quality.measured): the style distance by the
    # evaluation network and by the held-out check network, content and chroma similarity
    grams, checks = eval_grams(style, SR), check_grams(style)

    # --trim: each window's ends left out (a run's own edges carry a large share of its match
    # to the style, docs/results/songs.md), the song's windows and the clips' alike
    t = int(args.trim * SR)

    def figures(x: np.ndarray, c: np.ndarray) -> dict:
        return measured(x[t:len(x) - t], grams, checks, c[t:len(c) - t])
    windows = {f"{s / SR:g}": figures(y[s:s + span], content[s:s + span])
               for s in range(0, len(y) - span + 1, span)}
    song_row = _row_of(args.result)
    clips = []
    for clip in args.clips:
        at, path = clip.split(":", 1)
        s = int(float(at) * SR)
        x = sf.read(path, dtype="float32")[0]
        row = _row_of(path)
        clips.append({"offset_s": float(at), "clip": figures(x, content[s:s + len(x)]),
                      "song_same_stretch": figures(y[s:s + len(x)], content[s:s + len(x)]),
                      "clip_cpu_s_per_audio_s": row["cpu_s_per_audio_s"],
                      "clip_nit": row["nit"]})
    record({"bench": "songs.equal", "result": args.result,
            "song_cpu_s_per_audio_s": song_row["cpu_s_per_audio_s"],
            "song_nit_per_segment": song_row["nit_per_segment"],
            "song_windows": windows, "clips": clips, **({"trim_s": args.trim} if t else {})})


def finish(args: argparse.Namespace) -> None:
    """What a transfer does with a whole song after its segments (engine/cli/style.py's
    run_styled: the channels merged, the content's loudness, the level with its limiter,
    the writing at the output rate), on a song of ``--seconds`` at SR: each step's peak
    of traced memory (numpy's arrays) above what was held before it, and the finishing's
    peak RSS (ru_maxrss) in this process, which holds nothing else."""
    import resource
    import tracemalloc

    from randstyle.engine import audio, loudness
    from randstyle.engine.run import channels
    content = song(args.seconds)
    y = (sf.read(args.result, dtype="float32")[0] if args.result else content[::-1].copy())
    y = np.resize(y, len(content)) * np.float32(args.gain)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    steps = {}
    tracemalloc.start()

    def step(name, f):
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = f()
        steps[name] = round((tracemalloc.get_traced_memory()[1] - base) / 2**20)
        return out
    result = step("merge", lambda: channels.merge([y], "mono"))
    ref = step("reference_loudness", lambda: loudness.reference_loudness([content], SR))
    (leveled,), rep = step("level", lambda: loudness.level([result], SR, "match", ref,
                                                           limit=True))
    out = os.path.join(tempfile.gettempdir(), "songs_finish.wav")
    step("write_wav", lambda: audio.write_wav(out, leveled[:, 0], SR, overwrite=True,
                                              normalize=False, out_sr=args.output_sr))
    tracemalloc.stop()
    os.unlink(out)
    record({"bench": "songs.finish", "code": args.label, "seconds": args.seconds,
            "output_sr": args.output_sr,
            "limiter": "limiter_db" in rep, "signal_mib": round(y.nbytes / 2**20),
            "step_peak_mib": steps, "rss_before_mib": round(start / 2**10),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("runs")
    r.add_argument("--lengths", default="10,60")
    r.add_argument("--maxiter", type=int, default=8, help="per segment; 0: the default stop")
    r.add_argument("--offset", type=float, default=0.0, help="the song from this second")
    r.add_argument("--whole", action="store_true")
    r.add_argument("--segment", type=float, default=None,
                   help="seconds a segment (the CLI's --segment; default: its default)")
    r.add_argument("--jobs", type=int, default=1, help="the CLI's --jobs (CPU: all processes)")
    r.add_argument("--cpu-before", type=float, default=0.0,
                   help="CPU seconds of an interrupted run of the same command whose kept "
                        "segments this one resumes (added to its CPU; peak and wall: this run's)")
    r.add_argument("--out", default=tempfile.gettempdir())
    d = sub.add_parser("dask")
    d.add_argument("--seconds", type=float, default=40.0)
    d.add_argument("--segment", type=float, default=11.0)
    d.add_argument("--maxiter", type=int, default=8)
    d.add_argument("--repeat", type=int, default=1, help="timed songs on each cluster")
    d.add_argument("--label", default="", help="which code measured (e.g. a commit)")
    d.add_argument("--all-at-once", action="store_true",
                   help="also run the 2 workers with every segment submitted at once")
    c = sub.add_parser("control")
    c.add_argument("--cpu-s", type=float, default=3.0)
    c.add_argument("--task", choices=("busy", "gemm"), default="busy")
    c.add_argument("--label", default="", help="which code measured (e.g. a commit)")
    s = sub.add_parser("seams")
    s.add_argument("result")
    s.add_argument("--content", help="the transfer's content (none: a texture's seams)")
    s.add_argument("--style", required=True)
    s.add_argument("--segment", type=float, default=None,
                   help="seconds a segment (default: as RESULT.json says, else the CLI's)")
    s.add_argument("--overlap", type=float, default=2.0)
    s.add_argument("--label", default="", help="what was run (e.g. its iterations)")
    e = sub.add_parser("equal")
    e.add_argument("result")
    e.add_argument("--content", required=True)
    e.add_argument("--style", required=True)
    e.add_argument("--clips", nargs="+", default=[], help="OFFSET_S:CLIP_RESULT.wav ...")
    e.add_argument("--window", type=float, default=10.0)
    e.add_argument("--trim", type=float, default=0.0,
                   help="seconds left out at each end of every window scored")
    f = sub.add_parser("finish")
    f.add_argument("--seconds", type=float, default=600.0)
    f.add_argument("--result", help="a result to level (repeated to length; default: the "
                                    "song reversed)")
    f.add_argument("--gain", type=float, default=1.0, help="times the result (loud: limiter)")
    f.add_argument("--output-sr", type=int, default=SR)
    f.add_argument("--label", default="", help="which code measured (e.g. a commit)")
    args = p.parse_args()
    if args.what == "runs" and args.segment is None:
        from randstyle.engine.run import segments
        args.segment = segments.SEGMENT_S
    {"runs": runs, "finish": finish, "dask": dask, "control": control, "seams": seams,
     "equal": equal}[args.what](args)


if __name__ == "__main__":
    main()
