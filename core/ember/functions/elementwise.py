"""Elementwise math, comparisons and their operators, with PyTorch's broadcasting and promotion.

Each differentiable op is a ``Function`` whose backward sits right under its forward.

Example:
    >>> import ember
    >>> a = ember.tensor([1, 2, 3])
    >>> a * 0.5 + ember.tensor([[1.0], [2.0]])
    tensor([[1.5000, 2.0000, 2.5000],
            [2.5000, 3.0000, 3.5000]])
"""

from __future__ import annotations

import builtins
import functools
import math
import warnings
from typing import Any

import numpy as np

from ember import dtypes as _dt
from ember._ops.out import CAST, SAME
from ember._ops.out import check_overlap as _out_check_overlap
from ember._ops.out import overlap_kind as _out_overlap_kind
from ember._ops.out import store as _store_out
from ember._ops.registry import Family
from ember.autograd.function import _FW, Function, _requires_grad_now, grad_fn_name, name_grad_fn
from ember.autograd.grad_mode import STATE
from ember.autograd.inplace import check_inplace, needs_rebase, rebase_history, snapshot_saved_inputs
from ember.functions.complex_ops import refuse_complex, type_word
from ember.size import Size
from ember.tensor import Tensor

_Number = (int, float, bool, complex)


# ---- broadcasting and promotion helpers -----------------------------------------------------
def broadcast_shapes(*shapes: Any) -> Size:
    """The shape the given shapes broadcast to, or PyTorch's error naming them.

    As ``torch._refs._broadcast_shapes``: an int is a 1-d shape, None is skipped, the error names the
    first argument that does not fit."""
    shapes = tuple(_shape_arg(s) for s in shapes if s is not None)
    out = [1] * builtins.max((len(s) for s in shapes), default=0)
    for k, s in enumerate(shapes):
        for i in range(-1, -1 - len(s), -1):
            d = s[i]
            if d == out[i] or d == 1:
                continue
            if out[i] != 1:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {d} at {i}! Mismatching argument "
                                   f"at index {k} had {s}; but expected shape should be broadcastable to {out}")
            if d < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
            out[i] = d
    return Size(out)


def _shape_arg(s: Any) -> Any:
    if isinstance(s, int) and not isinstance(s, bool):
        return (s,)
    if isinstance(s, (tuple, list)) or (hasattr(s, "__len__") and hasattr(s, "__getitem__")):  # any sequence
        return s
    raise RuntimeError(f"Input shapes should be of type ints, a tuple of ints, or a list of ints, got {s}")


def _shape_error(a: Tensor, b: Tensor) -> RuntimeError:
    sa, sb = a._data.shape, b._data.shape
    for i in range(1, builtins.max(len(sa), len(sb)) + 1):
        x = sa[-i] if i <= len(sa) else 1
        y = sb[-i] if i <= len(sb) else 1
        if x != y and x != 1 and y != 1:
            return RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                                f"non-singleton dimension {builtins.max(len(sa), len(sb)) - i}")
    return RuntimeError(f"shapes {list(sa)} and {list(sb)} cannot be broadcast")


def _broadcast_error(*shapes: tuple) -> RuntimeError:
    """PyTorch's error for the first dimension (from the right) where the shapes do not broadcast."""
    nd = builtins.max(len(s) for s in shapes)
    for i in range(1, nd + 1):
        sizes = [s[-i] for s in shapes if i <= len(s) and s[-i] != 1]
        other = [d for d in sizes if d != sizes[0]]
        if other:
            return RuntimeError(f"The size of tensor a ({sizes[0]}) must match the size of tensor b ({other[0]}) at "
                                f"non-singleton dimension {nd - i}")
    return RuntimeError(f"shapes {[list(s) for s in shapes]} cannot be broadcast")


def _device_error(a: Tensor, b: Tensor) -> RuntimeError:
    # PyTorch's TensorIterator takes the first non-CPU operand's device as the common one, so a mix
    # of cpu and an accelerator reads "opencl:0 and cpu!" whichever operand comes first
    if a._device.type == "cpu" and b._device.type != "cpu":
        a, b = b, a
    return RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                        f"{a._device} and {b._device}!")


# Cleared by ember.set_default_dtype (a float scalar's dtype depends on the default).
_scalar_rt: dict = _dt._SCALAR_PROMOTE_CACHE


def _scalar_promote(t: Tensor, s: Any) -> _dt.dtype:
    key = (t._dtype, type(s))
    dt = _scalar_rt.get(key)
    if dt is None:
        dt = _scalar_rt[key] = _dt._promote_operands((t._dtype,), (), (_dt.scalar_dtype(s),))
    return dt


def _cast_scalar(s: Any, dt: _dt.dtype) -> Any:
    if dt.is_complex:
        return complex(s)
    if dt.is_floating_point:
        return float(s)
    if dt is _dt.bool_:
        return bool(s)
    return int(s)


