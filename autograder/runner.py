"""Run exercise checks safely and report them: the one engine behind every front end.

* :func:`run_exercise` runs an exercise's checks (practice, then grading where installed) on a
  namespace and always returns a :class:`~autograder.registry.Result` (a stub, an exception, an
  infinite loop or an ``exit()`` in the learner's code becomes a failed result with a clear
  message);
* :func:`check` is what a notebook's graded test cell calls: it prints a ✓/✗ line and
  raises on failure so nbgrader gives no points.
"""

from __future__ import annotations

import signal
import threading
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from .catalog import get_lesson
from .registry import TIERS, CheckFailure, Exercise, Namespace, Result

DEFAULT_TIMEOUT_S = 60


class ExerciseTimeout(BaseException):
    """Raised inside a check that ran past its time limit (a BaseException, so that a
    learner's ``except Exception`` cannot swallow it)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread only; elsewhere no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise ExerciseTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _where(error: BaseException) -> str:
    """The last frame outside the autograder: the learner's line that raised."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "autograder" not in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    place = f.filename if not f.filename.startswith("<cell") else f.filename.strip("<>")
    return f" (in {place}, line {f.lineno}: `{(f.line or '').strip()}`)"


def run_exercise(exercise: Exercise, namespace: Namespace, timeout: float = DEFAULT_TIMEOUT_S,
                 tiers: tuple[str, ...] = TIERS) -> Result:
    """Run an exercise's checks of the given tiers and turn every possible outcome into a Result.

    Practice checks run first.  The first failure decides, with one refinement: when a practice
    check finds a wrong value and the grading tier is installed, the grading checks run too, and
    if they fail their (reference-based, usually more specific) diagnosis is the one reported.
    """

    def result(passed: bool, message: str = "", hint: str | None = None) -> Result:
        """A Result; without a hint of its own, a failure shows the exercise's default hint."""
        return Result(exercise.lesson.number, exercise.name, exercise.points, passed,
                      message, exercise.hint if hint is None and not passed else (hint or ""))

    checks = exercise.checks(tiers)
    if not checks:
        return result(False, f"no {'/'.join(tiers)} checks are installed for `{exercise.name}`.", "")
    practice_failure: Result | None = None
    for tier, check in checks:
        if practice_failure is not None and tier == "practice":
            continue  # the grading tier gets its say; the rest of the practice tier adds nothing
        failure = _attempt(check, namespace, timeout, result)
        if failure is None:
            continue
        if tier == "practice" and failure.kind == "wrong" and any(t != "practice" for t, _ in checks):
            practice_failure = failure.result
            continue
        return failure.result
    return practice_failure or result(True)


@dataclass
class _Failure:
    """A failed check: ``kind`` is "wrong" for a wrong value (CheckFailure), else how the code failed."""

    kind: str
    result: Result


def _attempt(check: Any, namespace: Namespace, timeout: float, result: Any) -> _Failure | None:
    """Run one check; None when it passed."""
    try:
        with time_limit(timeout):
            check(namespace)
    except CheckFailure as failure:
        return _Failure("wrong", result(False, failure.message, failure.hint or None))
    except NotImplementedError as error:
        names = [frame.f_code.co_qualname for frame, _ in traceback.walk_tb(error.__traceback__)
                 if "autograder" not in frame.f_code.co_filename]
        where = f"`{names[-1]}` still says" if names else "its cell still says"
        return _Failure("unfinished",
                        result(False, f"not implemented yet ({where} `raise NotImplementedError()`).", ""))
    except ExerciseTimeout:
        return _Failure("timeout", result(False, f"did not finish within {timeout:g} s. Is there an infinite loop "
                                          "(a `while` whose condition never changes)?"))
    except RecursionError as error:
        return _Failure("crash", result(False, f"infinite recursion{_where(error)}."))
    except MemoryError as error:
        return _Failure("crash", result(False, f"ran out of memory{_where(error)}: something grows without bound."))
    except (SystemExit, KeyboardInterrupt) as error:
        return _Failure("crash", result(False, f"your code tried to stop the grader with {type(error).__name__}"
                                        f"{_where(error)}. Return a value instead of exiting."))
    except Exception as error:  # the learner's code may raise anything
        return _Failure("crash", result(False, f"your code raised {type(error).__name__}: {error}{_where(error)}"))
    return None


class ExerciseFailed(CheckFailure):
    """What a notebook's graded cell raises when its exercise fails.

    Jupyter (IPython) shows an exception's ``_render_traceback_()`` instead of the traceback, so
    the learner sees one clean ✗ block (message and hint in full) rather than frames inside the
    autograder; the cell still ends in an error, which is how nbgrader scores it zero.
    """

    def __init__(self, result: Result) -> None:
        super().__init__(f"{result.exercise}: {result.message}", result.hint)
        self.result = result

    def _render_traceback_(self) -> list[str]:
        return self.result.line().splitlines()


def check(lesson_number: str, exercise_name: str, definitions: dict[str, Any],
          timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """The notebook front end: check one exercise against the notebook's own definitions.

    Call it from a graded cell as ``check("01", "get_stats", globals())``.  Prints the ✓ line,
    or raises :class:`ExerciseFailed` (shown as one ✗ block) so that nbgrader scores the cell zero.
    """
    exercise = get_lesson(lesson_number).get(exercise_name)
    with warnings.catch_warnings():  # a warning printed to stderr would make nbgrader score the cell 0
        warnings.simplefilter("ignore")
        outcome = run_exercise(exercise, Namespace(dict(definitions), source="this notebook"), timeout)
    if not outcome.passed:
        raise ExerciseFailed(outcome) from None
    print(outcome.line())
    # Returns None on purpose: a value would become the cell's output, which nbgrader
    # would try to read as a partial-credit score.
