"""The notebooks as a learner meets them: JupyterLab in a real, headless Chromium.

The test starts its own JupyterLab (free local port, random token, a temporary copy of the
notebooks) and drives Debian's ``chromium`` through Playwright; nothing is downloaded.

* Every solution notebook gets **Run All**, the ``skip-execution`` cells included (the graders
  skip them; learners run them). Then: no error output anywhere; every ipywidget renders as a
  control; every cell that draws a figure shows an image; moving the first slider (where the
  notebook has one) redraws its output without an error.
* The stub ``lessons/05_attention.ipynb`` is run cell by cell as nbgrader would (tagged cells
  skipped): each graded cell must show one clean ✗ block, with no traceback into the autograder.

All notebooks run at once, one browser tab and one kernel each. The kernels run with
``COURSE_SMOKE_RUN=1``, which the long training cells of lessons 08-11 read to train for a few steps
instead of minutes: what is tested here is that every cell works and every picture renders.
On failure the test names the notebook, the cell and the error, and saves a screenshot of the cell
in its ``tmp_path``. It is skipped only where no Chromium is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from autograder.catalog import LESSONS_DIR, REPO_ROOT, SOLUTIONS_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
STUB_LESSON = "05_attention.ipynb"
RUN_ALL_DEADLINE_S = 600      # one notebook's Run All, training cells in their smoke-run size
SLIDER_DEADLINE_S = 60        # a slider's output must redraw within this
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A cell draws a figure if it calls pyplot (other than to configure or close it).
DRAWS = re.compile(r"\bplt\.(?!close|rcParams|style|ioff|ion)\w+\(")
SOLUTION_NOTEBOOKS = sorted(p.name for p in SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def find_chromium() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


# ---------------------------------------------------------------------------------------------
# JupyterLab, started and stopped by the test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class JupyterLab:
    """A JupyterLab server on a local port, serving ``root``."""

    process: subprocess.Popen
    url: str
    token: str
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the server (it shuts its kernels down), then SIGKILL whatever is left of its
        process group (kernels included)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group the server leads (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait(timeout=10)


def start_jupyterlab(work: Path, state: Path) -> JupyterLab:
    """Start JupyterLab on ``work`` with its config, settings, workspaces and runtime files under
    ``state`` (nothing of the user's own Jupyter or IPython setup is used or changed)."""
    port, token = free_port(), os.urandom(16).hex()
    config, settings = state / "config", state / "settings"
    (config / "labconfig").mkdir(parents=True)
    # The "get notified about Jupyter news?" toast would cover cells in the screenshots.
    (config / "labconfig" / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}')
    # Keep every cell in the page (JupyterLab may otherwise detach cells scrolled out of view).
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(state / "runtime"),
               IPYTHONDIR=str(state / "ipython"),
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    env.pop("MPLBACKEND", None)  # the kernels must use the inline backend, as a learner's do
    # All notebooks run at once: one thread per kernel keeps the cores working instead of
    # waiting for each other (the results do not depend on it).
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # The long training cells (lessons 08-11) run a few steps instead of minutes: this test is about
    # every cell working and every picture and widget rendering, not about the losses they reach.
    env["COURSE_SMOKE_RUN"] = "1"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
               "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands, read cells
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={state / 'workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = state / "jupyterlab.log"
    process = subprocess.Popen(command, cwd=work, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    lab = JupyterLab(process, f"http://127.0.0.1:{port}", token, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{lab.log_tail()}")
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=5):
                return lab
        except OSError:
            time.sleep(0.5)
    lab.stop()
    raise RuntimeError(f"JupyterLab did not answer within 90 s:\n{lab.log_tail()}")


# ---------------------------------------------------------------------------------------------
# What runs inside the page (JupyterLab's own objects, exposed as window.jupyterapp)

# Find the notebook's panel; once its kernel is idle, label every cell's node with its index.
JS_READY = """(path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return 'loading JupyterLab';
  const panel = [...app.shell.widgets('main')].find(w => w.context && w.context.path === path);
  if (!panel) return 'opening the notebook';
  if (!panel.context.isReady || !panel.sessionContext.isReady) return 'loading the notebook';
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel) return 'starting a kernel';
  if (kernel.status !== 'idle') return 'kernel ' + kernel.status;
  panel.content.widgets.forEach((cell, i) => cell.node.setAttribute('data-test-cell', String(i)));
  window.browserTest = {panel, finished: null};
  return 'ready';
}"""

# Run > Run All Cells; `finished` is set when the run ends (false: a cell failed and the rest
# were not run).
JS_RUN_ALL = """() => {
  const test = window.browserTest;
  test.panel.content.activeCellIndex = 0;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
      ok => { test.finished = {ok: ok !== false}; },
      error => { test.finished = {ok: false, error: String(error)}; });
}"""

# As nbgrader executes a lesson: each cell in turn, the skip-execution ones left out, carrying on
# after a failing cell.
JS_RUN_UNTAGGED_ONE_BY_ONE = """async () => {
  const test = window.browserTest, app = window.jupyterapp, notebook = test.panel.content;
  try {
    for (let i = 0; i < notebook.widgets.length; i++) {
      const model = notebook.widgets[i].model;
      if (model.type !== 'code' || (model.getMetadata('tags') || []).includes('skip-execution')) continue;
      notebook.activeCellIndex = i;
      await app.commands.execute('notebook:run-cell');
    }
    test.finished = {ok: true};
  } catch (error) { test.finished = {ok: false, error: String(error)}; }
}"""

JS_STATUS = """() => {
  const test = window.browserTest, kernel = test.panel.sessionContext.session.kernel;
  return {finished: test.finished, kernel: kernel ? kernel.status : 'none'};
}"""

# Every code cell: its source, tags, nbgrader metadata, execution count and outputs (image data
# left out), and what the page shows for it.
JS_CELLS = """() => {
  const panel = window.browserTest.panel, text = v => Array.isArray(v) ? v.join('') : (v || '');
  return panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    if (model.type !== 'code') return null;
    const area = cell.node.querySelector('.jp-OutputArea') || cell.node;
    const images = [...area.querySelectorAll('img')];
    const widgetErrors = [...area.querySelectorAll('.jupyter-widgets [data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.innerText);
    return {
      index, source: model.sharedModel.getSource(), tags: model.getMetadata('tags') || [],
      nbgrader: model.getMetadata('nbgrader') || null, count: model.executionCount,
      outputs: model.outputs.toJSON().map(o => ({
        type: o.output_type, name: o.name || '', mimes: Object.keys(o.data || {}),
        text: text(o.text), ename: o.ename || '', evalue: o.evalue || '', traceback: o.traceback || []})),
      shown: {
        text: area.innerText, errorBlocks: [...area.querySelectorAll(':scope > .jp-OutputArea-child > ' +
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.innerText),
        images: images.length, brokenImages: images.filter(im => !(im.complete && im.naturalWidth > 0)).length,
        widgets: area.querySelectorAll('.jupyter-widgets').length,
        controls: area.querySelectorAll('.widget-slider, .widget-dropdown, .widget-toggle-buttons, ' +
            '.widget-checkbox, .widget-text, .widget-button, .widget-radio, .widget-select').length,
        sliders: area.querySelectorAll('.widget-slider .noUi-handle').length,
        widgetErrors,
      },
    };
  }).filter(cell => cell !== null);
}"""

# What a slider's cell shows now: its readout and its redrawn output (image data or text).
JS_SLIDER_CELL = """(index) => {
  const cell = document.querySelector(`[data-test-cell="${index}"]`);
  const readout = cell.querySelector('.widget-slider .widget-readout');
  const output = cell.querySelector('.jupyter-widgets.widget-output, .widget-output');
  const image = output && output.querySelector('img');
  return {
    readout: readout ? readout.innerText : '',
    output: image ? image.src : (output ? output.innerText : ''),
    errors: [...cell.querySelectorAll('.widget-output [data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.innerText),
  };
}"""


# ---------------------------------------------------------------------------------------------
# One notebook in one tab


@dataclass
class NotebookRun:
    """A notebook open in its own browser tab, its run, and the problems found."""

    path: str                     # relative to the JupyterLab root
    page: Any                     # playwright Page
    one_by_one: bool = False      # the stub lesson: nbgrader's way, not Run All
    started: float = 0.0
    seconds: float = 0.0
    state: str = "opening"        # opening -> running -> done
    timed_out: bool = False
    problems: list[str] = field(default_factory=list)
    problem_cells: list[int] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    def problem(self, text: str, cell: int | None = None) -> None:
        self.problems.append(text)
        if cell is not None:
            self.problem_cells.append(cell)

    def screenshot(self, folder: Path) -> None:
        """The first cells with a problem (or the page) as PNGs in ``folder``."""
        shots = self.screenshots
        try:
            for index in dict.fromkeys(self.problem_cells[:3]):
                cell = self.page.locator(f'[data-test-cell="{index}"]')
                cell.scroll_into_view_if_needed(timeout=5000)
                shots.append(folder / f"{Path(self.path).stem}-cell{index}.png")
                cell.screenshot(path=str(shots[-1]), timeout=10000)
            if not shots:
                shots.append(folder / f"{Path(self.path).stem}.png")
                self.page.screenshot(path=str(shots[-1]))
        except Exception as error:  # a screenshot must never hide the real failure
            self.problems.append(f"(taking a screenshot failed: {short(str(error), 200)})")

    def finish(self, screenshots: Path) -> None:
        """Screenshot what went wrong, then shut the kernel down and close the tab: an idle
        JupyterLab page still costs CPU, and a kernel memory, that the runs still going need."""
        self.state = "done"
        if self.problems:
            self.screenshot(screenshots)
        try:
            self.page.evaluate("async () => { if (window.browserTest) await window.browserTest.panel.sessionContext.shutdown(); }")
        except Exception:  # the page or its kernel may be gone already; the server stops the rest
            pass
        self.page.context.close()


def short(text: str, limit: int = 600) -> str:
    text = ANSI.sub("", text).strip()
    return text if len(text) <= limit else text[:limit] + " …"


def last_lines(text: str, limit: int = 600) -> str:
    """The end of a traceback (the exception and the frames nearest to it), within ``limit``."""
    lines = [line.rstrip() for line in ANSI.sub("", text).strip().splitlines() if line.strip()]
    kept: list[str] = []
    while lines and sum(len(line) + 1 for line in kept) + len(lines[-1]) < limit:
        kept.insert(0, lines.pop())
    return "\n".join(kept) or short(text, limit)


def first_line(source: str) -> str:
    return next((line.strip() for line in source.splitlines() if line.strip()), "")[:80]


def check_solution_cells(run: NotebookRun) -> None:
    """No errors, widgets rendered as controls, every figure an image."""
    for cell in run.cells:
        where = f"cell {cell['index']} (`{first_line(cell['source'])}`)"
        shown = cell["shown"]
        if cell["count"] is None:
            run.problem(f"{where} was still running when the time ran out" if run.timed_out else
                        f"{where} and the cells after it never ran (Run All stops at the first error)",
                        cell["index"])
            break  # all later cells say the same
        for out in cell["outputs"]:
            if out["type"] == "error":
                run.problem(f"{where} raised {out['ename']}: {short(out['evalue'], 300)}\n"
                            f"{last_lines(chr(10).join(out['traceback']))}", cell["index"])
            elif out["type"] == "stream" and out["name"] == "stderr":
                run.problem(f"{where} wrote to stderr: {short(out['text'])}", cell["index"])
        if "Error displaying widget" in shown["text"] or "Error rendering" in shown["text"]:
            run.problem(f"{where}: a widget failed to display: {short(shown['text'], 300)}", cell["index"])
        has_widget = any("application/vnd.jupyter.widget-view+json" in o["mimes"] for o in cell["outputs"])
        if has_widget and not (shown["widgets"] and shown["controls"]):
            run.problem(f"{where}: an ipywidget output shows no control ({shown['widgets']} widget views, "
                        f"{shown['controls']} controls): {short(shown['text'], 200)!r}", cell["index"])
        for text in shown["widgetErrors"]:
            run.problem(f"{where}: a widget's output shows an error:\n{last_lines(text)}", cell["index"])
        if DRAWS.search(cell["source"]) and not shown["images"]:
            run.problem(f"{where} draws a figure but shows no image", cell["index"])
        if shown["brokenImages"]:
            run.problem(f"{where}: {shown['brokenImages']} of {shown['images']} images did not render",
                        cell["index"])


def move_first_slider(run: NotebookRun) -> None:
    """Drag the first slider of the notebook to the right; its output must redraw, error-free."""
    index = next((c["index"] for c in run.cells if c["shown"]["sliders"]), None)
    if index is None:
        return
    page = run.page
    before = page.evaluate(JS_SLIDER_CELL, index)
    handle = page.locator(f'[data-test-cell="{index}"] .widget-slider .noUi-handle').first
    handle.scroll_into_view_if_needed(timeout=10000)
    box = handle.bounding_box()
    track = page.locator(f'[data-test-cell="{index}"] .widget-slider .noUi-target').first.bounding_box()
    if box is None or track is None:
        run.problem(f"cell {index}: the slider is not visible", index)
        return
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target = x + 0.3 * track["width"] if x < track["x"] + 0.6 * track["width"] else x - 0.3 * track["width"]
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(target, y, steps=8)
    page.mouse.up()
    deadline, after = time.monotonic() + SLIDER_DEADLINE_S, before
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        after = page.evaluate(JS_SLIDER_CELL, index)
        if after["errors"]:
            run.problem(f"cell {index}: after moving its slider ({before['readout']} -> {after['readout']}) "
                        f"the output shows an error:\n{last_lines(after['errors'][-1])}", index)
            return
        if after["readout"] != before["readout"] and after["output"] and after["output"] != before["output"]:
            page.wait_for_timeout(300)  # the redraw may still be arriving: look once more for an error
            late = page.evaluate(JS_SLIDER_CELL, index)
            if late["errors"]:
                run.problem(f"cell {index}: after moving its slider the output shows an error: "
                            f"\n{last_lines(late['errors'][-1])}", index)
            return
    run.problem(f"cell {index}: moving its slider did not redraw the output within {SLIDER_DEADLINE_S} s "
                f"(readout {before['readout']!r} -> {after['readout']!r}, "
                f"output {'changed' if after['output'] != before['output'] else 'unchanged'})", index)


def check_stub_cells(run: NotebookRun) -> None:
    """Every graded cell of the stub: one clean ✗ block, scored as an error by nbgrader."""
    graded = [c for c in run.cells if (c["nbgrader"] or {}).get("grade")]
    if not graded:
        run.problem("the stub lesson has no graded cells")
    for cell in graded:
        where = f"graded cell {cell['index']} (`{first_line(cell['source'])}`)"
        errors = [o for o in cell["outputs"] if o["type"] == "error"]
        blocks, text = cell["shown"]["errorBlocks"], cell["shown"]["text"]
        if cell["count"] is None:
            run.problem(f"{where} was never run", cell["index"])
        elif len(errors) != 1 or len(cell["outputs"]) != 1:
            kinds = [o["type"] for o in cell["outputs"]]
            run.problem(f"{where}: expected a single error output (nbgrader scores it 0), got {kinds}: "
                        f"{short(text)}", cell["index"])
        elif len(blocks) != 1 or not blocks[0].lstrip().startswith("✗"):
            run.problem(f"{where}: expected one ✗ block, the page shows {len(blocks)} error blocks: "
                        f"{short(text)}", cell["index"])
        else:
            noise = [s for s in ("Traceback", 'File "', "runner.py", "ExerciseFailed", "CheckFailure",
                                 "autograder/") if s in text]
            if noise:
                run.problem(f"{where}: the ✗ block shows traceback text {noise}: {short(text)}", cell["index"])


# ---------------------------------------------------------------------------------------------
# The fixture: everything runs once, side by side


@pytest.fixture(scope="module")
def notebook_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NotebookRun]]:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found (looked for /usr/bin/chromium, chromium, chromium-browser on PATH); "
                    "install it (Debian: apt-get install chromium) to run the notebooks in a real browser")
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("browser")
    work, state = root / "notebooks", root / "jupyter"
    work.mkdir()
    state.mkdir()
    for name in SOLUTION_NOTEBOOKS:  # side by side: lessons 09 and 10 load 08_gpt.ipynb from their folder
        shutil.copy(SOLUTIONS_DIR / name, work / name)
    (work / "stub").mkdir()
    shutil.copy(LESSONS_DIR / STUB_LESSON, work / "stub" / STUB_LESSON)

    lab = start_jupyterlab(work, state)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            try:
                # The later lessons train the larger models: they start first.
                runs = {name: NotebookRun(name, None) for name in reversed(SOLUTION_NOTEBOOKS)}
                runs["stub"] = NotebookRun(f"stub/{STUB_LESSON}", None, one_by_one=True)
                run_side_by_side(browser, lab, list(runs.values()), root / "screenshots")
                for run in runs.values():  # shown with `pytest -rP` or `-s`
                    print(f"{run.path}: {run.seconds:.0f} s, {len(run.problems)} problems")
                yield runs
            finally:
                browser.close()
    finally:
        lab.stop()


