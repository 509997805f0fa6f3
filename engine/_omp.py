"""Imported first by engine/__init__.py, before anything loads Numba.

The cpu backend runs its GEMMs on its own threads with single-threaded BLAS (kernels/
cpu_blas.py), so its speed does not depend on the BLAS libraries' load-time settings nor on
whether NumPy was imported first. The Numba kernels' OpenMP threads are the one pool left that
reads a setting at load, and libgomp loads at the first parallel kernel, after this: passive
waiting leaves the cores to the GEMM threads between kernels. A user's own setting stands.
"""
import os
import sys

# Whether NumPy was loaded before the engine began to import: `randstyle bench` reports it
# (sys.modules' order cannot tell, a package moves to its end when its own imports finish).
NUMPY_FIRST = "numpy" in sys.modules

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
