"""SIGINT and SIGTERM as one way to stop a run: the optimizer returns its best point, the
command writes it, and the exit status says which signal stopped it (128 + signal number).

A timeout, a job scheduler's preemption or ``docker stop`` sends SIGTERM; Python's default
would kill the process at once and lose every iteration. ``handling()`` (installed by the CLI,
and by anything else that runs commands, such as a batch) turns SIGTERM into the same
``KeyboardInterrupt`` Ctrl-C raises, as an ``Interrupted`` carrying the signal. Only the first
signal interrupts: once a run is stopping, later ones are noted and wait for its outputs, and
``protected_writes()`` holds both signals back while the final files are written, so no signal
can cut a write short.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A KeyboardInterrupt raised for a signal; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_received: list = []  # signal numbers seen since handling() began, in order
_pending = False  # an Interrupted was raised that no handler has seen yet (wrapped())
_writing = False
_wrote = False  # protected_writes() has completed since handling() began


def _handler(signum: int, frame) -> None:
    global _pending
    _received.append(signum)
    if len(_received) == 1 and not _writing:
        _pending = True
        raise Interrupted(signum)
    # A run that is already stopping (or writing) finishes its outputs first.


def unheard() -> None:
    """Raise again the interruption no handler has seen. The handler raises wherever Python
    happens to be, and where that is a finalizer (a __del__, a weakref callback run by the
    garbage collector) Python prints the exception and drops it: the run would go on, deaf to
    every later signal. The optimizer calls this at every evaluation."""
    if _pending:
        raise Interrupted(_received[0])


def wrapped(exc: BaseException) -> Optional[KeyboardInterrupt]:
    """The KeyboardInterrupt behind exc, if any. The handler raises wherever Python happens to
    be running, and when that is a callback inside compiled code (numba's dispatcher, a C
    extension) the interruption comes back wrapped, e.g. as a SystemError whose cause it is."""
    global _pending
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            _pending = False  # heard
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def signum_of(exc: Optional[BaseException]) -> int:
    """The signal behind an interruption: Interrupted's own, else the first one received,
    else SIGINT (a KeyboardInterrupt raised without our handler is Ctrl-C)."""
    if isinstance(exc, Interrupted):
        return exc.signum
    return _received[0] if _received else signal.SIGINT


def name(signum: int) -> str:
    return signal.Signals(signum).name


def stop_message(exc: Optional[BaseException] = None) -> str:
    """The optimizer's stop reason for an interrupted run."""
    return f"interrupted ({name(signum_of(exc))}): the best result so far"


def received() -> Optional[int]:
    """The first signal received since handling() began, or None."""
    return _received[0] if _received else None


def exit_status(exc: Optional[BaseException] = None) -> int:
    """128 + the signal number, as a shell reports a process a signal ended: 130 for SIGINT,
    143 for SIGTERM."""
    return 128 + int(signum_of(exc))


@contextmanager
def handling() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted while inside; the previous handlers come back
    after. Outside the main thread (where Python cannot set handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _wrote, _pending
    _received.clear()
    _wrote = _pending = False
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def protected_writes() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the final outputs are written: each write is a
    temporary file renamed into place, and a signal inside would leave the set of outputs
    half written. A signal that arrives meanwhile is delivered after, and only noted
    (``received()``): the outputs are whole."""
    global _writing, _wrote
    _writing = True
    blocked = hasattr(signal, "pthread_sigmask") and \
        threading.current_thread() is threading.main_thread()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS) if blocked else None
    try:
        yield
        _wrote = True
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)  # pending ones run _handler now
        _writing = False


def wrote_outputs() -> bool:
    """Whether a protected_writes() block has completed since handling() began."""
    return _wrote
