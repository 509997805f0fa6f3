"""Separation on the real-instrument corpus (bench/corpus/render.py: fluidsynth renderings of
music21 scores; each example another passage of the instrument, never its stem): BSS Eval SDR
per source (engine/model/bss_eval.py, mir_eval's bss_eval_sources v3; SI-SDR with --si-sdr)
and its gain over the equal split (mix / n), CPU seconds and wall seconds per mix, beside
the time of one 4096 x 4096 float32 matrix product measured in the same run.

``python -m bench.separation corpus table [--corpus /work/corpus] [--statistics]``: the
default (engine.separate), plain supervised KL-NMF through scikit-learn (32 atoms a source, 200
updates; activations 300 updates with the atoms fixed; Wiener masks of power 2: the classic,
Smaragdis et al. 2007), the statistics method at its defaults (with --statistics: ~20 s a mix),
HPSS (two sources, parts assigned the way that scores best) and the ideal ratio mask (from the
true stems). ``... sweep --set components=48 --set beta=0.5 ...``: the default against variants
of its options (one variant per --set, several options in one --set separated by commas);
``--seeds 0,1,2``: each variant at each seed, the mean over them and their sources averaged
(one seed's figures are one draw of the atoms' random start: piano_strings' piano 9.7 to 13.6
dB over three); ``--no-default``: the variants alone.
``--remix guitar_flute/flute+piano_strings/piano``: also a mix the corpus lacks, made of its
stems at equal RMS. ``... consistent --rounds 2``: consistent Wiener rounds after the default
(each source's mask re-made from its own signal's STFT). ``... fuse --fuse-n-fft 4096``: the
default's sources averaged with those at a second STFT size. ``... misi --rounds 3``: MISI phase
rounds after the default. ``... memory --minutes 10``: peak RSS
(resource.getrusage) of the default on a long mix (the corpus's first mix repeated), with
--fit-iter updates (memory does not grow with updates).
Markdown on stdout and under bench/results/.
"""
import argparse
import json
import sys
import time

import numpy as np

from bench import lab
from bench.lab import write_markdown
from bench.separation.generated import hpss_parts, ideal_ratio_mask
from randstyle.engine.model.bss_eval import bss_eval_sources, si_sdr
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run.separate import separate
from randstyle.kernels import numpy_ref

N_FFT, HOP = 2048, 512


def scores(stems: dict, parts: dict, si: bool = False) -> list:
    """[(SDR, gain over the equal split)] per source, BSS Eval (or SI-SDR with ``si``)."""
    names = list(stems)
    refs = np.stack([np.asarray(stems[n], np.float64) for n in names])
    split = refs.sum(axis=0) / len(names)
    if si:
        found = [si_sdr(r, parts[n]) for r, n in zip(refs, names)]
        equal = [si_sdr(r, split) for r in refs]
    else:
        found = bss_eval_sources(refs, np.stack([np.asarray(parts[n], np.float64)
                                                 for n in names]))[0]
        equal = bss_eval_sources(refs, np.stack([split] * len(names)))[0]
    return [(float(f), float(f - e)) for f, e in zip(found, equal)]


def sklearn_nmf(mix: np.ndarray, examples: dict, k: int = 32, n_fft: int = N_FFT,
                hop: int = HOP) -> dict:
    """The classic supervised KL-NMF, written with scikit-learn's NMF (the issue's baseline)."""
    from sklearn.decomposition import NMF, non_negative_factorization
    w = hann_window(n_fft)
    spec = lambda x: numpy_ref.mask_stft_forward(np.asarray(x, dtype=np.float64), w, hop)[0]  # noqa: E731
    atoms = [NMF(k, beta_loss="kullback-leibler", solver="mu", init="random", max_iter=200,
                 tol=0, random_state=0).fit(np.abs(spec(e))).components_
             for e in examples.values()]
    X = spec(mix)
    A, _, _ = non_negative_factorization(np.abs(X), H=np.concatenate(atoms), update_H=False,
                                         n_components=k * len(atoms), init="custom",
                                         solver="mu", beta_loss="kullback-leibler",
                                         max_iter=300, tol=0)
    P = [np.maximum((A[:, i * k:(i + 1) * k] @ a) ** 2, 1e-30) for i, a in enumerate(atoms)]
    total = sum(P)
    y, _ = numpy_ref.istft_forward(np.stack([p / total * X for p in P]), w, hop, len(mix))
    return dict(zip(examples, y))


def timed(fn, *args, **kw) -> tuple:
    c, w = time.process_time(), time.perf_counter()
    out = fn(*args, **kw)
    return out, time.process_time() - c, time.perf_counter() - w


