"""The mapping between ember dtypes and NumPy dtypes: ember's one map (``ember.numpy_dtypes``),
every dtype included (NumPy stores complex64/complex128 natively)."""

from __future__ import annotations

from ember.numpy_dtypes import EMBER_DTYPE, NP_DTYPE

__all__ = ["NP_DTYPE", "EMBER_DTYPE"]
