"""Where the dictionary method's error sits in time, and how the atoms start (issue 30, fifth
and sixth passes; docs/results/separation.md):

``python -m bench.separation frames errors --mixes piano_strings``: each source's error per
frame of its STFT at the default's 8192 / 2048 (|M_s X - S|^2 / |S|^2), the default against
the same with that source's stem as its example, by quartiles of the stem frame's level, its
level over the other source's, its onset flux, its harmonic-sum pitch and its centroid.
``... frames starts --mixes piano_strings --hop 512 --hop 2048 --seeds 0,1,2``: the default
with its examples' STFT at another hop (the mix's unchanged: more frames for the atoms), and
with each dictionary started from evenly spaced frames of its example (``--start frames``) or
from NNDSVDa (``--start nndsvda``) instead of a seeded random start, or as ``--starts N``
dictionaries of components / N atoms from N random starts stacked (``--start stacked``); each
seed's row, then their mean. BSS Eval SDR; markdown on stdout and under bench/results/.
"""
import argparse
import time
from dataclasses import replace

import numpy as np

from bench import lab
from bench.lab import write_markdown
from bench.separation.corpus import scores
from randstyle import kernels
from randstyle.engine.config import DictionaryConfig
from randstyle.engine.model import dictionary as dm
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run import separate_dictionary as sd
from randstyle.engine.run.separate import separate


def frame_errors(b, cfg, mix, stems, examples) -> dict:
    """{source: (per-frame relative error of its Wiener estimate, |STFT| of its stem)}."""
    rng, window = np.random.default_rng(cfg.seed), hann_window(cfg.mask_n_fft).astype(np.float32)
    atoms = [sd.example_atoms(b, k, e.astype(np.float32), cfg, window, rng)
             for k, e in examples.items()]
    X, V = sd.magnitude(b, mix.astype(np.float32), window, cfg.mask_hop_length)
    A, D = sd.fit_activations(b, V, np.concatenate(atoms), cfg.fit_iter, cfg.beta)
    bounds = np.cumsum([0] + [len(a) for a in atoms])
    P = [b.nmf_model_power(A[:, lo:hi], D[lo:hi], cfg.mask_power)
         for lo, hi in zip(bounds[:-1], bounds[1:])]
    out = {}
    for k, p in zip(examples, P):
        S = sd.magnitude(b, stems[k].astype(np.float32), window, cfg.mask_hop_length)[0]
        out[k] = ((np.abs(p / sum(P) * X - S) ** 2).sum(1)
                  / np.maximum((np.abs(S) ** 2).sum(1), 1e-12), np.abs(S))
    return out


def features(S: np.ndarray, other: np.ndarray, sr: int, n_fft: int) -> dict:
    """Per frame of a stem's |STFT| S: level (dB under its loudest), level over the other
    source's, onset flux, harmonic-sum pitch (MIDI; NaN where quiet), centroid (Hz)."""
    power = (S.astype(np.float64) ** 2).sum(1) + 1e-12
    loud = S.sum(1) > 1e-3 * S.sum(1).max()
    pitch = np.full(len(S), np.nan)
    pitch[loud] = dm.frame_pitches(S, sr, n_fft)[0]
    hz = np.arange(S.shape[1]) * sr / n_fft
    return {"level dB": 10 * np.log10(power / power.max()),
            "over the other dB": 10 * np.log10(power / ((other.astype(np.float64) ** 2).sum(1)
                                                        + 1e-12)),
            "onset flux": np.maximum(np.diff(S, axis=0, prepend=S[:1]), 0).sum(1)
            / (S.sum(1) + 1e-9),
            "pitch": pitch, "centroid Hz": (S * hz).sum(1) / (S.sum(1) + 1e-9)}


def errors(args: argparse.Namespace) -> str:
    b, (sr, mixes) = kernels.get_backend("cpu"), lab.mixes(args.corpus)
    db = lambda e: 10 * np.log10(np.mean(e))  # noqa: E731
    rows = lab.head("mix", "source", "feature", "quartiles: default / stem as example (dB)")
    for name, mix, stems, ex in (m for m in mixes if m[0] in args.mixes.split(",")):
        cfg = sd.stft_sizes(DictionaryConfig(seed=0, backend="cpu"), [mix, *ex.values()])
        base = frame_errors(b, cfg, mix, stems, ex)
        for k in ex:
            own = frame_errors(b, cfg, mix, stems, {**ex, k: stems[k]})[k][0]
            e0, S = base[k]
            other = next(base[j][1] for j in ex if j != k)
            rows.append(f"| {name} | {k} | all | {db(e0):.1f} / {db(own):.1f} |")
            for label, f in features(S, other, sr, cfg.mask_n_fft).items():
                qs = np.nanquantile(f, [0, .25, .5, .75, 1])
                cells = [f"{lo:.3g}..{hi:.3g}: {db(e0[m]):.1f} / {db(own[m]):.1f}"
                         for lo, hi in zip(qs[:-1], qs[1:])
                         for m in [(f >= lo) & (f <= hi)]]
                rows.append(f"| {name} | {k} | {label} | " + "; ".join(cells) + " |")
            print("\n".join(rows[-6:]), flush=True)
    return write_markdown(lab.RESULTS, "separation_frames_errors", "\n".join(rows))


