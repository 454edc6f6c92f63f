"""Extra (non-graded) tests for lesson 05: properties of the solution and the benchmark's tools."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from autograder.catalog import REPO_ROOT, SOLUTIONS_DIR

from .conftest import load_lesson


@pytest.fixture(scope="module")
def ns():
    return load_lesson(SOLUTIONS_DIR, "05")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_attention", REPO_ROOT / "benchmarks" / "bench_attention.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_attention_is_permutation_equivariant(ns) -> None:
    """Without a mask, attention ignores order: permuting the keys (with their values) changes nothing,
    permuting the queries permutes the output rows."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 7, 4, generator=g) for _ in range(3))
    out, _ = ns.attention(q, k, v)
    perm = torch.randperm(7, generator=g)
    torch.testing.assert_close(ns.attention(q, k[:, perm], v[:, perm])[0], out)
    torch.testing.assert_close(ns.attention(q[:, perm], k, v)[0], out[:, perm])


def test_one_head_equals_attention(ns) -> None:
    """With a single head and identity projections, multi-head attention is plain attention."""
    d = 6
    mha = ns.MultiHeadAttention(d, 1, bias=False)
    with torch.no_grad():
        mha.in_proj.weight.copy_(torch.cat([torch.eye(d)] * 3))
        mha.out_proj.weight.copy_(torch.eye(d))
    x = torch.randn(2, 5, d)
    want, _ = ns.attention(x, x, x, ns.causal_mask(5))
    torch.testing.assert_close(mha(x, causal=True), want)


def test_peak_memory_counts_temporaries() -> None:
    """The benchmark's peak-memory probe sees a 4 MiB temporary that is freed before the call ends."""
    bench = _bench()

    def make_and_drop():
        tmp = torch.ones(1024, 1024)  # 4 MiB of float32
        return float(tmp.sum())

    peak = bench.peak_memory_mb(make_and_drop)
    assert 3.9 < peak < 4.5, peak
