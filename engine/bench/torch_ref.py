"""The default objective in PyTorch (CPU autograd), for the bench's comparison only.

Same weights, window, mel filterbank, content features and style Grams as the engine's
Objective (taken from it), same loss: content on the harmonic features, the dense Gram style
loss on the harmonic and rhythm branches. What a PyTorch user would write; the engine and the
tests never import torch (an optional extra: ``pip install -e '.[bench]'``).
"""
from typing import Any

import numpy as np
import torch


class TorchObjective:
    def __init__(self, obj: Any) -> None:
        net = obj.network
        c = net.config
        if c.dft != "fft" or c.n_resid or obj.l1_weight or net.content_branch != "harmonic":
            raise ValueError("the torch reference covers the default network only")
        self.n_fft, self.hop = c.n_fft, c.hop_length
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
        self.window = t(net.window)
        self.conv = {name: t(net.branches[name].weights.transpose(2, 1, 0))  # (F, C, K)
                     for name in ("harmonic", "rhythm")}
        self.mel = t(net.branches["rhythm"].mel_basis)
        self.mel_log = net.branches["rhythm"].log
        self.content = None if obj.content_target is None else t(obj.content_target)
        self.content_weight = obj.content_weight
        self.grams = {name: t(obj.style_grams[name][0]) for name in obj.style_branches}
        self.weights = obj.style_weights

    def _features(self, x: torch.Tensor) -> dict:
        frames = x.unfold(0, self.n_fft, self.hop) * self.window
        spec = torch.fft.rfft(frames, dim=1)
        M = torch.sqrt(spec.real ** 2 + spec.imag ** 2)
        P = M @ self.mel.T
        inputs = {"harmonic": torch.log1p(M), "rhythm": torch.log1p(P) if self.mel_log else P}
        return {name: torch.relu(torch.nn.functional.conv1d(X.T[None], self.conv[name]))[0].T
                for name, X in inputs.items()}

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        xt = torch.tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
        feats = self._features(xt)
        loss = torch.zeros(())
        if self.content is not None:
            loss = loss + self.content_weight * torch.sum((feats["harmonic"] - self.content) ** 2)
        for name, Gs in self.grams.items():
            A = feats[name]
            G = A.T @ A / A.shape[0]
            loss = loss + self.weights[name] * torch.sum((G - Gs) ** 2)
        loss.backward()
        return float(loss.detach()), xt.grad.numpy().astype(np.float64)
