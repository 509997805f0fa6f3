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
import warnings
from typing import Callable, Iterator, Optional, Union

import numpy as np

from randstyle.engine.errors import ParameterError

CEILING_DBTP = -1.0
OVERSAMPLE = 4
BLOCK_S = 0.4  # BS.1770's gating block: shorter signals are measured as a loop of themselves
GATE_LUFS = -70.0
MAX_CHANNELS = 5  # pyloudnorm's BS.1770 channel weights stop at five
LIMIT_MAX_DB = 6.0  # the most the limiter takes off a peak; beyond, the whole result goes down
LIMIT_RAMP_S = 0.01  # the limiter's gain moves over this long (attack before a peak, release)
# Every step over a whole signal (the loudness filters, the 4x oversampling, the limiter,
# the gain) runs over blocks of this many samples, in float64 a block at a time: leveling a
# 10-minute song whole held 1.1 GB of float64 copies of it (issue 32). The oversampling's
# blocks take MARGIN samples of their neighbours (resample_poly's filter reaches 10 a side).
OVERSAMPLE_BLOCK = 1 << 18
OVERSAMPLE_MARGIN = 32
Mode = Union[str, float]
# A signal read a stretch at a time: (lo, hi) -> float64 (hi - lo, C), lo >= 0, hi <= N.
Reader = Callable[[int, int], np.ndarray]


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
        raise ParameterError(f"loudness must be match, peak or a target in LUFS between "
                             f"{GATE_LUFS:g} and 0 (e.g. -16), got {value!r}", ("loudness",))
    return target


