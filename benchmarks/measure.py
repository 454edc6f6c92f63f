"""Measuring helpers shared by the benchmarks."""

from __future__ import annotations

from typing import Callable


def peak_memory_mb(fn: Callable[[], object]) -> float:
    """Peak MiB allocated by PyTorch's CPU allocator while ``fn`` runs (above the level at the start)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    records = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                     if e.name() == "[memory]")
    current = peak = 0
    for _, nbytes in records:
        current += nbytes
        peak = max(peak, current)
    return peak / 2**20
