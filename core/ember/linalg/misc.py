"""Compositions of ember ops: ``matrix_power``, ``matrix_exp``, ``cross``, ``multi_dot``, ``vecdot``,
``diagonal`` (autograd comes from the ops they are made of)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from ember import dtypes as _dt
from ember.linalg._common import check_float, check_matrix, check_square, eye_like, type_word
from ember.linalg.triangular import _out, _out_cast
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
    if isinstance(n, Tensor) and n.dim() == 0 and not n.dtype.is_floating_point and not n.dtype.is_complex \
            and n.dtype is not _dt.bool_:
        n = int(n)  # an integer 0-d tensor is an int to PyTorch's argument parser (via __index__)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    check_matrix(A, "linalg.matrix_power")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:  # the identity, in A's dtype, whatever A holds (NaN too), still in A's graph (zero gradient)
        return _out(A.clone().copy_(eye_like(A).expand(tuple(A.shape))), out)
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


# PyTorch's thetas for its degree-18 approximant: the largest 1-norm for which it is accurate to
# the dtype's precision
_MEXP_THETA = {"float32": 3.010066362817634e+00, "float64": 1.090863719290036e+00}


# The degree-18 approximant's coefficients (Bader, Blanes, Casas 2019, as PyTorch's compute_T18):
# B_i = sum_j _T18[i][j] * (I, A, A^2, A^3, A^6)[j]; A9 = B_0 B_4 + B_3; T18 = B_1 + (B_2 + A9) A9
_T18 = (
    (0.0, -1.00365581030144618291e-01, -8.02924648241156932449e-03, -8.92138498045729985177e-04, 0.0),
    (0.0, 3.97849749499645077844e-01, 1.36783778460411720168e+00, 4.98289622525382669416e-01,
     -6.37898194594723280150e-04),
    (-1.09676396052962061844e+01, 1.68015813878906206114e+00, 5.71779846478865511061e-02,
     -6.98210122488052056106e-03, 3.34975017086070470649e-05),
    (-9.04316832390810593223e-02, -6.76404519071381882256e-02, 6.75961301770459654925e-02,
     2.95552570429315521194e-02, -1.39180257516060693404e-05),
    (0.0, 0.0, -9.23364619367118555360e-02, -1.69364939002081722752e-02, -1.40086798182036094347e-05),
)


def _taylor18(X: Tensor, eye: Tensor) -> Tensor:
    """PyTorch's degree-18 approximant of exp(X) in 5 matrix products (accurate for ||X||_1 <= theta)."""
    X2 = X @ X
    X3 = X2 @ X
    powers = (eye, X, X2, X3, X3 @ X3)
    B = [sum((p * c for p, c in zip(powers, row) if c != 0.0), X * 0.0) for row in _T18]
    A9 = B[0] @ B[4] + B[3]
    return B[1] + (B[2] + A9) @ A9


def matrix_exp(A: Tensor) -> Tensor:
    """Matrix exponential, differentiable: PyTorch's scaling and squaring of a degree-18 Taylor
    polynomial, each matrix of a batch scaled by its own power of two (1-norm <= theta of its dtype).

    >>> import ember
    >>> ember.linalg.matrix_exp(ember.zeros(2, 2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    from ember.functions.elementwise import where

    check_square(A, "linalg.matrix_exp", low_precision=True)
    if A.numel() == 0:
        return A.clone()
    if A.shape[-1] == 1:
        return A.exp()
    from ember.autograd.grad_mode import no_grad

    theta = _MEXP_THETA.get(_dt.to_real(A.dtype).name, _MEXP_THETA["float32"])  # complex: its parts' precision
    with no_grad():  # s = ceil(log2(||A||_1 / theta)) per matrix (0 for non-finite norms), one host sync
        norm = A.abs().sum(-2).amax(-1)
        s = (norm / theta).log2().ceil().clamp(min=0)
        s = where(s.isfinite(), s, 0.0)
        s_max = int(s.amax().to("cpu").item())
    if s_max == 0:
        return _taylor18(A, eye_like(A))
    s = s.unsqueeze(-1).unsqueeze(-1)
    P = _taylor18(A / s.exp2(), eye_like(A))
    for i in range(s_max):  # square each matrix s times: the ones with fewer squarings stop early
        P = where(s > i, P @ P, P) if A.dim() > 2 else P @ P
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
    if input.dtype is _dt.bool_:
        raise NotImplementedError("\"cross\" not implemented for 'Bool'")
    shape = list(broadcast_shapes(tuple(input.shape), tuple(other.shape)))
    shape[d] = 3
    a, b = input.expand(shape), other.expand(shape)
    a1, a2, a3 = (a.narrow(d, i, 1) for i in range(3))
    b1, b2, b3 = (b.narrow(d, i, 1) for i in range(3))
    return _out(cat([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], d), out)


_DTYPE_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int"}


def _chain_product(mats: list[Tensor]) -> Tensor:
    """The product of 2-D matrices in the order PyTorch's ``multi_dot`` chooses: the cheaper of the
    two parenthesizations for three, the matrix-chain dynamic programme (first split among equal
    costs) for more. The order changes the rounding, and the cost by orders of magnitude for a chain
    ending in a vector."""
    n = len(mats)
    if n == 2:
        return mats[0] @ mats[1]
    if n == 3:
        a, b = mats[0].shape
        c, d = mats[2].shape
        if (a * c) * (b + d) > (b * d) * (a + c):  # (AB)C costs more than A(BC)
            return mats[0] @ (mats[1] @ mats[2])
        return (mats[0] @ mats[1]) @ mats[2]
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        return product(i, split[i][j]) @ product(split[i][j] + 1, j)

    return product(0, n - 1)


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
    result = _chain_product(mats)
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
    # PyTorch's vecdot conjugates x: sum(conj(x) * y)
    return _out(((x.conj() if x._dtype.is_complex else x) * y).sum(dim), out)


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

    # PyTorch refuses bool and, on the CPU, the half-precision floats too
    if x.dtype is _dt.bool_ or (x.dtype.is_floating_point and x.dtype.itemsize < 4):
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, but got "
                           f"{type_word(x.dtype)}")
    n = (x.shape[-1] if x.dim() else 1) if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    if x.dim() == 0:  # a 0-d x is one point: one row, (1, N)
        x = x.unsqueeze(0)
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
    return _out_cast(inv(A.reshape(_prod(left), _prod(right))).reshape(right + left), out)


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
    return _out_cast(solve(A.reshape(_prod(lead), _prod(rest)), B.reshape(-1)).reshape(rest), out)
