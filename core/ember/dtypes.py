"""Data types and PyTorch's type-promotion rules.

Example:
    >>> import ember
    >>> ember.promote_types(ember.int32, ember.float16)
    ember.float16
    >>> (ember.ones(2, dtype=ember.int64) + 1.5).dtype
    ember.float32
"""

from __future__ import annotations

import struct
from functools import cache

__all__ = [
    "dtype",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool_",
    "complex64",
    "complex128",
    "promote_types",
    "get_default_dtype",
    "set_default_dtype",
    "ALL_DTYPES",
    "COMPLEX_DTYPES",
]

# Categories, ordered: a higher category always wins a promotion.
_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type. Instances are singletons compared by identity."""

    __slots__ = ("name", "itemsize", "category", "is_signed", "_rank")

    def __init__(self, name: str, itemsize: int, category: int, is_signed: bool, rank: int):
        self.name = name
        self.itemsize = itemsize
        self.category = category
        self.is_signed = is_signed
        self._rank = rank

    @property
    def is_floating_point(self) -> bool:
        return self.category == _FLOAT

    @property
    def is_complex(self) -> bool:
        return self.category == _COMPLEX

    @property
    def is_differentiable(self) -> bool:
        """Floating point or complex: the dtypes a tensor that requires grad may have."""
        return self.category >= _FLOAT

    def to_real(self) -> dtype:
        """The real dtype of a complex one (``complex64`` -> ``float32``); any other dtype itself."""
        return _REAL_OF.get(self, self)

    def to_complex(self) -> dtype:
        """The complex dtype holding this float dtype's values (``float32`` -> ``complex64``)."""
        if self.category == _COMPLEX:
            return self
        if self is float16:  # PyTorch's complex32, which ember does not have
            raise RuntimeError("ember has no complex32 (ComplexHalf), the complex dtype of float16")
        if self.category != _FLOAT:
            from ember.functions.complex_ops import type_word

            raise RuntimeError(f"Unknown Complex ScalarType for {type_word(self)}")
        return _COMPLEX_OF[self._rank]

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        # Pickle as a module attribute so identity survives a round trip.
        return (_dtype_from_name, (self.name,))


bool_ = dtype("bool", 1, _BOOL, False, 0)
uint8 = dtype("uint8", 1, _INT, False, 1)
int8 = dtype("int8", 1, _INT, True, 1)
int16 = dtype("int16", 2, _INT, True, 2)
int32 = dtype("int32", 4, _INT, True, 3)
int64 = dtype("int64", 8, _INT, True, 4)
float16 = dtype("float16", 2, _FLOAT, True, 1)
# Same rank as float16: neither holds the other's values, so the two promote to float32 (below).
bfloat16 = dtype("bfloat16", 2, _FLOAT, True, 1)
float32 = dtype("float32", 4, _FLOAT, True, 2)
float64 = dtype("float64", 8, _FLOAT, True, 3)
# A complex dtype's rank is that of its real part's float dtype (complex64 <-> float32), so
# promotion with a float picks the wider precision (float64 + complex64 -> complex128).
complex64 = dtype("complex64", 8, _COMPLEX, True, 2)
complex128 = dtype("complex128", 16, _COMPLEX, True, 3)

#: The real dtypes every backend declares by default (``Backend.supported_dtypes``).
ALL_DTYPES: tuple[dtype, ...] = (float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool_)
#: Complex dtypes are opt-in: a backend lists them in ``supported_dtypes`` when it stores them.
COMPLEX_DTYPES: tuple[dtype, ...] = (complex64, complex128)
_BY_NAME = {d.name: d for d in ALL_DTYPES + COMPLEX_DTYPES}
_BY_NAME.update(
    {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32, "short": int16,
     "cfloat": complex64, "cdouble": complex128}
)
_COMPLEX_OF = {1: complex64, 2: complex64, 3: complex128}  # float rank -> complex (no complex32)
_REAL_OF = {complex64: float32, complex128: float64}


def dtype_arg(fn: str, value: object) -> dtype | None:
    """A ``dtype=`` argument as PyTorch's argument parser takes it: an ember dtype, None, or one of
    the Python types ``bool``/``int``/``float``/``complex`` (``x.sum(dtype=float)`` is float64).
    Anything else (a string, a NumPy dtype) is a ``TypeError`` naming the function.

    Example:
        >>> import ember
        >>> ember.dtypes.dtype_arg("zeros", int)
        ember.int64
    """
    if value is None or value.__class__ is dtype:
        return value  # type: ignore[return-value]
    if isinstance(value, type) and value in _PYTHON_TYPES:
        return _PYTHON_TYPES[value]
    raise TypeError(f"{fn}(): argument 'dtype' must be ember.dtype, not {type(value).__name__}")


def to_complex(d: dtype) -> dtype:
    """The complex dtype of a real floating dtype's precision (float64 -> complex128).

    float16 and bfloat16 give complex64 (ember has no complex32; PyTorch gives complex32 for float16).
    """
    return d if d.category == _COMPLEX else _COMPLEX_OF[max(d._rank, 2) if d.category == _FLOAT else 2]


def to_real(d: dtype) -> dtype:
    """The real dtype of a complex dtype's parts (complex64 -> float32); other dtypes unchanged."""
    return _REAL_OF.get(d, d)


