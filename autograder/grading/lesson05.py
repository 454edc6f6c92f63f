"""Checks for lesson 05 — softmax, scaled dot-product attention, masks and multi-head attention.

References come from PyTorch itself: ``torch.softmax``, ``F.scaled_dot_product_attention`` and
``nn.MultiheadAttention`` (weights copied across), values and gradients, float32, atol 1e-5.
Known mistakes are recognised by recomputing the buggy variant (or checking the property it
breaks) and failing with a message that names the mistake.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import close, describe, expect_close, expect_tensor_close, expect_type
from ..registry import CheckFailure, Namespace

from ..practice.lesson05 import call_attention, forward, grads, lesson, make_pair, randn

ATOL = 1e-5
NEG_INF = float("-inf")


# ---------------------------------------------------------------- helpers

def _close(got: Any, want: torch.Tensor, atol: float = ATOL) -> bool:
    return close(got, want, atol=atol, rtol=ATOL)


def _ref_weights(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None,
                 scale: float | None = None, dim: int = -1, transpose_k: bool = True) -> torch.Tensor:
    """Attention weights the way PyTorch computes them (rows with nothing allowed are all 0)."""
    scale = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    scores = (q @ (k.transpose(-2, -1) if transpose_k else k)) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, NEG_INF)
    return torch.softmax(scores, dim=dim).nan_to_num(0.0)


def _helper_failure(ns: Namespace, names: list[str]) -> str:
    """The first of the lesson's earlier exercises that does not pass yet (for follow-up hints)."""
    from ..runner import run_exercise

    for name in names:
        result = run_exercise(lesson.get(name), ns)
        if not result.passed:
            if result.message.startswith("not implemented yet"):
                return f" Note: your `{name}` is not implemented yet, and this code calls it."
            return f" Note: your `{name}` does not pass its own check yet ({result.message.splitlines()[0]})."
    return ""


# ---------------------------------------------------------------- 1. softmax

