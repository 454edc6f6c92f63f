"""Checks for lesson 02 — encoder and decoder as hash maps.

The hash map checks look inside the learner's ``HashMap`` (its ``buckets`` list is part of the
given design) and use keys built for the purpose: keys whose hash is a constant (every key
collides), integers that collide modulo 8, and keys that count their own ``__hash__`` calls, so
that amortized growth is measured as work done rather than as time.  The tokenizer checks
compare with a small reference written here (a left-to-right scan, not the regex split that
the solution uses), with ``dict``, a ``dict`` subclass and the learner's ``HashMap`` as tables.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

from ..data import load_shakespeare
from ..feedback import describe, expect_equal, expect_type
from ..registry import CheckFailure, Namespace

from ..practice.lesson02 import RESIZE_HINT, lesson

MAX_LOAD = 0.75
EOT, UNK = "<|endoftext|>", "<unk>"
SPECIALS = (EOT, UNK)


# ---------------------------------------------------------------- keys made for testing

class _Collider:
    """A key whose hash is always 7: all of them share one bucket."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Collider) and self.name == other.name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"


class _TooMuchWork(BaseException):
    """Raised from inside __hash__ once a map has hashed more than its budget allows
    (a BaseException, so that a learner's ``except Exception`` does not swallow it)."""


class _Counted:
    """An int-like key that counts how often it is hashed, and stops a runaway map."""

    calls = 0
    budget: int | None = None

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        _Counted.calls += 1
        if _Counted.budget is not None and _Counted.calls > _Counted.budget:
            raise _TooMuchWork()
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Counted) and self.value == other.value

    def __repr__(self) -> str:
        return f"Key({self.value})"


class _Table(dict):
    """A table type the checks pass as ``table``, to see that stoi is really built with it."""


# ---------------------------------------------------------------- hash map helpers

def _new_map(ns: Namespace, capacity: int | None = None) -> Any:
    m = ns.HashMap() if capacity is None else ns.HashMap(capacity=capacity)
    buckets = getattr(m, "buckets", None)
    want = 8 if capacity is None else capacity
    if not isinstance(buckets, list) or len(buckets) != want:
        raise CheckFailure(f"HashMap({'' if capacity is None else f'capacity={capacity}'}).buckets should be a "
                           f"list of {want} empty buckets, got {describe(buckets)}.",
                           "Keep the given __init__: self.buckets = [[] for _ in range(capacity)].")
    return m


def _capacity(m: Any) -> int:
    buckets = getattr(m, "buckets", None)
    if not isinstance(buckets, list):
        raise CheckFailure(f"self.buckets should stay a list, but it became {describe(buckets)}.")
    return len(buckets)


def _where(m: Any, key: Any) -> list[int]:
    """The numbers of the buckets that hold a pair for ``key``."""
    found = []
    for b, bucket in enumerate(m.buckets):
        for pair in bucket:
            if isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[0] == key:
                found.append(b)
    return found


def _get(m: Any, key: Any, what: str) -> Any:
    """m[key], with a KeyError turned into a message that says where the key went."""
    try:
        return m[key]
    except KeyError:
        pass
    places = _where(m, key)
    cap = _capacity(m)
    if places:
        raise CheckFailure(f"{what}: m[{key!r}] raised KeyError, but the pair is stored in bucket {places[0]}, while "
                           f"hash({key!r}) % {cap} = {hash(key) % cap}.",
                           "A key must live in bucket hash(key) % len(self.buckets); after a resize every key has "
                           "to be re-inserted at its new index (re-hashed), not copied to the same position.")
    raise CheckFailure(f"{what}: m[{key!r}] raised KeyError: the key is not in any bucket any more.",
                       "Was it lost when the buckets were replaced? _resize must re-insert every old pair.")


# ---------------------------------------------------------------- hash map exercises

