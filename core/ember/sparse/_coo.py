"""Sparse COO tensors, composed from ember's dense ops so they run on every backend.

A :class:`SparseTensor` holds two ordinary ember tensors, ``indices`` (int64, ``(sparse_dim, nnz)``)
and ``values`` (``(nnz, *dense_sizes)``), with its size and a coalesced flag. Every op on it is a
composition of dense ops (``index_select``, ``index_add``, ``unique``, ``mul``...): it runs on the
device of its parts, and autograd reaches the values and any dense operand through those ops.

A dense kernel never sees a sparse tensor: its ``_data`` is a placeholder that refuses every use,
and its kernel table raises PyTorch's ``NotImplementedError`` ("Could not run 'exp' with arguments
from the 'SparseCPU' backend") for whatever dense op is tried on it.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from ember import dtypes as _dt
from ember.autograd.grad_mode import no_grad
from ember.functions import creation as _creation
from ember.functions import indexing as _indexing
from ember.functions import search as _search
from ember.functions import shape as _shape
from ember.functions.layout import sparse_coo
from ember.tensor import _TYPE_NAMES, Tensor, _wrap_dim

__all__ = ["SparseTensor", "sparse_coo_tensor", "to_sparse", "add", "sub", "mul", "div", "matmul", "sum"]


def _backend_name(dev: Any) -> str:
    """PyTorch's dispatch key of a sparse tensor on ``dev`` ('SparseCPU', 'SparseCUDA'...)."""
    return "Sparse" + {"cpu": "CPU", "cuda": "CUDA"}.get(dev.type, dev.type)


def _unsupported(op: str, dev: Any) -> NotImplementedError:
    return NotImplementedError(
        f"Could not run '{op}' with arguments from the '{_backend_name(dev)}' backend: this op is not implemented "
        f"for ember's sparse COO tensors (docs/sparse.md lists those that are); use .to_dense() first")


def _calling_op(default: str) -> str:
    """The innermost declared op on the stack (``pow`` for ``Pow.forward`` reading ``_data``): an
    error path only, so walking the frames costs nothing that matters."""
    from ember._ops.registry import OPS

    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name in OPS:
            return frame.f_code.co_name
        frame = frame.f_back
    return default


class _NoStorage:
    """A sparse tensor's ``_data``: a dense op or kernel that reads it (a shape, a buffer, NumPy's
    array protocols) raises instead of computing on it."""

    __slots__ = ("_dev",)

    def __init__(self, dev: Any) -> None:
        self._dev = dev

    def _refuse(self, what: str) -> NotImplementedError:
        return _unsupported(_calling_op(what), object.__getattribute__(self, "_dev"))

    def __getattr__(self, name: str) -> Any:  # .shape, .dtype, a device buffer...
        raise self._refuse(f"a dense kernel reading .{name}")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._refuse("a dense kernel")

    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        raise self._refuse(getattr(ufunc, "__name__", str(ufunc)))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise self._refuse(getattr(func, "__name__", str(func)))

    def __len__(self) -> int:
        raise self._refuse("a dense kernel")

    def __getitem__(self, key: Any) -> Any:
        raise self._refuse("a dense kernel indexing")


class _NoKernels:
    """A sparse tensor's kernel table: every dense kernel looked up through it raises."""

    __slots__ = ("_dev", "device_type")

    def __init__(self, dev: Any) -> None:
        self._dev, self.device_type = dev, dev.type

    def __getitem__(self, name: str) -> Any:
        raise _unsupported(_calling_op(name), self._dev)

    def has(self, name: str) -> bool:
        return False


def _scalar_word(d: _dt.dtype) -> str:
    return _TYPE_NAMES[d].removesuffix("Tensor") if d in _TYPE_NAMES else d.name


