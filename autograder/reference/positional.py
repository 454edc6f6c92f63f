"""Reference answers for lesson 04 (positional encoding), in float64, used by its grading checks.

* :func:`frequencies`: ω_i = 10000^(-2i/d), one per pair of dimensions;
* :func:`sinusoidal_table`: the table of *Attention Is All You Need*, and, through its switches,
  the known wrong tables (sin and cos swapped, exponent off by 2, positions from 1, halves
  concatenated) that the checks name;
* :func:`rotation_matrix`: the block-diagonal R_k with PE[p + k] = R_k PE[p] (or every block
  turned by the same angle k, a known mistake);
* :func:`rope`: rotary embeddings with complex numbers (RoFormer's adjacent pairs), a different
  route from the real-valued pair rotation the learner writes; :func:`rope_variant` turns the
  knobs of the known mistakes in the real-valued form.
"""

from __future__ import annotations

import torch

BASE = 10000.0


def frequencies(d: int, exponent_scale: float = 2.0) -> torch.Tensor:
    """ω_i = 10000^(-2i/d) for i = 0 .. d/2 - 1 (``exponent_scale`` replaces the 2), in float64."""
    i = torch.arange(d // 2, dtype=torch.float64)
    return BASE ** (-(exponent_scale * i) / d)


def sinusoidal_table(max_len: int, d: int, start: int = 0, exponent_scale: float = 2.0,
                     swap: bool = False, interleave: bool = True) -> torch.Tensor:
    """PE[p, 2i] = sin(p ω_i), PE[p, 2i+1] = cos(p ω_i) for p = start .. start + max_len - 1."""
    positions = torch.arange(start, start + max_len, dtype=torch.float64)[:, None]
    angles = positions * frequencies(d, exponent_scale)
    sin, cos = angles.sin(), angles.cos()
    if swap:
        sin, cos = cos, sin
    if interleave:
        return torch.stack([sin, cos], dim=-1).flatten(-2)  # columns sin0, cos0, sin1, cos1, ...
    return torch.cat([sin, cos], dim=-1)                     # sin0, sin1, ..., cos0, cos1, ...


def rotation_matrix(k: float, d: int, per_pair_frequency: bool = True) -> torch.Tensor:
    """Block-diagonal R_k with PE[p + k] = R_k @ PE[p]: block i is [[cos kω_i, sin kω_i], [-sin kω_i, cos kω_i]]."""
    angles = k * frequencies(d) if per_pair_frequency else torch.full((d // 2,), float(k), dtype=torch.float64)
    R = torch.zeros(d, d, dtype=torch.float64)
    for i, angle in enumerate(angles.tolist()):
        c, s = torch.tensor(angle, dtype=torch.float64).cos(), torch.tensor(angle, dtype=torch.float64).sin()
        R[2 * i, 2 * i], R[2 * i, 2 * i + 1] = c, s
        R[2 * i + 1, 2 * i], R[2 * i + 1, 2 * i + 1] = -s, c
    return R


def rope(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """RoPE with complex numbers: pair (x_2i, x_2i+1) is z = x_2i + j x_2i+1, multiplied by e^(j p θ_i)."""
    d = x.shape[-1]
    angles = positions.to(torch.float64)[:, None] * frequencies(d)            # (T, d/2)
    z = torch.view_as_complex(x.detach().to(torch.float64).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    rotated = z * torch.polar(torch.ones_like(angles), angles)
    return torch.view_as_real(rotated).flatten(-2)


def rope_variant(x: torch.Tensor, positions: torch.Tensor, *, pairing: str = "adjacent",
                 sign: float = 1.0, exponent_scale: float = 2.0) -> torch.Tensor:
    """Real-valued RoPE with the knobs that the known mistakes turn (float64).

    ``pairing="half"`` pairs dimension i with i + d/2 (GPT-NeoX's "rotate_half"); ``sign=-1`` turns
    the wrong way; ``exponent_scale`` as in :func:`frequencies`.
    """
    x = x.detach().to(torch.float64)
    d = x.shape[-1]
    angles = sign * positions.to(torch.float64)[:, None] * frequencies(d, exponent_scale)
    cos, sin = angles.cos(), angles.sin()
    if pairing == "adjacent":
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
