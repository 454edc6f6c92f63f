"""Practice checks for lesson 02 — encoder and decoder as hash maps.

Shipped to students: no solution code in here.  The hash map checks observe behaviour that every
correct ``HashMap`` shares: what a lookup returns (always with a key that is equal to, but not the
same object as, the one inserted), which bucket a key lands in (its ``buckets`` list is part of
the given design), the capacity after each insert, and how often ``__hash__`` is called, using
keys made for the purpose: a class whose hash is a constant (every key collides), integers that
collide modulo 8, and keys that count their own hash computations.  The tokenizer checks build
their test strings out of known tokens, so the expected ids are known by construction, and use
small vocabularies whose ids are written out.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any, Callable

from ..data import load_shakespeare
from ..examples import StoredExamples
from ..feedback import describe, expect_equal, expect_type
from ..registry import CheckFailure, Lesson, Namespace

lesson = Lesson("02", "hashmaps", "Encoder and decoder as hash maps")
stored: StoredExamples = lesson.examples

MAX_LOAD = 0.75
EOT, UNK = "<|endoftext|>", "<unk>"
SPECIALS = (EOT, UNK)
RESIZE_HINT = ("Before appending a new key, grow when the load factor after the insert, (len + 1) / capacity, would "
               "exceed 0.75: call _resize with twice the current number of buckets.")
EQUALS_HINT = "Compare keys with ==, never `is`: two equal keys (two equal strings, say) can be different objects."


# ---------------------------------------------------------------- keys made for testing

class Collider:
    """A key whose hash is always 7: all of them share one bucket."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Collider) and self.name == other.name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"


class TooMuchWork(BaseException):
    """Raised from inside __hash__ once a map has hashed more than its budget allows
    (a BaseException, so that a learner's ``except Exception`` does not swallow it)."""


class Counted:
    """An int-like key that counts how often it is hashed, and stops a runaway map."""

    calls = 0
    budget: int | None = None

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        Counted.calls += 1
        if Counted.budget is not None and Counted.calls > Counted.budget:
            raise TooMuchWork()
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counted) and self.value == other.value

    def __repr__(self) -> str:
        return f"Key({self.value})"


class Table(dict):
    """A table type the checks pass as ``table``, to see that stoi is really built with it."""


def equal_copy(key: Any) -> Any:
    """A key equal to ``key`` but, where Python allows it, not the same object."""
    if isinstance(key, bool):
        return key
    if isinstance(key, int):
        return int(str(key))
    if isinstance(key, float):
        return float(repr(key))
    if isinstance(key, str):
        return "".join(list(key))
    if isinstance(key, tuple):
        return tuple(equal_copy(k) for k in key)
    if isinstance(key, Collider):
        return Collider(key.name)
    if isinstance(key, Counted):
        return Counted(key.value)
    return key


# ---------------------------------------------------------------- hash map helpers (the grading checks use them too)

def new_map(ns: Namespace, capacity: int | None = None) -> Any:
    m = ns.HashMap() if capacity is None else ns.HashMap(capacity=capacity)
    buckets = getattr(m, "buckets", None)
    want = 8 if capacity is None else capacity
    if not isinstance(buckets, list) or len(buckets) != want:
        raise CheckFailure(f"HashMap({'' if capacity is None else f'capacity={capacity}'}).buckets should be a "
                           f"list of {want} empty buckets, got {describe(buckets)}.",
                           "Keep the given __init__: self.buckets = [[] for _ in range(capacity)].")
    return m


def capacity(m: Any) -> int:
    buckets = getattr(m, "buckets", None)
    if not isinstance(buckets, list):
        raise CheckFailure(f"self.buckets should stay a list, but it became {describe(buckets)}.")
    return len(buckets)


def buckets_holding(m: Any, key: Any) -> list[int]:
    """The numbers of the buckets that hold a pair for ``key``."""
    return [number for number, chain in enumerate(m.buckets) for entry in chain
            if isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[0] == key]


def compares_with_is(m: Any, key: Any) -> bool:
    """True when ``m`` finds ``key`` as the very object inserted, but not as an equal copy of it."""
    copy = equal_copy(key)
    if copy is key:
        return False
    try:
        m[key]
    except KeyError:
        return False
    try:
        m[copy]
    except KeyError:
        return True
    return False


