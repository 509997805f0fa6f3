"""The level a result is written at: integrated loudness (ITU-R BS.1770, via pyloudnorm) of
what the result stands for, under a true-peak ceiling.

Modes (``--loudness``):

- ``match`` (default): the output's integrated loudness is that of its reference (a transfer's
  content, a texture's styles, a reconstruction's content);
- ``peak``: the output's true peak is brought to the ceiling (the loudest it can be);
- ``-N``: the output's integrated loudness is N LUFS.

In every mode the true peak (4x oversampled, as BS.1770-4 Annex 2 estimates it) ends at most
``CEILING_DBTP``, never clipped. Where the loudness target would put it above, a single result
(``limit=True``: transfer, texture, reconstruct) has its peaks limited, by a smooth look-ahead
gain of at most ``LIMIT_MAX_DB``, so it still reaches the target; past that, and for the
sources of a separation (which must keep summing to their mix), the gain is lowered instead.
A reference or result that is all below the -70 LUFS absolute gate has no integrated
loudness: the gain is then 1 (match) and the report says why.
"""
from __future__ import annotations

import math
from typing import Optional, Union

import numpy as np
import pyloudnorm
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from engine.errors import ParameterError

CEILING_DBTP = -1.0
OVERSAMPLE = 4
BLOCK_S = 0.4  # BS.1770's gating block: shorter signals are measured as a loop of themselves
GATE_LUFS = -70.0
MAX_CHANNELS = 5  # pyloudnorm's BS.1770 channel weights stop at five
LIMIT_MAX_DB = 6.0  # the most the limiter takes off a peak; beyond, the whole result goes down
LIMIT_RAMP_S = 0.01  # the limiter's gain moves over this long (attack before a peak, release)
# The 4x oversampling runs over blocks of this many samples, each with MARGIN samples of its
# neighbours (more than resample_poly's filter reaches: 10 input samples a side): a 10-minute
# song oversampled whole held four float64 copies of itself twice over, 0.8 GB (issue 32).
OVERSAMPLE_BLOCK = 1 << 18
OVERSAMPLE_MARGIN = 32
Mode = Union[str, float]


def parse_mode(value: Union[str, float, None]) -> Mode:
    """``match``, ``peak`` or a target in LUFS (a negative number above the -70 LUFS gate);
    anything else is one ParameterError line."""
    text = "match" if value is None else str(value).strip()
    if text in ("match", "peak"):
        return text
    try:
        target = float(text)
    except ValueError:
        target = math.nan
    if not GATE_LUFS < target < 0:  # NaN fails too
        raise ParameterError(f"--loudness must be match, peak or a target in LUFS between "
                             f"{GATE_LUFS:g} and 0 (e.g. -16), got {value!r}")
    return target


