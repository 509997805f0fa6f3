"""Benchmark: the machine's GEMM rate, the dense floor, per-op and end-to-end times, peak RSS.

Run as ``randstyle bench`` (``python cli.py bench`` in a checkout). Each backend is measured in
its own fresh subprocess that imports NumPy before the engine (as any program using randstyle as a
library does), so its peak RSS is its own; the 4096² sgemm rate (the roofline) is measured
in the same run, in the parent between the backends and in each worker. The dense floor is
the dense algorithm's FLOPs (convs and Gram style losses as GEMMs) at that rate: what the
naive algorithm cannot beat. Every backend is validated against numpy_ref on the benchmark's inputs
before it is timed; with torch installed, PyTorch's CPU autograd of the same objective (same
weights, same loss) is validated and timed the same way. Results: a table on stdout, and the
JSON where ``--out`` says (nothing is written without it).

Every ratio to the sgemm rate (the dense floor, and per op) uses one rate, the roofline: the
best 4096² sgemm rate measured anywhere in the run (the parent between the workers, and each
CPU worker around its evaluation and its ops). The rates are kept, and the table says when
they spread by more than 10 %: then the machine was not idle and the run's timings, the
torch comparison included, do not stand for this machine.
"""
import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from randstyle.engine._omp import NUMPY_FIRST
from randstyle.engine.config import opt
from randstyle.engine.errors import ParameterError

ROOT = Path(__file__).resolve().parents[2]
STABLE_SPREAD = 1.10  # max / min of the run's sgemm rates beyond which the machine was busy
# A worker imports NumPy before the engine, as a program using randstyle as a library does
# (``-m randstyle.engine.bench.harness`` would load the engine first); the torch worker imports
# PyTorch first too, before the engine sets OMP_WAIT_POLICY, so its OpenMP threads run under
# their own defaults, as in a program that imported torch first.
WORKER_BOOT = ("import sys, runpy, numpy\n"
               "if sys.argv[sys.argv.index('--worker') + 1] == 'torch':\n"
               "    import torch\n"
               "runpy.run_module('randstyle.engine.bench.harness', run_name='__main__',\n"
               "                 alter_sys=True)\n")


@dataclass
class BenchConfig:
    backends: str = opt("numpy,cpu", "comma-separated backends to measure (numpy, cpu, "
                                     "cuda, torch)")
    seconds: float = opt(10.0, "content length in seconds")
    style_seconds: float = opt(30.0, "style length in seconds")
    n_filters: int = opt(4096, "filters of the harmonic conv")
    repeat: int = opt(5, "timed repeats per measurement (the best is kept)")
    long_style_minutes: float = opt(
        4.0, "also measure the peak RSS of a transfer run with a style clip this long (0: skip)")
    sgemm_n: int = opt(4096, "size of the square float32 matmul timed as the roofline")
    threads: Optional[int] = opt(None, "threads for BLAS, Numba and FFTs (default: all)",
                                 show=False)
    out: Optional[str] = opt(None, "write the JSON results here: a file NAME.json, or a folder "
                                   "(bench-DATE-TIME.json in it); default: the table only")
    torch: bool = field(default=True, metadata={
        "args": ["--no-torch"], "help": "do not time PyTorch's CPU autograd of the same "
                                        "objective (default: timed when torch is installed, "
                                        "the optional bench extra)"})
    # Internal: the parent runs each backend as "--worker NAME --reference FILE".
    worker: Optional[str] = field(default=None, metadata={"help": argparse.SUPPRESS})
    reference: Optional[str] = field(default=None, metadata={"help": argparse.SUPPRESS})

    def __post_init__(self) -> None:
        # Checked before any work: NaN seconds or --repeat 0 failed with a traceback after
        # minutes of setup, and --long-style-minutes inf never ended. Every number is a size
        # but that one, which may be 0 (skip).
        from dataclasses import fields

        from randstyle.engine.config import _check_nonnegative, _check_numbers, _check_positive
        _check_numbers(self)
        _check_positive(self, *[f.name for f in fields(self) if f.name != "long_style_minutes"
                                and f.type in (int, float, Optional[int], Optional[float])])
        _check_nonnegative(self, "long_style_minutes")



