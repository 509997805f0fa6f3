import os
import shutil
import sys

# One thread per test process (this one and the commands tests start), unless a test sets
# its own: on 2 cores with another process on one of them, BLAS and Numba threads that wait
# on each other made tests 6x slower (tests/test_end_to_end.py: 164 s against 27 s, measured
# on a loaded 2-core machine). Before NumPy or Numba is imported; a variable already set
# (a run that wants more threads) is kept. Tests of thread settings set them explicitly.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Bytecode shared by the suite's processes: under PYTHONDONTWRITEBYTECODE (set on some CI
# machines) each worker compiles this project's modules and rewrites every test module's
# asserts again, and each command a test runs compiles the engine again (collection: 8.1 CPU
# s a worker without bytecode, 4.6 with it, on a 2-core AVX2 EPYC). Written beside the
# sources, in the __pycache__ folders .gitignore already leaves out.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# Numba's LLVM optimization at level 1 for the suite's processes, not 3: the suite compiles
# every cpu kernel in both dtypes on a fresh machine, and runs them on tiny inputs, where
# level 3's vectorization buys little (the warm-up's parts, each alone with a fresh cache on
# a 2-core AVX2 EPYC: float32 48 -> 33 CPU s, float64 65 -> 57, librosa's 38 -> 26; since the
# cpu kernels left Numba's prange, float32 15 -> 10, float64 15 -> 13, docs/results/testing.md).
# The same source, the same numerics up to summation order.
# Cached apart from a user's runs (Numba's cache index does not record the level, so kernels
# cached here must never be loaded by a command run at level 3): under NUMBA_CACHE_DIR if
# one is set, else in the checkout's .numba_cache (gitignored).
if "NUMBA_OPT" not in os.environ:
    os.environ["NUMBA_OPT"] = "1"
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(
        os.environ.get("NUMBA_CACHE_DIR")
        or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        ".numba_cache"), "tests-opt1")

import pytest  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numba_cache_lock  # noqa: E402

from randstyle.kernels import cuda  # noqa: E402

numba_cache_lock.install()  # before any kernel compiles: tests/numba_cache_lock.py says why

# The cuda backend under test: the real GPU where one answers, else the same orchestration on
# NumPy arrays with the .cu kernels compiled for the CPU (kernels/cuda_host.py).
GPU = cuda.is_usable()
if not GPU and shutil.which("g++"):
    cuda.use_host_emulation()
CUDA_TESTABLE = cuda.is_usable()
# CI sets this: without it, a machine with neither a GPU nor g++ skips every cuda test and
# the suite stays green having tested none of that backend.
REQUIRE_CUDA = os.environ.get("RANDSTYLE_REQUIRE_CUDA_EMULATION") == "1"


@pytest.fixture(params=["cpu"] + (["cuda"] if CUDA_TESTABLE else []))
def fast(request):
    """Each fast backend (the ones with a parity test against numpy_ref)."""
    from randstyle.kernels import cpu
    return {"cpu": cpu, "cuda": cuda}[request.param]


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker more than the cores this process may use. A worker often waits
    (on a command a test runs in its own process, on a Dask scheduler's start, on a signal's
    delivery) while it holds no core; and beside another busy process, three workers on two
    cores get 3/4 of the machine, where two get 2/3 (measured with a busy loop on one core:
    the suite in 8:48 against 9:28, docs/results/testing.md)."""
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") \
        else (os.cpu_count() or 1) + 1


_warming: dict = {}


@pytest.hookimpl(trylast=True)  # after the terminal reporter is there to say so
def pytest_configure(config) -> None:
    # The process that starts pytest-xdist's workers (it has no workerinput of its own)
    # warms Numba's cache for them, its parts side by side: tests/warm_cache.py says why.
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        _start_warming(config.pluginmanager.get_plugin("terminalreporter"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """The workers start and collect while the warm-up runs (about 4 CPU s each: their
    imports); the controller schedules no test before this returns, so the first tests still
    find the cache warm. Only the engine's parts are waited for: librosa's goes on beside the
    tests, and the few tests that call librosa wait for it (the ``librosa`` fixture)."""
    import warm_cache
    _finish_warming(warm_cache.BLOCKING)


def pytest_unconfigure(config) -> None:
    _finish_warming()  # a session ended before any worker collected: no part left running


# Held (flock, exclusive) by librosa's warm-up part for as long as it runs: the lock is taken
# here and the part inherits its descriptor, so it is held before any worker can look.
LIBROSA_LOCK = "RANDSTYLE_TEST_LIBROSA_LOCK"


@pytest.fixture
def librosa():
    """librosa, once its warm-up part (tests/warm_cache.py) has compiled its guvectorized
    utilities: a test calling it earlier would compile them again beside that part (~30 CPU
    s, the warm-up's longest part)."""
    path = os.environ.get(LIBROSA_LOCK)
    if path and os.path.exists(path):
        import fcntl
        with open(path) as f:
            fcntl.flock(f, fcntl.LOCK_SH)  # waits while the part holds it
    return pytest.importorskip("librosa")


def _start_warming(say) -> None:
    import subprocess
    import time

    import warm_cache
    say.write_line("warming Numba's on-disk cache for the workers (a first run: ~1 min)")
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(here), *filter(None, [os.environ.get("PYTHONPATH")])]))
    parts = {}
    for part in warm_cache.PARTS:
        held = () if part in warm_cache.BLOCKING else (_librosa_lock(),)
        parts[part] = subprocess.Popen(
            [sys.executable, os.path.join(here, "warm_cache.py"), part], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, pass_fds=held)
        for fd in held:
            os.close(fd)  # the part's copy holds the lock until it exits
    _warming.update(say=say, start=time.perf_counter(), parts=parts)


