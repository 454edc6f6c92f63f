"""Lesson 04 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson04 import lesson

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
