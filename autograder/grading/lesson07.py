"""Grading checks for lesson 07 — the transformer block (FFN, GELU, LayerNorm, RMSNorm, add & norm).

References come from PyTorch itself: ``F.linear``, ``F.gelu`` (exact and tanh), ``nn.LayerNorm``,
``nn.RMSNorm`` and ``nn.TransformerEncoderLayer`` with weights copied across (values and
gradients).  Known mistakes are recognised by computing the buggy variant next to the reference
(:class:`~autograder.feedback.Mistake`; the block's from :mod:`autograder.reference.transformer_block`)
and named in the message.  Dropout is checked by its properties in the practice tier alone.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import Mistake, expect_close
from ..reference.transformer_block import block_forward
from ..registry import CheckFailure, Namespace

from ..practice.lesson07 import (D, H, T, backward_both, causal_src_mask, check_d_ff_passed_on, check_submodules,
                                 expect_same_grads,
                                 ffn_layers, gelu_inputs, lesson, load_block, module, norm_params, randn,
                                 reference_layer)


# ---------------------------------------------------------------- 1. linear

@lesson.grading("linear")
def check_linear(ns: Namespace) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, generator=g)
    for w_shape in [(4, 4), (5, 4)]:
        weight = torch.randn(*w_shape, generator=g)
        bias = torch.randn(w_shape[0], generator=g)
        xa, wa, ba = (t.clone().requires_grad_() for t in (x, weight, bias))
        xb, wb, bb = (t.clone().requires_grad_() for t in (x, weight, bias))
        got = ns.linear(xa, wa, ba)
        want = F.linear(xb, wb, bb)
        mistakes = []
        if w_shape[0] == w_shape[1]:
            mistakes = [
                Mistake(x @ weight + bias, "this is x @ weight + bias: the weight was not transposed.",
                        "nn.Linear stores weight as (out_features, in_features), one row per neuron: multiply x by "
                        "the transpose of weight."),
                Mistake(x @ weight.T, "the bias is missing: the sum products are right, but nothing was added.",
                        "Add the bias after the matrix product."),
                Mistake(x @ weight, "the weight was not transposed and the bias is missing.",
                        "Multiply x by the transpose of weight, then add the bias."),
            ]
        expect_close(got, want.detach(), f"linear(x of shape {tuple(x.shape)}, weight of shape {w_shape}, bias)",
                     mistakes=mistakes)
        gout = torch.randn(want.shape, generator=g)
        (got * gout).sum().backward()
        (want * gout).sum().backward()
        expect_same_grads([("x", xa, xb), ("weight", wa, wb), ("bias", ba, bb)], "linear", rtol=1e-5)


# ---------------------------------------------------------------- 2-3. GELU

def _check_gelu(ns: Namespace, name: str, approximate: str, mistakes_for: Callable[[torch.Tensor], list[Mistake]]) -> None:
    fn = getattr(ns, name)
    x = gelu_inputs()
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    got = fn(xa)
    want = F.gelu(xb, approximate=approximate)
    label = "F.gelu(x)" if approximate == "none" else 'F.gelu(x, approximate="tanh")'
    expect_close(got, want.detach(), f"{name}(x) compared with {label}", mistakes=mistakes_for(x))
    (got * torch.cos(x)).sum().backward()
    (want * torch.cos(x)).sum().backward()
    expect_same_grads([("x", xa, xb)], name, rtol=1e-5)
    x2 = randn(3, 4, 5, seed=2, dtype=torch.float64)
    expect_close(fn(x2), F.gelu(x2, approximate=approximate), f"{name} on a float64 tensor of shape (3, 4, 5)",
                 "Use torch functions element-wise, so any shape and dtype works.", atol=1e-10, rtol=1e-10)


def _exact_mistakes(x: torch.Tensor) -> list[Mistake]:
    return [
        Mistake(0.5 * x * (1 + torch.erf(x)), "this is x/2 (1 + erf(x)): the argument of erf must be x / sqrt(2).",
                "Phi(x) = (1 + erf(x / sqrt(2))) / 2 is the normal CDF."),
        Mistake(F.gelu(x, approximate="tanh"), "this is the tanh approximation, not the exact form.",
                "The exact GELU uses torch.erf: x/2 * (1 + erf(x / sqrt(2)))."),
        Mistake(torch.relu(x), "this is ReLU, not GELU.", "GELU(x) = x * Phi(x) = x/2 * (1 + erf(x / sqrt(2)))."),
        Mistake(x * torch.sigmoid(1.702 * x), "this is the sigmoid approximation x * sigmoid(1.702 x), not the exact form.",
                "Use torch.erf: x/2 * (1 + erf(x / sqrt(2)))."),
    ]


def _tanh_mistakes(x: torch.Tensor) -> list[Mistake]:
    c = math.sqrt(2 / math.pi)
    return [
        Mistake(0.5 * x * (1 + torch.tanh(c * x)), "the cubic term is missing: tanh's argument must be "
                "sqrt(2/pi) * (x + 0.044715 * x**3).", "Add 0.044715 times x cubed inside the parentheses."),
        Mistake(F.gelu(x), "this is the exact (erf) GELU, not the tanh approximation.",
                "Use torch.tanh, with the formula of the text."),
        Mistake(0.5 * x * (1 + torch.tanh(math.sqrt(2 * math.pi) * (x + 0.044715 * x ** 3))),
                "the scale inside tanh should be sqrt(2/pi) ≈ 0.798, not sqrt(2*pi).", "The constant is √(2/π)."),
    ]


@lesson.grading("gelu_exact")
def check_gelu_exact(ns: Namespace) -> None:
    _check_gelu(ns, "gelu_exact", "none", _exact_mistakes)


@lesson.grading("gelu_tanh")
def check_gelu_tanh(ns: Namespace) -> None:
    _check_gelu(ns, "gelu_tanh", "tanh", _tanh_mistakes)


# ---------------------------------------------------------------- 4. FeedForward

def _randomise_(ff: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in ff.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


@lesson.grading("FeedForward")
def check_feedforward(ns: Namespace) -> None:
    d = 16
    ff, p = ffn_layers(ns, d)
    _randomise_(ff, 3)
    ff.train()  # dropout is 0 by default, so train mode must be deterministic too
    w1, b1, w2, b2 = (p[k].detach().clone().requires_grad_() for k in
                      ("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"))
    x = torch.randn(2, 5, d, generator=torch.Generator().manual_seed(4)) * 2
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    got = ff(xa)
    want = F.linear(F.gelu(F.linear(xb, w1, b1)), w2, b2)
    with torch.no_grad():
        h = F.linear(x, w1, b1)
        mistakes = [
            Mistake(F.linear(torch.relu(h), w2, b2), "this output comes from ReLU, not GELU: the activation was "
                    "replaced by ReLU.",
                    "The transformer FFN here uses GELU: F.gelu (or your gelu_exact) between the two linear layers."),
            Mistake(F.linear(F.gelu(h, approximate="tanh"), w2, b2),
                    "this is the tanh approximation of GELU; nn.TransformerEncoderLayer(activation='gelu') uses the "
                    "exact one.", "Use F.gelu(h) (exact) or your gelu_exact."),
            Mistake(F.linear(h, w2, b2), "there is no activation between the two linear layers, so the FFN is a "
                    "single linear map.", "Apply F.gelu between linear1 and linear2."),
        ]
    expect_close(got, want.detach(), f"FeedForward({d}) on x of shape {tuple(x.shape)}",
                 "linear1 -> GELU -> linear2, applied to the last axis.", mistakes)
    gout = torch.randn(want.shape, generator=torch.Generator().manual_seed(5))
    (got * gout).sum().backward()
    (want * gout).sum().backward()
    expect_same_grads([("x", xa, xb)] + [(k, p[k], ref) for k, ref in
                                         zip(("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"),
                                             (w1, b1, w2, b2))], "FeedForward")


# ---------------------------------------------------------------- 5-6. LayerNorm, RMSNorm

def _ln_mistakes(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> list[Mistake]:
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, correction=0)
    var1 = x.var(-1, keepdim=True, correction=1)

    def gain(z: torch.Tensor) -> torch.Tensor:
        return weight * z + bias

    return [
        Mistake(gain((x - mean) / (var.sqrt() + eps)),
                "this is (x - mean) / (std + eps), with eps added to the standard deviation. eps belongs inside the "
                "square root, added to the variance: (x - mean) / sqrt(var + eps).",
                "The two differ little when the variance is large, but very much when it is close to eps, as for "
                "this input (x * 1e-3): sqrt(var + eps) never drops below sqrt(eps), while std + eps can shrink "
                "towards eps. Add eps to the biased variance first, then take the square root."),
        Mistake(gain((x - mean) / torch.sqrt(var1 + eps)),
                "the variance is the unbiased one (divided by d - 1); LayerNorm uses the biased variance (divided by d).",
                "x.var(-1, keepdim=True, correction=0), or ((x - mean)**2).mean(-1, keepdim=True)."),
        Mistake(gain((x - mean) / (var1.sqrt() + eps)),
                "two mistakes: the unbiased variance (divided by d - 1) and eps outside the square root.",
                "Use the biased variance (correction=0) and put eps inside the square root: sqrt(var + eps)."),
        Mistake((x - mean) / torch.sqrt(var + eps),
                "the learnable gain and bias are not applied.", "Multiply by self.weight and add self.bias at the end."),
        Mistake(gain((x - mean) / var.sqrt()), "eps is missing.", "Add self.eps to the variance under the square root."),
        Mistake(gain(x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)),
                "this is RMSNorm: LayerNorm also subtracts the mean.", "Centre first: x - x.mean(-1, keepdim=True)."),
    ]


@lesson.grading("LayerNorm")
def check_layernorm(ns: Namespace) -> None:
    d = 8
    ln = module(ns, "LayerNorm", d)
    params = norm_params(ln, "LayerNorm", d, ("weight", "bias"))
    g = torch.Generator().manual_seed(6)
    with torch.no_grad():
        params["weight"].copy_(1 + 0.5 * torch.randn(d, generator=g))
        params["bias"].copy_(0.5 * torch.randn(d, generator=g))
    ref = nn.LayerNorm(d, eps=1e-5)
    with torch.no_grad():
        ref.weight.copy_(params["weight"])
        ref.bias.copy_(params["bias"])
    base = torch.randn(2, 5, d, generator=g) * 3 + 1
    for scale, label, tol in [(1.0, "x", 1e-4), (1e-3, "x * 1e-3 (variance close to eps)", 1e-3)]:
        x = base * scale
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        got, want = ln(xa), ref(xb)
        expect_close(got, want.detach(), f"LayerNorm({d}) on {label}, compared with nn.LayerNorm({d})",
                     "Normalise over the last axis: (x - mean) / sqrt(var + eps), biased var, then weight * ... + bias.",
                     _ln_mistakes(x, ref.weight.detach(), ref.bias.detach(), 1e-5))
        gout = torch.randn(want.shape, generator=g)
        (got * gout).sum().backward()
        (want * gout).sum().backward()
        expect_same_grads([("x", xa, xb), ("weight", params["weight"], ref.weight), ("bias", params["bias"], ref.bias)],
                          f"LayerNorm on {label}", atol=tol)
        ln.zero_grad()
        ref.zero_grad()
    # the eps argument is honoured
    ln2, ref2 = module(ns, "LayerNorm", d, eps=1e-2), nn.LayerNorm(d, eps=1e-2)
    x = base * 0.05
    with torch.no_grad():
        got, want = ln2(x), ref2(x)
    expect_close(got, want, f"LayerNorm({d}, eps=0.01) compared with nn.LayerNorm({d}, eps=0.01)",
                 mistakes=[Mistake(F.layer_norm(x, (d,), eps=1e-5), "the eps argument was ignored (this is eps=1e-5).",
                                   "Keep the eps argument in __init__ and use it in forward instead of a fixed 1e-5.")])
    # a 2-D input works too
    x2 = base[0]
    with torch.no_grad():
        expect_close(ln(x2), ref(x2), f"LayerNorm({d}) on a 2-D input of shape {tuple(x2.shape)}",
                     "Reduce over the last axis only (dim=-1, keepdim=True).")


@lesson.grading("RMSNorm")
def check_rmsnorm(ns: Namespace) -> None:
    d = 8
    rms = module(ns, "RMSNorm", d, eps=1e-5)
    params = norm_params(rms, "RMSNorm", d, ("weight",))
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        params["weight"].copy_(1 + 0.5 * torch.randn(d, generator=g))
    ref = nn.RMSNorm(d, eps=1e-5)
    with torch.no_grad():
        ref.weight.copy_(params["weight"])
    weight = ref.weight.detach()
    base = torch.randn(2, 5, d, generator=g) + 2  # a clear non-zero mean
    for scale, label, tol in [(1.0, "x", 1e-4), (3e-3, "x * 3e-3 (mean square close to eps)", 1e-3)]:
        x = base * scale
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        got, want = rms(xa), ref(xb)
        ms = x.pow(2).mean(-1, keepdim=True)
        centred = x - x.mean(-1, keepdim=True)
        mistakes = [
            Mistake(weight * centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + 1e-5),
                    "the mean was subtracted: that is LayerNorm. RMSNorm does not subtract the mean.",
                    "Divide x itself by sqrt(mean(x**2) + eps); no centring."),
            Mistake(weight * x / (ms.sqrt() + 1e-5), "eps is outside the square root: use sqrt(mean(x**2) + eps).",
                    "Add eps to the mean of the squares, then take the square root (or torch.rsqrt)."),
            Mistake(weight * x / torch.sqrt(x.pow(2).sum(-1, keepdim=True) + 1e-5),
                    "this divides by the root of the *sum* of squares; RMSNorm uses the *mean* of the squares.",
                    "Average the squares over the last axis instead of summing them."),
            Mistake(x * torch.rsqrt(ms + 1e-5), "the learnable gain (self.weight) is not applied.",
                    "Multiply the normalised x by self.weight."),
        ]
        expect_close(got, want.detach(), f"RMSNorm({d}, eps=1e-5) on {label}, compared with nn.RMSNorm",
                     mistakes=mistakes)
        gout = torch.randn(want.shape, generator=g)
        (got * gout).sum().backward()
        (want * gout).sum().backward()
        expect_same_grads([("x", xa, xb), ("weight", params["weight"], ref.weight)], f"RMSNorm on {label}", atol=tol)
        rms.zero_grad()
        ref.zero_grad()
    x = base * 1e-3
    with torch.no_grad():
        got, want = module(ns, "RMSNorm", d, eps=0.1)(x), nn.RMSNorm(d, eps=0.1)(x)
    expect_close(got, want, f"RMSNorm({d}, eps=0.1) compared with nn.RMSNorm({d}, eps=0.1)",
                 "Store eps in __init__ and use self.eps in forward.")


# ---------------------------------------------------------------- 7. Block

def _block_mistakes(ref: nn.TransformerEncoderLayer, x: torch.Tensor, norm_first: bool) -> list[Mistake]:
    with torch.no_grad():
        if norm_first:
            named = [
                Mistake(block_forward(ref, x, False),
                        "with norm_first=True your block computes norm(x + sublayer(x)): the residual is added "
                        "before the norm, which is post-norm. Pre-norm normalises only the sublayer's input.",
                        "Pre-norm: each sublayer reads norm(x), and its output is added to x itself; the sum is not "
                        "normalised."),
                Mistake(block_forward(ref, x, True, residual_from_norm=True),
                        "with norm_first=True your block adds each sublayer's output to the normalised x, "
                        "norm(x) + sublayer(norm(x)): the residual is taken after the norm. In pre-norm the "
                        "residual stream x itself is never normalised.",
                        "Keep x and its normalised copy apart: the norm's output goes only into the sublayer, and "
                        "the sublayer's output is added to x as it came in (for attention with norm1 and for the "
                        "FFN with norm2)."),
            ]
        else:
            named = [Mistake(block_forward(ref, x, True),
                             "with norm_first=False your block computes x + sublayer(norm(x)), which is pre-norm. "
                             "Post-norm adds first and normalises the sum.",
                             "Post-norm: add the sublayer's output to x, then apply the norm to that sum.")]
        named += [
            Mistake(block_forward(ref, x, norm_first, residual=False),
                    "the skip connection is missing: each sublayer's output replaces x instead of being added to it.",
                    "Add the sublayer's output to its input: x + ... (that is the 'add' in add & norm)."),
            Mistake(block_forward(ref, x, norm_first, causal=False),
                    "tokens attend to future positions: the causal mask is missing.",
                    "Use the provided CausalSelfAttention for self.attn."),
            Mistake(block_forward(ref, x, norm_first, swap_norms=True),
                    "norm1 and norm2 are swapped: norm1 belongs to the attention sublayer, norm2 to the FFN.",
                    "Keep nn.TransformerEncoderLayer's convention: norm1 with attention, norm2 with the FFN."),
        ]
    return named


@lesson.grading("Block")
def check_block(ns: Namespace) -> None:
    for seed, norm_first in enumerate((True, False)):
        ref = reference_layer(norm_first, seed)
        block, pairs = load_block(ns, ref, norm_first)
        x = torch.randn(3, T, D, generator=torch.Generator().manual_seed(10 + seed))
        check_submodules(block, ref, x)
        for mode in ("train", "eval"):
            block.train(mode == "train")
            ref.train(mode == "train")
            block.zero_grad()
            ref.zero_grad()
            xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
            got = block(xa)
            want = ref(xb, src_mask=causal_src_mask(), is_causal=True)
            what = (f"Block({D}, {H}, norm_first={norm_first}) in {mode} mode, compared with "
                    f"nn.TransformerEncoderLayer(norm_first={norm_first})")
            expect_close(got, want.detach(), what, mistakes=lambda: _block_mistakes(ref, x, norm_first))
            backward_both(got, want, seed=20 + seed)
            expect_same_grads([("x", xa, xb)] + [(f"Block.{path}", ours, src) for path, ours, src in pairs], what)
        with torch.no_grad():  # eval without gradients: PyTorch may take its fused fast path
            block.eval()
            ref.eval()
            expect_close(block(x), ref(x, src_mask=causal_src_mask(), is_causal=True),
                         f"Block(norm_first={norm_first}) in eval mode under torch.no_grad()")
    check_d_ff_passed_on(ns)
