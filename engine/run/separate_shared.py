"""What both separation methods share (engine/run/separate.py, separate_dictionary.py):
examples transposed by resampling, and the checks and SDR scores against true stems."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from engine.audio import check_signal
from engine.config import SeparateConfig
from engine.errors import ParameterError
from engine.model.evaluate import sdr
from engine.run.hpss import hpss


def transposed(x: np.ndarray, semitones: int) -> np.ndarray:
    """x played ``semitones`` higher (and shorter), by polyphase resampling."""
    ratio = Fraction(2 ** (-semitones / 12)).limit_denominator(64)
    return resample_poly(np.asarray(x, dtype=np.float64), ratio.numerator,
                         ratio.denominator).astype(np.float32)


def check_references(mix: np.ndarray, names: list, references: dict) -> None:
    """Before any work: each reference names a source and has the mix's length."""
    unknown = set(references) - set(names)
    if unknown:
        raise ParameterError(f"--reference names no source: {', '.join(sorted(unknown))}")
    for name, ref in references.items():
        check_signal(np.asarray(ref), f"the reference {name!r}")
        if len(ref) != len(mix):
            raise ParameterError(f"reference {name!r} has {len(ref)} samples, the mix "
                                 f"{len(mix)}: give the true stem of this very mix")


def reference_scores(mix: np.ndarray, parts: dict, references: dict,
                     cfg: SeparateConfig) -> dict:
    """SDR (dB) of each source against its true stem, beside the equal split's (mix / n) and,
    for two sources, HPSS's: its harmonic and percussive parts given to the two sources the
    way that scores best (HPSS does not know which source is which)."""
    out = {name: {"sdr": sdr(ref, parts[name]), "equal_split_sdr": sdr(ref, mix / len(parts))}
           for name, ref in references.items()}
    if len(parts) == 2:
        names = list(parts)
        h, p = hpss(mix, cfg.mask_n_fft, cfg.mask_hop_length)
        options = [dict(zip(names, pair)) for pair in ((h, p), (p, h))]
        best = max(options, key=lambda o: sum(sdr(references[n], o[n]) for n in references))
        for name, ref in references.items():
            out[name]["hpss_sdr"] = sdr(ref, best[name])
    for scores in out.values():
        scores["gain_db"] = scores["sdr"] - scores["equal_split_sdr"]
    return out
