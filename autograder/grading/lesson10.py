"""Grading checks for lesson 10 — beyond attention: selective state spaces (Mamba).

References are independent of the learner's code (:mod:`autograder.reference.mamba`):

* zero-order hold by Van Loan's trick (float64);
* the selective scans against the pure-PyTorch ``mambapy`` package (``MambaBlock.selective_scan``,
  a Blelloch parallel scan, and ``MambaBlock.selective_scan_seq``), values and gradients;
* the causal convolution against ``nn.Conv1d`` (padded by ``K - 1``, cut to ``L``, as mambapy does);
* the Mamba block against ``mambapy.mamba.MambaBlock`` with its weights copied in.

When a result is wrong, the checks compare it with the known-buggy variants (Δ without softplus,
``B`` instead of ``Δ·B``, a state reset every step, a convolution that sees the future, ...) to name
the mistake.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..feedback import describe, expect_tensor_close, expect_type
from ..reference import mamba as ref
from ..registry import CheckFailure, Namespace

from ..practice.lesson10 import (CONV_CASES, RECURRENCE_CASES, SCAN_CASES, WORKED_CALL, WORKED_RECURRENCE, ZOH_CASES,
                                 conv_inputs, expect_causal, expect_finite_block_output, expect_log_rounds,
                                 expect_scan_gradients, lesson, mamba_pair, mambapy_scans, recurrence_inputs,
                                 scan_inputs, stable_system)

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
    for b, L, ED, N, seed in SCAN_CASES:
        args = scan_inputs(b, L, ED, N, seed)
        got = fn(*[t.clone() for t in args])
        what = f"{name}(u, delta, A, B, C, D) with (b, L, ED, N) = {(b, L, ED, N)}"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (b, L, ED):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (b, L, ED) = {(b, L, ED)}.",
                               "Sum the state times C over the N state dimensions.")
        pscan, seq = mambapy_scans(*args)
        if torch.allclose(got.double(), ref.selective_scan(*args), atol=1e-4):
            expect_tensor_close(got.detach(), pscan, f"{what} against mambapy's selective scan", atol=1e-4)
            expect_tensor_close(got.detach(), seq, f"{what} against mambapy's sequential scan", atol=1e-4)
            continue
        for variant, (message, hint) in SCAN_VARIANTS.items():
            if L > 1 and torch.allclose(got.double(), ref.selective_scan(*args, variant=variant), atol=1e-4):
                raise CheckFailure(f"{what} {message}.", hint)
        if name == "selective_scan_parallel" and torch.allclose(got.double(), ref.selective_scan(
                *args, variant="wrong combine"), atol=1e-4):
            raise CheckFailure(f"{what}: the combine step applies the decay to the wrong element of the pair.",
                               "Step s then step t compose to (a_t a_s, a_t b_s + b_t): the *later* step's "
                               "Ā multiplies the *earlier* step's b.")
        expect_tensor_close(got.detach(), pscan, f"{what} against mambapy's selective scan",
                            "Ā = exp(Δ A) (elementwise, broadcast to (b, L, ED, N)); B̄u = Δ u B; "
                            "h_t = Ā_t h_(t-1) + B̄u_t; y_t = Σ_n C_t[n] h_t[n] + D u_t.", atol=1e-4)


# ---------------------------------------------------------------- 1. zero-order hold

@lesson.grading("discretize_zoh")
def check_discretize_zoh(ns: Namespace) -> None:
    for N, delta, seed in ZOH_CASES:
        A, B = stable_system(N, seed)
        result = ns.discretize_zoh(A.clone(), B.clone(), delta)
        what = f"discretize_zoh(A, B, delta={delta}) with N = {N}"
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailure(f"{what} should return a pair (A_bar, B_bar), got {describe(result)}.")
        A_bar, B_bar = result
        want_A, want_B = ref.zoh(A, B, delta)
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
                               "Zero-order hold is exact: use the matrix exponential of Δ·A.")
        expect_tensor_close(A_bar, want_A, f"A_bar from {what}", atol=1e-8)
        if torch.allclose(B_bar, want_B / delta, atol=1e-8) and delta != 1.0:
            raise CheckFailure(f"{what}: B_bar is off by a factor Δ = {delta}: you used B instead of Δ·B in "
                               "B̄ = (ΔA)⁻¹ (e^(ΔA) − I) Δ·B.",
                               "Multiply B by Δ (or use A⁻¹ instead of (ΔA)⁻¹): B̄ = (ΔA)⁻¹ (Ā − I) Δ B.")
        if torch.allclose(B_bar, delta * B, atol=1e-8):
            raise CheckFailure(f"{what}: B_bar = Δ·B is Mamba's first-order shortcut, not the exact ZOH.",
                               "Here compute the exact B̄ = (ΔA)⁻¹ (Ā − I) Δ B.")
        expect_tensor_close(B_bar, want_B, f"B_bar from {what}", lesson.get("discretize_zoh").hint, atol=1e-8)


# ---------------------------------------------------------------- 2. the recurrence

@lesson.grading("ssm_recurrent")
def check_ssm_recurrent(ns: Namespace) -> None:
    cases = [(WORKED_RECURRENCE, WORKED_CALL)] + [
        (recurrence_inputs(N, L, seed), f"ssm_recurrent(A_bar, B_bar, C, u) with N = {N}, L = {L}")
        for N, L, seed in RECURRENCE_CASES]
    for (A_bar, B_bar, C, u), what in cases:
        L = len(u)
        got = ns.ssm_recurrent(A_bar.clone(), B_bar.clone(), C.clone(), u.clone())
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (L,):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected ({L},): one output per input.")
        if L > 1 and torch.allclose(got.double(), ref.recurrence(A_bar, B_bar, C, u, "reset"), atol=1e-5):
            raise CheckFailure(f"{what}: every output depends only on its own input, so the state is reset every "
                               "step.", "Carry the state from one step to the next: the new state is the old one "
                               "multiplied by A_bar, plus B_bar times the input.")
        if L > 1 and torch.allclose(got.double(), ref.recurrence(A_bar, B_bar, C, u, "late"), atol=1e-5):
            raise CheckFailure(f"{what} is one step late: y_k was read before u_k entered the state.",
                               "Update the state with u_k first, then read y_k from it with C.")
        expect_tensor_close(got.double(), ref.recurrence(A_bar, B_bar, C, u), what, atol=1e-5)


# ---------------------------------------------------------------- 3-4. selective scans

@lesson.grading("selective_scan_sequential")
def check_selective_scan_sequential(ns: Namespace) -> None:
    _check_scan(ns, "selective_scan_sequential")


@lesson.grading("selective_scan_parallel")
def check_selective_scan_parallel(ns: Namespace) -> None:
    _check_scan(ns, "selective_scan_parallel")
    expect_scan_gradients(ns)      # against mambapy's parallel scan (its own backward pass)
    expect_log_rounds(ns)          # parallel means O(log L) rounds of tensor operations


# ---------------------------------------------------------------- 5. causal convolution

@lesson.grading("causal_conv1d")
def check_causal_conv1d(ns: Namespace) -> None:
    for b, L, ch, K, seed in CONV_CASES:
        x, weight, bias = conv_inputs(b, L, ch, K, seed)
        conv = nn.Conv1d(ch, ch, K, groups=ch, padding=K - 1)
        with torch.no_grad():
            conv.weight.copy_(weight[:, None])
            conv.bias.copy_(bias)
            want = conv(x.transpose(1, 2))[..., :L].transpose(1, 2)
        what = f"causal_conv1d(x of shape {(b, L, ch)}, weight of shape {(ch, K)}, bias)"
        got = ns.causal_conv1d(x.clone(), weight.clone(), bias.clone())
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (b, L, ch):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected {(b, L, ch)}: as long as the input.",
                               "Pad K - 1 zeros on the left only, so the output keeps L steps.")
        if K > 1 and L > 2:
            expect_causal(lambda z: ns.causal_conv1d(z, weight.clone(), bias.clone()), x, got, L // 2, what,
                          "Pad K - 1 zeros on the *left* (the past) only: output t may use inputs t - K + 1 .. t.")
        flipped = F.conv1d(F.pad(x.transpose(1, 2), (K - 1, 0)), weight.flip(-1).unsqueeze(1), bias, groups=ch)
        if K > 1 and torch.allclose(got, flipped.transpose(1, 2), atol=1e-5):
            raise CheckFailure(f"{what}: the kernel is reversed.", "nn.Conv1d (and F.conv1d) compute a "
                               "cross-correlation: output t = sum_j weight[j] * x[t - K + 1 + j]. Do not flip it.")
        if torch.allclose(got, want - bias, atol=1e-5):
            raise CheckFailure(f"{what}: the bias is missing (the output equals the convolution without it).",
                               "Pass bias to F.conv1d (or add it to every step).")
        expect_tensor_close(got, want, f"{what} against nn.Conv1d(padding=K-1) cut to L steps", atol=1e-5)


# ---------------------------------------------------------------- 6. the Mamba block

BLOCK_VARIANTS = {
    "no softplus": ("MambaBlock's output matches mambapy's only if Δ skips the softplus: Δ was not passed "
                    "through softplus.",
                    "Δ is a step size and must be positive: apply F.softplus to the output of dt_proj."),
    "positive A": ("MambaBlock's output matches mambapy's only if A = exp(A_log) is positive: the minus sign "
                   "of A = -exp(A_log) is missing.",
                   "A must be negative so that Ā = exp(ΔA) lies between 0 and 1: A = -exp(A_log)."),
    "ungated": ("MambaBlock's output matches mambapy's only if the scan's output is multiplied by z itself: the "
                "gate is SiLU(z), not z.", "Multiply y by F.silu(z), SiLU(z) = z·σ(z)."),
}


@lesson.grading("MambaBlock")
def check_mamba_block(ns: Namespace) -> None:
    x = torch.randn(2, 10, 8, generator=torch.Generator().manual_seed(1))
    for large_delta in (False, True):   # Δ as initialised (0.001 .. 0.1), then around 1
        ours, theirs = mamba_pair(ns, large_delta)
        x_ours, x_theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        got = ours(x_ours)
        what = f"MambaBlock(8, ...)(x of shape (2, 10, 8)){' with Δ around 1' if large_delta else ''}"
        expect_finite_block_output(got, what)
        if tuple(got.shape) != (2, 10, 8):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (2, 10, 8).",
                               "out_proj brings the d_inner channels back to d_model.")
        expect_causal(ours, x, got, 6, what, "The convolution must only look back: use causal_conv1d (padding on the "
                      "left), not a convolution padded on both sides.")
        want = theirs(x_theirs)
        if not torch.allclose(got.detach(), want.detach(), atol=1e-4):
            with torch.no_grad():
                for variant, (message, hint) in BLOCK_VARIANTS.items():
                    if torch.allclose(got.detach(), ref.mamba_block(theirs, x, variant), atol=1e-4):
                        raise CheckFailure(message, hint)
        expect_tensor_close(got, want, f"{what} against mambapy's MambaBlock with the same weights", atol=1e-4)
    w = torch.randn(2, 10, 8, generator=torch.Generator().manual_seed(2))
    (got * w).sum().backward()
    (want * w).sum().backward()
    expect_tensor_close(x_ours.grad, x_theirs.grad, "the gradient with respect to the block's input", atol=1e-4)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        if p.grad is None:
            raise CheckFailure(f"no gradient reached the parameter `{name}`: every parameter must be used in forward.")
        expect_tensor_close(p.grad, theirs_params[name].grad, f"the gradient of `{name}`", atol=1e-4)
