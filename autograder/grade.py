"""The instructor's workflow: grade a class inside an nbgrader course, in parallel, re-runnable.

``python -m autograder grade --course COURSE [--submissions DIR] [--lessons 01 05] [--jobs N]``

1. opens the course (:mod:`autograder.course`): an existing nbgrader course with the
   instructor's own ``nbgrader_config.py`` (never rewritten), or a new one;
2. finds every hand-in (:mod:`autograder.submissions`): ``submitted/<student>/<assignment>/``
   as ``nbgrader collect`` leaves it, and the flat ``DIR/<student>/*.ipynb`` layout, which is
   copied into it; each notebook is matched to its lesson by its graded cells, whatever its
   name, and nothing is dropped without a line in the report;
3. puts each lesson's complete notebook in ``source/<assignment>/`` (unless the instructor's is
   there) and runs nbgrader's ``generate_assignment`` when the source changed;
4. **checks every submission in parallel** (``--jobs`` at a time) in a sandboxed, time- and
   memory-limited child of a pre-imported fork server (:mod:`autograder.isolated`), saving each
   result atomically under ``autograder/results/``;
5. runs nbgrader's ``autograde`` (one submission at a time: the only writer of the gradebook),
   ``generate_feedback`` and the CSV export, in this process, through nbgrader's own classes;
   ``IsolatedExecute`` fills in the saved results instead of starting a kernel;
6. writes ``grades.csv`` (nbgrader's export), ``grades_by_student.csv`` (a row per student, a
   column per assignment and a total) and ``autograder/report.csv`` (why each score is what it
   is: every check's message, every note and problem).

**Re-running** repeats only what changed (``autograder/state.json`` keeps each step's inputs):
an unchanged class costs a scan of the files.  A run killed at any moment (``kill -9``) loses
at most the step it was in; the next run redoes it and gives the same CSV.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .course import LOCK_WAIT_S, CourseError, State, open_course, run_lock
from .isolated import prestart, stop_server
from .saved_results import check_key, grade_submission, saved_run
from .submissions import Discovery, Handin, LessonInfo, Problem, ensure_source, lesson_catalog, place

REPORT_COLUMNS = ["assignment", "student_id", "exercise", "score", "max_score", "message"]


@dataclass
class GradeRun:
    """What one `grade` run produced."""

    course: Path
    grades_csv: Path
    wide_csv: Path
    report: Path
    graded: int = 0  # submissions that have a grade in the gradebook after this run
    problems: list[Problem] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)  # how many of each step actually ran
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each phase


def grade(course: Path, submissions: Path | None = None, lessons: list[str] | None = None, *,
          assignments: dict[str, str] | None = None, submitted_at: str | None = None,
          bad_timestamps: str = "hold", timeout: float = 60, cell_timeout: float = 120, memory_mb: int = 6144,
          jobs: int | None = None, extra_checks: list[Path] | None = None, progress: bool = True,
          lock_wait_s: float = LOCK_WAIT_S) -> GradeRun:
    """Grade the class; see the module docstring.  Raises :class:`CourseError` for a course
    folder that cannot be used (the command line prints it and exits 2)."""
    if submissions is not None and not Path(submissions).is_dir():
        raise CourseError(f"submissions folder {submissions} does not exist")
    from .catalog import ExtraChecksError, load_extra_checks

    try:  # before anything else: a broken extra check module stops the run with the file's name
        load_extra_checks([Path(p) for p in extra_checks or []])
    except ExtraChecksError as error:
        raise CourseError(str(error)) from None
    catalog = {lesson.number: lesson for lesson in lesson_catalog()}
    mapping = {}
    for number, name in (assignments or {}).items():
        key = str(number).split("_")[0].zfill(2)
        if key not in catalog:
            raise CourseError(f"--assignment {number}={name}: there is no lesson {number}")
        mapping[key] = name
    if submitted_at:
        from .submissions import parse_timestamp

        try:
            parse_timestamp(submitted_at)
        except (ValueError, OverflowError):
            raise CourseError(f"--submitted-at {submitted_at!r} is not a date and time") from None
    course = open_course(Path(course), create=submissions is not None)
    with run_lock(course, lock_wait_s):
        return _grade(course, Path(submissions) if submissions else None, lessons, catalog, mapping,
                      Settings(submitted_at, bad_timestamps, float(timeout), float(cell_timeout), int(memory_mb),
                               jobs or cpu_count(),
                               tuple(str(Path(p).resolve()) for p in extra_checks or []), progress))


def cpu_count() -> int:
    """The CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    submitted_at: str | None
    bad_timestamps: str
    timeout: float
    cell_timeout: float
    memory_mb: int
    jobs: int
    extra_checks: tuple[str, ...]
    progress: bool


