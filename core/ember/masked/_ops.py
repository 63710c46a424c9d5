"""The strided half of PyTorch's ``torch.masked._ops``, composed of ember ops.

PyTorch's recipe, followed step by step so that dtypes, NaNs and errors agree: the mask is made
canonical (``_input_mask``: broadcast to the input's shape, cast to bool), masked-out elements are
replaced by the reduction's identity (``_reduction_identity``) with ``where``, and the ordinary op
runs on the result. ``where`` carries the gradient to the masked-in elements only.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import ember
from ember import dtypes as _dt
from ember.tensor import Tensor

__all__ = ["sum", "prod", "cumsum", "cumprod", "amax", "amin", "argmax", "argmin", "mean", "median", "logsumexp",
           "logaddexp", "norm", "var", "std", "softmax", "log_softmax", "softmin", "normalize"]

DimOrDims = int | Sequence[int] | None

#: the integer dtypes ``sum``/``prod`` accumulate in int64 (PyTorch's list)
_SMALL_INTS = (_dt.uint8, _dt.bool_, _dt.int8, _dt.int16, _dt.int32)


def _check_strided(input: Any, name: str) -> None:
    """Only strided tensors (PyTorch's sparse and MaskedTensor inputs are not supported here)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"masked {name} expects a Tensor (got {type(input).__name__})")
    if input.layout is not ember.strided:
        raise ValueError(f"masked {name} expects strided tensor (got {input.layout} tensor)")


def _reduction_identity(op_name: str, input: Tensor, *args: Any) -> Tensor | None:
    """The value that leaves the reduction unchanged, as a 0-d tensor of the input's dtype (PyTorch's
    ``_reduction_identity``), or None where it is not defined (mean, var, std)."""
    dtype, device = input._dtype, input.device
    if op_name in ("sum", "cumsum"):
        return ember.tensor(0, dtype=dtype, device=device)
    if op_name in ("prod", "cumprod"):
        return ember.tensor(1, dtype=dtype, device=device)
    if op_name in ("amax", "argmax", "logaddexp", "logsumexp"):
        if dtype.is_floating_point:
            return ember.tensor(-math.inf, dtype=dtype, device=device)
        if op_name == "logsumexp" and dtype.is_complex:
            return ember.tensor(complex(-math.inf, 0.0), dtype=dtype, device=device)
        if (dtype.is_signed and not dtype.is_complex) or dtype is _dt.uint8:
            return ember.tensor(ember.iinfo(dtype).min, dtype=dtype, device=device)
    elif op_name in ("amin", "argmin"):
        if dtype.is_floating_point:
            return ember.tensor(math.inf, dtype=dtype, device=device)
        if (dtype.is_signed and not dtype.is_complex) or dtype is _dt.uint8:
            return ember.tensor(ember.iinfo(dtype).max, dtype=dtype, device=device)
    elif op_name in ("mean", "var", "std"):
        return None
    elif op_name == "norm":
        ord = args[0] if args else 2
        if ord == -math.inf:
            if not dtype.is_floating_point:
                raise AssertionError(f"input must be floating point, got {dtype}")
            return ember.tensor(math.inf, dtype=dtype, device=device)
        return ember.tensor(0, dtype=dtype, device=device)
    elif op_name == "median":
        # NaN: the reduction is nanmedian, which skips it
        return ember.tensor(math.nan, dtype=dtype if dtype.is_floating_point else _dt.float32, device=device)
    raise NotImplementedError(f"identity of {op_name} on {dtype} input")


def _canonical_dim(dim: DimOrDims, ndim: int) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative dims; None and () mean every dim (PyTorch's rule)."""
    if dim == ():
        dim = None
    if dim is None:
        return tuple(range(ndim))
    ndim = builtins.max(ndim, 1)
    dims: list[int] = []
    for d in (dim,) if isinstance(dim, int) else dim:
        if d in dims:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        if d >= ndim or d < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {d})")
        dims.append(d % ndim)
    return tuple(sorted(dims))


def _input_mask(input: Tensor, mask: Tensor) -> Tensor:
    """The mask broadcast to the input's shape, as bool (a mask of more dims than the input refuses)."""
    if tuple(mask.shape) != tuple(input.shape):
        if mask.dim() > input.dim():
            raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality higher than of the input)")
        mask = ember.broadcast_to(mask.clone(), tuple(input.shape))
    return mask.to(dtype=_dt.bool_)


