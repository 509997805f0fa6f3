"""Fastfood structured filters (engine/model/fastfood.py, the fastfood_conv_relu op of every
backend): the transform against its explicit matrix, its norms, its gradient, the backends'
parity and the draw's determinism."""

import numpy as np
import pytest
from conftest import emulated
from helpers import _counting, numeric_grad, rel_error
from scipy.linalg import hadamard

from randstyle.engine.config import NetworkConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.fastfood import dense_matrix, draw_fastfood, padded_size
from randstyle.engine.model.network import Network
from randstyle.engine.model.params import ulyanov_std
from randstyle.kernels import numpy_ref

# (width, n_in, n_out): one block with outputs dropped, one block exactly, three blocks
# (the last partial), and a patch that is already a power of two (no padding).
SIZES = [(3, 5, 9), (2, 3, 8), (3, 5, 40), (2, 4, 8)]


def run(backend, X, ff):
    return backend.fastfood_conv_relu_forward(
        backend.asarray(X), ff.width, backend.asarray(ff.signs), backend.asarray(ff.perm),
        backend.asarray(ff.gauss), backend.asarray(ff.scale), ff.n_out)


def test_fwht_is_sylvester_hadamard():
    x = np.random.default_rng(0).standard_normal((3, 32))
    assert np.allclose(numpy_ref.fwht(x), x @ hadamard(32))
    # H H = N I: the transform divided by sqrt(N) keeps norms
    assert np.allclose(numpy_ref.fwht(numpy_ref.fwht(x)), 32 * x)
    assert np.allclose(np.linalg.norm(numpy_ref.fwht(x), axis=1) / np.sqrt(32),
                       np.linalg.norm(x, axis=1))


@pytest.mark.parametrize("width,n_in,n_out", SIZES)
def test_forward_equals_explicit_matrix(width, n_in, n_out):
    ff = draw_fastfood(np.random.default_rng(7), width, n_in, n_out).cast(np.float64)
    X = np.random.default_rng(1).standard_normal((12, n_in))
    A, _ = run(numpy_ref, X, ff)
    cols = numpy_ref.im2col(X, width)
    P = np.zeros((cols.shape[0], ff.size))
    P[:, :cols.shape[1]] = cols
    W = dense_matrix(ff)
    assert W.shape == (ff.size, n_out)
    assert rel_error(A, np.maximum(P @ W, 0)) < 1e-13
    assert (A > 0).mean() > 0.2  # the ReLU leaves something to compare


def test_row_norms_as_theory_says():
    """Row i of H G P H B has norm sqrt(N) |g| exactly, so output i's filter has norm
    scale_i sqrt(N) |g| = sigma chi_i; over the D real (non-padded) inputs its expected
    squared norm is sigma^2 D, the dense Gaussian filter's."""
    width, n_in, n_out = 3, 300, 2500  # D = 900 padded to N = 1024, three blocks
    ff = draw_fastfood(np.random.default_rng(3), width, n_in, n_out).cast(np.float64)
    W = dense_matrix(ff)
    N, D = ff.size, width * n_in
    for b in range(3):
        cols = slice(b * N, min(n_out, (b + 1) * N))
        want = ff.scale[b, :cols.stop - cols.start] * np.sqrt(N) * np.linalg.norm(ff.gauss[b])
        assert np.allclose(np.linalg.norm(W[:, cols], axis=0), want, rtol=1e-12)
    sigma = ulyanov_std(n_in, n_out, width)
    mean_sq = np.mean(np.sum(W[:D] ** 2, axis=0))
    assert abs(mean_sq / (sigma ** 2 * D) - 1) < 0.05
    # distinct outputs are (nearly) uncorrelated filters, as Gaussian rows are
    U = W / np.linalg.norm(W, axis=0)
    off = U.T @ U - np.eye(n_out)
    assert np.abs(off).max() < 0.25 and np.sqrt(np.mean(off ** 2)) < 2 / np.sqrt(N)


@pytest.mark.parametrize("width,n_in,n_out", SIZES[1:3])
def test_backward_finite_differences(width, n_in, n_out):
    ff = draw_fastfood(np.random.default_rng(5), width, n_in, n_out).cast(np.float64)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((7, n_in))
    R = rng.standard_normal((7 - width + 1, n_out))

    def loss(x):
        return float(np.sum(run(numpy_ref, x, ff)[0] * R))

    A, cache = run(numpy_ref, X, ff)
    grad = numpy_ref.fastfood_conv_relu_backward(R, cache)
    assert rel_error(grad, numeric_grad(loss, X)) < 1e-8


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("width,n_in,n_out", [(3, 5, 40), (11, 129, 1500), (1, 1, 1)])
def test_parity(fast, dtype, tol, width, n_in, n_out):
    ff = draw_fastfood(np.random.default_rng(9), width, n_in, n_out).cast(dtype)
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 3, (width + 20, n_in)).astype(dtype)
    A_r, c_r = run(numpy_ref, X, ff)
    A_f, c_f = run(fast, X, ff)
    A_f = fast.to_numpy(A_f)
    assert A_f.dtype == dtype and A_f.shape == A_r.shape
    assert rel_error(A_f, A_r) < tol
    dA = rng.standard_normal(A_r.shape).astype(dtype)
    g_r = numpy_ref.fastfood_conv_relu_backward(dA, c_r)
    g_f = fast.to_numpy(fast.fastfood_conv_relu_backward(fast.asarray(dA), c_f))
    assert g_f.dtype == dtype and g_f.shape == X.shape
    assert rel_error(g_f, g_r) < tol


