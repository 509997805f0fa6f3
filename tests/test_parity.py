"""Fast backends against numpy_ref, op by op and for the whole objective.

Tolerances (normwise relative error, tests/helpers.rel_error): float64 must agree to 1e-12,
since both sides do the same arithmetic in a different order. In float32 a dot product of
length k carries a rounding error of about sqrt(k) * 6e-8 relative to its terms; the longest
here is k = C*K ~ 1.5e3 (conv), so up to ~2e-6; measured worst: 2.7e-7 (Gram). 3e-6 for
values and 1e-5 for gradients (a second GEMM in the chain) sit above that bound, while any
wrong index, scale or missing term shows up at 1e-2 or worse.
"""
import numpy as np
import pytest
from helpers import SMALL, rel_error

from randstyle import engine
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.model.filters import dft_basis, hann_window, mel_filterbank
from randstyle.kernels import numpy_ref

TOL = {np.float32: (3e-6, 1e-5), np.float64: (1e-12, 1e-12)}
DTYPES = [np.float32, np.float64]


def pair(fast, op, args, dtype, grad_shape_from_out=True, seed=0):
    """Run op forward and backward on both backends with the same inputs; compare."""
    rng = np.random.default_rng(seed)
    out_r, cache_r = getattr(numpy_ref, f"{op}_forward")(*args)
    out_f, cache_f = getattr(fast, f"{op}_forward")(
        *[fast.asarray(a) if isinstance(a, np.ndarray) else a for a in args])
    out_f = fast.to_numpy(out_f) if np.ndim(out_r) else float(out_f)  # a GPU's 0-d array
    tol_v, tol_g = TOL[dtype]
    if np.ndim(out_r):
        assert out_f.dtype == out_r.dtype == dtype and out_f.shape == out_r.shape
        dout = rng.standard_normal(out_r.shape).astype(dtype)
    else:
        dout = 1.0
    assert rel_error(out_f, out_r) < tol_v, f"{op} forward"
    g_r = getattr(numpy_ref, f"{op}_backward")(dout, cache_r)
    g_f = fast.to_numpy(getattr(fast, f"{op}_backward")(
        fast.asarray(dout) if np.ndim(dout) else dout, cache_f))
    assert g_f.dtype == g_r.dtype == dtype and g_f.shape == g_r.shape
    assert rel_error(g_f, g_r) < tol_g, f"{op} backward: {rel_error(g_f, g_r):.2e}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_fft,hop,n", [(256, 64, 5000), (2048, 512, 30000), (100, 30, 1234)])
def test_stft(fast, dtype, n_fft, hop, n):
    x = np.random.default_rng(1).standard_normal(n).astype(dtype)
    pair(fast, "stft_fft", (x, hann_window(n_fft).astype(dtype), hop), dtype)
    pair(fast, "stft_matrix", (x, dft_basis(n_fft).astype(dtype), hop), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise(fast, dtype):
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((37, 2 * 129)).astype(dtype)
    Z[3, 5] = Z[3, 5 + 129] = 0  # a zero magnitude: gradient defined as 0 on both sides
    pair(fast, "magnitude", (Z,), dtype)
    M = rng.uniform(0, 4, (37, 129)).astype(dtype)
    pair(fast, "log1p", (M,), dtype)
    pair(fast, "mel", (M, mel_filterbank(sr=8000, n_fft=256, n_mels=8).astype(dtype)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,C,K,F", [(50, 129, 11, 200), (20, 8, 5, 64), (11, 3, 11, 7),
                                     (80, 8, 50, 100)])
def test_conv1d_relu(fast, dtype, T, C, K, F):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((T, C)).astype(dtype)
    W = (rng.standard_normal((K, C, F)) / np.sqrt(C * K)).astype(dtype)
    pair(fast, "conv1d_relu", (X, W), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,C,K,F,dilation,padding", [
    (60, 8, 50, 128, 1, (0, 0)), (40, 96, 25, 96, 2, (24, 24)), (70, 33, 25, 40, 4, (48, 48)),
    (30, 100, 1, 100, 1, (0, 0))])
