"""Checks for lesson 01 — tokenization (characters, byte-level BPE, GPT-2's tokenizer).

References are computed here, independently of the learner's code: pair counts with
``collections.Counter``, BPE training by a small reference trainer, and GPT-2 encoding by
``tiktoken`` itself (built offline from the same files).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from functools import lru_cache

import regex

from ..data import gpt2_files, load_shakespeare, tiktoken_gpt2
from ..feedback import describe, expect_equal, expect_type
from ..registry import CheckFailure, Namespace

from ..practice.lesson01 import lesson

# tiktoken's own spelling of GPT-2's split pattern (possessive quantifiers).
TIKTOKEN_GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""

UNICODE_SAMPLES = [
    "", "a", "Hello world", "héllo wörld", "こんにちは世界", "👋🏽 emoji and ZWJ 👩‍👩‍👧",
    "Ünïcödé — dashes “quotes”", "tabs\tand\nnewlines\n\n\n", "   leading and trailing   ",
    "I'm here; you're there, it's 12345 o'clock!", "x" * 40, "def f(x):\n    return x ** 2\n",
    "ŁÓDŹ ñandú ÆØÅ", "\u200bzero\u200bwidth", "数字123と記号!?", "العربية עברית", "mixed  double  spaces",
]


# ---------------------------------------------------------------- references

def _ref_stats(ids: list[int]) -> dict[tuple[int, int], int]:
    return dict(Counter(zip(ids, ids[1:])))


def _ref_merge(ids: list[int], pair: tuple[int, int], idx: int) -> list[int]:
    result, i = [], 0
    while i < len(ids):
        if tuple(ids[i:i + 2]) == pair:
            result.append(idx)
            i += 2
        else:
            result.append(ids[i])
            i += 1
    return result


def _ref_words(text: str) -> list[str]:
    return regex.findall(TIKTOKEN_GPT2_PATTERN, text)


def _ref_train(text: str, vocab_size: int) -> list[tuple[int, int]]:
    """The reference merge sequence (pairs, in order)."""
    counts = Counter(_ref_words(text))
    words = {tuple(w.encode("utf-8")): c for w, c in counts.items()}
    order: list[tuple[int, int]] = []
    for idx in range(256, vocab_size):
        stats: Counter = Counter()
        for ids, c in words.items():
            for pair in zip(ids, ids[1:]):
                stats[pair] += c
        if not stats:
            break
        best = min(stats, key=lambda p: (-stats[p], p))
        order.append(best)
        merged: Counter = Counter()
        for ids, c in words.items():
            merged[tuple(_ref_merge(list(ids), best, idx))] += c
        words = merged
    return order


@lru_cache(maxsize=1)
def _corpus() -> str:
    return load_shakespeare()


def _call_train(ns: Namespace, name: str, text: str, vocab_size: int) -> tuple[dict, dict]:
    result = getattr(ns, name)(text, vocab_size)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"{name} should return a pair (merges, vocab), but returned {describe(result)}.")
    merges, vocab = result
    expect_type(merges, dict, f"the merges returned by {name}")
    expect_type(vocab, dict, f"the vocab returned by {name}")
    return merges, vocab


# ---------------------------------------------------------------- exercises

@lesson.grading("char_vocab")
def check_char_vocab(ns: Namespace) -> None:
    for text in ["hello", "abracadabra", "", "Zebra ändert 世界 zebra!", _corpus()[:3000]]:
        got = ns.char_vocab(text)
        expect_type(got, list, f"char_vocab({text[:20]!r})")
        if len(got) != len(set(got)):
            raise CheckFailure(f"char_vocab({text[:20]!r}) contains duplicates: {describe(got)}.",
                               "Each character must appear once: build a set first.")
        expect_equal(sorted(got), sorted(set(text)), f"the characters of char_vocab({text[:20]!r})")
        if got != sorted(got):
            raise CheckFailure(f"char_vocab({text[:20]!r}) is not sorted: {describe(got)}.",
                               "Sort the characters, so that ids do not depend on the order of a set.")


@lesson.grading("get_stats")
def check_get_stats(ns: Namespace) -> None:
    expect_equal(ns.get_stats([]), {}, "get_stats([])")
    expect_equal(ns.get_stats([5]), {}, "get_stats([5]) (no pairs in a one-element list)")
    got = ns.get_stats([7, 7, 7])
    if got == {(7, 7): 1}:
        raise CheckFailure("get_stats([7, 7, 7]) returned {(7, 7): 1}, expected {(7, 7): 2}.",
                           "Pairs overlap: count the pair at every position i, not every other one.")
    expect_equal(got, {(7, 7): 2}, "get_stats([7, 7, 7])")
    rng = random.Random(1)
    for _ in range(20):
        ids = [rng.randrange(6) for _ in range(rng.randrange(2, 60))]
        got = ns.get_stats(list(ids))
        expect_type(got, dict, "get_stats(ids)", "Return a dict {(a, b): count}.")
        expect_equal(dict(got), _ref_stats(ids), f"get_stats({ids[:12]}{'...' if len(ids) > 12 else ''})")


@lesson.grading("merge")
def check_merge(ns: Namespace) -> None:
    cases = [([1, 2, 3, 1, 2], (1, 2), 9, "both occurrences"), ([7, 7, 7], (7, 7), 99, "overlapping pair"),
             ([5, 6, 1, 2], (1, 2), 9, "pair at the very end"), ([1, 2], (1, 2), 9, "the whole list"),
             ([3, 4, 5], (1, 2), 9, "pair absent"), ([], (1, 2), 9, "empty list"), ([1], (1, 2), 9, "one element")]
    rng = random.Random(2)
    cases += [([rng.randrange(4) for _ in range(30)], (rng.randrange(4), rng.randrange(4)), 50, "random list")
              for _ in range(10)]
    for ids, pair, idx, what in cases:
        original = list(ids)
        got = ns.merge(ids, pair, idx)
        if ids != original:
            raise CheckFailure(f"merge changed its input list ({what}): {original} became {ids}.",
                               "Build and return a new list; do not modify `ids`.")
        want = _ref_merge(original, pair, idx)
        if isinstance(got, list) and got == want[:-1] and want:
            raise CheckFailure(f"merge({original}, {pair}, {idx}) lost the last element: got {got}, "
                               f"expected {want}.", "When the loop stops at len(ids) - 1, the last "
                               "element still has to be copied.")
        expect_equal(got, want, f"merge({original}, {pair}, {idx}) ({what})",
                     "Scan left to right; on a match emit idx and skip two places, otherwise copy one.")


@lesson.grading("split_words")
def check_split_words(ns: Namespace) -> None:
    for text in UNICODE_SAMPLES + [_corpus()[:2000]]:
        got = ns.split_words(text)
        expect_type(got, list, f"split_words({text[:20]!r})")
        if "".join(got) != text:
            raise CheckFailure(f"joining split_words({text[:30]!r}) does not give back the text: "
                               f"{describe(got)}.", "Whitespace must be kept: use the GPT-2 pattern, not str.split().")
        expect_equal(got, _ref_words(text), f"split_words({text[:30]!r})",
                     "Use the GPT-2 pattern exactly as given; a space belongs to the word after it.")


@lesson.grading("train_bpe")
def check_train_bpe(ns: Namespace) -> None:
    for text, vocab_size in [("aaabdaaabac", 259), (_corpus()[:20_000], 300)]:
        merges, vocab = _call_train(ns, "train_bpe", text, vocab_size)
        _check_merges(text, vocab_size, merges, vocab)
    for idx, token in [(0, b"\x00"), (97, b"a"), (255, b"\xff"), (256, b" t")]:
        if vocab.get(idx) != token:
            raise CheckFailure(f"vocab[{idx}] should be {token!r}, got {vocab.get(idx)!r}.",
                               "vocab starts as {i: bytes([i])} and each merge adds vocab[a] + vocab[b].")


def _check_merges(text: str, vocab_size: int, merges: dict, vocab: dict) -> None:
    """Compare learned merges with the reference; explain the first difference."""
    reference = _ref_train(text, vocab_size)
    call = f"train_bpe({text[:12]!r}{'...' if len(text) > 12 else ''}, {vocab_size})"
    ids = sorted(merges.values()) if all(isinstance(i, int) for i in merges.values()) else []
    if ids != list(range(256, 256 + len(merges))):
        raise CheckFailure(f"{call}: new token ids should count up from 256; got {describe(ids or list(merges.values()))}.")
    if len(merges) != len(reference):
        raise CheckFailure(f"{call} learned {len(merges)} merges, expected {len(reference)} (vocab_size - 256).")
    got_pairs = [tuple(p) for p, _ in sorted(merges.items(), key=lambda kv: kv[1])]
    if got_pairs == reference:
        for pair, idx in merges.items():
            if vocab.get(idx) != vocab.get(pair[0], b"") + vocab.get(pair[1], b""):
                raise CheckFailure(f"{call}: vocab[{idx}] should be vocab[{pair[0]}] + vocab[{pair[1]}].",
                                   "Add vocab[idx] = vocab[a] + vocab[b] with every merge.")
        return
    k = next(i for i, (a, b) in enumerate(zip(got_pairs, reference)) if a != b)
    message = (f"{call}: merge #{k + 1} (id {256 + k}) is {got_pairs[k]} = {_show(vocab, got_pairs[k])}, "
               f"but the most frequent pair at that point is {reference[k]}.")
    initial: Counter = Counter()
    for word, c in Counter(_ref_words(text)).items():
        ids = list(word.encode("utf-8"))
        for pair in zip(ids, ids[1:]):
            initial[pair] += c
    top_initial = sorted(initial, key=lambda p: (-initial[p], p))
    if got_pairs[:k + 1] == top_initial[:k + 1]:
        raise CheckFailure(message + " Your merges follow the pair counts of the *original* text.",
                           "Count the pairs again after every merge: merging changes the counts.")
    raw_stats = _ref_stats(list(text.encode("utf-8")))
    if got_pairs[k] in raw_stats and got_pairs[k] not in initial:
        raise CheckFailure(message + " That pair spans two words: pairs were counted across word boundaries.",
                           "Split with split_words first, count each distinct chunk, and weight its pairs by its count.")
    if _counts_after(text, reference[:k]).get(got_pairs[k]) == _counts_after(text, reference[:k])[reference[k]]:
        raise CheckFailure(message + " Both are equally frequent.",
                           "Ties go to the smallest pair: min(stats, key=lambda p: (-stats[p], p)).")
    raise CheckFailure(message, "Weight each chunk's pairs by how often the chunk occurs, and break ties "
                       "with min(stats, key=lambda p: (-stats[p], p)).")


def _counts_after(text: str, pairs: list[tuple[int, int]]) -> Counter:
    """Weighted pair counts after applying the first merges of the reference."""
    counts: Counter = Counter()
    for word, c in Counter(_ref_words(text)).items():
        ids = list(word.encode("utf-8"))
        for i, pair in enumerate(pairs):
            ids = _ref_merge(ids, pair, 256 + i)
        for pair in zip(ids, ids[1:]):
            counts[pair] += c
    return counts


def _show(vocab: dict, pair: tuple[int, int]) -> str:
    return repr(vocab.get(pair[0], b"?") + vocab.get(pair[1], b"?"))


@lesson.grading("decode")
def check_decode(ns: Namespace) -> None:
    vocab = {i: bytes([i]) for i in range(256)}
    vocab.update({256: b"he", 257: b"llo", 258: b" w\xc3\xb6"})
    cases = [([], ""), ([256, 257], "hello"), ([256, 257, 258, 114, 108, 100], "hello wörld"),
             ([240, 159, 145, 139], "👋"), ([33], "!")]
    for ids, want in cases:
        got = ns.decode(ids, vocab)
        if isinstance(got, str) and want and got == want[:-1]:
            raise CheckFailure(f"decode({ids}) lost the last character: got {got!r}, expected {want!r}.",
                               "Join the bytes of *every* id.")
        expect_equal(got, want, f"decode({ids})", "Join vocab[i] for all ids, then .decode('utf-8').")
    try:
        got = ns.decode([104, 105, 0xE4], vocab)  # 'hi' + the first byte of a 3-byte character
    except UnicodeDecodeError:
        raise CheckFailure("decode raised UnicodeDecodeError on ids that end in half a character.",
                           "Decode with errors='replace' so invalid bytes become '\\ufffd'.") from None
    expect_equal(got, "hi\ufffd", "decode of 'hi' plus half a character", "Use errors='replace'.")


@lesson.grading("encode")
def check_encode(ns: Namespace) -> None:
    base = {i: bytes([i]) for i in range(256)}
    wiki = {(97, 97): 256, (97, 98): 257, (256, 257): 258}
    vocab = {**base, 256: b"aa", 257: b"ab", 258: b"aaab"}
    expect_equal(ns.encode("aaabdaaabac", wiki, vocab), [258, 100, 258, 97, 99], "encode('aaabdaaabac')")
    order = {(98, 99): 256, (97, 98): 257}
    got = ns.encode("abc", order, {**base, 256: b"bc", 257: b"ab"})
    if got == [257, 99]:
        raise CheckFailure("with merges {(b, c): 256, (a, b): 257}, encode('abc') gave [257, 99]; "
                           "expected [97, 256].",
                           "Apply merges in the order they were learned: always merge the pair with the lowest id.")
    expect_equal(got, [97, 256], "encode('abc') with merges {(b,c): 256, (a,b): 257}")
    got = ns.encode("ab ab", {(98, 32): 256, (97, 98): 257}, {**base, 256: b"b ", 257: b"ab"})
    if isinstance(got, list) and 256 in got:
        raise CheckFailure(f"with merges {{(b, ' '): 256, (a, b): 257}}, encode('ab ab') gave {got}: a merge crossed "
                           "the space, so the space was not kept with the word after it.",
                           "Encode each chunk of split_words(text) separately; merges never cross chunks.")
    expect_equal(got, [257, 32, 257], "encode('ab ab') with merges {(b, ' '): 256, (a, b): 257}")

    text = _corpus()[:20_000]
    merges = {pair: 256 + i for i, pair in enumerate(_ref_train(text, 320))}
    vocab = dict(base)
    for (a, b), idx in sorted(merges.items(), key=lambda kv: kv[1]):
        vocab[idx] = vocab[a] + vocab[b]
    for sample in UNICODE_SAMPLES + [_corpus()[50_000:51_000]]:
        ids = ns.encode(sample, merges, vocab)
        expect_type(ids, list, f"encode({sample[:20]!r})")
        if any(not isinstance(i, int) or i not in vocab for i in ids):
            raise CheckFailure(f"encode({sample[:20]!r}) returned ids that are not in vocab: {describe(ids)}.")
        round_trip = b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
        if round_trip != sample:
            raise CheckFailure(f"decoding encode({sample[:30]!r}) gives {round_trip[:30]!r}, not the input.",
                               "Encode every byte of every chunk; drop nothing.")
        want = _ref_encode(sample, merges)
        expect_equal(ids, want, f"encode({sample[:30]!r})",
                     "Within each chunk, keep merging the pair with the lowest merge id until none is left.")


def _ref_encode(text: str, merges: dict[tuple[int, int], int]) -> list[int]:
    out: list[int] = []
    for word in _ref_words(text):
        ids = list(word.encode("utf-8"))
        while True:
            candidates = [(merges[p], p) for p in zip(ids, ids[1:]) if p in merges]
            if not candidates:
                break
            idx, pair = min(candidates)
            ids = _ref_merge(ids, pair, idx)
        out.extend(ids)
    return out


@lru_cache(maxsize=1)
def _tiktoken_ranks() -> dict[bytes, int]:
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    vocab_bpe, encoder_json = gpt2_files()
    return data_gym_to_mergeable_bpe_ranks(str(vocab_bpe), str(encoder_json))


def _load_gpt2(ns: Namespace) -> tuple[dict, dict]:
    vocab_bpe, encoder_json = gpt2_files()
    result = ns.load_gpt2(str(vocab_bpe), str(encoder_json))
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"load_gpt2 should return (merges, vocab), got {describe(result)}.")
    merges, vocab = result
    expect_type(merges, dict, "the merges returned by load_gpt2")
    expect_type(vocab, dict, "the vocab returned by load_gpt2")
    return merges, vocab


@lesson.grading("load_gpt2")
def check_load_gpt2(ns: Namespace) -> None:
    merges, vocab = _load_gpt2(ns)
    if len(vocab) != 50256:
        raise CheckFailure(f"vocab has {len(vocab):,} tokens, expected 50,256 (every token of encoder.json "
                           "except <|endoftext|>).")
    if vocab.get(15496) != b"Hello":
        hint = ""
        if vocab.get(15496) == "Hello":
            hint = "Store bytes, not str: map each character back to its byte with the reversed bytes_to_unicode table."
        raise CheckFailure(f"vocab[15496] should be b'Hello', got {vocab.get(15496)!r}.", hint)
    if vocab.get(220) != b" ":
        raise CheckFailure(f"vocab[220] (written 'Ġ' in the file) should be b' ', got {vocab.get(220)!r}.",
                           "'Ġ' is GPT-2's printable stand-in for the space byte: use the reversed "
                           "bytes_to_unicode() table, not str.encode().")
    ranks = _tiktoken_ranks()
    for token, rank in ranks.items():
        if vocab.get(rank) != token:
            raise CheckFailure(f"vocab[{rank}] should be {token!r}, got {vocab.get(rank)!r}.",
                               "Convert every token string to bytes through the reversed bytes_to_unicode() table.")
    if len(merges) != 50000:
        raise CheckFailure(f"merges has {len(merges):,} entries, expected 50,000 (one per line of vocab.bpe "
                           "after the #version line).")
    if merges.get((220, 83)) != 256:
        raise CheckFailure(f"the first merge 'Ġ t' should be (220, 83) -> 256, got {merges.get((220, 83))!r}.",
                           "Look the ids up in vocab by their bytes.")
    for (a, b), idx in merges.items():
        if vocab.get(idx) != vocab.get(a, b"") + vocab.get(b, b"x"):
            raise CheckFailure(f"merge ({a}, {b}) -> {idx}: vocab[{idx}] = {vocab.get(idx)!r} is not "
                               f"vocab[{a}] + vocab[{b}].")


@lesson.grading("gpt2_matches_tiktoken")
def check_gpt2_matches_tiktoken(ns: Namespace) -> None:
    merges, vocab = _load_gpt2(ns)
    enc = tiktoken_gpt2()
    samples = UNICODE_SAMPLES + [_corpus()[:4000], "<|endoftext|> is just text here",
                                 "GPT-2 was released in 2019 by OpenAI.", " " * 7 + "\n" * 3 + "end"]
    for sample in samples:
        want = enc.encode(sample, disallowed_special=())
        got = ns.encode(sample, merges, vocab)
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            raise CheckFailure(
                f"encode({sample[:30]!r}) with GPT-2's merges differs from tiktoken at position {first}:\n"
                f"    tiktoken: {describe(want[max(0, first - 2):first + 6])}\n"
                f"    yours:    {describe(got[max(0, first - 2):first + 6]) if isinstance(got, list) else describe(got)}")


@lesson.grading("train_bpe_fast")
def check_train_bpe_fast(ns: Namespace) -> None:
    text, vocab_size = _corpus()[:40_000], 360
    start = time.perf_counter()
    merges, vocab = _call_train(ns, "train_bpe_fast", text, vocab_size)
    fast_s = time.perf_counter() - start
    reference = _ref_train(text, vocab_size)
    got_pairs = [tuple(p) for p, _ in sorted(merges.items(), key=lambda kv: kv[1])]
    if got_pairs != reference:
        k = next((i for i, (a, b) in enumerate(zip(got_pairs, reference)) if a != b), min(len(got_pairs), len(reference)))
        raise CheckFailure(f"train_bpe_fast learned different merges than train_bpe should: first difference at "
                           f"merge #{k + 1}.", "When updating counts, subtract the chunk's old pairs and add its new ones, "
                           "weighted by the chunk's frequency.")
    start = time.perf_counter()
    _ref_train(text, vocab_size)
    slow_s = time.perf_counter() - start
    if fast_s * 3 > slow_s:
        raise CheckFailure(f"train_bpe_fast took {fast_s:.2f} s, but a plain recount-everything trainer takes "
                           f"{slow_s:.2f} s: it must be at least 3x faster.", lesson.get("train_bpe_fast").hint)


# ---------------------------------------------------------------- mutants (known-buggy variants)

