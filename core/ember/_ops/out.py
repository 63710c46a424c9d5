"""``out=`` for declared ops: the parameter the registry generates, and how a result is written.

An op declared with a *rule* instead of ``out=True`` (``_op(exp, out=CAST)``) gets its ``out=`` from
:func:`with_out`: ``ember.<name>`` becomes a function with the op's own signature plus ``out=None``
(generated once, so the call without ``out=`` costs one extra Python call, no ``*args`` packing),
which runs the op and hands the result to :func:`write`. The Tensor method stays the op itself:
PyTorch's methods take no ``out=``.

PyTorch's rules for an ``out`` tensor, which :func:`write` follows:

- the result is written into ``out``, which is returned and keeps its identity (a tuple of tensors
  for an op returning several, ``max(x, 1, out=(values, indices))``);
- its dtype must fit the op's rule (the *rule* of the declaration): :data:`CAST` (TensorIterator
  ops: any ``out`` of the same or a higher kind, the result cast into it), :data:`DTYPE` (ops with a
  ``dtype=`` argument that take ``out``'s dtype as theirs, ``sum``, ``cumsum``), :data:`ANY` (any
  dtype: ``bernoulli`` samples into it), or a message template naming the one dtype accepted (the
  result's: :data:`EXACT`, :data:`SAME`, or the op's own words);
- ``out`` on another device is refused;
- an ``out`` of another shape is resized, with PyTorch's deprecation warning when it had elements;
- ``out=`` is not differentiable: an input or ``out`` that requires grad is refused in grad mode;
- ``out`` must not share memory with an input where PyTorch checks it (:func:`check_overlap`, by
  op name in :data:`OVERLAP`): TensorIterator ops (``exp``, ``add``, ``where``...) refuse an ``out``
  whose elements repeat (``expand``) or that overlaps an input partially (``add(x[1:], 1,
  out=x[:-1])``; ``out=x`` itself is fine), index ops and ``cat`` any overlap at all, matrix
  products only a repeating ``out``. These checks run on the ``out=`` path only.

This module imports nothing from ember at import time (the registry imports it while the families
load); ember is imported on the ``out=`` path only.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["CAST", "DTYPE", "ANY", "EXACT", "SAME", "OVERLAP", "overlap_kind", "check_overlap", "tensor_args", "with_out", "write", "store"]

#: TensorIterator's rule: ``out`` of the same or a higher kind (float into int is refused)
CAST = "cast"
#: the op's ``dtype=`` defaults to ``out``'s dtype, which must then match the result's
DTYPE = "dtype"
#: any dtype: the result is cast into ``out``
ANY = "any"
#: structured kernels: ``out`` must have the result's dtype
EXACT = "Expected out tensor to have dtype {result_c}, but got {out_c} instead"
#: unary ops that keep the input's dtype (``abs``, ``floor``, ``neg``, ``clamp_min``)
SAME = "Found dtype {out} but expected {result}"

_RULES = (CAST, DTYPE, ANY)

RESIZED = ("An output with one or more elements was resized since it had shape {old}, which does not match the "
           "required output shape {new}. This behavior is deprecated, and in a future PyTorch release outputs "
           "will not be resized unless they have zero elements. You can explicitly reuse an out tensor t by "
           "resizing it, inplace, to zero elements with t.resize_(0).")

INTERNAL_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a single "
                    "memory location. Please clone() the tensor before performing the operation.")

# The overlap checks PyTorch makes before writing ``out`` (ATen's assert_no_internal_overlap, and
# assert_no_partial_overlap / assert_no_overlap against each input), by op name. "partial": a
# TensorIterator op (the very same elements, ``exp(x, out=x)``, are allowed); "full": any shared
# element is refused (index ops and ``cat`` read inputs after writing); "internal": only an ``out``
# whose elements repeat. An op not listed is not checked (reductions, ``sort``, ``linalg``).
_PARTIAL = """
    neg negative abs absolute sign sgn exp exp2 expm1 log log1p log2 log10 sqrt rsqrt sin cos tan asin arcsin acos
    arccos atan arctan sinh cosh tanh asinh arcsinh atanh arctanh sigmoid erf erfc erfinv lgamma digamma polygamma
    mvlgamma i0 sinc deg2rad rad2deg logit floor ceil round trunc fix frac reciprocal square nan_to_num signbit
    add sub subtract mul multiply div divide true_divide floor_divide remainder fmod pow float_power maximum
    minimum fmax fmin atan2 arctan2 hypot copysign xlogy logaddexp logaddexp2 heaviside nextafter ldexp gcd lcm
    eq ne not_equal lt less le less_equal gt greater ge greater_equal isclose logical_and logical_or logical_xor
    logical_not bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift
    where clamp clip clamp_min clamp_max lerp addcmul addcdiv hardshrink addmm addbmm cumsum cumprod
    logcumsumexp msort renorm expit erfcx ndtri log_ndtr i0e i1 i1e xlog1py entr psi gammaln multigammaln
    """
_FULL = "gather index_select masked_select take take_along_dim nonzero cat concat concatenate stack vstack hstack " \
        "row_stack outer ger addr index_add index_copy index_reduce scatter scatter_add scatter_reduce"
_INTERNAL = "mm matmul bmm mv kron slice_scatter matrix_power chain_matmul multi_dot tensordot inner diff softmax " \
            "log_softmax ndtr zeta"
OVERLAP: dict[str, str] = {**{n: "internal" for n in _INTERNAL.split()}, **{n: "partial" for n in _PARTIAL.split()},
                           **{n: "full" for n in _FULL.split()}}


def tensor_args(args: Any) -> list:
    """The tensors among an op's arguments (a list of tensors, ``cat``'s, counts as its elements)."""
    from ember.tensor import Tensor

    found = []
    for a in args:
        if isinstance(a, Tensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(x for x in a if isinstance(x, Tensor))
    return found


def overlap_kind(name: str) -> str | None:
    """The :data:`OVERLAP` entry of the op ``name`` (``"linalg.cross"``, ``"special_erfcx"`` as the
    functions implementing ``torch.special`` are named), None where PyTorch checks nothing."""
    name = name.rsplit(".", 1)[-1]
    return OVERLAP.get(name[8:] if name.startswith("special_") else name)


def check_overlap(name: str, out: Any, args: Any) -> None:
    """PyTorch's refusal of an ``out`` that shares memory with itself or the op's inputs (``args``: the
    op's arguments as passed), as :data:`OVERLAP` says for ``name``; ``out`` may be a tuple."""
    kind = overlap_kind(name)
    if kind is None:
        return
    from ember.functions.elementwise import _OVERLAP, check_no_overlap
    from ember.tensor import Tensor

    outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if isinstance(o, Tensor)]
    for o in outs:
        if any(st == 0 and n > 1 for n, st in zip(o.shape, o.stride())):
            raise RuntimeError(INTERNAL_OVERLAP)
    if kind == "internal":
        return
    inputs = [a for a in tensor_args(args) if all(a is not o for o in outs) or kind == "full"]
    for o in outs:
        if kind == "full" and o.numel() and any(a is o for a in inputs):
            raise RuntimeError(_OVERLAP)  # the very same tensor (check_no_overlap skips it)
        check_no_overlap(o, inputs, full_too=kind == "full")


