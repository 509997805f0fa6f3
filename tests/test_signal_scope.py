"""A signal belongs to its run (issue 33): a run starts with nothing received, and a signal
that comes once a run's outputs are written is the process's (its own handler, or Python's
default), not a stop carried into the next run of a long-lived process: a program calling
the CLI and the API again and again, or a batch's job server running row after row."""
import contextlib
import json
import os
import signal

import numpy as np
import pytest
from helpers import write

from randstyle import engine
from randstyle.engine.cli import job, main, manifest
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.run import interrupt

SR = 8000
FAST = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    return (write(d / "content.wav", plucked_melody(1.0, SR), SR),
            write(d / "style.wav", drum_loop(1.0, SR), SR))


def _signal_at_the_writes(monkeypatch, signum: int, where: str = "after") -> list:
    """A real signal to this process at the run's final protected_writes() block, the first
    time only: "during" its writes (held back until they are whole), "after" them (the
    outputs whole), or "finalizer": after them, sent from a __del__, where Python prints and
    drops what a handler raises. Returns the list it marks."""
    real, sent = interrupt.protected_writes, []

    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signum)

    @contextlib.contextmanager
    def with_a_signal():
        with real():
            if where == "during" and not sent:
                sent.append(signum)
                os.kill(os.getpid(), signum)
            yield
        if where != "during" and not sent:
            sent.append(signum)
            if where == "finalizer":
                Finalized()  # freed at once
            else:
                os.kill(os.getpid(), signum)

    monkeypatch.setattr(interrupt, "protected_writes", with_a_signal)
    return sent


def _done(report_path) -> dict:
    report = json.load(open(report_path))
    assert report["interrupted"] is False and "interrupted" not in report["stop_reason"]
    return report


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_two_runs_in_one_process_with_a_signal_between_them(inputs, tmp_path, monkeypatch):
    """A program with its own SIGTERM handler runs the CLI's entry point, then the API.
    SIGTERM lands as the first run's outputs are whole (inside a finalizer, where what our
    handler raised was dropped and stayed pending), and again between the runs: each goes to
    the program's handler; the first run ends as done (exit 0), the second is not stopped.
    Before: the first run exited 143 ("SIGTERM arrived while writing") and the API run,
    reading the signal left pending, stopped at its first evaluation."""
    got = []
    previous = signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    try:
        sent = _signal_at_the_writes(monkeypatch, signal.SIGTERM, "finalizer")
        out = tmp_path / "o.wav"
        assert main(["transfer", *inputs, "-o", str(out), *FAST]) == 0
        assert sent and got == [signal.SIGTERM]  # the program's, not the run's
        _done(tmp_path / "o.json")
        os.kill(os.getpid(), signal.SIGTERM)  # between the runs: the program's handler
        assert got == [signal.SIGTERM, signal.SIGTERM]
        assert interrupt.received() is None  # no run, nothing received
        cfg = engine.TransferConfig(sr=SR, n_fft=256, hop_length=64, n_filters=32,
                                    rhythm_filters=16, rhythm_kernel_size=10, maxiter=3,
                                    ftol=1e-30, progress=False)
        content, style = (engine.load(p, SR) for p in inputs)
        y, report = engine.transfer(content, style, cfg)
        assert not report["interrupted"] and report["nit"] == 3 and np.all(np.isfinite(y))
        assert signal.getsignal(signal.SIGTERM) is not interrupt._handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def _row_call(argv: list) -> dict:
    """A transfer row's call as the batch hands it to the job server: parsed once."""
    fields, explicit, _ = manifest.parsed("transfer", argv)
    return {"mode": "transfer", "fields": fields, "explicit": explicit}


@pytest.mark.parametrize("where,said", [
    ("after", "interrupted (SIGINT) after its outputs were written"),
    ("during", "SIGINT arrived while writing; the outputs are whole")])
def test_a_job_server_runs_the_next_row_after_a_signal_at_a_rows_writes(
        inputs, tmp_path, monkeypatch, where, said):
    """The batch's job server (engine.cli.job.serve: SIGINT is Python's KeyboardInterrupt
    during a row) runs two rows; a SIGINT comes right after the first row's last write (the
    server's own: the row answers 130, its outputs whole), or during it (the row's: noted,
    the outputs finished first). Either way the second row runs to its end, exit 0: what the
    first received is not the second's."""
    sent = _signal_at_the_writes(monkeypatch, signal.SIGINT, where)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as serve() does
    try:
        rows = [job.run(_row_call([*inputs, "-o", str(tmp_path / f"{n}.wav"), *FAST]))
                for n in ("first", "second")]
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sent == [signal.SIGINT]
    assert rows[0]["rc"] == 130 and rows[0]["message"] == said, rows[0]
    _done(tmp_path / "first.json")
    assert (tmp_path / "first.wav").exists()
    assert rows[1]["rc"] == 0 and rows[1]["message"] == "", rows[1]
    _done(tmp_path / "second.json")


def test_a_scope_holds_a_runs_signals_and_no_later_runs():
    """A run stopped by SIGTERM: while inside, its signal is known; after it, nothing is
    (outside handling() as in a new one: received None, a bare KeyboardInterrupt is Ctrl-C,
    no interruption pending), and the scope it yielded still tells the run's own story."""
    with interrupt.handling() as scope:
        with pytest.raises(interrupt.Interrupted):
            os.kill(os.getpid(), signal.SIGTERM)
        assert interrupt.received() == signal.SIGTERM
        interrupt._scope.pending = True  # as if a finalizer dropped it
    assert interrupt.received() is None and not interrupt.wrote_outputs()
    assert interrupt.exit_status(KeyboardInterrupt()) == 130
    interrupt.unheard()  # nothing pending outside a run
    assert interrupt.exit_status(KeyboardInterrupt(), scope) == 143
    with interrupt.handling():
        interrupt.unheard()
        assert interrupt.received() is None
