"""`python -m autograder train`: the last line, checkpoints and resume, DistributedDataParallel.

Every run here is tiny (one or two blocks of 16-32 dimensions, a 30,000-character slice of the
course text, a few steps), so the whole file takes well under a minute on two cores.
"""

from __future__ import annotations

import csv
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import train
from autograder.catalog import LESSONS_DIR, REPO_ROOT, SOLUTIONS_DIR
from autograder.data import load_shakespeare

NOTEBOOK = SOLUTIONS_DIR / "08_gpt.ipynb"
LAST_LINE = re.compile(r"^val_loss=(\d+\.\d{4})$")
TINY = ["--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "8",
        "--lr", "3e-3", "--min-lr", "3e-4", "--warmup-iters", "2", "--max-minutes", "0", "--eval-interval", "4",
        "--eval-iters", "2", "--log-interval", "1", "--sample-tokens", "20", "--no-progress", "--threads", "1"]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.txt"
    path.write_text(load_shakespeare()[:30_000], encoding="utf-8")
    return path


def _train(capsys: pytest.CaptureFixture, *args: str) -> tuple[float, list[str]]:
    assert train.main([*map(str, args)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    match = LAST_LINE.match(lines[-1])
    assert match, f"the last line should be val_loss=X.XXXX, got {lines[-1]!r}"
    return float(match.group(1)), lines


def _train_losses(run: Path) -> dict[int, float]:
    with open(run / "log.csv", newline="") as f:
        return {int(r["iter"]): float(r["train_loss"]) for r in csv.DictReader(f) if r["train_loss"]}


def test_train_writes_run_folder_and_ends_with_val_loss(tmp_path: Path, text_file: Path, capsys) -> None:
    out = tmp_path / "run"
    val_loss, lines = _train(capsys, "--notebook", NOTEBOOK, "--data", text_file, "--out", out,
                             "--max-iters", "8", *TINY)
    assert 2.0 < val_loss < math.log(70), "8 steps should already beat a uniform guess"
    assert any(line.startswith("---- sample ----") for line in lines)
    for name in ("ckpt.pt", "log.csv", "config.json", "results.json"):
        assert (out / name).exists(), name
    losses = _train_losses(out)
    assert sorted(losses) == list(range(1, 9))
    assert losses[8] < losses[1]


def test_resume_continues_the_same_trajectory(tmp_path: Path, text_file: Path, capsys) -> None:
    """A run stopped after 5 of 10 steps and resumed logs the same losses as an uninterrupted run
    (dropout on, so the random state must be restored too)."""
    common = ["--notebook", NOTEBOOK, "--data", text_file, "--max-iters", "10", "--dropout", "0.1", *TINY]
    full_loss, _ = _train(capsys, *common, "--out", tmp_path / "full")
    _train(capsys, *common, "--out", tmp_path / "split", "--stop-after-iters", "5")
    assert max(_train_losses(tmp_path / "split")) == 5
    resumed_loss, _ = _train(capsys, *common, "--out", tmp_path / "split", "--resume")
    full, resumed = _train_losses(tmp_path / "full"), _train_losses(tmp_path / "split")
    assert sorted(resumed) == list(range(1, 11))
    for it in full:
        assert resumed[it] == pytest.approx(full[it], abs=1e-6), f"step {it}"
    assert resumed_loss == full_loss


def test_resume_refuses_a_different_model(tmp_path: Path, text_file: Path, capsys) -> None:
    common = ["--notebook", NOTEBOOK, "--data", text_file, "--max-iters", "2", *TINY]
    _train(capsys, *common, "--out", tmp_path / "run")
    with pytest.raises(SystemExit, match="keeps its model"):
        train.main([*map(str, common), "--out", str(tmp_path / "run"), "--resume", "--n-embd", "32"])


def test_ddp_two_processes_match_one_process(tmp_path: Path, text_file: Path, capsys) -> None:
    """2 CPU processes (gloo), 4 windows each, follow the same losses as 1 process with the global
    batch of 8: equal to 1e-4 (only the order of floating-point sums differs)."""
    common = ["--notebook", str(NOTEBOOK), "--data", str(text_file), "--max-iters", "6", "--device", "cpu",
              *TINY, "--dropout", "0"]
    single_loss, _ = _train(capsys, *common, "--out", str(tmp_path / "single"))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "autograder", "train", *common, "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    match = LAST_LINE.match(lines[-1])
    assert match, f"last line: {lines[-1]!r}"
    assert sum(line.startswith("training the GPT") for line in lines) == 1, "only rank 0 prints"
    single, ddp = _train_losses(tmp_path / "single"), _train_losses(tmp_path / "ddp")
    assert sorted(ddp) == sorted(single) == list(range(1, 7))
    for it in single:
        assert ddp[it] == pytest.approx(single[it], abs=1e-4), f"step {it}"
    assert float(match.group(1)) == pytest.approx(single_loss, abs=2e-4)


def test_bpe_tokenizer_from_lesson_01(tmp_path: Path, text_file: Path, capsys) -> None:
    bpe_notebook = SOLUTIONS_DIR / "01_tokenization.ipynb"
    _, lines = _train(capsys, "--notebook", NOTEBOOK, "--data", text_file, "--out", tmp_path / "bpe",
                      "--tokenizer", "bpe", "--vocab-size", "300", "--bpe-notebook", bpe_notebook,
                      "--max-iters", "3", *TINY)
    assert any("bpe tokens (vocabulary 300)" in line for line in lines)
    assert any(line.startswith("val loss per character:") for line in lines)


def test_unfinished_notebook_gets_a_friendly_error(tmp_path: Path, text_file: Path) -> None:
    with pytest.raises(SystemExit, match="not implemented yet"):
        train.main(["--notebook", str(LESSONS_DIR / "08_gpt.ipynb"), "--data", str(text_file),
                    "--out", str(tmp_path / "stub"), "--max-iters", "2", *TINY])


def test_time_based_schedule() -> None:
    hp = dict(warmup_iters=10, lr=1e-3, min_lr=1e-4, max_iters=0, max_minutes=1.0)
    assert train.lr_at(0, 0.0, hp, None) == pytest.approx(1e-3 / 11)
    assert train.lr_at(10, 2.0, hp, 2.0) == pytest.approx(1e-3)  # warmup ends: the cosine starts at the peak
    assert train.lr_at(500, 31.0, hp, 2.0) == pytest.approx(5.5e-4)  # half of the remaining time: half-way down
    assert train.lr_at(900, 60.0, hp, 2.0) == pytest.approx(1e-4)
    assert train.lr_at(999, 75.0, hp, 2.0) == pytest.approx(1e-4)
    hp.update(max_iters=110)
    assert train.lr_at(60, 999.0, hp, 2.0) == pytest.approx(5.5e-4)  # with --max-iters the clock is ignored
