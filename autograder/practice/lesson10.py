"""Practice checks for lesson 10 — selective state spaces (Mamba).

Shipped to students: no solution code in here.  The selective scans and the Mamba block are
compared with the ``mambapy`` package, the lesson's named reference (its scans directly; its
``MambaBlock`` with the same weights copied in), values and gradients.  The rest is checked by
properties (an exact discretisation composes: two steps of Δ are one step of 2Δ; no output
depends on a later input; a parallel scan runs O(log L) rounds of tensor operations, not one per
step), small worked examples with the numbers written out, and stored example outputs
(``examples/10_mamba.json``), which also name the known mistakes.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ..feedback import describe, expect_close, expect_type
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("10", "mamba", "Beyond attention: selective state spaces (Mamba)")
stored = lesson.examples


# ---------------------------------------------------------------- inputs and library calls (the grading checks use them too)

def stable_system(N: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A float64 (N, N) matrix A whose eigenvalues have negative real parts (decay, with rotation),
    and a vector B of length N."""
    gen = torch.Generator().manual_seed(seed)
    M = torch.randn(N, N, generator=gen, dtype=torch.float64)
    S = torch.randn(N, N, generator=gen, dtype=torch.float64)
    A = -(M @ M.T / N + 0.5 * torch.eye(N, dtype=torch.float64)) + (S - S.T)
    return A, torch.randn(N, generator=gen, dtype=torch.float64)


ZOH_CASES = [(3, 0.1, 0), (4, 0.7, 1), (1, 2.0, 2)]        # (N, delta, seed)
RECURRENCE_CASES = [(3, 12, 0), (1, 5, 1), (4, 1, 2)]       # (N, L, seed)
SCAN_CASES = [(2, 13, 6, 4, 0), (1, 64, 8, 16, 1), (3, 1, 2, 3, 2)]   # (b, L, ED, N, seed)
CONV_CASES = [(2, 9, 5, 4, 0), (1, 3, 2, 3, 1), (2, 6, 3, 1, 2)]      # (b, L, channels, K, seed)


#: A one-dimensional system small enough to follow by hand.
WORKED_RECURRENCE = (torch.tensor([[0.5]]), torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([1.0, 0.0, 0.0, 4.0]))
WORKED_CALL = "ssm_recurrent(A_bar=[[0.5]], B_bar=[1.], C=[2.], u=[1., 0., 0., 4.])"


