"""Practice checks for lesson 06 — a transformer layer by hand, on each student's own numbers.

Shipped to students: no answers in here.  Every learner has their own problem
(``make_problem(seed_for(STUDENT_ID))``), so no answer can be stored.  Instead each step is
computed by PyTorch, the library §8 of the lesson names as the reference (matrix products,
``nn.Embedding``, ``torch.softmax``, ``nn.LayerNorm``, ``torch.relu``), from the learner's own
problem, in float64, and rounded to 2 decimals exactly where the lesson rounds.  Each step function
receives the correct inputs of its step, so one wrong step never spoils the next exercise.

Answers may be typed by hand in any of the forms the lesson allows (ints, floats, ``Fraction(5, 2)``,
``"5/2"``, ``float("-inf")``, tensors); :func:`expect_step` reads them, compares exactly where the
arithmetic is exact and to 2 decimals where it is not, names a known mistake when the answer equals
what that mistake gives (:func:`step_mistakes`, computed the same way from the correct inputs), and
otherwise the first wrong entry.  The grading checks use the same helpers with the exact answer key.

``machine_forward`` (exercise 8) is a general function, so it is also compared with stored outputs
on fixed problems (``examples/06_transformer_by_hand.json``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..by_hand import D_K, D_MODEL, EPS, T, VOCAB_SIZE, UnknownStudent, fmt_number, make_problem, seed_for
from ..feedback import Mistake, describe
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("06", "transformer_by_hand", "Transformer by hand")
stored = lesson.examples

NEG_INF = float("-inf")
EXACT, ROUNDED, DERIVED = 0.0, 0.01, 0.05   # tolerances: exact / 2 decimals / computed from 2-decimal inputs

# Each graded step function: the inputs the check passes and the steps it must return, in order.
EXERCISE_STEPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "embed": (("ids", "E", "P"), ("one_hot", "tok", "X")),
    "qkv": (("X", "W_q", "W_k", "W_v"), ("Q", "K", "V")),
    "attention_scores": (("Q", "K"), ("scores", "scaled")),
    "mask_and_softmax": (("scaled",), ("masked", "hard", "weights")),
    "attention_output": (("weights", "V", "W_o", "X"), ("attn_out", "proj", "resid1")),
    "layer_norm": (("resid1",), ("mean", "var", "normed")),
    "feed_forward": (("normed", "W_1", "b_1", "W_2"), ("ffn_hidden", "ffn_out", "resid2")),
}


@dataclass(frozen=True)
class Step:
    """One intermediate of the hand computation: what it is, how exactly it is checked, a hint."""

    label: str
    tolerance: float
    hint: str
    rounded: bool = False   # the lesson rounds this step to 2 decimals, and the next steps use the rounded numbers


STEPS = {
    "one_hot": Step("the one-hot matrix", EXACT, "Row t has a single 1, in column ids[t]."),
    "tok": Step("the embedding lookup one_hot·E", EXACT, "one_hot·E picks row ids[t] of E for token t."),
    "X": Step("X = one_hot·E + P", EXACT, "Add the positional row P[t] to the embedding of the token at position t."),
    "Q": Step("Q = X·W_q", EXACT, "Q[i][j] = (row i of X) · (column j of W_q)."),
    "K": Step("K = X·W_k", EXACT, "K[i][j] = (row i of X) · (column j of W_k)."),
    "V": Step("V = X·W_v", EXACT, "V[i][j] = (row i of X) · (column j of W_v)."),
    "scores": Step("scores = Q·Kᵀ", EXACT, "scores[i][j] = (row i of Q) · (row j of K)."),
    "scaled": Step("scaled = scores / √d_k", EXACT,
                   "d_k = 4, so divide every score by √4 = 2 (halves are fine: 5/2 or 2.5)."),
    "masked": Step("the causal mask", EXACT,
                   "Keep scaled[i][j] where j ≤ i; put float('-inf') where j > i (the future)."),
    "hard": Step("the hardmax weights", EXACT,
                 "In each row, the largest unmasked entries share the weight 1 equally: one maximum gets 1, two "
                 "tied maxima get 1/2 each, three get Fraction(1, 3) (or the string '1/3')."),
    "weights": Step("the softmax weights, to 2 decimals", ROUNDED,
                    "Subtract the row maximum, look up e^x in EXP_TABLE, divide by the row's sum; keep 4 decimals "
                    "on the way and round only the result.", rounded=True),
    "attn_out": Step("attn_out = weights·V", DERIVED, "attn_out[i] = Σ_j weights[i][j] · (row j of V)."),
    "proj": Step("proj = attn_out·W_o", DERIVED, "proj[i][j] = (row i of attn_out) · (column j of W_o)."),
    "resid1": Step("resid1 = X + proj", DERIVED, "The residual connection adds the layer's input X to proj."),
    "mean": Step("the mean of each row of resid1", ROUNDED, "mean[i] = (sum of row i of resid1) / 4."),
    "var": Step("the variance of each row of resid1", ROUNDED,
                "var[i] = average of (resid1[i][j] - mean[i])² over the 4 entries of the row (divide by 4, not 3)."),
    "normed": Step("normed = (resid1 - mean) / √(var + ε), to 2 decimals", ROUNDED,
                   "Subtract the row's mean, divide by the row's standard deviation √var; round only the result.",
                   rounded=True),
    "ffn_hidden": Step("ffn_hidden = ReLU(normed·W_1 + b_1)", DERIVED,
                       "Multiply, add b_1[j] to column j, then replace every negative number by 0."),
    "ffn_out": Step("ffn_out = ffn_hidden·W_2", DERIVED, "ffn_out[i][j] = (row i of ffn_hidden) · (column j of W_2)."),
    "resid2": Step("resid2 = normed + ffn_out", DERIVED,
                   "The second residual adds the FFN's input (normed) to its output."),
}


# ---------------------------------------------------------------- whose problem is it?

def student_problem(ns: Namespace) -> tuple[str, dict[str, Any]]:
    """The notebook's STUDENT_ID and its problem (the grading checks add who submitted it)."""
    sid = ns.STUDENT_ID
    if not isinstance(sid, str) or not sid.strip():
        raise CheckFailure(f"STUDENT_ID should be a non-empty string, but it is {describe(sid)}.",
                           'Keep the line STUDENT_ID = "practice", or put the id your instructor gave you.')
    seed = ns.values.get("SEED", seed_for(sid))
    if seed != seed_for(sid):
        raise CheckFailure(f"SEED = {seed!r} is not seed_for(STUDENT_ID) = {seed_for(sid)}: the checks grade the "
                           "problem of your STUDENT_ID.", "Keep the line SEED = seed_for(STUDENT_ID) unchanged.")
    try:
        return sid, make_problem(seed_for(sid))
    except UnknownStudent as error:
        raise CheckFailure(str(error), "Use the id your instructor gave you, exactly as given.") from None


