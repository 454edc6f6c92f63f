"""Lesson 07 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson07 import lesson

lesson.mutant("linear", "weight not transposed", "was not transposed", """
def linear(x, weight, bias):
    return x @ weight + bias
""")
lesson.mutant("linear", "no bias", "the bias is missing", """
def linear(x, weight, bias):
    return x @ weight.T
""")
lesson.mutant("gelu_exact", "erf(x) without the 1/sqrt(2)", "x / sqrt(2)", """
def gelu_exact(x):
    return 0.5 * x * (1 + torch.erf(x))
""")
lesson.mutant("gelu_exact", "tanh approximation instead of erf", "not the exact form", """
def gelu_exact(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
""")
lesson.mutant("gelu_tanh", "missing the 0.044715 x^3 term", "cubic term is missing", """
def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * x))
""")
lesson.mutant("gelu_tanh", "exact GELU instead of the approximation", "not the tanh approximation", """
def gelu_tanh(x):
    return F.gelu(x)
""")
lesson.mutant("FeedForward", "GELU replaced by ReLU", "replaced by ReLU", """
class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff=None, dropout=0.0):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.linear1, self.linear2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)
    def forward(self, x):
        return self.dropout(self.linear2(torch.relu(self.linear1(x))))
""")
lesson.mutant("FeedForward", "FFN without the 4x expansion", "no 4x expansion", """
class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff=None, dropout=0.0):
        super().__init__()
        d_ff = d_ff or d_model
        self.linear1, self.linear2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)
    def forward(self, x):
        return self.dropout(self.linear2(F.gelu(self.linear1(x))))
""")
lesson.mutant("FeedForward", "no activation", "single linear map", """
class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff=None, dropout=0.0):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.linear1, self.linear2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)
    def forward(self, x):
        return self.dropout(self.linear2(self.linear1(x)))
""")
_LN_TEMPLATE = """
class LayerNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        {body}
"""
lesson.mutant("LayerNorm", "eps outside the sqrt", "inside the square root", _LN_TEMPLATE.format(
    body="return self.weight * (x - mean) / (x.std(-1, keepdim=True, correction=0) + self.eps) + self.bias"))
lesson.mutant("LayerNorm", "unbiased variance", "LayerNorm uses the biased variance", _LN_TEMPLATE.format(
    body="return self.weight * (x - mean) / torch.sqrt(x.var(-1, keepdim=True) + self.eps) + self.bias"))
lesson.mutant("LayerNorm", "gain and bias not applied", "gain and bias are not applied", _LN_TEMPLATE.format(
    body="return (x - mean) / torch.sqrt(x.var(-1, keepdim=True, correction=0) + self.eps)"))
lesson.mutant("LayerNorm", "gain and bias are plain tensors", "should be an nn.Parameter", """
class LayerNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps, self.weight, self.bias = eps, torch.ones(d), torch.zeros(d)
    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        return self.weight * (x - mean) / torch.sqrt(x.var(-1, keepdim=True, correction=0) + self.eps) + self.bias
""")
lesson.mutant("LayerNorm", "eps argument ignored", "eps argument was ignored", _LN_TEMPLATE.format(
    body="return self.weight * (x - mean) / torch.sqrt(x.var(-1, keepdim=True, correction=0) + 1e-5) + self.bias"))
lesson.mutant("RMSNorm", "subtracts the mean", "RMSNorm does not subtract the mean", """
class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d))
    def forward(self, x):
        x = x - x.mean(-1, keepdim=True)
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
""")
lesson.mutant("RMSNorm", "eps outside the sqrt", "eps is outside the square root", """
class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d))
    def forward(self, x):
        return self.weight * x / (x.pow(2).mean(-1, keepdim=True).sqrt() + self.eps)
""")
_BLOCK_TEMPLATE = """
class Block(nn.Module):
    def __init__(self, d_model, n_heads, d_ff=None, dropout=0.0, norm_first=True):
        super().__init__()
        self.norm_first = norm_first
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.norm1, self.norm2 = LayerNorm(d_model), LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)
    def forward(self, x):
        if self.norm_first:
            {pre}
        else:
            {post}
        return x
