"""The cuda backend's path without a GPU (issue 21, findings 1-6): TF32 near convergence,
separation on the device, the compile and import failures, the device memory check. Each
runs through the host emulation (tests/conftest.py) where no GPU answers."""
import types

import numpy as np
import pytest
from conftest import CUDA_TESTABLE, GPU

from kernels import cuda, numpy_ref

emulated = pytest.mark.skipif(GPU or not CUDA_TESTABLE,
                              reason="host emulation runs only where no GPU answers (and g++ "
                                     "is present)")


# --- finding 1: TF32 and the Gram-free style loss ---------------------------------------------

def near_target(distance_noise: float, T: int = 200, F: int = 256, seed: int = 0):
    """ReLU activations A (float64) and a style factor B whose Gram is near AᵀA/T: the
    relative Gram distance grows with ``distance_noise``."""
    rng = np.random.default_rng(seed)
    A = np.maximum(rng.standard_normal((T, F)), 0)
    B = np.maximum(A + distance_noise * rng.standard_normal((T, F)), 0) / np.sqrt(T)
    Gs = B.T @ B
    distance = np.linalg.norm(A.T @ A / T - Gs) / np.linalg.norm(Gs)
    return A, B, float(np.sum(Gs * Gs)), distance


def test_tf32_rounding_keeps_10_mantissa_bits():
    x = np.array([1 + 2**-10, 1 + 2**-11 + 2**-12, 1 + 2**-12, 3.0], dtype=np.float32)
    assert list(cuda.tf32_round(x)) == [1 + 2**-10, 1 + 2**-10, 1.0, 3.0]


@pytest.mark.skipif(not CUDA_TESTABLE, reason="the cuda backend cannot run here")
@pytest.mark.parametrize("noise", [0.3, 0.002, 0.001], ids=["far", "near", "nearer"])
def test_gramfree_loss_stays_accurate_under_tf32(noise):
    """Under tf32() (on a GPU, TF32 tensor cores; in the emulation, every product's float32
    inputs rounded to 10 bits) the Gram-free loss and gradient stay within float32's own
    error of the float64 reference, from far (28 % Gram distance) to near the target (0.2 %,
    0.1 %). With TF32 products the loss was off by 22 % at 0.3 % and by 80x at 0.03 %."""
    A, B, target_sq, distance = near_target(noise)
    assert distance < 0.0025 or noise == 0.3
    ref, cache = numpy_ref.gramfree_style_loss_forward(A, B, target_sq, 1.0)
    ref_grad = numpy_ref.gramfree_style_loss_backward(1.0, cache)
    with cuda.tf32():
        assert cuda._tf32_emulated or GPU
        loss, cache = cuda.gramfree_style_loss_forward(cuda.asarray(A, np.float32),
                                                       cuda.asarray(B, np.float32), target_sq,
                                                       1.0)
        grad = cuda.to_numpy(cuda.gramfree_style_loss_backward(1.0, cache))
    assert not cuda._tf32_emulated  # restored
    assert abs(float(loss) - ref) < 2e-2 * ref, (distance, float(loss), ref)
    assert np.max(np.abs(grad - ref_grad)) < 1e-2 * np.max(np.abs(ref_grad))


