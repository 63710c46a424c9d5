"""Finding backends: entry points in the group ``ember.backends``, loaded one at a time.

A plugin that fails to import or register becomes a warning and a row in the device report
(``ember devices``); the others still load. Plugins can also be registered at run time:

    >>> import ember
    >>> [row.device_type for row in ember.plugins.report() if row.device_type == "cpu"]
    ['cpu']
"""

from __future__ import annotations

import importlib.metadata
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import pluggy

from ember import hookspecs
from ember.backend import Backend
from ember.kernels import TRANSFER

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
    """The plugin manager plus what each plugin registered. Every change happens under ``LOCK``."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.backends: dict[str, object] = {}
        self.packages: dict[str, tuple[str, str]] = {}  # device type -> (package, version)
        self.errors: list[BackendRow] = []
        self.owned: dict[int, list[str]] = {}  # id(plugin) -> device types it registered
        self.owner: dict[str, object] = {}  # device type -> the plugin that registered it
        self.meta: dict[int, tuple[str, str, str]] = {}  # id(plugin) -> (name, package, version)
        self.loaded = False
        self.loading = False

    def load_entry_points(self) -> None:
        # The meta device ships with the frontend (as PyTorch's): registered first, like a plugin,
        # so a third-party package cannot take its name.
        from ember import _meta_device

        self.register(_meta_device, package="ember", version=_ember_version(), name="meta")
        try:
            eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken metadata directory must not break import
            warnings.warn(f"ember: could not list backend entry points: {exc}", RuntimeWarning, stacklevel=2)
            return
        # The CPU backend first, so other backends can be described against it. A device type
        # belongs to the first plugin that registers it, so the order is fixed (name, package).
        for package, ep in sorted(((_package(ep), ep) for ep in eps),
                                  key=lambda pe: (pe[1].name != "cpu", pe[1].name, pe[0])):
            dist = getattr(ep, "dist", None)
            version = dist.version if dist is not None else "?"
            try:
                plugin = ep.load()
                self.register(plugin, package=package, version=version, name=ep.name)
            except _ABORTS:
                raise
            except BaseException as exc:  # sys.exit() in a plugin must not end the program either
                self.fail(ep.name, package, version, "failed to load", exc)

    def fail(self, name: str, package: str, version: str, status: str, exc: BaseException) -> None:
        """Warn about a plugin that broke and keep a row for ``ember devices``."""
        message = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"ember: backend plugin {name!r} from package {package!r} {status}: {message}",
                      RuntimeWarning, stacklevel=4)
        self.errors.append(BackendRow(name, package, version, False, status, error=message))

    def register(self, plugin: object, package: str = "", version: str = "", name: str | None = None) -> None:
        """Register ``plugin``, or raise and leave nothing of it registered (no kernels either)."""
        be = self._call_backend_hook(plugin, package)
        self.pm.register(plugin, name=name)
        dev_name = be.device_type if be is not None else ""  # a plugin may add kernels only (no Backend)
        self.meta[id(plugin)] = (name or dev_name or _plugin_name(plugin), package, version)
        if be is not None:
            dev_type = be.device_type
            self.backends[dev_type] = be
            self.packages[dev_type] = (package or type(be).__module__.split(".")[0], version)
            self.owned.setdefault(id(plugin), []).append(dev_type)
            self.owner[dev_type] = plugin

    def _call_backend_hook(self, plugin: object, package: str):
        impl = getattr(plugin, "ember_backend", None)
        be = impl() if impl is not None else None
        if be is None:
            return None
        if not isinstance(be, Backend):
            raise TypeError(f"ember_backend() of {package or plugin!r} returned {type(be).__name__}, "
                            "not an ember.backend.Backend")
        if not isinstance(be.device_type, str) or not be.device_type:
            raise ValueError(f"backend from {package or plugin!r} has no device_type")
        if be.device_type in self.backends:
            other = self.packages.get(be.device_type, ("?", "?"))[0]
            raise ValueError(f"device type {be.device_type!r} is already registered by package {other!r}; "
                             f"{package or type(be).__module__.split('.')[0]!r} may not take it over")
        return be

    def remove(self, plugin: object) -> None:
        for dev_type in self.owned.pop(id(plugin), []):
            self.backends.pop(dev_type, None)
            self.packages.pop(dev_type, None)
            self.owner.pop(dev_type, None)
        self.meta.pop(id(plugin), None)
        if self.pm.is_registered(plugin):
            self.pm.unregister(plugin)

    def disable(self, plugin: object, status: str, exc: BaseException) -> None:
        """Unregister a plugin that broke the contract after registration, with a warning and a row."""
        name, package, version = self.meta.get(id(plugin), (_plugin_name(plugin), "?", "?"))
        self.remove(plugin)
        self.fail(name, package, version, status, exc)

    def collect(self, device_type: str) -> dict:
        """Merge every plugin's kernels for ``device_type``: lowest priority first, so higher ones
        overwrite. A plugin whose hook raises or returns something other than a mapping of names
        to callables is disabled; so is a backend left without the kernels a fallback needs."""
        merged: dict = {}
        for impl in list(self.pm.hook.ember_kernels.get_hookimpls()):
            try:
                table = _valid_kernels(impl.function(**{a: device_type for a in impl.argnames}), device_type)
            except _ABORTS:
                raise
            except BaseException as exc:
                self.disable(impl.plugin, f"broke ember_kernels({device_type!r})", exc)
                continue
            merged.update(table or {})
        missing = sorted(TRANSFER - set(merged)) if device_type != "cpu" else []
        owner = self.owner.get(device_type)
        if missing and owner is not None:
            self.disable(owner, "lacks runtime kernels", NotImplementedError(
                f"no {', '.join(missing)} kernel for {device_type!r}: nothing can run on it, not even a CPU "
                "fallback (see docs/writing-a-backend.md)"))
            return {}
        return merged


def _ember_version() -> str:
    from ember import __version__

    return __version__


def _package(ep) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else ep.value


def _plugin_name(plugin: object) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__name__


def _valid_kernels(table: object, device_type: str) -> dict | None:
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise TypeError(f"ember_kernels({device_type!r}) returned {type(table).__name__}, "
                        "not a mapping of kernel names to callables")
    bad = [k for k, v in table.items() if not isinstance(k, str) or not callable(v)]
    if bad:
        raise TypeError(f"ember_kernels({device_type!r}) maps {bad[0]!r} to something that is not a "
                        "callable kernel (names are str, kernels callable)")
    return dict(table)


#: BaseExceptions a plugin may raise that still stop the program (SystemExit does not).
_ABORTS = (KeyboardInterrupt,)
#: Guards loading and every change to the registry and the kernel tables (dispatch takes it
#: too). Re-entrant: a plugin's import may itself call into ember.
LOCK = threading.RLock()
_registry = _Registry()


def _ensure_loaded() -> _Registry:
    # Double-checked: after loading this is one attribute read, no lock per call.
    if _registry.loaded:
        return _registry
    with LOCK:
        if not _registry.loaded and not _registry.loading:  # loading: a plugin calling back in
            _registry.loading = True
            try:
                _registry.load_entry_points()
            finally:
                _registry.loading = False
                _registry.loaded = True
    return _registry


def register(plugin: object, package: str = "", version: str = "") -> None:
    """Register a plugin module or object at run time (tests, notebooks, local kernels).

    Kernel tables are rebuilt, so the plugin's kernels take effect for the next op. A plugin that
    breaks the contract (its ``ember_backend`` raises or returns no ``Backend``, or it claims a
    device type another package owns) raises and leaves nothing registered.
    """
    from ember import dispatch

    with LOCK:
        _ensure_loaded().register(plugin, package=package, version=version)
        dispatch.rebuild()


def unregister(plugin: object) -> None:
    """Remove a plugin registered with :func:`register` and rebuild the kernel tables."""
    from ember import dispatch

    with LOCK:
        _ensure_loaded().remove(plugin)
        dispatch.rebuild()


def collect_kernels(device_type: str) -> dict:
    """Merge every plugin's kernels for ``device_type``; the first-called plugin wins.

    A plugin found broken here is disabled (a warning and a row in ``ember devices``) and the
    tables already built are rebuilt without its kernels.
    """
    reg = _ensure_loaded()
    with LOCK:
        errors = len(reg.errors)
        merged = reg.collect(device_type)
        if len(reg.errors) != errors:
            from ember import dispatch

            dispatch.rebuild()
    return merged


def find_transfer(src_type: str, dst_type: str):
    for fn in _ensure_loaded().pm.hook.ember_transfer(src_type=src_type, dst_type=dst_type):
        if fn is not None:
            return fn
    return None


def backend(device_type: str):
    """The :class:`ember.backend.Backend` registered for ``device_type``, or None."""
    return _ensure_loaded().backends.get(device_type)


#: device types registered by ember itself that hold no data (``meta``): no device to list, to test
#: or to run kernels on for real, so ``device_types()`` and ``report()`` leave them out
HIDDEN_DEVICE_TYPES = frozenset({"meta"})


def device_types() -> list[str]:
    """Registered device types, CPU first (without ``meta``, which holds no data)."""
    return [t for t in _ensure_loaded().backends if t not in HIDDEN_DEVICE_TYPES]


def load_errors() -> list[BackendRow]:
    return list(_ensure_loaded().errors)


def report() -> list[BackendRow]:
    """One row per registered backend and per plugin that failed to load."""
    from ember import dispatch

    reg = _ensure_loaded()
    rows = []
    for dev_type, be in list(reg.backends.items()):
        if dev_type in HIDDEN_DEVICE_TYPES:
            continue
        try:
            kernels = len(dispatch.native_kernels(dev_type))
        except dispatch.DeviceError:  # building its table disabled it: it has an error row now
            continue
        package, version = reg.packages.get(dev_type, ("?", "?"))
        try:
            available = bool(be.is_available())
            reason = "" if available else be.unavailable_reason()
            devices = [f"{dev_type}:{i} ({be.device_name(i)})" for i in range(be.device_count())] if available else []
        except Exception as exc:  # a backend's probe must not break the report
            available, reason, devices = False, f"{type(exc).__name__}: {exc}", []
        rows.append(BackendRow(dev_type, package, version, available, reason, devices, kernels))
    return rows + list(reg.errors)
