"""The many small ``torch.*`` functions and Tensor methods: splits and stacks, windows, scatters into
slices, ``cov``/``trapezoid``/``gradient``, ``isin``, predicates and the global switches
(``set_default_device``, ``use_deterministic_algorithms``...). All are composites of existing ops, so
they run on every backend, on the device, and get their gradients from the ops they are made of.

Example:
    >>> import ember
    >>> [p.tolist() for p in ember.tensor_split(ember.arange(7), 3)]
    [[0, 1, 2], [3, 4], [5, 6]]
    >>> ember.hann_window(4)
    tensor([0.0000, 0.5000, 1.0000, 0.5000])
    >>> ember.cov(ember.tensor([[0., 1., 2.], [2., 1., 0.]]))
    tensor([[ 1., -1.],
            [-1.,  1.]])
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from ember import dispatch
from ember import dtypes as _dt
from ember._ops.numpy_names import numpy_names
from ember._ops.out import EXACT, SAME
from ember._ops.registry import Family
from ember.functions import creation as _cr
from ember.functions import elementwise as _ew
from ember.functions import linalg as _la
from ember.functions import shape as _sh
from ember.tensor import Tensor, _wrap_dim

_builtin_range = range  # the module defines ``range`` (PyTorch's deprecated one) below


def _name(d: _dt.dtype) -> str:
    """PyTorch's scalar type name in messages (``Float``, ``Long``)."""
    return _la._type_word(d)


# ---------------------------------------------------------------- splits, stacks, reshapes
def ravel(input: Tensor) -> Tensor:
    """The elements in row-major order, 1-D (a view when the layout allows).

    Example:
        >>> ember.ravel(ember.tensor([[1, 2], [3, 4]]))
        tensor([1, 2, 3, 4])
    """
    return _sh.reshape(input, -1)


def _dim_slice(input: Tensor, d: int, start: int, stop: int) -> Tensor:
    return input[(slice(None),) * d + (slice(start, stop),)]


def tensor_split(input: Tensor, indices_or_sections: Any = None, dim: int = 0, **kwargs: Any) -> tuple:
    """Views of ``input`` split into ``n`` near-equal sections or at the given indices.

    PyTorch's overloads name the second argument ``sections=``, ``indices=`` or
    ``tensor_indices_or_sections=``.

    Example:
        >>> [p.tolist() for p in ember.tensor_split(ember.arange(6), [1, 4])]
        [[0], [1, 2, 3], [4, 5]]
    """
    for key in ("sections", "indices", "tensor_indices_or_sections"):
        if key in kwargs and indices_or_sections is None:
            indices_or_sections = kwargs.pop(key)
    if kwargs or indices_or_sections is None:
        raise TypeError("tensor_split() received an invalid combination of arguments - expected one of: "
                        "(Tensor input, tuple of ints indices, int dim), (Tensor input, Tensor tensor_indices_or_sections, "
                        "int dim), (Tensor input, int sections, int dim)")
    if input.dim() == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = _wrap_dim(dim, input.dim())
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.dtype != _dt.int64 or spec.device.type != "cpu":
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{_name(spec.dtype)}" if spec.dtype != _dt.int64 else
                               "tensor_split expected tensor_indices_or_sections to be on cpu, but it's on "
                               f"{spec.device}")
        if spec.dim() > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {spec.dim()} dims")
        spec = int(spec.item()) if spec.dim() == 0 else [int(i) for i in spec.tolist()]
    size = input.shape[d]
    if isinstance(spec, int):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        base, extra = divmod(size, spec)
        bounds = list(itertools.accumulate([base + 1] * extra + [base] * (spec - extra - 1)))
    else:
        bounds = [int(i) for i in spec]
    starts, stops = [0, *bounds], [*bounds, size]
    return tuple(_dim_slice(input, d, a, max(a, b) if a >= 0 and b >= 0 else b) for a, b in zip(starts, stops))


