"""--dictionary-refine (self-training: each source's atoms learned again from its example
beside its first-pass estimate) and --continuity (temporal continuity on pitched sources'
activations) in engine/run/separate_dictionary.py: they change the sources, which still sum
to the mix, with and without a --rest source; bad values refused."""
import numpy as np
import pytest
from test_dictionary_pitch import SR, _line

from randstyle import engine
from randstyle.engine.config import SeparateConfig
from randstyle.engine.demo import drum_loop
from randstyle.engine.errors import ParameterError

OPTS = dict(components=4, dictionary_iter=20, fit_iter=20, dictionary_transpose=1,
            mask_n_fft=1024, mask_hop_length=256, sr=SR, backend="cpu", seed=0)


@pytest.mark.parametrize("rest", [False, True])
def test_refine_and_continuity_change_the_sources(rest):
    pluck, drums = _line([60, 64, 67, 72], odd=False), drum_loop(2, SR, seed=1)
    mix = pluck + drums
    examples = {"pluck": _line([62, 65, 69], odd=False)}
    if not rest:
        examples["drums"] = drum_loop(2, SR, seed=5, bpm=100)
    extra = dict(rest="drums", rest_components=4) if rest else {}
    base = engine.separate(mix, examples, **OPTS, **extra)[0]
    for option in (dict(dictionary_refine=1), dict(continuity=1.0)):
        got = engine.separate(mix, examples, **OPTS, **extra, **option)[0]
        assert set(got) == {"pluck", "drums"}
        np.testing.assert_allclose(sum(got.values()), mix, atol=1e-4)
        assert np.abs(got["pluck"] - base["pluck"]).max() > 1e-3, option


def test_bad_values_refused():
    for bad in (dict(dictionary_refine=4), dict(dictionary_refine=-1),
                dict(continuity=-0.5), dict(continuity=float("nan"))):
        with pytest.raises(ParameterError):
            SeparateConfig(**bad)
