"""Utilities shared by training code; the data pipeline lives in :mod:`ember.utils.data`.

Example:
    >>> from ember.utils import data
    >>> len(data.TensorDataset(__import__("ember").zeros(3, 2)))
    3
"""

from . import checkpoint, data, dlpack, hooks

__all__ = ["checkpoint", "data", "dlpack", "hooks"]


def __getattr__(name: str) -> object:
    """A submodule not imported yet (``ember.utils.<name>`` after ``import ember``, as in PyTorch)."""
    from ember._lazy_submodules import submodule

    mod = submodule(__name__, __path__[0], name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return mod
