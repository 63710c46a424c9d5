"""``ember.finfo`` and ``ember.iinfo``: the numeric limits of a dtype, as ``torch.finfo``/``torch.iinfo``.

The limits come from NumPy's tables for the same IEEE/two's-complement types (NumPy is already
the default backend's array library), so they are exact rather than retyped constants.

Example:
    >>> import ember
    >>> ember.finfo(ember.float16).max, ember.iinfo(ember.uint8).max
    (65504.0, 255)
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as _dt

__all__ = ["finfo", "iinfo"]


def _g(x: float) -> str:
    return f"{x:g}"


def _np_finfo(type: _dt.dtype) -> np.finfo:  # noqa: A002
    if type is _dt.bfloat16:  # NumPy has no bfloat16; ml_dtypes (the cpu backend's storage) does
        import ml_dtypes

        return ml_dtypes.finfo(ml_dtypes.bfloat16)
    return np.finfo(np.dtype(type.name))


class finfo:
    """Machine limits of a floating dtype (the default dtype when none is given)."""

    def __init__(self, type: _dt.dtype | None = None) -> None:  # noqa: A002 - PyTorch's name
        type = type if type is not None else _dt.get_default_dtype()
        if not isinstance(type, _dt.dtype) or not type.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = _np_finfo(type)
        self.bits: int = int(info.bits)
        self.eps: float = float(info.eps)
        self.max: float = float(info.max)
        self.min: float = float(info.min)
        self.tiny: float = float(info.smallest_normal)
        self.smallest_normal: float = self.tiny
        self.resolution: float = 10.0 ** -int(info.precision)  # exactly 10^-digits, as PyTorch reports it
        self.dtype: str = type.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={_g(self.resolution)}, min={_g(self.min)}, max={_g(self.max)}, eps={_g(self.eps)}, "
                f"smallest_normal={_g(self.smallest_normal)}, tiny={_g(self.tiny)}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype."""

    def __init__(self, type: _dt.dtype) -> None:  # noqa: A002 - PyTorch's name
        if isinstance(type, _dt.dtype) and type is _dt.bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if not isinstance(type, _dt.dtype) or type.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        info = np.iinfo(np.dtype(type.name))
        self.bits: int = int(info.bits)
        self.max: int = int(info.max)
        self.min: int = int(info.min)
        self.dtype: str = type.name

    def __repr__(self) -> str:
        return f"iinfo(min={_g(self.min)}, max={_g(self.max)}, dtype={self.dtype})"