def with_out(name: str, fn: Callable, rule: str) -> Callable:
    """``fn`` with ``out=None`` added to its signature (keyword-only), as ``ember.<name>`` exposes it.

    The function is generated with ``fn``'s own parameters, forwarded as they came, so the call without
    ``out=`` adds one plain Python call. ``rule`` says which ``out`` dtypes are accepted (see the module
    docstring); :data:`DTYPE` needs a ``dtype`` parameter. A ``fn`` wrapped by ``numpy_names`` is
    wrapped inside: ``axis=``/``keepdims=`` keep working.
    """
    if rule not in _RULES and "{" not in rule:
        raise ValueError(f"{name}: unknown out= rule {rule!r}")
    renames = getattr(fn, "numpy_names", None)
    if renames is not None:
        from ember._ops.numpy_names import numpy_names

        return numpy_names(with_out(name, fn.__wrapped__, rule))
    params = list(inspect.signature(fn).parameters.values())
    P = inspect.Parameter
    head: list[str] = []
    call: list[str] = []
    varkw = None
    star = False
    for i, p in enumerate(params):
        if p.kind is P.VAR_KEYWORD:
            varkw = p.name
            continue
        if p.kind is P.KEYWORD_ONLY:
            if not star:
                head.append("*")
                star = True
            head.append(p.name)
            call.append(f"{p.name}={p.name}")
            continue
        head.append(("*" if p.kind is P.VAR_POSITIONAL else "") + p.name)
        call.append(head[-1])
        star = star or p.kind is P.VAR_POSITIONAL
        if p.kind is P.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind is not P.POSITIONAL_ONLY):
            head.append("/")
    if not star:
        head.append("*")
    head.append("out")
    if varkw:
        head.append("**" + varkw)
        call.append("**" + varkw)
    names = {p.name for p in params}
    if "out" in names or any(n.startswith("_ember_") for n in names):
        raise ValueError(f"{name}: cannot generate out= over the parameters {sorted(names)}")
    args = ", ".join(call)
    pre = "    _ember_overlap(_ember_name, out, (" + "".join(c.split("=")[0].lstrip("*") + ", " for c in call if not c.startswith("**")) + "))\n"
    if rule == DTYPE:
        if "dtype" not in names:
            raise ValueError(f"{name}: the out= rule DTYPE needs a dtype parameter")
        pre += "    if dtype is None:\n        dtype = getattr(out, 'dtype', None)\n"
    src = (f"def {name}({', '.join(head)}):\n"
           f"    if out is None:\n"
           f"        return _ember_fn({args})\n"
           f"{pre}"
           f"    return _ember_write(_ember_name, _ember_rule, _ember_fn({args}), out)\n")
    namespace: dict[str, Any] = {"_ember_fn": fn, "_ember_write": write, "_ember_name": name, "_ember_rule": rule,
                                 "_ember_overlap": check_overlap}
    exec(compile(src, f"<ember out= for {name}>", "exec"), namespace)  # noqa: S102 - generated from a signature
    new = namespace[name]
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    defaults = tuple(p.default for p in positional if p.default is not P.empty)
    new.__defaults__ = defaults or None
    new.__kwdefaults__ = {**{p.name: p.default for p in params if p.kind is P.KEYWORD_ONLY
                             and p.default is not P.empty}, "out": None}
    new.__doc__ = fn.__doc__
    new.__module__ = fn.__module__
    new.__qualname__ = getattr(fn, "__qualname__", name)
    new.__annotations__ = {**getattr(fn, "__annotations__", {}), "out": "Tensor | tuple[Tensor, ...] | None"}
    new.__ember_out_rule__ = rule
    return new


