"""Shape and movement ops. ``view``-like ops share storage with their input, as in PyTorch.

Example:
    >>> import ember
    >>> x = ember.arange(6).view(2, 3)
    >>> x.t()
    tensor([[0, 3],
            [1, 4],
            [2, 5]])
    >>> ember.cat([x, x], dim=0).shape
    ember.Size([4, 3])
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Sequence
from typing import Any

from ember import _value_range
from ember._ops.numpy_names import numpy_names
from ember._ops.out import EXACT
from ember._ops.registry import Family
from ember.autograd.function import _FW, Function, _requires_grad_now, name_grad_fn
from ember.autograd.grad_mode import STATE
from ember.size import Size
from ember.tensor import Tensor, _wrap_dim, _wrap_dims


def _operator_index(value: Any) -> int:
    """An integer argument given as any integer type (NumPy's, a one-element integer tensor)."""
    return value if value.__class__ is int else operator.index(value)


def _shape_args(args: Sequence) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = tuple(args[0])
    for a in args:
        if a.__class__ is not int:
            return _index_args(args)
    return tuple(args)


def _index_args(args: Sequence) -> tuple:
    """Sizes that are not all Python ints: any integer (NumPy's, a one-element integer tensor) is
    one; a float or a bool is PyTorch's TypeError, not truncated."""
    out = []
    for i, a in enumerate(args):
        if isinstance(a, bool) or not hasattr(a, "__index__"):
            raise TypeError(f"argument 'size' must be tuple of ints, but found element of type {type(a).__name__} "
                            f"at pos {i}")
        out.append(operator.index(a))
    return tuple(out)


def _infer_shape(shape: tuple, numel: int, src_shape: tuple) -> tuple:
    """``shape`` with its -1 filled in, by PyTorch's ``infer_size`` (the checks in its order)."""
    infer, known = None, 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s >= 0:
            known *= s
        else:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
    if numel == known or (infer is not None and known > 0 and numel % known == 0):
        if infer is None:
            return shape
        if known == 0:  # 0 elements: any size fits the -1
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                               "unspecified dimension size -1 can be any value and is ambiguous")
        return shape[:infer] + (numel // known,) + shape[infer + 1:]
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


_VIEW_ERROR = ("view size is not compatible with input tensor's size and stride (at least one dimension spans "
               "across two contiguous subspaces). Use .reshape(...) instead.")


def _compute_stride(oldshape: tuple, oldstride: tuple, newshape: tuple) -> tuple | None:
    """The strides viewing ``oldshape``/``oldstride`` as ``newshape`` without a copy, or None.

    PyTorch's ``at::detail::computeStride`` (aten/src/ATen/TensorUtils.cpp), line for line: the
    old axes are cut into chunks that are contiguous within themselves (size-1 axes are ignored,
    their strides are free), and the new shape must split or merge axes only inside a chunk.
    """
    if not oldshape:
        return (1,) * len(newshape)
    numel = math.prod(oldshape)
    if numel == 0 and tuple(oldshape) == tuple(newshape):
        return tuple(oldstride)
    newstride = [0] * len(newshape)
    if numel == 0:  # any strides will do; PyTorch picks the contiguous ones
        acc = 1
        for d in range(len(newshape) - 1, -1, -1):
            newstride[d] = acc
            acc *= max(newshape[d], 1)
        return tuple(newstride)
    view_d = len(newshape) - 1
    chunk_base_stride = oldstride[-1]  # stride of the innermost axis of the current chunk
    tensor_numel = view_numel = 1
    for tensor_d in range(len(oldshape) - 1, -1, -1):
        tensor_numel *= oldshape[tensor_d]
        if tensor_d == 0 or (oldshape[tensor_d - 1] != 1
                             and oldstride[tensor_d - 1] != tensor_numel * chunk_base_stride):  # end of a chunk
            while view_d >= 0 and (view_numel < tensor_numel or newshape[view_d] == 1):
                newstride[view_d] = view_numel * chunk_base_stride
                view_numel *= newshape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = oldstride[tensor_d - 1]
                tensor_numel = view_numel = 1
    return tuple(newstride) if view_d == -1 else None


def _is_view_shape(input: Tensor, shape: tuple) -> bool | None:
    """Whether ``shape`` (same numel) can view ``input`` without a copy, by PyTorch's rule.

    None when the backend has no ``strides`` kernel and the answer depends on the strides; the
    shapes that need no strides (a contiguous or empty input, only size-1 axes added or removed)
    are answered either way.
    """
    data, kt = input._data, input._kt
    old = tuple(data.shape)
    if kt["is_contiguous"](data):
        return True
    if kt.has("strides"):
        return _compute_stride(old, tuple(kt["strides"](data)), shape) is not None
    if 0 in old or [n for n in old if n != 1] == [n for n in shape if n != 1]:
        return True
    return None


def _same_view(b: Tensor) -> Tensor:
    return b.reshape(tuple(b.shape))


def _piece_view(slices: tuple, squeezed: tuple | None):
    """The view function of one piece of ``split``/``unbind``: a slice, then maybe a squeeze."""
    if squeezed is None:
        return lambda b: Slice.apply(b, slices)
    return lambda b: Slice.apply(b, slices).reshape(squeezed)


class Reshape(Function):
    _backward_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        data = x._kt["reshape"](x._data, shape)
        return x._view_of(data, lambda b: b.reshape(shape))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class ReshapeCopy(Reshape):
    """``reshape`` where no view exists: a new tensor (own version counter), as in PyTorch."""

    _backward_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        out = x._new(x._kt["reshape"](x._data, shape))
        if x._bounds_record is not None:
            _value_range.inherit(out, x, is_copy=True)
        return out


def _reshape(input: Tensor, shape: tuple, viewable: bool | None) -> Tensor:
    if shape == input._data.shape:
        if input._requires_grad or (input._base is not None and _requires_grad_now(input)) or (
                _FW[0] is not None and _FW[0].involves(input)):  # a forward-AD dual: its view gets the tangent
            return Reshape.apply(input, shape)
        return input._view_of(input._data, _same_view)
    # Unknown (no strides kernel): the kernel may still return a view, so keep the version counter shared.
    return (ReshapeCopy if viewable is False else Reshape).apply(input, shape)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """A view when the strides allow it (PyTorch's rule, see ``view``), else a copy."""
    shape = _infer_shape(_shape_args(shape), input.numel(), input._data.shape)
    if shape == input._data.shape:
        return _reshape(input, shape, True)
    return _reshape(input, shape, _is_view_shape(input, shape))


def view(input: Tensor, *shape: Any) -> Tensor:
    """A view with a new shape, sharing storage; PyTorch's error when the strides don't allow one.

    Only axes that are contiguous with each other may be merged (see ``_compute_stride``): for
    ``x`` of shape (4, 6), ``x.t().view(-1)`` raises while ``x.t().view(2, 3, 4)`` (splitting one
    axis) is a view.
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)):
        return _view_dtype(input, shape[0])
    shape = _infer_shape(_shape_args(shape), input.numel(), input._data.shape)
    if shape != input._data.shape and not _is_view_shape(input, shape):
        raise RuntimeError(_VIEW_ERROR)
    return _reshape(input, shape, True)


def _view_dtype(input: Tensor, dtype: Any) -> Tensor:
    """``view(dtype)``: the same bytes read as ``dtype`` (no conversion), a view sharing storage and
    version counter, outside autograd as in PyTorch. A different itemsize scales the last dim, under
    PyTorch's layout rules and errors (checked here, for every backend, before the ``bitcast`` kernel)."""
    from ember import dtypes as _dt

    if not isinstance(dtype, _dt.dtype):
        raise TypeError(f"view(): argument 'dtype' must be ember.dtype, not {type(dtype).__name__}")
    if input._dtype.itemsize != dtype.itemsize:
        _check_view_dtype(input, dtype)
    out = input._view_of(input._kt["bitcast"](input._data, dtype))
    out._dtype = dtype
    return out


def _check_view_dtype(input: Tensor, dtype: Any) -> None:
    from ember.functions.elementwise import _CAN_CAST_NAMES

    old, new = input._dtype.itemsize, dtype.itemsize
    what = (f"to view {_CAN_CAST_NAMES.get(input._dtype, input._dtype)} as {_CAN_CAST_NAMES.get(dtype, dtype)} "
            "(different element sizes)")
    if input.dim() == 0:
        raise RuntimeError(f"self.dim() cannot be 0 {what}")
    ratio = max(old, new) // min(old, new)
    if new > old and input.shape[-1] % ratio:
        raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {what}, but got {input.shape[-1]}")
    strides = _layout_strides(input)
    if strides[-1] != 1:
        raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
    if new < old:
        return
    kt = input._kt
    if not kt.has("storage_offset"):
        raise RuntimeError(f"the {input.device.type} backend has no 'storage_offset' kernel, so view(dtype) cannot "
                           "check PyTorch's alignment rule for a larger element size")
    offset = kt["storage_offset"](input._data)
    if offset % ratio:
        raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {what}, but got {offset}")
    for d, st in enumerate(strides[:-1]):
        if st % ratio:
            raise RuntimeError(f"self.stride({d}) must be divisible by {ratio} {what}, but got {st}")


def _layout_strides(input: Tensor) -> tuple:
    """The strides in elements: from the backend's ``strides`` kernel, or C order when it lacks it
    and the tensor is contiguous; otherwise view(dtype) cannot check PyTorch's rules."""
    kt = input._kt
    if kt.has("strides") and input.numel():  # an empty tensor has PyTorch's C-order strides
        return tuple(kt["strides"](input._data))
    if input.numel() and not kt["is_contiguous"](input._data):
        raise RuntimeError(f"the {input.device.type} backend has no 'strides' kernel, so view(dtype) with a different "
                           "element size needs a contiguous tensor")
    out, acc = [], 1
    for n in reversed(tuple(input.shape)):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, tuple(other.shape))


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, tuple(other.shape))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    nd = input.dim()
    s, e = _wrap_dim(start_dim, nd), _wrap_dim(end_dim, nd)  # a 0-d tensor's dims are 0 and -1
    if nd == 0:
        return reshape(input, 1)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = tuple(input.shape)
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


