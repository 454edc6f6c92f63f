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
Reading the answers, and naming the known mistakes, is shared with the practice checks
(:func:`~autograder.practice.lesson06.check_steps`); what grading adds is the exact answer key, the
check of whose submission it is, and ``machine_forward`` on a second problem of the student's own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..by_hand import D_MODEL, T, fmt_number, make_problem, seed_for
from ..reference.by_hand import float_forward, maxdiff, solve, torch_reference
from ..registry import CheckFailure, Namespace

from ..practice.lesson06 import (DERIVED, EXERCISE_STEPS, call_machine, check_steps, lesson, plain_values,
                                 student_problem, torch_sheet)

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


def _grade_steps(ns: Namespace, fn: str) -> None:
    """Call the learner's step function ``fn`` on the correct inputs of their own problem (from the
    answer key) and compare every step it returns with the key, exactly where the arithmetic is exact."""
    _, p = graded_problem(ns)
    s = solve(p)
    known = {**p, **{name: plain_values(value) for name, value in s.items()}}
    check_steps(ns, fn, p, torch_sheet(p), known, {step: s[step] for step in EXERCISE_STEPS[fn][1]})


@lesson.grading("embed")
def check_embed(ns: Namespace) -> None:
    _grade_steps(ns, "embed")


@lesson.grading("qkv")
def check_qkv(ns: Namespace) -> None:
    _grade_steps(ns, "qkv")


@lesson.grading("attention_scores")
def check_attention_scores(ns: Namespace) -> None:
    _grade_steps(ns, "attention_scores")


@lesson.grading("mask_and_softmax")
def check_mask_and_softmax(ns: Namespace) -> None:
    _grade_steps(ns, "mask_and_softmax")


@lesson.grading("attention_output")
def check_attention_output(ns: Namespace) -> None:
    _grade_steps(ns, "attention_output")


@lesson.grading("layer_norm")
def check_layer_norm(ns: Namespace) -> None:
    _grade_steps(ns, "layer_norm")


@lesson.grading("feed_forward")
def check_feed_forward(ns: Namespace) -> None:
    _grade_steps(ns, "feed_forward")


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