def normwise_error(a: Any, b: Any) -> float:
    """max|a - b| / max(|a|max + |b|max, 1e-8): the gradient check against the reference
    (tests/helpers.py: rel_error is the same measure for the tests)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a)) + np.max(np.abs(b))))

def _signals(cfg: BenchConfig, sr: int) -> tuple:
    from randstyle.engine.demo import drum_loop, plucked_melody
    return plucked_melody(cfg.seconds, sr), drum_loop(cfg.style_seconds, sr)


def _best(f, repeat: int, sync=lambda: None) -> float:
    """Best wall time of f over ``repeat`` runs after a warm-up (JIT compilation, buffer
    allocation, page faults); ``sync`` waits for a GPU's queued work."""
    f()
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        sync()
        times.append(time.perf_counter() - t)
    return min(times)


def gemm_parts(net) -> list:
    """The conv branches of the default objective (content on the harmonic branch, style on
    harmonic and rhythm): (name, K, C, F) of each first conv."""
    parts = []
    for name in ("harmonic", "rhythm"):
        br = net.branches[name]
        K, C, F = br.weights.shape
        parts.append((name, K, C, F))
    return parts


def flop_count(T: int, net) -> dict:
    """FLOPs of one loss + gradient evaluation (FFT DFT form), per part."""
    c = net.config
    flops = {"dft_fft": 2 * T * 2.5 * c.n_fft * np.log2(c.n_fft)}  # rfft + irfft
    for name, K, C, F in gemm_parts(net):
        Tp = T - K + 1
        flops[f"{name}_conv_forward"] = 2.0 * Tp * C * K * F
        flops[f"{name}_conv_backward"] = 2.0 * Tp * C * K * F
        flops[f"{name}_gram_forward_syrk"] = 1.0 * Tp * F * F
        flops[f"{name}_gram_backward"] = 2.0 * Tp * F * F
    flops["mel"] = 2 * 2.0 * T * net.n_bins * c.n_mels
    return flops


def run_flop_count(T: int, net, obj) -> dict:
    """FLOPs per part of the algorithm the objective actually runs: flop_count's, with the
    Gram parts of each branch that ran Gram-free replaced by the Gram-free loss's."""
    from randstyle.engine.model.style_target import gram_by_syrk, gramfree_flops
    flops = flop_count(T, net)
    for name, K, C, F in gemm_parts(net):
        if obj.style_algorithms.get(name) == "gramfree":
            Tp, T_s = T - K + 1, obj.style_targets[name][0].factor.shape[0]
            del flops[f"{name}_gram_forward_syrk"], flops[f"{name}_gram_backward"]
            flops[f"{name}_gramfree_style_loss"] = gramfree_flops(Tp, T_s, F,
                                                                      gram_by_syrk(net.backend))
    return flops


def sgemm_rate(repeat: int, backend=None, n: int = 4096) -> float:
    """float32 FLOP/s of one n x n x n matmul: the machine's roofline. NumPy's own threaded
    BLAS on the CPU, or the GPU backend's matmul on its own arrays."""
    rng = np.random.default_rng(0)
    xp = backend.xp if backend is not None else np
    sync = backend.synchronize if backend is not None else (lambda: None)
    a, b = (xp.asarray(rng.standard_normal((n, n), dtype=np.float32)) for _ in range(2))
    c = xp.empty_like(a)
    return 2.0 * n ** 3 / _best(lambda: xp.matmul(a, b, out=c), repeat, sync)