def _grade(course: Path, submissions: Path | None, lessons: list[str] | None, catalog: dict[str, LessonInfo],
           mapping: dict[str, str], settings: Settings) -> GradeRun:
    from .gradebook_steps import GradebookSteps

    clock = Clock()
    state = State(course)
    discovery = Discovery(mapping, settings.bad_timestamps, settings.submitted_at)
    if submissions is not None:
        discovery.read_flat(submissions)
    flat = {(h.student, h.assignment) for h in discovery.found.handins}
    discovery.read_collected(course / "submitted", skip=flat)
    found = discovery.found

    graded = sorted({h.lesson.number for h in found.handins})
    if lessons:
        graded = []
        for number in lessons:
            key = str(number).split("_")[0].zfill(2)
            if key not in catalog:
                raise CourseError(f"there is no lesson {number!r}; lessons are {', '.join(catalog)}")
            graded.append(key)
    graded_lessons = [(catalog[n], discovery.assignment_of(catalog[n])) for n in graded]
    handins = [h for h in found.handins if h.lesson.number in graded]
    problems = [p for p in found.problems if p.lesson is None or p.lesson in graded]
    run = GradeRun(course, course / "grades.csv", course / "grades_by_student.csv",
                   course / "autograder" / "report.csv")

    # --- every hand-in where nbgrader expects it, under its assignment's notebook name
    sources = {lesson.number: ensure_source(course, lesson, name, state, problems) for lesson, name in graded_lessons}
    for handin in handins:
        place(course, handin, sources[handin.lesson.number], (handin.student, handin.assignment) in flat, state)

    clock.lap("find and place")
    # --- start the checking service (it imports torch) while nbgrader is imported and releases
    gradable = [h for h in handins if h.readable and not h.held]
    keys = {(h.assignment, h.student): check_key(h.path, h.lesson.number, settings.timeout, settings.cell_timeout,
                                                 settings.memory_mb, settings.extra_checks) for h in gradable}
    runs = {k: saved for k in keys if (saved := saved_run(course, *k, keys[k])) is not None}
    to_check = [h for h in gradable if (h.assignment, h.student) not in runs]
    if to_check:
        prestart([h.lesson.number for h in to_check], hide=[course],
                 extra_checks=[Path(p) for p in settings.extra_checks])
    steps = GradebookSteps(course, state, graded_lessons, sources, handins, found.students, keys, settings)
    if graded_lessons:
        steps.prepare()
        steps.remove_stale()
    clock.lap("nbgrader start and release")
    for key in sorted(runs):  # results saved earlier: into the gradebook while the others are checked
        steps.autograde(key)
    try:
        for key, isolated in _check(course, to_check, settings):
            runs[key] = isolated
            steps.autograde(key)
    finally:
        if to_check:  # this course's checking service is not needed any more
            stop_server(hide=[course], extra_checks=[Path(p) for p in settings.extra_checks])
    clock.lap("checks and nbgrader autograde")
    if graded_lessons:
        steps.finish(clock)
    state.save()

    problems += Discovery.missing(handins, found.students | set(state.get("roster") or []), graded_lessons)
    run.problems = problems
    run.steps = {"checked": len(to_check), "checks reused": len(gradable) - len(to_check), **steps.done}
    run.graded = len(gradable)
    _write_wide_csv(run.grades_csv, run.wide_csv)
    write_report(run.report, handins, runs, problems, steps)
    clock.lap("report")
    run.seconds = clock.laps
    return run