@lesson.grading("hashmap_basics")
def check_hashmap_basics(ns: Namespace) -> None:
    m = _new_map(ns)
    for key in [0, 5, 12345, -7, "token", ("a", 1), 2**70]:
        idx = m._index(key)
        if not isinstance(idx, int) or not 0 <= idx < 8:
            raise CheckFailure(f"HashMap()._index({key!r}) returned {describe(idx)}, which is not a bucket number "
                               "0..7 of a map with 8 buckets.",
                               "Take the hash modulo the number of buckets: hash(key) % len(self.buckets).")
        if idx != hash(key) % 8:
            raise CheckFailure(f"HashMap()._index({key!r}) returned {idx}, expected hash({key!r}) % 8 = "
                               f"{hash(key) % 8}.", "Use exactly hash(key) % len(self.buckets).")
    small = _new_map(ns, capacity=5)
    if small._index(12) != 2:
        raise CheckFailure(f"HashMap(capacity=5)._index(12) returned {describe(small._index(12))}, expected 12 % 5 = 2.",
                           "Divide by the actual number of buckets, len(self.buckets), not by a constant 8.")

    m = _new_map(ns)
    expect_equal(len(m), 0, "len(HashMap())")
    shared = [1, 2]
    pairs = [("to", 1), ("be", 2), (-7, "minus seven"), (("a", 1), shared), (2**70, None), (3.5, 0)]
    for n, (key, value) in enumerate(pairs, start=1):
        m[key] = value
        if len(m) != n:
            raise CheckFailure(f"after {n} inserts of different keys, len(m) is {len(m)}, expected {n}.",
                               "Count each new key: self.size += 1 when a pair is appended.")
    for key, value in pairs:
        got = _get(m, key, f"after inserting {len(pairs)} keys")
        if got is not value and got != value:
            raise CheckFailure(f"m[{key!r}] returned {describe(got)}, expected {describe(value)}.")
        if not _where(m, key) == [hash(key) % _capacity(m)]:
            raise CheckFailure(f"the pair of {key!r} should be in bucket hash(key) % {_capacity(m)} = "
                               f"{hash(key) % _capacity(m)} (and only there), but it is in buckets {_where(m, key)}.",
                               "Append [key, value] to self.buckets[self._index(key)].")

    m["to"] = 10
    if len(m) != len(pairs):
        raise CheckFailure(f"overwriting the existing key 'to' changed len(m) from {len(pairs)} to {len(m)}: "
                           "it added a second entry instead of replacing the value.",
                           "Before appending, look for the key in its bucket; if it is there, overwrite pair[1] and return.")
    expect_equal(_get(m, "to", "after m['to'] = 10"), 10, "m['to'] after m['to'] = 10 (overwrite)",
                 "Overwrite the value of the existing pair.")

    try:
        got = m["missing"]
    except KeyError as error:
        if "missing" not in str(error):
            raise CheckFailure(f"m['missing'] raised KeyError, but its message ({str(error)!r}) does not say which "
                               "key was missing.", "raise KeyError(key)") from None
    except Exception as error:
        raise CheckFailure(f"m['missing'] raised {type(error).__name__}: {error}; a missing key should raise KeyError.",
                           "End __getitem__ with raise KeyError(key).") from None
    else:
        raise CheckFailure(f"m['missing'] returned {describe(got)} instead of raising KeyError.",
                           "A missing key must raise KeyError(key), like a dict: a returned None could not be told "
                           "apart from a stored None (this map stores one under 2**70).")
    expect_equal("be" in m, True, "'be' in m")
    expect_equal("missing" in m, False, "'missing' in m")
    expect_equal(m.get(2**70, "default"), None, "m.get(2**70, 'default') (the stored value is None)")
    expect_equal(m.get("missing", -1), -1, "m.get('missing', -1)")
    expect_equal(sorted(map(repr, m.keys())), sorted(repr(k) for k, _ in pairs), "the keys of m")


