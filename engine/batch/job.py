"""One batch job in its own process: ``python -m engine.batch.job ARGV_JSON``.

It runs the single command's own entry point (engine.cli.main) on the argv, so a row does
exactly what that command does, and prints one JSON line: {"rc", "message", "wall_s"}, the
message being the command's last line on stderr (its one-line reason when it failed). A
process per job keeps each job's thread settings, memory and Ctrl-C its own.
"""
import contextlib
import io
import json
import sys
import time

PREFIX = "randstyle "


def reason(stderr: str) -> str:
    """The command's last stderr line without its "randstyle COMMAND: " prefix."""
    lines = [ln.strip() for ln in stderr.replace("\r", "\n").splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    if last.startswith(PREFIX) and ": " in last:
        last = last.split(": ", 1)[1]
    return last.removeprefix("error: ")


def run(argv: list) -> dict:
    started = time.perf_counter()
    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            from engine.cli.main import main
            rc = main(argv)
    except SystemExit as exc:  # argparse; the manifest check should have caught it
        rc = exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        rc = 130
        err.write("interrupted before the run started; nothing written\n")
    except Exception as exc:  # a bug, not bad input: still one line for the summary
        rc = 1
        err.write(f"internal error: {type(exc).__name__}: {exc}\n")
    return {"rc": int(rc or 0), "message": reason(err.getvalue()),
            "wall_s": round(time.perf_counter() - started, 3)}


if __name__ == "__main__":
    result = run(json.loads(sys.argv[1]))
    print(json.dumps(result), flush=True)
    sys.exit(0)
