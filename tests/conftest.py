import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kernels import cuda  # noqa: E402

# The cuda backend under test: the real GPU where one answers, else the same orchestration on
# NumPy arrays with the .cu kernels compiled for the CPU (kernels/cuda_host.py).
GPU = cuda.is_usable()
if not GPU and shutil.which("g++"):
    cuda.use_host_emulation()
CUDA_TESTABLE = cuda.is_usable()
