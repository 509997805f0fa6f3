"""Several styles with weights: their Grams averaged, in the API and the CLI."""
import json

import numpy as np
import pytest
from helpers import FAST, SMALL, rel_error, sine

from randstyle import engine
from randstyle.engine.cli import main
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.model.style_target import weighted_styles
from randstyle.engine.run.common import style_grams, style_targets

SR = 8000



def test_weighted_styles_average_grams():
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    a, b = drum_loop(2.0, SR), sine(2.0, SR, 300.0)
    mixed = style_grams(net, weighted_styles([(a, 0.7), (b, 0.3)]), ("harmonic", "rhythm"),
                        False)
    ga, gb = net.grams(a, ("harmonic", "rhythm")), net.grams(b, ("harmonic", "rhythm"))
    for br in ("harmonic", "rhythm"):
        assert rel_error(mixed[br][0], 0.7 * ga[br][0] + 0.3 * gb[br][0]) < 1e-12
    # Weights are relative: 7 and 3 mean the same as 0.7 and 0.3.
    assert [w for _, w in weighted_styles([(a, 7), (b, 3)])] == pytest.approx([0.7, 0.3])
    with pytest.raises(engine.ParameterError):
        weighted_styles([(a, 1.0), (b, 0.0)])


def test_several_styles_in_cli(files, tmp_path, capsys):
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files["content"], "--style", f"{files['drums']}:0.7",
                 "--style", f"{files['tone']}:0.3", "-o", out, *FAST]) == 0
    report = json.load(open(tmp_path / "o.json"))
    assert report["inputs"]["styles"] == [{"path": files["drums"], "weight": 0.7},
                                          {"path": files["tone"], "weight": 0.3}]
    assert main(["texture", "--style", f"{files['drums']}:-1", "-o", str(tmp_path / "t.wav"),
                 *FAST]) == 2
    assert "positive" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_weighted_short_styles_keep_float32_and_a_finite_loss(backend):
    """Two weighted styles short enough for the Gram-free factors: the stacked factor stays
    in the network's dtype (a float64 sqrt(weight) once promoted it, and the cpu loss was
    NaN)."""
    cfg = engine.TransferConfig(**SMALL, backend=backend, maxiter=2, progress=False)
    net = engine.Network(cfg.network_config(), backend=backend)
    styles = weighted_styles([(drum_loop(0.3, SR), 0.7), (sine(0.3, SR, 300.0), 0.3)])
    targets = style_targets(net, styles, ("harmonic", "rhythm"), False)
    factors = [t.factor for layers in targets.values() for t in layers]
    assert any(f is not None for f in factors)  # the Gram-free path is what is tested
    assert all(f.dtype == np.float32 for f in factors if f is not None)
    _, report = engine.transfer(plucked_melody(1.0, SR), styles, cfg)
    assert np.isfinite(report["final_loss"]["total"])
