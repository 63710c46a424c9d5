"""PyTorch's zip checkpoints (``torch.save`` since 1.6), read without PyTorch and without running code.

``data.pkl`` goes through a restricted unpickler that only builds tensors, storages, dtypes,
``OrderedDict``, sets, ``torch.Size`` and ``torch.device``; anything else is a
:class:`WeightsOnlyLoadError`. A tensor keeps PyTorch's storage semantics where that costs no
memory: each storage is read once (its declared size checked against the pickle's element count
before a byte is inflated), CPU tensors are strided views of it (so tensors that shared a storage
in PyTorch share memory in ember), and an expanded (stride-0) dimension stays a zero-stride view.
Only a geometry whose elements may overlap in other ways is copied, and every copy counts
against the load's byte budget.
"""

from __future__ import annotations

import collections
import math
import pickle
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ember.serialization import _safe_globals
from ember.serialization._dtypes import STORED, StoredDtype, conversion_warning, decode, stored_dtype
from ember.serialization._placement import Placer, is_callable_location, target_device
from ember.serialization._shared import CheckpointError, LoadBudget, MapLocation, WeightsOnlyLoadError, read_member

#: PyTorch's legacy typed storages (the pickle names these for the dtypes they cover).
_LEGACY_STORAGES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
_MAX_DIMS = 64  # NumPy's limit (PyTorch's is lower)


class _TorchGlobal:
    """Stands in for a ``torch.<name>`` global: a storage type, a dtype, ``Size``/``device``, or something refused."""

    def __init__(self, loader: TorchLoader, module: str, name: str) -> None:
        self.loader, self.module, self.name = loader, module, name

    def __call__(self, *args: Any) -> Any:
        if self.module == "torch" and self.name in ("Size", "device"):
            from ember.device import device
            from ember.size import Size

            return {"Size": Size, "device": device}[self.name](*args)
        raise self.loader.refuse(f"{self.module}.{self.name}")


class _TorchTensorMarker:
    """Stands in for ``torch.Tensor`` / ``torch.nn.Parameter`` in ``_rebuild_from_type_v2``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


@dataclass
class _Storage:
    """One storage's raw bytes; ``dtype`` is None for an untyped storage (the tensor names its dtype)."""

    key: str
    raw: bytearray
    dtype: StoredDtype | None
    location: str