def _names(dtype: Any) -> tuple[str, str]:
    from ember.functions.elementwise import _CAN_CAST_NAMES
    from ember.tensor import _CPP_TYPE

    return _CAN_CAST_NAMES.get(dtype, str(dtype)), _CPP_TYPE.get(str(dtype).rsplit(".", 1)[-1], str(dtype))


def _check(name: str, rule: str, result: Any, out: Any) -> None:
    """PyTorch's checks of one ``out`` tensor against the result it is to hold."""
    from ember.tensor import Tensor

    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    rd, od = result._dtype, out._dtype
    if rd is not od and rule != ANY:
        if rule == CAST:
            if rd.category > od.category:
                raise RuntimeError(f"result type {_names(rd)[0]} can't be cast to the desired output type "
                                   f"{_names(od)[0]}")
        else:
            template = EXACT if rule == DTYPE else rule
            (r, r_c), (o, o_c) = _names(rd), _names(od)
            raise RuntimeError(template.format(name=name, result=r, result_c=r_c, out=o, out_c=o_c))
    if out._device != result._device:
        raise RuntimeError(f"Expected out tensor to have device {result._device}, but got {out._device} instead")


def write(name: str, rule: str, result: Any, out: Any) -> Any:
    """Write ``result`` (a tensor, or a tuple of them) into ``out`` (the same structure) as PyTorch's
    ``<name>.out`` does, and return ``out`` (a tuple as the op's own result type)."""
    from ember.autograd.grad_mode import STATE
    from ember.tensor import Tensor

    if isinstance(result, Tensor):
        results, outs = (result,), (out,)
    else:
        if not isinstance(out, (tuple, list)):
            raise TypeError(f"{name}(): argument 'out' must be tuple of Tensors, not {type(out).__name__}")
        if len(out) != len(result):
            raise TypeError(f"expected tuple of {len(result)} elements but got {len(out)}")
        results, outs = tuple(result), tuple(out)
    if STATE.enabled and any(t._requires_grad for t in (*results, *outs) if isinstance(t, Tensor)):
        # PyTorch's out= variants are not differentiable
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    for r, o in zip(results, outs):
        _check(name, rule, r, o)
    for r, o in zip(results, outs):
        store(r, o)
    if isinstance(result, Tensor):
        return out
    return type(result)(*outs) if hasattr(result, "_fields") else type(result)(outs)


def store(result: Any, out: Any, stacklevel: int = 4) -> Any:
    """Copy ``result`` into ``out`` (cast to its dtype), resizing ``out`` to the result's shape first
    (with PyTorch's deprecation warning when ``out`` had elements). The checks are the caller's."""
    if tuple(out.shape) != tuple(result.shape):
        if out.numel():
            warnings.warn(RESIZED.format(old=list(out.shape), new=list(result.shape)), UserWarning,
                          stacklevel=stacklevel)
        out._set_data(result.to(out._dtype)._data)
        out._version[0] += 1  # a node that saved ``out`` must see that its values changed
        return out
    return out.copy_(result)