def _combine_input_and_mask(op_name: str, input: Tensor, mask: Tensor | None, *args: Any) -> Tensor:
    """``input`` with its masked-out elements replaced by the identity of ``op_name``."""
    if mask is None:
        return input
    canonical = _input_mask(input, mask)
    return ember.where(canonical, input, _reduction_identity(op_name, input, *args))


def _sum_dtype(input: Tensor, dtype: _dt.dtype | None) -> _dt.dtype:
    """``sum``/``prod`` accumulate bool and integers narrower than 64 bits in int64."""
    if dtype is not None:
        return dtype
    return _dt.int64 if input._dtype in _SMALL_INTS else input._dtype


def sum(input: Tensor, dim: DimOrDims = None, *, keepdim: bool | None = False, dtype: _dt.dtype | None = None,
        mask: Tensor | None = None) -> Tensor:
    """``torch.masked.sum``: the sum of the masked-in elements over ``dim`` (0 where none is)."""
    _check_strided(input, "sum")
    dtype = _sum_dtype(input, dtype)
    dims = _canonical_dim(dim, input.dim())
    mask_input = _combine_input_and_mask("sum", input, mask)
    return ember.sum(mask_input, dims, bool(keepdim), dtype=dtype)


def prod(input: Tensor, dim: DimOrDims = None, *, keepdim: bool | None = False, dtype: _dt.dtype | None = None,
         mask: Tensor | None = None) -> Tensor:
    """``torch.masked.prod``: the product of the masked-in elements over ``dim`` (1 where none is)."""
    _check_strided(input, "prod")
    dtype = _sum_dtype(input, dtype)
    dims = _canonical_dim(dim, input.dim())
    result = _combine_input_and_mask("prod", input, mask).to(dtype=dtype)
    for d in reversed(dims):  # one dim at a time, last first, as PyTorch
        result = result.prod(dim=d, keepdim=bool(keepdim))
    return result


def cumsum(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.cumsum``: masked-out elements count as 0."""
    _check_strided(input, "cumsum")
    dtype = input._dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.dim())[0]
    return ember.cumsum(_combine_input_and_mask("sum", input, mask), d, dtype=dtype).to(dtype=dtype)


def cumprod(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.cumprod``: masked-out elements count as 1."""
    _check_strided(input, "cumprod")
    dtype = input._dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.dim())[0]
    return ember.cumprod(_combine_input_and_mask("prod", input, mask), d, dtype=dtype).to(dtype=dtype)


def _extremum(name: str, input: Tensor, dim: DimOrDims, keepdim: bool | None, dtype: _dt.dtype | None,
              mask: Tensor | None) -> Tensor:
    _check_strided(input, name)
    dtype = input._dtype if dtype is None else dtype
    mask_input = _combine_input_and_mask(name, input, mask)
    dims = _canonical_dim(dim, mask_input.dim())
    op = ember.amax if name == "amax" else ember.amin
    return op(mask_input, dims, bool(keepdim)).to(dtype=dtype)


def amax(input: Tensor, dim: DimOrDims = None, *, keepdim: bool | None = False, dtype: _dt.dtype | None = None,
         mask: Tensor | None = None) -> Tensor:
    """``torch.masked.amax``: the largest masked-in element (-inf, or the dtype's minimum, where none is)."""
    return _extremum("amax", input, dim, keepdim, dtype, mask)


def amin(input: Tensor, dim: DimOrDims = None, *, keepdim: bool | None = False, dtype: _dt.dtype | None = None,
         mask: Tensor | None = None) -> Tensor:
    """``torch.masked.amin``: the smallest masked-in element (inf, or the dtype's maximum, where none is)."""
    return _extremum("amin", input, dim, keepdim, dtype, mask)


def _arg_extremum(name: str, input: Tensor, dim: int | None, keepdim: bool | None, dtype: _dt.dtype | None,
                  mask: Tensor | None) -> Tensor:
    _check_strided(input, name)
    # PyTorch's default dtype here is the input's: float indices for a float input
    dtype = input._dtype if dtype is None else dtype
    mask_input = _combine_input_and_mask(name, input, mask)
    op = ember.argmax if name == "argmax" else ember.argmin
    return op(mask_input, dim, bool(keepdim)).to(dtype=dtype)


