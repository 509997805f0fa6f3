"""Reconstruction against noise of the same energy."""
import numpy as np

from randstyle.engine.demo import plucked_melody

SR = 8000


def test_reconstruct_beats_noise_of_the_same_energy():
    """The time-domain reconstruction's spectral convergence against the content, next to a
    random signal with the result's energy: a method that returned noise scores ~1 (measured:
    0.52 after 50 iterations against 1.08 for noise)."""
    from randstyle import engine
    from randstyle.engine.run.reconstruct import reconstruct, spectral_convergence
    from randstyle.engine.signal import stft_magnitude
    content = plucked_melody(1.5, SR)
    cfg = engine.ReconstructConfig(sr=SR, n_fft=256, hop_length=64, n_filters=128,
                                   maxiter=60, griffin_lim_iters=2, progress=False)
    signals, report = reconstruct(content, cfg)
    target = stft_magnitude(content, 256, 64)
    y = signals["time"].astype(np.float64)
    noise = np.random.default_rng(0).standard_normal(len(y))
    noise *= np.linalg.norm(y) / np.linalg.norm(noise)
    sc, sc_noise = (spectral_convergence(s, target, 256, 64) for s in (y, noise))
    assert sc < 0.6 * sc_noise, (sc, sc_noise)
    assert abs(report["results"]["time"]["spectral_convergence"] - sc) < 1e-4  # honest report
