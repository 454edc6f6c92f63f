"""``python -m autograder train``: train the GPT defined in a lesson-08 notebook.

The notebook is loaded the way the grader loads it (:func:`autograder.notebook.load_notebook`);
its ``GPT`` and ``GPTConfig`` classes are the model.  Everything around the model is here:
character-level (or lesson 01's BPE) tokens, random training windows, AdamW with weight decay on
2-D tensors only, linear warmup then cosine decay (over ``--max-iters``, or over the time budget
``--max-minutes``), gradient clipping, periodic evaluation, a progress bar, checkpoints in
``--out`` (``--resume`` continues a run), and a sample at the end.  The last line printed is
``val_loss=X.XXXX``: the mean cross-entropy over the last 10% of the text (every non-overlapping
window of ``block_size`` tokens).

Under ``torchrun --nproc_per_node=N`` the same command trains with DistributedDataParallel (gloo on
CPU, nccl on GPU): every rank draws the same global batch of ``--batch-size`` windows and keeps its
share, so N processes follow the trajectory of one process with the whole batch.  Only rank 0
prints and writes files.

The time budget counts the training loop (periodic evaluations and checkpoints included), not
loading the notebook and the data, the final evaluation or the sample.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from .catalog import DATASETS_DIR, LESSONS_DIR, SOLUTIONS_DIR

# Hyperparameters a run is made of.  Presets fill them in; explicit flags win; a resumed run
# takes them from its checkpoint.
HYPER = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias", "batch_size", "lr", "min_lr",
         "warmup_iters", "weight_decay", "beta1", "beta2", "grad_clip", "max_iters", "max_minutes",
         "eval_interval", "eval_iters", "tokenizer", "vocab_size", "seed")
MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias")

PRESETS: dict[str, dict[str, Any]] = {
    # Tuned for a small CPU and a 3-minute budget (benchmarks/bench_gpt.py): nanoGPT's baby recipe with
    # half the depth (so about twice the steps in the same time) and a 5x larger learning rate.
    "cpu": dict(n_layer=2, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False, batch_size=12,
                lr=5e-3, min_lr=5e-4, warmup_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99,
                grad_clip=1.0, max_iters=0, max_minutes=3.0, eval_interval=500, eval_iters=10,
                tokenizer="char", vocab_size=512, seed=1337),
    # nanoGPT's CPU "baby" recipe (README: python train.py config/train_shakespeare_char.py --device=cpu
    # --compile=False --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4
    # --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0).
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False, batch_size=12,
                 lr=1e-3, min_lr=1e-4, warmup_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99,
                 grad_clip=1.0, max_iters=2000, max_minutes=0.0, eval_interval=250, eval_iters=20,
                 tokenizer="char", vocab_size=512, seed=1337),
    # nanoGPT's shakespeare-char GPU config (6 x 384, context 256, batch 64, dropout 0.2).
    "gpu": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2, bias=False, batch_size=64,
                lr=1e-3, min_lr=1e-4, warmup_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99,
                grad_clip=1.0, max_iters=5000, max_minutes=0.0, eval_interval=250, eval_iters=20,
                tokenizer="char", vocab_size=512, seed=1337),
}

CHECKPOINT = "ckpt.pt"


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _presets_of(key: str) -> str:
    return " [" + ", ".join(f"{name}: {values[key]}" for name, values in PRESETS.items()) + "]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``train`` subcommand's options (defaults: the ``cpu`` preset)."""
    parser.description = ("Train the GPT defined in a lesson-08 notebook on a text file. The last line printed "
                          "is val_loss=X.XXXX (cross-entropy on the last 10% of the file).")
    io = parser.add_argument_group("input and output")
    io.add_argument("--notebook", default=str(LESSONS_DIR / "08_gpt.ipynb"),
                    help="notebook whose GPT and GPTConfig classes are trained (default: lessons/08_gpt.ipynb)")
    io.add_argument("--data", default=str(DATASETS_DIR / "shakespeare.txt"), help="UTF-8 text file (default: datasets/shakespeare.txt)")
    io.add_argument("--out", default="runs/gpt", help="run folder: ckpt.pt, log.csv, config.json, results.json (default: runs/gpt)")
    io.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    io.add_argument("--preset", choices=sorted(PRESETS), default="cpu",
                    help="starting values for every hyperparameter (cpu: tuned for a laptop CPU and 3 "
                         "minutes, the default; baby: nanoGPT's CPU recipe; gpu: nanoGPT's shakespeare-char recipe)")
    io.add_argument("--bpe-notebook", default=str(SOLUTIONS_DIR / "01_tokenization.ipynb"),
                    help="with --tokenizer bpe: the lesson-01 notebook whose train_bpe_fast and encode are used")
    io.add_argument("--sample-tokens", type=int, default=400, help="tokens to generate at the end (0: none; default 400)")
    io.add_argument("--no-progress", action="store_true", help="no progress bar")
    io.add_argument("--log-interval", type=int, default=10, help="log the training loss every N iterations (default 10)")
    io.add_argument("--stop-after-iters", type=int, default=0,
                    help="stop this session after N iterations (with a checkpoint), as if interrupted; "
                         "continue with --resume")

    hp = parser.add_argument_group("hyperparameters (default: the preset's value)")
    hp.add_argument("--tokenizer", choices=["char", "bpe"], help="characters, or lesson 01's byte-pair encoding" + _presets_of("tokenizer"))
    hp.add_argument("--vocab-size", type=int, help="with --tokenizer bpe: vocabulary size (256 + merges)" + _presets_of("vocab_size"))
    hp.add_argument("--n-layer", type=int, help="number of blocks" + _presets_of("n_layer"))
    hp.add_argument("--n-head", type=int, help="attention heads per block" + _presets_of("n_head"))
    hp.add_argument("--n-embd", type=int, help="width of the residual stream" + _presets_of("n_embd"))
    hp.add_argument("--block-size", type=int, help="context length in tokens" + _presets_of("block_size"))
    hp.add_argument("--dropout", type=float, help="dropout probability" + _presets_of("dropout"))
    hp.add_argument("--bias", type=_bool, help="biases in Linear layers and LayerNorms (true/false)" + _presets_of("bias"))
    hp.add_argument("--batch-size", type=int, help="windows per step (the global batch under torchrun)" + _presets_of("batch_size"))
    hp.add_argument("--lr", type=float, help="peak learning rate" + _presets_of("lr"))
    hp.add_argument("--min-lr", type=float, help="learning rate at the end of the cosine" + _presets_of("min_lr"))
    hp.add_argument("--warmup-iters", type=int, help="linear warmup steps" + _presets_of("warmup_iters"))
    hp.add_argument("--weight-decay", type=float, help="AdamW weight decay of the 2-D tensors" + _presets_of("weight_decay"))
    hp.add_argument("--beta1", type=float, help="AdamW beta1" + _presets_of("beta1"))
    hp.add_argument("--beta2", type=float, help="AdamW beta2" + _presets_of("beta2"))
    hp.add_argument("--grad-clip", type=float, help="clip the gradient norm to this (0: no clipping)" + _presets_of("grad_clip"))
    hp.add_argument("--max-iters", type=int,
                    help="stop after this many steps, and decay the learning rate over them (0: no limit)" + _presets_of("max_iters"))
    hp.add_argument("--max-minutes", type=float,
                    help="training time budget; without --max-iters the cosine decays over it (0: no limit)" + _presets_of("max_minutes"))
    hp.add_argument("--eval-interval", type=int, help="evaluate and save a checkpoint every N steps" + _presets_of("eval_interval"))
    hp.add_argument("--eval-iters", type=int, help="batches per periodic evaluation (the final one uses all)" + _presets_of("eval_iters"))
    hp.add_argument("--seed", type=int, help="random seed (initialisation, batches, sample)" + _presets_of("seed"))

    sys_ = parser.add_argument_group("system")
    sys_.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    sys_.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto",
                      help="autocast precision (auto: bfloat16 on a GPU that supports it, else float32)")
    sys_.add_argument("--compile", action="store_true", help="torch.compile the model")
    sys_.add_argument("--threads", type=int, default=0,
                      help="CPU threads per process (0: all cores, divided among local processes)")


