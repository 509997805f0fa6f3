"""NumPy reference backend: the readable spec every other backend is checked against.

Each op is a pair ``<op>_forward(...) -> (out, cache)`` and
``<op>_backward(grad_out, cache) -> grad_in`` (docs/design.md §1-8). Ops keep the dtype of
their input, so the same code runs in float32 (production) and float64 (gradient checks).
Only input gradients are computed: the network's weights are fixed, never trained.

Shapes: x (N,) signal; Z (T, 2*n_bins) = [Re | Im] of the DFT conv; M, S (T, n_bins);
P (T, n_mels); X (T, C) conv input; W (K, C, F) conv weights; A (T-K+1, F); G (F, F).
"""
from __future__ import annotations

import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from randstyle.kernels import interface

name = "numpy"
xp = np


def asarray(a, dtype=None) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def to_numpy(a) -> np.ndarray:
    return np.asarray(a)


def synchronize() -> None:
    """Nothing to wait for: CPU work is done when a call returns (the GPU backend waits)."""


def n_frames(n_samples: int, n_fft: int, hop_length: int) -> int:
    """Frames of a "valid" framing: 1 + (N - n_fft) // hop, or 0 when the signal is too short."""
    return 0 if n_samples < n_fft else 1 + (n_samples - n_fft) // hop_length


