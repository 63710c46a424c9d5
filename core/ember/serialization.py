"""Checkpoints: ``ember.save`` / ``ember.load``, PyTorch ``.pt`` import, and safetensors.

The ember format is a zip archive that runs no code when loaded:

* ``ember/header.json``: format name and version, a JSON tree describing the saved object
  (dicts, lists, tuples, numbers, strings, tensors by reference), and for each tensor its
  dtype, shape, device, ``requires_grad``, byte size and SHA-256;
* ``ember/data/<i>.bin``: each tensor's values, raw little-endian, C order.

Objects that are not plain data (a whole ``nn.Module``, say) are pickled into
``ember/data.pkl`` instead, and ``load`` refuses them unless ``weights_only=False``.
Writes to a path are atomic; any damaged, truncated or foreign file raises
:class:`CheckpointError` naming the file and the problem, and nothing is half-loaded.

``load`` also reads PyTorch's zip checkpoints (``torch.save`` since 1.6) without PyTorch,
through a restricted unpickler that only accepts tensors, storages and ``OrderedDict``.

Example:
    >>> import ember, io
    >>> buf = io.BytesIO()
    >>> ember.save({"w": ember.ones(2), "epoch": 3}, buf)
    >>> _ = buf.seek(0)
    >>> ember.load(buf)
    {'w': tensor([1., 1.]), 'epoch': 3}
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import io
import json
import math
import os
import pickle
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from typing import IO, Any, Union

import numpy as np

__all__ = ["CheckpointError", "WeightsOnlyLoadError", "save", "load", "save_file", "load_file",
           "save_safetensors", "load_safetensors", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "ember-checkpoint"
FORMAT_VERSION = 1
_HEADER = "ember/header.json"
_PICKLE = "ember/data.pkl"

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]
MapLocation = Union[None, str, Any, dict, Callable]


class CheckpointError(RuntimeError):
    """A checkpoint file is damaged, truncated, foreign, unsafe, or cannot be placed on a device."""


class WeightsOnlyLoadError(CheckpointError, pickle.UnpicklingError):
    """``load(weights_only=True)`` met a pickled payload or a disallowed global."""


# ---- dtypes -------------------------------------------------------------------------------------
_NP_LE = {"float32": "<f4", "float64": "<f8", "float16": "<f2", "int64": "<i8", "int32": "<i4",
          "int16": "<i2", "int8": "i1", "uint8": "u1", "bool": "?"}


def _ember_dtype(name: str) -> Any:
    from ember import dtypes

    return dtypes.dtype_from_name(name)


def _rebuild_tensor_pickle(array: Any, device: str, requires_grad: bool) -> Any:
    """Unpickle helper used by ``Tensor.__reduce_ex__`` (the pickle path, ``weights_only=False``)."""
    from ember.functions.creation import from_numpy

    t = from_numpy(array.copy())
    if device != "cpu":
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


# ---- file handling ------------------------------------------------------------------------------
def _name_of(f: Any) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    return str(getattr(f, "name", f"<{type(f).__name__}>"))


@contextlib.contextmanager
def _atomic_path(path: str):
    """Yield a temp file next to ``path``; on success fsync and rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _read_all(f: FileLike) -> bytes:
    if isinstance(f, (str, os.PathLike)):
        try:
            with open(f, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoint {os.fspath(f)!r}: {exc}") from exc
    data = f.read()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"ember.load expects a path or a binary file object, got a {type(f).__name__} "
                        "that returned text; open the file with 'rb'")
    return bytes(data)


# ---- save ---------------------------------------------------------------------------------------
class _NotPlain(Exception):
    """The object tree holds something the safe format cannot describe."""


