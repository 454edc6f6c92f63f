"""Reference byte-level BPE (lesson 01): the grading checks compare a learner's tokenizer with it.

Plain and slow on purpose, so that it is obviously right: pair counts with ``Counter``, a
merge by scanning, training that recounts every pair after every merge, and encoding that
replays the merges earliest first inside each GPT-2 chunk.  Never shipped to students.
"""

from __future__ import annotations

from collections import Counter

import regex

# tiktoken's own spelling of GPT-2's split pattern (possessive quantifiers); it splits text
# exactly as the pattern in the lesson does.
TIKTOKEN_GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""

Pair = tuple[int, int]


def gpt2_words(text: str) -> list[str]:
    """GPT-2's pre-tokenization: the chunks BPE merges inside of."""
    return regex.findall(TIKTOKEN_GPT2_PATTERN, text)


def pair_counts(ids: list[int]) -> dict[Pair, int]:
    """How often each adjacent pair occurs in ``ids`` (pairs overlap)."""
    return dict(Counter(zip(ids, ids[1:])))


def merge_pair(ids: list[int], pair: Pair, idx: int) -> list[int]:
    """``ids`` with every occurrence of ``pair``, left to right, replaced by ``idx``."""
    result, i = [], 0
    while i < len(ids):
        if tuple(ids[i:i + 2]) == pair:
            result.append(idx)
            i += 2
        else:
            result.append(ids[i])
            i += 1
    return result


def chunk_counts(text: str) -> Counter:
    """{chunk as a tuple of its UTF-8 bytes: how often it occurs in ``text``}."""
    counts: Counter = Counter()
    for word, c in Counter(gpt2_words(text)).items():
        counts[tuple(word.encode("utf-8"))] += c
    return counts


def weighted_pair_counts(chunks: Counter) -> Counter:
    """Pair counts over all chunks, each chunk's pairs counted as often as the chunk occurs."""
    stats: Counter = Counter()
    for ids, c in chunks.items():
        for pair in zip(ids, ids[1:]):
            stats[pair] += c
    return stats


def train(text: str, vocab_size: int) -> list[Pair]:
    """The merges BPE learns from ``text`` up to ``vocab_size`` tokens, in the order learned.

    Ties go to the smallest pair; training stops early when no pair is left.
    """
    chunks = chunk_counts(text)
    order: list[Pair] = []
    for idx in range(256, vocab_size):
        stats = weighted_pair_counts(chunks)
        if not stats:
            break
        best = min(stats, key=lambda p: (-stats[p], p))
        order.append(best)
        merged: Counter = Counter()
        for ids, c in chunks.items():
            merged[tuple(merge_pair(list(ids), best, idx))] += c
        chunks = merged
    return order


def counts_after(text: str, pairs: list[Pair]) -> Counter:
    """The weighted pair counts once the merges ``pairs`` (ids 256, 257, ...) have been applied."""
    chunks: Counter = Counter()
    for ids, c in chunk_counts(text).items():
        ids = list(ids)
        for i, pair in enumerate(pairs):
            ids = merge_pair(ids, pair, 256 + i)
        chunks[tuple(ids)] += c
    return weighted_pair_counts(chunks)


def vocab_of(pairs: list[Pair]) -> dict[int, bytes]:
    """{id: bytes} for the 256 bytes and the merges ``pairs`` (ids 256, 257, ...)."""
    vocab = {i: bytes([i]) for i in range(256)}
    for i, (a, b) in enumerate(pairs):
        vocab[256 + i] = vocab[a] + vocab[b]
    return vocab


def encode(text: str, merges: dict[Pair, int]) -> list[int]:
    """Token ids of ``text`` for a tokenizer whose byte ids are the byte values (one we trained)."""
    out: list[int] = []
    for word in gpt2_words(text):
        ids = list(word.encode("utf-8"))
        while True:
            candidates = [(merges[p], p) for p in zip(ids, ids[1:]) if p in merges]
            if not candidates:
                break
            idx, pair = min(candidates)
            ids = merge_pair(ids, pair, idx)
        out.extend(ids)
    return out
