"""Configuration dataclasses: the API takes them, and the CLI turns them into flags.

Kept flat (no nesting) because argparse-dataclass maps one field to one flag. No
``from __future__ import annotations`` here: argparse-dataclass reads the real types.
"""
import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, Optional

import numpy as np

from randstyle.engine.errors import ParameterError


def opt(default: Any, help: str, show: bool = True, **metadata: Any) -> Any:
    """A field with its default written into the help (argparse-dataclass prints none)."""
    shown = "on" if default is True else "off" if default is False else default
    text = f"{help} (default: {shown})" if show else help
    return field(default=default, metadata={"help": text, **metadata})


def _check_numbers(cfg: Any) -> None:
    """Every number finite and every integer option a whole number, whatever its field: a NaN
    passes every ``< 0`` and ``> 0`` comparison, so the range checks alone let it through."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        flag, named = f.name, (f.name,)  # the CLI says it as its flag
        if isinstance(value, bool) and f.type in (int, float, Optional[int], Optional[float]):
            raise ParameterError(f"{flag} must be a number, got {value}", named)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            continue
        if not math.isfinite(value):
            raise ParameterError(f"{flag} must be a finite number, got {value}", named)
        if f.type in (int, Optional[int]) and not isinstance(value, (int, np.integer)):
            raise ParameterError(f"{flag} must be a whole number, got {value}", named)


def _check_positive(cfg: Any, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if value is not None and not value > 0:
            raise ParameterError(f"{name} must be positive, got {value}", (name,))


def _check_nonnegative(cfg: Any, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if value < 0:
            raise ParameterError(f"{name} must be >= 0, got {value}", (name,))


@dataclass
class NetworkConfig:
    """The random network: STFT front end, harmonic and rhythm branches (docs/design.md §1-4)."""
    sr: int = opt(22050, "sample rate in Hz that all audio is resampled to")
    n_fft: int = opt(2048, "STFT frame length in samples (even)")
    hop_length: int = opt(512, "STFT hop in samples")
    n_filters: int = opt(4096, "random filters in the harmonic conv")
    kernel_size: int = opt(11, "harmonic conv width in frames")
    harmonic_filters: Literal["dense", "fastfood"] = opt(
        "dense", "the harmonic conv's random filters: dense Gaussian, or fastfood (structured: "
                 "signs, Walsh-Hadamard, permutation, Gaussian diagonal, Walsh-Hadamard, "
                 "scale; the same statistics in ~1/100 of the arithmetic, docs/results/filters.md)")
    style_factor_tol: float = opt(1e-4, "Gram-free style loss: the style's factor cut to the "
                                        "rows that keep its Gram within this relative error "
                                        "(0: every row, exact; docs/results/performance.md)")
    n_mels: int = opt(8, "mel bins of the rhythm branch (3: bass, mid, treble)")
    fmin: float = opt(0.0, "lowest mel band edge in Hz")
    fmax: Optional[float] = opt(None, "highest mel band edge in Hz (default: sr / 2)",
                                show=False)
    mel_norm: Literal["slaney", "none"] = opt(
        "slaney", "mel filterbank normalization: slaney (constant area) or none (peak 1)")
    mel_log: bool = field(default=True, metadata={
        "args": ["--no-mel-log"], "help": "feed the linear mel magnitude to the rhythm conv "
                                          "instead of its log1p (default: log1p on)"})
    rhythm_filters: Optional[int] = opt(
        None, "random filters of the rhythm branch (default: 4096, or 2048 with --n-resid)",
        show=False)
    rhythm_kernel_size: int = opt(50, "rhythm conv width in frames (~1.2 s)")
    n_resid: int = opt(0, "dilated residual blocks after the rhythm conv (dilation 2^i)")
    resid_kernel_size: int = opt(25, "width of the dilated convs of the residual blocks")
    content_features: Literal["harmonic", "mel"] = opt(
        "harmonic", "content loss on the harmonic features, or on mel features (key and "
                    "tuning invariant)")
    content_n_mels: int = opt(16, "mel bins of the content features with "
                                  "--content-features mel")
    seed: int = opt(0, "seed of the random weights and the initial noise")
    dtype: Literal["float32", "float64"] = opt("float32", "engine dtype")
    dft: Literal["fft", "matrix"] = opt(
        "fft", "DFT conv form: rfft of frames, or the seed's frames @ DFT-basis GEMM")

    def __post_init__(self) -> None:
        _check_numbers(self)  # first: every field, a subclass's too
        _check_positive(self, "sr", "n_fft", "hop_length", "n_filters", "kernel_size",
                        "n_mels", "rhythm_filters", "rhythm_kernel_size", "resid_kernel_size",
                        "content_n_mels")
        if self.n_fft % 2:
            raise ParameterError(f"n_fft must be even, got {self.n_fft}", ("n_fft",))
        _check_nonnegative(self, "seed", "n_resid")
        if not 0 <= self.style_factor_tol < 1:
            raise ParameterError(f"style_factor_tol must be in [0, 1), got "
                                 f"{self.style_factor_tol}", ("style_factor_tol",))
        fmax = self.sr / 2 if self.fmax is None else self.fmax
        if not 0 <= self.fmin < fmax <= self.sr / 2:
            raise ParameterError(f"need 0 <= fmin < fmax <= sr/2 = {self.sr / 2:g}, got "
                                 f"fmin={self.fmin:g}, fmax={fmax:g}", ("fmin", "fmax"))
        _check_choice(self, "dtype", "dft", "mel_norm", "content_features",
                      "harmonic_filters")

    @property
    def rhythm_channels(self) -> int:
        if self.rhythm_filters is not None:
            return self.rhythm_filters
        return 2048 if self.n_resid > 0 else 4096

    def network_config(self) -> "NetworkConfig":
        """The NetworkConfig part of this (possibly larger) config."""
        return NetworkConfig(**{f.name: getattr(self, f.name) for f in fields(NetworkConfig)})


def _check_choice(cfg: Any, *names: str) -> None:
    # Literal choices are enforced by argparse; the API gets the same check here.
    for f in fields(cfg):
        if f.name in names:
            choices = getattr(f.type, "__args__", ())
            if getattr(cfg, f.name) not in choices:
                raise ParameterError(
                    f"{f.name} must be one of {', '.join(map(str, choices))},"
                    f" got {getattr(cfg, f.name)!r}", (f.name,))


@dataclass
class OptimConfig(NetworkConfig):
    """Network plus the optimizer and where it runs."""
    maxiter: int = opt(300, "L-BFGS-B iterations at most")
    ftol: float = opt(1e-9, "L-BFGS-B relative tolerance on the loss")
    maxcor: int = opt(20, "L-BFGS-B memory (correction pairs)")
    bounds: bool = opt(False, "keep samples in [-1, 1] during optimization")
    init_std: float = opt(1e-2, "standard deviation of the initial noise")
    threads: Optional[int] = opt(None, "threads for BLAS, Numba kernels and FFTs (default: "
                                       "all cores)", show=False)
    backend: Literal["auto", "numpy", "cpu", "cuda"] = opt(
        "auto", "where the ops run: auto picks cuda, then cpu, then numpy")
    tf32: bool = opt(False, "TF32 tensor-core matmuls on the cuda backend (faster; float32 "
                            "GEMMs then carry ~1e-3 relative error)")
    # Progress on stderr: off for the library, which prints nothing unasked; the commands turn
    # it on (engine/cli/common.py: progress_field, with -q / --quiet to turn it off).
    progress: bool = opt(False, "progress output on stderr", show=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive(self, "maxiter", "maxcor", "ftol", "threads")
        _check_nonnegative(self, "init_std")
        _check_choice(self, "backend")


SPECTRUM_WEIGHT_HELP = ("weight of the band spectrum term: each mel band's mean power over the "
                        "whole result matched to the style's, in log units, balanced like the "
                        "Gram terms (0: off)")


@dataclass
class RunConfig(OptimConfig):
    """Optimizer plus the style objective's weights: what the style modes share."""
    style_weight: float = opt(1.0, "weight of the harmonic style loss (0: off)")
    rhythm_weight: float = opt(1.0, "weight of the rhythm style loss (0: off)")
    l1_weight: float = opt(0.0, "weight of an L1 penalty on the result's log-magnitude "
                                "spectrogram, against broadband noise")
    # The autocorrelation style term (engine/model/autocorr.py, docs/design.md §13).
    autocorr_weight: float = opt(0.0, "weight of the autocorrelation style term: each "
                                      "filter's temporal autocorrelation over --autocorr-lags "
                                      "lags matched to the style's, balanced like the Gram "
                                      "terms (0: off)")
    autocorr_lags: int = opt(40, "lags of the autocorrelation term in frames of each "
                                 "network's STFT (capped at the rows of the shortest signal)")
    autocorr_branches: str = opt("rhythm", "branches of the autocorrelation term: rhythm, "
                                           "harmonic or rhythm,harmonic")
    # The long-term band spectrum term (engine/model/spectrum.py, docs/design.md §14).
    spectrum_weight: float = opt(0.0, SPECTRUM_WEIGHT_HELP)
    spectrum_bands: int = opt(64, "mel bands of the band spectrum term")
    balance: bool = field(default=True, metadata={
        "args": ["--no-balance"],
        "help": "turn off loss balancing (default: on: each style term is rescaled so its "
                "gradient norm at the start equals the content term's, or the harmonic style "
                "term's without content; the weights multiply on top)"})
    checkpoint_every: int = opt(0, "save a checkpoint every N iterations (0: only on Ctrl-C)")
    # Starts, stops and the quality measure (issue 10; defaults measured by
    # bench/transfer/quality.py).
    init: Literal["auto", "noise", "spectrum", "templates", "content", "mix", "style"] = opt(
        "auto", "where the optimization starts: noise (of --init-std), spectrum (noise with "
                "the style's average spectrum), templates (the style's typical spectra played "
                "at random, texture only), content, mix (content plus noise), style (the "
                "style cut or tiled to length); transfer takes all but templates, texture "
                "noise, spectrum or templates; "
                "auto: the mode's measured default (transfer mix, texture templates); the content "
                "starts are scaled to the style's RMS; mix adds noise with the style's spectrum")
    init_mix: float = opt(0.5, "with --init mix: RMS of the added noise (the style's "
                               "spectrum) relative to the content's")
    patience: int = opt(20, "stop when the loss fell by less than --min-improvement over the "
                            "last N iterations (0: never)")
    min_improvement: float = opt(0.02, "relative decrease of the loss over --patience "
                                       "iterations below which the run stops")
    eval_every: int = opt(0, "measure the quality (style distance, content similarity) every "
                             "N iterations into the report (0: only at the end)")
    eval_patience: int = opt(0, "with --eval-every: stop when the style distance has not "
                                "improved over N measurements and return the best measured "
                                "iterate (0: never)")
    eval_min_improvement: float = opt(
        0.0, "with --eval-patience: a measurement counts as an improvement only when it lowers "
             "the style distance by more than this fraction of the best so far")

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonnegative(self, "style_weight", "rhythm_weight", "l1_weight", "checkpoint_every",
                           "init_mix", "patience", "min_improvement", "eval_every",
                           "eval_patience", "eval_min_improvement")
        _check_choice(self, "init")
        _check_nonnegative(self, "autocorr_weight")
        _check_positive(self, "autocorr_lags")
        _check_nonnegative(self, "spectrum_weight")
        _check_positive(self, "spectrum_bands")
        self.autocorr_branch_names()
        if self.eval_patience and not self.eval_every:
            raise ParameterError("eval_patience needs eval_every",
                                 ("eval_patience", "eval_every"))


    def autocorr_branch_names(self) -> tuple:
        """--autocorr-branches as a tuple of branch names."""
        text = self.autocorr_branches
        names = tuple(dict.fromkeys(n.strip() for n in str(text).split(",") if n.strip()))
        if not names or any(n not in ("rhythm", "harmonic") for n in names):
            raise ParameterError(f"autocorr_branches must name rhythm and/or harmonic, "
                                 f"comma-separated, got {text!r}", ("autocorr_branches",))
        return names


