"""Find every notebook students handed in, decide which lesson each one is, and say what is wrong.

Two layouts are read:

* **collected** — ``<course>/submitted/<student>/<assignment>/*.ipynb`` with ``timestamp.txt``,
  exactly as ``nbgrader collect`` (or the exchange) leaves it;
* **flat** — ``<folder>/<student>/*.ipynb`` (any depth below the student's folder), as an
  instructor gathers files by hand; they are copied into the collected layout.

A notebook belongs to the lesson whose graded cells' ``grade_id``\\ s it carries, whatever its file
name (``05_attention (1).ipynb``, ``02_hashmaps-Copy1.ipynb``); only an unreadable file, or one
with no graded cells at all, is matched by its name.  Nothing is dropped silently: a renamed
file, a second notebook for the same lesson, a notebook of no lesson, a student folder without
notebooks, an unreadable file and a student with nothing for a graded lesson each become a
:class:`Problem` that the report lists by name.

Submission times: ``timestamp.txt`` (what ``collect`` writes), else for the flat layout the
instructor's ``--submitted-at``; never a file's modification time.  Each hand-in says where its
time came from.  An unreadable ``timestamp.txt`` is reported; the hand-in is graded as on time
only if the instructor says so (``bad_timestamps="on-time"``), otherwise it is held back.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from .catalog import SOLUTIONS_DIR
from .course import CourseError, State, file_digest

CHECKPOINTS = ".ipynb_checkpoints"


@dataclass(frozen=True)
class LessonInfo:
    """What the grader needs to know about a lesson without importing its checks."""

    number: str
    notebook: str  # file name, e.g. "05_attention.ipynb"
    grade_ids: frozenset[str]
    points: float

    @property
    def name(self) -> str:
        return self.notebook.removesuffix(".ipynb")


@dataclass
class Handin:
    """One notebook a student handed in for one lesson."""

    student: str
    lesson: LessonInfo
    assignment: str
    path: Path  # where it is found (flat folder or submitted/)
    readable: bool = True
    timestamp: str | None = None  # the text nbgrader will read, if any
    time_source: str = ""
    held: bool = False  # unreadable timestamp and the instructor did not say "on time"
    on_time: bool = False  # unreadable timestamp, graded as on time (instructor's choice)
    notes: list[str] = field(default_factory=list)


@dataclass
class Problem:
    """Something the instructor must see: a row of the report and a warning on the terminal."""

    student: str
    assignment: str
    message: str
    score: float | None = None  # a score row (0 for "no notebook found"), or a note (None)
    max_score: float | None = None
    lesson: str | None = None  # the lesson it concerns, when known


def notebook_cells(data: Any) -> list[dict[str, Any]]:
    """The cells of a notebook's JSON (nbformat 4, or 3 with its worksheets)."""
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("cells"), list):
        return [c for c in data["cells"] if isinstance(c, dict)]
    return [c for ws in data.get("worksheets", []) if isinstance(ws, dict)
            for c in ws.get("cells", []) if isinstance(c, dict)]


def cell_grade_id(cell: dict[str, Any]) -> str | None:
    meta = cell.get("metadata", {})
    nbgrader = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return grade_id if isinstance(grade_id, str) else None


@lru_cache(maxsize=4)
def lesson_catalog(solutions: Path = SOLUTIONS_DIR) -> tuple[LessonInfo, ...]:
    """Every lesson, from its complete notebook in ``solutions/`` (grade ids and points)."""
    lessons = []
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        cells = notebook_cells(json.loads(path.read_text(encoding="utf-8")))
        ids = frozenset(filter(None, (cell_grade_id(c) for c in cells)))
        points = sum(float(c["metadata"]["nbgrader"].get("points", 0)) for c in cells
                     if cell_grade_id(c) and c["metadata"]["nbgrader"].get("grade"))
        lessons.append(LessonInfo(path.name[:2], path.name, ids, points))
    return tuple(lessons)


def match_cells(cells: list[Any], lessons: tuple[LessonInfo, ...]) -> LessonInfo | None:
    """The lesson whose grade ids the cells share most (None if they share none)."""
    ids = {cell_grade_id(c) for c in cells if isinstance(c, dict)} - {None}
    best = max(lessons, key=lambda lesson: len(ids & lesson.grade_ids), default=None)
    return best if best is not None and ids & best.grade_ids else None


