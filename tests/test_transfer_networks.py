"""transfer --networks N (engine/run/modes.transfer_objective, engine/model/ensemble.py): the
content term on its own network beside N style-only members, each member's style branches
balanced against the content term; its gradient, its wiring, its weights, its refusals, and
--networks 1 as today's transfer."""

import numpy as np
import pytest
import soundfile as sf
from conftest import CUDA_TESTABLE
from helpers import SMALL, TINY, numeric_grad, rel_error, sine

from randstyle import engine
from randstyle.engine.cli import main
from randstyle.engine.config import NetworkConfig, TransferConfig
from randstyle.engine.demo import drum_loop
from randstyle.engine.model.ensemble import Ensemble, member_configs
from randstyle.engine.model.network import Network
from randstyle.engine.model.objective import Objective
from randstyle.engine.run.modes import transfer_objective
from randstyle.engine.run.optimize import lbfgs
from randstyle.engine.run.start import initial_signal

rng = np.random.default_rng(20)
SR = SMALL["sr"]


def _pair(seconds: float = 1.0) -> tuple:
    return sine(seconds, SR, 330.0).astype(np.float32), drum_loop(2.0, SR)


def _objective(**overrides) -> tuple:
    """A transfer's Ensemble on the SMALL network, and its configuration."""
    content, style = _pair()
    cfg = TransferConfig(backend="numpy", networks=2, **{**SMALL, **overrides})
    obj = transfer_objective(cfg, Network(cfg.network_config(), backend="numpy"),
                             [(style, 1.0)], content)
    return obj, cfg, content


def _tiny_ensemble(backend: str = "numpy") -> tuple:
    """A content-only member and two style-only members on TINY float64 networks."""
    base = NetworkConfig(**{**TINY, "dtype": "float64"})
    r = np.random.default_rng(21)
    content, style = r.standard_normal(240) * 0.3, r.standard_normal(320) * 0.3
    members = [Objective(Network(base, backend=backend), content=content, style_weight=0.0,
                         rhythm_weight=0.0)]
    members += [Objective(Network(c, backend=backend), style=style, rhythm_weight=0.7)
                for c in member_configs(base, 2)]
    return Ensemble(members), members


def test_transfer_ensemble_gradient_matches_finite_differences():
    """Balanced against the content term: dL/dx against float64 central differences."""
    ens, members = _tiny_ensemble()
    factors = ens.balance(rng.standard_normal(240) * 0.1)
    assert set(factors) == {"harmonic_1", "rhythm_1", "harmonic_2", "rhythm_2"}
    x = rng.standard_normal(240) * 0.3
    value, grad = ens.value_and_grad(x)
    assert rel_error(grad, numeric_grad(lambda v: ens.value_and_grad(v)[0], x)) < 1e-6
    assert value == pytest.approx(sum(m.value_and_grad(x)[0] for m in members), rel=1e-12)


@pytest.mark.skipif(not CUDA_TESTABLE, reason="needs the cuda backend or its host emulation")
def test_transfer_ensemble_on_cuda_matches_numpy():
    """The same ensemble on the cuda backend (Ensemble._on_device): balance and gradient."""
    x0, x = rng.standard_normal(240) * 0.1, rng.standard_normal(240) * 0.3
    (ref, _), (got, _) = _tiny_ensemble("numpy"), _tiny_ensemble("cuda")
    assert got.balance(x0) == pytest.approx(ref.balance(x0), rel=1e-9)
    (v_ref, g_ref), (v, g) = ref.value_and_grad(x), got.value_and_grad(x)
    assert v == pytest.approx(v_ref, rel=1e-10) and rel_error(g, g_ref) < 1e-10


