"""Practice checks for lesson 12 — fast generation with a KV cache.

Shipped to students: no solution code in here.  Expected values come from

* the defining property of a cache: run piece by piece with it, attention and the model give the
  rows of what they give on the whole sequence at once (the given ``CausalSelfAttention`` and
  ``GPT`` of the notebook, weights set by name), and ``generate_cached`` gives the tokens of the
  notebook's own ``generate`` (lesson 08's), consuming the random generator the same way;
* the library references the lesson names: ``F.scaled_dot_product_attention`` with
  ``torch.nn.attention.bias.causal_lower_right`` (and ``enable_gqa=True``), Hugging Face's
  ``GPT2LMHeadModel`` with ``use_cache=True``, and its ``DynamicCache``, which stands in for the
  learner's ``KVCache`` where another exercise uses a cache (so each exercise is checked on its own);
* worked examples with literal numbers (the memory of GPT-2 small's and Llama 2's caches), and the
  bytes of real tensors;
* stored example outputs (``examples/12_kv_cache.json``) for the cache's contents and the repeated
  key-value heads, which also name the known mistakes.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Any, Callable, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention.bias import causal_lower_right

from ..feedback import describe, expect_type
from ..registry import CheckFailure, Lesson, Namespace
from .lesson08 import fill_by_name, hf_gpt2, hf_transformers, make_config

lesson = Lesson("12", "kv_cache", "Fast generation: the KV cache")
stored = lesson.examples


# ---------------------------------------------------------------- helpers (the grading checks use them too)

def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def randint(high: int, *shape: int, seed: int) -> torch.Tensor:
    return torch.randint(high, shape, generator=torch.Generator().manual_seed(seed))


def explained(call: Callable[[], Any], what: str, hint: str = "") -> Any:
    """call(), with an error the learner's code raises turned into a failed check that names the call
    (so that the grading checks still get their say about which mistake it is)."""
    try:
        return call()
    except NotImplementedError:
        raise
    except CheckFailure:
        raise
    except (RuntimeError, ValueError, IndexError, TypeError, AttributeError, AssertionError) as error:
        raise CheckFailure(f"{what} raised {type(error).__name__}: {error}", hint) from None


class LibraryCache:
    """Hugging Face's ``DynamicCache`` behind the notebook's ``KVCache`` interface (``append`` and
    ``len``, with the same ``max_tokens`` limit): what the checks give a learner's function that
    uses a cache, so that an exercise does not depend on the learner's own ``KVCache``."""

    def __init__(self, n_layer: int, max_tokens: int) -> None:
        self.library = hf_transformers().DynamicCache()
        self.n_layer = n_layer
        self.max_tokens = max_tokens

    def tokens(self, layer: int) -> int:
        """The number of tokens cached in ``layer``."""
        return self.library.get_seq_length(layer) if layer < len(self.library.layers) else 0

    def __len__(self) -> int:
        return self.tokens(0)

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not (isinstance(layer, int) and 0 <= layer < self.n_layer):
            raise CheckFailure(f"cache.append was called with layer={layer!r}, but the model has layers 0 to "
                               f"{self.n_layer - 1}.", "Pass the number of the block whose attention runs.")
        for name, t in (("k", k), ("v", v)):
            if not isinstance(t, torch.Tensor) or t.dim() != 4:
                raise CheckFailure(f"cache.append(layer, k, v) was given {name} = {describe(t)}; it takes the new "
                                   "tokens' keys and values split into heads, (B, n_head, T_new, head_size).")
        if k.shape != v.shape:
            raise CheckFailure(f"cache.append(layer, k, v) was given k of shape {tuple(k.shape)} and v of shape "
                               f"{tuple(v.shape)}; both should be (B, n_head, T_new, head_size).")
        if self.tokens(layer) + k.shape[2] > self.max_tokens:
            raise ValueError(f"a cache of at most {self.max_tokens} tokens cannot hold {self.tokens(layer) + k.shape[2]}")
        return self.library.update(k, v, layer)

    def keys(self, layer: int) -> torch.Tensor:
        return self.library.layers[layer].keys

    def values(self, layer: int) -> torch.Tensor:
        return self.library.layers[layer].values