def default_complex_dtype() -> dtype:
    """The dtype Python complex numbers become: complex128 when the default float is float64."""
    return complex128 if _default_float is float64 else complex64


def _dtype_from_name(name: str) -> dtype:
    return _BY_NAME[name]


def dtype_from_name(name: str) -> dtype:
    """Look a dtype up by its name (``"float32"``, ``"long"``, ...)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise TypeError(f"unknown dtype name {name!r}; known: {sorted(_BY_NAME)}") from None


_default_float = float32
#: (tensor dtype, Python scalar type) -> result dtype, filled by the elementwise ops.
_SCALAR_PROMOTE_CACHE: dict = {}


def get_default_dtype() -> dtype:
    """The dtype Python floats and ``ember.tensor([1.0])`` become (float32 unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype, as ``torch.set_default_dtype``."""
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point dtypes can be the default, got {d!r}")
    _default_float = d
    _promote_operands.cache_clear()
    _SCALAR_PROMOTE_CACHE.clear()


@cache
def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to without losing their category."""
    if a is b:
        return a
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.category == _COMPLEX and lo.category == _FLOAT:
            return to_complex(lo) if lo._rank > hi._rank else hi  # float64 + complex64 -> complex128
        return hi
    if a._rank == b._rank and a.category == _FLOAT:
        return float32  # float16 with bfloat16 (the only two distinct floats of one rank), as PyTorch
    if a.category == _INT and a.is_signed != b.is_signed:
        # uint8 mixed with a signed int: int16 at least (PyTorch's rule).
        signed = a if a.is_signed else b
        return signed if signed._rank >= 2 else int16
    return a if a._rank >= b._rank else b


def scalar_dtype(value: object) -> dtype:
    """The dtype a Python scalar has when it is made into a tensor on its own."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return _default_float
    if isinstance(value, complex):
        return default_complex_dtype()
    # a NumPy scalar operand is the Python number PyTorch reads from it: an int for NumPy's
    # integers, else a float (np.bool_ and np.complex64 included: tensor + np.bool_(True) is float)
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind is not None and type(value).__module__ == "numpy" and kind in "biufc":
        return int64 if kind in "iu" else _default_float
    raise TypeError(f"expected a Python number, got {type(value).__name__}")


@cache
def _promote_operands(dims: tuple, zero_dims: tuple, scalars: tuple) -> dtype:
    """PyTorch's three-tier promotion: tensors with dims > 0-d tensors > Python scalars.

    A lower tier only matters when it brings a higher category (an int tensor plus a float
    scalar gives the default float dtype; a float16 tensor plus a float scalar stays float16).
    """
    result = None
    for tier in (dims, zero_dims):
        for d in tier:
            result = d if result is None else promote_types(result, d)
        if result is not None:
            break
    best_zero = None
    for d in zero_dims:
        best_zero = d if best_zero is None else promote_types(best_zero, d)
    if best_zero is not None and result is not None and best_zero.category > result.category:
        # a complex 0-d tensor keeps the float dims' precision (float32 dims + complex128 0-d -> complex64)
        result = to_complex(result) if best_zero.category == _COMPLEX and result.category == _FLOAT else best_zero
    for s in scalars:
        if result is None or s.category > result.category:
            if s.category == _COMPLEX:
                result = to_complex(result) if result is not None and result.category == _FLOAT else s
                continue
            result = s if result is None else (int64 if s.category == _INT else s)
            if s.category == _FLOAT:
                result = _default_float
    if result is None:
        raise TypeError("cannot promote an empty list of operands")
    return result


def result_type(*operands: object) -> dtype:
    """Result dtype of an op over tensors and Python scalars, following PyTorch.

    >>> import ember
    >>> ember.result_type(ember.tensor([1, 2], dtype=ember.uint8), 1000)
    ember.uint8
    """
    dims, zero, scal = [], [], []
    for op in operands:
        d = getattr(op, "_dtype", None)
        if d is not None:
            (dims if op._data.ndim else zero).append(d)
        elif isinstance(op, dtype):
            dims.append(op)
        else:
            scal.append(scalar_dtype(op))
    return _promote_operands(tuple(dims), tuple(zero), tuple(scal))


# The Python scalar types PyTorch accepts wherever it takes a dtype.
_PYTHON_TYPES: dict = {bool: bool_, int: int64, float: float64, complex: complex128}


def round_scalar(value: float, d: dtype) -> float:
    """A Python number rounded to float16 or bfloat16 (through float32, to nearest even, as
    ``static_cast<Half>``/``static_cast<BFloat16>`` of a double do): PyTorch casts a scalar operand
    to a 16-bit tensor's dtype before most kernels see it (``x + 0.1`` adds the float16 nearest 0.1).

    >>> round_scalar(0.1, bfloat16)
    0.10009765625
    """
    try:
        f = struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:  # beyond float32's range: infinity, as the cast to float gives
        return float("inf") if value > 0 else float("-inf")
    if f != f or f in (float("inf"), float("-inf")):
        return f
    if d is bfloat16:
        bits = struct.unpack("<I", struct.pack("<f", f))[0]
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    try:
        return struct.unpack("<e", struct.pack("<e", f))[0]
    except OverflowError:  # beyond float16's range after rounding: infinity, as the cast gives
        return float("inf") if f > 0 else float("-inf")
