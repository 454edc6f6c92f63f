"""Check a notebook in a separate Python process, so nothing the notebook does can fake a pass.

The parent starts ``python -m autograder.isolated`` and sends it a job on standard input
(lesson, notebook, result file, a random nonce).  The worker loads the notebook, runs each
exercise and appends one JSON line per result, tagged with the nonce.  The parent trusts only
those lines: if the notebook calls ``os._exit(0)``, ``sys.exit()``, crashes the interpreter or
hangs, the exercises without a result are failures with a message saying why.  The worker's
exit code is never taken as success.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from .catalog import get_lesson
from .registry import Result

LOAD_ALLOWANCE_S = 120  # time for imports and running the notebook's own cells


def check_notebook(lesson_number: str, notebook: Path, timeout: float = 60.0) -> list[Result]:
    """Run every exercise of a lesson on ``notebook`` in a fresh process."""
    lesson = get_lesson(lesson_number)
    nonce = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        result_file = Path(tmp) / "results.jsonl"
        job = dict(lesson=lesson.number, notebook=str(Path(notebook).resolve()),
                   result_file=str(result_file), nonce=nonce, timeout=timeout)
        budget = LOAD_ALLOWANCE_S + timeout * len(lesson.exercises)
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
        try:
            proc = subprocess.run([sys.executable, "-m", "autograder.isolated"], input=json.dumps(job),
                                  capture_output=True, text=True, timeout=budget, env=env,
                                  cwd=Path(notebook).resolve().parent)
            ending = f"the checking process ended (exit code {proc.returncode})"
            stderr = proc.stderr
        except subprocess.TimeoutExpired as expired:
            ending = f"the checking process was stopped after {budget:g} s"
            stderr = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else (expired.stderr or "")
        found = _read_results(result_file, nonce)
    results = []
    for exercise in lesson:
        if exercise.name in found:
            results.append(found[exercise.name])
        else:
            reason = _last_line(stderr)
            results.append(Result(lesson.number, exercise.name, exercise.points, False,
                                  f"not checked: {ending} before this check could run"
                                  + (f" ({reason})" if reason else "") + ".",
                                  "Does the notebook call exit(), quit() or os._exit(), or crash when it runs? "
                                  "Remove that and run all cells again."))
    return results


def _read_results(path: Path, nonce: str) -> dict[str, Result]:
    found: dict[str, Result] = {}
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or record.get("nonce") != nonce:
            continue
        data = record.get("result", {})
        found[data["exercise"]] = Result(data["lesson"], data["exercise"], int(data["points"]),
                                         bool(data["passed"]), str(data["message"]), str(data["hint"]))
    return found


def _last_line(text: str) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def _worker() -> None:
    """Entry point of the child process."""
    job = json.loads(sys.stdin.read())
    nonce = job.pop("nonce")
    from .notebook import load_notebook
    from .runner import run_exercise

    lesson = get_lesson(job["lesson"])
    with open(job["result_file"], "a", encoding="utf-8") as out:
        namespace = load_notebook(job["notebook"])
        for exercise in lesson:
            result = run_exercise(exercise, namespace, float(job["timeout"]))
            out.write(json.dumps({"nonce": nonce, "result": result.to_json()}) + "\n")
            out.flush()


if __name__ == "__main__":
    _worker()
