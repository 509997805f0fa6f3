"""The memory estimate (engine/model/memory.py) against measured peaks, and the refusal of a run
too big, host or GPU."""
import os
import subprocess
import sys

import pytest
from conftest import emulated
from helpers import write

from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.kernels import cuda

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(*args) -> list:
    return [sys.executable, os.path.join(ROOT, "cli.py"), *map(str, args)]


def _peak_rss(cmd: list) -> int:
    """Peak RSS in bytes of a CLI run in a child process, through a parent of its own:
    RUSAGE_CHILDREN of this process would also count every child the suite ran before."""
    measure = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    res = subprocess.run([sys.executable, "-c", measure, *cmd], capture_output=True,
                         text=True, timeout=300)
    code, maxrss = map(int, res.stdout.split()[-2:])  # after the path the CLI prints
    assert code == 0, res.stderr
    return maxrss * 1024  # KiB on Linux


def _flags(opts: dict) -> list:
    return [a for k, v in opts.items() for a in (f"--{k.replace('_', '-')}", v)]


SR = 8000


def test_memory_estimate_is_within_1_5x_of_the_measured_peak(tmp_path):
    """A whole texture run in a child process; its peak RSS (ru_maxrss) against
    memory.estimate_bytes for the same options (measured: 500 MiB peak, 523 MiB estimated;
    the rhythm Grams, 4096^2, dominate the run's own part)."""
    from randstyle import engine
    from randstyle.engine.model import memory
    style = write(tmp_path / "s.wav", drum_loop(1.5, 22050), 22050)
    opts = {"n_filters": 1024, "maxiter": 2, "maxcor": 2}
    peak = _peak_rss(_cli("texture", style, "-o", tmp_path / "t.wav", "--seconds", 1.5,
                          "--quiet", *_flags(opts)))
    cfg = engine.TextureConfig(seconds=1.5, **opts)
    estimate = memory.estimate_bytes(cfg, int(1.5 * 22050), [int(1.5 * 22050)])
    assert peak / 1.5 < estimate < 1.5 * peak, (estimate / 2**20, peak / 2**20)


def test_memory_estimate_counts_a_transfers_style_networks(tmp_path):
    """A transfer with --networks 3 holds its content network and three style members; at
    STFT sizes of 8192 the members' harmonic weights (40 x 4097 x 1024 values) outweigh the
    content network's 11 x 513 x 3072, so an estimate of one network (as before) is under
    half the measured peak. Measured: 1027 MiB peak, 1010 MiB estimated (one network: 458)."""
    from randstyle import engine
    from randstyle.engine.model import memory
    n = 3 * 22050
    content = write(tmp_path / "c.wav", plucked_melody(3.0, 22050), 22050)
    style = write(tmp_path / "s.wav", drum_loop(3.0, 22050), 22050)
    opts = {"n_fft": 1024, "hop_length": 256, "n_filters": 3072, "rhythm_filters": 256,
            "networks": 3, "n_ffts": "8192,8192,8192", "maxiter": 2, "maxcor": 2}
    peak = _peak_rss(_cli("transfer", content, style, "-o", tmp_path / "t.wav", "--quiet",
                          *_flags(opts)))
    estimate = memory.estimate_bytes(engine.TransferConfig(**opts), n, [n])
    assert peak / 1.5 < estimate < 1.5 * peak, (estimate / 2**20, peak / 2**20)
    assert [(c.n_fft, style, content) for c, style, content in
            memory.networks(engine.TransferConfig(**opts), n, [n])] == \
        [(1024, False, True)] + [(8192, True, False)] * 3


def test_memory_estimate_counts_the_dft_basis_only_with_dft_matrix():
    """--dft matrix keeps an n_fft x (n_fft + 2) basis for the run; --dft fft builds none
    (tests above: at n_fft 8192 a basis each would have doubled the measured peak)."""
    from randstyle import engine
    from randstyle.engine.model import memory
    n = 10 * 22050
    grew = memory.estimate_bytes(engine.TransferConfig(dft="matrix"), n, [n]) \
        - memory.estimate_bytes(engine.TransferConfig(dft="fft"), n, [n])
    assert grew == 2048 * 2050 * 4


def test_memory_estimate_counts_a_transfers_mel_content_branch():
    """--content-features mel with its own band count builds one more conv (the network's
    content_mel branch); a texture has no content term, so the option costs it nothing."""
    from randstyle import engine
    from randstyle.engine.model import memory
    n = 10 * 22050

    def est(cls, **kw):
        return memory.estimate_bytes(cls(**kw), n, [n])
    cfg = engine.TransferConfig(content_features="mel", content_n_mels=64)
    conv = cfg.rhythm_kernel_size * 64 * cfg.rhythm_channels * 4
    grew = est(engine.TransferConfig, content_features="mel", content_n_mels=64) \
        - est(engine.TransferConfig, content_features="harmonic")
    assert conv <= grew < 2 * conv, (grew, conv)
    assert est(engine.TextureConfig, content_features="mel", content_n_mels=64) == \
        est(engine.TextureConfig, content_features="harmonic")


