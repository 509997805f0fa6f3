"""The mask kernels (kernels/masks_xp.py, numpy_ref): box smoothing and the iSTFT's window sum."""
import numpy as np
import pytest
from conftest import CUDA_TESTABLE

from randstyle.kernels import numpy_ref


@pytest.fixture(params=["numpy", "cpu"] + (["cuda"] if CUDA_TESTABLE else []))
def backend(request):
    from randstyle import kernels
    return kernels.get_backend(request.param)


@pytest.mark.parametrize("box", [(1, 1), (3, 1), (1, 5), (3, 5)])
def test_box_smooth_matches_scipy_and_finite_differences(backend, box):
    """The op is scipy's uniform_filter (mode constant) over time and frequency, on every
    backend; its backward is itself, checked against central differences in float64."""
    from helpers import numeric_grad, rel_error
    from scipy.ndimage import uniform_filter
    rng = np.random.default_rng(7)
    U = rng.standard_normal((2, 9, 11))
    V = np.asarray(backend.to_numpy(backend.box_smooth_forward(backend.asarray(U), *box)[0]))
    assert rel_error(V, uniform_filter(U, size=(1, *box), mode="constant")) < 1e-13
    G = rng.standard_normal(U.shape)
    cache = backend.box_smooth_forward(backend.asarray(U), *box)[1]
    dU = np.asarray(backend.to_numpy(backend.box_smooth_backward(backend.asarray(G), cache)))

    def loss(u):
        out = backend.box_smooth_forward(backend.asarray(u.reshape(U.shape)), *box)[0]
        return float(np.sum(G * np.asarray(backend.to_numpy(out))))
    assert rel_error(dU.reshape(-1), numeric_grad(loss, U.reshape(-1))) < 1e-8


def test_box_smooth_refuses_an_even_side():
    with pytest.raises(ValueError, match="odd"):
        numpy_ref.box_smooth_forward(np.zeros((1, 4, 4)), 2, 1)


def test_the_window_sum_is_built_once(backend):
    from randstyle.engine.model.filters import hann_window
    window = backend.asarray(hann_window(16))
    Y = backend.asarray(np.ones((2, numpy_ref.mask_frames(300, 16, 8)[0], 9), np.complex128))
    first = backend.istft_forward(Y, window, 8, 300)[1][3]
    again = backend.istft_forward(Y, window, 8, 300)[1][3]
    other = backend.istft_forward(Y, backend.asarray(hann_window(16)), 8, 300)[1][3]
    if backend is numpy_ref:
        return  # the spec rebuilds it: its readable definition
    assert again is first and other is not first
    assert np.array_equal(np.asarray(backend.to_numpy(other)),
                          np.asarray(backend.to_numpy(first)))
