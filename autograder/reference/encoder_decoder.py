"""Reference answers for lesson 11 (the original Transformer), used by its grading checks.

Every function works on the learner's own modules' weights (read by the names the lesson gives), so
that a grading check can recompute what the learner's code should have returned, and what each known
mistake returns instead.  The switches (keyword arguments) turn on one known mistake each.

* :func:`attention_forward`: multi-head attention with queries from ``x`` and keys and values from
  ``context``;
* :func:`encoder_layer_forward`, :func:`decoder_layer_forward`: the layers, post-norm or pre-norm;
* :func:`embed`, :func:`encode`, :func:`decode`: the whole model;
* :func:`label_smoothing_loss`, :func:`transformer_lr`: training;
* :func:`greedy_decode`, :func:`beam_search`: decoding.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


def causal_mask(T: int) -> torch.Tensor:
    """(T, T) bool, True where query i may attend to key j <= i."""
    return torch.ones(T, T, dtype=torch.bool).tril()


# ---------------------------------------------------------------- attention

def attention_forward(module: nn.Module, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None,
                      *, keys_from: str = "context", order: str = "qkv", head_axis: bool = True,
                      split_heads: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(output, weights) of multi-head attention with the weights of ``module`` (in_proj, out_proj, n_heads).

    ``keys_from="x"``: keys and values computed from x (self-attention where cross-attention was
    meant); ``order``: which thirds of in_proj make q, k, v; ``head_axis=False``: the mask used
    without an axis for the heads (only runs when it happens to broadcast); ``split_heads=False``:
    one head of d features.
    """
    B, T, d = x.shape
    h = module.n_heads if split_heads else 1
    source = x if keys_from == "x" else context
    S = source.shape[1]
    w = dict(zip("qkv", module.in_proj.weight.split(d)))
    b = dict(zip("qkv", module.in_proj.bias.split(d)))
    q = F.linear(x, w[order[0]], b[order[0]])
    k = F.linear(source, w[order[1]], b[order[1]])
    v = F.linear(source, w[order[2]], b[order[2]])
    q, k, v = (t.view(B, -1, h, d // h).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)
    if mask is not None:
        scores = scores.masked_fill(~(mask.unsqueeze(-3) if head_axis else mask), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(B, T, d)
    assert out.shape[1] == T and weights.shape[-1] == S
    return module.out_proj(out), weights


# ---------------------------------------------------------------- layers

def _ffn(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return layer.linear2(F.relu(layer.linear1(x)))


def encoder_layer_forward(layer: nn.Module, x: torch.Tensor, mask: torch.Tensor | None, norm_first: bool, *,
                          use_mask: bool = True, causal: bool = False, residual_from_normed: bool = False,
                          swap_norms: bool = False) -> torch.Tensor:
    """An encoder layer with the learner's weights (dropout off).

    ``use_mask=False``: the padding mask ignored; ``causal``: a causal mask in the encoder;
    ``residual_from_normed``: pre-norm whose residual starts from the normalised x;
    ``swap_norms``: norm2 with attention and norm1 with the FFN.
    """
    n1, n2 = (layer.norm2, layer.norm1) if swap_norms else (layer.norm1, layer.norm2)
    m = mask if use_mask else None
    if causal:
        c = causal_mask(x.shape[1])
        m = c if m is None else m & c

    def attend(h: torch.Tensor) -> torch.Tensor:
        return attention_forward(layer.self_attn, h, h, m)[0]

    if norm_first:
        if residual_from_normed:
            x = n1(x)
            x = x + attend(x)
            x = n2(x)
            return x + _ffn(layer, x)
        x = x + attend(n1(x))
        return x + _ffn(layer, n2(x))
    x = n1(x + attend(x))
    return n2(x + _ffn(layer, x))


def decoder_layer_forward(layer: nn.Module, y: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None,
                          norm_first: bool, *, self_causal: bool = True, cross_causal: bool = False,
                          cross_keys_from: str = "memory", cross_mask: bool = True, normalise_memory: bool = False,
                          cross_first: bool = False, norms: str = "123") -> torch.Tensor:
    """A decoder layer with the learner's weights (dropout off).

    ``self_causal=False``: no causal mask in self-attention; ``cross_causal``: a causal mask in
    cross-attention too (runs when T == S); ``cross_keys_from="y"``: cross-attention's keys and values
    from the decoder; ``cross_mask=False``: the source padding mask not given to cross-attention;
    ``normalise_memory``: pre-norm that also passes the memory through norm2; ``cross_first``:
    cross-attention before self-attention; ``norms``: which norm goes with each sublayer ("132": norm3
    with cross-attention, norm2 with the FFN).
    """
    T = y.shape[1]
    n = {i: getattr(layer, f"norm{c}") for i, c in enumerate(norms)}
    self_mask = causal_mask(T) if self_causal else None
    c_mask = mask if cross_mask else None
    if cross_causal:
        c_mask = causal_mask(T) if c_mask is None else c_mask & causal_mask(T)

    def self_attend(h: torch.Tensor) -> torch.Tensor:
        return attention_forward(layer.self_attn, h, h, self_mask)[0]

    def cross_attend(h: torch.Tensor) -> torch.Tensor:
        context = h if cross_keys_from == "y" else (n[1](memory) if normalise_memory else memory)
        return attention_forward(layer.cross_attn, h, context, c_mask)[0]

    steps = [("self", 0), ("cross", 1)]
    if cross_first:
        steps.reverse()
    for kind, i in steps:
        sub = self_attend if kind == "self" else cross_attend
        y = y + sub(n[i](y)) if norm_first else n[i](y + sub(y))
    return y + _ffn(layer, n[2](y)) if norm_first else n[2](y + _ffn(layer, y))


# ---------------------------------------------------------------- the whole model

def embed(model: nn.Module, ids: torch.Tensor, embedding: nn.Embedding, *, scale: float | None = None,
          positions: bool = True) -> torch.Tensor:
    """embedding(ids) * scale + pe[:T] (scale defaults to √d_model), as the model's first layer receives it."""
    d = embedding.weight.shape[1]
    x = embedding(ids) * (math.sqrt(d) if scale is None else scale)
    return x + model.pe[: ids.shape[1]] if positions else x


# ---------------------------------------------------------------- training

def label_smoothing_loss(logits: torch.Tensor, target: torch.Tensor, smoothing: float, ignore_index: int = -100, *,
                         spread: str = "all", average_over: str = "kept") -> torch.Tensor:
    """Label-smoothed cross-entropy.  ``spread="others"``: ε spread over the V - 1 wrong classes only;
    ``average_over="all"``: the mean taken over every position, the ignored ones counted as 0."""
    V = logits.shape[-1]
    log_p = F.log_softmax(logits.reshape(-1, V), dim=-1)
    t = target.reshape(-1)
    keep = t != ignore_index
    one_hot = F.one_hot(t.clamp(min=0), V).to(log_p.dtype)
    if spread == "all":
        q = (1 - smoothing) * one_hot + smoothing / V
    else:
        q = (1 - smoothing) * one_hot + smoothing / (V - 1) * (1 - one_hot)
    per_position = -(q * log_p).sum(-1) * keep
    return per_position.sum() / (keep.sum() if average_over == "kept" else len(t))


def transformer_lr(step: float, d_model: int, warmup_steps: int = 4000, *, offset: int = 0,
                   warmup_exponent: float = 1.5, scale_by_width: bool = True) -> float:
    """d_model^-0.5 · min(s^-0.5, s · warmup^-1.5) with s = step + offset."""
    s = step + offset
    value = min(s ** -0.5, s * warmup_steps ** -warmup_exponent)
    return d_model ** -0.5 * value if scale_by_width else value


# ---------------------------------------------------------------- decoding

@torch.no_grad()
def greedy_decode(model: Any, src: torch.Tensor, bos_id: int, eos_id: int, max_len: int, *,
                  stop: str = "all", pad_after_eos: bool = True, position: int = -1) -> torch.Tensor:
    """Greedy decoding of a batch.  ``stop="any"``: stop when the first row ends; ``stop="never"``:
    always run max_len steps; ``pad_after_eos=False``: keep what the model writes after <eos>;
    ``position=0``: read the first position's logits instead of the last."""
    src_mask = model.source_mask(src)
    memory = model.encode(src, src_mask)
    out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = model.decode(out, memory, src_mask)[:, position].argmax(-1)
        if pad_after_eos:
            token = token.masked_fill(done, model.pad_id)
        out = torch.cat([out, token[:, None]], dim=1)
        done = done | (token == eos_id)
        if (stop == "all" and done.all()) or (stop == "any" and done.any()):
            break
    return out[:, 1:]


@torch.no_grad()
def beam_search(model: Any, src: torch.Tensor, beam_size: int, bos_id: int, eos_id: int, max_len: int,
                alpha: float = 0.6, *, normalise: str = "gnmt", shrink: bool = True,
                rank_by: str = "sum") -> tuple[torch.Tensor, float]:
    """Beam search as the lesson defines it, in plain Python over hypotheses.

    ``normalise``: "gnmt" ((5 + n) / 6)^α, "none" (raw log-probability), "length" (divided by n),
    "raw-returned" (chosen by the normalised score, the raw one returned); ``shrink=False``: keep
    beam_size candidates at every step however many are finished; ``rank_by="last"``: candidates
    ranked by the last token's log-probability instead of the whole prefix's.
    """
    src_mask = model.source_mask(src)
    memory = model.encode(src, src_mask)
    alive: list[tuple[float, float, list[int]]] = [(0.0, 0.0, [])]  # (score, last log-prob, new tokens)
    finished: list[tuple[float, float, list[int]]] = []              # (normalised, raw, new tokens)

    def normalised(score: float, n: int) -> float:
        if normalise in ("gnmt", "raw-returned"):
            return score / ((5 + n) / 6) ** alpha
        return score / n if normalise == "length" else score

    for step in range(1, max_len + 1):
        rows = torch.tensor([[bos_id] + tokens for _, _, tokens in alive])
        n = len(alive)
        log_p = F.log_softmax(model.decode(rows, memory.expand(n, -1, -1), src_mask.expand(n, -1, -1))[:, -1], dim=-1)
        candidates = [(score + lp, lp, tokens + [v]) for (score, _, tokens), row in zip(alive, log_p.tolist())
                      for v, lp in enumerate(row)]
        candidates.sort(key=lambda c: c[0] if rank_by == "sum" else c[1], reverse=True)
        room = beam_size - len(finished) if shrink else beam_size
        alive = []
        for score, lp, tokens in candidates[:max(room, 0)]:
            if tokens[-1] == eos_id:
                finished.append((normalised(score, step), score, tokens))
            else:
                alive.append((score, lp, tokens))
        if not alive or (shrink and len(finished) >= beam_size):
            break
    else:
        finished += [(normalised(score, max_len), score, tokens) for score, _, tokens in alive]
    best = max(finished, key=lambda f: f[0])
    return torch.tensor(best[2], dtype=torch.long), (best[1] if normalise == "raw-returned" else best[0])