def run_side_by_side(browser: Any, lab: JupyterLab, runs: list[NotebookRun], screenshots: Path) -> None:
    """Open every notebook in its own tab, start each run as soon as its kernel is idle, and check
    each notebook (and close its tab) as soon as its run ends.

    Each tab has its own browser context and JupyterLab workspace: tabs sharing a browser profile
    make JupyterLab move some of them to another workspace, which reloads the page mid-run.
    """
    screenshots.mkdir()
    for number, run in enumerate(runs):
        run.page = browser.new_context(viewport={"width": 1280, "height": 1600}).new_page()
        run.page.goto(f"{lab.url}/lab/workspaces/test{number}/tree/{run.path}?token={lab.token}",
                      wait_until="domcontentloaded", timeout=120_000)
        run.started = time.monotonic()
    while any(run.state != "done" for run in runs):
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab stopped:\n{lab.log_tail()}")
        for run in runs:
            if run.state == "done":
                continue
            try:
                if step(run):
                    run.finish(screenshots)
            except Exception as error:  # one notebook's trouble must not hide the others' results
                run.problem(f"the browser test itself failed on this notebook: {type(error).__name__}: "
                            f"{short(str(error))}")
                run.finish(screenshots)
        time.sleep(1)


def step(run: NotebookRun) -> bool:
    """Advance one notebook's run by one look at its page; True once it is checked."""
    elapsed = time.monotonic() - run.started
    if run.state == "opening":
        try:
            status = run.page.evaluate(JS_READY, run.path)
        except Exception as error:  # JupyterLab may still be redirecting the page to its workspace
            status = f"page not ready ({short(str(error), 200)})"
        if status == "ready":
            run.page.evaluate(JS_RUN_UNTAGGED_ONE_BY_ONE if run.one_by_one else JS_RUN_ALL)
            run.state = "running"
        elif elapsed > 180:
            run.problem(f"the notebook did not open with an idle kernel within 180 s (last: {status})")
            run.seconds = elapsed
            return True
        return False
    status = run.page.evaluate(JS_STATUS)
    if status["kernel"] == "dead":
        run.problem("the kernel died during the run")
    elif status["finished"] is None and elapsed < RUN_ALL_DEADLINE_S:
        return False
    elif status["finished"] is None:
        run.timed_out = True
        run.problem(f"the run did not finish within {RUN_ALL_DEADLINE_S} s (kernel {status['kernel']})")
    elif status["finished"].get("error"):
        run.problem(f"JupyterLab could not run the notebook: {status['finished']['error']}")
    run.seconds = elapsed
    run.page.wait_for_timeout(1500)  # let the last outputs, images and widget views render
    run.cells = run.page.evaluate(JS_CELLS)
    if run.one_by_one:
        check_stub_cells(run)
    else:
        check_solution_cells(run)
        if not run.problems:
            move_first_slider(run)
    return True


def report(run: NotebookRun, tmp_path: Path) -> str:
    """The problems, one per line, and the screenshots (copied into the test's ``tmp_path``)."""
    shots = [Path(shutil.copy(shot, tmp_path)) for shot in run.screenshots if shot.exists()]
    return (f"{run.path} in JupyterLab ({run.seconds:.0f} s):\n  - " + "\n  - ".join(run.problems)
            + "\n  screenshots: " + (", ".join(str(s) for s in shots) or "none"))


@pytest.mark.parametrize("notebook", SOLUTION_NOTEBOOKS)
def test_solution_notebook_runs_cleanly_in_jupyterlab(notebook: str, notebook_runs: dict[str, NotebookRun],
                                                       tmp_path: Path) -> None:
    run = notebook_runs[notebook]
    assert not run.problems, report(run, tmp_path)


def test_stub_lesson_shows_one_clean_cross_per_graded_cell(notebook_runs: dict[str, NotebookRun],
                                                           tmp_path: Path) -> None:
    run = notebook_runs["stub"]
    assert not run.problems, report(run, tmp_path)
