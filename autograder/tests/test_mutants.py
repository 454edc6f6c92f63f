"""Tests of the tests: every check fails on the untouched stubs, catches its known bugs (mutants)
with their own messages, and accepts correct answers written differently (alternatives).

Each of these runs both tiers (practice, then grading), as `check` and `grade` do here; the
practice tier alone is held to the same standard on the stubs and the alternatives, and its
share of the mutants is reported (see test_practice.py).
"""

from __future__ import annotations

import pytest

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, all_lessons, get_testdata
from autograder.registry import Namespace
from autograder.runner import run_exercise

from .conftest import load_lesson, with_source

LESSONS = [get_testdata(number) for number in all_lessons()]
EXERCISES = [e for lesson in LESSONS for e in lesson]
MUTANTS = [(lesson, m) for lesson in LESSONS for m in lesson.mutants]
ALTERNATIVES = [(lesson, a) for lesson in LESSONS for a in lesson.alternatives]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_stub_fails_with_not_implemented(exercise) -> None:
    result = run_exercise(exercise, load_lesson(LESSONS_DIR, exercise.lesson.number))
    assert not result.passed, f"{exercise.id} passes on the untouched stub: the check cannot fail"
    assert "not implemented yet" in result.message, result.line()


@pytest.mark.parametrize("lesson,mutant", MUTANTS,
                         ids=[f"{lesson.number}-{m.exercise}-{m.description}" for lesson, m in MUTANTS])
def test_mutant_is_caught_with_its_message(lesson, mutant) -> None:
    namespace = with_source(load_lesson(SOLUTIONS_DIR, lesson.number), mutant.source, f"mutant {mutant.description}")
    result = run_exercise(lesson.get(mutant.exercise), namespace)
    assert not result.passed, f"mutant '{mutant.description}' passes the {mutant.exercise} check"
    assert mutant.expect in result.message + result.hint, (
        f"mutant '{mutant.description}' was caught, but not with its own message:\n{result.line()}")


@pytest.mark.parametrize("lesson,alternative", ALTERNATIVES,
                         ids=[f"{lesson.number}-{a.exercise}-{a.description}" for lesson, a in ALTERNATIVES])
def test_alternative_passes_every_tier(lesson, alternative) -> None:
    namespace = with_source(load_lesson(SOLUTIONS_DIR, lesson.number), alternative.source,
                            f"alternative {alternative.description}")
    exercise = lesson.get(alternative.exercise)
    for tiers in (("practice",), ("practice", "grading")):
        result = run_exercise(exercise, namespace, tiers=tiers)
        assert result.passed, (f"the correct alternative '{alternative.description}' is rejected by the "
                               f"{' + '.join(tiers)} checks:\n{result.line()}")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.number)
def test_every_exercise_has_mutants_and_alternatives(lesson) -> None:
    mutants = {m.exercise for m in lesson.mutants}
    alternatives = [a.exercise for a in lesson.alternatives]
    no_mutant = [e.name for e in lesson if e.name not in mutants]
    few_alternatives = [e.name for e in lesson if alternatives.count(e.name) < 2]
    assert not no_mutant, f"lesson {lesson.number}: exercises without a known-buggy variant: {no_mutant}"
    assert not few_alternatives, (f"lesson {lesson.number}: exercises with fewer than two registered "
                                  f"alternatives: {few_alternatives}")


def test_mutants_and_alternatives_name_real_exercises() -> None:
    for lesson in LESSONS:
        for item in [*lesson.mutants, *lesson.alternatives]:
            lesson.get(item.exercise)  # raises KeyError for a typo
