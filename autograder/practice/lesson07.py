"""Practice checks for lesson 07 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

lesson = Lesson('07', 'transformer_block', 'The transformer block: feed-forward, add & norm')

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('linear', 1, 'x @ weight.T + bias'),
    ('gelu_exact', 1, '0.5 * x * (1 + torch.erf(x / math.sqrt(2)))'),
    ('gelu_tanh', 1, '0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))'),
    ('FeedForward', 2, ''),
    ('LayerNorm', 3, ''),
    ('RMSNorm', 2, ''),
    ('Block', 4, ''),
    ('dropout_train_eval', 1, 'Use nn.Dropout modules (they follow .train()/.eval()) in Block and FeedForward.'),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
