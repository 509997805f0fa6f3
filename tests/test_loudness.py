"""Outputs at the loudness of what they stand for (engine.loudness): BS.1770 targets, the true
peak ceiling, gating of silence, and the --loudness option of every command that writes audio."""
import json
import os

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from helpers import FEW_SHIFT_FILTERS, sine, write
from scipy.signal import resample_poly

from randstyle.engine import loudness
from randstyle.engine.cli import main
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.errors import ParameterError

SR = 8000
FAST = ["--sr", str(SR), "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--maxiter", "3", "--quiet"]
CEILING = 10 ** (loudness.CEILING_DBTP / 20)


def lufs(x, sr=SR):
    """pyloudnorm directly: the reference the module is checked against."""
    return pyloudnorm.Meter(sr).integrated_loudness(np.asarray(x, dtype=np.float64))


def signals():
    rng = np.random.default_rng(3)
    clicks = np.zeros(3 * SR)
    clicks[::SR // 4] = 1.0  # crest factor far above any music: the ceiling must bind
    return {"sine": sine(3.0, SR, 220.0, 0.05), "noise": 0.01 * rng.standard_normal(3 * SR),
            "drums": drum_loop(3.0, SR), "melody": plucked_melody(3.0, SR),
            "clicks": clicks, "stereo": np.stack([sine(3.0, SR, 330.0, 0.2),
                                                  0.05 * rng.standard_normal(3 * SR)], 1)}


@pytest.mark.parametrize("name", ["sine", "noise", "drums", "melody", "clicks", "stereo"])
@pytest.mark.parametrize("target", [-30.0, -16.0, -9.0])
def test_target_met_or_ceiling_binds(name, target):
    x = signals()[name]
    (y,), rep = loudness.level([x], SR, target)
    peak = loudness.true_peak(y)
    assert peak <= CEILING * (1 + 1e-6)  # never above -1 dBTP, whatever the target
    assert np.max(np.abs(y)) < 1.0  # so never clipped either
    if rep["limited_by_ceiling"]:  # quieter than asked, because louder would pass the ceiling
        assert peak == pytest.approx(CEILING, rel=1e-6) and lufs(y) < target
    else:
        assert abs(lufs(y) - target) < 0.5 and abs(rep["output_lufs"] - target) < 0.5
    assert name != "clicks" or target != -9.0 or rep["limited_by_ceiling"]


def test_match_takes_the_reference_level_and_peak_takes_the_ceiling():
    ref, x = signals()["drums"], 0.3 * signals()["melody"]
    (y,), rep = loudness.level([x], SR, "match", loudness.reference_loudness([ref], SR))
    assert abs(lufs(y) - lufs(ref)) < 0.5 and rep["input_lufs"] == pytest.approx(lufs(ref))
    assert rep["gain_db"] == pytest.approx(20 * np.log10(np.max(np.abs(y)) /
                                                         np.max(np.abs(x))), abs=1e-3)
    (z,), rep = loudness.level([x], SR, "peak")
    assert loudness.true_peak(z) == pytest.approx(CEILING, rel=1e-6)


def test_the_oversampling_in_blocks_equals_the_whole_signal_oversampled(monkeypatch):
    # Blocks of 1000 samples: every block boundary must give what one resample_poly of the
    # whole signal gives, a peak that falls on a boundary included (mono and stereo).
    monkeypatch.setattr(loudness, "OVERSAMPLE_BLOCK", 1000)
    rng = np.random.default_rng(5)
    for y in (rng.standard_normal((3500, 1)), rng.standard_normal((2001, 2))):
        y[1000] = 9.0
        up = np.abs(resample_poly(y, loudness.OVERSAMPLE, 1, axis=0)).max(axis=1)
        whole = np.maximum(np.abs(y).max(axis=1),
                           up.reshape(len(y), loudness.OVERSAMPLE).max(axis=1))
        np.testing.assert_array_equal(loudness._peak_envelope(y), whole)
        assert loudness.true_peak(y) == whole.max()


def test_the_true_peak_of_a_long_signal_holds_no_oversampled_copy_of_it(monkeypatch):
    # Issue 32: a 10-minute song oversampled whole held 0.8 GB at its end (8 times the
    # signal's float64 bytes here, in either function). In blocks: the envelope (one
    # float64 a sample) and a block's worth; the limiter adds its three gain curves.
    import tracemalloc
    monkeypatch.setattr(loudness, "OVERSAMPLE_BLOCK", 1 << 14)
    x = np.sin(np.arange(1 << 20) * 0.3)
    for measure, most in ((lambda: loudness.true_peak(x), 1.5),
                          (lambda: loudness.limiter_gain(x, SR, CEILING), 4.5)):
        tracemalloc.start()
        try:
            measure()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < most * x.nbytes


def test_the_integrated_loudness_in_blocks_is_pyloudnorms_figure(monkeypatch):
    # Issue 32: chunks of 1000 and 777 samples (a gating block is 3201 here), the filters'
    # state carried over: the very figure pyloudnorm gives on the whole signal, gated
    # blocks (a quiet stretch), stereo, five channels and a signal shorter than a block.
    rng = np.random.default_rng(7)
    quiet = rng.standard_normal(20000) * 0.1
    quiet[5000:12000] *= 1e-4
    cases = [quiet, rng.standard_normal((20000, 2)) * 0.1, rng.standard_normal((9001, 5)),
             rng.standard_normal((3300, 1)).astype(np.float32) * 0.3]
    for chunk in (1000, 777):
        monkeypatch.setattr(loudness, "OVERSAMPLE_BLOCK", chunk)
        for x in cases:
            assert loudness.integrated(x, SR) == lufs(x)


def _whole_limited(x, plan_):
    """The limiter as it ran before issue 32, on whole float64 copies of the signal."""
    y = np.asarray(x, dtype=np.float64)
    cap = 10 ** (loudness.LIMIT_MAX_DB / 20) * CEILING / loudness.true_peak(y)
    gain = min(10 ** ((plan_["target_lufs"] - plan_["before_lufs"]) / 20), cap)
    for _ in range(4):
        g = loudness.limiter_gain(y * gain, SR, CEILING)
        z = y * gain * (g[:, None] if y.ndim == 2 else g)
        now = lufs(z)
        if abs(now - plan_["target_lufs"]) < 0.05:
            break
        gain = min(gain * 10 ** ((plan_["target_lufs"] - now) / 20), cap)
    z *= min(1.0, CEILING / loudness.true_peak(z))
    return z.astype(np.float32), gain, -loudness.db(float(g.min()))


def test_the_limiter_in_stretches_gives_the_whole_signals_result(monkeypatch):
    # Stretches of 1000 samples, each read with the neighbours the limiter's filters
    # reach: the same samples out as the whole-signal limiter's, the same gain; the limiter's
    # figure to 1e-12 (its running mean starts afresh at each stretch).
    monkeypatch.setattr(loudness, "OVERSAMPLE_BLOCK", 1000)
    t = np.arange(3 * SR) / SR
    noise = np.random.default_rng(1).standard_normal(len(t))
    base = np.sin(2 * np.pi * 220 * t) * 0.1 + 0.01 * noise
    base[5060:5100] += 0.9  # a click the limiter must take down, 60 samples past a stretch
    for x in (base.astype(np.float32), np.stack([base, base[::-1]], 1).astype(np.float32)):
        plan_ = loudness.plan([x], SR, "match", -8.0)
        z, rep = loudness.limited(x, SR, plan_)
        want, gain, taken = _whole_limited(x, plan_)
        np.testing.assert_array_equal(z, want)
        assert rep["gain"] == gain and rep["limiter_db"] == pytest.approx(taken, rel=1e-12)


def test_leveling_a_long_signal_holds_no_float64_copy_of_it(monkeypatch):
    # Issue 32: leveling a 10-minute song held 606 MiB above it (float64 copies of the
    # signal, its K-weighted and oversampled versions, the limiter's gain curves). Now: the
    # float32 result and a block's worth; the reference's loudness: a block's worth.
    import tracemalloc
    # 2^18 samples in 64 blocks: each block costs its own filter set-up, hence few of them
    monkeypatch.setattr(loudness, "OVERSAMPLE_BLOCK", 1 << 12)
    x = (np.sin(np.arange(1 << 18) * 0.3) * np.linspace(0.05, 0.5, 1 << 18)).astype(np.float32)
    x[1000:1010] = 1.0  # loud peaks: the limiter's path
    for measure, most in ((lambda: loudness.reference_loudness([x], SR), 0.3),
                          (lambda: loudness.level([x], SR, "match", -8.0, limit=True), 1.5),
                          (lambda: loudness.level([x], SR, "match", -30.0), 1.5)):
        tracemalloc.start()
        try:
            measure()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < most * x.nbytes


def test_true_peak_sees_between_the_samples():
    # A sine at fs/4 sampled at 45 degrees: every sample is 0.707 of the true peak 1.
    t = np.arange(SR)
    x = np.sin(np.pi / 2 * t + np.pi / 4)
    assert np.max(np.abs(x)) == pytest.approx(np.sqrt(0.5))
    assert loudness.true_peak(x) > 0.99


def test_gating_ignores_silence_and_short_signals_loop():
    burst = drum_loop(2.0, SR)
    padded = np.concatenate([np.zeros(3 * SR), burst, np.zeros(3 * SR)])
    assert abs(loudness.integrated(padded, SR) - loudness.integrated(burst, SR)) < 0.5
    assert loudness.integrated(np.zeros(SR), SR) is None
    short = sine(0.1, SR, 400.0)  # shorter than one 400 ms block
    assert abs(loudness.integrated(short, SR) - lufs(np.tile(short, 10))) < 0.5
    # several styles: power average by weight (equal levels give that level)
    assert loudness.reference_loudness([(burst, 1.0), (burst, 3.0)], SR) == \
        pytest.approx(loudness.integrated(burst, SR))


def test_parse_mode():
    assert loudness.parse_mode("match") == "match" and loudness.parse_mode("-16") == -16.0
    with pytest.raises(ParameterError, match="^loudness must be"):
        loudness.parse_mode("-70")


def test_more_channels_than_bs1770_weights():
    """Six channels (--channels each on a 6-channel file): their loudness summed as power;
    six equal channels are 10 log10(6) LU above one."""
    one = signals()["drums"]
    six = np.stack([one] * 6, axis=1)
    assert loudness.integrated(six, SR) == pytest.approx(
        loudness.integrated(one, SR) + 10 * np.log10(6), abs=1e-6)
    (y,), rep = loudness.level([six], SR, -23.0)
    assert loudness.true_peak(y) <= CEILING * (1 + 1e-6) and abs(rep["output_lufs"] + 23) < 0.5


def test_silent_result_keeps_its_level():
    (y,), rep = loudness.level([np.zeros(SR)], SR, -16.0)
    assert rep["gain"] == 1.0 and "silent" in rep["note"] and not np.any(y)


@pytest.mark.parametrize("bad", ["5", "0", "-0", "loud", "nan", "-inf", "-80", ""])
def test_bad_loudness_refused_in_one_line(bad, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    style = write(tmp_path / "s.wav", sine(1.0, SR), SR)
    before = set(os.listdir(tmp_path))
    try:
        code = main(["texture", style, "--seconds", "0.5", f"--loudness={bad}", *FAST])
    except SystemExit as exc:  # refused by the parser itself, as every bad option value
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--loudness" in err and "Traceback" not in err
    assert set(os.listdir(tmp_path)) == before


def test_texture_of_silence_padded_style_keeps_its_level(tmp_path):
    """BS.1770's gate: the style's silent stretches do not make the texture quieter."""
    burst = drum_loop(2.0, SR)
    padded = np.concatenate([np.zeros(2 * SR), burst, np.zeros(2 * SR)]).astype(np.float32)
    style = write(tmp_path / "s.wav", padded, SR, subtype="FLOAT")
    out = str(tmp_path / "t.wav")
    assert main(["texture", style, "--seconds", "1.5", "-o", out, *FAST]) == 0
    y, _ = sf.read(out)
    assert abs(lufs(y) - lufs(burst)) < 0.5
    assert loudness.true_peak(y) <= CEILING * 1.001  # PCM16 rounding at most
    rep = json.load(open(tmp_path / "t.json"))["loudness"]
    assert rep["mode"] == "match" and abs(rep["input_lufs"] - lufs(burst)) < 0.5
    assert abs(rep["output_lufs"] - lufs(y)) < 0.1 and rep["gain_db"] is not None


@pytest.mark.parametrize("mode", ["match", "-20"])
def test_transfer_written_at_its_content_level(mode, tmp_path):
    content = write(tmp_path / "c.wav", 0.1 * plucked_melody(1.5, SR), SR, subtype="FLOAT")
    style = write(tmp_path / "s.wav", drum_loop(2.0, SR), SR, subtype="FLOAT")
    out = str(tmp_path / "o.wav")
    assert main(["transfer", content, style, "-o", out, f"--loudness={mode}", *FAST]) == 0
    y, _ = sf.read(out)
    target = lufs(sf.read(content)[0]) if mode == "match" else float(mode)
    assert abs(lufs(y) - target) < 0.5 and loudness.true_peak(y) <= CEILING * 1.001


@pytest.mark.parametrize("mode", ["match", "-30"])
def test_separated_sources_share_one_gain_and_sum_to_the_mix(mode, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    melody, drums = 0.3 * plucked_melody(2.0, SR), 0.3 * drum_loop(2.0, SR)
    for name, x in {"mix": melody + drums, "m": plucked_melody(2.0, SR, seed=4),
                    "d": drum_loop(2.0, SR, seed=4)}.items():
        write(tmp_path / f"{name}.wav", x, SR, subtype="FLOAT")
    assert main(["separate", "mix.wav", "--source", "melody=m.wav", "--source", "drums=d.wav",
                 "-o", "out", "--subtype", "float", f"--loudness={mode}", "--mask-n-fft",
                 "256", "--mask-hop-length", "64", "--rhythm-filters", "16",
                 "--rhythm-kernel-size", "10", "--method", "statistics", *FEW_SHIFT_FILTERS,
                 *FAST]) == 0
    rep = json.load(open("out/separation.json"))
    total = sum(sf.read(f"out/{n}.wav")[0] for n in ("melody", "drums"))
    mix = sf.read("mix.wav")[0]
    # The sources still sum to the mix, times the one gain the report names.
    assert np.max(np.abs(total - rep["output_gain"] * mix)) < 1e-3 * np.max(np.abs(mix))
    target = lufs(mix) if mode == "match" else float(mode)
    assert abs(lufs(total) - target) < 0.5
    assert mode != "match" or abs(rep["loudness"]["gain_db"]) < 0.1  # the mix's own level


def test_reconstruct_at_the_content_level(tmp_path):
    content = write(tmp_path / "c.wav", 0.05 * plucked_melody(1.5, SR), SR, subtype="FLOAT")
    prefix = str(tmp_path / "r")
    assert main(["reconstruct", content, "-o", prefix, "--sr", str(SR), "--n-fft", "256",
                 "--hop-length", "64", "--n-filters", "32", "--maxiter", "3", "--quiet"]) == 0
    for method in ("time", "griffinlim"):
        y, _ = sf.read(f"{prefix}_{method}.wav")
        assert abs(lufs(y) - lufs(sf.read(content)[0])) < 0.5


def _peaky(seconds=3.0, sr=SR):
    """A tone with a loud transient every 0.5 s: at -16 LUFS its peaks would be ~3 dB over the
    ceiling, within what the limiter may take."""
    x = sine(seconds, sr, 220.0, 0.1)
    t = np.arange(int(0.01 * sr))
    for start in range(0, len(x) - len(t), sr // 2):
        x[start:start + len(t)] += 0.45 * np.exp(-t / (0.002 * sr)) * np.sin(t * 1.3)
    return x


@pytest.mark.parametrize("stereo,target", [(False, -16.0), (True, -13.0)])
def test_the_limiter_reaches_the_target_under_the_ceiling(stereo, target):
    """limit=True (one result): where the ceiling would leave it short of the target, the
    peaks are limited and the target is met within 0.5 LU, the true peak at most the ceiling;
    without the limiter the same signal ends more than 1 LU short."""
    x = _peaky()
    if stereo:
        x = np.stack([x, 0.8 * x], 1)
    (plain,), plain_rep = loudness.level([x], SR, target)
    (lim,), rep = loudness.level([x], SR, target, limit=True)
    assert plain_rep["limited_by_ceiling"] and lufs(plain) < target - 1.0
    assert abs(lufs(lim) - target) < 0.5 and abs(rep["output_lufs"] - target) < 0.5
    assert loudness.true_peak(lim) <= CEILING * (1 + 1e-6)
    # The ceiling bound it (the limiter acted), though the target was met.
    assert 0 < rep["limiter_db"] <= loudness.LIMIT_MAX_DB and rep["limited_by_ceiling"]


def test_the_limiter_takes_at_most_its_limit_then_turns_down():
    """Clicks would need far more than LIMIT_MAX_DB: the limiter stops there, the result
    stays under the ceiling and short of the target, and the report says the ceiling bound."""
    clicks = np.zeros(3 * SR)
    clicks[::SR // 4] = 1.0
    clicks += sine(3.0, SR, 220.0, 0.001)
    (lim,), rep = loudness.level([clicks], SR, -16.0, limit=True)
    assert rep["limited_by_ceiling"] and rep["limiter_db"] <= loudness.LIMIT_MAX_DB + 0.1
    assert loudness.true_peak(lim) <= CEILING * (1 + 1e-6) and lufs(lim) < -17.0


def test_the_limiter_gain_is_smooth_and_never_above_the_need():
    """Its gain moves by at most 1/ramp per sample (no clicks of its own) and brings every
    oversampled peak under the ceiling."""
    x = _peaky() * 3.0
    g = loudness.limiter_gain(x, SR, CEILING)
    ramp = int(loudness.LIMIT_RAMP_S * SR)
    assert g.max() <= 1.0 and g.min() < 0.8
    assert np.max(np.abs(np.diff(g))) <= 1.0 / ramp + 1e-12
    assert loudness.true_peak(x * g) <= CEILING * 1.02  # the last inter-sample bit is scaled off


@pytest.mark.parametrize("limit", [False, True])
@pytest.mark.parametrize("case", ["quiet", "peaky"])
def test_limiter_db_only_beside_limited_by_ceiling(case, limit):
    """A report never says limited_by_ceiling false beside a positive limiter_db; limiter_db
    is there exactly when the limiter took something off (positive)."""
    x = sine(3.0, SR, 220.0, 0.01) if case == "quiet" else _peaky()
    (_,), rep = loudness.level([x], SR, -16.0 if case == "peaky" else -30.0, limit=limit)
    if "limiter_db" in rep:
        assert rep["limiter_db"] > 0 and rep["limited_by_ceiling"], rep
    assert ("limiter_db" in rep) == (limit and case == "peaky")
    assert rep["limited_by_ceiling"] == (case == "peaky")


# --- from the test audit of issue 21 (bench/audit/mutant_list.py, docs/results/testing.md):
# each test fails with the breakage it is named after there.
SR = 8000
CEILING = 10 ** (loudness.CEILING_DBTP / 20)


@pytest.mark.parametrize("mode", ["peak", "match", -14.0])
def test_the_ceiling_holds_for_each_source_not_only_their_sum(mode):
    """Two sources that nearly cancel (a bass and its inverted copy, plus a quiet melody):
    their sum is quiet and low-peaked, each source is loud. One gain for both, and neither may
    pass the ceiling (the breakage: the true peak taken on the sum)."""
    bass = sine(2.0, SR, 110.0, 0.95)
    melody = 0.02 * plucked_melody(2.0, SR)
    sources = [bass + melody, -bass]
    mix_lufs = loudness.integrated(sources[0] + sources[1], SR)
    out, rep = loudness.level(sources, SR, mode, mix_lufs)
    peak = max(loudness.true_peak(s) for s in out)
    assert peak == pytest.approx(CEILING, rel=1e-6)  # at the ceiling, never above
    # the sum is quiet, each source is loud: a target for the sum runs into the ceiling
    assert mode == "peak" or rep["limited_by_ceiling"]
    for y, x in zip(out, sources):  # one gain, the reported one, for both
        np.testing.assert_allclose(y, rep["gain"] * x, rtol=0, atol=1e-6)


def test_the_reported_output_peak_is_the_written_one():
    x = drum_loop(2.0, SR)
    for mode in ("peak", -30.0, -9.0):
        (y,), rep = loudness.level([x], SR, mode)
        assert rep["output_true_peak_dbtp"] == pytest.approx(
            20 * np.log10(loudness.true_peak(y)), abs=1e-3)
        assert rep["output_true_peak_dbtp"] <= loudness.CEILING_DBTP + 1e-4


def test_match_with_a_silent_reference_keeps_the_level():
    """A reference all below the -70 LUFS gate has no loudness (None): the result keeps its
    level and the report says why (the breakage: a TypeError on the missing target)."""
    x = 0.1 * plucked_melody(1.0, SR)
    assert loudness.reference_loudness([np.zeros(SR)], SR) is None
    (y,), rep = loudness.level([x], SR, "match", None)
    assert rep["gain"] == 1.0 and "reference is silent" in rep["note"]
    np.testing.assert_array_equal(y, x.astype(np.float32))


def test_several_styles_stand_for_their_weighted_power_average():
    """A texture of a loud style (weight 1) and a quiet one (weight 3) is written at the
    weighted average of their loudness as power, not at the first one's (the breakage)."""
    loud, quiet = drum_loop(2.0, SR), 0.05 * plucked_melody(2.0, SR)
    meter = pyloudnorm.Meter(SR)
    a, b = (meter.integrated_loudness(s.astype(np.float64)) for s in (loud, quiet))
    assert a - b > 10  # far apart, so the first one's level is far off
    want = 10 * np.log10((10 ** (a / 10) + 3 * 10 ** (b / 10)) / 4)
    got = loudness.reference_loudness([(loud, 1.0), (quiet, 3.0)], SR)
    assert got == pytest.approx(want, abs=0.05) and got < a - 3
