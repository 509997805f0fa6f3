"""One installed name, randstyle: the built wheel carries every runtime file under it (each
module of engine/ and kernels/ as randstyle.engine and randstyle.kernels, the CUDA sources with
the header the host emulation compiles) and nothing of the lab (bench/'s scripts and data); the
installed package, an editable install and an uninstalled checkout all run from a folder that
holds its own kernels/ and engine.py, which they never import."""
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "kernels")  # installed as randstyle.engine and randstyle.kernels
# Loud if imported: the folder's own kernels/ and engine.py (a user's, named as PyPI's are).
STRANGERS = {"kernels/__init__.py": "raise RuntimeError('the folder\\'s own kernels/ was "
                                    "imported')\n",
             "engine.py": "raise RuntimeError('the folder\\'s own engine.py was imported')\n"}
# The public API, a network on the numpy backend and the cuda backend's host emulation, run
# by an interpreter from a folder holding STRANGERS. {home}: where randstyle must come from.
CHECK = """
import sys
import numpy as np
import randstyle
from randstyle.kernels import cuda, numpy_ref
assert randstyle.__file__.startswith({home!r}), randstyle.__file__
assert randstyle.engine.__file__.startswith({home!r}), randstyle.engine.__file__
net = randstyle.Network(randstyle.NetworkConfig(n_filters=32, rhythm_filters=8), backend="numpy")
x = np.random.default_rng(0).standard_normal(30000).astype(np.float32)
obj = randstyle.Objective(net, content=x, style=x[::-1].copy())
loss, grad = obj.value_and_grad(x * 0.5)
assert np.isfinite(loss) and grad.shape == x.shape
assert "engine" not in sys.modules and "kernels" not in sys.modules, "a top-level name loaded"
if {emulate}:
    cuda.use_host_emulation()
    A = np.random.default_rng(0).standard_normal((40, 16)).astype(np.float32)
    G = cuda.to_numpy(cuda.gram_forward(cuda.asarray(A))[0])
    assert np.allclose(G, numpy_ref.gram_forward(A)[0], atol=1e-5)
print("ok")
"""


def runtime_files() -> set:
    """The checkout's files that an install needs, by their place in the wheel."""
    out = {"randstyle/" + p.name for p in (ROOT / "randstyle").glob("*.py")}
    for package in PACKAGES:
        for p in (ROOT / package).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".cu", ".h"):
                out.add("randstyle/" + p.relative_to(ROOT).as_posix())
    return out


def source_copy(tmp_path: Path) -> Path:
    """A clean copy of what setup.py builds from: setuptools' build/ folder in a checkout keeps
    files that an earlier build carried, so a wheel built there can look complete when it is
    not (and an editable install of the copy leaves the checkout alone)."""
    src = tmp_path / "src"
    junk = shutil.ignore_patterns("__pycache__", "build", "*.egg-info", ".*")
    for name in (*PACKAGES, "randstyle", "bench", "cli.py", "setup.py", "pyproject.toml",
                 "README.md"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=junk)
        else:
            shutil.copy(ROOT / name, src / name)
    return src


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built once for the module's tests."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(source_copy(tmp_path))], check=True,
                   capture_output=True, timeout=300)
    return next(tmp_path.glob("randstyle-*.whl"))


def bare_venv(path: Path) -> tuple:
    """(python, its site-packages) of a new venv with no pip and nothing installed, whose
    dependencies are those of the environment running the tests (a venv's, where
    --system-site-packages would reach the base interpreter's, which may have none). A plain
    path line in a .pth runs none of that folder's own .pth files, so this checkout's editable
    install stays out, and the venv's own site-packages come first."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                   timeout=120)
    python = path / "bin" / "python"
    inner = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                 "print(sysconfig.get_paths()['purelib'])"], check=True,
                                capture_output=True, text=True, timeout=120).stdout.strip())
    outer = [p for p in [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
             if Path(p).resolve() != inner.resolve()]
    (inner / "outer.pth").write_text("\n".join(dict.fromkeys(outer)) + "\n")
    return python, inner


def pip_install(python: Path, *args: str) -> None:
    """This interpreter's pip installs into the venv of ``python`` (ensurepip takes a while)."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", *args], check=True, capture_output=True, timeout=300)