def lookup(m: Any, key: Any, what: str) -> Any:
    """m[key] looked up with an equal copy of ``key``; a KeyError becomes a message that says why."""
    try:
        return m[equal_copy(key)]
    except KeyError:
        pass
    if compares_with_is(m, key):
        raise CheckFailure(f"{what}: m[{key!r}] finds the key only when given the very object that was inserted; "
                           f"an equal key built separately raised KeyError.", EQUALS_HINT)
    places = buckets_holding(m, key)
    cap = capacity(m)
    if places and hash(key) % cap not in places:
        raise CheckFailure(f"{what}: m[{key!r}] raised KeyError, but the pair is stored in bucket {places[0]}, while "
                           f"hash({key!r}) % {cap} = {hash(key) % cap}.",
                           "A key must live in bucket hash(key) % len(self.buckets); after a resize every key has "
                           "to be re-inserted at its new index (re-hashed), not copied to the same position.")
    if places:
        raise CheckFailure(f"{what}: m[{key!r}] raised KeyError, although the pair is in its bucket "
                           f"{places[0]}.", "Walk the key's bucket and return the value of the pair whose key == key.")
    raise CheckFailure(f"{what}: m[{key!r}] raised KeyError: the key is not in any bucket any more.",
                       "Was it lost when the buckets were replaced? _resize must re-insert every old pair.")


def expect_value(m: Any, key: Any, want: Any, what: str, hint: str = "") -> None:
    """m[key] (for an equal copy of key) is ``want``; a wrong value names the key and what came back."""
    got = lookup(m, key, what)
    if got is not want and got != want:
        raise CheckFailure(f"{what}: m[{key!r}] returned {describe(got)}, expected {describe(want)}.", hint)


# ---------------------------------------------------------------- 1. basics

@lesson.exercise("hashmap_basics", points=2,
                 hint="Find the key's bucket with self._index(key), then walk its [key, value] pairs and compare "
                      "each pair's key with ==.")
def hashmap_basics(ns: Namespace) -> None:
    m = new_map(ns)
    for key in [0, 5, 12345, -7, "token", ("a", 1), 2**70]:
        idx = m._index(key)
        if not isinstance(idx, int) or not 0 <= idx < 8:
            raise CheckFailure(f"HashMap()._index({key!r}) returned {describe(idx)}, which is not a bucket number "
                               "0..7 of a map with 8 buckets.",
                               "Take the hash modulo the number of buckets: hash(key) % len(self.buckets).")
        if idx != hash(key) % 8:
            raise CheckFailure(f"HashMap()._index({key!r}) returned {idx}, expected hash({key!r}) % 8 = "
                               f"{hash(key) % 8}.", "Use exactly hash(key) % len(self.buckets).")
    small = new_map(ns, capacity=5)
    if small._index(12) != 2:
        raise CheckFailure(f"HashMap(capacity=5)._index(12) returned {describe(small._index(12))}, expected 12 % 5 = 2.",
                           "Divide by the actual number of buckets, len(self.buckets), not by a constant 8.")

    m = new_map(ns)
    expect_equal(len(m), 0, "len(HashMap())")
    shared = [1, 2]
    pairs = [("to", 1), ("be", 2), (-7, "minus seven"), (("a", 1), shared), (2**70, None), (3.5, 0)]
    for n, (key, value) in enumerate(pairs, start=1):
        m[key] = value
        if len(m) != n:
            raise CheckFailure(f"after {n} inserts of different keys, len(m) is {len(m)}, expected {n}.",
                               "Count each new key: add one to self.size when a pair is appended.")
    what = f"after inserting {len(pairs)} keys"
    for key, value in pairs:
        expect_value(m, key, value, what)
        if buckets_holding(m, key) != [hash(key) % capacity(m)]:
            raise CheckFailure(f"the pair of {key!r} should be in bucket hash(key) % {capacity(m)} = "
                               f"{hash(key) % capacity(m)} (and only there), but it is in buckets "
                               f"{buckets_holding(m, key)}.", "Append [key, value] to the bucket of the key's index.")

    m["to"] = 10
    if len(m) != len(pairs):
        raise CheckFailure(f"overwriting the existing key 'to' changed len(m) from {len(pairs)} to {len(m)}: "
                           "it added a second entry instead of replacing the value.",
                           "Before appending, look for the key in its bucket; if it is there, overwrite the value "
                           "of that pair and return.")
    expect_value(m, "to", 10, "after m['to'] = 10 (overwrite)", "Overwrite the value of the existing pair.")

    try:
        got = m["missing"]
    except KeyError as error:
        if "missing" not in str(error):
            raise CheckFailure(f"m['missing'] raised KeyError, but its message ({str(error)!r}) does not say which "
                               "key was missing.", "Raise KeyError(key), with the key in it.") from None
    except Exception as error:
        raise CheckFailure(f"m['missing'] raised {type(error).__name__}: {error}; a missing key should raise KeyError.",
                           "End __getitem__ by raising KeyError(key).") from None
    else:
        raise CheckFailure(f"m['missing'] returned {'None' if got is None else describe(got)} instead of raising "
                           "KeyError.",
                           "A missing key must raise a KeyError naming the key, like a dict: a returned None could not be told "
                           "apart from a stored None (this map stores one under 2**70).")
    expect_equal(equal_copy("be") in m, True, "'be' in m")
    expect_equal("missing" in m, False, "'missing' in m")
    expect_equal(m.get(equal_copy(2**70), "default"), None, "m.get(2**70, 'default') (the stored value is None)")
    expect_equal(m.get("missing", -1), -1, "m.get('missing', -1)")
    expect_equal(sorted(map(repr, m.keys())), sorted(repr(k) for k, _ in pairs), "the keys of m")


