"""An nbgrader course folder as an instructor keeps it, and nbgrader's own steps, run in this process.

The folder is nbgrader's standard layout: ``nbgrader_config.py``, ``source/<assignment>/``,
``release/``, ``submitted/<student>/<assignment>/`` (what ``nbgrader collect`` leaves, with its
``timestamp.txt``), ``autograded/``, ``feedback/`` and the gradebook.  ``python -m autograder
grade`` adds one folder of its own, ``autograder/`` (saved check results, the report, the state
that lets a re-run skip what did not change).

**Configuration.**  The instructor's ``nbgrader_config.py`` is read exactly as nbgrader reads it
(Jupyter's config folders, then the course folder) and never rewritten; a new course gets a
starter file once.  :func:`grading_config` lays the grader's own settings over it for this
process only, as command-line options would: the isolated executor instead of a Jupyter kernel,
``OverwriteCells.add_missing_cells``, the time and memory limits.  Due dates and late-penalty
plugins come from the instructor's config and gradebook, as they do for plain nbgrader.

:class:`Nbgrader` runs ``generate_assignment``, ``autograde``, ``generate_feedback`` and the CSV
export through nbgrader's Python classes, in this process (no command start per step), and
collects every warning nbgrader logs while doing it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import time
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from .forkserver import skip_slow_optional_imports

CONFIG_FILE = "nbgrader_config.py"
STATE_FILE = Path("autograder") / "state.json"
COURSE_ID = "transformers-from-scratch"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
# Things that make a folder an nbgrader course.
COURSE_MARKERS = (CONFIG_FILE, "gradebook.db", "source", "release", "submitted", "autograded")
LOCK_WAIT_S = 10.0

STARTER_CONFIG = f'''\
# nbgrader configuration of this course.  Written once by `python -m autograder grade` when it
# created the course; it is yours to edit and `grade` never rewrites it.  For its own runs only,
# `grade` lays these settings on top (as command-line options would): its isolated, sandboxed
# checker instead of a Jupyter kernel (autograder.nbgrader_plugin.IsolatedExecute),
# OverwriteCells.add_missing_cells = True, and the time and memory limits of its command line.
c = get_config()
c.CourseDirectory.course_id = {COURSE_ID!r}
c.ClearSolutions.code_stub = {{"python": {CODE_STUB!r}}}
# A student who deletes a graded cell must not lose its points silently: nbgrader puts it back.
c.OverwriteCells.add_missing_cells = True
# Plain `nbgrader autograde` runs each notebook in a Jupyter kernel: time allowed per cell.
c.Execute.timeout = 120
# Late work: give an assignment a due date with
#   nbgrader db assignment add 05_attention --duedate="2026-11-03 09:00:00 UTC"
# and choose nbgrader's penalty, for example:
# c.LateSubmissionPlugin.penalty_method = "zero"
'''


class CourseError(Exception):
    """A course folder that cannot be graded; the message is one line for the instructor."""


# ------------------------------------------------------------------ the folder

def open_course(path: Path, create: bool) -> Path:
    """Check that ``path`` is an nbgrader course (or create one when ``create``); returns it resolved."""
    path = Path(path)
    if not path.exists():
        if not create:
            raise CourseError(f"course folder {path} does not exist (give --submissions to create a new course)")
        path.mkdir(parents=True)
    if not path.is_dir():
        raise CourseError(f"{path} is not a folder")
    path = path.resolve()
    is_course = any((path / marker).exists() for marker in COURSE_MARKERS)
    if not is_course:
        if not (create and not any(path.iterdir())):
            raise CourseError(f"{path} is not an nbgrader course (it has no {CONFIG_FILE}, gradebook.db, "
                              "source/ or submitted/)")
        (path / CONFIG_FILE).write_text(STARTER_CONFIG, encoding="utf-8")
    (path / "autograder").mkdir(exist_ok=True)
    return path


@contextmanager
def run_lock(course: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Only one `grade` run per course at a time: wait up to ``wait_s``, then say who holds it."""
    lock_path = course / "autograder" / "grade.lock"
    with open(lock_path, "a+") as lock:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    lock.seek(0)
                    holder = lock.read().strip() or "another process"
                    raise CourseError(f"another `grade` run ({holder}) is using {course}; wait for it to finish")
                time.sleep(0.2)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def sqlite_path(db_url: str) -> Path | None:
    return Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite:///") else None


