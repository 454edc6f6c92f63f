"""Checks for lesson 10 — beyond attention: selective state spaces (Mamba).

References are independent of the learner's code:

* zero-order hold by Van Loan's trick: the matrix exponential of the block matrix
  ``[[A, B], [0, 0]]`` holds both ``exp(ΔA)`` and ``∫ exp(sA) ds B`` (float64);
* the selective scans against the pure-PyTorch ``mambapy`` package (``MambaBlock.selective_scan``,
  a Blelloch parallel scan, and ``MambaBlock.selective_scan_seq``), values and gradients;
* the causal convolution against ``nn.Conv1d`` (padded by ``K - 1``, cut to ``L``, as mambapy does);
* the Mamba block against ``mambapy.mamba.MambaBlock`` with its weights copied in.

When a result is wrong, the checks compare it with the known-buggy variants (Δ without softplus,
``B`` instead of ``Δ·B``, a state reset every step, a convolution that sees the future, ...) to name
the mistake.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ..feedback import describe, expect_tensor_close, expect_type
from ..registry import CheckFailure, Namespace

from ..practice.lesson10 import lesson


# ---------------------------------------------------------------- references

def _ref_zoh(A: torch.Tensor, B: torch.Tensor, delta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Van Loan: exp(Δ [[A, B], [0, 0]]) = [[exp(ΔA), ∫_0^Δ exp(sA) ds B], [0, 1]]."""
    N = A.shape[0]
    M = torch.zeros(N + 1, N + 1, dtype=torch.float64)
    M[:N, :N] = A.double()
    M[:N, N] = B.double()
    E = torch.linalg.matrix_exp(delta * M)
    return E[:N, :N], E[:N, N]


def _ref_recurrence(A_bar, B_bar, C, u, reset: bool = False, late: bool = False) -> torch.Tensor:
    x = torch.zeros(A_bar.shape[0], dtype=torch.float64)
    ys = []
    for u_k in u.double():
        before = x
        x = (0 if reset else A_bar.double() @ x) + B_bar.double() * u_k
        ys.append(C.double() @ (before if late else x))
    return torch.stack(ys)


def _ref_scan(u, delta, A, B, C, D, variant: str = "") -> torch.Tensor:
    """The selective scan in float64, or one of its known-buggy variants."""
    u, delta, A, B, C, D = (t.detach().double() for t in (u, delta, A, B, C, D))
    if variant == "softplus twice":
        delta = F.softplus(delta)
    A_bar = torch.exp(delta.unsqueeze(-1) * A)                          # (b, L, ED, N)
    scale = u if variant == "B instead of ΔB" else delta * u
    Bu = scale.unsqueeze(-1) * B.unsqueeze(2)                           # (b, L, ED, N)
    h = torch.zeros_like(A_bar[:, 0])
    ys = []
    for t in range(u.shape[1]):
        h = Bu[:, t] if variant == "reset" else A_bar[:, t] * h + Bu[:, t]
        ys.append((h * C[:, t].unsqueeze(1)).sum(-1))
    y = torch.stack(ys, 1)
    if variant == "late":
        y = torch.cat([torch.zeros_like(y[:, :1]), y[:, :-1]], 1)
    return y if variant == "no D" else y + D * u


def _bad_combine_scan(u, delta, A, B, C, D) -> torch.Tensor:
    """Hillis-Steele with the decay applied to the wrong element of each pair."""
    u, delta, A, B, C, D = (t.detach().double() for t in (u, delta, A, B, C, D))
    a = torch.exp(delta.unsqueeze(-1) * A)
    b = (delta * u).unsqueeze(-1) * B.unsqueeze(2)
    k = 1
    while k < u.shape[1]:
        b = torch.cat([b[:, :k], a[:, :-k] * b[:, k:] + b[:, :-k]], 1)
        a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], 1)
        k *= 2
    return (b * C.unsqueeze(2)).sum(-1) + D * u