def identify(path: Path, lessons: tuple[LessonInfo, ...], names: dict[str, LessonInfo]) -> tuple[LessonInfo | None, bool]:
    """(lesson, readable) of a notebook file: by its graded cells, else by its file name."""
    try:
        data = json.loads(path.read_bytes())
        readable = isinstance(data, dict) and bool(notebook_cells(data) or "cells" in data)
    except (OSError, ValueError):
        data, readable = None, False
    lesson = match_cells(notebook_cells(data), lessons) if readable else None
    return lesson or names.get(path.stem), readable


def parse_timestamp(text: str) -> datetime:
    """A submission time as nbgrader reads it (raises ValueError if it cannot)."""
    from dateutil.parser import parse

    moment = parse(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass
class Found:
    """Everything discovered: hand-ins to grade, problems to report, every student seen."""

    handins: list[Handin] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    students: set[str] = field(default_factory=set)


class Discovery:
    """Reads the flat and collected layouts into one :class:`Found`."""

    def __init__(self, assignments: dict[str, str], bad_timestamps: str = "hold",
                 submitted_at: str | None = None) -> None:
        self.lessons = lesson_catalog()
        self.by_number = {lesson.number: lesson for lesson in self.lessons}
        self.assignments = assignments  # lesson number -> assignment name
        self.by_assignment = {name: self.by_number[n] for n, name in assignments.items() if n in self.by_number}
        # an unreadable file is matched by its name: the lesson's notebook or its assignment's name
        self.names = {lesson.name: lesson for lesson in self.lessons}
        self.names.update(self.by_assignment)
        self.folder_lessons = {self.assignment_of(lesson): lesson for lesson in self.lessons}
        self.bad_timestamps = bad_timestamps
        self.submitted_at = submitted_at
        self.found = Found()

    def assignment_of(self, lesson: LessonInfo) -> str:
        return self.assignments.get(lesson.number, lesson.name)

    # ---------------------------------------------------------------- flat layout

    def read_flat(self, folder: Path) -> None:
        """``folder/<student>/...*.ipynb``."""
        for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            student = student_dir.name
            self.found.students.add(student)
            notebooks = sorted(p for p in student_dir.rglob("*.ipynb") if CHECKPOINTS not in p.parts)
            if not notebooks:
                self.found.problems.append(Problem(student, "", f"no notebooks in {student_dir}"))
                continue
            groups: dict[str, list[tuple[Path, LessonInfo, bool]]] = {}
            for path in notebooks:
                lesson, readable = identify(path, self.lessons, self.names)
                if lesson is None:
                    self._unmatched(student, "", path, readable)
                    continue
                groups.setdefault(lesson.number, []).append((path, lesson, readable))
            for entries in groups.values():
                path, lesson, readable = self._choose(student, entries)
                handin = Handin(student, lesson, self.assignment_of(lesson), path, readable)
                self._flat_time(handin, student_dir)
                self.found.handins.append(handin)
        for stray in sorted(p for p in folder.glob("*.ipynb")):
            self.found.problems.append(Problem("", "", f"{stray.name} is not inside a student's folder: not graded"))

    def _flat_time(self, handin: Handin, student_dir: Path) -> None:
        for folder in [handin.path.parent, *handin.path.parent.parents]:
            stamp = folder / "timestamp.txt"
            if stamp.is_file():
                where = stamp.relative_to(student_dir.parent)
                self._read_stamp(handin, stamp, f"{where}")
                return
            if folder == student_dir:
                break
        if self.submitted_at:
            handin.timestamp, handin.time_source = self.submitted_at, "--submitted-at"
        else:
            handin.time_source = "none given (no timestamp.txt, no --submitted-at): graded as on time"

    # ---------------------------------------------------------------- collected layout

    def read_collected(self, submitted: Path, skip: set[tuple[str, str]]) -> None:
        """``submitted/<student>/<assignment>/*.ipynb``, except the (student, assignment) pairs in
        ``skip`` (just copied there from the flat layout, already read).  Folders of assignments
        that are no lesson of this course (the instructor's own) are left alone, unless a lesson's
        notebook was handed in there."""
        if not submitted.is_dir():
            return
        for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
            student = student_dir.name
            self.found.students.add(student)
            folders = sorted(p for p in student_dir.iterdir() if p.is_dir())
            if not any(p.suffix == ".ipynb" for f in folders for p in f.iterdir()):
                if not any((student, f.name) in skip for f in folders):
                    self.found.problems.append(Problem(student, "", f"no notebooks in {student_dir}"))
                continue
            for folder in folders:
                if (student, folder.name) not in skip:
                    self._read_assignment_folder(student, folder)

    def _read_assignment_folder(self, student: str, folder: Path) -> None:
        expected = self.folder_lessons.get(folder.name)
        groups: dict[str, list[tuple[Path, LessonInfo, bool]]] = {}
        for path in sorted(p for p in folder.glob("*.ipynb")):
            lesson, readable = identify(path, self.lessons, self.names)
            if expected is None:
                if lesson is not None:
                    self.found.problems.append(Problem(student, folder.name, (
                        f"{path.name} is a notebook of lesson {lesson.number}, handed in under "
                        f"{folder.name!r}, which is no assignment of this course: not graded (map it with "
                        f"--assignment {lesson.number}={folder.name})"), lesson=lesson.number))
            elif lesson is None:
                self._unmatched(student, folder.name, path, readable, expected.number)
            elif lesson != expected:
                self.found.problems.append(Problem(student, folder.name, (
                    f"{path.name} is a notebook of lesson {lesson.number} ({self.assignment_of(lesson)}), "
                    f"handed in under {folder.name}: not graded here"), lesson=expected.number))
            else:
                groups.setdefault(lesson.number, []).append((path, lesson, readable))
        for entries in groups.values():
            path, lesson, readable = self._choose(student, entries)
            handin = Handin(student, lesson, folder.name, path, readable)
            stamp = folder / "timestamp.txt"
            if stamp.is_file():
                self._read_stamp(handin, stamp, "timestamp.txt (nbgrader collect)")
            else:
                handin.time_source = "none (no timestamp.txt in the collected folder): graded as on time"
            self.found.handins.append(handin)

    # ---------------------------------------------------------------- shared

    def _choose(self, student: str, entries: list[tuple[Path, LessonInfo, bool]]) -> tuple[Path, LessonInfo, bool]:
        """One notebook per lesson: the one with the lesson's own name, else the first by name;
        every other one is reported."""
        entries = sorted(entries, key=lambda e: (e[0].name != e[1].notebook, not e[2], str(e[0])))
        chosen = entries[0]
        for path, lesson, _ in entries[1:]:
            self.found.problems.append(Problem(student, self.assignment_of(lesson), (
                f"a second notebook for lesson {lesson.number}: {path.name} was not graded "
                f"(graded: {chosen[0].name})"), lesson=lesson.number))
        return chosen

    def _unmatched(self, student: str, assignment: str, path: Path, readable: bool, lesson: str | None = None) -> None:
        why = "is not a readable Jupyter notebook and its name is no lesson's" if not readable else (
            "matches no lesson of this course (none of its cells is a graded cell of a lesson)")
        self.found.problems.append(Problem(student, assignment, f"{path.name} {why}: not graded", lesson=lesson))

    def _read_stamp(self, handin: Handin, stamp: Path, source: str) -> None:
        text = stamp.read_text(encoding="utf-8", errors="replace").strip()
        try:
            parse_timestamp(text)
        except (ValueError, OverflowError):
            shown = text[:40] or "empty"
            if self.bad_timestamps == "on-time":
                handin.on_time = True
                handin.time_source = (f"{source} is unreadable ({shown!r}); graded as on time "
                                      "(--bad-timestamps on-time)")
            else:
                handin.held = True
                handin.time_source = (f"{source} is unreadable ({shown!r}): not graded; fix the file, or "
                                      "re-run with --bad-timestamps on-time to grade it as on time")
            return
        handin.timestamp, handin.time_source = text, source

    @staticmethod
    def missing(handins: list[Handin], students: set[str], assignments: list[tuple[LessonInfo, str]]) -> list[Problem]:
        """A "no notebook found" row (score 0) for each student and graded lesson without a hand-in."""
        have = {(h.student, h.assignment) for h in handins}
        return [Problem(student, assignment, "no notebook found", 0.0, lesson.points, lesson.number)
                for student in sorted(students) for lesson, assignment in assignments
                if (student, assignment) not in have]


def deduplicate(data: dict[str, Any]) -> list[str]:
    """Make duplicated cells harmless before nbgrader sees them; returns what was changed.

    Copy-pasting a cell in Jupyter duplicates its nbgrader grade_id and its cell id.
    nbgrader's own DeduplicateIds keeps the last copy but leaves the others with empty
    metadata, on which nbgrader 0.9.6's add_missing_cells then crashes.  We do the same
    de-duplication (keep the last copy as the graded one) and drop the metadata entirely.
    """
    fixes, seen_grade, seen_cell = [], set(), set()
    for cell in reversed(notebook_cells(data)):
        grade_id = cell_grade_id(cell)
        if grade_id is not None:
            if grade_id in seen_grade:
                del cell["metadata"]["nbgrader"]
                fixes.append(f"duplicated cell {grade_id!r}: only the last copy is graded")
            seen_grade.add(grade_id)
        if "id" in cell and cell["id"] in seen_cell:
            cell["id"] = f"{cell['id']}-copy{len(seen_cell)}"
        seen_cell.add(cell.get("id"))
    return fixes


# ------------------------------------------------------------------ where nbgrader expects them

def ensure_source(course: Path, lesson: LessonInfo, assignment: str, state: State,
                   problems: list[Problem]) -> str:
    """The lesson's complete notebook in ``source/<assignment>/`` (the instructor's, if there);
    returns its file name, which every submission of the assignment is graded under."""
    folder = course / "source" / assignment
    solution = SOLUTIONS_DIR / lesson.notebook
    ours = state.get("sources", assignment)
    notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    for path in notebooks:
        found, _ = identify(path, lesson_catalog(), {})
        if found is None or found.number != lesson.number:
            continue
        digest = file_digest(path)
        if digest == ours:  # the copy this grader put there: keep it up to date with solutions/
            if digest != file_digest(solution):
                shutil.copyfile(solution, path)
                state.set(file_digest(path), "sources", assignment)
        elif digest != file_digest(solution):
            problems.append(Problem("", assignment, f"source/{assignment}/{path.name} is the course folder's own "
                                    f"version and differs from solutions/{lesson.notebook}: the release is built "
                                    "from it; the checks are the lesson's", lesson=lesson.number))
        return path.name
    if notebooks:
        raise CourseError(f"source/{assignment}/ holds notebooks, but none is lesson {lesson.number}'s "
                          f"({lesson.notebook}); map the lesson to another assignment name with --assignment")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(solution, folder / lesson.notebook)
    state.set(file_digest(folder / lesson.notebook), "sources", assignment)
    return lesson.notebook


def place(course: Path, handin: Handin, canonical: str, from_flat: bool, state: State) -> None:
    """Put the hand-in where nbgrader expects it: ``submitted/<student>/<assignment>/<canonical>``.

    A flat hand-in is copied there.  A collected one is left as it is unless it must change
    (another file name, duplicated cells): then its original is kept under
    ``autograder/originals/`` and the report says what was done.  Sets ``handin.path`` to the
    file that nbgrader (and the checker) will read.
    """
    folder = course / "submitted" / handin.student / handin.assignment
    target = folder / canonical
    record_key = ("placed", handin.assignment, handin.student)
    if handin.path.resolve() == target.resolve():
        placed = state.get(*record_key)
        if placed and handin.readable and placed.get("sha256") == file_digest(target):
            handin.notes += placed.get("notes", [])
        if handin.readable:
            _write_fixed(course, handin, target, target, state, keep_original=not from_flat)
        return
    if not handin.readable:
        if from_flat:  # never hand an unreadable file to nbgrader
            shutil.rmtree(folder, ignore_errors=True)
        return
    if handin.path.name != canonical:
        handin.notes.append(f"the notebook was handed in as {handin.path.name!r}; graded as {canonical}")
    if from_flat:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.ipynb"):
            if old.name != canonical:
                old.unlink()
        _write_fixed(course, handin, handin.path, target, state, keep_original=False)
        stamp = folder / "timestamp.txt"
        if handin.timestamp:
            if not stamp.is_file() or stamp.read_text(encoding="utf-8").strip() != handin.timestamp:
                stamp.write_text(handin.timestamp + "\n", encoding="utf-8")
        elif stamp.exists():
            stamp.unlink()
    else:
        _write_fixed(course, handin, handin.path, target, state, keep_original=True)
        if handin.path.exists() and handin.path.resolve() != target.resolve():
            handin.path.unlink()
    handin.path = target


def _write_fixed(course: Path, handin: Handin, source: Path, target: Path, state: State, keep_original: bool) -> None:
    """Write ``source`` to ``target`` with duplicated cells made harmless; keep the student's
    original under ``autograder/originals/`` when a collected file changes."""
    raw = source.read_bytes()
    data = json.loads(raw)
    fixes = deduplicate(data)
    content = (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode() if fixes else raw
    handin.notes += fixes
    changed = source.resolve() != target.resolve() or content != raw
    if keep_original and changed:
        original = course / "autograder" / "originals" / handin.student / handin.assignment / source.name
        original.parent.mkdir(parents=True, exist_ok=True)
        if not original.exists() or original.read_bytes() != raw:
            original.write_bytes(raw)
        handin.notes.append(f"the student's file as handed in is kept in {original.relative_to(course)}")
    if not target.exists() or target.read_bytes() != content:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    if keep_original and changed:
        state.set({"sha256": file_digest(target), "notes": list(handin.notes)}, "placed", handin.assignment,
                  handin.student)
