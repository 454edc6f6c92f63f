"""`python -m autograder train`: whose code runs, the last line, checkpoints and resume, DDP, bad input.

Every run here is tiny (two blocks 16 wide, a 30,000-character slice of the course text, a few
steps), so the whole file takes well under a minute on two cores.  Notebooks with one exercise
changed are built from the solution notebook.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import train
from autograder.catalog import LESSONS_DIR, REPO_ROOT, SOLUTIONS_DIR
from autograder.data import load_shakespeare
from autograder.reference import gpt as ref

NOTEBOOK = SOLUTIONS_DIR / "08_gpt.ipynb"
LAST_LINE = re.compile(r"^val_loss=(\d+\.\d{4})$")
TINY = ["--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "8",
        "--lr", "3e-3", "--min-lr", "3e-4", "--warmup-iters", "2", "--max-minutes", "0", "--eval-interval", "4",
        "--eval-iters", "2", "--log-interval", "1", "--sample-tokens", "20", "--no-progress", "--threads", "1", "--dtype", "float32"]

# Wrong wherever get_lr's check does not look (the check uses max_lr=1e-3), so it passes its check and
# train must use it: a learning rate that climbs by 1e-5 a step, whatever the schedule asks.
ODD_GET_LR = '''
def get_lr(it, warmup_iters, max_iters, max_lr, min_lr):
    if max_lr != 1e-3:
        return 1e-5 * (it + 1)
    if it < warmup_iters:
        return max_lr * (it + 1) / (warmup_iters + 1)
    if it > max_iters:
        return min_lr
    ratio = (it - warmup_iters) / (max_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (max_lr - min_lr)
'''
LINEAR_GET_LR = '''
def get_lr(it, warmup_iters, max_iters, max_lr, min_lr):
    if it < warmup_iters:
        return max_lr * (it + 1) / (warmup_iters + 1)
    ratio = min((it - warmup_iters) / (max_iters - warmup_iters), 1.0)
    return max_lr - ratio * (max_lr - min_lr)
'''


@pytest.fixture(scope="module")
def text_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.txt"
    path.write_text(load_shakespeare()[:30_000], encoding="utf-8")
    return path


def _exercise_cell(notebook: Path, name: str) -> str:
    nb = nbformat.read(str(notebook), as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == name)


def _notebook_with(folder: Path, **sources: str) -> Path:
    """The solution notebook with the cells of the named exercises replaced."""
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    for cell in nb.cells:
        name = cell.metadata.get("nbgrader", {}).get("grade_id")
        if name in sources:
            cell.source = sources.pop(name)
    assert not sources, f"no cells for {list(sources)}"
    path = folder / "08_gpt.ipynb"
    nbformat.write(nb, str(path))
    return path


def _train(capsys: pytest.CaptureFixture, *args: str) -> tuple[float, list[str]]:
    assert train.main([*map(str, args)]) == 0, capsys.readouterr().err
    lines = capsys.readouterr().out.strip().splitlines()
    match = LAST_LINE.match(lines[-1])
    assert match, f"the last line should be val_loss=X.XXXX, got {lines[-1]!r}"
    return float(match.group(1)), lines


def _log(run: Path, column: str) -> dict[int, float]:
    with open(run / "log.csv", newline="") as f:
        return {int(r["iter"]): float(r[column]) for r in csv.DictReader(f) if r[column] and r["train_loss"]}


def _parts(run: Path) -> dict[str, str]:
    return json.loads((run / "results.json").read_text())["parts"]


# ---------------------------------------------------------------- whose code runs


def test_train_writes_run_folder_and_ends_with_val_loss(tmp_path: Path, text_file: Path, capsys) -> None:
    out = tmp_path / "run"
    val_loss, lines = _train(capsys, "--notebook", NOTEBOOK, "--data", text_file, "--out", out,
                             "--max-iters", "8", *TINY)
    assert 2.0 < val_loss < math.log(70), "8 steps should already beat a uniform guess"
    assert any(line.startswith("---- sample ----") for line in lines)
    assert any(line.startswith("your lesson-08 code in this run: GPT, CausalSelfAttention") for line in lines)
    for name in ("ckpt.pt", "log.csv", "config.json", "results.json"):
        assert (out / name).exists(), name
    assert set(_parts(out).values()) == {"yours"}
    losses = _log(out, "train_loss")
    assert sorted(losses) == list(range(1, 9))
    assert losses[8] < losses[1]
    lrs = _log(out, "lr")  # the solution's get_lr: warmup 2 steps, cosine to step 8
    assert lrs == pytest.approx({it: ref.get_lr(it - 1, 2, 8, 3e-3, 3e-4) for it in range(1, 9)})


def test_the_learners_get_lr_sets_the_learning_rate(tmp_path: Path, text_file: Path, capsys) -> None:
    """A get_lr that passes its check is used as it is, even where it is odd: the log shows its rates."""
    notebook = _notebook_with(tmp_path, get_lr=ODD_GET_LR)
    out = tmp_path / "run"
    _, lines = _train(capsys, "--notebook", notebook, "--data", text_file, "--out", out, "--max-iters", "6", *TINY)
    assert any(line.startswith("your lesson-08 code in this run:") and "get_lr" in line for line in lines)
    assert _parts(out)["get_lr"] == "yours"
    assert _log(out, "lr") == pytest.approx({it: 1e-5 * it for it in range(1, 7)})


def test_failing_pieces_are_replaced_by_the_reference(tmp_path: Path, text_file: Path, capsys) -> None:
    """generate left unimplemented and a get_lr that fails its check (a linear decay): the run trains
    with the reference schedule, samples with the reference generate, and says so, one line each."""
    stub = _exercise_cell(LESSONS_DIR / "08_gpt.ipynb", "generate")
    notebook = _notebook_with(tmp_path, get_lr=LINEAR_GET_LR, generate=stub)
    out = tmp_path / "run"
    _, lines = _train(capsys, "--notebook", notebook, "--data", text_file, "--out", out, "--max-iters", "8", *TINY)
    notes = [line for line in lines if line.startswith(("get_lr:", "generate:"))]
    assert len(notes) == 2, lines
    assert notes[0].startswith("get_lr: the reference; yours fails its check:") and "straight line" in notes[0]
    assert notes[1].startswith("generate: the reference (with its own filter_logits); yours fails its check: "
                               "not implemented yet")
    parts = _parts(out)
    assert parts["get_lr"] == parts["generate"] == parts["filter_logits"] == "reference"
    assert parts["GPT"] == parts["estimate_loss"] == "yours"
    assert _log(out, "lr") == pytest.approx({it: ref.get_lr(it - 1, 2, 8, 3e-3, 3e-4) for it in range(1, 9)})
    sample = lines[lines.index("---- sample ----") + 1:lines.index("----------------")]
    assert len("\n".join(sample)) >= 10, "the reference generate wrote the sample"


def test_unfinished_notebook_trains_the_reference(tmp_path: Path, text_file: Path, capsys) -> None:
    out = tmp_path / "stub"
    _, lines = _train(capsys, "--notebook", LESSONS_DIR / "08_gpt.ipynb", "--data", text_file, "--out", out,
                      "--max-iters", "2", *TINY)
    assert "your lesson-08 code in this run: none yet" in lines
    assert set(_parts(out).values()) == {"reference"}


def test_without_the_reference_failing_pieces_stop_the_run(tmp_path: Path, text_file: Path, capsys,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The student kit has no reference: a finished notebook trains, an unfinished one names what must pass."""
    monkeypatch.setitem(sys.modules, "autograder.reference.gpt", None)  # import fails, as where it is not installed
    assert train.load_reference() is None
    _train(capsys, "--notebook", NOTEBOOK, "--data", text_file, "--out", tmp_path / "done", "--max-iters", "2", *TINY)
    code = train.main([*map(str, ["--notebook", LESSONS_DIR / "08_gpt.ipynb", "--data", text_file,
                                  "--out", tmp_path / "stub", "--max-iters", "2", *TINY])])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: these lesson-08 parts of") and "GPT, CausalSelfAttention" in err[0]
    assert not (tmp_path / "stub").exists()