def _operand_scalar(s: Any, dt: _dt.dtype) -> Any:
    """A Python number as an operand of dtype ``dt``: integers wrap like a cast (uint8 + 1000), and
    an int past int64 is read as PyTorch reads it, as a uint64 (2**63 wraps to -2**63 for integer
    tensors; beyond uint64 raises OverflowError)."""
    if s.__class__ is int and not -(1 << 63) <= s < (1 << 63):
        from ember._scalar_convert import unpack_scalar_int

        s = unpack_scalar_int(s)
        if dt.category <= 1:
            s -= 1 << 64
    if dt.category != 1 or dt is _dt.int64:
        return _cast_scalar(s, dt)
    v = int(s)
    bits = dt.itemsize * 8
    if not -(1 << (bits - 1)) <= v < (1 << bits):
        v &= (1 << bits) - 1
    if dt.is_signed:
        v = (v + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
    elif v < 0:
        v += 1 << bits
    return v


_LOWP = (_dt.float16, _dt.bfloat16)


def _operands(a: Any, b: Any, exact: bool = False) -> tuple:
    """Return (proto tensor, a payload-or-number, b payload-or-number, result dtype).

    A number operand of a float16/bfloat16 result is rounded to that dtype first, as PyTorch casts
    a CPU scalar to the common dtype (``x + 0.1`` adds the float16 nearest 0.1). ``exact`` is the
    rule of PyTorch's mul and div kernels for those dtypes, which take the scalar's own value in
    float32 (``original_scalar_value``), also that of a second operand that is a 0-d CPU tensor of
    another real dtype (``bfloat16 * tensor(257)`` multiplies by 257, not by its bfloat16 256)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if exact and a._dtype is not b._dtype and b._data.ndim == 0 and b._device.type == "cpu" and \
                    a._dtype in _LOWP and not b._dtype.is_complex:  # (the second operand only, as PyTorch)
                return _operands(a, b.item(), True)
            if a._device is not b._device:
                if b._data.ndim == 0 and b._device.type == "cpu":
                    b = b.item()
                elif a._data.ndim == 0 and a._device.type == "cpu":
                    a = a.item()
                    return _operands(a, b)
                else:
                    raise _device_error(a, b)
            else:
                if a._dtype is b._dtype:
                    return a, a._data, b._data, a._dtype
                dt = _dt.result_type(a, b)
                ad = a._data if a._dtype is dt else a._kt["astype"](a._data, dt)
                bd = b._data if b._dtype is dt else b._kt["astype"](b._data, dt)
                return a, ad, bd, dt
        if isinstance(b, _Number):
            dt = _scalar_promote(a, b)
            ad = a._data if a._dtype is dt else a._kt["astype"](a._data, dt)
            if dt in _LOWP and not exact:
                return a, ad, _dt.round_scalar(b, dt), dt
            return a, ad, _operand_scalar(b, dt), dt
        if isinstance(b, (np.generic, np.ndarray)):
            return _operands(a, _from_numpy_operand(b))
        raise TypeError(f"unsupported operand type: {type(b).__name__}")
    if isinstance(b, Tensor) and isinstance(a, np.generic):
        return _operands(_from_numpy_operand(a), b)
    if isinstance(b, Tensor) and isinstance(a, _Number):
        dt = _scalar_promote(b, a)
        bd = b._data if b._dtype is dt else b._kt["astype"](b._data, dt)
        if dt in _LOWP and not exact:
            return b, _dt.round_scalar(a, dt), bd, dt
        return b, _operand_scalar(a, dt), bd, dt
    raise TypeError(f"unsupported operand types: {type(a).__name__} and {type(b).__name__}")


def _from_numpy_operand(v: Any) -> Any:
    """A NumPy operand as PyTorch takes it: an array is a (CPU) tensor of its dtype; a scalar is a
    Python number: an int for NumPy's integers, else a float (a complex one loses its imaginary
    part, with NumPy's ComplexWarning), so it promotes as a Python number does."""
    if isinstance(v, np.ndarray):
        from ember.functions.creation import from_numpy

        return from_numpy(np.ascontiguousarray(v) if v.strides and min(v.strides) < 0 else v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.complexfloating):
        warnings.warn("Casting complex values to real discards the imaginary part", np.exceptions.ComplexWarning,
                      stacklevel=4)
        return float(v.real)
    return float(v)


def _run(name: str, proto: Tensor, ad: Any, bd: Any, a: Any, b: Any) -> Any:
    """The kernel's result; a backend's broadcasting ValueError becomes PyTorch's error naming the sizes."""
    try:
        return proto._kt[name](ad, bd)
    except ValueError:
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            _check_broadcast(a, b)  # (a ValueError about anything else is not a shape error)
        raise


def _call(name: str, a: Any, b: Any, exact: bool = False) -> Tensor:
    proto, ad, bd, dt = _operands(a, b, exact)
    try:  # (``_run`` inlined: this is every binary op's hot path)
        out = proto._kt[name](ad, bd)
    except ValueError:
        return proto._new(_run(name, proto, ad, bd, a, b), dt)
    return proto._new(out, dt)


def _call_bool(name: str, a: Any, b: Any) -> Tensor:
    proto, ad, bd, _ = _operands(a, b)
    return proto._new(_run(name, proto, ad, bd, a, b), _dt.bool_)


def _call_division(op: str, kernel: str, a: Any, b: Any, exact: bool = False) -> Tensor:
    """An integer-capable division kernel (``//``, ``%``) behind PyTorch's checks, made here once so
    that no backend has to (or can) answer differently: see ``_check_divisor``."""
    proto, ad, bd, dt = _operands(a, b, exact)
    _check_divisor(op, proto, bd, dt, a, b)
    return proto._new(_run(kernel, proto, ad, bd, a, b), dt)


def _check_divisor(op: str, proto: Tensor, bd: Any, dt: _dt.dtype, a: Any = None, b: Any = None) -> None:
    """PyTorch's rules for integer division: bool operands have none (NotImplementedError, named after
    PyTorch's kernel ``op``), and a zero divisor raises ``RuntimeError: ZeroDivisionError`` (PyTorch's
    CPU behaviour) instead of whatever a device computes. Costs one device sync on the integer path."""
    if dt.is_floating_point:
        return
    if dt is _dt.bool_:
        raise NotImplementedError(f'"{op}_{proto._device.type}" not implemented for \'Bool\'')
    if _has_zero(proto, bd) and not _empty_operand(a, b):
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            _check_broadcast(a, b)
        raise RuntimeError("ZeroDivisionError")


def _check_broadcast(a: Tensor, b: Tensor) -> None:
    """Incompatible sizes are reported before a zero divisor, as PyTorch checks them first."""
    sa, sb = a._data.shape, b._data.shape
    for x, y in zip(reversed(sa), reversed(sb)):
        if x != y and x != 1 and y != 1:
            raise _shape_error(a, b)


def _empty_operand(a: Any, b: Any) -> bool:
    """An empty operand means an empty result: no element is divided, so nothing raises."""
    return any(isinstance(x, Tensor) and 0 in x._data.shape for x in (a, b))


def _has_zero(proto: Tensor, bd: Any) -> bool:
    if isinstance(bd, _Number):
        return bd == 0
    kt = proto._kt
    if kt.device_type == "meta":  # no values, so no zero divisor to find (PyTorch's meta kernels)
        return False
    zero = kt["eq"](bd, 0)
    if zero.ndim:
        zero = kt["any"](zero, tuple(range(zero.ndim)), False)
    return bool(kt["to_host"](zero))


def unbroadcast(grad: Tensor, shape: tuple) -> Tensor:
    """Sum ``grad`` down to ``shape`` (undoing broadcasting in backward)."""
    gshape = tuple(grad.shape)
    shape = tuple(shape)
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    dims = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and gshape[lead + i] != 1:
            dims.append(lead + i)
    if dims:
        grad = grad.sum(dim=tuple(dims), keepdim=True)
    return grad.reshape(shape)


def _grad_for(x: Any, g: Tensor) -> Tensor | None:
    if not isinstance(x, Tensor):
        return None
    g = unbroadcast(g, x._data.shape)
    return g if g._dtype is x._dtype else g.to(x._dtype)


# ---- binary arithmetic -----------------------------------------------------------------------
class Add(Function):
    _backward_name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.a, ctx.b = _meta(a), _meta(b)  # the gradient goes to b itself, not to b * alpha
        ctx.alpha = alpha
        if type(alpha) is not int or alpha != 1:
            return _call_scaled("add", ctx, a, b, alpha)
        return _call("add", a, b)

    @staticmethod
    def backward(ctx, g):
        return _grad_meta(ctx.a, g), _grad_meta(ctx.b, g * ctx.alpha if ctx.alpha != 1 else g), None


class Sub(Function):
    _backward_name = "SubBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        _check_sub_operands(a, b)
        ctx.a, ctx.b = _meta(a), _meta(b)  # the gradient goes to b itself, not to b * alpha
        ctx.alpha = alpha
        if type(alpha) is not int or alpha != 1:
            return _call_scaled("sub", ctx, a, b, alpha)
        return _call("sub", a, b)

    @staticmethod
    def backward(ctx, g):
        gb = -g if ctx.alpha == 1 else g * (-ctx.alpha)
        return _grad_meta(ctx.a, g), _grad_meta(ctx.b, gb), None


# PyTorch's wording; checked here (not in kernels) so every backend refuses the same operands.
_BOOL_SUB_BOTH = ("Subtraction, the `-` operator, with two bool tensors is not supported. "
                  "Use the `^` or `logical_xor()` operator instead.")
_BOOL_SUB_ONE = ("Subtraction, the `-` operator, with a bool tensor is not supported. "
                 "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def _is_bool_operand(x: Any) -> bool:
    return x._dtype is _dt.bool_ if isinstance(x, Tensor) else isinstance(x, bool)


def _check_sub_operands(a: Any, b: Any) -> None:
    """PyTorch's sub_check: ``-`` refuses a bool operand (a Python bool counts as one)."""
    a_bool, b_bool = _is_bool_operand(a), _is_bool_operand(b)
    if a_bool and b_bool:
        raise RuntimeError(_BOOL_SUB_BOTH)
    if a_bool or b_bool:
        raise RuntimeError(_BOOL_SUB_ONE)


def _call_scaled(name: str, ctx: Any, a: Any, b: Any, alpha: Any) -> Tensor:
    """``a + alpha * b`` (``name`` "add") or ``a - alpha * b`` ("sub"), ``ctx.alpha`` set for backward;
    16-bit results in float32, rounded once, as PyTorch's kernel."""
    dt = _dt.result_type(a, b)
    b, ctx.alpha = _scale_by_alpha(a, b, alpha)
    if dt in _LOWP and alpha is not True:
        wide = a.to(_dt.float32) if isinstance(a, Tensor) else _dt.round_scalar(a, dt)
        return _call(name, wide, b, True).to(dt)
    return _call(name, a, b)


def _scale_by_alpha(a: Any, b: Any, alpha: Any) -> tuple:
    """``(b * alpha, alpha)`` for add/sub, computed in the result dtype as PyTorch does (a bool
    result makes alpha a bool; an int8 ``b`` is widened first rather than overflowing)."""
    if type(alpha) is int and alpha == 1:
        return b, alpha
    dt = _dt.result_type(a, b)
    if isinstance(alpha, bool) and dt is not _dt.bool_:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    # PyTorch's alpha_check: a float or complex alpha needs a floating or complex result (complex
    # is not integral), and a complex alpha a complex one
    if isinstance(alpha, (float, complex)) and not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if isinstance(alpha, complex) and not dt.is_complex:
        raise RuntimeError("For non-complex input tensors, argument alpha must not be a complex number.")
    if dt is _dt.bool_:
        alpha = bool(alpha)
    if alpha is True or (type(alpha) is int and alpha == 1):
        return b, alpha
    from ember._scalar_convert import checked_scalar

    checked_scalar(alpha, dt)  # PyTorch's checked conversion: int8 alpha=300, float32 alpha=1e39 raise
    if dt in _LOWP:
        # PyTorch's 16-bit add kernel: alpha (and a number operand) rounded to the dtype, then
        # a + alpha * b in float32, rounded once (a float32 ``b * alpha`` here; the caller rounds)
        alpha_r = _dt.round_scalar(alpha, dt)
        if isinstance(b, Tensor):
            return mul(b.to(_dt.float32), alpha_r), alpha
        return _dt.round_scalar(b, dt) * alpha_r, alpha
    if isinstance(b, Tensor):
        return mul(b if b._dtype is dt else b.to(dt), alpha), alpha
    return b * alpha, alpha


def _meta(x: Any):
    """What backward needs to reshape a gradient for ``x``: (shape, dtype) or None for numbers."""
    return (x._data.shape, x._dtype) if isinstance(x, Tensor) else None


def _grad_meta(meta, g: Tensor):
    if meta is None:
        return None
    shape, dtype = meta
    g = unbroadcast(g, shape)
    if g._dtype.is_complex and not dtype.is_complex:  # a real input's gradient is the real part
        g = g.real.contiguous()
    return g if g._dtype is dtype else g.to(dtype)


def _cj(x: Any) -> Any:
    """The conjugate of a complex tensor or number (PyTorch's backward formulas conjugate the other
    factor: d(a*b)/da is conj(b) under its Wirtinger convention); anything else unchanged."""
    if isinstance(x, Tensor):
        return x.conj() if x._dtype.is_complex else x
    return x.conjugate() if isinstance(x, complex) else x


class Mul(Function):
    _backward_name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) and isinstance(b, Tensor) and b.requires_grad else None,
                              b if isinstance(b, Tensor) and isinstance(a, Tensor) and a.requires_grad else None)
        ctx.a, ctx.b = _meta(a), _meta(b)
        ctx.sa = a if not isinstance(a, Tensor) else None
        ctx.sb = b if not isinstance(b, Tensor) else None
        return _call("mul", a, b, True)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _grad_meta(ctx.a, g * _cj(b if b is not None else ctx.sb))
        if ctx.needs_input_grad[1]:
            gb = _grad_meta(ctx.b, g * _cj(a if a is not None else ctx.sa))
        return ga, gb


def _float_operand(x: Any) -> Any:
    if isinstance(x, Tensor) and not x._dtype.is_floating_point:
        return x.to(_dt.get_default_dtype())
    if isinstance(x, (bool, int)) and not isinstance(x, float):
        return float(x)
    return x


class Div(Function):
    _backward_name = "DivBackward0"

    @staticmethod
    def forward(ctx, a, b):
        if not (isinstance(a, Tensor) and a._dtype.is_differentiable) and not (
                isinstance(b, Tensor) and b._dtype.is_differentiable) and not isinstance(a, complex) and not isinstance(
                b, complex):
            a, b = _float_operand(a), _float_operand(b)
        ctx.a, ctx.b = _meta(a), _meta(b)
        ctx.sb = b if not isinstance(b, Tensor) else None
        out = _call("div", a, b, True)
        ctx.save_for_backward(b if isinstance(b, Tensor) else None,
                              out if isinstance(b, Tensor) and b.requires_grad else None)
        return out

    @staticmethod
    def backward(ctx, g):
        b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _grad_meta(ctx.a, g / _cj(b if b is not None else ctx.sb))
        if ctx.needs_input_grad[1]:
            gb = _grad_meta(ctx.b, -g * _cj(out / b))
        return ga, gb


def _int_pow_tensor_exponent(a: Any, b: Tensor) -> Tensor:
    """Integer ``a ** b`` with negative exponents allowed, as PyTorch computes it: 1 ** -k is 1,
    (-1) ** -k is +-1 by parity, anything else (0 included) truncates to 0. Backends get
    non-negative exponents only (the kernel contract)."""
    rt = _dt.result_type(a, b)
    if b._dtype is not rt:  # the exponent in the result dtype first: uint8 ** tensor(-1) is ** 255
        b = b.to(rt)
    out = _call("pow", a, _call("maximum", b, 0))
    if not isinstance(a, Tensor):  # a Python base wraps into the dtype ((-3) ** uint8 is 253 ** uint8)
        a = b._new(b._kt["full"]((), _operand_scalar(a, out._dtype), out._dtype, b._device.index), out._dtype)
    odd = ne(_call("remainder", b, 2), 0)
    minus_one = eq(a, -1)
    # 1 ** -k and (-1) ** (even -k) are 1, (-1) ** (odd -k) is -1, the rest truncate to 0
    small = where(eq(a, 1) | (minus_one & ~odd), 1, where(minus_one & odd, -1, 0)).to(out._dtype)
    return where(b < 0, small, out)


_CHECKED_EXPONENT = frozenset((_dt.float16, _dt.bfloat16, _dt.uint8, _dt.int8, _dt.int16, _dt.int32, _dt.int64))


class Pow(Function):
    _backward_name = "PowBackward0"

    @staticmethod
    def forward(ctx, a, b):
        # a NumPy scalar is the Python number it holds (np.int64(300) is checked as 300 is)
        if isinstance(a, np.generic):
            a = _from_numpy_operand(a)
        if isinstance(b, np.generic):
            b = _from_numpy_operand(b)
        ctx.a, ctx.b = _meta(a), _meta(b)
        ctx.sa = a if not isinstance(a, Tensor) else None
        ctx.sb = b if not isinstance(b, Tensor) else None
        if (isinstance(a, Tensor) and not isinstance(b, (Tensor, float, complex)) and not a._dtype.is_floating_point
                and not a._dtype.is_complex and b < 0):  # (``int_tensor ** -1.0`` is a float tensor)
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if (isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool)
                and a._dtype in _CHECKED_EXPONENT and _scalar_promote(a, b) is a._dtype):
            # PyTorch converts such an exponent to the tensor's dtype, checked: int8 ** 300 and
            # float16 ** 1e10 raise its overflow error (float32/float64 keep a double exponent)
            from ember._scalar_convert import checked_scalar

            checked_scalar(b, a._dtype)
        rt = _dt.result_type(a, b) if isinstance(b, Tensor) else None
        if rt is _dt.bool_:  # PyTorch's pow kernel has no bool instance (a bool Python exponent is fine)
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")
        # only an integer result takes the integer-power path; complex takes the pow kernel like float
        if rt is not None and not (rt.is_floating_point or rt.is_complex) and b._dtype is not _dt.bool_:
            out = _int_pow_tensor_exponent(a, b)
        elif isinstance(b, float) and (b == 0.5 or b == -0.5) and isinstance(a, Tensor):
            out = _pow_half(a, b)
        elif (isinstance(b, (int, float)) and not isinstance(b, bool) and b in (2, 3, -1, -2)
              and isinstance(a, Tensor) and _scalar_promote(a, b) in _POW_BY_PRODUCTS):
            out = _pow_by_products(a, b)
        else:
            out = _call("pow", a, b)
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None,
                              out if isinstance(b, Tensor) and b.requires_grad else None)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        # a 0-d CPU tensor may meet a device tensor (PyTorch treats it as a number): the formulas below
        # run on the gradient's device, and _grad_meta hands each input its own back
        a_here = a if a is None or a._device is g._device else a.to(g.device)
        b_here = b if b is None or b._device is g._device else b.to(g.device)
        if ctx.needs_input_grad[0]:
            ga = _grad_meta(ctx.a, _pow_grad_base(g, a_here, b_here if b_here is not None else ctx.sb))
        if ctx.needs_input_grad[1]:
            gb = _grad_meta(ctx.b, _pow_grad_exponent(g, a_here if a_here is not None else ctx.sa, b_here, out))
        return ga, gb


