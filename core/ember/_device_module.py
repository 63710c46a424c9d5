"""``ember.cuda`` / ``ember.opencl``-style namespaces: availability and device queries per type.

Example:
    >>> import ember
    >>> isinstance(ember.opencl.is_available(), bool)
    True
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from ember import dispatch, plugins

__all__ = ["DeviceModule"]


class DeviceModule(types.ModuleType):
    """The functions PyTorch offers under ``torch.cuda``, for any registered device type."""

    def __init__(self, device_type: str) -> None:
        super().__init__(f"ember.{device_type}")
        self.device_type = device_type

    def _backend(self):
        return plugins.backend(self.device_type)

    def is_available(self) -> bool:
        be = self._backend()
        try:
            return bool(be is not None and be.is_available())
        except Exception:
            return False

    def unavailable_reason(self) -> str:
        be = self._backend()
        if be is None:
            return f"no backend for {self.device_type!r} is installed (pip install 'ember[{self.device_type}]')"
        return "" if self.is_available() else be.unavailable_reason()

    def device_count(self) -> int:
        return self._backend().device_count() if self.is_available() else 0

    def current_device(self) -> int:
        self._require()
        return dispatch.current_index(self.device_type)

    def set_device(self, device: Any) -> None:
        index = device if isinstance(device, int) else dispatch.canonical_device(device).index
        dispatch.set_current_index(self.device_type, index)

    def get_device_name(self, device: Any = None) -> str:
        self._require()
        index = self.current_device() if device is None else (device if isinstance(device, int) else dispatch.canonical_device(device).index)
        return self._backend().device_name(index)

    def synchronize(self, device: Any = None) -> None:
        self._require()
        index = None if device is None else (device if isinstance(device, int) else dispatch.canonical_device(device).index)
        self._backend().synchronize(index)

    # ---- memory: optional backend hooks, each called with the device's index (an int) --------
    def _index(self, device: Any) -> int:
        self._require()
        if device is None:
            return dispatch.current_index(self.device_type)
        return device if isinstance(device, int) else dispatch.canonical_device(device).index

    def _memory(self, name: str, device: Any, default: Callable[[int], int] | None = None) -> int:
        index = self._index(device)
        fn = getattr(self._backend(), name, None)
        if fn is not None:
            return int(fn(index))
        return default(index) if default is not None else 0

    def memory_allocated(self, device: Any = None) -> int:
        """Bytes of the tensors alive on ``device`` (0 where the backend does not count them)."""
        return self._memory("memory_allocated", device)

    def max_memory_allocated(self, device: Any = None) -> int:
        """The highest ``memory_allocated`` since the start or ``reset_peak_memory_stats``."""
        return self._memory("max_memory_allocated", device, self.memory_allocated)

    def memory_reserved(self, device: Any = None) -> int:
        """Bytes the backend's allocator holds: live tensors plus cached free blocks."""
        return self._memory("memory_reserved", device, self.memory_allocated)

    def max_memory_reserved(self, device: Any = None) -> int:
        return self._memory("max_memory_reserved", device, self.memory_reserved)

    def reset_peak_memory_stats(self, device: Any = None) -> None:
        """Start the peaks (``max_memory_*``) again from the current values."""
        index = self._index(device)
        fn = getattr(self._backend(), "reset_peak_memory_stats", None)
        if fn is not None:
            fn(index)

    def empty_cache(self) -> None:
        if self.is_available():
            fn = getattr(self._backend(), "empty_cache", None)
            if fn:
                fn()

    def manual_seed(self, seed: int) -> None:
        from ember.random import manual_seed

        manual_seed(seed)

    manual_seed_all = manual_seed

    def _require(self) -> None:
        if not self.is_available():
            raise dispatch.DeviceError(f"{self.device_type} is not available: {self.unavailable_reason()}")
