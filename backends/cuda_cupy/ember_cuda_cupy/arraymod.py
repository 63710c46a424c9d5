"""The array module the kernels run on: CuPy on a GPU, or NumPy to test the kernels' code without one.

Every kernel reaches its array library through this module (``am.xp``), never through a direct
``import cupy``. CuPy mirrors NumPy's API, so the same kernel code runs on both; the few places
where the two differ (scatter-add with atomics, erf, device contexts, DLPack) are the functions
below. Tests call :func:`use` with NumPy to exercise every kernel on a machine without a GPU.

:data:`shared` holds the kernels this backend shares with the cpu one
(``ember_cpu_numpy.xp_kernels``, written once over a NumPy-style module), built for the current
array library with this backend's options (atomic scatter-add, CuPy's erf/erfc, ...).

Example:
    >>> import numpy
    >>> from ember_cuda_cupy import arraymod as am
    >>> old = am.use(numpy)
    >>> am.xp.__name__
    'numpy'
    >>> _ = am.use(old)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ember_cpu_numpy import xp_kernels

__all__ = ["xp", "is_cupy", "shared", "shared_kernel", "use", "load_cupy", "on_device", "erf", "add_at", "fused_unary",
           "fused_binary", "FUSED_BINARY", "raw_kernel", "quiet"]

#: the array library: ``cupy`` once :func:`load_cupy` succeeded, ``numpy`` under test, else None
xp: Any = None
#: True when ``xp`` is CuPy (device contexts, atomics and CuPy-only fast paths apply)
is_cupy = False
#: the shared kernels (``ember_cpu_numpy.xp_kernels``) bound to ``xp``, by kernel name
shared: dict[str, Callable[..., Any]] = {}
_erf_impl: Any = None
_add_at_impl: Any = None
_shared_tables: dict[str, dict[str, Callable[..., Any]]] = {}


def use(module: ModuleType | None) -> ModuleType | None:
    """Make ``module`` (cupy or numpy) the array library; returns the previous one."""
    global xp, is_cupy, shared, _erf_impl, _add_at_impl
    old = xp
    xp = module
    is_cupy = module is not None and module.__name__ == "cupy"
    if module is None:
        _erf_impl = _add_at_impl = None
    elif is_cupy:
        from cupyx.scipy.special import erf as cupy_erf  # implemented in CuPy itself, no SciPy needed

        _erf_impl = cupy_erf
        # cupy.add.at is numpy.add.at on the GPU (atomicAdd); CuPy before 13 only had
        # cupyx.scatter_add, which newer versions deprecate.
        _add_at = getattr(module.add, "at", None)
        if _add_at is None:
            import cupyx

            _add_at = cupyx.scatter_add
        _add_at_impl = _add_at
    else:
        _erf_impl = xp_kernels.numpy_erf
        _add_at_impl = module.add.at
    shared = {} if module is None else _shared_for(module)
    return old


def _shared_for(module: ModuleType) -> dict[str, Callable[..., Any]]:
    """The shared kernel table on ``module``, built once per array library."""
    table = _shared_tables.get(module.__name__)
    if table is None:
        erfc = xp_kernels.numpy_erfc
        if is_cupy:
            from cupyx.scipy.special import erfc
        table = xp_kernels.make_kernels(
            module,
            add_at=add_at, add_at_order="C",  # atomics want a fresh C-ordered destination
            argsort_kind=None if is_cupy else "stable",  # CuPy's argsort is always stable, and takes no kind
            weak_scalars=False,  # cast Python scalars to the array's type (CuPy's promotion differs by version)
            erf=_erf_impl, erfc=erfc,
            widen_half=True,  # float16 is native here: softmax accumulates it in float32 itself
            cholesky_raises=not is_cupy,  # cuSOLVER reports a failed factorisation in its result only
            quiet=quiet)
        _shared_tables[module.__name__] = table
    return table


def shared_kernel(name: str, fast: Callable | None = None) -> Callable:
    """The kernel ``name`` of :data:`shared` for whichever array library is current at the call.

    ``fast``, when given, runs first on CuPy (a fused kernel); it returns None where it does not
    apply, and the shared kernel runs instead.
    """
    if fast is None:
        def kernel(*args):
            return shared[name](*args)
    else:
        def kernel(*args):
            if is_cupy:
                out = fast(*args)
                if out is not None:
                    return out
            return shared[name](*args)

    kernel.__name__ = name
    kernel.shared_kernel = name  # type: ignore[attr-defined]  # (tests map it to the cpu backend's)
    return kernel


def load_cupy() -> ModuleType:
    """Import CuPy and make it the array library (raises ImportError when it is missing)."""
    if not is_cupy:
        import cupy

        use(cupy)
    return xp


_NO_WARNINGS = contextlib.nullcontext()


def quiet():
    """Silence NumPy's floating-point warnings (the kernels on NumPy, under test); CuPy never warns."""
    if is_cupy:
        return _NO_WARNINGS
    import numpy

    return numpy.errstate(all="ignore")


