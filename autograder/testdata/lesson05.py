"""Lesson 05 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson05 import lesson

lesson.mutant("softmax", "no max subtraction (overflows at 1e4)", "overflows", """
def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)
""")
lesson.mutant("softmax", "subtracts the max of the whole tensor", "each row's own max", """
def softmax(x, dim=-1):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=dim, keepdim=True)
""")
lesson.mutant("softmax", "ignores dim", "ignored `dim`", """
def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)
""")
lesson.mutant("softmax", "normalises over the whole tensor", "whole tensor", """
def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum()
""")
lesson.mutant("causal_mask", "excludes the diagonal", "attend to itself", """
def causal_mask(T):
    return torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
""")
lesson.mutant("causal_mask", "upper triangle (looks at the future)", "the future", """
def causal_mask(T):
    return torch.triu(torch.ones(T, T, dtype=torch.bool))
""")
lesson.mutant("causal_mask", "float instead of bool", "bool tensor", """
def causal_mask(T):
    return torch.tril(torch.ones(T, T))
""")
lesson.mutant("padding_mask", "off by one (<=)", "one key too many", """
def padding_mask(lengths, T):
    return (torch.arange(T) <= lengths[:, None])[:, None, :]
""")
lesson.mutant("padding_mask", "masks the queries instead of the keys", "masks the queries", """
def padding_mask(lengths, T):
    return (torch.arange(T) < lengths[:, None])[:, :, None]
""")
lesson.mutant("padding_mask", "no query axis", "missing the query axis", """
def padding_mask(lengths, T):
    return torch.arange(T) < lengths[:, None]
""")
lesson.mutant("attention", "no √d_k", "no √d_k", """
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
""")
lesson.mutant("attention", "divides by d_k instead of √d_k", "instead of √d_k", """
def attention(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / q.size(-1), dim=-1)
    return weights @ v, weights
""")
lesson.mutant("attention", "softmax over the wrong axis", "wrong axis", """
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-2)
    return weights @ v, weights
""")
lesson.mutant("attention", "k not transposed (square shapes)", "k was not transposed", """
def attention(q, k, v, mask=None):
    scores = q @ k / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
""")
lesson.mutant("attention", "returns the weights only", "should return a tuple", """
def attention(q, k, v, mask=None):
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
""")
lesson.mutant("masked_attention", "mask applied after softmax", "the mask must be applied before softmax", """
def attention(q, k, v, mask=None):
    weights = softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ v, weights
""")
lesson.mutant("masked_attention", "mask ignored", "the mask was ignored", """
def attention(q, k, v, mask=None):
    weights = softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
    return weights @ v, weights
