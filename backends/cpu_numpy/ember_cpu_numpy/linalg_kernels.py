"""Optional linear-algebra kernels on NumPy (``numpy.linalg``, batched over leading axes).

NumPy has no LU factorisation and no triangular solve; those two are short vectorised loops over
the n columns (each step is one batched NumPy expression), exactly as LAPACK's getf2 and trsv.
The kernels are ``ember_cpu_numpy.xp_kernels.linalg_kernels`` (shared with the cuda backend).

Example:
    >>> import numpy as np
    >>> from ember_cpu_numpy.linalg_kernels import LINALG_KERNELS
    >>> L, info = LINALG_KERNELS["cholesky"](np.array([[4.0, 2.0], [2.0, 5.0]]))
    >>> L.tolist(), int(info)
    ([[2.0, 0.0], [1.0, 2.0]], 0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember_cpu_numpy import xp_kernels

__all__ = ["LINALG_KERNELS"]

LINALG_KERNELS: dict[str, Callable[..., Any]] = xp_kernels.linalg_kernels(np)
