"""Fast tests of the grading pieces: matching notebooks to lessons, timestamps, nbgrader's
messages in words, finding every copy of the package, the course folder, and the two places
where the grader speeds nbgrader up (the schema revision, the feedback page)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import isolated
from autograder.catalog import LESSONS_DIR, REPO_ROOT, SOLUTIONS_DIR
from autograder.course import STARTER_CONFIG, CourseError, open_course
from autograder.nbgrader_plugin import _EditedPage, explain_nbgrader, feedback_exporter
from autograder.submissions import identify, lesson_catalog, parse_timestamp


def test_a_notebook_is_its_lesson_whatever_its_name(tmp_path: Path) -> None:
    lessons = lesson_catalog()
    names = {lesson.name: lesson for lesson in lessons}
    renamed = tmp_path / "my homework (1).ipynb"
    renamed.write_text((LESSONS_DIR / "05_attention.ipynb").read_text())
    assert identify(renamed, lessons, names) == (names["05_attention"], True)
    other = tmp_path / "05_attention.ipynb"  # a lesson's name, but lesson 02's cells
    other.write_text((SOLUTIONS_DIR / "02_hashmaps.ipynb").read_text())
    assert identify(other, lessons, names)[0].number == "02"
    scratch = tmp_path / "scratch.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), str(scratch))
    assert identify(scratch, lessons, names) == (None, True)
    broken = tmp_path / "02_hashmaps.ipynb"
    broken.write_text('{"cells": [')
    assert identify(broken, lessons, names) == (names["02_hashmaps"], False)  # unreadable: by its name
    v3 = tmp_path / "old.ipynb"
    v3.write_text(nbformat.writes(nbformat.convert(nbformat.read(str(SOLUTIONS_DIR / "01_tokenization.ipynb"), 4), 3)))
    assert identify(v3, lessons, names)[0].number == "01"


def test_every_lesson_is_known_with_its_points() -> None:
    from autograder.catalog import all_lessons

    catalog = {lesson.number: lesson for lesson in lesson_catalog()}
    for number, lesson in all_lessons().items():
        assert catalog[number].notebook == lesson.notebook
        assert catalog[number].points == lesson.points, f"lesson {number}: notebook points != checks' points"


def test_timestamps_as_nbgrader_reads_them() -> None:
    assert parse_timestamp("2026-11-03 09:00:00.000000 UTC").year == 2026
    assert parse_timestamp("2026-11-03 09:00:00").tzinfo is not None  # no zone: UTC, as nbgrader
    for bad in ("after lunch", "", "2026-13-45"):
        with pytest.raises((ValueError, OverflowError)):
            parse_timestamp(bad)


def test_nbgrader_warnings_in_words() -> None:
    assert explain_nbgrader("Attribute 'checksum' for cell check_softmax has changed! (should be: a, got: b)") == \
        "nbgrader: the locked cell check_softmax had been edited; nbgrader put the original back"
    assert "deleted; nbgrader added it back" in explain_nbgrader(
        "Missing grade cell check_encode encountered, adding to notebook")
    assert explain_nbgrader("SubmittedAssignment<a for b> is 7200.0 seconds late") == \
        "nbgrader: handed in 2.0 hours after the due date"
    assert explain_nbgrader("Removing existing notebook: /x/y.ipynb") is None
    assert explain_nbgrader("something new happened") == "nbgrader: something new happened"


def test_every_copy_of_the_package_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = tmp_path / "checkout-a"
    (on_path / "autograder").mkdir(parents=True)
    (on_path / "autograder" / "__init__.py").write_text("")
    editable = tmp_path / "checkout-b"
    (editable / "autograder").mkdir(parents=True)
    (editable / "autograder" / "__init__.py").write_text("")
    site = tmp_path / "site"
    site.mkdir()
    (site / "__editable___course_0_1_finder.py").write_text(
        f"MAPPING: dict[str, str] = {{'autograder': {str(editable / 'autograder')!r}}}\n")
    recorded = tmp_path / "checkout-c"
    (recorded / "autograder").mkdir(parents=True)
    (recorded / "autograder" / "__init__.py").write_text("")
    (site / "course-0.1.dist-info").mkdir()
    (site / "course-0.1.dist-info" / "direct_url.json").write_text(json.dumps({"url": recorded.as_uri()}))
    monkeypatch.setattr(sys, "path", [*sys.path, str(on_path), str(site)])
    isolated.package_roots.cache_clear()
    try:
        roots = isolated.package_roots()
    finally:
        isolated.package_roots.cache_clear()
    assert {REPO_ROOT, on_path, editable, recorded} <= set(roots)


def test_hidden_folders_exist_and_do_not_nest(tmp_path: Path) -> None:
    (tmp_path / "course" / "submitted").mkdir(parents=True)
    hidden = isolated.hidden_paths([tmp_path / "course", tmp_path / "course" / "submitted", tmp_path / "nowhere"])
    assert tmp_path / "course" in hidden and tmp_path / "course" / "submitted" not in hidden
    assert SOLUTIONS_DIR in hidden and not any("nowhere" in str(p) for p in hidden)


def test_course_folders(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="does not exist"):
        open_course(tmp_path / "missing", create=False)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    with pytest.raises(CourseError, match="is not an nbgrader course"):
        open_course(tmp_path / "notes", create=True)
    assert not (tmp_path / "notes" / "nbgrader_config.py").exists()
    new = open_course(tmp_path / "new", create=True)
    assert (new / "nbgrader_config.py").read_text() == STARTER_CONFIG
    (new / "nbgrader_config.py").write_text("c = get_config()  # mine\n")
    open_course(new, create=True)
    assert (new / "nbgrader_config.py").read_text() == "c = get_config()  # mine\n"


def test_the_schema_revision_is_nbgraders() -> None:
    """A new gradebook is stamped with the revision nbgrader itself would find (it runs `alembic heads`)."""
    import nbgrader.api

    from autograder.course import _NBGRADERS, _alembic_head

    nbgraders = _NBGRADERS.get("get_alembic_version", nbgrader.api.get_alembic_version)
    assert nbgraders is not _alembic_head
    assert _alembic_head() == nbgraders()


def test_the_feedback_page_is_nbconverts() -> None:
    """The feedback exporter gives the page nbconvert gives, with the same accessibility edits."""
    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config

    nb = nbformat.read(str(SOLUTIONS_DIR / "05_attention.ipynb"), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell('<img src="x.png"> ![a picture](y.png) <img alt="z" src="z.png">'))
    for template in ("classic", "lab"):
        config = Config()
        config.HTMLExporter.template_name = template
        theirs, _ = HTMLExporter(config=config).from_notebook_node(nb)
        ours, _ = feedback_exporter()(config=config).from_notebook_node(nb)
        assert str(BeautifulSoup(ours, "html.parser")) == str(BeautifulSoup(theirs, "html.parser")), template
        assert ours.count("No description has been provided") == theirs.count("No description has been provided") == 1
    assert str(_EditedPage('<div class="jp-Notebook"><div class="jp-Cell-inputWrapper x">')).count('tabindex="0"') == 1
