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
import functools
import importlib.metadata
import os
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator

from ember import plugins
from ember._composites import bind as _bind_composite
from ember.device import device
from ember.kernels import KERNELS as _SPECS

__all__ = ["KernelTable", "FallbackError", "MissingKernelError", "DeviceError", "table", "native_kernels",
           "set_fallback_policy", "get_fallback_policy", "fallback_policy", "no_fallback",
           "fallback_counts", "reset_fallback_counts", "canonical_device", "transfer", "wrap_kernels"]

_POLICIES = ("warn", "allow", "error")


class FallbackError(RuntimeError):
    """A backend lacks a kernel and the fallback policy forbids running it on the CPU."""


class MissingKernelError(NotImplementedError):
    """A backend lacks a kernel that cannot run as a CPU fallback (one returning a view, writing
    into its arguments...): raised under every fallback policy, because a fallback would be wrong."""


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
    """``{kernel name: callable}`` for one device type; a missing name resolves to its on-device
    composite when it has one, else falls back to the CPU."""

    def __init__(self, device_type: str, kernels: dict, backend) -> None:
        super().__init__(kernels)
        self.device_type = device_type
        self.backend = backend
        self.native = frozenset(kernels)

    def __missing__(self, name: str) -> Callable:
        # An optional kernel with an on-device composite (ember._composites) resolves, once, to
        # that composite bound to this table: it runs on the device, never through the CPU.
        fn = _bind_composite(self, name)
        if fn is not None:
            self[name] = fn
            return fn
        if self.device_type == "cpu":
            raise NotImplementedError(f"the cpu backend has no kernel named {name!r}")
        spec = _SPECS.get(name)
        if spec is not None and spec.native_only:
            fn = _make_refusal(self.device_type, name, spec.native_only)
        else:
            fn = _make_fallback(self, name)
        self[name] = fn
        return fn

    def has(self, name: str) -> bool:
        """True when the backend implements ``name`` natively (no fallback)."""
        return name in self.native


def _make_refusal(dev_type: str, name: str, why: str) -> Callable:
    """The table entry of a kernel that must be native: it raises, whatever the policy."""
    message = (f"the {dev_type} backend has no {name!r} kernel, and {name!r} cannot fall back to the CPU: "
               f"{why}. The {dev_type} backend must implement {name!r} (see docs/writing-a-backend.md)")

    def refused(*args):
        raise MissingKernelError(message)

    refused.__name__ = f"refused_{name}"
    return refused


def _index_position(name: str) -> int | None:
    """Where a creation kernel takes its device index (``empty(shape, dtype, index)``), if it does."""
    spec = _SPECS.get(name)
    if spec is None:
        return None
    params = [p.strip() for p in spec.signature.split("(", 1)[1].split(")", 1)[0].split(",")]
    return params.index("index") if "index" in params else None


def _make_fallback(tbl: KernelTable, name: str) -> Callable:
    dev_type = tbl.device_type
    reason = tbl.backend.unsupported.get(name, "")
    index_at = _index_position(name)

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
        # A creation kernel names its device; otherwise the result goes where the inputs are.
        index = (args[index_at] or 0) if index_at is not None and index_at < len(args) else 0

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
    with plugins.LOCK:
        cpu_be = plugins.backend("cpu")
        _HOST_TYPES = tuple(cpu_be.array_types) if cpu_be is not None else ()
        for dev_type, tbl in list(_tables.items()):
            be = plugins.backend(dev_type)
            kernels = plugins.collect_kernels(dev_type) if be is not None else {}
            be = plugins.backend(dev_type)  # collecting may have disabled a broken backend
            tbl.clear()
            if be is None:
                _tables.pop(dev_type, None)
                continue
            tbl.update(kernels)
            tbl.native = frozenset(kernels)
            tbl.backend = be
            if dev_type in _fork_unusable:
                _forbid(tbl)
        # Devices stay interned while their type is registered: tensors compare them by identity,
        # so re-creating them would set tensors made before a plugin change apart from later ones.
        for key in [k for k in _devices if plugins.backend(k[0]) is None]:
            del _devices[key]
        for name in [n for n, d in _names.items() if plugins.backend(d.type) is None]:
            del _names[name]
        _install_device_modules()


