"""Practice checks for lesson 08 — the full GPT: batches, the model with GPT-2's names, GPT-2's
weights, the training machinery and sampling.

Shipped to students: no solution code in here.  Expected values come from

* the library references the lesson names: ``nn.MultiheadAttention`` (weights copied across) for
  the attention, Hugging Face's ``GPT2LMHeadModel`` for the parameter names and the logits,
  its ``TopKLogitsWarper`` / ``TopPLogitsWarper`` for the filtering, ``F.cross_entropy`` for the loss;
* properties: causality (changing the future changes nothing before it), dropout on in training
  and off in evaluation, the loss of an untrained model near ln V, the optimizer's groups by
  parameter dimensionality, the warmup and cosine ends of the schedule, what is kept and removed
  by top-k and top-p, generate's output shape, cropping and sampling frequencies;
* stored example outputs (``examples/08_gpt.json``): the learner's module filled with fixed
  weights chosen by parameter name (:func:`fill_by_name`), run on fixed inputs.  Sampling is
  never stored (it depends on how the random generator is consumed).

Each exercise is checked on its own: where it calls another exercise's code (a Block's
attention, the GPT's blocks, ``estimate_loss``'s ``get_batch``, ``generate``'s ``filter_logits``),
that part is replaced by a fixed stand-in that is no solution of anything.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import zlib
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import describe, expect_close, expect_type
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("08", "gpt", "The full GPT: model, training, sampling")
stored = lesson.examples


# ---------------------------------------------------------------- helpers (the grading checks use them too)

def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def make_config(ns: Namespace, **sizes: Any) -> Any:
    """The notebook's GPTConfig (given code) with these sizes, or a stand-in with the same fields."""
    values = dict(block_size=16, vocab_size=37, n_layer=2, n_head=4, n_embd=32, dropout=0.0, bias=True)
    values.update(sizes)
    maker = ns.values.get("GPTConfig")
    try:
        return maker(**values) if maker is not None else SimpleNamespace(**values)
    except TypeError:
        return SimpleNamespace(**values)