class _Encoder:
    """Turn an object tree into a JSON tree plus a list of tensors (shared tensors saved once)."""

    def __init__(self) -> None:
        self.tensors: list[Any] = []
        self._ids: dict[int, int] = {}

    def encode(self, obj: Any, depth: int = 0) -> Any:
        from ember.device import device
        from ember.dtypes import dtype
        from ember.size import Size
        from ember.tensor import Tensor

        if depth > 500:
            raise _NotPlain("nesting too deep")
        if obj is None:
            return {"t": "none"}
        if obj is True or obj is False:
            return {"t": "bool", "v": obj}
        if type(obj) is int:
            return {"t": "int", "v": str(obj)}
        if type(obj) is float:
            return {"t": "float", "v": repr(obj)}
        if type(obj) is str:
            return {"t": "str", "v": obj}
        if type(obj) is bytes:
            return {"t": "bytes", "v": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, Tensor):
            if type(obj) is not Tensor and type(obj).__name__ != "Parameter":
                raise _NotPlain(type(obj).__name__)
            key = id(obj)
            if key not in self._ids:
                self._ids[key] = len(self.tensors)
                self.tensors.append(obj)
            return {"t": "tensor", "id": self._ids[key]}
        if isinstance(obj, Size):
            return {"t": "size", "v": [int(s) for s in obj]}
        if type(obj) is list:
            return {"t": "list", "v": [self.encode(v, depth + 1) for v in obj]}
        if type(obj) is tuple:
            return {"t": "tuple", "v": [self.encode(v, depth + 1) for v in obj]}
        if type(obj) in (dict, collections.OrderedDict):
            items = [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in obj.items()]
            node = {"t": "odict" if type(obj) is collections.OrderedDict else "dict", "items": items}
            meta = getattr(obj, "_metadata", None)
            if meta is not None:  # nn.Module.state_dict() version info
                node["metadata"] = self.encode(meta, depth + 1)
            return node
        if type(obj) in (set, frozenset):
            return {"t": type(obj).__name__, "v": [self.encode(v, depth + 1) for v in obj]}
        if isinstance(obj, dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, device):
            return {"t": "device", "v": str(obj)}
        raise _NotPlain(type(obj).__name__)


def _host_array(t: Any) -> np.ndarray:
    """The tensor's values as a little-endian C-contiguous host array."""
    host = np.asarray(t._kt["to_host"](t.detach()._data))
    return _c_order(host, np.dtype(_NP_LE[t.dtype.name]))


def _c_order(a: np.ndarray, dtype: Any = None) -> np.ndarray:
    """``a`` as a C-contiguous array (keeping 0-d shapes, unlike ``np.ascontiguousarray``)."""
    a = np.asarray(a, dtype=dtype)
    return a if a.flags.c_contiguous else np.array(a, order="C", copy=True)


