"""Grade a notebook in a separate, limited process, so nothing it does can fake a pass.

This is the engine behind ``python -m autograder check``, the progress table and the class
grader.  The parent copies the notebook to a temporary folder and hands a job to a fork server
(:mod:`autograder.forkserver`: a prepared process that forks a fresh, sandboxed child per
notebook).  The child (:func:`execute_job`):

1. takes a :class:`~autograder.guard.Guard` snapshot of everything the checks rely on *before*
   any learner code runs (the checks were imported by the fork server);
2. runs the code cells in order (per-cell time limit, output captured and capped), and runs
   each exercise's check where its graded test cell stands, as nbgrader would (exercises whose
   test cell was deleted run at the end);
3. before and after each check, undoes any monkeypatching of torch, numpy, builtins or the
   autograder (and fails a check during which the learner's code patched something);
4. appends one JSON line per event to a result file, tagged with a random nonce.

The parent trusts only those lines.  If the notebook calls ``os._exit(0)``, crashes the
interpreter, exhausts its memory limit or hangs, the exercises without a result fail with a
message saying why; the child's exit code is never taken as success.

**What a notebook under grading cannot see.**  Where Linux allows it (``unshare``), checking
runs in a private mount namespace in which these folders are replaced by empty ones
(:func:`default_hidden`): ``solutions/`` and ``.git`` of *every* copy of the course's package
that this Python can find (the running one, any other folder on ``sys.path`` that holds an
``autograder`` package, editable installs and installed distributions), plus, when grading a
class, the course folder and the instructor's extra checks.  The notebook's own ``import``
statements cannot load the grader's reference modules (:data:`INSTRUCTOR_ONLY`).
"""

from __future__ import annotations

import ast
import atexit
import builtins
import json
import os
import secrets
import shutil
import site
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .catalog import INSTRUCTOR_PACKAGES, REPO_ROOT
from .registry import Result

LOAD_ALLOWANCE_S = 120  # the notebook's own (non-graded) cells, beyond the per-check budget
DEFAULT_MEMORY_MB = 6144
PACKAGE = "autograder"
#: Modules of the grader that hold answers (reference implementations, mutants); a notebook's
#: ``import`` statements cannot load them while it is graded.
INSTRUCTOR_ONLY = tuple(f"autograder.{name}" for name in INSTRUCTOR_PACKAGES)


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
    """Can we run the checks in their own mount namespace (Linux `unshare`)?"""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


# ------------------------------------------------------------------ what must stay hidden

def default_hidden() -> list[Path]:
    """What a notebook under grading must not see: ``solutions/`` and ``.git`` of every copy of
    the course package this Python can find (see :func:`package_roots`)."""
    hidden = []
    for root in package_roots():
        hidden += [root / "solutions", root / ".git"]
    return [p for p in hidden if p.is_dir()]


@lru_cache(maxsize=1)
def package_roots() -> tuple[Path, ...]:
    """Every folder that holds a copy of the ``autograder`` package: the running one, each
    ``sys.path`` entry with an ``autograder/`` in it, the targets of editable installs, and
    the source folders recorded by installed distributions that provide ``autograder``."""
    roots = {REPO_ROOT.resolve()}
    entries = [Path(p or ".") for p in sys.path]
    for entry in entries:
        if (entry / PACKAGE / "__init__.py").is_file():
            roots.add(entry.resolve())
    site_dirs = {Path(p) for p in [*site.getsitepackages(), site.getusersitepackages(), *sys.path] if p}
    for folder in site_dirs:
        if not folder.is_dir():
            continue
        for finder in folder.glob("__editable__*finder.py"):  # setuptools' editable installs
            roots.update(path.parent for path in _editable_mapping(finder) if path.name == PACKAGE)
        for link in folder.glob("*.egg-link"):  # older `pip install -e`
            first = link.read_text(errors="replace").splitlines()[:1]
            if first and (Path(first[0]) / PACKAGE).is_dir():
                roots.add(Path(first[0]).resolve())
    roots.update(_distribution_roots(site_dirs))
    return tuple(sorted(roots))


def _editable_mapping(finder: Path) -> list[Path]:
    """The package folders an editable-install finder maps to (its ``MAPPING`` literal)."""
    try:
        tree = ast.parse(finder.read_text(errors="replace"))
    except SyntaxError:
        return []
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "MAPPING" and node.value is not None:
            try:
                return [Path(p) for p in ast.literal_eval(node.value).values()]
            except ValueError:
                return []
    return []


def _distribution_roots(site_dirs: set[Path]) -> set[Path]:
    """Source folders recorded by pip for distributions installed from a local folder
    (``*.dist-info/direct_url.json``) that hold an ``autograder`` package."""
    from urllib.parse import unquote, urlparse

    roots = set()
    for folder in site_dirs:
        for record in folder.glob("*.dist-info/direct_url.json") if folder.is_dir() else []:
            try:
                url = json.loads(record.read_text(errors="replace")).get("url", "")
            except (OSError, ValueError, AttributeError):
                continue
            path = Path(unquote(urlparse(url).path)) if url.startswith("file://") else None
            if path is not None and (path / PACKAGE / "__init__.py").is_file():
                roots.add(path.resolve())
    return roots


