"""Practice checks for lesson 01 — tokenization (characters, byte-level BPE, GPT-2's tokenizer).

Shipped to students: no solution code in here.  Expected values come from small worked examples
written out (Wikipedia's ``aaabdaaabac``, merged step by step), from properties (a vocabulary is
sorted and has no duplicates, pair counts add up to ``len(ids) - 1``, the chunks join back into
the text, ``merge`` leaves its input alone), from ``tiktoken``, the lesson's reference (GPT-2's
own ids, and BPE encoding with a small merge table written out below), and from stored outputs
of the solution on seeded inputs and on Shakespeare (``examples/01_tokenization.json``), which
also name the known mistakes.
"""

from __future__ import annotations

import random
import time
from functools import lru_cache
from typing import Any

from ..data import GPT2_PATTERN, gpt2_files, load_shakespeare, tiktoken_gpt2
from ..feedback import describe, expect_type
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("01", "tokenization", "Tokenization: characters, BPE and GPT-2's tokenizer")
stored = lesson.examples

UNICODE_SAMPLES = [
    "", "a", "Hello world", "héllo wörld", "こんにちは世界", "👋🏽 emoji and ZWJ 👩‍👩‍👧",
    "Ünïcödé — dashes “quotes”", "tabs\tand\nnewlines\n\n\n", "   leading and trailing   ",
    "I'm here; you're there, it's 12345 o'clock!", "x" * 40, "def f(x):\n    return x ** 2\n",
    "ŁÓDŹ ñandú ÆØÅ", "\u200bzero\u200bwidth", "数字123と記号!?", "العربية עברית", "mixed  double  spaces",
]

# Wikipedia's example, trained to 300 tokens: it runs out of pairs after 7 merges, when the whole
# text is a single token.  Each merge, written out (the ids of "a", "b", "c", "d" are 97 to 100):
#   aaabdaaabac -> (a a) 256 -> (a b) 257 -> (256 257) 258 "aaab": 258 d 258 a c
#   every pair now occurs once, so ties go to the smallest pair: (a c) 259, (d 258) 260,
#   (258 260) 261, (261 259) 262 = the whole text.
WIKI = "aaabdaaabac"
WIKI_MERGES = [(97, 97), (97, 98), (256, 257), (97, 99), (100, 258), (258, 260), (261, 259)]

# A small English merge table (what BPE learns first on Shakespeare), as pairs of byte strings in
# the order learned: token 256 is b" t", token 257 b"he", token 260 b" the" = b" t" + b"he", ...
ENGLISH_MERGES = [
    (b" ", b"t"), (b"h", b"e"), (b"o", b"u"), (b" ", b"a"), (b" t", b"he"), (b" ", b"w"), (b"r", b"e"),
    (b" ", b"s"), (b"i", b"n"), (b"h", b"a"), (b" ", b"m"), (b"i", b"t"), (b"e", b"n"), (b"o", b"n"),
    (b"l", b"l"), (b" ", b"y"), (b" ", b"b"), (b"o", b"r"), (b"e", b"r"), (b" y", b"ou"), (b"i", b"s"),
    (b" ", b"f"), (b"e", b"s"), (b"u", b"s"), (b"n", b"d"), (b" ", b"c"), (b"a", b"r"), (b" ", b"h"),
    (b" ", b"g"), (b" ", b"p"), (b" ", b"n"), (b"ha", b"t"), (b" ", b"d"), (b"i", b"r"), (b" ", b"he"),
    (b"s", b"t"), (b" t", b"o"), (b" ", b"l"), (b"o", b"m"), (b"a", b"t"),
]


# ---------------------------------------------------------------- helpers (the grading checks use them too)

BYTES = {b: bytes([b]) for b in range(256)}  # the 256 single bytes, as the lesson numbers them

@lru_cache(maxsize=1)
def shakespeare() -> str:
    return load_shakespeare()


def show(text: str, n: int = 20) -> str:
    """A short repr of a (possibly long) text for messages."""
    return repr(text) if len(text) <= n else f"{text[:n]!r}..."


