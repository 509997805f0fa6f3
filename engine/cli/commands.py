"""Running a command on its arguments (one line and exit 2 for bad input, the run's own exit
status for a signal), and the commands a batch row can be: the command line (main.py) and
the batch's job server (job.py) both run them here, so the job server, which the batch
starts, reaches no module that imports the batch."""
import sys
from typing import Callable

from randstyle.engine.cli.common import PROG, flagged
from randstyle.engine.cli.style import TextureArgs, TransferArgs, run_styled
from randstyle.engine.cli.tools import DictionaryArgs, run_separate, separate_args
from randstyle.engine.errors import ParameterError
from randstyle.engine.run import interrupt

# A row's command: its arguments class (separate's default method's) and its run.
ROWS: dict[str, tuple[type, Callable]] = {
    "transfer": (TransferArgs, lambda a, e: run_styled(a, "transfer", e)),
    "texture": (TextureArgs, lambda a, e: run_styled(a, "texture", e)),
    "separate": (DictionaryArgs, lambda a, e: run_separate(a, e)),
}
# Commands whose arguments class follows from the argv (separate: its --method's).
ARGS_OF = {"separate": separate_args}


def call(job: dict) -> int:
    """A batch row's call (engine/batch/runner.py: command): the arguments' fields as the
    manifest parsed them once (engine/cli/manifest.py), run as the command runs them."""
    command, fields = job["mode"], job["fields"]

    def arguments() -> tuple:
        cls = ROWS[command][0]
        if command in ARGS_OF:  # separate: its method's class
            cls = ARGS_OF[command](["--method", fields.get("method", "dictionary")])
        return cls(**fields), set(job["explicit"])
    return execute(command, ROWS[command][1], arguments)


def execute(command: str, run: Callable, arguments: Callable[[], tuple]) -> int:
    """``run`` on ``arguments()`` ((the command's arguments, the fields given)); a bad input is
    one line on stderr and exit 2, a signal the run's own exit status."""
    scope = None  # the run's signals, read after it ended
    try:
        # SIGTERM (timeout, scheduler, docker stop) stops a run as Ctrl-C does.
        with interrupt.handling() as scope:
            args, explicit = arguments()
            return run(args, explicit) or 0
    except ParameterError as exc:  # the engine names parameters, the command its flags
        print(f"{PROG} {command}: error: {flagged(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, permissions: not bad input, but still one line
        print(f"{PROG} {command}: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{PROG} {command}: error: out of memory; try fewer --n-filters or shorter "
              "clips", file=sys.stderr)
        return 1
    except BaseException as exc:  # Ctrl-C, SIGTERM, or either wrapped by compiled code
        stopped = interrupt.wrapped(exc)
        if stopped is None:
            raise
        return _interrupted(command, stopped, scope)


def _interrupted(command: str, exc: KeyboardInterrupt, scope) -> int:
    done = "after its outputs were written" if interrupt.wrote_outputs(scope) else \
        "before there was a result; nothing written"
    signum = interrupt.signum_of(exc, scope)
    print(f"{PROG} {command}: interrupted ({interrupt.name(signum)}) {done}", file=sys.stderr)
    return interrupt.exit_status(exc, scope)
