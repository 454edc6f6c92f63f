"""Practice checks for lesson 09 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

lesson = Lesson('09', 'interpretability', 'Looking inside: attention patterns and induction heads')

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('record_attention', 2, 'Register a forward hook on every model.transformer.h[i].attn; in the hook, recompute q and k from args[0] with module.c_attn, scale by 1/sqrt(head size), mask the future, softmax; remove the hooks in a `finally`.'),
    ('record_residual_stream', 1, 'A forward pre-hook on block 0 sees the embeddings (args[0]); a forward hook on every block sees its output. Stack the n_layer + 1 tensors.'),
    ('repeated_random_tokens', 1, 'torch.Generator().manual_seed(seed); torch.randint(1, vocab_size, (batch, seq_len), generator=g); then torch.cat([BOS column, tokens, tokens], dim=1).'),
    ('per_position_loss', 1, "F.cross_entropy(logits[:, :-1].transpose(1, 2), idx[:, 1:], reduction='none')."),
    ('previous_token_score', 1, 'pattern.diagonal(offset=-1, dim1=-2, dim2=-1) is the attention from each position t to t - 1; average it over the batch and the positions.'),
    ('induction_score', 2, 'The repeated block is the last 2 * seq_len positions. A query q in the second copy (q = T - seq_len .. T - 1) should attend to key q - seq_len + 1: the token *after* the previous occurrence of its own token.'),
    ('ablate_head', 2, 'Register a forward *pre*-hook on model.transformer.h[layer].attn.c_proj that returns its input with channels head*hs .. (head+1)*hs - 1 set to zero (hs = c_proj.in_features // n_head); yield; remove the hook in `finally`.'),
    ('ov_circuit', 2, 'W_E = wte.weight (V, C); W_V^h = the rows 2C + h*hs .. 2C + (h+1)*hs of c_attn.weight, transposed (C, hs); W_O^h = the columns h*hs .. (h+1)*hs of c_proj.weight, transposed (hs, C); W_U = lm_head.weight.T (C, V).'),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
