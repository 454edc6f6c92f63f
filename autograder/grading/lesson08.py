"""Grading checks for lesson 08 — the full GPT: the model, GPT-2's weights, training, sampling.

They run on top of the practice checks (``autograder/practice/lesson08.py``), which already check
``get_batch``, ``estimate_loss`` and ``filter_logits`` completely (properties, worked examples,
Hugging Face's logits warpers).  Here the references are the course's reference GPT
(:mod:`autograder.reference.gpt`), ``nn.MultiheadAttention`` and Hugging Face's
``GPT2LMHeadModel``; known mistakes are recognised by recomputing them, with a message that names
them.  Where an exercise calls another of the learner's functions (``GPT`` builds ``Block``\\ s,
``Block`` its attention and MLP, ``generate`` calls ``filter_logits``), the reference's version is
swapped in for the duration of the check, so that each exercise is graded on its own code.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import describe, expect_close, expect_type
from ..reference import gpt as ref
from ..registry import CheckFailure, Namespace

from ..practice.lesson08 import (
    FixedModel,
    call_generate,
    call_model,
    expect_filtering_frequencies,
    expect_generate_runs,
    expect_optimizer_groups,
    expect_sampling,
    fill_by_name,
    gpt2_state_with_old_buffers,
    hf_gpt2,
    lesson,
    make_config,
    mha_like,
    swapped,
)


def _expected_keys(n_layer: int, bias: bool) -> dict[str, tuple[str, ...]]:
    """GPT-2's parameter names and shapes (in nn.Linear's orientation), for ``n_layer`` blocks."""
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
    """Lesson 03's count for a GPT with a tied head."""
    b = int(bias)
    block = 2 * (d + b * d) + (3 * d * d + b * 3 * d) + (d * d + b * d) + (4 * d * d + b * 4 * d) + (4 * d * d + b * d)
    return V * d + T * d + L * block + (d + b * d)


# ---------------------------------------------------------------- 2. CausalSelfAttention


