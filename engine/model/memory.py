"""Peak memory of a run, estimated from its options and signal lengths before anything is
allocated, and the check that refuses a run the machine cannot hold.

What a run holds at its peak (s = bytes per engine sample, F = --n-filters, B = n_fft/2 + 1,
R = the rhythm branch's channels, T = frames of the optimized signal):
  weights      K B F s (harmonic) + K_r n_mels R s + n_resid (K_res + 1) R^2 s (rhythm; the
               residual blocks' square weights); float64 draws them in float32 first
  Grams        3 F^2 s per harmonic Gram (the target, the Gram of the signal, the gradient's
               matrix) and 3 R^2 s per rhythm layer; one more set while several styles are
               averaged
  activations  the larger of an evaluation's (T frames) and a style chunk's (1024 frames):
               per frame, the DFT (2B), magnitude, log (B each), F and R channels per layer, and
               their gradients (x2), plus the im2col copy a narrow conv makes; with the band
               spectrum term its magnitudes, their square and its gradient (3B)
  optimizer    L-BFGS-B's 2 maxcor + 12 float64 vectors of the signal's samples, and the
               signals themselves (float32 in, float64 in the optimizer)
  runtime      the interpreter, NumPy, SciPy, Numba and its compiled kernels: 256 MiB
               (measured: 108 MiB after import, 247 MiB at the end of a tiny cpu run)
  separation   (separate) the optimized vector is the mask logits, sources x frames x bins
               of the mask STFT (float64), not the samples: L-BFGS-B's vectors are of that
               size; per evaluation the logits, their smoothing, masks and gradients (6), the
               mix's complex spectrum and the sources' (3 complex), the inverse STFT's frames
               (2 x n_fft per frame); and each source's statistics: the envelope branch's
               rows (bins x frames x envelope filters) and the shift branch's (positions x
               frames x shift filters), with their gradients
The optimizer's term is reached once L-BFGS-B has made maxcor iterations (its memory is
zeroed pages until written). Measured against the peak RSS of whole runs on the cpu backend
(estimate / measured): 1.14 (transfer, 4096 filters, 5 s content, 8 s style), 1.06 (2048
filters, 2 residual blocks), 1.09 (float64, 1024 filters, 10 s), 1.05 (texture of 30 s, 128
filters); tests/test_faults.py checks one within 1.5x.
"""
from __future__ import annotations

import math
import os
from typing import Any, Iterable, Optional

from engine.errors import ParameterError
from engine.model.fastfood import padded_size
from engine.signal import n_frames

STYLE_CHUNK_FRAMES = 1024  # as engine.model.network.STYLE_CHUNK_FRAMES
RUNTIME_BYTES = 256 * 2**20