@lesson.grading("softmax")
def check_softmax(ns: Namespace) -> None:
    x = randn(3, 4, 5, seed=0)
    for dim in (None, 0, 1, 2, -2, -3):
        got = ns.softmax(x) if dim is None else ns.softmax(x, dim=dim)
        dim = -1 if dim is None else dim
        want = torch.softmax(x, dim)
        what = f"softmax(x{'' if dim == -1 else f', dim={dim}'}) for x of shape (3, 4, 5)"
        expect_type(got, torch.Tensor, what)
        if dim % 3 != 2 and _close(got, torch.softmax(x, -1)):
            raise CheckFailure(f"{what} returned the softmax along the last axis: you ignored `dim`.",
                               "Pass dim to amax and to sum: x.amax(dim=dim, keepdim=True), e.sum(dim=dim, keepdim=True).")
        if got.shape == x.shape and abs(got.sum().item() - 1) < 1e-4:
            raise CheckFailure(f"{what} sums to 1 over the whole tensor, not along dim={dim}: you normalised by "
                               "the sum of all entries.",
                               "Sum along the axis only: e.sum(dim=dim, keepdim=True).")
        if got.shape == want.shape and not torch.allclose(got.sum(dim), torch.ones(()), atol=1e-5):
            raise CheckFailure(f"{what}: the values along dim={dim} must sum to 1, but their sums are "
                               f"{describe(got.sum(dim))}.", "Divide e by its sum along the same dim.")
        expect_tensor_close(got, want, what, "The default is dim=-1, the last axis." if dim == -1 else "")

    big = torch.tensor([[1e4, -1e4, 0.0, 1e4 - 1],
                        [-1e4, -1e4 + 1, -1e4 + 2, -1e4],
                        [0.0, 1.0, 2.0, 3.0]])
    got = ns.softmax(big, dim=-1)
    expect_type(got, torch.Tensor, "softmax of large scores")
    if got.shape == big.shape and not torch.isfinite(got[0]).all():
        raise CheckFailure(f"softmax([1e4, -1e4, 0, 1e4 - 1]) gave {describe(got[0])}: exp(1e4) overflows "
                           "float32 (anything above e^88.7 is inf, and inf / inf is NaN).",
                           "Subtract the max along dim before exp: softmax(x - max) equals softmax(x) and never overflows.")
    if got.shape == big.shape and not torch.isfinite(got[1]).all():
        raise CheckFailure(f"softmax([-1e4, -1e4 + 1, -1e4 + 2, -1e4]) gave {describe(got[1])} while another row "
                           "of the same tensor holds 1e4: every exp in this row underflowed to 0, and 0 / 0 is NaN.",
                           "Subtract each row's own max along dim, x.amax(dim=dim, keepdim=True), not the max of the "
                           "whole tensor.")
    # float32 represents numbers near 1e4 only to about 1e-3, so "equal" here allows errors of that size.
    expect_close(got, torch.softmax(big, -1), "softmax of scores around ±1e4", scale=1e4)
    expect_close(ns.softmax(big.T, dim=0), torch.softmax(big.T, 0), "softmax(scores around ±1e4, dim=0)", scale=1e4)

    part = torch.tensor([[0.0, NEG_INF, 1.0, NEG_INF], [NEG_INF, 5.0, NEG_INF, NEG_INF], [2.0, 2.0, 2.0, 2.0]])
    got = ns.softmax(part, dim=-1)
    if isinstance(got, torch.Tensor) and torch.isnan(got).any():
        raise CheckFailure(f"softmax of rows that are partly -inf, {part.tolist()}, gave NaN: {describe(got)}.",
                           "exp(-inf) = 0 is fine; subtract the row max (finite here), which leaves -inf entries at -inf.")
    expect_tensor_close(got, torch.softmax(part, -1), "softmax of rows that are partly -inf",
                        "A -inf score must get weight exactly 0.")

    x = randn(4, 6, seed=1, requires_grad=True)
    w = randn(4, 6, seed=2)
    got = ns.softmax(x, dim=0)
    expect_tensor_close(got, torch.softmax(x, 0), "softmax(x, dim=0) for x of shape (4, 6)")
    (grad,) = grads((got * w).sum(), [x], "softmax(x, dim=0)")
    (want,) = torch.autograd.grad((torch.softmax(x, 0) * w).sum(), [x])
    expect_tensor_close(grad, want, "the gradient of sum(softmax(x, dim=0) * w) with respect to x",
                        "Use differentiable torch operations only.")


# ---------------------------------------------------------------- 2-3. masks

@lesson.grading("causal_mask")
def check_causal_mask(ns: Namespace) -> None:
    for T in (1, 4, 7):
        got = ns.causal_mask(T)
        what = f"causal_mask({T})"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (T, T):
            raise CheckFailure(f"{what} should have shape ({T}, {T}), got {tuple(got.shape)}.")
        if got.dtype != torch.bool:
            raise CheckFailure(f"{what} should be a bool tensor (True = may attend), got dtype {got.dtype}.",
                               "Create it with dtype=torch.bool, e.g. torch.tril(torch.ones(T, T, dtype=torch.bool)).")
        want = torch.tril(torch.ones(T, T, dtype=torch.bool))
        if T > 1 and torch.equal(got, want.T):
            raise CheckFailure(f"{what} is upper-triangular: it lets query i attend to keys j > i, the future.",
                               "Row i is the query, column j the key: keep j <= i, the lower triangle (torch.tril).")
        if torch.equal(got, torch.tril(want, diagonal=-1)):
            raise CheckFailure(f"{what} is False on the diagonal: a token must be allowed to attend to itself "
                               "(j <= i, not j < i). Row 0 would have nothing to attend to.",
                               "torch.tril keeps the diagonal with the default diagonal=0.")
        if T > 1 and torch.equal(got, ~want):
            raise CheckFailure(f"{what} is inverted: True must mean *may attend* (this course's convention, and "
                               "F.scaled_dot_product_attention's).", "Return the lower triangle itself, not its complement.")
        if not torch.equal(got, want):
            raise CheckFailure(f"{what} should be\n{want.int().tolist()}\n    but got\n{got.int().tolist()}")