# ---------------------------------------------------------------- 2. collisions

COLLISION_HINT = ("Keep every pair in the bucket's list: look for an equal key, and append a new pair when there is "
                  "none. Never replace the whole bucket.")


@lesson.exercise("hashmap_collisions", points=2,
                 hint="A bucket is a list: keys that collide share it. Compare keys with ==, delete only the "
                      "matching pair.")
def hashmap_collisions(ns: Namespace) -> None:
    m = new_map(ns)
    a, b = Collider("a"), Collider("b")
    m[a] = 0
    m[b] = 1
    if len(m) != 2:
        raise CheckFailure(f"two different keys with the same hash (a collision) were inserted, but len(m) is "
                           f"{len(m)}, expected 2: the second replaced the first.", COLLISION_HINT)
    try:
        got = m[a]
    except KeyError:
        raise CheckFailure("two different keys with the same hash (a collision): after inserting the second, "
                           "the first one is gone (KeyError).", COLLISION_HINT) from None
    if got != 0:
        raise CheckFailure(f"two different keys with the same hash (a collision): m[first] returned {describe(got)}, "
                           "expected 0: the second key overwrote the first one's value.", COLLISION_HINT)
    lookup(m, a, "two colliding keys")

    keys = [a, b] + [Collider(name) for name in "cde"]
    for i, key in enumerate(keys):
        m[equal_copy(key)] = i * 10
    expect_equal(len(m), 5, "len(m) after 5 keys that all collide (two of them inserted twice)",
                 "Inserting a key that is already there (an equal key) overwrites its value.")
    chain = m.buckets[7]
    if len(chain) != 5:
        raise CheckFailure(f"five keys whose hash is 7 should all be in bucket 7 of 8, but it holds "
                           f"{describe(chain)}.", COLLISION_HINT)
    for i, key in enumerate(keys):
        expect_value(m, key, i * 10, "five colliding keys")

    ints = new_map(ns)
    values = {1: "one", 9: "nine", 17: "seventeen", 25: "twenty-five"}  # all equal to 1 modulo 8
    for key, value in values.items():
        ints[key] = value
    for key, value in values.items():
        expect_value(ints, key, value, "keys 1, 9, 17, 25 (all in bucket 1 of 8)", COLLISION_HINT)

    del ints[9]  # from the middle of the chain
    if len(ints) == 4:
        raise CheckFailure("len(m) did not decrease after del m[9].", "Subtract one from self.size in __delitem__.")
    for key in (1, 17, 25):
        if key not in ints:
            raise CheckFailure(f"after del m[9], the key {key} is gone too: del removed other keys in the same bucket "
                               "(1, 9, 17 and 25 all live in bucket 1).",
                               "Remove only the pair whose key equals the key: find its position j in the bucket and "
                               "delete that one element.")
        expect_value(ints, key, values[key], "after del m[9]")
    expect_equal(len(ints), 3, "len(m) after deleting one of 4 keys")
    expect_equal(9 in ints, False, "9 in m after del m[9]")
    for missing, why in [(9, "a key that was just deleted"), (2, "a key whose bucket is empty")]:
        try:
            del ints[missing]
        except KeyError:
            pass
        except Exception as error:
            raise CheckFailure(f"del m[{missing}] ({why}) raised {type(error).__name__}: {error}; expected KeyError.",
                               "End __delitem__ by raising KeyError(key).") from None
        else:
            raise CheckFailure(f"del m[{missing}] ({why}) did not raise KeyError.",
                               "Like a dict, deleting a missing key must raise a KeyError naming the key.")
    expect_equal(len(ints), 3, "len(m) after trying to delete missing keys")
    ints[9] = "again"
    expect_value(ints, 9, "again", "after deleting 9 and inserting it again")
    for key in (1, 25):  # the first and the last pair of the chain
        del ints[key]
    expect_equal(sorted(ints.keys()), [9, 17], "the keys left after deleting 1 and 25")
    del m[Collider("c")]
    expect_equal(sorted(k.name for k in m.keys()), ["a", "b", "d", "e"], "colliding keys left after deleting Key('c')")