def _pow_half(a: Tensor, e: float) -> Tensor:
    """``a ** 0.5`` and ``a ** -0.5`` as sqrt and rsqrt, as PyTorch computes them: the sign of a zero
    base survives (``(-0.0) ** -0.5`` is -inf, where C's pow gives +inf) on every backend."""
    dt = _scalar_promote(a, e)
    x = a if a._dtype is dt else a.to(dt)
    return x._new(x._kt["sqrt" if e > 0 else "rsqrt"](x._data), dt)


_POW_BY_PRODUCTS = frozenset((_dt.float32, _dt.float64, _dt.bfloat16))


def _pow_by_products(a: Tensor, e: Any) -> Tensor:
    """``a ** 2``, ``a ** 3``, ``a ** -1`` and ``a ** -2`` as PyTorch's CPU pow kernel computes them for
    these dtypes, ``a * a``, ``a * a * a``, ``1 / a`` and ``1 / (a * a)`` rounded per operation: bit-exact
    on every backend, where a C or OpenCL pow rounds differently (float16 and complex take the pow
    kernel, as PyTorch's differs there)."""
    dt = _scalar_promote(a, e)
    x = a if a._dtype is dt else a.to(dt)
    kt, xd = x._kt, x._data
    if e == -1:
        return _call("div", _cast_scalar(1, dt), x)
    sq = kt["mul"](xd, xd)
    if e == 2:
        return x._new(sq, dt)
    if e == 3:
        return x._new(kt["mul"](sq, xd), dt)
    return _call("div", _cast_scalar(1, dt), x._new(sq, dt))


def _pow_grad_base(g: Tensor, a: Tensor, e: Any) -> Tensor:
    """PyTorch's pow_backward_self: ``g * (e * a**(e-1))``, and exactly 0 where the exponent is 0
    (so ``0 ** 0`` has gradient 0, not ``0 * 0**-1 = nan``)."""
    if not isinstance(e, Tensor):
        if e == 0:
            from ember.functions.creation import zeros_like

            return zeros_like(a, dtype=g._dtype)
        return g * _cj(e * (a ** (e - 1)))
    return where(e == 0, 0.0, g * _cj(e * a ** (e - 1)))


def _pow_grad_exponent(g: Tensor, base: Any, e: Tensor, out: Tensor) -> Tensor:
    """PyTorch's pow_backward_exponent: ``g * out * log(base)``, with 0 where base == 0 and e >= 0
    (``0 ** e`` is flat there; ``0 * log(0)`` would be nan); base 0 with e < 0 stays -inf."""
    if isinstance(base, Tensor):
        return g * _cj(where((base == 0) & (e >= 0), 0.0, out * log(base.to(out._dtype))))
    log_base = math.log(base) if base > 0 else (-math.inf if base == 0 else math.nan)
    if base == 0:
        return g * where(e >= 0, 0.0, out * log_base)
    return g * (out * log_base)


class _MaxMin(Function):
    _kernel = "maximum"

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return _call(cls._kernel, a, b)

    @classmethod
    def backward(cls, ctx, g):
        # PyTorch's rule: a tie splits the gradient in halves, the side that lost gets 0, and
        # otherwise the gradient passes whole, so with a NaN on either side (every comparison
        # false) both get all of it. Selected with where, not multiplied, so that a 0 stays 0
        # under an inf or NaN gradient.
        a, b = ctx.saved_tensors
        base = where(a == b, g / 2, g)
        a_lost, b_lost = (a < b, a > b) if cls._kernel == "maximum" else (a > b, a < b)
        return _grad_for(a, where(a_lost, 0.0, base)), _grad_for(b, where(b_lost, 0.0, base))


class Maximum(_MaxMin):
    _backward_name = "MaximumBackward0"
    _kernel = "maximum"


class Minimum(_MaxMin):
    _backward_name = "MinimumBackward0"
    _kernel = "minimum"


class Atan2(Function):
    _backward_name = "Atan2Backward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _call("atan2", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        denom = a * a + b * b
        at_origin = denom == 0  # PyTorch's gradient is 0 at (+-0, +-0), not 0/0
        return (_grad_for(a, where(at_origin, 0.0, g * b / denom)),
                _grad_for(b, where(at_origin, 0.0, -g * a / denom)))


class Remainder(Function):
    _backward_name = "RemainderBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = _meta(a), _meta(b)
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        r = _call_division("remainder", "remainder", a, b)
        return _zero_with_sign_of(a, r) if r._dtype.is_floating_point else r

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:
            if a is None:  # ``number % tensor``: PyTorch has no derivative for remainder(Scalar, Tensor)
                raise RuntimeError("derivative for aten::remainder is not implemented")
            gb = _grad_meta(ctx.b, -g * floor_divide(a, b))
        return _grad_meta(ctx.a, g), gb


_I64_END = 1 << 63


def _plain_pair(a: Any, b: Any) -> bool:
    """The eager fast path of the arithmetic operators (issue #16): two tensors of one dtype on one
    device, or a float32/float64 tensor and a Python int or float (the result keeps the tensor's
    dtype), that autograd need not see (grad mode off, or neither requires grad and neither is a
    view), need no node, promotion or device check: the kernel is called directly. Anything else
    takes the general path, which also raises every error."""
    if type(a) is not Tensor:
        return False
    if type(b) is Tensor:
        if a._dtype is not b._dtype or a._device is not b._device:
            return False
        return not STATE.enabled or (not a._requires_grad and not b._requires_grad and a._base is None
                                     and b._base is None)
    # (an int past int64 takes the general path: PyTorch reads it as a uint64, or raises OverflowError)
    if (b.__class__ is float or (b.__class__ is int and -_I64_END <= b < _I64_END)) and (
            a._dtype is _dt.float32 or a._dtype is _dt.float64):
        return not STATE.enabled or (not a._requires_grad and a._base is None)
    return False


def _data(b: Any) -> Any:
    return b._data if type(b) is Tensor else b


def _sparse_operand(a: Any, b: Any) -> bool:
    """Off the fast path only: is either operand an ``ember.sparse`` tensor (``is_sparse`` is a plain
    class attribute; a Python number has none)."""
    return getattr(a, "is_sparse", False) or getattr(b, "is_sparse", False)


def _sparse_ops() -> Any:
    from ember.sparse import _coo

    return _coo


_WARNED_OVERLOADS: set = set()


def _alpha_first(name: str, other: Any, extra: tuple) -> tuple:
    """PyTorch's deprecated ``add(input, alpha, other)`` / ``sub(input, alpha, other)`` overload (a
    Number, then a tensor), still accepted with a one-time warning: returns ``(other, alpha)``."""
    from ember.tensor import Tensor as _T

    if len(extra) != 1 or isinstance(other, _T) or not isinstance(other, (int, float, complex)) \
            or not isinstance(extra[0], (_T, int, float, complex)):
        raise TypeError(f"{name}() takes 2 positional arguments but {2 + len(extra)} were given")
    if name not in _WARNED_OVERLOADS:
        _WARNED_OVERLOADS.add(name)
        warnings.warn(f"This overload of {name} is deprecated:\n\t{name}(Number alpha, Tensor other)\nConsider using "
                      f"one of the following signatures instead:\n\t{name}(Tensor other, *, Number alpha = 1)",
                      UserWarning, stacklevel=3)
    return extra[0], other


