"""ember's own checkpoint format: a zip of a JSON header and raw little-endian blobs; loading runs no code.

* ``ember/header.json``: format name and version, a JSON tree describing the saved object
  (dicts, lists, tuples, numbers, strings, tensors by reference), and for each tensor its
  dtype, shape, device, ``requires_grad``, byte size and SHA-256;
* ``ember/data/<i>.bin``: each tensor's values, raw little-endian, C order.

Objects that are not plain data (a whole ``nn.Module``, say) are pickled into
``ember/data.pkl`` instead, with every tensor stored beside it as above and referenced from the
pickle (a persistent id). ``load(weights_only=True)`` (the default) unpickles such a payload with a
restricted unpickler, as PyTorch does: it rebuilds containers, dtypes, devices and tensors, and
any other class or function only if the caller allowed it (``ember.serialization.add_safe_globals``
or the ``safe_globals`` context manager); anything else is refused before it runs. Version 1
archives pickled tensors inline and still need ``weights_only=False``.
"""

from __future__ import annotations

import base64
import codecs
import collections
import errno
import hashlib
import io
import json
import math
import os
import pickle
import secrets
import zipfile
from typing import IO, Any

import numpy as np

from ember.serialization._dtypes import STORED, decode
from ember.serialization._placement import Placer, check_bounds, target_device, view_of
from ember.serialization._shared import (
    _BLOCKED_MODULES,
    CheckpointError,
    FileLike,
    LoadBudget,
    MapLocation,
    WeightsOnlyLoadError,
    atomic_path,
    c_order,
    disallowed_global,
    read_member,
)

FORMAT_NAME = "ember-checkpoint"
FORMAT_VERSION = 2  # 2: a pickle payload references its tensors, stored as blobs beside it
HEADER = "ember/header.json"
_PICKLE = "ember/data.pkl"
#: Deepest nesting ``save`` writes in the safe format (deeper objects are pickled); far enough from
#: Python's recursion limit that saving from inside deep call stacks works.
MAX_SAVE_DEPTH = 200
#: Deepest nesting ``load`` reads (earlier versions saved up to 500 levels).
MAX_LOAD_DEPTH = 500


def _le_dtype(name: str) -> np.dtype:
    """The little-endian NumPy dtype ember stores an ember dtype as (KeyError for any other name)."""
    stored = STORED[name]
    if stored.converted:
        raise KeyError(name)
    return np.dtype(stored.code).newbyteorder("<")


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

        if depth > MAX_SAVE_DEPTH:
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
            if type(obj) is not Tensor and type(obj).__name__ not in ("Parameter", "Tensor"):  # Tensor: a forward-AD dual
                raise _NotPlain(type(obj).__name__)
            if obj.device.type == "meta":  # no data: its geometry is the whole tensor (PyTorch's rule too)
                return {"t": "meta_tensor", "dtype": obj.dtype.name, "shape": [int(n) for n in obj.shape],
                        "stride": [int(n) for n in obj.stride()], "requires_grad": bool(obj.requires_grad),
                        "parameter": type(obj).__name__ == "Parameter"}
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


class _TensorRefPickler(pickle.Pickler):
    """Pickles an object tree with each tensor (exactly ``Tensor`` or ``Parameter``) replaced by a
    reference into the archive's tensor table: its values are stored as blobs, not as pickled
    NumPy arrays, so a weights-only load needs no NumPy globals and places tensors itself."""

    def __init__(self, fh: IO[bytes], enc: _Encoder) -> None:
        super().__init__(fh, protocol=4)
        self.enc = enc

    def persistent_id(self, obj: Any) -> Any:
        from ember.tensor import Tensor

        if isinstance(obj, Tensor) and (type(obj) is Tensor or type(obj).__name__ in ("Parameter", "Tensor")):
            return ("tensor", self.enc.encode(obj)["id"])
        return None


def _host_array(t: Any) -> np.ndarray:
    """The tensor's values as a little-endian C-contiguous host array."""
    host = np.asarray(t._kt["to_host"](t.detach()._data))
    if t.dtype.name == "bfloat16":  # stored as its bits: converting to uint16 would round the values
        host = host.view(np.uint16)
    return c_order(host, _le_dtype(t.dtype.name))


