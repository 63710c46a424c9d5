"""Optional linear-algebra kernels on CuPy (``cupy.linalg``: cuSOLVER, batched over leading axes).

They are the NumPy backend's, written once in ``ember_cpu_numpy.xp_kernels.linalg_kernels``: the LU
factorisation and the triangular solve are vectorised loops over the n columns; CuPy does not raise
on a failed Cholesky by default, so its info is recomputed by the column loop for the batches whose
factor has a non-positive (or NaN) diagonal (the ``cholesky_raises=False`` option).

Example (on NumPy, as the tests do):
    >>> import numpy
    >>> from ember_cuda_cupy import arraymod as am
    >>> from ember_cuda_cupy.linalg_kernels import LINALG_KERNELS
    >>> old = am.use(numpy)
    >>> L, info = LINALG_KERNELS["cholesky"](numpy.array([[4.0, 2.0], [2.0, 5.0]]))
    >>> L.tolist(), int(info)
    ([[2.0, 0.0], [1.0, 2.0]], 0)
    >>> _ = am.use(old)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from ember_cpu_numpy import xp_kernels

from ember_cuda_cupy import arraymod as am

__all__ = ["LINALG_KERNELS"]

LINALG_KERNELS: dict[str, Callable[..., Any]] = {
    name: am.shared_kernel(name) for name in xp_kernels.linalg_kernels(np)
}
