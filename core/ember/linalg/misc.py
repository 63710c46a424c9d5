"""Compositions of ember ops: ``matrix_power``, ``matrix_exp``, ``cross``, ``multi_dot``, ``vecdot``,
``diagonal`` (autograd comes from the ops they are made of)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from ember import dtypes as _dt
from ember.linalg._common import check_float, check_matrix, check_square, eye_like, type_word
from ember.linalg.triangular import _out
from ember.tensor import Tensor, _wrap_dim

__all__ = ["matrix_power", "matrix_exp", "cross", "multi_dot", "vecdot", "diagonal", "vander", "tensorinv",
           "tensorsolve"]


def matrix_power(A: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    """``A`` to the integer power ``n`` by repeated squaring (``inv(A)`` for n < 0, the identity for 0).

    >>> import ember
    >>> ember.linalg.matrix_power(ember.tensor([[1, 1], [0, 1]]), 3)
    tensor([[1, 3],
            [0, 1]])
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    check_matrix(A, "linalg.matrix_power")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:
        return _out(A * 0 + eye_like(A), out)
    if n < 0:
        from ember.linalg.lu import inv

        A, n = inv(A), -n
    if n == 1:
        return _out(A.clone(), out)
    if n in (2, 3):
        return _out(A @ A if n == 2 else (A @ A) @ A, out)
    z = result = None
    while n > 0:  # square-and-multiply, in PyTorch's order
        bit, n = n % 2, n // 2
        z = A if z is None else z @ z
        if bit:
            result = z if result is None else result @ z
    return _out(result, out)


