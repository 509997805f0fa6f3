"""Speed of the Fastfood harmonic conv against the dense one (docs/results/performance.md).

One process, one thread, CPU seconds (time.process_time): the machine is shared, so only
ratios measured in the same run stand. Measures, on the default objective (content 10 s of
plucked melody, style 30 s of drum loop, 4096 filters):
  - the 4096^2 sgemm rate and the dense floor: the dense algorithm's FLOPs
    (engine/bench/harness.flop_count) at that rate;
  - one loss-and-gradient on the cpu backend with dense and with Fastfood filters, each with
    the style's factors exact (--style-factor-tol 0) and cut at the default tolerance ("cut");
  - the harmonic conv's forward and backward alone, for both kinds;
  - PyTorch's CPU autograd of the dense network (engine/bench/torch_ref.py), when torch imports;
  - the expected GPU time on paper from the op counts (fastfood_gpu_paper).
Run: python -m bench.transfer fastfood [--seconds 10 --style-seconds 30 --repeat 3]
"""
# NumPy first, as the harness does: the engine then runs as a library would.
import numpy as np  # noqa: I001  isort: skip
import argparse
import json
import time
from pathlib import Path

from bench import lab
from randstyle import engine, kernels
from randstyle.engine.bench.harness import flop_count
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.model import passes
from randstyle.engine.model.fastfood import padded_size


def cpu_best(f, repeat: int) -> float:
    """Best CPU seconds of f over ``repeat`` runs after one warm-up (JIT, buffers)."""
    f()
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        f()
        best = min(best, time.process_time() - t)
    return best


def sgemm_rate(repeat: int, n: int = 4096) -> float:
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    c = np.empty_like(a)
    return 2.0 * n ** 3 / cpu_best(lambda: np.matmul(a, b, out=c), repeat)


def measure_kind(kind: str, content, style, x, repeat: int, tol: float = 0.0) -> dict:
    """One filter kind, its style factors cut to ``tol`` (--style-factor-tol; 0: exact)."""
    cfg = engine.NetworkConfig(harmonic_filters=kind, style_factor_tol=tol)
    net = engine.Network(cfg, backend="cpu")
    obj = engine.Objective(net, content=content, style=style)
    e2e = cpu_best(lambda: obj.value_and_grad(x), repeat)
    S = net.forward(net.asarray(x), ("logmag",))[0]["logmag"][0]
    dev = net._dev["harmonic"]
    A, cache = passes.conv_relu_forward(net.backend, dev, S)
    fwd = cpu_best(lambda: passes.conv_relu_forward(net.backend, dev, S), repeat)
    bwd = cpu_best(lambda: passes.conv_relu_backward(net.backend, dev, A, cache), repeat)
    rows = {b: t[-1].factor.shape[0] for b, t in obj.style_targets.items()
            if t[-1].factor is not None}
    return {"e2e_s": e2e, "conv_forward_s": fwd, "conv_backward_s": bwd,
            "T": S.shape[0], "algorithms": dict(obj.style_algorithms), "style_rows": rows,
            "net": net, "obj": obj}


def torch_e2e(obj, x, repeat: int):
    try:
        import torch
    except ImportError:
        return None
    from randstyle.engine.bench.torch_ref import TorchObjective
    torch.set_num_threads(1)
    tobj = TorchObjective(obj)
    return cpu_best(lambda: tobj.value_and_grad(x), repeat)


