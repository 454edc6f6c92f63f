"""Checks for lesson 07 — the transformer block (FFN, GELU, LayerNorm, RMSNorm, add & norm).

References come from PyTorch itself: ``F.linear``, ``F.gelu`` (exact and tanh),
``nn.LayerNorm``, ``nn.RMSNorm`` and ``nn.TransformerEncoderLayer`` with weights copied across.
Known mistakes are recognised by computing the buggy variant next to the reference and
comparing the learner's output with both.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import describe, expect_tensor_close
from ..registry import CheckFailure, Namespace

from ..practice.lesson07 import lesson


# ---------------------------------------------------------------- helpers

def _close(got, want, atol: float = 1e-5, rtol: float = 1e-5) -> bool:
    return (isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(want.shape)
            and got.dtype == want.dtype
            and torch.allclose(got.detach(), want.detach(), atol=atol, rtol=rtol))


def _compare(got, want, what: str, variants=(), hint: str = "", atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """Compare with the reference; if ``got`` matches a known mistake instead, name it.

    ``variants`` holds ``(wrong_output, message, hint)``: what a known mistake computes (or is a
    function returning that list, called only when the output is wrong).
    """
    if not _close(got, want, atol, rtol):
        for wrong, message, wrong_hint in (variants() if callable(variants) else variants):
            if _close(got, wrong, atol, rtol):
                raise CheckFailure(f"{what}: {message}\n    expected {describe(want)}\n    but got  {describe(got)}",
                                   wrong_hint)
    expect_tensor_close(got, want, what, hint, atol, rtol)


def _module(ns: Namespace, name: str, *args, **kwargs) -> nn.Module:
    """Instantiate the learner's class and make sure it is an nn.Module."""
    call = f"{name}({', '.join([repr(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"
    module = getattr(ns, name)(*args, **kwargs)
    if not isinstance(module, nn.Module):
        raise CheckFailure(f"{call} should be an nn.Module, but got {describe(module)}.",
                           f"Write `class {name}(nn.Module):` and call super().__init__() first.")
    return module


def _param(module: nn.Module, path: str, shape: tuple, owner: str, hint: str = "") -> torch.Tensor:
    """The tensor at ``module.<path>`` (e.g. "ffn.linear1.weight"), checked for shape."""
    obj = module
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise CheckFailure(f"{owner} has no `{path}`.",
                               hint or "Keep the attribute names given in the exercise text.")
    if not isinstance(obj, torch.Tensor):
        raise CheckFailure(f"{owner}.{path} should be a tensor, but got {describe(obj)}.", hint)
    if tuple(obj.shape) != tuple(shape):
        raise CheckFailure(f"{owner}.{path} should have shape {tuple(shape)}, but has shape {tuple(obj.shape)}.", hint)
    return obj


