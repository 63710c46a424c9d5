"""A strict reader for the IDX format used by MNIST-style datasets.

Layout: two zero bytes, a type code, the number of dimensions ``d``, then ``d`` big-endian
uint32 sizes and the big-endian data. Files may be gzip-compressed (detected by content).

Example:
    >>> import gzip, struct, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(struct.pack(">BBBBI", 0, 0, 0x08, 1, 3) + bytes([7, 2, 1]))
    >>> read_idx(path).tolist()
    [7, 2, 1]
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

__all__ = ["IDXFormatError", "read_idx", "read_idx_bytes"]

# type code -> big-endian NumPy dtype
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXFormatError(ValueError):
    """A file is not a well-formed IDX file; the message names the file and the problem."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: not a valid IDX file: {problem}")
        self.path = path
        self.problem = problem


def _read_raw(path: str) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise IDXFormatError(path, f"corrupt or truncated gzip data ({e})") from e
    return raw


def read_idx_bytes(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse an uncompressed IDX payload into a native-endian NumPy array."""
    if len(raw) < 4:
        raise IDXFormatError(name, f"file is {len(raw)} bytes, shorter than the 4-byte magic number")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXFormatError(name, f"magic number must start with two zero bytes, got {raw[:4].hex()}")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise IDXFormatError(name, f"unknown data type code 0x{code:02x} (expected one of "
                                   f"{', '.join(f'0x{c:02x}' for c in _IDX_TYPES)})")
    if ndim == 0:
        raise IDXFormatError(name, "number of dimensions is 0")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXFormatError(name, f"header truncated: {ndim} dimensions need {header} bytes, file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual < expected:
        raise IDXFormatError(name, f"data truncated: shape {shape} of {dtype.name} needs {expected} bytes, "
                                   f"found {actual}")
    if actual > expected:
        raise IDXFormatError(name, f"{actual - expected} unexpected trailing bytes after data of shape {shape}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a NumPy array; raise :class:`IDXFormatError`."""
    path = os.fspath(path)
    return read_idx_bytes(_read_raw(path), path)