def wait_for_gradebook(db_url: str, wait_s: float = LOCK_WAIT_S) -> None:
    """Make sure nobody holds the SQLite gradebook's write lock (waiting up to ``wait_s``);
    otherwise stop before writing anything, naming the file and the processes that hold it."""
    path = sqlite_path(db_url)
    if path is None or not path.exists():
        return
    connection = sqlite3.connect(path, timeout=wait_s)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.rollback()
    except sqlite3.OperationalError as error:
        holders = ", ".join(_processes_with(path)) or "another process"
        raise CourseError(f"the gradebook {path} is locked by {holders} ({error}); nothing was written. "
                          "Close it (or wait for it to finish) and run grade again.") from None
    finally:
        connection.close()


def _processes_with(path: Path) -> list[str]:
    """Which processes have ``path`` open (Linux /proc; best effort)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        if entry.name == str(os.getpid()):
            continue
        try:
            if any(os.readlink(fd) == str(path) for fd in (entry / "fd").iterdir()):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append(f"pid {entry.name} ({command[:80]})")
        except OSError:
            continue
    return found


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fingerprint(*parts: Any) -> str:
    """A short digest of JSON-able parts (the inputs of a step)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


# ------------------------------------------------------------------ what the last run did

class State:
    """``autograder/state.json``: each step's input fingerprint, so a re-run skips what did not
    change.  Saved atomically after every step, so a killed run loses at most one step."""

    def __init__(self, course: Path) -> None:
        self.path = course / STATE_FILE
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            self.data = {}

    def get(self, *keys: str) -> Any:
        node: Any = self.data
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def set(self, value: Any, *keys: str) -> None:
        node = self.data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)


# ------------------------------------------------------------------ configuration

def config_files(course: Path) -> list[Path]:
    """The nbgrader_config.py files nbgrader reads for this course, lowest priority first."""
    from jupyter_core.paths import jupyter_config_path

    folders = [Path(p) for p in reversed(jupyter_config_path())] + [course]
    return [folder / CONFIG_FILE for folder in folders if (folder / CONFIG_FILE).is_file()]


def config_digest(course: Path) -> str:
    """What the instructor's configuration says, as a digest (a change re-runs nbgrader's steps)."""
    try:
        files = config_files(course)
    except ImportError:  # pragma: no cover - jupyter_core comes with nbgrader
        files = [course / CONFIG_FILE] if (course / CONFIG_FILE).is_file() else []
    return fingerprint([(str(p), file_digest(p)) for p in files])


def instructor_config(course: Path):
    """The configuration nbgrader itself would use in ``course`` (a traitlets Config)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for path in config_files(course):
        config.merge(PyFileConfigLoader(path.name, str(path.parent)).load_config())
    return config


def grading_config(course: Path, timeout: float, cell_timeout: float, memory_mb: int,
                   extra_checks: list[Path] | None = None):
    """The instructor's configuration with the grader's settings laid over it (this process only)."""
    skip_slow_optional_imports()
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    from .nbgrader_plugin import IsolatedExecute

    config = instructor_config(course)
    steps = list(config.Autograde.get("autograde_preprocessors", Autograde.class_traits()["autograde_preprocessors"].default()))

    def is_execute(step: Any) -> bool:
        if isinstance(step, str):
            return step.rsplit(".", 1)[-1] == "Execute"
        return isinstance(step, type) and issubclass(step, Execute)

    ours = Config()
    ours.CourseDirectory.root = str(course)
    ours.Autograde.autograde_preprocessors = [IsolatedExecute if is_execute(s) else s for s in steps]
    ours.OverwriteCells.add_missing_cells = True
    ours.IsolatedExecute.course_root = str(course)
    ours.IsolatedExecute.timeout = float(timeout)
    ours.IsolatedExecute.cell_timeout = float(cell_timeout)
    ours.IsolatedExecute.memory_mb = int(memory_mb)
    ours.IsolatedExecute.extra_checks = [str(p) for p in extra_checks or []]
    ours.Execute.timeout = int(cell_timeout)
    config.merge(ours)
    return config


# ------------------------------------------------------------------ nbgrader's steps

class NbgraderLog(logging.Handler):
    """Collects what nbgrader logs (warnings and errors) during one step."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # pragma: no cover - a malformed log call must not stop grading
            pass