def recurrence_inputs(N: int, L: int, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(100 + seed)
    return [torch.randn(N, N, generator=gen) * 0.4, torch.randn(N, generator=gen), torch.randn(N, generator=gen),
            torch.randn(L, generator=gen)]


def scan_inputs(b: int, L: int, ED: int, N: int, seed: int, requires_grad: bool = False) -> list[torch.Tensor]:
    """u, delta, A, B, C, D with mambapy's shapes: delta > 0 (mostly 0.1 .. 1), A < 0."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(b, L, ED, generator=gen)
    delta = F.softplus(torch.randn(b, L, ED, generator=gen) - 1.0)
    A = -torch.exp(torch.randn(ED, N, generator=gen) * 0.5)
    B = torch.randn(b, L, N, generator=gen)
    C = torch.randn(b, L, N, generator=gen)
    D = torch.randn(ED, generator=gen)
    return [t.requires_grad_(requires_grad) for t in (u, delta, A, B, C, D)]


def conv_inputs(b: int, L: int, ch: int, K: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(200 + seed)
    return torch.randn(b, L, ch, generator=gen), torch.randn(ch, K, generator=gen), torch.randn(ch, generator=gen)


def mambapy_scans(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                  D: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """mambapy's parallel (pscan) and sequential selective scans on the same inputs."""
    from mambapy.mamba import MambaBlock

    owner = SimpleNamespace(config=SimpleNamespace(d_inner=u.shape[-1], d_state=A.shape[-1]))
    return (MambaBlock.selective_scan(None, u, delta, A, B, C, D),
            MambaBlock.selective_scan_seq(owner, u, delta, A, B, C, D))


class CountOps(TorchFunctionMode):
    """Counts the torch functions and tensor methods called from Python."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        self.count += 1
        return func(*args, **(kwargs or {}))


BLOCK_CONFIG = dict(d_model=8, n_layers=1, d_state=4, expand_factor=2, d_conv=3, dt_rank=2)


def mamba_pair(ns: Namespace, large_delta: bool) -> tuple[nn.Module, nn.Module]:
    """mambapy's MambaBlock (seeded; with ``large_delta`` its Δ starts around 1 instead of 0.001 .. 0.1)
    and the learner's MambaBlock with the same weights."""
    from mambapy.mamba import MambaBlock, MambaConfig

    with torch.random.fork_rng():
        torch.manual_seed(0)
        theirs = MambaBlock(MambaConfig(**BLOCK_CONFIG))
        if large_delta:
            with torch.no_grad():
                theirs.dt_proj.bias.uniform_(0.5, 1.5)
        ours = ns.MambaBlock(8, d_state=4, expand=2, d_conv=3, dt_rank=2)
    if not isinstance(ours, nn.Module):
        raise CheckFailure(f"MambaBlock(8, ...) should be an nn.Module, got {describe(ours)}.")
    want_shapes = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    got_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    if want_shapes != got_shapes:
        raise CheckFailure(f"MambaBlock's parameters differ from mambapy's: expected {want_shapes}, got {got_shapes}.",
                           "Keep the provided __init__ unchanged; write only forward.")
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def expect_finite_block_output(out: torch.Tensor, what: str) -> None:
    """NaN or inf first, with its usual causes: both make Ā = exp(ΔA) larger than 1."""
    expect_type(out, torch.Tensor, what)
    bad = ~torch.isfinite(out.detach())
    if bad.any():
        raise CheckFailure(f"{what} contains NaN or inf ({int(bad.sum())} of {out.numel()} entries). The likely "
                           "cause: Δ was not passed through softplus. dt_proj's bias starts near -5, so without "
                           "softplus Δ is negative, Ā = exp(Δ·A) is larger than 1, and the state grows at every "
                           f"step until it overflows.\n    got {describe(out)}",
                           "Apply softplus to the output of dt_proj, so that Δ > 0. Check also that A = "
                           "-exp(A_log) keeps its minus sign: A must be negative for the same reason.")


def expect_causal(fn: Any, x: torch.Tensor, got: torch.Tensor, start: int, what: str, hint: str) -> None:
    """Changing the input from step ``start`` on must leave the outputs of steps 0 .. start - 1 alone."""
    later = x.clone()
    later[:, start:] += 3.0
    with torch.no_grad():
        changed = fn(later)
    if not torch.allclose(changed[:, :start], got.detach()[:, :start], atol=1e-5):
        raise CheckFailure(f"{what}: changing the input from step {start} on changed the output at steps 0 .. "
                           f"{start - 1}: a future input changed an earlier output, so it is not causal.", hint)


# ---------------------------------------------------------------- 1. zero-order hold

@lesson.exercise("discretize_zoh", points=2,
                 hint="Ā is the matrix exponential of Δ·A (torch.linalg.matrix_exp, not the elementwise torch.exp); "
                      "B̄ = (ΔA)⁻¹ (Ā − I) Δ·B, where multiplying by (ΔA)⁻¹ is best done with torch.linalg.solve.")
def discretize_zoh(ns: Namespace) -> None:
    for N, delta, seed in ZOH_CASES:
        A, B = stable_system(N, seed)
        what = f"discretize_zoh(A, B, delta={delta}) for a stable {N}x{N} A (float64)"
        result = ns.discretize_zoh(A.clone(), B.clone(), delta)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailure(f"{what} should return a pair (A_bar, B_bar), got {describe(result)}.")
        A_bar, B_bar = result
        expect_type(A_bar, torch.Tensor, f"A_bar from {what}")
        expect_type(B_bar, torch.Tensor, f"B_bar from {what}")
        stored.expect("discretize_zoh", f"A_bar from {what}", A_bar, atol=1e-9, rtol=1e-9)
        stored.expect("discretize_zoh", f"B_bar from {what}", B_bar, atol=1e-9, rtol=1e-9)
    # Exactness: two ZOH steps of Δ are one ZOH step of 2Δ (Ā₂ = Ā², B̄₂ = Ā B̄ + B̄); Euler's are not.
    A, B = stable_system(3, seed=5)
    A_1, B_1 = ns.discretize_zoh(A.clone(), B.clone(), 0.3)
    A_2, B_2 = ns.discretize_zoh(A.clone(), B.clone(), 0.6)
    expect_close(A_2, A_1 @ A_1, "discretize_zoh(A, B, 0.6)'s A_bar, compared with the square of "
                 "discretize_zoh(A, B, 0.3)'s (an exact discretisation composes: two steps of Δ are one of 2Δ)",
                 atol=1e-9, rtol=1e-9)
    expect_close(B_2, A_1 @ B_1 + B_1, "discretize_zoh(A, B, 0.6)'s B_bar, compared with two steps of 0.3 "
                 "(A_bar B_bar + B_bar for delta = 0.3)", atol=1e-9, rtol=1e-9)


# ---------------------------------------------------------------- 2. the recurrence

@lesson.exercise("ssm_recurrent", points=1,
                 hint="Start from a zero state. At every step, first update the state with the input (decayed old "
                      "state plus B̄ times the input), then read the output from the new state with C.")
def ssm_recurrent(ns: Namespace) -> None:
    one = ns.ssm_recurrent(*WORKED_RECURRENCE)
    stored.expect("ssm_recurrent", f"{WORKED_CALL} (states 1, 0.5, 0.25, 4.125, so y = 2, 1, 0.5, 8.25)", one,
                  torch.tensor([2.0, 1.0, 0.5, 8.25]), check_dtype=False)
    for N, L, seed in RECURRENCE_CASES:
        A_bar, B_bar, C, u = recurrence_inputs(N, L, seed)
        got = ns.ssm_recurrent(A_bar.clone(), B_bar.clone(), C.clone(), u.clone())
        stored.expect("ssm_recurrent", f"ssm_recurrent(A_bar, B_bar, C, u) with N = {N}, L = {L} (random, seed {seed})",
                      got, atol=1e-5, check_dtype=False)


# ---------------------------------------------------------------- 3-4. selective scans

def check_scan_against_mambapy(ns: Namespace, name: str) -> None:
    fn = getattr(ns, name)
    for b, L, ED, N, seed in SCAN_CASES:
        args = scan_inputs(b, L, ED, N, seed)
        got = fn(*[t.clone() for t in args])
        what = f"{name}(u, delta, A, B, C, D) with (b, L, ED, N) = {(b, L, ED, N)}, compared with mambapy's scan"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (b, L, ED):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (b, L, ED) = {(b, L, ED)}.",
                               "Sum the state times C over the N state dimensions.")
        pscan, _ = mambapy_scans(*args)
        stored.expect(name, what, got.detach(), pscan, atol=1e-4, check_dtype=False)