# ---------------------------------------------------------------- reading hand-written answers

class NotANumber(Exception):
    """An entry of an answer that is not a number."""


def as_number(x: Any) -> Any:
    """An entry as an int, Fraction or float: accepts "5/2", "-inf", tensors' items, Decimal..."""
    if hasattr(x, "item") and not isinstance(x, (list, tuple)):
        try:
            x = x.item()
        except (TypeError, ValueError):
            raise NotANumber(x) from None
    if isinstance(x, bool):
        raise NotANumber(x)
    if isinstance(x, (int, Fraction, float)):
        return x
    if isinstance(x, str):
        s = x.strip().lower().replace(" ", "")
        if s in ("-inf", "-infinity", "-∞"):
            return NEG_INF
        try:
            return Fraction(s)
        except (ValueError, ZeroDivisionError):
            raise NotANumber(x) from None
    try:
        return Fraction(x)   # decimal.Decimal and friends
    except (TypeError, ValueError):
        raise NotANumber(x) from None


def as_grid(value: Any, shape: tuple[int, ...]) -> list | None:
    """``value`` as a list of rows (or a flat list for a vector) of numbers, or None if it has another shape."""
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or len(value) != shape[0]:
        return None
    if len(shape) == 1:
        if any(isinstance(v, (list, tuple)) for v in value):
            return None
        return [as_number(v) for v in value]
    out = []
    for row in value:
        if hasattr(row, "tolist") and not isinstance(row, (list, tuple)):
            row = row.tolist()
        if not isinstance(row, (list, tuple)) or len(row) != shape[1]:
            return None
        out.append([as_number(v) for v in row])
    return out


