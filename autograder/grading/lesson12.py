"""Grading checks for lesson 12 — fast generation with a KV cache.

They run on top of the practice checks (``autograder/practice/lesson12.py``).  The references are
:mod:`autograder.reference.kv_cache` (the cache, cached attention and forward, cached generation)
and the course's reference GPT (:mod:`autograder.reference.gpt`: lesson 08's model and ``generate``).
Known mistakes are recognised by recomputing them, with a message that names them.  Where an
exercise calls another of the learner's functions (``forward_with_cache`` calls
``cached_self_attention``, which calls ``attend_to_cache``), the reference's version is swapped in
for the duration of the check, so that each exercise is graded on its own code.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import Mistake, close, expect_close, expect_type
from ..practice.lesson08 import fill_by_name, swapped
from ..practice.lesson12 import (
    call_append,
    cache_length,
    call_forward,
    chunks,
    count_positions,
    explained,
    expect_shape,
    lesson,
    randint,
    randn,
    span,
)
from ..reference import gpt as ref_gpt
from ..reference import kv_cache as ref
from ..registry import CheckFailure, Namespace


def expect_named(got: Any, want: Any, what: str, mistakes: Any = (), hint: str = "") -> None:
    """expect_close, except that a known mistake is reported by its own message alone, without the call in
    front: the practice checks show the same message for the same mistake on their own calls."""
    if not close(got, want):
        for mistake in (mistakes() if callable(mistakes) else mistakes):
            same_shape = not isinstance(got, torch.Tensor) or tuple(got.shape) == tuple(mistake.output.shape)
            if same_shape and close(got, mistake.output):
                raise CheckFailure(mistake.message, mistake.hint or hint)
    expect_close(got, want, what, hint)


# ---------------------------------------------------------------- 1. KVCache

def _layer_shares(got: torch.Tensor, layer: int, appended: dict[int, list[torch.Tensor]]) -> bool:
    """True when ``got`` holds as many tokens as were appended to all the layers together (one store for all)."""
    own = sum(t.shape[2] for t in appended[layer])
    every = sum(t.shape[2] for tensors in appended.values() for t in tensors)
    return every > own and got.shape[2] == every


@lesson.grading("KVCache")
def check_kv_cache(ns: Namespace) -> None:
    n_layer, B, h, hs = 3, 2, 4, 3
    cache, reference = ns.KVCache(n_layer, 16), ref.KVCache(n_layer, 16)
    got_len = cache_length(cache, "len(KVCache(3, 16))")
    if got_len != 0:
        raise CheckFailure(f"len(KVCache(3, 16)) is {got_len!r} for a new cache; it holds no token yet: 0.")
    appended: dict[int, list[torch.Tensor]] = {layer: [] for layer in range(n_layer)}
    calls = 0
    for step, t_new in enumerate((4, 4, 1, 2)):
        for layer in range(n_layer):
            seed = 100 * step + 10 * layer
            k, v = randn(B, h, t_new, hs, seed=seed), randn(B, h, t_new, hs, seed=seed + 1)
            what = (f"cache.append({layer}, k, v) with k, v of shape {tuple(k.shape)} (call {step + 1} for this layer; "
                    f"it held {sum(a.shape[2] for a in appended[layer])} tokens)")
            got_k, got_v = call_append(cache, layer, k, v, what)
            calls += 1
            old = [a for a in appended[layer]]
            appended[layer].append(k)
            want_k, want_v = reference.append(layer, k, v)
            if step > 0 and tuple(got_k.shape) == tuple(k.shape):
                raise CheckFailure("append returned only the new tokens' keys: it must return all of the layer's "
                                   "keys and values, the cached ones first, then the new ones.",
                                   "Attention needs every token's key: return what the layer holds after the new "
                                   "tokens were added.")
            if tuple(got_k.shape) == (B, 2 * h, t_new, hs) and step > 0:
                raise CheckFailure("append concatenated the new tokens along the head axis (dim=1): the result "
                                   "has twice the heads and the old number of tokens. Tokens follow each other along "
                                   "the time axis, dim=2 of (B, n_head, T, head_size).",
                                   "torch.cat((old, new), dim=2) for (B, n_head, T, head_size) tensors.")
            if old and torch.equal(got_k, torch.cat((k, *old), dim=2)):
                raise CheckFailure("append put the new tokens' keys before the cached ones; they come after them "
                                   "(tokens keep their order, and the new ones are the last).",
                                   "torch.cat((cached, new), dim=2), in that order.")
            if _layer_shares(got_k, layer, appended):
                raise CheckFailure("append returned the keys of the other layers too: all layers share one store. "
                                   "Each layer needs its own keys and values (layer 3's keys mean nothing to layer 4).",
                                   "Store and read self.keys[layer] and self.values[layer].")
            if torch.equal(got_k, want_v) and torch.equal(got_v, want_k):
                raise CheckFailure("append returned the values as keys and the keys as values: keys and values are "
                                   "swapped.", "Return (keys, values), in that order.")
            expect_close(got_k, want_k, f"the keys returned by {what}")
            expect_close(got_v, want_v, f"the values returned by {what}")
        got_len, want_len = cache_length(cache, "len(cache)"), len(reference)
        if got_len != want_len:
            tokens = [sum(a.shape[2] for a in appended[layer]) for layer in range(n_layer)]
            if got_len == calls:
                why = "it counts the calls to append, not the tokens (one call may bring several tokens)"
            elif got_len == sum(tokens):
                why = "it counts the tokens of every layer together; len is the number of tokens, as held by one layer"
            else:
                why = "it should be the number of tokens cached in layer 0"
            raise CheckFailure(f"len(cache) is wrong: {why}.", "Count along the time axis: shape[2] of layer 0's keys.")

    before = len(reference)
    extra = randn(B, h, 16 - before + 1, hs, seed=999)
    try:
        cache.append(0, extra, extra)
    except ValueError:
        pass
    except NotImplementedError:
        raise
    except Exception as error:
        raise CheckFailure(f"appending {extra.shape[2]} tokens to a layer that holds {before}, in a KVCache of "
                           f"max_tokens=16, raised {type(error).__name__} ({error}) instead of ValueError.",
                           "Compare the new total with max_tokens before storing, and raise ValueError.")
    else:
        raise CheckFailure("an append that takes a layer beyond max_tokens tokens was accepted: the layer would "
                           "hold more than max_tokens tokens, and the model has no position for them.",
                           "Raise ValueError when a layer would hold more than max_tokens tokens.")
    held = cache_length(cache, "len(cache) after a refused append")
    if held != before:
        raise CheckFailure("after a refused append, len(cache) changed: the refused tokens were stored anyway. A "
                           "refused append must store nothing.",
                           "Check the number of tokens first; store only when they fit.")
    k, v = randn(B, h, 1, hs, seed=1000), randn(B, h, 1, hs, seed=1001)
    got_k, _ = call_append(cache, 0, k, v, "cache.append(0, k, v) with 1 token after a refused append")
    expect_close(got_k, reference.append(0, k, v)[0], "the keys of layer 0 after a refused append, then 1 more token",
                 "A refused append must store nothing: the layer keeps what it held.")


# ---------------------------------------------------------------- 2. attend_to_cache

def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, scale: bool = True) -> torch.Tensor:
    """Attention written out (float64) with an arbitrary boolean mask (True = may attend)."""
    q, k, v = q.double(), k.double(), v.double()
    scores = q @ k.transpose(-2, -1) / (math.sqrt(q.size(-1)) if scale else 1.0)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return (scores.softmax(dim=-1) @ v).float()


def attention_mistakes(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> list[Mistake]:
    """What the known mistakes of causal attention with a cache return for these inputs."""
    t_new, t_total = q.size(-2), k.size(-2)
    right = ref.causal_from_the_end(t_new, t_total)
    top_left = torch.ones(t_new, t_total, dtype=torch.bool).tril()
    own_key_blocked = torch.ones(t_new, t_total, dtype=torch.bool).tril(diagonal=t_total - t_new - 1)
    return [
        Mistake(_attention(q, k, v, top_left),
                "your output matches F.scaled_dot_product_attention(q, k, v, is_causal=True), whose causal triangle "
                "sits in the top left corner: with fewer queries than keys, new query i then sees only keys 0 to i, "
                "and the cached past is cut off.",
                "New query i sits at position T - T_new + i: the triangle belongs in the bottom right corner."),
        Mistake(_attention(q, k, v, None),
                "your output matches attention without any mask: with several new queries, each one sees the new "
                "tokens after it, in its future.",
                "Mask the keys after each new query's own position (the bottom-right triangle)."),
        Mistake(_attention(q, k, v, own_key_blocked),
                "your output matches a mask where each new query may not see its own key: the triangle must include "
                "the diagonal (new query i sees keys 0 to T - T_new + i, itself included).",
                "The last key a new query may see is its own."),
        Mistake(_attention(q, k, v, right, scale=False),
                "your output matches attention whose scores are not divided by √head_size.",
                "Scale the scores q k^T by 1 / sqrt(head_size), as in lesson 05."),
    ]


@lesson.grading("attend_to_cache")
def check_attend_to_cache(ns: Namespace) -> None:
    for i, (B, h, t_new, t_total, hs) in enumerate(((2, 2, 1, 6, 4), (1, 3, 4, 9, 8), (2, 2, 3, 3, 4), (3, 1, 2, 5, 2))):
        q, k, v = (randn(B, h, t, hs, seed=200 + 3 * i + j) for j, t in enumerate((t_new, t_total, t_total)))
        what = f"attend_to_cache(q, k, v) for q {tuple(q.shape)}, k and v {tuple(k.shape)}"
        got = explained(lambda: ns.attend_to_cache(q, k, v), what)
        expect_shape(got, (B, h, t_new, hs), what)
        expect_named(got, ref.attend_to_cache(q, k, v), what, lambda: attention_mistakes(q, k, v),
                     "New query i may see keys 0 to T - T_new + i.")


# ---------------------------------------------------------------- 3. cached_self_attention

def _reference_attention(seed: int, n_embd: int = 16, n_head: int = 4) -> nn.Module:
    attn = ref_gpt.CausalSelfAttention(ref_gpt.GPTConfig(n_embd=n_embd, n_head=n_head, block_size=32))
    fill_by_name(attn, seed, std=0.3)
    return attn.eval()


def attention_variant(attn: nn.Module, x: torch.Tensor, pieces: tuple[int, ...], variant: str) -> list[torch.Tensor]:
    """cached_self_attention over the pieces of x with one known mistake: "new keys only" (attends to the
    new tokens' keys only), "swapped" (values cached as keys and keys as values), "no c_proj"."""
    cache, outs = ref.KVCache(1, 64), []
    for start, end in chunks(pieces):
        piece = x[:, start:end]
        B, T, C = piece.shape
        q, k, v = (ref.split_heads(t, attn.n_head) for t in attn.c_attn(piece).split(C, dim=2))
        k_all, v_all = cache.append(0, v, k) if variant == "swapped" else cache.append(0, k, v)
        if variant == "new keys only":
            k_all, v_all = k, v
        y = ref.attend_to_cache(q, k_all, v_all).transpose(1, 2).reshape(B, T, C)
        outs.append(y if variant == "no c_proj" else attn.c_proj(y))
    return outs


@lesson.grading("cached_self_attention")
def check_cached_self_attention(ns: Namespace) -> None:
    attn = _reference_attention(seed=300)
    x = randn(2, 7, 16, seed=301)
    pieces = (4, 1, 2)
    with torch.no_grad(), swapped(ns.cached_self_attention, attend_to_cache=ref.attend_to_cache):
        full = attn(x)
        variants = {name: attention_variant(attn, x, pieces, name) for name in ("new keys only", "swapped", "no c_proj")}
        messages = {
            "new keys only": ("your output is attention over the new tokens' own keys and values only: the cached "
                              "tokens are ignored.",
                              "Attend to what cache.append returns: the keys and values of every token so far."),
            "swapped": ("your output matches keys and values swapped when they go into the cache: "
                        "cache.append(layer, v, k).", "cache.append(layer, k, v): keys first."),
            "no c_proj": ("your output matches the merged heads without the output projection.",
                          "Finish with attn.c_proj (and attn.resid_dropout), as CausalSelfAttention.forward does."),
        }
        cache = ref.KVCache(2, 32)
        for step, (start, end) in enumerate(chunks(pieces)):
            what = f"cached_self_attention(attn, x, cache, 0) for {span(start, end)} of x (2, 7, 16), {start} cached"
            out = explained(lambda: ns.cached_self_attention(attn, x[:, start:end], cache, 0), what)
            expect_shape(out, (2, end - start, 16), what)
            held = len(cache)
            if held != end:
                if held == 2 * end:
                    raise CheckFailure("the cache holds twice as many tokens as went through the layer: the new keys "
                                       "and values were appended twice (cache.append was called twice for the same "
                                       "tokens).",
                                       "Call cache.append once per call, and use what it returns.")
                raise CheckFailure(f"after {what}, the cache holds {held} tokens, not {end}.",
                                   "Append the new tokens' keys and values to the cache, once.")
            expect_named(out, full[:, start:end], f"{what}, compared with the rows {start}-{end - 1} of attn(x)",
                         [Mistake(outs[step], *messages[name]) for name, outs in variants.items()])
        for name, want in (("keys", cache.keys[0]), ("values", cache.values[0])):
            B, T, C = x.shape
            expected = attn.c_attn(x).split(C, dim=2)[1 if name == "keys" else 2]
            expect_close(want, ref.split_heads(expected, attn.n_head), f"the {name} in the cache after all 7 tokens",
                         "Append the keys as k and the values as v, split into heads: (B, n_head, T_new, head_size).")
        other = ref.KVCache(3, 32)
        explained(lambda: ns.cached_self_attention(attn, x, other, 2), "cached_self_attention(attn, x, cache, 2)")
        if other.keys[2] is None or other.keys[0] is not None:
            raise CheckFailure("cached_self_attention(attn, x, cache, layer) did not append to that layer of the "
                               "cache.",
                               "Pass `layer` to cache.append.")


# ---------------------------------------------------------------- 4. forward_with_cache

def _reference_gpt(seed: int, std: float = 0.1, **sizes: Any) -> nn.Module:
    model = ref_gpt.GPT(ref_gpt.GPTConfig(**sizes))
    fill_by_name(model, seed, std=std)
    return model.eval()


def forward_variant(model: nn.Module, idx: torch.Tensor, pieces: tuple[int, ...], variant: str) -> list[torch.Tensor]:
    """forward_with_cache over the pieces of idx with one known mistake: "positions from 0" (every piece
    at positions 0, 1, ...) or "no ln_f"."""
    cache, outs = ref.KVCache(model.config.n_layer, 64), []
    for start, end in chunks(pieces):
        piece = idx[:, start:end]
        past = 0 if variant == "positions from 0" else len(cache)
        x = model.transformer.wte(piece) + model.transformer.wpe(torch.arange(past, past + piece.shape[1]))
        for i, block in enumerate(model.transformer.h):
            x = x + ref.cached_self_attention(block.attn, block.ln_1(x), cache, i)
            x = x + block.mlp(block.ln_2(x))
        outs.append(model.lm_head(x if variant == "no ln_f" else model.transformer.ln_f(x)))
    return outs


@lesson.grading("forward_with_cache")
def check_forward_with_cache(ns: Namespace) -> None:
    sizes = dict(vocab_size=37, block_size=16, n_layer=3, n_head=2, n_embd=16, dropout=0.0, bias=True)
    model = _reference_gpt(400, **sizes)
    idx = randint(37, 2, 13, seed=401)
    pieces = (4, 1, 3, 1, 4)
    with torch.no_grad(), swapped(ns.forward_with_cache, cached_self_attention=ref.cached_self_attention,
                                  attend_to_cache=ref.attend_to_cache):
        full, _ = model(idx)
        variants = {name: forward_variant(model, idx, pieces, name) for name in ("positions from 0", "no ln_f")}
        messages = {
            "positions from 0": ("your logits match the new tokens placed at positions 0, 1, ... at every step: "
                                 "positions restart at 0 for the cached steps. The new tokens follow the cached ones, "
                                 "at positions len(cache), len(cache) + 1, ...",
                                 "pos = torch.arange(past, past + T_new) with past = len(cache), read before the "
                                 "blocks append."),
            "no ln_f": ("your logits match the model without its final LayerNorm, ln_f.",
                        "lm_head(transformer.ln_f(x)), as in GPT.forward."),
        }
        cache = ref.KVCache(3, 16)
        for step, (start, end) in enumerate(chunks(pieces)):
            what = f"forward_with_cache(model, idx[:, {start}:{end}], cache) with {start} tokens cached"
            logits, cache = call_forward(ns, model, idx[:, start:end], cache, what)
            held = [0 if k is None else k.shape[2] for k in cache.keys]
            if held != [end] * 3:
                if held[0] == 3 * end or held[1:] == [0, 0]:
                    raise CheckFailure("every block appended its keys and values to layer 0 of the cache (the other "
                                       "layers stayed empty). Block i must use layer i of the cache.",
                                       "cached_self_attention(block.attn, block.ln_1(x), cache, i) in block i.")
                raise CheckFailure(f"after {what}, the cache's 3 layers hold {held} tokens, not {[end] * 3}.",
                                   "Each block appends the new tokens once, to its own layer.")
            expect_named(logits, full[:, start:end], f"the logits of {what}, compared with the rows "
                         f"{start}-{end - 1} of model(idx)",
                         [Mistake(outs[step], *messages[name]) for name, outs in variants.items()])


# ---------------------------------------------------------------- 5. generate_cached

def generate_variant(model: nn.Module, idx: torch.Tensor, n: int, variant: str, **settings: Any) -> torch.Tensor:
    """generate_cached with one known mistake: "first position" (after every prefill, the next token drawn from
    the first position's logits) or "sliding window" (a full cache drops its oldest token instead of restarting)."""
    temperature, top_k, top_p = settings.get("temperature", 1.0), settings.get("top_k"), settings.get("top_p")
    block_size = model.config.block_size
    cache, new = None, idx
    for _ in range(n):
        if cache is not None and len(cache) == block_size and variant == "sliding window":
            for i in range(model.config.n_layer):
                cache.keys[i], cache.values[i] = cache.keys[i][:, :, 1:], cache.values[i][:, :, 1:]
        elif cache is None or len(cache) == block_size:
            cache = ref.KVCache(model.config.n_layer, block_size)
            new = idx[:, -block_size:]
        logits, cache = ref.forward_with_cache(model, new, cache)
        position = 0 if variant == "first position" else -1
        logits = ref_gpt.filter_logits(logits[:, position, :] / temperature, top_k, top_p)
        new = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, new), dim=1)
    return idx


