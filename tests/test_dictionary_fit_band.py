"""--fit-max-hz F (engine/run/separate_dictionary.py fit_below): the mix's activations fitted
on the STFT bins below F alone, the masks made from every bin of the atoms; the sources
still sum to the mix; a --rest source (atoms learned on every bin) fits every bin."""
import numpy as np
import pytest
from test_dictionary_pitch import SR, _line

from randstyle import engine, kernels
from randstyle.engine.config import SeparateConfig
from randstyle.engine.demo import drum_loop
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.dictionary import fit_activations
from randstyle.engine.run import separate_dictionary as sd

OPTS = dict(components=4, dictionary_iter=20, fit_iter=20, dictionary_transpose=1,
            mask_n_fft=1024, mask_hop_length=256, sr=SR, backend="cpu", seed=0)


def test_activations_read_the_low_bins_only():
    b, rng = kernels.get_backend("cpu"), np.random.default_rng(1)
    V = rng.random((12, 513)).astype(np.float32) + 0.01
    D = rng.random((6, 513)).astype(np.float32)
    cfg = SeparateConfig(**OPTS, fit_max_hz=2000.0)
    top = int(np.ceil(2000.0 * 1024 / SR)) + 1  # 129 of 513 bins
    A, D_out = sd.fit_below(b, V, D, cfg, None, 0.0)
    assert D_out is D and A.shape == (12, 6)
    want, _ = fit_activations(b, np.ascontiguousarray(V[:, :top]),
                              np.ascontiguousarray(D[:, :top]), cfg.fit_iter, cfg.beta)
    np.testing.assert_allclose(A, want, rtol=1e-6)
    louder = V.copy()
    louder[:, top:] *= 5  # what lies above the band does not move the activations
    np.testing.assert_array_equal(sd.fit_below(b, louder, D, cfg, None, 0.0)[0], A)
    every = sd.fit_below(b, louder, D, SeparateConfig(**OPTS), None, 0.0)[0]
    assert np.abs(every - A).max() > 1e-3 * np.abs(A).max()


@pytest.mark.parametrize("rest", [False, True])
def test_sources_sum_to_the_mix(rest):
    mix = _line([60, 64, 67, 72], odd=False) + drum_loop(2, SR, seed=1)
    examples = {"pluck": _line([62, 65, 69], odd=False)}
    if not rest:
        examples["drums"] = drum_loop(2, SR, seed=5, bpm=100)
    extra = dict(rest="drums", rest_components=4) if rest else {}
    every = engine.separate(mix, examples, **OPTS, **extra)[0]
    band = engine.separate(mix, examples, **OPTS, **extra, fit_max_hz=2000.0)[0]
    np.testing.assert_allclose(sum(band.values()), mix, atol=1e-4)
    change = np.abs(band["pluck"] - every["pluck"]).max()
    assert change == 0.0 if rest else change > 1e-3


def test_bad_band_refused():
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ParameterError, match="fit.max.hz"):
            SeparateConfig(fit_max_hz=bad)
