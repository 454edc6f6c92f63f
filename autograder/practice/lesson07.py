"""Practice checks for lesson 07 — linear layers, GELU, the feed-forward network, LayerNorm,
RMSNorm, the transformer block and dropout.

Shipped to students: no solution code in here.  Expected values come from the PyTorch functions
and modules the lesson itself names as the reference (``F.linear``, ``F.gelu``, ``nn.LayerNorm``,
``nn.RMSNorm``, ``nn.TransformerEncoderLayer`` with its weights copied into the learner's block),
values and gradients; for the feed-forward network, which PyTorch has no module of its own for,
from stored example outputs (``examples/07_transformer_block.json``).  Comparisons go through
the stored examples, so a known mistake is named even here.  Dropout is checked by its
properties (train differs, eval is the identity, the train-mode average equals eval).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import close, describe, expect_close, learner_module
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("07", "transformer_block", "The transformer block: feed-forward, add & norm")
stored = lesson.examples

D, H, T = 16, 4, 7           # the block: d_model, heads, tokens


# ---------------------------------------------------------------- helpers (the grading checks use them too)

def randn(*shape: int, seed: int, scale: float = 1.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) * scale


def module(ns: Namespace, name: str, *args: Any, **kwargs: Any) -> nn.Module:
    """Instantiate the learner's class and make sure it is an nn.Module."""
    return learner_module(ns, name, *args, **kwargs,
                          hint=f"Write `class {name}(nn.Module):` and call super().__init__() first.")


def param(owner_module: nn.Module, path: str, shape: tuple, owner: str, hint: str = "") -> torch.Tensor:
    """The tensor at ``owner_module.<path>`` (e.g. "ffn.linear1.weight"), checked for shape."""
    obj: Any = owner_module
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise CheckFailure(f"{owner} has no `{path}`.", hint or "Keep the attribute names given in the exercise text.")
    if not isinstance(obj, torch.Tensor):
        raise CheckFailure(f"{owner}.{path} should be a tensor, but got {describe(obj)}.", hint)
    if tuple(obj.shape) != tuple(shape):
        raise CheckFailure(f"{owner}.{path} should have shape {tuple(shape)}, but has shape {tuple(obj.shape)}.", hint)
    return obj


