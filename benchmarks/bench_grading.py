"""Class-scale grading, the whole pipeline: checks, nbgrader's autograde, feedback and CSV export.

* 30 synthetic lesson-05 submissions (a third complete, a third half done, a third broken:
  stubs, one in two with an exception in a cell), graded from scratch with ``--jobs 1`` and
  with one job per core, then re-graded with nothing changed;
* 100 students x 2 lessons (05 and 02), one job per core, then re-graded unchanged.

Goals on 2 quiet cores (issue 15): <= 1 s per submission with --jobs 2, and an unchanged
re-run <= 10 % of the first.  Each row gives the load average at its start (other work on the
machine slows everything), and where the time of the first run went.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.catalog import get_lesson  # noqa: E402
from autograder.grade import grade  # noqa: E402
from autograder.tests.classroom import solved, stub  # noqa: E402

CORES = len(os.sched_getaffinity(0))


def make_class(folder: Path, students: int, lessons: list[str]) -> int:
    """Write the synthetic class; returns the number of submissions."""
    count = 0
    for number in lessons:
        lesson = get_lesson(number)
        half = len(lesson.exercises) // 2
        for i in range(students):
            if i % 3 == 0:
                nb = solved(number, len(lesson.exercises))
            elif i % 3 == 1:
                nb = solved(number, half)
            else:
                nb = stub(number)
                if i % 2:
                    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('broken notebook')"))
            path = folder / f"s{i:03d}" / lesson.notebook
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(path))
            count += 1
    return count


def measure(name: str, students: int, lessons: list[str], jobs_list: list[int]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        submissions = Path(tmp) / "submissions"
        n = make_class(submissions, students, lessons)
        for jobs in jobs_list:
            course = Path(tmp) / f"course-{jobs}"
            load = os.getloadavg()[0]
            start = time.perf_counter()
            run = grade(course, submissions, lessons, jobs=jobs, progress=False)
            first = time.perf_counter() - start
            start = time.perf_counter()
            grade(course, submissions, lessons, jobs=jobs, progress=False)
            again = time.perf_counter() - start
            phases = ", ".join(f"{k} {v:.1f}" for k, v in run.seconds.items())
            rows.append({"benchmark": name, "jobs": jobs, "load": load, "first_s": first, "s_per_submission": first / n,
                         "rerun_s": again, "rerun_pct": 100 * again / first, "where the first run went (s)": phases})
    return rows


def run() -> list[dict]:
    rows = measure("30 lesson-05 submissions", 30, ["05"], sorted({1, CORES}))
    rows += measure("100 students x 2 lessons (05, 02)", 100, ["05", "02"], [CORES])
    rows.append({"benchmark": "goal (2 quiet cores)", "jobs": 2, "s_per_submission": "<= 1",
                 "rerun_pct": "<= 10"})
    return rows


if __name__ == "__main__":
    from run import print_table

    print_table(run())
