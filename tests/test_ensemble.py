"""The separation ensemble: cuda parity, finite differences, host crossings."""
import numpy as np
import pytest
from conftest import CUDA_TESTABLE, emulated
from helpers import _counting


@pytest.fixture(params=["numpy", "cpu"] + (["cuda"] if CUDA_TESTABLE else []))
def backend(request):
    from randstyle import kernels
    return kernels.get_backend(request.param)


TINY = dict(sr=8000, n_fft=32, hop_length=8, n_filters=8, kernel_size=3, n_mels=4,
            rhythm_filters=6, rhythm_kernel_size=5)


def _ensemble(backend: str):
    from randstyle import engine
    from randstyle.engine.model.ensemble import Ensemble, member_configs
    base = engine.NetworkConfig(**TINY, dtype="float64")
    rng = np.random.default_rng(3)
    style = rng.standard_normal(900) * 0.3
    members = [engine.Objective(engine.Network(c, backend=backend), style=style)
               for c in member_configs(base, 3, n_samples=700)]
    return Ensemble(members, [1.0, 0.5, 2.0])


@emulated
def test_ensemble_on_cuda_matches_numpy_ref_and_finite_differences():
    from helpers import numeric_grad, rel_error
    x = np.random.default_rng(4).standard_normal(700) * 0.2
    ens = _ensemble("cuda")
    terms, grad = ens.terms_and_grad(x)
    ref_terms, ref_grad = _ensemble("numpy").terms_and_grad(x)
    assert all(abs(terms[k] - ref_terms[k]) < 1e-10 * abs(ref_terms["total"]) for k in terms)
    assert rel_error(grad, ref_grad) < 1e-10
    picked = np.random.default_rng(5).choice(700, 25, replace=False)

    def loss(v):
        y = x.copy()
        y[picked] = v
        return ens.terms_and_grad(y)[0]["total"]
    assert rel_error(grad[picked], numeric_grad(loss, x[picked])) < 1e-6


@emulated
def test_the_ensemble_crosses_to_the_host_once_per_evaluation(monkeypatch):
    """Three members on cuda: the signal up once, the summed terms and gradient down once,
    not once a member."""
    x = np.random.default_rng(4).standard_normal(700) * 0.2
    ens = _ensemble("cuda")
    up, down = _counting(monkeypatch)
    terms, grad = ens.terms_and_grad(x)
    assert up == [(700,)] and down == [(len(terms),), (700,)]
    assert grad.dtype == np.float64 and all(type(v) is float for v in terms.values())