def _op_flops(net, obj, T: int) -> dict:
    """FLOPs of the timed ops that are GEMM-bound (forward, backward)."""
    out = {}
    for name, K, C, F in gemm_parts(net):
        Tp = T - K + 1
        conv = 2.0 * Tp * C * K * F
        out[f"conv1d_relu {name}"] = (conv, conv)
        out[f"gram_style_loss {name}"] = (1.0 * Tp * F * F, 2.0 * Tp * F * F)
        target = obj.style_targets[name][0]
        if target.factor is not None:
            T_s = target.factor.shape[0]
            out[f"gramfree_style_loss {name}"] = (Tp * Tp * F + 2.0 * Tp * T_s * F,
                                                  2.0 * Tp * Tp * F + 2.0 * Tp * T_s * F)
    return out


def _op_list(net, obj, x):
    """(name, forward thunk, backward thunk) for each op, chained on real inputs."""
    b, hop = net.backend, net.config.hop_length
    h, r = net._dev["harmonic"], net._dev["rhythm"]
    Gh, Gr = obj.style_grams["harmonic"][0], obj.style_grams["rhythm"][0]
    th, tr = obj.style_targets["harmonic"][0], obj.style_targets["rhythm"][0]
    Z, cz = b.stft_fft_forward(x, net._window, hop)
    M, cm = b.magnitude_forward(Z)
    S, cl = b.log1p_forward(M)
    A, cc = b.conv1d_relu_forward(S, h["weights"])
    P, cp = b.mel_forward(M, r["mel"])
    Ar, cr = b.conv1d_relu_forward(P, r["weights"])
    _, cg = b.gram_style_loss_forward(A, Gh, 1.0)
    _, cgr = b.gram_style_loss_forward(Ar, Gr, 1.0)
    _, cx = b.content_loss_forward(A, obj.content_target, 1.0)
    dA = b.gram_style_loss_backward(1.0, cg)
    dAr = b.gram_style_loss_backward(1.0, cgr)
    dS = b.conv1d_relu_backward(dA, cc)
    dP = b.conv1d_relu_backward(dAr, cr)
    dM = b.log1p_backward(dS, cl)
    dZ = b.magnitude_backward(dM, cm)
    ops = [
        ("stft_fft", lambda: b.stft_fft_forward(x, net._window, hop),
         lambda: b.stft_fft_backward(dZ, cz)),
        ("magnitude", lambda: b.magnitude_forward(Z), lambda: b.magnitude_backward(dM, cm)),
        ("log1p", lambda: b.log1p_forward(M), lambda: b.log1p_backward(dS, cl)),
        ("mel", lambda: b.mel_forward(M, r["mel"]), lambda: b.mel_backward(dP, cp)),
        ("conv1d_relu harmonic", lambda: b.conv1d_relu_forward(S, h["weights"]),
         lambda: b.conv1d_relu_backward(dA, cc)),
        ("conv1d_relu rhythm", lambda: b.conv1d_relu_forward(P, r["weights"]),
         lambda: b.conv1d_relu_backward(dAr, cr)),
        ("gram_style_loss harmonic", lambda: b.gram_style_loss_forward(A, Gh, 1.0),
         lambda: b.gram_style_loss_backward(1.0, cg)),
        ("gram_style_loss rhythm", lambda: b.gram_style_loss_forward(Ar, Gr, 1.0),
         lambda: b.gram_style_loss_backward(1.0, cgr)),
        ("content_loss", lambda: b.content_loss_forward(A, obj.content_target, 1.0),
         lambda: b.content_loss_backward(1.0, cx)),
    ]
    for name, target, act in (("harmonic", th, A), ("rhythm", tr, Ar)):
        if target.factor is not None:
            _, cf = b.gramfree_style_loss_forward(act, target.factor, target.gram_sq, 1.0)
            ops.append((f"gramfree_style_loss {name}",
                        lambda a=act, t=target: b.gramfree_style_loss_forward(
                            a, t.factor, t.gram_sq, 1.0),
                        lambda c=cf: b.gramfree_style_loss_backward(1.0, c)))
    return ops


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _network_and_inputs(cfg: BenchConfig, backend: str, announce: bool = False):
    from randstyle import engine
    ncfg = engine.NetworkConfig(n_filters=cfg.n_filters)
    content, style = _signals(cfg, ncfg.sr)
    net = engine.Network(ncfg, backend=backend)
    # The style terms run on the content-long point: a --seconds under the rhythm branch's
    # receptive field is one line (exit 2), not a traceback from the framing
    net.check_length(len(content), f"--seconds {cfg.seconds:g}: the content",
                     tuple(net.branches))
    if announce:  # the parent, once the inputs are known to fit
        print(f"randstyle bench: {cfg.seconds:g} s content, {cfg.style_seconds:g} s style, "
              f"{cfg.n_filters} filters; validating against numpy_ref, then timing",
              file=sys.stderr)
    t = time.perf_counter()
    obj = engine.Objective(net, content=content, style=style)
    setup_s = time.perf_counter() - t
    # A realistic point: content plus noise, so ReLU masks and magnitudes are not degenerate.
    x = content + np.random.default_rng(0).standard_normal(len(content)) * 0.05
    return net, obj, x, setup_s