def table(device_type: str) -> KernelTable:
    """The kernel table of a device type (built on first use, once, whatever the threads)."""
    tbl = _tables.get(device_type)
    if tbl is None:
        with plugins.LOCK:
            tbl = _tables.get(device_type)
            if tbl is None:
                tbl = _build_table(device_type)
    return tbl


def _build_table(device_type: str) -> KernelTable:
    global _HOST_TYPES
    if plugins.backend(device_type) is None:
        raise _unknown_device(device_type)
    kernels = plugins.collect_kernels(device_type)
    be = plugins.backend(device_type)  # collecting may have disabled a broken backend
    if be is None:
        raise _unknown_device(device_type)
    if device_type == "cpu":
        _HOST_TYPES = tuple(be.array_types)
    tbl = KernelTable(device_type, kernels, be)
    if device_type != "cpu":
        # a device's ops run Python of their own several frames deep: keep CPython's frame-stack
        # chunks from being remapped per op at unlucky caller depths (the cpu backend does this
        # when it first loads numba; here numba is imported, ~0.3 s, once per process)
        from ember import _frame_stack

        _frame_stack.install()
    if device_type in _fork_unusable:
        _forbid(tbl)
    _tables[device_type] = tbl
    _install_device_modules()
    return tbl


def _install_device_modules() -> None:
    """``ember.<type>`` and ``Tensor.<type>()`` for every registered device type (ember._device_module)."""
    from ember import _device_module  # late: it imports this module

    _device_module.install_all()


# ---- fork ---------------------------------------------------------------------------------------
#: device types whose runtime was up when this process was forked from its parent: unusable here
_fork_unusable: set[str] = set()


def _forbid(tbl: KernelTable) -> None:
    """Make every kernel of ``tbl`` raise: its runtime belongs to the parent process."""
    message = (f"ember: the {tbl.device_type} runtime was started before this process was forked, and a "
               f"forked child cannot use it (it would hang or crash). Start worker processes with "
               f"'spawn' or 'forkserver' instead, e.g. DataLoader(..., multiprocessing_context='spawn')")

    def forbidden(*args, **kwargs):
        raise RuntimeError(message)

    for name in set(tbl) | set(_SPECS):
        tbl[name] = forbidden


def _after_fork_in_child() -> None:
    # The child sees the parent's memory: ask each backend whether its runtime was up. No lock:
    # only the forking thread exists in the child, and the lock may have been held by another.
    for dev_type, be in list(plugins._registry.backends.items()):
        try:
            safe = be.fork_safe()
        except Exception:
            safe = False
        if not safe:
            _fork_unusable.add(dev_type)
            tbl = _tables.get(dev_type)
            if tbl is not None:
                _forbid(tbl)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def wrap_kernels(wrap: Callable[[KernelTable, str, Callable], Callable], *,
                 with_fallbacks: bool = False) -> Callable[[], None]:
    """Replace every entry of every device type's kernel table by ``wrap(table, name, kernel)``;
    returns the function that puts the originals back. How ``ember.profiler``, ``ember.onnx`` and
    ``ember.compile`` watch kernels at no cost when they are off: the tables are plain dicts.
    ``with_fallbacks`` first creates the CPU-fallback entries of the required kernels a device
    lacks, so that those are wrapped too (otherwise they appear on first use, unwrapped).

    Example:
        >>> import ember
        >>> seen = []
        >>> def spy(tbl, name, fn):
        ...     return lambda *args: (seen.append(name), fn(*args))[1]
        >>> restore = wrap_kernels(spy)
        >>> _ = ember.ones(2) + 1
        >>> restore()
        >>> "add" in seen
        True
    """
    from ember.kernels import REQUIRED

    wrapped: list[tuple[KernelTable, str, Callable]] = []
    for device_type in plugins.device_types():
        try:
            tbl = table(device_type)
        except Exception:  # noqa: BLE001 - a device type that cannot build its table runs no kernel to watch
            continue
        if with_fallbacks and device_type != "cpu":
            for name in REQUIRED - set(tbl):
                tbl[name]
        for name, fn in list(tbl.items()):
            tbl[name] = wrap(tbl, name, fn)
            wrapped.append((tbl, name, fn))

    def restore() -> None:
        for tbl, name, fn in reversed(wrapped):
            tbl[name] = fn
        wrapped.clear()

    return restore