def _write_archive(fh: IO[bytes], obj: Any) -> None:
    enc = _Encoder()
    try:
        root = enc.encode(obj)
        payload = "tree"
    except _NotPlain:
        root, payload = None, "pickle"
    header: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "payload": payload}
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        if payload == "pickle":
            blob = pickle.dumps(obj, protocol=4)
            zf.writestr(_PICKLE, blob)
            header["pickle"] = {"file": _PICKLE, "nbytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
        else:
            entries = []
            for i, t in enumerate(enc.tensors):
                arr = _host_array(t)
                name = f"ember/data/{i}.bin"
                view = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")
                with zf.open(name, "w", force_zip64=arr.nbytes > 2**31) as out:
                    out.write(view)
                entries.append({"file": name, "dtype": t.dtype.name, "shape": list(arr.shape),
                                "device": str(t.device), "requires_grad": bool(t.requires_grad),
                                "parameter": type(t).__name__ == "Parameter", "nbytes": int(arr.nbytes),
                                "sha256": hashlib.sha256(view).hexdigest()})
            header["root"] = root
            header["tensors"] = entries
        # The header goes last: an archive cut short anywhere lacks it (or its central directory).
        zf.writestr(_HEADER, json.dumps(header, separators=(",", ":")))


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 4,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Save ``obj`` (a state dict, nested containers of tensors and numbers...) to a path or file.

    Plain data (dicts, lists, tuples, numbers, strings, tensors) is stored in ember's safe format;
    anything else is pickled inside the archive and needs ``load(..., weights_only=False)``.
    Writing to a path is atomic: the old file survives any failure.

    Example:
        >>> import ember, io
        >>> buf = io.BytesIO()
        >>> ember.save({"step": 1}, buf)
    """
    if isinstance(f, (str, os.PathLike)):
        with _atomic_path(os.fspath(f)) as fh:
            _write_archive(fh, obj)
        return
    if not hasattr(f, "write"):
        raise TypeError(f"ember.save expects a path or a writable binary file object, got {type(f).__name__}")
    _write_archive(f, obj)


# ---- load: device placement ---------------------------------------------------------------------
def _target_device(saved: str, map_location: MapLocation) -> Any:
    """The device a tensor saved on ``saved`` goes to (a string), or a callable's result."""
    from ember.device import device

    if map_location is None:
        return saved
    if isinstance(map_location, (str, device)):
        return str(map_location)
    if isinstance(map_location, dict):
        target = map_location.get(saved, saved)
        return str(target)
    raise TypeError(f"map_location should be None, a device, a str, a dict or a callable, got "
                    f"{type(map_location).__name__}")


class _Placer:
    """Build tensors from host arrays on their target devices (PyTorch's map_location rules)."""

    def __init__(self, name: str, map_location: MapLocation) -> None:
        self.name = name
        self.map_location = map_location

    def place(self, arr: np.ndarray, dtype_name: str, saved_device: str) -> Any:
        from ember.functions.creation import from_numpy
        from ember.tensor import Tensor

        t = from_numpy(arr)
        if dtype_name == "bool" and arr.dtype != np.bool_:
            t = t.to(_ember_dtype("bool"))
        if callable(self.map_location) and not isinstance(self.map_location, dict):
            out = self.map_location(t, saved_device)
            if out is None:
                return self._move(t, saved_device)
            if not isinstance(out, Tensor):
                raise CheckpointError(f"map_location returned a {type(out).__name__}, expected a Tensor or None "
                                      f"(loading {self.name!r})")
            return out
        return self._move(t, _target_device(saved_device, self.map_location))

    def _move(self, t: Any, target: str) -> Any:
        from ember.dispatch import DeviceError

        if target == "cpu":
            return t
        try:
            return t.to(target)
        except (DeviceError, RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{self.name!r}: cannot place a {t.dtype} tensor on device '{target}' ({exc}). "
                "If that device is not available here (or lacks the dtype), pass map_location='cpu' (or a "
                "dict / callable) to ember.load to map the tensors elsewhere.") from exc


# ---- load: ember format -------------------------------------------------------------------------
class _Decoder:
    def __init__(self, name: str, tensors: list[Any]) -> None:
        self.name = name
        self.tensors = tensors

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.name!r} is not a valid ember checkpoint: {what}")

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > 1000 or not isinstance(node, dict) or "t" not in node:
            raise self.fail("malformed structure in header")
        kind = node["t"]
        try:
            if kind == "none":
                return None
            if kind == "bool":
                return bool(node["v"])
            if kind == "int":
                return int(node["v"])
            if kind == "float":
                return float(node["v"])
            if kind == "str":
                return str(node["v"])
            if kind == "bytes":
                return base64.b64decode(node["v"])
            if kind == "tensor":
                return self.tensors[int(node["id"])]
            if kind == "size":
                from ember.size import Size

                return Size([int(s) for s in node["v"]])
            if kind == "list":
                return [self.decode(v, depth + 1) for v in node["v"]]
            if kind == "tuple":
                return tuple(self.decode(v, depth + 1) for v in node["v"])
            if kind in ("set", "frozenset"):
                vals = [self.decode(v, depth + 1) for v in node["v"]]
                return set(vals) if kind == "set" else frozenset(vals)
            if kind in ("dict", "odict"):
                out = (collections.OrderedDict if kind == "odict" else dict)(
                    (self.decode(k, depth + 1), self.decode(v, depth + 1)) for k, v in node["items"])
                if "metadata" in node and isinstance(out, collections.OrderedDict):
                    out._metadata = self.decode(node["metadata"], depth + 1)  # type: ignore[attr-defined]
                return out
            if kind == "dtype":
                return _ember_dtype(node["v"])
            if kind == "device":
                from ember.device import device

                return device(node["v"])
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise self.fail(f"malformed {kind!r} entry in header ({exc})") from exc
        raise self.fail(f"unknown entry kind {kind!r} in header")


