"""Fused optimizer steps on NumPy (the ``optim`` family of ``ember.kernels``).

Each kernel updates the parameter and its optimizer state in place with ``out=`` ufuncs and
one scratch array, in the operation order of PyTorch's single-tensor Adam/AdamW and SGD, instead
of the ~13 allocating kernel calls per parameter of the frontend's composite. The kernels are
``ember_cpu_numpy.xp_kernels.optim_kernels`` (shared with the cuda backend's NumPy stand-in).

Example:
    >>> import numpy as np
    >>> p, g = np.ones(2, np.float32), np.ones(2, np.float32)
    >>> m, v = np.zeros(2, np.float32), np.zeros(2, np.float32)
    >>> OPTIM_KERNELS["adam_step"](p, g, m, v, None, 1.0, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    >>> p
    array([0.90000004, 0.90000004], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from ember_cpu_numpy import xp_kernels

__all__ = ["OPTIM_KERNELS"]


OPTIM_KERNELS: dict = xp_kernels.optim_kernels(np)
