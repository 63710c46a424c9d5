"""Parity rows for complex tensors (issue #14): ``view_as_real``/``view_as_complex``, ``complex``,
``polar``, ``angle``, ``real``/``imag``, ``conj``, ``abs``/``sgn``, arithmetic and the math and
reductions PyTorch defines on complex dtypes, with gradients (PyTorch's conjugate Wirtinger
convention), and PyTorch's refusals (comparisons, max, relu, floor, sort... raise its error types).

The table draws real arrays only, so a complex input is a float array ``(..., 2)`` read with
``view_as_complex`` inside the expression (:func:`cx`): the row's dtype is the parts' (float32 ->
complex64), gradients reach the float leaf through the views, and a complex result is compared
through ``view_as_real``. Non-contiguous complex inputs are views of that complex tensor.

A device that stores no complex dtype (OpenCL) must refuse with a TypeError naming the dtype: there
:func:`cx` asserts that refusal, then runs the expression on CPU copies of the inputs and moves the
(real) result back, so the row still checks values and gradients end to end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from parity_cases import F32, F64, I64, In, OpSpec, S, listed

FLOAT = (F32, F64)
_VIEWS: dict[str, Callable[[Any], Any]] = {
    "contiguous": lambda z: z,
    "T": lambda z: z.transpose(-2, -1),
    "step": lambda z: z[..., ::2],
    "expand": lambda z: z.expand(3, *z.shape[1:]),
}


def _holds_complex(lib: Any, t: Any) -> bool:
    return lib.complex64 in lib.plugins.backend(t.device.type).supported_dtypes(0)


def _tree(value: Any, fn: Callable[[Any], Any], lib: Any) -> Any:
    if isinstance(value, lib.Tensor):
        return fn(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_tree(v, fn, lib) for v in value)
    return value


def on_device(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(lib, *tensors)``; on an ember device without complex dtypes: assert the refusal, then run
    on CPU copies and move the result back (see the module docstring)."""

    def expr(lib: Any, *args: Any, **kwargs: Any) -> Any:
        first = next((a for a in args if isinstance(a, lib.Tensor)), None)
        if lib.__name__ != "ember" or first is None or _holds_complex(lib, first):
            return fn(lib, *args, **kwargs)
        with pytest.raises(TypeError, match=r"(has no complex(64|128) support|does not support dtype ember\.complex)"):
            fn(lib, *args, **kwargs)
        host = _tree(list(args), lambda t: t.cpu(), lib)
        return _tree(fn(lib, *host, **kwargs), lambda t: t.to(first.device), lib)

    return expr


def _as_real(lib: Any, out: Any) -> Any:
    if isinstance(out, lib.Tensor) and out.dtype.is_complex:
        return lib.view_as_real(out.resolve_conj())  # PyTorch's conj() is a lazy view view_as_real refuses
    if isinstance(out, tuple):
        return tuple(_as_real(lib, o) for o in out)
    return out


def cx(fn: Callable[..., Any], n: int = 1, view: str = "contiguous") -> Callable[..., Any]:
    """``fn(lib, z1, ..., zn, *rest)`` where each ``zi = view(view_as_complex(xi))`` of a float
    ``(..., 2)`` input; a complex result is returned as ``view_as_real(result)``."""

    def inner(lib: Any, *args: Any, **kwargs: Any) -> Any:
        zs = [_VIEWS[view](lib.view_as_complex(a)) for a in args[:n]]
        return _as_real(lib, fn(lib, *zs, *args[n:], **kwargs))

    return on_device(inner)


def z(*shape: int) -> In:
    """A complex input of ``shape``: its float storage ``(*shape, 2)``."""
    return In((*shape, 2))


def zs(name: str, *shapes: tuple, core: bool = False, **kwargs: Any) -> S:
    return S(name, tuple(z(*s) for s in shapes), kwargs, core)


def _unary_samples() -> Callable[[str], list]:
    # no empty sample: torch.from_numpy gives an empty (..., 2) array strides view_as_complex refuses
    return listed(zs("matrix", (3, 4)), zs("scalar", ()), zs("vector", (5,)))


def _views(fn: Callable[..., Any], name: str) -> list[OpSpec]:
    """``fn`` on transposed, strided and expanded complex views."""
    return [OpSpec(f"{name}.{v}", cx(fn, view=v), listed(zs("m", (1 if v == "expand" else 4, 6))), (F32,))
            for v in ("T", "step", "expand")]


