"""Practice checks for lesson 05 — softmax, attention, masks and multi-head attention.

Shipped to students: no solution code in here.  Expected values come from the functions the
lesson itself names as the reference (``torch.softmax``, ``F.scaled_dot_product_attention``,
``nn.MultiheadAttention`` with weights copied across), from properties (rows sum to 1, no
information from the future, ``merge_heads`` undoes ``split_heads``), and, for the masks, the
attention weights and the head reshapes, from stored example outputs (``examples/05_attention.json``),
which also name the known mistakes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import describe, expect_close, expect_type
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("05", "attention", "Softmax, attention, masking and multi-head attention")
stored = lesson.examples


# ---------------------------------------------------------------- helpers (the grading checks use them too)

def randn(*shape: int, seed: int, requires_grad: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).requires_grad_(requires_grad)


def call_attention(ns: Namespace, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The learner's ``attention(q, k, v[, mask])``, checked for its return type and shapes."""
    what = (f"attention(q, k, v{', mask' if mask is not None else ''}) with q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}")
    result = ns.attention(q, k, v, mask) if mask is not None else ns.attention(q, k, v)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"{what} should return a tuple (output, weights), but got {describe(result)}.",
                           "Return two things: the output (weights applied to v) and the weights themselves.")
    out, weights = result
    for name, value in (("output", out), ("weights", weights)):
        expect_type(value, torch.Tensor, f"the {name} returned by {what}")
    shape_w = (*q.shape[:-1], k.shape[-2])
    shape_o = (*q.shape[:-1], v.shape[-1])
    if tuple(weights.shape) != shape_w:
        raise CheckFailure(f"{what}: the weights should have shape {shape_w} (..., T_q, T_k), "
                           f"got {tuple(weights.shape)}.", "One row per query, one column per key.")
    if tuple(out.shape) != shape_o:
        raise CheckFailure(f"{what}: the output should have shape {shape_o} (..., T_q, d_v), got {tuple(out.shape)}.",
                           "Each query's output is a weighted average of the rows of v.")
    return out, weights


def grads(loss: torch.Tensor, inputs: list[torch.Tensor], what: str) -> list[torch.Tensor]:
    """d loss / d inputs, failing with a clear message when the result is cut off from autograd."""
    if not loss.requires_grad:
        raise CheckFailure(f"{what}: the result carries no gradient (requires_grad is False).",
                           "Compute with torch operations on the inputs; do not call .detach(), .item() "
                           "or build new tensors from numbers.")
    found = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, found)]


def expect_same_grads(got: torch.Tensor, want: torch.Tensor, inputs: list[tuple[str, torch.Tensor]],
                      want_inputs: list[torch.Tensor], what: str, seed: int) -> None:
    """The gradients of sum(got * g) and sum(want * g) with respect to the inputs agree."""
    g = randn(*want.shape, seed=seed)
    got_grads = grads((got * g).sum(), [x for _, x in inputs], what)
    want_grads = torch.autograd.grad((want * g).sum(), want_inputs)
    for (name, _), got_g, want_g in zip(inputs, got_grads, want_grads):
        expect_close(got_g, want_g, f"{what}: the gradient with respect to {name}",
                     "Use differentiable torch operations only.")


def make_pair(ns: Namespace, d: int, h: int, bias: bool = True) -> tuple[nn.Module, nn.MultiheadAttention]:
    """The learner's MultiHeadAttention(d, h) and nn.MultiheadAttention with the same random weights."""
    ours = ns.MultiHeadAttention(d, h, bias=bias) if not bias else ns.MultiHeadAttention(d, h)
    if not isinstance(ours, nn.Module):
        raise CheckFailure(f"MultiHeadAttention({d}, {h}) should be an nn.Module, got {describe(ours)}.")
    for name, shape in (("in_proj", (3 * d, d)), ("out_proj", (d, d))):
        layer = getattr(ours, name, None)
        if not isinstance(layer, nn.Linear) or tuple(layer.weight.shape) != shape:
            raise CheckFailure(f"MultiHeadAttention({d}, {h}).{name} should be an nn.Linear with weight of shape {shape}, "
                               f"got {describe(layer)}.", "Keep the __init__ that the notebook gives you.")
    ref = nn.MultiheadAttention(d, h, bias=bias, batch_first=True)
    g = torch.Generator().manual_seed(41)
    with torch.no_grad():
        for mine, theirs in ((ours.in_proj.weight, ref.in_proj_weight), (ours.out_proj.weight, ref.out_proj.weight)):
            mine.copy_(torch.randn(mine.shape, generator=g) / math.sqrt(d))
            theirs.copy_(mine)
        if bias:
            for mine, theirs in ((ours.in_proj.bias, ref.in_proj_bias), (ours.out_proj.bias, ref.out_proj.bias)):
                mine.copy_(0.5 * torch.randn(mine.shape, generator=g))
                theirs.copy_(mine)
    return ours, ref


