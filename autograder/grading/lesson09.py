"""Grading checks for lesson 09 — looking inside: attention patterns, induction heads and circuits.

The checks never train anything. They run the learner's functions on the practice checks' tiny
attention-only models (fused attention, so no pattern is ever stored; a LayerNorm in front of each
attention, so a hook must read what the attention module *received*; one with a previous-token head
planted by hand) and on the course's reference GPT (lesson 08's layout, with MLPs and a final
LayerNorm), and compare with references recomputed from the weights
(:mod:`autograder.reference.interpretability`). Head scores are checked on hand-made attention
patterns whose scores are known exactly. When a result is wrong, the checks compare it with the
known-buggy variants (pre-softmax scores, diagonal instead of sub-diagonal, induction offset off by
one, strided head channels, query instead of value weights, ...) to name the mistake.
"""

from __future__ import annotations

import torch

from ..feedback import describe, expect_tensor_close, expect_type
from ..reference import interpretability as ref
from ..reference.gpt import GPT, GPTConfig
from ..registry import CheckFailure, Namespace

from ..practice.lesson09 import (KNOWN_HEADS, TinyTransformer, call_record_attention, copying_model,
                                 expect_hooks_removed_when_forward_fails, expect_no_graph, expect_observes_only,
                                 expect_planted_head, hooks_left, known_patterns, lesson, logits, random_pattern,
                                 token_ids)


