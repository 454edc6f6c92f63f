"""Checks for lesson 03 — input embeddings.

One-hot vectors, embedding as a matrix product and as a row lookup, an embedding module,
parameter counts (one table, then a whole GPT), cosine similarity, nearest neighbours and
a 2-D PCA projection.

References are computed here, independently of the learner's code: ``torch.eye`` and
``F.embedding``, ``torch.nn.Embedding`` with the same weights (values and gradients),
parameter counts from the parameter shapes of a GPT-2 / nanoGPT model (cross-checked against
real ``torch.nn`` modules when small, against GPT-2's published count, and, in
``tests/test_lesson03_extra.py``, against Hugging Face's ``GPT2LMHeadModel``),
``F.cosine_similarity``, and an SVD in float64.

:func:`gpt_param_shapes`, :func:`reference_gpt_param_count` and :func:`gpt_skeleton` are
public so that later lessons (08: training a GPT) can reuse them in their own checks.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import describe, expect_equal, expect_tensor_close
from ..registry import CheckFailure, Namespace

from ..practice.lesson03 import _GPT_FORMULA, lesson

# GPT-2 small (50,257 tokens, 1,024 positions, 12 layers, 768 dims), as published and as
# reported by transformers' GPT2LMHeadModel(GPT2Config()).
GPT2_SMALL_PARAMS = 124_439_808
# sum(p.numel() for p in GPT2LMHeadModel(GPT2Config(vocab_size=100, n_positions=16, n_layer=2,
# n_embd=32, n_head=4, tie_word_embeddings=tied)).parameters()) with transformers 5.x.
# Re-measured against the real model by autograder/tests/test_lesson03_extra.py (importing
# transformers takes seconds, too slow for a check that runs at every click).
HF_TINY_CONFIG = dict(vocab_size=100, block_size=16, n_layer=2, n_embd=32)
HF_TINY_PARAMS = {True: 29_184, False: 32_384}


# ---------------------------------------------------------------- references

def gpt_param_shapes(vocab_size: int, block_size: int, n_layer: int, n_embd: int,
                     bias: bool = True, tied: bool = True) -> dict[str, tuple[int, ...]]:
    """Every parameter tensor of a GPT-2 / nanoGPT model, by nanoGPT's names (a tied head is absent)."""
    d = n_embd
    shapes: dict[str, tuple[int, ...]] = {"wte.weight": (vocab_size, d), "wpe.weight": (block_size, d)}

    def layer_norm(name: str) -> None:
        shapes[f"{name}.weight"] = (d,)
        if bias:
            shapes[f"{name}.bias"] = (d,)

    def linear(name: str, n_in: int, n_out: int) -> None:
        shapes[f"{name}.weight"] = (n_out, n_in)
        if bias:
            shapes[f"{name}.bias"] = (n_out,)

    for i in range(n_layer):
        layer_norm(f"h.{i}.ln_1")
        linear(f"h.{i}.attn.c_attn", d, 3 * d)
        linear(f"h.{i}.attn.c_proj", d, d)
        layer_norm(f"h.{i}.ln_2")
        linear(f"h.{i}.mlp.c_fc", d, 4 * d)
        linear(f"h.{i}.mlp.c_proj", 4 * d, d)
    layer_norm("ln_f")
    if not tied:
        shapes["lm_head.weight"] = (vocab_size, d)
    return shapes


def reference_gpt_param_count(vocab_size: int, block_size: int, n_layer: int, n_embd: int,
                              bias: bool = True, tied: bool = True) -> int:
    """The exact parameter count, summed over :func:`gpt_param_shapes`."""
    shapes = gpt_param_shapes(vocab_size, block_size, n_layer, n_embd, bias, tied)
    return sum(math.prod(shape) for shape in shapes.values())


