"""Batch rows in a process apart from the batch: ``python -m randstyle.engine.cli.job --serve`` runs
them one after another (a row's call in on stdin, one JSON line: its command and the
arguments' fields as the manifest parsed them; a {"started": true} line and then the result
line out), so the imports and compiled kernels are paid once per job slot rather than once
per row.

A row runs the single command's own code (engine.cli.commands.call: the arguments made from the
fields, then what the command runs on them), so it does exactly what that command does,
without parsing the row again; its result is {"rc", "message", "wall_s"}, the message being
the command's last line on stderr (its one-line reason when it failed). Being apart from the
batch keeps each row's thread settings, memory and Ctrl-C away from it.
"""
import contextlib
import io
import json
import os
import signal
import sys
import time

from randstyle.engine.run import interrupt

PREFIXES = ("randstyle: ", "randstyle ")


def reason(stderr: str) -> str:
    """The command's last stderr line without its "randstyle COMMAND: " prefix."""
    lines = [ln.strip() for ln in stderr.replace("\r", "\n").splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    if last.startswith(PREFIXES) and ": " in last:
        last = last.split(": ", 1)[1]
    return last.removeprefix("error: ")


def run(job: dict) -> dict:
    """One row's call ({"mode", "fields", "explicit"}: engine/batch/runner.py: command)."""
    started = time.perf_counter()
    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            from randstyle.engine.cli.commands import call
            rc = call(job)
    except SystemExit as exc:  # a bug's exit; the manifest check parsed the row already
        rc = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:
        if interrupt.wrapped(exc) is not None:  # Ctrl-C, plain or wrapped by compiled code
            rc = 130
            err.write("interrupted before the run started; nothing written\n")
        elif isinstance(exc, Exception):  # a bug, not bad input: still one line for the summary
            rc = 1
            err.write(f"internal error: {type(exc).__name__}: {exc}\n")
        else:
            raise
    return {"rc": int(rc or 0), "message": reason(err.getvalue()),
            "wall_s": round(time.perf_counter() - started, 3)}


def serve() -> None:
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever else prints to stdout goes to stderr, not into the channel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # idle: a Ctrl-C is for a running job only
    for line in sys.stdin:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        channel.write('{"started": true}\n')  # from here on, SIGINT stops this job
        channel.flush()
        result = run(json.loads(line))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        channel.write(json.dumps(result) + "\n")
        channel.flush()


if __name__ == "__main__":
    serve()
