"""``python -m autograder train``: train a GPT with the learner's own lesson-08 code.

The file reads top to bottom: the command line, set-up, the learner's code, data, model and
optimizer, learning rate, evaluation, checkpoints, the training loop, the sample, and :func:`run`,
which calls them in that order.

**Whose code runs.**  The notebook (``--notebook``) is loaded the way the grader loads it, and every
lesson-08 exercise the run needs is checked by the grader's own check.  Each one that passes is
used: ``GPT`` (with its ``Block``, ``MLP`` and ``CausalSelfAttention``) is the model,
``get_batch`` draws the training batches, ``configure_optimizer`` makes the optimizer, ``get_lr``
sets the learning rate of every step, ``estimate_loss`` makes the periodic evaluations, and
``generate`` (with ``filter_logits``) writes the sample; ``--tokenizer bpe`` tokenizes with lesson
01's byte-pair encoding.  A piece that is missing or fails its check is replaced by the course's
reference (:mod:`autograder.reference.gpt`; for the BPE, :mod:`autograder.reference.bpe`) and one
line says so: a half-finished notebook still trains.  ``results.json`` records whose each piece
was.  Where the reference is not installed (the student kit), the run names the pieces that must
pass first and stops.

**What the tool adds** around that code: a learning rate on a clock (``--max-minutes``: after the
warmup steps, ``get_lr`` is fed the fraction of the time budget used, so the decay ends when the
time does), gradient clipping, mixed precision, CPU threads that wait by spinning only while no
other program needs the cores, checkpoints in ``--out`` (``--resume`` continues a
run on the same trajectory), a progress bar, and the final measurement, the last line printed:
``val_loss=X.XXXX``, the mean cross-entropy over every non-overlapping window of ``block_size``
tokens of the last 10% of the text, the same yardstick for every run.

Under ``torchrun --nproc_per_node=N`` the same command trains with DistributedDataParallel (gloo on
CPU, nccl on GPU): every rank draws the same global batch of ``--batch-size`` windows and keeps its
share, so N processes follow the trajectory of one process with the whole batch.  Only rank 0
prints and writes files.  The time budget counts the training loop (periodic evaluations and
checkpoints included), not the set-up, the final evaluation or the sample.

Bad input (a missing, empty or non-UTF-8 text, a text shorter than one block, ``--resume`` with
another notebook, data, preset or model, an unknown preset) prints one line ``error: ...`` and
exits with code 2, before anything in ``--out`` is written.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import io
import json
import math
import os
import sys
import time
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .catalog import DATASETS_DIR, LESSONS_DIR
from .data import train_val_split
from .train_data import DataError, Tokenizer, read_text, reference_bpe, token_splits

# ---------------------------------------------------------------- presets and the command line

def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


# The hyperparameters a run is made of (each one a flag: its type and help).  A preset fills them in,
# explicit flags win, and a resumed run takes them from its checkpoint (its model and tokenizer stay).
HYPER: dict[str, tuple[Callable, str]] = {
    "tokenizer": (str, "char (characters) or bpe (lesson 01's byte-pair encoding)"),
    "vocab_size": (int, "with --tokenizer bpe: vocabulary size (256 + merges)"),
    "n_layer": (int, "number of blocks"),
    "n_head": (int, "attention heads per block"),
    "n_embd": (int, "width of the residual stream"),
    "block_size": (int, "context length in tokens"),
    "dropout": (float, "dropout probability"),
    "bias": (_bool, "biases in Linear layers and LayerNorms (true/false)"),
    "batch_size": (int, "windows per step (the global batch under torchrun)"),
    "lr": (float, "peak learning rate"),
    "min_lr": (float, "learning rate at the end of the decay"),
    "warmup_iters": (int, "linear warmup steps"),
    "weight_decay": (float, "AdamW weight decay of the 2-D tensors"),
    "beta1": (float, "AdamW beta1"),
    "beta2": (float, "AdamW beta2"),
    "grad_clip": (float, "clip the gradient norm to this (0: no clipping)"),
    "max_iters": (int, "stop after this many steps, and decay the learning rate over them (0: no limit)"),
    "max_minutes": (float, "training time budget; without --max-iters the decay follows the clock (0: no limit)"),
    "eval_interval": (int, "evaluate and save a checkpoint every N steps"),
    "eval_iters": (int, "batches per periodic evaluation (the final one uses every window)"),
    "seed": (int, "random seed (initialisation, batches, sample)"),
}
FIXED_ON_RESUME = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias", "tokenizer", "vocab_size")
DEFAULT_PRESET = "cpu"
PRESETS: dict[str, dict[str, Any]] = {
    # Tuned for 2 CPU cores and a 3-minute budget (benchmarks/bench_gpt.py): nanoGPT's baby recipe with
    # half the depth (about twice the steps in the same time), a five times larger learning rate that
    # decays to zero (val 1.538 against 1.556 with a floor of lr/10, as Bergsma et al. 2025 found for
    # LLMs), and two heads of 64 instead of four of 32 (with bfloat16 autocast, --dtype auto on a CPU
    # with AVX512-BF16, attention's backward pass is faster on wider heads: about 15-20% more steps).
    "cpu": dict(n_layer=2, n_head=2, n_embd=128, block_size=64, dropout=0.0, bias=False, batch_size=12,
                lr=5e-3, min_lr=0.0, warmup_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99,
                grad_clip=1.0, max_iters=0, max_minutes=3.0, eval_interval=500, eval_iters=10,
                tokenizer="char", vocab_size=512, seed=1337),
    # nanoGPT's CPU "baby" recipe (its README: config/train_shakespeare_char.py --device=cpu --compile=False
    # --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
    # --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0).
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False, batch_size=12,
                 lr=1e-3, min_lr=1e-4, warmup_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99,
                 grad_clip=1.0, max_iters=2000, max_minutes=0.0, eval_interval=250, eval_iters=20,
                 tokenizer="char", vocab_size=512, seed=1337),
    # nanoGPT's shakespeare-char GPU recipe (6 x 384, context 256, batch 64, dropout 0.2).
    "gpu": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2, bias=False, batch_size=64,
                lr=1e-3, min_lr=1e-4, warmup_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99,
                grad_clip=1.0, max_iters=5000, max_minutes=0.0, eval_interval=250, eval_iters=20,
                tokenizer="char", vocab_size=512, seed=1337),
}
CHECKPOINT = "ckpt.pt"
CHECKPOINT_FORMAT = 2
CLOCK_STEPS = 1000  # on a time budget, the time left after warmup is this many steps of get_lr's schedule


class TrainError(Exception):
    """The run cannot start as asked; the message is one line for the user (exit code 2)."""


def _presets_of(key: str) -> str:
    return " [" + ", ".join(f"{name}: {values[key]}" for name, values in PRESETS.items()) + "]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``train`` subcommand's options (hyperparameters default to the preset's values)."""
    parser.description = ("Train a GPT with your lesson-08 code (the reference stands in for any part that "
                          "fails its check) on a text file. The last line printed is val_loss=X.XXXX "
                          "(cross-entropy on the last 10% of the file).")
    io_ = parser.add_argument_group("input and output")
    io_.add_argument("--notebook", help="lesson-08 notebook whose code is trained (default: lessons/08_gpt.ipynb; "
                                        "with --resume: the run's own)")
    io_.add_argument("--data", help="UTF-8 text file (default: datasets/shakespeare.txt; with --resume: the run's own)")
    io_.add_argument("--out", default="runs/gpt", help="run folder: ckpt.pt, log.csv, config.json, results.json "
                                                       "(default: runs/gpt)")
    io_.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    io_.add_argument("--preset", help=f"starting values for every hyperparameter: {', '.join(PRESETS)} (cpu, the "
                                      "default: tuned for 2 CPU cores and 3 minutes; baby: nanoGPT's CPU recipe; "
                                      "gpu: nanoGPT's shakespeare-char recipe)")
    io_.add_argument("--bpe-notebook", help="with --tokenizer bpe: the lesson-01 notebook whose BPE is used "
                                            "(default: 01_tokenization.ipynb next to --notebook)")
    io_.add_argument("--sample-tokens", type=int, default=400, help="tokens to generate at the end (0: none; default 400)")
    io_.add_argument("--no-progress", action="store_true", help="no progress bar")
    io_.add_argument("--log-interval", type=int, default=10, help="log the training loss every N steps (default 10)")
    io_.add_argument("--stop-after-iters", type=int, default=0,
                     help="stop this session after N steps (with a checkpoint), as if interrupted; continue with --resume")

    hp = parser.add_argument_group("hyperparameters (default: the preset's value)")
    for key, (kind, text) in HYPER.items():
        hp.add_argument("--" + key.replace("_", "-"), type=kind, help=text + _presets_of(key),
                        choices=["char", "bpe"] if key == "tokenizer" else None)

    system = parser.add_argument_group("system")
    system.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    system.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"],
                        help="autocast precision (auto, the default: bfloat16 where the GPU or CPU computes it "
                             "natively, else float32; with --resume: the run's own)")
    system.add_argument("--compile", action="store_true", help="torch.compile the model")
    system.add_argument("--threads", type=int, default=0,
                        help="CPU threads per process (0: all cores, divided among local processes)")