UNARY: dict[str, Callable[..., Any]] = {
    "neg": lambda lib, a: -a, "exp": lambda lib, a: lib.exp(a), "log": lambda lib, a: lib.log(a),
    "sqrt": lambda lib, a: lib.sqrt(a), "sin": lambda lib, a: lib.sin(a), "cos": lambda lib, a: lib.cos(a),
    "tanh": lambda lib, a: lib.tanh(a), "reciprocal": lambda lib, a: a.reciprocal(),
    "square": lambda lib, a: a.square(), "abs": lambda lib, a: a.abs(), "sgn": lambda lib, a: a.sgn(),
    "angle": lambda lib, a: lib.angle(a), "conj": lambda lib, a: a.conj(),
    "conj_physical": lambda lib, a: lib.conj_physical(a), "resolve_conj": lambda lib, a: a.conj().resolve_conj(),
    "real": lambda lib, a: a.real, "imag": lambda lib, a: a.imag, "pow2": lambda lib, a: a ** 2,
    "isnan": lambda lib, a: a.isnan(), "isfinite": lambda lib, a: a.isfinite(), "isreal": lambda lib, a: a.isreal(),
    "clone": lambda lib, a: a.clone(), "mH": lambda lib, a: a.mH if a.dim() == 2 else a,
}

REDUCE: dict[str, Callable[..., Any]] = {
    "sum": lambda lib, a: a.sum(), "sum.dim": lambda lib, a: a.sum(-1, keepdim=True),
    "mean": lambda lib, a: a.mean(), "mean.dim": lambda lib, a: a.mean(0),
    "prod": lambda lib, a: a.prod(), "cumsum": lambda lib, a: a.cumsum(-1) if a.dim() else a.cumsum(0),
    "logsumexp": lambda lib, a: lib.logsumexp(a, -1 if a.dim() else 0),
    # (0-d var/std: no degree of freedom; PyTorch's NaN gradient there reaches only the real part)
    "var": lambda lib, a: a.var() if a.dim() else a.var(correction=0), "std.dim": lambda lib, a: a.std(-1) if a.dim() else a,
    "var.correction0": lambda lib, a: a.var(correction=0), "norm": lambda lib, a: a.norm(),
    "norm.p1": lambda lib, a: a.norm(p=1), "norm.inf": lambda lib, a: a.norm(p=float("inf")),
}

BINARY: dict[str, Callable[..., Any]] = {
    "add": lambda lib, a, b: a + b, "sub": lambda lib, a, b: a - b, "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b, "eq": lambda lib, a, b: a == b, "ne": lambda lib, a, b: a != b,
}

# PyTorch refuses these on complex tensors; ember must raise the same error type
REFUSED: dict[str, Callable[..., Any]] = {
    "lt": lambda lib, a: a < a, "gt.scalar": lambda lib, a: a > 1, "le": lambda lib, a: a <= a,
    "ge": lambda lib, a: a >= 0.5, "max": lambda lib, a: a.max(), "max.dim": lambda lib, a: a.max(0),
    "min": lambda lib, a: a.min(), "amax": lambda lib, a: a.amax(), "argmax": lambda lib, a: a.argmax(),
    "argmin": lambda lib, a: a.argmin(), "sort": lambda lib, a: a.sort(), "argsort": lambda lib, a: a.argsort(),
    "topk": lambda lib, a: a.topk(1), "relu": lambda lib, a: lib.relu(a),
    "F.relu": lambda lib, a: lib.nn.functional.relu(a), "clamp": lambda lib, a: a.clamp(0, 1),
    "clamp_min": lambda lib, a: a.clamp(min=0), "floor": lambda lib, a: a.floor(), "ceil": lambda lib, a: a.ceil(),
    "trunc": lambda lib, a: a.trunc(), "round": lambda lib, a: a.round(), "sign": lambda lib, a: a.sign(),
    "maximum": lambda lib, a: lib.maximum(a, a), "minimum": lambda lib, a: lib.minimum(a, a),
    "floor_divide": lambda lib, a: a // 2, "remainder": lambda lib, a: a % 2, "fmod": lambda lib, a: lib.fmod(a, 2),
}


def _arith_rows() -> list[OpSpec]:
    rows = []
    for name, fn in UNARY.items():
        rows.append(OpSpec(f"complex.{name}", cx(fn), _unary_samples(), FLOAT))
    for name, fn in REDUCE.items():
        rows.append(OpSpec(f"complex.{name}", cx(fn), listed(zs("matrix", (3, 4)), zs("scalar", ()), zs("vector", (5,))),
                           FLOAT, tol=10.0))
    for name, fn in BINARY.items():
        rows.append(OpSpec(f"complex.{name}", cx(fn, n=2), listed(
            zs("same", (3, 4), (3, 4)), zs("bcast", (3, 4), (4,)), zs("zerod", (), (3, 4))),
            FLOAT))
        rows += _views(lambda lib, a, f=fn: f(lib, a, a * 0.5 + 1j), f"complex.{name}")
    for name, fn in REFUSED.items():
        rows.append(OpSpec(f"complex.refused.{name}", cx(fn), listed(zs("matrix", (3, 4))), (F32,)))
    rows += _views(UNARY["exp"], "complex.exp") + _views(UNARY["abs"], "complex.abs")
    rows += _views(REDUCE["sum.dim"], "complex.sum")
    return rows