def _is_norm_gain(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 2 and parts[-2].startswith("ln") and parts[-1] == "weight"


def fill_by_name(module: nn.Module, seed: int, std: float = 0.2) -> None:
    """Give every parameter fixed random values chosen by its *name* (LayerNorm gains around 1).

    The values depend only on the name and the shape, not on the order in which a model creates
    its modules, so two correct models with GPT-2's names compute the same numbers.  A tensor shared
    by two names (the tied wte / lm_head) gets the values of the name that sorts last.
    """
    with torch.no_grad():
        for name, p in sorted(module.named_parameters(remove_duplicate=False), key=lambda item: item[0]):
            g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            p.copy_((1.0 if _is_norm_gain(name) else 0.0) + std * torch.randn(p.shape, generator=g))


@contextlib.contextmanager
def swapped(function: Any, **replacements: Any) -> Iterator[None]:
    """Temporarily replace global names seen by a learner's function or class (its module's globals).

    A decorated function (``@torch.no_grad()``) is unwrapped first: the wrapper's globals are torch's.
    """
    target = getattr(inspect.unwrap(function), "__globals__", None)
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


@lru_cache(maxsize=1)
def hf_transformers() -> Any:
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


def hf_gpt2(config: Any, seed: int | None = None) -> nn.Module:
    """A GPT2LMHeadModel (eval mode) of the same sizes as ``config``, weights set by name when a seed is given."""
    transformers = hf_transformers()
    hf_config = transformers.GPT2Config(
        vocab_size=config.vocab_size, n_positions=config.block_size, n_layer=config.n_layer, n_head=config.n_head,
        n_embd=config.n_embd, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=None, eos_token_id=None)
    model = transformers.GPT2LMHeadModel(hf_config).eval()
    if seed is not None:
        fill_by_name(model, seed, std=0.1)
    return model


def hf_gpt2_meta(config: Any) -> nn.Module:
    """A GPT2LMHeadModel of the same sizes as ``config`` on the meta device: shapes only, no memory."""
    with torch.device("meta"):
        return hf_gpt2(config)


def gpt2_parameter_shapes(config: Any) -> dict[str, tuple[int, ...]]:
    """GPT2LMHeadModel's parameter names (the tied head listed too) and their shapes as it stores them."""
    model = hf_gpt2_meta(config)
    return {name: tuple(p.shape) for name, p in model.named_parameters(remove_duplicate=False)}


def hf_filter(logits: torch.Tensor, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Hugging Face's top-k, then top-p logits warpers (the lesson's reference for filter_logits)."""
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

    hf_transformers()
    out = logits.clone()
    dummy = torch.zeros(logits.shape[0], 1, dtype=torch.long)
    for warper, argument, value in ((TopKLogitsWarper, "top_k", top_k), (TopPLogitsWarper, "top_p", top_p)):
        if value is not None:
            out = warper(**{argument: value})(dummy, out)
    return out


def mha_like(attn: nn.Module, x: torch.Tensor, n_head: int) -> torch.Tensor:
    """nn.MultiheadAttention with the weights of the learner's c_attn and c_proj, causal mask, no dropout."""
    C = x.shape[-1]
    has_bias = attn.c_attn.bias is not None
    mha = nn.MultiheadAttention(C, n_head, bias=has_bias, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.c_attn.weight)
        mha.out_proj.weight.copy_(attn.c_proj.weight)
        if has_bias:
            mha.in_proj_bias.copy_(attn.c_attn.bias)
            mha.out_proj.bias.copy_(attn.c_proj.bias)
    T = x.shape[1]
    blocked = torch.ones(T, T, dtype=torch.bool).triu(1)  # PyTorch's convention: True = may not attend
    return mha(x, x, x, attn_mask=blocked, need_weights=False)[0]


def call_module(module: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    """module(x), which must be a tensor of x's shape."""
    y = module(x)
    expect_type(y, torch.Tensor, what, "forward returns one tensor.")
    if tuple(y.shape) != tuple(x.shape):
        raise CheckFailure(f"{what} should have the shape of x, {tuple(x.shape)}, got {tuple(y.shape)}.",
                           "Read B, T, C from x.shape; the output has the input's shape.")
    return y


def call_model(model: Any, idx: torch.Tensor, targets: torch.Tensor | None, what: str) -> tuple[Any, Any]:
    """model(idx[, targets]), which must return a pair (logits, loss)."""
    out = model(idx) if targets is None else model(idx, targets)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailure(f"{what} should return a pair (logits, loss), but returned {describe(out)}.",
                           "End forward by returning the logits and the loss (None without targets).")
    return out


def call_generate(ns: Namespace, *args: Any, **kwargs: Any) -> Any:
    """ns.generate(...), with torch.multinomial's refusal of bad probabilities explained."""
    try:
        return ns.generate(*args, **kwargs)
    except RuntimeError as error:
        if isinstance(error, NotImplementedError) or not any(
                s in str(error) for s in ("probability tensor contains", "multinomial distribution")):
            raise
        raise CheckFailure(
            f"torch.multinomial refused the probabilities it was given ({error}): some row held NaN, inf or "
            "negative numbers, or nothing but zeros. That happens when every logit of a row is -inf after "
            "filtering (the softmax of a row of -inf is NaN), or when -inf is written into probabilities "
            "instead of logits.",
            "Filter the logits (at least the most likely token must stay in every row), then take the softmax, "
            "then sample.") from None


class StandInBlock(nn.Module):
    """A fixed position-wise map, x + tanh(x W), put in place of a Block; remembers its last input."""

    def __init__(self, n_embd: int, seed: int) -> None:
        super().__init__()
        self.weight = randn(n_embd, n_embd, seed=seed) / math.sqrt(n_embd)  # a plain tensor, not a parameter
        self.last_input: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.last_input = x.detach().clone()
        return x + torch.tanh(x @ self.weight)


class StandInSublayer(nn.Module):
    """A fixed map, tanh(x W + b), put in place of a Block's attn or mlp."""

    def __init__(self, n_embd: int, seed: int) -> None:
        super().__init__()
        self.weight = randn(n_embd, n_embd, seed=seed) / math.sqrt(n_embd)
        self.bias = 0.5 * randn(n_embd, seed=seed + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ self.weight + self.bias)


def parameter_names_problem(model: nn.Module, config: Any) -> str:
    """"" when the model's parameter names are GPT2LMHeadModel's, else what is missing and unexpected."""
    want = set(gpt2_parameter_shapes(config))
    got = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    missing, extra = sorted(want - got), sorted(got - want)
    if not missing and not extra:
        return ""
    return (f"the model's parameter names differ from GPT-2's (GPT2LMHeadModel's): "
            + (f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}" if missing else "nothing missing")
            + (f", unexpected {extra[:4]}{' ...' if len(extra) > 4 else ''}" if extra else "") + ".")


INIT_HINT = ("Initialise every submodule with the given _init_weights (nn.Module.apply calls a function on each "
             "of them): every Linear and Embedding weight ~ N(0, 0.02), biases 0.")
NAMES_HINT = ("Use exactly the names of the table: self.transformer is an nn.ModuleDict with wte, wpe, drop, h and "
              "ln_f; the head is self.lm_head.")


# ---------------------------------------------------------------- 1. get_batch

@lesson.exercise("get_batch", points=1,
                 hint="Draw batch_size start positions with torch.randint (the largest possible start is "
                      "len(data) - block_size - 1); x holds block_size tokens from each start, y the same window "
                      "one token further on.")
def get_batch(ns: Namespace) -> None:
    data = torch.arange(1000, 1020)  # token id = 1000 + position: every window is recognisable
    torch.manual_seed(0)
    out = ns.get_batch(data, 8, 4)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailure(f"get_batch(data, 8, 4) should return a pair (x, y), but returned {describe(out)}.")
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
                           "y is the same window moved one token to the right.")
    if not torch.equal(x[:, 1:] - x[:, :-1], torch.ones(4, 7, dtype=data.dtype)):
        raise CheckFailure(f"the rows of x are not consecutive tokens of data: x[0] = {describe(x[0])}.",
                           "Each row is one slice of block_size consecutive tokens of data.")
    if torch.equal(y, x - 1):
        raise CheckFailure("y is x shifted the wrong way: y[t] is the token *before* x[t].",
                           "Targets are the *next* tokens.")
    if not torch.equal(y, x + 1):
        raise CheckFailure(f"y should be x shifted by one token (the next token at every position); for x[0] = "
                           f"{describe(x[0])} got y[0] = {describe(y[0])}.",
                           "y is the window that starts one token after x's, with the same length.")
    torch.manual_seed(0)
    x2, _ = ns.get_batch(data, 8, 4)
    if not torch.equal(x, x2):
        raise CheckFailure("two calls after torch.manual_seed(0) gave different batches.",
                           "Draw the start positions with torch.randint, so that torch.manual_seed makes them "
                           "reproducible.")
    torch.manual_seed(1)
    x, _ = ns.get_batch(data, 8, 500)
    starts = set((x[:, 0] - 1000).tolist())
    if max(starts) > 11 or min(starts) < 0:
        raise CheckFailure(f"a window started at {max(starts)}: with 20 tokens and block_size 8 the last start is 11.")
    if starts != set(range(12)):
        missing = sorted(set(range(12)) - starts)
        raise CheckFailure(f"with 20 tokens and block_size 8, 500 windows never started at {missing}: every start "
                           "from 0 to len(data) - block_size - 1 must be possible.",
                           "torch.randint(high, ...) never returns high itself.")


# ---------------------------------------------------------------- 2. CausalSelfAttention

def _attention(ns: Namespace, config: Any, seed: int) -> nn.Module:
    attn = ns.CausalSelfAttention(config)
    for name in ("c_attn", "c_proj"):
        if not isinstance(getattr(attn, name, None), nn.Linear):
            raise CheckFailure(f"CausalSelfAttention has no Linear layer `{name}` (the given __init__ creates it).")
    fill_by_name(attn, seed, std=0.3)
    return attn


@lesson.exercise("CausalSelfAttention", points=2,
                 hint="Cut the output of c_attn into q, k and v; give each a head axis, (B, T, C) -> (B, T, n_head, "
                      "hs) -> (B, n_head, T, hs); attend causally (dropout only while training); move the head axis "
                      "back and flatten to (B, T, C); then c_proj and resid_dropout.")
def causal_self_attention(ns: Namespace) -> None:
    config = make_config(ns, n_embd=12, n_head=3, block_size=8)
    attn = _attention(ns, config, seed=1).eval()
    x = randn(2, 6, 12, seed=2)
    what = "CausalSelfAttention(x) (n_embd=12, n_head=3, eval mode, weights set by name) for x of shape (2, 6, 12)"
    with torch.no_grad():
        y = call_module(attn, x, what)
        stored.expect("CausalSelfAttention", what, y)
        future = x.clone()
        future[:, 4:] = 10 * randn(2, 2, 12, seed=3)
        changed = attn(future)
        if not torch.allclose(changed[:, :4], y[:, :4], atol=1e-6):
            raise CheckFailure("changing the tokens at positions 4 and 5 changed the outputs at positions 0 to 3: "
                               "information flows from the future (training would cheat: the next token is in the "
                               "input). Either the causal mask is missing, or the heads are split or merged in a way "
                               "that mixes positions.",
                               "Attend with is_causal=True; split C into heads before moving the head axis, and move "
                               "it back before merging.")
        expect_close(y, mha_like(attn, x, 3), f"{what}, compared with nn.MultiheadAttention (same weights, causal mask)")
        short = x[:1, :3]
        expect_close(call_module(attn, short, "CausalSelfAttention(x) for x of shape (1, 3, 12)"),
                     mha_like(attn, short, 3), "CausalSelfAttention(x) for x of shape (1, 3, 12), compared with "
                     "nn.MultiheadAttention", "Read B, T, C from x.shape: do not assume a fixed length.")

    xg, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    got = attn(xg)
    if not got.requires_grad:
        raise CheckFailure(f"{what}: the output carries no gradient.", "Use differentiable torch operations only.")
    (grad,) = torch.autograd.grad(got.square().sum(), [xg])
    (want,) = torch.autograd.grad(mha_like(attn, xr, 3).square().sum(), [xr])
    expect_close(grad, want, "the gradient of sum(CausalSelfAttention(x) ** 2) with respect to x", atol=1e-4)

    dropping = _attention(ns, make_config(ns, n_embd=12, n_head=3, block_size=8, dropout=0.5), seed=1).eval()
    with torch.no_grad():
        first, second = dropping(x), dropping(x)
        if not torch.equal(first, second) or not torch.allclose(first, y, atol=1e-5):
            raise CheckFailure("with dropout=0.5, in eval mode (after model.eval()), CausalSelfAttention gave different "
                               "outputs for the same x: dropout is still active in eval mode. Evaluation and sampling "
                               "must not drop anything.",
                               "The attention's dropout probability is self.dropout while self.training, else 0.0.")
        dropping.train()
        dropping.resid_dropout = nn.Identity()  # so that only the attention's own dropout can act
        torch.manual_seed(0)
        if torch.allclose(dropping(x), y, atol=1e-5):
            raise CheckFailure("with dropout=0.5 in training mode, the attention weights are never dropped out: the "
                               "output equals the one without dropout.",
                               "Pass dropout_p=self.dropout to the attention while self.training.")


# ---------------------------------------------------------------- 3. MLP

@lesson.exercise("MLP", points=1, hint="Apply the four given layers in their order: c_fc, gelu, c_proj, dropout.")
def mlp(ns: Namespace) -> None:
    module = ns.MLP(make_config(ns, n_embd=8))
    fill_by_name(module, 4, std=0.5)
    module.eval()
    x = 2 * randn(3, 4, 8, seed=5)
    what = "MLP(x) (n_embd=8, eval mode, weights set by name) for x = 2 * randn(3, 4, 8)"
    with torch.no_grad():
        y = call_module(module, x, what)
        stored.expect("MLP", what, y)

        dropping = ns.MLP(make_config(ns, n_embd=8, dropout=0.5))
        fill_by_name(dropping, 4, std=0.5)
        dropping.train()
        torch.manual_seed(0)
        z = dropping(x)
        zeros = (z == 0).float().mean().item()
        kept = z != 0
        if zeros < 0.25 or not torch.allclose(z[kept], 2 * y[kept], atol=1e-5):
            raise CheckFailure(f"with dropout=0.5 in training mode, {zeros:.0%} of the MLP's outputs were zero, and the "
                               "others were not twice the outputs without dropout: the last step, dropout on the "
                               "output, is missing.",
                               "End with self.dropout on the output of c_proj.")


# ---------------------------------------------------------------- 4. Block

@lesson.exercise("Block", points=1,
                 hint="Pre-norm: each sublayer reads a normalised copy of x (ln_1 for attn, ln_2 for mlp), and its "
                      "output is added to x itself.")
def block(ns: Namespace) -> None:
    module = ns.Block(make_config(ns, n_embd=8, n_head=2))
    for name in ("ln_1", "attn", "ln_2", "mlp"):
        if not isinstance(getattr(module, name, None), nn.Module):
            raise CheckFailure(f"Block has no submodule `{name}` (the given __init__ creates it).")
    module.attn = StandInSublayer(8, seed=6)   # only the Block's own wiring is checked here
    module.mlp = StandInSublayer(8, seed=8)
    fill_by_name(module, 10, std=0.3)
    x = randn(2, 5, 8, seed=11)
    what = ("Block(x) for x of shape (2, 5, 8), LayerNorms set by name, attn and mlp replaced by fixed maps "
            "tanh(x W + b)")
    with torch.no_grad():
        stored.expect("Block", what, call_module(module, x, what))


# ---------------------------------------------------------------- 5. GPT

def _names_and_tying(model: Any, config: Any) -> None:
    if not isinstance(model, nn.Module):
        raise CheckFailure(f"GPT(config) should be an nn.Module, got {describe(model)}.")
    problem = parameter_names_problem(model, config)
    if problem:
        raise CheckFailure(problem, NAMES_HINT)
    hf_shapes = gpt2_parameter_shapes(config)
    for name, p in model.named_parameters(remove_duplicate=False):
        want = hf_shapes[name]
        if tuple(p.shape) not in (want, want[::-1]):  # GPT-2 stores some matrices transposed
            raise CheckFailure(f"{name} has shape {tuple(p.shape)}; GPT-2's has {want}.",
                               "Embedding(vocab_size, n_embd) for wte, Embedding(block_size, n_embd) for wpe, "
                               "LayerNorm(n_embd) for ln_f, Linear(n_embd, vocab_size) for lm_head.")
    if model.lm_head.weight is not model.transformer.wte.weight:
        raise CheckFailure("lm_head.weight and transformer.wte.weight are two different tensors: the weight tying is "
                           "missing (GPT-2 uses one matrix for both).",
                           "After creating both modules, make lm_head's weight the very same Parameter as wte's.")


def _initialisation(ns: Namespace) -> None:
    V, T, L, C = 37, 16, 3, 64
    config = make_config(ns, vocab_size=V, block_size=T, n_layer=L, n_head=4, n_embd=C)
    torch.manual_seed(0)
    model = ns.GPT(config)
    _names_and_tying(model, config)
    count = sum(p.numel() for p in model.parameters())
    want_count = sum(p.numel() for p in hf_gpt2_meta(config).parameters())
    if count != want_count:
        raise CheckFailure(f"GPT(vocab_size={V}, block_size={T}, n_layer={L}, n_embd={C}) has {count:,} parameters; "
                           f"GPT2LMHeadModel of the same sizes has {want_count:,}.", NAMES_HINT)
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    for i in range(L):  # the loss at initialisation is the GPT's own business: fixed maps for the blocks
        model.transformer.h[i] = StandInBlock(C, seed=40 + i)
    g = torch.Generator().manual_seed(1)
    idx, targets = torch.randint(V, (4, T), generator=g), torch.randint(V, (4, T), generator=g)
    model.eval()
    with torch.no_grad():
        _, loss = call_model(model, idx, targets, "GPT.forward(idx, targets)")
    expect_type(loss, torch.Tensor, "the loss returned by GPT.forward(idx, targets)")
    if loss.numel() != 1 or abs(loss.item() - math.log(V)) > 0.1:
        shown = f"{loss.item():.3f}" if loss.numel() == 1 else describe(loss)
        raise CheckFailure(f"an untrained GPT has loss {shown}, but it should be close to ln(vocab) = "
                           f"{math.log(V):.3f}: its first guesses are confidently wrong.",
                           INIT_HINT)
    for name, p in initial.items():
        std = p.std().item()
        if name.endswith(("wte.weight", "wpe.weight", "c_attn.weight", "c_fc.weight")) and abs(std - 0.02) > 0.004:
            raise CheckFailure(f"{name} has standard deviation {std:.4f}, expected 0.02 (GPT-2's initialisation).",
                               INIT_HINT)
        residual_std = 0.02 / math.sqrt(2 * L)
        if name.endswith(".c_proj.weight") and abs(std - residual_std) > 0.15 * residual_std:
            raise CheckFailure(f"{name} has standard deviation {std:.4f}, expected 0.02/sqrt(2*n_layer) = "
                               f"{residual_std:.4f}: the residual projections should be scaled down.",
                               "After the initialisation of every module, re-draw every parameter whose name ends in "
                               "c_proj.weight with the smaller standard deviation.")
        if name.endswith("bias") and ".ln" not in name and p.abs().max().item() != 0:
            raise CheckFailure(f"{name} should start at zero.", INIT_HINT)


FORWARD_SIZES = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
FORWARD_IDS = [[3, 1, 4, 1, 5, 9, 2, 6], [5, 3, 5, 8, 9, 7, 9, 3]]


def _gpt_with_stand_in_blocks(ns: Namespace, dropout: float = 0.0) -> tuple[nn.Module, list[StandInBlock]]:
    """The learner's GPT (sizes FORWARD_SIZES), weights set by name, its blocks replaced by fixed maps."""
    config = make_config(ns, dropout=dropout, **FORWARD_SIZES)
    torch.manual_seed(0)
    model = ns.GPT(config)
    _names_and_tying(model, config)
    fill_by_name(model, 12, std=0.3)
    stand_ins = [StandInBlock(config.n_embd, seed=20 + i) for i in range(config.n_layer)]
    for i, stand_in in enumerate(stand_ins):
        model.transformer.h[i] = stand_in
    return model, stand_ins


@lesson.exercise("GPT", points=3,
                 hint="__init__: the modules of the table with their exact names, lm_head's weight tied to wte's, "
                      "GPT-2's initialisation. forward: token and position embeddings added, transformer.drop, the "
                      "blocks, ln_f, lm_head, and the cross-entropy over every position.")
def gpt(ns: Namespace) -> None:
    _initialisation(ns)

    model, _ = _gpt_with_stand_in_blocks(ns)
    model.eval()
    idx = torch.tensor(FORWARD_IDS)
    targets = torch.tensor([[1, 4, 1, 5, 9, 2, 6, 5], [3, 5, 8, 9, 7, 9, 3, 2]])
    with torch.no_grad():
        logits, none = call_model(model, idx, None, "GPT.forward(idx)")
        expect_type(logits, torch.Tensor, "the logits returned by GPT.forward(idx)")
        if tuple(logits.shape) != (2, 8, 11):
            raise CheckFailure(f"GPT.forward(idx) for idx of shape (2, 8), without targets, returned logits of shape "
                               f"{tuple(logits.shape)}; the logits must cover every position: (B, T, vocab_size) = "
                               "(2, 8, 11).",
                               "Return lm_head's output for every position, with or without targets (generate picks "
                               "the last position itself).")
        if none is not None:
            raise CheckFailure(f"GPT.forward(idx) without targets should return None as the loss, got {describe(none)}.")
        what = ("the logits of GPT (vocab_size=11, block_size=8, n_layer=2, n_embd=8, weights set by name, blocks "
                "replaced by fixed maps x + tanh(x W)) for idx = " + str(FORWARD_IDS))
        stored.expect("GPT", what, logits)

        logits_t, loss = call_model(model, idx, targets, "GPT.forward(idx, targets)")
        expect_close(logits_t, logits, "the logits of GPT.forward(idx, targets) compared with GPT.forward(idx)")
        expect_type(loss, torch.Tensor, "the loss returned by GPT.forward(idx, targets)")
        want = F.cross_entropy(logits.reshape(16, 11), targets.reshape(16))
        if loss.shape != () or not torch.allclose(loss, want, atol=1e-5):
            last = F.cross_entropy(logits[:, -1], targets[:, -1])
            if loss.numel() == 1 and torch.allclose(loss.reshape(()), last, atol=1e-5):
                raise CheckFailure(f"the loss {loss.item():.4f} is the cross-entropy of the last position only; it "
                                   f"should average over every position ({want.item():.4f}).",
                                   "Every position of every row is one prediction: flatten (B, T) into one axis for "
                                   "F.cross_entropy.")
            raise CheckFailure(f"the loss should be the mean cross-entropy over all 16 positions, a single number "
                               f"{want.item():.4f}, but got {describe(loss)}.",
                               "F.cross_entropy wants scores of shape (N, vocab_size) and targets of shape (N,).")

        short, _ = call_model(model, idx[:, :5], None, "GPT.forward(idx) for a context of 5 tokens")
        if not isinstance(short, torch.Tensor) or tuple(short.shape) != (2, 5, 11):
            raise CheckFailure(f"for idx of shape (2, 5) the logits should have shape (2, 5, 11), got {describe(short)}.",
                               "Take T from idx.shape: contexts shorter than block_size are allowed.")
        expect_close(short, logits[:, :5], "the logits for the first 5 tokens alone, compared with the first 5 "
                     "positions of the logits for all 8 (with the blocks replaced by position-wise maps, they match)",
                     "Position t gets row t of wpe, whatever the length of the context.")

    dropping, stand_ins = _gpt_with_stand_in_blocks(ns, dropout=0.5)
    idx4 = torch.tensor(FORWARD_IDS * 2)
    with torch.no_grad():
        dropping.eval()
        dropping(idx4)
        clean = stand_ins[0].last_input
        dropping.train()
        torch.manual_seed(0)
        dropping(idx4)
        noisy = stand_ins[0].last_input
    if clean is None or noisy is None:
        raise CheckFailure("GPT.forward never called the blocks of self.transformer.h.")
    zeros = (noisy == 0).float().mean().item()
    dropped_out = torch.where(noisy == 0, torch.zeros_like(clean), 2 * clean)
    if torch.allclose(noisy, clean, atol=1e-6):
        raise CheckFailure("with dropout=0.5 in training mode, the first block received the embeddings without dropout: "
                           "`transformer.drop` is never applied.",
                           "Apply self.transformer.drop to the sum of the token and position embeddings, before the "
                           "first block.")
    if not 0.3 <= zeros <= 0.7 or not torch.allclose(noisy, dropped_out, atol=1e-5):
        raise CheckFailure("with dropout=0.5 in training mode, the input of the first block is not the sum of the token "
                           "and position embeddings with dropout applied to it.",
                           "Add the two embeddings first, then apply self.transformer.drop to the sum, then the blocks.")


# ---------------------------------------------------------------- 6. load_gpt2_state_dict

LOAD_SIZES = dict(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=8)


def _explain_load_error(error: BaseException) -> CheckFailure | None:
    if isinstance(error, KeyError):
        return CheckFailure(f"load_gpt2_state_dict raised KeyError {error}: the state dict has entries your model does "
                            "not have (the causal-mask buffers attn.bias / attn.masked_bias of older checkpoints).",
                            "Skip the names that are not in model.state_dict().")
    if isinstance(error, RuntimeError) and not isinstance(error, NotImplementedError) and (
            "size" in str(error) or "shape" in str(error)):
        return CheckFailure(f"copying GPT-2's weights raised a shape error ({str(error).splitlines()[0]}).",
                            "GPT-2's Conv1D layers store their weight as (in, out), the transpose of nn.Linear's "
                            "(out, in): transpose the Conv1D weights before copying.")
    return None


def gpt2_state_with_old_buffers(hf: nn.Module) -> dict[str, torch.Tensor]:
    """GPT2LMHeadModel's state dict plus the causal-mask buffers that older GPT-2 checkpoints carry."""
    state = {k: v.clone() for k, v in hf.state_dict().items()}
    T = hf.config.n_positions
    state["transformer.h.0.attn.bias"] = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
    state["transformer.h.0.attn.masked_bias"] = torch.tensor(-1e4)
    return state


def compare_loaded_modules(model: nn.Module, hf: nn.Module) -> None:
    """Every module of ``model`` that holds GPT-2 weights computes what the same module of ``hf`` computes."""
    g = torch.Generator().manual_seed(31)
    for path, theirs in hf.named_modules():
        own_params = dict(theirs.named_parameters(recurse=False))
        if not own_params or path == "lm_head":
            continue
        mine = model.get_submodule(path)
        for name in own_params:
            full = f"{path}.{name}"
            value = getattr(mine, name)
            if torch.all(value == 7.0):
                raise CheckFailure(f"{full} was not copied into the model.",
                                   "Copy every entry of the GPT-2 state dict that the model has, with "
                                   "param.copy_(...) under torch.no_grad().")
        if isinstance(theirs, nn.Embedding):
            x = torch.randint(theirs.num_embeddings, (6,), generator=g)
        elif isinstance(theirs, nn.LayerNorm):
            x = torch.randn(6, *theirs.normalized_shape, generator=g)
        else:  # GPT-2's Conv1D: its weight is (in, out)
            x = torch.randn(6, theirs.weight.shape[0], generator=g)
        with torch.no_grad():
            want, got = theirs(x), mine(x)
        if torch.allclose(got, want, atol=1e-5):
            continue
        weight, source = mine.weight, theirs.weight
        if weight.shape == source.shape and weight.shape[0] == weight.shape[-1] and torch.equal(weight, source):
            raise CheckFailure(f"{path}.weight was copied without the transpose. It is square "
                               f"({tuple(weight.shape)}), so its shape cannot tell you: GPT-2's Conv1D layers store "
                               "every such weight as (in, out).", "Decide by name which weights to transpose.")
        expect_close(got, want, f"after loading, the model's {path} applied to an input, compared with "
                     f"GPT2LMHeadModel's {path}")


@lesson.exercise("load_gpt2_state_dict", points=2,
                 hint="Copy each entry the model has, under torch.no_grad(); GPT-2's Conv1D weights are stored "
                      "transposed: decide by name, not by shape, which ones need it.")
def load_gpt2_state_dict(ns: Namespace) -> None:
    config = make_config(ns, **LOAD_SIZES)
    try:
        model = ns.GPT(config).eval()
    except NotImplementedError:
        raise CheckFailure("not implemented yet: this check loads GPT-2's weights into your GPT, and your GPT is not "
                           "implemented yet.", "Complete exercise 5 (GPT) first.") from None
    problem = parameter_names_problem(model, config)
    if problem:
        raise CheckFailure(f"this check loads GPT-2's weights into your GPT, but {problem}", NAMES_HINT)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)  # a value GPT-2 never has: shows what was not copied
    hf = hf_gpt2(config, seed=13)
    try:
        returned = ns.load_gpt2_state_dict(model, gpt2_state_with_old_buffers(hf))
    except (KeyError, RuntimeError) as error:
        explained = _explain_load_error(error)
        if explained is None:
            raise
        raise explained from None
    if returned is not None and returned is not model:
        raise CheckFailure(f"load_gpt2_state_dict should fill the model it was given (and may return it), but returned "
                           f"{describe(returned)}.")
    compare_loaded_modules(model, hf)
    idx = torch.randint(20, (3, 8), generator=torch.Generator().manual_seed(14))
    with torch.no_grad():
        want = hf(idx).logits
        got = call_model(model, idx, None, "GPT.forward(idx)")[0]
    if not (isinstance(got, torch.Tensor) and got.shape == want.shape and torch.allclose(got, want, atol=1e-4)):
        raise CheckFailure("every weight was loaded right, but your GPT with GPT-2's weights gives different logits "
                           f"from GPT2LMHeadModel:\n    expected {describe(want)}\n    but got  {describe(got)}",
                           "The difference is in GPT, Block, MLP or CausalSelfAttention: their own checks point to it.")