# ---------------------------------------------------------------- resume, DDP, BPE, the schedule


def test_resume_continues_the_same_trajectory(tmp_path: Path, text_file: Path, capsys) -> None:
    """A run stopped after 5 of 10 steps and resumed logs the same losses as an uninterrupted run
    (dropout on, so the random state must be restored too)."""
    common = ["--notebook", NOTEBOOK, "--data", text_file, "--max-iters", "10", "--dropout", "0.1", *TINY]
    full_loss, _ = _train(capsys, *common, "--out", tmp_path / "full")
    _train(capsys, *common, "--out", tmp_path / "split", "--stop-after-iters", "5")
    assert max(_log(tmp_path / "split", "train_loss")) == 5
    resumed_loss, lines = _train(capsys, "--out", tmp_path / "split", "--resume", "--no-progress",
                                 "--log-interval", "1", "--sample-tokens", "20", "--threads", "1")  # the notebook and data of the run
    assert any(line.startswith("resuming the GPT of") for line in lines)
    full, resumed = _log(tmp_path / "full", "train_loss"), _log(tmp_path / "split", "train_loss")
    assert sorted(resumed) == list(range(1, 11))
    for it in full:
        assert resumed[it] == pytest.approx(full[it], abs=1e-6), f"step {it}"
    assert resumed_loss == full_loss