@emulated
def test_tf32_model_moves_the_other_products():
    """The emulated TF32 is real: a conv GEMM under tf32() differs from full float32 by
    TF32's rounding (and set_tf32 turns it on and off process-wide)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 8)).astype(np.float32)
    W = rng.standard_normal((3, 8, 16)).astype(np.float32)
    full = cuda.conv1d_forward(X, W)[0]
    with cuda.tf32():
        rounded = cuda.conv1d_forward(X, W)[0]
    effect = np.max(np.abs(rounded - full)) / np.max(np.abs(full))
    assert 1e-5 < effect < 1e-2
    cuda.set_tf32(True)
    try:
        assert np.array_equal(cuda.conv1d_forward(X, W)[0], rounded)
    finally:
        cuda.set_tf32(False)
    assert np.array_equal(cuda.conv1d_forward(X, W)[0], full)


# --- finding 6: compile failures and import failures ------------------------------------------

class FailingModule:
    compiles = 0

    def __init__(self, code, options):
        self.options = options

    def compile(self):
        FailingModule.compiles += 1
        raise RuntimeError("NVRTC_ERROR_COMPILATION (6)\nops.cu(12): error")


def test_a_failed_compile_is_not_kept(monkeypatch):
    """The second call compiles again and fails again: it never returns the module whose
    compile() raised."""
    monkeypatch.setattr(cuda, "cupy", types.SimpleNamespace(RawModule=FailingModule))
    monkeypatch.setattr(cuda, "_module", None)
    FailingModule.compiles = 0
    for _ in range(2):
        with pytest.raises(RuntimeError, match="NVRTC_ERROR"):
            cuda._compile()
    assert FailingModule.compiles == 2 and cuda._module is None


def test_missing_cupy_and_broken_cupy_are_told_apart():
    def missing(name):
        raise ModuleNotFoundError("No module named 'cupy'", name="cupy")

    def broken(name):
        raise ImportError("libcudart.so.12: cannot open shared object file\nmore")

    def broken_dependency(name):
        raise ModuleNotFoundError("No module named 'fastrlock'", name="fastrlock")

    assert cuda._import_cupy(missing) == (None, "CuPy is not installed (pip install -e "
                                                "'.[gpu]')")
    module, why = cuda._import_cupy(broken)
    assert module is None and why == ("CuPy does not import (libcudart.so.12: cannot open "
                                      "shared object file)")
    assert "fastrlock" in cuda._import_cupy(broken_dependency)[1]


def test_unusable_reason_reports_the_import_error(monkeypatch):
    monkeypatch.setattr(cuda, "_host", None)
    monkeypatch.setattr(cuda, "cupy", None)
    monkeypatch.setattr(cuda, "_import_error", "CuPy does not import (libcudart.so.12)")
    assert cuda.unusable_reason() == "CuPy does not import (libcudart.so.12)"


# --- finding 2: separation whole on the device ------------------------------------------------

FAST = [numpy_ref] + ([cuda] if CUDA_TESTABLE else [])


@pytest.fixture(params=["numpy", "cpu"] + (["cuda"] if CUDA_TESTABLE else []))
def backend(request):
    import kernels
    return kernels.get_backend(request.param)


@pytest.mark.parametrize("box", [(1, 1), (3, 1), (1, 5), (3, 5)])
def test_box_smooth_matches_scipy_and_finite_differences(backend, box):
    """The op is scipy's uniform_filter (mode constant) over time and frequency, on every
    backend; its backward is itself, checked against central differences in float64."""
    from helpers import numeric_grad, rel_error
    from scipy.ndimage import uniform_filter
    rng = np.random.default_rng(7)
    U = rng.standard_normal((2, 9, 11))
    V = np.asarray(backend.to_numpy(backend.box_smooth_forward(backend.asarray(U), *box)[0]))
    assert rel_error(V, uniform_filter(U, size=(1, *box), mode="constant")) < 1e-13
    G = rng.standard_normal(U.shape)
    cache = backend.box_smooth_forward(backend.asarray(U), *box)[1]
    dU = np.asarray(backend.to_numpy(backend.box_smooth_backward(backend.asarray(G), cache)))

    def loss(u):
        out = backend.box_smooth_forward(backend.asarray(u.reshape(U.shape)), *box)[0]
        return float(np.sum(G * np.asarray(backend.to_numpy(out))))
    assert rel_error(dU.reshape(-1), numeric_grad(loss, U.reshape(-1))) < 1e-8


def test_box_smooth_refuses_an_even_side():
    with pytest.raises(ValueError, match="odd"):
        numpy_ref.box_smooth_forward(np.zeros((1, 4, 4)), 2, 1)


def _counting(monkeypatch):
    """Wrap the cuda backend's host<->device copies: asarray (up) and to_numpy (down)."""
    up, down = [], []
    real_up, real_down = cuda.asarray, cuda.to_numpy
    monkeypatch.setattr(cuda, "asarray", lambda a, dtype=None: (up.append(np.shape(a)),
                                                                real_up(a, dtype))[1])
    monkeypatch.setattr(cuda, "to_numpy", lambda a: (down.append(np.shape(a)),
                                                     real_down(a))[1])
    return up, down


