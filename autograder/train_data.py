"""The data side of ``python -m autograder train``: read a text file, tokenize it, split it.

* :func:`read_text` reads a UTF-8 file and says in one line what is wrong with a bad one;
* :class:`Tokenizer` turns text into token ids: characters (the vocabulary is the text's distinct
  characters), or byte-pair encoding with the learner's lesson-01 functions (``train_bpe_fast`` or
  ``train_bpe``, ``split_words``, ``encode``, ``decode``), or with :func:`reference_bpe`, the
  course's reference in the same shape.  Its :attr:`~Tokenizer.state` is plain data that goes
  into the checkpoint, so a resumed run tokenizes exactly as before;
* :func:`token_splits`: the first 90% of the text to train on, the last 10% to validate on
  (:func:`autograder.data.train_val_split`), as tensors of ids.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from .data import train_val_split


class DataError(ValueError):
    """The training text cannot be used; the message is one line for the user."""


def read_text(path: str | Path) -> str:
    """The file's text; a missing, empty or non-UTF-8 file raises :class:`DataError`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist (or is not a file)")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path} is empty: there is no text to learn from")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
                        "convert it first, e.g. with iconv -t utf-8") from None


class Tokenizer:
    """Characters, or lesson 01's byte-level BPE (``bpe``: the learner's functions by name)."""

    def __init__(self, state: dict[str, Any], bpe: dict[str, Callable] | None = None) -> None:
        self.state = state
        self.kind: str = state["kind"]
        if self.kind == "char":
            self.stoi = {c: i for i, c in enumerate(state["chars"])}
            self.vocab_size = len(state["chars"])
        else:
            self.merges = {(a, b): i for a, b, i in state["merges"]}
            self.vocab = {i: bytes(b) for i, b in state["vocab"]}
            self.vocab_size = max(self.vocab) + 1
            self.bpe = bpe or {}

    @classmethod
    def build(cls, kind: str, text: str, train_text: str, vocab_size: int,
              bpe: dict[str, Callable] | None = None) -> "Tokenizer":
        """Characters of the whole text, or BPE merges learned from the training split only."""
        if kind == "char":
            return cls({"kind": "char", "chars": sorted(set(text))})
        merges, vocab = bpe["train"](train_text, vocab_size)
        return cls({"kind": "bpe", "merges": [(a, b, i) for (a, b), i in merges.items()],
                    "vocab": [(i, list(b)) for i, b in vocab.items()]}, bpe)

    def encode(self, text: str) -> list[int]:
        if self.kind == "char":
            return [self.stoi[c] for c in text]
        ids: list[int] = []
        known: dict[str, list[int]] = {}
        for word in self.bpe["split_words"](text):  # each distinct chunk is encoded once
            if word not in known:
                known[word] = list(self.bpe["encode"](word, self.merges, self.vocab))
            ids.extend(known[word])
        return ids

    def decode(self, ids: list[int]) -> str:
        if self.kind == "char":
            chars = self.state["chars"]
            return "".join(chars[i] for i in ids)
        return self.bpe["decode"](ids, self.vocab)


def reference_bpe() -> dict[str, Callable] | None:
    """The reference BPE (:mod:`autograder.reference.bpe`) with lesson 01's signatures, or None
    where it is not installed (the student kit)."""
    try:
        ref = importlib.import_module("autograder.reference.bpe")
    except ImportError:
        return None

    def train(text: str, vocab_size: int) -> tuple[dict, dict]:
        pairs = ref.train(text, vocab_size)
        return {pair: 256 + i for i, pair in enumerate(pairs)}, ref.vocab_of(pairs)

    return {"train": train, "split_words": ref.gpt2_words,
            "encode": lambda text, merges, vocab: ref.encode(text, merges),
            "decode": lambda ids, vocab: b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")}


def token_splits(text: str, tokenizer: Tokenizer) -> tuple[Any, Any]:
    """The ids of the first 90% and of the last 10% of the text (two long tensors)."""
    import torch

    train_text, val_text = train_val_split(text)
    return (torch.tensor(tokenizer.encode(train_text), dtype=torch.long),
            torch.tensor(tokenizer.encode(val_text), dtype=torch.long))
