"""Practice checks for lesson 02 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

RESIZE_HINT = ("In __setitem__, before appending a new key, call self._resize(2 * len(self.buckets)) "
               "when (len(self) + 1) / len(self.buckets) > 0.75.")

lesson = Lesson('02', 'hashmaps', 'Encoder and decoder as hash maps')

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('hashmap_basics', 2, 'Find the bucket with self._index(key), then walk its [key, value] pairs comparing pair[0] == key.'),
    ('hashmap_collisions', 2, 'A bucket is a list: keys that collide share it. Compare keys with ==, delete only the matching pair.'),
    ('hashmap_resize', 2, RESIZE_HINT),
    ('tokenizer_init', 1, 'self.itos = sorted(set(text)) + list(specials); self.stoi = table(); then stoi[token] = id for each.'),
    ('encode', 2, 'Split on the special tokens (re.split with a capturing group); map the other characters with stoi.get(ch, unk_id).'),
    ('decode', 2, "Check isinstance(i, int) and 0 <= i < len(self.itos) for every id, then ''.join the tokens."),
    ('round_trip', 1, 'If encode and decode pass, check that encode finds *every* special token in the text.'),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