# ---------------------------------------------------------------- helpers


class Distributed:
    """Rank, world size and the few collectives the loop needs (a no-op for one process)."""

    def __init__(self, device_kind: str) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(self.world)))
        self.enabled = self.world > 1
        self.backend = None
        if self.enabled:
            import torch.distributed as dist

            self.backend = "nccl" if device_kind == "cuda" else "gloo"
            dist.init_process_group(backend=self.backend)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def broadcast_float(self, value: float, device: Any) -> float:
        if not self.enabled:
            return value
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.broadcast(t, src=0)
        return float(t.item())

    def sum(self, values: list[float], device: Any) -> list[float]:
        if not self.enabled:
            return values
        import torch
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

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


def lr_at(it: int, elapsed: float, hp: dict[str, Any], warm_end: float | None) -> float:
    """Linear warmup over iterations, then cosine from lr to min_lr over the remaining iterations
    (with --max-iters) or the remaining time budget (without)."""
    warmup, peak, floor = hp["warmup_iters"], hp["lr"], hp["min_lr"]
    if it < warmup:
        return peak * (it + 1) / (warmup + 1)
    if hp["max_iters"] > 0:
        ratio = (it - warmup) / max(1, hp["max_iters"] - warmup)
    else:
        budget, start = hp["max_minutes"] * 60.0, warm_end or 0.0
        ratio = (elapsed - start) / max(1e-9, budget - start)
    ratio = min(max(ratio, 0.0), 1.0)
    return floor + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - floor)