def _grads_close(pairs, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """``pairs``: (name, learner tensor, reference tensor); compares their .grad."""
    for name, ours, ref in pairs:
        if ours.grad is None:
            raise CheckFailure(f"{what}: no gradient reached {name}.",
                               "Compute the output with torch operations from the parameters (no .detach(), "
                               "no .data, no torch.no_grad() in forward).")
        expect_tensor_close(ours.grad, ref.grad, f"{what}: the gradient of {name}",
                            "Values match but gradients do not: is something detached or computed outside autograd?",
                            atol=atol, rtol=rtol)


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
        variants = []
        if w_shape[0] == w_shape[1]:
            variants = [
                (x @ weight + bias, "this is x @ weight + bias: the weight was not transposed.",
                 "nn.Linear stores weight as (out_features, in_features), one row per neuron: use x @ weight.T."),
                (x @ weight.T, "the bias is missing: the sum products are right, but nothing was added.",
                 "Add the bias after the matrix product: x @ weight.T + bias."),
                (x @ weight, "the weight was not transposed and the bias is missing.",
                 "x @ weight.T + bias"),
            ]
        _compare(got, want, f"linear(x of shape {tuple(x.shape)}, weight of shape {w_shape}, bias)", variants)
        gout = torch.randn(want.shape, generator=g)
        (got * gout).sum().backward()
        (want * gout).sum().backward()
        _grads_close([("x", xa, xb), ("weight", wa, wb), ("bias", ba, bb)], "linear")


# ---------------------------------------------------------------- 2-3. GELU

def _gelu_inputs() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.cat([torch.randn(50, generator=g) * 3, torch.linspace(-8, 8, 401)])


def _check_gelu(ns: Namespace, name: str, approximate: str, variants_for) -> None:
    fn = getattr(ns, name)
    x = _gelu_inputs()
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    got = fn(xa)
    want = F.gelu(xb, approximate=approximate)
    label = "F.gelu(x)" if approximate == "none" else 'F.gelu(x, approximate="tanh")'
    _compare(got, want, f"{name}(x) compared with {label}", variants_for(x))
    (got * torch.cos(x)).sum().backward()
    (want * torch.cos(x)).sum().backward()
    _grads_close([("x", xa, xb)], name)
    x2 = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    _compare(fn(x2), F.gelu(x2, approximate=approximate), f"{name} on a float64 tensor of shape (3, 4, 5)",
             hint="Use torch functions element-wise, so any shape and dtype works.", atol=1e-10, rtol=1e-10)


def _exact_variants(x):
    tanh = F.gelu(x, approximate="tanh")
    return [
        (0.5 * x * (1 + torch.erf(x)), "this is x/2 (1 + erf(x)): the argument of erf must be x / sqrt(2).",
         "Phi(x) = (1 + erf(x / sqrt(2))) / 2 is the normal CDF."),
        (tanh, "this is the tanh approximation, not the exact form.",
         "The exact GELU uses torch.erf: x/2 * (1 + erf(x / sqrt(2)))."),
        (torch.relu(x), "this is ReLU, not GELU.", "GELU(x) = x * Phi(x) = x/2 * (1 + erf(x / sqrt(2)))."),
        (x * torch.sigmoid(1.702 * x), "this is the sigmoid approximation x * sigmoid(1.702 x), not the exact form.",
         "Use torch.erf: x/2 * (1 + erf(x / sqrt(2)))."),
    ]


def _tanh_variants(x):
    c = math.sqrt(2 / math.pi)
    return [
        (0.5 * x * (1 + torch.tanh(c * x)), "the cubic term is missing: tanh's argument must be "
         "sqrt(2/pi) * (x + 0.044715 * x**3).", "Add 0.044715 * x**3 inside the parentheses."),
        (F.gelu(x), "this is the exact (erf) GELU, not the tanh approximation.",
         "Use torch.tanh(sqrt(2/pi) * (x + 0.044715 * x**3))."),
        (0.5 * x * (1 + torch.tanh(math.sqrt(2 * math.pi) * (x + 0.044715 * x ** 3))),
         "the scale inside tanh should be sqrt(2/pi) ≈ 0.798, not sqrt(2*pi).", "math.sqrt(2 / math.pi)"),
    ]


@lesson.grading("gelu_exact")
def check_gelu_exact(ns: Namespace) -> None:
    _check_gelu(ns, "gelu_exact", "none", _exact_variants)


@lesson.grading("gelu_tanh")
def check_gelu_tanh(ns: Namespace) -> None:
    _check_gelu(ns, "gelu_tanh", "tanh", _tanh_variants)


# ---------------------------------------------------------------- 4. FeedForward

def _randomise_(module: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


@lesson.grading("FeedForward")
def check_feedforward(ns: Namespace) -> None:
    d = 16
    ff = _module(ns, "FeedForward", d)
    w1 = getattr(getattr(ff, "linear1", None), "weight", None)
    if isinstance(w1, torch.Tensor) and tuple(w1.shape) == (d, d):
        raise CheckFailure(f"FeedForward({d}).linear1 maps {d} -> {d}: the FFN has no 4x expansion "
                           f"(linear1.weight has shape {tuple(w1.shape)}, expected ({4 * d}, {d})).",
                           "d_ff defaults to 4 * d_model: `d_ff = d_ff or 4 * d_model`.")
    hint = "self.linear1 = nn.Linear(d_model, d_ff) and self.linear2 = nn.Linear(d_ff, d_model), d_ff = 4 * d_model by default."
    p = {path: _param(ff, path, shape, f"FeedForward({d})", hint) for path, shape in
         [("linear1.weight", (4 * d, d)), ("linear1.bias", (4 * d,)),
          ("linear2.weight", (d, 4 * d)), ("linear2.bias", (d,))]}
    ff40 = _module(ns, "FeedForward", d, d_ff=40)
    w1 = getattr(getattr(ff40, "linear1", None), "weight", None)
    if not (isinstance(w1, torch.Tensor) and tuple(w1.shape) == (40, d)):
        raise CheckFailure(f"FeedForward({d}, d_ff=40).linear1.weight should have shape (40, {d}), "
                           f"got {describe(w1)}.", "Use the d_ff argument when it is given; default to 4 * d_model only when it is None.")
    n_params = sum(q.numel() for q in ff.parameters())
    if n_params != 8 * d * d + 5 * d:
        raise CheckFailure(f"FeedForward({d}) has {n_params} parameters, expected {8 * d * d + 5 * d} "
                           "(two linear layers with biases and nothing else).")

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
        variants = [
            (F.linear(torch.relu(h), w2, b2), "this output comes from ReLU, not GELU: the activation was replaced by ReLU.",
             "The transformer FFN here uses GELU: F.gelu (or your gelu_exact) between the two linear layers."),
            (F.linear(F.gelu(h, approximate="tanh"), w2, b2),
             "this is the tanh approximation of GELU; nn.TransformerEncoderLayer(activation='gelu') uses the exact one.",
             "Use F.gelu(h) (exact) or your gelu_exact."),
            (F.linear(h, w2, b2), "there is no activation between the two linear layers, so the FFN is a single linear map.",
             "Apply F.gelu between linear1 and linear2."),
        ]
    _compare(got, want, f"FeedForward({d}) on x of shape {tuple(x.shape)}", variants,
             "linear1 -> GELU -> linear2, applied to the last axis.")
    gout = torch.randn(want.shape, generator=torch.Generator().manual_seed(5))
    (got * gout).sum().backward()
    (want * gout).sum().backward()
    _grads_close([("x", xa, xb)] + [(k, p[k], ref) for k, ref in
                                    zip(("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"), (w1, b1, w2, b2))],
                 "FeedForward")


# ---------------------------------------------------------------- 5-6. LayerNorm, RMSNorm

def _norm_params(module: nn.Module, name: str, d: int, names: tuple[str, ...]) -> dict[str, nn.Parameter]:
    """The learnable gain (and bias), checked for type, shape and initial value."""
    params = {}
    for attr, init in (("weight", 1.0), ("bias", 0.0)):
        if attr not in names:
            continue
        role = "gain" if attr == "weight" else "bias"
        value = getattr(module, attr, None)
        if value is None:
            raise CheckFailure(f"{name}({d}) has no attribute `{attr}` (the learnable {role}).",
                               f"Name it exactly self.{attr}, as nn.{name} does, so weights can be copied across.")
        if not isinstance(value, nn.Parameter):
            raise CheckFailure(f"{name}({d}).{attr} should be an nn.Parameter (the learnable {role}), "
                               f"but got {describe(value)}.",
                               f"self.{attr} = nn.Parameter(torch.{'ones' if init else 'zeros'}(d)): a plain "
                               "tensor would not be learned by the optimiser.")
        if tuple(value.shape) != (d,):
            raise CheckFailure(f"{name}({d}).{attr} should have shape ({d},), got {tuple(value.shape)}.")
        if not torch.all(value.detach() == init):
            raise CheckFailure(f"{name}({d}).{attr} should start as all {'ones' if init else 'zeros'}, "
                               f"got {describe(value)}.",
                               "At initialisation the norm should only normalise: gain 1, bias 0.")
        params[attr] = value
    return params


def _ln_variants(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, correction=0)
    var1 = x.var(-1, keepdim=True, correction=1)
    gain = lambda z: weight * z + bias  # noqa: E731
    return [
        (gain((x - mean) / (var.sqrt() + eps)),
         "this is (x - mean) / (std + eps): eps must be added to the variance inside the square root, "
         "sqrt(var + eps).",
         "eps outside the square root is a different function, very different when the variance is close to eps."),
        (gain((x - mean) / torch.sqrt(var1 + eps)),
         "the variance is the unbiased one (divided by d - 1); LayerNorm uses the biased variance (divided by d).",
         "x.var(-1, keepdim=True, correction=0), or ((x - mean)**2).mean(-1, keepdim=True)."),
        (gain((x - mean) / (var1.sqrt() + eps)),
         "two mistakes: the unbiased variance (divided by d - 1) and eps outside the square root.",
         "Use the biased variance (correction=0) and torch.sqrt(var + eps)."),
        ((x - mean) / torch.sqrt(var + eps),
         "the learnable gain and bias are not applied.", "Return self.weight * normalised + self.bias."),
        (gain((x - mean) / var.sqrt()), "eps is missing.", "Divide by torch.sqrt(var + self.eps)."),
        (gain(x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)),
         "this is RMSNorm: LayerNorm also subtracts the mean.", "Centre first: x - x.mean(-1, keepdim=True)."),
    ]


@lesson.grading("LayerNorm")
def check_layernorm(ns: Namespace) -> None:
    d = 8
    ln = _module(ns, "LayerNorm", d)
    params = _norm_params(ln, "LayerNorm", d, ("weight", "bias"))
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
        variants = _ln_variants(x, ref.weight.detach(), ref.bias.detach(), 1e-5)
        _compare(got, want, f"LayerNorm({d}) on {label}, compared with nn.LayerNorm({d})", variants,
                 "Normalise over the last axis: (x - mean) / sqrt(var + eps), biased var, then weight * ... + bias.")
        gout = torch.randn(want.shape, generator=g)
        (got * gout).sum().backward()
        (want * gout).sum().backward()
        _grads_close([("x", xa, xb), ("weight", params["weight"], ref.weight), ("bias", params["bias"], ref.bias)],
                     f"LayerNorm on {label}", atol=tol, rtol=1e-4)
        ln.zero_grad()
        ref.zero_grad()
    # the eps argument is honoured
    ln2, ref2 = _module(ns, "LayerNorm", d, eps=1e-2), nn.LayerNorm(d, eps=1e-2)
    x = base * 0.05
    with torch.no_grad():
        got, want = ln2(x), ref2(x)
    _compare(got, want, f"LayerNorm({d}, eps=0.01) compared with nn.LayerNorm({d}, eps=0.01)",
             [(F.layer_norm(x, (d,), eps=1e-5), "the eps argument was ignored (this is eps=1e-5).",
               "Store eps in __init__ (self.eps = eps) and use self.eps in forward.")])
    # a 2-D input works too
    x2 = base[0]
    _compare(ln(x2), ref(x2), f"LayerNorm({d}) on a 2-D input of shape {tuple(x2.shape)}",
             hint="Reduce over the last axis only (dim=-1, keepdim=True).")


@lesson.grading("RMSNorm")
def check_rmsnorm(ns: Namespace) -> None:
    d = 8
    rms = _module(ns, "RMSNorm", d, eps=1e-5)
    params = _norm_params(rms, "RMSNorm", d, ("weight",))
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
        variants = [
            (weight * centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + 1e-5),
             "the mean was subtracted: that is LayerNorm. RMSNorm does not subtract the mean.",
             "Divide x itself by sqrt(mean(x**2) + eps); no centring."),
            (weight * x / (ms.sqrt() + 1e-5), "eps is outside the square root: use sqrt(mean(x**2) + eps).",
             "torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)"),
            (weight * x / torch.sqrt(x.pow(2).sum(-1, keepdim=True) + 1e-5),
             "this divides by the root of the *sum* of squares; RMSNorm uses the *mean* of the squares.",
             "x.pow(2).mean(-1, keepdim=True)"),
            (x * torch.rsqrt(ms + 1e-5), "the learnable gain (self.weight) is not applied.",
             "Multiply the normalised x by self.weight."),
        ]
        _compare(got, want, f"RMSNorm({d}, eps=1e-5) on {label}, compared with nn.RMSNorm", variants)
        gout = torch.randn(want.shape, generator=g)
        (got * gout).sum().backward()
        (want * gout).sum().backward()
        _grads_close([("x", xa, xb), ("weight", params["weight"], ref.weight)], f"RMSNorm on {label}",
                     atol=tol, rtol=1e-4)
        rms.zero_grad()
        ref.zero_grad()
    x = base * 1e-3
    with torch.no_grad():
        got, want = _module(ns, "RMSNorm", d, eps=0.1)(x), nn.RMSNorm(d, eps=0.1)(x)
    _compare(got, want, f"RMSNorm({d}, eps=0.1) compared with nn.RMSNorm({d}, eps=0.1)",
             hint="Store eps in __init__ and use self.eps in forward.")


