"""ember: a PyTorch-style deep learning framework whose kernels come from backend plugins.

Example:
    >>> import ember as torch
    >>> x = torch.randn(4, 3, requires_grad=True)
    >>> loss = (x @ torch.ones(3)).pow(2).mean()
    >>> loss.backward()
    >>> x.grad.shape
    ember.Size([4, 3])
"""

from __future__ import annotations

import builtins as _builtins
import sys as _sys

from ember import dispatch as _dispatch  # noqa: F401 - loaded first: the kernel tables

# Load the ``ember.dtype`` alias module before binding the ``dtype`` class below: the first import
# of a submodule sets it as a package attribute, which would otherwise shadow the class later.
from ember import dtype as _dtype_alias_module  # noqa: F401
from ember import plugins
from ember._device_module import DeviceModule as _DeviceModule
from ember._tensor_str import set_printoptions
from ember.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ember.device import device
from ember.dispatch import (
    DeviceError,
    FallbackError,
    MissingKernelError,
    fallback_counts,
    fallback_policy,
    get_fallback_policy,
    no_fallback,
    reset_fallback_counts,
    set_fallback_policy,
)
from ember.dtypes import (
    bool_ as bool,  # noqa: A001 - PyTorch's name
)
from ember.dtypes import (
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type,
    set_default_dtype,
    uint8,
)
from ember.functions.conversion import to as _to  # noqa: F401 - binds Tensor.to's helper
from ember.functions.creation import (
    arange,
    as_tensor,
    asarray,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    scalar_tensor,
    tensor,
    zeros,
    zeros_like,
)
from ember.functions.elementwise import (
    abs,  # noqa: A004
    absolute,
    add,
    addcdiv,
    addcmul,
    allclose,
    atan2,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    broadcast_shapes,
    ceil,
    clamp,
    clip,
    cos,
    div,
    divide,
    eq,
    equal,
    erf,
    exp,
    expm1,
    floor,
    floor_divide,
    fmod,
    frac,
    ge,
    greater,
    greater_equal,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    lerp,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    masked_fill,
    maximum,
    minimum,
    mul,
    multiply,
    nan_to_num,
    ne,
    neg,
    negative,
    not_equal,
    pow,  # noqa: A004
    reciprocal,
    relu,
    remainder,
    round,  # noqa: A004
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    subtract,
    tan,
    tanh,
    true_divide,
    trunc,
    where,
)
from ember.functions.indexing import (
    argwhere,
    gather,
    index_add,
    index_fill,
    index_put,
    index_select,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    take,
    take_along_dim,
)
from ember.functions.linalg import addmm, baddbmm, bmm, dot, einsum, inner, matmul, mm, mv, outer, tensordot
from ember.functions.reduction import (
    all,  # noqa: A004
    amax,
    amin,
    any,  # noqa: A004
    argmax,
    argmin,
    argsort,
    count_nonzero,
    cumprod,
    cumsum,
    log_softmax,
    logsumexp,
    max,  # noqa: A004
    mean,
    median,
    min,  # noqa: A004
    msort,
    norm,
    prod,
    softmax,
    sort,
    std,
    std_mean,
    sum,  # noqa: A004
    topk,
    var,
    var_mean,
)
from ember.functions.shape import (
    atleast_1d,
    atleast_2d,
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    clone,
    concat,
    concatenate,
    diag,
    diagonal,
    flatten,
    flip,
    fliplr,
    flipud,
    hstack,
    meshgrid,
    moveaxis,
    movedim,
    narrow,
    permute,
    repeat_interleave,
    reshape,
    roll,
    select,
    split,
    squeeze,
    stack,
    swapaxes,
    swapdims,
    t,
    tile,
    transpose,
    tril,
    triu,
    unbind,
    unflatten,
    unsqueeze,
    vstack,
)
from ember.random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from ember.serialization import CheckpointError, WeightsOnlyLoadError, load, load_safetensors, save, save_safetensors
from ember.size import Size
from ember.tensor import Tensor

__version__ = "0.1.0"

float = float32  # noqa: A001 - PyTorch's aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16

cuda = _DeviceModule("cuda")
opencl = _DeviceModule("opencl")
_sys.modules["ember.cuda"] = cuda
_sys.modules["ember.opencl"] = opencl


def is_tensor(obj: object) -> bool:
    """True when ``obj`` is an ember Tensor."""
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def detach(t: Tensor) -> Tensor:
    return t.detach()


def is_floating_point(t: Tensor) -> bool:
    return t.is_floating_point()