@dataclass
class TransferConfig(RunConfig):
    """Style transfer: content features and style Grams (output has the content's length)."""
    content_weight: float = opt(1.0, "weight of the content loss")
    # Structured filters by default (issue 29, docs/results/quality.md): a transfer's figures per
    # iteration within ~0.02 of the dense filters' in a quarter to two fifths of the time.
    harmonic_filters: Literal["dense", "fastfood"] = opt(
        "fastfood", "the harmonic conv's random filters: fastfood (structured: signs, "
                    "Walsh-Hadamard, permutation, Gaussian diagonal, Walsh-Hadamard, scale; "
                    "the same statistics in ~1/100 of the arithmetic, docs/results/filters.md), or "
                    "dense Gaussian")
    # Style through several networks (engine/model/ensemble.py), the content term on the
    # full base network beside them (docs/results/quality.md measured it; 1: one network for both).
    networks: int = opt(1, "N > 1: the style through N networks beside the content network, "
                           "each with 1/N of the filters, its own seed, STFT size and conv "
                           "width, each branch balanced to the content term's pull times "
                           "the weights (1: one network for content and style)")
    n_ffts: Optional[str] = opt(
        None, "with --networks N: STFT sizes of the style networks, comma-separated "
              "(default: --n-fft kept and doubled for 2, halved, kept and doubled for 3)",
        show=False)
    member_weight: float = opt(1.0, "with --networks N: the style networks' weight, a fraction "
                                    "of their balanced pull", show=False)
    base_style: bool = opt(False, "with --networks N: the content network keeps its own style "
                                  "terms beside the N style networks", show=False)
    style_kind: Literal["auto", "tonal", "percussive", "line", "line_buried", "none"] = opt(
        "auto", "settings chosen for the style (engine/run/choice.py, docs/results/quality.md): "
                "percussive (the band spectrum term, three style networks, the content on mel "
                "bands) or tonal, by the style's percussive energy share, and line for one line "
                "of notes (a voice) under a tonal style, by the content's pitch classes at "
                "once, line_buried where the style's band spectrum would bury that line "
                "(auto); none: the plain defaults. A setting you change stands")
    chroma_weight: float = opt(0.0, "weight of the chroma content term: each frame's pitch "
                                    "classes held to the content's, so the notes stay where "
                                    "the style pulls the sound (balanced like a style term; "
                                    "0: off)")
    chroma_octaves: Literal["weighted", "flat", "low"] = opt(
        "weighted", "the chroma term's octaves: weighted as librosa's chroma_stft (a Gaussian "
                    "centred near 880 Hz, two octaves wide), flat (the bass and the top "
                    "count alike, as in chroma_cqt) or low (the Gaussian centred near 110 "
                    "Hz)", show=False)
    chroma_spectrum: Literal["power", "magnitude"] = opt(
        "power", "the chroma term sums by pitch class the power spectrum (as librosa's "
                 "chroma_stft: the loudest partials rule) or the magnitude (as chroma_cqt: "
                 "the noise between the notes counts too)", show=False)
    # Under drums chroma_cqt missed the low notes (C1-B2, where the kick sits), which a
    # 2048-point STFT cannot tell apart; the longest style network resolves them at no new
    # network's cost (docs/results/quality.md, "The chroma term on the longest STFT").
    chroma_network: Literal["content", "longest", "both"] = opt(
        "content", "the network whose STFT the chroma term reads: the content network's, or "
                   "with --networks N the longest STFT of all (a style network's, its own "
                   "chroma filterbank; the content network's where it is as long), or both "
                   "(the term at --chroma-weight on each)", show=False)
    # Finer still: the low notes under a kick need finer bins than a style network should
    # have (at 8192 points the style networks lost the drums' frames), so the chroma term can
    # read an STFT of its own, which feeds nothing else. Measured at 8192 points: as much
    # chroma_cqt as on the longest style network, farther from the style; not a default
    # (docs/results/quality.md, "The chroma term's octaves in the bass").
    chroma_n_fft: int = opt(0, "N > 0: the chroma term reads its own N-point STFT (hop N/4; "
                               "no convolution, no style term) beside the networks, instead "
                               "of --chroma-network's (0: off)", show=False)
    style_transpose: int = opt(0, "take the style's harmonic statistics (Grams, band spectrum) "
                                  "over stretches of it transposed by -N..N semitones, so its "
                                  "sound comes without its key and chords (0: as it is)")

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonnegative(self, "content_weight", "member_weight", "chroma_weight")
        _check_choice(self, "style_kind", "chroma_octaves", "chroma_spectrum", "chroma_network")
        _check_positive(self, "networks")
        if self.chroma_n_fft < 0 or self.chroma_n_fft % 2:
            raise ParameterError("chroma_n_fft must be 0 (off) or an even size, got "
                                 f"{self.chroma_n_fft}", ("chroma_n_fft",))
        if not 0 <= self.style_transpose <= 12:
            raise ParameterError("style_transpose must be in 0..12 semitones, got "
                                 f"{self.style_transpose}", ("style_transpose",))
        self.member_n_ffts()
        if self.networks > 1:
            # The style networks are balanced against the content term (ensemble.py).
            if self.content_weight <= 0:
                raise ParameterError("networks above 1 needs content_weight above 0 (the "
                                     "style networks sit beside the content network)",
                                     ("networks", "content_weight"))
            if self.style_weight <= 0 and self.rhythm_weight <= 0:
                raise ParameterError("networks above 1 needs style_weight or "
                                     "rhythm_weight above 0",
                                     ("networks", "style_weight", "rhythm_weight"))
        else:
            for field_, default in (("n_ffts", None), ("member_weight", 1.0),
                                    ("base_style", False)):
                if getattr(self, field_) not in (default, ""):
                    raise ParameterError(f"{field_} needs networks above 1",
                                         (field_, "networks"))

    def member_n_ffts(self) -> Optional[list]:
        """--n-ffts as even integers; None: spread in octaves (ensemble.py)."""
        return _member_n_ffts(self)

    def member_widths(self, branch: str) -> Optional[list]:
        """None: a transfer's style networks take the spread widths (ensemble.py)."""
        return None