def gpt_skeleton(vocab_size: int, block_size: int, n_layer: int, n_embd: int,
                 bias: bool = True, tied: bool = True, device: str = "meta") -> nn.Module:
    """The same model as real torch.nn modules (parameters only, no forward), by default on the meta
    device (no memory; its first use costs a few seconds of imports, so checks use the shapes)."""
    d = n_embd

    def block() -> nn.Module:
        return nn.ModuleDict(dict(
            ln_1=nn.LayerNorm(d, bias=bias),
            attn=nn.ModuleDict(dict(c_attn=nn.Linear(d, 3 * d, bias=bias), c_proj=nn.Linear(d, d, bias=bias))),
            ln_2=nn.LayerNorm(d, bias=bias),
            mlp=nn.ModuleDict(dict(c_fc=nn.Linear(d, 4 * d, bias=bias), c_proj=nn.Linear(4 * d, d, bias=bias)))))

    with torch.device(device):
        model = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, d), wpe=nn.Embedding(block_size, d),
            h=nn.ModuleList(block() for _ in range(n_layer)), ln_f=nn.LayerNorm(d, bias=bias),
            lm_head=nn.Linear(d, vocab_size, bias=False)))
    if tied:
        model.lm_head.weight = model.wte.weight  # one tensor, listed once by .parameters()
    return model


def _tensor(value, what: str, hint: str = "") -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise CheckFailure(f"{what} should be a torch.Tensor, but got {describe(value)}.",
                           hint or "Build the result with torch operations, not lists or numpy.")
    return value


def _close(got, want: torch.Tensor, atol: float = 1e-5) -> bool:
    return (isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(want.shape)
            and got.is_floating_point()
            and torch.allclose(got.detach().to(want.dtype), want.detach(), atol=atol, rtol=1e-4))


def _int(value, what: str) -> int:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise CheckFailure(f"{what} should be an int, but got {describe(value)}.",
                           "A count of parameters is a whole number: use integer arithmetic (*, +, //), not /.")
    return int(value)


# ---------------------------------------------------------------- one-hot

@lesson.grading("one_hot")
def check_one_hot(ns: Namespace) -> None:
    cases = [(torch.tensor([2, 0, 4]), 6), (torch.tensor([[1, 1, 0], [3, 2, 4]]), 7),
             (torch.tensor([5]), 9), (torch.tensor([0, 0]), 3), (torch.tensor([], dtype=torch.long), 4)]
    for ids, vocab_size in cases:
        call = f"one_hot(torch.tensor({ids.tolist()}), {vocab_size})"
        got = _tensor(ns.one_hot(ids.clone(), vocab_size), call)
        want = torch.eye(vocab_size)[ids]
        if tuple(got.shape) != tuple(want.shape):
            if (tuple(got.shape) == (vocab_size, *ids.shape)
                    and _close(got.float().movedim(0, -1), want)):
                raise CheckFailure(
                    f"{call} has shape {tuple(got.shape)}: the one-hot is on the wrong axis. Expected shape "
                    f"{tuple(want.shape)}: one row per token, the vocabulary along the LAST dimension.",
                    "Select rows of the identity, torch.eye(vocab_size)[ids], not columns (torch.eye(vocab_size)[:, ids]).")
            if tuple(got.shape[:-1]) == tuple(ids.shape) and got.dim() == ids.dim() + 1:
                raise CheckFailure(
                    f"{call} has shape {tuple(got.shape)}: the last dimension should be vocab_size = "
                    f"{vocab_size}, not {got.shape[-1]}.",
                    "Use vocab_size, not max(ids) + 1: F.one_hot guesses the size unless you pass num_classes.")
            raise CheckFailure(f"{call} has shape {tuple(got.shape)}, expected {tuple(want.shape)} "
                               "(ids.shape + (vocab_size,)).")
        if not got.is_floating_point():
            raise CheckFailure(f"{call} has dtype {got.dtype}: it must be float32, so that it can be "
                               "multiplied with a float weight matrix.", "F.one_hot returns int64: add .float().")
        expect_tensor_close(got, want, call, "Each row has a single 1, at the position given by the id.")


# ---------------------------------------------------------------- one-hot @ W and W[ids]

