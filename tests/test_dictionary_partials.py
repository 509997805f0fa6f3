"""Per-source harmonic templates (engine/model/dictionary.py partial_template, template_atoms;
engine/run/separate_dictionary.py assign_templates; --dictionary-partials): the example's
partial amplitudes read back from a generated tone, the atoms the same on every backend, and
which sources get them."""
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import rel_error
from test_dictionary_pitch import SR, _line

from randstyle import kernels
from randstyle.engine.config import SeparateConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model import dictionary
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run.separate_dictionary import assign_templates, magnitude
from randstyle.kernels import numpy_ref


def _template(x: np.ndarray) -> np.ndarray:
    w = hann_window(4096).astype(np.float32)
    return dictionary.partial_template(magnitude(numpy_ref, x, w, 1024)[1], SR, 4096)


def test_template_reads_the_partials_of_a_tone():
    """A pluck's harmonics fall as 1/h (test_dictionary_pitch's tones): the template's shares
    follow 1/h over the first five partials; a reed's (odd harmonics only) has its even
    partials near zero."""
    pluck = _template(_line([60, 64, 67, 72], odd=False))
    want = 1 / np.arange(1, 6)
    assert rel_error(pluck[:5] / pluck[0], want) < 0.1, pluck[:6]
    reed = _template(_line([57, 60, 64], odd=True))
    assert reed[1] < 0.05 * reed[0] and reed[3] < 0.05 * reed[2], reed[:6]


@pytest.mark.parametrize("name", ["numpy", "cpu", "cuda"])
def test_template_atoms_same_on_every_backend(name):
    """numpy_ref's atoms on every backend (cuda through its host emulation where no GPU is
    present), float32, unit sum, each partial weighted as the template: A4 at 2048 points."""
    b = kernels.get_backend(name)
    template = np.array([0.5, 0.3, 0.2])
    want = dictionary.template_atoms(numpy_ref, template, SR, 2048, 1025, [57, 69])
    got = b.to_numpy(dictionary.template_atoms(b, template, SR, 2048, 1025, [57, 69]))
    assert got.dtype == np.float32 and got.shape == (2, 1025) and rel_error(got, want) < 1e-6
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-5)
    f0 = 440 * 2048 / SR
    peaks = [got[1, int(round(h * f0))] for h in (1, 2, 3)]
    np.testing.assert_allclose(np.array(peaks) / peaks[0], [1, 0.6, 0.4], atol=0.05)
    assert got[1, int(round(4 * f0))] < 1e-6  # no fourth partial in the template


def _spec(shares) -> SimpleNamespace:
    t = np.zeros(5)
    t[:len(shares)] = shares
    return SimpleNamespace(template=t / t.sum(), harmonic=None)


def test_templates_go_to_rich_sources_unlike_the_others():
    """A near-sinusoid (one partial in effect) gets none; a rich template unlike every other,
    beside a near-sinusoid, gets its atoms (one a note); two alike rich templates get none,
    and a rich one beside drums alone none."""
    b = numpy_ref
    cfg = SeparateConfig(dictionary_harmonic=12, dictionary_partials=True, mask_n_fft=2048,
                         sr=SR)
    flute, guitar = _spec([0.96, 0.02, 0.02]), _spec([0.45, 0.25, 0.15, 0.1, 0.05])
    assign_templates(b, [flute, guitar], cfg, 1025)
    assert flute.harmonic == [] and len(guitar.harmonic) == 1
    assert guitar.harmonic[0].shape == (12, 1025)
    piano, organ = _spec([0.3, 0.3, 0.15, 0.15, 0.1]), _spec([0.2, 0.2, 0.2, 0.2, 0.2])
    assign_templates(b, [piano, organ], cfg, 1025)
    assert piano.harmonic == [] and organ.harmonic == []
    drums_and_organ = [SimpleNamespace(template=None, harmonic=[]), organ]
    assign_templates(b, drums_and_organ, cfg, 1025)
    assert organ.harmonic == []  # no near-sinusoid beside it
    assign_templates(b, [organ, flute], cfg, 1025)
    assert len(organ.harmonic) == 1 and flute.harmonic == []


def test_partials_without_harmonic_atoms_refused():
    with pytest.raises(ParameterError, match="dictionary-harmonic"):
        SeparateConfig(dictionary_partials=True)