def methods(with_statistics: bool, variants: dict) -> dict:
    out = {name: (lambda mix, ex, stems, o=opts: separate(mix, ex, seed=0, **o)[0])
           for name, opts in variants.items()}
    out["sklearn KL-NMF 2048"] = lambda mix, ex, stems: sklearn_nmf(mix, ex)
    out["sklearn KL-NMF 8192"] = lambda mix, ex, stems: sklearn_nmf(mix, ex, n_fft=8192,
                                                                    hop=2048)
    if with_statistics:
        out["statistics"] = lambda mix, ex, stems: separate(mix, ex, method="statistics")[0]
    out["HPSS"] = lambda mix, ex, stems: hpss_parts(stems) if len(stems) == 2 else None
    out["ideal ratio mask 2048"] = lambda mix, ex, stems: ideal_ratio_mask(stems, N_FFT, HOP)
    out["ideal ratio mask 8192"] = lambda mix, ex, stems: ideal_ratio_mask(stems, 8192, 2048)
    return out


def seeded(variants: dict, seeds: list) -> dict:
    """Each variant's method at each seed ('LABEL seed S'), then 'LABEL, seeds averaged': the
    average of those seeds' sources (each set sums to the mix, so the average does; its time is
    the seeds' rows together). A seed draws every atom's random start: one seed's table is one
    draw (issue 30, fifth pass)."""
    cache, out = {}, {}

    def one(label: str, opts: dict, s: int):
        def fn(mix, ex, stems):
            cache[label, s, id(mix)] = separate(mix, ex, **{**opts, "seed": s})[0]
            return cache[label, s, id(mix)]
        return fn

    def averaged(label: str):
        def fn(mix, ex, stems):
            outs = [cache[label, s, id(mix)] for s in seeds]
            return {k: sum(o[k] for o in outs) / len(outs) for k in outs[0]}
        return fn
    for label, opts in variants.items():
        out.update({f"{label} seed {s}": one(label, opts, s) for s in seeds})
        out[f"{label}, seeds averaged"] = averaged(label)
    return out


def seed_means(variants: dict, seeds: list, mixes: list, found: dict) -> list:
    """Per variant and mix, the mean over the seeds of each source's SDR."""
    lines = lab.head("variant: mean over seeds " + ", ".join(map(str, seeds)),
                     *(m[0] for m in mixes))
    for label in variants:
        cells = [np.mean([[v for v, _ in found[f"{label} seed {s}", m[0]]] for s in seeds],
                         axis=0) for m in mixes]
        lines.append(f"| {label} | " + " | ".join(" / ".join(f"{v:.2f}" for v in c)
                                                   for c in cells) + " |")
    return lines


def parse_set(spec: str) -> dict:
    opts = {}
    for item in spec.split(","):
        key, _, value = item.partition("=")
        try:
            opts[key] = json.loads(value)
        except json.JSONDecodeError:
            opts[key] = value
    return opts


def remixed(mixes: list, spec: str) -> tuple:
    """A mix the corpus lacks, from its stems: spec 'MIX/SOURCE+MIX/SOURCE[+...]' (e.g.
    guitar_flute/flute+piano_strings/piano), each stem scaled to the first's RMS (the corpus's
    mixes are at equal RMS), the sources' examples the corpus's."""
    by_name = {m[0]: m for m in mixes}
    stems, examples = {}, {}
    for part in spec.split("+"):
        mix, _, source = part.partition("/")
        stem = by_name[mix][2][source]
        first = next(iter(stems.values()), stem)
        stems[source] = stem * np.sqrt(np.mean(first ** 2) / np.mean(stem ** 2))
        examples[source] = by_name[mix][3][source]
    return "_".join(stems) + " (remix)", sum(stems.values()), stems, examples


