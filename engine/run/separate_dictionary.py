"""Separation by dictionaries (engine/model/dictionary.py): each source's atoms learned from
its example's magnitude STFT (and its transpositions), the mix's activations fitted with the
stacked atoms fixed (plus, for a --rest source without an example, atoms learned from the mix
itself), each source the mix STFT times its Wiener mask (A_s D_s)^p / sum_r (A_r D_r)^p,
inverse STFT. The masks sum to one, so the sources sum to the mix to float rounding.

Everything runs in float32 on the backend's arrays; a source's mask is made, applied and
inverted one source at a time, so a long mix needs a few spectrogram-sized arrays, never a
sources x frames x bins tensor.
"""
from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, Optional

import numpy as np

from randstyle import kernels
from randstyle.engine.audio import check_signal
from randstyle.engine.config import DictionaryConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.dictionary import (
    PITCHED_FLATNESS,
    fit_activations,
    harmonic_atoms,
    learn_dictionary,
    partial_template,
    register,
    spectral_flatness,
    template_atoms,
    transpose_atoms,
)
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run.common import run_report
from randstyle.engine.run.separate_shared import (
    REFERENCE_MEASURE,
    check_references,
    reference_scores,
)


def magnitude(b: Any, x: np.ndarray, window: Any, hop_length: int) -> tuple[Any, Any]:
    """(complex STFT (T, n_bins), its magnitude) of x, float32 on backend b."""
    X, _ = b.mask_stft_forward(b.asarray(np.asarray(x, dtype=np.float32)), window, hop_length)
    return X, b.xp.abs(X)


def example_spectrum(b: Any, name: str, example: np.ndarray, cfg: DictionaryConfig,
                     window: Any) -> SimpleNamespace:
    """The example's magnitudes as the atoms are learned from them: V (every
    cfg.dictionary_stride-th frame), pitched (spectral flatness below PITCHED_FLATNESS), the
    semitones of its transposed atoms (transpositions) and,
    with cfg.dictionary_harmonic, its harmonic atoms or, with cfg.dictionary_partials, its
    partial template (assign_templates makes its atoms); both from every frame."""
    check_signal(np.asarray(example), f"the example of {name!r}")
    if len(example) < cfg.mask_n_fft:
        raise ParameterError(f"the example of {name!r} has {len(example)} samples, shorter than "
                             f"one STFT frame (--mask-n-fft {cfg.mask_n_fft})")
    V = magnitude(b, example, window, cfg.mask_hop_length)[1]
    pitched = spectral_flatness(b, V) < PITCHED_FLATNESS
    harmonic = pitched and cfg.dictionary_harmonic and not cfg.dictionary_partials
    harmonic = [harmonic_atoms(b, V, cfg.sr, cfg.mask_n_fft, harmonic_notes(cfg))] \
        if harmonic else []
    template = partial_template(b.to_numpy(V), cfg.sr, cfg.mask_n_fft) \
        if pitched and cfg.dictionary_harmonic and cfg.dictionary_partials else None
    shifts = transpositions(b, V, pitched, cfg)
    if cfg.dictionary_stride > 1:
        V = b.xp.ascontiguousarray(V[::cfg.dictionary_stride])
    return SimpleNamespace(V=V, pitched=pitched, harmonic=harmonic, template=template,
                           shifts=shifts)


# A pitched example whose register (dictionary.register) is at or above HIGH_REGISTER (C5)
# reaches down by at most cfg.dictionary_high_down semitones: its partner plays below it, and
# the corpus's flute (85) transposed down 6 took the guitar's upper partials (measured in
# docs/results/separation.md: guitar_flute 14.98 / 11.65 with -6..6, 15.15 / 12.12 with -2..4).
HIGH_REGISTER = 72


def transpositions(b: Any, V: Any, pitched: bool, cfg: DictionaryConfig) -> list:
    """The semitones by which a pitched example's atoms are transposed (none for an unpitched
    one): -N..N without 0 (N = cfg.dictionary_transpose), the downward reach cut to
    cfg.dictionary_high_down for a high example."""
    n = cfg.dictionary_transpose
    if not pitched:
        return []
    down = n
    if cfg.dictionary_high_down < n and \
            register(b.to_numpy(V), cfg.sr, cfg.mask_n_fft) >= HIGH_REGISTER:
        down = cfg.dictionary_high_down
    return [s for s in range(-down, n + 1) if s]


def harmonic_notes(cfg: DictionaryConfig) -> list:
    """The MIDI notes of the harmonic atoms: C2 (36) up cfg.dictionary_harmonic semitones."""
    return list(range(36, 36 + cfg.dictionary_harmonic))


