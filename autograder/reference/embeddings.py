"""Reference answers for lesson 03 (input embeddings), used by its grading checks and tests.

* :func:`gpt_model` builds the course's one reference GPT (:mod:`autograder.reference.gpt`) with
  a given size, on the meta device (shapes only, no memory), and :func:`gpt_param_count` counts
  its parameters: the exact answer to ``gpt_param_count``;
* :data:`GPT2_SMALL_PARAMS` and :data:`HF_TINY_PARAMS` are the counts Hugging Face's
  ``GPT2LMHeadModel`` reports (re-measured by ``autograder/tests/test_lesson03_extra.py``);
* :func:`pca_2d` is PCA by an exact SVD in float64.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator
from unittest import mock

import torch
import torch.nn as nn

from .gpt import GPT, GPTConfig

# GPT-2 small (50,257 tokens, 1,024 positions, 12 layers, 768 dims), as published and as
# reported by transformers' GPT2LMHeadModel(GPT2Config()).
GPT2_SMALL_PARAMS = 124_439_808
# sum(p.numel() for p in GPT2LMHeadModel(GPT2Config(vocab_size=100, n_positions=16, n_layer=2,
# n_embd=32, n_head=4, tie_word_embeddings=tied)).parameters()) with transformers 5.x (importing
# transformers takes seconds, too slow for a check that runs at every click).
HF_TINY_CONFIG = dict(vocab_size=100, block_size=16, n_layer=2, n_embd=32)
HF_TINY_PARAMS = {True: 29_184, False: 32_384}


@contextmanager
def _without_normal_init() -> Iterator[None]:
    """Skip ``nn.init.normal_`` while modules are built on the meta device: a meta tensor holds no
    values to initialise, and torch's meta kernel for ``normal_`` costs seconds of imports."""
    with mock.patch.object(nn.init, "normal_", lambda tensor, *args, **kwargs: tensor):
        yield


def gpt_model(vocab_size: int, block_size: int, n_layer: int, n_embd: int, bias: bool = True,
              tied: bool = True) -> GPT:
    """The reference GPT of this size on the meta device: every parameter's shape, no values, no memory.

    It has one head (heads add no parameters).  With ``tied=False`` the head gets its own
    ``vocab_size × n_embd`` weight instead of sharing the token embedding's.
    """
    config = GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_embd=n_embd,
                       n_head=1, bias=bias)
    with torch.device("meta"), _without_normal_init():
        model = GPT(config)
        if not tied:
            model.lm_head.weight = nn.Parameter(torch.empty(vocab_size, n_embd))
    return model


def gpt_param_count(vocab_size: int, block_size: int, n_layer: int, n_embd: int, bias: bool = True,
                    tied: bool = True) -> int:
    """The exact number of parameters of :func:`gpt_model` (a tied weight counts once)."""
    model = gpt_model(vocab_size, block_size, n_layer, n_embd, bias, tied)
    return sum(p.numel() for p in model.parameters())


def pca_2d(X: torch.Tensor) -> torch.Tensor:
    """The rows of X projected onto its two directions of largest variance (exact SVD, float64)."""
    Xc = X.double() - X.double().mean(dim=0)
    _, _, Vh = torch.linalg.svd(Xc, full_matrices=False)
    return Xc @ Vh[:2].T
