"""Matrix products: ``matmul`` (every PyTorch broadcasting case), ``mm``, ``bmm``, ``mv``, ``dot``,
``outer``, ``einsum``.

Example:
    >>> import ember
    >>> a = ember.ones(2, 3, 4)
    >>> (a @ ember.ones(4)).shape
    ember.Size([2, 3])
    >>> ember.einsum("bij,bjk->bik", a, ember.ones(2, 4, 5)).shape
    ember.Size([2, 3, 5])
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes as _dt
from ember._ops.numpy_names import numpy_names
from ember._ops.out import CAST, EXACT
from ember._ops.registry import Family
from ember.autograd.function import Function, grad_fn_name, name_grad_fn
from ember.functions.elementwise import in_opmath
from ember.tensor import Tensor


def _type_word(d: _dt.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int"}.get(d.name, d.name)


# The C++ type names PyTorch's mm kernels print ("int != float"); ScalarType names elsewhere.
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}


def _dtype_mismatch(a: Tensor, b: Tensor) -> RuntimeError:
    """PyTorch's error for operands of two dtypes, which depends on the kernel matmul picks for the
    ranks: dot (vector . vector), addmv (matrix @ vector), bmm (a stack on the right), else mm."""
    from ember.tensor import _TYPE_NAMES

    def word(d: _dt.dtype) -> str:
        return _TYPE_NAMES[d].removesuffix("Tensor") if d in _TYPE_NAMES else d.name

    if a.dim() == 1 and b.dim() == 1:
        return RuntimeError(f"dot : expected both vectors to have same dtype, but found {word(a._dtype)} and "
                            f"{word(b._dtype)}")
    if b.dim() == 1:
        return RuntimeError(f"addmv input tensors must have the same dtype, but got {word(b._dtype)}, "
                            f"{word(a._dtype)}, and {word(b._dtype)}")
    if b.dim() >= 3:
        return RuntimeError(f"expected scalar type {word(a._dtype)} but found {word(b._dtype)}")
    return RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_CPP_NAMES[a._dtype.name]} != "
                        f"{_CPP_NAMES[b._dtype.name]}")


class Matmul(Function):
    """Batched product of operands with ndim >= 2; batch axes broadcast."""

    _backward_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if b.requires_grad else None, b if a.requires_grad else None)
        sa, sb = ctx.ashape, ctx.bshape = a._data.shape, b._data.shape
        if sa[-1] == 0:  # an empty inner sum: zeros (backends need not handle it; NumPy's folding fails)
            from ember.functions.creation import zeros
            from ember.functions.elementwise import broadcast_shapes

            shape = tuple(broadcast_shapes(tuple(sa[:-2]), tuple(sb[:-2]))) + (sa[-2], sb[-1])
            return zeros(shape, dtype=a.dtype, device=a.device)
        return a._new(a._kt["matmul"](a._data, b._data))

    @staticmethod
    def backward(ctx, g):
        from ember.functions.elementwise import unbroadcast

        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(Matmul.apply(g, b.mH), ctx.ashape)  # mH: the conjugate transpose (complex)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(Matmul.apply(a.mH, g), ctx.bshape)
        return ga, gb


def _refuse_bool_product(input: Tensor, other: Tensor) -> None:
    """PyTorch's error for a bool matrix product, naming the kernel its matmul picks for these ranks
    (an empty mm/mv/bmm computes nothing and succeeds; an empty dot still refuses)."""
    da, db, dev = input.dim(), other.dim(), input._device.type
    if da == 1 and db == 1:
        kernel = "dot"
    elif input.numel() == 0 or other.numel() == 0:
        return
    elif db >= 3:
        kernel = "bmm"
    elif db == 1:
        kernel = f"addmv_impl_{dev}"
    else:
        kernel = f"addmm_impl_{dev}_"
    raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _raise_mismatch(t1: Tensor, t2: Tensor) -> None:
    """The error of the kernel PyTorch's matmul hands mismatched inner sizes to: dot, mv, mm, the
    folded mm/mv of a stack times a matrix or vector (a matrix or vector times a stack folds the same
    way, transposed, when a gradient is needed), else bmm over the broadcast batch."""
    d1, d2 = t1.dim(), t2.dim()
    s1, s2 = tuple(t1.shape), tuple(t2.shape)
    if d1 == 1 and d2 == 1:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{s1[0]}] and src [{s2[0]}] to have the same "
                           f"number of elements, but got {s1[0]} and {s2[0]} elements respectively")
    fold = d1 >= 3 and d2 <= 2
    if d1 <= 2 and d2 >= 3 and (t1.requires_grad or t2.requires_grad):  # folds t2^T @ t1^T
        fold, s1, s2 = True, s2[:-2] + (s2[-1], s2[-2]), s1[::-1]
    if d1 <= 2 and d2 <= 2 or fold:
        rows = math.prod(s1[:-1])
        if len(s2) == 1:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{s1[-1]}), vec ({s2[0]})")
        m1 = (rows, s1[-1]) if len(s1) > 1 else (1, s1[0])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m1[0]}x{m1[1]} and {s2[0]}x{s2[1]})")
    from ember.functions.elementwise import broadcast_shapes

    batch = math.prod(broadcast_shapes(s1[:-2], s2[:-2]))
    inner = s1[-1]
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {inner}] but got: "
                       f"[{batch}, {s2[-2]}].")


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """PyTorch's matmul: 1-D operands gain and then lose an axis; batch axes broadcast."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(b).__name__}")
    if out is None and not (a.is_sparse or b.is_sparse):
        # The common case, decided on the backend's shape tuples (issue #16: the checks below cost
        # ~8 us per product): two dense matrices or stacks of one dtype and device whose inner sizes
        # agree and whose batch axes are equal or absent on one side. Anything else takes the general
        # path, which also raises every error.
        sa, sb = a._data.shape, b._data.shape
        if (len(sa) >= 2 and len(sb) >= 2 and sa[-1] == sb[-2] and a._dtype is b._dtype
                and a._device is b._device and a._dtype is not _dt.bool_
                and (len(sa) == 2 or len(sb) == 2 or sa[:-2] == sb[:-2])):
            return Matmul.apply(a, b)
    if a.is_sparse or b.is_sparse:  # mm, mv, spmm and @ too: ember.sparse composes it from dense ops
        from ember.functions.elementwise import _out
        from ember.sparse import _coo

        return _out(_coo.matmul(a, b), out)
    if a._device is not b._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a._device} and {b._device}!")
    if a._dtype is not b._dtype and a.dim() and b.dim():
        raise _dtype_mismatch(a, b)
    if a.dim() == 0 or b.dim() == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.dim()}D and {b.dim()}D")
    squeeze_a, squeeze_b = a.dim() == 1, b.dim() == 1
    if squeeze_a:
        a = a.unsqueeze(0)
    if squeeze_b:
        b = b.unsqueeze(1)
    from ember.linalg._common import batch_broadcast

    if a.shape[-1] != b.shape[-2]:
        _raise_mismatch(input, other)
    batch_broadcast(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    if a._dtype is _dt.bool_:
        _refuse_bool_product(input, other)
        # an empty bool product (all False, or no elements): backends need not multiply bools
        result = Matmul.apply(a.to(_dt.int64), b.to(_dt.int64)).to(_dt.bool_)
    else:
        result = Matmul.apply(a, b)
    if squeeze_a:
        result = result.squeeze(-2)
    if squeeze_b:
        result = result.squeeze(-1)
        if input.dim() <= 2:  # vector . vector and matrix @ vector are PyTorch's dot and mv
            result = name_grad_fn(result, "DotBackward0" if squeeze_a else "MvBackward0", input, other)
    if out is not None:  # a structured kernel in PyTorch: out must have the result's dtype
        from ember.linalg.triangular import _out

        return _out(result, out)
    return result


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    if input.dim() != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.dim() != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    if input.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.dim() != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, {vec.dim()}")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D tensors")
    if input._dtype is not other._dtype:  # before the sizes, as PyTorch's dot_check
        raise _dtype_mismatch(input, other)
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           "to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return matmul(input, other)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` with ``input`` conjugated (the same as ``dot`` for real tensors)."""
    return dot(input.conj() if input.dtype.is_complex else input, other)


