"""Grading checks for lesson 01 — tokenization (characters, byte-level BPE, GPT-2's tokenizer).

References are computed independently of the learner's code: pair counts, merging, training
and encoding by the plain reference BPE (:mod:`autograder.reference.bpe`), and GPT-2 encoding
by ``tiktoken`` itself (built offline from the same files).  Random inputs are seeded; a wrong
merge sequence is explained by replaying the reference up to the first difference.
"""

from __future__ import annotations

import random

from ..feedback import Mistake, describe, expect_close, expect_equal, expect_type
from ..reference import bpe
from ..registry import CheckFailure, Namespace

from ..practice.lesson01 import (SHAKESPEARE_20K, SPEED_TEXT_SIZE, SPEED_VOCAB, SPLIT_EXAMPLE, UNICODE_SAMPLES,
                                 WIKI, call_train, expect_faster_than_recounting, expect_vocab_of_merges, gpt2_matches_tiktoken, lesson,
                                 load_gpt2_check, merge_order, shakespeare, show)


# ---------------------------------------------------------------- 1-4. vocabulary, pairs, merges, chunks

@lesson.grading("char_vocab")
def check_char_vocab(ns: Namespace) -> None:
    for text in ["hello", "abracadabra", "", "Zebra ändert 世界 zebra!", shakespeare()[:3000]]:
        what = f"char_vocab({show(text)})"
        got = ns.char_vocab(text)
        expect_type(got, list, what)
        if len(got) != len(set(got)):
            raise CheckFailure(f"{what} contains duplicates: {describe(got)}.",
                               "Each character must appear once: build a set first.")
        expect_equal(sorted(got), sorted(set(text)), f"the characters of {what}")
        if got != sorted(got):
            raise CheckFailure(f"{what} is not sorted: {describe(got)}.",
                               "Sort the characters, so that ids do not depend on the order of a set.")


@lesson.grading("get_stats")
def check_get_stats(ns: Namespace) -> None:
    expect_equal(ns.get_stats([]), {}, "get_stats([])")
    expect_equal(ns.get_stats([5]), {}, "get_stats([5]) (no pairs in a one-element list)")
    got = ns.get_stats([7, 7, 7])
    expect_close(got, {(7, 7): 2}, "get_stats([7, 7, 7])",
                 mistakes=[Mistake({(7, 7): 1}, "returned {(7, 7): 1}, but the pair (7, 7) starts at positions 0 and 1.",
                                   "Pairs overlap: count the pair at every position i, not every other one.")])
    rng = random.Random(1)
    for _ in range(20):
        ids = [rng.randrange(6) for _ in range(rng.randrange(2, 60))]
        got = ns.get_stats(list(ids))
        what = f"get_stats({ids[:12]}{'...' if len(ids) > 12 else ''})"
        expect_type(got, dict, what, "Return a dict {(a, b): count}.")
        expect_close(dict(got), bpe.pair_counts(ids), what, "Count every adjacent pair; pairs overlap.")


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
        want = bpe.merge_pair(original, pair, idx)
        expect_close(got, want, f"merge({original}, {pair}, {idx}) ({what})",
                     "Scan left to right; on a match emit idx and skip two places, otherwise copy one.",
                     mistakes=[Mistake(want[:-1], "lost the last element.",
                                       "When the loop stops at len(ids) - 1, the last element still has to be copied.")]
                     if want else [])


@lesson.grading("split_words")
def check_split_words(ns: Namespace) -> None:
    for text in [SPLIT_EXAMPLE] + UNICODE_SAMPLES + [shakespeare()[:2000]]:
        got = ns.split_words(text)
        what = f"split_words({text!r})" if len(text) < 100 else "split_words(the first 2,000 characters of Shakespeare)"
        expect_type(got, list, what)
        if "".join(got) != text:
            raise CheckFailure(f"joining the chunks of {what} does not give back the text: {describe(got)}.",
                               "Whitespace must be kept: use the GPT-2 pattern, not str.split().")
        expect_close(got, bpe.gpt2_words(text), what,
                     "Use the GPT-2 pattern exactly as given; a space belongs to the word after it.")