@dataclass(frozen=True)
class _Geometry:
    size: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int

    @property
    def numel(self) -> int:
        return math.prod(self.size)

    def core(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Shape and strides with every broadcast (stride-0) dimension shrunk to size 1."""
        size = tuple(1 if st == 0 else n for n, st in zip(self.size, self.stride))
        return size, tuple(0 if n == 1 else st for n, st in zip(size, self.stride))

    def expanded(self) -> bool:
        return any(st == 0 and n > 1 for n, st in zip(self.size, self.stride))


def _may_overlap(size: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    """False when no two elements of this (stride > 0) geometry can share a storage element.

    Sufficient test: sorted by stride, each stride passes the span of all smaller dimensions.
    """
    span = 0
    for n, st in sorted(((n, st) for n, st in zip(size, stride) if n > 1), key=lambda p: p[1]):
        if st <= span:
            return True
        span += (n - 1) * st
    return False


class TorchLoader:
    """Load one PyTorch zip archive whose entries sit under ``prefix`` (``archive/``, say)."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str, name: str, map_location: MapLocation,
                 budget: LoadBudget, trusted: bool = False) -> None:
        self.zf, self.prefix, self.name, self.budget = zf, prefix, name, budget
        # ``load(weights_only=False)``: the caller trusts the file, as in PyTorch (any global, pickle's
        # own BUILD); torch's names are served by ember's counterparts (``_trusted_global``)
        self.trusted = trusted
        self.map_location = map_location
        self.placer = Placer(name, map_location)
        self.storages: dict[str, _Storage] = {}
        self.decoded: dict[tuple[str, str], np.ndarray] = {}
        self.converted: set[tuple[str, str]] = set()
        self.endian = self._byteorder()

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.name!r} (PyTorch checkpoint): {what}")

    def refuse(self, qualname: str) -> WeightsOnlyLoadError:
        return WeightsOnlyLoadError(
            f"Weights only load failed: {self.name!r} references the disallowed global {qualname}. "
            "ember.load only accepts tensors, storages and plain containers from PyTorch checkpoints; if you "
            f"trust {qualname}, allow it with ember.serialization.add_safe_globals([...]) or the "
            "ember.serialization.safe_globals([...]) context manager; if you trust the whole file, load it with "
            "weights_only=False (which runs whatever the file's pickle calls).")

    def _byteorder(self) -> str:
        member = self.prefix + "byteorder"
        if member not in self.zf.namelist():
            return "<"
        order = bytes(read_member(self.zf, self.name, member, expected=None, budget=self.budget))
        order_s = order.decode("ascii", "replace").strip()
        if order_s not in ("little", "big"):
            raise self.fail(f"unknown byteorder {order_s[:20]!r}")
        return "<" if order_s == "little" else ">"

    # ---- storages -------------------------------------------------------------------------------
    def _storage_dtype(self, stype: Any) -> StoredDtype | None:
        if not isinstance(stype, _TorchGlobal):
            raise self.fail("a storage has an unsupported type")
        if stype.module == "torch.storage" and stype.name == "UntypedStorage":
            return None
        if stype.module == "torch" and stype.name in _LEGACY_STORAGES:
            return STORED[_LEGACY_STORAGES[stype.name]]
        raise self.fail(f"a storage has type {stype.module}.{stype.name}, a dtype ember does not support")

    def storage(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise WeightsOnlyLoadError(f"Weights only load failed: {self.name!r} has an unsupported persistent id "
                                       f"{pid[0] if isinstance(pid, tuple) and pid else type(pid).__name__!r}")
        _, stype, key, location, numel = pid
        key = str(key)
        if key in self.storages:
            return self.storages[key]
        dtype = self._storage_dtype(stype)
        if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise self.fail(f"storage {key!r} has an invalid element count {numel!r}")
        expected = numel * (dtype.itemsize if dtype is not None else 1)
        raw = read_member(self.zf, self.name, f"{self.prefix}data/{key}", expected=expected, budget=self.budget)
        st = self.storages[key] = _Storage(key, raw, dtype, str(location))
        return st

    def _values(self, storage: _Storage, dtype: StoredDtype) -> np.ndarray:
        """The storage's elements as ``dtype.target`` values, decoded once per (storage, dtype)."""
        cache_key = (storage.key, dtype.name)
        if cache_key not in self.decoded:
            usable = len(storage.raw) - len(storage.raw) % dtype.itemsize
            self.decoded[cache_key] = decode(memoryview(storage.raw)[:usable], dtype, self.endian, repr(self.name))
        if dtype.converted:
            self.converted.add((dtype.name, dtype.target))
        return self.decoded[cache_key]

    # ---- tensors --------------------------------------------------------------------------------
    def _geometry(self, size: Any, stride: Any, offset: Any) -> _Geometry:
        try:
            geo = _Geometry(tuple(int(s) for s in size), tuple(int(s) for s in stride), int(offset))
        except (TypeError, ValueError, OverflowError) as exc:
            raise self.fail(f"malformed tensor geometry ({type(exc).__name__}: {exc})") from exc
        if (len(geo.size) != len(geo.stride) or len(geo.size) > _MAX_DIMS or geo.offset < 0
                or any(s < 0 for s in geo.size) or any(s < 0 for s in geo.stride)):
            raise self.fail(f"invalid tensor geometry size={list(geo.size)} stride={list(geo.stride)} "
                            f"offset={geo.offset}")
        return geo

    def _host_core(self, values: np.ndarray, geo: _Geometry, itemsize: int, to_cpu: bool) -> np.ndarray:
        """The tensor's values with broadcast dims at size 1: a view of ``values`` when that is safe."""
        n = values.size
        last = geo.offset + sum((s - 1) * st for s, st in zip(geo.size, geo.stride))
        if last >= n:
            raise self.fail(f"tensor of size {list(geo.size)} with stride {list(geo.stride)} and offset {geo.offset} "
                            f"reads past its storage of {n} elements")
        size, stride = geo.core()
        overlap = _may_overlap(size, stride)
        view = np.lib.stride_tricks.as_strided(values[geo.offset:], shape=size,
                                               strides=tuple(s * values.itemsize for s in stride),
                                               writeable=values.flags.writeable and not overlap)
        if overlap or not to_cpu:  # a copy: count it (in stored bytes, so a dtype conversion is not charged)
            self.budget.charge(math.prod(size) * itemsize, f"a tensor of size {list(size)}")
        return np.array(view, order="C", copy=True) if overlap else view

    def _tensor(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                dtype: StoredDtype | None) -> Any:
        if not isinstance(storage, _Storage):
            raise self.fail("a tensor refers to something that is not a storage")
        dtype = dtype or storage.dtype
        if dtype is None:
            raise self.fail("a tensor on an untyped storage names no dtype")
        geo = self._geometry(size, stride, offset)
        values = self._values(storage, dtype)
        if geo.numel == 0:
            host = np.zeros(geo.size, dtype=values.dtype)
        else:
            to_cpu = (not is_callable_location(self.map_location)
                      and target_device(storage.location, self.map_location) == "cpu")
            host = self._host_core(values, geo, dtype.itemsize, to_cpu)
        t = self.placer.place(host, dtype.target, storage.location)
        if geo.numel and geo.expanded():
            t = t.expand(geo.size)  # a zero-stride view on every backend: PyTorch's storage, not 1 GiB
        if requires_grad and t.is_floating_point():
            t.requires_grad_(True)
        return t

    def rebuild_v2(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                   backward_hooks: Any = None, metadata: Any = None) -> Any:
        return self._tensor(storage, offset, size, stride, requires_grad, None)

    def rebuild_v3(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                   backward_hooks: Any, dtype: Any, metadata: Any = None) -> Any:
        if not (isinstance(dtype, _TorchGlobal) and dtype.module == "torch"):
            raise self.fail("a tensor names a dtype that is not a torch dtype")
        return self._tensor(storage, offset, size, stride, requires_grad,
                            stored_dtype(dtype.name, repr(self.name)))

    def rebuild_parameter(self, data: Any, requires_grad: Any, backward_hooks: Any, state: Any = None) -> Any:
        from ember.nn.parameter import Parameter
        from ember.tensor import Tensor

        if not isinstance(data, Tensor):
            raise self.fail("a parameter wraps something that is not a tensor")
        return Parameter(data, bool(requires_grad))

    def rebuild_from_type_v2(self, func: Any, new_type: Any, args: Any, state: Any) -> Any:
        if not isinstance(new_type, _TorchTensorMarker) or not callable(func):
            raise WeightsOnlyLoadError(f"Weights only load failed: {self.name!r} rebuilds a tensor subclass, "
                                       "which is not allowed")
        return func(*args)

    # ---- unpickling -----------------------------------------------------------------------------
    def find_class(self, module: str, name: str) -> Any:
        allowed = {
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_v2,
            ("torch._utils", "_rebuild_tensor_v3"): self.rebuild_v3,
            ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self.rebuild_parameter,
            ("torch._tensor", "_rebuild_from_type_v2"): self.rebuild_from_type_v2,
            ("torch", "Tensor"): _TorchTensorMarker("tensor"),
            ("torch.nn.parameter", "Parameter"): _TorchTensorMarker("parameter"),
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
        }
        if (module, name) in allowed:
            return allowed[module, name]
        if module == "torch" or (module, name) == ("torch.storage", "UntypedStorage"):
            return _TorchGlobal(self, module, name)  # a dtype or storage type; refused if used as anything else
        if module == "torch._utils" and name.startswith("_rebuild_"):  # sparse, quantized, nested... tensors
            raise self.fail(f"it holds a kind of tensor ember does not support ({module}.{name})")
        user = _safe_globals.lookup(module, name)  # ember.serialization.add_safe_globals / safe_globals
        if user is not None:
            return user
        if self.trusted:
            return self._trusted_global(module, name)
        raise self.refuse(f"{module}.{name}")

    def _trusted_global(self, module: str, name: str) -> Any:
        """Any global of a file the caller trusts (``weights_only=False``): ``torch.X`` as ``ember.X``
        and ``torchvision.X`` as ``ember.vision.X`` (what a program running on ember names so), any
        other module's as pickle finds it."""
        import importlib

        served = _safe_globals.served_module(module)
        try:
            obj = importlib.import_module(served)
            for part in name.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise self.fail(f"it needs {module}.{name}, which ember has no counterpart of ({served}.{name}: "
                            f"{type(exc).__name__})") from exc
        return obj

    def _resolve(self, obj: Any, seen: dict[int, Any]) -> Any:
        """Turn the torch globals left in the unpickled tree into ember dtypes (or refuse them)."""
        if isinstance(obj, _TorchGlobal):
            if obj.module != "torch" or obj.name not in STORED:
                raise self.refuse(f"{obj.module}.{obj.name}")
            dt = STORED[obj.name]
            if dt.converted:
                self.converted.add((dt.name, dt.target))
            from ember.dtypes import dtype_from_name

            return dtype_from_name(dt.target)
        if id(obj) in seen or not isinstance(obj, (dict, list, tuple, set, frozenset)):
            return seen.get(id(obj), obj)
        seen[id(obj)] = obj
        if isinstance(obj, dict):
            for k in list(obj):
                key = self._resolve(k, seen)
                value = self._resolve(obj.pop(k), seen)
                obj[key] = value
            return obj
        if isinstance(obj, list):
            obj[:] = [self._resolve(v, seen) for v in obj]
            return obj
        out = type(obj)(self._resolve(v, seen) for v in obj)
        seen[id(obj)] = out
        return out

    def load(self) -> Any:
        data = read_member(self.zf, self.name, self.prefix + "data.pkl", expected=None, budget=self.budget)
        try:
            obj = _RestrictedUnpickler(self, data).load()
            obj = self._resolve(obj, {})
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a damaged file
            raise self.fail(f"cannot unpickle data.pkl ({type(exc).__name__}: {exc})") from exc
        if self.converted:
            warnings.warn(conversion_warning(repr(self.name), self.converted), UserWarning, stacklevel=3)
        return obj


def _load_build(self: _RestrictedUnpickler) -> None:
    """BUILD only for a dict subclass's attributes (the ``_metadata`` of a state dict) and instances of the
    classes the caller marked safe, never on our objects (any, for a file the caller trusts)."""
    inst = self.stack[-2]
    if self.loader.trusted or _safe_globals.is_safe_type(type(inst)):  # pickle's own BUILD
        pickle._Unpickler.load_build(self)
        return
    state = self.stack.pop()
    if not (type(inst) is collections.OrderedDict and isinstance(state, dict)
            and all(isinstance(k, str) for k in state)):
        raise self.loader.refuse(f"setting the state of a {type(inst).__name__}")
    inst.__dict__.update(state)


class _RestrictedUnpickler(pickle._Unpickler):  # the Python implementation: its opcode table can be restricted
    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BUILD[0]] = _load_build

    def __init__(self, loader: TorchLoader, data: bytearray) -> None:
        import io

        super().__init__(io.BytesIO(data))
        self.loader = loader

    def find_class(self, module: str, name: str) -> Any:
        if self.proto < 3:  # torch.save writes protocol 2: Python 2 names (``__builtin__.set``), as pickle maps them
            import _compat_pickle

            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        return self.loader.find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        return self.loader.storage(pid)


def torch_prefix(names: list[str]) -> str | None:
    """The folder of a PyTorch archive's ``data.pkl`` (``archive/``, say), or None."""
    for n in names:
        if n.endswith("data.pkl") and n.count("/") == 1:
            return n[: -len("data.pkl")]
    return None