def call_train(ns: Namespace, name: str, text: str, vocab_size: int, runs_out: bool = False) -> tuple[dict, dict]:
    """The learner's ``name(text, vocab_size)``, checked to return two dicts.

    ``runs_out``: the text has fewer pairs to merge than ``vocab_size`` asks for, so a crash is
    explained as a trainer that does not stop when no pair is left.
    """
    call = f"{name}({show(text)}, {vocab_size})"
    try:
        result = getattr(ns, name)(text, vocab_size)
    except (NotImplementedError, CheckFailure):
        raise
    except Exception as error:
        if not runs_out:
            raise
        message = (f"{call} raised {type(error).__name__}: {error}. This text runs out of pairs after "
                   f"{len(WIKI_MERGES)} merges (it has become one single token), long before {vocab_size} tokens")
        if name == "train_bpe_fast":
            raise CheckFailure(message + ": was a pair picked whose count had dropped to 0?",
                               "A pair whose count has dropped to 0 occurs nowhere any more: delete it from the counts "
                               "(or never pick it), and stop when no pair is left.") from None
        raise CheckFailure(message + ".", "Stop training as soon as no pair is left to merge (the pair counts "
                           "are empty).") from None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"{call} should return a pair (merges, vocab), but returned {describe(result)}.")
    expect_type(result[0], dict, f"the merges returned by {call}")
    expect_type(result[1], dict, f"the vocab returned by {call}")
    return result


def merge_order(merges: dict, call: str) -> list[tuple]:
    """The learned pairs in the order learned (by new id), after checking the ids count up from 256."""
    ids = sorted(merges.values()) if all(isinstance(i, int) for i in merges.values()) else []
    if ids != list(range(256, 256 + len(merges))):
        raise CheckFailure(f"{call}: new token ids should count up from 256 (256, 257, ...); got "
                           f"{describe(ids or list(merges.values()))}.",
                           "The first merge gets id 256, the next 257, and so on.")
    bad = [p for p in merges if not (isinstance(p, tuple) and len(p) == 2)]
    if bad:
        raise CheckFailure(f"{call}: the keys of merges should be pairs of ids (a, b), but one is {bad[0]!r}.")
    return [p for p, _ in sorted(merges.items(), key=lambda kv: kv[1])]


def expect_vocab_of_merges(merges: dict, vocab: dict, call: str) -> None:
    """vocab holds the 256 bytes and, for each merge (a, b) -> idx, the bytes of a followed by those of b."""
    for i in range(256):
        if vocab.get(i) != bytes([i]):
            raise CheckFailure(f"{call}: vocab[{i}] should be {bytes([i])!r}, got {vocab.get(i)!r}.",
                               "The vocabulary starts with the 256 single bytes, vocab[i] = bytes([i]).")
    for (a, b), idx in sorted(merges.items(), key=lambda kv: kv[1]):
        want = (vocab.get(a) or b"") + (vocab.get(b) or b"")
        if vocab.get(idx) != want:
            raise CheckFailure(f"{call}: merge ({a}, {b}) -> {idx}, so vocab[{idx}] should be vocab[{a}] + vocab[{b}] = "
                               f"{want!r}, got {vocab.get(idx)!r}.",
                               "Record the bytes of every new token when you merge: the bytes of a, then those of b.")
    extra = sorted(set(vocab) - set(range(256)) - set(merges.values()), key=repr)
    if extra:
        raise CheckFailure(f"{call}: vocab has entries that no merge created, e.g. {extra[0]!r}.",
                           "vocab holds exactly the 256 bytes and one token per merge.")


def expect_trained(ns: Namespace, name: str, text: str, vocab_size: int, what: str,
                   want: list[tuple] | None = None, runs_out: bool = False) -> None:
    """Train with the learner's ``name`` and compare the merges, in order, with ``want`` (or the stored ones)."""
    key = call = f"{name}({what}, {vocab_size})"
    merges, vocab = call_train(ns, name, text, vocab_size, runs_out)
    pairs = merge_order(merges, call)
    if want is None:
        stored.expect(name, key, pairs, hint="Count pairs over the chunks of split_words, weighted by how often each "
                      "chunk occurs; recount after every merge; ties go to the smallest pair.")
    else:
        stored.expect(name, key, pairs, want)
    expect_vocab_of_merges(merges, vocab, call)