@numpy_names
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    d = _wrap_dim(dim, input.dim())
    if not len(sizes):
        raise RuntimeError("unflatten: sizes must be non-empty")
    if input.dim() == 0:
        raise RuntimeError("unflatten got an unexpected error:\nDimension specified as 0 but tensor has no dimensions")
    shape = tuple(input.shape)
    try:
        sizes = _infer_shape(_shape_args(tuple(sizes)), shape[d], (shape[d],))
    except RuntimeError as exc:  # PyTorch rewords infer_size's errors for unflatten
        if "is invalid for input of size" in str(exc):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                               f"({shape[d]}) in the input tensor") from None
        raise RuntimeError(f"unflatten got an unexpected error:\n{exc}") from None
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


@numpy_names
def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    shape = tuple(input.shape)
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        if not isinstance(dim, (tuple, list)) and not hasattr(dim, "__index__"):
            raise TypeError(f"squeeze() received an invalid combination of arguments - got ({type(dim).__name__}), "
                            "but expected one of:\n * ()\n * (int dim)\n * (tuple of ints dim)")
        dims = set(_wrap_dims(dim if isinstance(dim, (tuple, list)) else _operator_index(dim), len(shape)))
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    kind = 0 if dim is None else 2 if isinstance(dim, (tuple, list)) else 1  # PyTorch's three squeeze overloads
    return name_grad_fn(reshape(input, new), f"SqueezeBackward{kind}", input)


@numpy_names
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    if not hasattr(dim, "__index__") or isinstance(dim, bool):
        raise TypeError(f"unsqueeze(): argument 'dim' (position 1) must be int, not {type(dim).__name__}")
    shape = list(input.shape)
    d = _wrap_dim(dim, len(shape) + 1)
    shape.insert(d, 1)
    return name_grad_fn(reshape(input, tuple(shape)), "UnsqueezeBackward0", input)


class Permute(Function):
    _backward_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._view_of(x._kt["permute"](x._data, dims), lambda b: b.permute(dims))

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.permute(tuple(inverse)), None


def permute(input: Tensor, *dims: Any, **kwargs: Any) -> Tensor:
    dims = _shape_args(_keyword_list("permute", dims, kwargs, "dims"))  # torch.permute(x, dims=...) too
    nd = input.dim()
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal to "
                           f"len(dims) = {len(dims)}")
    dims = tuple(_wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = input.dim()
    if nd == 0:  # only dims 0 and -1 name the scalar's one (virtual) dim
        _wrap_dim(dim0, 0), _wrap_dim(dim1, 0)
        return input
    order = list(range(nd))
    a, b = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
    order[a], order[b] = order[b], order[a]
    return name_grad_fn(Permute.apply(input, tuple(order)), "TransposeBackward0", input)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    if input.dim() > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.dim()}D")
    return name_grad_fn(transpose(input, 0, 1) if input.dim() == 2 else input, "TBackward0", input)


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    single = [not isinstance(a, (tuple, list)) for a in (source, destination)]
    if single[0] != single[1]:  # PyTorch's overloads: two ints or two int lists
        raise TypeError(f"movedim() received an invalid combination of arguments - got (Tensor, "
                        f"{type(source).__name__}, {type(destination).__name__}), but expected one of:\n"
                        " * (Tensor input, int source, int destination)\n"
                        " * (Tensor input, tuple of ints source, tuple of ints destination)")
    if single[0]:  # any integer (NumPy's, a 0-d integer tensor) is a dim
        source, destination = _operator_index(source), _operator_index(destination)
    nd = input.dim()
    if nd == 0:  # dims 0 / -1 only, and nothing to move
        for d in (*((source,) if isinstance(source, int) else source),
                  *((destination,) if isinstance(destination, int) else destination)):
            _wrap_dim(d, 0)
        return Permute.apply(input, ())
    given = {"source": list((source,) if isinstance(source, int) else source),
             "destination": list((destination,) if isinstance(destination, int) else destination)}
    src = [_wrap_dim(s, nd) for s in given["source"]]
    dst = [_wrap_dim(d, nd) for d in given["destination"]]
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({given['source']} dims) should "
                           f"contain the same number of dims as destination ({given['destination']} dims)")
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({given[name]})")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(input, tuple(order))


