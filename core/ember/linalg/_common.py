"""What every ``ember.linalg`` function shares: PyTorch's argument checks and error wording, the
named-tuple results, ``LinAlgError`` and small tensor helpers."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from ember import dtypes as _dt
from ember.tensor import Tensor

__all__ = ["LinAlgError", "return_type", "type_word", "is_float_or_complex", "check_float", "check_matrix", "check_square",
           "check_same_dtype", "eye_like", "diag_embed", "sym_lower", "batch_error", "raise_info", "needs", "is_low_precision",
           "batch_broadcast"]


class LinAlgError(RuntimeError):
    """PyTorch's ``torch.linalg.LinAlgError``: a singular or not positive-definite input."""


def return_type(name: str, fields: list[str]) -> type:
    """A named tuple printed like ``torch.return_types.<name>``."""
    base = namedtuple(name, fields)

    def __repr__(self: Any) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"ember.return_types.{name}(\n{body})"

    return type(name, (base,), {"__repr__": __repr__, "__slots__": ()})


def type_word(dt: _dt.dtype) -> str:
    """PyTorch's scalar-type word in messages (``Long``, ``Float``...)."""
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "complex64": "ComplexFloat", "complex128": "ComplexDouble"}.get(dt.name, dt.name)


def is_low_precision(dt: _dt.dtype) -> bool:
    """float16 and bfloat16: LAPACK has no routines for them, and PyTorch refuses them."""
    return dt.is_floating_point and dt.itemsize < 4


def is_float_or_complex(dt: _dt.dtype) -> bool:
    """The dtypes LAPACK (so PyTorch's linalg) takes: floating and complex."""
    return dt.is_floating_point or dt.is_complex


def check_float(x: Tensor, fname: str, low_precision: bool = False) -> None:
    """Refuse integer inputs (and float16/bfloat16 unless ``low_precision``) with PyTorch's message."""
    if not is_float_or_complex(x._dtype):
        raise RuntimeError(f"{fname}: Expected a floating point or complex tensor as input. Got {type_word(x._dtype)}")
    if is_low_precision(x._dtype) and not low_precision:
        raise RuntimeError(f"{fname}: Low precision dtypes not supported. Got {type_word(x._dtype)}")


def check_matrix(x: Tensor, fname: str, name: str = "A") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    if x.dim() < 2:
        raise RuntimeError(f"{fname}: The input tensor {name} must have at least 2 dimensions.")


def check_square(x: Tensor, fname: str, name: str = "A", low_precision: bool = False) -> None:
    """At least 2-d, square, floating (PyTorch checks in this order)."""
    check_matrix(x, fname, name)
    if x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"{fname}: {name} must be batches of square matrices, but they are "
                           f"{x.shape[-2]} by {x.shape[-1]} matrices")
    check_float(x, fname, low_precision)


def check_same_dtype(a: Tensor, b: Tensor, fname: str, names: str = "A and B") -> None:
    if a._dtype is not b._dtype:
        first, second = names.split(" and ")
        raise RuntimeError(f"{fname}: Expected {names} to have the same dtype, but found {first} of type "
                           f"{type_word(a._dtype)} and {second} of type {type_word(b._dtype)} instead")
    if a._device is not b._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a._device} and {b._device}!")


def eye_like(x: Tensor, n: int | None = None) -> Tensor:
    """The identity of x's dtype and device, (n, n) with n = x's last size by default."""
    from ember.functions.creation import eye

    n = x.shape[-1] if n is None else n
    return eye(n, dtype=x.dtype, device=x.device)


def diag_embed(v: Tensor) -> Tensor:
    """(..., n) -> (..., n, n) with v on the diagonal (differentiable: a product with the identity)."""
    return v.unsqueeze(-1) * eye_like(v)


def sym_lower(a: Tensor, upper: bool = False) -> Tensor:
    """The symmetric (Hermitian) matrix read from a's lower (or upper) triangle, as LAPACK reads it."""
    if upper:
        return a.triu() + a.triu(1).mH
    return a.tril() + a.tril(-1).mH


def batch_error(info: Tensor) -> tuple[int, int] | None:
    """(batch element, info value) of the first nonzero info, or None (one host sync)."""
    if info.numel() == 0:
        return None
    flat = info.reshape(-1).to("cpu").tolist()
    for i, v in enumerate(flat):
        if v != 0:
            return i, int(v)
    return None


def raise_info(info: Tensor, fname: str, message: str) -> None:
    """Raise ``LinAlgError`` as PyTorch does for a failed factorisation; ``message`` may use {info}."""
    found = batch_error(info)
    if found is None:
        return
    i, v = found
    prefix = f"(Batch element {i}): " if info.dim() > 0 else ""
    raise LinAlgError(f"{fname}: {prefix}{message.format(info=v)}")


def needs(ctx, i: int) -> bool:
    """Whether input ``i`` of the Function being run needs a gradient (False on the no-grad path)."""
    flags = ctx.needs_input_grad
    return len(flags) > i and flags[i]


def batch_broadcast(a: tuple, b: tuple) -> tuple:
    """The broadcast of two batch shapes with PyTorch's ``infer_size`` error (``a`` is the operand it
    names first: B for the solvers, the left factor for matmul).

    >>> batch_broadcast((2, 1), (3,))
    (2, 3)
    """
    n = max(len(a), len(b))
    out = []
    for i in range(n):
        da, db = i - (n - len(a)), i - (n - len(b))
        sa, sb = (a[da] if da >= 0 else 1), (b[db] if db >= 0 else 1)
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                               f"non-singleton dimension {i}")
        out.append(sb if sa == 1 else sa)
    return tuple(out)
