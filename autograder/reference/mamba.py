"""Reference computations for lesson 10 (state spaces and Mamba), used by its grading checks.

They are independent of the learner's code and, where it matters, of ``mambapy`` too:

* :func:`zoh` discretises with Van Loan's trick: the matrix exponential of the block matrix
  ``Δ [[A, B], [0, 0]]`` holds both ``exp(ΔA)`` and ``∫_0^Δ exp(sA) ds B`` (float64);
* :func:`recurrence` and :func:`selective_scan` are the plain loops, in float64;
* :func:`mamba_block` is mambapy's ``MambaBlock.forward`` written out.

Each takes a ``variant`` naming a known mistake ("reset", "late", "no softplus", ...), so that a
check can tell a learner *which* mistake their output matches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def zoh(A: torch.Tensor, B: torch.Tensor, delta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact zero-order hold: exp(Δ [[A, B], [0, 0]]) = [[exp(ΔA), ∫_0^Δ exp(sA) ds B], [0, 1]]."""
    N = A.shape[0]
    M = torch.zeros(N + 1, N + 1, dtype=torch.float64)
    M[:N, :N] = A.double()
    M[:N, N] = B.double()
    E = torch.linalg.matrix_exp(delta * M)
    return E[:N, :N], E[:N, N]


def recurrence(A_bar: torch.Tensor, B_bar: torch.Tensor, C: torch.Tensor, u: torch.Tensor,
               variant: str = "") -> torch.Tensor:
    """y_k = C x_k with x_k = Ā x_(k-1) + B̄ u_k from x = 0; variants "reset" (no Ā x term) and
    "late" (y_k read before u_k enters the state)."""
    x = torch.zeros(A_bar.shape[0], dtype=torch.float64)
    ys = []
    for u_k in u.double():
        before = x
        x = (0 if variant == "reset" else A_bar.double() @ x) + B_bar.double() * u_k
        ys.append(C.double() @ (before if variant == "late" else x))
    return torch.stack(ys)


def selective_scan(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                   D: torch.Tensor, variant: str = "") -> torch.Tensor:
    """Mamba's selective scan in float64, one step after another (shapes as in mambapy), or one of
    its known-buggy variants: "B instead of ΔB", "reset", "late" (y_t = C_t · h_(t-1)), "no D", "softplus twice",
    "wrong combine" (a Hillis-Steele scan whose decay multiplies the wrong element of a pair)."""
    u, delta, A, B, C, D = (t.detach().double() for t in (u, delta, A, B, C, D))
    if variant == "softplus twice":
        delta = F.softplus(delta)
    A_bar = torch.exp(delta.unsqueeze(-1) * A)                          # (b, L, ED, N)
    scale = u if variant == "B instead of ΔB" else delta * u
    Bu = scale.unsqueeze(-1) * B.unsqueeze(2)                           # (b, L, ED, N)
    if variant == "wrong combine":
        return _wrong_combine(A_bar, Bu, C) + D * u
    h = torch.zeros_like(A_bar[:, 0])
    ys = []
    for t in range(u.shape[1]):
        before = h
        h = Bu[:, t] if variant == "reset" else A_bar[:, t] * h + Bu[:, t]
        ys.append(((before if variant == "late" else h) * C[:, t].unsqueeze(1)).sum(-1))
    y = torch.stack(ys, 1)
    return y if variant == "no D" else y + D * u


def _wrong_combine(a: torch.Tensor, b: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    k = 1
    while k < a.shape[1]:
        b = torch.cat([b[:, :k], a[:, :-k] * b[:, k:] + b[:, :-k]], 1)
        a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], 1)
        k *= 2
    return (b * C.unsqueeze(2)).sum(-1)


def mamba_block(block: nn.Module, x: torch.Tensor, variant: str = "") -> torch.Tensor:
    """mambapy's ``MambaBlock.forward`` written out (scan in float64), or a known-buggy variant:
    "no softplus" (Δ straight from dt_proj), "positive A" (A = exp(A_log)), "ungated" (y * z
    instead of y * SiLU(z))."""
    cfg = block.config
    L = x.shape[1]
    xs, z = block.in_proj(x).chunk(2, dim=-1)
    xs = F.silu(block.conv1d(xs.transpose(1, 2))[..., :L].transpose(1, 2))
    delta, B, C = block.x_proj(xs).split([cfg.dt_rank, cfg.d_state, cfg.d_state], dim=-1)
    delta = block.dt_proj(delta)
    if variant != "no softplus":
        delta = F.softplus(delta)
    A = torch.exp(block.A_log) if variant == "positive A" else -torch.exp(block.A_log)
    y = selective_scan(xs, delta, A, B, C, block.D).float()
    return block.out_proj(y * (z if variant == "ungated" else F.silu(z)))