# Template atoms go to a pitched source whose template has at least this many partials in
# effect (1 / sum of squared shares: the corpus's flute 1.1, guitar 3.5, piano 5.1, organ 8.1),
# differs from every other pitched source's by at least TEMPLATE_APART (L1 of the shares;
# guitar / flute 0.98, piano / organ 0.52, piano / strings 0.45) and plays beside a
# near-sinusoid (a pitched source under TEMPLATE_PARTIALS): a near-sinusoid's atoms take any
# partial the rich source's own atoms miss, which its templates cover; two alike templates
# compete for every note; beside drums alone the piano's templates cost it 0.2 dB
# (docs/results/separation.md).
TEMPLATE_PARTIALS, TEMPLATE_APART = 2.0, 0.75


def assign_templates(b: Any, specs: list, cfg: DictionaryConfig, n_bins: int) -> None:
    """spec.harmonic of each spec with a partial template: its template atoms at every note
    of harmonic_notes where the rule above lets it have them, none elsewhere."""
    own = [s for s in specs if s.template is not None]
    partials = {id(s): 1.0 / float((s.template ** 2).sum()) for s in own}
    for spec in own:
        others = [o for o in own if o is not spec]
        rich = partials[id(spec)] >= TEMPLATE_PARTIALS
        apart = all(float(np.abs(spec.template - o.template).sum()) >= TEMPLATE_APART
                    for o in others)
        beside = any(partials[id(o)] < TEMPLATE_PARTIALS for o in others)
        spec.harmonic = [template_atoms(b, spec.template, cfg.sr, cfg.mask_n_fft, n_bins,
                                        harmonic_notes(cfg))] if rich and apart and beside \
            else []


def source_atoms(b: Any, spec: SimpleNamespace, V: Any, cfg: DictionaryConfig,
                 rng: np.random.Generator) -> Any:
    """cfg.components atoms learned from V and, when the example is pitched, the same atoms
    transposed by each of spec.shifts semitones beside them (transpositions): atoms for notes
    the example never plays; its harmonic atoms last."""
    D = learn_dictionary(b, V, cfg.components, cfg.dictionary_iter, cfg.beta, rng)
    return b.xp.concatenate([D] + [transpose_atoms(b, D, s) for s in spec.shifts]
                            + spec.harmonic,
                            axis=0)


def example_atoms(b: Any, name: str, example: np.ndarray, cfg: DictionaryConfig, window: Any,
                  rng: np.random.Generator) -> Any:
    """The source's atoms from its example alone (example_spectrum, source_atoms)."""
    spec = example_spectrum(b, name, example, cfg, window)
    return source_atoms(b, spec, spec.V, cfg, rng)


def refined_atoms(b: Any, specs: list, V: Any, A: Any, D: Any, sizes: list,
                  cfg: DictionaryConfig, rng: np.random.Generator) -> list:
    """Self-training: each source's atoms learned again from its example's frames beside its
    first-pass estimate (its Wiener mask times the mix's magnitudes V), scaled to the
    example's mean level; the estimate plays the notes the stem plays, which the example
    may never do."""
    bounds = np.cumsum([0] + sizes)
    P = [b.nmf_model_power(A[:, lo:hi], D[lo:hi], cfg.mask_power)
         for lo, hi in zip(bounds[:-1], bounds[1:])]
    total = sum(P[1:], P[0])
    out = []
    for spec, p in zip(specs, P):
        est = b.wiener_apply(p, total, V)
        est = est * (spec.V.mean() / b.xp.maximum(est.mean(), V.dtype.type(1e-30)))
        out.append(source_atoms(b, spec, b.xp.concatenate([spec.V, est], axis=0), cfg, rng))
    return out