def inner(input: Tensor, other: Tensor) -> Tensor:
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input._dtype is not other._dtype:
        raise RuntimeError("both inputs should have same dtype")
    if input.dim() == 1 and other.dim() == 1:  # PyTorch's tensordot of two vectors is ``dot`` (not autocast)
        return dot(input, other)
    return matmul(input, other.mT if other.dim() > 1 else other) if other.dim() <= 2 else tensordot(input, other, ([-1], [-1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    for name, t in (("self", input), ("vec2", vec2)):
        if t.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.dim()}-D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def _scaled_sum(input: Tensor, product: Tensor, beta: Any, alpha: Any, *, skip_zero_alpha: bool = True) -> Tensor:
    """``beta * input + alpha * product`` as BLAS computes it (PyTorch's addmm family): a zero
    ``beta`` does not read ``input`` and a zero ``alpha`` does not read ``product``, so NaN/inf
    there do not propagate (``0 * inf`` would). A skipped operand keeps its graph and gets a zero
    gradient; a matrix factor's gradient is then ``0 @ other``, NaN where ``other`` holds inf, as in
    PyTorch. ``skip_zero_alpha=False``: addr, whose elementwise kernel does multiply by alpha."""
    from ember.functions.creation import zeros
    from ember.functions.elementwise import add, where

    def unread(t: Tensor, other: Any) -> Tensor:  # ``other`` where t's values would be, t's shape and graph
        return where(zeros(tuple(t.shape), dtype=_dt.bool_, device=t.device), t, other)

    integral = not (input._dtype.is_floating_point or input._dtype.is_complex)
    if integral or not skip_zero_alpha:
        beta, alpha = _integral_scalars(input, beta, alpha, strict=not skip_zero_alpha)
        if input._dtype is _dt.bool_:  # PyTorch's bool rule: (beta and input) or (alpha and product)
            return (input & beta) | (product & alpha)
    if alpha == 0 and skip_zero_alpha:
        product = unread(product, 0)
    elif alpha != 1:
        product = product * alpha
    if beta == 0:
        return unread(input, product)
    return add(input if beta == 1 else input * beta, product)


def _integral_scalars(input: Tensor, beta: Any, alpha: Any, strict: bool) -> tuple[Any, Any]:
    """beta and alpha as PyTorch's kernels use them on integer and bool tensors: converted to the
    tensor's type (C++ casts: truncated toward zero, or bool). ``strict`` (addr) refuses, one
    argument after the other, a bool scalar unless the tensor is bool and a floating one on an
    integer or bool tensor."""
    is_bool = input._dtype is _dt.bool_
    integral = not (input._dtype.is_floating_point or input._dtype.is_complex)
    if strict:
        for name, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, bool) and not is_bool:
                raise RuntimeError(f"Boolean {name} only supported for Boolean results.")
            if integral and isinstance(v, (float, complex)):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point "
                                   "number.")
    if not integral:
        return beta, alpha
    cast = bool if is_bool else int
    return tuple(v if isinstance(v, Tensor) else cast(v.real if isinstance(v, complex) else v) for v in (beta, alpha))