def hidden_paths(extra: list[Path] | None = None) -> list[Path]:
    """The folders to hide: ``default_hidden()`` plus ``extra``, existing, without repeats, and
    none inside another (covering a folder also covers what is in it)."""
    paths = sorted({p.resolve() for p in [*default_hidden(), *(extra or [])] if p.is_dir()})
    return [p for p in paths if not any(q != p and p.is_relative_to(q) for q in paths)]


# ------------------------------------------------------------------ the fork servers

_servers: dict[tuple, Any] = {}
_servers_lock = threading.Lock()


def _server(hide: list[Path], extra_checks: list[Path], lessons: list[str]):
    """The running fork server for this configuration (started on first use)."""
    from .forkserver import ForkServer

    key = (tuple(hide), tuple(extra_checks), os.environ.get("PYTHONPATH", ""))
    with _servers_lock:
        server = _servers.get(key)
        if server is None or not server.alive:
            if server is not None:
                server.close()
            server = ForkServer(hide, sandbox=bool(hide) and sandbox_available(), extra_checks=extra_checks,
                                preload=lessons)
            server.start()
            _servers[key] = server
        return server


def prestart(lessons: list[str], hide: list[Path] | None = None, extra_checks: list[Path] | None = None) -> None:
    """Start the fork server that :func:`run_isolated` will use, in the background (its imports
    take seconds: let the caller do something else meanwhile)."""
    extra = [Path(p).resolve() for p in extra_checks or []]
    hidden = hidden_paths([*(hide or []), *extra])
    numbers = sorted({str(n).split("_")[0].zfill(2) for n in lessons})
    threading.Thread(target=lambda: _server(hidden, extra, numbers), name="forkserver-start", daemon=True).start()


def stop_server(hide: list[Path] | None = None, extra_checks: list[Path] | None = None) -> None:
    """Stop the fork server of this configuration (a grading run's, when it is done)."""
    extra = [Path(p).resolve() for p in extra_checks or []]
    key = (tuple(hidden_paths([*(hide or []), *extra])), tuple(extra), os.environ.get("PYTHONPATH", ""))
    with _servers_lock:
        server = _servers.pop(key, None)
    if server is not None:
        server.close()


@atexit.register
def stop_servers() -> None:
    """Stop every fork server (also called at exit)."""
    with _servers_lock:
        for server in _servers.values():
            server.close()
        _servers.clear()


def run_isolated(lesson_number: str, notebook: Path, timeout: float = 60.0, cell_timeout: float = 120.0,
                 memory_mb: int | None = DEFAULT_MEMORY_MB, hide: list[Path] | None = None,
                 student: str | None = None, extra_checks: list[Path] | None = None,
                 threads: int | None = None) -> IsolatedRun:
    """Check ``notebook`` for ``lesson_number`` in a fresh, limited, sandboxed process.

    ``hide`` adds folders to what the notebook must not see (``default_hidden()`` always is);
    ``extra_checks`` are folders of the instructor's own check modules, imported before the
    guard snapshot (and hidden from the notebook); ``threads`` caps torch's threads (when
    several notebooks are checked at once).
    """
    number = str(lesson_number).split("_")[0].zfill(2)
    extra_checks = [Path(p).resolve() for p in extra_checks or []]
    hidden = hidden_paths([*(hide or []), *extra_checks])
    notes: list[str] = []
    if hidden and not sandbox_available():
        notes.append("no sandbox: solutions/ stayed readable (unshare is not available)")
    for attempt in range(2):  # a second try only if the checking service itself went away
        server = _server(hidden, extra_checks, [number])
        # The job's folder is in the server's: a child sees its own job there, no other.
        with tempfile.TemporaryDirectory(prefix="job-", dir=server.jobs_dir) as tmp:
            work = Path(tmp) / "work"
            work.mkdir()
            copy = work / Path(notebook).name
            shutil.copyfile(notebook, copy)
            result_file, stderr_file = Path(tmp) / "results.jsonl", Path(tmp) / "stderr.txt"
            env = {"AUTOGRADER_STUDENT_ID": student} if student else {}  # lesson 06: each student's numbers
            job = dict(lesson=number, notebook=str(copy), result_file=str(result_file), nonce=secrets.token_hex(16),
                       timeout=timeout, cell_timeout=cell_timeout, memory_mb=memory_mb, cwd=str(work),
                       stderr_file=str(stderr_file), env=env, threads=threads, jobs_dir=str(server.jobs_dir),
                       own_dir=str(tmp))
            ending, reply = server.run(job, number, lambda exercises: budget_s(exercises, timeout, cell_timeout))
            if ending.lost and attempt == 0:
                continue
            events = _read_events(result_file, job["nonce"])
            stderr = stderr_file.read_text(errors="replace")[-2000:] if stderr_file.exists() else ""
            exercises = reply.get("exercises") or _exercises_here(number)
            ending_text = ending.describe(budget_s(exercises, timeout, cell_timeout))
            return _assemble(number, exercises, events, ending_text, stderr, notes)
    raise AssertionError("unreachable")


