"""Saved check results of a class: ``<course>/autograder/results/<assignment>/<student>.json``.

A result is reused only if it was made from the same submitted file, for the same lesson, by
the same checks (the grader's code and the instructor's extra checks) with the same limits:
:func:`check_key` is the digest of all of that.  Results are written atomically, so a run
killed at any moment leaves either a whole result or none.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from .course import file_digest
from .isolated import IsolatedRun, run_isolated

PACKAGE_DIR = Path(__file__).resolve().parent

def results_path(course: Path, assignment: str, student: str) -> Path:
    return course / "autograder" / "results" / assignment / f"{student}.json"


@lru_cache(maxsize=8)
def checks_digest(extra_checks: tuple[str, ...] = ()) -> str:
    """A digest of the grader's code and the instructor's extra checks: saved results are
    reused only if the checks that made them are the same."""
    digest = hashlib.sha256()
    files = sorted(p for p in PACKAGE_DIR.rglob("*.py") if "tests" not in p.relative_to(PACKAGE_DIR).parts)
    files += sorted(p for folder in extra_checks for p in Path(folder).glob("*.py"))
    for path in files:
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def check_key(notebook: Path, lesson: str, timeout: float, cell_timeout: float, memory_mb: int,
              extra_checks: tuple[str, ...] = ()) -> str:
    """What a saved result depends on: the submitted file, the lesson, the checks and the limits."""
    parts = [file_digest(notebook), lesson, checks_digest(tuple(extra_checks)), float(timeout),
             float(cell_timeout), int(memory_mb)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def saved_run(course: Path, assignment: str, student: str, key: str) -> IsolatedRun | None:
    target = results_path(course, assignment, student)
    try:
        saved = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return IsolatedRun.from_json(saved["run"]) if saved.get("key") == key else None


def grade_submission(course: Path, assignment: str, student: str, notebook: Path, lesson: str, timeout: float,
                     cell_timeout: float, memory_mb: int, extra_checks: tuple[str, ...] = (),
                     threads: int | None = None) -> IsolatedRun:
    """Check one submitted notebook (or reuse the saved result for the same file and checks)."""
    key = check_key(notebook, lesson, timeout, cell_timeout, memory_mb, extra_checks)
    run = saved_run(course, assignment, student, key)
    if run is not None:
        return run
    # The learner's code must see neither the solutions nor the course folder (gradebook).
    run = run_isolated(lesson, notebook, timeout, cell_timeout, memory_mb, hide=[course], student=student,
                       extra_checks=[Path(p) for p in extra_checks], threads=threads)
    target = results_path(course, assignment, student)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "notebook": notebook.name, "lesson": lesson, "run": run.to_json()}),
                   encoding="utf-8")
    tmp.replace(target)  # atomic: a killed run never leaves half a result
    return run
