"""Shared fixtures and the `--lessons` switch.

* `pytest` checks the complete notebooks in solutions/ (and runs the repo's own tests).
* `pytest --lessons` runs only the graded exercise checks, on the learner's lessons/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, get_lesson
from autograder.notebook import load_notebook
from autograder.registry import Namespace


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("course")
    group.addoption("--lessons", action="store_true",
                    help="check your own notebooks in lessons/ instead of solutions/ (graded checks only)")
    group.addoption("--notebook-dir", type=Path, default=None,
                    help="check the notebooks in this folder instead")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--lessons") or config.getoption("--notebook-dir"):
        keep = [item for item in items if item.get_closest_marker("graded")]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    return f"course notebooks: {notebook_dir(config)}"


def notebook_dir(config: pytest.Config) -> Path:
    if config.getoption("--notebook-dir"):
        return config.getoption("--notebook-dir")
    return LESSONS_DIR if config.getoption("--lessons") else SOLUTIONS_DIR


_loaded: dict[tuple[Path, str], Namespace] = {}


def load_lesson(directory: Path, number: str) -> Namespace:
    """Load (once per session) the notebook of a lesson from a folder."""
    key = (directory, number)
    if key not in _loaded:
        _loaded[key] = load_notebook(directory / get_lesson(number).notebook)
    return _loaded[key]


def with_source(namespace: Namespace, source: str, label: str) -> Namespace:
    """A copy of ``namespace`` with ``source`` executed on top (a mutant or an alternative)."""
    values = dict(namespace.values)
    exec(compile(source, f"<{label}>", "exec"), values)
    return Namespace(values, source=label)


#: lesson -> (mutants caught by the practice tier alone, mutants), filled in by test_practice.py
PRACTICE_SHARE: dict[str, tuple[int, int]] = {}


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not PRACTICE_SHARE:
        return
    terminalreporter.section("mutants caught by the practice tier alone")
    caught = total = 0
    for number, (got, of) in sorted(PRACTICE_SHARE.items()):
        caught, total = caught + got, total + of
        terminalreporter.write_line(f"lesson {number}: {got:>3}/{of:<3} {100 * got / max(of, 1):5.1f} %")
    terminalreporter.write_line(f"all:       {caught:>3}/{total:<3} {100 * caught / max(total, 1):5.1f} %")


@pytest.fixture
def course_notebooks(request: pytest.FixtureRequest) -> Path:
    return notebook_dir(request.config)
