"""A checking process that is started once and forks a fresh, sandboxed child per notebook.

Starting Python and importing torch costs seconds; checking a notebook often costs less.  So the
grader starts one *fork server* per configuration: a Python process that imports torch, numpy,
nbformat, the autograder and the lessons' checks, then hides the answers (see below) and waits.
For every notebook to check it forks a child, which is an exact copy of that prepared process,
so the child starts in milliseconds with everything already imported.  Each child:

* starts its own session (its own process group), dies with its parent (``PR_SET_PDEATHSIG``)
  and runs under the job's address-space limit (``RLIMIT_AS``);
* enters a **user and PID namespace of its own** (Linux): it cannot see, signal or trace the
  fork server, the grader or the other children, it has no privilege over the sandbox's mounts
  (so it cannot unmount what hides the answers), and everything it starts dies with it;
* reads its job (with the secret nonce) from a pipe that only it holds: the fork server never
  reads a job, so no child can find another child's nonce in memory it inherited;
* runs :func:`autograder.isolated.execute_job`, which takes the guard snapshot before the first
  line of learner code, and writes tagged result lines to the job's result file.

**The sandbox.**  Where Linux allows it (``unshare``), the fork server itself runs in a private
user and mount namespace, in which each folder of ``hide`` (``solutions/``, ``.git``, the course
folder, the instructor's extra checks) is covered by an empty, read-only folder once the
imports are done.  Every child inherits that view of the disk.

The parent side is :class:`ForkServer`: ``run(job)`` forks one child, waits for it (up to a
time budget, then kills its process group) and returns how it ended.  Any number of threads may
call ``run`` at once.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

PACKAGE_PARENT = Path(__file__).resolve().parent.parent  # the folder that holds this `autograder`

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
START_TIMEOUT_S = 300  # imports on a busy machine
CHILD_THREADS = 1  # torch's own choice, recorded by the server before it goes single-threaded
BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
        "from autograder.forkserver import serve; serve(sys.argv[2])")


@dataclass
class Ending:
    """How a child ended: its exit code (negative: killed by that signal), or why there is none."""

    code: int | None
    timed_out: bool = False
    lost: bool = False  # the fork server itself went away while the child ran

    def describe(self, budget_s: float) -> str:
        if self.timed_out:
            return f"the checking process was stopped after {budget_s:g} s"
        if self.lost or self.code is None:
            return "the checking service stopped unexpectedly"
        return f"the checking process ended (exit code {self.code})"


class _Waiter:
    def __init__(self) -> None:
        self.forked = threading.Event()
        self.exited = threading.Event()
        self.pid: int | None = None
        self.reply: dict[str, Any] = {}
        self.code: int | None = None
        self.lost = False


class ForkServer:
    """The parent's handle on one fork server (see the module docstring)."""

    def __init__(self, hide: list[Path], sandbox: bool, extra_checks: list[Path] | None = None,
                 preload: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.hide = [Path(p) for p in hide]
        self.preload = list(preload or [])
        self.sandbox = sandbox
        self.extra_checks = [Path(p) for p in extra_checks or []]
        self.env = dict(env or {})
        self._lock = threading.Lock()  # guards _waiters
        self._one_request = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._tmp: str | None = None
        self.info: dict[str, Any] = {}

    # ---------------------------------------------------------------- lifecycle

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and self._sock is not None

    def start(self) -> None:
        """Start the server and wait until its imports are done (raises with its stderr if it fails)."""
        self._tmp = tempfile.mkdtemp(prefix="autograder-server-")
        empty = Path(self._tmp) / "hidden"
        empty.mkdir()
        self.jobs_dir = Path(self._tmp) / "jobs"  # each job's folder (its copy of the notebook, its results)
        self.jobs_dir.mkdir()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        config = dict(fd=theirs.fileno(), hide=[str(p) for p in self.hide], empty=str(empty),
                      host_mount_ns=_mount_namespace(), extra_checks=[str(p) for p in self.extra_checks],
                      lessons=list(self.preload), sandbox=self.sandbox)
        command = [sys.executable, "-c", BOOT, str(PACKAGE_PARENT), json.dumps(config)]
        if self.sandbox:
            command = ["unshare", "--user", "--map-root-user", "--mount", "--", *command]
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", **self.env)
        stderr = open(Path(self._tmp) / "server-stderr.txt", "w")
        try:
            # Its own session: if the grader is killed with its process group, the server still
            # sees it go (end of the socket), stops its children and removes its folder.
            self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=stderr, env=env, cwd=self._tmp, pass_fds=(theirs.fileno(),),
                                          start_new_session=True)
        finally:
            theirs.close()
            stderr.close()
        self._sock = ours
        self._lines = _Lines(ours)
        ready = select.select([ours], [], [], START_TIMEOUT_S)[0]
        message = self._lines.next() if ready else None
        if message is None:
            self.close()
            raise RuntimeError("the checking service did not start:\n" + self.stderr_tail())
        self.info = message
        threading.Thread(target=self._read_replies, name="forkserver-replies", daemon=True).start()

    def stderr_tail(self, chars: int = 3000) -> str:
        path = Path(self._tmp or "") / "server-stderr.txt"
        return path.read_text(errors="replace")[-chars:] if path.is_file() else ""

    def close(self) -> None:
        """Stop the server (its children die with it) and remove its temporary folder."""
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # ---------------------------------------------------------------- running jobs

    def run(self, job: dict[str, Any], lesson: str,
            budget_s: Callable[[list[dict[str, Any]]], float]) -> tuple[Ending, dict[str, Any]]:
        """Fork a child for ``job`` (a JSON-able dict handed only to that child) and wait for it,
        at most ``budget_s(exercises)`` seconds, then kill it.

        Returns how it ended and the server's reply (the lesson's exercises: ``reply["exercises"]``).
        """
        job_read, job_write = os.pipe()
        with os.fdopen(job_write, "wb") as pipe:  # small: fits in the pipe's buffer
            pipe.write(json.dumps(job).encode())
        waiter = _Waiter()
        try:
            with self._one_request:  # one request in flight: its file descriptor cannot be mixed up
                with self._lock:
                    if not self.alive:
                        return Ending(None, lost=True), {}
                    key = next(self._ids)
                    self._waiters[key] = waiter
                request = json.dumps({"op": "fork", "id": key, "lesson": lesson}).encode() + b"\n"
                socket.send_fds(self._sock, [request], [job_read])
                waiter.forked.wait()
        except OSError:
            return Ending(None, lost=True), {}
        finally:
            os.close(job_read)
        if "error" in waiter.reply:
            raise RuntimeError(waiter.reply["error"])
        if waiter.lost or waiter.pid is None:
            return Ending(None, lost=True), waiter.reply
        if not waiter.exited.wait(budget_s(waiter.reply.get("exercises", []))):
            try:
                os.killpg(waiter.pid, signal.SIGKILL)  # the child, and everything it started
            except ProcessLookupError:
                pass
            waiter.exited.wait(30)
            return Ending(waiter.code, timed_out=True), waiter.reply
        return Ending(waiter.code, lost=waiter.lost), waiter.reply

    def _read_replies(self) -> None:
        while True:
            message = self._lines.next()
            if message is None:
                break
            with self._lock:
                waiter = self._waiters.get(message.get("id"))
            if waiter is None:
                continue
            if "pid" in message or "error" in message:
                waiter.pid = message.get("pid")
                waiter.reply = message
                if waiter.pid is None:  # nothing was forked
                    with self._lock:
                        self._waiters.pop(message["id"], None)
                    waiter.exited.set()
                waiter.forked.set()
            if "exit" in message:
                waiter.code = message["exit"]
                with self._lock:
                    self._waiters.pop(message["id"], None)
                waiter.exited.set()
        with self._lock:  # the server is gone: nobody is waiting for it any more
            for waiter in self._waiters.values():
                waiter.lost = True
                waiter.forked.set()
                waiter.exited.set()
            self._waiters.clear()


