"""Turning a list of samples into a batch (``default_collate``) and plain data into tensors
(``default_convert``), with PyTorch's rules and dtypes.

Example:
    >>> from ember.utils.data import default_collate
    >>> b = default_collate([(1, 0.5), (2, 1.5)])
    >>> b[0].tolist(), str(b[0].dtype), str(b[1].dtype)
    ([1, 2], 'ember.int64', 'ember.float64')
"""

from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any

import numpy as np

import ember

__all__ = ["default_collate", "default_convert"]

# NumPy arrays of strings or objects cannot become tensors.
_NP_STR_OBJ = re.compile(r"[SaUO]")

_ERR_FMT = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
            "found {}")


def _is_namedtuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _rebuild_mapping(data: Any, fn: Any) -> Any:
    """PyTorch's rule: clone a mutable mapping and update it (keeps ``defaultdict``,
    ``OrderedDict`` and subclasses with extra state), otherwise rebuild it from a dict."""
    try:
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)
            clone.update({key: fn(key) for key in data})
            return clone
        return type(data)({key: fn(key) for key in data})
    except TypeError:  # no copy()/update() or __init__(mapping)
        return {key: fn(key) for key in data}


def _rebuild_sequence(data: Any, items: list) -> Any:
    """PyTorch's rule: clone a mutable sequence and set its items, otherwise rebuild it."""
    try:
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(data)(items)
    except TypeError:  # no copy()/__setitem__ or __init__(iterable), e.g. range
        return list(items)


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays (and arrays inside containers) to tensors; leave the rest alone.

    Example:
        >>> import numpy as np
        >>> default_convert({"x": np.array([1, 2])})["x"].tolist()
        [1, 2]
    """
    elem_type = type(data)
    if isinstance(data, ember.Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ == "ndarray" and _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return ember.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, lambda key: default_convert(data[key]))
    if _is_namedtuple(data):
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # PyTorch: a list, for backwards compatibility
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _collate_leaf(batch: list, elem: Any) -> Any:
    """The leaf rules of PyTorch's ``default_collate_fn_map``, in its lookup order; returns
    ``_NO_LEAF`` when ``elem`` is not a leaf type."""
    if isinstance(elem, ember.Tensor):
        return ember.stack(list(batch), 0)
    if isinstance(elem, np.ndarray):  # ndarray and memmap
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_ERR_FMT.format(elem.dtype))
        return default_collate([ember.as_tensor(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number, np.object_)):
        # The whole batch goes through tensor inference: NumPy scalars keep their dtype and
        # promote with the rest (``[np.float32(1), 2.0]`` -> float32).
        return ember.as_tensor(list(batch))
    if isinstance(elem, float):
        return ember.tensor(list(batch), dtype=ember.float64)
    if isinstance(elem, int):  # bool too: ``[True, 2]`` -> int64, ``[0, 0.5]`` -> float32
        return ember.tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    return _NO_LEAF


_NO_LEAF = object()


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursing into dicts, tuples, lists and namedtuples.

    The element type of the *first* sample picks the rule, as in PyTorch: tensors are stacked
    along a new first dimension; NumPy arrays become tensors; a batch led by a Python ``float``
    becomes float64; one led by an ``int`` or ``bool`` goes through ``ember.tensor`` inference
    (``[True, False]`` -> bool, ``[1, 2]`` -> int64, ``[0, 0.5]`` -> float32); strings are
    returned unchanged.

    Example:
        >>> import ember
        >>> out = default_collate([{"x": ember.zeros(2), "name": "a"}, {"x": ember.ones(2), "name": "b"}])
        >>> tuple(out["x"].shape), out["name"]
        ((2, 2), ['a', 'b'])
    """
    elem = batch[0]
    elem_type = type(elem)
    out = _collate_leaf(batch, elem)
    if out is not _NO_LEAF:
        return out
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, lambda key: default_collate([d[key] for d in batch]))
    if _is_namedtuple(elem):
        return elem_type(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))  # samples stay tuples, as in PyTorch
        collated = [default_collate(samples) for samples in transposed]
        if isinstance(elem, tuple):
            return collated  # PyTorch returns a list for tuples (backwards compatibility)
        return _rebuild_sequence(elem, collated)
    raise TypeError(_ERR_FMT.format(elem_type))
