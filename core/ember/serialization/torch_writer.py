"""Writing PyTorch's checkpoint formats, so that ``torch.load`` reads what ``ember.save`` writes.

PyTorch pickles a tensor as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, OrderedDict())`` whose storage is a persistent id ``('storage', torch.FloatStorage,
key, location, numel)`` (legacy files add a sixth field, the view metadata, always ``None`` since
PyTorch 1.0), and a ``Parameter`` as ``torch._utils._rebuild_parameter(data, requires_grad,
OrderedDict())``. ember's dtypes, devices and sizes are written as torch's (``torch.float32``,
``torch.device('cpu')``, ``torch.Size([2])``), so the file names only torch's globals unless the
object itself holds other classes (an ``nn.Module``), which PyTorch then needs ember to rebuild.

Storages are saved whole, as PyTorch saves them: tensors that share memory share one storage (a
small slice of a big tensor saves all of it), and each tensor keeps its offset and strides.

The pickler is the pure-Python one (``pickle._Pickler``): only it lets us write a global by name
without importing it (torch need not be installed), and the pickle holds no tensor data, so it
stays small.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

#: PyTorch's legacy (non-zip) format: the first three pickles of the file.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
LEGACY_SYS_INFO = {"protocol_version": LEGACY_PROTOCOL, "little_endian": True,
                   "type_sizes": {"short": 2, "int": 4, "long": 4}}

#: The typed-storage class PyTorch's pickle names for each dtype (``torch.<name>``).
STORAGE_TYPES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage", "bfloat16": "BFloat16Storage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
    "uint8": "ByteStorage", "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}


class _Global:
    """A global written by name (``GLOBAL module name``) without importing it."""

    _cache: dict[tuple[str, str], _Global] = {}

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pickle's save_reduce wants a callable
        raise TypeError(f"{self.module}.{self.name} is only a name written into a pickle")

    @classmethod
    def of(cls, module: str, name: str) -> _Global:
        """One instance per name, so that the pickle memoizes it."""
        key = (module, name)
        if key not in cls._cache:
            cls._cache[key] = cls(module, name)
        return cls._cache[key]


def _save_named_global(self: TorchPickler, obj: _Global) -> None:
    if self.proto >= 4:
        self.save(obj.module)
        self.save(obj.name)
        self.write(pickle.STACK_GLOBAL)
    else:
        self.write(pickle.GLOBAL + obj.module.encode("utf-8") + b"\n" + obj.name.encode("utf-8") + b"\n")
    self.memoize(obj)


@dataclass
class StorageRef:
    """One storage of the file: its key, dtype, location tag, element count and the tensor holding all of it."""

    key: str
    dtype: str
    location: str
    numel: int
    whole: Any  # a 1-D tensor over the whole storage (its values are what the file stores)


def _is_plain_tensor(obj: Any) -> bool:
    from ember.tensor import Tensor

    return isinstance(obj, Tensor) and (type(obj) is Tensor or type(obj).__name__ == "Parameter")


class StorageTable:
    """The storages of the tensors being saved, each once, keyed as PyTorch keys them (by memory)."""

    def __init__(self) -> None:
        self.refs: dict[Any, StorageRef] = {}
        self.order: list[StorageRef] = []

    def geometry(self, t: Any) -> tuple[StorageRef, int, tuple[int, ...]]:
        """The storage ``t`` views, its offset and strides in it (elements)."""
        from ember.functions.torch_surface import _has_view_kernels

        d = t.detach()
        ident: Any
        try:
            n = d.untyped_storage().nbytes() // max(d.element_size(), 1)
            offset, stride = int(d.storage_offset()), tuple(int(s) for s in d.stride())
            ident = (str(d.device), d.untyped_storage().data_ptr())
            whole = d.as_strided((n,), (1,), 0) if _has_view_kernels(d) else None
        except RuntimeError:
            whole = None
        if whole is None:  # a backend that cannot show the storage: the tensor's own values, contiguous
            whole = d.contiguous().reshape(-1)
            n, offset, ident = whole.numel(), 0, ("tensor", id(t))
            stride = tuple(int(s) for s in d.contiguous().stride())
        ref = self.refs.get(ident)
        if ref is None:
            ref = self.refs[ident] = StorageRef(str(len(self.order)), d.dtype.name, str(d.device), n, whole)
            self.order.append(ref)
        elif ref.dtype != d.dtype.name:
            raise RuntimeError("Cannot save multiple tensors or storages that view the same data as different types")
        return ref, offset, stride


class TorchPickler(pickle._Pickler):  # the Python implementation: it can write globals by name
    """Pickles an object tree as ``torch.save`` does, storages as persistent ids into ``table``."""

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[_Global] = _save_named_global

    def __init__(self, fh: IO[bytes], protocol: int, table: StorageTable, legacy: bool = False) -> None:
        super().__init__(fh, protocol=protocol)
        self.table, self.legacy = table, legacy

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, StorageRef):
            pid = ("storage", _Global.of("torch", STORAGE_TYPES[obj.dtype]), obj.key, obj.location, obj.numel)
            return (*pid, None) if self.legacy else pid
        return None

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if save_persistent_id and id(obj) not in self.memo:
            rv = self._torch_reduce(obj)
            if rv is not None:
                if isinstance(rv, _Global):
                    super().save(rv)
                else:
                    self.save_reduce(*rv, obj=obj)
                return
        super().save(obj, save_persistent_id)

    def _torch_reduce(self, obj: Any) -> Any:
        """How torch pickles ember's tensors, dtypes, devices and sizes; None for anything else."""
        from ember.device import device
        from ember.dtypes import dtype
        from ember.functions.layout import layout
        from ember.size import Size

        if _is_plain_tensor(obj):
            if type(obj).__name__ == "Parameter":
                data = obj.detach()
                return (_Global.of("torch._utils", "_rebuild_parameter"),
                        (data, bool(obj.requires_grad), collections.OrderedDict()))
            if obj.device.type == "meta":  # no storage: PyTorch writes the geometry alone
                return (_Global.of("torch._utils", "_rebuild_meta_tensor_no_storage"),
                        (obj.dtype, tuple(int(s) for s in obj.shape), tuple(int(s) for s in obj.stride()),
                         bool(obj.requires_grad)))
            if obj.dtype.name not in STORAGE_TYPES:
                raise pickle.PicklingError(f"cannot save a tensor of dtype {obj.dtype} in PyTorch's format")
            ref, offset, stride = self.table.geometry(obj)
            return (_Global.of("torch._utils", "_rebuild_tensor_v2"),
                    (ref, offset, tuple(int(s) for s in obj.shape), stride, bool(obj.requires_grad),
                     collections.OrderedDict()))
        if isinstance(obj, dtype):
            return _Global.of("torch", obj.name)
        if isinstance(obj, device):
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return _Global.of("torch", "device"), args
        if isinstance(obj, Size):
            return _Global.of("torch", "Size"), (tuple(int(s) for s in obj),)
        if isinstance(obj, layout):  # as PyTorch pickles its layouts (copyreg): by name
            return _Global.of("torch.serialization", "_get_layout"), (repr(obj).replace("ember.", "torch.", 1),)
        return None


