"""Lesson 06's helpers for learners: each student's problem, and printing it.

A learner's notebook builds its problem with ``make_problem(seed_for(STUDENT_ID))``: token ids and
small integer matrices, different for every id.  Nothing in this module computes an answer.

Where the problems come from:

* in the course repository the generator in :mod:`autograder.reference.by_hand` draws them (it
  needs the reference solution to accept a draw, so it never ships to students);
* in a student kit the generator is absent, and the problems are read from
  ``by_hand_problems.json`` next to this file: the inputs (never the answers) of every id the kit
  was built for (see :func:`autograder.reference.by_hand.write_problem_table`).  Both give the
  same numbers for the same id.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

T, VOCAB_SIZE, D_MODEL, D_FF = 4, 5, 4, 4
D_K = D_MODEL                      # one head, so d_k = d_model = 4 and sqrt(d_k) = 2 exactly
VOCAB = ["I", "like", "small", "numbers", "!"]
EPS = 1e-5                         # nn.LayerNorm's default; far too small to matter at 2 decimals
EXP_TABLE = {(-k / 2 or 0.0): round(math.exp(-k / 2), 4) for k in range(17)}   # e^x for x = 0, -0.5, ..., -8

#: The problems of a student kit (inputs only), written by the kit builder.
PROBLEM_TABLE = Path(__file__).resolve().parent / "by_hand_problems.json"


class UnknownStudent(LookupError):
    """The kit has no problem for this seed (the id was not on the instructor's list)."""


# ---------------------------------------------------------------- problems

def seed_for(student_id: str) -> int:
    """A stable seed for a student id (sha256, so it is the same on every machine and run)."""
    return int.from_bytes(hashlib.sha256(str(student_id).strip().encode("utf-8")).digest()[:8], "big")


def make_problem(seed: int) -> dict[str, Any]:
    """The problem set for ``seed``: token ids and small integer matrices (a fresh copy)."""
    try:
        from .reference.by_hand import generate_problem
    except ImportError:  # a student kit: the problems were written into a table when it was built
        return problem_from_table(int(seed))
    return generate_problem(int(seed))


def problem_from_table(seed: int, path: Path = PROBLEM_TABLE) -> dict[str, Any]:
    """The problem for ``seed`` from a kit's problem table (a fresh copy)."""
    table = _table(str(path))
    problem = table["problems"].get(str(int(seed)))
    if problem is None:
        ids = list(table["students"])
        shown = ", ".join(repr(i) for i in ids[:5]) + (f" ... ({len(ids)} ids in all)" if len(ids) > 5 else "")
        raise UnknownStudent(
            f"this course kit has no lesson 06 problem for seed {seed}: that STUDENT_ID was not on the list the "
            f"kit was built for. It has problems for {shown}. Check the spelling of STUDENT_ID (keep the quotes), "
            "use \"practice\", or ask your instructor which id to use.")
    return copy.deepcopy(problem)


def table_ids(path: Path = PROBLEM_TABLE) -> list[str]:
    """The student ids a kit's problem table serves."""
    return list(_table(str(path))["students"])


@lru_cache(maxsize=2)
def _table(path: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnknownStudent(f"lesson 06's problems are missing from this installation ({Path(path).name} not "
                             "found): reinstall the course kit your instructor gave you.") from None


# ---------------------------------------------------------------- printing

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
