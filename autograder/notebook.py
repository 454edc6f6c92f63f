"""Run a lesson notebook's code without a Jupyter kernel.

Code cells run in order in one namespace, exactly as "Run All" would, except:

* cells tagged ``skip-execution`` (training, plots, widgets) are skipped;
* graded test cells (nbgrader ``grade: true``) are skipped: the caller runs the checks;
* IPython magics (``%matplotlib inline``, ``!pip ...``) are dropped.

A cell that raises does not stop the run: the error is recorded (see
:class:`~autograder.registry.CellError`) so checks can name the cell that failed, and the
following cells still run.  :func:`load_notebook` is what pytest uses;
:mod:`autograder.isolated` uses :func:`run_cell` in a separate process for grading.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import os
import re
import sys
import types
from pathlib import Path
from typing import Any

import nbformat

from .registry import CellError, Namespace

SKIP_TAGS = frozenset({"skip-execution"})
CHECK_CALL = re.compile(r'check\(\s*["\'](\d+)["\']\s*,\s*["\'](\w+)["\']')
MAX_OUTPUT_CHARS = 20_000


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook as nbformat 4, with a clear error for files that are not notebooks."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises several unrelated types
        raise ValueError(f"{Path(path).name} is not a readable Jupyter notebook "
                         f"({type(error).__name__}: {str(error)[:200]})") from error


def is_grade_cell(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def graded_exercise(cell: Any) -> str | None:
    """The exercise a graded test cell checks (from its grade_id, else from its source)."""
    if not is_grade_cell(cell):
        return None
    grade_id = cell.metadata.nbgrader.get("grade_id", "")
    if grade_id.startswith("check_"):
        return grade_id.removeprefix("check_")
    match = CHECK_CALL.search(cell.get("source", ""))
    return match.group(2) if match else None


def should_run(cell: Any) -> bool:
    tags = set(cell.get("metadata", {}).get("tags", []))
    return cell.cell_type == "code" and not tags & SKIP_TAGS and not is_grade_cell(cell)


def python_source(source: str) -> str:
    """Drop IPython-only lines (magics and shell escapes), keep line numbers."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def new_namespace(path: Path) -> dict[str, Any]:
    """A fresh module namespace for a notebook, registered in sys.modules (as a real module
    is) so that @dataclass and pickling work on the classes it defines."""
    module = types.ModuleType(f"notebook_{path.stem}")
    module.__file__ = str(path)
    module.__dict__["__builtins__"] = __builtins__
    sys.modules[module.__name__] = module
    return module.__dict__


class CappedOutput(io.StringIO):
    """Keeps the first MAX_OUTPUT_CHARS characters written and counts the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def write(self, text: str) -> int:
        room = MAX_OUTPUT_CHARS - self.tell()
        if room > 0:
            super().write(text[:room])
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        value = self.getvalue()
        if self.dropped:
            value += f"\n... [{self.dropped:,} more characters of output not shown]\n"
        return value


def run_cell(cell: Any, number: int, namespace: dict[str, Any],
             timeout: float = 0) -> tuple[str, CellError | None]:
    """Execute one code cell; returns (captured output, error or None)."""
    from .runner import ExerciseTimeout, time_limit

    first_line = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")[:60]
    sink = CappedOutput()
    filename = f"<cell {number}>"
    source = python_source(cell.source)
    # Register the source so tracebacks can quote the learner's line.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    try:
        code = compile(source, filename, "exec")
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), time_limit(timeout):
            exec(code, namespace)
    except ExerciseTimeout:
        error = TimeoutError(f"the cell did not finish within {timeout:g} s (an infinite loop?)")
        return sink.text(), CellError(number, first_line, error)
    except BaseException as error:  # a learner's cell may raise anything, even SystemExit
        return sink.text(), CellError(number, first_line, error)
    return sink.text(), None


def load_notebook(path: str | Path) -> Namespace:
    """Execute the notebook's code cells into a new module and return its namespace."""
    path = Path(path)
    nb = read_notebook(path)
    os.environ.setdefault("MPLBACKEND", "Agg")  # never open windows while checking
    namespace = new_namespace(path)
    errors: list[CellError] = []
    code_number = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_number += 1
        if should_run(cell):
            _, error = run_cell(cell, code_number, namespace)
            if error:
                errors.append(error)
                if error.stops_run:  # exit(): the rest of the notebook never runs
                    break
    sys.modules.pop(f"notebook_{path.stem}", None)
    return Namespace(namespace, errors, source=path.name)