@grad_fn_name("AddmmBackward0")
@in_opmath  # (PyTorch's 16-bit addmm/baddbmm: float32 products and sums, rounded once)
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


@grad_fn_name("BaddbmmBackward0")
@in_opmath
def baddbmm(input: Tensor, b1: Tensor, b2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    # alpha == 0 skips the product as PyTorch's BLAS path does (its small-size loop, used below 400
    # multiply-adds per batch, computes 0 * inf = NaN instead)
    return _scaled_sum(input, bmm(b1, b2), beta, alpha)


def _tensordot_dims(a: Tensor, b: Tensor, dims: Any) -> tuple[list, list]:
    """``dims`` in each of PyTorch's forms (an int, two lists, a tensor of either) as two lists."""
    if isinstance(dims, Tensor):
        if dims.numel() > 1:
            if dims.shape[0] != 2:
                raise AssertionError(f"dims tensor must have size 2 in first dimension, got {dims.shape[0]}")
            return dims[0].tolist(), dims[1].tolist()
        dims = int(dims.item())
    if isinstance(dims, bool) or not isinstance(dims, (int, tuple, list)):
        raise RuntimeError(f"tensordot expects dims to be int or tuple[list[int], list[int]] or list[list[int]] "
                           f"containing two lists, but got dims={dims}")
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.dim(), b.dim()):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(-dims, 0)), list(range(dims))
    da, db = dims
    for name, d in (("dims_self", da), ("dims_other", db)):
        if isinstance(d, int):
            pos = 3 if name == "dims_self" else 4
            raise TypeError(f"tensordot(): argument '{name}' (position {pos}) must be tuple of ints, not int")
    return list(da), list(db)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Tensor | None = None) -> Tensor:
    """Contracts the last ``dims`` dims of ``a`` with the first ``dims`` of ``b`` (or the dims
    listed in ``dims = (dims_a, dims_b)``), through one ``matmul``.

    Example:
        >>> import ember
        >>> ember.tensordot(ember.ones(2, 3, 4), ember.ones(4, 3, 5), dims=([1, 2], [1, 0])).shape
        ember.Size([2, 5])
    """
    from ember.tensor import _wrap_dims

    la, lb = _tensordot_dims(a, b, dims)
    if len(la) != len(lb):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype is not b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    da, db = _wrap_dims(la, a.dim()), _wrap_dims(lb, b.dim())
    for i, j in zip(da, db):
        sa, sb = a.shape[i], b.shape[j]
        if sa != sb:
            if 1 not in (sa, sb):
                raise RuntimeError(f"contracted dimensions need to match, but first has size {sa} in dim {i} and "
                                   f"second has size {sb} in dim {j}")
            # a size-1 dim contracts with the sum over the other side, as in PyTorch
            # (summed in the inputs' dtype, as PyTorch's tensordot: int32 stays int32)
            if sa == 1:
                b = b.sum(j, keepdim=True, dtype=b.dtype)
            else:
                a = a.sum(i, keepdim=True, dtype=a.dtype)
    fa = [d for d in range(a.dim()) if d not in da]
    fb = [d for d in range(b.dim()) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    am = a.permute(fa + da).reshape(math.prod(a.shape[d] for d in fa), k)
    bm = b.permute(db + fb).reshape(k, math.prod(b.shape[d] for d in fb))
    result = matmul(am, bm).reshape([a.shape[d] for d in fa] + [b.shape[d] for d in fb])
    if out is not None:
        from ember.functions.elementwise import _out

        return _out(result, out)
    return result


# ---- diagonals, products of many kinds, distances (issue #14 section 4) ------------------------------
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose diagonals (``offset``, in the planes of ``dim1`` and ``dim2``) hold the last
    dim of ``input``; zero elsewhere.

    Example:
        >>> import ember
        >>> ember.diag_embed(ember.tensor([1, 2]))
        tensor([[1, 0],
                [0, 2]])
    """
    from ember.functions.creation import arange, zeros
    from ember.tensor import _wrap_dim

    nd = input.dim() + 1
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = input.reshape(1) if input.dim() == 0 else input
    k = x.shape[-1]
    n = k + abs(offset)
    pos = arange(k, device=x.device) + (0 if offset >= 0 else -offset)
    flat = pos * n + pos + offset  # (row, row + offset) in an n x n matrix
    batch = list(x.shape[:-1])
    out = zeros(batch + [n * n], dtype=x.dtype, device=x.device).index_copy(len(batch), flat, x)
    return out.reshape(batch + [n, n]).movedim((-2, -1), (d1, d2))


@grad_fn_name("TraceBackward0")
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix (integer matrices sum to int64).

    Example:
        >>> import ember
        >>> ember.trace(ember.tensor([[1, 2], [3, 4]]))
        tensor(5)
    """
    if input.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.dim()}")
    if input.dtype is _dt.bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return input.diagonal().sum()


