"""``ember._foreach_*``: PyTorch's list-of-tensors ops (EMA updates, hand-written optimizers).

Each one applies the single-tensor op to every tensor of a list, as PyTorch's slow path does, so
results, dtypes, autograd and errors are those of the single-tensor op. The second operand may be
a number, a list of numbers, a list of tensors or (for ``add``/``sub``/``mul``/``div``) one tensor;
``addcmul``/``addcdiv`` take a ``value``/list of numbers/1-D tensor of values, ``lerp`` a number
or a list of weights. Out-of-place forms return a tuple; in-place forms (``_``) update the tensors
and return the list they were given.

Example:
    >>> import ember
    >>> ema, new = [ember.zeros(2)], [ember.ones(2)]
    >>> _ = ember._foreach_lerp_(ema, new, 0.25)
    >>> ema
    [tensor([0.2500, 0.2500])]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ember._ops.registry import Family
from ember.tensor import Tensor

_UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac",
          "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin",
          "sinh", "sqrt", "tan", "tanh", "trunc")
_BINARY = ("add", "sub", "mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow")


def _tensors(tensors: Any, name: str) -> list:
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"_foreach_{name}(): argument 'self' must be tuple of Tensors")
    if len(tensors) == 0:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return list(tensors)


def _per_tensor(other: Any, n: int, values: bool = False) -> list:
    """``other`` as one operand per tensor: a list as given (of the right length), else repeated;
    with ``values`` (addcmul/addcdiv) a 1-D tensor also gives one number per tensor."""
    if isinstance(other, (list, tuple)):
        if len(other) != n:
            if other and isinstance(other[0], Tensor):
                raise RuntimeError(f"Tensor lists must have the same number of tensors, got {n} and {len(other)}")
            raise RuntimeError("Tensor list must have same number of elements as scalar list.")
        return list(other)
    if values and isinstance(other, Tensor):
        if other.dim() != 1 or other.numel() != n:
            raise RuntimeError(f"Expected length of scalars to match input of length {n} but got {other.numel()} "
                               "instead.")
        return other.tolist()
    return [other] * n


def _given(self: Sequence[Tensor], ts: list) -> list:
    """What an in-place form returns: the list it was given (a tuple's tensors as a list)."""
    return self if isinstance(self, list) else ts


def _unary(name: str) -> tuple[Callable, Callable]:
    def out_of_place(self: Sequence[Tensor]) -> tuple:
        return tuple(getattr(t, name)() for t in _tensors(self, name))

    def in_place(self: Sequence[Tensor]) -> list:
        ts = _tensors(self, name + "_")
        for t in ts:
            getattr(t, name + "_")()
        return _given(self, ts)

    return out_of_place, in_place


def _binary(name: str) -> tuple[Callable, Callable]:
    alpha_ok = name in ("add", "sub")

    def pairs(self: Sequence[Tensor], other: Any, fn_name: str) -> tuple[list, list]:
        ts = _tensors(self, fn_name)
        return ts, _per_tensor(other, len(ts))

    def out_of_place(self: Any, other: Any = None, *, alpha: Any = 1, **kw: Any) -> tuple:
        if name == "pow" and not isinstance(self, (list, tuple)):  # _foreach_pow(number, tensors)
            from ember.functions.elementwise import pow as _pow

            return tuple(_pow(self, e) for e in _tensors(other, name))
        ts, os = pairs(self, other, name)
        if name in ("maximum", "minimum"):
            _refuse_complex(name, ts, os)
        if alpha_ok and alpha != 1:
            return tuple(getattr(t, name)(o, alpha=alpha) for t, o in zip(ts, os))
        return tuple(getattr(t, _scalar_form(name, o))(o) for t, o in zip(ts, os))

    def in_place(self: Any, other: Any, *, alpha: Any = 1) -> list:
        ts, os = pairs(self, other, name + "_")
        if name in ("maximum", "minimum"):
            _refuse_complex(name, ts, os)
        for t, o in zip(ts, os):
            if alpha_ok and alpha != 1:
                getattr(t, name + "_")(o, alpha=alpha)
            elif hasattr(t, name + "_"):
                getattr(t, _scalar_form(name, o) + "_")(o)
            else:  # maximum/minimum have no in-place Tensor method
                t.copy_(getattr(t, _scalar_form(name, o))(o))
        return _given(self, ts)

    return out_of_place, in_place


def _refuse_complex(name: str, ts: list, os: list) -> None:
    """PyTorch's foreach ``maximum``/``minimum`` run the kernels directly (not ``torch.maximum``'s
    RuntimeError): complex tensors meet its dispatch's NotImplementedError, with a number operand
    clamp's."""
    for i, t in enumerate(ts):
        if t.is_complex() or (isinstance(os[i], Tensor) and os[i].is_complex()):
            if not isinstance(os[i], Tensor):
                raise NotImplementedError("clamp is not supported for complex types")
            from ember.functions.complex_ops import type_word

            c = t if t.is_complex() else os[i]
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{type_word(c.dtype)}\'')


def _scalar_form(name: str, other: Any) -> str:
    """The Tensor method for ``name`` with this operand: ``maximum``/``minimum`` take tensors only
    (PyTorch's schema), so a number goes to ``clamp_min``/``clamp_max``, which compute the same."""
    if not isinstance(other, (int, float, complex)) or name not in ("maximum", "minimum"):
        return name
    return "clamp_min" if name == "maximum" else "clamp_max"