@lesson.grading("hashmap_collisions")
def check_hashmap_collisions(ns: Namespace) -> None:
    m = _new_map(ns)
    a, b = _Collider("a"), _Collider("b")
    m[a] = 0
    m[b] = 1
    collision_hint = ("Keep every pair in the bucket's list: look for an equal key, and append a new pair "
                      "when there is none. Never replace the whole bucket.")
    if len(m) != 2:
        raise CheckFailure(f"two different keys with the same hash (a collision) were inserted, but len(m) is "
                           f"{len(m)}, expected 2: the second replaced the first.", collision_hint)
    try:
        got = m[a]
    except KeyError:
        raise CheckFailure("two different keys with the same hash (a collision): after inserting the second, "
                           "the first one is gone (KeyError).", collision_hint) from None
    if got != 0:
        raise CheckFailure(f"two different keys with the same hash (a collision): m[first] returned {describe(got)}, "
                           "expected 0: the second key overwrote the first one's value.", collision_hint)
    try:
        m[_Collider("a")]
    except KeyError:
        raise CheckFailure("m[key] finds a key only when given the very object that was inserted: an equal key "
                           "built separately raised KeyError.",
                           "Compare keys with ==, not `is` (two equal strings can be different objects).") from None

    keys = [a, b] + [_Collider(name) for name in "cde"]
    for i, key in enumerate(keys):
        m[key] = i * 10
    expect_equal(len(m), 5, "len(m) after 5 keys that all collide (two of them inserted twice)")
    chain = m.buckets[7]
    if len(chain) != 5:
        raise CheckFailure(f"five keys whose hash is 7 should all be in bucket 7 of 8, but it holds "
                           f"{describe(chain)}.", collision_hint)
    for i, key in enumerate(keys):
        expect_equal(_get(m, _Collider(key.name), "five colliding keys"), i * 10, f"m[{key!r}] (five colliding keys)")

    ints = _new_map(ns)
    values = {1: "one", 9: "nine", 17: "seventeen", 25: "twenty-five"}  # all equal to 1 modulo 8
    for key, value in values.items():
        ints[key] = value
    for key, value in values.items():
        expect_equal(_get(ints, key, "keys 1, 9, 17, 25 (same bucket modulo 8)"), value,
                     f"m[{key}] with keys 1, 9, 17, 25 (all in bucket 1)", collision_hint)

    del ints[9]  # from the middle of the chain
    if len(ints) == 4:
        raise CheckFailure("len(m) did not decrease after del m[9].", "Subtract one from self.size in __delitem__.")
    for key in (1, 17, 25):
        if key not in ints:
            raise CheckFailure(f"after del m[9], the key {key} is gone too: del removed other keys in the same bucket "
                               "(1, 9, 17 and 25 all live in bucket 1).",
                               "Remove only the pair whose key equals the key: find its position j, then del bucket[j].")
        expect_equal(ints[key], values[key], f"m[{key}] after del m[9]")
    expect_equal(len(ints), 3, "len(m) after deleting one of 4 keys")
    expect_equal(9 in ints, False, "9 in m after del m[9]")
    for missing, why in [(9, "a key that was just deleted"), (2, "a key whose bucket is empty")]:
        try:
            del ints[missing]
        except KeyError:
            pass
        except Exception as error:
            raise CheckFailure(f"del m[{missing}] ({why}) raised {type(error).__name__}: {error}; expected KeyError.",
                               "End __delitem__ with raise KeyError(key).") from None
        else:
            raise CheckFailure(f"del m[{missing}] ({why}) did not raise KeyError.",
                               "Like a dict, deleting a missing key must raise KeyError(key).")
    expect_equal(len(ints), 3, "len(m) after trying to delete missing keys")
    ints[9] = "again"
    expect_equal(_get(ints, 9, "re-inserting 9"), "again", "m[9] after deleting it and inserting it again")
    for key in (1, 25):  # the first and the last pair of the chain
        del ints[key]
    expect_equal(sorted(ints.keys()), [9, 17], "the keys left after deleting 1 and 25")
    del m[_Collider("c")]
    expect_equal(sorted(k.name for k in m.keys()), ["a", "b", "d", "e"], "colliding keys left after deleting Key('c')")


