"""``python -m bench.machine gpu-check``: validate the cuda backend on this machine's NVIDIA GPU
in a few minutes, one line per check (PASS, FAIL, or SKIP where a check needs a real device), exit
status 1 on any FAIL. ``--emulate`` runs the same checks on the host emulation of the cuda
backend (kernels/cuda_host.py) where no GPU answers; docs/gpu.md says what each check does.

Checks: the GPU's test files; parity of every op against numpy_ref on cuda (the parity tests);
each mode end to end on cuda against the cpu backend; the Gram-free style loss under TF32
near convergence; device memory against the estimate (engine/model/memory.py); the bench
(``cli.py bench --backends cpu,cuda`` at small sizes).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Callable

import numpy as np

from bench import lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SR = 8000
SMALL = dict(sr=SR, n_fft=256, hop_length=64, n_filters=64, kernel_size=5, n_mels=16,
             rhythm_filters=32, rhythm_kernel_size=8, maxiter=3, progress=False)
END_TO_END_TOL = 1e-2  # normwise relative difference of the outputs, cuda against cpu


def _pytest(files: list, emulate: bool, extra: tuple = (), timeout: int = 420) -> tuple:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if emulate:
        env["RANDSTYLE_REQUIRE_CUDA_EMULATION"] = "1"
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          *files, *extra], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout)
    last = (res.stdout.strip().splitlines() or ["no output"])[-1]
    return ("PASS" if res.returncode == 0 else "FAIL"), last


# The cuda backend's tests: its modules, and the cuda tests kept with their subjects'.
GPU_TESTS = ["tests/test_cuda.py", "tests/test_cuda_tf32.py", "tests/test_cuda_separation.py",
             "tests/test_ensemble.py", "tests/test_masks_xp.py"] + [
    f"tests/{module}::{test}" for module, test in [
        ("test_memory_estimate.py", "test_a_run_too_big_for_the_gpu_is_refused_in_one_line"),
        ("test_memory_estimate.py", "test_a_run_that_fits_the_gpu_runs"),
        ("test_memory_estimate.py", "test_separation_estimate_counts_logits_and_statistics"),
        ("test_gramfree.py", "test_gramfree_backward_on_cuda_matches_numpy_ref_for_any_dl"),
        ("test_reconstruct.py", "test_reconstructs_spectrogram_objective_on_cuda"),
        ("test_fastfood.py",
         "test_a_fastfood_transfer_stays_on_the_device_and_matches_numpy_ref"),
        ("test_dictionary.py",
         "test_the_dictionary_separation_crosses_to_the_host_a_fixed_number_of_times")]]


def check_tests(args) -> tuple:
    """The cuda backend's own test files (on the GPU where one answers)."""
    return _pytest(GPU_TESTS, args.emulate)


def check_op_parity(args) -> tuple:
    """Every op's parity test against numpy_ref, for the cuda backend only."""
    return _pytest(["tests/test_parity.py", "tests/test_masks.py"], args.emulate,
                   ("-k", "cuda"))


def _modes(backend: str) -> dict:
    """{mode: output signal} of each mode, tiny, on one backend."""
    from randstyle import engine
    from randstyle.engine.demo import chord_pad, drum_loop, plucked_melody
    content, style = plucked_melody(1.5, SR), drum_loop(2.0, SR)
    out = {"transfer": engine.transfer(content, style, engine.TransferConfig(
        **SMALL, backend=backend))[0]}
    out["texture"] = engine.texture(style, engine.TextureConfig(
        **SMALL, backend=backend, seconds=1.5))[0]
    mix = plucked_melody(1.5, SR, seed=3) + chord_pad(1.5, SR, seed=4)
    parts = engine.separate(mix, {"melody": plucked_melody(2.0, SR, seed=5),
                                  "pad": chord_pad(2.0, SR, seed=6)},
                            engine.SeparateConfig(**SMALL, method="statistics",
                                                  backend=backend, mask_n_fft=256,
                                                  mask_hop_length=64, shift_weight=0.0,
                                                  style_weight=1.0))[0]
    out["separate"] = np.concatenate([parts["melody"], parts["pad"]])
    parts = engine.separate(mix, {"melody": plucked_melody(2.0, SR, seed=5),  # the default
                                  "pad": chord_pad(2.0, SR, seed=6)},
                            engine.SeparateConfig(backend=backend, sr=SR, components=16,
                                                  dictionary_transpose=1, mask_n_fft=256,
                                                  mask_hop_length=64))[0]
    out["separate dictionary"] = np.concatenate([parts["melody"], parts["pad"]])
    out["reconstruct"] = engine.reconstruct(content, engine.ReconstructConfig(
        **SMALL, backend=backend))[0]["time"]
    return out


