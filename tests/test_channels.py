"""Channel handling (engine/run/channels.py): what is optimized and how the parts come back."""
import numpy as np

from engine.run import channels


def test_a_single_channel_is_split_and_merged_as_views_of_the_same_values():
    # Issue 32: a 10-minute song's content and result were each copied once more (50 MiB
    # apiece at 22050 Hz) by a mean over one channel and a stack of one part.
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    for signal in (x, x[:, None]):
        (part,) = channels.split(signal, "mono")
        assert np.shares_memory(part, x)
        np.testing.assert_array_equal(part, np.asarray(signal)[:, None].mean(axis=1)
                                      if signal.ndim == 1 else signal.mean(axis=1))
    merged = channels.merge([x], "mono")
    assert merged.shape == (1000, 1) and np.shares_memory(merged, x)
    np.testing.assert_array_equal(merged, np.stack([x], axis=1))
    stereo = np.stack([x, -x], axis=1)  # several channels: their mean, a new array
    np.testing.assert_array_equal(channels.split(stereo, "mono")[0], stereo.mean(axis=1))