def _channels_last(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x


def integrated(x: np.ndarray, sr: int) -> Optional[float]:
    """Integrated loudness in LUFS of a mono (N,) or multichannel (N, C) signal; None when it
    is all below the absolute gate (silence). A signal shorter than one 400 ms block is
    measured repeated to that length (the loudness of it played as a loop)."""
    y = _channels_last(x)
    block = int(math.ceil(BLOCK_S * sr)) + 1
    if len(y) == 0:
        return None
    if len(y) < block:
        y = np.tile(y, (int(math.ceil(block / len(y))), 1))
    if y.shape[1] > MAX_CHANNELS:  # beyond 5.0: the channels' loudness summed as power
        levels = [integrated(y[:, c], sr) for c in range(y.shape[1])]
        heard = [v for v in levels if v is not None]
        return 10 * math.log10(sum(10 ** (v / 10) for v in heard)) if heard else None
    with np.errstate(divide="ignore"):
        value = pyloudnorm.Meter(sr).integrated_loudness(y)
    return float(value) if np.isfinite(value) and value > GATE_LUFS else None


def true_peak(x: np.ndarray) -> float:
    """Linear true peak: the largest magnitude of the signal upsampled 4x (polyphase)."""
    y = _channels_last(x)
    if not y.size:
        return 0.0
    return float(_peak_envelope(y).max())


def _peak_envelope(y: np.ndarray) -> np.ndarray:
    """Per sample of y (N, C): the largest magnitude over the channels, the sample itself
    and the 4x oversampled values that follow it; the oversampling block by block (each
    block's values are those of the whole signal's: its margins hold what the filter
    reaches), so that memory does not grow with four copies of a long signal."""
    n, env = len(y), np.empty(len(y))
    for s in range(0, n, OVERSAMPLE_BLOCK):
        e = min(n, s + OVERSAMPLE_BLOCK)
        lo, hi = max(0, s - OVERSAMPLE_MARGIN), min(n, e + OVERSAMPLE_MARGIN)
        up = np.abs(resample_poly(y[lo:hi], OVERSAMPLE, 1, axis=0)).max(axis=1)
        up = up[OVERSAMPLE * (s - lo):OVERSAMPLE * (e - lo)].reshape(e - s, OVERSAMPLE)
        env[s:e] = np.maximum(np.abs(y[s:e]).max(axis=1), up.max(axis=1))
    return env


def db(value: float) -> Optional[float]:
    return 20 * math.log10(value) if value > 0 else None


def reference_loudness(references: list, sr: int) -> Optional[float]:
    """The loudness a result stands for: one signal's, or of [(signal, weight)] the
    weight-averaged power of their loudness (several styles)."""
    pairs = [(r, 1.0) if not isinstance(r, tuple) else r for r in references]
    levels = [(integrated(r, sr), w) for r, w in pairs]
    heard = [(v, w) for v, w in levels if v is not None]
    if not heard:
        return None
    total = sum(w for _, w in heard)
    return 10 * math.log10(sum(w * 10 ** (v / 10) for v, w in heard) / total)


def plan(signals: list, sr: int, mode: Mode, reference: Optional[float] = None) -> dict:
    """One gain for all of ``signals`` (one result, or the sources of a separation, which
    must keep summing to their mix): the target of ``mode`` measured on their sum (``match``:
    ``reference`` LUFS), lowered until every signal's true peak is under the ceiling. Returns
    the report: mode, target, loudness before, gain (linear and dB), whether the ceiling
    bound it."""
    total = np.sum([_channels_last(s) for s in signals], axis=0)
    before = integrated(total, sr)
    peak = max(true_peak(s) for s in signals)
    ceiling = 10 ** (CEILING_DBTP / 20)
    target = reference if mode == "match" else None if mode == "peak" else float(mode)
    out: dict = {"mode": mode if isinstance(mode, str) else "lufs",
                 "target_lufs": target, "input_lufs": reference, "before_lufs": before}
    if mode == "peak":
        gain = ceiling / peak if peak > 0 else 1.0
    elif target is None or before is None:
        gain = 1.0
        out["note"] = ("the reference is silent (below the -70 LUFS gate): level kept"
                       if before is not None else "the result is silent: level kept")
    else:
        gain = 10 ** ((target - before) / 20)
    limited = peak * gain > ceiling
    if limited:
        gain = ceiling / peak
    out.update(gain=gain, gain_db=db(gain), ceiling_dbtp=CEILING_DBTP,
               limited_by_ceiling=bool(limited))
    return out


def apply(signals: list, sr: int, plan_: dict) -> tuple:
    """``signals`` times the planned gain, as float32, and the plan completed with the output
    loudness and true peak (measured on what will be written)."""
    return _written([(np.asarray(s, dtype=np.float64) * plan_["gain"]).astype(np.float32)
                     for s in signals], sr, plan_)


def _written(out: list, sr: int, plan_: dict) -> tuple:
    """(out, the plan completed with what will be written: the sum's loudness, the highest
    true peak of any one signal)."""
    total = np.sum([_channels_last(s) for s in out], axis=0)
    return out, dict(plan_, output_lufs=integrated(total, sr),
                     output_true_peak_dbtp=db(max(true_peak(s) for s in out)))


def limiter_gain(x: np.ndarray, sr: int, ceiling: float) -> np.ndarray:
    """Per-sample gain (<= 1) that keeps x's peaks (oversampled) under ``ceiling``: each
    sample's need held over +-LIMIT_RAMP_S, then averaged over LIMIT_RAMP_S, so the gain is
    smooth, already down when a peak arrives, and never above the need of its sample."""
    env = _peak_envelope(_channels_last(x))
    need = np.minimum(1.0, ceiling / np.maximum(env, 1e-30))
    ramp = max(1, int(LIMIT_RAMP_S * sr))
    held = minimum_filter1d(need, 2 * ramp + 1, mode="nearest")
    # A mean over +-ramp/2 of minima over +-ramp: every term is at most the need at the
    # centre, so the mean is too; and it moves by at most 1/(ramp+1) a sample.
    return uniform_filter1d(held, ramp + 1, mode="nearest")


def limited(x: np.ndarray, sr: int, plan_: dict) -> tuple:
    """(x at the plan's target through the limiter, the plan completed): a few rounds of
    gain toward the target loudness, each limited; where the peaks would need more than
    LIMIT_MAX_DB, the gain stops there (and the report says the ceiling bound it)."""
    ceiling = 10 ** (CEILING_DBTP / 20)
    y = np.asarray(x, dtype=np.float64)
    cap = 10 ** (LIMIT_MAX_DB / 20) * ceiling / true_peak(y)
    gain = min(10 ** ((plan_["target_lufs"] - plan_["before_lufs"]) / 20), cap)
    for _ in range(4):
        g = limiter_gain(y * gain, sr, ceiling)
        z = y * gain * (g[:, None] if y.ndim == 2 else g)
        now = integrated(z, sr)
        if now is None or abs(now - plan_["target_lufs"]) < 0.05:
            break
        gain = min(gain * 10 ** ((plan_["target_lufs"] - now) / 20), cap)
    z *= min(1.0, ceiling / true_peak(z))  # what the smooth gain left between samples
    out = dict(plan_, gain=gain, gain_db=db(gain), limited_by_ceiling=True)
    taken = -db(float(g.min()))
    if taken > 0:  # present only where the limiter took something off its peaks
        out["limiter_db"] = taken
    # limited_by_ceiling: the ceiling bound this result (the limiter acted, or the gain
    # stopped at its cap); whether the target was met is output_lufs against target_lufs.
    out["limited_by_ceiling"] = bool(taken > 0 or gain >= cap * (1 - 1e-9))
    return z, out


def level(signals: list, sr: int, mode: Mode, reference: Optional[float] = None,
          limit: bool = False) -> tuple:
    """plan then apply: (the signals at their level, the loudness report). ``limit``: one
    result whose target the ceiling would cut short goes through the limiter."""
    plan_ = plan(signals, sr, mode, reference)
    if not (limit and len(signals) == 1 and plan_["limited_by_ceiling"] and mode != "peak"
            and plan_["target_lufs"] is not None and plan_["before_lufs"] is not None):
        return apply(signals, sr, plan_)
    z, plan_ = limited(signals[0], sr, plan_)
    return _written([z.astype(np.float32)], sr, plan_)
