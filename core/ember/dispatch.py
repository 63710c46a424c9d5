"""The only module that reaches a backend: kernel tables, devices, transfers and CPU fallback.

Per-op dispatch is a dict lookup: every tensor holds its device's :class:`KernelTable`, and an
op does ``t._kt["add"](a, b)``. Tables are built once from the plugins; a name a backend lacks
resolves (once) to a fallback wrapper that moves the inputs to the CPU, runs the CPU kernel
and moves the result back, under the fallback policy.

Example:
    >>> import ember
    >>> with ember.fallback_policy("error"):
    ...     (ember.ones(2) + 1).tolist()
    [2.0, 2.0]
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator

from ember import plugins
from ember.device import device

__all__ = ["KernelTable", "FallbackError", "DeviceError", "table", "native_kernels",
           "set_fallback_policy", "get_fallback_policy", "fallback_policy", "no_fallback",
           "fallback_counts", "reset_fallback_counts", "canonical_device", "transfer"]

_POLICIES = ("warn", "allow", "error")


class FallbackError(RuntimeError):
    """A backend lacks a kernel and the fallback policy forbids running it on the CPU."""


class DeviceError(RuntimeError):
    """An unknown or unavailable device, or a device index out of range."""


class _State(threading.local):
    policy = "warn"


_state = _State()
_counts: Counter = Counter()
_warned: set = set()


def set_fallback_policy(policy: str) -> None:
    """``"warn"`` (default: warn once per op), ``"allow"`` (silent) or ``"error"``."""
    if policy not in _POLICIES:
        raise ValueError(f"fallback policy must be one of {_POLICIES}, got {policy!r}")
    _state.policy = policy


def get_fallback_policy() -> str:
    return _state.policy


@contextlib.contextmanager
def fallback_policy(policy: str) -> Iterator[None]:
    """Set the fallback policy inside a ``with`` block, restoring the old one after."""
    old = _state.policy
    set_fallback_policy(policy)
    try:
        yield
    finally:
        _state.policy = old


def no_fallback():
    """Forbid CPU fallback inside a ``with`` block: a missing kernel raises FallbackError."""
    return fallback_policy("error")


def fallback_counts() -> dict[tuple[str, str], int]:
    """How many times each ``(device_type, kernel)`` ran on the CPU instead of its device."""
    return dict(_counts)


def reset_fallback_counts() -> None:
    _counts.clear()
    _warned.clear()


class KernelTable(dict):
    """``{kernel name: callable}`` for one device type; missing names fall back to the CPU."""

    def __init__(self, device_type: str, kernels: dict, backend) -> None:
        super().__init__(kernels)
        self.device_type = device_type
        self.backend = backend
        self.native = frozenset(kernels)

    def __missing__(self, name: str) -> Callable:
        if self.device_type == "cpu":
            raise NotImplementedError(f"the cpu backend has no kernel named {name!r}")
        fn = _make_fallback(self, name)
        self[name] = fn
        return fn

    def has(self, name: str) -> bool:
        """True when the backend implements ``name`` natively (no fallback)."""
        return name in self.native


def _make_fallback(tbl: KernelTable, name: str) -> Callable:
    dev_type = tbl.device_type
    reason = getattr(tbl.backend, "unsupported", {}).get(name, "")

    def fallback(*args):
        policy = _state.policy
        if policy == "error":
            why = f" ({reason})" if reason else ""
            raise FallbackError(
                f"the {dev_type} backend has no kernel for {name!r}{why}, and falling back to "
                f"the CPU is forbidden by the fallback policy 'error'")
        _counts[(dev_type, name)] += 1
        if policy == "warn" and (dev_type, name) not in _warned:
            _warned.add((dev_type, name))
            warnings.warn(f"ember: {dev_type} has no kernel for {name!r}; running it on the CPU "
                          f"(set ember.set_fallback_policy('allow') to silence, 'error' to forbid)",
                          RuntimeWarning, stacklevel=3)
        cpu = table("cpu")
        to_host, from_host = tbl["to_host"], tbl["from_host"]
        index = 0

        def down(a):
            nonlocal index
            if isinstance(a, (list, tuple)):
                return type(a)(down(x) for x in a)
            if hasattr(a, "shape") and not isinstance(a, _HOST_TYPES):
                index = tbl["device_index"](a)
                return cpu["from_host"](to_host(a), None)
            return a

        out = cpu[name](*[down(a) for a in args])

        def up(r):
            if isinstance(r, tuple):
                return tuple(up(x) for x in r)
            if hasattr(r, "shape"):
                return from_host(cpu["to_host"](r), index)
            return r

        return up(out)

    fallback.__name__ = f"fallback_{name}"
    return fallback


_HOST_TYPES: tuple = ()
_tables: dict[str, KernelTable] = {}
_devices: dict[tuple[str, int | None], device] = {}
_current_index: dict[str, int] = {}


def rebuild() -> None:
    """Refill every kernel table from the plugins, in place (tensors keep their table)."""
    global _HOST_TYPES
    cpu_be = plugins.backend("cpu")
    _HOST_TYPES = tuple(getattr(cpu_be, "array_types", ())) if cpu_be is not None else ()
    for dev_type, tbl in list(_tables.items()):
        be = plugins.backend(dev_type)
        tbl.clear()
        if be is None:
            del _tables[dev_type]
            continue
        kernels = plugins.collect_kernels(dev_type)
        tbl.update(kernels)
        tbl.native = frozenset(kernels)
        tbl.backend = be
    _devices.clear()


def table(device_type: str) -> KernelTable:
    """The kernel table of a device type (built on first use)."""
    tbl = _tables.get(device_type)
    if tbl is None:
        be = plugins.backend(device_type)
        if be is None:
            raise _unknown_device(device_type)
        if device_type == "cpu":
            global _HOST_TYPES
            _HOST_TYPES = tuple(getattr(be, "array_types", ()))
        tbl = _tables[device_type] = KernelTable(device_type, plugins.collect_kernels(device_type), be)
    return tbl


def native_kernels(device_type: str) -> frozenset:
    return table(device_type).native


_EXTRAS = {"cuda": "pip install 'ember[cuda]'", "opencl": "pip install 'ember[opencl]'"}


def _unknown_device(device_type: str) -> DeviceError:
    hint = _EXTRAS.get(device_type, f"install a backend package registering the device type {device_type!r}")
    return DeviceError(f"unknown device type {device_type!r}: the registered device types are "
                       f"{', '.join(plugins.device_types()) or 'none'}; to add it, {hint}")


def canonical_device(dev: device | str | int | None) -> device:
    """Validate a device and return its interned form (``"opencl"`` -> ``opencl:<current>``)."""
    if isinstance(dev, device):
        key = (dev.type, dev.index)
        hit = _devices.get(key)
        if hit is not None:
            return hit
    elif dev is None:
        return canonical_device("cpu")
    elif isinstance(dev, int):
        dev = device("cuda", dev)
    else:
        dev = device(dev)
    key = (dev.type, dev.index)
    hit = _devices.get(key)
    if hit is not None:
        return hit
    be = plugins.backend(dev.type)
    if be is None:
        raise _unknown_device(dev.type)
    if dev.type == "cpu":
        if dev.index not in (None, 0):
            raise DeviceError(f"the cpu device has only index 0, got {dev}")
        result = device("cpu")
    else:
        if not be.is_available():
            hint = getattr(be, "install_hint", "") or _EXTRAS.get(dev.type, "")
            raise DeviceError(f"device {dev} is not available: {be.unavailable_reason()}"
                              + (f" (install: {hint})" if hint else ""))
        index = _current_index.get(dev.type, 0) if dev.index is None else dev.index
        count = be.device_count()
        if index >= count:
            raise DeviceError(f"invalid device {dev.type}:{index}: only {count} {dev.type} device(s) present")
        result = _devices.get((dev.type, index)) or device(dev.type, index)
        _devices[(dev.type, index)] = result
    _devices[key] = result
    return result


def set_current_index(device_type: str, index: int) -> None:
    canonical_device(device(device_type, index))
    _current_index[device_type] = index
    for key in [k for k in _devices if k[0] == device_type and k[1] is None]:
        del _devices[key]


def current_index(device_type: str) -> int:
    return _current_index.get(device_type, 0)


def transfer(data, src: device, dst: device):
    """Copy a payload between devices, through the host unless a plugin offers a direct path."""
    if src.type == dst.type and src.index == dst.index:
        return data
    direct = plugins.find_transfer(src.type, dst.type)
    if direct is not None:
        return direct(data, dst.index)
    host = table(src.type)["to_host"](data)
    return table(dst.type)["from_host"](host, dst.index)
