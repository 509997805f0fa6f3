"""What both separation methods share (engine/run/separate.py, separate_dictionary.py):
examples transposed by resampling, and the checks and scores against true stems (BSS Eval's
SDR, SIR, SAR and SI-SDR, engine/model/bss_eval.py)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from randstyle.engine.audio import check_signal
from randstyle.engine.config import SeparateConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.bss_eval import bss_eval_sources, si_sdr
from randstyle.engine.run.hpss import hpss


def transposed(x: np.ndarray, semitones: int) -> np.ndarray:
    """x played ``semitones`` higher (and shorter), by polyphase resampling."""
    from scipy.signal import resample_poly  # here, not at import: engine/audio.py says why
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


# What the report's "reference" scores are (the report's reference_measure)
REFERENCE_MEASURE = ("BSS Eval v3 SDR/SIR/SAR (mir_eval's bss_eval_sources, 512-tap filters, "
                     "against the given references only) and SI-SDR, in dB")


def _bss(references: dict, parts: dict) -> dict:
    """{name: (SDR, SIR, SAR)} of parts[name] against references[name]."""
    names = list(references)
    scores = bss_eval_sources(np.stack([references[n] for n in names]),
                              np.stack([np.asarray(parts[n], np.float64) for n in names]))
    return {n: tuple(float(m[i]) for m in scores) for i, n in enumerate(names)}


def reference_scores(mix: np.ndarray, parts: dict, references: dict,
                     cfg: SeparateConfig) -> dict:
    """Per source with a reference: BSS Eval SDR, SIR, SAR and SI-SDR (dB), the equal split's
    (mix / n) SDR and SI-SDR and the gains over it and, for two sources, HPSS's SDR: its
    harmonic and percussive parts given to the two sources the way that scores best (HPSS
    does not know which source is which)."""
    references = {n: np.asarray(r, dtype=np.float64) for n, r in references.items()}
    split = {n: mix / len(parts) for n in references}
    found, equal = _bss(references, parts), _bss(references, split)
    out = {}
    for name, ref in references.items():
        (sdr, sir, sar), s_i = found[name], si_sdr(ref, parts[name])
        out[name] = {"sdr": sdr, "sir": sir, "sar": sar, "si_sdr": s_i,
                     "equal_split_sdr": equal[name][0],
                     "equal_split_si_sdr": si_sdr(ref, split[name]),
                     "gain_db": sdr - equal[name][0]}
        out[name]["si_sdr_gain_db"] = s_i - out[name]["equal_split_si_sdr"]
    if len(parts) == 2:
        names = list(parts)
        h, p = hpss(mix, cfg.mask_n_fft, cfg.mask_hop_length)
        options = [_bss(references, dict(zip(names, pair))) for pair in ((h, p), (p, h))]
        best = max(options, key=lambda o: sum(v[0] for v in o.values()))
        for name in references:
            out[name]["hpss_sdr"] = best[name][0]
    return out