def _channels_last(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x


def _channels(x: np.ndarray) -> np.ndarray:
    """x as (N, C) in its own dtype (a view, no float64 copy of a long signal): the block-wise
    steps convert a block at a time."""
    x = np.asarray(x)
    return x[:, None] if x.ndim == 1 else x


def integrated(x: np.ndarray, sr: int) -> Optional[float]:
    """Integrated loudness in LUFS of a mono (N,) or multichannel (N, C) signal; None when it
    is all below the absolute gate (silence). A signal shorter than one 400 ms block is
    measured repeated to that length (the loudness of it played as a loop)."""
    y = _channels(x)
    return _loudness(_stretches(y), len(y), y.shape[1], sr)


def _loudness(read: Reader, n: int, channels: int, sr: int) -> Optional[float]:
    """integrated() of the signal ``read`` gives, a block at a time (pyloudnorm's figure)."""
    block = int(math.ceil(BLOCK_S * sr)) + 1
    if n == 0:
        return None
    if n < block:
        y = np.tile(read(0, n), (int(math.ceil(block / n)), 1))
        read, n = _stretches(y), len(y)
    if channels > MAX_CHANNELS:  # beyond 5.0: the channels' loudness summed as power
        levels = [_loudness(lambda lo, hi, c=c: read(lo, hi)[:, c:c + 1], n, 1, sr)
                  for c in range(channels)]
        heard = [v for v in levels if v is not None]
        return 10 * math.log10(sum(10 ** (v / 10) for v in heard)) if heard else None
    with np.errstate(divide="ignore"):
        value = _gated(_block_powers(read, n, channels, sr), channels)
    return float(value) if np.isfinite(value) and value > GATE_LUFS else None


def _block_powers(read: Reader, n: int, channels: int, sr: int) -> np.ndarray:
    """pyloudnorm's Meter(sr).integrated_loudness up to its gating: the mean square of the
    K-weighted signal over each 400 ms block (75% overlap), (C, blocks), with the same
    values; but filtered chunk by chunk (each filter's state carried over), in float64 a
    chunk at a time: pyloudnorm holds three float64 copies of the whole signal."""
    import pyloudnorm  # here, not at import: it imports scipy.signal (engine/audio.py)
    from scipy.signal import lfilter
    meter = pyloudnorm.Meter(sr)
    stages = [(f.passband_gain, f.b, f.a) for f in meter._filters.values()]
    state = [[np.zeros(max(len(b), len(a)) - 1) for _, b, a in stages] for _ in range(channels)]
    t_g, step = meter.block_size, 1.0 - meter.overlap
    count = int(np.round(((n / sr - t_g) / (t_g * step)))) + 1
    bounds = [(int(t_g * (j * step) * sr), int(t_g * (j * step + 1) * sr)) for j in range(count)]
    z, j = np.zeros((channels, count)), 0
    kept, at = np.zeros((0, channels)), 0  # K-weighted samples from index ``at`` on
    for s in range(0, n, OVERSAMPLE_BLOCK):
        chunk = read(s, min(n, s + OVERSAMPLE_BLOCK))
        for c in range(channels):
            for k, (gain, b, a) in enumerate(stages):
                out, state[c][k] = lfilter(b, a, chunk[:, c], zi=state[c][k])
                chunk[:, c] = gain * out
        kept = np.concatenate([kept, chunk])
        end = s + len(chunk)
        while j < count and (bounds[j][1] <= end or end == n):
            lo, hi = bounds[j][0] - at, min(bounds[j][1], n) - at
            for c in range(channels):
                z[c, j] = (1.0 / (t_g * sr)) * np.sum(np.square(kept[lo:hi, c]))
            j += 1
        if j < count:
            kept, at = kept[bounds[j][0] - at:], bounds[j][0]
    return z


def _gated(z: np.ndarray, channels: int) -> float:
    """pyloudnorm's gating (ITU-R BS.1770-4) of the block powers ``z``, its expressions
    as they are there, so that the figure is the same to the last bit."""
    g = [1.0, 1.0, 1.0, 1.41, 1.41]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        levels = [-0.691 + 10.0 * np.log10(np.sum([g[i] * z[i, j] for i in range(channels)]))
                  for j in range(z.shape[1])]
        kept = [j for j, v in enumerate(levels) if v >= GATE_LUFS]
        avg = [np.mean([z[i, j] for j in kept]) for i in range(channels)]
        relative = -0.691 + 10.0 * np.log10(np.sum([g[i] * avg[i] for i in range(channels)])) - 10.0
        kept = [j for j, v in enumerate(levels) if v > relative and v > GATE_LUFS]
        avg = np.nan_to_num(np.array([np.mean([z[i, j] for j in kept]) for i in range(channels)]))
    return -0.691 + 10.0 * np.log10(np.sum([g[i] * avg[i] for i in range(channels)]))


def true_peak(x: np.ndarray) -> float:
    """Linear true peak: the largest magnitude of the signal upsampled 4x (polyphase)."""
    y = _channels(x)
    if not y.size:
        return 0.0
    return _peak_of(_stretches(y), len(y))


def _stretches(y: np.ndarray) -> Reader:
    return lambda lo, hi: np.array(y[lo:hi], dtype=np.float64)


def _peak_of(read: Reader, n: int) -> float:
    return max(float(env.max()) for _, _, env in _envelopes(read, n, 0, n))


def _peak_envelope(y: np.ndarray) -> np.ndarray:
    """Per sample of y (N, C): the largest magnitude over the channels, the sample itself
    and the 4x oversampled values that follow it."""
    return np.concatenate([env for _, _, env in _envelopes(_stretches(y), len(y), 0, len(y))])


def _envelopes(read: Reader, n: int, lo: int, hi: int) -> Iterator[tuple]:
    """(s, e, the peak envelope over [s, e)) for blocks of [lo, hi): the oversampling block
    by block (each block's values are those of the whole signal's: its margins hold what
    the filter reaches), so that memory does not grow with four copies of a long signal."""
    from scipy.signal import resample_poly  # here, not at import: engine/audio.py says why
    for s in range(lo, hi, OVERSAMPLE_BLOCK):
        e = min(hi, s + OVERSAMPLE_BLOCK)
        a, b = max(0, s - OVERSAMPLE_MARGIN), min(n, e + OVERSAMPLE_MARGIN)
        y = read(a, b)
        up = np.abs(resample_poly(y, OVERSAMPLE, 1, axis=0)).max(axis=1)
        up = up[OVERSAMPLE * (s - a):OVERSAMPLE * (e - a)].reshape(e - s, OVERSAMPLE)
        yield s, e, np.maximum(np.abs(y[s - a:e - a]).max(axis=1), up.max(axis=1))


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
    before = integrated(_total(signals), sr)
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
    return _written([_times(s, plan_["gain"]) for s in signals], sr, plan_)


def _times(x: np.ndarray, gain: float) -> np.ndarray:
    """float32 x * gain, the product in float64 a block at a time (no float64 copy of x)."""
    x = np.asarray(x)
    out = np.empty(x.shape, dtype=np.float32)
    for s in range(0, len(x), OVERSAMPLE_BLOCK):
        out[s:s + OVERSAMPLE_BLOCK] = np.asarray(x[s:s + OVERSAMPLE_BLOCK], np.float64) * gain
    return out


def _total(signals: list) -> np.ndarray:
    """What the level is measured on: the one signal itself, or the float64 sum of several."""
    if len(signals) == 1:
        return signals[0]
    return np.sum([_channels_last(s) for s in signals], axis=0)


def _written(out: list, sr: int, plan_: dict) -> tuple:
    """(out, the plan completed with what will be written: the sum's loudness, the highest
    true peak of any one signal)."""
    return out, dict(plan_, output_lufs=integrated(_total(out), sr),
                     output_true_peak_dbtp=db(max(true_peak(s) for s in out)))


def limiter_gain(x: np.ndarray, sr: int, ceiling: float) -> np.ndarray:
    """Per-sample gain (<= 1) that keeps x's peaks (oversampled) under ``ceiling``: each
    sample's need held over +-LIMIT_RAMP_S, then averaged over LIMIT_RAMP_S, so the gain is
    smooth, already down when a peak arrives, and never above the need of its sample."""
    y = _channels(x)
    return _limiter_stretch(_stretches(y), len(y), sr, ceiling, 0, len(y))


def _limiter_stretch(read: Reader, n: int, sr: int, ceiling: float, lo: int,
                     hi: int) -> np.ndarray:
    """limiter_gain over [lo, hi) of the signal ``read`` gives, from a stretch that reaches
    past it by more than the two filters do (their "nearest" edges fall outside [lo, hi)
    except at the signal's own): the values of the whole signal's, but for the running
    mean's rounding (it starts afresh at each stretch: 1e-16 relative)."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d  # engine/audio.py: why here
    ramp = max(1, int(LIMIT_RAMP_S * sr))
    a, b = max(0, lo - 2 * ramp - 2), min(n, hi + 2 * ramp + 2)
    env = np.concatenate([e for _, _, e in _envelopes(read, n, a, b)])
    need = np.minimum(1.0, ceiling / np.maximum(env, 1e-30))
    held = minimum_filter1d(need, 2 * ramp + 1, mode="nearest")
    # A mean over +-ramp/2 of minima over +-ramp: every term is at most the need at the
    # centre, so the mean is too; and it moves by at most 1/(ramp+1) a sample.
    return uniform_filter1d(held, ramp + 1, mode="nearest")[lo - a:hi - a]


def _limited_reader(y: np.ndarray, gain: float, sr: int, ceiling: float, low: list) -> Reader:
    """y * gain through the limiter, a stretch at a time (a whole float64 copy of a song,
    its gain curve and the limited result were 0.6 GB for 10 minutes, issue 32); ``low``
    [0] keeps the smallest gain read."""
    n = len(y)

    def scaled(lo: int, hi: int) -> np.ndarray:
        return np.array(y[lo:hi], dtype=np.float64) * gain

    def read(lo: int, hi: int) -> np.ndarray:
        g = _limiter_stretch(scaled, n, sr, ceiling, lo, hi)
        low[0] = min(low[0], float(g.min()))
        return scaled(lo, hi) * g[:, None]
    return read


def limited(x: np.ndarray, sr: int, plan_: dict) -> tuple:
    """(x at the plan's target through the limiter, float32, the plan completed): a few
    rounds of gain toward the target loudness, each limited; where the peaks would need more
    than LIMIT_MAX_DB, the gain stops there (and the report says the ceiling bound it)."""
    ceiling = 10 ** (CEILING_DBTP / 20)
    y = _channels(x)
    n, channels = len(y), y.shape[1]
    cap = 10 ** (LIMIT_MAX_DB / 20) * ceiling / true_peak(y)
    gain = min(10 ** ((plan_["target_lufs"] - plan_["before_lufs"]) / 20), cap)
    for _ in range(4):
        low = [1.0]
        z = _limited_reader(y, gain, sr, ceiling, low)
        now = _loudness(z, n, channels, sr)
        if now is None or abs(now - plan_["target_lufs"]) < 0.05:
            break
        gain = min(gain * 10 ** ((plan_["target_lufs"] - now) / 20), cap)
    taken = -db(low[0])
    factor = min(1.0, ceiling / _peak_of(z, n))  # what the smooth gain left between samples
    out = np.empty(y.shape, dtype=np.float32)
    for s in range(0, n, OVERSAMPLE_BLOCK):
        e = min(n, s + OVERSAMPLE_BLOCK)
        out[s:e] = z(s, e) * factor
    report = dict(plan_, gain=gain, gain_db=db(gain), limited_by_ceiling=True)
    if taken > 0:  # present only where the limiter took something off its peaks
        report["limiter_db"] = taken
    # limited_by_ceiling: the ceiling bound this result (the limiter acted, or the gain
    # stopped at its cap); whether the target was met is output_lufs against target_lufs.
    report["limited_by_ceiling"] = bool(taken > 0 or gain >= cap * (1 - 1e-9))
    return out.reshape(np.shape(x)), report


def level(signals: list, sr: int, mode: Mode, reference: Optional[float] = None,
          limit: bool = False) -> tuple:
    """plan then apply: (the signals at their level, the loudness report). ``limit``: one
    result whose target the ceiling would cut short goes through the limiter."""
    plan_ = plan(signals, sr, mode, reference)
    if not (limit and len(signals) == 1 and plan_["limited_by_ceiling"] and mode != "peak"
            and plan_["target_lufs"] is not None and plan_["before_lufs"] is not None):
        return apply(signals, sr, plan_)
    z, plan_ = limited(signals[0], sr, plan_)
    return _written([z], sr, plan_)
