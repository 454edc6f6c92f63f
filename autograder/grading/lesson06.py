"""Grading checks for lesson 06 — a transformer layer by hand, on small integer matrices.

Every learner gets their own numbers.  The notebook sets ``STUDENT_ID`` and builds its problem
with ``make_problem(seed_for(STUDENT_ID))``; the checks read ``STUDENT_ID`` from the notebook and
rebuild the same problem, so an instructor can hand each student different numbers and still grade
them all with one notebook.  When a grader knows whose submission it is (see
:func:`grading_student_id`: the ``AUTOGRADER_STUDENT_ID`` environment variable, or nbgrader's
folder ``autograded/<student_id>/<assignment>/``), it grades that student's problem, not the one
the notebook claims, so answers copied from another student score 0.

The answer key is :func:`autograder.reference.by_hand.solve`, exact (fractions), rounding to 2
decimals exactly where a pencil-and-paper solver has to.  Each step function receives the
*correct* inputs of its steps, so one wrong step never spoils the grading of the next exercise.
Known mistakes are recognised by computing them from the answer key
(:class:`~autograder.feedback.Mistake`) and named in the message.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..by_hand import D_MODEL, EPS, T, fmt_number, make_problem, seed_for
from ..feedback import Mistake
from ..reference.by_hand import (add, float_forward, hardmax, layer_norm_parts, mask, maxdiff, mm, relu, round2,
                                 softmax_rows, solve, torch_reference, tr)
from ..registry import CheckFailure, Namespace

from ..practice.lesson06 import DERIVED, call_machine, call_step, expect_step, lesson, student_problem

# ---------------------------------------------------------------- whose problem is it?

STUDENT_ID_ENV = "AUTOGRADER_STUDENT_ID"


def grading_student_id() -> str | None:
    """Whose submission is being graded, when the grader knows it; None when a learner checks their own work.

    * A grader that knows the student sets the environment variable ``AUTOGRADER_STUDENT_ID``.
    * Under ``nbgrader autograde`` (``NBGRADER_EXECUTION=autograde``) nbgrader's kernel runs in
      ``<course>/autograded/<student_id>/<assignment>/``: the student is the folder's name.
    """
    explicit = os.environ.get(STUDENT_ID_ENV, "").strip()
    if explicit:
        return explicit
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        here = Path.cwd()
        if here.parent.parent.name == "autograded":
            return here.parent.name
    return None


def graded_problem(ns: Namespace) -> tuple[str, dict[str, Any]]:
    """The problem of the student being graded (see the module docstring)."""
    sid = ns.STUDENT_ID
    owner = grading_student_id()
    if owner is not None and isinstance(sid, str) and sid.strip() != owner:
        raise CheckFailure(f"this notebook says STUDENT_ID = {sid!r}, but it was submitted by {owner!r}. "
                           "Every student's numbers come from their own id, so answers made for another "
                           "id cannot be graded.",
                           f'Set STUDENT_ID = "{owner}", run the notebook again and redo the exercises '
                           "with your own numbers.")
    return student_problem(ns)


def _plain(x: Any) -> Any:
    """Answer-key values as the learner's functions receive them: ints where whole, else floats."""
    if isinstance(x, list):
        return [_plain(v) for v in x]
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else float(x)
    return x


def _call(ns: Namespace, fn: str) -> tuple[dict, dict, dict]:
    """Call the learner's step function ``fn`` on the correct inputs of their own problem."""
    _, p = graded_problem(ns)
    s = solve(p)
    return p, s, call_step(ns, fn, {**p, **{name: _plain(value) for name, value in s.items()}})


def _rounded(M: list) -> list:
    return [[round2(x) for x in row] for row in M]


# ---------------------------------------------------------------- 1-2. embeddings, queries, keys and values