def _numpy_imported_first() -> bool:
    return NUMPY_FIRST


def _torch_worker(cfg: BenchConfig, ref) -> dict:
    """PyTorch's CPU autograd of the same objective: validated, then timed."""
    import torch

    from randstyle.engine.bench.torch_ref import TorchObjective
    net, obj, x, setup_s = _network_and_inputs(cfg, "cpu")
    tobj = TorchObjective(obj)
    value, grad = tobj.value_and_grad(x)
    checks = {"loss_rel_error": abs(value - float(ref["value"])) / abs(float(ref["value"])),
              "grad_rel_error": normwise_error(grad, ref["grad"])}
    valid = checks["loss_rel_error"] < 1e-4 and checks["grad_rel_error"] < 1e-3
    rates = [sgemm_rate(cfg.repeat, n=cfg.sgemm_n)]
    e2e = _best(lambda: tobj.value_and_grad(x), cfg.repeat)
    rates.append(sgemm_rate(cfg.repeat, n=cfg.sgemm_n))
    return {"backend": "torch", "valid": bool(valid), **checks, "e2e_s": e2e,
            "worker_sgemm_gflops": [r / 1e9 for r in rates],
            "setup_s": setup_s, "peak_rss_mib": _peak_rss_mib(), "algorithms": {
                name: "dense" for name in obj.style_branches},
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "numpy_first": _numpy_imported_first()}


