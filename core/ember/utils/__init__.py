"""Utilities shared by training code; the data pipeline lives in :mod:`ember.utils.data`.

Example:
    >>> from ember.utils import data
    >>> len(data.TensorDataset(__import__("ember").zeros(3, 2)))
    3
"""

from . import checkpoint, data, dlpack, hooks

__all__ = ["checkpoint", "data", "dlpack", "hooks"]


# a submodule not imported yet, by name (``ember.nn.attention`` after ``import ember``, as in PyTorch)
from ember import _lazy_submodules  # noqa: E402

__getattr__ = _lazy_submodules.package_getattr(__name__, __path__[0])
