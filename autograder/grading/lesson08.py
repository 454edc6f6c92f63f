"""Checks for lesson 08 — the full GPT: batches, the model, GPT-2's weights, training, sampling.

References are independent of the learner's code: attention is compared with
``torch.nn.MultiheadAttention``, the whole model with a reference GPT written here (and, through
``load_gpt2_state_dict``, with Hugging Face's ``GPT2LMHeadModel``), top-k / top-p filtering with
Hugging Face's logits warpers.  Where an exercise calls another of the learner's functions
(``estimate_loss`` calls ``get_batch``, ``generate`` calls ``filter_logits``, ``GPT`` builds
``Block``\\ s...), the check swaps in the reference for the duration of the check, so that each
exercise is graded on its own code.
"""

from __future__ import annotations

import contextlib
import math
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import describe, expect_tensor_close, expect_type
from ..registry import CheckFailure, Namespace

from ..practice.lesson08 import lesson


# ---------------------------------------------------------------- reference model (GPT-2 names)


class _RefAttention(nn.Module):
    def __init__(self, config: Any) -> None:
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.n_head = config.n_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C // self.n_head)
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        y = scores.masked_fill(future, float("-inf")).softmax(-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class _RefMLP(nn.Module):
    def __init__(self, config: Any) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class _RefBlock(nn.Module):
    def __init__(self, config: Any) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = _RefAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = _RefMLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class _RefGPT(nn.Module):
    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            h=nn.ModuleList([_RefBlock(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias)))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


def _config(ns: Namespace, **kw: Any) -> Any:
    """The learner's GPTConfig (given code in the notebook), or a stand-in with the same fields."""
    values = dict(block_size=16, vocab_size=37, n_layer=2, n_head=4, n_embd=32, dropout=0.0, bias=True)
    values.update(kw)
    maker = ns.values.get("GPTConfig")
    try:
        return maker(**values) if maker is not None else SimpleNamespace(**values)
    except TypeError:
        return SimpleNamespace(**values)


@contextlib.contextmanager
def _swapped(function: Any, **replacements: Any) -> Iterator[None]:
    """Temporarily replace global names seen by a learner's function or class (its module's globals)."""
    target = getattr(function, "__globals__", None)
    if target is None:  # a class: use the globals of one of its methods
        for value in vars(function).values():
            target = getattr(value, "__globals__", None)
            if target is not None:
                break
    if target is None:
        yield
        return
    missing = object()
    old = {name: target.get(name, missing) for name in replacements}
    target.update(replacements)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is missing:
                target.pop(name, None)
            else:
                target[name] = value


def _randomize(module: nn.Module, seed: int, std: float = 0.2) -> None:
    """Give every parameter random values (biases and LayerNorms too), so that nothing is trivially 0 or 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            base = 1.0 if ("ln" in name and name.endswith("weight")) else 0.0
            p.copy_(base + std * torch.randn(p.shape, generator=g))


def _expected_keys(n_layer: int, bias: bool) -> dict[str, tuple[str, ...]]:
    keys = {"transformer.wte.weight": ("V", "C"), "transformer.wpe.weight": ("block_size", "C"),
            "transformer.ln_f.weight": ("C",), "lm_head.weight": ("V", "C")}
    if bias:
        keys["transformer.ln_f.bias"] = ("C",)
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        layer = {"ln_1.weight": ("C",), "attn.c_attn.weight": ("3C", "C"), "attn.c_proj.weight": ("C", "C"),
                 "ln_2.weight": ("C",), "mlp.c_fc.weight": ("4C", "C"), "mlp.c_proj.weight": ("C", "4C")}
        if bias:
            layer.update({"ln_1.bias": ("C",), "attn.c_attn.bias": ("3C",), "attn.c_proj.bias": ("C",),
                          "ln_2.bias": ("C",), "mlp.c_fc.bias": ("4C",), "mlp.c_proj.bias": ("C",)})
        keys.update({p + k: v for k, v in layer.items()})
    return keys


def _param_count(V: int, T: int, L: int, d: int, bias: bool = True) -> int:
    b = int(bias)
    block = 2 * (d + b * d) + (3 * d * d + b * 3 * d) + (d * d + b * d) + (4 * d * d + b * 4 * d) + (4 * d * d + b * d)
    return V * d + T * d + L * block + (d + b * d)


def _call_model(model: Any, idx: torch.Tensor, targets: torch.Tensor | None, what: str) -> tuple[Any, Any]:
    out = model(idx) if targets is None else model(idx, targets)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailure(f"{what} should return a pair (logits, loss), but returned {describe(out)}.",
                           "End forward with `return logits, loss` (loss is None without targets).")
    return out


# ---------------------------------------------------------------- 1. get_batch


@lesson.grading("get_batch")
def check_get_batch(ns: Namespace) -> None:
    data = torch.arange(1000, 1020)  # token id = 1000 + position: every window is recognisable
    torch.manual_seed(0)
    out = ns.get_batch(data, 8, 4)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailure(f"get_batch should return a pair (x, y), but returned {describe(out)}.")
    x, y = out
    for name, t in (("x", x), ("y", y)):
        expect_type(t, torch.Tensor, f"the {name} returned by get_batch(data, 8, 4)")
        if tuple(t.shape) != (4, 8):
            raise CheckFailure(f"{name} should have shape (batch_size, block_size) = (4, 8), got {tuple(t.shape)}.",
                               "Stack batch_size windows of block_size tokens each.")
        if t.dtype != data.dtype:
            raise CheckFailure(f"{name} should keep the dtype of data ({data.dtype}), got {t.dtype}.")
    if torch.equal(x, y):
        raise CheckFailure("y equals x: the targets are not shifted. The model would learn to copy its input.",
                           "y must be the same window moved one token to the right: data[i + 1:i + 1 + block_size].")
    if not torch.equal(x[:, 1:] - x[:, :-1], torch.ones(4, 7, dtype=data.dtype)):
        raise CheckFailure(f"the rows of x are not consecutive tokens of data: {describe(x[0])}.",
                           "Each row is one slice data[i:i + block_size].")
    if torch.equal(y, x - 1):
        raise CheckFailure("y is x shifted the wrong way: y[t] is the token *before* x[t].",
                           "Targets are the *next* tokens: data[i + 1:i + 1 + block_size].")
    if not torch.equal(y, x + 1):
        raise CheckFailure(f"y should be x shifted by one token (the next token at every position); for x[0] = "
                           f"{describe(x[0])} got y[0] = {describe(y[0])}.",
                           "y = data[i + 1:i + 1 + block_size] for the same start i as x.")
    torch.manual_seed(0)
    x2, _ = ns.get_batch(data, 8, 4)
    if not torch.equal(x, x2):
        raise CheckFailure("two calls after torch.manual_seed(0) gave different batches.",
                           "Draw the start positions with torch.randint, so that torch.manual_seed makes them reproducible.")
    torch.manual_seed(1)
    x, y = ns.get_batch(data, 8, 500)
    starts = set((x[:, 0] - 1000).tolist())
    if max(starts) > 11:
        raise CheckFailure(f"a window started at {max(starts)}: with 20 tokens and block_size 8 the last start is 11.")
    if starts != set(range(12)):
        missing = sorted(set(range(12)) - starts)
        raise CheckFailure(f"with 20 tokens and block_size 8, 500 windows never started at {missing}: every start "
                           "from 0 to len(data) - block_size - 1 must be possible.",
                           "torch.randint(high, ...) excludes high: use high = len(data) - block_size.")


# ---------------------------------------------------------------- 2. CausalSelfAttention


def _mha_reference(attn: Any, x: torch.Tensor, n_head: int) -> torch.Tensor:
    """torch.nn.MultiheadAttention with the learner's weights, causal mask."""
    C = x.shape[-1]
    mha = nn.MultiheadAttention(C, n_head, bias=attn.c_attn.bias is not None, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.c_attn.weight)
        mha.out_proj.weight.copy_(attn.c_proj.weight)
        if attn.c_attn.bias is not None:
            mha.in_proj_bias.copy_(attn.c_attn.bias)
            mha.out_proj.bias.copy_(attn.c_proj.bias)
    T = x.shape[1]
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)  # True = not allowed
    return mha(x, x, x, attn_mask=mask, need_weights=False)[0]


