"""Practice checks for lesson 11 — the original Transformer: cross-attention, the encoder and decoder
layers, the whole model, parity with ``nn.Transformer``, label smoothing, teacher forcing, the
learning-rate schedule, greedy decoding and beam search.

Shipped to students: no solution code in here.  Expected values come from

* the PyTorch modules and functions the lesson names as the reference, with the learner's weights
  copied across: ``nn.MultiheadAttention``, ``nn.TransformerEncoderLayer``,
  ``nn.TransformerDecoderLayer``, ``nn.Transformer``, ``F.cross_entropy(label_smoothing=...)``;
* properties: causality (a later target token changes nothing before it), padding (what sits at a
  padded source position changes nothing), shared tensors, the initial size of the embeddings,
  dropout on the embedded sequences, the schedule's peak and slopes, decoded batches' shapes and pads;
* worked examples with literal values: a table of next-token probabilities where a beam of 2 beats
  greedy decoding, and one where the length penalty decides;
* stored example outputs (``examples/11_transformer.json``): the learner's modules with fixed weights
  chosen by parameter name, and stand-ins (fixed functions, no solution of anything) for what an
  exercise only orchestrates: the layers inside the whole model, the model under teacher forcing and
  under the decoders.
"""

from __future__ import annotations

import contextlib
import math
import warnings
import zlib
from typing import Any, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import describe, expect_close, expect_type, learner_module
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("11", "transformer", "The original Transformer: encoder, decoder, cross-attention")
stored = lesson.examples

D, H, FF = 16, 4, 32          # the layers' width, heads and feed-forward width in the checks
MAPPING = (("encoder_layers.", "encoder.layers."), ("decoder_layers.", "decoder.layers."),
           ("encoder_norm.", "encoder.norm."), ("decoder_norm.", "decoder.norm."),
           ("cross_attn.", "multihead_attn."), ("in_proj.weight", "in_proj_weight"), ("in_proj.bias", "in_proj_bias"))
OWN = ("src_embed.", "tgt_embed.", "lm_head.")   # our parameters that nn.Transformer has no counterpart for


# ---------------------------------------------------------------- helpers (the grading checks use them too)