@numpy_names
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim``; without ``dim``, along the first dim of size 3
    (PyTorch's deprecated default, with its warning). The operands broadcast.

    Example:
        >>> import ember
        >>> ember.cross(ember.tensor([1.0, 0.0, 0.0]), ember.tensor([0.0, 1.0, 0.0]), dim=0)
        tensor([0., 0., 1.])
    """
    from ember.functions.shape import broadcast_tensors, cat
    from ember.tensor import _wrap_dim

    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {_type_word(input.dtype)} but found {_type_word(other.dtype)}")
    if input.dtype is _dt.bool_:
        raise NotImplementedError("\"cross\" not implemented for 'Bool'")
    a, b = broadcast_tensors(input, other)
    if dim is None:
        import warnings

        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        dim = next((i for i, s in enumerate(a.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = _wrap_dim(dim, a.dim())
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {d} must have length 3. Got {input.shape[d]} and "
                           f"{other.shape[d]}")
    a0, a1, a2 = (a.narrow(d, i, 1) for i in range(3))
    b0, b1, b2 = (b.narrow(d, i, 1) for i in range(3))
    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of ``input`` times the whole of ``other``.

    Example:
        >>> import ember
        >>> ember.kron(ember.tensor([1, 2]), ember.tensor([1, 10]))
        tensor([ 1, 10,  2, 20])
    """
    nd = max(input.dim(), other.dim())
    sa = [1] * (nd - input.dim()) + list(input.shape)
    sb = [1] * (nd - other.dim()) + list(other.shape)
    a = input.reshape([v for s in sa for v in (s, 1)])  # interleaved: a's axes then b's, pairwise
    b = other.reshape([v for s in sb for v in (1, s)])
    return (a * b).reshape([x * y for x, y in zip(sa, sb)])


class Cdist(Function):
    """p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M), batch dims already
    broadcast; backward as PyTorch's _cdist_backward (0 where a distance is 0)."""

    _backward_name = "CdistBackward0"

    @staticmethod
    def forward(ctx, x1, x2, p):
        from ember.autograd.grad_mode import no_grad

        with no_grad():
            dist = _pnorm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p)
        ctx.save_for_backward(x1, x2, dist)
        ctx.p = p
        return dist

    @staticmethod
    def backward(ctx, g):
        from ember.autograd.grad_mode import STATE
        from ember.functions.elementwise import where

        x1, x2, dist = ctx.saved_tensors
        p = ctx.p
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        # recorded for a second derivative (create_graph): the distances again, as a function of x1, x2
        d = (_pnorm(diff, p) if STATE.enabled else dist).unsqueeze(-1)
        zero = d == 0
        if p == 0:
            w = diff * 0
        elif p == 1:
            w = diff.sign()
        elif p == 2:
            w = diff / where(zero, 1.0, d)
        elif math.isinf(p):
            w = diff.sign() * (diff.abs() == d).to(diff.dtype)
        else:
            safe = where(zero, 1.0, d)
            w = diff.sign() * diff.abs().pow(p - 1) / safe.pow(p - 1)
            if p < 1:
                w = where(diff == 0, 0.0, w)
        w = where(zero, 0.0, w) * g.unsqueeze(-1)
        return w.sum(-2), -w.sum(-3), None