def argmax(input: Tensor, dim: int | None = None, *, keepdim: bool | None = False, dtype: _dt.dtype | None = None,
           mask: Tensor | None = None) -> Tensor:
    """``torch.masked.argmax``: the index of the largest masked-in element, in ``dtype`` (the input's)."""
    return _arg_extremum("argmax", input, dim, keepdim, dtype, mask)


def argmin(input: Tensor, dim: int | None = None, *, keepdim: bool | None = False, dtype: _dt.dtype | None = None,
           mask: Tensor | None = None) -> Tensor:
    """``torch.masked.argmin``: the index of the smallest masked-in element, in ``dtype`` (the input's)."""
    return _arg_extremum("argmin", input, dim, keepdim, dtype, mask)


def mean(input: Tensor, dim: DimOrDims = None, *, keepdim: bool | None = False, dtype: _dt.dtype | None = None,
         mask: Tensor | None = None) -> Tensor:
    """``torch.masked.mean``: the mean of the masked-in elements (NaN where none is)."""
    _check_strided(input, "mean")
    source = "Optional"
    if dtype is None:
        dtype, source = input._dtype, "Input"
    if not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(f"mean(): Could not infer output dtype. {source} dtype must be either "
                         f"a floating point or complex dtype. Got: {dtype}")
    if mask is None:
        count = sum(ember.ones(tuple(input.shape), dtype=_dt.int64, device=input.device), dim, keepdim=keepdim)
        total = sum(input, dim, keepdim=keepdim, dtype=dtype)
    else:
        inmask = _input_mask(input, mask)
        count = inmask.sum(dim=_canonical_dim(dim, input.dim()), keepdim=bool(keepdim))
        total = sum(input, dim, keepdim=keepdim, dtype=dtype, mask=inmask)
    return total / count


def median(input: Tensor, dim: int = -1, *, keepdim: bool = False, dtype: _dt.dtype | None = None,
           mask: Tensor | None = None) -> Tensor:
    """``torch.masked.median``: the (lower) median of the masked-in elements along ``dim`` (NaN where none
    is; an integer input with a fully masked-out row refuses)."""
    _check_strided(input, "median")
    dtype = input._dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.dim())[0]
    is_float = input._dtype.is_floating_point
    if not is_float:
        input = input.to(dtype=_dt.float32)
    output = ember.nanmedian(_combine_input_and_mask("median", input, mask), d, keepdim).values
    if is_float:
        return output
    if not bool(ember.isnan(output).any()):
        return output.to(dtype=dtype)
    raise ValueError("masked median expects no fully masked out rows if dtype is not floating point")


def logsumexp(input: Tensor, dim: DimOrDims = None, *, keepdim: bool = False, dtype: _dt.dtype | None = None,
              mask: Tensor | None = None) -> Tensor:
    """``torch.masked.logsumexp``: masked-out elements count as -inf."""
    _check_strided(input, "logsumexp")
    dtype = input._dtype if dtype is None else dtype
    dims = _canonical_dim(dim, input.dim())
    return ember.logsumexp(_combine_input_and_mask("logsumexp", input, mask), dims, keepdim=keepdim).to(dtype=dtype)


def logaddexp(input: Tensor, other: Tensor, *, dtype: _dt.dtype | None = None, input_mask: Tensor | None = None,
              other_mask: Tensor | None = None) -> Tensor:
    """``torch.masked.logaddexp``: ``logaddexp(input, other)`` with masked-out elements of either as -inf."""
    _check_strided(input, "logaddexp")
    _check_strided(other, "logaddexp")
    dtype = input._dtype if dtype is None else dtype
    a = _combine_input_and_mask("logaddexp", input, input_mask)
    b = _combine_input_and_mask("logaddexp", other, other_mask)
    return ember.logaddexp(a, b).to(dtype=dtype)