BLOCK_SIZE_HINT = ("When the cache holds block_size tokens and another must go in, start a new KVCache and prefill it "
                   "with the last block_size tokens, as generate crops its context.")


@lesson.grading("generate_cached")
def check_generate_cached(ns: Namespace) -> None:
    sizes = dict(vocab_size=23, block_size=6, n_layer=2, n_head=2, n_embd=12, dropout=0.0, bias=True)
    model = _reference_gpt(500, std=0.4, **sizes)
    prompt = randint(23, 3, 2, seed=501)
    n = 12
    with swapped(ns.generate_cached, forward_with_cache=ref.forward_with_cache, KVCache=ref.KVCache,
                 filter_logits=ref_gpt.filter_logits):
        seen, handle = count_positions(model)
        try:
            torch.manual_seed(0)
            explained(lambda: ns.generate_cached(model, prompt, 3), "generate_cached(model, prompt of 2 tokens, 3)")
        finally:
            handle.remove()
        if sum(seen) > 2 + 3:
            raise CheckFailure("generate_cached runs more token positions through the model than the prompt once "
                               "and then one token per step: the context is recomputed at every step instead of read "
                               "from the cache.",
                               "After the prefill, give forward_with_cache only the token just drawn.")
        for i, (settings, about) in enumerate(((dict(top_k=1), "greedy (top_k=1)"), (dict(), "temperature 1"),
                                               (dict(temperature=0.8, top_k=4, top_p=0.95), "temperature 0.8, "
                                                "top_k 4, top_p 0.95"))):
            seed = 510 + i
            what = (f"generate_cached(model, prompt, {n}) {about} after torch.manual_seed({seed}), for a prompt of 2 "
                    f"tokens and block_size {sizes['block_size']}")
            torch.manual_seed(seed)
            want = ref_gpt.generate(model, prompt, n, **settings)
            after_want = torch.rand(3)
            torch.manual_seed(seed)
            try:
                got = ns.generate_cached(model, prompt, n, **settings)
            except NotImplementedError:
                raise
            except (ValueError, IndexError, RuntimeError) as error:
                raise CheckFailure(f"generate_cached raised {type(error).__name__} ({error}) once the text passed "
                                   "block_size tokens: the cache holds at most block_size tokens, and the model has no "
                                   "position beyond them.", BLOCK_SIZE_HINT) from None
            after_got = torch.rand(3)
            expect_shape(got, tuple(want.shape), f"the result of {what}")
            if not torch.equal(got, want):
                torch.manual_seed(seed)
                if torch.equal(got, generate_variant(model, prompt, n, "first position", **settings)):
                    raise CheckFailure("after the prefill, the next token was drawn from the logits of the first "
                                       "position. It follows from the last position's logits, logits[:, -1, :].",
                                       "Take logits[:, -1, :] at every step, the prefill included.")
                torch.manual_seed(seed)
                if torch.equal(got, generate_variant(model, prompt, n, "sliding window", **settings)):
                    raise CheckFailure("once the cache was full, it kept the old keys and values (a sliding window) "
                                       "instead of starting again. But generate crops its context, so every token moves "
                                       "to a new position and every cached key and value is stale.",
                                       BLOCK_SIZE_HINT)
                first = int((got != want).any(dim=0).nonzero()[0])
                raise CheckFailure(f"{what} differs from generate's tokens from position {first} on "
                                   f"(new token {first - 2}):\n    expected {want.tolist()}\n    but got  {got.tolist()}",
                                   BLOCK_SIZE_HINT if first >= sizes["block_size"] else
                                   "Draw as generate does: last position, / temperature, filter_logits, softmax, "
                                   "torch.multinomial.")
            if not torch.equal(after_got, after_want):
                raise CheckFailure("generate_cached gave generate's tokens, but used the random generator "
                                   "differently: the numbers drawn after it differ. Draw each token as generate does, with one "
                                   "torch.multinomial(probs, num_samples=1) per step (also for greedy decoding), so "
                                   "that both consume the generator identically and every later draw matches too.",
                                   "No torch.argmax shortcut, no extra random draws.")


