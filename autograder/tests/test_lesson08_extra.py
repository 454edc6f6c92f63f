"""Lesson 08 beyond the graded checks: the model's size agrees with lesson 03's formula, GPT-2 small
has its published 124,439,808 parameters, and the reference GPT is deterministic per seed."""

from __future__ import annotations

import pytest
import torch

from autograder.catalog import SOLUTIONS_DIR
from autograder.notebook import load_notebook

from .conftest import load_lesson

CONFIGS = [(66, 64, 4, 128, True), (66, 64, 4, 128, False), (100, 16, 2, 32, True), (50, 256, 6, 48, False)]


@pytest.fixture(scope="module")
def gpt():
    return load_lesson(SOLUTIONS_DIR, "08")


@pytest.fixture(scope="module")
def lesson03():
    path = SOLUTIONS_DIR / "03_embeddings.ipynb"
    if not path.exists():
        pytest.skip("solutions/03_embeddings.ipynb does not exist yet: lesson 03's gpt_param_count is not available")
    namespace = load_notebook(path)
    if "gpt_param_count" not in namespace.values:
        pytest.skip("lesson 03 does not define gpt_param_count")
    return namespace


@pytest.mark.parametrize("V,T,L,d,bias", CONFIGS)
def test_parameter_count_equals_lesson_03_formula(gpt, lesson03, V, T, L, d, bias) -> None:
    model = gpt.GPT(gpt.GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=4, n_embd=d, bias=bias))
    count = sum(p.numel() for p in model.parameters())
    assert count == lesson03.gpt_param_count(V, T, L, d, bias=bias, tied=True)


def test_gpt2_small_has_124_million_parameters(gpt) -> None:
    with torch.device("meta"):  # shapes only: no memory, no time
        model = gpt.GPT(gpt.GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768))
    assert sum(p.numel() for p in model.parameters()) == 124_439_808


def test_same_seed_same_model_and_text(gpt) -> None:
    config = gpt.GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=16)
    outputs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = gpt.GPT(config).eval()
        outputs.append(gpt.generate(model, torch.zeros(1, 1, dtype=torch.long), 30, temperature=0.9, top_k=10))
    assert torch.equal(*outputs)
    assert outputs[0].shape == (1, 31)