@lesson.exercise("selective_scan_sequential", points=2,
                 hint="Compute Ā = exp(Δ·A) and B̄u = Δ·u·B for all steps at once, shape (b, L, ED, N), with "
                      "broadcasting; then loop over t with a state h of shape (b, ED, N): decay it, add the step's "
                      "input, read y_t with C_t (sum over N); finally add the skip term D·u.")
def selective_scan_sequential(ns: Namespace) -> None:
    check_scan_against_mambapy(ns, "selective_scan_sequential")


def expect_log_rounds(ns: Namespace) -> None:
    """A parallel scan runs O(log L) rounds of whole-tensor operations, not one round per step."""
    counts = {}
    for L in (64, 512):
        args = scan_inputs(1, L, 2, 2, seed=7)
        with torch.no_grad(), CountOps() as counter:
            ns.selective_scan_parallel(*args)
        counts[L] = counter.count
    if counts[512] - counts[64] > 200:
        raise CheckFailure(f"selective_scan_parallel ran {counts[64]} tensor operations for L = 64 and "
                           f"{counts[512]} for L = 512: the count grows with L, so it still loops over time "
                           "steps.", "A parallel scan takes log2(L) rounds, each one a few whole-tensor "
                           "operations (Hillis-Steele doubling, or Blelloch's up- and down-sweep).")


def expect_scan_gradients(ns: Namespace) -> None:
    """Gradients through selective_scan_parallel equal those through mambapy's parallel scan."""
    args = scan_inputs(2, 21, 4, 3, seed=5, requires_grad=True)
    ref_args = [t.detach().clone().requires_grad_(True) for t in args]
    w = torch.randn(2, 21, 4, generator=torch.Generator().manual_seed(6))
    got = ns.selective_scan_parallel(*args)
    if not got.requires_grad:
        raise CheckFailure("the output of selective_scan_parallel does not require grad: the scan must be "
                           "differentiable (no .detach(), no torch.no_grad(), no in-place writes to inputs).")
    (got * w).sum().backward()
    (mambapy_scans(*ref_args)[0] * w).sum().backward()
    for name, mine, ref in zip(["u", "delta", "A", "B", "C", "D"], args, ref_args):
        if mine.grad is None:
            raise CheckFailure(f"no gradient reached `{name}` through selective_scan_parallel.")
        expect_close(mine.grad, ref.grad, f"the gradient with respect to {name}, compared with mambapy's scan",
                     atol=1e-4, check_dtype=False)


@lesson.exercise("selective_scan_parallel", points=3,
                 hint="Keep pairs (a, b) = (Ā, B̄u) along time. In the round with distance k = 1, 2, 4, ... < L, "
                      "every element t >= k absorbs element t - k: its b becomes its own a times the earlier b, "
                      "plus its own b; its a becomes the product of the two a's. After the last round, b_t is h_t.")
