"""Lesson 02 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson02 import lesson

lesson.mutant("hashmap_basics", "forgets the modulo", "% len(self.buckets)", """
class HashMap(HashMap):
    def _index(self, key):
        return hash(key)
""")
lesson.mutant("hashmap_basics", "returns None for a missing key", "instead of raising KeyError", """
class HashMap(HashMap):
    def __getitem__(self, key):
        for k, v in self.buckets[self._index(key)]:
            if k == key:
                return v
        return None
""")
lesson.mutant("hashmap_basics", "overwriting appends a second pair", "added a second entry", """
class HashMap(HashMap):
    def __setitem__(self, key, value):
        if (self.size + 1) / len(self.buckets) > self.MAX_LOAD:
            self._resize(2 * len(self.buckets))
        self.buckets[self._index(key)].append([key, value])
        self.size += 1
""")
lesson.mutant("hashmap_collisions", "ignores collisions (one pair per bucket)", "the second replaced the first", """
class HashMap(HashMap):
    def __setitem__(self, key, value):
        bucket = self.buckets[self._index(key)]
        if not bucket:
            self.size += 1
        bucket[:] = [[key, value]]
""")
lesson.mutant("hashmap_collisions", "compares keys with `is`", "not `is`", """
class HashMap(HashMap):
    def __getitem__(self, key):
        for k, v in self.buckets[self._index(key)]:
            if k is key:
                return v
        raise KeyError(key)
""")
lesson.mutant("hashmap_collisions", "del empties the whole bucket", "other keys in the same bucket", """
class HashMap(HashMap):
    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        bucket = self.buckets[self._index(key)]
        self.size -= len(bucket)
        bucket.clear()
""")
lesson.mutant("hashmap_collisions", "del forgets to update the size", "did not decrease", """
class HashMap(HashMap):
    def __delitem__(self, key):
        bucket = self.buckets[self._index(key)]
        for j, pair in enumerate(bucket):
            if pair[0] == key:
                del bucket[j]
                return
        raise KeyError(key)
""")
lesson.mutant("hashmap_resize", "never resizes", "above the limit 0.75", """
class HashMap(HashMap):
    def _resize(self, new_capacity):
        pass
""")
lesson.mutant("hashmap_resize", "grows by one bucket", "should double", """
class HashMap(HashMap):
    def _resize(self, new_capacity):
        super()._resize(len(self.buckets) + 1)
""")
lesson.mutant("hashmap_resize", "re-hashes everything on every insert", "not amortized O(1)", """
class HashMap(HashMap):
    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._resize(len(self.buckets))
""")
lesson.mutant("hashmap_resize", "adds buckets without re-hashing", "re-hashed", """
class HashMap(HashMap):
    def _resize(self, new_capacity):
        self.buckets += [[] for _ in range(new_capacity - len(self.buckets))]
""")
lesson.mutant("hashmap_resize", "re-inserts without resetting the size", "must not change self.size", """
class HashMap(HashMap):
    def _resize(self, new_capacity):
        old_buckets = self.buckets
        self.buckets = [[] for _ in range(new_capacity)]
        for bucket in old_buckets:
            for key, value in bucket:
                self[key] = value
""")
lesson.mutant("tokenizer_init", "puts the special tokens first", "go after the characters", """
class CharTokenizer(CharTokenizer):
    def __init__(self, text, specials=("<|endoftext|>", "<unk>"), table=dict):
        super().__init__(text, specials, table)
        self.itos = list(specials) + sorted(set(text))
        self.stoi = table()
        for i, token in enumerate(self.itos):
            self.stoi[token] = i
        self.unk_id = self.stoi["<unk>"]
""")
lesson.mutant("tokenizer_init", "ignores the table argument", "self.stoi = table()", """
class CharTokenizer(CharTokenizer):
    def __init__(self, text, specials=("<|endoftext|>", "<unk>"), table=dict):
        super().__init__(text, specials, dict)
""")
lesson.mutant("tokenizer_init", "hard-codes the special tokens", "do not hard-code them", """
class CharTokenizer(CharTokenizer):
    def __init__(self, text, specials=("<|endoftext|>", "<unk>"), table=dict):
        super().__init__(text, ("<|endoftext|>", "<unk>"), table)
""")
lesson.mutant("encode", "maps unknown characters to 0", "silently mapped to 0", """
class CharTokenizer(CharTokenizer):
    def encode(self, text):
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        ids = []
        for j, piece in enumerate(self.special_pattern.split(text)):
            if j % 2:
                ids.append(self.stoi[piece])
            else:
                ids.extend(self.stoi.get(ch, 0) for ch in piece)
        return ids
""")
lesson.mutant("encode", "raises KeyError on unknown characters", "raised KeyError", """
class CharTokenizer(CharTokenizer):
    def encode(self, text):
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        ids = []
        for j, piece in enumerate(self.special_pattern.split(text)):
            if j % 2:
                ids.append(self.stoi[piece])
            else:
                ids.extend(self.stoi[ch] for ch in piece)
        return ids
""")
lesson.mutant("encode", "spells <|endoftext|> out character by character", "its single id", """
class CharTokenizer(CharTokenizer):
    def encode(self, text):
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        return [self.stoi.get(ch, self.unk_id) for ch in text]
""")
lesson.mutant("encode", "converts any input with str()", "instead of raising TypeError", """
class CharTokenizer(CharTokenizer):
    def encode(self, text):
        return super().encode(str(text))
""")
lesson.mutant("decode", "drops the last token", "lost the last token", """
class CharTokenizer(CharTokenizer):
    def decode(self, ids):
        ids = list(ids)
        return super().decode(ids[:-1])
""")
lesson.mutant("decode", "skips special tokens", "they are not dropped", """
class CharTokenizer(CharTokenizer):
    def decode(self, ids):
        return super().decode([i for i in ids if not (isinstance(i, int) and self.itos[i:i + 1] in (["<|endoftext|>"], ["<unk>"]))])
""")
lesson.mutant("decode", "indexes itos without checking", "name the bad id", """
class CharTokenizer(CharTokenizer):
    def decode(self, ids):
        return "".join(self.itos[i] for i in ids)
""")
lesson.mutant("decode", "accepts negative ids", "negative indexing", """
class CharTokenizer(CharTokenizer):
    def decode(self, ids):
        tokens = []
        for i in ids:
            if not isinstance(i, int):
                raise TypeError(f"token ids must be ints, got {i!r}")
            if i >= len(self.itos):
                raise ValueError(f"token id {i} is out of range")
            tokens.append(self.itos[i])
        return "".join(tokens)
""")
lesson.mutant("round_trip", "recognises only the first special token", "however many there are", """
class CharTokenizer(CharTokenizer):
    def encode(self, text):
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        match = self.special_pattern.search(text)
        if match is None:
            return [self.stoi.get(ch, self.unk_id) for ch in text]
        before, after = text[:match.start()], text[match.end():]
        return ([self.stoi.get(ch, self.unk_id) for ch in before] + [self.stoi[match.group()]]
                + [self.stoi.get(ch, self.unk_id) for ch in after])
""")
