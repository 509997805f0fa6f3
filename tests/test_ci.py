"""CI runs what the README tells a new user to run, where a new user runs it, and cannot skip
the cuda backend: the README's test section is one command, .ci/run runs exactly it in a
brand-new venv of its own, with RANDSTYLE_REQUIRE_CUDA_EMULATION=1 set before it
(tests/conftest.py then fails the session where neither a GPU nor g++ can run the cuda
kernels, rather than skipping them)."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*path: str) -> str:
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def test_ci_runs_the_readme_test_command_with_the_cuda_emulation_required():
    section = re.search(r"^## Test\n(.*?)^## ", _read("README.md"), flags=re.S | re.M).group(1)
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, blocks
    lines = [ln for ln in blocks[0].splitlines() if ln.strip()]
    assert len(lines) == 1, lines  # one command
    command = lines[0].strip()
    ci = [ln.strip() for ln in _read(".ci", "run").splitlines()
          if ln.strip() and not ln.lstrip().startswith("#")]
    assert ci[-1] == command, (ci[-1], command)  # the last thing CI does
    assert "export RANDSTYLE_REQUIRE_CUDA_EMULATION=1" in ci[:-1]
    assert "set -euo pipefail" in ci  # a failing step fails CI
    assert "g++" in " ".join(ci[:-1])  # the emulation's compiler is installed when missing
    # A new venv, outside the checkout, whose python and ruff the command runs: not whatever
    # the machine has installed (issue 33: the wheel tests needed a package no new venv has).
    made = [ln for ln in ci[:-1] if "-m venv" in ln]
    assert len(made) == 1 and "mktemp -d" in " ".join(ci[:ci.index(made[0])]), made
    assert any(ln.startswith("export") and 'PATH="$VENV_DIR/venv/bin:$PATH"' in ln
               for ln in ci[ci.index(made[0]):-1])