class SparseTensor(Tensor):
    """A sparse COO tensor (``layout=ember.sparse_coo``): ``indices`` (int64, ``(sparse_dim, nnz)``)
    and ``values`` (``(nnz, *dense_sizes)``) of a tensor of ``size``; duplicates sum.

    Made by ``ember.sparse_coo_tensor`` or ``Tensor.to_sparse()``.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 1, 1], [2, 0, 0]], [1.0, 2.0, 3.0], (2, 3))
        >>> s.to_dense()
        tensor([[0., 0., 1.],
                [5., 0., 0.]])
        >>> (s @ ember.ones(3, 1)).flatten()
        tensor([1., 5.])
    """

    is_sparse = True

    @staticmethod
    def _build(indices: Tensor, values: Tensor, size: tuple, coalesced: bool) -> SparseTensor:
        """A sparse tensor over these (already checked) parts, sharing them."""
        dev = values._device
        # not requiring grad itself: the values carry the autograd state (see requires_grad)
        t = Tensor._make(_NoStorage(dev), values._dtype, dev, _NoKernels(dev), SparseTensor)
        t._idx, t._vals, t._sz, t._coalesced = indices, values, tuple(int(s) for s in size), bool(coalesced)
        return t

    def _with_values(self, values: Tensor, coalesced: bool | None = None) -> SparseTensor:
        return SparseTensor._build(self._idx, values, self._sz, self._coalesced if coalesced is None else coalesced)

    # ---- attributes ---------------------------------------------------------------------
    layout = sparse_coo

    @property
    def shape(self) -> Any:
        from ember.size import Size

        return Size(self._sz)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        return self._sz[_wrap_dim(dim, len(self._sz))]

    @property
    def ndim(self) -> int:
        return len(self._sz)

    def dim(self) -> int:
        return len(self._sz)

    ndimension = dim

    def numel(self) -> int:
        return math.prod(self._sz)

    nelement = numel

    def __len__(self) -> int:
        if not self._sz:
            raise TypeError("len() of a 0-d tensor")
        return self._sz[0]

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return False  # as PyTorch: a sparse tensor has no strides

    def sparse_dim(self) -> int:
        """The number of sparse dimensions (rows of ``indices``)."""
        return self._idx.shape[0]

    def dense_dim(self) -> int:
        """The number of dense dimensions (trailing dims of ``values``)."""
        return len(self._sz) - self._idx.shape[0]

    def _nnz(self) -> int:
        return self._idx.shape[1]

    def _indices(self) -> Tensor:
        return self._idx

    def _values(self) -> Tensor:
        return self._vals

    def indices(self) -> Tensor:
        """The indices of a coalesced tensor (PyTorch's error on an uncoalesced one)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._idx.detach()

    def values(self) -> Tensor:
        """The values of a coalesced tensor (differentiable; PyTorch's error on an uncoalesced one)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._vals

    def is_coalesced(self) -> bool:
        return self._coalesced

    # ---- autograd state lives on the values ------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._vals.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and not self._dtype.is_differentiable:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._vals.requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> SparseTensor:
        self.requires_grad = requires_grad
        return self

    def detach(self) -> SparseTensor:
        return self._with_values(self._vals.detach())

    @property
    def data(self) -> SparseTensor:
        return self.detach()

    def clone(self, *, memory_format: Any = None) -> SparseTensor:
        return SparseTensor._build(self._idx.clone(), self._vals.clone(), self._sz, self._coalesced)

    # ---- conversions ----------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> SparseTensor:
        """Moves or casts the indices and values together (``to(device)``, ``to(dtype)``...)."""
        values = self._vals.to(*args, **kwargs)
        indices = self._idx.to(values.device)
        if values is self._vals and indices is self._idx:
            return self
        return SparseTensor._build(indices, values, self._sz, self._coalesced)

    def _type_name(self) -> str:  # Tensor.type(): 'ember.sparse.FloatTensor', as PyTorch names it
        name = _TYPE_NAMES[self._dtype]
        return f"ember.sparse.{name}" if self._device.type == "cpu" else f"ember.{self._device.type}.sparse.{name}"

    def to_dense(self, dtype: _dt.dtype | None = None, *, masked_grad: Any = None) -> Tensor:
        """The dense (strided) tensor; duplicate entries add up. Differentiable wrt the values."""
        if dtype is not None:
            raise RuntimeError("dtype argument is not supported by sparse_to_dense")
        sd = self.sparse_dim()
        flat = _creation.zeros((math.prod(self._sz[:sd]), *self._sz[sd:]), dtype=self._dtype, device=self._device)
        if self._nnz():
            flat = _indexing.IndexAdd.apply(flat, 0, _linear(self._idx, self._sz), self._vals)
        return flat.reshape(self._sz)

    def to_sparse(self, sparse_dim: int | None = None, *, layout: Any = None, blocksize: Any = None,
                  dense_dim: int | None = None) -> SparseTensor:
        _check_layout(layout)
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError("to_sparse: conversion from Sparse to Sparse with sparse_dim argument !=self.sparse_dim() "
                               "is not supported")
        return self

    def to_sparse_coo(self) -> SparseTensor:
        return self

    def coalesce(self) -> SparseTensor:
        """Sorted, duplicate-free indices (duplicates' values summed); ``self`` when already so."""
        if self._coalesced:
            return self
        return _coalesce(self)

    def numpy(self, *, force: bool = False) -> Any:
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        self.numpy()

    def tolist(self) -> Any:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def __iter__(self):
        raise _unsupported("select", self._device)

    # ---- ops ------------------------------------------------------------------------------
    def transpose(self, dim0: int, dim1: int) -> SparseTensor:
        """Swaps two sparse dims (their index rows); the result is uncoalesced, as in PyTorch."""
        nd, sd = self.dim(), self.sparse_dim()
        a, b = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
        if a == b:
            return self
        size = list(self._sz)
        size[a], size[b] = size[b], size[a]
        if a >= sd or b >= sd:
            raise RuntimeError(f"sparse transpose: transposed dimensions must be sparse Got sparse_dim: {sd}, "
                               f"d0: {a}, d1: {b}")
        order = list(range(sd))
        order[a], order[b] = order[b], order[a]
        return SparseTensor._build(_shape.stack([self._idx[i] for i in order]), self._vals, size, False)

    swapaxes = swapdims = transpose

    def t(self) -> SparseTensor:
        if self.dim() > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
        return self.transpose(0, 1) if self.dim() == 2 else self

    @property
    def T(self) -> SparseTensor:  # noqa: N802 - PyTorch's name
        if self.dim() > 2:
            raise RuntimeError("T is only supported for sparse tensors of at most 2 dimensions here")
        return self.t()

    @property
    def mT(self) -> SparseTensor:  # noqa: N802 - PyTorch's name
        return self.transpose(-2, -1)

    def neg(self) -> SparseTensor:
        return self._with_values(-self._vals)

    __neg__ = negative = neg

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: _dt.dtype | None = None) -> Tensor:
        return sum(self, dim, keepdim, dtype=dtype)

    def mm(self, mat2: Tensor) -> Tensor:
        from ember.functions.linalg import mm

        return mm(self, mat2)

    # ---- Python protocols -----------------------------------------------------------------
    def __repr__(self) -> str:
        from ember._tensor_str import tensor_body

        pad = " " * len("tensor(")
        parts = []
        for name, part in (("indices", self._idx), ("values", self._vals)):
            head = f"{name}=tensor("
            if part.numel() == 0:
                parts.append(f"{head}[], size={tuple(part.shape)})")
            else:
                parts.append(head + tensor_body(part, len(pad) + len(head)) + ")")
        tail = []
        if self._device.type != "cpu":
            tail.append(f"device='{self._device}'")
        tail += [f"size={self._sz}", f"nnz={self._nnz()}"]
        if self._dtype not in (_dt.get_default_dtype(), _dt.default_complex_dtype(), _dt.int64, _dt.bool_):
            tail.append(f"dtype={self._dtype}")  # the dtypes a dense repr names too (even when empty)
        tail.append(f"layout={sparse_coo}")
        if self._vals.grad_fn is not None:
            tail.append(f"grad_fn=<{self._vals.grad_fn.name()}>")
        elif self._vals.requires_grad:
            tail.append("requires_grad=True")
        return "tensor(" + f",\n{pad}".join([*parts, ", ".join(tail)]) + ")"

    def __deepcopy__(self, memo: dict) -> SparseTensor:
        out = SparseTensor._build(self._idx.__deepcopy__(memo), self._vals.detach().__deepcopy__(memo), self._sz,
                                  self._coalesced)
        out.requires_grad = self.requires_grad
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol: int) -> Any:
        # pickled (and so saved by ember.save, as a pickled payload) as its two dense parts
        return _rebuild_sparse, (self._idx, self._vals.detach(), self._sz, self._coalesced, self.requires_grad)


