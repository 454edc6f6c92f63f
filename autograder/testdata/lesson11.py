"""Lesson 11 test data: known-wrong answers (mutants) that the checks must catch, each with its own
message, and correct answers written differently (alternatives) that they must accept.

Most mutants subclass the solution's class and override one method (``class EncoderLayer(EncoderLayer)``):
the notebook's other code looks its classes up by name, so the whole model then uses the mutant.
"""

from __future__ import annotations

from ..practice.lesson11 import lesson

# ---------------------------------------------------------------- 1. cross-attention

_MHA = '''
class MultiHeadAttention(MultiHeadAttention):
    def forward(self, x, context, mask=None):
        B, T, d = x.shape
        h = self.n_heads
        w, b = self.in_proj.weight, self.in_proj.bias
'''
_MHA_TAIL = '''
        q, k, v = (t.reshape(B, -1, h, d // h).transpose(1, 2) for t in (q, k, v))
        out, weights = attention(q, k, v, None if mask is None else mask.unsqueeze(-3))
        self.weights = weights.detach()
        return self.out_proj(out.transpose(1, 2).reshape(B, T, d))
'''
_QKV = '''
        q = F.linear(x, w[:d], b[:d])
        k = F.linear(context, w[d:2 * d], b[d:2 * d])
        v = F.linear(context, w[2 * d:], b[2 * d:])
'''
lesson.mutant("cross_attention", "keys and values taken from x (the decoder)", "computed from x", _MHA + '''
        q = F.linear(x, w[:d], b[:d])
        k = F.linear(x, w[d:2 * d], b[d:2 * d])
        v = F.linear(x, w[2 * d:], b[2 * d:])
''' + _MHA_TAIL)
lesson.mutant("cross_attention", "queries and keys from the wrong thirds of in_proj", "in that order", _MHA + '''
        q = F.linear(x, w[d:2 * d], b[d:2 * d])
        k = F.linear(context, w[:d], b[:d])
        v = F.linear(context, w[2 * d:], b[2 * d:])
''' + _MHA_TAIL)
lesson.mutant("cross_attention", "mask without an axis for the heads", "axis for the heads", _MHA + _QKV + _MHA_TAIL.replace(
    "mask.unsqueeze(-3)", "mask"))
lesson.mutant("cross_attention", "mask ignored", "mask was ignored", _MHA + _QKV + _MHA_TAIL.replace(
    "None if mask is None else mask.unsqueeze(-3)", "None"))
lesson.mutant("cross_attention", "weights not kept", "keep the attention weights", _MHA + _QKV + _MHA_TAIL.replace(
    "self.weights = weights.detach()", "pass"))
lesson.mutant("cross_attention", "weights averaged over the heads", "every head", _MHA + _QKV + _MHA_TAIL.replace(
    "self.weights = weights.detach()", "self.weights = weights.mean(1).detach()"))
lesson.mutant("cross_attention", "weights kept without detach", "still attached", _MHA + _QKV + _MHA_TAIL.replace(
    "self.weights = weights.detach()", "self.weights = weights"))
lesson.mutant("cross_attention", "heads not split", "single head", _MHA + _QKV + '''
        out, weights = attention(q[:, None], k[:, None], v[:, None], None if mask is None else mask.unsqueeze(-3))
        self.weights = weights.expand(B, h, T, k.shape[1]).detach()
        return self.out_proj(out[:, 0])
''')

# ---------------------------------------------------------------- 2. encoder layer

_ENC = '''
class EncoderLayer(EncoderLayer):
    def forward(self, x, src_mask=None):
'''
lesson.mutant("EncoderLayer", "norm_first ignored (always post-norm)", "computes post-norm", _ENC + '''
        x = self.norm1(x + self.dropout(self.self_attn(x, x, src_mask)))
        return self.norm2(x + self.dropout(self.feed_forward(x)))
''')
lesson.mutant("EncoderLayer", "pre-norm whose residual starts from the normalised x", "starts from the normalised x",
              _ENC + '''
        if not self.norm_first:
            return super().forward(x, src_mask)
        x = self.norm1(x)
        x = x + self.dropout(self.self_attn(x, x, src_mask))
        x = self.norm2(x)
        return x + self.dropout(self.feed_forward(x))
''')
lesson.mutant("EncoderLayer", "a causal mask in the encoder", "masks causally", _ENC + '''
        T = x.shape[1]
        mask = causal_mask(T) if src_mask is None else src_mask & causal_mask(T)
        return super().forward(x, mask)
''')
lesson.mutant("EncoderLayer", "padding mask ignored", "padding mask was ignored", _ENC + '''
        return super().forward(x, None)
''')
lesson.mutant("EncoderLayer", "norm1 and norm2 swapped", "norm1 and norm2 are swapped", _ENC + '''
        self.norm1, self.norm2 = self.norm2, self.norm1
        try:
            return super().forward(x, src_mask)
        finally:
            self.norm1, self.norm2 = self.norm2, self.norm1
''')

# ---------------------------------------------------------------- 3. decoder layer

_DEC = '''
class DecoderLayer(DecoderLayer):
    def forward(self, y, memory, src_mask=None):
        T = y.shape[1]
'''


