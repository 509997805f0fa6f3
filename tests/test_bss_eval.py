"""BSS Eval and SI-SDR (engine/model/bss_eval.py): the figures mir_eval computes, on generated
pairs, and SI-SDR against a hand computation."""
import warnings

import mir_eval
import numpy as np
import pytest

from randstyle.engine.model.bss_eval import bss_eval_sources, si_sdr


def pair(n: int = 6000, seed: int = 0) -> tuple:
    """Two references (noise, smoothed noise) and estimates that leak, filter and add noise:
    every term of the decomposition (filtering, interference, artifacts) is nonzero."""
    rng = np.random.default_rng(seed)
    refs = np.stack([rng.standard_normal(n),
                     np.convolve(rng.standard_normal(n), np.ones(5) / 5, "same")])
    est = refs + 0.3 * refs[::-1] + 0.1 * rng.standard_normal((2, n))
    est[0] = np.convolve(est[0], [1.0, 0.5, 0.2], "same")
    return refs, est


@pytest.mark.parametrize("seed", [0, 1])
def test_bss_eval_equals_mir_eval(seed):
    refs, est = pair(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # mir_eval 0.8 deprecates the module
        want = mir_eval.separation.bss_eval_sources(refs, est, compute_permutation=False)[:3]
    got = bss_eval_sources(refs, est)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-8)
    # three sources, one of them absent from the estimates
    rng = np.random.default_rng(seed + 5)
    refs3 = np.concatenate([refs, rng.standard_normal((1, refs.shape[1]))])
    noise = 0.1 * rng.standard_normal((1, refs.shape[1]))
    est3 = np.concatenate([est, 0.5 * refs3[:1] + refs3[2:] + noise])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        want = mir_eval.separation.bss_eval_sources(refs3, est3, compute_permutation=False)[:3]
    for g, w in zip(bss_eval_sources(refs3, est3), want):
        np.testing.assert_allclose(g, w, atol=1e-8)


def test_si_sdr_by_hand():
    # s = (1, 1, 0, 0), s_hat = (2, 2, 1, -1): alpha = 4 / 2 = 2, target (2, 2, 0, 0), rest
    # (0, 0, 1, -1): 10 log10(8 / 2) = 6.0206 dB, whatever the scale of s_hat
    s, e = np.array([1.0, 1, 0, 0]), np.array([2.0, 2, 1, -1])
    assert si_sdr(s, e) == pytest.approx(10 * np.log10(4), abs=1e-12)
    assert si_sdr(s, -3 * e) == pytest.approx(10 * np.log10(4), abs=1e-12)
    assert si_sdr(s, s) == float("inf")
