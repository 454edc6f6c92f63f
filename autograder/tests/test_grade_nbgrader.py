"""End to end: the instructor's `grade` command with real nbgrader and a real SQLite gradebook,
on the flat layout (``submissions/<student>/<notebook>.ipynb``).

One class run (module fixture), synthetic students built from the real notebooks:

* ``stub``     hands in the untouched lessons/ notebooks            -> 0
* ``full``     hands in the complete solutions                      -> full marks
* ``partial``  solves only the first exercises of each lesson       -> exactly their points
* ``cheater``  solves the same as ``partial``, edits every graded
               test cell to ``pass`` and deletes one                 -> the same as ``partial``,
               and nbgrader's restorations are in the report and the feedback
* lesson 06's students, each graded on their own numbers;
* lessons 11 and 12 from the stub and the full student.

The exported CSV must hold exactly these numbers; a re-run with nothing changed does nothing.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import nbformat
import pytest

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, get_lesson
from autograder.grade import GradeRun, grade

from .classroom import solution, solved, stub, write

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

LESSON_NUMBERS = ["01", "02", "06", "11", "12"]
NEWER = ("11", "12")  # the stub and the full student hand these in too
# The partial student fills in this many solution cells, which earns exactly these points:
# lesson 01: char_vocab, get_stats, merge (1 + 1 + 1); lesson 02: the HashMap class (2 + 2 + 2).
PARTIAL = {"01": (3, 3), "02": (1, 6)}
STUDENTS = {"stub": lambda n: stub(n), "full": lambda n: solution(n), "partial": lambda n: solved(n, PARTIAL[n][0]),
            "cheater": lambda n: solved(n, PARTIAL[n][0], tamper_tests=True)}
L06 = get_lesson("06")


def lesson06(claimed_id: str, answers_of: str | None = None) -> nbformat.NotebookNode:
    """Lesson 06's solution with STUDENT_ID set to ``claimed_id`` (and, optionally, the numbers
    typed in by hand for another student)."""
    from .test_lesson06_variants import hand_answer_cells

    text = (SOLUTIONS_DIR / L06.notebook).read_text()
    assert text.count('STUDENT_ID = \\"practice\\"') == 1
    nb = nbformat.reads(text.replace('STUDENT_ID = \\"practice\\"', f'STUDENT_ID = \\"{claimed_id}\\"'), 4)
    if answers_of:
        typed = hand_answer_cells(answers_of)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in typed:
                cell.source = typed[grade_id]
    return nb


@pytest.fixture(scope="module")
def class_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[GradeRun, float]:
    root = tmp_path_factory.mktemp("class")
    submissions = root / "submissions"
    for student, make in STUDENTS.items():
        for number in ("01", "02"):
            write(make(number), submissions / student / get_lesson(number).notebook)
    for number in NEWER:
        write(stub(number), submissions / "stub" / get_lesson(number).notebook)
        write(solution(number), submissions / "full" / get_lesson(number).notebook)
    write(lesson06("alice"), submissions / "alice" / L06.notebook)                 # her numbers, her code
    write(lesson06("bob"), submissions / "bob" / L06.notebook)                     # his own
    write(lesson06("alice"), submissions / "carol" / L06.notebook)                 # alice's notebook as is
    write(lesson06("dave", answers_of="alice"), submissions / "dave" / L06.notebook)  # alice's numbers, his id
    start = time.perf_counter()
    run = grade(root / "course", submissions, LESSON_NUMBERS, progress=False)
    return run, time.perf_counter() - start


def scores(run: GradeRun) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(run.grades_csv.open())}


def report(run: GradeRun, student: str, assignment: str) -> list[dict[str, str]]:
    return [r for r in csv.DictReader(run.report.open()) if r["student_id"] == student and r["assignment"] == assignment]


def test_csv_holds_each_students_points(class_run) -> None:
    run, _ = class_run
    rows = scores(run)
    for number in ("01", "02"):
        lesson = get_lesson(number)
        name = lesson.notebook.removesuffix(".ipynb")
        expected = {"stub": 0, "full": lesson.points, "partial": PARTIAL[number][1], "cheater": PARTIAL[number][1]}
        got = {student: float(rows[(student, name)]["score"]) for student in expected}
        assert got == expected, f"lesson {number}: CSV scores {got}, expected {expected}"
        for student in expected:
            assert float(rows[(student, name)]["max_score"]) == lesson.points
            assert (run.course / "feedback" / student / name / f"{name}.html").exists()
        # what nbgrader releases is exactly what students get in lessons/
        released = json.loads((run.course / "release" / name / lesson.notebook).read_text())
        assert released == json.loads((LESSONS_DIR / lesson.notebook).read_text())


def test_the_encoder_decoder_and_kv_cache_lessons_are_graded_end_to_end(class_run) -> None:
    run, _ = class_run
    rows = scores(run)
    for number in NEWER:
        lesson = get_lesson(number)
        name = lesson.notebook.removesuffix(".ipynb")
        got = {student: float(rows[(student, name)]["score"]) for student in ("stub", "full")}
        assert got == {"stub": 0, "full": lesson.points}, f"lesson {number}: {got}"
        released = json.loads((run.course / "release" / name / lesson.notebook).read_text())
        assert released == json.loads((LESSONS_DIR / lesson.notebook).read_text())


def test_lesson06_each_student_is_graded_on_their_own_numbers(class_run) -> None:
    run, _ = class_run
    rows = scores(run)
    name = L06.notebook.removesuffix(".ipynb")
    got = {s: float(rows[(s, name)]["score"]) for s in ("alice", "bob", "carol", "dave")}
    assert got == {"alice": L06.points, "bob": L06.points, "carol": 0, "dave": 0}


def test_no_submission_time_is_invented(class_run) -> None:
    """Flat layout, no timestamp.txt, no --submitted-at: on time, and the report says why; never the file's mtime."""
    run, _ = class_run
    assert all(not r["timestamp"] for r in scores(run).values())
    notes = " ".join(r["message"] for r in report(run, "full", "01_tokenization"))
    assert "none given" in notes and "on time" in notes