@lesson.grading("hashmap_resize")
def check_hashmap_resize(ns: Namespace) -> None:
    m = _new_map(ns)
    keys = [0, 1, 2, 8, 9, 10, 16]  # keys 8, 9, 10 must move when 8 buckets become 16
    for key in keys[:6]:
        m[key] = -key
    if _capacity(m) != 8:
        raise CheckFailure(f"6 keys in HashMap() (8 buckets) is a load factor of exactly 0.75, which is allowed, but the "
                           f"map already has {_capacity(m)} buckets.",
                           "Resize only when the load factor would *exceed* 0.75: (len + 1) / capacity > 0.75.")
    m[keys[6]] = -keys[6]
    cap = _capacity(m)
    if cap == 8:
        raise CheckFailure("after a 7th insert, HashMap() still has 8 buckets: a load factor of 7/8 = 0.875, above "
                           "the limit 0.75.", RESIZE_HINT)
    if cap != 16:
        extra = (" Growing by a constant means resizing again every few inserts: quadratic total work."
                 if cap < 16 else "")
        raise CheckFailure(f"when 8 buckets get too full, the capacity should double, 8 -> 16, but it became {cap}.{extra}",
                           "Call self._resize(2 * len(self.buckets)) and build exactly new_capacity buckets.")
    if len(m) != 7:
        raise CheckFailure(f"len(m) is {len(m)} after 7 inserts and one resize, expected 7.",
                           "Resizing moves pairs; it must not change self.size (if you re-insert with self[key] = "
                           "value, reset self.size to 0 first).")
    for key in keys:
        expect_equal(_get(m, key, "after growing from 8 to 16 buckets"), -key, f"m[{key}] after the resize")

    m = _new_map(ns, capacity=4)
    for key in range(3):
        m[key] = key
    expect_equal(_capacity(m), 4, "the number of buckets of HashMap(capacity=4) after 3 inserts")
    m[3] = 3
    expect_equal(_capacity(m), 8, "the number of buckets of HashMap(capacity=4) after 4 inserts (4/4 > 0.75)",
                 "Double the actual number of buckets: 2 * len(self.buckets).")

    n = 3000
    budget = 8 * n
    m = _new_map(ns)
    expected_cap = 8
    _Counted.calls, _Counted.budget = 0, budget
    try:
        for i in range(n):
            m[_Counted(i)] = i
            if (i + 1) / expected_cap > MAX_LOAD:
                expected_cap *= 2
            cap = _capacity(m)
            if len(m) / cap > MAX_LOAD:
                raise CheckFailure(f"after {i + 1} inserts the load factor is {len(m)}/{cap} = {len(m) / cap:.2f}, "
                                   "above the limit 0.75.", RESIZE_HINT)
            if cap != expected_cap:
                raise CheckFailure(f"after {i + 1} inserts into HashMap() the map has {cap} buckets, expected "
                                   f"{expected_cap} (8 doubled each time the load factor would exceed 0.75).",
                                   "Double only when needed: (len + 1) / capacity > 0.75.")
    except _TooMuchWork:
        raise CheckFailure(f"inserting {n:,} keys made more than {budget:,} calls to __hash__ (8 per key), and "
                           f"was stopped after {i:,} inserts: the cost per insert is not amortized O(1).",
                           "Resize only when the load factor would exceed 0.75, and then double: all resizes "
                           "together re-hash fewer than 2n keys. Re-hashing on every insert (or growing by a "
                           "constant) costs O(n^2).") from None
    finally:
        _Counted.budget = None
    expect_equal(len(m), n, f"len(m) after {n:,} inserts")
    for i in range(0, n, 7):
        expect_equal(_get(m, _Counted(i), f"after {n:,} inserts"), i, f"m[Key({i})] after {n:,} inserts")


# ---------------------------------------------------------------- tokenizer references

@lru_cache(maxsize=1)
def _corpus() -> str:
    return load_shakespeare()[:5000]


def _ref_itos(text: str, specials: tuple[str, ...] = SPECIALS) -> list[str]:
    return sorted(set(text)) + list(specials)


