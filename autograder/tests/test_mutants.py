"""Tests of the tests: every check fails on the untouched stubs and catches its known bugs."""

from __future__ import annotations

import pytest

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, all_lessons
from autograder.registry import Namespace
from autograder.runner import run_exercise

from .conftest import load_lesson

LESSONS = list(all_lessons().values())
EXERCISES = [e for lesson in LESSONS for e in lesson]
MUTANTS = [(lesson, m) for lesson in LESSONS for m in lesson.mutants]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_stub_fails_with_not_implemented(exercise) -> None:
    result = run_exercise(exercise, load_lesson(LESSONS_DIR, exercise.lesson.number))
    assert not result.passed, f"{exercise.id} passes on the untouched stub: the check cannot fail"
    assert "not implemented yet" in result.message, result.line()


@pytest.mark.parametrize("lesson,mutant", MUTANTS,
                         ids=[f"{lesson.number}-{m.exercise}-{m.description}" for lesson, m in MUTANTS])
def test_mutant_is_caught_with_its_message(lesson, mutant) -> None:
    solution = load_lesson(SOLUTIONS_DIR, lesson.number)
    values = dict(solution.values)
    exec(compile(mutant.source, f"<mutant {mutant.description}>", "exec"), values)
    result = run_exercise(lesson.get(mutant.exercise), Namespace(values, source="a mutant"))
    assert not result.passed, f"mutant '{mutant.description}' passes the {mutant.exercise} check"
    assert mutant.expect in result.message + result.hint, (
        f"mutant '{mutant.description}' was caught, but not with its own message:\n{result.line()}")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.number)
def test_every_exercise_has_a_mutant(lesson) -> None:
    covered = {m.exercise for m in lesson.mutants}
    missing = [e.name for e in lesson if e.name not in covered]
    assert not missing, f"lesson {lesson.number}: exercises without a known-buggy variant: {missing}"