def check_modes(args) -> tuple:
    """Each mode end to end on cuda and on cpu: the outputs agree (3 L-BFGS-B iterations in
    float32, so to END_TO_END_TOL, not to rounding)."""
    from randstyle.engine.bench.harness import normwise_error as rel_error
    cuda_out, cpu_out = _modes("cuda"), _modes("cpu")
    errors = {m: rel_error(cuda_out[m], cpu_out[m]) for m in cuda_out}
    worst = max(errors, key=errors.get)
    text = ", ".join(f"{m} {e:.1e}" for m, e in errors.items())
    return ("PASS" if errors[worst] < END_TO_END_TOL and all(
        np.all(np.isfinite(v)) for v in cuda_out.values()) else "FAIL"), text


def check_tf32(args) -> tuple:
    """The Gram-free style loss under tf32() at 0.1 % Gram distance against float64."""
    from randstyle.kernels import cuda, numpy_ref
    rng = np.random.default_rng(0)
    T, F = 200, 1024
    A = np.maximum(rng.standard_normal((T, F)), 0)
    B = np.maximum(A + 0.001 * rng.standard_normal((T, F)), 0) / np.sqrt(T)
    Gs = B.T @ B
    target_sq = float(np.sum(Gs * Gs))
    ref = numpy_ref.gramfree_style_loss_forward(A, B, target_sq, 1.0)[0]
    with cuda.tf32():
        loss = cuda.gramfree_style_loss_forward(cuda.asarray(A, np.float32),
                                                cuda.asarray(B, np.float32), target_sq, 1.0)[0]
    err = abs(float(loss) - ref) / ref
    return ("PASS" if err < 2e-2 else "FAIL"), f"relative error {err:.1e} (bound 2e-2)"


def check_memory(args) -> tuple:
    """A 20 s transfer with 2048 filters on cuda: the pool's peak within the device estimate
    (and the estimate not above 3x the peak)."""
    from randstyle.kernels import cuda
    if cuda.device_pool_bytes() is None:
        return "SKIP", "emulation: no device memory to measure"
    from randstyle import engine
    from randstyle.engine.demo import drum_loop, plucked_melody
    from randstyle.engine.model import memory
    cfg = engine.TransferConfig(**{**SMALL, "sr": 22050, "n_fft": 2048, "hop_length": 512,
                                   "n_filters": 2048, "n_mels": 128, "rhythm_filters": None,
                                   "rhythm_kernel_size": 32}, backend="cuda")
    n = 20 * 22050
    cuda.cupy.get_default_memory_pool().free_all_blocks()
    engine.transfer(plucked_melody(20.0, 22050), drum_loop(20.0, 22050), cfg)
    peak = cuda.device_pool_bytes()
    est = memory.device_bytes(cfg, n, [n])
    ok = peak <= est <= 3 * peak
    return ("PASS" if ok else "FAIL"), f"pool {peak / 2**20:.0f} MiB, estimate " \
                                       f"{est / 2**20:.0f} MiB"


def check_bench(args) -> tuple:
    """``cli.py bench --backends cpu,cuda`` at small sizes (its worker processes open the
    GPU themselves, so this needs a real one)."""
    from randstyle.kernels import cuda
    if cuda.device_pool_bytes() is None:
        return "SKIP", "emulation: the bench's workers need a real GPU"
    with tempfile.TemporaryDirectory() as out:
        res = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "bench",
                              "--backends", "cpu,cuda", "--seconds", "5", "--style-seconds",
                              "5", "--n-filters", "1024", "--repeat", "2",
                              "--long-style-minutes", "0", "--sgemm-n", "2048", "--no-torch",
                              "--out", out], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    last = ((res.stdout + res.stderr).strip().splitlines() or ["no output"])[-1]
    return ("PASS" if res.returncode == 0 else "FAIL"), last[:160]


