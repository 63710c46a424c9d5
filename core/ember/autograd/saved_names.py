"""PyTorch's introspection of a backward node, per op: ``next_functions`` and ``_saved_<name>``.

PyTorch generates, for each op, the attributes its node saved (``MulBackward0._saved_self``,
``SumBackward1._saved_dim``, ``ConvolutionBackward0._saved_stride``...) and one ``next_functions``
entry per input that has a derivative formula (a Python number wrapped as a tensor counts; a dim, an
index tensor or a mask does not). Graph walkers (torchviz's ``make_dot(show_saved=True)``) and
debugging code read them. ember's ``Function.forward`` keeps what its backward needs under its own
names; this table maps PyTorch's names onto that, read only when asked (``BackwardNode.__getattr__``
and the ``next_functions`` property), so recording an op costs nothing more.

A saved tensor reads as PyTorch's does: the tensor itself for an input (``_saved_self is x``), the
same "Trying to backward through the graph a second time" error once backward freed it, ``None``
where the op did not need it. A value ember did not keep (an input of a non-leaf an op re-derives)
reads as ``None``; a few values ember only keeps normalized (a negative dim, an omitted pooling
stride) read normalized. See docs/autograd.md.

Example:
    >>> import ember
    >>> x = ember.ones(2, 3, requires_grad=True)
    >>> y = x.sum(1)
    >>> y.grad_fn._saved_dim, y.grad_fn._saved_self_sym_sizes
    ((1,), (2, 3))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.autograd.function import _FREED_MSG, _NOT_TENSOR, _PACKED, AccumulateGrad, _Packed, _version_error

__all__ = ["SavedTensor", "public_edges", "saved_attribute", "saved_attribute_names"]

_U64 = 1 << 64


def _int64(v: int) -> int:
    """PyTorch hands a saved int64 to Python as unsigned (``ignore_index=-100`` reads 2**64-100)."""
    return v % _U64 if v < 0 else v


class _Slot:
    """A tensor of ``ctx.save_for_backward``, by position; ``when(node)`` says whether PyTorch saved
    it at all (read after backward, a never-saved one is None, a freed one raises)."""

    __slots__ = ("index", "when", "post")

    def __init__(self, index: int, when: Callable | None = None, post: Callable | None = None) -> None:
        self.index, self.when, self.post = index, when, post


class _Wrapped:
    """A Python number the op kept, read as the 0-d tensor PyTorch wraps it in (int64, float64,
    complex128 or bool, on the cpu); like any saved tensor, freed by backward."""

    __slots__ = ("attr", "when")

    def __init__(self, attr: str, when: Callable | None = None) -> None:
        self.attr, self.when = attr, when


def _unpack(node: Any, index: int) -> Any:
    """One saved tensor, as ``ctx.saved_tensors`` unpacks it (hooks, the version check)."""
    saved = node._saved
    if saved is None:
        raise RuntimeError(_FREED_MSG)
    item = saved[index] if index < len(saved) else None
    if item is None:
        return None
    tensor, version, is_output = item
    if version is _PACKED:
        return tensor.unpack_hook(tensor.packed)
    if tensor._version[0] != version:
        raise RuntimeError(_version_error(node, tensor, version, is_output))
    if is_output:
        tensor.grad_fn = node
    return tensor


def _read(node: Any, getter: Any) -> Any:
    if type(getter) is _Slot:
        if getter.when is not None and not getter.when(node):
            return None
        value = _unpack(node, getter.index)
        return getter.post(value) if getter.post is not None and value is not None else value
    if type(getter) is _Wrapped:
        if getter.when is not None and not getter.when(node):
            return None
        if node._saved is None:
            raise RuntimeError(_FREED_MSG)
        return _wrap_number(node.__dict__.get(getter.attr))
    if type(getter) is _TensorFn:
        return getter.fn(node)
    return getter(node)


def _wrap_number(v: Any) -> Any:
    if v is None:
        return None
    import ember

    dtype = ember.bool if isinstance(v, bool) else ember.int64 if isinstance(v, int) else (
        ember.complex128 if isinstance(v, complex) else ember.float64)
    return ember.tensor(v, dtype=dtype)


class SavedTensor:
    """``grad_fn._raw_saved_<name>`` (PyTorch's ``torch._C._autograd.SavedTensor``): the saved
    tensor itself, whose pack/unpack hooks ``register_hooks`` sets after the fact."""

    def __init__(self, node: Any, index: int) -> None:
        self._node, self._index = node, index

    def register_hooks(self, pack_hook: Callable, unpack_hook: Callable) -> None:
        if not (callable(pack_hook) and callable(unpack_hook)):
            raise TypeError("register_hooks(): incompatible function arguments. The following argument types are "
                            "supported:\n    1. (self: torch._C._autograd.SavedTensor, arg0: collections.abc.Callable, "
                            "arg1: collections.abc.Callable) -> None\n")
        node, i = self._node, self._index
        saved = node._saved
        if saved is None:
            raise RuntimeError(_FREED_MSG)
        item = saved[i] if i < len(saved) else None
        if item is None:
            raise RuntimeError("Calling register_hooks on a saved tensor with value None is forbidden")
        if item[1] is _PACKED:
            raise RuntimeError("Calling register_hooks on a saved tensor whose hooks have already been set. Hint: only "
                               "one pair of hooks is allowed at a time.")
        value = _unpack(node, i)
        node._saved = saved[:i] + ((_Packed(pack_hook(value), unpack_hook), _PACKED, False),) + saved[i + 1:]

    def unpack(self) -> Any:
        return _unpack(self._node, self._index)

    @property
    def data(self) -> Any:
        return self.unpack()


class _DerivedSavedTensor(SavedTensor):
    """``_raw_saved_`` of a value ember derives on demand: the hooks run on it when set and when it
    is read through this object (backward itself never reads it)."""

    def __init__(self, node: Any, getter: Any) -> None:
        self._node, self._getter, self._hooks = node, getter, None

    def register_hooks(self, pack_hook: Callable, unpack_hook: Callable) -> None:
        if not (callable(pack_hook) and callable(unpack_hook)):
            raise TypeError("register_hooks(): incompatible function arguments.")
        value = _read(self._node, self._getter)
        if value is None:
            raise RuntimeError("Calling register_hooks on a saved tensor with value None is forbidden")
        if self._hooks is not None:
            raise RuntimeError("Calling register_hooks on a saved tensor whose hooks have already been set. Hint: only "
                               "one pair of hooks is allowed at a time.")
        self._hooks = (pack_hook(value), unpack_hook)

    def unpack(self) -> Any:
        if self._hooks is not None:
            return self._hooks[1](self._hooks[0])
        return _read(self._node, self._getter)


# ---- getters ---------------------------------------------------------------------------------------
def _t(i: int, when: Callable | None = None, post: Callable | None = None) -> _Slot:
    return _Slot(i, when, post)


def _attr(name: str, conv: Callable = lambda v: v) -> Callable:
    return lambda n: conv(n.__dict__[name])


def _const(v: Any) -> Callable:
    return lambda n: v


def _ints(v: Any) -> tuple:
    return tuple(int(d) for d in v)


def _needs(i: int) -> Callable:
    return lambda n: n.needs_input_grad[i]


class _TensorFn:
    """A saved tensor ember derives rather than keeps (still a SavedVariable to PyTorch: it has a
    ``_raw_saved_`` twin and is freed by backward)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable) -> None:
        self.fn = fn


