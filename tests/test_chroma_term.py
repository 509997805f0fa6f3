"""The chroma content term (issue 29, --chroma-weight): the content's pitch classes frame by
frame. The whole objective's gradient by finite differences on every backend, zero at the
content and nearly so at any level of it, large for the content in another key, balanced."""
import numpy as np
import pytest
from conftest import CUDA_TESTABLE
from helpers import SMALL, TINY, check_objective

import engine
from engine.errors import ParameterError

BACKENDS = ["numpy", "cpu"] + (["cuda"] if CUDA_TESTABLE else [])
rng = np.random.default_rng(29)


@pytest.mark.parametrize("backend", BACKENDS)
def test_objective_gradient_with_the_chroma_term(backend):
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"), backend=backend)
    content = rng.standard_normal(120) * 0.3
    for style in (None, rng.standard_normal(200) * 0.3):
        obj = engine.Objective(net, content=content, style=style, chroma_weight=1.5)
        x = rng.standard_normal(120) * 0.3
        assert "chroma" in obj.balance(x * 0.1)
        assert check_objective(obj, x)["chroma"] > 0


def tones(midi: list, sr: int, seconds: float = 0.25) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return np.concatenate([sum(np.sin(2 * np.pi * k * 440 * 2 ** ((m - 69) / 12) * t) / k
                               for k in range(1, 5)) * np.hanning(len(t))
                           for m in midi]).astype(np.float32) * 0.2


def test_zero_at_the_content_at_any_level_and_large_a_tritone_away():
    sr = SMALL["sr"]
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"), backend="cpu")
    melody = [60, 64, 67, 72, 67, 64, 62, 65]
    content = tones(melody, sr)
    obj = engine.Objective(net, content=content, chroma_weight=1.0, content_weight=0.0)
    at = {name: obj.terms_and_grad(x)[0]["chroma"] for name, x in (
        ("content", content), ("louder", 4 * content),
        ("tritone", tones([m + 6 for m in melody], sr)))}
    assert at["content"] < 1e-20 and at["louder"] < 0.02 * at["tritone"], at


def test_weighs_as_asked_and_refuses_a_negative_weight():
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"))
    content, x0 = rng.standard_normal(120) * 0.3, rng.standard_normal(120) * 0.03
    weights = []
    for w in (1.0, 3.0):
        obj = engine.Objective(net, content=content, chroma_weight=w)
        obj.balance(x0)
        weights.append(obj.style_weights["chroma"])
    assert weights[1] == pytest.approx(3.0 * weights[0])
    with pytest.raises(ParameterError, match="chroma"):
        engine.TransferConfig(chroma_weight=-1.0)