def _worker(cfg: BenchConfig) -> dict:
    from randstyle import kernels
    if cfg.threads:
        kernels.set_threads(cfg.threads)
    ref = np.load(cfg.reference)
    if cfg.worker == "torch":
        return _torch_worker(cfg, ref)
    net, obj, x, setup_s = _network_and_inputs(cfg, cfg.worker)
    value, grad = obj.value_and_grad(x)
    checks = {"loss_rel_error": abs(value - float(ref["value"])) / abs(float(ref["value"])),
              "grad_rel_error": normwise_error(grad, ref["grad"])}
    # float32 end to end: ~1e-5 measured between backends; a wrong op is off by 1e-2 or more.
    valid = checks["loss_rel_error"] < 1e-4 and checks["grad_rel_error"] < 1e-3
    b = net.backend
    gpu = b if hasattr(b, "set_tf32") else None
    # The sgemm rate just before and after the evaluation and after the ops: a machine that
    # got busy meanwhile shows in the spread (the parent's table says so).
    rates = [sgemm_rate(cfg.repeat, gpu, cfg.sgemm_n)]
    e2e = _best(lambda: obj.value_and_grad(x), cfg.repeat, b.synchronize)
    rss = _peak_rss_mib()
    # On a GPU the memory that counts is the device's: CuPy's pool peak, not host RSS.
    pool = b.device_pool_bytes() if hasattr(b, "device_pool_bytes") else None
    T = int(obj.content_target.shape[0] + net.config.kernel_size - 1)
    rates.append(sgemm_rate(cfg.repeat, gpu, cfg.sgemm_n))
    # Per op, chained on the real inputs; the whole chain was validated above. GEMM-bound
    # ops carry their FLOPs: the parent divides by the run's roofline (x_sgemm).
    op_flops = _op_flops(net, obj, T)
    ops = {}
    for name, fwd, bwd in _op_list(net, obj, net.asarray(x)):
        ops[name] = {"forward_s": _best(fwd, cfg.repeat, b.synchronize),
                     "backward_s": _best(bwd, cfg.repeat, b.synchronize)}
        if name in op_flops:
            ops[name].update(forward_flop=op_flops[name][0], backward_flop=op_flops[name][1])
    rates.append(sgemm_rate(cfg.repeat, gpu, cfg.sgemm_n))
    # Host traffic per evaluation: the signal in, the gradient out (Objective's only copies).
    x_host = np.asarray(x, dtype=net.dtype)
    g_dev = net.asarray(x_host)
    transfer = {"bytes": 2 * x_host.nbytes,
                "time_s": _best(lambda: (net.asarray(x_host), b.to_numpy(g_dev)), cfg.repeat,
                                b.synchronize)}
    out = {"backend": cfg.worker, "valid": bool(valid), **checks, "e2e_s": e2e,
           "setup_s": setup_s, "peak_rss_mib": rss, "ops": ops, "host_transfer": transfer,
           "T": T, "algorithms": dict(obj.style_algorithms),
           "run_gflop": sum(run_flop_count(T, net, obj).values()) / 1e9,
           "worker_sgemm_gflops": [r / 1e9 for r in rates],
           "numpy_first": _numpy_imported_first(),
           "device_peak_mib": None if pool is None else pool / 2**20}
    if gpu is not None:  # a GPU: its own dense floor and op ratios, on its own matmul rate
        out["floor_s"] = sum(flop_count(T, net).values()) / max(rates)
        _x_sgemm(ops, max(rates))
    return out


def _x_sgemm(ops: dict, rate: float) -> None:
    """Each GEMM-bound op's time as a ratio to the time of its FLOPs at ``rate``."""
    for o in ops.values():
        if "forward_flop" in o:
            o["forward_x_sgemm"] = o["forward_s"] * rate / o["forward_flop"]
            o["backward_x_sgemm"] = o["backward_s"] * rate / o["backward_flop"]