@lesson.grading("CausalSelfAttention")
def check_causal_self_attention(ns: Namespace) -> None:
    torch.manual_seed(0)
    config = _config(ns, n_embd=32, n_head=4, block_size=16)
    attn = ns.CausalSelfAttention(config)
    for name in ("c_attn", "c_proj"):
        if not isinstance(getattr(attn, name, None), nn.Linear):
            raise CheckFailure(f"CausalSelfAttention has no Linear layer `{name}` (the given __init__ creates it).")
    _randomize(attn, 1, std=0.3)
    attn.eval()
    x = torch.randn(2, 10, 32)
    y = attn(x)
    expect_type(y, torch.Tensor, "CausalSelfAttention(x)")
    if tuple(y.shape) != (2, 10, 32):
        raise CheckFailure(f"for x of shape (2, 10, 32) the output should have shape (2, 10, 32), got {tuple(y.shape)}.")
    want = _mha_reference(attn, x, 4)
    if not torch.allclose(y, want, atol=1e-5):  # first, the two classic ways to get the heads wrong
        C, B, T = 32, 2, 10
        q, k, v = attn.c_attn(x).split(C, dim=2)
        wrong = [t.reshape(B, 4, T, C // 4) for t in (q, k, v)]
        bad = F.scaled_dot_product_attention(*wrong, is_causal=True).reshape(B, T, C)
        if torch.allclose(y, attn.c_proj(bad), atol=1e-5):
            raise CheckFailure("the heads are split the wrong way: (B, T, C) was viewed as (B, n_head, T, hs), which "
                               "mixes positions and channels.", "View as (B, T, n_head, hs), then .transpose(1, 2).")
        good = [t.view(B, T, 4, C // 4).transpose(1, 2) for t in (q, k, v)]
        merged = F.scaled_dot_product_attention(*good, is_causal=True)
        if torch.allclose(y, attn.c_proj(merged.reshape(B, T, C)), atol=1e-5):
            raise CheckFailure("the heads are merged the wrong way: (B, n_head, T, hs) was reshaped to (B, T, C) "
                               "without moving the head axis back.",
                               "y.transpose(1, 2).contiguous().view(B, T, C) puts the heads side by side again.")
    x2 = x.clone()
    x2[:, 6] += 3.0  # change token 6 only
    y2 = attn(x2)
    if not torch.allclose(y[:, :6], y2[:, :6], atol=1e-6):
        raise CheckFailure("changing the token at position 6 changed the outputs at positions 0-5: the causal mask "
                           "is missing, so every position sees the future (and training would cheat: the next token "
                           "is in the input).", "Pass is_causal=True to F.scaled_dot_product_attention.")
    expect_tensor_close(y, want, "CausalSelfAttention(x) compared with nn.MultiheadAttention (same weights, causal mask)",
                        lesson.get("CausalSelfAttention").hint)
    xg = x.clone().requires_grad_(True)
    attn(xg).square().sum().backward()
    grad_ours = xg.grad
    xr = x.clone().requires_grad_(True)
    _mha_reference(attn, xr, 4).square().sum().backward()
    expect_tensor_close(grad_ours, xr.grad, "the gradient with respect to x", "Use only differentiable torch operations.",
                        atol=1e-4)
    y1 = attn(x[:1, :5])
    if tuple(y1.shape) != (1, 5, 32):
        raise CheckFailure(f"for x of shape (1, 5, 32) the output has shape {tuple(y1.shape)}.",
                           "Read B, T, C from x.shape: do not assume a fixed length.")


# ---------------------------------------------------------------- 3. MLP


@lesson.grading("MLP")
def check_mlp(ns: Namespace) -> None:
    torch.manual_seed(0)
    mlp = ns.MLP(_config(ns, n_embd=16))
    _randomize(mlp, 2, std=0.5)
    mlp.eval()
    x = torch.randn(3, 5, 16) * 2
    y = mlp(x)
    expect_type(y, torch.Tensor, "MLP(x)")
    if tuple(y.shape) != (3, 5, 16):
        raise CheckFailure(f"MLP(x) for x of shape (3, 5, 16) should keep the shape, got {tuple(y.shape)}.",
                           "c_fc widens to 4C, c_proj comes back to C.")
    h = mlp.c_fc(x)
    want = mlp.c_proj(F.gelu(h, approximate="tanh"))
    if not torch.allclose(y, want, atol=1e-5):
        if torch.allclose(y, mlp.c_proj(F.gelu(h)), atol=1e-5):
            raise CheckFailure("MLP uses the exact GELU; GPT-2 uses the tanh approximation (outputs differ by up "
                               "to ~1e-3, enough to break GPT-2 parity).", "Use self.gelu (nn.GELU(approximate='tanh')).")
        if torch.allclose(y, mlp.c_proj(F.relu(h)), atol=1e-5):
            raise CheckFailure("MLP uses ReLU; GPT-2's MLP uses GELU (tanh approximation).", "Use self.gelu.")
    expect_tensor_close(y, want, "MLP(x) compared with c_proj(gelu_tanh(c_fc(x)))")


# ---------------------------------------------------------------- 4. Block


@lesson.grading("Block")
def check_block(ns: Namespace) -> None:
    torch.manual_seed(0)
    with _swapped(ns.Block, CausalSelfAttention=_RefAttention, MLP=_RefMLP):
        block = ns.Block(_config(ns, n_embd=16, n_head=2))
    for name in ("ln_1", "attn", "ln_2", "mlp"):
        if not isinstance(getattr(block, name, None), nn.Module):
            raise CheckFailure(f"Block has no submodule `{name}` (the given __init__ creates it).")
    _randomize(block, 3, std=0.3)
    x = torch.randn(2, 6, 16)
    y = block(x)
    expect_type(y, torch.Tensor, "Block(x)")
    a, m, ln1, ln2 = block.attn, block.mlp, block.ln_1, block.ln_2
    h = x + a(ln1(x))
    want = h + m(ln2(h))
    if not torch.allclose(y, want, atol=1e-5) and tuple(y.shape) == tuple(want.shape):
        post = ln1(x + a(x))
        if torch.allclose(y, ln2(post + m(post)), atol=1e-5):
            raise CheckFailure("Block is post-norm (norm after the residual add); GPT-2 is pre-norm: each sublayer "
                               "reads ln(x), and its output is added to x itself.",
                               "x = x + self.attn(self.ln_1(x)), then x = x + self.mlp(self.ln_2(x)).")
        h2 = a(ln1(x))
        if torch.allclose(y, m(ln2(h2)), atol=1e-5) or torch.allclose(y, h2 + m(ln2(h2)), atol=1e-5) \
                or torch.allclose(y, m(ln2(h)), atol=1e-5):
            raise CheckFailure("a residual connection is missing: the sublayer's output replaces x instead of being "
                               "added to it.", "Write x = x + sublayer(norm(x)) for both sublayers.")
    expect_tensor_close(y, want, "Block(x) compared with x + attn(ln_1(x)), then + mlp(ln_2(.))")


# ---------------------------------------------------------------- 5. GPT


def _make_gpt(ns: Namespace, config: Any) -> Any:
    with _swapped(ns.GPT, Block=_RefBlock):
        return ns.GPT(config)


@lesson.grading("GPT")
def check_gpt(ns: Namespace) -> None:
    V, T, L, C = 37, 16, 3, 64
    config = _config(ns, vocab_size=V, block_size=T, n_layer=L, n_head=4, n_embd=C, bias=True)
    torch.manual_seed(0)
    model = _make_gpt(ns, config)
    params = dict(model.named_parameters())
    state = model.state_dict()
    sizes = {"V": V, "C": C, "3C": 3 * C, "4C": 4 * C, "block_size": T}
    expected = _expected_keys(L, True)
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected and not k.endswith((".attn.bias", ".attn.masked_bias"))]
    if missing or extra:
        raise CheckFailure(f"the model's parameter names differ from GPT-2's: missing {missing[:4]}"
                           + (f", unexpected {extra[:4]}" if extra else "") + ".",
                           "Use exactly the names of the table: transformer = ModuleDict(wte, wpe, drop, h, ln_f), "
                           "and lm_head.")
    for key, dims in expected.items():
        shape = tuple(sizes[d] for d in dims)
        if tuple(state[key].shape) != shape:
            raise CheckFailure(f"{key} has shape {tuple(state[key].shape)}, expected {shape}.")
    if model.lm_head.weight is not model.transformer.wte.weight:
        raise CheckFailure("lm_head.weight and transformer.wte.weight are two different tensors: the weight tying is "
                           "missing (GPT-2 uses one matrix for both).",
                           "After creating both: self.lm_head.weight = self.transformer.wte.weight.")
    count = sum(p.numel() for p in model.parameters())
    if count != _param_count(V, T, L, C):
        raise CheckFailure(f"the model has {count:,} parameters, the formula of lesson 03 gives {_param_count(V, T, L, C):,}.")

    torch.manual_seed(1)
    idx = torch.randint(V, (4, T))
    targets = torch.randint(V, (4, T))
    logits, loss = _call_model(model, idx, targets, "GPT.forward(idx, targets)")
    expect_type(logits, torch.Tensor, "the logits returned by GPT.forward")
    if tuple(logits.shape) != (4, T, V):
        raise CheckFailure(f"logits should have shape (B, T, vocab_size) = (4, {T}, {V}), got {tuple(logits.shape)}.",
                           "Return the logits of every position: lm_head(ln_f(x)) for x of shape (B, T, C).")
    expect_type(loss, torch.Tensor, "the loss returned by GPT.forward(idx, targets)")
    if abs(loss.item() - math.log(V)) > 0.1:
        raise CheckFailure(f"an untrained GPT has loss {loss.item():.3f}, but it should be close to ln(vocab) = "
                           f"{math.log(V):.3f}: its first guesses are confidently wrong.",
                           "Initialise with self.apply(self._init_weights): every Linear and Embedding weight ~ N(0, 0.02).")
    for name, p in params.items():
        if name.endswith(("wte.weight", "wpe.weight", "c_attn.weight", "c_fc.weight")) and abs(p.std().item() - 0.02) > 0.004:
            raise CheckFailure(f"{name} has standard deviation {p.std().item():.4f}, expected 0.02 (GPT-2's initialisation).",
                               "self.apply(self._init_weights).")
        if name.endswith("c_proj.weight"):
            want = 0.02 / math.sqrt(2 * L)
            if abs(p.std().item() - want) > 0.15 * want:
                raise CheckFailure(f"{name} has standard deviation {p.std().item():.4f}, expected 0.02/sqrt(2*n_layer) = "
                                   f"{want:.4f}: the residual projections should be scaled down.",
                                   "After self.apply(...), re-draw every parameter whose name ends in c_proj.weight "
                                   "with std 0.02 / math.sqrt(2 * config.n_layer).")
        if name.endswith("bias") and "ln" not in name and p.abs().max().item() != 0:
            raise CheckFailure(f"{name} should start at zero.", "self.apply(self._init_weights).")

    _randomize(model, 4, std=0.1)
    model.eval()
    ref = _RefGPT(config)
    ref.load_state_dict(model.state_dict(), strict=False)
    ref.eval()
    logits, loss = _call_model(model, idx, targets, "GPT.forward(idx, targets)")
    want_logits, want_loss = ref(idx, targets)
    if not torch.allclose(logits, want_logits, atol=1e-4):
        x = ref.transformer.wte(idx)
        for block in ref.transformer.h:
            x = block(x)
        if torch.allclose(logits, ref.lm_head(ref.transformer.ln_f(x)), atol=1e-4):
            raise CheckFailure("the logits do not depend on the positions: the position embeddings are not added.",
                               "x = wte(idx) + wpe(torch.arange(T)).")
    expect_tensor_close(logits, want_logits, "the logits of GPT (weights copied into a reference GPT)", atol=1e-4)
    if not torch.allclose(loss, want_loss, atol=1e-5):
        last = F.cross_entropy(want_logits[:, -1], targets[:, -1])
        if torch.allclose(loss, last, atol=1e-5):
            raise CheckFailure(f"the loss {loss.item():.4f} is the cross-entropy of the last position only; it should "
                               f"average over every position ({want_loss.item():.4f}).",
                               "F.cross_entropy(logits.view(-1, V), targets.view(-1)).")
        raise CheckFailure(f"the loss is {loss.item():.4f}, expected the mean cross-entropy over all positions "
                           f"{want_loss.item():.4f}.", "F.cross_entropy(logits.view(-1, V), targets.view(-1)).")
    none_logits, none_loss = _call_model(model, idx[:, :5], None, "GPT.forward(idx)")
    if none_loss is not None:
        raise CheckFailure(f"without targets the loss should be None, got {describe(none_loss)}.")
    expect_tensor_close(none_logits, want_logits[:, :5], "the logits for a context of 5 tokens (shorter than block_size)",
                        "Use positions torch.arange(T) for the actual length T of idx.", atol=1e-4)
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    ref.zero_grad()
    want_loss.backward()
    for name, p in ref.named_parameters():
        if grads.get(name) is None:
            raise CheckFailure(f"{name} received no gradient.", "Do not detach tensors inside forward.")
        expect_tensor_close(grads[name], p.grad, f"the gradient of {name}", atol=1e-4)


# ---------------------------------------------------------------- 6. load_gpt2_state_dict


@lru_cache(maxsize=1)
def _transformers() -> Any:
    """Import Hugging Face transformers (a few seconds, once).  Its import loads torch._dynamo, which
    wraps torch.manual_seed; the grader's guard would take that for the learner's monkeypatching, so
    the original function is put back."""
    manual_seed = torch.manual_seed
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel  # noqa: F401
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper  # noqa: F401

    torch.manual_seed = manual_seed
    transformers.logging.set_verbosity_error()
    return transformers


@lru_cache(maxsize=1)
def _hf_gpt2() -> tuple[Any, dict[str, torch.Tensor]]:
    transformers = _transformers()
    GPT2Config, GPT2LMHeadModel = transformers.GPT2Config, transformers.GPT2LMHeadModel
    config = GPT2Config(vocab_size=100, n_positions=16, n_layer=2, n_head=4, n_embd=32, activation_function="gelu_new",
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None, eos_token_id=None)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).eval()
    _randomize(model, 5, std=0.1)
    return model, {k: v.clone() for k, v in model.state_dict().items()}


CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


@lesson.grading("load_gpt2_state_dict")
def check_load_gpt2_state_dict(ns: Namespace) -> None:
    hf, hf_state = _hf_gpt2()
    config = SimpleNamespace(vocab_size=100, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0, bias=True)
    ref = _RefGPT(config).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.fill_(7.0)  # a value GPT-2 never has: shows what was not copied
    state = dict(hf_state)
    state["transformer.h.0.attn.bias"] = torch.tril(torch.ones(16, 16)).view(1, 1, 16, 16)  # older checkpoints' buffers
    state["transformer.h.0.attn.masked_bias"] = torch.tensor(-1e4)
    try:
        ns.load_gpt2_state_dict(ref, state)
    except RuntimeError as error:
        if "size" in str(error) or "shape" in str(error):
            raise CheckFailure(f"copying GPT-2's weights raised a shape error ({str(error).splitlines()[0]}).",
                               "GPT-2's Conv1D stores weights as (in, out): transpose attn.c_attn, attn.c_proj, "
                               "mlp.c_fc and mlp.c_proj weights before copying.") from None
        raise
    except KeyError as error:
        raise CheckFailure(f"load_gpt2_state_dict raised KeyError {error}: the state dict has entries your model does "
                           "not have (the causal-mask buffers attn.bias / attn.masked_bias of older checkpoints).",
                           "Skip names that are not in model.state_dict().") from None
    own = ref.state_dict()
    for name, value in own.items():
        source = hf_state[name]
        if name.endswith(CONV1D):
            if torch.equal(value, source) and not torch.equal(value, source.t()):
                raise CheckFailure(f"{name} was copied without the transpose. It is square ({tuple(value.shape)}), so its "
                                   "shape cannot tell you: GPT-2's Conv1D stores every such weight as (in, out).",
                                   "Decide by name: transpose all four Conv1D weights.")
            source = source.t()
        if torch.all(value == 7.0):
            raise CheckFailure(f"{name} was not copied into the model.", "Copy every entry of the GPT-2 state dict "
                               "that the model has, with param.copy_(...) under torch.no_grad().")
        expect_tensor_close(value, source, f"the model's {name} after loading", atol=0)
    idx = torch.randint(100, (3, 16), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        want = hf(idx).logits
        got = ref(idx)[0]
    expect_tensor_close(got, want, "the reference GPT's logits after load_gpt2_state_dict, compared with GPT2LMHeadModel",
                        atol=1e-4)

    # The learner's own GPT with GPT-2's weights: the parity of the whole lesson.
    try:
        model = ns.GPT(_config(ns, vocab_size=100, block_size=16, n_layer=2, n_head=4, n_embd=32, bias=True)).eval()
    except NotImplementedError:
        raise CheckFailure("load_gpt2_state_dict works on a reference model, but your GPT is not implemented yet, so "
                           "GPT-2 parity cannot be shown.", "Complete exercises 2-5.") from None
    ns.load_gpt2_state_dict(model, state)
    with torch.no_grad():
        got = _call_model(model, idx, None, "GPT.forward(idx)")[0]
    if not (isinstance(got, torch.Tensor) and torch.allclose(got, want, atol=1e-4)):
        raise CheckFailure("load_gpt2_state_dict is right (it works on a reference GPT), but your own GPT with GPT-2's "
                           f"weights gives different logits from GPT2LMHeadModel: {describe(got)} vs {describe(want)}.",
                           "The difference is in GPT, Block, MLP or CausalSelfAttention: their checks above point to it.")


# ---------------------------------------------------------------- 7. configure_optimizer


@lesson.grading("configure_optimizer")
def check_configure_optimizer(ns: Namespace) -> None:
    config = SimpleNamespace(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=8, dropout=0.0, bias=True)
    model = _RefGPT(config)
    opt = ns.configure_optimizer(model, 0.1, 3e-4, (0.9, 0.95))
    if not isinstance(opt, torch.optim.AdamW):
        raise CheckFailure(f"configure_optimizer should return a torch.optim.AdamW, got {describe(opt)}.",
                           "torch.optim.Adam adds weight decay to the gradient; AdamW decouples it: use AdamW.")
    decay_of: dict[int, list[float]] = {}
    for group in opt.param_groups:
        for p in group["params"]:
            decay_of.setdefault(id(p), []).append(group["weight_decay"])
        if not math.isclose(group["lr"], 3e-4) or tuple(group["betas"]) != (0.9, 0.95):
            raise CheckFailure(f"a parameter group has lr {group['lr']} and betas {group['betas']}; expected the "
                               "learning_rate and betas given (3e-4, (0.9, 0.95)).")
    names = dict(model.named_parameters())
    for name, p in names.items():
        found = decay_of.get(id(p), [])
        if len(found) != 1:
            raise CheckFailure(f"{name} appears in {len(found)} parameter groups; every parameter must be in exactly one.",
                               "Build the groups from model.parameters() (it lists the tied wte/lm_head tensor once).")
    one_d = [n for n, p in names.items() if p.dim() < 2 and decay_of[id(p)][0] != 0]
    if one_d:
        raise CheckFailure(f"{one_d[0]} (1-D) is decayed: biases and LayerNorm gains should not be decayed "
                           "(weight_decay=0.0).", "Put parameters with p.dim() < 2 in a group with weight_decay 0.0.")
    two_d = [n for n, p in names.items() if p.dim() >= 2 and not math.isclose(decay_of[id(p)][0], 0.1)]
    if two_d:
        raise CheckFailure(f"{two_d[0]} (a weight matrix) has weight decay {decay_of[id(names[two_d[0]])][0]}, expected "
                           "the weight_decay given (0.1).", "Parameters with p.dim() >= 2 get weight_decay.")


# ---------------------------------------------------------------- 8. get_lr


def _ref_lr(it: float, warmup: int, max_iters: int, max_lr: float, min_lr: float) -> float:
    if it < warmup:
        return max_lr * (it + 1) / (warmup + 1)
    if it > max_iters:
        return min_lr
    r = (it - warmup) / (max_iters - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * r)) * (max_lr - min_lr)


@lesson.grading("get_lr")
def check_get_lr(ns: Namespace) -> None:
    args = (10, 100, 1e-3, 1e-4)
    got = {it: ns.get_lr(it, *args) for it in [0, 1, 5, 9, 10, 11, 30, 55, 55.5, 80, 99, 100, 101, 150]}
    for it, value in got.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise CheckFailure(f"get_lr({it}, 10, 100, 1e-3, 1e-4) should be a number, got {describe(value)}.")
    if math.isclose(got[0], 1e-3, rel_tol=1e-3):
        raise CheckFailure(f"get_lr(0, ...) = {got[0]:.3g}: the learning rate starts at max_lr, there is no warmup.",
                           "For it < warmup_iters return max_lr * (it + 1) / (warmup_iters + 1).")
    if got[150] < 1e-5 or math.isclose(got[100], 0.0, abs_tol=1e-9):
        raise CheckFailure(f"after max_iters the learning rate is {got[150]:.3g}; it should settle at min_lr = 1e-4, not 0.",
                           "Decay from max_lr to min_lr: min_lr + coeff * (max_lr - min_lr).")
    if math.isclose(got[30], 1e-3 - (1e-3 - 1e-4) * (30 - 10) / 90, rel_tol=1e-3) and not math.isclose(
            got[30], _ref_lr(30, *args), rel_tol=1e-3):
        raise CheckFailure(f"get_lr(30, ...) = {got[30]:.4g} is on a straight line; the decay should follow a cosine "
                           f"({_ref_lr(30, *args):.4g}).", "coeff = 0.5 * (1 + math.cos(math.pi * ratio)).")
    for it, value in got.items():
        want = _ref_lr(it, *args)
        if not math.isclose(value, want, rel_tol=1e-6, abs_tol=1e-12):
            raise CheckFailure(f"get_lr({it}, warmup_iters=10, max_iters=100, max_lr=1e-3, min_lr=1e-4) = {value:.6g}, "
                               f"expected {want:.6g}.", "Warmup: max_lr * (it + 1) / (warmup_iters + 1); then ratio = "
                               "(it - warmup_iters) / (max_iters - warmup_iters) and a cosine from max_lr to min_lr.")


# ---------------------------------------------------------------- 9. estimate_loss


class _Probe(nn.Module):
    """Records how it is called; returns losses 1, 2, 3, ... in call order."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(block_size=4)
        self.w = nn.Parameter(torch.ones(()))
        self.calls: list[tuple[bool, bool, tuple[int, ...]]] = []

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        self.calls.append((self.training, torch.is_grad_enabled(), tuple(idx.shape)))
        loss = self.w * float(len(self.calls))
        return torch.zeros(*idx.shape, 5) + self.w, loss


def _ref_get_batch(data: torch.Tensor, block_size: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    ix = torch.randint(len(data) - block_size, (batch_size,))
    return (torch.stack([data[i:i + block_size] for i in ix]), torch.stack([data[i + 1:i + 1 + block_size] for i in ix]))


@lesson.grading("estimate_loss")
def check_estimate_loss(ns: Namespace) -> None:
    probe = _Probe()
    probe.train()
    splits = {"train": torch.arange(50), "val": torch.arange(30)}
    with _swapped(ns.estimate_loss, get_batch=_ref_get_batch):
        out = ns.estimate_loss(probe, splits, 3, 2)
    if not probe.calls:
        raise CheckFailure("estimate_loss never called the model.")
    if any(training for training, _, _ in probe.calls):
        raise CheckFailure("the model was still in training mode during evaluation: call model.eval() first "
                           "(dropout must be off when measuring).", "model.eval() before the loop, model.train() after.")
    if any(grad for _, grad, _ in probe.calls):
        raise CheckFailure("the evaluation ran with gradients enabled: wrap it in torch.no_grad() (no graph is needed, "
                           "which saves time and memory).", "with torch.no_grad(): around the loop.")
    if not probe.training:
        raise CheckFailure("after estimate_loss the model is left in evaluation mode: call model.train() before "
                           "returning, or the rest of training runs without dropout.")
    if any(shape != (2, 4) for _, _, shape in probe.calls):
        raise CheckFailure(f"the model was called with batches of shape {probe.calls[0][2]}; expected (batch_size, "
                           "model.config.block_size) = (2, 4).", "get_batch(data, model.config.block_size, batch_size).")
    if len(probe.calls) != 6:
        raise CheckFailure(f"the model was called {len(probe.calls)} times for 2 splits and eval_iters=3; expected 6.")
    if not isinstance(out, dict) or set(out) != {"train", "val"}:
        raise CheckFailure(f"estimate_loss should return a dict with the keys of splits, got {describe(out)}.")
    for name, want in (("train", 2.0), ("val", 5.0)):
        value = out[name]
        if isinstance(value, torch.Tensor):
            value = value.item() if value.numel() == 1 else value
        if not isinstance(value, (int, float)) or not math.isclose(value, want, rel_tol=1e-6):
            raise CheckFailure(f"for split {name!r} the model's losses were {want - 1:g}, {want:g}, {want + 1:g}; their "
                               f"mean is {want:g}, but estimate_loss returned {describe(out[name])}.",
                               "Average loss.item() over the eval_iters batches of each split.")


# ---------------------------------------------------------------- 10. filter_logits


def _hf_filter(logits: torch.Tensor, top_k: int | None, top_p: float | None) -> torch.Tensor:
    _transformers()
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

    out = logits.clone()
    dummy = torch.zeros(logits.shape[0], 1, dtype=torch.long)
    if top_k is not None:
        out = TopKLogitsWarper(top_k=top_k)(dummy, out)
    if top_p is not None:
        out = TopPLogitsWarper(top_p=top_p)(dummy, out)
    return out


@lesson.grading("filter_logits")
def check_filter_logits(ns: Namespace) -> None:
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    before = logits.clone()
    got = ns.filter_logits(logits, top_k=None, top_p=0.7)
    expect_type(got, torch.Tensor, "filter_logits(logits, top_p=0.7)")
    if not torch.equal(logits, before):
        raise CheckFailure("filter_logits changed its input in place; return a new tensor.",
                           "Start with logits = logits.clone().")
    kept = torch.isfinite(got[0]).tolist()
    if kept == [True, False, False, False]:
        raise CheckFailure("with probabilities [0.5, 0.3, 0.15, 0.05] and top_p=0.7, only the first token was kept; "
                           "the token that crosses 0.7 (0.5 + 0.3 = 0.8) must be kept too.",
                           "Keep a token if the probability *before* it (cumsum - its own probability) is below top_p.")
    if kept != [True, True, False, False]:
        raise CheckFailure(f"with probabilities [0.5, 0.3, 0.15, 0.05] and top_p=0.7 the kept tokens should be the first "
                           f"two; got {kept}.", "Sort in decreasing order, keep while the probability before is < top_p.")
    got = ns.filter_logits(logits.clone(), top_k=3, top_p=None)
    finite = int(torch.isfinite(got).sum())
    if finite != 3:
        raise CheckFailure(f"top_k=3 kept {finite} tokens, expected 3.",
                           "Keep the logits >= the k-th largest one: torch.topk(logits, k).values[..., -1:].")
    g = torch.Generator().manual_seed(7)
    for top_k, top_p in [(None, None), (5, None), (1, None), (None, 0.9), (None, 0.3), (10, 0.8), (50, 0.95), (3, 0.99)]:
        logits = torch.randn(4, 50, generator=g) * 2
        got = ns.filter_logits(logits.clone(), top_k=top_k, top_p=top_p)
        want = _hf_filter(logits, top_k, top_p)
        expect_type(got, torch.Tensor, f"filter_logits(logits, top_k={top_k}, top_p={top_p})")
        if tuple(got.shape) != tuple(want.shape):
            raise CheckFailure(f"filter_logits(logits, top_k={top_k}, top_p={top_p}) has shape {tuple(got.shape)}, "
                               f"expected {tuple(want.shape)}.")
        if not torch.equal(torch.isfinite(got), torch.isfinite(want)):
            row = int((torch.isfinite(got) != torch.isfinite(want)).any(-1).nonzero()[0])
            raise CheckFailure(f"filter_logits(logits, top_k={top_k}, top_p={top_p}) keeps {int(torch.isfinite(got[row]).sum())} "
                               f"tokens of row {row}, Hugging Face's TopK/TopPLogitsWarper keep "
                               f"{int(torch.isfinite(want[row]).sum())}.",
                               "Apply top_k first, then top_p on what is left; removed tokens get -inf.")
        if (got[torch.isfinite(got)] != want[torch.isfinite(want)]).any() or (got[~torch.isfinite(got)] != float("-inf")).any():
            raise CheckFailure("the kept logits changed value, or removed ones are not -inf.",
                               "Only set removed entries to float('-inf'); leave the others as they are.")


# ---------------------------------------------------------------- 11. generate


class _Counter(nn.Module):
    """Logits that predict (last token + 1) mod V at the last position, and token 0 elsewhere."""

    def __init__(self, vocab: int = 5, block_size: int = 6) -> None:
        super().__init__()
        self.vocab = vocab
        self.config = SimpleNamespace(block_size=block_size, vocab_size=vocab)
        self.lengths: list[int] = []

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        self.lengths.append(idx.shape[1])  # a real GPT would fail beyond block_size; this one records it
        logits = torch.full((*idx.shape, self.vocab), -10.0)
        logits[..., 0] = 10.0
        logits[:, -1, :] = -10.0
        logits[:, -1].scatter_(1, (idx[:, -1:] + 1) % self.vocab, 10.0)
        return logits, None


class _Fixed(nn.Module):
    """The same next-token distribution everywhere."""

    def __init__(self, probs: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(probs).log()
        self.config = SimpleNamespace(block_size=8, vocab_size=len(probs))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        return self.logits.expand(*idx.shape, -1).clone(), None


def _ref_filter(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    logits = logits.clone()
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[..., -1:]
        logits[logits < kth] = float("-inf")
    if top_p is not None:
        sorted_logits, order = torch.sort(logits, descending=True)
        p = sorted_logits.softmax(-1)
        remove = (p.cumsum(-1) - p) >= top_p
        logits[remove.scatter(-1, order, remove)] = float("-inf")
    return logits


def _frequencies(out: torch.Tensor, vocab: int) -> torch.Tensor:
    return torch.bincount(out[:, -1], minlength=vocab).float() / out.shape[0]


@lesson.grading("generate")
def check_generate(ns: Namespace) -> None:
    with _swapped(ns.generate, filter_logits=_ref_filter):
        counter = _Counter()
        start = torch.tensor([[1, 2]])
        out = ns.generate(counter, start, 9, top_k=1)
        expect_type(out, torch.Tensor, "generate(model, idx, 9)")
        if tuple(out.shape) != (1, 11):
            raise CheckFailure(f"generate(model, idx of shape (1, 2), 9) should return shape (1, 11), got {tuple(out.shape)}.",
                               "Append each new token to idx with torch.cat((idx, idx_next), dim=1) and return idx.")
        if max(counter.lengths) > 6:
            raise CheckFailure(f"the model received a context of {max(counter.lengths)} tokens, but its block_size is 6.",
                               "Crop the context: idx[:, -model.config.block_size:].")
        want = torch.tensor([[1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]])
        if not torch.equal(out, want):
            if (out[0, 2:] == 1).all() or (out[0, 2:] == 0).all():
                raise CheckFailure(f"with a model that predicts 'last token + 1', generate produced {out[0].tolist()}: "
                                   "it did not use the logits of the last position.", "logits[:, -1, :].")
            raise CheckFailure(f"with a model that predicts 'last token + 1' (top_k=1), generate produced "
                               f"{out[0].tolist()}, expected {want[0].tolist()}.")
        if not torch.equal(ns.generate(counter, start, 0), start):
            raise CheckFailure("generate(model, idx, 0) should return idx unchanged.")

        fixed = _Fixed([0.6, 0.3, 0.1])
        idx = torch.zeros(4000, 1, dtype=torch.long)
        torch.manual_seed(0)
        a = ns.generate(fixed, idx, 1)
        torch.manual_seed(0)
        b = ns.generate(fixed, idx, 1)
        if not torch.equal(a, b):
            raise CheckFailure("two calls after torch.manual_seed(0) sampled different tokens.",
                               "Sample with torch.multinomial (it uses torch's seeded generator).")
        freq = _frequencies(a, 3)
        if (freq - torch.tensor([0.6, 0.3, 0.1])).abs().max() > 0.04:
            raise CheckFailure(f"with probabilities [0.6, 0.3, 0.1] and temperature 1, 4000 samples had frequencies "
                               f"{[round(f, 3) for f in freq.tolist()]}.",
                               "Sample from softmax(logits) with torch.multinomial; do not take the argmax.")
        torch.manual_seed(0)
        freq = _frequencies(ns.generate(fixed, idx, 1, temperature=0.5), 3)
        sharp = torch.tensor([0.36, 0.09, 0.01]) / 0.46
        if (freq - sharp).abs().max() > 0.04:
            flat = torch.tensor([0.6, 0.3, 0.1]).sqrt()
            flat = flat / flat.sum()
            what = " (it looks like the logits were multiplied by the temperature)" if (freq - flat).abs().max() < 0.04 else ""
            raise CheckFailure(f"with temperature 0.5, the frequencies were {[round(f, 3) for f in freq.tolist()]}, "
                               f"expected about {[round(f, 3) for f in sharp.tolist()]}{what}.",
                               "Divide the logits by the temperature before the softmax.")
        torch.manual_seed(0)
        freq = _frequencies(ns.generate(fixed, idx, 1, top_k=2), 3)
        if freq[2] > 0:
            raise CheckFailure("with top_k=2, the third most likely token was still sampled: top_k is ignored.",
                               "Pass top_k and top_p to filter_logits before the softmax.")
        torch.manual_seed(0)
        freq = _frequencies(ns.generate(fixed, idx, 1, top_p=0.5), 3)
        if freq[1] > 0 or freq[2] > 0:
            raise CheckFailure("with top_p=0.5 and probabilities [0.6, 0.3, 0.1], only the first token may be sampled: "
                               "top_p is ignored.", "Pass top_k and top_p to filter_logits before the softmax.")


# ---------------------------------------------------------------- mutants (known-buggy variants)

