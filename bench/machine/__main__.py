"""``python -m bench.machine SUBCOMMAND``: speed and memory on this machine, the GPU check."""
import sys

from bench.commands import run

DOC = ("This machine: speed against the sgemm rate, memory, the GPU check "
       "(docs/results/performance.md, memory.md, docs/gpu.md).")
COMMANDS = {
    "conv-rate": ("bench.machine.conv_rate", "the harmonic conv against the 4096² sgemm rate"),
    "single-thread": ("bench.machine.single_thread", "one thread, CPU time, against the dense "
                                                     "floor"),
    "import-order": ("bench.machine.import_order", "evaluation time, NumPy imported first or "
                                                   "the engine first"),
    "memory": ("bench.machine.memory", "the memory estimate against the peak RSS of CLI runs"),
    "worker-memory": ("bench.machine.worker_memory", "a batch worker's memory over 20 rows"),
    "gpu-check": ("bench.machine.gpu_check", "validate the cuda backend on this machine's GPU "
                                             "(--emulate: without one)"),
}

if __name__ == "__main__":
    sys.exit(run("machine", DOC, COMMANDS))
