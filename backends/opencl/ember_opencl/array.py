"""``CLArray``: a strided view of a device buffer (shape, strides and offset in elements)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember_opencl import runtime

__all__ = ["CLArray", "contiguous_strides", "empty"]


_STRIDES: dict[tuple[int, ...], tuple[int, ...]] = {}


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """C-order strides in elements (memoised per shape: every new array asks)."""
    st = _STRIDES.get(shape)
    if st is None:
        strides = []
        acc = 1
        for n in reversed(shape):
            strides.append(acc)
            acc *= max(n, 1)
        st = tuple(reversed(strides))
        if len(_STRIDES) > 4096:
            _STRIDES.clear()
        _STRIDES[shape] = st
    return st


class CLArray:
    """A view into ``base_buffer``. Several arrays may share one buffer (views are zero-copy)."""

    __slots__ = ("base_buffer", "shape", "strides", "offset", "dtype", "device")

    def __init__(self, base_buffer: Any, shape: tuple[int, ...], dtype: np.dtype, device: int,
                 strides: tuple[int, ...] | None = None, offset: int = 0) -> None:
        self.base_buffer = base_buffer
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.device = device
        self.strides = contiguous_strides(self.shape) if strides is None else tuple(strides)
        self.offset = int(offset)

    @classmethod
    def _make(cls, base_buffer: Any, shape: tuple[int, ...], dtype: np.dtype, device: int,
              strides: tuple[int, ...], offset: int) -> CLArray:
        """Trusted constructor: ``shape``/``strides`` are tuples of ints, ``dtype`` a np.dtype."""
        a = object.__new__(cls)
        a.base_buffer = base_buffer
        a.shape = shape
        a.dtype = dtype
        a.device = device
        a.strides = strides
        a.offset = offset
        return a

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    def data_ptr(self) -> int:
        """``Tensor.data_ptr()``: the buffer's handle plus the offset in bytes, so views of one buffer
        differ by ``storage_offset * itemsize`` as in PyTorch (an identity, not a host address)."""
        return int(self.base_buffer.int_ptr) + self.offset * self.itemsize

    def is_contiguous(self) -> bool:
        """C-contiguous (size-1 axes may have any stride, as in NumPy/PyTorch)."""
        expected = 1
        for n, s in zip(reversed(self.shape), reversed(self.strides)):
            if n == 0:
                return True
            if n != 1 and s != expected:
                return False
            expected *= n
        return True

    def view(self, shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> CLArray:
        """Another view of the same buffer."""
        return CLArray(self.base_buffer, shape, self.dtype, self.device, strides, offset)

    def __repr__(self) -> str:
        return (f"CLArray(shape={self.shape}, dtype={self.dtype}, strides={self.strides}, "
                f"offset={self.offset}, device=opencl:{self.device})")


def empty(shape: tuple[int, ...], dtype: np.dtype, device: int) -> CLArray:
    """A new uninitialised C-contiguous array."""
    if not isinstance(dtype, np.dtype):
        dtype = np.dtype(dtype)
    if type(shape) is not tuple:
        shape = tuple(int(s) for s in shape)
    buf = runtime.device(device).alloc(math.prod(shape) * dtype.itemsize)
    return CLArray._make(buf, shape, dtype, device, contiguous_strides(shape), 0)
