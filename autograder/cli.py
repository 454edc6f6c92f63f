"""The course's command line: ``python -m autograder [COMMAND]``.

Commands (stable, documented in the README):

* (none)    progress over all lessons: a table of points per lesson;
* check NN  check one lesson notebook (lessons/ by default, or ``--notebook PATH``);
* release   regenerate lessons/ and the stored examples from solutions/ (``--check`` only reports
            drift; ``--kit DIR`` writes the student kit);
* grade     the nbgrader class workflow (release, autograde, feedback, CSV);
* train     train the GPT defined in a lesson notebook (lesson 08).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from pathlib import Path

from .catalog import LESSONS_DIR, REPO_ROOT, all_lessons, get_lesson, grading_installed
from .registry import Result


def _wrapped(text: str, indent: str, width: int) -> list[str]:
    """``text`` wrapped to ``width`` columns, each line indented; a line's own leading spaces are
    kept (expected/got previews and matrices stay aligned), and nothing is cut."""
    lines = []
    for line in (text or "").strip("\n").splitlines() or [""]:
        own = line[: len(line) - len(line.lstrip())]
        lines.extend(textwrap.wrap(line.strip(), width=max(width, 40), initial_indent=indent + own,
                                   subsequent_indent=indent + own + "  ", break_on_hyphens=False,
                                   break_long_words=False) or [indent])
    return lines


def print_table(results: list[Result], title: str, width: int | None = None) -> None:
    """A ✓/✗ table (exercise and points), then every failure's message and hint in full."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    print(title)
    name_width = max([len(r.exercise) for r in results] + [8])
    def unfinished(r: Result) -> bool:  # said in the table itself: nothing more to explain
        return r.message.startswith("not implemented yet")

    for r in results:
        status = "" if r.passed else "  " + (r.message if unfinished(r) else "see below")
        print(f"  {'✓' if r.passed else '✗'}  {r.exercise:<{name_width}}  {r.score:>2}/{r.points:<2}{status}")
    got, total = sum(r.score for r in results), sum(r.points for r in results)
    passed = sum(r.passed for r in results)
    print(f"  score: {got}/{total} points, {passed}/{len(results)} exercises passed")
    for r in results:
        if r.passed or unfinished(r):
            continue
        print(f"\n✗ {r.exercise} (0/{r.points})")
        print("\n".join(_wrapped(r.message, "    ", width)))
        if r.hint:
            print("\n".join(_wrapped("Hint: " + r.hint, "    ", width)))
    print()


def _notebook_for(number: str, notebook: str | None, folder: Path) -> Path:
    return Path(notebook) if notebook else folder / get_lesson(number).notebook


def cmd_check(args: argparse.Namespace) -> int:
    from .isolated import check_notebook

    lesson = get_lesson(args.lesson)
    path = _notebook_for(lesson.number, args.notebook, LESSONS_DIR)
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 2
    results = check_notebook(lesson.number, path, args.timeout)
    tiers = ["practice", "grading"] if grading_installed() else ["practice"]
    if args.json:
        print(json.dumps({"lesson": lesson.number, "notebook": str(path), "tiers": tiers,
                          "score": sum(r.score for r in results), "points": lesson.points,
                          "results": [r.to_json() for r in results]}, indent=2, ensure_ascii=False))
    else:
        print_table(results, f"Lesson {lesson.number} — {lesson.title}  ({_display(path)})")
        if tiers == ["practice"]:
            print("(practice checks: your instructor grades with more checks on more inputs)\n")
    return 0 if all(r.passed for r in results) else 1