def call_append(cache: Any, layer: int, k: torch.Tensor, v: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """cache.append(layer, k, v), which must return a pair of tensors."""
    out = explained(lambda: cache.append(layer, k, v), what,
                    "append stores the new tokens after the ones that layer already holds, along the time axis (dim=2 "
                    "of (B, n_head, T, head_size)), and returns everything that layer holds.")
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailure(f"{what} should return a pair (keys, values), but returned {describe(out)}.",
                           "Return all of the layer's keys and values, the new ones included.")
    for name, t in zip(("keys", "values"), out):
        expect_type(t, torch.Tensor, f"the {name} returned by {what}")
    return out


def cache_length(cache: Any, what: str) -> Any:
    return explained(lambda: len(cache), what)


def make_gpt(ns: Namespace, seed: int, std: float = 0.1, **sizes: Any) -> nn.Module:
    """The notebook's given GPT, weights set by name, in evaluation mode."""
    model = ns.GPT(make_config(ns, **sizes))
    fill_by_name(model, seed, std=std)
    return model.eval()


def hf_pair(ns: Namespace, seed: int, **sizes: Any) -> tuple[nn.Module, nn.Module]:
    """Hugging Face's GPT2LMHeadModel (weights set by name) and the notebook's GPT with the same weights,
    loaded with the notebook's given load_gpt2_state_dict (lesson 08's), both in evaluation mode."""
    config = make_config(ns, **sizes)
    hf = hf_gpt2(config, seed)
    model = ns.GPT(config)
    ns.load_gpt2_state_dict(model, hf.state_dict())
    return hf, model.eval()


def hf_step(hf: nn.Module, idx: torch.Tensor, cache: Any) -> torch.Tensor:
    """GPT2LMHeadModel's logits for the new tokens ``idx``, reading and filling its DynamicCache."""
    return hf(idx, cache=cache, use_cache=True).logits


def expect_shape(value: Any, shape: tuple[int, ...], what: str, hint: str = "") -> None:
    expect_type(value, torch.Tensor, what, hint)
    if tuple(value.shape) != shape:
        raise CheckFailure(f"{what} should have shape {shape}, got {tuple(value.shape)}.", hint)


def chunks(sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    """[(start, end), ...] of consecutive pieces of the given sizes."""
    bounds, start = [], 0
    for size in sizes:
        bounds.append((start, start + size))
        start += size
    return bounds


def span(start: int, end: int) -> str:
    return f"token {start}" if end == start + 1 else f"tokens {start}-{end - 1}"


def _names_used(function: Any) -> set[str]:
    """The global names a function's code (nested functions and comprehensions included) refers to."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    names: set[str] = set()
    stack = [code] if code is not None else []
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if hasattr(c, "co_names"))
    return names


def helper_failure(ns: Namespace, exercise: str, names: tuple[str, ...]) -> str:
    """" <exercise> uses your <name>, which fails its own check: ..." for the first exercise among ``names``
    that the learner's ``exercise`` calls and that fails its practice check; "" when there is none."""
    from ..runner import run_exercise

    if stored.recorder is not None:  # generating the stored examples: nothing is compared
        return ""
    used = _names_used(ns.values.get(exercise))
    for name in names:
        if name not in used:
            continue
        result = run_exercise(lesson.get(name), ns, tiers=("practice",))
        if not result.passed:
            deeper = f" ({result.hint})" if "uses your" in result.hint else ""
            return f"{exercise} uses your {name}, which fails its own check: {result.message}{deeper}"
    return ""


@contextlib.contextmanager
def blaming(ns: Namespace, exercise: str, names: tuple[str, ...]) -> Iterator[None]:
    """When a check inside fails, add to its hint which of the learner's other exercises that ``exercise``
    calls fails its own check (their mistakes show up here too)."""
    try:
        yield
    except CheckFailure as failure:
        extra = helper_failure(ns, exercise, names)
        if not extra:
            raise
        raise CheckFailure(failure.message, f"{failure.hint} {extra}".strip()) from None


def blames(exercise: str, *names: str) -> Callable[[Callable[[Namespace], None]], Callable[[Namespace], None]]:
    """Decorator: run a practice check inside :func:`blaming`."""

    def wrap(check: Callable[[Namespace], None]) -> Callable[[Namespace], None]:
        @functools.wraps(check)
        def wrapped(ns: Namespace) -> None:
            with blaming(ns, exercise, names):
                check(ns)

        return wrapped

    return wrap


# ---------------------------------------------------------------- 1. KVCache

@lesson.exercise("KVCache", points=2,
                 hint="Per layer, keep the keys and the values; append puts the new tokens after the old ones along "
                      "the time axis (dim=2) and returns everything that layer holds; len counts the tokens of layer "
                      "0; refuse (ValueError) to hold more than max_tokens.")
def kv_cache(ns: Namespace) -> None:
    cache = ns.KVCache(2, 6)
    stored.expect("KVCache", "len(KVCache(2, 6)) for a new cache", cache_length(cache, "len(KVCache(2, 6))"), want=0)
    k0, v0, k1, v1 = (randn(2, 3, 4, 5, seed=s) for s in (1, 2, 3, 4))
    what = "cache.append(0, k, v) with k, v of shape (2, 3, 4, 5) into a new KVCache(2, 6)"
    keys, values = call_append(cache, 0, k0, v0, what)
    stored.expect("KVCache", f"the keys returned by {what}", keys, want=k0)
    stored.expect("KVCache", f"the values returned by {what}", values, want=v0)
    call_append(cache, 1, k1, v1, "cache.append(1, k, v) with 4 tokens")
    stored.expect("KVCache", "len(cache) after 4 tokens went into layer 0 and 4 into layer 1",
                  cache_length(cache, "len(cache)"), want=4)

    k2, v2, k3, v3 = (randn(2, 3, 1, 5, seed=s) for s in (5, 6, 7, 8))
    what = "cache.append(0, k, v) with 1 new token, (2, 3, 1, 5), after 4"
    keys, values = call_append(cache, 0, k2, v2, what)
    stored.expect("KVCache", "the keys of layer 0 returned after appending 4 tokens, then 1", keys)
    stored.expect("KVCache", "the values of layer 0 returned after appending 4 tokens, then 1", values)
    keys, values = call_append(cache, 1, k3, v3, "cache.append(1, k, v) with 1 new token after 4")
    stored.expect("KVCache", "the keys of layer 1 returned after appending 4 tokens, then 1", keys)
    stored.expect("KVCache", "len(cache) after 4 + 1 tokens went into layers 0 and 1", cache_length(cache, "len(cache)"),
                  want=5)

    too_many = randn(2, 3, 2, 5, seed=9)
    try:
        cache.append(0, too_many, too_many)
    except ValueError:
        pass
    except NotImplementedError:
        raise
    except Exception as error:
        raise CheckFailure(f"appending 2 tokens to a layer that holds 5, in a KVCache(2, max_tokens=6), raised "
                           f"{type(error).__name__} ({error}), not ValueError.",
                           "Check the number of tokens before storing anything, and raise ValueError with a message.")
    else:
        raise CheckFailure("appending 2 tokens to a layer that holds 5, in a KVCache(2, max_tokens=6), was accepted: "
                           "the cache would hold 7 tokens, more than max_tokens, and the model has no position for "
                           "the 7th.", "Raise ValueError when a layer would hold more than max_tokens tokens.")
    stored.expect("KVCache", "len(cache) after a refused append of 2 tokens to a layer of 5 (max_tokens 6)",
                  cache_length(cache, "len(cache)"), want=5, hint="A refused append stores nothing.")
    k4, v4 = randn(2, 3, 1, 5, seed=10), randn(2, 3, 1, 5, seed=11)
    keys, _ = call_append(cache, 0, k4, v4, "cache.append(0, k, v) with 1 token, after a refused append of 2")
    stored.expect("KVCache", "the keys of layer 0 after 4 + 1 tokens, a refused append of 2 tokens, then 1 more", keys)


# ---------------------------------------------------------------- 2. attend_to_cache

ATTEND_CASES = ((2, 3, 1, 7, 8, "one new query against 7 keys"),
                (2, 3, 3, 7, 8, "3 new queries against 7 keys"),
                (1, 2, 5, 5, 4, "5 queries against their own 5 keys (an empty cache)"),
                (2, 1, 2, 9, 4, "2 new queries against 9 keys"))


def attend_inputs(B: int, h: int, t_new: int, t_total: int, hs: int, seed: int) -> tuple[torch.Tensor, ...]:
    return randn(B, h, t_new, hs, seed=seed), randn(B, h, t_total, hs, seed=seed + 1), randn(B, h, t_total, hs, seed=seed + 2)


@lesson.exercise("attend_to_cache", points=2,
                 hint="Scores q k^T / sqrt(head_size) of shape (B, h, T_new, T); new query i sits at position "
                      "T - T_new + i and may see keys 0 to T - T_new + i (the causal triangle in the bottom-right "
                      "corner); softmax over the keys; weights @ v.")
def attend_to_cache(ns: Namespace) -> None:
    for i, (B, h, t_new, t_total, hs, about) in enumerate(ATTEND_CASES):
        q, k, v = attend_inputs(B, h, t_new, t_total, hs, seed=20 + 3 * i)
        what = f"attend_to_cache(q, k, v) for {about}: q {tuple(q.shape)}, k and v {tuple(k.shape)}"
        got = explained(lambda: ns.attend_to_cache(q, k, v), what)
        expect_shape(got, (B, h, t_new, hs), what, "One output row per new query: (B, n_head, T_new, head_size).")
        want = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(t_new, t_total))
        stored.expect("attend_to_cache", f"{what}, compared with F.scaled_dot_product_attention(q, k, v, "
                      f"attn_mask=causal_lower_right({t_new}, {t_total}))", got, want=want)


# ---------------------------------------------------------------- 3. cached_self_attention

ATTENTION_PIECES = (3, 1, 2, 1)


def make_attention(ns: Namespace, seed: int) -> nn.Module:
    """The notebook's given CausalSelfAttention (n_embd=12, n_head=3), weights set by name, in evaluation mode."""
    attn = ns.CausalSelfAttention(make_config(ns, n_embd=12, n_head=3, block_size=16))
    for name in ("c_attn", "c_proj"):
        if not isinstance(getattr(attn, name, None), nn.Linear):
            raise CheckFailure(f"the given CausalSelfAttention has no Linear layer `{name}`: keep the given code as it is.")
    fill_by_name(attn, seed, std=0.3)
    return attn.eval()


@lesson.exercise("cached_self_attention", points=2,
                 hint="q, k, v from attn.c_attn(x), split into heads as in CausalSelfAttention.forward; append the new "
                      "keys and values to the cache's layer (once) and attend to all the keys and values it returns "
                      "with attend_to_cache; heads side by side again; attn.c_proj, then attn.resid_dropout.")
@blames("cached_self_attention", "attend_to_cache")
def cached_self_attention(ns: Namespace) -> None:
    attn = make_attention(ns, seed=30)
    x = randn(2, 7, 12, seed=31)
    with torch.no_grad():
        full = attn(x)
        cache = LibraryCache(2, 16)
        for start, end in chunks(ATTENTION_PIECES):
            what = (f"cached_self_attention(attn, x, cache, 0) for {span(start, end)} of x (2, 7, 12), "
                    f"{start} cached before")
            out = explained(lambda: ns.cached_self_attention(attn, x[:, start:end], cache, 0), what)
            expect_shape(out, (2, end - start, 12), what, "One output vector per new token: (B, T_new, C).")
            stored.expect("cached_self_attention", f"the number of tokens in the cache after {what}",
                          cache.tokens(0), want=end)
            stored.expect("cached_self_attention", f"{what}, compared with the rows {start}-{end - 1} of attn(x) "
                          "(all 7 tokens at once)", out, want=full[:, start:end])
        stored.expect("cached_self_attention", "the keys in the cache after x (2, 7, 12) went through in pieces of "
                      "3, 1, 2 and 1 tokens", cache.keys(0))
        stored.expect("cached_self_attention", "the values in the cache after x (2, 7, 12) went through in pieces of "
                      "3, 1, 2 and 1 tokens", cache.values(0))

        other = LibraryCache(2, 16)
        what = "cached_self_attention(attn, x, cache, 1) for all 7 tokens of x into a new cache of 2 layers"
        out = explained(lambda: ns.cached_self_attention(attn, x, other, 1), what)
        stored.expect("cached_self_attention", f"the tokens cached in layers 0 and 1 after {what}",
                      [other.tokens(0), other.tokens(1)], want=[0, 7])
        stored.expect("cached_self_attention", f"{what}, compared with attn(x)", out, want=full)


# ---------------------------------------------------------------- 4. forward_with_cache

FORWARD_SIZES = dict(vocab_size=29, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0, bias=True)
FORWARD_PIECES = (5, 1, 1, 3, 1, 1)


def call_forward(ns: Namespace, model: nn.Module, idx: torch.Tensor, cache: Any, what: str) -> tuple[torch.Tensor, Any]:
    """ns.forward_with_cache(model, idx, cache), which must return (logits of the new tokens, the cache)."""
    out = explained(lambda: ns.forward_with_cache(model, idx, cache), what)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailure(f"{what} should return a pair (logits, cache), but returned {describe(out)}.",
                           "Return the logits of the new tokens and the cache.")
    logits, returned = out
    B, T = idx.shape
    expect_shape(logits, (B, T, model.config.vocab_size), f"the logits returned by {what}",
                 "One row of logits per new token: (B, T_new, vocab_size).")
    if returned is not cache:
        raise CheckFailure(f"{what} returned another cache than the one it was given (a {type(returned).__name__}): "
                           "the keys and values it just computed would be lost for the next step.",
                           "Append to the cache you are given, and return that cache.")
    return logits, returned


@lesson.exercise("forward_with_cache", points=3,
                 hint="Read len(cache) first: the new tokens sit at positions len(cache), len(cache) + 1, ...; then "
                      "follow GPT.forward, with cached_self_attention(block.attn, block.ln_1(x), cache, i) in block i; "
                      "return the logits of every new token and the cache.")
@blames("forward_with_cache", "attend_to_cache", "cached_self_attention")
def forward_with_cache(ns: Namespace) -> None:
    model = make_gpt(ns, seed=40, **FORWARD_SIZES)
    idx = randint(29, 2, 12, seed=41)
    with torch.no_grad():
        full, _ = model(idx)
        cache = LibraryCache(2, 16)
        for start, end in chunks(FORWARD_PIECES):
            what = f"forward_with_cache(model, idx[:, {start}:{end}], cache) with {start} tokens cached"
            logits, cache = call_forward(ns, model, idx[:, start:end], cache, what)
            stored.expect("forward_with_cache", f"the tokens cached in layers 0 and 1 after {what}",
                          [cache.tokens(0), cache.tokens(1)], want=[end, end])
            stored.expect("forward_with_cache", f"the logits of {what}, compared with the rows {start}-{end - 1} of "
                          "model(idx)'s (GPT, vocab 29, 2 layers, 4 heads, n_embd 32, weights set by name)",
                          logits, want=full[:, start:end])

        # The real thing: GPT2LMHeadModel with use_cache=True, step by step, and what it caches.
        hf, twin = hf_pair(ns, seed=43, **FORWARD_SIZES)
        theirs, ours = hf_transformers().DynamicCache(), LibraryCache(2, 16)
        for start, end in chunks((4, 1, 2, 1)):
            what = f"forward_with_cache for {span(start, end)} with {start} cached"
            logits, ours = call_forward(ns, twin, idx[:, start:end], ours, what)
            stored.expect("forward_with_cache", f"the logits of {what}, compared with GPT2LMHeadModel(..., "
                          "use_cache=True) with the same weights", logits, want=hf_step(hf, idx[:, start:end], theirs))
        for layer in range(2):
            for name in ("keys", "values"):
                stored.expect("forward_with_cache", f"the {name} cached in layer {layer} for 8 tokens, compared with "
                              f"GPT2LMHeadModel's cache", getattr(ours, name)(layer),
                              want=getattr(theirs.layers[layer], name))

        full_context = LibraryCache(2, 16)
        idx16 = randint(29, 1, 16, seed=42)
        what = "forward_with_cache(model, idx, cache) for one sequence of block_size = 16 tokens into a new cache"
        logits, _ = call_forward(ns, model, idx16, full_context, what)
        stored.expect("forward_with_cache", f"the logits of {what}, compared with model(idx)", logits,
                      want=model(idx16)[0])


# ---------------------------------------------------------------- 5. generate_cached

GENERATE_SIZES = dict(vocab_size=29, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.0, bias=True)
GENERATE_SETTINGS = ((dict(top_k=1), "greedy (top_k=1)"), (dict(), "temperature 1"),
                     (dict(temperature=0.7, top_p=0.9), "temperature 0.7, top_p 0.9"),
                     (dict(temperature=1.3, top_k=5), "temperature 1.3, top_k 5"))


def count_positions(model: nn.Module) -> tuple[list[int], Any]:
    """A forward pre-hook on the token embedding that records how many positions each call runs."""
    seen: list[int] = []
    handle = model.transformer.wte.register_forward_pre_hook(lambda module, args: seen.append(int(args[0].shape[-1])))
    return seen, handle


def call_generate(ns: Namespace, name: str, model: nn.Module, prompt: torch.Tensor, n: int, **settings: Any) -> Any:
    what = f"{name}(model, prompt, {n}{''.join(f', {k}={v}' for k, v in settings.items())})"
    out = explained(lambda: getattr(ns, name)(model, prompt, n, **settings), what,
                    f"The text grows past block_size = {model.config.block_size} tokens here: the model has no position "
                    "beyond block_size, so when the cache is full, start a new one with the last block_size tokens.")
    expect_shape(out, (prompt.shape[0], prompt.shape[1] + n), f"the result of {what}",
                 "Return the prompt with the new tokens appended: (B, T + max_new_tokens).")
    return out


def seeded(call: Callable[[], Any], seed: int) -> tuple[Any, torch.Tensor]:
    """call() after torch.manual_seed(seed), and the next three numbers the random generator gives."""
    torch.manual_seed(seed)
    out = call()
    return out, torch.rand(3)


@lesson.exercise("generate_cached", points=3,
                 hint="Prefill a new KVCache with the prompt (its last block_size tokens), then run only the token "
                      "just drawn; draw as generate does (last position, / temperature, filter_logits, softmax, one "
                      "torch.multinomial per step); when the cache holds block_size tokens, start a new one with "
                      "the last block_size tokens.")
@blames("generate_cached", "KVCache", "attend_to_cache", "cached_self_attention", "forward_with_cache")
def generate_cached(ns: Namespace) -> None:
    model = make_gpt(ns, seed=50, std=0.3, **GENERATE_SIZES)
    prompt = randint(29, 2, 3, seed=51)

    seen, handle = count_positions(model)
    try:
        torch.manual_seed(0)
        got = call_generate(ns, "generate_cached", model, prompt, 4)
    finally:
        handle.remove()
    if not torch.equal(got[:, :3], prompt):
        raise CheckFailure(f"generate_cached(model, prompt, 4) should start with the prompt {prompt.tolist()}, "
                           f"got {got.tolist()}.", "Append the new tokens to idx and return it.")
    if sum(seen) > 3 + 4:
        raise CheckFailure(f"generate_cached(model, prompt of 3 tokens, 4) ran {sum(seen)} token positions through "
                           f"the model (calls of {seen} positions); with a cache it needs at most 3 + 3 = 6 (the "
                           "prompt once, then one token per step). generate itself runs 3 + 4 + 5 + 6 = 18: the "
                           "context is being recomputed instead of read from the cache.",
                           "After the prefill, give forward_with_cache only the token just drawn.")

    for i, (settings, about) in enumerate(GENERATE_SETTINGS):
        seed = 60 + i
        want, after_want = seeded(lambda: call_generate(ns, "generate", model, prompt, 14, **settings), seed)
        got, after_got = seeded(lambda: call_generate(ns, "generate_cached", model, prompt, 14, **settings), seed)
        what = (f"generate_cached(model, prompt, 14) {about}, after torch.manual_seed({seed}), with block_size 8 and "
                "a prompt of 3 tokens")
        hint = ""
        if not torch.equal(got, want):
            first = int((got != want).any(dim=0).nonzero()[0])
            hint = (f"The first difference is new token {first - 3} (position {first})."
                    + (" The text has passed block_size there: the cache must start again with the last block_size "
                       "tokens." if first >= 8 else ""))
        stored.expect("generate_cached", f"{what}, compared with generate", got, want=want, hint=hint)
        stored.expect("generate_cached", f"torch.rand(3) drawn after {what}, compared with after generate", after_got,
                      want=after_want, hint="Draw each token as generate does: one torch.multinomial(probs, "
                      "num_samples=1) per step, on the (B, V) probabilities, so that both use the random generator "
                      "identically.")


# ---------------------------------------------------------------- 6. kv_cache_bytes

WORKED_BYTES = (((12, 12, 64, 1024, 4), {}, 75_497_472, "GPT-2 small, 1024 tokens, float32"),
                ((32, 32, 128, 4096, 2), {}, 2_147_483_648, "Llama 2 7B, 4096 tokens, float16"),
                ((80, 8, 128, 4096, 2), {}, 1_342_177_280, "Llama 2 70B (8 key-value heads), 4096 tokens, float16"),
                ((2, 3, 4, 5, 4), dict(batch_size=3), 2 * 2 * 3 * 4 * 5 * 4 * 3, "a batch of 3"))


@lesson.exercise("kv_cache_bytes", points=1,
                 hint="One key and one value vector of head_size numbers per layer, key-value head, token and "
                      "sequence, each number bytes_per_value bytes: multiply everything, and by 2.")
def kv_cache_bytes(ns: Namespace) -> None:
    for args, kwargs, want, about in WORKED_BYTES:
        call = f"kv_cache_bytes({', '.join(map(str, args))}{''.join(f', {k}={v}' for k, v in kwargs.items())})"
        got = explained(lambda: ns.kv_cache_bytes(*args, **kwargs), call)
        expect_type(got, int, f"{call} ({about})", "Return a whole number of bytes, an int.")
        stored.expect("kv_cache_bytes", f"{call}: {about}", got, want=want)
    # Against real tensors: the keys and values of 3 layers, 2 key-value heads of size 8, 5 tokens, 2 sequences.
    for dtype in (torch.float32, torch.bfloat16):
        tensors = [torch.zeros(2, 2, 5, 8, dtype=dtype) for _ in range(2 * 3)]
        held = sum(t.numel() * t.element_size() for t in tensors)
        size = tensors[0].element_size()
        call = f"kv_cache_bytes(3, 2, 8, 5, {size}, batch_size=2)"
        got = explained(lambda: ns.kv_cache_bytes(3, 2, 8, 5, size, batch_size=2), call)
        stored.expect("kv_cache_bytes", f"{call}, compared with the bytes of 3 layers' keys and values of shape "
                      f"(2, 2, 5, 8) in {dtype}", got, want=held)


# ---------------------------------------------------------------- 7. repeat_kv

@lesson.exercise("repeat_kv", points=1,
                 hint="Head j of the result is head j // n_rep of x: each key-value head n_rep times in a row, along "
                      "the head axis (dim=1).")
def repeat_kv(ns: Namespace) -> None:
    x = torch.arange(12.0).view(1, 2, 3, 2)
    what = "repeat_kv(x, 3) for x = torch.arange(12.).view(1, 2, 3, 2)"
    got = explained(lambda: ns.repeat_kv(x, 3), what)
    expect_type(got, torch.Tensor, what)
    stored.expect("repeat_kv", what, got, hint="(B, n_kv_head * n_rep, T, head_size): only the head axis grows.")
    stored.expect("repeat_kv", "repeat_kv(x, 1) (nothing to repeat)", explained(lambda: ns.repeat_kv(x, 1), "repeat_kv(x, 1)"),
                  want=x)
    q, k, v = randn(2, 6, 5, 4, seed=70), randn(2, 2, 5, 4, seed=71), randn(2, 2, 5, 4, seed=72)
    what = "F.scaled_dot_product_attention(q, repeat_kv(k, 3), repeat_kv(v, 3), is_causal=True) for 6 query heads and 2 key-value heads"
    got = F.scaled_dot_product_attention(q, explained(lambda: ns.repeat_kv(k, 3), "repeat_kv(k, 3)"),
                                         explained(lambda: ns.repeat_kv(v, 3), "repeat_kv(v, 3)"), is_causal=True)
    stored.expect("repeat_kv", f"{what}, compared with F.scaled_dot_product_attention(q, k, v, is_causal=True, "
                  "enable_gqa=True)", got, want=F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True))


