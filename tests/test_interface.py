"""The backend interface (kernels/interface.py): every backend defines every op, checked when
it is imported, and the list names every op pair of the reference."""
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from randstyle import kernels
from randstyle.kernels import cpu, cuda, interface, numpy_ref

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("backend", [numpy_ref, cpu, cuda], ids=lambda m: m.__name__)
def test_every_backend_defines_every_op(backend):
    assert interface.missing(backend) == []


def test_the_list_names_every_op_pair_of_the_reference():
    pairs = {n[:-len("_forward")] for n in dir(numpy_ref) if n.endswith("_forward")}
    assert pairs <= set(interface.PAIRS), sorted(pairs - set(interface.PAIRS))


def load_without(monkeypatch, path: Path, op: str, name: str):
    """The backend module at ``path`` imported under ``name`` with ``def op`` renamed away."""
    source = re.sub(rf"^def {op}\(", f"def _gone_{op}(", path.read_text(), flags=re.M)
    assert source != path.read_text()
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # as an import does, for its check
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def test_a_backend_missing_an_op_fails_at_import(monkeypatch):
    with pytest.raises(ImportError, match="lacks l1_backward"):
        load_without(monkeypatch, ROOT / "kernels" / "numpy_ref.py", "l1_backward",
                     "numpy_ref_broken")
    with pytest.raises(ImportError, match="lacks gram_forward"):
        load_without(monkeypatch, ROOT / "kernels" / "cpu.py", "gram_forward", "cpu_broken")
    assert kernels.get_backend("numpy") is numpy_ref  # the real ones are untouched