@lesson.grading("padding_mask")
def check_padding_mask(ns: Namespace) -> None:
    lengths, T = torch.tensor([3, 1, 5, 0, 4]), 5
    got = ns.padding_mask(lengths, T)
    what = "padding_mask(torch.tensor([3, 1, 5, 0, 4]), 5)"
    expect_type(got, torch.Tensor, what)
    real = torch.arange(T) < lengths[:, None]       # (B, T)
    want = real[:, None, :]
    if got.dtype != torch.bool:
        raise CheckFailure(f"{what} should be a bool tensor (True = real token), got dtype {got.dtype}.",
                           "A comparison such as torch.arange(T) < lengths[:, None] is already bool.")
    if tuple(got.shape) == (5, T, 1) and torch.equal(got[..., 0], real):
        raise CheckFailure(f"{what} has shape (5, 5, 1): it masks the queries, not the keys. A padding position "
                           "must not be attended *to*, so the mask varies along the last (key) axis.",
                           "Put the query axis of size 1 in the middle: shape (B, 1, T), e.g. real[:, None, :].")
    if tuple(got.shape) == (5, T):
        raise CheckFailure(f"{what} has shape (5, 5) = (B, T): it is missing the query axis, so it would not "
                           "broadcast against scores of shape (B, T_q, T_k).",
                           "Return shape (B, 1, T): add the axis with [:, None, :] or .unsqueeze(1).")
    if tuple(got.shape) != (5, 1, T):
        raise CheckFailure(f"{what} should have shape (5, 1, 5) = (B, 1, T), got {tuple(got.shape)}.")
    if torch.equal(got[:, 0], torch.arange(T) <= lengths[:, None]):
        raise CheckFailure(f"{what} allows one key too many: a sequence of length L has real tokens at positions "
                           "0 ... L-1, so position L is already padding.", "Use j < length, not j <= length.")
    if torch.equal(got[:, 0], ~real):
        raise CheckFailure(f"{what} is inverted: True must mark the real tokens (they may be attended to).")
    if not torch.equal(got, want):
        raise CheckFailure(f"{what} should be\n{want[:, 0].int().tolist()} (shown without the middle axis)\n"
                           f"    but got\n{got[:, 0].int().tolist()}")


# ---------------------------------------------------------------- 4. attention

