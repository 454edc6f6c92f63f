"""Lesson 06's problem generator and its exact answer key (never shipped to students).

* :func:`generate_problem` draws the problem of a seed: it keeps drawing until the numbers make a
  good exercise (:func:`good_problem`, which needs the answers, hence this module's place);
* :func:`solve` is the answer key: every intermediate of the hand computation, exact.  It works in
  fractions and rounds to 2 decimals exactly where a pencil-and-paper solver has to (the softmax
  weights and the layer-norm output); every later step is exact arithmetic on those rounded
  numbers, as on paper;
* :func:`float_forward` and :func:`torch_reference` compute the layer without rounding (plain
  Python, and PyTorch's own functions);
* :func:`problem_table` and :func:`write_problem_table` give a student kit the problems (inputs
  only) of the ids it serves, which :mod:`autograder.by_hand` reads where this module is absent.

For instructors, an answer key: ``solve(make_problem(seed_for("alice")))``, and a printable
sheet: ``problem_markdown(make_problem(seed_for("alice")))``.
"""

from __future__ import annotations

import copy
import json
import math
import random
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..by_hand import D_FF, D_K, D_MODEL, EPS, T, VOCAB, VOCAB_SIZE, seed_for

NEG_INF = float("-inf")
Problem = dict[str, Any]


# ---------------------------------------------------------------- problems

def generate_problem(seed: int) -> Problem:
    """The problem set for ``seed``: token ids and small integer matrices (a fresh copy)."""
    return copy.deepcopy(_problem(int(seed)))


@lru_cache(maxsize=64)
def _problem(seed: int) -> Problem:
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
        if good_problem(p):
            return p


def problem_table(student_ids: Iterable[str]) -> dict[str, Problem]:
    """{student id: that student's problem} (inputs only, never answers), in the order given."""
    return {sid: generate_problem(seed_for(sid)) for sid in dict.fromkeys(student_ids)}


def write_problem_table(path: Path | str, student_ids: Iterable[str]) -> list[str]:
    """Write the problems of ``student_ids`` to ``path`` as a student kit's ``by_hand_problems.json``.

    The file holds ``{"students": {id: seed}, "problems": {seed: problem}}``, seeds as decimal
    strings; :func:`autograder.by_hand.make_problem` reads it where this module is not installed,
    and gives exactly the problems :func:`generate_problem` gives here.  It contains the inputs of
    each problem only, never an answer.  Returns the ids written (duplicates dropped, order kept).
    """
    table = problem_table(student_ids)
    data = {"students": {sid: str(p["seed"]) for sid, p in table.items()},
            "problems": {str(p["seed"]): p for p in table.values()}}
    Path(path).write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    return list(table)


# ---------------------------------------------------------------- exact arithmetic on lists

def mm(A: list, B: list) -> list:
    """The matrix product A·B of two lists of rows."""
    return [[sum(a * b for a, b in zip(row, col)) for col in zip(*B)] for row in A]


def tr(A: list) -> list:
    """The transpose of a list of rows."""
    return [list(col) for col in zip(*A)]


def add(A: list, B: list) -> list:
    return [[a + b for a, b in zip(ra, rb)] for ra, rb in zip(A, B)]


def frac(A: list) -> list:
    return [[Fraction(a) for a in row] for row in A]


def round2(x: float) -> Fraction:
    """x rounded to 2 decimals, as an exact fraction."""
    return Fraction(f"{x:.2f}")


def mask(S: list, future: bool = True) -> list:
    """-inf above the diagonal (the future); with future=False, below it (the wrong triangle)."""
    return [[NEG_INF if (j > i if future else j < i) else s for j, s in enumerate(row)] for i, row in enumerate(S)]


def hardmax(S: list, split_ties: bool = True) -> list:
    """Weight 1 on each row's maximum, shared equally by tied maxima (or given to the first one)."""
    out = []
    for row in S:
        top = max(row)
        winners = [j for j, s in enumerate(row) if s == top]
        if not split_ties:
            winners = winners[:1]
        out.append([Fraction(1, len(winners)) if j in winners else Fraction(0) for j in range(len(row))])
    return out


def softmax_rows(S: list) -> list[list[float]]:
    """The softmax of each row, unrounded (floats)."""
    out = []
    for row in S:
        top = max(row)
        e = [0.0 if s == NEG_INF else math.exp(float(s - top)) for s in row]
        out.append([v / sum(e) for v in e])
    return out


