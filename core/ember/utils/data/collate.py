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
from collections.abc import Callable
from typing import Any

import numpy as np

import ember
from ember.tensor import Tensor  # not ember.Tensor: this module loads while ember is still importing

__all__ = ["collate", "collate_float_fn", "collate_int_fn", "collate_numpy_array_fn", "collate_numpy_scalar_fn",
           "collate_str_fn", "collate_tensor_fn", "default_collate", "default_collate_fn_map", "default_convert"]

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


def _check_dense(elem: Any) -> None:
    """PyTorch refuses sparse batches in ``default_collate`` (stacking them is not defined there)."""
    if getattr(elem, "is_sparse", False) or str(getattr(elem, "layout", "strided")).endswith(("sparse_coo", "sparse_csr")):
        raise RuntimeError("Batches of sparse tensors are not currently supported by the default collate_fn; "
                           "please provide a custom collate_fn to handle them appropriately.")


def collate_tensor_fn(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """Tensors are stacked along a new first dimension (``stack expects each tensor to be equal size``)."""
    _check_dense(batch[0])
    return ember.stack(list(batch), 0)


def collate_numpy_array_fn(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """NumPy arrays become tensors, then collate again (arrays of strings or objects are refused)."""
    elem = batch[0]
    if _NP_STR_OBJ.search(elem.dtype.str) is not None:
        raise TypeError(_ERR_FMT.format(elem.dtype))
    return collate([ember.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """The whole batch goes through tensor inference: NumPy scalars keep their dtype and promote with
    the rest (``[np.float32(1), 2.0]`` -> float32)."""
    return ember.as_tensor(list(batch))


def collate_float_fn(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """A batch led by a Python float is float64."""
    return ember.tensor(list(batch), dtype=ember.float64)


def collate_int_fn(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """A batch led by an int (or bool) goes through inference: ``[True, 2]`` -> int64, ``[0, 0.5]`` -> float32."""
    return ember.tensor(list(batch))


def collate_str_fn(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """Strings and bytes are returned as the list they came in."""
    return batch


# PyTorch's registry of leaf rules, in its lookup order; programs extend it in place
# (``default_collate_fn_map[MyType] = fn``) and ``default_collate`` sees the new rule.
default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch: list, *, collate_fn_map: dict[type | tuple[type, ...], Callable] | None = None) -> Any:
    """Collate ``batch`` recursively through dicts, namedtuples and sequences; a leaf's rule comes from
    ``collate_fn_map`` (its exact type first, then the first key it is an instance of, in insertion order).

    Each rule takes the batch and a keyword ``collate_fn_map``.

    Example:
        >>> collate([(1, 2), (3, 4)], collate_fn_map={int: lambda b, *, collate_fn_map: sum(b)})
        [4, 6]
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, lambda key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map))
    if _is_namedtuple(elem):
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))  # samples stay tuples, as in PyTorch
        collated = [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        if isinstance(elem, tuple):
            return collated  # PyTorch returns a list for tuples (backwards compatibility)
        return _rebuild_sequence(elem, collated)
    raise TypeError(_ERR_FMT.format(elem_type))


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
    return collate(batch, collate_fn_map=default_collate_fn_map)