def _split_dim(name: str, input: Tensor, sections: Any, dim: int, need: int) -> tuple:
    if input.dim() < need:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {need} dimension, but got a tensor with "
                           f"{input.dim()} dimensions!")
    if isinstance(sections, int):
        size = input.shape[dim]
        if sections == 0 or size % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {size} is not divisible by the split_size {sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for a 1-D tensor); int sections must divide the size evenly."""
    return _split_dim("hsplit", input, indices_or_sections, 1 if input.dim() > 1 else 0, 1)


def vsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 0 of a tensor with at least 2 dims."""
    return _split_dim("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 2 of a tensor with at least 3 dims."""
    return _split_dim("dsplit", input, indices_or_sections, 2, 3)


@numpy_names
def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """``split`` with a list of sizes that must add up to the size of ``dim``."""
    if not isinstance(split_sizes, (tuple, list)):
        raise TypeError(f"split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, not "
                        f"{type(split_sizes).__name__}")
    return _sh.split(input, list(split_sizes), dim)


@numpy_names
def unsafe_split(input: Tensor, split_size: int, dim: int = 0) -> tuple:
    """``split`` (PyTorch's form skips the view checks; ember's views are safe either way)."""
    return _sh.split(input, split_size, dim)


@numpy_names
def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """``split_with_sizes`` (see ``unsafe_split``)."""
    return split_with_sizes(input, split_sizes, dim)


@numpy_names
def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` (see ``unsafe_split``)."""
    return _sh.chunk(input, chunks, dim)


def column_stack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """1-D (and 0-d) tensors as columns, side by side with the 2-D ones.

    Example:
        >>> ember.column_stack([ember.tensor([1, 2]), ember.tensor([3, 4])])
        tensor([[1, 3],
                [2, 4]])
    """
    ts = _sh._tensors("column_stack", tensors)
    if not ts:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return _sh.hstack([_sh.reshape(t, (t.numel(), 1)) if t.dim() <= 1 else t for t in ts], out=out)


def row_stack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """Alias of ``vstack``."""
    return _sh.vstack(_sh._tensors("row_stack", tensors), out=out)


def _atleast_3d(t: Tensor) -> Tensor:
    if t.dim() == 0:
        return _sh.reshape(t, (1, 1, 1))
    if t.dim() == 1:
        return _sh.reshape(t, (1, t.shape[0], 1))
    if t.dim() == 2:
        return _sh.unsqueeze(t, -1)
    return t


def atleast_3d(*tensors: Any) -> Any:
    """Views with at least three dims: ``(n,)`` becomes ``(1, n, 1)``, ``(m, n)`` becomes ``(m, n, 1)``.

    Example:
        >>> ember.atleast_3d(ember.tensor([1, 2])).shape
        ember.Size([1, 2, 1])
    """
    return _sh._each(_atleast_3d, tensors)  # the other atleast_Nd's forms and element checks


def dstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """Stack depthwise (along dim 2) after ``atleast_3d``."""
    ts = _sh._tensors("dstack", tensors)
    if not ts:
        raise RuntimeError("dstack expects a non-empty TensorList")
    return _sh.cat([_atleast_3d(t) for t in ts], 2, out=out)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D tensor with the flattened input on its ``offset`` diagonal.

    Example:
        >>> ember.diagflat(ember.tensor([[1, 2]]))
        tensor([[1, 0],
                [0, 2]])
    """
    return _sh.diag(_sh.reshape(input, -1), offset)


def unravel_index(indices: Any, shape: Any) -> tuple:
    """The coordinates of flat ``indices`` in a tensor of ``shape``, one tensor per dim.

    Example:
        >>> ember.unravel_index(ember.tensor([4, 1]), (2, 3))
        (tensor([1, 0]), tensor([1, 1]))
    """
    if not isinstance(indices, Tensor):
        indices = _cr.tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype is _dt.bool_ or indices.dtype.is_complex:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    # PyTorch's torch/functional.py step for step: no range check (an out-of-range index wraps as
    # floor division and remainder do), the arithmetic in int64 whatever the indices' dtype, and a
    # zero in ``shape`` is the integer kernel's ZeroDivisionError (raised per element: none if empty)
    if not isinstance(shape, (int, Sequence)):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    if isinstance(shape, int):
        shape = (shape,)
    for dim in shape:
        if not isinstance(dim, int):
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(dim)}")
    shape = tuple(shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    if 0 in shape and indices.numel():
        raise RuntimeError("ZeroDivisionError")
    if not shape:  # a 0-d tensor has no coordinates
        return ()
    flat = indices.to(_dt.int64)
    coefs = list(reversed(list(itertools.accumulate(reversed((*shape[1:], 1)), func=lambda a, b: a * b))))
    return tuple(_ew.remainder(_ew.floor_divide(flat, max(c, 1)), max(s, 1)) for c, s in zip(coefs, shape, strict=True))


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a 1-D tensor's elements, one per row (``itertools.combinations``).

    Example:
        >>> ember.combinations(ember.tensor([1, 2, 3]))
        tensor([[1, 2],
                [1, 3],
                [2, 3]])
    """
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _cr.empty(0, dtype=input.dtype, device=input.device)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(_builtin_range(input.shape[0]), r))
    cols = _cr.tensor(rows, dtype=_dt.int64, device=input.device) if rows else \
        _cr.zeros((0, r), dtype=_dt.int64, device=input.device)
    return input[cols]


_RANGE_WARNING = ("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).")


def range(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,  # noqa: A001
          requires_grad: bool = False, out: Tensor | None = None) -> Tensor:
    """Deprecated: ``start`` to ``end`` *inclusive* by ``step`` (default dtype); use ``arange``."""
    warnings.warn(_RANGE_WARNING, UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    dt = dtype or _dt.get_default_dtype()
    result = _cr.arange(n, dtype=dt, device=device) * step + start
    result = result.to(dt).detach()
    if out is not None:
        return _ew._out(result, out)
    return _cr._finish(result, requires_grad)


# ---------------------------------------------------------------- window functions
def _window(name: str, n: int, periodic: bool, dtype: Any, device: Any, requires_grad: bool, layout: Any = None):
    """The sample positions ``k / (N - 1)`` of a window, or the whole window for lengths 0 and 1."""
    dt = dtype or _dt.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if n < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={n}")
    if n <= 1:
        return _cr.ones(n, dtype=dt, device=device, requires_grad=requires_grad), None, dt
    big = n + 1 if periodic else n
    return None, _cr.arange(n, dtype=dt, device=device) / (big - 1), dt


def _cosine_window(name: str, coeffs: tuple, n: int, periodic: bool, dtype: Any, device: Any,
                   requires_grad: bool) -> Tensor:
    done, x, dt = _window(name, n, periodic, dtype, device, requires_grad)
    if done is not None:
        return done
    w = _cr.full_like(x, coeffs[0])
    for k, c in enumerate(coeffs[1:], 1):
        w = w + _ew.cos(x * (2 * math.pi * k)) * c
    return _cr._finish(w.to(dt), requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi k / (N - 1))`` (``N = window_length + 1`` when periodic)."""
    return _cosine_window("hann_window", (0.5, -0.5), window_length, periodic, dtype, device, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype: Any = None, layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Hamming window ``alpha - beta cos(2 pi k / (N - 1))``."""
    return _cosine_window("hamming_window", (alpha, -beta), window_length, periodic, dtype, device, requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi k / (N - 1)) + 0.08 cos(4 pi k / (N - 1))``."""
    return _cosine_window("blackman_window", (0.42, -0.5, 0.08), window_length, periodic, dtype, device,
                          requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, requires_grad: bool = False) -> Tensor:
    """The triangular Bartlett window ``1 - |2k / (N - 1) - 1|``."""
    done, x, dt = _window("bartlett_window", window_length, periodic, dtype, device, requires_grad)
    if done is not None:
        return done
    return _cr._finish((1 - _ew.abs(x * 2 - 1)).to(dt), requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype: Any = None,
                  layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2k / (N - 1) - 1)^2)) / I0(beta)``."""
    from ember.functions.special import i0

    done, x, dt = _window("kaiser_window", window_length, periodic, dtype, device, requires_grad)
    if done is not None:
        return done
    r = x * 2 - 1
    w = i0(_ew.sqrt(_ew.clamp(1 - r * r, min=0)) * beta) / i0(_cr.tensor(float(beta), dtype=dt, device=x.device))
    return _cr._finish(w.to(dt), requires_grad)


# ---------------------------------------------------------------- scatters into views
def _scatter_into(input: Tensor, src: Tensor, view: Any, name: str) -> Tensor:
    out = _sh.clone(input)
    target = view(out)
    if tuple(target.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(target.shape)}")
    target.copy_(src)
    return out


@numpy_names
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input.select(dim, index)``.

    Example:
        >>> ember.select_scatter(ember.zeros(2, 2), ember.ones(2), 0, 0)
        tensor([[1., 1.],
                [0., 0.]])
    """
    return _scatter_into(input, src, lambda o: _sh.select(o, dim, index), "select_scatter")


@numpy_names
def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written into the slice ``start:end:step`` of ``dim``."""
    d = _wrap_dim(dim, input.dim())
    return _scatter_into(input, src, lambda o: o[(slice(None),) * d + (slice(start, end, step),)], "slice_scatter")


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input.diagonal(offset, dim1, dim2)``."""
    return _scatter_into(input, src, lambda o: _sh.diagonal(o, offset, dim1, dim2), "diagonal_scatter")


def _fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Fill the main diagonal in place (``wrap``: restart it below a tall matrix's square part)."""
    n = self.dim()
    if n < 2:
        raise RuntimeError("dimensions must larger than 1")
    if n > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    rows, cols = self.shape[0], self.shape[1]
    dev = self.device
    if n == 2:
        if wrap and rows > cols + 1:  # PyTorch steps cols + 1 through the whole flat storage
            flat = _cr.arange(0, rows * cols, cols + 1, device=dev)
            idx = (_ew.floor_divide(flat, cols), _ew.remainder(flat, cols))
        else:
            k = _cr.arange(min(rows, cols), device=dev)
            idx = (k, k)
    else:
        k = _cr.arange(rows, device=dev)
        idx = (k,) * n
    value = _cr.full((), fill_value, dtype=self.dtype, device=dev) if not isinstance(fill_value, Tensor) \
        else fill_value.to(self.dtype)
    return self.index_put_(idx, value)


def _sum_to_size(self: Tensor, *size: Any) -> Tensor:
    """Sum ``self`` down to ``size`` (which must broadcast to ``self``'s shape)."""
    shape = _sh._shape_args(size)
    mine = tuple(self.shape)
    lead = len(mine) - len(shape)
    if lead < 0 or any(s != 1 and s != m for s, m in zip(shape, mine[lead:])):
        raise RuntimeError(f"size {{{', '.join(map(str, shape))}}} is not expandable to size "
                           f"{{{', '.join(map(str, mine))}}}.")
    if not shape:  # PyTorch's sum_to: an empty size is a full sum (so an integer 0-d tensor becomes int64)
        return self.sum()
    out = self.sum(tuple(_builtin_range(lead))) if lead else self
    dims = tuple(i for i, (s, m) in enumerate(zip(shape, mine[lead:])) if s == 1 and m != 1)
    if dims:
        out = out.sum(dims, keepdim=True)
    return out


def _type_as(self: Tensor, other: Tensor) -> Tensor:
    """``self`` with ``other``'s dtype (and device), as ``Tensor.type_as``."""
    return self.to(device=other.device, dtype=other.dtype)


def _new(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Legacy ``Tensor.new``: ``new()`` is empty, ``new(2, 3)`` uninitialised, ``new(data)`` a copy."""
    dtype, device = kwargs.pop("dtype", self.dtype), kwargs.pop("device", self.device)
    if kwargs:
        raise TypeError(f"new() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if not args:
        return _cr.empty(0, dtype=dtype, device=device)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args) or (
            len(args) == 1 and type(args[0]).__name__ == "Size"):
        return _cr.empty(*args, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype != dtype:
            raise TypeError(f"expected {dtype} (got {args[0].dtype})")
        return args[0]
    return _cr.tensor(args[0], dtype=dtype, device=device)


# ---------------------------------------------------------------- math
def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``clamp(input, min=min)``."""
    if isinstance(min, complex):  # PyTorch's clamp_min(Scalar) kernel refuses a complex bound on any tensor
        raise NotImplementedError("clamp is not supported for complex types")
    return _ew.clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``clamp(input, max=max)``."""
    if isinstance(max, complex):  # as clamp_min
        raise NotImplementedError("clamp is not supported for complex types")
    return _ew.clamp(input, max=max)


def signbit(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Whether the sign bit is set (true for ``-0.0`` too).

    Example:
        >>> ember.signbit(ember.tensor([-1.0, -0.0, 0.0, 2.0]))
        tensor([ True,  True, False, False])
    """
    from ember.functions.binary import copysign

    if input.dtype.is_floating_point:
        result = copysign(_cr.ones_like(input), input) < 0
    else:
        result = input < 0
    return _ew._out(result, out) if out is not None else result


def sgn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``sign`` for real tensors (``x / |x|`` for complex ones in PyTorch)."""
    if input.dtype.is_complex:
        from ember.functions import complex_ops

        result = complex_ops.sgn(input)
        return _ew._out(result, out) if out is not None else result
    result = _ew.sign(input)
    if input.dtype.is_floating_point:  # PyTorch's sign of NaN is 0
        result = _ew.where(_ew.isnan(input), _cr.zeros_like(result), result)
    return _ew._out(result, out) if out is not None else result


def positive(input: Tensor) -> Tensor:
    """``input`` itself (refused for bool tensors, as in PyTorch)."""
    if input.dtype is _dt.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def ldexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input * 2 ** other``, in a floating dtype.

    Example:
        >>> ember.ldexp(ember.tensor([1.0]), ember.tensor([3]))
        tensor([8.])
    """
    result = _ew.mul(input, _ew.pow(2.0, other) if isinstance(other, Tensor) else 2.0 ** other)
    # PyTorch's dtype: the operands' promotion (float16 * 2**int64 stays float16), floating
    dt = _dt.result_type(input, other)
    dt = dt if dt.is_floating_point or dt.is_complex else _dt.get_default_dtype()
    if result.dtype is not dt:
        result = result.to(dt)
    return _ew._out(result, out) if out is not None else result


frexp_result = namedtuple("frexp", ["mantissa", "exponent"])


def frexp(input: Tensor, *, out: Any = None) -> tuple:
    """``(mantissa, exponent)`` with ``input == mantissa * 2 ** exponent`` and ``0.5 <= |mantissa| < 1``.

    Example:
        >>> ember.frexp(ember.tensor([8.0, 0.0]))
        frexp(mantissa=tensor([0.5000, 0.0000]), exponent=tensor([4, 0], dtype=ember.int32))
    """
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    x = input.detach()
    finite = _ew.isfinite(x) & (x != 0)
    safe = _ew.where(finite, _ew.abs(x), _cr.ones_like(x))
    e = _ew.floor(_ew.log2(safe)) + 1
    m = safe / _ew.pow(2.0, e)
    # log2 rounds near powers of two: move the exponent by one where the mantissa left [0.5, 1)
    up, down = m >= 1, m < 0.5
    e = e + up.to(e.dtype) - down.to(e.dtype)
    e = _ew.where(finite, e, _cr.zeros_like(e))
    mantissa = _ew.where(finite, input / _ew.pow(2.0, e), input)
    result = frexp_result(mantissa, e.to(_dt.int32))
    if out is not None:
        _ew._out(result[0], out[0])
        _ew._out(result[1], out[1])
        return frexp_result(*out)
    return result


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other``.

    Example:
        >>> ember.dist(ember.tensor([0., 0.]), ember.tensor([3., 4.]))
        tensor(5.)
    """
    from ember.autograd.function import name_grad_fn
    from ember.linalg import vector_norm

    diff = _ew.sub(input, other)
    # the norm of complex numbers is the norm of their moduli (a real result, as in PyTorch)
    return name_grad_fn(vector_norm(_ew.abs(diff) if diff.dtype.is_complex else diff, p), "DistBackward0",
                        input, other)


@numpy_names
def renorm(input: Tensor, p: float, dim: int, maxnorm: float, *, out: Tensor | None = None) -> Tensor:
    """Each slice along ``dim`` scaled down so that its ``p``-norm is at most ``maxnorm``."""
    from ember.linalg import vector_norm

    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.dim() <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.dim()} dimensions")
    d = _wrap_dim(dim, input.dim())
    others = tuple(i for i in _builtin_range(input.dim()) if i != d)
    norm = vector_norm(input, p, others, keepdim=True)
    factor = _ew.where(norm > maxnorm, maxnorm / (norm + 1e-7), _cr.ones_like(norm))
    return _ew._out(input * factor, out) if out is not None else input * factor


def _addmm_named(result: Tensor, name: str, input: Tensor) -> Tensor:
    """PyTorch's node name on a composite of the addmm family (else its last step's: Add, Where)."""
    from ember.autograd.function import name_grad_fn

    return name_grad_fn(result, name, input)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1,
          out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``; a zero beta or alpha does not read its operand (BLAS)."""
    result = _addmm_named(_la._scaled_sum(input, _la.mv(mat, vec), beta, alpha), "AddmvBackward0", input)
    return _ew._out(result, out) if out is not None else result


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1,
         out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    if vec1.dim() != 1 or vec2.dim() != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec{1 if vec1.dim() != 1 else 2}, but got "
                           f"{(vec1 if vec1.dim() != 1 else vec2).dim()}-D")
    dt = input._dtype
    if ((dt is _dt.float16 or dt is _dt.bfloat16) and vec1._dtype is dt and vec2._dtype is dt
            and input.dim() <= 2 and all(a in (1, b) for a, b in zip(input.shape[::-1], (vec2.shape[0], vec1.shape[0])))
            and not isinstance(beta, bool) and not isinstance(alpha, bool)):
        result = _addr_lowp(input, vec1, vec2, beta, alpha)
        return _ew._out(result, out) if out is not None else result
    # PyTorch's addr kernel multiplies by alpha even when it is 0 (0 * inf = NaN), but skips input at beta == 0
    result = _la._scaled_sum(input, _la.outer(vec1, vec2), beta, alpha, skip_zero_alpha=False)
    result = _addmm_named(result, "AddrBackward0", input)
    return _ew._out(result, out) if out is not None else result


def _addr_lowp(input: Tensor, vec1: Tensor, vec2: Tensor, beta: Any, alpha: Any) -> Tensor:
    """PyTorch's float16/bfloat16 addr kernel: ``beta * self + alpha * vec1 * vec2`` in the 16-bit
    type itself, beta and alpha first converted to it and every operation rounded (left to right)."""
    dt = input._dtype

    def as_dt(v: Any) -> Any:
        return v if isinstance(v, Tensor) else _cr.tensor(v, dtype=dt).item()

    beta, alpha = as_dt(beta), as_dt(alpha)
    product = _ew.mul(vec1, alpha).unsqueeze(1) * vec2
    # (beta == 0: input unread but still in the graph, as the general path does)
    result = _la._scaled_sum(input, product, 0, 1) if beta == 0 else input * beta + product
    return _addmm_named(result, "AddrBackward0", input)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1,
           out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * sum_i(batch1[i] @ batch2[i])``; a zero beta or alpha does not read its operand."""
    dt = input._dtype
    if ((dt is _dt.float16 or dt is _dt.bfloat16) and batch1._dtype is dt and batch2._dtype is dt
            and batch1.dim() == 3 and batch2.dim() == 3 and 0 < batch1.shape[0] == batch2.shape[0]
            and batch1.shape[2] == batch2.shape[1]):
        # PyTorch loops ``result.addmm_(batch1[i], batch2[i], beta, alpha)`` (beta 1 after the first),
        # each addmm computed in float32 and rounded to 16 bits: the sum rounds once per batch
        mats1, mats2 = batch1.unbind(0), batch2.unbind(0)
        result = _la.addmm(input, mats1[0], mats2[0], beta=beta, alpha=alpha)
        for m1, m2 in zip(mats1[1:], mats2[1:]):
            result = _la.addmm(result, m1, m2, alpha=alpha)
    else:
        product = _la.bmm(batch1, batch2)
        # an integer product sums in its own dtype, wrapping as PyTorch's per-batch addmm_ does (not int64)
        product = product.sum(0, dtype=product.dtype) if not product._dtype.is_floating_point else product.sum(0)
        result = _la._scaled_sum(input, product, beta, alpha)
    result = _addmm_named(result, "AddbmmBackward0", input)
    return _ew._out(result, out) if out is not None else result


def adjoint(input: Tensor) -> Tensor:
    """The (conjugate) transpose of the last two dims, as a view."""
    if input.dim() < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                           f"{input.dim()}-D tensor.")
    out = _sh.transpose(input, -2, -1)
    return conj(out) if input.dtype.is_complex else out


def chain_matmul(*matrices: Tensor, out: Tensor | None = None) -> Tensor:
    """Deprecated: ``linalg.multi_dot(matrices)``."""
    from ember.linalg import multi_dot

    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                  "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
                  "multiple parameters.", UserWarning, stacklevel=2)
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:  # (multi_dot would take 1-D ends; chain_matmul takes matrices only)
        if m.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {m.dim()}, expected 2 instead.")
    if len(matrices) == 1:
        result = _sh.clone(matrices[0])
    else:
        result = multi_dot(list(matrices))
    return _ew._out(result, out) if out is not None else result


def _check_weights(name: str, w: Tensor, n: int, integral: bool) -> None:
    if w.dim() > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                           f"{w.dim()} dimensions")
    if w.numel() != n:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                           f"input but got {w.numel()} != {n}")
    if integral and (w.dtype.is_floating_point or w.dtype.is_complex):
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} with "
                           f"{_name(w.dtype)} dtype")
    if not integral and not w.dtype.is_floating_point:
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got {name} with "
                           f"{_name(w.dtype)} dtype")
    if w.numel() and bool((w < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in columns)."""
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    if input.dtype is _dt.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(_dt.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        _check_weights("fweights", fweights, n, True)
        w = fweights
    if aweights is not None:
        _check_weights("aweights", aweights, n, False)
        w = aweights if w is None else w * aweights
    if w is None:
        avg = x.mean(1)
        w_sum = n
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
    if w is not None and correction != 0:
        norm = w_sum - (correction if aweights is None else correction * (w * aweights).sum() / w_sum)
    else:
        norm = w_sum - correction
    if (bool(norm <= 0) if isinstance(norm, Tensor) else norm <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number "
                      "of observations.", UserWarning, stacklevel=2)
        # PyTorch's norm_factor.zero_(): +0 (a negative norm times 0 would be -0, flipping the infinities)
        norm = _cr.zeros_like(norm) if isinstance(norm, Tensor) else 0
    xm = x - avg.unsqueeze(1)
    # PyTorch conjugates the right factor: the complex covariance is Hermitian
    c = _la.mm(xm, conj((xm if w is None else xm * w).t()))
    return (c / norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input``, clipped to [-1, 1]."""
    if input.dim() > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = _sh.diagonal(c)
    std = _ew.sqrt(real(d) if d.dtype.is_complex else d)
    c = c / std.unsqueeze(1) / std.unsqueeze(0)
    if c.dtype.is_complex:  # PyTorch clips the real and imaginary parts separately
        from ember.functions.complex_ops import complex as _complex

        return _complex(_ew.clamp(real(c), -1, 1), _ew.clamp(imag(c), -1, 1))
    return _ew.clamp(c, -1, 1)


# ---- integration: PyTorch's Integration.cpp, step for step (its slices, broadcasts and errors) -------
_UNGIVEN: Any = object()  # x/dx not passed: PyTorch refuses an explicit None for either

_INTEGRATION_OVERLOADS = {
    "trapz": " * (Tensor y, *, float dx = 1, int dim = -1)\n * (Tensor y, Tensor x, *, int dim = -1)\n",
}
_X_OR_DX = " * (Tensor y, Tensor x, *, int dim = -1)\n * (Tensor y, *, Number dx = 1, int dim = -1)\n"


def _integration_x(name: str, y: Any, x: Any, dx: Any, dim: Any) -> Any:
    """The sample points (a tensor), or None for the ``dx`` overload; PyTorch's TypeError when the
    arguments fit neither overload (a Python number or None as ``x``, or ``x`` with ``dx``)."""
    x_given, dx_given = x is not _UNGIVEN, dx is not _UNGIVEN
    if (isinstance(y, Tensor) and (not x_given or (isinstance(x, Tensor) and not dx_given))
            and (x_given or dx is not None)):
        return x if x_given else None
    got = [type(y).__name__] + ([type(x).__name__] if x_given else [])
    got += [f"{k}={type(v).__name__}" for k, v, given in (("dim", dim, dim != -1), ("dx", dx, dx_given)) if given]
    raise TypeError(f"{name}() received an invalid combination of arguments - got ({', '.join(got)}), but expected "
                    f"one of:\n{_INTEGRATION_OVERLOADS.get(name, _X_OR_DX)}")


def _real_dx(name: str, dx: Any) -> float:
    """``dx`` as the double PyTorch computes with: a real number (or one-element tensor) only."""
    if dx is _UNGIVEN:
        return 1.0
    if isinstance(dx, Tensor):
        dx = dx.item()
    if isinstance(dx, (bool, complex)):
        raise RuntimeError(f"{name}: Currently, we only support dx as a real number.")
    return float(dx)


def _side(t: Tensor, d: int, start: int | None, stop: int | None) -> Tensor:
    """``t.slice(d, start, stop)`` (an empty slice of an empty dim is fine, as in PyTorch)."""
    if t.dim() == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    return t[(slice(None),) * d + (slice(start, stop),)]


def _wrap_scalar_dim(dim: int, y: Tensor) -> int:
    """maybe_wrap_dim(dim, y): a 0-d ``y`` counts as 1-d, so -1 and 0 are its dim 0."""
    return _wrap_dim(dim, max(y.dim(), 1))


def _size_at(y: Tensor, dim: int) -> int:
    """``y.size(dim)`` with PyTorch's IndexError for a 0-d ``y``."""
    if y.dim() == 0:
        _wrap_dim(dim, 1)  # out of range for a scalar first
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return y.shape[_wrap_dim(dim, y.dim())]


def _refuse_bool_samples(name: str, y: Tensor, x: Any) -> None:
    if x is not None and (y.dtype is _dt.bool_ or x.dtype is _dt.bool_):
        raise RuntimeError(f"{name}: received a bool input for `x` or `y`, but bool is not supported")
    if y.dtype is _dt.bool_:
        raise RuntimeError(f"{name}: received a bool input for `y`, but bool is not supported")


def _x_steps(name: str, y: Tensor, x: Tensor, d: int) -> Tensor:
    """x's differences along ``d``, laid out to broadcast against y's (PyTorch views a 1-D ``x``
    along ``d`` and pads a lower-rank one with leading 1s; a higher-rank one is taken as it is)."""
    if x.dim() == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y.dim()
        shape[d] = x.shape[0]
        x = _sh.reshape(x, shape)
    elif x.dim() < y.dim():
        x = _sh.reshape(x, (1,) * (y.dim() - x.dim()) + tuple(x.shape))
    return _side(x, d, 1, None) - _side(x, d, 0, -1)


def _empty_integral(y: Tensor, d: int) -> Tensor:
    """The integral over no samples: zeros shaped like ``y`` without ``dim``, in ``y``'s dtype (PyTorch)."""
    shape = tuple(n for i, n in enumerate(y.shape) if i != d)
    return _cr.zeros(shape, dtype=y.dtype, device=y.device)


def _trapezoid(name: str, y: Any, x: Any, dx: Any, dim: int) -> Tensor:
    x = _integration_x(name, y, x, dx, dim)
    if x is not None:
        d = _wrap_scalar_dim(dim, y)
        if _size_at(y, d) == 0:  # (PyTorch answers before it looks at the dtypes)
            return _empty_integral(y, d)
        _refuse_bool_samples("trapezoid", y, x)
        return ((_side(y, d, 0, -1) + _side(y, d, 1, None)) * _x_steps("trapezoid", y, x, d)).sum(d) / 2.0
    if _size_at(y, dim) == 0:
        return _empty_integral(y, _wrap_dim(dim, y.dim()))
    _refuse_bool_samples("trapezoid", y, None)
    step = _real_dx("trapezoid", dx)
    d = _wrap_dim(dim, y.dim())
    return (y.sum(d) - (_sh.select(y, d, 0) + _sh.select(y, d, -1)) * 0.5) * step


@numpy_names
def trapezoid(y: Tensor, x: Any = _UNGIVEN, *, dx: Any = _UNGIVEN, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``, with sample points ``x`` (a tensor) or spacing ``dx``
    (a real number, default 1).

    Example:
        >>> ember.trapezoid(ember.tensor([1., 2., 3.]))
        tensor(4.)
    """
    return _trapezoid("trapezoid", y, x, dx, dim)


@numpy_names
def trapz(y: Tensor, x: Any = _UNGIVEN, *, dx: Any = _UNGIVEN, dim: int = -1) -> Tensor:
    """Alias of ``trapezoid``."""
    return _trapezoid("trapz", y, x, dx, dim)


@numpy_names
def cumulative_trapezoid(y: Tensor, x: Any = _UNGIVEN, *, dx: Any = _UNGIVEN, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element shorter than ``y`` there)."""
    from ember.functions.reduction import cumsum

    name = "cumulative_trapezoid"
    x = _integration_x(name, y, x, dx, dim)
    if x is not None:
        d = _wrap_scalar_dim(dim, y)
        _refuse_bool_samples(name, y, x)
        steps = _x_steps(name, y, x, d)
        return cumsum((_side(y, d, 0, -1) + _side(y, d, 1, None)) * steps, d) / 2.0
    _refuse_bool_samples(name, y, None)
    step = _real_dx(name, dx)
    if y.dim() == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, y.dim())
    return cumsum(step / 2.0 * (_side(y, d, 0, -1) + _side(y, d, 1, None)), d)


# ---- gradient: PyTorch's pre_check_gradient, gradient_helper and gradient_helper_float -------------
def _gradient_spacing(spacing: Any) -> tuple[bool, list | None]:
    """(coordinates?, the per-dim spacings, None for one scalar) from PyTorch's overloads: a number
    (or one-element tensor), a list of numbers, or a list of 1-D coordinate tensors."""
    if isinstance(spacing, Tensor) and spacing.dim() == 0:
        return False, None
    if isinstance(spacing, (int, float, complex)):
        return False, None
    if isinstance(spacing, (list, tuple)):
        if any(isinstance(s, Tensor) for s in spacing):
            for i, s in enumerate(spacing):
                if not isinstance(s, Tensor):
                    raise TypeError(f"expected Tensor as element {i} in argument 1, but got {type(s).__name__}")
            return True, list(spacing)
        return False, list(spacing)
    raise TypeError(f"gradient() received an invalid combination of arguments - got (Tensor, "
                    f"spacing={type(spacing).__name__}), but expected one of:")


def _gradient_float(f: Tensor, d: int, h: Any, edge_order: int) -> Tensor:
    """Central differences over a uniform spacing ``h``, in f's own dtype (an int8 difference wraps)."""
    center = (_side(f, d, 2, None) - _side(f, d, 0, -2)) / h
    if edge_order == 1:
        first = (_side(f, d, 1, 2) - _side(f, d, 0, 1)) / h
        last = (_side(f, d, -1, None) - _side(f, d, -2, -1)) / h
    else:
        first = (-1.5 * _side(f, d, 0, 1) + 2 * _side(f, d, 1, 2) - 0.5 * _side(f, d, 2, 3)) / h
        last = (0.5 * _side(f, d, -3, -2) - 2 * _side(f, d, -2, -1) + 1.5 * _side(f, d, -1, None)) / h
    return _sh.cat([first, center / 2, last], d)


def _gradient_coords(f: Tensor, d: int, c: Tensor, edge_order: int) -> Tensor:
    """Second-order differences over the sample coordinates ``c`` (1-D): the result takes the
    coordinates' floating dtype where it is wider (a float16 ``f`` over float32 ``c`` is float32)."""
    if c.dim() != 1:
        raise RuntimeError(f"torch.gradient expected each element of spacing to have one dimension, but got an "
                           f"element with {c.dim()} dimensions!")
    shape = [1] * f.dim()
    shape[d] = -1
    ax = c[1:] - c[:-1]
    dx1, dx2 = ax[:-1], ax[1:]
    a = _sh.reshape(-dx2 / (dx1 * (dx1 + dx2)), shape)
    b = _sh.reshape((dx2 - dx1) / (dx1 * dx2), shape)
    cc = _sh.reshape(dx1 / (dx2 * (dx1 + dx2)), shape)
    center = a * _side(f, d, 0, -2) + b * _side(f, d, 1, -1) + cc * _side(f, d, 2, None)
    if edge_order == 1:
        first = (_side(f, d, 1, 2) - _side(f, d, 0, 1)) / ax[0]
        last = (_side(f, d, -1, None) - _side(f, d, -2, -1)) / ax[-1]
    else:
        h0, h1 = ax[0], ax[1]
        first = (-(2.0 * h0 + h1) / (h0 * (h0 + h1)) * _side(f, d, 0, 1) + (h0 + h1) / (h0 * h1) * _side(f, d, 1, 2)
                 + (-h0) / (h1 * (h0 + h1)) * _side(f, d, 2, 3))
        g0, g1 = ax[-1], ax[-2]
        last = (g0 / (g1 * (g0 + g1)) * _side(f, d, -3, -2) - (g0 + g1) / (g0 * g1) * _side(f, d, -2, -1)
                + (2 * g0 + g1) / (g0 * (g0 + g1)) * _side(f, d, -1, None))
    return _sh.cat([first, center, last], d)


@numpy_names
def gradient(input: Tensor, *, spacing: Any = None, dim: Any = None, edge_order: int = 1) -> tuple:
    """Second-order accurate central differences along each of ``dim`` (all dims by default), with
    a uniform ``spacing`` (a number, or one per dim) or sample coordinates (one 1-D tensor per dim).

    Example:
        >>> ember.gradient(ember.tensor([1., 4., 9., 16.]))
        (tensor([3., 4., 6., 7.]),)
    """
    coords, steps = _gradient_spacing(1 if spacing is None else spacing)
    dim_list = dim is not None and not isinstance(dim, int)
    dims = list(_builtin_range(input.dim())) if dim is None else (list(dim) if dim_list else [dim])
    if input.dtype is _dt.uint8:
        raise RuntimeError("torch.gradient does not support uint8 input.")
    # how many spacings PyTorch counts: one per dim for a scalar with a dim list, none for no spacing
    n_spacing = len(steps) if steps is not None else (len(dims) if dim_list or spacing is not None else None)
    if n_spacing is not None and dim is None and n_spacing != input.dim():
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length equal "
                           f"to 'self.dim() = {input.dim()}', since dim argument was not given, but got a list of "
                           f"length {n_spacing}")
    if n_spacing is not None and dim is not None and n_spacing != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                           f"arguments to have the same length, but got a spacing argument of length {n_spacing} and "
                           f"a dim argument of length {len(dims)}.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if dim is not None:
        wrapped = [_wrap_dim(d, input.dim()) for d in dims]
        for i, d in enumerate(wrapped):
            if d in wrapped[:i]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    for d in dims if dim is not None else _builtin_range(input.dim()):
        if _size_at(input, d) < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    if input.dtype is _dt.bool_:  # PyTorch's differences subtract two bool tensors
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if steps is None:
        h = 1.0 if spacing is None else (spacing.item() if isinstance(spacing, Tensor) else spacing)
        steps = [h] * len(dims)
    one = _gradient_coords if coords else _gradient_float
    return tuple(one(input, _wrap_dim(d, input.dim()), h, edge_order) for d, h in zip(dims, steps))


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (``invert``: is not).

    Example:
        >>> ember.isin(ember.tensor([1, 2, 3]), ember.tensor([2, 5]))
        tensor([False,  True, False])
    """
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got ({type(elements).__name__}, "
                        f"{type(test_elements).__name__}), but expected one of:\n"
                        " * (Tensor elements, Tensor test_elements, *, bool assume_unique = False, bool invert = False, "
                        "Tensor out = None)\n"
                        " * (Number element, Tensor test_elements, *, bool assume_unique = False, bool invert = False, "
                        "Tensor out = None)\n"
                        " * (Tensor elements, Number test_element, *, bool assume_unique = False, bool invert = False, "
                        "Tensor out = None)\n")
    ref = elements if isinstance(elements, Tensor) else test_elements
    if isinstance(elements, complex) or isinstance(test_elements, complex):  # PyTorch wraps it as complex128
        raise RuntimeError("Unsupported input type encountered for isin(): ComplexDouble")
    if not isinstance(elements, Tensor):
        elements = _cr.tensor(elements, device=ref.device)
    if not isinstance(test_elements, Tensor):
        test_elements = _cr.tensor(test_elements, device=ref.device)
    for t in (elements, test_elements):
        if t.dtype.is_complex or t.dtype is _dt.bool_:
            from ember.functions.complex_ops import type_word

            raise RuntimeError(f"Unsupported input type encountered for isin(): {type_word(t.dtype)}")
    flat = _sh.reshape(test_elements, -1)
    if flat.numel() == 0:
        found = _cr.zeros(tuple(elements.shape), dtype=_dt.bool_, device=elements.device)
    else:
        found = (_sh.unsqueeze(elements, -1) == flat).any(-1)
    return _ew.logical_not(found) if invert else found


def isneginf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Whether each element is ``-inf``."""
    if input.dtype.is_complex:
        raise RuntimeError("isneginf does not support complex inputs.")
    result = (input == -math.inf) if input.dtype.is_floating_point else _cr.zeros(
        tuple(input.shape), dtype=_dt.bool_, device=input.device)
    return _ew._out(result, out) if out is not None else result


def isposinf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Whether each element is ``+inf``."""
    if input.dtype.is_complex:
        raise RuntimeError("isposinf does not support complex inputs.")
    result = (input == math.inf) if input.dtype.is_floating_point else _cr.zeros(
        tuple(input.shape), dtype=_dt.bool_, device=input.device)
    return _ew._out(result, out) if out is not None else result


def isreal(input: Tensor) -> Tensor:
    """Whether each element has a zero imaginary part: all true for real tensors."""
    if input.dtype.is_complex:
        from ember.functions import complex_ops

        return complex_ops.isreal(input)
    return _cr.ones(tuple(input.shape), dtype=_dt.bool_, device=input.device)


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``, recorded as PyTorch's ``RsubBackward0`` (``RsubBackward1`` for a number)."""
    from ember.autograd.function import name_grad_fn

    out = _ew.sub(other, input, alpha=alpha)
    return name_grad_fn(out, "RsubBackward0" if isinstance(other, Tensor) else "RsubBackward1", input, other)


def _put_args(self: Tensor, index: Tensor, source: Tensor) -> None:
    if index.dtype is not _dt.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {_name(index.dtype)}")
    if source.dtype is not self.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_name(self.dtype)} and source.dtype = {_name(source.dtype)}")
    if index.numel() != source.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    n = self.numel()
    if index.numel() and (n == 0 or bool(((index < -n) | (index >= n)).any())):
        bad = int(index[(index < -n) | (index >= n)].reshape(-1)[0].item())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or added) at the flat ``index`` positions.

    Example:
        >>> ember.put(ember.zeros(2, 2), ember.tensor([0, 3]), ember.tensor([1., 2.]))
        tensor([[1., 0.],
                [0., 2.]])
    """
    _put_args(input, index, source)
    flat = _sh.reshape(input, -1)
    idx = _sh.reshape(index, -1)
    idx = _ew.where(idx < 0, idx + max(input.numel(), 1), idx)
    return flat.index_put((idx,), _sh.reshape(source, -1), accumulate).reshape(tuple(input.shape))


def _put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    from ember.functions.indexing import _no_overlap

    result = put(self, index, source, accumulate)  # its argument errors come first (PyTorch)
    _no_overlap(self, index, source)
    return _ew.assign_inplace(self, result)


# ---------------------------------------------------------------- predicates and flags
def is_nonzero(input: Tensor) -> bool:
    """Whether a one-element tensor is not zero (other sizes raise, as ``bool(tensor)`` does)."""
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item() != 0)


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether the two tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:
    """Whether the dtype is signed (floats and signed integers)."""
    return input.dtype.is_signed


def is_complex(input: Tensor) -> bool:
    """Whether the dtype is complex (never, for ember's dtypes so far)."""
    return input.dtype.is_complex


def is_inference(input: Tensor) -> bool:
    """Whether the tensor was made in inference mode (or is a view of one)."""
    return bool(input._inference)


def is_conj(input: Tensor) -> bool:
    """Whether the conjugate bit is set (never, for ember's real tensors)."""
    return False


def is_neg(input: Tensor) -> bool:
    """Whether the negative bit is set (never in ember)."""
    return False


def conj(input: Tensor) -> Tensor:
    """The complex conjugate: ``input`` itself for a real tensor; computed for a complex one (PyTorch
    returns a lazily conjugated view instead; ember has no conjugate bit)."""
    if input.dtype.is_complex:
        from ember.functions import complex_ops

        return complex_ops.conj_physical(input)
    return input


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` with a pending conjugation applied: itself, as no bit is ever set."""
    return input


def resolve_neg(input: Tensor) -> Tensor:
    """``input`` with a pending negation applied: itself, as no bit is ever set."""
    return input


def conj_physical(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The conjugate, computed: ``input`` itself for a real tensor, as in PyTorch."""
    if input.dtype.is_complex:
        from ember.functions import complex_ops

        input = complex_ops.conj_physical(input)
    return _ew._out(input, out) if out is not None else input


def _conj_physical_(self: Tensor) -> Tensor:
    if self.dtype.is_complex:
        from ember.functions import complex_ops

        complex_ops.imag(self).neg_()
    return self


def real(input: Tensor) -> Tensor:
    """The real part: ``input`` itself for a real tensor, a view of the real parts of a complex one."""
    if input.dtype.is_complex:
        from ember.functions import complex_ops

        return complex_ops.real(input)
    return input


def imag(input: Tensor) -> Tensor:
    """The imaginary part (complex tensors only): a view of them."""
    if input.dtype.is_complex:
        from ember.functions import complex_ops

        return complex_ops.imag(input)
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def _kind(d: _dt.dtype) -> int:
    return 3 if d.is_complex else 2 if d.is_floating_point else 0 if d is _dt.bool_ else 1


def can_cast(from_: _dt.dtype, to: _dt.dtype) -> bool:
    """Whether PyTorch's type promotion allows the cast (no float to int, no complex to real, ...).

    Example:
        >>> ember.can_cast(ember.float32, ember.int32)
        False
    """
    return _kind(from_) <= _kind(to)


def typename(obj: Any) -> str:
    """The type of ``obj`` as a string (``'ember.FloatTensor'`` for a tensor, as ``Tensor.type()``)."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if qualname is None:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode`` block is active."""
    from ember.autograd.grad_mode import is_inference_mode_enabled as enabled

    return enabled()


def _pin_memory(self: Tensor, device: Any = None) -> Tensor:
    """This CPU tensor in page-locked memory, as PyTorch: itself when it is pinned already, else a
    copy (gradients flow through it), once an accelerator is available (without one, PyTorch's
    error). ember's backends copy host memory synchronously, so the copy is ordinary memory marked
    pinned: ``x.pin_memory().to(device, non_blocking=True)`` (nanoGPT's batches) runs unchanged.

    Example:
        >>> import ember
        >>> if ember.accelerator.is_available():
        ...     assert ember.ones(2).pin_memory().is_pinned()
    """
    if device is not None:
        warnings.warn("The argument 'device' of Tensor.pin_memory() is deprecated. Please do not pass this "
                      "argument.", DeprecationWarning, stacklevel=2)
    if _is_pinned(self, device):  # PyTorch asks is_pinned(device) first: its warning shows twice too
        return self
    if self.device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    if device is not None and dispatch.device(device).type == "cpu":
        raise RuntimeError("CPU device type not an accelerator.")
    from ember import accelerator
    from ember.autograd.function import name_grad_fn

    if not accelerator.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    out = name_grad_fn(self.clone(), "PinMemoryBackward0", self)
    out.__dict__["_pinned"] = True  # views of it share the flag through ``_base``
    return out


def _is_pinned(self: Tensor, device: Any = None) -> bool:
    """True for a tensor made by :func:`_pin_memory` and its views."""
    if device is not None:
        warnings.warn("The argument 'device' of Tensor.is_pinned() is deprecated. Please do not pass this "
                      "argument.", DeprecationWarning, stacklevel=2)
    t = self
    while t is not None:
        if t.__dict__.get("_pinned"):
            return True
        t = t._base
    return False


def _share_memory_(self: Tensor) -> Tensor:
    """Move a CPU tensor's storage into shared memory, in place (``ember.multiprocessing``).

    A no-op when it is there already; processes the tensor is sent to then share it. Views
    of its storage made before the move (other than this tensor and its base) keep the old
    memory, so share a tensor before viewing it (PyTorch moves the storage, every view
    included). CUDA tensors are shared through CUDA itself: a no-op there, as in PyTorch.
    Other devices cannot share memory between processes.

    Example:
        >>> t = ember.ones(2).share_memory_()
        >>> t.is_shared()
        True
    """
    from ember.multiprocessing.reductions import rebase_view, share_cpu_array

    kind = self._device.type
    if kind == "cuda" or _is_shared(self):
        return self
    if kind != "cpu":
        raise RuntimeError(f"share_memory_(): tensors on {self._device} cannot be shared between processes "
                           "(only cpu tensors can; CUDA tensors are shared by CUDA itself)")
    base = self._base
    if base is None:
        self._data = share_cpu_array(self._data)
        return self
    # a view: move its base, then point this view at the same place in the base's new memory
    if not base.is_contiguous():
        raise RuntimeError(f"share_memory_(): this tensor views a non-contiguous tensor of shape {tuple(base.shape)}; "
                           "call share_memory_() on a contiguous tensor before taking views of it")
    old = base._data
    _share_memory_(base)
    self._data = rebase_view(self._data, old, base._data)
    return self


def _is_shared(self: Tensor) -> bool:
    """Whether the storage is in shared memory (``share_memory_``); CUDA tensors count as shared."""
    if self._device.type == "cuda":
        return True
    if self._device.type != "cpu":
        return False
    from ember.multiprocessing.reductions import is_shared_array

    return is_shared_array(self._data)


class _Flags:
    """The process-wide switches below (PyTorch keeps them in its global context)."""

    deterministic = False
    deterministic_warn_only = False
    matmul_precision = "highest"
    warn_always = False
    anomaly = False
    anomaly_check_nan = True


def set_default_device(device: Any) -> None:
    """Where factories (``zeros``, ``tensor``, ``arange``...) put tensors when no ``device=`` is given.

    Example:
        >>> ember.set_default_device("cpu")
        >>> ember.get_default_device()
        device(type='cpu')
    """
    dispatch.set_default_device(None if device is None else dispatch.canonical_device(device))


def get_default_device() -> Any:
    """The device of ``set_default_device`` (the cpu unless set)."""
    return dispatch.canonical_device(None)


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the switch (ember's kernels are deterministic for a given backend and seed already)."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' must be bool, not {type(mode).__name__}")
    _Flags.deterministic, _Flags.deterministic_warn_only = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    """The switch of ``use_deterministic_algorithms``."""
    return _Flags.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """``warn_only`` of ``use_deterministic_algorithms``."""
    return _Flags.deterministic_warn_only


def set_deterministic_debug_mode(debug_mode: Any) -> None:
    """0/"default", 1/"warn", 2/"error", as ``use_deterministic_algorithms``."""
    names = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in names:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = names[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0, 1 (warn only) or 2, from ``use_deterministic_algorithms``."""
    return 0 if not _Flags.deterministic else 1 if _Flags.deterministic_warn_only else 2


def set_float32_matmul_precision(precision: str) -> None:
    """Record ``"highest"``, ``"high"`` or ``"medium"`` (ember's float32 matmuls stay float32)."""
    if precision not in ("highest", "high", "medium"):  # PyTorch warns and keeps the old value
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _Flags.matmul_precision = precision


def get_float32_matmul_precision() -> str:
    """The value of ``set_float32_matmul_precision`` (``"highest"`` unless set)."""
    return _Flags.matmul_precision


def set_warn_always(b: bool) -> None:
    """Record whether once-only warnings should always be shown."""
    _Flags.warn_always = bool(b)


def is_warn_always_enabled() -> bool:
    """The value of ``set_warn_always``."""
    return _Flags.warn_always


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly detection (``autograd.detect_anomaly``) on or off."""
    from ember.autograd import anomaly

    anomaly.set_enabled(enabled, check_nan)


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    from ember.autograd import anomaly

    return anomaly.STATE.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection checks backward outputs for NaN."""
    from ember.autograd import anomaly

    return anomaly.STATE.check_nan


def fill(input: Tensor, value: Any) -> Tensor:
    """A tensor like ``input`` filled with ``value`` (out of place ``fill_``)."""
    if isinstance(value, Tensor) and value.dim() != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} "
                           "dimensions.")
    filled = _cr.full_like(input, value.item() if isinstance(value, Tensor) else value)
    # connected to input (a zero gradient), as PyTorch's FillBackward
    return _ew.where(_cr.zeros(tuple(input.shape), dtype=_dt.bool_, device=input.device), input, filled)


# ---------------------------------------------------------------- random fills, element callbacks
_NO_P: Any = object()


def _cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with Cauchy samples ``median + sigma * tan(pi * (u - 1/2))``, in place."""
    if not sigma > 0:  # NaN too; PyTorch checks the scale, then the dtype (even of an empty tensor)
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    if not self.dtype.is_floating_point:
        from ember.functions.creation import _cpp_type

        raise RuntimeError("Cauchy distribution is a continuous probability distribution. dtype must be a floating "
                           f"point but you specified {_cpp_type(self.dtype)}")
    u = _cr.rand(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
    return _cr._random_inplace(self, _ew.tan((u - 0.5) * math.pi) * sigma + median)


def _log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> Tensor:
    """Fill with ``exp(N(mean, std))`` samples, in place."""
    if not std > 0:  # NaN too
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    if not self.dtype.is_floating_point and self.numel():  # PyTorch's kernel: real floating dtypes only
        raise _cr._kernel_refusal(f"log_normal_{self.device.type}", self.dtype)
    z = _cr.randn(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
    return _cr._random_inplace(self, _ew.exp(z * std + mean))


def _geometric_(self: Tensor, p: float = _NO_P, *, generator: Any = None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...), in place."""
    if p is _NO_P:
        raise TypeError('geometric_() missing 1 required positional arguments: "p"')
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    if (self.dtype is _dt.bool_ or self.dtype.is_complex) and self.numel():  # no kernel for these dtypes
        raise _cr._kernel_refusal(f"geometric_{self.device.type}", self.dtype)
    u = _cr.rand(tuple(self.shape), generator=generator, device=self.device)
    return _cr._random_inplace(self, _ew.ceil(_ew.log1p(-u) / math.log1p(-p)).clamp(min=1))


def _map_values(self: Tensor, fn: Any, name: str, *others: Tensor) -> Tensor:
    if self.device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    cast = float if self.dtype.is_floating_point else bool if self.dtype is _dt.bool_ else int
    flat = [_sh.reshape(o.expand_as(self) if o.shape != self.shape else o, -1).tolist() for o in others]
    values = [cast(fn(*vs)) for vs in zip(_sh.reshape(self, -1).tolist(), *flat)]
    return _cr._random_inplace(self, _cr.tensor(values, dtype=self.dtype).reshape(tuple(self.shape)))


def _apply_(self: Tensor, callable: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Replace each element ``x`` by ``callable(x)``, in place (CPU tensors, slow, as in PyTorch)."""
    return _map_values(self, callable, "apply_")


def _map_(self: Tensor, tensor: Tensor, callable: Any) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], tensor[i])`` in place (``tensor`` broadcasts; CPU tensors)."""
    return _map_values(self, callable, "map_", tensor)


def _map2_(self: Tensor, x: Tensor, y: Tensor, callable: Any) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], x[i], y[i])`` in place (CPU tensors)."""
    return _map_values(self, callable, "map2_", x, y)


# ---------------------------------------------------------------- resizing, layouts, ATen-level forms
def _resize_(self: Tensor, *sizes: Any, memory_format: Any = None) -> Tensor:
    """Give ``self`` the shape ``sizes``, keeping its leading elements in row-major order; new
    elements are uninitialised (zeros here). Refused for tensors that require grad, as in PyTorch."""
    shape = _sh._shape_args(sizes)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    n, flat = math.prod(shape), _sh.reshape(self.detach(), -1)
    if n <= flat.numel():
        new = _sh.clone(flat[:n])
    else:
        new = _sh.cat([flat, _cr.zeros(n - flat.numel(), dtype=self.dtype, device=self.device)])
    self._set_data(_sh.reshape(new, shape)._data)
    self._version[0] += 1
    return self


def _resize_as_(self: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``resize_`` to ``the_template``'s shape."""
    return _resize_(self, tuple(the_template.shape))


def resize_as_(input: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``input.resize_as_(the_template)``."""
    return _resize_as_(input, the_template)


def _dim_order(self: Tensor, *, ambiguity_check: Any = False) -> tuple:
    """The dims from outermost to innermost in memory (``(0, 1, ..., n-1)`` when contiguous)."""
    kt, data = self._kt, self._data
    if kt["is_contiguous"](data) or not kt.has("strides"):
        return tuple(_builtin_range(self.dim()))
    strides = tuple(kt["strides"](data))
    return tuple(sorted(_builtin_range(self.dim()), key=lambda d: -strides[d]))


def empty_permuted(size: Sequence[int], physical_layout: Sequence[int], *, dtype: Any = None, layout: Any = None,
                   device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of shape ``size`` laid out in memory in the dim order ``physical_layout``.

    Example:
        >>> ember.empty_permuted((2, 3, 4), (0, 2, 1)).shape
        ember.Size([2, 3, 4])
    """
    size, order = tuple(int(s) for s in size), tuple(int(d) for d in physical_layout)
    if len(size) != len(order):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; i.e. "
                           f"len(size) = {len(size)} is not equal to len(physical_layout) = {len(order)}")
    if sorted(order) != list(_builtin_range(len(size))):
        raise RuntimeError("Duplicate dim not allowed")
    inverse = [0] * len(order)
    for i, d in enumerate(order):
        inverse[d] = i
    dense = _cr.empty(*[size[d] for d in order], dtype=dtype, device=device)
    return _cr._finish(_sh.permute(dense, tuple(inverse)), requires_grad)


def _dense_order(size: tuple, stride: tuple) -> tuple | None:
    """The dim order (outermost first) whose dense layout has exactly ``stride``, or None."""
    order = sorted(_builtin_range(len(size)), key=lambda d: (-stride[d], -size[d]))
    expect = 1
    for d in reversed(order):
        if size[d] != 1 and stride[d] != expect:
            return None
        expect *= size[d]
    return tuple(order)


def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None, layout: Any = None,
                  device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor with ``size`` and ``stride``; the strides must describe a dense layout
    (some order of the dims, no gaps or overlaps: what ember's views can express)."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    order = _dense_order(size, stride)
    if order is None:
        raise NotImplementedError(f"empty_strided: strides {list(stride)} with gaps or overlaps for size "
                                  f"{list(size)}: ember's tensors are dense")
    return empty_permuted(size, order, dtype=dtype, device=device, requires_grad=requires_grad)


def _new_empty_strided(self: Tensor, size: Sequence[int], stride: Sequence[int], *, dtype: Any = None,
                       device: Any = None, requires_grad: bool = False, **_kw: Any) -> Tensor:
    """``empty_strided`` with this tensor's dtype and device unless given."""
    if _kw:
        from ember.functions.creation import _RANGED, _extras

        _extras("new_empty_strided", _kw, _RANGED - {"out"})
    return empty_strided(size, stride, dtype=dtype or self.dtype, device=device or self.device,
                         requires_grad=requires_grad)


_TENSOR_TYPES = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
                 "BFloat16Tensor": "bfloat16"}


def set_default_tensor_type(t: Any) -> None:
    """Deprecated: ``set_default_dtype`` of a floating tensor type (``"torch.DoubleTensor"``)."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    name = (t if isinstance(t, str) else getattr(t, "__name__", str(t))).split(".")[-1]
    if name not in _TENSOR_TYPES:
        raise TypeError("only floating-point types are supported as the default type")
    _dt.set_default_dtype(getattr(_dt, _TENSOR_TYPES[name]))


def native_layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None, bias: Tensor | None,
                      eps: float) -> tuple:
    """``(output, mean, rstd)`` of layer norm; ``mean``/``rstd`` keep the normalised dims as size 1."""
    from ember.nn._layer_norm import native_layer_norm as checked

    return checked(input, normalized_shape, weight, bias, eps)


def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple:
    """``(output, mask)``: dropout and the bool mask of kept elements (all kept out of training)."""
    if not train:
        return _sh.clone(input), _cr.ones(tuple(input.shape), dtype=_dt.bool_, device=input.device)
    keep = _cr.bernoulli(_cr.full(tuple(input.shape), 1 - p, dtype=input.dtype, device=input.device)).to(_dt.bool_)
    scale = 1 / (1 - p) if p < 1 else 0.0
    return input * keep * scale, keep


@numpy_names
def frobenius_norm(input: Tensor, dim: Sequence[int] = (), keepdim: bool = False, *,
                   out: Tensor | None = None) -> Tensor:
    """Deprecated: ``linalg.vector_norm(input, 2, dim, keepdim)``."""
    from ember.linalg import vector_norm

    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will be removed "
                  "in a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, keepdim)` instead",
                  UserWarning, stacklevel=2)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    result = vector_norm(input, 2, dims or None, keepdim)
    return _ew._out(result, out) if out is not None else result


# ---------------------------------------------------------------- ``*_copy``: a view op's result, copied
def _copy_of(view: Any, name: str) -> Any:
    """``torch.<view>_copy``: the view op's result in fresh memory (the functionalised form)."""

    def op(input: Tensor, *args: Any, out: Tensor | None = None, **kwargs: Any) -> Any:
        result = view(input, *args, **kwargs)
        result = tuple(_sh.clone(r) for r in result) if isinstance(result, (tuple, list)) else _sh.clone(result)
        return _ew._out(result, out) if out is not None else result

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{view.__name__.lstrip('_')}`` copied into new memory (no view of the input)."
    return op


def _detach(input: Tensor) -> Tensor:
    return input.detach()


def _alias(input: Tensor) -> Tensor:
    return input[...]


def _view_any(input: Tensor, *shape: Any) -> Tensor:
    return input.view(*shape)


def _expand_any(input: Tensor, *sizes: Any, implicit: bool = False) -> Tensor:
    return input.expand(*sizes)


def _unfold_any(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    return input.unfold(dimension, size, step)


def _slice_any(input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
               step: int = 1) -> Tensor:
    return input[(slice(None),) * _wrap_dim(dim, input.dim()) + (slice(start, end, step),)]


_COPIES = {f"{n}_copy": _copy_of(fn, f"{n}_copy") for n, fn in (
    ("view", _view_any), ("permute", _sh.permute), ("t", _sh.t), ("transpose", _sh.transpose),
    ("unsqueeze", _sh.unsqueeze), ("squeeze", _sh.squeeze), ("expand", _expand_any), ("diagonal", _sh.diagonal),
    ("select", _sh.select), ("narrow", _sh.narrow), ("split", _sh.split),
    ("split_with_sizes", split_with_sizes), ("unbind", _sh.unbind), ("unfold", _unfold_any),
    ("slice", _slice_any), ("detach", _detach), ("alias", _alias))}
globals().update(_COPIES)


# ---- declarations: Tensor methods, in-place forms, ``ember.*`` and ``__all__`` come from these ----
_ops = Family(__name__)
_op = _ops.op
for _fn in (ravel, tensor_split, hsplit, vsplit, dsplit, split_with_sizes, unsafe_split, unsafe_chunk,
            unsafe_split_with_sizes, diagflat, select_scatter, diagonal_scatter, dist, adjoint,
            cov, corrcoef, isreal, is_nonzero, is_same_size, is_signed, is_inference, is_conj,
            is_neg, conj, resolve_conj, resolve_neg, positive, is_complex):
    _op(_fn)
for _fn in (frexp, isneginf, isposinf):
    _op(_fn, out=True)
for _fn in (range, chain_matmul):
    _op(_fn, method=False, out=True)
for _fn in (column_stack, row_stack, dstack):
    _op(_fn, method=False, out=True)
for _fn in (atleast_3d, unravel_index, combinations, hann_window,
            hamming_window, blackman_window, bartlett_window, kaiser_window, trapezoid, trapz,
            cumulative_trapezoid, gradient, rsub, can_cast, typename,
            is_inference_mode_enabled, set_default_device, get_default_device, use_deterministic_algorithms,
            are_deterministic_algorithms_enabled, is_deterministic_algorithms_warn_only_enabled,
            set_deterministic_debug_mode, get_deterministic_debug_mode, set_float32_matmul_precision,
            get_float32_matmul_precision, set_warn_always, is_warn_always_enabled, set_anomaly_enabled,
            is_anomaly_enabled, is_anomaly_check_nan_enabled, fill):
    _op(_fn, method=False)
for _fn in (clamp_min, clamp_max):
    _op(_fn, inplace=True, export_inplace=True, out=SAME)  # ``out=`` generated (ember._ops.out)
for _fn in (ldexp, addmv):
    _op(_fn, inplace=True, export_inplace=True, out=True)
_op(slice_scatter, out=EXACT)
_op(isin, method=False, out=EXACT)
for _fn in (addr, addbmm, renorm):
    _op(_fn, inplace=True, out=True)
_op(signbit, out=True)
_op(sgn, inplace=True, out=True)
_op(conj_physical, inplace=_conj_physical_, export_inplace=True, out=True)
# ``x.real`` / ``x.imag`` are properties in PyTorch: ``x`` itself, and an error, for a real tensor
_op(real, method=property(real))
_op(imag, method=property(imag))
_op(put, inplace=_put_)
_op(_fill_diagonal_, "fill_diagonal_", export=False)
_op(_sum_to_size, "sum_to_size", export=False)
_op(_type_as, "type_as", export=False)
_op(_new, "new", export=False)
_op(_pin_memory, "pin_memory", export=False)
_op(_is_pinned, "is_pinned", export=False)
_op(_share_memory_, "share_memory_", export=False)
_op(_is_shared, "is_shared", export=False)
_op(_cauchy_, "cauchy_", export=False)
_op(_log_normal_, "log_normal_", export=False)
_op(_geometric_, "geometric_", export=False)
_op(_apply_, "apply_", export=False)
_op(_resize_, "resize_", export=False)
_op(resize_as_, inplace=False, method=_resize_as_)
_op(_dim_order, "dim_order", export=False)
_op(_new_empty_strided, "new_empty_strided", export=False)
for _fn in (set_default_tensor_type, native_layer_norm, native_dropout, empty_permuted, empty_strided):
    _op(_fn, method=False)
_op(frobenius_norm, method=False, out=True)
_op(_map_, "map_", export=False)
_op(_map2_, "map2_", export=False)
for _copy_name, _fn in _COPIES.items():
    _op(_fn, _copy_name, method=_copy_name == "narrow_copy", out=True)

__all__ = _ops.names()
