"""A small reader for MATLAB level-5 ``.mat`` files, written with NumPy.

torchvision reads the ``.mat`` files of SVHN, Flowers102, StanfordCars and the ImageNet devkit with
``scipy.io.loadmat``. scipy is not a dependency of ember, so this module reads what those files hold:
numeric and logical arrays, character arrays, cell arrays and struct arrays, stored plainly or
zlib-compressed (``miCOMPRESSED``, the default since MATLAB 7), in either byte order; sparse arrays come
back dense. MATLAB 7.3 files are HDF5 and are refused with a clear error, as are object arrays.

Values come back as scipy returns them with ``struct_as_record=False``-like simplicity: numeric arrays
as NumPy arrays in their stored shape (column-major data, so ``(32, 32, 3, N)`` stays that), strings as
``str`` (one per row), cells as object arrays, structs as object arrays of ``dict``. ``squeeze_me``
drops unit dimensions and turns one-element arrays into scalars, as scipy's option does.

Example:
    >>> import io, struct, numpy as np
    >>> def elem(t, b):
    ...     return struct.pack("<II", t, len(b)) + b + b"\\0" * (-len(b) % 8)
    >>> body = (elem(6, struct.pack("<II", 6, 0)) + elem(5, struct.pack("<ii", 1, 3)) + elem(1, b"x")
    ...         + elem(9, np.array([1.0, 2.0, 3.0]).tobytes()))
    >>> f = io.BytesIO(b"MATLAB 5.0".ljust(124) + struct.pack("<H", 0x0100) + b"IM" + elem(14, body))
    >>> loadmat(f)["x"]
    array([[1., 2., 3.]])
"""

from __future__ import annotations

import os
import zlib
from typing import IO, Any

import numpy as np

__all__ = ["MatlabFormatError", "loadmat"]


class MatlabFormatError(ValueError):
    """The file is not a MATLAB level-5 file this reader understands."""


# miXXX data types -> NumPy dtype (byte order added per file)
_MI_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8",
             16: "u1", 17: "u2", 18: "u4"}  # 16-18: utf8/16/32 (decoded separately for chars)
_MI_MATRIX, _MI_COMPRESSED = 14, 15
# mxXXX array classes -> NumPy dtype of the result
_MX_NUMERIC = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_MX_CELL, _MX_STRUCT, _MX_OBJECT, _MX_CHAR, _MX_SPARSE = 1, 2, 3, 4, 5


class _Reader:
    def __init__(self, data: bytes, order: str) -> None:
        self.data, self.pos, self.order = data, 0, order

    def element(self) -> tuple[int, bytes]:
        """The next data element's type and payload (small or normal format), past its padding."""
        if self.pos + 8 > len(self.data):
            raise MatlabFormatError("truncated data element tag")
        word, nbytes = np.frombuffer(self.data, self.order + "u4", 2, self.pos)
        word, nbytes = int(word), int(nbytes)
        if word >> 16:  # small element: size in the high half-word, data in the next 4 bytes
            mtype, nbytes = word & 0xFFFF, word >> 16
            payload = self.data[self.pos + 4:self.pos + 4 + nbytes]
            self.pos += 8
            return mtype, payload
        start = self.pos + 8
        if start + nbytes > len(self.data):
            raise MatlabFormatError(f"data element of {nbytes} bytes runs past the end of the file")
        payload = self.data[start:start + nbytes]
        # compressed elements are not padded; the others are padded to 8 bytes
        self.pos = start + (nbytes if word == _MI_COMPRESSED else nbytes + (-nbytes % 8))
        return word, payload

    def numbers(self, mtype: int, payload: bytes) -> np.ndarray:
        if mtype not in _MI_TYPES:
            raise MatlabFormatError(f"unsupported data type {mtype}")
        return np.frombuffer(payload, self.order + _MI_TYPES[mtype])


def _decode_chars(mtype: int, payload: bytes, order: str) -> np.ndarray:
    """The code points of a character array's data."""
    if mtype == 16:  # utf-8
        return np.array([ord(c) for c in payload.decode("utf-8")], dtype=np.uint32)
    if mtype == 17:
        return np.array([ord(c) for c in payload.decode("utf-16-le" if order == "<" else "utf-16-be")],
                        dtype=np.uint32)
    return np.frombuffer(payload, order + _MI_TYPES[mtype]).astype(np.uint32)


def _squeeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = np.squeeze(value)
        if value.ndim == 0:
            return value.item()
    return value


