"""Plain nbgrader is a documented route, and gives the same grades as `grade`.

docs/instructors.md ("Grading with plain nbgrader") gives the commands and settings; this test
runs exactly those on lesson 02 for four students (nbgrader's own kernel executes each notebook,
and its graded cells call the course's checks), and `grade` on an identical copy of the course:
the two ``grades.csv`` must hold the same rows.

Then the formgrader (nbgrader's JupyterLab extension, served by ``jupyter server``) changes one
grade by hand through its own REST API, as the instructor's click would: the next `grade` run
keeps that manual grade and exports it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.catalog import SOLUTIONS_DIR, get_lesson
from autograder.grade import GradeRun, grade

from .classroom import solution, solved, stub, write

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

L02 = get_lesson("02")
A02 = "02_hashmaps"
# The settings docs/instructors.md gives for plain nbgrader.
PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "plain"
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 120
"""
STUDENTS = {"stub": lambda: stub("02"), "full": lambda: solution("02"), "partial": lambda: solved("02", 1),
            "cheater": lambda: solved("02", 1, tamper_tests=True)}


def make_course(folder: Path) -> Path:
    (folder / "source" / A02).mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text(PLAIN_CONFIG)
    shutil.copyfile(SOLUTIONS_DIR / L02.notebook, folder / "source" / A02 / L02.notebook)
    for student, make in STUDENTS.items():
        write(make(), folder / "submitted" / student / A02 / L02.notebook)
        (folder / "submitted" / student / A02 / "timestamp.txt").write_text("2026-11-01 10:00:00.000000 UTC\n")
    return folder


def nbgrader(course: Path, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def courses(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("plain")
    plain = make_course(root / "plain")
    nbgrader(plain, "generate_assignment", A02, "--create")
    nbgrader(plain, "autograde", A02)
    nbgrader(plain, "export", "--to", "grades.csv")
    ours = make_course(root / "ours")
    return {"plain": plain, "grade": grade(ours, progress=False)}


def csv_rows(path: Path) -> list[dict[str, str]]:
    return sorted(csv.DictReader(path.open()), key=lambda r: (r["assignment"], r["student_id"]))


def test_plain_nbgrader_gives_the_same_csv_as_grade(courses) -> None:
    plain, ours = csv_rows(courses["plain"] / "grades.csv"), csv_rows(courses["grade"].grades_csv)
    assert plain == ours
    assert {r["student_id"]: float(r["score"]) for r in ours} == {"stub": 0, "full": L02.points, "partial": 6,
                                                                    "cheater": 6}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, token: str, method: str = "GET", body: dict | None = None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def test_a_grade_changed_in_the_formgrader_is_kept_by_grade(courses) -> None:
    run: GradeRun = courses["grade"]
    port, token = _free_port(), "autograder-test"
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}",
                              f"--ServerApp.token={token}", "--ServerApp.ip=127.0.0.1", "--allow-root",
                              f"--ServerApp.root_dir={run.course}"], cwd=run.course,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _request(f"{base}/formgrader/api/status", token)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "jupyter server did not start"
                time.sleep(0.5)
        # the formgrader's view of "partial": find a graded cell that scored 0 and give it its points by hand
        notebooks = _request(f"{base}/formgrader/api/student_notebook_submissions/partial/{A02}", token)
        grades = [g for nb in notebooks for g in _request(
            f"{base}/formgrader/api/grades?submission_id={nb['id']}", token)]
        failed = next(g for g in grades if g["auto_score"] == 0 and g["max_score"] > 0)
        changed = _request(f"{base}/formgrader/api/grade/{failed['id']}", token, "PUT",
                           {"manual_score": failed["max_score"], "extra_credit": None})
        assert changed["manual_score"] == failed["max_score"]
    finally:
        server.terminate()
        server.wait(timeout=60)

    again = grade(run.course, progress=False)
    scores = {r["student_id"]: float(r["score"]) for r in csv_rows(again.grades_csv)}
    assert scores["partial"] == 6 + failed["max_score"]
    assert again.steps["checked"] == 0 and again.steps["autograded"] == 0  # nothing re-graded over the hand grade
    assert again.steps["feedback"] == 4  # the feedback shows the hand grade
