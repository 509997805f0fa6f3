"""The cuda backend's TF32 products: rounding and the accuracy it keeps."""
import numpy as np
import pytest
from conftest import CUDA_TESTABLE, GPU, emulated

from randstyle.kernels import cuda, numpy_ref


def near_target(distance_noise: float, T: int = 200, F: int = 256, seed: int = 0):
    """ReLU activations A (float64) and a style factor B whose Gram is near AᵀA/T: the
    relative Gram distance grows with ``distance_noise``."""
    rng = np.random.default_rng(seed)
    A = np.maximum(rng.standard_normal((T, F)), 0)
    B = np.maximum(A + distance_noise * rng.standard_normal((T, F)), 0) / np.sqrt(T)
    Gs = B.T @ B
    distance = np.linalg.norm(A.T @ A / T - Gs) / np.linalg.norm(Gs)
    return A, B, float(np.sum(Gs * Gs)), distance


def test_tf32_rounding_keeps_10_mantissa_bits():
    x = np.array([1 + 2**-10, 1 + 2**-11 + 2**-12, 1 + 2**-12, 3.0], dtype=np.float32)
    assert list(cuda.tf32_round(x)) == [1 + 2**-10, 1 + 2**-10, 1.0, 3.0]


@pytest.mark.skipif(not CUDA_TESTABLE, reason="the cuda backend cannot run here")
@pytest.mark.parametrize("noise", [0.3, 0.002, 0.001], ids=["far", "near", "nearer"])
def test_gramfree_loss_stays_accurate_under_tf32(noise):
    """Under tf32() (on a GPU, TF32 tensor cores; in the emulation, every product's float32
    inputs rounded to 10 bits) the Gram-free loss and gradient stay within float32's own
    error of the float64 reference, from far (28 % Gram distance) to near the target (0.2 %,
    0.1 %). With TF32 products the loss was off by 22 % at 0.3 % and by 80x at 0.03 %."""
    A, B, target_sq, distance = near_target(noise)
    assert distance < 0.0025 or noise == 0.3
    ref, cache = numpy_ref.gramfree_style_loss_forward(A, B, target_sq, 1.0)
    ref_grad = numpy_ref.gramfree_style_loss_backward(1.0, cache)
    with cuda.tf32():
        assert cuda._tf32_emulated or GPU
        loss, cache = cuda.gramfree_style_loss_forward(cuda.asarray(A, np.float32),
                                                       cuda.asarray(B, np.float32), target_sq,
                                                       1.0)
        grad = cuda.to_numpy(cuda.gramfree_style_loss_backward(1.0, cache))
    assert not cuda._tf32_emulated  # restored
    assert abs(float(loss) - ref) < 2e-2 * ref, (distance, float(loss), ref)
    assert np.max(np.abs(grad - ref_grad)) < 1e-2 * np.max(np.abs(ref_grad))


@emulated
def test_tf32_model_moves_the_other_products():
    """The emulated TF32 is real: a conv GEMM under tf32() differs from full float32 by
    TF32's rounding (and set_tf32 turns it on and off process-wide)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 8)).astype(np.float32)
    W = rng.standard_normal((3, 8, 16)).astype(np.float32)
    full = cuda.conv1d_forward(X, W)[0]
    with cuda.tf32():
        rounded = cuda.conv1d_forward(X, W)[0]
    effect = np.max(np.abs(rounded - full)) / np.max(np.abs(full))
    assert 1e-5 < effect < 1e-2
    cuda.set_tf32(True)
    try:
        assert np.array_equal(cuda.conv1d_forward(X, W)[0], rounded)
    finally:
        cuda.set_tf32(False)
    assert np.array_equal(cuda.conv1d_forward(X, W)[0], full)