def layer_norm_parts(R: list, unbiased: bool = False) -> tuple[list, list, list[list[float]]]:
    """(mean, var, normed) of each row; mean and var exact, normed unrounded floats."""
    n = len(R[0])
    mean = [sum(row, Fraction(0)) / n for row in R]
    var = [sum(((x - m) ** 2 for x in row), Fraction(0)) / (n - 1 if unbiased else n) for row, m in zip(R, mean)]
    normed = [[float(x - m) / math.sqrt(float(v) + EPS) for x in row] for row, m, v in zip(R, mean, var)]
    return mean, var, normed


def relu(A: list) -> list:
    return [[max(a, Fraction(0)) for a in row] for row in A]


# ---------------------------------------------------------------- the answer key

def solve(p: Problem) -> dict[str, Any]:
    """Every intermediate of the hand computation, exact (Fractions; -inf where masked)."""
    one_hot = [[Fraction(int(j == i)) for j in range(len(p["E"]))] for i in p["ids"]]
    tok = mm(one_hot, p["E"])
    X = add(tok, frac(p["P"]))
    Q, K, V = mm(X, p["W_q"]), mm(X, p["W_k"]), mm(X, p["W_v"])
    scores = mm(Q, tr(K))
    scaled = [[Fraction(s, 2) for s in row] for row in scores]   # sqrt(d_k) = sqrt(4) = 2
    masked = mask(scaled)
    hard = hardmax(masked)
    weights = [[round2(w) for w in row] for row in softmax_rows(masked)]
    attn_out = mm(weights, V)
    proj = mm(attn_out, p["W_o"])
    resid1 = add(X, proj)
    mean, var, normed = layer_norm_parts(resid1)
    normed = [[round2(x) for x in row] for row in normed]
    pre = [[h + b for h, b in zip(row, p["b_1"])] for row in mm(normed, p["W_1"])]
    ffn_hidden = relu(pre)
    ffn_out = mm(ffn_hidden, p["W_2"])
    resid2 = add(normed, ffn_out)
    return dict(one_hot=one_hot, tok=tok, X=X, Q=Q, K=K, V=V, scores=scores, scaled=scaled, masked=masked,
                hard=hard, weights=weights, attn_out=attn_out, proj=proj, resid1=resid1, mean=mean, var=var,
                normed=normed, ffn_pre=pre, ffn_hidden=ffn_hidden, ffn_out=ffn_out, resid2=resid2)


def float_forward(p: Problem, causal: bool = True, transposed: bool = False) -> list[list[float]]:
    """The same layer in ordinary floating point, without any rounding (plain Python).

    ``transposed=True`` is the classic copying bug: every weight matrix used as Wᵀ.
    """
    W = {k: [[float(x) for x in row] for row in (tr(p[k]) if transposed else p[k])]
         for k in ("W_q", "W_k", "W_v", "W_o", "W_1", "W_2")}
    X = [[float(e + q) for e, q in zip(p["E"][i], p["P"][t])] for t, i in enumerate(p["ids"])]
    Q, K, V = mm(X, W["W_q"]), mm(X, W["W_k"]), mm(X, W["W_v"])
    S = [[s / math.sqrt(len(Q[0])) for s in row] for row in mm(Q, tr(K))]
    A = softmax_rows(mask(S) if causal else S)
    R = add(X, mm(mm(A, V), W["W_o"]))
    normed = []
    for row in R:
        m = sum(row) / len(row)
        v = sum((x - m) ** 2 for x in row) / len(row)
        normed.append([(x - m) / math.sqrt(v + EPS) for x in row])
    H = [[max(0.0, h + b) for h, b in zip(row, p["b_1"])] for row in mm(normed, W["W_1"])]
    return add(normed, mm(H, W["W_2"]))


def torch_reference(p: Problem) -> list[list[float]]:
    """The layer computed by torch's own modules and functions (float64, no rounding)."""
    import torch
    import torch.nn.functional as F

    def t(M: list) -> torch.Tensor:
        return torch.tensor(M, dtype=torch.float64)

    x = F.embedding(torch.tensor(p["ids"]), t(p["E"])) + t(p["P"])
    q, k, v = x @ t(p["W_q"]), x @ t(p["W_k"]), x @ t(p["W_v"])
    a = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
    h = F.layer_norm(x + a @ t(p["W_o"]), (D_MODEL,), eps=EPS)
    return (h + F.relu(h @ t(p["W_1"]) + t(p["b_1"])) @ t(p["W_2"])).tolist()