def _leaf_input(i: int) -> _TensorFn:
    """An input ember did not keep: the leaf itself when it is one (what PyTorch returns), else None."""

    def get(n: Any) -> Any:
        if n._saved is None:
            raise RuntimeError(_FREED_MSG)
        fn = n._edges[i][0] if i < len(n._edges) else None
        return fn.variable if type(fn) is AccumulateGrad else None

    return _TensorFn(get)


def _out_shape(n: Any) -> tuple:
    return tuple(n._output_meta[0][0])


def _in_shape(n: Any) -> tuple:
    return tuple(n.__dict__["shape"])


# ---- next_functions views: which forward arguments are PyTorch's differentiable inputs ----------------
def _inputs(*pos: int) -> Callable:
    """Those positions, a Python number among them kept as ``(None, 0)`` (PyTorch wraps it)."""
    return lambda e: tuple(e[i] if e[i] is not _NOT_TENSOR else (None, 0) for i in pos if i < len(e))


def _rsub_view(e: tuple) -> tuple:
    return (e[1],) if e[0] is _NOT_TENSOR else _inputs(0, 1)(e)  # ``1 - x`` is rsub(x, 1): one input


def _pow_saved(n: Any) -> dict:
    """PowBackward0/1/2: tensor ** number, tensor ** tensor, number ** tensor."""
    d = n.__dict__
    if d.get("sb") is not None:
        return {"self": _t(0), "exponent": _const(d["sb"])}
    if d.get("sa") is not None:
        return {"self": _const(d["sa"]), "exponent": _t(1), "result": _t(2)}
    return {"self": _t(0), "exponent": _t(1), "result": _t(2)}