def tf32_table(T: int = 200, F: int = 1024) -> str:
    """docs/gpu.md's table: relative error of the style loss against float64 under tf32(), by
    Gram distance: the Gram-free loss with its products under TF32 (before the fix), with
    them in full float32 (now), and the dense loss (its Gram under TF32)."""
    from randstyle.kernels import cuda, numpy_ref
    rows = lab.head("Gram distance", "Gram-free, TF32 products",
                    "Gram-free, full float32 products", "dense, TF32 Gram")
    for noise in (0.3, 0.03, 0.003, 0.001, 0.0003):
        rng = np.random.default_rng(0)
        A = np.maximum(rng.standard_normal((T, F)), 0)
        B = np.maximum(A + noise * rng.standard_normal((T, F)), 0) / np.sqrt(T)
        Gs = B.T @ B
        target_sq = float(np.sum(Gs * Gs))
        dist = np.linalg.norm(A.T @ A / T - Gs) / np.linalg.norm(Gs)
        ref = numpy_ref.gramfree_style_loss_forward(A, B, target_sq, 1.0)[0]
        A32, B32 = cuda.asarray(A, np.float32), cuda.asarray(B, np.float32)
        errs = []
        for exact in (cuda.matmul, cuda.exact_matmul):
            real, cuda.exact_matmul = cuda.exact_matmul, exact
            try:
                with cuda.tf32():
                    loss = cuda.gramfree_style_loss_forward(A32, B32, target_sq, 1.0)[0]
            finally:
                cuda.exact_matmul = real
            errs.append(abs(float(loss) - ref) / ref)
        with cuda.tf32():
            dense = cuda.gram_style_loss_forward(A32, cuda.asarray(Gs, np.float32), 1.0)[0]
        errs.append(abs(float(dense) - ref) / ref)
        rows.append(f"| {dist:.2%} | " + " | ".join(f"{e:.1e}" for e in errs) + " |")
    return "\n".join(rows)


CHECKS: list[tuple[str, Callable]] = [
    ("gpu tests", check_tests), ("op parity", check_op_parity),
    ("modes end to end", check_modes), ("tf32 near convergence", check_tf32),
    ("device memory", check_memory), ("bench", check_bench)]


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.machine gpu-check", description=__doc__)
    parser.add_argument("--emulate", action="store_true",
                        help="run on the host emulation of the cuda backend (no GPU needed)")
    parser.add_argument("--only", default=None,
                        help="comma-separated checks to run (default: all): " +
                        ", ".join(n for n, _ in CHECKS))
    parser.add_argument("--tf32-table", action="store_true",
                        help="print docs/gpu.md's table of the style loss's error under TF32")
    args = parser.parse_args(argv)
    from randstyle.kernels import cuda
    if args.emulate:
        cuda.use_host_emulation()
    if args.tf32_table:
        print(tf32_table())
        return 0
    reason = cuda.unusable_reason()
    if reason:
        print(f"FAIL backend: {reason}")
        return 1
    print(f"PASS backend: cuda ({'host emulation' if args.emulate else 'GPU'})", flush=True)
    wanted = set(args.only.split(",")) if args.only else {n for n, _ in CHECKS}
    unknown = wanted - {n for n, _ in CHECKS}
    if unknown:
        print(f"gpu_check: no check named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    failed = False
    for name, check in CHECKS:
        if name not in wanted:
            continue
        started = time.perf_counter()
        try:
            status, detail = check(args)
        except Exception as exc:  # a check that crashes is a failed check, and the rest run
            status, detail = "FAIL", f"{type(exc).__name__}: " + \
                (str(exc).strip().splitlines() or [""])[0]
        failed |= status == "FAIL"
        print(f"{status} {name}: {detail} ({time.perf_counter() - started:.0f} s)", flush=True)
    return 1 if failed else 0

