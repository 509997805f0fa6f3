"""Harmonic (source-filter) atoms for pitched examples (engine/model/dictionary.py
harmonic_atoms; --dictionary-harmonic): the same atoms on every backend, a comb at the note's
harmonics, and a mix whose stem plays notes its example never does."""
import numpy as np
import pytest
from helpers import rel_error
from test_dictionary_pitch import SR, _line

from randstyle import engine, kernels
from randstyle.engine.config import SeparateConfig
from randstyle.engine.demo import drum_loop
from randstyle.engine.errors import ParameterError
from randstyle.engine.model import dictionary
from randstyle.kernels import numpy_ref


def _example_spectrum() -> np.ndarray:
    """A positive (T, 1025) stand-in for an example's magnitudes: a falling tilt, noise."""
    rng = np.random.default_rng(3)
    tilt = 1.0 / (1.0 + np.arange(1025) / 50.0)
    return (tilt[None, :] * (0.5 + rng.random((12, 1025)))).astype(np.float32)


@pytest.mark.parametrize("name", ["numpy", "cpu", "cuda"])
def test_harmonic_atoms_same_on_every_backend(name):
    """numpy_ref's atoms on every backend (cuda through its host emulation where no GPU is
    present), float32, unit sum; A4 at 16000 Hz / 2048 points (28.16 bins) peaks within half
    a bin of each of its harmonics."""
    b = kernels.get_backend(name)
    V = _example_spectrum()
    want = dictionary.harmonic_atoms(numpy_ref, V, SR, 2048, [57, 69])
    got = b.to_numpy(dictionary.harmonic_atoms(b, b.asarray(V), SR, 2048, [57, 69]))
    assert got.dtype == np.float32 and got.shape == (2, 1025) and rel_error(got, want) < 1e-5
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-5)
    a4 = got[1]
    peaks = [i for i in range(1, 1024) if a4[i] > a4[i - 1] and a4[i] >= a4[i + 1]
             and a4[i] > 1e-4]
    f0 = 440 * 2048 / SR
    assert len(peaks) == int(1024 / f0)
    assert np.max(np.abs(np.array(peaks) - f0 * np.arange(1, len(peaks) + 1))) <= 0.5
    # the envelope colours the comb: a higher harmonic is weaker, as in the example
    assert a4[peaks[0]] > a4[peaks[10]]


def test_harmonic_atoms_separate_notes_the_example_lacks():
    """The pluck's stem plays C4 D4 (60, 62), ten semitones below its example's lowest note
    (C5 E5 G5), past the transpositions; beside it a drum loop. Without harmonic atoms the
    drums' atoms explain part of the pluck's low notes; with the pluck's harmonic atoms (C2
    up 48 semitones) the pluck keeps them. (With a pitched rival whose example plays those
    notes, the rival's harmonic atoms explain them as well: docs/results/separation.md.)"""
    pluck = _line([60, 62, 60, 62, 72, 76], odd=False)
    drums = drum_loop(3, SR, seed=1)
    examples = {"pluck": _line([72, 76, 79, 72, 76, 79], odd=False),
                "drums": drum_loop(3, SR, seed=5, bpm=100)}
    opts = dict(components=6, dictionary_iter=60, fit_iter=60, dictionary_transpose=0,
                mask_n_fft=2048, mask_hop_length=512, sr=SR, backend="cpu", seed=0)
    got = {}
    for n in (0, 48):
        _, report = engine.separate(pluck + drums, examples, dictionary_harmonic=n,
                                    references={"pluck": pluck, "drums": drums}, **opts)
        got[n] = report["reference"]["pluck"]["sdr"]
    assert got[48] > got[0] + 1.5, got  # measured 20.7 dB without, 23.2 with


def test_harmonic_range_checked():
    assert SeparateConfig(dictionary_harmonic=60).dictionary_harmonic == 60
    with pytest.raises(ParameterError, match="dictionary-harmonic"):
        SeparateConfig(dictionary_harmonic=61)
