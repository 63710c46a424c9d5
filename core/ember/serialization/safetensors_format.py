"""safetensors files (https://github.com/huggingface/safetensors), read and written without the package.

Layout: an 8-byte little-endian header length N, N bytes of JSON (``{name: {"dtype", "shape",
"data_offsets": [begin, end]}, "__metadata__": {str: str}}``), then the tensors' bytes, little-endian,
C order. ember's reader checks the header against the file before reading any tensor: every offset
inside the data, the byte ranges contiguous and non-overlapping (as the format requires), each
range exactly ``prod(shape) * itemsize``. It reads BF16, the F8 formats and U16/U32/U64 as the
nearest ember dtype (see ``ember.serialization._dtypes``), with one warning per file.
"""

from __future__ import annotations

import json
import math
import os
import struct
import warnings
from typing import IO, Any

import numpy as np

from ember.serialization._dtypes import STORED, StoredDtype, conversion_warning, decode
from ember.serialization._placement import Placer
from ember.serialization._shared import CheckpointError, atomic_path, c_order, open_source

#: safetensors' dtype codes, by the PyTorch name of the dtype they store.
_CODES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64", "int32": "I32",
          "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL", "uint16": "U16", "uint32": "U32",
          "uint64": "U64", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "float8_e8m0fnu": "F8_E8M0"}
_BY_CODE = {code: name for name, code in _CODES.items()}
#: The reference implementation refuses headers past 100 MB.
MAX_HEADER_BYTES = 100_000_000


def _fail(name: str, what: str) -> CheckpointError:
    return CheckpointError(f"{name!r} is not a valid safetensors file: {what}")


def _read_exact(fh: IO[bytes], n: int, name: str, what: str) -> bytearray:
    buf = bytearray(n)
    got = fh.readinto(buf)
    if got != n:
        raise _fail(name, f"{what} is cut short ({got} of {n} bytes)")
    return buf


def _header(fh: IO[bytes], size: int, name: str) -> dict:
    if size < 8:
        raise _fail(name, f"the file has {size} bytes, fewer than the 8-byte header length")
    (n,) = struct.unpack("<Q", _read_exact(fh, 8, name, "the header length"))
    if n > min(size - 8, MAX_HEADER_BYTES):
        raise _fail(name, f"the header claims {n} bytes but the file has {size - 8} after the length")
    try:
        header = json.loads(_read_exact(fh, n, name, "the header").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _fail(name, f"the header is not JSON ({type(exc).__name__}: {exc})") from exc
    if not isinstance(header, dict):
        raise _fail(name, "the header is not a JSON object")
    return header


def _entry(name: str, key: str, info: Any) -> tuple[StoredDtype, tuple[int, ...], int, int]:
    if not isinstance(info, dict):
        raise _fail(name, f"tensor {key!r} has a malformed entry")
    code, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if code not in _BY_CODE:
        raise CheckpointError(f"{name!r}: tensor {key!r} has dtype {code!r}, which ember does not support (ember "
                              f"reads {', '.join(sorted(_BY_CODE))})")
    ints = (isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in [*(shape or []), *(offsets or [])])
    if not (isinstance(shape, list) and isinstance(offsets, list) and len(offsets) == 2 and all(ints)):
        raise _fail(name, f"tensor {key!r} has a malformed shape or data_offsets")
    dt = STORED[_BY_CODE[code]]
    begin, end = offsets
    if end - begin != math.prod(shape) * dt.itemsize:
        raise _fail(name, f"tensor {key!r} of shape {shape} {code} spans bytes [{begin}, {end}), expected "
                    f"{math.prod(shape) * dt.itemsize} bytes")
    return dt, tuple(shape), begin, end


def _entries(header: dict, data_size: int, name: str) -> dict[str, tuple[StoredDtype, tuple[int, ...], int, int]]:
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise _fail(name, "__metadata__ is not a map of strings")
    entries = {k: _entry(name, k, v) for k, v in header.items() if k != "__metadata__"}
    pos = 0
    for key, (_, _, begin, end) in sorted(entries.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if begin != pos:
            raise _fail(name, f"tensor {key!r} starts at byte {begin}, expected {pos} (holes and overlaps are "
                        "not allowed)")
        pos = end
    if pos != data_size:
        raise _fail(name, f"the tensors cover {pos} bytes of the {data_size}-byte data section")
    return entries


def load_safetensors(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Any]:
    """Read a ``.safetensors`` file into ``{name: tensor}`` on ``device``.

    Raises:
        CheckpointError: the file is damaged or holds a dtype ember cannot represent.
    """
    name = os.fspath(filename)
    arrays = {}
    converted: set[tuple[str, str]] = set()
    with open_source(name) as (fh, size):
        header = _header(fh, size, name)
        start = fh.tell()
        for key, (dt, shape, begin, end) in _entries(header, size - start, name).items():
            fh.seek(start + begin)
            arrays[key] = decode(_read_exact(fh, end - begin, name, f"tensor {key!r}"), dt, "<",
                                 repr(name)).reshape(shape)
            if dt.converted:
                converted.add((dt.name, dt.target))
    if converted:
        warnings.warn(conversion_warning(repr(name), converted), UserWarning, stacklevel=2)
    placer = Placer(name, str(device))
    return {k: placer.place(arr, str(arr.dtype), str(device)) for k, arr in arrays.items()}


def _blob(tensors: dict[str, Any], metadata: dict[str, str] | None) -> tuple[bytes, list[np.ndarray]]:
    from ember.tensor import Tensor

    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors expects a dict of tensors, got {type(tensors).__name__}")
    arrays = {}
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise TypeError(f"safetensors keys must be str, got {type(k).__name__} ({k!r})")
        if not isinstance(v, Tensor):
            raise TypeError(f"safetensors values must be tensors, got {type(v).__name__} for {k!r}")
        arrays[k] = (v.dtype.name, c_order(v._kt["to_host"](v.detach()._data)))
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata must be a dict of str to str")
    header: dict[str, Any] = {"__metadata__": metadata} if metadata else {}
    order = sorted(arrays, key=lambda k: (-arrays[k][1].itemsize, k))  # widest first: every tensor stays aligned
    pos, data = 0, []
    for k in order:
        dtype_name, arr = arrays[k]
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        header[k] = {"dtype": _CODES[dtype_name], "shape": list(arr.shape), "data_offsets": [pos, pos + arr.nbytes]}
        pos += arr.nbytes
        data.append(arr)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned, as the reference writer does
    return struct.pack("<Q", len(text)) + text, data


def save_safetensors(tensors: dict[str, Any], filename: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write a flat ``{name: tensor}`` dict to a ``.safetensors`` file (atomically).

    Example:
        >>> import ember, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> ember.serialization.save_safetensors({"w": ember.ones(2)}, path)
        >>> ember.serialization.load_safetensors(path)["w"]
        tensor([1., 1.])
    """
    head, data = _blob(tensors, metadata)
    with atomic_path(os.fspath(filename)) as fh:
        fh.write(head)
        for arr in data:
            if arr.size:
                fh.write(memoryview(arr.reshape(-1).view(np.uint8)))


save_file = save_safetensors
load_file = load_safetensors
