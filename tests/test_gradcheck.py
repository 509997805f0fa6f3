"""Every backward of every CPU-side backend, and the whole objective, against central
differences in float64.

The bar is a relative error below 1e-6: central differences with eps=1e-6 in float64 are
accurate to ~1e-9 on these smooth small problems, so a wrong term shows up orders above it.
"""
import sys

import numpy as np
import pytest
from conftest import CUDA_TESTABLE
from helpers import TINY, numeric_grad, rel_error

from randstyle import engine
from randstyle.engine.model.filters import dft_basis, hann_window, mel_filterbank
from randstyle.kernels import cpu, cuda, numpy_ref

TOL = 1e-6
rng = np.random.default_rng(1234)
BACKENDS = [numpy_ref, cpu] + ([cuda] if CUDA_TESTABLE else [])


@pytest.fixture(params=BACKENDS, ids=lambda m: m.name)
def ref(request):
    return request.param


def check_op(forward, backward, x, *args):
    """Backprop a random upstream gradient R; compare with d/dx sum(R * forward(x)).
    Inputs go to the op's backend (its own arrays) and results come back as NumPy."""
    b = sys.modules[forward.__module__]

    def dev(a):
        return b.asarray(a) if isinstance(a, np.ndarray) else a

    def f(v):
        out = forward(dev(v), *map(dev, args))[0]
        return b.to_numpy(out) if np.ndim(out) else out

    out, cache = forward(dev(x), *map(dev, args))
    R = rng.standard_normal(np.shape(out)) if np.ndim(out) else 1.0
    analytic = b.to_numpy(backward(dev(R), cache))
    numeric = numeric_grad(lambda v: np.sum(R * f(v)), x)
    err = rel_error(analytic, numeric)
    assert analytic.shape == x.shape
    assert err < TOL, f"{b.name}: relative error {err:.2e}"


def test_stft_matrix(ref):
    check_op(ref.stft_matrix_forward, ref.stft_matrix_backward, rng.standard_normal(70),
             dft_basis(16), 5)


def test_stft_fft(ref):
    check_op(ref.stft_fft_forward, ref.stft_fft_backward, rng.standard_normal(70),
             hann_window(16), 5)


def test_magnitude(ref):
    check_op(ref.magnitude_forward, ref.magnitude_backward, rng.standard_normal((6, 18)))


def test_magnitude_zero_has_zero_gradient(ref):
    M, cache = ref.magnitude_forward(ref.asarray(np.zeros((2, 6))))
    assert np.all(ref.to_numpy(ref.magnitude_backward(ref.asarray(np.ones((2, 3))), cache)) == 0)


def test_log1p(ref):
    check_op(ref.log1p_forward, ref.log1p_backward, rng.uniform(0, 3, (5, 9)))


def test_mel(ref):
    check_op(ref.mel_forward, ref.mel_backward, rng.uniform(0, 3, (5, 33)),
             mel_filterbank(sr=8000, n_fft=64, n_mels=6))


@pytest.mark.parametrize("C", [5, 70])
def test_conv1d_relu(ref, C):
    W = rng.standard_normal((4, C, 7))
    check_op(ref.conv1d_relu_forward, ref.conv1d_relu_backward, rng.standard_normal((12, C)), W)


@pytest.mark.parametrize("dilation,padding", [(1, (0, 0)), (2, (3, 3)), (4, (5, 7))])
@pytest.mark.parametrize("C", [5, 70])  # both sides of cpu's im2col / shifted-GEMM switch
def test_conv1d(ref, C, dilation, padding):
    W = rng.standard_normal((3, C, 6))
    check_op(ref.conv1d_forward, ref.conv1d_backward, rng.standard_normal((20, C)), W,
             dilation, padding)


def test_relu(ref):
    check_op(ref.relu_forward, ref.relu_backward, rng.standard_normal((7, 9)))


def test_gram(ref):
    check_op(ref.gram_forward, ref.gram_backward, rng.standard_normal((9, 6)))


def test_style_loss(ref):
    check_op(ref.style_loss_forward, ref.style_loss_backward, rng.standard_normal((6, 6)),
             rng.standard_normal((6, 6)), 0.7)


def test_content_loss(ref):
    check_op(ref.content_loss_forward, ref.content_loss_backward, rng.standard_normal((9, 6)),
             rng.standard_normal((9, 6)), 1.3)


def test_gram_style_loss(ref):
    target = numpy_ref.gram_forward(rng.standard_normal((12, 70)))[0]
    check_op(ref.gram_style_loss_forward, ref.gram_style_loss_backward,
             rng.standard_normal((9, 70)), target, 0.4)


FAST = [b for b in BACKENDS if b is not numpy_ref]
FORMS = pytest.mark.parametrize("fft", [True, False], ids=["fft", "direct"])


@pytest.mark.parametrize("n_lags", [1, 4, 9])
def test_autocorr(ref, n_lags):
    check_op(ref.autocorr_forward, ref.autocorr_backward,
             np.maximum(rng.standard_normal((9, 5)), 0), n_lags)


@FORMS
@pytest.mark.parametrize("n_lags", [1, 4, 9])
@pytest.mark.parametrize("fast", FAST, ids=lambda m: m.name)
def test_autocorr_forms(fast, n_lags, fft):
    """Each form of the fast backends forced, whichever the op would pick."""
    check_op(fast.autocorr_forward, fast.autocorr_backward,
             np.maximum(rng.standard_normal((9, 5)), 0), n_lags, fft)


