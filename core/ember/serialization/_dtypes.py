"""Stored dtypes (PyTorch's names) and how each loads into one of ember's dtypes.

bfloat16 loads as bfloat16 (NumPy arrays of ``ml_dtypes.bfloat16``, the cpu backend's storage).
ember has no float8 or unsigned 16/32/64-bit dtypes. Those load as the nearest ember
dtype that holds every value exactly: the float8 formats as float32, uint16 as int32,
uint32 and uint64 as int64 (a uint64 value past int64's range is an error, never a wrap). The
loaders warn once per file naming each conversion. The float8 formats are decoded through a
256-entry table built from the format's definition, so no extra package is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ember.serialization._shared import CheckpointError


@dataclass(frozen=True)
class StoredDtype:
    """A dtype as stored in a file: PyTorch's name, one element's NumPy code, the ember dtype it loads as."""

    name: str
    code: str
    target: str

    @property
    def itemsize(self) -> int:
        return np.dtype(self.code).itemsize

    @property
    def converted(self) -> bool:
        return self.target != self.name


def _minifloat(exp_bits: int, man_bits: int, bias: int, *, signed: bool = True) -> np.ndarray:
    """float32 values of every 8-bit code of a float format, specials (inf/NaN) still unset."""
    codes = np.arange(256, dtype=np.int64)
    e = (codes >> man_bits) & ((1 << exp_bits) - 1)
    m = (codes & ((1 << man_bits) - 1)).astype(np.float64) / (1 << man_bits)
    mag = np.where(e == 0, m * 2.0 ** (1 - bias), (1 + m) * np.exp2((e - bias).astype(np.float64)))
    sign = np.where((codes >> 7) & 1, -1.0, 1.0) if signed else 1.0
    return (sign * mag).astype(np.float32)


def _e4m3fn() -> np.ndarray:  # no infinities; S.1111.111 is NaN
    t = _minifloat(4, 3, 7)
    t[[0x7F, 0xFF]] = np.nan
    return t


def _e5m2() -> np.ndarray:  # IEEE-like: exponent 31 is inf (mantissa 0) or NaN
    t = _minifloat(5, 2, 15)
    top = (np.arange(256) >> 2) & 0x1F == 0x1F
    t[top] = np.nan
    t[[0x7C, 0xFC]] = [np.inf, -np.inf]
    return t


def _fnuz(exp_bits: int, man_bits: int, bias: int) -> np.ndarray:  # no inf, no -0: 0x80 is the only NaN
    t = _minifloat(exp_bits, man_bits, bias)
    t[0x80] = np.nan
    return t


def _e8m0fnu() -> np.ndarray:  # unsigned powers of two 2**(c - 127); 0xFF is NaN
    t = np.full(256, np.nan, dtype=np.float32)
    t[:0xFF] = np.ldexp(1.0, np.arange(0xFF) - 127)
    return t


_TABLES = {"float8_e4m3fn": _e4m3fn, "float8_e5m2": _e5m2, "float8_e4m3fnuz": lambda: _fnuz(4, 3, 8),
           "float8_e5m2fnuz": lambda: _fnuz(5, 2, 16), "float8_e8m0fnu": _e8m0fnu}
_TABLE_CACHE: dict[str, np.ndarray] = {}

_SAME = {"float32": "f4", "float64": "f8", "float16": "f2", "int64": "i8", "int32": "i4", "int16": "i2", "int8": "i1",
         "uint8": "u1", "complex64": "c8", "complex128": "c16"}
STORED: dict[str, StoredDtype] = {
    **{name: StoredDtype(name, code, name) for name, code in _SAME.items()},
    "bool": StoredDtype("bool", "u1", "bool"),
    "bfloat16": StoredDtype("bfloat16", "u2", "bfloat16"),
    **{name: StoredDtype(name, "u1", "float32") for name in _TABLES},
    "uint16": StoredDtype("uint16", "u2", "int32"),
    "uint32": StoredDtype("uint32", "u4", "int64"),
    "uint64": StoredDtype("uint64", "u8", "int64"),
}


def stored_dtype(name: str, where: str) -> StoredDtype:
    """The StoredDtype called ``name``; CheckpointError naming it when ember cannot hold it."""
    try:
        return STORED[name]
    except KeyError:
        raise CheckpointError(f"{where}: a tensor has dtype {name}, which ember does not support (ember loads "
                              f"{', '.join(sorted(STORED))})") from None


def decode(buf: bytes | bytearray | memoryview, dt: StoredDtype, endian: str, where: str) -> np.ndarray:
    """The 1-D array of ``dt.target`` values that ``buf`` (whole elements, ``endian`` '<' or '>') holds.

    Stored and target dtypes that match give a zero-copy view of ``buf`` when the byte order is
    native (writeable when ``buf`` is a bytearray); everything else is converted into a new array.
    """
    raw = np.frombuffer(buf, dtype=np.dtype(dt.code).newbyteorder(endian), count=len(buf) // dt.itemsize)
    if dt.name == "bool":
        return raw != 0  # a byte other than 0/1 must not become a NumPy bool that is neither
    if dt.name == "bfloat16":
        import ml_dtypes  # the cpu backend's bfloat16 storage (a dependency of ember-cpu-numpy)

        bits = raw if raw.dtype.isnative else raw.astype(np.uint16)  # the bits, in native byte order
        return bits.view(ml_dtypes.bfloat16)
    if dt.name in _TABLES:
        if dt.name not in _TABLE_CACHE:
            _TABLE_CACHE[dt.name] = _TABLES[dt.name]()
        return _TABLE_CACHE[dt.name][raw]
    if dt.name == "uint64" and raw.size and int(raw.max()) > np.iinfo(np.int64).max:
        raise CheckpointError(f"{where}: a uint64 tensor holds values past int64's range (ember has no uint64, "
                              "and loads uint64 as int64)")
    return raw.astype(np.dtype(dt.target if dt.converted else dt.code).newbyteorder("="), copy=False)


def conversion_warning(where: str, converted: set[tuple[str, str]]) -> str:
    """One warning's text naming each stored -> loaded conversion of a file."""
    pairs = ", ".join(f"{a} -> {b}" for a, b in sorted(converted))
    missing = ", ".join(sorted({a for a, _ in converted}))
    return f"{where}: tensors were converted ({pairs}): ember has no {missing} dtype"
