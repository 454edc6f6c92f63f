"""Lesson 12 test data: known-wrong answers (mutants) that the checks must catch, each with its own
message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson12 import lesson

# ---------------------------------------------------------------- 1. KVCache

_KV_INIT = '''
class KVCache:
    def __init__(self, n_layer, max_tokens):
        self.max_tokens = max_tokens
        self.keys = [None] * n_layer
        self.values = [None] * n_layer

    def __len__(self):
        return 0 if self.keys[0] is None else self.keys[0].shape[2]
'''

lesson.mutant("KVCache", "new tokens put before the cached ones", "before the cached ones", _KV_INIT + '''
    def append(self, layer, k, v):
        if self.keys[layer] is not None:
            k = torch.cat((k, self.keys[layer]), dim=2)
            v = torch.cat((v, self.values[layer]), dim=2)
        if k.shape[2] > self.max_tokens:
            raise ValueError("too many tokens")
        self.keys[layer], self.values[layer] = k, v
        return k, v
''')
lesson.mutant("KVCache", "concatenates along the head axis", "head axis", _KV_INIT + '''
    def append(self, layer, k, v):
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=1)
            v = torch.cat((self.values[layer], v), dim=1)
        if k.shape[2] > self.max_tokens:
            raise ValueError("too many tokens")
        self.keys[layer], self.values[layer] = k, v
        return k, v
''')
lesson.mutant("KVCache", "returns only the new keys and values", "only the new tokens", _KV_INIT + '''
    def append(self, layer, k, v):
        new_k, new_v = k, v
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=2)
            v = torch.cat((self.values[layer], v), dim=2)
        if k.shape[2] > self.max_tokens:
            raise ValueError("too many tokens")
        self.keys[layer], self.values[layer] = k, v
        return new_k, new_v
''')
lesson.mutant("KVCache", "one store for every layer (layer ignored)", "Each layer needs its own", _KV_INIT + '''
    def append(self, layer, k, v):
        if self.keys[0] is not None:
            k = torch.cat((self.keys[0], k), dim=2)
            v = torch.cat((self.values[0], v), dim=2)
        if k.shape[2] > self.max_tokens:
            raise ValueError("too many tokens")
        self.keys[0], self.values[0] = k, v
        return k, v
''')
lesson.mutant("KVCache", "len counts the calls to append", "counts the calls to append", '''
class KVCache:
    def __init__(self, n_layer, max_tokens):
        self.max_tokens = max_tokens
        self.keys = [None] * n_layer
        self.values = [None] * n_layer
        self.calls = 0

    def __len__(self):
        return self.calls

    def append(self, layer, k, v):
        self.calls += 1
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=2)
            v = torch.cat((self.values[layer], v), dim=2)
        if k.shape[2] > self.max_tokens:
            raise ValueError("too many tokens")
        self.keys[layer], self.values[layer] = k, v
        return k, v
''')
lesson.mutant("KVCache", "len counts the tokens of every layer together", "every layer together", _KV_INIT.replace(
    "return 0 if self.keys[0] is None else self.keys[0].shape[2]",
    "return sum(k.shape[2] for k in self.keys if k is not None)") + '''
    def append(self, layer, k, v):
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=2)
            v = torch.cat((self.values[layer], v), dim=2)
        if k.shape[2] > self.max_tokens:
            raise ValueError("too many tokens")
        self.keys[layer], self.values[layer] = k, v
        return k, v
''')
lesson.mutant("KVCache", "no limit at max_tokens", "more than max_tokens", _KV_INIT + '''
    def append(self, layer, k, v):
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=2)
            v = torch.cat((self.values[layer], v), dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v
''')
lesson.mutant("KVCache", "stores the tokens before refusing them", "must store nothing", _KV_INIT + '''
    def append(self, layer, k, v):
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=2)
            v = torch.cat((self.values[layer], v), dim=2)
        self.keys[layer], self.values[layer] = k, v
        if k.shape[2] > self.max_tokens:
            raise ValueError("too many tokens")
        return k, v
''')
lesson.mutant("KVCache", "keys and values swapped on return", "swapped", _KV_INIT + '''
    def append(self, layer, k, v):
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=2)
            v = torch.cat((self.values[layer], v), dim=2)
        if k.shape[2] > self.max_tokens:
            raise ValueError("too many tokens")
        self.keys[layer], self.values[layer] = k, v
        return v, k
''')

lesson.alternative("KVCache", "preallocated buffers of max_tokens, written in place", '''
class KVCache:
    def __init__(self, n_layer, max_tokens):
        self.max_tokens = max_tokens
        self.keys = [None] * n_layer
        self.values = [None] * n_layer
        self.lengths = [0] * n_layer

    def __len__(self):
        return self.lengths[0]

    def append(self, layer, k, v):
        start, end = self.lengths[layer], self.lengths[layer] + k.shape[2]
        if end > self.max_tokens:
            raise ValueError(f"only {self.max_tokens} tokens fit")
        if self.keys[layer] is None:
            B, h, _, hs = k.shape
            self.keys[layer] = k.new_zeros(B, h, self.max_tokens, hs)
            self.values[layer] = v.new_zeros(B, h, self.max_tokens, hs)
        self.keys[layer][:, :, start:end] = k
        self.values[layer][:, :, start:end] = v
        self.lengths[layer] = end
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]
''')
lesson.alternative("KVCache", "a list of pieces per layer, concatenated when asked", '''
class KVCache:
    def __init__(self, n_layer, max_tokens):
        self.max_tokens = max_tokens
        self.keys = [None] * n_layer
        self.values = [None] * n_layer
        self.pieces = [[] for _ in range(n_layer)]

    def __len__(self):
        return sum(k.size(-2) for k, _ in self.pieces[0])

    def append(self, layer, k, v):
        held = sum(old.size(-2) for old, _ in self.pieces[layer])
        if held + k.size(-2) > self.max_tokens:
            raise ValueError("the cache is full")
        self.pieces[layer].append((k, v))
        self.keys[layer] = torch.cat([p[0] for p in self.pieces[layer]], dim=-2)
        self.values[layer] = torch.cat([p[1] for p in self.pieces[layer]], dim=-2)
        return self.keys[layer], self.values[layer]
''')
lesson.alternative("KVCache", "torch.cat of a tensor with zero tokens at the start", '''
class KVCache:
    def __init__(self, n_layer, max_tokens):
        self.max_tokens = max_tokens
        self.keys = [None] * n_layer
        self.values = [None] * n_layer

    def __len__(self):
        return self.keys[0].size(2) if self.keys[0] is not None else 0

    def append(self, layer, k, v):
        old_k = self.keys[layer] if self.keys[layer] is not None else k[:, :, :0]
        old_v = self.values[layer] if self.values[layer] is not None else v[:, :, :0]
        if old_k.size(2) + k.size(2) > self.max_tokens:
            raise ValueError("max_tokens exceeded")
        self.keys[layer] = torch.cat([old_k, k], 2)
        self.values[layer] = torch.cat([old_v, v], 2)
        return self.keys[layer], self.values[layer]
''')

# ---------------------------------------------------------------- 2. attend_to_cache

lesson.mutant("attend_to_cache", "is_causal=True (the triangle at the top left)", "top left", '''
def attend_to_cache(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)
''')
lesson.mutant("attend_to_cache", "no mask at all", "in its future", '''
def attend_to_cache(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)
''')
lesson.mutant("attend_to_cache", "a new query may not see its own key", "its own key", '''
def attend_to_cache(q, k, v):
    t_new, t_total = q.size(-2), k.size(-2)
    allowed = torch.ones(t_new, t_total, dtype=torch.bool).tril(diagonal=t_total - t_new - 1)
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))).masked_fill(~allowed, float("-inf"))
    return torch.nan_to_num(scores.softmax(dim=-1)) @ v
''')
lesson.mutant("attend_to_cache", "scores not scaled", "√head_size", '''
def attend_to_cache(q, k, v):
    t_new, t_total = q.size(-2), k.size(-2)
    allowed = torch.ones(t_new, t_total, dtype=torch.bool).tril(diagonal=t_total - t_new)
    scores = (q @ k.transpose(-2, -1)).masked_fill(~allowed, float("-inf"))
    return scores.softmax(dim=-1) @ v
''')

lesson.alternative("attend_to_cache", "written out: scores, -inf above the shifted diagonal, softmax", '''
def attend_to_cache(q, k, v):
    t_new, t_total = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    future = torch.ones(t_new, t_total, dtype=torch.bool).triu(diagonal=t_total - t_new + 1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ v
''')
lesson.alternative("attend_to_cache", "F.scaled_dot_product_attention with causal_lower_right", '''
def attend_to_cache(q, k, v):
    from torch.nn.attention.bias import causal_lower_right
    return F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(q.size(-2), k.size(-2)))
''')
lesson.alternative("attend_to_cache", "einsum, a -1e9 mask built from positions", '''
def attend_to_cache(q, k, v):
    t_new, t_total = q.shape[-2], k.shape[-2]
    query_pos = torch.arange(t_total - t_new, t_total)[:, None]
    key_pos = torch.arange(t_total)[None, :]
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) * q.shape[-1] ** -0.5
    scores = torch.where(key_pos <= query_pos, scores, torch.tensor(-1e9))
    return torch.einsum("bhqk,bhkd->bhqd", torch.softmax(scores, dim=-1), v)
''')
lesson.alternative("attend_to_cache", "a loop over the new queries, each with the keys up to its own", '''
def attend_to_cache(q, k, v):
    t_new, t_total = q.size(-2), k.size(-2)
    rows = []
    for i in range(t_new):
        seen = t_total - t_new + i + 1
        weights = torch.softmax(q[..., i:i + 1, :] @ k[..., :seen, :].transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
        rows.append(weights @ v[..., :seen, :])
    return torch.cat(rows, dim=-2)
''')

# ---------------------------------------------------------------- 3. cached_self_attention

_CSA = '''
def cached_self_attention(attn, x, cache, layer):
    B, T, C = x.shape
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, attn.n_head, C // attn.n_head).transpose(1, 2) for t in (q, k, v))
'''
lesson.mutant("cached_self_attention", "appends to the cache twice", "appended twice", _CSA + '''
    cache.append(layer, k, v)
    k, v = cache.append(layer, k, v)
    y = attend_to_cache(q, k, v).transpose(1, 2).contiguous().view(B, T, C)
    return attn.resid_dropout(attn.c_proj(y))
''')
lesson.mutant("cached_self_attention", "attends to the new keys only", "cached tokens are ignored", _CSA + '''
    cache.append(layer, k, v)
    y = attend_to_cache(q, k, v).transpose(1, 2).contiguous().view(B, T, C)
    return attn.resid_dropout(attn.c_proj(y))
''')
lesson.mutant("cached_self_attention", "keys and values swapped into the cache", "keys and values swapped", _CSA + '''
    k, v = cache.append(layer, v, k)
    y = attend_to_cache(q, k, v).transpose(1, 2).contiguous().view(B, T, C)
    return attn.resid_dropout(attn.c_proj(y))
''')
lesson.mutant("cached_self_attention", "no output projection", "without the output projection", _CSA + '''
    k, v = cache.append(layer, k, v)
    return attend_to_cache(q, k, v).transpose(1, 2).contiguous().view(B, T, C)
''')
lesson.mutant("cached_self_attention", "always layer 0 of the cache", "did not append to that layer", _CSA + '''
    k, v = cache.append(0, k, v)
    y = attend_to_cache(q, k, v).transpose(1, 2).contiguous().view(B, T, C)
    return attn.resid_dropout(attn.c_proj(y))
''')

lesson.alternative("cached_self_attention", "F.linear on c_attn's weight, einsum attention, permute", '''
def cached_self_attention(attn, x, cache, layer):
    B, T, C = x.shape
    h = attn.n_head
    qkv = F.linear(x, attn.c_attn.weight, attn.c_attn.bias).reshape(B, T, 3, h, C // h).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    keys, values = cache.append(layer, k, v)
    t_total = keys.shape[2]
    scores = torch.einsum("bhqd,bhkd->bhqk", q, keys) / math.sqrt(C // h)
    mask = torch.arange(t_total)[None, :] > torch.arange(t_total - T, t_total)[:, None]
    y = torch.einsum("bhqk,bhkd->bqhd", scores.masked_fill(mask, float("-inf")).softmax(-1), values)
    return attn.resid_dropout(attn.c_proj(y.reshape(B, T, C)))
''')
lesson.alternative("cached_self_attention", "heads split with unflatten, merged with flatten", '''
def cached_self_attention(attn, x, cache, layer):
    C = x.shape[-1]
    q, k, v = (t.unflatten(-1, (attn.n_head, -1)).transpose(1, 2) for t in attn.c_attn(x).chunk(3, dim=-1))
    k, v = cache.append(layer, k, v)
    y = attend_to_cache(q, k, v).transpose(1, 2).flatten(-2)
    return attn.resid_dropout(attn.c_proj(y))
''')
lesson.alternative("cached_self_attention", "F.scaled_dot_product_attention, no mask for a single new token", '''
def cached_self_attention(attn, x, cache, layer):
    B, T, C = x.shape
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, attn.n_head, C // attn.n_head).transpose(1, 2) for t in (q, k, v))
    k, v = cache.append(layer, k, v)
    if T == 1:
        y = F.scaled_dot_product_attention(q, k, v)
    else:
        y = attend_to_cache(q, k, v)
    return attn.resid_dropout(attn.c_proj(y.transpose(1, 2).reshape(B, T, C)))
''')

# ---------------------------------------------------------------- 4. forward_with_cache

lesson.mutant("forward_with_cache", "positions restart at 0 for cached steps", "positions restart at 0", '''
def forward_with_cache(model, idx, cache):
    pos = torch.arange(idx.shape[1])
    x = model.transformer.drop(model.transformer.wte(idx) + model.transformer.wpe(pos))
    for i, block in enumerate(model.transformer.h):
        x = x + cached_self_attention(block.attn, block.ln_1(x), cache, i)
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.transformer.ln_f(x)), cache
''')
lesson.mutant("forward_with_cache", "every block uses layer 0 of the cache", "Block i must use layer i", '''
def forward_with_cache(model, idx, cache):
    past = len(cache)
    pos = torch.arange(past, past + idx.shape[1])
    x = model.transformer.drop(model.transformer.wte(idx) + model.transformer.wpe(pos))
    for block in model.transformer.h:
        x = x + cached_self_attention(block.attn, block.ln_1(x), cache, 0)
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.transformer.ln_f(x)), cache
''')
lesson.mutant("forward_with_cache", "no final LayerNorm", "ln_f", '''
def forward_with_cache(model, idx, cache):
    past = len(cache)
    pos = torch.arange(past, past + idx.shape[1])
    x = model.transformer.drop(model.transformer.wte(idx) + model.transformer.wpe(pos))
    for i, block in enumerate(model.transformer.h):
        x = x + cached_self_attention(block.attn, block.ln_1(x), cache, i)
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(x), cache
''')
lesson.mutant("forward_with_cache", "logits of the last new token only", "One row of logits per new token", '''
def forward_with_cache(model, idx, cache):
    past = len(cache)
    pos = torch.arange(past, past + idx.shape[1])
    x = model.transformer.drop(model.transformer.wte(idx) + model.transformer.wpe(pos))
    for i, block in enumerate(model.transformer.h):
        x = x + cached_self_attention(block.attn, block.ln_1(x), cache, i)
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.transformer.ln_f(x[:, -1:, :])), cache
''')
lesson.mutant("forward_with_cache", "returns a new cache", "another cache", '''
def forward_with_cache(model, idx, cache):
    past = len(cache)
    pos = torch.arange(past, past + idx.shape[1])
    x = model.transformer.drop(model.transformer.wte(idx) + model.transformer.wpe(pos))
    for i, block in enumerate(model.transformer.h):
        x = x + cached_self_attention(block.attn, block.ln_1(x), cache, i)
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.transformer.ln_f(x)), KVCache(model.config.n_layer, model.config.block_size)
''')

lesson.alternative("forward_with_cache", "one new token at a time, in a loop", '''
def forward_with_cache(model, idx, cache):
    rows = []
    for t in range(idx.shape[1]):
        position = torch.tensor([len(cache)])
        x = model.transformer.wte(idx[:, t:t + 1]) + model.transformer.wpe(position)
        x = model.transformer.drop(x)
        for layer in range(len(model.transformer.h)):
            block = model.transformer.h[layer]
            x = x + cached_self_attention(block.attn, block.ln_1(x), cache, layer)
            x = x + block.mlp(block.ln_2(x))
        rows.append(model.lm_head(model.transformer.ln_f(x)))
    return torch.cat(rows, dim=1), cache
''')
lesson.alternative("forward_with_cache", "position embeddings looked up by index, blocks by zip", '''
def forward_with_cache(model, idx, cache):
    B, T = idx.shape
    start = len(cache)
    wpe = model.transformer.wpe.weight[start:start + T]
    x = model.transformer.drop(model.transformer.wte(idx) + wpe[None])
    for layer, block in zip(range(model.config.n_layer), model.transformer.h):
        attended = cached_self_attention(block.attn, block.ln_1(x), cache, layer)
        x = x + attended
        x = x + block.mlp(block.ln_2(x))
    logits = model.lm_head(model.transformer.ln_f(x))
    return logits, cache
''')

# ---------------------------------------------------------------- 5. generate_cached

_GEN_HEAD = '''
@torch.no_grad()
def generate_cached(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    block_size = model.config.block_size
'''
lesson.mutant("generate_cached", "the cache is not restarted at block_size", "block_size", _GEN_HEAD + '''
    cache = KVCache(model.config.n_layer, block_size)
    new = idx[:, -block_size:]
    for _ in range(max_new_tokens):
        logits, cache = forward_with_cache(model, new, cache)
        logits = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        new = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, new), dim=1)
    return idx
''')
lesson.mutant("generate_cached", "a sliding window: the oldest token dropped from a full cache", "sliding", _GEN_HEAD + '''
    cache = KVCache(model.config.n_layer, block_size)
    new = idx[:, -block_size:]
    for _ in range(max_new_tokens):
        if len(cache) == block_size:
            for i in range(model.config.n_layer):
                cache.keys[i], cache.values[i] = cache.keys[i][:, :, 1:], cache.values[i][:, :, 1:]
        logits, cache = forward_with_cache(model, new, cache)
        logits = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        new = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, new), dim=1)
    return idx
''')
lesson.mutant("generate_cached", "the first token after the prefill from the first position", "last position", _GEN_HEAD + '''
    cache, new = None, idx
    for _ in range(max_new_tokens):
        if cache is None or len(cache) == block_size:
            cache = KVCache(model.config.n_layer, block_size)
            new = idx[:, -block_size:]
        logits, cache = forward_with_cache(model, new, cache)
        logits = filter_logits(logits[:, 0, :] / temperature, top_k, top_p)
        new = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, new), dim=1)
    return idx
''')
lesson.mutant("generate_cached", "argmax for greedy decoding (the random generator is not used)", "torch.multinomial",
              _GEN_HEAD + '''
    cache, new = None, idx
    for _ in range(max_new_tokens):
        if cache is None or len(cache) == block_size:
            cache = KVCache(model.config.n_layer, block_size)
            new = idx[:, -block_size:]
        logits, cache = forward_with_cache(model, new, cache)
        logits = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        if top_k == 1:
            new = logits.argmax(dim=-1, keepdim=True)
        else:
            new = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, new), dim=1)
    return idx
''')
lesson.mutant("generate_cached", "the whole context recomputed at every step", "recomputed", _GEN_HEAD + '''
    for _ in range(max_new_tokens):
        cache = KVCache(model.config.n_layer, block_size)
        logits, cache = forward_with_cache(model, idx[:, -block_size:], cache)
        logits = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        new = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, new), dim=1)
    return idx
''')

lesson.alternative("generate_cached", "prefill one token at a time, preallocated output", _GEN_HEAD + '''
    B, T = idx.shape
    out = torch.empty(B, T + max_new_tokens, dtype=idx.dtype)
    out[:, :T] = idx
    length = T

    def refill():
        cache = KVCache(model.config.n_layer, block_size)
        start = max(0, length - block_size)
        for t in range(start, length):
            logits, cache = forward_with_cache(model, out[:, t:t + 1], cache)
        return logits, cache

    logits, cache = refill()
    for step in range(max_new_tokens):
        scaled = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        out[:, length] = torch.multinomial(torch.softmax(scaled, dim=-1), 1)[:, 0]
        length += 1
        if step == max_new_tokens - 1:
            break
        if len(cache) == block_size:
            logits, cache = refill()
        else:
            logits, cache = forward_with_cache(model, out[:, length - 1:length], cache)
    return out
''')
lesson.alternative("generate_cached", "prefill before the loop, the window decided by the text's length", _GEN_HEAD + '''
    cache = KVCache(model.config.n_layer, block_size)
    logits, _ = forward_with_cache(model, idx[:, -block_size:], cache)
    for _ in range(max_new_tokens):
        probs = F.softmax(filter_logits(logits[:, -1] / temperature, top_k=top_k, top_p=top_p), dim=-1)
        idx = torch.cat([idx, torch.multinomial(probs, num_samples=1)], dim=1)
        if idx.shape[1] > block_size:
            cache = KVCache(model.config.n_layer, block_size)
            logits, _ = forward_with_cache(model, idx[:, -block_size:], cache)
        else:
            logits, _ = forward_with_cache(model, idx[:, -1:], cache)
    return idx
''')

# ---------------------------------------------------------------- 6. kv_cache_bytes

lesson.mutant("kv_cache_bytes", "keys only (no factor 2)", "keys alone", '''
def kv_cache_bytes(n_layer, n_kv_head, head_size, n_tokens, bytes_per_value, batch_size=1):
    return n_layer * n_kv_head * head_size * n_tokens * bytes_per_value * batch_size
''')
lesson.mutant("kv_cache_bytes", "bits instead of bytes", "in bits", '''
def kv_cache_bytes(n_layer, n_kv_head, head_size, n_tokens, bytes_per_value, batch_size=1):
    return 2 * n_layer * n_kv_head * head_size * n_tokens * bytes_per_value * batch_size * 8
''')
lesson.mutant("kv_cache_bytes", "batch_size ignored", "every sequence of the batch", '''
def kv_cache_bytes(n_layer, n_kv_head, head_size, n_tokens, bytes_per_value, batch_size=1):
    return 2 * n_layer * n_kv_head * head_size * n_tokens * bytes_per_value
''')

lesson.alternative("kv_cache_bytes", "math.prod", '''
def kv_cache_bytes(n_layer, n_kv_head, head_size, n_tokens, bytes_per_value, batch_size=1):
    return math.prod([2, n_layer, n_kv_head, head_size, n_tokens, bytes_per_value, batch_size])
''')
lesson.alternative("kv_cache_bytes", "the bytes of meta tensors of the cache's shapes", '''
def kv_cache_bytes(n_layer, n_kv_head, head_size, n_tokens, bytes_per_value, batch_size=1):
    one = torch.empty(batch_size, n_kv_head, n_tokens, head_size, device="meta")
    return 2 * n_layer * one.numel() * bytes_per_value
''')
lesson.alternative("kv_cache_bytes", "per token first, in floating point, then rounded", '''
def kv_cache_bytes(n_layer, n_kv_head, head_size, n_tokens, bytes_per_value, batch_size=1):
    per_token = 2.0 * n_layer * n_kv_head * head_size * bytes_per_value
    return int(round(per_token * n_tokens * batch_size))
''')

# ---------------------------------------------------------------- 7. repeat_kv

lesson.mutant("repeat_kv", "the heads tiled (Tensor.repeat)", "consecutive query heads", '''
def repeat_kv(x, n_rep):
    return x.repeat(1, n_rep, 1, 1)
''')
lesson.mutant("repeat_kv", "the tokens repeated instead of the heads", "head axis", '''
def repeat_kv(x, n_rep):
    return x.repeat_interleave(n_rep, dim=2)
''')

lesson.alternative("repeat_kv", "expand and reshape (the Llama code's way)", '''
def repeat_kv(x, n_rep):
    B, h, T, hs = x.shape
    return x[:, :, None, :, :].expand(B, h, n_rep, T, hs).reshape(B, h * n_rep, T, hs)
''')
lesson.alternative("repeat_kv", "index_select with head // n_rep", '''
def repeat_kv(x, n_rep):
    heads = torch.arange(x.shape[1] * n_rep) // n_rep
    return x.index_select(1, heads)
''')
lesson.alternative("repeat_kv", "a loop of torch.cat", '''
def repeat_kv(x, n_rep):
    return torch.cat([x[:, j:j + 1] for j in range(x.shape[1]) for _ in range(n_rep)], dim=1)
''')

# ---------------------------------------------------------------- 8. grouped_query_attention

lesson.mutant("grouped_query_attention", "key-value heads tiled (query head h uses h % n_kv_head)", "groups are consecutive", '''
def grouped_query_attention(q, k, v):
    n_rep = q.size(1) // k.size(1)
    return attend_to_cache(q, k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1))
''')
lesson.mutant("grouped_query_attention", "is_causal=True (the triangle at the top left)", "top left", '''
def grouped_query_attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
''')
lesson.mutant("grouped_query_attention", "no mask", "in its future", '''
def grouped_query_attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
''')

lesson.alternative("grouped_query_attention", "F.scaled_dot_product_attention with enable_gqa=True and a mask", '''
def grouped_query_attention(q, k, v):
    t_new, t_total = q.size(2), k.size(2)
    mask = torch.ones(t_new, t_total, dtype=torch.bool).tril(t_total - t_new)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
''')
lesson.alternative("grouped_query_attention", "queries grouped by reshaping, no copy of the keys", '''
def grouped_query_attention(q, k, v):
    B, h, t_new, hs = q.shape
    h_kv, t_total = k.shape[1], k.shape[2]
    grouped = q.reshape(B, h_kv, h // h_kv, t_new, hs)
    scores = grouped @ k[:, :, None].transpose(-2, -1) / math.sqrt(hs)
    future = torch.arange(t_total) > torch.arange(t_total - t_new, t_total)[:, None]
    weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    return (weights @ v[:, :, None]).reshape(B, h, t_new, hs)
''')
lesson.alternative("grouped_query_attention", "a loop over query heads", '''
def grouped_query_attention(q, k, v):
    n_rep = q.shape[1] // k.shape[1]
    heads = [attend_to_cache(q[:, i:i + 1], k[:, i // n_rep:i // n_rep + 1], v[:, i // n_rep:i // n_rep + 1])
             for i in range(q.shape[1])]
    return torch.cat(heads, dim=1)
''')
