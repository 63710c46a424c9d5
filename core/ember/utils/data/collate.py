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


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays (and arrays inside containers) to tensors; leave the rest alone.

    Example:
        >>> import numpy as np
        >>> default_convert({"x": np.array([1, 2])})["x"].tolist()
        [1, 2]
    """
    if isinstance(data, ember.Tensor):
        return data
    elem_type = type(data)
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_", "bytes_"):
        if elem_type.__name__ in ("ndarray", "memmap") and _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return ember.as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {k: default_convert(v) for k, v in data.items()}
        try:
            return elem_type(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        try:
            return elem_type(converted)
        except TypeError:
            return converted
    return data


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursing into dicts, tuples, lists and namedtuples.

    Tensors are stacked along a new first dimension; NumPy arrays become tensors; Python
    ``int``/``float``/``bool`` become int64/float64/bool tensors; strings stay a list.

    Example:
        >>> import ember
        >>> out = default_collate([{"x": ember.zeros(2), "name": "a"}, {"x": ember.ones(2), "name": "b"}])
        >>> tuple(out["x"].shape), out["name"]
        ((2, 2), ['a', 'b'])
    """
    elem = batch[0]
    elem_type = type(elem)
    if isinstance(elem, ember.Tensor):
        return ember.stack(list(batch), 0)
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_", "bytes_"):
        if elem_type.__name__ in ("ndarray", "memmap"):
            if _NP_STR_OBJ.search(elem.dtype.str) is not None:
                raise TypeError(_ERR_FMT.format(elem.dtype))
            return default_collate([ember.as_tensor(np.ascontiguousarray(b)) for b in batch])
        if elem.shape == ():  # NumPy scalars keep their dtype
            return ember.as_tensor(np.asarray(batch))
    if isinstance(elem, bool):  # before int: bool is a subclass of int
        return ember.tensor(list(batch), dtype=ember.bool)
    if isinstance(elem, float):
        return ember.tensor(list(batch), dtype=ember.float64)
    if isinstance(elem, int):
        return ember.tensor(list(batch), dtype=ember.int64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return elem_type(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if _is_namedtuple(elem):
        return elem_type(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            # PyTorch returns a list for tuples (backwards compatibility).
            return [default_collate(list(samples)) for samples in transposed]
        try:
            return elem_type([default_collate(list(samples)) for samples in transposed])
        except TypeError:
            return [default_collate(list(samples)) for samples in transposed]
    raise TypeError(_ERR_FMT.format(elem_type))
