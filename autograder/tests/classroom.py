"""Synthetic students for the grading tests and the grading benchmark, built from the real notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, get_lesson
from autograder.notebook import is_grade_cell


def solution(number: str) -> nbformat.NotebookNode:
    """The complete notebook of a lesson."""
    return nbformat.read(str(SOLUTIONS_DIR / get_lesson(number).notebook), as_version=4)


def stub(number: str) -> nbformat.NotebookNode:
    """The untouched student notebook of a lesson."""
    return nbformat.read(str(LESSONS_DIR / get_lesson(number).notebook), as_version=4)


def solved(number: str, solve: int, tamper_tests: bool = False) -> nbformat.NotebookNode:
    """The lesson stub with its first ``solve`` solution cells filled in from the solution; with
    ``tamper_tests`` every graded test cell is edited to ``pass`` and the last one deleted."""
    student = stub(number)
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in solution(number).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    wanted = set(list(answers)[:solve])
    for cell in student.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in wanted:
            cell.source = answers[grade_id]
        if tamper_tests and is_grade_cell(cell):
            cell.source = "pass  # trust me"
    if tamper_tests:  # also delete the last graded cell entirely
        last = max(i for i, c in enumerate(student.cells) if is_grade_cell(c))
        del student.cells[last]
    return student


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