def cmd_progress(args: argparse.Namespace) -> int:
    from .isolated import check_notebook

    folder = Path(args.dir)
    rows = []
    for lesson in all_lessons().values():
        path = folder / lesson.notebook
        if not path.exists():
            rows.append((lesson, None))
            continue
        results = check_notebook(lesson.number, path, args.timeout)
        if args.verbose:
            print_table(results, f"Lesson {lesson.number} — {lesson.title}")
        rows.append((lesson, results))
    print(f"Progress ({_display(folder)})")
    total = got = 0
    for lesson, results in rows:
        total += lesson.points
        if results is None:
            print(f"  ·  {lesson.number} {lesson.title:<62} missing")
            continue
        score = sum(r.score for r in results)
        got += score
        done = sum(r.passed for r in results)
        bar = "█" * round(10 * score / max(lesson.points, 1))
        mark = "✓" if done == len(results) else "✗"
        print(f"  {mark}  {lesson.number} {lesson.title:<62} {bar:<10} {score:>3}/{lesson.points:<3} "
              f"({done}/{len(results)} exercises)")
    print(f"  total: {got}/{total} points.  Details: python -m autograder check NN")
    return 0 if got == total else 1


def cmd_release(args: argparse.Namespace) -> int:
    from .catalog import SOLUTIONS_DIR
    from .release import examples_up_to_date, release_all, released_text, write_examples

    if args.kit:
        return _release_kit(args)
    if args.check:
        stale = []
        for lesson in all_lessons().values():
            if args.lessons and lesson.number not in {n.zfill(2) for n in args.lessons}:
                continue
            notebook = LESSONS_DIR / lesson.notebook
            if not notebook.exists() or notebook.read_text(encoding="utf-8") != released_text(SOLUTIONS_DIR / lesson.notebook):
                stale.append(f"lessons/{lesson.notebook} is out of date with solutions/{lesson.notebook}")
            if not examples_up_to_date(lesson.number):
                stale.append(f"{_display(lesson.examples.path)} is out of date with solutions/{lesson.notebook}")
        print("\n".join(stale) if stale else "lessons/ and the stored examples are up to date")
        return 1 if stale else 0
    for path in [*release_all(numbers=args.lessons), *write_examples(args.lessons)]:
        print(f"wrote {_display(path)}")
    return 0


