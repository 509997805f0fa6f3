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
With --networks N every network counts: a texture's N members (their own STFT sizes and
widths: the default three hold 1.9x one network's harmonic weights), a transfer's content
network beside its N style members; each keeps its weights and style targets, while the
activations and the transient Grams exist for one network at a time (they run in turn).
The windowed DFT basis (n_fft x (n_fft + 2)) exists only with --dft matrix.
The optimizer's term is reached once L-BFGS-B has made maxcor iterations (its memory is
zeroed pages until written). Measured against the peak RSS of whole runs on the cpu backend
(estimate / measured): 1.14 (transfer, 4096 filters, 5 s content, 8 s style), 1.06 (2048
filters, 2 residual blocks), 1.09 (float64, 1024 filters, 10 s), 1.05 (texture of 30 s, 128
filters); with the default three networks of a 10 s texture 1.06 (900 MiB against 850), a
10 s transfer with --networks 3 1.02 (1062 against 1043); tests/test_memory_estimate.py checks a
texture and an ensemble transfer within 1.5x.
"""
from __future__ import annotations

import math
import os
from typing import Any, Iterable, Optional

from randstyle.engine.errors import ParameterError
from randstyle.engine.model.ensemble import member_configs
from randstyle.engine.model.fastfood import padded_size
from randstyle.engine.signal import n_frames

STYLE_CHUNK_FRAMES = 1024  # as engine.model.network.STYLE_CHUNK_FRAMES
RUNTIME_BYTES = 256 * 2**20


def estimate_bytes(cfg: Any, n_samples: int, style_samples: Iterable[int] = (),
                   n_optimized: int = 1) -> int:
    """Peak bytes of a run with config ``cfg`` optimizing ``n_optimized`` signals of
    ``n_samples`` each, against styles of the given lengths."""
    s = 8 if cfg.dtype == "float64" else 4
    styles = list(style_samples)
    nets = networks(cfg, n_samples, styles)
    weights = sum(_weight_values(c, content) * s for c, _, content in nets)
    if s == 8:  # drawn in float32, then cast: both alive for a moment
        weights += max(_harmonic_values(c) for c, _, _ in nets) * 4
    # Every styled network keeps its targets; the signal's Grams and the gradient's
    # matrices (2 more) and, while several styles are averaged, one more set exist for one
    # network at a time (the members run in turn).
    grams = [_gram_values(c) * s for c, style, _ in nets if style]
    transient = 2 + (len(styles) > 1)
    grams_bytes = sum(grams) + transient * max(grams, default=0)
    activations = max(_activation_bytes(cfg, c, style, content, s, n_samples, styles,
                                        n_optimized) for c, style, content in nets)
    n = n_samples * n_optimized
    T = max(n_frames(n_samples, cfg.n_fft, cfg.hop_length), 1)
    sep_device, logits = separation_bytes(cfg, n_samples, n_optimized, T, s)
    optimizer = (2 * getattr(cfg, "maxcor", 20) + 12) * (logits or n) * 8
    signals = 12 * n + sum(12 * k for k in styles)
    return int(RUNTIME_BYTES + weights + grams_bytes + activations + sep_device + optimizer
               + signals)


def networks(cfg: Any, n_samples: int, style_samples: Iterable[int] = ()) -> list:
    """[(NetworkConfig, holds style terms, holds the content term)] of the networks a run
    builds: one, or with --networks N a texture's N members (1/N of the filters, their own
    STFT sizes and widths: engine/model/ensemble.py) or a transfer's content network beside
    its N style members."""
    base = cfg.network_config()
    content = bool(getattr(cfg, "content_weight", 0))
    n = getattr(cfg, "networks", 1)
    if n <= 1:
        return [(base, True, content)]
    shortest = min([n_samples] + list(style_samples))
    members = member_configs(base, n, cfg.member_widths("harmonic"), cfg.member_widths("rhythm"),
                             n_samples=shortest, n_ffts=cfg.member_n_ffts())
    out = [(m, True, False) for m in members]
    if content:  # a transfer: its content network, with its own style terms on --base-style
        out.insert(0, (base, bool(getattr(cfg, "base_style", False)), True))
    return out


def _harmonic_values(c: Any) -> int:
    """Values of the harmonic conv's weights: dense K B F, or the Fastfood blocks'."""
    B = c.n_fft // 2 + 1
    if c.harmonic_filters == "fastfood":
        N = padded_size(c.kernel_size, B)
        return 4 * N * -(-c.n_filters // N)  # signs, permutation, diagonal, scale per block
    return c.kernel_size * B * c.n_filters


def _content_mels(c: Any, content: bool) -> int:
    """A transfer's content on mel features of its own band count has its own conv (the
    network's "content_mel" branch): its bands, else 0."""
    return c.content_n_mels if content and c.content_features == "mel" and \
        c.content_n_mels != c.n_mels else 0


def _weight_values(c: Any, content: bool) -> int:
    """The values a network holds for its life: its convs' weights, and with --dft matrix
    the windowed DFT basis (n_fft x 2 B)."""
    R = c.rhythm_channels
    mels = c.n_mels + _content_mels(c, content)
    basis = c.n_fft * (c.n_fft + 2) if c.dft == "matrix" else 0
    return _harmonic_values(c) + c.rhythm_kernel_size * mels * R \
        + c.n_resid * (c.resid_kernel_size + 1) * R * R + basis


def _gram_values(c: Any) -> int:
    return c.n_filters ** 2 + (1 + c.n_resid) * c.rhythm_channels ** 2


def _activation_bytes(cfg: Any, c: Any, style: bool, content: bool, s: int, n_samples: int,
                      styles: list, n_optimized: int) -> int:
    """One network's activations at its peak: the larger of an evaluation's and a style
    chunk's frames, times what each frame holds (the module's docstring)."""
    B = c.n_fft // 2 + 1
    R = c.rhythm_channels
    content_mels = _content_mels(c, content)
    mels = c.n_mels + content_mels
    # The band spectrum term holds the magnitudes, their square and its gradient (3 B).
    spectrum = 3 * B if style and getattr(cfg, "spectrum_weight", 0) > 0 else 0
    per_patch = 2 * padded_size(c.kernel_size, B) * s if c.harmonic_filters == "fastfood" \
        else 0
    per_frame = (5 * B + spectrum + c.n_filters + (1 + c.n_resid + (content_mels > 0)) * R) \
        * s * 2 + c.kernel_size * B * s + c.rhythm_kernel_size * mels * s + per_patch
    T = max(n_frames(n_samples, c.n_fft, c.hop_length), 1)
    chunk = min(STYLE_CHUNK_FRAMES, max([n_frames(n, c.n_fft, c.hop_length) for n in styles]
                                        or [0])) if style else 0
    return per_frame * max(T * n_optimized, chunk)


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