def shape_of(grid: list) -> tuple[int, ...]:
    return (len(grid), len(grid[0])) if isinstance(grid[0], list) else (len(grid),)


def entry_ok(got: Any, want: Any, tolerance: float) -> bool:
    """Exact for ints and fractions where the step is exact; floats within ``tolerance`` (or 1e-9)."""
    if want == NEG_INF or got == NEG_INF:
        return got == want
    if isinstance(got, float) and math.isnan(got):
        return False
    if tolerance == 0 and isinstance(got, (int, Fraction)):
        return got == want
    return abs(float(got) - float(want)) <= max(tolerance, 1e-9) + 1e-9


def first_wrong(got: list, want: list, tolerance: float) -> tuple[int, ...] | None:
    """The index of the first entry of ``got`` that is not ``want`` (None when all agree)."""
    if want and isinstance(want[0], list):
        for i, (rg, rw) in enumerate(zip(got, want)):
            for j, (g, w) in enumerate(zip(rg, rw)):
                if not entry_ok(g, w, tolerance):
                    return i, j
        return None
    for i, (g, w) in enumerate(zip(got, want)):
        if not entry_ok(g, w, tolerance):
            return (i,)
    return None


def matches(value: Any, want: list, tolerance: float) -> bool:
    try:
        grid = as_grid(value, shape_of(want))
    except NotANumber:
        return False
    return grid is not None and first_wrong(grid, want, tolerance) is None


def _at(M: list, where: tuple[int, ...]) -> Any:
    return M[where[0]][where[1]] if len(where) == 2 else M[where[0]]


def _not_rounded(grid: list) -> tuple[int, ...] | None:
    """The first entry that is not a number with (at most) 2 decimals."""
    rows = grid if isinstance(grid[0], list) else [grid]
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            if x != NEG_INF and abs(float(x) * 100 - round(float(x) * 100)) > 1e-3:
                return (i, j) if isinstance(grid[0], list) else (j,)
    return None