def _rebuild_sparse(indices: Tensor, values: Tensor, size: tuple, coalesced: bool, requires_grad: bool) -> SparseTensor:
    """Unpickle a sparse tensor through the checked constructor: a weights-only ``ember.load``
    allows this function, so a file's indices are bounds-checked like any caller's."""
    if not (isinstance(indices, Tensor) and isinstance(values, Tensor)):
        raise RuntimeError("a pickled sparse tensor must hold its indices and values as tensors")
    out = sparse_coo_tensor(indices, values.detach(), tuple(int(n) for n in size), is_coalesced=bool(coalesced))
    if requires_grad:
        out.requires_grad = True
    return out


# ---- helpers ------------------------------------------------------------------------------
def _linear(indices: Tensor, size: tuple) -> Tensor:
    """Each entry's row-major position among the sparse dims ``size[:sparse_dim]`` (int64, (nnz,))."""
    sd = indices.shape[0]
    if sd == 0:
        return _creation.zeros(indices.shape[1], dtype=_dt.int64, device=indices.device)
    lin = indices[0]
    for d in range(1, sd):
        lin = lin * size[d] + indices[d]
    return lin


def _coalesce(s: SparseTensor) -> SparseTensor:
    """Sorted unique positions (``unique``), each one's values summed (``index_add``, differentiable)."""
    nnz, sd = s._nnz(), s.sparse_dim()
    if nnz == 0:
        return SparseTensor._build(s._idx, s._vals, s._sz, True)
    with no_grad():
        positions, inverse = _search.unique(_linear(s._idx, s._sz), return_inverse=True)
        n = positions.shape[0]
        idx = _creation.zeros((sd, n), dtype=_dt.int64, device=s._device)
        if sd:  # every duplicate writes the same coordinates
            idx = idx.scatter(1, inverse.unsqueeze(0).expand(sd, nnz), s._idx)
    zeros = _creation.zeros((n, *s._vals.shape[1:]), dtype=s._dtype, device=s._device)
    return SparseTensor._build(idx, _indexing.IndexAdd.apply(zeros, 0, inverse, s._vals), s._sz, True)