def _legacy_tensor_type(dt: dtype) -> type:
    """``ember.FloatTensor([1, 2])`` and ``isinstance(x, ember.FloatTensor)`` as in old tutorials."""

    class _Meta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, Tensor) and obj.dtype is dt

        def __call__(cls, *args: object) -> Tensor:
            if len(args) == 1 and not isinstance(args[0], _builtins.int):
                return tensor(args[0], dtype=dt)
            return zeros(*args, dtype=dt)

    return _Meta(f"{dt.name.capitalize()}Tensor", (), {})


FloatTensor = _legacy_tensor_type(float32)
DoubleTensor = _legacy_tensor_type(float64)
HalfTensor = _legacy_tensor_type(float16)
LongTensor = _legacy_tensor_type(int64)
IntTensor = _legacy_tensor_type(int32)
ShortTensor = _legacy_tensor_type(int16)
CharTensor = _legacy_tensor_type(int8)
ByteTensor = _legacy_tensor_type(uint8)
BoolTensor = _legacy_tensor_type(bool)

from ember import autograd, nn, optim, utils  # noqa: E402

__all__ = [
    "CheckpointError", "WeightsOnlyLoadError", "load_safetensors", "save_safetensors", "BoolTensor", "ByteTensor", "CharTensor", "DeviceError", "DoubleTensor", "FallbackError", "MissingKernelError", "FloatTensor",
    "Generator", "HalfTensor", "IntTensor", "LongTensor", "ShortTensor", "Size", "Tensor", "abs", "absolute", "add",
    "addcdiv", "addcmul", "addmm", "all", "allclose", "amax", "amin", "any", "arange", "argmax", "argmin", "argsort",
    "argwhere", "as_tensor", "asarray", "atan2", "atleast_1d", "atleast_2d", "autograd", "baddbmm", "bernoulli",
    "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "bmm", "bool", "broadcast_shapes",
    "broadcast_tensors", "broadcast_to", "cat", "ceil", "chunk", "clamp", "clip", "clone", "concat", "concatenate",
    "cos", "count_nonzero", "cuda", "cumprod", "cumsum", "default_generator", "detach", "device", "diag",
    "diagonal", "div", "divide", "dot", "double", "dtype", "einsum", "empty", "empty_like", "enable_grad", "eq",
    "equal", "erf", "exp", "expm1", "eye", "fallback_counts", "fallback_policy", "flatten", "flip", "fliplr",
    "flipud", "float", "float16", "float32", "float64", "floor", "floor_divide", "fmod", "frac", "from_dlpack",
    "from_numpy", "full", "full_like", "gather", "ge", "get_default_dtype", "get_fallback_policy",
    "get_rng_state", "greater", "greater_equal", "gt", "half", "hstack", "index_add", "index_fill", "index_put",
    "index_select", "inference_mode", "initial_seed", "inner", "int", "int16", "int32", "int64", "int8", "is_floating_point",
    "is_grad_enabled", "is_tensor", "isclose", "isfinite", "isinf", "isnan", "le", "lerp", "less", "less_equal",
    "linspace", "load", "log", "log10", "log1p", "log2", "log_softmax", "logical_and", "logical_not", "logical_or",
    "logical_xor", "logspace", "logsumexp", "long", "lt", "manual_seed", "masked_fill", "masked_select", "matmul",
    "max", "maximum", "mean", "median", "meshgrid", "min", "minimum", "mm", "movedim", "moveaxis", "msort", "mul",
    "multiply", "mv", "nan_to_num", "narrow", "ne", "neg", "negative", "nn", "no_fallback", "no_grad", "nonzero",
    "norm", "normal", "not_equal", "numel", "ones", "ones_like", "opencl", "optim", "outer", "permute", "plugins",
    "pow", "prod", "promote_types", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like",
    "randperm", "reciprocal", "relu", "remainder", "repeat_interleave", "reset_fallback_counts", "reshape",
    "result_type", "roll", "round", "rsqrt", "save", "scalar_tensor", "scatter", "scatter_add", "seed", "select",
    "set_default_dtype", "set_fallback_policy", "set_grad_enabled", "set_printoptions", "set_rng_state", "short",
    "sigmoid", "sign", "sin", "softmax", "sort", "split", "sqrt", "square", "squeeze", "stack", "std", "std_mean",
    "sub", "subtract", "sum", "swapaxes", "swapdims", "t", "take", "take_along_dim", "tan", "tanh", "tensor",
    "tensordot", "tile", "topk", "transpose", "tril", "triu", "true_divide", "trunc", "uint8", "unbind",
    "unflatten", "unsqueeze", "utils", "var", "var_mean", "vstack", "where", "zeros", "zeros_like",
]