def _unsqueeze_dim(n: Any) -> int:
    src, out = _in_shape(n), _out_shape(n)
    return next((i for i in range(len(src)) if src[i] != out[i]), len(src))


def _squeezed_dims(n: Any) -> tuple:
    src, out = _in_shape(n), _out_shape(n)
    dims, j = [], 0
    for i, s in enumerate(src):
        if j < len(out) and out[j] == s and not (s == 1 and len(src) - i > len(out) - j):
            j += 1
        else:
            dims.append(i)
    return tuple(dims)


def _moved(n: Any) -> list:
    return [i for i, d in enumerate(n.__dict__["dims"]) if d != i]


def _slice_dim(n: Any) -> int:
    shape = _in_shape(n)
    return next((i for i, (s, size) in enumerate(zip(n.__dict__["slices"], shape)) if tuple(s) != (0, size, 1)), 0)


def _pad(n: Any) -> tuple:
    pairs = list(n.__dict__["pads"])
    while pairs and tuple(pairs[0]) == (0, 0):
        pairs.pop(0)
    return tuple(int(v) for p in reversed(pairs) for v in p)


def _div_self(n: Any) -> Any:
    """DivBackward0 keeps ``self`` when ``other`` takes a gradient; ember keeps the quotient instead."""
    if not n.needs_input_grad[1]:
        return None
    if n._saved is None:
        raise RuntimeError(_FREED_MSG)
    return _leaf_input(0).fn(n)


def _mm_strides(i: int, shape_attr: str) -> Callable:
    def get(n: Any) -> tuple:
        if not n.needs_input_grad[i]:  # (PyTorch keeps an operand's strides for its own gradient only)
            return ()
        item = n._saved[i] if n._saved is not None and i < len(n._saved) else None
        if item is not None and item[1] is not _PACKED:
            return tuple(item[0].stride())
        shape, strides, step = n.__dict__[shape_attr], [], 1  # (not kept: a contiguous tensor's)
        for size in reversed(shape):
            strides.insert(0, step)
            step *= max(int(size), 1)
        return tuple(strides)

    return get


_TENSOR_KINDS = (_Slot, _Wrapped, _TensorFn)
_SELF, _RESULT = {"self": _t(0)}, {"result": _t(0)}
_REDUCTION = {"none": 0, "mean": 1, "sum": 2}

