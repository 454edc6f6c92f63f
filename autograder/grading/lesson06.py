"""Checks for lesson 06 — a transformer layer by hand, on small integer matrices.

Every learner gets their own numbers.  The notebook sets ``STUDENT_ID`` and builds its
problem with ``make_problem(seed_for(STUDENT_ID))``; the checks read ``STUDENT_ID`` from the
notebook and rebuild the same problem, so an instructor can hand each student different
numbers and still grade them all with one notebook.  When a grader knows whose submission
it is (see :func:`grading_student_id`: the ``AUTOGRADER_STUDENT_ID`` environment variable, or
nbgrader's folder ``autograded/<student_id>/<assignment>/``), it grades that student's problem,
not the one the notebook claims, so answers copied from another student score 0.

The reference (:func:`solve`) works in exact fractions.  It rounds to 2 decimals exactly where
a pencil-and-paper solver has to (the softmax weights and the layer-norm output); every later
step is exact arithmetic on those rounded numbers, as on paper.  Each exercise function
receives the *correct* inputs of its steps, so one wrong step never spoils the grading of
the next exercise.

For instructors, an answer key: ``solve(make_problem(seed_for("alice")))``, and a printable
sheet: ``problem_markdown(make_problem(seed_for("alice")))``.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import random
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..feedback import describe
from ..registry import CheckFailure, Namespace

from ..practice.lesson06 import lesson

T, VOCAB_SIZE, D_MODEL, D_FF = 4, 5, 4, 4
D_K = D_MODEL                      # one head, so d_k = d_model = 4 and sqrt(d_k) = 2 exactly
VOCAB = ["I", "like", "small", "numbers", "!"]
EPS = 1e-5                         # nn.LayerNorm's default; far too small to matter at 2 decimals
NEG_INF = float("-inf")

EXACT, ROUNDED, DERIVED = 0.0, 0.01, 0.05   # tolerances: exact / 2 decimals / computed from 2-decimal inputs
EXP_TABLE = {(-k / 2 or 0.0): round(math.exp(-k / 2), 4) for k in range(17)}   # e^x for x = 0, -0.5, ..., -8

# Each graded step function: the inputs the check passes (taken from the problem and the
# reference solution) and the steps it must return, in order.
EXERCISE_STEPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "embed": (("ids", "E", "P"), ("one_hot", "tok", "X")),
    "qkv": (("X", "W_q", "W_k", "W_v"), ("Q", "K", "V")),
    "attention_scores": (("Q", "K"), ("scores", "scaled")),
    "mask_and_softmax": (("scaled",), ("masked", "hard", "weights")),
    "attention_output": (("weights", "V", "W_o", "X"), ("attn_out", "proj", "resid1")),
    "layer_norm": (("resid1",), ("mean", "var", "normed")),
    "feed_forward": (("normed", "W_1", "b_1", "W_2"), ("ffn_hidden", "ffn_out", "resid2")),
}

STEPS = {  # name -> (what it is, tolerance, hint)
    "one_hot": ("the one-hot matrix", EXACT, "Row t has a single 1, in column ids[t]."),
    "tok": ("the embedding lookup one_hot·E", EXACT, "one_hot·E picks row ids[t] of E for token t."),
    "X": ("X = one_hot·E + P", EXACT, "Add the positional row P[t] to the embedding of the token at position t."),
    "Q": ("Q = X·W_q", EXACT, "Q[i][j] = (row i of X) · (column j of W_q)."),
    "K": ("K = X·W_k", EXACT, "K[i][j] = (row i of X) · (column j of W_k)."),
    "V": ("V = X·W_v", EXACT, "V[i][j] = (row i of X) · (column j of W_v)."),
    "scores": ("scores = Q·Kᵀ", EXACT, "scores[i][j] = (row i of Q) · (row j of K)."),
    "scaled": ("scaled = scores / √d_k", EXACT, "d_k = 4, so divide every score by √4 = 2 (halves are fine: 5/2 or 2.5)."),
    "masked": ("the causal mask", EXACT, "Keep scaled[i][j] where j ≤ i; put float('-inf') where j > i (the future)."),
    "hard": ("the hardmax weights", EXACT, "In each row, the largest unmasked entries share the weight 1 equally: "
             "one maximum gets 1, two tied maxima get 1/2 each, three get Fraction(1, 3) (or the string '1/3')."),
    "weights": ("the softmax weights, to 2 decimals", ROUNDED, "Subtract the row maximum, look up e^x in EXP_TABLE, "
                "divide by the row's sum; keep 4 decimals on the way and round only the result."),
    "attn_out": ("attn_out = weights·V", DERIVED, "attn_out[i] = Σ_j weights[i][j] · (row j of V)."),
    "proj": ("proj = attn_out·W_o", DERIVED, "proj[i][j] = (row i of attn_out) · (column j of W_o)."),
    "resid1": ("resid1 = X + proj", DERIVED, "The residual connection adds the layer's input X to proj."),
    "mean": ("the mean of each row of resid1", ROUNDED, "mean[i] = (sum of row i of resid1) / 4."),
    "var": ("the variance of each row of resid1", ROUNDED, "var[i] = average of (resid1[i][j] - mean[i])² over the 4 "
            "entries of the row (divide by 4, not 3)."),
    "normed": ("normed = (resid1 - mean) / √(var + ε), to 2 decimals", ROUNDED,
               "Subtract the row's mean, divide by the row's standard deviation √var; round only the result."),
    "ffn_hidden": ("ffn_hidden = ReLU(normed·W_1 + b_1)", DERIVED,
                   "Multiply, add b_1[j] to column j, then replace every negative number by 0."),
    "ffn_out": ("ffn_out = ffn_hidden·W_2", DERIVED, "ffn_out[i][j] = (row i of ffn_hidden) · (column j of W_2)."),
    "resid2": ("resid2 = normed + ffn_out", DERIVED, "The second residual adds the FFN's input (normed) to its output."),
}


# ---------------------------------------------------------------- problems

def seed_for(student_id: str) -> int:
    """A stable seed for a student id (sha256, so it is the same on every machine and run)."""
    return int.from_bytes(hashlib.sha256(str(student_id).strip().encode("utf-8")).digest()[:8], "big")


def make_problem(seed: int) -> dict[str, Any]:
    """The problem set for ``seed``: token ids and small integer matrices (a fresh copy)."""
    return copy.deepcopy(_problem(int(seed)))


@lru_cache(maxsize=64)
def _problem(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)

    def grid(rows: int, cols: int, choices: list[int]) -> list[list[int]]:
        return [[rng.choice(choices) for _ in range(cols)] for _ in range(rows)]

    # positional rows: distinct 0/1 rows with one or two ones
    patterns = [[int(k in ones) for k in range(D_MODEL)] for ones in
                [(a,) for a in range(D_MODEL)] + [(a, b) for a in range(D_MODEL) for b in range(a + 1, D_MODEL)]]
    while True:  # draw until the numbers make a good exercise (one draw in a few dozen)
        ids = [rng.randrange(VOCAB_SIZE) for _ in range(T)]
        if len(set(ids)) < 3:
            continue  # at most one repeated token
        p = dict(
            seed=seed, vocab=list(VOCAB), d_k=D_K, eps=EPS, ids=ids,
            E=grid(VOCAB_SIZE, D_MODEL, [-1, 0, 0, 1, 1, 2]),
            P=[list(row) for row in rng.sample(patterns, T)],
            W_q=grid(D_MODEL, D_K, [-1, 0, 0, 0, 1, 1]),
            W_k=grid(D_MODEL, D_K, [-1, 0, 0, 0, 1, 1]),
            W_v=grid(D_MODEL, D_K, [-1, 0, 0, 1, 1, 2]),
            W_o=grid(D_K, D_MODEL, [-1, 0, 0, 1, 1]),
            W_1=grid(D_MODEL, D_FF, [-1, 0, 0, 1, 1]),
            b_1=[rng.choice([-1, 0, 1]) for _ in range(D_FF)],
            W_2=grid(D_FF, D_MODEL, [-1, 0, 0, 1, 1]),
        )
        p["tokens"] = [VOCAB[i] for i in p["ids"]]
        if _good_problem(p):
            return p


# ---------------------------------------------------------------- exact reference

def _mm(A: list, B: list) -> list:
    return [[sum(a * b for a, b in zip(row, col)) for col in zip(*B)] for row in A]


def _tr(A: list) -> list:
    return [list(col) for col in zip(*A)]


def _add(A: list, B: list) -> list:
    return [[a + b for a, b in zip(ra, rb)] for ra, rb in zip(A, B)]


def _frac(A: list) -> list:
    return [[Fraction(a) for a in row] for row in A]


def _round2(x: float) -> Fraction:
    return Fraction(f"{x:.2f}")


def _mask(S: list, future: bool = True) -> list:
    """-inf above the diagonal (the future); with future=False, below it (the wrong triangle)."""
    return [[NEG_INF if (j > i if future else j < i) else s for j, s in enumerate(row)] for i, row in enumerate(S)]


def _hardmax(S: list, split_ties: bool = True) -> list:
    out = []
    for row in S:
        top = max(row)
        winners = [j for j, s in enumerate(row) if s == top]
        if not split_ties:
            winners = winners[:1]
        out.append([Fraction(1, len(winners)) if j in winners else Fraction(0) for j in range(len(row))])
    return out


def _softmax_rows(S: list) -> list[list[float]]:
    out = []
    for row in S:
        top = max(row)
        e = [0.0 if s == NEG_INF else math.exp(float(s - top)) for s in row]
        out.append([v / sum(e) for v in e])
    return out


def _layer_norm_parts(R: list, unbiased: bool = False) -> tuple[list, list, list[list[float]]]:
    n = len(R[0])
    mean = [sum(row, Fraction(0)) / n for row in R]
    var = [sum(((x - m) ** 2 for x in row), Fraction(0)) / (n - 1 if unbiased else n) for row, m in zip(R, mean)]
    normed = [[float(x - m) / math.sqrt(float(v) + EPS) for x in row] for row, m, v in zip(R, mean, var)]
    return mean, var, normed


def _relu(A: list) -> list:
    return [[max(a, Fraction(0)) for a in row] for row in A]


def solve(p: dict[str, Any]) -> dict[str, Any]:
    """Every intermediate of the hand computation, exact (Fractions; -inf where masked)."""
    one_hot = [[Fraction(int(j == i)) for j in range(len(p["E"]))] for i in p["ids"]]
    tok = _mm(one_hot, p["E"])
    X = _add(tok, _frac(p["P"]))
    Q, K, V = _mm(X, p["W_q"]), _mm(X, p["W_k"]), _mm(X, p["W_v"])
    scores = _mm(Q, _tr(K))
    scaled = [[Fraction(s, 2) for s in row] for row in scores]   # sqrt(d_k) = sqrt(4) = 2
    masked = _mask(scaled)
    hard = _hardmax(masked)
    weights = [[_round2(w) for w in row] for row in _softmax_rows(masked)]
    attn_out = _mm(weights, V)
    proj = _mm(attn_out, p["W_o"])
    resid1 = _add(X, proj)
    mean, var, normed = _layer_norm_parts(resid1)
    normed = [[_round2(x) for x in row] for row in normed]
    pre = [[h + b for h, b in zip(row, p["b_1"])] for row in _mm(normed, p["W_1"])]
    ffn_hidden = _relu(pre)
    ffn_out = _mm(ffn_hidden, p["W_2"])
    resid2 = _add(normed, ffn_out)
    return dict(one_hot=one_hot, tok=tok, X=X, Q=Q, K=K, V=V, scores=scores, scaled=scaled, masked=masked,
                hard=hard, weights=weights, attn_out=attn_out, proj=proj, resid1=resid1, mean=mean, var=var,
                normed=normed, ffn_pre=pre, ffn_hidden=ffn_hidden, ffn_out=ffn_out, resid2=resid2)


def float_forward(p: dict[str, Any], causal: bool = True, transposed: bool = False) -> list[list[float]]:
    """The same layer in ordinary floating point, without any rounding (plain Python).

    ``transposed=True`` is the classic copying bug: every weight matrix used as Wᵀ.
    """
    W = {k: [[float(x) for x in row] for row in (_tr(p[k]) if transposed else p[k])]
         for k in ("W_q", "W_k", "W_v", "W_o", "W_1", "W_2")}
    X = [[float(e + q) for e, q in zip(p["E"][i], p["P"][t])] for t, i in enumerate(p["ids"])]
    Q, K, V = _mm(X, W["W_q"]), _mm(X, W["W_k"]), _mm(X, W["W_v"])
    S = [[s / math.sqrt(len(Q[0])) for s in row] for row in _mm(Q, _tr(K))]
    A = _softmax_rows(_mask(S) if causal else S)
    R = _add(X, _mm(_mm(A, V), W["W_o"]))
    normed = []
    for row in R:
        m = sum(row) / len(row)
        v = sum((x - m) ** 2 for x in row) / len(row)
        normed.append([(x - m) / math.sqrt(v + EPS) for x in row])
    H = [[max(0.0, h + b) for h, b in zip(row, p["b_1"])] for row in _mm(normed, W["W_1"])]
    return _add(normed, _mm(H, W["W_2"]))


def _maxdiff(A: list, B: list) -> float:
    """Largest entry difference of two same-shaped grids (inf where one is -inf and the other not)."""
    A = A if isinstance(A[0], list) else [A]
    B = B if isinstance(B[0], list) else [B]
    worst = 0.0
    for ra, rb in zip(A, B):
        for a, b in zip(ra, rb):
            if a == NEG_INF or b == NEG_INF:
                worst = max(worst, 0.0 if a == b else math.inf)
            else:
                worst = max(worst, abs(float(a) - float(b)))
    return worst


def _near_tie(x: float) -> bool:
    """True if rounding x to 2 decimals is ambiguous for someone using 4-decimal tables."""
    return abs((abs(x) * 100) % 1 - 0.5) < 0.02


def _good_problem(p: dict[str, Any]) -> bool:
    """Small numbers, every step matters, and every known mistake gives a visibly different answer."""
    X = [[e + q for e, q in zip(p["E"][i], p["P"][t])] for t, i in enumerate(p["ids"])]
    scores = _mm(_mm(X, p["W_q"]), _tr(_mm(X, p["W_k"])))
    if max(abs(x) for row in scores for x in row) > 16:
        return False
    if not any(row[:i + 1].count(max(row[:i + 1])) > 1 for i, row in enumerate(scores) if i):
        return False  # at least one tie for the hardmax
    if any(max(row[:i + 1]) - min(row[:i + 1]) > 16 for i, row in enumerate(scores)):
        return False  # the exp table (down to -8 after halving) must cover every entry
    s = solve(p)
    X, scores, scaled, masked = s["X"], s["scores"], s["scaled"], s["masked"]
    if _maxdiff(s["tok"], [p["E"][t] for t in range(T)]) < 1:
        return False  # lookup by position must differ from lookup by id
    if any(not any(row) for row in X):
        return False
    big = 0.2
    for name in ("W_q", "W_k", "W_v"):
        good = _mm(X, p[name])
        if min(_maxdiff(good, _mm(p[name], X)), _maxdiff(good, _mm(X, _tr(p[name])))) < 1:
            return False
    Q, K = s["Q"], s["K"]
    if min(_maxdiff(scores, _mm(Q, K)), _maxdiff(scores, _tr(scores))) < 1:
        return False
    if _maxdiff(s["hard"], _hardmax(scaled)) == 0 or _maxdiff(s["hard"], _hardmax(masked, split_ties=False)) == 0:
        return False
    soft = _softmax_rows(masked)
    if any(_near_tie(w) for row in soft for w in row):
        return False
    after = [[w if j <= i else 0.0 for j, w in enumerate(row)] for i, row in enumerate(_softmax_rows(scaled))]
    columns = _tr(_softmax_rows(_tr(masked)))
    wrong_triangle = _softmax_rows(_mask(scaled, future=False))
    unscaled = _softmax_rows(_mask(scores))
    if min(_maxdiff(soft, v) for v in (after, columns, wrong_triangle)) < big or _maxdiff(soft, unscaled) < 0.05:
        return False
    W, V = s["weights"], s["V"]
    if min(_maxdiff(s["attn_out"], _mm(_tr(W), V)), _maxdiff(s["proj"], s["attn_out"]),
           _maxdiff(s["proj"], _mm(s["attn_out"], _tr(p["W_o"])))) < big:
        return False
    mean, var, normed_f = _layer_norm_parts(s["resid1"])
    if min(var) < Fraction(1, 2) or any(_near_tie(x) for row in normed_f for x in row):
        return False
    cols_mean = [sum(c, Fraction(0)) / T for c in _tr(s["resid1"])]
    by_var = [[float(x - m) / (float(v) + EPS) for x in row] for row, m, v in zip(s["resid1"], mean, var)]
    if _maxdiff(mean, cols_mean) < big or _maxdiff(normed_f, by_var) < big:
        return False
    pre = s["ffn_pre"]
    if min(x for row in pre for x in row) > -0.5 or sum(x > 0.2 for row in pre for x in row) < 4:
        return False  # ReLU must visibly do something, and not everything
    no_bias = _relu(_mm(s["normed"], p["W_1"]))
    if _maxdiff(s["ffn_hidden"], no_bias) < big or not any(p["b_1"]):
        return False
    resid2 = s["resid2"]
    if min(_maxdiff(resid2, s["ffn_out"]), _maxdiff(resid2, _add(s["resid1"], s["ffn_out"])),
           _maxdiff(resid2, _add(X, s["ffn_out"]))) < big:
        return False
    exact = float_forward(p)
    if _maxdiff(exact, resid2) > 0.03:
        return False  # hand (rounded twice) and machine must agree to about 2 decimals
    if min(_maxdiff(exact, float_forward(p, causal=False)), _maxdiff(exact, float_forward(p, transposed=True))) < big:
        return False
    return True


# ---------------------------------------------------------------- printing (provided to learners)

def fmt_number(x: Any) -> str:
    """5/2 -> '2.5', 1/3 -> '1/3', 3 -> '3', -inf -> '-inf', floats to at most 4 decimals."""
    if isinstance(x, float):
        if math.isinf(x) or math.isnan(x):
            return str(x)
        text = f"{x:.4f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    if isinstance(x, Fraction):
        if x.denominator == 1:
            return str(x.numerator)
        den = x.denominator
        while den % 2 == 0:
            den //= 2
        while den % 5 == 0:
            den //= 5
        if den == 1 and x.denominator <= 10 ** 8:
            return format(float(x), "f").rstrip("0").rstrip(".")
        return f"{x.numerator}/{x.denominator}"
    return str(x)


def fmt_matrix(M: Any) -> str:
    """A matrix (or vector) as aligned text, one row per line."""
    if hasattr(M, "tolist"):
        M = M.tolist()
    rows = M if M and isinstance(M[0], (list, tuple)) else [M]
    cells = [[fmt_number(x) for x in row] for row in rows]
    width = max(len(c) for row in cells for c in row)
    return "\n".join("[ " + "  ".join(c.rjust(width) for c in row) + " ]" for row in cells)


def _latex(M: list) -> str:
    rows = M if isinstance(M[0], list) else [M]
    body = r" \\ ".join(" & ".join(fmt_number(x).replace("-inf", r"-\infty") for x in row) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def problem_markdown(p: dict[str, Any], title: str = "") -> str:
    """The problem as Markdown + LaTeX: fits one printed page (IPython renders it; pandoc prints it)."""
    toks = ", ".join(f"{t} = `{w}` (id {i})" for t, (w, i) in enumerate(zip(p["tokens"], p["ids"])))
    table_x = " | ".join(fmt_number(Fraction(x).limit_denominator(2)) for x in EXP_TABLE)
    table_e = " | ".join(f"{v:.4f}" for v in EXP_TABLE.values())
    return "\n".join([
        f"### {title or 'Transformer by hand'} (sheet {p['seed'] % 100000:05d})",
        f"**Tokens** (T = {T}, positions 0–{T - 1}): {toks}. Vocabulary: "
        + ", ".join(f"{i} = `{w}`" for i, w in enumerate(p["vocab"])) + ".",
        "",
        rf"$$E = {_latex(p['E'])} \qquad P = {_latex(p['P'])}$$",
        "",
        rf"$$W_q = {_latex(p['W_q'])} \quad W_k = {_latex(p['W_k'])} \quad W_v = {_latex(p['W_v'])}$$",
        "",
        rf"$$W_o = {_latex(p['W_o'])} \quad W_1 = {_latex(p['W_1'])} \quad b_1 = {_latex(p['b_1'])}"
        rf" \quad W_2 = {_latex(p['W_2'])}$$",
        "",
        r"$d_k = 4$ so $\sqrt{d_k} = 2$; layer norm without gain or bias, $\varepsilon$ negligible. "
        r"Table of $e^x$:",
        "",
        f"| $x$ | {table_x} |",
        "|---" * (len(EXP_TABLE) + 1) + "|",
        f"| $e^x$ | {table_e} |",
        "",
        r"**Steps:** one-hot → $X = \mathrm{onehot}\cdot E + P$ → $Q, K, V = XW_q, XW_k, XW_v$ → $QK^\top$ → "
        r"$\div 2$ → causal mask → hardmax and softmax (2 decimals) → weights·$V$ → $\cdot W_o$ → $+X$ → "
        r"layer norm (2 decimals) → $\mathrm{ReLU}(\cdot W_1 + b_1)$ → $\cdot W_2$ → $+$ normed.",
    ])


def show_problem(p: dict[str, Any], title: str = "") -> str:
    """Render the problem as a clean printable sheet in Jupyter (and return the Markdown)."""
    text = problem_markdown(p, title)
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # pragma: no cover - Jupyter is a course requirement
        print(text)
    return text


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


def _student_problem(ns: Namespace) -> tuple[str, dict[str, Any]]:
    """The problem of the student being graded (see the module docstring)."""
    sid = ns.STUDENT_ID
    if not isinstance(sid, str) or not sid.strip():
        raise CheckFailure(f"STUDENT_ID should be a non-empty string, but it is {describe(sid)}.",
                           'Keep the line STUDENT_ID = "practice", or put the id your instructor gave you.')
    owner = grading_student_id()
    if owner is not None:
        if sid.strip() != owner:
            raise CheckFailure(f"this notebook says STUDENT_ID = {sid!r}, but it was submitted by {owner!r}. "
                               "Every student's numbers come from their own id, so answers made for another "
                               "id cannot be graded.",
                               f'Set STUDENT_ID = "{owner}", run the notebook again and redo the exercises '
                               "with your own numbers.")
    seed = ns.values.get("SEED", seed_for(sid))
    if seed != seed_for(sid):
        raise CheckFailure(f"SEED = {seed!r} is not seed_for(STUDENT_ID) = {seed_for(sid)}: the checks grade the "
                           "problem of your STUDENT_ID.", "Keep the line SEED = seed_for(STUDENT_ID) unchanged.")
    return sid, make_problem(seed_for(sid))


# ---------------------------------------------------------------- comparing answers

class _Bad(Exception):
    """An entry that is not a number."""


def _num(x: Any) -> Any:
    if hasattr(x, "item") and not isinstance(x, (list, tuple)):
        try:
            x = x.item()
        except (TypeError, ValueError):
            raise _Bad(x) from None
    if isinstance(x, bool):
        raise _Bad(x)
    if isinstance(x, (int, Fraction)):
        return x
    if isinstance(x, float):
        return x
    if isinstance(x, str):
        s = x.strip().lower().replace(" ", "")
        if s in ("-inf", "-infinity", "-∞"):
            return NEG_INF
        try:
            return Fraction(s)
        except (ValueError, ZeroDivisionError):
            raise _Bad(x) from None
    try:
        return Fraction(x)   # decimal.Decimal and friends
    except (TypeError, ValueError):
        raise _Bad(x) from None


def _grid(value: Any, shape: tuple[int, ...]) -> list | None:
    """``value`` as a list of rows (or a flat list for a vector) of numbers, or None if it has another shape."""
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or len(value) != shape[0]:
        return None
    if len(shape) == 1:
        if any(isinstance(v, (list, tuple)) for v in value):
            return None
        return [_num(v) for v in value]
    out = []
    for row in value:
        if hasattr(row, "tolist") and not isinstance(row, (list, tuple)):
            row = row.tolist()
        if not isinstance(row, (list, tuple)) or len(row) != shape[1]:
            return None
        out.append([_num(v) for v in row])
    return out


def _shape(value: Any) -> tuple[int, ...]:
    try:
        return tuple(len(x) for x in (value, value[0])) if isinstance(value[0], (list, tuple)) else (len(value),)
    except (TypeError, IndexError, KeyError):
        return ()


def _entry_ok(got: Any, want: Any, tol: float) -> bool:
    if want == NEG_INF or got == NEG_INF:
        return got == want
    if isinstance(got, float) and math.isnan(got):
        return False
    if tol == 0 and isinstance(got, (int, Fraction)):
        return got == want
    return abs(float(got) - float(want)) <= max(tol, 1e-9) + 1e-9


def _first_wrong(got: list, want: list, tol: float) -> tuple[int, ...] | None:
    if want and isinstance(want[0], list):
        for i, (rg, rw) in enumerate(zip(got, want)):
            for j, (g, w) in enumerate(zip(rg, rw)):
                if not _entry_ok(g, w, tol):
                    return i, j
        return None
    for i, (g, w) in enumerate(zip(got, want)):
        if not _entry_ok(g, w, tol):
            return (i,)
    return None


def _matches(value: Any, want: list, tol: float) -> bool:
    try:
        g = _grid(value, _shape(want))
    except _Bad:
        return False
    return g is not None and _first_wrong(g, want, tol) is None


def _at(M: list, where: tuple[int, ...]) -> Any:
    return M[where[0]][where[1]] if len(where) == 2 else M[where[0]]


def _compare(fn: str, p: dict, step: str, value: Any, want: list,
             variants: tuple[tuple[list, str, str], ...] = ()) -> None:
    """Fail with a teaching message unless ``value`` equals ``want`` (within the step's tolerance).

    ``variants`` are (buggy answer, message, hint): a wrong answer equal to one of them gets
    that specific message.
    """
    label, tol, hint = STEPS[step]
    shape = (len(want), len(want[0])) if isinstance(want[0], list) else (len(want),)
    try:
        got = _grid(value, shape)
    except _Bad as bad:
        raise CheckFailure(f"{fn}: step {step} ({label}) contains {bad.args[0]!r}, which is not a number.",
                           "Use ints, fractions (Fraction(5, 2) or '5/2'), floats, or float('-inf').") from None
    if got is not None and _first_wrong(got, want, tol) is None:
        return
    for buggy, message, bug_hint in variants:
        if _matches(value, buggy, tol):
            raise CheckFailure(f"{fn}: step {step} ({label}) is wrong: {message}", bug_hint)
    if got is None:
        what = f"a {shape[0]}×{shape[1]} matrix (one row per token)" if len(shape) == 2 else \
            f"a list of {shape[0]} numbers (one per token)"
        raise CheckFailure(f"{fn}: step {step} ({label}) should be {what}, but got {describe(value)}.", hint)
    where = _first_wrong(got, want, tol)
    index = "".join(f"[{k}]" for k in where)
    place = f"row {where[0]} (token {where[0]}, {p['tokens'][where[0]]!r})" + \
        (f", column {where[1]}" if len(where) == 2 else "")
    accuracy = {EXACT: "", ROUNDED: " (to 2 decimals)"}.get(tol, f" (give or take {tol:g})")
    raise CheckFailure(f"{fn}: step {step} ({label}): the first wrong entry is {step}{index}, {place}: "
                       f"expected {fmt_number(_at(want, where))}{accuracy}, got {fmt_number(_at(got, where))}.",
                       hint)


def _plain(x: Any) -> Any:
    """Reference values as the learner's functions receive them: ints where whole, else floats."""
    if isinstance(x, list):
        return [_plain(v) for v in x]
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else float(x)
    return x


def _call(ns: Namespace, fn: str) -> tuple[dict, dict, dict]:
    """Call the learner's step function ``fn`` on the correct inputs of their own problem."""
    _, p = _student_problem(ns)
    s = solve(p)
    inputs, steps = EXERCISE_STEPS[fn]
    known = {**p, **s}
    result = getattr(ns, fn)(*(_plain(copy.deepcopy(known[name])) for name in inputs))
    if not isinstance(result, (tuple, list)) or len(result) != len(steps):
        raise CheckFailure(f"{fn} should return {len(steps)} things, ({', '.join(steps)}), but returned "
                           f"{describe(result)}.", f"End with: return {', '.join(steps)}")
    return p, s, dict(zip(steps, result))


# ---------------------------------------------------------------- exercises

@lesson.grading("embed")
def check_embed(ns: Namespace) -> None:
    p, s, got = _call(ns, "embed")
    _compare("embed", p, "one_hot", got["one_hot"], s["one_hot"], (
        (_tr(s["one_hot"]), "it is transposed: one column per token instead of one row per token.",
         "one_hot has T = 4 rows (tokens) and 5 columns (vocabulary): row t is 1 at column ids[t]."),))
    by_position = [list(map(Fraction, p["E"][t])) for t in range(T)]
    _compare("embed", p, "tok", got["tok"], s["tok"], (
        (by_position, "row t is row t of E, but it should be row ids[t]: look tokens up by id, not by position.",
         "The one-hot row of token t selects row ids[t] of E."),))
    _compare("embed", p, "X", got["X"], s["X"], (
        (s["tok"], "the positional rows were not added: X is just the token embeddings.",
         "Without P the model cannot tell positions apart: add P[t] to row t."),))


@lesson.grading("qkv")
def check_qkv(ns: Namespace) -> None:
    p, s, got = _call(ns, "qkv")
    for name, W in (("Q", "W_q"), ("K", "W_k"), ("V", "W_v")):
        _compare("qkv", p, name, got[name], s[name], (
            (_mm(p[W], s["X"]), f"you computed {W}·X; the product is in the wrong order.",
             f"Tokens are rows: {name} = X·{W}, each row of X times the columns of {W}."),
            (_mm(s["X"], _tr(p[W])), f"you used the rows of {W} where its columns belong (X·{W}ᵀ).",
             f"{name}[i][j] = row i of X · column j of {W} (read {W} down a column)."),))


@lesson.grading("attention_scores")
def check_attention_scores(ns: Namespace) -> None:
    p, s, got = _call(ns, "attention_scores")
    Q, K, scores = s["Q"], s["K"], s["scores"]
    _compare("attention_scores", p, "scores", got["scores"], scores, (
        (_mm(Q, K), "you computed Q·K: K not transposed. Row i of Q must meet row j of K.",
         "scores = Q·Kᵀ: scores[i][j] = (row i of Q) · (row j of K)."),
        (_tr(scores), "you computed K·Qᵀ, the transpose: row i must belong to query i.",
         "scores[i][j] = how much token i (the query) looks at token j (the key)."),))
    _compare("attention_scores", p, "scaled", got["scaled"], s["scaled"], (
        (scores, "it equals scores: you did not scale. Divide by √d_k = 2.",
         "Without the 1/√d_k scaling, dot products grow with d_k and push softmax to a hard maximum."),
        ([[x / 4 for x in row] for row in scores], "you divided by d_k = 4 instead of √d_k = 2.",
         "The scale is 1/√d_k: √4 = 2."),))


@lesson.grading("mask_and_softmax")
def check_mask_and_softmax(ns: Namespace) -> None:
    p, s, got = _call(ns, "mask_and_softmax")
    scaled, masked = s["scaled"], s["masked"]
    zeros = [[Fraction(0) if j > i else x for j, x in enumerate(row)] for i, row in enumerate(scaled)]
    _compare("mask_and_softmax", p, "masked", got["masked"], masked, (
        (_mask(scaled, future=False), "the mask hides the wrong triangle: the past (j < i) instead of the future "
         "(j > i).", "Token i may look at tokens 0..i: -inf goes where the column j > row i."),
        (scaled, "nothing was masked.", "Put float('-inf') at every j > i."),
        (zeros, "the masked entries are 0, but e^0 = 1 would still give the future weight. Use float('-inf').",
         "Masked scores must be -inf so that e^-inf = 0."),))
    _compare("mask_and_softmax", p, "hard", got["hard"], s["hard"], (
        (_hardmax(masked, split_ties=False), "a tie was given to the first maximum only: ties share the weight "
         "(1/2 each for two).", "With two equal maxima, each gets 1/2 (Fraction(1, 2))."),
        (_hardmax(scaled), "the hardmax looked at the future: take the maximum of the unmasked entries only.",
         "Apply hardmax to the masked scores; -inf never wins."),))
    soft = [[_round2(w) for w in row] for row in _softmax_rows(scaled)]
    after = [[w if j <= i else Fraction(0) for j, w in enumerate(row)] for i, row in enumerate(soft)]
    _compare("mask_and_softmax", p, "weights", got["weights"], s["weights"], (
        (after, "the mask was applied after softmax (future weights set to 0 afterwards), so rows no longer "
         "sum to 1.", "Mask first (-inf), then softmax: e^-inf = 0 removes the future inside the normalisation."),
        ([[_round2(w) for w in row] for row in _tr(_softmax_rows(_tr(masked)))],
         "softmax normalised the columns; each row (one query) must sum to 1.",
         "Softmax runs along each row: divide by the sum of that row's exponentials."),
        ([[_round2(w) for w in row] for row in _softmax_rows(_mask(s["scores"]))],
         "the softmax used the unscaled scores.", "Use the scaled (÷2) and masked scores."),))


@lesson.grading("attention_output")
def check_attention_output(ns: Namespace) -> None:
    p, s, got = _call(ns, "attention_output")
    _compare("attention_output", p, "attn_out", got["attn_out"], s["attn_out"], (
        (_mm(_tr(s["weights"]), s["V"]), "you used the weights transposed (weightsᵀ·V).",
         "Row i of the output mixes the rows of V with the weights of row i: Σ_j weights[i][j]·V[j]."),))
    _compare("attention_output", p, "proj", got["proj"], s["proj"], (
        (s["attn_out"], "it equals attn_out: the output projection W_o was forgotten.",
         "proj = attn_out·W_o."),
        (_mm(s["attn_out"], _tr(p["W_o"])), "you used W_o's rows where its columns belong (attn_out·W_oᵀ).",
         "proj[i][j] = row i of attn_out · column j of W_o."),))
    _compare("attention_output", p, "resid1", got["resid1"], s["resid1"], (
        (s["proj"], "it equals proj: the residual connection (adding X) was forgotten.",
         "resid1 = X + proj: the residual lets the layer add to its input instead of replacing it."),
        (_add(s["tok"], s["proj"]), "you added the token embeddings without the positional rows: add X.",
         "X = one_hot·E + P."),))


@lesson.grading("layer_norm")
def check_layer_norm(ns: Namespace) -> None:
    p, s, got = _call(ns, "layer_norm")
    R = s["resid1"]
    cols = _tr(R)
    mean_cols = [sum(c, Fraction(0)) / len(c) for c in cols]
    _compare("layer_norm", p, "mean", got["mean"], s["mean"], (
        (mean_cols, "you averaged over the tokens (down a column); layer norm averages each token's features "
         "(along a row).", "mean[i] = average of row i of resid1."),))
    _, unbiased_var, unbiased_normed = _layer_norm_parts(R, unbiased=True)
    std = [math.sqrt(float(v)) for v in s["var"]]
    _compare("layer_norm", p, "var", got["var"], s["var"], (
        (unbiased_var, "you divided by n - 1 = 3 (the unbiased variance); layer norm divides by n = 4.",
         "Layer norm uses the biased variance: the plain average of the squared deviations."),
        (std, "these are standard deviations; var is their square.", "var[i] = mean of (x - mean[i])²."),))
    no_mean = [[_round2(float(x) / math.sqrt(float(v) + EPS)) for x in row] for row, v in zip(R, s["var"])]
    by_var = [[_round2(float(x - m) / (float(v) + EPS)) for x in row] for row, m, v in zip(R, s["mean"], s["var"])]
    _compare("layer_norm", p, "normed", got["normed"], s["normed"], (
        ([[_round2(x) for x in row] for row in unbiased_normed], "you divided by the unbiased standard deviation "
         "(n - 1 = 3); layer norm uses the biased variance (divide by n = 4).", "σ² = (1/n) Σ (x - μ)²."),
        (no_mean, "the mean was not subtracted before dividing.", "normed = (x - mean) / √(var + ε)."),
        (by_var, "you divided by the variance instead of the standard deviation √var.",
         "normed = (x - mean) / √(var + ε)."),))


@lesson.grading("feed_forward")
def check_feed_forward(ns: Namespace) -> None:
    p, s, got = _call(ns, "feed_forward")
    no_bias = _relu(_mm(s["normed"], p["W_1"]))
    _compare("feed_forward", p, "ffn_hidden", got["ffn_hidden"], s["ffn_hidden"], (
        (s["ffn_pre"], "it has negative entries: the ReLU is missing.", "ReLU(x) = max(x, 0): replace every "
         "negative entry by 0."),
        (no_bias, "the bias b_1 was not added.", "Add b_1[j] to every entry of column j before the ReLU."),))
    _compare("feed_forward", p, "ffn_out", got["ffn_out"], s["ffn_out"], (
        (_mm(s["ffn_pre"], p["W_2"]), "you multiplied the values before the ReLU by W_2.",
         "Use ffn_hidden (after the ReLU)."),))
    _compare("feed_forward", p, "resid2", got["resid2"], s["resid2"], (
        (s["ffn_out"], "it equals ffn_out: the second residual connection was forgotten.",
         "resid2 = normed + ffn_out."),
        (_add(s["resid1"], s["ffn_out"]), "you added resid1; the FFN's input here is normed (post-norm layer).",
         "resid2 = normed + ffn_out."),
        (_add(s["X"], s["ffn_out"]), "you added X; the FFN's input here is normed.", "resid2 = normed + ffn_out."),))


@lesson.grading("hand_vs_machine")
def check_hand_vs_machine(ns: Namespace) -> None:
    import torch

    sid, p = _student_problem(ns)
    other = make_problem(seed_for(sid + " (a second problem)"))
    for problem, whose in ((p, "your problem"), (other, "a second problem (your code must work for any numbers)")):
        got = ns.machine_forward(copy.deepcopy(problem))
        if not isinstance(got, torch.Tensor):
            raise CheckFailure(f"machine_forward should return a torch.Tensor, but got {describe(got)}.",
                               "Compute with torch; return resid2 as a tensor of shape (4, 4).")
        if tuple(got.shape) != (T, D_MODEL):
            raise CheckFailure(f"machine_forward returned shape {tuple(got.shape)} for {whose}; expected "
                               f"({T}, {D_MODEL}) (one row per token).", "Drop any batch dimension before returning.")
        if not got.is_floating_point():
            raise CheckFailure(f"machine_forward returned dtype {got.dtype}; it should be a float tensor.")
        values = got.detach().double().tolist()
        reference = _torch_reference(problem)
        if _maxdiff(values, reference) <= 1e-4:
            continue
        if _maxdiff(values, float_forward(problem, causal=False)) <= 1e-4:
            raise CheckFailure(f"machine_forward on {whose} attends to the future: the causal mask is missing.",
                               "Use is_causal=True (or a -inf mask above the diagonal) before the softmax.")
        if _maxdiff(values, float_forward(problem, transposed=True)) <= 1e-4:
            raise CheckFailure(f"machine_forward on {whose} uses every weight matrix transposed.",
                               "nn.Linear computes x·weightᵀ: to compute x·W, copy W.T into layer.weight.")
        hand = solve(problem)["resid2"]
        if _maxdiff(values, hand) <= DERIVED:
            raise CheckFailure(f"machine_forward on {whose} returns the hand result, rounded like on paper; the "
                               f"machine should compute without rounding (resid2[0][0] is {reference[0][0]:.4f}).",
                               "Compute every step with torch from the numbers in p; round nothing.")
        where = next((i, j) for i in range(T) for j in range(D_MODEL)
                     if abs(values[i][j] - float(hand[i][j])) > 0.05 or abs(values[i][j] - reference[i][j]) > 1e-4)
        i, j = where
        raise CheckFailure(f"machine_forward on {whose}: entry [{i}][{j}] is {values[i][j]:.4f}, but the hand "
                           f"computation gives {fmt_number(hand[i][j])} (exactly, without rounding: "
                           f"{reference[i][j]:.4f}). Hand and machine must agree.",
                           lesson.get("hand_vs_machine").hint)


def _torch_reference(p: dict[str, Any]) -> list[list[float]]:
    """The layer computed by torch's own modules and functions (float64)."""
    import torch
    import torch.nn.functional as F

    def t(M: list) -> torch.Tensor:
        return torch.tensor(M, dtype=torch.float64)

    x = F.embedding(torch.tensor(p["ids"]), t(p["E"])) + t(p["P"])
    q, k, v = x @ t(p["W_q"]), x @ t(p["W_k"]), x @ t(p["W_v"])
    a = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
    h = F.layer_norm(x + a @ t(p["W_o"]), (D_MODEL,), eps=EPS)
    return (h + F.relu(h @ t(p["W_1"]) + t(p["b_1"])) @ t(p["W_2"])).tolist()


# ---------------------------------------------------------------- mutants (known-buggy variants)


