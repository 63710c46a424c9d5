"""Optional FFT kernels on CuPy (``cupy.fft``: cuFFT): the NumPy backend's, written once in
``ember_cpu_numpy.fft_kernels`` for any NumPy-like library and bound here to whichever array library
``arraymod`` has current (CuPy on a GPU; NumPy in the tests that run this backend without one).

Example (on NumPy, as the tests do):
    >>> import numpy
    >>> from ember_cuda_cupy import arraymod as am
    >>> from ember_cuda_cupy.fft_kernels import FFT_KERNELS
    >>> old = am.use(numpy)
    >>> FFT_KERNELS["fft_c2c"](numpy.ones(4, numpy.complex64), (0,), True, "by_n").tolist()
    [(1+0j), 0j, 0j, 0j]
    >>> _ = am.use(old)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember_cpu_numpy.fft_kernels import fft_kernels

from ember_cuda_cupy import arraymod as am

__all__ = ["FFT_KERNELS"]

_bound: dict[Any, dict[str, Callable[..., Any]]] = {}


def _kernel(name: str) -> Callable[..., Any]:
    def kernel(*args: Any) -> Any:
        table = _bound.get(am.xp)
        if table is None:
            table = _bound[am.xp] = fft_kernels(am.xp)
        return table[name](*args)

    kernel.__name__ = name
    return kernel


FFT_KERNELS: dict[str, Callable[..., Any]] = {name: _kernel(name) for name in ("fft_c2c", "fft_r2c", "fft_c2r")}
