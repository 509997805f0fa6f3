"""``randstyle batch JOBS.csv -o OUTDIR``: many transfer / texture / separate runs from one
manifest, here or on a Dask cluster, resumable, with a page to listen to them all."""
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from randstyle.engine.batch import runner
from randstyle.engine.cli import job as job_server
from randstyle.engine.cli import manifest
from randstyle.engine.cli.common import PROG
from randstyle.engine.config import opt
from randstyle.engine.errors import ParameterError
from randstyle.engine.report import page

PAGE = "index.html"
# The module the runner starts for each job slot (python -m SERVER --serve): the commands'
# own code, named from here, where the commands stand.
SERVER = job_server.__name__


@dataclass
class BatchArgs:
    manifest: Optional[str] = field(default=None, metadata={
        "args": ["manifest"], "nargs": "?",
        "help": "JOBS.csv: columns mode, content, style, output and any option of the mode "
                "named like its flag without dashes (see docs/usage.md)"})
    output: Optional[str] = field(default=None, metadata={
        "args": ["-o", "--output"],
        "help": "OUTDIR: every row's output, its report, and index.html (created if missing)"})
    jobs: Optional[int] = opt(None, "jobs at once on this machine (default: cores // "
                                    "--threads)", show=False)
    threads: Optional[int] = opt(None, "threads of each job (default: cores // --jobs, "
                                       "1 when neither is given)", show=False)
    scheduler: Optional[str] = opt(None, "run the jobs on this Dask scheduler "
                                         "(tcp://HOST:PORT) instead of here; its workers must "
                                         "see the inputs and OUTDIR at the same paths",
                                   show=False)
    overwrite: bool = opt(False, "redo rows whose outputs exist from runs with other options")
    progress: bool = field(default=True, metadata={
        "args": ["-q", "--quiet"], "help": "no progress bar or per-row lines, only the summary"})


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1


