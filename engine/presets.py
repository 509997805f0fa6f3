"""Named sets of options. A preset sets only what the user did not set on the command line."""
from __future__ import annotations

from randstyle.engine.errors import ParameterError

PRESETS: dict = {
    "demo": {"n_filters": 2048, "rhythm_filters": 2048, "maxiter": 100},
    "fast": {"n_filters": 1024, "rhythm_filters": 1024, "maxiter": 150},
    # The seed's settings (Barry & Kim): harmonic 4096 x 11 on 1025 bins, one rhythm layer of
    # 4096 x 50 on 8 mel bands without per-band normalization, balanced losses, from noise
    # with the content at full weight, and no band spectrum term.
    "paper": {"sr": 22050, "n_fft": 2048, "hop_length": 512, "n_filters": 4096,
              "kernel_size": 11, "n_mels": 8, "mel_norm": "none", "rhythm_filters": 4096,
              "rhythm_kernel_size": 50, "n_resid": 0, "balance": True, "maxiter": 500,
              "init": "noise", "content_weight": 1.0,
              "spectrum_weight": 0.0, "harmonic_filters": "dense", "style_kind": "none",
              "chroma_weight": 0.0},
    # A transfer that takes the style much further, for a style whose spectrum is far from
    # the content's (drums under a piano): the style through three networks at three STFT
    # sizes beside the content's (engine/model/ensemble.py), each with the style's average
    # band spectrum (docs/design.md §14), the content held on 64 mel bands, the structured
    # filters (as close, sooner). Measured on real instruments (docs/results/quality.md): far closer
    # by both measuring networks at a little less content; a sparse generated melody loses
    # its notes.
    "percussive": {"networks": 3, "harmonic_filters": "fastfood", "content_features": "mel",
                   "content_n_mels": 64, "spectrum_weight": 16.0, "content_weight": 1.5},
}
# Presets of one mode: a texture has no content to trade for style.
MODES: dict = {"percussive": ("transfer",)}


def names(mode: str) -> list:
    """The presets a mode takes (a preset without a MODES entry serves every mode)."""
    return [name for name in PRESETS if mode in MODES.get(name, (mode,))]


def describe(mode: str) -> str:
    """The presets of ``mode`` with their values, for that command's --help."""
    return "; ".join(f"{name}: " + ", ".join(f"{k}={v}" for k, v in PRESETS[name].items())
                     for name in names(mode))


def apply(args, name: str, explicit: set, mode: str) -> dict:
    """Set the preset's values on ``args`` except those in ``explicit``; returns what it set.
    A preset of other modes than ``mode`` is refused (ParameterError)."""
    if mode not in MODES.get(name, (mode,)):
        raise ParameterError(f"--preset {name} is for {' and '.join(MODES[name])} only, "
                             f"not {mode}")
    applied = {k: v for k, v in PRESETS[name].items() if k not in explicit and hasattr(args, k)}
    for k, v in applied.items():
        setattr(args, k, v)
    return applied
