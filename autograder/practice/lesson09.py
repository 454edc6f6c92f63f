"""Practice checks for lesson 09 — hooks, attention patterns, induction heads and circuits.

Shipped to students: no solution code in here.  The checks run the learner's functions on small
attention-only models built here from a seed (nanoGPT's names, like the notebook's own model; one
with a previous-token head written into its weights, one whose forward pass fails on purpose) and
on attention patterns made by hand.  They compare with properties (hooks removed afterwards, even
when the forward pass fails; rows of a pattern sum to 1 and never look at the future; nothing keeps
an autograd graph; a model is restored after an ablation; a head built to copy has the identity as
OV circuit) and with stored example outputs (``examples/09_interpretability.json``), which also
name the known mistakes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..feedback import describe, expect_type
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("09", "interpretability", "Looking inside: attention patterns and induction heads")
stored = lesson.examples


# ---------------------------------------------------------------- small models to look inside (the grading checks use them too)

class TinyAttention(nn.Module):
    """Causal multi-head self-attention in GPT-2's layout, with a fused kernel (no pattern is kept)."""

    def __init__(self, n_embd: int, n_head: int, bias: bool) -> None:
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.n_head = n_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class TinyBlock(nn.Module):
    """An attention-only block; with ``norm`` a LayerNorm sits in front of the attention, as in
    lesson 08, so a hook must read what the attention module received."""

    def __init__(self, n_embd: int, n_head: int, norm: bool, bias: bool) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd) if norm else nn.Identity()
        self.attn = TinyAttention(n_embd, n_head, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.attn(self.ln_1(x))


class TinyTransformer(nn.Module):
    """An attention-only GPT with nanoGPT's names; ``forward`` returns (logits, loss) like lesson 08.
    Its weights are drawn from ``seed`` (standard deviation 0.5, so that patterns are far from uniform)."""

    def __init__(self, vocab: int = 11, block: int = 16, n_layer: int = 2, n_head: int = 3,
                 n_embd: int = 12, norm: bool = True, bias: bool = True, seed: int = 0) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, n_embd), wpe=nn.Embedding(block, n_embd),
            h=nn.ModuleList([TinyBlock(n_embd, n_head, norm, bias) for _ in range(n_layer)])))
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if "ln_1" not in name:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        self.eval()

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(idx.shape[1]))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(x)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


class ForwardFailed(RuntimeError):
    """Raised on purpose by :class:`FailingTransformer`."""


class FailingTransformer(TinyTransformer):
    """A model whose forward pass raises once every block has run (and every hook has fired)."""

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        super().forward(idx, targets)
        raise ForwardFailed("this test model fails on purpose at the end of its forward pass")


def planted_model() -> TinyTransformer:
    """Layer 0, head 0 attends (almost) only to the previous position: its query at position t is
    the one-hot vector of t, its key at position s the one-hot vector of s + 1 (as in the notebook)."""
    T, hs = 8, 8
    model = TinyTransformer(vocab=8, block=T, n_layer=2, n_head=2, n_embd=16, norm=False, bias=False, seed=3)
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


def copying_model() -> TinyTransformer:
    """One layer whose head 0 copies: its values read the token one-hots and its output writes them
    back, and the unembedding reads them out, so its full OV circuit is the 6 x 6 identity."""
    model = TinyTransformer(vocab=6, n_layer=1, n_head=2, n_embd=12, norm=False, bias=False, seed=2)
    with torch.no_grad():
        attn = model.transformer.h[0].attn
        attn.c_attn.weight[24:30].zero_()
        attn.c_attn.weight[24:30, :6] = torch.eye(6)     # head 0's values: token dims 0..5
        attn.c_proj.weight.zero_()
        attn.c_proj.weight[:6, :6] = torch.eye(6)        # and back into the same dims
        model.transformer.wte.weight.zero_()
        model.transformer.wte.weight[:, :6] = torch.eye(6)
        model.lm_head.weight.zero_()
        model.lm_head.weight[:, :6] = torch.eye(6)
    return model


def token_ids(batch: int, T: int, vocab: int, seed: int) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, T), generator=torch.Generator().manual_seed(seed))


def hooks_left(model: nn.Module) -> list[str]:
    """The modules of ``model`` that still have forward hooks or forward pre-hooks attached."""
    return [name or "model" for name, m in model.named_modules() if m._forward_hooks or m._forward_pre_hooks]