class _Lines:
    """JSON messages, one per line, read from a stream socket (with the file descriptors sent
    along, for the server)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer, self.fds = sock, b"", []

    def next(self) -> dict[str, Any] | None:
        """The next message (None at the end of the stream)."""
        while b"\n" not in self.buffer:
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 4)
            except OSError:
                return None
            if not data:
                return None
            self.buffer += data
            self.fds += fds
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def _mount_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/mnt").st_ino
    except OSError:
        return 0


# ==================================================================== inside the fork server

_libc = None


def _libc_call(name: str, *args: Any) -> None:
    """Call a libc function; raise OSError if it fails."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if getattr(_libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def serve(config_json: str) -> None:
    """The fork server's main loop (runs in the server process)."""
    config = json.loads(config_json)
    sock = socket.socket(fileno=config["fd"])
    try:
        load_lesson = _preload(config["lessons"], config["extra_checks"])
        if config["sandbox"]:
            # What to hide is decided here, with this process's own sys.path: every copy of the
            # course package that code running here could find.
            from .isolated import hidden_paths

            hide = hidden_paths([Path(p) for p in config["hide"]])
            _hide([str(p) for p in hide], config["empty"], config["host_mount_ns"])
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
    gc.freeze()  # what is imported now is shared with every child, untouched
    children: dict[int, int] = {}  # pid -> request id
    try:
        _send(sock, {"ready": True, "pid": os.getpid()})
        _serve_requests(sock, load_lesson, children)
    except OSError:  # the grader is gone (a broken pipe)
        pass
    for pid in children:  # stop every child, remove this server's folder, leave
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    shutil.rmtree(os.getcwd(), ignore_errors=True)
    os._exit(0)


