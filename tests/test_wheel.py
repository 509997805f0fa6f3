"""The built wheel carries every runtime file: each module of the packages and the CUDA
sources with the header the host emulation compiles (kernels/cuda_src/)."""
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "kernels")  # bench/, the lab, stays in the checkout


def runtime_files() -> set:
    """The checkout's files that an install needs: the packages' modules and data."""
    out = set()
    for package in PACKAGES:
        for p in (ROOT / package).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".cu", ".h"):
                out.add(p.relative_to(ROOT).as_posix())
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built once for the module's tests."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def build_wheel(tmp_path) -> Path:
    # Built from a clean copy: setuptools' build/ folder in a checkout keeps files that an
    # earlier build carried, so a wheel built there can look complete when it is not.
    src = tmp_path / "src"
    junk = shutil.ignore_patterns("__pycache__", "build", "*.egg-info", ".*")
    for name in (*PACKAGES, "bench", "setup.py", "pyproject.toml", "README.md"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, src / name, **({"ignore": junk} if (ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(src)], check=True, capture_output=True,
                   timeout=300)
    return next(tmp_path.glob("randstyle-*.whl"))


def test_the_wheel_lists_every_runtime_file(wheel):
    names = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    assert "kernels/cuda_src/host_shim.h" in names and "kernels/cuda_src/ops.cu" in names
    assert runtime_files() - names == set()  # nothing left out
    # No tests, no junk, and none of the lab: bench/'s scripts and results stay in the checkout.
    assert {n for n in names if n.split("/")[0] not in PACKAGES} == set()
    assert not any(n.endswith((".jsonl", ".md")) for n in names)


def test_the_installed_wheel_runs_from_another_folder(wheel, tmp_path):
    """pip install of the wheel into a fresh venv (its dependencies from this interpreter's
    site packages), then from a folder of its own: the package is the venv's, the command
    runs, and the cuda backend's host emulation compiles its sources from the install."""
    venv = tmp_path / "venv"
    # No pip of its own (ensurepip takes a while): this pip installs into it (--python).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    # The dependencies are those of the environment running the tests (a venv's, where
    # --system-site-packages would reach the base interpreter's, which may have none). A plain
    # path line in a .pth runs none of that folder's own .pth files, so this checkout's
    # editable install stays out, and the venv's own site-packages come first.
    inner = subprocess.run([str(python), "-c", "import sysconfig; "
                            "print(sysconfig.get_paths()['purelib'])"], check=True,
                           capture_output=True, text=True, timeout=120).stdout.strip()
    Path(inner, "outer.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # not this checkout
    res = subprocess.run([str(venv / "bin" / "randstyle"), "--version"], cwd=elsewhere,
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("randstyle "), res.stderr
    check = ("import randstyle.engine as engine, numpy as np; from randstyle.kernels import cuda, numpy_ref\n"
             "assert engine.__file__.startswith(%r), engine.__file__\n"
             "cuda.use_host_emulation()\n"
             "A = np.random.default_rng(0).standard_normal((40, 16)).astype(np.float32)\n"
             "G = cuda.to_numpy(cuda.gram_forward(cuda.asarray(A))[0])\n"
             "assert np.allclose(G, numpy_ref.gram_forward(A)[0], atol=1e-5)\n"
             % str(venv))
    if shutil.which("g++") is None:  # the emulation needs it; the import check does not
        check = check.split("cuda.use_host_emulation")[0]
    res = subprocess.run([str(python), "-c", check], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