def _pnorm(diff: Tensor, p: float) -> Tensor:
    a = diff.abs()
    if p == 0:
        return (a != 0).to(diff.dtype).sum(-1)
    if p == 1:
        return a.sum(-1)
    if p == 2:
        return (a * a).sum(-1).sqrt()
    if math.isinf(p):
        return a.amax(-1) if a.shape[-1] else a.sum(-1)
    return a.pow(p).sum(-1).pow(1.0 / p)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """The p-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2`` (..., R, M):
    (..., P, R); batch dims broadcast. ``compute_mode`` is accepted and changes nothing (ember
    always takes the differences directly, which is the exact path).

    Example:
        >>> import ember
        >>> ember.cdist(ember.tensor([[0.0, 0.0]]), ember.tensor([[3.0, 4.0], [1.0, 0.0]]))
        tensor([[5., 1.]])
    """
    from ember.functions.elementwise import broadcast_shapes

    for name, t in (("X1", x1), ("X2", x2)):
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {_type_word(t.dtype)}")
    for name, t in (("X1", x1), ("X2", x2)):
        if t.dim() < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"expected scalar type {_type_word(x1.dtype)} but found {_type_word(x2.dtype)}")
    batch = list(broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2])))
    if x1.dtype in (_dt.bfloat16, _dt.float16) and x1.shape[-2] * x2.shape[-2] > 0:
        # PyTorch's direct kernel has no 16-bit version; only its matmul path for p=2 (taken for more
        # than 25 rows, or asked for) runs in bfloat16/float16
        use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode in (None, "use_mm_for_euclid_dist_if_necessary") and max(x1.shape[-2], x2.shape[-2]) > 25))
        if not use_mm:
            raise NotImplementedError(f"\"cdist\" not implemented for "
                                      f"'{'Half' if x1.dtype is _dt.float16 else 'BFloat16'}'")
    a = x1.expand(batch + list(x1.shape[-2:]))
    b = x2.expand(batch + list(x2.shape[-2:]))
    return Cdist.apply(a, b, float(p))


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-, 1- or 2-D, as 1x1, 1xn and mxn blocks) along the diagonal of one matrix.

    Example:
        >>> import ember
        >>> ember.block_diag(ember.tensor([[1, 2]]), ember.tensor(3))
        tensor([[1, 2, 0],
                [0, 0, 3]])
    """
    from ember.functions.creation import zeros
    from ember.functions.shape import cat, pad_constant

    for i, t in enumerate(tensors):
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.dim()} dimensions")
    if not tensors:
        return zeros(1, 0)
    dtype = _dt.result_type(*tensors)  # 0-d tensors weigh less, as in PyTorch
    blocks = [t.reshape(1, -1) if t.dim() < 2 else t for t in tensors]
    cols = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        c = b.shape[1]
        rows.append(pad_constant(b.to(dtype), ((0, 0), (left, cols - left - c))))
        left += c
    return cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each 1-D tensor, one per row (``itertools.product``).

    Example:
        >>> import ember
        >>> ember.cartesian_prod(ember.tensor([1, 2]), ember.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    from ember.functions.shape import meshgrid, stack

    for t in tensors:
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def _tri_indices(name: str, row: int, col: int, offset: int, dtype: Any, device: Any, lower: bool) -> Tensor:
    from ember.functions.creation import arange
    from ember.functions.indexing import nonzero

    dtype = _dt.int64 if dtype is None else dtype
    if dtype not in (_dt.int32, _dt.int64):  # PyTorch's kernels dispatch on the two index types only
        from ember.functions.complex_ops import type_word

        raise NotImplementedError(f"\"{name}\" not implemented for '{type_word(dtype)}'")
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    r = arange(row, device=device).reshape(row, 1)
    c = arange(col, device=device).reshape(1, col)
    mask = (c - r <= offset) if lower else (c - r >= offset)
    return nonzero(mask).t().contiguous().to(dtype)  # row-major order, as PyTorch's


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The (row, column) coordinates of the lower triangle of a ``row`` x ``col`` matrix, as a 2 x N
    tensor (``offset`` shifts the diagonal, as in ``tril``).

    Example:
        >>> import ember
        >>> ember.tril_indices(3, 3)
        tensor([[0, 1, 1, 2, 2, 2],
                [0, 0, 1, 0, 1, 2]])
    """
    return _tri_indices("tril_indices", row, col, offset, dtype, device, True)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The coordinates of the upper triangle, as :func:`tril_indices`.

    Example:
        >>> import ember
        >>> ember.triu_indices(2, 3, 1)
        tensor([[0, 0, 1],
                [1, 2, 2]])
    """
    return _tri_indices("triu_indices", row, col, offset, dtype, device, False)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803 - PyTorch's name
    """The Vandermonde matrix of the 1-D ``x``: columns x**(N-1), ..., x, 1 (the other way round
    with ``increasing``); bool and integer inputs give int64.

    Example:
        >>> import ember
        >>> ember.vander(ember.tensor([1, 2, 3]), N=3)
        tensor([[1, 1, 1],
                [4, 2, 1],
                [9, 3, 1]])
    """
    from ember.functions.shape import stack

    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(_dt.int64)
    if n == 0:
        return x.unsqueeze(1)[:, :0]
    # repeated products, as PyTorch's cumprod (integer powers exact), one column at a time so the
    # gradient is the product rule's, exact at x = 0 too
    cols = [x.new_ones(x.shape)]
    for _ in range(n - 1):
        cols.append(cols[-1] * x)
    return stack(cols if increasing else cols[::-1], 1)


def rot90(input: Tensor, k: int = 1, dims: Any = (0, 1)) -> Tensor:
    """``input`` rotated by 90 degrees ``k`` times, from the first of ``dims`` towards the second.

    Example:
        >>> import ember
        >>> ember.rot90(ember.tensor([[1, 2], [3, 4]]))
        tensor([[2, 4],
                [1, 3]])
    """
    from ember.tensor import _wrap_dim

    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    d0, d1 = _wrap_dim(dims[0], input.dim()), _wrap_dim(dims[1], input.dim())  # range first, as PyTorch
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return input.flip(d1).transpose(d0, d1)
    if k == 2:
        return input.flip((d0, d1))
    if k == 3:
        return input.flip(d0).transpose(d0, d1)
    return input.clone()


# ---- einsum -------------------------------------------------------------------------------------
# The dims an ellipsis covers get internal labels past the letters, so they never meet a subscript.
_ELL = 0x100


def _einsum_args(args: tuple) -> tuple:
    """(equation, operands) from either of PyTorch's forms: ``(equation, *operands)`` (or one list of
    operands) and the sublist form ``(op0, sublist0, op1, sublist1, ..., [out_sublist])``."""
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    if isinstance(args[0], Tensor):
        def sub(n: Any) -> str:  # 0-25 are 'A'-'Z', 26-51 'a'-'z', as in PyTorch
            if n is Ellipsis:
                return "..."
            if 0 <= n < 26:
                return chr(ord("A") + n)
            if 26 <= n < 52:
                return chr(ord("a") + n - 26)
            raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")

        equation = ",".join("".join(sub(n) for n in lst) for lst in args[1::2])
        if len(args) % 2 == 1:
            return equation + "->" + "".join(sub(n) for n in args[-1]), args[:-1:2]
        return equation, args[::2]
    operands = args[1:]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return args[0], operands


def _einsum_labels(text: str, offset: int, ops: int | None) -> list:
    """The labels of ``text`` (one operand list per ',' when ``ops`` is given), PyTorch's errors on the way."""
    terms: list = [[]]
    found = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == ".":
            where = f"operand {len(terms) - 1}" if ops is not None else "output"
            if found:
                raise RuntimeError(f"einsum(): found '.' for {where} " + (
                    "for which an ellipsis was already found" if ops is not None else
                    "but an ellipsis (...) was already found"))
            if not (i + 2 < len(text) and text[i + 1] == "." and text[i + 2] == "."):
                raise RuntimeError(f"einsum(): found '.' for {where} that is not part of any ellipsis" + (
                    "" if ops is not None else " (...)"))
            terms[-1].append("...")
            found = True
            i += 2
        elif ch == "," and ops is not None:
            terms.append([])
            found = False
            if len(terms) > ops:
                raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
        elif ch.isascii() and ch.isalpha():
            terms[-1].append(ch)
        elif ch != " ":
            raise RuntimeError(f"einsum(): invalid subscript given at index {offset + i} in the equation string, "
                               f"subscripts must be in [a-zA-Z]")
        i += 1
    return terms


