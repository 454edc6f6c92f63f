"""The student kit (`python -m autograder release --kit DIR`): nothing in it reveals a solution, and it
works on its own in a fresh virtual environment that cannot see this repository."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import kit as kit_module
from autograder.catalog import LESSONS_DIR, PACKAGE_DIR, REPO_ROOT, SOLUTIONS_DIR, all_lessons

LESSONS = list(all_lessons().values())
MIN_SECRET_LENGTH = 20   # shorter solution lines ("return x", "B, T = idx.shape") say nothing by themselves


def autograder(*args: str, cwd: Path = REPO_ROOT, python: str = sys.executable,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env=env)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kit")
    roster = out.parent / "roster.csv"
    roster.write_text("# our class\nalice,Alice A.\nbob,Bob B.\n", encoding="utf-8")
    proc = autograder("release", "--kit", str(out), "--students", str(roster))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "practice checks only" in proc.stdout
    return out


def _wheel(kit: Path) -> zipfile.ZipFile:
    (wheel,) = (kit / "wheels").glob("*.whl")
    return zipfile.ZipFile(wheel)


# ---------------------------------------------------------------- what ships

def test_the_kit_has_what_a_student_needs(kit: Path) -> None:
    assert {p.name for p in (kit / "lessons").glob("*.ipynb")} == {lesson.notebook for lesson in LESSONS}
    for lesson in LESSONS:
        assert (kit / "lessons" / lesson.notebook).read_bytes() == (LESSONS_DIR / lesson.notebook).read_bytes()
    requirements = (kit / "requirements.txt").read_text(encoding="utf-8")
    assert "torch==2.13.0" in requirements and "./wheels/" in requirements
    readme = (kit / "README.md").read_text(encoding="utf-8")
    assert "pip install -r requirements.txt" in readme and "jupyter lab lessons/" in readme
    names = set(_wheel(kit).namelist())
    for lesson in LESSONS:
        assert f"autograder/practice/lesson{lesson.number}.py" in names
        assert f"autograder/practice/examples/{lesson.notebook.removesuffix('.ipynb')}.json" in names
    assert "autograder/datasets/shakespeare.txt" in names and "autograder/by_hand_problems.json" in names


def test_no_grading_checks_references_or_test_data_ship(kit: Path) -> None:
    wheel = _wheel(kit)
    names = wheel.namelist()
    for folder in kit_module.INSTRUCTOR_FOLDERS:
        shipped = [n for n in names if n.startswith(f"autograder/{folder}/")]
        # grading/ and reference/ ship only an __init__ that refuses to import
        assert shipped in ([], [f"autograder/{folder}/__init__.py"]), shipped
        for name in shipped:
            assert b"raise ImportError" in wheel.read(name)
    for module in kit_module.INSTRUCTOR_MODULES:
        assert f"autograder/{module}.py" not in names
    assert not any("solutions" in n or n.endswith(".ipynb") for n in names)
    assert not (kit / "solutions").exists()
    everything = b"\n".join(wheel.read(n) for n in names if not n.endswith("shakespeare.txt"))
    assert b"def solve" not in everything, "lesson 06's answer key shipped"
    assert b"lesson.mutant(" not in everything and b"lesson.alternative(" not in everything


def test_every_module_is_either_for_students_or_for_instructors() -> None:
    modules = {p.stem for p in PACKAGE_DIR.glob("*.py")}
    listed = set(kit_module.STUDENT_MODULES) | set(kit_module.INSTRUCTOR_MODULES)
    assert modules == listed, (f"decide for each module whether it ships in the student kit (kit.STUDENT_MODULES) "
                               f"or not (kit.INSTRUCTOR_MODULES): unlisted {sorted(modules - listed)}, "
                               f"missing {sorted(listed - modules)}")
    folders = {p.name for p in PACKAGE_DIR.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(kit_module.STUDENT_FOLDERS) | set(kit_module.INSTRUCTOR_FOLDERS)


def test_practice_checks_import_no_instructor_code() -> None:
    forbidden = (*kit_module.INSTRUCTOR_FOLDERS, *kit_module.INSTRUCTOR_MODULES)
    for path in sorted((PACKAGE_DIR / "practice").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                parts = (node.module or "").split(".")
                assert not set(parts) & set(forbidden), f"{path.name} imports {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not set(alias.name.split(".")) & set(forbidden), f"{path.name} imports {alias.name}"


# ---------------------------------------------------------------- no solution line anywhere in the kit

def _code_lines(source: str) -> list[str]:
    """Each line of code, comments dropped, whitespace collapsed."""
    lines = []
    for line in source.splitlines():
        code = line.strip()
        code = "" if code.startswith("#") else re.sub(r"\s+#.*$", "", code)
        if code:
            lines.append(" ".join(code.split()))
    return lines


def _solution_lines(lesson) -> list[str]:
    """The lines of code inside the solution blocks of a lesson's complete notebook."""
    found = []
    nb = nbformat.read(str(SOLUTIONS_DIR / lesson.notebook), as_version=4)
    for cell in nb.cells:
        for block in re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", cell.source, flags=re.S):
            found.extend(_code_lines(block))
    return found