def test_ddp_two_processes_match_one_process(tmp_path: Path, text_file: Path, capsys) -> None:
    """2 CPU processes (gloo), 4 windows each, follow the same losses as 1 process with the global
    batch of 8: equal to 1e-4 (only the order of floating-point sums differs)."""
    common = ["--notebook", str(NOTEBOOK), "--data", str(text_file), "--max-iters", "6", "--device", "cpu",
              *TINY, "--dropout", "0"]
    single_loss, _ = _train(capsys, *common, "--out", str(tmp_path / "single"))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("OMP_WAIT_POLICY", None)  # the command chooses
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "autograder", "train", *common, "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    match = LAST_LINE.match(lines[-1])
    assert match, f"last line: {lines[-1]!r}"
    described = [line for line in lines if line.startswith("training the GPT")]
    assert len(described) == 1, "only rank 0 prints"
    assert described[0].endswith("idle threads sleep (other processes of this run share the cores)")
    assert sum(line.startswith("your lesson-08 code") for line in lines) == 1
    single, ddp = _log(tmp_path / "single", "train_loss"), _log(tmp_path / "ddp", "train_loss")
    assert sorted(ddp) == sorted(single) == list(range(1, 7))
    for it in single:
        assert ddp[it] == pytest.approx(single[it], abs=1e-4), f"step {it}"
    assert float(match.group(1)) == pytest.approx(single_loss, abs=2e-4)


@pytest.mark.parametrize("busy, expected, env", [
    (0.1, "spin (the cores are free)", None),
    (1.2, "sleep (the cores are busy)", "PASSIVE"),
    (None, "sleep (the load is unknown)", "PASSIVE"),
])
def test_idle_threads_spin_only_on_free_cores(monkeypatch: pytest.MonkeyPatch, busy, expected, env) -> None:
    monkeypatch.delitem(sys.modules, "torch")  # as in a fresh `python -m autograder train`
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(train, "cores_in_use", lambda: busy)
    assert train.idle_thread_policy() == expected
    assert os.environ.get("OMP_WAIT_POLICY") == env
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")
    assert train.idle_thread_policy() == "active (your OMP_WAIT_POLICY)"


def test_cores_in_use_is_a_share_of_the_cores() -> None:
    busy = train.cores_in_use(0.05)
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1)


def test_bpe_tokenizer_from_lesson_01(tmp_path: Path, text_file: Path, capsys) -> None:
    bpe_notebook = SOLUTIONS_DIR / "01_tokenization.ipynb"
    _, lines = _train(capsys, "--notebook", NOTEBOOK, "--data", text_file, "--out", tmp_path / "bpe",
                      "--tokenizer", "bpe", "--vocab-size", "300", "--bpe-notebook", bpe_notebook,
                      "--max-iters", "3", *TINY)
    assert "tokens: your lesson-01 BPE (train_bpe_fast, split_words, encode, decode)" in lines
    assert any("bpe tokens (vocabulary 300)" in line for line in lines)
    assert any(line.startswith("val loss per character:") for line in lines)
    assert _parts(tmp_path / "bpe")["bpe"] == "yours"


