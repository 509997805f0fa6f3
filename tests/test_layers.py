"""The house's floors: every import (top-level or inside a function) points down or along its
floor, and no modules import each other round in a circle.

Modules go by their installed names: the checkout's engine/ and kernels/ are randstyle.engine
and randstyle.kernels (setup.py's package_dir), randstyle/__init__.py is the package's face.
Floors, low to high: kernels, engine/errors.py and version.py; engine's ground (config, audio,
loudness, signal, presets, demo); model; run; report; batch; the public API
(engine/__init__.py); the installed bench harness (engine/bench); cli; the face, randstyle.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = [
    # engine.errors re-exports kernels.errors
    ("randstyle.kernels", "randstyle.engine.errors", "randstyle.engine.version"),
    ("randstyle.engine.config", "randstyle.engine.audio", "randstyle.engine.loudness",
     "randstyle.engine.signal", "randstyle.engine.presets", "randstyle.engine.demo"),
    ("randstyle.engine.model",),
    ("randstyle.engine.run",),
    ("randstyle.engine.report",),
    ("randstyle.engine.batch",),
    ("randstyle.engine",),  # the package itself: the public API
    ("randstyle.engine.bench",),  # the installed harness of `randstyle bench`
    ("randstyle.engine.cli", "cli"),
    ("randstyle",),  # the one installed name's face: the public API re-exported
]
PACKAGES = ("randstyle", "bench", "cli")
OLD_NAMES = ("engine", "kernels")  # top-level names no more: randstyle.engine, randstyle.kernels


def installed_name(path: Path) -> str:
    """The module name of a checkout's file as installed: engine/run/modes.py is
    randstyle.engine.run.modes, kernels/__init__.py randstyle.kernels, cli.py cli."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(("randstyle", *parts) if parts[0] in OLD_NAMES else parts)


def modules() -> dict:
    """{module name: path} of the package's runtime modules."""
    paths = [*(ROOT / "engine").rglob("*.py"), *(ROOT / "kernels").glob("*.py"),
             *(ROOT / "randstyle").glob("*.py"), ROOT / "cli.py"]
    return {installed_name(p): p for p in paths}


def floor(module: str) -> int:
    best, level = -1, None
    for i, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), i
    assert level is not None, module
    return level


