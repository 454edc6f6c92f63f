"""Stored examples: the outputs practice checks compare a learner's code with.

A practice check holds no solution code, so where no library function computes the answer it
compares with an output stored in ``autograder/practice/examples/NN_slug.json``.  Each entry is
keyed by exercise and by the check's own description of the call (``"softmax(x, dim=0) for x of
shape (3, 4, 5)"``) and holds

* ``expected``: what the reference solution returns (absent where the check computes the
  expected value itself with a library function such as ``torch.softmax``);
* ``mistakes``: what each known wrong answer (a registered mutant) returns for the same call,
  with the grading check's message for it, so that a practice check can still say *which*
  mistake it sees without shipping the buggy or the correct code.

The file is generated from the solutions and the mutants by ``python -m autograder release``
(see :mod:`autograder.release`), never edited by hand, and CI fails when it drifts.  While it is
generated, :attr:`StoredExamples.recorder` is set and :meth:`StoredExamples.expect` records
instead of comparing.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .feedback import DEFAULT_ATOL, DEFAULT_RTOL, Mistake, expect_close

if TYPE_CHECKING:
    from .registry import Lesson

EXAMPLES_DIR = Path(__file__).resolve().parent / "practice" / "examples"
_STORED = object()  # "compare with the stored expected output"


class Recorder(Protocol):
    """Receives every :meth:`StoredExamples.expect` call while examples are being generated."""

    def record(self, exercise: str, key: str, got: Any, want: Any, tolerance: dict[str, Any]) -> None: ...


class StoredExamples:
    """The stored outputs of one lesson's practice checks."""

    def __init__(self, lesson: "Lesson") -> None:
        self.lesson = lesson
        self.recorder: Recorder | None = None
        self._data: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        return EXAMPLES_DIR / f"{self.lesson.notebook.removesuffix('.ipynb')}.json"

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
        return self._data

    def reload(self) -> None:
        self._data = None

    def expect(self, exercise: str, key: str, got: Any, want: Any = _STORED, hint: str = "",
               atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL, scale: float | None = None,
               check_dtype: bool = True) -> None:
        """Fail unless ``got`` equals ``want`` (by default the stored expected output for ``key``).

        When ``got`` is wrong and equals what a known mistake returns for the same call, the
        message is that mistake's.  ``key`` also names the call in the message, so it should say
        what was called on what (shapes, small literal inputs).
        """
        tolerance = dict(atol=atol, rtol=rtol, scale=scale, check_dtype=check_dtype)
        if self.recorder is not None:
            self.recorder.record(exercise, key, got, None if want is _STORED else want, tolerance)
            return
        entry = self.data.get(exercise, {}).get(key, {})
        if want is _STORED:
            if "expected" not in entry:
                raise RuntimeError(f"no stored example for {self.lesson.number}-{exercise} {key!r} in "
                                   f"{self.path.name}: regenerate it with `python -m autograder release`")
            want = decode(entry["expected"])

        def mistakes() -> list[Mistake]:
            return [Mistake(decode(m["output"]), m["message"], m.get("hint", "")) for m in entry.get("mistakes", [])]

        expect_close(got, want, key, hint, mistakes, **tolerance)


# ---------------------------------------------------------------- JSON encoding of outputs

def encode(value: Any) -> Any:
    """A JSON-able form of an output: tensors, arrays, fractions, tuples, dicts with any keys."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return {"tensor": _values(value.tolist(), value.dtype == torch.float32), "dtype": str(value.dtype).removeprefix("torch."),
                "shape": list(value.shape)}
    if isinstance(value, np.ndarray):
        return {"ndarray": _values(value.tolist(), value.dtype == np.float32), "dtype": str(value.dtype),
                "shape": list(value.shape)}
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, Fraction):
        return {"fraction": str(value)}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"items": [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot store an output of type {type(value).__name__}")


def _values(values: Any, float32: bool) -> Any:
    """Nested lists of numbers; float32 values kept to the 9 digits that identify them."""
    if isinstance(values, list):
        return [_values(v, float32) for v in values]
    if isinstance(values, float):
        if not math.isfinite(values):
            return repr(values)
        return float(f"{values:.9g}") if float32 else values
    return values


def _floats(values: Any) -> Any:
    if isinstance(values, list):
        return [_floats(v) for v in values]
    return float(values) if isinstance(values, str) else values


def decode(data: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "tensor" in data:
        import torch

        dtype = getattr(torch, data["dtype"])
        return torch.tensor(_floats(data["tensor"]), dtype=dtype).reshape(data["shape"])
    if "ndarray" in data:
        import numpy as np

        return np.array(_floats(data["ndarray"]), dtype=data["dtype"]).reshape(data["shape"])
    if "float" in data:
        return float(data["float"])
    if "fraction" in data:
        return Fraction(data["fraction"])
    if "bytes" in data:
        return bytes.fromhex(data["bytes"])
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if "items" in data:
        return {_hashable(decode(k)): decode(v) for k, v in data["items"]}
    raise ValueError(f"unknown stored value {data!r}")


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key