def _exercises_here(number: str) -> list[dict[str, Any]]:
    """The lesson's exercises, from this process (when the checking service could not say)."""
    from .catalog import get_lesson

    return [{"name": e.name, "points": e.points, "hint": e.hint} for e in get_lesson(number)]


def budget_s(exercises: list[Any], timeout: float, cell_timeout: float) -> float:
    """How long one notebook may take in all: its cells, plus each check's own limit."""
    return LOAD_ALLOWANCE_S + timeout * len(exercises) + cell_timeout


def check_notebook(lesson_number: str, notebook: Path, timeout: float = 60.0) -> list[Result]:
    """Run every exercise of a lesson on ``notebook`` in a fresh process."""
    return run_isolated(lesson_number, notebook, timeout).results


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


def _assemble(number: str, exercises: list[dict[str, Any]], events: list[dict[str, Any]], ending: str,
              stderr: str, notes: list[str]) -> IsolatedRun:
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
    for exercise in exercises:
        if exercise["name"] in found:
            results.append(found[exercise["name"]])
        else:
            results.append(Result(number, exercise["name"], exercise["points"], False,
                                  f"not checked: {ending} before this check could run"
                                  + (f" ({reason})" if reason else "") + ".",
                                  "Does the notebook call exit(), quit() or os._exit(), use too much memory, "
                                  "or crash when it runs? Fix that and run all cells again."))
    return IsolatedRun(results, outputs, notes)


def _last_line(text: str) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def import_extra_checks(folders: list[Path]) -> None:
    """Import the instructor's own check modules (see :func:`autograder.catalog.load_extra_checks`)."""
    from .catalog import load_extra_checks

    load_extra_checks(folders)


# ------------------------------------------------------------------ inside the checking process

def _is_instructor_only(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in INSTRUCTOR_ONLY)


def notebook_builtins() -> dict[str, Any]:
    """The builtins a graded notebook runs with: the real ones, except that ``import`` refuses
    the grader's instructor-only modules (:data:`INSTRUCTOR_ONLY`)."""
    real_import = builtins.__import__

    def guarded_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0):
        wanted = [name] + [f"{name}.{item}" for item in (fromlist or ()) if isinstance(item, str)]
        if level == 0 and any(_is_instructor_only(w) for w in wanted):
            raise ModuleNotFoundError(f"No module named {name!r} (the grader's own checks are not available "
                                      "to notebooks)", name=name)
        return real_import(name, globals, locals, fromlist, level)

    table = dict(vars(builtins))
    table["__import__"] = guarded_import
    return table


def _borrowed_answers(values: dict[str, Any]) -> list[str]:
    """Names in the notebook bound to functions or classes of the instructor-only modules."""
    found = []
    for name, value in list(values.items()):
        module = getattr(value, "__module__", None)
        if callable(value) and isinstance(module, str) and _is_instructor_only(module):
            found.append(f"`{name}` (from {module})")
    return found


def execute_job(job: dict[str, Any]) -> None:
    """Run one notebook's cells and checks (in the forked checking process); see the module docstring."""
    stderr = os.open(job["stderr_file"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(stderr, 2)
    os.chdir(job["cwd"])
    os.environ.update(job.get("env", {}))
    nonce = job.pop("nonce")
    out = open(job["result_file"], "a", encoding="utf-8")

    def emit(kind: str, **data: Any) -> None:
        out.write(json.dumps({"nonce": nonce, "kind": kind, **data}) + "\n")
        out.flush()

    import warnings

    from .catalog import get_lesson
    from .guard import Guard
    from .notebook import graded_exercise, new_namespace, read_notebook, run_cell, should_run
    from .registry import Namespace
    from .runner import run_exercise

    lesson = get_lesson(job["lesson"])  # already imported by the fork server
    guard = Guard()  # before the first line of learner code
    warnings.simplefilter("ignore")
    path = Path(job["notebook"])
    try:
        nb = read_notebook(path)
    except ValueError as error:
        emit("fatal", message=str(error))
        return
    namespace = new_namespace(path)
    namespace["__builtins__"] = notebook_builtins()
    errors = []
    pending = {e.name: e for e in lesson}

    def check(name: str) -> None:
        notes = [f"{name}: the notebook had replaced {what}; the real one was restored before checking"
                 for what in guard.restore()[:5]]
        borrowed = _borrowed_answers(namespace)
        result = run_exercise(pending.pop(name), Namespace(namespace, errors, source=path.name), job["timeout"])
        patched = guard.restore()
        if patched and result.passed:
            result.passed = False
            result.message = (f"while being checked, your code replaced {', '.join(patched[:3])}; "
                              "the check does not count. Do not modify library or grader functions.")
        if borrowed and result.passed:
            result.passed = False
            result.message = (f"the notebook uses the grader's own code: {', '.join(borrowed[:3])}; "
                              "the check does not count. Write your own implementation.")
            result.hint = ""
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
