"""``Tensor.to``: moves between devices and dtypes, differentiably.

Example:
    >>> import ember
    >>> ember.tensor([1.7, -2.5]).to(ember.int64)
    tensor([ 1, -2])
"""

from __future__ import annotations

from typing import Any

from ember import _value_range, dispatch
from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.autograd.function import Function
from ember.device import device as _device_cls
from ember.tensor import Tensor


def _parse(args: tuple, kwargs: dict) -> tuple:
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    fmt = kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    dtype = _dt.dtype_arg("to", dtype)
    for a in args:
        if isinstance(a, _dt.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dev, dtype = a.device, a.dtype
        elif isinstance(a, type) and a in _dt._PYTHON_TYPES:  # x.to(float): float64, as in PyTorch
            dtype = _dt._PYTHON_TYPES[a]
        elif isinstance(a, (str, _device_cls, int)) and not isinstance(a, bool):
            dev = a
        elif isinstance(a, bool):
            continue  # non_blocking / copy given positionally
        elif a is None:
            continue  # x.to(None): the device argument given as None (PyTorch: no change)
        else:
            raise TypeError(f"to() received an invalid argument of type {type(a).__name__}")
    return dev, dtype, copy, fmt


def _in_format(t: Tensor, fmt: Any) -> bool:
    """PyTorch's ``to_will_alias`` test on the layout: ``to`` returns ``self`` for
    ``preserve_format`` or when ``fmt`` is ``self.suggest_memory_format()`` (``contiguous_format``
    unless the strides read as channels-last: PyTorch's ``is_channels_last_strides_*d`` walk in
    (C, W, H, N) order), else it copies (``x.float(memory_format=channels_last)`` is a new tensor)."""
    rank = getattr(fmt, "_rank", None)
    if rank is None:
        return True
    sizes, strides = t.shape, t.stride()
    if strides[1] == 0:
        return False
    low = 0
    for d in (1, *range(rank - 1, 1, -1), 0):
        if sizes[d] == 0 or strides[d] < low or (d == 0 and low == strides[1]):
            return False
        low = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return True


def to(t: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)``; non_blocking, copy, memory_format
    (checked as PyTorch does; the layout stays C order)."""
    dev, dtype, copy, fmt = _parse(args, dict(kwargs))
    if fmt is not None:
        from ember.functions.layout import check_memory_format

        check_memory_format(t.dim(), fmt, "to")
        copy = copy or not _in_format(t, fmt)
    dev = t._device if dev is None else dispatch.canonical_device(dev)
    dtype = t._dtype if dtype is None else dtype
    if dev is t._device and dtype is t._dtype and not copy:
        return t
    if dev.type != "cpu":
        from ember.functions.creation import _check_dtype_supported

        _check_dtype_supported(dispatch.table(dev.type), dev, dtype)
    return ToCopy.apply(t, dev, dtype)


class ToCopy(Function):
    _backward_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x: Tensor, dev: _device_cls, dtype: _dt.dtype) -> Tensor:
        ctx.src = (x._device, x._dtype)
        data = host = x._data
        if dtype is not x._dtype and dev is not x._device and dev.type == "cpu":
            data = dispatch.transfer(data, x._device, dev)
            data = dispatch.table("cpu")["astype"](data, dtype)
        else:
            if dtype is not x._dtype:
                data = host = x._kt["astype"](data, dtype)
            if dev is not x._device:
                data = dispatch.transfer(data, x._device, dev)
            elif dtype is x._dtype:
                data = x._kt["clone"](data)
        out = Tensor._make(data, dtype, dev, dispatch.table(dev.type))
        if dev.type != "cpu" and not dtype.is_floating_point:
            # a batch's targets or token ids: their bounds, known here for free, spare the index
            # and target checks a device read (see ember._value_range)
            if x._device.type == "cpu":
                _value_range.remember(out, host)
            elif dtype is x._dtype and x._bounds_record is not None:
                _value_range.inherit(out, x, is_copy=True)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        dev, dtype = ctx.src
        return grad.to(dev, dtype), None, None


# ---- declarations: the Tensor method and ``__all__`` come from these ---------------------------------
_ops = Family(__name__)
_ops.op(to, export=False)  # ``Tensor.to`` only: PyTorch has no ``torch.to``

__all__ = _ops.names()