# ---------------------------------------------------------------- 3. resizing

@lesson.exercise("hashmap_resize", points=2, hint=RESIZE_HINT)
def hashmap_resize(ns: Namespace) -> None:
    m = new_map(ns)
    keys = [0, 1, 2, 8, 9, 10, 16]  # keys 8, 9, 10 must move when 8 buckets become 16
    for key in keys[:6]:
        m[key] = -key
    if capacity(m) != 8:
        raise CheckFailure(f"6 keys in HashMap() (8 buckets) is a load factor of exactly 0.75, which is allowed, but the "
                           f"map already has {capacity(m)} buckets.",
                           "Resize only when the load factor would *exceed* 0.75: (len + 1) / capacity > 0.75.")
    m[0] = "zero"
    if capacity(m) != 8 or len(m) != 6:
        raise CheckFailure(f"overwriting the existing key 0 in a map with 6 keys and 8 buckets changed it to {len(m)} "
                           f"keys and {capacity(m)} buckets, expected 6 and 8: an overwrite adds no key, so it must "
                           "not grow the table.",
                           "Look for the key in its bucket first; only a new key can push the load factor up, so "
                           "check the load limit after that search, just before appending.")
    expect_value(m, 0, "zero", "after overwriting m[0]")
    m[0] = 0
    m[keys[6]] = -keys[6]
    cap = capacity(m)
    if cap == 8:
        raise CheckFailure("after a 7th insert, HashMap() still has 8 buckets: a load factor of 7/8 = 0.875, above "
                           "the limit 0.75.", RESIZE_HINT)
    if cap != 16:
        extra = (" Growing by a constant means resizing again every few inserts: quadratic total work."
                 if cap < 16 else "")
        raise CheckFailure(f"when 8 buckets get too full, the capacity should double, 8 -> 16, but it became {cap}.{extra}",
                           "Resize to twice the current number of buckets, and build exactly new_capacity buckets.")
    if len(m) != 7:
        raise CheckFailure(f"len(m) is {len(m)} after 7 inserts and one resize, expected 7.",
                           "Resizing moves pairs; it must not change self.size (if you re-insert with self[key] = "
                           "value, reset self.size to 0 first).")
    for key in keys:
        expect_value(m, key, -key, "after growing from 8 to 16 buckets")

    m = new_map(ns, capacity=4)
    for key in range(3):
        m[key] = key
    expect_equal(capacity(m), 4, "the number of buckets of HashMap(capacity=4) after 3 inserts")
    m[3] = 3
    expect_equal(capacity(m), 8, "the number of buckets of HashMap(capacity=4) after 4 inserts (4/4 > 0.75)",
                 "Double the actual number of buckets, len(self.buckets), not a constant.")

    n = 3000
    budget = 8 * n
    m = new_map(ns)
    expected_cap = 8
    Counted.calls, Counted.budget = 0, budget
    i = 0
    inserted = [Counted(i) for i in range(n)]
    try:
        for i in range(n):
            m[inserted[i]] = i
            if (i + 1) / expected_cap > MAX_LOAD:
                expected_cap *= 2
            cap = capacity(m)
            if len(m) / cap > MAX_LOAD:
                raise CheckFailure(f"after {i + 1} inserts the load factor is {len(m)}/{cap} = {len(m) / cap:.2f}, "
                                   "above the limit 0.75.", RESIZE_HINT)
            if cap != expected_cap:
                raise CheckFailure(f"after {i + 1} inserts into HashMap() the map has {cap} buckets, expected "
                                   f"{expected_cap} (8 doubled each time the load factor would exceed 0.75).",
                                   "Double only when needed: (len + 1) / capacity > 0.75.")
    except TooMuchWork:
        raise CheckFailure(f"inserting {n:,} keys made more than {budget:,} calls to __hash__ (8 per key), and "
                           f"was stopped after {i:,} inserts: the cost per insert is not amortized O(1).",
                           "Resize only when the load factor would exceed 0.75, and then double: all resizes "
                           "together re-hash fewer than 2n keys. Re-hashing on every insert (or growing by a "
                           "constant) costs O(n^2).") from None
    finally:
        Counted.budget = None
    expect_equal(len(m), n, f"len(m) after {n:,} inserts")
    for i in range(0, n, 7):
        expect_value(m, inserted[i], i, f"after {n:,} inserts")


