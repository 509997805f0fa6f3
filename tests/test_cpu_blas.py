"""The cpu backend's BLAS calls (kernels/cpu_blas.py): ctypes GEMM and rank-k updates on
row-major views, split over the backend's own threads, BLAS settings left as found."""
import numpy as np
import pytest
from helpers import rel_error
from threadpoolctl import threadpool_info, threadpool_limits

from randstyle import kernels
from randstyle.kernels import cpu_blas


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 3])
def test_gemm_views_and_accumulation(dtype, threads, monkeypatch):
    rng = np.random.default_rng(0)
    big = rng.standard_normal((300, 700)).astype(dtype)
    a, b = big[10:250, 5:405], big[:, 100:500].T  # a row-major slice; b a transposed view
    c0 = rng.standard_normal((240, 300)).astype(dtype)
    out = np.zeros((240, 400), dtype=dtype)
    monkeypatch.setattr(kernels, "_threads", threads)  # blocks per product
    c = c0.copy()
    cpu_blas.gemm(0.5, a, b, 2.0, c)
    cpu_blas.gemm(1.0, a, b, 0.0, out[:, 50:350])  # into a sub-view
    tol = 1e-5 if dtype == np.float32 else 1e-13
    assert rel_error(c, 0.5 * (a.astype(np.float64) @ b) + 2.0 * c0) < tol
    assert rel_error(out[:, 50:350], a.astype(np.float64) @ b) < tol
    assert not out[:, :50].any() and not out[:, 350:].any()


@pytest.mark.parametrize("rows", [False, True])
def test_syrk_lower_blocks(rows):
    a = np.random.default_rng(1).standard_normal((130, 230))
    n = a.shape[0] if rows else a.shape[1]
    c = np.full((n, n), np.nan)
    cpu_blas.syrk_lower(0.5, a, c, rows=rows)
    expected = 0.5 * (a @ a.T if rows else a.T @ a)
    lower = np.tril_indices(n)
    assert rel_error(c[lower], expected[lower]) < 1e-13


def test_blas_thread_settings_restored(monkeypatch):
    """Blocks run single-threaded BLAS; the libraries' thread counts are put back after.
    "Before" is set here (3 threads for the called library, more than one whatever earlier
    tests or the machine left), so a product that leaves it at one thread fails here."""
    def threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    monkeypatch.setattr(kernels, "_threads", 2)  # two blocks: through parallel()
    with threadpool_limits(limits=3, user_api="blas"):
        before = threads()
        assert all(n == 3 for n in before)
        a = np.ones((400, 400), dtype=np.float32)
        cpu_blas.gemm(1.0, a, a)
        cpu_blas.syrk_lower(1.0, a, np.empty((400, 400), dtype=np.float32))
        assert threads() == before


def test_only_the_called_blas_is_held_at_one_thread():
    """During a product the library the blocks call runs one thread per block; any other BLAS
    library (NumPy's own, where it ships one) keeps its setting for the caller's threads."""
    def threads():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas"}
    called = {lc.filepath for lc in cpu_blas._limits()}
    before, during = threads(), []
    cpu_blas.parallel([lambda: during.append(threads()), lambda: None])
    assert len(called) == 1 and called <= set(before)
    assert all(n == (1 if path in called else before[path]) for path, n in during[0].items())
    assert threads() == before
