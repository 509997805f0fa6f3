"""Objective.balance: each style term's gradient norm set against the content's."""
import numpy as np
from helpers import SMALL

from randstyle import engine
from randstyle.engine.demo import drum_loop, plucked_melody

SR = SMALL["sr"]


def term_grad_norms(obj, x):
    """The norm of each weighted loss term's gradient with respect to x."""
    _, term_grads, caches = obj._forward(x)
    return {t: np.linalg.norm(obj._backward(g, caches)) for t, g in term_grads.items()}


def test_balancing_equalizes_gradient_norms():
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    content, style = plucked_melody(1.5, SR), drum_loop(2.0, SR)
    obj = engine.Objective(net, content=content, style=style, style_weight=3.0,
                           rhythm_weight=0.5)
    x0 = np.random.default_rng(0).standard_normal(len(content)) * 0.01
    factors = obj.balance(x0)
    assert set(factors) == {"harmonic", "rhythm"} and all(f > 0 for f in factors.values())
    norms = term_grad_norms(obj, x0)
    # After balancing, each style term's gradient norm is its user weight times the content's.
    assert abs(norms["style_harmonic"] / norms["content"] - 3.0) < 1e-9
    assert abs(norms["style_rhythm"] / norms["content"] - 0.5) < 1e-9


def test_style_only_balances_against_harmonic():
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    obj = engine.Objective(net, style=drum_loop(2.0, SR))
    x0 = np.random.default_rng(1).standard_normal(8000) * 0.01
    factors = obj.balance(x0)
    assert factors["harmonic"] == 1.0 and factors["rhythm"] != 1.0
    norms = term_grad_norms(obj, x0)
    n_h, n_r = norms["style_harmonic"], norms["style_rhythm"]
    assert abs(n_r / n_h - 1.0) < 1e-9
