"""Lesson 12 beyond the graded checks: the cache against Hugging Face's over many steps (logits,
cached keys and values, greedy tokens), the reference module against the solution notebook, cached
generation equal to lesson 08's past block_size, and the worked numbers of the notebook's memory table."""

from __future__ import annotations

import pytest
import torch

from autograder.catalog import SOLUTIONS_DIR
from autograder.practice.lesson08 import fill_by_name, hf_transformers
from autograder.reference import gpt as ref_gpt
from autograder.reference import kv_cache as ref

from .conftest import load_lesson

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
SIZES = dict(vocab_size=50, block_size=40, n_layer=3, n_head=4, n_embd=32, dropout=0.0, bias=True)


@pytest.fixture(scope="module")
def sol():
    return load_lesson(SOLUTIONS_DIR, "12")


def hf_copy(model):
    """GPT2LMHeadModel with the weights of ``model`` (lesson 08's layout: the Conv1D matrices transposed)."""
    transformers = hf_transformers()
    c = model.config
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=c.vocab_size, n_positions=c.block_size, n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd,
        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=None, eos_token_id=None)).eval()
    hf.load_state_dict({n: t.t() if n.endswith(CONV1D) else t for n, t in model.state_dict().items()}, strict=False)
    return hf


def _model(ns, seed: int = 0, std: float = 0.1, **sizes):
    model = ns.GPT(ns.GPTConfig(**{**SIZES, **sizes}))
    fill_by_name(model, seed, std=std)
    return model.eval()


def test_forward_with_cache_equals_gpt2_with_use_cache_for_40_steps(sol) -> None:
    model = _model(sol, seed=1)
    hf = hf_copy(model)
    idx = torch.randint(50, (2, 40), generator=torch.Generator().manual_seed(2))
    ours, theirs = sol.KVCache(3, 40), hf_transformers().DynamicCache()
    pieces = [7] + [1] * 30 + [3]
    start = 0
    with torch.no_grad():
        full, _ = model(idx)
        for size in pieces:
            piece = idx[:, start:start + size]
            logits, ours = sol.forward_with_cache(model, piece, ours)
            hf_logits = hf(piece, cache=theirs, use_cache=True).logits
            assert (logits - hf_logits).abs().max() < 1e-5, f"tokens {start}..{start + size - 1}"
            assert (logits - full[:, start:start + size]).abs().max() < 1e-5
            start += size
    for layer in range(3):
        assert torch.allclose(ours.keys[layer], theirs.layers[layer].keys, atol=1e-5)
        assert torch.allclose(ours.values[layer], theirs.layers[layer].values, atol=1e-5)


def test_greedy_tokens_equal_gpt2_generate(sol) -> None:
    model = _model(sol, seed=3, std=0.3)
    hf = hf_copy(model)
    prompt = torch.randint(50, (2, 4), generator=torch.Generator().manual_seed(4))
    theirs = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=30, do_sample=False,
                         use_cache=True, pad_token_id=0)
    torch.manual_seed(0)
    assert torch.equal(sol.generate_cached(model, prompt, 30, top_k=1), theirs)


@pytest.mark.parametrize("settings", [dict(top_k=1), dict(), dict(temperature=0.7, top_p=0.8),
                                      dict(temperature=1.5, top_k=3)])
def test_generate_cached_equals_generate_past_block_size(sol, settings) -> None:
    model = _model(sol, seed=5, std=0.3, block_size=8)
    prompt = torch.randint(50, (3, 5), generator=torch.Generator().manual_seed(6))
    outputs = []
    for generate in (sol.generate, sol.generate_cached, ref_gpt.generate, ref.generate_cached):
        torch.manual_seed(7)
        outputs.append((generate(model, prompt, 25, **settings), torch.rand(4)))
    for tokens, after in outputs[1:]:
        assert torch.equal(tokens, outputs[0][0])
        assert torch.equal(after, outputs[0][1])  # the random generator was consumed identically


def test_reference_module_equals_the_notebook(sol) -> None:
    model = _model(sol, seed=8)
    idx = torch.randint(50, (2, 12), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        for cache_type, forward in ((sol.KVCache, sol.forward_with_cache), (ref.KVCache, ref.forward_with_cache)):
            cache = cache_type(3, 40)
            logits = torch.cat([forward(model, idx[:, a:b], cache)[0] for a, b in ((0, 5), (5, 6), (6, 12))], dim=1)
            assert torch.allclose(logits, model(idx)[0], atol=1e-5)
    g = torch.Generator().manual_seed(11)
    q, k, v = torch.randn(2, 4, 3, 8, generator=g), torch.randn(2, 4, 7, 8, generator=g), torch.randn(2, 4, 7, 8, generator=g)
    assert torch.allclose(sol.attend_to_cache(q, k, v), ref.attend_to_cache(q, k, v), atol=1e-6)
    kv = torch.randn(2, 2, 7, 8, generator=g)
    assert torch.equal(sol.repeat_kv(kv, 3), ref.repeat_kv(kv, 3))
    q6 = torch.randn(2, 6, 3, 8, generator=g)
    assert torch.allclose(sol.grouped_query_attention(q6, kv, kv), ref.grouped_query_attention(q6, kv, kv), atol=1e-6)


def test_cache_memory_matches_the_tensors_and_the_notebooks_table(sol) -> None:
    model = _model(sol, seed=10)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        cache = sol.KVCache(3, 40)
        with torch.no_grad():
            sol.forward_with_cache(model.to(dtype), torch.zeros(2, 11, dtype=torch.long), cache)
        held = sum(t.numel() * t.element_size() for t in cache.keys + cache.values)
        size = torch.empty(0, dtype=dtype).element_size()
        assert held == sol.kv_cache_bytes(3, 4, 8, 11, size, batch_size=2) == ref.kv_cache_bytes(3, 4, 8, 11, size, 2)
    # the worked numbers of section 8
    assert sol.kv_cache_bytes(12, 12, 64, 1, 4) == 73_728 and sol.kv_cache_bytes(12, 12, 64, 1024, 4) == 72 * 2**20
    assert sol.kv_cache_bytes(32, 32, 128, 1, 2) == 2**19 and sol.kv_cache_bytes(32, 32, 128, 4096, 2) == 2 * 2**30
    assert 7 * 2 * 2**30 > 6.74e9 * 2 > 6 * 2 * 2**30  # seven full Llama 2 7B caches outweigh its float16 weights
    assert sol.kv_cache_bytes(80, 64, 128, 1, 2) // sol.kv_cache_bytes(80, 8, 128, 1, 2) == 8
