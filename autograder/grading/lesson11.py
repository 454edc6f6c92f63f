"""Grading checks for lesson 11 — the original Transformer.

They compare with the same PyTorch references as the practice checks (nn.MultiheadAttention,
nn.TransformerEncoderLayer / DecoderLayer, nn.Transformer, F.cross_entropy) and with the course's
reference code (``autograder/reference/encoder_decoder.py``), which also computes what each known
mistake returns, so that a wrong answer is named.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..feedback import close, expect_close
from ..reference import encoder_decoder as ref
from ..registry import CheckFailure, Namespace
from ..practice.lesson11 import (BEAM_BEATS_GREEDY, BEAM_SHRINKS, GREEDY_SOURCES, LENGTH_DECIDES, LR_STEPS, SRC, TGT,
                                 D, RecordingModel, StandInSeq2Seq, call_attention, call_beam, call_layer, check_parity,
                                 decoder_inputs, expect_calls, fill_by_name, lesson, loss_cases, make_attention,
                                 make_layer, make_model, padding, randn, run_model, torch_attention, with_stand_ins)


def _first(mistakes: list[tuple[Callable[[], Any], str, str]], got: Any) -> None:
    """Fail with the message of the first known mistake whose output equals ``got``."""
    for output, message, hint in mistakes:
        try:
            value = output()
        except RuntimeError:
            continue  # that mistake does not even run on these shapes
        if close(got, value, atol=1e-5, rtol=1e-4):
            raise CheckFailure(message, hint)


# ---------------------------------------------------------------- 1. cross-attention

@lesson.grading("cross_attention")
def check_cross_attention(ns: Namespace) -> None:
    ours, torch_mha = make_attention(ns)
    x, context = randn(2, 3, D, seed=10, scale=0.5), randn(2, 5, D, seed=11, scale=0.5)
    cases = [(None, "x (2, 3, 16), context (2, 5, 16)"), (padding([5, 2], 5), "a padding mask of lengths [5, 2]")]
    for mask, label in cases:
        what = f"MultiHeadAttention(16, 4)(x, context{', mask' if mask is not None else ''}) with {label}"
        with torch.no_grad():
            got = call_attention(ours, x, context, mask, what)
            want, weights = torch_attention(torch_mha, x, context, mask)
        if not close(got, want):
            _first([
                (lambda: ref.attention_forward(ours, x, context, mask, keys_from="x")[0],
                 f"{what}: your keys and values were computed from x, the queries' sequence. In cross-attention they "
                 "come from context (the encoder's memory); only the queries come from x.",
                 "k and v: F.linear(context, ...) with the last two thirds of in_proj's weight and bias."),
                *[(lambda order=order: ref.attention_forward(ours, x, context, mask, order=order)[0],
                   f"{what}: your output matches q, k, v taken from the thirds of in_proj in the order {', '.join(order)}: "
                   "in_proj's rows are W_q, W_k, W_v in that order.",
                   "Rows 0..d-1 make the queries, d..2d-1 the keys, 2d..3d-1 the values (the bias likewise).")
                  for order in ("".join(p) for p in itertools.permutations("qkv")) if order != "qkv"],
                (lambda: ref.attention_forward(ours, x, context, None)[0],
                 f"{what}: your output is that of attention without the mask: the mask was ignored.",
                 "Give the mask (with an axis for the heads) to attention."),
                (lambda: ref.attention_forward(ours, x, context, mask, split_heads=False)[0],
                 f"{what}: your output is that of a single head of 16 features: the heads were not split.",
                 "Split q, k, v into n_heads heads of d // n_heads features before attention."),
            ], got)
            expect_close(got, want, f"{what}, compared with nn.MultiheadAttention")
        stored_weights = getattr(ours, "weights", None)
        if not torch.is_tensor(stored_weights):
            raise CheckFailure(f"after {what}, self.weights is {stored_weights!r}: keep the attention weights of the "
                               "last call in self.weights.", "self.weights = weights.detach(), shape (B, h, T, S).")
        if tuple(stored_weights.shape) == (2, 3, 5):
            raise CheckFailure(f"after {what}, self.weights has shape (2, 3, 5): the heads were averaged. Keep the "
                               "weights of every head, (B, n_heads, T, S).")
        expect_close(stored_weights, weights, f"self.weights after {what}",
                     "Keep the weights of every head, shape (B, n_heads, T, S), after the mask and the softmax.")
        if stored_weights.requires_grad:
            raise CheckFailure(f"self.weights after {what} is still attached to the graph (requires_grad=True).",
                               "Store weights.detach().")


# ---------------------------------------------------------------- 2. encoder layer

@lesson.grading("EncoderLayer")
def check_encoder_layer(ns: Namespace) -> None:
    x = randn(2, 6, D, seed=20)
    mask = padding([6, 3], 6)
    for norm_first in (False, True):
        ours, torch_layer = make_layer(ns, "EncoderLayer", norm_first)
        what = f"EncoderLayer(16, 4, 32, norm_first={norm_first})(x, src_mask) for x (2, 6, 16), source lengths [6, 3]"
        with torch.no_grad():
            got = call_layer(ours, (x, mask), what)
            want = torch_layer(x, src_key_padding_mask=~mask[:, 0])
            if close(got, want):
                continue
            other = "pre-norm" if not norm_first else "post-norm"
            _first([
                (lambda: ref.encoder_layer_forward(ours, x, mask, not norm_first),
                 f"{what}: your layer computes {other}. norm_first=True means pre-norm (x + sublayer(norm(x))), "
                 "norm_first=False post-norm (norm(x + sublayer(x)), the paper's).", "Branch on self.norm_first."),
                (lambda: ref.encoder_layer_forward(ours, x, mask, norm_first, residual_from_normed=True),
                 f"{what}: the residual starts from the normalised x. In pre-norm the norm only feeds the sublayer; "
                 "its output is added to the untouched x.",
                 "Keep the normalised copy in its own variable: h = norm1(x); x = x + dropout(self_attn(h, h, mask))."),
                (lambda: ref.encoder_layer_forward(ours, x, mask, norm_first, causal=True),
                 f"{what}: your encoder masks causally. The encoder reads the whole source at once: its self-attention "
                 "has no causal mask, only the padding mask.", "Give self_attn the source padding mask alone."),
                (lambda: ref.encoder_layer_forward(ours, x, mask, norm_first, use_mask=False),
                 f"{what}: the padding mask was ignored: real tokens attend to pads.", "Pass src_mask to self_attn."),
                (lambda: ref.encoder_layer_forward(ours, x, mask, norm_first, swap_norms=True),
                 f"{what}: norm1 and norm2 are swapped. norm1 goes with the attention, norm2 with the FFN "
                 "(PyTorch's names, so that weights copy across).", "Use norm1 around self_attn, norm2 around the FFN."),
            ], got)
            expect_close(got, want, f"{what}, compared with nn.TransformerEncoderLayer")


# ---------------------------------------------------------------- 3. decoder layer

@lesson.grading("DecoderLayer")
def check_decoder_layer(ns: Namespace) -> None:
    for norm_first in (False, True):
        ours, torch_layer = make_layer(ns, "DecoderLayer", norm_first)
        for shapes, y, memory, mask in decoder_inputs():
            T = y.shape[1]
            what = f"DecoderLayer(16, 4, 32, norm_first={norm_first})(y, memory, src_mask) for {shapes}"
            with torch.no_grad():
                got = call_layer(ours, (y, memory, mask), what)
                want = torch_layer(y, memory, tgt_mask=~ref.causal_mask(T), memory_key_padding_mask=~mask[:, 0])
                if close(got, want):
                    continue

                def variant(**switches: Any) -> Callable[[], torch.Tensor]:
                    return lambda: ref.decoder_layer_forward(ours, y, memory, mask, norm_first, **switches)

                _first([
                    (variant(self_causal=False),
                     f"{what}: the decoder's self-attention has no causal mask: each position sees the target tokens "
                     "after it, the very ones it must predict.", "Give self_attn causal_mask(T)."),
                    (variant(cross_causal=True),
                     f"{what}: your cross-attention is masked causally. The causal mask protects the target's future; "
                     "the source is all known before decoding starts, so cross-attention uses only the source padding "
                     "mask.", "Give cross_attn src_mask alone."),
                    (variant(cross_keys_from="y"),
                     f"{what}: your cross-attention took its keys and values from the decoder's own states. They come "
                     "from memory (the encoder's output); only the queries come from the decoder.",
                     "cross_attn(queries, memory, src_mask)."),
                    (variant(cross_mask=False),
                     f"{what}: cross-attention ignores the source padding mask: the decoder attends to pads.",
                     "Pass src_mask to cross_attn."),
                    (variant(normalise_memory=True),
                     f"{what}: in pre-norm your cross-attention also normalises the memory with norm2. The memory "
                     "already went through the encoder's final norm: norm2 is for the decoder's stream (the queries).",
                     "cross_attn(norm2(y), memory, src_mask)."),
                    (variant(cross_first=True),
                     f"{what}: cross-attention comes before self-attention. The order is causal self-attention, then "
                     "cross-attention, then the FFN.", "Self-attention first (norm1), then cross-attention (norm2)."),
                    (variant(norms="132"),
                     f"{what}: norm2 and norm3 are swapped: norm2 goes with cross-attention, norm3 with the FFN "
                     "(PyTorch's names).", "norm1: self-attention, norm2: cross-attention, norm3: FFN."),
                    (lambda: ref.decoder_layer_forward(ours, y, memory, mask, not norm_first),
                     f"{what}: your layer computes {'pre' if not norm_first else 'post'}-norm, not what norm_first="
                     f"{norm_first} asks for.", "Branch on self.norm_first."),
                ], got)
                expect_close(got, want, f"{what}, compared with nn.TransformerDecoderLayer")


# ---------------------------------------------------------------- 4. the whole model

@lesson.grading("Transformer")
def check_transformer(ns: Namespace) -> None:
    for label, model in (("Transformer(11, 13, d_model=16, n_layers=2)", make_model(ns)),
                         ("Transformer(11, 11, d_model=16, n_layers=2, share_embeddings=True)",
                          make_model(ns, 11, 11, share_embeddings=True))):
        fill_by_name(model, seed=40)
        encoders, decoders = with_stand_ins(model, seed=41)
        model.eval()
        with torch.no_grad():
            memory, logits, mask = run_model(model, label)
            what = f"{label} (its layers replaced by fixed stand-ins)"
            for stack, seen, ids, table in (("encoder", encoders[0].calls[0][0], SRC, model.src_embed),
                                            ("decoder", decoders[0].calls[0][0], TGT, model.tgt_embed)):
                want = ref.embed(model, ids, table)
                if close(seen, want):
                    continue
                d = table.weight.shape[1]
                _first([
                    (lambda: ref.embed(model, ids, table, scale=1.0),
                     f"{what}: what the first {stack} layer receives is embedding + positions, without the factor "
                     "√d_model.", "Multiply the embedding by math.sqrt(d_model) before adding the positions."),
                    (lambda: ref.embed(model, ids, table, scale=d ** -0.5),
                     f"{what}: the {stack}'s embedding was divided by √d_model; the paper multiplies it.",
                     "embedding(ids) * math.sqrt(d_model) + pe[:length]."),
                    (lambda: ref.embed(model, ids, table, positions=False),
                     f"{what}: the {stack}'s input has no positions: attention alone cannot tell the order.",
                     "Add self.pe[:length] to the scaled embedding."),
                    (lambda: ref.embed(model, ids, model.src_embed if stack == "decoder" else model.tgt_embed),
                     f"{what}: the {stack} used the other stack's embedding: the source goes through src_embed, the "
                     "target through tgt_embed.", "encode uses self.src_embed, decode self.tgt_embed."),
                ], seen)
                expect_close(seen, want, f"{what}: what the first {stack} layer receives")
            expect_calls(encoders, None, mask, what)
            expect_calls(decoders, memory, mask, what)
            x = encoders[0].calls[0][0]
            for layer in encoders:
                x = type(layer).forward(layer, x, mask)
            if not close(memory, model.encoder_norm(x)):
                _first([(lambda: x, f"{what}: the memory is the last encoder layer's output without encoder_norm.",
                         "Finish encode with self.encoder_norm.")], memory)
                expect_close(memory, model.encoder_norm(x), f"{what}: the memory returned by encode")
            y = decoders[0].calls[0][0]
            for layer in decoders:
                y = type(layer).forward(layer, y, memory, mask)
            want = model.lm_head(model.decoder_norm(y))
            if not close(logits, want):
                _first([(lambda: model.lm_head(y), f"{what}: the logits skip decoder_norm.",
                         "Finish decode with self.lm_head(self.decoder_norm(y))."),
                        (lambda: model.lm_head(model.encoder_norm(y)),
                         f"{what}: decode normalises with encoder_norm; the decoder has its own, decoder_norm.",
                         "Use self.decoder_norm in decode.")], logits)
                expect_close(logits, want, f"{what}: the logits returned by decode")


# ---------------------------------------------------------------- 5. equal to nn.Transformer

@lesson.grading("matches_nn_transformer")
def check_matches_nn_transformer(ns: Namespace) -> None:
    check_parity(ns, ("grading",), stored_logits=False)  # grading tiers only: the same note every time


# ---------------------------------------------------------------- 6. label smoothing

@lesson.grading("label_smoothing_loss")
def check_label_smoothing_loss(ns: Namespace) -> None:
    for what, logits, target, smoothing, ignore in loss_cases():
        with torch.no_grad():
            got = ns.label_smoothing_loss(logits, target, smoothing=smoothing, ignore_index=ignore)
        V = logits.shape[-1]
        want = F.cross_entropy(logits.reshape(-1, V), target.reshape(-1), label_smoothing=smoothing, ignore_index=ignore)
        if close(got, want):
            continue
        call = f"label_smoothing_loss for {what}"
        kept = (target != ignore).sum()
        _first([
            (lambda: ref.label_smoothing_loss(logits, target, smoothing, ignore, spread="others"),
             f"{call}: you spread ε over the V - 1 other classes. The lesson (and PyTorch, after Szegedy et al.) "
             "spreads it over all V classes, the correct one included: q_v = (1 - ε)[v = y] + ε / V.",
             "The smoothing term is ε times the mean of -log p over all V classes."),
            (lambda: ref.label_smoothing_loss(logits, target, smoothing, ignore, average_over="all"),
             f"{call}: the ignored positions were counted in the mean (as zeros): average over the positions whose "
             "target is not ignore_index only.", "Divide by the number of kept positions."),
            (lambda: ref.label_smoothing_loss(logits, target, 0.0, ignore),
             f"{call}: your loss is the plain cross-entropy: the smoothing was left out.",
             "(1 - ε)·(-log p_y) + ε·(mean over v of -log p_v)."),
            (lambda: ref.label_smoothing_loss(logits, target, smoothing, ignore) * kept,
             f"{call}: you summed over the positions instead of averaging.", "Take the mean over the kept positions."),
        ], got)
        expect_close(got, want, f"{call}, compared with F.cross_entropy(label_smoothing=...)")


# ---------------------------------------------------------------- 7. teacher forcing

@lesson.grading("teacher_forcing_loss")
def check_teacher_forcing_loss(ns: Namespace) -> None:
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0], [3, 4, 5, 6]])
    for tgt, bos, pad in ((torch.tensor([[4, 5, 6, 2, 0], [8, 5, 4, 1, 2], [6, 2, 0, 0, 0]]), 7, 0),
                          (torch.tensor([[4, 5, 6, 2], [8, 2, 3, 3]]), 1, 3)):
        model = RecordingModel()
        source = src[: tgt.shape[0]]
        what = f"teacher_forcing_loss(model, src, tgt={tgt.tolist()}, bos_id={bos}, pad_id={pad}, smoothing=0.1)"
        loss = ns.teacher_forcing_loss(model, source, tgt, bos, pad, smoothing=0.1)
        got = model.calls[-1][1] if model.calls else None
        want = torch.cat([torch.full_like(tgt[:, :1], bos), tgt[:, :-1]], dim=1)
        if not close(got, want):
            if close(got, tgt):
                raise CheckFailure(f"{what}: the decoder input is the target itself, so at every position the model "
                                   "reads the very token it must predict (and learns to copy it).",
                                   "Shift right: <bos>, then tgt without its last column.")
            if close(got, tgt[:, :-1]):
                raise CheckFailure(f"{what}: the decoder input is tgt without its last column, but <bos> is missing in "
                                   "front: it must be shifted right by one.", "Put a column of bos_id in front.")
            if close(got, torch.cat([torch.full_like(tgt[:, :1], bos), tgt], dim=1)):
                raise CheckFailure(f"{what}: the decoder input has one column more than the target: drop tgt's last "
                                   "column after putting <bos> in front.", "torch.cat([bos column, tgt[:, :-1]], 1).")
            if close(got, want.masked_fill(want == bos, 1)) and bos != 1:
                raise CheckFailure(f"{what}: the first column of the decoder input is 1, not bos_id = {bos}.",
                                   "Use the bos_id you are given.")
            expect_close(got, want, f"the decoder input given to the model by {what}")
        logits = model(source, want)
        V = logits.shape[-1]
        expected = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=pad, label_smoothing=0.1)
        if not close(loss, expected):
            _first([(lambda: F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), label_smoothing=0.1),
                     f"{what}: the pads were counted in the loss. Positions whose label is pad_id are not part of any "
                     "sentence and must not count.", "ignore_index=pad_id."),
                    (lambda: F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=pad),
                     f"{what}: the smoothing was not passed on.", "Give label_smoothing_loss the smoothing.")], loss)
            expect_close(loss, expected, f"the loss returned by {what}")


# ---------------------------------------------------------------- 8. the learning rate

@lesson.grading("transformer_lr")
def check_transformer_lr(ns: Namespace) -> None:
    for d, warmup in ((512, 4000), (64, 200)):
        steps = sorted(set(LR_STEPS) | {warmup - 1, warmup, warmup + 1})
        got = [ns.transformer_lr(s, d, warmup) for s in steps]
        if not all(isinstance(value, float) for value in got):
            raise CheckFailure(f"transformer_lr should return a Python float, got {got[0]!r} for step {steps[0]}.",
                               "Compute with Python numbers (** and min), not tensors.")
        want = [ref.transformer_lr(s, d, warmup) for s in steps]
        what = f"[transformer_lr(s, {d}, {warmup}) for s in {steps}]"
        if close(got, want, atol=0.0, rtol=1e-6):
            continue
        for switches, message, hint in (
                (dict(offset=1), "your schedule is off by one: it gives at step s what the formula gives at s + 1 (its "
                 "peak comes one step early). Steps count from 1.", "Use step as given; LambdaLR's i + 1 is the caller's job."),
                (dict(offset=-1), "your schedule is off by one: it gives at step s what the formula gives at s - 1.",
                 "Use step as given."),
                (dict(warmup_exponent=0.5), "during warm-up you multiply by warmup_steps^-0.5 instead of "
                 "warmup_steps^-1.5, so the two terms do not meet at step == warmup_steps.", "step * warmup_steps ** -1.5."),
                (dict(scale_by_width=False), "the factor d_model^-0.5 is missing.", "Multiply by d_model ** -0.5.")):
            try:
                variant = [ref.transformer_lr(s, d, warmup, **switches) for s in steps]
            except ZeroDivisionError:
                continue
            if close(got, variant, atol=0.0, rtol=1e-6):
                raise CheckFailure(f"{what}: {message}", hint)
        expect_close(got, want, what, atol=0.0, rtol=1e-6)


# ---------------------------------------------------------------- 9. greedy decoding

@lesson.grading("greedy_decode")
def check_greedy_decode(ns: Namespace) -> None:
    for src, max_len in ((GREEDY_SOURCES, 12), (GREEDY_SOURCES, 3)):
        what = f"greedy_decode(stand-in model, src={src.tolist()}, bos_id=1, eos_id=2, max_len={max_len})"
        got = ns.greedy_decode(StandInSeq2Seq(), src, 1, 2, max_len)
        want = ref.greedy_decode(StandInSeq2Seq(), src, 1, 2, max_len)
        if close(got, want):
            continue
        if torch.is_tensor(got) and got.dim() == 2 and got.shape[1] == want.shape[1] + 1 and (got[:, 0] == 1).all():
            raise CheckFailure(f"{what}: the result starts with the <bos> column; return only the new tokens.",
                               "Drop the first column before returning.")
        _first([
            (lambda: ref.greedy_decode(StandInSeq2Seq(), src, 1, 2, max_len, stop="never"),
             f"{what}: you ran all max_len steps although every row had produced <eos> earlier: stop as soon as they "
             "all have.", "Keep a bool per row, done, and break when done.all()."),
            (lambda: ref.greedy_decode(StandInSeq2Seq(), src, 1, 2, max_len, pad_after_eos=False),
             f"{what}: after a row's <eos> your result keeps what the model went on writing; those places must hold "
             "model.pad_id.", "Replace the new token of every finished row by model.pad_id."),
            (lambda: ref.greedy_decode(StandInSeq2Seq(), src, 1, 2, max_len, stop="any"),
             f"{what}: you stopped when the first row produced <eos>; the others were not finished.",
             "Stop when every row has produced <eos> (done.all())."),
            (lambda: ref.greedy_decode(StandInSeq2Seq(), src, 1, 2, max_len, position=0),
             f"{what}: you took the logits of the first position; the next token is predicted by the last one.",
             "logits[:, -1]."),
        ], got)
        expect_close(got, want, what)


# ---------------------------------------------------------------- 10. beam search

@lesson.grading("beam_search")
def check_beam_search(ns: Namespace) -> None:
    one = torch.zeros(1, 1, dtype=torch.long)
    cases = [(LENGTH_DECIDES, one, 2, 6, 0.6, "a table model where the length decides"),
             (BEAM_BEATS_GREEDY, one, 2, 5, 0.6, "the lesson's table model"),
             (BEAM_SHRINKS, one, 2, 6, 0.6, "a table model where the beam shrinks")]
    cases += [(StandInSeq2Seq(), GREEDY_SOURCES[row:row + 1], k, max_len, alpha, "stand-in model")
              for k, max_len, alpha in ((3, 12, 0.6), (4, 12, 0.0), (3, 4, 0.6), (8, 12, 0.6)) for row in range(3)]
    for model, src, k, max_len, alpha, name in cases:
        what = (f"beam_search({name}, src={src.tolist()}, beam_size={k}, bos_id=1, eos_id=2, max_len={max_len}, "
                f"alpha={alpha})")
        got = call_beam(ns, model, src, k, max_len, alpha, what)
        want = ref.beam_search(model, src, k, 1, 2, max_len, alpha)
        if close(got[0], want[0]) and close(got[1], want[1]):
            continue

        def variant(**switches: Any) -> Callable[[], tuple[torch.Tensor, float]]:
            return lambda: ref.beam_search(model, src, k, 1, 2, max_len, alpha, **switches)

        _first([
            (variant(normalise="none"),
             f"{what}: your beam search ranks the finished hypotheses by their raw log-probability; the lesson ranks "
             "them by the length-normalised score log P / ((5 + n) / 6)^alpha (not length-normalised, short answers "
             "win too often).", "Divide each finished hypothesis's score by ((5 + n) / 6) ** alpha, n = its new tokens."),
            (variant(normalise="length"),
             f"{what}: you divided by the length n; the lesson's length penalty is ((5 + n) / 6)^alpha.",
             "score / ((5 + n) / 6) ** alpha."),
            (variant(normalise="raw-returned"),
             f"{what}: the right hypothesis, but the score returned is its raw log-probability; return the "
             "length-normalised score.", "Return log P / ((5 + n) / 6) ** alpha."),
            (variant(shrink=False),
             f"{what}: you keep beam_size candidates at every step however many hypotheses are finished; the lesson's "
             "beam keeps beam_size - (number finished), so that it ends when beam_size hypotheses are finished.",
             "topk(beam_size - len(finished))."),
            (variant(rank_by="last"),
             f"{what}: your candidates are ranked by the last token's log-probability; rank them by the whole prefix's "
             "(the running sum).", "candidate score = hypothesis score + log p(token)."),
        ], got)
        expect_close(got[0], want[0], f"the tokens returned by {what}")
        expect_close(got[1], want[1], f"the score returned by {what}")
