"""Lesson 06's per-student problems: every id gets its own numbers and is graded on them.

Also a helper for end-to-end tests: :func:`hand_answer_cells` writes, for one student id, the
solution cells a student would type after working on paper (literal numbers, no loops).
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest

from autograder.catalog import SOLUTIONS_DIR, get_testdata
from autograder.by_hand import make_problem, seed_for
from autograder.practice.lesson06 import EXERCISE_STEPS
from autograder.reference.by_hand import float_forward, solve, torch_reference
from autograder.registry import Namespace
from autograder.runner import run_exercise

from .conftest import load_lesson

LESSON = get_testdata("06")
STEP_EXERCISES = list(EXERCISE_STEPS)     # the 7 hand-computed exercises (function name = exercise name)
IDS = ["alice", "bob", "student 42"]


def _literal(x) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_literal(v) for v in x) + "]"
    if x == float("-inf"):
        return 'float("-inf")'
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    if 10_000 % x.denominator == 0:
        return repr(float(x))
    return f"Fraction({x.numerator}, {x.denominator})"


def hand_answer_cells(student_id: str) -> dict[str, str]:
    """{grade_id: source} of the solution cells, answered by hand for ``student_id``.

    Each function ignores its arguments and returns the numbers of that student's problem,
    as typed after working on paper; ``machine_forward`` (grade_id ``hand_vs_machine``) returns
    them as a constant tensor, which passes nowhere (it must compute, not repeat rounded numbers).
    Put these sources into the solution cells with the same grade_id of a lesson notebook.
    """
    s = solve(make_problem(seed_for(student_id)))
    cells = {}
    for fn, (args, steps) in EXERCISE_STEPS.items():
        values = ",\n        ".join(_literal(s[name]) for name in steps)
        cells[fn] = f"def {fn}({', '.join(args)}):\n    return ({values})\n"
    cells["hand_vs_machine"] = ("def machine_forward(p):\n"
                                f"    return torch.tensor({_literal(s['resid2'])}, dtype=torch.float32)\n")
    return cells


def _namespace(student_id: str, answers_of: str | None = None) -> Namespace:
    """The solution notebook with STUDENT_ID set; with ``answers_of``, hand answers of that id."""
    values = dict(load_lesson(SOLUTIONS_DIR, "06").values)
    values["STUDENT_ID"], values["SEED"] = student_id, seed_for(student_id)
    if answers_of is not None:
        for source in hand_answer_cells(answers_of).values():
            exec(source, values)
    return Namespace(values, source="a test notebook")


def _results(ns: Namespace, names: list[str]) -> dict[str, object]:
    return {name: run_exercise(LESSON.get(name), ns) for name in names}


def test_seed_is_stable_and_problems_are_deterministic() -> None:
    # sha256, not Python's hash() (which is salted per process)
    assert seed_for("practice") == int.from_bytes(hashlib.sha256(b"practice").digest()[:8], "big")
    assert make_problem(seed_for("alice")) == make_problem(seed_for("alice"))


def test_different_ids_give_different_problems() -> None:
    problems = {sid: make_problem(seed_for(sid)) for sid in ["practice", *IDS]}
    keys = ["ids", "E", "P", "W_q", "W_k", "W_v", "W_o", "W_1", "b_1", "W_2"]
    signatures = {sid: tuple(str(p[k]) for k in keys) for sid, p in problems.items()}
    assert len(set(signatures.values())) == len(signatures)
    answers = {sid: str(solve(p)["scores"]) for sid, p in problems.items()}
    assert len(set(answers.values())) == len(answers)


@pytest.mark.parametrize("sid", ["practice", *IDS])
def test_problems_fit_on_paper(sid) -> None:
    p = make_problem(seed_for(sid))
    s = solve(p)
    assert max(abs(x) for row in s["scores"] for x in row) <= 16
    for i, row in enumerate(s["masked"]):
        assert max(row) - min(row[:i + 1]) <= 8, "the e^x table must cover every exponent"
    assert all(x in (-1, 0, 1, 2) for k in ("W_q", "W_k", "W_v", "W_o", "W_1", "W_2") for row in p[k] for x in row)
    exact = float_forward(p)
    assert max(abs(a - float(b)) for ra, rb in zip(exact, s["resid2"]) for a, b in zip(ra, rb)) <= 0.03
    torch_ref = torch_reference(p)
    assert max(abs(a - b) for ra, rb in zip(exact, torch_ref) for a, b in zip(ra, rb)) < 1e-9


@pytest.mark.parametrize("sid", IDS)
def test_solution_gets_full_marks_for_every_id(sid) -> None:
    results = _results(_namespace(sid), [e.name for e in LESSON])
    assert all(r.passed for r in results.values()), [r.line() for r in results.values() if not r.passed]


def test_hand_answers_pass_for_their_own_id_and_fail_for_another() -> None:
    import torch

    own = _results(_namespace("alice", answers_of="alice"), STEP_EXERCISES)
    assert all(r.passed for r in own.values()), [r.line() for r in own.values() if not r.passed]
    # machine_forward must compute, not repeat the rounded hand numbers
    machine = run_exercise(LESSON.get("hand_vs_machine"), _namespace("alice", answers_of="alice"))
    assert not machine.passed and "rounded like on paper" in machine.message
    exact = _namespace("alice")
    exact.values["machine_forward"] = lambda p, alice=make_problem(seed_for("alice")): torch.tensor(
        float_forward(alice), dtype=torch.float32)
    machine = run_exercise(LESSON.get("hand_vs_machine"), exact)
    assert not machine.passed and "a second problem" in machine.message
    copied = _results(_namespace("bob", answers_of="alice"), [e.name for e in LESSON])
    assert not any(r.passed for r in copied.values()), [r.exercise for r in copied.values() if r.passed]
    assert "first wrong entry" in copied["qkv"].message


def test_nbgrader_autograde_grades_the_submitting_student(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "autograded" / "alice" / "06_transformer_by_hand"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    names = [e.name for e in LESSON]
    mine = _results(_namespace("alice"), names)
    assert all(r.passed for r in mine.values()), [r.line() for r in mine.values() if not r.passed]
    claimed = _results(_namespace("bob"), names)   # bob's notebook handed in as alice's
    assert not any(r.passed for r in claimed.values())
    assert all("submitted by 'alice'" in r.message for r in claimed.values())
    copied = _results(_namespace("alice", answers_of="bob"), STEP_EXERCISES)
    assert not any(r.passed for r in copied.values())
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")   # a student validating: the id is not checked
    assert run_exercise(LESSON.get("embed"), _namespace("bob")).passed


def test_a_grader_can_name_the_student_in_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)                          # e.g. the isolated grader's temporary folder
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert run_exercise(LESSON.get("qkv"), _namespace("bob")).passed   # unknown layout: trust the notebook
    monkeypatch.setenv("AUTOGRADER_STUDENT_ID", "alice")
    assert run_exercise(LESSON.get("qkv"), _namespace("alice")).passed
    result = run_exercise(LESSON.get("qkv"), _namespace("bob"))
    assert not result.passed and "submitted by 'alice'" in result.message


def test_changed_seed_and_missing_id_are_explained() -> None:
    ns = _namespace("alice")
    ns.values["SEED"] = 123
    assert "seed_for(STUDENT_ID)" in run_exercise(LESSON.get("embed"), ns).message
    ns = _namespace("alice")
    ns.values["STUDENT_ID"] = ""
    assert "non-empty string" in run_exercise(LESSON.get("embed"), ns).message


@pytest.mark.parametrize("sid", ["alice", "bob"])
def test_mutants_are_caught_with_their_message_for_other_ids(sid) -> None:
    for mutant in LESSON.mutants:
        values = dict(_namespace(sid).values)
        exec(compile(mutant.source, f"<mutant {mutant.description}>", "exec"), values)
        result = run_exercise(LESSON.get(mutant.exercise), Namespace(values, source="a mutant"))
        assert not result.passed, f"{sid}: mutant '{mutant.description}' passes"
        assert mutant.expect in result.message + result.hint, f"{sid}: {result.line()}"


def test_answers_in_other_forms_are_accepted() -> None:
    """Strings like '5/2' and '-inf', floats for halves and thirds, and tensors all count."""
    import torch

    s = solve(make_problem(seed_for("alice")))
    as_text = [[str(x) if x != float("-inf") else "-inf" for x in row] for row in s["masked"]]
    as_float = [[float(x) for x in row] for row in s["hard"]]
    values = dict(_namespace("alice").values)
    values["mask_and_softmax"] = lambda scaled: (as_text, as_float, torch.tensor([[float(x) for x in row]
                                                                               for row in s["weights"]]))
    assert run_exercise(LESSON.get("mask_and_softmax"), Namespace(values)).passed


# ---------------------------------------------------------------- rounding (issue 12)

def test_unrounded_weights_are_caught_where_they_happen() -> None:
    from autograder.reference.by_hand import mm, softmax_rows

    s = solve(make_problem(seed_for("alice")))
    unrounded = softmax_rows(s["masked"])
    values = dict(_namespace("alice").values)
    values["mask_and_softmax"] = lambda scaled: (s["masked"], s["hard"], unrounded)
    result = run_exercise(LESSON.get("mask_and_softmax"), Namespace(values))
    assert not result.passed and "not rounded to 2 decimals" in result.message, result.line()
    assert "0.99 or 1.01" in result.hint
    practice = run_exercise(LESSON.get("mask_and_softmax"), Namespace(values), tiers=("practice",))
    assert practice.message == result.message
    # typed by hand from unrounded weights: attn_out is within tolerance for alice, proj is not;
    # the message must name the rounding, not blame the arithmetic of proj
    attn_out = mm(unrounded, s["V"])
    proj = mm(attn_out, make_problem(seed_for("alice"))["W_o"])
    resid1 = [[float(x) + y for x, y in zip(rx, rp)] for rx, rp in zip(s["X"], proj)]
    values["attention_output"] = lambda weights, V, W_o, X: (attn_out, proj, resid1)
    result = run_exercise(LESSON.get("attention_output"), Namespace(values))
    assert not result.passed and "unrounded softmax weights" in result.message, result.line()


# ---------------------------------------------------------------- the practice tier on its own

@pytest.mark.parametrize("sid", ["alice", "bob"])
def test_practice_tier_alone_for_other_ids(sid) -> None:
    """A student kit has no answer key: the practice tier alone passes the solution, rejects another
    id's answers, and names every known mistake, on any student's numbers."""
    results = {e.name: run_exercise(e, _namespace(sid), tiers=("practice",)) for e in LESSON}
    assert all(r.passed for r in results.values()), [r.line() for r in results.values() if not r.passed]
    copied = {name: run_exercise(LESSON.get(name), _namespace(sid, answers_of="practice"), tiers=("practice",))
              for name in STEP_EXERCISES}
    assert not any(r.passed for r in copied.values()), [r.exercise for r in copied.values() if r.passed]
    for mutant in LESSON.mutants:
        values = dict(_namespace(sid).values)
        exec(compile(mutant.source, f"<mutant {mutant.description}>", "exec"), values)
        result = run_exercise(LESSON.get(mutant.exercise), Namespace(values), tiers=("practice",))
        assert not result.passed, f"{sid}: mutant '{mutant.description}' passes the practice tier"
        assert mutant.expect in result.message + result.hint, f"{sid}, practice tier: {result.line()}"


# ---------------------------------------------------------------- the student kit's problem table

def test_problem_table_gives_the_same_problems(tmp_path) -> None:
    import json

    from autograder import by_hand
    from autograder.reference.by_hand import write_problem_table

    path = tmp_path / "by_hand_problems.json"
    ids = ["practice", "alice", "student001", "alice"]
    assert write_problem_table(path, ids) == ["practice", "alice", "student001"]
    assert by_hand.table_ids(path) == ["practice", "alice", "student001"]
    for sid in ("practice", "alice", "student001"):
        assert by_hand.problem_from_table(seed_for(sid), path) == make_problem(seed_for(sid))
    text = path.read_text(encoding="utf-8")
    assert "resid2" not in text and "weights" not in text        # inputs only, never answers
    assert set(json.loads(text)["problems"]["%d" % seed_for("alice")]) == set(make_problem(seed_for("alice")))
    with pytest.raises(by_hand.UnknownStudent, match="ask your instructor") as error:
        by_hand.problem_from_table(seed_for("mallory"), path)
    assert "'practice', 'alice', 'student001'" in str(error.value)


def test_an_unknown_id_in_a_kit_is_explained(tmp_path, monkeypatch) -> None:
    """Without the reference generator (a student kit), make_problem reads the table, and the
    practice checks explain an id that is not in it."""
    import sys

    from autograder import by_hand
    from autograder.reference.by_hand import write_problem_table

    path = tmp_path / "by_hand_problems.json"
    write_problem_table(path, ["practice", "alice"])
    monkeypatch.setattr(by_hand, "PROBLEM_TABLE", path)
    monkeypatch.setattr(by_hand.problem_from_table, "__defaults__", (path,))
    monkeypatch.setitem(sys.modules, "autograder.reference.by_hand", None)   # import fails, as in the kit
    assert by_hand.make_problem(seed_for("alice")) == solve.__globals__["generate_problem"](seed_for("alice"))
    ns = _namespace("alice")
    assert run_exercise(LESSON.get("embed"), ns, tiers=("practice",)).passed
    result = run_exercise(LESSON.get("embed"), _namespace("mallory"), tiers=("practice",))
    assert not result.passed and "no lesson 06 problem" in result.message and "'practice', 'alice'" in result.message