# ---------------------------------------------------------------- tokenizer helpers

@lru_cache(maxsize=1)
def corpus() -> str:
    """The text the tokenizer checks build vocabularies from (5,000 characters of Shakespeare)."""
    return load_shakespeare()[:5000]


def hashmap_unfinished(where: str) -> CheckFailure:
    return CheckFailure(f"{where} reached a method of your HashMap that still raises NotImplementedError.",
                        "Finish HashMap (the hashmap_* checks) first; with table=dict your tokenizer may already work.")


def with_hashmap(where: str, run: Callable[[], Any]) -> Any:
    """run(), for code that uses the learner's HashMap: its failures are blamed on the HashMap."""
    try:
        return run()
    except NotImplementedError:
        raise hashmap_unfinished(where) from None
    except KeyError as error:
        raise CheckFailure(f"{where} raised KeyError: {error}, though it works with table=dict: your HashMap did not "
                           "find a key that was stored.", "Make the hashmap_* checks pass first (keys compared with "
                           "==, re-hashed on resize).") from None


def guarded(ns: Namespace, table: Any, where: str, run: Callable[[], Any]) -> Any:
    """run(), through :func:`with_hashmap` when ``table`` is the learner's HashMap."""
    return with_hashmap(where, run) if table is ns.HashMap else run()


def tokenizer(ns: Namespace, text: str, exercise: str, **kwargs: Any) -> tuple[Any, list[str]]:
    """The learner's CharTokenizer(text, ...), after checking the vocabulary's shape: the distinct characters
    of ``text``, sorted and each once, then the specials in the order given."""
    tok = ns.CharTokenizer(text, **kwargs)
    specials = list(kwargs.get("specials", SPECIALS))
    itos = getattr(tok, "itos", None)
    chars = itos[:len(itos) - len(specials)] if isinstance(itos, list) else None
    if not (isinstance(itos, list) and itos[len(chars):] == specials and set(chars) == set(text)
            and len(chars) == len(set(chars)) and chars == sorted(chars)):
        raise CheckFailure(f"CharTokenizer({text[:20]!r}...).itos is {describe(itos)}, not the sorted distinct "
                           f"characters followed by {specials}, so {exercise} cannot be checked yet.",
                           "Make the tokenizer_init check pass first.")
    return tok, itos


def ids_of(pieces: list[str], itos: list[str]) -> list[int]:
    """The ids of a string built from ``pieces`` (characters and special tokens): one id per piece,
    the id of <unk> for a character that is not in the vocabulary."""
    position = {token: i for i, token in enumerate(itos)}
    return [position.get(p, position[UNK]) for p in pieces]


