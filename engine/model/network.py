"""The random network: its fixed parameters on one backend, and the entry points that run it
(forward and backward in engine/model/passes.py, the style targets in
engine/model/style_target.py)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Optional

import numpy as np

from randstyle import kernels
from randstyle.engine.config import NetworkConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model import passes
from randstyle.engine.model.fastfood import draw_fastfood
from randstyle.engine.model.filters import dft_basis, hann_window, mel_filterbank
from randstyle.engine.model.params import Branch, random_conv
from randstyle.engine.model.style_target import STYLE_CHUNK_FRAMES, style_targets

BRANCHES = ("harmonic", "rhythm", "content_mel")


class Network:
    """Fixed random network on one backend.

    Public parameters, NumPy arrays in the engine dtype:
      window            (n_fft,)               periodic Hann
      dft_basis         (n_fft, 2 * n_bins)    [w*cos | -w*sin]; frames @ basis = [Re | Im]
      harmonic_weights  (kernel_size, n_bins, n_filters), or None with
                        harmonic_filters="fastfood" (the branch's .fastfood draw instead)
      mel_basis         (n_mels, n_bins)      the rhythm branch's filterbank (librosa's)
      branches          {name: Branch}: "harmonic", "rhythm", and "content_mel" when the
                        content uses mel features with its own n_mels (else it is "rhythm")
    with n_bins = n_fft // 2 + 1. Weights come from NumPy's default_rng: the harmonic
    branch's from default_rng(seed) (as before branches existed), every other layer's from
    default_rng([seed, branch, layer]), so adding a branch never changes another.
    """

    def __init__(self, config: Optional[NetworkConfig] = None, backend: str = "numpy",
                 verbose: bool = False) -> None:
        self.config = c = config or NetworkConfig()
        self.backend = kernels.get_backend(backend, verbose=verbose)
        self.dtype = np.dtype(c.dtype)
        self.n_bins = c.n_fft // 2 + 1
        self.window = hann_window(c.n_fft).astype(self.dtype)
        self._dft_basis: Optional[np.ndarray] = None
        self.branches = {"harmonic": self._harmonic_branch()}
        self.branches["rhythm"] = self._mel_branch("rhythm", 1, c.n_mels)
        if c.content_features == "mel" and c.content_n_mels != c.n_mels:
            self.branches["content_mel"] = self._mel_branch("content_mel", 2, c.content_n_mels)
        self.harmonic_weights = self.branches["harmonic"].weights  # None with fastfood
        self.mel_basis = self.branches["rhythm"].mel_basis  # (n_mels, n_bins)
        b = self.backend
        self._window = b.asarray(self.window)
        self._basis = b.asarray(self.dft_basis) if c.dft == "matrix" else None
        self._dev = {name: self._to_device(br) for name, br in self.branches.items()}

    @property
    def dft_basis(self) -> np.ndarray:
        """The windowed DFT basis, built on first use: the default --dft fft never needs it,
        and it is n_fft x (n_fft + 2) values (268 MB in float32 at n_fft 8192, twice that in
        float64 while it is built)."""
        if self._dft_basis is None:
            self._dft_basis = dft_basis(self.config.n_fft).astype(self.dtype)
        return self._dft_basis

    def _cast(self, a: np.ndarray) -> np.ndarray:
        return a.astype(self.dtype, copy=False)

    def _harmonic_branch(self) -> Branch:
        c = self.config
        rng = np.random.default_rng(c.seed)
        if c.harmonic_filters == "fastfood":
            ff = draw_fastfood(rng, c.kernel_size, self.n_bins, c.n_filters)
            return Branch("harmonic", None, fastfood=ff.cast(self.dtype))
        return Branch("harmonic", self._cast(random_conv(rng, c.kernel_size, self.n_bins,
                                                         c.n_filters)))

    def _mel_branch(self, name: str, index: int, n_mels: int) -> Branch:
        c = self.config
        F = c.rhythm_channels
        mel = mel_filterbank(sr=c.sr, n_fft=c.n_fft, n_mels=n_mels, fmin=c.fmin, fmax=c.fmax,
                             norm=None if c.mel_norm == "none" else "slaney")
        resid = []
        for i in range(c.n_resid):
            rng = np.random.default_rng([c.seed, index, i + 1])
            resid.append((self._cast(random_conv(rng, c.resid_kernel_size, F, F)),
                          self._cast(random_conv(rng, 1, F, F))))
        weights = random_conv(np.random.default_rng([c.seed, index, 0]), c.rhythm_kernel_size,
                              n_mels, F)
        return Branch(name, self._cast(weights), self._cast(mel), c.mel_log, resid)

    def _to_device(self, br: Branch) -> dict:
        b = self.backend
        ff = br.fastfood
        if ff is not None:
            ff = replace(ff, signs=b.asarray(ff.signs), perm=b.asarray(ff.perm),
                         gauss=b.asarray(ff.gauss), scale=b.asarray(ff.scale))
        return {"weights": None if br.weights is None else b.asarray(br.weights),
                "fastfood": ff,
                "mel": None if br.mel_basis is None else b.asarray(br.mel_basis),
                "resid": [(b.asarray(w), b.asarray(w1)) for w, w1 in br.resid]}

    @property
    def content_branch(self) -> str:
        if self.config.content_features == "harmonic":
            return "harmonic"
        return "content_mel" if "content_mel" in self.branches else "rhythm"

    def min_samples(self, branches: Iterable[str] = ("harmonic",)) -> int:
        """Shortest signal the given branches accept: enough frames for one conv output."""
        c = self.config
        width = max(self.branches[b].width for b in branches) if branches else 1
        return c.n_fft + (width - 1) * c.hop_length

    def check_length(self, n_samples: int, what: str,
                     branches: Iterable[str] = ("harmonic",)) -> None:
        need = self.min_samples(tuple(branches))
        if n_samples < need:
            sr = self.config.sr
            raise ParameterError(
                f"{what} is {n_samples / sr:.3f} s long, shorter than the network's receptive "
                f"field of {need / sr:.3f} s ({need} samples)")

    def asarray(self, x: Any) -> Any:
        return self.backend.asarray(x, dtype=self.dtype)

    # --- forward / backward ---------------------------------------------------------------
    def forward(self, x: Any, branches: Iterable[str] = ("harmonic",)) -> tuple[dict, dict]:
        """Activations per requested branch ({name: [A_0, ...]}; "logmag" gives [log1p(M)])
        and the caches for backward."""
        return passes.forward(self, x, branches)

    def backward(self, dfeatures: dict, caches: dict) -> Any:
        """dL/dx from the activations' gradients ({name: [dA_0 or None, ...]})."""
        return passes.backward(self, dfeatures, caches)

    def features(self, x: np.ndarray, branches: Iterable[str] = ("harmonic",)) -> dict:
        return self.forward(self.asarray(x), branches)[0]

    def grams(self, x: np.ndarray, branches: Iterable[str] = ("harmonic",),
              chunk_frames: int = STYLE_CHUNK_FRAMES, progress: bool = False) -> dict:
        """{branch: [Gram of each layer]} of a signal of any length, accumulated over chunks
        of frames so memory stays bounded by the chunk, not the clip."""
        targets = style_targets(self, x, tuple(branches), chunk_frames, progress, False)
        return {name: [t.gram for t in layers] for name, layers in targets.items()}

    def style_targets(self, x: np.ndarray, branches: Iterable[str] = ("harmonic",),
                      chunk_frames: int = STYLE_CHUNK_FRAMES, progress: bool = False) -> dict:
        """{branch: [StyleTarget of each layer]}: the Grams of ``grams``, plus the factor of
        the Gram-free style loss where the clip is short enough for it to pay."""
        return style_targets(self, x, tuple(branches), chunk_frames, progress)