def matrix_exp(A: Tensor) -> Tensor:
    """Matrix exponential (scaling and squaring of a Taylor polynomial), differentiable.

    >>> import ember
    >>> ember.linalg.matrix_exp(ember.zeros(2, 2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    check_square(A, "linalg.matrix_exp", low_precision=True)
    if A.numel() == 0:
        return A.clone()
    if A.shape[-1] == 1:
        return A.exp()
    from ember.autograd.grad_mode import no_grad

    with no_grad():  # one host sync: the number of squarings for the largest 1-norm in the batch
        norm = float(A.abs().sum(-2).amax().to("cpu").item())
    s = max(0, math.ceil(math.log2(norm / 0.5))) if math.isfinite(norm) and norm > 0.5 else 0
    X = A / float(2 ** min(s, 1000)) if s else A
    eye = eye_like(A)
    degree = 16 if A.dtype is _dt.float64 else 10  # truncation error < eps for ||X||_1 <= 1/2
    P = eye + X / degree
    for k in range(degree - 1, 0, -1):  # Horner: I + X (I + X/2 (I + ...))
        P = eye + (X @ P) / k
    for _ in range(s):
        P = P @ P
    return P


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (other axes broadcast).

    >>> import ember
    >>> ember.linalg.cross(ember.tensor([1.0, 0.0, 0.0]), ember.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    from ember.functions.elementwise import broadcast_shapes
    from ember.functions.shape import cat

    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = _wrap_dim(dim, input.dim())
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[d]} and "
                           f"{other.shape[d]}")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {type_word(input.dtype)} but found {type_word(other.dtype)}")
    shape = list(broadcast_shapes(tuple(input.shape), tuple(other.shape)))
    shape[d] = 3
    a, b = input.expand(shape), other.expand(shape)
    a1, a2, a3 = (a.narrow(d, i, 1) for i in range(3))
    b1, b2, b3 = (b.narrow(d, i, 1) for i in range(3))
    return _out(cat([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], d), out)


_DTYPE_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int"}


def multi_dot(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """The product of a chain of matrices; the first and last may be vectors.

    >>> import ember
    >>> ember.linalg.multi_dot([ember.ones(2), ember.ones(2, 3), ember.ones(3)])
    tensor(6.)
    """
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        if i == 0 and t.dim() not in (1, 2):
            raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {t.dim()}D")
        if i == len(ts) - 1 and i and t.dim() not in (1, 2):
            raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {t.dim()}D")
        if 0 < i < len(ts) - 1 and t.dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.dim()}D")
        if t.dtype is not ts[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{_DTYPE_NAME.get(ts[0].dtype.name, ts[0].dtype.name)} and tensor {i} "
                               f"{_DTYPE_NAME.get(t.dtype.name, t.dtype.name)}")
    first_vec, last_vec = ts[0].dim() == 1, ts[-1].dim() == 1
    mats = [ts[0].unsqueeze(0) if first_vec else ts[0], *ts[1:-1], ts[-1].unsqueeze(-1) if last_vec else ts[-1]]
    for i in range(len(mats) - 1):
        if mats[i].shape[-1] != mats[i + 1].shape[-2]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(ts[i].shape)} and "
                               f"{list(ts[i + 1].shape)} cannot be multiplied")
    result = mats[0]
    for m in mats[1:]:
        result = result @ m
    if first_vec:
        result = result.squeeze(0)
    if last_vec:
        result = result.squeeze(-1)
    return _out(result, out)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """Dot product of vectors along ``dim`` (other axes broadcast).

    >>> import ember
    >>> ember.linalg.vecdot(ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0]))
    tensor(11.)
    """
    check_float(x, "linalg.vecdot", low_precision=True)
    if x.dtype is not y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                           f"{type_word(x.dtype)} and y of type {type_word(y.dtype)} instead")
    return _out((x * y).sum(dim), out)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal of the matrices over ``dim1``, ``dim2`` (an alias of ``Tensor.diagonal``).

    >>> import ember
    >>> ember.linalg.diagonal(ember.eye(2))
    tensor([1., 1.])
    """
    return A.diagonal(offset, dim1, dim2)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Vandermonde matrix: column j holds ``x ** j`` (j < N, N = x.shape[-1] by default).

    >>> import ember
    >>> ember.linalg.vander(ember.tensor([1, 2, 3]))
    tensor([[1, 1, 1],
            [1, 2, 4],
            [1, 3, 9]])
    """
    from ember.functions.shape import cat

    if x.dtype is _dt.bool_:
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, but got Bool")
    n = (x.shape[-1] if x.dim() else 0) if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = x.unsqueeze(-1).expand(tuple(x.shape) + (n - 1,)).cumprod(-1)
    return cat([(x * 0 + 1).unsqueeze(-1), powers], -1)


def _prod(shape: Sequence[int]) -> int:
    return math.prod(shape)


def tensorinv(A: Tensor, ind: int = 2, *, out: Tensor | None = None) -> Tensor:
    """The inverse of ``A`` seen as a linear map from its last dims to its first ``ind`` dims.

    >>> import ember
    >>> ember.linalg.tensorinv(ember.eye(4).reshape(4, 2, 2), ind=1).shape
    ember.Size([2, 2, 4])
    """
    from ember.linalg.lu import inv

    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    left, right = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if _prod(left) != _prod(right):
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == prod(self.shape[:ind]), "
                           f"but got {_prod(right)} != {_prod(left)}")
    return _out(inv(A.reshape(_prod(left), _prod(right))).reshape(right + left), out)


def tensorsolve(A: Tensor, B: Tensor, dims: Sequence[int] | None = None, *, out: Tensor | None = None) -> Tensor:
    """X with ``tensordot(A, X, X.ndim) == B`` (the dims listed in ``dims`` are moved to the end of A first).

    >>> import ember
    >>> ember.linalg.tensorsolve(ember.eye(6).reshape(2, 3, 6), ember.ones(2, 3)).shape
    ember.Size([6])
    """
    from ember.linalg.lu import solve

    if dims is not None:
        nd = A.dim()
        src = [_wrap_dim(d, nd) for d in dims]
        A = A.movedim(src, list(range(nd - len(src), nd)))
    lead, rest = tuple(A.shape[:B.dim()]), tuple(A.shape[B.dim():])
    if _prod(rest) != _prod(lead):
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {_prod(rest)} != {_prod(lead)}")
    return _out(solve(A.reshape(_prod(lead), _prod(rest)), B.reshape(-1)).reshape(rest), out)
