"""Lesson 03 extras: the parameter-count references against real models, and other correct
solutions (not the notebook's) that the checks must accept."""

from __future__ import annotations

import pytest
import torch

from autograder.grading import lesson03
from autograder.catalog import SOLUTIONS_DIR
from autograder.registry import Namespace
from autograder.runner import run_exercise

from .conftest import load_lesson

CONFIGS = [(100, 16, 2, 32), (65, 64, 3, 48), (50_257, 1024, 12, 768), (1000, 8, 1, 8)]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_reference_count_matches_torch_modules(config, bias, tied) -> None:
    model = lesson03.gpt_skeleton(*config, bias=bias, tied=tied)  # meta device: no memory
    assert sum(p.numel() for p in model.parameters()) == lesson03.reference_gpt_param_count(*config, bias, tied)


def test_reference_count_matches_huggingface_gpt2() -> None:
    transformers = pytest.importorskip("transformers")
    from transformers import GPT2Config, GPT2LMHeadModel

    transformers.logging.set_verbosity_error()
    tiny = lesson03.HF_TINY_CONFIG
    for tied in (True, False):
        config = GPT2Config(vocab_size=tiny["vocab_size"], n_positions=tiny["block_size"], n_layer=tiny["n_layer"],
                            n_embd=tiny["n_embd"], n_head=4, tie_word_embeddings=tied)
        hf = sum(p.numel() for p in GPT2LMHeadModel(config).parameters())
        assert hf == lesson03.HF_TINY_PARAMS[tied] == lesson03.reference_gpt_param_count(*tiny.values(), tied=tied)
    with torch.device("meta"):
        small = GPT2LMHeadModel(GPT2Config())
    assert sum(p.numel() for p in small.parameters()) == lesson03.GPT2_SMALL_PARAMS


ALTERNATIVES = {
    "one_hot": [
        "def one_hot(ids, vocab_size):\n    return F.one_hot(ids, vocab_size).float()",
        "def one_hot(ids, vocab_size):\n    return torch.eye(vocab_size)[ids]",
    ],
    "embed_onehot": [
        "def embed_onehot(ids, W):\n    return F.one_hot(ids, W.shape[0]).to(W.dtype) @ W",
        "def embed_onehot(ids, W):\n    return torch.einsum('...v,vd->...d', one_hot(ids, W.shape[0]), W)",
    ],
    "embed_lookup": [
        "def embed_lookup(ids, W):\n    return F.embedding(ids, W)",
        "def embed_lookup(ids, W):\n    return W.index_select(0, ids.reshape(-1)).reshape(*ids.shape, W.shape[1])",
    ],
    "Embedding": ["""
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim))
        nn.init.normal_(self.weight)
    def forward(self, ids):
        return one_hot(ids, self.weight.shape[0]) @ self.weight
"""],
    "embedding_params": ["def embedding_params(vocab_size, d_model):\n    return nn.Embedding(vocab_size, d_model).weight.numel()"],
    "gpt_param_count": ["""
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    d = n_embd
    per_block = 12 * d * d + (13 * d if bias else 2 * d)
    return (vocab_size + block_size) * d + n_layer * per_block + (2 * d if bias else d) + (0 if tied else vocab_size * d)
"""],
    "cosine_similarity": [
        "def cosine_similarity(a, b):\n    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T",
        "def cosine_similarity(a, b):\n    return F.cosine_similarity(a[:, None], b[None], dim=-1)",
    ],
    "nearest_neighbours": ["""
def nearest_neighbours(W, idx, k):
    order = torch.argsort(cosine_similarity(W[idx][None], W)[0], descending=True).tolist()
    return [i for i in order if i != idx][:k]
"""],
    "pca_2d": [
        "def pca_2d(X):\n    U, S, V = torch.pca_lowrank(X, q=2)\n    return (X - X.mean(0)) @ V",
        "def pca_2d(X):\n    Xc = X - X.mean(0)\n    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)\n    return -U[:, :2] * S[:2]",
        """
def pca_2d(X):
    Xc = X - X.mean(0)
    eigenvalues, vectors = torch.linalg.eigh(Xc.T @ Xc)  # ascending order
    return Xc @ vectors[:, [-1, -2]]
""",
    ],
}
CASES = [(name, source) for name, sources in ALTERNATIVES.items() for source in sources]


@pytest.mark.parametrize("exercise,source", CASES, ids=[f"03-{n}-alt{i}" for i, (n, _) in enumerate(CASES)])
def test_other_correct_solutions_pass(exercise, source) -> None:
    values = dict(load_lesson(SOLUTIONS_DIR, "03").values)
    torch.manual_seed(0)
    exec(compile(source, "<alternative>", "exec"), values)
    result = run_exercise(lesson03.lesson.get(exercise), Namespace(values, source="an alternative solution"))
    assert result.passed, result.line()
