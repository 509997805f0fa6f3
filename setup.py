import re
from pathlib import Path

from setuptools import find_packages, setup

# The version lives in engine/version.py alone; read, not imported (that needs numpy).
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (Path(__file__).parent / "engine" / "version.py").read_text()).group(1)

PACKAGES = find_packages(include=["engine", "engine.*", "kernels"])

setup(
    name="randstyle",
    version=VERSION,
    description="Musical style transfer, textures and naive separation with random, "
                "untrained convolutions (Barry & Kim 2017; Ulyanov & Lebedev 2016)",
    # One installed name: the checkout's engine/ and kernels/ go in as randstyle.engine and
    # randstyle.kernels beside randstyle/__init__.py (the public API); bench/ is the lab.
    packages=["randstyle", *(f"randstyle.{p}" for p in PACKAGES)],
    package_dir={f"randstyle.{p}": p.replace(".", "/") for p in PACKAGES},
    package_data={"randstyle.kernels": ["cuda_src/*.cu", "cuda_src/*.h"]},  # the emulation
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.11",
        "numba>=0.59",
        "soundfile>=0.12",
        "argparse-dataclass==2.0.0",
        "tqdm>=4.60",
        "threadpoolctl>=3",
        "pyloudnorm>=0.1",
    ],
    extras_require={
        # wheel: tests/test_wheel.py builds without build isolation, and a new venv's
        # setuptools (65 with Python 3.11) has no bdist_wheel of its own
        "test": ["pytest>=7", "librosa>=0.10", "ruff", "hypothesis>=6", "matplotlib>=3.5",
                 "dask[distributed]", "playwright", "scikit-learn>=1.2", "wheel",
                 "mir_eval>=0.7", "pytest-xdist>=3"],
        "plot": ["matplotlib>=3.5"],
        # CuPy with the CUDA libraries it loads (NVRTC, cuBLAS, cuFFT, runtime) from PyPI:
        # the [ctk] extra (CuPy >= 14); a CUDA 13 driver takes cupy-cuda13x[ctk] instead.
        "gpu": ["cupy-cuda12x[ctk]>=14"],
        "cluster": ["dask[distributed]"],
        # PyTorch CPU autograd, timed beside the engine; music21 scores for bench/corpus/render.py;
        # scikit-learn's NMF, the baseline of bench/separation/corpus.py
        "bench": ["torch==2.13.0", "music21>=9", "scikit-learn>=1.2", "mir_eval>=0.7"],
    },
    entry_points={"console_scripts": ["randstyle=randstyle.engine.cli:main"]},
)