moveaxis = movedim


class Expand(Function):
    _backward_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        data = x._data
        if len(shape) > data.ndim:
            data = x._kt["reshape"](data, (1,) * (len(shape) - data.ndim) + tuple(data.shape))
        return x._view_of(x._kt["expand"](data, shape), lambda b: b.expand(shape))

    @staticmethod
    def backward(ctx, g):
        from ember.functions.elementwise import unbroadcast

        return unbroadcast(g, ctx.shape), None


def expand(input: Tensor, *sizes: Any, **kwargs: Any) -> Tensor:
    sizes = _shape_args(_keyword_list("expand", sizes, kwargs, "size"))
    shape = tuple(input.shape)
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(ember.{input._type_name().split('.')[-1]}{{{list(shape)}}}, size={list(sizes)}): "
                           f"the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
                           f"dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    out = [0] * len(sizes)
    for i in range(len(sizes) - 1, -1, -1):  # from the last dim, as PyTorch's infer_expand_geometry
        s = sizes[i]
        cur = shape[i - lead] if i >= lead else 1
        if s == -1:
            if i < lead:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, non-existing "
                                   f"dimension {i}")
            s = cur
        if cur != 1 and cur != s:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}")
        if s < 0:  # PyTorch gets as far as allocating the sizes
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(sizes)}")
        out[i] = s
    out = tuple(out)
    if out == shape:
        return input if not input._requires_grad else Expand.apply(input, out)
    return Expand.apply(input, out)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, tuple(other.shape))


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    return expand(input, tuple(size))


def _tensors(name: str, tensors: Any) -> list:
    """A list of the tensors a ``tensors`` argument holds, checked as PyTorch's argument parser
    checks a TensorList: a tuple or list (a Tensor, generator, range... is a TypeError naming its
    type), each element a Tensor (else "expected Tensor as element i in argument 0")."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    _check_elements(tensors)
    return list(tensors)


def _check_elements(tensors: Sequence, arg: int = 0) -> None:
    """Each element a Tensor, as PyTorch's TensorList parsing requires (a number, None or list
    would otherwise fail later on a missing attribute)."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            from ember.functions.creation import _tp_name

            raise TypeError(f"expected Tensor as element {i} in argument {arg}, but got {_tp_name(t)}")


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    from ember.functions.elementwise import broadcast_shapes

    _check_elements(tensors)
    try:
        shape = broadcast_shapes(*(tuple(t.shape) for t in tensors))
    except RuntimeError:  # PyTorch folds the shapes pairwise (infer_size) and names the pair that fails
        acc: tuple = ()
        for t in tensors:
            acc = _infer_size(acc, tuple(t.shape))
        raise
    return tuple(expand(t, shape) for t in tensors)


def _infer_size(a: tuple, b: tuple) -> tuple:
    """The broadcast of two shapes, with PyTorch's ``infer_size`` error (checked from the last dim)."""
    nd = max(len(a), len(b))
    out = [1] * nd
    for i in range(nd - 1, -1, -1):
        x = a[i - nd + len(a)] if i - nd + len(a) >= 0 else 1
        y = b[i - nd + len(b)] if i - nd + len(b) >= 0 else 1
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                               f"dimension {i}")
        out[i] = y if x == 1 else x
    return tuple(out)


def _fresh(t: Tensor) -> Tensor:
    """The repeat family always returns new memory, as PyTorch does: a result that is still a view
    of its input (a repeat of 1, or a reshape the strides allowed) is copied, so a write into it can
    never reach the input and its version counter is its own."""
    return clone(t) if t._base is not None else t


def _keyword_list(name: str, args: tuple, kwargs: dict, keyword: str) -> tuple:
    """The sizes of a ``*sizes`` method given positionally or as ``keyword=`` (one of the two), with
    PyTorch's TypeErrors for neither, both or another keyword."""
    if keyword in kwargs:
        if args:
            raise TypeError(f"{name}() got multiple values for argument '{keyword}'")
        args = (kwargs.pop(keyword),)
    if kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if not args:
        raise TypeError(f'{name}() missing 1 required positional arguments: "{keyword}"')
    return args


