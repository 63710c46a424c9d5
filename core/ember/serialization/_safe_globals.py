"""The caller's additions to the allow-list of PyTorch checkpoints loaded with ``weights_only``.

As ``torch.serialization.add_safe_globals``: each entry is a class or function, or a
``(obj, "module.qualname")`` pair naming it as the checkpoint does; the torch ``.pt`` reader
resolves those names to the objects and lets them be called and their instances' state be set.

Example:
    >>> from ember import serialization
    >>> serialization.get_safe_globals()
    []
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["add_safe_globals", "safe_globals", "get_safe_globals", "clear_safe_globals", "lookup"]

_SAFE: list[Callable | tuple[Callable, str]] = []


def add_safe_globals(safe_globals: list[Callable | tuple[Callable, str]]) -> None:
    """Mark these globals as safe for ``weights_only`` loading (``(obj, "module.qualname")`` to give the name)."""
    for entry in safe_globals:
        if isinstance(entry, tuple):
            if len(entry) != 2 or not isinstance(entry[1], str):
                raise ValueError(f"Expected tuple of length 2 (global, str of callable full path), but got {entry}")
        elif not callable(entry):
            raise ValueError(f"Expected a callable or a (callable, str) tuple, but got {entry!r}")
    for entry in safe_globals:  # PyTorch keeps a set: each global once
        if entry not in _SAFE:
            _SAFE.append(entry)


def get_safe_globals() -> list[Callable | tuple[Callable, str]]:
    """The globals the caller marked safe, in the order added."""
    return list(_SAFE)


def clear_safe_globals() -> None:
    """Forget every global the caller marked safe."""
    _SAFE.clear()


class safe_globals:  # noqa: N801 - PyTorch's name
    """Context manager: these globals are safe for ``weights_only`` loading inside the ``with`` block."""

    def __init__(self, safe_globals: list[Callable | tuple[Callable, str]]) -> None:
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc: Any) -> None:
        # as PyTorch: the listed globals leave the list (even ones added before), others stay
        _SAFE[:] = [e for e in _SAFE if e not in self.safe_globals]


def _name(entry: Callable | tuple[Callable, str]) -> tuple[Any, str]:
    if isinstance(entry, tuple):
        return entry[0], entry[1]
    return entry, f"{entry.__module__}.{entry.__qualname__}"


def served_module(module: str) -> str:
    """The module a PyTorch checkpoint's ``module`` is here: ``torch.X`` is ``ember.X`` and
    ``torchvision.X`` is ``ember.vision.X`` (what a program running on ember imports under those
    names); any other module is itself."""
    for prefix, ours in (("torchvision", "ember.vision"), ("torch", "ember")):
        if module == prefix or module.startswith(prefix + "."):
            return ours + module[len(prefix):]
    return module


def lookup(module: str, name: str) -> Any:
    """The safe global a checkpoint names ``module.name``, or None."""
    full = f"{module}.{name}"
    # a PyTorch checkpoint names torch's classes; the caller marks ember's (what ``torch.X`` is here)
    served = served_module(module)
    alias = f"{served}.{name}" if served != module else None
    for entry in reversed(_SAFE):
        obj, qual = _name(entry)
        if qual == full or qual == alias:
            return obj
    return None


def is_safe_type(cls: type) -> bool:
    """True when instances of ``cls`` may have their state set (BUILD): the class was marked safe."""
    return any(_name(e)[0] is cls for e in _SAFE)
