"""Load a lesson notebook's definitions into a fresh module, without a Jupyter kernel.

Code cells run in order in one namespace, exactly as "Run All" would, except:

* cells tagged ``skip-execution`` (training, plots, widgets) are skipped;
* graded test cells (nbgrader ``grade: true``) are skipped: the caller runs the checks;
* IPython magics (``%matplotlib inline``, ``!pip ...``) are dropped.

A cell that raises does not stop the load: the error is recorded (see
:class:`~autograder.registry.CellError`) so checks can name the cell that failed, and the
following cells still run.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import types
from pathlib import Path
from typing import Any

import nbformat

from .registry import CellError, Namespace

SKIP_TAGS = frozenset({"skip-execution"})


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook as nbformat 4, with a clear error for files that are not notebooks."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises several unrelated types
        raise ValueError(f"{path} is not a readable Jupyter notebook ({type(error).__name__}: {error})") from error


def is_grade_cell(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def python_source(source: str) -> str:
    """Drop IPython-only lines (magics and shell escapes), keep line numbers."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, Any]]:
    """The code cells numbered from 1, as a learner counts them in the notebook."""
    cells = [c for c in nb.cells if c.cell_type == "code"]
    return list(enumerate(cells, start=1))


def load_notebook(path: str | Path, quiet: bool = True) -> Namespace:
    """Execute the notebook's code cells into a new module and return its namespace."""
    path = Path(path)
    nb = read_notebook(path)
    module = types.ModuleType(f"notebook_{path.stem}")
    module.__file__ = str(path)
    module.__dict__["__builtins__"] = __builtins__
    os.environ.setdefault("MPLBACKEND", "Agg")  # never open windows while grading
    errors: list[CellError] = []
    for number, cell in code_cells(nb):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & SKIP_TAGS or is_grade_cell(cell):
            continue
        source = python_source(cell.source)
        first_line = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")[:60]
        sink = io.StringIO()
        try:
            code = compile(source, f"<cell {number}>", "exec")
            with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
                exec(code, module.__dict__)
        except BaseException as error:  # a learner's cell may raise anything, even SystemExit
            errors.append(CellError(number, first_line, error))
    sys.modules.pop(module.__name__, None)
    return Namespace(module.__dict__, errors, source=path.name)
