"""The instructor's workflow: grade a class with nbgrader, end to end.

``python -m autograder grade --submissions DIR [--course DIR] [--lessons 01 02]``

1. builds (or refreshes) an nbgrader course folder: ``source/NN_slug/`` from ``solutions/``,
   an ``nbgrader_config.py``, and a real SQLite gradebook;
2. ``nbgrader generate_assignment`` for each lesson (the released notebooks equal ``lessons/``);
3. adds every student (one subfolder of DIR per student id, holding ``NN_slug.ipynb`` files)
   and copies their notebooks to ``submitted/<student>/<assignment>/``;
4. ``nbgrader autograde`` with ``--OverwriteCells.add_missing_cells=True`` (a deleted test cell
   is restored, not silently scored zero) and a per-cell timeout; edited test cells are
   restored from the gradebook;
5. ``nbgrader generate_feedback`` (HTML per student) and ``nbgrader export`` (``grades.csv``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from .catalog import SOLUTIONS_DIR, all_lessons, get_lesson
from .release import CODE_STUB

COURSE_ID = "transformers-from-scratch"

CONFIG_TEMPLATE = '''\
# nbgrader configuration written by `python -m autograder grade`.
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
c.Execute.timeout = {timeout}
c.OverwriteCells.add_missing_cells = True
'''


def nbgrader(course: Path, *args: str) -> None:
    """Run one nbgrader command in the course folder; raise with its output if it fails."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def setup_course(course: Path, lesson_numbers: list[str], timeout: int = 120) -> list[str]:
    """Create the course folder and release the assignments; returns assignment names."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG_TEMPLATE.format(
        root=str(course.resolve()), course_id=COURSE_ID, stub=CODE_STUB, timeout=timeout), encoding="utf-8")
    names = []
    for number in lesson_numbers:
        lesson = get_lesson(number)
        name = lesson.notebook.removesuffix(".ipynb")
        source = course / "source" / name
        source.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOLUTIONS_DIR / lesson.notebook, source / lesson.notebook)
        nbgrader(course, "generate_assignment", name, "--force", "--create")
        names.append(name)
    return names


def collect_submissions(submissions: Path, assignments: list[str]) -> dict[str, dict[str, Path]]:
    """{student_id: {assignment: notebook path}} from DIR/<student>/<assignment>.ipynb."""
    found: dict[str, dict[str, Path]] = {}
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for name in assignments:
            notebook = student_dir / f"{name}.ipynb"
            if notebook.exists():
                found.setdefault(student_dir.name, {})[name] = notebook
    return found


def grade(submissions: Path, course: Path, lesson_numbers: list[str] | None = None,
          timeout: int = 120) -> Path:
    """Grade every submission; returns the path of the exported CSV."""
    if not submissions.is_dir():
        raise FileNotFoundError(f"submissions folder {submissions} does not exist")
    if lesson_numbers is None:
        submitted = {p.name for p in submissions.glob("*/*.ipynb")}
        lesson_numbers = [lesson.number for lesson in all_lessons().values() if lesson.notebook in submitted]
    assignments = setup_course(course, lesson_numbers, timeout)
    found = collect_submissions(submissions, assignments)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    for student, notebooks in found.items():
        nbgrader(course, "db", "student", "add", student)
        for name, notebook in notebooks.items():
            target = course / "submitted" / student / name
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            shutil.copyfile(notebook, target / notebook.name)
            (target / "timestamp.txt").write_text(stamp, encoding="utf-8")
    for name in assignments:
        nbgrader(course, "autograde", name, "--force")
        nbgrader(course, "generate_feedback", name, "--force")
    csv_path = course / "grades.csv"
    nbgrader(course, "export", "--to", str(csv_path.resolve()))
    return csv_path