def selective_scan_parallel(ns: Namespace) -> None:
    check_scan_against_mambapy(ns, "selective_scan_parallel")
    expect_scan_gradients(ns)
    expect_log_rounds(ns)


# ---------------------------------------------------------------- 5. causal convolution

@lesson.exercise("causal_conv1d", points=1,
                 hint="Output t may use inputs t - K + 1 .. t only: pad K - 1 zeros on the left of the time axis "
                      "(none on the right), then a depthwise convolution (F.conv1d with groups=channels on "
                      "(b, channels, L)).")
def causal_conv1d(ns: Namespace) -> None:
    for b, L, ch, K, seed in CONV_CASES:
        x, weight, bias = conv_inputs(b, L, ch, K, seed)
        what = f"causal_conv1d(x of shape {(b, L, ch)}, weight of shape {(ch, K)}, bias)"
        got = ns.causal_conv1d(x.clone(), weight.clone(), bias.clone())
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (b, L, ch):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected {(b, L, ch)}: as long as the input.",
                               "Pad K - 1 zeros on the left only, so the output keeps L steps.")
        if K > 1 and L > 2:
            expect_causal(lambda z: ns.causal_conv1d(z, weight.clone(), bias.clone()), x, got, L // 2, what,
                          "Pad K - 1 zeros on the *left* (the past) only: output t may use inputs t - K + 1 .. t.")
        stored.expect("causal_conv1d", f"{what}, random (seed {seed})", got, atol=1e-5, check_dtype=False)
    x = torch.arange(1.0, 6.0).view(1, 5, 1)
    got = ns.causal_conv1d(x, torch.tensor([[1.0, 10.0, 100.0]]), torch.tensor([0.0]))
    stored.expect("causal_conv1d", "causal_conv1d(x = [1, 2, 3, 4, 5] (one channel), weight = [[1, 10, 100]], "
                  "bias = [0]): out[t] = x[t-2] + 10 x[t-1] + 100 x[t]", got,
                  torch.tensor([100.0, 210.0, 321.0, 432.0, 543.0]).view(1, 5, 1), check_dtype=False)


# ---------------------------------------------------------------- 6. the Mamba block

@lesson.exercise("MambaBlock", points=3,
                 hint="in_proj gives two halves, x and the gate z. x goes through causal_conv1d (with conv1d's "
                      "weight and bias) and SiLU; x_proj of that gives Δ (low rank), B and C; dt_proj and softplus "
                      "make Δ positive, one per channel; A = -exp(A_log); scan; multiply by SiLU(z); out_proj. If "
                      "this fails but the scan and conv checks pass, look at the order of these steps.")
def mamba_block(ns: Namespace) -> None:
    x = torch.randn(2, 10, 8, generator=torch.Generator().manual_seed(1))
    # as initialised (Δ 0.001 .. 0.1): the block as a learner's notebook builds it
    ours, theirs = mamba_pair(ns, large_delta=False)
    what = "MambaBlock(8, d_state=4, expand=2, d_conv=3, dt_rank=2)(x of shape (2, 10, 8)), mambapy's initial weights"
    got = ours(x.clone())
    expect_finite_block_output(got, what)
    if tuple(got.shape) != (2, 10, 8):
        raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (2, 10, 8).",
                           "out_proj brings the d_inner channels back to d_model.")
    expect_causal(ours, x, got, 6, what, "The convolution must only look back: use causal_conv1d (padding on the "
                  "left), not a convolution padded on both sides.")
    stored.expect("MambaBlock", f"{what}, compared with mambapy's MambaBlock with the same weights", got.detach(),
                  theirs(x).detach(), atol=1e-4)
    # Δ around 1: a step that skips the softplus now gives wrong numbers instead of NaN
    ours, theirs = mamba_pair(ns, large_delta=True)
    what = "MambaBlock(...)(x) with dt_proj.bias between 0.5 and 1.5, compared with mambapy's MambaBlock"
    x_ours, x_theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    got = ours(x_ours)
    expect_finite_block_output(got, what)
    want = theirs(x_theirs)
    stored.expect("MambaBlock", what, got.detach(), want.detach(), atol=1e-4)
    w = torch.randn(2, 10, 8, generator=torch.Generator().manual_seed(2))
    (got * w).sum().backward()
    (want * w).sum().backward()
    expect_close(x_ours.grad, x_theirs.grad, "the gradient with respect to the block's input, compared with mambapy",
                 atol=1e-4)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        if p.grad is None:
            raise CheckFailure(f"no gradient reached the parameter `{name}`: every parameter must be used in forward.")
        expect_close(p.grad, theirs_params[name].grad, f"the gradient of `{name}`, compared with mambapy", atol=1e-4)