def _load_ember(zf: zipfile.ZipFile, name: str, map_location: MapLocation, weights_only: bool) -> Any:
    try:
        header = json.loads(zf.read(_HEADER).decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{name!r} is corrupted: cannot read its header ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{name!r} is not an ember checkpoint (unknown format {header.get('format')!r})"
                              if isinstance(header, dict) else f"{name!r} has a malformed header")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{name!r} uses ember checkpoint format version {version!r}; this ember reads "
                              f"versions up to {FORMAT_VERSION}. Upgrade ember to load it.")
    if header.get("payload") == "pickle":
        info = header.get("pickle") or {}
        if weights_only:
            raise WeightsOnlyLoadError(
                f"Weights only load failed. {name!r} holds pickled Python objects (not only tensors and plain "
                "data), which ember.load refuses with weights_only=True. Re-running ember.load with weights_only "
                "set to False will likely succeed, but it can result in arbitrary code execution. Do it only if "
                "you got the file from a trusted source.")
        blob = _read_member(zf, name, info.get("file", _PICKLE), info.get("nbytes"), info.get("sha256"))
        obj = pickle.loads(blob)
        return _map_pickled(obj, map_location)
    dec = _Decoder(name, [])
    entries = header.get("tensors")
    if not isinstance(entries, list) or "root" not in header:
        raise dec.fail("header lacks the tensor table or the root")
    placer = _Placer(name, map_location)
    arrays = []
    # Read and verify every blob before building anything: a bad file leaves no partial result.
    for i, e in enumerate(entries):
        try:
            dtype_name, shape = e["dtype"], [int(s) for s in e["shape"]]
            np_dtype = np.dtype(_NP_LE[dtype_name])
        except (KeyError, TypeError, ValueError) as exc:
            raise dec.fail(f"tensor {i} has a malformed entry ({exc})") from exc
        expected = math.prod(shape) * np_dtype.itemsize
        blob = _read_member(zf, name, e.get("file"), e.get("nbytes"), e.get("sha256"))
        if len(blob) != expected:
            raise dec.fail(f"tensor {i} has {len(blob)} bytes, expected {expected} for shape {shape} {dtype_name}")
        arrays.append(np.frombuffer(blob, dtype=np_dtype).reshape(shape).astype(np_dtype.newbyteorder("="), copy=True))
    tensors = []
    for e, arr in zip(entries, arrays):
        t = placer.place(arr, e["dtype"], str(e.get("device", "cpu")))
        if e.get("parameter"):
            try:
                from ember.nn.parameter import Parameter

                t = Parameter(t, bool(e.get("requires_grad")))
            except ImportError:
                pass
        elif e.get("requires_grad"):
            t.requires_grad_(True)
        tensors.append(t)
    dec.tensors = tensors
    return dec.decode(header["root"])


def _read_member(zf: zipfile.ZipFile, name: str, member: Any, nbytes: Any, sha: Any) -> bytes:
    if not isinstance(member, str):
        raise CheckpointError(f"{name!r} is not a valid ember checkpoint: a data entry names no file")
    try:
        blob = zf.read(member)
    except KeyError as exc:
        raise CheckpointError(f"{name!r} is truncated or corrupted: missing entry {member!r}") from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise CheckpointError(f"{name!r} is corrupted: entry {member!r} failed to read ({exc})") from exc
    if nbytes is not None and len(blob) != nbytes:
        raise CheckpointError(f"{name!r} is corrupted: entry {member!r} has {len(blob)} bytes, expected {nbytes}")
    if sha is not None and hashlib.sha256(blob).hexdigest() != sha:
        raise CheckpointError(f"{name!r} is corrupted: checksum mismatch in entry {member!r}")
    return blob


