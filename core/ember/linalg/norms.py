"""Vector and matrix norms, ``norm``, ``cond`` and ``matrix_rank``."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.linalg._common import check_float, check_matrix, is_float_or_complex, is_low_precision, type_word
from ember.linalg.triangular import _out, _out_cast
from ember.tensor import Tensor, _wrap_dim, _wrap_dims

__all__ = ["vector_norm", "matrix_norm", "norm", "cond", "matrix_rank"]


def _ord_word(ord: float) -> str:  # noqa: A002 - PyTorch's argument name
    if ord == math.inf:
        return "inf"
    if ord == -math.inf:
        return "-inf"
    return str(int(ord)) if float(ord).is_integer() else str(ord)


def _reduce_dims(x: Tensor, dim: Any) -> tuple[int, ...]:
    if dim is None or (not isinstance(dim, int) and len(dim) == 0):  # () and [] reduce every dim too
        return tuple(range(x.dim()))
    if isinstance(dim, int):
        dim = (dim,)
    if x.dim() == 0:
        _wrap_dims(tuple(dim), 0)
        return ()
    return tuple(sorted(_wrap_dims(tuple(dim), x.dim())))


def _keep(t: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    """A reduced result with its reduced axes restored as size 1 (for broadcasting in backward)."""
    if keepdim:
        return t
    for d in dims:
        t = t.unsqueeze(d)
    return t


class VectorNorm(Function):
    _backward_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim):  # noqa: A002
        x16 = x.dtype in (_dt.float16, _dt.bfloat16)
        xin, x = x, x.float() if x16 else x  # PyTorch accumulates 16-bit norms in float32: [300, 300] is no inf
        a = x.abs()
        if ord == 2:
            out = (x * x).sum(dims, keepdim=keepdim).sqrt()
        elif ord == 1:
            out = a.sum(dims, keepdim=keepdim)
        elif ord == math.inf:
            out = a.amax(dims, keepdim=keepdim)
        elif ord == -math.inf:
            out = a.amin(dims, keepdim=keepdim)
        elif ord == 0:
            out = (x != 0).to(x.dtype).sum(dims, keepdim=keepdim)
        else:
            out = (a ** ord).sum(dims, keepdim=keepdim) ** (1.0 / ord)
        if x16:
            x, out = xin, out.to(xin.dtype)
        ctx.save_for_backward(x, out)
        ctx.args = (ord, dims, keepdim)
        return out

    @staticmethod
    def backward(ctx, g):
        # PyTorch's norm_backward, including its zero gradient where the norm is 0
        from ember.functions.elementwise import where

        x, out = ctx.saved_tensors
        ord, dims, keepdim = ctx.args  # noqa: A001
        g, norm = _keep(g, dims, keepdim), _keep(out, dims, keepdim)
        if ord == 0:  # PyTorch gives no gradient at all (None, not zeros)
            return None, None, None, None
        if ord == 1:
            return x.sign() * g, None, None, None
        # dividing by a norm of 1 where it is 0 keeps the masked branch finite, so a derivative of
        # this formula (jvp's double vjp, forward AD) does not pick up 0 * inf = nan there
        zero = norm == 0
        safe = where(zero, 1.0, norm)
        if ord == 2:
            return x * where(zero, 0.0, g / safe), None, None, None
        if ord in (math.inf, -math.inf):
            a = x.abs()
            mask = ((a == norm) | a.isnan()).to(x.dtype)
            count = mask.sum(dims, keepdim=True) if dims else mask
            return x.sign() * (g / count) * mask, None, None, None
        a = x.abs()
        if ord < 1:
            scaled = where(x == 0, 0.0, x.sign() * a ** (ord - 1))
            return scaled * g * norm ** (1 - ord), None, None, None
        scaled = x.sign() * a ** (ord - 1) if ord < 2 else x * a ** (ord - 2)
        return scaled * where(zero, 0.0, g / safe ** (ord - 1)), None, None, None


def _norm_dtype(x: Tensor, dtype: _dt.dtype | None, fname: str) -> Tensor:
    check_float(x, fname, low_precision=True)
    if dtype is None:
        return x
    if not is_float_or_complex(dtype):
        raise RuntimeError(f"{fname}: dtype should be floating point or complex, but got {type_word(dtype)}")
    if dtype.itemsize < x.dtype.itemsize:
        raise RuntimeError(f"{fname}: the dtype of the input ({type_word(x.dtype)}) should be convertible without "
                           f"narrowing to the specified dtype ({type_word(dtype)})")
    return x.to(dtype)


def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
                dtype: _dt.dtype | None = None, out: Tensor | None = None) -> Tensor:
    """Vector ``ord``-norm over ``dim`` (every element by default); ord may be inf, -inf, 0 or any real.

    >>> import ember
    >>> ember.linalg.vector_norm(ember.tensor([3.0, -4.0]))
    tensor(5.)
    """
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    dtype = _dt.dtype_arg("linalg_vector_norm", dtype)
    if isinstance(x, Tensor) and x._dtype.is_complex:
        # the norm of the moduli (real), as PyTorch; autograd through abs gives its complex gradient
        if dtype is not None and not dtype.is_complex:
            raise RuntimeError(f"linalg.vector_norm: dtype should be complex for complex inputs, but got "
                               f"{type_word(dtype)}")
        x = (x if dtype is None else x.to(dtype)).abs()
        dtype = None
    x = _norm_dtype(x, dtype, "linalg.vector_norm")
    dims = _reduce_dims(x, dim)
    if ord < 0 or ord == math.inf:
        if x.numel() == 0 and len(dims) == x.dim():
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_word(ord)} norm on an empty tensor "
                               "because the operation does not have an identity")
        for d in dims:
            if x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_word(ord)} norm on the dimension "
                                   f"{d}because this dimension is empty and the operation does not have an identity")
    if not dims:  # a 0-d input: the norm of one number
        return _out(VectorNorm.apply(x.unsqueeze(0), ord, (0,), False), out)
    return _out(VectorNorm.apply(x, float(ord), dims, keepdim), out)


def _matrix_dims(A: Tensor, dim: Any) -> tuple[int, int]:
    if isinstance(dim, int) or len(dim) != 2:
        shown = dim if isinstance(dim, int) else " ".join(str(d) for d in dim)
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {shown}")
    d0, d1 = _wrap_dim(dim[0], A.dim()), _wrap_dim(dim[1], A.dim())
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def _svd_norm(A: Tensor, ord: Any, d0: int, d1: int, keepdim: bool) -> Tensor:  # noqa: A002
    from ember.linalg.decomp import svdvals

    x = A.movedim((d0, d1), (-2, -1))
    if x.numel() == 0:
        if ord == -2 and min(x.shape[-2:]) == 0:
            raise IndexError("amin(): Expected reduction dim -1 to have non-zero size.")
        s = x.sum((-2, -1)) * 0  # keeps the graph for 'nuc', as PyTorch's result does
        s = s.real if s._dtype.is_complex else s  # norms are real
        s = s if ord == "nuc" else s.detach()
    else:
        sv = svdvals(x)
        s = sv.sum(-1) if ord == "nuc" else sv.amax(-1) if ord == 2 else sv.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            s = s.unsqueeze(d)
    return s


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,  # noqa: A002
                dtype: _dt.dtype | None = None, out: Tensor | None = None) -> Tensor:
    """Matrix norm over the two axes ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2.

    >>> import ember
    >>> ember.linalg.matrix_norm(ember.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1)
    tensor(6.)
    """
    check_matrix(A, "linalg.matrix_norm")
    A = _norm_dtype(A, _dt.dtype_arg("linalg_matrix_norm", dtype), "linalg.matrix_norm")
    d0, d1 = _matrix_dims(A, dim)
    if ord == "fro":
        return _out(vector_norm(A, 2, (d0, d1), keepdim), out)
    if ord == "nuc" or ord in (2, -2):
        check_float(A, "linalg.matrix_norm")  # no low precision: the SVD has none
        return _out(_svd_norm(A, ord, d0, d1, keepdim), out)
    if isinstance(ord, str) or ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if abs(ord) == math.inf:
        d0, d1 = d1, d0
    if not keepdim and d0 < d1:
        d1 -= 1
    col = vector_norm(A, 1, d0, keepdim)
    if col.shape[d1] == 0:  # PyTorch: a plain 0 for amax, an error for amin
        if ord < 0:
            raise IndexError(f"amin(): Expected reduction dim {d1} to have non-zero size.")
        return _out(col.sum(d1, keepdim=keepdim).detach(), out)
    return _out(col.amax(d1, keepdim=keepdim) if ord > 0 else col.amin(d1, keepdim=keepdim), out)


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
         dtype: _dt.dtype | None = None, out: Tensor | None = None) -> Tensor:
    """``vector_norm`` or ``matrix_norm`` depending on ``dim`` (or on A's rank when ord is given).

    >>> import ember
    >>> ember.linalg.norm(ember.tensor([[3.0, 0.0], [0.0, 4.0]]))
    tensor(5.)
    """
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
        if len(dims) == 1:
            if isinstance(ord, str):
                raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dims[0]}")
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if A.dim() not in (1, 2):
        if isinstance(ord, str):
            check_matrix(A, "linalg.matrix_norm")
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.dim()}D.")
    if A.dim() == 1:
        if isinstance(ord, str):
            check_matrix(A, "linalg.matrix_norm")
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)


def cond(A: Tensor, p: Any = None, *, out: Tensor | None = None) -> Tensor:
    """Condition number of ``A`` in the ``p`` norm (2-norm by default: largest / smallest singular value).

    >>> import ember
    >>> ember.linalg.cond(ember.tensor([[2.0, 0.0], [0.0, 0.5]]))
    tensor(4.)
    """
    from ember.functions.elementwise import where
    from ember.linalg.decomp import svdvals
    from ember.linalg.lu import inv_ex

    if p is not None and p not in ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if p in (None, 2, -2):
        check_matrix(A, "linalg.cond")
        check_float(A, "linalg.svd", low_precision=True)
        s = svdvals(A)
        if s.shape[-1] == 0:
            return _out_cast(s.sum(-1), out)
        hi, lo = s[..., 0], s[..., -1]
        return _out_cast(hi / lo if p != -2 else lo / hi, out)
    check_matrix(A, f"linalg.cond(ord={p})")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    inverse, info = inv_ex(A)
    c = matrix_norm(A, p) * matrix_norm(where((info != 0).unsqueeze(-1).unsqueeze(-1), 0.0, inverse), p)
    # PyTorch fills a singular input's inverse with inf: its norm is inf, but the nuclear norm (an SVD of
    # infinities) is NaN
    return _out_cast(where(info != 0, math.nan if p == "nuc" else math.inf, c), out)


def _rank_tol(S: Tensor, m: int, n: int, atol: Any, rtol: Any) -> Tensor:
    """PyTorch's threshold max(atol, rtol * max(S)) with its defaults."""
    eps = 1.1920929e-07 if S.dtype is _dt.float32 else 2.220446049250313e-16
    if rtol is None:
        rtol = eps * max(m, n) if atol is None or (not isinstance(atol, Tensor) and atol <= 0) else 0.0
    atol = 0.0 if atol is None else atol
    smax = S.amax(-1, keepdim=True) if S.shape[-1] else S.sum(-1, keepdim=True)
    from ember.functions.elementwise import maximum

    atol_t = atol.unsqueeze(-1) if isinstance(atol, Tensor) else atol
    rtol_t = rtol.unsqueeze(-1) if isinstance(rtol, Tensor) else rtol
    thresh = smax * rtol_t
    if isinstance(atol_t, Tensor):
        return maximum(atol_t.to(S.dtype), thresh)
    return thresh.clamp(min=float(atol_t))


def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False,
                tol: Any = None, out: Tensor | None = None) -> Tensor:
    """Numerical rank: the number of singular values above max(atol, rtol * largest), as int64.

    >>> import ember
    >>> ember.linalg.matrix_rank(ember.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(1)
    """
    from ember.autograd.grad_mode import no_grad
    from ember.linalg.decomp import eigvalsh, svdvals

    check_matrix(A, "linalg.matrix_rank")
    if not is_float_or_complex(A.dtype) or is_low_precision(A.dtype):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        if atol is not None or rtol is not None:  # tol is another overload's: no atol/rtol beside it
            raise TypeError("linalg_matrix_rank() received an invalid combination of arguments: tol cannot be "
                            "given with atol or rtol")
        atol, rtol = tol, 0.0
    with no_grad():
        S = eigvalsh(A).abs() if hermitian else svdvals(A)
        thresh = _rank_tol(S, A.shape[-2], A.shape[-1], atol, rtol)
        return _out_cast((S > thresh).to(_dt.int64).sum(-1), out)