def _check_rows(ns: Namespace, name: str) -> None:
    """Shared check of embed_onehot and embed_lookup: row i of the result is W[ids[i]]."""
    fn = getattr(ns, name)
    torch.manual_seed(3)
    W = torch.randn(9, 4)  # 9 tokens, 4 dims: not square, so a transposed W changes the shape
    ids = torch.tensor([3, 0, 2, 2, 1])  # every id < 4, so W.T[ids] runs (and is caught below)
    call = f"{name}(torch.tensor({ids.tolist()}), W) with W of shape (9, 4)"
    got = _tensor(fn(ids.clone(), W.clone()), call)
    want = W[ids]
    if tuple(got.shape) == (5, 9) and _close(got, W.T[ids]):
        raise CheckFailure(
            f"{call} returned shape (5, 9), the rows of W.T: the weight was used transposed, so you picked "
            "columns of W. W has one ROW per token (shape vocab_size × d_model); expected shape (5, 4).",
            "Select rows: W[ids], or one_hot(ids, W.shape[0]) @ W. Never W.T.")
    if tuple(got.shape) == (4, 5) and _close(got, want.T):
        raise CheckFailure(f"{call} returned shape (4, 5): the result is transposed. Expected (5, 4), one row "
                           "per token.", "Compute one_hot(ids, W.shape[0]) @ W, not W.T @ one_hot.T.")
    expect_tensor_close(got, want, call, "Row i of the result must be row ids[i] of W.")

    ids = torch.tensor([[8, 1, 1], [0, 5, 7]])
    call = f"{name}(ids of shape (2, 3), W of shape (9, 4))"
    W = W.clone().requires_grad_()
    got = _tensor(fn(ids.clone(), W), call)
    want = F.embedding(ids, W.detach())
    if tuple(got.shape) == (6, 4) and _close(got, want.reshape(6, 4)):
        raise CheckFailure(f"{call} returned shape (6, 4): the batch shape was lost; expected (2, 3, 4).",
                           "Use the ids tensor as it is (W[ids] keeps its shape); do not flatten it.")
    expect_tensor_close(got, want, call, "A batch of ids of shape (B, T) gives vectors of shape (B, T, d).")
    if not got.requires_grad:
        raise CheckFailure(f"{call}: the result does not depend on W for autograd (requires_grad is False), "
                           "so no gradient can reach the embedding table.", "Do not use .detach(), .data or numpy.")
    g = torch.randn(2, 3, 4)
    (got * g).sum().backward()
    expect_tensor_close(W.grad, torch.zeros(9, 4).index_add_(0, ids.flatten(), g.reshape(6, 4)),
                        f"the gradient of W after {name}", "Gradient row i is the sum of the output "
                        "gradients at the positions where token i was looked up.")


@lesson.grading("embed_onehot")
def check_embed_onehot(ns: Namespace) -> None:
    _check_rows(ns, "embed_onehot")


@lesson.grading("embed_lookup")
def check_embed_lookup(ns: Namespace) -> None:
    _check_rows(ns, "embed_lookup")


# ---------------------------------------------------------------- the module