def _parse_einsum(equation: str, operands: tuple) -> tuple:
    """Each operand's subscripts and the output's, one character per dim (an ellipsis' dims as
    characters from ``_ELL`` on, right-aligned across operands), checked as PyTorch checks them."""
    arrow = equation.find("->")
    lhs = equation if arrow == -1 else equation[:arrow]
    terms = _einsum_labels(lhs, 0, len(operands))
    if len(terms) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    ell_dims = 0
    counts: dict = {}
    for k, (term, op) in enumerate(zip(terms, operands)):
        n = len(term) - ("..." in term)
        if "..." in term:
            if n > op.dim():
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) is more than the number "
                                   f"of dimensions ({op.dim()}) for operand {k}")
            ell_dims = max(ell_dims, op.dim() - n)
        elif n != op.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does not match the number "
                               f"of dimensions ({op.dim()}) for operand {k} and no ellipsis was given")
        for c in term:
            counts[c] = counts.get(c, 0) + 1
    ell = "".join(chr(_ELL + i) for i in range(ell_dims))
    new_terms = []
    for term, op in zip(terms, operands):
        n = op.dim() - (len(term) - 1)
        new_terms.append("".join(ell[ell_dims - n:] if c == "..." else c for c in term))
    if arrow == -1:  # implicit: the ellipsis dims, then the letters seen once, in order
        return new_terms, ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c != "..."))
    out = ""
    for c in _einsum_labels(equation[arrow + 2:], arrow + 2, None)[0]:
        if c == "...":
            out += ell
        elif not counts.get(c) or c in out:
            raise RuntimeError(f"einsum(): output subscript {c} " + (
                "appears more than once in the output" if c in out else
                "does not appear in the equation for any input operand"))
        else:
            out += c
    return new_terms, out


