"""Practice checks for lesson 04 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

lesson = Lesson('04', 'positional_encoding', 'Positional encoding')

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('sinusoidal_encoding', 2, 'PE[p, 2i] = sin(p * w_i), PE[p, 2i+1] = cos(p * w_i), w_i = 10000 ** (-2i / d_model), p = 0, 1, 2, ...'),
    ('rotation_matrix', 2, 'Block i is [[cos(k w_i), sin(k w_i)], [-sin(k w_i), cos(k w_i)]] on rows/columns 2i, 2i+1.'),
    ('LearnedPositionalEmbedding', 2, 'forward: x + self.wpe(torch.arange(T)), after checking T <= block_size.'),
    ('apply_rope', 3, 'Pairs (x[..., 0::2], x[..., 1::2]) turn by angle p * theta_i with theta_i = 10000 ** (-2i / d): (a, b) -> (a cos - b sin, a sin + b cos).'),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
