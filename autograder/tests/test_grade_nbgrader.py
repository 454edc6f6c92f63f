"""End to end: the instructor's `grade` command with real nbgrader and a real SQLite gradebook.

Synthetic students, built from the real notebooks:

* ``stub``     hands in the untouched lessons/ notebooks            -> 0
* ``full``     hands in the complete solutions                      -> full marks
* ``partial``  solves only the first exercises of each lesson       -> exactly their points
* ``cheater``  solves the same as ``partial`` and edits every graded
               test cell to ``pass`` (and deletes one)               -> the same as ``partial``

The exported CSV must hold exactly these numbers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, get_lesson
from autograder.grade import grade
from autograder.notebook import is_grade_cell

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

LESSON_NUMBERS = ["01", "02"]
# The partial student fills in this many solution cells, which earns exactly these points:
# lesson 01: char_vocab, get_stats, merge (1 + 1 + 1); lesson 02: the HashMap class (2 + 2 + 2).
PARTIAL = {"01": (3, 3), "02": (1, 6)}


def solved(number: str, solve: int, tamper_tests: bool = False) -> nbformat.NotebookNode:
    """The lesson stub with its first `solve` solution cells filled in from the solution."""
    lesson = get_lesson(number)
    student = nbformat.read(str(LESSONS_DIR / lesson.notebook), as_version=4)
    solution = nbformat.read(str(SOLUTIONS_DIR / lesson.notebook), as_version=4)
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in solution.cells
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


def test_grade_class_with_nbgrader(tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    students = {
        "stub": lambda n: nbformat.read(str(LESSONS_DIR / get_lesson(n).notebook), as_version=4),
        "full": lambda n: nbformat.read(str(SOLUTIONS_DIR / get_lesson(n).notebook), as_version=4),
        "partial": lambda n: solved(n, PARTIAL[n][0]),
        "cheater": lambda n: solved(n, PARTIAL[n][0], tamper_tests=True),
    }
    for student, make in students.items():
        for number in LESSON_NUMBERS:
            folder = submissions / student
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(make(number), str(folder / get_lesson(number).notebook))

    course = tmp_path / "course"
    csv_path = grade(submissions, course, LESSON_NUMBERS, progress=False)

    rows = list(csv.DictReader(csv_path.open()))
    scores = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    for number in LESSON_NUMBERS:
        lesson = get_lesson(number)
        name = lesson.notebook.removesuffix(".ipynb")
        expected = {"stub": 0, "full": lesson.points, "partial": PARTIAL[number][1], "cheater": PARTIAL[number][1]}
        got = {student: scores[(student, name)] for student in expected}
        assert got == expected, f"lesson {number}: CSV scores {got}, expected {expected}"
        for row in rows:
            if row["assignment"] == name:
                assert float(row["max_score"]) == lesson.points
                assert row["timestamp"], "timestamp missing from the CSV"
        # what nbgrader releases is exactly what students get in lessons/
        released = json.loads((course / "release" / name / lesson.notebook).read_text())
        assert released == json.loads((LESSONS_DIR / lesson.notebook).read_text())
        for student in students:
            assert (course / "feedback" / student / name / f"{name}.html").exists()


def test_lesson06_each_student_is_graded_on_their_own_numbers(tmp_path: Path) -> None:
    """Two students with different numbers: full marks with their own answers, 0 with the other's."""
    from .test_lesson06_variants import hand_answer_cells

    lesson = get_lesson("06")
    name = lesson.notebook.removesuffix(".ipynb")
    solution = (SOLUTIONS_DIR / lesson.notebook).read_text()
    assert solution.count('STUDENT_ID = \\"practice\\"') == 1

    def submit(student: str, claimed_id: str, answers_of: str | None = None) -> None:
        nb = nbformat.reads(solution.replace('STUDENT_ID = \\"practice\\"', f'STUDENT_ID = \\"{claimed_id}\\"'), 4)
        if answers_of:
            typed = hand_answer_cells(answers_of)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in typed:
                    cell.source = typed[grade_id]
        folder = tmp_path / "submissions" / student
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / lesson.notebook))

    submit("alice", "alice")                     # her own numbers, her code
    submit("bob", "bob")                         # his own numbers, his code
    submit("carol", "alice")                     # hands in alice's notebook as is
    submit("dave", "dave", answers_of="alice")   # alice's typed numbers under his own id
    csv_path = grade(tmp_path / "submissions", tmp_path / "course", ["06"], progress=False)
    scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(csv_path.open()) if r["assignment"] == name}
    assert scores == {"alice": lesson.points, "bob": lesson.points, "carol": 0, "dave": 0}
