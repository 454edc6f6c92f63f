"""Reference computations for lesson 09 (interpretability), used by its grading checks.

Each one reads a GPT-2-style model from the outside, by its module names (``transformer.wte``,
``wpe``, ``h[i].attn.c_attn / c_proj / n_head``, an optional ``h[i].ln_1``, ``lm_head``), and
recomputes what the lesson's exercises record: attention patterns (scores in float64), the residual
stream, the logits with some of a head's channels zeroed, and a head's circuits. They work on the
practice checks' tiny attention-only models and, for patterns and the residual stream, on the
course's reference GPT (:mod:`autograder.reference.gpt`), whose blocks also hold an MLP.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _embeddings(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    return model.transformer.wte(idx) + model.transformer.wpe(torch.arange(idx.shape[1]))


def _split_heads(t: torch.Tensor, n_head: int) -> torch.Tensor:
    B, T, C = t.shape
    return t.view(B, T, n_head, C // n_head).transpose(1, 2)


def attention_patterns(model: nn.Module, idx: torch.Tensor, softmax: bool = True,
                       mask: bool = True) -> list[torch.Tensor]:
    """One (B, n_head, T, T) attention pattern per layer; ``softmax=False`` gives the (masked) scores
    and ``mask=False`` a pattern that also looks at the future (two known mistakes)."""
    out = []
    with torch.no_grad():
        x = _embeddings(model, idx)
        for block in model.transformer.h:
            attn = block.attn
            a = block.ln_1(x) if hasattr(block, "ln_1") else x
            C = a.shape[-1]
            q, k, _ = attn.c_attn(a).double().split(C, dim=2)
            q, k = _split_heads(q, attn.n_head), _split_heads(k, attn.n_head)
            scores = q @ k.transpose(-1, -2) / math.sqrt(C // attn.n_head)
            if mask:
                T = a.shape[1]
                scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
            out.append((scores.softmax(-1) if softmax else scores).float())
            x = block(x)
    return out


def residual_stream(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    """(n_layer + 1, B, T, C): the embeddings, then the output of every block."""
    with torch.no_grad():
        x = _embeddings(model, idx)
        stream = [x]
        for block in model.transformer.h:
            x = block(x)
            stream.append(x)
    return torch.stack(stream)


def ablated_logits(model: nn.Module, idx: torch.Tensor, layer: int, channels: torch.Tensor | None) -> torch.Tensor:
    """The logits of an attention-only model with the given input channels of layer ``layer``'s
    ``c_proj`` set to zero (a head's own channels: that head is ablated); ``channels=None`` removes
    the layer's whole attention output, bias included."""
    with torch.no_grad():
        x = _embeddings(model, idx)
        for i, block in enumerate(model.transformer.h):
            attn = block.attn
            a = block.ln_1(x) if hasattr(block, "ln_1") else x
            B, T, C = a.shape
            q, k, v = (_split_heads(t, attn.n_head) for t in attn.c_attn(a).split(C, dim=2))
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
            if i == layer and channels is None:
                continue
            if i == layer:
                z = z.clone()
                z[..., channels] = 0
            x = x + attn.c_proj(z)
        return model.lm_head(x)


def head_channels(model: nn.Module, layer: int, head: int) -> torch.Tensor:
    """The channels of ``c_proj``'s input that head ``head`` of layer ``layer`` owns."""
    attn = model.transformer.h[layer].attn
    hs = attn.c_proj.in_features // attn.n_head
    return torch.arange(head * hs, (head + 1) * hs)


def full_circuit(model: nn.Module, layer: int, head: int, part: int = 2, output_rows: bool = False) -> torch.Tensor:
    """W_E W^h W_O^h W_U in float64, with W^h the head's query (``part`` 0), key (1) or value (2,
    the OV circuit) weights; ``output_rows`` takes rows of ``c_proj.weight`` instead of its columns
    (a known mistake)."""
    attn = model.transformer.h[layer].attn
    C = attn.c_proj.in_features
    hs = C // attn.n_head
    rows = slice(head * hs, (head + 1) * hs)
    W_E = model.transformer.wte.weight.detach().double()
    W_U = model.lm_head.weight.detach().double().T
    W_in = attn.c_attn.weight.detach().double()[part * C:(part + 1) * C][rows].T
    W_proj = attn.c_proj.weight.detach().double()
    W_O = W_proj[rows, :] if output_rows else W_proj[:, rows].T
    return W_E @ W_in @ W_O @ W_U


def previous_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    """Mean attention of each position t >= 1 to t - 1, per head (float64)."""
    return pattern.double().diagonal(-1, -2, -1).mean((0, -1))


def induction_scores(pattern: torch.Tensor, seq_len: int, offset: int = 1, first_query: int | None = None) -> torch.Tensor:
    """Mean attention of the queries q of the second copy (the last ``seq_len`` positions, or from
    ``first_query`` on) to key q - seq_len + ``offset``, per head (float64)."""
    T = pattern.shape[-1]
    q = torch.arange(T - seq_len if first_query is None else first_query, T)
    return pattern.double()[:, :, q, q - seq_len + offset].mean((0, -1))
