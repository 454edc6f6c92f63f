"""Extra (non-graded) properties of lesson 10's solution: scans at awkward lengths, the benchmark's shape."""

from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.nn.functional as F

from autograder.catalog import REPO_ROOT, SOLUTIONS_DIR

from .conftest import load_lesson


@pytest.fixture(scope="module")
def solution():
    return load_lesson(SOLUTIONS_DIR, "10")


@pytest.mark.parametrize("L", [1, 2, 3, 7, 8, 9, 33, 100])
def test_scans_agree_with_mambapy_at_any_length(solution, L: int) -> None:
    from mambapy.mamba import MambaBlock

    g = torch.Generator().manual_seed(L)
    u, B, C = torch.randn(2, L, 5, generator=g), torch.randn(2, L, 3, generator=g), torch.randn(2, L, 3, generator=g)
    delta, A, D = F.softplus(torch.randn(2, L, 5, generator=g)), -torch.rand(5, 3, generator=g), torch.randn(5, generator=g)
    want = MambaBlock.selective_scan(None, u, delta, A, B, C, D)
    for name in ("selective_scan_sequential", "selective_scan_parallel"):
        torch.testing.assert_close(getattr(solution, name)(u, delta, A, B, C, D), want, atol=1e-4, rtol=1e-4)


def test_mamba_block_is_causal_and_shape_preserving(solution) -> None:
    torch.manual_seed(0)
    block = solution.MambaBlock(16, d_state=4)
    x = torch.randn(3, 12, 16)
    with torch.no_grad():
        y = block(x)
        x[:, 7:] = torch.randn(3, 5, 16)
        assert torch.equal(block(x)[:, :7], y[:, :7])
    assert y.shape == x.shape


def test_bench_scan_returns_rows() -> None:
    spec = importlib.util.spec_from_file_location("bench_scan", REPO_ROOT / "benchmarks" / "bench_scan.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    threads = torch.get_num_threads()
    try:
        rows = bench.run(repeats=1, max_t=256)
    finally:
        torch.set_num_threads(threads)
    assert {r["T"] for r in rows} == {128, 256}
    assert len(rows) == 2 * 5
    assert all(r["ms"] > 0 and r["peak_MiB"] >= 0 for r in rows)


def test_missing_softplus_is_reported_as_nan_first(solution) -> None:
    """Issue 12: a block whose Δ skips the softplus gives NaN; the message must say NaN and name the cause
    (not "not causal", which is what a NaN output used to be reported as), in the kit's practice tier too."""
    from autograder.catalog import get_testdata
    from autograder.runner import run_exercise

    from .conftest import with_source

    lesson = get_testdata("10")
    mutant = next(m for m in lesson.mutants if m.description == "Δ not passed through softplus")
    namespace = with_source(solution, mutant.source, "no softplus")
    for tiers in (("practice",), ("practice", "grading")):
        result = run_exercise(lesson.get("MambaBlock"), namespace, tiers=tiers)
        assert not result.passed
        assert "NaN" in result.message.splitlines()[0], result.line()
        assert "not passed through softplus" in result.message and "not causal" not in result.message, result.line()