@lru_cache(maxsize=1)
def english_tokenizer() -> tuple[dict, dict, Any]:
    """ENGLISH_MERGES as (merges, vocab) in the lesson's format, and the same tokenizer in tiktoken."""
    import tiktoken

    table = dict(BYTES)                            # id -> bytes
    rank = {token: i for i, token in BYTES.items()}  # bytes -> id, which is also tiktoken's rank
    pairs = {}
    for new_id, (left, right) in enumerate(ENGLISH_MERGES, start=256):
        pairs[rank[left], rank[right]] = new_id
        table[new_id] = left + right
        rank[left + right] = new_id
    encoding = tiktoken.Encoding(name="english-40", pat_str=GPT2_PATTERN, mergeable_ranks=rank, special_tokens={})
    return pairs, table, encoding


def expect_same_ids(exercise: str, got: Any, want: list[int], what: str, hint: str = "") -> None:
    """A list of token ids equal to ``want``; the message shows where they part."""
    expect_type(got, list, what, "Return a list of ints.")
    if got != want:
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        stored.expect(exercise, what, got, want,
                      hint=hint + f" The first difference is at position {first}: expected "
                                  f"{want[max(0, first - 2):first + 4]}, got {got[max(0, first - 2):first + 4]} "
                                  f"(from position {max(0, first - 2)}).")
    else:
        stored.expect(exercise, what, got, want)


@lru_cache(maxsize=1)
def gpt2_ranks() -> dict[bytes, int]:
    """tiktoken's reading of GPT-2's files: {token bytes: id}."""
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    vocab_bpe, encoder_json = gpt2_files()
    return data_gym_to_mergeable_bpe_ranks(str(vocab_bpe), str(encoder_json))


def load_gpt2(ns: Namespace) -> tuple[dict, dict]:
    vocab_bpe, encoder_json = gpt2_files()
    result = ns.load_gpt2(str(vocab_bpe), str(encoder_json))
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"load_gpt2 should return (merges, vocab), got {describe(result)}.")
    expect_type(result[0], dict, "the merges returned by load_gpt2")
    expect_type(result[1], dict, "the vocab returned by load_gpt2")
    return result


# ---------------------------------------------------------------- 1. characters

@lesson.exercise("char_vocab", points=1,
                 hint="Keep each distinct character once, then sort them (a set has no order of its own).")
def char_vocab(ns: Namespace) -> None:
    stored.expect("char_vocab", "char_vocab('hello')", ns.char_vocab("hello"), ["e", "h", "l", "o"])
    for text in ["abracadabra", "", "Zebra ändert 世界 zebra!", shakespeare()[:3000]]:
        what = f"char_vocab({show(text)})"
        got = ns.char_vocab(text)
        expect_type(got, list, what, "Return a list of characters.")
        if len(got) != len(set(got)):
            raise CheckFailure(f"{what} contains duplicates: {describe(got)}.",
                               "Each character must appear once: build a set first.")
        if set(got) != set(text):
            missing, extra = sorted(set(text) - set(got)), sorted(set(got) - set(text), key=repr)
            raise CheckFailure(f"{what} should hold every character of the text once; "
                               + (f"missing {missing[:8]}" if missing else f"not in the text: {extra[:8]}") + ".")
        if got != sorted(got):
            raise CheckFailure(f"{what} is not sorted: {describe(got)}.",
                               "Sort the characters, so that ids do not depend on the order of a set.")


# ---------------------------------------------------------------- 2-3. pairs and merges

@lesson.exercise("get_stats", points=1, hint="Visit every adjacent pair: zip(ids, ids[1:]).")
def get_stats(ns: Namespace) -> None:
    for ids, want in [([], {}), ([5], {}), ([7, 7, 7], {(7, 7): 2}),
                      ([1, 2, 3, 1, 2], {(1, 2): 2, (2, 3): 1, (3, 1): 1})]:
        got = ns.get_stats(list(ids))
        expect_type(got, dict, f"get_stats({ids})", "Return a dict {(a, b): count}.")
        stored.expect("get_stats", f"get_stats({ids})", dict(got), want,
                      "Pairs overlap: [7, 7, 7] holds (7, 7) at positions 0 and 1.")
    rng = random.Random(1)
    for _ in range(8):
        ids = [rng.randrange(5) for _ in range(rng.randrange(2, 25))]
        got = ns.get_stats(list(ids))
        what = f"get_stats({ids})"
        expect_type(got, dict, what, "Return a dict {(a, b): count}.")
        if sum(got.values()) != len(ids) - 1:
            raise CheckFailure(f"the counts of {what} add up to {sum(got.values())}, but a list of {len(ids)} ids has "
                               f"{len(ids) - 1} adjacent pairs (one starting at every position but the last).",
                               "Count the pair at every position i, pairs overlap.")
        stored.expect("get_stats", what, dict(got))