def expect_same_grads(pairs: list[tuple[str, torch.Tensor, torch.Tensor]], what: str,
                      atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """``pairs``: (name, learner tensor, reference tensor) after backward(); their .grad must agree."""
    for name, ours, ref in pairs:
        if ours.grad is None:
            raise CheckFailure(f"{what}: no gradient reached {name}.",
                               "Compute the output with torch operations from the parameters (no .detach(), "
                               "no .data, no torch.no_grad() in forward).")
        expect_close(ours.grad, ref.grad, f"{what}: the gradient of {name}",
                     "Values match but gradients do not: is something detached or computed outside autograd?",
                     atol=atol, rtol=rtol)


def backward_both(got: torch.Tensor, want: torch.Tensor, seed: int) -> None:
    """Backpropagate the same random output gradient through the learner's and the reference's graph."""
    g = randn(*want.shape, seed=seed)
    if not got.requires_grad:
        raise CheckFailure("the output carries no gradient (requires_grad is False).",
                           "Compute with torch operations on the inputs and parameters; no .detach(), .item(), "
                           "no torch.no_grad() in forward.")
    (got * g).sum().backward()
    (want * g).sum().backward()


# ---------------------------------------------------------------- 1. linear

@lesson.exercise("linear", points=1,
                 hint="weight has one row per output neuron, shape (d_out, d_in): multiply x by its transpose, then "
                      "add bias, which broadcasts over the leading axes.")
def linear(ns: Namespace) -> None:
    x = randn(2, 3, 4, seed=100)
    for w_shape, seed in (((4, 4), 101), ((5, 4), 103)):
        weight, bias = randn(*w_shape, seed=seed), randn(w_shape[0], seed=seed + 1)
        xa, wa, ba = (t.clone().requires_grad_() for t in (x, weight, bias))
        xb, wb, bb = (t.clone().requires_grad_() for t in (x, weight, bias))
        what = f"linear(x, weight, bias) for x (2, 3, 4), weight {w_shape}, bias ({w_shape[0]},), compared with F.linear"
        got, want = ns.linear(xa, wa, ba), F.linear(xb, wb, bb)
        stored.expect("linear", what, got, want.detach())
        backward_both(got, want, seed=seed + 2)
        expect_same_grads([("x", xa, xb), ("weight", wa, wb), ("bias", ba, bb)], what)


# ---------------------------------------------------------------- 2-3. GELU

def gelu_inputs() -> torch.Tensor:
    """Random values and a fine grid from -8 to 8 (float32)."""
    return torch.cat([randn(50, seed=1, scale=3.0), torch.linspace(-8, 8, 401)])


def _practice_gelu(ns: Namespace, name: str, approximate: str) -> None:
    fn = getattr(ns, name)
    label = "F.gelu(x)" if approximate == "none" else 'F.gelu(x, approximate="tanh")'
    x = gelu_inputs()
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    what = f"{name}(x) for 451 values from -8 to 8, compared with {label}"
    got, want = fn(xa), F.gelu(xb, approximate=approximate)
    stored.expect(name, what, got, want.detach())
    backward_both(got, want, seed=2)
    expect_same_grads([("x", xa, xb)], what)
    x64 = randn(3, 4, 5, seed=3, dtype=torch.float64)
    stored.expect(name, f"{name}(x) for a float64 x of shape (3, 4, 5), compared with {label}", fn(x64),
                  F.gelu(x64, approximate=approximate), "Use torch functions element-wise, so any shape and dtype works.",
                  atol=1e-10, rtol=1e-10)


@lesson.exercise("gelu_exact", points=1,
                 hint="GELU(x) = x·Φ(x), where Φ(x) = (1 + erf(x/√2)) / 2 is the normal CDF; torch.erf is erf.")
def gelu_exact(ns: Namespace) -> None:
    _practice_gelu(ns, "gelu_exact", "none")


@lesson.exercise("gelu_tanh", points=1,
                 hint="Follow the formula in the text with torch.tanh: x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³))).")
def gelu_tanh(ns: Namespace) -> None:
    _practice_gelu(ns, "gelu_tanh", "tanh")


# ---------------------------------------------------------------- 4. FeedForward

FFN_HINT = ("linear1 maps d_model to d_ff (4 * d_model unless d_ff is given), linear2 maps d_ff back to d_model; "
            "nothing else has parameters.")


def ffn_layers(ns: Namespace, d: int) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """The learner's FeedForward(d), checked for its layers' names and shapes; (module, parameters by name)."""
    ff = module(ns, "FeedForward", d)
    w1 = getattr(getattr(ff, "linear1", None), "weight", None)
    if isinstance(w1, torch.Tensor) and tuple(w1.shape) == (d, d):
        raise CheckFailure(f"FeedForward({d}).linear1 maps {d} -> {d}: the FFN has no 4x expansion "
                           f"(linear1.weight has shape {tuple(w1.shape)}, expected ({4 * d}, {d})).",
                           "When d_ff is None, the hidden width is 4 * d_model.")
    params = {path: param(ff, path, shape, f"FeedForward({d})", FFN_HINT) for path, shape in
              [("linear1.weight", (4 * d, d)), ("linear1.bias", (4 * d,)),
               ("linear2.weight", (d, 4 * d)), ("linear2.bias", (d,))]}
    ff40 = module(ns, "FeedForward", d, d_ff=40)
    w1 = getattr(getattr(ff40, "linear1", None), "weight", None)
    if not (isinstance(w1, torch.Tensor) and tuple(w1.shape) == (40, d)):
        raise CheckFailure(f"FeedForward({d}, d_ff=40).linear1.weight should have shape (40, {d}), got {describe(w1)}.",
                           "Use the d_ff argument when it is given; default to 4 * d_model only when it is None.")
    n_params = sum(q.numel() for q in ff.parameters())
    if n_params != 8 * d * d + 5 * d:
        raise CheckFailure(f"FeedForward({d}) has {n_params} parameters, expected {8 * d * d + 5 * d} "
                           "(two linear layers with biases and nothing else).", FFN_HINT)
    return ff, params


def set_weights(params: dict[str, torch.Tensor], seed: int, scale: float = 0.5) -> None:
    """Seeded random values for the named parameters (in name order, whatever the module's own order)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name in sorted(params):
            params[name].copy_(torch.randn(params[name].shape, generator=g) * scale)


@lesson.exercise("FeedForward", points=2,
                 hint="linear1, then the exact GELU, then linear2, then self.dropout, applied to the last axis.")
def feed_forward(ns: Namespace) -> None:
    d = 8
    ff, params = ffn_layers(ns, d)
    set_weights(params, seed=3)
    ff.train()  # dropout is 0 by default, so train mode must be deterministic too
    x = randn(2, 3, d, seed=4, scale=2.0).requires_grad_()
    what = f"FeedForward({d}) with seeded weights on x of shape (2, 3, {d})"
    got = ff(x)
    stored.expect("FeedForward", what, got, hint="linear1 -> GELU -> linear2, applied to the last axis.")
    if not got.requires_grad:
        raise CheckFailure(f"{what}: the output carries no gradient.", "Use torch operations only; no .detach().")
    (got * randn(*got.shape, seed=5)).sum().backward()
    for name, tensor in [("x", x), *params.items()]:
        if tensor.grad is None:
            raise CheckFailure(f"{what}: no gradient reached {name}.", "Use torch operations only; no .detach().")
        stored.expect("FeedForward", f"the gradient with respect to {name} of sum(FeedForward({d})(x) * g)",
                      tensor.grad, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------- 5-6. LayerNorm, RMSNorm

def norm_params(norm: nn.Module, name: str, d: int, names: tuple[str, ...]) -> dict[str, nn.Parameter]:
    """The learnable gain (and bias), checked for type, shape and initial value."""
    params = {}
    for attr, init in (("weight", 1.0), ("bias", 0.0)):
        if attr not in names:
            continue
        role = "gain" if attr == "weight" else "bias"
        value = getattr(norm, attr, None)
        if value is None:
            raise CheckFailure(f"{name}({d}) has no attribute `{attr}` (the learnable {role}).",
                               f"Name it exactly self.{attr}, as nn.{name} does, so weights can be copied across.")
        if not isinstance(value, nn.Parameter):
            raise CheckFailure(f"{name}({d}).{attr} should be an nn.Parameter (the learnable {role}), "
                               f"but got {describe(value)}.",
                               f"Wrap torch.{'ones' if init else 'zeros'}(d) in nn.Parameter: a plain tensor would not "
                               "be learned by the optimiser.")
        if tuple(value.shape) != (d,):
            raise CheckFailure(f"{name}({d}).{attr} should have shape ({d},), got {tuple(value.shape)}.")
        if not torch.all(value.detach() == init):
            raise CheckFailure(f"{name}({d}).{attr} should start as all {'ones' if init else 'zeros'}, "
                               f"got {describe(value)}.", "At initialisation the norm should only normalise: gain 1, bias 0.")
        params[attr] = value
    return params


def paired_norm(ns: Namespace, name: str, d: int, seed: int, **kwargs: Any) -> tuple[nn.Module, nn.Module, dict]:
    """The learner's norm and PyTorch's (nn.LayerNorm or nn.RMSNorm), with the same random gain (and bias)."""
    names = ("weight", "bias") if name == "LayerNorm" else ("weight",)
    ours = module(ns, name, d, **kwargs)
    params = norm_params(ours, name, d, names)
    ref = getattr(nn, name)(d, **kwargs)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        params["weight"].copy_(1 + 0.5 * torch.randn(d, generator=g))
        if "bias" in params:
            params["bias"].copy_(0.5 * torch.randn(d, generator=g))
        for attr in params:
            getattr(ref, attr).copy_(params[attr])
    return ours, ref, params


LN_HINT = "Normalise over the last axis: subtract the mean, divide by √(biased variance + eps), then scale and shift."
RMS_HINT = "Divide x by √(mean of x² over the last axis + eps), then scale by self.weight."

# (scale of the input, its description, tolerance of the gradients)
LN_INPUTS = [(1.0, "x", 1e-4), (1e-3, "x * 1e-3 (variance close to eps)", 1e-3)]
RMS_INPUTS = [(1.0, "x", 1e-4), (3e-3, "x * 3e-3 (mean square close to eps)", 1e-3)]


def _practice_norm(ns: Namespace, name: str, d: int, eps: float, seed: int, base: torch.Tensor,
                   inputs: list[tuple[float, str, float]], hint: str) -> None:
    ours, ref, params = paired_norm(ns, name, d, seed, eps=eps)
    for scale, label, tol in inputs:
        x = base * scale
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        what = f"{name}({d}, eps={eps:g}) on {label}, compared with nn.{name}({d}, eps={eps:g})"
        got, want = ours(xa), ref(xb)
        stored.expect(name, what, got, want.detach(), hint)
        backward_both(got, want, seed=seed + 1)
        expect_same_grads([("x", xa, xb)] + [(attr, params[attr], getattr(ref, attr)) for attr in params],
                          what, atol=tol, rtol=1e-4)
        ours.zero_grad()
        ref.zero_grad()


@lesson.exercise("LayerNorm", points=3,
                 hint="Subtract the mean over the last axis, divide by √(biased variance + eps) (eps inside the root), "
                      "then multiply by self.weight and add self.bias.")
def layer_norm(ns: Namespace) -> None:
    d = 8
    base = randn(2, 5, d, seed=6, scale=3.0) + 1
    _practice_norm(ns, "LayerNorm", d, 1e-5, 6, base, LN_INPUTS, LN_HINT)
    x = base * 0.05
    with torch.no_grad():
        ours, ref, _ = paired_norm(ns, "LayerNorm", d, 6, eps=1e-2)
        stored.expect("LayerNorm", f"LayerNorm({d}, eps=0.01) on x * 0.05, compared with nn.LayerNorm({d}, eps=0.01)",
                      ours(x), ref(x), "Store eps in __init__ and use it in forward.")
        ours, ref, _ = paired_norm(ns, "LayerNorm", d, 6)
        stored.expect("LayerNorm", f"LayerNorm({d}) on a 2-D input of shape (5, {d}), compared with nn.LayerNorm({d})",
                      ours(base[0]), ref(base[0]), "Reduce over the last axis only (dim=-1, keepdim=True).")


@lesson.exercise("RMSNorm", points=2,
                 hint="Divide x by √(mean of x² over the last axis + eps), without subtracting the mean, then "
                      "multiply by self.weight.")
def rms_norm(ns: Namespace) -> None:
    d = 8
    base = randn(2, 5, d, seed=7) + 2  # a clear non-zero mean
    _practice_norm(ns, "RMSNorm", d, 1e-5, 7, base, RMS_INPUTS, RMS_HINT)
    with torch.no_grad():
        ours, ref, _ = paired_norm(ns, "RMSNorm", d, 7, eps=0.1)
        x = base * 1e-3
        stored.expect("RMSNorm", f"RMSNorm({d}, eps=0.1) on x * 1e-3, compared with nn.RMSNorm({d}, eps=0.1)",
                      ours(x), ref(x), "Store eps in __init__ and use it in forward.")


# ---------------------------------------------------------------- 7. Block

BLOCK_HINT = ("Name the submodules attn (CausalSelfAttention), norm1, ffn (FeedForward), norm2 and dropout, "
              "as in the exercise text.")


def reference_layer(norm_first: bool, seed: int) -> nn.TransformerEncoderLayer:
    """PyTorch's encoder layer, configured like the lesson's block, with non-trivial norms and biases."""
    torch.manual_seed(seed)
    ref = nn.TransformerEncoderLayer(D, H, dim_feedforward=4 * D, dropout=0.0, activation="gelu",
                                     batch_first=True, norm_first=norm_first)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # so that every mistake shows
        for p in ref.parameters():
            if p.dim() == 1:
                p.add_(0.3 * torch.randn(p.shape, generator=g))
    return ref


def layer_pairs(ref: nn.TransformerEncoderLayer) -> list[tuple[str, torch.Tensor]]:
    """Our Block's parameter names and the reference tensors they correspond to."""
    return [("attn.in_proj.weight", ref.self_attn.in_proj_weight), ("attn.in_proj.bias", ref.self_attn.in_proj_bias),
            ("attn.out_proj.weight", ref.self_attn.out_proj.weight), ("attn.out_proj.bias", ref.self_attn.out_proj.bias),
            ("ffn.linear1.weight", ref.linear1.weight), ("ffn.linear1.bias", ref.linear1.bias),
            ("ffn.linear2.weight", ref.linear2.weight), ("ffn.linear2.bias", ref.linear2.bias),
            ("norm1.weight", ref.norm1.weight), ("norm1.bias", ref.norm1.bias),
            ("norm2.weight", ref.norm2.weight), ("norm2.bias", ref.norm2.bias)]


def load_block(ns: Namespace, ref: nn.TransformerEncoderLayer, norm_first: bool) -> tuple[nn.Module, list]:
    """Build the learner's Block and copy the reference's weights into it; (block, [(name, ours, theirs)])."""
    owner = f"Block({D}, {H}, norm_first={norm_first})"
    block = module(ns, "Block", D, H, norm_first=norm_first)
    pairs = []
    for path, src in layer_pairs(ref):
        ours = param(block, path, tuple(src.shape), owner, BLOCK_HINT)
        with torch.no_grad():
            ours.copy_(src)
        pairs.append((path, ours, src))
    n_ours, n_ref = sum(p.numel() for p in block.parameters()), sum(p.numel() for p in ref.parameters())
    if n_ours != n_ref:
        raise CheckFailure(f"{owner} has {n_ours} parameters, nn.TransformerEncoderLayer has {n_ref}.",
                           "One attention, one FFN with d_ff = 4 * d_model, two LayerNorms, nothing else.")
    return block, pairs


def check_submodules(block: nn.Module, ref: nn.TransformerEncoderLayer, x: torch.Tensor) -> None:
    """Before blaming the block, make sure its parts compute what PyTorch's layer computes with them:
    norm1 and norm2 what its nn.LayerNorms compute (also on a small input), ffn its feed-forward block."""
    with torch.no_grad():
        for name, theirs in (("norm1", ref.norm1), ("norm2", ref.norm2)):
            if not all(close(getattr(block, name)(z), theirs(z), check_dtype=True) for z in (x, x * 1e-3)):
                raise CheckFailure(f"Block.{name} does not compute nn.LayerNorm: fix LayerNorm first "
                                   "(its own check must pass).", "Use LayerNorm(d_model) for norm1 and norm2.")
        ref_ffn = getattr(ref, "_ff_block", None)   # PyTorch's own linear1 -> activation -> linear2
        if ref_ffn is not None and not close(block.ffn(x), ref_ffn(x), check_dtype=True):
            raise CheckFailure("Block.ffn does not compute linear1 -> GELU -> linear2: fix FeedForward first "
                               "(its own check must pass).", "Use your FeedForward, with d_ff and dropout, for ffn.")


def causal_src_mask() -> torch.Tensor:
    return nn.Transformer.generate_square_subsequent_mask(T)


def check_d_ff_passed_on(ns: Namespace) -> None:
    wide = module(ns, "Block", D, H, d_ff=24)
    w1 = getattr(getattr(getattr(wide, "ffn", None), "linear1", None), "weight", None)
    if not (isinstance(w1, torch.Tensor) and tuple(w1.shape) == (24, D)):
        raise CheckFailure(f"Block({D}, {H}, d_ff=24).ffn.linear1.weight should have shape (24, {D}), "
                           f"got {describe(w1)}.", "Pass d_ff (and dropout) on to the FeedForward you create.")


@lesson.exercise("Block", points=4,
                 hint="Pre-norm: each sublayer reads norm(x) and its output is added to x itself. Post-norm: add the "
                      "sublayer's output to x first, then normalise the sum.")
def block(ns: Namespace) -> None:
    for seed, norm_first in enumerate((True, False)):
        ref = reference_layer(norm_first, seed)
        ours, pairs = load_block(ns, ref, norm_first)
        x = randn(3, T, D, seed=10 + seed)
        check_submodules(ours, ref, x)
        for mode in ("train", "eval"):
            ours.train(mode == "train")
            ref.train(mode == "train")
            ours.zero_grad()
            ref.zero_grad()
            xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
            what = (f"Block({D}, {H}, norm_first={norm_first}) in {mode} mode on x of shape (3, {T}, {D}), compared "
                    f"with nn.TransformerEncoderLayer(norm_first={norm_first}) and a causal mask")
            got, want = ours(xa), ref(xb, src_mask=causal_src_mask(), is_causal=True)
            stored.expect("Block", what, got, want.detach())
            backward_both(got, want, seed=20 + seed)
            expect_same_grads([("x", xa, xb)] + [(f"Block.{path}", mine, src) for path, mine, src in pairs], what)
        with torch.no_grad():  # eval without gradients: PyTorch may take its fused fast path
            ours.eval()
            ref.eval()
            expect_close(ours(x), ref(x, src_mask=causal_src_mask(), is_causal=True),
                         f"Block(norm_first={norm_first}) in eval mode under torch.no_grad(), compared with "
                         "nn.TransformerEncoderLayer")
    check_d_ff_passed_on(ns)


# ---------------------------------------------------------------- 8. dropout

@lesson.exercise("dropout_train_eval", points=1,
                 hint="Use nn.Dropout modules (they follow .train()/.eval()) in Block and FeedForward.")
def dropout_train_eval(ns: Namespace) -> None:
    torch.manual_seed(0)
    ours = module(ns, "Block", D, H, dropout=0.5)
    x = randn(2, T, D, seed=30)
    with torch.no_grad():
        ours.train()
        y1, y2 = ours(x), ours(x)
        if not isinstance(y1, torch.Tensor) or tuple(y1.shape) != tuple(x.shape):
            raise CheckFailure(f"Block({D}, {H}, dropout=0.5)(x) should be a tensor of shape {tuple(x.shape)}, "
                               f"got {describe(y1)}.")
        if torch.equal(y1, y2):
            raise CheckFailure("In train mode, two forward passes of Block(dropout=0.5) gave identical outputs: "
                               "dropout is not applied.",
                               "Create nn.Dropout(dropout) in Block (for the attention output) and pass dropout "
                               "to FeedForward, which applies its own nn.Dropout.")
        ours.eval()
        y3, y4 = ours(x), ours(x)
        if not torch.equal(y3, y4):
            raise CheckFailure("In eval mode, two forward passes of Block(dropout=0.5) differ: dropout is still "
                               "active in eval mode.",
                               "Use nn.Dropout modules, or F.dropout(x, p, training=self.training): dropout must "
                               "switch off after model.eval().")
        plain = module(ns, "Block", D, H, dropout=0.0)
        plain.load_state_dict(ours.state_dict())
        plain.eval()
        expect_close(y3, plain(x), "In eval mode, Block(dropout=0.5) compared with the same weights at dropout=0.0",
                     "In eval mode dropout must be the identity: no zeroing, no scaling.")

        p, d = 0.25, 8
        ff = module(ns, "FeedForward", d, dropout=p)
        xs = randn(1, 3, d, seed=31)
        ff.eval()
        y_eval = ff(xs)
        ff.train()
        torch.manual_seed(1)
        y_mean = ff(xs.expand(20000, 3, d)).mean(0, keepdim=True)
        size = y_eval.norm()
        if (y_mean - y_eval).norm() > 0.05 * size:
            if (y_mean - (1 - p) * y_eval).norm() < 0.05 * size:
                raise CheckFailure(f"FeedForward(dropout={p}) in train mode averages to (1 - p) times its eval "
                                   "output: the kept values are not rescaled.",
                                   "Scale the kept values by 1/(1-p) (inverted dropout); nn.Dropout does it for you.")
            raise CheckFailure(f"The average of 20,000 train-mode outputs of FeedForward(dropout={p}) should equal "
                               f"its eval-mode output.\n    expected {describe(y_eval)}\n    but got  {describe(y_mean)}",
                               "Use nn.Dropout(dropout): it zeroes with probability p and scales the rest by 1/(1-p).")
