"""Exercises, lessons and check results: the vocabulary shared by every front end.

A *lesson* is one notebook (``solutions/NN_name.ipynb`` and its generated copy in
``lessons/``).  Each lesson module in this package (``lesson01.py`` ...) creates one
:class:`Lesson` and registers its exercises with :meth:`Lesson.exercise`.  A check is a
plain function that receives the notebook's definitions (a :class:`Namespace`) and raises
:class:`CheckFailure` with a teaching message when something is wrong.

Mutants (known-buggy variants of a solution) are registered next to the checks with
:meth:`Lesson.mutant`; the test suite proves every one of them is caught with its own
message.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator


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


@dataclass
class Exercise:
    """One graded exercise: a check function worth some points."""

    lesson: "Lesson"
    name: str
    points: int
    check: Check
    hint: str

    @property
    def id(self) -> str:
        return f"{self.lesson.number}-{self.name}"


@dataclass
class Mutant:
    """A known-buggy variant of a solution that the check of ``exercise`` must catch.

    ``source`` is executed on top of the solution's definitions (so it can reuse its
    helpers); the failure message must contain ``expect``.
    """

    exercise: str
    description: str
    source: str
    expect: str


@dataclass
class Lesson:
    """A lesson notebook and its exercises, in the order they appear."""

    number: str
    slug: str
    title: str
    exercises: list[Exercise] = field(default_factory=list)
    mutants: list[Mutant] = field(default_factory=list)

    @property
    def notebook(self) -> str:
        return f"{self.number}_{self.slug}.ipynb"

    @property
    def points(self) -> int:
        return sum(e.points for e in self.exercises)

    def exercise(self, name: str, points: int, hint: str = "") -> Callable[[Check], Check]:
        """Decorator: register ``check`` as the exercise ``name``."""

        def register(check: Check) -> Check:
            if any(e.name == name for e in self.exercises):
                raise ValueError(f"lesson {self.number}: duplicate exercise {name!r}")
            self.exercises.append(Exercise(self, name, points, check, hint))
            return check

        return register

    def mutant(self, exercise: str, description: str, expect: str, source: str) -> None:
        self.mutants.append(Mutant(exercise, description, source, expect))

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