# ---------------------------------------------------------------- 5. training

def explain_merges(name: str, text: str, what: str, vocab_size: int, merges: dict, vocab: dict,
                   runs_out: bool = False) -> None:
    """Compare learned merges with the reference trainer's; explain the first difference."""
    reference = bpe.train(text, vocab_size)
    call = f"{name}({what}, {vocab_size})"
    got_pairs = merge_order(merges, call)
    if got_pairs == reference:
        expect_vocab_of_merges(merges, vocab, call)
        return
    k = next((i for i, (a, b) in enumerate(zip(got_pairs, reference)) if a != b), None)
    if k is None:
        extra = " (the text has no pairs left to merge after that: stop early)" if runs_out else " (vocab_size - 256)"
        raise CheckFailure(f"{call} learned {len(got_pairs)} merges, expected {len(reference)}{extra}; the first "
                           f"{min(len(got_pairs), len(reference))} agree.",
                           "Stop when no pair is left, and delete pairs whose count drops to 0."
                           if runs_out else "Train until the vocabulary has vocab_size tokens.")
    shown = bpe.vocab_of(got_pairs)
    message = (f"{call}: merge #{k + 1} (id {256 + k}) is {got_pairs[k]} = "
               f"{shown.get(got_pairs[k][0], b'?') + shown.get(got_pairs[k][1], b'?')!r}, "
               f"but the most frequent pair at that point is {reference[k]}.")
    initial = bpe.weighted_pair_counts(bpe.chunk_counts(text))
    if got_pairs[k] in bpe.pair_counts(list(text.encode("utf-8"))) and got_pairs[k] not in initial:
        raise CheckFailure(message + " That pair spans two words: pairs were counted across word boundaries.",
                           "Split with split_words first, count each distinct chunk, and weight its pairs by its count.")
    top_initial = sorted(initial, key=lambda p: (-initial[p], p))
    if got_pairs[:k + 1] == top_initial[:k + 1]:
        raise CheckFailure(message + " Your merges follow the pair counts of the *original* text.",
                           "Count the pairs again after every merge: merging changes the counts.")
    before = bpe.counts_after(text, reference[:k])
    if before.get(got_pairs[k], 0) == 0:
        raise CheckFailure(message + f" Your pair {got_pairs[k]} does not occur at all at that point (its count is 0).",
                           "Only pairs that occur can be merged: delete pairs whose count has dropped to 0.")
    if before.get(got_pairs[k]) == before[reference[k]]:
        raise CheckFailure(message + " Both are equally frequent.",
                           "Ties go to the smallest pair (compare the first id, then the second).")
    raise CheckFailure(message, "Weight each chunk's pairs by how often the chunk occurs, and break ties with the "
                       "smallest pair.")


@lesson.grading("train_bpe")
def check_train_bpe(ns: Namespace) -> None:
    for text, what, vocab_size, runs_out in [(WIKI, repr(WIKI), 259, False), (WIKI, repr(WIKI), 300, True),
                                             (shakespeare()[:20_000], SHAKESPEARE_20K, 300, False)]:
        merges, vocab = call_train(ns, "train_bpe", text, vocab_size, runs_out)
        explain_merges("train_bpe", text, what, vocab_size, merges, vocab, runs_out)
    for idx, token in [(0, b"\x00"), (97, b"a"), (255, b"\xff"), (256, b" t")]:
        if vocab.get(idx) != token:
            raise CheckFailure(f"vocab[{idx}] should be {token!r}, got {vocab.get(idx)!r}.",
                               "vocab starts as the 256 single bytes, and each merge adds the bytes of its two halves.")


# ---------------------------------------------------------------- 6-7. decoding and encoding

