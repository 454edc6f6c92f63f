"""Grading checks for lesson 02 — encoder and decoder as hash maps.

The hash map checks observe behaviour only (no reference is needed), so the practice checks are
also the grading checks.  The tokenizer checks compare with the reference tokenizer of
:mod:`autograder.reference.char_tokenizer` (a left-to-right scan, not the regex split the
solution uses), with ``dict``, a ``dict`` subclass and the learner's ``HashMap`` as tables, and
name the known mistakes.
"""

from __future__ import annotations

from typing import Any

from ..feedback import Mistake, describe, expect_close, expect_equal, expect_type
from ..reference.char_tokenizer import EOT, SPECIALS, UNK, encode as ref_encode, vocabulary
from ..registry import CheckFailure, Namespace

from ..practice.lesson02 import (Table, call_encode, corpus, expect_rejected, guarded, hashmap_basics, hashmap_collisions,
                                 hashmap_resize, lesson, random_pieces, where_strings_differ, with_hashmap)

# ---------------------------------------------------------------- hash map exercises: the practice checks

lesson.grading("hashmap_basics")(hashmap_basics)
lesson.grading("hashmap_collisions")(hashmap_collisions)
lesson.grading("hashmap_resize")(hashmap_resize)


# ---------------------------------------------------------------- tokenizer helpers

def reference_tokenizer(ns: Namespace, text: str, exercise: str,
                        specials: tuple[str, ...] = SPECIALS) -> tuple[Any, list[str]]:
    """The learner's tokenizer, after making sure its vocabulary is the reference's."""
    tok = ns.CharTokenizer(text) if specials == SPECIALS else ns.CharTokenizer(text, specials=specials)
    want = vocabulary(text, specials)
    itos = getattr(tok, "itos", None)
    if itos != want:
        raise CheckFailure(f"CharTokenizer(text).itos is {describe(itos)}, not the expected vocabulary "
                           f"{describe(want)}, so {exercise} cannot be checked yet.",
                           "Make the tokenizer_init check pass first.")
    return tok, want


# ---------------------------------------------------------------- 4. the vocabulary

@lesson.grading("tokenizer_init")
def check_tokenizer_init(ns: Namespace) -> None:
    tok = ns.CharTokenizer("hello world")
    want = vocabulary("hello world")
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
                           "Create stoi by calling table(), then fill it.")
    expect_equal(dict(stoi), {t: i for i, t in enumerate(want)}, "CharTokenizer('hello world').stoi",
                 "stoi[token] = id for every token of itos.")
    expect_equal(tok.vocab_size, len(want), "CharTokenizer('hello world').vocab_size")

    tok = ns.CharTokenizer("abc", table=Table)
    if not isinstance(getattr(tok, "stoi", None), Table):
        raise CheckFailure(f"CharTokenizer('abc', table=T).stoi should be a T, created by calling table(); got "
                           f"{describe(getattr(tok, 'stoi', None))}: the table argument was ignored.",
                           "Create stoi by calling table() instead of writing a dict literal or comprehension.")
    expect_equal(dict(tok.stoi), {"a": 0, "b": 1, "c": 2, EOT: 3, UNK: 4}, "CharTokenizer('abc', table=T).stoi")

    specials = (EOT, "<|pad|>", UNK)
    tok = ns.CharTokenizer("banana", specials=specials)
    expect_close(getattr(tok, "itos", None), vocabulary("banana", specials),
                 f"CharTokenizer('banana', specials={specials}).itos",
                 mistakes=[Mistake(vocabulary("banana"), "the specials argument was ignored: itos ends with the default "
                                   "specials.", "Append the specials argument, in the order given, after the "
                                   "characters (do not hard-code them).")])

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
    got = with_hashmap(where, lambda: {t: mine.stoi[t] for t in vocabulary(text)})
    expect_equal(got, {t: i for i, t in enumerate(vocabulary(text))}, "the ids in a stoi built with table=HashMap")
    expect_equal(with_hashmap(where, lambda: len(mine.stoi)), v + 2, "len(stoi) with table=HashMap")


# ---------------------------------------------------------------- 5. encode

