"""Checks for lesson 09 — looking inside: attention patterns, induction heads and circuits.

The checks never train anything. They build tiny GPT-2-style models here (nanoGPT's module
names: ``transformer.wte/wpe/h[i].attn.c_attn/c_proj``, ``lm_head``), with fused attention
(``F.scaled_dot_product_attention``) so that no attention pattern is ever stored, and with a
``ln_1`` LayerNorm in front of each attention (as in lesson 08), so a hook must read what the
attention module *received*. One of them has a previous-token head planted by hand. Every
reference (patterns, residual stream, ablated forward pass, OV matrices) is computed here
from the weights, in float64 where it matters. Head scores are checked on hand-made attention
patterns whose scores are known exactly. When a result is wrong, the checks compare it with the
known-buggy variants (pre-softmax scores, diagonal instead of sub-diagonal, induction offset off
by one, strided head channels, query instead of value weights, ...) to name the mistake.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..feedback import describe, expect_tensor_close, expect_type
from ..registry import CheckFailure, Namespace

from ..practice.lesson09 import lesson


# ---------------------------------------------------------------- tiny models built here

class _Attention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, bias: bool) -> None:
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.n_head = n_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class _Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, norm: bool, bias: bool) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd) if norm else nn.Identity()
        self.attn = _Attention(n_embd, n_head, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.attn(self.ln_1(x))


class _TinyGPT(nn.Module):
    """An attention-only GPT with nanoGPT's names; forward returns (logits, loss) like lesson 08."""

    def __init__(self, vocab: int = 11, block: int = 16, n_layer: int = 2, n_head: int = 3,
                 n_embd: int = 12, norm: bool = True, bias: bool = True, seed: int = 0) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, n_embd), wpe=nn.Embedding(block, n_embd),
            h=nn.ModuleList([_Block(n_embd, n_head, norm, bias) for _ in range(n_layer)])))
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if "ln_1" not in name:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        self.eval()

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(idx.shape[1]))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(x)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


def _planted_model() -> _TinyGPT:
    """Layer 0, head 0 attends (almost) only to the previous position: its query at position t
    is the one-hot vector of t, its key at position s the one-hot vector of s + 1."""
    T, n_head, hs = 8, 2, 8
    model = _TinyGPT(vocab=8, block=T, n_layer=2, n_head=n_head, n_embd=16, norm=False, bias=False, seed=3)
    with torch.no_grad():
        wte, wpe = model.transformer.wte.weight, model.transformer.wpe.weight
        wte.zero_()
        wte[:, :8] = torch.eye(8)                  # token one-hots in dims 0..7
        wpe.zero_()
        wpe[:, 8:] = torch.eye(T)                  # position one-hots in dims 8..15
        W = model.transformer.h[0].attn.c_attn.weight   # (3C, C): rows = q | k | v
        W[:2 * 16].zero_()
        W[0:hs, 8:] = 20 * torch.eye(T)           # head 0 query: position t -> e_t
        W[16:16 + hs, 8:8 + T - 1] = 20 * torch.eye(T)[:, 1:]  # head 0 key: position s -> e_(s+1)
    return model


