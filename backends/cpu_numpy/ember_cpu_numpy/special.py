"""Special-function kernels (optional in the contract): inverse trigonometric and hyperbolic
functions, exp2, erfc, lgamma and digamma, on NumPy alone (no SciPy).

lgamma and digamma are vectorised approximations computed in float64 whatever the input dtype
(then rounded back), accurate to ~1e-15 absolute near their zeros and ~1e-15 relative elsewhere;
``math.lgamma`` through ``np.vectorize`` would be as accurate but ~50x slower. Their poles and
non-finite inputs follow PyTorch: lgamma is +inf at 0 and every negative integer and at +-inf;
digamma(+-0) is -+inf, NaN at negative integers and at -inf. The kernels are
``ember_cpu_numpy.xp_kernels.special_kernels`` (shared with the cuda backend).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ember_cpu_numpy import xp_kernels

__all__ = ["SPECIAL_KERNELS", "lgamma", "digamma", "erfc"]

SPECIAL_KERNELS: dict[str, Callable] = xp_kernels.special_kernels(np)
lgamma = SPECIAL_KERNELS["lgamma"]
digamma = SPECIAL_KERNELS["digamma"]
erfc = SPECIAL_KERNELS["erfc"]
