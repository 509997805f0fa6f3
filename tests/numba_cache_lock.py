"""Numba's on-disk cache written by one process at a time, in the suite's processes.

Numba saves a compiled overload by reading the function's cache index, taking the first data
file name the index does not list (``name.1.nbc``, ``name.2.nbc``, ...), and writing the index
and then the data. Two processes that compile the same function for different types at the
same moment (the warm-up's float32 and float64 parts side by side, or two workers) can both
take ``name.1.nbc``: the index then names one type's overload and the file holds the other's,
and every later process that loads it fails with "can't unbox array from PyObject into native
value" (seen once in CI: 20 float32 tests failed). Holding an exclusive lock on a file beside
the index for the whole save makes the second process read the first one's index and take
the next name.
"""
import functools

try:
    import fcntl
except ImportError:  # no POSIX locks (Windows): saves stay as Numba makes them
    fcntl = None


def install() -> None:
    """Wrap numba's IndexDataCacheFile.save in the lock (once per process)."""
    from numba.core import caching
    save = caching.IndexDataCacheFile.save
    if fcntl is None or getattr(save, "locked", False):
        return

    @functools.wraps(save)
    def locked_save(self, key, data):
        with open(self._index_path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            return save(self, key, data)

    locked_save.locked = True
    caching.IndexDataCacheFile.save = locked_save