def add(input: Any, other: Any, *deprecated: Any, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    if deprecated:
        other, alpha = _alpha_first("add", other, deprecated)
    if out is None and alpha.__class__ is int and alpha == 1 and _plain_pair(input, other):
        try:
            return input._new(input._kt["add"](input._data, _data(other)), input._dtype)
        except ValueError:  # shapes that do not broadcast: the general path raises PyTorch's error
            pass
    if _sparse_operand(input, other):
        return _out(_sparse_ops().add(input, other, alpha), out)
    return _out(Add.apply(input, other, alpha), out)


def sub(input: Any, other: Any, *deprecated: Any, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    if deprecated:
        other, alpha = _alpha_first("sub", other, deprecated)
    if (out is None and alpha.__class__ is int and alpha == 1 and _plain_pair(input, other)
            and input._dtype is not _dt.bool_):  # (PyTorch refuses bool subtraction: the general path says so)
        try:
            return input._new(input._kt["sub"](input._data, _data(other)), input._dtype)
        except ValueError:
            pass
    if _sparse_operand(input, other):
        return _out(_sparse_ops().sub(input, other, alpha), out)
    return _out(Sub.apply(input, other, alpha), out)


subtract = sub


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    if out is None and _plain_pair(input, other):
        try:
            return input._new(input._kt["mul"](input._data, _data(other)), input._dtype)
        except ValueError:
            pass
    if _sparse_operand(input, other):
        return _out(_sparse_ops().mul(input, other), out)
    return _out(Mul.apply(input, other), out)


multiply = mul


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    if rounding_mode is None and out is None and _plain_pair(input, other) and input._dtype.is_floating_point:
        try:  # (true division of integers promotes: the general path does that)
            return input._new(input._kt["div"](input._data, _data(other)), input._dtype)
        except ValueError:
            pass
    if _sparse_operand(input, other):
        return _out(_sparse_ops().div(input, other, rounding_mode), out)
    if rounding_mode is None:
        res = Div.apply(input, other)
    elif rounding_mode in ("floor", "trunc"):
        res = RoundedDiv.apply(input, other, rounding_mode)
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
    return _out(res, out)


true_divide = divide = div


def _rsub(self: Tensor, other: Any) -> Tensor:
    """``other - self`` (``Tensor.__rsub__``): PyTorch records it as ``RsubBackward1``."""
    try:
        out = sub(other, self)
    except TypeError:  # (PyTorch wraps it: Python then names the operand types)
        return NotImplemented
    return name_grad_fn(out, "RsubBackward1", self)


def _rdiv(self: Tensor, other: Any) -> Tensor:
    """``other / self`` as PyTorch's ``Tensor.__rdiv__`` computes it: ``self.reciprocal() * other``
    (its rounding: 26% of float32 quotients differ by an ulp from a direct division; and its graph,
    ``MulBackward0`` over ``ReciprocalBackward0``)."""
    try:
        return mul(reciprocal(self), other)
    except TypeError:  # (PyTorch wraps it: Python then names the operand types)
        return NotImplemented


def _zeros_for(meta, g: Tensor) -> Tensor | None:
    if meta is None:
        return None
    from ember.functions.creation import zeros

    return zeros(meta[0], dtype=meta[1], device=g.device)


class RoundedDiv(Function):
    """``div(rounding_mode="floor" | "trunc")``: piecewise constant, so both gradients are exactly
    zero (PyTorch's DivBackward2), where a composite through ``a / b`` would give NaN at b == 0."""

    _backward_name = "DivBackward2"

    @staticmethod
    def forward(ctx, a, b, mode):
        ctx.a, ctx.b = _meta(a), _meta(b)
        if mode == "floor":
            return _call_division("div_floor", "floor_divide", a, b, True)
        return _trunc_divide("div_trunc", a, b)

    @staticmethod
    def backward(ctx, g):
        return _zeros_for(ctx.a, g), _zeros_for(ctx.b, g), None


class FloorDivide(Function):
    """``//`` and ``floor_divide``: recorded, but PyTorch defines no derivative for it."""

    _backward_name = "NotImplemented"

    @staticmethod
    def forward(ctx, a, b):
        return _call_division("div_floor", "floor_divide", a, b, True)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("the derivative for 'floor_divide' is not implemented.")


def floor_divide(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    _no_complex_kernel("div_floor", input, other)
    return _out(FloorDivide.apply(input, other), out)


def _trunc_divide(op: str, a: Any, b: Any) -> Tensor:
    """``a / b`` rounded toward zero. Integers stay integers (exact, with the zero-divisor check):
    going through a float quotient would round int64 values above 2**24."""
    dt = _dt.result_type(a, b)
    if dt in _LOWP and isinstance(a, Tensor) and (
            not isinstance(b, Tensor) or (b._data.ndim == 0 and b._device.type == "cpu")):
        # PyTorch's kernel with a scalar divisor: trunc(a / b) in float32 with the divisor's own value,
        # rounded once (two tensors: the quotient is rounded to the 16-bit dtype, then truncated)
        wide = a.to(_dt.float32), (b.item() if isinstance(b, Tensor) else b)
        return trunc(Div.apply(*wide)).to(dt)
    if dt.is_floating_point:
        return trunc(Div.apply(a, b))
    q = _call_division(op, "floor_divide", a, b)
    r = _call("remainder", a, b)
    # floor and trunc differ (by one) where the exact quotient is a negative non-integer
    return where((r != 0) & (q < 0), q + 1, q)


def _zero_with_sign_of(a: Any, r: Tensor) -> Tensor:
    """PyTorch's floating remainder and fmod start from C's fmod, so an exact zero keeps the sign of
    the dividend (``-4.0 % 2 == -0.0``); the remainder kernel's zero has the sign of the divisor."""
    if isinstance(a, Tensor):  # in r's dtype: an integer ``a * 0.0`` would be float32, not r's float16
        zero = (a if a._dtype is r._dtype else a.to(r._dtype)) * 0.0
    else:
        zero = math.copysign(0.0, a)
    return where(r == 0, zero, r)


def remainder(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    _no_complex_kernel("remainder", input, other)
    return _out(Remainder.apply(input, other), out)


class Fmod(Function):
    """C-style remainder (the sign of the dividend), with PyTorch's gradients: ``g`` for the
    dividend, ``-g * trunc(a / b)`` for the divisor."""

    _backward_name = "FmodBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = _meta(a), _meta(b)
        ctx.save_for_backward(a, b if isinstance(b, Tensor) else None)
        if not _dt.result_type(a, b).is_floating_point:
            return _call("sub", a, mul(_trunc_divide("fmod", a, b), b))
        # From the remainder kernel (exact) on |a| and |b|, where floored and C remainders agree, then
        # a's sign: no rounded quotient, and no ``r - b`` step (that rounds to -0.0 in fmod(-1., 1e8)).
        dt = _dt.result_type(a, b)
        r = _call("remainder", abs(a if a._dtype is dt else a.to(dt)),
                  abs(b) if isinstance(b, Tensor) else builtins.abs(b))
        r = _zero_with_sign_of(a, where(a < 0, -r, r))
        # fmod(a, +-inf) is a for finite a (C's fmod); the floored remainder gives inf - inf there
        if not _may_be_inf(b):
            return r
        inf_b = isinf(b) if isinstance(b, Tensor) else True
        return where(inf_b & (isfinite(a) if isinstance(a, Tensor) else math.isfinite(a)), a, r)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:
            gb = _grad_meta(ctx.b, -g * div(a, b, rounding_mode="trunc"))
        return _grad_meta(ctx.a, g), gb


def _may_be_inf(b: Any) -> bool:
    return b._dtype.is_floating_point if isinstance(b, Tensor) else isinstance(b, float) and math.isinf(b)


def fmod(input: Tensor, other: Any, *, out: Tensor | None = None) -> Tensor:
    _no_complex_kernel("fmod", input, other)
    """C-style remainder: the result has the sign of the dividend."""
    if not isinstance(input, Tensor):  # PyTorch's schemas take (Tensor, Tensor) and (Tensor, Number)
        raise TypeError(f"fmod(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return _out(Fmod.apply(input, other), out)


class _PowTensorTensor(Pow):
    _backward_name = "PowBackward1"  # PyTorch's node for tensor ** tensor


class _PowScalarTensor(Pow):
    _backward_name = "PowBackward2"  # and for number ** tensor


def pow(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A001
    fn = (Pow if not isinstance(exponent, Tensor) else _PowTensorTensor if isinstance(input, Tensor)
          else _PowScalarTensor)
    return _out(fn.apply(input, exponent), out)


def _tensor_args(name: str, input: Any, other: Any, check_other: bool = True) -> None:
    """PyTorch's (Tensor, Tensor)-only schemas (maximum, minimum, logical_and/or/xor): a Python
    number operand is its argument parser's TypeError."""
    for arg, pos, label in ((input, 1, "input"), (other, 2, "other"))[:2 if check_other else 1]:
        if isinstance(arg, (int, float, complex)):
            raise TypeError(f"{name}(): argument '{label}' (position {pos}) must be Tensor, not {type(arg).__name__}")


def maximum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    _tensor_args("maximum", input, other)
    refuse_complex(input, other, message="maximum not implemented for complex tensors.", error=RuntimeError)
    return _out(Maximum.apply(input, other), out)


def minimum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    _tensor_args("minimum", input, other)
    refuse_complex(input, other, message="minimum not implemented for complex tensors.", error=RuntimeError)
    return _out(Minimum.apply(input, other), out)


def atan2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The angle of ``(other, input)``, in float: integers promote first, to the promoted dtype when a
    0-d float operand is wider (``atan2(int_tensor, float64 0-d)`` is float64), else to the default."""
    for arg, pos, label in ((input, 1, "input"), (other, 2, "other")):
        if not isinstance(arg, Tensor):
            raise TypeError(f"atan2(): argument '{label}' (position {pos}) must be Tensor, not {type(arg).__name__}")
    refuse_complex(input, other, message=f'"atan2_{input._device.type}" not implemented for \'{{dtype}}\'')
    dt = _dt.result_type(input, other)
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    input, other = (x if x._dtype.is_floating_point else x.to(dt) for x in (input, other))
    return _out(Atan2.apply(input, other), out)


arctan2 = atan2


def _out(result: Tensor, out: Tensor | None) -> Tensor:
    if out is None:
        return result
    if (result._requires_grad or out._requires_grad) and STATE.enabled:
        # PyTorch's out= variants are not differentiable: an input or ``out`` that requires grad is refused
        raise RuntimeError(f"{_out_op_name()}functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    _check_out_overlap(out)
    if result._dtype is not out._dtype and result._dtype.category > out._dtype.category:
        # PyTorch refuses to write a result into an ``out`` of a lower kind (float into int, int into bool)
        raise RuntimeError(f"result type {_CAN_CAST_NAMES[result._dtype]} can't be cast to the desired output "
                           f"type {_CAN_CAST_NAMES[out._dtype]}")
    if out._device != result._device:
        raise RuntimeError(f"Expected out tensor to have device {result._device}, but got {out._device} instead")
    return _store_out(result, out)  # resized (with PyTorch's warning) when its shape differs


def _check_out_overlap(out: Tensor) -> None:
    """``ember._ops.out.check_overlap`` for the public op calling ``_out`` (the nearest frame not
    ``_``-prefixed), against that op's arguments as its frame holds them: the op's own checks of
    ``out`` sharing memory with an input, without each op passing its inputs along."""
    import sys

    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name.startswith("_"):
        frame = frame.f_back
    if frame is None or _out_overlap_kind(frame.f_code.co_name) is None:
        return
    code = frame.f_code
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4)]
    local = frame.f_locals
    _out_check_overlap(code.co_name, out, [local[n] for n in names if n in local and n != "out"])


def _out_op_name() -> str:
    """``"add(): "``: the op whose out= PyTorch names in its error, the nearest public function (not
    ``_``-prefixed) calling ``_out``; looked up on the error path only."""
    import sys

    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name.startswith("_"):
        frame = frame.f_back
    return f"{frame.f_code.co_name}(): " if frame is not None else ""


# ---- unary math ------------------------------------------------------------------------------
def _unary_float(name: str, x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if not x._dtype.is_differentiable:
        x = x.to(_dt.get_default_dtype())
    return x._new(x._kt[name](x._data))


class _UnaryFloat(Function):
    """A unary float op; subclasses give the kernel name and d(out)/d(x) in ember ops."""

    _kernel = ""
    _saves = "input"  # or "output"

    @classmethod
    def forward(cls, ctx, x):
        out = _unary_float(cls._kernel, x)
        ctx.save_for_backward(out if cls._saves == "output" else x)
        return out

    @classmethod
    def backward(cls, ctx, g):
        (saved,) = ctx.saved_tensors
        return g * _cj(cls.derivative(saved))  # conj(f'(z)) for complex z, PyTorch's convention


def _unary(cls_name: str, kernel: str, derivative, saves: str = "input") -> type:
    return type(cls_name, (_UnaryFloat,), {"_kernel": kernel, "_saves": saves, "_backward_name": cls_name + "Backward0",
                                           "derivative": staticmethod(derivative)})


Exp = _unary("Exp", "exp", lambda y: y, "output")
Log = _unary("Log", "log", lambda x: 1 / x)
Log1p = _unary("Log1P", "log1p", lambda x: 1 / (x + 1))
Expm1 = _unary("Expm1", "expm1", lambda y: y + 1, "output")
Sqrt = _unary("Sqrt", "sqrt", lambda y: 0.5 / y, "output")
Rsqrt = _unary("Rsqrt", "rsqrt", lambda y: -0.5 * y * y * y, "output")
Sin = _unary("Sin", "sin", lambda x: cos(x))
Cos = _unary("Cos", "cos", lambda x: -sin(x))
Tanh = _unary("Tanh", "tanh", lambda y: 1 - y * y, "output")
Sigmoid = _unary("Sigmoid", "sigmoid", lambda y: y * (1 - y), "output")
Erf = _unary("Erf", "erf", lambda x: (2 / math.sqrt(math.pi)) * exp(-x * x))


class Neg(Function):
    _backward_name = "NegBackward0"

    @staticmethod
    def forward(ctx, x):
        if x._dtype is _dt.bool_:  # checked here so every backend gives PyTorch's error
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                               "invert a mask, use the `~` or `logical_not()` operator instead.")
        return x._new(x._kt["neg"](x._data))

    @staticmethod
    def backward(ctx, g):
        return -g


class Abs(Function):
    _backward_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, x):
        if x._dtype is _dt.bool_:  # PyTorch has no bool abs (the kernels would pass it through)
            raise NotImplementedError(f'"abs_{x._device.type}" not implemented for \'Bool\'')
        ctx.save_for_backward(x)
        return x._new(x._kt["abs"](x._data))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sign(x)


class _ZeroLink(Function):
    """``g`` unchanged, depending on ``x`` with a zero derivative."""

    @staticmethod
    def forward(ctx, g, x):
        ctx.like = (tuple(x.shape), x._dtype, x._device)
        return g._new(g._data)

    @staticmethod
    def backward(ctx, gg):
        shape, dtype, device = ctx.like
        from ember.functions.creation import zeros

        return gg, zeros(*shape, dtype=dtype, device=device)


def _zero_link(g: Tensor, x: Tensor) -> Tensor:
    """PyTorch writes an activation's backward as a function of the input (``threshold_backward(grad,
    self)``...), differentiable w.r.t. it: under ``create_graph`` the gradient requires grad even where
    it is piecewise constant in ``x`` (relu's, hardtanh's), and differentiating it again gives zeros,
    not "does not require grad"."""
    if STATE.enabled and x.requires_grad:
        return _ZeroLink.apply(g, x)
    return g


class Relu(Function):
    _backward_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, x):
        if x._dtype is _dt.bool_:  # (the kernels would pass it through)
            raise RuntimeError("Boolean inputs not supported for relu")
        out = x._new(x._kt["relu"](x._data))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        kt = y._kt
        if not STATE.enabled and kt.has("relu_backward") and g._dtype is y._dtype and g._data.shape == y._data.shape:
            return g._new(kt["relu_backward"](g._data, y._data))  # one kernel instead of two
        gx = where(y <= 0, 0.0, g)  # PyTorch's threshold_backward: NaN outputs pass the gradient
        return _zero_link(gx, y)  # create_graph: differentiable w.r.t. the output too, with a zero derivative


class _ZeroGrad(Function):
    """Piecewise-constant ops (floor, sign...): the gradient is zero almost everywhere."""

    _kernel = ""

    @classmethod
    def forward(cls, ctx, x):
        return x._new(x._kt[cls._kernel](x._data))

    @staticmethod
    def backward(ctx, g):
        # zeros, not g * 0: an inf or NaN upstream gradient must not become NaN (PyTorch's zeros_like)
        from ember.functions.creation import zeros_like

        return zeros_like(g)


def _zero_grad(name: str) -> type:
    return type(name.capitalize(), (_ZeroGrad,), {"_kernel": name, "_backward_name": name.capitalize() + "Backward0"})


Sign, Floor, Ceil, Round, Trunc = (_zero_grad(n) for n in ("sign", "floor", "ceil", "round", "trunc"))


def neg(x: Tensor) -> Tensor:
    if _plain(x) and x._dtype is not _dt.bool_:
        return x._new(x._kt["neg"](x._data))
    return Neg.apply(x)


negative = neg


def abs(x: Tensor) -> Tensor:  # noqa: A001
    if x._dtype.is_complex:  # |z| is real (complex_ops)
        from ember.functions import complex_ops

        return complex_ops.abs(x)
    if _plain(x) and x._dtype is not _dt.bool_:
        return x._new(x._kt["abs"](x._data))
    return Abs.apply(x)


absolute = abs


def sign(x: Tensor) -> Tensor:
    refuse_complex(x, message="Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
                   "torch.sgn instead.")
    if type(x) is Tensor and x._dtype is _dt.bool_:  # the identity: the sign kernel never sees bool
        return x._new(x._kt["clone"](x._data))
    return Sign.apply(x)


def _plain(x: Any) -> bool:
    """A tensor autograd need not see here: a unary op on it needs no node (see _plain_pair)."""
    return type(x) is Tensor and (not STATE.enabled or (not x._requires_grad and x._base is None))


_REAL_NOT_BOOL = frozenset(d for d in _dt.ALL_DTYPES if d is not _dt.bool_)  # relu's fast path: no check to run


def _plain_float(x: Any) -> bool:
    return _plain(x) and x._dtype.is_differentiable


def exp(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["exp"](x._data))
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["log"](x._data))
    return Log.apply(x)


def _complex_parts(z: Tensor) -> tuple:
    from ember.functions.complex_ops import imag, real

    return real(z), imag(z)


def _from_parts(re: Tensor, im: Tensor) -> Tensor:
    from ember.functions.complex_ops import complex as make_complex

    return make_complex(re, im)


def _complex_log_base(z: Tensor, base: float) -> Tensor:
    """log(z) / ln(base), each part divided by the real constant as PyTorch's CPU kernel does (a
    complex constant would turn ``inf * 0`` into NaN: log2(0) is -inf + 0j, not -inf + nan j)."""
    re, im = _complex_parts(log(z))
    c = math.log(base)
    return name_grad_fn(_from_parts(re / c, im / c), f"Log{int(base)}Backward0", z)


def log2(x: Tensor) -> Tensor:
    if isinstance(x, Tensor) and x._dtype.is_complex:
        return _complex_log_base(x, 2.0)
    return name_grad_fn(log(x) * (1 / math.log(2)), "Log2Backward0", x)


def log10(x: Tensor) -> Tensor:
    if isinstance(x, Tensor) and x._dtype.is_complex:
        return _complex_log_base(x, 10.0)
    return name_grad_fn(log(x) * (1 / math.log(10)), "Log10Backward0", x)


def log1p(x: Tensor) -> Tensor:
    if isinstance(x, Tensor) and x._dtype.is_complex:
        return ComplexLog1p.apply(x)
    if _plain_float(x):
        return x._new(x._kt["log1p"](x._data))
    return Log1p.apply(x)


class ComplexLog1p(Function):
    """PyTorch's CPU complex log1p: ``u = 1 + z``; ``z`` itself where ``u`` rounds to 1, ``log(u)``
    where ``u - 1`` gives back ``z`` exactly, else ``log(u) * (z / (u - 1))``, which cancels the
    rounding of ``1 + z`` (complex ops, C99's log: its special values, NaN included). The gradient
    is PyTorch's, ``g / conj(1 + z)``."""

    _backward_name = "Log1PBackward0"

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        re, im = _complex_parts(z)
        u = _from_parts(re + 1, im)
        um1 = _from_parts(_complex_parts(u)[0] - 1, im)
        exact = (um1 == z)
        out = log(u)
        out = _complex_select(exact, out, out * (z / um1))
        return _complex_select(u == 1, z, out)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        re, im = _complex_parts(z)
        return g / _from_parts(re + 1, -im)


def _complex_select(cond: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``where`` on complex tensors, part by part (real kernels only)."""
    (ra, ia), (rb, ib) = _complex_parts(a), _complex_parts(b)
    return _from_parts(where(cond, ra, rb), where(cond, ia, ib))


def expm1(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["expm1"](x._data))
    return Expm1.apply(x)


def sqrt(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["sqrt"](x._data))
    return Sqrt.apply(x)


def rsqrt(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["rsqrt"](x._data))
    return Rsqrt.apply(x)


def sin(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["sin"](x._data))
    return Sin.apply(x)


def cos(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["cos"](x._data))
    return Cos.apply(x)


def tan(x: Tensor) -> Tensor:
    if isinstance(x, Tensor) and x._dtype.is_complex:
        # C99's ctan(z) = -i ctanh(i z), part swaps only (complex products by i would turn 0 * inf
        # into NaN; sin(z) / cos(z) is inf / inf for a large imaginary part)
        re, im = _complex_parts(x)
        t_re, t_im = _complex_parts(tanh(_from_parts(-im, re)))
        return name_grad_fn(_from_parts(t_im, -t_re), "TanBackward0", x)
    return name_grad_fn(sin(x) / cos(x), "TanBackward0", x)


def tanh(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["tanh"](x._data))
    return Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    if _plain_float(x):
        return x._new(x._kt["sigmoid"](x._data))
    return Sigmoid.apply(x)


def relu(x: Tensor) -> Tensor:
    if _plain(x) and x._dtype in _REAL_NOT_BOOL:
        return x._new(x._kt["relu"](x._data))
    refuse_complex(x, message="clamp is not supported for complex types")
    return Relu.apply(x)


def erf(x: Tensor) -> Tensor:
    if isinstance(x, Tensor) and x._dtype.is_complex:
        _no_complex_kernel(_vml("erf", x), x)
    if _plain_float(x):
        return x._new(x._kt["erf"](x._data))
    return Erf.apply(x)


def _vml(name: str, x: Tensor) -> str:
    """The stem of PyTorch's kernel name for a pointwise op its cpu build routes through VML:
    ``floor_vml`` on the cpu (``floor_vml_cpu``), ``floor`` elsewhere (``floor_cuda``)."""
    return f"{name}_vml" if x._device.type == "cpu" else name


def _no_bool_vml(name: str, x: Tensor) -> None:
    """PyTorch's error for a rounding op on a bool tensor (its kernel: floor_vml_cpu, floor_cuda)."""
    if x._dtype is _dt.bool_:
        raise NotImplementedError(f'"{_vml(name, x)}_{x._device.type}" not implemented for \'Bool\'')


def floor(x: Tensor) -> Tensor:
    refuse_complex(x, message="floor is not supported for complex inputs")
    _no_bool_vml("floor", x)
    return x if not x._dtype.is_floating_point else Floor.apply(x)


def ceil(x: Tensor) -> Tensor:
    refuse_complex(x, message="ceil is not supported for complex inputs")
    _no_bool_vml("ceil", x)
    return x if not x._dtype.is_floating_point else Ceil.apply(x)


def _no_complex_kernel(name: str, *xs: Any) -> None:
    """PyTorch's NotImplementedError naming its kernel (``"lt_cpu"``) for an op it has no complex form of."""
    for x in xs:
        if isinstance(x, Tensor) and x._dtype.is_complex:  # the common (real) case costs one check per operand
            refuse_complex(x, message=f'"{name}_{x._device.type}" not implemented for \'{{dtype}}\'')
        if x.__class__ is complex:  # a complex Python number makes the computation complex: lt(x, 1j) raises
            t = next((y for y in xs if isinstance(y, Tensor)), None)
            if t is not None:
                dt = _scalar_promote(t, x)
                raise NotImplementedError(f'"{name}_{t._device.type}" not implemented for \'{type_word(dt)}\'')


def _no_integer(name: str, x: Tensor) -> None:
    """PyTorch's error for an op whose kernel exists for floating dtypes only."""
    raise NotImplementedError(f'"{name}_{x._device.type}" not implemented for \'{_CAN_CAST_NAMES[x._dtype]}\'')


def round(x: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    _no_complex_kernel(_vml("round", x), x)
    if not x._dtype.is_floating_point:
        if not decimals:
            _no_bool_vml("round", x)
        if decimals:
            _no_integer("round", x)
        return x
    if decimals:
        return RoundDecimals.apply(x, decimals)
    return Round.apply(x)


class RoundDecimals(_ZeroGrad):
    """``round(x, decimals=d)`` as PyTorch's kernel: in float32 for 16-bit floats (round(1000.5 half,
    1) is 1000.5: no half product 10005 -> 10008), a negative ``d`` dividing by 10**-d (x * 0.01 is
    not x / 100); a zero gradient (no 0 * inf from a huge scale)."""

    _backward_name = "RoundBackward1"

    @staticmethod
    def forward(ctx, x, decimals):
        y = x.to(_dt.float32) if x._dtype in (_dt.float16, _dt.bfloat16) else x
        scale = 10.0 ** builtins.abs(decimals) if builtins.abs(decimals) <= 308 else math.inf
        r = Round.apply(y * scale) / scale if decimals > 0 else Round.apply(y / scale) * scale
        return r if r._dtype is x._dtype else r.to(x._dtype)

    @staticmethod
    def backward(ctx, g):
        return _ZeroGrad.backward(ctx, g), None


def trunc(x: Tensor) -> Tensor:
    refuse_complex(x, message="trunc is not supported for complex inputs")
    _no_bool_vml("trunc", x)
    return x if not x._dtype.is_floating_point else Trunc.apply(x)


fix = trunc


@grad_fn_name("FracBackward0")
def frac(x: Tensor) -> Tensor:
    if not x._dtype.is_floating_point:
        _no_integer("frac", x)
    return x - trunc(x)


@grad_fn_name("ReciprocalBackward0")
def reciprocal(x: Tensor) -> Tensor:
    if _plain_float(x) and not x._dtype.is_complex:  # (the eager fast path: ``2 / x`` runs through here)
        return x._new(x._kt["div"](1.0, x._data))
    return div(1.0, x)


@grad_fn_name("PowBackward0")
def square(x: Tensor) -> Tensor:
    if x._dtype is _dt.bool_:  # PyTorch's square is pow(x, 2): a bool base promotes to int64
        x = x.to(_dt.int64)
    if x._dtype.is_complex:  # PyTorch's complex pow(z, 2) is C's pow, not the complex product z * z
        return pow(x, 2)
    return mul(x, x)


# ---- comparisons and logic (not differentiable) ----------------------------------------------
def eq(input: Any, other: Any) -> Tensor:
    return _call_bool("eq", input, other)


def ne(input: Any, other: Any) -> Tensor:
    return _call_bool("ne", input, other)


def _comparison_operator(name: str) -> Any:
    """``==``/``!=``: a value that is no operand (None, a string) gives NotImplemented, so Python
    compares identities (``t == None`` is False), as PyTorch's operators do."""

    def operator(self: Tensor, other: Any) -> Any:
        try:
            return _call_bool(name, self, other)
        except TypeError:
            return NotImplemented

    operator.__name__ = operator.__qualname__ = f"__{name}__"
    return operator


def lt(input: Any, other: Any) -> Tensor:
    _no_complex_kernel("lt", input, other)
    return _call_bool("lt", input, other)


def le(input: Any, other: Any) -> Tensor:
    _no_complex_kernel("le", input, other)
    return _call_bool("le", input, other)


def gt(input: Any, other: Any) -> Tensor:
    _no_complex_kernel("gt", input, other)
    return _call_bool("gt", input, other)


def ge(input: Any, other: Any) -> Tensor:
    _no_complex_kernel("ge", input, other)
    return _call_bool("ge", input, other)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_and(input: Any, other: Any) -> Tensor:
    _tensor_args("logical_and", input, other)
    return _call_bool("logical_and", input, other)


def logical_or(input: Any, other: Any) -> Tensor:
    _tensor_args("logical_or", input, other)
    return _call_bool("logical_or", input, other)


def logical_xor(input: Any, other: Any) -> Tensor:
    _tensor_args("logical_xor", input, other)
    return _call_bool("logical_xor", input, other)


def logical_not(x: Tensor) -> Tensor:
    return x._new(x._kt["logical_not"](x._data), _dt.bool_)


def _no_float_kernel(name: str, proto: Tensor, dt: _dt.dtype) -> NotImplementedError:
    """PyTorch's error for an integer-only op given a floating dtype (named after its kernel)."""
    return NotImplementedError(f'"{name}_{proto._device.type}" not implemented for '
                               f'\'{_CAN_CAST_NAMES.get(dt, dt)}\'')


def _bitwise(name: str, a: Any, b: Any) -> Tensor:
    dt = _dt.result_type(a, b)
    if dt.is_floating_point:
        raise _no_float_kernel(name, a if isinstance(a, Tensor) else b, dt)
    return _call(name, a, b)


def bitwise_and(a: Any, b: Any, *, out: Tensor | None = None) -> Tensor:
    return _out(_bitwise("bitwise_and", a, b), out)


def bitwise_or(a: Any, b: Any, *, out: Tensor | None = None) -> Tensor:
    return _out(_bitwise("bitwise_or", a, b), out)


def bitwise_xor(a: Any, b: Any, *, out: Tensor | None = None) -> Tensor:
    return _out(_bitwise("bitwise_xor", a, b), out)


def bitwise_not(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    if x._dtype is _dt.bool_:
        return _out(logical_not(x), out)
    if x._dtype.is_floating_point or x._dtype.is_complex:
        raise _no_float_kernel("bitwise_not", x, x._dtype)
    return _out(-x - 1, out)


def _invert(x: Tensor) -> Tensor:
    """``~x``: PyTorch refuses floating tensors with a TypeError (the function form raises
    NotImplementedError)."""
    if x._dtype.is_floating_point or x._dtype.is_complex:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(x)


def isnan(x: Tensor) -> Tensor:
    if not x._dtype.is_differentiable:
        return x._new(x._kt["full"](x._data.shape, False, _dt.bool_, x._device.index), _dt.bool_)
    return x._new(x._kt["isnan"](x._data), _dt.bool_)


def isinf(x: Tensor) -> Tensor:
    if not x._dtype.is_differentiable:
        return isnan(x)
    return abs(x) == math.inf


def isfinite(x: Tensor) -> Tensor:
    if not x._dtype.is_differentiable:
        return logical_not(isnan(x))
    return logical_not(isnan(x)) & (abs(x) != math.inf)


def _nan_to_num_arg(name: str, v: Any, dt: _dt.dtype) -> float | None:
    """A replacement value of ``nan_to_num`` as PyTorch takes it: a ``float`` argument (a complex
    number is a TypeError), cast to ``dt`` unchecked (float32 with 1e39 gives inf, not an error)."""
    if v is None:
        return None
    if isinstance(v, (complex, np.complexfloating, str)) or not hasattr(v, "__float__"):
        raise TypeError(f"nan_to_num(): argument '{name}' must be float, not {type(v).__name__}")
    v = float(v)
    if dt is _dt.float64:
        return v
    if dt in _LOWP:
        return _dt.round_scalar(v, dt)
    return v if builtins.abs(v) <= _F32_MAX or v != v else math.copysign(math.inf, v)


_F32_MAX = 3.4028234663852886e38


@grad_fn_name("NanToNumBackward0")
def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """``x`` with NaN replaced by ``nan``, infinities by ``posinf``/``neginf`` (default: the dtype's
    largest finite values); a complex tensor has each part replaced, as PyTorch's.

    Example:
        >>> import ember
        >>> ember.tensor([float("nan"), float("inf"), 1.0]).nan_to_num(posinf=1e39)
        tensor([0., inf, 1.])
    """
    if x._dtype.is_complex:
        from ember.functions.complex_ops import complex as _complex

        return _complex(nan_to_num(x.real, nan, posinf, neginf), nan_to_num(x.imag, nan, posinf, neginf))
    nan, posinf, neginf = (_nan_to_num_arg(n, v, x._dtype) for n, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)))
    if not x._dtype.is_floating_point:  # no NaN or infinity to replace; PyTorch returns a copy
        return x.clone()
    from ember.typeinfo import finfo

    big = finfo(x._dtype).max  # the dtype's own largest value (bfloat16's is 3.39e38, not float32's)
    # the masks come from x itself: a replacement that is infinite (nan=1e39 in float32) stays
    out = where(x == math.inf, big if posinf is None else posinf, x)
    out = where(x == -math.inf, -big if neginf is None else neginf, out)
    return where(isnan(x), nan, out)


def equal(a: Tensor, b: Tensor) -> bool:
    """True when both have the same shape and elements."""
    return tuple(a.shape) == tuple(b.shape) and bool(eq(a, b).all())


def isclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """PyTorch's closeness: equal elements (infinities of the same sign included) are close, and so are
    finite differences within ``atol + rtol * |b|``; NaN is close to NaN only with ``equal_nan``."""
    _check_isclose_args(a, b, rtol, atol)
    close = eq(a, b)
    if equal_nan and a._dtype.is_differentiable:  # complex: NaN in either part
        close = close | (isnan(a) & isnan(b))
    if rtol == 0 and atol == 0:
        return close
    # complex compares by complex magnitudes |a - b| and |b|, not by real parts
    if not a._dtype.is_differentiable:
        # Integers and bools are compared in the default float dtype, as PyTorch does: no wrap-around
        # in ``a - b``.
        a, b = a.to(_dt.get_default_dtype()), b.to(_dt.get_default_dtype())
    # ``inf - inf`` is NaN and ``inf <= inf`` would be true: only a finite error can be "within tolerance".
    actual = abs(a - b)
    return close | (isfinite(actual) & (actual <= atol + abs(rtol * b)))


def _check_isclose_args(a: Tensor, b: Any, rtol: float, atol: float) -> None:
    if not isinstance(b, Tensor):
        raise TypeError(f"isclose(): argument 'other' (position 2) must be Tensor, not {type(b).__name__}")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"{_CAN_CAST_NAMES.get(a._dtype, a._dtype)} did not match "
                           f"{_CAN_CAST_NAMES.get(b._dtype, b._dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")


def allclose(a: Tensor, b: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return bool(isclose(a, b, rtol, atol, equal_nan).all())


# ---- where / clamp / lerp -------------------------------------------------------------------
class Where(Function):
    _backward_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, cond, a, b):
        if not isinstance(cond, Tensor):
            raise TypeError("where(): condition must be a Tensor")
        if cond._dtype is not _dt.bool_:
            if cond._dtype is not _dt.uint8:
                raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                                   f"{_CAN_CAST_NAMES[cond._dtype]}")
            import warnings

            warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed "
                          "in a future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=4)
            cond = cond.to(_dt.bool_)
        if isinstance(a, np.generic):  # a NumPy scalar is the Python number it holds
            a = _from_numpy_operand(a)
        if isinstance(b, np.generic):
            b = _from_numpy_operand(b)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            # Two Python numbers: the first becomes a 0-d tensor of their common dtype.
            dt = _dt.result_type(a, b)
            a = cond._new(cond._kt["full"]((), _checked_branch(a, dt), dt, cond._device.index), dt)
        elif not isinstance(a, Tensor) and isinstance(a, _Number):
            a = _checked_branch(a, _dt.result_type(a, b))
        elif not isinstance(b, Tensor) and isinstance(b, _Number):
            b = _checked_branch(b, _dt.result_type(a, b))
        proto, ad, bd, dt = _operands(a, b)
        if cond._device is not proto._device:
            raise _device_error(cond, proto)
        ctx.save_for_backward(cond)
        ctx.a, ctx.b = _meta(a), _meta(b)
        try:
            out = proto._kt["where"](cond._data, ad, bd)
        except ValueError:  # a backend's broadcasting message: PyTorch's, naming the sizes
            raise _broadcast_error(*(x._data.shape for x in (cond, a, b) if isinstance(x, Tensor))) from None
        return proto._new(out, dt)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        # an exact 0 for the branch not taken, as PyTorch: ``g * 0`` would be NaN where g is inf or NaN
        ga = _grad_meta(ctx.a, where(cond, g, 0.0)) if ctx.needs_input_grad[1] else None
        gb = _grad_meta(ctx.b, where(cond, 0.0, g)) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def _checked_branch(v: Any, dt: _dt.dtype) -> Any:
    """A Python number branch of ``where`` converted to the result dtype as PyTorch does: checked
    (int8 with 300 raises its overflow error, uint8 takes -1 as 255), except float16/bfloat16,
    which it does not check (1e6 becomes inf)."""
    from ember._scalar_convert import checked_scalar

    return checked_scalar(v, dt, check_float=dt not in _LOWP)


def where(condition: Tensor, input: Any = None, other: Any = None) -> Tensor:
    """``input`` where ``condition`` else ``other``; ``where(cond)`` is ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    return Where.apply(condition, input, other)


def _checked_bound(v: Any, dt: _dt.dtype) -> Any:
    from ember._scalar_convert import checked_scalar

    return checked_scalar(v, dt)


class Clamp(Function):
    _backward_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, lo, hi):
        dt = x._dtype
        if not dt.is_floating_point and (isinstance(lo, float) or isinstance(hi, float)):
            x = x.to(_dt.get_default_dtype())
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        # bounds as PyTorch's checked conversion: uint8 takes -255..255 (clamp(u8, min=-1) clamps to
        # 255), a bound past the dtype's range raises its overflow RuntimeError (float16 with 1e6,
        # float32 with 1e39), an int past uint64 OverflowError
        conv = _cast_scalar if x._dtype is _dt.bool_ else _checked_bound
        lo_c = None if lo is None else conv(lo, x._dtype)
        hi_c = None if hi is None else conv(hi, x._dtype)
        return x._new(x._kt["clamp"](x._data, lo_c, hi_c))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        mask = None
        if ctx.lo is not None:
            mask = x >= ctx.lo
        if ctx.hi is not None:
            m = x <= ctx.hi
            mask = m if mask is None else mask & m
        return where(mask, g, 0), None, None  # not g * mask: an infinite g outside the range gives 0, not NaN


class ClampTensor(Function):
    """``clamp`` with tensor bounds (either may be None): the values of ``minimum(maximum(x, lo), hi)``
    with PyTorch's gradients, which are not maximum's and minimum's: x gets the gradient where
    lo <= x <= hi (all of it on a tie, none where x is NaN), lo where x < lo < hi, hi where x > hi
    or hi < lo."""

    _backward_name = "ClampBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        res = x
        if lo is not None:
            res = maximum(res, lo)
        if hi is not None:
            res = minimum(res, hi)
        return res

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        if lo is not None and hi is not None:
            gx = where((x >= lo) & (x <= hi), g, 0)
            glo = where((x < lo) & (lo < hi), g, 0)
            ghi = where((x > hi) | (hi < lo), g, 0)
        elif lo is not None:
            gx, glo, ghi = where(x >= lo, g, 0), where(x < lo, g, 0), None
        else:
            gx, glo, ghi = where(x <= hi, g, 0), None, where(x > hi, g, 0)
        return (_grad_for(x, gx), None if glo is None else _grad_for(lo, glo),
                None if ghi is None else _grad_for(hi, ghi))


def _bool_clamp_input(input: Tensor, min: Any, max: Any) -> Tensor:
    """A bool ``input`` as PyTorch clamps it: in the promoted dtype (``clamp(b, 0)`` is int64); a bool
    result keeps only the one-sided tensor kernels (``clamp(b, min=b)`` is bool), the others refuse."""
    bounds = [v for v in (min, max) if v is not None]
    dt = _dt.result_type(input, *bounds)
    if dt is not _dt.bool_:
        return input.to(dt)
    if any(not isinstance(v, Tensor) for v in bounds):
        kind = "clamp" if len(bounds) == 2 else "clamp_min" if min is not None else "clamp_max"
        raise NotImplementedError(f'"{kind}_scalar_{input._device.type}" not implemented for \'Bool\'')
    if len(bounds) == 2:
        raise NotImplementedError(f'"clamp_{input._device.type}" not implemented for \'Bool\'')
    return input


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    refuse_complex(input, min, max, message="clamp is not supported for complex types")
    if input._dtype is _dt.bool_:
        input = _bool_clamp_input(input, min, max)
    if all(b is None or isinstance(b, Tensor) for b in (min, max)):
        return _out(ClampTensor.apply(input, min, max), out)
    if isinstance(min, Tensor) or isinstance(max, Tensor):  # a tensor and a number (PyTorch refuses)
        res = input
        if min is not None:
            res = Maximum.apply(res, min)
        if max is not None:
            res = Minimum.apply(res, max)
        return _out(res, out)
    return _out(Clamp.apply(input, min, max), out)


clip = clamp


def _cpp_type(d: _dt.dtype) -> str:
    from ember.tensor import _CPP_TYPE

    return _CPP_TYPE.get(d.name, d.name)


def _scalar_as(value: Any, dt: _dt.dtype) -> Any:
    """A Python scalar ``value`` as PyTorch's fused kernels take it: converted to ``dt`` (their
    opmath dtype: float32 for float16/bfloat16) by its checked conversion (a complex value refused
    by a real ``dt`` unless its imaginary part is 0, a float truncated by an integer one: ``value=0.5``
    is 0, -1 is 255 for uint8; 300 into int8 or 1e39 into float32 raise its overflow error)."""
    if isinstance(value, Tensor):
        return value
    from ember._scalar_convert import checked_scalar

    return checked_scalar(value, dt)


def _lowp_args(args: Any, dt: _dt.dtype) -> Any:
    """``args`` with each ``dt`` tensor (also inside a list or tuple) as float32; None when a
    floating or complex tensor of another dtype is among them (the op's own promotion or dtype
    error then decides, unchanged)."""
    out = []
    for a in args:
        if isinstance(a, Tensor):
            if a._dtype is dt:
                a = a.to(_dt.float32)
            elif a._data.ndim == 0 and a._dtype.is_floating_point and a._dtype.itemsize >= 4:
                # a 0-d float32/float64 operand does not promote a 16-bit tensor: PyTorch casts it
                # to the 16-bit dtype (rounding it) before its float32 computation
                a = a.to(dt).to(_dt.float32)
            elif a._dtype.is_floating_point or a._dtype.is_complex:
                return None
        elif isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            a = _lowp_args(a, dt)
            if a is None:
                return None
        out.append(a)
    return out


def _lowp_result(res: Any, dt: _dt.dtype) -> Any:
    """float32 results back in ``dt``, rounded once; the cast's node keeps the composite's node
    name (``LerpBackward0``, not ``ToCopyBackward0``)."""
    if isinstance(res, Tensor):
        if res._dtype is not _dt.float32:
            return res
        node = res.grad_fn
        out = res.to(dt)
        return name_grad_fn(out, node.name(), res) if node is not None else out
    if isinstance(res, (tuple, list)):
        return type(res)(_lowp_result(r, dt) for r in res) if type(res) in (tuple, list) else \
            type(res)(*(_lowp_result(r, dt) for r in res))
    return res


def in_opmath(fn: Any) -> Any:
    """Decorator for a composite that PyTorch runs as ONE kernel computing float16/bfloat16 in its
    opmath type (float32) and rounding once at the end: with a 16-bit floating first tensor
    argument, the composite runs on float32 copies of the tensors of that dtype and its float32
    results are rounded back once (every step would otherwise round to 16 bits). Autograd goes
    through the casts, so gradients come back in the inputs' dtype. Any other dtype calls ``fn``
    directly (one type check): float32 and float64 paths are unchanged. Mixed floating dtypes call
    ``fn`` directly too, keeping its promotion and dtype errors."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        for a in args:
            if isinstance(a, Tensor):
                dt = a._dtype
                break
        else:
            return fn(*args, **kwargs)
        if dt is not _dt.float16 and dt is not _dt.bfloat16:
            return fn(*args, **kwargs)
        out = kwargs.pop("out", None)  # (filled from the rounded result, not handed a float32 copy)
        new = _lowp_args(args, dt)
        kw_vals = _lowp_args(list(kwargs.values()), dt) if new is not None else None
        if new is None or kw_vals is None:
            return fn(*args, **kwargs) if out is None else fn(*args, out=out, **kwargs)
        res = _lowp_result(fn(*new, **dict(zip(kwargs, kw_vals))), dt)
        return res if out is None else _out(res, out)

    return run


# composites PyTorch runs as one kernel: in float16/bfloat16 they compute in float32 and round once
log2, log10, tan = in_opmath(log2), in_opmath(log10), in_opmath(tan)


@grad_fn_name("LerpBackward0")
@in_opmath
def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    # PyTorch's kernel takes end (and a weight tensor that is not 0-d) in input's dtype only, and
    # floating/complex inputs only; a 0-d weight tensor takes the promoting composite path.
    if isinstance(end, Tensor) and isinstance(input, Tensor):
        weights = [weight] if isinstance(weight, Tensor) and weight.dim() > 0 else []
        for what, t in (("end", end), *(("weight", w) for w in weights)):
            if t._dtype is not input._dtype:
                raise RuntimeError(f"expected dtype {_cpp_type(input._dtype)} for `{what}` but got dtype "
                                   f"{_cpp_type(t._dtype)}")
        if not input._dtype.is_differentiable and not (isinstance(weight, Tensor) and weight.dim() == 0):
            kernel = "lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar"
            raise NotImplementedError(f'"{kernel}" not implemented for \'{type_word(input._dtype)}\'')
        if not isinstance(weight, Tensor):
            weight = _scalar_as(weight, input._dtype)
        if input._dtype is _dt.float32 and end._dtype is _dt.float32 and (
                not isinstance(weight, Tensor) or weight._dtype is _dt.float32):
            return _lerp_fma(input, end, weight)
    return input + weight * (end - input)


def _lerp_fma(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """PyTorch's float32 (and, through ``in_opmath``, float16/bfloat16) lerp kernel: the two-sided
    formula ``self + w * (end - self)`` for ``|w| < 0.5``, else ``end - (end - self) * (1 - w)``,
    each a fused multiply-add rounded once (emulated in float64, where the product of two float32
    values is exact)."""
    f64 = _dt.float64
    diff = end - input
    if not isinstance(weight, Tensor):
        w = float(np.float32(weight))  # the weight in opmath (float32)
        if builtins.abs(w) < 0.5:
            return (input.to(f64) + diff.to(f64) * w).to(_dt.float32)
        return (end.to(f64) - diff.to(f64) * float(np.float32(1.0 - w))).to(_dt.float32)
    small = (input.to(f64) + diff.to(f64) * weight.to(f64)).to(_dt.float32)
    large = (end.to(f64) - diff.to(f64) * (1.0 - weight).to(f64)).to(_dt.float32)
    return where(weight.abs() < 0.5, small, large)


def _addc(name: str, input: Tensor, t1: Tensor, t2: Tensor, value: Any, divide: bool) -> Tensor:
    """PyTorch's fused ``input + value * t1 * t2`` (``/ t2``): every tensor first in the result dtype
    of all three (so ``t1 * t2`` cannot wrap in uint8 when input is float), ``value`` converted to it,
    16-bit floats computed in float32 and rounded once."""
    dt = _dt.result_type(input, t1, t2)
    if dt is _dt.bool_:
        raise NotImplementedError(f'"{name}_cpu_out" not implemented for \'Bool\'')
    compute = _dt.float32 if dt in (_dt.float16, _dt.bfloat16) else dt
    value = _scalar_as(value, compute)  # (checked in opmath: float16 with value=1e6 gives inf, 1e39 raises)
    a, b, c = (t if t._dtype is compute else t.to(compute) for t in (input, t1, t2))
    res = a + (value * b / c if divide else value * b * c)
    return res if res._dtype is dt else res.to(dt)


@grad_fn_name("AddcmulBackward0")
def addcmul(input: Tensor, t1: Tensor, t2: Tensor, *, value: Any = 1) -> Tensor:
    return _addc("addcmul", input, t1, t2, value, divide=False)


_ADDCDIV_INT = ("Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
                "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
                "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
                "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the "
                "latter implementation: (input + value * tensor1 / tensor2), for all dtypes.")


@grad_fn_name("AddcdivBackward0")
def addcdiv(input: Tensor, t1: Tensor, t2: Tensor, *, value: Any = 1) -> Tensor:
    if not t1._dtype.is_differentiable and not t2._dtype.is_differentiable:  # both integer or bool
        raise RuntimeError(_ADDCDIV_INT)
    return _addc("addcdiv", input, t1, t2, value, divide=True)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.dim()} dimension(s).")
        value = value.to(input.dtype) if value.requires_grad else value.item()
    if mask._dtype is not _dt.bool_:
        from ember.tensor import _CPP_TYPE

        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_CPP_TYPE.get(mask._dtype.name, mask._dtype.name)}")
    if not isinstance(value, Tensor):
        from ember._scalar_convert import checked_scalar

        value = checked_scalar(value, input._dtype)  # PyTorch's range check: int8 300 raises, not wraps
    return name_grad_fn(where(mask, value, input), "MaskedFillBackward0", input)


# ---- in-place forms ----------------------------------------------------------------------------
_CAN_CAST_NAMES = {_dt.float32: "Float", _dt.float64: "Double", _dt.float16: "Half", _dt.bfloat16: "BFloat16",
                   _dt.int64: "Long",
                   _dt.int32: "Int", _dt.int16: "Short", _dt.int8: "Char", _dt.uint8: "Byte", _dt.bool_: "Bool",
                   _dt.complex64: "ComplexFloat", _dt.complex128: "ComplexDouble"}


def assign_inplace(t: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``t`` (an in-place op's last step): checks, version bump, rebase."""
    check_inplace(t)
    if result._base is not None and STATE.enabled:
        _requires_grad_now(result)  # ``copy_(view)``: a stale view gets its base's current history first
    if result._dtype is not t._dtype:
        if result._dtype.category > t._dtype.category:
            raise RuntimeError(f"result type {_CAN_CAST_NAMES[result._dtype]} can't be cast to the desired output "
                               f"type {_CAN_CAST_NAMES[t._dtype]}")
    if result._data.shape != t._data.shape:
        if broadcast_shapes(result._data.shape, t._data.shape) != tuple(t._data.shape):
            raise RuntimeError(f"output with shape {list(t._data.shape)} doesn't match the broadcast shape "
                               f"{list(broadcast_shapes(result._data.shape, t._data.shape))}")
    data = result._data if result._dtype is t._dtype else result._kt["astype"](result._data, t._dtype)
    if result.grad_fn is not None and STATE.enabled:
        snapshot_saved_inputs(result, t)
    t._kt["copy_"](t._data, data)
    t._version[0] += 1
    if STATE.enabled and (result._requires_grad or needs_rebase(t)):
        rebase_history(t, result)
    if _FW[0] is not None:  # forward AD: the tangent follows the write
        _FW[0].after_inplace(t, result)
    return t


_OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
            "memory location. Please clone() the tensor before performing the operation.")


def _dense_span(t: Tensor) -> tuple[int, int] | None:
    """The byte range of ``t`` when its elements tile it without gaps or overlaps (any order of
    strides), else None: PyTorch only judges overlap between such tensors."""
    expected = 1
    for st, n in sorted((st, n) for n, st in zip(t.shape, t.stride()) if n != 1):
        if st != expected:
            return None
        expected *= n
    start = t.data_ptr()
    return start, start + t.numel() * t.element_size()


def check_no_overlap(t: Tensor, others: Any, full_too: bool = False) -> None:
    """PyTorch's refusal to write ``t`` from an input that shares part of its memory (``a[1:].add_(a[:-1])``):
    the result would depend on the order elements are written in. Inputs with the very same memory and
    strides are fine (``a.add_(a)``, not ``a.add_(a.t())``) except for ``copy_`` (``full_too``). Only
    tensors sharing a storage (its version counter: views, ``detach()``; or the storage key of ``.data``,
    which counts versions of its own) are compared, so the usual call costs one identity test per operand."""
    storage = t._version if t._storage_key is None else t._storage_key
    for a in others:
        if (isinstance(a, Tensor) and a is not t and (a._version if a._storage_key is None else a._storage_key) is storage
                and t.numel() and a.numel()):
            mine, theirs = _dense_span(t), _dense_span(a)
            if mine is None or theirs is None:
                continue
            if mine == theirs and not full_too and t.stride() == a.stride():
                continue  # the very same elements (PyTorch's "full" overlap); the same span in another order is partial
            if mine[0] < theirs[1] and theirs[0] < mine[1]:
                raise RuntimeError(_OVERLAP)


def _inplace(fn):
    def method(self, *args, **kwargs):
        check_no_overlap(self, args)
        if kwargs:
            check_no_overlap(self, kwargs.values())
        return assign_inplace(self, fn(self, *args, **kwargs))

    method.__name__ = fn.__name__ + "_"
    return method


_abs_inplace = _inplace(abs)


def abs_(t: Tensor) -> Tensor:
    """``|t|`` in place; PyTorch refuses a complex tensor (its result is real)."""
    if isinstance(t, Tensor) and t._dtype.is_complex:
        raise RuntimeError("In-place abs is not supported for complex tensors.")
    return _abs_inplace(t)


def sub_(t: Tensor, other: Any, *deprecated: Any, alpha: Any = 1) -> Tensor:
    if deprecated:
        other, alpha = _alpha_first("sub_", other, deprecated)
    check_no_overlap(t, (other,))
    return assign_inplace(t, sub(t, other, alpha=alpha))


# ---- declarations: Tensor methods, operators, in-place forms, ``ember.*`` and ``__all__`` come from these
# ``&``, ``|``, ``^`` are the bitwise ops on every dtype (on two bools that is the logical op): a bool
# tensor with an int operand promotes, as in PyTorch (``tensor([True]) & 3`` is ``tensor([1])``).
def _and(a: Tensor, b: Any) -> Tensor:
    return bitwise_and(a, b)


def _or(a: Tensor, b: Any) -> Tensor:
    return bitwise_or(a, b)


def _xor(a: Tensor, b: Any) -> Tensor:
    return bitwise_xor(a, b)


def _pos(self: Tensor) -> Tensor:
    return self


def _where_method(self: Tensor, condition: Tensor, other: Any) -> Tensor:
    return where(condition, self, other)


_ops = Family(__name__)
_op = _ops.op
# arithmetic, with their operators
_op(add, inplace=True, out=True, kernels=("add",), operators=("__add__", "__radd__"), ioperators=("__iadd__",))
_op(sub, aliases=("subtract",), inplace=True, out=True, kernels=("sub",), operators=("__sub__",),
    reflected=("__rsub__",), reflected_fn=_rsub, ioperators=("__isub__",))
_op(mul, aliases=("multiply",), inplace=True, out=True, kernels=("mul",), operators=("__mul__", "__rmul__"),
    ioperators=("__imul__",))
_op(div, aliases=("true_divide", "divide"), inplace=True, out=True, kernels=("div",),
    operators=("__truediv__", "__div__"), reflected=("__rtruediv__", "__rdiv__"), reflected_fn=_rdiv,
    ioperators=("__itruediv__", "__idiv__"))  # PyTorch keeps the Python 2 names as aliases
_op(floor_divide, inplace=True, out=True, kernels=("floor_divide",), operators=("__floordiv__",),
    reflected=("__rfloordiv__",), ioperators=("__ifloordiv__",))
_op(remainder, inplace=True, out=True, kernels=("remainder",), operators=("__mod__",), reflected=("__rmod__",),
    ioperators=("__imod__",))
_op(fmod, inplace=True, out=True)
_op(pow, inplace=True, out=True, kernels=("pow",), operators=("__pow__",), reflected=("__rpow__",),
    ioperators=("__ipow__",))
_op(maximum, inplace=True, out=True, kernels=("maximum",))
_op(minimum, inplace=True, out=True, kernels=("minimum",))
_op(atan2, aliases=("arctan2",), inplace=True, out=True, kernels=("atan2",))
# ``out=`` (ember._ops.out): SAME for the ops that keep the input's dtype, CAST for the float ones
_op(neg, aliases=("negative",), inplace=True, export_inplace=True, out=SAME, kernels=("neg",), operators=("__neg__",))
_op(abs, aliases=("absolute",), inplace=abs_, export_inplace=("abs",), out=SAME, kernels=("abs",),
    operators=("__abs__",))
_op(sign, inplace=True, out=SAME, kernels=("sign",))
# unary math
for _fn in (exp, log1p, expm1, sqrt, rsqrt, sin, cos, tanh, sigmoid, erf, log):
    _op(_fn, inplace=True, export_inplace=True, out=CAST, kernels=(_fn.__name__,))
for _fn in (floor, ceil, round):
    _op(_fn, inplace=True, export_inplace=True, out=SAME, kernels=(_fn.__name__,))
_op(relu, inplace=True, export_inplace=True, kernels=("relu",))
for _fn in (reciprocal, square):
    _op(_fn, inplace=True, export_inplace=True, out=CAST)
_op(frac, inplace=True, export_inplace=True, out=SAME)
_op(nan_to_num, inplace=True, export_inplace=True, out="nan_to_num: dtype of out: {out} should be same as input: {result}")
_op(trunc, aliases=("fix",), inplace=True, export_inplace=True, out=SAME, kernels=("trunc",))
for _fn in (log2, log10, tan):
    _op(_fn, inplace=True, export_inplace=True, out=CAST)
for _fn in (isfinite, isinf, equal, isclose, allclose):
    _op(_fn)
_op(isnan, kernels=("isnan",))
# comparisons and logic
# in place, the bool result is cast back to self's dtype (``x.eq_(y)`` keeps x's dtype), as in PyTorch
_op(eq, inplace=True, out=CAST, kernels=("eq",))
_op(ne, aliases=("not_equal",), inplace=True, out=CAST, kernels=("ne",))
_op(lt, aliases=("less",), inplace=True, out=CAST, kernels=("lt",), operators=("__lt__",))
_op(le, aliases=("less_equal",), inplace=True, out=CAST, kernels=("le",), operators=("__le__",))
_op(gt, aliases=("greater",), inplace=True, out=CAST, kernels=("gt",), operators=("__gt__",))
_op(ge, aliases=("greater_equal",), inplace=True, out=CAST, kernels=("ge",), operators=("__ge__",))
for _fn in (logical_and, logical_or, logical_xor):
    _op(_fn, inplace=True, out=CAST, kernels=(_fn.__name__,))
for _fn in (bitwise_and, bitwise_or, bitwise_xor):
    _op(_fn, inplace=True, out=True, kernels=(_fn.__name__,))
_op(bitwise_not, inplace=True, out=True)  # composite: ``-x - 1``, ``logical_not`` on bool
_op(logical_not, inplace=True, out=CAST, kernels=("logical_not",))
# selection and fused forms
_op(where, method=_where_method, out="Expected out type to be {result} but got {out}", kernels=("where",))
_op(clamp, aliases=("clip",), inplace=True, export_inplace=True, out=True, kernels=("clamp",))
for _fn in (lerp, addcmul, addcdiv):
    _op(_fn, inplace=True, out=CAST)


def _masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    # the value is a number (a 0-d tensor is read as one, PyTorch's ``value.item()``), so it may be an
    # element of ``self`` (``x.masked_fill_(m, x[0, 0])``); only the mask is checked for overlap
    check_no_overlap(self, (mask,))
    if isinstance(mask, Tensor):
        _check_broadcast(self, mask)  # PyTorch's TensorIterator names self first ("tensor a (3) ... b (2)")
    return assign_inplace(self, masked_fill(self, mask, value))


_op(masked_fill, inplace=_masked_fill_)
_op(broadcast_shapes, method=False)
# operators that are not one op: ``&``, ``|``, ``^`` are logical on bool tensors and bitwise otherwise
for _name, _fn in (("and", _and), ("or", _or), ("xor", _xor)):
    _ops.attr(f"__{_name}__", _fn)
    _ops.attr(f"__r{_name}__", _fn)
    _ops.attr(f"__i{_name}__", _inplace(_fn))
_ops.attr("__eq__", _comparison_operator("eq"))
_ops.attr("__ne__", _comparison_operator("ne"))
_ops.attr("__invert__", _invert)
_ops.attr("__pos__", _pos)

__all__ = _ops.names()
