"""The bench harness on tiny sizes: it validates each backend, then times it, and writes JSON.

Timings themselves are never asserted (shared, noisy machines); bench/ reports them."""
import json

import numba
import numpy as np
import pytest
from helpers import rel_error
from threadpoolctl import threadpool_info

from randstyle import kernels
from randstyle.engine import Network, NetworkConfig
from randstyle.engine.bench.harness import (
    BenchConfig,
    _results_path,
    flop_count,
    run_flop_count,
    table,
)
from randstyle.engine.cli import main

TINY = ["--seconds", "1.5", "--style-seconds", "2", "--n-filters", "64", "--repeat", "1",
        "--sgemm-n", "1024"]


def test_bench_validates_and_reports(tmp_path, capsys):
    assert main(["bench", *TINY, "--long-style-minutes", "0.05", "--out", str(tmp_path),
                 "--no-torch"]) == 0
    out = capsys.readouterr().out
    files = list(tmp_path.glob("bench-*.json"))
    assert len(files) == 1
    results = json.loads(files[0].read_text())
    assert set(results["backends"]) == {"numpy", "cpu"}  # --no-torch
    for name in ("numpy", "cpu"):
        r = results["backends"][name]
        assert r["valid"] and r["grad_rel_error"] < 1e-3, r
        assert r["e2e_s"] > 0 and r["peak_rss_mib"] > 0
        assert r["numpy_first"]  # the worker imported NumPy before the engine
        # 2 s of style (~80 rows): too many for 64 harmonic filters, few for 4096 rhythm ones.
        assert r["algorithms"] == {"harmonic": "dense", "rhythm": "gramfree"}
        assert r["run_gflop"] < results["dense_gflop"]
        assert set(r["ops"]) >= {"stft_fft", "conv1d_relu harmonic", "gram_style_loss rhythm"}
        # Per op: a ratio to the run's roofline (the best rate, the workers' included), not
        # to whatever rate the worker happened to measure.
        conv = r["ops"]["conv1d_relu harmonic"]
        assert conv["forward_x_sgemm"] == pytest.approx(
            conv["forward_s"] * results["sgemm_gflops"] * 1e9 / conv["forward_flop"])
        assert conv["backward_flop"] == conv["forward_flop"] > 0
        assert len(r["worker_sgemm_gflops"]) == 3
        assert set(r["worker_sgemm_gflops"]) <= set(results["sgemm_gflops_runs"])
    assert results["sgemm_gflops"] == max(results["sgemm_gflops_runs"])
    assert results["floor_s"] == pytest.approx(results["dense_gflop"] / results["sgemm_gflops"])
    assert results["long_style"]["exit_status"] == 0
    assert "| cpu | yes |" in out and out == table(results) + "\n"
    # A run whose sgemm rate moved by more than 10 % says its timings do not stand.
    assert ("WARNING" in out) == (results["sgemm_spread"] > 1.10)
    busy = {**results, "sgemm_gflops_runs": [200.0, 93.0]}
    assert "ranged 93-200 GFLOP/s" in table(busy)
    assert "WARNING" not in table({**results, "sgemm_gflops_runs": [200.0, 190.0]})


def test_run_flop_count_follows_the_algorithm():
    """The default network with 10 s of content and 30 s of style runs Gram-free on both
    branches, and counts its FLOPs: fewer than the dense algorithm's ~119.5 GFLOP."""
    class Ran:  # what run_flop_count reads from an Objective
        style_algorithms = {"harmonic": "gramfree", "rhythm": "dense"}
        style_targets = {"harmonic": [type("T", (), {"factor": np.zeros((1279, 1))})()]}
    net = Network(NetworkConfig(n_filters=4096))
    T = 1 + (10 * 22050 - 2048) // 512
    dense, ran = flop_count(T, net), run_flop_count(T, net, Ran())
    assert 115e9 < sum(dense.values()) < 125e9
    assert "harmonic_gram_backward" not in ran and "rhythm_gram_backward" in ran
    Tp = T - 10
    assert ran["harmonic_gramfree_style_loss"] == 3.0 * Tp * Tp * 4096 + 4.0 * Tp * 1279 * 4096
    assert 105e9 < sum(ran.values()) < 112e9


def test_flop_count_default_network():
    # docs/design.md §11: 10 s of content -> T ~ 430 frames; the harmonic conv forward is ~40 GFLOP,
    # ~125 GFLOP per evaluation with plain GEMM Grams (ours: syrk, half the Gram forward).
    flops = flop_count(430, Network(NetworkConfig(n_filters=4096)))
    assert 38e9 < flops["harmonic_conv_forward"] < 40e9
    assert flops["harmonic_gram_backward"] == 2 * flops["harmonic_gram_forward_syrk"]
    total_plain = sum(flops.values()) + flops["harmonic_gram_forward_syrk"] + \
        flops["rhythm_gram_forward_syrk"]
    assert 115e9 < total_plain < 135e9


def test_bench_rejects_unknown_backend(capsys):
    assert main(["bench", *TINY, "--backends", "cpu,tpu"]) == 2
    assert "tpu" in capsys.readouterr().err


def test_set_threads():
    try:
        kernels.set_threads(1)
        assert kernels.n_threads() == 1
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    finally:
        kernels.set_threads(numba.config.NUMBA_NUM_THREADS)
    with pytest.raises(kernels.ParameterError):
        kernels.set_threads(0)


