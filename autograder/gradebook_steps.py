"""nbgrader's steps for one grading run, doing only what changed since the last run.

Each step's inputs are fingerprinted in ``autograder/state.json`` (see :class:`~autograder.course.State`):

* ``generate_assignment`` of an assignment: its source notebook and the instructor's config;
* ``autograde`` of a submission: the submitted file, the saved check result it is scored from,
  its timestamp, the release, and the notes the report gives it;
* ``generate_feedback``: every submission autograded in this run;
* the CSV export: whenever the gradebook changed.

If the gradebook was written by someone else since the last run (a grade changed by hand in the
formgrader, a student added with ``nbgrader db``), the gradebook itself is read to decide what
is missing, and every student's feedback is made again (it shows the hand-made grades).  When
nothing changed, nbgrader is not even imported.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .course import CourseError, State, config_digest, file_digest, fingerprint, sqlite_path, wait_for_gradebook
from .submissions import Handin, LessonInfo


def gradebook_mark(db_path: Path | None) -> list[int] | None:
    """Size and modification time of the SQLite gradebook: has anyone else written to it?"""
    if db_path is None or not db_path.exists():
        return None
    stat = db_path.stat()
    return [stat.st_size, stat.st_mtime_ns]


class GradebookSteps:
    """Plans nbgrader's work for a run, then does it: :meth:`prepare` (release, students) before
    the checks, :meth:`autograde` of each submission as soon as its check is done, and
    :meth:`finish` (feedback, export) at the end."""

    def __init__(self, course: Path, state: State, lessons: list[tuple[LessonInfo, str]], sources: dict[str, str],
                 handins: list[Handin], students: set[str], keys: dict[tuple[str, str], str], settings: Any) -> None:
        self.course, self.state, self.settings = course, state, settings
        self.handins = {(h.assignment, h.student): h for h in handins}
        self.notebook_of = {assignment: sources[lesson.number] for lesson, assignment in lessons}
        self.config_key = config_digest(course)
        self.gradebook_untouched = (state.get("gradebook_mark") is not None and state.get("config") == self.config_key
                                    and state.get("gradebook_mark") == gradebook_mark(course / "gradebook.db"))
        self.releases = {a: fingerprint(file_digest(course / "source" / a / nb), self.config_key)
                         for a, nb in self.notebook_of.items()}
        self.autograde_keys = {k: fingerprint(keys[k], h.timestamp, h.on_time, self.releases[h.assignment], h.notes)
                               for k, h in self.handins.items() if k in keys}
        self.stale = [k for k, h in self.handins.items() if not h.readable or h.held]
        self.students = sorted(students)
        self.done = {"released": 0, "autograded": 0, "feedback": 0, "exported": 0}
        self.autograded: dict[tuple[str, str], bool] = {}
        self.nbgrader: Any = None
        self._plan(known=None)

    # ---------------------------------------------------------------- planning

    def _release_file(self, assignment: str) -> Path:
        return self.course / "release" / assignment / self.notebook_of[assignment]

    def _autograded_file(self, assignment: str, student: str) -> Path:
        return self.course / "autograded" / student / assignment / self.notebook_of[assignment]

    def _plan(self, known: dict[str, set] | None) -> None:
        """What must run; ``known`` is the gradebook's contents when it was read (else the state is trusted)."""
        state = self.state
        self.to_release = [a for a, key in self.releases.items()
                           if state.get("released", a) != key or not self._release_file(a).exists()
                           or (known is not None and a not in known["assignments"])]
        self.to_autograde = sorted(k for k, key in self.autograde_keys.items()
                                   if state.get("autograded", *k, "key") != key or not self._autograded_file(*k).exists()
                                   or (known is not None and k not in known["submissions"]))
        registered = known["students"] if known is not None else set(state.get("roster") or [])
        self.new_students = [s for s in self.students if s not in registered]
        self.to_remove = [k for k in self.stale if (k in known["submissions"] if known is not None
                                                    else state.get("autograded", *k) is not None)]
        csv_path = self.course / "grades.csv"
        self.to_export = not csv_path.exists() or state.get("exported") != state.get("gradebook_mark")

    @property
    def anything_to_do(self) -> bool:
        return not self.gradebook_untouched or bool(self.to_release or self.to_autograde or self.new_students
                                                    or self.to_remove or self.to_export)

    # ---------------------------------------------------------------- doing

    def prepare(self) -> None:
        """Import nbgrader, read the gradebook if someone else wrote to it, release assignments and
        register students (before the checks: this overlaps with the checking service's start)."""
        if not self.anything_to_do:
            return
        from .course import Nbgrader, grading_config

        s = self.settings
        config = grading_config(self.course, s.timeout, s.cell_timeout, s.memory_mb, [Path(p) for p in s.extra_checks])
        self.nbgrader = Nbgrader(config, {str(h.path.parent) for h in self.handins.values() if h.on_time})
        wait_for_gradebook(self.nbgrader.db_url)
        known = self._gradebook_contents()
        if not self.gradebook_untouched:
            self._plan(known)
        for assignment in self.to_release:
            ok, _, error = self.nbgrader.generate_assignment(assignment)
            if not ok:
                raise CourseError(f"nbgrader could not release {assignment}: {error.strip().splitlines()[-1]}")
            self.state.set(self.releases[assignment], "released", assignment)
            self.done["released"] += 1
            self.state.save()
        if self.new_students:
            with self.nbgrader.gradebook() as gb:
                for student in self.new_students:
                    gb.update_or_create_student(student)
        self.state.set(sorted(set(self.state.get("roster") or []) | set(self.students) | known["students"]), "roster")

    def remove_stale(self) -> None:
        """Unreadable now, or held back: no stale grade stays in the gradebook."""
        if self.nbgrader is None:
            return
        wait_for_gradebook(self.nbgrader.db_url)
        for assignment, student in self.to_remove:
            with self.nbgrader.gradebook() as gb:
                try:
                    gb.remove_submission(assignment, student)
                except Exception:  # nbgrader's MissingEntry: there was none
                    pass
            shutil.rmtree(self.course / "feedback" / student / assignment, ignore_errors=True)
            self.state.set(None, "autograded", assignment, student)

    def autograde(self, key: tuple[str, str]) -> None:
        """nbgrader's autograde of one submission, if it changed (called as soon as its check is
        done, while the others are still being checked; one at a time: the gradebook's only writer)."""
        if self.nbgrader is None or key not in self.to_autograde or key in self.autograded:
            return
        from . import nbgrader_plugin

        nbgrader_plugin.FEEDBACK_NOTES[key] = list(self.handins[key].notes)
        ok, warnings, error = self.nbgrader.autograde(*key)
        notes = list(dict.fromkeys(note for note in map(nbgrader_plugin.explain_nbgrader, warnings) if note))
        if not ok:
            notes.append("nbgrader could not autograde this submission: "
                         + (error.strip().splitlines() or ["(no message)"])[-1])
        self.autograded[key] = ok
        self.state.set({"key": self.autograde_keys[key] if ok else None, "notes": notes}, "autograded", *key)
        self.done["autograded"] += 1
        self.state.save()

    def finish(self, clock: Any = None) -> None:
        """Autograde whatever is left, make the feedback of what was autograded, export the CSV."""
        if self.nbgrader is None:
            return
        for key in self.to_autograde:  # normally done already, as each check finished
            self.autograde(key)
        feedback = {k for k, ok in self.autograded.items() if ok}
        if not self.gradebook_untouched:  # grades may have been changed by hand: refresh every feedback
            feedback |= {k for k in self.autograde_keys if self._autograded_file(*k).exists()}
        for assignment in sorted({a for a, _ in feedback}):
            students = sorted(s for a, s in feedback if a == assignment)
            self.nbgrader.generate_feedback(assignment, students, jobs=self.settings.jobs)
            self.done["feedback"] += len(students)
        if clock:
            clock.lap("nbgrader feedback")
        self.nbgrader.export_csv(self.course / "grades.csv")
        self.done["exported"] = 1
        mark = gradebook_mark(sqlite_path(self.nbgrader.db_url))
        self.state.set(mark, "gradebook_mark")
        self.state.set(mark, "exported")
        self.state.set(self.config_key, "config")
        self.state.save()

    def notes(self, assignment: str, student: str) -> list[str]:
        """What nbgrader said when it last autograded this submission."""
        return self.state.get("autograded", assignment, student, "notes") or []

    def _gradebook_contents(self) -> dict[str, set]:
        from nbgrader.api import Assignment, Student, SubmittedAssignment

        with self.nbgrader.gradebook() as gb:
            return {"students": {s.id for s in gb.db.query(Student).all()},
                    "assignments": {a.name for a in gb.db.query(Assignment).all()},
                    "submissions": {(s.assignment.name, s.student.id) for s in gb.db.query(SubmittedAssignment).all()}}
