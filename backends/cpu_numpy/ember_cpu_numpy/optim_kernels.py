"""Fused optimizer steps on NumPy (the ``optim`` family of ``ember.kernels``).

Each kernel updates the parameter and its optimizer state in place with ``out=`` ufuncs and
one scratch array, in the operation order of PyTorch's single-tensor Adam/AdamW and SGD, instead
of the ~13 allocating kernel calls per parameter of the frontend's composite. The kernels are
``ember_cpu_numpy.xp_kernels.optim_kernels`` (shared with the cuda backend's NumPy stand-in); where
numba is installed, ``ember_cpu_numpy.numba_optim`` runs the same arithmetic as one loop, bit for bit.

Example:
    >>> import numpy as np
    >>> p, g = np.ones(2, np.float32), np.ones(2, np.float32)
    >>> m, v = np.zeros(2, np.float32), np.zeros(2, np.float32)
    >>> OPTIM_KERNELS["adam_step"](p, g, m, v, None, 1.0, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    >>> p
    array([0.90000004, 0.90000004], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember_cpu_numpy import numba_optim, xp_kernels

__all__ = ["OPTIM_KERNELS"]


_NUMPY_STEPS: dict = xp_kernels.optim_kernels(np)


def sgd_step(*args: Any) -> None:
    """One loop with numba where it applies (``numba_optim``), else NumPy's passes: the same bits."""
    if not numba_optim.sgd_step(*args):
        _NUMPY_STEPS["sgd_step"](*args)


def adam_step(*args: Any) -> None:
    if not numba_optim.adam_step(*args):
        _NUMPY_STEPS["adam_step"](*args)


def adam_step_device(param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any, step: Any,
                     *hyper: Any) -> None:
    """``adam_step`` with the count in a 0-d array (host memory here: reading it costs nothing),
    incremented in place first; the update is ``adam_step``'s, bit for bit."""
    np.add(step, 1, out=step, casting="unsafe")
    adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, float(step), *hyper)


# Each wraps the shared NumPy kernel (what tests/backends/test_shared_kernels.py checks the table against).
sgd_step.__wrapped__ = _NUMPY_STEPS["sgd_step"]  # type: ignore[attr-defined]
adam_step.__wrapped__ = _NUMPY_STEPS["adam_step"]  # type: ignore[attr-defined]
OPTIM_KERNELS: dict = {"sgd_step": sgd_step, "adam_step": adam_step, "adam_step_device": adam_step_device}
