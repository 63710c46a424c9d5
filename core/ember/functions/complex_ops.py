"""Complex tensors: ``view_as_real``/``view_as_complex``, ``complex``, ``polar``, ``angle`` and the
complex forms of ``real``, ``imag``, ``conj``, ``abs``, ``sgn`` and ``isreal``.

Every op here is a composite of views and existing kernels: ``view_as_real`` reads a complex
tensor's bytes as its float parts with the ``bitcast`` kernel (a view, as in PyTorch), and the
rest is built on it, so it runs on any backend that stores complex dtypes and autograd follows
PyTorch's conjugate Wirtinger convention through the views. ``x.real`` and ``x.imag`` are views
(writes go through to ``x``). ``conj`` computes the conjugate (PyTorch sets a lazy conjugate bit
instead): the result is a new tensor, ``is_conj()`` is always False and ``resolve_conj`` is a no-op.

Example:
    >>> import ember
    >>> z = ember.complex(ember.tensor([1.0, 0.0]), ember.tensor([2.0, -1.0]))
    >>> z
    tensor([1.+2.j, 0.-1.j])
    >>> ember.view_as_real(z)
    tensor([[ 1.,  2.],
            [ 0., -1.]])
    >>> z.abs()
    tensor([2.2361, 1.0000])
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.autograd.function import Function
from ember.autograd.grad_mode import no_grad
from ember.tensor import Tensor

#: PyTorch's scalar type names, for its messages
_WORD = {_dt.float16: "Half", _dt.bfloat16: "BFloat16", _dt.float32: "Float", _dt.float64: "Double",
         _dt.int64: "Long", _dt.int32: "Int", _dt.int16: "Short", _dt.int8: "Char", _dt.uint8: "Byte",
         _dt.bool_: "Bool", _dt.complex64: "ComplexFloat", _dt.complex128: "ComplexDouble"}


def type_word(d: _dt.dtype) -> str:
    """PyTorch's name of a scalar type in error messages (``ComplexFloat`` for complex64)."""
    return _WORD.get(d, d.name)


_COMPLEX = frozenset(_dt.COMPLEX_DTYPES)


def refuse_complex(*xs: Any, message: str, error: type = NotImplementedError) -> None:
    """Raise PyTorch's error for an op it does not define on complex tensors (``{dtype}`` in the
    message becomes PyTorch's name of the first complex operand's type)."""
    for x in xs:  # on every call of maximum, comparisons, clamp...: a set lookup, not a property
        if isinstance(x, Tensor) and x._dtype in _COMPLEX:
            raise error(message.format(dtype=type_word(x._dtype)))


# ---- the two views everything else is built on ---------------------------------------------------
class ViewAsReal(Function):
    _backward_name = "ViewAsRealBackward0"

    @staticmethod
    def forward(ctx, x):
        real = _dt.to_real(x._dtype)
        # a trailing size-1 axis has a last stride of one element, whatever x's layout: the bitcast
        # to the half-size float then doubles it into (..., 2), sharing x's memory
        data = x._kt["bitcast"](x.unsqueeze(-1)._data, real)
        out = x._view_of(data, view_as_real)
        out._dtype = real
        return out

    @staticmethod
    def backward(ctx, g):
        return view_as_complex(g.contiguous())


class ViewAsComplex(Function):
    _backward_name = "ViewAsComplexBackward0"

    @staticmethod
    def forward(ctx, x):
        cdt = _dt.to_complex(x._dtype)
        data = x._kt["bitcast"](x._data, cdt)
        squeezed = x._new(data, cdt).squeeze(-1)._data
        out = x._view_of(squeezed, view_as_complex)
        out._dtype = cdt
        return out

    @staticmethod
    def backward(ctx, g):
        return view_as_real(g)


def view_as_real(input: Tensor) -> Tensor:
    """A real view of a complex tensor: shape ``(..., 2)`` holding the real and imaginary parts.

    Example:
        >>> ember.view_as_real(ember.tensor([1 + 2j]))
        tensor([[1., 2.]])
    """
    if not input._dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(input)


def view_as_complex(input: Tensor) -> Tensor:
    """A complex view of a float tensor whose last dimension (size 2, stride 1) holds the parts.

    Example:
        >>> ember.view_as_complex(ember.tensor([[1.0, 2.0], [3.0, -1.0]]))
        tensor([1.+2.j, 3.-1.j])
    """
    from ember.functions.layout import storage_offset, stride

    if input._dtype not in (_dt.float32, _dt.float64):
        if input._dtype is _dt.float16:
            raise RuntimeError("view_as_complex of a Half tensor gives complex32, which ember does not have")
        raise RuntimeError("view_as_complex is only supported for half, float and double tensors, but got a "
                           f"tensor of scalar type: {type_word(input._dtype)}")
    if input.dim() == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = stride(input)
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if storage_offset(input) % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return ViewAsComplex.apply(input)


