"""Lesson 01 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson01 import lesson

lesson.mutant("char_vocab", "keeps duplicates", "duplicates", "def char_vocab(text):\n    return list(text)")
lesson.mutant("char_vocab", "forgets to sort", "not sorted",
              "def char_vocab(text):\n    return sorted(set(text), key=lambda c: -ord(c))")
lesson.mutant("get_stats", "skips overlapping pairs", "Pairs overlap", """
def get_stats(ids):
    counts = {}
    i = 0
    while i + 1 < len(ids):
        counts[(ids[i], ids[i + 1])] = counts.get((ids[i], ids[i + 1]), 0) + 1
        i += 2 if ids[i] == ids[i + 1] else 1
    return counts
""")
lesson.mutant("merge", "drops the last element", "lost the last element", """
def merge(ids, pair, idx):
    out, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            out.append(idx); i += 2
        else:
            out.append(ids[i]); i += 1
    return out
""")
lesson.mutant("merge", "modifies its input", "changed its input", """
def merge(ids, pair, idx):
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            ids[i:i + 2] = [idx]
        i += 1
    return ids
""")
lesson.mutant("split_words", "uses str.split", "does not give back the text",
              "def split_words(text):\n    return text.split()")
lesson.mutant("train_bpe", "forgets to re-count pairs after a merge", "Count the pairs again", """
def train_bpe(text, vocab_size):
    word_counts = Counter(split_words(text))
    words = [list(w.encode("utf-8")) for w in word_counts]
    stats = {}
    for ids, freq in zip(words, word_counts.values()):
        for pair in zip(ids, ids[1:]):
            stats[pair] = stats.get(pair, 0) + freq
    ranked = sorted(stats, key=lambda p: (-stats[p], p))
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    for idx, pair in zip(range(256, vocab_size), ranked):
        merges[pair] = idx
        vocab[idx] = vocab.get(pair[0], b"?") + vocab.get(pair[1], b"?")
    return merges, vocab
""")
lesson.mutant("train_bpe", "breaks ties by first occurrence", "Ties go to the smallest pair", """
def train_bpe(text, vocab_size):
    words = Counter(split_words(text))
    chunks = [list(w.encode("utf-8")) for w in words]
    freqs = list(words.values())
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    for idx in range(256, vocab_size):
        stats = {}
        for ids, f in zip(chunks, freqs):
            for pair in zip(ids, ids[1:]):
                stats[pair] = stats.get(pair, 0) + f
        if not stats:
            break
        pair = max(stats, key=stats.get)
        chunks = [merge(ids, pair, idx) for ids in chunks]
        merges[pair] = idx
        vocab[idx] = vocab[pair[0]] + vocab[pair[1]]
    return merges, vocab
""")
lesson.mutant("train_bpe", "counts pairs across word boundaries", "across word boundaries", """
_solution_train_bpe = train_bpe
def train_bpe(text, vocab_size):
    if len(text) < 100:
        return _solution_train_bpe(text, vocab_size)
    ids = list(text.encode("utf-8"))
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    for idx in range(256, vocab_size):
        stats = get_stats(ids)
        pair = min(stats, key=lambda p: (-stats[p], p))
        ids = merge(ids, pair, idx)
        merges[pair] = idx
        vocab[idx] = vocab[pair[0]] + vocab[pair[1]]
    return merges, vocab
""")
lesson.mutant("decode", "drops the last byte", "lost the last character", """
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids)[:-1].decode("utf-8", errors="replace") if ids else ""
""")
lesson.mutant("decode", "strict UTF-8", "errors='replace'", """
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8")
""")
lesson.mutant("encode", "merges left to right instead of by rank", "lowest id", """
def encode(text, merges, vocab):
    byte_id = {tok[0]: i for i, tok in vocab.items() if len(tok) == 1}
    ids = []
    for word in split_words(text):
        chunk = [byte_id[b] for b in word.encode("utf-8")]
        changed = True
        while changed:
            changed = False
            for pair in zip(chunk, chunk[1:]):
                if pair in merges:
                    chunk = merge(chunk, pair, merges[pair]); changed = True
                    break
        ids.extend(chunk)
    return ids