def imports(path: Path, known: dict) -> set:
    """The known modules ``path`` imports ("from a.b import c" is a.b.c when that is a
    module, else a.b)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.split(".")[0] not in PACKAGES:
                continue
            while name not in known and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in known:
                out.add(name)
    return out


def graph() -> dict:
    known = modules()
    return {m: imports(p, known) - {m} for m, p in known.items()}


def test_no_import_points_up():
    up = sorted(f"{m} -> {d}" for m, deps in graph().items() for d in deps
                if floor(d) > floor(m))
    assert up == []


# The same order folder by folder: a module stands in the folder that holds it (engine's own
# files are its ground; its __init__, the public API, is the package's face and may reach
# every folder under it, as cli.py reaches engine/cli).
FOLDERS = ["randstyle.kernels", "randstyle.engine", "randstyle.engine.model",
           "randstyle.engine.run", "randstyle.engine.report", "randstyle.engine.batch",
           "randstyle.engine.bench", "randstyle.engine.cli", "randstyle", "cli"]


def folder(path: Path) -> str:
    """The installed name of the folder holding path (cli for the checkout's cli.py)."""
    return installed_name(path.parent / "__init__.py") if path.parent != ROOT else "cli"


def folder_edges() -> set:
    """(importing folder, imported folder, importing module, imported module) across folders,
    less the face's edges into its own subfolders."""
    known = modules()
    out = set()
    for m, deps in graph().items():
        for d in deps:
            a, b = folder(known[m]), folder(known[d])
            face = known[m].name == "__init__.py" and b.startswith(a + ".")
            if a != b and not face and not (m == "cli" and b == "randstyle.engine.cli"):
                out.add((a, b, m, d))
    return out


def test_no_folder_imports_up():
    """kernels/ imports nothing of engine/, engine/model nothing of engine/run, and so on:
    the floors hold for whole folders, not only module by module."""
    up = sorted(f"{m} -> {d}" for a, b, m, d in folder_edges()
                if FOLDERS.index(b) >= FOLDERS.index(a))
    assert up == []


def test_the_installed_packages_never_import_the_lab():
    """bench/ (measurement scripts, the audit, the corpus) is not installed: nothing the wheel
    carries may import it."""
    lab = sorted(f"{m} -> {name}" for m, p in modules().items()
                 for name in raw_imports(p) if name.split(".")[0] == "bench")
    assert lab == []


# The lab (bench/, not installed) stands above all of it, in floors of its own: the shared
# helpers and the corpus renderer the helper calls when a corpus is absent, then the texture
# measures (check network, generated recordings) that scripts share, then the scripts.
LAB_FLOORS = [("bench", "bench.lab", "bench.commands", "bench.corpus.render", "bench.corpus.midi"),
              ("bench.texture",),
              ("bench.corpus", "bench.transfer", "bench.separation", "bench.machine",
               "bench.audit", "bench.songs")]


def lab_modules() -> dict:
    out = {}
    for p in (ROOT / "bench").rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def lab_floor(module: str) -> int:
    """The floor of the longest prefix naming it (bench.corpus.render before bench.corpus)."""
    best = max((len(prefix), i) for i, prefixes in enumerate(LAB_FLOORS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + "."))
    return best[1]


def lab_graph() -> dict:
    known = lab_modules()
    return {m: {d for d in imports(p, known) if not m.startswith(d + ".")} - {m}
            for m, p in known.items()}


def test_the_labs_imports_point_down_and_never_round():
    """bench/lab.py, the helper every script shares, imports no script (only the renderer of
    a missing corpus); scripts may import the texture measures and each other, never in a
    circle."""
    graph = lab_graph()
    up = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                if lab_floor(d) > lab_floor(m))
    assert up == [] and circles(graph) == []
    assert "bench.lab" in graph["bench.corpus.quality"]  # it reads the graph
    assert lab_floor("bench.corpus.render") < lab_floor("bench.texture") < \
        lab_floor("bench.corpus.quality")


def raw_imports(path: Path) -> set:
    return raw_imports_of(path.read_text())


def raw_imports_of(text: str) -> set:
    out = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def circles(edges: dict) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_no_circles():
    # A package's __init__ is imported by its submodules' imports only as a package, not an
    # arrow: edges to a package from inside it do not count.
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph().items()}
    assert circles(edges) == []


def test_the_checks_catch_what_they_look_for():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert floor("randstyle.engine.batch.runner") > floor("randstyle.engine.run.modes") \
        > floor("randstyle.kernels.cpu")
    assert floor("randstyle.engine.cli.batch") > floor("randstyle.engine")
    assert floor("randstyle") > floor("randstyle.engine.cli")
    assert folder(ROOT / "engine" / "model" / "network.py") == "randstyle.engine.model"
    assert folder(ROOT / "kernels" / "cpu.py") == "randstyle.kernels"
    assert folder(ROOT / "cli.py") == "cli"
    assert folder(ROOT / "randstyle" / "__init__.py") == "randstyle"
    old = "from engine.run import modes\nimport kernels\n"  # rename_imports: keep
    assert old_names_imported({"engine/x.py": old + "from randstyle import engine\n"}) \
        == ["engine/x.py: engine.run", "engine/x.py: kernels"]


def old_names_imported(sources: dict) -> list:
    """'file: module' for each absolute import of a top-level engine or kernels."""
    return sorted(f"{name}: {module}" for name, text in sources.items()
                  for module in raw_imports_of(text) if module.split(".")[0] in OLD_NAMES)


def test_nothing_imports_engine_or_kernels_as_top_level_names():
    """The code, its tests and the lab import randstyle.engine and randstyle.kernels only:
    ``import engine`` would load a second copy of the engine in a checkout (its own modules,
    its own ParameterError) and, installed, no such name exists."""
    files = [p for folder in ("engine", "kernels", "randstyle", "tests", "bench")
             for p in (ROOT / folder).rglob("*.py")] + [ROOT / "cli.py", ROOT / "setup.py"]
    sources = {p.relative_to(ROOT).as_posix(): p.read_text() for p in files}
    assert old_names_imported(sources) == []
