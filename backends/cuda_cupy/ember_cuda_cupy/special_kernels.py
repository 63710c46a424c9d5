"""Special-function kernels (optional in the contract): the inverse trigonometric and hyperbolic
functions, exp2, erfc, lgamma and digamma, on CuPy and, under test, on NumPy.

They are the NumPy backend's, written once in ``ember_cpu_numpy.xp_kernels.special_kernels``
(``am.shared``): lgamma and digamma are the Lanczos approximation with reflection and PyTorch's
calc_digamma, vectorised, in float64, with PyTorch's values at the poles and at +-inf
(cupyx.scipy.special follows SciPy there instead); erfc is CuPy's (``cupyx.scipy.special``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from ember_cpu_numpy import xp_kernels

from ember_cuda_cupy import arraymod as am

__all__ = ["SPECIAL_KERNELS"]

SPECIAL_KERNELS: dict[str, Callable[..., Any]] = {
    name: am.shared_kernel(name) for name in xp_kernels.special_kernels(np)
}