def _check(course: Path, handins: list[Handin], settings: Settings) -> Iterator[tuple[tuple[str, str], Any]]:
    """Check each hand-in in a sandboxed child of the fork server, ``settings.jobs`` at a time;
    yields ((assignment, student), IsolatedRun) as each is done (each is also saved under
    ``autograder/results/``)."""
    if not handins:
        return
    from tqdm import tqdm

    threads = max(1, cpu_count() // settings.jobs)

    def one(h: Handin):
        return grade_submission(course, h.assignment, h.student, h.path, h.lesson.number, settings.timeout,
                                settings.cell_timeout, settings.memory_mb, settings.extra_checks, threads=threads)

    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:  # each thread waits on its own child
        futures = {pool.submit(one, h): h for h in handins}
        for future in tqdm(as_completed(futures), total=len(futures), desc="checking submissions",
                           unit="notebook", disable=not settings.progress):
            h = futures[future]
            yield (h.assignment, h.student), future.result()


class Clock:
    """Wall time of each phase of a run (the benchmark's table says where the time went)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now


# ------------------------------------------------------------------ outputs

def _write_wide_csv(grades_csv: Path, wide_csv: Path) -> None:
    """One row per student, one column per assignment (its score after any late penalty) and a
    total: ready for a spreadsheet or an LMS gradebook import."""
    if not grades_csv.exists():
        return
    rows = list(csv.DictReader(grades_csv.open(encoding="utf-8")))
    assignments = list(dict.fromkeys(r["assignment"] for r in rows))
    students: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = students.setdefault(r["student_id"], {"student_id": r["student_id"], "last_name": r["last_name"],
                                                       "first_name": r["first_name"], "email": r["email"]})
        entry[r["assignment"]] = float(r["score"] or 0)
    tmp = wide_csv.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "last_name", "first_name", "email", *assignments, "total"])
        for student in sorted(students):
            entry = students[student]
            scores = [entry.get(a, 0.0) for a in assignments]
            names = [("" if entry[k] in ("None", None) else entry[k]) for k in ("last_name", "first_name", "email")]
            writer.writerow([student, *names, *(_number(s) for s in scores), _number(sum(scores))])
    tmp.replace(wide_csv)


def _number(value: float) -> str:
    return f"{value:g}"


def write_report(report: Path, handins: list[Handin], runs: dict[tuple[str, str], Any], problems: list[Problem],
                 steps: Any) -> Path:
    """One row per student and exercise with the check's message (what the instructor reads to
    see *why* a score is what it is), then every note and problem."""
    rows: list[list[Any]] = []
    for h in sorted(handins, key=lambda h: (h.assignment, h.student)):
        key = (h.assignment, h.student)
        if not h.readable:
            rows.append([h.assignment, h.student, "", 0, h.lesson.points,
                         f"{h.path.name} is not a readable Jupyter notebook: not graded"])
            continue
        if h.held:
            rows.append([h.assignment, h.student, "", 0, h.lesson.points, f"submission time: {h.time_source}"])
            continue
        time_note = f"submitted at {h.timestamp} (from {h.time_source})" if h.timestamp else \
            f"submission time: {h.time_source}"
        rows.append([h.assignment, h.student, "", "", "", time_note])
        isolated = runs.get(key)
        if isolated is not None:
            for r in isolated.results:
                rows.append([h.assignment, h.student, r.exercise, r.points if r.passed else 0, r.points,
                             "passed" if r.passed else r.message])
            rows += [[h.assignment, h.student, "", "", "", note] for note in isolated.notes]
        rows += [[h.assignment, h.student, "", "", "", note] for note in h.notes]
        rows += [[h.assignment, h.student, "", "", "", note]
                 for note in steps.notes(h.assignment, h.student)]
    for p in problems:
        rows.append([p.assignment, p.student, "", "" if p.score is None else _number(p.score),
                     "" if p.max_score is None else _number(p.max_score), p.message])
    tmp = report.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(REPORT_COLUMNS)
        writer.writerows(rows)
    tmp.replace(report)
    for p in problems:
        if p.message != "no notebook found":
            who = " / ".join(filter(None, [p.student, p.assignment]))
            print(f"warning: {who}: {p.message}", file=sys.stderr)
    return report