""")
lesson.mutant("masked_attention", "mask inverted (True = blocked)", "the mask is inverted", """
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return weights @ v, weights
""")
lesson.mutant("masked_attention", "NaN for a query that may attend to nothing", "may attend to nothing", """
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
""")
lesson.mutant("masked_attention", "unstable softmax (no max subtraction)", "±1e4", """
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    e = torch.exp(scores)
    weights = e / e.sum(dim=-1, keepdim=True)
    if mask is not None:
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    return weights @ v, weights
""")
lesson.mutant("split_heads", "reshapes in the wrong dimension order", "wrong order", """
def split_heads(x, n_heads):
    B, T, d = x.shape
    return x.view(B, n_heads, T, d // n_heads)
""")
lesson.mutant("split_heads", "interleaves the features", "in turn", """
def split_heads(x, n_heads):
    B, T, d = x.shape
    return x.view(B, T, d // n_heads, n_heads).permute(0, 3, 1, 2)
""")
lesson.mutant("merge_heads", "reshapes without transposing back", "without moving the head axis back", """
def merge_heads(x):
    B, h, T, d_head = x.shape
    return x.reshape(B, T, h * d_head)
""")
_MHA_HEAD = '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, causal=False, mask=None):
        B, T, d = x.shape
        h = self.n_heads
        q, k, v = self.in_proj(x).split(d, dim=-1)
        if causal:
            mask = causal_mask(T) if mask is None else mask & causal_mask(T)
        if mask is not None:
            mask = mask.unsqueeze(-3)
'''
lesson.mutant("MultiHeadAttention", "heads split by reshaping the wrong dimension order", "wrong order", _MHA_HEAD + """
        q, k, v = (t.reshape(B, h, T, d // h) for t in (q, k, v))
        out, _ = attention(q, k, v, mask)
        return self.out_proj(out.transpose(1, 2).reshape(B, T, d))
""")
lesson.mutant("MultiHeadAttention", "no output projection", "without the output projection", _MHA_HEAD + """
        q, k, v = (split_heads(t, h) for t in (q, k, v))
        out, _ = attention(q, k, v, mask)
        return merge_heads(out)
""")
lesson.mutant("MultiHeadAttention", "k, q, v order from in_proj", "[q | k | v]", _MHA_HEAD + """
        q, k, v = (split_heads(t, h) for t in (k, q, v))
        out, _ = attention(q, k, v, mask)
        return self.out_proj(merge_heads(out))
""")
lesson.mutant("MultiHeadAttention", "causal flag ignored", "causal=True was ignored", """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, causal=False, mask=None):
        q, k, v = (split_heads(t, self.n_heads) for t in self.in_proj(x).split(x.size(-1), dim=-1))
        out, _ = attention(q, k, v, None if mask is None else mask.unsqueeze(-3))
        return self.out_proj(merge_heads(out))
""")
lesson.mutant("MultiHeadAttention", "padding mask not given an axis for the heads", "mask.unsqueeze(-3)", _MHA_HEAD.replace(
    "mask = mask.unsqueeze(-3)", "pass") + """
        q, k, v = (split_heads(t, h) for t in (q, k, v))
        out, _ = attention(q, k, v, mask)
        return self.out_proj(merge_heads(out))
""")


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("softmax", "exp(x - logsumexp(x))", """
def softmax(x, dim=-1):
    return torch.exp(x - torch.logsumexp(x, dim, keepdim=True))
""")
lesson.alternative("softmax", "max via torch.max(...).values, division by reciprocal", """
def softmax(x, dim=-1):
    shifted = x - torch.max(x, dim=dim, keepdim=True).values
    e = shifted.exp()
    return e * (1.0 / e.sum(dim, keepdim=True))
""")
lesson.alternative("softmax", "torch.softmax itself", """
def softmax(x, dim=-1):
    return torch.softmax(x, dim=dim)
""")
lesson.alternative("causal_mask", "comparison of index grids", """
def causal_mask(T):
    i = torch.arange(T)
    return i[None, :] <= i[:, None]
""")
lesson.alternative("causal_mask", "complement of the strict upper triangle", """
def causal_mask(T):
    return ~torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)
""")
lesson.alternative("padding_mask", "loop over the sequences", """
def padding_mask(lengths, T):
    rows = [[j < int(n) for j in range(T)] for n in lengths]
    return torch.tensor(rows, dtype=torch.bool).reshape(len(lengths), T).unsqueeze(1)
""")
lesson.alternative("padding_mask", "unsqueeze and broadcasting with expand", """
def padding_mask(lengths, T):
    positions = torch.arange(T).expand(len(lengths), T)
    return (positions < lengths.unsqueeze(1)).unsqueeze(1)
""")
_ATTENTION_BODY = '''
    if mask is not None:
        empty = ~mask.any(dim=-1, keepdim=True)
        weights = weights.masked_fill(empty, 0.0)
    return weights @ v, weights
'''
lesson.alternative("attention", "einsum and a -1e9 mask", """
def attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    weights = torch.softmax(scores, dim=-1)
""" + _ATTENTION_BODY)
lesson.alternative("attention", "scale after the product, torch.where mask, own softmax", """
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-1, -2) * q.size(-1) ** -0.5
    if mask is not None:
        scores = torch.where(mask, scores, torch.tensor(float("-inf")))
    weights = softmax(scores, dim=-1).nan_to_num(0.0)
    return weights @ v, weights
""")
lesson.alternative("masked_attention", "einsum and a -1e9 mask", """
def attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    weights = torch.softmax(scores, dim=-1)
""" + _ATTENTION_BODY)
lesson.alternative("masked_attention", "weights computed with a float mask added to the scores", """
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        bias = torch.zeros(mask.shape).masked_fill(~mask, float("-inf"))
        scores = scores + bias
        # a row that may attend to nothing is all -inf: give it finite scores, then zero its weights
        empty = ~mask.any(dim=-1, keepdim=True)
        scores = scores.masked_fill(empty, 0.0)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(empty, 0.0)
    return weights @ v, weights
""")
lesson.alternative("split_heads", "reshape then permute", """
def split_heads(x, n_heads):
    B, T, d = x.shape
    return x.reshape(B, T, n_heads, -1).permute(0, 2, 1, 3)
""")
lesson.alternative("split_heads", "stack of feature slices", """
def split_heads(x, n_heads):
    d_head = x.shape[-1] // n_heads
    return torch.stack([x[..., i * d_head:(i + 1) * d_head] for i in range(n_heads)], dim=1)
""")
lesson.alternative("merge_heads", "permute, contiguous, view", """
def merge_heads(x):
    B, h, T, d_head = x.shape
    return x.permute(0, 2, 1, 3).contiguous().view(B, T, h * d_head)
""")
lesson.alternative("merge_heads", "concatenate the heads", """
def merge_heads(x):
    return torch.cat(x.unbind(dim=1), dim=-1)
""")
lesson.alternative("MultiHeadAttention", "chunk and F.scaled_dot_product_attention", """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, causal=False, mask=None):
        B, T, d = x.shape
        q, k, v = (split_heads(t, self.n_heads) for t in self.in_proj(x).chunk(3, dim=-1))
        allowed = torch.ones(T, T, dtype=torch.bool).tril() if causal else None
        if mask is not None:
            allowed = mask if allowed is None else allowed & mask
        if allowed is not None:
            allowed = allowed.unsqueeze(-3)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        return self.out_proj(merge_heads(out))
""")
lesson.alternative("MultiHeadAttention", "one loop over the heads", """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, causal=False, mask=None):
        B, T, d = x.shape
        d_head = d // self.n_heads
        q, k, v = self.in_proj(x).split(d, dim=-1)
        allowed = torch.ones(B, T, T, dtype=torch.bool)
        if causal:
            allowed = allowed & causal_mask(T)
        if mask is not None:
            allowed = allowed & mask
        outs = []
        for h in range(self.n_heads):
            part = slice(h * d_head, (h + 1) * d_head)
            out, _ = attention(q[..., part], k[..., part], v[..., part], allowed)
            outs.append(out)
        return self.out_proj(torch.cat(outs, dim=-1))
""")