def repeat(input: Tensor, *sizes: Any, **kwargs: Any) -> Tensor:
    sizes = _shape_args(_keyword_list("repeat", sizes, kwargs, "repeats"))
    if len(sizes) < input.dim():
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    shape = (1,) * (len(sizes) - input.dim()) + tuple(input.shape)
    final = tuple(r * s for r, s in zip(sizes, shape))
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(final)}: {list(final)}")
    inter, expanded = [], []
    for r, s in zip(sizes, shape):
        inter += [1, s]
        expanded += [r, s]
    return name_grad_fn(_fresh(reshape(expand(reshape(input, tuple(inter)), tuple(expanded)), final)),
                        "RepeatBackward0", input)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    if not isinstance(dims, (tuple, list, Size)):
        raise TypeError(f"tile(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    dims = tuple(dims)
    if len(dims) < input.dim():
        dims = (1,) * (input.dim() - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated; ``repeats`` is an int, a 0-d/1-element tensor,
    or a tensor with one count per slice. ``repeat_interleave(counts)`` alone gives the indices
    ``[0]*counts[0] + [1]*counts[1] + ...``. Always a new tensor."""
    if repeats is None:
        if not isinstance(input, Tensor):
            raise TypeError("repeat_interleave(): argument 'repeats' is required")
        _check_count_dtype(input)  # (the kernel's dtype dispatch comes before its rank check)
        if input.dim() != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        return _interleave_index(input, output_size)
    if dim is None:
        input, dim = input.reshape(-1), 0
    d = _wrap_dim(dim, max(input.dim(), 1))
    if input.dim() == 0:
        input = input.reshape(1)
    if isinstance(repeats, Tensor):
        _check_count_dtype(repeats)
        if repeats.dim() > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.numel() != 1:
            from ember.functions.indexing import index_select

            if repeats.shape[0] != input.shape[d]:
                raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                                   f"repeats.size(0) = {repeats.shape[0]} and input.size({d}) = {input.shape[d]}")
            return index_select(input, d, _interleave_index(repeats, output_size))
        repeats, counted = _repeat_count(repeats), True
    else:
        counted = False
    if repeats < 0:
        raise RuntimeError("repeats can not be negative" if counted else "Repeats must be non-negative")
    shape = tuple(input.shape)
    if output_size is not None and output_size != shape[d] * repeats:
        raise RuntimeError("allocated size does not match required size" if counted else
                           f"repeat_interleave: Invalid output_size, expected {shape[d] * repeats} but got {output_size}")
    x = unsqueeze(input, d + 1)
    x = expand(x, shape[:d + 1] + (repeats,) + shape[d + 1:])
    return _fresh(reshape(x, shape[:d] + (shape[d] * repeats,) + shape[d + 1:]))


def _check_count_dtype(counts: Tensor) -> None:
    """PyTorch's repeat_interleave kernel counts in int32 or int64 only."""
    if counts._dtype.name not in ("int32", "int64"):
        from ember.functions.complex_ops import type_word

        raise NotImplementedError(f'"repeat_interleave_{counts._device.type}" not implemented for '
                                  f"'{type_word(counts._dtype)}'")


def _repeat_count(repeats: Tensor) -> int:
    _check_count_dtype(repeats)
    return int(repeats.reshape(()).item())


def _interleave_index(counts: Tensor, output_size: int | None) -> Tensor:
    """``[i] * counts[i]`` concatenated, on the counts' device (its length needs the counts on the host,
    as in PyTorch without ``output_size``)."""
    import numpy as np

    from ember.functions.creation import tensor

    _check_count_dtype(counts)
    if counts.dim() != 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    host = np.asarray(counts.tolist(), dtype=np.int64)
    if (host < 0).any():
        raise RuntimeError("repeats can not be negative")
    if output_size is not None and output_size != int(host.sum()):
        raise RuntimeError("allocated size does not match required size")
    return tensor(np.repeat(np.arange(host.size, dtype=np.int64), host), dtype=counts._dtype, device=counts.device)


class Clone(Function):
    _backward_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x):
        out = x._new(x._kt["clone"](x._data))
        if x._bounds_record is not None:
            _value_range.inherit(out, x, is_copy=True)
        return out

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    from ember.functions.layout import check_memory_format  # the layout stays C order for every format

    check_memory_format(input.dim(), memory_format, "clone")
    return Clone.apply(input)


def contiguous(input: Tensor, memory_format: Any = None) -> Tensor:
    from ember.functions.layout import check_memory_format  # the layout stays C order for every format

    check_memory_format(input.dim(), memory_format, "contiguous")
    return input if input._kt["is_contiguous"](input._data) else Clone.apply(input)


class Slice(Function):
    """Basic slicing of several axes at once (a view); backward scatters into zeros."""

    _backward_name = "SliceBackward0"

    @staticmethod
    def forward(ctx, x, slices):
        ctx.shape, ctx.slices = x._data.shape, slices
        return x._view_of(x._kt["slice"](x._data, slices), lambda b: Slice.apply(b, slices))

    @staticmethod
    def backward(ctx, g):
        return SliceScatter.apply(g, ctx.shape, ctx.slices), None


class SliceScatter(Function):
    """zeros(shape) with ``g`` written into ``slices``; its backward slices again."""

    _backward_name = "SliceBackwardBackward0"

    @staticmethod
    def forward(ctx, g, shape, slices):
        ctx.slices = slices
        out = g._new(g._kt["full"](shape, 0, g._dtype, g._device.index))
        g._kt["copy_"](g._kt["slice"](out._data, slices), g._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        return Slice.apply(gg, ctx.slices), None, None


def slice_dims(input: Tensor, slices: tuple) -> Tensor:
    """Apply normalised (start, stop, step) triples, one per axis."""
    return Slice.apply(input, slices)


def _full_slices(shape: tuple) -> list:
    return [(0, s, 1) for s in shape]


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    if input.dim() == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, input.dim())
    size = input.shape[d]
    if isinstance(start, Tensor):
        from ember import dtypes as _dt

        if start.dim() != 0 or start.dtype.is_floating_point or start.dtype.is_complex or start.dtype is _dt.bool_:
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        start = int(start.item())
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    sl = _full_slices(tuple(input.shape))
    sl[d] = (start, start + length, 1)
    return Slice.apply(input, tuple(sl))


class Select(Function):
    """``x`` at ``index`` along ``dim``, that axis dropped: one view node (``x[i]`` is common enough in
    loops that a narrow and a squeeze, two nodes, cost it twice)."""

    _backward_name = "SelectBackward0"

    @staticmethod
    def forward(ctx, x, d, index):
        shape = x._data.shape
        slices = tuple((index, index + 1, 1) if a == d else (0, n, 1) for a, n in enumerate(shape))
        ctx.shape, ctx.slices, ctx.d = shape, slices, d
        kt = x._kt
        data = kt["reshape"](kt["slice"](x._data, slices), shape[:d] + shape[d + 1:])  # (a view: size-1 axis)
        return x._view_of(data, lambda b: Select.apply(b, d, index))

    @staticmethod
    def backward(ctx, g):
        return SliceScatter.apply(g.unsqueeze(ctx.d), ctx.shape, ctx.slices), None, None


@numpy_names
def select(input: Tensor, dim: int, index: int) -> Tensor:
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, len(shape))
    size = shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at dimension {d}")
    return Select.apply(input, d, index + size if index < 0 else index)


