"""Checkpoints (engine/run/checkpoint.py): round trip, resume and refusals."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from helpers import FAST

from randstyle.engine.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SR = 8000



def test_checkpoint_resume_and_sigint(files, tmp_path, capsys):
    out = tmp_path / "long.wav"
    ckpt = tmp_path / "long.ckpt.npz"
    args = [a for a in FAST if a not in ("--maxiter", "3")]
    cmd = [sys.executable, os.path.join(ROOT, "cli.py"), "transfer", files["content"],
           files["drums"], "-o", str(out), "--checkpoint-every", "2", "--maxiter", "100000",
           "--ftol", "1e-30", "--patience", "0", "--style-kind", "none", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert ckpt.exists(), "no checkpoint within 60 s"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr and stdout.strip() == str(out)
    y, sr = sf.read(str(out))
    assert len(y) == int(1.5 * SR) and np.all(np.isfinite(y)) and np.max(np.abs(y)) > 0
    report = json.load(open(tmp_path / "long.json"))
    assert report["interrupted"] and report["nit"] >= 2
    done = report["nit"]

    # A resumed run may not change the network (given no iterations left, a run that took
    # the change anyway ends at once, not after the checkpoint's 100000)...
    assert main(["transfer", "--resume", str(ckpt), "--n-filters", "64", "--maxiter",
                 str(done)]) == 2
    assert "--n-filters cannot change" in capsys.readouterr().err and ckpt.exists()
    # ...but continues from where it stopped, with the same options and output.
    assert main(["transfer", "--resume", str(ckpt), "--maxiter", str(done + 3),
                 "--quiet"]) == 0
    report = json.load(open(tmp_path / "long.json"))
    assert not report["interrupted"] and report["resumed_at_iteration"] == done
    assert report["nit"] == done + 3 and len(report["iterations"]) == done + 3
    assert not ckpt.exists()  # finished: the checkpoint is gone


def test_resume_rejects_a_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "x.ckpt.npz"
    bad.write_bytes(b"not a checkpoint")
    assert main(["transfer", "--resume", str(bad)]) == 2
    assert "not a randstyle checkpoint" in capsys.readouterr().err
    assert main(["texture", "--resume", str(tmp_path / "missing.ckpt.npz")]) == 2


def test_checkpoint_round_trip_and_a_foreign_format(tmp_path, monkeypatch):
    """What a checkpoint holds comes back whole (the finished channels, the current signal,
    its history, the options); a checkpoint of another format is refused in one line."""
    from randstyle.engine.errors import ParameterError
    from randstyle.engine.run import checkpoint
    path = str(tmp_path / "o.ckpt.npz")
    parts = [np.linspace(-1, 1, 50, dtype=np.float32), np.full(50, 0.25, dtype=np.float32)]
    x, history = np.random.default_rng(0).standard_normal(50), [{"iter": 1, "total": 2.5}]
    checkpoint.save(path, command="transfer", args={"maxiter": 7}, parts_done=parts,
                    part_reports=[{"part": 0}, {"part": 1}], x=x, history=history)
    state = checkpoint.load(path)
    assert state["command"] == "transfer" and state["args"] == {"maxiter": 7}
    assert len(state["parts_done"]) == 2 and state["history"] == history
    for got, want in zip(state["parts_done"], parts):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(state["x"], x)  # float64 kept: resuming is exact
    assert state["part_reports"] == [{"part": 0}, {"part": 1}]
    monkeypatch.setattr(checkpoint, "FORMAT", 2)  # written by a later version
    checkpoint.save(path, command="transfer", args={}, parts_done=[], part_reports=[], x=x,
                    history=[])
    monkeypatch.setattr(checkpoint, "FORMAT", 1)
    with pytest.raises(ParameterError, match="unsupported checkpoint format 2"):
        checkpoint.load(path)