def _mambapy_scans(u, delta, A, B, C, D) -> tuple[torch.Tensor, torch.Tensor]:
    """mambapy's parallel (pscan) and sequential selective scans on the same inputs."""
    from mambapy.mamba import MambaBlock

    owner = SimpleNamespace(config=SimpleNamespace(d_inner=u.shape[-1], d_state=A.shape[-1]))
    return (MambaBlock.selective_scan(None, u, delta, A, B, C, D),
            MambaBlock.selective_scan_seq(owner, u, delta, A, B, C, D))


def _scan_inputs(b: int, L: int, ED: int, N: int, seed: int, requires_grad: bool = False):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(b, L, ED, generator=g)
    delta = F.softplus(torch.randn(b, L, ED, generator=g) - 1.0)   # positive, mostly 0.1 .. 1
    A = -torch.exp(torch.randn(ED, N, generator=g) * 0.5)          # negative: stable
    B = torch.randn(b, L, N, generator=g)
    C = torch.randn(b, L, N, generator=g)
    D = torch.randn(ED, generator=g)
    tensors = [u, delta, A, B, C, D]
    if requires_grad:
        for t in tensors:
            t.requires_grad_(True)
    return tensors


class _CountOps(TorchFunctionMode):
    """Counts the torch functions and tensor methods called from Python."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


SCAN_VARIANTS = {
    "B instead of ΔB": ("discretises the input with B instead of Δ·B",
                        "B̄u must be Δ·B·u: multiply by Δ (delta) as well, B̄ ≈ Δ·B."),
    "reset": ("resets the state every step: y at step t depends only on the input at step t",
              "Carry the state: h_t = Ā_t * h_(t-1) + B̄_t u_t, with h starting at zero only once."),
    "late": ("is one step late: y at step t uses the state before the input at step t was added",
             "Update h with step t first, then read y_t = C_t · h_t."),
    "no D": ("forgets the skip term D * u", "Add D * u to the output (D has one entry per channel)."),
    "softplus twice": ("passes Δ through softplus again",
                       "delta arrives already positive: use it as it is."),
}


def _check_scan(ns: Namespace, name: str) -> None:
    fn = getattr(ns, name)
    for b, L, ED, N, seed in [(2, 13, 6, 4, 0), (1, 64, 8, 16, 1), (3, 1, 2, 3, 2)]:
        args = _scan_inputs(b, L, ED, N, seed)
        got = fn(*[t.clone() for t in args])
        what = f"{name}(u, delta, A, B, C, D) with (b, L, ED, N) = {(b, L, ED, N)}"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (b, L, ED):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (b, L, ED) = {(b, L, ED)}.",
                               "Sum the state times C over the N state dimensions: y_t = (h_t * C_t).sum(-1).")
        pscan, seq = _mambapy_scans(*args)
        if torch.allclose(got.double(), _ref_scan(*args), atol=1e-4):
            expect_tensor_close(got.detach(), pscan, f"{what} against mambapy's selective scan", atol=1e-4)
            expect_tensor_close(got.detach(), seq, f"{what} against mambapy's sequential scan", atol=1e-4)
            continue
        for variant, (message, hint) in SCAN_VARIANTS.items():
            if L > 1 and torch.allclose(got.double(), _ref_scan(*args, variant=variant), atol=1e-4):
                raise CheckFailure(f"{what} {message}.", hint)
        if name == "selective_scan_parallel" and torch.allclose(got.double(), _bad_combine_scan(*args), atol=1e-4):
            raise CheckFailure(f"{what}: the combine step applies the decay to the wrong element of the pair.",
                               "Step s then step t compose to (a_t a_s, a_t b_s + b_t): the *later* step's "
                               "Ā multiplies the *earlier* step's b.")
        expect_tensor_close(got.detach(), pscan, f"{what} against mambapy's selective scan",
                            "Ā = exp(Δ A) (elementwise, broadcast to (b, L, ED, N)); B̄u = Δ u B; "
                            "h_t = Ā_t h_(t-1) + B̄u_t; y_t = (h_t * C_t).sum(-1) + D u_t.", atol=1e-4)


# ---------------------------------------------------------------- exercises

@lesson.grading("discretize_zoh")
def check_discretize_zoh(ns: Namespace) -> None:
    g = torch.Generator().manual_seed(0)
    for N, delta in [(3, 0.1), (4, 0.7), (1, 2.0)]:
        M = torch.randn(N, N, generator=g, dtype=torch.float64)
        S = torch.randn(N, N, generator=g, dtype=torch.float64)
        A = -(M @ M.T / N + 0.5 * torch.eye(N, dtype=torch.float64)) + (S - S.T)  # stable, with rotation
        B = torch.randn(N, generator=g, dtype=torch.float64)
        result = ns.discretize_zoh(A.clone(), B.clone(), delta)
        what = f"discretize_zoh(A, B, delta={delta}) with N = {N}"
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailure(f"{what} should return a pair (A_bar, B_bar), got {describe(result)}.")
        A_bar, B_bar = result
        want_A, want_B = _ref_zoh(A, B, delta)
        expect_type(A_bar, torch.Tensor, f"A_bar from {what}")
        expect_type(B_bar, torch.Tensor, f"B_bar from {what}")
        if tuple(A_bar.shape) != (N, N) or tuple(B_bar.shape) != (N,):
            raise CheckFailure(f"{what} returned shapes {tuple(A_bar.shape)} and {tuple(B_bar.shape)}, expected "
                               f"({N}, {N}) and ({N},).")
        if A_bar.dtype != torch.float64:
            raise CheckFailure(f"{what}: float64 inputs gave {A_bar.dtype} outputs; keep the input dtype.")
        eye = torch.eye(N, dtype=torch.float64)
        if N > 1 and torch.allclose(A_bar, torch.exp(delta * A), atol=1e-8):
            raise CheckFailure(f"{what}: A_bar is torch.exp(Δ A), the exponential of every entry.",
                               "For a matrix, e^(ΔA) = I + ΔA + (ΔA)²/2 + ... is torch.linalg.matrix_exp; "
                               "torch.exp only agrees when A is diagonal.")
        if torch.allclose(A_bar, eye + delta * A, atol=1e-8):
            raise CheckFailure(f"{what}: A_bar = I + Δ A is Euler's first-order approximation of e^(ΔA).",
                               "Zero-order hold is exact: use torch.linalg.matrix_exp(Δ * A).")
        expect_tensor_close(A_bar, want_A, f"A_bar from {what}", atol=1e-8)
        if torch.allclose(B_bar, want_B / delta, atol=1e-8) and delta != 1.0:
            raise CheckFailure(f"{what}: B_bar is off by a factor Δ = {delta}: you used B instead of Δ·B in "
                               "B̄ = (ΔA)⁻¹ (e^(ΔA) − I) Δ·B.",
                               "Multiply B by Δ (or use A⁻¹ instead of (ΔA)⁻¹): B̄ = (ΔA)⁻¹ (Ā − I) Δ B.")
        if torch.allclose(B_bar, delta * B, atol=1e-8):
            raise CheckFailure(f"{what}: B_bar = Δ·B is Mamba's first-order shortcut, not the exact ZOH.",
                               "Here compute the exact B̄ = (ΔA)⁻¹ (Ā − I) Δ B.")
        expect_tensor_close(B_bar, want_B, f"B_bar from {what}", lesson.get("discretize_zoh").hint, atol=1e-8)


@lesson.grading("ssm_recurrent")
def check_ssm_recurrent(ns: Namespace) -> None:
    g = torch.Generator().manual_seed(1)
    for N, L in [(3, 12), (1, 5), (4, 1)]:
        A_bar = torch.randn(N, N, generator=g) * 0.4
        B_bar, C, u = torch.randn(N, generator=g), torch.randn(N, generator=g), torch.randn(L, generator=g)
        got = ns.ssm_recurrent(A_bar.clone(), B_bar.clone(), C.clone(), u.clone())
        what = f"ssm_recurrent(A_bar, B_bar, C, u) with N = {N}, L = {L}"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (L,):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected ({L},): one output per input.")
        want = _ref_recurrence(A_bar, B_bar, C, u)
        if L > 1 and torch.allclose(got.double(), _ref_recurrence(A_bar, B_bar, C, u, reset=True), atol=1e-5):
            raise CheckFailure(f"{what}: every output depends only on its own input, so the state is reset every "
                               "step.", "Carry x from one step to the next: x = A_bar @ x + B_bar * u_k.")
        if L > 1 and torch.allclose(got.double(), _ref_recurrence(A_bar, B_bar, C, u, late=True), atol=1e-5):
            raise CheckFailure(f"{what} is one step late: y_k was read before u_k entered the state.",
                               "Update the state with u_k first, then y_k = C @ x.")
        expect_tensor_close(got.double(), want, what, atol=1e-5)


@lesson.grading("selective_scan_sequential")
def check_selective_scan_sequential(ns: Namespace) -> None:
    _check_scan(ns, "selective_scan_sequential")


@lesson.grading("selective_scan_parallel")
def check_selective_scan_parallel(ns: Namespace) -> None:
    _check_scan(ns, "selective_scan_parallel")
    # gradients, against mambapy's parallel scan (its own backward pass)
    args = _scan_inputs(2, 21, 4, 3, seed=5, requires_grad=True)
    ref_args = [t.detach().clone().requires_grad_(True) for t in args]
    w = torch.randn(2, 21, 4, generator=torch.Generator().manual_seed(6))
    got = ns.selective_scan_parallel(*args)
    if not got.requires_grad:
        raise CheckFailure("the output of selective_scan_parallel does not require grad: the scan must be "
                           "differentiable (no .detach(), no torch.no_grad(), no in-place writes to inputs).")
    (got * w).sum().backward()
    (_mambapy_scans(*ref_args)[0] * w).sum().backward()
    for name, mine, ref in zip(["u", "delta", "A", "B", "C", "D"], args, ref_args):
        if mine.grad is None:
            raise CheckFailure(f"no gradient reached `{name}` through selective_scan_parallel.")
        expect_tensor_close(mine.grad, ref.grad, f"the gradient with respect to {name}", atol=1e-4)
    # parallel means O(log L) rounds of tensor operations, not one round per time step
    counts = {}
    for L in (64, 512):
        args = _scan_inputs(1, L, 2, 2, seed=7)
        with torch.no_grad(), _CountOps() as counter:
            ns.selective_scan_parallel(*args)
        counts[L] = counter.count
    if counts[512] - counts[64] > 200:
        raise CheckFailure(f"selective_scan_parallel ran {counts[64]} tensor operations for L = 64 and "
                           f"{counts[512]} for L = 512: the count grows with L, so it still loops over time "
                           "steps.", "A parallel scan takes log2(L) rounds, each one a few whole-tensor "
                           "operations (Hillis-Steele doubling, or Blelloch's up- and down-sweep).")


@lesson.grading("causal_conv1d")
def check_causal_conv1d(ns: Namespace) -> None:
    g = torch.Generator().manual_seed(2)
    for b, L, ch, K in [(2, 9, 5, 4), (1, 3, 2, 3), (2, 6, 3, 1)]:
        x = torch.randn(b, L, ch, generator=g)
        conv = nn.Conv1d(ch, ch, K, groups=ch, padding=K - 1)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(ch, 1, K, generator=g))
            conv.bias.copy_(torch.randn(ch, generator=g))
            want = conv(x.transpose(1, 2))[..., :L].transpose(1, 2)
        weight, bias = conv.weight.detach()[:, 0].clone(), conv.bias.detach().clone()
        what = f"causal_conv1d(x of shape {(b, L, ch)}, weight of shape {(ch, K)}, bias)"
        got = ns.causal_conv1d(x.clone(), weight, bias)
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (b, L, ch):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected {(b, L, ch)}: as long as the input.",
                               "Pad K - 1 zeros on the left only, so the output keeps L steps.")
        if K > 1 and L > 2:
            x2 = x.clone()
            x2[:, L // 2:] += 10.0
            got2 = ns.causal_conv1d(x2, weight, bias)
            if not torch.allclose(got2[:, :L // 2], got[:, :L // 2], atol=1e-6):
                raise CheckFailure(f"{what}: changing the input from step {L // 2} on changed the output at earlier "
                                   "steps: a future input changed an earlier output, so the conv is not causal.",
                                   "Pad K - 1 zeros on the *left* (the past) only: output t may use inputs "
                                   "t - K + 1 .. t.")
        flipped = F.conv1d(F.pad(x.transpose(1, 2), (K - 1, 0)), weight.flip(-1).unsqueeze(1), bias, groups=ch)
        if K > 1 and torch.allclose(got, flipped.transpose(1, 2), atol=1e-5):
            raise CheckFailure(f"{what}: the kernel is reversed.", "nn.Conv1d (and F.conv1d) compute a "
                               "cross-correlation: output t = sum_j weight[j] * x[t - K + 1 + j]. Do not flip it.")
        expect_tensor_close(got, want, f"{what} against nn.Conv1d(padding=K-1) cut to L steps", atol=1e-5)


def _ref_block(block: nn.Module, x: torch.Tensor, softplus: bool = True) -> torch.Tensor:
    """mambapy's MambaBlock forward written out, optionally without the softplus on Δ."""
    cfg = block.config
    L = x.shape[1]
    xz = block.in_proj(x)
    xs, z = xz.chunk(2, dim=-1)
    xs = F.silu(block.conv1d(xs.transpose(1, 2))[..., :L].transpose(1, 2))
    delta, B, C = block.x_proj(xs).split([cfg.dt_rank, cfg.d_state, cfg.d_state], dim=-1)
    delta = block.dt_proj(delta)
    if softplus:
        delta = F.softplus(delta)
    y = _ref_scan(xs, delta, -torch.exp(block.A_log), B, C, block.D).float()
    return block.out_proj(y * F.silu(z))


