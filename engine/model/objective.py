"""The loss and its gradient with respect to the signal: what L-BFGS-B minimizes.

L = content_weight * ||A_c(x) - A_c(content)||^2
  + sum over style branches b and their layers l: w_b * ||G_bl(x) - G_bl(style)||^2
  + sum over autocorrelation branches b and their layers l: v_b * ||R_bl(x) - R_bl(style)||^2
  + u * ||log(P(x) + eps) - log(P(style) + eps)||^2
  + l1_weight * sum |log1p(M(x))|
with R the per-filter temporal autocorrelation over lags (docs/design.md §13; a term of its
own, "autocorr_<branch>", not part of "style"), v_b = autocorr_weight * (its balancing factor),
P the mean power of each mel band over the whole signal (docs/design.md §14; the term
"spectrum", not part of "style" either), u = spectrum_weight * (its balancing factor),
w_b = (user weight) * (balancing factor, 1 until ``balance`` is called). Each style term
runs the dense Gram loss or the Gram-free one (docs/design.md §8), whichever needs fewer FLOPs
(engine/model/style_target.py); both compute the same loss.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from randstyle.engine.errors import ParameterError
from randstyle.engine.model.autocorr import autocorr_targets
from randstyle.engine.model.filters import chroma_filterbank
from randstyle.engine.model.network import Network
from randstyle.engine.model.spectrum import SpectrumTarget, spectrum_target
from randstyle.engine.model.style_target import StyleTarget, style_term

STYLE_TERMS = {"harmonic": "style_harmonic", "rhythm": "style_rhythm"}
# The chroma term's floor, relative to the content's mean power per pitch class: quieter
# pitch classes count as absent (log units weigh every class alike).
CHROMA_FLOOR = 1e-3
# The chroma term's octave weighting, (centre in octaves above 27.5 Hz, width in octaves):
# chroma_stft's Gaussian around 880 Hz, none, or one around 110 Hz (the bass, where a kick
# drum's notes were lost under a percussive style: docs/results/quality.md).
CHROMA_OCTAVES = {"weighted": (5.0, 2.0), "flat": (5.0, None), "low": (2.0, 2.0)}


class Objective:
    """Content features and style Grams are computed once, here. Content and style may have
    any lengths; the optimized signal must have the content's length when content is given
    (features are compared frame by frame). A weight of 0 drops its term entirely.
    ``style_grams``: {branch: [per layer: a Gram, or a StyleTarget]} instead of ``style``
    (a bare Gram always runs the dense loss: the Gram-free one needs the style's factor).
    ``autocorr_weight`` > 0 adds the autocorrelation term on ``autocorr_branches`` over
    ``autocorr_lags`` lags (capped at the style's and the content's rows), or against
    ``autocorr_targets`` ({branch: [R per layer]}) when given. ``spectrum_weight`` > 0 adds
    the long-term band spectrum term on ``spectrum_bands`` mel bands, or against
    ``spectrum_target`` when given. ``chroma_weight`` > 0 (with content) adds the chroma
    content term: each frame's pitch-class shape (log power by pitch class, its mean over
    the classes removed) held to the content's, so the notes stay where the style pulls
    the timbre (issue 29; balanced to the content term like a style term).
    """

    def __init__(self, network: Network, content: Optional[np.ndarray] = None,
                 style: Optional[np.ndarray] = None, content_weight: float = 1.0,
                 style_weight: float = 1.0, rhythm_weight: float = 1.0,
                 l1_weight: float = 0.0, style_grams: Optional[dict] = None,
                 autocorr_weight: float = 0.0, autocorr_lags: int = 40,
                 autocorr_branches: tuple = ("rhythm",),
                 autocorr_targets: Optional[dict] = None, spectrum_weight: float = 0.0,
                 spectrum_bands: int = 64,
                 spectrum_target: Optional[SpectrumTarget] = None,
                 chroma_weight: float = 0.0, chroma_octaves: str = "weighted",
                 chroma_spectrum: str = "power") -> None:
        if content is None and style is None and style_grams is None:
            raise ParameterError("an objective needs content, style, or both")
        self.network = net = network
        self.content_weight = float(content_weight)
        self.l1_weight = float(l1_weight)
        self.user_weights = {"harmonic": float(style_weight), "rhythm": float(rhythm_weight)}
        self.factors = {name: 1.0 for name in self.user_weights}
        self.content_length = None if content is None else len(content)
        self.content_branch = net.content_branch
        self.content_target = None
        if content is not None and self.content_weight > 0:
            net.check_length(len(content), "the content clip", (self.content_branch,))
            self.content_target = net.features(content, (self.content_branch,))[
                self.content_branch][-1]
        self.style_branches = [b for b, w in self.user_weights.items() if w > 0] \
            if (style is not None or style_grams is not None) else []
        if style_grams is not None:  # in the network's dtype, on its device (a GPU kernel
            # reads a float64 Gram's bytes as float32 otherwise)
            self.style_targets = {b: [t if isinstance(t, StyleTarget) and t.gram.dtype ==
                                      net.dtype else StyleTarget(net.asarray(
                                          t.gram if isinstance(t, StyleTarget) else t))
                                      for t in style_grams[b]] for b in self.style_branches}
        elif style is not None:
            net.check_length(len(style), "the style clip", self.style_branches)
            self.style_targets = net.style_targets(style, self.style_branches)
        else:
            self.style_targets = {}
        self.style_grams = {b: [t.gram for t in layers]
                            for b, layers in self.style_targets.items()}
        self.style_algorithms: dict[str, str] = {}  # branch -> "dense" / "gramfree", last run
        self.branches = set(self.style_branches)
        if self.content_target is not None:
            self.branches.add(self.content_branch)
        if self.l1_weight > 0:
            self.branches.add("logmag")
        self._autocorr_setup(float(autocorr_weight), autocorr_targets, style, autocorr_lags,
                             autocorr_branches)
        self._spectrum_setup(float(spectrum_weight), spectrum_target, style, spectrum_bands)
        self._chroma_setup(float(chroma_weight), content, chroma_octaves, chroma_spectrum)
        self.last_terms: dict[str, float] = {}

    def _chroma_setup(self, weight: float, content: Optional[np.ndarray],
                      octaves: str = "weighted", spectrum: str = "power") -> None:
        """The content's chroma shape per frame on the network's STFT (None at weight 0 or
        without content), its floor and its balancing factor. ``octaves``: "weighted" as
        librosa's chroma_stft, "flat" every octave alike (the low notes and a kick drum's
        energy count, as in chroma_cqt), "low" a Gaussian around 110 Hz; ``spectrum``:
        summed by pitch class as "power" (as chroma_stft) or "magnitude" (as chroma_cqt: the
        noise between the notes counts)."""
        self.chroma_weight = weight
        self.chroma = None
        if weight <= 0 or content is None:
            return
        net = self.network
        S = np.asarray(net.backend.to_numpy(net.forward(
            net.asarray(np.asarray(content, dtype=net.dtype)), ("logmag",))[0]["logmag"][0]),
            dtype=np.float64)
        if octaves not in CHROMA_OCTAVES or spectrum not in ("power", "magnitude"):
            raise ParameterError(f"chroma octaves must be weighted, flat or low, got "
                                 f"{octaves!r}; its spectrum power or magnitude, got "
                                 f"{spectrum!r}")
        ctroct, octwidth = CHROMA_OCTAVES[octaves]
        fb = chroma_filterbank(sr=net.config.sr, n_fft=net.config.n_fft, ctroct=ctroct,
                               octwidth=octwidth)
        power = 2 if spectrum == "power" else 1
        Q = np.expm1(S) ** power @ fb.T
        # the same floor in dB for either sum: 10^-3 of the power is 10^-1.5 of the magnitude
        floor = CHROMA_FLOOR ** (power / 2)
        eps = floor * float(np.mean(Q)) or floor
        Z = np.log(Q + eps)
        Z -= Z.mean(axis=1, keepdims=True)
        self.chroma = (net.asarray(fb), net.asarray(Z), eps, power)
        self.factors["chroma"] = 1.0
        self.branches.add("logmag")

    def _autocorr_setup(self, weight: float, targets: Optional[dict],
                        style: Optional[np.ndarray], n_lags: int, branches: tuple) -> None:
        """The autocorrelation targets ({branch: [R per layer]}, none at weight 0), their
        balancing factors, and their branches among those the forward pass computes."""
        self.autocorr_weight = weight
        if weight <= 0:
            targets = {}
        elif targets is None:
            if style is None:
                raise ParameterError("the autocorrelation term needs a style signal or targets")
            n_samples = len(style) if self.content_length is None else self.content_length
            targets = autocorr_targets(self.network, [(style, 1.0)], branches, n_lags,
                                       n_samples)
        # In the network's dtype, on its device (targets given as float64 host arrays too).
        self.autocorr_targets = {b: [self.network.asarray(t) for t in layers]
                                 for b, layers in targets.items()}
        for b in self.autocorr_targets:
            self.factors[f"autocorr_{b}"] = 1.0
            self.branches.add(b)

    def _spectrum_setup(self, weight: float, target: Optional[SpectrumTarget],
                        style: Optional[np.ndarray], n_bands: int) -> None:
        """The band spectrum target (None at weight 0 or without a style term: a content
        network in an ensemble has none) and its balancing factor."""
        self.spectrum_weight = weight
        self.spectrum = None
        if weight <= 0 or not self.style_branches:
            return
        if target is None:
            if style is None:
                raise ParameterError("the spectrum term needs a style signal or its target")
            target = spectrum_target(self.network, [(style, 1.0)], n_bands)
        self.spectrum = target
        self.factors["spectrum"] = 1.0
        self.branches.add("logmag")

    @property
    def style_weights(self) -> dict:
        """Effective weight of each style branch: the user's, times the balancing factor (and
        of each autocorrelation term, "autocorr_<branch>")."""
        out = {b: self.user_weights[b] * self.factors[b] for b in self.style_branches}
        out.update({f"autocorr_{b}": self.autocorr_weight * self.factors[f"autocorr_{b}"]
                    for b in self.autocorr_targets})
        if self.spectrum is not None:
            out["spectrum"] = self.spectrum_weight * self.factors["spectrum"]
        if self.chroma is not None:
            out["chroma"] = self.chroma_weight * self.factors["chroma"]
        return out

    def _forward(self, x: np.ndarray, unit: bool = False,
                 device: bool = False) -> tuple[dict, dict, dict]:
        """Loss terms, each term's gradient with respect to the features ({term: {branch:
        [dA per layer or None]}}), and the network caches; ``unit`` drops the weights.
        ``device``: x is already a backend array in the network's dtype, and the terms stay
        where they were computed (``device_terms_and_grad``)."""
        net, b = self.network, self.network.backend
        if self.content_length is not None and len(x) != self.content_length:
            raise ParameterError(
                f"signal has {len(x)} samples but the content has {self.content_length}")
        # Cast on the host: only engine-dtype bytes cross to a GPU.
        xd = x if device else net.asarray(np.asarray(x, dtype=net.dtype))
        feats, caches = net.forward(xd, self.branches)
        terms: dict[str, float] = {}
        term_grads: dict[str, dict] = {}

        def grad_of(term: str, branch: str, layer: int, g) -> None:
            layers = term_grads.setdefault(term, {}).setdefault(
                branch, [None] * len(feats[branch]))
            layers[layer] = g

        if self.content_target is not None:
            cb = self.content_branch
            w = 1.0 if unit else self.content_weight
            terms["content"], cache = b.content_loss_forward(feats[cb][-1], self.content_target,
                                                             w)
            grad_of("content", cb, len(feats[cb]) - 1, b.content_loss_backward(1.0, cache))
        if self.chroma is not None:
            fb, target, eps, power = self.chroma
            w = 1.0 if unit else self.chroma_weight * self.factors["chroma"]
            terms["chroma"], cache = b.chroma_loss_forward(feats["logmag"][0], fb, target, eps,
                                                           w, power)
            grad_of("chroma", "logmag", 0, b.chroma_loss_backward(1.0, cache))
        self._style_terms(feats, unit, terms, grad_of)
        if self.l1_weight > 0:
            w = 1.0 if unit else self.l1_weight
            terms["l1"], cache = b.l1_forward(feats["logmag"][0], w)
            grad_of("l1", "logmag", 0, b.l1_backward(1.0, cache))
        if self.style_branches:
            terms["style"] = sum(terms[STYLE_TERMS[n]] for n in self.style_branches)
        terms["total"] = sum(v for k, v in terms.items() if k not in ("style", "total"))
        if hasattr(b, "to_floats") and not device:  # a GPU's terms are device scalars: one
            terms = b.to_floats(terms)  # transfer for all
        return terms, term_grads, caches

    def _style_terms(self, feats: dict, unit: bool, terms: dict, grad_of: Any) -> None:
        """The Gram, autocorrelation and band spectrum terms into ``terms``, their gradients
        through ``grad_of(term, branch, layer, dA)``."""
        b, weights = self.network.backend, self.style_weights
        for name in self.style_branches:
            term = STYLE_TERMS[name]
            w = 1.0 if unit else weights[name]
            terms[term] = 0.0
            for layer, (A, target) in enumerate(zip(feats[name], self.style_targets[name])):
                loss, grad, self.style_algorithms[name] = style_term(b, A, target, w)
                terms[term] += loss
                grad_of(term, name, layer, grad)
        for name, targets in self.autocorr_targets.items():
            term = f"autocorr_{name}"
            w = 1.0 if unit else weights[term]
            terms[term] = 0.0
            for layer, (A, R) in enumerate(zip(feats[name], targets)):
                if A.shape[0] < R.shape[0]:
                    raise ParameterError(f"the signal has {A.shape[0]} rows of {name} "
                                         f"activations, fewer than the {R.shape[0]} "
                                         "autocorrelation lags")
                loss, cache = b.autocorr_loss_forward(A, R, w)
                terms[term] += loss
                grad_of(term, name, layer, b.autocorr_loss_backward(1.0, cache))
        if self.spectrum is not None:
            t = self.spectrum
            w = 1.0 if unit else weights["spectrum"]
            terms["spectrum"], cache = b.spectrum_loss_forward(feats["logmag"][0], t.bands,
                                                               t.target, t.eps, w)
            grad_of("spectrum", "logmag", 0, b.spectrum_loss_backward(1.0, cache))

    def _backward(self, grads: dict, caches: dict) -> np.ndarray:
        return input_gradient(self.network, grads, caches)

    def _evaluate(self, x: np.ndarray) -> tuple[dict, np.ndarray]:
        """Loss terms and dL/dx: every term's feature gradients summed, one backward pass."""
        terms, term_grads, caches = self._forward(x)
        return terms, self._backward(summed(term_grads), caches)

    def device_terms_and_grad(self, x) -> tuple[dict, object]:
        """terms_and_grad for a signal already on the backend's device (in the network's
        dtype): the terms left as device scalars (the caller brings them over together with
        its own: see kernels/cuda.py to_floats) and dL/dx on the device, in that dtype."""
        terms, term_grads, caches = self._forward(x, device=True)
        return terms, self.network.backward(summed(term_grads), caches)

    def terms_and_grad(self, x: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
        """Each loss term ("content", "style_harmonic", "style_rhythm", "autocorr_<branch>",
        "spectrum", "l1", the Gram terms' "style" sum and the "total") and dL/dx as
        float64."""
        terms, grad = self._evaluate(np.asarray(x))
        self.last_terms = terms
        return terms, grad

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """(L, dL/dx): a float and a float64 array shaped like x."""
        terms, grad = self.terms_and_grad(np.asarray(x))
        return terms["total"], grad.reshape(np.shape(x))

    def balance(self, x0: np.ndarray, reference: Optional[float] = None) -> dict:
        """Barry & Kim's balancing: scale each style term so that the norm of its (unit
        weight) gradient at x0 equals the content term's, or without content the harmonic
        style term's (else the first style term's); ``reference``: that norm given by the
        caller instead (an ensemble's content network, engine/model/ensemble.py). Returns
        the factors."""
        if not self.style_branches and self.chroma is None:
            return {}
        norms = self.unit_norms(x0)
        ref = reference or norms.get("content") or norms[STYLE_TERMS[self.style_branches[0]]]
        # {factor's key: its term's name}: a Gram term's factor is keyed by its branch.
        terms = {name: STYLE_TERMS[name] for name in self.style_branches} | {
            f"autocorr_{name}": f"autocorr_{name}" for name in self.autocorr_targets} | (
            {"spectrum": "spectrum"} if self.spectrum is not None else {}) | (
            {"chroma": "chroma"} if self.chroma is not None else {})
        for key, term in terms.items():
            n = norms[term]
            self.factors[key] = ref / n if n > 0 else 1.0
        return {key: self.factors[key] for key in terms}

    def unit_norms(self, x0: np.ndarray) -> dict:
        """{term: the norm of its unit-weight gradient dL/dx at x0} (the L1 term left out)."""
        # One forward pass; a backward pass per term.
        _, term_grads, caches = self._forward(np.asarray(x0), unit=True)
        return {term: float(np.linalg.norm(self._backward(grads, caches)))
                for term, grads in term_grads.items() if term != "l1"}


def input_gradient(network: Network, grads: dict, caches: dict) -> np.ndarray:
    """dL/dx (float64, on the host) from the features' gradients."""
    b = network.backend
    return np.asarray(b.to_numpy(network.backward(grads, caches)), dtype=np.float64)


def summed(term_grads: dict) -> dict:
    """{branch: [gradient per layer]}: every term's feature gradients added up, so one
    backward pass serves them all (a None layer is one a term does not reach)."""
    grads: dict[str, list] = {}
    for per_branch in term_grads.values():
        for branch, layers in per_branch.items():
            acc = grads.setdefault(branch, [None] * len(layers))
            for i, g in enumerate(layers):
                if g is not None:
                    acc[i] = g if acc[i] is None else acc[i] + g
    return grads