def test_bench_config_defaults_are_the_issue_sizes():
    cfg = BenchConfig()
    assert (cfg.seconds, cfg.style_seconds, cfg.n_filters, cfg.long_style_minutes,
            cfg.sgemm_n) == (10.0, 30.0, 4096, 4.0, 4096)


def test_torch_reference_is_the_same_objective():
    """bench's PyTorch objective (the optional bench extra) computes the engine's loss and
    gradient: the torch comparison times the same work. Runs where torch is installed."""
    pytest.importorskip("torch")
    from randstyle.engine import Objective
    from randstyle.engine.bench.torch_ref import TorchObjective
    from randstyle.engine.demo import drum_loop, plucked_melody
    net = Network(NetworkConfig(n_filters=64, rhythm_filters=48, dtype="float64"), backend="cpu")
    content, style = plucked_melody(1.5, 22050), drum_loop(2.0, 22050)
    obj = Objective(net, content=content, style=style, style_weight=3.0)
    x = content + np.random.default_rng(0).standard_normal(len(content)) * 0.05
    value, grad = obj.value_and_grad(x)
    t_value, t_grad = TorchObjective(obj).value_and_grad(x)
    assert abs(t_value - value) < 1e-5 * value  # torch runs float32
    assert rel_error(t_grad, grad) < 1e-4


def test_texture_bench_shuffles_whole_chunks_of_the_style():
    """bench/texture.py's "shuffled 0.5 s chunks" reference: the style's own chunks, each
    whole, in another order."""
    from bench.texture import SR, shuffled_chunks
    size = SR // 2
    style = np.repeat(np.arange(8, dtype=np.float32), size)  # chunk i holds the value i
    out = shuffled_chunks(style, 6 * size, seed=3)
    firsts = out[::size]
    assert len(out) == 6 * size and len(set(firsts.tolist())) == 6
    assert all(np.all(out[i * size:(i + 1) * size] == v) for i, v in enumerate(firsts))
    assert list(firsts) != sorted(firsts)


def _notes(midi: list, timbre: str, sr: int = 22050, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    out = []
    for m in midi:
        f = 440.0 * 2 ** ((m - 69) / 12)
        tone = np.sin(2 * np.pi * f * t) if timbre == "sine" else \
            sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 8))
        out.append(tone * np.hanning(len(t)))
    return np.concatenate(out).astype(np.float32)


def test_chroma_similarity_follows_the_notes_not_the_timbre():
    """bench/corpus/quality.py's held-out content measure: the same melody in another timbre
    reads near 1, the same timbre a tritone away far lower (a chroma that read the spectrum's
    shape, or shifted pitch classes, would fail one of the two)."""
    from bench.corpus.quality import chroma_similarity
    melody = [60, 64, 67, 72, 67, 64, 62, 65]
    sine = _notes(melody, "sine")
    assert chroma_similarity(sine, sine) == pytest.approx(1.0)
    same_notes = chroma_similarity(_notes(melody, "rich"), sine)
    tritone = chroma_similarity(_notes([m + 6 for m in melody], "sine"), sine)
    assert same_notes > 0.8 and tritone < 0.3, (same_notes, tritone)


def test_the_equalizer_gives_the_styles_band_levels():
    """bench/transfer/spectrum_gap.py's equalizer: a dark noise takes a bright noise's mean spectrum
    (every band within 1 dB after, 6 dB or more off in the top band before)."""
    from scipy.signal import lfilter

    from bench.transfer.spectrum_gap import band_offsets, equalized
    rng = np.random.default_rng(3)
    style = lfilter([1.0, -0.9], [1.0], rng.standard_normal(5 * 22050)).astype(np.float32)
    dark = lfilter([1.0], [1.0, -0.9], rng.standard_normal(5 * 22050)).astype(np.float32)
    before, after = band_offsets(dark, style), band_offsets(equalized(dark, style), style)
    assert abs(before[-1]) > 6 and max(abs(b) for b in after) < 1.0, (before, after)


def test_bench_refuses_a_content_shorter_than_the_network_in_one_line(tmp_path, capsys):
    """--seconds 1.0 is under the rhythm branch's receptive field (1.23 s at the defaults):
    one line and exit 2 before any timing, where it ended in a traceback from the framing."""
    assert main(["bench", "--seconds", "1.0", "--backends", "numpy", "--repeat", "1",
                 "--long-style-minutes", "0", "--no-torch", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "receptive field" in err[0], err
    assert not list(tmp_path.iterdir())


def test_bench_results_go_where_out_says_and_nowhere_without_it(tmp_path):
    assert _results_path(None) is None  # the table only: nothing in the user's folder
    assert _results_path(str(tmp_path / "r.json")) == tmp_path / "r.json"
    in_folder = _results_path(str(tmp_path / "runs"))
    assert in_folder.parent == tmp_path / "runs" and in_folder.name.startswith("bench-")


def test_bench_refuses_an_existing_results_file_before_timing(tmp_path, capsys):
    kept = tmp_path / "r.json"
    kept.write_text("{}\n")
    assert main(["bench", *TINY, "--backends", "numpy", "--long-style-minutes", "0",
                 "--no-torch", "--out", str(kept)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == \
        f"randstyle bench: error: --out: {kept} exists; name another file"
    assert captured.out == "" and kept.read_text() == "{}\n"  # no timing ran, nothing lost
