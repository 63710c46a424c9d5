"""Factories: ``tensor``, ``zeros``, ``arange``, ``rand``... each with ``dtype=`` and ``device=``.

Example:
    >>> import ember
    >>> ember.arange(0, 1, 0.25)
    tensor([0.0000, 0.2500, 0.5000, 0.7500])
    >>> ember.eye(2, dtype=ember.int64)
    tensor([[1, 0],
            [0, 1]])
"""

from __future__ import annotations

import functools
import inspect
import math
import operator
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as _np

from ember import dispatch, plugins
from ember import dtypes as _dt
from ember._ops.registry import Family
from ember._scalar_convert import checked_int_array, checked_scalar
from ember.random import Generator, default_generator
from ember.tensor import Tensor


def _host():
    be = plugins.backend("cpu")
    if be is None:
        raise dispatch.DeviceError("no cpu backend is registered: install the 'ember-cpu-numpy' package")
    return be


def _resolve(device: Any, dtype: _dt.dtype | None = None) -> tuple:
    dev = dispatch.canonical_device(device)
    kt = dispatch.table(dev.type)
    if dtype is not None and dev.type != "cpu":
        _check_dtype_supported(kt, dev, dtype)
    return dev, kt


def _dtype_param(fn: Callable) -> Callable:
    """Checks a factory's ``dtype`` argument once, at the call (``dtypes.dtype_arg``): Python's
    ``int``/``float``/``bool``/``complex`` become ember dtypes, anything else is a ``TypeError``
    naming the factory the user called."""
    name = fn.__name__
    params = list(inspect.signature(fn).parameters.values())
    pos = next((i for i, p in enumerate(params) if p.name == "dtype" and p.kind is p.POSITIONAL_OR_KEYWORD), None)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        d = kwargs.get("dtype")
        if d is not None and d.__class__ is not _dt.dtype:
            kwargs["dtype"] = _dt.dtype_arg(name, d)
        if pos is not None and len(args) > pos and args[pos] is not None and args[pos].__class__ is not _dt.dtype:
            args = (*args[:pos], _dt.dtype_arg(name, args[pos]), *args[pos + 1:])
        return fn(*args, **kwargs)

    return wrapper


_dtype_ok: dict = {}


def _check_dtype_supported(kt, dev, dtype) -> None:
    key = (dev, dtype)
    ok = _dtype_ok.get(key)
    if ok is None:
        ok = _dtype_ok[key] = dtype in kt.backend.supported_dtypes(dev.index)
    if not ok:
        why = kt.backend.dtype_unsupported_reason(dev.index, dtype)
        raise TypeError(f"device {dev} ({kt.backend.device_name(dev.index)}) does not support dtype "
                        f"{dtype}" + (f" ({why})" if why else ""))


def _size_type_error(name: str, n_args: int, packed: bool, i: int, s: Any) -> TypeError:
    """PyTorch's argument-parser wording for a size element that is not an int: it depends on whether
    the sizes came as one sequence or as several arguments, and on which element is wrong."""
    fn, tn = f"{name}(): " if name else "", type(s).__name__
    if i > 0:  # the parser took the first as a size and fails unpacking the rest
        return TypeError(f"{fn}argument 'size' failed to unpack the object at pos {i + 1} with error "
                         f'"type must be tuple of ints,but got {tn}"')
    if packed:
        return TypeError(f"{fn}argument 'size' (position 1) must be tuple of ints, but found element of type "
                         f"{tn} at pos 0")
    if n_args > 1:  # a non-int first argument is not a size, so the rest are extra positionals
        return TypeError(f"{name}() takes 1 positional argument but {n_args} were given")
    return TypeError(f"{fn}argument 'size' (position 1) must be tuple of ints, not {tn}")


def _size(args: Sequence, name: str = "") -> tuple:
    if not args and name:  # ``ember.zeros()``: PyTorch's factories require a size (``()`` for 0-d)
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    packed = len(args) == 1 and isinstance(args[0], (tuple, list))
    if packed:
        args = args[0]
    shape = []
    for i, s in enumerate(args):
        if isinstance(s, Tensor):  # an integer tensor of one element is a size (its __index__)
            try:
                s = s.__index__()
            except TypeError:
                raise _size_type_error(name, len(args), packed, i, s) from None
        elif s.__class__ is not int and not isinstance(s, (bool, float)) and hasattr(s, "__index__"):
            s = s.__index__()  # NumPy's integers are sizes too
        if not isinstance(s, int) or isinstance(s, bool):
            raise _size_type_error(name, len(args), packed, i, s)
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(args)}")
        shape.append(s)
    return tuple(shape)


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        if not t.dtype.is_differentiable:  # a factory's wording (capitalised), not requires_grad_'s
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


# ---- the keyword arguments a factory takes besides dtype/device/requires_grad ------------------
# Read only when a call passes one (they arrive in ``**_kw``), so the usual call pays nothing.
_SIZED = frozenset({"size", "out", "layout", "pin_memory"})
_EMPTY = _SIZED | {"memory_format"}
_RANGED = frozenset({"out", "layout", "pin_memory"})
_LIKE = frozenset({"layout", "pin_memory", "memory_format"})


def _extras(name: str, kw: dict, allowed: frozenset) -> Tensor | None:
    """Check factory ``name``'s extra keyword arguments as PyTorch does and return ``out``: an
    unknown one is a TypeError, ``pin_memory=True`` PyTorch's error (ember pins no memory)."""
    for k in kw:
        if k not in allowed:
            raise TypeError(f"{name}() got an unexpected keyword argument '{k}'")
    if kw.get("pin_memory"):
        raise RuntimeError("pin_memory=True requires a CUDA or other accelerator backend; no pinned memory "
                           "allocator is available on this system.")
    out = kw.get("out")
    if out is not None and not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    return out


def _sized_extras(name: str, size: tuple, kw: dict, allowed: frozenset = _SIZED) -> tuple[tuple, Tensor | None]:
    """:func:`_extras` for a factory taking ``*size``, which may come as ``size=`` instead."""
    out = _extras(name, kw, allowed)
    if "size" in kw:
        if size:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        if not isinstance(kw["size"], (tuple, list)):  # a keyword size must be a sequence
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, not {_tp_name(kw['size'])}")
        size = (kw["size"],)
    return size, out


