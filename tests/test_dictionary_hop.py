"""The examples' own STFT hop (engine/run/separate_dictionary.py example_hop;
--dictionary-hop-length): by default a quarter of the masks' hop, so that a short example gives
its atoms four times the frames (docs/results/separation.md, fifth pass); the mix's fit and
masks keep the masks' hop."""
import numpy as np
import pytest

from randstyle import engine
from randstyle.engine.config import SeparateConfig
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run.separate_dictionary import example_hop, example_spectrum, magnitude
from randstyle.kernels import numpy_ref

SR = 22050


def _frames(n: int, hop: int) -> int:
    window = numpy_ref.asarray(hann_window(2048).astype(np.float32))
    return magnitude(numpy_ref, np.zeros(n, np.float32), window, hop)[1].shape[0]


def test_the_examples_hop_is_a_quarter_of_the_masks_unless_given():
    """The example's frames are those of its STFT at a quarter of --mask-hop-length (at the
    masks' own hop: a quarter of the frames); --dictionary-hop-length N sets it."""
    example = plucked_melody(1.0, SR, seed=2)
    window = numpy_ref.asarray(hann_window(2048).astype(np.float32))
    cfg = SeparateConfig(mask_n_fft=2048, mask_hop_length=512)
    assert example_hop(cfg) == 128
    spec = example_spectrum(numpy_ref, "p", example, cfg, window)
    assert spec.V.shape[0] == _frames(len(example), 128) > 3 * _frames(len(example), 512)
    given = SeparateConfig(mask_n_fft=2048, mask_hop_length=512, dictionary_hop_length=300)
    assert example_hop(given) == 300
    assert example_spectrum(numpy_ref, "p", example, given, window).V.shape[0] == \
        _frames(len(example), 300)


def test_the_mix_keeps_the_masks_hop():
    """The separation with the examples at the masks' hop differs from the default's (the
    option reaches the atoms), and the default equals an explicit quarter (the same atoms);
    both outputs sum to the mix, whose STFT the examples' hop does not touch."""
    mix_parts = {"pluck": plucked_melody(1.0, SR, seed=1), "drums": drum_loop(1.0, SR, seed=1)}
    examples = {"pluck": plucked_melody(1.0, SR, seed=2), "drums": drum_loop(1.0, SR, seed=2)}
    mix = sum(mix_parts.values())
    opts = dict(components=4, dictionary_iter=10, fit_iter=10, dictionary_transpose=0,
                mask_n_fft=2048, mask_hop_length=512, sr=SR, backend="numpy", seed=0)
    default = engine.separate(mix, examples, **opts)[0]
    quarter = engine.separate(mix, examples, dictionary_hop_length=128, **opts)[0]
    coarse = engine.separate(mix, examples, dictionary_hop_length=512, **opts)[0]
    assert all(np.array_equal(default[k], quarter[k]) for k in default)
    assert not np.allclose(default["pluck"], coarse["pluck"], atol=1e-4)
    for parts in (default, coarse):
        assert np.abs(sum(parts.values()) - mix).max() < 1e-5


def test_the_examples_hop_is_checked():
    with pytest.raises(ParameterError, match="dictionary_hop_length"):
        SeparateConfig(dictionary_hop_length=0)
