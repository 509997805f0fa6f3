"""The bench harness on tiny sizes: it validates each backend, then times it, and writes JSON.

Timings themselves are never asserted (shared, noisy machines); bench/ reports them."""
import json

import numba
import pytest
from threadpoolctl import threadpool_info

import kernels
from bench.harness import BenchConfig, flop_count, table
from engine import Network, NetworkConfig
from engine.cli import main

TINY = ["--seconds", "1.5", "--style-seconds", "2", "--n-filters", "64", "--repeat", "1"]


def test_bench_validates_and_reports(tmp_path, capsys):
    assert main(["bench", *TINY, "--long-style-minutes", "0.05", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    files = list(tmp_path.glob("bench-*.json"))
    assert len(files) == 1
    results = json.loads(files[0].read_text())
    for name in ("numpy", "cpu"):
        r = results["backends"][name]
        assert r["valid"] and r["grad_rel_error"] < 1e-3, r
        assert r["e2e_s"] > 0 and r["peak_rss_mib"] > 0
        assert set(r["ops"]) >= {"stft_fft", "conv1d_relu harmonic", "gram_style_loss rhythm"}
    assert results["floor_s"] > 0 and results["long_style"]["exit_status"] == 0
    assert "| cpu | yes |" in out and out == table(results) + "\n"


def test_flop_count_default_network():
    # DESIGN.md: 10 s of content -> T ~ 430 frames; the harmonic conv forward is ~40 GFLOP,
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
        assert numba.get_num_threads() == 1
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    finally:
        kernels.set_threads(numba.config.NUMBA_NUM_THREADS)
    with pytest.raises(kernels.ParameterError):
        kernels.set_threads(0)


def test_bench_config_defaults_are_the_issue_sizes():
    cfg = BenchConfig()
    assert (cfg.seconds, cfg.style_seconds, cfg.n_filters, cfg.long_style_minutes) == \
        (10.0, 30.0, 4096, 4.0)