def forward(module: nn.Module, x: torch.Tensor, what: str, **kwargs: Any) -> torch.Tensor:
    out = module(x, **kwargs)
    expect_type(out, torch.Tensor, what, "forward returns one tensor: the output projection of the merged heads.")
    if tuple(out.shape) != tuple(x.shape):
        raise CheckFailure(f"{what} should have the shape of x, {tuple(x.shape)}, got {tuple(out.shape)}.")
    return out


def rows_sum_to_one(weights: torch.Tensor, what: str, rows: torch.Tensor | None = None) -> None:
    sums = weights.detach().sum(-1)
    want = torch.ones_like(sums) if rows is None else rows.to(sums.dtype)
    if not torch.allclose(sums.nan_to_num(-1.0), want, atol=1e-5):
        raise CheckFailure(f"{what}: each row of the weights (one query) must sum to 1, but the sums are "
                           f"{describe(sums)}.", "softmax over the last axis, the keys, after masking.")


BIG = torch.tensor([[1e4, -1e4, 0.0, 1e4 - 1],
                    [-1e4, -1e4 + 1, -1e4 + 2, -1e4],
                    [0.0, 1.0, 2.0, 3.0]])
PARTLY_MASKED = torch.tensor([[0.0, -math.inf, 1.0, -math.inf], [-math.inf, 5.0, -math.inf, -math.inf],
                              [2.0, 2.0, 2.0, 2.0]])


# ---------------------------------------------------------------- 1. softmax

@lesson.exercise("softmax", points=2,
                 hint="Subtract each slice's maximum along `dim` (keepdim=True) before exp, then divide by the "
                      "sum along the same `dim`.")
def softmax(ns: Namespace) -> None:
    # "Matches" means: equal to torch.softmax up to float32 rounding of the inputs (see feedback.tolerances).
    x = randn(3, 4, 5, seed=0)
    for dim in (None, 0, 1, 2, -2, -3):
        what = f"softmax(x{'' if dim is None else f', dim={dim}'}) for x of shape (3, 4, 5)"
        got = ns.softmax(x) if dim is None else ns.softmax(x, dim=dim)
        stored.expect("softmax", what, got, torch.softmax(x, -1 if dim is None else dim),
                      "The default is dim=-1, the last axis." if dim is None else "")
    for what, x, dim in (("softmax of scores around ±1e4, dim=-1", BIG, -1),
                         ("softmax of scores around ±1e4, dim=0", BIG.T, 0),
                         ("softmax of rows that are partly -inf", PARTLY_MASKED, -1)):
        stored.expect("softmax", what, ns.softmax(x, dim=dim), torch.softmax(x, dim), scale=1e4,
                      hint="A -inf score must get weight exactly 0; exp(-inf) is 0.")
    x = randn(4, 6, seed=1, requires_grad=True)
    got = ns.softmax(x, dim=0)
    expect_same_grads(got, torch.softmax(x, 0), [("x", x)], [x], "softmax(x, dim=0) for x of shape (4, 6)", seed=2)


# ---------------------------------------------------------------- 2-3. masks

@lesson.exercise("causal_mask", points=1,
                 hint="Entry [i, j] is True when key j is not in query i's future (j <= i); dtype torch.bool.")
def causal_mask(ns: Namespace) -> None:
    for T in (1, 4, 7):
        stored.expect("causal_mask", f"causal_mask({T})", ns.causal_mask(T))


@lesson.exercise("padding_mask", points=1,
                 hint="Shape (B, 1, T), dtype bool: position j of sequence b is real when j < lengths[b].")
def padding_mask(ns: Namespace) -> None:
    for lengths, T in (([3, 1, 5, 0, 4], 5), ([2], 3)):
        got = ns.padding_mask(torch.tensor(lengths), T)
        stored.expect("padding_mask", f"padding_mask(torch.tensor({lengths}), {T})", got)


# ---------------------------------------------------------------- 4. attention

@lesson.exercise("attention", points=2,
                 hint="Scores are the dot products of queries with keys, scaled by 1/√d_k; softmax along the keys; "
                      "the output is the weights applied to v.")
