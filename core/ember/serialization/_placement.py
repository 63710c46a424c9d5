"""Where loaded tensors go: PyTorch's ``map_location`` rules, shared by every format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember.serialization._shared import CheckpointError, MapLocation

#: Most dimensions a loaded tensor may have (NumPy's limit; PyTorch's is lower).
MAX_DIMS = 64


def target_device(saved: str, map_location: MapLocation) -> str:
    """The device a tensor saved on ``saved`` goes to, for every map_location but a callable."""
    from ember.device import device

    if map_location is None:
        return saved
    if isinstance(map_location, (str, device)):
        return str(map_location)
    if isinstance(map_location, dict):
        return str(map_location.get(saved, saved))
    raise TypeError(f"map_location should be None, a device, a str, a dict or a callable, got "
                    f"{type(map_location).__name__}")


def is_callable_location(map_location: MapLocation) -> bool:
    return callable(map_location) and not isinstance(map_location, dict)


class Placer:
    """Build tensors from host arrays on their target devices (PyTorch's map_location rules)."""

    def __init__(self, name: str, map_location: MapLocation) -> None:
        from ember.device import device

        if not (map_location is None or isinstance(map_location, (str, device, dict)) or callable(map_location)):
            raise TypeError(f"'{type(map_location).__name__}' object is not callable")  # PyTorch calls it
        self.name = name
        self.map_location = map_location

    def place(self, arr: np.ndarray, dtype_name: str, saved_device: str) -> Any:
        """A tensor of ``arr`` (shared with it when it stays on the CPU) on its target device."""
        from ember.functions.creation import from_numpy
        from ember.tensor import Tensor

        t = from_numpy(arr)
        if dtype_name == "bool" and arr.dtype != np.bool_:
            t = t.to(_bool())
        if is_callable_location(self.map_location):
            out = self.map_location(t, saved_device)
            if out is None:
                return self._move(t, saved_device)
            if not isinstance(out, Tensor):
                raise CheckpointError(f"map_location returned a {type(out).__name__}, expected a Tensor or None "
                                      f"(loading {self.name!r})")
            return out
        return self._move(t, target_device(saved_device, self.map_location))

    def _move(self, t: Any, target: str) -> Any:
        from ember.dispatch import DeviceError

        if target == "cpu":
            return t
        try:
            return t.to(target)
        except (DeviceError, RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{self.name!r}: cannot place a {t.dtype} tensor on device '{target}' ({exc}). "
                "If that device is not available here (or lacks the dtype), pass map_location='cpu' (or a "
                "dict / callable) to ember.load to map the tensors elsewhere.") from exc


def _bool() -> Any:
    from ember import dtypes

    return dtypes.bool_


def check_bounds(size: tuple[int, ...], stride: tuple[int, ...], offset: int, numel: int, fail: Callable[[str], Exception]) -> None:
    """Refuse a geometry that reads past its storage of ``numel`` elements (PyTorch's bounds)."""
    if len(size) != len(stride) or len(size) > MAX_DIMS or offset < 0 or any(s < 0 for s in size) \
            or any(s < 0 for s in stride):
        raise fail(f"invalid tensor geometry size={list(size)} stride={list(stride)} offset={offset}")
    if 0 in size:
        return
    last = offset + sum((n - 1) * st for n, st in zip(size, stride))
    if last >= numel:
        raise fail(f"tensor of size {list(size)} with stride {list(stride)} and offset {offset} reads past its "
                   f"storage of {numel} elements")


def view_of(base: Any, size: tuple[int, ...], stride: tuple[int, ...], offset: int) -> Any:
    """The tensor of this geometry over ``base`` (a 1-D tensor holding a whole storage), as PyTorch's
    ``set_(storage, offset, size, stride)``: a view sharing its memory, ``storage_offset`` and strides
    kept, on every backend with the view kernels; a copy of its elements on any other backend."""
    from ember.functions.torch_surface import _has_view_kernels

    if _has_view_kernels(base):
        return base.as_strided(size, stride, offset)
    host = base.cpu().numpy()
    arr = np.lib.stride_tricks.as_strided(host[offset:] if 0 not in size else host[:0], shape=size,
                                          strides=tuple(s * host.itemsize for s in stride), writeable=False)
    from ember.functions.creation import from_numpy

    return from_numpy(np.array(arr, order="C", copy=True)).to(base.device)