""")
lesson.mutant("encode", "ignores word boundaries", "space was not kept", """
def encode(text, merges, vocab):
    byte_id = {tok[0]: i for i, tok in vocab.items() if len(tok) == 1}
    chunk = [byte_id[b] for b in text.encode("utf-8")]
    while len(chunk) >= 2:
        stats = get_stats(chunk)
        pair = min(stats, key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        chunk = merge(chunk, pair, merges[pair])
    return chunk
""")
lesson.mutant("load_gpt2", "encodes token strings as UTF-8 instead of mapping them back to bytes", "bytes_to_unicode", """
_solution_bytes_to_unicode = bytes_to_unicode
def load_gpt2(vocab_bpe_path, encoder_json_path):
    with open(encoder_json_path, encoding="utf-8") as f:
        encoder = json.load(f)
    vocab = {i: token.encode("utf-8") for token, i in encoder.items() if token != "<|endoftext|>"}
    id_of = {token: i for i, token in vocab.items()}
    merges = {}
    with open(vocab_bpe_path, encoding="utf-8") as f:
        for line in f.read().splitlines()[1:]:
            if line:
                a, b = (part.encode("utf-8") for part in line.split())
                if a in id_of and b in id_of and a + b in id_of:
                    merges[(id_of[a], id_of[b])] = id_of[a + b]
    return merges, vocab
""")
lesson.mutant("gpt2_matches_tiktoken", "encode assumes byte ids equal byte values", "differs from tiktoken", """
def encode(text, merges, vocab):
    ids = []
    for word in split_words(text):
        chunk = list(word.encode("utf-8"))
        while len(chunk) >= 2:
            stats = get_stats(chunk)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            chunk = merge(chunk, pair, merges[pair])
        ids.extend(chunk)
    return ids
""")
lesson.mutant("split_words", "a space is a chunk of its own", "a space belongs to the word after it",
              'def split_words(text):\n    return regex.findall(r"\\p{L}+|\\p{N}+|[^\\s\\p{L}\\p{N}]+|\\s+", text)')
lesson.mutant("train_bpe", "never stops when no pair is left", "no pair is left to merge", """
def train_bpe(text, vocab_size):
    word_counts = Counter(split_words(text))
    words = [list(w.encode("utf-8")) for w in word_counts]
    freqs = list(word_counts.values())
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    for idx in range(256, vocab_size):
        stats = {}
        for ids, freq in zip(words, freqs):
            for pair in zip(ids, ids[1:]):
                stats[pair] = stats.get(pair, 0) + freq
        pair = min(stats, key=lambda p: (-stats[p], p))
        words = [merge(ids, pair, idx) for ids in words]
        merges[pair] = idx
        vocab[idx] = vocab[pair[0]] + vocab[pair[1]]
    return merges, vocab
""")
lesson.mutant("train_bpe_fast", "never deletes pairs whose count dropped to 0", "count has dropped to 0", """
def train_bpe_fast(text, vocab_size):
    word_counts = Counter(split_words(text))
    words = [list(w.encode("utf-8")) for w in word_counts]
    freqs = list(word_counts.values())
    stats = Counter()
    where = defaultdict(set)
    for w, ids in enumerate(words):
        for pair in zip(ids, ids[1:]):
            stats[pair] += freqs[w]
            where[pair].add(w)
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    for idx in range(256, vocab_size):
        if not stats:
            break
        best = min(stats, key=lambda p: (-stats[p], p))
        for w in where.pop(best):
            old, new = words[w], merge(words[w], best, idx)
            for pair in zip(old, old[1:]):
                stats[pair] -= freqs[w]
            for pair in zip(new, new[1:]):
                stats[pair] += freqs[w]
                where[pair].add(w)
            words[w] = new
        merges[best] = idx
        vocab[idx] = vocab[best[0]] + vocab[best[1]]
    return merges, vocab
""")
lesson.mutant("train_bpe_fast", "is just the slow trainer", "at least 3x faster",
              "def train_bpe_fast(text, vocab_size):\n    return train_bpe(text, vocab_size)")


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("char_vocab", "dict.fromkeys keeps one of each", """
def char_vocab(text):
    return sorted(dict.fromkeys(text))
""")
lesson.alternative("char_vocab", "a loop that skips characters already seen, then list.sort", """
def char_vocab(text):
    seen = []
    for ch in text:
        if ch not in seen:
            seen.append(ch)
    seen.sort()
    return seen
""")
lesson.alternative("char_vocab", "the keys of a Counter", """
def char_vocab(text):
    return sorted(Counter(text).keys())
""")
lesson.alternative("get_stats", "Counter over zip, as a plain dict", """
def get_stats(ids):
    return dict(Counter(zip(ids, ids[1:])))
""")
lesson.alternative("get_stats", "index loop into a defaultdict", """
def get_stats(ids):
    counts = defaultdict(int)
    for i in range(len(ids) - 1):
        counts[ids[i], ids[i + 1]] += 1
    return counts
""")
lesson.alternative("get_stats", "the Counter itself", """
def get_stats(ids):
    return Counter(zip(ids, ids[1:]))
""")
lesson.alternative("merge", "for loop with a skip flag", """
def merge(ids, pair, idx):
    out, skip = [], False
    for i, token in enumerate(ids):
        if skip:
            skip = False
        elif i + 1 < len(ids) and token == pair[0] and ids[i + 1] == pair[1]:
            out.append(idx)
            skip = True
        else:
            out.append(token)
    return out
""")
lesson.alternative("merge", "slices compared with the pair as a list", """
def merge(ids, pair, idx):
    out, i, target = [], 0, list(pair)
    while i < len(ids):
        if ids[i:i + 2] == target:
            out += [idx]
            i += 2
        else:
            out += ids[i:i + 1]
            i += 1
    return out
""")
lesson.alternative("split_words", "tiktoken's spelling of the pattern (possessive quantifiers)", r'''
def split_words(text):
    pattern = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
    return regex.findall(pattern, text)
''')
lesson.alternative("split_words", "compiled pattern and finditer", """
def split_words(text):
    return [m.group(0) for m in regex.compile(GPT2_SPLIT_PATTERN).finditer(text)]
""")
_COUNT_CHUNKS = '''
    chunks = Counter(tuple(w.encode("utf-8")) for w in split_words(text))
'''
lesson.alternative("train_bpe", "chunks as tuples in a Counter, max with a reversed tie key", """
def train_bpe(text, vocab_size):""" + _COUNT_CHUNKS + """
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    for idx in range(256, vocab_size):
        stats = Counter()
        for chunk, n in chunks.items():
            for pair in zip(chunk, chunk[1:]):
                stats[pair] += n
        if not stats:
            break
        pair = max(stats, key=lambda p: (stats[p], -p[0], -p[1]))
        merged = Counter()
        for chunk, n in chunks.items():
            merged[tuple(merge(list(chunk), pair, idx))] += n
        chunks = merged
        merges[pair] = idx
        vocab[idx] = vocab[pair[0]] + vocab[pair[1]]
    return merges, vocab
""")
lesson.alternative("train_bpe", "get_stats per chunk, sorted to pick the best pair", """
def train_bpe(text, vocab_size):
    chunks = [[list(w.encode("utf-8")), n] for w, n in Counter(split_words(text)).items()]
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    while len(vocab) < vocab_size:
        stats = defaultdict(int)
        for ids, n in chunks:
            for pair, c in get_stats(ids).items():
                stats[pair] += c * n
        if not stats:
            break
        pair = sorted(stats.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        idx = len(vocab)
        for chunk in chunks:
            chunk[0] = merge(chunk[0], pair, idx)
        merges[pair] = idx
        vocab[idx] = vocab[pair[0]] + vocab[pair[1]]
    return merges, vocab
""")
lesson.alternative("decode", "a bytearray filled in a loop", """
def decode(ids, vocab):
    data = bytearray()
    for i in ids:
        data += vocab[i]
    return data.decode("utf-8", "replace")
""")
lesson.alternative("decode", "bytes.join over map, default encoding", """
def decode(ids, vocab):
    return bytes().join(map(vocab.__getitem__, ids)).decode(errors="replace")
""")
_BYTE_IDS = '''
    byte_id = {}
    for i, token in vocab.items():
        if len(token) == 1:
            byte_id[token[0]] = i
'''
lesson.alternative("encode", "scan the positions for the lowest-ranked pair (no get_stats)", """
def encode(text, merges, vocab):""" + _BYTE_IDS + """
    out = []
    for word in split_words(text):
        ids = [byte_id[b] for b in word.encode("utf-8")]
        while True:
            best = None
            for pair in zip(ids, ids[1:]):
                if pair in merges and (best is None or merges[pair] < merges[best]):
                    best = pair
            if best is None:
                break
            ids = merge(ids, best, merges[best])
        out += ids
    return out
""")
lesson.alternative("encode", "replay every merge in id order over each chunk, cached per chunk", """
def encode(text, merges, vocab):""" + _BYTE_IDS + """
    ordered = sorted(merges.items(), key=lambda kv: kv[1])
    cache = {}
    out = []
    for word in split_words(text):
        if word not in cache:
            ids = [byte_id[b] for b in word.encode("utf-8")]
            for pair, idx in ordered:
                if len(ids) < 2:
                    break
                if pair in zip(ids, ids[1:]):
                    ids = merge(ids, pair, idx)
            cache[word] = ids
        out.extend(cache[word])
    return out
""")
_LOAD_BY_STRINGS = '''
def load_gpt2(vocab_bpe_path, encoder_json_path):
    byte_of = {}
    for b, ch in bytes_to_unicode().items():
        byte_of[ch] = b
    with open(encoder_json_path, encoding="utf-8") as f:
        encoder = json.load(f)
    encoder.pop("<|endoftext|>")
    vocab = {i: bytes(byte_of[ch] for ch in token) for token, i in encoder.items()}
    merges = {}
    with open(vocab_bpe_path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\\n")
            if not line or line.startswith("#version"):
                continue
            a, b = line.split(" ")
            merges[(encoder[a], encoder[b])] = encoder[a + b]
    return merges, vocab
'''
lesson.alternative("load_gpt2", "merges looked up by the token strings themselves", _LOAD_BY_STRINGS)
lesson.alternative("load_gpt2", "bytes found by decoding the strings through a translation table", """
def load_gpt2(vocab_bpe_path, encoder_json_path):
    to_byte = {ord(ch): b for b, ch in bytes_to_unicode().items()}
    with open(encoder_json_path, encoding="utf-8") as f:
        encoder = json.load(f)
    vocab = {}
    for token, i in encoder.items():
        if token != "<|endoftext|>":
            vocab[i] = bytes(to_byte[ord(ch)] for ch in token)
    id_of = {v: k for k, v in vocab.items()}
    with open(vocab_bpe_path, encoding="utf-8") as f:
        lines = [line.split() for line in f.read().split("\\n")[1:] if line.strip()]
    merges = {}
    for a, b in lines:
        left = bytes(to_byte[ord(ch)] for ch in a)
        right = bytes(to_byte[ord(ch)] for ch in b)
        merges[id_of[left], id_of[right]] = id_of[left + right]
    return merges, vocab
""")
lesson.alternative("gpt2_matches_tiktoken", "encode scanning positions, with load_gpt2 by token strings", _LOAD_BY_STRINGS + """
def encode(text, merges, vocab):""" + _BYTE_IDS + """
    out = []
    for word in split_words(text):
        ids = [byte_id[b] for b in word.encode("utf-8")]
        while True:
            ranked = [(merges[p], p) for p in zip(ids, ids[1:]) if p in merges]
            if not ranked:
                break
            idx, pair = min(ranked)
            ids = merge(ids, pair, idx)
        out.extend(ids)
    return out
""")
lesson.alternative("gpt2_matches_tiktoken", "tiktoken's pattern in split_words, encode with a cache", r'''
def split_words(text):
    pattern = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
    return regex.findall(pattern, text)

_solution_encode = encode
def encode(text, merges, vocab):
    cache, out = {}, []
    for word in split_words(text):
        if word not in cache:
            cache[word] = _solution_encode(word, merges, vocab)
        out += cache[word]
    return out
''')
lesson.alternative("train_bpe_fast", "keeps zero counts but never picks them (stops when the best count is 0)", """
def train_bpe_fast(text, vocab_size):
    word_counts = Counter(split_words(text))
    words = [list(w.encode("utf-8")) for w in word_counts]
    freqs = list(word_counts.values())
    stats, where = Counter(), defaultdict(set)
    for w, ids in enumerate(words):
        for pair in zip(ids, ids[1:]):
            stats[pair] += freqs[w]
            where[pair].add(w)
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    for idx in range(256, vocab_size):
        best = max(stats, key=lambda p: (stats[p], -p[0], -p[1]), default=None)
        if best is None or stats[best] <= 0:
            break
        for w in where[best]:
            old = words[w]
            new = merge(old, best, idx)
            for pair in zip(old, old[1:]):
                stats[pair] -= freqs[w]
            for pair in zip(new, new[1:]):
                stats[pair] += freqs[w]
                where[pair].add(w)
            words[w] = new
        where[best] = set()
        merges[best] = idx
        vocab[idx] = vocab[best[0]] + vocab[best[1]]
    return merges, vocab
""")
lesson.alternative("train_bpe_fast", "distinct chunks as tuples; counts updated chunk by chunk with get_stats", """
def train_bpe_fast(text, vocab_size):
    chunks = Counter(tuple(w.encode("utf-8")) for w in split_words(text))
    words, freqs = [list(c) for c in chunks], list(chunks.values())
    stats = Counter()
    holders = defaultdict(set)
    for w, ids in enumerate(words):
        for pair, c in get_stats(ids).items():
            stats[pair] += c * freqs[w]
            holders[pair].add(w)
    merges, vocab = {}, {i: bytes([i]) for i in range(256)}
    idx = 256
    while idx < vocab_size and stats:
        best = min(stats.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        for w in list(holders.pop(best)):
            for pair, c in get_stats(words[w]).items():
                stats[pair] -= c * freqs[w]
                if not stats[pair]:
                    del stats[pair]
            words[w] = merge(words[w], best, idx)
            for pair, c in get_stats(words[w]).items():
                stats[pair] += c * freqs[w]
                holders[pair].add(w)
        merges[best] = idx
        vocab[idx] = vocab[best[0]] + vocab[best[1]]
        idx += 1
    return merges, vocab
""")
lesson.alternative("train_bpe_fast", "with a train_bpe that is itself incremental (the speed yardstick is a recount "
                   "with get_stats, not the learner's train_bpe)", """
train_bpe = train_bpe_fast
""")
