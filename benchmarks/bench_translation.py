"""Benchmark: lesson 11's translation task (dates written in many ways → ISO dates) on the CPU.

Runs the solution notebook's own code (``solutions/11_transformer.ipynb``): the cells that graders run
(loaded with ``autograder.notebook.load_notebook``), then the training cell and the evaluation cell,
which are tagged ``skip-execution``, exactly as they are written (one thread, 1,000 steps of 96
examples). Each row is one training run: its wall-clock and processor time, the held-out exact match
(1,000 dates never seen in training, greedy decoding), and the load average of the machine before and
after, since on a shared machine the wall-clock time says more about the neighbours than about the code.

Rows: the notebook's model (post-norm as in the paper, ``norm_first=False``), and the same with pre-norm
(``norm_first=True``), everything else equal.

Run ``python benchmarks/bench_translation.py`` (``--only-notebook`` for the first row alone); other code
can call :func:`run`, which returns one dict per row.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's autograder

from autograder.notebook import load_notebook, read_notebook  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "11_transformer.ipynb"
TRAIN_CELL, EVAL_CELL = "cell-41", "cell-42"


def cell_source(cell_id: str) -> str:
    for cell in read_notebook(NOTEBOOK).cells:
        if cell.get("id") == cell_id:
            return cell.source
    raise KeyError(f"{NOTEBOOK.name} has no cell {cell_id!r}")


def train_once(norm_first: bool) -> dict:
    """Run the notebook's training and evaluation cells once (pre-norm when norm_first is True)."""
    ns = load_notebook(NOTEBOOK)
    if ns.cell_errors:
        raise RuntimeError(f"{NOTEBOOK.name} did not load: {ns.cell_errors[0].describe()}")
    train = cell_source(TRAIN_CELL)
    if norm_first:
        assert "norm_first=False" in train
        train = train.replace("norm_first=False", "norm_first=True")
    load_before = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(train, TRAIN_CELL, "exec"), ns.values)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(cell_source(EVAL_CELL), EVAL_CELL, "exec"), ns.values)
    correct = ns.values["correct"]
    return {"model": "pre-norm" if norm_first else "post-norm (the notebook's, the paper's)",
            "steps": len(ns.values["losses"]), "train wall s": round(wall, 1), "train CPU s": round(cpu, 1),
            "final loss": round(sum(ns.values["losses"][-50:]) / 50, 3),
            "held-out exact match": f"{sum(correct) / len(correct):.1%}",
            "load avg before/after": f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"}


def run(only_notebook: bool = False) -> list[dict]:
    return [train_once(norm_first) for norm_first in ((False,) if only_notebook else (False, True))]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only-notebook", action="store_true", help="only the notebook's own model (one run)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import print_table  # noqa: E402

    print_table(run(args.only_notebook))
