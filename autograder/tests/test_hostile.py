"""Grading integrity: hostile and broken submissions, graded together with honest ones.

Every case is built from the real lesson 05 (attention) or 01 notebooks.  The whole class is
graded in ONE run of the instructor's `grade` command (parallel checking, nbgrader gradebook,
CSV), with a low memory limit so the memory bomb can never endanger the machine.  Each
submission must get exactly its documented score (the table in docs/instructors.md) and a
clear message in the grading report, and the honest students' scores must be untouched.

A second copy of the course package, with its own solutions/, is put on PYTHONPATH for the
run (as an editable install elsewhere would be): the answers must stay out of reach wherever
the package was installed from.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest

from autograder.catalog import LESSONS_DIR, SOLUTIONS_DIR, get_lesson
from autograder.grade import grade
from autograder.isolated import sandbox_available

pytestmark = pytest.mark.slow

L05, L01 = get_lesson("05"), get_lesson("01")
FULL05, FULL01 = L05.points, L01.points


def solution(lesson) -> nbformat.NotebookNode:
    return nbformat.read(str(SOLUTIONS_DIR / lesson.notebook), as_version=4)


def stub(lesson) -> nbformat.NotebookNode:
    return nbformat.read(str(LESSONS_DIR / lesson.notebook), as_version=4)


def index_of(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def replace(nb, grade_id: str, source: str):
    nb.cells[index_of(nb, grade_id)].source = source
    return nb


def insert_after(nb, grade_id: str, source: str):
    nb.cells.insert(index_of(nb, grade_id) + 1, nbformat.v4.new_code_cell(source))
    return nb


def append(nb, source: str):
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


BAD_SOFTMAX = "def softmax(x, dim=-1):\n    e = torch.exp(x)\n    return e / e.sum(dim=dim, keepdim=True)"


def build_cases(course: Path) -> dict[str, tuple[object, int, str, str]]:
    """{student: (notebook or raw bytes, expected score, assignment, message in the report)}."""
    a05, a01 = L05.notebook.removesuffix(".ipynb"), L01.notebook.removesuffix(".ipynb")
    other = course / "submitted" / "honest" / a05 / L05.notebook
    cases = {
        # controls
        "honest": (solution(L05), FULL05, a05, "passed"),
        "untouched_stub": (stub(L05), 0, a05, "not implemented yet"),
        # runaway code
        "infinite_loop": (replace(solution(L05), "softmax", "def softmax(x, dim=-1):\n    while True:\n        pass"),
                          FULL05 - 2, a05, "did not finish"),
        "memory_bomb": (replace(solution(L05), "padding_mask",
                                "def padding_mask(lengths, T):\n    hoard = []\n    while True:\n"
                                "        hoard.append(bytearray(2**31))"), FULL05 - 1, a05, "ran out of memory"),
        "sys_exit_cell": (insert_after(solution(L05), "check_causal_mask", "import sys\nsys.exit()"),
                          3, a05, "the notebook stopped at"),
        "os_exit_midway": (insert_after(solution(L05), "check_causal_mask", "import os\nos._exit(1)"),
                           3, a05, "not checked"),
        "keyboard_interrupt_in_function": (replace(solution(L05), "padding_mask",
                                                   "def padding_mask(lengths, T):\n    raise KeyboardInterrupt"),
                                           FULL05 - 1, a05, "tried to stop the grader"),
        "system_exit_in_function": (replace(solution(L05), "softmax", "def softmax(x, dim=-1):\n    raise SystemExit(0)"),
                                    FULL05 - 2, a05, "tried to stop the grader"),
        # monkeypatching what the checks use
        "patches_torch_allclose": (insert_after(replace(solution(L05), "softmax", BAD_SOFTMAX), "softmax",
                                          "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
                                          "torch.isnan = lambda x: torch.zeros_like(x, dtype=torch.bool)"),
                                   FULL05 - 2, a05, "restored"),
        "patches_numpy_testing": (insert_after(replace(solution(L05), "softmax", BAD_SOFTMAX), "softmax",
                                               "import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None"),
                                  FULL05 - 2, a05, "NaN"),
        "patches_import": (insert_after(stub(L05), "softmax",
                                        "import builtins, types\n_real = builtins.__import__\n"
                                        "fake = types.SimpleNamespace(check=lambda *a, **k: None)\n"
                                        "builtins.__import__ = lambda n, *a, **k: fake if n.startswith('autograder') "
                                        "else _real(n, *a, **k)"), 0, a05, "not implemented yet"),
        "patches_autograder": (insert_after(stub(L05), "softmax",
                                            "import autograder.runner as r, autograder.registry as g, autograder.feedback as f\n"
                                            "r.run_exercise = lambda e, ns, t=60: g.Result(e.lesson.number, e.name, e.points, True)\n"
                                            "f.expect_tensor_close = lambda *a, **k: None\n"
                                            "g.CheckFailure = type('Nope', (Exception,), {})"), 0, a05, "not implemented yet"),
        # editing the notebook's structure
        "redefines_after_test": (insert_after(replace(solution(L05), "softmax", BAD_SOFTMAX), "check_softmax",
                                              solution(L05).cells[index_of(solution(L05), "softmax")].source),
                                 FULL05 - 2, a05, "NaN"),
        "test_cell_edited_to_pass": (replace(replace(solution(L05), "softmax", BAD_SOFTMAX), "check_softmax", "pass"),
                                     FULL05 - 2, a05, "NaN"),
        "test_cell_deleted": (_delete(solution(L05), "check_causal_mask"), FULL05, a05, "passed"),
        "duplicated_cells": (_duplicate(solution(L05), "padding_mask", "check_padding_mask"), FULL05, a05,
                             "only the last copy is graded"),
        "code_cell_to_markdown": (_to_markdown(solution(L05), "padding_mask"), FULL05 - 1, a05, "not defined"),
        "invalid_json": (b'{"cells": [ this is not json', 0, a05, "not a readable Jupyter notebook"),
        "truncated_file": (nbformat.writes(solution(L05)).encode()[:5000], 0, a05, "not a readable Jupyter notebook"),
        "nbformat_v3": (nbformat.writes(nbformat.convert(solution(L05), 3)).encode(), FULL05, a05, "passed"),
        "fifty_mb_of_output": (insert_after(solution(L05), "softmax", "print('x' * 50_000_000)"), FULL05, a05, "passed"),
        # wrong answers of every kind
        "wrong_shape": (replace(solution(L05), "padding_mask",
                                "def padding_mask(lengths, T):\n    return torch.arange(T) < lengths[:, None]"),
                        FULL05 - 1, a05, "shape"),
        "wrong_dtype": (replace(solution(L05), "padding_mask",
                                "def padding_mask(lengths, T):\n    return (torch.arange(T) < lengths[:, None])[:, None, :].float()"),
                        FULL05 - 1, a05, "dtype"),
        "nans": (replace(solution(L05), "softmax", BAD_SOFTMAX), FULL05 - 2, a05, "NaN"),
        "numpy_for_torch": (replace(solution(L05), "softmax",
                                    "import numpy as np\ndef softmax(x, dim=-1):\n    e = np.exp(x.numpy() - x.numpy().max(axis=dim, keepdims=True))\n"
                                    "    return e / e.sum(axis=dim, keepdims=True)"), FULL05 - 2, a05, "should be a Tensor"),
        "torch_for_list": (replace(solution(L01), "char_vocab",
                                   "import torch\n\ndef char_vocab(text):\n    return torch.tensor([ord(c) for c in sorted(set(text))])"),
                           FULL01 - 1, a01, "list"),
        # reaching outside the notebook
        "reads_solutions": (insert_after(stub(L05), "MultiHeadAttention",
                                         "import json\nfrom autograder.catalog import SOLUTIONS_DIR\n"
                                         "for c in json.load(open(SOLUTIONS_DIR / '05_attention.ipynb'))['cells']:\n"
                                         "    if c.get('metadata', {}).get('nbgrader', {}).get('solution'):\n"
                                         "        exec(''.join(c['source']))"), 0, a05, "not implemented yet"),
        "finds_solutions_everywhere": (insert_after(stub(L05), "MultiHeadAttention", FIND_SOLUTIONS), 0, a05,
                                       "not implemented yet"),
        "unmounts_the_sandbox": (insert_after(stub(L05), "MultiHeadAttention", UNMOUNT + FIND_SOLUTIONS), 0, a05,
                                 "not implemented yet"),
        "borrows_grading_code": (insert_after(stub(L05), "softmax", BORROW), 0, a05, "grader's own code"),
        "reaches_the_fork_server": (insert_after(stub(L05), "softmax", REACH_SERVER), 0, a05, "not implemented yet"),
        "copies_a_classmate": (insert_after(stub(L05), "MultiHeadAttention", COPY_CLASSMATE), 0, a05,
                               "not implemented yet"),
        "writes_course_folder": (append(solution(L05),
                                        f"from pathlib import Path\ncourse = Path({str(course)!r})\n"
                                        "for name in ['gradebook.db', 'grades.csv']:\n"
                                        "    try:\n        (course / name).write_text('pwned')\n    except OSError:\n        pass\n"
                                        f"try:\n    Path({str(other)!r}).write_text('pwned')\nexcept OSError:\n    pass"),
                                 FULL05, a05, "passed"),
    }
    return cases


# Every way a notebook could find a copy of the course's answers: the package it imports, the
# catalog's own path, importlib.resources and .metadata, every sys.path entry; then it runs them.
FIND_SOLUTIONS = """
import json, sys, importlib.resources, importlib.metadata
from pathlib import Path
import autograder
from autograder import catalog
places = {Path(autograder.__file__).resolve().parent.parent, catalog.REPO_ROOT,
          Path(str(importlib.resources.files("autograder"))).resolve().parent}