class Nbgrader:
    """nbgrader's converters for one course, run in this process with one configuration."""

    def __init__(self, config: Any, on_time: set[str] | None = None) -> None:
        import nbgrader
        from nbgrader.coursedir import CourseDirectory

        class OurCourseDirectory(CourseDirectory):
            """nbgrader's, except that submissions the instructor declared on time have no timestamp."""

            def get_existing_timestamp(inner, dest_path: str):  # noqa: N805
                if os.path.normpath(os.path.abspath(dest_path)) in inner.on_time:
                    return None
                return super().get_existing_timestamp(dest_path)

        _share_engines()
        self.version = nbgrader.__version__
        self.config = config
        self.coursedir = OurCourseDirectory(config=config)
        self.coursedir.on_time = {os.path.normpath(p) for p in (on_time or set())}
        self.db_url = self.coursedir.db_url
        self.course_id = self.coursedir.course_id

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.course_id)

    def _run(self, converter_class: type, assignment: str, student: str = "*", **options: Any) -> tuple[bool, list[str], str]:
        """Run one converter; returns (succeeded, warnings it logged, error text)."""
        import traceback

        from nbgrader.utils import temp_attrs

        from . import nbgrader_plugin

        collector = NbgraderLog()
        nbgrader_plugin.NBGRADER_LOG = collector.messages
        with temp_attrs(self.coursedir, assignment_id=assignment, student_id=student):
            converter = converter_class(coursedir=self.coursedir, config=self.config)
            for name, value in options.items():
                setattr(converter, name, value)
            logger = converter.log
            logger.addHandler(collector)
            quiet = logger.propagate, logger.level
            logger.propagate = False
            if logger.level == logging.NOTSET or logger.level > logging.WARNING:
                logger.setLevel(logging.WARNING)
            try:
                with warnings.catch_warnings():  # SQLAlchemy's and nbformat's warnings are not the student's
                    warnings.simplefilter("ignore")
                    converter.start()
                return True, collector.messages, ""
            except Exception:
                return False, collector.messages, traceback.format_exc(limit=3)[-2000:]
            finally:
                logger.removeHandler(collector)
                logger.propagate, _ = quiet
                logger.setLevel(quiet[1])

    def generate_assignment(self, assignment: str) -> tuple[bool, list[str], str]:
        from nbgrader.converters import GenerateAssignment

        return self._run(GenerateAssignment, assignment, ".", force=True, create_assignment=True)

    def autograde(self, assignment: str, student: str) -> tuple[bool, list[str], str]:
        from nbgrader.converters import Autograde

        return self._run(Autograde, assignment, student, force=True, create_student=True)

    def generate_feedback(self, assignment: str, students: list[str], jobs: int = 1) -> tuple[bool, list[str], str]:
        """HTML feedback for these students' autograded notebooks: one nbgrader run per process
        (its templates are compiled once), in up to ``jobs`` processes at once (feedback only
        reads the gradebook)."""
        from nbgrader.converters import GenerateFeedback
        from traitlets.config import Config

        autograded = Path(self.coursedir.root) / self.coursedir.autograded_directory
        everyone = sorted(p.parent.name for p in autograded.glob(f"*/{assignment}") if p.is_dir())
        students = [s for s in students if s in everyone]
        if not students:
            return True, [], ""
        shares = [students[i::jobs] for i in range(min(jobs, len(students)))] if len(students) >= 4 else [students]

        from .nbgrader_plugin import feedback_exporter

        def run(share: list[str]) -> tuple[bool, list[str], str]:
            config = Config(self.config)
            config.HTMLExporter.template_name = "feedback"
            config.GenerateFeedback.exporter_class = feedback_exporter()
            config.CourseDirectory.student_id_exclude = ",".join(s for s in everyone if s not in share)
            saved, self.config = self.config, config
            self.coursedir.student_id_exclude = config.CourseDirectory.student_id_exclude
            try:
                return self._run(GenerateFeedback, assignment, "*", force=True)
            finally:
                self.config = saved
                self.coursedir.student_id_exclude = ""

        if len(shares) == 1:
            return run(shares[0])
        return _in_processes(run, shares)

    def export_csv(self, path: Path) -> None:
        """nbgrader's own CSV export (what ``nbgrader export`` writes) of every assignment."""
        from nbgrader.plugins import CsvExportPlugin

        with self.gradebook() as gb:
            CsvExportPlugin(config=self.config, to=str(path)).export(gb)


