"""A high example reaches down less (engine/model/dictionary.py register; engine/run/
separate_dictionary.py transpositions; --dictionary-high-down): the register read off a
generated low melody and a generated high one, and the semitones of their transposed atoms,
the same on every backend."""
import numpy as np
import pytest
from test_dictionary_pitch import SR, _line

from randstyle import kernels
from randstyle.engine.config import SeparateConfig
from randstyle.engine.demo import drum_loop
from randstyle.engine.errors import ParameterError
from randstyle.engine.model import dictionary
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run.separate_dictionary import HIGH_REGISTER, magnitude, transpositions

LOW = [45, 48, 52, 55, 48, 52]  # a pluck around C3-G3 (every harmonic)
HIGH = [79, 81, 84, 86, 84, 81]  # a reed around G5-D6 (odd harmonics: near a flute's)


def _spectrum(b, x: np.ndarray):
    w = b.asarray(hann_window(4096).astype(np.float32))
    return magnitude(b, x, w, 1024)[1]


def test_register_reads_a_low_and_a_high_melody():
    """The median of the per-frame harmonic-sum pitch: within a semitone of each melody's
    median note, the low one under C5 and the high one above."""
    b = kernels.get_backend("numpy")
    low = dictionary.register(_spectrum(b, _line(LOW, odd=False)), SR, 4096)
    high = dictionary.register(_spectrum(b, _line(HIGH, odd=True)), SR, 4096)
    assert abs(low - np.median(LOW)) <= 1 and abs(high - np.median(HIGH)) <= 1, (low, high)
    assert low < HIGH_REGISTER <= high


@pytest.mark.parametrize("name", ["numpy", "cpu", "cuda"])
def test_a_high_example_reaches_down_less(name):
    """--dictionary-transpose 6 and the default --dictionary-high-down 2: the high melody's
    atoms go 2 down and 6 up, the low one's 6 either way, a drum loop's nowhere; with 12 (no
    cut) the high melody's 6 either way too. The same on every backend (cuda through its
    host emulation where no GPU is present)."""
    b = kernels.get_backend(name)
    cut = SeparateConfig(dictionary_transpose=6, sr=SR, mask_n_fft=4096)
    both = [s for s in range(-6, 7) if s]
    high = _spectrum(b, _line(HIGH, odd=True))
    assert transpositions(b, high, True, cut) == [-2, -1, 1, 2, 3, 4, 5, 6]
    assert transpositions(b, _spectrum(b, _line(LOW, odd=False)), True, cut) == both
    assert transpositions(b, _spectrum(b, drum_loop(3, SR, seed=2)), False, cut) == []
    plain = SeparateConfig(dictionary_transpose=6, dictionary_high_down=12, sr=SR,
                           mask_n_fft=4096)
    assert transpositions(b, high, True, plain) == both


def test_high_down_is_checked():
    assert SeparateConfig(dictionary_high_down=0).dictionary_high_down == 0
    with pytest.raises(ParameterError, match="dictionary-high-down"):
        SeparateConfig(dictionary_high_down=13)