@lesson.grading("attention")
def check_attention(ns: Namespace) -> None:
    # Square shapes (T == d_k), so that a k that is not transposed still runs and can be recognised.
    q, k, v = randn(2, 6, 6, seed=10), randn(2, 6, 6, seed=11), randn(2, 6, 6, seed=12)
    out, weights = call_attention(ns, q, k, v)
    want = _ref_weights(q, k)
    if not _close(weights, want):
        if _close(weights, _ref_weights(q, k, scale=1.0)):
            raise CheckFailure("the weights equal softmax(q kᵀ) without the 1/√d_k scale: no √d_k.",
                               "Divide the scores by math.sqrt(d_k), d_k = q.size(-1): without it the scores have "
                               "variance d_k and softmax saturates.")
        if _close(weights, _ref_weights(q, k, scale=1 / q.size(-1))):
            raise CheckFailure("the weights equal softmax(q kᵀ / d_k): you divided by d_k instead of √d_k.",
                               "Use math.sqrt(q.size(-1)).")
        if _close(weights, _ref_weights(q, k, dim=-2)):
            raise CheckFailure("softmax over the wrong axis: your weights' columns sum to 1 (softmax over the queries, "
                               f"dim=-2), while the rows sum to {[round(x, 3) for x in weights.detach().sum(-1)[0].tolist()]}.",
                               "Each query (a row of the scores) distributes its attention over the keys: softmax "
                               "along the last axis, dim=-1.")
        if _close(weights, _ref_weights(q, k, transpose_k=False)):
            raise CheckFailure("k was not transposed: your weights equal softmax(q @ k / √d_k). With T == d_k that "
                               "runs, but it is not a dot product of each query with each key.",
                               "Use q @ k.transpose(-2, -1): entry [i, j] must be q_i · k_j.")
        expect_tensor_close(weights, want, "the attention weights for q, k, v of shape (2, 6, 6)")
    expect_tensor_close(out, F.scaled_dot_product_attention(q, k, v),
                        "the output for q, k, v of shape (2, 6, 6) (compared with F.scaled_dot_product_attention)",
                        "The output is weights @ v.")

    # Leading batch and head axes, T_q != T_k, d_k != d_v; values and gradients against PyTorch.
    q = randn(2, 3, 4, 8, seed=13, requires_grad=True)
    k = randn(2, 3, 7, 8, seed=14, requires_grad=True)
    v = randn(2, 3, 7, 5, seed=15, requires_grad=True)
    out, weights = call_attention(ns, q, k, v)
    sums = weights.detach().sum(-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-5):
        raise CheckFailure(f"each row of the weights (one query) must sum to 1; the sums are {describe(sums)}.",
                           "softmax over the last axis (the keys).")
    expect_tensor_close(weights, _ref_weights(q, k), "the weights for q (2, 3, 4, 8), k (2, 3, 7, 8), v (2, 3, 7, 5)")
    want = F.scaled_dot_product_attention(q, k, v)
    expect_tensor_close(out, want, "the output for q (2, 3, 4, 8), k (2, 3, 7, 8), v (2, 3, 7, 5), compared with "
                        "F.scaled_dot_product_attention")
    g = randn(*want.shape, seed=16)
    got_grads = grads((out * g).sum(), [q, k, v], "attention(q, k, v)")
    want_grads = torch.autograd.grad((want * g).sum(), [q, k, v])
    for name, got_g, want_g in zip("qkv", got_grads, want_grads):
        expect_tensor_close(got_g, want_g, f"the gradient with respect to {name} (compared with "
                            "F.scaled_dot_product_attention)", "Use differentiable torch operations only.")


