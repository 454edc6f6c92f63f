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
lesson.mutant("train_bpe_fast", "is just the slow trainer", "at least 3x faster",
              "def train_bpe_fast(text, vocab_size):\n    return train_bpe(text, vocab_size)")