def frame(x: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """(T, n_fft) read-only view: frame t is x[t*hop : t*hop + n_fft]."""
    return sliding_window_view(x, n_fft)[::hop_length]


def overlap_add(dframes: np.ndarray, n_samples: int, hop_length: int) -> np.ndarray:
    """Adjoint of ``frame``: sum each frame's gradient back into the samples it came from."""
    T, n_fft = dframes.shape
    dx = np.zeros(n_samples, dtype=dframes.dtype)
    for t in range(T):
        dx[t * hop_length:t * hop_length + n_fft] += dframes[t]
    return dx


# --- DFT conv, matrix form: frames @ basis, basis (n_fft, 2*n_bins) = [w*cos | -w*sin] --------

def stft_matrix_forward(x, basis, hop_length):
    n_fft = basis.shape[0]
    Z = frame(x, n_fft, hop_length) @ basis
    return Z, (x.shape[0], basis, hop_length)


def stft_matrix_backward(dZ, cache):
    n_samples, basis, hop_length = cache
    return overlap_add(dZ @ basis.T, n_samples, hop_length)


# --- DFT conv, FFT form: rfft of windowed frames; the same linear operator -------------------

def stft_fft_forward(x, window, hop_length):
    n_fft = window.shape[0]
    spec = np.fft.rfft(frame(x, n_fft, hop_length) * window, axis=1)
    Z = np.concatenate([spec.real, spec.imag], axis=1).astype(x.dtype, copy=False)
    return Z, (x.shape[0], window, hop_length)


def stft_fft_backward(dZ, cache):
    n_samples, window, hop_length = cache
    n_fft = window.shape[0]
    n_bins = n_fft // 2 + 1
    spec = dZ[:, :n_bins] + 1j * dZ[:, n_bins:]
    # irfft counts interior bins twice (Hermitian symmetry); the forward used them once.
    spec[:, 1:n_bins - 1] *= 0.5
    dwin = n_fft * np.fft.irfft(spec, n=n_fft, axis=1)
    return overlap_add((dwin * window).astype(dZ.dtype, copy=False), n_samples, hop_length)


# --- magnitude, log1p, mel -------------------------------------------------------------------

def magnitude_forward(Z):
    n_bins = Z.shape[1] // 2
    re, im = Z[:, :n_bins], Z[:, n_bins:]
    M = np.sqrt(re * re + im * im)
    return M, (Z, M)


def magnitude_backward(dM, cache):
    Z, M = cache
    n_bins = M.shape[1]
    # d|z|/dz = z/|z|, defined as 0 at z = 0 where the magnitude has no derivative.
    scale = np.divide(dM, M, out=np.zeros_like(M), where=M > 0)
    return np.concatenate([scale * Z[:, :n_bins], scale * Z[:, n_bins:]], axis=1)


def log1p_forward(M):
    return np.log1p(M), M


def log1p_backward(dS, cache):
    return dS / (1 + cache)


def mel_forward(M, mel_basis):
    """P = M @ mel_basisᵀ, mel_basis (n_mels, n_bins)."""
    return M @ mel_basis.T, mel_basis


def mel_backward(dP, cache):
    return dP @ cache


# --- random conv over time (+ ReLU), through im2col and one GEMM -----------------------------

def im2col(X, K, dilation=1):
    """(T-(K-1)*dilation, K*C) with column k*C + c holding X[t + k*dilation, c]: matches
    W.reshape(K*C, F)."""
    span = (K - 1) * dilation + 1
    cols = sliding_window_view(X, span, axis=0)[:, :, ::dilation]  # (T', C, K)
    return np.ascontiguousarray(cols.transpose(0, 2, 1)).reshape(cols.shape[0], -1)


def conv1d_forward(X, W, dilation=1, padding=(0, 0)):
    """Y[t, f] = sum_k sum_c Xp[t + k*dilation, c] W[k, c, f], Xp = X zero-padded in time by
    padding = (before, after); (0, 0) is "valid", a total of (K-1)*dilation keeps the length."""
    K, C, F = W.shape
    Xp = np.pad(X, (padding, (0, 0))) if any(padding) else X
    Y = im2col(Xp, K, dilation) @ W.reshape(K * C, F)
    return Y, (X.shape, W, dilation, padding)


def conv1d_backward(dY, cache):
    x_shape, W, dilation, padding = cache
    K, C, F = W.shape
    dcols = (dY @ W.reshape(K * C, F).T).reshape(dY.shape[0], K, C)
    dXp = np.zeros((x_shape[0] + padding[0] + padding[1], C), dtype=dY.dtype)
    for k in range(K):  # col2im: tap k of output t read input row t + k*dilation
        dXp[k * dilation:k * dilation + dY.shape[0]] += dcols[:, k, :]
    return dXp[padding[0]:padding[0] + x_shape[0]]


def relu_forward(X):
    A = np.maximum(X, 0)
    return A, A


def relu_backward(dA, cache):
    return np.where(cache > 0, dA, 0).astype(dA.dtype, copy=False)


def conv1d_relu_forward(X, W):
    """relu(conv1d(X, W)), "valid": one op, since the fast backends fuse the two."""
    Y, c_conv = conv1d_forward(X, W)
    A, c_relu = relu_forward(Y)
    return A, (c_conv, c_relu)


def conv1d_relu_backward(dA, cache):
    c_conv, c_relu = cache
    return conv1d_backward(relu_backward(dA, c_relu), c_conv)


# --- structured random conv (+ ReLU): Fastfood projection of each patch ---------------------

def fwht(X):
    """Unnormalized Walsh-Hadamard transform along the last axis (length a power of two), in
    Sylvester order: H[i, j] = (-1)^popcount(i & j). H is symmetric and H @ H = N I, so it is
    its own transpose and, divided by sqrt(N), orthogonal."""
    lead, N = X.shape[:-1], X.shape[-1]
    h = 1
    while h < N:  # one butterfly pass: pairs (i, i + h) inside each block of 2h
        Y = X.reshape(*lead, N // (2 * h), 2, h)
        X = np.stack((Y[..., 0, :] + Y[..., 1, :], Y[..., 0, :] - Y[..., 1, :]), axis=-2)
        h *= 2
    return X.reshape(*lead, N)


def fastfood_conv_relu_forward(X, K, signs, perm, gauss, scale, n_out):
    """relu(V), V[t] the Fastfood projection of patch t (X[t:t+K] flattened as im2col's row,
    zero-padded to N = signs.shape[1], a power of two): per block b,
    scale_b * H (gauss_b * (H (signs_b * p))[perm_b]), the blocks side by side, the first
    n_out outputs kept. signs, gauss, scale (n_blocks, N); perm (n_blocks, N) integers."""
    cols = im2col(X, K)
    n_blocks, N = signs.shape
    P = np.zeros((cols.shape[0], N), dtype=X.dtype)
    P[:, :cols.shape[1]] = cols
    V = [fwht(fwht(P * signs[b])[:, perm[b]] * gauss[b]) * scale[b] for b in range(n_blocks)]
    A = np.maximum(np.concatenate(V, axis=1)[:, :n_out], 0)
    return A, (X.shape, K, signs, perm, gauss, scale, A)


def fastfood_conv_relu_backward(dA, cache):
    """Each step's adjoint in reverse: H is symmetric, the gather by perm becomes a scatter
    (its transpose is its inverse), the diagonals stay."""
    x_shape, K, signs, perm, gauss, scale, A = cache
    n_blocks, N = signs.shape
    dY = np.where(A > 0, dA, 0).astype(dA.dtype, copy=False)
    dP = np.zeros((dA.shape[0], N), dtype=dA.dtype)
    for b in range(n_blocks):
        lo, hi = b * N, min(A.shape[1], (b + 1) * N)
        dV = np.zeros_like(dP)
        dV[:, :hi - lo] = dY[:, lo:hi] * scale[b, :hi - lo]
        dW = np.empty_like(dP)
        dW[:, perm[b]] = fwht(dV) * gauss[b]
        dP += fwht(dW) * signs[b]
    C = x_shape[1]
    dcols = dP[:, :K * C].reshape(dA.shape[0], K, C)
    dX = np.zeros(x_shape, dtype=dA.dtype)
    for k in range(K):  # col2im: tap k of output t read input row t + k
        dX[k:k + dA.shape[0]] += dcols[:, k, :]
    return dX


# --- Gram and losses ---------------------------------------------------------------------------

def gram_forward(A):
    """G = Aᵀ A / T': dividing by the frame count makes Grams of different lengths comparable."""
    return (A.T @ A) / A.shape[0], A


def gram_backward(dG, cache):
    A = cache
    return A @ (dG + dG.T) / A.shape[0]


def squared_error_forward(A, A_target, weight):
    """weight * ||A - A_target||_F^2: the style loss on Grams, the content loss on features."""
    diff = A - A_target
    return float(weight * np.sum(diff * diff)), (diff, weight)


def squared_error_backward(dL, cache):
    diff, weight = cache
    return (2 * weight * dL) * diff


style_loss_forward, style_loss_backward = squared_error_forward, squared_error_backward
content_loss_forward, content_loss_backward = squared_error_forward, squared_error_backward


def gram_style_loss_forward(A, G_target, weight):
    """Gram then style loss in one op (fast backends fuse them); the composition of the two."""
    G, g_cache = gram_forward(A)
    loss, l_cache = style_loss_forward(G, G_target, weight)
    return loss, (g_cache, l_cache)


def gram_style_loss_backward(dL, cache):
    g_cache, l_cache = cache
    return gram_backward(style_loss_backward(dL, l_cache), g_cache)


# --- the style loss without F x F matrices (docs/design.md §8) ------------------------------------

def gramfree_style_loss_forward(A, B, target_sq, weight):
    """weight * ||AᵀA/T' - BᵀB||_F^2, the Gram style loss with the style Gram given by a
    factor B (T_s x F: the style's activations / sqrt(T_s)) and target_sq = ||BᵀB||_F^2:
    ||AAᵀ||^2/T'^2 - 2||ABᵀ||^2/T' + target_sq, from T' x T' and T' x T_s matrices only."""
    T = A.shape[0]
    AA, AB = A @ A.T, A @ B.T
    sq = np.sum(np.square(AA, dtype=np.float64)) / T**2 - \
        2 * np.sum(np.square(AB, dtype=np.float64)) / T
    return float(weight * (sq + target_sq)), (A, B, AA, AB, weight)


def gramfree_style_loss_backward(dL, cache):
    """dA = weight (4/T'^2 (AAᵀ)A - 4/T' (ABᵀ)B)."""
    A, B, AA, AB, weight = cache
    T = A.shape[0]
    return (weight * dL) * ((4 / T**2) * (AA @ A) - (4 / T) * (AB @ B))


# --- temporal autocorrelation of each filter (docs/design.md §13) ---------------------------------

def autocorr_forward(A, n_lags):
    """R[k, n] = sum_{t < T'-k} A[t, n] A[t+k, n] / (T' - k) for lags k = 0..n_lags-1: each
    filter's mean product with itself k frames later, over the T'-k pairs that lag has (so
    clips of different lengths compare, as Grams divided by T' do). The direct sum; the fast
    backends take it through a zero-padded FFT where that is cheaper (kernels/autocorr_xp.py)."""
    T = A.shape[0]
    if not 0 < n_lags <= T:
        raise ValueError(f"autocorrelation needs 0 < n_lags <= rows ({T}), got {n_lags}")
    R = np.stack([np.sum(A[:T - k] * A[k:], axis=0) / (T - k) for k in range(n_lags)])
    return R.astype(A.dtype, copy=False), A


def autocorr_backward(dR, cache):
    """dA[t, n] = sum_k dR[k, n] / (T' - k) (A[t+k, n] + A[t-k, n]), rows outside A zero."""
    A = cache
    T = A.shape[0]
    dA = np.zeros_like(A)
    for k in range(dR.shape[0]):
        g = dR[k] / (T - k)
        dA[:T - k] += g * A[k:]
        dA[k:] += g * A[:T - k]
    return dA


def autocorr_loss_forward(A, R_target, weight):
    """weight * ||R(A) - R_target||_F^2 with R_target's lags (n_lags, F)."""
    R, a_cache = autocorr_forward(A, R_target.shape[0])
    loss, l_cache = squared_error_forward(R, R_target, weight)
    return loss, (a_cache, l_cache)


def autocorr_loss_backward(dL, cache):
    a_cache, l_cache = cache
    return autocorr_backward(squared_error_backward(dL, l_cache), a_cache)


# --- the long-term band spectrum (docs/design.md §14) ---------------------------------------

def band_power_forward(S, bands):
    """P[0, b] = mean over frames t of sum_f bands[b, f] M[t, f]^2, with M = expm1(S) the
    magnitudes under S = log1p(M) (the network's "logmag"): each band's mean power, (1, n_bands).
    ``bands`` (n_bands, n_bins) is a non-negative filterbank."""
    M = np.expm1(S)
    P = (M * M).mean(axis=0, keepdims=True) @ bands.T
    return P.astype(S.dtype, copy=False), (M, bands)


def band_power_backward(dP, cache):
    """dS[t, f] = 2/T M (1 + M) sum_b dP[0, b] bands[b, f]  (dM/dS = exp(S) = 1 + M)."""
    M, bands = cache
    return (2.0 / M.shape[0]) * M * (1 + M) * (dP @ bands)


def spectrum_loss_forward(S, bands, target, eps, weight):
    """weight * ||log(P(S) + eps) - target||^2: the band spectrum in decibels' units (each band
    counts alike, whatever its power), ``target`` (1, n_bands) the style's log(P + eps)."""
    P, p_cache = band_power_forward(S, bands)
    loss, l_cache = squared_error_forward(np.log(P + eps), target, weight)
    return loss, (p_cache, P + eps, l_cache)


def spectrum_loss_backward(dL, cache):
    p_cache, P_eps, l_cache = cache
    return band_power_backward(squared_error_backward(dL, l_cache) / P_eps, p_cache)


# --- the chroma content term (issue 29): the content's pitch classes frame by frame ----------

def _chroma_log(S, fb, eps, power=2):
    """Z[t, k] = log(Q[t, k] + eps) minus its mean over k, Q = M^power @ fb.T the frame's
    power (2) or magnitude (1, as chroma_cqt sums: quiet classes count more) by pitch class
    (M = expm1(S)): the shape of each frame's chroma, whatever its level."""
    M = np.expm1(S)
    Q_eps = (M * M if power == 2 else M) @ fb.T + eps
    L = np.log(Q_eps)
    return L - L.mean(axis=1, keepdims=True), (M, fb, Q_eps, power)


def chroma_loss_forward(S, fb, target, eps, weight, power=2):
    """weight * ||Z(S) - target||^2 (``_chroma_log``), ``target`` (T, n_chroma) the content's
    Z; ``fb`` (n_chroma, n_bins) a non-negative chroma filterbank; ``power`` 2 or 1."""
    if power not in (1, 2):
        raise ValueError(f"chroma power must be 1 or 2, got {power!r}")
    Z, z_cache = _chroma_log(S, fb, eps, power)
    loss, l_cache = squared_error_forward(Z.astype(S.dtype, copy=False), target, weight)
    return loss, (z_cache, l_cache)


def chroma_loss_backward(dL, cache):
    """dZ centred over k (the mean's gradient), / Q_eps, through fb and M^power: dS =
    2 M (1 + M) (dQ @ fb) for power 2, (1 + M) (dQ @ fb) for 1 (dM/dS = 1 + M)."""
    (M, fb, Q_eps, power), l_cache = cache
    dZ = squared_error_backward(dL, l_cache)
    dQ = (dZ - dZ.mean(axis=1, keepdims=True)) / Q_eps
    dM = 2 * M * (dQ @ fb) if power == 2 else dQ @ fb
    return ((1 + M) * dM).astype(M.dtype, copy=False)


def l1_forward(S, weight):
    """weight * sum |S|: the L1 penalty on a (log-magnitude) spectrogram."""
    return float(weight * np.sum(np.abs(S))), (S, weight)


def l1_backward(dL, cache):
    S, weight = cache
    return (weight * dL * np.sign(S)).astype(S.dtype, copy=False)


# --- mask separation: padded STFT of the mix, masks, inverse STFT (docs/design.md §7) -------------
# Complex spectra (T, n_bins) / (S, T, n_bins), S sources; signals (N,) / (S, N). The pair is
# a perfect-reconstruction STFT/iSTFT: n_fft // 2 zeros before the signal and enough after it
# that every sample sits well inside some frame, window-sum normalization in the inverse.

def mask_frames(n_samples, n_fft, hop_length):
    """(frames T, zeros before, padded length) of the mask STFT of n_samples."""
    if not 0 < hop_length <= n_fft // 2:
        raise ValueError(f"the mask STFT needs 0 < hop_length <= n_fft / 2, got {hop_length}")
    T = 1 + -(-n_samples // hop_length)
    return T, n_fft // 2, (T - 1) * hop_length + n_fft


def window_sum(window, hop_length, n_samples):
    """sum_t w[n - t*hop]^2 over the frames, at the signal's own samples (never ~0 there)."""
    T, before, length = mask_frames(n_samples, window.shape[0], hop_length)
    wss = overlap_add(np.tile(window * window, (T, 1)), length, hop_length)
    return wss[before:before + n_samples]


def mask_stft_forward(x, window, hop_length):
    n_fft = window.shape[0]
    T, before, length = mask_frames(x.shape[0], n_fft, hop_length)
    padded = np.zeros(length, dtype=x.dtype)
    padded[before:before + x.shape[0]] = x
    X = np.fft.rfft(frame(padded, n_fft, hop_length) * window, axis=1)
    return X.astype(np.result_type(x.dtype, np.complex64)), (x.shape[0], window, hop_length)


def mask_stft_backward(dX, cache):
    """dX = dL/dRe + 1j dL/dIm of the spectrum -> dL/dx (the rfft adjoint as in stft_fft)."""
    n_samples, window, hop_length = cache
    n_fft = window.shape[0]
    _, before, length = mask_frames(n_samples, n_fft, hop_length)
    spec = dX.copy()
    spec[:, 1:n_fft // 2] *= 0.5
    dframes = n_fft * np.fft.irfft(spec, n=n_fft, axis=1) * window
    dx = overlap_add(dframes, length, hop_length)[before:before + n_samples]
    return dx.astype(dX.real.dtype, copy=False)


def istft_forward(Y, window, hop_length, n_samples):
    """(S, T, n_bins) spectra -> (S, N) signals: windowed irfft frames, overlap-added and
    divided by the window sum; the inverse of mask_stft."""
    n_fft = window.shape[0]
    T, before, length = mask_frames(n_samples, n_fft, hop_length)
    wss = window_sum(window, hop_length, n_samples)
    frames = np.fft.irfft(Y, n=n_fft, axis=-1) * window
    y = np.stack([overlap_add(f, length, hop_length)[before:before + n_samples] / wss
                  for f in frames])
    return y.astype(Y.real.dtype, copy=False), (window, hop_length, n_samples, wss)


def istft_backward(dy, cache):
    """Adjoint of istft_forward: dL/dRe + 1j dL/dIm of each spectrum. irfft(Y)[n] is
    (1/n_fft) sum_k c_k Re(Y_k e^(2 pi i k n / n_fft)) with c_k = 2 for interior bins, 1 at DC
    and Nyquist, so its adjoint is c_k / n_fft * rfft."""
    window, hop_length, n_samples, wss = cache
    n_fft = window.shape[0]
    T, before, length = mask_frames(n_samples, n_fft, hop_length)
    padded = np.zeros((dy.shape[0], length), dtype=dy.dtype)
    padded[:, before:before + n_samples] = dy / wss
    frames = np.stack([frame(p, n_fft, hop_length) for p in padded]) * window
    c = np.full(n_fft // 2 + 1, 2.0 / n_fft)
    c[0] = c[-1] = 1.0 / n_fft
    return (np.fft.rfft(frames, axis=-1) * c).astype(np.result_type(dy.dtype, np.complex64))


def mask_apply_forward(M, X):
    """Y_i = M_i * X: real masks (S, T, n_bins) on the mix spectrum (T, n_bins)."""
    return M * X, X


def mask_apply_backward(dY, cache):
    """dL/dM_i = Re(conj(X) dY_i), dY = dL/dRe + 1j dL/dIm."""
    X = cache
    return (X.real * dY.real + X.imag * dY.imag).astype(dY.real.dtype, copy=False)


def box_smooth_forward(U, frames, bins):
    """Mean of every source's logits (S, T, n_bins) over the odd frames x bins box centred on
    each point, zeros beyond the edges (scipy.ndimage.uniform_filter, mode "constant"). A
    centred box is a symmetric matrix: the op is its own adjoint."""
    if frames % 2 == 0 or bins % 2 == 0:
        raise ValueError(f"the box must have odd sides, got {frames} x {bins}")
    V = U
    for axis, size in ((1, frames), (2, bins)):
        if size > 1:
            pad = [(0, 0)] * 3
            pad[axis] = (size // 2, size // 2)
            V = sliding_window_view(np.pad(V, pad), size, axis=axis).mean(axis=-1)
    return V, (frames, bins)


def box_smooth_backward(dV, cache):
    return box_smooth_forward(dV, *cache)[0]


def softmax_forward(U):
    """Masks M = softmax over the sources (axis 0) of logits U (S, T, n_bins)."""
    E = np.exp(U - U.max(axis=0, keepdims=True))
    M = E / E.sum(axis=0, keepdims=True)
    return M, M


def softmax_backward(dM, cache):
    M = cache
    return M * (dM - np.sum(M * dM, axis=0, keepdims=True))


# --- dictionary separation: beta-divergence NMF, multiplicative updates
# (docs/results/separation.md)
# V (T, n_bins) >= 0, a magnitude spectrogram, rows = frames; V ~ A @ D with activations
# A (T, k) and dictionary D (k, n_bins), one row per atom: scikit-learn's orientation
# (X ~ W H, rows = samples), so nmf_activations_step is its _multiplicative_update_w and
# nmf_dictionary_step its _multiplicative_update_h, epsilon handling included. Not forward /
# backward pairs: fixed-point steps (Fevotte & Idier 2011), each a new factor in V's dtype.

NMF_EPS = float(np.finfo(np.float32).eps)  # scikit-learn's floor of the model A @ D


def nmf_gamma(beta):
    """Exponent of the majorization-minimization step: 1 for beta in [1, 2]."""
    return 1.0 / (2.0 - beta) if beta < 1 else 1.0 / (beta - 1.0) if beta > 2 else 1.0


def _nmf_terms(V, A, D, beta):
    """(V * L^(beta-2), L^(beta-1)) for the model L = A @ D, L floored at NMF_EPS where a
    negative power would meet a zero; the second is None for KL (beta = 1: all ones)."""
    L = A @ D
    safe = np.maximum(L, V.dtype.type(NMF_EPS)) if beta < 2 else L
    ratio = V / safe if beta == 1 else V * safe ** V.dtype.type(beta - 2)
    if beta == 1:
        return ratio, None
    low = np.maximum(L, V.dtype.type(NMF_EPS)) if beta < 1 else L
    return ratio, low ** V.dtype.type(beta - 1)


def nmf_weights(l1, dtype):
    """A weight as the update applies it (L1, continuity): a scalar, or one weight per atom
    (a (k,) array on the backend) as a row."""
    return dtype.type(l1) if np.ndim(l1) == 0 else l1.astype(dtype)[None, :]


def _nmf_scale(F, numer, denom, beta, l1):
    """F * (numer / (denom + l1)) ** gamma, a zero denominator read as NMF_EPS."""
    denom = denom + nmf_weights(l1, F.dtype)
    denom[denom == 0] = NMF_EPS
    step = numer / denom
    gamma = nmf_gamma(beta)
    return F * (step if gamma == 1 else step ** F.dtype.type(gamma))


def nmf_continuity_terms(A, weight):
    """(positive, negative) parts of the gradient of Virtanen's (2007) temporal continuity
    cost weight * mean(A) * sum_k sum_t (a_tk - a_t-1,k)^2 / sigma_k^2, sigma_k^2 =
    sum_t a_tk^2 / T, mean(A) held constant (it puts the cost on the data term's scale: with
    unit-sum atoms KL's gradient is O(1) per activation); weight a scalar or one per atom.
    Each frame has two neighbours, the first and last one."""
    T = A.shape[0]
    s = np.maximum((A * A).sum(axis=0), A.dtype.type(1e-30))[None, :]
    scale = nmf_weights(weight, A.dtype) * A.mean() * A.dtype.type(2 * T)
    near = np.zeros_like(A)
    near[1:] += A[:-1]
    near[:-1] += A[1:]
    count = np.full((T, 1), 2, dtype=A.dtype)
    count[0] = count[-1] = 1 if T > 1 else 0
    change = ((A[1:] - A[:-1]) ** 2).sum(axis=0)[None, :]
    return scale * count * A / s, scale * (near / s + A * change / (s * s))


def nmf_activations_step(V, A, D, beta, l1=0.0, continuity=0.0):
    """A's multiplicative update with D fixed; l1 >= 0 a sparsity penalty l1 * sum(A) (or
    sum_k l1_k sum_t a_tk with l1 a (k,) array),
    continuity >= 0 the weight of nmf_continuity_terms' cost."""
    ratio, power = _nmf_terms(V, A, D, beta)
    denom = D.sum(axis=1)[None, :] if power is None else power @ D.T
    numer = ratio @ D.T
    if np.ndim(continuity) or continuity:
        plus, minus = nmf_continuity_terms(A, continuity)
        numer, denom = numer + minus, denom + plus
    A = _nmf_scale(A, numer, denom, beta, l1)
    if beta < 1:  # scikit-learn's guard against underflowing atoms
        A[A < np.finfo(np.float64).eps] = 0
    return A


def nmf_dictionary_step(V, A, D, beta):
    """D's multiplicative update with A fixed."""
    ratio, power = _nmf_terms(V, A, D, beta)
    denom = A.sum(axis=0)[:, None] if power is None else A.T @ power
    D = _nmf_scale(D, A.T @ ratio, denom, beta, 0.0)
    if beta <= 1:
        D[D < np.finfo(np.float64).eps] = 0
    return D


def nmf_model_power(A, D, power):
    """(A @ D) ** power, floored at 1e-30 so that every Wiener denominator is positive."""
    P = (A @ D) ** A.dtype.type(power)
    return np.maximum(P, A.dtype.type(1e-30))


def wiener_apply(P, total, X):
    """The source spectrum P / total * X: its power model over the sum of all sources'."""
    return (P / total) * X


interface.check(sys.modules[__name__])  # a missing op fails here, at import
