"""Turning values into teaching messages, and the one comparison every check uses.

* :func:`describe` says what a value is in one line: type, shape, dtype, NaN/inf first, a sample;
* :func:`close` decides "equal up to float32 rounding" for tensors, arrays, numbers and nested
  lists, tuples and dicts of them (NaN and ±inf must sit at the same places);
* :func:`expect_close` fails with a message in a fixed order (type, NaN/inf, shape, a known
  mistake it recognises, dtype, then the first entries that differ), so a learner always learns
  the most basic thing that is wrong first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterable

from .registry import CheckFailure

MAX_ITEMS = 8
MAX_DIFFS = 4
FLOAT32_EPS = 2.0 ** -23    # the gap between 1.0 and the next float32
DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-5


# ---------------------------------------------------------------- describing values

def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a course requirement
        return None
    return torch


def _is_tensor(value: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


def _is_array(value: Any) -> bool:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, np.ndarray)


def _number(v: Any) -> str:
    return f"{round(v, 4)!r}" if isinstance(v, float) else repr(v)


def _sample(values: list[Any]) -> str:
    shown = ", ".join(_number(v) for v in values[:MAX_ITEMS])
    return f"[{shown}{', ...' if len(values) > MAX_ITEMS else ''}]"


def _non_finite(flat: list[Any]) -> str:
    """", containing NaN (3 of 12 entries)" and the like, or ""."""
    floats = [v for v in flat if isinstance(v, float)]
    nan = sum(math.isnan(v) for v in floats)
    inf = sum(math.isinf(v) for v in floats)
    parts = [f"NaN ({nan} of {len(flat)} entries)"] if nan else []
    parts += [f"±inf ({inf} of {len(flat)} entries)"] if inf else []
    return f", containing {' and '.join(parts)}" if parts else ""


def describe(value: Any) -> str:
    """A one-line description of ``value``: its type, size and a sample of its contents."""
    if _is_tensor(value):
        flat = value.detach().flatten().tolist()
        return (f"torch.Tensor of shape {tuple(value.shape)}, dtype {value.dtype}{_non_finite(flat)}: "
                f"{_sample(flat)}")
    if _is_array(value):
        flat = value.flatten().tolist()
        return f"numpy array of shape {value.shape}, dtype {value.dtype}{_non_finite(flat)}: {_sample(flat)}"
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


# ---------------------------------------------------------------- comparing values

def tolerances(atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL, scale: float | None = None) -> tuple[float, float]:
    """(atol, rtol), widened to what float32 can represent when the inputs reach ``scale``.

    Rounding an input of size ``scale`` to float32 moves it by up to ``scale * 2**-24``; a correct
    computation can be off by a few such steps, so the absolute tolerance is at least
    ``8 * scale * FLOAT32_EPS`` (for scores near 1e4: about 0.01).
    """
    if scale:
        atol = max(atol, 8 * abs(scale) * FLOAT32_EPS)
    return atol, rtol


def _as_float64(value: Any) -> Any:
    torch = _torch()
    if _is_array(value):
        value = torch.from_numpy(value)
    return value.detach().to(torch.float64) if value.dtype != torch.bool else value.detach()


def _tensor_close(got: Any, want: Any, atol: float, rtol: float) -> bool:
    torch = _torch()
    if tuple(got.shape) != tuple(want.shape):
        return False
    if got.is_complex() or want.is_complex():
        return bool(torch.allclose(got.detach().to(torch.complex128), want.detach().to(torch.complex128),
                                   atol=atol, rtol=rtol, equal_nan=True))
    a, b = _as_float64(got), _as_float64(want)
    if a.dtype == torch.bool or b.dtype == torch.bool:
        return a.dtype == b.dtype and bool(torch.equal(a, b))
    nan_a, nan_b = torch.isnan(a), torch.isnan(b)
    if not torch.equal(nan_a, nan_b):
        return False
    inf_a, inf_b = torch.isinf(a), torch.isinf(b)
    if not torch.equal(inf_a, inf_b) or not torch.equal(a[inf_a], b[inf_b]):
        return False
    finite = ~(nan_a | inf_a)
    return bool(torch.allclose(a[finite], b[finite], atol=atol, rtol=rtol))


def close(got: Any, want: Any, atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL,
          scale: float | None = None, check_dtype: bool = False) -> bool:
    """True when ``got`` equals ``want`` up to the tolerances (see :func:`tolerances`).

    Tensors and numpy arrays must have the same shape (and dtype if ``check_dtype``); NaN and
    ±inf must sit at the same places; floats compare with tolerance, everything else exactly;
    lists, tuples and dicts compare element by element.
    """
    atol, rtol = tolerances(atol, rtol, scale)
    if _is_tensor(want) or _is_array(want):
        if not (_is_tensor(got) or _is_array(got)) or _is_tensor(got) != _is_tensor(want):
            return False
        if check_dtype and got.dtype != want.dtype:
            return False
        return _tensor_close(*(_to_tensor(v) for v in (got, want)), atol, rtol)
    if isinstance(want, bool) or want is None or isinstance(want, (str, bytes, Fraction)):
        return type(got) is type(want) and got == want if isinstance(want, bool) else got == want
    if isinstance(want, float) or (isinstance(want, int) and isinstance(got, float)):
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return False
        if math.isnan(want) or math.isinf(want):
            return got == want or (math.isnan(want) and math.isnan(got))
        return abs(got - want) <= atol + rtol * abs(want)
    if isinstance(want, int):
        return isinstance(got, int) and not isinstance(got, bool) and got == want
    if isinstance(want, (list, tuple)):
        return (isinstance(got, type(want)) and len(got) == len(want)
                and all(close(g, w, atol, rtol, check_dtype=check_dtype) for g, w in zip(got, want)))
    if isinstance(want, dict):
        return (isinstance(got, dict) and got.keys() == want.keys()
                and all(close(got[k], want[k], atol, rtol, check_dtype=check_dtype) for k in want))
    return bool(got == want)


def _to_tensor(value: Any) -> Any:
    return _torch().from_numpy(value) if _is_array(value) else value


def first_differences(got: Any, want: Any, atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL,
                      limit: int = MAX_DIFFS) -> str:
    """"at [0, 2]: expected 0.25, got 0.3333; ..." for the first entries of two same-shaped tensors
    (or lists, or dicts) that differ, and how many differ in all."""
    torch = _torch()
    if _is_tensor(want) or _is_array(want):
        a, b = _as_float64(_to_tensor(got)), _as_float64(_to_tensor(want))
        if a.dtype == torch.bool:
            a, b = a.to(torch.int8), b.to(torch.int8)
        both_nan = torch.isnan(a) & torch.isnan(b)
        same = (a == b) | both_nan | ((a - b).abs() <= atol + rtol * b.abs())
        wrong = torch.nonzero(~same)
        if not len(wrong):
            return ""
        shown = []
        for index in wrong[:limit].tolist():
            i = tuple(index)
            shown.append(f"at {list(i)}: expected {_number(b[i].item())}, got {_number(a[i].item())}")
        return f"{len(wrong)} of {b.numel()} entries differ; " + "; ".join(shown)
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        shown = [f"at [{i}]: expected {g_w[1]!r}, got {g_w[0]!r}"
                 for i, g_w in enumerate(zip(got, want)) if not close(*g_w, atol, rtol)]
        extra = f" (lengths {len(got)} and {len(want)})" if len(got) != len(want) else ""
        return (f"{len(shown)} of {len(want)} entries differ{extra}; " + "; ".join(shown[:limit])) if shown else extra
    if isinstance(want, dict) and isinstance(got, dict):
        shown = [f"at [{k!r}]: expected {want[k]!r}, got {got[k]!r}"
                 for k in want if k in got and not close(got[k], want[k], atol, rtol)]
        shown += [f"key {k!r} missing (expected {want[k]!r})" for k in want if k not in got]
        shown += [f"unexpected key {k!r} (got {got[k]!r})" for k in got if k not in want]
        return (f"{len(shown)} of {len(set(want) | set(got))} entries differ; " + "; ".join(shown[:limit])
                if shown else "")
    return ""


@dataclass
class Mistake:
    """What a known mistake returns, and what to tell a learner whose code returns the same."""

    output: Any
    message: str
    hint: str = ""


Mistakes = Iterable[Mistake] | Callable[[], Iterable[Mistake]]


def _about(what: str, message: str) -> str:
    """"what: message", unless the message already starts by naming ``what``."""
    return message if message.startswith(what) else f"{what}: {message}"


def expect_close(got: Any, want: Any, what: str, hint: str = "", mistakes: Mistakes = (),
                 atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL, scale: float | None = None,
                 check_dtype: bool = True) -> None:
    """Fail with a teaching message unless ``got`` is close to ``want``.

    The message says, in this order: the wrong type; NaN or inf that should not be there; the
    wrong shape; a known mistake ``got`` matches (``mistakes``: :class:`Mistake`\\ s, or a function
    returning them, called only when ``got`` is wrong); the wrong dtype; else the largest error and
    the first entries that differ, with previews of both.
    """
    atol, rtol = tolerances(atol, rtol, scale)
    if close(got, want, atol, rtol, check_dtype=check_dtype):
        return
    tensor_like = _is_tensor(want) or _is_array(want)
    if tensor_like:
        kind = "torch.Tensor" if _is_tensor(want) else "numpy array"
        if not (_is_tensor(got) if _is_tensor(want) else _is_array(got)):
            raise CheckFailure(f"{what} should be a {kind}, but got {describe(got)}.",
                               hint or "Build the result with torch operations, not numpy or lists."
                               if kind == "torch.Tensor" else hint)
        flat_got = got.detach().flatten() if _is_tensor(got) else _to_tensor(got).flatten()
        flat_want = _to_tensor(want).detach().flatten()
        if flat_got.is_floating_point() and not flat_got.isfinite().all() and (
                not flat_want.is_floating_point() or flat_want.isfinite().all()):
            raise CheckFailure(f"{what} contains NaN or inf, where every entry should be a finite number:\n"
                               f"    got {describe(got)}", hint)
        if tuple(got.shape) != tuple(want.shape):
            for mistake in (mistakes() if callable(mistakes) else mistakes):
                if close(got, mistake.output, atol, rtol):
                    raise CheckFailure(_about(what, mistake.message), mistake.hint or hint)
            raise CheckFailure(f"{what} has the wrong shape: expected {tuple(want.shape)}, got {tuple(got.shape)}.",
                               hint)
    for mistake in (mistakes() if callable(mistakes) else mistakes):
        if close(got, mistake.output, atol, rtol):
            differences = first_differences(got, want, atol, rtol) if tensor_like or isinstance(want, (list, tuple, dict)) else ""
            raise CheckFailure(f"{_about(what, mistake.message)}\n"
                               + (f"    {differences}\n" if differences else "")
                               + f"    expected {describe(want)}\n    but got  {describe(got)}", mistake.hint or hint)
    if tensor_like and check_dtype and got.dtype != want.dtype and close(got, want, atol, rtol):
        raise CheckFailure(f"{what} has dtype {got.dtype}, expected {want.dtype} (the values are right).", hint)
    if tensor_like and check_dtype and got.dtype != want.dtype:
        raise CheckFailure(f"{what} has dtype {got.dtype}, expected {want.dtype}:\n    expected {describe(want)}\n"
                           f"    but got  {describe(got)}", hint)
    differences = first_differences(got, want, atol, rtol)
    if tensor_like:
        error = (_as_float64(_to_tensor(got)) - _as_float64(_to_tensor(want))).abs().nan_to_num(nan=math.inf)
        largest = f" (largest error {error.max().item():.3g}; tolerance {atol:g} + {rtol:g}·|expected|)"
    else:
        largest = ""
    raise CheckFailure(f"{what} differs from the expected value{largest}:\n"
                       + (f"    {differences}\n" if differences else "")
                       + f"    expected {describe(want)}\n    but got  {describe(got)}", hint)


# ---------------------------------------------------------------- simple expectations

def expect_type(value: Any, expected: type | tuple[type, ...], what: str, hint: str = "") -> None:
    if not isinstance(value, expected):
        names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
        raise CheckFailure(f"{what} should be a {names}, but got {describe(value)}.", hint)


def learner_module(ns: Any, name: str, *args: Any, hint: str = "", **kwargs: Any) -> Any:
    """The learner's class ``name`` called with these arguments; it must give an nn.Module."""
    call = f"{name}({', '.join([repr(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"
    made = getattr(ns, name)(*args, **kwargs)
    if not isinstance(made, _torch().nn.Module):
        raise CheckFailure(f"{call} should be an nn.Module, but got {describe(made)}.", hint)
    return made


def expect_equal(got: Any, expected: Any, what: str, hint: str = "") -> None:
    if got != expected:
        differences = first_differences(got, expected) if isinstance(expected, (list, tuple, dict)) else ""
        raise CheckFailure(f"{what}: expected {describe(expected)}\n    but got {describe(got)}"
                           + (f"\n    {differences}" if differences else "") + ".", hint)


def expect_tensor_close(got: Any, expected: Any, what: str, hint: str = "",
                        atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL) -> None:
    """Fail unless ``got`` is a tensor of ``expected``'s shape, dtype and values (see :func:`expect_close`)."""
    expect_close(got, expected, what, hint, atol=atol, rtol=rtol)
