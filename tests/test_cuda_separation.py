"""Separation on the cuda backend: parity with numpy_ref and host crossings."""
import numpy as np
import pytest
from conftest import emulated
from helpers import _counting

from randstyle.kernels import cuda, numpy_ref


def _tiny_separation(statistics: str, smooth=(3, 5)):
    from randstyle import engine
    from randstyle.engine.model.separation_stats import StatsObjective, example_targets
    from randstyle.engine.run.masks import MaskSeparation
    cfg = engine.NetworkConfig(sr=8000, n_fft=32, hop_length=8, n_filters=8, kernel_size=3,
                               n_mels=4, rhythm_filters=6, rhythm_kernel_size=5)
    net = engine.Network(cfg, backend="cuda")
    rng = np.random.default_rng(5)
    mix = rng.standard_normal(300) * 0.3
    examples = {name: rng.standard_normal(337) * s for name, s in (("a", 0.1), ("b", 0.5))}
    if statistics == "gram":
        objectives = {n: engine.Objective(net, style=x) for n, x in examples.items()}
    else:
        objectives = {n: StatsObjective(net, example_targets(
            net, [(x, 1.0)], ("harmonic", "rhythm"), statistics), statistics,
            {"harmonic": 1.0, "rhythm": 0.5}) for n, x in examples.items()}
    return mix, MaskSeparation(mix, objectives, n_fft=16, hop_length=8, smooth=smooth)


@emulated
@pytest.mark.parametrize("statistics", ["gram", "centered-shape"])
def test_separation_crosses_to_the_host_only_with_the_optimizers_vector(monkeypatch,
                                                                        statistics):
    """Per evaluation: the logits up, the loss terms (together) and their gradient down;
    the sources, the smoothing, each objective's signal and gradient stay on the device."""
    mix, sep = _tiny_separation(statistics)
    u = np.random.default_rng(1).standard_normal(sep.size)
    sep.terms_and_grad(u)  # a first evaluation
    up, down = _counting(monkeypatch)
    arrived = []
    real = cuda.to_floats
    monkeypatch.setattr(cuda, "to_floats", lambda t: (arrived.append(dict(t)), real(t))[1])
    terms, grad = sep.terms_and_grad(u)
    assert up == [sep.shape]
    assert down == [(len(terms),), sep.shape]
    assert len(arrived) == 1 and not [k for k, v in arrived[0].items() if type(v) is float]
    assert grad.dtype == np.float64 and grad.shape == (sep.size,)


@emulated
def test_separation_on_cuda_matches_numpy_ref():
    """The same separation (smoothed masks, centered-shape statistics) on numpy and cuda:
    loss terms and gradient agree (float32 network on both)."""
    mix, sep = _tiny_separation("centered-shape")
    u = np.random.default_rng(2).standard_normal(sep.size)
    terms, grad = sep.terms_and_grad(u)
    for obj in sep.objectives.values():  # the same objectives on the reference backend
        from randstyle import engine
        ref_net = engine.Network(obj.network.config, backend="numpy")
        obj.network = ref_net
        for targets in obj.targets.values():
            for t in targets:
                t.gram, t.factor = np.asarray(t.gram), None if t.factor is None else \
                    np.asarray(t.factor)
    sep.b = numpy_ref
    ref_terms, ref_grad = sep.terms_and_grad(u)
    assert all(abs(terms[k] - ref_terms[k]) < 1e-4 * abs(ref_terms["total"]) for k in terms)
    from helpers import rel_error
    assert rel_error(grad, ref_grad) < 1e-4
