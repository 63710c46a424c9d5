"""The mapping between ember dtypes and the NumPy dtypes CuPy arrays use: ember's one map
(``ember.numpy_dtypes``) without bfloat16, which CuPy lacks. Complex dtypes are native in CuPy."""

from __future__ import annotations

from ember import dtypes as _dt
from ember.numpy_dtypes import numpy_map

__all__ = ["NP_DTYPE", "EMBER_DTYPE"]

NP_DTYPE = numpy_map(exclude=(_dt.bfloat16,))
EMBER_DTYPE = {v: k for k, v in NP_DTYPE.items()}
