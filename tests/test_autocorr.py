"""The autocorrelation style term (docs/design.md §13): the FFT form against the direct sum, the
style's R accumulated over chunks, the objective's gradient with the term, a texture and a
transfer with it end to end, and its options refused in one line (separate refusing the
term: tests/test_validators.py, test_each_remaining_validator_rejects_what_it_must)."""
import numpy as np
import pytest
from conftest import CUDA_TESTABLE
from helpers import SMALL, TINY, check_objective, objectives_agree, rel_error, sine, write

from randstyle import engine
from randstyle.engine.cli import main
from randstyle.engine.demo import drum_loop
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.autocorr import autocorr_target, lags_for
from randstyle.kernels import autocorr_xp, cpu, cuda, numpy_ref

FAST = [cpu] + ([cuda] if CUDA_TESTABLE else [])
rng = np.random.default_rng(20)


@pytest.mark.parametrize("fast", FAST, ids=lambda m: m.name)
@pytest.mark.parametrize("T,n_lags", [(50, 50), (50, 49), (200, 40), (64, 1), (3, 2)])
def test_fft_form_equals_the_direct_sum(fast, T, n_lags):
    """float64: the padded FFT (linear correlation) gives the direct sum, forward and
    backward, including the longest lag (where a circular one would wrap)."""
    A = np.maximum(rng.standard_normal((T, 7)), 0)
    dR = rng.standard_normal((n_lags, 7))
    by_fft, c_fft = fast.autocorr_forward(fast.asarray(A), n_lags, True)
    direct, c_direct = fast.autocorr_forward(fast.asarray(A), n_lags, False)
    assert rel_error(fast.to_numpy(by_fft), fast.to_numpy(direct)) < 1e-13
    assert rel_error(fast.to_numpy(by_fft), numpy_ref.autocorr_forward(A, n_lags)[0]) < 1e-13
    assert rel_error(fast.to_numpy(fast.autocorr_backward(fast.asarray(dR), c_fft)),
                     fast.to_numpy(fast.autocorr_backward(fast.asarray(dR), c_direct))) < 1e-13


def test_definition_by_hand():
    """R[k] is the mean of A[t] A[t+k] over the T - k pairs of lag k."""
    A = np.array([[1.0], [2.0], [3.0], [4.0]])
    R = numpy_ref.autocorr_forward(A, 3)[0][:, 0]
    assert list(R) == [(1 + 4 + 9 + 16) / 4, (2 + 6 + 12) / 3, (3 + 8) / 2]


def test_the_fft_is_picked_where_it_is_cheaper():
    assert autocorr_xp.uses_fft(400, 40) and not autocorr_xp.uses_fft(400, 2)
    assert autocorr_xp.fft_size(163, 50) >= 163 + 49


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("n_resid", [0, 2])
def test_chunked_target_equals_the_whole_clip(backend, n_resid):
    """R of a style accumulated over chunks of rows equals R of all its rows at once, the
    residual blocks' reach included (so the pairs across chunk edges are each counted once)."""
    cfg = engine.NetworkConfig(**{**SMALL, "rhythm_filters": 16, "resid_kernel_size": 5},
                               n_resid=n_resid, dtype="float64")
    net = engine.Network(cfg, backend=backend)
    x = drum_loop(3.0, SMALL["sr"]).astype(np.float64)
    acts = engine.Network(cfg).features(x, ("rhythm",))["rhythm"]
    whole = [numpy_ref.autocorr_forward(A, 12)[0] for A in acts]
    for chunk in (30, 47, 100_000):
        got = autocorr_target(net, x, "rhythm", 12, chunk_frames=chunk)
        assert len(got) == len(whole) == 1 + n_resid
        for g, w in zip(got, whole):
            assert rel_error(g, w) < 1e-12


def test_lags_are_capped_at_the_shortest_signal():
    net = engine.Network(engine.NetworkConfig(**SMALL))
    rows = engine.signal.n_frames(2000, 256, 64) - SMALL["rhythm_kernel_size"] + 1
    assert rows < 40 and lags_for(net, 40, "rhythm", [2000, 16000]) == rows
    assert lags_for(net, 5, "rhythm", [8000, 16000]) == 5