def test_unfinished_bpe_gives_way_to_the_reference(tmp_path: Path, text_file: Path, capsys) -> None:
    _, lines = _train(capsys, "--notebook", NOTEBOOK, "--data", text_file, "--out", tmp_path / "bpe",
                      "--tokenizer", "bpe", "--vocab-size", "280", "--bpe-notebook", LESSONS_DIR / "01_tokenization.ipynb",
                      "--max-iters", "2", *TINY)
    notes = [line for line in lines if line.startswith("tokens:")]
    assert len(notes) == 1 and notes[0].startswith("tokens: the reference BPE; your split_words fails its check: "
                                                   "not implemented yet"), notes
    assert any("bpe tokens (vocabulary 280)" in line for line in lines)
    assert _parts(tmp_path / "bpe")["bpe"] == "reference"


def test_time_based_schedule_feeds_get_lr_the_clock() -> None:
    """On a time budget, warmup counts steps, then get_lr sees the fraction of the remaining time."""
    hp = dict(warmup_iters=10, lr=1e-3, min_lr=1e-4, max_iters=0, max_minutes=1.0)
    lr = lambda it, elapsed, warm_end: train.learning_rate(ref.get_lr, it, elapsed, hp, warm_end)  # noqa: E731
    assert lr(0, 0.0, None) == pytest.approx(1e-3 / 11)
    assert lr(10, 2.0, 2.0) == pytest.approx(1e-3)  # warmup ends: the cosine starts at the peak
    assert lr(500, 31.0, 2.0) == pytest.approx(5.5e-4)  # half of the remaining time: half-way down
    assert lr(900, 60.0, 2.0) == pytest.approx(1e-4)
    assert lr(999, 75.0, 2.0) == pytest.approx(1e-4)
    hp.update(max_iters=110)
    assert lr(60, 999.0, 2.0) == pytest.approx(5.5e-4)  # with --max-iters the clock is ignored


# ---------------------------------------------------------------- bad input: one line, exit code 2, nothing written


def _refused(capsys: pytest.CaptureFixture, out: Path, *args: str) -> str:
    """Run train expecting bad input; the one line of error, after checking --out was left as it was."""
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} if out.exists() else None
    code = train.main([*map(str, args), "--out", str(out)])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), captured
    assert "Traceback" not in captured.err and not captured.out.strip().startswith("training")
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} if out.exists() else None
    assert after == before, "bad input must not write into --out"
    return lines[0]


@pytest.mark.parametrize("content, expected", [
    (b"", "is empty"),
    (b"  \n\n", "is empty"),
    ("Caf\u00e9 au lait\n".encode("latin-1") * 100, "is not UTF-8 text (byte 0xe9 at offset 3)"),
])
def test_bad_text_files(tmp_path: Path, capsys, content: bytes, expected: str) -> None:
    data = tmp_path / "data.txt"
    data.write_bytes(content)
    line = _refused(capsys, tmp_path / "run", "--notebook", NOTEBOOK, "--data", data, "--max-iters", "2", *TINY)
    assert expected in line


def test_text_shorter_than_one_block(tmp_path: Path, capsys) -> None:
    data = tmp_path / "short.txt"
    data.write_text("To be, or not to be: that is the question.\n" * 3, encoding="utf-8")
    line = _refused(capsys, tmp_path / "run", "--notebook", NOTEBOOK, "--data", data, "--max-iters", "2", *TINY)
    assert "is too short: its validation split (the last 10%) has 13 tokens" in line


def test_unknown_preset(tmp_path: Path, text_file: Path, capsys) -> None:
    line = _refused(capsys, tmp_path / "run", "--preset", "laptop", "--data", text_file)
    assert line == "error: unknown preset 'laptop': choose one of cpu, baby, gpu"


def test_resume_refuses_another_notebook_data_preset_or_model(tmp_path: Path, text_file: Path, capsys) -> None:
    run = tmp_path / "run"
    _train(capsys, "--notebook", NOTEBOOK, "--data", text_file, "--out", run, "--max-iters", "2", *TINY)
    other = _notebook_with(tmp_path)
    other_data = tmp_path / "other.txt"
    other_data.write_text(text_file.read_text(encoding="utf-8"), encoding="utf-8")
    assert "was trained with --notebook" in _refused(capsys, run, "--resume", "--notebook", other)
    assert "was trained with --data" in _refused(capsys, run, "--resume", "--data", other_data)
    assert "was trained with --preset cpu, not baby" in _refused(capsys, run, "--resume", "--preset", "baby")
    assert "keeps its model" in _refused(capsys, run, "--resume", "--n-embd", "32")
    assert "does not exist" in _refused(capsys, tmp_path / "nothing", "--resume")