def test_same_seed_same_bytes():
    a, b = (draw_fastfood(np.random.default_rng(11), 11, 1025, 4096) for _ in range(2))
    for name in ("signs", "perm", "gauss", "scale"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    c = draw_fastfood(np.random.default_rng(12), 11, 1025, 4096)
    assert a.gauss.tobytes() != c.gauss.tobytes()
    assert a.size == padded_size(11, 1025) == 16384 and a.signs.shape == (1, 16384)
    x = np.random.default_rng(0).standard_normal(4096).astype(np.float32)
    cfg = NetworkConfig(n_fft=256, hop_length=64, n_filters=300, harmonic_filters="fastfood",
                        seed=3)
    outs = [Network(cfg).features(x)["harmonic"][0] for _ in range(2)]
    assert outs[0].tobytes() == outs[1].tobytes() and outs[0].shape[1] == 300


def test_network_gradient_through_fastfood():
    """The whole harmonic path (STFT, magnitude, log1p, Fastfood conv) in float64."""
    cfg = NetworkConfig(n_fft=64, hop_length=16, n_filters=50, kernel_size=3, dtype="float64",
                        harmonic_filters="fastfood")
    net = Network(cfg)
    x = np.random.default_rng(1).standard_normal(200)
    R = np.random.default_rng(2).standard_normal(net.features(x)["harmonic"][0].shape)

    def loss(v):
        return float(np.sum(net.features(v)["harmonic"][0] * R))

    _, caches = net.forward(net.asarray(x))
    grad = net.backward({"harmonic": [R]}, caches)
    assert rel_error(grad, numeric_grad(loss, x)) < 1e-6


def test_bad_filter_kind():
    with pytest.raises(ParameterError, match="^harmonic_filters must be one of"):
        NetworkConfig(harmonic_filters="sparse")


# --- from the test audit of issue 21 (bench/audit/mutant_list.py, docs/results/testing.md):
# each test fails with the breakage it is named after there.
CFG = dict(n_fft=256, hop_length=64, n_filters=300, kernel_size=5)


def _features(**kw):
    x = np.random.default_rng(0).standard_normal(4096).astype(np.float32)
    net = Network(NetworkConfig(**CFG, **kw))
    return net, net.features(x)["harmonic"][0]


def test_fastfood_option_reaches_the_harmonic_branch():
    """The branch holds the structured draw of the network's generator, no dense weights, and
    its features are not the dense filters' (the breakage: the option read nowhere, dense
    filters drawn anyway)."""
    net, ff = _features(harmonic_filters="fastfood", seed=3)
    draw = net.branches["harmonic"].fastfood
    assert net.harmonic_weights is None and draw is not None and draw.n_out == 300
    want = draw_fastfood(np.random.default_rng(3), 5, 129, 300)
    assert np.array_equal(draw.perm, want.perm) and np.array_equal(draw.gauss, want.gauss)
    _, dense = _features(harmonic_filters="dense", seed=3)
    assert ff.shape == dense.shape and not np.allclose(ff, dense)


def test_fastfood_draw_follows_the_seed():
    """Another --seed, other structured filters and features (the breakage: the draw taken
    from a fixed generator, so every seed gives the same network)."""
    a, fa = _features(harmonic_filters="fastfood", seed=1)
    b, fb = _features(harmonic_filters="fastfood", seed=2)
    da, db = a.branches["harmonic"].fastfood, b.branches["harmonic"].fastfood
    assert not np.array_equal(da.perm, db.perm) and not np.array_equal(da.signs, db.signs)
    assert not np.allclose(fa, fb)


TINY = dict(sr=8000, n_fft=32, hop_length=8, n_filters=8, kernel_size=3, n_mels=4,
            rhythm_filters=6, rhythm_kernel_size=5)


@emulated
def test_a_fastfood_transfer_stays_on_the_device_and_matches_numpy_ref(monkeypatch):
    """--harmonic-filters fastfood on cuda: one evaluation of a transfer's objective sends the
    signal up once and the terms and gradient down once (the structured conv, its Grams and
    the content term stay on the device), with numpy_ref's loss and gradient."""
    from helpers import rel_error

    from randstyle import engine
    rng = np.random.default_rng(6)
    content, style, x = (rng.standard_normal(n) * 0.3 for n in (700, 900, 700))
    cfg = engine.NetworkConfig(**TINY, dtype="float64", harmonic_filters="fastfood")
    objs = {b: engine.Objective(engine.Network(cfg, backend=b), content=content, style=style,
                                content_weight=1.0) for b in ("numpy", "cuda")}
    ref_terms, ref_grad = objs["numpy"].terms_and_grad(x)
    objs["cuda"].terms_and_grad(x)  # a first evaluation
    up, down = _counting(monkeypatch)
    terms, grad = objs["cuda"].terms_and_grad(x)
    assert up == [(700,)] and down == [(len(terms),), (700,)]
    assert rel_error(grad, ref_grad) < 1e-10
    assert all(abs(terms[k] - ref_terms[k]) <= 1e-10 * abs(ref_terms[k]) for k in ref_terms)
