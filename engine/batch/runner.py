"""Running batch jobs: embedded (job worker processes on this machine, as many at once as
the cores allow) or on a Dask distributed cluster (a job worker process per Dask worker
thread). Either way a row runs in a job server process (``python -m SERVER --serve``, the
module the caller names): the single command's own code path, apart from the batch, one row
after another, stopped by SIGINT so it writes what it has (atomically) and ends."""
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from randstyle.engine.run import checkpoint, cluster

# Config fields that may differ between a finished run and the same row run again.
VOLATILE = {"output", "overwrite", "progress", "threads", "resume", "html", "jobs",
            "scheduler"}
# The folder holding the randstyle package: a checkout's root (engine/ stands beside
# randstyle/ there), site-packages in an install.
ROOT = str(Path(importlib.util.find_spec("randstyle").origin).resolve().parents[1])
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
POLL_S = 0.05
RESUME_MAY_CHANGE = frozenset({"maxiter"})


@dataclass
class Job:
    row: int
    mode: str
    output: str  # as written, relative to OUTDIR
    fields: dict  # the command's arguments as its parser made them (JSON), once
    explicit: list  # the fields the row gave (what presets and --resume leave alone)
    options: dict  # option column -> value as written (non-empty only)
    inputs: dict = field(default_factory=dict)  # label -> absolute path
    expected: dict = field(default_factory=dict)  # the report's "config" a finished run holds


@dataclass
class Outcome:
    job: Job
    status: str  # done | skipped | failed | interrupted | not run
    message: str = ""
    wall_s: float = 0.0


def output_paths(job: Job, outdir: str) -> tuple:
    """([result audio paths], report path) of a job."""
    out = Path(outdir) / job.output
    if job.mode == "separate":
        names = [k.split(" ", 1)[1] for k in job.inputs if k.startswith("source ")]
        return [str(out / f"{n}.wav") for n in names], str(out / "separation.json")
    return [str(out)], str(out.with_suffix(".json"))


