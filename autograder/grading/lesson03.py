"""Grading checks for lesson 03 — input embeddings.

They run on top of the practice checks (``autograder/practice/lesson03.py``), on the same inputs,
and compare with references computed here: ``torch.eye`` and ``F.embedding``, ``nn.Embedding`` with
the same weights on other sizes, the parameter count of the course's reference GPT
(:mod:`autograder.reference.embeddings`), ``F.cosine_similarity`` and an exact SVD in float64.  When a
result is wrong they name the mistake (the one-hot on the wrong axis, a transposed table, a head
counted although tied, neighbours by dot product, PCA without centring, ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..feedback import Mistake, close, describe, expect_close
from ..reference import embeddings as ref
from ..registry import CheckFailure, Namespace

from ..practice.lesson03 import (
    GPT_CASES,
    GPT_FORMULA,
    NEIGHBOUR_CASES,
    ONE_HOT_CASES,
    as_int,
    canonical_signs,
    check_copy_first,
    check_embedding_module,
    gpt_call,
    index_list,
    lesson,
    neighbour_call,
    neighbour_tables,
    pca_data,
    scaled_rows,
    table,
    tensor,
)


# ---------------------------------------------------------------- one-hot

@lesson.grading("one_hot")
def check_one_hot(ns: Namespace) -> None:
    cases = [([2, 0], 3), *ONE_HOT_CASES, ([], 4)]
    for ids, vocab_size in cases:
        ids = torch.tensor(ids, dtype=torch.long)
        call = f"one_hot(torch.tensor({ids.tolist()}), {vocab_size})"
        got = tensor(ns.one_hot(ids.clone(), vocab_size), call)
        want = torch.eye(vocab_size)[ids]
        if tuple(got.shape) != tuple(want.shape):
            if tuple(got.shape) == (vocab_size, *ids.shape) and close(got.float().movedim(0, -1), want):
                raise CheckFailure(
                    f"{call} has shape {tuple(got.shape)}: the one-hot is on the wrong axis. Expected shape "
                    f"{tuple(want.shape)}: one row per token, the vocabulary along the LAST dimension.",
                    "Select rows of the identity matrix (one per id), not its columns.")
            if tuple(got.shape[:-1]) == tuple(ids.shape) and got.dim() == ids.dim() + 1:
                raise CheckFailure(
                    f"{call} has shape {tuple(got.shape)}: the last dimension should be vocab_size = "
                    f"{vocab_size}, not {got.shape[-1]}.",
                    "Use vocab_size, not max(ids) + 1: F.one_hot guesses the size unless you pass num_classes.")
            raise CheckFailure(f"{call} has shape {tuple(got.shape)}, expected {tuple(want.shape)} "
                               "(ids.shape + (vocab_size,)).")
        if not got.is_floating_point():
            raise CheckFailure(f"{call} has dtype {got.dtype}: it must be float32, so that it can be "
                               "multiplied with a float weight matrix.", "F.one_hot returns int64: convert to float.")
        expect_close(got, want, call, "Each row has a single 1, at the position given by the id.")


# ---------------------------------------------------------------- one-hot @ W and W[ids]

def _check_rows(ns: Namespace, name: str) -> None:
    """embed_onehot and embed_lookup: row i of the result is W[ids[i]], with the known mistakes named."""
    fn = getattr(ns, name)
    W = table()
    ids = torch.tensor([3, 0, 2, 2, 1])
    call = f"{name}(torch.tensor({ids.tolist()}), W) with W of shape (9, 4)"
    got = tensor(fn(ids.clone(), W.clone()), call)
    expect_close(got, W[ids], call, "Row i of the result must be row ids[i] of W.", mistakes=[
        Mistake(W.T[ids], "the result has shape (5, 9), the rows of W.T: the weight was used transposed, so you "
                "picked columns of W. W has one ROW per token (shape vocab_size × d_model); expected shape (5, 4).",
                "Select rows of W itself (the vocabulary size is W.shape[0]); never W.T."),
        Mistake(W[ids].T, "the result has shape (4, 5): it is transposed. Expected (5, 4), one row per token.",
                "Put the one-hot rows on the left of the product, W on the right."),
    ])

    ids = torch.tensor([[8, 1, 1], [0, 5, 7]])
    call = f"{name}(ids of shape (2, 3), W of shape (9, 4))"
    W_grad = W.clone().requires_grad_()
    got = tensor(fn(ids.clone(), W_grad), call)
    want = F.embedding(ids, W)
    expect_close(got, want, call, "A batch of ids of shape (B, T) gives vectors of shape (B, T, d).", mistakes=[
        Mistake(want.reshape(6, 4), "the result has shape (6, 4): the batch shape was lost; expected (2, 3, 4).",
                "Use the ids tensor as it is (indexing keeps its shape); do not flatten it."),
    ])
    if not got.requires_grad:
        raise CheckFailure(f"{call}: the result does not depend on W for autograd (requires_grad is False), "
                           "so no gradient can reach the embedding table.", "Do not use .detach(), .data or numpy.")
    g = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(4))
    (got * g).sum().backward()
    expect_close(W_grad.grad, torch.zeros(9, 4).index_add_(0, ids.flatten(), g.reshape(6, 4)),
                 f"the gradient of W after {name}", "Gradient row i is the sum of the output gradients at the "
                 "positions where token i was looked up.")


@lesson.grading("embed_onehot")
def check_embed_onehot(ns: Namespace) -> None:
    _check_rows(ns, "embed_onehot")


@lesson.grading("embed_lookup")
def check_embed_lookup(ns: Namespace) -> None:
    _check_rows(ns, "embed_lookup")


# ---------------------------------------------------------------- the module

@lesson.grading("Embedding")
def check_embedding(ns: Namespace) -> None:
    """Other sizes and random ids than the practice check, against nn.Embedding."""
    g = torch.Generator().manual_seed(20)
    with torch.random.fork_rng(devices=[]):
        check_embedding_module(ns, 7, 5, torch.randint(0, 7, (3, 6), generator=g), seed=21)
        check_embedding_module(ns, 50, 3, torch.randint(0, 50, (40,), generator=g), seed=22)


# ---------------------------------------------------------------- parameter counts

def _explain_gpt_count(got: int, want: int, args: tuple, bias: bool, tied: bool, what: str) -> CheckFailure:
    """Name the part of the model that a wrong count misses or counts twice."""
    V, T, L, d = args
    ln = 2 * d if bias else d
    b = 1 if bias else 0
    diff = want - got
    head = (f"{gpt_call(args, bias, tied)} = {got:,}, expected {want:,} ({what}); you are {abs(diff):,} "
            f"{'short' if diff > 0 else 'over'}.")
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
    return CheckFailure(f"{head} The expected total is {parts}.", "Count each part: " + GPT_FORMULA)


@lesson.grading("gpt_param_count")
def check_gpt_param_count(ns: Namespace) -> None:
    for args, bias, tied, what, published in GPT_CASES:
        want = ref.gpt_param_count(*args, bias=bias, tied=tied)
        assert published is None or want == published, f"reference count {want} != published {published}"
        got = as_int(ns.gpt_param_count(*args, bias=bias, tied=tied), gpt_call(args, bias, tied))
        if got != want:
            raise _explain_gpt_count(got, want, args, bias, tied, what)


# ---------------------------------------------------------------- similarity and neighbours

@lesson.grading("cosine_similarity")
def check_cosine_similarity(ns: Namespace) -> None:
    a = scaled_rows(5, [0.1, 1.0, 3.0, 10.0, 0.5], 8)
    b = scaled_rows(6, [2.0, 0.2, 7.0, 1.0], 8)
    call = "cosine_similarity(a, b) with a of shape (5, 8) and b of shape (4, 8)"
    got = tensor(ns.cosine_similarity(a.clone(), b.clone()), call)
    want = F.cosine_similarity(a[:, None, :], b[None, :, :], dim=-1)
    a_n, b_n = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    expect_close(got, want, f"{call} compared with F.cosine_similarity", atol=1e-5, rtol=1e-4, mistakes=[
        Mistake(want.T, "the result has shape (4, 5), the transpose of the expected (5, 4): entry [i, j] must "
                "compare row i of a with row j of b.", "Put the rows of a on the left of the product."),
        Mistake(a @ b.T, "these are the plain dot products a @ b.T: the rows were not normalized, so long vectors "
                "get large scores whatever their direction. Cosines lie in [-1, 1].",
                "Divide each row of a and of b by its length (norm) before the product."),
        Mistake(a_n @ b.T, "only a was normalized.", "Normalize the rows of both a and b."),
        Mistake(a @ b_n.T, "only b was normalized.", "Normalize the rows of both a and b."),
        Mistake((a / a.norm(dim=0)) @ (b / b.norm(dim=0)).T, "the vectors were normalized along the wrong "
                "dimension (columns instead of rows).", "Each ROW is a vector: take norms along the last dimension "
                "(dim=-1, keepdim=True)."),
    ])


def _ranking(sims: torch.Tensor, idx: int, k: int, largest: bool = True) -> list[int]:
    sims = sims.clone()
    sims[idx] = float("-inf") if largest else float("inf")
    return sims.topk(k, largest=largest).indices.tolist()


@lesson.grading("nearest_neighbours")
def check_nearest_neighbours(ns: Namespace) -> None:
    tables = neighbour_tables()
    for t, idx, k in NEIGHBOUR_CASES:
        table_name, W = tables[t]
        call = neighbour_call(table_name, idx, k)
        got = index_list(ns.nearest_neighbours(W.clone(), idx, k), call)
        W_n = F.normalize(W, dim=1)
        sims = W_n @ W_n[idx]
        want = _ranking(sims, idx, k)
        if got == want:
            continue
        if len(got) != k:
            raise CheckFailure(f"{call} returned {len(got)} indices, expected k = {k}: {got}.")
        if t == 1:
            check_copy_first(got, idx, call)
        if idx in got:
            raise CheckFailure(f"{call} = {got} includes the query token {idx} itself (its cosine with itself is "
                               f"1, so it always comes first). Expected {want}.",
                               "Give the similarity of idx itself -inf before taking the top k.")
        if got == _ranking(W @ W[idx], idx, k):
            raise CheckFailure(f"{call} = {got}: these are the nearest by dot product, not by cosine. Expected {want}. "
                               "Long vectors win a dot product whatever their direction.",
                               "Normalize the rows first (use your cosine_similarity).")
        least = _ranking(sims, idx, k, largest=False)
        if got == least or sorted(got) == sorted(least):
            raise CheckFailure(f"{call} = {got}: these are the LEAST similar rows. Expected {want}.",
                               "topk returns the largest values by default; do not pass largest=False or sort ascending.")
        if sorted(got) == sorted(want):
            raise CheckFailure(f"{call} = {got}: the right rows in the wrong order. Expected {want}, most similar first.",
                               "topk already sorts from the largest down.")
        raise CheckFailure(f"{call} = {got}, expected {want} (most similar first, by cosine, without {idx} itself).")


# ---------------------------------------------------------------- PCA

@lesson.grading("pca_2d")
def check_pca_2d(ns: Namespace) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # a randomized method then gives the same numbers at every run
        _check_pca_2d(ns)


def _check_pca_2d(ns: Namespace) -> None:
    for seed, n, stds in [(7, 40, [5.0, 2.0, 0.5, 0.2, 0.1]), (8, 6, [4.0, 2.0, 0.3, 0.2, 0.1, 0.1, 0.05, 0.05]),
                          (9, 30, [3.0, 1.0, 0.8, 0.1])]:
        X = pca_data(seed, n, stds)
        d = X.shape[1]
        call = f"pca_2d(X) for X of shape ({n}, {d}) (seed {seed})"
        got = tensor(ns.pca_2d(X.clone()), call)
        want = ref.pca_2d(X)
        Xc = X.double() - X.double().mean(dim=0)
        U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
        if tuple(got.shape) == (d, 2) and d != n:
            raise CheckFailure(f"{call} has shape ({d}, 2): those look like the two principal directions. Return the "
                               f"points projected onto them, shape ({n}, 2).",
                               "Project the centred rows onto the two directions (a matrix product).")
        if tuple(got.shape) == (2, n):
            raise CheckFailure(f"{call} has shape (2, {n}): it is transposed; expected ({n}, 2), one row per point.")
        if tuple(got.shape) != (n, 2):
            raise CheckFailure(f"{call} has shape {tuple(got.shape)}, expected ({n}, 2).")
        got = canonical_signs(got.detach()).double()
        if not torch.isfinite(got).all():
            raise CheckFailure(f"{call} contains NaN or inf: {describe(got)}.")
        if close(got, canonical_signs(want), atol=1e-3, rtol=1e-3):
            continue
        means = got.mean(dim=0)
        if means.abs().max() > 1e-3:
            raise CheckFailure(f"{call}: the projected points have mean ({means[0]:.3f}, {means[1]:.3f}), not 0: X was "
                               "not centred (PCA measures variance around the mean).",
                               "Subtract the column means of X before the SVD, and project the centred data.")
        smallest = Xc @ Vh[-2:].T
        if any(close(got[:, order], canonical_signs(smallest), atol=1e-3, rtol=1e-3) for order in ([0, 1], [1, 0])):
            raise CheckFailure(f"{call} projects onto the two directions of SMALLEST variance.",
                               "Keep the directions of largest variance: the first two rows of Vh (singular values "
                               "come sorted from largest to smallest).")
        if close(got[:, [1, 0]], canonical_signs(want), atol=1e-3, rtol=1e-3):
            raise CheckFailure(f"{call}: the two columns are swapped. Column 0 must be the direction of largest variance.")
        if close(got, canonical_signs(U[:, :2]), atol=1e-3, rtol=1e-3):
            raise CheckFailure(f"{call} returned U[:, :2], whose columns have length 1: the spread along each "
                               "direction (its variance) is lost.",
                               "Scale each column of U by its singular value: that equals the projection of the "
                               "centred data.")
        variances = got.var(dim=0)
        expected_var = S[:2] ** 2 / (n - 1)
        if close(variances, expected_var, atol=0.0, rtol=0.05):
            raise CheckFailure(f"{call} is close to the exact PCA but not equal to it (up to the sign of each column): "
                               f"column variances ({variances[0]:.4f}, {variances[1]:.4f}), exact "
                               f"({expected_var[0]:.4f}, {expected_var[1]:.4f}). The projection is only approximate, "
                               "as a randomized method such as torch.pca_lowrank gives.\n"
                               f"    expected {describe(canonical_signs(want).float())}\n"
                               f"    but got  {describe(got.float())}",
                               "Use the exact SVD of the centred data (torch.linalg.svd), as the exercise asks.")
        raise CheckFailure(f"{call} differs from the exact PCA (up to the sign of each column). Expected column "
                           f"variances ({expected_var[0]:.4f}, {expected_var[1]:.4f}), got ({variances[0]:.4f}, "
                           f"{variances[1]:.4f}).\n"
                           f"    expected {describe(canonical_signs(want).float())}\n    but got  {describe(got.float())}",
                           lesson.get("pca_2d").hint)