def _serve_requests(sock: socket.socket, load_lesson: Callable[[str], dict[str, Any]],
                    children: dict[int, int]) -> None:
    """Fork a child for each request, report each child's end; returns when the grader is gone."""
    lines = _Lines(sock)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        try:
            ready = select.select([sock, wake_read], [], [])[0]
        except InterruptedError:
            continue
        if wake_read in ready:
            os.read(wake_read, 4096)
            _reap(children, sock)
        if sock not in ready:
            continue
        request = lines.next()
        if request is None:
            return
        fds, lines.fds = lines.fds, []  # the requester's pipe: sent with this request (one at a time)
        try:
            reply = {"id": request["id"], **load_lesson(request["lesson"])}
        except Exception as error:  # an unknown lesson: say so, fork nothing
            _send(sock, {"id": request["id"], "error": f"{type(error).__name__}: {error}"})
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            _child(fds[0], [sock.fileno(), wake_read, wake_write, *fds[1:]])
        for fd in fds:
            os.close(fd)
        children[pid] = request["id"]
        _send(sock, {**reply, "pid": pid})
        _reap(children, sock)


def skip_slow_optional_imports() -> None:
    """Keep ``jsonschema`` (imported by nbformat and nbgrader) from building the grammar of the
    optional ``rfc3987_syntax`` package at import: seconds, for an "iri" string format that no
    notebook schema uses.  jsonschema imports it inside ``suppress(ImportError)`` and simply
    goes without that format check."""
    import sys

    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def _preload(lessons: list[str], extra_checks: list[str]):
    """Import what every check needs; returns a function that loads one lesson's checks.

    torch stays single-threaded in the server: a team of OpenMP threads started here (by any
    computation while importing) would leave every forked child hanging the first time it
    computes in parallel.  Each child sets its own number of threads.
    """
    skip_slow_optional_imports()
    import nbformat
    import numpy  # noqa: F401
    import torch

    global CHILD_THREADS
    CHILD_THREADS = torch.get_num_threads()
    torch.set_num_threads(1)

    from . import catalog, feedback, guard, isolated, notebook, registry, runner  # noqa: F401

    # nbformat builds its JSON-schema validator on first use: do it once, here.
    nbformat.reads(nbformat.writes(nbformat.v4.new_notebook()), as_version=4)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401  (most lesson notebooks import it)
    except ImportError:
        pass
    isolated.import_extra_checks([Path(p) for p in extra_checks])
    loaded: dict[str, dict[str, Any]] = {}

    def lesson(number: str) -> dict[str, Any]:
        if number not in loaded:
            found = catalog.get_lesson(number)
            torch.set_num_threads(1)  # whatever the lesson's modules did on import
            _import_what_the_lesson_uses(found.number, found.notebook)
            loaded[number] = {"lesson": found.number, "exercises": [
                {"name": e.name, "points": e.points, "hint": e.hint} for e in found]}
        return loaded[number]

    for number in lessons:
        lesson(number)
    return lesson


# torch imports these on first use, inside calls the checks make (torch._check_with, used by
# nn.MultiheadAttention, imports sympy): seconds in every child, unless imported here once.
TORCH_LAZY_IMPORTS = ("torch.fx.experimental.symbolic_shapes",)


def _import_what_the_lesson_uses(number: str, notebook_name: str) -> None:
    """Import every module that the lesson's check modules (anywhere in them, functions
    included) and its student notebook's code import, so that no child pays for it."""
    import ast
    import importlib

    from .catalog import LESSONS_DIR
    from .notebook import python_source

    sources = []
    for name, module in list(sys.modules.items()):
        if name.startswith("autograder.") and name.endswith(f".lesson{number}") and getattr(module, "__file__", None):
            sources.append((Path(module.__file__).read_text(encoding="utf-8"), module.__package__))
    released = LESSONS_DIR / notebook_name
    if released.is_file():
        cells = json.loads(released.read_text(encoding="utf-8")).get("cells", [])
        sources += [(python_source("".join(c.get("source", ""))), None) for c in cells if c.get("cell_type") == "code"]
    wanted = list(TORCH_LAZY_IMPORTS)
    for text, package in sources:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                wanted += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.level == 0 or package):
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                    if node.level else node.module
                wanted += [base] + [f"{base}.{alias.name}" for alias in node.names]
    for name in dict.fromkeys(wanted):
        if name and name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # not a module (a name imported from one), or not installed: fine
                pass