def _ref_encode(s: str, itos: list[str], specials: tuple[str, ...] = SPECIALS) -> list[int]:
    """Scan left to right: a special token's string is one id, any other character its own id or <unk>."""
    stoi = {token: i for i, token in enumerate(itos)}
    out, j = [], 0
    while j < len(s):
        special = next((t for t in specials if s.startswith(t, j)), None)
        if special is not None:
            out.append(stoi[special])
            j += len(special)
        else:
            out.append(stoi.get(s[j], stoi[UNK]))
            j += 1
    return out


def _tokenizer(ns: Namespace, text: str, exercise: str) -> tuple[Any, list[str]]:
    """The learner's tokenizer, after making sure its vocabulary is right."""
    tok = ns.CharTokenizer(text)
    want = _ref_itos(text)
    itos = getattr(tok, "itos", None)
    if itos != want:
        raise CheckFailure(f"CharTokenizer(text).itos is {describe(itos)}, not the expected vocabulary "
                           f"{describe(want)}, so {exercise} cannot be checked yet.",
                           "Make the tokenizer_init check pass first.")
    return tok, want


def _encode(tok: Any, s: Any) -> Any:
    ids = tok.encode(s)
    expect_type(ids, list, f"encode({s!r:.40})", "Return a list of ints.")
    if not all(isinstance(i, int) for i in ids):
        raise CheckFailure(f"encode({s!r:.40}) should return ints, got {describe(ids)}.")
    return ids


def _hashmap_unfinished(where: str) -> CheckFailure:
    return CheckFailure(f"{where} reached a method of your HashMap that still raises NotImplementedError.",
                        "Finish HashMap (the hashmap_* checks) first; with table=dict your tokenizer may already work.")


# ---------------------------------------------------------------- tokenizer exercises

@lesson.grading("tokenizer_init")
def check_tokenizer_init(ns: Namespace) -> None:
    tok = ns.CharTokenizer("hello world")
    want = _ref_itos("hello world")
    itos = getattr(tok, "itos", None)
    expect_type(itos, list, "CharTokenizer('hello world').itos", "itos is a plain list: position = id.")
    if itos and itos[0] in SPECIALS:
        raise CheckFailure(f"CharTokenizer('hello world').itos starts with {itos[0]!r}: {describe(itos)}.",
                           "The special tokens go after the characters (as in GPT-2, where <|endoftext|> is the last "
                           "id, 50256), so that the ids of the characters do not depend on the specials.")
    expect_equal(itos, want, "CharTokenizer('hello world').itos",
                 "The sorted distinct characters, then the specials in the order given.")
    stoi = getattr(tok, "stoi", None)
    if not isinstance(stoi, dict):
        raise CheckFailure(f"with the default table=dict, stoi should be a dict, got {describe(stoi)}.",
                           "self.stoi = table(), then fill it.")
    expect_equal(dict(stoi), {t: i for i, t in enumerate(want)}, "CharTokenizer('hello world').stoi",
                 "stoi[token] = id for every token of itos.")
    expect_equal(tok.vocab_size, len(want), "CharTokenizer('hello world').vocab_size")

    tok = ns.CharTokenizer("abc", table=_Table)
    if not isinstance(getattr(tok, "stoi", None), _Table):
        raise CheckFailure(f"CharTokenizer('abc', table=T).stoi should be a T, created by calling table(); got "
                           f"{describe(getattr(tok, 'stoi', None))}.",
                           "Create stoi with self.stoi = table() instead of a dict literal or comprehension.")
    expect_equal(dict(tok.stoi), {"a": 0, "b": 1, "c": 2, EOT: 3, UNK: 4}, "CharTokenizer('abc', table=T).stoi")

    specials = (EOT, "<|pad|>", UNK)
    tok = ns.CharTokenizer("banana", specials=specials)
    expect_equal(getattr(tok, "itos", None), ["a", "b", "n", *specials],
                 f"CharTokenizer('banana', specials={specials}).itos",
                 "Append the specials argument, in the order given, after the characters (do not hard-code them).")

    text = _corpus()
    tok = ns.CharTokenizer(text)
    v = len(set(text))
    expect_equal((tok.stoi[EOT], tok.stoi[UNK], tok.vocab_size), (v, v + 1, v + 2),
                 f"(stoi['<|endoftext|>'], stoi['<unk>'], vocab_size) for Shakespeare's {v} characters")

    try:
        tok = ns.CharTokenizer(text, table=ns.HashMap)
        got = {t: tok.stoi[t] for t in _ref_itos(text)}
        size = len(tok.stoi)
    except NotImplementedError:
        raise _hashmap_unfinished("CharTokenizer(text, table=HashMap)") from None
    if not isinstance(tok.stoi, ns.HashMap):
        raise CheckFailure(f"with table=HashMap, stoi should be one of your HashMaps, got {describe(tok.stoi)}.",
                           "self.stoi = table()")
    expect_equal(got, {t: i for i, t in enumerate(_ref_itos(text))}, "the ids in a stoi built with table=HashMap")
    expect_equal(size, v + 2, "len(stoi) with table=HashMap")


