"""End to end: `grade` inside an instructor's own nbgrader course, as `nbgrader collect` leaves it.

The course is set up the way an instructor would: their own ``nbgrader_config.py`` (course id,
late penalty "zero"), ``source/05_attention/``, a due date and a roster in the gradebook, and
``submitted/<student>/<assignment>/`` folders with ``timestamp.txt``.  One class run (module
fixture) covers every case; each test checks one promise:

* the instructor's config is never rewritten, and its late penalty applies;
* a renamed notebook is found by its graded cells, a second copy is reported, nothing is dropped
  (a student with nothing, a folder without notebooks, a notebook of no lesson, a lesson under
  a foreign assignment name), an assignment with another name is mapped;
* what nbgrader restored is in the report; a corrupt timestamp holds the submission back until
  the instructor says "on time" (a second run, which redoes only that submission);
* a locked gradebook stops the run with the holder's name and leaves the gradebook intact;
* bad folders on the command line: one line, exit 2; a run that grades nothing: exit 1.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.catalog import REPO_ROOT, SOLUTIONS_DIR, get_lesson
from autograder.course import CourseError
from autograder.grade import GradeRun, grade

from .classroom import solution, solved, write

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

L05, L02 = get_lesson("05"), get_lesson("02")
A05 = "05_attention"
DUE = "2026-11-02 09:00:00 UTC"
ON_TIME, LATE = "2026-11-01 10:00:00.000000 UTC", "2026-11-03 09:00:00.000000 UTC"
INSTRUCTOR_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "ml101"
c.LateSubmissionPlugin.penalty_method = "zero"
c.Execute.timeout = 90
"""


def collected(course: Path, student: str, assignment: str, notebooks: dict[str, nbformat.NotebookNode],
              stamp: str | None = ON_TIME) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        write(nb, folder / name)
    if stamp is not None:
        (folder / "timestamp.txt").write_text(stamp + "\n")


def tampered() -> nbformat.NotebookNode:
    nb = solution("05")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "check_softmax":
            cell.source = "pass"
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "check_causal_mask"]
    return nb


@pytest.fixture(scope="module")
def course_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("instructor")
    course = root / "ml101"
    (course / "source" / A05).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(INSTRUCTOR_CONFIG)
    shutil.copyfile(SOLUTIONS_DIR / L05.notebook, course / "source" / A05 / L05.notebook)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "ml101") as gb:  # `nbgrader db assignment/student add`
        gb.update_or_create_assignment(A05, duedate=DUE)
        gb.update_or_create_student("absent", first_name="Ada", last_name="Absent")

    collected(course, "ontime", A05, {L05.notebook: solution("05")})
    collected(course, "late", A05, {L05.notebook: solution("05")}, stamp=LATE)
    collected(course, "renamed", A05, {"05_attention (1).ipynb": solution("05")})
    collected(course, "twice", A05, {L05.notebook: solved("05", 2), "05_attention-Copy1.ipynb": solution("05")})
    collected(course, "tamper", A05, {L05.notebook: tampered()})
    collected(course, "stranger", A05, {"scratch.ipynb": nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("print('hello')")])})
    collected(course, "empty", A05, {})
    collected(course, "badstamp", A05, {L05.notebook: solution("05")}, stamp="after lunch, I think")
    collected(course, "wrongplace", "hw5", {L05.notebook: solution("05")})
    collected(course, "mapped", "hw2", {"02_hashmaps-Copy1.ipynb": solution("02")})
    flat = root / "flat"
    write(solution("05"), flat / "flatty" / "my_attention.ipynb")

    options = dict(assignments={"02": "hw2"}, submitted_at="2026-11-01 12:00:00 UTC", progress=False)
    first = grade(course, flat, **options)
    runs = {"first": first, "csv": first.grades_csv.read_text(), "report": first.report.read_text(),
            "wide": first.wide_csv.read_text()}
    runs["on-time"] = grade(course, flat, bad_timestamps="on-time", **options)
    return runs


def rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(text.splitlines())}


def said(report_text: str, student: str) -> str:
    return " | ".join(r["message"] for r in csv.DictReader(report_text.splitlines()) if r["student_id"] == student)


def test_instructor_config_is_kept_and_students_are_graded_in_place(course_runs) -> None:
    run: GradeRun = course_runs["first"]
    assert (run.course / "nbgrader_config.py").read_text() == INSTRUCTOR_CONFIG
    scores = rows(course_runs["csv"])
    for student in ("ontime", "renamed", "tamper", "flatty"):
        assert float(scores[(student, A05)]["score"]) == L05.points, student
    assert float(scores[("mapped", "hw2")]["score"]) == L02.points
    assert (run.course / "autograded" / "mapped" / "hw2" / L02.notebook).exists()