@lesson.grading("CausalSelfAttention")
def check_causal_self_attention(ns: Namespace) -> None:
    torch.manual_seed(0)
    attn = ns.CausalSelfAttention(make_config(ns, n_embd=32, n_head=4, block_size=16))
    for name in ("c_attn", "c_proj"):
        if not isinstance(getattr(attn, name, None), nn.Linear):
            raise CheckFailure(f"CausalSelfAttention has no Linear layer `{name}` (the given __init__ creates it).")
    fill_by_name(attn, 1, std=0.3)
    attn.eval()
    x = torch.randn(2, 10, 32)
    y = attn(x)
    expect_type(y, torch.Tensor, "CausalSelfAttention(x)")
    if tuple(y.shape) != (2, 10, 32):
        raise CheckFailure(f"for x of shape (2, 10, 32) the output should have shape (2, 10, 32), got {tuple(y.shape)}.")
    want = mha_like(attn, x, 4)
    if not torch.allclose(y, want, atol=1e-5):  # first, the two classic ways to get the heads wrong
        C, B, T = 32, 2, 10
        q, k, v = attn.c_attn(x).split(C, dim=2)
        wrong = [t.reshape(B, 4, T, C // 4) for t in (q, k, v)]
        bad = F.scaled_dot_product_attention(*wrong, is_causal=True).reshape(B, T, C)
        if torch.allclose(y, attn.c_proj(bad), atol=1e-5):
            raise CheckFailure("the heads are split the wrong way: (B, T, C) was viewed as (B, n_head, T, hs), which "
                               "mixes positions and channels.",
                               "First cut the channels into heads, (B, T, n_head, hs), then swap the T and head axes.")
        good = [t.view(B, T, 4, C // 4).transpose(1, 2) for t in (q, k, v)]
        merged = F.scaled_dot_product_attention(*good, is_causal=True)
        if torch.allclose(y, attn.c_proj(merged.reshape(B, T, C)), atol=1e-5):
            raise CheckFailure("the heads are merged the wrong way: (B, n_head, T, hs) was reshaped to (B, T, C) "
                               "without moving the head axis back.",
                               "Swap the head and T axes back first (then .contiguous()), and only then flatten the "
                               "heads into C.")
    x2 = x.clone()
    x2[:, 6] += 3.0  # change token 6 only
    if not torch.allclose(y[:, :6], attn(x2)[:, :6], atol=1e-6):
        raise CheckFailure("changing a later token changed the outputs at earlier positions: the causal mask is "
                           "missing, so every position sees the future (and training would cheat: the next token is "
                           "in the input).", "Attend with is_causal=True.")
    expect_close(y, want, "CausalSelfAttention(x) compared with nn.MultiheadAttention (same weights, causal mask)",
                 lesson.get("CausalSelfAttention").hint)
    xg = x.clone().requires_grad_(True)
    attn(xg).square().sum().backward()
    xr = x.clone().requires_grad_(True)
    mha_like(attn, xr, 4).square().sum().backward()
    expect_close(xg.grad, xr.grad, "the gradient with respect to x", "Use only differentiable torch operations.",
                 atol=1e-4)


# ---------------------------------------------------------------- 3. MLP


@lesson.grading("MLP")
def check_mlp(ns: Namespace) -> None:
    mlp = ns.MLP(make_config(ns, n_embd=16))
    fill_by_name(mlp, 2, std=0.5)
    mlp.eval()
    x = torch.randn(3, 5, 16, generator=torch.Generator().manual_seed(3)) * 2
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
                               "to ~1e-3, enough to break GPT-2 parity).", "Use the given self.gelu.")
        if torch.allclose(y, mlp.c_proj(F.relu(h)), atol=1e-5):
            raise CheckFailure("MLP uses ReLU; GPT-2's MLP uses GELU (tanh approximation).", "Use the given self.gelu.")
    expect_close(y, want, "MLP(x) compared with c_proj(gelu_tanh(c_fc(x)))")


# ---------------------------------------------------------------- 4. Block


@lesson.grading("Block")
def check_block(ns: Namespace) -> None:
    torch.manual_seed(0)
    with swapped(ns.Block, CausalSelfAttention=ref.CausalSelfAttention, MLP=ref.MLP):
        block = ns.Block(make_config(ns, n_embd=16, n_head=2))
    for name in ("ln_1", "attn", "ln_2", "mlp"):
        if not isinstance(getattr(block, name, None), nn.Module):
            raise CheckFailure(f"Block has no submodule `{name}` (the given __init__ creates it).")
    fill_by_name(block, 3, std=0.3)
    x = torch.randn(2, 6, 16, generator=torch.Generator().manual_seed(4))
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
                               "Normalise the input of each sublayer, not the sum.")
        h2 = a(ln1(x))
        if torch.allclose(y, m(ln2(h2)), atol=1e-5) or torch.allclose(y, h2 + m(ln2(h2)), atol=1e-5) \
                or torch.allclose(y, m(ln2(h)), atol=1e-5):
            raise CheckFailure("a residual connection is missing: the sublayer's output replaces x instead of being "
                               "added to it.", "Both sublayers add their output to x: x = x + sublayer(norm(x)).")
    expect_close(y, want, "Block(x) compared with x + attn(ln_1(x)), then + mlp(ln_2(.))")


# ---------------------------------------------------------------- 5. GPT


def _make_gpt(ns: Namespace, config: Any) -> Any:
    with swapped(ns.GPT, Block=ref.Block):
        return ns.GPT(config)


def _check_structure(model: Any, V: int, T: int, L: int, C: int) -> None:
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


def _check_initialisation(model: Any, V: int, L: int, idx: torch.Tensor, targets: torch.Tensor) -> None:
    logits, loss = call_model(model, idx, targets, "GPT.forward(idx, targets)")
    expect_type(logits, torch.Tensor, "the logits returned by GPT.forward")
    if tuple(logits.shape) != (*idx.shape, V):
        raise CheckFailure(f"logits should have shape (B, T, vocab_size) = {(*idx.shape, V)}, got {tuple(logits.shape)}.",
                           "Return the logits of every position: lm_head(ln_f(x)) for x of shape (B, T, C).")
    expect_type(loss, torch.Tensor, "the loss returned by GPT.forward(idx, targets)")
    if abs(loss.item() - math.log(V)) > 0.1:
        raise CheckFailure(f"an untrained GPT has loss {loss.item():.3f}, but it should be close to ln(vocab) = "
                           f"{math.log(V):.3f}: its first guesses are confidently wrong.",
                           "Initialise with self.apply(self._init_weights): every Linear and Embedding weight ~ N(0, 0.02).")
    for name, p in model.named_parameters():
        std = p.detach().std().item()
        if name.endswith(("wte.weight", "wpe.weight", "c_attn.weight", "c_fc.weight")) and abs(std - 0.02) > 0.004:
            raise CheckFailure(f"{name} has standard deviation {std:.4f}, expected 0.02 (GPT-2's initialisation).",
                               "self.apply(self._init_weights).")
        if name.endswith("c_proj.weight"):
            want = 0.02 / math.sqrt(2 * L)
            if abs(std - want) > 0.15 * want:
                raise CheckFailure(f"{name} has standard deviation {std:.4f}, expected 0.02/sqrt(2*n_layer) = "
                                   f"{want:.4f}: the residual projections should be scaled down.",
                                   "After self.apply(...), re-draw every parameter whose name ends in c_proj.weight "
                                   "with the smaller standard deviation.")
        if name.endswith("bias") and "ln" not in name and p.abs().max().item() != 0:
            raise CheckFailure(f"{name} should start at zero.", "self.apply(self._init_weights).")


def _diagnose_logits(logits: torch.Tensor, reference: ref.GPT, idx: torch.Tensor) -> None:
    """Name the mistake when the logits differ from the reference's in a way we know."""
    if torch.allclose(logits, reference(idx)[0], atol=1e-4):
        return
    wte, wpe, ln_f = reference.transformer.wte, reference.transformer.wpe, reference.transformer.ln_f
    x = wte(idx)
    for block in reference.transformer.h:
        x = block(x)
    if torch.allclose(logits, reference.lm_head(ln_f(x)), atol=1e-4):
        raise CheckFailure("the logits do not depend on the positions: the position embeddings are not added.",
                           "Add wpe of the positions 0, 1, ..., T-1 to the token embeddings.")
    x = wte(idx) + wpe(torch.arange(idx.shape[1]))
    for block in reference.transformer.h:
        x = block(x)
    if torch.allclose(logits, reference.lm_head(x), atol=1e-4):
        raise CheckFailure("the final LayerNorm is missing: lm_head reads the output of the last block directly.",
                           "Apply self.transformer.ln_f to the output of the last block, then lm_head: GPT-2 "
                           "normalises once more before the head (pre-norm blocks leave the stream unnormalised).")


@lesson.grading("GPT")
def check_gpt(ns: Namespace) -> None:
    V, T, L, C = 37, 16, 3, 64
    config = make_config(ns, vocab_size=V, block_size=T, n_layer=L, n_head=4, n_embd=C, bias=True)
    torch.manual_seed(0)
    model = _make_gpt(ns, config)
    _check_structure(model, V, T, L, C)
    g = torch.Generator().manual_seed(1)
    idx, targets = torch.randint(V, (4, T), generator=g), torch.randint(V, (4, T), generator=g)
    _check_initialisation(model, V, L, idx, targets)

    fill_by_name(model, 4, std=0.1)
    model.eval()
    reference = ref.GPT(config)
    reference.load_state_dict(model.state_dict(), strict=False)
    reference.eval()
    logits, loss = call_model(model, idx, targets, "GPT.forward(idx, targets)")
    want_logits, want_loss = reference(idx, targets)
    with torch.no_grad():
        _diagnose_logits(logits, reference, idx)
    expect_close(logits, want_logits, "the logits of GPT (weights copied into the course's reference GPT)", atol=1e-4)
    if not torch.allclose(loss, want_loss, atol=1e-5):
        last = F.cross_entropy(want_logits[:, -1], targets[:, -1])
        if torch.allclose(loss, last, atol=1e-5):
            raise CheckFailure(f"the loss {loss.item():.4f} is the cross-entropy of the last position only; it should "
                               f"average over every position ({want_loss.item():.4f}).",
                               "Flatten (B, T) into one axis of B*T predictions for F.cross_entropy.")
        raise CheckFailure(f"the loss is {loss.item():.4f}, expected the mean cross-entropy over all positions "
                           f"{want_loss.item():.4f}.", "Flatten (B, T) into one axis of B*T predictions for F.cross_entropy.")
    none_logits, none_loss = call_model(model, idx[:, :5], None, "GPT.forward(idx)")
    if none_loss is not None:
        raise CheckFailure(f"without targets the loss should be None, got {describe(none_loss)}.")
    if not isinstance(none_logits, torch.Tensor) or tuple(none_logits.shape) != (4, 5, V):
        raise CheckFailure(f"GPT.forward(idx) for idx of shape (4, 5), without targets, returned logits "
                           f"{describe(none_logits)}; the logits must cover every position: (B, T, vocab_size) = "
                           f"(4, 5, {V}).", "Return lm_head's output for every position, with or without targets.")
    expect_close(none_logits, want_logits[:, :5], "the logits for a context of 5 tokens (shorter than block_size)",
                 "Position t gets row t of wpe, whatever the length of the context.", atol=1e-4)
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters(remove_duplicate=False)}  # a tied tensor under both names
    reference.zero_grad()
    want_loss.backward()
    for name, p in reference.named_parameters():
        if grads.get(name) is None:
            raise CheckFailure(f"{name} received no gradient.", "Do not detach tensors inside forward.")
        expect_close(grads[name], p.grad, f"the gradient of {name}", atol=1e-4)


# ---------------------------------------------------------------- 6. load_gpt2_state_dict


@lru_cache(maxsize=1)
def _hf_gpt2() -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """A small GPT2LMHeadModel with random weights (fixed by name) and its state dict."""
    config = make_config(Namespace({}), vocab_size=100, block_size=16, n_layer=2, n_head=4, n_embd=32)
    model = hf_gpt2(config, seed=5)
    return model, {k: v.clone() for k, v in model.state_dict().items()}


CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


@lesson.grading("load_gpt2_state_dict")
def check_load_gpt2_state_dict(ns: Namespace) -> None:
    hf, hf_state = _hf_gpt2()
    config = ref.GPTConfig(vocab_size=100, block_size=16, n_layer=2, n_head=4, n_embd=32)
    target = ref.GPT(config).eval()
    with torch.no_grad():
        for p in target.parameters():
            p.fill_(7.0)  # a value GPT-2 never has: shows what was not copied
    state = gpt2_state_with_old_buffers(hf)
    try:
        ns.load_gpt2_state_dict(target, state)
    except RuntimeError as error:
        if not isinstance(error, NotImplementedError) and ("size" in str(error) or "shape" in str(error)):
            raise CheckFailure(f"copying GPT-2's weights raised a shape error ({str(error).splitlines()[0]}).",
                               "GPT-2's Conv1D stores weights as (in, out): transpose attn.c_attn, attn.c_proj, "
                               "mlp.c_fc and mlp.c_proj weights before copying.") from None
        raise
    except KeyError as error:
        raise CheckFailure(f"load_gpt2_state_dict raised KeyError {error}: the state dict has entries your model does "
                           "not have (the causal-mask buffers attn.bias / attn.masked_bias of older checkpoints).",
                           "Skip names that are not in model.state_dict().") from None
    for name, value in target.state_dict().items():
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
        expect_close(value, source, f"the model's {name} after loading", atol=0, rtol=0)
    idx = torch.randint(100, (3, 16), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        want = hf(idx).logits
        got = target(idx)[0]
    expect_close(got, want, "the reference GPT's logits after load_gpt2_state_dict, compared with GPT2LMHeadModel",
                 atol=1e-4)

    # The learner's own GPT with GPT-2's weights: the parity of the whole lesson.
    try:
        model = ns.GPT(make_config(ns, vocab_size=100, block_size=16, n_layer=2, n_head=4, n_embd=32)).eval()
    except NotImplementedError:
        raise CheckFailure("load_gpt2_state_dict works on a reference model, but your GPT is not implemented yet, so "
                           "GPT-2 parity cannot be shown.", "Complete exercises 2-5.") from None
    ns.load_gpt2_state_dict(model, state)
    with torch.no_grad():
        got = call_model(model, idx, None, "GPT.forward(idx)")[0]
    if not (isinstance(got, torch.Tensor) and got.shape == want.shape and torch.allclose(got, want, atol=1e-4)):
        raise CheckFailure("load_gpt2_state_dict is right (it works on a reference GPT), but your own GPT with GPT-2's "
                           f"weights gives different logits from GPT2LMHeadModel: {describe(got)} vs {describe(want)}.",
                           "The difference is in GPT, Block, MLP or CausalSelfAttention: their checks point to it.")


# ---------------------------------------------------------------- 7. configure_optimizer


@lesson.grading("configure_optimizer")
def check_configure_optimizer(ns: Namespace) -> None:
    model = ref.GPT(ref.GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=8))
    expect_optimizer_groups(ns, model, "the course's reference GPT")


# ---------------------------------------------------------------- 8. get_lr


@lesson.grading("get_lr")
def check_get_lr(ns: Namespace) -> None:
    args = (10, 100, 1e-3, 1e-4)
    got = {it: ns.get_lr(it, *args) for it in [0, 1, 5, 9, 10, 11, 30, 55, 55.5, 80, 99, 100, 101, 150]}
    for it, value in got.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise CheckFailure(f"get_lr({it}, 10, 100, 1e-3, 1e-4) should be a number, got {describe(value)}.")
    if math.isclose(got[0], 1e-3, rel_tol=1e-3):
        raise CheckFailure(f"get_lr(0, ...) = {got[0]:.3g}: the learning rate starts at max_lr, there is no warmup.",
                           "For it < warmup_iters the learning rate grows along a straight line.")
    if got[150] < 1e-5 or math.isclose(got[100], 0.0, abs_tol=1e-9):
        raise CheckFailure(f"after max_iters the learning rate is {got[150]:.3g}; it should settle at min_lr = 1e-4, not 0.",
                           "The cosine goes from max_lr down to min_lr, not to 0.")
    if math.isclose(got[30], 1e-3 - (1e-3 - 1e-4) * (30 - 10) / 90, rel_tol=1e-3) and not math.isclose(
            got[30], ref.get_lr(30, *args), rel_tol=1e-3):
        raise CheckFailure(f"get_lr(30, ...) = {got[30]:.4g} is on a straight line; the decay should follow a cosine "
                           f"({ref.get_lr(30, *args):.4g}).", "Half a cosine: 0.5 * (1 + cos(pi * ratio)) of the way.")
    for it, value in got.items():
        want = ref.get_lr(it, *args)
        if not math.isclose(value, want, rel_tol=1e-6, abs_tol=1e-12):
            raise CheckFailure(f"get_lr({it}, warmup_iters=10, max_iters=100, max_lr=1e-3, min_lr=1e-4) = {value:.6g}, "
                               f"expected {want:.6g}.", "Follow the formula of the lesson, case by case.")


# ---------------------------------------------------------------- 11. generate


@lesson.grading("generate")
def check_generate(ns: Namespace) -> None:
    with swapped(ns.generate, filter_logits=ref.filter_logits):
        expect_generate_runs(ns)
        fixed = FixedModel([0.6, 0.3, 0.1])
        idx = torch.zeros(4000, 1, dtype=torch.long)
        expect_sampling(ns, fixed, idx)
        expect_filtering_frequencies(ns, fixed, idx)
        out = call_generate(ns, fixed, idx[:2], 3, temperature=0.7, top_k=2, top_p=0.9)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 4):
            raise CheckFailure(f"generate(model, idx of shape (2, 1), 3, ...) returned {describe(out)}; expected shape "
                               "(2, 4).")