def main(argv: list[str] | None = None) -> int:
    """Entry point for tests and scripts: parse ``argv`` as the ``train`` subcommand does."""
    parser = argparse.ArgumentParser(prog="python -m autograder train")
    add_arguments(parser)
    return run(parser.parse_args(argv))


# ---------------------------------------------------------------- set-up


class Distributed:
    """Rank, world size and the few collectives the run needs (no-ops for a single process)."""

    def __init__(self, device_type: str) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(self.world)))
        self.enabled = self.world > 1
        self.main = self.rank == 0
        if self.enabled:
            import torch.distributed as dist

            dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")

    def broadcast(self, value: Any) -> Any:
        """Rank 0's value (any picklable object), on every rank."""
        if not self.enabled:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def broadcast_float(self, value: float, device: Any) -> float:
        if not self.enabled:
            return value
        import torch
        import torch.distributed as dist

        box = torch.tensor([value], dtype=torch.float64, device=device)
        dist.broadcast(box, src=0)
        return float(box.item())

    def sum(self, values: list[float], device: Any) -> list[float]:
        if not self.enabled:
            return values
        import torch
        import torch.distributed as dist

        total = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total.tolist()

    def close(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.destroy_process_group()


def resolve_device(name: str) -> str:
    import torch

    if name != "auto":
        return name
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def load_checkpoint(args: argparse.Namespace) -> dict[str, Any] | None:
    """The checkpoint to continue (with --resume), after checking it is the run asked for."""
    if not args.resume:
        return None
    import torch

    path = Path(args.out) / CHECKPOINT
    if not path.exists():
        raise TrainError(f"--resume, but {path} does not exist")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a truncated or foreign file
        raise TrainError(f"{path} is not a readable checkpoint ({type(error).__name__})") from None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise TrainError(f"{path} was written by another version of train; start a new run (another --out)")
    for flag, value in (("notebook", args.notebook), ("data", args.data)):
        if value is not None and Path(value).resolve() != Path(saved[flag]):
            raise TrainError(f"--resume: {args.out} was trained with --{flag} {saved[flag]}, not {value} "
                             f"(leave out --{flag} to continue it)")
    if args.preset is not None and args.preset != saved["preset"]:
        raise TrainError(f"--resume: {args.out} was trained with --preset {saved['preset']}, not {args.preset}")
    return saved


def resolve_hyper(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """The run's hyperparameters: the preset's (or the checkpoint's), then the flags given."""
    if saved is None and args.preset is not None and args.preset not in PRESETS:
        raise TrainError(f"unknown preset {args.preset!r}: choose one of {', '.join(PRESETS)}")
    hp = dict(saved["hyper"]) if saved else dict(PRESETS[args.preset or DEFAULT_PRESET])
    for key in HYPER:
        value = getattr(args, key, None)
        if value is None:
            continue
        if saved and key in FIXED_ON_RESUME and value != hp[key]:
            raise TrainError(f"--{key.replace('_', '-')} {value} differs from the checkpoint's {hp[key]}: "
                             "a resumed run keeps its model and tokenizer")
        hp[key] = value
    if hp["max_iters"] <= 0 and hp["max_minutes"] <= 0:
        raise TrainError("give a limit: --max-iters or --max-minutes")
    if hp["n_embd"] % hp["n_head"]:
        raise TrainError(f"--n-embd {hp['n_embd']} must be divisible by --n-head {hp['n_head']}")
    return hp


def native_bfloat16(device_type: str) -> bool:
    """Whether the device computes in bfloat16 natively (a recent GPU; a CPU with AVX512-BF16 or AMX)."""
    import torch

    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return device_type == "cpu" and any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def precision(device_type: str, requested: str) -> tuple[str, Any]:
    """The autocast dtype's name and the context every forward pass runs in."""
    import torch

    dtype = requested
    if dtype == "auto":
        dtype = "bfloat16" if native_bfloat16(device_type) else "float32"
    if dtype == "float32":
        return dtype, contextlib.nullcontext()
    return dtype, torch.autocast(device_type=device_type, dtype=getattr(torch, dtype))


# ---------------------------------------------------------------- the learner's code

# The lesson-08 exercises a run calls.  The inner ones are only reached through their outer one.
EXERCISES = ("GPT", "CausalSelfAttention", "MLP", "Block", "get_batch", "configure_optimizer", "get_lr",
             "estimate_loss", "filter_logits", "generate")
INNER = {"CausalSelfAttention": "GPT", "MLP": "GPT", "Block": "GPT", "filter_logits": "generate"}
BPE_EXERCISES = ("split_words", "encode", "decode")


def load_reference() -> types.ModuleType | None:
    """The course's reference GPT, or None where it is not installed (the student kit)."""
    try:
        return importlib.import_module("autograder.reference.gpt")
    except ImportError:
        return None


def load_code(notebook: Path) -> Any:
    """Run the notebook's code cells the way the grader does; its namespace."""
    from .notebook import load_notebook

    if not notebook.is_file():
        raise TrainError(f"{notebook} does not exist")
    try:
        return load_notebook(notebook)
    except ValueError as error:  # not a notebook
        raise TrainError(str(error)) from None


def failing(namespace: Any, lesson: str, names: tuple[str, ...]) -> dict[str, str]:
    """Why each named exercise of the namespace cannot be used: missing, or failing the grader's
    own check (``{}`` when all pass)."""
    from .catalog import get_lesson
    from .runner import run_exercise

    failures = {}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # the learner's prints
        warnings.simplefilter("ignore")
        for name in names:
            if name not in namespace.values:
                failures[name] = "is not defined"
                continue
            result = run_exercise(get_lesson(lesson).get(name), namespace)
            if not result.passed:
                failures[name] = "fails its check: " + " ".join(result.message.split())[:160]
    return failures


def learner_code(notebook: Path, dist: Distributed, say: Callable) -> tuple[dict[str, Any], dict[str, str]]:
    """The notebook's definitions with the reference in place of every exercise that is missing or fails
    its check, and whose each piece is ("yours" or "reference").

    The notebook's functions find each other by name in this namespace (GPT builds ``Block``,
    ``generate`` calls ``filter_logits``), so a reference put in it serves the learner's code too.
    Rank 0 runs the checks; the other ranks take its verdicts."""
    namespace = load_code(notebook)
    failures = dist.broadcast(failing(namespace, "08", EXERCISES) if dist.main else None)
    reference = load_reference()
    if failures and reference is None:
        raise TrainError(f"these lesson-08 parts of {notebook} must pass their checks first (the reference is not "
                         f"installed): {', '.join(failures)}; run python -m autograder check 08")
    code = namespace.values
    for name in failures:
        code[name] = getattr(reference, name)
    if "GPT" in failures or "GPTConfig" not in code:
        code["GPTConfig"] = reference.GPTConfig if reference else types.SimpleNamespace
    owner = {name: "reference" if name in failures or INNER.get(name) in failures else "yours" for name in EXERCISES}
    for name, why in failures.items():
        if INNER.get(name) not in failures:
            inner = [n for n, outer in INNER.items() if outer == name]
            brings = f" (with its own {', '.join(inner)})" if inner else ""
            say(f"{name}: the reference{brings}; yours {why}")
    yours = [name for name in EXERCISES if owner[name] == "yours"]
    say(f"your lesson-08 code in this run: {', '.join(yours) or 'none yet'}")
    return code, owner


def bpe_functions(notebook: Path, dist: Distributed, say: Callable) -> tuple[dict[str, Callable], str]:
    """Lesson 01's BPE from the notebook (train_bpe_fast, or else train_bpe; split_words, encode,
    decode) if each passes its check, else the reference BPE as a whole; and whose it is."""
    namespace = load_code(notebook)
    failures = {}
    for trainer in ("train_bpe_fast", "train_bpe"):  # the first that passes trains the merges
        if dist.main:
            failures = failing(namespace, "01", (*BPE_EXERCISES, trainer))
        failures = dist.broadcast(failures)
        if trainer not in failures:
            break
    broken = {name: why for name, why in failures.items() if name in BPE_EXERCISES or name == "train_bpe"}
    if not broken:
        say(f"tokens: your lesson-01 BPE ({trainer}, {', '.join(BPE_EXERCISES)})")
        code = {"train": namespace.values[trainer], **{name: namespace.values[name] for name in BPE_EXERCISES}}
        return code, "yours"
    reference = reference_bpe()
    if reference is None:
        raise TrainError(f"--tokenizer bpe uses lesson 01's BPE from {notebook}, and {', '.join(broken)} must pass "
                         "their checks first (python -m autograder check 01)")
    name, why = next(iter(broken.items()))
    say(f"tokens: the reference BPE; your {name} {why}")
    return reference, "reference"


# ---------------------------------------------------------------- data


def load_data(text: str, data: Path, hp: dict[str, Any], saved: dict[str, Any] | None,
              bpe: dict[str, Callable] | None) -> tuple[Tokenizer, Any, Any]:
    """The tokenizer (the checkpoint's, when resuming) and the train and validation ids."""
    if saved:
        tokenizer = Tokenizer(saved["tokenizer"], bpe)
    else:
        tokenizer = Tokenizer.build(hp["tokenizer"], text, train_val_split(text)[0], hp["vocab_size"], bpe)
    train_ids, val_ids = token_splits(text, tokenizer)
    for split, ids in (("validation split (the last 10%)", val_ids), ("training split", train_ids)):
        if len(ids) < hp["block_size"] + 1:  # a window: block_size inputs and the next token
            raise DataError(f"{data} is too short: its {split} has {len(ids)} tokens, fewer than one window of "
                            f"--block-size {hp['block_size']} + 1; use a longer text or a smaller --block-size")
    return tokenizer, train_ids, val_ids


# ---------------------------------------------------------------- model and optimizer


def build_model(code: dict[str, Any], owner: dict[str, str], hp: dict[str, Any], vocab_size: int,
                probe: Any, say: Callable) -> Any:
    """The GPT (the learner's, or the reference's if theirs cannot run this configuration)."""
    import torch

    fields = dict(block_size=hp["block_size"], vocab_size=vocab_size, n_layer=hp["n_layer"], n_head=hp["n_head"],
                  n_embd=hp["n_embd"], dropout=hp["dropout"], bias=hp["bias"])
    torch.manual_seed(hp["seed"])
    try:
        model = code["GPT"](code["GPTConfig"](**fields))
        with torch.no_grad():
            logits, loss = model(probe[:, :-1], probe[:, 1:])
        if tuple(logits.shape) != (*probe[:, 1:].shape, vocab_size) or loss is None:
            raise ValueError("forward(idx, targets) should return (logits (B, T, vocab_size), loss)")
    except Exception as error:  # the learner's code may raise anything
        reference = load_reference()
        if owner["GPT"] == "reference" or reference is None:
            raise TrainError(f"the GPT cannot be built for this run: {type(error).__name__}: {error}") from None
        say(f"GPT: the reference; yours passes its check but fails with this run's settings "
            f"({type(error).__name__}: {error})")
        owner.update({name: "reference" for name in ("GPT", "Block", "MLP", "CausalSelfAttention")})
        torch.manual_seed(hp["seed"])
        model = reference.GPT(reference.GPTConfig(**fields))
    return model


def build_optimizer(code: dict[str, Any], model: Any, hp: dict[str, Any], device_type: str) -> Any:
    """configure_optimizer's optimizer.  An AdamW then runs PyTorch's fused kernel on CPU and GPU: the
    same update in one pass over the parameters instead of a dozen (a few percent more steps on a CPU)."""
    import torch

    optimizer = code["configure_optimizer"](model, hp["weight_decay"], hp["lr"], (hp["beta1"], hp["beta2"]))
    if isinstance(optimizer, torch.optim.AdamW) and device_type in ("cpu", "cuda"):
        for group in optimizer.param_groups:
            if not group.get("differentiable") and not group.get("capturable"):
                group.update(fused=True, foreach=False)
    return optimizer


# ---------------------------------------------------------------- learning rate


def schedule_point(it: int, elapsed: float, hp: dict[str, Any], warm_end: float | None) -> tuple[float, int]:
    """``get_lr``'s ``it`` and ``max_iters`` for this step.

    With --max-iters they are the step and the limit.  On a time budget the warmup counts steps,
    then the clock takes over: the time left after warmup is CLOCK_STEPS steps of the schedule, so
    the decay reaches min_lr exactly when the budget runs out."""
    warmup = hp["warmup_iters"]
    if hp["max_iters"] > 0:
        return it, hp["max_iters"]
    if warm_end is None:
        return it, warmup + CLOCK_STEPS
    budget = hp["max_minutes"] * 60.0
    used = min(max((elapsed - warm_end) / max(budget - warm_end, 1e-9), 0.0), 1.0)
    return warmup + used * CLOCK_STEPS, warmup + CLOCK_STEPS


def learning_rate(get_lr: Callable, it: int, elapsed: float, hp: dict[str, Any], warm_end: float | None) -> float:
    point, horizon = schedule_point(it, elapsed, hp, warm_end)
    return float(get_lr(point, hp["warmup_iters"], horizon, hp["lr"], hp["min_lr"]))


# ---------------------------------------------------------------- the run's state


@dataclass
class Run:
    """Everything the loop, the evaluations and the checkpoints share."""

    hp: dict[str, Any]
    code: dict[str, Any]
    owner: dict[str, str]
    dist: Distributed
    device: str
    dtype: str  # autocast precision (float32: none)
    ctx: Any  # the autocast (or null) context of every forward pass
    model: Any  # what the loop calls (compiled or wrapped in DDP)
    raw_model: Any  # the learner's module itself
    optimizer: Any
    scaler: Any
    tokenizer: Tokenizer
    train_ids: Any
    val_ids: Any
    val_chars: int  # characters of the validation text (for the loss per character of BPE runs)
    out: Path
    identity: dict[str, Any]  # notebook, data and preset: what a resumed run must match
    it: int = 0
    elapsed: float = 0.0
    warm_end: float | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------- evaluation


def periodic_eval(run: Run) -> dict[str, float]:
    """The learner's estimate_loss on both splits (every rank computes it, which keeps their random
    numbers in step)."""
    splits = {"train": run.train_ids, "val": run.val_ids}
    with run.ctx:
        losses = run.code["estimate_loss"](run.raw_model, splits, run.hp["eval_iters"], run.hp["batch_size"])
    return {name: float(value) for name, value in losses.items()}


def full_val_loss(run: Run) -> float:
    """Mean cross-entropy over every non-overlapping window of the validation split, in float32
    whatever the training precision, shared out among the ranks: the run's final measurement."""
    import torch

    block, ids = run.hp["block_size"], run.val_ids
    starts = (torch.arange((len(ids) - 1) // block) * block)[run.dist.rank::run.dist.world]
    offsets = torch.arange(block, device=ids.device)
    total = count = 0.0
    run.raw_model.eval()
    with torch.no_grad():
        for chunk in starts.to(ids.device).split(max(run.hp["batch_size"], 32)):
            windows = chunk[:, None] + offsets
            _, loss = run.raw_model(ids[windows], ids[windows + 1])
            total += float(loss) * windows.numel()
            count += windows.numel()
    run.raw_model.train()
    total, count = run.dist.sum([total, count], run.device)
    return total / max(count, 1.0)


# ---------------------------------------------------------------- checkpoints and logs


def save_checkpoint(run: Run) -> None:
    if not run.dist.main:
        return
    import torch

    state = dict(format=CHECKPOINT_FORMAT, model=run.raw_model.state_dict(), optimizer=run.optimizer.state_dict(),
                 rng=torch.get_rng_state(), cuda_rng=torch.cuda.get_rng_state() if run.device.startswith("cuda") else None,
                 iter=run.it, elapsed=run.elapsed, warm_end=run.warm_end, rows=run.rows,
                 hyper=run.hp, dtype=run.dtype, tokenizer=run.tokenizer.state, parts=run.owner, **run.identity)
    path = run.out / CHECKPOINT
    torch.save(state, path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)
    write_log(run.out / "log.csv", run.rows)


def restore_checkpoint(run: Run, saved: dict[str, Any], say: Callable) -> None:
    import torch

    try:
        run.raw_model.load_state_dict(saved["model"])
        run.optimizer.load_state_dict(saved["optimizer"])
    except (RuntimeError, ValueError, KeyError) as error:
        raise TrainError(f"the checkpoint does not fit this notebook's model or optimizer "
                         f"({' '.join(str(error).split())[:160]})") from None
    torch.set_rng_state(saved["rng"])
    if saved["cuda_rng"] is not None and run.device.startswith("cuda"):
        torch.cuda.set_rng_state(saved["cuda_rng"])
    run.it, run.elapsed, run.warm_end, run.rows = saved["iter"], saved["elapsed"], saved["warm_end"], saved["rows"]
    changed = [name for name, whose in run.owner.items() if saved["parts"].get(name) != whose]
    if changed:
        say(f"note: since the checkpoint, these parts changed hands: {', '.join(changed)}")


def write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    fields = ["iter", "elapsed_s", "lr", "train_loss", "eval_train_loss", "eval_val_loss", "final_val_loss"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------- the training loop


def train_step(run: Run, lr: float) -> Any:
    """One optimizer step on this rank's share of a global batch from get_batch; returns the loss
    (a tensor: reading its value would wait for a GPU)."""
    import torch

    hp, dist = run.hp, run.dist
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    x, y = run.code["get_batch"](run.train_ids, hp["block_size"], hp["batch_size"])
    share = slice(dist.rank * hp["batch_size"] // dist.world, (dist.rank + 1) * hp["batch_size"] // dist.world)
    with run.ctx:
        _, loss = run.model(x[share].to(run.device), y[share].to(run.device))
    run.scaler.scale(loss).backward()
    if hp["grad_clip"] > 0:
        run.scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.raw_model.parameters(), hp["grad_clip"])
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def train_loop(run: Run, bar: Any, write: Callable, stop_after: int, log_interval: int) -> bool:
    """Train until the step or time limit (or ``stop_after`` steps of this session); True if
    stopped early.  Evaluates and saves a checkpoint every eval_interval steps."""
    hp, dist = run.hp, run.dist
    budget = hp["max_minutes"] * 60.0 if hp["max_minutes"] > 0 else math.inf
    max_iters = hp["max_iters"] if hp["max_iters"] > 0 else math.inf
    start, session_steps = time.perf_counter() - run.elapsed, 0
    while True:
        run.elapsed = dist.broadcast_float(time.perf_counter() - start, run.device)  # one clock for all ranks
        if run.it >= max_iters or run.elapsed >= budget:
            return False
        if stop_after and session_steps >= stop_after:
            return True
        if run.it == hp["warmup_iters"] and run.warm_end is None:
            run.warm_end = run.elapsed
        lr = learning_rate(run.code["get_lr"], run.it, run.elapsed, hp, run.warm_end)
        loss = train_step(run, lr)
        run.it, session_steps = run.it + 1, session_steps + 1
        if run.it % log_interval == 0 or run.it == 1:
            loss = dist.sum([loss.item()], run.device)[0] / dist.world
            run.rows.append(dict(iter=run.it, elapsed_s=round(run.elapsed, 3), lr=lr, train_loss=round(loss, 6)))
            if bar is not None:
                bar.set_postfix_str(f"step {run.it}, loss {loss:.3f}, lr {lr:.1e}", refresh=False)
        if bar is not None:
            bar.update(1 if hp["max_iters"] > 0 else min(run.elapsed, budget) - bar.n)
        if run.it % hp["eval_interval"] == 0:
            losses = periodic_eval(run)
            run.rows.append(dict(iter=run.it, elapsed_s=round(run.elapsed, 3), lr=lr,
                                 eval_train_loss=round(losses["train"], 6), eval_val_loss=round(losses["val"], 6)))
            write(f"step {run.it:6d} | {run.elapsed:7.1f} s | train {losses['train']:.4f} | "
                  f"val {losses['val']:.4f} | lr {lr:.2e}")
            save_checkpoint(run)


def progress_bar(run: Run, no_progress: bool) -> Any:
    if not run.dist.main or no_progress:
        return None
    from tqdm import tqdm

    hp = run.hp
    if hp["max_iters"] > 0:
        return tqdm(total=hp["max_iters"], initial=run.it, unit="step", dynamic_ncols=True, mininterval=1.0)
    budget = round(hp["max_minutes"] * 60)
    return tqdm(total=budget, initial=min(round(run.elapsed), budget), unit="s", dynamic_ncols=True,
                mininterval=1.0, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s {postfix}")


# ---------------------------------------------------------------- the sample


def sample_text(run: Run, n_tokens: int) -> str:
    """``n_tokens`` drawn by the run's generate (temperature 0.8, top-k 40) after a newline."""
    import torch

    start = run.tokenizer.encode("\n")[:1] or [0]
    idx = torch.tensor([start], dtype=torch.long, device=run.device)
    torch.manual_seed(run.hp["seed"])
    run.raw_model.eval()
    out = run.code["generate"](run.raw_model, idx, n_tokens, temperature=0.8, top_k=40)
    run.raw_model.train()
    return run.tokenizer.decode(out[0, len(start):].tolist())


# ---------------------------------------------------------------- putting it together


def set_up(args: argparse.Namespace, dist: Distributed, device: str, say: Callable) -> tuple[Run, bool]:
    """Everything a run needs, checked before anything is written: hyperparameters, the text, the
    learner's code, tokens, model and optimizer (restored from the checkpoint with --resume)."""
    import torch

    saved = load_checkpoint(args)
    hp = resolve_hyper(args, saved)
    if hp["batch_size"] % dist.world:
        raise TrainError(f"--batch-size {hp['batch_size']} must be divisible by the {dist.world} processes")
    notebook = Path(args.notebook or (saved["notebook"] if saved else LESSONS_DIR / "08_gpt.ipynb"))
    data = Path(args.data or (saved["data"] if saved else DATASETS_DIR / "shakespeare.txt"))
    identity = dict(notebook=str(notebook.resolve()), data=str(data.resolve()),
                    preset=saved["preset"] if saved else args.preset or DEFAULT_PRESET)
    text = read_text(data)
    bpe, bpe_owner = None, None
    if hp["tokenizer"] == "bpe":
        bpe_notebook = Path(args.bpe_notebook or notebook.with_name("01_tokenization.ipynb"))
        bpe, bpe_owner = bpe_functions(bpe_notebook, dist, say)
    tokenizer, train_ids, val_ids = load_data(text, data, hp, saved, bpe)
    code, owner = learner_code(notebook, dist, say)
    if bpe_owner:
        owner["bpe"] = bpe_owner
    probe = train_ids[: min(8, hp["block_size"]) + 1][None]
    model = build_model(code, owner, hp, tokenizer.vocab_size, probe, say).to(device)
    optimizer = build_optimizer(code, model, hp, device.split(":")[0])
    dtype, ctx = precision(device.split(":")[0], args.dtype or (saved["dtype"] if saved else "auto"))
    scaler = torch.amp.GradScaler(device.split(":")[0], enabled=(dtype == "float16"))
    run = Run(hp, code, owner, dist, device, dtype, ctx, model, model, optimizer, scaler, tokenizer,
              train_ids.to(device), val_ids.to(device), len(text) - len(train_val_split(text)[0]),
              Path(args.out), identity)
    if saved:
        restore_checkpoint(run, saved, say)
    if args.compile:
        run.model = torch.compile(run.model)
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        on_gpu = device.startswith("cuda")
        run.model = DistributedDataParallel(run.model, device_ids=[dist.local_rank] if on_gpu else None)
    return run, saved is not None


def describe(run: Run, threads: int, resumed: bool, idle_threads: str = "") -> str:
    hp, limits = run.hp, []
    if hp["max_iters"] > 0:
        limits.append(f"{hp['max_iters']:,} steps")
    if hp["max_minutes"] > 0:
        limits.append(f"{hp['max_minutes']:g} min")
    n_params = sum(p.numel() for p in run.raw_model.parameters())
    return (f"{'resuming' if resumed else 'training'} the GPT of {run.identity['notebook']}: {n_params:,} parameters "
            f"({hp['n_layer']} layers, {hp['n_head']} heads, {hp['n_embd']} wide, context {hp['block_size']}), "
            f"{run.tokenizer.kind} tokens (vocabulary {run.tokenizer.vocab_size}), {len(run.train_ids):,} train / "
            f"{len(run.val_ids):,} val tokens; batch {hp['batch_size']}, lr {hp['lr']:g}, limit {' or '.join(limits)}; "
            f"{run.device} ({run.dtype}), {run.dist.world} process(es) x {threads} thread(s)"
            + (f", idle threads {idle_threads}" if idle_threads and run.device == "cpu" else ""))


def write_config(run: Run, threads: int, idle_threads: str = "") -> None:
    config = dict(hyper=run.hp, **run.identity, parts=run.owner, device=run.device, dtype=run.dtype,
                  world_size=run.dist.world, threads=threads, idle_threads=idle_threads,
                  parameters=sum(p.numel() for p in run.raw_model.parameters()),
                  vocab_size=run.tokenizer.vocab_size, train_tokens=len(run.train_ids), val_tokens=len(run.val_ids))
    run.out.mkdir(parents=True, exist_ok=True)
    (run.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def finish(run: Run, sample_tokens: int, interrupted: bool) -> None:
    """The final evaluation (every rank takes part); then, on rank 0, results.json, the log, the
    sample, and the val_loss= line."""
    val_loss = full_val_loss(run)
    if not run.dist.main:
        return
    tokens = run.it * run.hp["batch_size"] * run.hp["block_size"]
    results = dict(val_loss=val_loss, iters=run.it, elapsed_s=round(run.elapsed, 2), tokens=tokens,
                   tokens_per_s=round(tokens / max(run.elapsed, 1e-9)),
                   parameters=sum(p.numel() for p in run.raw_model.parameters()), interrupted=interrupted,
                   parts=run.owner)
    if run.tokenizer.kind == "bpe":
        results["val_loss_per_char"] = val_loss * len(run.val_ids) / run.val_chars
    (run.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    run.rows.append(dict(iter=run.it, elapsed_s=round(run.elapsed, 3), final_val_loss=round(val_loss, 6)))
    write_log(run.out / "log.csv", run.rows)
    print(f"{run.it:,} steps in {run.elapsed:.1f} s ({results['tokens_per_s']:,} tokens/s); "
          f"checkpoint {run.out / CHECKPOINT}")
    if sample_tokens > 0:
        print("---- sample ----")
        print(sample_text(run, sample_tokens).strip("\n"))
        print("----------------")
    if run.tokenizer.kind == "bpe":
        print(f"val loss per character: {results['val_loss_per_char']:.4f}")
    print(f"val_loss={val_loss:.4f}", flush=True)


def train(args: argparse.Namespace, dist: Distributed, device: str, idle_threads: str = "") -> None:
    import torch

    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    threads = args.threads or max(1, (os.cpu_count() or 1) // dist.local_world)
    torch.set_num_threads(threads)
    say = print if dist.main else (lambda *a, **k: None)
    run, resumed = set_up(args, dist, device, say)
    if dist.main:  # nothing is written before this point
        write_config(run, threads, idle_threads)
    say(describe(run, threads, resumed, idle_threads), flush=True)
    bar = progress_bar(run, args.no_progress)
    write = bar.write if bar is not None else (lambda line: say(line, flush=True))
    try:
        interrupted = train_loop(run, bar, write, args.stop_after_iters, args.log_interval)
    except KeyboardInterrupt:
        interrupted = True
        write("interrupted: saving a checkpoint (continue with --resume)")
    if bar is not None:
        bar.close()
    save_checkpoint(run)
    finish(run, args.sample_tokens, interrupted)


def cores_in_use(seconds: float = 0.3) -> float | None:
    """How many cores other programs keep busy right now (from /proc/stat; None where there is none)."""
    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields[:8]), fields[3] + fields[4]  # all time, and idle + iowait
    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    cores = os.cpu_count() or 1
    return cores * (1 - (idle1 - idle0) / max(total1 - total0, 1))


def idle_thread_policy() -> str:
    """Whether idle OpenMP threads spin or sleep, decided before torch is imported (OpenMP reads
    OMP_WAIT_POLICY once).  Spinning wins on free cores, sleeping on busy ones: on 2 cores a step of
    the cpu preset took 17 ms spinning and 30 ms sleeping when nothing else ran, but 125 ms spinning
    and 29 ms sleeping beside a second run.  A user's own setting stands."""
    if "torch" in sys.modules:  # too late to choose (train called from Python, as in the tests)
        return ""
    if "OMP_WAIT_POLICY" in os.environ:
        return f"{os.environ['OMP_WAIT_POLICY'].lower()} (your OMP_WAIT_POLICY)"
    if int(os.environ.get("LOCAL_WORLD_SIZE", "1")) > 1:
        reason = "other processes of this run share the cores"
    else:
        busy = cores_in_use()
        if busy is not None and busy < 0.5:
            return "spin (the cores are free)"
        reason = "the cores are busy" if busy is not None else "the load is unknown"
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return f"sleep ({reason})"


def run(args: argparse.Namespace) -> int:
    """The ``train`` command: 0 when the run ends (or stops as asked), 2 with one line for bad input."""
    idle_threads = idle_thread_policy()
    device = resolve_device(args.device)
    dist = Distributed(device.split(":")[0])
    if dist.enabled and device.startswith("cuda"):
        import torch

        device = f"cuda:{dist.local_rank}"
        torch.cuda.set_device(device)
    try:
        train(args, dist, device, idle_threads)
    except (TrainError, DataError) as error:
        if dist.main:
            print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    finally:
        dist.close()
    return 0
