"""Several random networks optimized together: one loss, the sum of their style losses.

A single random network's Grams are one view of a sound (issue 10: on a real drum loop the
loss kept falling while the distance under an independent network rose again). Networks with
different seeds, STFT sizes and conv widths (time and frequency scales) are several views.
Splitting the filters between them (1/N each) makes an evaluation cheaper: a Gram costs
filters^2, so N Grams of F/N filters cost 1/N of one of F. Measured (bench/texture.py,
docs/results/textures.md): three members at one STFT size were as close per iteration as one
network; at three STFT sizes (the network's halved, kept, doubled) they came closer per iteration on
all three generated styles (melody 0.31 against 0.40 at 100 iterations, under the
evaluation network and a second held-out one alike), at about the same CPU per iteration.

L = sum_i w_i * L_i(x), L_i a member Objective's total; w_i from ``balance``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence

import numpy as np

from randstyle.engine.config import NetworkConfig
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.objective import Objective

SEED_STRIDE = 7919  # member i's seed: seed + i * SEED_STRIDE (a prime: no overlap of runs)
HARMONIC_SPREAD = 2.2  # member widths: the network's width times SPREAD^(i - (N-1)/2)


def octaves(n: int) -> list:
    """Member i's STFT size as a power of two of the network's: n = 3 -> -1, 0, 1."""
    return [int(np.floor(i - (n - 1) / 2 + 0.5)) for i in range(n)]


def spread(width: int, n: int, ratio: float) -> list:
    """n conv widths spaced by ``ratio`` around ``width`` (n = 3, 11, 2.2 -> 5, 11, 24)."""
    return [max(1, int(round(width * ratio ** (i - (n - 1) / 2)))) for i in range(n)]


def member_stfts(base: NetworkConfig, n: int, n_ffts: Optional[Sequence] = None) -> list:
    """[(n_fft, hop_length)] of the n members: by default the network's STFT halved, kept and
    doubled (n = 3), hops in the same ratio; given sizes keep the network's hop/n_fft ratio."""
    if n_ffts:
        sizes = [int(f) for f in n_ffts]
    else:
        sizes = [int(base.n_fft * 2.0 ** e) for e in octaves(n)]
    return [(f, max(1, int(round(base.hop_length * f / base.n_fft)))) for f in sizes]