def logits(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(idx)[0]


def known_patterns(T: int = 13, S: int = 6, B: int = 2) -> torch.Tensor:
    """Hand-made (B, 5, T, T) attention patterns: a previous-token head, a head that attends to
    itself, a head uniform over the past, an induction head and a duplicate-token head (the
    repeated block is the last 2 * S positions)."""
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
    return p


def random_pattern(B: int, H: int, T: int, seed: int) -> torch.Tensor:
    """A random causal attention pattern (rows sum to 1, nothing above the diagonal)."""
    p = torch.rand(B, H, T, T, generator=torch.Generator().manual_seed(seed)).tril()
    return p / p.sum(-1, keepdim=True)


KNOWN_HEADS = "hand-made heads (previous-token, self, uniform, induction, duplicate-token)"


# ---------------------------------------------------------------- 1-2. hooks

def call_record_attention(ns: Namespace, model: nn.Module, idx: torch.Tensor, what: str) -> list[torch.Tensor]:
    """The learner's ``record_attention(model, idx)``: a list of one (B, n_head, T, T) tensor per layer,
    and no hooks left behind."""
    got = ns.record_attention(model, idx)
    left = hooks_left(model)
    if left:
        raise CheckFailure(f"after record_attention returned, hooks were still attached to {left}.",
                           "Keep the handles that register_forward_hook returns and call remove() on each one, "
                           "in a `finally:` block so that they go even if the forward pass fails.")
    if not isinstance(got, (list, tuple)):
        raise CheckFailure(f"record_attention should return a list (one pattern per layer), got {describe(got)}.")
    n_layer = len(model.transformer.h)
    if len(got) != n_layer:
        raise CheckFailure(f"{what}: the model has {n_layer} layers, but record_attention returned {len(got)} patterns.",
                           "Hook the attention module of every block in model.transformer.h, once each.")
    B, T = idx.shape
    n_head = model.transformer.h[0].attn.n_head
    for layer, p in enumerate(got):
        expect_type(p, torch.Tensor, f"{what}: the pattern of layer {layer}")
        if tuple(p.shape) != (B, n_head, T, T):
            raise CheckFailure(f"{what}: the pattern of layer {layer} has shape {tuple(p.shape)}, expected "
                               f"(B, n_head, T, T) = {(B, n_head, T, T)}.",
                               "Split q and k into n_head heads of size C // n_head, heads before positions.")
    return list(got)


def expect_patterns(got: list[torch.Tensor], what: str) -> None:
    """Each row is a probability distribution over the keys, and nothing looks at the future."""
    for layer, p in enumerate(got):
        p = p.detach()
        sums = p.sum(-1)
        if not (torch.isfinite(p).all() and torch.allclose(sums, torch.ones_like(sums), atol=1e-4)):
            raise CheckFailure(f"{what}: each row of the pattern of layer {layer} (one query) should sum to 1, but the "
                               f"row sums are {describe(sums)}; the pattern is {describe(p)}. Are these the "
                               "pre-softmax scores?",
                               "An attention pattern is the softmax over the keys of the masked scores.")
        future = p.triu(1)
        if future.abs().max() > 1e-6:
            raise CheckFailure(f"{what}: the pattern of layer {layer} attends to future positions (the part above the "
                               f"diagonal is up to {future.abs().max().item():.3g}, not 0).",
                               "Set the scores of keys s > t to -inf before the softmax, as the model's causal "
                               "attention does.")


def expect_observes_only(model: nn.Module, idx: torch.Tensor, before: torch.Tensor) -> None:
    if not torch.equal(before, logits(model, idx)):
        raise CheckFailure("the model's output changed after record_attention: hooks must only observe.",
                           "Return None from the hook (a forward hook that returns a value replaces the output).")


def expect_no_graph(got: list[torch.Tensor], what: str) -> None:
    """Recorded patterns keep no autograd graph alive (the forward pass ran under torch.no_grad())."""
    carrying = [layer for layer, p in enumerate(got) if p.requires_grad or p.grad_fn is not None]
    if carrying:
        raise CheckFailure(f"{what}: the patterns of layers {carrying} carry autograd history (requires_grad=True): "
                           "the forward pass ran with gradients on, so each pattern keeps the graph of the layers "
                           "before it alive, memory that nothing will ever use.",
                           "The text asks for the forward pass under torch.no_grad(): wrap the call of the model in "
                           "`with torch.no_grad():`.")


def expect_planted_head(ns: Namespace) -> None:
    """On the planted model, layer 0's head 0 looks one token back."""
    got = call_record_attention(ns, planted_model(), torch.arange(8).repeat(2, 1),
                                "record_attention(planted model, idx = 0 .. 7)")
    sub = got[0].detach()[0, 0].diagonal(-1)
    if sub.min() < 0.99:
        raise CheckFailure(f"on a model whose layer-0 head 0 was built to attend to the previous token, your pattern "
                           f"gives only {describe(sub)} on the sub-diagonal (expected about 1).",
                           "Use the input the attention module received (args[0] of the hook).")


def expect_hooks_removed_when_forward_fails(ns: Namespace) -> None:
    failing = FailingTransformer(n_layer=2, n_head=3, n_embd=12)
    try:
        ns.record_attention(failing, token_ids(2, 9, 11, seed=1))
    except Exception:  # ForwardFailed, or whatever the learner's code turned it into: only the hooks matter here
        pass
    left = hooks_left(failing)
    if left:
        raise CheckFailure(f"record_attention on a model whose forward pass raised an error (after your hooks had "
                           f"fired) left hooks attached to {left}: every later call of that model would still run "
                           "them.",
                           "Remove the hooks in the `finally:` part of a `try: ... finally:` around the forward pass: "
                           "it runs whether the forward pass returns or raises.")


@lesson.exercise("record_attention", points=2,
                 hint="Register a forward hook on the attention module of every block. In the hook, rebuild q and "
                      "k from the module's input (args[0]) with its c_attn, split them into heads, scale the scores "
                      "by 1/sqrt(head size), block the future, softmax. Run the model under torch.no_grad(), and "
                      "remove the hooks in a `finally:` block.")
def record_attention(ns: Namespace) -> None:
    model = TinyTransformer(n_layer=2, n_head=3, n_embd=12)
    idx = token_ids(2, 9, 11, seed=1)
    what = "record_attention(tiny 2-layer model with LayerNorms, idx of shape (2, 9))"
    before = logits(model, idx)
    got = call_record_attention(ns, model, idx, what)
    expect_patterns(got, what)
    for layer, p in enumerate(got):
        stored.expect("record_attention", f"the pattern of layer {layer} from {what}", p.detach(), atol=1e-5,
                      check_dtype=False)
    expect_observes_only(model, idx, before)
    expect_no_graph(got, what)
    expect_planted_head(ns)
    expect_hooks_removed_when_forward_fails(ns)


@lesson.exercise("record_residual_stream", points=1,
                 hint="A forward pre-hook on the first block sees the embeddings (its input); a forward hook on every "
                      "block sees that block's output. Stack the n_layer + 1 tensors into one.")
def record_residual_stream(ns: Namespace) -> None:
    model = TinyTransformer(n_layer=3, n_head=2, n_embd=8, seed=4)
    idx = token_ids(2, 7, 11, seed=2)
    got = ns.record_residual_stream(model, idx)
    left = hooks_left(model)
    if left:
        raise CheckFailure(f"after record_residual_stream returned, hooks were still attached to {left}.",
                           "Keep every handle and call remove() on it in a `finally:` block.")
    what = "record_residual_stream(tiny 3-layer model, idx of shape (2, 7))"
    expect_type(got, torch.Tensor, what, "Stack the recorded tensors into one (n_layer + 1, B, T, C) tensor.")
    stored.expect("record_residual_stream", what, got.detach(), atol=1e-5, check_dtype=False,
                  hint="Entry 0 is the embeddings (the input of block 0), entry i + 1 the output of block i.")


# ---------------------------------------------------------------- 3-4. data and loss

@lesson.exercise("repeated_random_tokens", points=1,
                 hint="Make a torch.Generator seeded with `seed` and draw the random ids with it (from 1 up to "
                      "vocab_size - 1: 0 is BOS); put a column of BOS in front and the same block of ids twice.")
def repeated_random_tokens(ns: Namespace) -> None:
    # Random draws: checked by their properties, never by their values (any order of drawing is fine).
    what = "repeated_random_tokens(64, 10, 7, seed=3)"
    got = ns.repeated_random_tokens(64, 10, 7, seed=3)
    expect_type(got, torch.Tensor, what)
    if tuple(got.shape) != (64, 21):
        raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (64, 21): BOS + 10 random tokens + the "
                           "same 10 again.")
    if got.dtype != torch.long:
        raise CheckFailure(f"{what}: token ids should be torch.long (int64), got {got.dtype}.")
    if not (got[:, 0] == 0).all():
        raise CheckFailure(f"{what}: every sequence should start with BOS = 0; the first column is {describe(got[:, 0])}.")
    body = got[:, 1:]
    if body.min() < 1 or body.max() > 6:
        raise CheckFailure(f"{what}: random tokens must be ids 1 .. vocab_size - 1 = 1 .. 6 (0 is BOS); got values from "
                           f"{body.min().item()} to {body.max().item()}.",
                           "torch.randint's upper bound is exclusive; its lower bound here is 1.")
    if not torch.equal(got[:, 1:11], got[:, 11:]):
        raise CheckFailure(f"{what}: the second half is not a copy of the first half: row 0 is {got[0].tolist()}.",
                           "Draw seq_len tokens once and use the same tensor twice.")
    counts = torch.bincount(body[:, :10].flatten(), minlength=7)[1:]
    if counts.min() < 60 or counts.max() > 160:   # 640 draws, about 107 of each id expected
        raise CheckFailure(f"{what}: over 640 random draws, the ids 1 .. 6 occur {counts.tolist()} times; uniform "
                           "draws give about 107 each.", "Draw uniformly: torch.randint.")
    if (got[:, 1:11] == got[0, 1:11]).all():
        raise CheckFailure(f"{what}: all rows are the same sequence: each row needs its own random tokens.")
    again = ns.repeated_random_tokens(64, 10, 7, seed=3)
    if not torch.equal(got, again):
        raise CheckFailure("two calls with the same seed returned different tokens.",
                           "Draw with a torch.Generator seeded with `seed`, not with the global generator.")
    if torch.equal(got, ns.repeated_random_tokens(64, 10, 7, seed=4)):
        raise CheckFailure("seed=3 and seed=4 returned the same tokens: use the seed.")
    small = ns.repeated_random_tokens(1, 3, 2, seed=0)
    if not (isinstance(small, torch.Tensor) and small.tolist() == [[0, 1, 1, 1, 1, 1, 1]]):
        raise CheckFailure(f"repeated_random_tokens(1, 3, 2) (the only random id is 1) should be "
                           f"[[0, 1, 1, 1, 1, 1, 1]], got {describe(small)}.")


