"""The random network: fixed parameters, and forward/backward through a backend's ops.

x -> DFT conv -> magnitude M ->
   harmonic branch: log1p(M) -> conv (width 11) + ReLU
   rhythm branch:   log1p(M @ melᵀ) -> conv (width 50) + ReLU [-> dilated residual blocks]
   content_mel:     the rhythm architecture on its own mel size (--content-features mel)
Each branch yields a list of activations: one per layer whose Gram the style loss uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import numpy as np
from tqdm import tqdm

import kernels
from engine.config import NetworkConfig
from engine.errors import ParameterError
from engine.model.filters import dft_basis, hann_window, mel_filterbank
from kernels.numpy_ref import n_frames

STYLE_CHUNK_FRAMES = 1024  # frames of style per chunk when accumulating a Gram
BRANCHES = ("harmonic", "rhythm", "content_mel")


def ulyanov_std(n_in: int, n_out: int, width: int) -> float:
    """Ulyanov & Lebedev's scale for random conv weights: sqrt(2) * sqrt(2 / ((C + F) K))."""
    return float(np.sqrt(2.0) * np.sqrt(2.0 / ((n_in + n_out) * width)))


def random_conv(rng: np.random.Generator, width: int, n_in: int, n_out: int) -> np.ndarray:
    """(width, n_in, n_out) weights, drawn in float32 so every dtype shares them exactly."""
    w = rng.standard_normal((width, n_in, n_out), dtype=np.float32)
    w *= np.float32(ulyanov_std(n_in, n_out, width))
    return w


