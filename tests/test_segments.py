"""Long content in bounded memory (issue 32): segments that join back to the signal, that
resume one by one, whose memory the estimate covers, and that run alike on Dask."""
import json
import os
import resource
import subprocess
import sys

import numpy as np
import pytest
from helpers import TINY, write

from randstyle.engine.cli import main
from randstyle.engine.config import TransferConfig
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.run import interrupt, segments, spread

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SR = TINY["sr"]


def test_segments_cover_the_signal_exactly_once_after_joining():
    x = np.random.default_rng(1).standard_normal(10007).astype(np.float32)
    wins = segments.windows(len(x), 1000, 100)
    assert wins[0][0] == 0 and wins[-1][1] == len(x)
    assert all(e - s == 1000 for s, e in wins)
    assert all(b[0] <= a[1] - 100 for a, b in zip(wins, wins[1:]))  # overlap >= 100
    order = np.random.default_rng(2).permutation(len(wins))  # joined in any order
    out, done = np.zeros_like(x), set()
    for k in order:
        s, e = wins[k]
        segments.place(out, done, int(k), x[s:e], wins)
    assert np.array_equal(out, x)
    assert segments.windows(500, 1000, 100) == [(0, 500)]


def _identity(calls, stop_at=None):
    """An optimizer that returns its segment untouched (its content, or for a texture
    the segment's index as a level), recording the segments it ran."""
    def run_segment(command, cfg, content, styles, k, length, key, start=None):
        if stop_at is not None and len(calls) == stop_at:
            raise interrupt.Interrupted(15)
        calls.append(k)
        x = content.copy() if content is not None else np.full(length, k, np.float32)
        return x, {"nit": 1, "nfev": 1, "stop_reason": "identity", "interrupted": False,
                   "quality": {"style_distance": 1.0}, "config": {}}
    return run_segment


def test_an_identity_optimizer_gives_the_same_samples_back(monkeypatch):
    calls = []
    monkeypatch.setattr(segments, "run_segment", _identity(calls))
    content = np.random.default_rng(0).standard_normal(9 * SR).astype(np.float32)
    cfg = TransferConfig(**TINY)
    out, report = spread.run_song("transfer", content, np.ones(SR, np.float32), cfg,
                                  segment_s=2.0, overlap_s=0.5)
    assert np.array_equal(out, content)
    assert calls == list(range(len(calls))) and report["segments_total"] == len(calls) > 4
    assert report["nit"] == len(calls) and not report["interrupted"]


def test_a_finished_segment_is_resumed_not_recomputed(monkeypatch, tmp_path):
    content = np.random.default_rng(0).standard_normal(9 * SR).astype(np.float32)
    style, cfg, store = np.ones(SR, np.float32), TransferConfig(**TINY), str(tmp_path / "s")
    first = []
    monkeypatch.setattr(segments, "run_segment", _identity(first, stop_at=2))
    out, report = spread.run_song("transfer", content, style, cfg, segment_s=2.0,
                                  overlap_s=0.5, store=store)  # SIGTERM in the third
    assert first == [0, 1] and report["interrupted"] and report["segments_done"] == 2
    second = []
    monkeypatch.setattr(segments, "run_segment", _identity(second))
    resumed = TransferConfig(**TINY, threads=1, maxiter=7)  # options a resume may change
    out, report = spread.run_song("transfer", content, style, resumed, segment_s=2.0,
                                  overlap_s=0.5, store=store)
    assert second == list(range(2, report["segments_total"]))  # 0 and 1 from the store
    assert np.array_equal(out, content) and not report["interrupted"]
    # Another content does not take them.
    third = []
    monkeypatch.setattr(segments, "run_segment", _identity(third))
    spread.run_song("transfer", content * 0.5, style, cfg, segment_s=2.0, overlap_s=0.5,
                    store=store)
    assert third[:2] == [0, 1]


def _cli(*args) -> list:
    return [sys.executable, os.path.join(ROOT, "cli.py"), *map(str, args)]


def test_a_long_transfer_on_the_command_line_is_segmented(tmp_path, capsys):
    content = write(tmp_path / "c.wav", plucked_melody(5.0, SR), SR)
    style = write(tmp_path / "s.wav", drum_loop(2.0, SR), SR)
    out = tmp_path / "o.wav"
    # In this process: the command's options and report, not the process, are the subject.
    code = main([*map(str, ("transfer", content, style, "-o", out, "--sr", SR, "--n-fft", 256,
                            "--hop-length", 64, "--n-filters", 32, "--rhythm-filters", 16,
                            "--rhythm-kernel-size", 10, "--maxiter", 3, "--segment", 2,
                            "--overlap", 0.5))])
    err = capsys.readouterr().err
    assert code == 0, err
    report = json.load(open(tmp_path / "o.json"))
    assert report["segments_total"] == report["segments_done"] == 3
    assert report["n_samples"] == 5 * SR and "style_distance" in report["quality"]
    assert "in 3 segments of 2 s" in err and "of audio" in err
    assert not (tmp_path / "o.segments").exists()  # finished: the kept segments removed