"""
_PRE = "x = x + self.dropout(self.attn(self.norm1(x))); x = x + self.ffn(self.norm2(x))"
_POST = "x = self.norm1(x + self.dropout(self.attn(x))); x = self.norm2(x + self.ffn(x))"
lesson.mutant("Block", "residual added after the norm in pre-norm", "normalises only the sublayer's input",
              _BLOCK_TEMPLATE.format(pre=_POST, post=_POST))
lesson.mutant("Block", "pre-norm residual taken from the normalised x", "residual is taken after the norm",
              _BLOCK_TEMPLATE.format(pre="x = self.norm1(x); x = x + self.dropout(self.attn(x)); x = self.norm2(x); "
                                         "x = x + self.ffn(x)", post=_POST))
lesson.mutant("Block", "post-norm computed as pre-norm", "normalises the sum",
              _BLOCK_TEMPLATE.format(pre=_PRE, post=_PRE))
lesson.mutant("Block", "no residual connections", "skip connection is missing", _BLOCK_TEMPLATE.format(
    pre="x = self.dropout(self.attn(self.norm1(x))); x = self.ffn(self.norm2(x))",
    post="x = self.norm1(self.dropout(self.attn(x))); x = self.norm2(self.ffn(x))"))
lesson.mutant("Block", "norm1 and norm2 swapped", "norm1 belongs to the attention", _BLOCK_TEMPLATE.format(
    pre="x = x + self.dropout(self.attn(self.norm2(x))); x = x + self.ffn(self.norm1(x))",
    post="x = self.norm2(x + self.dropout(self.attn(x))); x = self.norm1(x + self.ffn(x))"))
lesson.mutant("dropout_train_eval", "dropout still active in eval mode", "still active in eval mode",
              _BLOCK_TEMPLATE.format(pre="x = x + F.dropout(self.attn(self.norm1(x)), self.dropout.p, training=True); "
                                         "x = x + self.ffn(self.norm2(x))", post=_POST))
lesson.mutant("dropout_train_eval", "dropout argument ignored", "dropout is not applied", """
class Block(nn.Module):
    def __init__(self, d_model, n_heads, d_ff=None, dropout=0.0, norm_first=True):
        super().__init__()
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.norm1, self.norm2 = LayerNorm(d_model), LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff)
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))
""")
lesson.mutant("dropout_train_eval", "kept values not rescaled by 1/(1-p)", "1/(1-p)", """
class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff=None, dropout=0.0):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.linear1, self.linear2, self.p = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model), dropout
    def forward(self, x):
        y = self.linear2(F.gelu(self.linear1(x)))
        if self.training and self.p > 0:
            y = y * (torch.rand_like(y) >= self.p)
        return y
""")


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("linear", "einsum", """
def linear(x, weight, bias):
    return torch.einsum("...i,oi->...o", x, weight) + bias
""")
lesson.alternative("linear", "torch.matmul with weight.mT, bias added with torch.add", """
def linear(x, weight, bias):
    return torch.add(torch.matmul(x, weight.mT), bias)
""")
lesson.alternative("linear", "broadcast products summed over the input axis", """
def linear(x, weight, bias):
    return (x.unsqueeze(-2) * weight).sum(-1) + bias
""")
lesson.alternative("gelu_exact", "erfc form", """
def gelu_exact(x):
    return x * 0.5 * torch.erfc(-x / math.sqrt(2))
""")
lesson.alternative("gelu_exact", "normal CDF from torch.distributions", """
def gelu_exact(x):
    normal = torch.distributions.Normal(torch.zeros((), dtype=x.dtype), torch.ones((), dtype=x.dtype))
    return x * normal.cdf(x)
""")
lesson.alternative("gelu_tanh", "sigmoid identity: (1 + tanh z) / 2 = sigmoid(2z)", """
def gelu_tanh(x):
    return x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))
""")
lesson.alternative("gelu_tanh", "constants computed differently, torch.pow", """
def gelu_tanh(x):
    c = (2 / math.pi) ** 0.5
    inner = c * (x + 0.044715 * torch.pow(x, 3))
    return x / 2 * (1 + torch.tanh(inner))
""")
lesson.alternative("FeedForward", "linear2 created first, nn.GELU module, explicit None test", """
class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff=None, dropout=0.0):
        super().__init__()
        d_ff = 4 * d_model if d_ff is None else d_ff
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.act = nn.GELU()
        self.linear1 = nn.Linear(d_model, d_ff)
    def forward(self, x):
        return self.dropout(self.linear2(self.act(self.linear1(x))))
