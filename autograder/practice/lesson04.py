"""Practice checks for lesson 04 — positional encoding (sinusoidal, rotations, learned, rotary).

Shipped to students: no solution code in here.  The checks test properties first (sines and
cosines stay in [-1, 1]; every position gets its own row; moving one position turns each pair by
the same angle everywhere; R_k is block-diagonal, orthogonal and R_a R_b = R_(a+b); RoPE keeps
every norm and makes q·k depend only on the offset of the two positions), then compare with
stored example outputs (``examples/04_positional_encoding.json``), which also name the known
mistakes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..feedback import close, describe, expect_close, expect_type
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("04", "positional_encoding", "Positional encoding")
stored = lesson.examples

#: float32 angles p·ω reach a few hundred here; their rounding moves sin and cos by ~1e-5.
ATOL = 1e-4


# ---------------------------------------------------------------- helpers (the grading checks use them too)

def randn(*shape: int, seed: int, requires_grad: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).requires_grad_(requires_grad)


def expect_float_tensor(got: Any, shape: tuple[int, ...], what: str, hint: str = "") -> torch.Tensor:
    """``got`` is a finite float32 tensor of ``shape``, or a clear failure."""
    expect_type(got, torch.Tensor, what, hint or "Build the result with torch operations.")
    if tuple(got.shape) != tuple(shape):
        raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected {tuple(shape)}.", hint)
    if got.dtype != torch.float32:
        raise CheckFailure(f"{what} has dtype {got.dtype}, expected torch.float32.",
                           "Work in float32: e.g. torch.arange(n, dtype=torch.float32), and no float64 or numpy "
                           "intermediates.")
    if not torch.isfinite(got).all():
        raise CheckFailure(f"{what} contains NaN or inf: {describe(got)}.", hint)
    return got


# ---------------------------------------------------------------- 1. sinusoidal encoding

def check_sine_range(got: torch.Tensor, what: str) -> None:
    """Sines and cosines never leave [-1, 1]."""
    values = got.detach().abs()
    if values.max().item() > 1 + 1e-6:
        r, c = (int(v) for v in torch.nonzero(values == values.max())[0])
        raise CheckFailure(f"{what}[{r}, {c}] = {got[r, c].item():.4g}, but every entry is a sine or a "
                           "cosine and must lie in [-1, 1].",
                           "Take the sine and cosine of the angles p * w_i; do not store the angles themselves.")


def check_rows_differ(got: torch.Tensor, what: str) -> None:
    """Every position gets its own row."""
    dist = torch.cdist(got.detach().double(), got.detach().double())
    dist.fill_diagonal_(float("inf"))
    if dist.min().item() < 1e-3:
        p, q = (int(v) for v in torch.nonzero(dist == dist.min())[0])
        raise CheckFailure(f"{what}: rows {p} and {q} are (almost) equal: {describe(got[p])}. Two "
                           "positions with the same encoding cannot be told apart.",
                           "Each row must use its own position p = 0, 1, 2, ... in the angle p * w_i.")


def check_steady_turn(got: torch.Tensor, what: str) -> None:
    """Moving one position forward turns each pair (2i, 2i+1) by the same angle at every position:
    the cosine and sine of the turn from row p to row p + 1 do not depend on p."""
    pairs = got.detach().double().reshape(got.shape[0], -1, 2)           # (positions, pairs, 2)
    lengths = pairs.norm(dim=-1)
    if (lengths - 1).abs().max() > 1e-4:
        p, i = (int(v) for v in torch.nonzero((lengths - 1).abs() == (lengths - 1).abs().max())[0])
        raise CheckFailure(f"{what}: the pair of columns ({2 * i}, {2 * i + 1}) of row {p} is "
                           f"{pairs[p, i].tolist()}, of length {lengths[p, i].item():.4f}; a pair (sin a, cos a) "
                           "always lies on the unit circle (length 1). The paper interleaves sines and cosines: column 2i is the sine and "
                           "column 2i+1 the cosine of the same angle.",
                           "Column 2i holds sin(p * w_i) and column 2i+1 holds cos(p * w_i), with the same angle.")
    here, there = pairs[:-1], pairs[1:]
    cos = (here * there).sum(-1)
    sin = here[..., 1] * there[..., 0] - here[..., 0] * there[..., 1]
    spread = torch.maximum(cos.max(0).values - cos.min(0).values, sin.max(0).values - sin.min(0).values)
    if spread.max() > 1e-3:
        i = int(spread.argmax())
        raise CheckFailure(f"{what}: moving one position forward should turn the pair of columns ({2 * i}, "
                           f"{2 * i + 1}) by the same angle w_{i} at every position, but the turn changes along "
                           "the table: the angle does not grow in proportion to the position.",
                           "The angle of pair i at position p is p * w_i: linear in p.")


SINUSOIDAL_CASES = [(1, 2), (10, 4), (20, 16)]
SINUSOIDAL_ROWS = [((200, 32), [1, 50, 199]), ((64, 128), [63])]


@lesson.exercise("sinusoidal_encoding", points=2,
                 hint="PE[p, 2i] is the sine and PE[p, 2i+1] the cosine of the same angle p * w_i, with "
                      "w_i = 10000^(-2i / d_model) and positions p = 0, 1, 2, ...")
def sinusoidal_encoding(ns: Namespace) -> None:
    what = "sinusoidal_encoding(200, 32)"
    table = expect_float_tensor(ns.sinusoidal_encoding(200, 32), (200, 32), what,
                                "Return a (max_len, d_model) tensor: one row per position.")
    check_sine_range(table, what)
    check_rows_differ(table, what)
    check_steady_turn(table, what)
    for max_len, d in SINUSOIDAL_CASES:
        what = f"sinusoidal_encoding({max_len}, {d})"
        got = expect_float_tensor(ns.sinusoidal_encoding(max_len, d), (max_len, d), what,
                                  "Return a (max_len, d_model) tensor: one row per position.")
        stored.expect("sinusoidal_encoding", what, got, atol=ATOL)
    for (max_len, d), rows in SINUSOIDAL_ROWS:
        what = f"sinusoidal_encoding({max_len}, {d})"
        got = expect_float_tensor(ns.sinusoidal_encoding(max_len, d), (max_len, d), what)
        stored.expect("sinusoidal_encoding", f"rows {rows} of {what}", got[rows], atol=ATOL)
    if ns.sinusoidal_encoding(3, 6).requires_grad:
        raise CheckFailure("sinusoidal_encoding returned a tensor that requires grad; the sinusoidal table is "
                           "fixed, not learned.", "Build it from plain tensors (no nn.Parameter).")


# ---------------------------------------------------------------- 2. rotation matrix

def check_block_diagonal(got: torch.Tensor, what: str) -> None:
    d = got.shape[-1]
    block = torch.block_diag(*[torch.ones(2, 2)] * (d // 2)).bool()
    outside = got.detach().abs().masked_fill(block, 0)
    if outside.max().item() > 1e-6:
        r, c = (int(v) for v in torch.nonzero(outside == outside.max())[0])
        raise CheckFailure(f"{what} is not block-diagonal: entry [{r}, {c}] = {got[r, c].item():.4g} should be 0. "
                           "Only the two dimensions of one pair (2i, 2i+1) mix with each other.",
                           "Start from a (d, d) matrix of zeros and fill in the 2x2 block of each pair.")


ROTATION_CASES = [(0, 4), (1, 4), (3, 8), (-2, 8), (7, 32)]


@lesson.exercise("rotation_matrix", points=2,
                 hint="Block i, on rows and columns 2i and 2i+1, is [[cos(k w_i), sin(k w_i)], [-sin(k w_i), "
                      "cos(k w_i)]]; every other entry is 0.")
def rotation_matrix(ns: Namespace) -> None:
    for k, d in ROTATION_CASES:
        what = f"rotation_matrix({k}, {d})"
        got = expect_float_tensor(ns.rotation_matrix(k, d), (d, d), what, "Return a (d_model, d_model) matrix.")
        check_block_diagonal(got, what)
        stored.expect("rotation_matrix", what, got, atol=1e-5)
    d = 16
    R3, R4, R7 = (expect_float_tensor(ns.rotation_matrix(k, d), (d, d), f"rotation_matrix({k}, {d})").double()
                  for k in (3, 4, 7))
    if not close(R3 @ R3.T, torch.eye(d, dtype=torch.float64)):
        raise CheckFailure("rotation_matrix(3, 16) is not orthogonal (R Rᵀ ≠ I): a rotation keeps every length.",
                           "Each 2x2 block must be a rotation: cos on the diagonal, ±sin off it.")
    if not close(R3 @ R4, R7):
        raise CheckFailure("rotation_matrix(3, 16) @ rotation_matrix(4, 16) should equal rotation_matrix(7, 16): "
                           "moving 3 positions, then 4, is moving 7.", "The angle of block i is k * w_i: linear in k.")


# ---------------------------------------------------------------- 3. learned positions

def position_table(module: nn.Module, block_size: int, d: int) -> nn.Parameter:
    """The module's one trainable (block_size, d) table, or a clear failure."""
    tables = [p for p in module.parameters() if tuple(p.shape) == (block_size, d)]
    if len(tables) != 1:
        shapes = [tuple(p.shape) for p in module.parameters()]
        raise CheckFailure(f"LearnedPositionalEmbedding({block_size}, {d}) should own exactly one trainable table of "
                           f"shape ({block_size}, {d}); its parameters have shapes {shapes}.",
                           "An nn.Embedding with block_size rows, stored as self.wpe, creates it and registers it.")
    return tables[0]


