"""Lesson 08 beyond the graded checks: the model's size agrees with lesson 03's formula, GPT-2 small
has its published 124,439,808 parameters, the reference GPT is deterministic per seed, and the
practice checks grade each exercise on its own (with the code of the exercises it calls unfinished)."""

from __future__ import annotations

import pytest
import torch

from autograder.catalog import SOLUTIONS_DIR, get_testdata
from autograder.notebook import load_notebook
from autograder.practice.lesson08 import fill_by_name, swapped
from autograder.registry import Namespace
from autograder.runner import run_exercise

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


# ---------------------------------------------------------------- the practice checks grade each exercise on its own

STUBS = {
    "Block": """
_Sol = Block
class Block(_Sol):
    def forward(self, x):
        raise NotImplementedError()
""",
    "CausalSelfAttention and MLP": """
_SolA, _SolM = CausalSelfAttention, MLP
class CausalSelfAttention(_SolA):
    def forward(self, x):
        raise NotImplementedError()
class MLP(_SolM):
    def forward(self, x):
        raise NotImplementedError()
""",
    "get_batch": """
def get_batch(data, block_size, batch_size):
    raise NotImplementedError()
""",
    "filter_logits": """
def filter_logits(logits, top_k=None, top_p=None):
    raise NotImplementedError()
""",
}
# exercise -> the other exercise whose code its practice check replaces by a fixed stand-in
ISOLATED = [("GPT", "Block"), ("Block", "CausalSelfAttention and MLP"), ("estimate_loss", "get_batch"),
            ("generate", "filter_logits")]


@pytest.mark.parametrize("exercise,unfinished", ISOLATED, ids=[f"{e}-without-{u.split()[0]}" for e, u in ISOLATED])
def test_practice_check_does_not_need_the_other_exercise(gpt, exercise, unfinished) -> None:
    lesson = get_testdata("08")
    values = dict(gpt.values)
    exec(compile(STUBS[unfinished], f"<{unfinished} unfinished>", "exec"), values)
    result = run_exercise(lesson.get(exercise), Namespace(values), tiers=("practice",))
    assert result.passed, result.line()


def test_swapped_reaches_the_globals_of_a_decorated_function() -> None:
    namespace: dict = {"torch": torch}
    exec("@torch.no_grad()\ndef outer():\n    return inner()\ndef inner():\n    return 'original'\n", namespace)
    with swapped(namespace["outer"], inner=lambda: "stand-in"):
        assert namespace["outer"]() == "stand-in"
    assert namespace["outer"]() == "original"


def test_weights_set_by_name_do_not_depend_on_the_order_of_the_modules() -> None:
    first = torch.nn.ModuleDict(dict(a=torch.nn.Linear(3, 4), ln_b=torch.nn.LayerNorm(4)))
    second = torch.nn.ModuleDict(dict(ln_b=torch.nn.LayerNorm(4), a=torch.nn.Linear(3, 4)))
    fill_by_name(first, 1)
    fill_by_name(second, 1)
    for name, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[name]), name
    assert (first["ln_b"].weight - 1).abs().max() < 1  # LayerNorm gains stay around 1
