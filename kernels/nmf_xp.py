"""The dictionary-separation ops (beta-divergence NMF steps, Wiener masks) in array-module
style, shared by the cpu and cuda backends: numpy_ref's ops of the same names, whole on the
backend's arrays (cuBLAS matmuls and CuPy elementwise work on a GPU; the cpu backend's BLAS
and, for KL's ratio V / (A @ D), a threaded Numba kernel)."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from randstyle.kernels.numpy_ref import NMF_EPS, nmf_gamma, nmf_weights

F64_EPS = float(np.finfo(np.float64).eps)


class NMFOps:
    """The ops on a backend module's ``xp`` (read at each call: the cuda backend turns it into
    NumPy for its host emulation) and, when it has them, its ``nmf_kl_ratio(V, L)`` and its
    ``nmf_matmul(a, b)`` (the cpu backend's block-parallel GEMM: NumPy's threaded BLAS on
    these thin products ran 2.5-7x slower on two threads than on one,
    docs/results/separation.md)."""

    OPS = ("nmf_activations_step", "nmf_dictionary_step", "nmf_model_power", "wiener_apply",
           "nmf_continuity_terms")

    def __init__(self, backend: ModuleType) -> None:
        self.backend = backend

    def bind(self) -> None:
        for name in self.OPS:
            setattr(self.backend, name, getattr(self, name))

    @property
    def xp(self) -> Any:
        return self.backend.xp

    def matmul(self, a, b):
        own = getattr(self.backend, "nmf_matmul", None)
        return own(a, b) if own else self.xp.matmul(a, b)

    def terms(self, V, A, D, beta):
        xp, t = self.xp, V.dtype.type
        L = self.matmul(A, D)
        if beta == 1:
            fused = getattr(self.backend, "nmf_kl_ratio", None)
            return (fused(V, L) if fused else V / xp.maximum(L, t(NMF_EPS))), None
        safe = xp.maximum(L, t(NMF_EPS)) if beta < 2 else L
        ratio = V * safe ** t(beta - 2)
        low = xp.maximum(L, t(NMF_EPS)) if beta < 1 else L
        return ratio, low ** t(beta - 1)

    def scale(self, F, numer, denom, beta, l1):
        denom = denom + nmf_weights(l1, F.dtype)
        denom[denom == 0] = NMF_EPS
        step = numer / denom
        gamma = nmf_gamma(beta)
        return F * (step if gamma == 1 else step ** F.dtype.type(gamma))

    def nmf_continuity_terms(self, A, weight):
        """numpy_ref.nmf_continuity_terms in xp."""
        xp, t = self.xp, A.dtype.type
        T = A.shape[0]
        s = xp.maximum((A * A).sum(axis=0), t(1e-30))[None, :]
        scale = nmf_weights(weight, A.dtype) * A.mean() * t(2 * T)
        near = xp.zeros_like(A)
        near[1:] += A[:-1]
        near[:-1] += A[1:]
        count = xp.full((T, 1), 2, dtype=A.dtype)
        count[0] = count[-1] = 1 if T > 1 else 0
        change = ((A[1:] - A[:-1]) ** 2).sum(axis=0)[None, :]
        return scale * count * A / s, scale * (near / s + A * change / (s * s))

    def nmf_activations_step(self, V, A, D, beta, l1=0.0, continuity=0.0):
        ratio, power = self.terms(V, A, D, beta)
        denom = D.sum(axis=1)[None, :] if power is None else self.matmul(power, D.T)
        numer = self.matmul(ratio, D.T)
        if np.ndim(continuity) or continuity:
            plus, minus = self.nmf_continuity_terms(A, continuity)
            numer, denom = numer + minus, denom + plus
        A = self.scale(A, numer, denom, beta, l1)
        if beta < 1:
            A[A < F64_EPS] = 0
        return A

    def nmf_dictionary_step(self, V, A, D, beta):
        ratio, power = self.terms(V, A, D, beta)
        denom = A.sum(axis=0)[:, None] if power is None else self.matmul(A.T, power)
        D = self.scale(D, self.matmul(A.T, ratio), denom, beta, 0.0)
        if beta <= 1:
            D[D < F64_EPS] = 0
        return D

    def nmf_model_power(self, A, D, power):
        xp = self.xp
        P = self.matmul(A, D) ** A.dtype.type(power)
        return xp.maximum(P, A.dtype.type(1e-30))

    def wiener_apply(self, P, total, X):
        return (P / total) * X