def call_encode(tok: Any, s: Any) -> Any:
    ids = tok.encode(s)
    expect_type(ids, list, f"encode({s!r:.40})", "Return a list of ints.")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise CheckFailure(f"encode({s!r:.40}) should return ints, got {describe(ids)}.")
    return ids


def expect_rejected(tok: Any, ids: list, bad: Any, allowed: tuple[type, ...], why: str, hint: str) -> None:
    """decode(ids) raises one of ``allowed``, with the bad id in its message."""
    try:
        got = tok.decode(ids)
    except allowed as error:
        if str(bad) not in str(error) and repr(bad) not in str(error):
            raise CheckFailure(f"decode({ids!r}) raised {type(error).__name__}({str(error)!r}), but the message should "
                               f"name the bad id {bad!r}.",
                               "Check the id yourself before indexing, and say which id is wrong, e.g. "
                               "raise ValueError(f'token id {i} is out of range 0..{V - 1}').") from None
    except Exception as error:
        names = " or ".join(t.__name__ for t in allowed)
        raise CheckFailure(f"decode({ids!r}) raised {type(error).__name__}: {error}; expected {names}.", hint) from None
    else:
        raise CheckFailure(f"decode({ids!r}) returned {describe(got)}: {why}", hint)


def where_strings_differ(got: str, want: str) -> str:
    """"from character k on: expected '...', got '...'" for the first place where two strings part."""
    k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    start = max(0, k - 10)
    return f"from character {k} on: expected {want[start:k + 20]!r}, got {got[start:k + 20]!r} (from character {start})"


def random_pieces(seed: int, count: int, chars: list[str]) -> list[list[str]]:
    """``count`` seeded random token sequences: characters of ``chars``, with special tokens mixed in."""
    rng = random.Random(seed)
    return [[rng.choice(SPECIALS) if rng.random() < 0.12 else rng.choice(chars) for _ in range(rng.randrange(40))]
            for _ in range(count)]


# ---------------------------------------------------------------- 4. the vocabulary

HELLO_ITOS = [" ", "d", "e", "h", "l", "o", "r", "w", EOT, UNK]


@lesson.exercise("tokenizer_init", points=1,
                 hint="itos: the sorted distinct characters, then the specials in the order given. stoi: created by "
                      "calling table(), then one entry token -> id for every token of itos.")
def tokenizer_init(ns: Namespace) -> None:
    tok = ns.CharTokenizer("hello world")
    itos = getattr(tok, "itos", None)
    expect_type(itos, list, "CharTokenizer('hello world').itos", "itos is a plain list: position = id.")
    stored.expect("tokenizer_init", "CharTokenizer('hello world').itos", itos, HELLO_ITOS,
                  "The sorted distinct characters, then the specials in the order given.")
    stoi = getattr(tok, "stoi", None)
    if not isinstance(stoi, dict):
        raise CheckFailure(f"with the default table=dict, stoi should be a dict, got {describe(stoi)}.",
                           "Create stoi by calling table(), then fill it.")
    expect_equal(dict(stoi), {t: i for i, t in enumerate(HELLO_ITOS)}, "CharTokenizer('hello world').stoi",
                 "stoi[token] = id for every token of itos.")
    expect_equal(tok.vocab_size, len(HELLO_ITOS), "CharTokenizer('hello world').vocab_size")

    tok = ns.CharTokenizer("abc", table=Table)
    if not isinstance(getattr(tok, "stoi", None), Table):
        raise CheckFailure(f"CharTokenizer('abc', table=T).stoi should be a T, created by calling table(); got "
                           f"{describe(getattr(tok, 'stoi', None))}.",
                           "Create stoi by calling table() instead of writing a dict literal or comprehension.")
    expect_equal(dict(tok.stoi), {"a": 0, "b": 1, "c": 2, EOT: 3, UNK: 4}, "CharTokenizer('abc', table=T).stoi")

    specials = (EOT, "<|pad|>", UNK)
    tok = ns.CharTokenizer("banana", specials=specials)
    stored.expect("tokenizer_init", f"CharTokenizer('banana', specials={specials}).itos", getattr(tok, "itos", None),
                  ["a", "b", "n", *specials],
                  "Append the specials argument, in the order given, after the characters (do not hard-code them).")

    text = corpus()
    tok = ns.CharTokenizer(text)
    v = len(set(text))
    expect_equal((tok.stoi[EOT], tok.stoi[UNK], tok.vocab_size), (v, v + 1, v + 2),
                 f"(stoi['<|endoftext|>'], stoi['<unk>'], vocab_size) for Shakespeare's {v} characters")

    where = "CharTokenizer(text, table=HashMap)"
    mine = with_hashmap(where, lambda: ns.CharTokenizer(text, table=ns.HashMap))
    if not isinstance(mine.stoi, ns.HashMap):
        raise CheckFailure(f"with table=HashMap, stoi should be one of your HashMaps, got {describe(mine.stoi)}.",
                           "Create stoi by calling table().")
    got = with_hashmap(where, lambda: {t: mine.stoi[t] for t in tok.itos})
    expect_equal(got, {t: i for i, t in enumerate(tok.itos)}, "the ids in a stoi built with table=HashMap")
    expect_equal(with_hashmap(where, lambda: len(mine.stoi)), v + 2, "len(stoi) with table=HashMap")


