"""bench/machine/gpu_check.py, the command a user with an NVIDIA GPU runs, in its emulation mode:
one line per check, nonzero exit on any FAIL. (Its two pytest checks run the test files this
suite runs anyway, so they are left out here.)"""
import pytest
from conftest import CUDA_TESTABLE, GPU

from bench.machine import gpu_check

emulated = pytest.mark.skipif(GPU or not CUDA_TESTABLE, reason="the emulation mode only")


@emulated
def test_emulated_check_passes_one_line_per_check(capsys):
    code = gpu_check.main(["--emulate", "--only", "modes end to end,tf32 near convergence,"
                                                   "device memory,bench"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0, lines
    assert [line.split(":")[0] for line in lines] == [
        "PASS backend", "PASS modes end to end", "PASS tf32 near convergence",
        "SKIP device memory", "SKIP bench"]


@emulated
def test_a_failed_check_fails_the_command(monkeypatch, capsys):
    """A check that reports FAIL, and one that crashes, each give a FAIL line; the rest still
    run; the exit status is 1."""
    def crash(args):
        raise RuntimeError("cuFFT failed\nmore")
    monkeypatch.setattr(gpu_check, "CHECKS", [("a", lambda args: ("FAIL", "off by 2x")),
                                              ("b", crash), ("c", lambda args: ("PASS", ""))])
    assert gpu_check.main(["--emulate"]) == 1
    out = capsys.readouterr().out
    assert "FAIL a: off by 2x" in out and "FAIL b: RuntimeError: cuFFT failed (" in out
    assert "PASS c" in out


@emulated
def test_tf32_check_fails_with_tf32_products(monkeypatch, capsys):
    """The TF32 check catches finding 1: with the Gram-free products under TF32 again."""
    from randstyle.kernels import cuda
    monkeypatch.setattr(cuda, "exact_matmul", cuda.matmul)
    assert gpu_check.main(["--emulate", "--only", "tf32 near convergence"]) == 1
    assert "FAIL tf32 near convergence" in capsys.readouterr().out


def test_unknown_check_is_exit_2(capsys):
    assert gpu_check.main(["--emulate", "--only", "nope"]) == 2
    assert "no check named nope" in capsys.readouterr().err