def _tiny_separation(statistics: str, smooth=(3, 5)):
    import engine
    from engine.model.separation_stats import StatsObjective, example_targets
    from engine.run.masks import MaskSeparation
    cfg = engine.NetworkConfig(sr=8000, n_fft=32, hop_length=8, n_filters=8, kernel_size=3,
                               n_mels=4, rhythm_filters=6, rhythm_kernel_size=5)
    net = engine.Network(cfg, backend="cuda")
    rng = np.random.default_rng(5)
    mix = rng.standard_normal(300) * 0.3
    examples = {name: rng.standard_normal(337) * s for name, s in (("a", 0.1), ("b", 0.5))}
    if statistics == "gram":
        objectives = {n: engine.Objective(net, style=x) for n, x in examples.items()}
    else:
        objectives = {n: StatsObjective(net, example_targets(
            net, [(x, 1.0)], ("harmonic", "rhythm"), statistics), statistics,
            {"harmonic": 1.0, "rhythm": 0.5}) for n, x in examples.items()}
    return mix, MaskSeparation(mix, objectives, n_fft=16, hop_length=8, smooth=smooth)


@emulated
@pytest.mark.parametrize("statistics", ["gram", "centered-shape"])
def test_separation_crosses_to_the_host_only_with_the_optimizers_vector(monkeypatch,
                                                                        statistics):
    """Per evaluation: the logits up, the loss terms (together) and their gradient down;
    the sources, the smoothing, each objective's signal and gradient stay on the device."""
    mix, sep = _tiny_separation(statistics)
    u = np.random.default_rng(1).standard_normal(sep.size)
    sep.terms_and_grad(u)  # a first evaluation
    up, down = _counting(monkeypatch)
    arrived = []
    real = cuda.to_floats
    monkeypatch.setattr(cuda, "to_floats", lambda t: (arrived.append(dict(t)), real(t))[1])
    terms, grad = sep.terms_and_grad(u)
    assert up == [sep.shape]
    assert down == [(len(terms),), sep.shape]
    assert len(arrived) == 1 and not [k for k, v in arrived[0].items() if type(v) is float]
    assert grad.dtype == np.float64 and grad.shape == (sep.size,)


@emulated
def test_separation_on_cuda_matches_numpy_ref():
    """The same separation (smoothed masks, centered-shape statistics) on numpy and cuda:
    loss terms and gradient agree (float32 network on both)."""
    mix, sep = _tiny_separation("centered-shape")
    u = np.random.default_rng(2).standard_normal(sep.size)
    terms, grad = sep.terms_and_grad(u)
    for obj in sep.objectives.values():  # the same objectives on the reference backend
        import engine
        ref_net = engine.Network(obj.network.config, backend="numpy")
        obj.network = ref_net
        for targets in obj.targets.values():
            for t in targets:
                t.gram, t.factor = np.asarray(t.gram), None if t.factor is None else \
                    np.asarray(t.factor)
    sep.b = numpy_ref
    ref_terms, ref_grad = sep.terms_and_grad(u)
    assert all(abs(terms[k] - ref_terms[k]) < 1e-4 * abs(ref_terms["total"]) for k in terms)
    from helpers import rel_error
    assert rel_error(grad, ref_grad) < 1e-4


# --- finding 4: the FLOP model on cuda; the inverse STFT's window sum -------------------------

def test_cuda_counts_its_grams_as_gemms():
    """F = 100 filters, a 10-row factor, 88 result rows: by SYRK (cpu) the dense loss is
    cheaper, by GEMM (cuda's Grams) the Gram-free one is."""
    import kernels
    from engine.model.style_target import StyleTarget, gram_by_syrk
    assert gram_by_syrk(kernels.get_backend("cpu")) and not gram_by_syrk(cuda)
    t = StyleTarget(np.eye(100), np.ones((10, 100)), 1.0)
    assert not t.use_factor(88, syrk=True) and t.use_factor(88, syrk=False)