# ---------------------------------------------------------------- 6. kv_cache_bytes

@lesson.grading("kv_cache_bytes")
def check_kv_cache_bytes(ns: Namespace) -> None:
    for args, batch in (((6, 5, 24, 100, 2), 7), ((3, 1, 64, 33, 4), 1), ((24, 16, 80, 2048, 1), 4)):
        call = f"kv_cache_bytes({', '.join(map(str, args))}, batch_size={batch})"
        got = explained(lambda: ns.kv_cache_bytes(*args, batch_size=batch), call)
        want = ref.kv_cache_bytes(*args, batch_size=batch)
        expect_named(got, want, call, [
            Mistake(want // 2, "kv_cache_bytes gives the size of the keys alone: the cache holds a key and a value vector per "
                    "layer, head and token (the factor 2).", "Count the values too: twice the keys' bytes."),
            Mistake(want * 8, "kv_cache_bytes gives the size in bits: bytes_per_value is already a number of bytes.",
                    "Do not multiply by 8."),
            Mistake(want // batch if batch > 1 else -1, "kv_cache_bytes gives the cache of one sequence: every sequence of the "
                    "batch has its own keys and values (multiply by batch_size).", "Multiply by batch_size as well."),
        ])
    got = explained(lambda: ns.kv_cache_bytes(12, 12, 64, 1024, 4), "kv_cache_bytes(12, 12, 64, 1024, 4)")
    expect_type(got, int, "kv_cache_bytes(12, 12, 64, 1024, 4)", "Return an int.")


