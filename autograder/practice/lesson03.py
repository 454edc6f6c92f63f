"""Practice checks for lesson 03 — input embeddings.

Shipped to students: no solution code in here.  Expected values come from what the lesson names
as the reference (``torch.nn.Embedding`` and its functional form ``F.embedding``,
``F.cosine_similarity``, the parameter counts Hugging Face's ``GPT2LMHeadModel`` reports, written
out as numbers), from properties (a lookup never reads the rows it does not select, inputs stay
unchanged, every vector has cosine 1 with itself), from a PCA example whose answer is known by
construction, and from stored example outputs (``examples/03_embeddings.json``), which also name
the known mistakes.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..feedback import close, describe, expect_close
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("03", "embeddings", "Input embeddings")
stored = lesson.examples

GPT_FORMULA = ("wte V×d, wpe T×d; per block: ln_1 and ln_2 (d, +d with bias), c_attn d×3d (+3d), c_proj d×d (+d), "
               "c_fc d×4d (+4d), c_proj 4d×d (+d); ln_f; the head adds V×d only when untied.")


# ---------------------------------------------------------------- helpers (the grading checks use them too)

def tensor(value: Any, what: str, hint: str = "") -> torch.Tensor:
    """``value``, failing with a clear message unless it is a tensor."""
    if not isinstance(value, torch.Tensor):
        raise CheckFailure(f"{what} should be a torch.Tensor, but got {describe(value)}.",
                           hint or "Build the result with torch operations, not lists or numpy.")
    return value


def as_int(value: Any, what: str) -> int:
    """A whole number (a Python int, or a one-element integer tensor), or a clear failure."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise CheckFailure(f"{what} should be an int, but got {describe(value)}.",
                           "A count of parameters is a whole number: use integer arithmetic (*, +, //), not /.")
    return int(value)


def index_list(value: Any, what: str) -> list[int]:
    """Row indices as a list of ints (from a 1-D integer tensor or a list), or a clear failure."""
    if isinstance(value, torch.Tensor):
        if value.dim() != 1 or value.is_floating_point():
            raise CheckFailure(f"{what} should be a 1-D tensor of integer indices, but got {describe(value)}.",
                               "Return the indices that topk gives (not its values).")
        return [int(i) for i in value.tolist()]
    if isinstance(value, (list, tuple)) and all(isinstance(i, numbers.Integral) for i in value):
        return [int(i) for i in value]
    raise CheckFailure(f"{what} should be a tensor of row indices, but got {describe(value)}.",
                       "Return the indices of the rows, most similar first.")