# With the band spectrum term a texture improves steadily instead of drifting away, so a
# stop at 3% per 30 iterations ran the drums to 250; 15% stops each style measured near its
# knee (docs/results/textures.md).
TEXTURE_EVAL_EVERY, TEXTURE_EVAL_PATIENCE, TEXTURE_EVAL_MIN_IMPROVEMENT = 10, 3, 0.15


@dataclass
class TextureConfig(RunConfig):
    """Texture synthesis: style only, any length."""
    seconds: float = opt(10.0, "length of the texture in seconds")
    # A texture stops on its measure (bench/texture.py, docs/results/textures.md): its loss keeps
    # falling 2% per 20 iterations long after the style distance has flattened. A texture
    # too short for the evaluation network runs unmeasured.
    eval_every: int = opt(TEXTURE_EVAL_EVERY, "measure the quality (style distance) every N "
                                              "iterations into the report (0: only at the end)")
    eval_patience: int = opt(TEXTURE_EVAL_PATIENCE, "with --eval-every: stop when the style "
                             "distance has not improved (by --eval-min-improvement) over N "
                             "measurements and return the best measured iterate (0: never)")
    eval_min_improvement: float = opt(
        TEXTURE_EVAL_MIN_IMPROVEMENT, "with --eval-patience: a measurement counts as an "
        "improvement only when it lowers the style distance by more than this fraction of "
        "the best so far")
    # Several random networks at once (engine/model/ensemble.py); chosen by bench/texture.py.
    # The band spectrum term is on for textures (docs/results/textures.md: on the drums, corpus and
    # generated, far closer by both measuring networks and no drift; on the piano closer by
    # the evaluation network, a little farther by the check network).
    spectrum_weight: float = opt(0.3, SPECTRUM_WEIGHT_HELP)
    networks: int = opt(3, "random networks optimized together, each with 1/N of the filters, "
                           "its own seed and conv widths (1: the single network of transfer)")
    harmonic_widths: Optional[str] = opt(
        None, "harmonic conv widths of the networks, comma-separated (default: spread around "
              "--kernel-size by x2.2, e.g. 5,11,24)", show=False)
    rhythm_widths: Optional[str] = opt(
        None, "rhythm conv widths of the networks in frames of each one's STFT, "
              "comma-separated (default: --rhythm-kernel-size for each)", show=False)
    n_ffts: Optional[str] = opt(
        None, "STFT sizes of the networks, comma-separated, hops in --hop-length's ratio "
              "(default: --n-fft halved, kept and doubled: 1024,2048,4096)", show=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive(self, "seconds", "networks")
        self.member_widths("harmonic")
        self.member_widths("rhythm")
        self.member_n_ffts()

    def member_n_ffts(self) -> Optional[list]:
        """--n-ffts as even integers; None: spread in octaves (ensemble.py)."""
        return _member_n_ffts(self)

    def member_widths(self, branch: str) -> Optional[list]:
        """--harmonic-widths / --rhythm-widths as integers; None: spread (ensemble.py)."""
        return self._per_network(f"{branch}_widths", f"{branch}_widths")

    def _per_network(self, field: str, flag: str) -> Optional[list]:
        return _per_network(self, field, flag)


def _per_network(cfg: Any, field: str, flag: str) -> Optional[list]:
    """A comma-separated flag of one positive integer per network (--networks)."""
    text = getattr(cfg, field)
    if text is None or text == "":
        return None
    try:
        values = [int(w) for w in str(text).split(",")]
    except ValueError:
        raise ParameterError(f"{flag} must be comma-separated integers, got {text!r}",
                             (flag,)) from None
    if len(values) != cfg.networks or min(values) < 1:
        raise ParameterError(f"{flag} needs {cfg.networks} positive values (one per "
                             f"network, networks), got {text!r}", (flag, "networks"))
    return values


def _member_n_ffts(cfg: Any) -> Optional[list]:
    sizes = _per_network(cfg, "n_ffts", "n_ffts")
    if sizes and any(f % 2 for f in sizes):
        raise ParameterError(f"n_ffts must be even sizes, got {cfg.n_ffts!r}", ("n_ffts",))
    return sizes


def like(cls: type, name: str) -> Any:
    """The field ``name`` of ``cls`` again (its default and help), for a config that takes
    that option without the rest of ``cls``."""
    f = cls.__dataclass_fields__[name]
    return field(default=f.default, metadata=f.metadata)


# The separation methods by name (--method): each its own class, filled in below.
SEPARATE_METHODS: dict = {}
METHOD_HELP = ("dictionary: each source's spectra learned from its example (NMF), Wiener masks "
               "of the mix; statistics: masks optimized to match each example's "
               "random-network statistics (each method's options: separate --method NAME "
               "--help)")


@dataclass
class SeparateConfig:
    """Separation of a mix into sources, each like an example recording of its kind: what
    every method takes. Each method's class adds its own options (DictionaryConfig,
    StatisticsConfig); ``SeparateConfig(...)`` makes the class of the ``method`` given
    (default dictionary), and an option of another method is refused, not ignored."""
    METHOD: ClassVar[str] = ""
    DEFAULT_MASK_N_FFT: ClassVar[Optional[int]] = None  # None: from the signals' lengths
    method: Literal["dictionary", "statistics"] = opt("dictionary", METHOD_HELP)
    sr: int = like(NetworkConfig, "sr")
    seed: int = opt(0, "seed of the method's random start")
    mask_n_fft: Optional[int] = opt(None, "STFT frame length of the masks (even; default "
                                          "2048 for --method statistics, 8192 for dictionary "
                                          "or the largest power of 2 the shortest signal "
                                          "holds)")
    mask_hop_length: Optional[int] = opt(None, "STFT hop of the masks (at most half the frame; "
                                               "default n_fft / 4)")
    threads: Optional[int] = like(OptimConfig, "threads")
    backend: Literal["auto", "numpy", "cpu", "cuda"] = like(OptimConfig, "backend")
    progress: bool = like(OptimConfig, "progress")

    def __new__(cls, *args: Any, **kwargs: Any) -> "SeparateConfig":
        if cls is SeparateConfig:
            cls = separate_class(kwargs.get("method", "dictionary"))
        refuse_options(cls, kwargs)
        return super().__new__(cls)

    def __post_init__(self) -> None:
        _check_numbers(self)
        _check_choice(self, "method", "backend")
        if self.method != self.METHOD:
            raise ParameterError(f"{type(self).__name__} is --method {self.METHOD}, got "
                                 f"--method {self.method}")
        _check_positive(self, "sr", "threads")
        _check_nonnegative(self, "seed")
        if self.mask_n_fft is None and self.DEFAULT_MASK_N_FFT is not None:
            self.mask_n_fft = self.DEFAULT_MASK_N_FFT
        # the dictionary method's default (None) depends on the signals' lengths, 8192 at most
        n_fft = 8192 if self.mask_n_fft is None else self.mask_n_fft
        hop = n_fft // 4 if self.mask_hop_length is None else self.mask_hop_length
        check_mask_stft(n_fft, hop, self.mask_smooth())
        if self.mask_n_fft is not None and self.mask_hop_length is None:
            self.mask_hop_length = hop

    def mask_smooth(self) -> tuple:
        """(frames, bins) the mask logits are box-smoothed over: none but the statistics
        method's."""
        return (1, 1)


def separate_class(method: str) -> type:
    """The config class of a separation method (--method)."""
    if method not in SEPARATE_METHODS:
        raise ParameterError(f"--method must be one of {', '.join(SEPARATE_METHODS)}, got "
                             f"{method!r}")
    return SEPARATE_METHODS[method]


def refuse_options(cls: type, names: Any) -> None:
    """One ParameterError naming the ``names`` that are no field of ``cls``: an option of
    another method has no effect on this one."""
    own = {f.name for f in fields(cls)}
    foreign = [n for n in names if n not in own]
    if foreign:
        flags = ", ".join("--" + n.replace("_", "-") for n in foreign)
        raise ParameterError(f"{flags}: no effect on separate --method {cls.METHOD}")


@dataclass
class DictionaryConfig(SeparateConfig):
    """--method dictionary (engine/run/separate_dictionary.py; defaults measured by
    bench/separation/corpus.py, docs/results/separation.md): each source's atoms learned from its
    example (NMF), the mix's activations fitted, Wiener masks."""
    METHOD: ClassVar[str] = "dictionary"
    components: int = opt(96, "spectra (atoms) learned per source")
    dictionary_transpose: int = opt(6, "a pitched example's atoms also transposed by 1..N "
                                       "semitones down and up, for notes it lacks")
    # a pitched example at or above C5 (separate_dictionary.transpositions); 12: no cut
    dictionary_high_down: int = opt(2, "a high example's (C5+) at most N down", metavar="N")
    dictionary_harmonic: int = opt(0, "beside a pitched example's atoms, one harmonic atom per "
                                      "semitone from C2 (MIDI 36) over N semitones, carrying "
                                      "the example's spectral envelope (source-filter atoms); "
                                      "0: none")
    dictionary_partials: bool = opt(False, "the harmonic atoms weight each partial as the "
                                           "example does (its median harmonic amplitudes), "
                                           "for a source whose template is rich and unlike "
                                           "the other sources'")
    continuity: float = opt(0.0, "weight of a temporal continuity cost on the activations "
                                 "of pitched examples' atoms in the mix's fit (Virtanen "
                                 "2007); 0: none")
    dictionary_refine: int = opt(0, "self-training passes: each source's atoms learned again "
                                    "from its example beside its estimate, the mix fitted "
                                    "again; 0: none")
    beta: float = opt(1.0, "beta of the divergence, in (0, 3] (1: KL, 2: squared error; "
                           "toward 0: Itakura-Saito)")
    mask_power: float = opt(2.0, "power p of the Wiener masks (A_s D_s)^p / sum")
    dictionary_iter: int = opt(100, "updates learning each example's atoms")
    dictionary_stride: int = opt(1, "learn the atoms from every Nth frame of the examples (at "
                                    "8192/2048, 1 measured above 2)")
    fit_iter: int = opt(100, "updates fitting the mix's activations")
    rest: Optional[str] = opt(None, "NAME of one more source without an example, its atoms "
                                    "learned from the mix beside the others'")
    rest_components: int = opt(32, "atoms of the --rest source")

    # The method runs in float32 whatever the network's dtype (it has no network).
    dtype: ClassVar[str] = "float32"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive(self, "components", "dictionary_iter", "dictionary_stride", "fit_iter",
                        "rest_components")
        if not 0 < self.beta <= 3:  # beta <= 0 diverges where the spectrogram has zeros
            raise ParameterError(f"--beta must be in (0, 3], got {self.beta}")
        if not 0 < self.mask_power <= 4:
            raise ParameterError(f"--mask-power must be in (0, 4], got {self.mask_power}")
        if self.rest is not None and not (self.rest and all(
                ch.isalnum() or ch in "-_" for ch in self.rest)):
            raise ParameterError(f"--rest NAME may hold only letters, digits, - and _, got "
                                 f"{self.rest!r}")
        _check_semitones(self, "dictionary_transpose")
        _check_semitones(self, "dictionary_high_down")
        if not 0 <= self.continuity <= 100:
            raise ParameterError(f"--continuity must be in [0, 100], got {self.continuity}")
        if not 0 <= self.dictionary_refine <= 3:
            raise ParameterError(f"--dictionary-refine must be in 0..3, got "
                                 f"{self.dictionary_refine}")
        if self.dictionary_partials and not self.dictionary_harmonic:
            raise ParameterError("--dictionary-partials shapes the harmonic atoms: it needs "
                                 "--dictionary-harmonic N")
        if not 0 <= self.dictionary_harmonic <= 60:
            raise ParameterError("--dictionary-harmonic must be in 0..60 semitones (C2..C7), "
                                 f"got {self.dictionary_harmonic}")


def _check_semitones(cfg: Any, name: str) -> None:
    if not 0 <= getattr(cfg, name) <= 12:
        raise ParameterError(f"--{name.replace('_', '-')} must be in 0..12 semitones, got "
                             f"{getattr(cfg, name)}")


@dataclass
class StatisticsConfig(NetworkConfig, SeparateConfig):
    """--method statistics (engine/run/separate.py): each source a soft mask of the mix's STFT
    (docs/design.md §7), so the sources sum to the mix exactly, optimized so each source's
    statistics through the random network match its example's: by default the shift
    statistic, centered (engine/model/separation_layers.py; bench/separation/generated.py
    measured it above the raw Grams on two harmonic timbres)."""
    METHOD: ClassVar[str] = "statistics"
    DEFAULT_MASK_N_FFT: ClassVar[Optional[int]] = 2048
    method: Literal["dictionary", "statistics"] = opt("statistics", METHOD_HELP)
    maxiter: int = opt(8, "L-BFGS-B iterations at most (the sources' SDR peaks at about 8 "
                          "and falls after, on the mixes of bench/separation/generated.py)")
    ftol: float = like(OptimConfig, "ftol")
    maxcor: int = like(OptimConfig, "maxcor")
    tf32: bool = like(OptimConfig, "tf32")
    style_weight: float = opt(0.0, "weight of the harmonic style loss (0: off; the shift "
                                   "statistic replaces it by default)")
    rhythm_weight: float = opt(0.0, "weight of the rhythm style loss (0: off)")
    l1_weight: float = like(RunConfig, "l1_weight")
    balance: bool = like(RunConfig, "balance")
    patience: int = like(RunConfig, "patience")
    min_improvement: float = like(RunConfig, "min_improvement")
    mask_smooth_frames: int = opt(1, "box-smooth the mask logits over this many frames (odd; "
                                     "1: per-bin masks)")
    mask_smooth_bins: int = opt(1, "box-smooth the mask logits over this many frequency bins "
                                   "(odd; 1: per-bin masks)")
    transpose: int = opt(0, "also take each example transposed by 1..N semitones down and "
                            "up (resampled) into its statistics, so they match a source "
                            "playing other notes than its example")
    balance_sources: bool = field(default=True, metadata={
        "args": ["--no-balance-sources"],
        "help": "do not rescale each source's loss (default: on: each source's gradient norm "
                "with respect to the masks at the start is made equal)"})
    statistics: Literal["gram", "centered", "shape", "centered-shape"] = opt(
        "centered", "the style statistic each source matches: gram (raw Grams), centered (the "
                "activations' covariance: their mean, i.e. the average spectrum, removed), "
                "shape (Gram / its trace: level-free), centered-shape (both)")
    envelope_weight: float = opt(0.0, "weight of the envelope statistic: each frequency bin's "
                                      "log-magnitude over time through random convs, its Gram "
                                      "pooled over bins (pitch-free: a pluck decays, an organ "
                                      "holds); 0: off")
    envelope_width: int = opt(11, "envelope conv width in frames")
    envelope_filters: int = opt(64, "envelope conv filters")
    shift_weight: float = opt(1.0, "weight of the shift statistic: random convs over patches "
                                   "of a log-frequency spectrogram (12 bands an octave) and "
                                   "time, the Gram pooled over every frequency position "
                                   "(transposition-free: partial patterns, not notes); 0: off")
    shift_octaves: int = opt(4, "shift patch height in octaves")
    shift_width: int = opt(5, "shift patch width in frames")
    shift_filters: int = opt(1024, "shift conv filters")

    def __post_init__(self) -> None:
        NetworkConfig.__post_init__(self)
        SeparateConfig.__post_init__(self)
        _check_positive(self, "maxiter", "maxcor", "ftol", "envelope_width",
                        "envelope_filters", "shift_octaves", "shift_width", "shift_filters")
        _check_nonnegative(self, "style_weight", "rhythm_weight", "l1_weight", "patience",
                           "min_improvement", "envelope_weight", "shift_weight")
        _check_choice(self, "statistics")
        _check_semitones(self, "transpose")

    def mask_smooth(self) -> tuple:
        return (self.mask_smooth_frames, self.mask_smooth_bins)


SEPARATE_METHODS.update(dictionary=DictionaryConfig, statistics=StatisticsConfig)


def check_mask_stft(n_fft: int, hop_length: int, smooth: tuple = (1, 1)) -> None:
    """The mask STFT/iSTFT pair reconstructs perfectly only with hop <= n_fft / 2."""
    if n_fft <= 0 or n_fft % 2:
        raise ParameterError(f"--mask-n-fft must be even and positive, got {n_fft}")
    if not 0 < hop_length <= n_fft // 2:
        raise ParameterError(f"--mask-hop-length must be in 1..mask_n_fft/2 = {n_fft // 2}, "
                             f"got {hop_length}")
    for name, size in zip(("frames", "bins"), smooth):
        if size < 1 or size % 2 == 0:
            raise ParameterError(f"--mask-smooth-{name} must be odd and >= 1, got {size}")


@dataclass
class ReconstructConfig(OptimConfig):
    """Content-only reconstruction: time domain vs Griffin-Lim (the seed's phase claim)."""
    griffin_lim_iters: int = opt(100, "Griffin-Lim iterations of the baseline")

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive(self, "griffin_lim_iters")
