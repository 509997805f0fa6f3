"""Content-only reconstruction from noise, two ways (the seed's phase experiment):

(a) time domain: optimize the samples through the DFT conv, so phase comes for free;
(b) Ulyanov & Lebedev's way: optimize the log-magnitude spectrogram S against the same
    features, then recover a signal from expm1(S) with Griffin-Lim.

Both are scored by the spectral convergence of the resulting signal's STFT magnitude against
the content's: || |STFT(y)| - |STFT(content)| ||_F / || |STFT(content)| ||_F.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

from randstyle.engine.config import ReconstructConfig
from randstyle.engine.model import passes
from randstyle.engine.model.objective import Objective
from randstyle.engine.run import interrupt
from randstyle.engine.run.common import (
    announce,
    build_network,
    gemm_precision,
    resolve,
    run_report,
)
from randstyle.engine.run.optimize import lbfgs
from randstyle.engine.run.start import initial_signal
from randstyle.engine.signal import frame, hann_window, overlap_add, stft_magnitude


def spectral_convergence(x: np.ndarray, target_mag: np.ndarray, n_fft: int,
                         hop_length: int) -> float:
    mag = stft_magnitude(x, n_fft, hop_length)
    return float(np.linalg.norm(mag - target_mag) / np.linalg.norm(target_mag))


def istft(spec: np.ndarray, n_fft: int, hop_length: int, n_samples: int) -> np.ndarray:
    """Least-squares inverse of the windowed "valid" STFT: overlap-add of windowed frames,
    divided by the summed squared window (where it is not ~0)."""
    window = hann_window(n_fft)
    frames = np.fft.irfft(spec, n=n_fft, axis=1) * window
    x = overlap_add(frames, n_samples, hop_length)
    wsum = overlap_add(np.tile(window ** 2, (spec.shape[0], 1)), n_samples, hop_length)
    return x / np.maximum(wsum, 1e-8)


def griffin_lim(magnitude: np.ndarray, n_fft: int, hop_length: int, n_samples: int,
                n_iter: int = 100, seed: int = 0) -> np.ndarray:
    """Griffin & Lim (1984): alternate between the target magnitude with the current phase
    and the phase of the signal that spectrogram implies."""
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random(magnitude.shape))
    window = hann_window(n_fft)
    x = istft(magnitude * phase, n_fft, hop_length, n_samples)
    for _ in range(n_iter):
        spec = np.fft.rfft(frame(x, n_fft, hop_length) * window, axis=1)
        phase = np.exp(1j * np.angle(spec))
        x = istft(magnitude * phase, n_fft, hop_length, n_samples)
    return x


class SpectrogramObjective:
    """||relu(conv(S)) - A(content)||^2 over the log-magnitude S itself (Ulyanov's variable)."""

    def __init__(self, network, target: Any, shape: tuple) -> None:
        self.network, self.target, self.shape = network, target, shape

    def terms_and_grad(self, s: np.ndarray) -> tuple[dict, np.ndarray]:
        net, b = self.network, self.network.backend
        S = net.asarray(np.asarray(s).reshape(self.shape))
        A, cache = passes.conv_relu_forward(b, net._dev["harmonic"], S)
        loss, l_cache = b.content_loss_forward(A, self.target, 1.0)
        loss = float(loss)  # a GPU backend's loss is a device scalar
        dS = passes.conv_relu_backward(b, net._dev["harmonic"],
                                       b.content_loss_backward(1.0, l_cache), cache)
        return {"content": loss, "total": loss}, np.asarray(b.to_numpy(dS),
                                                            dtype=np.float64).ravel()


def reconstruct(content: np.ndarray, config: Optional[ReconstructConfig] = None,
                **overrides: Any) -> tuple[dict, dict]:
    """Both reconstructions of ``content`` from noise. Returns ({"time": signal,
    "griffinlim": signal}, report with spectral convergence, iterations and time of each).
    An interrupted run (Ctrl-C, SIGTERM) returns what it has: the time domain's best signal
    so far, and no Griffin-Lim result unless that method finished; report["interrupted"]."""
    started = time.perf_counter()
    cfg = resolve(ReconstructConfig, config, overrides)
    net = build_network(cfg, {"content": (content, ("harmonic",))})
    announce(cfg, net, "content features")
    c = net.config
    target_mag = stft_magnitude(content, c.n_fft, c.hop_length)
    obj = Objective(net, content=content, content_weight=1.0)
    results, signals = {}, {}

    t = time.perf_counter()
    with gemm_precision(cfg, net):
        res = lbfgs(obj, initial_signal(len(content), cfg), maxiter=cfg.maxiter,
                    ftol=cfg.ftol, maxcor=cfg.maxcor, bounds=cfg.bounds,
                    progress=cfg.progress, desc="time domain")
    signals["time"] = res.x.astype(np.float32)
    results["time"] = {"spectral_convergence": spectral_convergence(
        res.x, target_mag, c.n_fft, c.hop_length), "lbfgs_iterations": res.nit,
        "stop_reason": res.message,
        "final_loss": res.history[-1]["total"] if res.history else res.initial["total"],
        "wall_time_s": time.perf_counter() - t, "interrupted": res.interrupted}
    if res.interrupted:  # stop here: the time domain's best so far is the result
        return signals, _report(cfg, net, results, started, interrupted=True)

    t = time.perf_counter()
    spec_obj = SpectrogramObjective(net, obj.content_target, target_mag.shape)
    s0 = np.abs(np.random.default_rng(cfg.seed + 1).standard_normal(target_mag.size)) * 1e-3
    with gemm_precision(cfg, net):
        res_s = lbfgs(spec_obj, s0, maxiter=cfg.maxiter, ftol=cfg.ftol, maxcor=cfg.maxcor,
                      bounds=False, progress=cfg.progress, desc="spectrogram")
    if res_s.interrupted:  # no Griffin-Lim from a spectrogram half optimized
        return signals, _report(cfg, net, results, started, interrupted=True)
    t_opt = time.perf_counter() - t
    magnitude = np.expm1(np.maximum(res_s.x.reshape(target_mag.shape), 0))
    try:
        y = griffin_lim(magnitude, c.n_fft, c.hop_length, len(content),
                        cfg.griffin_lim_iters, cfg.seed)
    except BaseException as exc:  # Ctrl-C or SIGTERM here: the time domain's result stands
        if interrupt.wrapped(exc) is None:
            raise
        return signals, _report(cfg, net, results, started, interrupted=True)
    signals["griffinlim"] = y.astype(np.float32)
    results["griffinlim"] = {"spectral_convergence": spectral_convergence(
        y, target_mag, c.n_fft, c.hop_length), "lbfgs_iterations": res_s.nit,
        "stop_reason": res_s.message,
        "griffin_lim_iterations": cfg.griffin_lim_iters,
        # How far the optimized magnitude itself is from the target, before any phase:
        "magnitude_spectral_convergence": float(np.linalg.norm(magnitude - target_mag)
                                                / np.linalg.norm(target_mag)),
        "final_loss": res_s.history[-1]["total"] if res_s.history else res_s.initial["total"],
        "optimize_time_s": t_opt, "wall_time_s": time.perf_counter() - t}
    return signals, _report(cfg, net, results, started, interrupted=False)


def _report(cfg: ReconstructConfig, net: Any, results: dict, started: float,
            interrupted: bool) -> dict:
    return run_report("reconstruct", cfg, net, started, results=results,
                      interrupted=interrupted)
