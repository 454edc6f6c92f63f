"""Lesson 12 benchmark: generation with and without the KV cache (CPU).

The code under test is the solution notebook's own (``solutions/12_kv_cache.ipynb``, loaded with
``autograder.notebook.load_notebook``): lesson 08's ``generate`` (the given code) and the lesson's
``generate_cached``, on the notebook's ``GPT``.  The model has the size that ``python -m autograder
train`` trains by default (its ``cpu`` preset: layers, heads, width, biases; read from
``autograder.train.PRESETS``), character-level (Shakespeare's vocabulary), with random weights: the
weights do not change the speed.

Two measurements:

* **tokens per second** for ``--new-tokens`` (256) new tokens after a one-token prompt, without and
  with the cache, for the preset's own ``block_size`` (64: past it, ``generate_cached`` must rebuild
  its cache at every step, so the cache stops paying) and for a ``block_size`` large enough for the
  whole text (512), where it pays all the way;
* **time per token against the context length**: one step of each at contexts of 16 to 1,024
  tokens (``block_size`` 1,024): the full forward over the context, and one new token against a
  cache that holds the context.

Timing: one warm-up run, then the best of ``--repeats`` runs (the fastest run is the most stable
figure on a busy machine).  Threads: one by default (``--threads 0`` keeps PyTorch's default): the
steps of a model this small are short, and with several threads on a busy machine they mostly wait
for each other.  Every row carries the thread count and the 1-minute load average when it was measured.

Run ``python benchmarks/run.py kvcache`` or ``python benchmarks/bench_kvcache.py [--threads N]
[--repeats N] [--new-tokens N]``; other code can call :func:`run`, which returns one dict per row.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's autograder

from autograder.data import load_shakespeare  # noqa: E402
from autograder.notebook import load_notebook  # noqa: E402
from autograder.train import DEFAULT_PRESET, PRESETS  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "12_kv_cache.ipynb"
CONTEXTS = [16, 32, 64, 128, 256, 512, 768, 1024]


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def make_model(ns: Any, block_size: int, vocab_size: int) -> torch.nn.Module:
    preset = PRESETS[DEFAULT_PRESET]
    config = ns.GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=preset["n_layer"],
                          n_head=preset["n_head"], n_embd=preset["n_embd"], dropout=0.0, bias=preset["bias"])
    torch.manual_seed(0)
    return ns.GPT(config).eval()


def tokens_per_second(ns: Any, vocab_size: int, block_size: int, new_tokens: int, repeats: int) -> dict:
    model = make_model(ns, block_size, vocab_size)
    prompt = torch.zeros(1, 1, dtype=torch.long)
    rates = {}
    for name in ("generate", "generate_cached"):
        fn = ns.values[name]

        def run_once() -> None:
            torch.manual_seed(0)
            fn(model, prompt, new_tokens)

        rates[name] = new_tokens / best_seconds(run_once, repeats)
    return {"measurement": f"{new_tokens} new tokens, block_size {block_size}", "unit": "tokens/s",
            "generate": rates["generate"], "generate_cached": rates["generate_cached"],
            "speed-up": rates["generate_cached"] / rates["generate"]}


def step_times(ns: Any, vocab_size: int, repeats: int) -> list[dict]:
    model = make_model(ns, max(CONTEXTS), vocab_size)
    rows = []
    with torch.no_grad():
        for T in CONTEXTS:
            idx = torch.randint(vocab_size, (1, T), generator=torch.Generator().manual_seed(T))
            full = best_seconds(lambda: model(idx), repeats)
            best_cached = math.inf
            for _ in range(repeats + 1):
                cache = ns.KVCache(model.config.n_layer, model.config.block_size)
                ns.forward_with_cache(model, idx[:, :-1], cache)  # the context so far (not timed)
                start = time.perf_counter()
                ns.forward_with_cache(model, idx[:, -1:], cache)
                best_cached = min(best_cached, time.perf_counter() - start)
            rows.append({"measurement": f"one step at context {T}", "unit": "ms/token", "generate": 1e3 * full,
                         "generate_cached": 1e3 * best_cached, "speed-up": full / best_cached})
    return rows


def run(threads: int = 1, repeats: int = 3, new_tokens: int = 256) -> list[dict]:
    if threads:
        torch.set_num_threads(threads)
    ns = load_notebook(NOTEBOOK)
    if ns.cell_errors:
        raise RuntimeError(f"{NOTEBOOK.name}: {ns.cell_errors[0].describe()}")
    vocab_size = len(set(load_shakespeare()))
    rows = []
    for block_size in (PRESETS[DEFAULT_PRESET]["block_size"], 512):
        rows.append(tokens_per_second(ns, vocab_size, block_size, new_tokens, repeats))
        rows[-1].update(threads=torch.get_num_threads(), load=_load())
    for row in step_times(ns, vocab_size, repeats):
        rows.append({**row, "threads": torch.get_num_threads(), "load": _load()})
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: PyTorch's default)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (the best counts)")
    parser.add_argument("--new-tokens", type=int, default=256, help="tokens to generate for tokens per second")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import print_table

    print_table(run(args.threads, args.repeats, args.new_tokens))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