def autocorr_target(T: int = 15, F: int = 6, n_lags: int = 5) -> np.ndarray:
    return numpy_ref.autocorr_forward(np.maximum(rng.standard_normal((T, F)), 0), n_lags)[0]


def test_autocorr_loss(ref):
    check_op(ref.autocorr_loss_forward, ref.autocorr_loss_backward,
             np.maximum(rng.standard_normal((11, 6)), 0), autocorr_target(), 0.6)


@FORMS
@pytest.mark.parametrize("fast", FAST, ids=lambda m: m.name)
def test_autocorr_loss_forms(fast, fft):
    check_op(fast.autocorr_loss_forward, fast.autocorr_loss_backward,
             np.maximum(rng.standard_normal((11, 6)), 0), autocorr_target(), 0.6, fft)



def spectrum_inputs(T: int = 9, n_bins: int = 33, n_bands: int = 6) -> tuple:
    """log1p magnitudes, a mel filterbank (empty bands dropped) and a target in log units."""
    from randstyle.engine.model.spectrum import band_matrix
    bands = band_matrix(8000, 2 * (n_bins - 1), n_bands)
    return (np.log1p(rng.uniform(0, 3, (T, n_bins))), bands,
            np.log(rng.uniform(0.5, 2, (1, len(bands)))))


def test_band_power(ref):
    S, bands, _ = spectrum_inputs()
    check_op(ref.band_power_forward, ref.band_power_backward, S, bands)


def test_spectrum_loss(ref):
    S, bands, target = spectrum_inputs()
    check_op(ref.spectrum_loss_forward, ref.spectrum_loss_backward, S, bands, target, 1e-3, 0.7)


@pytest.mark.parametrize("power", [2, 1])
def test_chroma_loss(ref, power):
    """The chroma content term (issue 29) on every backend, float64, on the power and the
    magnitude spectrum."""
    from randstyle.engine.model.filters import chroma_filterbank
    S = np.log1p(rng.uniform(0, 3, (9, 65)))
    fb = chroma_filterbank(sr=8000, n_fft=128)
    target = rng.standard_normal((9, 12))
    check_op(ref.chroma_loss_forward, ref.chroma_loss_backward, S, fb, target - target.mean(
        axis=1, keepdims=True), 1e-2, 0.7, power)


VARIANTS = {  # network options, objective options
    "harmonic": ({}, {"rhythm_weight": 0.0}),
    "rhythm": ({}, {"style_weight": 0.0, "rhythm_weight": 1.5}),
    "both+l1": ({}, {"rhythm_weight": 0.7, "l1_weight": 0.3}),
    "resid": ({"n_resid": 2}, {"rhythm_weight": 0.7}),
    "mel content": ({"content_features": "mel"}, {"rhythm_weight": 0.7}),
    "mel content, resid, linear mel": (
        {"content_features": "mel", "content_n_mels": 4, "n_resid": 1, "mel_log": False,
         "mel_norm": "none"}, {"style_weight": 0.0}),
}


@pytest.mark.parametrize("dft", ["fft", "matrix"])
@pytest.mark.parametrize("terms", ["both", "content", "style"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_whole_objective(ref, dft, terms, variant):
    net_opts, obj_opts = VARIANTS[variant]
    net = engine.Network(engine.NetworkConfig(**{**TINY, **net_opts}, dtype="float64", dft=dft),
                         backend=ref.name)
    content = rng.standard_normal(120) * 0.3 if terms != "style" else None
    style = rng.standard_normal(200) * 0.3 if terms != "content" else None
    obj = engine.Objective(net, content=content, style=style, content_weight=0.5,
                           **{"style_weight": 2.0, **obj_opts})
    x = rng.standard_normal(120) * 0.3
    obj.balance(x * 0.1)  # balanced weights are weights too: the gradient must still match
    value, grad = obj.value_and_grad(x)
    assert isinstance(value, float) and grad.shape == x.shape and grad.dtype == np.float64
    numeric = numeric_grad(lambda v: obj.value_and_grad(v)[0], x)
    assert rel_error(grad, numeric) < TOL


@pytest.mark.parametrize("backend", ["numpy", "cpu", "cuda"])
def test_l1_log_magnitude_term_alone_against_finite_differences(backend):
    """d/dx of l1_weight * sum |log1p|STFT(x)||, on its own (content weight 0, no style)."""
    from conftest import CUDA_TESTABLE
    from helpers import TINY, numeric_grad, rel_error

    from randstyle import engine
    if backend == "cuda" and not CUDA_TESTABLE:
        pytest.skip("no GPU and no g++ for the emulation")
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"), backend=backend)
    x = np.random.default_rng(8).standard_normal(96) * 0.3
    obj = engine.Objective(net, content=x, content_weight=0.0, l1_weight=0.7)
    terms, grad = obj.terms_and_grad(x)
    assert set(terms) == {"l1", "total"} and terms["l1"] > 0
    numeric = numeric_grad(lambda v: obj.terms_and_grad(v)[0]["total"], x)
    assert rel_error(grad, numeric) < 1e-6