@numpy_names
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.dim() == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, input.dim())
    size = input.shape[d]
    if not size:  # PyTorch: ``chunks`` empty pieces (split_with_sizes), not one
        return SplitWithSizes.apply(input, d, (0,) * chunks, False)
    return split(input, -(-size // chunks), d)


_NO_SIZE = object()


def split(input: Tensor, split_size_or_sections: Any = _NO_SIZE, dim: int = 0, *, split_size: Any = _NO_SIZE) -> tuple:
    # ``split_size=`` is ``Tensor.split``'s name for the argument; a one-element tensor is an int, as in
    # PyTorch's ``Tensor.split``
    if split_size is not _NO_SIZE:
        if split_size_or_sections is not _NO_SIZE:
            raise TypeError("split() got multiple values for argument 'split_size'")
        split_size_or_sections = split_size
    if split_size_or_sections is _NO_SIZE:
        raise TypeError("split() missing 1 required positional argument: 'split_size'")
    if isinstance(split_size_or_sections, Tensor):
        try:
            split_size_or_sections = int(split_size_or_sections)
        except (ValueError, RuntimeError):  # several elements: sizes, which must be ints, not a Tensor
            raise TypeError("split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, not "
                            "Tensor") from None
    if input.dim() == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, input.dim())
    size = input.shape[d]
    if hasattr(split_size_or_sections, "__index__"):
        step = _operator_index(split_size_or_sections)
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
        if step == 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        sizes = [min(step, size - i) for i in range(0, size, step)] if size else [0]
    else:
        if not isinstance(split_size_or_sections, (tuple, list)):
            raise TypeError("split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, not "
                            f"{type(split_size_or_sections).__name__}")
        sizes = list(_index_args(split_size_or_sections))
        if any(n < 0 for n in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                               f"split_sizes={sizes}")
        if sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at "
                               f"dimension {d}), but got split_sizes={sizes}")
    parts = SplitWithSizes.apply(input, d, tuple(sizes), False)
    if hasattr(split_size_or_sections, "__index__") and parts:  # PyTorch's split (not split_with_sizes): one node
        name_grad_fn(parts[0], "SplitBackward0", input)
    return parts


@numpy_names
def unbind(input: Tensor, dim: int = 0) -> tuple:
    if input.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = _wrap_dim(dim, input.dim())
    return Unbind.apply(input, d, (1,) * input.shape[d], True)


class SplitWithSizes(Function):
    """Views of consecutive pieces along ``dim`` (split, chunk; unbind with ``squeeze``).

    One node for all the pieces, as in PyTorch: the backward is a single ``cat`` (``stack`` for
    unbind) of the pieces' gradients, where one Slice node per piece would scatter each into a
    zero-filled tensor of the input's full size and then add them all up.
    """

    _backward_name = "SplitWithSizesBackward0"

    @staticmethod
    def forward(ctx, x, dim, sizes, squeeze):
        ctx.dim, ctx.squeeze = dim, squeeze
        kt, data = x._kt, x._data
        sl = _full_slices(tuple(data.shape))
        outs, start = [], 0
        for size in sizes:
            sl[dim] = (start, start + size, 1)
            piece = kt["slice"](data, tuple(sl))
            squeezed = None
            if squeeze:  # drop the size-1 axis: always expressible as a view
                shape = tuple(piece.shape)
                squeezed = shape[:dim] + shape[dim + 1:]
                piece = kt["reshape"](piece, squeezed)
            out = x._view_of(piece, _piece_view(tuple(sl), squeezed))
            out._multi_view = True  # PyTorch forbids in-place ops on these when they require grad
            outs.append(out)
            start += size
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        # Pieces that got no gradient arrive as zeros (materialize_grads), so the result has the input's shape.
        return (stack(grads, ctx.dim) if ctx.squeeze else cat(grads, ctx.dim)), None, None, None


class Unbind(SplitWithSizes):
    _backward_name = "UnbindBackward0"


class Cat(Function):
    _backward_name = "CatBackward0"

    @staticmethod
    def forward(ctx, dim, skip, *tensors):
        from ember import dtypes as _dt

        # the skipped legacy empty tensors (``skip[i]``) still take part in the result dtype
        dt = _dt.result_type(*[t for t in tensors])
        first = tensors[0]
        for t in tensors[1:]:
            if t._device is not first._device:
                raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                                   f"{first._device} and {t._device}!")
        kept = [t for t, s in zip(tensors, skip) if not s]
        datas = [t._data if t._dtype is dt else t._kt["astype"](t._data, dt) for t in kept]
        ctx.sizes = [t._data.shape[dim] for t in kept]
        ctx.dim, ctx.skip = dim, skip
        ctx.dtypes = [t._dtype for t in tensors]
        out = first._kt["cat"](datas, dim)
        # PyTorch's cat (and so stack, default_collate) returns a contiguous result for inputs that are not
        # all channels-last; a backend's concatenate may follow transposed inputs' order (NumPy does), and
        # then ``stack([x.t(), x.t()]).view(2, -1)`` would fail where PyTorch's works.
        if not first._kt["is_contiguous"](out):
            out = first._kt["clone"](out)
        return first._new(out, dt)

    @staticmethod
    def backward(ctx, g):
        from ember.functions.creation import zeros

        parts = iter(split(g, ctx.sizes, ctx.dim))
        # a skipped input's gradient is its own empty (0,), as PyTorch's CatBackward0 gives
        grads = [zeros(0, dtype=dt, device=g.device) if s else next(parts) for s, dt in zip(ctx.skip, ctx.dtypes)]
        return (None, None) + tuple(p if p.dtype is dt else p.to(dt) for p, dt in zip(grads, ctx.dtypes))


@numpy_names
def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    tensors = _tensors("cat", tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    # PyTorch skips legacy empty 1-D tensors of shape (0,) in the shapes (not in the result dtype, nor
    # in the gradients); when all are such, the result is one of them and ``dim`` goes unchecked.
    skip = tuple(t.dim() == 1 and t.shape[0] == 0 for t in tensors)
    if all(skip):
        skip = (False,) + skip[1:]
    first = skip.index(False)
    ref = tensors[first]
    if ref.dim() == 0:
        raise RuntimeError(f"zero-dimensional tensor (at position {first}) cannot be concatenated")
    d = 0 if ref.dim() == 1 and ref.shape[0] == 0 else _wrap_dim(dim, ref.dim())
    for i, t in enumerate(tensors):
        if skip[i]:
            continue
        if t.dim() != ref.dim():
            if t.dim() == 0:
                raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.dim()} and {t.dim()}")
        for ax in range(ref.dim()):
            if ax != d and t.shape[ax] != ref.shape[ax]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref.shape[ax]} but got size {t.shape[ax]} for tensor number {i} in the list.")
    result = Cat.apply(d, skip, *tensors)
    if out is not None:
        from ember.functions.elementwise import _CAN_CAST_NAMES, _out

        if isinstance(out, Tensor) and result._dtype.category > out._dtype.category:  # cat's own check: TypeError
            raise TypeError(f"torch.cat(): input types can't be cast to the desired output type "
                            f"{_CAN_CAST_NAMES[out._dtype]}")
        return _out(result, out)
    return result


concat = concatenate = cat


@numpy_names
def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    tensors = _tensors("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tuple(tensors[0].shape)
    for i, t in enumerate(tensors):
        if tuple(t.shape) != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                               f"{list(t.shape)} at entry {i}")
    d = _wrap_dim(dim, len(shape) + 1)
    if out is not None:  # before the fast path below, whose fresh views hide that they share ``out``'s memory
        from ember._ops.out import check_overlap

        check_overlap("stack", out, tensors)
    if _records_nothing(tensors):  # a DataLoader's collate: 64 unsqueezes without autograd's bookkeeping
        unsqueezed = shape[:d] + (1,) + shape[d:]
        return cat([t._new(t._kt["reshape"](t._data, unsqueezed)) for t in tensors], d, out=out)
    return name_grad_fn(cat([unsqueeze(t, d) for t in tensors], d, out=out), "StackBackward0", *tensors)