def stranger_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    for name, text in STRANGERS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def run(cmd: list, cwd: Path, path: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # not this checkout
    env.update({"PYTHONPATH": path} if path else {})
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def check(python: Path, cwd: Path, home: Path, path: str = "") -> None:
    """CHECK run by python from cwd: randstyle from home, never the folder's own modules."""
    emulate = shutil.which("g++") is not None  # the emulation needs it; the rest does not
    res = run([python, "-c", CHECK.format(home=str(home), emulate=emulate)], cwd, path)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_the_wheel_holds_one_top_level_name_and_every_runtime_file(wheel):
    names = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    assert {n.split("/")[0] for n in names} == {"randstyle"}
    assert {"randstyle/kernels/cuda_src/host_shim.h", "randstyle/kernels/cuda_src/ops.cu"} <= names
    assert runtime_files() - names == set()  # nothing left out
    # No tests, no junk, and none of the lab: bench/'s scripts and results stay in the checkout
    # (randstyle/engine/bench/ is the installed harness of `randstyle bench`).
    assert names - runtime_files() == set()
    assert not any(n.endswith((".jsonl", ".json", ".md", ".csv")) for n in names)
    top = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top[0]).decode().split() == ["randstyle"]


def test_the_installed_wheel_runs_from_a_folder_with_its_own_kernels_and_engine(wheel, tmp_path):
    """pip install of the wheel into a fresh venv: one name lands in site-packages, and from a
    folder holding its own kernels/ and engine.py the command and the API run the venv's
    randstyle (the bug: a top-level engine and kernels, shadowed by such a folder)."""
    python, site_packages = bare_venv(tmp_path / "venv")
    before = set(os.listdir(site_packages))
    pip_install(python, str(wheel))
    added = set(os.listdir(site_packages)) - before
    assert {n for n in added if not n.endswith(".dist-info")} == {"randstyle"}, added
    installed = {p.relative_to(site_packages).as_posix()
                 for p in (site_packages / "randstyle").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert installed == runtime_files()  # the installed files: the runtime's, no lab
    elsewhere = stranger_folder(tmp_path)
    res = run([tmp_path / "venv" / "bin" / "randstyle", "--version"], elsewhere)
    assert res.returncode == 0 and res.stdout.startswith("randstyle "), res.stderr
    check(python, elsewhere, site_packages / "randstyle")


def test_an_editable_install_runs_from_a_folder_with_its_own_kernels_and_engine(tmp_path):
    """pip install -e (a copy of the checkout): randstyle.engine is the checkout's engine/,
    reached through randstyle/__init__.py beside it, from any folder."""
    src = source_copy(tmp_path)
    python, _ = bare_venv(tmp_path / "venv")
    pip_install(python, "--no-build-isolation", "-e", str(src))
    check(python, stranger_folder(tmp_path), src)  # (the console script: the wheel's test)


def test_a_checkout_runs_uninstalled(tmp_path):
    """No install at all: ``python cli.py`` from any folder, the API with the checkout on the
    path (PYTHONPATH, or the root as the working folder), and a lab script as ``python -m
    bench.GROUP`` from the root."""
    python, _ = bare_venv(tmp_path / "venv")
    elsewhere = stranger_folder(tmp_path)
    res = run([python, ROOT / "cli.py", "--version"], elsewhere)
    assert res.returncode == 0 and res.stdout.startswith("randstyle "), res.stderr
    check(python, elsewhere, ROOT, path=str(ROOT))
    res = run([python, "-m", "bench.transfer", "filters", "--help"], ROOT)
    assert res.returncode == 0 and "usage" in res.stdout, res.stderr
