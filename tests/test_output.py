"""What a run writes: the same bytes for the same seed, only the output's path on stdout."""
import os
import subprocess
import sys

from helpers import FAST

from randstyle.engine.cli import main

SR = 8000



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