# ---------------------------------------------------------------- 7. repeat_kv

@lesson.grading("repeat_kv")
def check_repeat_kv(ns: Namespace) -> None:
    for shape, n_rep in (((2, 3, 4, 2), 2), ((1, 1, 5, 3), 4), ((2, 2, 3, 4), 1)):
        x = torch.arange(math.prod(shape), dtype=torch.float32).view(shape)
        what = f"repeat_kv(x, {n_rep}) for x = torch.arange({math.prod(shape)}.).view{shape}"
        got = explained(lambda: ns.repeat_kv(x, n_rep), what)
        expect_type(got, torch.Tensor, what)
        expect_named(got, ref.repeat_kv(x, n_rep), what, [
            Mistake(x.repeat(1, n_rep, 1, 1) if n_rep > 1 else x + 1e9,
                    "repeat_kv tiled the heads, 0, 1, 2, ..., 0, 1, 2, ...: query head j would then use key-value head "
                    "j % n_kv_head. Each key-value head must serve consecutive query heads: head j of the result is "
                    "head j // n_rep of x (0, 0, 1, 1, ...).", "torch.repeat_interleave along dim=1, not Tensor.repeat."),
            Mistake(x.repeat_interleave(n_rep, dim=2) if n_rep > 1 else x + 1e9,
                    "repeat_kv repeated the tokens (dim=2) instead of the heads: repeat along the head axis, dim=1.",
                    "(B, n_kv_head, T, hs) -> (B, n_kv_head * n_rep, T, hs)."),
        ])