def attention(ns: Namespace) -> None:
    # Square shapes (T == d_k), so that a k that is not transposed still runs and can be recognised.
    q, k, v = randn(2, 6, 6, seed=10), randn(2, 6, 6, seed=11), randn(2, 6, 6, seed=12)
    out, weights = call_attention(ns, q, k, v)
    stored.expect("attention", "the weights for q, k, v of shape (2, 6, 6)", weights)
    expect_close(out, F.scaled_dot_product_attention(q, k, v),
                 "the output for q, k, v of shape (2, 6, 6), compared with F.scaled_dot_product_attention")

    q = randn(2, 3, 4, 8, seed=13, requires_grad=True)
    k = randn(2, 3, 7, 8, seed=14, requires_grad=True)
    v = randn(2, 3, 7, 5, seed=15, requires_grad=True)
    what = "attention(q, k, v) for q (2, 3, 4, 8), k (2, 3, 7, 8), v (2, 3, 7, 5)"
    out, weights = call_attention(ns, q, k, v)
    rows_sum_to_one(weights, what)
    want = F.scaled_dot_product_attention(q, k, v)
    expect_close(out, want, f"the output of {what}, compared with F.scaled_dot_product_attention")
    expect_same_grads(out, want, [("q", q), ("k", k), ("v", v)], [q, k, v], what, seed=16)


@lesson.exercise("masked_attention", points=2,
                 hint="Blocked scores become -inf before softmax (exp(-inf) = 0); a query with nothing to attend "
                      "to gets zero weights, not NaN.")
def masked_attention(ns: Namespace) -> None:
    T, d = 6, 8
    q, k, v = (randn(2, T, d, seed=s, requires_grad=True) for s in (20, 21, 22))
    causal = torch.ones(T, T).tril().bool()
    what = "attention(q, k, v, mask) with a causal (6, 6) mask, q, k, v of shape (2, 6, 8)"
    out, weights = call_attention(ns, q, k, v, causal)
    stored.expect("masked_attention", f"the weights of {what}", weights)
    want = F.scaled_dot_product_attention(q, k, v, attn_mask=causal)
    expect_close(out, want, f"the output of {what}, compared with F.scaled_dot_product_attention")
    expect_same_grads(out, want, [("q", q), ("k", k), ("v", v)], [q, k, v], what, seed=23)

    with torch.no_grad():
        future = [t.clone() for t in (q, k, v)]
        for t, seed in zip(future, (24, 25, 26)):
            t[:, 4:] = 30 * randn(2, T - 4, d, seed=seed)
        changed, _ = call_attention(ns, *future, causal)
        if not torch.allclose(changed[:, :4], out[:, :4].detach(), atol=1e-6):
            raise CheckFailure("with a causal mask, changing tokens 4 and 5 changed the outputs at positions 0 to 3: "
                               "information leaks from the future.",
                               "Mask the scores before softmax, so future keys take no part in any row.")

        g = torch.Generator().manual_seed(27)
        mask = torch.rand(T, T, generator=g) < 0.6
        mask[torch.arange(T), torch.randint(T, (T,), generator=g)] = True        # every row allows some key
        pad = (torch.arange(T) < torch.tensor([6, 3])[:, None])[:, None, :]      # (2, 1, T), lengths 6 and 3
        for name, m in (("a random (6, 6) mask", mask), ("a padding mask of shape (2, 1, 6) (lengths 6 and 3)", pad)):
            out_m, _ = call_attention(ns, q, k, v, m)
            expect_close(out_m, F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                         f"the output of attention with {name}, compared with F.scaled_dot_product_attention "
                         "(whose bool attn_mask also means True = may attend)",
                         "The mask broadcasts against the scores: use it as given.")
        out_big, w_big = call_attention(ns, 1e4 * q, k, v, causal)
        stored.expect("masked_attention", "the weights for scores around ±1e4 (q × 1e4), causal mask", w_big,
                      scale=1e4 * q.abs().max().item())

    empty = causal.clone()
    empty[2] = False
    qq, kk, vv = (t.detach().clone().requires_grad_() for t in (q, k, v))
    what = "attention with a mask whose row 2 is all False (query 2 may attend to nothing)"
    out, weights = call_attention(ns, qq, kk, vv, empty)
    stored.expect("masked_attention", f"the weights of {what}", weights)
    want = F.scaled_dot_product_attention(qq, kk, vv, attn_mask=empty)
    expect_close(out, want, f"the output of {what}, compared with F.scaled_dot_product_attention")
    if any(not torch.isfinite(gr).all() for gr in grads(out.sum(), [qq, kk, vv], what)):
        raise CheckFailure(f"{what}: the gradients contain NaN.",
                           "Zero the empty rows with masked_fill (not by multiplying: NaN * 0 is still NaN).")


# ---------------------------------------------------------------- 5. heads

@lesson.exercise("split_heads", points=1,
                 hint="(B, T, d) -> (B, n_heads, T, d_head): first give each token's features a head axis, then "
                      "move that axis in front of T.")