def _flat(text: str) -> str:
    return " ".join(text.split())


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _kit_texts(kit: Path) -> dict[str, str]:
    """Every text in the kit (the wheel's files too), JSON and notebooks as their strings, flattened."""
    texts = {}
    for path in sorted(p for p in kit.rglob("*") if p.is_file()):
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                items = [(f"{path.name}!{name}", wheel.read(name)) for name in wheel.namelist()]
        else:
            items = [(str(path.relative_to(kit)), path.read_bytes())]
        for name, data in items:
            if name.endswith("shakespeare.txt"):
                continue
            text = data.decode("utf-8")
            if name.endswith((".json", ".ipynb")):
                text = "\n".join(_strings(json.loads(text)))
            texts[name] = _flat(text)
    return texts


def test_nothing_in_the_kit_reveals_a_solution(kit: Path) -> None:
    """No line of a solution block (of 20 characters or more) appears in any file of the kit, the
    wheel's contents included, except where a released notebook gives that very line to the
    student (in its text or given code) — in that lesson or a later one, which builds on it."""
    texts = _kit_texts(kit)
    notebooks = {lesson.number: texts[f"lessons/{lesson.notebook}"] for lesson in LESSONS}
    leaks = []
    for lesson in LESSONS:
        later = [text for number, text in notebooks.items() if number >= lesson.number]
        for line in dict.fromkeys(_solution_lines(lesson)):
            if len(line) < MIN_SECRET_LENGTH or any(line in text for text in later):
                continue  # said by the lesson itself, or given as code in a lesson that builds on it
            leaks += [f"{name}: {line!r} (from solutions/{lesson.notebook})" for name, text in texts.items()
                      if line in text]
    assert not leaks, "solution code in the student kit:\n" + "\n".join(leaks)


# ---------------------------------------------------------------- the kit on its own

@pytest.fixture(scope="module")
def kit_python(kit: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh venv with the kit's wheel installed, whose only other packages are this machine's
    installed libraries (torch, ...), not this repository: its editable install is not visible."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    site = subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    libraries = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (Path(site) / "course_libraries.pth").write_text("\n".join(libraries) + "\n", encoding="utf-8")
    (wheel,) = (kit / "wheels").glob("*.whl")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, env=_kit_env())
    return python


def _kit_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return dict(env, MPLBACKEND="Agg")