def _mixed_rows() -> list[OpSpec]:
    """Complex with real tensors and Python scalars: PyTorch's promotion, and real inputs' gradients
    (the real part of the complex one)."""
    def with_real(op: Callable[..., Any]) -> Callable[..., Any]:
        return cx(lambda lib, a, r: op(a, r), n=1)

    ops = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
           "rdiv": lambda a, b: b / a, "rsub": lambda a, b: b - a}
    rows = [OpSpec(f"complex.mixed.{n}", with_real(op), listed(
        S("f32", (z(3, 4), In((3, 4), dtype=F32))), S("f64", (z(3, 4), In((4,), dtype=F64))),
        S("int", (z(3, 4), In((3, 4), dtype=I64))), S("zerod_real", (z(3, 4), In((), dtype=F64)))), FLOAT, tol=10.0)
        for n, op in ops.items()]
    scalars = {"pyc": 2 - 1.5j, "pyf": 2.5, "pyi": 3}
    for sname, value in scalars.items():
        rows.append(OpSpec(f"complex.scalar.{sname}", cx(lambda lib, a, v=value: (a * v, a + v, v / a, a ** 2)),
                           listed(zs("m", (3, 4))), FLOAT))
    # a real tensor times a Python complex becomes complex (of the tensor's precision)
    rows.append(OpSpec("complex.real_times_1j", on_device(lambda lib, x: lib.view_as_real(x * (1 + 2j))),
                       listed(S("m", (In((3, 4)),))), FLOAT))
    return rows


def _construct_rows() -> list[OpSpec]:
    both = lambda lib, a, b: lib.complex(a, b)  # noqa: E731
    rows = [
        OpSpec("complex.view_as_real", cx(lambda lib, a: lib.view_as_real(a)), _unary_samples(), FLOAT),
        OpSpec("complex.view_as_complex.bad_last", on_device(lambda lib, x: lib.view_as_complex(x)),
               listed(S("three", (In((4, 3)),)), S("zerod", (In(()),)), S("strided", (In((3, 2), layout="T"),))), FLOAT),
        OpSpec("complex.view_as_complex.int", lambda lib, x: lib.view_as_complex(x), listed(S("int", (In((3, 2), dtype=I64),))),
               (F32,)),
        OpSpec("complex.view_as_real.real", lambda lib, x: lib.view_as_real(x), listed(S("real", (In((3,)),))), (F32,)),
        OpSpec("complex.complex", on_device(lambda lib, a, b: lib.view_as_real(lib.complex(a, b))), listed(
            S("same", (In((3, 4)), In((3, 4)))), S("bcast", (In((3, 1)), In((4,)))), S("zerod", (In(()), In(()))),
            S("noncontig", (In((3, 4), layout="T"), In((3, 4), layout="step")))), FLOAT),
        OpSpec("complex.complex.mixed_dtypes", on_device(both), listed(S("f32_f64", (In((3,), dtype=F32), In((3,), dtype=F64)))),
               (F32,)),
        OpSpec("complex.complex.int", both, listed(S("ints", (In((3,), dtype=I64), In((3,), dtype=I64)))), (F32,)),
        OpSpec("complex.polar", on_device(lambda lib, a, b: lib.view_as_real(lib.polar(a, b))), listed(
            S("same", (In((3, 4), kind="positive"), In((3, 4)))), S("bcast", (In((3, 1), kind="positive"), In((4,))))), FLOAT),
        OpSpec("complex.polar.int", lambda lib, a, b: lib.polar(a, b),
               listed(S("ints", (In((3,), dtype=I64), In((3,), dtype=I64)))), (F32,)),
        OpSpec("complex.angle.real", lambda lib, x: lib.angle(x), listed(
            S("any", (In((3, 4)),)), S("special", (In((3, 4), kind="special"),)), S("int", (In((3,), dtype=I64),))), FLOAT),
        OpSpec("complex.matmul", cx(lambda lib, a, b: a @ b, n=2), listed(
            zs("mm", (3, 4), (4, 2)), zs("mv", (3, 4), (4,)), zs("bmm", (2, 3, 4), (4, 5))), FLOAT, tol=10.0),
        OpSpec("complex.vdot", cx(lambda lib, a, b: (lib.vdot(a, b), lib.dot(a, b)), n=2), listed(zs("v", (5,), (5,))),
               FLOAT, tol=10.0),
        OpSpec("complex.real_write", cx(lambda lib, a: _write_real(a)), listed(zs("m", (3, 4))), FLOAT),
        OpSpec("complex.dtype", cx(lambda lib, a: (a.dtype, a.real.dtype, a.abs().dtype, a.is_complex(),
                                                    a.is_floating_point(), lib.is_complex(a), a.is_conj())),
               listed(zs("m", (2,))), FLOAT),
    ]
    return rows


def _write_real(a: Any) -> Any:
    """Writes through ``.real`` and ``.imag`` reach the complex tensor (both are views)."""
    b = a.clone()
    b.real.mul_(2)
    b.imag[0] = 7.0
    return b


def rows() -> list[OpSpec]:
    return _arith_rows() + _mixed_rows() + _construct_rows()
