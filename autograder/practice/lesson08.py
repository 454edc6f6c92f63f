"""Practice checks for lesson 08 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

lesson = Lesson('08', 'gpt', 'The full GPT: model, training, sampling')

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('get_batch', 1, 'ix = torch.randint(len(data) - block_size, (batch_size,)); x = data[i:i+block_size], y = data[i+1:i+1+block_size] for each i, stacked.'),
    ('CausalSelfAttention', 2, 'q, k, v = self.c_attn(x).split(C, dim=2); view each as (B, T, nh, hs) and transpose(1, 2); F.scaled_dot_product_attention(q, k, v, is_causal=True); transpose back and view (B, T, C).'),
    ('MLP', 1, 'return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))'),
    ('Block', 1, 'x = x + self.attn(self.ln_1(x)); x = x + self.mlp(self.ln_2(x))'),
    ('GPT', 3, ''),
    ('load_gpt2_state_dict', 2, 'Copy every entry that is in model.state_dict(); transpose the four Conv1D weights (.t()).'),
    ('configure_optimizer', 1, 'Two groups: [p for p in params if p.dim() >= 2] with weight_decay, the rest with 0.0.'),
    ('get_lr', 1, ''),
    ('estimate_loss', 1, ''),
    ('filter_logits', 2, ''),
    ('generate', 2, ''),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
