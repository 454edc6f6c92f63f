"""Lesson 07's transformer block, computed from an ``nn.TransformerEncoderLayer``'s weights
(never shipped to students).

:func:`block_forward` is the block of the lesson (causal multi-head self-attention and a GELU
feed-forward network, each with a residual connection and a LayerNorm, pre-norm or post-norm)
written out from the layer's parameters, so that a grading check can also compute what a block
with a known mistake returns (``causal=False``, ``residual=False``, ``swap_norms=True``,
``residual_from_norm=True``) and name the mistake it sees.  With no mistake switched on it equals
``layer(x, src_mask=causal_mask, is_causal=True)`` in eval mode or without dropout.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def causal_attention(layer: nn.TransformerEncoderLayer, z: torch.Tensor, causal: bool = True) -> torch.Tensor:
    """The layer's multi-head self-attention on ``z`` (batch first), with or without the causal mask."""
    sa = layer.self_attn
    B, T, C = z.shape
    H = sa.num_heads
    q, k, v = F.linear(z, sa.in_proj_weight, sa.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(C // H)
    if causal:
        scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    mixed = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    return F.linear(mixed, sa.out_proj.weight, sa.out_proj.bias)


def feed_forward(layer: nn.TransformerEncoderLayer, z: torch.Tensor) -> torch.Tensor:
    """linear1 -> exact GELU -> linear2."""
    return layer.linear2(F.gelu(layer.linear1(z)))


def block_forward(layer: nn.TransformerEncoderLayer, x: torch.Tensor, norm_first: bool, *, causal: bool = True,
                  residual: bool = True, swap_norms: bool = False, residual_from_norm: bool = False) -> torch.Tensor:
    """The block computed from ``layer``'s weights, optionally with one of the known mistakes.

    * ``causal=False``: attention sees the future;
    * ``residual=False``: each sublayer's output replaces x instead of being added to it;
    * ``swap_norms=True``: norm2 used with attention and norm1 with the FFN;
    * ``residual_from_norm=True`` (pre-norm only): the sublayer's output is added to the normalised
      x instead of to x itself.
    """
    n1, n2 = (layer.norm2, layer.norm1) if swap_norms else (layer.norm1, layer.norm2)
    keep = 1.0 if residual else 0.0
    if norm_first:
        if residual_from_norm:
            h = n1(x)
            x = h + causal_attention(layer, h, causal)
            h = n2(x)
            return h + feed_forward(layer, h)
        x = keep * x + causal_attention(layer, n1(x), causal)
        return keep * x + feed_forward(layer, n2(x))
    x = n1(keep * x + causal_attention(layer, x, causal))
    return n2(keep * x + feed_forward(layer, x))
