"""Optional FFT kernels (``fft_c2c``, ``fft_r2c``, ``fft_c2r``; see ``ember.kernels``) on ``numpy.fft``.

Written once for any NumPy-like array library: :func:`fft_kernels` binds them to ``numpy`` here and
to ``cupy`` (``cupy.fft``, cuFFT) in the CUDA backend. They mirror PyTorch's aten ``_fft_c2c``,
``_fft_r2c`` and ``_fft_c2r``: unnormalised transforms scaled by ``norm`` ("none", "by_root_n",
"by_n": PyTorch's fft_norm_mode), whatever the direction; the frontend picks the mode from
``norm=``. NumPy may compute complex64 in complex128: results are cast back to the input's
precision, as PyTorch returns them.

Example:
    >>> import numpy as np
    >>> from ember_cpu_numpy.fft_kernels import FFT_KERNELS
    >>> FFT_KERNELS["fft_r2c"](np.array([1.0, 2.0, 3.0, 4.0], np.float32), (0,), "none", True)
    array([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex64)
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["FFT_KERNELS", "fft_kernels"]

# NumPy's norm= names the scaled direction; ember's modes name the scale: this picks the NumPy name
# that applies the mode's scale in the requested direction.
_NP_NORM = {(True, "none"): "backward", (True, "by_n"): "forward", (True, "by_root_n"): "ortho",
            (False, "none"): "forward", (False, "by_n"): "backward", (False, "by_root_n"): "ortho"}
_COMPLEX_OF = {"float32": "complex64", "float64": "complex128", "complex64": "complex64",
               "complex128": "complex128"}
_REAL_OF = {"complex64": "float32", "complex128": "float64"}


def fft_kernels(xp: ModuleType) -> dict[str, Callable[..., Any]]:
    """The three FFT kernels on the array library ``xp`` (numpy or cupy)."""

    def fft_c2c(x: Any, dims: tuple, forward: bool, norm: str) -> Any:
        if not dims:
            return x.copy()
        fn = xp.fft.fftn if forward else xp.fft.ifftn
        return fn(x, axes=dims, norm=_NP_NORM[forward, norm]).astype(x.dtype, copy=False)

    def fft_r2c(x: Any, dims: tuple, norm: str, onesided: bool) -> Any:
        cdt = _COMPLEX_OF[str(x.dtype)]
        fn = xp.fft.rfftn if onesided else xp.fft.fftn
        return fn(x, axes=dims, norm=_NP_NORM[True, norm]).astype(cdt, copy=False)

    def fft_c2r(x: Any, dims: tuple, norm: str, last_dim_size: int) -> Any:
        rdt = _REAL_OF[str(x.dtype)]
        sizes = [x.shape[d] for d in dims[:-1]] + [last_dim_size]
        return xp.fft.irfftn(x, s=sizes, axes=dims, norm=_NP_NORM[False, norm]).astype(rdt, copy=False)

    return {"fft_c2c": fft_c2c, "fft_r2c": fft_r2c, "fft_c2r": fft_c2r}


FFT_KERNELS: dict[str, Callable[..., Any]] = fft_kernels(np)
