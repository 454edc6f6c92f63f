"""Grade a notebook in a separate, limited Python process, so nothing it does can fake a pass.

This is the engine behind ``python -m autograder check`` and the class grader.  The parent
copies the notebook to a temporary folder, starts ``python -m autograder.isolated`` and sends
it a job on standard input.  The worker:

1. imports every check and takes a :class:`~autograder.guard.Guard` snapshot *before* any
   learner code runs;
2. runs the code cells in order (per-cell time limit, output captured and capped), and runs
   each exercise's check where its graded test cell stands, as nbgrader would (exercises whose
   test cell was deleted run at the end);
3. before and after each check, undoes any monkeypatching of torch, numpy, builtins or the
   autograder (and fails a check during which the learner's code patched something);
4. appends one JSON line per event to a result file, tagged with a random nonce.

The parent trusts only those lines.  If the notebook calls ``os._exit(0)``, crashes the
interpreter, exhausts its memory limit or hangs, the exercises without a result fail with a
message saying why; the worker's exit code is never taken as success.  Where Linux allows it
(``unshare``), the worker also runs in a private mount namespace in which ``solutions/``,
the repository's ``.git`` and the instructor's course folder are replaced by empty folders.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .catalog import REPO_ROOT, SOLUTIONS_DIR, get_lesson
from .registry import Result

LOAD_ALLOWANCE_S = 120  # imports plus the notebook's own (non-graded) cells
DEFAULT_MEMORY_MB = 6144


@dataclass
class IsolatedRun:
    """What the worker reported: results in lesson order, captured cell outputs, problems."""

    results: list[Result]
    cell_outputs: dict[int, dict[str, str]] = field(default_factory=dict)  # cell index -> output/error
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"results": [r.to_json() for r in self.results],
                "cell_outputs": {str(k): v for k, v in self.cell_outputs.items()}, "notes": self.notes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "IsolatedRun":
        results = [Result(**r) for r in data["results"]]
        return cls(results, {int(k): v for k, v in data["cell_outputs"].items()}, list(data["notes"]))


@lru_cache(maxsize=1)
def sandbox_available() -> bool:
    """Can we run the worker in its own mount namespace (Linux `unshare`)?"""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


def _sandboxed(command: list[str], hide: list[Path], empty: Path) -> list[str]:
    """Wrap ``command`` so it runs with each folder in ``hide`` replaced by ``empty``."""
    mounts = " && ".join(f'mount --bind "$0" "${i}"' for i in range(1, len(hide) + 1))
    script = f'{mounts} && shift {len(hide)} && exec "$@"'
    return ["unshare", "-rm", "--", "sh", "-c", script, str(empty), *map(str, hide), *command]


def run_isolated(lesson_number: str, notebook: Path, timeout: float = 60.0, cell_timeout: float = 120.0,
                 memory_mb: int | None = DEFAULT_MEMORY_MB, hide: list[Path] | None = None,
                 student: str | None = None) -> IsolatedRun:
    """Check ``notebook`` for ``lesson_number`` in a fresh, limited process."""
    lesson = get_lesson(lesson_number)
    nonce = secrets.token_hex(16)
    hide = [p.resolve() for p in (hide if hide is not None else default_hidden()) if p.is_dir()]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        copy = work / Path(notebook).name
        shutil.copyfile(notebook, copy)
        result_file = Path(tmp) / "results.jsonl"
        stderr_file = Path(tmp) / "stderr.txt"
        job = dict(lesson=lesson.number, notebook=str(copy), result_file=str(result_file), nonce=nonce,
                   timeout=timeout, cell_timeout=cell_timeout)
        command = [sys.executable, "-m", "autograder.isolated"]
        if hide and sandbox_available():
            empty = Path(tmp) / "hidden"
            empty.mkdir()
            command = _sandboxed(command, hide, empty)
        elif hide:
            notes.append("no sandbox: solutions/ stayed readable (unshare is not available)")
        budget = LOAD_ALLOWANCE_S + timeout * len(lesson.exercises) + cell_timeout
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        if student:  # lesson 06 builds each student's own numbers from their id
            env["AUTOGRADER_STUDENT_ID"] = student
        with open(stderr_file, "w") as err:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                                    text=True, env=env, cwd=work, preexec_fn=_limits(memory_mb))
            try:
                proc.communicate(json.dumps(job), timeout=budget)
                ending = f"the checking process ended (exit code {proc.returncode})"
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker and anything it started
                proc.wait()
                ending = f"the checking process was stopped after {budget:g} s"
        events = _read_events(result_file, nonce)
        stderr = stderr_file.read_text(errors="replace")[-2000:]
    return _assemble(lesson, events, ending, stderr, notes)


def check_notebook(lesson_number: str, notebook: Path, timeout: float = 60.0) -> list[Result]:
    """Run every exercise of a lesson on ``notebook`` in a fresh process."""
    return run_isolated(lesson_number, notebook, timeout).results


def default_hidden() -> list[Path]:
    """What a notebook under grading must not see: the solutions and the repository history."""
    return [SOLUTIONS_DIR, REPO_ROOT / ".git"]


def _limits(memory_mb: int | None):
    def apply() -> None:
        os.setsid()  # its own process group, so a timeout can stop everything it started
        if memory_mb:
            limit = memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def _read_events(path: Path, nonce: str) -> list[dict[str, Any]]:
    events = []
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("nonce") == nonce:
                events.append(record)
    return events


def _assemble(lesson, events: list[dict[str, Any]], ending: str, stderr: str, notes: list[str]) -> IsolatedRun:
    found: dict[str, Result] = {}
    outputs: dict[int, dict[str, str]] = {}
    fatal = ""
    for event in events:
        if event.get("kind") == "result":
            found[event["result"]["exercise"]] = Result(**event["result"])
            notes.extend(event.get("notes", []))
        elif event.get("kind") == "cell":
            outputs[int(event["index"])] = {"output": event.get("output", ""), "error": event.get("error", "")}
        elif event.get("kind") == "fatal":
            fatal = event["message"]
    reason = fatal or _last_line(stderr)
    results = []
    for exercise in lesson:
        if exercise.name in found:
            results.append(found[exercise.name])
        else:
            results.append(Result(lesson.number, exercise.name, exercise.points, False,
                                  f"not checked: {ending} before this check could run"
                                  + (f" ({reason})" if reason else "") + ".",
                                  "Does the notebook call exit(), quit() or os._exit(), use too much memory, "
                                  "or crash when it runs? Fix that and run all cells again."))
    return IsolatedRun(results, outputs, notes)


def _last_line(text: str) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


# ------------------------------------------------------------------ the worker process

def _worker() -> None:
    job = json.loads(sys.stdin.read())
    nonce = job.pop("nonce")
    out = open(job["result_file"], "a", encoding="utf-8")

    def emit(kind: str, **data: Any) -> None:
        out.write(json.dumps({"nonce": nonce, "kind": kind, **data}) + "\n")
        out.flush()

    # Everything the checks need is imported before the first line of learner code runs.
    import warnings

    from .guard import Guard
    from .notebook import graded_exercise, new_namespace, read_notebook, run_cell, should_run
    from .registry import Namespace
    from .runner import run_exercise

    lesson = get_lesson(job["lesson"])
    guard = Guard()
    warnings.simplefilter("ignore")
    path = Path(job["notebook"])
    try:
        nb = read_notebook(path)
    except ValueError as error:
        emit("fatal", message=str(error))
        return
    namespace = new_namespace(path)
    errors = []
    pending = {e.name: e for e in lesson}

    def check(name: str) -> None:
        notes = [f"{name}: the notebook had replaced {what}; the real one was restored before checking"
                 for what in guard.restore()[:5]]
        result = run_exercise(pending.pop(name), Namespace(namespace, errors, source=path.name), job["timeout"])
        patched = guard.restore()
        if patched and result.passed:
            result.passed = False
            result.message = (f"while being checked, your code replaced {', '.join(patched[:3])}; "
                              "the check does not count. Do not modify library or grader functions.")
        emit("result", result=result.to_json(), notes=notes)

    code_number = 0
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        code_number += 1
        name = graded_exercise(cell)
        if name in pending:
            check(name)
        elif should_run(cell):
            output, error = run_cell(cell, code_number, namespace, job["cell_timeout"])
            if error:
                errors.append(error)
            emit("cell", index=index, output=output, error=error.describe() if error else "")
            if error and error.stops_run:
                # Like "Run All" in Jupyter, exit() stops the notebook: what comes later never ran.
                emit("fatal", message=f"the notebook stopped at {error.describe()}")
                return
    for name in list(pending):
        check(name)
    emit("done")


if __name__ == "__main__":
    _worker()
