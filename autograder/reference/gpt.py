"""The course's reference GPT: lesson 08's model and training functions, written once.

Everything here has the name, signature and behaviour of the matching exercise of
``solutions/08_gpt.ipynb``, so a check or a tool can put one in place of the learner's and get the
same numbers (``autograder/tests/test_reference_gpt.py`` proves it):

* :class:`GPTConfig` and :class:`GPT` (with :class:`CausalSelfAttention`, :class:`MLP` and
  :class:`Block`): GPT-2's layout and parameter names (``transformer.wte``, ``wpe``, ``drop``,
  ``h[i].ln_1 / attn.c_attn / attn.c_proj / ln_2 / mlp.c_fc / mlp.c_proj``, ``ln_f``, and an
  ``lm_head`` tied to ``wte``), GPT-2's initialisation, ``forward(idx, targets=None) -> (logits, loss)``;
* :func:`load_gpt2_state_dict`: Hugging Face GPT-2 weights into a :class:`GPT`;
* :func:`get_batch`, :func:`configure_optimizer`, :func:`get_lr`, :func:`estimate_loss`: training;
* :func:`filter_logits` and :func:`generate`: sampling with temperature, top-k and top-p.

Random numbers come from torch's global generator, as in the notebook: after the same
``torch.manual_seed``, the reference and the solution draw the same weights, batches and samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

Splits = dict[str, torch.Tensor]


@dataclass
class GPTConfig:
    block_size: int = 256  # longest context, in tokens
    vocab_size: int = 66  # number of distinct tokens
    n_layer: int = 6  # blocks
    n_head: int = 6  # attention heads per block
    n_embd: int = 384  # width of the residual stream
    dropout: float = 0.0  # dropout probability while training
    bias: bool = True  # biases in the Linear layers and LayerNorms (GPT-2 has them)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: ``c_attn`` makes q, k and v for every head at once,
    ``c_proj`` mixes the heads' outputs."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        assert config.n_embd % config.n_head == 0, "n_embd must split evenly into heads"
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        head_size = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): each head attends on its own
        q = q.view(B, T, self.n_head, head_size).transpose(1, 2)
        k = k.view(B, T, self.n_head, head_size).transpose(1, 2)
        v = v.view(B, T, self.n_head, head_size).transpose(1, 2)
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # the heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """The position-wise feed-forward network: C -> 4C -> GELU (tanh, as GPT-2) -> C."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-norm transformer block: the residual stream gets attn(ln_1(x)), then mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    """GPT-2: token and position embeddings, ``n_layer`` blocks, a final LayerNorm, and a head
    that shares its weight with the token embedding."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying
        self.apply(self._init_weights)
        # Each block adds two outputs to the residual stream: shrink the projections that write them.
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=residual_std)

    def _init_weights(self, module: nn.Module) -> None:
        """GPT-2's initialisation: weights ~ N(0, 0.02), biases 0 (LayerNorms keep 1 and 0)."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor,
                targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, T = idx.shape
        assert T <= self.config.block_size, f"{T} tokens, but block_size is {self.config.block_size}"
        positions = torch.arange(T, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(positions))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))  # (B, T, vocab_size)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


# Hugging Face's GPT-2 stores these four weights as Conv1D, (in, out): the transpose of nn.Linear's.
_CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def load_gpt2_state_dict(model: GPT, hf_state_dict: dict[str, torch.Tensor]) -> GPT:
    """Copy a Hugging Face GPT-2 state dict into ``model`` in place (entries it lacks are skipped)."""
    own = model.state_dict()
    with torch.no_grad():
        for name, tensor in hf_state_dict.items():
            if name not in own:  # e.g. the causal-mask buffers of older checkpoints
                continue
            own[name].copy_(tensor.t() if name.endswith(_CONV1D_WEIGHTS) else tensor)
    return model


# ---------------------------------------------------------------- training


def get_batch(data: torch.Tensor, block_size: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``data``: inputs x and targets y (x moved one token on)."""
    starts = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([data[i:i + block_size] for i in starts])
    y = torch.stack([data[i + 1:i + 1 + block_size] for i in starts])
    return x, y


def configure_optimizer(model: nn.Module, weight_decay: float, learning_rate: float,
                        betas: tuple[float, float] = (0.9, 0.95)) -> torch.optim.AdamW:
    """AdamW that decays the matrices (2-D: weights and embeddings), not biases and LayerNorm gains."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)


def get_lr(it: float, warmup_iters: int, max_iters: int, max_lr: float, min_lr: float) -> float:
    """Linear warmup over ``warmup_iters`` steps, half a cosine from ``max_lr`` down to ``min_lr`` at
    ``max_iters``, then ``min_lr``.  ``it`` may be fractional."""
    if it < warmup_iters:
        return max_lr * (it + 1) / (warmup_iters + 1)
    if it > max_iters:
        return min_lr
    progress = (it - warmup_iters) / (max_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)


def estimate_loss(model: nn.Module, splits: Splits, eval_iters: int, batch_size: int) -> dict[str, float]:
    """Mean loss over ``eval_iters`` random batches of each split, dropout off and without a graph."""
    model.eval()
    means = {}
    with torch.no_grad():
        for name, data in splits.items():
            total = 0.0
            for _ in range(eval_iters):
                _, loss = model(*get_batch(data, model.config.block_size, batch_size))
                total += loss.item()
            means[name] = total / eval_iters
    model.train()
    return means


# ---------------------------------------------------------------- sampling


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """A copy of ``logits`` (B, V) with -inf outside the top-k, then outside the top-p nucleus."""
    logits = logits.clone()
    if top_k is not None:
        kth_largest = torch.topk(logits, min(top_k, logits.size(-1))).values[..., -1:]
        logits[logits < kth_largest] = float("-inf")
    if top_p is not None:
        ranked, order = torch.sort(logits, descending=True)
        probs = ranked.softmax(dim=-1)
        mass_above = probs.cumsum(dim=-1) - probs  # probability of the tokens ranked higher
        outside = mass_above >= top_p  # so the token that crosses top_p stays in
        logits[outside.scatter(-1, order, outside)] = float("-inf")
    return logits


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Extend ``idx`` (B, T) by ``max_new_tokens`` tokens, drawn one at a time."""
    for _ in range(max_new_tokens):
        context = idx[:, -model.config.block_size:]  # no position beyond block_size
        logits, _ = model(context)
        logits = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        next_id = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, next_id), dim=1)
    return idx