@lesson.grading("embed")
def check_embed(ns: Namespace) -> None:
    p, s, got = _call(ns, "embed")
    tokens = p["tokens"]
    expect_step("embed", tokens, "one_hot", got["one_hot"], s["one_hot"], [Mistake(
        tr(s["one_hot"]), "it is transposed: one column per token instead of one row per token.",
        "one_hot has T = 4 rows (tokens) and 5 columns (vocabulary): row t is 1 at column ids[t].")])
    by_position = [list(map(Fraction, p["E"][t])) for t in range(T)]
    expect_step("embed", tokens, "tok", got["tok"], s["tok"], [Mistake(
        by_position, "row t is row t of E, but it should be row ids[t]: look tokens up by id, not by position.",
        "The one-hot row of token t selects row ids[t] of E.")])
    expect_step("embed", tokens, "X", got["X"], s["X"], [Mistake(
        s["tok"], "the positional rows were not added: X is just the token embeddings.",
        "Without P the model cannot tell positions apart: add P[t] to row t.")])


@lesson.grading("qkv")
def check_qkv(ns: Namespace) -> None:
    p, s, got = _call(ns, "qkv")
    for name, W in (("Q", "W_q"), ("K", "W_k"), ("V", "W_v")):
        expect_step("qkv", p["tokens"], name, got[name], s[name], [
            Mistake(mm(p[W], s["X"]), f"you computed {W}·X; the product is in the wrong order.",
                    f"Tokens are rows: {name} = X·{W}, each row of X times the columns of {W}."),
            Mistake(mm(s["X"], tr(p[W])), f"you used the rows of {W} where its columns belong (X·{W}ᵀ).",
                    f"{name}[i][j] = row i of X · column j of {W} (read {W} down a column).")])


# ---------------------------------------------------------------- 3-4. scores, mask, hardmax and softmax

@lesson.grading("attention_scores")
def check_attention_scores(ns: Namespace) -> None:
    p, s, got = _call(ns, "attention_scores")
    Q, K, scores = s["Q"], s["K"], s["scores"]
    expect_step("attention_scores", p["tokens"], "scores", got["scores"], scores, [
        Mistake(mm(Q, K), "you computed Q·K: K not transposed. Row i of Q must meet row j of K.",
                "scores = Q·Kᵀ: scores[i][j] = (row i of Q) · (row j of K)."),
        Mistake(tr(scores), "you computed K·Qᵀ, the transpose: row i must belong to query i.",
                "scores[i][j] = how much token i (the query) looks at token j (the key).")])
    expect_step("attention_scores", p["tokens"], "scaled", got["scaled"], s["scaled"], [
        Mistake(scores, "it equals scores: you did not scale. Divide by √d_k = 2.",
                "Without the 1/√d_k scaling, dot products grow with d_k and push softmax to a hard maximum."),
        Mistake([[x / 4 for x in row] for row in scores], "you divided by d_k = 4 instead of √d_k = 2.",
                "The scale is 1/√d_k: √4 = 2.")])


@lesson.grading("mask_and_softmax")
def check_mask_and_softmax(ns: Namespace) -> None:
    p, s, got = _call(ns, "mask_and_softmax")
    tokens, scaled, masked = p["tokens"], s["scaled"], s["masked"]
    zeros = [[Fraction(0) if j > i else x for j, x in enumerate(row)] for i, row in enumerate(scaled)]
    expect_step("mask_and_softmax", tokens, "masked", got["masked"], masked, [
        Mistake(mask(scaled, future=False), "the mask hides the wrong triangle: the past (j < i) instead of the "
                "future (j > i).", "Token i may look at tokens 0..i: -inf goes where the column j > row i."),
        Mistake(scaled, "nothing was masked.", "Put float('-inf') at every j > i."),
        Mistake(zeros, "the masked entries are 0, but e^0 = 1 would still give the future weight. Use float('-inf').",
                "Masked scores must be -inf so that e^-inf = 0.")])
    expect_step("mask_and_softmax", tokens, "hard", got["hard"], s["hard"], [
        Mistake(hardmax(masked, split_ties=False), "a tie was given to the first maximum only: ties share the "
                "weight (1/2 each for two).", "With two equal maxima, each gets 1/2 (Fraction(1, 2))."),
        Mistake(hardmax(scaled), "the hardmax looked at the future: take the maximum of the unmasked entries only.",
                "Apply hardmax to the masked scores; -inf never wins.")])
    after = [[w if j <= i else Fraction(0) for j, w in enumerate(row)]
             for i, row in enumerate(_rounded(softmax_rows(scaled)))]
    expect_step("mask_and_softmax", tokens, "weights", got["weights"], s["weights"], [
        Mistake(after, "the mask was applied after softmax (future weights set to 0 afterwards), so rows no longer "
                "sum to 1.", "Mask first (-inf), then softmax: e^-inf = 0 removes the future inside the normalisation."),
        Mistake(_rounded(tr(softmax_rows(tr(masked)))), "softmax normalised the columns; each row (one query) must "
                "sum to 1.", "Softmax runs along each row: divide by the sum of that row's exponentials."),
        Mistake(_rounded(softmax_rows(mask(s["scores"]))), "the softmax used the unscaled scores.",
                "Use the scaled (÷2) and masked scores.")])