@lesson.exercise("per_position_loss", points=1,
                 hint="The logits at position t are scored against the token at position t + 1, so the last "
                      "position has no target. F.cross_entropy wants the classes in dimension 1, and "
                      "reduction='none' keeps one loss per position.")
def per_position_loss(ns: Namespace) -> None:
    # (3, 6, 5): T - 1 = V, so that logits passed without moving the classes to dimension 1 still run
    g = torch.Generator().manual_seed(5)
    logits_ = torch.randn(3, 6, 5, generator=g)
    idx = torch.randint(0, 5, (3, 6), generator=g)
    stored.expect("per_position_loss", "per_position_loss(logits of shape (3, 6, 5), idx of shape (3, 6)), "
                  "random (seed 5)", ns.per_position_loss(logits_, idx), check_dtype=False)
    uniform = torch.zeros(1, 4, 5)
    ids = torch.tensor([[3, 1, 4, 1]])
    stored.expect("per_position_loss", "per_position_loss(torch.zeros(1, 4, 5), torch.tensor([[3, 1, 4, 1]])) "
                  "(uniform logits: every loss is ln 5)", ns.per_position_loss(uniform, ids),
                  torch.full((1, 3), math.log(5)), check_dtype=False)


# ---------------------------------------------------------------- 5-6. head scores