def _decoder(self_mask: str = "causal_mask(T)", cross: str = "self.cross_attn({q}, memory, src_mask)") -> str:
    """A whole DecoderLayer.forward with one sublayer changed."""
    pre = cross.format(q="self.norm2(y)")
    post = cross.format(q="y")
    return _DEC + f'''
        if self.norm_first:
            h = self.norm1(y)
            y = y + self.dropout(self.self_attn(h, h, {self_mask}))
            y = y + self.dropout({pre})
            return y + self.dropout(self.feed_forward(self.norm3(y)))
        y = self.norm1(y + self.dropout(self.self_attn(y, y, {self_mask})))
        y = self.norm2(y + self.dropout({post}))
        return self.norm3(y + self.dropout(self.feed_forward(y)))
'''


lesson.mutant("DecoderLayer", "no causal mask in the decoder's self-attention", "has no causal mask",
              _decoder(self_mask="None"))
lesson.mutant("DecoderLayer", "cross-attention masked causally", "masked causally",
              _decoder(cross="self.cross_attn({q}, memory, src_mask & causal_mask(T))"))
lesson.mutant("DecoderLayer", "cross-attention's keys and values from the decoder", "from the decoder's own states",
              _decoder(cross="self.cross_attn({q}, {q}, src_mask)"))
lesson.mutant("DecoderLayer", "source padding mask not given to cross-attention", "ignores the source padding mask",
              _decoder(cross="self.cross_attn({q}, memory)"))
lesson.mutant("DecoderLayer", "pre-norm that normalises the memory too", "normalises the memory",
              _decoder(cross="self.cross_attn({q}, self.norm2(memory) if self.norm_first else memory, src_mask)"))
lesson.mutant("DecoderLayer", "cross-attention before self-attention", "comes before self-attention", _DEC + '''
        causal = causal_mask(T)
        if self.norm_first:
            y = y + self.dropout(self.cross_attn(self.norm2(y), memory, src_mask))
            h = self.norm1(y)
            y = y + self.dropout(self.self_attn(h, h, causal))
            return y + self.dropout(self.feed_forward(self.norm3(y)))
        y = self.norm2(y + self.dropout(self.cross_attn(y, memory, src_mask)))
        y = self.norm1(y + self.dropout(self.self_attn(y, y, causal)))
        return self.norm3(y + self.dropout(self.feed_forward(y)))
''')
lesson.mutant("DecoderLayer", "norm2 and norm3 swapped", "norm2 and norm3 are swapped", _DEC + '''
        self.norm2, self.norm3 = self.norm3, self.norm2
        try:
            return super().forward(y, memory, src_mask)
        finally:
            self.norm2, self.norm3 = self.norm3, self.norm2
''')

# ---------------------------------------------------------------- 4. the whole model

_MODEL = '''
class Transformer(Transformer):
'''
lesson.mutant("Transformer", "√d_model forgotten", "without the factor", _MODEL + '''
    def encode(self, src, src_mask):
        x = self.dropout(self.src_embed(src) + self.pe[: src.shape[1]])
        for layer in self.encoder_layers:
            x = layer(x, src_mask)
        return self.encoder_norm(x)

    def decode(self, tgt, memory, src_mask):
        y = self.dropout(self.tgt_embed(tgt) + self.pe[: tgt.shape[1]])
        for layer in self.decoder_layers:
            y = layer(y, memory, src_mask)
        return self.lm_head(self.decoder_norm(y))
''')
lesson.mutant("Transformer", "embeddings divided by √d_model", "was divided by", _MODEL + '''
    def encode(self, src, src_mask):
        x = self.dropout(self.src_embed(src) / math.sqrt(self.d_model) + self.pe[: src.shape[1]])
        for layer in self.encoder_layers:
            x = layer(x, src_mask)
        return self.encoder_norm(x)
''')
lesson.mutant("Transformer", "no positions in the decoder", "has no positions", _MODEL + '''
    def decode(self, tgt, memory, src_mask):
        y = self.dropout(self.tgt_embed(tgt) * math.sqrt(self.d_model))
        for layer in self.decoder_layers:
            y = layer(y, memory, src_mask)
        return self.lm_head(self.decoder_norm(y))
''')
lesson.mutant("Transformer", "the target embedded with src_embed", "the other stack's embedding", _MODEL + '''
    def decode(self, tgt, memory, src_mask):
        y = self.dropout(self.src_embed(tgt) * math.sqrt(self.d_model) + self.pe[: tgt.shape[1]])
        for layer in self.decoder_layers:
            y = layer(y, memory, src_mask)
        return self.lm_head(self.decoder_norm(y))
''')
lesson.mutant("Transformer", "no encoder_norm", "without encoder_norm", _MODEL + '''
    def encode(self, src, src_mask):
        x = self.dropout(self.src_embed(src) * math.sqrt(self.d_model) + self.pe[: src.shape[1]])
        for layer in self.encoder_layers:
            x = layer(x, src_mask)
        return x
''')
lesson.mutant("Transformer", "no decoder_norm", "skip decoder_norm", _MODEL + '''
    def decode(self, tgt, memory, src_mask):
        y = self.dropout(self.tgt_embed(tgt) * math.sqrt(self.d_model) + self.pe[: tgt.shape[1]])
        for layer in self.decoder_layers:
            y = layer(y, memory, src_mask)
        return self.lm_head(y)
''')
lesson.mutant("Transformer", "lm_head not tied to the embeddings", "the very same tensor", _MODEL + '''
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lm_head.weight = nn.Parameter(self.lm_head.weight.detach().clone())
''')
lesson.mutant("Transformer", "embeddings left at nn.Embedding's N(0, 1)", "standard deviation", _MODEL + '''
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with torch.no_grad():
            self.src_embed.weight.normal_()
            self.tgt_embed.weight.normal_()
''')
lesson.mutant("Transformer", "no dropout on the embedded sequences", "dropout is not applied", _MODEL + '''
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dropout = nn.Identity()
''')
lesson.mutant("Transformer", "the encoder layers get no mask", "received the mask", _MODEL + '''
    def encode(self, src, src_mask):
        x = self.dropout(self.src_embed(src) * math.sqrt(self.d_model) + self.pe[: src.shape[1]])
        for layer in self.encoder_layers:
            x = layer(x)
        return self.encoder_norm(x)
''')