def sizes(jobs: Optional[int], threads: Optional[int], n: int) -> tuple:
    """(jobs at once, threads per job) so that jobs x threads fits the cores."""
    for name, v in (("--jobs", jobs), ("--threads", threads)):
        if v is not None and v < 1:
            raise ParameterError(f"{name} must be >= 1, got {v}")
    c = cores()
    if threads is None:
        threads = max(1, c // jobs) if jobs else 1
    if jobs is None:
        jobs = max(1, c // threads)
    return min(jobs, max(n, 1)), threads


def _outdir(path: Optional[str]) -> Path:
    if not path:
        raise ParameterError("give the output folder: -o OUTDIR")
    # Absolute: the jobs run in their own processes, whose working folder is not this one.
    out = Path(path).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise ParameterError(f"output {path} exists and is not a folder")
    if not out.parent.is_dir():
        raise ParameterError(f"output folder's parent {out.parent} does not exist")
    return out


def _stretch(options: dict, label: str) -> dict:
    """The start and end (seconds) a row's options cut an input to: its player and
    spectrogram show what the run used."""
    what = label.split(" ")[0]
    if what not in ("content", "style"):
        return {}
    return {edge: float(options[f"{what}-{edge}"]) if options.get(f"{what}-{edge}") else None
            for edge in ("start", "end")}


def entry(o: runner.Outcome, outdir: str, number: int) -> page.Entry:
    """The page's section of a row: numbered from 1 in the manifest's order (the messages
    on stderr count the manifest's lines, header included)."""
    job = o.job
    results, rep = runner.output_paths(job, outdir)
    clips = [page.Clip(label, path, **_stretch(job.options, label))
             for label, path in job.inputs.items()]
    if job.mode == "separate":
        names = [k.split(" ", 1)[1] for k in job.inputs if k.startswith("source ")]
        clips += [page.Clip(f"result {n}", p, result=True) for n, p in zip(names, results)]
    else:
        clips.append(page.Clip("result", results[0], result=True))
    return page.Entry(title=f"{number}. {job.output} ({job.mode}, manifest line {job.row})",
                      clips=clips,
                      report=runner.read_report(rep), status=o.status, message=o.message,
                      options=job.options)


class _Stop:
    """SIGINT and SIGTERM set an event instead of raising: the runner passes Ctrl-C on to the
    jobs once, lets them write what they have, and the batch ends cleanly. A second signal
    acts as it would without the batch (no waiting for the jobs). ``signum`` is the first
    signal, for the exit status (128 + it: 130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.old = {}
        self.signum: Optional[int] = None

    def _handle(self, sig, frame) -> None:
        self.signum = self.signum or sig
        self.event.set()
        signal.signal(sig, self.old[sig])

    def __enter__(self) -> threading.Event:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.old[sig] = signal.signal(sig, self._handle)
        return self.event

    def __exit__(self, *exc) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)


def _summarize(args: BatchArgs, outdir: Path, n_rows: int, ordered: list) -> dict:
    """The page, the summary and each failed row's reason on stderr, the page's path on
    stdout; the count of rows per status."""
    counts = {s: sum(o.status == s for o in ordered)
              for s in ("done", "skipped", "failed", "interrupted", "not run")}
    summary = f"{n_rows} rows: " + ", ".join(f"{v} {k}" for k, v in counts.items()
                                             if v or k in ("done", "failed"))
    index = outdir / PAGE
    page.write_page(str(index), [entry(o, str(outdir), i + 1) for i, o in enumerate(ordered)],
                    f"randstyle batch: {Path(args.manifest).name}", summary)
    print(f"{PROG} batch: {summary}", file=sys.stderr)
    for o in ordered:
        if o.status == "failed":
            print(f"{PROG} batch: row {o.job.row} ({o.job.output}) failed: {o.message}",
                  file=sys.stderr)
    print(index)
    return counts


def run_batch(args: BatchArgs) -> int:
    if not args.manifest:
        raise ParameterError("give the manifest: randstyle batch JOBS.csv -o OUTDIR")
    if args.scheduler is not None and "://" not in args.scheduler:
        raise ParameterError(f"--scheduler must be an address like tcp://HOST:8786, got "
                             f"{args.scheduler!r}")
    jobs = manifest.read(args.manifest)
    outdir = _outdir(args.output)
    n_jobs, threads = sizes(args.jobs, args.threads, len(jobs))
    outdir.mkdir(exist_ok=True)
    for job in jobs:  # e.g. "takes/a.wav": its folder, before any job writes
        (outdir / job.output).parent.mkdir(parents=True, exist_ok=True)

    outcomes: dict = {}
    bar = tqdm(total=len(jobs), desc="batch", unit="row", disable=not args.progress,
               dynamic_ncols=True, file=sys.stderr)

    def report(o: runner.Outcome) -> None:
        outcomes[o.job.row] = o
        bar.update(1)
        took = f" in {o.wall_s:.1f} s" if o.wall_s else ""
        why = f": {o.message}" if o.message else ""
        if args.progress:
            tqdm.write(f"{PROG} batch: row {o.job.row} ({o.job.output}): {o.status}{took}{why}",
                       file=sys.stderr)

    tasks = []
    for job in jobs:
        how, why = runner.plan(job, str(outdir), args.overwrite)
        if how == "skip":
            report(runner.Outcome(job, "skipped", "already done with these options"))
        elif how == "fail":
            report(runner.Outcome(job, "failed", why))
        else:
            tasks.append((job, runner.command(job, str(outdir), threads, how, why)))

    stopper = _Stop()
    with stopper as stop:
        if args.scheduler:
            runner.run_dask(args.scheduler, tasks, threads, report, stop, SERVER)
        else:
            runner.run_embedded(tasks, n_jobs, threads, report, stop, SERVER)
    bar.close()

    ordered = [outcomes[job.row] for job in jobs if job.row in outcomes]
    counts = _summarize(args, outdir, len(jobs), ordered)
    if stop.is_set() or counts["interrupted"] or counts["not run"]:
        print(f"{PROG} batch: stopped; run the same command again to finish the rest",
              file=sys.stderr)
        return 128 + int(stopper.signum or signal.SIGINT)  # a row's own Ctrl-C: 130
    return 1 if counts["failed"] else 0
