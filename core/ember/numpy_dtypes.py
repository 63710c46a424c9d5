"""The one mapping between ember dtypes and NumPy dtypes, shared by every NumPy-like backend.

The cpu backend (NumPy), the CUDA backend (CuPy, whose arrays use NumPy dtypes), the OpenCL
backend (host copies and the C types of its kernels) and the conformance suite all read this map
instead of keeping their own. A backend that lacks a dtype filters it out (:func:`numpy_map`)
and says so through ``Backend.supported_dtypes``.

bfloat16 is ``ml_dtypes.bfloat16`` (NumPy has none; ml_dtypes is a dependency of the cpu
backend, which ember itself depends on).

Example:
    >>> import ember
    >>> from ember.numpy_dtypes import NP_DTYPE, EMBER_DTYPE, numpy_map
    >>> NP_DTYPE[ember.complex64]
    dtype('complex64')
    >>> EMBER_DTYPE[NP_DTYPE[ember.int16]]
    ember.int16
    >>> ember.bfloat16 in numpy_map(exclude=(ember.bfloat16,))
    False
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ml_dtypes
import numpy as np

from ember import dtypes as _dt

__all__ = ["NP_DTYPE", "EMBER_DTYPE", "numpy_map", "to_numpy", "from_numpy"]

#: ember dtype -> NumPy dtype, every dtype ember has (real and complex).
NP_DTYPE: dict[_dt.dtype, np.dtype] = {
    _dt.float32: np.dtype(np.float32), _dt.float64: np.dtype(np.float64), _dt.float16: np.dtype(np.float16),
    _dt.bfloat16: np.dtype(ml_dtypes.bfloat16),
    _dt.int64: np.dtype(np.int64), _dt.int32: np.dtype(np.int32), _dt.int16: np.dtype(np.int16),
    _dt.int8: np.dtype(np.int8), _dt.uint8: np.dtype(np.uint8), _dt.bool_: np.dtype(np.bool_),
    _dt.complex64: np.dtype(np.complex64), _dt.complex128: np.dtype(np.complex128),
}
#: NumPy dtype -> ember dtype (the inverse of :data:`NP_DTYPE`).
EMBER_DTYPE: dict[np.dtype, _dt.dtype] = {v: k for k, v in NP_DTYPE.items()}


def numpy_map(exclude: Iterable[_dt.dtype] = ()) -> dict[_dt.dtype, np.dtype]:
    """A copy of :data:`NP_DTYPE` without the dtypes a backend cannot hold."""
    skip = set(exclude)
    return {d: n for d, n in NP_DTYPE.items() if d not in skip}


def to_numpy(d: Any) -> np.dtype:
    """The NumPy dtype of an ember dtype or a dtype name (``"float32"``, ``"bool"``, ``"cfloat"``)."""
    if isinstance(d, str):
        d = _dt.dtype_from_name(d)
    return NP_DTYPE[d]


def from_numpy(d: Any) -> _dt.dtype:
    """The ember dtype of a NumPy dtype (``KeyError`` for one ember lacks)."""
    return EMBER_DTYPE[np.dtype(d)]
