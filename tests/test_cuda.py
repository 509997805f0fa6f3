"""The GPU backend on machines without a GPU: its CUDA sources compile with nvcc, its kernels
run on the CPU (compiled with g++ against kernels/cuda_src/host_shim.h) and match NumPy twins,
and asking for it without a GPU is a clear error. Where a GPU answers, the tests at the end
run on it (the parity and gradient tests of the other files then use it too)."""
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from conftest import CUDA_TESTABLE, GPU
from helpers import SMALL, rel_error, write

from randstyle import engine
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.kernels import cuda, cuda_host, numpy_ref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NVCC = shutil.which("nvcc")
emulated = pytest.mark.skipif(GPU or not CUDA_TESTABLE,
                              reason="host emulation runs only where no GPU answers (and g++ "
                                     "is present)")


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed on this machine")
@pytest.mark.parametrize("source", cuda_host.sources(), ids=lambda p: p.name)
def test_cuda_source_compiles_for_sm90(source, tmp_path):
    ptx = tmp_path / "out.ptx"
    res = subprocess.run([NVCC, "--ptx", "-arch=sm_90", str(source), "-o", str(ptx)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    text = ptx.read_text()
    names = cuda_host.kernel_signatures(source)
    assert len(names) >= 2
    for name in names:  # every extern "C" kernel, both dtypes, is in the PTX
        assert f".entry {name}(" in text, name


@emulated
def test_every_kernel_has_a_host_launcher():
    lib = cuda_host.build()
    names = cuda_host.kernel_signatures(cuda.SOURCE)
    assert {f"{n}_{s}" for n in ("gram_diff", "im2col", "col2im", "overlap_add")
            for s in ("f32", "f64")} <= set(names)
    for name in names:
        assert hasattr(lib, f"host_{name}")


@pytest.fixture(params=[(32, 3), (7, 1), (256, 64)], ids=["32x3", "7x1", "256x64"])
def launch_shape(request, monkeypatch):
    """Threads per block and blocks: tiny grids make every grid-stride loop go round."""
    monkeypatch.setattr(cuda, "THREADS", request.param[0])
    monkeypatch.setattr(cuda, "MAX_BLOCKS", request.param[1])


@emulated
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_match_numpy_twins(launch_shape, dtype):
    rng = np.random.default_rng(11)
    # Sizes that are not multiples of any block size above.
    x = rng.standard_normal(1001).astype(dtype)
    frames = cuda._frames(x, np.ones(97, dtype=dtype), 13)
    assert np.array_equal(frames, numpy_ref.frame(x, 97, 13))
    dframes = rng.standard_normal(frames.shape).astype(dtype)
    ones = np.ones(97, dtype=dtype)
    assert rel_error(cuda._overlap_add(dframes, ones, 0, 13, 1001),
                     numpy_ref.overlap_add(dframes, 1001, 13)) < 1e-6
    X = rng.standard_normal((45, 5)).astype(dtype)
    for K, d in ((7, 1), (4, 3)):
        cols = np.empty((45 - (K - 1) * d, K * 5), dtype=dtype)
        cuda._launch("im2col", dtype, cols.size, X, np.int32(5), np.int32(K), np.int32(d),
                     np.int32(cols.shape[0]), cols)
        assert np.array_equal(cols, numpy_ref.im2col(X, K, d))
    G, Gt = (rng.standard_normal((67, 67)).astype(dtype) for _ in range(2))
    out = np.empty_like(G)
    total = cuda._partial_sum("gram_diff", G.size, G, Gt, dtype(0.5), np.int64(G.size), out)
    assert rel_error(out, 0.5 * (G - Gt)) < 1e-7
    assert abs(total - np.sum((G.astype(np.float64) - Gt) ** 2)) < 1e-6 * total


@pytest.mark.skipif(GPU, reason="a GPU answers here")
def test_backend_cuda_without_gpu_is_exit_2(tmp_path):
    style = write(tmp_path / "s.wav", drum_loop(2.0, 22050), 22050)
    res = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "texture", style,
                          "--backend", "cuda", "-o", str(tmp_path / "t.wav")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "backend 'cuda' is not usable here" in lines[0], res.stderr
    assert not (tmp_path / "t.wav").exists()


@pytest.mark.skipif(GPU, reason="a GPU answers here")
def test_auto_says_it_picked_cpu(tmp_path):
    res = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "texture",
                          "--seconds", "2", "--n-filters", "16", "--rhythm-filters", "16",
                          "--maxiter", "1", "-o", str(tmp_path / "t.wav")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "backend cpu (auto)" in res.stderr


gpu_only = pytest.mark.skipif(not GPU, reason="needs an NVIDIA GPU (none answers here)")


@gpu_only
def test_gpu_objective_matches_numpy_ref():
    cfg = engine.NetworkConfig(**SMALL)
    content, style = plucked_melody(1.0, SMALL["sr"]), drum_loop(1.7, SMALL["sr"])
    x = np.random.default_rng(5).standard_normal(len(content)) * 0.05
    values = {}
    for backend in ("numpy", "cuda"):
        obj = engine.Objective(engine.Network(cfg, backend=backend), content=content,
                               style=style)
        values[backend] = obj.value_and_grad(x)
    assert abs(values["cuda"][0] - values["numpy"][0]) < 3e-6 * abs(values["numpy"][0])
    assert rel_error(values["cuda"][1], values["numpy"][1]) < 1e-5


@gpu_only
def test_tf32_effect_on_the_loss():
    """TF32 rounds GEMM inputs to 10 mantissa bits: the loss moves, by a measured amount."""
    cfg = engine.NetworkConfig()
    content, style = plucked_melody(5.0, 22050), drum_loop(8.0, 22050)
    x = content + np.random.default_rng(0).standard_normal(len(content)) * 0.05
    net = engine.Network(cfg, backend="cuda")
    from cupy._core import _routines_linalg as rl
    before = rl.get_compute_type(np.float32)
    obj = engine.Objective(net, content=content, style=style)
    loss = {False: obj.value_and_grad(x)[0]}
    with cuda.tf32():
        assert rl.get_compute_type(np.float32) == rl.COMPUTE_TYPE_TF32
        loss[True] = obj.value_and_grad(x)[0]
    assert rl.get_compute_type(np.float32) == before  # restored, whatever it was
    effect = abs(loss[True] - loss[False]) / abs(loss[False])
    print(f"TF32 relative effect on the loss: {effect:.2e}")
    assert 0 < effect < 1e-2


# --- the launches as CuPy runs them: exact argument types, checked ---------------------------

@emulated
def test_signatures_read_without_a_compiler_match_the_preprocessor():
    """kernel_params expands ops.cu's WRAP macro itself (a GPU machine may have no g++);
    g++ -E expands it for real."""
    ours = cuda.kernel_params()
    real = cuda_host.kernel_signatures(cuda.SOURCE)
    assert set(ours) == set(real) and len(ours) == 28
    for name, params in real.items():
        assert len(ours[name]) == len(params.split(","))
        for (kind, dtype), text in zip(ours[name], params.split(",")):
            assert (kind == "array") == ("*" in text), (name, text)
            if kind == "scalar":
                assert text.split()[:-1] == {np.int32: ["int"], np.int64: ["long", "long"],
                                             np.float32: ["float"], np.float64: ["double"]}[dtype]


def test_a_launch_with_a_wrong_argument_type_is_rejected():
    x = np.zeros(10, dtype=np.float32)
    S = np.empty_like(x)
    cuda.check_args("log1p_forward_f32", (x, np.int64(10), S))  # right: no error
    for args, words in [
        ((x, np.int32(10), S), "needs int64, got int32"),  # 4 bytes for a long long
        ((x, 10, S), "needs int64, got int"),  # a Python int: CuPy would pick its own size
        ((x.astype(np.float64), np.int64(10), S), "float32 array"),  # finding 2
        ((x[::2], np.int64(5), S), "C-contiguous"),
        ((x, np.int64(10)), "takes 3 arguments"),
    ]:
        with pytest.raises(TypeError, match=words):
            cuda.check_args("log1p_forward_f32", args)


@emulated
def test_the_emulation_itself_refuses_a_wrong_scalar_type():
    """Below check_args, the host launchers are typed from ops.cu's signatures: a 4-byte
    int where the kernel takes a long long is refused by ctypes, not read as garbage."""
    import ctypes
    lib = cuda_host.build()
    x = np.zeros(10, dtype=np.float32)
    S = np.empty_like(x)
    lib.host_log1p_forward_f32(1, 32, *map(cuda_host.marshal, (x, np.int64(10), S)))
    with pytest.raises(ctypes.ArgumentError):
        lib.host_log1p_forward_f32(1, 32, *map(cuda_host.marshal, (x, np.int32(10), S)))


@emulated
def test_every_launch_in_the_backend_passes_exact_types(monkeypatch):
    """One evaluation of every branch and loss through the cuda backend, recording each
    launch: all 14 kernels run, and every launch passed check_args."""
    launched = []
    real = cuda.check_args
    monkeypatch.setattr(cuda, "check_args", lambda name, args: (launched.append(name),
                                                               real(name, args)))
    for dft in ("fft", "matrix"):
        cfg = engine.NetworkConfig(**{**SMALL, "rhythm_filters": 16}, n_resid=1, dft=dft)
        net = engine.Network(cfg, backend="cuda")
        content, style = plucked_melody(1.0, SMALL["sr"]), drum_loop(1.7, SMALL["sr"])
        obj = engine.Objective(net, content=content, style=style, l1_weight=0.1)
        obj.value_and_grad(content + 0.01)
    kinds = {n.rsplit("_", 1)[0] for n in launched}
    assert kinds == {n.rsplit("_", 1)[0] for n in cuda.kernel_params()}, kinds


@emulated
def test_loss_terms_cross_to_the_host_once_per_evaluation(monkeypatch):
    cfg = engine.NetworkConfig(**SMALL)
    net = engine.Network(cfg, backend="cuda")
    content, style = plucked_melody(1.0, SMALL["sr"]), drum_loop(1.7, SMALL["sr"])
    obj = engine.Objective(net, content=content, style=style, l1_weight=0.1)
    A = net.asarray(np.ones((5, 3)))
    loss, _ = cuda.squared_error_forward(A, A * 0, 1.0)
    assert type(loss) is not float and float(loss) == 15.0  # left on the device
    B = net.asarray(np.full((4, 3), 0.5))  # BᵀB = AᵀA/5: the Gram-free loss is 0, on the device
    loss, _ = cuda.gramfree_style_loss_forward(A, B, 9.0, 1.0)
    assert type(loss) is not float and float(loss) == 0.0
    calls = []
    real = cuda.to_numpy
    monkeypatch.setattr(cuda, "to_numpy", lambda a: (calls.append(np.shape(a)), real(a))[1])
    terms, grad = obj.terms_and_grad(content + 0.01)
    # Two copies: the loss terms together, and the gradient.
    assert calls == [(len(terms),), (len(content),)]
    assert all(type(v) is float for v in terms.values())


@emulated
def test_no_loss_term_is_brought_to_the_host_on_its_own(monkeypatch):
    """Both style algorithms (the harmonic branch Gram-free, the rhythm branch dense here):
    every term reaches to_floats still on the device. A Python float there means a float()
    of its own, which on a GPU is one more sync per term and evaluation."""
    cfg = engine.NetworkConfig(**{**SMALL, "n_filters": 1024})
    net = engine.Network(cfg, backend="cuda")
    content, style = plucked_melody(1.0, SMALL["sr"]), drum_loop(0.5, SMALL["sr"])
    obj = engine.Objective(net, content=content, style=style, l1_weight=0.1)
    arrived = []
    real = cuda.to_floats
    monkeypatch.setattr(cuda, "to_floats", lambda terms: (arrived.append(dict(terms)),
                                                          real(terms))[1])
    terms, _ = obj.terms_and_grad(content + 0.01)
    assert obj.style_algorithms == {"harmonic": "gramfree", "rhythm": "dense"}
    assert set(arrived[0]) == set(terms) and len(arrived) == 1
    assert [k for k, v in arrived[0].items() if type(v) is float] == []
    reference = engine.Objective(engine.Network(cfg, backend="numpy"), content=content,
                                 style=style, l1_weight=0.1).terms_and_grad(content + 0.01)[0]
    assert all(abs(terms[k] - reference[k]) < 1e-4 * abs(reference[k]) for k in terms)


@emulated
def test_float64_grams_given_to_a_float32_network_are_cast():
    cfg = engine.NetworkConfig(**SMALL)
    net = engine.Network(cfg, backend="cuda")
    style = drum_loop(1.7, SMALL["sr"])
    grams = {b: [G.astype(np.float64) for G in layers]
             for b, layers in net.grams(style, ("harmonic", "rhythm")).items()}
    x = plucked_melody(1.0, SMALL["sr"])
    value = engine.Objective(net, style_grams=grams).value_and_grad(x)[0]
    assert abs(value - engine.Objective(net, style=style).value_and_grad(x)[0]) < 1e-4 * value


def test_ci_fails_when_the_cuda_backend_cannot_be_tested(tmp_path):
    """Without a GPU and without g++ on PATH, RANDSTYLE_REQUIRE_CUDA_EMULATION=1 turns the
    silent skip into a failed run."""
    env = {**os.environ, "PATH": str(tmp_path), "RANDSTYLE_REQUIRE_CUDA_EMULATION": "1"}
    if GPU:
        pytest.skip("a GPU answers here: the cuda tests run on it")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          os.path.join(ROOT, "tests", "test_cuda.py"), "-k",
                          "wrong_argument_type"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert res.returncode != 0 and "cannot be tested" in res.stdout + res.stderr, res.stdout


class FailingModule:
    compiles = 0

    def __init__(self, code, options):
        self.options = options

    def compile(self):
        FailingModule.compiles += 1
        raise RuntimeError("NVRTC_ERROR_COMPILATION (6)\nops.cu(12): error")


# NVRTC's documented options (CUDA Toolkit, "NVRTC: Supported Compile Options"): the ones
# this project may use. nvcc accepts the same spellings, so the --ptx test compiles with them.
NVRTC_ACCEPTS = {"-std=c++11", "-std=c++14", "-std=c++17", "--std=c++14", "--std=c++17",
                 "-default-device", "--use_fast_math", "-lineinfo", "-arch=compute_90"}


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


def test_cuda_counts_its_grams_as_gemms():
    """F = 100 filters, a 10-row factor, 88 result rows: by SYRK (cpu) the dense loss is
    cheaper, by GEMM (cuda's Grams) the Gram-free one is."""
    from randstyle import kernels
    from randstyle.engine.model.style_target import StyleTarget, gram_by_syrk
    assert gram_by_syrk(kernels.get_backend("cpu")) and not gram_by_syrk(cuda)
    t = StyleTarget(np.eye(100), np.ones((10, 100)), 1.0)
    assert not t.use_factor(88, syrk=True) and t.use_factor(88, syrk=False)


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