# ---------------------------------------------------------------- 5. equal to nn.Transformer

# The notebook's classes find each other through the notebook's globals, so a mutant defined on top of the
# solution only reaches the whole model when the model (and, for attention, the layers) are built again
# from the mutant's names.  (In a learner's notebook everything lives in one namespace.)
_REBUILD_LAYERS = '''
class EncoderLayer(EncoderLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.self_attn = MultiHeadAttention(self.linear1.in_features, self.self_attn.n_heads)


class DecoderLayer(DecoderLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.self_attn = MultiHeadAttention(self.linear1.in_features, self.self_attn.n_heads)
        self.cross_attn = MultiHeadAttention(self.linear1.in_features, self.cross_attn.n_heads)
'''
_REBUILD_MODEL = '''
class Transformer(Transformer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        first = self.encoder_layers[0]
        sizes = (self.d_model, first.self_attn.n_heads, first.linear1.out_features, first.dropout.p, first.norm_first)
        self.encoder_layers = nn.ModuleList(EncoderLayer(*sizes) for _ in self.encoder_layers)
        self.decoder_layers = nn.ModuleList(DecoderLayer(*sizes) for _ in self.decoder_layers)
'''

lesson.mutant("matches_nn_transformer", "decoder layer with norm2 and norm3 swapped", "`DecoderLayer` does not pass", _DEC + '''
        self.norm2, self.norm3 = self.norm3, self.norm2
        try:
            return super().forward(y, memory, src_mask)
        finally:
            self.norm2, self.norm3 = self.norm3, self.norm2
''' + _REBUILD_MODEL)
lesson.mutant("matches_nn_transformer", "a causal mask in the encoder", "`EncoderLayer` does not pass", _ENC + '''
        T = x.shape[1]
        return super().forward(x, causal_mask(T) if src_mask is None else src_mask & causal_mask(T))
''' + _REBUILD_MODEL)
lesson.mutant("matches_nn_transformer", "no decoder_norm", "`Transformer` does not pass", _MODEL + '''
    def decode(self, tgt, memory, src_mask):
        y = self.dropout(self.tgt_embed(tgt) * math.sqrt(self.d_model) + self.pe[: tgt.shape[1]])
        for layer in self.decoder_layers:
            y = layer(y, memory, src_mask)
        return self.lm_head(y)
''')
lesson.mutant("matches_nn_transformer", "attention's queries from the wrong third of in_proj", "`cross_attention` does not pass",
              _MHA + '''
        q = F.linear(x, w[d:2 * d], b[d:2 * d])
        k = F.linear(context, w[:d], b[:d])
        v = F.linear(context, w[2 * d:], b[2 * d:])
''' + _MHA_TAIL + _REBUILD_LAYERS + _REBUILD_MODEL)

# ---------------------------------------------------------------- 6. label smoothing

lesson.mutant("label_smoothing_loss", "ε spread over the V - 1 other classes", "V - 1 other classes", '''
def label_smoothing_loss(logits, target, smoothing=0.0, ignore_index=-100):
    V = logits.shape[-1]
    log_p = F.log_softmax(logits, dim=-1)
    one_hot = F.one_hot(target.clamp(min=0), V).to(log_p.dtype)
    q = (1 - smoothing) * one_hot + smoothing / (V - 1) * (1 - one_hot)
    per_position = -(q * log_p).sum(-1)
    return per_position[target != ignore_index].mean()
''')
lesson.mutant("label_smoothing_loss", "ignored positions counted in the mean", "ignored positions were counted", '''
def label_smoothing_loss(logits, target, smoothing=0.0, ignore_index=-100):
    log_p = F.log_softmax(logits, dim=-1)
    nll = -log_p.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    per_position = (1 - smoothing) * nll + smoothing * -log_p.mean(-1)
    return (per_position * (target != ignore_index)).mean()
''')
lesson.mutant("label_smoothing_loss", "no smoothing", "smoothing was left out", '''
def label_smoothing_loss(logits, target, smoothing=0.0, ignore_index=-100):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=ignore_index)
''')
lesson.mutant("label_smoothing_loss", "summed instead of averaged", "summed over the positions", '''
def label_smoothing_loss(logits, target, smoothing=0.0, ignore_index=-100):
    log_p = F.log_softmax(logits, dim=-1)
    nll = -log_p.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    per_position = (1 - smoothing) * nll + smoothing * -log_p.mean(-1)
    return per_position[target != ignore_index].sum()
''')

