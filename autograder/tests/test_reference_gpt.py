"""``autograder.reference.gpt`` computes exactly what lesson 08's solution notebook computes.

Same seed, same weights; same weights, same logits, loss and gradients; and the training and
sampling functions give the same numbers, batches and tokens.  Every lesson-08 check passes on it.
"""

from __future__ import annotations

import math

import pytest
import torch

from autograder.catalog import SOLUTIONS_DIR, get_lesson
from autograder.notebook import load_notebook
from autograder.reference import gpt as ref
from autograder.registry import Namespace
from autograder.runner import run_exercise

CONFIGS = [dict(vocab_size=37, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0, bias=True),
           dict(vocab_size=50, block_size=8, n_layer=3, n_head=2, n_embd=16, dropout=0.1, bias=False)]


@pytest.fixture(scope="module")
def sol() -> Namespace:
    ns = load_notebook(SOLUTIONS_DIR / "08_gpt.ipynb")
    assert not ns.cell_errors, ns.cell_errors[0].describe()
    return ns


def _pair(sol: Namespace, values: dict, seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(seed)
    mine = ref.GPT(ref.GPTConfig(**values))
    torch.manual_seed(seed)
    theirs = sol.GPT(sol.GPTConfig(**values))
    return mine, theirs


def test_config_has_the_notebooks_fields_and_defaults(sol: Namespace) -> None:
    assert vars(ref.GPTConfig()) == vars(sol.GPTConfig())


@pytest.mark.parametrize("values", CONFIGS)
def test_same_seed_same_weights_same_names(sol: Namespace, values: dict) -> None:
    mine, theirs = _pair(sol, values)
    a, b = mine.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert mine.lm_head.weight is mine.transformer.wte.weight


@pytest.mark.parametrize("values", CONFIGS)
def test_same_logits_loss_and_gradients(sol: Namespace, values: dict) -> None:
    mine, theirs = _pair(sol, values)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-trivial weights everywhere, biases and LayerNorms included
        for p in theirs.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    mine.load_state_dict(theirs.state_dict())
    idx = torch.randint(values["vocab_size"], (3, values["block_size"]), generator=g)
    targets = torch.randint(values["vocab_size"], (3, values["block_size"]), generator=g)
    for training in (False, True):  # with dropout on, the same seed drops the same units
        mine.train(training), theirs.train(training)
        torch.manual_seed(5)
        logits_a, loss_a = mine(idx, targets)
        torch.manual_seed(5)
        logits_b, loss_b = theirs(idx, targets)
        assert torch.equal(logits_a, logits_b) and torch.equal(loss_a, loss_b)
    loss_a.backward(), loss_b.backward()
    for (name, p), q in zip(mine.named_parameters(), theirs.parameters()):
        assert torch.equal(p.grad, q.grad), name
    assert mine(idx[:, :3])[1] is None
    assert torch.equal(mine.eval()(idx[:, :3])[0], theirs.eval()(idx[:, :3])[0])


def test_load_gpt2_state_dict(sol: Namespace) -> None:
    values = CONFIGS[0]
    mine, theirs = _pair(sol, values)
    g = torch.Generator().manual_seed(2)
    hf = {}  # a GPT-2 style state dict: Conv1D weights transposed, plus a mask buffer to skip
    for name, p in mine.state_dict().items():
        value = torch.randn(p.shape, generator=g)
        hf[name] = value.t() if name.endswith(ref._CONV1D_WEIGHTS) else value
    hf["transformer.h.0.attn.masked_bias"] = torch.tensor(-1e4)
    ref.load_gpt2_state_dict(mine, hf)
    sol.load_gpt2_state_dict(theirs, hf)
    for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
        assert torch.equal(a, b), name


def test_get_batch_draws_the_same_windows(sol: Namespace) -> None:
    data = torch.arange(500)
    torch.manual_seed(3)
    a = ref.get_batch(data, 8, 5)
    torch.manual_seed(3)
    b = sol.get_batch(data, 8, 5)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_configure_optimizer_makes_the_same_groups(sol: Namespace) -> None:
    mine, theirs = _pair(sol, CONFIGS[1])
    names_a = {id(p): n for n, p in mine.named_parameters()}
    names_b = {id(p): n for n, p in theirs.named_parameters()}
    opt_a = ref.configure_optimizer(mine, 0.1, 3e-4, (0.9, 0.99))
    opt_b = sol.configure_optimizer(theirs, 0.1, 3e-4, (0.9, 0.99))
    assert type(opt_a) is type(opt_b)
    for ga, gb in zip(opt_a.param_groups, opt_b.param_groups, strict=True):
        assert [names_a[id(p)] for p in ga["params"]] == [names_b[id(p)] for p in gb["params"]]
        assert {k: v for k, v in ga.items() if k != "params"} == {k: v for k, v in gb.items() if k != "params"}


def test_get_lr_gives_the_same_schedule(sol: Namespace) -> None:
    for args in [(10, 100, 1e-3, 1e-4), (0, 50, 5e-3, 5e-4), (100, 1100, 1e-3, 0.0)]:
        for it in [0, 1, 5, 9.5, 10, 11, 30, 55.5, 99, 100, 101, 700, 1100, 1200]:
            assert ref.get_lr(it, *args) == sol.get_lr(it, *args), (it, args)


def test_estimate_loss_gives_the_same_means(sol: Namespace) -> None:
    mine, theirs = _pair(sol, CONFIGS[1])
    splits = {"train": torch.randint(50, (300,)), "val": torch.randint(50, (100,))}
    torch.manual_seed(4)
    a = ref.estimate_loss(mine, splits, 3, 4)
    torch.manual_seed(4)
    b = sol.estimate_loss(theirs, splits, 3, 4)
    assert a == b and set(a) == {"train", "val"} and mine.training


def test_filter_logits_and_generate(sol: Namespace) -> None:
    g = torch.Generator().manual_seed(6)
    for top_k, top_p in [(None, None), (1, None), (5, None), (None, 0.3), (None, 0.9), (10, 0.8), (100, 0.99)]:
        logits = torch.randn(4, 50, generator=g) * 2
        assert torch.equal(ref.filter_logits(logits, top_k, top_p), sol.filter_logits(logits, top_k, top_p))
    mine, theirs = _pair(sol, CONFIGS[0])
    mine.eval(), theirs.eval()
    start = torch.randint(37, (2, 3), generator=g)
    for kwargs in [{}, dict(temperature=0.8, top_k=5), dict(top_p=0.9)]:
        torch.manual_seed(7)
        a = ref.generate(mine, start, 20, **kwargs)  # longer than block_size: the context is cropped
        torch.manual_seed(7)
        b = sol.generate(theirs, start, 20, **kwargs)
        assert torch.equal(a, b), kwargs
        assert a.shape == (2, 23)


def test_every_lesson_08_check_passes_on_the_reference() -> None:
    namespace = Namespace(dict(vars(ref)), source="autograder.reference.gpt")
    for exercise in get_lesson("08"):
        result = run_exercise(exercise, namespace)
        assert result.passed, f"{exercise.name}: {result.message}"
    assert math.isclose(ref.get_lr(10, 10, 100, 1e-3, 1e-4), 1e-3)
