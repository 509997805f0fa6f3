"""Forward and backward through a network's branches, op by op on its backend.

x -> DFT conv -> magnitude M ->
   harmonic branch: log1p(M) -> conv (width 11) + ReLU (dense or Fastfood filters)
   rhythm branch:   log1p(M @ melᵀ) -> conv (width 50) + ReLU [-> dilated residual blocks]
   content_mel:     the rhythm architecture on its own mel size (--content-features mel)
Each branch yields a list of activations: one per layer whose Gram the style loss uses.
"""
from __future__ import annotations

from typing import Any, Iterable

from randstyle.engine.model.params import same_padding


def forward(net: Any, x: Any, branches: Iterable[str] = ("harmonic",)) -> tuple[dict, dict]:
    """Activations per requested branch ({name: [A_0, ...]}; "logmag" gives [log1p(M)])
    and the caches for backward."""
    b, hop = net.backend, net.config.hop_length
    branches = tuple(branches)
    if net.config.dft == "fft":
        Z, c_stft = b.stft_fft_forward(x, net._window, hop)
    else:
        Z, c_stft = b.stft_matrix_forward(x, net._basis, hop)
    M, c_mag = b.magnitude_forward(Z)
    feats, caches = {}, {"stft": c_stft, "mag": c_mag}
    if "harmonic" in branches or "logmag" in branches:
        S, caches["log"] = b.log1p_forward(M)
        if "logmag" in branches:
            feats["logmag"] = [S]
        if "harmonic" in branches:
            A, caches["harmonic"] = conv_relu_forward(b, net._dev["harmonic"], S)
            feats["harmonic"] = [A]
    for name in branches:
        if name in ("harmonic", "logmag"):
            continue
        dev, br = net._dev[name], net.branches[name]
        P, c_mel = b.mel_forward(M, dev["mel"])
        c_plog = None
        if br.log:
            P, c_plog = b.log1p_forward(P)
        feats[name], c_stack = stack_forward(b, dev, P)
        caches[name] = (c_mel, c_plog, c_stack)
    return feats, caches


def conv_relu_forward(b: Any, dev: dict, X: Any) -> tuple[Any, Any]:
    """A branch's first conv + ReLU: dense weights, or the Fastfood structured filters."""
    ff = dev.get("fastfood")
    if ff is None:
        return b.conv1d_relu_forward(X, dev["weights"])
    return b.fastfood_conv_relu_forward(X, ff.width, ff.signs, ff.perm, ff.gauss, ff.scale,
                                        ff.n_out)


def conv_relu_backward(b: Any, dev: dict, dA: Any, cache: Any) -> Any:
    if dev.get("fastfood") is None:
        return b.conv1d_relu_backward(dA, cache)
    return b.fastfood_conv_relu_backward(dA, cache)


def stack_forward(b: Any, dev: dict, X: Any) -> tuple[list, Any]:
    """The first conv (+ ReLU) and the residual blocks: [a_0, a_1, ...] and the caches."""
    if not dev["resid"]:
        A, c = conv_relu_forward(b, dev, X)
        return [A], c
    h, c0 = b.conv1d_forward(X, dev["weights"])
    a, r0 = b.relu_forward(h)
    acts, steps = [a], []
    for i, (Wd, W1) in enumerate(dev["resid"]):
        y, cy = b.conv1d_forward(a, Wd, 2 ** i, same_padding(Wd.shape[0], 2 ** i))
        d, cr = b.relu_forward(y)
        z, cz = b.conv1d_forward(d, W1)
        h = h + z
        a, ca = b.relu_forward(h)
        acts.append(a)
        steps.append((cy, cr, cz, ca))
    return acts, (c0, r0, steps)


def stack_backward(b: Any, dev: dict, dacts: list, cache: Any) -> Any:
    """Gradient into the stack's input; dacts[i] is dL/da_i or None."""
    if not dev["resid"]:
        return conv_relu_backward(b, dev, dacts[0], cache)
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


def backward(net: Any, dfeatures: dict, caches: dict) -> Any:
    """dL/dx from the activations' gradients ({name: [dA_0 or None, ...]})."""
    b = net.backend
    dS = dM = None
    if "logmag" in dfeatures and dfeatures["logmag"][0] is not None:
        dS = dfeatures["logmag"][0]
    if "harmonic" in dfeatures and dfeatures["harmonic"][0] is not None:
        g = conv_relu_backward(b, net._dev["harmonic"], dfeatures["harmonic"][0],
                               caches["harmonic"])
        dS = g if dS is None else dS + g
    if dS is not None:
        dM = b.log1p_backward(dS, caches["log"])
    for name, dacts in dfeatures.items():
        if name in ("harmonic", "logmag") or all(d is None for d in dacts):
            continue
        c_mel, c_plog, c_stack = caches[name]
        dP = stack_backward(b, net._dev[name], dacts, c_stack)
        if c_plog is not None:
            dP = b.log1p_backward(dP, c_plog)
        g = b.mel_backward(dP, c_mel)
        dM = g if dM is None else dM + g
    if dM is None:
        return b.xp.zeros(caches["stft"][0], dtype=net.dtype)
    dZ = b.magnitude_backward(dM, caches["mag"])
    if net.config.dft == "fft":
        return b.stft_fft_backward(dZ, caches["stft"])
    return b.stft_matrix_backward(dZ, caches["stft"])