@lesson.grading("MambaBlock")
def check_mamba_block(ns: Namespace) -> None:
    from mambapy.mamba import MambaBlock, MambaConfig

    torch.manual_seed(0)
    theirs = MambaBlock(MambaConfig(d_model=8, n_layers=1, d_state=4, expand_factor=2, d_conv=3, dt_rank=2))
    with torch.no_grad():  # Δ around 0.5 .. 2 so that a missing softplus shows
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
    x = torch.randn(2, 10, 8, generator=torch.Generator().manual_seed(1))
    x_ours, x_theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    got = ours(x_ours)
    expect_type(got, torch.Tensor, "MambaBlock(...)(x)")
    if tuple(got.shape) != (2, 10, 8):
        raise CheckFailure(f"MambaBlock(8, ...)(x of shape (2, 10, 8)) has shape {tuple(got.shape)}, expected "
                           "(2, 10, 8).", "out_proj brings the d_inner channels back to d_model.")
    with torch.no_grad():
        x2 = x.clone()
        x2[:, 6:] += 3.0
        later = ours(x2)
    if not torch.allclose(later[:, :6], got.detach()[:, :6], atol=1e-5):
        raise CheckFailure("changing the block's input from step 6 on changed its output at steps 0 .. 5: a future "
                           "input changed an earlier output, so the block is not causal.",
                           "The convolution must only look back: use causal_conv1d (padding on the left), not "
                           "nn.Conv1d with padding on both sides.")
    want = theirs(x_theirs)
    if not torch.allclose(got.detach(), want.detach(), atol=1e-4):
        with torch.no_grad():
            raw = _ref_block(theirs, x, softplus=False)
        if torch.allclose(got.detach(), raw, atol=1e-4):
            raise CheckFailure("MambaBlock's output matches mambapy's only if Δ skips the softplus: Δ was not passed "
                               "through softplus.",
                               "Δ is a step size and must be positive: delta = F.softplus(self.dt_proj(delta)).")
    expect_tensor_close(got, want, "MambaBlock(x) against mambapy's MambaBlock with the same weights", atol=1e-4)
    w = torch.randn(2, 10, 8, generator=torch.Generator().manual_seed(2))
    (got * w).sum().backward()
    (want * w).sum().backward()
    expect_tensor_close(x_ours.grad, x_theirs.grad, "the gradient with respect to the block's input", atol=1e-4)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        if p.grad is None:
            raise CheckFailure(f"no gradient reached the parameter `{name}`: every parameter must be used in forward.")
        expect_tensor_close(p.grad, theirs_params[name].grad, f"the gradient of `{name}`", atol=1e-4)


# ---------------------------------------------------------------- mutants (known-buggy variants)