def _check_einsum_sizes(terms: list, operands: tuple) -> None:
    """PyTorch's size checks: a letter repeated in one operand (a diagonal) has one size; across
    operands a letter's sizes broadcast (1 with anything)."""
    sizes: dict = {}
    for k, (term, op) in enumerate(zip(terms, operands)):
        first: dict = {}
        for j, (c, s) in enumerate(zip(term, op.shape)):
            if c in first:
                if s != op.shape[first[c]]:
                    raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't "
                                       f"match, {s} != {op.shape[first[c]]}")
                continue
            first[c] = j
            prev = sizes.get(c)
            if prev is not None and s != prev and 1 not in (s, prev):
                if ord(c) >= _ELL:  # (PyTorch's message lacks the space before "has")
                    raise RuntimeError(f"einsum(): dimension {ord(c) - _ELL} covered by ellipsis in operand {k}has "
                                       f"size {s} which does not broadcast with previously seen ellipsis with size "
                                       f"{prev} for the respective dimension")
                raise RuntimeError(f"einsum(): subscript {c} has size {s} for operand {k} which does not broadcast "
                                   f"with previously seen size {prev}")
            sizes[c] = s if prev is None or prev == 1 else prev


def _diag_reduce(x: Tensor, term: str) -> tuple:
    """Take diagonals for repeated letters within one term ('ii->i')."""
    while len(set(term)) != len(term):
        for i, c in enumerate(term):
            j = term.find(c, i + 1)
            if j != -1:
                x = x.diagonal(0, i, j)  # moves the diagonal to the last axis
                term = term[:i] + term[i + 1:j] + term[j + 1:] + c
                break
    return x, term


def _sum_out(x: Tensor, term: str, keep: set) -> tuple:
    """``x`` summed over the letters of ``term`` not in ``keep``."""
    drop = [i for i, c in enumerate(term) if c not in keep]
    if drop:
        x = x.sum(dim=tuple(drop))
        term = "".join(c for c in term if c in keep)
    return x, term