def _librosa_lock() -> int:
    import fcntl
    import tempfile
    fd, path = tempfile.mkstemp(prefix="randstyle-librosa-warm-")
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.environ[LIBROSA_LOCK] = _warming["lock"] = path  # the workers, started later, inherit it
    return fd


def _finish_warming(only: tuple = ()) -> None:
    import time
    parts, say = _warming.get("parts", {}), _warming.get("say")
    waited = [part for part in parts if not only or part in only]
    for part in waited:
        proc = parts.pop(part)
        err = proc.communicate()[1].strip()
        if proc.returncode:  # the tests still run, each compiling what it needs
            last = err.splitlines()[-1] if err else f"exit {proc.returncode}"
            say.write_line(f"warming the {part} part failed: {last}")
    if waited and only:
        say.write_line(f"warm in {time.perf_counter() - _warming['start']:.0f} s")
    if not parts and _warming.get("lock"):  # the process that made it (not a worker)
        os.unlink(_warming.pop("lock"))


def pytest_sessionstart(session) -> None:
    if REQUIRE_CUDA and not CUDA_TESTABLE:
        pytest.exit("RANDSTYLE_REQUIRE_CUDA_EMULATION=1 but the cuda backend cannot be tested "
                    f"here: {cuda.unusable_reason()}, and no g++ for its host emulation",
                    returncode=3)


_pools: dict = {"modules": -1, "libraries": []}


def _thread_pools() -> list:
    """threadpoolctl's controllers of the BLAS/OpenMP libraries loaded, listed again only after
    new imports (listing them walks the process's shared libraries: 4 ms a test, 6 CPU s over
    the suite, where a test after the first few imports nothing new)."""
    from threadpoolctl import ThreadpoolController
    if len(sys.modules) != _pools["modules"]:
        _pools.update(modules=len(sys.modules),
                      libraries=ThreadpoolController().lib_controllers)
    return _pools["libraries"]


@pytest.fixture(autouse=True)
def _thread_settings_restored():
    """Each test leaves the thread settings as it found them: BLAS libraries' limits and the
    kernels' thread count (the cpu backend's blocks; no kernel runs on Numba's threads).
    Without this a test that runs a command with --threads 1 leaves every later test at one
    thread, and a test of a thread setting measures its "before" from whatever ran earlier
    (issue 21)."""
    from randstyle import kernels
    libraries = _thread_pools()
    saved = kernels._threads, [lib.num_threads for lib in libraries]
    yield
    kernels._threads = saved[0]
    for lib, n in zip(libraries, saved[1]):
        if lib.num_threads != n:
            lib.set_num_threads(n)


emulated = pytest.mark.skipif(GPU or not CUDA_TESTABLE,
                              reason="host emulation runs only where no GPU answers (and g++ "
                                     "is present)")


@pytest.fixture
def files(tmp_path):
    """Short clips at 8 kHz written as files, for the tool tests run with helpers.FAST (a
    module's own ``files`` fixture takes its place there)."""
    import numpy as np
    from helpers import sine, write

    from randstyle.engine.demo import drum_loop, plucked_melody
    SR = 8000
    return {
        "content": write(tmp_path / "content.wav", plucked_melody(1.5, SR), SR),
        "stereo": write(tmp_path / "stereo.wav", np.stack(
            [plucked_melody(1.5, SR), plucked_melody(1.5, SR, seed=3)], axis=1), SR),
        "six": write(tmp_path / "six.wav", np.stack(
            [plucked_melody(1.5, SR, seed=s) for s in range(6)], axis=1), SR),
        "drums": write(tmp_path / "drums.wav", drum_loop(2.0, SR), SR),
        "tone": write(tmp_path / "tone.wav", sine(2.0, SR, 300.0), SR),
    }
