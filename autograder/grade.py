"""The instructor's workflow: grade a class with nbgrader, end to end, in parallel.

``python -m autograder grade --submissions DIR [--course DIR] [--lessons 01 02] [--jobs N]``

1. builds (or refreshes) an nbgrader course folder: ``source/NN_slug/`` from ``solutions/``,
   an ``nbgrader_config.py`` and a real SQLite gradebook, and runs ``nbgrader
   generate_assignment`` for each lesson (the released notebooks equal ``lessons/``);
2. adds every student (one subfolder of DIR per student id, holding ``NN_slug.ipynb`` files)
   and copies their notebooks to ``submitted/<student>/<assignment>/``;
3. **checks every submission in parallel** (``--jobs`` processes, with a progress bar), each
   in its own sandboxed, time- and memory-limited process (:mod:`autograder.isolated`), and
   saves each result atomically under ``autograder/results/``;
4. runs ``nbgrader autograde`` once per assignment, serially, so only one process ever writes
   the SQLite gradebook: nbgrader sanitizes each submission (restores edited or deleted test
   cells with ``add_missing_cells``, de-duplicates cell ids) and our ``IsolatedExecute``
   preprocessor fills in the saved results instead of running a kernel;
5. ``nbgrader generate_feedback`` (HTML per student) and ``nbgrader export`` (``grades.csv``).

Re-running after a crash or a ``kill -9`` repeats only what is missing and gives the same
CSV: saved results are reused when the submitted file is byte-for-byte the same, the
gradebook is rewritten by ``autograde --force``, and submission timestamps come from the
files, not the clock.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from .catalog import SOLUTIONS_DIR, all_lessons, get_lesson
from .notebook import read_notebook
from .release import CODE_STUB

COURSE_ID = "transformers-from-scratch"

CONFIG_TEMPLATE = '''\
# nbgrader configuration written by `python -m autograder grade`.
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

from autograder.nbgrader_plugin import IsolatedExecute

c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
c.OverwriteCells.add_missing_cells = True
# Grade in an isolated, sandboxed process instead of a Jupyter kernel (see autograder/nbgrader_plugin.py).
c.Autograde.autograde_preprocessors = [IsolatedExecute, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.IsolatedExecute.course_root = {root!r}
c.IsolatedExecute.timeout = {timeout}
c.IsolatedExecute.cell_timeout = {cell_timeout}
c.IsolatedExecute.memory_mb = {memory_mb}
c.Execute.timeout = {cell_timeout}
'''


def nbgrader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course folder; raise with its output if it fails."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def assignment_name(number: str) -> str:
    return get_lesson(number).notebook.removesuffix(".ipynb")


def setup_course(course: Path, lesson_numbers: list[str], timeout: float = 60, cell_timeout: float = 120,
                 memory_mb: int = 6144) -> list[str]:
    """Create the course folder and release the assignments; returns assignment names."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG_TEMPLATE.format(
        root=str(course.resolve()), course_id=COURSE_ID, stub=CODE_STUB, timeout=timeout,
        cell_timeout=cell_timeout, memory_mb=memory_mb), encoding="utf-8")
    names = []
    for number in lesson_numbers:
        name = assignment_name(number)
        source = course / "source" / name
        source.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOLUTIONS_DIR / f"{name}.ipynb", source / f"{name}.ipynb")
        nbgrader(course, "generate_assignment", name, "--force", "--create")
        names.append(name)
    return names


def collect_submissions(submissions: Path, assignments: list[str]) -> dict[str, dict[str, Path]]:
    """{student_id: {assignment: notebook path}} from DIR/<student>/<assignment>.ipynb."""
    found: dict[str, dict[str, Path]] = {}
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for name in assignments:
            notebook = student_dir / f"{name}.ipynb"
            if notebook.is_file():
                found.setdefault(student_dir.name, {})[name] = notebook
    return found