# ---------------------------------------------------------------- 7. teacher forcing

lesson.mutant("teacher_forcing_loss", "the decoder reads the target itself", "the target itself", '''
def teacher_forcing_loss(model, src, tgt, bos_id, pad_id, smoothing=0.0):
    return label_smoothing_loss(model(src, tgt), tgt, smoothing, ignore_index=pad_id)
''')
lesson.mutant("teacher_forcing_loss", "shifted without <bos> (inputs tgt[:, :-1], labels tgt[:, 1:])", "<bos> is missing", '''
def teacher_forcing_loss(model, src, tgt, bos_id, pad_id, smoothing=0.0):
    return label_smoothing_loss(model(src, tgt[:, :-1]), tgt[:, 1:], smoothing, ignore_index=pad_id)
''')
lesson.mutant("teacher_forcing_loss", "pads counted in the loss", "pads were counted", '''
def teacher_forcing_loss(model, src, tgt, bos_id, pad_id, smoothing=0.0):
    decoder_input = torch.cat([torch.full_like(tgt[:, :1], bos_id), tgt[:, :-1]], dim=1)
    return label_smoothing_loss(model(src, decoder_input), tgt, smoothing)
''')
lesson.mutant("teacher_forcing_loss", "<bos> hard-coded as 1", "not bos_id", '''
def teacher_forcing_loss(model, src, tgt, bos_id, pad_id, smoothing=0.0):
    decoder_input = torch.cat([torch.ones_like(tgt[:, :1]), tgt[:, :-1]], dim=1)
    return label_smoothing_loss(model(src, decoder_input), tgt, smoothing, ignore_index=pad_id)
''')
lesson.mutant("teacher_forcing_loss", "smoothing not passed on", "smoothing was not passed on", '''
def teacher_forcing_loss(model, src, tgt, bos_id, pad_id, smoothing=0.0):
    decoder_input = torch.cat([torch.full_like(tgt[:, :1], bos_id), tgt[:, :-1]], dim=1)
    return label_smoothing_loss(model(src, decoder_input), tgt, ignore_index=pad_id)
''')

# ---------------------------------------------------------------- 8. the learning rate

lesson.mutant("transformer_lr", "warm-up off by one (steps counted from 0)", "one step early", '''
def transformer_lr(step, d_model, warmup_steps=4000):
    step = step + 1
    return d_model ** -0.5 * min(step ** -0.5, step * warmup_steps ** -1.5)
''')
lesson.mutant("transformer_lr", "warmup_steps^-0.5 in the warm-up", "instead of warmup_steps^-1.5", '''
def transformer_lr(step, d_model, warmup_steps=4000):
    return d_model ** -0.5 * min(step ** -0.5, step * warmup_steps ** -0.5)
''')
lesson.mutant("transformer_lr", "no d_model^-0.5", "d_model^-0.5 is missing", '''
def transformer_lr(step, d_model, warmup_steps=4000):
    return min(step ** -0.5, step * warmup_steps ** -1.5)
''')
lesson.mutant("transformer_lr", "a tensor instead of a float", "Python float", '''
def transformer_lr(step, d_model, warmup_steps=4000):
    s = torch.tensor(float(step))
    return d_model ** -0.5 * torch.minimum(s ** -0.5, s * warmup_steps ** -1.5)
''')

# ---------------------------------------------------------------- 9. greedy decoding

_GREEDY = '''
@torch.no_grad()
def greedy_decode(model, src, bos_id, eos_id, max_len):
    src_mask = model.source_mask(src)
    memory = model.encode(src, src_mask)
    out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        next_token = model.decode(out, memory, src_mask)[:, -1].argmax(dim=-1)
        next_token = next_token.masked_fill(done, model.pad_id)
        out = torch.cat([out, next_token[:, None]], dim=1)
        done |= next_token == eos_id
        if done.all():
            break
    return out[:, 1:]
'''
lesson.mutant("greedy_decode", "never stops early", "ran all max_len steps", _GREEDY.replace(
    "        if done.all():\n            break\n", ""))
lesson.mutant("greedy_decode", "no pads after <eos>", "must hold model.pad_id", _GREEDY.replace(
    "        next_token = next_token.masked_fill(done, model.pad_id)\n", ""))
lesson.mutant("greedy_decode", "stops when the first row ends", "stopped when the first row", _GREEDY.replace(
    "done.all()", "done.any()"))
lesson.mutant("greedy_decode", "logits of the first position", "first position", _GREEDY.replace(
    "[:, -1].argmax", "[:, 0].argmax"))
lesson.mutant("greedy_decode", "returns the <bos> column too", "starts with the <bos> column", _GREEDY.replace(
    "return out[:, 1:]", "return out"))
lesson.mutant("greedy_decode", "encodes the source at every step", "encode the source once", _GREEDY.replace(
    "        next_token = model.decode(out, memory, src_mask)",
    "        memory = model.encode(src, src_mask)\n        next_token = model.decode(out, memory, src_mask)"))

