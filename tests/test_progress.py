"""Progress that tells the truth (issue 32): the bar's end from the stop rule, set-up
phases, and the run's cost up front."""
import numpy as np
from helpers import TINY

from randstyle.engine.run.modes import texture, transfer
from randstyle.engine.run.optimize import plateaued
from randstyle.engine.run.progress import expected_stop, predict_stop


def _history(loss) -> list:
    return [{"total": float(v)} for v in loss]


def test_predicted_stop_is_near_the_plateau_rule():
    # A loss that slows as a power law: the plateau rule stops it at `actual`; from the
    # first half of the way the prediction is within 25 % of it, and far below --maxiter.
    t = np.arange(1, 301)
    loss = 1.0 + 50.0 * t ** -1.5
    actual = next(k for k in range(1, 301) if plateaued(_history(loss[:k]), 20, 0.02))
    for seen in (actual // 2, actual - 5):
        guess = predict_stop(_history(loss[:seen]), 300, 20, 0.02)
        assert abs(guess - actual) <= 0.25 * actual, (seen, guess, actual)
    assert actual < 200


def test_no_stop_rule_means_maxiter_and_a_flat_loss_stops_within_patience():
    assert predict_stop(_history(np.linspace(10, 1, 30)), 300, 0, 0.02) == 300
    flat = _history([5.0] * 10 + [4.0] + [4.0] * 10)
    assert predict_stop(flat, 300, 20, 0.02) == 21 + 20


def test_drops_that_do_not_shrink_stop_within_patience_when_already_small():
    """A loss falling by the same small fraction every iteration: the plateau rule fires
    within patience, and the bar must not jump to --maxiter there (it did, on the last
    iteration of a run that stopped at 5); by a large fraction it never fires."""
    small = _history(10.0 * 0.99 ** np.arange(12))
    assert predict_stop(small, 200, 3, 0.5) == 12 + 3
    assert plateaued(small, 3, 0.5)
    large = _history(10.0 * 0.5 ** np.arange(12))
    assert predict_stop(large, 200, 3, 0.5) == 200
    assert not plateaued(large, 3, 0.5)


def test_the_measure_rule_ends_the_bar_first():
    class Measured:  # a texture's monitor: its distance flat for three measurements
        patience, min_improvement = 3, 0.15
        history = [{"style_distance": d} for d in (1.0, 0.5, 0.49, 0.49, 0.49)]
        mark = {"index": 2}  # the last measurement that improved by 15 %
    loss = _history(1.0 + 10.0 / np.arange(1, 51))
    assert expected_stop(loss, 300, 20, 0.02) > 50
    assert expected_stop(loss, 300, 20, 0.02, Measured(), 10) <= 60


def test_the_run_prints_its_phases_its_cost_and_a_bar_that_ends_where_it_stopped(capfd):
    sr = TINY["sr"]
    t = np.arange(sr) / sr
    content = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    style = np.random.default_rng(0).standard_normal(sr).astype(np.float32) * 0.1
    _, report = transfer(content, style, maxiter=200, patience=3, min_improvement=0.5,
                         progress=True, backend="numpy", **TINY)
    err = capfd.readouterr().err
    nit = report["nit"]
    assert nit < 20
    assert "balancing the terms" in err
    assert "one evaluation of 1.0 s takes" in err and "peak memory about" in err
    assert f"{nit}/{nit}" in err and "/200 " not in err  # the bar never showed --maxiter
    texture(style, seconds=0.5, maxiter=2, progress=True, backend="numpy",
            resume={"x": np.zeros(sr // 2), "history": [{"total": 1.0}]}, **TINY)
    assert "resuming at iteration 1" in capfd.readouterr().err