def wiener_sources(b: Any, X: Any, A: Any, D: Any, sizes: list, cfg: DictionaryConfig,
                   window: Any, n: int) -> list:
    """Each source's signal: mix STFT times its power-p Wiener mask, inverse STFT; the
    denominator summed first, then one source's spectrum at a time."""
    bounds = np.cumsum([0] + sizes)
    parts = [(A[:, lo:hi], D[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    total = None
    for a, d in parts:
        P = b.nmf_model_power(a, d, cfg.mask_power)
        total = P if total is None else total + P
    out = []
    for a, d in parts:
        Y = b.wiener_apply(b.nmf_model_power(a, d, cfg.mask_power), total, X)
        y, _ = b.istft_forward(Y[None], window, cfg.mask_hop_length, n)
        out.append(np.asarray(b.to_numpy(y[0]), dtype=np.float32))
    return out


# The analysis frame that resolves harmonics (docs/results/separation.md: at 22050 Hz, 8192/2048
# measured above 2048/512 on every pitched source of the corpus)
DEFAULT_N_FFT = 8192


def stft_sizes(cfg: DictionaryConfig, signals: list) -> DictionaryConfig:
    """cfg with its mask STFT: as given, or DEFAULT_N_FFT halved until the shortest signal
    holds a frame (256 at least: a shorter example is refused), hop a quarter of it."""
    if cfg.mask_n_fft is not None:
        return cfg
    n_fft, shortest = DEFAULT_N_FFT, min(len(x) for x in signals)
    while n_fft > shortest and n_fft > 256:
        n_fft //= 2
    hop = cfg.mask_hop_length if cfg.mask_hop_length and cfg.mask_hop_length <= n_fft // 2 \
        else n_fft // 4
    return replace(cfg, mask_n_fft=n_fft, mask_hop_length=hop)


def continuity_weights(b: Any, specs: list, sizes: list, cfg: DictionaryConfig) -> Any:
    """The temporal continuity weight of each atom (sizes: each source's atom count, the
    --rest source's last): cfg.continuity for a pitched example's (notes are held; a drum
    hit is not), 0 for the others and the --rest source's."""
    if not cfg.continuity:
        return 0.0
    w = np.concatenate([np.full(n, cfg.continuity * spec.pitched)
                        for spec, n in zip(specs, sizes)]
                       + ([np.zeros(cfg.rest_components)] if cfg.rest else []))
    return b.asarray(w.astype(np.float32))


def separate_at(b: Any, mix: np.ndarray, examples: dict, names: list,
                cfg: DictionaryConfig) -> dict:
    """{name: float32 signal} at cfg's mask STFT: atoms, the mix's activations, Wiener masks
    (a generator from cfg.seed)."""
    rng = np.random.default_rng(cfg.seed)
    window = b.asarray(hann_window(cfg.mask_n_fft).astype(np.float32))
    specs = [example_spectrum(b, name, ex, cfg, window) for name, ex in examples.items()]
    assign_templates(b, specs, cfg, cfg.mask_n_fft // 2 + 1)
    atoms = [source_atoms(b, spec, spec.V, cfg, rng) for spec in specs]
    X, V = magnitude(b, mix, window, cfg.mask_hop_length)
    free = None
    if cfg.rest:
        level = float(np.sqrt(max(float(V.mean()), 1e-12)))
        free = b.asarray((level * (0.5 + rng.random((cfg.rest_components, V.shape[1]))))
                         .astype(np.float32))
        free = free / free.sum(axis=1, keepdims=True)
    sizes = [len(a) for a in atoms] + ([cfg.rest_components] if cfg.rest else [])
    A, D = fit_activations(b, V, b.xp.concatenate(atoms, axis=0), cfg.fit_iter, cfg.beta,
                           free=free, continuity=continuity_weights(b, specs, sizes, cfg))
    for _ in range(cfg.dictionary_refine):
        atoms = refined_atoms(b, specs, V, A, D, sizes, cfg, rng)
        sizes = [len(a) for a in atoms] + ([cfg.rest_components] if cfg.rest else [])
        # the --rest source's atoms go on from where its first fit left them
        A, D = fit_activations(b, V, b.xp.concatenate(atoms, axis=0), cfg.fit_iter, cfg.beta,
                               free=D[len(D) - cfg.rest_components:] if cfg.rest else None,
                               continuity=continuity_weights(b, specs, sizes, cfg))
    return dict(zip(names, wiener_sources(b, X, A, D, sizes, cfg, window, len(mix))))


def separate_dictionary(mix: np.ndarray, examples: dict, cfg: DictionaryConfig, *,
                        references: Optional[dict] = None) -> tuple[dict, dict]:
    """engine.separate with --method dictionary: ({name: float32 signal}, report)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    names = list(examples) + ([cfg.rest] if cfg.rest else [])
    if cfg.rest in examples:
        raise ParameterError(f"--rest {cfg.rest!r} also has an example (--source)")
    if len(names) < 2:
        raise ParameterError("separation needs two or more sources (--source NAME=FILE, "
                             "or one --source and --rest NAME)")
    check_signal(np.asarray(mix), "the mix")
    check_references(mix, names, references or {})
    # The report's config keeps the options as given (a batch compares them with its row's,
    # and the default's size depends on the signals); the sizes used are a field of their own.
    given, cfg = cfg, stft_sizes(cfg, [mix, *examples.values()])
    if cfg.threads:
        kernels.set_threads(cfg.threads)
    b = kernels.get_backend(cfg.backend)
    found = separate_at(b, mix, examples, names, cfg)
    mix64 = np.asarray(mix, dtype=np.float64)
    residual = sum(p.astype(np.float64) for p in found.values()) - mix64
    # run_report reads the backend off a network; this method has none
    report = run_report("separate", given, SimpleNamespace(backend=b), started,
                        method="dictionary", sources=names,
                        mask_stft={"n_fft": cfg.mask_n_fft, "hop_length": cfg.mask_hop_length},
                        mix_residual_rel=float(np.linalg.norm(residual) / np.linalg.norm(mix64)),
                        interrupted=False,
                        cpu_time_s=round(time.process_time() - cpu_started, 4))
    if references:
        report["reference"] = reference_scores(mix64, found, references, cfg)
        report["reference_measure"] = REFERENCE_MEASURE
    return found, report