def on_device(index: int | None):
    """A context that makes CUDA device ``index`` current (a no-op under NumPy)."""
    if is_cupy and index is not None:
        return xp.cuda.Device(index)
    return contextlib.nullcontext()


def erf(x):
    return _erf_impl(x)


# atomicAdd exists for these element types (CuPy's scatter-add supports them natively).
_NATIVE_ATOMIC = ("float32", "float64", "int32")


def add_at(out, index, values) -> None:
    """``numpy.add.at(out, index, values)`` for every ember dtype; ``out`` must be a fresh array.

    CUDA's atomicAdd covers float32/float64/int32 (and unsigned 64-bit), so the other types are
    computed in a wider or reinterpreted type that gives the same result:
    int64 as uint64 (two's complement addition is the same bits), float16 in float32, small
    integers in int32 (then wrapped back), bool in int32 (then ``!= 0``: add means "or").
    """
    name = out.dtype.name
    if name in _NATIVE_ATOMIC:
        _add_at_impl(out, index, values)
        return
    if name == "int64":
        vals = xp.asarray(values, dtype=xp.int64).astype(xp.uint64)
        _add_at_impl(out.view(xp.uint64), index, vals)
        return
    wide = xp.float32 if name == "float16" else xp.int32
    tmp = out.astype(wide)
    _add_at_impl(tmp, index, xp.asarray(values).astype(wide))
    if name == "bool":
        out[...] = tmp != 0
    else:
        out[...] = tmp.astype(out.dtype)


# One-launch CUDA versions of unary ops that NumPy's API would spell as several kernels. C is the
# type the body computes in: float for float16/float32, double for float64.
_UNARY_BODIES = {
    "sigmoid": "C v = (C)x; C e = exp(-fabs(v)); y = (T)(v >= 0 ? (C)1 / ((C)1 + e) : e / ((C)1 + e));",
    "rsqrt": "y = (T)rsqrt((C)x);",
    "relu": "y = (C)x < (C)0 ? (T)0 : x;",  # NaN < 0 is false: NaN passes; -0.0 stays -0.0, as in PyTorch
    "abs": "y = (T)fabs((C)x);",
    "neg": "y = (T)(-(C)x);",
}
_unary_kernels: dict = {}


def fused_unary(name: str, x):
    """Run the single-kernel CUDA version of ``name`` on the floating CuPy array ``x``."""
    c_type = "double" if x.dtype.char == "d" else "float"
    kernel = _unary_kernels.get((name, c_type))
    if kernel is None:
        kernel = xp.ElementwiseKernel("T x", "T y", _UNARY_BODIES[name], f"ember_{name}_{c_type}",
                                      preamble=f"typedef {c_type} C;")
        _unary_kernels[(name, c_type)] = kernel
    return kernel(x)


# a OP b for float32/float64 arrays (same dtype, broadcasting) or an array and a Python number,
# as one ElementwiseKernel: ~9 us of host time per launch against ~14-22 for CuPy's ufuncs, which
# resolve types and scalars on every call. The number is cast to the array's type first, as
# CuPy, NumPy and PyTorch do with a scalar operand.
#: the fused binary ops by their NumPy names
FUSED_BINARY = {"add": "+", "subtract": "-", "multiply": "*", "div": "/"}
_binary_kernels: dict = {}


def fused_binary(name: str, a, b):
    """``a OP b`` in one kernel, or None when the operands are not float32/float64 of one dtype."""
    a_arr, b_arr = not isinstance(a, (int, float)), not isinstance(b, (int, float))
    ref = a if a_arr else b
    if ref.dtype.char not in "fd" or (a_arr and b_arr and a.dtype != b.dtype):
        return None
    key = (name, a_arr, b_arr)
    kernel = _binary_kernels.get(key)
    if kernel is None:
        params = ", ".join(("T a" if a_arr else "float64 a", "T b" if b_arr else "float64 b"))
        body = f"y = {'a' if a_arr else '(T)a'} {FUSED_BINARY[name]} {'b' if b_arr else '(T)b'};"
        kernel = xp.ElementwiseKernel(params, "T y", body, f"ember_{name}_{int(a_arr)}{int(b_arr)}")
        _binary_kernels[key] = kernel
    return kernel(a if a_arr else float(a), b if b_arr else float(b))


_raw_kernels: dict = {}


def raw_kernel(source: str, name: str, dtype, defines: str = ""):
    """``name`` from the CUDA ``source`` compiled for float32 or float64 (CuPy caches the binary per device).

    The source sees ``T`` (the element type) and ``A`` (the accumulation type: float for float32,
    double for float64) plus any ``defines`` given.
    """
    key = (source, name, dtype.char, defines)
    kernel = _raw_kernels.get(key)
    if kernel is None:
        c_type = "double" if dtype.char == "d" else "float"
        kernel = xp.RawKernel(f"typedef {c_type} T;\ntypedef {c_type} A;\n{defines}\n{source}", name)
        _raw_kernels[key] = kernel
    return kernel