def learned_module(ns: Namespace, block_size: int, d: int) -> tuple[nn.Module, torch.Tensor]:
    """The learner's module with its table set to known random values (returned as well)."""
    module = ns.LearnedPositionalEmbedding(block_size, d)
    expect_type(module, nn.Module, f"LearnedPositionalEmbedding({block_size}, {d})",
                "Subclass nn.Module and call super().__init__() first.")
    table = position_table(module, block_size, d)
    W = randn(block_size, d, seed=0)
    with torch.no_grad():
        table.copy_(W)
    return module, W


IN_PLACE = ("forward(x) changed x in place (x += ... or x.add_(...)): the caller's token embeddings were "
            "overwritten, and autograd refuses to change a tensor that requires grad in place.")


def call_forward(module: nn.Module, x: torch.Tensor, block_size: int) -> torch.Tensor:
    """forward(x), checked for the known ways it goes wrong: x changed in place, the whole table added
    (fails unless T = block_size), an error for T = block_size."""
    T = x.shape[1]
    original = x.detach().clone()
    try:
        out = module(x)
    except Exception as error:  # the learner's code may raise anything
        if T == block_size:
            raise CheckFailure(f"forward(x) with T = block_size = {block_size} raised {type(error).__name__} "
                               f"({error}), but T = block_size is allowed: the table has a row for every position "
                               f"0 .. {block_size - 1}.", "Raise only when T > block_size.") from None
        explain_failure(module, original, block_size, error)
    if not torch.equal(x.detach(), original):
        raise CheckFailure(IN_PLACE, "Return x + the position vectors: a new tensor.")
    expect_type(out, torch.Tensor, f"forward(x) for x of shape {tuple(x.shape)}",
                "forward returns x plus the position vectors.")
    return out