def run(args: argparse.Namespace) -> str:
    sr, mixes = lab.mixes(args.corpus)
    extra = [remixed(mixes, spec) for spec in args.remix or ()]
    if args.mixes:
        mixes = [m for m in mixes if m[0] in args.mixes.split(",")]
    mixes = mixes + extra
    variants = {} if args.no_default else {"default": {}}
    for spec in args.set or ():
        variants[spec] = parse_set(spec)
    table = methods(args.statistics and args.mode == "table",
                    variants) if args.mode == "table" else \
        {k: v for k, v in methods(False, variants).items()
         if k in variants or k == "ideal ratio mask 2048"}
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    if seeds:
        table = {**seeded(variants, seeds),
                 **{k: v for k, v in table.items() if k not in variants}}
    unit = lab.matmul_seconds()
    names = ("method", *(m[0] for m in mixes))
    sdrs, gains_ = lab.head(*names), lab.head(*names, "CPU s / wall s (all)")
    times, found = [], {}
    for label, fn in table.items():
        cells, cpu, wall, slowest = [], 0.0, 0.0, 0.0
        for name, mix, stems, ex in mixes:
            parts, c, w = timed(fn, mix, ex, stems)
            cpu, wall, slowest = cpu + c, wall + w, max(slowest, w)
            cells.append(None if parts is None else scores(stems, parts, args.si_sdr))
            found[label, name] = cells[-1]
            text = "-" if parts is None else " / ".join(f"{g:+.1f}" for _, g in cells[-1])
            print(f"{label} {name}: {text} ({c:.1f} s CPU)", file=sys.stderr)
        sdrs.append(f"| {label} | " + " | ".join(
            "-" if c is None else " / ".join(f"{v:.1f}" for v, _ in c) for c in cells) + " |")
        gains_.append(f"| {label} | " + " | ".join(
            "-" if c is None else " / ".join(f"{g:+.1f}" for _, g in c) for c in cells)
            + f" | {cpu:.1f} / {wall:.1f} |")
        times.append(f"{label}: slowest mix {slowest:.1f} s wall = {slowest / unit:.1f}x the "
                     f"matrix product")
    measure = "SI-SDR" if args.si_sdr else "BSS Eval SDR"
    out = [f"{measure} (dB) per source in the order of the mix's name; {len(mixes)} mixes at "
           f"{sr} Hz from {args.corpus}; one 4096 x 4096 float32 product {unit:.3f} s.", "",
           *sdrs, "", "Gain over the equal split (dB):", "", *gains_, "", *times]
    if seeds:
        out += ["", *seed_means(variants, seeds, mixes, found)]
    ref = "ideal ratio mask 2048"
    for label in table:
        short = [r - v for m in mixes if found.get((label, m[0])) and found.get((ref, m[0]))
                 for (v, _), (r, _) in zip(found[label, m[0]], found[ref, m[0]])]
        if short and label != ref:
            out.append(f"{label}: at most {max(short):.1f} dB below the {ref} (mean "
                       f"{np.mean(short):.1f})")
    return write_markdown(lab.RESULTS, f"separation_corpus_{args.mode}", "\n".join(out))