@lesson.grading("Embedding")
def check_embedding(ns: Namespace) -> None:
    cls = ns.Embedding
    torch.manual_seed(0)
    emb = cls(10, 4)
    if not isinstance(emb, nn.Module):
        raise CheckFailure(f"Embedding(10, 4) should be an nn.Module, got {describe(emb)}.",
                           "Write `class Embedding(nn.Module):` and call super().__init__() first.")
    weight = getattr(emb, "weight", None)
    if weight is None:
        raise CheckFailure("Embedding(10, 4) has no attribute `weight`.",
                           "Store the table as self.weight, the name torch.nn.Embedding uses.")
    weight = _tensor(weight, "Embedding(10, 4).weight")
    if tuple(weight.shape) == (4, 10):
        raise CheckFailure("Embedding(10, 4).weight has shape (4, 10): it is transposed. Like nn.Embedding, it "
                           "must have one row per token: shape (num_embeddings, embedding_dim) = (10, 4).",
                           "torch.randn(num_embeddings, embedding_dim), and index rows in forward.")
    if tuple(weight.shape) != (10, 4):
        raise CheckFailure(f"Embedding(10, 4).weight has shape {tuple(weight.shape)}, expected (10, 4).")
    if not any(p is weight for p in emb.parameters()):
        raise CheckFailure("Embedding(10, 4).weight is not registered as a parameter: emb.parameters() does not "
                           "contain it, so an optimizer would never update it.",
                           "Wrap the tensor in nn.Parameter(...) when you assign it to self.weight.")

    torch.manual_seed(1)
    big = _tensor(cls(1000, 64).weight, "Embedding(1000, 64).weight").detach().float()
    mean, std = big.mean().item(), big.std().item()
    if std < 1e-6:
        raise CheckFailure(f"every entry of Embedding(1000, 64).weight is {big.flatten()[0].item():.3g}: "
                           "identical vectors can never become different tokens.",
                           "Initialise from N(0, 1) with torch.randn, like nn.Embedding.")
    if big.min() >= 0 and abs(std - 12 ** -0.5) < 0.03:
        raise CheckFailure(f"Embedding(1000, 64).weight looks uniform on [0, 1) (mean {mean:.3f}, std {std:.3f}): "
                           "nn.Embedding initialises from the standard normal N(0, 1).",
                           "Use torch.randn (normal), not torch.rand (uniform).")
    if abs(mean) > 0.02 or not 0.95 < std < 1.05:
        raise CheckFailure(f"Embedding(1000, 64).weight has mean {mean:.3f} and std {std:.3f}; nn.Embedding "
                           "initialises from N(0, 1): mean 0, std 1.",
                           "Use plain torch.randn(num_embeddings, embedding_dim), without rescaling.")

    ref = nn.Embedding(10, 4)
    with torch.no_grad():
        ref.weight.copy_(weight)
    ids = torch.tensor([[1, 3, 3, 7], [7, 1, 0, 3]])  # rows 2, 4, 5, 6, 8, 9 are never looked up
    out = emb(ids)
    expect_tensor_close(out, ref(ids), "Embedding(10, 4)(ids) compared with nn.Embedding with the same weights",
                        "forward returns self.weight[ids]: shape ids.shape + (embedding_dim,).")
    g = torch.randn(2, 4, 4)
    if out.requires_grad:
        (out * g).sum().backward()
    (ref(ids) * g).sum().backward()
    if weight.grad is None:
        raise CheckFailure("after backward(), Embedding.weight.grad is None: no gradient reached the weight, "
                           "so training would never change it.",
                           "Index the parameter itself in forward: no .data, .detach() or torch.no_grad().")
    unused = [r for r in range(10) if r not in ids]
    if weight.grad[unused].abs().sum() > 0:
        raise CheckFailure(f"rows {unused} were never looked up but got a nonzero gradient: {describe(weight.grad)}.",
                           "Only the rows selected by ids take part in the output, so only they get gradient.")
    expect_tensor_close(weight.grad, ref.weight.grad, "Embedding.weight.grad compared with nn.Embedding's",
                        "A token that appears twice collects the gradient of both positions.")


# ---------------------------------------------------------------- parameter counts

@lesson.grading("embedding_params")
def check_embedding_params(ns: Namespace) -> None:
    cases = [(50_257, 768, 38_597_376), (65, 16, None), (100, 32, None), (3000, 64, None), (1, 1, None),
             (32_000, 4096, 131_072_000)]  # GPT-2 small; LLaMA 2 7B
    for vocab_size, d_model, published in cases:
        call = f"embedding_params({vocab_size}, {d_model})"
        got = _int(ns.embedding_params(vocab_size, d_model), call)
        want = published or sum(p.numel() for p in nn.Embedding(vocab_size, d_model).parameters())
        if got == want + d_model:
            raise CheckFailure(f"{call} = {got:,}, expected {want:,}: you added a bias of d_model numbers, but an "
                               "embedding table has no bias; it is only its vocab_size × d_model weights.")
        expect_equal(got, want, call)




def _explain_gpt_count(got: int, want: int, args: tuple, bias: bool, tied: bool, what: str) -> CheckFailure:
    V, T, L, d = args
    ln = 2 * d if bias else d
    b = 1 if bias else 0
    diff = want - got
    call = f"gpt_param_count({V}, {T}, {L}, {d}, bias={bias}, tied={tied})"
    head = f"{call} = {got:,}, expected {want:,} ({what}); you are {abs(diff):,} {'short' if diff > 0 else 'over'}."
    known = [
        (T * d, "That is exactly the learned position embedding wpe (block_size × n_embd).",
         "GPT-2 learns one vector per position as well as per token: add block_size * n_embd."),
        (-V * d if tied else None, "That is exactly vocab_size × n_embd: the LM head was counted although it is "
         "tied to the token embedding.", "With tied=True the head reuses wte's matrix: a shared tensor is counted once."),
        (V * d if not tied else None, "That is exactly vocab_size × n_embd: the untied LM head is missing.",
         "With tied=False the head is a separate d × V matrix (no bias)."),
        (ln, "That is exactly one LayerNorm: the final ln_f after the last block is missing.",
         "GPT-2 normalises once more after the last block (ln_f)."),
        (L * (6 * d * d + 3 * b * d), "That is what an MLP with a hidden layer of n_embd units instead of "
         "4 × n_embd loses in every block.", "c_fc is d × 4d (+4d bias) and c_proj is 4d × d (+d bias)."),
        (-(L * 11 * d + d) if not bias else None, "With bias=False you still counted the biases of every Linear and "
         "LayerNorm.", "bias=False removes all Linear biases and the LayerNorm biases (the gains stay)."),
        (L * 2 * ln, "That is exactly two LayerNorms per block: ln_1 and ln_2 are missing.",
         "Each block has two LayerNorms, ln_1 before attention and ln_2 before the MLP."),
    ]
    for amount, message, hint in known:
        if amount is not None and diff == amount:
            return CheckFailure(f"{head} {message}", hint)
    block = 2 * ln + 12 * d * d + 9 * b * d
    parts = (f"wte {V * d:,} + wpe {T * d:,} + {L} blocks × {block:,} + ln_f {ln:,}"
             + ("" if tied else f" + lm_head {V * d:,}"))
    return CheckFailure(f"{head} The expected total is {parts}.", "Count each part: " + _GPT_FORMULA)


