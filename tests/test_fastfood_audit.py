"""--harmonic-filters fastfood through the network, from the test audit of issue 21
(bench/mutant_list.py, docs/results/testing.md): the option reaches the harmonic branch, and the
draw follows the network's seed. Each test fails with the breakage it is named after in
docs/results/testing.md."""
import numpy as np

from engine.config import NetworkConfig
from engine.model.fastfood import draw_fastfood
from engine.model.network import Network

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