@lesson.exercise("merge", points=1,
                 hint="Scan left to right; on a match emit idx and skip two places, otherwise copy one.")
def merge(ns: Namespace) -> None:
    cases = [([1, 2, 3, 1, 2], (1, 2), 9, [9, 3, 9]), ([7, 7, 7], (7, 7), 99, [99, 7]),
             ([5, 6, 1, 2], (1, 2), 9, [5, 6, 9]), ([1, 2], (1, 2), 9, [9]), ([3, 4, 5], (1, 2), 9, [3, 4, 5]),
             ([], (1, 2), 9, []), ([1], (1, 2), 9, [1]), ([1, 2, 2, 1, 2, 1], (2, 1), 8, [1, 2, 8, 8])]
    rng = random.Random(2)
    for _ in range(6):
        cases.append(([rng.randrange(4) for _ in range(rng.randrange(5, 20))], (rng.randrange(4), rng.randrange(4)),
                      50, None))
    for ids, pair, idx, want in cases:
        what = f"merge({ids}, {pair}, {idx})"
        given = list(ids)
        got = ns.merge(given, pair, idx)
        if given != ids:
            raise CheckFailure(f"{what} changed its input list: it became {given}.",
                               "Build and return a new list; do not modify `ids`.")
        expect_type(got, list, what, "Return the new list.")
        if want is None:
            stored.expect("merge", what, got)
        else:
            stored.expect("merge", what, got, want)


# ---------------------------------------------------------------- 4. GPT-2's chunks

SPLIT_EXAMPLE = "To be, or not to be: that's the question!  42 times."
SPLIT_EXAMPLE_CHUNKS = ["To", " be", ",", " or", " not", " to", " be", ":", " that", "'s", " the", " question", "!",
                        " ", " 42", " times", "."]


@lesson.exercise("split_words", points=1,
                 hint="regex.findall with GPT2_SPLIT_PATTERN, exactly as given (a space belongs to the word after it).")
def split_words(ns: Namespace) -> None:
    for text, what in [(SPLIT_EXAMPLE, f"split_words({SPLIT_EXAMPLE!r})")] + [
            (t, f"split_words({t!r})") for t in UNICODE_SAMPLES] + [
            (shakespeare()[:2000], "split_words(the first 2,000 characters of Shakespeare)")]:
        got = ns.split_words(text)
        expect_type(got, list, what, "Return the list that regex.findall gives.")
        if "".join(got) != text:
            raise CheckFailure(f"joining the chunks of {what} does not give back the text: {describe(got)}.",
                               "Whitespace must be kept: use the GPT-2 pattern, not str.split().")
        if text == SPLIT_EXAMPLE:
            stored.expect("split_words", what, got, SPLIT_EXAMPLE_CHUNKS)
        else:
            stored.expect("split_words", what, got)


# ---------------------------------------------------------------- 5. training

SHAKESPEARE_20K = "the first 20,000 characters of Shakespeare"

@lesson.exercise("train_bpe", points=3,
                 hint="Weight each chunk's pairs by how often the chunk occurs, recount after every merge, and break "
                      "ties with the smallest pair.")
def train_bpe(ns: Namespace) -> None:
    expect_trained(ns, "train_bpe", WIKI, 259, repr(WIKI), WIKI_MERGES[:3])
    expect_trained(ns, "train_bpe", WIKI, 300, repr(WIKI), WIKI_MERGES, runs_out=True)
    expect_trained(ns, "train_bpe", shakespeare()[:20_000], 300, SHAKESPEARE_20K)


# ---------------------------------------------------------------- 6-7. decoding and encoding


@lesson.exercise("decode", points=1, hint="Join the bytes of every id, then decode them as UTF-8 with errors='replace'.")
def decode(ns: Namespace) -> None:
    vocab = {**BYTES, 256: b"he", 257: b"llo", 258: b" w\xc3\xb6"}
    for ids, want in [([], ""), ([256, 257], "hello"), ([256, 257, 258, 114, 108, 100], "hello wörld"),
                      ([240, 159, 145, 139], "👋"), ([33], "!")]:
        stored.expect("decode", f"decode({ids})", ns.decode(ids, vocab), want,
                      "vocab: the 256 bytes, then 256: b'he', 257: b'llo', 258: b' w\\xc3\\xb6' (' wö').")
    what = "decode([104, 105, 0xE4]): 'hi' and the first byte of a 3-byte character"
    try:
        got = ns.decode([104, 105, 0xE4], vocab)
    except UnicodeDecodeError:
        raise CheckFailure(f"{what} raised UnicodeDecodeError.",
                           "Decode with errors='replace', so that invalid bytes become '\\ufffd' (a model may "
                           "generate any ids, including half a character).") from None
    stored.expect("decode", what, got, "hi\ufffd")


