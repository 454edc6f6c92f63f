"""The list of lessons, in course order, where their notebooks live, and which tiers of checks
are installed.

Each lesson's checks live in up to three modules, one per folder, and the folder says who gets it:

* ``autograder/practice/lessonNN.py`` creates the :class:`~autograder.registry.Lesson` and its
  practice checks (they ship to students in the kit and hold no answers);
* ``autograder/grading/lessonNN.py`` adds the grading checks (references, random inputs,
  library parity; never shipped);
* ``autograder/testdata/lessonNN.py`` registers the mutants and alternatives the test suite
  runs (never shipped).

In this repository both tiers are installed, so every front end runs both; in a student kit
the ``grading`` package is absent and the practice checks run alone.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

from .registry import Lesson

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
# In this repository the notebooks and data sit beside the package; in a student kit (the package
# installed from its wheel) the lessons are the ./lessons folder the student works in, and the data
# ships inside the package.
IN_REPOSITORY = (REPO_ROOT / "solutions").is_dir() and (REPO_ROOT / "lessons").is_dir()
LESSONS_DIR = REPO_ROOT / "lessons" if IN_REPOSITORY else Path("lessons").resolve()
DATASETS_DIR = REPO_ROOT / "datasets" if IN_REPOSITORY else PACKAGE_DIR / "datasets"

# One practice module per lesson (practice/lesson01.py, ...), in course order.
LESSON_MODULES = tuple(sorted(p.stem for p in (PACKAGE_DIR / "practice").glob("lesson[0-9][0-9].py")))


@lru_cache(maxsize=1)
def grading_installed() -> bool:
    """True where the grading tier is installed (this repository), False in a student kit (whose
    ``autograder.grading`` only raises an ImportError that says why)."""
    try:
        importlib.import_module("autograder.grading")
    except ImportError:
        return False
    return True


def all_lessons() -> dict[str, Lesson]:
    """Every lesson, keyed by its two-digit number ("01")."""
    return {lesson.number: lesson for lesson in (get_lesson(m.removeprefix("lesson")) for m in LESSON_MODULES)}


def lesson_key(number: str) -> str:
    """"1", "01" and "01_tokenization" all name lesson "01"."""
    key = str(number).split("_")[0].zfill(2)
    if f"lesson{key}" not in LESSON_MODULES:
        known = ", ".join(m.removeprefix("lesson") for m in LESSON_MODULES)
        raise KeyError(f"no lesson {number!r}; lessons are {known}")
    return key


def get_lesson(number: str) -> Lesson:
    """Look a lesson up by number, with every installed tier of its checks registered.

    Imports only that lesson's modules (grading one notebook need not import them all).
    """
    key = lesson_key(number)
    lesson = importlib.import_module(f"autograder.practice.lesson{key}").lesson
    if grading_installed() and (PACKAGE_DIR / "grading" / f"lesson{key}.py").exists():
        importlib.import_module(f"autograder.grading.lesson{key}")
    return lesson


def get_testdata(number: str) -> Lesson:
    """The lesson with its mutants and alternatives registered (repository only)."""
    key = lesson_key(number)
    lesson = get_lesson(key)
    importlib.import_module(f"autograder.testdata.lesson{key}")
    return lesson
