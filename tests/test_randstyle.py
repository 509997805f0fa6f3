"""randstyle, the one installed name: ``import randstyle`` is the public API, the very objects
of engine/__init__.py, and in a checkout randstyle.engine is the root's engine/, one copy."""
import runpy
import sys
from pathlib import Path

import pytest

import randstyle
from randstyle import engine, kernels

ROOT = Path(__file__).resolve().parent.parent


def test_randstyle_is_the_public_api_of_engine():
    assert list(randstyle.__all__) == list(engine.__all__)
    assert {"transfer", "texture", "separate", "Network", "ParameterError"} <= set(
        randstyle.__all__)
    assert [n for n in engine.__all__ if getattr(randstyle, n) is not getattr(engine, n)] == []


def test_a_checkout_holds_one_copy_of_the_engine_and_the_kernels():
    """randstyle.engine and randstyle.kernels are the root's folders (through randstyle's
    path), and no top-level engine or kernels was ever loaded beside them: a second copy
    would have its own modules and its own ParameterError."""
    assert Path(engine.__file__).resolve() == ROOT / "engine" / "__init__.py"
    assert Path(kernels.__file__).resolve() == ROOT / "kernels" / "__init__.py"
    assert "engine" not in sys.modules and "kernels" not in sys.modules


def test_python_m_randstyle_is_the_command_line(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["randstyle", "--version"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_module("randstyle", run_name="__main__")
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"randstyle {randstyle.__version__}"