def _map_pickled(obj: Any, map_location: MapLocation) -> Any:
    """Apply map_location to the tensors of an unpickled object (only a device string or dict)."""
    if map_location is None or callable(map_location) and not isinstance(map_location, dict):
        return obj
    from ember.tensor import Tensor

    def move(o: Any) -> Any:
        if isinstance(o, Tensor):
            target = _target_device(str(o.device), map_location)
            return o if target == str(o.device) else o.to(target)
        if isinstance(o, dict):
            for k in list(o):
                o[k] = move(o[k])
        elif isinstance(o, list):
            o[:] = [move(v) for v in o]
        elif isinstance(o, tuple):
            return type(o)(move(v) for v in o) if type(o) is tuple else o
        return o

    return move(obj)


# ---- load: PyTorch's zip format -----------------------------------------------------------------
_TORCH_STORAGES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool",
}
_TORCH_NP = {"float32": "f4", "float64": "f8", "float16": "f2", "bfloat16": "u2", "int64": "i8", "int32": "i4",
             "int16": "i2", "int8": "i1", "uint8": "u1", "bool": "?"}


class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co. (only their names are used)."""

    def __init__(self, dtype_name: str) -> None:
        self.dtype_name = dtype_name


class _Storage:
    def __init__(self, array: np.ndarray, dtype_name: str, location: str) -> None:
        self.array, self.dtype_name, self.location = array, dtype_name, location


class _TorchTensorMarker:
    """Stands in for ``torch.Tensor`` / ``torch.nn.Parameter`` in ``_rebuild_from_type_v2``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


