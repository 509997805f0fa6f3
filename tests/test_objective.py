"""The transfer objective's terms: a branch weighted 0 is dropped, the L1 log-magnitude penalty."""
import numpy as np
from helpers import SMALL

from randstyle import engine
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.signal import stft_magnitude

SR = SMALL["sr"]
FAST = dict(SMALL, rhythm_filters=64, backend="cpu", progress=False)


def test_weight_zero_drops_the_branch():
    net = engine.Network(engine.NetworkConfig(**SMALL))
    obj = engine.Objective(net, style=drum_loop(2.0, SR), rhythm_weight=0.0)
    assert obj.style_branches == ["harmonic"] and "rhythm" not in obj.style_grams
    terms, _ = obj.terms_and_grad(np.random.default_rng(0).standard_normal(8000) * 0.1)
    assert "style_rhythm" not in terms and terms["style"] == terms["style_harmonic"]


def test_l1_penalty_lowers_log_magnitude():
    content, style = plucked_melody(1.5, SR), drum_loop(2.0, SR)
    runs = {}
    for w in (0.0, 10.0):
        signal, report = engine.transfer(content, style, engine.TransferConfig(
            **FAST, maxiter=20, l1_weight=w))
        runs[w] = np.log1p(stft_magnitude(signal, SMALL["n_fft"], SMALL["hop_length"])).sum()
        assert report["config"]["l1_weight"] == w
    assert "l1" in report["final_loss"]
    assert runs[10.0] < runs[0.0]