""")
lesson.alternative("FeedForward", "the notebook's gelu_exact and functional dropout", """
class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff=None, dropout=0.0):
        super().__init__()
        self.p = dropout
        self.linear1 = nn.Linear(d_model, d_ff or 4 * d_model)
        self.linear2 = nn.Linear(d_ff or 4 * d_model, d_model)
    def forward(self, x):
        return F.dropout(self.linear2(gelu_exact(self.linear1(x))), self.p, training=self.training)
""")
lesson.alternative("LayerNorm", "torch.var_mean and rsqrt", """
class LayerNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
    def forward(self, x):
        var, mean = torch.var_mean(x, dim=-1, keepdim=True, correction=0)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
""")
lesson.alternative("LayerNorm", "variance as the mean of squared deviations, torch.addcmul", """
class LayerNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.eps = eps
    def forward(self, x):
        centred = x - x.mean(dim=-1, keepdim=True)
        normed = centred / (centred.pow(2).mean(dim=-1, keepdim=True) + self.eps).sqrt()
        return torch.addcmul(self.bias, normed, self.weight)
""")
lesson.alternative("RMSNorm", "divide by sqrt of the mean square", """
class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d))
    def forward(self, x):
        return x / torch.sqrt(torch.mean(x * x, dim=-1, keepdim=True) + self.eps) * self.weight
""")
lesson.alternative("RMSNorm", "vector norm divided by sqrt(d)", """
class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d))
    def forward(self, x):
        ms = torch.linalg.vector_norm(x, dim=-1, keepdim=True).pow(2) / x.shape[-1]
        return self.weight * (x * (ms + self.eps).pow(-0.5))
""")
lesson.alternative("Block", "sublayer methods, as PyTorch writes them", """
class Block(nn.Module):
    def __init__(self, d_model, n_heads, d_ff=None, dropout=0.0, norm_first=True):
        super().__init__()
        self.norm_first = norm_first
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ffn = FeedForward(d_model, d_ff, dropout)
        self.norm1, self.norm2 = LayerNorm(d_model), LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
    def _sa(self, x):
        return self.dropout(self.attn(x))
    def forward(self, x):
        if self.norm_first:
            x = x + self._sa(self.norm1(x))
            return x + self.ffn(self.norm2(x))
        x = self.norm1(x + self._sa(x))
        return self.norm2(x + self.ffn(x))
""")
lesson.alternative("Block", "named intermediate values, separate forward paths", """
class Block(nn.Module):
    def __init__(self, d_model, n_heads, d_ff=None, dropout=0.0, norm_first=True):
        super().__init__()
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.norm1 = LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff=d_ff, dropout=dropout)
        self.norm2 = LayerNorm(d_model)
        self.dropout = nn.Dropout(p=dropout)
        self.forward = self.pre_norm if norm_first else self.post_norm
    def pre_norm(self, x):
        attended = self.dropout(self.attn(self.norm1(x)))
        stream = x + attended
        return stream + self.ffn(self.norm2(stream))
    def post_norm(self, x):
        stream = self.norm1(x + self.dropout(self.attn(x)))
        return self.norm2(stream + self.ffn(stream))
""")
lesson.alternative("dropout_train_eval", "F.dropout with training=self.training", """
class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff=None, dropout=0.0):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.linear1, self.linear2, self.p = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model), dropout
    def forward(self, x):
        return F.dropout(self.linear2(F.gelu(self.linear1(x))), self.p, training=self.training)

class Block(nn.Module):
    def __init__(self, d_model, n_heads, d_ff=None, dropout=0.0, norm_first=True):
        super().__init__()
        self.norm_first, self.p = norm_first, dropout
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.norm1, self.norm2 = LayerNorm(d_model), LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff, dropout)
    def forward(self, x):
        if self.norm_first:
            x = x + F.dropout(self.attn(self.norm1(x)), self.p, self.training)
            return x + self.ffn(self.norm2(x))
        x = self.norm1(x + F.dropout(self.attn(x), self.p, self.training))
        return self.norm2(x + self.ffn(x))
""")
lesson.alternative("dropout_train_eval", "hand-written inverted dropout that follows self.training", """
class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff=None, dropout=0.0):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.linear1, self.linear2, self.p = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model), dropout
    def forward(self, x):
        y = self.linear2(F.gelu(self.linear1(x)))
        if self.training and self.p > 0:
            y = y * (torch.rand_like(y) >= self.p) / (1 - self.p)
        return y
""")