def expect_step(fn: str, tokens: list[str], step: str, value: Any, want: list,
                mistakes: Iterable[Mistake] = ()) -> None:
    """Fail with a teaching message unless ``value`` equals ``want`` (within the step's tolerance).

    ``mistakes`` are known wrong answers (:class:`~autograder.feedback.Mistake`, output as a list
    of rows): a wrong answer equal to one of them gets that mistake's message.  Steps the lesson
    rounds to 2 decimals must be rounded, since the next steps start from the rounded numbers.
    """
    info = STEPS[step]
    shape = shape_of(want)
    try:
        got = as_grid(value, shape)
    except NotANumber as bad:
        raise CheckFailure(f"{fn}: step {step} ({info.label}) contains {bad.args[0]!r}, which is not a number.",
                           "Use ints, fractions (Fraction(5, 2) or '5/2'), floats, or float('-inf').") from None
    if got is not None and first_wrong(got, want, info.tolerance) is None:
        where = _not_rounded(got) if info.rounded else None
        if where is None:
            return
        index = "".join(f"[{k}]" for k in where)
        x = float(_at(got, where))
        raise CheckFailure(f"{fn}: step {step} ({info.label}) is not rounded to 2 decimals: {step}{index} is "
                           f"{fmt_number(x)}. Round every entry to 2 decimals ({x:.2f}); the lesson carries these "
                           "rounded numbers into the next steps.",
                           "Round only the final value of each entry: round(x, 2). A row of rounded softmax weights "
                           "may then sum to 0.99 or 1.01; that is expected, keep the rounded numbers as they are.")
    for mistake in mistakes:
        if matches(value, mistake.output, info.tolerance):
            raise CheckFailure(f"{fn}: step {step} ({info.label}) is wrong: {mistake.message}", mistake.hint)
    if got is None:
        what = f"a {shape[0]}×{shape[1]} matrix (one row per token)" if len(shape) == 2 else \
            f"a list of {shape[0]} numbers (one per token)"
        raise CheckFailure(f"{fn}: step {step} ({info.label}) should be {what}, but got {describe(value)}.", info.hint)
    where = first_wrong(got, want, info.tolerance)
    index = "".join(f"[{k}]" for k in where)
    place = f"row {where[0]} (token {where[0]}, {tokens[where[0]]!r})" + (f", column {where[1]}" if len(where) == 2 else "")
    accuracy = {EXACT: "", ROUNDED: " (to 2 decimals)"}.get(info.tolerance, f" (give or take {info.tolerance:g})")
    raise CheckFailure(f"{fn}: step {step} ({info.label}): the first wrong entry is {step}{index}, {place}: "
                       f"expected {fmt_number(_at(want, where))}{accuracy}, got {fmt_number(_at(got, where))}.",
                       info.hint)


def call_step(ns: Namespace, fn: str, known: dict[str, Any]) -> dict[str, Any]:
    """Call the learner's step function ``fn`` on the inputs in ``known``; {step: what it returned}."""
    inputs, steps = EXERCISE_STEPS[fn]
    result = getattr(ns, fn)(*(copy.deepcopy(known[name]) for name in inputs))
    if not isinstance(result, (tuple, list)) or len(result) != len(steps):
        raise CheckFailure(f"{fn} should return {len(steps)} things, ({', '.join(steps)}), but returned "
                           f"{describe(result)}.", f"End with: return {', '.join(steps)}")
    return dict(zip(steps, result))


# ---------------------------------------------------------------- the sheet, computed by PyTorch

def _tensor(M: Any) -> torch.Tensor:
    return torch.tensor(M, dtype=torch.float64)


