"""What a run writes: the same bytes for the same seed, only the output's path on stdout."""
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import sine, write

from randstyle.engine.cli import main
from randstyle.engine.demo import drum_loop, plucked_melody

SR = 8000
FAST = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet"]


@pytest.fixture
def files(tmp_path):
    return {
        "content": write(tmp_path / "content.wav", plucked_melody(1.5, SR), SR),
        "stereo": write(tmp_path / "stereo.wav", np.stack(
            [plucked_melody(1.5, SR), plucked_melody(1.5, SR, seed=3)], axis=1), SR),
        "six": write(tmp_path / "six.wav", np.stack(
            [plucked_melody(1.5, SR, seed=s) for s in range(6)], axis=1), SR),
        "drums": write(tmp_path / "drums.wav", drum_loop(2.0, SR), SR),
        "tone": write(tmp_path / "tone.wav", sine(2.0, SR, 300.0), SR),
    }


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_same_seed_same_bytes(files, tmp_path):
    outs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = str(tmp_path / f"{name}.wav")
        assert main(["transfer", files["content"], files["drums"], "--seed", str(seed),
                     "--backend", "cpu", "-o", out, *FAST]) == 0
        outs.append(open(out, "rb").read())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_stdout_holds_only_the_path(files, tmp_path):
    out = str(tmp_path / "o.wav")
    args = [a for a in FAST if a != "--quiet"]
    res = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "transfer",
                          files["content"], files["drums"], "-o", out, *args],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout == out + "\n"
    assert "transfer" in res.stderr and "it/s" in res.stderr  # the progress bar went to stderr
