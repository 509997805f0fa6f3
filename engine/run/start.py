"""Where an optimization starts (``--init``): noise, noise with the style's spectrum, the
content, the content plus noise, or the style itself."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from engine.errors import ParameterError
from engine.run.texture_start import at_style_level, covered, rms, style_noise
from engine.run.texture_templates import template_noise

# The default start per mode, chosen by the quality measure (bench/quality.py, README
# "Quality"): on 10 s clips a transfer from the content plus noise with the style's
# spectrum, at the style's level, passed the old noise start's 300-iteration result in 0.07x
# (drum style) and 0.20x (chord pad) of its evaluations, closer to the content. For texture
# the templates start (the style's typical spectra played at random) came closest at equal
# CPU time on all three generated styles, under the evaluation network and a second held-out
# one (bench/texture.py, README "Textures").
DEFAULT_INIT = {"transfer": "mix", "texture": "templates"}
# A texture is a new sound: no start that copies the style's (or a content's) samples or
# time course; templates keeps only spectra and how long each lasts, not their order.
FITS = {"transfer": ("noise", "spectrum", "content", "mix", "style"),
        "texture": ("noise", "spectrum", "templates")}


def resolve_init(kind: str, mode: str) -> str:
    """``kind`` with "auto" replaced by the mode's default; a kind that does not fit the mode
    is a ParameterError."""
    kind = DEFAULT_INIT[mode] if kind == "auto" else kind
    if kind not in FITS[mode]:
        raise ParameterError(f"--init {kind} does not fit {mode}; choose from "
                             f"{', '.join(FITS[mode])}")
    return kind


def initial_signal(n_samples: int, config: Any) -> np.ndarray:
    """Small seeded noise on the samples the frames cover; zeros on the uncovered tail."""
    rng = np.random.default_rng(config.seed + 1)
    x = np.zeros(n_samples)
    n = covered(n_samples, config.n_fft, config.hop_length)
    x[:n] = rng.standard_normal(n) * config.init_std
    return x


def spectrum_noise(n_samples: int, styles: list, config: Any) -> np.ndarray:
    """Stationary noise with the styles' weighted long-term spectrum and power: random
    phases, so nothing of the styles' time course is copied (texture_start.style_noise, the
    start bench/texture.py measured)."""
    return style_noise(styles, n_samples, config.n_fft, config.hop_length, config.seed + 1)


def init_signal(kind: str, n_samples: int, content: Optional[np.ndarray], styles: list,
                config: Any) -> np.ndarray:
    """The starting signal (float64, ``n_samples``) of a resolved ``kind``; ``styles`` is
    [(signal, weight)] with weights summing to 1."""
    if kind == "noise":
        return initial_signal(n_samples, config)
    if kind == "spectrum":
        return spectrum_noise(n_samples, styles, config)
    if kind == "templates":
        return template_noise(styles, n_samples, config.n_fft, config.hop_length,
                              config.seed + 1)
    if kind == "style":  # the heaviest style, tiled (np.resize repeats it) or cut to length
        heaviest = max(styles, key=lambda pair: pair[1])[0]
        return np.resize(np.asarray(heaviest, dtype=np.float64), n_samples)
    if content is None:
        raise ParameterError(f"--init {kind} needs a content signal")
    x = np.asarray(content, dtype=np.float64).copy()
    if kind == "mix":  # the content plus the spectrum start, the noise at init_mix its RMS
        noise = spectrum_noise(n_samples, styles, config)
        level = rms(noise)
        if level > 0:
            x = x + noise * (config.init_mix * rms(x) / level)
    elif kind != "content":
        raise ParameterError(f"unknown --init {kind!r}")
    return at_style_level(x, styles)