def _records_nothing(tensors: Sequence[Tensor]) -> bool:
    """Whether ops on ``tensors`` record no graph and carry no forward-AD tangent (``Function.apply``'s
    own test), so their intermediate views need no autograd bookkeeping."""
    if _FW[0] is not None:
        return False
    if not STATE.enabled:
        return True
    return not any(t._requires_grad or (t._base is not None and _requires_grad_now(t)) for t in tensors)


def hstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    tensors = [_atleast_1d(t) for t in _tensors("hstack", tensors)]
    if not tensors:
        raise RuntimeError("hstack expects a non-empty TensorList")
    return cat(tensors, 0 if tensors[0].dim() == 1 else 1, out=out)


def vstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    tensors = _tensors("vstack", tensors)
    if not tensors:
        raise RuntimeError("vstack expects a non-empty TensorList")
    return cat([_atleast_2d(t) for t in tensors], 0, out=out)


def _atleast_1d(t: Tensor) -> Tensor:
    return reshape(t, 1) if t.dim() == 0 else t


def _atleast_2d(t: Tensor) -> Tensor:
    return reshape(t, (1, -1)) if t.dim() < 2 else t


def _each(fn: Any, tensors: tuple) -> Any:
    """PyTorch's atleast_Nd forms: one tensor gives one tensor; several, or one list/tuple, a tuple."""
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        _check_elements(tensors[0])
        return tuple(fn(t) for t in tensors[0])
    _check_elements(tensors)
    if len(tensors) == 1:
        return fn(tensors[0])
    return tuple(fn(t) for t in tensors)


def atleast_1d(*tensors: Any) -> Any:
    """Views with at least one dim (a 0-d tensor becomes shape ``(1,)``); several tensors give a tuple.

    Example:
        >>> import ember
        >>> ember.atleast_1d(ember.tensor(1.0), ember.tensor([2.0, 3.0]))
        (tensor([1.]), tensor([2., 3.]))
    """
    return _each(_atleast_1d, tensors)


def atleast_2d(*tensors: Any) -> Any:
    """Views with at least two dims (``(n,)`` becomes ``(1, n)``); several tensors give a tuple.

    Example:
        >>> import ember
        >>> ember.atleast_2d(ember.tensor([2.0, 3.0]))
        tensor([[2., 3.]])
    """
    return _each(_atleast_2d, tensors)


