"""Each kernel of the contract (``ember.kernels``) as ONNX nodes: ``MAPPING[kernel](graph, *args, out=)``.

A mapper returns the name of each output (None for an output ONNX has no counterpart of); a string
in place of a mapper is the reason the kernel is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from onnx import TensorProto

from ember.onnx._graph import _INT64_MAX, ExportError, Graph, onnx_type

MAPPING: dict[str, Callable | str] = {}


def _first_array(*xs: Any) -> Any:
    return next(x for x in xs if hasattr(x, "shape"))


def _unary(op: str) -> Callable:
    return lambda g, x, out: g.node(op, [g.name_of(x)])


def _binary(op: str) -> Callable:
    def mapper(g: Graph, a: Any, b: Any, out: Any) -> str:
        like = _first_array(a, b)
        return g.node(op, [g.operand(a, like), g.operand(b, like)])
    return mapper


for _k, _op in {"exp": "Exp", "log": "Log", "sqrt": "Sqrt", "sin": "Sin", "cos": "Cos", "tanh": "Tanh",
                "sigmoid": "Sigmoid", "erf": "Erf", "neg": "Neg", "abs": "Abs", "sign": "Sign", "relu": "Relu",
                "floor": "Floor", "ceil": "Ceil", "round": "Round", "isnan": "IsNaN", "asin": "Asin",
                "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "asinh": "Asinh",
                "acosh": "Acosh", "atanh": "Atanh", "clone": "Identity"}.items():
    MAPPING[_k] = _unary(_op)
for _k, _op in {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max",
                "minimum": "Min", "eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
                "ge": "GreaterOrEqual", "where": None}.items():
    if _op:
        MAPPING[_k] = _binary(_op)


def _m(name: str) -> Callable:
    def register(fn: Callable) -> Callable:
        MAPPING[name] = fn
        return fn
    return register


def _one(g: Graph, x: Any) -> str:
    return g.const(1, dtype=np.dtype(x.dtype))


@_m("rsqrt")
def _rsqrt(g, x, out):
    return g.node("Reciprocal", [g.node("Sqrt", [g.name_of(x)])])


@_m("log1p")
def _log1p(g, x, out):
    return g.node("Log", [g.node("Add", [g.name_of(x), _one(g, x)])])


@_m("expm1")
def _expm1(g, x, out):
    return g.node("Sub", [g.node("Exp", [g.name_of(x)]), _one(g, x)])


@_m("exp2")
def _exp2(g, x, out):
    return g.node("Pow", [g.const(2, dtype=np.dtype(x.dtype)), g.name_of(x)])


@_m("erfc")
def _erfc(g, x, out):
    return g.node("Sub", [_one(g, x), g.node("Erf", [g.name_of(x)])])


@_m("trunc")
def _trunc(g, x, out):
    if not np.issubdtype(np.dtype(x.dtype), np.floating):
        return g.node("Identity", [g.name_of(x)])
    xn = g.name_of(x)
    neg = g.node("Less", [xn, g.const(0, dtype=np.dtype(x.dtype))])
    return g.node("Where", [neg, g.node("Ceil", [xn]), g.node("Floor", [xn])])


def _as_bool(g: Graph, x: Any) -> str:
    if hasattr(x, "shape") and np.dtype(x.dtype) == np.bool_:
        return g.name_of(x)
    if hasattr(x, "shape"):
        return g.node("Cast", [g.name_of(x)], to=TensorProto.BOOL)
    return g.const(bool(x))


@_m("logical_not")
def _logical_not(g, x, out):
    return g.node("Not", [_as_bool(g, x)])


@_m("ne")
def _ne(g, a, b, out):
    return g.node("Not", [_binary("Equal")(g, a, b, out)])


for _k, _op in {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}.items():
    MAPPING[_k] = (lambda op: lambda g, a, b, out: g.node(op, [_as_bool(g, a), _as_bool(g, b)]))(_op)


def _bitwise(bool_op: str, int_op: str) -> Callable:
    def mapper(g, a, b, out):
        if np.dtype(out.dtype) == np.bool_:
            return g.node(bool_op, [_as_bool(g, a), _as_bool(g, b)])
        like = _first_array(a, b)
        return g.node(int_op, [g.operand(a, like), g.operand(b, like)])
    return mapper


MAPPING["bitwise_and"] = _bitwise("And", "BitwiseAnd")
MAPPING["bitwise_or"] = _bitwise("Or", "BitwiseOr")
MAPPING["bitwise_xor"] = _bitwise("Xor", "BitwiseXor")


@_m("floor_divide")
def _floor_divide(g, a, b, out):
    like = _first_array(a, b)
    an, bn = g.operand(a, like), g.operand(b, like)
    if np.issubdtype(np.dtype(out.dtype), np.floating):
        return g.node("Floor", [g.node("Div", [an, bn])])
    # integers: (a - a mod b) / b is exact, with Python's floored modulus
    return g.node("Div", [g.node("Sub", [an, g.node("Mod", [an, bn], fmod=0)]), bn])


@_m("remainder")
def _remainder(g, a, b, out):
    like = _first_array(a, b)
    an, bn = g.operand(a, like), g.operand(b, like)
    if np.issubdtype(np.dtype(out.dtype), np.floating):  # ONNX Mod needs fmod=1 for floats: a - b*floor(a/b)
        return g.node("Sub", [an, g.node("Mul", [bn, g.node("Floor", [g.node("Div", [an, bn])])])])
    return g.node("Mod", [an, bn], fmod=0)


@_m("where")
def _where(g, cond, a, b, out):
    return g.node("Where", [_as_bool(g, cond), g.operand(a, out), g.operand(b, out)])


@_m("clamp")
def _clamp(g, x, lo, hi, out):
    dt = np.dtype(x.dtype)
    bound = [g.const(v, dtype=dt) if v is not None else "" for v in (lo, hi)]
    if not np.issubdtype(dt, np.floating):
        return g.node("Clip", [g.name_of(x), *bound])
    # Clip drops NaN bounds' meaning and keeps x's NaNs; PyTorch does the same for NaN inputs
    return g.node("Clip", [g.name_of(x), *bound])


@_m("astype")
def _astype(g, x, dtype, out):
    return g.node("Cast", [g.name_of(x)], to=onnx_type(dtype))


# ---- reductions ----------------------------------------------------------------------------------
def _reduce(g: Graph, op: str, x: str, dims: Any, keepdim: bool) -> str:
    if op == "ReduceSum" or g.opset >= 18:  # axes became an input (ReduceSum in 13, the others in 18)
        return g.node(op, [x, g.ints(dims)], keepdims=int(keepdim))
    return g.node(op, [x], axes=list(dims), keepdims=int(keepdim))


for _k, _op in {"sum": "ReduceSum", "prod": "ReduceProd", "amax": "ReduceMax", "amin": "ReduceMin"}.items():
    MAPPING[_k] = (lambda op: lambda g, x, dims, keepdim, out: _reduce(g, op, g.name_of(x), dims, keepdim))(_op)


def _any_all(op: str) -> Callable:
    def mapper(g, x, dims, keepdim, out):
        as_float = g.node("Cast", [_as_bool(g, x)], to=TensorProto.FLOAT)
        return g.node("Cast", [_reduce(g, op, as_float, dims, keepdim)], to=TensorProto.BOOL)
    return mapper


MAPPING["any"] = _any_all("ReduceMax")
MAPPING["all"] = _any_all("ReduceMin")


def _arg(op: str) -> Callable:
    def mapper(g, x, dim, keepdim, out):
        xn = g.name_of(x)
        if dim is None:
            flat = g.node("Reshape", [xn, g.ints([-1])])
            r = g.node(op, [flat], axis=0, keepdims=0)
            return g.node("Reshape", [r, g.ints([1] * x.ndim)]) if keepdim else r
        return g.node(op, [xn], axis=dim, keepdims=int(keepdim))
    return mapper


MAPPING["argmax"] = _arg("ArgMax")
MAPPING["argmin"] = _arg("ArgMin")


@_m("cumsum")
def _cumsum(g, x, dim, out):
    return g.node("CumSum", [g.name_of(x), g.const(dim, dtype=np.int64)])


# ---- movement ------------------------------------------------------------------------------------
@_m("reshape")
def _reshape(g, x, shape, out):
    """A Reshape that survives dynamic axes: 0 copies a symbolic input axis kept in place, an output
    axis of a dynamic size reads that size at run time, and otherwise -1 takes the one output axis
    that holds the remaining (merged) symbolic sizes."""
    shape = [int(s) for s in shape]
    spec = list(shape)
    uncovered = 1
    for i in range(x.ndim):
        if g.is_dynamic(x, i):
            if i < len(shape) and shape[i] == x.shape[i] and shape[i] != 0:
                spec[i] = 0
            else:
                uncovered *= int(x.shape[i])
    runtime = set()
    if g.names.get(id(x)) in g.derived:
        runtime = {i for i, s in enumerate(spec) if s != 0 and s in g.dyn_source}
    if not runtime and uncovered > 1:
        target = next((i for i, s in enumerate(spec) if s != 0 and s % uncovered == 0), None)
        if target is not None:
            spec[target] = -1
    return g.node("Reshape", [g.name_of(x), g.shape_value(spec, runtime)])


@_m("permute")
def _permute(g, x, dims, out):
    return g.node("Transpose", [g.name_of(x)], perm=list(dims))


@_m("expand")
def _expand(g, x, shape, out):
    # 1 where x already has the size: Expand broadcasts both ways, so symbolic axes pass through
    spec = [1 if int(s) == int(d) else int(s) for s, d in zip(shape, x.shape, strict=True)]
    return g.node("Expand", [g.name_of(x), g.shape_value(spec, {i for i, s in enumerate(spec) if s in g.dyn_source})])


@_m("slice")
def _slice(g, x, slices, out):
    axes, starts, ends, steps = [], [], [], []
    for axis, (start, stop, step) in enumerate(slices):
        n = int(x.shape[axis])
        if start == 0 and stop >= n and step == 1:
            continue
        axes.append(axis)
        starts.append(int(start))
        ends.append(_INT64_MAX if stop >= n else int(stop))  # "to the end" stays right for other sizes
        steps.append(int(step))
    if not axes:
        return g.node("Identity", [g.name_of(x)])
    return g.node("Slice", [g.name_of(x), g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])


@_m("flip")
def _flip(g, x, dims, out):
    k = len(dims)
    return g.node("Slice", [g.name_of(x), g.ints([-1] * k), g.ints([np.iinfo(np.int64).min] * k),
                            g.ints(dims), g.ints([-1] * k)])


@_m("pad")
def _pad(g, x, pads, value, out):
    spec = [int(p[0]) for p in pads] + [int(p[1]) for p in pads]
    return g.node("Pad", [g.name_of(x), g.ints(spec), g.const(value, dtype=np.dtype(x.dtype))], mode="constant")


@_m("cat")
def _cat(g, xs, dim, out):
    return g.node("Concat", [g.name_of(x) for x in xs], axis=int(dim))


# ---- indexing ------------------------------------------------------------------------------------
@_m("gather")
def _gather(g, x, dim, index, out):
    return g.node("GatherElements", [g.name_of(x), g.name_of(index)], axis=int(dim))


@_m("index_select")
def _index_select(g, x, dim, index, out):
    return g.node("Gather", [g.name_of(x), g.name_of(index)], axis=int(dim))


def _scatter(reduction: str | None) -> Callable:
    def mapper(g, x, dim, index, src, out):
        attrs = {"reduction": reduction} if reduction else {}
        s = g.operand(src, x)
        if not hasattr(src, "shape"):
            s = g.node("Expand", [s, g.ints(index.shape)])
        return g.node("ScatterElements", [g.name_of(x), g.name_of(index), s], axis=int(dim), **attrs)
    return mapper


MAPPING["scatter"] = _scatter(None)
MAPPING["scatter_add"] = _scatter("add")


@_m("index_put")
def _index_put(g, x, index, values, accumulate, out):
    rows = g.node("Unsqueeze", [g.name_of(index), g.ints([1])])
    v = g.node("Expand", [g.operand(values, x), g.ints((index.shape[0], *x.shape[1:]))])
    attrs = {"reduction": "add"} if accumulate else {}
    return g.node("ScatterND", [g.name_of(x), rows, v], **attrs)


@_m("nonzero")
def _nonzero(g, x, out):
    return g.node("Transpose", [g.node("NonZero", [g.name_of(x)])], perm=[1, 0])


@_m("matmul")
def _matmul(g, a, b, out):
    return g.node("MatMul", [g.name_of(a), g.name_of(b)])


# ---- nn ------------------------------------------------------------------------------------------
@_m("conv2d")
def _conv2d(g, x, w, bias, stride, padding, dilation, groups, out):
    ins = [g.name_of(x), g.name_of(w)] + ([g.name_of(bias)] if bias is not None else [])
    return g.node("Conv", ins, strides=list(stride), pads=list(padding) * 2, dilations=list(dilation),
                  group=int(groups), kernel_shape=list(w.shape[2:]))


@_m("max_pool2d")
def _max_pool2d(g, x, kernel, stride, padding, dilation, ceil_mode, out):
    y = g.node("MaxPool", [g.name_of(x)], kernel_shape=list(kernel), strides=list(stride),
               pads=list(padding) * 2, dilations=list(dilation), ceil_mode=int(bool(ceil_mode)))
    return [y, None]  # ember's indices count within a plane, ONNX's over the whole tensor


@_m("avg_pool2d")
def _avg_pool2d(g, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, out):
    if divisor_override:
        raise ExportError("ember.onnx.export: avg_pool2d with divisor_override has no ONNX AveragePool equivalent")
    return g.node("AveragePool", [g.name_of(x)], kernel_shape=list(kernel), strides=list(stride),
                  pads=list(padding) * 2, ceil_mode=int(bool(ceil_mode)),
                  count_include_pad=int(bool(count_include_pad)))


@_m("softmax")
def _softmax(g, x, dim, out):
    return g.node("Softmax", [g.name_of(x)], axis=int(dim))


@_m("log_softmax")
def _log_softmax(g, x, dim, out):
    return g.node("LogSoftmax", [g.name_of(x)], axis=int(dim))


@_m("layer_norm")
def _layer_norm(g, x, ndim, weight, bias, eps, out):
    dt = np.dtype(x.dtype)
    dims = list(range(len(x.shape) - ndim, len(x.shape)))
    xn = g.name_of(x)
    centred = g.node("Sub", [xn, _reduce(g, "ReduceMean", xn, dims, True)])
    var = _reduce(g, "ReduceMean", g.node("Mul", [centred, centred]), dims, True)
    y = g.node("Div", [centred, g.node("Sqrt", [g.node("Add", [var, g.const(eps, dtype=dt)])])])
    if weight is not None:
        y = g.node("Mul", [y, g.name_of(weight)])
    if bias is not None:
        y = g.node("Add", [y, g.name_of(bias)])
    return [y, None, None]  # mean and rstd only feed the backward


@_m("gelu")
def _gelu(g, x, approximate, out):
    dt = np.dtype(x.dtype)
    xn = g.name_of(x)

    def c(v: float) -> str:
        return g.const(v, dtype=dt)

    if approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [xn, xn]), xn])
        inner = g.node("Mul", [g.node("Add", [xn, g.node("Mul", [cube, c(0.044715)])]), c(math.sqrt(2 / math.pi))])
        right = g.node("Add", [g.node("Tanh", [inner]), c(1)])
    else:
        right = g.node("Add", [g.node("Erf", [g.node("Mul", [xn, c(math.sqrt(0.5))])]), c(1)])
    return g.node("Mul", [g.node("Mul", [xn, c(0.5)]), right])


@_m("lstm_cell")
def _lstm_cell(g, gates, c, out):
    h4 = int(gates.shape[-1])
    h = h4 // 4
    gn = g.name_of(gates)
    i, f, gg, o = (g.node("Slice", [gn, g.ints([k * h]), g.ints([(k + 1) * h]), g.ints([-1])]) for k in range(4))
    i, f, o = (g.node("Sigmoid", [v]) for v in (i, f, o))
    gg = g.node("Tanh", [gg])
    c_new = g.node("Add", [g.node("Mul", [f, g.name_of(c)]), g.node("Mul", [i, gg])])
    h_new = g.node("Mul", [o, g.node("Tanh", [c_new])])
    return [h_new, c_new, None]  # ``acts`` only feeds the backward


def _cell_nodes(g, gates: str, c: str, hs: int) -> tuple:
    """``lstm_cell``'s h and c' from value names (gates (..., 4H) in i, f, g, o order)."""
    i, f, gg, o = (g.node("Slice", [gates, g.ints([k * hs]), g.ints([(k + 1) * hs]), g.ints([-1])]) for k in range(4))
    i, f, o = (g.node("Sigmoid", [v]) for v in (i, f, o))
    c_new = g.node("Add", [g.node("Mul", [f, c]), g.node("Mul", [i, g.node("Tanh", [gg])])])
    return g.node("Mul", [o, g.node("Tanh", [c_new])]), c_new


@_m("lstm_layer")
def _lstm_layer(g, xproj, h0, c0, w_hh, bias, out):
    """The layer unrolled over its (traced) length: per direction and step a Gather of the input
    projection, a MatMul with weight_hh^T and the cell's nodes, as the per-step path exports."""
    t_len, _, ndir, g4 = (int(n) for n in xproj.shape)
    hs = g4 // 4
    xn, wn = g.name_of(xproj), g.name_of(w_hh)
    idx = lambda k: g.const(k, dtype=np.int64)  # noqa: E731 - a 0-d index: Gather drops the axis
    seqs, h_last, c_last = [], [], []
    for d in range(ndir):
        h, c = g.node("Gather", [g.name_of(h0), idx(d)], axis=0), g.node("Gather", [g.name_of(c0), idx(d)], axis=0)
        w_t = g.node("Transpose", [g.node("Gather", [wn, idx(d)], axis=0)], perm=[1, 0])  # (H, 4H)
        b_d = None if bias is None else g.node("Gather", [g.name_of(bias), idx(d)], axis=0)  # (4H,)
        by_time: list = [None] * t_len
        for s in range(t_len):
            t = s if d == 0 else t_len - 1 - s
            x_t = g.node("Gather", [g.node("Gather", [xn, idx(t)], axis=0), idx(d)], axis=1)  # (B, 4H)
            gates = g.node("Add", [g.node("MatMul", [h, w_t]), x_t])
            if b_d is not None:
                gates = g.node("Add", [gates, b_d])
            h, c = _cell_nodes(g, gates, c, hs)
            by_time[t] = g.node("Unsqueeze", [h, g.ints([0])])
        seqs.append(g.node("Concat", by_time, axis=0) if t_len > 1 else by_time[0])  # (T, B, H)
        h_last.append(g.node("Unsqueeze", [h, g.ints([0])]))
        c_last.append(g.node("Unsqueeze", [c, g.ints([0])]))
    cat = lambda names, axis: names[0] if len(names) == 1 else g.node("Concat", names, axis=axis)  # noqa: E731
    return [cat(seqs, 2), cat(h_last, 0), cat(c_last, 0), None, None]  # acts, c_prev only feed the backward


_TRAINING = "it belongs to training, not inference (export the model in eval mode, without the loss)"
for _k in ("cross_entropy", "cross_entropy_backward", "conv2d_backward", "max_pool2d_backward",
           "avg_pool2d_backward", "relu_backward", "gelu_backward", "layer_norm_backward", "lstm_cell_backward", "lstm_layer_backward", "adam_step", "sgd_step"):
    MAPPING[_k] = _TRAINING
for _k in ("rand_uniform", "rand_normal", "rand_int"):
    MAPPING[_k] = ("random numbers in the forward pass (a Dropout in training mode?) would be frozen into "
                   "the graph")
