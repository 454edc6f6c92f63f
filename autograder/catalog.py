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

import hashlib
import importlib
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

from .registry import Lesson

#: The package's folders that never reach students: grading checks, reference implementations,
#: test data (mutants, alternatives) and the test suite.  The student kit leaves them out, and a
#: notebook being graded cannot import them.
INSTRUCTOR_PACKAGES = ("grading", "reference", "testdata", "tests")

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


class ExtraChecksError(Exception):
    """An instructor's extra check module cannot be used (the message names the file)."""


def load_extra_checks(folders: list[Path]) -> list[Path]:
    """Import an instructor's own check modules: every ``*.py`` of each folder, in name order.

    Each module registers checks the way the course's modules do, on the lessons it gets with
    :func:`get_lesson`, e.g. ``@get_lesson("05").extra_check("softmax")``.  A module is imported
    once per process.  Raises :class:`ExtraChecksError` naming the file for a module that fails to
    import or names an exercise that does not exist; returns the modules' paths.
    """
    paths = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise ExtraChecksError(f"--extra-checks {folder}: no such folder")
        modules = sorted(folder.glob("*.py"))
        if not modules:
            raise ExtraChecksError(f"--extra-checks {folder}: the folder holds no *.py check module")
        for path in modules:
            name = "autograder_extra_checks._" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
            paths.append(path)
            if name in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except KeyError as error:  # Lesson.get / lesson_key: an exercise or lesson that does not exist
                del sys.modules[name]
                raise ExtraChecksError(f"{path}: {error.args[0] if error.args else error}") from None
            except Exception as error:
                del sys.modules[name]
                raise ExtraChecksError(f"{path} could not be imported: {type(error).__name__}: {error}") from None
    return paths
