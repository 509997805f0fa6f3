"""The cpu backend's Numba kernels split into blocks of rows on the backend's threads
(kernels/cpu.py, ``_over_rows``): the blocks cover every row once, and each op gives the same
result, bit for bit, on one thread and split over three, float32 and float64."""
import numpy as np
import pytest

from randstyle import kernels
from randstyle.engine.model.fastfood import draw_fastfood
from randstyle.kernels import cpu


@pytest.mark.parametrize("n,work,triangle", [(10, 10**6, False), (7, 10**6, True),
                                             (100, 10**6, True), (2, 10**6, False)])
def test_blocks_cover_every_row_once(monkeypatch, n, work, triangle):
    monkeypatch.setattr(kernels, "_threads", 3)
    spans = cpu._spans(n, work, triangle)
    rows = [r for lo, hi in spans for r in range(lo, hi)]
    assert rows == list(range(n)) and len(spans) == min(3, n)


def test_small_work_stays_on_the_calling_thread(monkeypatch):
    monkeypatch.setattr(kernels, "_threads", 3)
    assert cpu._spans(1000, cpu.SHARE_MIN - 1) == [(0, 1000)]


def test_triangle_blocks_share_the_work(monkeypatch):
    """Rows of a lower triangle cost their index: equal areas, not equal row counts."""
    monkeypatch.setattr(kernels, "_threads", 2)
    (lo0, hi0), (lo1, hi1) = cpu._spans(1000, 10**6, triangle=True)
    area = [sum(range(lo, hi)) for lo, hi in ((lo0, hi0), (lo1, hi1))]
    assert abs(area[0] - area[1]) < 0.01 * sum(area)


def _ops(dtype):
    """Every op whose Numba kernels run in blocks, on small inputs: a tuple of its outputs."""
    rng = np.random.default_rng(1)

    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)

    A, B, x, W = r(37, 24), r(37, 24), r(900), r(3, 24, 16)
    window = np.hanning(64).astype(dtype)
    Z, c = cpu.stft_fft_forward(x, window, 16)
    yield "stft_fft", (Z, cpu.stft_fft_backward(r(*Z.shape), c))
    Zm, c = cpu.stft_matrix_forward(x, r(64, 66), 16)
    yield "stft_matrix", (Zm, cpu.stft_matrix_backward(r(*Zm.shape), c))
    M, c = cpu.magnitude_forward(Z)
    yield "magnitude", (M, cpu.magnitude_backward(r(*M.shape), c))
    S, c = cpu.log1p_forward(M)
    yield "log1p", (S, cpu.log1p_backward(r(*S.shape), c))
    Y, c = cpu.conv1d_forward(A, W, 2, (2, 2))
    yield "conv1d", (Y, cpu.conv1d_backward(r(*Y.shape), c))
    Y, c = cpu.conv1d_relu_forward(A, W)
    yield "conv1d_relu", (Y, cpu.conv1d_relu_backward(r(*Y.shape), c))
    R, c = cpu.relu_forward(A)
    yield "relu", (R, cpu.relu_backward(B, c))
    ff = draw_fastfood(np.random.default_rng(2), 3, 24, 40).cast(dtype)
    F, c = cpu.fastfood_conv_relu_forward(A, ff.width, ff.signs, ff.perm, ff.gauss, ff.scale,
                                          ff.n_out)
    yield "fastfood", (F, cpu.fastfood_conv_relu_backward(r(*F.shape), c))
    G, c = cpu.gram_forward(A)
    yield "gram", (G, cpu.gram_backward(r(24, 24), c))
    G2 = cpu.gram_forward(B)[0]
    loss, c = cpu.gram_style_loss_forward(A, G2, 0.5)
    yield "gram_style_loss", (np.float64(loss), cpu.gram_style_loss_backward(1.0, c))
    loss, c = cpu.squared_error_forward(A, B, 0.5)
    yield "squared_error", (np.float64(loss), cpu.squared_error_backward(1.0, c))
    yield "gramfree", (np.float64(cpu.gramfree_style_loss_forward(A, B, 3.0, 0.5)[0]),)
    yield "l1", (np.float64(cpu.l1_forward(A, 0.1)[0]),)
    yield "nmf_kl_ratio", (cpu.nmf_kl_ratio(np.abs(A), np.abs(B)),)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_op_is_the_same_on_one_thread_and_split_over_three(monkeypatch, dtype):
    monkeypatch.setattr(cpu, "SHARE_MIN", 0)  # split even these small inputs
    monkeypatch.setattr(kernels, "_threads", 1)
    one = {name: [np.copy(o) for o in outs] for name, outs in _ops(dtype)}
    calls = []
    run_blocks = cpu.blas.run_blocks
    monkeypatch.setattr(cpu.blas, "run_blocks", lambda tasks: (calls.append(len(tasks)),
                                                               run_blocks(tasks)))
    monkeypatch.setattr(kernels, "_threads", 3)
    three = dict(_ops(dtype))
    assert calls and max(calls) == 3  # the blocks did run on three threads
    for name, outs in one.items():
        for a, b in zip(outs, three[name]):
            assert a.dtype == b.dtype and np.array_equal(a, b), name