#: Where ember.save puts PyTorch's entries: torch.load takes the archive's one top folder as its
#: name, so ember's header lives in the same folder.
_ARCHIVE = "ember/"
#: PyTorch aligns each storage's data to this many bytes in the file (what ``mmap`` relies on).
_ALIGN = 64
#: ember's own pickle payload in archives that also hold PyTorch's ``ember/data.pkl``.
_EMBER_PICKLE = "ember/ember.pkl"


def _write_aligned(zf: zipfile.ZipFile, name: str, data: memoryview, start: int) -> None:
    """A stored entry whose data begins at a multiple of ``_ALIGN`` bytes from the archive's start,
    padded through an extra field as PyTorch's writer does."""
    zip64 = data.nbytes > 2**31
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    fixed = 30 + len(name.encode("utf-8")) + 4 + (20 if zip64 else 0)
    try:
        pos = zf.fp.tell() - start  # type: ignore[union-attr]
    except (OSError, AttributeError):
        pos = None
    pad = 0 if pos is None else -(pos + fixed) % _ALIGN
    info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
    with zf.open(info, "w", force_zip64=zip64) as out:
        out.write(data)


def _write_archive(fh: IO[bytes], obj: Any, protocol: int = 2) -> None:
    """One zip that is both a PyTorch checkpoint (``ember/data.pkl`` and its storages, read by
    ``torch.load``) and an ember checkpoint (``ember/header.json``, read by ``ember.load``). The
    storages are stored once: ember's tensor table points into them."""
    from ember.serialization import torch_writer

    table = torch_writer.StorageTable()
    torch_pkl = torch_writer.torch_pickle(obj, protocol, table)  # fails (unpicklable) before a byte is written
    enc = _Encoder()
    blob = None
    try:
        root = enc.encode(obj)
        payload = "tree"
    except _NotPlain:
        enc, payload = _Encoder(), "pickle"
        buf = io.BytesIO()
        _TensorRefPickler(buf, enc).dump(obj)  # fills enc.tensors
        blob = buf.getvalue()
    geos = [table.geometry(t) for t in enc.tensors]
    header: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "payload": payload}
    try:
        start = fh.tell()
    except (OSError, AttributeError):
        start = 0
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(_ARCHIVE + "data.pkl", torch_pkl)
        zf.writestr(_ARCHIVE + ".format_version", "1")
        zf.writestr(_ARCHIVE + ".storage_alignment", str(_ALIGN))
        zf.writestr(_ARCHIVE + "byteorder", "little")
        sums: dict[str, tuple[int, str]] = {}
        for ref in table.order:
            arr = torch_writer.storage_bytes(ref)
            view = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")
            _write_aligned(zf, f"{_ARCHIVE}data/{ref.key}", view, start)
            sums[ref.key] = (int(arr.nbytes), hashlib.sha256(view).hexdigest())
        if blob is not None:
            zf.writestr(_EMBER_PICKLE, blob)
            header["pickle"] = {"file": _EMBER_PICKLE, "nbytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
        else:
            header["root"] = root
        entries = []
        for t, (ref, offset, stride) in zip(enc.tensors, geos):
            nbytes, sha = sums[ref.key]
            entries.append({"file": f"{_ARCHIVE}data/{ref.key}", "dtype": t.dtype.name, "shape": list(t.shape),
                            "device": str(t.device), "requires_grad": bool(t.requires_grad),
                            "parameter": type(t).__name__ == "Parameter", "nbytes": nbytes, "sha256": sha,
                            "storage_numel": ref.numel, "storage_offset": offset, "stride": list(stride)})
        header["tensors"] = entries
        zf.writestr(_ARCHIVE + "version", "3\n")
        zf.writestr(_ARCHIVE + ".data/serialization_id", secrets.token_hex(20))
        # The header goes last: an archive cut short anywhere lacks it (or its central directory).
        zf.writestr(HEADER, json.dumps(header, separators=(",", ":")))


def _check_target(path: str, zip_format: bool) -> None:
    """Refuse a path ``torch.save`` cannot write, with its error: its zip writer's RuntimeError, or
    ``open(path, "wb")``'s OSError for the legacy format (ember writes a temp file beside it first,
    whose own error would name that temp file)."""
    if os.path.isdir(path):
        if zip_format:
            raise RuntimeError(f"{path}: open file failed with strerror: Is a directory")
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    parent = os.path.dirname(path)
    if not os.path.isdir(os.path.dirname(os.path.realpath(path))):
        if zip_format:
            raise RuntimeError(f"Parent directory {parent} does not exist.")
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` (a state dict, nested containers of tensors and numbers...) to a path or file.

    The file is a PyTorch checkpoint (``torch.load`` reads it) that also carries ember's header
    (per-tensor dtype, shape, device and SHA-256). Plain data (dicts, lists, tuples, numbers,
    strings, tensors) loads with the default ``weights_only=True``; other objects need the caller
    to allow their classes (``safe_globals``) or ``weights_only=False``, as in PyTorch.
    ``_use_new_zipfile_serialization=False`` writes PyTorch's legacy (pre-1.6) format instead.
    Writing to a path is atomic: the old file survives any failure. As with ``open(path, "wb")``,
    a new file gets ``0o666 & ~umask``, an existing one keeps its mode, a symlink is followed.

    Example:
        >>> import ember, io
        >>> buf = io.BytesIO()
        >>> ember.save({"step": 1}, buf)
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise NotImplementedError("ember.save writes with its own pickler; pickle_module must be None or pickle")
    if _use_new_zipfile_serialization:
        def write(fh: IO[bytes]) -> None:
            _write_archive(fh, obj, pickle_protocol)
    else:
        from ember.serialization.torch_writer import write_legacy

        def write(fh: IO[bytes]) -> None:
            write_legacy(fh, obj, pickle_protocol)
    if isinstance(f, (str, os.PathLike)):
        _check_target(os.fspath(f), _use_new_zipfile_serialization)
        with atomic_path(os.fspath(f)) as fh:
            write(fh)
        return
    if not hasattr(f, "write"):
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a 'write' attribute")
    write(f)


# ---- load --------------------------------------------------------------------------------------
def meta_tensor(dtype: Any, shape: Any, stride: Any, requires_grad: bool, parameter: bool, fail: Any) -> Any:
    """A tensor on the ``meta`` device, as PyTorch loads one (whatever ``map_location`` says: it has
    no data to place)."""
    from ember.functions.misc import empty_strided

    try:
        shape, stride = tuple(int(n) for n in shape), tuple(int(n) for n in stride)
    except (TypeError, ValueError) as exc:
        raise fail(f"malformed meta tensor geometry ({type(exc).__name__}: {exc})") from exc
    if len(shape) != len(stride) or any(n < 0 for n in shape):
        raise fail(f"malformed meta tensor geometry: size {list(shape)}, stride {list(stride)}")
    t = empty_strided(shape, stride, dtype=dtype, device="meta")
    if parameter:
        from ember.nn.parameter import Parameter

        return Parameter(t, requires_grad)
    return t.requires_grad_(True) if requires_grad else t


class _Decoder:
    def __init__(self, name: str, tensors: list[Any]) -> None:
        self.name = name
        self.tensors = tensors

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.name!r} is not a valid ember checkpoint: {what}")

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_LOAD_DEPTH or not isinstance(node, dict) or "t" not in node:
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
                i = int(node["id"])
                if not 0 <= i < len(self.tensors):
                    raise IndexError(f"tensor id {i} out of range")
                return self.tensors[i]
            if kind == "meta_tensor":
                return meta_tensor(_ember_dtype(node["dtype"]), node["shape"], node["stride"],
                                   bool(node["requires_grad"]), bool(node.get("parameter")), self.fail)
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
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError, OverflowError) as exc:
            # RuntimeError covers RecursionError (a tree nested past Python's stack) and unknown devices.
            raise self.fail(f"malformed {kind!r} entry in header ({type(exc).__name__}: {exc})") from exc
        raise self.fail(f"unknown entry kind {kind!r} in header")


def _read_header(zf: zipfile.ZipFile, name: str, budget: LoadBudget) -> dict:
    blob = read_member(zf, name, HEADER, expected=None, budget=budget)
    try:
        header = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{name!r} is corrupted: cannot read its header ({type(exc).__name__}: {exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{name!r} has a malformed header")
    if header.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{name!r} is not an ember checkpoint (unknown format {header.get('format')!r})")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{name!r} uses ember checkpoint format version {version!r}; this ember reads "
                              f"versions up to {FORMAT_VERSION}. Upgrade ember to load it.")
    return header


def _verified(zf: zipfile.ZipFile, name: str, entry: dict, expected: int, budget: LoadBudget) -> bytearray:
    """An entry's bytes, its declared size and checksum checked (size before reading, sum after)."""
    nbytes = entry.get("nbytes")
    if nbytes is not None and nbytes != expected:
        raise CheckpointError(f"{name!r} is corrupted: entry {entry.get('file')!r} is listed with {nbytes!r} bytes, "
                              f"expected {expected}")
    blob = read_member(zf, name, entry.get("file"), expected=expected, budget=budget)
    sha = entry.get("sha256")
    if sha is not None and hashlib.sha256(blob).hexdigest() != sha:
        raise CheckpointError(f"{name!r} is corrupted: checksum mismatch in entry {entry.get('file')!r}")
    return blob


def _load_pickle_payload(zf: zipfile.ZipFile, name: str, header: dict, map_location: MapLocation,
                         weights_only: bool, budget: LoadBudget) -> Any:
    if "tensors" in header:  # version 2: tensors stored beside the pickle
        return _load_tensor_ref_pickle(zf, name, header, map_location, weights_only, budget)
    if weights_only:
        raise WeightsOnlyLoadError(
            f"Weights only load failed. {name!r} holds pickled Python objects (not only tensors and plain "
            "data), which ember.load refuses with weights_only=True. Re-running ember.load with weights_only "
            "set to False will likely succeed, but it can result in arbitrary code execution. Do it only if "
            "you got the file from a trusted source.")
    info = header.get("pickle")
    if not isinstance(info, dict) or not isinstance(info.get("nbytes"), int):
        raise CheckpointError(f"{name!r} is not a valid ember checkpoint: the pickle entry is malformed")
    blob = _verified(zf, name, {"file": _PICKLE, **info}, info["nbytes"], budget)
    return _map_pickled(pickle.loads(blob), map_location)


def _load_tensor_ref_pickle(zf: zipfile.ZipFile, name: str, header: dict, map_location: MapLocation,
                            weights_only: bool, budget: LoadBudget) -> Any:
    """A version-2 pickle payload: verify every blob, place the tensors, then unpickle (restricted
    with ``weights_only``), resolving each tensor reference to its tensor."""
    dec = _Decoder(name, [])
    info, entries = header.get("pickle"), header.get("tensors")
    if not isinstance(info, dict) or not isinstance(info.get("nbytes"), int) or not isinstance(entries, list) \
            or not all(isinstance(e, dict) for e in entries):
        raise dec.fail("the pickle entry or the tensor table is malformed")
    blob = _verified(zf, name, {"file": _PICKLE, **info}, info["nbytes"], budget)
    tensors = _build_tensors(zf, dec, entries, map_location, budget)
    unpickler = (_WeightsOnlyUnpickler if weights_only else _TensorRefUnpickler)(io.BytesIO(blob), name, tensors)
    try:
        return unpickler.load()
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged pickle, or a class that cannot rebuild
        if not weights_only:
            raise
        raise dec.fail(f"cannot unpickle {_PICKLE} ({type(exc).__name__}: {exc})") from exc


class _TensorRefUnpickler(pickle.Unpickler):
    """Resolves the tensor references of :class:`_TensorRefPickler` (``weights_only=False``)."""

    def __init__(self, fh: IO[bytes], name: str, tensors: list[Any]) -> None:
        super().__init__(fh)
        self.name, self.tensors = name, tensors

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 2 and pid[0] == "tensor" and isinstance(pid[1], int)
                and 0 <= pid[1] < len(self.tensors)):
            raise CheckpointError(f"{self.name!r} is not a valid ember checkpoint: bad tensor reference {pid!r}")
        return self.tensors[pid[1]]


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """What a weights-only load rebuilds without being told: containers, ember's dtypes, devices
    and sizes (each by its own reconstructor), nothing that runs other code."""
    from ember.device import device
    from ember.dtypes import _dtype_from_name
    from ember.functions import layout
    from ember.size import Size
    from ember.sparse._coo import _rebuild_sparse  # bounds-checks what the file says

    layouts = {("ember.functions.layout", k): v for k, v in vars(layout).items() if isinstance(v, layout.layout)}
    return {**layouts, ("collections", "OrderedDict"): collections.OrderedDict, ("builtins", "set"): set,
            ("_codecs", "encode"): codecs.encode, ("builtins", "bytearray"): bytearray,
            ("builtins", "complex"): complex, ("collections", "Counter"): collections.Counter,
            ("builtins", "frozenset"): frozenset, ("ember.dtypes", "_dtype_from_name"): _dtype_from_name,
            ("ember.device", "device"): device, ("ember.size", "Size"): Size,
            ("ember.sparse._coo", "_rebuild_sparse"): _rebuild_sparse}


def _weights_only_build(self: _WeightsOnlyUnpickler) -> None:
    """BUILD (setting an object's state) only on instances of classes the caller allowed, and the
    ``_metadata`` of an OrderedDict (a state dict's version info)."""
    from ember.serialization import _safe_globals

    inst = self.stack[-2]
    if _safe_globals.is_safe_type(type(inst)):
        pickle._Unpickler.load_build(self)
        return
    state = self.stack.pop()
    if not (type(inst) is collections.OrderedDict and isinstance(state, dict) and all(isinstance(k, str) for k in state)):
        raise self.refuse(f"setting the state of a {type(inst).__module__}.{type(inst).__qualname__}")
    inst.__dict__.update(state)


class _WeightsOnlyUnpickler(pickle._Unpickler):  # the Python implementation: its opcode table can be restricted
    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BUILD[0]] = _weights_only_build

    def __init__(self, fh: IO[bytes], name: str, tensors: list[Any]) -> None:
        super().__init__(fh)
        self.name, self.tensors = name, tensors
        self.allowed = _allowed_globals()

    persistent_load = _TensorRefUnpickler.persistent_load

    def refuse(self, what: str) -> WeightsOnlyLoadError:
        return disallowed_global(self.name, what)

    def find_class(self, module: str, name: str) -> Any:
        from ember.serialization import _safe_globals

        if module in _BLOCKED_MODULES:  # refused even when marked safe, as in PyTorch
            raise self.refuse(f"{module}.{name}")
        found = self.allowed.get((module, name))
        if found is None:
            found = _safe_globals.lookup(module, name)
        if found is None:
            raise self.refuse(f"{module}.{name}")
        return found


def _tensor_array(zf: zipfile.ZipFile, dec: _Decoder, i: int, e: Any, budget: LoadBudget) -> np.ndarray:
    """Tensor ``i``'s values, read and verified, as a native-order array of its shape."""
    try:
        dtype_name, shape = e["dtype"], tuple(int(s) for s in e["shape"])
        np_dtype = _le_dtype(dtype_name)
    except (KeyError, TypeError, ValueError) as exc:
        raise dec.fail(f"tensor {i} has a malformed entry ({type(exc).__name__}: {exc})") from exc
    if len(shape) > 64 or any(s < 0 for s in shape):
        raise dec.fail(f"tensor {i} has an invalid shape {list(shape)}")
    blob = _verified(zf, dec.name, e, math.prod(shape) * np_dtype.itemsize, budget)
    return decode(blob, STORED[dtype_name], "<", repr(dec.name)).reshape(shape)


def _storage_entry(zf: zipfile.ZipFile, dec: _Decoder, i: int, e: dict, budget: LoadBudget) -> tuple[Any, ...]:
    """Tensor ``i`` of an archive written since ember.save writes PyTorch's format: the storage
    entry it views (its values, read and verified) and its geometry in it."""
    try:
        np_dtype = _le_dtype(e["dtype"])
        shape = tuple(int(s) for s in e["shape"])
        stride = tuple(int(s) for s in e["stride"])
        offset, numel = int(e["storage_offset"]), int(e["storage_numel"])
    except (KeyError, TypeError, ValueError) as exc:
        raise dec.fail(f"tensor {i} has a malformed entry ({type(exc).__name__}: {exc})") from exc
    if numel < 0:
        raise dec.fail(f"tensor {i} has an invalid storage size {numel}")
    check_bounds(shape, stride, offset, numel, dec.fail)
    blob = _verified(zf, dec.name, e, numel * np_dtype.itemsize, budget)
    return blob, shape, stride, offset


def _build_tensors(zf: zipfile.ZipFile, dec: _Decoder, entries: list[dict], map_location: MapLocation,
                   budget: LoadBudget) -> list[Any]:
    """Every tensor of the table. Blobs are read and verified before anything is built (a bad file
    leaves no partial result); entries that view one storage share one tensor of it, as in PyTorch."""
    read: dict[str, tuple[Any, ...]] = {}
    plan = []
    for i, e in enumerate(entries):
        if "stride" not in e:  # written before ember.save wrote PyTorch's format: one blob per tensor
            plan.append(("blob", _tensor_array(zf, dec, i, e, budget)))
            continue
        file = str(e.get("file"))
        if file in read and read[file][0] == e.get("sha256"):  # one storage, read once
            blob = read[file][1]
            try:
                shape, stride = tuple(int(s) for s in e["shape"]), tuple(int(s) for s in e["stride"])
                offset, numel = int(e["storage_offset"]), int(e["storage_numel"])
                _le_dtype(e["dtype"])
            except (KeyError, TypeError, ValueError) as exc:
                raise dec.fail(f"tensor {i} has a malformed entry ({type(exc).__name__}: {exc})") from exc
            if numel * _le_dtype(e["dtype"]).itemsize != len(blob):
                raise dec.fail(f"tensor {i} disagrees with another on the size of storage {file!r}")
            check_bounds(shape, stride, offset, numel, dec.fail)
        else:
            blob, shape, stride, offset = _storage_entry(zf, dec, i, e, budget)
            read[file] = (e.get("sha256"), blob)
        plan.append(("view", (file, blob, shape, stride, offset)))
    placer = Placer(dec.name, map_location)
    bases: dict[tuple[str, str], Any] = {}
    out = []
    for e, (kind, item) in zip(entries, plan):
        if kind == "blob":
            out.append(_make_tensor(placer, e, item))
            continue
        file, blob, shape, stride, offset = item
        key = (file, e["dtype"])
        if key not in bases:
            device = str(e.get("device", "cpu"))
            values = decode(blob, STORED[e["dtype"]], "<", repr(dec.name))
            bases[key] = placer.place(values, e["dtype"], device)
            if bases[key].device.type != "cpu":  # a copy (the blob read is charged already)
                budget.charge(len(blob), f"storage {file!r} placed on {bases[key].device}")
        out.append(_make_tensor(placer, e, None, view_of(bases[key], shape, stride, offset)))
    return out


def _make_tensor(placer: Placer, e: dict, arr: np.ndarray | None, t: Any = None) -> Any:
    if t is None:
        t = placer.place(arr, e["dtype"], str(e.get("device", "cpu")))
    if e.get("parameter"):
        from ember.nn.parameter import Parameter

        return Parameter(t, bool(e.get("requires_grad")))
    if e.get("requires_grad"):
        t.requires_grad_(True)
    return t


def load_ember(zf: zipfile.ZipFile, name: str, map_location: MapLocation, weights_only: bool,
               budget: LoadBudget) -> Any:
    """Load an ember-format archive (``zf`` holds ``ember/header.json``)."""
    header = _read_header(zf, name, budget)
    if header.get("payload") == "pickle":
        return _load_pickle_payload(zf, name, header, map_location, weights_only, budget)
    dec = _Decoder(name, [])
    entries = header.get("tensors")
    if not isinstance(entries, list) or "root" not in header:
        raise dec.fail("header lacks the tensor table or the root")
    if not all(isinstance(e, dict) for e in entries):
        raise dec.fail("the tensor table holds something that is not an entry")
    dec.tensors = _build_tensors(zf, dec, entries, map_location, budget)
    return dec.decode(header["root"])


def _map_pickled(obj: Any, map_location: MapLocation) -> Any:
    """Apply map_location to the tensors of an unpickled object (only a device string or dict)."""
    if map_location is None or callable(map_location) and not isinstance(map_location, dict):
        return obj
    from ember.tensor import Tensor

    def move(o: Any) -> Any:
        if isinstance(o, Tensor):
            target = target_device(str(o.device), map_location)
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
