"""Helpers that turn values into short, readable descriptions for failure messages.

Checks use :func:`describe` to say what came back (type, shape, dtype, a few values) and
the ``expect_*`` helpers to fail with "expected ..., got ..." messages that teach.
"""

from __future__ import annotations

from typing import Any

from .registry import CheckFailure

MAX_ITEMS = 8


def _sample(values: list[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_ITEMS])
    return f"[{shown}{', ...' if len(values) > MAX_ITEMS else ''}]"


def describe(value: Any) -> str:
    """A one-line description of ``value``: its type, size and a sample of its contents."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            flat = value.detach().flatten()[:MAX_ITEMS].tolist()
            return (f"torch.Tensor of shape {tuple(value.shape)}, dtype {value.dtype}: "
                    f"{_sample([round(v, 4) if isinstance(v, float) else v for v in flat])}"
                    + (" ..." if value.numel() > MAX_ITEMS else ""))
    except ImportError:  # pragma: no cover - torch is a course requirement
        pass
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            flat = value.flatten()[:MAX_ITEMS].tolist()
            return f"numpy array of shape {value.shape}, dtype {value.dtype}: {_sample(flat)}"
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}: {_sample(list(value))}"
    if isinstance(value, dict):
        items = list(value.items())
        shown = ", ".join(f"{k!r}: {v!r}" for k, v in items[:MAX_ITEMS])
        return f"dict with {len(value)} entries: {{{shown}{', ...' if len(items) > MAX_ITEMS else ''}}}"
    if isinstance(value, (str, bytes)):
        text = value if len(value) <= 60 else value[:60]
        return f"{type(value).__name__} of length {len(value)}: {text!r}{'...' if len(value) > 60 else ''}"
    if value is None:
        return "None (did you forget to `return` the result?)"
    return f"{type(value).__name__}: {value!r}"


def expect_type(value: Any, expected: type | tuple[type, ...], what: str, hint: str = "") -> None:
    if not isinstance(value, expected):
        names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
        raise CheckFailure(f"{what} should be a {names}, but got {describe(value)}.", hint)


def expect_equal(got: Any, expected: Any, what: str, hint: str = "") -> None:
    if got != expected:
        raise CheckFailure(f"{what}: expected {describe(expected)}\n    but got {describe(got)}.", hint)


def expect_tensor_close(got: Any, expected: Any, what: str, hint: str = "",
                        atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """Fail unless ``got`` is a tensor of ``expected``'s shape and close to it."""
    import torch

    if not isinstance(got, torch.Tensor):
        raise CheckFailure(f"{what} should be a torch.Tensor, but got {describe(got)}.",
                           hint or "Build the result with torch operations, not numpy or lists.")
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailure(f"{what} has the wrong shape: expected {tuple(expected.shape)}, "
                           f"got {tuple(got.shape)}.", hint)
    if got.dtype != expected.dtype:
        raise CheckFailure(f"{what} has dtype {got.dtype}, expected {expected.dtype}.", hint)
    if torch.isnan(got).any() and not torch.isnan(expected).any():
        raise CheckFailure(f"{what} contains NaN: {describe(got)}.", hint)
    if not torch.allclose(got.detach(), expected.detach(), atol=atol, rtol=rtol, equal_nan=True):
        diff = (got.detach() - expected.detach()).abs()
        diff = torch.nan_to_num(diff, nan=float("inf"))
        where = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
        raise CheckFailure(
            f"{what} differs from the reference (largest error {diff.max().item():.3g} at index {where}).\n"
            f"    expected {describe(expected)}\n    but got  {describe(got)}", hint)