def _check_layout(layout: Any) -> None:
    if layout is not None and layout is not sparse_coo:
        raise NotImplementedError(f"ember supports the sparse COO layout only (ember.sparse_coo), not {layout}")


def _as_tensor(data: Any, dtype: _dt.dtype | None, device: Any) -> Tensor:
    if isinstance(data, Tensor):
        return data.to(device=device if device is not None else data.device, dtype=dtype or data.dtype)
    return _creation.tensor(data, dtype=dtype, device=device)


_NO_VALUES = object()


def sparse_coo_tensor(indices: Any, values: Any = _NO_VALUES, size: Any = None, *, dtype: _dt.dtype | None = None,
                      device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None, is_coalesced: bool | None = None) -> SparseTensor:
    """A sparse COO tensor with ``values[i]`` at ``indices[:, i]`` (duplicates add up); ``size``
    defaults to the smallest that holds every index. ``sparse_coo_tensor(size)`` is an empty one.

    ``indices`` may be any integer (or float) tensor, array or nested list of shape
    ``(sparse_dim, nnz)``; it is stored as int64. Unlike PyTorch (whose invariant checks are off by
    default), the indices are always checked against ``size``: an index out of range raises the
    ``RuntimeError`` PyTorch raises with ``check_invariants=True``, never a wrong result later.

    Example:
        >>> import ember
        >>> ember.sparse_coo_tensor([[0, 2]], [5.0, 6.0]).to_dense()
        tensor([5., 0., 6.])
    """
    if values is _NO_VALUES:  # sparse_coo_tensor(size): no entries
        size = tuple(indices)
        values = _creation.zeros(0, dtype=dtype, device=device)
        indices = _creation.zeros((len(size), 0), dtype=_dt.int64, device=device)
    if isinstance(values, Tensor) and device is None:
        device = values.device
    vals = _as_tensor(values, dtype, device)
    idx = _as_tensor(indices, None, vals.device)
    if idx.dtype is not _dt.int64:
        idx = idx.to(_dt.int64)
    if idx.dim() != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(idx.shape)}")
    sd, nnz = idx.shape
    if vals.dim() == 0:
        raise RuntimeError("values must have at least one dimension (nnz)")
    if vals.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {nnz}, nnz from "
                           f"values: {vals.shape[0]}")
    dense = tuple(vals.shape[1:])
    lo, hi = _index_range(idx)
    if size is None:
        for d in range(sd):
            if lo[d] < 0:
                raise RuntimeError(f"found negative index {lo[d]} for dim {d}")
        size = tuple(h + 1 for h in hi) + dense
    else:
        size = tuple(int(s) for s in size)
        if len(size) != sd + len(dense):
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
                               f"sparse_dim = {sd}, dense_dim = {len(dense)}")
        if tuple(size[sd:]) != dense:
            raise RuntimeError(f"values has incorrect size, expected {[nnz, *size[sd:]]}, got {[nnz, *dense]}")
        for d in range(sd):
            if lo[d] < 0:
                raise RuntimeError(f"found negative index {lo[d]} for dim {d}")
            if hi[d] >= size[d]:
                raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {size[d]} but found "
                                   f"index {hi[d]}")
    if requires_grad:
        vals = vals.detach().requires_grad_()  # a new leaf, as PyTorch's requires_grad= makes one
    coalesced = nnz <= 1 if is_coalesced is None else bool(is_coalesced)
    return SparseTensor._build(idx, vals, size, coalesced)


