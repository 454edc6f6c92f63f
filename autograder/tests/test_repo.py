"""One source of truth: lessons/ is generated from solutions/, and the notebooks agree with
the check modules (every exercise has a graded cell with the same points, and back)."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, all_lessons
from autograder.notebook import is_grade_cell
from autograder.release import examples_up_to_date, released_text

LESSONS = list(all_lessons().values())
CHECK_CALL = re.compile(r'check\("(\d\d)", "(\w+)", globals\(\)\)')


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.notebook)
def test_lessons_are_generated_from_solutions(lesson) -> None:
    stored = (LESSONS_DIR / lesson.notebook).read_text(encoding="utf-8")
    assert stored == released_text(SOLUTIONS_DIR / lesson.notebook), (
        f"lessons/{lesson.notebook} differs from what solutions/{lesson.notebook} generates: "
        "run `python -m autograder release` (never edit lessons/ by hand)")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.notebook)
def test_stored_examples_are_generated_from_solutions(lesson) -> None:
    assert examples_up_to_date(lesson.number), (
        f"{lesson.examples.path.name} differs from what solutions/{lesson.notebook} and the mutants generate: "
        "run `python -m autograder release` (never edit stored examples by hand)")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.notebook)
def test_graded_cells_match_the_check_module(lesson) -> None:
    nb = nbformat.read(str(SOLUTIONS_DIR / lesson.notebook), as_version=4)
    grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(grade_ids) == len(set(grade_ids)), "duplicate nbgrader grade_id"
    in_notebook = {}
    for cell in nb.cells:
        if is_grade_cell(cell):
            calls = CHECK_CALL.findall(cell.source)
            assert len(calls) == 1 and calls[0][0] == lesson.number, f"graded cell without one check(): {cell.source}"
            assert cell.metadata.nbgrader["schema_version"] == 3
            in_notebook[calls[0][1]] = cell.metadata.nbgrader["points"]
    registered = {e.name: e.points for e in lesson}
    assert in_notebook == registered, "graded cells and registered exercises disagree (names or points)"


@pytest.mark.parametrize("folder", [SOLUTIONS_DIR, LESSONS_DIR], ids=["solutions", "lessons"])
def test_notebook_outputs_are_cleared(folder) -> None:
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"


def test_solution_markers_only_in_solutions() -> None:
    for path in LESSONS_DIR.glob("*.ipynb"):
        assert "BEGIN SOLUTION" not in path.read_text(encoding="utf-8"), f"{path.name} leaks a solution"
    for lesson in LESSONS:
        assert "### BEGIN SOLUTION" in (SOLUTIONS_DIR / lesson.notebook).read_text(encoding="utf-8")


def test_every_notebook_has_a_check_module() -> None:
    known = {lesson.notebook for lesson in LESSONS}
    for folder in (SOLUTIONS_DIR, LESSONS_DIR):
        assert {p.name for p in folder.glob("*.ipynb")} == known
