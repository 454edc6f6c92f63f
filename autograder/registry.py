"""Exercises, lessons and check results: the vocabulary shared by every front end.

A *lesson* is one notebook (``solutions/NN_name.ipynb`` and its generated copy in
``lessons/``).  Each lesson module in this package (``lesson01.py`` ...) creates one
:class:`Lesson` and registers its exercises with :meth:`Lesson.exercise`.  A check is a
plain function that receives the notebook's definitions (a :class:`Namespace`) and raises
:class:`CheckFailure` with a teaching message when something is wrong.

Each exercise has checks in tiers (:data:`TIERS`): practice checks, which ship to students and
hold no answers, and grading checks, which only the instructor's install has.  Mutants
(known-buggy variants of a solution) and alternatives (correct solutions written differently)
are registered as test data; the test suite proves every mutant is caught with its own message
and every alternative passes.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from .examples import StoredExamples


class CheckFailure(AssertionError):
    """A check found a mistake.  The message is shown to the learner as is."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class CellError:
    """An exception raised while a notebook cell ran (kept so checks can explain it)."""

    def __init__(self, cell_number: int, first_line: str, error: BaseException) -> None:
        self.cell_number = cell_number
        self.first_line = first_line
        self.error = error
        tb = traceback.extract_tb(error.__traceback__)
        cell_frames = [f for f in tb if f.filename.startswith("<cell")]
        self.line = cell_frames[-1].lineno if cell_frames else None

    @property
    def stops_run(self) -> bool:
        """exit() / quit() / Ctrl-C in a cell: the notebook stops there, as "Run All" would."""
        return isinstance(self.error, (SystemExit, KeyboardInterrupt))

    def describe(self) -> str:
        where = f"code cell {self.cell_number}" + (f", line {self.line}" if self.line else "")
        return f"{where} (`{self.first_line}`) raised {type(self.error).__name__}: {self.error}"


class Namespace:
    """The definitions of a notebook, with friendly errors for missing names."""

    def __init__(self, values: dict[str, Any], cell_errors: list[CellError] | None = None,
                 source: str = "the notebook") -> None:
        self.values = values
        self.cell_errors = cell_errors or []
        self.source = source

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        if name.startswith("__"):
            raise AttributeError(name)
        message = f"`{name}` is not defined in {self.source}."
        if self.cell_errors:
            message += " A cell failed before it could be defined: " + self.cell_errors[0].describe()
            raise CheckFailure(message, "Fix the error in that cell, then run the notebook again.")
        raise CheckFailure(message, f"Run the cell that defines `{name}` (and keep its name unchanged).")


Check = Callable[[Namespace], None]

#: The tiers of checks, in the order they run.  *practice* checks ship to students and hold no
#: answers; *grading* checks (references, random inputs, library parity) and an instructor's
#: *extra* checks exist only where the grading package is installed.
TIERS = ("practice", "grading", "extra")


@dataclass
class Exercise:
    """One graded exercise: its points, a default hint, and its checks by tier."""

    lesson: "Lesson"
    name: str
    points: int
    hint: str
    practice: list[Check] = field(default_factory=list)
    grading: list[Check] = field(default_factory=list)
    extra: list[Check] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.lesson.number}-{self.name}"

    def checks(self, tiers: tuple[str, ...] = TIERS) -> list[tuple[str, Check]]:
        """The checks of the given tiers, as (tier, check) pairs in running order."""
        return [(tier, check) for tier in TIERS if tier in tiers for check in getattr(self, tier)]


@dataclass
class Mutant:
    """A known-buggy variant of a solution that the checks of ``exercise`` must catch.

    ``source`` is executed on top of the solution's definitions (so it can reuse its
    helpers); the failure message (or hint) must contain ``expect``.
    """

    exercise: str
    description: str
    source: str
    expect: str


@dataclass
class Alternative:
    """A correct solution written differently, which every tier of checks must accept.

    ``source`` is executed on top of the solution's definitions, like a mutant's.
    """

    exercise: str
    description: str
    source: str


@dataclass
class Lesson:
    """A lesson notebook and its exercises, in the order they appear.

    The practice module (``autograder/practice/lessonNN.py``) creates the lesson and registers
    each exercise with its practice check (:meth:`exercise`); the grading module adds grading
    checks (:meth:`grading`); an instructor's private module may add :meth:`extra_check`\ s.
    Test data (``autograder/testdata/lessonNN.py``) registers :meth:`mutant`\ s and
    :meth:`alternative`\ s.
    """

    number: str
    slug: str
    title: str
    exercises: list[Exercise] = field(default_factory=list)
    mutants: list[Mutant] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)

    @property
    def notebook(self) -> str:
        return f"{self.number}_{self.slug}.ipynb"

    @property
    def points(self) -> int:
        return sum(e.points for e in self.exercises)

    @property
    def examples(self) -> "StoredExamples":
        """The stored example outputs its practice checks compare with (loaded on first use)."""
        from .examples import StoredExamples

        if "_examples" not in self.__dict__:
            self.__dict__["_examples"] = StoredExamples(self)
        return self.__dict__["_examples"]

    def exercise(self, name: str, points: int, hint: str = "") -> Callable[[Check], Check]:
        """Decorator: register the exercise ``name`` with ``check`` as its practice check."""

        def register(check: Check) -> Check:
            if any(e.name == name for e in self.exercises):
                raise ValueError(f"lesson {self.number}: duplicate exercise {name!r}")
            self.exercises.append(Exercise(self, name, points, hint, practice=[check]))
            return check

        return register

    def grading(self, name: str) -> Callable[[Check], Check]:
        """Decorator: add ``check`` to the grading checks of the exercise ``name``."""

        def register(check: Check) -> Check:
            self.get(name).grading.append(check)
            return check

        return register

    def extra_check(self, name: str) -> Callable[[Check], Check]:
        """Decorator for an instructor's own hidden check of the exercise ``name``: it runs after the
        course's checks when grading, and the exercise earns its points only if it passes too."""

        def register(check: Check) -> Check:
            self.get(name).extra.append(check)
            return check

        return register

    def mutant(self, exercise: str, description: str, expect: str, source: str) -> None:
        self.mutants.append(Mutant(exercise, description, source, expect))

    def alternative(self, exercise: str, description: str, source: str) -> None:
        self.alternatives.append(Alternative(exercise, description, source))

    def get(self, name: str) -> Exercise:
        for e in self.exercises:
            if e.name == name:
                return e
        known = ", ".join(e.name for e in self.exercises)
        raise KeyError(f"lesson {self.number} has no exercise {name!r} (known: {known})")

    def __iter__(self) -> Iterator[Exercise]:
        return iter(self.exercises)


@dataclass
class Result:
    """The outcome of running one exercise's check."""

    lesson: str
    exercise: str
    points: int
    passed: bool
    message: str = ""
    hint: str = ""

    @property
    def score(self) -> int:
        return self.points if self.passed else 0

    def line(self) -> str:
        """One friendly line (plus message) for notebooks and terminals."""
        unit = "pt" if self.points == 1 else "pts"
        if self.passed:
            return f"✓ {self.exercise} ({self.points} {unit}): passed"
        text = f"✗ {self.exercise} (0/{self.points} {unit}): {self.message}"
        if self.hint:
            text += f"\n  Hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, Any]:
        return dict(lesson=self.lesson, exercise=self.exercise, points=self.points,
                    passed=self.passed, message=self.message, hint=self.hint)