def explain_failure(module: nn.Module, x: torch.Tensor, block_size: int, error: Exception) -> None:
    """forward(x) raised ``error`` for T < block_size: say why if it is a known mistake, else re-raise."""
    probe = x.clone()
    try:
        module(probe)  # the same x, without requires_grad
    except Exception:
        pass
    else:
        if not torch.equal(probe, x):
            raise CheckFailure(f"{IN_PLACE} For x that requires grad it raised {type(error).__name__} ({error}).",
                               "Return x + the position vectors: a new tensor.") from None
    try:
        module(torch.zeros(x.shape[0], block_size, x.shape[2]))
    except Exception:
        raise error from None  # fails for every T: let the grader report the error itself
    raise CheckFailure(f"forward(x) works when T = block_size = {block_size} but raised "
                       f"{type(error).__name__} ({error}) for T = {x.shape[1]}: the whole table was added instead of "
                       f"its first T rows. Slice to T: positions 0 .. T-1 only.",
                       "Look up the rows of the positions 0 .. T-1 only.") from None


def check_too_long(module: nn.Module, block_size: int, d: int) -> None:
    """T > block_size raises a ValueError that says so, as the exercise asks."""
    too_long = torch.zeros(1, block_size + 1, d)
    what = f"forward(x) with T = {block_size + 1} > block_size = {block_size}"
    try:
        result = module(too_long)
    except ValueError as error:
        if not str(error).strip():
            raise CheckFailure(f"{what} raised a ValueError without a message; the exercise asks for one that says "
                               "what is wrong.", "Say in the message that T is larger than block_size.") from None
        return
    except Exception as error:  # the learner's code may raise anything
        raise CheckFailure(f"{what} raised {type(error).__name__} ({error}), but the exercise asks for a ValueError "
                           "(the lesson's next cell catches exactly that). An IndexError from the table lookup, or an "
                           "AssertionError (which `python -O` switches off), is not the error the caller expects.",
                           "Compare T with self.block_size first, and raise ValueError with a message that says so.") \
            from None
    raise CheckFailure(f"{what} returned {describe(result)}, but a learned table has no row for position {block_size}: "
                       f"it must raise an error when T > block_size.",
                       "Check T against self.block_size and raise ValueError; never wrap positions around.")


