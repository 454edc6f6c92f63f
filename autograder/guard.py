"""Detect and undo monkeypatching of the functions the checks rely on.

Before any learner code runs, :class:`Guard` records the identity of every attribute of the
modules the checks use (``builtins``, ``torch``, ``numpy`` and their testing helpers, the
autograder itself, ``torch.Tensor``'s methods, and the ``sys.modules`` entries).  Between
checks, :meth:`Guard.restore` puts back anything a notebook replaced (``torch.allclose =
lambda *a, **k: True``, ``builtins.__import__ = ...``, ``autograder.feedback.expect_equal =
...``) and reports what it was, so a check always runs with the real helpers.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

PROTECTED_MODULES = (
    "builtins", "math", "json", "os", "sys", "numpy", "numpy.testing", "torch", "torch.nn",
    "torch.nn.functional", "torch.testing", "regex", "signal", "traceback",
)


class Guard:
    """A snapshot of protected attributes that can be checked and restored."""

    def __init__(self) -> None:
        import autograder  # noqa: F401  (make sure our own modules are in the snapshot)

        self.modules: dict[str, ModuleType] = {}
        for name in PROTECTED_MODULES:
            try:
                self.modules[name] = __import__(name, fromlist=["_"])
            except ImportError:
                continue
        for name, module in list(sys.modules.items()):
            if name == "autograder" or name.startswith("autograder."):
                self.modules[name] = module
        self.snapshot: dict[str, tuple[Any, dict[str, Any]]] = {
            name: (module, dict(vars(module))) for name, module in self.modules.items()}
        self.classes: list[tuple[type, dict[str, Any]]] = []
        try:
            import torch

            for cls in (torch.Tensor, torch.nn.Module):
                self.classes.append((cls, dict(vars(cls))))
        except ImportError:  # pragma: no cover
            pass
        self.sys_modules = {name: sys.modules.get(name) for name in self.modules}

    def restore(self) -> list[str]:
        """Undo every change since the snapshot; returns what had been changed."""
        changed: list[str] = []
        for name, module in self.sys_modules.items():
            if sys.modules.get(name) is not module:
                changed.append(f"sys.modules[{name!r}]")
                sys.modules[name] = module
        for name, (module, saved) in self.snapshot.items():
            current = vars(module)
            for attr, value in saved.items():
                if attr not in VOLATILE and current.get(attr, _MISSING) is not value:
                    changed.append(f"{name}.{attr}")
                    setattr(module, attr, value)
        for cls, saved in self.classes:
            for attr, value in saved.items():
                if cls.__dict__.get(attr, _MISSING) is not value:
                    changed.append(f"{cls.__name__}.{attr}")
                    try:
                        setattr(cls, attr, value)
                    except (TypeError, AttributeError):
                        pass
        return changed


_MISSING = object()
# Attributes that legitimately change while code runs (redirected streams, the REPL's `_`).
VOLATILE = frozenset({"stdout", "stderr", "stdin", "displayhook", "excepthook", "last_type", "last_value",
                      "last_traceback", "last_exc", "ps1", "ps2", "_", "tracebacklimit"})