# ---------------------------------------------------------------- 5. encode

@lesson.exercise("encode", points=2,
                 hint="Split the text on the special tokens (re.split with a capturing group keeps them); every other "
                      "character is its own id, or the id of <unk> (look it up in stoi) when it is not in the vocabulary.")
def encode(ns: Namespace) -> None:
    text = corpus()
    tok, itos = tokenizer(ns, text, "encode")
    expect_equal(call_encode(tok, ""), [], "encode('')")
    for s in ["To be, or not to be", text[1000:1400]]:
        stored.expect("encode", f"encode({s[:30]!r}) with Shakespeare's vocabulary", call_encode(tok, s),
                      ids_of(list(s), itos))
    eot = itos.index(EOT)
    for pieces in [list("First.") + [EOT] + list("Second."), [EOT, EOT], [EOT, "a", EOT], [UNK], ["a", UNK, EOT]]:
        s = "".join(pieces)
        got = call_encode(tok, s)
        if pieces[0] != UNK and eot not in got:
            raise CheckFailure(f"encode({s!r}) gave {describe(got)}: the text's <|endoftext|> must become its single "
                               f"id {eot}, not one id per character.",
                               "Split the text on the special tokens first; each one found becomes one id.")
        stored.expect("encode", f"encode({s!r}) with Shakespeare's vocabulary", got, ids_of(pieces, itos),
                      "Every occurrence of a special token's string is that token's one id.")
    s = "Café 7"
    try:
        got = call_encode(tok, s)
    except KeyError as error:
        raise CheckFailure(f"encode({s!r}) raised KeyError: {error}. 'é' and '7' are not in the vocabulary.",
                           "Map an unknown character to the id of <unk>.") from None
    stored.expect("encode", "encode('Café 7') with Shakespeare's vocabulary ('é' and '7' are unknown)", got,
                  ids_of(list(s), itos), f"Every unknown character becomes the id of <unk>, {itos.index(UNK)}.")
    for chars, specials, s, want in [("abc", (UNK, EOT), "cab?" + EOT, [2, 0, 1, 3, 4]),
                                     ("abc", (EOT, UNK, "<|pad|>"), "a?<|pad|>b", [0, 4, 5, 1])]:
        call = f"CharTokenizer({chars!r}, specials={specials}).encode({s!r})"
        small, _ = tokenizer(ns, chars, "encode", specials=specials)
        stored.expect("encode", call, call_encode(small, s), want,
                      "'?' is unknown: it becomes the id of <unk>, wherever <unk> sits among the specials.")
    for bad in [["h", "i"], b"hi", 42, None]:
        try:
            got = tok.encode(bad)
        except TypeError as error:
            if not str(error):
                raise CheckFailure(f"encode({bad!r}) raised a TypeError without a message.",
                                   "Say what was expected: raise TypeError(f'encode expects a str, got ...').") from None
        except Exception as error:
            raise CheckFailure(f"encode({bad!r}) raised {type(error).__name__}: {error}; expected a TypeError.",
                               "Check isinstance(text, str) first and raise TypeError.") from None
        else:
            raise CheckFailure(f"encode({bad!r}) returned {describe(got)} instead of raising TypeError.",
                               "Check isinstance(text, str) first: a list or bytes or a number is a bug in the caller, "
                               "and converting it with str() hides the bug.")


