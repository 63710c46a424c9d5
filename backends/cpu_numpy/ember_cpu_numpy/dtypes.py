"""The mapping between ember dtypes and NumPy dtypes."""

from __future__ import annotations

import ml_dtypes
import numpy as np
from ember import dtypes as _dt

NP_DTYPE = {
    _dt.float32: np.dtype(np.float32), _dt.float64: np.dtype(np.float64), _dt.float16: np.dtype(np.float16),
    _dt.bfloat16: np.dtype(ml_dtypes.bfloat16),
    _dt.int64: np.dtype(np.int64), _dt.int32: np.dtype(np.int32), _dt.int16: np.dtype(np.int16),
    _dt.int8: np.dtype(np.int8), _dt.uint8: np.dtype(np.uint8), _dt.bool_: np.dtype(np.bool_),
}
EMBER_DTYPE = {v: k for k, v in NP_DTYPE.items()}
