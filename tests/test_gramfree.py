"""The Gram-free style loss (docs/design.md §8): the same loss as the dense Gram one, checked
against finite differences, against numpy_ref on every fast backend, and through the objective's
choice between the two paths."""

import numpy as np
import pytest
from conftest import CUDA_TESTABLE, emulated
from helpers import SMALL, TINY, numeric_grad, rel_error
from test_gradcheck import check_op
from test_parity import DTYPES, pair

from randstyle import engine
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.model import style_target
from randstyle.kernels import cpu, cuda, numpy_ref

BACKENDS = [numpy_ref, cpu] + ([cuda] if CUDA_TESTABLE else [])


def _style(rows, F, seed=0):
    """(B, ||BᵀB||², BᵀB) of random nonnegative "activations" of ``rows`` frames."""
    S = np.maximum(np.random.default_rng(seed).standard_normal((rows, F)), 0)
    B = S / np.sqrt(rows)
    G = B.T @ B
    return B, float(np.sum(G * G)), G


@pytest.mark.parametrize("T,T_s,F", [(7, 9, 12), (3, 40, 5), (16, 2, 30)])
def test_reference_equals_dense_loss(T, T_s, F):
    """The identity itself, in float64: loss and gradient of the Gram-free op equal the dense
    Gram loss's (which numpy_ref keeps unchanged as the readable spec)."""
    A = np.maximum(np.random.default_rng(1).standard_normal((T, F)), 0)
    B, sq, G = _style(T_s, F)
    dense, c_dense = numpy_ref.gram_style_loss_forward(A, G, 0.3)
    free, c_free = numpy_ref.gramfree_style_loss_forward(A, B, sq, 0.3)
    assert abs(free - dense) < 1e-12 * abs(dense)
    assert rel_error(numpy_ref.gramfree_style_loss_backward(2.0, c_free),
                     numpy_ref.gram_style_loss_backward(2.0, c_dense)) < 1e-12


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda m: m.name)
def test_gramfree_finite_differences(backend):
    B, sq, _ = _style(9, 14, seed=2)
    A = np.random.default_rng(3).standard_normal((6, 14))  # signs too: the op is a polynomial
    check_op(backend.gramfree_style_loss_forward, backend.gramfree_style_loss_backward,
             A, B, sq, 0.7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,T_s,F", [(60, 150, 96), (200, 40, 300), (5, 3, 1000)])
def test_gramfree_parity(fast, dtype, T, T_s, F):
    rng = np.random.default_rng(4)
    A = np.maximum(rng.standard_normal((T, F)), 0).astype(dtype)
    B, sq, _ = _style(T_s, F)
    pair(fast, "gramfree_style_loss", (A, B.astype(dtype), sq, 0.3), dtype)


def test_objective_chooses_by_flops_and_agrees_with_dense(fast):
    """A short style keeps its factor and runs Gram-free; the dense path on the same Grams
    gives the same loss and gradient (float64); a style too long to pay keeps no factor.
    On each fast backend: the cuda one makes the same choice, its GEMMs through cuBLAS."""
    cfg = engine.NetworkConfig(**{**SMALL, "n_filters": 512, "rhythm_filters": 384},
                               dtype="float64")
    net = engine.Network(cfg, backend=fast.name)
    sr = cfg.sr
    content, style = plucked_melody(1.0, sr), drum_loop(1.5, sr)
    free = engine.Objective(net, content=content, style=style)
    dense = engine.Objective(net, content=content, style_grams=free.style_grams)
    x = content + np.random.default_rng(0).standard_normal(len(content)) * 0.05
    (t_free, g_free), (t_dense, g_dense) = free.terms_and_grad(x), dense.terms_and_grad(x)
    assert free.style_algorithms == {"harmonic": "gramfree", "rhythm": "gramfree"}
    assert dense.style_algorithms == {"harmonic": "dense", "rhythm": "dense"}
    for term in ("style_harmonic", "style_rhythm", "total"):
        assert abs(t_free[term] - t_dense[term]) < 1e-10 * abs(t_dense[term]), term
    assert rel_error(g_free, g_dense) < 1e-10
    # The factor's Gram is the chunk-accumulated Gram.
    target = free.style_targets["harmonic"][0]
    factor, gram = fast.to_numpy(target.factor), fast.to_numpy(target.gram)
    assert rel_error(factor.T @ factor, gram) < 1e-12
    # 1.5 s of style at hop 64 is ~170 rows: at F = 128 filters that cannot pay.
    narrow = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"), backend=fast.name)
    assert narrow.style_targets(style, ("harmonic",))["harmonic"][0].factor is None
    assert engine.Objective(narrow, style=style).value_and_grad(x)[0] > 0


def test_gramfree_chosen_only_when_cheaper():
    F, T_s = 4096, 1282  # the default network, 30 s of style
    t = style_target.StyleTarget(np.zeros((F, F), np.float32), np.zeros((T_s, F), np.float32))
    assert t.use_factor(420)  # 10 s of content
    assert not t.use_factor(3000)  # a long result: the dense path is cheaper
    assert style_target.gramfree_flops(420, T_s, F) < style_target.dense_flops(420, F)


def test_style_term_picks_by_flops_and_both_ways_agree():
    """style_term, the one choice both objectives (Objective, StatsObjective) make: Gram-free
    where the target's factor pays for A's rows, dense otherwise or without a factor; the
    same loss and gradient either way."""
    rng = np.random.default_rng(5)
    F, T_s = 64, 6
    S = rng.standard_normal((T_s, F))
    factor = S / np.sqrt(T_s)
    with_factor = style_target.finish(np, factor.T @ factor, factor)
    dense_only = style_target.finish(np, factor.T @ factor, None)
    for T, want in ((3, "gramfree"), (400, "dense")):
        A = np.maximum(rng.standard_normal((T, F)), 0)
        loss, dA, algorithm = style_target.style_term(numpy_ref, A, with_factor, 0.7)
        ref_loss, ref_dA, ref_algorithm = style_target.style_term(numpy_ref, A, dense_only, 0.7)
        assert (algorithm, ref_algorithm) == (want, "dense")
        assert rel_error(float(loss), float(ref_loss)) < 1e-12
        assert rel_error(dA, ref_dA) < 1e-12


def test_objective_switches_to_dense_for_a_long_result():
    """The choice is per evaluation, on the result's length too: a short style keeps its
    factor, a short result runs Gram-free, a result long enough that 3T'² + 4T'T_s > 3T'F
    runs the dense loss (same value as an objective holding only the Grams). Fails if the
    objective runs Gram-free wherever a factor is kept."""
    cfg = engine.NetworkConfig(**{**SMALL, "n_filters": 256, "rhythm_filters": 256},
                               dtype="float64")
    net = engine.Network(cfg, backend="numpy")
    free = engine.Objective(net, style=drum_loop(0.5, cfg.sr))
    dense = engine.Objective(net, style_grams=free.style_grams)
    rng = np.random.default_rng(6)
    for seconds, want in ((1.0, "gramfree"), (3.0, "dense")):
        x = plucked_melody(seconds, cfg.sr) + rng.standard_normal(int(seconds * cfg.sr)) * 0.05
        value = free.value_and_grad(x)[0]
        assert free.style_algorithms == {"harmonic": want, "rhythm": want}, seconds
        assert abs(value - dense.value_and_grad(x)[0]) < 1e-10 * value


def test_style_targets_chunked_and_mixed():
    """Chunking leaves the factor's rows whole; a weighted mix of two styles stacks their
    factors with sqrt(weight), so its Gram is the weighted sum of their Grams (the factors
    uncut: --style-factor-tol 0)."""
    cfg = engine.NetworkConfig(**{**TINY, "n_filters": 1024, "rhythm_filters": 1024},
                               dtype="float64", style_factor_tol=0.0)
    net = engine.Network(cfg, backend="numpy")
    a, b = drum_loop(0.25, cfg.sr), plucked_melody(0.2, cfg.sr)
    whole = net.style_targets(a, ("harmonic", "rhythm"), chunk_frames=10_000)
    assert whole["harmonic"][0].factor.shape == (1 + (2000 - 32) // 8 - 2, 1024)
    for chunk in (7, 40):
        parts = net.style_targets(a, ("harmonic", "rhythm"), chunk_frames=chunk)
        for name in whole:
            assert np.allclose(parts[name][0].factor, whole[name][0].factor, atol=1e-12)
    tb = net.style_targets(b, ("harmonic",))["harmonic"]
    mix = style_target.combine(np, [(whole["harmonic"], 0.7), (tb, 0.3)])[0]
    expected = 0.7 * whole["harmonic"][0].gram + 0.3 * tb[0].gram
    assert rel_error(mix.factor.T @ mix.factor, expected) < 1e-12
    assert abs(mix.gram_sq - np.sum(expected ** 2)) < 1e-12 * mix.gram_sq
    assert style_target.combine(np, [(tb, 1.0)])[0] is tb[0]  # one style: kept, not copied


def test_gramfree_gradient_of_whole_objective():
    """dL/dx of an objective on the Gram-free path against central differences (float64)."""
    cfg = engine.NetworkConfig(**{**TINY, "n_filters": 64, "rhythm_filters": 48},
                               dtype="float64")
    net = engine.Network(cfg, backend="cpu")
    style = drum_loop(0.03, cfg.sr)  # 27 frames: few enough rows for the factor to pay
    obj = engine.Objective(net, style=style)
    x = np.random.default_rng(5).standard_normal(120) * 0.3
    value, grad = obj.value_and_grad(x)
    assert obj.style_algorithms == {"harmonic": "gramfree", "rhythm": "gramfree"}
    num = numeric_grad(lambda v: obj.value_and_grad(v)[0], x)
    assert rel_error(grad, num) < 1e-6


@pytest.mark.parametrize("style_seconds,want", [(0.5, "gramfree"), (6.0, "dense")])
def test_transfer_runs_the_algorithm_the_flop_count_picks(style_seconds, want):
    """engine.transfer (the CLI's path) hands the objective the style's factor where it pays:
    a short style runs Gram-free, a long one keeps the dense Gram. Fails if the run's targets
    lose their factors (the dense path everywhere) or keep them regardless of length."""
    sr, cfg = 8000, dict(n_fft=256, hop_length=64, n_filters=256, rhythm_filters=256,
                         rhythm_kernel_size=10, maxiter=2, progress=False, backend="numpy")
    content, style = plucked_melody(0.5, sr), drum_loop(style_seconds, sr)
    x, report = engine.transfer(content, style, sr=sr, style_kind="none", **cfg)  # one net
    assert report["style_algorithms"] == {"harmonic": want, "rhythm": want}
    assert np.isfinite(x).all()


def _low_rank_rows(T_s=120, F=64, rank=12, seed=0):
    """Rows of nearly low rank: a strong rank-``rank`` part plus a faint full-rank one, as
    ReLU features of music are (a few directions hold most of the Gram)."""
    rng = np.random.default_rng(seed)
    strong = rng.standard_normal((T_s, rank)) @ rng.standard_normal((rank, F))
    return strong + 1e-3 * rng.standard_normal((T_s, F))


@pytest.mark.parametrize("tol", [1e-2, 1e-4])
def test_a_cut_factor_keeps_the_gram_within_tol(tol):
    """compress_factor: fewer rows, B'ᵀB' within tol of BᵀB (relative Frobenius) and not
    exact (it really cut); tol 0 keeps B itself."""
    B = _low_rank_rows()
    cut, cut_sq = style_target.compress_factor(np, B, tol)
    G, Gc = B.T @ B, cut.T @ cut
    err = np.linalg.norm(Gc - G) / np.linalg.norm(G)
    assert cut.shape[0] < 0.5 * B.shape[0] and 0 < err <= tol, (cut.shape, err)
    assert rel_error(cut_sq, np.sum(Gc ** 2)) < 1e-10  # the Gram-free loss's constant
    assert style_target.compress_factor(np, B, 0.0) == (B, None)


def test_the_cut_target_is_one_target_for_both_losses():
    """finish() with a tolerance: the Gram becomes the cut factor's, so the Gram-free and
    dense losses (and gradients) agree to rounding; the loss against the cut target is
    within the tolerance's reach of the exact one."""
    B = _low_rank_rows() / np.sqrt(120)
    A = _low_rank_rows(T_s=30, seed=1) * 0.9
    exact = style_target.finish(np, B.T @ B, B)
    cut = style_target.finish(np, B.T @ B, B, 1e-4)
    assert cut.factor.shape[0] < B.shape[0]
    loss_free, g_free = numpy_ref.gramfree_style_loss_forward(A, cut.factor, cut.gram_sq, 1.0)
    loss_dense, g_dense = numpy_ref.gram_style_loss_forward(A, cut.gram, 1.0)
    assert rel_error(float(loss_free), float(loss_dense)) < 1e-9
    assert rel_error(numpy_ref.gramfree_style_loss_backward(1.0, g_free),
                     numpy_ref.gram_style_loss_backward(1.0, g_dense)) < 1e-9
    loss_exact = numpy_ref.gram_style_loss_forward(A, exact.gram, 1.0)[0]
    assert rel_error(float(loss_free), float(loss_exact)) < 1e-2


@pytest.mark.skipif(not CUDA_TESTABLE, reason="the cuda backend cannot run here")
def test_a_cut_factor_on_cuda_matches_numpy():
    B = _low_rank_rows()
    got = cuda.to_numpy(style_target.compress_factor(cuda.xp, cuda.asarray(B), 1e-3)[0])
    want = style_target.compress_factor(np, B, 1e-3)[0]
    assert got.shape == want.shape
    # eigenvectors are defined up to sign: compare the Grams they make
    assert rel_error(got.T @ got, want.T @ want) < 1e-9


def test_a_long_style_runs_on_a_cut_factor():
    """A real objective with the default tolerance: its style factor has fewer rows than
    the style has frames, and its loss is within reach of the uncut objective's."""
    cfg = dict(**{**SMALL, "n_filters": 1024, "rhythm_filters": 256}, dtype="float64")
    style, x = drum_loop(2.0, 8000), plucked_melody(1.0, 8000)
    objs = [engine.Objective(engine.Network(engine.NetworkConfig(**cfg, style_factor_tol=t),
                                            backend="numpy"), style=style) for t in (1e-4, 0)]
    rows = [o.style_targets["harmonic"][-1].factor.shape[0] for o in objs]
    assert rows[0] < rows[1], rows
    (value, grad), (exact, exact_grad) = (o.value_and_grad(x) for o in objs)
    assert rel_error(value, exact) < 1e-4 and rel_error(grad, exact_grad) < 1e-4


def near_target(distance_noise: float, T: int = 200, F: int = 256, seed: int = 0):
    """ReLU activations A (float64) and a style factor B whose Gram is near AᵀA/T: the
    relative Gram distance grows with ``distance_noise``."""
    rng = np.random.default_rng(seed)
    A = np.maximum(rng.standard_normal((T, F)), 0)
    B = np.maximum(A + distance_noise * rng.standard_normal((T, F)), 0) / np.sqrt(T)
    Gs = B.T @ B
    distance = np.linalg.norm(A.T @ A / T - Gs) / np.linalg.norm(Gs)
    return A, B, float(np.sum(Gs * Gs)), distance


@emulated
@pytest.mark.parametrize("dL", [1.0, 2.5])
def test_gramfree_backward_on_cuda_matches_numpy_ref_for_any_dl(dL):
    """The dL != 1 branch of the Gram-free backward (scaled in place) against numpy_ref."""
    from helpers import rel_error
    A, B, target_sq, _ = near_target(0.3, T=30, F=12)
    ref = numpy_ref.gramfree_style_loss_backward(
        dL, numpy_ref.gramfree_style_loss_forward(A, B, target_sq, 0.7)[1])
    got = cuda.gramfree_style_loss_backward(
        dL, cuda.gramfree_style_loss_forward(A.copy(), B.copy(), target_sq, 0.7)[1])
    assert rel_error(got, ref) < 1e-12