def test_conv1d_dilated(fast, dtype, T, C, K, F, dilation, padding):
    rng = np.random.default_rng(6)
    X = np.maximum(rng.standard_normal((T, C)), 0).astype(dtype)
    W = (rng.standard_normal((K, C, F)) / np.sqrt(C * K)).astype(dtype)
    pair(fast, "conv1d", (X, W, dilation, padding), dtype)
    pair(fast, "relu", (rng.standard_normal((T, C)).astype(dtype),), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,F", [(40, 300), (7, 64), (130, 65), (3, 1)])
def test_gram_and_losses(fast, dtype, T, F):
    rng = np.random.default_rng(4)
    A = np.maximum(rng.standard_normal((T, F)), 0).astype(dtype)
    target = numpy_ref.gram_forward(np.maximum(rng.standard_normal((2 * T, F)), 0)
                                    .astype(dtype))[0]
    pair(fast, "gram", (A,), dtype)
    pair(fast, "gram_style_loss", (A, target, 0.3), dtype)
    pair(fast, "style_loss", (numpy_ref.gram_forward(A)[0], target, 0.3), dtype)
    pair(fast, "content_loss", (A, rng.standard_normal((T, F)).astype(dtype), 2.0), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,F,n_lags", [(163, 300, 50), (40, 64, 3), (7, 5, 7), (1, 3, 1)])
def test_autocorr(fast, dtype, T, F, n_lags):
    """The op as the backend picks its form, then each form forced, against the direct sum."""
    rng = np.random.default_rng(8)
    A = np.maximum(rng.standard_normal((T, F)), 0).astype(dtype)
    target = numpy_ref.autocorr_forward(
        np.maximum(rng.standard_normal((2 * T, F)), 0).astype(dtype), n_lags)[0]
    pair(fast, "autocorr", (A, n_lags), dtype)
    pair(fast, "autocorr_loss", (A, target, 0.3), dtype)
    for form in (True, False):
        out = fast.to_numpy(fast.autocorr_forward(fast.asarray(A), n_lags, form)[0])
        assert rel_error(out, numpy_ref.autocorr_forward(A, n_lags)[0]) < TOL[dtype][0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dft", ["fft", "matrix"])
def test_whole_objective(fast, dtype, dft):
    sr = SMALL["sr"]
    cfg = engine.NetworkConfig(**SMALL, dtype=dtype, dft=dft)
    content, style = plucked_melody(1.0, sr), drum_loop(1.7, sr)
    x = np.random.default_rng(5).standard_normal(len(content)) * 0.05
    results = []
    for backend in (numpy_ref.name, fast.name):
        obj = engine.Objective(engine.Network(cfg, backend=backend), content=content,
                               style=style, content_weight=0.5, style_weight=2.0)
        results.append(obj.value_and_grad(x))
    (v_r, g_r), (v_f, g_f) = results
    tol_v, tol_g = TOL[np.dtype(dtype).type]
    assert abs(v_f - v_r) < tol_v * abs(v_r)
    assert rel_error(g_f, g_r) < tol_g


@pytest.mark.parametrize("n_resid", [0, 2])
def test_chunked_style_gram(fast, n_resid):
    """Grams accumulated over chunks equal the whole clip's, residual blocks' reach included
    (numpy_ref unchunked against the fast backend chunked)."""
    cfg = engine.NetworkConfig(**{**SMALL, "rhythm_filters": 32, "resid_kernel_size": 5},
                               n_resid=n_resid, dtype="float64")
    x = drum_loop(4.0, SMALL["sr"]).astype(np.float64)
    branches = ("harmonic", "rhythm")
    whole = engine.Network(cfg).grams(x, branches, chunk_frames=10_000)
    net = engine.Network(cfg, backend=fast.name)
    for chunk in (11, 40, 77):
        chunked = net.grams(x, branches, chunk_frames=chunk)
        for b in branches:
            assert len(chunked[b]) == len(whole[b]) == (1 if b == "harmonic" else 1 + n_resid)
            for g_c, g_w in zip(chunked[b], whole[b]):
                assert rel_error(fast.to_numpy(g_c), g_w) < 1e-12


@pytest.mark.parametrize("dtype", DTYPES)
def test_band_spectrum(fast, dtype):
    from randstyle.engine.model.spectrum import band_matrix
    rng = np.random.default_rng(6)
    S = np.log1p(rng.uniform(0, 5, (120, 513))).astype(dtype)
    bands = band_matrix(22050, 1024, 64).astype(dtype)
    target = np.log(rng.uniform(0.5, 4, (1, len(bands)))).astype(dtype)
    pair(fast, "band_power", (S, bands), dtype)
    pair(fast, "spectrum_loss", (S, bands, target, 1e-4, 0.3), dtype)


@pytest.mark.parametrize("power", [2, 1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_chroma_term(fast, dtype, power):
    from randstyle.engine.model.filters import chroma_filterbank
    rng = np.random.default_rng(7)
    S = np.log1p(rng.uniform(0, 5, (120, 513))).astype(dtype)
    fb = chroma_filterbank(sr=22050, n_fft=1024).astype(dtype)
    target = rng.standard_normal((120, 12)).astype(dtype)
    pair(fast, "chroma_loss", (S, fb, target, 1e-3, 0.3, power), dtype)
