"""Lesson 04 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson04 import lesson

# ---------------------------------------------------------------- mutants (known-buggy variants)

lesson.mutant("sinusoidal_encoding", "sin and cos swapped", "sin and cos are swapped", """
def sinusoidal_encoding(max_len, d_model):
    angles = torch.arange(max_len, dtype=torch.float32)[:, None] * 10000 ** (-torch.arange(0, d_model, 2) / d_model)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.cos(angles)
    pe[:, 1::2] = torch.sin(angles)
    return pe
""")
lesson.mutant("sinusoidal_encoding", "exponent i instead of 2i", "off by a factor of 2", """
def sinusoidal_encoding(max_len, d_model):
    i = torch.arange(d_model // 2)
    angles = torch.arange(max_len, dtype=torch.float32)[:, None] * 10000 ** (-i / d_model)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
""")
lesson.mutant("sinusoidal_encoding", "exponent 4i instead of 2i", "off by a factor of 2", """
def sinusoidal_encoding(max_len, d_model):
    two_i = torch.arange(0, d_model, 2)
    angles = torch.arange(max_len, dtype=torch.float32)[:, None] * 10000 ** (-2 * two_i / d_model)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
""")
lesson.mutant("sinusoidal_encoding", "positions start at 1", "positions start at 1", """
def sinusoidal_encoding(max_len, d_model):
    angles = torch.arange(1, max_len + 1, dtype=torch.float32)[:, None] * 10000 ** (-torch.arange(0, d_model, 2) / d_model)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
""")
lesson.mutant("sinusoidal_encoding", "sin half and cos half concatenated", "interleaves", """
def sinusoidal_encoding(max_len, d_model):
    angles = torch.arange(max_len, dtype=torch.float32)[:, None] * 10000 ** (-torch.arange(0, d_model, 2) / d_model)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
""")
lesson.mutant("sinusoidal_encoding", "stores the angles, not their sin/cos", "must lie in [-1, 1]", """
def sinusoidal_encoding(max_len, d_model):
    angles = torch.arange(max_len, dtype=torch.float32)[:, None] * 10000 ** (-torch.arange(0, d_model, 2) / d_model)
    return angles.repeat_interleave(2, dim=-1)
""")
lesson.mutant("sinusoidal_encoding", "angle 2*pi*p: every row the same", "almost) equal", """
import math
def sinusoidal_encoding(max_len, d_model):
    angles = 2 * math.pi * torch.arange(max_len, dtype=torch.float32)[:, None] * torch.ones(d_model // 2)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
""")
lesson.mutant("rotation_matrix", "transposed", "transpose of R_k", """
def rotation_matrix(k, d_model):
    angles = k * 10000 ** (-torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    R = torch.zeros(d_model, d_model)
    R[0::2, 0::2] = torch.diag(torch.cos(angles))
    R[0::2, 1::2] = torch.diag(-torch.sin(angles))
    R[1::2, 0::2] = torch.diag(torch.sin(angles))
    R[1::2, 1::2] = torch.diag(torch.cos(angles))
    return R
""")
lesson.mutant("rotation_matrix", "same angle k in every block", "its own", """
def rotation_matrix(k, d_model):
    c, s = torch.cos(torch.tensor(float(k))), torch.sin(torch.tensor(float(k)))
    return torch.block_diag(*[torch.stack([torch.stack([c, s]), torch.stack([-s, c])])] * (d_model // 2))
""")
lesson.mutant("rotation_matrix", "dense matrix, not block-diagonal", "not block-diagonal", """
def rotation_matrix(k, d_model):
    pe = sinusoidal_encoding(k + 2, d_model)
    return torch.eye(d_model) + torch.outer(pe[k], pe[0]) * 0.01
""")
lesson.mutant("LearnedPositionalEmbedding", "positions start at 1", "positions start at 0", """
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.block_size = block_size
        self.wpe = nn.Embedding(block_size, d_model)
    def forward(self, x):
        T = x.shape[1]
        if T > self.block_size:
            raise ValueError("too long")
        return x + self.wpe(torch.arange(1, T + 1))
""")
lesson.mutant("LearnedPositionalEmbedding", "table not sliced to T", "Slice to T", """
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.wpe = nn.Embedding(block_size, d_model)
    def forward(self, x):
        return x + self.wpe.weight
""")
lesson.mutant("LearnedPositionalEmbedding", "wraps positions instead of raising", "must raise an error", """
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.block_size = block_size
        self.wpe = nn.Embedding(block_size, d_model)
    def forward(self, x):
        return x + self.wpe(torch.arange(x.shape[1]) % self.block_size)
""")
lesson.mutant("LearnedPositionalEmbedding", "table is a buffer, not trainable", "exactly one trainable table", """
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.register_buffer("wpe", torch.randn(block_size, d_model))
    def forward(self, x):
        if x.shape[1] > self.wpe.shape[0]:
            raise ValueError("too long")
        return x + self.wpe[: x.shape[1]]
""")
_ROPE_HEADER = """
def _rope_parts(x, positions, base=10000.0):
    T, d = x.shape[-2], x.shape[-1]
    if positions is None:
        positions = torch.arange(T)
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    return positions.float()[:, None] * theta
"""
lesson.mutant("apply_rope", "rotate_half pairing (i, i + d/2)", "adjacent pairs", _ROPE_HEADER + """
def apply_rope(x, positions=None, base=10000.0):
    angles = _rope_parts(x, positions, base)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
""")
lesson.mutant("apply_rope", "wrong sign of sin", "the wrong way", _ROPE_HEADER + """
def apply_rope(x, positions=None, base=10000.0):
    angles = _rope_parts(x, positions, base)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos + x2 * sin, -x1 * sin + x2 * cos], dim=-1).flatten(-2)
""")
lesson.mutant("apply_rope", "positions start at 1", "positions start at 1", _ROPE_HEADER + """
def apply_rope(x, positions=None, base=10000.0):
    if positions is None:
        positions = torch.arange(1, x.shape[-2] + 1)
    angles = _rope_parts(x, positions, base)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
""")
lesson.mutant("apply_rope", "exponent i instead of 2i", "off by a factor of 2", """
def apply_rope(x, positions=None, base=10000.0):
    T, d = x.shape[-2], x.shape[-1]
    if positions is None:
        positions = torch.arange(T)
    angles = positions.float()[:, None] * base ** (-torch.arange(d // 2, dtype=torch.float32) / d)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
""")
lesson.mutant("apply_rope", "scales by cos instead of rotating", "preserves every norm", _ROPE_HEADER + """
def apply_rope(x, positions=None, base=10000.0):
    angles = _rope_parts(x, positions, base)
    return x * angles.cos().repeat_interleave(2, dim=-1)
""")
lesson.mutant("apply_rope", "angle sin(p * theta) instead of p * theta", "depend only on the offset", _ROPE_HEADER + """
def apply_rope(x, positions=None, base=10000.0):
    angles = _rope_parts(x, positions, base).sin()
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
""")
lesson.mutant("apply_rope", "rotates x in place", "changed x in place", _ROPE_HEADER + """
def apply_rope(x, positions=None, base=10000.0):
    angles = _rope_parts(x, positions, base)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2].clone(), x[..., 1::2].clone()
    x[..., 0::2] = x1 * cos - x2 * sin
    x[..., 1::2] = x1 * sin + x2 * cos
    return x
""")
lesson.mutant("apply_rope", "ignores the positions argument", "were ignored", _ROPE_HEADER + """
def apply_rope(x, positions=None, base=10000.0):
    angles = _rope_parts(x, None, base)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
""")
lesson.mutant("apply_rope", "exact values computed in numpy (no gradient flows)", "cut off from autograd", """
import numpy as np
def apply_rope(x, positions=None, base=10000.0):
    T, d = x.shape[-2], x.shape[-1]
    p = np.arange(T, dtype=np.float32) if positions is None else positions.numpy().astype(np.float32)
    theta = (base ** (-np.arange(0, d, 2, dtype=np.float32) / d)).astype(np.float32)
    angles = p[:, None] * theta
    a, b = x.detach().numpy()[..., 0::2], x.detach().numpy()[..., 1::2]
    out = np.stack([a * np.cos(angles) - b * np.sin(angles), a * np.sin(angles) + b * np.cos(angles)], axis=-1)
    return torch.from_numpy(out.reshape(x.shape).astype(np.float32))
""")
lesson.mutant("sinusoidal_encoding", "a float64 table", "dtype torch.float64", """
def sinusoidal_encoding(max_len, d_model):
    angles = torch.arange(max_len, dtype=torch.float64)[:, None] * 10000 ** (-torch.arange(0, d_model, 2) / d_model)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
""")
lesson.mutant("sinusoidal_encoding", "a trainable table", "fixed, not learned", """
_solution_sinusoidal_encoding = sinusoidal_encoding
def sinusoidal_encoding(max_len, d_model):
    return nn.Parameter(_solution_sinusoidal_encoding(max_len, d_model))
""")
lesson.mutant("rotation_matrix", "ignores k (always one step)", "should equal PE", """
_solution_rotation_matrix = rotation_matrix
def rotation_matrix(k, d_model):
    return _solution_rotation_matrix(1, d_model)
""")
_LEARNED_INIT = """
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.block_size = block_size
        self.wpe = nn.Embedding(block_size, d_model)
"""
lesson.mutant("LearnedPositionalEmbedding", "no length check: nn.Embedding raises IndexError", "asks for a ValueError", """
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.wpe = nn.Embedding(block_size, d_model)
    def forward(self, x):
        return x + self.wpe(torch.arange(x.shape[1]))
""")
lesson.mutant("LearnedPositionalEmbedding", "assert instead of ValueError", "AssertionError", _LEARNED_INIT + """
    def forward(self, x):
        T = x.shape[1]
        assert T <= self.block_size, "sequence too long"
        return x + self.wpe(torch.arange(T))
""")
lesson.mutant("LearnedPositionalEmbedding", "ValueError without a message", "without a message", _LEARNED_INIT + """
    def forward(self, x):
        T = x.shape[1]
        if T > self.block_size:
            raise ValueError
        return x + self.wpe(torch.arange(T))
""")
lesson.mutant("LearnedPositionalEmbedding", "raises already at T = block_size", "T = block_size is allowed",
              _LEARNED_INIT + """
    def forward(self, x):
        T = x.shape[1]
        if T >= self.block_size:
            raise ValueError(f"sequence length {T} is too long")
        return x + self.wpe(torch.arange(T))
""")
lesson.mutant("LearnedPositionalEmbedding", "adds in place (x += ...)", "changed x in place", _LEARNED_INIT + """
    def forward(self, x):
        T = x.shape[1]
        if T > self.block_size:
            raise ValueError("too long")
        x += self.wpe(torch.arange(T))
        return x
""")


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("sinusoidal_encoding", "frequencies as exp(-log(10000) * 2i / d), interleaved with stack", """
def sinusoidal_encoding(max_len, d_model):
    freqs = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    angles = torch.arange(max_len, dtype=torch.float32)[:, None] * freqs
    return torch.stack([angles.sin(), angles.cos()], dim=-1).reshape(max_len, d_model)
""")
lesson.alternative("sinusoidal_encoding", "computed in float64, returned as float32", """
def sinusoidal_encoding(max_len, d_model):
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    positions = torch.arange(max_len, dtype=torch.float64)[:, None]
    angles = positions / 10000.0 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe[:, 0::2], pe[:, 1::2] = angles.sin(), angles.cos()
    return pe.float()
""")
lesson.alternative("sinusoidal_encoding", "Python loops with the math module", """
def sinusoidal_encoding(max_len, d_model):
    rows = []
    for p in range(max_len):
        row = []
        for i in range(d_model // 2):
            angle = p / 10000 ** (2 * i / d_model)
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float32).reshape(max_len, d_model)
""")
lesson.alternative("rotation_matrix", "torch.block_diag of 2x2 blocks", """
def rotation_matrix(k, d_model):
    blocks = []
    for i in range(d_model // 2):
        a = torch.tensor(k * 10000.0 ** (-2 * i / d_model))
        blocks.append(torch.stack([torch.stack([a.cos(), a.sin()]), torch.stack([-a.sin(), a.cos()])]))
    return torch.block_diag(*blocks).float()
""")
lesson.alternative("rotation_matrix", "entry by entry in a loop, math module", """
def rotation_matrix(k, d_model):
    R = torch.zeros(d_model, d_model)
    for i in range(d_model // 2):
        a = k / 10000 ** (2 * i / d_model)
        R[2 * i, 2 * i], R[2 * i, 2 * i + 1] = math.cos(a), math.sin(a)
        R[2 * i + 1, 2 * i], R[2 * i + 1, 2 * i + 1] = -math.sin(a), math.cos(a)
    return R
""")
lesson.alternative("rotation_matrix", "matrix exponential of k times the generator", """
def rotation_matrix(k, d_model):
    freqs = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    G = torch.zeros(d_model, d_model, dtype=torch.float64)
    G[0::2, 1::2] = torch.diag(freqs)
    G[1::2, 0::2] = -torch.diag(freqs)
    return torch.linalg.matrix_exp(k * G).float()
""")
lesson.alternative("LearnedPositionalEmbedding", "slice of the table's weight", """
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.block_size = block_size
        self.wpe = nn.Embedding(block_size, d_model)
    def forward(self, x):
        if x.size(1) > self.block_size:
            raise ValueError(f"T = {x.size(1)} is longer than block_size = {self.block_size}")
        return x + self.wpe.weight[: x.size(1)]
""")
lesson.alternative("LearnedPositionalEmbedding", "a raw nn.Parameter table, batch axis added by unsqueeze", """
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.wpe = nn.Parameter(torch.randn(block_size, d_model))
    def forward(self, x):
        B, T, d = x.shape
        if T > self.wpe.shape[0]:
            raise ValueError("sequence longer than block_size")
        return x + self.wpe[torch.arange(T)].unsqueeze(0).expand(B, T, d)
""")
lesson.alternative("LearnedPositionalEmbedding", "F.embedding and torch.add", """
import torch.nn.functional as F
class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, block_size, d_model):
        super().__init__()
        self.block_size = block_size
        self.wpe = nn.Embedding(block_size, d_model)
    def forward(self, x):
        T = x.shape[-2]
        if not T <= self.block_size:
            raise ValueError("too many positions: " + str(T))
        return torch.add(x, F.embedding(torch.arange(T), self.wpe.weight))
""")
lesson.alternative("apply_rope", "complex numbers (view_as_complex and torch.polar)", """
def apply_rope(x, positions=None, base=10000.0):
    T, d = x.shape[-2], x.shape[-1]
    if positions is None:
        positions = torch.arange(T)
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    angles = positions.float()[:, None] * theta
    z = torch.view_as_complex(x.float().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(z * torch.polar(torch.ones_like(angles), angles)).flatten(-2).to(x.dtype)
""")
lesson.alternative("apply_rope", "cos/sin repeated per pair and a rotate-every-two helper", """
def apply_rope(x, positions=None, base=10000.0):
    T, d = x.shape[-2], x.shape[-1]
    positions = torch.arange(T) if positions is None else positions
    theta = 1.0 / base ** (torch.arange(0, d, 2).float() / d)
    angles = torch.outer(positions.float(), theta).repeat_interleave(2, dim=-1)     # (T, d)
    turned = torch.stack([-x[..., 1::2], x[..., 0::2]], dim=-1).reshape(x.shape)     # (a, b) -> (-b, a)
    return x * angles.cos() + turned * angles.sin()
""")
lesson.alternative("apply_rope", "one 2x2 rotation matrix per position and pair, einsum", """
def apply_rope(x, positions=None, base=10000.0):
    T, d = x.shape[-2], x.shape[-1]
    if positions is None:
        positions = torch.arange(T)
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    a = positions.float()[:, None] * theta                                            # (T, d/2)
    R = torch.stack([torch.stack([a.cos(), -a.sin()], -1), torch.stack([a.sin(), a.cos()], -1)], -2)
    pairs = x.reshape(*x.shape[:-1], d // 2, 2)
    return torch.einsum("tpij,...tpj->...tpi", R, pairs).reshape(x.shape)
""")
lesson.alternative("apply_rope", "angles in float64, result cast back to x's dtype", """
def apply_rope(x, positions=None, base=10000.0):
    T, d = x.shape[-2], x.shape[-1]
    positions = torch.arange(T) if positions is None else positions
    angles = positions.double()[:, None] * base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    cos, sin = angles.cos(), angles.sin()
    a, b = x[..., 0::2].double(), x[..., 1::2].double()
    out = torch.empty(x.shape, dtype=torch.float64)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out.to(x.dtype)
""")