def _lesson08_gpt() -> GPT:
    """A small GPT of lesson 08's layout (LayerNorms, MLPs, ln_f, tied head) with sharp patterns."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=8))
    g = torch.Generator().manual_seed(8)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model.eval()


# ---------------------------------------------------------------- 1-2. hooks

@lesson.grading("record_attention")
def check_record_attention(ns: Namespace) -> None:
    model = TinyTransformer(n_layer=2, n_head=3, n_embd=12)
    idx = token_ids(2, 9, 11, seed=1)
    what = "record_attention(tiny 2-layer model with LayerNorms, idx of shape (2, 9))"
    before = logits(model, idx)
    got = call_record_attention(ns, model, idx, what)
    want = ref.attention_patterns(model, idx)
    scores = ref.attention_patterns(model, idx, softmax=False)
    unmasked = ref.attention_patterns(model, idx, mask=False)
    for layer, (p, w) in enumerate(zip(got, want)):
        label = f"the pattern of layer {layer}"
        p = p.detach().float()
        finite = torch.where(torch.isinf(scores[layer]), torch.zeros_like(p), p)
        if torch.allclose(finite, torch.nan_to_num(scores[layer], neginf=0.0), atol=1e-4):
            raise CheckFailure(f"{label} holds the pre-softmax scores (rows sum to "
                               f"{p[0, 0, -1].sum().item():.3g}, not 1).",
                               "An attention pattern is the softmax of the masked scores over the keys (dim=-1): "
                               "each row is a probability distribution over the positions it may look at.")
        if torch.allclose(p, unmasked[layer], atol=1e-4):
            raise CheckFailure(f"{label} attends to future positions (the upper triangle is not zero).",
                               "Mask the scores with a causal mask (positions s > t get -inf) before the softmax.")
        expect_tensor_close(p, w, label, "Recompute the pattern from the module's input args[0] (after ln_1), "
                            "with c_attn's q and k and the 1/sqrt(head size) scale.", atol=1e-4)
    expect_observes_only(model, idx, before)
    expect_no_graph(got, what)
    gpt = _lesson08_gpt()
    idx = token_ids(2, 10, 11, seed=9)
    got = call_record_attention(ns, gpt, idx, "record_attention(lesson 08's GPT, 2 layers with MLPs)")
    for layer, (p, w) in enumerate(zip(got, ref.attention_patterns(gpt, idx))):
        expect_tensor_close(p.detach().float(), w, f"the pattern of layer {layer} of lesson 08's GPT (autograder."
                            "reference.gpt; its attention sits behind ln_1)",
                            "Use what the attention module received (args[0] of the hook), not the block's input.",
                            atol=1e-4)
    expect_planted_head(ns)
    expect_hooks_removed_when_forward_fails(ns)


@lesson.grading("record_residual_stream")
def check_record_residual_stream(ns: Namespace) -> None:
    for model, idx, name in [(TinyTransformer(n_layer=3, n_head=2, n_embd=8, seed=4), token_ids(2, 7, 11, seed=2),
                              "a tiny 3-layer model"),
                             (_lesson08_gpt(), token_ids(2, 6, 11, seed=10), "lesson 08's GPT (2 layers)")]:
        n = len(model.transformer.h)
        want = ref.residual_stream(model, idx)
        got = ns.record_residual_stream(model, idx)
        left = hooks_left(model)
        if left:
            raise CheckFailure(f"after record_residual_stream returned, hooks were still attached to {left}.",
                               "Remove every hook handle in a `finally:` block.")
        expect_type(got, torch.Tensor, f"record_residual_stream({name}, idx)",
                    "Stack the recorded tensors into one tensor.")
        if tuple(got.shape) == (n, *want.shape[1:]):
            got = got.detach()
            if torch.allclose(got, want[1:], atol=1e-5):
                raise CheckFailure(f"record_residual_stream returned the {n} block outputs but not the embeddings: "
                                   f"expected shape {tuple(want.shape)} = (n_layer + 1, B, T, C).",
                                   "The first entry is the input of block 0 (token + position embeddings): record "
                                   "it with a forward *pre*-hook on model.transformer.h[0].")
            if torch.allclose(got, want[:-1], atol=1e-5):
                raise CheckFailure(f"record_residual_stream returned the {n} block inputs: the output of the last "
                                   f"block is missing (expected shape {tuple(want.shape)}).",
                                   "Record the embeddings once, then the *output* of every block.")
        expect_tensor_close(got.detach(), want, f"record_residual_stream({name}, idx)",
                            "Entry 0 is the embeddings, entry i + 1 the output of block i.")


# ---------------------------------------------------------------- 3-4. data and loss

@lesson.grading("repeated_random_tokens")
def check_repeated_random_tokens(ns: Namespace) -> None:
    # Random draws have no reference value: the practice check's properties are the whole check.
    got = ns.repeated_random_tokens(2000, 3, 4, seed=11)
    expect_type(got, torch.Tensor, "repeated_random_tokens(2000, 3, 4, seed=11)")
    body = got[:, 1:4]
    if body.min() < 1 or body.max() > 3:
        raise CheckFailure(f"repeated_random_tokens(2000, 3, 4): random tokens must be ids 1 .. vocab_size - 1 = "
                           f"1 .. 3 (0 is BOS); got values from {body.min().item()} to {body.max().item()}.")
    counts = torch.bincount(body.flatten(), minlength=4)[1:]
    if counts.min() < 1700 or counts.max() > 2300:    # 6000 draws, 2000 of each id expected
        raise CheckFailure(f"repeated_random_tokens(2000, 3, 4): the ids 1, 2, 3 occur {counts.tolist()} times in "
                           "6000 random draws; uniform draws give about 2000 each.")


@lesson.grading("per_position_loss")
def check_per_position_loss(ns: Namespace) -> None:
    g = torch.Generator().manual_seed(5)
    logits_ = torch.randn(3, 6, 5, generator=g)
    idx = torch.randint(0, 5, (3, 6), generator=g)
    got = ns.per_position_loss(logits_, idx)
    logp = logits_.double().log_softmax(-1)
    want = -logp[:, :-1].gather(-1, idx[:, 1:, None])[..., 0]
    unshifted = -logp.gather(-1, idx[..., None])[..., 0]
    what = "per_position_loss(logits of shape (3, 6, 5), idx of shape (3, 6))"
    expect_type(got, torch.Tensor, what)
    if tuple(got.shape) == (3, 6) and torch.allclose(got.double(), unshifted, atol=1e-5):
        raise CheckFailure("per_position_loss scores the logits at position t against token t itself; "
                           "expected shape (3, 5) with position t predicting token t + 1.",
                           "Shift by one: the logits of positions 0 .. T-2 against the ids of positions 1 .. T-1.")
    if tuple(got.shape) != (3, 5):
        raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (3, 5): one loss per predicted token, not "
                           "averaged.", "Pass reduction='none' to F.cross_entropy.")
    # logits[:, :-1] is (3, 5, 5) here: without moving the classes to dimension 1, cross_entropy reads time as classes
    time_as_class = -logits_.double()[:, :-1].log_softmax(1).gather(1, idx[:, None, 1:])[:, 0]
    if torch.allclose(got.double(), time_as_class, atol=1e-5):
        raise CheckFailure(f"{what}: F.cross_entropy took the time axis as the class axis (with T - 1 = V = 5 the "
                           "shapes fit, the numbers do not).",
                           "F.cross_entropy wants the class dimension second: (B, V, T - 1), so transpose the "
                           "logits' last two axes first.")
    expect_tensor_close(got.double(), want, what,
                        "The loss at position t is -log softmax(logits[:, t])[idx[:, t + 1]].")


# ---------------------------------------------------------------- 5-6. head scores

PREV_EXPECTED = ref.previous_token_scores(known_patterns())          # (1, 0, uniform, 0, 0) by construction


@lesson.grading("previous_token_score")
def check_previous_token_score(ns: Namespace) -> None:
    p = known_patterns()
    got = ns.previous_token_score(p.clone())
    expect_type(got, torch.Tensor, "previous_token_score(pattern)")
    if tuple(got.shape) != (5,):
        raise CheckFailure(f"previous_token_score of a (2, 5, 13, 13) pattern has shape {tuple(got.shape)}, "
                           "expected (5,): one score per head, averaged over batch and positions.")
    diag = p.diagonal(0, -2, -1).mean((0, -1))
    if torch.allclose(got.float(), diag, atol=1e-4):
        raise CheckFailure(f"your scores {describe(got)} are those of the diagonal (how much each token attends "
                           "to itself), not of the sub-diagonal.",
                           "The previous token of query t is key t - 1: the diagonal with offset -1.")
    with_zero = torch.cat([torch.zeros(2, 5, 1), p.diagonal(-1, -2, -1)], -1).mean((0, -1))
    if torch.allclose(got.float(), with_zero, atol=1e-4):
        raise CheckFailure("your scores average over T positions, counting position 0 (which has no previous "
                           f"token) as 0: got {describe(got)}.", "Average over the T - 1 positions 1 .. T - 1.")
    expect_tensor_close(got.double(), PREV_EXPECTED, f"previous_token_score on {KNOWN_HEADS}", atol=1e-5)
    rnd = random_pattern(3, 2, 7, seed=0)
    expect_tensor_close(ns.previous_token_score(rnd).double(), ref.previous_token_scores(rnd),
                        "previous_token_score of a random pattern", atol=1e-5)


@lesson.grading("induction_score")
def check_induction_score(ns: Namespace) -> None:
    for T, S in [(13, 6), (12, 6)]:  # with and without a BOS token in front
        p = known_patterns(T, S)
        got = ns.induction_score(p.clone(), S)
        what = f"induction_score(pattern, seq_len={S}) with T = {T}"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (5,):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (5,): one score per head.")
        shown, got = got, got.double()
        if torch.allclose(got, ref.induction_scores(p, S, offset=0), atol=1e-4):
            raise CheckFailure(f"{what} gave {describe(shown)}: the hand-made duplicate-token head (head 4, which "
                               "attends to the previous occurrence itself) scores 1 and the induction head 0. "
                               "Your offset is off by one.",
                               "An induction head attends to the token *after* the previous occurrence: key "
                               "q - seq_len + 1, not q - seq_len.")
        late = p[:, :, torch.arange(T - S, T - 1), torch.arange(T - 2 * S + 2, T - S + 1)].double().mean((0, -1))
        if torch.allclose(got, late, atol=1e-4):
            raise CheckFailure(f"{what} gave {describe(shown)}: your offset is off by one the other way "
                               "(key q - seq_len + 2).", "The key is q - seq_len + 1.")
        if T % 2 == 0 and torch.allclose(got, ref.induction_scores(p, S, first_query=S + 1), atol=1e-4):
            raise CheckFailure(f"{what} gave {describe(shown)}: your queries start at seq_len + 1, as if a BOS token "
                               "were always in front. Without one (T = 2 * seq_len) they miss the first query of "
                               "the second copy.", "Count from the end: the queries are the last seq_len "
                               "positions, T - seq_len .. T - 1.")
        expect_tensor_close(got, ref.induction_scores(p, S), f"{what} on {KNOWN_HEADS}", atol=1e-5)


# ---------------------------------------------------------------- 7. ablation

@lesson.grading("ablate_head")
def check_ablate_head(ns: Namespace) -> None:
    model = TinyTransformer(n_layer=2, n_head=3, n_embd=12, seed=7)
    idx = token_ids(2, 8, 11, seed=3)
    clean = logits(model, idx)
    for layer, head in [(1, 2), (0, 1)]:
        hs = 12 // 3
        want = ref.ablated_logits(model, idx, layer, ref.head_channels(model, layer, head))
        with ns.ablate_head(model, layer, head):
            got = logits(model, idx)
        if torch.equal(got, clean):
            raise CheckFailure(f"inside `with ablate_head(model, {layer}, {head}):` the logits did not change: "
                               "nothing was ablated.")
        after = logits(model, idx)
        if not torch.allclose(after, clean, atol=1e-6):
            raise CheckFailure(f"after the `with ablate_head(model, {layer}, {head}):` block ended, the model was "
                               "still ablated.",
                               "Keep the hook's handle and call its remove() after the `yield`, in a `finally:`.")
        strided = ref.ablated_logits(model, idx, layer, torch.arange(head, 12, 3))
        if torch.allclose(got, strided, atol=1e-5):
            raise CheckFailure(f"ablate_head(model, {layer}, {head}) zeroed every n_head-th channel "
                               f"({head}, {head + 3}, {head + 6}, ...) instead of the head's own block of channels.",
                               "Head h owns the contiguous channels h*hs .. (h+1)*hs - 1 of c_proj's input "
                               "(view(B, T, n_head, hs) puts the head index first).")
        every_head = (ref.ablated_logits(model, idx, layer, torch.arange(12)), ref.ablated_logits(model, idx, layer, None))
        if any(torch.allclose(got, every, atol=1e-5) for every in every_head):
            raise CheckFailure(f"ablate_head(model, {layer}, {head}) removed every head of layer {layer}, not only "
                               f"head {head}.", "Zero only the head's own channels h*hs .. (h+1)*hs - 1 of c_proj's "
                               "input; c_proj's output mixes all heads.")
        if not torch.allclose(got, want, atol=1e-5):
            for other in range(3):
                alt = ref.ablated_logits(model, idx, layer, torch.arange(other * hs, (other + 1) * hs))
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
    if hooks_left(model) or not torch.allclose(logits(model, idx), clean, atol=1e-6):
        raise CheckFailure("when the code inside `with ablate_head(...)` raised an exception, the hook stayed "
                           "attached and the model stayed ablated.",
                           "Put the removal in a `finally:` around the `yield`.")


# ---------------------------------------------------------------- 8. OV circuit

@lesson.grading("ov_circuit")
def check_ov_circuit(ns: Namespace) -> None:
    model = TinyTransformer(vocab=9, n_layer=2, n_head=3, n_embd=12, norm=False, bias=False, seed=11)
    for layer, head in [(1, 2), (0, 0)]:
        want = ref.full_circuit(model, layer, head)
        got = ns.ov_circuit(model, layer, head)
        what = f"ov_circuit(model, {layer}, {head})"
        expect_type(got, torch.Tensor, what)
        if tuple(got.shape) != (9, 9):
            raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected (vocab, vocab) = (9, 9).",
                               "Multiply W_E (V, C) @ W_V^h (C, hs) @ W_O^h (hs, C) @ W_U (C, V).")
        if got.requires_grad:
            raise CheckFailure(f"{what} still requires grad: return a detached tensor.",
                               "Call .detach() on the result (or compute it under torch.no_grad()).")
        got = got.double()
        for part, name in [(0, "query"), (1, "key")]:
            if torch.allclose(got, ref.full_circuit(model, layer, head, part=part), atol=1e-4):
                raise CheckFailure(f"{what} used the {name} weights of c_attn: the OV circuit reads the *values*, "
                                   "the last third of c_attn.weight (rows 2C .. 3C).",
                                   "c_attn.weight is (3C, C) with the q, k and v projections stacked: q, k, v "
                                   "= rows 0..C, C..2C, 2C..3C.")
        if torch.allclose(got, ref.full_circuit(model, layer, head, output_rows=True), atol=1e-4):
            raise CheckFailure(f"{what} took *rows* of c_proj.weight for W_O^h; head h's output goes through "
                               "its *columns* h*hs .. (h+1)*hs.",
                               "c_proj computes z @ c_proj.weight.T, so head h's slice of z meets the columns "
                               "h*hs .. (h+1)*hs of c_proj.weight.")
        expect_tensor_close(got, want, what, atol=1e-4)
    got = ns.ov_circuit(copying_model(), 0, 0)
    expect_tensor_close(got.detach().float(), torch.eye(6), "ov_circuit of a head built to copy its token "
                        "(expected the identity matrix)", atol=1e-5)