@lesson.grading("gpt_param_count")
def check_gpt_param_count(ns: Namespace) -> None:
    tiny = tuple(HF_TINY_CONFIG.values())
    cases = [
        (tiny, True, True, "transformers' GPT2LMHeadModel for vocab_size=100, n_positions=16, n_layer=2, n_embd=32",
         HF_TINY_PARAMS[True]),
        ((50_257, 1024, 12, 768), True, True, "GPT-2 small, as published", GPT2_SMALL_PARAMS),
        (tiny, True, False, "the same GPT2LMHeadModel with tie_word_embeddings=False", HF_TINY_PARAMS[False]),
        ((65, 64, 3, 48), False, True, "a nanoGPT-style model with bias=False", None),
        ((65, 64, 3, 48), False, False, "a nanoGPT-style model with bias=False and an untied head", None),
        ((50_304, 1024, 12, 768), False, True, "nanoGPT's GPT-2 config with bias=False and the vocabulary padded "
         "to 50,304", None),
        ((1000, 8, 1, 8), True, False, "a one-block model", None),
    ]
    for args, bias, tied, what, published in cases:
        want = reference_gpt_param_count(*args, bias=bias, tied=tied)
        assert published is None or want == published, f"reference count {want} != published {published}"
        if want < 1_000_000:  # small enough to build the real modules in a blink
            model = gpt_skeleton(*args, bias=bias, tied=tied, device="cpu")
            assert want == sum(p.numel() for p in model.parameters()), "reference count != torch.nn modules"
        call = f"gpt_param_count{args} with bias={bias}, tied={tied}"
        got = _int(ns.gpt_param_count(*args, bias=bias, tied=tied), call)
        if got != want:
            raise _explain_gpt_count(got, want, args, bias, tied, what)


# ---------------------------------------------------------------- similarity

def _scaled_rows(seed: int, scales: list[float], d: int) -> torch.Tensor:
    """Random rows with very different lengths, so that length and direction disagree."""
    torch.manual_seed(seed)
    return torch.randn(len(scales), d) * torch.tensor(scales)[:, None]


@lesson.grading("cosine_similarity")
def check_cosine_similarity(ns: Namespace) -> None:
    a = _scaled_rows(5, [0.1, 1.0, 3.0, 10.0, 0.5], 8)
    b = _scaled_rows(6, [2.0, 0.2, 7.0, 1.0], 8)
    call = "cosine_similarity(a, b) with a of shape (5, 8) and b of shape (4, 8)"
    a_in, b_in = a.clone(), b.clone()
    got = _tensor(ns.cosine_similarity(a_in, b_in), call)
    if not (torch.equal(a_in, a) and torch.equal(b_in, b)):
        raise CheckFailure(f"{call} changed its inputs in place.",
                           "Write a_n = a / a.norm(...) (a new tensor), not a /= a.norm(...).")
    want = F.cosine_similarity(a[:, None, :], b[None, :, :], dim=-1)
    if _close(got, want.T):
        raise CheckFailure(f"{call} has shape (4, 5), the transpose of the expected (5, 4): entry [i, j] must "
                           "compare row i of a with row j of b.", "Compute a_n @ b_n.T, not b_n @ a_n.T.")
    if _close(got, a @ b.T, atol=1e-4):
        raise CheckFailure(f"{call} returned the plain dot products a @ b.T: the rows were not normalized, so long "
                           "vectors get large scores whatever their direction. Cosines lie in [-1, 1].",
                           "Divide each row of a and of b by its length (norm) before the product.")
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    if _close(got, a_n @ b.T, atol=1e-4) or _close(got, a @ b_n.T, atol=1e-4):
        raise CheckFailure(f"{call}: only one of a and b was normalized.", "Normalize the rows of both a and b.")
    if _close(got, (a / a.norm(dim=0)) @ (b / b.norm(dim=0)).T, atol=1e-4):
        raise CheckFailure(f"{call}: the vectors were normalized along the wrong dimension (columns instead of rows).",
                           "Each ROW is a vector: take norms with dim=-1 (and keepdim=True).")
    expect_tensor_close(got, want, f"{call} compared with F.cosine_similarity")
    got = _tensor(ns.cosine_similarity(a, a), "cosine_similarity(a, a)")
    expect_tensor_close(got.diagonal(), torch.ones(5), "the diagonal of cosine_similarity(a, a)",
                        "Every vector has cosine 1 with itself.")