# ---------------------------------------------------------------- 7. configure_optimizer

class TiedModel(nn.Module):
    """A small model with matrices, biases, a LayerNorm and a head tied to its embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.hidden = nn.Linear(6, 6)
        self.norm = nn.LayerNorm(6)
        self.head = nn.Linear(6, 10, bias=False)
        self.head.weight = self.embed.weight


def expect_optimizer_groups(ns: Namespace, model: nn.Module, what: str) -> None:
    """configure_optimizer(model, 0.1, 3e-4, (0.9, 0.95)): AdamW, matrices decayed, the rest not, each once."""
    opt = ns.configure_optimizer(model, 0.1, 3e-4, (0.9, 0.95))
    if not isinstance(opt, torch.optim.AdamW):
        raise CheckFailure(f"configure_optimizer should return a torch.optim.AdamW, got {type(opt).__name__}.",
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
            raise CheckFailure(f"for {what}, {name} appears in {len(found)} parameter groups; every parameter must be "
                               "in exactly one.",
                               "Build the groups from model.parameters() (it lists a tied tensor once).")
    one_d = [n for n, p in names.items() if p.dim() < 2 and decay_of[id(p)][0] != 0]
    if one_d:
        raise CheckFailure(f"for {what}, {one_d[0]} (1-D) is decayed: biases and LayerNorm gains should not be decayed "
                           "(weight_decay=0.0).", "Parameters with fewer than 2 dimensions go in a group with "
                           "weight decay 0.0.")
    two_d = [n for n, p in names.items() if p.dim() >= 2 and not math.isclose(decay_of[id(p)][0], 0.1)]
    if two_d:
        raise CheckFailure(f"for {what}, {two_d[0]} (a matrix) has weight decay {decay_of[id(names[two_d[0]])][0]}, "
                           "expected the weight_decay given (0.1).",
                           "Parameters with 2 or more dimensions get weight_decay.")


@lesson.exercise("configure_optimizer", points=1,
                 hint="Two parameter groups for torch.optim.AdamW: the parameters with 2 or more dimensions get "
                      "weight_decay, the others 0.0; each parameter appears once.")
def configure_optimizer(ns: Namespace) -> None:
    expect_optimizer_groups(ns, TiedModel(), "a model with an embedding tied to its head, a Linear and a LayerNorm")


# ---------------------------------------------------------------- 8. get_lr

LR_ARGS = (10, 100, 1e-3, 1e-4)  # warmup_iters, max_iters, max_lr, min_lr
LR_STEPS = [0, 1, 5, 9, 10, 11, 30, 55, 55.5, 80, 99, 100, 101, 150]


def _lr(ns: Namespace, it: float) -> float:
    value = ns.get_lr(it, *LR_ARGS)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CheckFailure(f"get_lr({it}, 10, 100, 1e-3, 1e-4) should be a number, got {describe(value)}.")
    return float(value)


@lesson.exercise("get_lr", points=1,
                 hint="Three cases: the linear warmup (it < warmup_iters), half a cosine from max_lr to min_lr "
                      "between warmup_iters and max_iters, and min_lr after max_iters.")
def get_lr(ns: Namespace) -> None:
    lr = {it: _lr(ns, it) for it in LR_STEPS}
    if math.isclose(lr[0], 1e-3, rel_tol=1e-3):
        raise CheckFailure(f"get_lr(0, 10, 100, 1e-3, 1e-4) = {lr[0]:.3g}: the learning rate starts at max_lr, there is "
                           "no warmup.", "For it < warmup_iters the learning rate grows along a straight line.")
    if lr[150] < 1e-5 or lr[100] < 1e-5:
        raise CheckFailure(f"at and after max_iters the learning rate is {lr[100]:.3g} and {lr[150]:.3g}; it should "
                           "settle at min_lr = 1e-4, not 0.", "The cosine goes from max_lr down to min_lr, not to 0.")
    warmup = [lr[it] for it in (0, 1, 5, 9)]
    if not 0 < warmup[0] < 1e-3 or any(b <= a for a, b in zip(warmup, warmup[1:])):
        raise CheckFailure(f"during the warmup (it = 0, 1, 5, 9 of 10) the learning rate should grow from a small "
                           f"value towards max_lr = 1e-3, got {[f'{v:.3g}' for v in warmup]}.",
                           "The warmup is a straight line that starts above 0 (the first step moves a little).")
    for it, want, where in ((10, 1e-3, "at the end of the warmup"), (55, 5.5e-4, "half-way through the cosine "
                            "(the mean of max_lr and min_lr)"), (100, 1e-4, "at max_iters"), (150, 1e-4, "after max_iters")):
        if not math.isclose(lr[it], want, rel_tol=1e-6):
            raise CheckFailure(f"get_lr({it}, warmup_iters=10, max_iters=100, max_lr=1e-3, min_lr=1e-4) = {lr[it]:.6g}; "
                               f"{where} it should be {want:g}.")
    decay = [lr[it] for it in LR_STEPS if it >= 10]
    if any(b > a for a, b in zip(decay, decay[1:])):
        raise CheckFailure(f"after the warmup the learning rate should only decrease, got {[f'{v:.3g}' for v in decay]}.")
    stored.expect("get_lr", f"[get_lr(it, 10, 100, 1e-3, 1e-4) for it in {LR_STEPS}]", [lr[it] for it in LR_STEPS],
                  atol=1e-12, rtol=1e-6)


# ---------------------------------------------------------------- 9. estimate_loss

class LossProbe(nn.Module):
    """A model that records how it is called and returns the losses 1, 2, 3, ... in call order."""

    def __init__(self, block_size: int = 4) -> None:
        super().__init__()
        self.config = SimpleNamespace(block_size=block_size)
        self.w = nn.Parameter(torch.ones(()))
        self.calls: list[tuple[bool, bool, tuple[int, ...]]] = []

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls.append((self.training, torch.is_grad_enabled(), tuple(idx.shape)))
        return torch.zeros(*idx.shape, 5) + self.w, self.w * float(len(self.calls))


class BatchRecorder:
    """A stand-in for get_batch: batches of zeros of the asked shape; remembers what it was asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int]] = []

    def __call__(self, data: torch.Tensor, block_size: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls.append((len(data), block_size, batch_size))
        zeros = torch.zeros(batch_size, block_size, dtype=torch.long)
        return zeros, zeros.clone()


@lesson.exercise("estimate_loss", points=1,
                 hint="model.eval(), then the loop under torch.no_grad(), the mean of loss.item() over the batches of "
                      "each split (a Python float), and model.train() before returning.")
def estimate_loss(ns: Namespace) -> None:
    probe, batches = LossProbe(), BatchRecorder()
    probe.train()
    splits = {"train": torch.arange(50), "val": torch.arange(30)}
    with swapped(ns.estimate_loss, get_batch=batches):
        out = ns.estimate_loss(probe, splits, 3, 2)
    if not probe.calls:
        raise CheckFailure("estimate_loss never called the model.")
    if any(training for training, _, _ in probe.calls):
        raise CheckFailure("the model was still in training mode during evaluation: call model.eval() first "
                           "(dropout must be off when measuring).", "model.eval() before the loop, model.train() after.")
    if any(grad for _, grad, _ in probe.calls):
        raise CheckFailure("the evaluation ran with gradients enabled: wrap it in torch.no_grad() (no graph is needed, "
                           "which saves time and memory).", "Put the loop inside `with torch.no_grad():`.")
    if not probe.training:
        raise CheckFailure("after estimate_loss the model is left in evaluation mode: call model.train() before "
                           "returning, or the rest of training runs without dropout.")
    if sorted(set(batches.calls)) != [(30, 4, 2), (50, 4, 2)]:
        raise CheckFailure(f"get_batch was called as (len(data), block_size, batch_size) = {sorted(set(batches.calls))}; "
                           "expected batches of each split with model.config.block_size = 4 and batch_size = 2.",
                           "get_batch(data of the split, model.config.block_size, batch_size).")
    if len(probe.calls) != 6:
        raise CheckFailure(f"the model was called {len(probe.calls)} times for 2 splits and eval_iters=3; expected 6.")
    if not isinstance(out, dict) or set(out) != {"train", "val"}:
        raise CheckFailure(f"estimate_loss should return a dict with the keys of splits, got {describe(out)}.")
    for name, want in (("train", 2.0), ("val", 5.0)):
        value = out[name]
        if isinstance(value, torch.Tensor):
            raise CheckFailure(f"for split {name!r} estimate_loss returned a tensor, {describe(value)}; return a Python "
                               "float, the mean of loss.item(): a number to print, compare and save, which keeps no "
                               "tensor (nor a graph) alive.",
                               "Collect loss.item() for each batch and average those numbers.")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isclose(value, want, rel_tol=1e-6):
            raise CheckFailure(f"for split {name!r} the model's losses were {want - 1:g}, {want:g}, {want + 1:g}; their "
                               f"mean is {want:g}, but estimate_loss returned {describe(value)}.",
                               "Average loss.item() over the eval_iters batches of each split.")


# ---------------------------------------------------------------- 10. filter_logits

def _kept(ns: Namespace, logits: list[list[float]], **kwargs: Any) -> list[list[bool]]:
    got = ns.filter_logits(torch.tensor(logits), **kwargs)
    expect_type(got, torch.Tensor, f"filter_logits(logits, {', '.join(f'{k}={v}' for k, v in kwargs.items())})")
    return torch.isfinite(got).tolist()


def filter_examples(ns: Namespace) -> None:
    """Small worked examples with their answers written out: in place, the token that crosses top_p, ties, empty rows."""
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    before = logits.clone()
    got = ns.filter_logits(logits, top_k=None, top_p=0.7)
    expect_type(got, torch.Tensor, "filter_logits(logits, top_p=0.7)")
    if not torch.equal(logits, before):
        raise CheckFailure("filter_logits changed its input in place; return a new tensor and leave the input as it was.",
                           "Work on a copy: logits.clone().")
    kept = torch.isfinite(got[0]).tolist()
    if not any(kept):
        raise CheckFailure("with probabilities [0.5, 0.3, 0.15, 0.05] and top_p=0.7, filter_logits removed every token: "
                           "a row of -inf has no softmax (it is NaN) and torch.multinomial fails on it.",
                           "The most likely token always stays: nothing ranks above it, so the probability before it, "
                           "0, is below top_p.")
    if kept == [True, False, False, False]:
        raise CheckFailure("with probabilities [0.5, 0.3, 0.15, 0.05] and top_p=0.7, only the first token was kept; "
                           "the token that crosses 0.7 (0.5 + 0.3 = 0.8) must be kept too.",
                           "Keep a token if the probability ranked *before* it (the running sum minus its own) is "
                           "below top_p.")
    if kept != [True, True, False, False]:
        raise CheckFailure(f"with probabilities [0.5, 0.3, 0.15, 0.05] and top_p=0.7 the kept tokens should be the first "
                           f"two; got {kept}.", "Sort in decreasing order; keep while the probability before is < top_p.")
    for top_p in (0.3, 0.01):
        if not any(_kept(ns, [[0.0, -1.0, 2.0, 1.0]], top_p=top_p)[0]):
            raise CheckFailure(f"filter_logits([[0, -1, 2, 1]], top_p={top_p}) removed every token: a row of -inf has "
                               "no softmax (it is NaN) and torch.multinomial fails on it.",
                               "The most likely token always stays in the nucleus.")
    top_1 = _kept(ns, [[0.0, 3.0, 1.0, 2.0, -1.0]], top_k=1)[0]
    if not any(top_1):
        raise CheckFailure("filter_logits([[0, 3, 1, 2, -1]], top_k=1) removed every token, the largest too: a row of "
                           "-inf has no softmax (it is NaN) and torch.multinomial fails on it.",
                           "Remove the logits strictly below the k-th largest: the k-th largest itself stays.")
    kept = _kept(ns, [[0.0, 3.0, 1.0, 2.0, -1.0]], top_k=3)[0]
    if kept != [False, True, True, True, False]:
        raise CheckFailure(f"top_k=3 kept {sum(kept)} tokens of [[0, 3, 1, 2, -1]] ({kept}); expected the 3 largest: "
                           "3, 2 and 1.", "Remove every logit below the k-th largest value.")
    if top_1 != [False, True, False, False, False]:
        raise CheckFailure(f"filter_logits([[0, 3, 1, 2, -1]], top_k=1) should keep only the 3, got kept = {top_1}.")
    kept = _kept(ns, [[1.0, 3.0, 3.0, 2.0, 3.0, 0.0]], top_k=2)[0]
    if kept != [False, True, True, False, True, False]:
        raise CheckFailure(f"top_k=2 on [[1, 3, 3, 2, 3, 0]] kept {kept}: the 2nd largest value is 3, and every logit "
                           "equal to it is kept (the lesson keeps ties with the k-th largest value), so the three 3s "
                           "stay and the rest go.",
                           "Compare each logit with the k-th largest *value*: remove those strictly below it, rather "
                           "than keeping exactly k positions.")


@lesson.exercise("filter_logits", points=2,
                 hint="Work on a copy. top-k: -inf for every logit below the k-th largest value (ties stay). top-p: "
                      "sort in decreasing order and keep a token while the probability ranked above it is below top_p.")
def filter_logits(ns: Namespace) -> None:
    filter_examples(ns)
    g = torch.Generator().manual_seed(7)
    for top_k, top_p in [(None, None), (5, None), (1, None), (None, 0.9), (None, 0.3), (10, 0.8), (50, 0.95), (3, 0.99)]:
        logits = torch.randn(4, 50, generator=g) * 2
        what = f"filter_logits(logits, top_k={top_k}, top_p={top_p}) for logits of shape (4, 50)"
        got = ns.filter_logits(logits.clone(), top_k=top_k, top_p=top_p)
        expect_type(got, torch.Tensor, what)
        want = hf_filter(logits, top_k, top_p)
        if tuple(got.shape) != tuple(want.shape):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected {tuple(want.shape)}.")
        if not torch.equal(torch.isfinite(got), torch.isfinite(want)):
            row = int((torch.isfinite(got) != torch.isfinite(want)).any(-1).nonzero()[0])
            raise CheckFailure(f"{what} keeps {int(torch.isfinite(got[row]).sum())} tokens of row {row}, Hugging Face's "
                               f"TopKLogitsWarper and TopPLogitsWarper keep {int(torch.isfinite(want[row]).sum())}.",
                               "Apply top_k first, then top_p on what is left (sorted in decreasing order); removed "
                               "tokens get -inf.")
        finite = torch.isfinite(want)
        if not torch.equal(got[finite], want[finite]) or (got[~finite] != float("-inf")).any():
            raise CheckFailure(f"{what}: the kept logits changed value, or the removed ones are not -inf.",
                               "Only set the removed entries to float('-inf'); leave the others as they are.")


# ---------------------------------------------------------------- 11. generate

class CountingModel(nn.Module):
    """Predicts (last token + 1) mod V at the last position (all other tokens impossible), token 0 elsewhere;
    records the length of every context it is given."""

    def __init__(self, vocab: int = 5, block_size: int = 6) -> None:
        super().__init__()
        self.vocab = vocab
        self.config = SimpleNamespace(block_size=block_size, vocab_size=vocab)
        self.lengths: list[int] = []

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        self.lengths.append(idx.shape[1])  # a real GPT would fail beyond block_size; this one records it
        logits = torch.full((*idx.shape, self.vocab), -100.0)
        logits[..., 0] = 100.0
        logits[:, -1, :] = -100.0
        logits[:, -1].scatter_(1, (idx[:, -1:] + 1) % self.vocab, 100.0)
        return logits, None


class FixedModel(nn.Module):
    """The same next-token distribution at every position."""

    def __init__(self, probs: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(probs).log()
        self.config = SimpleNamespace(block_size=8, vocab_size=len(probs))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        return self.logits.expand(*idx.shape, -1).clone(), None


class FilterRecorder:
    """A stand-in for filter_logits that changes nothing and remembers how it was called."""

    def __init__(self) -> None:
        self.calls: list[tuple[torch.Tensor, Any, Any]] = []

    def __call__(self, logits: torch.Tensor, top_k: Any = None, top_p: Any = None) -> torch.Tensor:
        self.calls.append((logits.detach().clone(), top_k, top_p))
        return logits.clone()


def frequencies(out: torch.Tensor, vocab: int) -> torch.Tensor:
    return torch.bincount(out[:, -1], minlength=vocab).float() / out.shape[0]


def _rounded(t: torch.Tensor) -> list[float]:
    return [round(v, 3) for v in t.tolist()]


def expect_generate_runs(ns: Namespace) -> None:
    """Shape, cropping, last position, appending: with a model whose next token is certain (shared with grading)."""
    counter = CountingModel()
    start = torch.tensor([[1, 2]])
    out = call_generate(ns, counter, start, 9, top_k=1)
    expect_type(out, torch.Tensor, "generate(model, idx, 9, top_k=1)")
    if tuple(out.shape) != (1, 11):
        raise CheckFailure(f"generate(model, idx of shape (1, 2), 9, top_k=1) should return shape (1, 11), got {tuple(out.shape)}.",
                           "Append each new token to idx along dim 1 and return the whole sequence.")
    if max(counter.lengths) > 6:
        raise CheckFailure(f"the model received a context of {max(counter.lengths)} tokens, but its block_size is 6: "
                           "the context is not cropped (a real GPT has no position beyond block_size).",
                           "Give the model only the last model.config.block_size tokens of idx.")
    want = [1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]
    if out[0].tolist() != want:
        if (out[0, 2:] == 1).all() or (out[0, 2:] == 0).all():
            raise CheckFailure(f"with a model that predicts 'last token + 1', generate produced {out[0].tolist()}: it "
                               "did not use the logits of the last position.",
                               "The next token is predicted by the logits of the last position, [:, -1, :].")
        raise CheckFailure(f"with a model that predicts 'last token + 1' for sure, generate produced {out[0].tolist()}, "
                           f"expected {want}.")
    rows = torch.tensor([[0, 1, 2, 3, 4, 0, 1], [2, 2, 2, 2, 2, 2, 3]])
    out = call_generate(ns, counter, rows, 3)
    if not isinstance(out, torch.Tensor) or out.tolist() != [[0, 1, 2, 3, 4, 0, 1, 2, 3, 4], [2, 2, 2, 2, 2, 2, 3, 4, 0, 1]]:
        raise CheckFailure(f"with a batch of 2 contexts of 7 tokens (longer than block_size 6) and 3 new tokens, "
                           f"generate returned {describe(out)}; each row should continue its own count.")
    if not torch.equal(call_generate(ns, counter, start, 0), start):
        raise CheckFailure("generate(model, idx, 0) should return idx unchanged.")


def expect_sampling(ns: Namespace, fixed: FixedModel, idx: torch.Tensor) -> None:
    """Reproducible with a seed, frequencies of the model's probabilities, temperature sharpens (shared with grading)."""
    torch.manual_seed(0)
    a = call_generate(ns, fixed, idx, 1)
    torch.manual_seed(0)
    b = call_generate(ns, fixed, idx, 1)
    if not torch.equal(a, b):
        raise CheckFailure("two calls after torch.manual_seed(0) sampled different tokens.",
                           "Sample with torch.multinomial (it uses torch's seeded generator).")
    freq = frequencies(a, 3)
    if (freq - torch.tensor([0.6, 0.3, 0.1])).abs().max() > 0.04:
        raise CheckFailure(f"with probabilities [0.6, 0.3, 0.1] and temperature 1, 4000 samples had frequencies "
                           f"{_rounded(freq)}.",
                           "Sample from softmax(logits) with torch.multinomial; do not take the argmax.")
    torch.manual_seed(0)
    freq = frequencies(call_generate(ns, fixed, idx, 1, temperature=0.5), 3)
    sharp = torch.tensor([0.36, 0.09, 0.01]) / 0.46
    if (freq - sharp).abs().max() > 0.04:
        flat = torch.tensor([0.6, 0.3, 0.1]).sqrt()
        flat = flat / flat.sum()
        what = " (it looks like the logits were multiplied by the temperature)" if (freq - flat).abs().max() < 0.04 else ""
        raise CheckFailure(f"with temperature 0.5, the frequencies were {_rounded(freq)}, expected about "
                           f"{_rounded(sharp)}{what}.", "Divide the logits by the temperature before the softmax.")


def expect_filtering_frequencies(ns: Namespace, fixed: FixedModel, idx: torch.Tensor) -> None:
    """top_k, top_p and the temperature before them change which tokens can be drawn (shared with grading)."""
    torch.manual_seed(0)
    freq = frequencies(call_generate(ns, fixed, idx, 1, top_k=2), 3)
    if freq[2] > 0:
        raise CheckFailure("with top_k=2, the third most likely token was still sampled: top_k is ignored.",
                           "Pass top_k and top_p on to filter_logits, before the softmax.")
    torch.manual_seed(0)
    freq = frequencies(call_generate(ns, fixed, idx, 1, top_p=0.5), 3)
    if freq[1] > 0 or freq[2] > 0:
        raise CheckFailure("with top_p=0.5 and probabilities [0.6, 0.3, 0.1], only the first token may be sampled: "
                           "top_p is ignored.", "Pass top_k and top_p on to filter_logits, before the softmax.")
    torch.manual_seed(0)
    freq = frequencies(call_generate(ns, fixed, idx, 1, temperature=2.0, top_p=0.55), 3)
    if freq[1] == 0:
        raise CheckFailure(f"with probabilities [0.6, 0.3, 0.1], temperature 2 and top_p=0.55, only the first token was "
                           "sampled: the temperature was applied after filtering. At temperature 2 the probabilities "
                           "are about [0.47, 0.33, 0.19], so the nucleus of 0.55 holds two tokens.",
                           "Divide the logits by the temperature first, then filter: top-p's nucleus depends on the "
                           "temperature.")
    if freq[2] > 0:
        raise CheckFailure(f"with probabilities [0.6, 0.3, 0.1], temperature 2 and top_p=0.55, the third token was "
                           f"sampled (frequencies {_rounded(freq)}): top_p is ignored.",
                           "Pass top_k and top_p on to filter_logits, before the softmax.")


@lesson.exercise("generate", points=2,
                 hint="Each step: crop the context to its last block_size tokens, take the last position's logits "
                      "divided by the temperature, filter_logits, softmax, torch.multinomial, append.")
def generate(ns: Namespace) -> None:
    recorder = FilterRecorder()
    with swapped(ns.generate, filter_logits=recorder):
        expect_generate_runs(ns)
        fixed = FixedModel([0.6, 0.3, 0.1])
        idx = torch.zeros(4000, 1, dtype=torch.long)
        expect_sampling(ns, fixed, idx)
        recorder.calls.clear()
        torch.manual_seed(0)
        call_generate(ns, fixed, idx[:3], 1, temperature=2.0, top_k=2, top_p=0.55)
    if not recorder.calls:  # the filtering is written inside generate: judge it by what can be drawn
        expect_filtering_frequencies(ns, fixed, idx)
        return
    logits, top_k, top_p = recorder.calls[-1]
    raw = fixed.logits.expand(3, -1)
    if top_k != 2 or top_p != 0.55:
        ignored = " and ".join(name for name, value, want in (("top_k", top_k, 2), ("top_p", top_p, 0.55)) if value != want)
        raise CheckFailure(f"generate(model, idx, 1, temperature=2.0, top_k=2, top_p=0.55) called filter_logits with "
                           f"top_k={top_k}, top_p={top_p}: {ignored} is ignored.",
                           "Pass top_k and top_p on to filter_logits.")
    if tuple(logits.shape) != (3, 3):
        raise CheckFailure(f"filter_logits received logits of shape {tuple(logits.shape)}; expected (B, vocab_size) = "
                           "(3, 3): the logits of the last position of each row.", "logits[:, -1, :].")
    if torch.allclose(logits, raw, atol=1e-6):
        raise CheckFailure("with temperature 2, filter_logits received the model's logits before they were divided by "
                           "the temperature: the temperature is applied after filtering. Top-p's nucleus depends on "
                           "the temperature, so divide first.",
                           "Divide the last position's logits by the temperature, then filter them.")
    if torch.allclose(logits, raw * 2, atol=1e-6):
        raise CheckFailure("with temperature 2, filter_logits received the logits multiplied by the temperature.",
                           "Divide the logits by the temperature.")
    if torch.allclose(logits, (raw / 2).softmax(-1), atol=1e-6):
        raise CheckFailure("filter_logits received probabilities (after the softmax); it filters logits, whose removed "
                           "entries become -inf and then probability 0 in the softmax.",
                           "Divide by the temperature, filter, then softmax.")
    expect_close(logits, raw / 2, "the logits generate passed to filter_logits (model's last position, temperature 2)",
                 "Divide the last position's logits by the temperature, then filter them.")