@lesson.grading("encode")
def check_encode(ns: Namespace) -> None:
    text = _corpus()
    tok, itos = _tokenizer(ns, text, "encode")
    eot, unk = itos.index(EOT), itos.index(UNK)
    expect_equal(_encode(tok, ""), [], "encode('')")
    for s in ["To be, or not to be", text[1000:1400]]:
        expect_equal(_encode(tok, s), _ref_encode(s, itos), f"encode({s[:30]!r})")

    s = "First.<|endoftext|>Second."
    got = _encode(tok, s)
    want = _ref_encode(s, itos)
    if eot not in got:
        raise CheckFailure(f"encode({s!r}) gave {describe(got)}: the text's <|endoftext|> must become its single id "
                           f"{eot}, not one id per character.",
                           "Split the text on the special tokens first; each one found becomes one id.")
    expect_equal(got, want, f"encode({s!r})")
    for s in [EOT + EOT, EOT + "a" + EOT, UNK, "a" + UNK + EOT]:
        expect_equal(_encode(tok, s), _ref_encode(s, itos), f"encode({s!r})",
                     "Every occurrence of a special token's string is that token's one id.")

    s = "Café 7"
    try:
        got = _encode(tok, s)
    except KeyError as error:
        raise CheckFailure(f"encode({s!r}) raised KeyError: {error}. 'é' and '7' are not in the vocabulary.",
                           f"Map an unknown character to the id of <unk> ({unk}): stoi.get(ch, unk_id).") from None
    want = _ref_encode(s, itos)
    if len(got) == len(want) and any(g == 0 and w == unk for g, w in zip(got, want)):
        raise CheckFailure(f"encode({s!r}) gave {got}: the unknown characters were silently mapped to 0, which is "
                           f"the id of {itos[0]!r}. They must become <unk> (id {unk}).",
                           "Use stoi.get(ch, unk_id), never stoi.get(ch, 0): a wrong id is worse than an error.")
    expect_equal(got, want, f"encode({s!r}) ('é' and '7' are not in Shakespeare's vocabulary)",
                 f"Every unknown character becomes the id of <unk>, {unk}.")

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


def _expect_rejected(tok: Any, ids: list, bad: Any, allowed: tuple[type, ...], why: str, hint: str) -> None:
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