def _ranking(sims: torch.Tensor, idx: int, k: int, largest: bool = True) -> list[int]:
    sims = sims.clone()
    sims[idx] = float("-inf") if largest else float("inf")
    return sims.topk(k, largest=largest).indices.tolist()


def _index_list(value, what: str) -> list[int]:
    if isinstance(value, torch.Tensor):
        if value.dim() != 1 or value.is_floating_point():
            raise CheckFailure(f"{what} should be a 1-D tensor of integer indices, but got {describe(value)}.",
                               "Return the .indices of topk (not its .values).")
        return value.tolist()
    if isinstance(value, (list, tuple)) and all(isinstance(i, numbers.Integral) for i in value):
        return [int(i) for i in value]
    raise CheckFailure(f"{what} should be a tensor of row indices, but got {describe(value)}.",
                       "Return sims.topk(k).indices.")


@lesson.grading("nearest_neighbours")
def check_nearest_neighbours(ns: Namespace) -> None:
    scales = [1.0, 8.0, 0.3, 1.5, 6.0, 0.6, 2.0, 0.2, 9.0, 1.0, 3.0, 0.5, 4.0, 0.8, 1.2, 5.0]
    W = _scaled_rows(11, scales, 6)
    W_n = W / W.norm(dim=1, keepdim=True)
    for idx, k in [(0, 4), (13, 5), (7, 3)]:
        call = f"nearest_neighbours(W, {idx}, {k}) with W of shape {tuple(W.shape)}"
        W_in = W.clone()
        got = _index_list(ns.nearest_neighbours(W_in, idx, k), call)
        if not torch.equal(W_in, W):
            raise CheckFailure(f"{call} changed W in place.", "Compute similarities into a new tensor.")
        want = _ranking(W_n @ W_n[idx], idx, k)
        by_dot = _ranking(W @ W[idx], idx, k)
        assert by_dot != want, "the test matrix must tell cosine and dot product apart"
        if got == want:
            continue
        if len(got) != k:
            raise CheckFailure(f"{call} returned {len(got)} indices, expected k = {k}: {got}.")
        if idx in got:
            raise CheckFailure(f"{call} = {got} includes the query token {idx} itself (its cosine with itself is "
                               f"1, so it always comes first). Expected {want}.",
                               "Set the similarity of idx to -inf before taking the top k.")
        if got == by_dot:
            raise CheckFailure(f"{call} = {got}: these are the nearest by dot product, not by cosine. Expected {want}. "
                               "Long vectors win a dot product whatever their direction.",
                               "Normalize the rows first (use your cosine_similarity).")
        least = _ranking(W_n @ W_n[idx], idx, k, largest=False)
        if got == least or sorted(got) == sorted(least):
            raise CheckFailure(f"{call} = {got}: these are the LEAST similar rows. Expected {want}.",
                               "topk returns the largest values by default; do not pass largest=False or sort ascending.")
        if sorted(got) == sorted(want):
            raise CheckFailure(f"{call} = {got}: the right rows in the wrong order. Expected {want}, most similar first.",
                               "topk already sorts from the largest down.")
        raise CheckFailure(f"{call} = {got}, expected {want} (most similar first, by cosine, without {idx} itself).")


# ---------------------------------------------------------------- PCA

