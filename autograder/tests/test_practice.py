"""The practice tier on its own, as a student's kit runs it: it passes on the solutions, fails on
the stubs with "not implemented yet", and catches most known mistakes (aim: 80 % of each lesson's
mutants; every mutant is caught by both tiers together, see test_mutants.py)."""

from __future__ import annotations

import pytest

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, all_lessons, get_testdata
from autograder.runner import run_exercise

from .conftest import PRACTICE_SHARE, load_lesson, with_source

LESSONS = [get_testdata(number) for number in all_lessons()]
EXERCISES = [e for lesson in LESSONS for e in lesson]
PRACTICE = ("practice",)
MIN_SHARE = 0.8


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_every_exercise_has_practice_checks(exercise) -> None:
    assert exercise.practice, f"{exercise.id} has no practice check: a student's kit could not check it"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_practice_passes_on_the_solution(exercise) -> None:
    result = run_exercise(exercise, load_lesson(SOLUTIONS_DIR, exercise.lesson.number), tiers=PRACTICE)
    assert result.passed, result.line()


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_practice_fails_on_the_stub(exercise) -> None:
    result = run_exercise(exercise, load_lesson(LESSONS_DIR, exercise.lesson.number), tiers=PRACTICE)
    assert not result.passed and "not implemented yet" in result.message, result.line()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.number)
def test_practice_catches_most_mutants(lesson) -> None:
    solution = load_lesson(SOLUTIONS_DIR, lesson.number)
    missed = []
    for mutant in lesson.mutants:
        namespace = with_source(solution, mutant.source, f"mutant {mutant.description}")
        if run_exercise(lesson.get(mutant.exercise), namespace, tiers=PRACTICE).passed:
            missed.append(f"{mutant.exercise}: {mutant.description}")
    caught = len(lesson.mutants) - len(missed)
    PRACTICE_SHARE[lesson.number] = (caught, len(lesson.mutants))
    assert caught >= MIN_SHARE * len(lesson.mutants), (
        f"lesson {lesson.number}: the practice tier alone catches {caught}/{len(lesson.mutants)} mutants; "
        f"missed: {missed}")