def scaled_rows(seed: int, scales: list[float], d: int) -> torch.Tensor:
    """Random rows with very different lengths, so that length and direction disagree."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(len(scales), d, generator=g) * torch.tensor(scales)[:, None]


def unchanged(before: torch.Tensor, after: torch.Tensor, what: str, hint: str) -> None:
    if not torch.equal(before, after):
        raise CheckFailure(f"{what} changed its input in place.", hint)


# ---------------------------------------------------------------- 1. one-hot

ONE_HOT_CASES = [([2, 0, 4], 6), ([[1, 1, 0], [3, 2, 4]], 7), ([5], 9), ([0, 0], 3)]


@lesson.exercise("one_hot", points=1,
                 hint="Each id becomes a row of vocab_size numbers, all 0 except a 1 at the id's position; "
                      "the vocabulary is the last axis, and the result is float32.")
def one_hot(ns: Namespace) -> None:
    got = tensor(ns.one_hot(torch.tensor([2, 0]), 3), "one_hot(torch.tensor([2, 0]), 3)")
    stored.expect("one_hot", "one_hot(torch.tensor([2, 0]), 3), the example of the exercise", got,
                  torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), "One row per id, with its 1 at the id's position.")
    for ids, vocab_size in ONE_HOT_CASES:
        call = f"one_hot(torch.tensor({ids}), {vocab_size})"
        stored.expect("one_hot", call, tensor(ns.one_hot(torch.tensor(ids), vocab_size), call))
    call = "one_hot(torch.tensor([], dtype=torch.long), 4)"
    stored.expect("one_hot", call, tensor(ns.one_hot(torch.tensor([], dtype=torch.long), 4), call),
                  hint="No ids give an empty batch of rows: shape (0, vocab_size).")


# ---------------------------------------------------------------- 2-3. one-hot @ W and row lookup

def table(seed: int = 3) -> torch.Tensor:
    """A (9, 4) table: 9 tokens, 4 dims, not square, so that a transposed W changes the shape."""
    return torch.randn(9, 4, generator=torch.Generator().manual_seed(seed))


def check_rows(ns: Namespace, name: str) -> None:
    """embed_onehot and embed_lookup: row i of the result is row ids[i] of W, as nn.Embedding's
    lookup (F.embedding) gives it, and the gradient reaches exactly the rows that were looked up."""
    fn = getattr(ns, name)
    W = table()
    ids = torch.tensor([3, 0, 2, 2, 1])  # every id < 4, so that W.T[ids] runs (and is recognised)
    call = f"{name}(torch.tensor({ids.tolist()}), W) with W of shape (9, 4)"
    W_in = W.clone()
    got = tensor(fn(ids.clone(), W_in), call)
    unchanged(W, W_in, call, "Select rows of W into a new tensor; do not write into W.")
    stored.expect(name, call, got, F.embedding(ids, W), "Row i of the result must be row ids[i] of W.")

    ids = torch.tensor([[8, 1, 1], [0, 5, 7]])
    call = f"{name}(ids of shape (2, 3), W of shape (9, 4))"
    W_grad = W.clone().requires_grad_()
    got = tensor(fn(ids.clone(), W_grad), call)
    stored.expect(name, call, got, F.embedding(ids, W),
                  "A batch of ids of shape (B, T) gives vectors of shape (B, T, d).")
    if not got.requires_grad:
        raise CheckFailure(f"{call}: the result does not depend on W for autograd (requires_grad is False), "
                           "so no gradient can reach the embedding table.", "Do not use .detach(), .data or numpy.")
    g = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(4))
    (got * g).sum().backward()
    W_ref = W.clone().requires_grad_()
    (F.embedding(ids, W_ref) * g).sum().backward()
    expect_close(W_grad.grad, W_ref.grad, f"the gradient of W after {call}, compared with nn.Embedding's",
                 "Gradient row i is the sum of the output gradients at the positions where token i was looked up.")


@lesson.exercise("embed_onehot", points=1,
                 hint="Build the one-hot rows (the vocabulary size is the number of rows of W) and multiply them "
                      "by W, which has one row per token.")
def embed_onehot(ns: Namespace) -> None:
    check_rows(ns, "embed_onehot")


def check_reads_only_selected_rows(ns: Namespace) -> None:
    """A lookup never touches the rows it does not select: a NaN in such a row must not matter."""
    W = table()
    W[6] = float("nan")
    ids = torch.tensor([3, 0, 8, 2])
    call = "embed_lookup(torch.tensor([3, 0, 8, 2]), W) where row 6 of W (never looked up) is NaN"
    got = tensor(ns.embed_lookup(ids, W.clone()), call)
    if got.is_floating_point() and torch.isnan(got).any():
        raise CheckFailure(
            f"{call} contains NaN: {describe(got)}. A lookup reads only the rows it selects, so a NaN in row 6 "
            "cannot reach the result; a product with one-hot vectors reads every row (0 × NaN is NaN). "
            "Exercise 3 asks for the lookup itself, without one-hots.",
            "Index W with the tensor of ids: that selects the rows directly.")
    expect_close(got, F.embedding(ids, W), call, "Row i of the result must be row ids[i] of W.")


@lesson.exercise("embed_lookup", points=1,
                 hint="Index W with the tensor of ids: indexing with a tensor of integers selects rows and keeps "
                      "the shape of the ids.")
def embed_lookup(ns: Namespace) -> None:
    check_rows(ns, "embed_lookup")
    check_reads_only_selected_rows(ns)


# ---------------------------------------------------------------- 4. the module

def check_embedding_module(ns: Namespace, num: int, dim: int, ids: torch.Tensor, seed: int) -> None:
    """Embedding(num, dim) against nn.Embedding with the same weights: outputs and gradients."""
    torch.manual_seed(seed)
    emb = ns.Embedding(num, dim)
    name = f"Embedding({num}, {dim})"
    if not isinstance(emb, nn.Module):
        raise CheckFailure(f"{name} should be an nn.Module, got {describe(emb)}.",
                           "Write `class Embedding(nn.Module):` and call super().__init__() first.")
    weight = getattr(emb, "weight", None)
    if weight is None:
        raise CheckFailure(f"{name} has no attribute `weight`.",
                           "Store the table as self.weight, the name torch.nn.Embedding uses.")
    weight = tensor(weight, f"{name}.weight")
    if tuple(weight.shape) == (dim, num) and num != dim:
        raise CheckFailure(f"{name}.weight has shape {(dim, num)}: it is transposed. Like nn.Embedding, it "
                           f"must have one row per token: shape (num_embeddings, embedding_dim) = {(num, dim)}.",
                           "Create the table with num_embeddings rows and embedding_dim columns, and index rows "
                           "in forward.")
    if tuple(weight.shape) != (num, dim):
        raise CheckFailure(f"{name}.weight has shape {tuple(weight.shape)}, expected {(num, dim)}.")
    if not any(p is weight for p in emb.parameters()):
        raise CheckFailure(f"{name}.weight is not registered as a parameter: emb.parameters() does not "
                           "contain it, so an optimizer would never update it.",
                           "Wrap the tensor in nn.Parameter(...) when you assign it to self.weight.")
    ref = nn.Embedding(num, dim)
    with torch.no_grad():
        ref.weight.copy_(weight)
    out = emb(ids)
    expect_close(out, ref(ids), f"{name}(ids) for ids of shape {tuple(ids.shape)}, compared with nn.Embedding "
                 "with the same weights", "forward returns the rows of self.weight selected by ids: shape "
                 "ids.shape + (embedding_dim,).")
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1))
    if out.requires_grad:
        (out * g).sum().backward()
    (ref(ids) * g).sum().backward()
    if weight.grad is None:
        raise CheckFailure(f"after backward(), {name}.weight.grad is None: no gradient reached the weight, "
                           "so training would never change it.",
                           "Index the parameter itself in forward: no .data, .detach() or torch.no_grad().")
    unused = [r for r in range(num) if r not in ids]
    if unused and weight.grad[unused].abs().sum() > 0:
        raise CheckFailure(f"rows {unused} were never looked up but got a nonzero gradient: {describe(weight.grad)}.",
                           "Only the rows selected by ids take part in the output, so only they get gradient.")
    expect_close(weight.grad, ref.weight.grad, f"{name}.weight.grad compared with nn.Embedding's",
                 "A token that appears twice collects the gradient of both positions.")


def check_initialisation(ns: Namespace) -> None:
    """nn.Embedding initialises from N(0, 1): test the statistics of a big table."""
    torch.manual_seed(1)
    big = tensor(ns.Embedding(1000, 64).weight, "Embedding(1000, 64).weight").detach().float()
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
                           "Sample the table with torch.randn, without rescaling it.")


@lesson.exercise("Embedding", points=2,
                 hint="__init__ stores a trainable (num_embeddings, embedding_dim) table drawn from N(0, 1) as "
                      "self.weight (an nn.Parameter); forward selects its rows.")
def embedding(ns: Namespace) -> None:
    with torch.random.fork_rng(devices=[]):  # the checks seed torch; the notebook's random state stays as it was
        # rows 2, 4, 5, 6, 8, 9 are never looked up: they must get exactly zero gradient
        check_embedding_module(ns, 10, 4, torch.tensor([[1, 3, 3, 7], [7, 1, 0, 3]]), seed=0)
        check_initialisation(ns)


# ---------------------------------------------------------------- 5-6. parameter counts

EMBEDDING_PARAMS_PUBLISHED = {(50_257, 768): 38_597_376,     # GPT-2 small's token table
                              (32_000, 4096): 131_072_000}   # LLaMA 2 7B's


@lesson.exercise("embedding_params", points=1,
                 hint="An embedding table holds one vector of d_model numbers per token, and nothing else.")
def embedding_params(ns: Namespace) -> None:
    for vocab_size, d_model in [(50_257, 768), (65, 16), (100, 32), (3000, 64), (1, 1), (32_000, 4096)]:
        call = f"embedding_params({vocab_size}, {d_model})"
        got = as_int(ns.embedding_params(vocab_size, d_model), call)
        want = EMBEDDING_PARAMS_PUBLISHED.get((vocab_size, d_model))
        if want is None:
            want = sum(p.numel() for p in nn.Embedding(vocab_size, d_model).parameters())
        if got == want + d_model:
            raise CheckFailure(f"{call} = {got:,}, expected {want:,}: you added a bias of d_model numbers, but an "
                               "embedding table has no bias; it is only its vocab_size × d_model weights.")
        if got != want:
            raise CheckFailure(f"{call} = {got:,}, expected {want:,} (the number of parameters of "
                               f"nn.Embedding({vocab_size}, {d_model})).")


#: (vocab_size, block_size, n_layer, n_embd), bias, tied, what it is, and the count Hugging Face's
#: GPT2LMHeadModel reports where it is one (None: compared with the stored count).
GPT_CASES = [
    ((100, 16, 2, 32), True, True,
     "transformers' GPT2LMHeadModel for vocab_size=100, n_positions=16, n_layer=2, n_embd=32", 29_184),
    ((50_257, 1024, 12, 768), True, True, "GPT-2 small, as published", 124_439_808),
    ((100, 16, 2, 32), True, False, "the same GPT2LMHeadModel with tie_word_embeddings=False", 32_384),
    ((65, 64, 3, 48), False, True, "a nanoGPT-style model with bias=False", None),
    ((65, 64, 3, 48), False, False, "a nanoGPT-style model with bias=False and an untied head", None),
    ((50_304, 1024, 12, 768), False, True, "nanoGPT's GPT-2 config with bias=False and the vocabulary padded "
     "to 50,304", None),
    ((1000, 8, 1, 8), True, False, "a one-block model", None),
]


def gpt_call(args: tuple[int, ...], bias: bool, tied: bool) -> str:
    return f"gpt_param_count{args} with bias={bias}, tied={tied}"


@lesson.exercise("gpt_param_count", points=2, hint="Count each part: " + GPT_FORMULA)
def gpt_param_count(ns: Namespace) -> None:
    for args, bias, tied, what, published in GPT_CASES:
        call = gpt_call(args, bias, tied)
        got = as_int(ns.gpt_param_count(*args, bias=bias, tied=tied), call)
        if published is None:
            stored.expect("gpt_param_count", f"{call} ({what})", got)
        else:
            stored.expect("gpt_param_count", f"{call} ({what})", got, published)


# ---------------------------------------------------------------- 7-8. similarity and neighbours

@lesson.exercise("cosine_similarity", points=1,
                 hint="Scale every row of a and of b to length 1 (a new tensor, not in place); then one matrix "
                      "product gives every cosine, entry [i, j] for row i of a and row j of b.")
def cosine_similarity(ns: Namespace) -> None:
    a = scaled_rows(5, [0.1, 1.0, 3.0, 10.0, 0.5], 8)
    b = scaled_rows(6, [2.0, 0.2, 7.0, 1.0], 8)
    call = "cosine_similarity(a, b) with a of shape (5, 8) and b of shape (4, 8)"
    a_in, b_in = a.clone(), b.clone()
    got = tensor(ns.cosine_similarity(a_in, b_in), call)
    hint = "Write the normalised rows into new tensors, not with an in-place /=."
    unchanged(a, a_in, call, hint)
    unchanged(b, b_in, call, hint)
    stored.expect("cosine_similarity", f"{call}, compared with F.cosine_similarity", got,
                  F.cosine_similarity(a[:, None, :], b[None, :, :], dim=-1), atol=1e-5, rtol=1e-4)
    got = tensor(ns.cosine_similarity(a, a), "cosine_similarity(a, a)")
    expect_close(got.diagonal(), torch.ones(5), "the diagonal of cosine_similarity(a, a)",
                 "Every vector has cosine 1 with itself.", rtol=1e-4)


NEIGHBOUR_SCALES = [1.0, 8.0, 0.3, 1.5, 6.0, 0.6, 2.0, 0.2, 9.0, 1.0, 3.0, 0.5, 4.0, 0.8, 1.2, 5.0]
#: In the second table row 12 is an exact copy of row 2, and row 5 of row 6 (copy -> original).
COPIES = {12: 2, 5: 6}


def neighbour_tables() -> list[tuple[str, torch.Tensor]]:
    """Rows of very different lengths (so that cosine and dot product disagree), and the same table
    with copied rows: a copy points the same way as its original, so it is a neighbour (the first),
    and the two tie at cosine 1, so which one a sort puts first is not defined."""
    W = scaled_rows(11, NEIGHBOUR_SCALES, 6)
    with_copies = W.clone()
    for copy, original in COPIES.items():
        with_copies[copy] = with_copies[original]
    return [("W of shape (16, 6)", W), ("W2 of shape (16, 6), whose rows 12 and 5 are copies of rows 2 and 6",
                                        with_copies)]


#: (table, idx, k): the second table is queried at rows that have a copy, before and after it.
NEIGHBOUR_CASES = [(0, 0, 4), (0, 13, 5), (0, 7, 3), (1, 2, 4), (1, 12, 3), (1, 6, 4), (1, 5, 3)]


def neighbour_call(table_name: str, idx: int, k: int) -> str:
    name = table_name.split(" ")[0]
    return f"nearest_neighbours({name}, {idx}, {k}) with {table_name}"


def copy_of(idx: int) -> int | None:
    """The other row of the second table that equals row idx, if any."""
    for copy, original in COPIES.items():
        if idx in (copy, original):
            return original if idx == copy else copy
    return None


def check_copy_first(got: list[int], idx: int, call: str) -> None:
    """Row idx has an exact copy: the copy is its nearest neighbour, and idx itself is left out."""
    twin = copy_of(idx)
    if idx in got:
        raise CheckFailure(f"{call} = {got} includes row {idx} itself. Row {twin} is an exact copy of row {idx}, so "
                           f"the two tie at cosine 1 and either may come first: dropping the first result does not "
                           f"reliably drop {idx}.",
                           "Leave out idx by its index (give its similarity -inf before taking the top k), not by its "
                           "place in the ranking.")
    if not got or got[0] != twin:
        raise CheckFailure(f"{call} = {got}: row {twin} is an exact copy of row {idx}; it points the same way "
                           f"(cosine 1), so it is the nearest neighbour and comes first. Only row {idx} itself is "
                           "left out.",
                           "Leave out idx by its index, not every row with cosine 1.")


@lesson.exercise("nearest_neighbours", points=1,
                 hint="Cosines of row idx with every row; leave out the entry of idx itself (by its index); the k "
                      "largest, most similar first.")
def nearest_neighbours(ns: Namespace) -> None:
    tables = neighbour_tables()
    for t, idx, k in NEIGHBOUR_CASES:
        table_name, W = tables[t]
        call = neighbour_call(table_name, idx, k)
        W_in = W.clone()
        got = index_list(ns.nearest_neighbours(W_in, idx, k), call)
        unchanged(W, W_in, call, "Compute the similarities into a new tensor.")
        if t == 1:
            check_copy_first(got, idx, call)
        stored.expect("nearest_neighbours", call, got,
                      hint=f"The k = {k} most similar rows by cosine, most similar first, without row {idx} itself.")


# ---------------------------------------------------------------- 9. PCA

def pca_data(seed: int, n: int, stds: list[float]) -> torch.Tensor:
    """Points with a clear spectrum, rotated and shifted off the origin."""
    g = torch.Generator().manual_seed(seed)
    d = len(stds)
    Z = torch.randn(n, d, generator=g) * torch.tensor(stds)
    rotation = torch.linalg.qr(torch.randn(d, d, generator=g)).Q
    return Z @ rotation.T + 3 * torch.randn(d, generator=g)


def known_pca(seed: int, n: int, d: int, singular_values: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """X = P diag(s) Qᵀ + mean, with P's columns orthonormal and centred and Q's orthonormal, so that
    its PCA is known by construction: the coordinates on the two principal directions are the first
    two columns of P diag(s).  Returns (X in float32, those coordinates in float64)."""
    g = torch.Generator().manual_seed(seed)
    r = len(singular_values)
    A = torch.randn(n, r, generator=g, dtype=torch.float64)
    P = torch.linalg.qr(A - A.mean(dim=0)).Q  # orthonormal columns with mean 0
    Q = torch.linalg.qr(torch.randn(d, r, generator=g, dtype=torch.float64)).Q
    coordinates = P * torch.tensor(singular_values, dtype=torch.float64)
    mean = 3 * torch.randn(d, generator=g, dtype=torch.float64)
    return (coordinates @ Q.T + mean).float(), coordinates[:, :2]


#: singular values 6, 5, then a slowly falling tail from 4.5: an exact SVD separates the first two
#: directions easily, a randomized approximation (torch.pca_lowrank with q=2) does not.
FLAT_SPECTRUM = [6.0, 5.0] + [4.5 - 0.1 * i for i in range(18)]


def canonical_signs(Y: torch.Tensor) -> torch.Tensor:
    """Flip each column so that its entry of largest size is positive: a principal direction and
    its negative are equally valid, so the comparison must not depend on the sign."""
    if Y.dim() != 2 or not Y.is_floating_point() or Y.numel() == 0 or not torch.isfinite(Y).all():
        return Y
    Y = Y.detach()
    rows = Y.abs().argmax(dim=0)
    signs = torch.sign(Y[rows, torch.arange(Y.shape[1])])
    return Y * torch.where(signs == 0, torch.ones_like(signs), signs)


def call_pca(ns: Namespace, X: torch.Tensor, call: str) -> torch.Tensor:
    X_in = X.clone()
    got = tensor(ns.pca_2d(X_in), call)
    unchanged(X, X_in, call, "Centre into a new tensor (X - its column means), so the caller's data stays as it was.")
    return got


@lesson.exercise("pca_2d", points=2,
                 hint="Centre the columns (subtract the column means), take the exact SVD of the centred data, and "
                      "project the centred rows onto the two directions of largest variance.")
def pca_2d(ns: Namespace) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # a randomized method then gives the same numbers at every run
        for seed, n, stds in [(7, 40, [5.0, 2.0, 0.5, 0.2, 0.1]), (8, 6, [4.0, 2.0, 0.3, 0.2, 0.1, 0.1, 0.05, 0.05])]:
            X = pca_data(seed, n, stds)
            call = f"pca_2d(X) for X of shape {tuple(X.shape)} (seed {seed})"
            got = call_pca(ns, X, call)
            stored.expect("pca_2d", f"{call}, each column up to its sign", canonical_signs(got),
                          atol=1e-3, rtol=1e-3, check_dtype=False)
        X, coordinates = known_pca(3, 50, 24, FLAT_SPECTRUM)
        call = "pca_2d(X) for X of shape (50, 24) whose principal directions are known by construction"
        got = canonical_signs(call_pca(ns, X, call))
        want = canonical_signs(coordinates).float()
        if not close(got, want, atol=1e-3, rtol=1e-3):
            error = (got.double() - want.double()).abs().max().item() if got.shape == want.shape else float("nan")
            raise CheckFailure(
                f"{call} is off by up to {error:.3g} (each column up to its sign), although your pca_2d matched the "
                "examples before: the projection is only approximate. After its first two directions this X has "
                "a slowly falling spectrum (singular values 6, 5, 4.5, 4.4, ...), where a randomized method such as "
                "torch.pca_lowrank(X, q=2) cannot tell the directions apart; the exact SVD can.\n"
                f"    expected {describe(want)}\n    but got  {describe(got)}",
                "Use the exact SVD of the centred data (torch.linalg.svd), as the exercise asks.")
