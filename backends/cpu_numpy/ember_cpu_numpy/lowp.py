"""bfloat16 and float16 on NumPy: stored in 16 bits, computed in float32, rounded back.

NumPy cannot compute in bfloat16 (``ml_dtypes.bfloat16`` is storage with a few ufuncs, no BLAS),
and it accumulates float16 sums and products in float16. PyTorch's CPU kernels for both compute
in float32 ("opmath") and round the result once, to nearest even. So every compute kernel is
wrapped: 16-bit operands are widened to float32 (exact), the float32 kernel runs, and float32
results are rounded back (``astype`` rounds to nearest even, as PyTorch). A sum, a cumsum or a
matmul then accumulates in float32 as PyTorch's does, and a float16 intermediate cannot overflow.

Kernels that are not computations are left alone: those that share memory or write into their
arguments (``native_only`` in the contract: views, ``copy_``, the optimizer steps) and those that
take a ``dtype`` (creation, ``astype``, ``bitcast``), which handle bfloat16 through
``NP_DTYPE`` like any other dtype.

Example:
    >>> import numpy as np, ml_dtypes
    >>> k = wrap({"add": np.add})["add"]
    >>> k(np.array([1.0], ml_dtypes.bfloat16), np.array([2**-9], ml_dtypes.bfloat16)).dtype
    dtype(bfloat16)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
from ember.kernels import KERNELS as _SPECS

from ember_cpu_numpy import numba_nn

__all__ = ["handles_low_precision", "in_float32", "wrap"]

BF16 = np.dtype(ml_dtypes.bfloat16)
_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _low_dtype(args: tuple) -> np.dtype | None:
    # Runs on every kernel call: the itemsize test (an int) spares the slow dtype comparisons
    # for every array that is not 16 bits wide.
    for a in args:
        t = type(a)
        if t is np.ndarray:
            if a.itemsize == 2 and (a.dtype == BF16 or a.dtype == _F16):
                return a.dtype
        elif (t is list or t is tuple) and a and type(a[0]) is np.ndarray:
            found = _low_dtype(a)
            if found is not None:
                return found
    return None


def _up(a: Any) -> Any:
    if type(a) is np.ndarray:
        if a.dtype == BF16:
            wide = numba_nn.bfloat16_to_float32(a)  # one compiled pass when numba is there
            return a.astype(_F32) if wide is None else wide
        return a.astype(_F32) if a.dtype == _F16 else a
    if type(a) in (list, tuple) and a and type(a[0]) is np.ndarray:
        return type(a)(_up(x) for x in a)
    return a


def _down(out: Any, dt: np.dtype) -> Any:
    if isinstance(out, (np.ndarray, np.generic)):
        if out.dtype != _F32:
            return out
        narrow = numba_nn.float32_to_bfloat16(out, BF16) if dt == BF16 and type(out) is np.ndarray else None
        return np.asarray(out).astype(dt) if narrow is None else narrow
    if type(out) in (list, tuple):
        return type(out)(_down(x, dt) for x in out)
    return out


def _in_float32(fn: Callable[..., Any]) -> Callable[..., Any]:
    def kernel(*args: Any, **kwargs: Any) -> Any:
        if args:
            # Fast path: a float32/float64 first operand means a float32/float64 op (the frontend
            # cast the other floating operands to the same dtype), so nothing else is looked at.
            # NumPy's builtin dtypes are singletons, so ``is`` suffices (a non-canonical float32
            # descriptor just takes the slow path, which is also correct).
            d = getattr(args[0], "dtype", None)
            if d is _F32 or d is _F64:
                return fn(*args, **kwargs)
        dt = _low_dtype(args)
        if dt is None:
            return fn(*args, **kwargs)
        return _down(fn(*map(_up, args), **kwargs), dt)

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    kernel.__wrapped__ = fn  # type: ignore[attr-defined]
    return kernel


def _in_float32_unary(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """:func:`_in_float32` for a one-operand kernel: a fixed signature is ~0.2 us cheaper per call
    than ``*args`` and a tuple (the eager per-op overhead, issue #16)."""
    def kernel(x: Any) -> Any:
        d = getattr(x, "dtype", None)
        if d is _F32 or d is _F64:
            return fn(x)
        dt = _low_dtype((x,))
        return fn(x) if dt is None else _down(fn(_up(x)), dt)

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    kernel.__wrapped__ = fn  # type: ignore[attr-defined]
    return kernel


def _in_float32_binary(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """:func:`_in_float32` for a two-operand kernel (see :func:`_in_float32_unary`)."""
    def kernel(a: Any, b: Any) -> Any:
        d = getattr(a, "dtype", None)
        if d is _F32 or d is _F64:
            return fn(a, b)
        dt = _low_dtype((a, b))
        return fn(a, b) if dt is None else _down(fn(_up(a), _up(b)), dt)

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    kernel.__wrapped__ = fn  # type: ignore[attr-defined]
    return kernel


def _arity(name: str) -> int:
    params = _SPECS[name].signature.split("(", 1)[1].split(")", 1)[0]
    return len([p for p in params.split(",") if p.strip()])


_WRAPPERS = {1: _in_float32_unary, 2: _in_float32_binary}


def _computes(name: str) -> bool:
    spec = _SPECS.get(name)
    if spec is None:  # not a contract kernel (the DLPack hooks): exchanges memory, computes nothing
        return False
    return not spec.native_only and "dtype" not in spec.signature


def in_float32(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` running bfloat16/float16 operands in float32 (for a kernel that dispatches on the
    dtype itself and sends only 16-bit operands here; see :func:`handles_low_precision`)."""
    return _in_float32(fn)


def handles_low_precision(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a compute kernel that widens 16-bit operands itself (a hot kernel that tests its dtype
    once and calls :func:`in_float32` for the rest): :func:`wrap` leaves it as it is."""
    fn._handles_low_precision = True  # type: ignore[attr-defined]
    return fn


def wrap(kernels: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """``kernels`` with every compute kernel running bfloat16/float16 operands in float32."""
    return {name: (_WRAPPERS.get(_arity(name), _in_float32)(fn)
                   if _computes(name) and not getattr(fn, "_handles_low_precision", False) else fn)
            for name, fn in kernels.items()}
