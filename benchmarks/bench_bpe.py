"""Lesson 01: BPE training speed and GPT-2 encoding throughput of the course's solution.

Targets (issue 3): vocab 500 on a 133 KB slice in <= 0.5 s (Stanford CS336's bar: < 1.5 s),
vocab 1000 on the whole ~1 MB text in <= 10 s, and GPT-2 encoding throughput as a ratio to
tiktoken (a pure-Python encoder is expected to be far slower than tiktoken's Rust core).
"""

from __future__ import annotations

import time

from autograder.catalog import SOLUTIONS_DIR
from autograder.data import gpt2_files, load_shakespeare, tiktoken_gpt2
from autograder.notebook import load_notebook


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def run() -> list[dict]:
    nb = load_notebook(SOLUTIONS_DIR / "01_tokenization.ipynb")
    text = load_shakespeare()
    rows = []
    small = text[:133_000]
    _, t = timed(nb.train_bpe_fast, small, 500)
    rows.append({"benchmark": "train_bpe_fast vocab 500, 133 KB", "seconds": t, "target": "<= 0.5 s"})
    _, t = timed(nb.train_bpe, small, 500)
    rows.append({"benchmark": "train_bpe (teaching version) vocab 500, 133 KB", "seconds": t, "target": "-"})
    _, t = timed(nb.train_bpe_fast, text, 1000)
    rows.append({"benchmark": f"train_bpe_fast vocab 1000, {len(text.encode()) // 1000} KB", "seconds": t,
                 "target": "<= 10 s"})
    merges, vocab = nb.load_gpt2(*map(str, gpt2_files()))
    sample = text[:200_000]
    ours, t_ours = timed(nb.encode, sample, merges, vocab)
    enc = tiktoken_gpt2()
    theirs, t_tik = timed(enc.encode, sample)
    assert ours == theirs, "the solution's GPT-2 encoding differs from tiktoken"
    rows.append({"benchmark": "GPT-2 encode 200 KB: ours (pure Python)", "seconds": t_ours,
                 "target": f"{len(sample) / t_ours / 1e3:.0f} K chars/s"})
    rows.append({"benchmark": "GPT-2 encode 200 KB: tiktoken", "seconds": t_tik,
                 "target": f"ours / tiktoken = {t_ours / t_tik:.0f}x slower"})
    return rows


if __name__ == "__main__":
    from run import print_table

    print_table(run())