def _hide(paths: list[str], empty: str, host_mount_ns: int) -> None:
    """Cover each folder of ``paths`` with the empty folder, read-only, in this mount namespace."""
    if _mount_namespace() in (0, host_mount_ns):  # never touch the machine's own mounts
        raise RuntimeError("refusing to hide folders: not in a private mount namespace")
    for path in paths:
        _libc_call("mount", empty.encode(), path.encode(), None, MS_BIND, None)
        _libc_call("mount", b"none", path.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)


def _reap(children: dict[int, int], sock: socket.socket) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        key = children.pop(pid, None)
        if key is not None:
            _send(sock, {"id": key, "exit": os.waitstatus_to_exitcode(status)})


# ==================================================================== inside a child

def _child(job_fd: int, close: list[int]) -> None:
    """Become the checking process for one job; never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in close:
            os.close(fd)
        os.setsid()  # its own process group: a timeout kills everything it started
        server = os.getppid()
        _die_with_parent()
        if os.getppid() != server:
            os._exit(1)
        with os.fdopen(job_fd, "rb") as pipe:
            job = json.loads(pipe.read())
        if job.get("memory_mb"):
            import resource

            limit = int(job["memory_mb"]) * 2**20
            try:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            except (ValueError, OSError):  # a system that does not limit address space (macOS)
                pass
        server_mounts = _mount_namespace()
        if _own_namespaces():
            if _mount_namespace() not in (0, server_mounts):  # never touch the server's mounts
                _show_only_own_job(job)
            _wait_for_grandchild()  # returns only in the grandchild, which does the work
            _lock_mounts()
        else:
            _drop_capabilities()
        import torch

        torch.set_num_threads(int(job.get("threads") or CHILD_THREADS))
        from .isolated import execute_job

        execute_job(job)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _die_with_parent() -> None:
    """Linux: receive SIGKILL when the parent process dies (elsewhere the server's own cleanup
    stops its children)."""
    if sys.platform.startswith("linux"):
        _libc_call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _own_namespaces() -> bool:
    """Enter a new user, PID and mount namespace (Linux); False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    return _new_user_namespace(CLONE_NEWPID | CLONE_NEWNS)


def _new_user_namespace(also: int) -> bool:
    """unshare(CLONE_NEWUSER | also), keeping this process's user and group ids."""
    uid, gid = os.getuid(), os.getgid()
    try:
        _libc_call("unshare", CLONE_NEWUSER | also)
    except (OSError, AttributeError):
        return False
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    return True


def _show_only_own_job(job: dict[str, Any]) -> None:
    """In this process's new mount namespace, cover the server's folder of jobs (other students'
    notebooks being checked at the same time) with an empty one that holds only this job's.
    Best effort: where the system does not allow it, the job runs as it is."""
    jobs, own = job.get("jobs_dir"), job.get("own_dir")
    if not jobs or not own or Path(own).parent != Path(jobs):
        return
    keep = os.open(own, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _libc_call("mount", b"none", b"/", None, MS_REC | MS_PRIVATE, None)
        _libc_call("mount", b"tmpfs", jobs.encode(), b"tmpfs", 0, b"size=64k,mode=0755")
        target = Path(jobs) / Path(own).name
        target.mkdir()
        _libc_call("mount", f"/proc/self/fd/{keep}".encode(), str(target).encode(), None, MS_BIND, None)
    except OSError:
        traceback.print_exc()
    finally:
        os.close(keep)


def _lock_mounts() -> None:
    """Enter one more user and mount namespace: the mounts made by the parent become locked
    (they cannot be undone from here), and this process has no privilege left over them."""
    if not _new_user_namespace(CLONE_NEWNS):
        print("could not lock the job's own mounts", file=sys.stderr)


def _wait_for_grandchild() -> None:
    """Fork the process that will be PID 1 of the new PID namespace; this one waits for it and
    exits as it did.  Returns only in the new process."""
    pid = os.fork()
    if pid == 0:
        _die_with_parent()
        return
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: die by the same one, so the grader sees it
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if code >= 0 else 128 - code)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """Give up every capability (where namespaces could not be entered): a child must never be
    able to unmount what hides the answers."""
    if not sys.platform.startswith("linux"):
        return
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    try:
        _libc_call("capset", ctypes.byref(header), data)
    except (OSError, AttributeError):
        pass
