"""Grading checks for lesson 04 — positional encoding (sinusoidal, rotations, learned, rotary).

They run on top of the practice checks (``autograder/practice/lesson04.py``) and compare every
entry with references computed in float64 (:mod:`autograder.reference.positional`): the sinusoidal
table straight from the formula of "Attention Is All You Need", the rotation matrices entry by
entry and checked on hundreds of positions, and RoPE with complex numbers (``torch.view_as_complex``
times ``torch.polar``), a different route from the real-valued pair rotation the learner writes.
When a result is wrong they name the known mistake it matches (sin and cos swapped, exponent off
by a factor of 2, positions counted from 1, the ``positions`` argument ignored, ...).
"""

from __future__ import annotations

import torch

from ..feedback import Mistake, close, describe, expect_close, first_differences
from ..reference import positional as ref
from ..registry import CheckFailure, Namespace

from ..practice.lesson04 import (
    ATOL,
    ROPE_CASES,
    call_forward,
    call_rope,
    check_block_diagonal,
    check_norms_kept,
    check_relative,
    check_rows_differ,
    check_sine_range,
    check_steady_turn,
    expect_float_tensor,
    learned_module,
    lesson,
    position_table,
    randn,
)


def _differences(got: torch.Tensor, want: torch.Tensor) -> str:
    """"The first entries that differ: ..." for a message whose previews may look alike."""
    found = first_differences(got.detach().double(), want, atol=ATOL)
    return f" The first entries that differ: {found}." if found else ""


# ---------------------------------------------------------------- sinusoidal encoding

@lesson.grading("sinusoidal_encoding")
def check_sinusoidal_encoding(ns: Namespace) -> None:
    what = "sinusoidal_encoding(200, 32)"
    table = expect_float_tensor(ns.sinusoidal_encoding(200, 32), (200, 32), what,
                                "Return a (max_len, d_model) tensor: one row per position.")
    check_sine_range(table, what)
    check_rows_differ(table, what)
    check_steady_turn(table, what)
    for max_len, d in [(1, 2), (10, 4), (20, 16), (200, 32), (64, 128), (33, 10)]:
        what = f"sinusoidal_encoding({max_len}, {d})"
        got = expect_float_tensor(ns.sinusoidal_encoding(max_len, d), (max_len, d), what,
                                  "Return a (max_len, d_model) tensor: one row per position.")
        expect_close(got, ref.sinusoidal_table(max_len, d).float(), what, atol=ATOL, mistakes=[
            Mistake(ref.sinusoidal_table(max_len, d, swap=True),
                    "sin and cos are swapped: the even columns 2i hold cos and the odd columns 2i+1 hold sin. The "
                    "paper puts sin in the even columns (row 0 is [0, 1, 0, 1, ...]).",
                    "Even columns (0::2) get the sines, odd columns (1::2) the cosines."),
            Mistake(ref.sinusoidal_table(max_len, d, exponent_scale=1.0),
                    "the exponent is off by a factor of 2: you used 10000^(i/d) with the pair index i, but the "
                    "paper's exponent is 2i/d (2i is the even column index).",
                    "w_i = 10000 ** (-2i / d_model) for i = 0 .. d_model/2 - 1: the exponent runs over the even "
                    "column indices 0, 2, 4, ... divided by d_model."),
            Mistake(ref.sinusoidal_table(max_len, d, exponent_scale=4.0),
                    "the exponent is off by a factor of 2: you used 10000^(4i/d) (the column index 2i doubled "
                    "again), but the paper's exponent is 2i/d.",
                    "The even column indices 0, 2, 4, ... already are 2i: divide them by d_model, do not multiply "
                    "by 2 again."),
            Mistake(ref.sinusoidal_table(max_len, d, start=1),
                    "positions start at 1, but the first position is 0: row 0 must be sin(0), cos(0), ... = "
                    "[0, 1, 0, 1, ...].", "Count positions 0 .. max_len-1."),
            Mistake(ref.sinusoidal_table(max_len, d, interleave=False),
                    "the sines fill the first half of the columns and the cosines the second half; the paper "
                    "interleaves them: column 2i is sin, column 2i+1 is cos.",
                    "Write the sines into the even columns and the cosines into the odd columns."),
        ])


# ---------------------------------------------------------------- rotation matrix

@lesson.grading("rotation_matrix")
def check_rotation_matrix(ns: Namespace) -> None:
    max_len = 300
    for k, d in [(0, 4), (1, 4), (3, 8), (-2, 8), (7, 32), (25, 64)]:
        what = f"rotation_matrix({k}, {d})"
        got = expect_float_tensor(ns.rotation_matrix(k, d), (d, d), what, "Return a (d_model, d_model) matrix.")
        check_block_diagonal(got, what)
        pe = ref.sinusoidal_table(max_len, d)
        R = got.detach().double()
        positions = range(max(0, -k), max_len - max(k, 0))
        bad = [p for p in positions if not close(R @ pe[p], pe[p + k], atol=ATOL)]
        if not bad:
            expect_close(got, ref.rotation_matrix(k, d).float(), what, atol=1e-5)
            continue
        p = bad[0]
        message = (f"{what} @ PE[{p}] should equal PE[{p + k}] (this must hold for every position p), "
                   f"but it differs for {len(bad)} of {len(positions)} positions.\n"
                   f"    expected PE[{p + k}] = {describe(pe[p + k].float())}\n"
                   f"    but got  R @ PE[{p}] = {describe((R @ pe[p]).float())}")
        if close(R.T, ref.rotation_matrix(k, d), atol=ATOL):
            raise CheckFailure(message + "\n    Your matrix is the transpose of R_k: it moves PE[p] to PE[p - k].",
                               "In block i the sin(k w_i) goes above the diagonal (row 2i) and -sin(k w_i) below it, "
                               "because sin(a + b) = sin a cos b + cos a sin b.")
        if close(R, ref.rotation_matrix(k, d, per_pair_frequency=False), atol=ATOL):
            raise CheckFailure(message + "\n    Every block turns by the same angle k, but pair i turns at its own "
                               "speed: its angle is k * w_i.",
                               "Use w_i = 10000 ** (-2i / d_model), exactly as in sinusoidal_encoding.")
        raise CheckFailure(message)