def _index_range(idx: Tensor) -> tuple[list, list]:
    """Per sparse dim, the smallest and largest index (one host sync; zeros when there are none)."""
    sd, nnz = idx.shape
    if nnz == 0 or sd == 0:
        return [0] * sd, [-1] * sd
    both = _shape.stack([idx.amin(1), idx.amax(1)]).tolist()
    return both[0], both[1]


def to_sparse(input: Tensor, sparse_dim: int | None = None, *, layout: Any = None, blocksize: Any = None,
              dense_dim: int | None = None) -> SparseTensor:
    """This dense tensor as a (coalesced) sparse COO tensor of its nonzero entries.

    ``sparse_dim`` (default: every dim) leading dims become sparse; the rest stay dense in the
    values, and an entry is kept when any of its values is nonzero. Differentiable wrt ``input``.

    Example:
        >>> import ember
        >>> ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
        tensor(indices=tensor([[0, 1],
                               [1, 0]]),
               values=tensor([2., 3.]),
               size=(2, 2), nnz=2, layout=ember.sparse_coo)
    """
    _check_layout(layout)
    if blocksize is not None:
        raise RuntimeError("to_sparse for Strided to SparseCoo conversion does not use specified blocksize")
    nd = input.dim()
    if sparse_dim is None:
        sparse_dim = nd if dense_dim is None else nd - dense_dim
    if not 0 <= sparse_dim <= nd:
        raise RuntimeError(f"dense_to_sparse: sparse_dim argument must be in [0,{nd}] range, but {sparse_dim} is given")
    if sparse_dim == 0 and nd > 0:
        raise RuntimeError("dense_to_sparse: sparse_dim argument must be in >0 when self.dim()>0")
    size = tuple(input.shape)
    sparse_sizes, dense_sizes = size[:sparse_dim], size[sparse_dim:]
    rows = input.reshape((math.prod(sparse_sizes), *dense_sizes))
    with no_grad():
        keep = rows != 0
        if dense_sizes:
            keep = keep.reshape(keep.shape[0], -1).any(1)
        pos = _indexing.nonzero(keep).reshape(-1)  # row-major: the result is coalesced
        idx = _unravel(pos, sparse_sizes)
    values = _indexing.IndexSelect.apply(rows, 0, pos)
    return SparseTensor._build(idx, values, size, True)


def _unravel(pos: Tensor, sizes: tuple) -> Tensor:
    """(len(sizes), n) coordinates of row-major positions ``pos``."""
    from ember.functions.elementwise import div, remainder

    rows = []
    for s in reversed(sizes):
        rows.append(remainder(pos, s))
        pos = div(pos, s, rounding_mode="floor")
    if not rows:
        return _creation.zeros((0, pos.shape[0]), dtype=_dt.int64, device=pos.device)
    return _shape.stack(rows[::-1])


# ---- arithmetic ---------------------------------------------------------------------------
def _check_same_size(a: Tensor, b: Tensor) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f"add: expected sizes of 'self' and 'other' to match, but {list(a.shape)} != "
                           f"{list(b.shape)}")