class _TorchLoader:
    def __init__(self, zf: zipfile.ZipFile, prefix: str, name: str, map_location: MapLocation) -> None:
        self.zf, self.prefix, self.name = zf, prefix, name
        self.placer = _Placer(name, map_location)
        self.storages: dict[str, _Storage] = {}
        self.bf16 = False
        order = "little"
        if prefix + "byteorder" in zf.namelist():
            order = zf.read(prefix + "byteorder").decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise CheckpointError(f"{name!r}: unknown byteorder {order!r} in PyTorch checkpoint")
        self.endian = "<" if order == "little" else ">"

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.name!r} (PyTorch checkpoint): {what}")

    def storage(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise WeightsOnlyLoadError(f"Weights only load failed: {self.name!r} has an unsupported persistent id "
                                       f"{pid[0] if isinstance(pid, tuple) and pid else type(pid).__name__!r}")
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType):
            raise self.fail(f"storage {key!r} has an unsupported type")
        key = str(key)
        if key in self.storages:
            return self.storages[key]
        np_dtype = np.dtype(_TORCH_NP[stype.dtype_name]).newbyteorder(self.endian)
        member = f"{self.prefix}data/{key}"
        blob = _read_member(self.zf, self.name, member, None, None)
        if not isinstance(numel, int) or len(blob) != numel * np_dtype.itemsize:
            raise self.fail(f"storage {key!r} has {len(blob)} bytes, expected {numel} x {np_dtype.itemsize} "
                            "(truncated or corrupted)")
        arr = np.frombuffer(blob, dtype=np_dtype)
        st = self.storages[key] = _Storage(arr, stype.dtype_name, str(location))
        return st

    def rebuild(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                backward_hooks: Any = None, metadata: Any = None) -> Any:
        if not isinstance(storage, _Storage):
            raise self.fail("a tensor refers to something that is not a storage")
        try:
            size = tuple(int(s) for s in size)
            stride = tuple(int(s) for s in stride)
            offset = int(offset)
        except (TypeError, ValueError) as exc:
            raise self.fail(f"malformed tensor geometry ({exc})") from exc
        n = storage.array.size
        if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
            raise self.fail(f"invalid tensor geometry size={size} stride={stride} offset={offset}")
        if math.prod(size) > 0:
            last = offset + sum((s - 1) * st for s, st in zip(size, stride))
            if last >= n:
                raise self.fail(f"tensor of size {list(size)} with stride {list(stride)} and offset {offset} "
                                f"reads past its storage of {n} elements")
        arr = storage.array
        item = arr.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(arr[offset:] if offset < n else arr[:0], shape=size,
                                               strides=tuple(s * item for s in stride), writeable=False) \
            if math.prod(size) > 0 else np.zeros(size, dtype=arr.dtype)
        dtype_name = storage.dtype_name
        if dtype_name == "bfloat16":
            self.bf16 = True
            host = (view.astype(np.uint32) << 16).view(np.float32)
            dtype_name = "float32"
        else:
            host = np.array(view, dtype=arr.dtype.newbyteorder("="), order="C", copy=True)
        t = self.placer.place(_c_order(host), dtype_name, storage.location)
        if requires_grad and t.is_floating_point():
            t.requires_grad_(True)
        return t

    def rebuild_parameter(self, data: Any, requires_grad: Any, backward_hooks: Any, state: Any = None) -> Any:
        from ember.tensor import Tensor

        if not isinstance(data, Tensor):
            raise self.fail("a parameter wraps something that is not a tensor")
        try:
            from ember.nn.parameter import Parameter

            return Parameter(data, bool(requires_grad))
        except ImportError:
            return data.requires_grad_(bool(requires_grad)) if data.is_floating_point() else data

    def rebuild_from_type_v2(self, func: Any, new_type: Any, args: Any, state: Any) -> Any:
        if not isinstance(new_type, _TorchTensorMarker) or not callable(func):
            raise WeightsOnlyLoadError(f"Weights only load failed: {self.name!r} rebuilds a tensor subclass, "
                                       "which is not allowed")
        return func(*args)

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self.rebuild
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return self.rebuild_parameter
        if module == "torch._tensor" and name == "_rebuild_from_type_v2":
            return self.rebuild_from_type_v2
        if module == "torch" and name == "Tensor":
            return _TorchTensorMarker("tensor")
        if module == "torch.nn.parameter" and name == "Parameter":
            return _TorchTensorMarker("parameter")
        if module == "torch" and name in _TORCH_STORAGES:
            return _StorageType(_TORCH_STORAGES[name])
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "builtins" and name in ("set", "frozenset"):
            return {"set": set, "frozenset": frozenset}[name]
        raise WeightsOnlyLoadError(
            f"Weights only load failed: {self.name!r} references the disallowed global {module}.{name}. "
            "ember.load only accepts tensors, storages and plain containers from PyTorch checkpoints.")

    def load(self) -> Any:
        loader = self
        data = _read_member(self.zf, self.name, self.prefix + "data.pkl", None, None)

        class _Unpickler(pickle.Unpickler):
            def find_class(self, module: str, name: str) -> Any:
                return loader.find_class(module, name)

            def persistent_load(self, pid: Any) -> Any:
                return loader.storage(pid)

        try:
            obj = _Unpickler(io.BytesIO(data)).load()
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a damaged file
            raise self.fail(f"cannot unpickle data.pkl ({type(exc).__name__}: {exc})") from exc
        if self.bf16:
            warnings.warn(f"{self.name!r}: bfloat16 tensors were converted to float32 (ember has no bfloat16)",
                          UserWarning, stacklevel=3)
        return obj


def _torch_prefix(names: list[str]) -> str | None:
    for n in names:
        if n.endswith("data.pkl") and n.count("/") == 1:
            return n[: -len("data.pkl")]
    return None