# (PyTorch's node name, ember Function qualname) -> (next_functions view or None, saved getters);
# a dict of getters or a function of the node returning one (PowBackward0 saves by variant)
_E = "ember.functions.elementwise."
_R = "ember.functions.reduction."
_S = "ember.functions.shape."
TABLE: dict[tuple[str, str], tuple[Callable | None, Any]] = {
    ("MulBackward0", _E + "Mul"): (_inputs(0, 1), lambda n: {
        "self": _t(0, _needs(1)) if n.__dict__.get("sa") is None else _Wrapped("sa", _needs(1)),
        "other": _t(1, _needs(0)) if n.__dict__.get("sb") is None else _Wrapped("sb", _needs(0))}),
    ("DivBackward0", _E + "Div"): (_inputs(0, 1), lambda n: {
        "self": _TensorFn(_div_self), "other": _t(0) if n.__dict__.get("sb") is None else _Wrapped("sb")}),
    ("AddBackward0", _E + "Add"): (_inputs(0, 1), {"alpha": _attr("alpha")}),
    ("SubBackward0", _E + "Sub"): (_rsub_view, {"alpha": _attr("alpha")}),
    ("PowBackward0", _E + "Pow"): (None, _pow_saved),
    ("PowBackward1", _E + "_PowTensorTensor"): (None, _pow_saved),
    ("PowBackward2", _E + "_PowScalarTensor"): (None, _pow_saved),
    ("PowBackward0", _E + "Mul"): (_inputs(0), {"self": _t(0), "exponent": _const(2)}),  # square()
    ("ReciprocalBackward0", _E + "Div"): (None, {"result": _t(1)}),
    ("ClampBackward1", _E + "Clamp"): (None, {"self": _t(0), "min": _attr("lo"), "max": _attr("hi")}),
    ("WhereBackward0", _E + "Where"): (_inputs(1, 2), {"condition": _t(0)}),
    ("MaskedFillBackward0", _E + "Where"): (_inputs(2), {"mask": _t(0)}),
    ("MaximumBackward0", _E + "Maximum"): (None, {"self": _t(0), "other": _t(1)}),
    ("MinimumBackward0", _E + "Minimum"): (None, {"self": _t(0), "other": _t(1)}),
    ("SoftmaxBackward0", _R + "Softmax"): (None, {"dim": _attr("dim"), "result": _t(0)}),
    ("LogSoftmaxBackward0", _R + "LogSoftmax"): (None, {"dim": _attr("dim"), "result": _t(0)}),
    ("SumBackward0", _R + "Sum"): (None, {"self_sym_sizes": _in_shape}),
    ("SumBackward1", _R + "Sum"): (None, {"dim": _attr("dims", _ints), "keepdim": _attr("keepdim"),
                                          "self_sym_sizes": _in_shape}),
    ("MaxBackward1", _R + "MaxAll"): (None, {"self": _t(0), "result": _t(1)}),
    ("MinBackward1", _R + "MinAll"): (None, {"self": _t(0), "result": _t(1)}),
    ("MaxBackward0", _R + "MaxDim"): (None, {"dim": _attr("dim"), "indices": _t(0), "keepdim": _attr("keepdim"),
                                             "self_sym_sizes": _in_shape}),
    ("MinBackward0", _R + "MinDim"): (None, {"dim": _attr("dim"), "indices": _t(0), "keepdim": _attr("keepdim"),
                                             "self_sym_sizes": _in_shape}),
    ("AmaxBackward0", _R + "Amax"): (None, {"dim": _attr("dims", _ints), "keepdim": _attr("keepdim"),
                                            "self": _t(0), "result": _t(1)}),
    ("AminBackward0", _R + "Amin"): (None, {"dim": _attr("dims", _ints), "keepdim": _attr("keepdim"),
                                            "self": _t(0), "result": _t(1)}),
    ("CumsumBackward0", _R + "Cumsum"): (None, {"dim": _attr("dim")}),
    ("SortBackward0", _R + "Sort"): (_inputs(0), {"dim": _attr("dim"), "indices": _t(0), "self_sym_sizes": _in_shape}),
    ("ViewBackward0", _S + "Reshape"): (None, {"self_sym_sizes": _in_shape}),
    ("UnsqueezeBackward0", _S + "Reshape"): (None, {"dim": _unsqueeze_dim}),
    ("SqueezeBackward0", _S + "Reshape"): (None, {"self_sym_sizes": _in_shape}),
    ("SqueezeBackward1", _S + "Reshape"): (None, {"dim": lambda n: (_squeezed_dims(n) or (0,))[0],
                                                  "self_sym_sizes": _in_shape}),
    ("SqueezeBackward2", _S + "Reshape"): (None, {"dim": _squeezed_dims, "self_sym_sizes": _in_shape}),
    ("ExpandBackward0", _S + "Expand"): (None, {"self_sym_sizes": _in_shape}),
    ("PermuteBackward0", _S + "Permute"): (None, {"dims": _attr("dims", _ints)}),
    ("TransposeBackward0", _S + "Permute"): (None, {"dim0": lambda n: (_moved(n) or [0, 0])[0],
                                                    "dim1": lambda n: (_moved(n) or [0, 0])[-1]}),
    ("TBackward0", _S + "Permute"): (None, {}),
    ("SelectBackward0", _S + "Select"): (None, {"dim": _attr("d"), "index": lambda n: n.slices[n.d][0],
                                                "self_sym_sizes": _in_shape}),
    ("SliceBackward0", _S + "Slice"): (None, {
        "dim": _slice_dim, "start": lambda n: n.slices[_slice_dim(n)][0], "end": lambda n: n.slices[_slice_dim(n)][1],
        "step": lambda n: n.slices[_slice_dim(n)][2], "self_sym_sizes": _in_shape}),
    ("CatBackward0", _S + "Cat"): (None, {"dim": _attr("dim")}),
    ("StackBackward0", _S + "Cat"): (None, {"dim": _attr("dim")}),
    ("UnbindBackward0", _S + "Unbind"): (None, {"dim": _attr("dim")}),
    ("FlipBackward0", _S + "Flip"): (None, {"dims": _attr("dims", _ints)}),
    ("ConstantPadNdBackward0", _S + "PadConstant"): (None, {"pad": _pad}),
    ("CloneBackward0", _S + "Clone"): (None, {}),
    ("ToCopyBackward0", "ember.functions.conversion.ToCopy"): (None, {}),
    ("MmBackward0", "ember.functions.linalg.Matmul"): (None, {
        "self": _t(0, _needs(1)), "self_sym_sizes": _attr("ashape", _ints),
        "self_sym_strides": _mm_strides(0, "ashape"),
        "mat2": _t(1, _needs(0)), "mat2_sym_sizes": _attr("bshape", _ints),
        "mat2_sym_strides": _mm_strides(1, "bshape")}),
    ("MmBackward0", "ember.nn.functional._Linear"): (_inputs(0, 1), {
        "self": _t(0), "mat2": _t(1, post=lambda w: w.t()),
        "self_sym_sizes": lambda n: tuple(_unpack(n, 0).shape),
        "self_sym_strides": lambda n: tuple(_unpack(n, 0).stride()),
        "mat2_sym_sizes": lambda n: tuple(_unpack(n, 1).shape)[::-1],
        "mat2_sym_strides": lambda n: tuple(_unpack(n, 1).stride())[::-1]}),
    ("GeluBackward0", "ember.nn.functional.Gelu"): (None, {"approximate": _attr("approximate"), "self": _t(0)}),
    ("GatherBackward0", "ember.functions.indexing.Gather"): (_inputs(0), {
        "dim": _attr("dim"), "index": _t(0), "self": _leaf_input(0), "sparse_grad": _const(False)}),
    ("IndexSelectBackward0", "ember.functions.indexing.IndexSelect"): (_inputs(0), {
        "dim": _attr("dim"), "index": _t(0), "self_sym_sizes": _in_shape}),
    ("EmbeddingBackward0", "ember.nn.functional._EmbeddingFn"): (_inputs(0), {
        "indices": _t(0), "padding_idx": lambda n: _int64(-1 if n.padding_idx is None else n.padding_idx),
        "scale_grad_by_freq": _attr("scale_grad_by_freq"), "sparse": _const(False),
        "weight_sym_argsize_0": _attr("num")}),
    ("NativeLayerNormBackward0", "ember.nn._layer_norm.NativeLayerNorm"): (_inputs(0, 1, 2), {
        "input": _t(0), "weight": _t(1), "bias": _leaf_input(2), "result1": _t(2), "result2": _t(3),
        "normalized_shape": lambda n: tuple(_unpack(n, 0).shape[len(_unpack(n, 0).shape) - n.k:])}),
    ("BinaryCrossEntropyWithLogitsBackward0", "ember.nn.functional._BCEWithLogits"): (_inputs(0, 1), {
        "self": _t(0), "target": _t(1), "weight": _t(2), "pos_weight": _t(3),
        "reduction": lambda n: _REDUCTION.get(n.reduction, n.reduction)}),
    ("NllLossBackward0", "ember.nn.functional._CrossEntropyIndices"): (_inputs(0), {}),
}