def estimate_bytes(cfg: Any, n_samples: int, style_samples: Iterable[int] = (),
                   n_optimized: int = 1) -> int:
    """Peak bytes of a run with config ``cfg`` optimizing ``n_optimized`` signals of
    ``n_samples`` each, against styles of the given lengths."""
    s = 8 if cfg.dtype == "float64" else 4
    B = cfg.n_fft // 2 + 1
    F = cfg.n_filters
    R = cfg.rhythm_filters if cfg.rhythm_filters is not None else \
        (2048 if cfg.n_resid > 0 else 4096)
    rhythm_layers = 1 + cfg.n_resid
    harmonic = cfg.kernel_size * B * F  # values of the dense harmonic filters
    per_patch = 0  # the Fastfood conv's padded patch and its transforms, per frame
    if getattr(cfg, "harmonic_filters", "dense") == "fastfood":
        N = padded_size(cfg.kernel_size, B)
        harmonic = 4 * N * -(-F // N)  # signs, permutation, diagonal, scale per block
        per_patch = 2 * N * s
    # A transfer's content on mel features of its own band count has its own conv (the
    # network's "content_mel" branch): its weights and a layer of activations.
    content_mels = cfg.content_n_mels if getattr(cfg, "content_weight", 0) and \
        cfg.content_features == "mel" and cfg.content_n_mels != cfg.n_mels else 0
    mels = cfg.n_mels + content_mels
    weights = harmonic * s + cfg.rhythm_kernel_size * mels * R * s \
        + cfg.n_resid * (cfg.resid_kernel_size + 1) * R * R * s
    if s == 8:  # drawn in float32, then cast: both alive for a moment
        weights += harmonic * 4
    grams = 3 * (F * F + rhythm_layers * R * R) * s
    styles = list(style_samples)
    if len(styles) > 1:
        grams += (F * F + rhythm_layers * R * R) * s
    T = max(n_frames(n_samples, cfg.n_fft, cfg.hop_length), 1)
    # The band spectrum term holds the magnitudes, their square and its gradient (3 B).
    spectrum = 3 * B if getattr(cfg, "spectrum_weight", 0) > 0 else 0
    per_frame = (5 * B + spectrum + F + (rhythm_layers + (content_mels > 0)) * R) * s * 2 \
        + cfg.kernel_size * B * s + cfg.rhythm_kernel_size * mels * s + per_patch
    activations = per_frame * max(T * n_optimized, min(STYLE_CHUNK_FRAMES, max(
        [n_frames(n, cfg.n_fft, cfg.hop_length) for n in styles] or [0])))
    n = n_samples * n_optimized
    sep_device, logits = separation_bytes(cfg, n_samples, n_optimized, T, s)
    optimizer = (2 * getattr(cfg, "maxcor", 20) + 12) * (logits or n) * 8
    signals = 12 * n + sum(12 * k for k in styles)
    return int(RUNTIME_BYTES + weights + grams + activations + sep_device + optimizer + signals)


def separation_bytes(cfg: Any, n_samples: int, n_sources: int, T: int, s: int) -> tuple:
    """(bytes of separation's arrays during an evaluation, count of its logits): (0, 0) for
    any other mode. See the module's docstring."""
    n_fft = getattr(cfg, "mask_n_fft", None)
    if n_fft is None:
        return 0, 0
    frames = 1 + -(-n_samples // cfg.mask_hop_length)
    bins = n_fft // 2 + 1
    logits = n_sources * frames * bins
    arrays = logits * 8 * 6 + (1 + 2 * n_sources) * frames * bins * 16 \
        + n_sources * frames * n_fft * 8 * 2
    B = cfg.n_fft // 2 + 1
    if getattr(cfg, "envelope_weight", 0):
        arrays += B * T * (cfg.envelope_filters * 2 + cfg.envelope_width) * s
    if getattr(cfg, "shift_weight", 0):
        Kf = cfg.shift_octaves * 12  # as separation_stats.shift_patch: 12 bands an octave
        n_bands = int(math.floor(math.log2(cfg.sr / 2 / 65.4) * 12)) - 1  # from C2 to sr / 2
        positions = max(n_bands - Kf + 1, 1)
        arrays += positions * T * (cfg.shift_filters * 2 + cfg.shift_width * Kf) * s
    return arrays, logits


def device_bytes(cfg: Any, n_samples: int, style_samples: Iterable[int] = (),
                 n_optimized: int = 1) -> int:
    """The part of ``estimate_bytes`` a GPU holds: every array of the run but L-BFGS-B's
    vectors and the signals on the host, and the interpreter's own memory."""
    styles = list(style_samples)
    n = n_samples * n_optimized
    T = max(n_frames(n_samples, cfg.n_fft, cfg.hop_length), 1)
    s = 8 if cfg.dtype == "float64" else 4
    logits = separation_bytes(cfg, n_samples, n_optimized, T, s)[1]
    host = RUNTIME_BYTES + (2 * getattr(cfg, "maxcor", 20) + 12) * (logits or n) * 8 \
        + 12 * n + sum(12 * k for k in styles)
    return estimate_bytes(cfg, n_samples, styles, n_optimized) - int(host)


def check_device(cfg: Any, backend: Any, n_samples: int, style_samples: Iterable[int] = (),
                 n_optimized: int = 1) -> Optional[int]:
    """Refuse, in one line, a run whose arrays would not fit the GPU's free memory (the
    backend's ``device_free_bytes``), before anything is allocated on it; return the
    estimate (None for a backend without a device)."""
    free = getattr(backend, "device_free_bytes", lambda: None)()
    if free is None:
        return None
    need = device_bytes(cfg, n_samples, style_samples, n_optimized)
    if need > free:
        raise ParameterError(
            f"this run needs about {_mib(need)} of GPU memory (estimated from --n-filters, "
            f"--rhythm-filters, --n-resid and the signals' lengths) but {_mib(free)} is free "
            "on the device; use fewer filters, shorter clips or --backend cpu")
    return need


def available_bytes() -> Optional[int]:
    """Memory this process may still take: the smaller of the system's available memory and
    the room left under a cgroup (container) limit; None where neither can be read."""
    limits = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except OSError:
        try:
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            cap = f.read().strip()
        if cap != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                limits.append(int(cap) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def _mib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _resident_bytes() -> int:
    """This process's resident memory now (already in use, so not needed again)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def check(cfg: Any, n_samples: int, style_samples: Iterable[int] = (),
          n_optimized: int = 1) -> int:
    """Refuse, in one line, a run whose estimated peak exceeds what this process holds plus
    the memory available; return the estimate."""
    need = estimate_bytes(cfg, n_samples, style_samples, n_optimized)
    avail = available_bytes()
    have = None if avail is None else avail + _resident_bytes()
    if have is not None and need > have:
        raise ParameterError(
            f"this run needs about {_mib(need)} of memory (estimated from --n-filters, "
            f"--rhythm-filters, --n-resid and the signals' lengths) but {_mib(have)} is "
            "available; use fewer filters or shorter clips")
    return need
