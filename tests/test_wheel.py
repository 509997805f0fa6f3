"""The built wheel carries every runtime file: each module of the packages and the CUDA
sources with the header the host emulation compiles (kernels/cuda_src/)."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "kernels", "bench")


def runtime_files() -> set:
    """The checkout's files that an install needs: the packages' modules and data."""
    out = set()
    for package in PACKAGES:
        for p in (ROOT / package).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".cu", ".h"):
                out.add(p.relative_to(ROOT).as_posix())
    return out


def test_the_wheel_lists_every_runtime_file(tmp_path):
    # Built from a clean copy: setuptools' build/ folder in a checkout keeps files that an
    # earlier build carried, so a wheel built there can look complete when it is not.
    src = tmp_path / "src"
    junk = shutil.ignore_patterns("__pycache__", "build", "*.egg-info", ".*")
    for name in (*PACKAGES, "setup.py", "pyproject.toml", "README.md"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, src / name, **({"ignore": junk} if (ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(src)], check=True, capture_output=True,
                   timeout=300)
    wheel = next(tmp_path.glob("randstyle-*.whl"))
    names = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    assert "kernels/cuda_src/host_shim.h" in names and "kernels/cuda_src/ops.cu" in names
    assert runtime_files() - names == set()  # nothing left out
    assert {n for n in names if n.split("/")[0] not in PACKAGES} == set()  # no tests, no junk