def _pca_data(seed: int, n: int, stds: list[float]) -> torch.Tensor:
    """Points with a clear spectrum (so randomized PCA is accurate too), rotated and shifted off the origin."""
    torch.manual_seed(seed)
    d = len(stds)
    Z = torch.randn(n, d) * torch.tensor(stds)
    rotation = torch.linalg.qr(torch.randn(d, d)).Q
    return Z @ rotation.T + 3 * torch.randn(d)


def _align_signs(got: torch.Tensor, want: torch.Tensor) -> torch.Tensor:
    """Flip each column of got to agree with want: singular vectors are defined up to sign."""
    signs = torch.where((got * want).sum(0) < 0, -1.0, 1.0)
    return got * signs


@lesson.grading("pca_2d")
def check_pca_2d(ns: Namespace) -> None:
    for X in [_pca_data(7, 40, [5.0, 2.0, 0.5, 0.2, 0.1]), _pca_data(8, 6, [4.0, 2.0, 0.3, 0.2, 0.1, 0.1, 0.05, 0.05])]:
        n, d = X.shape
        call = f"pca_2d(X) with X of shape ({n}, {d})"
        X_in = X.clone()
        got = _tensor(ns.pca_2d(X_in), call)
        if not torch.equal(X_in, X):
            raise CheckFailure(f"{call} changed X in place (X -= ... ?).",
                               "Write Xc = X - X.mean(dim=0): a new tensor, so the caller's data stays as it was.")
        Xc = X.double() - X.double().mean(dim=0)
        U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
        want = (Xc @ Vh[:2].T).float()
        if tuple(got.shape) == (d, 2):
            raise CheckFailure(f"{call} has shape ({d}, 2): those look like the two principal directions. Return the "
                               f"points projected onto them, shape ({n}, 2).", "Return Xc @ Vh[:2].T.")
        if tuple(got.shape) == (2, n):
            raise CheckFailure(f"{call} has shape (2, {n}): it is transposed; expected ({n}, 2), one row per point.")
        if tuple(got.shape) != (n, 2):
            raise CheckFailure(f"{call} has shape {tuple(got.shape)}, expected ({n}, 2).")
        got = got.detach().float()
        if torch.isnan(got).any():
            raise CheckFailure(f"{call} contains NaN: {describe(got)}.")
        if torch.allclose(_align_signs(got, want), want, atol=1e-3, rtol=1e-3):
            continue
        means = got.mean(dim=0)
        if means.abs().max() > 1e-3:
            raise CheckFailure(f"{call}: the projected points have mean ({means[0]:.3f}, {means[1]:.3f}), not 0: X was not centred "
                               "(PCA measures variance around the mean).",
                               "Subtract the column means, X - X.mean(dim=0), before the SVD and project the centred data.")
        smallest = (Xc @ Vh[-2:].T).float()
        if any(torch.allclose(_align_signs(got[:, order], smallest), smallest, atol=1e-3, rtol=1e-3)
               for order in ([0, 1], [1, 0])):
            raise CheckFailure(f"{call} projects onto the two directions of SMALLEST variance.",
                               "Keep the directions of largest variance: the first two rows of Vh (singular values "
                               "come sorted from largest to smallest).")
        swapped = got[:, [1, 0]]
        if torch.allclose(_align_signs(swapped, want), want, atol=1e-3, rtol=1e-3):
            raise CheckFailure(f"{call}: the two columns are swapped. Column 0 must be the direction of largest variance.")
        unit = U[:, :2].float()
        if torch.allclose(_align_signs(got, unit), unit, atol=1e-3, rtol=1e-3):
            raise CheckFailure(f"{call} returned U[:, :2], whose columns have length 1: the spread along each "
                               "direction (its variance) is lost.",
                               "Scale by the singular values, U[:, :2] * S[:2], which equals Xc @ Vh[:2].T.")
        variances = got.var(dim=0)
        expected_var = S[:2] ** 2 / (n - 1)
        raise CheckFailure(f"{call} differs from the reference (up to the sign of each column). Expected column "
                           f"variances ({expected_var[0]:.4f}, {expected_var[1]:.4f}), got ({variances[0]:.4f}, "
                           f"{variances[1]:.4f}).\n"
                           f"    expected {describe(want)}\n    but got  {describe(got)}",
                           lesson.get("pca_2d").hint)