@lesson.exercise("encode", points=2,
                 hint="Within each chunk of split_words(text), keep merging the pair with the lowest merge id until "
                      "no adjacent pair is in merges.")
def encode(ns: Namespace) -> None:
    wiki = {(97, 97): 256, (97, 98): 257, (256, 257): 258}
    expect_same_ids("encode", ns.encode(WIKI, wiki, {**BYTES, 256: b"aa", 257: b"ab", 258: b"aaab"}),
                    [258, 100, 258, 97, 99],
                    "encode('aaabdaaabac') with merges {(a, a): 256, (a, b): 257, (256, 257): 258}")
    expect_same_ids("encode", ns.encode("abc", {(98, 99): 256, (97, 98): 257}, {**BYTES, 256: b"bc", 257: b"ab"}),
                    [97, 256], "encode('abc') with merges {(b, c): 256, (a, b): 257}",
                    "Apply merges in the order they were learned: the pair with the lowest id first.")
    expect_same_ids("encode", ns.encode("ab ab", {(98, 32): 256, (97, 98): 257}, {**BYTES, 256: b"b ", 257: b"ab"}),
                    [257, 32, 257], "encode('ab ab') with merges {(b, ' '): 256, (a, b): 257}",
                    "Encode each chunk of split_words(text) on its own; merges never cross chunks.")
    merges, vocab, tiktoken_english = english_tokenizer()
    for sample in UNICODE_SAMPLES + [shakespeare()[50_000:51_000]]:
        what = (f"encode({show(sample, 30)}) with ENGLISH_MERGES (40 merges), compared with tiktoken using the "
                "same merges")
        got = ns.encode(sample, dict(merges), dict(vocab))
        expect_type(got, list, what, "Return a list of ints.")
        if any(not isinstance(i, int) or i not in vocab for i in got):
            raise CheckFailure(f"{what}: it returned ids that are not in vocab: {describe(got)}.",
                               "Every id must be a key of vocab.")
        expect_same_ids("encode", got, tiktoken_english.encode(sample), what,
                        "Encode every byte of every chunk, and merge the lowest merge id first.")


# ---------------------------------------------------------------- 8-9. GPT-2's tokenizer

@lesson.exercise("load_gpt2", points=2,
                 hint="Map each character of a token string back to its byte with the reversed bytes_to_unicode() "
                      "table; look merged tokens up in vocab by their bytes.")
def load_gpt2_check(ns: Namespace) -> None:
    merges, vocab = load_gpt2(ns)
    if len(vocab) != 50256:
        raise CheckFailure(f"vocab has {len(vocab):,} tokens, expected 50,256 (every token of encoder.json except "
                           "<|endoftext|>).")
    if vocab.get(15496) == "Hello":
        raise CheckFailure("vocab[15496] is the str 'Hello', but vocab values must be bytes, b'Hello'.",
                           "Map each character back to its byte with the reversed bytes_to_unicode() table.")
    if vocab.get(220) != b" ":
        raise CheckFailure(f"vocab[220] (written 'Ġ' in the file) should be b' ', got {vocab.get(220)!r}.",
                           "'Ġ' is GPT-2's printable stand-in for the space byte: use the reversed bytes_to_unicode() "
                           "table, not str.encode().")
    for token, rank in gpt2_ranks().items():
        if vocab.get(rank) != token:
            raise CheckFailure(f"vocab[{rank}] should be {token!r} (as tiktoken reads the same files), got "
                               f"{vocab.get(rank)!r}.",
                               "Convert every token string to bytes through the reversed bytes_to_unicode() table.")
    if len(merges) != 50000:
        raise CheckFailure(f"merges has {len(merges):,} entries, expected 50,000 (one per line of vocab.bpe after the "
                           "#version line).")
    if merges.get((220, 83)) != 256:
        raise CheckFailure(f"the first merge 'Ġ t' should be (220, 83) -> 256, got {merges.get((220, 83))!r}.",
                           "Look the ids of both halves, and of the merged token, up in vocab by their bytes.")
    for (a, b), idx in merges.items():
        if vocab.get(idx) is None or vocab.get(idx) != (vocab.get(a) or b"") + (vocab.get(b) or b""):
            raise CheckFailure(f"merge ({a}, {b}) -> {idx}: vocab[{idx}] = {vocab.get(idx)!r} is not "
                               f"vocab[{a}] + vocab[{b}].")
    if sorted(merges.values()) != list(range(256, 50256)):
        raise CheckFailure("the merged tokens should be ids 256 to 50255, each made by exactly one merge.")