# One-input math, whatever ember Function computes it (the key's None): what PyTorch's formula reads
for _name in ("Exp", "Sqrt", "Rsqrt", "Tanh", "Sigmoid", "Relu", "Exp2", "Tan", "Expm1"):
    TABLE[(_name + "Backward0", None)] = (None, _RESULT)
for _name in ("Log", "Sin", "Cos", "Abs", "Log2", "Log10", "Log1P", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Erf",
              "Erfinv", "Asinh", "Acosh", "Atanh", "Lgamma", "Digamma", "Erfc", "Sgn"):
    TABLE[(_name + "Backward0", None)] = (None, _SELF)


def _conv_saved(n: Any) -> dict:
    stride, padding, dilation, groups = n.conf[:4]
    nd = len(stride)
    return {"input": _t(0), "weight": _t(1), "stride": _const(tuple(stride)), "padding": _const(tuple(padding)),
            "dilation": _const(tuple(dilation)), "groups": _const(groups), "transposed": _const(False),
            "output_padding": _const((0,) * nd),
            # (no bias: PyTorch reads it as an empty tensor's sizes)
            "bias_sym_sizes_opt": lambda n: (0,) if n._output_meta is None or _edges_bias_none(n)
            else tuple(_bias_shape(n))}


def _edges_bias_none(n: Any) -> bool:
    return len(n._edges) < 3 or n._edges[2] is _NOT_TENSOR


