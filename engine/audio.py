"""Audio in and out: read anything soundfile reads, mono, resampled, cut; safe atomic writes."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from math import gcd
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import soundfile as sf
from tqdm import tqdm

from randstyle.engine.errors import ParameterError

SUBTYPES = {"pcm16": "PCM_16", "pcm24": "PCM_24", "float": "FLOAT"}
PEAK = 0.99  # below full scale, so PCM_16's silent clipping at +1.0 never bites
UMASK = os.umask(0o022)  # reading it means setting it (once, at import): put it straight back
os.umask(UMASK)


PROGRESS_ABOVE_S = 60.0  # files longer than this show a progress bar while loading
BLOCK = 1 << 18


def load(path: str, sr: int, start: Optional[float] = None, end: Optional[float] = None,
         what: str = "input", mono: bool = True, progress: bool = False) -> np.ndarray:
    """Read an audio file as float32 at ``sr``, cut to [start, end) seconds: a mono signal
    (N,), or with mono=False every channel (N, C)."""
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"{what} file not found: {path}")
    if p.is_dir():
        raise ParameterError(f"{what} path is a directory, not an audio file: {path}")
    try:
        with sf.SoundFile(str(p)) as f:
            file_sr, frames = f.samplerate, f.frames
            long = progress and frames > PROGRESS_ABOVE_S * file_sr
            bar = tqdm(total=frames, desc=f"loading {p.name}", unit="frame", unit_scale=True,
                       disable=not long, leave=False, dynamic_ncols=True)
            blocks = []
            while True:
                block = f.read(BLOCK, dtype="float32", always_2d=True)
                if not len(block):
                    break
                blocks.append(block)
                bar.update(len(block))
            bar.close()
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ParameterError(f"cannot read {what} file {path} as audio: {exc}") from None
    if not blocks:
        raise ParameterError(f"{what} file {path} holds no samples")
    data = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    x = data.mean(axis=1) if mono else data
    x = cut(x, file_sr, start, end, what=f"{what} file {path}",
            names=(f"--{what}-start", f"--{what}-end"))
    if long and file_sr != sr:
        print(f"randstyle: resampling {p.name} from {file_sr} Hz to {sr} Hz", file=sys.stderr)
    x = resample(x, file_sr, sr)
    check_signal(x, f"{what} file {path}")
    return x


def file_rate(path: str) -> int:
    """The sample rate of an audio file as stored."""
    try:
        return int(sf.info(str(path)).samplerate)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise ParameterError(f"cannot read {path} as audio: {exc}") from None


def weighted_spec(spec: str) -> tuple[str, Optional[float]]:
    """(path, weight) of a FILE[:WEIGHT] spec, the weight None where none is given; a ':'
    whose tail is no number belongs to the path. A weight must be positive and finite."""
    path, sep, tail = spec.rpartition(":")
    try:
        weight = float(tail) if sep else None
    except ValueError:
        weight = None
    if weight is None:
        return spec, None
    if not 0 < weight < float("inf"):
        raise ParameterError(f"--style weight must be positive and finite, got {spec!r}")
    return path, weight


def cut(x: np.ndarray, sr: int, start: Optional[float], end: Optional[float],
        what: str = "signal", names: tuple = ("start", "end")) -> np.ndarray:
    """Samples [start, end) in seconds; None means the beginning or the end. ``names`` are
    what the errors call the two (a command's flags)."""
    a, b = names
    duration = len(x) / sr
    s = 0.0 if start is None else float(start)
    e = duration if end is None else float(end)
    if s < 0 or e < 0:
        raise ParameterError(f"{a} and {b} must be >= 0 seconds, got {s} and {e}")
    if s >= duration:
        raise ParameterError(f"{a} {s} s is past the end of {what} ({duration:.3f} s)")
    if s >= e:
        raise ParameterError(f"{a} ({s} s) must be before {b} ({e} s) for {what}")
    if end is not None and e > duration:  # used, but said: the user may have meant another
        print(f"randstyle: warning: {b} {e} s is past the end of the {what} ({duration:.3f} "
              "s): used up to its end", file=sys.stderr)
    return x[int(round(s * sr)):int(round(min(e, duration) * sr))]


def resample(x: np.ndarray, sr_in: int, sr_out: int, work: Any = None) -> np.ndarray:
    """Polyphase resampling along the first (time) axis, float32 out: resample_poly's values
    of x as ``work`` (a dtype; default x's own), computed BLOCK input samples at a time (each
    with the neighbours its filter reaches), so that a long song holds no float64 copies of
    itself at either rate (issue 32)."""
    if sr_in == sr_out:
        return np.ascontiguousarray(x, dtype=np.float32)
    # Imported here, not with the module: scipy.signal (and scipy.optimize, scipy.ndimage,
    # pyloudnorm, imported where they are used) cost 1.3 CPU s of the 2.3 that every process
    # importing randstyle paid, a command's --help or a refused input included.
    from scipy.signal import resample_poly
    g = gcd(int(sr_in), int(sr_out))
    up, down = sr_out // g, sr_in // g
    n = len(x)
    out = np.empty((-(-n * up // down),) + np.shape(x)[1:], dtype=np.float32)
    # Blocks and margins start at multiples of ``down``, where an output sample falls on an
    # input one; the filter reaches 10 * max(up, down) upsampled samples a side.
    step = down * max(1, BLOCK // down)
    margin = down * -(-(10 * max(up, down) // up + 2) // down)
    for s in range(0, n, step):
        e = min(n, s + step)
        a, b = max(0, s - margin), min(n, e + margin)
        y = resample_poly(np.asarray(x[a:b], dtype=work), up, down, axis=0)
        k0, k1 = s * up // down, len(out) if e == n else e * up // down
        out[k0:k1] = y[k0 - a * up // down:k1 - a * up // down]
    return out


def check_signal(x: np.ndarray, what: str) -> None:
    """Reject what the optimizer cannot use: empty, non-finite or all-silent signals."""
    if x.size == 0:
        raise ParameterError(f"{what} is empty")
    if not np.all(np.isfinite(x)):
        raise ParameterError(f"{what} contains NaN or Inf samples")
    if not np.any(np.abs(x) > 1e-8):
        raise ParameterError(f"{what} is silent (all samples are zero)")


def check_output(path: str, overwrite: bool) -> None:
    """Fail before any work if the output would clobber a file or cannot be written."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise ParameterError(f"output {path} exists; pass overwrite=True to replace it",
                             ("overwrite",))
    if p.is_dir():
        raise ParameterError(f"output {path} is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ParameterError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ParameterError(f"output folder {parent} is not writable")


def report_path(wav_path: str) -> str:
    return str(Path(wav_path).with_suffix(".json"))


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Write through a temporary file in the same folder, then rename: never half a file."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=p.suffix, dir=p.parent or ".")
    # mkstemp makes it 0600; give it the mode open() would (a Dask worker on a shared folder,
    # a page served from disk: others must read it).
    os.fchmod(fd, 0o666 & ~UMASK)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# What -o may end with: soundfile writes each (the format from the suffix). The lossy ones
# have their own codec; MP3 needs libsndfile >= 1.1.
FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}
CODECS = {"OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}


def check_output_format(path: str, subtype: str = "pcm16") -> tuple:
    """(soundfile's format, its subtype) for writing ``path``; one clear error where the
    suffix is none of FORMATS, --subtype does not fit it, or this libsndfile lacks it."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError(f"output must be a .wav, .flac, .ogg or .mp3 file, got {path}")
    fmt = FORMATS[suffix]
    if fmt in CODECS:
        if CODECS[fmt] not in sf.available_subtypes(fmt):
            raise ParameterError(f"this libsndfile ({sf.__libsndfile_version__}) cannot write "
                                 f"{suffix} ({suffix[1:].upper()} needs libsndfile >= 1.1); "
                                 f"write .wav or .flac: {path}")
        return fmt, CODECS[fmt]
    if fmt == "FLAC" and subtype == "float":
        raise ParameterError(f"--subtype float needs a .wav output (FLAC holds 16 or 24 bit "
                             f"integers): {path}")
    return fmt, SUBTYPES[subtype]


def write_wav(path: str, x: np.ndarray, sr: int, subtype: str = "pcm16",
              overwrite: bool = False, normalize: bool = False,
              out_sr: Optional[int] = None) -> None:
    """Write ``x`` (at ``sr``) as the format ``path``'s suffix names (FORMATS: WAV, FLAC,
    OGG Vorbis, MP3), resampled to ``out_sr`` if given, at its level as given: what
    engine.transfer_session and texture_session return is already at the level the CLI
    writes (their ``loudness``, engine/loudness.py); normalize=True brings the peak to 0.99.
    An existing ``path`` is replaced only with overwrite=True. Refused: NaN or infinite
    samples (soundfile would write them as full scale), and samples above full scale in an
    integer or lossy format (they would clip)."""
    if subtype not in SUBTYPES:
        raise ParameterError(f"unknown subtype {subtype!r}: choose from {', '.join(SUBTYPES)}")
    fmt, sf_subtype = check_output_format(path, subtype)
    check_output(path, overwrite)
    y = np.asarray(x)
    bad = sum(int(np.count_nonzero(~np.isfinite(y[s:s + BLOCK]))) for s in range(0, len(y), BLOCK))
    if bad:
        raise ParameterError(f"the signal holds {bad} NaN or infinite samples; refusing to "
                             f"write {path}")
    # No float64 copy of a long song: float64 a block at a time, which gives the samples
    # the whole-signal float64 path gave (it ended in float32 too).
    fresh = out_sr is not None and out_sr != sr  # y becomes our own array: scaled in place
    if fresh:
        y = resample(y, sr, out_sr, work=np.float64)
    peak = max((float(np.max(np.abs(y[s:s + BLOCK]))) for s in range(0, len(y), BLOCK)),
               default=0.0)
    if normalize and peak > 0:
        y = _scaled(y, PEAK / peak, y if fresh else None)
    elif peak > 1.0 and sf_subtype != "FLOAT":
        raise ParameterError(f"the signal peaks at {peak:.3g}, above full scale: it would clip "
                             f"in {path}; level it (randstyle.transfer_session does) or pass "
                             "normalize=True", ("normalize",))
    else:
        y = np.asarray(y, dtype=np.float32)
    atomic_write(path, lambda tmp: sf.write(tmp, y, out_sr or sr, subtype=sf_subtype,
                                       format=fmt))


def _scaled(y: np.ndarray, factor: float, out: Optional[np.ndarray] = None) -> np.ndarray:
    """float32 of y * factor (into ``out``, y itself allowed), the product in float64 a
    block at a time."""
    out = np.empty(y.shape, dtype=np.float32) if out is None else out
    for s in range(0, len(y), BLOCK):
        out[s:s + BLOCK] = y[s:s + BLOCK].astype(np.float64) * factor
    return out


def write_json(path: str, data: Any, overwrite: bool = False) -> None:
    check_output(path, overwrite)

    def dump(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
    atomic_write(path, dump)
