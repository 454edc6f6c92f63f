"""Every graded exercise, checked against the notebooks (solutions/, or lessons/ with --lessons).

Select one lesson or exercise with -k, e.g. `pytest --lessons -k 01` or `-k get_stats`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.catalog import all_lessons
from autograder.runner import run_exercise

from .conftest import load_lesson

EXERCISES = [e for lesson in all_lessons().values() for e in lesson]


@pytest.mark.graded
@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_exercise(exercise, course_notebooks: Path) -> None:
    namespace = load_lesson(course_notebooks, exercise.lesson.number)
    result = run_exercise(exercise, namespace)
    if not result.passed:
        pytest.fail(result.line(), pytrace=False)
