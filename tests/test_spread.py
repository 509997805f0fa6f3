"""One song's segments spread over a Dask cluster (engine/run/spread.py): fed to the
workers as they free up, never all queued at once, and each segment's report saying
where and when it ran (the schedule bench/songs.py records)."""
import os

import numpy as np
import pytest
from helpers import TINY

from randstyle.engine.config import TransferConfig
from randstyle.engine.run import segments, spread

SR = TINY["sr"]


def _slow_identity(log: list, seconds: float):
    """An optimizer that returns its content after ``seconds``, logging how many segments
    had been submitted and how many had finished when it started."""
    import time

    def run_segment(command, cfg, content, styles, k, length, key, start=None):
        log.append((len(log_submitted), sum(1 for e in log if e == "done")))
        time.sleep(seconds)
        log.append("done")
        return content.copy(), {"nit": 1, "nfev": 1, "stop_reason": "identity",
                                "interrupted": False, "quality": {}, "config": {}}
    log_submitted: list = []
    return run_segment, log_submitted


def test_a_dask_song_keeps_no_more_segments_in_flight_than_threads(monkeypatch):
    distributed = pytest.importorskip("distributed")
    log: list = []
    fake, submitted = _slow_identity(log, 0.1)
    monkeypatch.setattr(segments, "run_segment", fake)
    submit = distributed.Client.submit

    def counted(self, *args, **kwargs):
        submitted.append(kwargs.get("key"))
        return submit(self, *args, **kwargs)
    monkeypatch.setattr(distributed.Client, "submit", counted)
    content = np.random.default_rng(0).standard_normal(5 * SR).astype(np.float32)
    # In-process workers: the monkeypatched optimizer is theirs too.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp://", dashboard_address=":0") as cluster:
        out, report = spread.run_song("transfer", content, np.ones(SR, np.float32),
                                      TransferConfig(**TINY), segment_s=1.0, overlap_s=0.2,
                                      **spread.runner_for(1, cluster.scheduler_address, 1))
        workers = set(cluster.scheduler.workers)
    n = report["segments_total"]
    assert n >= 6 and len(submitted) == n and np.array_equal(out, content)
    starts = [e for e in log if e != "done"]
    assert len(starts) == n
    # When a segment starts, at most the cluster's 2 threads' worth are out unfinished.
    assert all(sub - finished <= 2 for sub, finished in starts), starts
    ran = [p["ran"] for p in report["segments"]]
    assert all(r["worker"] in workers and r["pid"] == os.getpid() for r in ran)
    assert all(r["began"] <= r["ended"] for r in ran)
    assert len({r["worker"] for r in ran}) == 2  # both workers ran segments


def test_a_local_song_reports_where_and_when_each_segment_ran(monkeypatch):
    log: list = []
    fake, _ = _slow_identity(log, 0.0)
    monkeypatch.setattr(segments, "run_segment", fake)
    content = np.random.default_rng(0).standard_normal(4 * SR).astype(np.float32)
    _, report = spread.run_song("transfer", content, np.ones(SR, np.float32),
                                TransferConfig(**TINY), segment_s=1.0, overlap_s=0.2)
    ran = [p["ran"] for p in report["segments"]]
    assert len(ran) == report["segments_total"] > 1
    assert all(r["pid"] == os.getpid() and r["worker"] is None for r in ran)
    assert all(a["ended"] <= b["began"] for a, b in zip(ran, ran[1:]))  # one after another
