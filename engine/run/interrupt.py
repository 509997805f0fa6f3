"""SIGINT and SIGTERM as one way to stop a run: the optimizer returns its best point, the
command writes it, and the exit status says which signal stopped it (128 + signal number).

A timeout, a job scheduler's preemption or ``docker stop`` sends SIGTERM; Python's default
would kill the process at once and lose every iteration. ``handling()`` (installed by the CLI,
and by anything else that runs commands, such as a batch) turns SIGTERM into the same
``KeyboardInterrupt`` Ctrl-C raises, as an ``Interrupted`` carrying the signal. Only the first
signal interrupts: once a run is stopping, later ones are noted and wait for its outputs, and
``protected_writes()`` holds both signals back while the final files are written, so no signal
can cut a write short.

What a run received belongs to that run (a ``Scope``, one per ``handling()``): a run starts
with nothing received, and nothing of it is left when it ends, so a long-lived process (a
batch's job server, a program calling the CLI or the API again and again) never starts a run
already stopped. Once a run's outputs are written and nothing is stopping it, a signal is the
process's again: its own handlers are given back and the signal goes to them (for SIGTERM,
Python's default: the process ends), instead of being kept for a run that has finished.
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


class Scope:
    """One run's signals, from handling()'s start to its end."""

    def __init__(self, outer: Optional["Scope"] = None) -> None:
        self.outer = outer  # the run this one runs inside, if any (rare)
        self.previous: dict = {}  # the process's handlers, given back when the run is done
        self.received: list = []  # signal numbers seen, in order
        self.pending = False  # an Interrupted was raised that no handler has seen yet
        self.writing = False
        self.wrote = False  # protected_writes() has completed: the outputs are whole

    def give_back(self) -> None:
        """The process's own handlers, from now on."""
        for s, h in self.previous.items():
            signal.signal(s, signal.SIG_DFL if h is None else h)  # None: set outside Python


_scope: Optional[Scope] = None  # the run inside handling(); None between runs


def _handler(signum: int, frame) -> None:
    global _scope
    scope = _scope
    if scope is None:  # handlers are given back before a scope ends; a stray call is ignored
        return
    if scope.wrote and not scope.writing and not scope.received:
        # The run is done and whole: this signal is the process's, not a stop for the run.
        scope.give_back()
        _scope = scope.outer
        _deliver(signum, frame, scope.previous.get(signum, signal.SIG_DFL))
        return
    scope.received.append(signum)
    if len(scope.received) == 1 and not scope.writing:
        scope.pending = True
        raise Interrupted(signum)
    # A run that is already stopping (or writing) finishes its outputs first.


def _deliver(signum: int, frame, handler) -> None:
    """Act on a signal as the process's own handler would."""
    if callable(handler):
        handler(signum, frame)
    elif handler != signal.SIG_IGN:  # SIG_DFL, or a handler set outside Python (None)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


def unheard() -> None:
    """Raise again the interruption no handler has seen. The handler raises wherever Python
    happens to be, and where that is a finalizer (a __del__, a weakref callback run by the
    garbage collector) Python prints the exception and drops it: the run would go on, deaf to
    every later signal. The optimizer calls this at every evaluation; outside handling() (an
    API run) there is nothing to raise."""
    if _scope is not None and _scope.pending:
        raise Interrupted(_scope.received[0])


def wrapped(exc: BaseException) -> Optional[KeyboardInterrupt]:
    """The KeyboardInterrupt behind exc, if any. The handler raises wherever Python happens to
    be running, and when that is a callback inside compiled code (numba's dispatcher, a C
    extension) the interruption comes back wrapped, e.g. as a SystemError whose cause it is."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            if _scope is not None:
                _scope.pending = False  # heard
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def signum_of(exc: Optional[BaseException], scope: Optional[Scope] = None) -> int:
    """The signal behind an interruption: Interrupted's own, else the first one the run
    (``scope``, by default the current one) received, else SIGINT (a KeyboardInterrupt raised
    without our handler is Ctrl-C)."""
    if isinstance(exc, Interrupted):
        return exc.signum
    scope = scope or _scope
    return scope.received[0] if scope is not None and scope.received else signal.SIGINT


def name(signum: int) -> str:
    return signal.Signals(signum).name


def stop_message(exc: Optional[BaseException] = None) -> str:
    """The optimizer's stop reason for an interrupted run."""
    return f"interrupted ({name(signum_of(exc))}): the best result so far"


def received() -> Optional[int]:
    """The first signal the current run received, or None (also outside handling())."""
    return _scope.received[0] if _scope is not None and _scope.received else None


def exit_status(exc: Optional[BaseException] = None, scope: Optional[Scope] = None) -> int:
    """128 + the signal number, as a shell reports a process a signal ended: 130 for SIGINT,
    143 for SIGTERM."""
    return 128 + int(signum_of(exc, scope))


@contextmanager
def handling() -> Iterator[Scope]:
    """SIGINT and SIGTERM raise Interrupted while inside; the previous handlers come back
    after. Yields the run's Scope, which the caller may read once the run has ended (its
    exit status, whether it wrote its outputs). Outside the main thread (where Python cannot
    set handlers) it installs nothing and the scope stays empty."""
    global _scope
    scope = Scope(_scope)
    if threading.current_thread() is not threading.main_thread():
        yield scope
        return
    scope.previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    _scope = scope
    try:
        yield scope
    finally:
        scope.give_back()
        scope.pending = False
        if _scope is scope:
            _scope = scope.outer


@contextmanager
def protected_writes() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the final outputs are written: each write is a
    temporary file renamed into place, and a signal inside would leave the set of outputs
    half written. A signal that arrives meanwhile is delivered after, and only noted
    (``received()``): the outputs are whole. Outside handling() it only holds them back."""
    scope = _scope or Scope()
    scope.writing = True
    blocked = hasattr(signal, "pthread_sigmask") and \
        threading.current_thread() is threading.main_thread()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS) if blocked else None
    try:
        yield
        scope.wrote = True
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)  # pending ones run _handler now
        scope.writing = False


def wrote_outputs(scope: Optional[Scope] = None) -> bool:
    """Whether a protected_writes() block of the run (``scope``, by default the current
    one) has completed."""
    scope = scope or _scope
    return scope is not None and scope.wrote