def _bias_shape(n: Any) -> tuple:
    return (n._output_meta[0][0][1],)  # (one bias per output channel)


def _maxpool_saved(n: Any) -> dict:
    kernel, stride, padding, dilation, ceil = n.conf[:5]
    return {"self": _t(0), "result1": _t(1), "kernel_size": _const(tuple(kernel)), "stride": _const(tuple(stride)),
            "padding": _const(tuple(padding)), "dilation": _const(tuple(dilation)), "ceil_mode": _const(ceil)}


def _avgpool_saved(n: Any) -> dict:
    kernel, stride, padding, ceil, count_include_pad, divisor = n.conf[:6]
    return {"self": _leaf_input(0), "kernel_size": _const(tuple(kernel)), "stride": _const(tuple(stride)),
            "padding": _const(tuple(padding)), "ceil_mode": _const(ceil), "count_include_pad": _const(count_include_pad),
            "divisor_override": _const(divisor)}


for _d in ("1d", "2d", "3d"):
    TABLE[("ConvolutionBackward0", f"ember.nn._convpool.Conv{_d}Kernel")] = (_inputs(0, 1, 2), _conv_saved)
    TABLE[(f"MaxPool{_d.upper()}WithIndicesBackward0", f"ember.nn._convpool.MaxPool{_d}Kernel")] = (_inputs(0),
                                                                                                   _maxpool_saved)
    TABLE[(f"AvgPool{_d.upper()}Backward0", f"ember.nn._convpool.AvgPool{_d}Kernel")] = (_inputs(0), _avgpool_saved)


def _entry(node: Any) -> tuple | None:
    fn, name = node._function, type(node).__name__
    entry = TABLE.get((name, f"{fn.__module__}.{fn.__qualname__}"))
    if entry is None:
        entry = TABLE.get((name, None))
        if entry is not None and len(node._edges) != 1:  # (a composite that ends in another op)
            return None
    return entry


def _getters(node: Any) -> dict:
    entry = _entry(node)
    if entry is None:
        return {}
    saved = entry[1]
    return saved(node) if callable(saved) else saved


def public_edges(node: Any) -> tuple:
    """``next_functions`` as PyTorch lists it: one entry per differentiable input (the op's view from
    the table; otherwise every tensor argument, as for a custom ``Function``)."""
    entry = _entry(node)
    edges = node._edges
    if entry is not None and entry[0] is not None:
        return entry[0](edges)
    return tuple(e for e in edges if e is not _NOT_TENSOR)


def saved_attribute_names(node: Any) -> list:
    getters = _getters(node)
    names = [f"_saved_{k}" for k in getters]
    names += [f"_raw_saved_{k}" for k, g in getters.items() if type(g) in _TENSOR_KINDS]
    if node._user_function:
        names.append("_raw_saved_tensors")
    return names


def saved_attribute(node: Any, name: str) -> Any:
    """``grad_fn._saved_<name>`` / ``grad_fn._raw_saved_<name>``; an AttributeError as Python's for
    a name this op does not save."""
    if name == "_raw_saved_tensors" and node._user_function:
        return tuple(SavedTensor(node, i) for i in range(len(node._saved))) if node._saved is not None else ()
    raw = name.startswith("_raw_saved_")
    key = name[len("_raw_saved_"):] if raw else name[len("_saved_"):]
    getter = _getters(node).get(key)
    if getter is None or (raw and type(getter) not in _TENSOR_KINDS):
        raise AttributeError(f"'{type(node).__name__}' object has no attribute '{name}'", name=name, obj=node)
    if raw:
        return SavedTensor(node, getter.index) if type(getter) is _Slot else _DerivedSavedTensor(node, getter)
    return _read(node, getter)
