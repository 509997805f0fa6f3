"""The quality measure on known answers, `randstyle evaluate`, and the starts and stops of a
run (--init, --patience, --eval-every) as its report records them."""
import json
import time

import numpy as np
import pytest
from helpers import SMALL, TINY, write

from randstyle import engine
from randstyle.engine import demo
from randstyle.engine.cli import main
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.evaluate import (
    CHROMA,
    chroma_similarity,
    chromagram,
    content_similarity,
    sdr,
    style_distance,
)
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run.optimize import PLATEAU, lbfgs, plateaued
from randstyle.engine.run.quality import Monitor
from randstyle.engine.run.start import init_signal, initial_signal

SR = 8000  # the evaluation network needs 1.12 s at this rate


def stationary(seconds: float, seed: int) -> np.ndarray:
    """Noise through a fixed resonant filter: the same statistics everywhere."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * SR))
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / SR)
    spec *= np.exp(-((f - 900) / 150) ** 2) + 0.3 * np.exp(-((f - 2500) / 300) ** 2)
    y = np.fft.irfft(spec, n=len(x))
    return (0.3 * y / np.max(np.abs(y))).astype(np.float32)


def test_identical_signals_are_at_distance_zero_and_similarity_one():
    x = demo.plucked_melody(1.5, SR)
    d = style_distance(x, x, SR)
    assert d["style_distance"] < 1e-6 and d["style_distance_rhythm"] < 1e-6
    assert content_similarity(x, x, SR) == pytest.approx(1.0)


def test_halves_of_a_stationary_signal_are_close_and_noise_is_far():
    x = stationary(4.0, seed=0)
    first, second = x[:len(x) // 2], x[len(x) // 2:]
    halves = style_distance(second, first, SR)["style_distance"]
    noise = np.random.default_rng(1).standard_normal(len(first)).astype(np.float32) * 0.1
    unrelated = style_distance(noise, first, SR)["style_distance"]
    assert halves < 0.1 and unrelated > 0.5 and unrelated > 10 * halves, (halves, unrelated)
    # Content: the melody against unrelated noise correlates little.
    melody = demo.plucked_melody(2.0, SR)
    assert content_similarity(noise, melody, SR) < 0.3


def test_style_distance_of_a_weighted_mix_of_styles():
    a, b = stationary(2.0, seed=2), demo.plucked_melody(2.0, SR)
    # The result a, against styles (a, 1) and (b, 0 weight in effect): weights normalize.
    near = style_distance(a, [(a, 0.9), (b, 0.1)], SR)["style_distance"]
    far = style_distance(a, [(a, 0.1), (b, 0.9)], SR)["style_distance"]
    assert near < far


def _tones(midi: list, sr: int, partials: int = 1, seconds: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    f = [440.0 * 2 ** ((m - 69) / 12) for m in midi]
    return np.concatenate([sum(np.sin(2 * np.pi * k * fm * t) / k
                               for k in range(1, partials + 1)) * np.hanning(len(t))
                           for fm in f]).astype(np.float32)


def test_chromagram_matches_librosa_on_generated_tones(librosa):
    """The chroma filterbank and per-frame scaling are librosa's chroma_stft (tuning 0,
    center=False): within 1e-6 on tones from 55 Hz to 1.8 kHz, at two rates."""
    for sr in (22050, 8000):
        x = _tones([33, 48, 57, 61, 66, 70, 76, 81, 90], sr, partials=4)
        want = librosa.feature.chroma_stft(y=x.astype(np.float64), sr=sr, tuning=0.0,
                                           center=False, **CHROMA).T
        got = chromagram(x, sr)
        assert got.shape == want.shape and np.max(np.abs(got - want)) < 1e-6


def test_chroma_similarity_holds_the_notes_not_the_timbre_or_level():
    """Same notes, other timbre and level: near 1; the same tones a tritone away: far lower
    (a chroma that read the spectrum's shape, or the level, would fail one of them)."""
    melody = [60, 64, 67, 72, 67, 64, 62, 65]
    sine = _tones(melody, SR)
    rich = 0.1 * _tones(melody, SR, partials=6)
    tritone = _tones([m + 6 for m in melody], SR)
    same, moved = (chroma_similarity(y, sine, SR) for y in (rich, tritone))
    assert same > 0.8 and moved < 0.3, (same, moved)
    assert chroma_similarity(0.01 * sine, sine, SR) == pytest.approx(1.0)


def test_sdr_known_answer_and_lengths():
    ref = demo.plucked_melody(1.5, SR).astype(np.float64)
    assert sdr(ref, 1.1 * ref) == pytest.approx(20.0)  # error energy 1% of the signal's
    with pytest.raises(ParameterError, match="same length"):
        engine.evaluate(ref[:-10], SR, reference=ref)


def test_evaluate_cli_prints_json_and_one_line(tmp_path, capsys):
    x, y = demo.plucked_melody(1.5, SR), stationary(1.5, seed=3)
    rx, ry = write(tmp_path / "x.wav", x, SR), write(tmp_path / "y.wav", y, SR)
    assert main(["evaluate", rx, "--style", ry, "--style", f"{rx}:0.5", "--content", rx,
                 "--reference", rx, "--sr", str(SR)]) == 0
    out, err = capsys.readouterr()
    figures = json.loads(out)
    x16 = engine.load(rx, SR)  # what the CLI measured: the 16-bit file
    want = engine.evaluate(x16, SR, style=[(engine.load(ry, SR), 1.0), (x16, 0.5)],
                           content=x16, reference=x16)
    for key, value in want.items():
        assert figures[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
    assert figures["content_similarity"] == pytest.approx(1.0)
    assert figures["chroma_similarity"] == pytest.approx(1.0)
    assert len(err.strip().splitlines()) == 1 and "style distance" in err and "chroma" in err


@pytest.mark.parametrize("args, message", [
    ([], "RESULT"),
    (["{x}"], "--style, --content or --reference"),
    (["{x}", "--style", "{tmp}/missing.wav"], "not found"),
    (["{short}", "--style", "{x}"], "shorter than"),
    (["{x}", "--reference", "{short}"], "same length"),
    (["{x}", "--style", "{x}:-1"], "positive"),
])
def test_evaluate_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    files = {"x": write(tmp_path / "x.wav", demo.plucked_melody(1.5, SR), SR),
             "short": write(tmp_path / "s.wav", demo.plucked_melody(0.5, SR), SR),
             "tmp": str(tmp_path)}
    assert main(["evaluate", *[a.format(**files) for a in args], "--sr", str(SR)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and message in err


# --- starts -------------------------------------------------------------------------------
def test_each_init_kind_is_what_it_says():
    cfg = engine.TransferConfig(**SMALL, init_mix=0.5)
    content, style = demo.plucked_melody(1.5, SR), demo.drum_loop(0.7, SR)
    n = len(content)
    styles = [(style, 1.0)]
    np.testing.assert_array_equal(init_signal("noise", n, content, styles, cfg),
                                  initial_signal(n, cfg))
    # The content starts are the content at the style's level (a Gram grows with the level
    # squared): the same waveform, the style's RMS.
    rms = lambda x: np.sqrt(np.mean(np.asarray(x, dtype=float) ** 2))  # noqa: E731
    assert rms(content) > 1.5 * rms(style)  # so a start left at the content's level fails
    start = init_signal("content", n, content, styles, cfg)
    assert rms(start) == pytest.approx(rms(style))
    np.testing.assert_allclose(start, content * (rms(style) / rms(content)), rtol=1e-6)
    mix = init_signal("mix", n, content, styles, cfg)
    assert rms(mix) == pytest.approx(rms(style))
    k = np.dot(mix, content) / np.dot(content, content)  # the scale put on content + noise
    noise = mix / k - content
    assert rms(noise) == pytest.approx(0.5 * rms(content), rel=0.02)
    # The added noise has the style's spectrum (the spectrum start's), not a white one.
    want = np.log(average_spectrum([(style, 1.0)], 256, 64) + 1e-6)
    got = np.log(average_spectrum([(noise, 1.0)], 256, 64) + 1e-6)
    assert np.corrcoef(want, got)[0, 1] > 0.9
    # Several styles: their energy averaged by weight.
    two = [(style, 0.25), (3 * style, 0.75)]
    assert rms(init_signal("content", n, content, two, cfg)) == pytest.approx(
        rms(style) * np.sqrt(0.25 + 0.75 * 9))
    tiled = init_signal("style", n, content, styles, cfg)
    np.testing.assert_array_equal(tiled[:len(style)], style)
    np.testing.assert_array_equal(tiled[len(style):2 * len(style)], style)


def average_spectrum(styles: list, n_fft: int, hop_length: int) -> np.ndarray:
    """The weight-averaged power spectrum of the styles' frames, as a magnitude (n_fft/2+1)."""
    power = np.zeros(n_fft // 2 + 1)
    window = hann_window(n_fft)
    for x, w in styles:
        x = np.asarray(x, dtype=np.float64)
        if len(x) < n_fft:
            x = np.pad(x, (0, n_fft - len(x)))
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop_length]
        power += w * np.mean(np.abs(np.fft.rfft(frames * window, axis=1)) ** 2, axis=0)
    return np.sqrt(power)


def test_spectrum_init_has_the_style_spectrum_but_not_its_samples():
    cfg = engine.TextureConfig(**SMALL)
    style = demo.drum_loop(2.0, SR)
    x = init_signal("spectrum", len(style), None, [(style, 1.0)], cfg)
    want = np.log(average_spectrum([(style, 1.0)], 256, 64) + 1e-6)
    got = np.log(average_spectrum([(x, 1.0)], 256, 64) + 1e-6)
    white = np.log(average_spectrum([(initial_signal(len(style), cfg), 1.0)], 256, 64) + 1e-6)
    assert np.corrcoef(want, got)[0, 1] > 0.9 > np.corrcoef(want, white)[0, 1]
    assert np.sqrt(np.mean(x ** 2)) == pytest.approx(np.sqrt(np.mean(style.astype(float) ** 2)))
    assert abs(np.corrcoef(x, style)[0, 1]) < 0.1  # a new signal, not the style's samples


def test_texture_refuses_a_start_that_copies(tmp_path):
    with pytest.raises(ParameterError, match="does not fit texture"):
        engine.texture(demo.drum_loop(1.0, SR), **TINY, init="style", seconds=1.0)


def test_content_start_and_defaults_recorded():
    content, style = demo.plucked_melody(1.5, SR), demo.drum_loop(1.5, SR)
    cfg = engine.TransferConfig(**SMALL, maxiter=2, progress=False, backend="cpu")
    _, report = engine.transfer(content, style, cfg, init="content")
    assert report["init"] == "content" and report["config"]["init"] == "content"
    _, noise = engine.transfer(content, style, cfg, init="noise")
    # The first point is the content at the style's level: far closer to the content than
    # the noise start, not at it.
    assert 0 < report["initial_loss"]["content"] < 0.5 * noise["initial_loss"]["content"]
    _, auto = engine.transfer(content, style, cfg)  # auto: the measured default, recorded
    assert auto["init"] == "mix" and auto["config"]["init"] == "auto"
    # Same objective whatever the start: the balance is taken at the same seeded noise.
    assert auto["balance_factors"] == report["balance_factors"] == noise["balance_factors"]


# --- stops and the measure along the way ---------------------------------------------------
def test_plateau_rule():
    falling = [{"total": 100.0 * 0.9 ** i} for i in range(30)]
    flat = [{"total": 100.0 - 0.001 * i} for i in range(30)]
    assert not plateaued(falling, 5, 0.01) and plateaued(flat, 5, 0.01)
    assert not plateaued(flat, 0, 0.01)  # patience 0: never
    assert not plateaued(flat[:5], 5, 0.01)  # not before a whole window
    # The window is exactly ``patience`` iterations: 100 -> 89 over two is 11 % (no plateau
    # at 10 %), though the last one alone (95 -> 89) is less.
    steps = [{"total": t} for t in (100.0, 95.0, 89.0)]
    assert not plateaued(steps, 2, 0.1) and plateaued(steps, 1, 0.1)
    assert plateaued(steps + [{"total": 88.0}], 2, 0.1)


def test_patience_stops_a_plateau_and_not_a_falling_loss():
    content, style = demo.plucked_melody(1.5, SR), demo.drum_loop(1.5, SR)
    cfg = engine.TransferConfig(**SMALL, maxiter=12, progress=False, backend="cpu",
                                init="noise")
    # A demanding rule (halve the loss every 3 iterations) stops this run early...
    _, strict = engine.transfer(content, style, cfg, patience=3, min_improvement=0.5)
    assert strict["stop_reason"] == PLATEAU.format(tol=0.5, n=3)
    assert strict["nit"] < 12 and strict["config"]["patience"] == 3
    h = strict["iterations"]
    assert h[-4]["total"] - h[-1]["total"] < 0.5 * h[-4]["total"]
    assert strict["final_loss"] == h[-1] and strict["initial_loss"]["total"] > h[0]["total"]
    # ...a lenient one lets it run to maxiter, since its loss keeps falling by more.
    _, lenient = engine.transfer(content, style, cfg, patience=3, min_improvement=1e-6)
    assert lenient["stop_reason"] == "maxiter reached" and lenient["nit"] == 12
    h = lenient["iterations"]
    assert all(h[i - 3]["total"] - h[i]["total"] >= 1e-6 * h[i - 3]["total"]
               for i in range(3, 12))


def test_eval_every_records_the_measure_and_the_report_ends_with_it():
    content, style = demo.plucked_melody(1.5, SR), demo.drum_loop(1.5, SR)
    y, report = engine.transfer(content, style, engine.TransferConfig(
        **SMALL, maxiter=6, progress=False, backend="cpu", eval_every=2, patience=0))
    assert [q["iter"] for q in report["quality_history"]] == [2, 4, 6]
    assert all({"style_distance", "content_similarity", "time_s"} <= set(q)
               for q in report["quality_history"])
    assert list(report)[-1] == "quality" and report["eval_time_s"] > 0
    # The final figures are the returned signal's, measured independently.
    want = engine.evaluate(y, SR, style=style, content=content)
    for key, value in want.items():
        assert report["quality"][key] == pytest.approx(value, rel=1e-5), key


class Quadratic:
    """sum(c_i (x_i - 1)^2), ill-conditioned so L-BFGS-B needs many iterations."""
    def __init__(self, n: int) -> None:
        self.c = np.logspace(0, 4, n)

    def terms_and_grad(self, x):
        d = x - 1.0
        total = float(np.sum(self.c * d * d))
        return {"total": total}, 2 * self.c * d


def test_checkpoints_every_n_iterations_hold_that_iterate():
    """--checkpoint-every 3 over 10 iterations: checkpoints after iterations 3, 6 and 9, each
    with that iterate and the history up to it (the bug: one iteration early or late)."""
    seen = []
    res = lbfgs(Quadratic(50), np.zeros(50), maxiter=10, progress=False, patience=0,
                checkpoint=lambda x, h: seen.append((np.array(x), [e["iter"] for e in h])),
                checkpoint_every=3)
    assert res.nit == 10 and [h[-1] for _, h in seen] == [3, 6, 9]
    assert all(h == list(range(1, len(h) + 1)) for _, h in seen)
    obj = Quadratic(50)
    for x, h in seen:  # the signal saved is the iterate of the last history entry
        assert obj.terms_and_grad(x)[0]["total"] == pytest.approx(
            res.history[h[-1] - 1]["total"], rel=1e-12)


def test_measuring_time_is_kept_out_of_the_optimization_time():
    def slow_monitor(x, entry):
        time.sleep(0.05)  # a measurement far slower than this objective's iterations
        return None

    began = time.perf_counter()
    res = lbfgs(Quadratic(200), np.zeros(200), maxiter=10, progress=False, monitor=slow_monitor,
                monitor_every=1, patience=0)
    elapsed = time.perf_counter() - began
    assert res.nit == 10 and res.monitor_time_s >= 0.5
    # The sleeps (0.5 s at least) are outside both clocks, however loaded the machine: a
    # bound on the optimization's own time would fail under load (it did, in the audit).
    assert elapsed - res.wall_time_s >= 0.5
    assert res.history[-1]["time_s"] <= res.wall_time_s + 1e-3


def test_measure_stop_returns_the_best_measured_iterate():
    style = stationary(2.0, seed=4)
    far = np.random.default_rng(0).standard_normal(len(style)) * 0.1
    monitor = Monitor(SR, [(style, 1.0)], patience=2)
    assert monitor(far, {"iter": 1, "time_s": 0.1}) is None
    assert monitor(style, {"iter": 2, "time_s": 0.2}) is None  # the best: distance 0
    assert monitor(far, {"iter": 3, "time_s": 0.3}) is None  # one worse: patience 2 waits
    reason = monitor(far * 2, {"iter": 4, "time_s": 0.4})
    assert reason and reason.startswith("measure:")
    assert monitor.best["iter"] == 2 and np.array_equal(monitor.best["x"], style)


def test_a_run_stopped_by_the_measure_returns_its_best_measured_iterate():
    """Starting at the style with a heavy content weight, the style distance grows: the
    measure stops the run, and the returned signal (its final figures, its iteration) is the
    first measured iterate, not the last one (the bug: returning the last iterate)."""
    content, style = demo.plucked_melody(1.5, SR), demo.drum_loop(1.5, SR)
    y, report = engine.transfer(content, style, engine.TransferConfig(
        **SMALL, maxiter=12, progress=False, backend="cpu", eval_every=2, eval_patience=2,
        patience=0, init="style", content_weight=100.0))
    history = report["quality_history"]
    best = min(history, key=lambda q: q["style_distance"])
    assert report["stop_reason"].startswith("measure:")
    assert report["returned_iteration"] == best["iter"] < report["nit"] == history[-1]["iter"]
    assert history[-1]["style_distance"] > best["style_distance"] * 1.01  # last is worse
    assert report["quality"]["style_distance"] == pytest.approx(best["style_distance"],
                                                                rel=1e-5)
    assert engine.evaluate(y, SR, style=style)["style_distance"] == pytest.approx(
        best["style_distance"], rel=1e-4)


def test_cli_report_of_a_run(tmp_path):
    content = write(tmp_path / "c.wav", demo.plucked_melody(1.5, SR), SR)
    style = write(tmp_path / "s.wav", demo.drum_loop(1.5, SR), SR)
    out = tmp_path / "o.wav"
    assert main(["transfer", content, style, "-o", str(out), "--sr", str(SR), "--n-fft",
                 "256", "--hop-length", "64", "--n-filters", "32", "--rhythm-filters", "16",
                 "--maxiter", "4", "--eval-every", "2", "--init", "style", "--quiet"]) == 0
    report = json.load(open(tmp_path / "o.json"))
    assert report["init"] == "style" and list(report)[-1] == "quality"
    assert report["output"] == str(out) and report["interrupted"] is False
    assert report["nit"] == len(report["iterations"]) == 4
    assert [q["iter"] for q in report["quality_history"]] == [2, 4]
    texture_report = tmp_path / "t0.json"
    assert main(["texture", style, "-o", str(tmp_path / "t0.wav"), "--sr", str(SR), "--n-fft",
                 "256", "--hop-length", "64", "--n-filters", "32", "--rhythm-filters", "16",
                 "--maxiter", "2", "--seconds", "1.5", "--quiet"]) == 0
    assert json.load(open(texture_report))["init"] == "templates"
    assert main(["texture", style, "-o", str(tmp_path / "t.wav"), "--init", "content",
                 "--sr", str(SR), "--quiet"]) == 2


def test_style_distance_does_not_depend_on_the_result_level():
    """The result is measured at the style's RMS: any gain on it leaves the figure alone
    (without the scaling, a 6 dB change moves every Gram by a factor 4: distance >= 0.75)."""
    style, result = stationary(2.0, seed=4), demo.drum_loop(2.0, SR)
    base = style_distance(result, style, SR)["style_distance"]
    for gain in (0.1, 0.5, 3.0):
        assert style_distance(gain * result, style, SR)["style_distance"] == \
            pytest.approx(base, rel=1e-4)
    assert style_distance(2.0 * style, style, SR)["style_distance"] < 1e-5
    melody = demo.plucked_melody(2.0, SR)
    assert content_similarity(0.05 * result, melody, SR) == \
        pytest.approx(content_similarity(result, melody, SR), abs=1e-6)


def test_evaluate_content_takes_the_stretch_the_run_used(tmp_path, capsys):
    """A result made from --content-start/--content-end is measured against that stretch
    with the same options; against the whole (longer) file it is refused in one line, not
    scored against the file's first seconds."""
    melody = demo.plucked_melody(3.0, SR)
    content = write(tmp_path / "c.wav", melody, SR)
    result = write(tmp_path / "r.wav", melody[int(1.5 * SR):], SR)
    assert main(["evaluate", result, "--content", content, "--content-start", "1.5",
                 "--content-end", "3.0", "--sr", str(SR)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["content_similarity"] > 0.99
    assert (out["content_start"], out["content_end"]) == (1.5, 3.0)
    assert main(["evaluate", result, "--content", content, "--sr", str(SR)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert "content is 3.000 s and the result 1.500 s" in err and "--content-start" in err


def test_evaluate_of_the_written_output_is_the_report_figure(tmp_path, capsys):
    """The written file is at the content's loudness, not the optimized signal's level; the
    measure of that file is still the figure in the run's report."""
    content = write(tmp_path / "c.wav", 0.2 * demo.plucked_melody(1.5, SR), SR)
    style = write(tmp_path / "s.wav", demo.drum_loop(1.5, SR), SR)
    out = str(tmp_path / "o.wav")
    assert main(["transfer", content, style, "-o", out, "--sr", str(SR), "--n-fft", "256",
                 "--hop-length", "64", "--n-filters", "32", "--rhythm-filters", "16",
                 "--maxiter", "4", "--quiet", "--subtype", "float"]) == 0
    report = json.load(open(tmp_path / "o.json"))
    assert abs(report["loudness"]["gain_db"]) > 1  # the written level is not the run's
    capsys.readouterr()
    assert main(["evaluate", out, "--style", style, "--content", content, "--sr",
                 str(SR)]) == 0
    measured = json.loads(capsys.readouterr().out)
    for key in ("style_distance", "content_similarity"):
        assert measured[key] == pytest.approx(report["quality"][key], abs=1e-4), key


class Scripted(Monitor):
    """The stop rule of Monitor on a scripted style distance per measurement (what the
    evaluation network would say), so that flat and improving runs can be set up exactly."""
    def __init__(self, distances, **kwargs) -> None:
        super().__init__(SR, [(stationary(2.0, seed=5), 1.0)], **kwargs)
        self.distances = iter(distances)

    def figures(self, x):
        return {"style_distance": next(self.distances)}


@pytest.mark.parametrize("kind", ["flattened", "improving"])
def test_measure_stop_rule_stops_a_flattened_run_only(kind):
    """Texture's default stop: 0.5% per measurement does not pay (less than min_improvement
    0.03 over 3 measurements), 2% does. A flattened run stops before maxiter with its best
    measured iterate; a run that keeps improving by more runs to maxiter."""
    step = 0.995 if kind == "flattened" else 0.98
    monitor = Scripted([0.5 * step ** i for i in range(100)], patience=3,
                       min_improvement=0.03)
    res = lbfgs(Quadratic(200), np.zeros(200), maxiter=60, progress=False, monitor=monitor,
                monitor_every=5, patience=0)
    if kind == "flattened":
        assert res.message.startswith("measure:") and "by more than 0.03" in res.message
        assert res.nit == 20 < 60  # measured at 5, 10, 15, 20: none 3% below the first
        assert monitor.best["iter"] == 20  # still the lowest distance: returned, not the first
    else:
        assert res.message == "maxiter reached" and res.nit == 60


def test_texture_defaults_stop_on_the_measure_and_short_textures_run_unmeasured():
    cfg = engine.TextureConfig()
    assert (cfg.eval_every, cfg.eval_patience, cfg.eval_min_improvement) == (10, 3, 0.15)
    assert engine.TransferConfig().eval_every == 0  # transfer keeps its loss plateau stop
    style = demo.drum_loop(0.5, SR)  # shorter than the evaluation network's field
    _, report = engine.texture(style, engine.TextureConfig(
        **SMALL, seconds=0.5, maxiter=3, progress=False, backend="numpy"))
    assert report["nit"] == 3 and "skipped" in report["quality"]


def test_a_runs_measure_weighs_several_styles_as_the_run_does():
    """The report's style distance of a run with --style a:0.9 --style b:0.1 is the measure
    against the weighted styles, not against them equally weighted (which differs here)."""
    a, b = stationary(1.5, seed=2), demo.drum_loop(1.5, SR)
    styles = [(a, 0.9), (b, 0.1)]
    x, report = engine.texture(styles, seconds=1.2, maxiter=2, progress=False,
                               **{**SMALL, "backend": "numpy"})
    weighted = engine.evaluate(x, SR, style=styles)["style_distance"]
    equal = engine.evaluate(x, SR, style=[(a, 1.0), (b, 1.0)])["style_distance"]
    assert abs(weighted - equal) > 0.05 * weighted  # the weights matter to this figure
    assert report["quality"]["style_distance"] == pytest.approx(weighted, rel=1e-4)


def test_a_several_part_runs_measure_of_its_mix_weighs_the_styles():
    """--channels mid-side / each: the report's measure of the stereo result's mono mix is
    against the styles as weighted (--style a:0.9 --style b:0.1), not equally."""
    from randstyle.engine.run.session import quality_of_mix
    a, b = stationary(1.5, seed=2), demo.drum_loop(1.5, SR)
    result = np.stack([stationary(1.5, seed=7), demo.drum_loop(1.5, SR, seed=3)], axis=1)
    content = np.stack([demo.plucked_melody(1.5, SR)] * 2, axis=1)
    styles = [(a, 0.9), (b, 0.1)]
    figures = quality_of_mix(result, content, styles, SR)
    want = engine.evaluate(result.mean(axis=1), SR, style=styles, content=content[:, 0])
    equal = engine.evaluate(result.mean(axis=1), SR, style=[(a, 1.0), (b, 1.0)])
    assert abs(want["style_distance"] - equal["style_distance"]) > 0.05 * want["style_distance"]
    for key, value in want.items():
        assert figures[key] == pytest.approx(value, rel=1e-5), key