@pytest.mark.parametrize("backend", ["numpy", "cpu"] + (["cuda"] if CUDA_TESTABLE else []))
@pytest.mark.parametrize("branches", [("rhythm",), ("rhythm", "harmonic")])
def test_objective_gradient_with_the_term(backend, branches):
    """Finite differences of the whole balanced objective with the autocorrelation term,
    with and without content; the term is reported on its own."""
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64", n_resid=1),
                         backend=backend)
    for content in (None, rng.standard_normal(120) * 0.3):
        obj = engine.Objective(net, content=content, style=rng.standard_normal(200) * 0.3,
                               rhythm_weight=0.7, autocorr_weight=1.5, autocorr_lags=4,
                               autocorr_branches=branches)
        x = rng.standard_normal(120) * 0.3
        factors = obj.balance(x * 0.1)
        assert {f"autocorr_{b}" for b in branches} <= set(factors)
        terms = check_objective(obj, x)
        assert all(terms[f"autocorr_{b}"] > 0 for b in branches)


def test_the_term_is_zero_at_the_style_and_balanced_like_the_grams():
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"))
    style = rng.standard_normal(200) * 0.3
    obj = engine.Objective(net, style=style, autocorr_weight=2.0, autocorr_lags=6)
    assert obj.terms_and_grad(style)[0]["autocorr_rhythm"] < 1e-20
    x0 = rng.standard_normal(200) * 0.01
    obj.balance(x0)
    unit = engine.Objective(net, style=style, autocorr_weight=1.0, autocorr_lags=6)
    unit.balance(x0)  # the factor makes the unit term's gradient norm the harmonic term's
    assert obj.style_weights["autocorr_rhythm"] == pytest.approx(
        2.0 * unit.style_weights["autocorr_rhythm"])


def test_texture_and_transfer_run_with_the_term():
    sr = SMALL["sr"]
    style = drum_loop(2.0, sr)
    x, report = engine.texture(style, seconds=1.0, maxiter=4, progress=False, backend="cpu",
                               autocorr_weight=1.0, autocorr_lags=30, **SMALL)
    assert len(x) == sr and np.all(np.isfinite(x))
    keys = {f"autocorr_rhythm_{i}" for i in range(3)}
    assert keys <= set(report["style_weights"]), report["style_weights"]
    first, last = report["iterations"][0], report["iterations"][-1]
    assert first["autocorr_rhythm"] > 0 and last["autocorr_rhythm"] < first["autocorr_rhythm"]
    not_terms = ("iter", "time_s", "nfev", "style", "total")
    assert report["final_loss"]["total"] == pytest.approx(sum(
        v for k, v in report["final_loss"].items() if k not in not_terms))
    # One network (the default's choice would add two style members under this drum style)
    _, rep = engine.transfer(sine(1.0, sr), style, maxiter=3, progress=False, backend="cpu",
                             autocorr_weight=1.0, autocorr_branches="rhythm,harmonic",
                             style_kind="none", **SMALL)
    assert {"autocorr_rhythm", "autocorr_harmonic"} <= set(rep["style_weights"])


@pytest.mark.parametrize("flags,message", [
    (["--autocorr-lags", "-3"], "--autocorr-lags must be positive"),
    (["--autocorr-lags", "0"], "--autocorr-lags must be positive"),
    (["--autocorr-weight", "-1"], "--autocorr-weight must be >= 0"),
    (["--autocorr-branches", "content"], "--autocorr-branches must name rhythm"),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys, flags, message):
    style = write(tmp_path / "s.wav", sine(1.0, 8000, 200.0), 8000)
    out = tmp_path / "t.wav"
    code = main(["texture", style, "--seconds", "0.5", "-o", str(out), "--quiet", *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()


def test_a_signal_shorter_than_the_lags_is_refused():
    net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"))
    obj = engine.Objective(net, style=rng.standard_normal(400) * 0.3, autocorr_weight=1.0,
                           autocorr_lags=20)
    with pytest.raises(ParameterError, match="autocorrelation lags"):
        obj.terms_and_grad(rng.standard_normal(120))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_whole_objective_with_the_term_matches_numpy_ref(fast, dtype):
    """The fast backends' objective with the term (its FFT form at these sizes) against
    numpy_ref's (the direct sum), at test_parity's tolerances."""
    sr = SMALL["sr"]
    cfg = engine.NetworkConfig(**SMALL, dtype=dtype)
    style = drum_loop(2.0, sr)
    rows = engine.signal.n_frames(sr, 256, 64) - SMALL["rhythm_kernel_size"] + 1
    assert autocorr_xp.uses_fft(rows, 40)  # the fast side runs the FFT form
    objectives_agree(lambda backend: engine.Objective(
        engine.Network(cfg, backend=backend), style=style, autocorr_weight=2.0,
        autocorr_lags=40, autocorr_branches=("rhythm", "harmonic")),
        (numpy_ref.name, fast.name), np.random.default_rng(5).standard_normal(sr) * 0.05,
        ("autocorr_rhythm", "autocorr_harmonic", "total"), dtype)
