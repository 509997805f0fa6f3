"""Faults a user meets, and tests that fail for the breakages of issue 13: signals (SIGTERM as
SIGINT) on a real child process, resume from the checkpoint's own signal, every option
validator given a value it must reject, and what features do rather than their shapes."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from helpers import write

from engine.demo import drum_loop, plucked_melody
from engine.run import interrupt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SR = 8000
FAST = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--ftol", "1e-30"]


def _cli(*args) -> list:
    return [sys.executable, os.path.join(ROOT, "cli.py"), *map(str, args)]


def _stop_when(cmd: list, ready, sig: int, tmp_path, timeout: float = 60.0):
    """Start cmd, send sig once ready(stderr so far) holds, and return (exit status, stdout,
    stderr)."""
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        deadline = time.time() + timeout
        while not ready(err_path.read_text()) and time.time() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"finished before the signal: {err_path.read_text()}"
        proc.send_signal(sig)
        stdout, _ = proc.communicate(timeout=60)
    return proc.returncode, stdout, err_path.read_text()


def _iterations_shown(desc: str, at_least: int):
    """ready() for _stop_when: the progress bar named desc shows >= at_least iterations."""
    pattern = re.compile(re.escape(desc) + r":[^\r\n]*?\| *(\d+)/")
    return lambda text: any(int(n) >= at_least for n in pattern.findall(text))


def test_sigterm_writes_the_best_iterate_and_resume_continues_from_it(tmp_path):
    content = write(tmp_path / "c.wav", plucked_melody(1.5, SR), SR)
    style = write(tmp_path / "s.wav", drum_loop(2.0, SR), SR)
    out, rep, ckpt = tmp_path / "o.wav", tmp_path / "o.json", tmp_path / "o.ckpt.npz"
    cmd = _cli("transfer", content, style, "-o", out, "--subtype", "float",
               "--checkpoint-every", "3", "--maxiter", "100000", *FAST)
    code, stdout, stderr = _stop_when(cmd, lambda _: ckpt.exists(), signal.SIGTERM, tmp_path)
    assert code == 143, stderr
    assert stdout.strip() == str(out) and "--resume" in stderr and "SIGTERM" in stderr
    report = json.loads(rep.read_text())
    assert report["interrupted"] and "SIGTERM" in report["stop_reason"]
    losses = [report["initial_loss"]["total"]] + [it["total"] for it in report["iterations"]]
    assert report["nit"] >= 3

    saved = np.load(ckpt)["x"]
    y, _ = sf.read(str(out), dtype="float64")
    # The WAV is the checkpoint's signal (peak-normalized)...
    assert np.max(np.abs(y / np.max(np.abs(y)) - saved / np.max(np.abs(saved)))) < 1e-6
    # ...and resuming with no iterations left evaluates exactly that signal: its loss is the
    # lowest the interrupted run reported (the start's loss if Ctrl-C wrote the start, and
    # the noise's if --resume restarted from it).
    done = report["nit"]
    res = subprocess.run(_cli("transfer", "--resume", ckpt, "--maxiter", done, "--quiet"),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    resumed = json.loads(rep.read_text())
    assert resumed["resumed_at_iteration"] == done and not resumed["interrupted"]
    loss = resumed["initial_loss"]["total"]
    assert loss <= min(losses) * (1 + 1e-4), (loss, min(losses))
    assert loss < 0.9 * losses[0]
    y2, _ = sf.read(str(out), dtype="float64")
    assert np.max(np.abs(y2 - y)) < 1e-6  # the same signal written again


def test_sigterm_in_separate_writes_every_source(tmp_path):
    mix = write(tmp_path / "mix.wav", plucked_melody(1.5, SR) + drum_loop(1.5, SR), SR)
    melody = write(tmp_path / "m.wav", plucked_melody(1.5, SR, seed=4), SR)
    drums = write(tmp_path / "d.wav", drum_loop(1.5, SR, seed=4), SR)
    out = tmp_path / "sep"
    cmd = _cli("separate", mix, "--source", f"melody={melody}", "--source", f"drums={drums}",
               "-o", out, "--maxiter", "100000", *FAST)
    code, stdout, stderr = _stop_when(cmd, _iterations_shown("separate", 2), signal.SIGTERM,
                                      tmp_path)
    assert code == 143, stderr
    report = json.loads((out / "separation.json").read_text())
    assert report["interrupted"] and "SIGTERM" in report["stop_reason"]
    parts = [sf.read(str(out / f"{n}.wav"))[0] for n in ("melody", "drums")]
    assert all(len(p) == int(1.5 * SR) and np.max(np.abs(p)) > 0 for p in parts)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left


def test_sigint_in_reconstruct_writes_the_time_domain_result(tmp_path):
    content = write(tmp_path / "c.wav", plucked_melody(1.5, SR), SR)
    prefix = tmp_path / "r"
    cmd = _cli("reconstruct", content, "-o", prefix, "--maxiter", "100000", *FAST)
    code, stdout, stderr = _stop_when(cmd, _iterations_shown("time domain", 2), signal.SIGINT,
                                      tmp_path)
    assert code == 130, stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["interrupted"] and "SIGINT" in report["results"]["time"]["stop_reason"]
    y, _ = sf.read(str(tmp_path / "r_time.wav"))
    assert len(y) == int(1.5 * SR) and np.max(np.abs(y)) > 0
    assert not (tmp_path / "r_griffinlim.wav").exists()
    assert report["outputs"] == [str(tmp_path / "r_time.wav"), str(tmp_path / "r.json")]


def test_first_signal_interrupts_and_a_signal_during_the_writes_waits(tmp_path):
    with interrupt.handling():
        with pytest.raises(KeyboardInterrupt) as info:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler raises before this ends
        assert interrupt.exit_status(info.value) == 143
        assert interrupt.stop_message(info.value).startswith("interrupted (SIGTERM)")
    with interrupt.handling():
        target = tmp_path / "out.bin"
        with interrupt.protected_writes():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # held back: nothing raised here
            target.write_bytes(b"x" * 1000)
        assert interrupt.received() == signal.SIGINT and interrupt.exit_status() == 130
        assert target.read_bytes() == b"x" * 1000
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers given back
