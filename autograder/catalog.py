"""The list of lessons, in course order, and where their notebooks live."""

from __future__ import annotations

import importlib
from pathlib import Path

from .registry import Lesson

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
LESSONS_DIR = REPO_ROOT / "lessons"
DATASETS_DIR = REPO_ROOT / "datasets"

# One check module per lesson (lesson01.py, lesson02.py, ...), in course order.
LESSON_MODULES = tuple(sorted(p.stem for p in Path(__file__).parent.glob("lesson[0-9][0-9].py")))


def all_lessons() -> dict[str, Lesson]:
    """Every lesson, keyed by its two-digit number ("01")."""
    lessons = {}
    for name in LESSON_MODULES:
        lesson = importlib.import_module(f"autograder.{name}").lesson
        lessons[lesson.number] = lesson
    return lessons


def get_lesson(number: str) -> Lesson:
    """Look a lesson up by number: "1", "01" and "01_tokenization" all work.

    Imports only that lesson's check module (grading one notebook need not import them all).
    """
    key = str(number).split("_")[0].zfill(2)
    if f"lesson{key}" not in LESSON_MODULES:
        known = ", ".join(m.removeprefix("lesson") for m in LESSON_MODULES)
        raise KeyError(f"no lesson {number!r}; lessons are {known}")
    return importlib.import_module(f"autograder.lesson{key}").lesson
