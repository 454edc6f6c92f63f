"""Generate the student notebooks in ``lessons/`` from ``solutions/`` with nbgrader's machinery.

The preprocessors are the ones ``nbgrader generate_assignment`` runs (minus the gradebook
steps), so a lesson here is exactly what an instructor's nbgrader release hands out:
solutions replaced by ``raise NotImplementedError()`` stubs, hidden tests and outputs
removed, graded cells locked and checksummed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)
from traitlets.config import Config

from .catalog import LESSONS_DIR, SOLUTIONS_DIR, all_lessons

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def release_notebook(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of one solution notebook."""
    config = Config()
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    nb = nbformat.from_dict(source)  # a deep copy: never modify the caller's notebook
    resources: dict = {}
    for step in (LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
                 ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata):
        nb, resources = step(config=config).preprocess(nb, resources)
    return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """Serialise a notebook the way it is stored in git (stable, newline-terminated)."""
    return nbformat.writes(nb) + "\n"


def released_text(solution_path: Path) -> str:
    return notebook_text(release_notebook(nbformat.read(str(solution_path), as_version=4)))


def release_all(out_dir: Path = LESSONS_DIR, solutions_dir: Path = SOLUTIONS_DIR,
                numbers: list[str] | None = None) -> list[Path]:
    """Regenerate the lesson notebooks (all, or the given lesson numbers); returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson in all_lessons().values():
        if numbers and lesson.number not in {n.zfill(2) for n in numbers}:
            continue
        target = out_dir / lesson.notebook
        target.write_text(released_text(solutions_dir / lesson.notebook), encoding="utf-8")
        written.append(target)
    return written