def read_report(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def _differs(job: Job, report: dict, ignore: frozenset = frozenset()) -> Optional[str]:
    """The first option in which the report's run differs from the row, or None."""
    config = report.get("config")
    if not isinstance(config, dict):
        return "config"
    for key, value in job.expected.items():
        if key not in ignore and config.get(key, object()) != value:
            return key
    extra = sorted(set(config) - set(job.expected) - VOLATILE - ignore)
    return extra[0] if extra else None


def plan(job: Job, outdir: str, overwrite: bool) -> tuple:
    """(what to do, why): 'skip' (finished with these options), 'run', 'resume' (an
    interrupted run's checkpoint), 'redo' (replace outputs), or 'fail' with the reason."""
    results, rep = output_paths(job, outdir)
    report = read_report(rep)
    if report is None or not all(os.path.exists(p) for p in results):
        # Some of it there (a report deleted, a result removed): the command itself refuses
        # to clobber it unless the batch was given --overwrite.
        if overwrite and any(os.path.exists(p) for p in [*results, rep]):
            return "redo", "incomplete"
        if report is not None and _differs(job, report) is None:
            return "redo", "its result is missing"  # this row's own report: run it again
        return "run", ""
    differs = _differs(job, report)
    if report.get("interrupted"):
        ckpt = checkpoint.path_for(results[0])
        # --resume takes a new --maxiter: a row given more (or fewer) iterations continues.
        if job.mode != "separate" and os.path.exists(ckpt) and \
                _differs(job, report, RESUME_MAY_CHANGE) is None:
            return "resume", ckpt
        return "redo", "unfinished"
    if differs is None:
        return "skip", ""
    if overwrite:
        return "redo", f"--{differs.replace('_', '-')} changed"
    return "fail", (f"{job.output} exists from a run with another --{differs.replace('_', '-')}"
                    "; pass --overwrite to redo it")


def command(job: Job, outdir: str, threads: int, how: str, ckpt: str = "") -> dict:
    """A job's call of its command: {"mode", "fields" (its arguments), "explicit" (those
    given)}: the row's own, with the output, no progress, the threads and, to redo,
    overwrite; to resume, the checkpoint and the row's maxiter alone."""
    tail = {"progress": False, "threads": threads}
    if how == "resume":
        given = {"resume": ckpt, "maxiter": job.expected["maxiter"], **tail}
        return {"mode": job.mode, "fields": given, "explicit": sorted(given)}
    given = {"output": str(Path(outdir) / job.output), **tail,
             **({"overwrite": True} if how == "redo" else {})}
    return {"mode": job.mode, "fields": {**job.fields, **given},
            "explicit": sorted(set(job.explicit) | set(given))}


def _spawn(server: str, args: list, threads: int, stdin, stdout, stderr) -> subprocess.Popen:
    """The job server ``python -m SERVER`` (the module the caller names: it runs the
    commands, a floor above this one)."""
    env = dict(os.environ)
    # The same engine as this process, whatever the working folder or install.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    for var in THREAD_VARS:  # thread pools sized at start, before --threads applies
        env[var] = str(threads)
    # A session of its own: a terminal's Ctrl-C reaches the batch, which passes it on once.
    return subprocess.Popen([sys.executable, "-m", server, *args], cwd=ROOT,
                            env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                            start_new_session=True)


_slot = threading.local()  # on a Dask worker: each of its threads keeps a job worker process


def run_isolated(call: dict, threads: int, server: str,
                 stop_event: Optional[str] = None) -> dict:
    """One row to its end on a Dask worker, in a job worker process that this worker thread
    keeps for its next rows; a set ``stop_event`` (a distributed.Event name) interrupts it like
    Ctrl-C, or keeps it from starting."""
    stop = None
    if stop_event:
        from distributed import Event
        stop = Event(stop_event)
        if stop.is_set():
            return {"rc": None, "message": "the batch was stopped", "wall_s": 0.0}
    worker = getattr(_slot, "worker", None)
    if worker is None or worker.threads != threads or worker.popen.poll() is not None:
        if worker is not None:
            worker.close()
        worker = _slot.worker = _Worker(threads, server)
    worker.submit(None, call)
    while True:
        if select.select([worker.fd], [], [], 0.2)[0]:
            result = worker.read()
            if result is not None:
                return result
        if stop is not None and stop.is_set():
            worker.interrupt()


def outcome(job: Job, result: dict) -> Outcome:
    rc = result.get("rc")
    status = "not run" if rc is None else "done" if rc == 0 else \
        "interrupted" if rc == 130 else "failed"
    message = result.get("message", "") if status != "done" else ""
    return Outcome(job, status, message, float(result.get("wall_s") or 0.0))


class _Worker:
    """A job slot: one job server process running rows one after another.
    A row is interrupted (SIGINT) only once the worker says it started it."""

    def __init__(self, threads: int, server: str) -> None:
        self.threads = threads
        self.err = tempfile.TemporaryFile()
        self.popen = _spawn(server, ["--serve"], threads, subprocess.PIPE, subprocess.PIPE,
                            self.err)
        self.fd = self.popen.stdout.fileno()
        self.buffer = b""
        self.job, self.running, self.stop_asked, self.signalled = None, False, False, False

    def submit(self, job: Optional[Job], call: dict) -> None:
        self.job, self.running, self.started = job or call, False, time.perf_counter()
        self.stop_asked = self.signalled = False
        self.popen.stdin.write((json.dumps(call) + "\n").encode())
        self.popen.stdin.flush()

    def interrupt(self) -> None:
        self.stop_asked = True
        if self.running and not self.signalled and self.popen.poll() is None:
            self.signalled = True
            self.popen.send_signal(signal.SIGINT)

    def read(self) -> Optional[dict]:
        """The job's result once it came (or the process ended), else None. Raw reads: a
        buffered reader could hold a second line that select() then never reports."""
        chunk = os.read(self.fd, 65536)
        self.buffer += chunk
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not ours
            if message.get("started"):
                self.running = True
                if self.stop_asked:
                    self.interrupt()
            else:
                self.job = None
                return message
        if chunk:
            return None
        self.job = None  # end of file: the process died mid-row
        rc = self.popen.wait()
        if self.signalled or self.stop_asked:
            return {"rc": 130, "message": "stopped; nothing written", "wall_s": 0.0}
        self.err.seek(0)
        err = self.err.read().decode(errors="replace").strip().splitlines()
        return {"rc": 1, "message": err[-1] if err else f"the job's process ended with code {rc}",
                "wall_s": round(time.perf_counter() - self.started, 3)}

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.stdin.close()  # end of input: the worker exits
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.popen.stdout.close()
        self.err.close()


def run_embedded(tasks: list, jobs: int, threads: int, report: Callable,
                 stop: threading.Event, server: str) -> None:
    """``tasks`` [(job, call)] on ``jobs`` worker processes of the job server ``server``;
    ``report(Outcome)`` as each ends. Once ``stop`` is set nothing new starts and the running
    rows get SIGINT."""
    pending, workers, stopping = list(tasks), [], False
    try:
        while True:
            for w in [w for w in workers if w.job is None and w.popen.poll() is not None]:
                w.close()  # died while idle
                workers.remove(w)
            idle = [w for w in workers if w.job is None]
            while pending and not stop.is_set() and (idle or len(workers) < jobs):
                worker = idle.pop() if idle else _Worker(threads, server)
                if worker not in workers:
                    workers.append(worker)
                job, call = pending.pop(0)
                try:
                    worker.submit(job, call)
                except OSError:  # it died just now: the row fails, the slot starts afresh
                    worker.job = None
                    report(Outcome(job, "failed", "its worker process ended unexpectedly"))
            if stop.is_set() and not stopping:
                stopping = True
                for w in workers:
                    if w.job is not None:
                        w.interrupt()
                for job, _ in pending:
                    report(Outcome(job, "not run", "the batch was stopped"))
                pending = []
            busy = [w for w in workers if w.job is not None]
            if not busy and not pending:
                break
            ready, _, _ = select.select([w.fd for w in busy], [], [], POLL_S)
            for w in busy:
                if w.fd in ready:
                    job = w.job
                    result = w.read()
                    if result is not None:
                        report(outcome(job, result))
    finally:
        for w in workers:
            w.close()


def run_dask(address: str, tasks: list, threads: int, report: Callable,
             stop: threading.Event, server: str) -> None:
    """The same jobs on a Dask distributed scheduler's workers (which must see the inputs
    and OUTDIR at the same paths). Dask is imported here only."""
    client = cluster.connect(address)
    from distributed import Event, as_completed  # there once connect() has imported Dask
    with client:
        name = f"randstyle-stop-{uuid.uuid4().hex}"
        event = Event(name, client=client)
        futures = {client.submit(run_isolated, call, threads, server, name, pure=False,
                                 key=f"randstyle-row{job.row}-{uuid.uuid4().hex[:8]}"): job
                   for job, call in tasks}
        done = as_completed(futures)
        stopping = False
        while not done.is_empty():
            if stop.is_set() and not stopping:
                stopping = True
                event.set()  # running jobs stop and write what they have; queued ones skip
            for future in done.next_batch(block=False) if done.has_ready() else []:
                job = futures[future]
                try:
                    report(outcome(job, future.result()))
                except Exception as exc:  # the worker died or the task was lost
                    first = (str(exc).strip().splitlines() or [""])[0]
                    report(Outcome(job, "failed", f"on the cluster: {type(exc).__name__}: "
                                                  f"{first}"))
            time.sleep(POLL_S)
