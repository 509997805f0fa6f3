"""The long-term band spectrum ops (docs/design.md §14) and the chroma content term's (issue
29) in array-module style, shared by the
cpu and cuda backends: numpy_ref's ops of the same names on the backend's ``xp``, its loss
through the backend's own ``squared_error`` pair (so the loss stays where the backend keeps
its losses). They cost one pass over the magnitudes and a (1 x n_bins) @ (n_bins x n_bands)
product: nothing beside the convolutions to write kernels for."""
from __future__ import annotations

from types import ModuleType
from typing import Any


class SpectrumOps:
    """The ops on a backend module's ``xp`` and ``squared_error`` pair, read at each call (the
    cuda backend turns ``xp`` into NumPy for its host emulation)."""

    def __init__(self, backend: ModuleType) -> None:
        self.backend = backend

    @property
    def xp(self) -> Any:
        return self.backend.xp

    def band_power_forward(self, S, bands):
        M = self.xp.expm1(S)
        P = (M * M).mean(axis=0, keepdims=True) @ bands.T
        return self.xp.ascontiguousarray(P.astype(S.dtype, copy=False)), (M, bands)

    def band_power_backward(self, dP, cache):
        M, bands = cache
        dS = (2.0 / M.shape[0]) * M * (1 + M) * (dP @ bands)
        return self.xp.ascontiguousarray(dS.astype(M.dtype, copy=False))

    def spectrum_loss_forward(self, S, bands, target, eps, weight):
        P, p_cache = self.band_power_forward(S, bands)
        logP = self.xp.ascontiguousarray(self.xp.log(P + eps))
        loss, l_cache = self.backend.squared_error_forward(logP, target, weight)
        return loss, (p_cache, P + eps, l_cache)

    def spectrum_loss_backward(self, dL, cache):
        p_cache, P_eps, l_cache = cache
        dlog = self.backend.squared_error_backward(dL, l_cache)
        return self.band_power_backward(dlog / P_eps, p_cache)

    def chroma_loss_forward(self, S, fb, target, eps, weight, power=2):
        if power not in (1, 2):
            raise ValueError(f"chroma power must be 1 or 2, got {power!r}")
        xp = self.xp
        M = xp.expm1(S)
        Q_eps = (M * M if power == 2 else M) @ fb.T + eps
        L = xp.log(Q_eps)
        Z = xp.ascontiguousarray((L - L.mean(axis=1, keepdims=True)).astype(S.dtype, copy=False))
        loss, l_cache = self.backend.squared_error_forward(Z, target, weight)
        return loss, (M, fb, Q_eps, power, l_cache)

    def chroma_loss_backward(self, dL, cache):
        M, fb, Q_eps, power, l_cache = cache
        dZ = self.backend.squared_error_backward(dL, l_cache)
        dQ = (dZ - dZ.mean(axis=1, keepdims=True)) / Q_eps
        dM = 2 * M * (dQ @ fb) if power == 2 else dQ @ fb
        dS = (1 + M) * dM
        return self.xp.ascontiguousarray(dS.astype(M.dtype, copy=False))