def test_the_memory_estimate_covers_a_long_runs_peak(tmp_path):
    """A 16 s transfer in 4 s segments in a child process: its peak RSS against the
    estimate for one segment's run plus the whole signal."""
    sr, seconds = 22050, 16.0
    content = write(tmp_path / "c.wav", plucked_melody(seconds, sr), sr)
    style = write(tmp_path / "s.wav", drum_loop(3.0, sr), sr)
    opts = {"n_filters": 512, "rhythm_filters": 128, "maxiter": 2, "maxcor": 2}
    flags = [a for k, v in opts.items() for a in (f"--{k.replace('_', '-')}", v)]
    measure = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    res = subprocess.run([sys.executable, "-c", measure, *_cli(
        "transfer", content, style, "-o", tmp_path / "o.wav", "--quiet", "--segment", 4,
        "--overlap", 0.5, *flags)], capture_output=True, text=True, timeout=300)
    code, maxrss = map(int, res.stdout.split()[-2:])
    assert code == 0, res.stderr
    peak = maxrss * 1024
    n = int(seconds * sr)
    estimate = segments.estimate_bytes(TransferConfig(**opts), n, 4 * sr, [3 * sr], True)
    # 1.25: an estimate of the whole 16 s run (454 MiB against a 316 MiB peak) is outside
    assert peak / 1.25 < estimate < 1.25 * peak, (estimate / 2**20, peak / 2**20)
    whole = segments.memory.estimate_bytes(TransferConfig(**opts), n, [3 * sr])
    assert whole > 1.3 * estimate, (whole / 2**20, estimate / 2**20)  # segments bound it
    assert resource  # (used by the child)


def test_a_dask_run_equals_the_local_run():
    distributed = pytest.importorskip("distributed")
    content = plucked_melody(3.0, SR)
    style = drum_loop(1.0, SR)
    cfg = TransferConfig(**TINY, maxiter=3, threads=1)
    local, _ = spread.run_song("transfer", content, style, cfg, segment_s=1.0, overlap_s=0.2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp://", dashboard_address=":0") as cluster:
        remote, report = spread.run_song("transfer", content, style, cfg, segment_s=1.0,
                                         overlap_s=0.2,
                                         **spread.runner_for(1, cluster.scheduler_address, 1))
    assert report["segments_total"] == 4
    assert np.array_equal(local, remote)


def test_a_texture_of_any_length_runs_in_segments_joined_at_equal_power():
    noise = np.random.default_rng(3).standard_normal((2, 4000)).astype(np.float32)
    wins = [(0, 4000), (2000, 6000)]  # two independent noises over 2000 samples
    for power, low, high in ((True, 0.9, 1.1), (False, 0.6, 0.85)):
        out = segments.join({0: noise[0], 1: noise[1]}, wins, 6000, power)
        middle = np.sqrt(np.mean(out[2700:3300] ** 2))  # the crossfade's centre
        assert low < middle < high, (power, middle)
    from randstyle.engine.config import TextureConfig
    cfg = TextureConfig(**TINY, seconds=3.0, maxiter=2, networks=1, eval_every=0,
                        eval_patience=0)
    out, report = spread.run_song("texture", None, drum_loop(1.0, SR), cfg, segment_s=1.0,
                                  overlap_s=0.2)
    assert len(out) == 3 * SR and np.all(np.isfinite(out)) and np.std(out[SR:2 * SR]) > 0
    assert report["segments_total"] == report["segments_done"] == 4


@pytest.mark.parametrize("flags, message", [
    (["--jobs", "0"], "--jobs must be 1 or more"),
    (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "--jobs and --scheduler"),
    (["--segment", "-1"], "--segment must be above 0"),
    (["--segment", "2", "--overlap", "1"], "--overlap (1 s) must be under half"),
])
def test_bad_segment_options_are_one_line_and_exit_2(tmp_path, capsys, flags, message):
    from randstyle.engine.cli.main import main
    content = write(tmp_path / "c.wav", plucked_melody(1.0, SR), SR)
    style = write(tmp_path / "s.wav", drum_loop(1.0, SR), SR)
    out = tmp_path / "o.wav"
    assert main(["transfer", content, style, "-o", str(out), "--quiet", "--sr", str(SR),
                 *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_sigterm_keeps_the_finished_segments_and_resume_runs_only_the_rest(tmp_path):
    import signal
    import time
    content = write(tmp_path / "c.wav", plucked_melody(6.0, SR), SR)
    style = write(tmp_path / "s.wav", drum_loop(2.0, SR), SR)
    out, kept = tmp_path / "o.wav", tmp_path / "o.segments"
    flags = ["--sr", SR, "--n-fft", 256, "--hop-length", 64, "--n-filters", 32,
             "--rhythm-filters", 16, "--rhythm-kernel-size", 10, "--maxiter", 20,
             "--ftol", "1e-30", "--patience", 0, "--segment", 2, "--overlap", 0.5]
    proc = subprocess.Popen(_cli("transfer", content, style, "-o", out, *flags),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def finished() -> int:  # not the temporary files a write goes through
        return len([p for p in kept.glob("*.npz") if not p.name.startswith(".")])
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and \
            (not kept.exists() or finished() < 1):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 143, err
    done_before = finished()
    assert 1 <= done_before < 4 and json.load(open(tmp_path / "o.json"))["interrupted"]
    res = subprocess.run(_cli("transfer", "--resume", tmp_path / "o.ckpt.npz"),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"; {done_before} done before, resumed" in res.stderr
    report = json.load(open(tmp_path / "o.json"))
    assert report["segments_done"] == report["segments_total"] == 4
    assert not report["interrupted"] and not kept.exists()