# ---------------------------------------------------------------- 6. decode

@lesson.exercise("decode", points=2,
                 hint="Check that every id is an int and lies in 0..V-1 before you look it up in itos, then join the "
                      "tokens.")
def decode(ns: Namespace) -> None:
    text = corpus()
    tok, itos = tokenizer(ns, text, "decode")
    for pieces in [[], list("To"), list("To be, or not to be: that is"), [EOT], [UNK],
                   list("the end.") + [EOT] + list("Another play") + [EOT]]:
        ids = ids_of(pieces, itos)
        stored.expect("decode", f"decode({ids}) with Shakespeare's vocabulary", tok.decode(ids), "".join(pieces),
                      "Decode every id with itos, special tokens included: each decodes to its own string.")
    ids = ids_of(list("To be, or not to be: that is"), itos)
    expect_equal(tok.decode(tuple(ids)), "To be, or not to be: that is", "decode of a tuple of ids",
                 "Loop over ids, whatever kind of sequence it is.")
    size = len(itos)
    range_hint = f"Valid ids are 0..{size - 1}: check the range yourself and raise ValueError naming the id."
    a = itos.index("a")
    for bad in [size, size + 1000]:
        expect_rejected(tok, [a, bad], bad, (ValueError, IndexError),
                        f"id {bad} is not in the vocabulary (ids 0..{size - 1}).", range_hint)
    for bad in [-1, -5]:
        expect_rejected(tok, [a, bad], bad, (ValueError, IndexError),
                        f"negative ids are not token ids, but Python's negative indexing made itos[{bad}] = "
                        f"{itos[bad]!r} work silently.", range_hint)
    for bad in [2.0, "a", None]:
        expect_rejected(tok, [a, bad], bad, (TypeError, ValueError),
                        f"{bad!r} is not an int, so it cannot be a token id; decode should raise TypeError instead "
                        "of guessing.", "Check isinstance(i, int) and raise TypeError naming the id.")


# ---------------------------------------------------------------- 7. the round trip

@lesson.exercise("round_trip", points=1,
                 hint="If encode and decode pass, check that encode finds *every* special token in the text.")
def round_trip(ns: Namespace) -> None:
    text = corpus()
    chars = sorted(set(text))
    samples = random_pieces(2, 150, chars)
    for name, table in [("dict", dict), ("a dict subclass", Table), ("your HashMap", ns.HashMap)]:
        where = f"CharTokenizer(text, table={'HashMap' if table is ns.HashMap else table.__name__})"
        tok, itos = guarded(ns, table, where, lambda: tokenizer(ns, text, "the round trip", table=table))
        for pieces in samples:
            s = "".join(pieces)
            ids = guarded(ns, table, where, lambda: call_encode(tok, s))
            want = ids_of(pieces, itos)
            if len(ids) != len(want):
                n_special = sum(1 for p in pieces if p in SPECIALS)
                raise CheckFailure(f"with table={name}, encode({s!r}) gave {len(ids)} ids, but the string is made of "
                                   f"{n_special} special tokens and {len(pieces) - n_special} other characters, so "
                                   f"{len(want)} ids: every special token must be one id, however many there are and "
                                   "wherever they appear.",
                                   "Split on all occurrences of the specials (re.split does), not only the first one.")
            back = tok.decode(ids)
            if back != s:
                raise CheckFailure(f"round trip broken with table={name}: decode(encode(s)) is not s for s = {s!r}; "
                                   f"{where_strings_differ(str(back), s)}.",
                                   "decode must give back exactly what encode read.")
            expect_equal(ids, want, f"with table={name}, encode({s!r:.60})")
    tok = ns.CharTokenizer(text)
    expect_equal(tok.decode(tok.encode("Café")), "Caf<unk>", "decode(encode('Café')) ('é' is unknown)",
                 "Unknown characters become <unk>, and <unk> decodes to the string '<unk>'.")