# ---- real and imaginary parts ------------------------------------------------------------------
def real(input: Tensor) -> Tensor:
    """The real part of a complex tensor, as a view (writes go through to ``input``)."""
    return view_as_real(input).select(-1, 0)


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as a view (writes go through to ``input``)."""
    return view_as_real(input).select(-1, 1)


def _check_parts(op: str, a: Tensor, b: Tensor) -> None:
    """PyTorch's checks of ``complex``/``polar`` operands: both float32/float64, of one dtype."""
    for x, what in ((a, "real" if op == "complex" else "abs"), (b, "imag" if op == "complex" else "angle")):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}(): argument '{what}' (position {1 if what in ('real', 'abs') else 2}) must be "
                            f"Tensor, not {type(x).__name__}")
    if a._dtype not in (_dt.float32, _dt.float64, _dt.float16) or b._dtype not in (_dt.float32, _dt.float64,
                                                                                   _dt.float16):
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{type_word(a._dtype)} and {type_word(b._dtype)}")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"Expected object of scalar type {type_word(a._dtype)} but got scalar type "
                           f"{type_word(b._dtype)} for second argument")
    if a._dtype is _dt.float16:
        raise RuntimeError(f"{op}() of Half tensors gives complex32, which ember does not have")


def complex(real: Tensor, imag: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A001 - PyTorch's name
    """A complex tensor from its real and imaginary parts (broadcast; float32 -> complex64).

    Example:
        >>> ember.complex(ember.tensor([1.0]), ember.tensor([-2.0]))
        tensor([1.-2.j])
    """
    from ember.functions.elementwise import _out
    from ember.functions.shape import broadcast_tensors, stack

    _check_parts("complex", real, imag)
    re, im = broadcast_tensors(real, imag)
    result = view_as_complex(stack([re, im], -1))
    return _out(result, out) if out is not None else result


def polar(abs: Tensor, angle: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A002 - PyTorch's names
    """``abs * (cos(angle) + i sin(angle))``.

    Example:
        >>> ember.polar(ember.tensor([2.0]), ember.tensor([0.0]))
        tensor([2.+0.j])
    """
    from ember.functions.elementwise import _out

    _check_parts("polar", abs, angle)
    result = complex(abs * angle.cos(), abs * angle.sin())
    return _out(result, out) if out is not None else result


def angle(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The argument of each element, in radians: ``atan2(imag, real)``; for real tensors 0 or pi
    (NaN stays NaN), in the default float dtype for integer inputs.

    Example:
        >>> ember.angle(ember.tensor([-1.0, 2.0]))
        tensor([3.1416, 0.0000])
    """
    from ember.functions import elementwise as _ew

    if input._dtype.is_complex:
        result = _ew.atan2(imag(input), real(input))
    else:
        x = input if input._dtype.is_floating_point else input.to(_dt.get_default_dtype())
        result = RealAngle.apply(x)
    return _ew._out(result, out) if out is not None else result


class RealAngle(Function):
    """The angle of a real tensor: pi where negative, 0 elsewhere, NaN kept; a zero gradient."""

    _backward_name = "AngleBackward0"

    @staticmethod
    def forward(ctx, x):
        from ember.functions import elementwise as _ew

        # pi in x's own dtype (a where of two Python floats is float32: float64's pi lost digits)
        result = (x < 0).to(x._dtype) * math.pi
        return _ew.where(_ew.isnan(x), x, result)

    @staticmethod
    def backward(ctx, g):
        return g * 0


# ---- the complex forms of ops declared elsewhere (misc.py and elementwise.py call these) ----------
def conj_physical(input: Tensor) -> Tensor:
    """The conjugate of a complex tensor, computed into a new tensor."""
    parts = view_as_real(input)
    sign = input._new(input._kt["full"]((2,), 1.0, parts._dtype, input._device.index), parts._dtype)
    sign[1] = -1.0
    return view_as_complex((parts * sign).contiguous())


class ComplexAbs(Function):
    _backward_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, x):
        from ember.functions.binary import hypot

        ctx.save_for_backward(x)
        with no_grad():
            return hypot(real(x), imag(x)).contiguous()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sgn(x)  # PyTorch's abs backward: grad * sgn(self)


def abs(input: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    """``|z|`` of a complex tensor, as the real dtype of its parts."""
    return ComplexAbs.apply(input)


def sgn(input: Tensor) -> Tensor:
    """``z / |z|`` (0 where ``z`` is 0) of a complex tensor."""
    from ember.functions import elementwise as _ew

    mag = abs(input)
    zero = mag == 0
    safe = _ew.where(zero, 1.0, mag).to(mag._dtype)
    # each part divided by the real |z| (PyTorch's kernel): a complex division by |z| + 0j would turn
    # sgn(inf j) = 0/inf + (inf/inf) j into NaN + NaN j
    re, im = real(input), imag(input)
    from ember.autograd.function import name_grad_fn

    return name_grad_fn(complex(_ew.where(zero, 0.0, re / safe), _ew.where(zero, 0.0, im / safe)), "SgnBackward0",
                        input)


def isreal(input: Tensor) -> Tensor:
    """Whether each element's imaginary part is zero."""
    return imag(input) == 0


# ---- declarations: Tensor methods and ``ember.*`` come from these (ember._ops.registry) ----------
_ops = Family(__name__)
_op = _ops.op
_op(view_as_real, method=False)
_op(view_as_complex, method=False)
_op(complex, method=False, out=True)
_op(polar, method=False, out=True)
_op(angle, out=True)
__all__ = _ops.names()