def einsum(*args: Any) -> Tensor:
    """Einstein summation, contracted pairwise through ``matmul``.

    Takes an equation and operands, or PyTorch's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.
    """
    equation, operands = _einsum_args(args)
    terms, out = _parse_einsum(equation, operands)
    _check_einsum_sizes(terms, operands)
    items = [_diag_reduce(x, term) for x, term in zip(operands, terms)]

    # Sum out letters that appear in only one operand and not in the output.
    reduced = []
    for k, (x, term) in enumerate(items):
        keep = set(out).union(*(t for j, (_, t) in enumerate(items) if j != k))
        reduced.append(_sum_out(x, term, keep))
    items = reduced
    x, term = items[0]
    for k in range(1, len(items)):
        y, yterm = items[k]
        rest_letters = set(out).union(*(t for _, t in items[k + 1:]))
        batch = [c for c in term if c in yterm and c in rest_letters]
        contract = [c for c in term if c in yterm and c not in rest_letters]
        # a contracted letter of size 1 on one side broadcasts: that side is constant along it, so the
        # other side is summed over it first (PyTorch: 'ij,ij->i' with (2, 1) and (2, 3))
        for c in contract:
            xs, ys = x.shape[term.index(c)], y.shape[yterm.index(c)]
            if xs == 1 and ys != 1:
                y = y.sum(yterm.index(c), keepdim=True)
            elif ys == 1 and xs != 1:
                x = x.sum(term.index(c), keepdim=True)
        left = [c for c in term if c not in yterm]
        right = [c for c in yterm if c not in term]
        xp = x.permute([term.index(c) for c in batch + left + contract])
        yp = y.permute([yterm.index(c) for c in batch + contract + right])
        nb = len(batch)
        bshape = [max(xp.shape[i], yp.shape[i]) for i in range(nb)]
        lshape, rshape = list(xp.shape[nb:nb + len(left)]), list(yp.shape[nb + len(contract):])
        nc = math.prod(xp.shape[nb + len(left):])  # the actual sizes: a letter may be 1 here, broadcast later
        xm = xp.expand(bshape + list(xp.shape[nb:])) if batch else xp
        ym = yp.expand(bshape + list(yp.shape[nb:])) if batch else yp
        xm, ym = xm.reshape(bshape + [math.prod(lshape), nc]), ym.reshape(bshape + [nc, math.prod(rshape)])
        if not contract or nc == 1:  # PyTorch multiplies (dtypes promote, bool works): nothing left to sum
            prod = xm * ym  # ((.., L, 1) * (.., 1, R) is the product over a contracted size of 1)
        elif xm.dtype is not ym.dtype:  # PyTorch contracts with bmm: no promotion
            from ember.functions.complex_ops import type_word

            raise RuntimeError(f"expected scalar type {type_word(xm.dtype)} but found {type_word(ym.dtype)}")
        else:
            prod = matmul(xm, ym)
        x = prod.reshape(bshape + lshape + rshape)
        term = "".join(batch + left + right)
    # Remaining letters not in the output get summed; then order as the output asks.
    x, term = _sum_out(x, term, set(out))
    if term != out:
        x = x.permute([term.index(c) for c in out])
    return x


# ---- declarations: Tensor methods, operators, ``ember.*`` and ``__all__`` come from these ----------
_ops = Family(__name__)
_op = _ops.op
_op(matmul, out=True, kernels=("matmul",), operators=("__matmul__",), reflected=("__rmatmul__",))
# ``out=`` (ember._ops.out): the result's dtype only (EXACT and the ops' own words), or a cast (CAST)
for _fn in (mm, bmm, mv):
    _op(_fn, out=EXACT)
_op(inner, out="tensordot: Expected the output tensor to have dtype {result}, but got an output tensor with dtype {out}")
for _fn in (addmm, baddbmm):
    _op(_fn, inplace=True, out=EXACT)
_op(dot, out="result dtype {out} does not match input dtype {result}")
_op(vdot, out="result dtype {out} does not match input dtype {result}")
_op(outer, aliases=("ger",), out=CAST)
_op(einsum, method=False)
_op(tensordot, method=False, out=True)
_op(diag_embed)
_op(trace)
_op(cross, out=EXACT)
_op(kron, out=CAST)
_op(cdist, method=False)
_op(block_diag, method=False)
_op(cartesian_prod, method=False)
_op(tril_indices, method=False)
_op(triu_indices, method=False)
_op(vander, method=False)
_op(rot90)

__all__ = _ops.names()
