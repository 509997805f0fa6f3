"""What the band spectrum term (docs/design.md §14) was made for, measured: a result of the
Gram terms alone against its style, by band levels, by its own networks at its own level and
at the style's RMS, and after an equalizer that gives it the style's mean spectrum.

``python -m bench.transfer spectrum-gap [--mode texture|transfer] [--style drums]`` runs the default
texture (or transfer of the piano chorale) with ``--spectrum-weight 0`` on one thread, then
prints each figure. The equalizer: one STFT (2048/512), each bin scaled by the square root of
the ratio of the style's mean power to the result's (both smoothed over 21 bins), the inverse
STFT; nothing else of the result changes.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict

import numpy as np

from bench import lab
from bench.corpus.quality import measured
from bench.texture import check_grams
from randstyle import engine
from randstyle.engine.config import TextureConfig
from randstyle.engine.model.ensemble import member_configs
from randstyle.engine.model.evaluate import RMS, eval_grams, style_distance
from randstyle.engine.model.filters import hann_window
from randstyle.kernels import numpy_ref

SR = 22050
EDGES = (0, 60, 120, 250, 500, 1000, 2000, 4000, 8000, 11025)  # Hz, for the band table


def mean_power(x: np.ndarray, n_fft: int = 2048, hop: int = 512) -> tuple:
    X, _ = numpy_ref.mask_stft_forward(np.asarray(x, np.float64), hann_window(n_fft), hop)
    return (np.abs(X) ** 2).mean(axis=tuple(range(X.ndim - 1))), X


def equalized(x: np.ndarray, style: np.ndarray, smooth: int = 21) -> np.ndarray:
    """x with the style's mean spectrum (the module's docstring)."""
    (ps, _), (px, X) = mean_power(style), mean_power(x)
    k = np.ones(smooth) / smooth
    gain = np.sqrt(np.convolve(ps, k, "same") / np.maximum(np.convolve(px, k, "same"), 1e-30))
    y, _ = numpy_ref.istft_forward((X * gain)[None], hann_window(2048), 512, len(x))
    return y[0].astype(np.float32)


def band_offsets(x: np.ndarray, style: np.ndarray) -> list:
    """The result's mean power minus the style's in dB, per band of EDGES."""
    freqs = np.fft.rfftfreq(2048, 1 / SR)
    (ps, _), (px, _) = mean_power(style), mean_power(x)
    return [round(float(10 * np.log10(px[m].sum() / ps[m].sum())), 1)
            for m in ((freqs >= a) & (freqs < b) for a, b in zip(EDGES[:-1], EDGES[1:]))]


def own_networks(x: np.ndarray, style: np.ndarray) -> list:
    """The texture's three member networks' style distance at the style's RMS and at the
    result's own level."""
    rows = []
    for c in member_configs(TextureConfig().network_config(), 3, n_samples=len(x)):
        net = {k: v for k, v in asdict(c).items() if k != "sr"}
        grams = eval_grams(style, SR, network=net)
        scaled = style_distance(x, None, SR, style_grams=grams, network=net)["style_distance"]
        own = style_distance(x, None, SR, style_grams={k: v for k, v in grams.items()
                                                        if k != RMS},
                             network=net)["style_distance"]
        rows.append((c.n_fft, round(scaled, 3), round(own, 3)))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("texture", "transfer"), default="texture")
    p.add_argument("--style", default="drums")
    lab.corpus_option(p)
    args = p.parse_args(argv)
    style = lab.clip(args.corpus, args.style, SR)
    content = None
    opts = {"progress": False, "threads": 1, "spectrum_weight": 0.0}
    if args.mode == "texture":
        x, _ = engine.texture(style, seconds=10.0, **opts)
    else:
        content = lab.clip(args.corpus, "piano_chorale", SR)[:10 * SR]
        x, _ = engine.transfer(content, style, **opts)
    grams, checks = eval_grams(style, SR), check_grams(style)
    print(f"band offsets, dB ({', '.join(map(str, EDGES))} Hz): {band_offsets(x, style)}")
    rms = [float(np.sqrt(np.mean(np.square(s, dtype=np.float64)))) for s in (x, style)]
    print(f"RMS, result / style: {20 * np.log10(rms[0] / rms[1]):+.2f} dB")
    if args.mode == "texture":
        for n_fft, scaled, own in own_networks(x, style):
            print(f"own network n_fft {n_fft}: {scaled} at the style's RMS, {own} at its own")
    print(f"eval / check as it is: {measured(x, grams, checks, content)}")
    print(f"eval / check equalized: {measured(equalized(x, style), grams, checks, content)}")
    return 0