# ---------------------------------------------------------------- 10. beam search

_BEAM = '''
@torch.no_grad()
def beam_search(model, src, beam_size, bos_id, eos_id, max_len, alpha=0.6):
    src_mask = model.source_mask(src)
    memory = model.encode(src, src_mask)
    alive = [(0.0, [])]
    finished = []
    penalty = lambda n: ((5 + n) / 6) ** alpha
    for step in range(1, max_len + 1):
        rows = torch.tensor([[bos_id] + tokens for _, tokens in alive])
        n = len(alive)
        log_p = F.log_softmax(model.decode(rows, memory.expand(n, -1, -1), src_mask.expand(n, -1, -1))[:, -1], -1)
        candidates = sorted(((score + lp, lp, tokens + [v]) for (score, tokens), row in zip(alive, log_p.tolist())
                             for v, lp in enumerate(row)), key=RANK, reverse=True)
        alive = []
        for score, lp, tokens in candidates[:KEEP]:
            if tokens[-1] == eos_id:
                finished.append((NORMALISED, score, tokens))
            else:
                alive.append((score, tokens))
        if not alive or len(finished) >= beam_size:
            break
    else:
        finished += [(score / penalty(max_len), score, tokens) for score, tokens in alive]
    best = max(finished, key=lambda f: f[0])
    return torch.tensor(best[2]), RETURNED
'''


def _beam(rank: str = "lambda c: c[0]", keep: str = "beam_size - len(finished)",
          normalised: str = "score / penalty(step)", returned: str = "best[0]") -> str:
    return (_BEAM.replace("RANK", rank).replace("KEEP", keep).replace("NORMALISED", normalised)
            .replace("RETURNED", returned))


lesson.mutant("beam_search", "scores not length-normalised", "not length-normalised", _beam(normalised="score"))
lesson.mutant("beam_search", "normalised by the length n", "divided by the length n", _beam(normalised="score / step"))
lesson.mutant("beam_search", "returns the raw log-probability", "raw log-probability; return the", _beam(returned="best[1]"))
lesson.mutant("beam_search", "beam_size candidates kept after some finished", "however many hypotheses are finished",
              _beam(keep="beam_size").replace("len(finished) >= beam_size", "step == max_len + 1"))
lesson.mutant("beam_search", "candidates ranked by the last token alone", "last token's log-probability",
              _beam(rank="lambda c: c[1]"))


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("cross_attention", "einsum, own softmax, a -1e9 mask", '''
class MultiHeadAttention(MultiHeadAttention):
    def forward(self, x, context, mask=None):
        B, T, d = x.shape
        h = self.n_heads
        W = self.in_proj.weight.view(3, h, d // h, d)
        b = self.in_proj.bias.view(3, h, d // h)
        q = torch.einsum("btd,hkd->bhtk", x, W[0]) + b[0][None, :, None]
        k = torch.einsum("bsd,hkd->bhsk", context, W[1]) + b[1][None, :, None]
        v = torch.einsum("bsd,hkd->bhsk", context, W[2]) + b[2][None, :, None]
        scores = torch.einsum("bhtk,bhsk->bhts", q, k) / math.sqrt(d // h)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(-3), -1e9)
        e = torch.exp(scores - scores.amax(-1, keepdim=True))
        weights = e / e.sum(-1, keepdim=True)
        self.weights = weights.detach()
        return self.out_proj(torch.einsum("bhts,bhsk->bthk", weights, v).reshape(B, T, d))
''')
lesson.alternative("cross_attention", "PyTorch's own F.multi_head_attention_forward", '''
class MultiHeadAttention(MultiHeadAttention):
    def forward(self, x, context, mask=None):
        d = x.shape[-1]
        blocked = None
        if mask is not None:
            allowed = mask.expand(x.shape[0], x.shape[1], context.shape[1])
            blocked = (~allowed).repeat_interleave(self.n_heads, dim=0)  # (B * h, T, S), True = blocked
        out, weights = F.multi_head_attention_forward(
            x.transpose(0, 1), context.transpose(0, 1), context.transpose(0, 1), d, self.n_heads,
            self.in_proj.weight, self.in_proj.bias, None, None, False, 0.0, self.out_proj.weight, self.out_proj.bias,
            training=False, need_weights=True, attn_mask=blocked, average_attn_weights=False)
        self.weights = weights.detach()
        return out.transpose(0, 1)
''')
lesson.alternative("cross_attention", "a loop over the heads", '''
class MultiHeadAttention(MultiHeadAttention):
    def forward(self, x, context, mask=None):
        B, T, d = x.shape
        dk = d // self.n_heads
        q = F.linear(x, self.in_proj.weight[:d], self.in_proj.bias[:d])
        kv = F.linear(context, self.in_proj.weight[d:], self.in_proj.bias[d:])
        k, v = kv[..., :d], kv[..., d:]
        outs, all_weights = [], []
        for i in range(self.n_heads):
            cut = slice(i * dk, (i + 1) * dk)
            out, weights = attention(q[..., cut], k[..., cut], v[..., cut], mask)
            outs.append(out)
            all_weights.append(weights)
        self.weights = torch.stack(all_weights, dim=1).detach()
        return self.out_proj(torch.cat(outs, dim=-1))
''')

