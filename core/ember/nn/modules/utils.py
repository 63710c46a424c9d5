"""PyTorch's ``torch.nn.modules.utils``: the argument normalisers layer code imports by name
(``_pair(3) == (3, 3)``) and ``consume_prefix_in_state_dict_if_present`` for DataParallel checkpoints.

Example:
    >>> from ember.nn.modules.utils import _pair, consume_prefix_in_state_dict_if_present
    >>> _pair(3), _pair((1, 2))
    ((3, 3), (1, 2))
    >>> sd = {"module.fc.weight": 1}
    >>> consume_prefix_in_state_dict_if_present(sd, "module.")
    >>> sd
    {'fc.weight': 1}
"""

from __future__ import annotations

import collections.abc
from collections.abc import Callable
from itertools import repeat
from typing import Any

__all__ = ["consume_prefix_in_state_dict_if_present"]


def _ntuple(n: int, name: str = "parse") -> Callable[[Any], tuple]:
    """A parser that keeps an iterable as a tuple and repeats anything else ``n`` times."""

    def parse(x: Any) -> tuple:
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t: Any, n: int) -> tuple:
    """Reverse ``t`` and repeat each element ``n`` times: a padding tuple in ``F.pad``'s order."""
    return tuple(x for x in reversed(t) for _ in range(n))


def _list_with_default(out_size: Any, defaults: list[int]) -> Any:
    """``out_size`` with each None taken from the trailing ``defaults`` (adaptive pooling's sizes)."""
    if isinstance(out_size, int):
        return out_size
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    return [v if v is not None else d for v, d in zip(out_size, defaults[-len(out_size):])]


def consume_prefix_in_state_dict_if_present(state_dict: dict[str, Any], prefix: str) -> None:
    """Strip ``prefix`` from the keys of ``state_dict`` (and of its ``_metadata``) in place: a
    ``DataParallel``/``DistributedDataParallel`` checkpoint's ``module.`` loads into the bare model."""
    for key in list(state_dict.keys()):
        if key.startswith(prefix):
            state_dict[key[len(prefix):]] = state_dict.pop(key)
    meta = getattr(state_dict, "_metadata", None)
    if meta is not None:
        for key in list(meta.keys()):
            # '' is the wrapper's own entry; 'module' and 'module.xx' are the model's
            if key and (key == prefix.replace(".", "") or key.startswith(prefix)):
                meta[key[len(prefix):]] = meta.pop(key)
