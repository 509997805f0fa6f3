"""The loss and its gradient with respect to the signal: what L-BFGS-B minimizes."""
from __future__ import annotations

from typing import Optional

import numpy as np

from engine.errors import ParameterError
from engine.network import Network


class Objective:
    """L = content_weight * ||A(x) - A(content)||^2 + style_weight * ||G(x) - G(style)||^2.

    The style Gram and the content features are computed once, here. Content and style may
    have any lengths; the optimized signal must have the content's length when content is
    given (the features are compared frame by frame).
    """

    def __init__(self, network: Network, content: Optional[np.ndarray] = None,
                 style: Optional[np.ndarray] = None, content_weight: float = 1.0,
                 style_weight: float = 1.0) -> None:
        if content is None and style is None:
            raise ParameterError("an objective needs content, style, or both")
        self.network = network
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.content_length = None if content is None else len(content)
        self.content_target = None
        self.style_gram = None
        if content is not None:
            network.check_length(len(content), "the content clip")
            self.content_target = network.features(content)["harmonic"]
        if style is not None:
            network.check_length(len(style), "the style clip")
            self.style_gram = network.grams(style)["harmonic"]
        self.last_terms: dict[str, float] = {}

    def terms_and_grad(self, x: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
        """Each loss term ("content", "style", "total") and dL/dx as float64."""
        net, b = self.network, self.network.backend
        if self.content_length is not None and len(x) != self.content_length:
            raise ParameterError(
                f"signal has {len(x)} samples but the content has {self.content_length}")
        feats, caches = net.forward(net.asarray(x))
        A = feats["harmonic"]
        terms = {"content": 0.0, "style": 0.0}
        dA = None
        if self.content_target is not None:
            terms["content"], cache = b.content_loss_forward(
                A, self.content_target, self.content_weight)
            dA = b.content_loss_backward(1.0, cache)
        if self.style_gram is not None:
            terms["style"], cache = b.gram_style_loss_forward(A, self.style_gram,
                                                              self.style_weight)
            dA_style = b.gram_style_loss_backward(1.0, cache)
            dA = dA_style if dA is None else dA + dA_style
        terms["total"] = terms["content"] + terms["style"]
        dx = b.to_numpy(net.backward({"harmonic": dA}, caches))
        self.last_terms = terms
        return terms, np.asarray(dx, dtype=np.float64)

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """(L, dL/dx): a float and a float64 array shaped like x."""
        terms, grad = self.terms_and_grad(np.asarray(x))
        return terms["total"], grad.reshape(np.shape(x))