# ---------------------------------------------------------------- 5. values, projection, first residual

@lesson.grading("attention_output")
def check_attention_output(ns: Namespace) -> None:
    p, s, got = _call(ns, "attention_output")
    tokens = p["tokens"]
    unrounded = softmax_rows(s["masked"])      # what a learner gets who carries unrounded weights forward
    from_unrounded = mm(unrounded, s["V"])
    not_rounded = ("it was computed from unrounded softmax weights. The lesson rounds the weights to 2 decimals "
                   "and carries those rounded numbers forward (the ones this function receives).")
    not_rounded_hint = "Use the 2-decimal weights; a row of them may sum to 0.99 or 1.01, which is expected."
    expect_step("attention_output", tokens, "attn_out", got["attn_out"], s["attn_out"], [
        Mistake(mm(tr(s["weights"]), s["V"]), "you used the weights transposed (weightsᵀ·V).",
                "Row i of the output mixes the rows of V with the weights of row i: Σ_j weights[i][j]·V[j]."),
        Mistake(from_unrounded, not_rounded, not_rounded_hint)])
    expect_step("attention_output", tokens, "proj", got["proj"], s["proj"], [
        Mistake(s["attn_out"], "it equals attn_out: the output projection W_o was forgotten.", "proj = attn_out·W_o."),
        Mistake(mm(s["attn_out"], tr(p["W_o"])), "you used W_o's rows where its columns belong (attn_out·W_oᵀ).",
                "proj[i][j] = row i of attn_out · column j of W_o."),
        Mistake(mm(from_unrounded, p["W_o"]), not_rounded, not_rounded_hint)])
    expect_step("attention_output", tokens, "resid1", got["resid1"], s["resid1"], [
        Mistake(s["proj"], "it equals proj: the residual connection (adding X) was forgotten.",
                "resid1 = X + proj: the residual lets the layer add to its input instead of replacing it."),
        Mistake(add(s["tok"], s["proj"]), "you added the token embeddings without the positional rows: add X.",
                "X = one_hot·E + P."),
        Mistake(add(s["X"], mm(from_unrounded, p["W_o"])), not_rounded, not_rounded_hint)])


# ---------------------------------------------------------------- 6. layer norm

@lesson.grading("layer_norm")
def check_layer_norm(ns: Namespace) -> None:
    p, s, got = _call(ns, "layer_norm")
    tokens, R = p["tokens"], s["resid1"]
    mean_cols = [sum(c, Fraction(0)) / len(c) for c in tr(R)]
    expect_step("layer_norm", tokens, "mean", got["mean"], s["mean"], [Mistake(
        mean_cols, "you averaged over the tokens (down a column); layer norm averages each token's features "
        "(along a row).", "mean[i] = average of row i of resid1.")])
    _, unbiased_var, unbiased_normed = layer_norm_parts(R, unbiased=True)
    std = [float(v) ** 0.5 for v in s["var"]]
    expect_step("layer_norm", tokens, "var", got["var"], s["var"], [
        Mistake(unbiased_var, "you divided by n - 1 = 3 (the unbiased variance); layer norm divides by n = 4.",
                "Layer norm uses the biased variance: the plain average of the squared deviations."),
        Mistake(std, "these are standard deviations; var is their square.", "var[i] = mean of (x - mean[i])².")])
    no_mean = [[round2(float(x) / (float(v) + EPS) ** 0.5) for x in row] for row, v in zip(R, s["var"])]
    by_var = [[round2(float(x - m) / (float(v) + EPS)) for x in row] for row, m, v in zip(R, s["mean"], s["var"])]
    expect_step("layer_norm", tokens, "normed", got["normed"], s["normed"], [
        Mistake(_rounded(unbiased_normed), "you divided by the unbiased standard deviation (n - 1 = 3); layer norm "
                "uses the biased variance (divide by n = 4).", "σ² = (1/n) Σ (x - μ)²."),
        Mistake(no_mean, "the mean was not subtracted before dividing.", "normed = (x - mean) / √(var + ε)."),
        Mistake(by_var, "you divided by the variance instead of the standard deviation √var.",
                "normed = (x - mean) / √(var + ε).")])


