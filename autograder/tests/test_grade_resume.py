"""Nothing lost, nothing doubled: a grading run killed with SIGKILL, re-run, gives the same CSV."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.catalog import REPO_ROOT, get_lesson
from autograder.grade import grade

from .classroom import solved

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
LESSON = "02"


def make_submissions(folder: Path) -> None:
    lesson = get_lesson(LESSON)
    for solve in (0, 2, 4, len(lesson.exercises)):
        student = folder / f"student{solve:02d}"
        student.mkdir(parents=True)
        nbformat.write(solved(LESSON, solve), str(student / lesson.notebook))


def start_grading(submissions: Path, course: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", "--submissions", str(submissions),
                             "--course", str(course), "--lessons", LESSON, "--jobs", "2"],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def kill_when(proc: subprocess.Popen, ready, limit_s: float = 300) -> None:
    """SIGKILL the grader and everything it started, as soon as `ready()` is true."""
    deadline = time.monotonic() + limit_s
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the grading run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_grading_rerun_gives_identical_csv(tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    make_submissions(submissions)
    clean = grade(tmp_path / "clean", submissions, [LESSON], progress=False).grades_csv.read_text()

    course = tmp_path / "killed"
    results = course / "autograder" / "results"

    def autograded() -> int:
        return len(list((course / "autograded").glob("*/*")))

    # 1st kill: while submissions are being checked in parallel (the first result is saved)
    kill_when(start_grading(submissions, course), lambda: len(list(results.glob("*/*.json"))) >= 1)
    # 2nd kill: while nbgrader writes the gradebook (one more submission is being autograded)
    before = autograded()
    kill_when(start_grading(submissions, course), lambda: autograded() > before)
    rerun = grade(course, submissions, [LESSON], progress=False).grades_csv.read_text()

    assert rerun == clean
    assert len(rerun.strip().splitlines()) == 1 + 4  # header + one row per student
