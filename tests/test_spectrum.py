"""The long-term band spectrum term (docs/design.md §14): its ops by hand, the style's band
power accumulated over chunks, the objective's gradient with the term, what it does to a
texture's spectrum, and where a transfer's term would bury the content. Separate refusing it
in one line, a negative weight and zero bands: tests/test_validators.py
(test_each_remaining_validator_rejects_what_it_must, every numeric option)."""
import numpy as np
import pytest
from conftest import CUDA_TESTABLE
from helpers import SMALL, TINY, check_objective, objectives_agree, rel_error, sine, write

from randstyle import engine
from randstyle.engine.cli import main
from randstyle.engine.demo import drum_loop
from randstyle.engine.model.spectrum import (
    BURIED_DB,
    band_matrix,
    content_offset_db,
    mean_band_power,
    spectrum_target,
)
from randstyle.kernels import numpy_ref

rng = np.random.default_rng(21)
BACKENDS = ["numpy", "cpu"] + (["cuda"] if CUDA_TESTABLE else [])


def test_band_power_by_hand():
    """P[b] is the mean over frames of sum_f bands[b, f] M[t, f]^2, M = expm1(S)."""
    M = np.array([[1.0, 2.0], [3.0, 0.0]])
    bands = np.array([[1.0, 0.0], [0.5, 1.0]])
    P = numpy_ref.band_power_forward(np.log1p(M), bands)[0]
    assert P.shape == (1, 2)
    assert np.allclose(P[0], [(1 + 9) / 2, (0.5 * 1 + 4 + 0.5 * 9 + 0) / 2])


def test_bands_cover_the_spectrum_and_none_is_empty():
    bands = band_matrix(22050, 1024, 64)
    assert bands.shape[1] == 513 and 40 <= len(bands) <= 64
    assert np.all(bands.sum(axis=1) > 0)
    assert np.all(bands[:, 1:-1].sum(axis=0) > 0)  # every bin but DC and Nyquist is in a band


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_chunked_band_power_equals_the_whole_clip(backend):
    cfg = engine.NetworkConfig(**SMALL, dtype="float64")
    net = engine.Network(cfg, backend=backend)
    x = drum_loop(3.0, SMALL["sr"]).astype(np.float64)
    bands = band_matrix(cfg.sr, cfg.n_fft, 16)
    S = engine.Network(cfg).forward(x, ("logmag",))[0]["logmag"][0]
    whole = numpy_ref.band_power_forward(S, bands)[0][0]
    for chunk in (7, 100, 100_000):
        assert rel_error(mean_band_power(net, x, bands, chunk_frames=chunk), whole) < 1e-12


def test_styles_mix_by_power():
    """Two styles at weights 0.25 / 0.75: the target is the log of their powers so mixed."""
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    a, b = sine(1.0, 8000, 300.0), drum_loop(1.0, 8000)
    ta, tb = (spectrum_target(net, [(s, 1.0)], 16) for s in (a, b))
    mixed = spectrum_target(net, [(a, 0.25), (b, 0.75)], 16)
    pa, pb = np.exp(ta.target) - ta.eps, np.exp(tb.target) - tb.eps
    assert rel_error(np.exp(mixed.target) - mixed.eps, 0.25 * pa + 0.75 * pb) < 1e-9


def test_the_band_floor_follows_the_styles_level():
    """The floor is FLOOR times the style's mean band power, so a quiet style's target is the
    loud one's shifted in log units (the same shape), not pinned to an absolute floor."""
    from randstyle.engine.model.spectrum import FLOOR, styles_band_power
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    x = drum_loop(1.0, 8000)
    loud, quiet = (spectrum_target(net, [(g * x, 1.0)], 16) for g in (1.0, 0.01))
    P = styles_band_power(net, [(x, 1.0)], band_matrix(8000, SMALL["n_fft"], 16))
    assert loud.eps == pytest.approx(FLOOR * float(np.mean(P)), rel=1e-9)
    assert quiet.eps == pytest.approx(1e-4 * loud.eps, rel=1e-6)
    assert rel_error(quiet.target - np.log(1e-4), loud.target) < 1e-6


@pytest.mark.parametrize("backend", BACKENDS)
def test_objective_gradient_with_the_term(backend):
    """Finite differences of the whole balanced objective with the term, with and without
    content; the term is reported on its own and counted in the total."""
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"), backend=backend)
    for content in (None, rng.standard_normal(120) * 0.3):
        obj = engine.Objective(net, content=content, style=rng.standard_normal(200) * 0.3,
                               spectrum_weight=1.5, spectrum_bands=6)
        x = rng.standard_normal(120) * 0.3
        assert "spectrum" in obj.balance(x * 0.1)
        assert check_objective(obj, x)["spectrum"] > 0


def test_the_term_is_zero_at_the_style_whatever_its_length_and_weighs_as_asked():
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"))
    # A period of 64 samples is 8 hops: 1048 and 536 samples hold 128 and 64 frames, whole
    # periods of frames both, so the two means are the same.
    style = np.tile(rng.standard_normal(64) * 0.3, 17)[:1048]
    obj = engine.Objective(net, style=style, spectrum_weight=2.0, spectrum_bands=6)
    assert obj.terms_and_grad(style)[0]["spectrum"] < 1e-20
    assert obj.terms_and_grad(style[:536])[0]["spectrum"] < 1e-20
    assert obj.terms_and_grad(style[:560])[0]["spectrum"] > 1e-8  # 67 frames: not whole periods
    assert obj.terms_and_grad(style * 2)[0]["spectrum"] > 1.0  # 6 dB louder in every band
    x0 = rng.standard_normal(512) * 0.01
    obj.balance(x0)
    unit = engine.Objective(net, style=style, spectrum_weight=1.0, spectrum_bands=6)
    unit.balance(x0)
    assert obj.style_weights["spectrum"] == pytest.approx(2.0 * unit.style_weights["spectrum"])