def native_kernels(device_type: str) -> frozenset:
    return table(device_type).native


def install_hint(device_type: str) -> str:
    """The command that installs a backend for ``device_type``, or "" when none is known.

    A registered backend answers with its declared :attr:`ember.backend.Backend.install_hint`. A
    device type with no backend installed has no ``Backend`` to ask, so the packaging metadata
    answers: when the ``ember`` distribution declares an extra of that name (``Provides-Extra``),
    the hint is ``pip install 'ember[<type>]'``.

    Example:
        >>> from ember import dispatch
        >>> dispatch.install_hint("no-such-device-type")
        ''
    """
    be = plugins.backend(device_type)
    if be is not None and be.install_hint:
        return be.install_hint
    return f"pip install 'ember[{device_type}]'" if device_type in _ember_extras() else ""


@functools.cache
def _ember_extras() -> frozenset[str]:
    """The extras of the installed ``ember`` distribution (its ``Provides-Extra`` metadata)."""
    try:
        return frozenset(importlib.metadata.metadata("ember").get_all("Provides-Extra") or ())
    except Exception:  # a bare source tree (no metadata) or a broken install: no hint, never an error
        return frozenset()


def _unknown_device(device_type: str) -> DeviceError:
    broken = [r for r in plugins.load_errors() if r.device_type == device_type]
    if broken:  # its plugin is installed but was disabled: say why instead of "install it"
        return DeviceError(f"device type {device_type!r} is not usable: its backend plugin from package "
                           f"{broken[-1].package!r} {broken[-1].reason} ({broken[-1].error})")
    hint = install_hint(device_type) or f"install a backend package registering the device type {device_type!r}"
    return DeviceError(f"unknown device type {device_type!r}: the registered device types are "
                       f"{', '.join(plugins.device_types()) or 'none'}; to add it, {hint}")


#: device strings already resolved to a device that does not depend on the current index
_names: dict[str, device] = {}

#: ``ember.set_default_device``: the device ``canonical_device(None)`` means (None: the cpu)
_default_device: device | None = None


def set_default_device(dev: device | None) -> None:
    """Where factories put tensors without ``device=`` (an interned device, or None for the cpu)."""
    global _default_device
    _default_device = dev


def canonical_device(dev: device | str | int | None) -> device:
    """Validate a device and return its interned form (``"opencl"`` -> ``opencl:<current>``).

    None is the default device (``ember.set_default_device``), the cpu unless set.
    """
    if dev.__class__ is str:  # "cpu", "opencl:0": the common spelling, one dict lookup once seen
        hit = _names.get(dev)
        if hit is not None:
            return hit
    if isinstance(dev, device):
        key = (dev.type, dev.index)
        hit = _devices.get(key)
        if hit is not None:
            return hit
    elif dev is None:
        return _default_device or _names.get("cpu") or canonical_device("cpu")
    elif isinstance(dev, int):
        dev = device(_accelerator_type(), dev)
    else:
        name, dev = dev, device(dev)
        key = (dev.type, dev.index)
        hit = _devices.get(key)
        if hit is not None:
            if dev.index is not None or hit.index is None:  # "opencl" follows the current index: not kept
                _names[name] = hit
            return hit
    key = (dev.type, dev.index)
    hit = _devices.get(key)
    if hit is not None:
        return hit
    be = plugins.backend(dev.type)
    if be is None:
        raise _unknown_device(dev.type)
    if dev.type == "cpu" or dev.type == "meta":  # one device each, written without an index
        if dev.index not in (None, 0):
            raise DeviceError(f"the {dev.type} device has only index 0, got {dev}")
        result = device(dev.type)
    else:
        if not be.is_available():
            hint = install_hint(dev.type)
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


def _accelerator_type() -> str:
    """The device type a bare index means (``device=0``): the current accelerator, as in PyTorch 2.x."""
    from ember import accelerator  # late: ember.accelerator imports this module

    acc = accelerator.current_accelerator()
    if acc is None:
        raise DeviceError("Cannot access accelerator device when none is available.")
    return acc.type


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