def add(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    """``input + alpha * other`` with a sparse operand: dense + sparse is dense, sparse + sparse is
    sparse (the entries of both, uncoalesced); sparse + dense raises, as in PyTorch."""
    from ember.functions import elementwise as ew

    if not getattr(input, "is_sparse", False):
        if not isinstance(input, Tensor) or tuple(input.shape) != tuple(other.shape):
            shape = list(input.shape) if isinstance(input, Tensor) else []
            raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has size {shape} "
                               f"while other has size {list(other.shape)} (FYI: dense-sparse addition does not "
                               "currently support broadcasting)")
        return ew.add(input, other.to_dense(), alpha=alpha)
    if not getattr(other, "is_sparse", False):
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    _check_same_size(input, other)
    if input.sparse_dim() != other.sparse_dim():
        raise RuntimeError(f"add: expected 'self' and 'other' to have same sparse dimensions, but got "
                           f"{input.sparse_dim()} and {other.sparse_dim()}")
    b = other._vals if alpha == 1 else other._vals * alpha
    dt = _dt.promote_types(input._dtype, b._dtype)
    a = input._vals
    values = _shape.cat([a if a._dtype is dt else a.to(dt), b if b._dtype is dt else b.to(dt)])
    indices = _shape.cat([input._idx, other._idx], 1)
    coalesced = input._coalesced if other._nnz() == 0 else other._coalesced if input._nnz() == 0 else False
    return SparseTensor._build(indices, values, input._sz, coalesced)