def fastfood_gpu_paper(T: int, K: int, C: int, F: int, rate: float, bandwidth: float) -> dict:
    """Expected GPU seconds of the Fastfood conv forward + backward from its op counts: four
    Walsh-Hadamard transforms of (T', N) as two GEMMs each against the Sylvester factors
    (2 T' N (a + b) FLOPs, N = a b), at ``rate``; and the elementwise passes (padding,
    signs, gather/scatter, diagonal, scale, ReLU mask, col2im: ~12 reads or writes of
    T' N values) at ``bandwidth`` bytes/s. Against the dense conv's 4 T' K C F FLOPs."""
    Tp, N = T - K + 1, padded_size(K, C)
    n = N.bit_length() - 1
    a, b = 1 << (n // 2), 1 << (n - n // 2)
    blocks = -(-F // N)
    flops = 4 * blocks * 2.0 * Tp * N * (a + b)
    bytes_moved = 12 * blocks * Tp * N * 4
    return {"fastfood_gflop": flops / 1e9, "fastfood_s": flops / rate + bytes_moved / bandwidth,
            "dense_gflop": 4.0 * Tp * K * C * F / 1e9, "dense_s": 4.0 * Tp * K * C * F / rate}


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--style-seconds", type=float, default=30.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default=str(lab.RESULTS / "fastfood.json"))
    p.add_argument("--style-clips", default=None,
                   help="the style from real recordings instead of the demo drum loop: "
                        "bench/corpus/render.py clips joined end to end, e.g. drums,piano_chorale "
                        "(--corpus DIR), cut to --style-seconds")
    lab.corpus_option(p)
    args = p.parse_args(argv)
    kernels.set_threads(1)
    sr = engine.NetworkConfig().sr
    content, style = plucked_melody(args.seconds, sr), drum_loop(args.style_seconds, sr)
    if args.style_clips:
        joined = np.concatenate([lab.clip(args.corpus, c, sr) for c in args.style_clips.split(",")])
        style = joined[:int(args.style_seconds * sr)]
    x = content + np.random.default_rng(0).standard_normal(len(content)) * 0.05
    rate = sgemm_rate(args.repeat)
    tol = engine.NetworkConfig().style_factor_tol  # the default cut, against exact (0)
    kinds = {f"{k}{label}": measure_kind(k, content, style, x, args.repeat, t)
             for k in ("dense", "fastfood") for label, t in (("", 0.0), (" cut", tol))}
    rate = max(rate, sgemm_rate(args.repeat))  # the roofline: the better of before and after
    dense = kinds["dense"]
    floor = sum(flop_count(dense["T"], dense["net"]).values()) / rate  # T: STFT frames
    t_torch = torch_e2e(dense["obj"], x, args.repeat)
    c = dense["net"].config
    gpu = fastfood_gpu_paper(dense["T"], c.kernel_size, c.n_fft // 2 + 1,
                             c.n_filters, rate=50e12, bandwidth=3.0e12)
    out = {"sgemm_gflops_1thread": rate / 1e9, "dense_floor_s": floor, "torch_e2e_s": t_torch,
           "gpu_paper_h100": gpu,
           **{k: {key: v for key, v in d.items() if key not in ("net", "obj")}
              for k, d in kinds.items()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(table(out))
    return 0


def table(r: dict) -> str:
    floor, torch_s = r["dense_floor_s"], r["torch_e2e_s"]
    lines = [f"sgemm 4096^2, 1 thread: {r['sgemm_gflops_1thread']:.1f} GFLOP/s; dense floor "
             f"{floor:.3f} s" + (f"; torch autograd (dense) {torch_s:.3f} s" if torch_s else
                                 "; torch not installed"),
             *lab.head("filters", "loss+grad s", "x dense floor", "torch / this", "conv fwd s",
                       "conv bwd s", "style loss")]
    for k in [k for k, d in r.items() if isinstance(d, dict) and "e2e_s" in d]:
        d = r[k]
        vs_torch = f"{torch_s / d['e2e_s']:.1f}" if torch_s else "-"
        lines.append(f"| {k} | {d['e2e_s']:.3f} | {d['e2e_s'] / floor:.2f} | {vs_torch} | "
                     f"{d['conv_forward_s']:.3f} | {d['conv_backward_s']:.3f} | "
                     f"{', '.join(f'{b} {a}' for b, a in d['algorithms'].items())}; style rows "
                     f"{d.get('style_rows')} |")
    g = r["gpu_paper_h100"]
    lines.append(f"GPU on paper (50 TFLOP/s, 3 TB/s): harmonic conv fwd+bwd dense "
                 f"{g['dense_gflop']:.1f} GFLOP {g['dense_s'] * 1e3:.2f} ms; fastfood "
                 f"{g['fastfood_gflop']:.1f} GFLOP {g['fastfood_s'] * 1e3:.2f} ms")
    return "\n".join(lines)