@lesson.exercise("LearnedPositionalEmbedding", points=2,
                 hint="__init__ keeps block_size and an nn.Embedding of block_size rows (self.wpe); forward adds "
                      "the rows of positions 0 .. T-1 to x, after raising ValueError when T > block_size.")
def learned_positional_embedding(ns: Namespace) -> None:
    block_size, d = 8, 6
    module, _ = learned_module(ns, block_size, d)
    out = call_forward(module, randn(3, 5, d, seed=1), block_size)
    stored.expect("LearnedPositionalEmbedding", "forward(x) for x of shape (3, 5, 6), block_size = 8, the table set "
                  "to known values", out, hint="The result is x plus rows 0 .. T-1 of the table, the same for every "
                  "sequence of the batch.")
    full = randn(2, block_size, d, seed=2)
    stored.expect("LearnedPositionalEmbedding", "forward(x) for x of shape (2, 8, 6) (T = block_size)",
                  call_forward(module, full, block_size), hint="Add row t of the table to the token at position t.")

    module, _ = learned_module(ns, block_size, d)
    table = position_table(module, block_size, d)
    x = randn(3, 5, d, seed=1, requires_grad=True)
    out = call_forward(module, x, block_size)
    g = randn(3, 5, d, seed=3)
    (out * g).sum().backward()
    if table.grad is None:
        raise CheckFailure("after backward(), the position table has no gradient: it is not part of the computation.",
                           "Use the module's own parameter (self.wpe), not a copy or a detached tensor.")
    stored.expect("LearnedPositionalEmbedding", "the gradient of the table after forward(x) for x of shape (3, 5, 6)",
                  table.grad, hint="Each used row gets the gradient of its position summed over the batch; unused "
                  "rows get 0.")
    expect_close(x.grad, g, "the gradient of x", "The token embeddings pass through the addition unchanged.")
    check_too_long(module, block_size, d)


# ---------------------------------------------------------------- 4. rotary embeddings

ROPE_CASES = [((2, 6, 8), None, 10, "(B, T, d) = (2, 6, 8)"),
              ((2, 3, 5, 16), None, 11, "(B, H, T, d) = (2, 3, 5, 16)"),
              ((1, 4, 8), [0, 3, 7, 100], 12, "(B, T, d) = (1, 4, 8) with positions = torch.tensor([0, 3, 7, 100])")]


def call_rope(ns: Namespace, x: torch.Tensor, positions: list[int] | None, what: str) -> torch.Tensor:
    """apply_rope(x[, positions]): a new float32 tensor of x's shape, x left as it was."""
    original = x.detach().clone()
    got = ns.apply_rope(x) if positions is None else ns.apply_rope(x, torch.tensor(positions))
    if not torch.equal(x.detach(), original):
        raise CheckFailure(f"{what} changed x in place.",
                           "Build a new tensor: q and k are still needed elsewhere (and autograd needs them).")
    return expect_float_tensor(got, tuple(x.shape), what, "RoPE keeps the shape and dtype of x.")


