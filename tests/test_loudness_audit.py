"""engine.loudness, from the test audit of issue 21 (bench/mutant_list.py, docs/results/testing.md):
the ceiling holds for each of several signals sharing one gain, the report's output peak is
what is written, a silent reference keeps the level, several styles' loudness is their
weighted power average. Each test fails with the breakage it is named after in
docs/results/testing.md."""
import numpy as np
import pyloudnorm
import pytest
from helpers import sine

from engine import loudness
from engine.demo import drum_loop, plucked_melody

SR = 8000
CEILING = 10 ** (loudness.CEILING_DBTP / 20)


@pytest.mark.parametrize("mode", ["peak", "match", -14.0])
def test_the_ceiling_holds_for_each_source_not_only_their_sum(mode):
    """Two sources that nearly cancel (a bass and its inverted copy, plus a quiet melody):
    their sum is quiet and low-peaked, each source is loud. One gain for both, and neither may
    pass the ceiling (the breakage: the true peak taken on the sum)."""
    bass = sine(2.0, SR, 110.0, 0.95)
    melody = 0.02 * plucked_melody(2.0, SR)
    sources = [bass + melody, -bass]
    mix_lufs = loudness.integrated(sources[0] + sources[1], SR)
    out, rep = loudness.level(sources, SR, mode, mix_lufs)
    peak = max(loudness.true_peak(s) for s in out)
    assert peak == pytest.approx(CEILING, rel=1e-6)  # at the ceiling, never above
    # the sum is quiet, each source is loud: a target for the sum runs into the ceiling
    assert mode == "peak" or rep["limited_by_ceiling"]
    for y, x in zip(out, sources):  # one gain, the reported one, for both
        np.testing.assert_allclose(y, rep["gain"] * x, rtol=0, atol=1e-6)


def test_the_reported_output_peak_is_the_written_one():
    x = drum_loop(2.0, SR)
    for mode in ("peak", -30.0, -9.0):
        (y,), rep = loudness.level([x], SR, mode)
        assert rep["output_true_peak_dbtp"] == pytest.approx(
            20 * np.log10(loudness.true_peak(y)), abs=1e-3)
        assert rep["output_true_peak_dbtp"] <= loudness.CEILING_DBTP + 1e-4


def test_match_with_a_silent_reference_keeps_the_level():
    """A reference all below the -70 LUFS gate has no loudness (None): the result keeps its
    level and the report says why (the breakage: a TypeError on the missing target)."""
    x = 0.1 * plucked_melody(1.0, SR)
    assert loudness.reference_loudness([np.zeros(SR)], SR) is None
    (y,), rep = loudness.level([x], SR, "match", None)
    assert rep["gain"] == 1.0 and "reference is silent" in rep["note"]
    np.testing.assert_array_equal(y, x.astype(np.float32))


def test_several_styles_stand_for_their_weighted_power_average():
    """A texture of a loud style (weight 1) and a quiet one (weight 3) is written at the
    weighted average of their loudness as power, not at the first one's (the breakage)."""
    loud, quiet = drum_loop(2.0, SR), 0.05 * plucked_melody(2.0, SR)
    meter = pyloudnorm.Meter(SR)
    a, b = (meter.integrated_loudness(s.astype(np.float64)) for s in (loud, quiet))
    assert a - b > 10  # far apart, so the first one's level is far off
    want = 10 * np.log10((10 ** (a / 10) + 3 * 10 ** (b / 10)) / 4)
    got = loudness.reference_loudness([(loud, 1.0), (quiet, 3.0)], SR)
    assert got == pytest.approx(want, abs=0.05) and got < a - 3