@lesson.grading("masked_attention")
def check_masked_attention(ns: Namespace) -> None:
    T, d = 6, 8
    q = randn(2, T, d, seed=20, requires_grad=True)
    k = randn(2, T, d, seed=21, requires_grad=True)
    v = randn(2, T, d, seed=22, requires_grad=True)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    out, weights = call_attention(ns, q, k, v, causal)
    w = weights.detach()
    future = w.masked_select(~causal).abs()
    if torch.isnan(w).any() or future.max() > 0:
        if _close(w, _ref_weights(q, k)):
            raise CheckFailure("with a causal mask the weights are those of attention without a mask: the mask was "
                               "ignored, so every query attends to the future.",
                               "Apply it: scores = scores.masked_fill(~mask, float('-inf')) before softmax.")
        if torch.isfinite(w).all() and (w.masked_select(causal) == 0).all():
            raise CheckFailure("your weights are zero exactly where the mask is True: the mask is inverted. In this "
                               "course (and in F.scaled_dot_product_attention) True means *may attend*.",
                               "Block the False entries: scores.masked_fill(~mask, float('-inf')).")
        raise CheckFailure(f"with a causal mask, future keys (j > i) must get weight exactly 0, but they got up to "
                           f"{future.nan_to_num(float('inf')).max().item():.3g}; weights: {describe(w[0])}.",
                           "Set the blocked scores to -inf before softmax: exp(-inf) = 0.")
    sums = w.sum(-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-5):
        raise CheckFailure(f"the future keys get weight 0, but the rows of the weights sum to "
                           f"{[round(s, 3) for s in sums[0].tolist()]} instead of 1: the mask was applied after "
                           "softmax. The weights of the allowed keys must be renormalised, so the mask must be applied "
                           "before softmax (after softmax, the future also leaks in through softmax's denominator).",
                           "scores = scores.masked_fill(~mask, float('-inf')), then softmax.")
    want = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    expect_tensor_close(weights, _ref_weights(q, k, causal), "the weights with a causal mask")
    expect_tensor_close(out, want, "the output with a causal mask (compared with "
                        "F.scaled_dot_product_attention(q, k, v, is_causal=True))")
    g = randn(*want.shape, seed=23)
    got_grads = grads((out * g).sum(), [q, k, v], "attention(q, k, v, causal mask)")
    want_grads = torch.autograd.grad((want * g).sum(), [q, k, v])
    for name, got_g, want_g in zip("qkv", got_grads, want_grads):
        expect_tensor_close(got_g, want_g, f"with a causal mask, the gradient with respect to {name} (compared with "
                            "F.scaled_dot_product_attention(..., is_causal=True))")

    # Changing a future token (its query, key and value) never changes an earlier output.
    with torch.no_grad():
        q2, k2, v2 = q.clone(), k.clone(), v.clone()
        for t, seed in ((q2, 24), (k2, 25), (v2, 26)):
            t[:, 4:] = 30 * randn(2, T - 4, d, seed=seed)
        out2, _ = call_attention(ns, q2, k2, v2, causal)
        if not torch.allclose(out2[:, :4], out[:, :4].detach(), atol=1e-6):
            raise CheckFailure("with a causal mask, changing tokens 4 and 5 changed the outputs at positions 0 to 3: "
                               "information leaks from the future.",
                               "Mask with -inf before softmax, so future scores take no part in any row.")

    # Any boolean mask, broadcast from (T, T) and from a (B, 1, T) padding mask, against PyTorch.
    with torch.no_grad():
        g = torch.Generator().manual_seed(27)
        mask = torch.rand(T, T, generator=g) < 0.6
        mask[torch.arange(T), torch.randint(T, (T,), generator=g)] = True        # every row allows some key
        out, weights = call_attention(ns, q, k, v, mask)
        expect_tensor_close(weights, _ref_weights(q, k, mask), "the weights with a random (6, 6) mask")
        expect_tensor_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                            "the output with a random (6, 6) mask (compared with F.scaled_dot_product_attention, "
                            "whose bool attn_mask also means True = may attend)")
        pad = (torch.arange(T) < torch.tensor([6, 3])[:, None])[:, None, :]    # (2, 1, T)
        out, weights = call_attention(ns, q, k, v, pad)
        expect_tensor_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=pad),
                            "the output with a padding mask of shape (2, 1, 6) (lengths 6 and 3)",
                            "The mask broadcasts against the scores (2, 6, 6): use it as given with masked_fill.")

        # Huge scores: still no NaN.
        big = 1e4 * q
        out, weights = call_attention(ns, big, k, v, causal)
        if not torch.isfinite(out).all():
            raise CheckFailure(f"with scores around ±1e4 the output contains inf or NaN: {describe(out)}.",
                               "Use a stable softmax (subtract the max), e.g. your softmax or torch.softmax.")
        expect_tensor_close(weights, _ref_weights(big, k, causal), "the weights for scores around ±1e4 (q × 1e4)",
                            atol=1e-4)

    # A query with nothing to attend to (a fully padded sequence) gets zero weights and a zero output.
    qq, kk, vv = (t.detach().clone().requires_grad_() for t in (q, k, v))
    empty = causal.clone()
    empty[2] = False
    out, weights = call_attention(ns, qq, kk, vv, empty)
    if torch.isnan(out).any() or torch.isnan(weights).any():
        raise CheckFailure("query 2 may attend to nothing (its mask row is all False) and your output has NaN: "
                           "softmax of a row of -inf is 0 / 0. Such a query should get zero weights and a zero output, "
                           "as in F.scaled_dot_product_attention.",
                           "After softmax: weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0).")
    want = F.scaled_dot_product_attention(qq, kk, vv, attn_mask=empty)
    expect_tensor_close(weights, _ref_weights(qq, kk, empty), "the weights when query 2 may attend to nothing",
                        "Its row of weights must be all 0; the other rows are unaffected.")
    expect_tensor_close(out, want, "the output when query 2 may attend to nothing (compared with "
                        "F.scaled_dot_product_attention)")
    empty_grads = grads(out.sum(), [qq, kk, vv], "attention with an empty mask row")
    if any(not torch.isfinite(gr).all() for gr in empty_grads):
        raise CheckFailure("when query 2 may attend to nothing, the gradients contain NaN.",
                           "Zero the empty rows with masked_fill (not multiplication: NaN * 0 is still NaN).")


