"""An instructor's own hidden checks: `grade --extra-checks DIR` (the worked example of the guide,
docs/examples/extra_checks/, and broken modules that must stop the run before anything is graded)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.catalog import REPO_ROOT

from .classroom import solution, write

EXAMPLE = REPO_ROOT / "docs" / "examples" / "extra_checks"


def grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=900)


def scores(course: Path) -> dict[str, float]:
    with (course / "grades.csv").open(newline="", encoding="utf-8") as f:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}


@pytest.mark.slow
def test_extra_checks_take_points_from_code_that_fails_them_only(tmp_path: Path) -> None:
    honest = solution("02")  # this class was also asked for HashMap.pop; alice wrote it, bob did not
    cell = next(c for c in honest.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "hashmap")
    cell.source += ("\n\n    def pop(self, key, *default):\n"
                    "        try:\n"
                    "            value = self[key]\n"
                    "        except KeyError:\n"
                    "            if default:\n"
                    "                return default[0]\n"
                    "            raise\n"
                    "        del self[key]\n"
                    "        return value\n")
    lazy = solution("02")
    write(honest, tmp_path / "in" / "alice" / "02_hashmaps.ipynb")
    write(lazy, tmp_path / "in" / "bob" / "02_hashmaps.ipynb")
    course = tmp_path / "course"
    plain = grade("--course", str(course), "--submissions", str(tmp_path / "in"), "--jobs", "2")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert scores(course) == {"alice": 12.0, "bob": 12.0}, "without the extra checks, pop is not asked for"
    extra = grade("--course", str(course), "--submissions", str(tmp_path / "in"), "--jobs", "2",
                  "--extra-checks", str(EXAMPLE))
    assert extra.returncode == 0, extra.stdout + extra.stderr
    got = scores(course)
    assert got["alice"] == 12.0 and got["bob"] < 12.0, got
    report = (course / "autograder" / "report.csv").read_text(encoding="utf-8")
    assert "HashMap has no pop method" in report


@pytest.mark.parametrize("source, says", [
    ("from autograder.catalog import get_lesson\n@get_lesson('02').extra_check('no_such_exercise')\n"
     "def check(ns):\n    pass\n", "no exercise 'no_such_exercise'"),
    ("def broken(:\n", "SyntaxError"),
    ("import no_such_module_anywhere\n", "ModuleNotFoundError"),
])
def test_a_broken_extra_check_stops_before_grading_and_names_its_file(tmp_path: Path, source: str, says: str) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "my_checks.py").write_text(source, encoding="utf-8")
    write(solution("02"), tmp_path / "in" / "alice" / "02_hashmaps.ipynb")
    proc = grade("--course", str(tmp_path / "course"), "--submissions", str(tmp_path / "in"),
                 "--extra-checks", str(folder))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "my_checks.py" in proc.stderr and says in proc.stderr, proc.stderr
    assert not (tmp_path / "course").exists(), "nothing may be graded (or created) before the checks load"


def test_an_extra_checks_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    proc = grade("--course", str(tmp_path / "course"), "--submissions", str(tmp_path),
                 "--extra-checks", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "no such folder" in proc.stderr, proc.stderr