def memory(args: argparse.Namespace) -> str:
    import resource
    sr, mixes = lab.mixes(args.corpus)
    _, mix, _, examples = mixes[0]
    n = int(args.minutes * 60 * sr)
    long_mix = np.resize(mix.astype(np.float32), n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _, c, w = timed(separate, long_mix, examples, fit_iter=args.fit_iter)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = (f"{args.minutes:g}-minute mix ({n} samples at {sr} Hz, {len(examples)} sources, "
            f"--fit-iter {args.fit_iter}): peak RSS {peak:.0f} MiB (before the separation "
            f"{before:.0f} MiB; the mix alone in float32 {n * 4 / 2**20:.0f} MiB); "
            f"{c:.0f} s CPU, {w:.0f} s wall")
    return write_markdown(lab.RESULTS, "separation_memory", text)


def consistent(args: argparse.Namespace) -> str:
    """The default's sources, then N rounds of consistent Wiener masks: each source's power
    re-measured from the STFT of its own signal (|STFT(y_s)|^2 / sum), applied to the mix."""
    sr, mixes = lab.mixes(args.corpus)
    w = hann_window(N_FFT)
    stft = lambda x: numpy_ref.mask_stft_forward(np.asarray(x, np.float64), w, HOP)[0]  # noqa: E731
    rows = lab.head("mix", *(f"round {i}" for i in range(args.rounds + 1)))
    for name, mix, stems, ex in mixes:
        parts, cells, X = separate(mix, ex, seed=0)[0], [], stft(mix)
        for _ in range(args.rounds + 1):
            cells.append(" / ".join(f"{g:+.1f}" for _, g in scores(stems, parts)))
            power = {k: np.abs(stft(v)) ** 2 for k, v in parts.items()}
            total = sum(power.values()) + 1e-12
            parts = {k: numpy_ref.istft_forward((p / total * X)[None], w, HOP, len(mix))[0][0]
                     for k, p in power.items()}
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return write_markdown(lab.RESULTS, "separation_consistent", "\n".join(rows))


def fuse(args: argparse.Namespace) -> str:
    """The default's sources and those at --fuse-n-fft (hop a quarter) averaged, weights w and
    1 - w (the fusion of two STFT sizes that issue 30 measured and did not keep)."""
    sr, mixes = lab.mixes(args.corpus)
    if args.mixes:
        mixes = [m for m in mixes if m[0] in args.mixes.split(",")]
    n = args.fuse_n_fft
    rows = lab.head("mix", "default", f"{n} / {n // 4}", "fused 0.5", "fused 0.7")
    for name, mix, stems, ex in mixes:
        a = separate(mix, ex, seed=0)[0]
        b = separate(mix, ex, seed=0, mask_n_fft=n, mask_hop_length=n // 4)[0]
        cells = [scores(stems, p) for p in (a, b, *({k: w * a[k] + (1 - w) * b[k] for k in a}
                                                    for w in (0.5, 0.7)))]
        rows.append(f"| {name} | " + " | ".join(" / ".join(f"{v:.2f}" for v, _ in c)
                                                 for c in cells) + " |")
    return write_markdown(lab.RESULTS, f"separation_fuse_{n}", "\n".join(rows))


def wiener_spectra(mix: np.ndarray, examples: dict) -> tuple:
    """The default's masked spectra M_s X (numpy backend, 8192 / 2048) and the mix's X."""
    from randstyle import kernels
    from randstyle.engine.config import SeparateConfig
    from randstyle.engine.run import separate_dictionary as sd
    b = kernels.get_backend("numpy")
    cfg = sd.stft_sizes(SeparateConfig(seed=0, backend="numpy"), [mix, *examples.values()])
    rng, window = np.random.default_rng(0), hann_window(cfg.mask_n_fft).astype(np.float32)
    atoms = [sd.example_atoms(b, k, e, cfg, window, rng) for k, e in examples.items()]
    X, V = sd.magnitude(b, mix, window, cfg.mask_hop_length)
    A, D = sd.fit_activations(b, V, np.concatenate(atoms), cfg.fit_iter, cfg.beta)
    bounds = np.cumsum([0] + [len(a) for a in atoms])
    P = [b.nmf_model_power(A[:, lo:hi], D[lo:hi], cfg.mask_power)
         for lo, hi in zip(bounds[:-1], bounds[1:])]
    return {k: p / sum(P) * X for k, p in zip(examples, P)}, X


def misi(args: argparse.Namespace) -> str:
    """The default's Wiener spectra, then rounds of MISI (Gunawan & Sen 2010) at its STFT
    (8192 / 2048): each source keeps its masked magnitude |M_s X| and takes the phase of its
    re-analysed STFT plus an equal share of what the sources miss of the mix."""
    sr, mixes = lab.mixes(args.corpus)
    if args.mixes:
        mixes = [m for m in mixes if m[0] in args.mixes.split(",")]
    w, hop = hann_window(8192), 2048
    stft = lambda x: numpy_ref.mask_stft_forward(np.asarray(x, np.float64), w, hop)[0]  # noqa: E731
    rows = lab.head("mix", *(f"round {i}" for i in range(args.rounds + 1)))
    for name, mix, stems, ex in mixes:
        spec, X = wiener_spectra(mix.astype(np.float32), ex)
        mags, cells = {k: np.abs(S) for k, S in spec.items()}, []
        for _ in range(args.rounds + 1):
            parts = {k: numpy_ref.istft_forward(S[None], w, hop, len(mix))[0][0]
                     for k, S in spec.items()}
            cells.append(" / ".join(f"{v:.2f}" for v, _ in scores(stems, parts)))
            spec = {k: stft(v) for k, v in parts.items()}
            miss = (X - sum(spec.values())) / len(spec)
            spec = {k: mags[k] * np.exp(1j * np.angle(S + miss)) for k, S in spec.items()}
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return write_markdown(lab.RESULTS, "separation_misi", "\n".join(rows))


def main(argv: list | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["table", "sweep", "memory", "consistent", "fuse", "misi"])
    ap.add_argument("--fuse-n-fft", type=int, default=2048, help="fuse: the second STFT size")
    ap.add_argument("--rounds", type=int, default=2, help="consistent, misi: rounds")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fit-iter", type=int, default=3)
    lab.corpus_option(ap)
    ap.add_argument("--statistics", action="store_true",
                    help="also the statistics method (slow)")
    ap.add_argument("--set", action="append", help="a variant: KEY=VALUE[,KEY=VALUE]")
    ap.add_argument("--mixes", help="only these mixes (comma-separated names)")
    ap.add_argument("--seeds", help="table, sweep: each variant at these seeds (e.g. 0,1,2), "
                                    "their mean and their sources averaged")
    ap.add_argument("--no-default", action="store_true",
                    help="table, sweep: the --set variants only, not the default beside them")
    ap.add_argument("--si-sdr", action="store_true", help="SI-SDR instead of BSS Eval SDR")
    ap.add_argument("--remix", action="append",
                    help="table, sweep: also a mix of the corpus's stems, "
                         "MIX/SOURCE+MIX/SOURCE[+...] (equal RMS)")
    args = ap.parse_args(argv)
    modes = {"memory": memory, "consistent": consistent, "fuse": fuse, "misi": misi}
    modes.get(args.mode, run)(args)