class Tokenizer:
    """Characters (the default) or lesson 01's byte-level BPE."""

    def __init__(self, state: dict[str, Any], bpe_ns: Any = None) -> None:
        self.state = state
        self.kind = state["kind"]
        if self.kind == "char":
            self.stoi = {c: i for i, c in enumerate(state["chars"])}
            self.vocab_size = len(state["chars"])
        else:
            self.merges = {(a, b): i for a, b, i in state["merges"]}
            self.vocab = dict(state["vocab"])
            self.vocab_size = max(self.vocab) + 1
            self.ns = bpe_ns

    @classmethod
    def build(cls, kind: str, train_text: str, full_text: str, vocab_size: int, bpe_ns: Any) -> "Tokenizer":
        if kind == "char":
            return cls({"kind": "char", "chars": sorted(set(full_text))})
        train = bpe_ns.values.get("train_bpe_fast") or bpe_ns.values["train_bpe"]
        merges, vocab = train(train_text, vocab_size)
        return cls({"kind": "bpe", "merges": [(a, b, i) for (a, b), i in merges.items()], "vocab": dict(vocab)},
                   bpe_ns)

    def encode(self, text: str) -> list[int]:
        if self.kind == "char":
            return [self.stoi[c] for c in text]
        cache: dict[str, list[int]] = {}
        ids: list[int] = []
        for word in self.ns.split_words(text):  # encode each distinct chunk once
            if word not in cache:
                cache[word] = self.ns.encode(word, self.merges, self.vocab)
            ids.extend(cache[word])
        return ids

    def decode(self, ids: list[int]) -> str:
        if self.kind == "char":
            chars = self.state["chars"]
            return "".join(chars[i] for i in ids)
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")


def load_model_classes(notebook: Path) -> tuple[Any, Any]:
    from .notebook import load_notebook

    if not notebook.exists():
        raise SystemExit(f"error: {notebook} does not exist")
    ns = load_notebook(notebook)
    missing = [name for name in ("GPT", "GPTConfig") if name not in ns.values]
    if missing:
        why = f" ({ns.cell_errors[0].describe()})" if ns.cell_errors else ""
        raise SystemExit(f"error: {notebook} does not define {' and '.join(missing)}{why}")
    return ns.values["GPT"], ns.values["GPTConfig"]


def load_bpe_notebook(path: Path) -> Any:
    from .notebook import load_notebook

    ns = load_notebook(path)
    for name in ("split_words", "encode"):
        if name not in ns.values:
            raise SystemExit(f"error: {path} does not define {name} (needed by --tokenizer bpe)")
    if "train_bpe_fast" not in ns.values and "train_bpe" not in ns.values:
        raise SystemExit(f"error: {path} defines neither train_bpe_fast nor train_bpe")
    return ns


def _friendly(error: BaseException, what: str) -> SystemExit:
    if isinstance(error, NotImplementedError):
        return SystemExit(f"error: {what} is not implemented yet (a cell still raises NotImplementedError). "
                          "Complete lesson 08 (python -m autograder check 08), or train the reference model "
                          "with --notebook solutions/08_gpt.ipynb.")
    return SystemExit(f"error: {what} raised {type(error).__name__}: {error}")


@contextlib.contextmanager
def _maybe(ctx: Any):
    if ctx is None:
        yield
    else:
        with ctx:
            yield


