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

import codecs
import collections
import io
import pickle
import struct
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ember.serialization import _safe_globals
from ember.serialization._dtypes import STORED, StoredDtype, conversion_warning, decode, stored_dtype
from ember.serialization._placement import Placer, check_bounds, view_of
from ember.serialization._shared import (
    _BLOCKED_MODULES,
    CheckpointError,
    LoadBudget,
    MapLocation,
    WeightsOnlyLoadError,
    disallowed_global,
    read_member,
)
from ember.serialization.torch_writer import LEGACY_MAGIC, LEGACY_PROTOCOL, STORAGE_TYPES

#: PyTorch's legacy typed storages (the pickle names these for the dtypes they cover): the writer's
#: table, read the other way
_LEGACY_STORAGES = {name: dtype for dtype, name in STORAGE_TYPES.items()}


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
    nbytes: int = 0


@dataclass(frozen=True)
class _Geometry:
    size: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int


class TorchLoader:
    """Load one PyTorch zip archive whose entries sit under ``prefix`` (``archive/``, say)."""

    def __init__(self, zf: zipfile.ZipFile | None, prefix: str, name: str, map_location: MapLocation,
                 budget: LoadBudget, trusted: bool = False, encoding: str = "utf-8") -> None:
        self.zf, self.prefix, self.name, self.budget = zf, prefix, name, budget
        # ``load(weights_only=False)``: the caller trusts the file, as in PyTorch (any global, pickle's
        # own BUILD); torch's names are served by ember's counterparts (``_trusted_global``)
        self.trusted = trusted
        self.map_location = map_location
        self.placer = Placer(name, map_location)
        self.storages: dict[str, _Storage] = {}
        self.decoded: dict[tuple[str, str], np.ndarray] = {}
        self.bases: dict[tuple[str, str], Any] = {}
        self.converted: set[tuple[str, str]] = set()
        self.encoding = encoding
        self.endian = self._byteorder() if zf is not None else "<"
        #: (result, view, metadata) of conjugated / negated tensors whose storages are not read yet
        #: (legacy files); None where the data is read before the tensors are built
        self.deferred_metadata: list[tuple[Any, Any, dict]] | None = None

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.name!r} (PyTorch checkpoint): {what}")

    def refuse(self, qualname: str) -> WeightsOnlyLoadError:
        return disallowed_global(self.name, qualname)

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
        return geo

    def _base(self, storage: _Storage, dtype: StoredDtype) -> Any:
        """One tensor over the whole storage (as ``dtype``), on its target device: every tensor of the
        file that views this storage is a view of it, so they share memory as they did in PyTorch."""
        key = (storage.key, dtype.name)
        if key not in self.bases:
            base = self.placer.place(self._values(storage, dtype), dtype.target, storage.location)
            if base.device.type != "cpu":  # a copy on its device (the storage read is charged already)
                self.budget.charge(len(storage.raw), f"storage {storage.key!r} placed on {base.device}")
            self.bases[key] = base
        return self.bases[key]

    def _tensor(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                dtype: StoredDtype | None, metadata: Any = None) -> Any:
        if not isinstance(storage, _Storage):
            raise self.fail("a tensor refers to something that is not a storage")
        dtype = dtype or storage.dtype
        if dtype is None:
            raise self.fail("a tensor on an untyped storage names no dtype")
        geo = self._geometry(size, stride, offset)
        numel = len(storage.raw) // dtype.itemsize
        check_bounds(geo.size, geo.stride, geo.offset, numel, self.fail)
        try:
            t = view_of(self._base(storage, dtype), geo.size, geo.stride, geo.offset)
        except CheckpointError:
            raise
        except (RuntimeError, ValueError, TypeError) as exc:  # map_location gave back a tensor that cannot hold it
            raise self.fail(f"cannot view storage {storage.key!r} as a tensor of size {list(geo.size)} "
                            f"({type(exc).__name__}: {exc})") from exc
        t = self._apply_metadata(t, metadata)
        if requires_grad and (t.is_floating_point() or t.is_complex()):
            t.requires_grad_(True)
        return t

    def _apply_metadata(self, t: Any, metadata: Any) -> Any:
        """PyTorch's tensor metadata (``torch._utils.get_tensor_metadata``): a lazily conjugated or
        negated view saves its storage as is, with ``{'conj': True}`` / ``{'neg': True}`` beside it, so
        the values it holds are the storage's conjugated / negated. ember has no such bits: the tensor
        is built with those values (a copy, no longer sharing the storage)."""
        if not metadata:
            return t
        if not isinstance(metadata, dict):
            raise self.fail(f"a tensor's metadata is a {type(metadata).__name__}, expected a dict")
        if not (metadata.get("conj") or metadata.get("neg")):
            return t
        if self.deferred_metadata is None:
            return _with_metadata(t, metadata)
        out = t.clone()  # a legacy file's storages are filled after the pickle: its values come then
        self.deferred_metadata.append((out, t, metadata))
        return out

    def rebuild_v2(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                   backward_hooks: Any = None, metadata: Any = None) -> Any:
        return self._tensor(storage, offset, size, stride, requires_grad, None, metadata)

    def rebuild_v3(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                   backward_hooks: Any, dtype: Any, metadata: Any = None) -> Any:
        if not (isinstance(dtype, _TorchGlobal) and dtype.module == "torch"):
            raise self.fail("a tensor names a dtype that is not a torch dtype")
        return self._tensor(storage, offset, size, stride, requires_grad,
                            stored_dtype(dtype.name, repr(self.name)), metadata)

    def rebuild_meta(self, dtype: Any, size: Any, stride: Any, requires_grad: Any = False, *rest: Any) -> Any:
        """A meta tensor (no storage in the file): built on ``meta`` whatever ``map_location`` says."""
        from ember.serialization.ember_format import meta_tensor

        if not (isinstance(dtype, _TorchGlobal) and dtype.module == "torch" and dtype.name in STORED):
            raise self.fail("a meta tensor names a dtype that is not a torch dtype")
        from ember.dtypes import dtype_from_name

        return meta_tensor(dtype_from_name(STORED[dtype.name].target), size, stride, bool(requires_grad), False,
                           self.fail)

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

    def layout(self, name: Any) -> Any:
        """``torch.strided`` and the other layouts, which PyTorch pickles by their names."""
        from ember.functions import layout

        obj = getattr(layout, name[len("torch."):], None) if isinstance(name, str) and name.startswith("torch.") else None
        if not isinstance(obj, layout.layout):
            raise self.fail(f"it names a layout ember does not have ({name!r})")
        return obj

    # ---- unpickling -----------------------------------------------------------------------------
    def find_class(self, module: str, name: str) -> Any:
        allowed = {
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_v2,
            ("torch._utils", "_rebuild_tensor_v3"): self.rebuild_v3,
            ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
            ("torch._utils", "_rebuild_meta_tensor_no_storage"): self.rebuild_meta,
            ("torch._utils", "_rebuild_parameter_with_state"): self.rebuild_parameter,
            ("torch._tensor", "_rebuild_from_type_v2"): self.rebuild_from_type_v2,
            ("torch.serialization", "_get_layout"): self.layout,
            ("torch", "Tensor"): _TorchTensorMarker("tensor"),
            ("torch.nn.parameter", "Parameter"): _TorchTensorMarker("parameter"),
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            # the rest of PyTorch's default allow-list: bytes (protocol 2 pickles them through
            # _codecs.encode), bytearray, complex numbers, Counter
            ("_codecs", "encode"): codecs.encode,
            ("builtins", "bytearray"): bytearray,
            ("builtins", "complex"): complex,
            ("collections", "Counter"): collections.Counter,
        }
        if (module, name) in allowed:
            return allowed[module, name]
        if module in _BLOCKED_MODULES:  # refused even when marked safe, as in PyTorch
            raise self.refuse(f"{module}.{name}")
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
        items = [self._resolve(v, seen) for v in obj]
        if type(obj) in (tuple, set, frozenset):
            out = type(obj)(items)
        elif hasattr(type(obj), "_make"):  # a namedtuple: its fields are arguments, not one iterable
            out = type(obj)._make(items)
        else:
            out = obj
        seen[id(obj)] = out
        return out

    def load(self) -> Any:
        data = read_member(self.zf, self.name, self.prefix + "data.pkl", expected=None, budget=self.budget)
        try:
            obj = _RestrictedUnpickler(self, io.BytesIO(data)).load()
            obj = self._resolve(obj, {})
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a damaged file
            raise self.fail(f"cannot unpickle data.pkl ({type(exc).__name__}: {exc})") from exc
        if self.converted:
            warnings.warn(conversion_warning(repr(self.name), self.converted), UserWarning, stacklevel=3)
        return obj


