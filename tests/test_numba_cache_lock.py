"""tests/numba_cache_lock.py: two saves of one function's overloads at the same moment keep
both, each under its own data file (without the lock both take ``name.1.nbc``)."""
import threading
import time

import numba_cache_lock
import pytest
from numba.core import caching


def _slow_index_reads(monkeypatch) -> None:
    """Each save's read of the index lingers, so that two saves overlap for certain."""
    load = caching.IndexDataCacheFile._load_index

    def slow(self):
        overloads = load(self)
        time.sleep(0.3)
        return overloads
    monkeypatch.setattr(caching.IndexDataCacheFile, "_load_index", slow)


def _save_both_at_once(folder) -> dict:
    files = [caching.IndexDataCacheFile(str(folder), "kernel", "stamp") for _ in range(2)]
    threads = [threading.Thread(target=f.save, args=(key, {"compiled for": key}))
               for f, key in zip(files, ("float32", "float64"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader = caching.IndexDataCacheFile(str(folder), "kernel", "stamp")
    return {key: reader.load(key) for key in ("float32", "float64")}


@pytest.mark.skipif(numba_cache_lock.fcntl is None, reason="no POSIX file locks here")
def test_two_overloads_saved_at_once_each_load_their_own(tmp_path, monkeypatch):
    _slow_index_reads(monkeypatch)
    monkeypatch.setattr(caching.IndexDataCacheFile, "save", caching.IndexDataCacheFile.save)
    numba_cache_lock.install()  # idempotent: conftest installed it; the wrapped save runs
    loaded = _save_both_at_once(tmp_path)
    assert loaded == {"float32": {"compiled for": "float32"},
                      "float64": {"compiled for": "float64"}}