def randn(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(tuple(shape), generator=torch.Generator().manual_seed(seed)) * scale


def torch_name(name: str) -> str | None:
    """The nn.Transformer (or nn.Transformer*Layer) name of one of our parameters; None for our own."""
    if name.startswith(OWN):
        return None
    for ours, theirs in MAPPING:
        name = name.replace(ours, theirs)
    return name


def our_name(name: str) -> str:
    """The inverse of :func:`torch_name`."""
    for ours, theirs in reversed(MAPPING):
        name = name.replace(theirs, ours)
    return name


def fill_by_name(module: nn.Module, seed: int, std: float = 0.3) -> None:
    """Give every parameter fixed random values chosen by its *name* (LayerNorm gains around 1), so
    that two correct modules with the lesson's names compute the same numbers whatever order they
    create their parts in.  A tensor shared by several names gets the values of the last one."""
    with torch.no_grad():
        for name, p in sorted(module.named_parameters(remove_duplicate=False), key=lambda item: item[0]):
            g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            parts = name.split(".")
            gain = len(parts) > 1 and "norm" in parts[-2] and parts[-1] == "weight"
            p.copy_((1.0 if gain else 0.0) + std * torch.randn(p.shape, generator=g))


def copy_across(source: nn.Module, target: nn.Module, to_torch: bool) -> None:
    """Copy every parameter between one of our modules and its PyTorch twin (``source`` is ours)."""
    theirs = dict(target.named_parameters())
    with torch.no_grad():
        for name, ours in source.named_parameters():
            twin = torch_name(name)
            if twin is None:
                continue
            if twin not in theirs:
                raise CheckFailure(f"your module has a parameter `{name}` that PyTorch's has no twin for (looked for "
                                   f"`{twin}`).", "Keep the names of the lesson's table.")
            (theirs[twin] if to_torch else ours).copy_(ours if to_torch else theirs[twin])


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """PyTorch warns that its pre-norm encoder has no fast path; that is no news for a learner."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def instantiate(ns: Namespace, name: str, *args: Any, **kwargs: Any) -> nn.Module:
    """The learner's class ``name`` called with these arguments, which must give an nn.Module."""
    return learner_module(ns, name, *args, **kwargs, hint=f"Keep `class {name}(nn.Module)` and its given __init__.")


def names_problem(ours: nn.Module, reference: dict[str, tuple[int, ...]], owner: str) -> None:
    """Fail unless ``ours`` has exactly these parameter names and shapes."""
    got = {name: tuple(p.shape) for name, p in ours.named_parameters(remove_duplicate=False)}
    missing = sorted(set(reference) - set(got))
    extra = sorted(set(got) - set(reference))
    wrong = sorted(n for n in set(got) & set(reference) if got[n] != reference[n])
    if missing or extra or wrong:
        parts = ([f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}"] if missing else []) + \
                ([f"unexpected {extra[:4]}{' ...' if len(extra) > 4 else ''}"] if extra else []) + \
                [f"`{n}` has shape {got[n]}, expected {reference[n]}" for n in wrong[:3]]
        raise CheckFailure(f"{owner}'s parameters differ from the lesson's table: {'; '.join(parts)}.",
                           "Use exactly the names and sizes of the table (they mirror PyTorch's, so that weights can "
                           "be copied across).")


def twin_shapes(twin: nn.Module, extra: dict[str, tuple[int, ...]] | None = None) -> dict[str, tuple[int, ...]]:
    """The parameter names and shapes our module must have: its PyTorch twin's, renamed."""
    shapes = {our_name(name): tuple(p.shape) for name, p in twin.named_parameters()}
    shapes.update(extra or {})
    return shapes


def padding(lengths: list[int], S: int) -> torch.Tensor:
    """(B, 1, S) bool: True at the first lengths[b] positions of row b (the real tokens)."""
    return (torch.arange(S) < torch.tensor(lengths)[:, None])[:, None, :]


def grads_of(loss: torch.Tensor, inputs: list[torch.Tensor], what: str) -> list[torch.Tensor]:
    if not loss.requires_grad:
        raise CheckFailure(f"{what}: the result carries no gradient (requires_grad is False).",
                           "Compute with torch operations on the inputs and weights: no .detach(), .item(), "
                           "torch.no_grad() or new tensors built from numbers.")
    found = torch.autograd.grad(loss, inputs, allow_unused=True, retain_graph=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, found)]


def expect_same_grads(got: torch.Tensor, want: torch.Tensor, pairs: list[tuple[str, torch.Tensor, torch.Tensor]],
                      what: str, seed: int) -> None:
    """The gradients of sum(got * g) and sum(want * g) with respect to each (name, ours, theirs) agree."""
    g = randn(*want.shape, seed=seed)
    ours = grads_of((got * g).sum(), [p for _, p, _ in pairs], what)
    theirs = torch.autograd.grad((want * g).sum(), [t for _, _, t in pairs], allow_unused=True, retain_graph=True)
    for (name, _, t), a, b in zip(pairs, ours, theirs):
        expect_close(a, torch.zeros_like(t) if b is None else b, f"{what}: the gradient with respect to {name}",
                     "Values match but gradients do not: is something detached or computed outside autograd?",
                     atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------- 1. cross-attention

def make_attention(ns: Namespace, d: int = D, h: int = H, seed: int = 1) -> tuple[nn.Module, nn.MultiheadAttention]:
    """The learner's MultiHeadAttention(d, h) with weights set by name, and nn.MultiheadAttention with the same."""
    ours = instantiate(ns, "MultiHeadAttention", d, h)
    names_problem(ours, twin_shapes(nn.MultiheadAttention(d, h)), f"MultiHeadAttention({d}, {h})")
    fill_by_name(ours, seed)
    ref = nn.MultiheadAttention(d, h, batch_first=True)
    copy_across(ours, ref, to_torch=True)
    return ours, ref


MASK_HINT = ("The mask needs an axis for the heads: mask.unsqueeze(-3) turns (B, 1, S) into (B, 1, 1, S) and (T, T) "
             "into (1, T, T), which broadcast against the scores (B, h, T, S).")


def call_attention(module: nn.Module, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None,
                   what: str) -> torch.Tensor:
    """module(x, context[, mask]): a tensor of x's shape; shape errors with a mask explained."""
    try:
        out = module(x, context, mask) if mask is not None else module(x, context)
    except RuntimeError as error:
        if mask is None or "size of tensor" not in str(error):
            raise
        raise CheckFailure(f"{what} raised RuntimeError: {error}", MASK_HINT) from None
    expect_type(out, torch.Tensor, what, "forward returns one tensor, the output of out_proj.")
    if tuple(out.shape) != tuple(x.shape):
        raise CheckFailure(f"{what} should have the shape of x, {tuple(x.shape)} (one vector per query), but has "
                           f"shape {tuple(out.shape)}.",
                           "The queries come from x, the keys and values from context: the output has x's length.")
    return out


def torch_attention(ref: nn.MultiheadAttention, x: torch.Tensor, context: torch.Tensor,
                    mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """nn.MultiheadAttention's output and per-head weights (PyTorch's masks: True = blocked)."""
    kwargs: dict[str, Any] = {}
    if mask is not None and mask.dim() == 3:
        kwargs["key_padding_mask"] = ~mask[:, 0]
    elif mask is not None:
        kwargs["attn_mask"] = ~mask
    return ref(x, context, context, need_weights=True, average_attn_weights=False, **kwargs)


def expect_weights(module: nn.Module, want: torch.Tensor, what: str) -> None:
    weights = getattr(module, "weights", None)
    expect_type(weights, torch.Tensor, f"self.weights after {what}",
                "Keep the attention weights of the last call in self.weights (detached).")
    if weights.requires_grad:
        raise CheckFailure(f"self.weights after {what} is still attached to the graph (requires_grad=True).",
                           "Store weights.detach(): the weights are kept for pictures, not for training.")
    stored.expect("cross_attention", f"self.weights after {what} (one (T, S) matrix per head), compared with "
                  "nn.MultiheadAttention(need_weights=True, average_attn_weights=False)", weights, want,
                  "Keep the weights of every head, shape (B, n_heads, T, S): one row per query, one column per key.")


@lesson.exercise("cross_attention", points=3,
                 hint="Queries from x with the first third of in_proj's weight and bias; keys and values from context "
                      "with the other two thirds; heads; mask with an axis for the heads; attention; merge; out_proj.")
def cross_attention(ns: Namespace) -> None:
    ours, ref = make_attention(ns)
    # Cross-attention without a mask first: 3 queries, 5 keys.
    x, context = randn(2, 3, D, seed=10, scale=0.5).requires_grad_(), randn(2, 5, D, seed=11, scale=0.5).requires_grad_()
    what = "MultiHeadAttention(16, 4)(x, context) for x (2, 3, 16) and context (2, 5, 16)"
    got = call_attention(ours, x, context, None, what)
    want, weights = torch_attention(ref, x, context, None)
    stored.expect("cross_attention", f"{what}, compared with nn.MultiheadAttention(query=x, key=context, value=context)",
                  got, want)
    expect_weights(ours, weights, what)
    expect_same_grads(got, want, [("x", x, x), ("context", context, context),
                                  ("in_proj.weight", ours.in_proj.weight, ref.in_proj_weight),
                                  ("in_proj.bias", ours.in_proj.bias, ref.in_proj_bias)], what, seed=12)
    # The source padding mask (B, 1, S).
    mask = padding([5, 2], 5)
    what = "MultiHeadAttention(16, 4)(x, context, mask) with a padding mask of lengths [5, 2]"
    got = call_attention(ours, x, context, mask, what)
    want, weights = torch_attention(ref, x, context, mask)
    stored.expect("cross_attention", f"{what}, compared with nn.MultiheadAttention(key_padding_mask=...)", got, want)
    expect_weights(ours, weights, what)
    with torch.no_grad():
        moved = context.clone()
        moved[1, 2:] += randn(3, D, seed=13, scale=5.0)
        if not torch.allclose(call_attention(ours, x, moved, mask, what)[1], got[1].detach(), atol=1e-5):
            raise CheckFailure(f"{what}: changing the padded keys of sentence 1 (positions 2-4) changed its output: "
                               "the queries attend to pads.", "Give the mask to attention (True = may attend).")
    # Self-attention with a causal mask (T, T).
    y = randn(2, 4, D, seed=14, scale=0.5)
    what = "MultiHeadAttention(16, 4)(y, y, causal_mask(4)) for y (2, 4, 16)"
    got = call_attention(ours, y, y, torch.ones(4, 4, dtype=torch.bool).tril(), what)
    want, weights = torch_attention(ref, y, y, torch.ones(4, 4, dtype=torch.bool).tril())
    stored.expect("cross_attention", f"{what}, compared with nn.MultiheadAttention(attn_mask=...)", got, want)
    expect_weights(ours, weights, what)


# ---------------------------------------------------------------- 2-3. the layers

class LibraryAttention(nn.Module):
    """PyTorch's multi-head attention (``F.multi_head_attention_forward``) behind the interface and the weight
    names of the lesson's MultiHeadAttention.  The layer checks put it in place of the learner's attention,
    so that they check the layer's own code (the learner's attention inside the layers is checked by
    ``matches_nn_transformer``)."""

    def __init__(self, source: nn.Module) -> None:
        super().__init__()
        self.n_heads = source.n_heads
        d = source.out_proj.weight.shape[0]
        self.in_proj, self.out_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.load_state_dict({k: v for k, v in source.state_dict().items() if k.startswith(("in_proj.", "out_proj."))})
        self.weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B, T, d = x.shape
        S = context.shape[1]
        blocked = None
        if mask is not None:
            try:
                blocked = (~mask.expand(B, T, S)).repeat_interleave(self.n_heads, dim=0)  # PyTorch: True = blocked
            except RuntimeError:
                raise CheckFailure(f"an attention with {T} queries and {S} keys was given a mask of shape "
                                   f"{tuple(mask.shape)}, which does not fit its scores (B, h, T, S) = "
                                   f"({B}, {self.n_heads}, {T}, {S}).",
                                   "Each attention gets the mask that belongs to it: the source padding mask (B, 1, S) "
                                   "where the keys are source tokens, causal_mask(T) for the decoder's "
                                   "self-attention.") from None
        out, per_head = F.multi_head_attention_forward(
            x.transpose(0, 1), context.transpose(0, 1), context.transpose(0, 1), d, self.n_heads, self.in_proj.weight,
            self.in_proj.bias, None, None, False, 0.0, self.out_proj.weight, self.out_proj.bias, training=False,
            need_weights=True, attn_mask=blocked, average_attn_weights=False)
        self.weights = per_head.detach()
        return out.transpose(0, 1)


def make_layer(ns: Namespace, kind: str, norm_first: bool, seed: int = 2) -> tuple[nn.Module, nn.Module]:
    """The learner's EncoderLayer or DecoderLayer (D, H, FF, no dropout) with weights set by name and PyTorch's
    attention in place of theirs, and nn.TransformerEncoderLayer or nn.TransformerDecoderLayer with the same
    weights."""
    ours = instantiate(ns, kind, D, H, FF, dropout=0.0, norm_first=norm_first)
    twin_class = nn.TransformerEncoderLayer if kind == "EncoderLayer" else nn.TransformerDecoderLayer
    with quiet():
        ref = twin_class(D, H, FF, dropout=0.0, activation="relu", batch_first=True, norm_first=norm_first)
    names_problem(ours, twin_shapes(ref), f"{kind}(16, 4, 32, norm_first={norm_first})")
    fill_by_name(ours, seed)
    for name in ("self_attn", "cross_attn"):
        if isinstance(getattr(ours, name, None), nn.Module):
            setattr(ours, name, LibraryAttention(getattr(ours, name)))
    copy_across(ours, ref, to_torch=True)
    return ours, ref


def call_layer(layer: nn.Module, args: tuple, what: str) -> torch.Tensor:
    try:
        out = layer(*args)
    except RuntimeError as error:
        if "size of tensor" not in str(error):
            raise
        raise CheckFailure(f"{what} raised RuntimeError: {error}",
                           "Each attention gets the mask that belongs to it: the source padding mask (B, 1, S) where the "
                           "keys are source tokens, causal_mask(T) for the decoder's self-attention.") from None
    expect_type(out, torch.Tensor, what, "forward returns one tensor, the layer's output.")
    if tuple(out.shape) != tuple(args[0].shape):
        raise CheckFailure(f"{what} should have the shape of its input, {tuple(args[0].shape)}, got {tuple(out.shape)}.")
    return out


@lesson.exercise("EncoderLayer", points=2,
                 hint="Post-norm: x = norm1(x + dropout(self_attn(x, x, src_mask))), then the same with norm2 and the "
                      "FFN. Pre-norm: normalise a copy for the sublayer and add its output to the untouched x.")
def encoder_layer(ns: Namespace) -> None:
    x = randn(2, 6, D, seed=20)
    mask = padding([6, 3], 6)
    for norm_first in (False, True):
        ours, ref = make_layer(ns, "EncoderLayer", norm_first)
        name = f"EncoderLayer(16, 4, 32, norm_first={norm_first})"
        xg, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
        what = f"{name}(x, src_mask) for x (2, 6, 16), source lengths [6, 3]"
        got = call_layer(ours, (xg, mask), what)
        want = ref(xr, src_key_padding_mask=~mask[:, 0])
        stored.expect("EncoderLayer", f"{what}, compared with nn.TransformerEncoderLayer", got, want)
        expect_same_grads(got, want, [("x", xg, xr), ("self_attn.in_proj.weight", ours.self_attn.in_proj.weight,
                                                      ref.self_attn.in_proj_weight),
                                      ("norm1.weight", ours.norm1.weight, ref.norm1.weight),
                                      ("linear1.weight", ours.linear1.weight, ref.linear1.weight)], what, seed=21)
        with torch.no_grad():
            moved = x.clone()
            moved[1, 3:] += randn(3, D, seed=22, scale=5.0)
            if not torch.allclose(call_layer(ours, (moved, mask), what)[1, :3], got[1, :3].detach(), atol=1e-5):
                raise CheckFailure(f"{what}: changing the padded positions 3-5 of sentence 1 changed the outputs of its "
                                   "real tokens: the self-attention attends to pads.",
                                   "Pass src_mask to self_attn.")
            what = f"{name}(x) without a mask"
            stored.expect("EncoderLayer", f"{what}, compared with nn.TransformerEncoderLayer",
                          call_layer(ours, (x,), what), ref(x))


def decoder_inputs() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(description, y, memory, source mask) for the decoder layer's checks: first T == S with no pads
    (so that masks meant for other shapes still run and can be recognised), then T != S with pads."""
    return [("y (2, 5, 16), memory (2, 5, 16), no pads", randn(2, 5, D, seed=30), randn(2, 5, D, seed=31),
             padding([5, 5], 5)),
            ("y (2, 4, 16), memory (2, 6, 16), source lengths [6, 2]", randn(2, 4, D, seed=32), randn(2, 6, D, seed=33),
             padding([6, 2], 6))]


@lesson.exercise("DecoderLayer", points=3,
                 hint="Three sublayers, each with its residual and its norm: causal self-attention (norm1), "
                      "cross-attention with queries from the decoder and keys and values from memory, under the source "
                      "padding mask (norm2), the FFN (norm3).")
def decoder_layer(ns: Namespace) -> None:
    for norm_first in (False, True):
        ours, ref = make_layer(ns, "DecoderLayer", norm_first)
        name = f"DecoderLayer(16, 4, 32, norm_first={norm_first})"
        for shapes, y, memory, mask in decoder_inputs():
            T = y.shape[1]
            yg, yr = y.clone().requires_grad_(), y.clone().requires_grad_()
            mg, mr = memory.clone().requires_grad_(), memory.clone().requires_grad_()
            what = f"{name}(y, memory, src_mask) for {shapes}"
            got = call_layer(ours, (yg, mg, mask), what)
            want = ref(yr, mr, tgt_mask=~torch.ones(T, T, dtype=torch.bool).tril(), memory_key_padding_mask=~mask[:, 0])
            stored.expect("DecoderLayer", f"{what}, compared with nn.TransformerDecoderLayer", got, want)
            expect_same_grads(got, want, [("y", yg, yr), ("memory", mg, mr),
                                          ("cross_attn.in_proj.weight", ours.cross_attn.in_proj.weight,
                                           ref.multihead_attn.in_proj_weight),
                                          ("norm3.weight", ours.norm3.weight, ref.norm3.weight)], what, seed=34)
        with torch.no_grad():
            later = y.clone()
            later[:, 2:] += randn(2, T - 2, D, seed=35, scale=5.0)
            if not torch.allclose(call_layer(ours, (later, memory, mask), what)[:, :2], got[:, :2].detach(), atol=1e-5):
                raise CheckFailure(f"{what}: changing target positions 2 and later changed the outputs at positions 0 "
                                   "and 1: the decoder sees its future.",
                                   "The decoder's self-attention needs causal_mask(T).")
            moved = memory.clone()
            moved[1, 2:] += randn(4, D, seed=36, scale=5.0)
            if not torch.allclose(call_layer(ours, (y, moved, mask), what)[1], got[1].detach(), atol=1e-5):
                raise CheckFailure(f"{what}: changing the padded memory positions 2-5 of sentence 1 changed its output: "
                                   "cross-attention attends to pads.", "Pass src_mask to cross_attn.")


# ---------------------------------------------------------------- 4. the whole model

class StandInEncoderLayer(nn.Module):
    """A fixed map in place of an encoder layer: x + tanh(x A + (mean of the real positions' x) B).

    It is no encoder layer (no attention); it remembers what it was given."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.a, self.b = randn(D, D, seed=seed, scale=D ** -0.5), randn(D, D, seed=seed + 1, scale=D ** -0.5)
        self.calls: list[tuple[torch.Tensor, Any]] = []

    def forward(self, x: torch.Tensor, src_mask: Any = None) -> torch.Tensor:
        self.calls.append((x.detach().clone(), src_mask))
        keep = torch.ones(x.shape[0], x.shape[1], 1) if src_mask is None else src_mask[:, 0, :, None].to(x.dtype)
        pooled = (x * keep).sum(1, keepdim=True) / keep.sum(1, keepdim=True)
        return x + torch.tanh(x @ self.a + pooled @ self.b)


class StandInDecoderLayer(nn.Module):
    """A fixed map in place of a decoder layer: y + tanh(y A + (mean of the real memory positions) B)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.a, self.b = randn(D, D, seed=seed, scale=D ** -0.5), randn(D, D, seed=seed + 1, scale=D ** -0.5)
        self.calls: list[tuple[torch.Tensor, Any, Any]] = []

    def forward(self, y: torch.Tensor, memory: Any = None, src_mask: Any = None) -> torch.Tensor:
        self.calls.append((y.detach().clone(), memory, src_mask))
        if not isinstance(memory, torch.Tensor):
            raise CheckFailure(f"a decoder layer was called without the memory (got {describe(memory)}).",
                               "Call every decoder layer as layer(y, memory, src_mask).")
        keep = torch.ones(memory.shape[0], memory.shape[1], 1) if src_mask is None else \
            src_mask[:, 0, :, None].to(memory.dtype)
        pooled = (memory * keep).sum(1, keepdim=True) / keep.sum(1, keepdim=True)
        return y + torch.tanh(y @ self.a + pooled @ self.b)


def make_model(ns: Namespace, src_vocab: int = 11, tgt_vocab: int = 13, **options: Any) -> nn.Module:
    """The learner's Transformer with the checks' sizes (d_model 16, 4 heads, 2 + 2 layers, d_ff 32)."""
    sizes = dict(d_model=D, n_heads=H, n_layers=2, d_ff=FF, dropout=0.0, max_len=20, pad_id=0)
    sizes.update(options)
    return instantiate(ns, "Transformer", src_vocab, tgt_vocab, **sizes)


def model_shapes(src_vocab: int, tgt_vocab: int, d: int = D, n_layers: int = 2) -> dict[str, tuple[int, ...]]:
    with quiet(), torch.device("meta"):
        twin = nn.Transformer(d, H, n_layers, n_layers, FF, batch_first=True)
    return twin_shapes(twin, {"src_embed.weight": (src_vocab, d), "tgt_embed.weight": (tgt_vocab, d),
                              "lm_head.weight": (tgt_vocab, d)})


def with_stand_ins(model: nn.Module, seed: int) -> tuple[list[StandInEncoderLayer], list[StandInDecoderLayer]]:
    """Put stand-ins in place of the model's layers (so that only the Transformer's own code is checked)."""
    encoders = [StandInEncoderLayer(seed + 10 * i) for i in range(len(model.encoder_layers))]
    decoders = [StandInDecoderLayer(seed + 100 + 10 * i) for i in range(len(model.decoder_layers))]
    model.encoder_layers = nn.ModuleList(encoders)
    model.decoder_layers = nn.ModuleList(decoders)
    return encoders, decoders


SRC = torch.tensor([[3, 4, 5, 6, 7, 8], [9, 2, 10, 0, 0, 0]])       # pad_id 0: sentence 1 has 3 tokens
TGT = torch.tensor([[1, 5, 6, 10], [1, 8, 0, 0]])


def run_model(model: nn.Module, what: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """encode then decode SRC, TGT (the layers are stand-ins): the memory, the logits and the mask."""
    mask = (SRC != 0)[:, None, :]
    memory = model.encode(SRC, mask)
    expect_type(memory, torch.Tensor, f"{what}.encode(src, src_mask)", "encode returns the memory, (B, S, d_model).")
    if tuple(memory.shape) != (2, 6, D):
        raise CheckFailure(f"{what}.encode(src, src_mask) for src (2, 6) should return the memory of shape (2, 6, 16), "
                           f"got {tuple(memory.shape)}.")
    logits = model.decode(TGT, memory, mask)
    expect_type(logits, torch.Tensor, f"{what}.decode(tgt, memory, src_mask)", "decode returns the logits.")
    V = model.lm_head.weight.shape[0]
    if tuple(logits.shape) != (2, 4, V):
        raise CheckFailure(f"{what}.decode(tgt, memory, src_mask) for tgt (2, 4) should return logits of shape "
                           f"(2, 4, {V}), got {tuple(logits.shape)}.", "End with decoder_norm and lm_head.")
    return memory, logits, mask


def expect_calls(layers: list[nn.Module], memory: torch.Tensor | None, mask: torch.Tensor, what: str) -> None:
    """Every layer was called once, with the source padding mask (and the decoder layers with the memory)."""
    kind = "encoder_layers" if memory is None else "decoder_layers"
    for i, layer in enumerate(layers):
        if len(layer.calls) != 1:
            raise CheckFailure(f"{what}: {kind}[{i}] was called {len(layer.calls)} times, expected once.",
                               f"Run every layer of self.{kind} once, in order.")
        received_mask = layer.calls[0][-1]
        if not (isinstance(received_mask, torch.Tensor) and received_mask.shape == mask.shape
                and torch.equal(received_mask, mask)):
            raise CheckFailure(f"{what}: {kind}[{i}] received the mask {describe(received_mask)}, expected the source "
                               "padding mask src_mask (2, 1, 6).", "Pass src_mask on to every layer.")
        if memory is not None and not (isinstance(layer.calls[0][1], torch.Tensor) and
                                       layer.calls[0][1].shape == memory.shape and
                                       torch.allclose(layer.calls[0][1], memory)):
            raise CheckFailure(f"{what}: decoder_layers[{i}] received {describe(layer.calls[0][1])} as its memory, not "
                               "the memory given to decode.", "Every decoder layer reads the same memory.")


EMBED_HINT = "Embed, multiply by √d_model, add pe[:length] (the first rows of the table), dropout."


@lesson.exercise("Transformer", points=3,
                 hint="encode: embed the source, × √d_model, + pe[:S], dropout, the encoder layers with src_mask, "
                      "encoder_norm. decode: the same with tgt_embed, the decoder layers with memory and src_mask, "
                      "decoder_norm, lm_head.")
def transformer(ns: Namespace) -> None:
    model = make_model(ns)
    names_problem(model, model_shapes(11, 13), "Transformer(11, 13, d_model=16, n_layers=2, d_ff=32)")
    pe = getattr(model, "pe", None)
    expect_type(pe, torch.Tensor, "Transformer(...).pe", "Keep the positional table as the buffer `pe`.")
    stored.expect("Transformer", "Transformer(11, 13, d_model=16, max_len=20).pe, the table of positions", pe,
                  hint="pe is sinusoidal_encoding(max_len, d_model).")
    if "pe" in dict(model.named_parameters()):
        raise CheckFailure("pe is a parameter: the optimizer would change the positional table.",
                       "Keep it with register_buffer.")

    big = make_model(ns, 300, 300, d_model=64, n_layers=1, d_ff=64)
    for name in ("src_embed", "tgt_embed"):
        std = big.get_submodule(name).weight.detach().std().item()
        if not 0.9 * 64 ** -0.5 < std < 1.1 * 64 ** -0.5:
            raise CheckFailure(f"Transformer(300, 300, d_model=64).{name}.weight has a standard deviation of {std:.3f}, "
                               f"expected d_model^-0.5 = {64 ** -0.5:.3f}.",
                               "Initialise the embeddings with nn.init.normal_(weight, std=d_model ** -0.5): multiplied "
                               "by √d_model their entries then have variance 1.")

    shared = make_model(ns, 11, 11, share_embeddings=True)
    src_w, tgt_w, head_w = (shared.get_submodule(n).weight for n in ("src_embed", "tgt_embed", "lm_head"))
    if not (src_w is tgt_w and tgt_w is head_w):
        which = [n for n, w in (("tgt_embed.weight", tgt_w), ("lm_head.weight", head_w)) if w is not src_w]
        raise CheckFailure(f"with share_embeddings=True, {' and '.join(which)} should be the very same tensor as "
                           "src_embed.weight (one matrix for three jobs), but is a different one.",
                           "Use the same module for both embeddings, and give lm_head the embedding's weight Parameter itself "
                           "(assign it to lm_head's weight attribute).")
    unshared = make_model(ns, 11, 11)
    if len({id(unshared.get_submodule(n).weight) for n in ("src_embed", "tgt_embed", "lm_head")}) != 3:
        raise CheckFailure("with share_embeddings=False, src_embed, tgt_embed and lm_head should have three separate "
                           "weight matrices.", "Share only when share_embeddings is True.")

    for label, built in (("Transformer(11, 13, d_model=16, n_layers=2)", model),
                         ("Transformer(11, 11, d_model=16, n_layers=2, share_embeddings=True)", shared)):
        fill_by_name(built, seed=40)
        encoders, decoders = with_stand_ins(built, seed=41)
        built.eval()
        memory, logits, mask = run_model(built, label)
        what = f"{label} (its layers replaced by fixed stand-ins), src {SRC.tolist()}"
        stored.expect("Transformer", f"what encoder_layers[0] receives in {what}", encoders[0].calls[0][0],
                      hint=EMBED_HINT)
        expect_calls(encoders, None, mask, what)
        stored.expect("Transformer", f"the memory returned by encode in {what}", memory,
                      hint="After the last encoder layer comes encoder_norm.")
        what = f"{what}, tgt {TGT.tolist()}"
        stored.expect("Transformer", f"what decoder_layers[0] receives in {what}", decoders[0].calls[0][0],
                      hint=EMBED_HINT + " The target uses tgt_embed.")
        expect_calls(decoders, memory, mask, what)
        stored.expect("Transformer", f"the logits returned by decode in {what}", logits,
                      hint="After the last decoder layer: decoder_norm, then lm_head.")

    dropped = make_model(ns, dropout=0.5)
    encoders, decoders = with_stand_ins(dropped, seed=41)
    dropped.train()
    run_model(dropped, "Transformer(11, 13, d_model=16, dropout=0.5) in training mode")
    for name, seen in (("encoder_layers[0]", encoders[0].calls[0][0]), ("decoder_layers[0]", decoders[0].calls[0][0])):
        zeros = (seen == 0).float().mean().item()
        if not 0.3 < zeros < 0.7:
            raise CheckFailure(f"with dropout=0.5 in training mode, {zeros:.0%} of what {name} receives is 0, expected "
                               "about half: dropout is not applied to the embedded sequence.",
                               "Apply self.dropout to (embedding × √d_model + positions), in both stacks.")


# ---------------------------------------------------------------- 5. equal to nn.Transformer

def keep_first_inputs(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[Any]]:
    """Forward pre-hooks that keep what the first encoder and decoder layers receive."""
    seen: dict[str, torch.Tensor] = {}

    def keeper(key: str, argument: str) -> Any:
        def keep(module: nn.Module, args: tuple, kwargs: dict) -> None:
            seen.setdefault(key, args[0] if args else kwargs.get(argument))
        return keep

    hooks = [model.encoder_layers[0].register_forward_pre_hook(keeper("src", "x"), with_kwargs=True),
             model.decoder_layers[0].register_forward_pre_hook(keeper("tgt", "y"), with_kwargs=True)]
    return seen, hooks


PARITY_SRC = torch.tensor([[3, 4, 5, 6, 7, 8, 9], [10, 11, 2, 3, 0, 0, 0], [12, 0, 0, 0, 0, 0, 0]])
PARITY_TGT = torch.tensor([[1, 5, 6, 7, 8], [1, 9, 10, 2, 0], [1, 3, 0, 0, 0]])


def parity(ns: Namespace, norm_first: bool, to_torch: bool, stored_logits: bool = True) -> None:
    """The learner's Transformer against nn.Transformer (same weights, eval mode): memory, logits, gradients.
    The logits go through the stored examples (which name known mistakes) unless ``stored_logits`` is False."""
    with quiet():
        ref = nn.Transformer(D, H, 2, 2, FF, dropout=0.1, batch_first=True, norm_first=norm_first)
    model = make_model(ns, 13, 13, dropout=0.1, norm_first=norm_first)
    names_problem(model, model_shapes(13, 13), f"Transformer(13, 13, d_model=16, norm_first={norm_first})")
    fill_by_name(model if to_torch else ref, seed=50 + norm_first)
    if to_torch:
        copy_across(model, ref, to_torch=True)
    else:
        copy_across(model, ref, to_torch=False)
        fill_by_name(model.src_embed, 52)
        fill_by_name(model.tgt_embed, 53)
        fill_by_name(model.lm_head, 54)
    model.eval()
    ref.eval()
    direction = "our weights copied into nn.Transformer" if to_torch else "nn.Transformer's weights copied into ours"
    what = f"Transformer(13, 13, d_model=16, n_heads=4, n_layers=2, d_ff=32, norm_first={norm_first}) ({direction}, eval mode)"
    mask = (PARITY_SRC != 0)[:, None, :]
    pads = PARITY_SRC == 0
    seen, hooks = keep_first_inputs(model)
    try:
        with quiet():
            memory = model.encode(PARITY_SRC, mask)
            logits = model(PARITY_SRC, PARITY_TGT)
    finally:
        for hook in hooks:
            hook.remove()
    expect_type(logits, torch.Tensor, f"{what}(src, tgt)")
    x, y = seen["src"].detach(), seen["tgt"].detach()
    with quiet():
        want_memory = ref.encoder(x, src_key_padding_mask=pads)
        T = PARITY_TGT.shape[1]
        out = ref(x, y, tgt_mask=~torch.ones(T, T, dtype=torch.bool).tril(), src_key_padding_mask=pads,
                  memory_key_padding_mask=pads)
    real = ~pads
    expect_close(memory[real], want_memory[real], f"{what}: the memory at the real source tokens, compared with "
                 "nn.Transformer's encoder", "The memory is the encoder layers' output after encoder_norm.")
    want = F.linear(out, model.lm_head.weight)
    compare = stored.expect if stored_logits else lambda exercise, key, got, want: expect_close(got, want, key)
    compare("matches_nn_transformer", f"the logits of {what} for src (3, 7) with lengths [7, 4, 1], compared with "
            "nn.Transformer + lm_head", logits, want)
    names = [n for n, _ in model.named_parameters() if torch_name(n) is not None]
    theirs = dict(ref.named_parameters())
    ours = dict(model.named_parameters())
    expect_same_grads(logits, want, [(n, ours[n], theirs[torch_name(n)]) for n in names], what, seed=55)


PARTS = ("cross_attention", "EncoderLayer", "DecoderLayer", "Transformer")


def failing_part(ns: Namespace, tiers: tuple[str, ...]) -> str:
    """"Your `X` does not pass its own check yet: ..." for the first of the exercises the whole model is made of
    that fails its checks of these tiers; "" when they all pass (or while stored examples are generated)."""
    from ..runner import run_exercise

    if stored.recorder is not None:
        return ""
    for name in PARTS:
        result = run_exercise(lesson.get(name), ns, tiers=tiers)
        if not result.passed:
            return f"Your `{name}` does not pass its own check yet: {result.message.splitlines()[0]}"
    return ""


def check_parity(ns: Namespace, tiers: tuple[str, ...], stored_logits: bool) -> None:
    """:func:`parity` in both directions for both norm_first values; a failure names the part that fails."""
    try:
        for norm_first in (False, True):
            for to_torch in (False, True):
                parity(ns, norm_first, to_torch, stored_logits)
    except NotImplementedError:
        raise
    except (CheckFailure, RuntimeError) as failure:
        message = failure.message if isinstance(failure, CheckFailure) else f"your code raised RuntimeError: {failure}"
        note = "" if "does not pass its own check" in message else failing_part(ns, tiers)
        if not note and not isinstance(failure, CheckFailure):
            raise
        raise CheckFailure(message + (f"\n    {note}" if note else ""),
                           failure.hint if isinstance(failure, CheckFailure) else "") from None


@lesson.exercise("matches_nn_transformer", points=2,
                 hint="If MultiHeadAttention, EncoderLayer, DecoderLayer and Transformer pass their own checks, this "
                      "passes too; otherwise fix the first one that does not.")
def matches_nn_transformer(ns: Namespace) -> None:
    check_parity(ns, ("practice",), stored_logits=True)


# ---------------------------------------------------------------- 6. label smoothing

def loss_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, float, int]]:
    """(description, logits, target, smoothing, ignore_index)."""
    target = torch.tensor([[3, 1, 4, 1, 5], [2, 6, 0, -100, -100]])
    padded = torch.tensor([[3, 1, 4, 6, 2], [2, 5, 0, 0, 0], [1, 0, 0, 0, 0]])
    return [
        ("logits (2, 5, 7), target (2, 5) with two positions at -100, smoothing=0.1", randn(2, 5, 7, seed=60),
         target, 0.1, -100),
        ("logits (2, 5, 7), the same target, smoothing=0.0", randn(2, 5, 7, seed=60), target, 0.0, -100),
        ("logits (3, 5, 7) × 3, target (3, 5) padded with 0, smoothing=0.25, ignore_index=0", randn(3, 5, 7, seed=61) * 3,
         padded, 0.25, 0),
        ("logits (6, 11), target (6,), smoothing=0.1, nothing ignored", randn(6, 11, seed=62),
         torch.tensor([0, 10, 3, 3, 7, 1]), 0.1, -100),
    ]


@lesson.exercise("label_smoothing_loss", points=2,
                 hint="From log p = F.log_softmax(logits, -1): per position (1 - ε)(-log p_y) + ε·mean over all V "
                      "classes of (-log p_v); then the mean over the positions whose target is not ignore_index.")
def label_smoothing_loss(ns: Namespace) -> None:
    for what, logits, target, smoothing, ignore in loss_cases():
        got_in, want_in = logits.clone().requires_grad_(), logits.clone().requires_grad_()
        got = ns.label_smoothing_loss(got_in, target, smoothing=smoothing, ignore_index=ignore)
        V = logits.shape[-1]
        want = F.cross_entropy(want_in.reshape(-1, V), target.reshape(-1), label_smoothing=smoothing,
                               ignore_index=ignore)
        call = f"label_smoothing_loss for {what}"
        expect_type(got, torch.Tensor, call, "Return the loss as a 0-dimensional tensor (so it can be backpropagated).")
        stored.expect("label_smoothing_loss", f"{call}, compared with F.cross_entropy(label_smoothing=...)", got, want)
        expect_same_grads(got, want, [("logits", got_in, want_in)], call, seed=63)


# ---------------------------------------------------------------- 7. teacher forcing

class RecordingModel(nn.Module):
    """A stand-in seq2seq model: logits = table[decoder input] + a term per position + one from the source.
    It remembers what it was called with."""

    def __init__(self, vocab: int = 9) -> None:
        super().__init__()
        self.table = nn.Parameter(randn(vocab, vocab, seed=70))
        self.positions = randn(16, vocab, seed=71)
        self.source = randn(vocab, vocab, seed=72) * 0.3
        self.calls: list[tuple[Any, Any]] = []

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        self.calls.append((src, tgt))
        return self.table[tgt] + self.positions[: tgt.shape[1]] + self.source[src].mean(1, keepdim=True)


@lesson.exercise("teacher_forcing_loss", points=2,
                 hint="decoder input = <bos> followed by tgt without its last column (shifted right); logits = "
                      "model(src, decoder input); the label-smoothed loss of the logits against tgt itself, pads ignored.")
def teacher_forcing_loss(ns: Namespace) -> None:
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    for tgt, bos, pad, smoothing in ((torch.tensor([[4, 5, 6, 2], [8, 2, 0, 0]]), 1, 0, 0.0),
                                     (torch.tensor([[4, 5, 6, 2, 0], [8, 5, 4, 1, 2], [6, 2, 0, 0, 0]]), 7, 0, 0.1),
                                     (torch.tensor([[4, 5, 6, 2], [8, 2, 3, 3]]), 1, 3, 0.1)):
        model = RecordingModel()
        source = src[: tgt.shape[0]] if tgt.shape[0] <= 2 else torch.cat([src, src[:1]])
        what = f"teacher_forcing_loss(model, src, tgt={tgt.tolist()}, bos_id={bos}, pad_id={pad}, smoothing={smoothing})"
        loss = ns.teacher_forcing_loss(model, source, tgt, bos, pad, smoothing=smoothing)
        if len(model.calls) != 1:
            raise CheckFailure(f"{what} called the model {len(model.calls)} times, expected once.",
                               "One forward pass trains every position at once.")
        given_src, decoder_input = model.calls[0]
        if not (isinstance(given_src, torch.Tensor) and given_src.shape == source.shape and torch.equal(given_src, source)):
            raise CheckFailure(f"{what} gave the model {describe(given_src)} as its source, not src.",
                               "Call model(src, decoder_input).")
        expect_type(decoder_input, torch.Tensor, f"the decoder input given to the model by {what}")
        stored.expect("teacher_forcing_loss", f"the decoder input given to the model by {what}", decoder_input,
                      hint="The decoder input is the target shifted right: <bos>, then every target token but the last.")
        logits = model.table[decoder_input] + model.positions[: decoder_input.shape[1]] + \
            model.source[source].mean(1, keepdim=True)
        expect_type(loss, torch.Tensor, f"the loss returned by {what}", "Return the loss as a tensor.")
        want = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=pad,
                               label_smoothing=smoothing)
        stored.expect("teacher_forcing_loss", f"the loss returned by {what}, compared with F.cross_entropy on the "
                      "model's logits (pads ignored)", loss, want,
                      hint="The labels are tgt itself; positions whose label is pad_id do not count.")
        grads_of(loss, [model.table], what)


# ---------------------------------------------------------------- 8. the learning rate

LR_STEPS = [1, 2, 10, 100, 1000, 3999, 4000, 4001, 8000, 16000, 100000]


@lesson.exercise("transformer_lr", points=1,
                 hint="d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5), with step counted from 1.")
def transformer_lr(ns: Namespace) -> None:
    values = []
    for s in LR_STEPS:
        value = ns.transformer_lr(s, 512, 4000)
        if not isinstance(value, float):
            raise CheckFailure(f"transformer_lr({s}, 512, 4000) should return a Python float, got {describe(value)}.",
                               "Compute with Python numbers (** and min), not tensors.")
        values.append(value)
    peak = 1 / math.sqrt(512 * 4000)
    expect_close(ns.transformer_lr(4000, 512), peak, "transformer_lr(4000, 512) (warmup_steps defaults to 4000): the "
                 "peak, (512 · 4000)^-0.5 ≈ 7.0e-4", "The two terms of the min are equal at step == warmup_steps.",
                 atol=0.0, rtol=1e-6)
    stored.expect("transformer_lr", f"[transformer_lr(s, 512, 4000) for s in {LR_STEPS}]", values, atol=0.0, rtol=1e-6)
    for a, b, ratio, phase in ((1, 2, 2.0, "warm-up: doubling the step doubles the rate"),
                               (10, 1000, 100.0, "warm-up: the rate grows linearly"),
                               (4000, 16000, 0.5, "decay: 4 × the step, half the rate")):
        got = ns.transformer_lr(b, 512, 4000) / ns.transformer_lr(a, 512, 4000)
        expect_close(got, ratio, f"transformer_lr({b}, 512, 4000) / transformer_lr({a}, 512, 4000) ({phase})",
                     atol=0.0, rtol=1e-6)
    small = [ns.transformer_lr(s, 64, 200) for s in (1, 199, 200, 201, 800)]
    stored.expect("transformer_lr", "[transformer_lr(s, 64, 200) for s in [1, 199, 200, 201, 800]]", small,
                  atol=0.0, rtol=1e-6)


# ---------------------------------------------------------------- 9-10. decoding

class StandInSeq2Seq:
    """A fixed function with the interface the decoders use (source_mask, encode, decode, pad_id).

    The logits at a position depend on the whole prefix up to it, on the real source tokens, and on
    the position (<eos> gets likelier as the output grows); batch rows are independent.  It counts
    its calls."""

    def __init__(self, vocab: int = 8, pad_id: int = 6, eos_id: int = 2, seed: int = 80, d: int = 6) -> None:
        self.vocab, self.pad_id, self.eos_id = vocab, pad_id, eos_id
        self.embed = randn(vocab, d, seed=seed)
        self.prefix = randn(vocab, vocab, seed=seed + 1)
        self.current = randn(vocab, vocab, seed=seed + 2)
        self.read = randn(d, vocab, seed=seed + 3)
        self.encodes = 0
        self.decodes = 0

    def source_mask(self, src: torch.Tensor) -> torch.Tensor:
        return (src != self.pad_id)[:, None, :]

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        self.encodes += 1
        return self.embed[src] * src_mask[:, 0, :, None]

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        self.decodes += 1
        B, T = tgt.shape
        if not (isinstance(memory, torch.Tensor) and memory.shape[0] in (1, B)):
            raise CheckFailure(f"decode was given a memory {describe(memory)} for {B} rows of tokens.",
                               "Give decode the memory of encode, one row per row of tokens (expand it for a beam).")
        real = src_mask[:, 0, :, None].to(memory.dtype)
        pooled = (memory * real).sum(1) / real.sum(1)                        # (B or 1, d)
        history = self.prefix[tgt].cumsum(1) / torch.arange(1, T + 1)[:, None]  # the prefix so far
        logits = 2 * history + self.current[tgt] + (pooled @ self.read)[:, None, :]
        logits[..., self.eos_id] += 0.9 * torch.arange(T) - 2.0             # longer outputs end more often
        logits[..., self.pad_id] -= 4.0
        return logits


GREEDY_SOURCES = torch.tensor([[3, 4, 5, 6, 6], [7, 1, 6, 6, 6], [0, 3, 5, 7, 4], [5, 6, 6, 6, 6]])


def decoded_tokens(got: Any, what: str, rows: int, max_len: int) -> torch.Tensor:
    expect_type(got, torch.Tensor, what, "Return the new tokens as one (B, L) tensor.")
    if got.dtype != torch.long or got.dim() != 2 or got.shape[0] != rows or not 0 < got.shape[1] <= max_len:
        raise CheckFailure(f"{what} should be a long tensor of shape ({rows}, L) with 0 < L <= {max_len}, got "
                           f"{describe(got)}.", "One row per source, one column per step taken, without <bos>.")
    return got


@lesson.exercise("greedy_decode", points=2,
                 hint="Encode once; start from a column of <bos>; each step decode the whole prefix, argmax of the last "
                      "position, append; pads after a row's <eos>; stop when every row has its <eos> or at max_len.")
def greedy_decode(ns: Namespace) -> None:
    for src, max_len in ((GREEDY_SOURCES, 12), (GREEDY_SOURCES, 3), (GREEDY_SOURCES[2:3], 12)):
        model = StandInSeq2Seq()
        what = f"greedy_decode(stand-in model, src={src.tolist()}, bos_id=1, eos_id=2, max_len={max_len})"
        got = decoded_tokens(ns.greedy_decode(model, src, 1, 2, max_len), what, src.shape[0], max_len)
        if model.encodes != 1:
            raise CheckFailure(f"{what} called model.encode {model.encodes} times: encode the source once.",
                               "The memory does not change while decoding; compute it once before the loop.")
        stored.expect("greedy_decode", what, got,
                      hint="After a row's <eos> comes model.pad_id; stop as soon as every row has its <eos>.")
    model = StandInSeq2Seq(pad_id=0, eos_id=5)
    what = "greedy_decode(stand-in model with pad_id 0, src, bos_id=1, eos_id=5, max_len=12)"
    got = decoded_tokens(ns.greedy_decode(model, GREEDY_SOURCES.masked_fill(GREEDY_SOURCES == 6, 0), 1, 5, 12), what,
                         4, 12)
    stored.expect("greedy_decode", what, got, hint="Use model.pad_id and the eos_id you are given.")


class TableModel:
    """The lesson's worked example: a table of next-token probabilities for each prefix, ignoring the source."""

    VOCAB = ["<pad>", "<bos>", "<eos>", "a", "b"]

    def __init__(self, table: dict[str, dict[str, float]], otherwise: dict[str, float]) -> None:
        self.table, self.otherwise, self.pad_id = table, otherwise, 0

    def source_mask(self, src: torch.Tensor) -> torch.Tensor:
        return torch.ones(src.shape[0], 1, src.shape[1], dtype=torch.bool)

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        return torch.zeros(src.shape[0], src.shape[1], 1)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        out = torch.full((*tgt.shape, len(self.VOCAB)), -1e9)
        for b, row in enumerate(tgt.tolist()):
            for t in range(len(row)):
                prefix = " ".join(self.VOCAB[i] for i in row[1:t + 1])
                for token, p in self.table.get(prefix, self.otherwise).items():
                    out[b, t, self.VOCAB.index(token)] = math.log(p)
        return out


BEAM_BEATS_GREEDY = TableModel({"": {"a": 0.5, "b": 0.4, "<eos>": 0.1}, "a": {"a": 0.3, "b": 0.3, "<eos>": 0.4},
                                "b": {"a": 0.05, "b": 0.05, "<eos>": 0.9}}, {"a": 0.1, "b": 0.1, "<eos>": 0.8})
BEAM_SHRINKS = TableModel({"": {"a": 0.6, "<eos>": 0.3, "b": 0.1}, "a": {"a": 0.5, "b": 0.45, "<eos>": 0.05},
                           "a b": {"<eos>": 0.99, "a": 0.01}}, {"a": 0.5, "b": 0.45, "<eos>": 0.05})
LENGTH_DECIDES = TableModel({"": {"a": 0.55, "<eos>": 0.45}, "a": {"a": 0.9, "<eos>": 0.1},
                             "a a": {"a": 0.1, "<eos>": 0.9}}, {"a": 0.1, "<eos>": 0.9})


def call_beam(ns: Namespace, model: Any, src: torch.Tensor, k: int, max_len: int, alpha: float, what: str,
              eos: int = 2) -> tuple[torch.Tensor, float]:
    result = ns.beam_search(model, src, k, 1, eos, max_len, alpha=alpha)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"{what} should return a pair (tokens, score), got {describe(result)}.")
    best, value = result
    if not (isinstance(best, torch.Tensor) and best.dtype == torch.long and best.dim() == 1):
        raise CheckFailure(f"the tokens returned by {what} should be a 1-D long tensor, got {describe(best)}.",
                           "Return the new tokens of the best hypothesis, without <bos>.")
    if not isinstance(value, float):
        raise CheckFailure(f"the score returned by {what} should be a Python float, got {describe(value)}.",
                           "Return the score with float(...) or .item().")
    return best, value


def lp(n: int, alpha: float) -> float:
    """The length penalty of the lesson's worked examples."""
    return math.pow((5 + n) / 6, alpha)


@lesson.exercise("beam_search", points=3,
                 hint="Extend every alive hypothesis by every token; keep the best (beam_size - finished) candidates by "
                      "total log-probability; those ending in <eos> are finished; at the end pick the finished one with "
                      "the best log P / ((5 + n) / 6)^alpha.")
def beam_search(ns: Namespace) -> None:
    src = torch.zeros(1, 1, dtype=torch.long)
    for k, tokens, p in ((1, [3, 2], 0.2), (2, [4, 2], 0.36)):
        what = f"beam_search(the lesson's table model, src, beam_size={k}, bos_id=1, eos_id=2, max_len=5)"
        got, score = call_beam(ns, BEAM_BEATS_GREEDY, src, k, 5, 0.6, what)
        expect_close(got, torch.tensor(tokens), f"the tokens returned by {what}",
                     "a <eos> (P = 0.5 × 0.4) for a beam of 1, b <eos> (P = 0.4 × 0.9) for a beam of 2.")
        expect_close(score, math.log(p) / lp(2, 0.6), f"the score returned by {what}: log({p}) / ((5 + 2) / 6)^0.6",
                     "The score is the log-probability divided by the length penalty ((5 + n) / 6)^alpha.")
    for alpha, tokens, p in ((0.6, [3, 3, 2], 0.55 * 0.9 * 0.9), (0.0, [2], 0.45)):
        what = f"beam_search(a table model where the length decides, src, beam_size=2, bos_id=1, eos_id=2, max_len=6, " \
               f"alpha={alpha})"
        got, score = call_beam(ns, LENGTH_DECIDES, src, 2, 6, alpha, what)
        expect_close(got, torch.tensor(tokens), f"the tokens returned by {what}",
                     "Finished hypotheses: '<eos>' (P = 0.45, n = 1) and 'a a <eos>' (P = 0.4455, n = 3): the length "
                     "penalty divides log P by ((5 + n) / 6)^alpha, which favours the longer one when alpha = 0.6.")
        expect_close(score, math.log(p) / lp(len(tokens), alpha), f"the score returned by {what}")
    what = "beam_search(a table model where the beam shrinks, src, beam_size=2, bos_id=1, eos_id=2, max_len=6)"
    got, score = call_beam(ns, BEAM_SHRINKS, src, 2, 6, 0.6, what)
    expect_close(got, torch.tensor([2]), f"the tokens returned by {what}",
                 "Step 1 finishes '<eos>' (0.3) and keeps 'a' (0.6). From then on only beam_size - 1 = 1 hypothesis stays "
                 "alive: 'a a' (0.3) beats 'a b' (0.27), and 'a a ...' never reaches a likely <eos>.")
    expect_close(score, math.log(0.3), f"the score returned by {what}: log(0.3) / ((5 + 1) / 6)^0.6")
    for k, max_len, alpha in ((1, 12, 0.6), (3, 12, 0.6), (4, 12, 0.0), (3, 12, 1.0), (3, 4, 0.6), (8, 12, 0.6)):
        for row in range(3):
            model = StandInSeq2Seq()
            what = (f"beam_search(stand-in model, src={GREEDY_SOURCES[row:row + 1].tolist()}, beam_size={k}, bos_id=1, "
                    f"eos_id=2, max_len={max_len}, alpha={alpha})")
            tokens, score = call_beam(ns, model, GREEDY_SOURCES[row:row + 1], k, max_len, alpha, what)
            if model.encodes != 1:
                raise CheckFailure(f"{what} called model.encode {model.encodes} times: encode the source once.")
            stored.expect("beam_search", f"the tokens returned by {what}", tokens,
                          hint="With beam_size 1 it is greedy decoding." if k == 1 else "")
            stored.expect("beam_search", f"the score returned by {what}", score)
