"""``ember.<device type>``: the ``torch.cuda``-style module of every registered device type.

Nothing here is written for one device type. Each registered :class:`ember.backend.Backend` gets

* a module ``ember.<type>`` (``ember.opencl``, a third-party ``ember.toy``) with ``is_available``,
  ``device_count``, ``current_device``, ``set_device``, ``synchronize``, the memory statistics...,
  answered by the backend's declared protocol (``core/ember/backend.py``); it is also importable
  as ``import ember.<type>`` once the plugins are loaded;
* ``Tensor.<type>(device=None)``, ``Tensor.is_<type>`` and ``Module.<type>()``, as PyTorch
  generates them for a renamed ``privateuse1`` backend
  (``torch.utils.generate_methods_for_privateuse1_backend``), unless the class already has that
  name (``Tensor.cuda``/``Tensor.cpu`` are PyTorch's own, hand-written).

``ember.cuda`` and ``ember.cpu`` exist whether or not a backend is installed, as ``torch.cuda`` does
on a CPU-only build (``ember.cuda.is_available()`` is then False).

Example:
    >>> import ember
    >>> isinstance(ember.cuda.is_available(), bool)
    True
    >>> ember.cpu.device_count()
    1
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from ember import dispatch, plugins
from ember.dtypes import bfloat16

__all__ = ["DeviceModule", "device_module", "generated_tensor_names", "install_all", "module_attribute"]


class DeviceModule(types.ModuleType):
    """The functions PyTorch offers under ``torch.cuda``, for any registered device type."""

    def __init__(self, device_type: str) -> None:
        super().__init__(f"ember.{device_type}", f"ember.{device_type}: queries and settings of the "
                                                 f"{device_type!r} devices (as torch.cuda)")
        self.device_type = device_type
        from ember import _streams

        # Stream, Event, stream(), current_stream()... over the device's one queue (ember._streams)
        self.__dict__.update(_streams.stream_api(self))
        self.nvtx = _streams.nvtx

    def _backend(self):
        return plugins.backend(self.device_type)

    def is_available(self) -> bool:
        """True when a backend for this device type is installed and has a usable device."""
        be = self._backend()
        try:
            return bool(be is not None and be.is_available())
        except Exception:
            return False

    def unavailable_reason(self) -> str:
        """Why :meth:`is_available` is False ("" when it is True)."""
        be = self._backend()
        if be is None:
            hint = dispatch.install_hint(self.device_type)
            return f"no backend for {self.device_type!r} is installed" + (f" ({hint})" if hint else "")
        return "" if self.is_available() else be.unavailable_reason()

    def device_count(self) -> int:
        """How many devices of this type can be used (0 without a backend or a device)."""
        return self._backend().device_count() if self.is_available() else 0

    def current_device(self) -> int:
        self._require()
        return dispatch.current_index(self.device_type)

    def set_device(self, device: Any) -> None:
        index = device if isinstance(device, int) else dispatch.canonical_device(device).index
        dispatch.set_current_index(self.device_type, index)

    def get_device_name(self, device: Any = None) -> str:
        return self._backend().device_name(self._index(device))

    def is_bf16_supported(self, including_emulation: bool = True) -> bool:
        """True when the current device holds bfloat16 tensors (False when none is available, as
        ``torch.cuda.is_bf16_supported``); ``including_emulation=False`` also asks that it computes
        in bfloat16 rather than in a wider dtype. Programs choose their training dtype with it
        (nanoGPT: ``'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported()``).

        Example:
            >>> import ember
            >>> ember.cpu.is_bf16_supported(), ember.cpu.is_bf16_supported(including_emulation=False)
            (True, False)
        """
        if not self.is_available():
            return False
        index = dispatch.current_index(self.device_type)
        be = self._backend()
        if bfloat16 not in be.supported_dtypes(index):
            return False
        return including_emulation or bfloat16 not in be.emulated_dtypes(index)

    def synchronize(self, device: Any = None) -> None:
        """Wait for the work queued on ``device`` (None: every device of this type)."""
        self._require()
        index = None if device is None else self._index(device)
        self._backend().synchronize(index)

    # ---- memory: the backend's statistics, each asked with the device's index (an int) ----------
    def _index(self, device: Any) -> int:
        self._require()
        if device is None:
            return dispatch.current_index(self.device_type)
        return device if isinstance(device, int) else dispatch.canonical_device(device).index

    def memory_allocated(self, device: Any = None) -> int:
        """Bytes of the tensors alive on ``device`` (0 where the backend does not count them)."""
        return int(self._backend().memory_allocated(self._index(device)))

    def max_memory_allocated(self, device: Any = None) -> int:
        """The highest ``memory_allocated`` since the start or ``reset_peak_memory_stats``."""
        return int(self._backend().max_memory_allocated(self._index(device)))

    def memory_reserved(self, device: Any = None) -> int:
        """Bytes the backend's allocator holds: live tensors plus cached free blocks."""
        return int(self._backend().memory_reserved(self._index(device)))

    def max_memory_reserved(self, device: Any = None) -> int:
        return int(self._backend().max_memory_reserved(self._index(device)))

    def reset_peak_memory_stats(self, device: Any = None) -> None:
        """Start the peaks (``max_memory_*``) again from the current values."""
        self._backend().reset_peak_memory_stats(self._index(device))

    def empty_cache(self) -> None:
        """Give cached free blocks back to the devices (nothing to do without a device)."""
        if self.is_available():
            self._backend().empty_cache()

    def manual_seed(self, seed: int) -> None:
        from ember.random import manual_seed

        manual_seed(seed)

    manual_seed_all = manual_seed

    def _require(self) -> None:
        if not self.is_available():
            raise dispatch.DeviceError(f"{self.device_type} is not available: {self.unavailable_reason()}")


_MODULES: dict[str, DeviceModule] = {}


def device_module(device_type: str) -> DeviceModule:
    """The one ``ember.<device_type>`` module (made on first use, then importable by that name)."""
    mod = _MODULES.get(device_type)
    if mod is None:
        mod = _MODULES.setdefault(device_type, DeviceModule(device_type))
        sys.modules.setdefault(mod.__name__, mod)  # never shadows a real ember submodule
    return mod


def install_all() -> None:
    """Give every registered device type its module and Tensor helpers (after plugins change)."""
    tensor_mod = sys.modules.get("ember.tensor")  # None while ember itself is still importing
    module_mod = sys.modules.get("ember.nn.modules.module")
    for dev_type in plugins.device_types():
        device_module(dev_type)
        if tensor_mod is not None:
            _install_tensor_methods(tensor_mod.Tensor, dev_type)
        if module_mod is not None and dev_type.isidentifier() and not hasattr(module_mod.Module, dev_type):
            setattr(module_mod.Module, dev_type, _make_module_to_device(dev_type))


_SUBMODULES = Path(__file__).parent


def module_attribute(name: str) -> DeviceModule:
    """``ember.<name>`` for a registered device type (``ember.__getattr__``), or a submodule not yet
    imported (``ember._dynamo``, as ``torch._dynamo`` after ``import torch``), else AttributeError."""
    from ember._lazy_submodules import submodule

    # A submodule's name must not load the plugins (``from ember import fft`` asks the package first)
    mod = submodule("ember", _SUBMODULES, name)
    if mod is not None:
        return mod  # type: ignore[return-value]
    if not name.startswith("_"):
        if name in plugins.device_types():
            install_all()
            return device_module(name)
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


# ---- Tensor helpers -------------------------------------------------------------------------------
_GENERATED: set[str] = set()  # the Tensor attributes made here (never ops: see generated_tensor_names)


def generated_tensor_names() -> frozenset[str]:
    """The ``Tensor.<type>`` / ``Tensor.is_<type>`` attributes generated for device types so far."""
    return frozenset(_GENERATED)


def _install_tensor_methods(tensor_cls: type, device_type: str) -> None:
    if device_type.isidentifier() and not hasattr(tensor_cls, device_type):
        setattr(tensor_cls, device_type, _make_to_device(device_type))
        _GENERATED.add(device_type)
    is_name = f"is_{device_type}"
    if is_name.isidentifier() and not hasattr(tensor_cls, is_name):
        prop = property(lambda self: self.device.type == device_type,
                        doc=f"True when the tensor is on a {device_type!r} device.")
        setattr(tensor_cls, is_name, prop)
        _GENERATED.add(is_name)


def _make_to_device(device_type: str):
    def to_device(self, device: Any = None, non_blocking: bool = False):
        if device is None:
            device = device_type
        elif isinstance(device, int):
            device = f"{device_type}:{device}"
        elif dispatch.device(device).type != device_type:
            raise RuntimeError(f"Invalid device, must be {device_type} device")
        return self.to(device)

    to_device.__name__ = to_device.__qualname__ = device_type
    to_device.__doc__ = (f"A copy of the tensor on a {device_type!r} device (``t.{device_type}()``: the current "
                         f"one; ``t.{device_type}(1)``: {device_type}:1), or the tensor itself when it is there "
                         f"already: ``t.to('{device_type}')``.")
    return to_device


def _make_module_to_device(device_type: str):
    def to_device(self, device: Any = None):
        return self._apply(lambda t: getattr(t, device_type)(device))

    to_device.__name__ = to_device.__qualname__ = device_type
    to_device.__doc__ = (f"Move every parameter and buffer to a {device_type!r} device (``m.{device_type}()``, "
                         f"``m.{device_type}(1)``), as ``Module.cuda``.")
    return to_device