def member_configs(base: NetworkConfig, n: int, harmonic_widths: Optional[Sequence] = None,
                   rhythm_widths: Optional[Sequence] = None,
                   n_samples: Optional[int] = None,
                   n_ffts: Optional[Sequence] = None) -> list:
    """The n members' NetworkConfigs: 1/n of the filters each, their own seeds, STFT sizes
    and harmonic widths; every member's rhythm conv is --rhythm-kernel-size frames, so its
    time span follows the member's hop. n = 1 is the base network itself. ``n_samples``
    (the shortest signal) caps each width at the frames it holds under that member's STFT,
    so a short texture still runs (with narrower members)."""
    from randstyle.engine.signal import n_frames
    if n < 1:
        raise ParameterError(f"--networks must be >= 1, got {n}")
    if n == 1:
        return [base]
    hw = list(harmonic_widths) if harmonic_widths else spread(base.kernel_size, n,
                                                               HARMONIC_SPREAD)
    rw = list(rhythm_widths) if rhythm_widths else [base.rhythm_kernel_size] * n
    out = []
    for i, (n_fft, hop) in enumerate(member_stfts(base, n, n_ffts)):
        cap = max(1, n_frames(n_samples, n_fft, hop)) if n_samples is not None else None
        out.append(replace(base, seed=base.seed + i * SEED_STRIDE, n_fft=n_fft,
                           hop_length=hop, kernel_size=min(hw[i], cap or hw[i]),
                           rhythm_kernel_size=min(rw[i], cap or rw[i]),
                           n_filters=max(1, base.n_filters // n),
                           rhythm_filters=max(1, base.rhythm_channels // n)))
    return out


class Ensemble:
    """The weighted sum of member Objectives on the same signal, with Objective's interface
    (terms_and_grad, value_and_grad, balance, style_weights). Terms are summed by name over
    the members ("style_harmonic", "style_rhythm", "style", "total"), weighted."""

    def __init__(self, members: Sequence[Objective],
                 weights: Optional[Sequence[float]] = None) -> None:
        if not members:
            raise ParameterError("an ensemble needs at least one objective")
        self.members = list(members)
        self.weights = [1.0] * len(self.members) if weights is None else \
            [float(w) for w in weights]
        if len(self.weights) != len(self.members):
            raise ParameterError("one weight per member objective")
        first = self.members[0]
        self.network = first.network  # the report's backend and dtype
        self.content_branch = first.content_branch
        self.content_target = first.content_target
        self.last_terms: dict = {}

    @property
    def style_algorithms(self) -> dict:
        """The style loss each member's branches ran last ("dense" or "gramfree"), keyed
        "<branch>_<i>"."""
        return {f"{b}_{i}": a for i, m in enumerate(self.members)
                for b, a in m.style_algorithms.items()}

    @property
    def style_weights(self) -> dict:
        """Each member's effective style weights times its ensemble weight, keyed
        "<branch>" for one member and "<branch>_<i>" for several."""
        if len(self.members) == 1:
            return {b: self.weights[0] * w for b, w in self.members[0].style_weights.items()}
        return {f"{b}_{i}": w_i * w for i, (m, w_i) in enumerate(zip(self.members,
                                                                    self.weights))
                for b, w in m.style_weights.items()}

    def terms_and_grad(self, x: np.ndarray) -> tuple:
        if hasattr(self.network.backend, "to_floats"):
            return self._on_device(x)
        terms: dict = {}
        grad = None
        for m, w in zip(self.members, self.weights):
            t, g = m.terms_and_grad(x)
            for k, v in t.items():
                terms[k] = terms.get(k, 0.0) + w * v
            grad = w * g if grad is None else grad + w * g
        self.last_terms = terms
        return terms, grad

    def _on_device(self, x: np.ndarray) -> tuple:
        """A GPU's evaluation: the signal up once for every member, their terms and
        gradients summed on the device, and brought over once each (not once a member)."""
        net, b = self.network, self.network.backend
        xd = net.asarray(np.asarray(x, dtype=net.dtype))
        terms: dict = {}
        grad = None
        for m, w in zip(self.members, self.weights):
            t, g = m.device_terms_and_grad(xd)
            for k, v in t.items():
                terms[k] = terms.get(k, 0.0) + w * v
            grad = g * w if grad is None else grad + g * w
        terms = b.to_floats(terms)
        self.last_terms = terms
        return terms, np.asarray(b.to_numpy(grad), dtype=np.float64)

    def value_and_grad(self, x: np.ndarray) -> tuple:
        terms, grad = self.terms_and_grad(np.asarray(x))
        return terms["total"], grad.reshape(np.shape(x))

    def balance(self, x0: np.ndarray) -> dict:
        """Balance a texture's members (each one's branches, then the members against the
        first: ``_balance_members``) or a transfer's (a content-only first member, then
        style-only ones: ``_balance_to_content``). Returns the factors of every member."""
        if len(self.members) == 1:
            return self.members[0].balance(x0)
        if self.members[0].content_target is not None:
            return self._balance_to_content(x0)
        return self._balance_members(x0)

    def _balance_members(self, x0: np.ndarray) -> dict:
        """Each member's branches balanced (Objective.balance), then the members weighed so
        that each one's gradient norm at x0 equals the first member's: no view dominates
        because its Grams happen to be larger."""
        factors = [m.balance(x0) for m in self.members]
        norms = [float(np.linalg.norm(m.terms_and_grad(x0)[1])) for m in self.members]
        self.weights = [norms[0] / n if n > 0 else 1.0 for n in norms]
        out = {f"{b}_{i}": f for i, fs in enumerate(factors) for b, f in fs.items()}
        out.update({f"network_{i}": w for i, w in enumerate(self.weights)})
        return out

    def _balance_to_content(self, x0: np.ndarray) -> dict:
        """A transfer's: the first member (content, perhaps its own style) balanced by itself,
        then every style branch of every other member scaled so that its unit gradient's
        norm at x0 equals the first member's content term's, as one network balances its
        own (Objective.balance). The user's weights then mean what they mean with one
        network: each branch of each member pulls style_weight / content_weight times as
        hard as the content term, times the member's own weight (--member-weight; at 1, N
        members pull N times as hard together: docs/results/quality.md measured lower weights)."""
        first = self.members[0]
        out = {f"{b}_0": f for b, f in first.balance(x0).items()}
        reference = first.unit_norms(x0).get("content", 0.0)
        out.update({f"{b}_{i}": f for i, m in enumerate(self.members[1:], start=1)
                    for b, f in m.balance(x0, reference or None).items()})
        return out

    def describe(self) -> list:
        """The members for a report: each one's network (seed, STFT, filters, widths), its
        terms and its effective weights (the user's times the balance's times the member's)."""
        out = []
        for m, w in zip(self.members, self.weights):
            c = m.network.config
            weights = {b: w * v for b, v in m.style_weights.items()}
            if m.content_target is not None:
                weights["content"] = w * m.content_weight
            out.append({"seed": c.seed, "n_fft": c.n_fft, "hop_length": c.hop_length,
                        "n_filters": c.n_filters, "rhythm_filters": c.rhythm_channels,
                        "kernel_size": c.kernel_size,
                        "rhythm_kernel_size": c.rhythm_kernel_size, "weights": weights})
        return out