def _with_metadata(t: Any, metadata: dict) -> Any:
    if metadata.get("conj") and t.is_complex():
        t = t.conj().clone()
    if metadata.get("neg"):
        t = t.neg()
    return t


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

    def __init__(self, loader: TorchLoader, fh: Any) -> None:
        super().__init__(fh, encoding=loader.encoding)
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


class LegacyLoader(TorchLoader):
    """PyTorch's legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``, the only
    one before 1.6): pickles of the magic number, the protocol version and the writer's sys_info,
    then the object's pickle (storages as persistent ids ``('storage', type, key, location, numel,
    view)``), the list of storage keys, and each storage as an int64 element count and its raw bytes.

    The data comes after the pickle, so storages are allocated (charged to the budget) while
    unpickling, tensors are built as views of them, and the data is read into them afterwards,
    as PyTorch does. The pickle goes through the same restricted unpickler as zip files.
    """

    def __init__(self, fh: Any, name: str, map_location: MapLocation, budget: LoadBudget,
                 trusted: bool = False, encoding: str = "utf-8") -> None:
        super().__init__(None, "", name, map_location, budget, trusted, encoding)
        self.fh = fh
        self.deferred_metadata = []

    def _header(self) -> Any:
        """One of the small pickles around the object's (no persistent ids, no code)."""
        return _RestrictedUnpickler(self, self.fh).load()

    def storage(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise WeightsOnlyLoadError(f"Weights only load failed: {self.name!r} has an unsupported persistent id "
                                       f"{pid[0] if isinstance(pid, tuple) and pid else type(pid).__name__!r}")
        _, stype, key, location, numel, view = pid
        if view is not None:
            raise self.fail("it holds a storage view (a file from PyTorch before 1.0), which ember does not read")
        key = str(key)
        if key in self.storages:
            return self.storages[key]
        dtype = self._storage_dtype(stype)
        if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise self.fail(f"storage {key!r} has an invalid element count {numel!r}")
        nbytes = numel * (dtype.itemsize if dtype is not None else 1)  # an untyped storage counts bytes
        self.budget.charge(nbytes, f"storage {key!r}")  # allocated now, filled once the pickle is read
        st = self.storages[key] = _Storage(key, bytearray(nbytes), dtype, str(location), nbytes)
        return st

    def _read_storages(self) -> None:
        keys = self._header()
        if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)) or set(keys) != set(self.storages):
            raise self.fail("the storage keys after the pickle do not match the storages it uses (truncated or "
                            "corrupted)")
        for key in keys:
            st = self.storages[key]
            head = self.fh.read(8)
            if len(head) != 8:
                raise self.fail(f"truncated before storage {key!r}")
            (numel,) = struct.unpack("<q", head)
            itemsize = st.dtype.itemsize if st.dtype is not None else 1
            if numel * itemsize != st.nbytes:
                raise self.fail(f"storage {key!r} holds {numel} elements, its pickle says {st.nbytes // itemsize}")
            view = memoryview(st.raw)
            got = 0
            while got < st.nbytes:  # in chunks: a file object may return short reads
                n = self.fh.readinto(view[got:min(st.nbytes, got + (1 << 20))])
                if not n:
                    raise self.fail(f"truncated inside storage {key!r}")
                got += n

    def _fill(self) -> None:
        """Copy each storage's data into the tensors built over it (unless they already are its memory)."""
        from ember.autograd import no_grad
        from ember.functions.creation import from_numpy

        for (key, dtype_name), base in self.bases.items():
            st = self.storages[key]
            if base.device.type == "cpu" and np.may_share_memory(base.detach().numpy(), np.frombuffer(st.raw, np.uint8)):
                continue
            dt = STORED[dtype_name]
            values = decode(memoryview(st.raw)[:len(st.raw) - len(st.raw) % dt.itemsize], dt, self.endian, repr(self.name))
            src = from_numpy(np.ascontiguousarray(values)).to(base.device)
            with no_grad():
                base.copy_(src if src.dtype == base.dtype else src.to(base.dtype))

    def load(self) -> Any:
        try:
            try:
                magic = self._header()
            except CheckpointError:
                raise
            except Exception as exc:  # noqa: BLE001 - not a pickle at all
                raise CheckpointError(f"Invalid magic number; corrupt file? ({self.name!r} is not a PyTorch "
                                      f"checkpoint: {type(exc).__name__}: {exc})") from exc
            if type(magic) is not int or magic != LEGACY_MAGIC:
                raise CheckpointError(f"Invalid magic number; corrupt file? ({self.name!r} is a pickle, not a "
                                      "PyTorch checkpoint)")
            version = self._header()
            if type(version) is not int or version != LEGACY_PROTOCOL:
                raise CheckpointError(f"Invalid protocol version: {version!r} ({self.name!r})")
            sys_info = self._header()
            if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
                self.endian = ">"
            obj = _RestrictedUnpickler(self, self.fh).load()
            self._read_storages()
            self._fill()
            from ember.autograd import no_grad

            with no_grad():
                for out, src, metadata in self.deferred_metadata:
                    out.copy_(_with_metadata(src, metadata))
            obj = self._resolve(obj, {})
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a damaged file
            raise self.fail(f"cannot unpickle it ({type(exc).__name__}: {exc})") from exc
        if self.converted:
            warnings.warn(conversion_warning(repr(self.name), self.converted), UserWarning, stacklevel=3)
        return obj