places |= {Path(p).resolve() for p in sys.path if p}
try:
    dist = importlib.metadata.distribution("transformers-from-scratch-autograder")
    places.add(Path(dist.locate_file("")).resolve())
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    if url.startswith("file://"):
        places.add(Path(url[7:]))
except Exception:
    pass
for place in places:
    try:
        cells = json.loads((place / "solutions" / "05_attention.ipynb").read_text())["cells"]
    except OSError:
        continue
    for cell in cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]))
"""
# Root inside a user namespace may try to take the sandbox's mounts away (and make its own).
UNMOUNT = """
import ctypes
from autograder import catalog
libc = ctypes.CDLL(None, use_errno=True)
libc.umount2(str(catalog.SOLUTIONS_DIR).encode(), 2)
libc.unshare(0x00020000)
libc.umount2(str(catalog.SOLUTIONS_DIR).encode(), 2)
"""
# The grader's own modules (reference code) are not importable by a notebook; a function taken
# from one by other means makes a check not count.
BORROW = """
import importlib, torch
try:
    from autograder.grading import lesson05 as grading
except ImportError:
    grading = importlib.import_module("autograder.grading.lesson05")
    def softmax(x, dim=-1):
        return torch.softmax(x, dim)
    softmax.__module__ = grading.__name__  # as if it were one of the grader's own functions
