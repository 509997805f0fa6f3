"""The GPU backend on machines without a GPU: its CUDA sources compile with nvcc, its kernels
run on the CPU (compiled with g++ against kernels/cuda/host_shim.h) and match NumPy twins,
and asking for it without a GPU is a clear error. Where a GPU answers, the tests at the end
run on it (the parity and gradient tests of the other files then use it too)."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import CUDA_TESTABLE, GPU
from helpers import SMALL, rel_error, write

import engine
from engine.demo import drum_loop, plucked_melody
from kernels import cuda, cuda_host, numpy_ref

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
    loss = {}
    for tf32 in (False, True):
        net.backend.set_tf32(tf32)
        obj = engine.Objective(net, content=content, style=style)
        loss[tf32] = obj.value_and_grad(x)[0]
    net.backend.set_tf32(False)
    effect = abs(loss[True] - loss[False]) / abs(loss[False])
    print(f"TF32 relative effect on the loss: {effect:.2e}")
    assert 0 < effect < 1e-2
