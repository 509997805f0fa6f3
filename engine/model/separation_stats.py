"""Separation's statistics objective: the targets of an example's transformed activations
and the style loss against them (the layers, patches and transforms, are in
engine/model/separation_layers.py, which also gives the math)."""
from __future__ import annotations

from typing import Any

import numpy as np

from randstyle.engine.errors import ParameterError
from randstyle.engine.model.network import Network
from randstyle.engine.model.objective import input_gradient, summed
from randstyle.engine.model.separation_layers import (
    patch_backward,
    patch_forward,
    transform_backward,
    transform_forward,
)
from randstyle.engine.model.style_target import (
    STYLE_CHUNK_FRAMES,
    combine,
    factor_can_pay,
    finish,
    gram_by_syrk,
    style_term,
)

TERMS = {"harmonic": "style_harmonic", "rhythm": "style_rhythm", "envelope": "style_envelope",
         "shift": "style_shift"}


def example_targets(net: Network, styles: list, branches: tuple, kind: str,
                    patches: Any = None) -> dict:
    """{branch: [StyleTarget]} of the transformed activations of several examples
    [(signal, weight), ...], averaged by weight (factors stacked where they pay). Each
    example's transform uses its own mean and energy; its activations are computed whole
    (a chunk of STYLE_CHUNK_FRAMES frames at a time, each reading its K - 1 frames of
    context), so memory grows with the example's length times the filters. ``patches``:
    {name: Patch} of the patch branches in ``branches``."""
    b, c = net.backend, net.config
    per_example = []
    for x, w in styles:
        targets = {}
        for name in branches:
            if name in (patches or {}):
                K = patches[name].weights.shape[0]
            else:
                br = net.branches[name]
                if br.resid:
                    raise ParameterError("these separation statistics need --n-resid 0")
                K = br.width
            T = 1 + (len(x) - c.n_fft) // c.hop_length
            rows = []
            for r0 in range(0, T - K + 1, STYLE_CHUNK_FRAMES):
                r1 = min(r0 + STYLE_CHUNK_FRAMES, T - K + 1)
                seg = x[r0 * c.hop_length:(r1 + K - 2) * c.hop_length + c.n_fft]
                if name in (patches or {}):
                    S = net.features(seg, ("logmag",))["logmag"][0]
                    rows.append(patch_forward(b, S, patches[name])[0])
                else:
                    rows.append(net.features(seg, (name,))[name][0])
            A, _ = transform_forward(b.xp, b.xp.concatenate(rows), kind)
            n = A.shape[0]
            factor = A * A.dtype.type(1 / np.sqrt(n))
            G = b.gram_forward(A)[0]
            pays = factor_can_pay(n, A.shape[1], gram_by_syrk(b))
            targets[name] = [finish(b.xp, G, factor if pays else None)]
        per_example.append((targets, w))
    return {name: combine(b.xp, [(t[name], w) for t, w in per_example]) for name in branches}


class StatsObjective:
    """The style loss of ``statistics`` against an example's targets: the interface of
    engine.model.objective.Objective that MaskSeparation uses (terms_and_grad, balance,
    network), for style terms only.

    L = sum over branches b: w_b ||Gram(t(A_b(x))) - target_b||²"""

    def __init__(self, network: Network, targets: dict, kind: str, weights: dict,
                 patches: Any = None) -> None:
        """``weights``: {branch: user weight} ("harmonic", "rhythm" and the names of
        ``patches``, {name: Patch}); a weight of 0 drops the branch."""
        self.network, self.kind, self.targets = network, kind, targets
        self.patches = patches or {}
        self.user_weights = {name: float(w) for name, w in weights.items()}
        self.style_branches = [b for b, w in self.user_weights.items() if w > 0]
        self.factors = {b: 1.0 for b in self.style_branches}
        self.last_terms: dict = {}

    def _forward(self, x: np.ndarray, unit: bool = False,
                 device: bool = False) -> tuple[dict, dict, dict]:
        """As Objective._forward: ``device``, x is a backend array in the network's dtype and
        the terms stay on the device."""
        net = self.network
        b = net.backend
        patched = [n for n in self.style_branches if n in self.patches]
        branches = [n for n in self.style_branches if n not in self.patches] + \
            (["logmag"] if patched else [])
        xd = x if device else net.asarray(np.asarray(x, dtype=net.dtype))
        feats, caches = net.forward(xd, branches)
        for name in patched:
            A, caches[name] = patch_forward(b, feats["logmag"][0], self.patches[name])
            feats[name] = [A]
        terms, grads = {}, {}
        for name in self.style_branches:
            w = 1.0 if unit else self.user_weights[name] * self.factors[name]
            A, steps = transform_forward(b.xp, feats[name][0], self.kind)
            target = self.targets[name][0]
            loss, dA, _ = style_term(b, A, target, w)
            terms[TERMS[name]] = loss
            dA = transform_backward(b.xp, dA, steps)
            if name in self.patches:
                grads[TERMS[name]] = {"logmag": [patch_backward(b, dA, caches[name],
                                                                self.patches[name])]}
            else:
                grads[TERMS[name]] = {name: [dA]}
        terms["style"] = sum(terms.values())
        terms["total"] = terms["style"]
        if not device:
            terms = b.to_floats(terms) if hasattr(b, "to_floats") else \
                {k: float(v) for k, v in terms.items()}
        return terms, grads, caches

    def _backward(self, grads: dict, caches: dict) -> np.ndarray:
        return input_gradient(self.network, grads, caches)

    def device_terms_and_grad(self, x: Any) -> tuple[dict, Any]:
        """As Objective.device_terms_and_grad: x, the terms and dL/dx on the device."""
        terms, term_grads, caches = self._forward(x, device=True)
        return terms, self.network.backward(summed(term_grads), caches)

    def terms_and_grad(self, x: np.ndarray) -> tuple[dict, np.ndarray]:
        terms, term_grads, caches = self._forward(x)
        self.last_terms = terms
        return terms, self._backward(summed(term_grads), caches)  # patches all feed "logmag"

    def balance(self, x0: np.ndarray) -> dict:
        """As Objective.balance without content: each branch's gradient norm at x0 made the
        first style branch's."""
        _, term_grads, caches = self._forward(x0, unit=True)
        # each term's gradient on its own: the patch terms' caches are separate
        norms = {t: float(np.linalg.norm(self._backward(g, caches)))
                 for t, g in term_grads.items()}
        ref = norms[TERMS[self.style_branches[0]]]
        for name in self.style_branches:
            n = norms[TERMS[name]]
            self.factors[name] = ref / n if n > 0 else 1.0
        return dict(self.factors)