_engines: dict[str, Any] = {}
_NBGRADERS: dict[str, Any] = {}  # nbgrader's own functions, where this module put others in their place


def _share_engines() -> None:
    """Two costs of nbgrader's gradebook, removed for this process only:

    * nbgrader opens a new ``Gradebook`` (and so a new SQLAlchemy engine) many times per
      submission, and an engine's compiled-statement cache dies with it: most of autograde's
      database time went to compiling the same queries again.  Every ``Gradebook`` now shares
      one engine per database (each still has its own session);
    * a new gradebook is stamped with the newest schema revision, which nbgrader learns by
      starting the ``alembic`` command (seconds); it is read here from the same migration
      scripts with alembic's own API, in this process.
    """
    import nbgrader.api
    from sqlalchemy import create_engine

    def shared_engine(url: Any, **options: Any):
        key = json.dumps([str(url), sorted(options.items())], default=str)
        if key not in _engines:
            _engines[key] = create_engine(url, **options)
        return _engines[key]

    nbgrader.api.create_engine = shared_engine
    if nbgrader.api.get_alembic_version is not _alembic_head:
        _NBGRADERS["get_alembic_version"] = nbgrader.api.get_alembic_version
        nbgrader.api.get_alembic_version = _alembic_head


@lru_cache(maxsize=1)
def _alembic_head() -> str:
    """The gradebook schema's newest revision, as ``alembic heads`` prints it for nbgrader."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        return ScriptDirectory.from_config(AlembicConfig(ini)).get_current_head()


def _in_processes(work: Any, shares: list[Any]) -> tuple[bool, list[str], str]:
    """Run ``work(share)`` for each share in its own forked process; combine (ok, warnings, error)."""
    for engine in _engines.values():  # no database connection may cross a fork
        engine.dispose()
    children = []
    for share in shares:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            outcome = (False, [], "the feedback process failed")
            try:
                for engine in _engines.values():
                    engine.dispose(close=False)
                outcome = work(share)
            finally:
                with os.fdopen(write, "w") as pipe:
                    pipe.write(json.dumps(outcome))
                os._exit(0)
        os.close(write)
        children.append((pid, read))
    ok, messages, errors = True, [], []
    for pid, read in children:
        with os.fdopen(read) as pipe:
            text = pipe.read()
        os.waitpid(pid, 0)
        done, said, error = json.loads(text) if text else (False, [], "the feedback process died")
        ok &= done
        messages += said
        errors += [error] if error else []
    return ok, messages, "\n".join(errors)