# ---------------------------------------------------------------- 7. feed-forward and second residual

@lesson.grading("feed_forward")
def check_feed_forward(ns: Namespace) -> None:
    p, s, got = _call(ns, "feed_forward")
    tokens = p["tokens"]
    no_bias = relu(mm(s["normed"], p["W_1"]))
    expect_step("feed_forward", tokens, "ffn_hidden", got["ffn_hidden"], s["ffn_hidden"], [
        Mistake(s["ffn_pre"], "it has negative entries: the ReLU is missing.",
                "ReLU(x) = max(x, 0): replace every negative entry by 0."),
        Mistake(no_bias, "the bias b_1 was not added.", "Add b_1[j] to every entry of column j before the ReLU.")])
    expect_step("feed_forward", tokens, "ffn_out", got["ffn_out"], s["ffn_out"], [Mistake(
        mm(s["ffn_pre"], p["W_2"]), "you multiplied the values before the ReLU by W_2.",
        "Use ffn_hidden (after the ReLU).")])
    expect_step("feed_forward", tokens, "resid2", got["resid2"], s["resid2"], [
        Mistake(s["ffn_out"], "it equals ffn_out: the second residual connection was forgotten.",
                "resid2 = normed + ffn_out."),
        Mistake(add(s["resid1"], s["ffn_out"]), "you added resid1; the FFN's input here is normed (post-norm layer).",
                "resid2 = normed + ffn_out."),
        Mistake(add(s["X"], s["ffn_out"]), "you added X; the FFN's input here is normed.", "resid2 = normed + ffn_out.")])


# ---------------------------------------------------------------- 8. hand and machine

@lesson.grading("hand_vs_machine")
def check_hand_vs_machine(ns: Namespace) -> None:
    sid, p = graded_problem(ns)
    other = make_problem(seed_for(sid + " (a second problem)"))
    for problem, whose in ((p, "your problem"), (other, "a second problem (your code must work for any numbers)")):
        values = call_machine(ns, problem, whose).double().tolist()
        reference = torch_reference(problem)
        if maxdiff(values, reference) <= 1e-4:
            continue
        if maxdiff(values, float_forward(problem, causal=False)) <= 1e-4:
            raise CheckFailure("machine_forward attends to the future: the causal mask is missing.",
                               "Use is_causal=True (or a -inf mask above the diagonal) before the softmax.")
        if maxdiff(values, float_forward(problem, transposed=True)) <= 1e-4:
            raise CheckFailure("machine_forward uses every weight matrix transposed.",
                               "nn.Linear computes x·weightᵀ: to compute x·W, copy W.T into layer.weight.")
        hand = solve(problem)["resid2"]
        if maxdiff(values, hand) <= DERIVED:
            raise CheckFailure("machine_forward returns the hand result, rounded like on paper; the machine should "
                               "compute without rounding.",
                               "Compute every step with torch from the numbers in p; round nothing.")
        i, j = next((i, j) for i in range(T) for j in range(D_MODEL)
                    if abs(values[i][j] - float(hand[i][j])) > DERIVED or abs(values[i][j] - reference[i][j]) > 1e-4)
        raise CheckFailure(f"machine_forward on {whose}: entry [{i}][{j}] is {values[i][j]:.4f}, but the hand "
                           f"computation gives {fmt_number(hand[i][j])} (exactly, without rounding: "
                           f"{reference[i][j]:.4f}). Hand and machine must agree.",
                           lesson.get("hand_vs_machine").hint)

