"""Finding backends: entry points in the group ``ember.backends``, loaded one at a time.

A plugin that fails to import or register becomes a warning and a row in the device report
(``ember devices``); the others still load. Plugins can also be registered at run time:

    >>> import ember
    >>> [row.device_type for row in ember.plugins.report() if row.device_type == "cpu"]
    ['cpu']
"""

from __future__ import annotations

import importlib.metadata
import warnings
from dataclasses import dataclass, field

import pluggy

from ember import hookspecs

__all__ = ["ENTRY_POINT_GROUP", "BackendRow", "register", "report", "backend", "device_types",
           "load_errors"]

ENTRY_POINT_GROUP = "ember.backends"


@dataclass
class BackendRow:
    """One line of the device report."""

    device_type: str
    package: str
    version: str
    available: bool
    reason: str = ""
    devices: list[str] = field(default_factory=list)
    native_kernels: int = 0
    error: str = ""


class _Registry:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.backends: dict[str, object] = {}
        self.packages: dict[str, tuple[str, str]] = {}  # device type -> (package, version)
        self.errors: list[BackendRow] = []
        self.owned: dict[int, list[str]] = {}  # id(plugin) -> device types it registered
        self.loaded = False

    def load_entry_points(self) -> None:
        self.loaded = True
        try:
            eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken metadata directory must not break import
            warnings.warn(f"ember: could not list backend entry points: {exc}", RuntimeWarning, stacklevel=2)
            return
        # The CPU backend first, so other backends can be described against it.
        for ep in sorted(eps, key=lambda e: (e.name != "cpu", e.name)):
            dist = getattr(ep, "dist", None)
            package = dist.metadata["Name"] if dist is not None else ep.value
            version = dist.version if dist is not None else "?"
            try:
                plugin = ep.load()
                self.register(plugin, package=package, version=version, name=ep.name)
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                warnings.warn(
                    f"ember: backend plugin {ep.name!r} from package {package!r} failed to load: {message}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self.errors.append(BackendRow(ep.name, package, version, False, "failed to load", error=message))

    def register(self, plugin: object, package: str = "", version: str = "", name: str | None = None) -> None:
        self.pm.register(plugin, name=name)
        impl = getattr(plugin, "ember_backend", None)
        if impl is not None:
            be = impl()
            if be is not None:
                if not be.device_type:
                    self.pm.unregister(plugin)
                    raise ValueError(f"backend from {package or plugin!r} has no device_type")
                self.backends[be.device_type] = be
                self.packages[be.device_type] = (package or type(be).__module__.split(".")[0], version)
                self.owned.setdefault(id(plugin), []).append(be.device_type)


_registry = _Registry()


def _ensure_loaded() -> _Registry:
    if not _registry.loaded:
        _registry.load_entry_points()
    return _registry


def register(plugin: object, package: str = "", version: str = "") -> None:
    """Register a plugin module or object at run time (tests, notebooks, local kernels).

    Kernel tables are rebuilt, so the plugin's kernels take effect for the next op.
    """
    from ember import dispatch

    _ensure_loaded().register(plugin, package=package, version=version)
    dispatch.rebuild()


def unregister(plugin: object) -> None:
    """Remove a plugin registered with :func:`register` and rebuild the kernel tables."""
    from ember import dispatch

    reg = _ensure_loaded()
    for dev_type in reg.owned.pop(id(plugin), []):
        reg.backends.pop(dev_type, None)
        reg.packages.pop(dev_type, None)
    reg.pm.unregister(plugin)
    dispatch.rebuild()


def collect_kernels(device_type: str) -> dict:
    """Merge every plugin's kernels for ``device_type``; the first-called plugin wins."""
    results = _ensure_loaded().pm.hook.ember_kernels(device_type=device_type)
    merged: dict = {}
    for table in reversed(results):  # lowest priority first, so higher ones overwrite
        merged.update(table)
    return merged


def find_transfer(src_type: str, dst_type: str):
    for fn in _ensure_loaded().pm.hook.ember_transfer(src_type=src_type, dst_type=dst_type):
        if fn is not None:
            return fn
    return None


def backend(device_type: str):
    """The :class:`ember.backend.Backend` registered for ``device_type``, or None."""
    return _ensure_loaded().backends.get(device_type)


def device_types() -> list[str]:
    """Registered device types, CPU first."""
    return list(_ensure_loaded().backends)


def load_errors() -> list[BackendRow]:
    return list(_ensure_loaded().errors)


def report() -> list[BackendRow]:
    """One row per registered backend and per plugin that failed to load."""
    from ember import dispatch

    reg = _ensure_loaded()
    rows = []
    for dev_type, be in reg.backends.items():
        package, version = reg.packages.get(dev_type, ("?", "?"))
        try:
            available = bool(be.is_available())
            reason = "" if available else be.unavailable_reason()
            devices = [f"{dev_type}:{i} ({be.device_name(i)})" for i in range(be.device_count())] if available else []
        except Exception as exc:  # a backend's probe must not break the report
            available, reason, devices = False, f"{type(exc).__name__}: {exc}", []
        rows.append(BackendRow(dev_type, package, version, available, reason, devices,
                               len(dispatch.native_kernels(dev_type))))
    return rows + list(reg.errors)