# ---------------------------------------------------------------- learned positions

@lesson.grading("LearnedPositionalEmbedding")
def check_learned_positional_embedding(ns: Namespace) -> None:
    for block_size, d, T, seed in [(8, 6, 5, 1), (8, 6, 8, 2), (16, 4, 1, 3), (16, 4, 11, 4)]:
        module, W = learned_module(ns, block_size, d)
        x = randn(3, T, d, seed=seed, requires_grad=True)
        what = f"forward(x) with x of shape {tuple(x.shape)}, block_size = {block_size}"
        out = call_forward(module, x.detach().clone(), block_size)
        expect_close(out, x.detach() + W[:T], what, "The result is x + the first T rows of the table, broadcast "
                     "over the batch.", mistakes=[
                         Mistake(x.detach() + W[1:T + 1], f"the rows for positions 1 .. {T} were added; positions "
                                 "start at 0, so the first token gets row 0 of the table.",
                                 "Positions count 0 .. T-1."),
                     ] if T < block_size else [])
        out = call_forward(module, x, block_size)
        g = randn(3, T, d, seed=seed + 10)
        (out * g).sum().backward()
        table = position_table(module, block_size, d)
        if table.grad is None:
            raise CheckFailure("after backward(), the position table has no gradient: it is not part of the "
                               "computation.", "Use the module's own parameter (self.wpe), not a copy or a detached "
                               "tensor.")
        want_grad = torch.zeros(block_size, d)
        want_grad[:T] = g.sum(0)
        expect_close(table.grad, want_grad, f"the gradient of the position table after {what}",
                     "Each used row gets the gradient of its position summed over the batch; unused rows get 0.")


# ---------------------------------------------------------------- rotary embeddings

@lesson.grading("apply_rope")
def check_apply_rope(ns: Namespace) -> None:
    cases = [*ROPE_CASES, ((3, 2, 7, 6), [5, 1, 0, 9, 2, 2, 40], 18, "(B, H, T, d) = (3, 2, 7, 6) with positions "
                                                                    "= torch.tensor([5, 1, 0, 9, 2, 2, 40])")]
    results = []
    for shape, positions, seed, name in cases:
        what = f"apply_rope(x) for x of shape {name}"
        x = randn(*shape, seed=seed)
        got = call_rope(ns, x, positions, what)
        check_norms_kept(x, got, what)
        results.append((what, x, positions, got))
    check_relative(ns)
    for what, x, positions, got in results:
        pos = torch.arange(x.shape[-2]) if positions is None else torch.tensor(positions)
        want = ref.rope(x, pos)

        def mistakes() -> list[Mistake]:
            ignored = [] if positions is None else [
                Mistake(ref.rope_variant(x, torch.arange(x.shape[-2])),
                        "the `positions` you were given were ignored: your result is RoPE at positions 0 .. T-1."
                        + _differences(got, want), "Use positions when it is given; only positions=None means "
                        "0 .. T-1.")]
            return ignored + [
                Mistake(ref.rope_variant(x, pos, pairing="half"),
                        "you paired dimension i with i + d/2 (the 'rotate_half' layout of GPT-NeoX and Hugging Face "
                        "Llama), but this lesson follows RoFormer: adjacent pairs (2i, 2i+1).",
                        "Take the even and the odd dimensions as the two coordinates of each pair and interleave the "
                        "results."),
                Mistake(ref.rope_variant(x, pos, sign=-1.0),
                        "each pair turns the wrong way (angle -p * theta_i): the sign of sin is flipped.",
                        "(a, b) -> (a cos - b sin, a sin + b cos), as multiplying a + jb by cos + j sin gives."),
                Mistake(ref.rope_variant(x, pos + 1),
                        "positions start at 1, but the first token is at position 0 (no rotation)."
                        + _differences(got, want), "Default positions count 0 .. T-1."),
                Mistake(ref.rope_variant(x, pos, exponent_scale=1.0),
                        "the exponent is off by a factor of 2: theta_i = 10000^(-2i/d), not 10000^(-i/d).",
                        "The exponent runs over the even dimension indices 0, 2, 4, ... divided by d."),
            ]

        expect_close(got, want.float(), f"{what} (compared with the complex-number formulation)",
                     "Check the pairing (2i, 2i+1), the frequencies theta_i and the positions.", mistakes, atol=ATOL)

    # Gradients: RoPE is a rotation, so the gradient is the upstream gradient rotated back.
    x = randn(2, 5, 8, seed=19, requires_grad=True)
    what = "apply_rope(x) for x of shape (2, 5, 8) that requires grad"
    out = call_rope(ns, x, None, what)
    if not out.requires_grad:
        raise CheckFailure(f"{what} returned a tensor cut off from autograd (requires_grad is False): no gradient "
                           "could reach the weights that make q and k.",
                           "Compute with torch operations on x: no numpy, .tolist(), .item() or .detach().")
    g = randn(2, 5, 8, seed=20)
    (out * g).sum().backward()
    expect_close(x.grad, ref.rope(g, -torch.arange(5)).float(), "the gradient of apply_rope",
                 "Build the result from differentiable torch operations on x.", atol=1e-5)
