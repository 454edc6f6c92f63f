"""An nbgrader preprocessor that grades with the isolated checker instead of a Jupyter kernel.

nbgrader's own ``Execute`` runs a submission in a kernel where the learner's code can
monkeypatch the checks, silence errors or kill the kernel.  ``IsolatedExecute`` takes its
place in ``Autograde.autograde_preprocessors`` (``python -m autograder grade`` puts it there
for its own runs, see :func:`autograder.course.grading_config`): it runs the submission through
:mod:`autograder.isolated` (a fresh, limited, sandboxed process) and writes what happened back
into the notebook, so the rest of nbgrader's pipeline works unchanged:

* each code cell gets the text it printed and the error it raised (if any);
* each graded test cell gets its ✓ line, or an error output with the check's message, which
  nbgrader's ``SaveAutoGrades`` scores as zero;
* a note at the top of the notebook lists what the grader and nbgrader noticed (edited or
  deleted test cells put back, a renamed file, patched library functions undone), so the
  student's feedback says it too.

Results computed ahead of time by ``grade`` (in parallel) are read from
``<course>/autograder/results/<assignment>/<student>.json`` when they belong to the same
submitted file and the same checks (see :func:`autograder.saved_results.check_key`); otherwise
the check runs here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, List, Unicode

from .isolated import IsolatedRun
from .notebook import graded_exercise, is_grade_cell, should_run
from .saved_results import grade_submission
#: Notes for the feedback of one submission, keyed by (assignment, student): set by ``grade``
#: before nbgrader autogrades it (nbgrader's own warnings, a renamed file, ...).
FEEDBACK_NOTES: dict[tuple[str, str], list[str]] = {}
#: What nbgrader has logged (warnings) so far in the step now running; set by
#: :class:`autograder.course.Nbgrader` so that the feedback can say what nbgrader put back.
NBGRADER_LOG: list[str] = []
NOTE_MARK = "autograder-notes"


def lesson_of(notebook: NotebookNode | dict) -> str | None:
    """The lesson a notebook belongs to, from its graded cells (``None`` if it has none we know)."""
    from .submissions import lesson_catalog, match_cells

    lesson = match_cells(notebook.get("cells", []), lesson_catalog())
    return lesson.number if lesson else None


class IsolatedExecute(NbGraderPreprocessor):
    """Grade a submission with :mod:`autograder.isolated` (replaces nbgrader's Execute)."""

    timeout = Float(60.0, help="seconds allowed per exercise check").tag(config=True)
    cell_timeout = Float(120.0, help="seconds allowed per notebook cell").tag(config=True)
    memory_mb = Integer(6144, help="address-space limit of the checking process, in MiB").tag(config=True)
    course_root = Unicode("", help="the course folder (CourseDirectory.root)").tag(config=True)
    extra_checks = List(Unicode(), help="folders of the instructor's own check modules").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources["nbgrader"]
        course = Path(self.course_root)
        submitted = course / "submitted" / info["student"] / info["assignment"] / f"{info['notebook']}.ipynb"
        lesson = lesson_of(nb)
        if lesson is None:
            raise ValueError(f"{submitted.name} is not a notebook of any lesson of this course")
        run = grade_submission(course, info["assignment"], info["student"], submitted, lesson, self.timeout,
                               self.cell_timeout, self.memory_mb, tuple(self.extra_checks))
        write_outputs(nb, run, submitted)
        said = [note for note in map(explain_nbgrader, NBGRADER_LOG) if note]
        notes = FEEDBACK_NOTES.get((info["assignment"], info["student"]), []) + said + run.notes
        add_notes_cell(nb, notes)
        return nb, resources


# Said by nbgrader on every run, or already in the report in other words (every notebook of an
# assignment folder that is not graded is reported by `grade` itself, by name).
NBGRADER_NOISE = ("Removing existing", "Updating existing", "Removing failed", "No nbgrader_config.py",
                  "Skipping unknown notebook")


def explain_nbgrader(message: str) -> str | None:
    """One of nbgrader's warnings in words for the report and the student's feedback."""
    if message.startswith(NBGRADER_NOISE):
        return None
    changed = re.match(r"Attribute '(\w+)' for cell (\S+) has changed! \(should be: (.*), got: (.*)\)$", message, re.S)
    if changed:
        attribute, cell, should, got = changed.groups()
        if attribute == "checksum":
            return f"nbgrader: the locked cell {cell} had been edited; nbgrader put the original back"
        return f"nbgrader: the {attribute} of cell {cell} had been changed ({got}, should be {should}); nbgrader put it back"
    missing = re.match(r"Missing grade cell (\S+) encountered, adding to notebook", message)
    if missing:
        return f"nbgrader: the graded cell {missing.group(1)} had been deleted; nbgrader added it back"
    late = re.match(r".* is ([0-9.]+) seconds late$", message)
    if late:
        seconds = float(late.group(1))
        return f"nbgrader: handed in {seconds / 3600:.1f} hours after the due date"
    penalty = re.match(r"Late submission penalty: ([0-9.]+)$", message)
    if penalty:
        return f"nbgrader: late penalty of {float(penalty.group(1)):g} points (the course's late-submission rule)"
    unknown = re.match(r"Cell '(\S+)' does not exist in the database", message)
    if unknown:
        return f"nbgrader: cell {unknown.group(1)} is no cell of this assignment; it is not graded"
    return "nbgrader: " + message.strip().splitlines()[0][:300]



class _EditedPage:
    """Stands in for BeautifulSoup inside nbconvert's ``HTMLExporter.from_notebook_node``, which
    parses the whole rendered page only to give images without ``alt`` a default text and cells
    a ``tabindex``: here both edits are made on the text (parsing was half of the feedback time)."""

    NO_ALT = re.compile(r"<img(?![^>]*\salt=)(?=[\s/>])", re.IGNORECASE)
    FOCUSABLE = re.compile(r'(<div class="[^"]*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b[^"]*")')

    def __init__(self, html: str, features: str | None = None) -> None:
        html = self.NO_ALT.sub('<img alt="No description has been provided for this image"', html)
        if "jp-Notebook" in html:
            html = self.FOCUSABLE.sub(r'\1 tabindex="0"', html)
        self.html = html

    def select(self, selector: str) -> list:
        return []  # the edits are made already

    def __str__(self) -> str:
        return self.html


def feedback_exporter():
    """nbconvert's HTMLExporter (what ``generate_feedback`` uses), with :class:`_EditedPage`."""
    import nbconvert.exporters.html as html_module
    from nbconvert.exporters import HTMLExporter

    class FeedbackExporter(HTMLExporter):
        def from_notebook_node(self, nb: NotebookNode, resources: dict | None = None, **kw: Any):
            soup, html_module.BeautifulSoup = html_module.BeautifulSoup, _EditedPage
            try:
                return super().from_notebook_node(nb, resources, **kw)
            finally:
                html_module.BeautifulSoup = soup

    return FeedbackExporter


def add_notes_cell(nb: NotebookNode, notes: list[str]) -> None:
    """Put a short "notes from the grader" cell at the top of the notebook (none if no notes)."""
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("tags") != [NOTE_MARK]]
    if notes:
        text = "**Notes from the grader**\n\n" + "\n".join(f"* {note}" for note in dict.fromkeys(notes))
        nb.cells.insert(0, new_markdown_cell(text, metadata={"tags": [NOTE_MARK]}))


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