lesson.alternative("EncoderLayer", "a sublayer helper (residual + norm around any function)", '''
class EncoderLayer(EncoderLayer):
    def sublayer(self, x, norm, function):
        if self.norm_first:
            return x + self.dropout(function(norm(x)))
        return norm(x + self.dropout(function(x)))

    def forward(self, x, src_mask=None):
        x = self.sublayer(x, self.norm1, lambda h: self.self_attn(h, h, src_mask))
        return self.sublayer(x, self.norm2, self.feed_forward)
''')
lesson.alternative("EncoderLayer", "nn.functional calls on the given modules' weights", '''
class EncoderLayer(EncoderLayer):
    def forward(self, x, src_mask=None):
        def ln(norm, t):
            return F.layer_norm(t, t.shape[-1:], norm.weight, norm.bias, norm.eps)

        def ffn(t):
            return F.linear(torch.relu(F.linear(t, self.linear1.weight, self.linear1.bias)),
                            self.linear2.weight, self.linear2.bias)

        if self.norm_first:
            a = ln(self.norm1, x)
            x = torch.add(x, self.dropout(self.self_attn(a, a, mask=src_mask)))
            return torch.add(x, self.dropout(ffn(ln(self.norm2, x))))
        x = ln(self.norm1, torch.add(x, self.dropout(self.self_attn(x, x, mask=src_mask))))
        return ln(self.norm2, torch.add(x, self.dropout(ffn(x))))
''')

lesson.alternative("DecoderLayer", "a loop over the three sublayers", '''
class DecoderLayer(DecoderLayer):
    def forward(self, y, memory, src_mask=None):
        T = y.shape[1]
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        sublayers = [(self.norm1, lambda h: self.self_attn(h, h, ~future)),
                     (self.norm2, lambda h: self.cross_attn(h, memory, src_mask)),
                     (self.norm3, self.feed_forward)]
        for norm, function in sublayers:
            y = y + self.dropout(function(norm(y))) if self.norm_first else norm(y + self.dropout(function(y)))
        return y
''')
lesson.alternative("DecoderLayer", "keyword arguments and a mask made by comparing positions", '''
class DecoderLayer(DecoderLayer):
    def forward(self, y, memory, src_mask=None):
        positions = torch.arange(y.shape[1])
        causal = positions[None, :] <= positions[:, None]
        if not self.norm_first:
            y = self.norm1(y + self.dropout(self.self_attn(x=y, context=y, mask=causal)))
            y = self.norm2(y + self.dropout(self.cross_attn(x=y, context=memory, mask=src_mask)))
            return self.norm3(y + self.dropout(self.feed_forward(y)))
        a = self.norm1(y)
        y = y + self.dropout(self.self_attn(x=a, context=a, mask=causal))
        b = self.norm2(y)
        y = y + self.dropout(self.cross_attn(x=b, context=memory, mask=src_mask))
        c = self.norm3(y)
        return y + self.dropout(self.feed_forward(c))
''')

lesson.alternative("Transformer", "positions built per call, d_model ** 0.5, reduce over the layers", '''
import functools


class Transformer(Transformer):
    def __init__(self, src_vocab, tgt_vocab, d_model=512, n_heads=8, n_layers=6, d_ff=2048, dropout=0.1,
                 norm_first=False, share_embeddings=False, max_len=256, pad_id=0):
        nn.Module.__init__(self)
        self.d_model, self.pad_id = d_model, pad_id
        make = lambda vocab: nn.Embedding(vocab, d_model, _weight=torch.randn(vocab, d_model) * d_model ** -0.5)
        self.src_embed = make(src_vocab)
        self.tgt_embed = self.src_embed if share_embeddings else make(tgt_vocab)
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.decoder_layers = nn.ModuleList(DecoderLayer(d_model, n_heads, d_ff, dropout, norm_first)
                                            for _ in range(n_layers))
        self.encoder_layers = nn.ModuleList(EncoderLayer(d_model, n_heads, d_ff, dropout, norm_first)
                                            for _ in range(n_layers))
        self.decoder_norm = nn.LayerNorm(d_model)
        self.encoder_norm = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, tgt_vocab, bias=False)
        if share_embeddings:
            self.lm_head.weight = self.src_embed.weight

    def encode(self, src, src_mask):
        x = self.dropout(self.src_embed(src) * self.d_model ** 0.5 + sinusoidal_encoding(src.shape[1], self.d_model))
        return self.encoder_norm(functools.reduce(lambda h, layer: layer(h, src_mask), self.encoder_layers, x))

    def decode(self, tgt, memory, src_mask):
        y = self.dropout(self.tgt_embed(tgt) * self.d_model ** 0.5 + sinusoidal_encoding(tgt.shape[1], self.d_model))
        y = functools.reduce(lambda h, layer: layer(h, memory, src_mask), self.decoder_layers, y)
        return F.linear(self.decoder_norm(y), self.lm_head.weight)
''')
lesson.alternative("Transformer", "one embedding helper, weights tied through nn.Parameter, init in place", '''
class Transformer(Transformer):
    def __init__(self, src_vocab, tgt_vocab, d_model=512, n_heads=8, n_layers=6, d_ff=2048, dropout=0.1,
                 norm_first=False, share_embeddings=False, max_len=256, pad_id=0):
        nn.Module.__init__(self)
        if share_embeddings and src_vocab != tgt_vocab:
            raise ValueError("one vocabulary")
        self.d_model, self.pad_id = d_model, pad_id
        self.src_embed = nn.Embedding(src_vocab, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model)
        with torch.no_grad():
            self.src_embed.weight.normal_(0.0, 1 / math.sqrt(d_model))
            self.tgt_embed.weight.normal_(0.0, 1 / math.sqrt(d_model))
        self.lm_head = nn.Linear(d_model, tgt_vocab, bias=False)
        if share_embeddings:
            self.tgt_embed = self.src_embed
            self.lm_head.weight = self.src_embed.weight
        self.pe = None
        del self.pe
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder_layers = nn.ModuleList()
        self.decoder_layers = nn.ModuleList()
        for _ in range(n_layers):
            self.encoder_layers.append(EncoderLayer(d_model, n_heads, d_ff, dropout=dropout, norm_first=norm_first))
            self.decoder_layers.append(DecoderLayer(d_model, n_heads, d_ff, dropout=dropout, norm_first=norm_first))
        self.encoder_norm = nn.LayerNorm(d_model)
        self.decoder_norm = nn.LayerNorm(d_model)

    def embed(self, table, ids):
        return self.dropout(table(ids) * math.sqrt(self.d_model) + self.pe[: ids.shape[1]])

    def encode(self, src, src_mask):
        x = self.embed(self.src_embed, src)
        for layer in self.encoder_layers:
            x = layer(x, src_mask=src_mask)
        return self.encoder_norm(x)

    def decode(self, tgt, memory, src_mask):
        y = self.embed(self.tgt_embed, tgt)
        for layer in self.decoder_layers:
            y = layer(y, memory, src_mask=src_mask)
        return self.lm_head(self.decoder_norm(y))
''')