@lesson.exercise("previous_token_score", points=1,
                 hint="Query t's previous token is key t - 1: those entries form the diagonal just below the main "
                      "one. Average them over the batch and over the T - 1 positions that have one.")
def previous_token_score(ns: Namespace) -> None:
    got = ns.previous_token_score(known_patterns())
    stored.expect("previous_token_score", f"previous_token_score on {KNOWN_HEADS}, pattern (2, 5, 13, 13)", got,
                  check_dtype=False)
    got = ns.previous_token_score(random_pattern(3, 2, 7, seed=0))
    stored.expect("previous_token_score", "previous_token_score of a random causal pattern (3, 2, 7, 7)", got,
                  check_dtype=False)


@lesson.exercise("induction_score", points=2,
                 hint="The repeated block is the last 2 * seq_len positions. A query q in the second copy should "
                      "attend to the token *after* the previous occurrence of its own token, seq_len - 1 positions "
                      "back.")
def induction_score(ns: Namespace) -> None:
    for T, S in [(13, 6), (12, 6)]:  # with and without a BOS token in front
        got = ns.induction_score(known_patterns(T, S), S)
        stored.expect("induction_score", f"induction_score(pattern, seq_len={S}) on {KNOWN_HEADS}, T = {T}"
                      f"{' (with BOS)' if T % 2 else ' (no BOS)'}", got, check_dtype=False)
    got = ns.induction_score(random_pattern(3, 2, 9, seed=1), 4)
    stored.expect("induction_score", "induction_score(random causal pattern (3, 2, 9, 9), seq_len=4)", got,
                  check_dtype=False)