# ---------------------------------------------------------------- 7. Block

D, H, T = 16, 4, 7


def _reference_layer(norm_first: bool, seed: int) -> nn.TransformerEncoderLayer:
    torch.manual_seed(seed)
    ref = nn.TransformerEncoderLayer(D, H, dim_feedforward=4 * D, dropout=0.0, activation="gelu",
                                     batch_first=True, norm_first=norm_first)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # non-trivial norms and biases, so that every mistake shows
        for name, p in ref.named_parameters():
            if p.dim() == 1:
                p.add_(0.3 * torch.randn(p.shape, generator=g))
    return ref


def _pairs(ref: nn.TransformerEncoderLayer) -> list[tuple[str, torch.Tensor]]:
    """Our Block's parameter names and the reference tensors they correspond to."""
    return [("attn.in_proj.weight", ref.self_attn.in_proj_weight), ("attn.in_proj.bias", ref.self_attn.in_proj_bias),
            ("attn.out_proj.weight", ref.self_attn.out_proj.weight), ("attn.out_proj.bias", ref.self_attn.out_proj.bias),
            ("ffn.linear1.weight", ref.linear1.weight), ("ffn.linear1.bias", ref.linear1.bias),
            ("ffn.linear2.weight", ref.linear2.weight), ("ffn.linear2.bias", ref.linear2.bias),
            ("norm1.weight", ref.norm1.weight), ("norm1.bias", ref.norm1.bias),
            ("norm2.weight", ref.norm2.weight), ("norm2.bias", ref.norm2.bias)]