def test_in_the_kit_practice_checks_fail_on_stubs_and_pass_on_solutions(kit: Path, kit_python: str) -> None:
    script = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        import autograder
        from autograder.catalog import all_lessons, grading_installed
        from autograder.notebook import load_notebook
        from autograder.runner import run_exercise
        assert "site-packages" in autograder.__file__, autograder.__file__
        assert not grading_installed()
        try:
            import autograder.grading.lesson05
        except ImportError as error:
            refused = str(error)
        else:
            refused = ""
        report = {{"refused": refused, "lessons": {{}}}}
        for number, lesson in all_lessons().items():
            assert all(not e.grading for e in lesson), "grading checks registered in the kit"
            stub = load_notebook(Path("lessons") / lesson.notebook)
            solution = load_notebook(Path({str(SOLUTIONS_DIR)!r}) / lesson.notebook)
            report["lessons"][number] = {{
                "stub": [run_exercise(e, stub).message for e in lesson],
                "solution": [run_exercise(e, solution).line() for e in lesson if not run_exercise(e, solution).passed],
            }}
        print(json.dumps(report))
    """)
    proc = subprocess.run([kit_python, "-c", script], cwd=kit, capture_output=True, text=True, timeout=900,
                          env=_kit_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "not part of the student kit" in report["refused"]
    for number, outcome in report["lessons"].items():
        assert all(m.startswith("not implemented yet") for m in outcome["stub"]), (number, outcome["stub"])
        assert not outcome["solution"], (number, outcome["solution"])


def test_in_the_kit_check_runs_practice_checks_only(kit: Path, kit_python: str) -> None:
    proc = autograder("check", "05", python=kit_python, cwd=kit, env=_kit_env())
    assert proc.returncode == 1 and proc.stdout.count("not implemented yet") == 8, proc.stdout + proc.stderr
    assert "practice checks" in proc.stdout
    proc = autograder("check", "05", "--notebook", str(SOLUTIONS_DIR / "05_attention.ipynb"), "--json",
                      python=kit_python, cwd=kit, env=_kit_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["tiers"] == ["practice"]
    proc = autograder("release", python=kit_python, cwd=kit, env=_kit_env())
    assert proc.returncode == 2 and "not of the student kit" in proc.stderr, proc.stderr


def test_in_the_repository_check_runs_both_tiers() -> None:
    proc = autograder("check", "05", "--notebook", str(SOLUTIONS_DIR / "05_attention.ipynb"), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["tiers"] == ["practice", "grading"]


def test_a_lesson_notebook_runs_in_jupyter_with_the_kit(kit: Path, kit_python: str, tmp_path: Path) -> None:
    """The released notebook's graded cells work in a real kernel of the kit's Python: each one
    ends in one clean ✗ (the practice check's "not implemented yet"), nothing else fails."""
    script = textwrap.dedent("""
        import json, sys
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
        nb = nbformat.read("lessons/05_attention.ipynb", as_version=4)
        nb.cells = [c for c in nb.cells if "skip-execution" not in c.metadata.get("tags", [])]
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
        errors = [(c.metadata.get("nbgrader", {}).get("grade_id"), o.get("ename"), o.get("traceback"))
                  for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        print(json.dumps(errors))
    """)
    proc = subprocess.run([kit_python, "-c", script], cwd=kit, capture_output=True, text=True, timeout=900,
                          env=_kit_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    errors = json.loads(proc.stdout.strip().splitlines()[-1])
    in_graded_cells = [(grade_id, ename, traceback) for grade_id, ename, traceback in errors if grade_id]
    assert {grade_id.removeprefix("check_") for grade_id, _, _ in in_graded_cells} == {e.name for e in all_lessons()["05"]}
    for grade_id, ename, traceback in in_graded_cells:
        assert ename == "ExerciseFailed" and "not implemented yet" in "\n".join(traceback), (grade_id, traceback)
        assert not any("File " in line for line in traceback), traceback
    # the other cells that fail are those that call an exercise the stub does not implement yet
    assert {ename for grade_id, ename, _ in errors if not grade_id} <= {"NotImplementedError"}, errors


# ---------------------------------------------------------------- refusing to build

def test_a_kit_is_not_written_into_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    proc = autograder("release", "--kit", str(tmp_path))
    assert proc.returncode == 2 and "--force" in proc.stderr
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_kit_is_not_built_from_drifted_lessons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    for lesson in LESSONS:
        (lessons / lesson.notebook).write_bytes((LESSONS_DIR / lesson.notebook).read_bytes())
    stale = lessons / "05_attention.ipynb"
    stale.write_text(stale.read_text(encoding="utf-8").replace("Softmax", "Softmin", 1), encoding="utf-8")
    monkeypatch.setattr(kit_module, "LESSONS_DIR", lessons)
    with pytest.raises(kit_module.KitError, match="05_attention.ipynb is out of date"):
        kit_module.build_kit(tmp_path / "kit")
    assert not (tmp_path / "kit").exists()