@dataclass
class Branch:
    """One branch's fixed parameters (NumPy, engine dtype).

    mel_basis (n_mels, n_bins) or None for the harmonic branch (which reads log1p(M));
    weights (K, C, F): Y[t, f] = sum_k sum_c X[t + k, c] W[k, c, f], "valid";
    resid: per block i, (dilated weights (K_r, F, F) with dilation 2^i and "same" padding,
    1x1 weights (1, F, F)).
    """
    name: str
    weights: np.ndarray
    mel_basis: Optional[np.ndarray] = None
    log: bool = True
    resid: list = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.weights.shape[0]

    @property
    def margin(self) -> int:
        """Frames each side that the residual blocks' "same" convs reach beyond a row."""
        return sum(((w.shape[0] - 1) * 2 ** i + 1) // 2 for i, (w, _) in enumerate(self.resid))


def _same_padding(width: int, dilation: int) -> tuple[int, int]:
    total = (width - 1) * dilation
    return total // 2, total - total // 2


class Network:
    """Fixed random network on one backend.

    Public parameters, NumPy arrays in the engine dtype:
      window            (n_fft,)               periodic Hann
      dft_basis         (n_fft, 2 * n_bins)    [w*cos | -w*sin]; frames @ basis = [Re | Im]
      harmonic_weights  (kernel_size, n_bins, n_filters)
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
        self.dft_basis = dft_basis(c.n_fft).astype(self.dtype)
        self.branches = {"harmonic": Branch("harmonic", self._cast(random_conv(
            np.random.default_rng(c.seed), c.kernel_size, self.n_bins, c.n_filters)))}
        self.branches["rhythm"] = self._mel_branch("rhythm", 1, c.n_mels)
        if c.content_features == "mel" and c.content_n_mels != c.n_mels:
            self.branches["content_mel"] = self._mel_branch("content_mel", 2, c.content_n_mels)
        self.harmonic_weights = self.branches["harmonic"].weights
        self.mel_basis = self.branches["rhythm"].mel_basis  # (n_mels, n_bins)
        b = self.backend
        self._window = b.asarray(self.window)
        self._basis = b.asarray(self.dft_basis)
        self._dev = {name: self._to_device(br) for name, br in self.branches.items()}

    def _cast(self, a: np.ndarray) -> np.ndarray:
        return a.astype(self.dtype, copy=False)

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
        return {"weights": b.asarray(br.weights),
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
        b, hop = self.backend, self.config.hop_length
        branches = tuple(branches)
        if self.config.dft == "fft":
            Z, c_stft = b.stft_fft_forward(x, self._window, hop)
        else:
            Z, c_stft = b.stft_matrix_forward(x, self._basis, hop)
        M, c_mag = b.magnitude_forward(Z)
        feats, caches = {}, {"stft": c_stft, "mag": c_mag}
        if "harmonic" in branches or "logmag" in branches:
            S, caches["log"] = b.log1p_forward(M)
            if "logmag" in branches:
                feats["logmag"] = [S]
            if "harmonic" in branches:
                A, caches["harmonic"] = b.conv1d_relu_forward(S, self._dev["harmonic"]["weights"])
                feats["harmonic"] = [A]
        for name in branches:
            if name in ("harmonic", "logmag"):
                continue
            dev, br = self._dev[name], self.branches[name]
            P, c_mel = b.mel_forward(M, dev["mel"])
            c_plog = None
            if br.log:
                P, c_plog = b.log1p_forward(P)
            feats[name], c_stack = self._stack_forward(dev, P)
            caches[name] = (c_mel, c_plog, c_stack)
        return feats, caches

    def _stack_forward(self, dev: dict, X: Any) -> tuple[list, Any]:
        b = self.backend
        if not dev["resid"]:
            A, c = b.conv1d_relu_forward(X, dev["weights"])
            return [A], c
        h, c0 = b.conv1d_forward(X, dev["weights"])
        a, r0 = b.relu_forward(h)
        acts, steps = [a], []
        for i, (Wd, W1) in enumerate(dev["resid"]):
            y, cy = b.conv1d_forward(a, Wd, 2 ** i, _same_padding(Wd.shape[0], 2 ** i))
            d, cr = b.relu_forward(y)
            z, cz = b.conv1d_forward(d, W1)
            h = h + z
            a, ca = b.relu_forward(h)
            acts.append(a)
            steps.append((cy, cr, cz, ca))
        return acts, (c0, r0, steps)

    def _stack_backward(self, dev: dict, dacts: list, cache: Any) -> Any:
        """Gradient into the stack's input; dacts[i] is dL/da_i or None."""
        b = self.backend
        if not dev["resid"]:
            return b.conv1d_relu_backward(dacts[0], cache)
        c0, r0, steps = cache
        g_a = list(dacts)
        g_h = None  # dL/dh_i, carried down the residual path
        for i in range(len(steps), 0, -1):
            cy, cr, cz, ca = steps[i - 1]
            if g_a[i] is not None:
                g = b.relu_backward(g_a[i], ca)
                g_h = g if g_h is None else g_h + g
            if g_h is None:
                continue
            g_prev = b.conv1d_backward(b.relu_backward(b.conv1d_backward(g_h, cz), cr), cy)
            g_a[i - 1] = g_prev if g_a[i - 1] is None else g_a[i - 1] + g_prev
        if g_a[0] is not None:
            g = b.relu_backward(g_a[0], r0)
            g_h = g if g_h is None else g_h + g
        return b.conv1d_backward(g_h, c0)

    def backward(self, dfeatures: dict, caches: dict) -> Any:
        """dL/dx from the activations' gradients ({name: [dA_0 or None, ...]})."""
        b = self.backend
        dS = dM = None
        if "logmag" in dfeatures and dfeatures["logmag"][0] is not None:
            dS = dfeatures["logmag"][0]
        if "harmonic" in dfeatures and dfeatures["harmonic"][0] is not None:
            g = b.conv1d_relu_backward(dfeatures["harmonic"][0], caches["harmonic"])
            dS = g if dS is None else dS + g
        if dS is not None:
            dM = b.log1p_backward(dS, caches["log"])
        for name, dacts in dfeatures.items():
            if name in ("harmonic", "logmag") or all(d is None for d in dacts):
                continue
            c_mel, c_plog, c_stack = caches[name]
            dP = self._stack_backward(self._dev[name], dacts, c_stack)
            if c_plog is not None:
                dP = b.log1p_backward(dP, c_plog)
            g = b.mel_backward(dP, c_mel)
            dM = g if dM is None else dM + g
        if dM is None:
            return b.xp.zeros(caches["stft"][0], dtype=self.dtype)
        dZ = b.magnitude_backward(dM, caches["mag"])
        if self.config.dft == "fft":
            return b.stft_fft_backward(dZ, caches["stft"])
        return b.stft_matrix_backward(dZ, caches["stft"])

    def features(self, x: np.ndarray, branches: Iterable[str] = ("harmonic",)) -> dict:
        return self.forward(self.asarray(x), branches)[0]

    def grams(self, x: np.ndarray, branches: Iterable[str] = ("harmonic",),
              chunk_frames: int = STYLE_CHUNK_FRAMES, progress: bool = False) -> dict:
        """{branch: [Gram of each layer]} of a signal of any length, accumulated over chunks
        of frames so memory stays bounded by the chunk, not the clip.

        A chunk computes the output rows [r0, r1) from the frames they read, plus the
        residual blocks' reach on each side; rows whose reach crosses a chunk edge that is
        not the clip's edge are dropped, so the sum equals the unchunked Gram."""
        c, b = self.config, self.backend
        T = n_frames(len(x), c.n_fft, c.hop_length)
        out = {}
        for name in branches:
            br = self.branches[name]
            K, m = br.width, br.margin
            n_rows = T - K + 1
            step = max(chunk_frames - K + 1 - 2 * m, 1)
            totals, r0 = None, 0
            bar = tqdm(total=n_rows, desc=f"{name} Gram", unit="frame", leave=False,
                       disable=not progress or n_rows <= step, dynamic_ncols=True)
            while r0 < n_rows:
                r1 = min(r0 + step, n_rows)
                f0, f1 = max(r0 - m, 0), min(r1 + m, n_rows) + K - 1  # frames [f0, f1)
                seg = x[f0 * c.hop_length:(f1 - 1) * c.hop_length + c.n_fft]
                acts = self.features(seg, (name,))[name]
                grams = []
                for A in acts:
                    rows = A[r0 - f0:r1 - f0]
                    G = b.gram_forward(rows)[0]
                    G *= rows.shape[0]  # un-normalize: chunks weigh by their rows
                    grams.append(G)
                if totals is None:
                    totals = grams
                else:
                    for tot, G in zip(totals, grams):
                        tot += G
                bar.update(r1 - r0)
                r0 = r1
            bar.close()
            for tot in totals:
                tot /= n_rows
            out[name] = totals
        return out