@lesson.grading("encode")
def check_encode(ns: Namespace) -> None:
    text = corpus()
    tok, itos = reference_tokenizer(ns, text, "encode")
    eot, unk = itos.index(EOT), itos.index(UNK)
    expect_equal(call_encode(tok, ""), [], "encode('')")
    for s in ["To be, or not to be", text[1000:1400]]:
        expect_equal(call_encode(tok, s), ref_encode(s, itos), f"encode({s[:30]!r}) with Shakespeare's vocabulary")

    s = "First.<|endoftext|>Second."
    got = call_encode(tok, s)
    if eot not in got:
        raise CheckFailure(f"encode({s!r}) gave {describe(got)}: the text's <|endoftext|> must become its single id "
                           f"{eot}, not one id per character.",
                           "Split the text on the special tokens first; each one found becomes one id.")
    expect_equal(got, ref_encode(s, itos), f"encode({s!r}) with Shakespeare's vocabulary")
    for s in [EOT + EOT, EOT + "a" + EOT, UNK, "a" + UNK + EOT]:
        expect_equal(call_encode(tok, s), ref_encode(s, itos), f"encode({s!r}) with Shakespeare's vocabulary",
                     "Every occurrence of a special token's string is that token's one id.")

    s = "Café 7"
    what = "encode('Café 7') with Shakespeare's vocabulary ('é' and '7' are unknown)"
    try:
        got = call_encode(tok, s)
    except KeyError as error:
        raise CheckFailure(f"encode({s!r}) raised KeyError: {error}. 'é' and '7' are not in the vocabulary.",
                           f"Map an unknown character to the id of <unk> ({unk}).") from None
    want = ref_encode(s, itos)
    if len(got) == len(want) and any(g == 0 and w == unk for g, w in zip(got, want)):
        raise CheckFailure(f"{what} gave {got}: the unknown characters were silently mapped to 0, which is "
                           f"the id of {itos[0]!r}. They must become <unk> (id {unk}).",
                           "Look the id of <unk> up; never default to 0: a wrong id is worse than an error.")
    expect_equal(got, want, what, f"Every unknown character becomes the id of <unk>, {unk}.")

    for chars, specials, s in [("abc", (UNK, EOT), "cab?" + EOT), ("abc", (EOT, UNK, "<|pad|>"), "a?<|pad|>b")]:
        small, small_itos = reference_tokenizer(ns, chars, "encode", specials)
        call = f"CharTokenizer({chars!r}, specials={specials}).encode({s!r})"
        got, want = call_encode(small, s), ref_encode(s, small_itos, specials)
        unk_at = small_itos.index(UNK)
        if len(got) == len(want) and got[s.index("?")] == len(small_itos) - 1 != unk_at:
            raise CheckFailure(f"{call} gave {got}: the unknown '?' became id {len(small_itos) - 1}, the last id, which "
                               f"is {small_itos[-1]!r}; <unk> is id {unk_at} here.",
                               "<unk> is not always the last id: with other specials, or another order, it sits "
                               "elsewhere. Look its id up in stoi.")
        expect_equal(got, want, call, "Every special token is one id, and '?' is unknown.")

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

@lesson.grading("decode")
def check_decode(ns: Namespace) -> None:
    text = corpus()
    tok, itos = reference_tokenizer(ns, text, "decode")
    eot, unk, size = itos.index(EOT), itos.index(UNK), len(itos)
    cases = [[], [itos.index("T"), itos.index("o")], ref_encode("To be, or not to be: that is", itos), [eot], [unk],
             ref_encode("the end." + EOT + "Another play" + EOT, itos)]
    for ids in cases:
        want = "".join(itos[i] for i in ids)
        got = tok.decode(ids)
        what = f"decode({ids}) with Shakespeare's vocabulary"
        if isinstance(got, str) and set(ids) & {eot, unk} and got == "".join(itos[i] for i in ids if i < eot):
            raise CheckFailure(f"{what} gave {got!r}, expected {want!r}: special tokens decode to their own "
                               "string ('<|endoftext|>', '<unk>'), they are not dropped.",
                               "Decode each id with itos, specials included.")
        if isinstance(got, str) and ids and got == "".join(itos[i] for i in ids[:-1]):
            raise CheckFailure(f"{what} lost the last token: got {got!r}, expected {want!r}.",
                               "Decode every id, including the last one.")
        expect_equal(got, want, what, "Look every id up in itos and join the tokens.")
    expect_equal(tok.decode(tuple(cases[2])), "To be, or not to be: that is", "decode of a tuple of ids")

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

@lesson.grading("round_trip")
def check_round_trip(ns: Namespace) -> None:
    text = corpus()
    itos = vocabulary(text)
    strings = ["".join(pieces) for pieces in random_pieces(2, 150, sorted(set(text)))]
    results: dict[str, list[list[int]]] = {}
    for name, table in [("dict", dict), ("a dict subclass", Table), ("your HashMap", ns.HashMap)]:
        where = f"encoding with table={'HashMap' if table is ns.HashMap else table.__name__}"
        tok = guarded(ns, table, where, lambda: ns.CharTokenizer(text, table=table))
        results[name] = [guarded(ns, table, where, lambda: round_trip_ids(tok, s, itos, name)) for s in strings]
    for name, ids in results.items():
        if ids != results["dict"]:
            k = next(i for i, (a, b) in enumerate(zip(ids, results["dict"])) if a != b)
            raise CheckFailure(f"with table={name}, encode({strings[k]!r:.60}) gave {describe(ids[k])}, but with "
                               f"table=dict it gave {describe(results['dict'][k])}.",
                               "The table type must not change the ids: build stoi the same way whatever table is.")
    tok = ns.CharTokenizer(text)
    expect_equal(tok.decode(tok.encode("Café")), "Caf<unk>", "decode(encode('Café')) ('é' is unknown)",
                 "Unknown characters become <unk>, and <unk> decodes to the string '<unk>'.")


def round_trip_ids(tok: Any, s: str, itos: list[str], table: str) -> list[int]:
    ids = call_encode(tok, s)
    want = ref_encode(s, itos)
    if len(ids) != len(want):
        n_special = sum(1 for i in want if itos[i] in SPECIALS)
        raise CheckFailure(f"with table={table}, encode({s!r}) gave {len(ids)} ids, but the string is made of "
                           f"{n_special} special tokens and {len(want) - n_special} other characters, so {len(want)} "
                           "ids: every special token must be one id, however many there are and wherever they appear.",
                           "Split on all occurrences of the specials (re.split does), not only the first one.")
    back = tok.decode(ids)
    if back != s:
        raise CheckFailure(f"round trip broken with table={table}: decode(encode(s)) is not s for s = {s!r}; "
                           f"{where_strings_differ(str(back), s)}.", "decode must give back exactly what encode read.")
    expect_equal(ids, want, f"with table={table}, encode({s!r:.60})")
    return ids
