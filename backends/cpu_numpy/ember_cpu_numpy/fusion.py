"""``compile_elementwise`` for the cpu backend: a fused chain as one loop over memory.

``ember.compile`` hands a chain of elementwise kernels (``ember.compiler.FusedElementwise``) to the
backend. Two ways to run it, the first that applies:

* **numba** (when installed: ``pip install 'ember-cpu-numpy[fusion]'``, part of ``ember[dev]``):
  the chain becomes one scalar function compiled by numba into a NumPy ufunc, so the whole chain is
  one pass over memory and one call (about 1 us for a 16x16 chain of three ops, against 2-3 us for
  three ufuncs). Each op is written with the kernels' semantics (``maximum`` propagates NaN and
  returns its first operand on a tie, so signed zeros come out as PyTorch's do); the Python numbers of the
  chain are inputs of the ufunc, so chains that differ only in them (a learning rate) share one
  compiled loop. Arithmetic rounds exactly as the unfused kernels; ``exp``/``log``/``tanh``... may
  differ from NumPy's own vectorised versions by an ulp. Compiling costs about 0.2 s per distinct
  chain, once per process (the capture pays it).
* **NumPy ``out=``** otherwise: one fresh buffer of the broadcast shape, updated in place by the
  very ufuncs the kernels use, in the same order: bitwise the eager result, one allocation instead
  of one per op.

Why numba and not numexpr: numexpr's per-call setup (about 10 us) costs more than a training step's
short, small chains save; numba makes a real ufunc whose call costs what NumPy's own do. Float32
and float64 only: other dtypes keep their per-kernel path.

Example:
    >>> import numpy as np
    >>> from ember.compiler import FusedElementwise
    >>> p = FusedElementwise((("mul", (("in", 0), ("in", 1))), ("relu", (("prev",),))),
    ...                      (((2,), np.dtype("float32")), ((2,), np.dtype("float32"))), (2,), np.dtype("float32"))
    >>> compile_elementwise(p)(np.array([1, -2], np.float32), np.array([3, 3], np.float32)).tolist()
    [3.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["compile_elementwise"]

#: kernel -> (ufunc name, leading operand): the ufunc each cpu kernel runs (ember_cpu_numpy.xp_kernels)
_UFUNCS: dict[str, tuple[str, str | None]] = {
    "add": ("add", None), "sub": ("subtract", None), "mul": ("multiply", None), "div": ("true_divide", None),
    "maximum": ("maximum", None), "minimum": ("minimum", None),
    "neg": ("negative", None), "abs": ("absolute", None), "relu": ("maximum", "0"),
    "exp": ("exp", None), "log": ("log", None), "sqrt": ("sqrt", None), "sin": ("sin", None),
    "cos": ("cos", None), "tanh": ("tanh", None),
}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def compile_elementwise(program: Any, use_numba: bool | None = None) -> Callable | None:
    """The chain as one function of its input arrays, or None when a dtype or op is not handled.
    ``use_numba``: None picks numba when it is installed; False forces the NumPy ``out=`` path."""
    dt = program.dtype
    if dt not in _FLOATS or any(d != dt for _, d in program.inputs):
        return None
    if any(kernel not in _UFUNCS for kernel, _ in program.ops):
        return None
    if use_numba is not False and _numba() is not None:
        return _numba_chain(program)
    return _numpy_chain(program)


def _numpy_chain(program: Any) -> Callable:
    dt = program.dtype
    # __name__: NumPy's floating-point warnings are filtered for this package's modules (xp_kernels)
    ns: dict[str, Any] = {"np": np, "SHAPE": tuple(program.out_shape), "DT": dt, "EMPTY": np.empty, "__name__": __name__}
    n = len(program.inputs)
    lines = [f"def fused({', '.join(f'x{k}' for k in range(n))}):", "    o = EMPTY(SHAPE, DT)"]
    for kernel, operands in program.ops:
        ufunc, extra = _UFUNCS[kernel]
        ns[f"U_{ufunc}"] = getattr(np, ufunc)
        args = []
        for op in operands:
            if op[0] == "in":
                args.append(f"x{op[1]}")
            elif op[0] == "prev":
                args.append("o")
            else:
                name = f"S{len(ns)}"
                ns[name] = op[1]
                args.append(name)
        if kernel in ("maximum", "minimum"):
            args.reverse()  # the kernels swap them: PyTorch returns the first operand on a tie
        if extra is not None:
            args.insert(0, extra)  # relu is maximum(0, x): a tie (-0.0) keeps x
        lines.append(f"    U_{ufunc}({', '.join(args)}, out=o)")
    lines.append("    return o")
    exec(compile("\n".join(lines) + "\n", "<ember fused chain>", "exec"), ns)  # noqa: S102 - generated here
    return ns["fused"]


# ---- numba ----------------------------------------------------------------------------------------
#: the scalar form of each kernel, on temporaries (``a``, ``b``), as NumPy computes it
_SCALAR: dict[str, str] = {
    "add": "a + b", "sub": "a - b", "mul": "a * b", "div": "a / b",
    "maximum": "b if (a < b or b != b) else a", "minimum": "b if (a > b or b != b) else a",
    "neg": "-a", "abs": "abs(a)", "relu": "ZERO if a < 0 else a",
    "exp": "math.exp(a)", "log": "math.log(a)", "sqrt": "math.sqrt(a)", "sin": "math.sin(a)",
    "cos": "math.cos(a)", "tanh": "math.tanh(a)",
}
_compiled: dict[tuple, Any] = {}  # (chain structure, dtype) -> NumPy ufunc, for the whole process
_NUMBA: list = []


def _numba() -> Any:
    if not _NUMBA:
        try:
            import numba
        except ImportError:
            numba = None
        _NUMBA.append(numba)
        if numba is not None:  # numba is loaded now anyway: the frame-stack cache costs ~0.1 s more
            from ember import _frame_stack

            _frame_stack.install(numba)
    return _NUMBA[0]


def _numba_chain(program: Any) -> Callable:
    """One numba ufunc for the chain; its Python numbers are passed as extra (broadcast) inputs."""
    n_in = len(program.inputs)
    structure, scalars = [], []
    for kernel, operands in program.ops:
        ops = []
        for op in operands:
            if op[0] == "scalar":
                scalars.append(op[1])
                ops.append(("s", len(scalars) - 1))
            else:
                ops.append(op)
        structure.append((kernel, tuple(ops)))
    key = (tuple(structure), program.dtype.str, n_in)
    ufunc = _compiled.get(key)
    if ufunc is None:
        ufunc = _compiled[key] = _build_ufunc(structure, n_in, len(scalars), program.dtype)
    if not tuple(program.out_shape):
        # A ufunc given 0-d arrays returns a NumPy scalar, not an array: a tensor holding one would
        # fail the next in-place op (``loss.add_(1)``), so a 0-d chain's result is made an array.
        ns0: dict[str, Any] = {"U": ufunc, "A": np.asarray, "__name__": __name__}
        ns0.update({f"c{k}": v for k, v in enumerate(scalars)})
        params = ", ".join(f"x{k}" for k in range(n_in))
        src = f"def fused({params}):\n    return A(U({', '.join([*(f'x{k}' for k in range(n_in)), *(f'c{k}' for k in range(len(scalars)))])}))\n"
        exec(compile(src, "<ember fused chain>", "exec"), ns0)  # noqa: S102 - generated here
        return ns0["fused"]
    if not scalars:
        # The ufunc itself: a replay calls it with no Python frame between (ember.compiler keeps a
        # replay's floating-point warnings as quiet as the kernels', which filter NumPy's).
        return ufunc
    # The numbers follow the arrays, written into a function of the arrays alone (a fixed arity, no
    # star-arguments); __name__: NumPy's warnings from here are filtered as for every kernel.
    arrays = ", ".join(f"x{k}" for k in range(n_in))
    ns: dict[str, Any] = {"U": ufunc, "__name__": __name__}
    ns.update({f"c{k}": v for k, v in enumerate(scalars)})
    consts = ", ".join(f"c{k}" for k in range(len(scalars)))
    src = f"def fused({arrays}):\n    return U({arrays}, {consts})\n"
    exec(compile(src, "<ember fused chain>", "exec"), ns)  # noqa: S102 - generated here
    return ns["fused"]


def _build_ufunc(structure: list, n_in: int, n_scalars: int, dt: np.dtype) -> Any:
    import math

    numba = _numba()
    params = [f"x{k}" for k in range(n_in)] + [f"s{k}" for k in range(n_scalars)]
    lines = [f"def chain({', '.join(params)}):"]
    for j, (kernel, operands) in enumerate(structure):
        names = []
        for op in operands:
            names.append(f"x{op[1]}" if op[0] == "in" else f"s{op[1]}" if op[0] == "s" else f"t{j - 1}")
        lines.append(f"    a = {names[0]}")
        if len(names) > 1:
            lines.append(f"    b = {names[1]}")
        lines.append(f"    t{j} = {_SCALAR[kernel]}")
    lines.append(f"    return t{len(structure) - 1}")
    ns: dict[str, Any] = {"math": math, "ZERO": dt.type(0), "__name__": __name__}
    exec(compile("\n".join(lines) + "\n", "<ember fused chain>", "exec"), ns)  # noqa: S102 - generated here
    t = "float32" if dt == np.float32 else "float64"
    dufunc = numba.vectorize([f"{t}({', '.join([t] * len(params))})"], nopython=True)(ns["chain"])
    return dufunc.ufunc  # the NumPy ufunc itself: no Python layer per call