def test_networks_build_n_plus_one_objectives_and_run():
    content, style = _pair()
    x, report = engine.transfer(content, style, networks=3, maxiter=3, progress=False,
                                backend="numpy", style_kind="none", **SMALL)
    assert x.shape == content.shape and np.all(np.isfinite(x))
    nets = report["networks"]
    assert len(nets) == 4 and nets[0]["weights"] == {"content": 1.0}
    assert nets[0]["n_filters"] == SMALL["n_filters"]
    assert [n["n_fft"] for n in nets[1:]] == [128, 256, 512]  # halved, kept, doubled
    assert len({n["seed"] for n in nets}) == 4
    assert all(n["n_filters"] == SMALL["n_filters"] // 3 for n in nets[1:])
    assert all(set(n["weights"]) == {"harmonic", "rhythm"} for n in nets[1:])
    assert set(report["balance_factors"]) == {f"{b}_{i}" for b in ("harmonic", "rhythm")
                                              for i in (1, 2, 3)}


def test_the_content_term_pulls_toward_the_content():
    """From noise, 15 iterations halve the content network's content loss (measured: 3162 ->
    1616); with the content weight near 0, the style members alone leave it near its start
    (2541), and so would an ensemble that lost its content member."""
    content, style = _pair()
    cfg = TransferConfig(backend="cpu", init="noise", **SMALL)
    probe = Objective(Network(cfg.network_config(), backend="cpu"), content=content,
                      style_weight=0.0, rhythm_weight=0.0)
    start = probe.value_and_grad(initial_signal(len(content), cfg))[0]
    ends = [probe.value_and_grad(engine.transfer(
        content, style, networks=2, maxiter=15, patience=0, init="noise", progress=False,
        backend="cpu", content_weight=weight, style_kind="none", **SMALL)[0])[0]
        for weight in (1.0, 1e-6)]
    assert ends[0] < 0.6 * start and ends[0] < 0.7 * ends[1], (start, ends)


def test_style_scale_sets_the_members_pull():
    """Documented (ensemble.py): each style branch of each member pulls style_weight /
    content_weight times as hard as the content term at the balance point."""
    obj, cfg, content = _objective()
    x0 = initial_signal(len(content), cfg)
    obj.balance(x0)
    ref = obj.members[0].unit_norms(x0)["content"]
    for m in obj.members[1:]:
        norms = m.unit_norms(x0)
        for b, w in m.style_weights.items():
            assert w * norms[f"style_{b}"] == pytest.approx(ref, rel=1e-6)
    weights = {k: v for k, v in obj.style_weights.items()}
    for overrides, ratio in (({"style_weight": 0.5, "rhythm_weight": 0.5}, 0.5),
                             ({"member_weight": 0.25}, 0.25),
                             ({"content_weight": 4.0}, 1.0)):
        other, _, _ = _objective(**overrides)
        other.balance(x0)
        assert other.style_weights == pytest.approx({k: ratio * v for k, v in weights.items()})
    # A content weight of 4 pulls 4 times as hard against the same style pull.
    assert other.members[0].content_weight == 4.0


def test_base_style_keeps_todays_network_whole():
    """--base-style: the content network balanced as today's one network (its own factors),
    the members balanced against the same content term beside it."""
    obj, cfg, content = _objective(base_style=True, member_weight=0.5)
    x0 = initial_signal(len(content), cfg)
    factors = obj.balance(x0)
    today = Objective(Network(cfg.network_config(), backend="numpy"), content=content,
                      style=_pair()[1])
    assert {b: factors[f"{b}_0"] for b in ("harmonic", "rhythm")} == \
        pytest.approx(today.balance(x0), rel=1e-9)
    ref = obj.members[0].unit_norms(x0)["content"]
    member = obj.members[1]
    norms = member.unit_norms(x0)
    assert factors["harmonic_1"] * norms["style_harmonic"] == pytest.approx(ref, rel=1e-6)
    assert obj.style_weights["rhythm_1"] == pytest.approx(0.5 * factors["rhythm_1"])


def test_one_network_is_todays_transfer():
    """--networks 1: exactly one Objective for content and style, balanced and optimized as
    before the option existed."""
    content, style = _pair()
    x, report = engine.transfer(content, style, networks=1, maxiter=3, init="noise",
                                progress=False, backend="numpy", style_kind="none", **SMALL)
    assert "networks" not in report and set(report["style_weights"]) == {"harmonic",
                                                                           "rhythm"}
    cfg = TransferConfig(backend="numpy", **SMALL)
    obj = Objective(Network(cfg.network_config(), backend="numpy"), content=content,
                    style=style)
    x0 = initial_signal(len(content), cfg)
    obj.balance(x0)
    res = lbfgs(obj, x0, maxiter=3, maxcor=cfg.maxcor, ftol=cfg.ftol, progress=False)
    assert np.array_equal(x, res.x.astype(np.float32))


def test_members_too_long_for_the_signal_are_one_line_errors():
    content, style = _pair(0.3)
    with pytest.raises(engine.ParameterError, match="n_fft 8192"):
        engine.transfer(content, style, networks=2, n_ffts="256,8192", maxiter=1,
                        progress=False, backend="numpy", **SMALL)


@pytest.mark.parametrize("args,flag", [(["--networks", "2", "--content-weight", "0"],
                                        "content-weight"),
                                       (["--networks", "2", "--style-weight", "0",
                                         "--rhythm-weight", "0"], "networks"),
                                       (["--n-ffts", "256,512"], "n-ffts"),
                                       (["--networks", "2", "--n-ffts", "256"], "n-ffts"),
                                       (["--networks", "2", "--n-ffts", "256,511"], "n-ffts"),
                                       (["--networks", "0"], "networks"),
                                       (["--member-weight", "0.5"], "member-weight"),
                                       (["--base-style"], "base-style"),
                                       (["--networks", "2", "--member-weight", "-1"],
                                        "member")])
def test_bad_network_options_are_one_line_errors(tmp_path, capsys, args, flag):
    content, style = tmp_path / "c.wav", tmp_path / "s.wav"
    sf.write(str(content), sine(1.0, 8000), 8000)
    sf.write(str(style), drum_loop(1.0, 8000), 8000)
    out = tmp_path / "t.wav"
    assert main(["transfer", str(content), "--style", str(style), *args, "-o", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err, err
    assert not out.exists()