def test_memory_estimate_counts_the_band_spectrum_term():
    """The band spectrum term holds three more (frames x bins) arrays and their gradients."""
    from randstyle import engine
    from randstyle.engine.model import memory
    n = 10 * 22050
    # One network: with members the term counts in the member whose activations peak.
    on = memory.estimate_bytes(engine.TextureConfig(spectrum_weight=1.0, networks=1), n, [n])
    off = memory.estimate_bytes(engine.TextureConfig(spectrum_weight=0.0, networks=1), n, [n])
    cfg = engine.TextureConfig()
    frames = engine.signal.n_frames(n, cfg.n_fft, cfg.hop_length)
    assert on - off == 3 * (cfg.n_fft // 2 + 1) * frames * 4 * 2


def test_memory_estimate_counts_a_second_styles_transient_grams():
    """While several styles are averaged one more set of Grams is alive (and each style's
    samples): two styles cost one network's Grams and 12 bytes a sample more than one."""
    from randstyle import engine
    from randstyle.engine.model import memory
    n = 10 * 22050
    cfg = engine.TextureConfig(networks=1)
    c = cfg.network_config()
    grams = (c.n_filters ** 2 + (1 + c.n_resid) * c.rhythm_channels ** 2) * 4
    grew = memory.estimate_bytes(cfg, n, [n, n]) - memory.estimate_bytes(cfg, n, [n])
    assert grew == grams + 12 * n


def test_memory_estimate_counts_fastfood_filters_as_their_blocks():
    """--harmonic-filters fastfood holds 4 N values per block of N filters, not K B F dense
    weights, and 2 N values a patch while it transforms."""
    from randstyle import engine
    from randstyle.engine.model import memory
    from randstyle.engine.model.fastfood import padded_size
    n = 10 * 22050
    dense = engine.TextureConfig(networks=1)
    fast = engine.TextureConfig(networks=1, harmonic_filters="fastfood")
    c = fast.network_config()
    B, T = c.n_fft // 2 + 1, engine.signal.n_frames(n, c.n_fft, c.hop_length)
    N = padded_size(c.kernel_size, B)
    blocks = -(-c.n_filters // N)
    saved = memory.estimate_bytes(dense, n, [n]) - memory.estimate_bytes(fast, n, [n])
    assert saved == (c.kernel_size * B * c.n_filters - 4 * N * blocks) * 4 - 2 * N * 4 * T


def test_a_run_too_big_for_the_machine_is_refused_before_any_work(tmp_path, capsys):
    from randstyle.engine.cli import main
    style = write(tmp_path / "s.wav", drum_loop(1.5, SR), SR)
    out = tmp_path / "t.wav"
    # 200000 filters: 9 GB of weights and three 160 GB Grams.
    assert main(["texture", style, "-o", str(out), "--sr", str(SR), "--n-filters", "200000",
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs about" in err[0] and "available" in err[0], err
    assert not out.exists()


def _sep_config(**kw):
    from randstyle import engine
    return engine.SeparateConfig(sr=8000, n_fft=256, hop_length=64, n_filters=64,
                                 backend="cuda", progress=False, **{"method": "statistics", **kw})


def engine_transfer_config():
    from randstyle import engine
    # The separation's own network, dense filters (the transfer's default is fastfood)
    return engine.TransferConfig(sr=8000, n_fft=256, hop_length=64, n_filters=64,
                                 backend="cuda", progress=False, harmonic_filters="dense")


def test_a_run_too_big_for_the_gpu_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    """With 40 MiB free on the (emulated) GPU, a transfer on cuda is refused with exit 2
    and one line on stderr, before the network is built and without an output file."""
    from randstyle.engine.cli.main import main
    from randstyle.engine.model import network
    monkeypatch.setattr(cuda, "device_free_bytes", lambda: 40 * 2**20)
    built = []
    monkeypatch.setattr(network.Network, "__init__", lambda self, *a, **k: built.append(1))
    monkeypatch.chdir(tmp_path)
    code = main(["transfer", "--sr", "8000", "--n-fft", "256", "--hop-length", "64",
                 "--n-filters", "2048", "--maxiter", "1", "--quiet", "--backend", "cuda"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not built and list(tmp_path.iterdir()) == []
    assert len(err.splitlines()) == 1 and "GPU memory" in err and "40 MiB is free" in err


@emulated
def test_a_run_that_fits_the_gpu_runs(monkeypatch):
    from randstyle.engine.model import memory
    cfg = _sep_config()
    need = memory.device_bytes(cfg, 8000, [8000, 8000], 2)
    monkeypatch.setattr(cuda, "device_free_bytes", lambda: need + 1)
    assert memory.check_device(cfg, cuda, 8000, [8000, 8000], 2) == need
    monkeypatch.setattr(cuda, "device_free_bytes", lambda: need - 1)
    with pytest.raises(Exception, match="GPU memory"):
        memory.check_device(cfg, cuda, 8000, [8000, 8000], 2)


def test_separation_estimate_counts_logits_and_statistics():
    """The logits (sources x frames x bins), L-BFGS-B's vectors of them, and the shift and
    envelope statistics' rows all grow the estimate."""
    from randstyle.engine.model import memory
    n = 8000 * 60
    base = memory.estimate_bytes(_sep_config(shift_weight=0.0, style_weight=1.0), n, [n], 2)
    shift = memory.estimate_bytes(_sep_config(), n, [n], 2)
    envelope = memory.estimate_bytes(_sep_config(envelope_weight=1.0), n, [n], 2)
    cfg = _sep_config(shift_weight=0.0, style_weight=1.0)
    logits = 2 * (1 + n // cfg.mask_hop_length) * (cfg.mask_n_fft // 2 + 1)
    assert base - memory.estimate_bytes(engine_transfer_config(), n, [n], 2) > \
        (2 * cfg.maxcor + 12) * (logits - 2 * n) * 8
    assert shift > base + 2**30 and envelope > shift
    assert 0 < memory.device_bytes(cfg, n, [n], 2) < base
