"""Lesson 08 benchmark: the default ``train`` preset against nanoGPT's CPU "baby" recipe, same time budget.

Both runs go through the real command line, ``python -m autograder train`` (a subprocess each, one
after the other so they do not compete for cores), on the same text, character-level, the last
10% as validation, with the solution notebook's code:

* **baby**: ``--preset baby`` (nanoGPT's CPU recipe: 4 layers, 4 heads, 128 wide, context 64, batch
  12, lr 1e-3 with warmup 100 and a cosine to 1e-4, dropout 0), its cosine stretched over the time
  budget instead of 2,000 steps;
* **default**: the command's defaults (the ``cpu`` preset).

The table has the validation loss on every window of the last 10% (the command's last line), the
steps reached, tokens per second, and the load average of the machine during each run (sampled
every few seconds): on a shared machine, compare runs of similar load.  The validation curves go
to ``<out>/loss_curves.png``.  Usage::

    python benchmarks/run.py gpt                        # 3 minutes each (about 7 minutes in all)
    python benchmarks/bench_gpt.py --minutes 1 --out runs/bench_quick
    python benchmarks/bench_gpt.py --data path/to/other.txt   # another text, same split
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNS = {"baby": ["--preset", "baby", "--max-iters", "0"], "default": []}


def _run_one(name: str, flags: list[str], minutes: float, out: Path, notebook: str, data: str) -> dict:
    folder = out / name
    cmd = [sys.executable, "-m", "autograder", "train", "--notebook", notebook, "--data", data,
           "--out", str(folder), "--no-progress", *flags, "--max-minutes", str(minutes)]
    print(f"[{name}] {' '.join(cmd[1:])}", flush=True)
    loads, start = [], time.perf_counter()
    with subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        while True:
            try:
                stdout, stderr = proc.communicate(timeout=5)
                break
            except subprocess.TimeoutExpired:
                loads.append(os.getloadavg()[0])
    wall = time.perf_counter() - start
    lines = stdout.strip().splitlines()
    match = re.fullmatch(r"val_loss=(\d+\.\d+)", lines[-1]) if lines else None
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"{name} failed (exit {proc.returncode}):\n{stdout[-2000:]}\n{stderr[-2000:]}")
    results = json.loads((folder / "results.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    sample = "\n".join(lines[lines.index("---- sample ----") + 1:lines.index("----------------")]) \
        if "---- sample ----" in lines else ""
    return dict(name=name, val_loss=float(match.group(1)), iters=results["iters"], train_s=results["elapsed_s"],
                wall_s=round(wall, 1), tokens_per_s=results["tokens_per_s"], parameters=results["parameters"],
                load=round(sum(loads) / max(len(loads), 1), 2), hyper=config["hyper"], folder=str(folder),
                sample=sample)


def run(minutes: float = 3.0, out: str | Path = "runs/bench_gpt", notebook: str = "solutions/08_gpt.ipynb",
        data: str = "datasets/shakespeare.txt") -> list[dict]:
    """The baby preset and the default, `minutes` each, one after the other; one flat row per run
    (the full records, samples included, go to <out>/bench.json, the curves to <out>/loss_curves.png)."""
    out = Path(out) if Path(out).is_absolute() else REPO / out
    out.mkdir(parents=True, exist_ok=True)
    runs = [_run_one(name, flags, minutes, out, notebook, data) for name, flags in RUNS.items()]
    (out / "bench.json").write_text(json.dumps(runs, indent=2) + "\n")
    plot(runs, out / "loss_curves.png")
    return [dict(run=r["name"], val_loss=round(r["val_loss"], 4), steps=r["iters"], train_s=r["train_s"],
                 tokens_per_s=r["tokens_per_s"], load_avg=r["load"], parameters=r["parameters"],
                 config=_describe(r["hyper"])) for r in runs]


def _describe(h: dict) -> str:
    return (f"{h['n_layer']}x{h['n_embd']} ({h['n_head']} heads), context {h['block_size']}, batch {h['batch_size']}, "
            f"lr {h['lr']:g}->{h['min_lr']:g}, warmup {h['warmup_iters']}, dropout {h['dropout']}")


def plot(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in runs:
        with open(Path(r["folder"]) / "log.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        evals = [row for row in rows if row["eval_val_loss"]]
        line, = ax.plot([float(row["elapsed_s"]) for row in evals], [float(row["eval_val_loss"]) for row in evals],
                        "o-", label=f"{r['name']}: final {r['val_loss']:.3f} ({r['iters']:,} steps)")
        final = [row for row in rows if row["final_val_loss"]]
        if final:  # the final loss is measured on the whole validation split
            ax.plot(float(final[-1]["elapsed_s"]), float(final[-1]["final_val_loss"]), "*", ms=14, color=line.get_color())
    ax.axhline(1.55, color="gray", ls=":", label="target 1.55")
    ax.set_xlabel("training time (s)"); ax.set_ylabel("validation loss (dots: sampled batches, star: all)")
    ax.set_ylim(1.4, 2.8); ax.grid(alpha=0.3); ax.legend()
    ax.set_title("Character-level GPT, same time budget")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="time budget of each run")
    parser.add_argument("--out", default="runs/bench_gpt", help="folder for the runs and the plot")
    parser.add_argument("--notebook", default="solutions/08_gpt.ipynb")
    parser.add_argument("--data", default="datasets/shakespeare.txt")
    args = parser.parse_args()
    rows = run(args.minutes, args.out, args.notebook, args.data)
    print(f"\n{'run':8} {'val loss':>8} {'steps':>7} {'train s':>8} {'tokens/s':>9} {'load':>5} {'params':>9}  config")
    for r in rows:
        print(f"{r['run']:8} {r['val_loss']:8.4f} {r['steps']:7,} {r['train_s']:8.1f} {r['tokens_per_s']:9,} "
              f"{r['load_avg']:5.2f} {r['parameters']:9,}  {r['config']}")
    out = Path(args.out) if Path(args.out).is_absolute() else REPO / args.out
    ours = json.loads((out / "bench.json").read_text())[-1]
    print(f"\nload average: mean of the 1-minute figure sampled during each run, on {os.cpu_count()} cores")
    print(f"loss curves: {out / 'loss_curves.png'}")
    print(f"\nsample from {ours['name']}:\n{ours['sample'][:400]}")


if __name__ == "__main__":
    main()