def _block_fn(ref: nn.TransformerEncoderLayer, x: torch.Tensor, norm_first: bool, *, causal: bool = True,
              residual: bool = True, swap_norms: bool = False) -> torch.Tensor:
    """The block computed from the reference's weights, optionally with a known mistake."""
    sa = ref.self_attn
    B, n, C = x.shape

    def attn(z):
        q, k, v = F.linear(z, sa.in_proj_weight, sa.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.view(B, n, H, C // H).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C // H)
        if causal:
            scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
        return F.linear((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, n, C), sa.out_proj.weight, sa.out_proj.bias)

    def ffn(z):
        return ref.linear2(F.gelu(ref.linear1(z)))

    n1, n2 = (ref.norm2, ref.norm1) if swap_norms else (ref.norm1, ref.norm2)
    keep = 1.0 if residual else 0.0
    if norm_first:
        x = keep * x + attn(n1(x))
        return keep * x + ffn(n2(x))
    x = n1(keep * x + attn(x))
    return n2(keep * x + ffn(x))


def _block_variants(ref, x, norm_first):
    with torch.no_grad():
        if norm_first:
            named = [(_block_fn(ref, x, False),
                      "with norm_first=True your block computes norm(x + sublayer(x)): the residual is added "
                      "before the norm, which is post-norm. Pre-norm normalises only the sublayer's input.",
                      "Pre-norm: x = x + self.dropout(self.attn(self.norm1(x))); x = x + self.ffn(self.norm2(x)).")]
        else:
            named = [(_block_fn(ref, x, True),
                      "with norm_first=False your block computes x + sublayer(norm(x)), which is pre-norm. "
                      "Post-norm adds first and normalises the sum.",
                      "Post-norm: x = self.norm1(x + self.dropout(self.attn(x))); x = self.norm2(x + self.ffn(x)).")]
        named += [
            (_block_fn(ref, x, norm_first, residual=False),
             "the skip connection is missing: each sublayer's output replaces x instead of being added to it.",
             "Add the sublayer's output to its input: x + ... (that is the 'add' in add & norm)."),
            (_block_fn(ref, x, norm_first, causal=False),
             "tokens attend to future positions: the causal mask is missing.",
             "Use the provided CausalSelfAttention for self.attn."),
            (_block_fn(ref, x, norm_first, swap_norms=True),
             "norm1 and norm2 are swapped: norm1 belongs to the attention sublayer, norm2 to the FFN.",
             "Keep nn.TransformerEncoderLayer's convention: norm1 with attention, norm2 with the FFN."),
        ]
    return named


def _load_block(ns: Namespace, ref: nn.TransformerEncoderLayer, norm_first: bool) -> tuple[nn.Module, list]:
    """Build the learner's Block and copy the reference's weights into it."""
    owner = f"Block({D}, {H}, norm_first={norm_first})"
    block = _module(ns, "Block", D, H, norm_first=norm_first)
    hint = ("Name the submodules attn (CausalSelfAttention), norm1, ffn (FeedForward), norm2, "
            "as in the exercise text.")
    pairs = []
    for path, src in _pairs(ref):
        ours = _param(block, path, tuple(src.shape), owner, hint)
        with torch.no_grad():
            ours.copy_(src)
        pairs.append((path, ours, src))
    n_ours, n_ref = sum(p.numel() for p in block.parameters()), sum(p.numel() for p in ref.parameters())
    if n_ours != n_ref:
        raise CheckFailure(f"{owner} has {n_ours} parameters, nn.TransformerEncoderLayer has {n_ref}.",
                           "One attention, one FFN with d_ff = 4 * d_model, two LayerNorms, nothing else.")
    return block, pairs


def _check_submodules(block: nn.Module, ref: nn.TransformerEncoderLayer, x: torch.Tensor) -> None:
    """Before blaming the block, make sure its parts compute what they should."""
    with torch.no_grad():
        for name, theirs in (("norm1", ref.norm1), ("norm2", ref.norm2)):
            if not all(_close(getattr(block, name)(z), theirs(z)) for z in (x, x * 1e-3)):
                raise CheckFailure(f"Block.{name} does not compute nn.LayerNorm: fix LayerNorm first "
                                   "(its own check must pass).", "Use LayerNorm(d_model) for norm1 and norm2.")
        if not _close(block.ffn(x), ref.linear2(F.gelu(ref.linear1(x)))):
            raise CheckFailure("Block.ffn does not compute linear1 -> GELU -> linear2: fix FeedForward first "
                               "(its own check must pass).", "Use FeedForward(d_model, d_ff, dropout) for ffn.")


@lesson.grading("Block")
def check_block(ns: Namespace) -> None:
    mask = nn.Transformer.generate_square_subsequent_mask(T)
    for seed, norm_first in enumerate((True, False)):
        ref = _reference_layer(norm_first, seed)
        block, pairs = _load_block(ns, ref, norm_first)
        x = torch.randn(3, T, D, generator=torch.Generator().manual_seed(10 + seed))
        _check_submodules(block, ref, x)
        for mode in ("train", "eval"):
            block.train(mode == "train")
            ref.train(mode == "train")
            block.zero_grad()
            ref.zero_grad()
            xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
            got = block(xa)
            want = ref(xb, src_mask=mask, is_causal=True)
            what = (f"Block({D}, {H}, norm_first={norm_first}) in {mode} mode, compared with "
                    f"nn.TransformerEncoderLayer(norm_first={norm_first})")
            _compare(got, want, what, lambda: _block_variants(ref, x, norm_first))
            gout = torch.randn(want.shape, generator=torch.Generator().manual_seed(20 + seed))
            (got * gout).sum().backward()
            (want * gout).sum().backward()
            _grads_close([("x", xa, xb)] + [(f"Block.{path}", ours, src) for path, ours, src in pairs],
                         what, atol=1e-5, rtol=1e-4)
        with torch.no_grad():  # eval without gradients: PyTorch may take its fused fast path
            block.eval()
            ref.eval()
            _compare(block(x), ref(x, src_mask=mask, is_causal=True),
                     f"Block(norm_first={norm_first}) in eval mode under torch.no_grad()")
    # d_ff is passed on to the FFN
    wide = _module(ns, "Block", D, H, d_ff=24)
    w1 = getattr(getattr(getattr(wide, "ffn", None), "linear1", None), "weight", None)
    if not (isinstance(w1, torch.Tensor) and tuple(w1.shape) == (24, D)):
        raise CheckFailure(f"Block({D}, {H}, d_ff=24).ffn.linear1.weight should have shape (24, {D}), "
                           f"got {describe(w1)}.", "Pass d_ff on: self.ffn = FeedForward(d_model, d_ff, dropout).")


# ---------------------------------------------------------------- 8. dropout

@lesson.grading("dropout_train_eval")
def check_dropout(ns: Namespace) -> None:
    torch.manual_seed(0)
    block = _module(ns, "Block", D, H, dropout=0.5)
    x = torch.randn(2, T, D, generator=torch.Generator().manual_seed(30))
    with torch.no_grad():
        block.train()
        y1, y2 = block(x), block(x)
        if not isinstance(y1, torch.Tensor) or tuple(y1.shape) != tuple(x.shape):
            raise CheckFailure(f"Block({D}, {H}, dropout=0.5)(x) should be a tensor of shape {tuple(x.shape)}, "
                               f"got {describe(y1)}.")
        if torch.equal(y1, y2):
            raise CheckFailure("In train mode, two forward passes of Block(dropout=0.5) gave identical outputs: "
                               "dropout is not applied.",
                               "Create nn.Dropout(dropout) in Block (for the attention output) and pass dropout "
                               "to FeedForward, which applies its own nn.Dropout.")
        block.eval()
        y3, y4 = block(x), block(x)
        if not torch.equal(y3, y4):
            raise CheckFailure("In eval mode, two forward passes of Block(dropout=0.5) differ: dropout is still "
                               "active in eval mode.",
                               "Use nn.Dropout modules, or F.dropout(x, p, training=self.training): dropout must "
                               "switch off after model.eval().")
        plain = _module(ns, "Block", D, H, dropout=0.0)
        plain.load_state_dict(block.state_dict())
        plain.eval()
        _compare(y3, plain(x), "In eval mode, Block(dropout=0.5) compared with the same weights at dropout=0.0",
                 hint="In eval mode dropout must be the identity: no zeroing, no scaling.")

        p, d = 0.25, 8
        ff = _module(ns, "FeedForward", d, dropout=p)
        xs = torch.randn(1, 3, d, generator=torch.Generator().manual_seed(31))
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


# ---------------------------------------------------------------- mutants


