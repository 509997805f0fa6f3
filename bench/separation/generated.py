"""Separation measured against true stems: SDR gain over the equal split (mix / 2) per source.

Two mixes generated in code with known stems, each source's example taken from another
rendering (other seed, notes, tempo) than its stem:
  drums + pad    a percussive + harmonic pair (engine.demo drum loop, a chord pad)
  pluck + organ  two harmonic timbres in the same register (HPSS cannot tell them apart)

``python -m bench.separation generated table [--seconds 10]``: the README table: the default mask
separation (engine.separate, end to end), the seed's time-domain form (``--time-iters``
iterations; the time of its 300-iteration default extrapolated from its per-iteration time
in the same run), HPSS, and the ideal ratio mask from the true stems (an upper reference).
``python -m bench.separation generated sweep [--seconds 5] [--variants a,b]``: the mask separation's
variants (statistics, balance, mask STFT, smoothing, widths), SDR after every evaluation,
so the stopping point is measured too. ``python -m bench.separation generated distances``: how far
each stem's harmonic Gram is from each example's. Markdown on stdout and under
bench/results/.
"""
import argparse
import sys
import time

import numpy as np

from bench import lab
from bench.lab import write_markdown
from randstyle.engine.config import StatisticsConfig
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.model.evaluate import sdr
from randstyle.engine.model.filters import hann_window
from randstyle.engine.model.network import Network
from randstyle.engine.model.objective import Objective
from randstyle.engine.run.hpss import hpss
from randstyle.engine.run.masks import MaskSeparation
from randstyle.engine.run.optimize import lbfgs
from randstyle.engine.run.separate import example_grams, separate, source_objectives
from randstyle.kernels import numpy_ref

SR = 22050


def _midi(n: float) -> float:
    return 440.0 * 2 ** ((n - 69) / 12)


