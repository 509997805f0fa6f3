"""The long-term band spectrum term's bands and target (docs/design.md §14).

The Gram terms see the spectrum through log1p magnitudes, where a band's level counts little
against the shapes around it, and through linear-frequency bins, where the bass is a handful of
bins: measured on a drum texture, the Grams were matched with the bass 2-4 dB low and so
0.9 dB less RMS than the style. This term matches each band's mean power over the whole signal,
in log units (every band alike), on triangular mel bands of the network's own STFT.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from randstyle.engine.errors import ParameterError
from randstyle.engine.model.filters import mel_filterbank
from randstyle.engine.model.style_target import STYLE_CHUNK_FRAMES
from randstyle.engine.signal import n_frames

# A band's floor, relative to the style's mean band power: a band 20 dB under it counts as
# silent. In log units every band weighs alike, and at a floor of 1e-6 the quiet top octaves
# of an organ or a guitar (30-46 dB under the mean) pinned the optimization to their noise:
# a 10 s organ texture read 0.089 / 0.539 at 50 iterations against 0.050 / 0.256 without the
# term; at 1e-2, 0.046 / 0.258, while the drums kept their gain (docs/results/textures.md).
FLOOR = 1e-2
# A transfer's band spectrum term pulls the content's bands to the style's. Measured with
# --preset percussive (docs/results/quality.md), by the offset content_offset_db: a piano under
# drums (-3 dB), an organ (-4) and a guitar (-2) kept content 0.73-0.89; a sparse melody under
# corpus drums (-8 dB), the piano under generated drums (-8) and a melody under generated
# drums (-15) fell to 0.62, 0.61 and 0.37. Below this a transfer warns.
BURIED_DB = -6.0


@dataclass
class SpectrumTarget:
    """bands: (n_bands, n_bins) backend array; target: (1, n_bands) backend array, the style's
    log(P + eps); eps: the floor added to every band's power."""
    bands: Any
    target: Any
    eps: float


def band_matrix(sr: int, n_fft: int, n_bands: int) -> np.ndarray:
    """(n_bands', n_bins) triangular mel bands with peaks at 1, the empty ones (narrower than
    a bin, at a small n_fft) dropped."""
    bands = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_bands, norm=None)
    return bands[bands.sum(axis=1) > 0]


def mean_band_power(net: Any, x: np.ndarray, bands: np.ndarray,
                    chunk_frames: int = STYLE_CHUNK_FRAMES) -> np.ndarray:
    """(n_bands,) float64: each band's power averaged over all of x's frames, a chunk of
    frames at a time (memory bounded by the chunk, as for the Grams)."""
    c, b = net.config, net.backend
    total = n_frames(len(x), c.n_fft, c.hop_length)
    if total < 1:
        raise ParameterError(f"the style is {len(x)} samples, shorter than one STFT frame "
                             f"({c.n_fft})")
    dev_bands = net.asarray(bands)
    acc = np.zeros(len(bands))
    for f0 in range(0, total, chunk_frames):
        f1 = min(f0 + chunk_frames, total)
        seg = x[f0 * c.hop_length:(f1 - 1) * c.hop_length + c.n_fft]
        S = net.forward(net.asarray(seg), ("logmag",))[0]["logmag"][0]
        P = b.band_power_forward(S, dev_bands)[0]
        acc += np.asarray(b.to_numpy(P), dtype=np.float64)[0] * (f1 - f0)
    return acc / total


def styles_band_power(net: Any, styles: list, bands: np.ndarray) -> np.ndarray:
    """The weighted mean of the styles' band powers ([(signal, weight)], weights summing to
    1): their powers mix as the sounds would."""
    return sum(w * mean_band_power(net, np.asarray(x), bands) for x, w in styles)


def spectrum_target(net: Any, styles: list, n_bands: int) -> SpectrumTarget:
    """The styles' mixed band powers (styles_band_power) in log units over a floor FLOOR
    times their mean, on the network's backend and dtype."""
    c = net.config
    bands = band_matrix(c.sr, c.n_fft, n_bands)
    P = styles_band_power(net, styles, bands)
    eps = FLOOR * float(np.mean(P)) or FLOOR
    return SpectrumTarget(net.asarray(bands), net.asarray(np.log(P + eps)[None, :]), eps)


def content_offset_db(net: Any, content: np.ndarray, styles: list, n_bands: int) -> float:
    """How far the band spectrum term moves the bands that carry the content: the styles'
    band power over the content's in dB, both as shares of their total (the level is no part
    of it), averaged with the content's energy share of each band as the weight."""
    c = net.config
    bands = band_matrix(c.sr, c.n_fft, n_bands)
    ps = styles_band_power(net, styles, bands)
    pc = mean_band_power(net, np.asarray(content), bands)
    if ps.sum() <= 0 or pc.sum() <= 0:  # silence: nothing to bury, or nothing to match
        return 0.0
    share_s, share_c = ps / ps.sum(), pc / pc.sum()
    tiny = 1e-12
    offset = 10 * np.log10(np.maximum(share_s, tiny) / np.maximum(share_c, tiny))
    return float(np.sum(share_c * offset))