def evaluate(model: Any, ids: Any, block_size: int, batch_size: int, max_windows: int, dist: Distributed,
             device: Any, autocast: Any) -> float:
    """Mean loss over non-overlapping windows of ids (all of them, or max_windows spread evenly)."""
    import torch

    n = (len(ids) - 1) // block_size
    starts = torch.arange(n) * block_size
    if 0 < max_windows < n:
        starts = starts[torch.linspace(0, n - 1, max_windows).round().long()]
    starts = starts[dist.rank::dist.world]
    offsets = torch.arange(block_size)
    total = count = 0.0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for chunk in starts.split(batch_size):
            x = ids[chunk[:, None] + offsets].to(device)
            y = ids[chunk[:, None] + offsets + 1].to(device)
            with _maybe(autocast):
                _, loss = model(x, y)
            total += float(loss) * y.numel()
            count += y.numel()
    model.train(was_training)
    total, count = dist.sum([total, count], device)
    return total / max(count, 1.0)


def sample(model: Any, start: list[int], n: int, block_size: int, device: Any, temperature: float = 0.8,
           top_k: int | None = 40, seed: int = 0) -> list[int]:
    """Draw n tokens after `start` (temperature and top-k), cropping the context to block_size."""
    import torch

    generator = torch.Generator(device="cpu").manual_seed(seed)
    idx = torch.tensor([start], dtype=torch.long, device=device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for _ in range(n):
            logits, _ = model(idx[:, -block_size:])
            logits = logits[:, -1, :].float().cpu() / temperature
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
                logits[logits < kth] = float("-inf")
            nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
            idx = torch.cat([idx, nxt.to(device)], dim=1)
    model.train(was_training)
    return idx[0, len(start):].tolist()


# ---------------------------------------------------------------- the run


def resolve_hyper(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    hp = dict(saved) if saved is not None else dict(PRESETS[args.preset])
    for key in HYPER:
        value = getattr(args, key, None)
        if value is None:
            continue
        if saved is not None and key in MODEL_KEYS + ("tokenizer", "vocab_size") and value != saved[key]:
            raise SystemExit(f"error: --{key.replace('_', '-')} {value} differs from the checkpoint's "
                             f"{saved[key]}: a resumed run keeps its model and tokenizer")
        hp[key] = value
    if hp["max_iters"] <= 0 and hp["max_minutes"] <= 0:
        raise SystemExit("error: give a limit: --max-iters or --max-minutes")
    if hp["n_embd"] % hp["n_head"]:
        raise SystemExit(f"error: --n-embd {hp['n_embd']} must be divisible by --n-head {hp['n_head']}")
    return hp


def run(args: argparse.Namespace) -> int:
    import torch

    from .data import load_text, train_val_split

    out = Path(args.out)
    ckpt_path = out / CHECKPOINT
    saved = None
    device = resolve_device(args.device)
    dist = Distributed(device.split(":")[0])
    if dist.enabled and device.startswith("cuda"):
        device = f"cuda:{dist.local_rank}"
        torch.cuda.set_device(device)
    say = print if dist.main else (lambda *a, **k: None)

    if args.resume:
        if not ckpt_path.exists():
            raise SystemExit(f"error: --resume, but {ckpt_path} does not exist")
        saved = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    hp = resolve_hyper(args, saved["hyper"] if saved else None)
    if hp["batch_size"] % dist.world:
        raise SystemExit(f"error: --batch-size {hp['batch_size']} must be divisible by the {dist.world} processes")
    threads = args.threads or max(1, (os.cpu_count() or 1) // dist.local_world)
    torch.set_num_threads(threads)
    device_type = device.split(":")[0]
    if device_type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    dtype = args.dtype
    if dtype == "auto":
        dtype = "bfloat16" if device_type == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    autocast = (torch.autocast(device_type=device_type, dtype=getattr(torch, dtype))
                if dtype != "float32" else None)
    scaler = torch.amp.GradScaler(device_type, enabled=(dtype == "float16"))

    # -- data and tokens
    text = load_text(args.data)
    train_text, val_text = train_val_split(text)
    bpe_ns = load_bpe_notebook(Path(args.bpe_notebook)) if hp["tokenizer"] == "bpe" else None
    if saved:
        tokenizer = Tokenizer(saved["tokenizer"], bpe_ns)
    else:
        tokenizer = Tokenizer.build(hp["tokenizer"], train_text, text, hp["vocab_size"], bpe_ns)
    train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    if min(len(train_ids), len(val_ids)) <= hp["block_size"] + 1:
        raise SystemExit(f"error: {args.data} is too short for --block-size {hp['block_size']}")

    # -- the notebook's model
    GPT, GPTConfig = load_model_classes(Path(args.notebook))
    torch.manual_seed(hp["seed"])
    try:
        config = GPTConfig(block_size=hp["block_size"], vocab_size=tokenizer.vocab_size, n_layer=hp["n_layer"],
                           n_head=hp["n_head"], n_embd=hp["n_embd"], dropout=hp["dropout"], bias=hp["bias"])
        raw_model = GPT(config)
        with torch.no_grad():
            probe = train_ids[: min(8, hp["block_size"]) + 1][None]
            logits, loss = raw_model(probe[:, :-1], probe[:, 1:])
    except BaseException as error:  # the learner's code may raise anything
        raise _friendly(error, f"the GPT of {args.notebook}") from None
    if not (isinstance(logits, torch.Tensor) and logits.shape[-1] == tokenizer.vocab_size and loss is not None):
        raise SystemExit("error: GPT.forward(idx, targets) must return (logits of shape (B, T, vocab_size), loss)")
    raw_model.to(device)
    decay = [p for p in raw_model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in raw_model.parameters() if p.requires_grad and p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
                                  fused=True if device_type in ("cuda", "cpu") else None)
    generator = torch.Generator().manual_seed(hp["seed"])
    it, elapsed, warm_end, rows = 0, 0.0, None, []
    if saved:
        raw_model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["rng"])
        it, elapsed, warm_end, rows = saved["iter"], saved["elapsed"], saved["warm_end"], saved["rows"]
    model = raw_model
    if args.compile:
        model = torch.compile(model)
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[dist.local_rank] if device_type == "cuda" else None)

    n_params = sum(p.numel() for p in raw_model.parameters())
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(dict(
            hyper=hp, notebook=str(args.notebook), data=str(args.data), device=device, dtype=dtype,
            world_size=dist.world, threads=threads, parameters=n_params, vocab_size=tokenizer.vocab_size,
            train_tokens=len(train_ids), val_tokens=len(val_ids)), indent=2) + "\n")
    limits = []
    if hp["max_iters"] > 0:
        limits.append(f"{hp['max_iters']:,} steps")
    if hp["max_minutes"] > 0:
        limits.append(f"{hp['max_minutes']:g} min")
    say(f"{'resuming' if saved else 'training'} the GPT of {args.notebook}: {n_params:,} parameters "
        f"({hp['n_layer']} layers, {hp['n_head']} heads, {hp['n_embd']} wide, context {hp['block_size']}), "
        f"{tokenizer.kind} tokens (vocabulary {tokenizer.vocab_size}), {len(train_ids):,} train / "
        f"{len(val_ids):,} val tokens; batch {hp['batch_size']}, lr {hp['lr']:g}, "
        f"limit {' or '.join(limits)}; {device} ({dtype}), {dist.world} process(es) x {threads} thread(s)",
        flush=True)

    budget = hp["max_minutes"] * 60.0 if hp["max_minutes"] > 0 else math.inf
    max_iters = hp["max_iters"] if hp["max_iters"] > 0 else math.inf
    per_rank = hp["batch_size"] // dist.world
    offsets = torch.arange(hp["block_size"])
    session_iters = 0

    def save_checkpoint() -> None:
        if not dist.main:
            return
        state = dict(model=raw_model.state_dict(), optimizer=optimizer.state_dict(), generator=generator.get_state(),
                     rng=torch.get_rng_state(), iter=it, elapsed=elapsed, warm_end=warm_end, rows=rows,
                     hyper=hp, tokenizer=tokenizer.state)
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, ckpt_path)
        write_log(out / "log.csv", rows)

    bar = None
    if dist.main and not args.no_progress:
        from tqdm import tqdm

        if hp["max_iters"] > 0:
            bar = tqdm(total=hp["max_iters"], initial=it, unit="step", dynamic_ncols=True, mininterval=1.0)
        else:
            bar = tqdm(total=round(budget), initial=min(round(elapsed), round(budget)), unit="s",
                       dynamic_ncols=True, mininterval=1.0, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s {postfix}")
    write = bar.write if bar is not None else (lambda s: say(s, flush=True))

    model.train()
    interrupted = False
    session_start = time.perf_counter() - elapsed
    try:
        while True:
            elapsed = dist.broadcast_float(time.perf_counter() - session_start, device)
            if it >= max_iters or elapsed >= budget:
                break
            if args.stop_after_iters and session_iters >= args.stop_after_iters:
                interrupted = True
                break
            if it == hp["warmup_iters"] and warm_end is None:
                warm_end = elapsed
            lr = lr_at(it, elapsed, hp, warm_end)
            for group in optimizer.param_groups:
                group["lr"] = lr
            ix = torch.randint(len(train_ids) - hp["block_size"], (hp["batch_size"],), generator=generator)
            ix = ix[dist.rank * per_rank:(dist.rank + 1) * per_rank]  # this rank's share of the global batch
            x = train_ids[ix[:, None] + offsets].to(device, non_blocking=True)
            y = train_ids[ix[:, None] + offsets + 1].to(device, non_blocking=True)
            with _maybe(autocast):
                _, loss = model(x, y)
            scaler.scale(loss).backward()
            if hp["grad_clip"] > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(raw_model.parameters(), hp["grad_clip"])
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            it += 1
            session_iters += 1
            if it % args.log_interval == 0 or it == 1:
                train_loss = dist.sum([loss.item()], device)[0] / dist.world
                rows.append(dict(iter=it, elapsed_s=round(elapsed, 3), lr=lr, train_loss=round(train_loss, 6)))
                if bar is not None:
                    bar.set_postfix_str(f"step {it}, loss {train_loss:.3f}, lr {lr:.1e}", refresh=False)
            if bar is not None:
                if hp["max_iters"] > 0:
                    bar.update(1)
                else:
                    bar.update(min(elapsed, budget) - bar.n)
            if it % hp["eval_interval"] == 0:
                windows = hp["eval_iters"] * hp["batch_size"]
                val = evaluate(raw_model, val_ids, hp["block_size"], hp["batch_size"], windows, dist, device, autocast)
                trn = evaluate(raw_model, train_ids, hp["block_size"], hp["batch_size"], windows, dist, device,
                               autocast)
                rows.append(dict(iter=it, elapsed_s=round(elapsed, 3), lr=lr, eval_train_loss=round(trn, 6),
                                 eval_val_loss=round(val, 6)))
                write(f"step {it:6d} | {elapsed:7.1f} s | train {trn:.4f} | val {val:.4f} | lr {lr:.2e}")
                save_checkpoint()
    except KeyboardInterrupt:
        interrupted = True
        write("interrupted: saving a checkpoint (continue with --resume)")
    if bar is not None:
        bar.close()
    elapsed = dist.broadcast_float(time.perf_counter() - session_start, device)
    save_checkpoint()

    tokens = it * hp["batch_size"] * hp["block_size"]
    session_time = elapsed
    val_loss = evaluate(raw_model, val_ids, hp["block_size"], max(hp["batch_size"], 32), 0, dist, device, autocast)
    if dist.main:
        results = dict(val_loss=val_loss, iters=it, elapsed_s=round(session_time, 2), tokens=tokens,
                       tokens_per_s=round(tokens / max(session_time, 1e-9)), parameters=n_params,
                       interrupted=interrupted)
        if tokenizer.kind == "bpe":
            results["val_loss_per_char"] = val_loss * len(val_ids) / len(val_text)
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        rows.append(dict(iter=it, elapsed_s=round(session_time, 3), final_val_loss=round(val_loss, 6)))
        write_log(out / "log.csv", rows)
        print(f"{it:,} steps in {session_time:.1f} s ({results['tokens_per_s']:,} tokens/s); checkpoint {ckpt_path}")
        if args.sample_tokens > 0:
            start = tokenizer.encode("\n")[:1] or [0]
            ids = sample(raw_model, start, args.sample_tokens, hp["block_size"], device, seed=hp["seed"])
            print("---- sample ----")
            print(tokenizer.decode(ids).strip("\n"))
            print("----------------")
        if tokenizer.kind == "bpe":
            print(f"val loss per character: {results['val_loss_per_char']:.4f}")
        print(f"val_loss={val_loss:.4f}", flush=True)
    dist.close()
    return 0


def write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    fields = ["iter", "elapsed_s", "lr", "train_loss", "eval_train_loss", "eval_val_loss", "final_val_loss"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point for tests and scripts: parse ``argv`` as the ``train`` subcommand does."""
    parser = argparse.ArgumentParser(prog="python -m autograder train")
    add_arguments(parser)
    return run(parser.parse_args(argv))
