"""``ember.accelerator``: the device-agnostic API of PyTorch 2.6+, over ember's device types.

The accelerator is the first registered non-cpu device type whose backend is available (cuda before
opencl when both are, in registration order); without one, ``current_accelerator()`` is None and
``is_available()`` False, as in a CPU-only PyTorch.

Example:
    >>> import ember
    >>> acc = ember.accelerator.current_accelerator()
    >>> acc is None or acc.type != "cpu"
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ember import dispatch, plugins
from ember._device_module import DeviceModule
from ember.device import device as _device_cls

__all__ = ["current_accelerator", "is_available", "device_count", "current_device_index", "current_device_idx",
           "set_device_index", "set_device_idx", "synchronize", "device_index", "empty_cache",
           "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "reset_peak_memory_stats"]


def _type() -> str | None:
    for kind in plugins.device_types():
        if kind != "cpu" and DeviceModule(kind).is_available():
            return kind
    return None


def _module() -> DeviceModule:
    kind = _type()
    if kind is None:
        raise RuntimeError("no accelerator is available: ember has no non-cpu backend that can run here")
    return DeviceModule(kind)


def current_accelerator(check_available: bool = False) -> _device_cls | None:
    """The accelerator's device type as a device (``device(type='opencl')``), or None without one."""
    kind = _type()
    return None if kind is None else _device_cls(kind)


def is_available() -> bool:
    """True when an accelerator is available."""
    return _type() is not None


def device_count() -> int:
    """How many devices the accelerator has (0 without one)."""
    kind = _type()
    return 0 if kind is None else DeviceModule(kind).device_count()


def _index(device: Any) -> int:
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    dev = _device_cls(device) if isinstance(device, str) else device
    kind = _type()
    if not isinstance(dev, _device_cls):
        raise TypeError(f"expected a device, str or int, but got {type(device).__name__}")
    if dev.type != kind:
        raise ValueError(f"{dev.type} doesn't match the current accelerator {kind}.")
    return dispatch.current_index(kind) if dev.index is None else dev.index


def current_device_index() -> int:
    """The index of the accelerator's current device."""
    return _module().current_device()


def set_device_index(device: Any, /) -> None:
    """Make ``device`` (an index, or a device of the accelerator's type) current; a negative index is a no-op."""
    mod = _module()
    idx = _index(device)
    if idx >= 0:
        mod.set_device(idx)


current_device_idx = current_device_index  # PyTorch's older names
set_device_idx = set_device_index


def synchronize(device: Any = None, /) -> None:
    """Wait for the work queued on ``device`` (default: the current one)."""
    _module().synchronize(None if device is None else _index(device))


@contextlib.contextmanager
def device_index(device: int | None, /) -> Iterator[None]:
    """Within the block, ``device`` is the current device (None: unchanged)."""
    if device is None:
        yield
        return
    before = current_device_index()
    set_device_index(device)
    try:
        yield
    finally:
        set_device_index(before)


def empty_cache() -> None:
    if is_available():
        _module().empty_cache()


def memory_allocated(device: Any = None, /) -> int:
    return _module().memory_allocated(None if device is None else _index(device))


def max_memory_allocated(device: Any = None, /) -> int:
    return _module().max_memory_allocated(None if device is None else _index(device))


def memory_reserved(device: Any = None, /) -> int:
    return _module().memory_reserved(None if device is None else _index(device))


def max_memory_reserved(device: Any = None, /) -> int:
    return _module().max_memory_reserved(None if device is None else _index(device))


def reset_peak_memory_stats(device: Any = None, /) -> None:
    _module().reset_peak_memory_stats(None if device is None else _index(device))