def split_heads(ns: Namespace) -> None:
    x = torch.arange(2 * 5 * 12, dtype=torch.float32).view(2, 5, 12)
    stored.expect("split_heads", "split_heads(x, 3) for x = torch.arange(120.).view(2, 5, 12)", ns.split_heads(x, 3))
    y = randn(1, 4, 8, seed=31)
    stored.expect("split_heads", "split_heads(y, 2) for y of shape (1, 4, 8)", ns.split_heads(y, 2))


@lesson.exercise("merge_heads", points=1,
                 hint="(B, h, T, d_head) -> (B, T, h * d_head): move the head axis back next to the features "
                      "before you flatten them.")
def merge_heads(ns: Namespace) -> None:
    x = torch.arange(2 * 3 * 5 * 4, dtype=torch.float32).view(2, 3, 5, 4)
    stored.expect("merge_heads", "merge_heads(x) for x = torch.arange(120.).view(2, 3, 5, 4)", ns.merge_heads(x))
    y = randn(2, 7, 8, seed=30)
    heads = y.view(2, 7, 2, 4).permute(0, 2, 1, 3)   # y's features in 2 heads of 4, head axis second
    expect_close(ns.merge_heads(heads), y, "merge_heads of y (2, 7, 8) cut into 2 heads of 4 features",
                 "merge_heads must give back each token's features in their original order.")


# ---------------------------------------------------------------- 5. multi-head attention

@lesson.exercise("MultiHeadAttention", points=3,
                 hint="in_proj gives [q | k | v]; split each into heads; attention with the mask (causal and/or "
                      "padding, with an axis for the heads); merge the heads; out_proj.")
def multi_head_attention(ns: Namespace) -> None:
    B, T, d, h = 2, 5, 12, 3
    ours, ref = make_pair(ns, d, h)
    x = randn(B, T, d, seed=42)
    got = forward(ours, x, "MultiHeadAttention(12, 3)(x) for x of shape (2, 5, 12)")
    want, _ = ref(x, x, x, need_weights=False)
    stored.expect("MultiHeadAttention", "MultiHeadAttention(12, 3)(x), x of shape (2, 5, 12), compared with "
                  "nn.MultiheadAttention(12, 3, batch_first=True) with the same weights", got, want)

    blocked = torch.ones(T, T, dtype=torch.bool).triu(1)     # PyTorch's convention: True = blocked
    xg, want_x = x.clone().requires_grad_(), x.clone().requires_grad_()
    what = "MultiHeadAttention(12, 3)(x, causal=True), compared with nn.MultiheadAttention with attn_mask"
    got = forward(ours, xg, what, causal=True)
    want, _ = ref(want_x, want_x, want_x, attn_mask=blocked, need_weights=False)
    stored.expect("MultiHeadAttention", what, got, want)
    params = [("x", xg), ("in_proj.weight", ours.in_proj.weight), ("in_proj.bias", ours.in_proj.bias),
              ("out_proj.weight", ours.out_proj.weight), ("out_proj.bias", ours.out_proj.bias)]
    expect_same_grads(got, want, params, [want_x, ref.in_proj_weight, ref.in_proj_bias, ref.out_proj.weight,
                                          ref.out_proj.bias], "with causal=True", seed=43)
    with torch.no_grad():
        pad = (torch.arange(T) < torch.tensor([5, 2])[:, None])[:, None, :]     # (B, 1, T), True = real key
        for kwargs, ref_kwargs, name in (
                (dict(mask=pad), dict(key_padding_mask=~pad[:, 0]), "mask=padding_mask([5, 2], 5)"),
                (dict(causal=True, mask=pad), dict(key_padding_mask=~pad[:, 0], attn_mask=blocked),
                 "causal=True, mask=padding_mask([5, 2], 5)")):
            what = f"MultiHeadAttention(12, 3)(x, {name}), compared with nn.MultiheadAttention"
            try:
                got = forward(ours, x, what, **kwargs)
            except RuntimeError as error:
                raise CheckFailure(f"{what} raised RuntimeError: {error}",
                                   "A (B, 1, T) mask needs an axis for the heads to broadcast against scores of shape "
                                   "(B, h, T, T).") from None
            want, _ = ref(x, x, x, need_weights=False, **ref_kwargs)
            stored.expect("MultiHeadAttention", what, got, want)
        ours, ref = make_pair(ns, 8, 2, bias=False)
        x = randn(3, 4, 8, seed=45)
        what = "MultiHeadAttention(8, 2, bias=False)(x, causal=True), compared with nn.MultiheadAttention(8, 2, bias=False)"
        want, _ = ref(x, x, x, attn_mask=torch.ones(4, 4, dtype=torch.bool).triu(1), need_weights=False)
        stored.expect("MultiHeadAttention", what, forward(ours, x, what, causal=True), want)