def submission_time(notebook: Path) -> str:
    """When the student handed in: their timestamp.txt if present, else the file's mtime."""
    stamp = notebook.parent / "timestamp.txt"
    if stamp.is_file():
        return stamp.read_text(encoding="utf-8").strip()
    moment = datetime.fromtimestamp(notebook.stat().st_mtime, timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def add_students(course: Path, students: list[str]) -> None:
    """Register students in the gradebook (one process, one writer)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{(course / 'gradebook.db').resolve()}") as gb:
        for student in students:
            gb.update_or_create_student(student)


def grade(submissions: Path, course: Path, lesson_numbers: list[str] | None = None, timeout: float = 60,
          cell_timeout: float = 120, memory_mb: int = 6144, jobs: int | None = None,
          progress: bool = True) -> Path:
    """Grade every submission; returns the path of the exported CSV."""
    from tqdm import tqdm

    from .nbgrader_plugin import grade_submission

    if not submissions.is_dir():
        raise FileNotFoundError(f"submissions folder {submissions} does not exist")
    if lesson_numbers is None:
        submitted = {p.name for p in submissions.glob("*/*.ipynb")}
        lesson_numbers = [lesson.number for lesson in all_lessons().values() if lesson.notebook in submitted]
    course = course.resolve()
    assignments = setup_course(course, lesson_numbers, timeout, cell_timeout, memory_mb)
    found = collect_submissions(submissions, assignments)
    add_students(course, list(found))

    tasks, problems = [], []
    for student, notebooks in found.items():
        for name, notebook in notebooks.items():
            try:
                nb = read_notebook(notebook)
            except ValueError as error:  # not a notebook: never hand it to nbgrader
                problems.append((student, name, f"not graded: {error}"))
                shutil.rmtree(course / "submitted" / student / name, ignore_errors=True)
                continue
            target = course / "submitted" / student / name
            target.mkdir(parents=True, exist_ok=True)
            copy = target / notebook.name
            fixes = deduplicate(nb)
            data = nbformat.writes(nb).encode() if fixes else notebook.read_bytes()
            problems.extend((student, name, fix) for fix in fixes)
            if not copy.exists() or copy.read_bytes() != data:
                copy.write_bytes(data)
            (target / "timestamp.txt").write_text(submission_time(notebook), encoding="utf-8")
            tasks.append((name, student, copy))

    jobs = jobs or max(1, len(os.sched_getaffinity(0)))
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each task is its own process
        futures = [pool.submit(grade_submission, course, name, student, copy, timeout, cell_timeout, memory_mb)
                   for name, student, copy in tasks]
        for future in tqdm(as_completed(futures), total=len(futures), desc="checking submissions",
                           unit="notebook", disable=not progress):
            future.result()

    for name in assignments:  # serial: the only writer of the gradebook
        proc = nbgrader(course, "autograde", name, "--force", check=False)
        for student in FAILED_STUDENT.findall(proc.stdout + proc.stderr):
            problems.append((student, name, "nbgrader could not autograde this submission (see its log)"))
        nbgrader(course, "generate_feedback", name, "--force", check=False)
    csv_path = course / "grades.csv"
    nbgrader(course, "export", "--to", str(csv_path))
    write_report(course, assignments, problems)
    return csv_path


def deduplicate(nb: nbformat.NotebookNode) -> list[str]:
    """Make duplicated cells harmless before nbgrader sees them; returns what was changed.

    Copy-pasting a cell in Jupyter duplicates its nbgrader grade_id and its cell id.
    nbgrader's own DeduplicateIds keeps the last copy but leaves the others with empty
    metadata, on which nbgrader 0.9.6's add_missing_cells then crashes.  We do the same
    de-duplication (keep the last copy as the graded one) and drop the metadata entirely.
    """
    fixes, seen_grade, seen_cell = [], set(), set()
    for cell in reversed(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            if grade_id in seen_grade:
                del cell.metadata["nbgrader"]
                fixes.append(f"duplicated cell {grade_id!r}: only the last copy is graded")
            seen_grade.add(grade_id)
        if cell.get("id") in seen_cell:
            cell["id"] = f"{cell['id']}-copy{len(seen_cell)}"
        seen_cell.add(cell.get("id"))
    return fixes


FAILED_STUDENT = re.compile(r"error processing assignment '[^']+' for student '([^']+)'")


def write_report(course: Path, assignments: list[str], problems: list[tuple[str, str, str]]) -> Path:
    """One row per student and exercise with the check's message: what the instructor reads
    to see *why* a score is what it is.  Written to <course>/autograder/report.csv."""
    from .nbgrader_plugin import results_path

    report = course / "autograder" / "report.csv"
    report.parent.mkdir(parents=True, exist_ok=True)
    with report.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["assignment", "student_id", "exercise", "score", "max_score", "message"])
        for name in assignments:
            for path in sorted(results_path(course, name, "_").parent.glob("*.json")):
                run = json.loads(path.read_text(encoding="utf-8"))["run"]
                for r in run["results"]:
                    writer.writerow([name, path.stem, r["exercise"], r["points"] if r["passed"] else 0,
                                     r["points"], "passed" if r["passed"] else r["message"]])
                for note in run["notes"]:
                    writer.writerow([name, path.stem, "", "", "", note])
        for student, name, message in problems:
            writer.writerow([name, student, "", 0, "", message])
    for student, name, message in problems:
        print(f"warning: {student} / {name}: {message}", file=sys.stderr)
    return report
