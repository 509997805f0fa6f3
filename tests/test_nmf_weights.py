"""Per-atom weights in the NMF activation step (kernels/numpy_ref.py nmf_activations_step's
l1 and continuity, nmf_continuity_terms; kernels/nmf_xp.py): Virtanen's temporal continuity
gradient against finite differences of its cost, and the fast backends against numpy_ref
with one weight per atom."""
import numpy as np
import pytest
from helpers import rel_error

from randstyle import kernels
from randstyle.kernels import numpy_ref


def _continuity_cost(A: np.ndarray, weight: np.ndarray, mean: float) -> float:
    """weight_k * mean(A) * T * sum_t (a_tk - a_t-1,k)^2 / sum_t a_tk^2, summed over k."""
    change = ((A[1:] - A[:-1]) ** 2).sum(axis=0)
    return float((weight * mean * len(A) * change / (A * A).sum(axis=0)).sum())


def _problem(seed: int = 0, T: int = 9, F: int = 11, k: int = 4):
    rng = np.random.default_rng(seed)
    return rng.random((T, F)), 0.1 + rng.random((T, k)), rng.random((k, F))


@pytest.mark.parametrize("name", ["numpy", "cpu", "cuda"])
def test_continuity_terms_are_the_gradient_of_the_cost(name):
    """plus - minus equals the float64 central difference of the cost (mean(A) held, as the
    terms hold it), with one weight per atom (one of them 0), on numpy_ref and on every fast
    backend (cuda through its host emulation where no GPU is present)."""
    b = kernels.get_backend(name)
    _, A, _ = _problem()
    weight = np.array([0.5, 0.0, 2.0, 1.0])
    plus, minus = b.nmf_continuity_terms(b.asarray(A), b.asarray(weight))
    grad = b.to_numpy(plus) - b.to_numpy(minus)
    fd, eps = np.zeros_like(A), 1e-6
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            up, down = A.copy(), A.copy()
            up[i, j] += eps
            down[i, j] -= eps
            fd[i, j] = (_continuity_cost(up, weight, A.mean())
                        - _continuity_cost(down, weight, A.mean())) / (2 * eps)
    assert rel_error(grad, fd) < 1e-7
    assert np.all(grad[:, 1] == 0) and np.abs(grad).max() > 0.1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_activation_step_with_per_atom_weights_matches_numpy_ref(fast, dtype, beta):
    V, A, D = (a.astype(dtype) for a in _problem(2, T=40, F=65, k=6))
    l1 = np.linspace(0.0, 0.3, 6).astype(dtype)
    tc = np.array([1.0, 0, 2, 0, 0.5, 3], dtype=dtype)
    want = numpy_ref.nmf_activations_step(V, A, D, beta, l1, tc)
    got = fast.to_numpy(fast.nmf_activations_step(*map(fast.asarray, (V, A, D)), beta,
                                                  fast.asarray(l1), fast.asarray(tc)))
    tol = 1e-12 if dtype == np.float64 else 3e-6
    assert got.dtype == dtype and rel_error(got, want) < tol
    # the weights act: a step without them differs
    assert rel_error(numpy_ref.nmf_activations_step(V, A, D, beta), want) > 1e-3