# ---------------------------------------------------------------- 8. grouped_query_attention

def gqa_mistakes(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> list[Mistake]:
    n_rep = q.size(1) // k.size(1)
    tiled_k, tiled_v = k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1)
    mistakes = [Mistake(ref.attend_to_cache(q, tiled_k, tiled_v),
                        "your output matches the key-value heads tiled, 0, 1, ..., 0, 1, ...: query head h then uses "
                        "key-value head h % n_kv_head. The groups are consecutive: query head h uses key-value head "
                        "h // n_rep, as in F.scaled_dot_product_attention(..., enable_gqa=True).",
                        "repeat_interleave the key-value heads (your repeat_kv), or reshape q into (B, n_kv_head, "
                        "n_rep, T, hs).")] if n_rep > 1 and k.size(1) > 1 else []
    full_k, full_v = ref.repeat_kv(k, n_rep), ref.repeat_kv(v, n_rep)
    return mistakes + attention_mistakes(q, full_k, full_v)


@lesson.grading("grouped_query_attention")
def check_grouped_query_attention(ns: Namespace) -> None:
    for i, (B, h, h_kv, t_new, t_total, hs) in enumerate(((2, 8, 2, 1, 6, 4), (1, 6, 3, 3, 8, 4), (2, 4, 1, 2, 5, 8),
                                                          (1, 6, 2, 4, 4, 2))):
        seed = 800 + 3 * i
        q, k, v = randn(B, h, t_new, hs, seed=seed), randn(B, h_kv, t_total, hs, seed=seed + 1), \
            randn(B, h_kv, t_total, hs, seed=seed + 2)
        what = f"grouped_query_attention(q, k, v) for q {tuple(q.shape)}, k and v {tuple(k.shape)}"
        with swapped(ns.grouped_query_attention, attend_to_cache=ref.attend_to_cache, repeat_kv=ref.repeat_kv):
            got = explained(lambda: ns.grouped_query_attention(q, k, v), what)
        expect_shape(got, (B, h, t_new, hs), what)
        want = ref.grouped_query_attention(q, k, v)
        expect_named(got, want, what, lambda: gqa_mistakes(q, k, v),
                     "Query head h uses key-value head h // (n_head // n_kv_head).")
        repeated = ref.attend_to_cache(q, k.repeat_interleave(h // h_kv, 1), v.repeat_interleave(h // h_kv, 1))
        expect_close(got, repeated, f"{what}, compared with attention on the key-value heads repeated "
                     f"{h // h_kv} times each")
