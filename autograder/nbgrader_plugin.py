"""An nbgrader preprocessor that grades with the isolated checker instead of a Jupyter kernel.

nbgrader's own ``Execute`` runs a submission in a kernel where the learner's code can
monkeypatch the checks, silence errors or kill the kernel.  ``IsolatedExecute`` takes its
place in ``Autograde.autograde_preprocessors`` (see the course's ``nbgrader_config.py``): it
runs the submission through :mod:`autograder.isolated` (a fresh, limited, sandboxed process)
and writes what happened back into the notebook, so the rest of nbgrader's pipeline works
unchanged:

* each code cell gets the text it printed and the error it raised (if any);
* each graded test cell gets its ✓ line, or an error output with the check's message, which
  nbgrader's ``SaveAutoGrades`` scores as zero.

Results computed ahead of time by ``python -m autograder grade`` (in parallel) are read from
``<course>/autograder/results/<assignment>/<student>.json`` when they belong to the same
submitted file (same SHA-256); otherwise the check runs here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from .catalog import all_lessons
from .isolated import IsolatedRun, default_hidden, run_isolated
from .notebook import graded_exercise, is_grade_cell, should_run


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def results_path(course: Path, assignment: str, student: str) -> Path:
    return course / "autograder" / "results" / assignment / f"{student}.json"


def lesson_number_for(notebook_name: str) -> str:
    for lesson in all_lessons().values():
        if lesson.notebook == f"{notebook_name}.ipynb":
            return lesson.number
    raise ValueError(f"{notebook_name}.ipynb is not a lesson of this course")


def grade_submission(course: Path, assignment: str, student: str, notebook: Path, timeout: float,
                     cell_timeout: float, memory_mb: int) -> IsolatedRun:
    """Check one submitted notebook (or reuse a saved result for the same file)."""
    target = results_path(course, assignment, student)
    digest = file_digest(notebook)
    if target.exists():
        saved = json.loads(target.read_text(encoding="utf-8"))
        if saved.get("sha256") == digest:
            return IsolatedRun.from_json(saved["run"])
    # The learner's code must see neither the solutions nor the course folder (gradebook).
    run = run_isolated(lesson_number_for(notebook.stem), notebook, timeout, cell_timeout, memory_mb,
                       hide=[*default_hidden(), course], student=student)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"sha256": digest, "run": run.to_json()}), encoding="utf-8")
    tmp.replace(target)  # atomic: a killed run never leaves half a result
    return run


class IsolatedExecute(NbGraderPreprocessor):
    """Grade a submission with :mod:`autograder.isolated` (replaces nbgrader's Execute)."""

    timeout = Float(60.0, help="seconds allowed per exercise check").tag(config=True)
    cell_timeout = Float(120.0, help="seconds allowed per notebook cell").tag(config=True)
    memory_mb = Integer(6144, help="address-space limit of the checking process, in MiB").tag(config=True)
    course_root = Unicode("", help="the course folder (CourseDirectory.root)").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources["nbgrader"]
        course = Path(self.course_root)
        submitted = course / "submitted" / info["student"] / info["assignment"] / f"{info['notebook']}.ipynb"
        run = grade_submission(course, info["assignment"], info["student"], submitted,
                               self.timeout, self.cell_timeout, self.memory_mb)
        write_outputs(nb, run, submitted)
        return nb, resources


def write_outputs(nb: NotebookNode, run: IsolatedRun, submitted: Path) -> None:
    """Put the isolated run's outputs and check results into the sanitized notebook."""
    from .notebook import read_notebook

    results = {r.exercise: r for r in run.results}
    raw_cells = read_notebook(submitted).cells
    by_source: dict[str, list[dict[str, str]]] = {}
    for index, cell in enumerate(raw_cells):
        if index in run.cell_outputs:
            by_source.setdefault(cell.get("source", ""), []).append(run.cell_outputs[index])
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        name = graded_exercise(cell)
        if name is not None or is_grade_cell(cell):
            result = results.get(name)
            if result is None:
                cell.outputs.append(new_output("error", ename="CheckFailure", evalue="unknown graded cell",
                                               traceback=[f"no check named {name!r} in this lesson"]))
            elif result.passed:
                cell.outputs.append(new_output("stream", name="stdout", text=result.line() + "\n"))
            else:
                cell.outputs.append(new_output("error", ename="CheckFailure", evalue=result.message,
                                               traceback=[result.line()]))
        elif should_run(cell) and by_source.get(cell.source):
            record = by_source[cell.source].pop(0)
            if record["output"]:
                cell.outputs.append(new_output("stream", name="stdout", text=record["output"]))
            if record["error"]:
                cell.outputs.append(new_output("error", ename="Error", evalue=record["error"],
                                               traceback=[record["error"]]))
