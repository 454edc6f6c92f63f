"""Reference computations for lesson 12 (fast generation with a KV cache), used by its grading
checks, its extra tests and ``benchmarks/bench_kvcache.py``.

Everything works on the course's GPT layout (:mod:`autograder.reference.gpt`, lesson 08's names):

* :class:`KVCache`: per layer, the keys and values of every token seen so far;
* :func:`attend_to_cache`: the newest queries against all the keys, causal with the mask's corner at
  the bottom right (query i of T_new sees the first T_past + i + 1 keys);
* :func:`cached_self_attention`, :func:`forward_with_cache`: lesson 08's attention and forward for
  the new tokens only, at positions T_past, T_past + 1, ...;
* :func:`generate_cached`: lesson 08's ``generate`` with a cache, the same tokens and the same use of
  the random generator;
* :func:`kv_cache_bytes`, :func:`repeat_kv`, :func:`grouped_query_attention`: memory, and the
  key-value heads shared by groups of query heads (GQA, MQA).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from .gpt import filter_logits


class KVCache:
    """Keys and values of the tokens seen so far, one pair of (B, n_head, T, head_size) tensors per layer."""

    def __init__(self, n_layer: int, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self.keys: list[torch.Tensor | None] = [None] * n_layer
        self.values: list[torch.Tensor | None] = [None] * n_layer

    def __len__(self) -> int:
        """The number of tokens cached in layer 0 (between two forward passes, in every layer)."""
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the keys and values of new tokens to ``layer``; return all of that layer's."""
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=2)
            v = torch.cat((self.values[layer], v), dim=2)
        if k.shape[2] > self.max_tokens:
            raise ValueError(f"the cache holds at most {self.max_tokens} tokens, not {k.shape[2]}")
        self.keys[layer], self.values[layer] = k, v
        return k, v


def causal_from_the_end(t_new: int, t_total: int) -> torch.Tensor:
    """(t_new, t_total) bool mask, True = may attend: the queries are the last t_new positions."""
    return torch.ones(t_new, t_total, dtype=torch.bool).tril(diagonal=t_total - t_new)


def attend_to_cache(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention of the T_new newest queries (B, h, T_new, hs) to all T keys and values (B, h, T, hs)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    scores = scores.masked_fill(~causal_from_the_end(q.size(-2), k.size(-2)), float("-inf"))
    return scores.softmax(dim=-1) @ v


def split_heads(t: torch.Tensor, n_head: int) -> torch.Tensor:
    """(B, T, C) -> (B, n_head, T, C // n_head)."""
    B, T, C = t.shape
    return t.view(B, T, n_head, C // n_head).transpose(1, 2)


def cached_self_attention(attn: nn.Module, x: torch.Tensor, cache: KVCache, layer: int) -> torch.Tensor:
    """Lesson 08's CausalSelfAttention for the new tokens x (B, T_new, C), the earlier ones taken from the cache."""
    B, T, C = x.shape
    q, k, v = (split_heads(t, attn.n_head) for t in attn.c_attn(x).split(C, dim=2))
    k, v = cache.append(layer, k, v)
    y = attend_to_cache(q, k, v).transpose(1, 2).reshape(B, T, C)
    return attn.resid_dropout(attn.c_proj(y))


def forward_with_cache(model: nn.Module, idx: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
    """The logits (B, T_new, V) of the new tokens idx (B, T_new), which follow the len(cache) cached ones."""
    past = len(cache)
    positions = torch.arange(past, past + idx.shape[1], device=idx.device)
    x = model.transformer.drop(model.transformer.wte(idx) + model.transformer.wpe(positions))
    for layer, block in enumerate(model.transformer.h):
        x = x + cached_self_attention(block.attn, block.ln_1(x), cache, layer)
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.transformer.ln_f(x)), cache


@torch.no_grad()
def generate_cached(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                    top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Lesson 08's generate, one token per forward pass: same tokens, same random numbers drawn."""
    block_size = model.config.block_size
    cache, new = None, idx
    for _ in range(max_new_tokens):
        if cache is None or len(cache) == block_size:  # start, or the window slides: every position changes
            cache = KVCache(model.config.n_layer, block_size)
            new = idx[:, -block_size:]
        logits, cache = forward_with_cache(model, new, cache)
        logits = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        new = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, new), dim=1)
    return idx


def kv_cache_bytes(n_layer: int, n_kv_head: int, head_size: int, n_tokens: int, bytes_per_value: int,
                   batch_size: int = 1) -> int:
    """Bytes held by a KV cache: a key and a value vector per layer, key-value head and token."""
    return 2 * n_layer * n_kv_head * head_size * n_tokens * bytes_per_value * batch_size


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """(B, n_kv_head, T, hs) -> (B, n_kv_head * n_rep, T, hs): head j of the result is head j // n_rep of x."""
    return x.repeat_interleave(n_rep, dim=1)


def grouped_query_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """attend_to_cache with fewer key-value heads than query heads, each shared by consecutive query heads."""
    n_rep = q.size(1) // k.size(1)
    return attend_to_cache(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep))
