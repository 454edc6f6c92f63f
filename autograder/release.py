"""Generate what is derived from ``solutions/``: the student notebooks in ``lessons/`` (with
nbgrader's machinery) and the practice checks' stored examples (``autograder/practice/examples/``).

The preprocessors are the ones ``nbgrader generate_assignment`` runs (minus the gradebook
steps), so a lesson here is exactly what an instructor's nbgrader release hands out:
solutions replaced by ``raise NotImplementedError()`` stubs, hidden tests and outputs
removed, graded cells locked and checksummed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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
from .examples import encode
from .registry import Exercise, Namespace
from .runner import run_exercise, time_limit

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


# ---------------------------------------------------------------- stored examples for the practice checks

class _Recorder:
    """Collects what a practice check passes to ``StoredExamples.expect`` (see autograder/examples.py)."""

    def __init__(self) -> None:
        self.calls: dict[str, tuple[Any, Any, dict[str, Any]]] = {}

    def record(self, exercise: str, key: str, got: Any, want: Any, tolerance: dict[str, Any]) -> None:
        if key in self.calls:
            raise ValueError(f"{exercise}: two practice comparisons share the description {key!r}; "
                             "make each one name its own call")
        self.calls[key] = (got, want, tolerance)


def _run_practice(exercise: Exercise, namespace: Namespace, recorder: _Recorder, must_pass: bool) -> None:
    store = exercise.lesson.examples
    store.recorder = recorder
    try:
        with time_limit(60):
            for check in exercise.practice:
                check(namespace)
    except BaseException:
        if must_pass:
            raise
    finally:
        store.recorder = None


def _short(message: str) -> str:
    """A grading message without its own expected/got previews (the practice check adds its own)."""
    keep = [line for line in message.splitlines() if not line.lstrip().startswith(("expected ", "but got"))
            and not re.match(r"\s*(\d+ of \d+ entries differ|\(lengths \d+ and \d+\)$)", line)]
    return "\n".join(keep).rstrip(":").rstrip()


def build_examples(number: str, solutions_dir: Path = SOLUTIONS_DIR) -> dict[str, Any]:
    """The stored examples of one lesson: the solution's outputs for every practice comparison, and
    what each registered mutant returns there instead (with the grading checks' message for it)."""
    from .catalog import get_testdata
    from .feedback import close
    from .notebook import load_notebook

    lesson = get_testdata(number)
    solution = load_notebook(solutions_dir / lesson.notebook)
    data: dict[str, Any] = {}
    for exercise in lesson:
        reference = _Recorder()
        try:
            _run_practice(exercise, solution, reference, must_pass=True)
        except BaseException as error:
            raise RuntimeError(f"the practice check of {exercise.id} fails on the solution: {error}") from error
        entries: dict[str, Any] = {key: ({"expected": encode(got)} if want is None else {})
                                   for key, (got, want, _) in reference.calls.items()}
        for mutant in (m for m in lesson.mutants if m.exercise == exercise.name):
            values = dict(solution.values)
            exec(compile(mutant.source, f"<mutant {mutant.description}>", "exec"), values)
            namespace = Namespace(values, source="a mutant")
            graded = run_exercise(exercise, namespace, tiers=("grading",))
            if graded.passed:
                continue
            seen = _Recorder()
            _run_practice(exercise, namespace, seen, must_pass=False)
            for key, (got, _, tolerance) in seen.calls.items():
                if key not in reference.calls:
                    continue
                ref_got, ref_want, _ = reference.calls[key]
                want = ref_got if ref_want is None else ref_want
                mistakes = entries[key].setdefault("mistakes", [])
                try:
                    output = encode(got)
                except TypeError:
                    continue  # the mutant returned something no learner's answer could be compared with
                if close(got, want, **tolerance):
                    continue
                if all(m["output"] != output for m in mistakes):
                    mistakes.append({"output": output, "message": _short(graded.message), "hint": graded.hint})
                break  # a practice check stops at its first wrong output: later ones are never compared
        stored = {key: entry for key, entry in entries.items() if entry.get("expected") is not None or entry.get("mistakes")}
        if stored:
            data[exercise.name] = stored
    return data


def examples_text(number: str) -> str:
    """The stored examples of a lesson as they are kept in git (stable, readable JSON)."""
    return json.dumps(build_examples(number), indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def examples_up_to_date(number: str) -> bool:
    """Do the stored examples of a lesson equal a fresh build?  Numbers may differ in their last
    digits (another CPU's float rounding); everything else must be identical."""
    from .catalog import get_lesson

    path = get_lesson(number).examples.path
    if not path.exists():
        return False
    return _same(json.loads(path.read_text(encoding="utf-8")), build_examples(number))


def _same(stored: Any, fresh: Any) -> bool:
    fresh = json.loads(json.dumps(fresh))  # the build's own values, as JSON reads them back
    return _same_json(stored, fresh)


def _same_json(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return abs(a - b) <= 1e-6 + 1e-5 * abs(b)
    return a == b


def write_examples(numbers: list[str] | None = None) -> list[Path]:
    """Regenerate ``autograder/practice/examples/`` (all lessons, or the given ones)."""
    written = []
    for lesson in all_lessons().values():
        if numbers and lesson.number not in {n.zfill(2) for n in numbers}:
            continue
        text = examples_text(lesson.number)
        lesson.examples.path.parent.mkdir(parents=True, exist_ok=True)
        lesson.examples.path.write_text(text, encoding="utf-8")
        lesson.examples.reload()
        written.append(lesson.examples.path)
    return written