def band_error_db(x: np.ndarray, style: np.ndarray, sr: int) -> float:
    """The largest gap in dB between the two signals' mean band powers (16 bands, 512/128)."""
    net = engine.Network(engine.NetworkConfig(sr=sr, n_fft=512, hop_length=128,
                                              n_filters=1, rhythm_filters=1))
    bands = band_matrix(sr, 512, 16)
    a, b = mean_band_power(net, x, bands), mean_band_power(net, style, bands)
    keep = b > 1e-4 * b.max()
    return float(np.max(np.abs(10 * np.log10(a[keep] / b[keep]))))


def test_a_texture_with_the_term_has_the_styles_spectrum():
    """A style with a loud bass under broadband clicks: with the term the texture's bands sit
    within a few dB of the style's; without it the Grams leave them farther."""
    sr = SMALL["sr"]
    t = np.arange(2 * sr) / sr
    style = (0.6 * np.sin(2 * np.pi * 60 * t) + drum_loop(2.0, sr)).astype(np.float32)
    runs = {w: engine.texture(style, seconds=1.0, maxiter=40, progress=False, backend="cpu",
                              spectrum_weight=w, networks=1, eval_every=0, eval_patience=0,
                              **SMALL) for w in (0.0, 4.0)}
    off, on = (band_error_db(runs[w][0], style, sr) for w in (0.0, 4.0))
    assert on < 3.0 and on < off - 2.0, (on, off)
    assert "spectrum" in runs[4.0][1]["style_weights"]
    assert "spectrum" not in runs[0.0][1]["style_weights"]


def test_transfer_and_an_ensemble_run_with_the_term():
    sr = SMALL["sr"]
    style = drum_loop(2.0, sr)
    _, rep = engine.transfer(sine(1.0, sr), style, maxiter=3, progress=False, backend="cpu",
                             spectrum_weight=1.0, style_kind="none", **SMALL)  # one network
    assert "spectrum" in rep["style_weights"] and rep["final_loss"]["spectrum"] > 0
    _, rep = engine.texture(style, seconds=1.0, maxiter=3, progress=False, backend="cpu",
                            spectrum_weight=1.0, **SMALL)  # three networks: one term each
    assert {f"spectrum_{i}" for i in range(3)} <= set(rep["style_weights"])


def test_the_content_offset_is_level_free_and_reads_a_buried_content():
    """The style's bands against the content's where the content's energy is: 0 dB for the
    content at any level; -20 dB for the content under a low tone of 100x its power (its
    bands then hold 1/101 of the style's power)."""
    sr = SMALL["sr"]
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"), backend="cpu")
    content = (sine(2.0, sr, 1000.0) + sine(2.0, sr, 2500.0)).astype(np.float64)
    assert abs(content_offset_db(net, content, [(0.1 * content, 1.0)], 64)) < 1e-9
    low = sine(2.0, sr, 60.0, amp=1.0).astype(np.float64)
    low *= np.sqrt(100 * np.mean(content ** 2) / np.mean(low ** 2))
    offset = content_offset_db(net, content, [(content + low, 1.0)], 64)
    assert abs(offset - 10 * np.log10(1 / 101)) < 0.5, offset


def test_a_transfer_warns_where_the_term_would_bury_the_content(tmp_path, capsys):
    """With the term on, a style 20 dB under the content where its energy is gets one warning
    line and the report's offset; a style like the content gets neither warning nor offset
    without the term."""
    sr = 8000
    content = sine(1.5, sr, 1000.0)
    low = sine(2.0, sr, 60.0, amp=0.5) * 10 + sine(2.0, sr, 1000.0, amp=0.05)
    c, s = write(tmp_path / "c.wav", content, sr), write(tmp_path / "s.wav", low, sr)
    small = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
             "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "2",
             "--style-kind", "none"]  # the term only where asked (the choice sets it too)
    out = tmp_path / "o.wav"
    assert main(["transfer", c, s, "-o", str(out), "--spectrum-weight", "1", *small]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "will bury" in line]
    assert len(warned) == 1 and "--spectrum-weight" in warned[0], err
    assert json_of(out)["spectrum_offset_db"] < BURIED_DB
    assert main(["transfer", c, c, "-o", str(tmp_path / "p.wav"), "--spectrum-weight", "1",
                 *small]) == 0
    assert "will bury" not in capsys.readouterr().err
    assert abs(json_of(tmp_path / "p.wav")["spectrum_offset_db"]) < 0.5
    assert main(["transfer", c, s, "-o", str(tmp_path / "q.wav"), *small]) == 0
    assert "will bury" not in capsys.readouterr().err
    assert "spectrum_offset_db" not in json_of(tmp_path / "q.wav")


def json_of(wav) -> dict:
    import json
    return json.load(open(str(wav)[:-4] + ".json"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_whole_objective_with_the_term_matches_numpy_ref(fast, dtype):
    cfg = engine.NetworkConfig(**SMALL, dtype=dtype)
    style = drum_loop(2.0, SMALL["sr"])
    objectives_agree(lambda backend: engine.Objective(
        engine.Network(cfg, backend=backend), style=style, spectrum_weight=2.0,
        spectrum_bands=32), (numpy_ref.name, fast.name),
        np.random.default_rng(5).standard_normal(SMALL["sr"]) * 0.05, ("spectrum", "total"), dtype)
