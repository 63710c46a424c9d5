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
import collections
import hashlib
import io
import json
import math
import os
import pickle
import zipfile
from typing import IO, Any

import numpy as np

from ember.serialization._dtypes import STORED, decode
from ember.serialization._placement import Placer, target_device
from ember.serialization._shared import (
    CheckpointError,
    FileLike,
    LoadBudget,
    MapLocation,
    WeightsOnlyLoadError,
    atomic_path,
    c_order,
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


def _write_archive(fh: IO[bytes], obj: Any) -> None:
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
    header: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "payload": payload}
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        if blob is not None:
            zf.writestr(_PICKLE, blob)
            header["pickle"] = {"file": _PICKLE, "nbytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
        else:
            header["root"] = root
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
        header["tensors"] = entries
        # The header goes last: an archive cut short anywhere lacks it (or its central directory).
        zf.writestr(HEADER, json.dumps(header, separators=(",", ":")))


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 4,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Save ``obj`` (a state dict, nested containers of tensors and numbers...) to a path or file.

    Plain data (dicts, lists, tuples, numbers, strings, tensors) is stored in ember's safe format;
    anything else is pickled inside the archive and needs ``load(..., weights_only=False)``.
    Writing to a path is atomic: the old file survives any failure. As with ``open(path, "wb")``,
    a new file gets ``0o666 & ~umask``, an existing one keeps its mode, a symlink is followed.

    Example:
        >>> import ember, io
        >>> buf = io.BytesIO()
        >>> ember.save({"step": 1}, buf)
    """
    if isinstance(f, (str, os.PathLike)):
        with atomic_path(os.fspath(f)) as fh:
            _write_archive(fh, obj)
        return
    if not hasattr(f, "write"):
        raise TypeError(f"ember.save expects a path or a writable binary file object, got {type(f).__name__}")
    _write_archive(f, obj)


# ---- load --------------------------------------------------------------------------------------
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
    arrays = [_tensor_array(zf, dec, i, e, budget) for i, e in enumerate(entries)]
    placer = Placer(name, map_location)
    tensors = [_make_tensor(placer, e, arr) for e, arr in zip(entries, arrays)]
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
    from ember.size import Size
    from ember.sparse._coo import _rebuild_sparse  # bounds-checks what the file says

    return {("collections", "OrderedDict"): collections.OrderedDict, ("builtins", "set"): set,
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
        return WeightsOnlyLoadError(
            f"Weights only load failed: {self.name!r} references the disallowed global {what}. ember.load "
            "with weights_only=True rebuilds only tensors, plain containers, dtypes and devices, plus the classes "
            f"and functions you allow; if you trust {what}, allow it with "
            "ember.serialization.add_safe_globals([...]) or the ember.serialization.safe_globals([...]) context "
            "manager, or load with weights_only=False (which can run arbitrary code from the file).")

    def find_class(self, module: str, name: str) -> Any:
        from ember.serialization import _safe_globals

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


def _make_tensor(placer: Placer, e: dict, arr: np.ndarray) -> Any:
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
    # Read and verify every blob before building anything: a bad file leaves no partial result.
    arrays = [_tensor_array(zf, dec, i, e, budget) for i, e in enumerate(entries)]
    placer = Placer(name, map_location)
    dec.tensors = [_make_tensor(placer, e, arr) for e, arr in zip(entries, arrays)]
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