def _read_matrix(payload: bytes, order: str, squeeze: bool) -> tuple[str, Any]:
    r = _Reader(payload, order)
    if not payload:  # an empty miMATRIX element is an empty array
        return "", np.empty((0, 0))
    _, flags = r.element()
    flags_word = int(np.frombuffer(flags, order + "u4", 1)[0])
    mx_class, is_complex, is_logical = flags_word & 0xFF, bool(flags_word & 0x800), bool(flags_word & 0x200)
    mtype, dims_raw = r.element()
    dims = tuple(int(d) for d in r.numbers(mtype, dims_raw))
    _, name_raw = r.element()
    name = name_raw.decode("latin-1")
    count = int(np.prod(dims)) if dims else 0

    if mx_class in _MX_NUMERIC:
        real = r.numbers(*r.element()).astype(_MX_NUMERIC[mx_class])
        if is_complex:
            real = real + 1j * r.numbers(*r.element())
        value: Any = real.reshape(dims, order="F")
        if is_logical:
            value = value.astype(bool)
    elif mx_class == _MX_CHAR:
        mtype, raw = r.element()
        codes = _decode_chars(mtype, raw, order).reshape(dims, order="F")
        # one string per row (the last dimension holds the characters), as scipy's chars_as_strings
        flat = codes.reshape(-1, dims[-1]) if dims and dims[-1] else codes.reshape(-1, 0)
        strings = ["".join(map(chr, row)) for row in flat]
        value = np.array(strings, dtype=object).reshape(dims[:-1]) if len(dims) > 1 else np.array(strings)
        if squeeze and value.size == 1:
            return name, strings[0]
    elif mx_class == _MX_CELL:
        items = [_read_matrix(r.element()[1], order, squeeze)[1] for _ in range(count)]
        value = np.empty(count, dtype=object)
        value[:] = items
        value = value.reshape(dims, order="F")
    elif mx_class == _MX_STRUCT:
        mtype, raw = r.element()
        name_len = int(r.numbers(mtype, raw)[0])
        _, raw = r.element()
        fields = [raw[i:i + name_len].split(b"\0", 1)[0].decode("latin-1") for i in range(0, len(raw), name_len)]
        records = []
        for _ in range(count):
            records.append({f: _read_matrix(r.element()[1], order, squeeze)[1] for f in fields})
        value = np.empty(count, dtype=object)
        value[:] = records
        value = value.reshape(dims, order="F")
    elif mx_class == _MX_SPARSE:
        # compressed sparse columns: row indices, column starts, values; returned dense (scipy would
        # return a scipy.sparse matrix, whose .toarray() this equals)
        rows = r.numbers(*r.element()).astype(np.int64)
        starts = r.numbers(*r.element()).astype(np.int64)
        values = r.numbers(*r.element())
        if is_complex:
            values = values + 1j * r.numbers(*r.element())
        value = np.zeros(dims, dtype=bool if is_logical else values.dtype if is_complex else np.float64)
        for j in range(dims[1]):
            lo, hi = starts[j], starts[j + 1]
            value[rows[lo:hi], j] = values[lo:hi]
    else:
        kind = {_MX_OBJECT: "object"}.get(mx_class, f"class {mx_class}")
        raise MatlabFormatError(f"{kind} arrays are not supported (variable {name!r})")
    return name, _squeeze(value) if squeeze else value


def loadmat(file: str | os.PathLike | IO[bytes], squeeze_me: bool = False) -> dict[str, Any]:
    """The variables of a MATLAB level-5 ``.mat`` file, by name (see the module docstring)."""
    if hasattr(file, "read"):
        data = file.read()  # type: ignore[union-attr]
    else:
        with open(file, "rb") as f:
            data = f.read()
    if data[:19] == b"MATLAB 7.3 MAT-file" or data[512:516] == b"\x89HDF":
        raise MatlabFormatError("MATLAB 7.3 files are HDF5; this reader handles level-5 (MATLAB 5-7.2) files")
    if len(data) < 128 or data[126:128] not in (b"IM", b"MI"):
        raise MatlabFormatError("not a MATLAB level-5 .mat file (no 128-byte header with an endian indicator)")
    order = "<" if data[126:128] == b"IM" else ">"
    r = _Reader(data, order)
    r.pos = 128
    out: dict[str, Any] = {}
    while r.pos < len(data):
        mtype, payload = r.element()
        if mtype == _MI_COMPRESSED:
            try:
                inner = zlib.decompress(payload)
            except zlib.error as e:
                raise MatlabFormatError(f"corrupt compressed variable ({e})") from e
            mtype, payload = _Reader(inner, order).element()
        if mtype != _MI_MATRIX:
            continue  # MATLAB writes only matrices at the top level; skip anything else
        name, value = _read_matrix(payload, order, squeeze_me)
        out[name] = value
    return out