# ---------------------------------------------------------------- 7. ablation

@lesson.exercise("ablate_head", points=2,
                 hint="Head h owns the channels h*hs .. (h+1)*hs - 1 of the input of that layer's attn.c_proj "
                      "(hs = c_proj's input size divided by the number of heads). A forward pre-hook can return a "
                      "copy of its input with those channels zeroed. Register it, `yield`, and remove it in "
                      "`finally:`.")
def ablate_head(ns: Namespace) -> None:
    model = TinyTransformer(n_layer=2, n_head=3, n_embd=12, seed=7)
    idx = token_ids(2, 8, 11, seed=3)
    clean = logits(model, idx)
    for layer, head in [(1, 2), (0, 1)]:
        with ns.ablate_head(model, layer, head):
            got = logits(model, idx)
        if torch.equal(got, clean):
            raise CheckFailure(f"inside `with ablate_head(model, {layer}, {head}):` the logits did not change: "
                               "nothing was ablated.")
        if not torch.allclose(logits(model, idx), clean, atol=1e-6):
            raise CheckFailure(f"after the `with ablate_head(model, {layer}, {head}):` block ended, the model was "
                               "still ablated.",
                               "Keep the hook's handle and call its remove() after the `yield`, in a `finally:`.")
        left = hooks_left(model)
        if left:
            raise CheckFailure(f"after the `with ablate_head(model, {layer}, {head}):` block ended, hooks were still "
                               f"attached to {left}.")
        stored.expect("ablate_head", f"the logits inside `with ablate_head(model, {layer}, {head})`, tiny 2-layer "
                      "model with 3 heads of size 4, idx of shape (2, 8)", got, atol=1e-5, check_dtype=False)
    try:
        with ns.ablate_head(model, 0, 0):
            raise KeyError("an error inside the with block")
    except KeyError:
        pass
    if hooks_left(model) or not torch.allclose(logits(model, idx), clean, atol=1e-6):
        raise CheckFailure("when the code inside `with ablate_head(...)` raised an exception, the hook stayed "
                           "attached and the model stayed ablated.",
                           "Put the removal in a `finally:` around the `yield`: it runs when the with block raises.")


# ---------------------------------------------------------------- 8. OV circuit

@lesson.exercise("ov_circuit", points=2,
                 hint="W_E is the token embedding (V, C); head h's value weights are rows 2C + h*hs .. 2C + (h+1)*hs "
                      "of c_attn.weight, transposed; its output weights are columns h*hs .. (h+1)*hs of "
                      "c_proj.weight, transposed; W_U is lm_head.weight transposed. Multiply the four, then detach.")
def ov_circuit(ns: Namespace) -> None:
    model = TinyTransformer(vocab=9, n_layer=2, n_head=3, n_embd=12, norm=False, bias=False, seed=11)
    for layer, head in [(1, 2), (0, 0)]:
        what = f"ov_circuit(model, {layer}, {head}) for a tiny model with vocab 9, C = 12, 3 heads of size 4"
        got = ns.ov_circuit(model, layer, head)
        expect_type(got, torch.Tensor, what)
        if got.requires_grad:
            raise CheckFailure(f"{what} still requires grad: the text asks for a detached tensor (a matrix to read, "
                               "not part of a graph).", "Call .detach() on the result (or compute it under "
                               "torch.no_grad()).")
        stored.expect("ov_circuit", what, got, atol=1e-4, check_dtype=False,
                      hint="Multiply W_E (V, C) @ W_V^h (C, hs) @ W_O^h (hs, C) @ W_U (C, V).")
    got = ns.ov_circuit(copying_model(), 0, 0)
    expect_type(got, torch.Tensor, "ov_circuit of a head built to copy")
    stored.expect("ov_circuit", "ov_circuit of a head built to copy its token (expected the 6 x 6 identity)",
                  got.detach(), torch.eye(6), atol=1e-5, check_dtype=False)