def test_late_penalty_comes_from_the_instructors_config(course_runs) -> None:
    scores = rows(course_runs["csv"])
    late, ontime = scores[("late", A05)], scores[("ontime", A05)]
    assert late["timestamp"].startswith("2026-11-03 09:00:00") and late["duedate"].startswith("2026-11-02 09:00:00")
    assert (float(late["raw_score"]), float(late["late_submission_penalty"]), float(late["score"])) == \
        (L05.points, L05.points, 0)
    assert (float(ontime["late_submission_penalty"]), float(ontime["score"])) == (0, L05.points)
    assert "from timestamp.txt (nbgrader collect)" in said(course_runs["report"], "late")
    assert float(scores[("flatty", A05)]["late_submission_penalty"]) == 0
    assert "--submitted-at" in said(course_runs["report"], "flatty")


def test_a_renamed_notebook_is_graded_and_the_rename_reported(course_runs) -> None:
    run = course_runs["first"]
    assert "handed in as '05_attention (1).ipynb'" in said(course_runs["report"], "renamed")
    assert (run.course / "submitted" / "renamed" / A05 / L05.notebook).exists()
    assert (run.course / "autograder" / "originals" / "renamed" / A05 / "05_attention (1).ipynb").exists()
    assert "handed in as 'my_attention.ipynb'" in said(course_runs["report"], "flatty")


def test_a_second_notebook_for_a_lesson_is_reported(course_runs) -> None:
    scores = rows(course_runs["csv"])
    assert 0 < float(scores[("twice", A05)]["score"]) < L05.points  # the notebook with the lesson's name
    assert "05_attention-Copy1.ipynb was not graded (graded: 05_attention.ipynb)" in said(course_runs["report"], "twice")


def test_nobody_is_dropped(course_runs) -> None:
    scores, report = rows(course_runs["csv"]), course_runs["report"]
    for student in ("absent", "stranger", "empty", "wrongplace"):
        assert float(scores[(student, A05)]["score"]) == 0, student
        assert "no notebook found" in said(report, student), student
    assert "scratch.ipynb matches no lesson" in said(report, "stranger")
    assert "no notebooks in" in said(report, "empty")
    assert "--assignment 05=hw5" in said(report, "wrongplace")
    wide = {r["student_id"]: r for r in csv.DictReader(course_runs["wide"].splitlines())}
    assert {"absent", "stranger", "empty", "wrongplace", "badstamp"} <= set(wide)
    assert wide["absent"]["last_name"] == "Absent" and float(wide["ontime"]["total"]) == L05.points


def test_what_nbgrader_restored_is_reported(course_runs) -> None:
    text = said(course_runs["report"], "tamper")
    assert "nbgrader: the locked cell check_softmax had been edited; nbgrader put the original back" in text
    assert "nbgrader: the graded cell check_causal_mask had been deleted; nbgrader added it back" in text


def test_a_corrupt_timestamp_holds_the_submission_until_the_instructor_says_on_time(course_runs) -> None:
    assert float(rows(course_runs["csv"])[("badstamp", A05)]["score"]) == 0
    assert "'after lunch, I think'" in said(course_runs["report"], "badstamp")
    assert "--bad-timestamps on-time" in said(course_runs["report"], "badstamp")
    again: GradeRun = course_runs["on-time"]
    assert float(rows(again.grades_csv.read_text())[("badstamp", A05)]["score"]) == L05.points
    assert again.steps["checked"] == 1 and again.steps["autograded"] == 1  # only what changed
    assert "graded as on time (--bad-timestamps on-time)" in said(again.report.read_text(), "badstamp")


def test_a_locked_gradebook_stops_the_run_and_stays_intact(course_runs, tmp_path: Path) -> None:
    course = tmp_path / "copy"
    shutil.copytree(course_runs["first"].course, course)
    gradebook = course / "gradebook.db"
    with sqlite3.connect(gradebook) as db:
        graded_before = db.execute("select count(*) from submitted_assignment").fetchone()[0]
    holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time\n"
                               f"db = sqlite3.connect({str(gradebook)!r}); db.execute('BEGIN EXCLUSIVE')\n"
                               "print('locked', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CourseError, match=rf"gradebook {gradebook} is locked by pid {holder.pid} "):
            grade(course, lessons=["05"], assignments={"02": "hw2"}, progress=False, lock_wait_s=1)
    finally:
        holder.kill()
        holder.wait()
    with sqlite3.connect(gradebook) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("select count(*) from submitted_assignment").fetchone()[0] == graded_before == 8


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)


def test_bad_course_folders_get_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = _cli("--course", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0
    assert "does not exist" in missing.stderr
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("not a course")
    foreign = _cli("--course", str(tmp_path / "notes"))
    assert foreign.returncode == 2 and "is not an nbgrader course" in foreign.stderr
    assert foreign.stderr.strip().count("\n") == 0
    assert not (tmp_path / "notes" / "nbgrader_config.py").exists()


def test_a_run_that_grades_nothing_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "submissions" / "alice").mkdir(parents=True)
    (tmp_path / "submissions" / "alice" / "essay.txt").write_text("no notebook here")
    outcome = _cli("--course", str(tmp_path / "course"), "--submissions", str(tmp_path / "submissions"))
    assert outcome.returncode == 1
    assert "nothing was graded" in outcome.stderr and "no notebooks in" in outcome.stderr