"""
# The fork server outlives each submission: no child may write its memory or signal it.  The
# server is the topmost of this process's ancestors that runs the fork server's code (the
# child's waiting parent runs it too).
REACH_SERVER = """
import os, torch
def parent(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("PPid:"):
            return int(line.split()[1])
def runs_server(pid):
    return pid > 0 and b"forkserver" in open(f"/proc/{pid}/cmdline", "rb").read()
server, pid = None, parent(int(os.readlink("/proc/self")))
while runs_server(pid):
    server, pid = pid, parent(pid)
try:
    open(f"/proc/{server}/mem", "r+b").close()
    def softmax(x, dim=-1):
        return torch.softmax(x, dim)
except OSError:
    pass
try:
    os.kill(server, 9)
except OSError:
    pass
"""


# Other students' notebooks are checked at the same time, each in its own folder next to this
# one's: a child sees only its own (and cannot unmount what hides the others).
COPY_CLASSMATE = """
import ctypes, json, time
from pathlib import Path
time.sleep(1)
jobs = Path.cwd().parent.parent
libc = ctypes.CDLL(None, use_errno=True)
libc.umount2(str(jobs).encode(), 2)
libc.unshare(0x00020000)
libc.umount2(str(jobs).encode(), 2)
for other in [*jobs.glob("*/work/*.ipynb"), *Path("/tmp").glob("*/*/*/work/*.ipynb")]:
    if other.parent != Path.cwd():
        try:
            cells = json.loads(other.read_text())["cells"]
        except (OSError, ValueError):
            continue
        for cell in cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                try:
                    exec("".join(cell["source"]))
                except Exception:
                    pass
"""


def _delete(nb, grade_id: str):
    del nb.cells[index_of(nb, grade_id)]
    return nb


def _duplicate(nb, *grade_ids: str):
    for grade_id in grade_ids:
        i = index_of(nb, grade_id)
        nb.cells.insert(i + 1, nbformat.from_dict(nb.cells[i]))
    return nb


def _to_markdown(nb, grade_id: str):
    i = index_of(nb, grade_id)
    nb.cells[i] = nbformat.v4.new_markdown_cell(nb.cells[i].source, metadata=nb.cells[i].metadata)
    return nb


@pytest.mark.timeout(1800)
@pytest.mark.skipif(not sandbox_available(), reason="needs Linux mount namespaces (unshare)")
def test_hostile_submissions_get_their_documented_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = tmp_path / "course"
    submissions = tmp_path / "submissions"
    elsewhere = tmp_path / "installed-elsewhere"  # another copy of the package, with its answers
    (elsewhere / "autograder").mkdir(parents=True)
    (elsewhere / "autograder" / "__init__.py").write_text("")
    shutil.copytree(SOLUTIONS_DIR, elsewhere / "solutions")
    monkeypatch.setenv("PYTHONPATH", str(elsewhere))
    cases = build_cases(course)
    for student, (content, _, assignment, _) in cases.items():
        folder = submissions / student
        folder.mkdir(parents=True)
        path = folder / f"{assignment}.ipynb"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, str(path))

    run = grade(course, submissions, ["01", "05"], timeout=30, cell_timeout=30, memory_mb=3072, progress=False)

    scores = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(run.grades_csv.open())}
    report = list(csv.DictReader((course / "autograder" / "report.csv").open()))
    wrong = {}
    for student, (_, expected, assignment, message) in cases.items():
        got = scores.get((student, assignment))
        lines = " | ".join(r["message"] for r in report if r["student_id"] == student and r["assignment"] == assignment)
        if got != expected or message not in lines:
            wrong[student] = f"score {got}, expected {expected}; report: {lines[:300]}"
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    # nothing a submission did reached the gradebook or another student's files
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("select count(*) from student").fetchone()[0] == len(cases)
    honest = (course / "submitted" / "honest" / L05.notebook.removesuffix(".ipynb") / L05.notebook)
    assert json.loads(honest.read_text())["cells"]