def norm(input: Tensor, ord: float | None = 2.0, dim: DimOrDims = None, *, keepdim: bool | None = False,
         dtype: _dt.dtype | None = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.norm``: the vector norm of the masked-in elements (0 where none is; inf for ord=-inf)."""
    _check_strided(input, "norm")
    dtype = input._dtype if dtype is None else dtype
    mask_input = _combine_input_and_mask("norm", input, mask, ord)
    dims = _canonical_dim(dim, input.dim())
    return ember.linalg.vector_norm(mask_input, ord, dims, bool(keepdim), dtype=dtype)


def _std_var(input: Tensor, dim: DimOrDims, unbiased: bool | None, correction_opt: float | None,
             keepdim: bool | None, dtype: _dt.dtype | None, mask: Tensor | None, take_sqrt: bool) -> Tensor:
    _check_strided(input, "std/var")
    if unbiased is not None and correction_opt is not None:
        raise AssertionError("Only one of unbiased and correction may be given")
    correction = 1.0
    if unbiased is not None:
        correction = 1.0 if unbiased else 0.0
    if correction_opt is not None:
        correction = float(correction_opt)
    if dtype is None:
        dtype = input._dtype
        if not (dtype.is_floating_point or dtype.is_complex):
            dtype = _dt.float32
    compute_dtype = dtype if (dtype.is_floating_point or dtype.is_complex) else _dt.float32
    inmask = None
    if mask is None:
        count = sum(ember.ones(tuple(input.shape), dtype=_dt.int64, device=input.device), dim, keepdim=True)
        sample_total = sum(input, dim, keepdim=True, dtype=dtype)
    else:
        inmask = _input_mask(input, mask)
        count = inmask.sum(dim=_canonical_dim(dim, input.dim()), keepdim=True)
        sample_total = sum(input, dim, keepdim=True, dtype=dtype, mask=inmask)
    x = ember.subtract(input, ember.divide(sample_total, count))
    total = sum(x * x.conj(), dim, keepdim=keepdim, dtype=compute_dtype, mask=inmask)
    if not keepdim:
        count = count.reshape(tuple(total.shape))
    if correction != 0:
        count = count.to(_dt.to_real(compute_dtype) if compute_dtype.is_complex else compute_dtype)
        count = ember.subtract(count, correction)
        count = ember.maximum(count, count.new_zeros([]))
    output = ember.divide(total, count).to(dtype=dtype)
    return ember.sqrt(output) if take_sqrt else output


def var(input: Tensor, dim: DimOrDims = None, unbiased: bool | None = None, *, correction: float | None = None,
        keepdim: bool | None = False, dtype: _dt.dtype | None = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.var``: the variance of the masked-in elements (NaN where none is)."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=False)


def std(input: Tensor, dim: DimOrDims = None, unbiased: bool | None = None, *, correction: float | None = None,
        keepdim: bool | None = False, dtype: _dt.dtype | None = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.std``: the standard deviation of the masked-in elements (NaN where none is)."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=True)


def _normalization(name: str, identity: str, input: Tensor, dim: int, dtype: _dt.dtype | None,
                   mask: Tensor | None) -> Tensor:
    _check_strided(input, name)
    dtype = input._dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.dim())[0]
    return getattr(ember.nn.functional, name)(_combine_input_and_mask(identity, input, mask), d, dtype=dtype)


def softmax(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.softmax``: masked-out elements get 0 (a fully masked-out row is NaN)."""
    return _normalization("softmax", "amax", input, dim, dtype, mask)


def log_softmax(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.log_softmax``: masked-out elements get -inf (a fully masked-out row is NaN)."""
    return _normalization("log_softmax", "amax", input, dim, dtype, mask)


def softmin(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None, mask: Tensor | None = None) -> Tensor:
    """``torch.masked.softmin``: masked-out elements get 0 (a fully masked-out row is NaN)."""
    return _normalization("softmin", "amin", input, dim, dtype, mask)


def normalize(input: Tensor, ord: float, dim: int, *, eps: float = 1e-12, dtype: _dt.dtype | None = None,
              mask: Tensor | None = None) -> Tensor:
    """``torch.masked.normalize``: masked-in elements divided by their ``ord``-norm (at least ``eps``);
    masked-out elements are 0."""
    _check_strided(input, "normalize")
    dtype = input._dtype if dtype is None else dtype
    mask_input = _combine_input_and_mask("sum", input, mask)
    nrm = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return ember.divide(mask_input, ember.maximum(nrm, nrm.new_full([], eps)))
