"""Sparse COO tensors: construction, conversion, and the sparse-only Tensor methods.

The tensors themselves and their ops live in ``ember.sparse`` (``ember/sparse/_coo.py``); this
family declares the entry points. On a dense tensor the sparse-only methods (``coalesce``,
``indices``...) raise PyTorch's errors; a sparse tensor overrides them.

Example:
    >>> import ember
    >>> s = ember.sparse_coo_tensor([[1, 0, 1]], [1.0, 2.0, 3.0], (2,))
    >>> s.is_coalesced(), s.coalesce().values()
    (False, tensor([2., 4.]))
"""

from __future__ import annotations

from typing import Any

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.sparse._coo import sparse_coo_tensor, to_sparse
from ember.tensor import Tensor


def _backend(t: Tensor) -> str:
    return {"cpu": "CPU", "cuda": "CUDA"}.get(t.device.type, t.device.type)


def _strided_error(name: str, what: str = "sparse coordinate tensor") -> RuntimeError:
    return RuntimeError(f"{name} expected {what} layout but got Strided")


def spmm(input: Tensor, mat2: Tensor) -> Tensor:
    """``mm`` for a sparse (or dense) ``input``: the product is dense when ``mat2`` is.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
        >>> ember.spmm(s, ember.ones(2, 1)).flatten()
        tensor([2., 3.])
    """
    from ember.functions.linalg import mm

    return mm(input, mat2)


def to_dense(input: Tensor, dtype: _dt.dtype | None = None, *, masked_grad: Any = None) -> Tensor:
    """The dense tensor: a dense one is returned as is."""
    if dtype is not None and dtype is not input.dtype:
        return input.to(dtype)
    return input


def to_sparse_coo(input: Tensor) -> Tensor:
    """``to_sparse()``: every dim sparse."""
    return to_sparse(input)


def coalesce(input: Tensor) -> Tensor:
    """A sparse tensor with sorted, duplicate-free indices (dense tensors: PyTorch's error)."""
    raise _strided_error("coalesce")


def is_coalesced(input: Tensor) -> bool:
    raise _strided_error("is_coalesced")


def indices(input: Tensor) -> Tensor:
    raise _strided_error("indices")


def values(input: Tensor) -> Tensor:
    raise _strided_error("values", "sparse tensor")


def sparse_dim(input: Tensor) -> int:
    return 0


def dense_dim(input: Tensor) -> int:
    return input.dim()


def _no_sparse_kernel(name: str) -> Any:
    def method(self: Tensor) -> Any:
        raise NotImplementedError(f"Could not run 'aten::{name}' with arguments from the '{_backend(self)}' backend: "
                                  f"it needs a sparse tensor")

    method.__name__ = method.__qualname__ = name
    return method


_ops = Family(__name__)
_ops.op(sparse_coo_tensor, method=False)
_ops.op(spmm, method=False)
_ops.op(to_sparse, export=False)
_ops.op(to_sparse_coo, export=False)
_ops.op(to_dense, export=False)
_ops.op(coalesce, export=False)
_ops.op(is_coalesced, export=False)
_ops.op(indices, export=False)
_ops.op(values, export=False)
_ops.op(sparse_dim, export=False)
_ops.op(dense_dim, export=False)
for _name in ("_nnz", "_indices", "_values"):
    _ops.attr(_name, _no_sparse_kernel(_name))

__all__ = _ops.names()