def sub(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    return add(input, other, -alpha)


def _scalar_operand(x: Any) -> bool:
    return not isinstance(x, Tensor) or (not x.is_sparse and x.dim() == 0)


def mul(input: Any, other: Any) -> SparseTensor:
    """A sparse operand times a scalar, a dense tensor (broadcast to its size) or another sparse one:
    sparse, with the sparse operand's entries."""
    s, o = (input, other) if getattr(input, "is_sparse", False) else (other, input)
    if _scalar_operand(o):
        return s._with_values(s._vals * o)
    if o.is_sparse:  # the product is zero wherever either is: keep s's entries, times o's values there
        _check_same_size(s, o)
        o = o.to_dense()
    if s.dense_dim():
        raise _unsupported("mul (a hybrid sparse tensor times a dense one)", s._device)
    dense = o.expand(s._sz).reshape(-1) if tuple(o.shape) != s._sz else o.reshape(-1)
    picked = _indexing.IndexSelect.apply(dense, 0, _linear(s._idx, s._sz))
    return s._with_values(s._vals * picked)


def div(input: Any, other: Any, rounding_mode: str | None = None) -> SparseTensor:
    from ember.functions.elementwise import div as dense_div

    if not getattr(input, "is_sparse", False) or not _scalar_operand(other):
        shape = list(other.shape) if isinstance(other, Tensor) else []
        raise RuntimeError(f"Sparse division requires a scalar or zero-dim dense tensor divisor (got shape {shape} "
                           f"for divisor)")
    return input._with_values(dense_div(input._vals, other, rounding_mode=rounding_mode))


def sum(input: SparseTensor, dim: Any = None, keepdim: bool = False, *, dtype: _dt.dtype | None = None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (default: all): dense when every sparse dim is summed, else sparse (coalesced)."""
    vals = input._vals if dtype is None else input._vals.to(dtype)
    nd, sd = input.dim(), input.sparse_dim()
    if dim is None:
        return vals.sum()
    dims = sorted({_wrap_dim(d, nd) for d in ((dim,) if isinstance(dim, int) else dim)})
    dense_dims = [d - sd + 1 for d in dims if d >= sd]
    if dense_dims:
        vals = vals.sum(dense_dims, keepdim=keepdim)
    sparse_dims = [d for d in dims if d < sd]
    if len(sparse_dims) == sd:
        out = vals.sum(0)
        if keepdim:
            out = out.reshape([1] * sd + list(out.shape))
        return out
    size = [1 if d in dims else n for d, n in enumerate(input._sz)] if keepdim else \
        [n for d, n in enumerate(input._sz) if d not in dims]
    if not sparse_dims:
        return SparseTensor._build(input._idx, vals, size, input._coalesced)
    rows = [input._idx[d] if d not in sparse_dims else input._idx[d] * 0 for d in range(sd)
            if keepdim or d not in sparse_dims]
    return _coalesce(SparseTensor._build(_shape.stack(rows), vals, size, False))


# ---- matrix products ----------------------------------------------------------------------
def _check_same_device(a: Tensor, b: Tensor) -> None:
    if a._device is not b._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a._device} and {b._device}!")


def _sparse_dense_mm(s: SparseTensor, d: Tensor) -> Tensor:
    """(M, K) sparse @ (K, N) dense: each entry (i, k, v) adds v * d[k] to row i (index_add), so the
    gradient reaches ``d`` and the values through index_select/index_add."""
    if s.dim() != 2 or s.dense_dim():
        raise RuntimeError(f"addmm: matrices expected, got {s.sparse_dim()}D tensor")
    if d.dim() != 2:
        raise RuntimeError(f"addmm: matrices expected, got {d.dim()}D tensor")
    _check_same_device(s, d)
    if s._dtype is not d._dtype:
        raise RuntimeError(f"expected scalar type {_scalar_word(s._dtype)} but found {_scalar_word(d._dtype)}")
    (m, k), n = s._sz, d.shape[1]
    if d.shape[0] != k:
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {k}, got {d.shape[0]}")
    out = _creation.zeros((m, n), dtype=s._dtype, device=s._device)
    if s._nnz() == 0:
        return out
    picked = _indexing.IndexSelect.apply(d, 0, s._idx[1])
    return _indexing.IndexAdd.apply(out, 0, s._idx[0], picked * s._vals.unsqueeze(1))


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """``mm``/``matmul``/``@`` with a sparse operand: sparse @ dense and dense @ sparse are dense
    (differentiable wrt both), sparse @ sparse is sparse (coalesced)."""
    a, b = input, other
    if a.is_sparse:
        if a.dim() != 2:
            raise _unsupported(f"matmul (a {a.dim()}-D sparse operand)", a._device)
        if b.is_sparse:
            if b.dim() != 2:
                raise _unsupported(f"matmul (a {b.dim()}-D sparse operand)", b._device)
            return to_sparse(_sparse_dense_mm(a, b.to_dense()))
        if b.dim() == 1:
            if a._sz[1] != b.shape[0]:
                raise RuntimeError("mv: expected self.size(-1) == vec.size(-1)")
            return _sparse_dense_mm(a, b.unsqueeze(1)).squeeze(1)
        if b.dim() != 2:
            raise _unsupported(f"matmul (a sparse matrix times a {b.dim()}-D dense tensor)", a._device)
        return _sparse_dense_mm(a, b)
    if b.dim() != 2:  # dense @ sparse
        raise _unsupported(f"matmul (a {b.dim()}-D sparse operand)", b._device)
    if a.dim() == 1:
        return _sparse_dense_mm(b.t(), a.unsqueeze(1)).squeeze(1)
    if a.dim() != 2:
        raise _unsupported(f"matmul (a {a.dim()}-D dense tensor times a sparse matrix)", b._device)
    return _sparse_dense_mm(b.t(), a.t()).t()



# ---- softmax over the specified entries -------------------------------------------------------
def softmax(input: SparseTensor, dim: int, dtype: _dt.dtype | None = None, log: bool = False) -> SparseTensor:
    """``torch.sparse.softmax``: along ``dim``, over the specified entries only (the unspecified
    ones count as -inf, so they stay unspecified). Along a sparse dim the entries are grouped by
    their other sparse indices (``unique``); each group's max (``index_reduce``) is subtracted
    before ``exp`` and its sum taken with ``index_add``, so it is differentiable and runs anywhere."""
    from ember.functions import elementwise as ew
    from ember.nn import functional as nnf

    s = input.coalesce()
    vals = s._vals if dtype is None else s._vals.to(dtype)
    nd, sd = s.dim(), s.sparse_dim()
    d = _wrap_dim(dim, nd)
    if d >= sd:  # a dense dim: an ordinary softmax of the values
        fn = nnf.log_softmax if log else nnf.softmax
        return SparseTensor._build(s._idx, fn(vals, d - sd + 1), s._sz, True)
    if s._nnz() == 0:
        return SparseTensor._build(s._idx, vals, s._sz, True)
    others = [i for i in range(sd) if i != d]
    with no_grad():
        rows = _shape.stack([s._idx[i] for i in others]) if others else s._idx[:0]
        key = _linear(rows, tuple(s._sz[i] for i in others))
        _, group = _search.unique(key, return_inverse=True)
        n = int(group.max().item()) + 1
        empty = _creation.zeros((n, *vals.shape[1:]), dtype=vals.dtype, device=vals.device)
        top = _indexing.index_reduce(empty, 0, group, vals.detach(), "amax", include_self=False)
    shifted = vals - _indexing.IndexSelect.apply(top, 0, group)
    e = ew.exp(shifted)
    total = _indexing.IndexSelect.apply(_indexing.IndexAdd.apply(empty, 0, group, e), 0, group)
    out = shifted - ew.log(total) if log else e / total
    return SparseTensor._build(s._idx, out, s._sz, True)