# ---------------------------------------------------------------- 5. heads

def _split_ref(x: torch.Tensor, h: int) -> torch.Tensor:
    B, T, d = x.shape
    return x.view(B, T, h, d // h).transpose(1, 2)


def _merge_ref(x: torch.Tensor) -> torch.Tensor:
    B, h, T, dh = x.shape
    return x.transpose(1, 2).reshape(B, T, h * dh)


@lesson.grading("split_heads")
def check_split_heads(ns: Namespace) -> None:
    B, T, d, h = 2, 5, 12, 3
    x = torch.arange(B * T * d, dtype=torch.float32).view(B, T, d)
    got = ns.split_heads(x, h)
    what = "split_heads(x, 3) for x of shape (2, 5, 12)"
    expect_type(got, torch.Tensor, what)
    if tuple(got.shape) != (B, h, T, d // h):
        raise CheckFailure(f"{what} should have shape (2, 3, 5, 4) = (B, n_heads, T, d_head), got {tuple(got.shape)}.")
    if torch.equal(got, x.reshape(B, h, T, d // h)):
        raise CheckFailure(f"{what}: the heads were split by reshaping in the wrong order. view(B, h, T, d_head) has "
                           "the right shape but cuts the flat numbers in the wrong place: 'head 0' gets whole tokens "
                           f"(it starts with {got[0, 0, 0].tolist()}, all features of token 0 and more).",
                           "Split the features of each token: view(B, T, h, d_head), then transpose(1, 2).")
    if torch.equal(got, x.view(B, T, d // h, h).permute(0, 3, 1, 2)):
        raise CheckFailure(f"{what}: the features are dealt out to the heads in turn (feature j to head j % h); head i "
                           "must own the contiguous slice i*d_head:(i+1)*d_head, as in PyTorch's in_proj layout.",
                           "view(B, T, h, d_head), not view(B, T, d_head, h).")
    expect_tensor_close(got, _split_ref(x, h), what)


@lesson.grading("merge_heads")
def check_merge_heads(ns: Namespace) -> None:
    B, h, T, dh = 2, 3, 5, 4
    x = torch.arange(B * h * T * dh, dtype=torch.float32).view(B, h, T, dh)
    got = ns.merge_heads(x)
    what = "merge_heads(x) for x of shape (2, 3, 5, 4)"
    expect_type(got, torch.Tensor, what)
    if tuple(got.shape) != (B, T, h * dh):
        raise CheckFailure(f"{what} should have shape (2, 5, 12) = (B, T, h * d_head), got {tuple(got.shape)}.")
    if torch.equal(got, x.reshape(B, T, h * dh)):
        raise CheckFailure(f"{what}: merged without moving the head axis back: reshaping (B, h, T, d_head) straight to "
                           "(B, T, d) mixes tokens. Token 0 should be the concatenation of every head's row 0.",
                           "transpose(1, 2) first (to (B, T, h, d_head)), then reshape(B, T, h * d_head).")
    expect_tensor_close(got, _merge_ref(x), what)
    y = randn(2, 7, 8, seed=30)
    expect_tensor_close(ns.merge_heads(_split_ref(y, 2)), y, "merge_heads(split into 2 heads(y)) for y of shape (2, 7, 8)",
                        "merge_heads must undo split_heads exactly.")


# ---------------------------------------------------------------- 5. multi-head attention

def _mha_variant(x: torch.Tensor, w_in: torch.Tensor, b_in: torch.Tensor | None, w_out: torch.Tensor,
                 b_out: torch.Tensor | None, h: int, mask: torch.Tensor | None = None, *, split: str = "right",
                 merge: str = "right", order: str = "qkv", project: bool = True) -> torch.Tensor:
    """Multi-head self-attention written out, optionally with a known mistake (for recognising it)."""
    B, T, d = x.shape
    parts = dict(zip("qkv", F.linear(x, w_in, b_in).split(d, dim=-1)))
    q, k, v = (parts[c] for c in order)
    if split == "right":
        q, k, v = (_split_ref(t, h) for t in (q, k, v))
    else:
        q, k, v = (t.reshape(B, h, T, d // h) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else mask.unsqueeze(-3))
    out = _merge_ref(out) if merge == "right" else out.reshape(B, T, d)
    return F.linear(out, w_out, b_out) if project else out


@lesson.grading("MultiHeadAttention")
def check_multi_head_attention(ns: Namespace) -> None:
    B, T, d, h = 2, 5, 12, 3
    ours, ref = make_pair(ns, d, h)
    x = randn(B, T, d, seed=42)
    weights = (ours.in_proj.weight.detach(), ours.in_proj.bias.detach(),
               ours.out_proj.weight.detach(), ours.out_proj.bias.detach())
    helpers = ["split_heads", "merge_heads", "attention", "masked_attention", "causal_mask"]

    got = forward(ours, x, "MultiHeadAttention(12, 3)(x) for x of shape (2, 5, 12)")
    want, _ = ref(x, x, x, need_weights=False)
    if not _close(got, want):
        if _close(got, _mha_variant(x, *weights, h, split="wrong")) or \
                _close(got, _mha_variant(x, *weights, h, split="wrong", merge="wrong")):
            raise CheckFailure("your output matches multi-head attention whose heads were split by reshaping in the "
                               "wrong order, view(B, h, T, d_head): that has the right shape but hands each head pieces "
                               "of different tokens.", "Use view(B, T, h, d_head).transpose(1, 2) (or split_heads).")
        if _close(got, _mha_variant(x, *weights, h, merge="wrong")):
            raise CheckFailure("your output matches multi-head attention whose heads were merged by reshaping "
                               "(B, h, T, d_head) straight to (B, T, d), which mixes tokens.",
                               "transpose(1, 2) before reshaping (or use merge_heads).")
        if _close(got, _mha_variant(x, *weights, h, project=False)):
            raise CheckFailure("your output equals the merged heads without the output projection.",
                               "Finish with self.out_proj(...): W_O mixes what the heads found.")
        for order in ("kqv", "qvk", "vkq", "kvq", "vqk"):
            if _close(got, _mha_variant(x, *weights, h, order=order)):
                raise CheckFailure(f"your output matches q, k, v taken from in_proj in the order {', '.join(order)}: "
                                   "in_proj's output is [q | k | v], in that order.",
                                   "q, k, v = self.in_proj(x).split(d, dim=-1).")
        expect_tensor_close(got, want, "MultiHeadAttention(12, 3)(x) compared with nn.MultiheadAttention(12, 3, "
                            "batch_first=True) with the same weights", "Check every step against the exercise text."
                            + _helper_failure(ns, helpers))

    causal_blocked = torch.ones(T, T, dtype=torch.bool).triu(1)     # PyTorch's convention: True = blocked
    xg = x.clone().requires_grad_()
    got = forward(ours, xg, "MultiHeadAttention(12, 3)(x, causal=True)", causal=True)
    want_x = x.clone().requires_grad_()
    want, _ = ref(want_x, want_x, want_x, attn_mask=causal_blocked, need_weights=False)
    if not _close(got, want):
        if _close(got, _mha_variant(x, *weights, h)):
            raise CheckFailure("MultiHeadAttention(...)(x, causal=True) gives the same output as without causal: "
                               "causal=True was ignored.", "If causal, pass causal_mask(T) to attention.")
        expect_tensor_close(got, want, "MultiHeadAttention(12, 3)(x, causal=True) compared with nn.MultiheadAttention "
                            "with attn_mask = ~causal_mask(T) (PyTorch: True = blocked)",
                            "Build the mask with causal_mask(T) (True = may attend) and give it to attention."
                            + _helper_failure(ns, helpers))
    g = randn(B, T, d, seed=43)
    params = [ours.in_proj.weight, ours.in_proj.bias, ours.out_proj.weight, ours.out_proj.bias]
    ref_params = [ref.in_proj_weight, ref.in_proj_bias, ref.out_proj.weight, ref.out_proj.bias]
    got_grads = grads((got * g).sum(), [xg, *params], "MultiHeadAttention(x, causal=True)")
    want_grads = torch.autograd.grad((want * g).sum(), [want_x, *ref_params])
    for name, got_g, want_g in zip(["x", "in_proj.weight", "in_proj.bias", "out_proj.weight", "out_proj.bias"],
                                   got_grads, want_grads):
        expect_tensor_close(got_g, want_g, f"with causal=True, the gradient with respect to {name} (compared with "
                            "nn.MultiheadAttention)", "Use differentiable torch operations only.")

    with torch.no_grad():
        x2 = x.clone()
        x2[:, 3:] = 10 * randn(B, T - 3, d, seed=44)
        out2 = forward(ours, x2, "MultiHeadAttention(12, 3)(x, causal=True)", causal=True)
        if not torch.allclose(out2[:, :3], got[:, :3].detach(), atol=1e-6):
            raise CheckFailure("with causal=True, changing tokens 3 and 4 changed the outputs at positions 0 to 2: "
                               "information leaks from the future.", "Give causal_mask(T) to attention for every head.")

        lengths = torch.tensor([5, 2])
        pad = (torch.arange(T) < lengths[:, None])[:, None, :]        # ours: (B, 1, T), True = real key
        try:
            got = forward(ours, x, "MultiHeadAttention(12, 3)(x, mask=padding mask)", mask=pad)
        except RuntimeError as error:
            raise CheckFailure(f"MultiHeadAttention(12, 3)(x, mask=m) with a padding mask m of shape (2, 1, 5) raised "
                               f"RuntimeError: {error}",
                               "Give the mask an axis for the heads: mask.unsqueeze(-3) turns (B, 1, T) into "
                               "(B, 1, 1, T), which broadcasts against the scores (B, h, T, T).") from None
        want, _ = ref(x, x, x, key_padding_mask=~pad[:, 0], need_weights=False)
        expect_tensor_close(got, want, "MultiHeadAttention(12, 3)(x, mask=padding_mask([5, 2], 5)) compared with "
                            "nn.MultiheadAttention(key_padding_mask=...)",
                            "Give the mask an axis for the heads, mask.unsqueeze(-3), and pass it to attention.")
        got = forward(ours, x, "MultiHeadAttention(12, 3)(x, causal=True, mask=padding mask)", causal=True, mask=pad)
        want, _ = ref(x, x, x, key_padding_mask=~pad[:, 0], attn_mask=causal_blocked, need_weights=False)
        expect_tensor_close(got, want, "MultiHeadAttention(12, 3)(x, causal=True, mask=padding_mask([5, 2], 5)) "
                            "compared with nn.MultiheadAttention", "Combine the two masks with &.")

        ours, ref = make_pair(ns, 8, 2, bias=False)
        x = randn(3, 4, 8, seed=45)
        got = forward(ours, x, "MultiHeadAttention(8, 2, bias=False)(x, causal=True)", causal=True)
        want, _ = ref(x, x, x, attn_mask=torch.ones(4, 4, dtype=torch.bool).triu(1), need_weights=False)
        expect_tensor_close(got, want, "MultiHeadAttention(8, 2, bias=False)(x, causal=True) compared with "
                            "nn.MultiheadAttention(8, 2, bias=False)")


# ---------------------------------------------------------------- mutants (known-buggy variants)

