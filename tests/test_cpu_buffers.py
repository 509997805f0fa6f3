"""The cpu backend's scratch buffers stay bounded in a long-lived process: a batch worker runs
row after row, each with its own network and styles, in one process."""
import gc

import numpy as np

from randstyle import engine
from randstyle.kernels import cpu

NET = dict(sr=8000, n_fft=64, hop_length=16, n_filters=48, kernel_size=3, n_mels=4,
           rhythm_filters=40, rhythm_kernel_size=5)


def scratch_bytes() -> int:
    return sum(b.nbytes for b in cpu._buffers.values())


def test_a_long_lived_worker_keeps_its_scratch_bounded():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4000) * 0.1
    after = []
    for row in range(8):  # a row: its own network, its own style, one evaluation or more
        net = engine.Network(engine.NetworkConfig(**NET, seed=row), backend="cpu")
        style = rng.standard_normal(8000) * (0.05 + 0.01 * row)
        obj = engine.Objective(net, content=x, style=style, content_weight=1.0)
        obj.terms_and_grad(x)
        assert set(obj.style_algorithms.values()) == {"dense"}  # the path with owned buffers
        del obj, net
        gc.collect()
        after.append(scratch_bytes())
    assert after[0] > 0
    assert after[-1] <= 1.1 * after[0], after  # 8 rows within 10% of the first
