"""Benchmark: attention against lesson 10's selective scans as the sequence grows (CPU).

The scans under test are the solution notebook's own (``solutions/10_mamba.ipynb``, loaded with
``autograder.notebook.load_notebook``): ``selective_scan_sequential`` (a loop over time) and
``selective_scan_parallel`` (Hillis-Steele doubling, ceil(log2 T) rounds). For comparison:
``mambapy``'s selective scan (a work-efficient Blelloch scan, in place), attention written out
(QKᵀ, causal mask, softmax, ·V: the T×T matrix is materialised) and PyTorch's fused
``F.scaled_dot_product_attention``.

Shapes (batch 1, float32, forward only under ``torch.no_grad()``):
    attention  one head of size 64: q, k, v of shape (1, 1, T, 64)
    scans      64 channels with N = 8 states: u, Δ of shape (1, T, 64), A (64, 8), B, C (1, T, 8)
T = 128, 256, ..., 8192. The sizes are capped at 8192 so that the whole run stays under about two
minutes on 2 shared CPU cores (written-out attention alone needs 3 × 256 MiB at T = 8192).

Timing: one warm-up call, then the best of ``repeats`` calls (two for T >= 2048): the fastest run is
the most stable figure on a busy machine.
Peak memory: one extra, untimed call inside ``torch.profiler.profile(profile_memory=True)``; we replay
the allocator's allocation and free records in time order and report the highest total above the level
at the start (inputs are not counted; temporaries, fused kernels' scratch space and results are).

Threads: one by default. The scans are many small operations; with several threads on a busy machine
(or a 2-core laptop running anything else) the threads spend most of their time waiting for each other
(on the shared 2-core machine of the course, a training step of lesson 10's Mamba LM took 4.6 s with 2
threads and 0.3 s with 1).
``--threads 0`` keeps PyTorch's default.

Run ``python benchmarks/bench_scan.py`` (``--repeats N``, ``--threads N``, ``--max-t T``); other code can
call :func:`run`, which returns one dict per row.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from autograder.notebook import load_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import peak_memory_mb  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "10_mamba.ipynb"
HEAD_DIM, CHANNELS, STATES = 64, 64, 8
SIZES = [128, 256, 512, 1024, 2048, 4096, 8192]


def time_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return min(times)


def attention_written_out(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    return scores.softmax(dim=-1) @ v


def run(repeats: int = 3, threads: int | None = 1, max_t: int = SIZES[-1]) -> list[dict]:
    """Time and measure attention and the scans for T = 128 ... max_t; one dict per (T, method)."""
    if threads:
        torch.set_num_threads(threads)
    ns = load_notebook(NOTEBOOK)
    if ns.cell_errors:
        raise RuntimeError(f"{NOTEBOOK.name} did not load: {ns.cell_errors[0].describe()}")
    from mambapy.mamba import MambaBlock

    methods: dict[str, Callable] = {
        "attention (written out)": lambda a: attention_written_out(*a["qkv"]),
        "attention (SDPA, fused)": lambda a: F.scaled_dot_product_attention(*a["qkv"], is_causal=True),
        "scan, sequential (lesson)": lambda a: ns.selective_scan_sequential(*a["scan"]),
        "scan, parallel (lesson)": lambda a: ns.selective_scan_parallel(*a["scan"]),
        "scan, mambapy pscan": lambda a: MambaBlock.selective_scan(None, *a["scan"]),
    }
    rows = []
    for T in [t for t in SIZES if t <= max_t]:
        g = torch.Generator().manual_seed(0)
        inputs = {
            "qkv": [torch.randn(1, 1, T, HEAD_DIM, generator=g) for _ in range(3)],
            "scan": [torch.randn(1, T, CHANNELS, generator=g),
                     F.softplus(torch.randn(1, T, CHANNELS, generator=g)),
                     -torch.rand(CHANNELS, STATES, generator=g) - 0.1,
                     torch.randn(1, T, STATES, generator=g), torch.randn(1, T, STATES, generator=g),
                     torch.randn(CHANNELS, generator=g)],
        }
        with torch.no_grad():  # same numbers first: a benchmark of wrong code measures nothing
            reference = MambaBlock.selective_scan(None, *inputs["scan"])
            for name in ("scan, sequential (lesson)", "scan, parallel (lesson)"):
                torch.testing.assert_close(methods[name](inputs), reference, atol=1e-3, rtol=1e-3)
            for name, method in methods.items():
                call = lambda: method(inputs)  # noqa: E731
                rows.append({"T": T, "method": name,
                             "ms": round(time_ms(call, repeats if T < 2048 else min(repeats, 2)), 2),
                             "peak_MiB": round(peak_memory_mb(call), 2)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: PyTorch's default)")
    parser.add_argument("--max-t", type=int, default=SIZES[-1])
    args = parser.parse_args()
    start = time.perf_counter()
    rows = run(args.repeats, args.threads, args.max_t)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    print(f"time in ms / peak memory in MiB, CPU, {torch.get_num_threads()} threads "
          f"(attention: 1 head of {HEAD_DIM}; scans: {CHANNELS} channels x {STATES} states)")
    header = f"{'T':>6}  " + "  ".join(f"{m:>26}" for m in methods)
    print(header)
    print("-" * len(header))
    for T in dict.fromkeys(r["T"] for r in rows):
        cells = {r["method"]: f"{r['ms']:>9.1f} ms {r['peak_MiB']:>8.1f} MiB" for r in rows if r["T"] == T}
        print(f"{T:>6}  " + "  ".join(f"{cells[m]:>26}" for m in methods))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
