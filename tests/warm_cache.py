"""Numba's on-disk cache made warm once, before parallel test workers start.

With `pytest -n N` every worker starts cold: each would compile the cpu backend's common
kernels (a small objective in float32 and float64: ~45 CPU s on a 2-core AVX2 EPYC) and
librosa's guvectorized utilities, compiled when librosa.util is first imported (~30 CPU s
before a first `librosa.stft`), for itself, at the same
moment, so that work would be done N times over; and a command a test runs as a child
process compiles what its parent has not cached yet (the default transfer's structured
filters and chroma term: ~15 CPU s in one test). Done here, the workers and their children
load it from the cache (~1 s).

The work is split into PARTS run as processes side by side (`python warm_cache.py PART`), so
a first run uses every core instead of one while the workers wait: the float32 part is what
a command runs (the default transfer, its kinds), the float64 part what the
finite-difference checks run (the same network in float64, structured filters, and the ops
they call one by one, in both dtypes), and librosa's chroma: about 10, 13 and 30 CPU s on a
2-core AVX2 EPYC. The workers wait for the first two only (BLOCKING); librosa's part goes on
beside the tests, and the tests calling librosa wait for it (tests/conftest.py).
"""
import sys

import numpy as np

PARTS = ("float32", "float64", "librosa")
# What the workers wait for before their first test; librosa's part runs on beside them
# (tests/conftest.py, the ``librosa`` fixture).
BLOCKING = ("float32", "float64")


def _ops(dtype: str) -> None:
    """The cpu backend's ops that the parity and finite-difference tests call on their own,
    outside any objective (their kernels compile for those tests alone otherwise)."""
    from randstyle.kernels import cpu

    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 8)).astype(dtype)
    G, cache = cpu.gram_forward(A)
    cpu.gram_backward(G, cache)
    loss, cache = cpu.gram_style_loss_forward(A, G, 0.5)
    cpu.gram_style_loss_backward(1.0, cache)
    cpu.l1_backward(1.0, cpu.l1_forward(np.abs(A), 0.1)[1])
    cpu.relu_backward(A, cpu.relu_forward(A.copy())[1])
    x = rng.standard_normal(600).astype(dtype)
    cpu.stft_fft_forward(x, np.hanning(64).astype(dtype), 16)
    Y, cache = cpu.conv1d_relu_forward(A, rng.standard_normal((3, 8, 4)).astype(dtype))
    cpu.conv1d_relu_backward(Y, cache)
    V = np.abs(A) + 0.1
    cpu.nmf_kl_ratio(V, V + 0.1)


def _objectives(dtype: str, harmonic_filters: str) -> None:
    from helpers import SMALL  # the network most tests build

    from randstyle import engine
    from randstyle.engine.demo import drum_loop, plucked_melody

    content, style = plucked_melody(0.5, SMALL["sr"]), drum_loop(0.5, SMALL["sr"])
    cfg = engine.NetworkConfig(**SMALL, dtype=dtype, harmonic_filters=harmonic_filters)
    obj = engine.Objective(engine.Network(cfg, backend="cpu"), content=content, style=style)
    obj.terms_and_grad(np.asarray(content, dtype))


def _commands() -> None:
    """The default transfer as tests/test_cli.py's commands run it: each kind the default
    chooses (under drums, under a tone) with its networks and chroma term."""
    from randstyle import engine
    from randstyle.engine.demo import drum_loop, plucked_melody

    sr = 8000
    content = plucked_melody(1.0, sr)
    tone = 0.3 * np.sin(2 * np.pi * 220.0 * np.arange(sr) / sr)
    for style in (drum_loop(1.2, sr), tone):
        engine.transfer(content, style, sr=sr, n_fft=256, hop_length=64, n_filters=32,
                        rhythm_filters=16, rhythm_kernel_size=10, maxiter=2, progress=False,
                        backend="cpu")


def _librosa() -> None:
    import librosa

    from randstyle.engine.demo import plucked_melody
    librosa.feature.chroma_stft(y=plucked_melody(0.5, 8000), sr=8000)


def warm(part: str) -> None:
    if part == "float32":
        _objectives("float32", "dense")
        _commands()
        _ops("float32")  # after the objective: only the kernels it has not compiled yet
    elif part == "float64":
        _objectives("float64", "dense")
        _objectives("float64", "fastfood")
        _ops("float64")
    else:
        _librosa()


if __name__ == "__main__":
    import numba_cache_lock  # the parts compile the same kernels in two dtypes side by side
    numba_cache_lock.install()
    warm(sys.argv[1])
