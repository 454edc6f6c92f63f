"""Checks for lesson 04 — positional encoding (sinusoidal, rotations, learned, rotary).

Every reference is computed here in float64, independently of the learner's code: the
sinusoidal table straight from the formula of "Attention Is All You Need", the rotation
matrices entry by entry, and RoPE with complex numbers (``torch.view_as_complex`` times
``torch.polar``), a different route from the real-valued pair rotation the learner writes.
When a result is wrong, the checks compare it with the known-buggy variants (sin/cos
swapped, exponent off by a factor of 2, positions counted from 1, ...) to name the mistake.
"""

from __future__ import annotations

import torch
from torch import nn

from ..feedback import describe, expect_tensor_close, expect_type
from ..registry import CheckFailure, Namespace

from ..practice.lesson04 import lesson

BASE = 10000.0


# ---------------------------------------------------------------- references

def _freqs(d: int, exp_scale: float = 2.0) -> torch.Tensor:
    """omega_i = 10000^(-2i/d) for i = 0 .. d/2 - 1 (exp_scale=2), in float64."""
    i = torch.arange(d // 2, dtype=torch.float64)
    return BASE ** (-(exp_scale * i) / d)


def _ref_pe(max_len: int, d: int, start: int = 0, exp_scale: float = 2.0,
            swap: bool = False, interleave: bool = True) -> torch.Tensor:
    """The sinusoidal table (float64), or one of its known-buggy variants."""
    pos = torch.arange(start, start + max_len, dtype=torch.float64)[:, None]
    angles = pos * _freqs(d, exp_scale)
    sin, cos = angles.sin(), angles.cos()
    if swap:
        sin, cos = cos, sin
    if interleave:
        return torch.stack([sin, cos], dim=-1).flatten(-2)  # columns sin0, cos0, sin1, cos1, ...
    return torch.cat([sin, cos], dim=-1)                     # sin0, sin1, ..., cos0, cos1, ...


def _ref_rotation(k: float, d: int, per_pair_freq: bool = True) -> torch.Tensor:
    """Block-diagonal R_k with PE[p + k] = R_k @ PE[p] (float64)."""
    angles = k * _freqs(d) if per_pair_freq else torch.full((d // 2,), float(k), dtype=torch.float64)
    R = torch.zeros(d, d, dtype=torch.float64)
    for i, a in enumerate(angles.tolist()):
        c, s = torch.tensor(a).cos(), torch.tensor(a).sin()
        R[2 * i, 2 * i], R[2 * i, 2 * i + 1] = c, s
        R[2 * i + 1, 2 * i], R[2 * i + 1, 2 * i + 1] = -s, c
    return R


def _ref_rope(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """RoPE (RoFormer, adjacent pairs) with complex numbers: pair (x_2i, x_2i+1) is
    x_2i + j x_2i+1, multiplied by exp(j * position * theta_i)."""
    d = x.shape[-1]
    angles = positions.to(torch.float64)[:, None] * _freqs(d)            # (T, d/2)
    z = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    rotated = z * torch.polar(torch.ones_like(angles), angles)
    return torch.view_as_real(rotated).flatten(-2)


def _rope_variant(x: torch.Tensor, positions: torch.Tensor, *, pairing: str = "adjacent",
                  sign: float = 1.0, exp_scale: float = 2.0) -> torch.Tensor:
    """Real-valued RoPE with the knobs that the known mistakes turn (float64)."""
    x = x.to(torch.float64)
    d = x.shape[-1]
    angles = sign * positions.to(torch.float64)[:, None] * _freqs(d, exp_scale)
    cos, sin = angles.cos(), angles.sin()
    if pairing == "adjacent":
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]  # "rotate_half": pairs (i, i + d/2)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-4) -> bool:
    return a.shape == b.shape and torch.allclose(a.detach().to(torch.float64), b.to(torch.float64), atol=atol)


def _expect_float_tensor(got, shape: tuple, what: str, hint: str = "") -> None:
    expect_type(got, torch.Tensor, what, hint or "Build the result with torch operations.")
    if tuple(got.shape) != tuple(shape):
        raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected {tuple(shape)}.", hint)
    if got.dtype != torch.float32:
        raise CheckFailure(f"{what} has dtype {got.dtype}, expected torch.float32.",
                           "Work in float32: e.g. torch.arange(n, dtype=torch.float32), and no float64 or numpy "
                           "intermediates.")
    if not torch.isfinite(got).all():
        raise CheckFailure(f"{what} contains NaN or inf: {describe(got)}.", hint)


# ---------------------------------------------------------------- sinusoidal encoding

@lesson.grading("sinusoidal_encoding")
def check_sinusoidal_encoding(ns: Namespace) -> None:
    # Two properties first, on a table big enough to show them.
    what = "sinusoidal_encoding(200, 32)"
    got = ns.sinusoidal_encoding(200, 32)
    _expect_float_tensor(got, (200, 32), what, "Return a (max_len, d_model) tensor: one row per position.")
    # Property 1: sines and cosines never leave [-1, 1].
    if got.abs().max().item() > 1 + 1e-6:
        r, c = (int(v) for v in torch.nonzero(got.abs() == got.abs().max())[0])
        raise CheckFailure(f"{what}[{r}, {c}] = {got[r, c].item():.4g}, but every entry is a sine or a "
                           "cosine and must lie in [-1, 1].",
                           "Take torch.sin / torch.cos of the angles p * w_i; do not store the angles.")
    # Property 2: every position gets its own row.
    dist = torch.cdist(got.detach().double(), got.detach().double())
    dist.fill_diagonal_(float("inf"))
    if dist.min().item() < 1e-3:
        p, q = (int(v) for v in torch.nonzero(dist == dist.min())[0])
        raise CheckFailure(f"{what}: rows {p} and {q} are (almost) equal: {describe(got[p])}. Two "
                           "positions with the same encoding cannot be told apart.",
                           "Each row must use its own position p = 0, 1, 2, ... in the angle p * w_i.")
    # Then every entry, compared with the formula; known mistakes are named.
    for max_len, d in [(1, 2), (10, 4), (50, 16), (64, 128), (200, 32)]:
        what = f"sinusoidal_encoding({max_len}, {d})"
        got = ns.sinusoidal_encoding(max_len, d)
        _expect_float_tensor(got, (max_len, d), what, "Return a (max_len, d_model) tensor: one row per position.")
        want = _ref_pe(max_len, d)
        if _close(got, want):
            continue
        variants = [
            (_ref_pe(max_len, d, swap=True), "sin and cos are swapped: the even columns 2i hold cos and the odd "
             "columns 2i+1 hold sin. The paper puts sin in the even columns (row 0 is [0, 1, 0, 1, ...]).",
             "PE[:, 0::2] = sin(angles), PE[:, 1::2] = cos(angles)."),
            (_ref_pe(max_len, d, exp_scale=1.0), "the exponent is off by a factor of 2: you used 10000^(i/d) with "
             "the pair index i, but the paper's exponent is 2i/d (2i is the even column index).",
             "w_i = 10000 ** (-2i / d_model) for i = 0 .. d_model/2 - 1, i.e. torch.arange(0, d_model, 2) / d_model."),
            (_ref_pe(max_len, d, exp_scale=4.0), "the exponent is off by a factor of 2: you used 10000^(4i/d) "
             "(the column index 2i doubled again), but the paper's exponent is 2i/d.",
             "torch.arange(0, d_model, 2) already gives 2i: divide it by d_model, do not multiply by 2 again."),
            (_ref_pe(max_len, d, start=1), "positions start at 1, but the first position is 0: row 0 must be "
             "sin(0), cos(0), ... = [0, 1, 0, 1, ...].",
             "torch.arange(max_len) counts 0 .. max_len-1."),
            (_ref_pe(max_len, d, interleave=False), "the sines fill the first half of the columns and the "
             "cosines the second half; the paper interleaves them: column 2i is sin, column 2i+1 is cos.",
             "Write the sines into PE[:, 0::2] and the cosines into PE[:, 1::2]."),
        ]
        for variant, message, hint in variants:
            if _close(got, variant, atol=1e-3):
                raise CheckFailure(f"{what}: {message}", hint)
        expect_tensor_close(got, want.float(), what, atol=1e-4)
    got = ns.sinusoidal_encoding(3, 6)
    if got.requires_grad:
        raise CheckFailure("sinusoidal_encoding returned a tensor that requires grad; the sinusoidal table is "
                           "fixed, not learned.", "Build it from plain tensors (no nn.Parameter).")


# ---------------------------------------------------------------- rotation matrix

@lesson.grading("rotation_matrix")
def check_rotation_matrix(ns: Namespace) -> None:
    max_len = 300
    for k, d in [(0, 4), (1, 4), (3, 8), (-2, 8), (7, 32), (25, 64)]:
        what = f"rotation_matrix({k}, {d})"
        got = ns.rotation_matrix(k, d)
        _expect_float_tensor(got, (d, d), what, "Return a (d_model, d_model) matrix.")
        block = torch.block_diag(*[torch.ones(2, 2)] * (d // 2)).bool()
        outside = got.detach().abs().masked_fill(block, 0)
        if outside.max().item() > 1e-6:
            r, c = (int(v) for v in torch.nonzero(outside == outside.max())[0])
            raise CheckFailure(f"{what} is not block-diagonal: entry [{r}, {c}] = {got[r, c].item():.4g} should be 0. "
                               "Only the two dimensions of one pair (2i, 2i+1) mix with each other.",
                               "Start from torch.zeros(d, d) and fill in the 2x2 block of each pair.")
        pe = _ref_pe(max_len, d)
        R = got.detach().double()
        ps = range(max(0, -k), max_len - max(k, 0))
        bad = [p for p in ps if not torch.allclose(R @ pe[p], pe[p + k], atol=1e-4)]
        if not bad:
            expect_tensor_close(got, _ref_rotation(k, d).float(), what, atol=1e-5)
            continue
        p = bad[0]
        message = (f"{what} @ PE[{p}] should equal PE[{p + k}] (this must hold for every position p), "
                   f"but it differs for {len(bad)} of {len(ps)} positions.\n"
                   f"    expected PE[{p + k}] = {describe((pe[p + k]).float())}\n"
                   f"    but got  R @ PE[{p}] = {describe((R @ pe[p]).float())}")
        if _close(R.T, _ref_rotation(k, d)):
            raise CheckFailure(message + f"\n    Your matrix is the transpose of R_k: it moves PE[p] to PE[p - k].",
                               "In block i the sin(k w_i) goes above the diagonal (row 2i) and -sin(k w_i) below it, "
                               "because sin(a + b) = sin a cos b + cos a sin b.")
        if _close(R, _ref_rotation(k, d, per_pair_freq=False)):
            raise CheckFailure(message + "\n    Every block turns by the same angle k, but pair i turns at its own "
                               "speed: its angle is k * w_i.",
                               "Use w_i = 10000 ** (-2i / d_model), exactly as in sinusoidal_encoding.")
        raise CheckFailure(message)
    R3, R4 = ns.rotation_matrix(3, 16).double(), ns.rotation_matrix(4, 16).double()
    if not torch.allclose(R3 @ R4, ns.rotation_matrix(7, 16).double(), atol=1e-5):
        raise CheckFailure("rotation_matrix(3, 16) @ rotation_matrix(4, 16) should equal rotation_matrix(7, 16).")


# ---------------------------------------------------------------- learned positions

def _position_table(module: nn.Module, block_size: int, d: int) -> nn.Parameter:
    tables = [p for p in module.parameters() if tuple(p.shape) == (block_size, d)]
    if len(tables) != 1:
        shapes = [tuple(p.shape) for p in module.parameters()]
        raise CheckFailure(f"LearnedPositionalEmbedding({block_size}, {d}) should own exactly one trainable table of "
                           f"shape ({block_size}, {d}); its parameters have shapes {shapes}.",
                           "self.wpe = nn.Embedding(block_size, d_model) creates it (and registers it).")
    return tables[0]


@lesson.grading("LearnedPositionalEmbedding")
def check_learned_positional_embedding(ns: Namespace) -> None:
    block_size, d = 8, 6
    module = ns.LearnedPositionalEmbedding(block_size, d)
    expect_type(module, nn.Module, f"LearnedPositionalEmbedding({block_size}, {d})",
                "Subclass nn.Module and call super().__init__() first.")
    table = _position_table(module, block_size, d)
    torch.manual_seed(0)
    W = torch.randn(block_size, d)
    with torch.no_grad():
        table.copy_(W)

    T = 5
    x = torch.randn(3, T, d, requires_grad=True)
    try:
        out = module(x)
    except Exception as error:  # the learner's code may raise anything
        try:
            module(torch.randn(2, block_size, d))
        except Exception:
            raise error from None  # fails for every T: let the grader report the error itself
        raise CheckFailure(f"forward(x) works when T = block_size = {block_size} but raised "
                           f"{type(error).__name__} ({error}) for T = {T}. Did you add the whole table instead of "
                           f"its first T rows? Slice to T: positions 0 .. T-1 only.",
                           "self.wpe(torch.arange(T)) looks up exactly the first T rows.") from None
    if isinstance(out, torch.Tensor) and out.shape == x.shape and torch.allclose(out, x + W[1:T + 1], atol=1e-5):
        raise CheckFailure(f"forward(x) added the rows for positions 1 .. {T}; positions start at 0, so the "
                           f"first token gets row 0 of the table.", "Use torch.arange(T), which counts 0 .. T-1.")
    expect_tensor_close(out, x + W[:T], f"forward(x) with x of shape {tuple(x.shape)}",
                        "The result is x + table[:T], broadcast over the batch.")
    full = torch.randn(2, block_size, d)
    expect_tensor_close(module(full), full + W, f"forward(x) with x of shape {tuple(full.shape)} (T = block_size)",
                        "Add row t of the table to the token at position t.")
    torch.manual_seed(1)
    g = torch.randn_like(out)
    (out * g).sum().backward()
    if table.grad is None:
        raise CheckFailure("after backward(), the position table has no gradient: it is not part of the computation.",
                           "Use the module's own parameter (self.wpe), not a copy or a detached tensor.")
    want_grad = torch.zeros(block_size, d)
    want_grad[:T] = g.sum(0)
    expect_tensor_close(table.grad, want_grad, "the gradient of the position table",
                        "Each used row gets the gradient of its position summed over the batch; unused rows get 0.")
    expect_tensor_close(x.grad, g, "the gradient of x", "The token embeddings pass through the addition unchanged.")

    too_long = torch.randn(1, block_size + 1, d)
    try:
        result = module(too_long)
    except Exception:
        return  # an error is what we want (ValueError with a clear message, ideally)
    raise CheckFailure(f"forward(x) with T = {block_size + 1} > block_size = {block_size} returned "
                       f"{describe(result)}, but a learned table has no row for position {block_size}: "
                       f"it must raise an error when T > block_size.",
                       "Check T against self.block_size and raise ValueError; never wrap positions around.")


# ---------------------------------------------------------------- rotary embeddings

@lesson.grading("apply_rope")
def check_apply_rope(ns: Namespace) -> None:
    torch.manual_seed(0)
    cases = [(torch.randn(2, 6, 8), None, "(B, T, d)"),
             (torch.randn(2, 3, 5, 16), None, "(B, H, T, d)"),
             (torch.randn(1, 4, 8), torch.tensor([0, 3, 7, 100]), "(B, T, d) with positions=[0, 3, 7, 100]")]
    results = []
    for x, positions, shape_name in cases:
        what = f"apply_rope(x) for x of shape {shape_name}"
        original = x.clone()
        got = ns.apply_rope(x) if positions is None else ns.apply_rope(x, positions)
        if not torch.equal(x, original):
            raise CheckFailure(f"{what} changed x in place.",
                               "Build a new tensor: q and k are still needed elsewhere (and autograd needs them).")
        _expect_float_tensor(got, tuple(x.shape), what, "RoPE keeps the shape of x.")
        # (c) A rotation never changes a vector's length.
        norms_in, norms_out = x.norm(dim=-1), got.detach().norm(dim=-1)
        if not torch.allclose(norms_in, norms_out, rtol=1e-4, atol=1e-5):
            raise CheckFailure(f"{what} changed the norms of the vectors (e.g. {norms_in.flatten()[1].item():.4f} -> "
                               f"{norms_out.flatten()[1].item():.4f}); a rotation preserves every norm.",
                               "Rotate each pair: (a, b) -> (a cos - b sin, a sin + b cos); do not just scale by cos.")
        pos = torch.arange(x.shape[-2]) if positions is None else positions
        results.append((x, pos, got, what))

    # (a) After RoPE, q . k depends only on the offset between the two positions.
    T, d = 12, 16
    q, k = torch.randn(d), torch.randn(d)
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

    # (b) The values, compared with the complex-number formulation.
    for x, pos, got, what in results:
        want = _ref_rope(x, pos)
        if _close(got, want):
            continue
        variants = [
            (_rope_variant(x, pos, pairing="half"), "you paired dimension i with i + d/2 (the 'rotate_half' layout "
             "of GPT-NeoX and Hugging Face Llama), but this lesson follows RoFormer: adjacent pairs (2i, 2i+1).",
             "Take x[..., 0::2] and x[..., 1::2] as the two coordinates of each pair and interleave the results."),
            (_rope_variant(x, pos, sign=-1.0), "each pair turns the wrong way (angle -p * theta_i): the sign of "
             "sin is flipped.", "(a, b) -> (a cos - b sin, a sin + b cos), as multiplying a + jb by cos + j sin gives."),
            (_rope_variant(x, pos + 1), "positions start at 1, but the first token is at position 0 (no rotation).",
             "Default positions are torch.arange(T)."),
            (_rope_variant(x, pos, exp_scale=1.0), "the exponent is off by a factor of 2: theta_i = 10000^(-2i/d), "
             "not 10000^(-i/d).", "Use torch.arange(0, d, 2) / d as the exponent."),
        ]
        for variant, message, hint in variants:
            if _close(got, variant, atol=1e-3):
                raise CheckFailure(f"{what}: {message}", hint)
        expect_tensor_close(got, want.float(), f"{what} (compared with the complex-number formulation)",
                            "Check the pairing (2i, 2i+1), the frequencies theta_i and the positions 0 .. T-1.",
                            atol=1e-4)

    # Gradients: RoPE is a rotation, so the gradient is the upstream gradient rotated back.
    x = torch.randn(2, 5, 8, requires_grad=True)
    out = ns.apply_rope(x)
    g = torch.randn(2, 5, 8)
    (out * g).sum().backward()
    if x.grad is None:
        raise CheckFailure("apply_rope's output is not connected to x in the autograd graph.",
                           "Use torch operations on x (no .detach(), .numpy() or .tolist()).")
    expect_tensor_close(x.grad, _ref_rope(g, -torch.arange(5)).float(), "the gradient of apply_rope",
                        "Build the result from differentiable torch operations on x.", atol=1e-5)


