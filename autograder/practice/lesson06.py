"""Practice checks for lesson 06 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

lesson = Lesson('06', 'transformer_by_hand', 'Transformer by hand')

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('embed', 1, ''),
    ('qkv', 1, ''),
    ('attention_scores', 2, ''),
    ('mask_and_softmax', 2, ''),
    ('attention_output', 2, ''),
    ('layer_norm', 2, ''),
    ('feed_forward', 2, ''),
    ('hand_vs_machine', 3, 'Build X with nn.Embedding and P; run q, k, v, attention with is_causal=True, W_o, the residual, nn.LayerNorm(4), the FFN and the second residual, all in torch.'),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