def test_the_window_sum_is_built_once(backend):
    from engine.model.filters import hann_window
    window = backend.asarray(hann_window(16))
    Y = backend.asarray(np.ones((2, numpy_ref.mask_frames(300, 16, 8)[0], 9), np.complex128))
    first = backend.istft_forward(Y, window, 8, 300)[1][3]
    again = backend.istft_forward(Y, window, 8, 300)[1][3]
    other = backend.istft_forward(Y, backend.asarray(hann_window(16)), 8, 300)[1][3]
    if backend is numpy_ref:
        return  # the spec rebuilds it: its readable definition
    assert again is first and other is not first
    assert np.array_equal(np.asarray(backend.to_numpy(other)),
                          np.asarray(backend.to_numpy(first)))


# --- finding 5: device memory, estimated and checked before allocating ------------------------

def test_a_run_too_big_for_the_gpu_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    """With 40 MiB free on the (emulated) GPU, a transfer on cuda is refused with exit 2
    and one line on stderr, before the network is built and without an output file."""
    from engine.cli.main import main
    from engine.model import network
    monkeypatch.setattr(cuda, "device_free_bytes", lambda: 40 * 2**20)
    built = []
    monkeypatch.setattr(network.Network, "__init__", lambda self, *a, **k: built.append(1))
    monkeypatch.chdir(tmp_path)
    code = main(["transfer", "--sr", "8000", "--n-fft", "256", "--hop-length", "64",
                 "--n-filters", "2048", "--maxiter", "1", "--quiet", "--backend", "cuda"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not built and list(tmp_path.iterdir()) == []
    assert len(err.splitlines()) == 1 and "GPU memory" in err and "40 MiB is free" in err


@emulated
def test_a_run_that_fits_the_gpu_runs(monkeypatch):
    from engine.model import memory
    cfg = _sep_config()
    need = memory.device_bytes(cfg, 8000, [8000, 8000], 2)
    monkeypatch.setattr(cuda, "device_free_bytes", lambda: need + 1)
    assert memory.check_device(cfg, cuda, 8000, [8000, 8000], 2) == need
    monkeypatch.setattr(cuda, "device_free_bytes", lambda: need - 1)
    with pytest.raises(Exception, match="GPU memory"):
        memory.check_device(cfg, cuda, 8000, [8000, 8000], 2)


def _sep_config(**kw):
    import engine
    return engine.SeparateConfig(sr=8000, n_fft=256, hop_length=64, n_filters=64,
                                 backend="cuda", progress=False, **{"method": "statistics", **kw})


def test_separation_estimate_counts_logits_and_statistics():
    """The logits (sources x frames x bins), L-BFGS-B's vectors of them, and the shift and
    envelope statistics' rows all grow the estimate."""
    from engine.model import memory
    n = 8000 * 60
    base = memory.estimate_bytes(_sep_config(shift_weight=0.0, style_weight=1.0), n, [n], 2)
    shift = memory.estimate_bytes(_sep_config(), n, [n], 2)
    envelope = memory.estimate_bytes(_sep_config(envelope_weight=1.0), n, [n], 2)
    cfg = _sep_config(shift_weight=0.0, style_weight=1.0)
    logits = 2 * (1 + n // cfg.mask_hop_length) * (cfg.mask_n_fft // 2 + 1)
    assert base - memory.estimate_bytes(engine_transfer_config(), n, [n], 2) > \
        (2 * cfg.maxcor + 12) * (logits - 2 * n) * 8
    assert shift > base + 2**30 and envelope > shift
    assert 0 < memory.device_bytes(cfg, n, [n], 2) < base


def engine_transfer_config():
    import engine
    # The separation's own network, dense filters (the transfer's default is fastfood)
    return engine.TransferConfig(sr=8000, n_fft=256, hop_length=64, n_filters=64,
                                 backend="cuda", progress=False, harmonic_filters="dense")


# --- finding 3: the paths never run on cuda before --------------------------------------------

TINY = dict(sr=8000, n_fft=32, hop_length=8, n_filters=8, kernel_size=3, n_mels=4,
            rhythm_filters=6, rhythm_kernel_size=5)


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


def _ensemble(backend: str):
    import engine
    from engine.model.ensemble import Ensemble, member_configs
    base = engine.NetworkConfig(**TINY, dtype="float64")
    rng = np.random.default_rng(3)
    style = rng.standard_normal(900) * 0.3
    members = [engine.Objective(engine.Network(c, backend=backend), style=style)
               for c in member_configs(base, 3, n_samples=700)]
    return Ensemble(members, [1.0, 0.5, 2.0])


@emulated
def test_ensemble_on_cuda_matches_numpy_ref_and_finite_differences():
    from helpers import numeric_grad, rel_error
    x = np.random.default_rng(4).standard_normal(700) * 0.2
    ens = _ensemble("cuda")
    terms, grad = ens.terms_and_grad(x)
    ref_terms, ref_grad = _ensemble("numpy").terms_and_grad(x)
    assert all(abs(terms[k] - ref_terms[k]) < 1e-10 * abs(ref_terms["total"]) for k in terms)
    assert rel_error(grad, ref_grad) < 1e-10
    picked = np.random.default_rng(5).choice(700, 25, replace=False)

    def loss(v):
        y = x.copy()
        y[picked] = v
        return ens.terms_and_grad(y)[0]["total"]
    assert rel_error(grad[picked], numeric_grad(loss, x[picked])) < 1e-6


@emulated
def test_reconstructs_spectrogram_objective_on_cuda():
    from helpers import numeric_grad, rel_error

    import engine
    from engine.run.reconstruct import SpectrogramObjective
    rng = np.random.default_rng(6)
    out = {}
    for backend in ("numpy", "cuda"):
        net = engine.Network(engine.NetworkConfig(**TINY, dtype="float64"), backend=backend)
        target = net.asarray(np.abs(rng.standard_normal((20 - 2, 8))))
        obj = SpectrogramObjective(net, target, (20, 17))
        s = np.random.default_rng(7).standard_normal(20 * 17)
        out[backend] = obj.terms_and_grad(s) + (obj, s)
        rng = np.random.default_rng(6)
    (t, g, obj, s), (rt, rg, _, _) = out["cuda"], out["numpy"]
    assert abs(t["total"] - rt["total"]) < 1e-12 * rt["total"] and rel_error(g, rg) < 1e-12
    assert rel_error(g, numeric_grad(lambda v: obj.terms_and_grad(v)[0]["total"], s)) < 1e-6


def test_device_pool_bytes_reads_cupys_pool(monkeypatch):
    """None in the emulation (no device); on a GPU, the default pool's total bytes."""
    pool = types.SimpleNamespace(total_bytes=lambda: 123, free_bytes=lambda: 23)
    fake = types.SimpleNamespace(get_default_memory_pool=lambda: pool,
                                 cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(
                                     memGetInfo=lambda: (1000, 4000))))
    monkeypatch.setattr(cuda, "xp", np)
    assert cuda.device_pool_bytes() is None and cuda.device_free_bytes() is None
    monkeypatch.setattr(cuda, "xp", fake)
    monkeypatch.setattr(cuda, "cupy", fake)
    assert cuda.device_pool_bytes() == 123 and cuda.device_free_bytes() == 1023


# NVRTC's documented options (CUDA Toolkit, "NVRTC: Supported Compile Options"): the ones
# this project may use. nvcc accepts the same spellings, so the --ptx test compiles with them.
NVRTC_ACCEPTS = {"-std=c++11", "-std=c++14", "-std=c++17", "--std=c++14", "--std=c++17",
                 "-default-device", "--use_fast_math", "-lineinfo", "-arch=compute_90"}


def test_rawmodule_options_are_nvrtc_options(monkeypatch):
    seen = []

    class Module:
        def __init__(self, code, options):
            seen.append((code, options))

        def compile(self):
            pass
    monkeypatch.setattr(cuda, "cupy", types.SimpleNamespace(RawModule=Module))
    monkeypatch.setattr(cuda, "_module", None)
    cuda._compile()
    code, options = seen[0]
    assert options == cuda.NVRTC_OPTIONS and set(options) <= NVRTC_ACCEPTS
    assert 'extern "C" __global__' in code


@pytest.mark.skipif(__import__("shutil").which("nvcc") is None, reason="no nvcc here")
def test_ops_cu_compiles_for_sm90_with_the_rawmodule_options(tmp_path):
    """What NVRTC would do on an H100/H200, as near as this machine gets: nvcc --ptx for
    sm_90 with the same options (test_cuda.py checks every kernel is in the PTX)."""
    import subprocess
    res = subprocess.run(["nvcc", "--ptx", "-arch=sm_90", *cuda.NVRTC_OPTIONS,
                          str(cuda.SOURCE), "-o", str(tmp_path / "ops.ptx")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@emulated
def test_the_ensemble_crosses_to_the_host_once_per_evaluation(monkeypatch):
    """Three members on cuda: the signal up once, the summed terms and gradient down once,
    not once a member."""
    x = np.random.default_rng(4).standard_normal(700) * 0.2
    ens = _ensemble("cuda")
    up, down = _counting(monkeypatch)
    terms, grad = ens.terms_and_grad(x)
    assert up == [(700,)] and down == [(len(terms),), (700,)]
    assert grad.dtype == np.float64 and all(type(v) is float for v in terms.values())


@emulated
def test_a_fastfood_transfer_stays_on_the_device_and_matches_numpy_ref(monkeypatch):
    """--harmonic-filters fastfood on cuda: one evaluation of a transfer's objective sends the
    signal up once and the terms and gradient down once (the structured conv, its Grams and
    the content term stay on the device), with numpy_ref's loss and gradient."""
    from helpers import rel_error

    import engine
    rng = np.random.default_rng(6)
    content, style, x = (rng.standard_normal(n) * 0.3 for n in (700, 900, 700))
    cfg = engine.NetworkConfig(**TINY, dtype="float64", harmonic_filters="fastfood")
    objs = {b: engine.Objective(engine.Network(cfg, backend=b), content=content, style=style,
                                content_weight=1.0) for b in ("numpy", "cuda")}
    ref_terms, ref_grad = objs["numpy"].terms_and_grad(x)
    objs["cuda"].terms_and_grad(x)  # a first evaluation
    up, down = _counting(monkeypatch)
    terms, grad = objs["cuda"].terms_and_grad(x)
    assert up == [(700,)] and down == [(len(terms),), (700,)]
    assert rel_error(grad, ref_grad) < 1e-10
    assert all(abs(terms[k] - ref_terms[k]) <= 1e-10 * abs(ref_terms[k]) for k in ref_terms)


@emulated
def test_the_dictionary_separation_crosses_to_the_host_a_fixed_number_of_times(monkeypatch):
    """separate --method dictionary on cuda: the signals go up and the sources come down, the
    same number of times whatever the number of updates (none inside the updates), and the
    sources match numpy_ref's."""
    from helpers import rel_error

    import engine
    rng = np.random.default_rng(8)
    mix = rng.standard_normal(2000) * 0.3
    examples = {"a": rng.standard_normal(1500) * 0.2, "b": np.sin(np.arange(1500) * 0.3)}
    opts = dict(sr=8000, components=4, dictionary_transpose=1, mask_n_fft=128,
                mask_hop_length=32, seed=2)
    counts = []
    for n_iter in (2, 7):
        with pytest.MonkeyPatch.context() as mp:
            up, down = _counting(mp)
            engine.separate(mix, examples, backend="cuda", dictionary_iter=n_iter,
                            fit_iter=n_iter, **opts)
            counts.append((len(up), len(down)))
    assert counts[0] == counts[1] and counts[0][1] == 2, counts  # down: the two sources
    got = engine.separate(mix, examples, backend="cuda", **opts)[0]
    want = engine.separate(mix, examples, backend="numpy", **opts)[0]
    assert all(rel_error(got[n], want[n]) < 1e-4 for n in want)