def _into_out(name: str, out: Tensor, dtype: _dt.dtype | None, device: Any, make: Any,
              ranged: bool = False) -> Tensor:
    """A factory called with ``out=``: the result has ``out``'s dtype and device unless given (which
    must then match, as PyTorch checks), and is written into ``out`` (resized if its shape differs;
    a range factory (``ranged``) keeps ``out``'s shape when the element counts agree, as PyTorch's)."""
    from ember.autograd.grad_mode import STATE
    from ember.functions.elementwise import _CAN_CAST_NAMES, _out

    if dtype is not None and dtype is not out.dtype:
        raise RuntimeError(f"dtype {_CAN_CAST_NAMES.get(dtype, dtype)} does not match dtype of out parameter "
                           f"({_CAN_CAST_NAMES.get(out.dtype, out.dtype)})")
    if device is not None and dispatch.canonical_device(device) != out.device:
        raise RuntimeError(f"Expected out tensor to have device {dispatch.canonical_device(device)}, but got "
                           f"{out.device} instead")
    if out.requires_grad and STATE.enabled:
        raise RuntimeError(f"aten::{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    res = make(out.dtype, out.device)
    if ranged and res.numel() == out.numel():
        res = res.reshape(out.shape)
    elif name == "arange" and out.numel() and res.numel() != out.numel():
        import warnings

        warnings.warn(f"The number of elements in the out tensor of shape {list(out.shape)} is {out.numel()} which "
                      f"does not match the computed number of elements {res.numel()}. Note that this may occur as "
                      f"a result of rounding error. The out tensor will be resized to a tensor of shape "
                      f"({res.numel()},).", UserWarning, stacklevel=3)
    return _out(res, out)


@_dtype_param
def tensor(data: Any, *, dtype: _dt.dtype | None = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor copying ``data`` (nested lists, numbers, NumPy arrays, tensors)."""
    if isinstance(data, Tensor):
        out = data.detach().to(device=device if device is not None else data.device,
                                dtype=dtype or data.dtype, copy=True)
        return _finish(out, requires_grad)
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    if isinstance(data, _np.ndarray):
        _check_numpy_dtype(data.dtype, dtype)
        _check_strides(data)  # PyTorch reads the array through from_numpy, even for its copy
    elif dtype is not None and data.__class__ in (list, tuple) and not _plain_numbers(data):
        _data_error(data, dtype)  # None, str... which NumPy would read (as nan, parsed) where PyTorch raises
    try:
        arr, dt = _host_array(data, dtype)
    except (TypeError, ValueError, RuntimeError, KeyError):
        # data the host could not read: PyTorch's own error, found by walking the data as it does
        # (on this failure path only); an empty result PyTorch accepts (``[[], [1]]``) is made here
        found = _data_error(data, dtype)
        if found is None:
            raise
        arr, dt = _host().from_object(_np.zeros(found[0]), found[1], copy=True)
    cpu_dev, cpu_kt = _resolve("cpu")
    t = Tensor._make(arr, dt, cpu_dev, cpu_kt)
    if device is not None or dispatch._default_device is not None:  # set_default_device
        dev = dispatch.canonical_device(device)
        if dev.type != "cpu":
            t = t.to(dev)
    return _finish(t, requires_grad)


def _host_array(data: Any, dtype: _dt.dtype | None) -> tuple[Any, _dt.dtype]:
    """The host array and dtype of ``tensor(data, dtype=dtype)``'s data."""
    checked = None
    if data.__class__ in (list, tuple) and _holds_arrays(data):
        data, inferred = _unpack_elements(data)
        dtype = dtype or inferred
    if dtype is None and (data.__class__ in (list, tuple) or isinstance(data, _np.generic)):
        dtype = _numpy_scalar_dtype(data)
    elif dtype is not None and dtype.category == 1 and (data.__class__ in (list, tuple, int, float, bool)
                                                        or isinstance(data, _np.generic)):
        checked = checked_int_array(data, dtype)  # PyTorch's range check of each number (uint8 takes -1)
    try:
        return (checked, dtype) if checked is not None else _host().from_object(data, dtype, copy=True)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None


_PYTHON_NUMBERS = {bool: _dt.bool_, int: _dt.int64}
_NUMBER_KINDS = frozenset((int, float, bool, complex, list, tuple))

#: ember's NumPy dtypes, as PyTorch's "can't convert np.ndarray" error lists its own
_NUMPY_SUPPORTED = ("float64, float32, float16, bfloat16, complex64, complex128, int64, int32, int16, int8, "
                    "uint8, and bool")
_MAX_DIMS = 128  # PyTorch's limit on the nesting of data (tensor_new.cpp's MAX_DIMS)


def _tp_name(obj: Any) -> str:
    """``Py_TYPE(obj)->tp_name``, as PyTorch's messages print it: a C type outside builtins carries
    its module (``numpy.str_``, ``decimal.Decimal``), a class defined in Python its bare name."""
    t = type(obj)
    if t.__module__ == "builtins" or t.__flags__ & (1 << 9):  # Py_TPFLAGS_HEAPTYPE: a Python class
        return t.__name__
    return f"{t.__module__}.{t.__name__}"


def _numpy_dtype(d: Any) -> _dt.dtype:
    """The ember dtype of NumPy dtype ``d``; one ember lacks (uint16/32/64, longdouble, str,
    object...) is PyTorch's TypeError for an unsupported array, never a KeyError."""
    from ember.numpy_dtypes import EMBER_DTYPE

    d = _np.dtype(d)
    found = EMBER_DTYPE.get(d)
    if found is None and EMBER_DTYPE.get(d.newbyteorder("=")) is not None:
        raise ValueError("given numpy array has byte order different from the native byte order. Conversion "
                         "between byte orders is currently not supported.")
    if found is None:
        raise TypeError(f"can't convert np.ndarray of type numpy.{d.type.__name__}. The only supported types are: "
                        f"{_NUMPY_SUPPORTED}.")
    return found


def _check_numpy_dtype(d: _np.dtype, target: _dt.dtype | None) -> None:
    """An array's dtype must be one ember holds, as PyTorch requires of its own list; uint16/32/64,
    which PyTorch holds and ember does not, are converted when a dtype is asked for."""
    if target is not None and d.kind == "u":
        return
    _numpy_dtype(d)


def _plain_numbers(data: Any) -> bool:
    """Whether nested lists hold only Python numbers, NumPy numbers, tensors and arrays (scanned by
    type at C speed, one level at a time): anything else is checked the way PyTorch stores it."""
    stack = [data]
    while stack:
        seq = stack.pop()
        types = set(map(type, seq))
        for t in types - _NUMBER_KINDS:
            if not issubclass(t, (Tensor, _np.ndarray)) and not (issubclass(t, _np.generic)
                                                                  and _np.dtype(t).kind in "biufc"):
                return False
        if types & {list, tuple}:
            stack.extend(v for v in seq if v.__class__ in (list, tuple))
    return True


def _is_sequence(obj: Any) -> bool:
    """``PySequence_Check``: what PyTorch descends into (a Tensor element is read as a number)."""
    return isinstance(obj, (list, tuple, str, bytes, range, _np.ndarray, Sequence)) and not isinstance(obj, Tensor)


def _data_error(data: Any, dtype: _dt.dtype | None) -> tuple[tuple, _dt.dtype] | None:
    """Raise the error PyTorch's ``tensor(data)`` raises, walking ``data`` in its order
    (tensor_new.cpp): a string is an invalid data type; the sizes follow each first element
    ("too many dimensions"); the dtype is inferred from every element ("Could not infer dtype");
    then each element is stored, which checks every length ("expected sequence of length n at dim
    d") and converts each number as the dtype's Python conversion does. Data that passes all of
    it returns its ``(sizes, dtype)`` (PyTorch stores nothing when a size is 0), else None."""
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{_tp_name(data)}'")
    sizes: list[int] = []
    seq = data
    while _is_sequence(seq):
        n = len(seq)
        sizes.append(n)
        if len(sizes) > _MAX_DIMS:
            raise ValueError(f"too many dimensions '{_tp_name(seq)}'")
        if n == 0:
            break
        seq = seq[0]
    dt = dtype or _infer_dtype(data)
    if math.prod(sizes) == 0:
        return tuple(sizes), dt
    _store(data, sizes, 0, dt)
    return None


def _infer_dtype(obj: Any) -> _dt.dtype:
    """PyTorch's ``infer_scalar_type``: every element visited in order, their dtypes promoted."""
    if isinstance(obj, bool):
        return _dt.bool_
    if isinstance(obj, int):
        return _dt.int64
    if isinstance(obj, float):
        return _dt.get_default_dtype()
    if isinstance(obj, complex):
        return _dt.default_complex_dtype()
    if isinstance(obj, Tensor):
        return obj.dtype
    if isinstance(obj, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{_tp_name(obj)}'")
    if isinstance(obj, (_np.ndarray, _np.generic)):
        return _numpy_dtype(obj.dtype)
    if _is_sequence(obj):
        result = None
        for item in obj:
            d = _infer_dtype(item)
            result = d if result is None else _dt.promote_types(result, d)
        return result or _dt.get_default_dtype()
    raise RuntimeError(f"Could not infer dtype of {_tp_name(obj)}")


def _store(obj: Any, sizes: list, dim: int, dtype: _dt.dtype) -> None:
    """PyTorch's ``recursive_store`` as a check: lengths at each dim, then each number's conversion."""
    if dim == len(sizes):
        _store_scalar(obj, dtype)
        return
    if not _is_sequence(obj) and not isinstance(obj, (set, frozenset, dict)):
        raise TypeError("not a sequence")
    items = list(obj)
    if len(items) != sizes[dim]:
        raise ValueError(f"expected sequence of length {sizes[dim]} at dim {dim} (got {len(items)})")
    for item in items:
        _store(item, sizes, dim + 1, dtype)


def _store_scalar(obj: Any, dtype: _dt.dtype) -> None:
    """One number converted as PyTorch's ``store_scalar`` does: an integer dtype through
    ``__index__`` (a float is truncated), a floating/complex one through ``__float__``/``__complex__``
    (Python's own errors: "must be real number, not str")."""
    import cmath

    if isinstance(obj, Tensor):
        if obj.numel() != 1:
            if dtype.category == 1 or dtype is _dt.bool_:
                raise TypeError("only integer tensors of a single element can be converted to an index")
            raise ValueError("only one element tensors can be converted to Python scalars")
        return
    if dtype.category == 1 or dtype is _dt.bool_:
        if not isinstance(obj, float):
            operator.index(obj)
    elif dtype.is_complex:
        cmath.isfinite(obj)
    else:
        math.isfinite(obj)


def _holds_arrays(data: Any) -> bool:
    """Whether nested lists hold tensors or NumPy arrays (scanned by type, one level at a time)."""
    stack = [data]
    while stack:
        seq = stack.pop()
        types = set(map(type, seq))
        if any(issubclass(t, (Tensor, _np.ndarray)) for t in types):
            return True
        if types & {list, tuple}:
            stack.extend(v for v in seq if v.__class__ in (list, tuple))
    return False


def _unpack_elements(data: Any) -> tuple[Any, _dt.dtype]:
    """``data`` with each tensor replaced by its Python number, and the dtype PyTorch infers.

    PyTorch reads a tensor inside a list as one number (``item()``: a tensor of several elements is
    its ValueError, never a nested row) and gives it its own dtype; a NumPy array is a nested
    sequence of its own dtype. The element dtypes are combined with ``promote_types``, Python
    numbers at their defaults (``tensor([tensor(1., dtype=float64)])`` is float64, a list of int32
    arrays is int32)."""
    result: list = [None]

    def meet(d: _dt.dtype) -> None:
        result[0] = d if result[0] is None else _dt.promote_types(result[0], d)

    def walk(v: Any) -> Any:
        if isinstance(v, Tensor):
            if v.numel() != 1:
                raise ValueError("only one element tensors can be converted to Python scalars")
            meet(v._dtype)
            return v.item()
        if isinstance(v, _np.ndarray):
            if v.ndim == 0:  # PyTorch takes an array for a sequence and asks for its length
                raise TypeError("len() of unsized object")
            meet(_numpy_dtype(v.dtype))
            return v
        if v.__class__ in (list, tuple):
            return [walk(e) for e in v]
        if isinstance(v, _np.generic):
            meet(_numpy_dtype(v.dtype))
        elif v.__class__ in _PYTHON_NUMBERS:
            meet(_PYTHON_NUMBERS[v.__class__])
        elif isinstance(v, float):
            meet(_dt.get_default_dtype())
        elif isinstance(v, complex):
            meet(_dt.default_complex_dtype())
        return v

    out = walk(data)
    return out, result[0] if result[0] is not None else _dt.get_default_dtype()


def _numpy_scalar_dtype(data: Any) -> _dt.dtype | None:
    """The dtype PyTorch infers for data holding NumPy scalars or only Python ints, or None (the
    host's own inference then applies).

    PyTorch gives a NumPy scalar its own dtype (``tensor(np.float64(1))`` is float64, a list of
    ``np.int32`` is int32) and promotes it with the Python numbers beside it (each at its default
    dtype), where NumPy's ``array()`` would read every float as float64 and the default dtype then
    applies. Each nesting level is scanned by type at C speed; numbers are not visited one by one."""
    if isinstance(data, _np.generic):
        if data.dtype.kind in "US":  # a NumPy string: PyTorch's invalid data type
            raise TypeError(f"new(): invalid data type '{_tp_name(data)}'")
        return _numpy_dtype(data.dtype)
    kinds: set = set()
    stack = [data]
    while stack:
        seq = stack.pop()
        types = set(map(type, seq))
        kinds |= types
        if types & {list, tuple}:
            stack.extend(v for v in seq if v.__class__ in (list, tuple))
    scalars = [t for t in kinds if issubclass(t, _np.generic)]
    if not scalars:
        # only Python ints (and bools): int64 said outright, so one beyond its range is PyTorch's
        # overflow error instead of NumPy's silent switch to uint64 or float64
        return _dt.int64 if int in kinds and kinds <= {int, bool, list, tuple} else None
    result = None
    for t in kinds:
        if issubclass(t, _np.generic):
            d = _numpy_dtype(_np.dtype(t))
        elif t in _PYTHON_NUMBERS:
            d = _PYTHON_NUMBERS[t]
        elif t is float:
            d = _dt.get_default_dtype()
        elif t is complex:
            d = _dt.default_complex_dtype()
        else:  # nested sequences, tensors: their numbers were counted at their own level
            continue
        result = d if result is None else _dt.promote_types(result, d)
    return result


@_dtype_param
def scalar_tensor(value: Any, *, dtype: _dt.dtype | None = None, layout: Any = None, device: Any = None,
                  pin_memory: bool | None = None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor of ``value`` in ``dtype`` (the default float dtype unless given), PyTorch's
    keyword-only signature."""
    if pin_memory:
        _extras("scalar_tensor", {"pin_memory": True}, _RANGED)
    if isinstance(value, (int, float, bool, complex)):  # a Scalar argument: checked as ``full`` checks it
        out = full((), value, dtype=dtype or _dt.get_default_dtype(), device=device)
    else:
        out = tensor(value, dtype=dtype or _dt.get_default_dtype(), device=device)
    return _finish(out, requires_grad)


@_dtype_param
def as_tensor(data: Any, *, dtype: _dt.dtype | None = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    if isinstance(data, Tensor):
        return data.to(device=device if device is not None else data.device, dtype=dtype or data.dtype)
    host = _host()
    if isinstance(data, host.array_types):
        if dtype is not None and isinstance(data, _np.ndarray) and data.dtype.kind == "u" and data.itemsize > 1:
            return tensor(data, dtype=dtype, device=device)  # uint16/32/64: no ember dtype to share, a copy
        t = from_numpy(data)
        if dtype is not None and dtype is not t.dtype:
            t = t.to(dtype)
        return t.to(device) if device is not None else t
    return tensor(data, dtype=dtype, device=device)


def _scalar_type_name(d: Any) -> str:
    """PyTorch's ``ScalarType`` name of a dtype (``Float``, ``Long``...), as its alias errors print it."""
    from ember.tensor import _TYPE_NAMES

    name = _TYPE_NAMES.get(d)
    return name[: -len("Tensor")] if name else str(d)


def _alias_source(obj: Any, dtype: _dt.dtype | None, copy: bool | None) -> Tensor | None:
    """The tensor ``asarray`` may alias: ``obj`` itself, a NumPy array's or buffer's memory, a DLPack
    producer's; None for sequences and Python numbers, which are always copied."""
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, _np.ndarray):
        if dtype is not None and obj.dtype.kind == "u" and obj.itemsize > 1:  # no ember uint16/32/64 to alias
            if copy is False:
                raise ValueError(f"can't alias tensor with dtype 'UInt{obj.itemsize * 8}' into dtype "
                                 f"'{_scalar_type_name(dtype)}'.")
            return tensor(obj, dtype=dtype)
        return from_numpy(obj)
    if isinstance(obj, _np.generic):
        if copy is False:
            raise RuntimeError("can't alias NumPy scalars. Either remove copy=False or transform it in a ndarray. ")
        return from_numpy(_np.asarray(obj))
    if hasattr(obj, "__dlpack__") and hasattr(obj, "__dlpack_device__"):
        return from_dlpack(obj)
    if not isinstance(obj, (list, tuple, str, int, float, complex)):
        try:
            memoryview(obj)
        except TypeError:
            return None
        from ember.functions.torch_surface import frombuffer

        return frombuffer(obj, dtype=dtype or _dt.get_default_dtype())
    return None


@_dtype_param
def asarray(obj: Any, *, dtype: _dt.dtype | None = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool | None = None) -> Tensor:
    """``obj`` as a tensor, sharing memory with it (a tensor, NumPy array, buffer or DLPack producer)
    unless ``copy=True`` or another ``dtype``/``device`` needs a copy; ``copy=False`` makes that a
    ValueError instead. Sequences and numbers are always copied. As PyTorch 2.13's ``asarray``, the
    result keeps ``obj``'s ``requires_grad`` (a copy is differentiable) unless one is given, which
    is then set on a leaf alias of ``obj`` in place, or detaches a non-leaf.

    Example:
        >>> import numpy as np
        >>> a = np.zeros(3)
        >>> ember.asarray(a).fill_(7.0)
        tensor([7., 7., 7.], dtype=ember.float64)
        >>> a
        array([7., 7., 7.])
    """
    t = _alias_source(obj, dtype, copy)
    if t is None:
        if copy is False:
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        return _finish(tensor(obj, dtype=dtype, device=device), bool(requires_grad))
    dev = dispatch.canonical_device(device) if device is not None else t.device
    wrong_dev, wrong_dt = dev != t.device, dtype is not None and dtype is not t.dtype
    if requires_grad is None and t.requires_grad:
        import warnings

        warnings.warn("torch.asarray: unspecified requires_grad now defaults to obj.requires_grad instead of "
                      "False. Pass requires_grad=False explicitly to get the old behavior and silence this "
                      "warning.", UserWarning, stacklevel=2)
    if copy or (copy is None and (wrong_dev or wrong_dt)):
        # differentiable, as PyTorch's clone/to
        t = t.to(device=dev, dtype=dtype or t.dtype, copy=True) if wrong_dev or wrong_dt else t.clone()
    elif wrong_dev:
        raise ValueError(f"can't alias tensor from device '{t.device}' to '{dev}'.")
    elif wrong_dt:
        raise ValueError(f"can't alias tensor with dtype '{_scalar_type_name(t.dtype)}' into dtype "
                         f"'{_scalar_type_name(dtype)}'.")
    if requires_grad is None or requires_grad == t.requires_grad:
        return t
    if not t.is_leaf:  # requires_grad=False on a result: its detached alias
        return t.detach()
    # a leaf's flag is set in place, on an alias of the caller's tensor too (PyTorch does the same)
    return _finish(t, True) if requires_grad else t.requires_grad_(False)


def _check_strides(array: _np.ndarray) -> None:
    if any(st < 0 for st in array.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors with negative "
                         "strides are not currently supported. (You can probably work around this by making a copy "
                         "of your array  with array.copy().) ")


def from_numpy(array: Any) -> Tensor:
    """A CPU tensor sharing memory with the NumPy array (writes show through both ways)."""
    if not isinstance(array, _np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    if type(array) is not _np.ndarray:
        # A subclass (np.matrix, a masked array, memmap) as its plain memory, as PyTorch reads it: kept as
        # the tensor's data, a masked array would drop masked values from sums and a matrix stay 2-D.
        array = array.view(_np.ndarray)
    _check_strides(array)
    _numpy_dtype(array.dtype)  # PyTorch's TypeError for a dtype ember lacks
    if not array.flags.writeable:
        import warnings

        warnings.warn("The given NumPy array is not writable, and PyTorch does not support non-writable tensors. "
                      "This means writing to this tensor will result in undefined behavior. You may want to copy "
                      "the array to protect its data or make it writable before converting it to a tensor. This "
                      "type of warning will be suppressed for the rest of this program.", UserWarning, stacklevel=2)
    return _wrap_array(array)


def _wrap_array(array: _np.ndarray) -> Tensor:
    """A CPU tensor over ``array``'s memory, unchecked (``frombuffer`` warns about read-only memory itself)."""
    arr, dt = _host().from_object(array, None, copy=False)
    dev, kt = _resolve("cpu")
    return Tensor._make(arr, dt, dev, kt)


def from_dlpack(obj: Any) -> Tensor:
    """Wrap any ``__dlpack__`` producer; zero-copy when a backend's ``from_dlpack`` hook takes it."""
    dev_type, dev_index = _dlpack_device(obj)
    kt = dispatch.table(dev_type)
    fn = kt.get("from_dlpack") if kt.has("from_dlpack") else None
    if fn is None:
        raise RuntimeError(f"the {dev_type} backend cannot import DLPack tensors (it has no from_dlpack hook); "
                           f"got a {type(obj).__name__} on DLPack device {dev_type}:{dev_index}")
    data, dt = fn(obj)
    dev = dispatch.canonical_device(f"{dev_type}:{dev_index}")  # "cpu:0" is the cpu
    return Tensor._make(data, dt, dev, kt)


def _dlpack_device(obj: Any) -> tuple[str, int]:
    """``(ember device type, index)`` of a DLPack producer: the registered backend that declares
    the producer's DLPack device code in ``Backend.dlpack_device_types`` imports it."""
    if not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"from_dlpack expects an object with __dlpack__/__dlpack_device__, got {type(obj).__name__}")
    kind, index = obj.__dlpack_device__()
    kind = int(kind)
    for dev_type in plugins.device_types():
        be = plugins.backend(dev_type)
        if be is not None and kind in be.dlpack_device_types:
            return dev_type, int(index)
    raise RuntimeError(f"unsupported DLPack device type {kind}: no registered backend imports it (a backend "
                       f"declares the DLPack device codes it imports in Backend.dlpack_device_types; registered "
                       f"device types: {', '.join(plugins.device_types()) or 'none'})")


def _sparse_layout(kw: dict, like: Tensor | None = None) -> bool:
    """Does a factory's ``layout=`` (or, for ``*_like``, the input's layout) ask for a sparse COO tensor?
    Only reached when keyword arguments beyond the usual ones were given (or for a sparse input)."""
    from ember.functions.layout import layout, sparse_coo, strided

    lay = kw.get("layout")
    if lay is None:
        return like is not None and like.is_sparse
    if lay is sparse_coo:
        return True
    if lay is not strided:
        raise TypeError(f"argument 'layout' must be ember.layout (ember.strided or ember.sparse_coo), not "
                        f"{type(lay).__name__ if not isinstance(lay, layout) else lay}")
    return False


def _sparse_empty(shape: tuple, dtype: _dt.dtype | None, device: Any, requires_grad: bool) -> Tensor:
    from ember.sparse._coo import sparse_coo_tensor

    return sparse_coo_tensor(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def _no_sparse_fill(kw: dict, like: Tensor | None = None) -> None:
    """``ones``/``full`` (and their ``_like`` forms) have no sparse result: PyTorch's errors."""
    if not (kw or like is not None and like.is_sparse) or not _sparse_layout(kw, like):
        return
    if like is None:
        raise RuntimeError("full(...) is not implemented for sparse layout")
    from ember.sparse._coo import _unsupported

    raise _unsupported("fill_", like.device)


@_dtype_param
def empty(*size: Any, dtype: _dt.dtype | None = None, device: Any = None, requires_grad: bool = False,
          **_kw: Any) -> Tensor:
    if _kw:
        size, out = _sized_extras("empty", size, _kw, _EMPTY)
        if _sparse_layout(_kw):
            return _sparse_empty(_size(size), dtype, device, requires_grad)
        if _kw.get("memory_format") is not None:
            from ember.functions.layout import check_memory_format

            check_memory_format(len(_size(size)), _kw["memory_format"], "empty")
        if out is not None:
            return _into_out("empty", out, dtype, device, lambda dt, dev: empty(*size, dtype=dt, device=dev))
    dt = dtype or _dt.get_default_dtype()
    dev, kt = _resolve(device, dt)
    shape = _size(size, "empty")
    return _finish(Tensor._make(kt["empty"](shape, dt, dev.index), dt, dev, kt), requires_grad)


@_dtype_param
def full(size: Sequence[int], fill_value: Any, dtype: _dt.dtype | None = None, device: Any = None,
         requires_grad: bool = False, **_kw: Any) -> Tensor:
    if _kw:
        out = _extras("full", _kw, _RANGED)
        _no_sparse_fill(_kw)
        if out is not None:
            return _into_out("full", out, dtype, device, lambda dt, dev: full(size, fill_value, dtype=dt, device=dev))
    if not isinstance(size, (tuple, list)):  # PyTorch's IntArrayRef: a bare int is not a size
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {_tp_name(size)}")
    if isinstance(fill_value, Tensor):
        fill_value = _fill_tensor(fill_value, "full")
    elif fill_value.__class__ not in _PY_SCALARS:
        fill_value = _fill_number(fill_value)
    dt = dtype or _dt.scalar_dtype(fill_value)
    fill_value = checked_scalar(fill_value, dt)
    dev, kt = _resolve(device, dt)
    shape = _size((tuple(size),), "full")
    return _finish(Tensor._make(kt["full"](shape, fill_value, dt, dev.index), dt, dev, kt), requires_grad)


_PY_SCALARS = frozenset((int, float, bool, complex))


def _fill_tensor(value: Tensor, name: str) -> Any:
    """A tensor ``fill_value`` as PyTorch's Number argument takes it: only a 0-d one, as its number."""
    if value.dim() != 0:
        raise TypeError(f"{name}(): argument 'fill_value' (position 2) must be Number, not Tensor")
    return value.item()


def _fill_number(value: Any, name: str = "full") -> Any:
    """``full``'s ``fill_value`` as PyTorch's Number argument reads it: a NumPy integer is an int
    (an int64 result), any other NumPy number goes through ``float`` (np.bool_ and np.complex64
    give the default float dtype, as in PyTorch); anything else is its TypeError."""
    if isinstance(value, (bool, int, float, complex)):
        return value
    if isinstance(value, _np.integer):
        return int(value)
    if isinstance(value, (_np.bool_, _np.floating, _np.complexfloating)):
        return float(value)
    raise TypeError(f"{name}(): argument 'fill_value' (position 2) must be Number, not {_tp_name(value)}")


@_dtype_param
def zeros(*size: Any, dtype: _dt.dtype | None = None, device: Any = None, requires_grad: bool = False,
          **_kw: Any) -> Tensor:
    if _kw:
        size, out = _sized_extras("zeros", size, _kw)
        if _sparse_layout(_kw):
            return _sparse_empty(_size(size), dtype, device, requires_grad)
        if out is not None:
            return _into_out("zeros", out, dtype, device, lambda dt, dev: full(_size(size, "zeros"), 0, dtype=dt, device=dev))
    return full(_size(size, "zeros"), 0, dtype=dtype or _dt.get_default_dtype(), device=device, requires_grad=requires_grad)


@_dtype_param
def ones(*size: Any, dtype: _dt.dtype | None = None, device: Any = None, requires_grad: bool = False,
         **_kw: Any) -> Tensor:
    if _kw:
        size, out = _sized_extras("ones", size, _kw)
        _no_sparse_fill(_kw)
        if out is not None:
            return _into_out("ones", out, dtype, device, lambda dt, dev: full(_size(size, "ones"), 1, dtype=dt, device=dev))
    return full(_size(size, "ones"), 1, dtype=dtype or _dt.get_default_dtype(), device=device, requires_grad=requires_grad)


def _like(t: Tensor, dtype: _dt.dtype | None, device: Any, kw: dict | None = None, name: str = "empty_like") -> tuple:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {_tp_name(t)}")
    if kw:
        _extras(name, kw, _LIKE)
    if kw and kw.get("memory_format") is not None:  # PyTorch's checks; the layout stays C order
        from ember.functions.layout import check_memory_format

        check_memory_format(t.dim(), kw["memory_format"], "empty_like")
    return tuple(t.shape), dtype or t.dtype, t.device if device is None else device


@_dtype_param
def empty_like(t: Tensor, *, dtype: _dt.dtype | None = None, device: Any = None, requires_grad: bool = False,
               **_kw: Any) -> Tensor:
    shape, dt, dev = _like(t, dtype, device, _kw)
    if (_kw or t.is_sparse) and _sparse_layout(_kw, t):
        return _sparse_empty(shape, dt, dev, requires_grad)
    return empty(shape, dtype=dt, device=dev, requires_grad=requires_grad)


@_dtype_param
def zeros_like(t: Tensor, *, dtype: _dt.dtype | None = None, device: Any = None, requires_grad: bool = False,
               **_kw: Any) -> Tensor:
    shape, dt, dev = _like(t, dtype, device, _kw, "zeros_like")
    if (_kw or t.is_sparse) and _sparse_layout(_kw, t):
        return _sparse_empty(shape, dt, dev, requires_grad)
    return full(shape, 0, dtype=dt, device=dev, requires_grad=requires_grad)


@_dtype_param
def ones_like(t: Tensor, *, dtype: _dt.dtype | None = None, device: Any = None, requires_grad: bool = False,
              **_kw: Any) -> Tensor:
    shape, dt, dev = _like(t, dtype, device, _kw, "ones_like")
    _no_sparse_fill(_kw, t)
    return full(shape, 1, dtype=dt, device=dev, requires_grad=requires_grad)


@_dtype_param
def full_like(t: Tensor, fill_value: Any, *, dtype: _dt.dtype | None = None, device: Any = None,
              requires_grad: bool = False, **_kw: Any) -> Tensor:
    shape, dt, dev = _like(t, dtype, device, _kw, "full_like")
    _no_sparse_fill(_kw, t)
    if isinstance(fill_value, Tensor):
        fill_value = _fill_tensor(fill_value, "full_like")
    elif not isinstance(fill_value, (bool, int, float, complex)):
        fill_value = _fill_number(fill_value, "full_like")
    return full(shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


@_dtype_param
def arange(start: Any = None, end: Any = None, step: Any = 1, *, dtype: _dt.dtype | None = None, device: Any = None,
           requires_grad: bool = False, **_kw: Any) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` by ``step``."""
    if _kw:
        out = _extras("arange", _kw, _RANGED)
        if out is not None:
            return _into_out("arange", out, dtype, device,
                             lambda dt, dev: arange(start, end, step, dtype=dt, device=dev), ranged=True)
    if dtype is not None and dtype.is_complex:  # PyTorch's arange kernel has no complex instance
        from ember.functions.complex_ops import type_word

        raise NotImplementedError(f'"arange_{dispatch.canonical_device(device).type}" not implemented for '
                                  f"'{type_word(dtype)}'")
    if end is None:
        if start is None:
            raise TypeError('arange() missing 1 required positional arguments: "end"')
        start, end = 0, start
    elif start is None:  # ``arange(end=4)``
        start = 0
    start, end, step = (_real_bound(v.item() if isinstance(v, Tensor) else v) for v in (start, end, step))
    has_float = any(isinstance(v, float) for v in (start, end, step))
    int_dtype = dtype is not None and dtype.category == _dt._INT
    # an integer dtype with float bounds checks its length after truncating (_int_arange)
    _check_range_bounds(start, end, step, length=not (int_dtype and has_float))
    if step == 0 or step != step:  # PyTorch's "step > 0 || step < 0": NaN is refused too
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = _dt.get_default_dtype() if has_float else _dt.int64
    _refuse_bool_range("arange", dtype, device)
    if int_dtype and has_float:
        return _finish(_int_arange(start, end, step, dtype, device), requires_grad)
    dev, kt = _resolve(device, dtype)
    return _finish(Tensor._make(kt["arange"](start, end, step, dtype, dev.index), dtype, dev, kt), requires_grad)


def _real_bound(v: Any) -> Any:
    """A complex range bound as PyTorch reads it, a double: its real part when the imaginary part
    is 0, else its checked conversion's error. A NumPy scalar counts as the Python number it holds
    (``np.float32(0.5)`` is a float bound: the range is floating, as PyTorch's)."""
    if isinstance(v, _np.generic):
        v = v.item()
    if isinstance(v, complex):
        if v.imag != 0:
            raise RuntimeError("value cannot be converted to type double without overflow")
        return v.real
    return v


def _complex_ends(name: str, start: Any, end: Any, dtype: _dt.dtype | None) -> _dt.dtype | None:
    """The complex dtype linspace/logspace fill where an end is complex (a Python complex or a
    complex tensor): the default complex dtype, or ``dtype`` if complex; PyTorch refuses a real one."""
    if not any(isinstance(v, complex) or (isinstance(v, Tensor) and v.dtype.is_complex) for v in (start, end)):
        return None
    inferred = _dt.default_complex_dtype()
    if dtype is None or dtype.is_complex:
        return dtype or inferred
    from ember.functions.elementwise import _CAN_CAST_NAMES

    cname = "c10::complex<float>" if inferred is _dt.complex64 else "c10::complex<double>"
    raise RuntimeError(f"torch.{name}(): inferred dtype {cname} can't be safely cast to passed dtype "
                       f"{_CAN_CAST_NAMES[dtype]}")


def _complex_linspace(start: Any, end: Any, steps: int, dtype: _dt.dtype, device: Any) -> Tensor:
    """PyTorch's complex linspace: ``start + step * i`` from the start, ``end - step * (steps - 1 - i)``
    from the end, with ``step = (end - start) / (steps - 1)``; a complex step times an integer index
    scales both parts, so each part is the real linspace of its parts, in the parts' dtype."""
    from ember.functions.complex_ops import complex as make_complex

    start, end = (complex(v.item() if isinstance(v, Tensor) else v) for v in (start, end))
    part = _dt.float32 if dtype is _dt.complex64 else _dt.float64
    re = linspace(start.real, end.real, steps, dtype=part, device=device)
    im = linspace(start.imag, end.imag, steps, dtype=part, device=device)
    return make_complex(re, im)


def _to_int64(v: Any) -> int:
    """A bound as PyTorch's Scalar.to<int64_t>(): truncated toward zero, refused past int64."""
    v = math.trunc(v) if math.isfinite(v) else math.inf
    if not -2**63 <= v < 2**63:
        raise RuntimeError("value cannot be converted to type int64_t without overflow")
    return v


def _int_arange(start: Any, end: Any, step: Any, dtype: _dt.dtype, device: Any) -> Tensor:
    """arange of an integer dtype with float bounds, as PyTorch's kernel: the values are
    ``trunc(start) + i * trunc(step)`` in int64, cast (wrapping) to ``dtype``. int64 counts them from
    the truncated bounds (``arange(3.5) -> [0, 1, 2]``, a truncated step of 0 is a ValueError); the
    narrower types count them in float64 from the original bounds (``arange(0, 10, 2.5) -> [0, 2, 4, 6]``)."""
    if dtype is _dt.int64:
        istart, iend, istep = _to_int64(start), _to_int64(end), _to_int64(step)
        if istep == 0:
            raise ValueError("step must be nonzero")
        # C's truncating division; the quotient is never negative (the bounds agree with the sign)
        n = (iend - istart + istep - (1 if istep > 0 else -1)) // istep
    else:
        n = math.ceil((float(end) - float(start)) / float(step))
        if n >= 2**63:
            raise RuntimeError("invalid size, possible overflow?")
        istart, istep = _to_int64(start), _to_int64(step)
    out = arange(n, device=device)
    if istep != 1:
        out = out * istep
    if istart:
        out = out + istart
    return out if dtype is _dt.int64 else out.to(dtype)


def _check_range_bounds(start: Any, end: Any, step: Any, length: bool = True) -> None:
    """arange's bounds as PyTorch checks them: integers must fit int64, float bounds must be finite,
    and (``length``) the length must fit in memory arithmetic."""
    for v in (start, end, step):
        if isinstance(v, int) and not -2**63 <= v < 2**63:
            if not -2**64 < v < 2**64:
                raise OverflowError("int too big to convert")
            raise RuntimeError("value cannot be converted to type int64_t without overflow")
    if any(isinstance(v, float) and not math.isfinite(v) for v in (start, end)):
        def show(v: Any) -> str:
            return format(v, "g") if isinstance(v, float) else str(v)
        raise RuntimeError(f"unsupported range: {show(start)} -> {show(end)}")
    if length and step != 0:
        size = math.ceil((float(end) - float(start)) / float(step)) if math.isfinite(float(step)) else 0
        if size >= 2**63:
            raise RuntimeError("invalid size, possible overflow?")


@_dtype_param
def linspace(start: float, end: float, steps: int, *, dtype: _dt.dtype | None = None, device: Any = None,
             requires_grad: bool = False, **_kw: Any) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (symmetric, like PyTorch)."""
    if _kw:
        out = _extras("linspace", _kw, _RANGED)
        if out is not None:
            return _into_out("linspace", out, dtype, device,
                             lambda dt, dev: linspace(start, end, steps, dtype=dt, device=dev), ranged=True)
    _check_0d_ends("linspace", start, end)
    if not hasattr(steps, "__index__"):  # a float count would silently become a different length
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    steps = steps.__index__()
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    complex_dtype = _complex_ends("linspace", start, end, dtype)
    if complex_dtype is not None or (dtype is not None and dtype.is_complex):
        return _finish(_complex_linspace(start, end, steps, complex_dtype or dtype, device), requires_grad)
    dtype = dtype or _dt.get_default_dtype()
    if steps > 1:  # PyTorch fills 0 or 1 bool steps (start) but has no bool range kernel
        _refuse_bool_range("linspace", dtype, device)
    idx = arange(steps, dtype=_dt.float64 if _supports64(device) else _dt.float32, device=device)
    if steps == 1:
        out = full((1,), start, dtype=dtype, device=device)
    else:
        if dtype.category == _dt._INT and steps > 1:
            # PyTorch's integer kernel converts the ends to the dtype first (checked: 300 does not
            # fit uint8, -1 wraps to 255; -3.7 -> -3), then fills in float64 and truncates
            start, end = (checked_scalar(v.item() if isinstance(v, Tensor) else v, dtype) for v in (start, end))
        step = (end - start) / (steps - 1)
        if dtype is _dt.float32:
            # PyTorch's float kernel rounds start, end and the step to float32 first, then fills each
            # value with one fused multiply-add (the float64 arithmetic below, rounded once)
            start, end = _round_f32(start), _round_f32(end)
            step = _round_f32(_round_f32(end - start) / (steps - 1))
        half = steps // 2
        # PyTorch fills the first half from the start and the second from the end.
        from ember.functions.elementwise import where

        if dtype is _dt.float16 or dtype is _dt.bfloat16:
            # PyTorch's kernel computes in the 16-bit type itself: start, end, (end - start) / (steps - 1)
            # and each ``start + step * i`` (or ``end - step * (steps - 1 - i)``) rounded op by op, the
            # index converted to the type first (c10's Half/BFloat16 operators with an integer)
            s, e = (full((), _round_f32(v), dtype=dtype, device=device) for v in (start, end))
            step16 = (e - s) / full((), steps - 1, dtype=dtype, device=device)
            out = where(idx < half, s + step16 * idx.to(dtype), e - step16 * (steps - 1 - idx).to(dtype))
        else:
            out = where(idx < half, idx * step + start, end - (steps - 1 - idx) * step)
        out = out.to(dtype)
    return _finish(out, requires_grad)


def _check_0d_ends(name: str, start: Any, end: Any) -> None:
    """PyTorch's check that tensor ends of linspace/logspace are 0-d (a one-element 1-d tensor too
    is refused, where ``item()`` would take it)."""
    dims = [(w, v.dim()) for w, v in (("start", start), ("end", end)) if isinstance(v, Tensor)]
    if any(d for _, d in dims):
        got = " and ".join(f"{w} with {d} dimension(s)" for w, d in dims)
        raise RuntimeError(f"{name} only supports 0-dimensional start and end tensors, but got {got}.")


def _round_f32(x: float) -> float:
    """``x`` rounded to the nearest float32 (exact for one float64 op on float32 operands)."""
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def _refuse_bool_range(name: str, dtype: _dt.dtype, device: Any) -> None:
    """PyTorch has no bool arange/linspace/logspace: the same NotImplementedError on every device."""
    if dtype is _dt.bool_:
        dev = dispatch.canonical_device(device)
        raise NotImplementedError(f'"{name}_{dev.type}" not implemented for \'Bool\'')


def _supports64(device: Any) -> bool:
    dev = dispatch.canonical_device(device)
    if dev.type == "cpu":
        return True
    return _dt.float64 in dispatch.table(dev.type).backend.supported_dtypes(dev.index)


@_dtype_param
def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: _dt.dtype | None = None,
             device: Any = None, requires_grad: bool = False, **_kw: Any) -> Tensor:
    from ember.functions.elementwise import pow as _pow

    if _kw:
        out = _extras("logspace", _kw, _RANGED)
        if out is not None:
            return _into_out("logspace", out, dtype, device,
                             lambda dt, dev: logspace(start, end, steps, base, dtype=dt, device=dev), ranged=True)

    _check_0d_ends("logspace", start, end)
    dtype = _complex_ends("logspace", start, end, dtype) or dtype or _dt.get_default_dtype()
    if steps > 1:
        _refuse_bool_range("logspace", dtype, device)
    if dtype.category == _dt._INT:
        start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
        if steps == 1:  # PyTorch fills base ** start, checked as any fill
            return _finish(full((1,), float(base) ** float(start), dtype=dtype, device=device), requires_grad)
        if steps > 1:
            # PyTorch's integer kernel converts the ends to the dtype (checked, truncated) and the base
            # to float32; the exponents between them stay fractional
            start, end = checked_scalar(start, dtype), checked_scalar(end, dtype)
            base = _round_f32(base)
    # exponents in floating point whatever the result dtype (int exponents would be truncated first)
    # (a complex dtype fills complex exponents: PyTorch's pow(complex(base), start + step * i))
    work = dtype if dtype.is_floating_point or dtype.is_complex else _dt.float64 if _supports64(device) else _dt.float32
    if dtype in (_dt.bfloat16, _dt.float16):  # PyTorch computes 16-bit results in float32 and rounds once
        work = _dt.float32
    out = _pow(base, linspace(start, end, steps, dtype=work, device=device))
    return _finish(out if out.dtype is dtype else out.to(dtype), requires_grad)


@_dtype_param
def eye(n: int, m: int | None = None, *, dtype: _dt.dtype | None = None, device: Any = None,
        requires_grad: bool = False, **_kw: Any) -> Tensor:
    if _kw:
        out = _extras("eye", _kw, _RANGED)
        if out is not None:
            return _into_out("eye", out, dtype, device, lambda dt, dev: eye(n, m, dtype=dt, device=dev))
    m = n if m is None else m
    rows = arange(n, device=device).reshape(n, 1)
    cols = arange(m, device=device).reshape(1, m)
    return _finish((rows == cols).to(dtype or _dt.get_default_dtype()), requires_grad)


# ---- random --------------------------------------------------------------------------------
def _gen(generator, device: Any = None):
    """The generator to draw from; as PyTorch, an explicit one must be made for the device type drawn on."""
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"expected a torch.Generator, but got {type(generator).__name__}")
    want = "cpu" if device is None else getattr(device, "type", None) or _device_type(device)
    if generator.device.type != want:
        raise RuntimeError(f"Expected a '{want}' device type for generator but found '{generator.device.type}'")
    return generator


def _kernel_refusal(kernel: str, dt: _dt.dtype) -> NotImplementedError:
    """PyTorch's error for a dtype a sampling kernel has no instance for."""
    from ember.functions.indexing import _scalar_type

    return NotImplementedError(f"\"{kernel}\" not implemented for '{_scalar_type(dt)}'")


def _cpp_type(dt: _dt.dtype) -> str:
    """The C++ element type PyTorch's bounds messages print (``long int``, ``c10::Half``)."""
    from ember.tensor import _CPP_TYPE

    return _CPP_TYPE.get(dt.name, {"uint16": "unsigned short", "uint32": "unsigned int",
                                   "uint64": "unsigned long"}.get(dt.name, dt.name))


def _arg_type(v: Any) -> str:
    """A value's type as PyTorch's argument parser names it in an invalid-combination error."""
    if isinstance(v, Tensor):
        return "Tensor"
    if isinstance(v, Generator):
        return "torch._C.Generator"
    if isinstance(v, _dt.dtype):
        return "torch.dtype"
    from ember.device import device as _device

    if isinstance(v, _device):
        return "torch.device"
    return "torch.layout" if type(v).__name__ == "layout" else type(v).__name__


def _invalid_combination(name: str, args: tuple, kwargs: dict, signatures: str = "") -> TypeError:
    """PyTorch's TypeError when no overload of ``name`` takes these arguments."""
    got = ", ".join(_arg_type(a) for a in args)
    if kwargs:  # each keyword followed by ", " when no positional came first
        kws = [f"{k}={_arg_type(v)}" for k, v in reversed(kwargs.items())]  # PyTorch's order: last given first
        got = f"{got}, {', '.join(kws)}" if args else "".join(f"{k}, " for k in kws)
    return TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected one of:"
                     + signatures)


def _device_type(device: Any) -> str:
    from ember.device import device as _device

    return _device(device).type


def _complex_random(fn: Any, size: tuple, generator: Any, dt: _dt.dtype, device: Any, scale: float) -> Tensor:
    """A complex random tensor: ``fn`` draws its real and imaginary parts in the real dtype."""
    from ember.functions.complex_ops import view_as_complex

    dev, _ = _resolve(device, dt)  # a device without complex dtypes refuses here
    parts = fn(*_size(size), 2, generator=generator, dtype=_dt.to_real(dt), device=dev)
    return view_as_complex(parts * scale if scale != 1.0 else parts)


@_dtype_param
def rand(*size: Any, generator=None, dtype: _dt.dtype | None = None, device: Any = None,
         requires_grad: bool = False, **_kw: Any) -> Tensor:
    """Uniform samples in [0, 1) (for a complex dtype: the real and imaginary parts each)."""
    if _kw:
        size, out = _sized_extras("rand", size, _kw)
        if out is not None:
            return _into_out("rand", out, dtype, device,
                             lambda dt, dev: rand(*size, generator=generator, dtype=dt, device=dev))
    dt = dtype or _dt.get_default_dtype()
    if dt.is_complex:
        return _finish(_complex_random(rand, size, generator, dt, device, 1.0), requires_grad)
    if not dt.is_floating_point:  # PyTorch's rand is empty().uniform_(): its bounds check refuses the dtype
        raise _kernel_refusal("check_uniform_bounds", dt)
    dev, kt = _resolve(device, dt)
    shape = _size(size, "rand")
    key, off = _gen(generator, dev)._take(math.prod(shape))
    return _finish(Tensor._make(kt["rand_uniform"](shape, key, off, dt, dev.index), dt, dev, kt), requires_grad)


@_dtype_param
def randn(*size: Any, generator=None, dtype: _dt.dtype | None = None, device: Any = None,
          requires_grad: bool = False, **_kw: Any) -> Tensor:
    """Standard normal samples (for a complex dtype: E|z|^2 = 1, each part of variance 1/2, as PyTorch)."""
    if _kw:
        size, out = _sized_extras("randn", size, _kw)
        if out is not None:
            return _into_out("randn", out, dtype, device,
                             lambda dt, dev: randn(*size, generator=generator, dtype=dt, device=dev))
    dt = dtype or _dt.get_default_dtype()
    if dt.is_complex:
        return _finish(_complex_random(randn, size, generator, dt, device, math.sqrt(0.5)), requires_grad)
    dev, kt = _resolve(device, dt)
    shape = _size(size, "randn")
    if not dt.is_floating_point:  # empty().normal_(): the kernel refuses the dtype, unless there is nothing to fill
        if math.prod(shape):
            raise _kernel_refusal(f"normal_kernel_{dev.type}", dt)
        return _finish(zeros(shape, dtype=dt, device=dev), requires_grad)
    key, off = _gen(generator, dev)._take(2 * math.prod(shape))
    return _finish(Tensor._make(kt["rand_normal"](shape, key, off, dt, dev.index), dt, dev, kt), requires_grad)


_RANDINT_SIGNATURES = "".join(
    f"\n * ({form}, *, {gen}Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
    "torch.device device = None, bool pin_memory = False, bool requires_grad = False)"
    for form in ("int high, tuple of ints size", "int low, int high, tuple of ints size")
    for gen in ("torch.Generator generator, ", "")) + "\n"
_INT64_LIMIT = 1 << 63


@_dtype_param
def randint(*args: Any, generator=None, dtype: _dt.dtype | None = None, device: Any = None,
            requires_grad: bool = False, **kwargs: Any) -> Tensor:
    """Integers in [low, high), PyTorch's two forms: ``randint(high, size)`` and
    ``randint(low, high, size)``, each argument positional or keyword (``randint(high=10, size=(3,))``).
    The dtype defaults to int64; a floating dtype holds the integers."""
    low, high, size = _randint_args(args, kwargs, generator)
    out = _extras("randint", {k: v for k, v in kwargs.items() if k not in ("low", "high", "size")},
                  _RANGED) if kwargs else None
    if out is not None:
        kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        return _into_out("randint", out, dtype, device,
                         lambda dt, dev: randint(*args, generator=generator, dtype=dt, device=dev, **kwargs))
    dt = dtype or _dt.int64
    _check_randint_range(low, high, dt)
    shape = _size((tuple(size),), "randint")
    return _finish(_randint_sample(low, high, tuple(shape), generator, dt, device), requires_grad)


def _randint_sample(low: int, high: int, shape: tuple, generator: Any, dt: _dt.dtype, device: Any) -> Tensor:
    """Integers in [low, high) drawn by the backend's kernel, past the argument parser: ``random_()``
    of an int64 tensor needs high = 2**63, which ``randint``'s int64 arguments cannot spell."""
    gen_dt = _dt.int64 if dt.category != _dt.int64.category else dt  # floats and bool hold int64 draws
    dev, kt = _resolve(device, gen_dt)
    key, off = _gen(generator, dev)._take(math.prod(shape))
    out = Tensor._make(kt["rand_int"](shape, low, high, key, off, gen_dt, dev.index), gen_dt, dev, kt)
    return out if gen_dt is dt else out.to(dt)


def _randint_args(args: tuple, kwargs: dict, generator: Any = None, name: str = "randint",
                  lead: tuple = (), signatures: str = _RANDINT_SIGNATURES) -> tuple:
    """(low, high, size) from PyTorch's overloads (high, size) and (low, high, size), with the errors
    of PyTorch's argument parser: a wrong type in the short form names the argument (and its position
    when positional), in the long form it is an invalid combination, as is any other arity."""
    # Three arguments in all (positional or keyword) are (low, high, size); fewer are PyTorch's short
    # form (high, size). Positional ones fill that form from the left.
    named = ("low", "high", "size") if name == "randint" else ("low", "high")
    total = len(args) + sum(k in kwargs for k in named)
    names = named if total == len(named) else named[1:]
    unknown = set(kwargs) - set(named) - {"layout", "pin_memory", "out", "memory_format"}

    def combination() -> TypeError:
        kw = dict(kwargs, **({"generator": generator} if generator is not None else {}))
        return _invalid_combination(name, lead + args, kw, signatures)

    if unknown or len(args) > len(named) or (generator is not None and not isinstance(generator, Generator)):
        raise combination()
    given = dict(zip(names, args))
    for k in given:
        if k in kwargs:
            raise TypeError(f"{name}() got multiple values for argument '{k}'")
    given.update({k: kwargs[k] for k in named if k in kwargs})
    missing = [f'"{k}"' for k in names if k not in given]
    if missing:
        if "low" not in kwargs or name != "randint":
            raise combination()
        raise TypeError(f"{name}() missing {len(missing)} required positional argument: {', '.join(missing)}")
    short = names is not named  # the (high, size) form
    position = {k: i + 1 + len(lead) for i, k in enumerate(names[:len(args)])}
    try:
        bounds = [_randint_bound(given[k], k, name, position.get(k)) for k in ("low", "high") if k in given]
        size = given.get("size", ())
        if name == "randint":
            _check_int_tuple(size, "size", name, position.get("size"))
    except TypeError:
        if short and name == "randint":  # the one overload of its arity: the error names the argument
            raise
        raise combination() from None
    return (0, *bounds, size) if short else (*bounds, size)


def _arg_label(name: str, fn: str, pos: int | None) -> str:
    return f"{fn}(): argument '{name}'" + (f" (position {pos})" if pos else "")


def _randint_bound(v: Any, name: str, fn: str = "randint", pos: int | None = None) -> int:
    """An int argument as PyTorch's parser reads it: ints, NumPy integers and integer 0-d tensors
    (not bool, not floats); past int64 it is PyTorch's ValueError."""
    if isinstance(v, Tensor) and v.dim() == 0 and not v.dtype.is_floating_point and v.dtype is not _dt.bool_:
        v = v.item()
    if isinstance(v, (bool, Tensor)) or not hasattr(v, "__index__"):
        raise TypeError(f"{_arg_label(name, fn, pos)} must be int, not {type(v).__name__}")
    v = operator.index(v)
    if not -_INT64_LIMIT <= v < _INT64_LIMIT:
        raise ValueError("Overflow when unpacking long long")
    return v


def _check_int_tuple(size: Any, name: str, fn: str, pos: int | None) -> None:
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{_arg_label(name, fn, pos)} must be tuple of ints, not {type(size).__name__}")
    for i, d in enumerate(size):
        if isinstance(d, bool) or not hasattr(d, "__index__"):
            raise TypeError(f"{_arg_label(name, fn, pos)} must be tuple of ints, but found element of type "
                            f"{type(d).__name__} at pos {i}")


def _check_randint_range(low: int, high: int, dt: _dt.dtype) -> None:
    """PyTorch's ``check_from_to_in_range``: ``from`` and ``to - 1`` must fit the dtype (a floating
    dtype's finite range, with a warning past the integers it holds exactly)."""
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dt.is_complex:
        raise RuntimeError("check_random_bounds handles only integral, floating-point and boolean types")
    if dt.is_floating_point:
        from ember.typeinfo import finfo

        lo = -(hi := finfo(dt).max)
        digits = _MANTISSA.get(dt.itemsize if dt is not _dt.bfloat16 else 0, 52) + 1
    else:
        bits = 8 * dt.itemsize
        lo, hi = (0, 1) if dt is _dt.bool_ else ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if dt.is_signed
                                                   else (0, (1 << bits) - 1))
    if not lo <= low <= hi:
        raise RuntimeError(f"from is out of bounds for {_cpp_type(dt)}")
    if not lo <= high - 1 <= hi:
        raise RuntimeError(f"to - 1 is out of bounds for {_cpp_type(dt)}")
    if dt.is_floating_point:
        import warnings

        for value, what in ((low, "from"), (high - 1, "to - 1")):
            if not -(1 << digits) <= value <= 1 << digits:
                warnings.warn(f"{what} is out of bounds [-(2^{digits}), 2^{digits}]. Due to precision limitations "
                              f"{_cpp_type(dt)} can support discrete uniform distribution only within this range. "
                              "This warning will become an error in version 1.7 release, please fix the code in "
                              "advance", UserWarning, stacklevel=4)


_RANDPERM_SIGNATURES = "".join(
    f"\n * (int n, *, {gen}Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
    "torch.device device = None, bool pin_memory = False, bool requires_grad = False)"
    for gen in ("torch.Generator generator, ", "")) + "\n"
_RANDPERM_TOP = {_dt.float16: ((1 << 11) + 1, "2049"), _dt.float32: ((1 << 24) + 1, "2^24+1"),
                 _dt.float64: ((1 << 53) + 1, "2^53+1")}


@_dtype_param
def randperm(n: int, *, generator=None, dtype: _dt.dtype | None = None, device: Any = None,
             requires_grad: bool = False, **_kw: Any) -> Tensor:
    """A random permutation of 0..n-1 (sorting random keys, so every device agrees)."""
    if _kw:
        out = _extras("randperm", _kw, _RANGED)
        if out is not None:
            return _into_out("randperm", out, dtype, device,
                             lambda dt, dev: randperm(n, generator=generator, dtype=dt, device=dev))
    from ember.functions.indexing import _scalar_type
    from ember.typeinfo import iinfo

    try:
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError
        n = _randint_bound(n, "n", "randperm", 1)
    except TypeError:
        if generator is None:  # one overload fits: the error names the argument
            raise
        raise _invalid_combination("randperm", (n,), {"generator": generator}, _RANDPERM_SIGNATURES) from None
    gen = _gen(generator, device)  # an explicit generator must match the device asked for, not the CPU drawn on
    dt = dtype or _dt.int64
    if dt is _dt.bool_ or dt.is_complex:
        raise NotImplementedError(f"\"randperm\" not implemented for '{_scalar_type(dt)}'")
    # PyTorch's check_supported_max_int_with_precision: n - 1 must fit the dtype, and half, float and
    # double must hold every integer up to n (bfloat16 is not checked)
    if dt in _RANDPERM_TOP and n > _RANDPERM_TOP[dt][0]:
        raise RuntimeError(f"n cannot be greater than {_RANDPERM_TOP[dt][1]} for {_scalar_type(dt)} type.")
    if not dt.is_floating_point and n - 1 > iinfo(dt).max:
        from ember._scalar_convert import overflow_error

        raise overflow_error(dt)
    kdt = _dt.float64 if _supports64("cpu") else _dt.float32
    shape = _size((n,), "randperm")
    cpu, kt = _resolve("cpu", kdt)
    key, off = gen._take(math.prod(shape))
    keys = Tensor._make(kt["rand_uniform"](shape, key, off, kdt, cpu.index), kdt, cpu, kt)
    _, perm = keys.sort()
    out = perm.to(dtype or _dt.int64)
    return _finish(out.to(device) if device is not None else out, requires_grad)


def _check_std(std: Any) -> None:
    """PyTorch's errors for a negative or NaN standard deviation (one device sync for a tensor ``std``)."""
    if isinstance(std, Tensor):
        if std.dtype.is_complex:
            raise RuntimeError("normal expects standard deviation to be non-complex")
        if std.numel() and not bool((std >= 0).all()):  # NaN fails too: PyTorch tests std.min() >= 0
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif not std >= 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


_NORMAL_SIGNATURES = (
    "\n * (Tensor mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)"
    "\n * (Tensor mean, float std = 1, *, torch.Generator generator = None, Tensor out = None)"
    "\n * (float mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)"
    "\n * (float mean, float std, tuple of ints size, *, torch.Generator generator = None, Tensor out = None, "
    "torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, bool pin_memory = False, "
    "bool requires_grad = False)\n")
_NORMAL_FACTORY_KW = frozenset({"generator", "dtype", "device", "requires_grad"}) | _RANGED
_UNSET: Any = object()  # an argument not given (PyTorch tells it apart from an explicit default)


def _is_real_number(v: Any) -> bool:
    import numbers

    return isinstance(v, numbers.Real) and not isinstance(v, Tensor)


def _normal_overload(mean: Any, std: Any, size: Any, generator: Any, factory_kw: dict) -> bool:
    """Which of PyTorch's four ``normal`` overloads a call takes (True: a tensor form), or its TypeError."""
    given_std = std is not _UNSET
    args = tuple(v for v in (mean, std, size) if v is not _UNSET)
    kw = {"generator": generator} if generator is not None else {}
    kw.update((k, v) for k, v in factory_kw.items() if v is not _UNSET)
    if mean is _UNSET:
        if given_std:
            raise TypeError('normal() missing 1 required positional arguments: "mean"')
        raise _invalid_combination("normal", (), kw, _NORMAL_SIGNATURES)
    tensor_form = isinstance(mean, Tensor) or isinstance(std, Tensor)
    ok = generator is None or isinstance(generator, Generator)
    if tensor_form:  # (Tensor, Tensor), (Tensor, float = 1), (float, Tensor): no size nor factory keywords
        ok = ok and size is _UNSET and not set(kw) - {"generator", "out"} and (
            isinstance(mean, Tensor) and (not given_std or isinstance(std, Tensor) or _is_real_number(std))
            or _is_real_number(mean) and isinstance(std, Tensor))
    else:  # (float, float, tuple of ints size)
        ok = ok and not set(kw) - _NORMAL_FACTORY_KW and _is_real_number(mean) and given_std and _is_real_number(std) and (
            isinstance(size, (tuple, list)) and all(isinstance(d, int) or hasattr(d, "__index__") for d in size))
    if not ok:
        raise _invalid_combination("normal", args, kw, _NORMAL_SIGNATURES)
    return tensor_form


@_dtype_param
def normal(mean: Any = _UNSET, std: Any = _UNSET, size: Any = _UNSET, *, generator=None, dtype=_UNSET,
           device=_UNSET, requires_grad: Any = _UNSET, **_kw: Any) -> Tensor:
    """Normal samples, PyTorch's four overloads: ``normal(Tensor mean, Tensor std)`` (broadcast),
    ``normal(Tensor mean, float std=1)``, ``normal(float mean, Tensor std)`` and
    ``normal(float mean, float std, size)``; only the last takes ``dtype``/``device``/``requires_grad``."""
    tensor_form = _normal_overload(mean, std, size, generator,
                                   {"dtype": dtype, "device": device, "requires_grad": requires_grad, **_kw})
    out = _extras("normal", _kw, _RANGED) if _kw else None
    if tensor_form:
        if std is _UNSET:
            std = 1.0
        _check_std(std)
        from ember.functions.elementwise import _broadcast_error, broadcast_shapes

        ref = mean if isinstance(mean, Tensor) else std
        shapes = (tuple(getattr(mean, "shape", ())), tuple(getattr(std, "shape", ())))
        try:
            shape = broadcast_shapes(*shapes)
        except RuntimeError:  # PyTorch's infer_size wording (mean is "tensor a", std "tensor b")
            raise _broadcast_error(*shapes) from None
        dt = (out if out is not None else ref).dtype  # PyTorch fills the result (mean's dtype, or out's)
        if not dt.is_floating_point and not dt.is_complex and math.prod(shape):
            raise _kernel_refusal(f"normal_kernel_{ref.device.type}", dt)
        z = randn(shape, generator=generator, dtype=dt, device=ref.device)
        res = z * std + mean
        res = res if res.dtype is dt else res.to(dt)
        if out is not None:
            from ember.functions.elementwise import _out

            return _out(res, out)
        return res
    _check_std(std)
    dtype = None if dtype is _UNSET else dtype
    device = None if device is _UNSET else device
    if out is not None:
        return _into_out("normal", out, dtype, device,
                         lambda dt, dev: normal(mean, std, size, generator=generator, dtype=dt, device=dev))
    dt = dtype or _dt.get_default_dtype()
    z = randn(tuple(size), generator=generator, dtype=dt, device=device)
    if dt.is_complex:  # PyTorch draws the real view: the mean shifts both parts
        mean = complex(mean, mean)
    return _finish(z * std + mean, requires_grad is True)


@_dtype_param
def rand_like(t: Tensor, *, dtype=None, device=None, requires_grad: bool = False, generator=None,
              **_kw: Any) -> Tensor:
    shape, dt, dev = _like(t, dtype, device, _kw, "rand_like")
    return rand(shape, generator=generator, dtype=dt, device=dev, requires_grad=requires_grad)


@_dtype_param
def randn_like(t: Tensor, *, dtype=None, device=None, requires_grad: bool = False, generator=None,
               **_kw: Any) -> Tensor:
    shape, dt, dev = _like(t, dtype, device, _kw, "randn_like")
    return randn(shape, generator=generator, dtype=dt, device=dev, requires_grad=requires_grad)


_RANDINT_LIKE_SIGNATURES = "".join(
    f"\n * (Tensor input, {form}, *, {gen}torch.memory_format memory_format = None, torch.dtype dtype = None, "
    "torch.layout layout = None, torch.device device = None, bool pin_memory = False, bool requires_grad = False)"
    for form in ("int low, int high", "Tensor high", "int high")
    for gen in ("torch.Generator generator, ", "")) + "\n"


@_dtype_param
def randint_like(t: Tensor, *args: Any, dtype=None, device=None, requires_grad: bool = False, generator=None,
                 **kwargs: Any) -> Tensor:
    """``randint_like(input, high)`` or ``randint_like(input, low, high)`` (positional or keyword;
    ``high`` may be a 0-d tensor): the shape of ``input``, its dtype and device unless given."""
    if not isinstance(t, Tensor):
        raise _invalid_combination("randint_like", (t, *args), kwargs, _RANDINT_LIKE_SIGNATURES)
    high = kwargs.get("high", args[-1] if args else None)
    if isinstance(high, Tensor):  # PyTorch's (Tensor input, Tensor high) overload: any 0-d tensor
        if high.dim() != 0 or high.device.type != "cpu":
            raise RuntimeError("high must be a scalar tensor and on CPU")
        high = int(high.item())
        args, kwargs = ((*args[:-1], high), kwargs) if "high" not in kwargs else (args, {**kwargs, "high": high})
    low, high, _ = _randint_args(args, {k: v for k, v in kwargs.items() if k != "memory_format"}, generator,
                                 "randint_like", (t,), _RANDINT_LIKE_SIGNATURES)
    shape, dt, dev = _like(t, dtype, device, {"memory_format": kwargs.pop("memory_format", None)})
    kwargs = {k: v for k, v in kwargs.items() if k not in ("low", "high")}
    return randint(low, high, list(shape), generator=generator, dtype=dt, device=dev, requires_grad=requires_grad,
                   **kwargs)


_P_IN_RANGE = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message be improved?  "
               "If so, please report an enhancement request to PyTorch.)")
_BERNOULLI_SIGNATURES = ("\n * (Tensor input, *, torch.Generator generator = None, Tensor out = None)"
                         "\n * (Tensor input, float p, *, torch.Generator generator = None)\n")
_BERNOULLI__SIGNATURES = ("\n * (Tensor p, *, torch.Generator generator = None)"
                          "\n * (float p = 0.5, *, torch.Generator generator = None)\n")


def _check_probability(p: Any, name: str) -> None:
    """PyTorch's error for a probability outside [0, 1], NaN included (one device sync for a tensor ``p``)."""
    if isinstance(p, Tensor):
        if p.numel() and not bool(((p >= 0) & (p <= 1)).all()):
            raise RuntimeError(_P_IN_RANGE)
    elif not 0 <= p <= 1:
        raise RuntimeError(f"{name} expects p to be in [0, 1], but got p={p:g}")


def _bernoulli_into(dt: _dt.dtype, shape: tuple, device: Any, p: Any, generator: Any) -> Tensor:
    """Bernoulli(``p``) draws of ``shape`` in ``dt``, PyTorch's dtype checks first: the result's
    (any real dtype), then a tensor ``p``'s (floating only); nothing is checked for an empty result."""
    if not isinstance(p, Tensor):
        _check_probability(p, "bernoulli_")
    if math.prod(shape):
        dev = _device_type(device)
        if isinstance(p, Tensor):
            if dt.is_complex:
                raise _kernel_refusal(f"bernoulli_tensor_{dev}_self_", dt)
            if not p.dtype.is_floating_point:
                raise _kernel_refusal(f"bernoulli_tensor_{dev}_p_", p.dtype)
            p = p.expand(shape)  # PyTorch's expand errors for a p that does not fit the result
            _check_probability(p, "bernoulli_")
        elif dt.is_complex:
            raise _kernel_refusal(f"bernoulli_scalar_{dev}_", dt)
    pdt = p.dtype if isinstance(p, Tensor) and p.dtype.is_floating_point else None
    u = rand(shape, generator=generator, dtype=pdt, device=device)
    return (u < p).to(dt)


def bernoulli(input: Tensor, p: Any = _UNSET, *, generator: Any = None, out: Tensor | None = None) -> Tensor:
    """1 with probability ``input`` (or the number ``p``) elementwise, else 0, in ``input``'s dtype
    (``out``'s when given)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if isinstance(p, Tensor) and p.dim() == 0:  # a 0-d tensor is read as the number
        p = p.item()
    if (p is not _UNSET and (not _is_real_number(p) or out is not None)) or (
            generator is not None and not isinstance(generator, Generator)):
        kw = {k: v for k, v in (("generator", generator), ("out", out)) if v is not None}
        raise _invalid_combination("bernoulli", (input,) + (() if p is _UNSET else (p,)), kw, _BERNOULLI_SIGNATURES)
    if p is not _UNSET:
        return _bernoulli_into(input.dtype, tuple(input.shape), input.device, p, generator)
    res = _bernoulli_into(out.dtype if out is not None else input.dtype, tuple(input.shape), input.device,
                          input.detach(), generator)
    if out is None:
        # PyTorch's bernoulli is differentiable (a zero gradient): the result joins input's graph
        return res + input * 0 if input.requires_grad and res.dtype.is_floating_point else res
    from ember._ops.out import write

    return write("bernoulli", "any", res, out)


def _clone_raw(t: Tensor) -> Tensor:
    return t._new(t._kt["clone"](t._data))


# ---- Tensor methods: new_* factories and in-place fills ---------------------------------------
def _fill_inplace(t: Tensor, value: Any) -> Tensor:
    from ember.autograd.grad_mode import STATE
    from ember.autograd.inplace import check_inplace, needs_rebase, rebase_history

    check_inplace(t, overlap_ok=not isinstance(value, Tensor))  # fill_(tensor) refuses aliases (PyTorch)
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} dimensions.")
        if STATE.enabled and value.requires_grad and t._dtype.is_floating_point:  # differentiable in the value
            from ember.functions.elementwise import assign_inplace

            return assign_inplace(t, value.to(device=t.device, dtype=t.dtype))
        # a 0-d tensor is cast (wrapped) as PyTorch's fill_ does; a number is checked
        value = (value if value._dtype is t._dtype else value.to(t._dtype)).item()
    value = checked_scalar(value, t._dtype)
    t._kt["copy_"](_unaliased(t), value)
    t._version[0] += 1
    if STATE.enabled and needs_rebase(t):
        rebase_history(t, t.detach())  # a constant now: no gradient reaches the old values
    from ember.autograd.function import _FW

    if _FW[0] is not None:  # forward AD: a constant has a zero tangent
        _FW[0].after_inplace(t, None)
    return t


def _unaliased(t: Tensor) -> Any:
    """``t``'s data with each axis of stride 0 (an expanded one, whose elements alias one another)
    cut to one element: the same memory, each location once, so a constant fill can be written."""
    kt, data = t._kt, t._data
    if not kt.has("strides"):
        return data
    strides = kt["strides"](data)
    if not any(st == 0 and n > 1 for st, n in zip(strides, data.shape)):
        return data
    shape = tuple(1 if st == 0 else n for st, n in zip(strides, data.shape))
    return kt["as_strided"](data, shape, strides, kt["storage_offset"](data))


def _random_inplace(t: Tensor, sample: Tensor) -> Tensor:
    from ember.autograd.grad_mode import STATE
    from ember.autograd.inplace import check_inplace, needs_rebase, rebase_history

    check_inplace(t)
    t._kt["copy_"](t._data, sample._data if sample._dtype is t._dtype else sample._kt["astype"](sample._data, t._dtype))
    t._version[0] += 1
    if STATE.enabled and needs_rebase(t):
        rebase_history(t, t.detach())
    return t


# ---- declarations: Tensor methods, ``ember.*`` and ``__all__`` come from these -----------------------
def _copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    from ember.functions.elementwise import assign_inplace

    if not isinstance(src, Tensor):
        return _fill_inplace(self, src)
    # the same storage: views and detach() share the version counter, ``.data`` the array itself
    if src is self or ((src._version is self._version or src._data is self._data) and src._dtype is self._dtype
                       and src.shape == self.shape and src.stride() == self.stride()
                       and src.data_ptr() == self.data_ptr()):
        return self  # the same elements (m.load_state_dict(m.state_dict())): nothing to write, as PyTorch
    from ember.functions.elementwise import check_no_overlap

    check_no_overlap(self, (src,), full_too=True)
    if src._device is not self._device:
        src = src.to(self._device)
    if src._dtype is not self._dtype:
        src = src.to(self._dtype)
    return assign_inplace(self, src)


def _zero_(self: Tensor) -> Tensor:
    return _fill_inplace(self, 0)


def _new_tensor(self: Tensor, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new_factory(fn: Any) -> Any:
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        if kw:  # size= and PyTorch's no-op keywords; an unknown one is a TypeError
            size, _ = _sized_extras(f"new_{fn.__name__}", size, kw, _SIZED - {"out"})
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    method.__name__ = method.__qualname__ = f"new_{fn.__name__}"
    method.__doc__ = f"``{fn.__name__}`` with this tensor's dtype and device unless given."
    return method


def _new_full(self: Tensor, size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, not {_tp_name(size)}")
    if isinstance(fill_value, Tensor):
        fill_value = _fill_tensor(fill_value, "new_full")
    elif not isinstance(fill_value, (bool, int, float, complex)):
        fill_value = _fill_number(fill_value, "new_full")  # its own name in the TypeError
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _check_float_fill(t: Tensor, what: str) -> None:
    """PyTorch's refusal of an integer tensor for a continuous in-place sampler."""
    if not t.dtype.is_floating_point and not t.dtype.is_complex:
        from ember.functions.indexing import _scalar_type

        raise NotImplementedError(f"\"{what}\" not implemented for '{_scalar_type(t.dtype)}'")


def _too_many(name: str, most: int, extra: tuple) -> TypeError:
    """PyTorch's error for positional arguments past a method's last (its generator is keyword-only)."""
    return TypeError(f"{name}() takes from 0 to {most} positional arguments but {most + len(extra)} were given")


def _uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *extra: Any, generator: Any = None, **kw: Any) -> Tensor:
    """PyTorch's ``uniform_(from=0, to=1)``: ``from``/``to`` are Python keywords, so they come in ``kw``."""
    if extra:
        raise _too_many("uniform_", 2, extra)
    if kw:
        if set(kw) - {"from", "to"}:
            raise TypeError(f"uniform_() got an unexpected keyword argument '{sorted(set(kw) - {'from', 'to'})[0]}'")
        a, b = kw.get("from", a), kw.get("to", b)
    dt = _dt.to_real(self.dtype) if self.dtype.is_complex else self.dtype  # complex: its real view is filled
    if not dt.is_floating_point:
        raise _kernel_refusal("check_uniform_bounds", dt)
    from ember.functions.indexing import _scalar_type
    from ember.typeinfo import finfo

    top = finfo(dt).max
    for value, name in ((a, "from"), (b, "to")):
        if not -top <= value <= top:  # NaN too
            raise RuntimeError(f"{name} is out of bounds for {_cpp_type(dt)}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    if b - a > top:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{_scalar_type(dt)}>::max(), but found "
                           f"to={b:g} and from={a:g} which result in to-from to exceed the limit")
    u = rand(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
    if self.dtype.is_complex:  # both parts uniform in [a, b)
        return _random_inplace(self, u * (b - a) + complex(a, a))
    return _random_inplace(self, u * (b - a) + a)


def _normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *extra: Any, generator: Any = None) -> Tensor:
    if extra:
        raise _too_many("normal_", 2, extra)
    _check_std(std)
    z = randn(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
    # a complex tensor: PyTorch fills its real view with N(mean, std / sqrt 2), both parts shifted by mean
    return _random_inplace(self, z * std + (complex(mean, mean) if self.dtype.is_complex else mean))


_NO_TO = object()
_RANDOM_SIGNATURES = ("\n * (*, torch.Generator generator = None)\n * (int from, int to, *, torch.Generator generator = "
                      "None)\n * (int to, *, torch.Generator generator = None)\n")


def _random_(self: Tensor, *args: Any, generator: Any = None, **kw: Any) -> Tensor:
    """PyTorch's three forms: ``random_()`` draws from [0, top] where top is the dtype's largest
    integer (for floats: 2**mantissa bits, so every draw is exact); ``random_(to)`` from [0, to);
    ``random_(from, to)`` from [from, to), ``to=None`` meaning [from, top]."""
    if len(args) > 2 or set(kw) - {"from", "to"}:
        raise TypeError("random_() received an invalid combination of arguments")
    if generator is not None and not isinstance(generator, Generator):
        if args or kw:
            raise TypeError(f"random_(): argument 'generator' must be torch.Generator, not {type(generator).__name__}")
        raise _invalid_combination("random_", (), {"generator": generator}, _RANDOM_SIGNATURES)
    low, high = (args + (_NO_TO, _NO_TO))[:2] if len(args) == 2 else (
        (kw.get("from", 0), args[0]) if len(args) == 1 and "from" in kw else
        ((0, args[0]) if len(args) == 1 and "to" not in kw else (args[0] if args else kw.get("from", 0),
                                                                   kw.get("to", _NO_TO))))
    if self.dtype.is_complex:
        if high is _NO_TO and not args and "from" not in kw:
            raise _kernel_refusal(f"random_kernel_{self.device.type}", self.dtype)
        raise RuntimeError("check_random_bounds handles only integral, floating-point and boolean types")
    top = _random_top(self.dtype)
    if high is _NO_TO and not args and "from" not in kw:  # random_(): [0, top]
        low, high = 0, top + 1
    elif high is None or high is _NO_TO:  # random_(from, None): [from, top]
        if self.dtype.is_floating_point and operator.index(low) >= top:
            raise RuntimeError("random_ expects 'from' casted to dtype to be less than or equal to 'to_inc' casted to "
                               f"dtype, but got from={operator.index(low)} > to_inc={top}")
        high = top + 1
    low, high = operator.index(low), operator.index(high)
    _check_randint_range(low, high, self.dtype)
    return _random_inplace(self, _randint_sample(low, high, tuple(self.shape), generator, _dt.int64, self.device))


_MANTISSA = {0: 7, 2: 10, 4: 23, 8: 52}  # stored mantissa bits by itemsize (0: bfloat16)


def _random_top(dt: _dt.dtype) -> int:
    from ember.typeinfo import iinfo

    if dt is _dt.bool_:
        return 1
    if dt.is_floating_point:
        return 1 << (_MANTISSA.get(dt.itemsize if dt is not _dt.bfloat16 else 0, 52) + 1)
    return iinfo(dt).max


def _bernoulli_(self: Tensor, p: Any = 0.5, *extra: Any, generator: Any = None) -> Tensor:
    if extra:  # PyTorch's two overloads: no positional generator in either
        raise _invalid_combination("bernoulli_", (p, *extra), {} if generator is None else {"generator": generator},
                                   _BERNOULLI__SIGNATURES)
    if not (isinstance(p, Tensor) or _is_real_number(p)) or (generator is not None
                                                            and not isinstance(generator, Generator)):
        raise _invalid_combination("bernoulli_", (p,), {} if generator is None else {"generator": generator},
                                   _BERNOULLI__SIGNATURES)
    if isinstance(p, Tensor):
        p = p.detach()
    return _random_inplace(self, _bernoulli_into(self.dtype, tuple(self.shape), self.device, p, generator))


def _exponential_(self: Tensor, lambd: float = 1.0, *extra: Any, generator: Any = None) -> Tensor:
    if extra:
        raise _too_many("exponential_", 1, extra)
    if not lambd > 0:  # NaN too; checked before the dtype, as PyTorch
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    if not self.dtype.is_floating_point:
        if not self.numel():  # PyTorch returns before its kernel checks the dtype
            return self
        from ember.functions.indexing import _scalar_type

        raise RuntimeError("Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_scalar_type(self.dtype)}")
    u = rand(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
    return _random_inplace(self, -(1 - u).log() / lambd)


def _bernoulli_method(self: Tensor, p: Any = _UNSET, *, generator: Any = None) -> Tensor:
    return bernoulli(self, p, generator=generator)


_ops = Family(__name__)
_op = _ops.op
for _fn in (tensor, from_numpy, zeros, ones, full, empty, zeros_like, ones_like, full_like, empty_like, linspace,
            logspace, eye, rand, randn, randint, randperm, normal, rand_like, randn_like, randint_like,
            scalar_tensor, from_dlpack, as_tensor, asarray):
    _op(_fn, method=False)
_op(arange, method=False, kernels=("arange",))
_op(bernoulli, method=_bernoulli_method, inplace=_bernoulli_, out=True)  # samples into any out dtype
# Tensor-only methods (PyTorch has no function of these names)
_op(_copy_, "copy_", export=False, kernels=("copy_",))
_op(_fill_inplace, "fill_", doc="Fill with one value, in place.")
_op(_zero_, "zero_", doc="Fill with zeros, in place.")
_op(_new_tensor, "new_tensor", export=False, doc="``tensor(data)`` with this tensor's dtype and device unless given.")
for _fn in (zeros, ones, empty):
    _op(_new_factory(_fn), f"new_{_fn.__name__}", export=False)
_op(_new_full, "new_full", export=False, doc="``full`` with this tensor's dtype and device unless given.")
_op(_uniform_, "uniform_", export=False, doc="Fill with uniform samples in [a, b), in place.")
_op(_normal_, "normal_", export=False, doc="Fill with normal samples, in place.")
_op(_random_, "random_", export=False, doc="Fill with integers in [low, high), in place.")
_op(_exponential_, "exponential_", export=False, doc="Fill with exponential samples, in place.")

__all__ = _ops.names()