def _release_kit(args: argparse.Namespace) -> int:
    from .kit import KitError, build_kit

    students = []
    if args.students:
        roster = Path(args.students)
        if not roster.is_file():
            print(f"error: --students {roster}: no such file", file=sys.stderr)
            return 2
        students = [line.split(",")[0].strip() for line in roster.read_text(encoding="utf-8").splitlines()
                    if line.strip() and not line.startswith("#")]
    try:
        wheel = build_kit(Path(args.kit), force=args.force, students=students)
    except KitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    kit = Path(args.kit)
    size = sum(p.stat().st_size for p in kit.rglob("*") if p.is_file())
    print(f"wrote the student kit to {kit} ({size / 2**20:.1f} MiB): README.md, requirements.txt, "
          f"lessons/ ({len(list((kit / 'lessons').glob('*.ipynb')))} notebooks), wheels/{wheel.name} "
          f"({wheel.stat().st_size / 2**20:.1f} MiB, practice checks only)")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from .catalog import ExtraChecksError, load_extra_checks
    from .course import CourseError
    from .grade import grade

    try:  # the instructor's own checks are imported here first, so a broken one stops the run at once
        load_extra_checks([Path(p) for p in args.extra_checks or []])
    except ExtraChecksError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    mapping = {}
    for item in args.assignment or []:
        number, sep, name = item.partition("=")
        if not sep or not number or not name:
            print(f"error: --assignment {item!r}: write LESSON=NAME, e.g. 05=hw5", file=sys.stderr)
            return 2
        mapping[number] = name
    try:
        run = grade(Path(args.course), Path(args.submissions) if args.submissions else None, args.lessons or None,
                    assignments=mapping, submitted_at=args.submitted_at, bad_timestamps=args.bad_timestamps,
                    timeout=args.timeout, cell_timeout=args.cell_timeout, memory_mb=args.memory_mb, jobs=args.jobs,
                    extra_checks=[Path(p) for p in args.extra_checks or []])
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if run.graded == 0:
        print(f"error: nothing was graded: no notebook of a lesson was found in {args.submissions or ''} "
              f"{run.course / 'submitted'} (see {_display(run.report)})", file=sys.stderr)
        return 1
    steps = ", ".join(f"{v} {k}" for k, v in run.steps.items() if v)
    problems = sum(1 for p in run.problems if p.message != "no notebook found")
    missing = len(run.problems) - problems
    print(f"graded {run.graded} notebook(s) ({steps or 'nothing changed'}); {missing} missing, {problems} problem(s)")
    print(f"grades:      {_display(run.grades_csv)}  (nbgrader's export)")
    print(f"per student: {_display(run.wide_csv)}")
    print(f"report:      {_display(run.report)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from . import train

    return train.run(args)


def _display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=str(LESSONS_DIR), help="folder of notebooks for the progress table")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per exercise check")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress: also print each lesson's table")
    parser.set_defaults(func=cmd_progress)
    sub = parser.add_subparsers(title="commands")

    p = sub.add_parser("check", help="check one lesson notebook and print a table")
    p.add_argument("lesson", help="lesson number, e.g. 01")
    p.add_argument("--notebook", help="notebook to check (default: lessons/NN_*.ipynb)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per exercise check")
    p.add_argument("--json", action="store_true", help="print the results as JSON (for tools)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("release", help="regenerate lessons/ and the practice checks' stored examples from solutions/")
    p.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    p.add_argument("--check", action="store_true", help="only report lessons that are out of date (exit 1)")
    p.add_argument("--kit", metavar="DIR", help="write the student kit (lessons, data, the practice-only package) "
                   "into DIR instead")
    p.add_argument("--students", metavar="FILE", help="with --kit: a file of student ids (one per line, or a CSV "
                   "whose first column is the id) to include lesson 06's problems for")
    p.add_argument("--force", action="store_true", help="with --kit: replace the contents of a non-empty DIR")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="grade a class inside an nbgrader course (gradebook, feedback, CSV)")
    p.add_argument("--course", default="course",
                   help="the nbgrader course folder: an existing one is graded in place (submitted/<student>/"
                        "<assignment>/ as `nbgrader collect` leaves it); a new one is created (default: ./course)")
    p.add_argument("--submissions", default=None,
                   help="also a flat folder with one subfolder per student id holding their notebooks "
                        "(copied into the course's submitted/)")
    p.add_argument("--lessons", nargs="*", help="lesson numbers to grade (default: every lesson handed in)")
    p.add_argument("--assignment", action="append", metavar="LESSON=NAME",
                   help="the course's assignment name of a lesson, if not the lesson's (e.g. 05=hw5); repeatable")
    p.add_argument("--submitted-at", default=None, metavar="TIME",
                   help="submission time for flat-layout notebooks without a timestamp.txt "
                        "(e.g. \"2026-11-03 09:00:00 UTC\"); without it they count as on time")
    p.add_argument("--bad-timestamps", choices=["hold", "on-time"], default="hold",
                   help="an unreadable timestamp.txt: hold the submission back (default) or grade it as on time")
    p.add_argument("--timeout", type=float, default=60, help="seconds allowed per exercise check")
    p.add_argument("--cell-timeout", type=float, default=120, help="seconds allowed per notebook cell")
    p.add_argument("--memory-mb", type=int, default=6144, help="memory limit of each checking process (MiB)")
    p.add_argument("--jobs", type=int, default=None, help="submissions checked in parallel (default: CPU count)")
    p.add_argument("--extra-checks", action="append", metavar="DIR",
                   help="a folder of your own check modules, run on top of the course's (repeatable; see "
                        "docs/instructors.md)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("train", help="train the GPT defined in a lesson-08 notebook")
    try:
        from . import train

        train.add_arguments(p)
    except ImportError:  # lesson 08 not present
        pass
    p.set_defaults(func=cmd_train)
    return parser


INSTRUCTOR_COMMANDS = {"cmd_release": "release", "cmd_grade": "grade", "cmd_train": "train"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ModuleNotFoundError as error:
        command = INSTRUCTOR_COMMANDS.get(args.func.__name__)
        if command and (error.name or "").startswith("autograder."):
            print(f"error: `python -m autograder {command}` is part of the course's full repository, not of the "
                  "student kit installed here.", file=sys.stderr)
            return 2
        raise
