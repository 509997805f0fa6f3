"""Probes of where the dictionary method's error is (issue 30, third pass; BSS Eval SDR,
docs/results/separation.md), each a default separation with one thing changed:

``python -m bench.separation probes stems --mixes guitar_flute,piano_strings``: each source's
example replaced by its true stem in turn. ``... probes transpose --mixes guitar_flute --per
flute=1 --per flute=3 --per guitar=9 --per strings=-6:14``: one source's transposition range
changed (N: -N..N; LO:HI: LO..HI semitones).
``... probes templates --mixes piano_organ --only piano --only organ``: --dictionary-harmonic
60 --dictionary-partials with the template atoms of the named sources only (the others'
dropped, whatever assign_templates decided; NAME@LO:HI: only at MIDI notes LO..HI).
``... probes both --mixes guitar_flute --only guitar,flute@76:88 --per flute=2``: the two
together, the --only set beside each --per.
Markdown on stdout and under bench/results/.
"""
import argparse
import time

from bench import lab
from bench.lab import write_markdown
from bench.separation.corpus import scores
from randstyle.engine.model.dictionary import template_atoms
from randstyle.engine.run import separate_dictionary as sd
from randstyle.engine.run.separate import separate
from randstyle.engine.run.separate_dictionary import harmonic_notes


def _row(label: str, name: str, stems: dict, parts: dict, cpu: float) -> str:
    return f"| {name} | {label} | " + " / ".join(f"{v:.2f}" for v, _ in scores(stems, parts)) \
        + f" | {cpu:.1f} |"


def _range(text: str) -> tuple:
    """'N' as (-N, N); 'LO:HI' (semitones, either signed) as (LO, HI)."""
    lo, _, hi = text.partition(":")
    return (int(lo), int(hi)) if hi else (-int(lo), int(lo))


def _notes(text: str) -> tuple:
    """'NAME' as (NAME, None); 'NAME@LO:HI' as (NAME, (LO, HI)): its template atoms at those
    MIDI notes only."""
    name, _, span = text.partition("@")
    return name, _range(span) if span else None


def _patched(name_of: dict, per: dict, only: list | None):
    """example_spectrum and source_atoms of separate_dictionary, wrapped: the spec knows its
    source's name; per {name: (lo, hi)} sets that source's transposition range; only keeps the
    template atoms of those sources."""
    spectrum, atoms, assign = sd.example_spectrum, sd.source_atoms, sd.assign_templates

    def example_spectrum(b, name, example, cfg, window):
        spec = spectrum(b, name, example, cfg, window)
        name_of[id(spec)] = name
        if name in per and spec.pitched:
            lo, hi = per[name]
            spec.shifts = [s for s in range(lo, hi + 1) if s]
        return spec

    notes = dict(_notes(o) for o in only or ())

    def assign_templates(b, specs, cfg, n_bins):
        for spec in specs:
            name = name_of.get(id(spec))
            lo, hi = notes.get(name) or (0, 127)
            midi = [m for m in harmonic_notes(cfg) if lo <= m <= hi]
            keep = spec.template is not None and name in notes and midi
            spec.harmonic = [template_atoms(b, spec.template, cfg.sr, cfg.mask_n_fft, n_bins,
                                            midi)] if keep else []
    return example_spectrum, atoms, assign if only is None else assign_templates


def main(argv: list | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["stems", "transpose", "templates", "both"])
    ap.add_argument("--per", action="append", default=[],
                    help="transpose, both: NAME=N or NAME=LO:HI[,...]")
    ap.add_argument("--only", action="append", default=[],
                    help="templates: NAME[@LO:HI][,...]; both: one such, beside every --per")
    ap.add_argument("--mixes", required=True, help="comma-separated mix names")
    lab.corpus_option(ap)
    args = ap.parse_args(argv)
    _, mixes = lab.mixes(args.corpus)
    rows = lab.head("mix", "variant", "BSS Eval SDR (dB)", "CPU s")
    saved = sd.example_spectrum, sd.source_atoms, sd.assign_templates
    for name, mix, stems, ex in (m for m in mixes if m[0] in args.mixes.split(",")):
        runs = {"stems": [(f"{k}'s stem as its example", {**ex, k: stems[k]}, {}, None, {})
                          for k in ex],
                "transpose": [(f"transpose {p}", ex, dict(i.split("=") for i in p.split(",")),
                               None, {}) for p in args.per],
                "templates": [(f"template atoms of {o} only", ex, {}, o.split(","),
                               dict(dictionary_harmonic=60, dictionary_partials=True))
                              for o in args.only],
                "both": [(f"transpose {p}, template atoms of {o} only", ex,
                          dict(i.split("=") for i in p.split(",")), o.split(","),
                          dict(dictionary_harmonic=60, dictionary_partials=True))
                         for p in args.per for o in args.only[:1]]}[args.mode]
        for label, examples, per, only, opts in runs:
            per = {k: _range(v) for k, v in per.items()}
            sd.example_spectrum, sd.source_atoms, sd.assign_templates = \
                _patched({}, per, only)
            c = time.process_time()
            try:
                parts = separate(mix, examples, seed=0, **opts)[0]
            finally:
                sd.example_spectrum, sd.source_atoms, sd.assign_templates = saved
            rows.append(_row(label, name, stems, parts, time.process_time() - c))
            print(rows[-1], flush=True)
    write_markdown(lab.RESULTS, f"separation_probes_{args.mode}", "\n".join(rows))
