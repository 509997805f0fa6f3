"""The chroma content term (issue 29, --chroma-weight): the content's pitch classes frame by
frame. The whole objective's gradient by finite differences on every backend, zero at the
content and nearly so at any level of it, large for the content in another key, balanced."""
import numpy as np
import pytest
from conftest import CUDA_TESTABLE
from helpers import SMALL, TINY, check_objective

from randstyle import engine
from randstyle.engine.errors import ParameterError

BACKENDS = ["numpy", "cpu"] + (["cuda"] if CUDA_TESTABLE else [])
rng = np.random.default_rng(29)


@pytest.mark.parametrize("octaves, spectrum", [("weighted", "power"), ("flat", "magnitude")])
@pytest.mark.parametrize("backend", BACKENDS)
def test_objective_gradient_with_the_chroma_term(backend, octaves, spectrum):
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"), backend=backend)
    content = rng.standard_normal(120) * 0.3
    for style in (None, rng.standard_normal(200) * 0.3):
        obj = engine.Objective(net, content=content, style=style, chroma_weight=1.5,
                               chroma_octaves=octaves, chroma_spectrum=spectrum)
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


def _bass_over_melody(*octaves: str) -> tuple:
    """For each octave weighting: the chroma term's cost of a bass line moved a tritone over
    its cost of the melody moved as far (a melody over a held C2 bass, float64, 1024-point
    STFT at 8 kHz), and the term's filterbank; with the network and the content."""
    sr = 8000
    net = engine.Network(engine.NetworkConfig(**{**SMALL, "n_fft": 1024, "hop_length": 256},
                                              dtype="float64"), backend="cpu")
    melody = [72, 76, 79, 74]
    content = tones(melody, sr, 0.25) + tones([36] * 4, sr, 0.25)
    moved = {"bass": tones(melody, sr, 0.25) + tones([42] * 4, sr, 0.25),
             "melody": tones([m + 6 for m in melody], sr, 0.25) + tones([36] * 4, sr, 0.25)}
    ratio, filterbanks = {}, {}
    for name in octaves:
        obj = engine.Objective(net, content=content, chroma_weight=1.0, content_weight=0.0,
                               chroma_octaves=name)
        at = {k: obj.terms_and_grad(x)[0]["chroma"] for k, x in moved.items()}
        ratio[name], filterbanks[name] = at["bass"] / at["melody"], obj.chroma[0]
    return ratio, filterbanks, net, content


def test_flat_octaves_are_librosa_s_and_hear_the_bass_the_weighted_ones_play_down(librosa):
    """--chroma-octaves flat: librosa's chroma filterbank without its octave Gaussian (so a
    bass line and a kick's low energy count as they do in chroma_cqt); a moved bass note
    costs more against the moved melody than with chroma_stft's weighting."""
    from randstyle.engine.model.filters import chroma_filterbank
    np.testing.assert_allclose(chroma_filterbank(sr=22050, n_fft=4096, octwidth=None),
                               librosa.filters.chroma(sr=22050, n_fft=4096, octwidth=None),
                               atol=1e-10)
    ratio, filterbanks, net, content = _bass_over_melody("weighted", "flat")
    for octaves, octwidth in (("weighted", 2.0), ("flat", None)):
        assert np.allclose(filterbanks[octaves],
                           chroma_filterbank(sr=8000, n_fft=1024, octwidth=octwidth))
    assert ratio["flat"] > 2 * ratio["weighted"], ratio
    with pytest.raises(ParameterError, match="chroma octaves"):
        engine.Objective(net, content=content, chroma_weight=1.0, chroma_octaves="loud")
    with pytest.raises(ParameterError, match="chroma_octaves must be one of"):
        engine.TransferConfig(chroma_octaves="loud")


def test_low_octaves_are_librosa_s_around_110_hz_and_hear_the_bass_more_than_flat_ones(librosa):
    """--chroma-octaves low: librosa's chroma filterbank with its octave Gaussian moved down
    to 110 Hz (ctroct 2: the kick's octaves, where chroma_cqt lost the notes under drums);
    a moved bass note costs more against the moved melody than over flat octaves."""
    from randstyle.engine.model.filters import chroma_filterbank
    np.testing.assert_allclose(chroma_filterbank(sr=22050, n_fft=4096, ctroct=2.0),
                               librosa.filters.chroma(sr=22050, n_fft=4096, ctroct=2.0),
                               atol=1e-10)
    ratio, filterbanks, _, _ = _bass_over_melody("flat", "low")
    assert ratio["low"] > 2 * ratio["flat"], ratio
    assert np.allclose(filterbanks["low"], chroma_filterbank(sr=8000, n_fft=1024, ctroct=2.0))
    assert engine.TransferConfig(chroma_octaves="low").chroma_octaves == "low"


def test_on_the_magnitude_noise_between_the_notes_costs_more_than_on_the_power():
    """--chroma-spectrum magnitude sums |X| by pitch class, as chroma_cqt does: quiet noise
    under the notes moves it more, against a tritone's move, than it moves the power's."""
    sr = SMALL["sr"]
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"), backend="cpu")
    melody = [60, 64, 67, 72, 67, 64, 62, 65]
    content = tones(melody, sr)
    moved = {"noise": content + 0.01 * np.random.default_rng(1).standard_normal(len(content)),
             "tritone": tones([m + 6 for m in melody], sr)}
    ratio = {}
    for spectrum in ("power", "magnitude"):
        obj = engine.Objective(net, content=content, chroma_weight=1.0, content_weight=0.0,
                               chroma_spectrum=spectrum)
        assert obj.chroma[3] == (2 if spectrum == "power" else 1)
        at = {k: obj.terms_and_grad(x)[0]["chroma"] for k, x in moved.items()}
        ratio[spectrum] = at["noise"] / at["tritone"]
    assert ratio["magnitude"] > 2 * ratio["power"], ratio
    with pytest.raises(ParameterError, match="spectrum power or magnitude"):
        engine.Objective(net, content=content, chroma_weight=1.0, chroma_spectrum="loud")
    with pytest.raises(ParameterError, match="chroma_spectrum must be one of"):
        engine.TransferConfig(chroma_spectrum="loud")


def test_a_transfer_passes_its_chroma_octaves_and_spectrum_to_the_content_network():
    from randstyle.engine.model.filters import chroma_filterbank
    from randstyle.engine.run.modes import transfer_objective
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"))
    content, style = rng.standard_normal(400) * 0.3, rng.standard_normal(400) * 0.3
    flat = chroma_filterbank(sr=TINY["sr"], n_fft=TINY["n_fft"], octwidth=None)
    for networks in (1, 2):
        t = engine.TransferConfig(**TINY, chroma_weight=2.0, chroma_octaves="flat",
                                  chroma_spectrum="magnitude", networks=networks)
        obj = transfer_objective(t, net, [(style, 1.0)], content)
        base = obj if networks == 1 else obj.members[0]
        assert np.allclose(base.chroma[0], flat) and base.chroma[3] == 1