def test_what_nbgrader_put_back_is_in_the_report_and_the_feedback(class_run) -> None:
    run, _ = class_run
    notes = [r["message"] for r in report(run, "cheater", "01_tokenization")]
    assert any("the locked cell check_" in n and "nbgrader put the original back" in n for n in notes), notes
    assert any("had been deleted; nbgrader added it back" in n for n in notes), notes
    feedback = (run.course / "feedback" / "cheater" / "01_tokenization" / "01_tokenization.html").read_text()
    assert "Notes from the grader" in feedback and "nbgrader added it back" in feedback


def test_missing_lessons_are_explicit_zero_rows(class_run) -> None:
    """alice handed in lesson 06 only: lessons 01 and 02 are rows with 0, in the CSV and the report."""
    run, _ = class_run
    rows = scores(run)
    for name in ("01_tokenization", "02_hashmaps"):
        assert float(rows[("alice", name)]["score"]) == 0
        assert [r["message"] for r in report(run, "alice", name)] == ["no notebook found"]


def test_wide_csv_has_a_row_per_student_and_a_total(class_run) -> None:
    run, _ = class_run
    rows = list(csv.DictReader(run.wide_csv.open()))
    assert list(rows[0]) == ["student_id", "last_name", "first_name", "email", "01_tokenization", "02_hashmaps",
                             "06_transformer_by_hand", "11_transformer", "12_kv_cache", "total"]
    by_student = {r["student_id"]: r for r in rows}
    assert sorted(by_student) == sorted([*STUDENTS, "alice", "bob", "carol", "dave"])
    full = by_student["full"]
    handed_in = ("01", "02", *NEWER)
    names = [get_lesson(n).notebook.removesuffix(".ipynb") for n in handed_in]
    assert float(full["total"]) == sum(float(full[name]) for name in names) == \
        sum(get_lesson(n).points for n in handed_in)


def test_unchanged_rerun_does_nothing_and_gives_the_same_csv(class_run) -> None:
    run, first_s = class_run
    before = run.grades_csv.read_text()
    start = time.perf_counter()
    again = grade(run.course, run.course.parent / "submissions", LESSON_NUMBERS, progress=False)
    rerun_s = time.perf_counter() - start
    assert again.steps == {"checked": 0, "checks reused": 16, "released": 0, "autograded": 0, "feedback": 0,
                           "exported": 0}
    assert again.grades_csv.read_text() == before
    print(f"first run {first_s:.1f} s, unchanged re-run {rerun_s:.2f} s")
