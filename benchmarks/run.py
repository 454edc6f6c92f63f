"""Run the course benchmarks and print their tables (figures, not pass/fail tests).

    python benchmarks/run.py            # every benchmarks/bench_*.py
    python benchmarks/run.py bpe gpt    # only bench_bpe.py and bench_gpt.py

Each benchmark module defines `run() -> list[dict]`; every dict is one row of its table.
Timings depend on the machine: the README's figures were measured on 2 CPU cores.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the benchmarks measure this checkout


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def print_table(rows: list[dict]) -> None:
    if not rows:
        print("  (no rows)")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in cells:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main(names: list[str]) -> int:
    paths = sorted(HERE.glob("bench_*.py"))
    if names:
        paths = [p for p in paths if p.stem.removeprefix("bench_") in names]
    for path in paths:
        print(f"== {path.stem} ==")
        start = time.perf_counter()
        print_table(load(path).run())
        print(f"  ({time.perf_counter() - start:.1f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