lesson.alternative("matches_nn_transformer", "attention through F.multi_head_attention_forward, layers with a "
                   "sublayer helper", '''
class MultiHeadAttention(MultiHeadAttention):
    def forward(self, x, context, mask=None):
        d = x.shape[-1]
        blocked = None
        if mask is not None:
            blocked = (~mask.expand(x.shape[0], x.shape[1], context.shape[1])).repeat_interleave(self.n_heads, dim=0)
        out, weights = F.multi_head_attention_forward(
            x.transpose(0, 1), context.transpose(0, 1), context.transpose(0, 1), d, self.n_heads,
            self.in_proj.weight, self.in_proj.bias, None, None, False, 0.0, self.out_proj.weight, self.out_proj.bias,
            training=False, need_weights=True, attn_mask=blocked, average_attn_weights=False)
        self.weights = weights.detach()
        return out.transpose(0, 1)


def _sublayer(layer, x, norm, function):
    return x + layer.dropout(function(norm(x))) if layer.norm_first else norm(x + layer.dropout(function(x)))


class EncoderLayer(EncoderLayer):
    def forward(self, x, src_mask=None):
        x = _sublayer(self, x, self.norm1, lambda h: self.self_attn(h, h, src_mask))
        return _sublayer(self, x, self.norm2, self.feed_forward)


class DecoderLayer(DecoderLayer):
    def forward(self, y, memory, src_mask=None):
        y = _sublayer(self, y, self.norm1, lambda h: self.self_attn(h, h, causal_mask(h.shape[1])))
        y = _sublayer(self, y, self.norm2, lambda h: self.cross_attn(h, memory, src_mask))
        return _sublayer(self, y, self.norm3, self.feed_forward)
''' + _REBUILD_LAYERS + _REBUILD_MODEL)
lesson.alternative("matches_nn_transformer", "attention with einsum, inside the whole model", '''
class MultiHeadAttention(MultiHeadAttention):
    def forward(self, x, context, mask=None):
        B, T, d = x.shape
        h = self.n_heads
        W = self.in_proj.weight.view(3, h, d // h, d)
        b = self.in_proj.bias.view(3, h, d // h)
        q = torch.einsum("btd,hkd->bhtk", x, W[0]) + b[0][None, :, None]
        k = torch.einsum("bsd,hkd->bhsk", context, W[1]) + b[1][None, :, None]
        v = torch.einsum("bsd,hkd->bhsk", context, W[2]) + b[2][None, :, None]
        out, weights = attention(q, k, v, None if mask is None else mask[..., None, :, :])
        self.weights = weights.detach()
        return self.out_proj(out.transpose(1, 2).flatten(2))
''' + _REBUILD_LAYERS + _REBUILD_MODEL)