def _run_worker(cfg: BenchConfig, backend: str, reference: str) -> dict:
    cmd = [sys.executable, "-c", WORKER_BOOT, "--worker", backend, "--reference", reference,
           "--n-filters", str(cfg.n_filters), "--seconds", str(cfg.seconds),
           "--style-seconds", str(cfg.style_seconds), "--repeat", str(cfg.repeat),
           "--sgemm-n", str(cfg.sgemm_n)]
    if cfg.threads:
        cmd += ["--threads", str(cfg.threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        return {"backend": backend, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def long_style_rss(cfg: BenchConfig) -> dict:
    """Peak RSS of a whole CLI transfer run (2 iterations) with a long style file on disk."""
    import soundfile as sf

    from randstyle.engine.demo import drum_loop, plucked_melody
    sr = 22050
    with tempfile.TemporaryDirectory() as tmp:
        content, style = Path(tmp, "content.wav"), Path(tmp, "style.wav")
        sf.write(str(content), plucked_melody(cfg.seconds, sr), sr, subtype="PCM_16")
        sf.write(str(style), drum_loop(cfg.long_style_minutes * 60, sr), sr, subtype="PCM_16")
        cmd = [sys.executable, "-m", "randstyle", "transfer", str(content), str(style),
               "-o", str(Path(tmp, "out.wav")), "--maxiter", "2", "--quiet", "--backend", "cpu",
               "--n-filters", str(cfg.n_filters)]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        err = proc.stderr.read().decode().strip()
        return {"style_minutes": cfg.long_style_minutes, "exit_status": status,
                "peak_rss_mib": usage.ru_maxrss / 1024, "wall_s": wall,
                "stderr_tail": err.splitlines()[-1:] if status else []}


def run(cfg: BenchConfig) -> dict:
    from randstyle import engine
    backends = [b.strip() for b in cfg.backends.split(",") if b.strip()]
    for b in backends:
        if b not in ("numpy", "cpu", "cuda", "torch"):
            raise engine.ParameterError(f"unknown backend {b!r} in --backends")
    if cfg.torch and "torch" not in backends and importlib.util.find_spec("torch"):
        backends.append("torch")
    net, obj, x, _ = _network_and_inputs(cfg, "numpy", announce=True)
    value, grad = obj.value_and_grad(x)
    c = net.config
    T = 1 + (len(x) - c.n_fft) // c.hop_length
    flops = flop_count(T, net)
    del obj
    results = {"config": asdict(cfg), "machine": {
        "python": platform.python_version(), "numpy": np.__version__,
        "cpu_count": os.cpu_count(), "platform": platform.platform()},
        "flops": flops, "dense_gflop": sum(flops.values()) / 1e9, "backends": {}}
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        reference = str(Path(tmp, "reference.npz"))
        np.savez(reference, value=value, grad=grad)
        rates.append(sgemm_rate(cfg.repeat, n=cfg.sgemm_n))
        for b in backends:
            print(f"randstyle bench: backend {b}", file=sys.stderr)
            results["backends"][b] = _run_worker(cfg, b, reference)
            rates.append(sgemm_rate(cfg.repeat, n=cfg.sgemm_n))
    # The best rate seen during the run, the CPU workers' included: the roofline is what the
    # machine can do, and every ratio (floor, ops) divides by it.
    rates = [r / 1e9 for r in rates]
    for r in results["backends"].values():
        if "floor_s" not in r:  # a GPU worker's rates are its own device's
            rates += r.get("worker_sgemm_gflops", [])
    rate = max(rates) * 1e9
    floor = results["dense_gflop"] * 1e9 / rate
    results["sgemm_gflops"] = rate / 1e9
    results["sgemm_gflops_runs"] = rates
    results["sgemm_spread"] = max(rates) / min(rates)
    results["floor_s"] = floor
    ref_time = results["backends"].get("numpy", {}).get("e2e_s")
    cpu_time = results["backends"].get("cpu", {}).get("e2e_s")
    for r in results["backends"].values():
        if "floor_s" not in r:
            _x_sgemm(r.get("ops", {}), rate)
        if "e2e_s" in r:
            r["ratio_to_floor"] = r["e2e_s"] / r.get("floor_s", floor)
            if ref_time:
                r["speedup_vs_numpy_ref"] = ref_time / r["e2e_s"]
            if cpu_time:
                r["speedup_vs_cpu"] = cpu_time / r["e2e_s"]
    if cfg.long_style_minutes > 0:
        print(f"randstyle bench: peak RSS with a {cfg.long_style_minutes:g}-minute style",
              file=sys.stderr)
        results["long_style"] = long_style_rss(cfg)
    return results


def _cell(v: Optional[float], fmt: str = "{:.2f}") -> str:
    return "" if v is None else fmt.format(v)


def table(results: dict) -> str:
    gpu_floors = [f"{n}: dense floor {r['floor_s']:.3f} s on its own matmul rate"
                  for n, r in results["backends"].items() if "floor_s" in r]
    n = results["config"].get("sgemm_n", 4096)
    lines = [f"{n}² sgemm (the roofline): {results['sgemm_gflops']:.0f} GFLOP/s; dense "
             f"algorithm: {results['dense_gflop']:.1f} GFLOP per evaluation; dense floor "
             f"{results['floor_s']:.3f} s" + "".join(f"; {g}" for g in gpu_floors)]
    runs = results.get("sgemm_gflops_runs", [])
    if runs and max(runs) > STABLE_SPREAD * min(runs):
        lines.append(f"WARNING: the sgemm rate ranged {min(runs):.0f}-{max(runs):.0f} GFLOP/s "
                     "during the run: the machine was not idle, and these timings (the "
                     "ratios and the torch comparison included) do not stand for it; rerun")
    lines += ["",
              "| backend | valid | style algorithm | GFLOP run | loss+grad (s) | x dense floor | "
              "speedup vs numpy_ref | vs cpu | peak RSS (MiB) | host traffic / eval | "
              "setup (s) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["backends"].items():
        if "error" in r:
            lines.append(f"| {name} | error: {r['error']} | | | | | | | | | |")
            continue
        algos = ", ".join(f"{b} {a}" for b, a in r.get("algorithms", {}).items())
        ht = r.get("host_transfer")
        traffic = f"{ht['bytes'] / 1e6:.1f} MB, {ht['time_s'] * 1e3:.2f} ms" if ht else ""
        lines.append(f"| {name} | {'yes' if r['valid'] else 'NO'} | {algos} | "
                     f"{_cell(r.get('run_gflop'), '{:.1f}')} | {r['e2e_s']:.3f} | "
                     f"{r['ratio_to_floor']:.2f} | {_cell(r.get('speedup_vs_numpy_ref'))} | "
                     f"{_cell(r.get('speedup_vs_cpu'))} | {r['peak_rss_mib']:.0f}"
                     + ("" if r.get("device_peak_mib") is None else
                        f" host, {r['device_peak_mib']:.0f} GPU pool")
                     + f" | {traffic} "
                     f"| {r['setup_s']:.2f} |")
    ops = [n for r in results["backends"].values() for n in r.get("ops", {})]
    names = [b for b, r in results["backends"].items() if "ops" in r]
    lines += ["", "| op (ms, forward / backward; GEMM-bound ops: x the time of their FLOPs "
              f"at the {n}² sgemm roofline) | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    for op in dict.fromkeys(ops):
        cells = []
        for b in names:
            o = results["backends"][b]["ops"].get(op)
            cell = "" if o is None else \
                f"{o['forward_s'] * 1e3:.1f} / {o['backward_s'] * 1e3:.1f}"
            if o is not None and "forward_x_sgemm" in o:
                cell += f" ({o['forward_x_sgemm']:.2f}x / {o['backward_x_sgemm']:.2f}x)"
            cells.append(cell)
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    if "long_style" in results:
        ls = results["long_style"]
        lines += ["", f"{ls['style_minutes']:g}-minute style, whole transfer run (cpu, 2 "
                  f"iterations): peak RSS {ls['peak_rss_mib']:.0f} MiB, exit status "
                  f"{ls['exit_status']}, {ls['wall_s']:.1f} s"]
    return "\n".join(lines)


def _results_path(out: Optional[str]) -> Optional[Path]:
    """Where --out puts the JSON: the file it names (.json), else a new timestamped file in
    the folder it names; a results file is never overwritten. Relative to the working
    folder, as any path a user types (it wrote into the checkout's bench/results before)."""
    if out is None:
        return None
    path = Path(out)
    if path.suffix != ".json":
        path = path / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    if path.exists():
        raise ParameterError(f"--out: {path} exists; name another file")
    if path.parent.exists() and not path.parent.is_dir():
        raise ParameterError(f"--out: {path.parent} is not a folder")
    return path


def main(cfg: BenchConfig) -> int:
    if cfg.worker:
        print(json.dumps(_worker(cfg)))
        return 0
    path = _results_path(cfg.out)  # refused before minutes of timing, not after
    results = run(cfg)
    print(table(results))
    if path is None:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    import argparse_dataclass
    sys.exit(main(argparse_dataclass.ArgumentParser(BenchConfig).parse_args()))
