"""Benchmark: lesson 05's attention against ``F.scaled_dot_product_attention`` on CPU.

The code under test is the solution notebook's own (``solutions/05_attention.ipynb``, loaded with
``autograder.notebook.load_notebook``): ``attention(q, k, v, mask)`` and ``MultiHeadAttention``.

Shapes: B=8 sequences, 8 heads, T=256 tokens, head dim 64 (d_model = 512), float32, causal.

Rows
    attention fwd / fwd+bwd   ours: ``attention(q, k, v, causal_mask(T))`` on (B, h, T, 64) tensors
                              baseline: ``F.scaled_dot_product_attention(q, k, v, is_causal=True)``
    MHA fwd / fwd+bwd         ours: ``MultiHeadAttention(512, 8)(x, causal=True)`` on (B, T, 512)
                              baseline: the same module's in_proj / out_proj with SDPA in the middle,
                              so only the attention core differs
"fwd" runs under ``torch.no_grad()``; "fwd+bwd" records the graph and computes the gradients of
``sum(out * g)`` with respect to the inputs (and, for the module, its weights) with
``torch.autograd.grad`` (no ``.grad`` accumulation between runs).

Timing: after a warm-up, ours and the baseline run alternately ``repeats`` times (so both see the
same machine load); ``ours_ms`` / ``sdpa_ms`` are medians, ``ratio`` = ours_ms / sdpa_ms (aim: <= 2),
and the ``*_best_ms`` columns are the fastest runs (more stable on a busy machine).

Peak memory: one extra, untimed run inside ``torch.profiler.profile(profile_memory=True)``, which
records every allocation and free made through PyTorch's CPU allocator (all tensor storage). We
replay those records in time order and report the highest total reached during the call, above
what was allocated before it started: tensors that already existed (inputs, weights) are not
counted, temporaries and results are.

Run ``python benchmarks/bench_attention.py`` (``--repeats N``, ``--threads N``); other code can call
:func:`run`, which returns one dict per row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from autograder.notebook import load_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import peak_memory_mb  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "05_attention.ipynb"
B, HEADS, T, HEAD_DIM = 8, 8, 256, 64


def time_ms(fns: list[Callable[[], object]], repeats: int, warmup: int = 2) -> list[list[float]]:
    """Run the functions alternately; the times of each, in milliseconds."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - start) * 1e3)
    return times


def _row(name: str, ours: Callable[[], object], sdpa: Callable[[], object], repeats: int, note: str) -> dict:
    ours_t, sdpa_t = time_ms([ours, sdpa], repeats)
    ours_ms, sdpa_ms = statistics.median(ours_t), statistics.median(sdpa_t)
    return {"benchmark": name, "ours_ms": round(ours_ms, 1), "sdpa_ms": round(sdpa_ms, 1),
            "ratio": round(ours_ms / sdpa_ms, 2),
            "ours_best_ms": round(min(ours_t), 1), "sdpa_best_ms": round(min(sdpa_t), 1),
            "ratio_best": round(min(ours_t) / min(sdpa_t), 2),
            "peak_mem_mb": round(peak_memory_mb(ours), 1), "sdpa_peak_mem_mb": round(peak_memory_mb(sdpa), 1),
            "note": note}


def run(repeats: int = 7, threads: int | None = None) -> list[dict]:
    """Time the solution's attention and multi-head attention against SDPA; one dict per row."""
    if threads:
        torch.set_num_threads(threads)
    ns = load_notebook(NOTEBOOK)
    if ns.cell_errors:
        raise RuntimeError(f"{NOTEBOOK.name} did not load: {ns.cell_errors[0].describe()}")
    attention, causal_mask, MultiHeadAttention = ns.attention, ns.causal_mask, ns.MultiHeadAttention

    torch.manual_seed(0)
    q, k, v = (torch.randn(B, HEADS, T, HEAD_DIM, requires_grad=True) for _ in range(3))
    g = torch.randn(B, HEADS, T, HEAD_DIM)
    mask = causal_mask(T)

    def ours_core():
        return attention(q, k, v, mask)[0]

    def sdpa_core():
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    d = HEADS * HEAD_DIM
    module = MultiHeadAttention(d, HEADS)
    x = torch.randn(B, T, d, requires_grad=True)
    gx = torch.randn(B, T, d)
    params = list(module.parameters())

    def ours_mha():
        return module(x, causal=True)

    def sdpa_mha():
        qm, km, vm = (t.view(B, T, HEADS, HEAD_DIM).transpose(1, 2) for t in module.in_proj(x).split(d, dim=-1))
        out = F.scaled_dot_product_attention(qm, km, vm, is_causal=True)
        return module.out_proj(out.transpose(1, 2).reshape(B, T, d))

    with torch.no_grad():  # same numbers first: a benchmark of wrong code measures nothing
        torch.testing.assert_close(ours_core(), sdpa_core(), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(ours_mha(), sdpa_mha(), atol=1e-4, rtol=1e-4)

    def forward(fn):
        def call():
            with torch.no_grad():
                return fn()
        return call

    def core_backward(fn):
        return lambda: torch.autograd.grad(fn(), [q, k, v], g)

    def mha_backward(fn):
        return lambda: torch.autograd.grad(fn(), [x, *params], gx)

    shape = f"B={B}, heads={HEADS}, T={T}, head dim={HEAD_DIM}, float32, causal, {torch.get_num_threads()} threads"
    return [
        _row("attention fwd", forward(ours_core), forward(sdpa_core), repeats, shape),
        _row("attention fwd+bwd", core_backward(ours_core), core_backward(sdpa_core), repeats, "grads of q, k, v"),
        _row("MHA fwd", forward(ours_mha), forward(sdpa_mha), repeats,
             "d_model=512; baseline = same projections + SDPA"),
        _row("MHA fwd+bwd", mha_backward(ours_mha), mha_backward(sdpa_mha), repeats, "grads of x and all weights"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each function (default 7)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's)")
    args = parser.parse_args()
    rows = run(args.repeats, args.threads)
    columns = ["benchmark", "ours_ms", "sdpa_ms", "ratio", "ours_best_ms", "sdpa_best_ms", "ratio_best",
               "peak_mem_mb", "sdpa_peak_mem_mb"]
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads; times: median of {args.repeats} runs")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)) + "  note")
    for r in rows:
        print("  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths)) + "  " + r["note"])


if __name__ == "__main__":
    main()