def torch_sheet(p: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Every step of the hand computation for problem ``p``, computed with PyTorch in float64 and
    rounded to 2 decimals where the lesson rounds (the softmax weights and the layer norm output)."""
    ids = torch.tensor(p["ids"])
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    s: dict[str, torch.Tensor] = {}
    s["one_hot"] = F.one_hot(ids, VOCAB_SIZE).double()
    s["tok"] = nn.Embedding.from_pretrained(_tensor(p["E"]))(ids)
    s["X"] = s["tok"] + _tensor(p["P"])
    for name in "QKV":
        s[name] = s["X"] @ _tensor(p[f"W_{name.lower()}"])
    s["scores"] = s["Q"] @ s["K"].T
    s["scaled"] = s["scores"] / math.sqrt(D_K)
    s["masked"] = s["scaled"].masked_fill(future, NEG_INF)
    # hardmax is softmax at temperature 0: at temperature 1e-3 every non-maximum weight is below e^-500
    s["hard"] = torch.softmax(s["masked"] / 1e-3, dim=-1).round(decimals=6)
    s["weights"] = torch.softmax(s["masked"], dim=-1).round(decimals=2)
    s["attn_out"] = s["weights"] @ s["V"]
    s["proj"] = s["attn_out"] @ _tensor(p["W_o"])
    s["resid1"] = s["X"] + s["proj"]
    s["mean"] = s["resid1"].mean(-1)
    s["var"] = s["resid1"].var(-1, correction=0)
    norm = nn.LayerNorm(D_MODEL, eps=EPS, elementwise_affine=False, dtype=torch.float64)
    s["normed"] = norm(s["resid1"]).round(decimals=2)
    s["ffn_hidden"] = torch.relu(s["normed"] @ _tensor(p["W_1"]) + _tensor(p["b_1"]))
    s["ffn_out"] = s["ffn_hidden"] @ _tensor(p["W_2"])
    s["resid2"] = s["normed"] + s["ffn_out"]
    return s


def plain_values(value: Any) -> Any:
    """A computed value (tensor, list, fraction) as a learner's function receives it: ints where whole,
    else floats (to 10 decimals, without float noise)."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, list):
        return [plain_values(v) for v in value]
    if isinstance(value, (float, Fraction)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return round(float(value), 10) if isinstance(value, (float, Fraction)) else value


def as_step_grid(step: str, value: torch.Tensor) -> list:
    """A computed step as a list of rows: exact fractions where the step is exact (ints, halves, 1/3...)."""
    grid = value.tolist()
    if STEPS[step].tolerance != EXACT:
        return grid

    def exact(x: float) -> Any:
        return x if x == NEG_INF else Fraction(x).limit_denominator(64)

    return [[exact(x) for x in row] if isinstance(row, list) else exact(row) for row in grid]


# ---------------------------------------------------------------- known mistakes, and what they give

NOT_ROUNDED = ("it was computed from unrounded softmax weights. The lesson rounds the weights to 2 decimals and "
               "carries those rounded numbers forward (the ones this function receives).")
NOT_ROUNDED_HINT = "Use the 2-decimal weights; a row of them may sum to 0.99 or 1.01, which is expected."


def step_mistakes(step: str, p: dict[str, Any], s: dict[str, torch.Tensor]) -> list[Mistake]:
    """The known wrong answers of ``step`` for problem ``p``, computed with PyTorch from the correct
    inputs (``s``, see :func:`torch_sheet`), each with the message that names it.  Both tiers use them."""
    W = {name: _tensor(p[name]) for name in ("E", "W_q", "W_k", "W_v", "W_o", "W_1", "b_1", "W_2")}
    future = torch.ones(T, T, dtype=torch.bool).triu(1)

    def rounded(x: torch.Tensor) -> torch.Tensor:
        return x.round(decimals=2)

    def unrounded_attn_out() -> torch.Tensor:   # what a learner gets who carries unrounded weights forward
        return torch.softmax(s["masked"], dim=-1) @ s["V"]

    def qkv(name: str, W_name: str) -> list[tuple]:
        return [(W[W_name] @ s["X"], f"you computed {W_name}·X; the product is in the wrong order.",
                 f"Tokens are rows: {name} = X·{W_name}, each row of X times the columns of {W_name}."),
                (s["X"] @ W[W_name].T, f"you used the rows of {W_name} where its columns belong (X·{W_name}ᵀ).",
                 f"{name}[i][j] = row i of X · column j of {W_name} (read {W_name} down a column).")]

    def layer_norm(x: torch.Tensor, mean: bool = True, correction: int = 0, root: bool = True) -> torch.Tensor:
        centred = x - x.mean(-1, keepdim=True) if mean else x
        var = x.var(-1, keepdim=True, correction=correction) + EPS
        return rounded(centred / (var.sqrt() if root else var))

    known: dict[str, Any] = {
        "one_hot": lambda: [(s["one_hot"].T, "it is transposed: one column per token instead of one row per token.",
                             "one_hot has T = 4 rows (tokens) and 5 columns (vocabulary): row t is 1 at column ids[t].")],
        "tok": lambda: [(W["E"][:T], "row t is row t of E, but it should be row ids[t]: look tokens up by id, not "
                         "by position.", "The one-hot row of token t selects row ids[t] of E.")],
        "X": lambda: [(s["tok"], "the positional rows were not added: X is just the token embeddings.",
                       "Without P the model cannot tell positions apart: add P[t] to row t.")],
        "Q": lambda: qkv("Q", "W_q"), "K": lambda: qkv("K", "W_k"), "V": lambda: qkv("V", "W_v"),
        "scores": lambda: [
            (s["Q"] @ s["K"], "you computed Q·K: K not transposed. Row i of Q must meet row j of K.",
             "scores = Q·Kᵀ: scores[i][j] = (row i of Q) · (row j of K)."),
            (s["scores"].T, "you computed K·Qᵀ, the transpose: row i must belong to query i.",
             "scores[i][j] = how much token i (the query) looks at token j (the key).")],
        "scaled": lambda: [
            (s["scores"], "it equals scores: you did not scale. Divide by √d_k = 2.",
             "Without the 1/√d_k scaling, dot products grow with d_k and push softmax to a hard maximum."),
            (s["scores"] / D_K, "you divided by d_k = 4 instead of √d_k = 2.", "The scale is 1/√d_k: √4 = 2.")],
        "masked": lambda: [
            (s["scaled"].masked_fill(future.T, NEG_INF), "the mask hides the wrong triangle: the past (j < i) "
             "instead of the future (j > i).", "Token i may look at tokens 0..i: -inf goes where the column j > row i."),
            (s["scaled"], "nothing was masked.", "Put float('-inf') at every j > i."),
            (s["scaled"].masked_fill(future, 0.0), "the masked entries are 0, but e^0 = 1 would still give the "
             "future weight. Use float('-inf').", "Masked scores must be -inf so that e^-inf = 0.")],
        "hard": lambda: [
            (F.one_hot(s["masked"].argmax(-1), T), "a tie was given to the first maximum only: ties share the "
             "weight (1/2 each for two).", "With two equal maxima, each gets 1/2 (Fraction(1, 2))."),
            (torch.softmax(s["scaled"] / 1e-3, dim=-1).round(decimals=6), "the hardmax looked at the future: take "
             "the maximum of the unmasked entries only.", "Apply hardmax to the masked scores; -inf never wins.")],
        "weights": lambda: [
            (rounded(torch.softmax(s["scaled"], dim=-1)).masked_fill(future, 0.0), "the mask was applied after "
             "softmax (future weights set to 0 afterwards), so rows no longer sum to 1.",
             "Mask first (-inf), then softmax: e^-inf = 0 removes the future inside the normalisation."),
            (rounded(torch.softmax(s["masked"], dim=0)), "softmax normalised the columns; each row (one query) "
             "must sum to 1.", "Softmax runs along each row: divide by the sum of that row's exponentials."),
            (rounded(torch.softmax(s["scores"].masked_fill(future, NEG_INF), dim=-1)),
             "the softmax used the unscaled scores.", "Use the scaled (÷2) and masked scores.")],
        "attn_out": lambda: [
            (s["weights"].T @ s["V"], "you used the weights transposed (weightsᵀ·V).",
             "Row i of the output mixes the rows of V with the weights of row i: Σ_j weights[i][j]·V[j]."),
            (unrounded_attn_out(), NOT_ROUNDED, NOT_ROUNDED_HINT)],
        "proj": lambda: [
            (s["attn_out"], "it equals attn_out: the output projection W_o was forgotten.", "proj = attn_out·W_o."),
            (s["attn_out"] @ W["W_o"].T, "you used W_o's rows where its columns belong (attn_out·W_oᵀ).",
             "proj[i][j] = row i of attn_out · column j of W_o."),
            (unrounded_attn_out() @ W["W_o"], NOT_ROUNDED, NOT_ROUNDED_HINT)],
        "resid1": lambda: [
            (s["proj"], "it equals proj: the residual connection (adding X) was forgotten.",
             "resid1 = X + proj: the residual lets the layer add to its input instead of replacing it."),
            (s["tok"] + s["proj"], "you added the token embeddings without the positional rows: add X.",
             "X = one_hot·E + P."),
            (s["X"] + unrounded_attn_out() @ W["W_o"], NOT_ROUNDED, NOT_ROUNDED_HINT)],
        "mean": lambda: [(s["resid1"].mean(0), "you averaged over the tokens (down a column); layer norm averages "
                          "each token's features (along a row).", "mean[i] = average of row i of resid1.")],
        "var": lambda: [
            (s["resid1"].var(-1, correction=1), "you divided by n - 1 = 3 (the unbiased variance); layer norm "
             "divides by n = 4.", "Layer norm uses the biased variance: the plain average of the squared deviations."),
            (s["resid1"].var(-1, correction=0).sqrt(), "these are standard deviations; var is their square.",
             "var[i] = mean of (x - mean[i])².")],
        "normed": lambda: [
            (layer_norm(s["resid1"], correction=1), "you divided by the unbiased standard deviation (n - 1 = 3); "
             "layer norm uses the biased variance (divide by n = 4).", "σ² = (1/n) Σ (x - μ)²."),
            (layer_norm(s["resid1"], mean=False), "the mean was not subtracted before dividing.",
             "normed = (x - mean) / √(var + ε)."),
            (layer_norm(s["resid1"], root=False), "you divided by the variance instead of the standard deviation √var.",
             "normed = (x - mean) / √(var + ε).")],
        "ffn_hidden": lambda: [
            (s["normed"] @ W["W_1"] + W["b_1"], "it has negative entries: the ReLU is missing.",
             "ReLU(x) = max(x, 0): replace every negative entry by 0."),
            (torch.relu(s["normed"] @ W["W_1"]), "the bias b_1 was not added.",
             "Add b_1[j] to every entry of column j before the ReLU.")],
        "ffn_out": lambda: [((s["normed"] @ W["W_1"] + W["b_1"]) @ W["W_2"],
                             "you multiplied the values before the ReLU by W_2.", "Use ffn_hidden (after the ReLU).")],
        "resid2": lambda: [
            (s["ffn_out"], "it equals ffn_out: the second residual connection was forgotten.", "resid2 = normed + ffn_out."),
            (s["resid1"] + s["ffn_out"], "you added resid1; the FFN's input here is normed (post-norm layer).",
             "resid2 = normed + ffn_out."),
            (s["X"] + s["ffn_out"], "you added X; the FFN's input here is normed.", "resid2 = normed + ffn_out.")],
    }
    return [Mistake(as_step_grid(step, output), message, hint) for output, message, hint in known[step]()]


def check_steps(ns: Namespace, fn: str, p: dict[str, Any], sheet: dict[str, torch.Tensor], known: dict[str, Any],
                wanted: dict[str, list]) -> None:
    """Call the learner's ``fn`` on the inputs in ``known`` and compare each step it returns with
    ``wanted``, naming a known mistake (see :func:`step_mistakes`) where it sees one."""
    got = call_step(ns, fn, known)
    for step in EXERCISE_STEPS[fn][1]:
        expect_step(fn, p["tokens"], step, got[step], wanted[step], step_mistakes(step, p, sheet))


def _practice_step(ns: Namespace, fn: str) -> None:
    """Check the learner's ``fn`` on their own problem against PyTorch, step by step."""
    _, p = student_problem(ns)
    sheet = torch_sheet(p)
    known = {**p, **{name: plain_values(value) for name, value in sheet.items()}}
    check_steps(ns, fn, p, sheet, known, {step: as_step_grid(step, sheet[step]) for step in EXERCISE_STEPS[fn][1]})


# ---------------------------------------------------------------- exercises 1-7: the steps

@lesson.exercise("embed", points=1, hint=STEPS["X"].hint)
def embed(ns: Namespace) -> None:
    _practice_step(ns, "embed")


@lesson.exercise("qkv", points=1, hint="Tokens are rows: Q[i][j] = (row i of X) · (column j of W_q).")
def qkv(ns: Namespace) -> None:
    _practice_step(ns, "qkv")


@lesson.exercise("attention_scores", points=2, hint=STEPS["scores"].hint)
def attention_scores(ns: Namespace) -> None:
    _practice_step(ns, "attention_scores")


@lesson.exercise("mask_and_softmax", points=2, hint=STEPS["weights"].hint)
def mask_and_softmax(ns: Namespace) -> None:
    _practice_step(ns, "mask_and_softmax")


@lesson.exercise("attention_output", points=2, hint=STEPS["attn_out"].hint)
def attention_output(ns: Namespace) -> None:
    _practice_step(ns, "attention_output")


@lesson.exercise("layer_norm", points=2, hint=STEPS["normed"].hint)
def layer_norm(ns: Namespace) -> None:
    _practice_step(ns, "layer_norm")


@lesson.exercise("feed_forward", points=2, hint=STEPS["ffn_hidden"].hint)
def feed_forward(ns: Namespace) -> None:
    _practice_step(ns, "feed_forward")


# ---------------------------------------------------------------- exercise 8: hand and machine

MACHINE_HINT = ("Build X with nn.Embedding and P; run q, k, v, attention with is_causal=True, W_o, the residual, "
                "nn.LayerNorm(4), the FFN and the second residual, all in torch.")


def call_machine(ns: Namespace, p: dict[str, Any], whose: str) -> torch.Tensor:
    """The learner's ``machine_forward(p)``, checked for its type and shape."""
    got = ns.machine_forward(copy.deepcopy(p))
    if not isinstance(got, torch.Tensor):
        raise CheckFailure(f"machine_forward should return a torch.Tensor, but got {describe(got)}.",
                           "Compute with torch; return resid2 as a tensor of shape (4, 4).")
    if tuple(got.shape) != (T, D_MODEL):
        raise CheckFailure(f"machine_forward returned shape {tuple(got.shape)} for {whose}; expected "
                           f"({T}, {D_MODEL}) (one row per token).", "Drop any batch dimension before returning.")
    if not got.is_floating_point():
        raise CheckFailure(f"machine_forward returned dtype {got.dtype}; it should be a float tensor.")
    return got.detach()


def another_problem(p: dict[str, Any]) -> dict[str, Any]:
    """A second, different problem made from ``p`` (the tokens reversed, W_q and W_k swapped, b_1
    negated): machine_forward must compute, not repeat numbers."""
    q = copy.deepcopy(p)
    q["ids"], q["W_q"], q["W_k"], q["b_1"] = p["ids"][::-1], p["W_k"], p["W_q"], [-b for b in p["b_1"]]
    q["tokens"] = [p["vocab"][i] for i in q["ids"]]
    return q


@lesson.exercise("hand_vs_machine", points=3, hint=MACHINE_HINT)
def hand_vs_machine(ns: Namespace) -> None:
    sid, own = student_problem(ns)
    practice = make_problem(seed_for("practice"))
    for p, whose, key in (
            (practice, "the practice problem",
             'machine_forward(p) for the practice problem, p = make_problem(seed_for("practice"))'),
            (another_problem(practice), "a second problem",
             "machine_forward(p) for a second problem (the practice problem with its tokens reversed, W_q and W_k "
             "swapped and b_1 negated)")):
        got = call_machine(ns, p, whose)
        stored.expect("hand_vs_machine", key, got.double(), hint=MACHINE_HINT, atol=1e-4, rtol=0, check_dtype=False)
    got = call_machine(ns, own, "your problem").double()
    hand = torch_sheet(own)["resid2"]
    error = (got - hand).abs()
    if error.max() > 0.05:
        i, j = divmod(int(error.argmax()), D_MODEL)
        raise CheckFailure(f"machine_forward on your problem ({sid!r}): entry [{i}][{j}] is {got[i, j].item():.4f}, "
                           f"but the hand computation gives {hand[i, j].item():.2f}. Hand and machine must agree "
                           "to about 2 decimals.", MACHINE_HINT)
    if error.max() < 1e-6:
        raise CheckFailure("machine_forward on your problem returns the hand result, rounded like on paper; the "
                           "machine should compute without rounding.",
                           "Compute every step with torch from the numbers in p; round nothing.")