def check_norms_kept(x: torch.Tensor, got: torch.Tensor, what: str) -> None:
    """A rotation never changes a vector's length."""
    norms_in, norms_out = x.detach().norm(dim=-1), got.detach().norm(dim=-1)
    if not close(norms_out, norms_in, rtol=1e-4):
        raise CheckFailure(f"{what} changed the norms of the vectors (e.g. {norms_in.flatten()[1].item():.4f} -> "
                           f"{norms_out.flatten()[1].item():.4f}); a rotation preserves every norm.",
                           "Rotate each pair (a, b) by its angle; do not just scale it by cos.")


def check_relative(ns: Namespace) -> None:
    """After RoPE, q_m · k_n depends only on the offset n - m."""
    T, d = 12, 16
    q, k = randn(d, seed=13), randn(d, seed=14)
    Q = ns.apply_rope(q.expand(1, T, d).clone())[0]
    K = ns.apply_rope(k.expand(1, T, d).clone())[0]
    scores = Q.detach().double() @ K.detach().double().T  # scores[m, n] = (q at position m) . (k at position n)
    for offset in range(-(T - 1), T):
        diag = scores.diagonal(offset)
        if (diag.max() - diag.min()).item() > 1e-4:
            m = int(diag.argmax()) + max(0, -offset)  # diagonal(offset) holds scores[m, m + offset]
            raise CheckFailure(f"with the same q and k at every position, q_m . k_n should depend only on the offset "
                               f"n - m, but for n - m = {offset} it ranges from {diag.min().item():.4f} to "
                               f"{diag.max().item():.4f} (e.g. at m = {m}): the score still depends on absolute "
                               "positions.",
                               "The angle must grow linearly with the position, angle = p * theta_i, so that "
                               "R(m)^T R(n) = R(n - m).")


@lesson.exercise("apply_rope", points=3,
                 hint="Pair i is (x[..., 2i], x[..., 2i+1]); at position p it turns counter-clockwise by the angle "
                      "p * theta_i, theta_i = base^(-2i / d); positions default to 0 .. T-1. Use torch operations on x "
                      "so that gradients flow.")
def apply_rope(ns: Namespace) -> None:
    results = []
    for shape, positions, seed, name in ROPE_CASES:
        what = f"apply_rope(x) for x of shape {name}"
        x = randn(*shape, seed=seed)
        got = call_rope(ns, x, positions, what)
        check_norms_kept(x, got, what)
        results.append((what, got))
    check_relative(ns)
    for what, got in results:
        stored.expect("apply_rope", what, got, atol=ATOL,
                      hint="Check the pairing (2i, 2i+1), the frequencies theta_i, the direction of the turn and the "
                           "positions.")
    x = randn(2, 5, 8, seed=15)
    what = "apply_rope(x, torch.arange(5)) for x of shape (2, 5, 8)"
    expect_close(call_rope(ns, x, list(range(5)), what), call_rope(ns, x, None, "apply_rope(x)"),
                 f"{what}, compared with apply_rope(x)", "positions=None means torch.arange(T).")

    x = randn(2, 5, 8, seed=16, requires_grad=True)
    what = "apply_rope(x) for x of shape (2, 5, 8) that requires grad"
    out = call_rope(ns, x, None, what)
    if not out.requires_grad:
        raise CheckFailure(f"{what} returned a tensor cut off from autograd (requires_grad is False). In a model, q "
                           "and k come from trainable weights, and their gradient flows back through the rotation; "
                           "the exercise asks for torch operations on x for that reason.",
                           "Compute with torch operations on x: no numpy, .tolist(), .item(), .detach() or new tensors "
                           "built from numbers.")
    (out * randn(2, 5, 8, seed=17)).sum().backward()
    stored.expect("apply_rope", f"the gradient of x after {what}", x.grad, atol=ATOL,
                  hint="Build the result from differentiable torch operations on x.")