def _pointwise3(name: str) -> tuple[Callable, Callable]:
    def args(self: Any, t1: Any, t2: Any, value: Any, fn_name: str) -> tuple[list, list, list, list]:
        ts = _tensors(self, fn_name)
        return ts, _per_tensor(t1, len(ts)), _per_tensor(t2, len(ts)), _per_tensor(value, len(ts), values=True)

    def out_of_place(self: Any, tensor1: Any, tensor2: Any, value: Any = 1, **scalars: Any) -> tuple:
        value = _scalars_kw(name, value, scalars)
        ts, a, b, v = args(self, tensor1, tensor2, value, name)
        return tuple(getattr(t, name)(x, y, value=s) for t, x, y, s in zip(ts, a, b, v))

    def in_place(self: Any, tensor1: Any, tensor2: Any, value: Any = 1, **scalars: Any) -> list:
        value = _scalars_kw(name + "_", value, scalars)
        ts, a, b, v = args(self, tensor1, tensor2, value, name + "_")
        for t, x, y, s in zip(ts, a, b, v):
            getattr(t, name + "_")(x, y, value=s)
        return _given(self, ts)

    return out_of_place, in_place


def _scalars_kw(fn_name: str, value: Any, kw: dict) -> Any:
    """PyTorch's ``scalars=`` keyword (its ScalarList/Tensor overloads of addcmul/addcdiv name the
    fourth argument so, the Scalar overload ``value``): the per-tensor values, given one way only."""
    if not kw:
        return value
    if set(kw) != {"scalars"} or value != 1 or not isinstance(kw["scalars"], (list, tuple, Tensor)):
        got = ", ".join(f"{k}={type(v).__name__}" for k, v in kw.items())
        raise TypeError(f"_foreach_{fn_name}() received an invalid combination of arguments - got (list, list, list, "
                        f"{got}), but expected one of:\n * (tuple of Tensors self, tuple of Tensors tensor1, tuple of "
                        "Tensors tensor2, tuple of Scalars scalars)\n * (tuple of Tensors self, tuple of Tensors "
                        "tensor1, tuple of Tensors tensor2, Tensor scalars)\n * (tuple of Tensors self, tuple of "
                        "Tensors tensor1, tuple of Tensors tensor2, Number value = 1)\n")
    return kw["scalars"]


def _lerp() -> tuple[Callable, Callable]:
    def out_of_place(self: Any, tensors1: Any, weight: Any) -> tuple:
        ts = _tensors(self, "lerp")
        return tuple(t.lerp(e, w) for t, e, w in zip(ts, _per_tensor(tensors1, len(ts)), _per_tensor(weight, len(ts))))

    def in_place(self: Any, tensors1: Any, weight: Any) -> list:
        ts = _tensors(self, "lerp_")
        for t, e, w in zip(ts, _per_tensor(tensors1, len(ts)), _per_tensor(weight, len(ts))):
            t.lerp_(e, w)
        return _given(self, ts)

    return out_of_place, in_place


def _foreach_norm(self: Sequence[Tensor], ord: Any = 2, dtype: Any = None) -> tuple:
    """The vector ``ord``-norm of each tensor (over all its elements)."""
    from ember.linalg import vector_norm

    return tuple(vector_norm(t, ord, dtype=dtype) for t in _tensors(self, "norm"))


def _foreach_max(self: Sequence[Tensor]) -> tuple:
    """The largest element of each tensor."""
    return tuple(t.max() for t in _tensors(self, "max"))


def _foreach_powsum(self: Sequence[Tensor], ord: Any = 2, dtype: Any = None) -> tuple:
    """``sum(|t| ** ord)`` of each tensor (the norm before its root)."""
    return tuple((t.abs() ** ord).sum(dtype=dtype) for t in _tensors(self, "powsum"))


def _foreach_mm(self: Sequence[Tensor], mat2: Sequence[Tensor]) -> tuple:
    """``mm`` of each pair."""
    ts = _tensors(self, "mm")
    return tuple(a.mm(b) for a, b in zip(ts, _per_tensor(list(mat2), len(ts))))


def _foreach_clone(self: Sequence[Tensor]) -> tuple:
    return tuple(t.clone() for t in _tensors(self, "clone"))


def _foreach_zero_(self: Sequence[Tensor]) -> list:
    ts = _tensors(self, "zero_")
    for t in ts:
        t.zero_()
    return _given(self, ts)


def _foreach_copy_(self: Sequence[Tensor], src: Sequence[Tensor], non_blocking: bool = False) -> list:
    ts = _tensors(self, "copy_")
    for t, s in zip(ts, _per_tensor(list(src), len(ts))):
        t.copy_(s)
    return _given(self, ts)


def _build() -> dict[str, Callable]:
    ops: dict[str, Callable] = {}
    makers = [(n, _unary) for n in _UNARY] + [(n, _binary) for n in _BINARY] + \
        [(n, _pointwise3) for n in ("addcmul", "addcdiv")]
    for name, make in makers:
        ops[f"_foreach_{name}"], ops[f"_foreach_{name}_"] = make(name)
    ops["_foreach_lerp"], ops["_foreach_lerp_"] = _lerp()
    for fn in (_foreach_norm, _foreach_max, _foreach_powsum, _foreach_mm, _foreach_clone, _foreach_zero_,
               _foreach_copy_):
        ops[fn.__name__] = fn
    for name, fn in ops.items():
        fn.__name__ = fn.__qualname__ = name
        if fn.__doc__ is None:
            base = name[len("_foreach_"):].rstrip("_")
            fn.__doc__ = (f"``{base}`` of every tensor of the list" +
                          (", in place." if name.endswith("_") else ", as a tuple."))
    return ops


_OPS = _build()
globals().update(_OPS)
_ops = Family(__name__)
for _name, _fn in _OPS.items():
    _ops.op(_fn, _name, method=False)

__all__ = _ops.names()