def pad(seconds: float, sr: int, chords: list, seed: int = 0) -> np.ndarray:
    """Sustained chords (2 s each), detuned saw-like partials, slow swell: a synth pad."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    x = np.zeros(n)
    seg = 2 * sr
    for i, start in enumerate(range(0, n, seg)):
        tt = t[:min(seg, n - start)]
        env = np.minimum(1, tt / 0.3) * np.minimum(1, (tt[-1] - tt + 1e-3) / 0.2)
        for note in chords[i % len(chords)]:
            for h in range(1, 6):
                f = _midi(note) * h * (1 + 0.002 * rng.standard_normal())
                x[start:start + len(tt)] += env * np.sin(2 * np.pi * f * tt + rng.uniform(
                    0, 2 * np.pi)) / h
    return x / np.max(np.abs(x))


def organ(seconds: float, sr: int, notes: list, note_s: float = 0.5) -> np.ndarray:
    """Sustained organ notes: odd and even drawbar partials, flat envelope, short ramps."""
    n = int(seconds * sr)
    x = np.zeros(n)
    seg = int(note_s * sr)
    tt = np.arange(seg) / sr
    env = np.minimum(1, np.minimum(tt, tt[-1] - tt) / 0.01)
    for i, start in enumerate(range(0, n, seg)):
        f0 = _midi(notes[i % len(notes)])
        tone = sum(a * np.sin(2 * np.pi * h * f0 * tt) for h, a in
                   ((0.5, 0.5), (1, 1.0), (2, 0.6), (3, 0.4), (4, 0.3), (6, 0.2), (8, 0.15)))
        m = min(seg, n - start)
        x[start:start + m] += (env * tone)[:m]
    return x / np.max(np.abs(x))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


def mixes(seconds: float, sr: int = SR) -> dict:
    """{mix name: (stems {name: signal}, examples {name: signal})}, stems at equal RMS."""
    def level(x: np.ndarray) -> np.ndarray:
        return (0.1 * x / _rms(x)).astype(np.float32)
    ex_s = seconds + 2  # examples: other renderings, and not of the stems' length either
    return {
        "drums + pad": (
            {"drums": level(drum_loop(seconds, sr, seed=1)),
             "pad": level(pad(seconds, sr, [[57, 60, 64], [53, 57, 60], [55, 59, 62]], 0))},
            {"drums": level(drum_loop(ex_s, sr, bpm=104.0, seed=7)),
             "pad": level(pad(ex_s, sr, [[50, 53, 57], [52, 55, 59]], 3))}),
        "pluck + organ": (
            {"pluck": level(plucked_melody(seconds, sr, seed=0)),
             "organ": level(organ(seconds, sr, [60, 65, 67, 64, 69, 62]))},
            {"pluck": level(plucked_melody(ex_s, sr, seed=11)),
             "organ": level(organ(ex_s, sr, [62, 57, 64, 71, 59], note_s=0.7))}),
    }


def ideal_ratio_mask(stems: dict, n_fft: int, hop: int) -> dict:
    """Magnitude-ratio masks from the true stems, applied to the mix: the upper reference."""
    w = hann_window(n_fft)
    specs = [numpy_ref.mask_stft_forward(np.asarray(s, dtype=np.float64), w, hop)[0]
             for s in stems.values()]
    mags = np.stack([np.abs(s) for s in specs])
    masks = mags / np.maximum(mags.sum(axis=0), 1e-12)
    n = len(next(iter(stems.values())))
    y, _ = numpy_ref.istft_forward(masks * sum(specs), w, hop, n)
    return dict(zip(stems, y))


def gains(stems: dict, parts: dict) -> dict:
    mix = sum(np.asarray(s, dtype=np.float64) for s in stems.values())
    return {n: sdr(s, parts[n]) - sdr(s, mix / len(stems)) for n, s in stems.items()}


def hpss_parts(stems: dict) -> dict:
    """HPSS with its parts given to the sources the way that scores best."""
    mix = sum(np.asarray(s, dtype=np.float64) for s in stems.values())
    h, p = hpss(mix)
    names = list(stems)
    options = [dict(zip(names, pair)) for pair in ((h, p), (p, h))]
    return max(options, key=lambda o: sum(gains(stems, o).values()))


class SeedSeparation:
    """The seed's time-domain form (Barry & Kim), kept here as the table's baseline: free
    components x_1..x_n, L = lambda ||sum_i x_i - mix||^2 + sum_i s_i L_style(x_i; G_i), each
    style loss balanced so its gradient norm at the start is 2 ||mix||."""

    def __init__(self, mix: np.ndarray, objectives: dict, mix_weight: float = 1.0) -> None:
        self.mix = np.asarray(mix, dtype=np.float64)
        self.objectives = objectives
        self.mix_weight = float(mix_weight)
        self.scales = {name: 1.0 for name in objectives}
        self.n = len(self.mix)

    def split(self, X: np.ndarray) -> dict:
        return {name: X[i * self.n:(i + 1) * self.n] for i, name in enumerate(self.objectives)}

    def terms_and_grad(self, X: np.ndarray) -> tuple:
        parts = self.split(np.asarray(X, dtype=np.float64))
        residual = sum(parts.values()) - self.mix
        terms = {"mix": self.mix_weight * float(residual @ residual)}
        grads = []
        for name, obj in self.objectives.items():
            t, g = obj.terms_and_grad(parts[name])
            terms[f"style_{name}"] = self.scales[name] * t["total"]
            grads.append(self.scales[name] * g + 2 * self.mix_weight * residual)
        terms["total"] = sum(terms.values())
        return terms, np.concatenate(grads)

    def balance(self, X0: np.ndarray) -> None:
        ref = 2 * float(np.linalg.norm(self.mix))
        for name, part in self.split(X0).items():
            obj = self.objectives[name]
            obj.balance(part)
            norm = float(np.linalg.norm(obj.terms_and_grad(part)[1]))
            self.scales[name] = ref / norm if norm > 0 else 1.0


def seed_separate(mix: np.ndarray, examples: dict, maxiter: int) -> tuple:
    """The seed's run at the default network: ({name: signal}, iterations, seconds spent
    iterating, seconds in all), started at the equal split plus a little noise."""
    started = time.perf_counter()
    cfg = StatisticsConfig(progress=False)
    net = Network(cfg.network_config(), backend=cfg.backend)
    sep = SeedSeparation(mix, {n: Objective(net, style=ex) for n, ex in examples.items()})
    rng = np.random.default_rng(1)
    X0 = np.concatenate([np.asarray(mix, dtype=np.float64) / len(examples)
                         + rng.standard_normal(len(mix)) * cfg.init_std for _ in examples])
    sep.balance(X0)
    res = lbfgs(sep, X0, maxiter=maxiter, progress=False)
    return sep.split(res.x), res.nit, res.wall_time_s, time.perf_counter() - started


def _fmt(g: dict) -> str:
    return " / ".join(f"{v:+.1f}" for v in g.values())


def table(a: argparse.Namespace) -> str:
    rows = lab.head("mix (sources)", "method", "SDR gain over the equal split, dB", "iterations",
                    "wall time (s)")
    for mix_name, (stems, examples) in mixes(a.seconds).items():
        mix = sum(stems.values())
        label = f"{mix_name} ({' / '.join(stems)})"
        if "mask" in a.methods:
            t0 = time.perf_counter()
            parts, rep = separate(mix, examples, StatisticsConfig(method="statistics",
                                                                progress=False, seed=a.seed))
            rows.append(f"| {label} | mask (default) | {_fmt(gains(stems, parts))} | "
                        f"{rep['nit']} | {time.perf_counter() - t0:.0f} |")
            print(rows[-1], file=sys.stderr)
        if "gram" in a.methods:
            t0 = time.perf_counter()
            parts, rep = separate(mix, examples, StatisticsConfig(method="statistics",
                                                                progress=False, seed=a.seed,
                                                                **GRAM_DEFAULTS))
            rows.append(f"| {label} | mask, raw Grams (the old default) | "
                        f"{_fmt(gains(stems, parts))} | {rep['nit']} | "
                        f"{time.perf_counter() - t0:.0f} |")
            print(rows[-1], file=sys.stderr)
        if "time" in a.methods:
            parts, nit, opt_s, wall = seed_separate(mix, examples, a.time_iters)
            est = wall - opt_s + opt_s / max(nit, 1) * 300
            rows.append(f"| {label} | seed's time-domain form, {nit} it. | "
                        f"{_fmt(gains(stems, parts))} | {nit} | {wall:.0f} (its default 300 "
                        f"it.: ~{est:.0f}, extrapolated) |")
            print(rows[-1], file=sys.stderr)
        t0 = time.perf_counter()
        g = gains(stems, hpss_parts(stems))
        rows.append(f"| {label} | HPSS (best assignment) | {_fmt(g)} | - | "
                    f"{time.perf_counter() - t0:.1f} |")
        rows.append(f"| {label} | ideal ratio mask (true stems) | "
                    f"{_fmt(gains(stems, ideal_ratio_mask(stems, 2048, 512)))} | - | - |")
        print("\n".join(rows[-2:]), file=sys.stderr)
    return "\n".join(rows)


# The settings every variant below started from before the shift statistic became the default
# (raw Grams of the harmonic and rhythm branches); a variant names only what it changes.
GRAM_DEFAULTS = dict(style_weight=1.0, rhythm_weight=1.0, statistics="gram", shift_weight=0.0,
                     shift_filters=128, shift_octaves=3)
# The network's branches off, one patch statistic on (on top of GRAM_DEFAULTS).
ENVELOPE = {"style_weight": 0.0, "rhythm_weight": 0.0, "envelope_weight": 1.0}
SHIFT = {"style_weight": 0.0, "rhythm_weight": 0.0, "shift_weight": 1.0}
SHIFT_CENTERED = {**SHIFT, "statistics": "centered"}
_VARIANTS = {
    "default": {},
    "harmonic only": {"rhythm_weight": 0.0},
    "rhythm only": {"style_weight": 0.0},
    "no source balance": {"balance_sources": False},
    "no balance at all": {"balance": False},
    "mask STFT 1024/256": {"mask_n_fft": 1024, "mask_hop_length": 256},
    "mask STFT 4096/1024": {"mask_n_fft": 4096, "mask_hop_length": 1024},
    "smoothed 3x3": {"mask_smooth_frames": 3, "mask_smooth_bins": 3},
    "smoothed 1x9": {"mask_smooth_bins": 9},
    "harmonic width 5": {"kernel_size": 5},
    "transpose 2": {"transpose": 2},
    "transpose 6": {"transpose": 6},
    "rhythm only, 32 mels, width 11": {"style_weight": 0.0, "n_mels": 32,
                                       "rhythm_kernel_size": 11},
    "rhythm only, 64 mels, width 11": {"style_weight": 0.0, "n_mels": 64,
                                       "rhythm_kernel_size": 11},
    "both, 32 mels, rhythm width 11": {"n_mels": 32, "rhythm_kernel_size": 11},
    "rhythm width 25": {"rhythm_kernel_size": 25},
    "centered": {"statistics": "centered"},
    "shape": {"statistics": "shape"},
    "centered-shape": {"statistics": "centered-shape"},
    "centered, rhythm only": {"statistics": "centered", "style_weight": 0.0},
    "centered, harmonic only": {"statistics": "centered", "rhythm_weight": 0.0},
    "shape, rhythm only": {"statistics": "shape", "style_weight": 0.0},
    "centered-shape, rhythm only": {"statistics": "centered-shape", "style_weight": 0.0},
    "centered, rhythm only, 16 mels": {"statistics": "centered", "style_weight": 0.0,
                                       "n_mels": 16},
    "centered, rhythm only, 4 mels": {"statistics": "centered", "style_weight": 0.0,
                                      "n_mels": 4},
    "centered, rhythm only, width 25": {"statistics": "centered", "style_weight": 0.0,
                                        "rhythm_kernel_size": 25},
    "centered, rhythm only, width 100": {"statistics": "centered", "style_weight": 0.0,
                                         "rhythm_kernel_size": 100},
    "envelope only": ENVELOPE,
    "envelope only, centered": {**ENVELOPE, "statistics": "centered"},
    "envelope only, width 21": {**ENVELOPE, "envelope_width": 21},
    "envelope only, width 5": {**ENVELOPE, "envelope_width": 5},
    "default + envelope": {"envelope_weight": 1.0},
    "envelope only, smoothed 15x1": {**ENVELOPE, "mask_smooth_frames": 15},
    "default, smoothed 15x1": {"mask_smooth_frames": 15},
    "default, smoothed 7x1": {"mask_smooth_frames": 7},
    "default + envelope, smoothed 15x1": {"envelope_weight": 1.0, "mask_smooth_frames": 15},
    "shift only": SHIFT,
    "shift only, centered": SHIFT_CENTERED,
    "shift only, 2 octaves": {**SHIFT, "shift_octaves": 2},
    "shift only, width 11": {**SHIFT, "shift_width": 11},
    "shift only, smoothed 7x1": {**SHIFT, "mask_smooth_frames": 7},
    "default + shift": {"shift_weight": 1.0},
    "shift, centered": SHIFT_CENTERED,
    "shift, centered-shape": {**SHIFT, "statistics": "centered-shape"},
    "shift, centered, 2 octaves": {**SHIFT_CENTERED, "shift_octaves": 2},
    "shift, centered, 4 octaves": {**SHIFT_CENTERED, "shift_octaves": 4},
    "shift, centered, width 11": {**SHIFT_CENTERED, "shift_width": 11},
    "shift, centered, width 3": {**SHIFT_CENTERED, "shift_width": 3},
    "shift, centered, 512 filters": {**SHIFT_CENTERED, "shift_filters": 512},
    "shift, centered, smoothed 7x1": {**SHIFT_CENTERED, "mask_smooth_frames": 7},
    "shift, centered, 512 filters, 4 octaves": {**SHIFT_CENTERED, "shift_filters": 512,
                                                "shift_octaves": 4},
    "shift, centered, 512 filters, smoothed 7x1": {**SHIFT_CENTERED, "shift_filters": 512,
                                                   "mask_smooth_frames": 7},
    "shift, centered, 512 filters, mask 4096/1024": {**SHIFT_CENTERED, "shift_filters": 512,
                                                     "mask_n_fft": 4096,
                                                     "mask_hop_length": 1024},
    "shift, centered, 1024 filters, 4 octaves": {**SHIFT_CENTERED, "shift_filters": 1024,
                                                 "shift_octaves": 4},
    "shift, centered, 512 filters, 4 octaves, smoothed 7x1": {
        **SHIFT_CENTERED, "shift_filters": 512, "shift_octaves": 4, "mask_smooth_frames": 7},
    "shift + rhythm, centered": {"style_weight": 0.0, "shift_weight": 1.0,
                                 "statistics": "centered"},
    "shift + envelope, centered": {**SHIFT_CENTERED, "envelope_weight": 1.0},
    "rhythm + shift": {"style_weight": 0.0, "shift_weight": 1.0},
    "rhythm + envelope": {"style_weight": 0.0, "envelope_weight": 1.0},
}
VARIANTS = {("gram (old default)" if k == "default" else k): {**GRAM_DEFAULTS, **v}
            for k, v in _VARIANTS.items()}
VARIANTS["default"] = {}  # today's StatisticsConfig: the shift statistic, centered
VARIANTS["default + rhythm"] = {"rhythm_weight": 1.0}
VARIANTS["default + rhythm 0.3"] = {"rhythm_weight": 0.3}
VARIANTS["default + harmonic 0.3"] = {"style_weight": 0.3}


class Recorder:
    """Wraps a MaskSeparation: SDR gains of its sources after every evaluation."""

    def __init__(self, sep: MaskSeparation, stems: dict) -> None:
        self.sep, self.stems, self.trace = sep, stems, []

    def terms_and_grad(self, u):
        out = self.sep.terms_and_grad(u)
        self.trace.append(gains(self.stems, dict(zip(self.sep.names, self.sep.last_sources))))
        return out


def variant_names(spec: str) -> list:
    """--variants: "all", or names separated by ";" (or by "," when no ";" is given)."""
    if spec == "all":
        return list(VARIANTS)
    names = [n.strip() for n in spec.split(";" if ";" in spec else ",")]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants: {unknown}; known: {list(VARIANTS)}")
    return names


def build_separation(mix: np.ndarray, examples: dict, cfg: StatisticsConfig) -> tuple:
    """The MaskSeparation of engine.separate for cfg, balanced at the equal split, and u0."""
    net = Network(cfg.network_config(), backend=cfg.backend)
    sep = MaskSeparation(mix, source_objectives(net, examples, cfg), cfg.mask_n_fft,
                         cfg.mask_hop_length, (cfg.mask_smooth_frames, cfg.mask_smooth_bins))
    u0 = np.zeros(sep.size)
    if cfg.balance:
        sep.balance(u0, cfg.balance_sources)
    return sep, u0


def irm_logits(stems: dict, sep: MaskSeparation, swap: bool = False) -> np.ndarray:
    """Logits whose softmax is the ideal ratio mask in sep's mask STFT (sources exchanged
    with ``swap``, for two sources)."""
    w = np.asarray(sep.b.to_numpy(sep.window), dtype=np.float64)
    mags = np.stack([np.abs(numpy_ref.mask_stft_forward(np.asarray(s, dtype=np.float64), w,
                                                        sep.hop_length)[0])
                     for s in stems.values()])
    masks = mags / np.maximum(mags.sum(axis=0), 1e-12)
    if swap:
        masks = masks[::-1]
    return np.log(np.maximum(masks, 1e-6)).reshape(-1)


def diagnose(a: argparse.Namespace) -> str:
    """No optimization: the separation objective (balanced at the equal split, as a run is)
    at the equal split, at the ideal ratio masks and at the swapped ideal ratio masks. A
    statistic can lead the masks to the right answer only if the IRM's loss is the lowest."""
    rows = lab.head("mix", "variant", "loss at equal split", "at IRM", "at swapped IRM",
                    "IRM lowest", "cos(-gradient, IRM) at the start")
    names = variant_names(a.variants)
    for mix_name, (stems, examples) in mixes(a.seconds).items():
        if a.mixes != "all" and mix_name not in a.mixes.split(","):
            continue
        mix = sum(np.asarray(s, dtype=np.float64) for s in stems.values())
        for name in names:
            cfg = StatisticsConfig(progress=False, **VARIANTS[name])
            sep, u0 = build_separation(mix, examples, cfg)
            u_irm = irm_logits(stems, sep)
            terms0, g0 = sep.terms_and_grad(u0)
            losses = [terms0["total"]] + [sep.terms_and_grad(u)[0]["total"] for u in
                                          (u_irm, irm_logits(stems, sep, swap=True))]
            ok = "yes" if losses[1] < min(losses[0], losses[2]) else "no"
            d = u_irm.reshape(sep.shape)
            d = (d - d.mean(axis=0)).reshape(-1)  # softmax ignores a shift common to sources
            cos = float(-g0 @ d / (np.linalg.norm(g0) * np.linalg.norm(d) + 1e-300))
            rows.append(f"| {mix_name} | {name} | " + " | ".join(f"{v:.4g}" for v in losses) +
                        f" | {ok} | {cos:+.3f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows)


def run_variant(stems: dict, examples: dict, cfg: StatisticsConfig) -> tuple:
    mix = sum(np.asarray(s, dtype=np.float64) for s in stems.values())
    sep, u0 = build_separation(mix, examples, cfg)
    rec = Recorder(sep, stems)
    t0 = time.perf_counter()
    res = lbfgs(rec, u0, maxiter=cfg.maxiter, ftol=cfg.ftol, maxcor=cfg.maxcor,
                progress=False)
    return rec.trace, res.nit, time.perf_counter() - t0


def sweep(a: argparse.Namespace) -> str:
    checkpoints = [int(c) for c in a.at.split(",")]
    rows = lab.head("mix", "variant", *(f"after {c} ev." for c in checkpoints), "best (at ev.)",
                    "s / ev.")
    names = variant_names(a.variants)
    for mix_name, (stems, examples) in mixes(a.seconds).items():
        if a.mixes != "all" and mix_name not in a.mixes.split(","):
            continue
        for name in names:
            cfg = StatisticsConfig(progress=False, maxiter=a.maxiter, **VARIANTS[name])
            trace, nit, wall = run_variant(stems, examples, cfg)
            at = [_fmt(trace[min(c, len(trace)) - 1]) for c in checkpoints]
            best = int(np.argmax([min(g.values()) for g in trace]))
            rows.append(f"| {mix_name} | {name} | " + " | ".join(at) +
                        f" | {_fmt(trace[best])} ({best + 1}) | {wall / len(trace):.2f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows)


def distances(a: argparse.Namespace) -> str:
    """||G(stem) - G(example)||^2 of the harmonic branch's Gram, every stem against every
    example (and the equal split's), with the examples transposed by -N..N semitones: whether
    the statistics tell the sources apart at all."""
    rows = lab.head("mix", "transpose N", "signal", "to example 1", "to example 2")
    for mix_name, (stems, examples) in mixes(a.seconds).items():
        cfg = StatisticsConfig(progress=False, rhythm_weight=0.0)
        net = Network(cfg.network_config(), backend=cfg.backend)
        for n in (0, 2):
            grams = {k: example_grams(net, ex, StatisticsConfig(
                progress=False, rhythm_weight=0.0, transpose=n))["harmonic"][0]
                for k, ex in examples.items()}
            signals = {**{f"stem {k}": v for k, v in stems.items()},
                       "equal split": sum(stems.values()) / 2}
            for name, x in signals.items():
                G = net.grams(x, ("harmonic",))["harmonic"][0]
                d = [f"{k}: {float(np.sum((G - Ge) ** 2)):.0f}" for k, Ge in grams.items()]
                rows.append(f"| {mix_name} | {n} | {name} | " + " | ".join(d) + " |")
                print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows)


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("table", "sweep", "distances", "diagnose"))
    p.add_argument("--seconds", type=float, default=None, help="mix length (table: 10, "
                                                               "sweep: 5)")
    p.add_argument("--methods", default="mask,gram,time",
                   help="table: which separations to run (HPSS and the IRM always run)")
    p.add_argument("--seed", type=int, default=0, help="table: the network's seed (mask "
                                                       "methods)")
    p.add_argument("--time-iters", type=int, default=10, help="table: iterations of the "
                                                              "seed's form")
    p.add_argument("--variants", default="all",
                   help="sweep, diagnose: names separated by ';' (or ',')")
    p.add_argument("--mixes", default="all", help="sweep: comma-separated mix names")
    p.add_argument("--maxiter", type=int, default=40, help="sweep: iterations per variant")
    p.add_argument("--at", default="1,5,10,20,40", help="sweep: evaluations to report")
    p.add_argument("--out", default=str(lab.RESULTS))
    a = p.parse_args(argv)
    a.seconds = a.seconds or (10.0 if a.what == "table" else 5.0)
    started = time.perf_counter()
    body = {"table": table, "sweep": sweep, "distances": distances,
            "diagnose": diagnose}[a.what](a)
    header = (f"{a.seconds:g} s mixes at {SR} Hz, default network, backend auto; gains are "
              f"per source in the order named; {time.perf_counter() - started:.0f} s in all.\n\n")
    write_markdown(a.out, f"separation-{a.what}", header + body)
    return 0