def learn_from_frames(b, V, k, n_iter, beta, rng):
    """learn_dictionary started from k evenly spaced frames of V (no random draw)."""
    idx = np.linspace(0, V.shape[0] - 1, k).round().astype(np.int64)
    D = dm.normalize_atoms(b, V[b.asarray(idx)] + V.dtype.type(1e-3) * V.mean())
    D = D * V.dtype.type(V.sum() / V.shape[0] / k)
    A = b.xp.full((V.shape[0], k), np.sqrt(max(float(V.mean()), 1e-12) / k), dtype=V.dtype)
    return dm.alternate(b, V, A, D, n_iter, beta)


def learn_from_nndsvda(b, V, k, n_iter, beta, rng):
    """learn_dictionary started from scikit-learn's NNDSVDa (Boutsidis & Gallopoulos 2008;
    zeros filled with the mean: a multiplicative update keeps a zero at zero), no draw."""
    from sklearn.decomposition._nmf import _initialize_nmf
    W, H = _initialize_nmf(np.asarray(b.to_numpy(V), np.float64), k, init="nndsvda")
    A, D = (b.asarray(np.maximum(x, 1e-9).astype(np.float32)) for x in (W, H))
    return dm.alternate(b, V, A, D, n_iter, beta)


def learn_stacked(b, V, k, n_iter, beta, rng, starts: int = 3):
    """k atoms as ``starts`` dictionaries of k / starts atoms, each from its own draw of the
    random start, stacked: each copies less of the example, and one fit picks among them."""
    return b.xp.concatenate([dm.learn_dictionary(b, V, k // starts, n_iter, beta, rng)
                             for _ in range(starts)], axis=0)


def learner(args: argparse.Namespace):
    """The dictionary learner of --start (None: the engine's own)."""
    if args.start == "stacked":
        return lambda b, V, k, n_iter, beta, rng: learn_stacked(b, V, k, n_iter, beta, rng,
                                                                args.starts)
    return {"frames": learn_from_frames, "nndsvda": learn_from_nndsvda}.get(args.start)


def start_label(args: argparse.Namespace) -> str:
    if args.start in ("frames", "nndsvda"):
        return f"started from {args.start}"
    return f"{args.starts} random starts stacked" if args.start else "random start"


def starts(args: argparse.Namespace) -> str:
    _, mixes = lab.mixes(args.corpus)
    saved = sd.example_spectrum, sd.learn_dictionary
    rows = lab.head("mix", "variant", "BSS Eval SDR (dB)", "CPU s")
    for name, mix, stems, ex in (m for m in mixes if m[0] in args.mixes.split(",")):
        for hop in args.hop or [None]:
            label, sdrs = f"examples' hop {hop or 'default'}, {start_label(args)}", []
            for seed in [int(s) for s in args.seeds.split(",")]:
                sd.example_spectrum = lambda b, n, e, cfg, w, h=hop: saved[0](
                    b, n, e, replace(cfg, mask_hop_length=h or cfg.mask_hop_length), w)
                sd.learn_dictionary = learner(args) or saved[1]
                c = time.process_time()
                try:
                    parts = separate(mix, ex, seed=seed)[0]
                finally:
                    sd.example_spectrum, sd.learn_dictionary = saved
                sdrs.append([v for v, _ in scores(stems, parts)])
                rows.append(f"| {name} | {label}, seed {seed} | "
                            + " / ".join(f"{v:.2f}" for v in sdrs[-1])
                            + f" | {time.process_time() - c:.1f} |")
                print(rows[-1], flush=True)
            rows.append(f"| {name} | {label}, mean | "
                        + " / ".join(f"{v:.2f}" for v in np.mean(sdrs, axis=0)) + " | |")
            print(rows[-1], flush=True)
    return write_markdown(lab.RESULTS, "separation_frames_starts", "\n".join(rows))


def main(argv: list | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["errors", "starts"])
    ap.add_argument("--mixes", required=True, help="comma-separated mix names")
    ap.add_argument("--hop", type=int, action="append", help="starts: the examples' hop")
    ap.add_argument("--seeds", default="0", help="starts: comma-separated seeds")
    ap.add_argument("--start", choices=["frames", "nndsvda", "stacked"],
                    help="starts: dictionaries started from the examples' frames, NNDSVDa, "
                         "or --starts random starts stacked")
    ap.add_argument("--starts", type=int, default=3, help="--start stacked: how many")
    lab.corpus_option(ap)
    {"errors": errors, "starts": starts}[ap.parse_args(argv).mode](ap.parse_args(argv))