def _ref_patterns(model: _TinyGPT, idx: torch.Tensor, softmax: bool = True, mask: bool = True) -> list[torch.Tensor]:
    """Attention patterns recomputed from the weights (scores in float64)."""
    out = []
    with torch.no_grad():
        x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(idx.shape[1]))
        for block in model.transformer.h:
            attn = block.attn
            a = block.ln_1(x)
            B, T, C = a.shape
            q, k, _ = attn.c_attn(a).double().split(C, dim=2)
            q, k = (t.view(B, T, attn.n_head, C // attn.n_head).transpose(1, 2) for t in (q, k))
            s = q @ k.transpose(-1, -2) / math.sqrt(C // attn.n_head)
            if mask:
                s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
            out.append((s.softmax(-1) if softmax else s).float())
            x = block(x)
    return out


def _ref_stream(model: _TinyGPT, idx: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(idx.shape[1]))
        stream = [x]
        for block in model.transformer.h:
            x = block(x)
            stream.append(x)
    return torch.stack(stream)


def _ref_ablated_logits(model: _TinyGPT, idx: torch.Tensor, layer: int, channels: torch.Tensor) -> torch.Tensor:
    """Logits with the given input channels of layer `layer`'s c_proj set to zero."""
    with torch.no_grad():
        x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(idx.shape[1]))
        for i, block in enumerate(model.transformer.h):
            attn = block.attn
            a = block.ln_1(x)
            B, T, C = a.shape
            q, k, v = attn.c_attn(a).split(C, dim=2)
            q, k, v = (t.view(B, T, attn.n_head, C // attn.n_head).transpose(1, 2) for t in (q, k, v))
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
            if i == layer:
                z = z.clone()
                z[..., channels] = 0
            x = x + attn.c_proj(z)
        return model.lm_head(x)


def _hooks_left(model: nn.Module) -> list[str]:
    return [name or "model" for name, m in model.named_modules()
            if m._forward_hooks or m._forward_pre_hooks]


def _logits(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(idx)[0]


# ---------------------------------------------------------------- exercises

@lesson.grading("record_attention")
def check_record_attention(ns: Namespace) -> None:
    torch.manual_seed(0)
    model = _TinyGPT(n_layer=2, n_head=3, n_embd=12)
    idx = torch.randint(0, 11, (2, 9), generator=torch.Generator().manual_seed(1))
    before = _logits(model, idx)
    got = ns.record_attention(model, idx)
    left = _hooks_left(model)
    if left:
        raise CheckFailure(f"after record_attention returned, hooks were still attached to {left}.",
                           "Keep the handles that register_forward_hook returns and call handle.remove() "
                           "on each, in a `finally:` block so they go even if the forward pass fails.")
    if not isinstance(got, (list, tuple)):
        raise CheckFailure(f"record_attention should return a list (one pattern per layer), got {describe(got)}.")
    if len(got) != 2:
        raise CheckFailure(f"the model has 2 layers, but record_attention returned {len(got)} patterns.",
                           "Hook the attention module of every block in model.transformer.h, once each.")
    want = _ref_patterns(model, idx)
    scores = _ref_patterns(model, idx, softmax=False)
    unmasked = _ref_patterns(model, idx, mask=False)
    for layer, (p, w) in enumerate(zip(got, want)):
        what = f"the pattern of layer {layer}"
        expect_type(p, torch.Tensor, what)
        if tuple(p.shape) != tuple(w.shape):
            raise CheckFailure(f"{what} has shape {tuple(p.shape)}, expected (B, n_head, T, T) = {tuple(w.shape)}.",
                               "Split q and k into heads: view(B, T, n_head, C // n_head).transpose(1, 2).")
        p = p.detach().float()
        finite = torch.where(torch.isinf(scores[layer]), torch.zeros_like(p), p)
        if torch.allclose(finite, torch.nan_to_num(scores[layer], neginf=0.0), atol=1e-4):
            raise CheckFailure(f"{what} holds the pre-softmax scores (rows sum to "
                               f"{p[0, 0, -1].sum().item():.3g}, not 1).",
                               "An attention pattern is softmax(masked scores, dim=-1): each row is a probability "
                               "distribution over the positions it may look at.")
        if torch.allclose(p, unmasked[layer], atol=1e-4):
            raise CheckFailure(f"{what} attends to future positions (the upper triangle is not zero).",
                               "Mask the scores with a causal mask (positions s > t get -inf) before the softmax.")
        expect_tensor_close(p, w, what, "Recompute the pattern from the module's input args[0] (after ln_1), "
                            "with c_attn's q and k and the 1/sqrt(head size) scale.", atol=1e-4)
    if not torch.equal(before, _logits(model, idx)):
        raise CheckFailure("the model's output changed after record_attention: hooks must only observe.",
                           "Return None from the hook (a forward hook that returns a value replaces the output).")
    # a model with a hand-planted previous-token head: layer 0, head 0 looks one token back
    planted = _planted_model()
    got = ns.record_attention(planted, torch.arange(8).repeat(2, 1))
    if not (isinstance(got, (list, tuple)) and len(got) == 2 and isinstance(got[0], torch.Tensor)):
        raise CheckFailure(f"record_attention on a 2-layer model returned {describe(got)}.")
    sub = got[0].detach()[0, 0].diagonal(-1)
    if sub.min() < 0.99:
        raise CheckFailure(f"on a model whose layer-0 head 0 was built to attend to the previous token, your "
                           f"pattern gives only {describe(sub)} on the sub-diagonal.",
                           "Use the input the attention module received (args[0] of the hook).")


@lesson.grading("record_residual_stream")
def check_record_residual_stream(ns: Namespace) -> None:
    model = _TinyGPT(n_layer=3, n_head=2, n_embd=8, seed=4)
    idx = torch.randint(0, 11, (2, 7), generator=torch.Generator().manual_seed(2))
    want = _ref_stream(model, idx)
    got = ns.record_residual_stream(model, idx)
    left = _hooks_left(model)
    if left:
        raise CheckFailure(f"after record_residual_stream returned, hooks were still attached to {left}.",
                           "Remove every hook handle in a `finally:` block.")
    expect_type(got, torch.Tensor, "record_residual_stream(model, idx)", "Return torch.stack(list_of_tensors).")
    if tuple(got.shape) == (3, *want.shape[1:]):
        got = got.detach()
        if torch.allclose(got, want[1:], atol=1e-5):
            raise CheckFailure("record_residual_stream returned the 3 block outputs but not the embeddings: "
                               f"expected shape {tuple(want.shape)} = (n_layer + 1, B, T, C).",
                               "The first entry is the input of block 0 (token + position embeddings): record "
                               "it with a forward *pre*-hook on model.transformer.h[0].")
        if torch.allclose(got, want[:-1], atol=1e-5):
            raise CheckFailure("record_residual_stream returned the 3 block inputs: the output of the last block "
                               f"is missing (expected shape {tuple(want.shape)}).",
                               "Record the embeddings once, then the *output* of every block.")
    expect_tensor_close(got, want, "record_residual_stream(model, idx)",
                        "Entry 0 is the embeddings, entry i + 1 the output of block i.")


@lesson.grading("repeated_random_tokens")
def check_repeated_random_tokens(ns: Namespace) -> None:
    got = ns.repeated_random_tokens(64, 10, 7, seed=3)
    expect_type(got, torch.Tensor, "repeated_random_tokens(64, 10, 7, seed=3)")
    if tuple(got.shape) != (64, 21):
        raise CheckFailure(f"repeated_random_tokens(64, 10, 7) has shape {tuple(got.shape)}, expected (64, 21): "
                           "BOS + 10 random tokens + the same 10 again.")
    if got.dtype != torch.long:
        raise CheckFailure(f"token ids should be torch.long (int64), got {got.dtype}.")
    if not (got[:, 0] == 0).all():
        raise CheckFailure(f"every sequence should start with BOS = 0; the first column is {describe(got[:, 0])}.")
    body = got[:, 1:]
    if body.min() < 1 or body.max() > 6:
        raise CheckFailure(f"random tokens must be ids 1 .. vocab_size - 1 (0 is BOS); got values from "
                           f"{body.min().item()} to {body.max().item()}.", "torch.randint(1, vocab_size, ...)")
    if not torch.equal(got[:, 1:11], got[:, 11:]):
        raise CheckFailure("the second half is not a copy of the first half: "
                           f"row 0 is {got[0].tolist()}.",
                           "Draw seq_len tokens once and concatenate the same tensor twice.")
    if set(body.flatten().tolist()) != set(range(1, 7)):
        raise CheckFailure(f"over 64 sequences, not every id 1 .. 6 occurs: {sorted(set(body.flatten().tolist()))}.")
    if (got[:, 1:11] == got[0, 1:11]).all():
        raise CheckFailure("all rows are the same sequence: each row needs its own random tokens.")
    again = ns.repeated_random_tokens(64, 10, 7, seed=3)
    if not torch.equal(got, again):
        raise CheckFailure("two calls with the same seed returned different tokens.",
                           "Draw with a torch.Generator seeded with `seed`, not the global generator.")
    if torch.equal(got, ns.repeated_random_tokens(64, 10, 7, seed=4)):
        raise CheckFailure("seed=3 and seed=4 returned the same tokens: use the seed.")


@lesson.grading("per_position_loss")
def check_per_position_loss(ns: Namespace) -> None:
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(3, 6, 5, generator=g)
    idx = torch.randint(0, 5, (3, 6), generator=g)
    got = ns.per_position_loss(logits, idx)
    logp = logits.double().log_softmax(-1)
    want = -logp[:, :-1].gather(-1, idx[:, 1:, None])[..., 0]
    unshifted = -logp.gather(-1, idx[..., None])[..., 0]
    expect_type(got, torch.Tensor, "per_position_loss(logits, idx)")
    if tuple(got.shape) == (3, 6) and torch.allclose(got.double(), unshifted, atol=1e-5):
        raise CheckFailure("per_position_loss scores the logits at position t against token t itself; "
                           f"expected shape (3, 5) with position t predicting token t + 1.",
                           "Shift by one: logits[:, :-1] against idx[:, 1:].")
    if tuple(got.shape) != (3, 5):
        raise CheckFailure(f"per_position_loss(logits of shape (3, 6, 5), idx) has shape {tuple(got.shape)}, "
                           "expected (3, 5): one loss per predicted token, not averaged.",
                           "Pass reduction='none' to F.cross_entropy.")
    expect_tensor_close(got.double(), want, "per_position_loss(logits, idx)",
                        "The loss at position t is -log softmax(logits[:, t])[idx[:, t + 1]].")


def _patterns_known(T: int = 13, S: int = 6, B: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hand-made (B, 5, T, T) patterns whose scores are known exactly: a previous-token head, a head
    that attends to itself, a uniform head, an induction head and a duplicate-token head (the repeated
    block is the last 2 * S positions). Returns (pattern, previous-token scores, induction scores)."""
    p = torch.zeros(B, 5, T, T)
    t = torch.arange(T)
    q = torch.arange(T - S, T)                       # queries in the second copy
    p[:, 0, t[1:], t[1:] - 1] = 1.0                  # previous token (position 0 looks at itself)
    p[:, 0, 0, 0] = 1.0
    p[:, 1, t, t] = 1.0                              # itself
    p[:, 2] = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1)[:, None]  # uniform over the past
    for head, offset in [(3, 1), (4, 0)]:            # induction (q - S + 1) and duplicate-token (q - S)
        p[:, head, t, t] = 1.0
        p[:, head, q] = 0.0
        p[:, head, q, q - S + offset] = 1.0
    uniform_prev = (1.0 / (t[1:] + 1).double()).mean().item()
    uniform_ind = (1.0 / (q + 1).double()).mean().item()
    prev = torch.tensor([1.0, 0.0, uniform_prev, 0.0, 0.0])
    ind = torch.tensor([0.0, 0.0, uniform_ind, 1.0, 0.0])
    return p, prev, ind


@lesson.grading("previous_token_score")
def check_previous_token_score(ns: Namespace) -> None:
    p, prev, _ = _patterns_known()
    got = ns.previous_token_score(p.clone())
    expect_type(got, torch.Tensor, "previous_token_score(pattern)")
    if tuple(got.shape) != (5,):
        raise CheckFailure(f"previous_token_score of a (2, 5, 13, 13) pattern has shape {tuple(got.shape)}, "
                           "expected (5,): one score per head, averaged over batch and positions.")
    diag = p.diagonal(0, -2, -1).mean((0, -1))
    if torch.allclose(got.float(), diag, atol=1e-4):
        raise CheckFailure(f"your scores {describe(got)} are those of the diagonal (how much each token attends "
                           "to itself), not of the sub-diagonal.",
                           "The previous token of query t is key t - 1: diagonal(offset=-1).")
    with_zero = torch.cat([torch.zeros(2, 5, 1), p.diagonal(-1, -2, -1)], -1).mean((0, -1))
    if torch.allclose(got.float(), with_zero, atol=1e-4):
        raise CheckFailure("your scores average over T positions, counting position 0 (which has no previous "
                           f"token) as 0: got {describe(got)}.", "Average over the T - 1 positions 1 .. T - 1.")
    expect_tensor_close(got.float(), prev, "previous_token_score on hand-made heads (previous-token, self, "
                        "uniform, induction, duplicate-token)", atol=1e-5)
    rnd = torch.rand(3, 2, 7, 7, generator=torch.Generator().manual_seed(0)).tril()
    rnd = rnd / rnd.sum(-1, keepdim=True)
    expect_tensor_close(ns.previous_token_score(rnd).float(), rnd.diagonal(-1, -2, -1).mean((0, -1)),
                        "previous_token_score of a random pattern", atol=1e-5)


@lesson.grading("induction_score")
def check_induction_score(ns: Namespace) -> None:
    for T, S in [(13, 6), (12, 6)]:  # with and without a BOS token in front
        p, _, ind = _patterns_known(T, S)
        got = ns.induction_score(p.clone(), S)
        what = f"induction_score(pattern, seq_len={S}) with T = {T}"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (5,):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (5,): one score per head.")
        q = torch.arange(T - S, T)
        dup = p[:, :, q, q - S].mean((0, -1))
        late = p[:, :, q[:-1], q[:-1] - S + 2].mean((0, -1))
        if torch.allclose(got.float(), dup, atol=1e-4):
            raise CheckFailure(f"{what} gave {describe(got)}: the hand-made duplicate-token head (head 4, which "
                               "attends to the previous occurrence itself) scores 1 and the induction head 0. "
                               "Your offset is off by one.",
                               "An induction head attends to the token *after* the previous occurrence: key "
                               "q - seq_len + 1, not q - seq_len.")
        if torch.allclose(got.float(), late, atol=1e-4):
            raise CheckFailure(f"{what} gave {describe(got)}: your offset is off by one the other way "
                               "(key q - seq_len + 2).", "The key is q - seq_len + 1.")
        expect_tensor_close(got.float(), ind, f"{what} on hand-made heads (previous-token, self, uniform, "
                            "induction, duplicate-token)", atol=1e-5)


@lesson.grading("ablate_head")
def check_ablate_head(ns: Namespace) -> None:
    model = _TinyGPT(n_layer=2, n_head=3, n_embd=12, seed=7)
    idx = torch.randint(0, 11, (2, 8), generator=torch.Generator().manual_seed(3))
    clean = _logits(model, idx)
    for layer, head in [(1, 2), (0, 1)]:
        hs = 12 // 3
        want = _ref_ablated_logits(model, idx, layer, torch.arange(head * hs, (head + 1) * hs))
        with ns.ablate_head(model, layer, head):
            got = _logits(model, idx)
        if torch.equal(got, clean):
            raise CheckFailure(f"inside `with ablate_head(model, {layer}, {head}):` the logits did not change: "
                               "nothing was ablated.")
        after = _logits(model, idx)
        if not torch.allclose(after, clean, atol=1e-6):
            raise CheckFailure(f"after the `with ablate_head(model, {layer}, {head}):` block ended, the model was "
                               "still ablated.",
                               "Keep the hook's handle and call handle.remove() after the `yield`, in a `finally:`.")
        strided = _ref_ablated_logits(model, idx, layer, torch.arange(head, 12, 3))
        if torch.allclose(got, strided, atol=1e-5):
            raise CheckFailure(f"ablate_head(model, {layer}, {head}) zeroed every n_head-th channel "
                               f"({head}, {head + 3}, {head + 6}, ...) instead of the head's own block of channels.",
                               f"Head h owns the contiguous channels h*hs .. (h+1)*hs - 1 of c_proj's input "
                               "(view(B, T, n_head, hs) puts the head index first).")
        if not torch.allclose(got, want, atol=1e-5):
            for other in range(3):
                alt = _ref_ablated_logits(model, idx, layer, torch.arange(other * hs, (other + 1) * hs))
                if other != head and torch.allclose(got, alt, atol=1e-5):
                    raise CheckFailure(f"ablate_head(model, {layer}, {head}) removed head {other} instead.")
        expect_tensor_close(got, want, f"the logits inside `with ablate_head(model, {layer}, {head})`",
                            "Zero the head's slice of the input of that layer's attn.c_proj (not its output, "
                            "which mixes all heads).", atol=1e-5)
    try:
        with ns.ablate_head(model, 0, 0):
            raise KeyError("boom")
    except KeyError:
        pass
    if _hooks_left(model) or not torch.allclose(_logits(model, idx), clean, atol=1e-6):
        raise CheckFailure("when the code inside `with ablate_head(...)` raised an exception, the hook stayed "
                           "attached and the model stayed ablated.",
                           "Put handle.remove() in a `finally:` around the `yield`.")


@lesson.grading("ov_circuit")
def check_ov_circuit(ns: Namespace) -> None:
    model = _TinyGPT(vocab=9, n_layer=2, n_head=3, n_embd=12, norm=False, bias=False, seed=11)
    C, hs = 12, 4
    W_E = model.transformer.wte.weight.detach().double()
    W_U = model.lm_head.weight.detach().double().T
    for layer, head in [(1, 2), (0, 0)]:
        attn = model.transformer.h[layer].attn
        Wqkv = attn.c_attn.weight.detach().double()
        Wo = attn.c_proj.weight.detach().double()
        rows = slice(head * hs, (head + 1) * hs)

        def circuit(part: int, o: torch.Tensor) -> torch.Tensor:
            return W_E @ Wqkv[part * C:(part + 1) * C][rows].T @ o @ W_U

        want = circuit(2, Wo[:, rows].T)
        got = ns.ov_circuit(model, layer, head)
        what = f"ov_circuit(model, {layer}, {head})"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (9, 9):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (vocab, vocab) = (9, 9).",
                               "Multiply W_E (V, C) @ W_V^h (C, hs) @ W_O^h (hs, C) @ W_U (C, V).")
        got = got.detach().double()
        for part, name in [(0, "query"), (1, "key")]:
            if torch.allclose(got, circuit(part, Wo[:, rows].T), atol=1e-4):
                raise CheckFailure(f"{what} used the {name} weights of c_attn: the OV circuit reads the *values*, "
                                   "the last third of c_attn.weight (rows 2C .. 3C).",
                                   "c_attn.weight is (3C, C) with the q, k and v projections stacked: q, k, v "
                                   "= rows 0..C, C..2C, 2C..3C.")
        if torch.allclose(got, circuit(2, Wo[rows, :]), atol=1e-4):
            raise CheckFailure(f"{what} took *rows* of c_proj.weight for W_O^h; head h's output goes through "
                               "its *columns* h*hs .. (h+1)*hs.",
                               "c_proj computes z @ c_proj.weight.T, so head h's slice of z meets "
                               "c_proj.weight[:, h*hs:(h+1)*hs].")
        expect_tensor_close(got, want, what, atol=1e-4)
    # a head built to copy: W_V^h W_O^h is the identity on the token subspace, so W_E ... W_U = W_E W_U
    copy = _TinyGPT(vocab=6, n_layer=1, n_head=2, n_embd=12, norm=False, bias=False, seed=2)
    with torch.no_grad():
        attn = copy.transformer.h[0].attn
        attn.c_attn.weight[24:30].zero_()
        attn.c_attn.weight[24:30, :6] = torch.eye(6)     # head 0's values: token dims 0..5
        attn.c_proj.weight.zero_()
        attn.c_proj.weight[:6, :6] = torch.eye(6)        # and back into the same dims
        copy.transformer.wte.weight.zero_()
        copy.transformer.wte.weight[:, :6] = torch.eye(6)
        copy.lm_head.weight.zero_()
        copy.lm_head.weight[:, :6] = torch.eye(6)
    got = ns.ov_circuit(copy, 0, 0)
    expect_tensor_close(got.detach().float(), torch.eye(6), "ov_circuit of a head built to copy its token "
                        "(expected the identity matrix)", atol=1e-5)


# ---------------------------------------------------------------- mutants (known-buggy variants)