def storage_bytes(ref: StorageRef) -> np.ndarray:
    """A storage's values, little-endian and C-contiguous (ember_format's ``_host_array``)."""
    from ember.serialization import ember_format

    return ember_format._host_array(ref.whole)


def torch_pickle(obj: Any, protocol: int, table: StorageTable, legacy: bool = False) -> bytes:
    """``obj`` pickled as ``torch.save`` pickles it (its storages collected into ``table``)."""
    if not isinstance(protocol, int) or isinstance(protocol, bool):
        raise TypeError(f"pickle_protocol must be an int, got {type(protocol).__name__}")
    buf = io.BytesIO()
    TorchPickler(buf, protocol, table, legacy).dump(obj)
    return buf.getvalue()


def write_legacy(fh: IO[bytes], obj: Any, protocol: int) -> None:
    """PyTorch's legacy format (``_use_new_zipfile_serialization=False``): three header pickles,
    the object's pickle, the sorted storage keys, then each storage as an int64 element count
    followed by its raw little-endian bytes."""
    table = StorageTable()
    body = torch_pickle(obj, protocol, table, legacy=True)  # everything that can fail runs before a byte is written
    blobs = [(ref.key, ref.numel, storage_bytes(ref)) for ref in table.order]
    for head in (LEGACY_MAGIC, LEGACY_PROTOCOL, LEGACY_SYS_INFO):
        pickle.dump(head, fh, protocol=protocol)
    fh.write(body)
    keys = sorted(k for k, _, _ in blobs)
    pickle.dump(keys, fh, protocol=protocol)
    by_key = {k: (n, arr) for k, n, arr in blobs}
    for k in keys:
        n, arr = by_key[k]
        fh.write(struct.pack("<q", n))
        if arr.size:
            fh.write(memoryview(arr.reshape(-1).view(np.uint8)))
