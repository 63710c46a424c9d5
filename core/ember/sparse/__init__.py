"""``ember.sparse``: sparse COO tensors and the functions of PyTorch's ``torch.sparse`` namespace.

Sparse tensors come from ``ember.sparse_coo_tensor`` and ``Tensor.to_sparse()``; every op on them is
composed from dense ember ops, so they work on every device (see docs/sparse.md).

Example:
    >>> import ember
    >>> a = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
    >>> ember.sparse.mm(a, ember.ones(2, 1)).flatten()
    tensor([2., 3.])
    >>> ember.sparse.sum(a)
    tensor(5.)
"""

from __future__ import annotations

from typing import Any

from ember import dtypes as _dt
from ember.sparse._coo import SparseTensor, sparse_coo_tensor
from ember.tensor import _TYPE_NAMES, Tensor

__all__ = ["mm", "sum", "addmm", "softmax", "log_softmax"]


def _legacy_type(dt: _dt.dtype, name: str) -> type:
    """``ember.sparse.FloatTensor(indices, values, size)`` as old GCN code (pygcn) builds its
    adjacency matrix; ``FloatTensor(*size)`` is an empty one. ``isinstance`` checks the dtype."""

    class _Meta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, SparseTensor) and obj.dtype is dt

        def __call__(cls, *args: Any, device: Any = None) -> SparseTensor:
            if args and isinstance(args[0], Tensor):  # (indices, values[, size])
                return sparse_coo_tensor(*args, dtype=dt, device=device)
            size = tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int) else args
            return sparse_coo_tensor(size, dtype=dt, device=device)

    return _Meta(name, (), {"__module__": __name__})


for _dtype, _name in _TYPE_NAMES.items():  # the dense legacy names, e.g. ember.FloatTensor
    globals()[_name] = _legacy_type(_dtype, _name)
    __all__.append(_name)


def mm(mat1: Tensor, mat2: Tensor, reduce: str | None = None) -> Tensor:
    """``mat1 @ mat2`` with a sparse ``mat1`` (or ``mat2``): dense @ sparse and sparse @ dense are
    dense, sparse @ sparse is sparse. Differentiable wrt the dense operand and the values.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
        >>> ember.sparse.mm(s, ember.eye(2))
        tensor([[0., 2.],
                [3., 0.]])
    """
    if reduce is not None:
        raise NotImplementedError("ember.sparse.mm: reduce= is not supported (sum only)")
    from ember.functions.linalg import mm as _mm

    return _mm(mat1, mat2)


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse ``mat1``.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
        >>> ember.sparse.addmm(ember.ones(2, 1), s, ember.ones(2, 1)).flatten()
        tensor([3., 4.])
    """
    from ember.functions.linalg import addmm as _addmm

    return _addmm(mat, mat1, mat2, beta=beta, alpha=alpha)


def sum(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:  # noqa: A001 - PyTorch's name
    """Sum of a sparse tensor's entries over ``dim`` (default: all of them): a dense tensor when
    every sparse dim is summed, else a coalesced sparse one.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 1, 1], [1, 0, 0]], [1.0, 2.0, 3.0], (2, 2))
        >>> ember.sparse.sum(s, 1).to_dense()
        tensor([1., 5.])
    """
    if not isinstance(input, SparseTensor):
        raise RuntimeError("coalesce expected sparse coordinate tensor layout but got Strided")  # PyTorch's words
    from ember.sparse import _coo

    return _coo.sum(input, dim, dtype=dtype)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Softmax along ``dim`` over a sparse tensor's specified entries (the others count as -inf and
    stay unspecified); differentiable wrt the values.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], [1.0, 1.0, 5.0], (2, 3))
        >>> ember.sparse.softmax(s, 1).to_dense()
        tensor([[0.5000, 0.0000, 0.5000],
                [0.0000, 1.0000, 0.0000]])
    """
    from ember.sparse import _coo

    return _coo.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """``log(softmax(input, dim))`` over the specified entries, computed stably.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 0]], [2.0, 2.0], (3,))
        >>> ember.sparse.log_softmax(s, 0).coalesce().values()
        tensor([0.])
    """
    from ember.sparse import _coo

    return _coo.softmax(input, dim, dtype, log=True)