@lesson.grading("decode")
def check_decode(ns: Namespace) -> None:
    text = _corpus()
    tok, itos = _tokenizer(ns, text, "decode")
    eot, unk, size = itos.index(EOT), itos.index(UNK), len(itos)
    cases = [[], [itos.index("T"), itos.index("o")], _ref_encode("To be, or not to be: that is", itos), [eot], [unk],
             _ref_encode("the end." + EOT + "Another play" + EOT, itos)]
    for ids in cases:
        want = "".join(itos[i] for i in ids)
        got = tok.decode(ids)
        if isinstance(got, str) and set(ids) & {eot, unk} and got == "".join(itos[i] for i in ids if i < eot):
            raise CheckFailure(f"decode({ids}) gave {got!r}, expected {want!r}: special tokens decode to their own "
                               "string ('<|endoftext|>', '<unk>'), they are not dropped.",
                               "Decode each id with itos, specials included.")
        if isinstance(got, str) and ids and got == "".join(itos[i] for i in ids[:-1]):
            raise CheckFailure(f"decode({ids}) lost the last token: got {got!r}, expected {want!r}.",
                               "Decode every id, including the last one.")
        expect_equal(got, want, f"decode({ids})", "''.join(self.itos[i] for i in ids)")
    expect_equal(tok.decode(tuple(cases[2])), "To be, or not to be: that is", "decode of a tuple of ids")

    range_hint = f"Valid ids are 0..{size - 1}: check 0 <= i < len(self.itos) and raise ValueError naming the id."
    a = itos.index("a")
    for bad in [size, size + 1000]:
        _expect_rejected(tok, [a, bad], bad, (ValueError, IndexError),
                         f"id {bad} is not in the vocabulary (ids 0..{size - 1}).", range_hint)
    for bad in [-1, -5]:
        _expect_rejected(tok, [a, bad], bad, (ValueError, IndexError),
                         f"negative ids are not token ids, but Python's negative indexing made itos[{bad}] = "
                         f"{itos[bad]!r} work silently.", range_hint)
    for bad in [2.0, "a", None]:
        _expect_rejected(tok, [a, bad], bad, (TypeError, ValueError),
                         f"{bad!r} is not an int, so it cannot be a token id; decode should raise TypeError instead "
                         "of guessing.", "Check isinstance(i, int) and raise TypeError naming the id.")


@lesson.grading("round_trip")
def check_round_trip(ns: Namespace) -> None:
    text = _corpus()
    itos = _ref_itos(text)
    chars = sorted(set(text))
    rng = random.Random(2)
    strings = []
    for _ in range(150):
        pieces = [rng.choice(SPECIALS) if rng.random() < 0.12 else rng.choice(chars) for _ in range(rng.randrange(40))]
        strings.append("".join(pieces))
    results: dict[str, list[list[int]]] = {}
    for name, table in [("dict", dict), ("a dict subclass", _Table), ("your HashMap", ns.HashMap)]:
        try:
            tok = ns.CharTokenizer(text, table=table)
            results[name] = [_round_trip(tok, s, itos, name) for s in strings]
        except NotImplementedError:
            if name != "your HashMap":
                raise
            raise _hashmap_unfinished("encoding with table=HashMap") from None
    for name, ids in results.items():
        if ids != results["dict"]:
            k = next(i for i, (a, b) in enumerate(zip(ids, results["dict"])) if a != b)
            raise CheckFailure(f"with table={name}, encode({strings[k]!r:.60}) gave {describe(ids[k])}, but with "
                               f"table=dict it gave {describe(results['dict'][k])}.",
                               "The table type must not change the ids: build stoi the same way whatever table is.")
    tok = ns.CharTokenizer(text)
    expect_equal(tok.decode(tok.encode("Café")), "Caf<unk>", "decode(encode('Café')) ('é' is unknown)",
                 "Unknown characters become <unk>, and <unk> decodes to the string '<unk>'.")


def _round_trip(tok: Any, s: str, itos: list[str], table: str) -> list[int]:
    ids = _encode(tok, s)
    want = _ref_encode(s, itos)
    if len(ids) != len(want):
        n_special = sum(1 for i in want if itos[i] in SPECIALS)
        raise CheckFailure(f"with table={table}, encode({s!r}) gave {len(ids)} ids, but the string is made of "
                           f"{n_special} special tokens and {len(want) - n_special} other characters, so {len(want)} "
                           "ids: every special token must be one id, however many there are and wherever they appear.",
                           "Split on all occurrences of the specials (re.split does), not only the first one.")
    back = tok.decode(ids)
    if back != s:
        raise CheckFailure(f"round trip broken with table={table}: decode(encode(s)) gave {back!r:.80} for "
                           f"s = {s!r:.80}.", "decode must give back exactly what encode read.")
    expect_equal(ids, want, f"with table={table}, encode({s!r:.60})")
    return ids


# ---------------------------------------------------------------- mutants (known-buggy variants)

