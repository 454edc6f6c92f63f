"""Lesson 06 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson06 import lesson

def _wrap(fn: str, args: str, body: str) -> str:
    """A mutant that runs the solution's function and then breaks one of its steps."""
    return f"_good_{fn} = {fn}\ndef {fn}({args}):\n" + "\n".join("    " + ln for ln in body.strip().splitlines())

lesson.mutant("embed", "one-hot transposed", "transposed", _wrap("embed", "ids, E, P", """
one_hot, tok, X = _good_embed(ids, E, P)
return [list(c) for c in zip(*one_hot)], tok, X
"""))
lesson.mutant("embed", "positions forgotten", "positional rows were not added", _wrap("embed", "ids, E, P", """
one_hot, tok, X = _good_embed(ids, E, P)
return one_hot, tok, tok
"""))
lesson.mutant("embed", "lookup by position", "look tokens up by id", _wrap("embed", "ids, E, P", """
one_hot, tok, X = _good_embed(ids, E, P)
tok = [list(E[t]) for t in range(len(ids))]
return one_hot, tok, [[a + b for a, b in zip(r, q)] for r, q in zip(tok, P)]
"""))
lesson.mutant("qkv", "W times X", "wrong order", _wrap("qkv", "X, W_q, W_k, W_v", """
Q, K, V = _good_qkv(X, W_q, W_k, W_v)
Q = [[sum(a * b for a, b in zip(r, c)) for c in zip(*X)] for r in W_q]
return Q, K, V
"""))
lesson.mutant("qkv", "rows of W used as columns", "rows of W_k", _wrap("qkv", "X, W_q, W_k, W_v", """
Q, K, V = _good_qkv(X, W_q, W_k, W_v)
K = [[sum(a * b for a, b in zip(r, c)) for c in W_k] for r in X]
return Q, K, V
"""))
lesson.mutant("attention_scores", "K not transposed", "K not transposed", _wrap("attention_scores", "Q, K", """
scores = [[sum(a * b for a, b in zip(r, c)) for c in zip(*K)] for r in Q]
return scores, [[s / 2 for s in row] for row in scores]
"""))
lesson.mutant("attention_scores", "scores transposed", "the transpose", _wrap("attention_scores", "Q, K", """
scores, scaled = _good_attention_scores(Q, K)
scores = [list(c) for c in zip(*scores)]
return scores, [[s / 2 for s in row] for row in scores]
"""))
lesson.mutant("attention_scores", "no scaling", "did not scale", _wrap("attention_scores", "Q, K", """
scores, scaled = _good_attention_scores(Q, K)
return scores, scores
"""))
lesson.mutant("attention_scores", "divided by d_k", "instead of √d_k", _wrap("attention_scores", "Q, K", """
scores, scaled = _good_attention_scores(Q, K)
return scores, [[s / 4 for s in row] for row in scores]
"""))
lesson.mutant("mask_and_softmax", "mask applied after softmax", "after softmax", _wrap("mask_and_softmax", "scaled", """
masked, hard, weights = _good_mask_and_softmax(scaled)
import math
rows = []
for i, row in enumerate(scaled):
    e = [math.exp(x - max(row)) for x in row]
    rows.append([round(v / sum(e), 2) if j <= i else 0.0 for j, v in enumerate(e)])
return masked, hard, rows
"""))
lesson.mutant("mask_and_softmax", "mask on the wrong triangle", "wrong triangle", _wrap("mask_and_softmax", "scaled", """
masked, hard, weights = _good_mask_and_softmax(scaled)
return [[float('-inf') if j < i else x for j, x in enumerate(r)] for i, r in enumerate(scaled)], hard, weights
"""))
lesson.mutant("mask_and_softmax", "mask with zeros", "Use float('-inf')", _wrap("mask_and_softmax", "scaled", """
masked, hard, weights = _good_mask_and_softmax(scaled)
return [[0 if j > i else x for j, x in enumerate(r)] for i, r in enumerate(scaled)], hard, weights
"""))
lesson.mutant("mask_and_softmax", "hardmax ties to the first", "ties share", _wrap("mask_and_softmax", "scaled", """
masked, hard, weights = _good_mask_and_softmax(scaled)
hard = [[1 if j == row.index(max(row)) else 0 for j in range(len(row))] for row in masked]
return masked, hard, weights
"""))
lesson.mutant("mask_and_softmax", "weights not rounded", "not rounded to 2 decimals", _wrap("mask_and_softmax", "scaled", """
masked, hard, weights = _good_mask_and_softmax(scaled)
import math
rows = []
for row in masked:
    e = [math.exp(x - max(row)) for x in row]
    rows.append([v / sum(e) for v in e])
return masked, hard, rows
"""))
lesson.mutant("mask_and_softmax", "softmax over columns", "normalised the columns", _wrap("mask_and_softmax", "scaled", """
masked, hard, weights = _good_mask_and_softmax(scaled)
import math
cols = [list(c) for c in zip(*masked)]
out = []
for c in cols:
    e = [math.exp(x - max(c)) for x in c]
    out.append([round(v / sum(e), 2) for v in e])
return masked, hard, [list(r) for r in zip(*out)]
"""))
lesson.mutant("attention_output", "residual forgotten", "residual connection (adding X) was forgotten",
              _wrap("attention_output", "weights, V, W_o, X", """
attn_out, proj, resid1 = _good_attention_output(weights, V, W_o, X)
return attn_out, proj, proj
"""))
lesson.mutant("attention_output", "weights transposed", "weights transposed", _wrap("attention_output", "weights, V, W_o, X", """
wt = [list(c) for c in zip(*weights)]
return _good_attention_output(wt, V, W_o, X)
"""))
lesson.mutant("attention_output", "projection forgotten", "output projection W_o was forgotten",
              _wrap("attention_output", "weights, V, W_o, X", """
attn_out, proj, resid1 = _good_attention_output(weights, V, W_o, X)
return attn_out, attn_out, [[a + b for a, b in zip(r, q)] for r, q in zip(X, attn_out)]
"""))
lesson.mutant("layer_norm", "unbiased variance", "unbiased", _wrap("layer_norm", "resid1", """
mean, var, normed = _good_layer_norm(resid1)
n = len(resid1[0])
var = [v * n / (n - 1) for v in var]
return mean, var, [[round((x - m) / (v + 1e-5) ** 0.5, 2) for x in r] for r, m, v in zip(resid1, mean, var)]
"""))
lesson.mutant("layer_norm", "unbiased std only in normed", "unbiased standard deviation", _wrap("layer_norm", "resid1", """
mean, var, normed = _good_layer_norm(resid1)
return mean, var, [[round((x - m) / (v * 4 / 3) ** 0.5, 2) for x in r] for r, m, v in zip(resid1, mean, var)]
"""))
lesson.mutant("layer_norm", "mean over tokens", "averaged over the tokens", _wrap("layer_norm", "resid1", """
mean, var, normed = _good_layer_norm(resid1)
return [sum(c) / len(c) for c in zip(*resid1)], var, normed
"""))
lesson.mutant("layer_norm", "divides by the variance", "instead of the standard deviation", _wrap("layer_norm", "resid1", """
mean, var, normed = _good_layer_norm(resid1)
return mean, var, [[round((x - m) / (v + 1e-5), 2) for x in r] for r, m, v in zip(resid1, mean, var)]
"""))
lesson.mutant("feed_forward", "ReLU missing", "ReLU is missing", _wrap("feed_forward", "normed, W_1, b_1, W_2", """
pre = [[sum(a * b for a, b in zip(r, c)) + bias for c, bias in zip(zip(*W_1), b_1)] for r in normed]
out = [[sum(a * b for a, b in zip(r, c)) for c in zip(*W_2)] for r in pre]
return pre, out, [[a + b for a, b in zip(r, q)] for r, q in zip(normed, out)]
"""))
lesson.mutant("feed_forward", "bias forgotten", "bias b_1 was not added", _wrap("feed_forward", "normed, W_1, b_1, W_2", """
return _good_feed_forward(normed, W_1, [0] * len(b_1), W_2)
"""))
lesson.mutant("feed_forward", "second residual forgotten", "second residual connection was forgotten",
              _wrap("feed_forward", "normed, W_1, b_1, W_2", """
hidden, out, resid2 = _good_feed_forward(normed, W_1, b_1, W_2)
return hidden, out, out
"""))
lesson.mutant("hand_vs_machine", "no causal mask", "causal mask is missing", """
def machine_forward(p):
    t = lambda M: torch.tensor(M, dtype=torch.float32)
    x = t(p["E"])[torch.tensor(p["ids"])] + t(p["P"])
    q, k, v = x @ t(p["W_q"]), x @ t(p["W_k"]), x @ t(p["W_v"])
    attn = torch.softmax(q @ k.T / 2, dim=-1) @ v
    h = nn.LayerNorm(4)(x + attn @ t(p["W_o"]))
    return (h + torch.relu(h @ t(p["W_1"]) + t(p["b_1"])) @ t(p["W_2"])).detach()
""")
lesson.mutant("hand_vs_machine", "weights copied untransposed", "copy W.T", """
_good_machine_forward = machine_forward
def machine_forward(p):
    q = dict(p)
    for k in ("W_q", "W_k", "W_v", "W_o", "W_1", "W_2"):
        q[k] = [list(c) for c in zip(*p[k])]
    return _good_machine_forward(q)
""")
lesson.mutant("hand_vs_machine", "rounds like on paper", "rounded like on paper", """
def machine_forward(p):
    t = lambda M: torch.tensor(M, dtype=torch.float32)
    x = t(p["E"])[torch.tensor(p["ids"])] + t(p["P"])
    q, k, v = x @ t(p["W_q"]), x @ t(p["W_k"]), x @ t(p["W_v"])
    future = torch.ones(4, 4, dtype=torch.bool).triu(1)
    w = torch.softmax((q @ k.T / 2).masked_fill(future, float("-inf")), dim=-1).round(decimals=2)
    r = x + w @ v @ t(p["W_o"])
    h = ((r - r.mean(-1, keepdim=True)) / (r.var(-1, keepdim=True, correction=0) + 1e-5).sqrt()).round(decimals=2)
    return h + torch.relu(h @ t(p["W_1"]) + t(p["b_1"])) @ t(p["W_2"])
""")
lesson.mutant("hand_vs_machine", "returns a list", "should return a torch.Tensor", """
def machine_forward(p):
    return [[0.0] * 4 for _ in range(4)]
""")


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("embed", "direct row lookup, with Fractions", """
def embed(ids, E, P):
    one_hot = [[Fraction(int(j == i)) for j in range(len(E))] for i in ids]
    tok = [[Fraction(e) for e in E[i]] for i in ids]
    return one_hot, tok, [[a + b for a, b in zip(r, q)] for r, q in zip(tok, P)]
""")
lesson.alternative("embed", "torch tensors: F.one_hot, nn.Embedding", """
def embed(ids, E, P):
    ids_t = torch.tensor(ids)
    one_hot = F.one_hot(ids_t, len(E))
    tok = nn.Embedding.from_pretrained(torch.tensor(E, dtype=torch.float32))(ids_t)
    return one_hot, tok, tok + torch.tensor(P)
""")
lesson.alternative("embed", "numpy", """
def embed(ids, E, P):
    import numpy as np
    one_hot = np.eye(len(E), dtype=int)[ids]
    tok = one_hot @ np.array(E)
    return one_hot, tok, tok + np.array(P)
""")
lesson.alternative("qkv", "torch integer matmul", """
def qkv(X, W_q, W_k, W_v):
    x = torch.tensor(X)
    return tuple(x @ torch.tensor(W) for W in (W_q, W_k, W_v))
""")
lesson.alternative("qkv", "index loops", """
def qkv(X, W_q, W_k, W_v):
    def times(A, B):
        out = [[0] * len(B[0]) for _ in A]
        for i in range(len(A)):
            for j in range(len(B[0])):
                for k in range(len(B)):
                    out[i][j] += A[i][k] * B[k][j]
        return out
    return times(X, W_q), times(X, W_k), times(X, W_v)
""")
lesson.alternative("attention_scores", "floats for the halves", """
def attention_scores(Q, K):
    scores = [[sum(a * b for a, b in zip(q, k)) for k in K] for q in Q]
    return scores, [[s / 2 for s in row] for row in scores]
""")
lesson.alternative("attention_scores", "torch, scaled written as strings", """
def attention_scores(Q, K):
    scores = torch.tensor(Q) @ torch.tensor(K).T
    return scores, [[str(Fraction(int(s), 2)) for s in row] for row in scores]
""")
lesson.alternative("mask_and_softmax", "on paper: EXP_TABLE lookups, 4 decimals, strings for -inf and thirds", """
def mask_and_softmax(scaled):
    masked = [["-inf" if j > i else s for j, s in enumerate(row)] for i, row in enumerate(scaled)]
    hard, weights = [], []
    for i, row in enumerate(scaled):
        seen = row[:i + 1]
        top = max(seen)
        n = seen.count(top)
        hard.append([f"1/{n}" if j <= i and s == top else 0 for j, s in enumerate(row)])
        e = [EXP_TABLE[float(s - top)] if j <= i else 0.0 for j, s in enumerate(row)]
        total = round(sum(e), 4)
        weights.append([round(round(v / total, 4), 2) for v in e])
    return masked, hard, weights
""")
lesson.alternative("mask_and_softmax", "torch: masked_fill, low-temperature softmax, round", """
def mask_and_softmax(scaled):
    s = torch.tensor(scaled, dtype=torch.float64)
    masked = s.masked_fill(torch.ones_like(s, dtype=torch.bool).triu(1), float("-inf"))
    top = masked.amax(-1, keepdim=True)
    hard = (masked == top).double() / (masked == top).sum(-1, keepdim=True)
    return masked, hard, torch.softmax(masked, -1).round(decimals=2)
""")
lesson.alternative("attention_output", "exact fractions", """
def attention_output(weights, V, W_o, X):
    w = [[Fraction(str(x)) for x in row] for row in weights]
    attn_out = [[sum(w[i][j] * V[j][c] for j in range(len(V))) for c in range(len(V[0]))] for i in range(len(w))]
    proj = [[sum(a * W_o[k][c] for k, a in enumerate(row)) for c in range(len(W_o[0]))] for row in attn_out]
    return attn_out, proj, [[x + y for x, y in zip(r, q)] for r, q in zip(X, proj)]
""")
lesson.alternative("attention_output", "torch float32", """
def attention_output(weights, V, W_o, X):
    t = lambda M: torch.tensor(M, dtype=torch.float32)
    attn_out = t(weights) @ t(V)
    proj = attn_out @ t(W_o)
    return attn_out, proj, t(X) + proj
""")
lesson.alternative("layer_norm", "statistics module, exact mean and variance", """
def layer_norm(resid1):
    import statistics
    rows = [[Fraction(str(x)) for x in row] for row in resid1]
    mean = [statistics.mean(row) for row in rows]
    var = [statistics.pvariance(row) for row in rows]
    normed = [[round(float(x - m) / math.sqrt(float(v) + 1e-5), 2) for x in row] for row, m, v in zip(rows, mean, var)]
    return mean, var, normed
""")
lesson.alternative("layer_norm", "torch: nn.LayerNorm without gain and bias, then round", """
def layer_norm(resid1):
    r = torch.tensor(resid1, dtype=torch.float64)
    normed = nn.LayerNorm(4, elementwise_affine=False, dtype=torch.float64)(r)
    return r.mean(-1), r.var(-1, correction=0), normed.round(decimals=2)
""")
lesson.alternative("feed_forward", "numpy", """
def feed_forward(normed, W_1, b_1, W_2):
    import numpy as np
    hidden = np.maximum(np.array(normed) @ np.array(W_1) + np.array(b_1), 0)
    out = hidden @ np.array(W_2)
    return hidden, out, np.array(normed) + out
""")
lesson.alternative("feed_forward", "exact fractions, ReLU as a comparison", """
def feed_forward(normed, W_1, b_1, W_2):
    n = [[Fraction(str(x)) for x in row] for row in normed]
    pre = [[sum(a * w for a, w in zip(row, col)) + b for col, b in zip(zip(*W_1), b_1)] for row in n]
    hidden = [[x if x > 0 else 0 for x in row] for row in pre]
    out = [[sum(h * w for h, w in zip(row, col)) for col in zip(*W_2)] for row in hidden]
    return hidden, out, [[a + b for a, b in zip(r, o)] for r, o in zip(n, out)]
""")
lesson.alternative("hand_vs_machine", "functional torch in float64, own attention with a -1e9 mask", """
def machine_forward(p):
    t = lambda M: torch.tensor(M, dtype=torch.float64)
    x = F.embedding(torch.tensor(p["ids"]), t(p["E"])) + t(p["P"])
    q, k, v = x @ t(p["W_q"]), x @ t(p["W_k"]), x @ t(p["W_v"])
    scores = (q @ k.T / math.sqrt(k.shape[-1])).masked_fill(torch.ones(4, 4, dtype=torch.bool).triu(1), -1e9)
    h = F.layer_norm(x + torch.softmax(scores, -1) @ v @ t(p["W_o"]), (4,))
    return h + F.relu(h @ t(p["W_1"]) + t(p["b_1"])) @ t(p["W_2"])
""")
lesson.alternative("hand_vs_machine", "einsum, nn.LayerNorm, gradients left on", """
def machine_forward(p):
    t = lambda M: torch.tensor(M, dtype=torch.float32)
    x = t(p["E"])[torch.tensor(p["ids"])] + t(p["P"])
    q, k, v = (torch.einsum("td,de->te", x, t(p[w])) for w in ("W_q", "W_k", "W_v"))
    a = F.scaled_dot_product_attention(q[None, None], k[None, None], v[None, None], is_causal=True)[0, 0]
    h = nn.LayerNorm(4)(x + torch.einsum("te,ed->td", a, t(p["W_o"])))
    hidden = torch.clamp(torch.einsum("td,df->tf", h, t(p["W_1"])) + t(p["b_1"]), min=0)
    return h + torch.einsum("tf,fd->td", hidden, t(p["W_2"]))
""")
