"""Reconstruction from a magnitude: Griffin-Lim and the spectrogram objective, on every backend."""
import numpy as np
from conftest import emulated
from helpers import SMALL, write

from randstyle.engine.cli import main
from randstyle.engine.demo import plucked_melody
from randstyle.engine.run.reconstruct import griffin_lim, reconstruct, spectral_convergence
from randstyle.engine.signal import stft_magnitude

SR = SMALL["sr"]
FAST = dict(SMALL, rhythm_filters=64, backend="cpu", progress=False)


def test_griffin_lim_converges_on_a_true_magnitude():
    x = plucked_melody(1.0, SR).astype(np.float64)
    mag = stft_magnitude(x, 256, 64)
    sc = [spectral_convergence(griffin_lim(mag, 256, 64, len(x), n, seed=0), mag, 256, 64)
          for n in (0, 30)]
    assert sc[1] < 0.5 * sc[0], sc


def test_reconstruct_reports_both_methods(tmp_path, capsys):
    signals, report = reconstruct(plucked_melody(1.0, SR), **FAST, maxiter=10,
                                  griffin_lim_iters=5)
    for method in ("time", "griffinlim"):
        r = report["results"][method]
        assert 0 < r["spectral_convergence"] < 2 and r["wall_time_s"] > 0
        assert signals[method].shape == (SR,)
    path = write(tmp_path / "c.wav", plucked_melody(1.0, SR), SR)
    prefix = str(tmp_path / "out")
    assert main(["reconstruct", path, "-o", prefix, "--sr", "8000", "--n-fft", "256",
                 "--hop-length", "64", "--n-filters", "32", "--maxiter", "3",
                 "--griffin-lim-iters", "2", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == prefix
    for suffix in ("_time.wav", "_griffinlim.wav", ".json"):
        assert (tmp_path / f"out{suffix}").exists()
    assert main(["reconstruct", path, "-o", prefix, "--quiet"]) == 2  # no clobbering


TINY = dict(sr=8000, n_fft=32, hop_length=8, n_filters=8, kernel_size=3, n_mels=4,
            rhythm_filters=6, rhythm_kernel_size=5)


@emulated
def test_reconstructs_spectrogram_objective_on_cuda():
    from helpers import numeric_grad, rel_error

    from randstyle import engine
    from randstyle.engine.run.reconstruct import SpectrogramObjective
    rng = np.random.default_rng(6)
    out = {}
    for backend in ("numpy", "cuda"):
        net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"), backend=backend)
        target = net.asarray(np.abs(rng.standard_normal((20 - 2, 8))))
        obj = SpectrogramObjective(net, target, (20, 17))
        s = np.random.default_rng(7).standard_normal(20 * 17)
        out[backend] = obj.terms_and_grad(s) + (obj, s)
        rng = np.random.default_rng(6)
    (t, g, obj, s), (rt, rg, _, _) = out["cuda"], out["numpy"]
    assert abs(t["total"] - rt["total"]) < 1e-12 * rt["total"] and rel_error(g, rg) < 1e-12
    assert rel_error(g, numeric_grad(lambda v: obj.terms_and_grad(v)[0]["total"], s)) < 1e-6