@lesson.grading("decode")
def check_decode(ns: Namespace) -> None:
    vocab = {i: bytes([i]) for i in range(256)}
    vocab.update({256: b"he", 257: b"llo", 258: b" w\xc3\xb6"})
    cases = [([], ""), ([256, 257], "hello"), ([256, 257, 258, 114, 108, 100], "hello wörld"),
             ([240, 159, 145, 139], "👋"), ([33], "!")]
    for ids, want in cases:
        expect_close(ns.decode(ids, vocab), want, f"decode({ids})", "Join the bytes of every id, then decode them.",
                     mistakes=[Mistake(want[:-1], "lost the last character.", "Join the bytes of *every* id.")]
                     if want else [])
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
    expect_equal(ns.encode(WIKI, wiki, vocab), [258, 100, 258, 97, 99], "encode('aaabdaaabac')")
    got = ns.encode("abc", {(98, 99): 256, (97, 98): 257}, {**base, 256: b"bc", 257: b"ab"})
    expect_close(got, [97, 256], "encode('abc') with merges {(b, c): 256, (a, b): 257}",
                 mistakes=[Mistake([257, 99], "gave [257, 99]: the pair (a, b) was merged first because it comes "
                                   "first in the text, but (b, c) was learned earlier (lowest id).",
                                   "Apply merges in the order they were learned: always merge the pair with the lowest id.")])
    got = ns.encode("ab ab", {(98, 32): 256, (97, 98): 257}, {**base, 256: b"b ", 257: b"ab"})
    if isinstance(got, list) and 256 in got:
        raise CheckFailure(f"encode('ab ab') with merges {{(b, ' '): 256, (a, b): 257}} gave {got}: a merge crossed "
                           "the space, so the space was not kept with the word after it.",
                           "Encode each chunk of split_words(text) separately; merges never cross chunks.")
    expect_equal(got, [257, 32, 257], "encode('ab ab') with merges {(b, ' '): 256, (a, b): 257}")

    merges = {pair: 256 + i for i, pair in enumerate(bpe.train(shakespeare()[:20_000], 320))}
    vocab = bpe.vocab_of(list(merges))
    for sample in UNICODE_SAMPLES + [shakespeare()[50_000:51_000]]:
        what = f"encode({show(sample, 30)}) with 64 merges learned from Shakespeare"
        ids = ns.encode(sample, merges, vocab)
        expect_type(ids, list, what)
        if any(not isinstance(i, int) or i not in vocab for i in ids):
            raise CheckFailure(f"{what} returned ids that are not in vocab: {describe(ids)}.")
        round_trip = b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
        if round_trip != sample:
            raise CheckFailure(f"decoding {what} gives {round_trip[:30]!r}, not the input.",
                               "Encode every byte of every chunk; drop nothing.")
        expect_close(ids, bpe.encode(sample, merges), what,
                     "Within each chunk, keep merging the pair with the lowest merge id until none is left.")


# ---------------------------------------------------------------- 8-9. GPT-2's tokenizer

lesson.grading("load_gpt2")(load_gpt2_check)          # tiktoken's own reading of the files is the reference
lesson.grading("gpt2_matches_tiktoken")(gpt2_matches_tiktoken)


# ---------------------------------------------------------------- 10. a faster trainer

@lesson.grading("train_bpe_fast")
def check_train_bpe_fast(ns: Namespace) -> None:
    merges, vocab = call_train(ns, "train_bpe_fast", WIKI, 300, runs_out=True)
    explain_merges("train_bpe_fast", WIKI, repr(WIKI), 300, merges, vocab, runs_out=True)
    text, vocab_size = shakespeare()[:SPEED_TEXT_SIZE], SPEED_VOCAB
    what = f"the first {SPEED_TEXT_SIZE:,} characters of Shakespeare"
    merges, vocab = call_train(ns, "train_bpe_fast", text, vocab_size)
    explain_merges("train_bpe_fast", text, what, vocab_size, merges, vocab)
    expect_faster_than_recounting(ns, text, vocab_size, what)