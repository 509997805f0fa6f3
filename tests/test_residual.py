"""Residual blocks: block i dilated by 2**i, on every backend."""
import numpy as np
import pytest

SR = 8000


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_residual_block_i_has_dilation_2_to_the_i(backend):
    """Change one input frame of the rhythm stack: the rows of layer i that move span its
    receptive field, K + (K_r - 1) (2^i - 1) frames with dilations 1, 2, 4 (with dilation
    1 everywhere: K + i (K_r - 1))."""
    from randstyle import engine
    from randstyle.engine.model import passes
    K, Kr, n = 5, 3, 4
    cfg = engine.NetworkConfig(sr=SR, n_fft=32, hop_length=8, n_filters=4, kernel_size=3,
                               n_mels=4, rhythm_filters=16, rhythm_kernel_size=K, n_resid=n,
                               resid_kernel_size=Kr, dtype="float64")
    net = engine.Network(cfg, backend=backend)
    rng = np.random.default_rng(3)
    X = rng.random((200, 4))
    X2 = X.copy()
    X2[100] += 5.0
    dev = net._dev["rhythm"]
    before = passes.stack_forward(net.backend, dev, net.asarray(X))[0]
    after = passes.stack_forward(net.backend, dev, net.asarray(X2))[0]
    for i in range(n + 1):
        moved = np.flatnonzero(np.any(np.abs(np.asarray(after[i]) - np.asarray(before[i]))
                                      > 1e-12, axis=1))
        assert moved[-1] - moved[0] + 1 == K + (Kr - 1) * (2 ** i - 1), (i, moved)
        assert len(moved) == moved[-1] - moved[0] + 1  # one contiguous span