# ---------------------------------------------------------------- what makes a good problem

def maxdiff(A: list, B: list) -> float:
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


def good_problem(p: Problem) -> bool:
    """Small numbers, every step matters, and every known mistake gives a visibly different answer."""
    X = [[e + q for e, q in zip(p["E"][i], p["P"][t])] for t, i in enumerate(p["ids"])]
    scores = mm(mm(X, p["W_q"]), tr(mm(X, p["W_k"])))
    if max(abs(x) for row in scores for x in row) > 16:
        return False
    if not any(row[:i + 1].count(max(row[:i + 1])) > 1 for i, row in enumerate(scores) if i):
        return False  # at least one tie for the hardmax
    if any(max(row[:i + 1]) - min(row[:i + 1]) > 16 for i, row in enumerate(scores)):
        return False  # the exp table (down to -8 after halving) must cover every entry
    s = solve(p)
    X, scores, scaled, masked = s["X"], s["scores"], s["scaled"], s["masked"]
    if maxdiff(s["tok"], [p["E"][t] for t in range(T)]) < 1:
        return False  # lookup by position must differ from lookup by id
    if any(not any(row) for row in X):
        return False
    big = 0.2
    for name in ("W_q", "W_k", "W_v"):
        good = mm(X, p[name])
        if min(maxdiff(good, mm(p[name], X)), maxdiff(good, mm(X, tr(p[name])))) < 1:
            return False
    Q, K = s["Q"], s["K"]
    if min(maxdiff(scores, mm(Q, K)), maxdiff(scores, tr(scores))) < 1:
        return False
    if maxdiff(s["hard"], hardmax(scaled)) == 0 or maxdiff(s["hard"], hardmax(masked, split_ties=False)) == 0:
        return False
    soft = softmax_rows(masked)
    if any(_near_tie(w) for row in soft for w in row):
        return False
    after = [[w if j <= i else 0.0 for j, w in enumerate(row)] for i, row in enumerate(softmax_rows(scaled))]
    columns = tr(softmax_rows(tr(masked)))
    wrong_triangle = softmax_rows(mask(scaled, future=False))
    unscaled = softmax_rows(mask(scores))
    if min(maxdiff(soft, v) for v in (after, columns, wrong_triangle)) < big or maxdiff(soft, unscaled) < 0.05:
        return False
    W, V = s["weights"], s["V"]
    if min(maxdiff(s["attn_out"], mm(tr(W), V)), maxdiff(s["proj"], s["attn_out"]),
           maxdiff(s["proj"], mm(s["attn_out"], tr(p["W_o"])))) < big:
        return False
    mean, var, normed_f = layer_norm_parts(s["resid1"])
    if min(var) < Fraction(1, 2) or any(_near_tie(x) for row in normed_f for x in row):
        return False
    cols_mean = [sum(c, Fraction(0)) / T for c in tr(s["resid1"])]
    by_var = [[float(x - m) / (float(v) + EPS) for x in row] for row, m, v in zip(s["resid1"], mean, var)]
    if maxdiff(mean, cols_mean) < big or maxdiff(normed_f, by_var) < big:
        return False
    pre = s["ffn_pre"]
    if min(x for row in pre for x in row) > -0.5 or sum(x > 0.2 for row in pre for x in row) < 4:
        return False  # ReLU must visibly do something, and not everything
    no_bias = relu(mm(s["normed"], p["W_1"]))
    if maxdiff(s["ffn_hidden"], no_bias) < big or not any(p["b_1"]):
        return False
    resid2 = s["resid2"]
    if min(maxdiff(resid2, s["ffn_out"]), maxdiff(resid2, add(s["resid1"], s["ffn_out"])),
           maxdiff(resid2, add(X, s["ffn_out"]))) < big:
        return False
    exact = float_forward(p)
    if maxdiff(exact, resid2) > 0.03:
        return False  # hand (rounded twice) and machine must agree to about 2 decimals
    if min(maxdiff(exact, float_forward(p, causal=False)), maxdiff(exact, float_forward(p, transposed=True))) < big:
        return False
    return True
