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
lesson.mutant("hashmap_collisions", "compares keys with `is`", "never `is`", """
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
lesson.mutant("hashmap_basics", "compares keys with `is` everywhere", "an equal key built separately", """
class HashMap(HashMap):
    def __setitem__(self, key, value):
        bucket = self.buckets[self._index(key)]
        for pair in bucket:
            if pair[0] is key:
                pair[1] = value
                return
        if (self.size + 1) / len(self.buckets) > self.MAX_LOAD:
            self._resize(2 * len(self.buckets))
            bucket = self.buckets[self._index(key)]
        bucket.append([key, value])
        self.size += 1

    def __getitem__(self, key):
        for k, v in self.buckets[self._index(key)]:
            if k is key:
                return v
        raise KeyError(key)

    def __delitem__(self, key):
        bucket = self.buckets[self._index(key)]
        for j, (k, _) in enumerate(bucket):
            if k is key:
                del bucket[j]
                self.size -= 1
                return
        raise KeyError(key)
""")
lesson.mutant("hashmap_resize", "checks the load limit before looking for the key (grows on overwrite)",
              "must not grow the table", """
class HashMap(HashMap):
    def __setitem__(self, key, value):
        if (self.size + 1) / len(self.buckets) > self.MAX_LOAD:
            self._resize(2 * len(self.buckets))
        bucket = self.buckets[self._index(key)]
        for pair in bucket:
            if pair[0] == key:
                pair[1] = value
                return
        bucket.append([key, value])
        self.size += 1
""")
lesson.mutant("encode", "assumes <unk> is the last id", "<unk> is not always the last id", """
class CharTokenizer(CharTokenizer):
    def __init__(self, text, specials=("<|endoftext|>", "<unk>"), table=dict):
        super().__init__(text, specials, table)
        self.unk_id = len(self.itos) - 1
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
lesson.mutant("tokenizer_init", "ignores the table argument", "the table argument was ignored", """
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


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("hashmap_basics", "pairs found with next(), capacity property in _index", """
class HashMap(HashMap):
    def _index(self, key):
        return hash(key) % self.capacity

    def _pair(self, key):
        return next((pair for pair in self.buckets[self._index(key)] if pair[0] == key), None)

    def __setitem__(self, key, value):
        pair = self._pair(key)
        if pair is not None:
            pair[1] = value
            return
        if (len(self) + 1) > self.MAX_LOAD * self.capacity:
            self._resize(self.capacity * 2)
        self.buckets[self._index(key)].append([key, value])
        self.size += 1

    def __getitem__(self, key):
        pair = self._pair(key)
        if pair is None:
            raise KeyError(key)
        return pair[1]
""")
lesson.alternative("hashmap_basics", "tuples as pairs, replaced on overwrite", """
class HashMap(HashMap):
    def __setitem__(self, key, value):
        i = self._index(key)
        for j, (k, _) in enumerate(self.buckets[i]):
            if k == key:
                self.buckets[i][j] = (key, value)
                return
        if (self.size + 1) / len(self.buckets) > self.MAX_LOAD:
            self._resize(2 * len(self.buckets))
            i = self._index(key)
        self.buckets[i].append((key, value))
        self.size += 1

    def __getitem__(self, key):
        bucket = self.buckets[self._index(key)]
        for j in range(len(bucket)):
            if bucket[j][0] == key:
                return bucket[j][1]
        raise KeyError(key)
""")
lesson.alternative("hashmap_collisions", "delete by rebuilding the bucket without the key", """
class HashMap(HashMap):
    def __delitem__(self, key):
        bucket = self.buckets[self._index(key)]
        kept = [pair for pair in bucket if not pair[0] == key]
        if len(kept) == len(bucket):
            raise KeyError(key)
        bucket[:] = kept
        self.size -= 1
""")
lesson.alternative("hashmap_collisions", "delete with list.pop at the position found by a while loop", """
class HashMap(HashMap):
    def __getitem__(self, key):
        for pair in reversed(self.buckets[self._index(key)]):
            if key == pair[0]:
                return pair[1]
        raise KeyError(key)

    def __delitem__(self, key):
        bucket = self.buckets[self._index(key)]
        j = 0
        while j < len(bucket) and bucket[j][0] != key:
            j += 1
        if j == len(bucket):
            raise KeyError(key)
        bucket.pop(j)
        self.size -= 1
""")
lesson.alternative("hashmap_resize", "_resize re-inserts with self[key] = value after resetting the size", """
class HashMap(HashMap):
    def _resize(self, new_capacity):
        pairs = list(self.items())
        self.buckets = [[] for _ in range(new_capacity)]
        self.size = 0
        for key, value in pairs:
            self[key] = value
""")
lesson.alternative("hashmap_resize", "__setitem__ always computes the index twice (2 hashes per insert)", """
class HashMap(HashMap):
    def __setitem__(self, key, value):
        for pair in self.buckets[self._index(key)]:
            if pair[0] == key:
                pair[1] = value
                return
        if (self.size + 1) / len(self.buckets) > self.MAX_LOAD:
            self._resize(2 * len(self.buckets))
        self.buckets[self._index(key)].append([key, value])
        self.size += 1

    def _resize(self, new_capacity):
        new_buckets = [[] for _ in range(new_capacity)]
        for bucket in self.buckets:
            for key, value in bucket:
                new_buckets[hash(key) % new_capacity].append([key, value])
        self.buckets = new_buckets
""")
lesson.alternative("tokenizer_init", "dict.fromkeys for the characters, stoi filled with zip", """
class CharTokenizer(CharTokenizer):
    def __init__(self, text, specials=("<|endoftext|>", "<unk>"), table=dict):
        super().__init__("", specials, table)   # the solution's special pattern
        self.itos = [*sorted(dict.fromkeys(text)), *specials]
        self.stoi = table()
        for token, i in zip(self.itos, range(len(self.itos))):
            self.stoi[token] = i
        self.unk_id = self.stoi["<unk>"]
""")
lesson.alternative("tokenizer_init", "itos built by appending, no stored <unk> id (looked up in encode)", """
class CharTokenizer(CharTokenizer):
    def __init__(self, text, specials=("<|endoftext|>", "<unk>"), table=dict):
        self.specials = tuple(specials)
        self.itos = []
        for ch in sorted(set(text)):
            self.itos.append(ch)
        self.itos.extend(specials)
        self.stoi = table()
        for i in range(len(self.itos)):
            self.stoi[self.itos[i]] = i

    def encode(self, text):
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, not {type(text).__name__}")
        pattern = "|".join(re.escape(s) for s in sorted(self.specials, key=len, reverse=True))
        ids = []
        for m in re.finditer(f"{pattern}|." if pattern else ".", text, flags=re.S):
            token = m.group()
            ids.append(self.stoi[token] if token in self.specials else self.stoi.get(token, self.stoi["<unk>"]))
        return ids
""")
_SCAN_ENCODE = '''
class CharTokenizer(CharTokenizer):
    def encode(self, text):
        if not isinstance(text, str):
            raise TypeError("encode expects a str, got " + type(text).__name__)
        specials = [t for t in self.itos if t in ("<|endoftext|>", "<unk>", "<|pad|>")]
        unk = self.stoi["<unk>"]
        ids, j = [], 0
        while j < len(text):
            for special in specials:
                if text.startswith(special, j):
                    ids.append(self.stoi[special])
                    j += len(special)
                    break
            else:
                ids.append(self.stoi.get(text[j], unk))
                j += 1
        return ids
'''
_FINDITER_ENCODE = '''
class CharTokenizer(CharTokenizer):
    def encode(self, text):
        if type(text) is not str:
            raise TypeError(f"expected a str, got {text!r:.30}")
        specials = self.itos[len(self.itos) - len([t for t in self.itos if len(t) > 1]):]
        pattern = re.compile("|".join(map(re.escape, specials)) + "|.", re.DOTALL)
        unk = self.stoi["<unk>"]
        return [self.stoi[m] if m in specials else self.stoi.get(m, unk) for m in pattern.findall(text)]
'''
lesson.alternative("encode", "a left-to-right scan with str.startswith", _SCAN_ENCODE)
lesson.alternative("encode", "one regex for 'a special token or any character', findall", _FINDITER_ENCODE)
lesson.alternative("round_trip", "a left-to-right scan with str.startswith", _SCAN_ENCODE)
lesson.alternative("round_trip", "one regex for 'a special token or any character', findall", _FINDITER_ENCODE)
lesson.alternative("decode", "range membership and a list comprehension", """
class CharTokenizer(CharTokenizer):
    def decode(self, ids):
        valid = range(len(self.itos))
        for i in ids:
            if not isinstance(i, int):
                raise TypeError(f"not a token id: {i!r}")
            if i not in valid:
                raise ValueError(f"token id {i} outside 0..{len(self.itos) - 1}")
        return "".join([self.itos[i] for i in ids])
""")
lesson.alternative("decode", "tokens collected with a map over a checking helper", """
class CharTokenizer(CharTokenizer):
    def _token(self, i):
        if type(i) is not int:
            raise TypeError("token ids are ints; got " + repr(i))
        if i < 0 or i >= self.vocab_size:
            raise ValueError("no token has id " + str(i))
        return self.itos[i]

    def decode(self, ids):
        return "".join(map(self._token, ids))
""")
