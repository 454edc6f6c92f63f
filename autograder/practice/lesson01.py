"""Practice checks for lesson 01 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

lesson = Lesson('01', 'tokenization', "Tokenization: characters, BPE and GPT-2's tokenizer")

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('char_vocab', 1, '`sorted(set(text))` does it in one line.'),
    ('get_stats', 1, 'Use zip(ids, ids[1:]) to visit every adjacent pair.'),
    ('merge', 1, ''),
    ('split_words', 1, 'regex.findall(GPT2_SPLIT_PATTERN, text)'),
    ('train_bpe', 3, ''),
    ('decode', 1, ''),
    ('encode', 2, ''),
    ('load_gpt2', 2, ''),
    ('gpt2_matches_tiktoken', 2, 'If load_gpt2 passes, look at encode: byte ids must come from vocab, not be the byte values.'),
    ('train_bpe_fast', 1, 'Keep pair counts and a pair -> chunks index; after a merge update only the chunks that had the pair.'),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
