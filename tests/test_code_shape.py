"""Short functions: none over 60 lines outside tests (the project's standard)."""
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 60


def long_functions(paths) -> list:
    out = []
    for p in paths:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > LIMIT:
                    out.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_function_over_60_lines():
    paths = [*ROOT.glob("engine/**/*.py"), *ROOT.glob("kernels/*.py"), *ROOT.glob("bench/**/*.py"),
             ROOT / "cli.py"]
    assert long_functions(paths) == []


def test_the_check_sees_a_long_function(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)  # paths relative to it
    (tmp_path / "long.py").write_text("def f():\n" + "    x = 1\n" * LIMIT)
    (tmp_path / "short.py").write_text("def g():\n" + "    x = 1\n" * (LIMIT - 1))
    found = long_functions([tmp_path / "long.py", tmp_path / "short.py"])
    assert found == [f"long.py:1 f ({LIMIT + 1} lines)"]