class Flip(Function):
    _backward_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._new(x._kt["flip"](x._data, dims))

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def flip(input: Tensor, dims: Any) -> Tensor:
    if not isinstance(dims, (tuple, list, Size)):  # ``Tensor.flip(0)`` unpacks; ``ember.flip`` wants a sequence
        raise TypeError(f"flip(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    dims = tuple(sorted(_wrap_dims(dims, input.dim())))  # a repeated dim raises, as in PyTorch
    if not dims or input.dim() == 0:
        return clone(input)
    return Flip.apply(input, dims)


def _flip_method(self: Tensor, *dims: Any, **kwargs: Any) -> Tensor:
    """``x.flip(0, 1)`` as well as ``x.flip((0, 1))`` and ``x.flip(dims=[0, 1])``."""
    if kwargs:
        if dims or set(kwargs) != {"dims"}:
            raise TypeError(f"flip() received an invalid combination of arguments - got {len(dims)} positional "
                            f"and the keywords {sorted(kwargs)}; expected (tuple of ints dims)")
        return flip(self, kwargs["dims"])
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    return flip(self, tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else _shape_args(dims))


def fliplr(input: Tensor) -> Tensor:
    if input.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    if input.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


def _roll_args(input: Tensor, shifts: Any, dims: Any) -> tuple:
    """(shifts, dims) as tuples, with PyTorch's checks; no dims means the flattened tensor."""
    shifts = (shifts,) if not isinstance(shifts, (tuple, list)) else tuple(shifts)
    shifts = tuple(int(s.item()) if isinstance(s, Tensor) else s for s in shifts)
    dims = () if dims is None else (dims,) if isinstance(dims, int) else tuple(dims)
    for s in shifts:
        if isinstance(s, bool) or not isinstance(s, int):
            raise TypeError(f"roll(): argument 'shifts' (position 1) must be tuple of ints, not {type(s).__name__}")
    if not shifts:
        raise RuntimeError("`shifts` required")
    if len(shifts) != len(dims) and (dims or len(shifts) != 1):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if dims and input.dim() == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    return shifts, dims


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Rotate along ``dims`` (a dim may repeat: its shifts add up, as in PyTorch)."""
    shifts, dims = _roll_args(input, shifts, dims)
    if not dims:
        return name_grad_fn(roll(input.reshape(-1), shifts, 0).reshape(input.shape), "RollBackward0", input)
    out = input
    for s, d in zip(shifts, dims):
        d = _wrap_dim(d, input.dim())
        n = input.shape[d]
        if n == 0:
            continue
        s %= n
        if s:
            out = cat([narrow(out, d, n - s, s), narrow(out, d, 0, n - s)], d)
    return name_grad_fn(out, "RollBackward0", input)


# (rows, cols, diagonal, lower, device) -> the bool mask of tril/triu: a causal mask built on every
# forward (``ones(t, t).tril()``) cost six ops, ~45 us (issue #16). Small masks only, few of them;
# read-only (``where`` never writes its condition).
_TRI_MASKS: dict = {}
_TRI_MASK_MAX_ELEMENTS = 1 << 16
_TRI_MASKS_KEPT = 32


def _tri_mask(input: Tensor, diagonal: int, lower: bool) -> Tensor:
    from ember.functions.creation import arange

    if input.dim() < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
    rows, cols = input._data.shape[-2], input._data.shape[-1]
    key = (rows, cols, diagonal, lower, input._device) if type(diagonal) is int else None
    mask = _TRI_MASKS.get(key) if key is not None else None
    if mask is not None:
        return mask
    r = arange(rows, device=input.device).reshape(rows, 1)
    c = arange(cols, device=input.device).reshape(1, cols)
    mask = (c - r <= diagonal) if lower else (c - r >= diagonal)
    # not one made in inference_mode: autograd refuses to save inference tensors later
    if key is not None and rows * cols <= _TRI_MASK_MAX_ELEMENTS and not STATE.inference:
        if len(_TRI_MASKS) >= _TRI_MASKS_KEPT:
            _TRI_MASKS.clear()
        _TRI_MASKS[key] = mask
    return mask


def _tri(input: Tensor, diagonal: int, lower: bool) -> Tensor:
    from ember import dtypes as _dt
    from ember.functions.elementwise import where

    # zeros of the input's own dtype: a Python 0 keeps it (a weak scalar), but promotes bool to int64
    return where(_tri_mask(input, diagonal, lower), input, False if input._dtype is _dt.bool_ else 0)


def _check_int_arg(name: str, arg: str, value: Any) -> None:
    """PyTorch's argument parser: an int parameter takes any integer (not a bool, float or tensor of them)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name}(): argument '{arg}' (position 2) must be int, not {type(value).__name__}")


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    _check_int_arg("tril", "diagonal", diagonal)
    return name_grad_fn(_tri(input, diagonal, True), "TrilBackward0", input)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    _check_int_arg("triu", "diagonal", diagonal)
    return name_grad_fn(_tri(input, diagonal, False), "TriuBackward0", input)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal along ``dim1``/``dim2`` as the last dim; a view of ``input`` (writes through it
    reach ``input``, as PyTorch's) whenever the two dims can be read as one strided axis, which holds
    for contiguous and transposed layouts; otherwise a gathered copy.

    >>> import ember
    >>> x = ember.zeros(3, 3)
    >>> x.diagonal().fill_(1.0)
    tensor([1., 1., 1.])
    >>> x.sum().item()
    3.0
    """
    d1, d2 = _wrap_dim(dim1, input.dim()), _wrap_dim(dim2, input.dim())
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = movedim(input, (d1, d2), (-2, -1))
    rows, cols = x.shape[-2], x.shape[-1]
    n = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    # the diagonal of x is that of x^T with the offset negated, element for element
    for candidate, off in ((x, offset), (transpose(x, -2, -1), -offset)):
        view_ = _diagonal_view(candidate, off, n)
        if view_ is not None:
            return name_grad_fn(view_, "DiagonalBackward0", input)
    from ember.functions.creation import arange

    r = arange(n, device=input.device) + (0 if offset >= 0 else -offset)
    c = arange(n, device=input.device) + (offset if offset >= 0 else 0)
    flat = x.reshape(tuple(x.shape[:-2]) + (rows * cols,))
    return name_grad_fn(flat.index_select(-1, r * cols + c), "DiagonalBackward0", input)


def _diagonal_view(x: Tensor, offset: int, n: int) -> Tensor | None:
    """The diagonal of the last two dims as a strided slice of them merged into one, or None when
    they cannot be merged without a copy."""
    rows, cols = x.shape[-2], x.shape[-1]
    flat_shape = tuple(x.shape[:-2]) + (rows * cols,)
    if _is_view_shape(x, flat_shape) is not True:
        return None
    flat = reshape(x, flat_shape)
    sl = _full_slices(flat_shape)
    if n == 0:
        sl[-1] = (0, 0, 1)
    else:
        start = offset if offset >= 0 else -offset * cols
        sl[-1] = (start, start + (n - 1) * (cols + 1) + 1, cols + 1)
    return Slice.apply(flat, tuple(sl))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    from ember.functions.creation import zeros

    if input.dim() not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.dim()}D")
    if input.dim() == 2:
        return globals()["diagonal"](input, diagonal)
    n = input.shape[0] + abs(diagonal)
    out = zeros(n, n, dtype=input.dtype, device=input.device)
    from ember.functions.creation import arange

    idx = arange(input.shape[0], device=input.device)
    r = idx + (0 if diagonal >= 0 else -diagonal)
    c = idx + (diagonal if diagonal >= 0 else 0)
    return out.reshape(-1).index_put((r * n + c,), input).reshape(n, n)


def pad_constant(input: Tensor, pads: tuple, value: float = 0.0) -> Tensor:
    """Constant padding with ``pads`` = ((before, after), ...) for every axis."""
    return PadConstant.apply(input, pads, value)


class PadConstant(Function):
    _backward_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads, ctx.shape = pads, x._data.shape
        return x._new(x._kt["pad"](x._data, pads, value))

    @staticmethod
    def backward(ctx, g):
        slices = tuple((b, b + s, 1) for (b, _), s in zip(ctx.pads, ctx.shape))
        return Slice.apply(g, slices), None, None


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """PyTorch's meshgrid: "ij" (matrix) or "xy" (Cartesian) indexing; no ``indexing`` means "ij"
    with PyTorch's warning. Every output is an expanded view of its input."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    ts = list(tensors)
    _check_elements(ts)
    _check_meshgrid_inputs(ts)
    # "xy" is "ij" over the first two inputs swapped, with the first two outputs swapped back
    # (as PyTorch does it): output shape (len(b), len(a), ...), no transpose needed.
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.numel() for t in ts)
    out = []
    for i, t in enumerate(ts):
        view_shape = [1] * len(ts)
        view_shape[i] = -1
        out.append(expand(reshape(t, tuple(view_shape)), shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def _check_meshgrid_inputs(ts: list) -> None:
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in ts:
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a tensor of "
                               f"shape {list(t.shape)}")
        if t.dtype != ts[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.device != ts[0].device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")


def _inplace_view(self: Tensor, fn) -> Tensor:
    """``squeeze_``/``unsqueeze_``/``t_``: ``self`` becomes ``fn(self)`` (a new layout of the same
    storage), with the history of that view in grad mode (PyTorch's TBackward & co.; a leaf that
    requires grad raises) and a view function that follows the new layout."""
    from ember.autograd.grad_mode import STATE
    from ember.tensor import _ComposedView

    if STATE.enabled and self._requires_grad:
        if self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        new = fn(self)
        self.grad_fn, self._output_nr = new.grad_fn, new._output_nr
    else:
        new = fn(self.detach())
    self._set_data(new._data)
    if self._view_fn is not None:
        self._view_fn = _ComposedView(self._view_fn, fn)
    self._version[0] += 1
    return self


def _strided_unfold_ok(input: Tensor) -> bool:
    """Whether ``unfold`` can be PyTorch's as_strided view of ``input``: the backend has the view
    kernels, and no two elements of ``input`` share memory (an expanded input's storage-based
    gradient would be split among its aliases, where PyTorch's UnfoldBackward0 keeps each)."""
    from ember.functions.torch_surface import _has_view_kernels

    if not _has_view_kernels(input):
        return False
    span = 1
    for s, k in sorted((abs(s), k) for k, s in zip(input.shape, input.stride()) if k > 1):
        if s < span:
            return False
        span = s * k
    return True


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: every window of ``size`` elements along ``dimension``, ``step`` apart, as a
    new last axis (shape ``(..., (n - size) // step + 1, ..., size)``).

    PyTorch returns a strided view, and so does ember where the backend has the optional
    as_strided kernels. Without them (or for an input whose elements alias), ember makes a view
    where slice + reshape + permute can express the windows (no overlap: ``step == size`` or
    ``size == 1``), and otherwise gathers the overlapping windows into a new tensor (an
    index_select, differentiable on every backend): in-place writes to that result do not reach
    ``input``.
    """
    if input.dim() == 0:  # PyTorch treats a 0-d tensor as one element along dim 0 or -1
        _wrap_dim(dimension, 1)
        return unfold(input.reshape(1), 0, size, step).reshape(size)
    d = _wrap_dim(dimension, input.dim())
    n = input.shape[d]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    count = (n - size) // step + 1
    if _strided_unfold_ok(input):
        # PyTorch's own view: the windows axis strides ``step`` elements, the new last axis one;
        # AsStrided's backward adds each window's gradient back into the storage it read
        from ember.functions.torch_surface import AsStrided

        strides = tuple(input.stride())
        shape = tuple(input.shape[:d]) + (count,) + tuple(input.shape[d + 1:]) + (size,)
        stride = strides[:d] + (step * strides[d],) + strides[d + 1:] + (strides[d],)
        out = AsStrided.apply(input, shape, stride, input.storage_offset())
        return name_grad_fn(out, "UnfoldBackward0", input) if out.grad_fn is not None else out
    if size == step and size > 0:  # tiles: split the axis (a view)
        tiles = narrow(input, d, 0, count * size)
        windows = reshape(tiles, tuple(input.shape[:d]) + (count, size) + tuple(input.shape[d + 1:]))
        return movedim(windows, d + 1, -1)
    if size == 1:  # single elements ``step`` apart: a strided slice (a view)
        sl = _full_slices(tuple(input.shape))
        sl[d] = (0, (count - 1) * step + 1, step)
        return unsqueeze(Slice.apply(input, tuple(sl)), -1)
    from ember import dtypes as _dt
    from ember.functions.creation import tensor

    idx = tensor([i * step + j for i in range(count) for j in range(size)], dtype=_dt.int64, device=input.device)
    windows = input.index_select(d, idx)
    windows = reshape(windows, tuple(input.shape[:d]) + (count, size) + tuple(input.shape[d + 1:]))
    return movedim(windows, d + 1, -1)


# ---- declarations: Tensor methods, in-place forms, ``ember.*`` and ``__all__`` come from these ----
def _view_method(self: Tensor, *shape: Any, dtype: Any = None) -> Tensor:
    if dtype is not None:  # view(dtype=...), PyTorch's keyword form
        if shape:
            raise TypeError("view() received an invalid combination of arguments: a shape and a dtype")
        return _view_dtype(self, dtype)
    return view(self, *shape)


def _squeeze_(self: Tensor, dim: Any = None) -> Tensor:
    return _inplace_view(self, lambda b: squeeze(b, dim))


def _unsqueeze_(self: Tensor, dim: int) -> Tensor:
    return _inplace_view(self, lambda b: unsqueeze(b, dim))


def _t_(self: Tensor) -> Tensor:
    if self.dim() > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
    return _inplace_view(self, t)


def _transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    return _inplace_view(self, lambda b: transpose(b, dim0, dim1))


def _tile_method(self: Tensor, *dims: Any, **kwargs: Any) -> Tensor:
    """``x.tile(2, 1)`` or ``x.tile((2, 1))``, as ``Tensor.tile`` (``ember.tile`` takes a sequence only)."""
    dims = _keyword_list("tile", dims, kwargs, "dims")
    return tile(self, tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims)


def _set_data(self: Tensor, data: Any) -> None:
    self._data = data


_ops = Family(__name__)
_op = _ops.op
for _fn in (reshape, flatten, unflatten, permute, broadcast_to, clone, chunk, split, fliplr, flipud,
            narrow, unbind, select, roll, repeat_interleave, diagonal):
    _op(_fn)
_op(diag, out=EXACT)  # ``out=`` generated (ember._ops.out)
for _fn in (tril, triu):
    _op(_fn, inplace=True, out=EXACT)
_op(tile, method=_tile_method)
_op(view, export=False, method=_view_method)
_op(squeeze, inplace=_squeeze_)
_op(unsqueeze, inplace=_unsqueeze_)
_op(transpose, aliases=("swapaxes", "swapdims"), inplace=_transpose_)
_op(t, inplace=_t_)
_op(movedim, aliases=("moveaxis",))
for _fn in (expand, expand_as, repeat, contiguous, view_as, reshape_as):  # Tensor methods only, as in PyTorch
    _op(_fn, export=False)
_op(unfold, export=False)  # ``Tensor.unfold``; ``ember.nn.functional.unfold`` is im2col
_op(flip, method=_flip_method, kernels=("flip",))
_op(cat, aliases=("concat", "concatenate"), method=False, out=True, kernels=("cat",))
for _fn in (hstack, vstack):
    _op(_fn, method=False, out=True)
for _fn in (atleast_1d, atleast_2d, broadcast_tensors, meshgrid):
    _op(_fn, method=False)
_op(stack, method=False, out=True)
_op(pad_constant, export=False, method=False, kernels=("pad",))
def _conj_if_complex(x: Tensor) -> Tensor:
    return x.conj() if x.dtype.is_complex else x


def _matrix_transpose(self: Tensor, name: str, conj: bool) -> Tensor:
    """``mT``/``mH``/``H`` with PyTorch's checks: ``H`` wants a matrix, ``mT``/``mH`` at least one;
    a 0-d tensor is deprecated but allowed (itself, conjugated for ``mH``/``H``)."""
    import warnings

    n = self.dim()
    if n == 0:
        hint = "This function is the identity in these cases." if not conj else "Consider using x.conj()."
        warnings.warn(f"Tensor.{name} is deprecated on 0-D tensors. {hint}", UserWarning, stacklevel=3)
        return _conj_if_complex(self) if conj else self
    if name == "H" and n != 2:
        extra = " For batches of matrices, consider using tensor.mH" if n > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {n}-D tensor.{extra}")
    if n < 2:
        raise RuntimeError(f"tensor.{name} is only supported on matrices or batches of matrices. Got {n}-D tensor.")
    out = transpose(self, -2, -1)
    return _conj_if_complex(out) if conj else out


_ops.attr("T", property(lambda self: permute(self, tuple(reversed(range(self.dim()))))))
_ops.attr("mT", property(lambda self: _matrix_transpose(self, "mT", False)))
# the conjugate transposes: the transposes of real tensors, conjugated copies of complex ones
_ops.attr("H", property(lambda self: _matrix_transpose(self, "H", True)))
_ops.attr("mH", property(lambda self: _matrix_transpose(self, "mH", True)))
_ops.attr("_set_data", _set_data)

__all__ = _ops.names()