# ---------------------------------------------------------------- 8. grouped_query_attention

GQA_CASES = ((2, 6, 2, 1, 7, 8, "6 query heads, 2 key-value heads, one new query against 7 keys"),
             (2, 6, 2, 3, 7, 8, "6 query heads, 2 key-value heads, 3 new queries against 7 keys"),
             (1, 4, 1, 5, 5, 4, "4 query heads, 1 key-value head (multi-query), 5 queries against their own 5 keys"),
             (1, 4, 4, 2, 6, 4, "4 query heads, 4 key-value heads (ordinary attention), 2 new queries against 6 keys"))


@lesson.exercise("grouped_query_attention", points=2,
                 hint="n_rep = n_head // n_kv_head; query head h uses key-value head h // n_rep (consecutive groups); "
                      "then the causal attention of attend_to_cache.")
@blames("grouped_query_attention", "repeat_kv", "attend_to_cache")
def grouped_query_attention(ns: Namespace) -> None:
    for i, (B, h, h_kv, t_new, t_total, hs, about) in enumerate(GQA_CASES):
        seed = 80 + 3 * i
        q, k, v = randn(B, h, t_new, hs, seed=seed), randn(B, h_kv, t_total, hs, seed=seed + 1), \
            randn(B, h_kv, t_total, hs, seed=seed + 2)
        what = f"grouped_query_attention(q, k, v) for {about}: q {tuple(q.shape)}, k and v {tuple(k.shape)}"
        got = explained(lambda: ns.grouped_query_attention(q, k, v), what)
        expect_shape(got, (B, h, t_new, hs), what, "One output per query head and new query: (B, n_head, T_new, hs).")
        want = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(t_new, t_total), enable_gqa=True)
        stored.expect("grouped_query_attention", f"{what}, compared with F.scaled_dot_product_attention(..., "
                      f"attn_mask=causal_lower_right({t_new}, {t_total}), enable_gqa=True)", got, want=want)
