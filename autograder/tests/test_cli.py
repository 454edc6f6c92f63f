"""The self-learner's command line: tables, exit codes, and no success that was not earned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.notebook import is_grade_cell

from autograder.catalog import REPO_ROOT, SOLUTIONS_DIR

SOLUTION_01 = SOLUTIONS_DIR / "01_tokenization.ipynb"
SOLUTION_02 = SOLUTIONS_DIR / "02_hashmaps.ipynb"  # quick to check: used where any lesson will do


def autograder(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)


def test_check_passes_on_the_solution() -> None:
    proc = autograder("check", "01", "--notebook", str(SOLUTION_01))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "score: 15/15 points" in proc.stdout and "✗" not in proc.stdout


def test_check_fails_on_the_stub_with_a_table() -> None:
    proc = autograder("check", "1")  # lessons/01_tokenization.ipynb by default
    assert proc.returncode == 1
    assert proc.stdout.count("not implemented yet") == 10
    assert "score: 0/15 points" in proc.stdout


def _with_cell(tmp_path: Path, source: str, name: str) -> Path:
    nb = nbformat.read(str(SOLUTION_02), as_version=4)
    first_check = next(i for i, c in enumerate(nb.cells) if is_grade_cell(c))
    nb.cells.insert(first_check, nbformat.v4.new_code_cell(source))
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("exit_code", ["import os; os._exit(0)", "raise SystemExit(0)", "import sys; sys.exit()"])
def test_a_notebook_that_exits_never_passes(tmp_path: Path, exit_code: str) -> None:
    path = _with_cell(tmp_path, exit_code, "exits.ipynb")
    proc = autograder("check", "02", "--notebook", str(path))
    assert proc.returncode == 1, proc.stdout  # never success, whatever the exit code
    assert proc.stdout.count("not checked") == 7, proc.stdout  # the notebook stopped before any check


def test_exit_inside_a_graded_function_is_not_a_pass(tmp_path: Path) -> None:
    nb = nbformat.read(str(SOLUTION_02), as_version=4)
    last = max(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells.insert(last + 1, nbformat.v4.new_code_cell(
        "_real_decode = CharTokenizer.decode\n"
        "def _exit_decode(self, ids):\n    import os; os._exit(0)\n"
        "CharTokenizer.decode = _exit_decode"))
    path = tmp_path / "late.ipynb"
    nbformat.write(nb, str(path))
    proc = autograder("check", "02", "--notebook", str(path))
    assert proc.returncode == 1
    assert "not checked: the checking process ended (exit code 0)" in proc.stdout


def test_progress_table_over_all_lessons(tmp_path: Path) -> None:
    (tmp_path / SOLUTION_01.name).write_bytes(SOLUTION_01.read_bytes())  # only lesson 01 done
    proc = autograder("--dir", str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "15/15" in proc.stdout and "missing" in proc.stdout and "total: 15/" in proc.stdout


def test_release_check_reports_no_drift() -> None:
    proc = autograder("release", "--check")
    assert proc.returncode == 0, proc.stdout


def test_check_prints_the_whole_message_and_hint(tmp_path: Path) -> None:
    """Issue 12's example: a LayerNorm with eps outside the sqrt. The terminal shows the complete
    message and the complete hint (nothing cut to a line), wrapped to the terminal's width."""
    from autograder.catalog import get_testdata
    from autograder.runner import run_exercise

    from .conftest import load_lesson, with_source

    lesson = get_testdata("07")
    mutant = next(m for m in lesson.mutants if m.description == "eps outside the sqrt")
    expected = run_exercise(lesson.get(mutant.exercise),
                            with_source(load_lesson(SOLUTIONS_DIR, "07"), mutant.source, "eps outside"))
    assert expected.message and expected.hint
    nb = nbformat.read(str(SOLUTIONS_DIR / lesson.notebook), as_version=4)
    check = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "check_LayerNorm")
    nb.cells.insert(check, nbformat.v4.new_code_cell(mutant.source))  # after the learner's LayerNorm cell
    path = tmp_path / "eps.ipynb"
    nbformat.write(nb, str(path))
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", "07", "--notebook", str(path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "72"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    flat = " ".join(proc.stdout.split())
    for part in (expected.message, expected.hint):
        assert " ".join(part.split()) in flat, f"not shown in full: {part!r}\n{proc.stdout}"
    assert mutant.expect in flat
    below_the_title = proc.stdout.splitlines()[1:]  # the title names the notebook's path, unwrapped
    assert max(map(len, below_the_title)) <= 72, "wrapped to the terminal's width"