lesson.alternative("label_smoothing_loss", "the smoothed target distribution written out", '''
def label_smoothing_loss(logits, target, smoothing=0.0, ignore_index=-100):
    V = logits.shape[-1]
    keep = target != ignore_index
    log_p = torch.log_softmax(logits[keep], dim=-1)
    q = torch.full_like(log_p, smoothing / V)
    q[torch.arange(len(q)), target[keep]] += 1 - smoothing
    return -(q * log_p).sum(-1).mean()
''')
lesson.alternative("label_smoothing_loss", "F.cross_entropy itself", '''
def label_smoothing_loss(logits, target, smoothing=0.0, ignore_index=-100):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), target.reshape(-1), ignore_index=ignore_index,
                           label_smoothing=smoothing)
''')
lesson.alternative("label_smoothing_loss", "F.nll_loss plus the mean of -log p, weighted by the kept positions", '''
def label_smoothing_loss(logits, target, smoothing=0.0, ignore_index=-100):
    V = logits.shape[-1]
    log_p = F.log_softmax(logits.reshape(-1, V), dim=-1)
    t = target.reshape(-1)
    keep = (t != ignore_index).to(log_p.dtype)
    nll = F.nll_loss(log_p, t, ignore_index=ignore_index)
    smooth = (-log_p.mean(-1) * keep).sum() / keep.sum()
    return (1 - smoothing) * nll + smoothing * smooth
''')

lesson.alternative("teacher_forcing_loss", "F.pad and F.cross_entropy", '''
def teacher_forcing_loss(model, src, tgt, bos_id, pad_id, smoothing=0.0):
    decoder_input = F.pad(tgt[:, :-1], (1, 0), value=bos_id)
    logits = model(src, decoder_input)
    return F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=pad_id, label_smoothing=smoothing)
''')
lesson.alternative("teacher_forcing_loss", "a new tensor filled by slices", '''
def teacher_forcing_loss(model, src, tgt, bos_id, pad_id, smoothing=0.0):
    decoder_input = tgt.new_full(tgt.shape, bos_id)
    decoder_input[:, 1:] = tgt[:, :-1]
    return label_smoothing_loss(model(src, decoder_input), tgt, smoothing=smoothing, ignore_index=pad_id)
''')

lesson.alternative("transformer_lr", "warm-up and decay as two branches", '''
def transformer_lr(step, d_model, warmup_steps=4000):
    if step < warmup_steps:
        return float(step / (warmup_steps * math.sqrt(warmup_steps * d_model)))
    return 1.0 / math.sqrt(step * d_model)
''')
lesson.alternative("transformer_lr", "math.pow", '''
def transformer_lr(step, d_model, warmup_steps=4000):
    return math.pow(d_model, -0.5) * min(math.pow(step, -0.5), step * math.pow(warmup_steps, -1.5))
''')

lesson.alternative("greedy_decode", "an output tensor filled in place, rows finished tracked as a list", '''
@torch.no_grad()
def greedy_decode(model, src, bos_id, eos_id, max_len):
    B = src.shape[0]
    src_mask = model.source_mask(src)
    memory = model.encode(src, src_mask)
    tokens = torch.full((B, max_len + 1), model.pad_id, dtype=torch.long)
    tokens[:, 0] = bos_id
    finished = [False] * B
    for t in range(1, max_len + 1):
        logits = model.decode(tokens[:, :t], memory, src_mask)
        choice = logits[:, t - 1].argmax(-1)
        for b in range(B):
            if not finished[b]:
                tokens[b, t] = choice[b]
                finished[b] = int(choice[b]) == eos_id
        if all(finished):
            return tokens[:, 1:t + 1]
    return tokens[:, 1:]
''')
lesson.alternative("greedy_decode", "one row at a time (the batch encoded once), padded at the end", '''
@torch.no_grad()
def greedy_decode(model, src, bos_id, eos_id, max_len):
    mask = model.source_mask(src)
    memory = model.encode(src, mask)
    rows = []
    for b in range(src.shape[0]):
        out = [bos_id]
        for _ in range(max_len):
            out.append(int(model.decode(torch.tensor([out]), memory[b:b + 1], mask[b:b + 1])[0, -1].argmax()))
            if out[-1] == eos_id:
                break
        rows.append(out[1:])
    L = max(map(len, rows))
    return torch.tensor([row + [model.pad_id] * (L - len(row)) for row in rows])
''')

lesson.alternative("beam_search", "plain Python lists of hypotheses, sorted", _beam())
lesson.alternative("beam_search", "top-k within each hypothesis, then over their union", '''
@torch.no_grad()
def beam_search(model, src, beam_size, bos_id, eos_id, max_len, alpha=0.6):
    src_mask = model.source_mask(src)
    memory = model.encode(src, src_mask)
    hyps = [([bos_id], 0.0)]
    done = []
    for step in range(1, max_len + 1):
        room = beam_size - len(done)
        batch = torch.tensor([tokens for tokens, _ in hyps])
        n = len(hyps)
        log_p = model.decode(batch, memory.expand(n, -1, -1), src_mask.expand(n, -1, -1))[:, -1].log_softmax(-1)
        pool = []
        for (tokens, score), row in zip(hyps, log_p):
            values, indices = row.topk(min(room, row.numel()))
            pool += [(score + float(v), tokens + [int(i)]) for v, i in zip(values, indices)]
        pool.sort(key=lambda item: -item[0])
        hyps = []
        for score, tokens in pool[:room]:
            if tokens[-1] == eos_id:
                done.append((score / ((5 + step) / 6) ** alpha, tokens[1:]))
            else:
                hyps.append((tokens, score))
        if not hyps:
            break
    else:
        done += [(score / ((5 + max_len) / 6) ** alpha, tokens[1:]) for tokens, score in hyps]
    score, tokens = max(done, key=lambda item: item[0])
    return torch.tensor(tokens, dtype=torch.long), score
''')
