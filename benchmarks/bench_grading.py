"""Class-scale grading: 30 synthetic lesson-05 submissions, sequential vs parallel.

The class is a third complete solutions, a third partial (half the exercises), and a third
broken (stubs, one with an exception in every exercise).  Each run grades it from scratch
through `grade()` (isolated checks + nbgrader gradebook + feedback + CSV).  Target (issue 7):
<= 5 s per submission in parallel on 2 cores.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.catalog import LESSONS_DIR, get_lesson  # noqa: E402
from autograder.grade import grade  # noqa: E402
from autograder.tests.test_grade_nbgrader import solved  # noqa: E402

LESSON = "05"
N = 30


def make_class(folder: Path) -> None:
    lesson = get_lesson(LESSON)
    half = len(lesson.exercises) // 2
    for i in range(N):
        if i % 3 == 0:
            nb = solved(LESSON, len(lesson.exercises))
        elif i % 3 == 1:
            nb = solved(LESSON, half)
        else:
            nb = nbformat.read(str(LESSONS_DIR / lesson.notebook), as_version=4)
            if i % 2:
                nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('broken notebook')"))
        student = folder / f"s{i:02d}"
        student.mkdir(parents=True)
        nbformat.write(nb, str(student / lesson.notebook))


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        submissions = Path(tmp) / "submissions"
        make_class(submissions)
        for jobs in (1, len(os.sched_getaffinity(0))):
            start = time.perf_counter()
            grade(submissions, Path(tmp) / f"course-{jobs}", [LESSON], jobs=jobs, progress=False)
            wall = time.perf_counter() - start
            rows.append({"benchmark": f"grade {N} lesson-05 submissions", "jobs": jobs,
                         "wall_s": wall, "s_per_submission": wall / N, "target": "<= 5 s/submission parallel"})
    return rows


if __name__ == "__main__":
    from run import print_table

    print_table(run())