# ---- load ---------------------------------------------------------------------------------------
def load(f: FileLike, map_location: MapLocation = None, pickle_module: Any = None, *,
         weights_only: bool = True, mmap: Any = None, **pickle_load_args: Any) -> Any:
    """Load a checkpoint written by ``ember.save`` or by ``torch.save`` (zip format).

    Args:
        f: a path or a binary file object.
        map_location: where tensors go: ``None`` (the device they were saved from), a device,
            a dict ``{'cuda:0': 'cpu'}``, or a callable ``(tensor, location) -> tensor or None``.
        weights_only: refuse pickled Python objects (the default, as in PyTorch 2.6+).

    Raises:
        CheckpointError: the file is truncated, corrupted, foreign or unsafe (then nothing is
            returned), or a device it names is unavailable.

    Example:
        >>> import ember, io
        >>> buf = io.BytesIO(); ember.save([ember.zeros(1)], buf); _ = buf.seek(0)
        >>> ember.load(buf, map_location="cpu")
        [tensor([0.])]
    """
    name = _name_of(f)
    raw = _read_all(f)
    if len(raw) == 0:
        raise CheckpointError(f"{name!r} is empty")
    if not raw.startswith(b"PK"):
        if raw[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
            raise CheckpointError(f"{name!r} is a bare pickle (PyTorch's legacy pre-1.6 format or a plain pickle "
                                  "file), which ember.load does not read; re-save it with torch.save (zip format) "
                                  "or ember.save")
        raise CheckpointError(f"{name!r} is not a checkpoint (not a zip archive: unknown format)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise CheckpointError(f"{name!r} is truncated or corrupted (bad zip archive: {exc})") from exc
    with zf:
        if _HEADER in names:
            return _load_ember(zf, name, map_location, weights_only)
        prefix = _torch_prefix(names)
        if prefix is not None:
            return _TorchLoader(zf, prefix, name, map_location).load()
    raise CheckpointError(f"{name!r} is a zip archive but not an ember or PyTorch checkpoint (no "
                          f"{_HEADER} or data.pkl; it may be truncated)")


# ---- safetensors --------------------------------------------------------------------------------
def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy as stnp
    except ImportError as exc:
        raise ImportError("safetensors support needs the 'safetensors' package: pip install 'ember[safetensors]' "
                          "(or pip install safetensors)") from exc
    return stnp


def save_safetensors(tensors: dict[str, Any], filename: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write a flat ``{name: tensor}`` dict to a ``.safetensors`` file (atomically).

    Example:
        >>> import ember, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> ember.serialization.save_safetensors({"w": ember.ones(2)}, path)
        >>> ember.serialization.load_safetensors(path)["w"]
        tensor([1., 1.])
    """
    from ember.tensor import Tensor

    stnp = _safetensors_numpy()
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors expects a dict of tensors, got {type(tensors).__name__}")
    arrays = {}
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise TypeError(f"safetensors keys must be str, got {type(k).__name__} ({k!r})")
        if not isinstance(v, Tensor):
            raise TypeError(f"safetensors values must be tensors, got {type(v).__name__} for {k!r}")
        arrays[k] = _c_order(v._kt["to_host"](v.detach()._data))
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata must be a dict of str to str")
    blob = stnp.save(arrays, metadata=metadata)
    with _atomic_path(os.fspath(filename)) as fh:
        fh.write(blob)


def load_safetensors(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Any]:
    """Read a ``.safetensors`` file into ``{name: tensor}`` on ``device``."""
    stnp = _safetensors_numpy()
    name = os.fspath(filename)
    try:
        with open(name, "rb") as fh:
            arrays = stnp.load(fh.read())
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - the library raises several kinds for bad files
        raise CheckpointError(f"{name!r} is not a valid safetensors file ({type(exc).__name__}: {exc})") from exc
    placer = _Placer(name, str(device))
    out = {}
    for k, arr in arrays.items():
        if arr.dtype.name not in _NP_LE:
            raise CheckpointError(f"{name!r}: tensor {k!r} has dtype {arr.dtype}, which ember does not support")
        out[k] = placer.place(_c_order(arr), "bool" if arr.dtype == np.bool_ else arr.dtype.name,
                              str(device))
    return out


save_file = save_safetensors
load_file = load_safetensors
