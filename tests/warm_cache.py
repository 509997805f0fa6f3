"""Numba's on-disk cache made warm once, before parallel test workers start.

With `pytest -n N` every worker starts cold: each compiles the cpu backend's common kernels
(a small objective in float32 and float64: ~45 CPU s on a 2-core AVX2 EPYC) and librosa's
stencils and tuning estimate (its chroma: ~30 CPU s) for itself, at the same moment, so that
work is done N times over. Done once here, in the process that starts the workers, they
load it from the cache (~1 s). Kernels used by few tests are left to whoever needs them
first: warming them here would only move their cost onto one core."""
import numpy as np


def warm() -> None:
    import librosa
    from helpers import SMALL  # the network most tests build

    from randstyle import engine
    from randstyle.engine.demo import drum_loop, plucked_melody

    sr = SMALL["sr"]
    content, style = plucked_melody(0.5, sr), drum_loop(0.5, sr)
    for dtype in ("float32", "float64"):
        cfg = engine.NetworkConfig(**SMALL, dtype=dtype)
        obj = engine.Objective(engine.Network(cfg, backend="cpu"), content=content,
                               style=style)
        obj.terms_and_grad(np.asarray(content, dtype))
    librosa.feature.chroma_stft(y=content, sr=sr)
