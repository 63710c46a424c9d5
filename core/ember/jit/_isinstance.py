"""``torch.jit.isinstance``: ``isinstance`` that understands ``List[int]``, ``Dict[str, Tensor]``,
``Tuple[...]``, ``Optional[...]`` and unions, checking every element as PyTorch's eager version does.

Example:
    >>> import ember
    >>> from typing import Dict, List, Optional
    >>> ember.jit.isinstance([1, 2], List[int]), ember.jit.isinstance({"a": 1}, Dict[str, str])
    (True, False)
    >>> ember.jit.isinstance(None, Optional[int])
    True
"""

from __future__ import annotations

import collections.abc
import types
import typing
import warnings
from typing import Any, Union, get_args, get_origin

__all__ = ["jit_isinstance"]

#: A bare container type names no element type: PyTorch refuses it (its spelling in the message).
_RAW_NAMES = {dict: "dict", list: "list", tuple: "tuple", typing.Dict: "Dict", typing.List: "List",  # noqa: UP006
              typing.Optional: "Optional", typing.Tuple: "Tuple"}  # noqa: UP006


def _check_args_exist(target_type: Any) -> None:
    try:
        name = _RAW_NAMES.get(target_type)
    except TypeError:  # an unhashable "type" (a list): handled by isinstance's own error
        return
    if name is None:
        return
    if name.endswith("ict"):
        raise RuntimeError(f"Attempted to use {name} without contained types. Please add contained type, e.g. "
                           f"{name}[int, int]")
    raise RuntimeError(f"Attempted to use {name} without a contained type. Please add a contained type, e.g. "
                       f"{name}[int]")


def _warn_if_empty(obj: Any) -> None:
    # An empty container matches any element type: PyTorch warns that eager mode cannot tell.
    if isinstance(obj, (list, dict, tuple)) and len(obj) == 0:
        warnings.warn("The inner type of a container is lost when calling torch.jit.isinstance in eager mode. For "
                      "example, List[int] would become list and therefore falsely return True for List[float] or "
                      "List[str].", stacklevel=4)


def _element_ok(value: Any, tp: Any) -> bool:
    return _container_ok(value, tp) if get_origin(tp) else isinstance(value, tp)


def _container_ok(obj: Any, target_type: Any) -> bool:
    origin = get_origin(target_type)
    _check_args_exist(target_type)
    args = get_args(target_type)
    if origin is list:
        _warn_if_empty(obj)
        return isinstance(obj, list) and all(_element_ok(v, args[0]) for v in obj)
    if origin is dict:
        _warn_if_empty(obj)
        return isinstance(obj, dict) and all(isinstance(k, args[0]) and _element_ok(v, args[1]) for k, v in obj.items())
    if origin is tuple:
        _warn_if_empty(obj)
        return isinstance(obj, tuple) and len(obj) == len(args) and all(_element_ok(v, t) for v, t in zip(obj, args))
    if origin is Union or origin is types.UnionType:  # Optional[T] is Union[T, None]
        if obj is None:
            return True
        for t in args:
            if get_origin(t):
                # As PyTorch: the first container member decides (it returns that member's answer).
                return _container_ok(obj, t)
            if isinstance(obj, t):
                return True
    return False


def jit_isinstance(obj: Any, target_type: Any) -> bool:
    """True when ``obj`` is a ``target_type``: a class, a tuple of them, or a parametrized
    ``List``/``Dict``/``Tuple``/``Optional``/``Union`` (elements checked one by one).

    Raises RuntimeError for a bare ``List``/``Dict``/``Tuple``/``Optional`` (no element type) or a
    second argument that is a container other than a tuple, with PyTorch's messages.

    Example:
        >>> from typing import Tuple
        >>> jit_isinstance((1, "a"), Tuple[int, str])
        True
    """
    if isinstance(target_type, collections.abc.Container):
        if not isinstance(target_type, tuple):
            raise RuntimeError("The second argument to `torch.jit.isinstance` must be a type or a tuple of types")
        return any(jit_isinstance(obj, t) for t in target_type)
    if get_origin(target_type):
        return _container_ok(obj, target_type)
    _check_args_exist(target_type)
    return isinstance(obj, target_type)
