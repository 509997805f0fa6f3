"""--dictionary-draws N (engine/run/separate_dictionary.py separate_at, one_draw): every
source's atoms drawn N times from the seed's generator, each draw fitted to the mix, the
sources of the draws averaged; they still sum to the mix, with and without a --rest source;
bad values refused."""
import numpy as np
import pytest
from test_dictionary_pitch import SR, _line

from randstyle import engine, kernels
from randstyle.engine.config import SeparateConfig
from randstyle.engine.demo import drum_loop
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run import separate_dictionary as sd

OPTS = dict(components=4, dictionary_iter=20, fit_iter=20, dictionary_transpose=1,
            mask_n_fft=1024, mask_hop_length=256, sr=SR, backend="cpu", seed=3)


def _inputs(rest: bool) -> tuple:
    mix = _line([60, 64, 67, 72], odd=False) + drum_loop(2, SR, seed=1)
    examples = {"pluck": _line([62, 65, 69], odd=False)}
    if not rest:
        examples["drums"] = drum_loop(2, SR, seed=5, bpm=100)
    return mix, examples, dict(rest="drums", rest_components=4) if rest else {}


@pytest.mark.parametrize("rest", [False, True])
def test_draws_average_the_draws_in_turn(rest):
    """Three draws are the mean of the three draws the seed's generator makes one after the
    other (the first of them the one-draw separation), and sum to the mix."""
    mix, examples, extra = _inputs(rest)
    got = engine.separate(mix, examples, **OPTS, **extra, dictionary_draws=3)[0]
    one = engine.separate(mix, examples, **OPTS, **extra)[0]
    np.testing.assert_allclose(sum(got.values()), mix, atol=1e-4)
    cfg = SeparateConfig(**OPTS, **extra)
    b, rng = kernels.get_backend("cpu"), np.random.default_rng(cfg.seed)
    window = b.asarray(hann_window(cfg.mask_n_fft).astype(np.float32))
    specs = [sd.example_spectrum(b, k, e, cfg, window) for k, e in examples.items()]
    X, V = sd.magnitude(b, mix, window, cfg.mask_hop_length)
    draws = [sd.one_draw(b, specs, X, V, cfg, window, rng, len(mix)) for _ in range(3)]
    for i, name in enumerate(got):
        np.testing.assert_array_equal(draws[0][i], one[name])
        np.testing.assert_allclose(got[name], sum(d[i] for d in draws) / 3, atol=1e-6)
        # the draws differ, so the average is none of them
        assert np.abs(draws[1][i] - draws[0][i]).max() > 1e-3
        assert np.abs(got[name] - one[name]).max() > 1e-4


def test_bad_draws_refused():
    for bad in (0, -1, 9):
        with pytest.raises(ParameterError, match="--dictionary-draws"):
            SeparateConfig(dictionary_draws=bad)