@lesson.exercise("gpt2_matches_tiktoken", points=2,
                 hint="If load_gpt2 passes, look at encode: byte ids must come from vocab, not be the byte values.")
def gpt2_matches_tiktoken(ns: Namespace) -> None:
    merges, vocab = load_gpt2(ns)
    enc = tiktoken_gpt2()
    samples = UNICODE_SAMPLES + [shakespeare()[:4000], "<|endoftext|> is just text here",
                                 "GPT-2 was released in 2019 by OpenAI.", " " * 7 + "\n" * 3 + "end"]
    for sample in samples:
        want = enc.encode(sample, disallowed_special=())
        got = ns.encode(sample, merges, vocab)
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want))) \
                if isinstance(got, list) else 0
            raise CheckFailure(
                f"encode({show(sample, 30)}) with GPT-2's merges differs from tiktoken at position {first}:\n"
                f"    tiktoken: {describe(want[max(0, first - 2):first + 6])}\n"
                f"    yours:    {describe(got[max(0, first - 2):first + 6]) if isinstance(got, list) else describe(got)}")


# ---------------------------------------------------------------- 10. a faster trainer

SPEED_TEXT_SIZE, SPEED_VOCAB = 40_000, 360


def best_time(run: Any, repeat: int = 2) -> float:
    """The least CPU time of ``repeat`` runs, in seconds.

    CPU time of this process, not wall-clock time, so that other programs running on a busy
    machine (a CI server, a shared grading host) do not make the learner's code look slow.
    """
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def expect_faster_than_recounting(ns: Namespace, text: str, vocab_size: int, what: str) -> None:
    """train_bpe_fast must beat recounting every pair after every merge by 3x (CPU time).

    The yardstick is what a plain trainer cannot avoid: one full recount of the text's pairs per
    merge, timed with the learner's own ``get_stats`` (exercise 2), so that it does not depend on
    how fast their ``train_bpe`` happens to be.
    """
    fast_s = best_time(lambda: ns.train_bpe_fast(text, vocab_size))
    ids = list(text.encode("utf-8"))
    try:
        recount_s = (vocab_size - 256) * best_time(lambda: ns.get_stats(ids), repeat=3)
    except NotImplementedError:
        raise CheckFailure("train_bpe_fast gives the right merges; its speed is measured against recounting the pairs "
                           "with your get_stats, which is not implemented yet.",
                           "Finish get_stats (exercise 2) first.") from None
    if fast_s * 3 > recount_s:
        raise CheckFailure(f"train_bpe_fast({what}, {vocab_size}) took {fast_s:.2f} s of CPU time, while recounting "
                           f"every pair once per merge ({vocab_size - 256} recounts with your get_stats) takes "
                           f"{recount_s:.2f} s: it must be at least 3x faster than that.",
                           lesson.get("train_bpe_fast").hint)


@lesson.exercise("train_bpe_fast", points=1,
                 hint="Keep pair counts and a pair -> chunks index; after a merge update only the chunks that had the "
                      "pair, and delete pairs whose count drops to 0.")
def train_bpe_fast(ns: Namespace) -> None:
    expect_trained(ns, "train_bpe_fast", WIKI, 259, repr(WIKI), WIKI_MERGES[:3])
    expect_trained(ns, "train_bpe_fast", WIKI, 300, repr(WIKI), WIKI_MERGES, runs_out=True)
    text = shakespeare()[:SPEED_TEXT_SIZE]
    what = f"the first {SPEED_TEXT_SIZE:,} characters of Shakespeare"
    expect_trained(ns, "train_bpe_fast", text, SPEED_VOCAB, what)
    expect_faster_than_recounting(ns, text, SPEED_VOCAB, what)