"""Lesson 11 beyond the exercise checks: the reference code the grading checks diagnose mistakes with
equals the solution notebook and PyTorch, the notebook's weight mapping is the checks' mapping, and
the worked examples of beam search say what the lesson says."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.catalog import SOLUTIONS_DIR
from autograder.practice import lesson11 as practice
from autograder.reference import encoder_decoder as ref

from .conftest import load_lesson


@pytest.fixture(scope="module")
def ns():
    return load_lesson(SOLUTIONS_DIR, "11")


@pytest.mark.parametrize("norm_first", [False, True])
def test_reference_layers_equal_the_solution_and_pytorch(ns, norm_first: bool) -> None:
    mask = practice.padding([6, 2], 6)
    x, memory, y = practice.randn(2, 6, 16, seed=1), practice.randn(2, 6, 16, seed=2), practice.randn(2, 4, 16, seed=3)
    with torch.no_grad():
        encoder, torch_encoder = practice.make_layer(ns, "EncoderLayer", norm_first)
        want = torch_encoder(x, src_key_padding_mask=~mask[:, 0])
        assert torch.allclose(ref.encoder_layer_forward(encoder, x, mask, norm_first), want, atol=1e-5)
        assert torch.allclose(encoder(x, mask), want, atol=1e-5)
        decoder, torch_decoder = practice.make_layer(ns, "DecoderLayer", norm_first)
        want = torch_decoder(y, memory, tgt_mask=~ref.causal_mask(4), memory_key_padding_mask=~mask[:, 0])
        assert torch.allclose(ref.decoder_layer_forward(decoder, y, memory, mask, norm_first), want, atol=1e-5)
        assert torch.allclose(decoder(y, memory, mask), want, atol=1e-5)
        attention, torch_attention = practice.make_attention(ns)
        out, weights = ref.attention_forward(attention, y, memory, mask)
        want, want_weights = practice.torch_attention(torch_attention, y, memory, mask)
        assert torch.allclose(out, want, atol=1e-5) and torch.allclose(weights, want_weights, atol=1e-6)


def test_the_notebooks_mapping_is_the_checks_mapping(ns) -> None:
    model = ns.Transformer(13, 13, d_model=16, n_heads=4, n_layers=2, d_ff=32)
    for name, _ in model.named_parameters():
        assert ns.torch_name(name) == practice.torch_name(name)
        if practice.torch_name(name) is not None:
            assert practice.our_name(practice.torch_name(name)) == name
    twin = nn.Transformer(16, 4, 2, 2, 32, batch_first=True)
    assert {practice.torch_name(n) for n, _ in model.named_parameters()} - {None} == {n for n, _ in twin.named_parameters()}
    practice.fill_by_name(twin, seed=3)
    ns.copy_weights(model, twin, to_torch=False)
    back = nn.Transformer(16, 4, 2, 2, 32, batch_first=True)
    ns.copy_weights(model, back, to_torch=True)
    assert all(torch.equal(a, b) for a, b in zip(twin.parameters(), back.parameters()))


def test_reference_decoders_equal_the_solution(ns) -> None:
    sources = practice.GREEDY_SOURCES
    for max_len in (3, 12):
        got = ns.greedy_decode(practice.StandInSeq2Seq(), sources, 1, 2, max_len)
        assert torch.equal(got, ref.greedy_decode(practice.StandInSeq2Seq(), sources, 1, 2, max_len))
    for k, max_len, alpha in ((1, 12, 0.6), (2, 12, 0.0), (3, 12, 0.6), (4, 5, 1.0), (8, 12, 0.6)):
        for row in range(4):
            src = sources[row:row + 1]
            tokens, score = ns.beam_search(practice.StandInSeq2Seq(), src, k, 1, 2, max_len, alpha)
            want_tokens, want_score = ref.beam_search(practice.StandInSeq2Seq(), src, k, 1, 2, max_len, alpha)
            assert torch.equal(tokens, want_tokens) and math.isclose(score, want_score, rel_tol=1e-5, abs_tol=1e-5)
            if k == 1:  # a beam of one is greedy decoding
                greedy = ns.greedy_decode(practice.StandInSeq2Seq(), src, 1, 2, max_len)[0]
                assert torch.equal(tokens, greedy)


def test_the_worked_examples_of_beam_search(ns) -> None:
    one = torch.zeros(1, 1, dtype=torch.long)
    greedy = ns.greedy_decode(practice.BEAM_BEATS_GREEDY, one, 1, 2, 5)[0]
    assert greedy.tolist() == [3, 2]                                       # a <eos>: 0.5 x 0.4
    tokens, score = ns.beam_search(practice.BEAM_BEATS_GREEDY, one, 2, 1, 2, 5)
    assert tokens.tolist() == [4, 2] and math.isclose(math.exp(score * (7 / 6) ** 0.6), 0.36, rel_tol=1e-6)
    assert ns.beam_search(practice.LENGTH_DECIDES, one, 2, 1, 2, 6, alpha=0.6)[0].tolist() == [3, 3, 2]
    assert ns.beam_search(practice.LENGTH_DECIDES, one, 2, 1, 2, 6, alpha=0.0)[0].tolist() == [2]
    assert ns.beam_search(practice.BEAM_SHRINKS, one, 2, 1, 2, 6)[0].tolist() == [2]
    assert ref.beam_search(practice.BEAM_SHRINKS, one, 2, 1, 2, 6, shrink=False)[0].tolist() == [3, 4, 2]


def test_reference_training_pieces() -> None:
    logits, target = practice.randn(3, 5, 7, seed=4), torch.tensor([[1, 2, 3, 0, 0], [4, 5, 6, 1, 0], [2, 0, 0, 0, 0]])
    for smoothing in (0.0, 0.1, 0.3):
        want = F.cross_entropy(logits.reshape(-1, 7), target.reshape(-1), ignore_index=0, label_smoothing=smoothing)
        assert torch.allclose(ref.label_smoothing_loss(logits, target, smoothing, 0), want, atol=1e-6)
    assert math.isclose(ref.transformer_lr(4000, 512, 4000), 1 / math.sqrt(512 * 4000))
    assert ref.transformer_lr(3999, 512, 4000) < ref.transformer_lr(4000, 512, 4000) > ref.transformer_lr(4001, 512, 4000)
