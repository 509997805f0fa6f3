"""A style's timbre without its key (issue 29): the style's harmonic statistics taken over
stretches of it transposed across -N..N semitones.

A Gram of the harmonic conv's features, like the band spectrum, holds the style's notes as
well as its sound: a transfer toward an organ in another key pulls the content toward that
key (chroma 0.88 -> 0.72 in the issue's measure). Averaged over transpositions the notes
spread over many pitch classes while the timbre (partials' pattern, attack, noise) stays.
Each stretch is a different part of the style, so the targets cost what the style's own do.
Transposing resamples (separate_shared.transposed), which also changes the tempo; the rhythm
branch's targets therefore keep the style as it is.
"""
from __future__ import annotations

import numpy as np

from randstyle.engine.run.separate_shared import transposed

MIN_STRETCH_S = 2.0  # a stretch shorter than this is taken longer (overlapping its neighbours)


def transposed_styles(styles: list, semitones: int, sr: int) -> list:
    """[(signal, weight)]: each style cut into 2N+1 evenly spaced stretches (at least
    MIN_STRETCH_S each, or the whole style), stretch i transposed by the i-th of ``shifts``,
    each with 1/(2N+1) of its style's weight; ``styles`` unchanged for N = 0."""
    steps = range(-semitones, semitones + 1)
    if semitones <= 0:
        return styles
    out = []
    for x, w in styles:
        x = np.asarray(x)
        n = len(x)
        length = min(n, max(n // len(steps), int(MIN_STRETCH_S * sr)))
        starts = np.linspace(0, n - length, len(steps)).round().astype(int)
        out += [(transposed(x[s0:s0 + length], k) if k else x[s0:s0 + length],
                 w / len(steps)) for s0, k in zip(starts, steps)]
    return out
