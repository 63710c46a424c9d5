"""The rest of ``torch.nn.functional``'s layers: shrink activations, rrelu, the in-place activation
forms, rms_norm, local_response_norm, channel_shuffle, dropout3d, feature_alpha_dropout, pdist,
gumbel_softmax and the ``*_with_indices`` pooling forms. Composites of ember ops, with PyTorch's
checks and wording; ``ember.nn.functional`` re-exports them.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.softshrink(ember.tensor([-1.0, 0.2, 2.0]), 0.5)
    tensor([-0.5000,  0.0000,  1.5000])
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes as _dt
from ember.autograd.function import grad_fn_name
from ember.functions import creation as _c
from ember.functions import elementwise as _e
from ember.functions.complex_ops import type_word
from ember.nn._convpool import _pool_max
from ember.tensor import Tensor
from ember.typeinfo import finfo

__all__ = [
    "hardshrink", "softshrink", "rrelu", "rrelu_", "celu_", "elu_", "hardtanh_", "leaky_relu_", "selu_",
    "threshold_", "rms_norm", "local_response_norm", "channel_shuffle", "native_channel_shuffle", "dropout3d",
    "feature_alpha_dropout", "pdist", "gumbel_softmax", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "embedding_bag", "fractional_max_pool2d", "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
]


def _F() -> Any:
    from ember.nn import functional

    return functional


# ---- activations -------------------------------------------------------------------------------
@grad_fn_name("HardshrinkBackward0")
def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0.

    >>> import ember, ember.nn.functional as F
    >>> F.hardshrink(ember.tensor([-1.0, 0.2]))
    tensor([-1.,  0.])
    """
    _F()._float_kernel("hardshrink", input)
    lambd = _F()._scalar_arg(lambd, input, opmath=False)  # checked in input's dtype: float16 with 1e6 raises
    # PyTorch zeroes -lambd <= x <= lambd: NaN is kept, with its gradient
    def inside(x: Tensor) -> Tensor:
        return (x >= -lambd) & (x <= lambd)

    return _F()._Activation.apply(input, lambda x: _e.where(inside(x), 0.0, x),
                                  lambda x, g: _e.where(inside(x), 0.0, g))


@grad_fn_name("SoftshrinkBackward0")
def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    _F()._float_kernel("softshrink_check", input, device_suffix=False)
    from ember._scalar_convert import unpack_scalar_int
    from ember.typeinfo import finfo

    if lambd.__class__ is int:
        unpack_scalar_int(lambd)  # PyTorch's Scalar argument: an int past uint64 is an OverflowError
    big = finfo(input._dtype).max
    if not 0 <= lambd <= big:
        raise RuntimeError(f"lambda must be in range [0, {big:g}] for input dtype {type_word(input._dtype)}, "
                           f"but found {lambd:g}")
    lambd = float(lambd)
    # PyTorch: x * 0 inside [-lambd, lambd] (signed zero) with no gradient; NaN passes with gradient 1
    def value(x: Tensor) -> Tensor:
        inside = (x >= -lambd) & (x <= lambd)
        return _e.where(inside, x.detach() * 0.0, _e.where(x < -lambd, x + lambd, x - lambd))

    if input._dtype in (_dt.bfloat16, _dt.float16):
        # PyTorch's 16-bit kernel compares and subtracts in float32 with lambd as a float32 (not rounded
        # to the 16-bit dtype first, as x - lambd would): one rounding of the result
        low, value32 = input._dtype, value

        def value(x: Tensor) -> Tensor:
            return value32(x.float()).to(low)

    # one node with PyTorch's backward, so create_graph can differentiate it (zeros w.r.t. x)
    return _F()._Activation.apply(input, value, lambda x, g: _e.where((x >= -lambd) & (x <= lambd), 0.0, g))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training and is
    ``(lower + upper) / 2`` in evaluation.

    >>> import ember, ember.nn.functional as F
    >>> F.rrelu(ember.tensor([-2.0, 1.0]), 0.25, 0.25)
    tensor([-0.5000,  1.0000])
    """
    if lower > upper:  # (PyTorch checks the bounds first, in evaluation too)
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    _F()._float_kernel("rrelu_with_noise_out" if training else "leaky_relu", input)
    if training:
        slope = _c.rand(*input.shape, dtype=input.dtype, device=input.device) * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2
    # PyTorch: training draws a slope where x <= 0 (NaN keeps 1); evaluation is leaky_relu, x > 0 ? x : x slope
    out = _e.where(input <= 0, input * slope, input) if training else _e.where(input > 0, input, input * slope)
    return _e.assign_inplace(input, out) if inplace else out


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return _F().celu(input, alpha, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return _F().elu(input, alpha, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return _F().hardtanh(input, min_val, max_val, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return _F().leaky_relu(input, negative_slope, inplace=True)


def selu_(input: Tensor) -> Tensor:
    return _F().selu(input, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _F().threshold(input, threshold, value, inplace=True)


# ---- normalisation -----------------------------------------------------------------------------
def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x^2 over the last dims) + eps) * weight``; eps defaults to the dtype's
    machine epsilon, as PyTorch's.

    >>> import ember, ember.nn.functional as F
    >>> F.rms_norm(ember.tensor([[3.0, 4.0]]), (2,), eps=0.0)
    tensor([[0.8485, 1.1314]])
    """
    from ember.nn._layer_norm import check_shape_arg, check_trailing_shape

    check_shape_arg(normalized_shape, "rms_norm")
    shape = check_trailing_shape(input, normalized_shape, "[*")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                           f"{list(weight.shape)} and normalized_shape = {list(shape)}")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise NotImplementedError(f'"rms_norm" not implemented for \'{type_word(input.dtype)}\'')
    # PyTorch computes in the opmath type (float32 for float16/bfloat16): eps defaults to that type's
    # epsilon, the weight multiplies the float32 result, and only the end is rounded to the input dtype
    # (which the result keeps whatever the weight's dtype)
    opmath = _dt.float32 if input.dtype in (_dt.float16, _dt.bfloat16) else input.dtype
    x = input.to(opmath)
    if eps is None:
        eps = finfo(_dt.float64 if opmath in (_dt.float64, _dt.complex128) else _dt.float32).eps
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    out = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out.to(input.dtype)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Normalise each element by the squares of its ``size`` neighbouring channels:
    ``x / (k + alpha * mean_of_squares) ** beta`` (PyTorch's averaging window).

    >>> import ember, ember.nn.functional as F
    >>> F.local_response_norm(ember.ones(1, 3, 1), 2, alpha=1.0, beta=1.0, k=0.0)
    tensor([[[2.],
             [1.],
             [1.]]])
    """
    F = _F()
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    sq = (input * input).unsqueeze(1)
    # average over a channel window of ``size``, zero-padded (size // 2 before, (size - 1) // 2 after)
    flat = sq.reshape(sq.shape[0], 1, sq.shape[2], -1)
    flat = F.pad(flat, (0, 0, size // 2, (size - 1) // 2))
    div = F.avg_pool2d(flat, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k) ** beta


# ---- shuffles and dropout ----------------------------------------------------------------------
def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups: (N, g*c, ...) -> (N, c*g, ...) transposed.

    >>> import ember, ember.nn.functional as F
    >>> F.channel_shuffle(ember.arange(4.0).reshape(1, 4, 1), 2).flatten()
    tensor([0., 2., 1., 3.])
    """
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    n, rest = input.shape[0], tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) input; any other rank is taken as unbatched
    (PyTorch warns below 4-D or above 5-D, and so does ember)."""
    F = _F()
    F._check_p(p)
    dim = input.dim()
    if dim not in (4, 5):
        import warnings

        warnings.warn(F._FEATURE_DROPOUT_DEPRECATED.format(name="dropout3d", dim=dim, spatial=3, lo=4, hi=5),
                      stacklevel=2)
    if dim == 5:
        return F._feature_dropout(input, p, training, inplace)
    return F._unbatched_feature_dropout(input, p, training, inplace)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (SELU networks): dropped channels take SELU's negative
    saturation value, then an affine map keeps the mean and variance."""
    F = _F()
    F._check_p(p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:  # aten: every element dropped is zero here, before any rank check
        out = input * input.new_zeros(())
        return _e.assign_inplace(input, out) if inplace else out
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = (input.shape[0], input.shape[1]) + (1,) * (input.dim() - 2)
    keep = F._keep_mask(input, shape, p)
    alpha_p = -1.7580993408473766
    a = ((1 - p) * (1 + p * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * p
    out = (input * keep + alpha_p * (1 - keep)) * a + b
    return _e.assign_inplace(input, out) if inplace else out


# ---- distances and sampling ---------------------------------------------------------------------
def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between every pair of rows ``i < j`` of an (N, M) input, as a flat
    (N * (N - 1) / 2,) tensor in row-major order of the pairs.

    >>> import ember, ember.nn.functional as F
    >>> F.pdist(ember.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]))
    tensor([ 5., 10.,  5.])
    """
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    rows = [i for i in range(n) for _ in range(i + 1, n)]
    cols = [j for i in range(n) for j in range(i + 1, n)]
    i = _c.tensor(rows, dtype=_dt.int64, device=input.device)
    j = _c.tensor(cols, dtype=_dt.int64, device=input.device)
    diff = input.index_select(0, i) - input.index_select(0, j)
    return diff.norm(p, dim=1)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A sample from the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with ``g``
    standard Gumbel noise; ``hard`` returns the one-hot argmax with the soft sample's gradient.

    >>> import ember, ember.nn.functional as F
    >>> y = F.gumbel_softmax(ember.zeros(2, 3), hard=True)
    >>> y.sum(-1).tolist()
    [1.0, 1.0]
    """
    gumbels = -_c.empty_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = _c.zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# ---- pooling with indices ----------------------------------------------------------------------
def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _F().max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=True)


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _F().max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=True)


def max_pool3d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _F().max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _F().adaptive_max_pool1d(input, output_size, return_indices=True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _F().adaptive_max_pool2d(input, output_size, return_indices=True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _F().adaptive_max_pool3d(input, output_size, return_indices=True)



# ---- embedding bags ----------------------------------------------------------------------------
def _bag_offsets(input: Tensor, offsets: Tensor | None, per_sample_weights: Tensor | None,
                 include_last_offset: bool) -> tuple[Tensor, Tensor, Tensor | None, int]:
    """The flat indices, each position's bag, the flat per-sample weights and the bag count."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        bags, length = input.shape
        flat = input.reshape(-1)
        bag = _c.arange(bags, device=input.device).repeat_interleave(length) if length else flat.new_zeros(0)
        return flat, bag, None if per_sample_weights is None else per_sample_weights.reshape(-1), bags
    if input.dim() != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if offsets.dtype not in (_dt.int64, _dt.int32) or input.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"expected input and offsets of an integer type (Long or Int), got {input.dtype} and "
                           f"{offsets.dtype}")
    bags = offsets.shape[0] - (1 if include_last_offset else 0)
    n = input.shape[0]
    _check_offsets(offsets.tolist(), n)  # (one small host read, as PyTorch's checks)
    # position p belongs to the last bag whose offset is <= p: count the offsets at or before it
    starts = offsets[:bags].long()
    marks = _c.zeros(n + 1, dtype=_dt.int64, device=input.device).index_add(
        0, starts, _c.ones(bags, dtype=_dt.int64, device=input.device))
    bag = marks.cumsum(0)[:n] - 1
    if bags <= 0:  # include_last_offset with one offset: no bag, so no position belongs anywhere
        return input[:0], bag[:0], None if per_sample_weights is None else per_sample_weights[:0], 0
    return input, bag, per_sample_weights, bags


def _check_offsets(offsets: list[int], n: int) -> None:
    """Offsets start at 0, never decrease and stay within the input (PyTorch refuses the rest;
    a bad offset would otherwise silently regroup the bags)."""
    if offsets and offsets[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {offsets[0]}")
    if any(b < a for a, b in zip(offsets, offsets[1:])):
        raise RuntimeError(f"offsets must be non-decreasing, got {offsets}")
    if offsets and offsets[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
                           f"{offsets[-1]}")


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings, without materialising the (bag, item) rows:
    ``input`` is (B, N) fixed-size bags, or a flat 1-D index with ``offsets`` marking where each bag
    starts. Entries equal to ``padding_idx`` are left out (and not counted by the mean); an empty
    bag gives zeros.

    >>> import ember, ember.nn.functional as F
    >>> w = ember.arange(6.0).reshape(3, 2)
    >>> F.embedding_bag(ember.tensor([0, 2, 1]), w, ember.tensor([0, 2]), mode="sum")
    tensor([[4., 6.],
            [2., 3.]])
    """
    F = _F()
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    flat, bag, psw, bags = _bag_offsets(input, offsets, per_sample_weights, include_last_offset)
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if psw is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    bad = (flat < 0) | (flat >= weight.shape[0])
    if flat.numel() and bool(bad.any()):  # PyTorch's embedding_bag names the first bad position
        pos = int(bad.long().argmax())
        if mode == "max":  # PyTorch's max kernel checks each index as it reads it
            raise RuntimeError(f"embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be "
                               f"{int(flat[pos])}")
        raise RuntimeError(f"Index {pos} of input takes value {int(flat[pos])} which is not in the valid range "
                           f"[0, {weight.shape[0]})")
    rows = F.embedding(flat, weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)  # (L, D)
    dim = weight.shape[1]
    keep = None
    if padding_idx is not None:
        padding_idx = F._embedding_padding_idx(padding_idx, weight.shape[0])
        keep = flat != padding_idx
        rows = _e.where(keep.unsqueeze(1), rows, 0.0)
    lowp = mode != "max" and (weight._dtype is _dt.float16 or weight._dtype is _dt.bfloat16)
    if lowp:  # PyTorch's 16-bit sum kernel (fbgemm) accumulates a bag's products in float32, rounded once
        rows = rows.float()
        psw = psw.float() if psw is not None and psw._dtype is weight._dtype else psw
    if psw is not None:
        rows = rows * psw.unsqueeze(1)
    out = _c.zeros(bags, dim, dtype=rows.dtype if lowp else weight.dtype, device=weight.device)
    if mode == "max":
        index = bag.unsqueeze(1).expand(-1, dim)
        if keep is not None:  # padding rows must not win: send them to a scratch bag
            index = _e.where(keep.unsqueeze(1), index, bags)
            out = _c.zeros(bags + 1, dim, dtype=weight.dtype, device=weight.device)
        out = out.scatter_reduce(0, index, rows, "amax", include_self=False)
        return out[:bags]
    out = out.index_add(0, bag, rows)
    if lowp:  # (a mean then divides the rounded sum in the 16-bit type, as PyTorch)
        out = out.to(weight._dtype)
    if mode == "mean":
        counted = keep.to(weight.dtype) if keep is not None else _c.ones(flat.shape[0], dtype=weight.dtype,
                                                                          device=weight.device)
        count = _c.zeros(bags, dtype=weight.dtype, device=weight.device).index_add(0, bag, counted)
        out = out / count.clamp(min=1).unsqueeze(1)
    return out


# ---- fractional max pooling --------------------------------------------------------------------
def _fractional_starts(u: Tensor, in_size: int, out_size: int, pool: int) -> Tensor:
    """Window starts of one spatial dim for every (batch, plane) sample ``u`` (..., ) -> (..., out):
    PyTorch's pseudo-random sequence, computed in the input's dtype as its kernel does so the
    truncations agree."""
    if out_size == 1:
        return (u.unsqueeze(-1) * 0).long() + (in_size - pool)
    alpha = (in_size - pool) / (out_size - 1)
    i = _c.arange(out_size - 1, dtype=u.dtype, device=u.device)
    alpha_t = _c.full((), alpha, dtype=u.dtype, device=u.device)  # rounded to the dtype, as the kernel's
    starts = ((i + u.unsqueeze(-1)) * alpha_t).trunc().long() - (u * alpha_t).trunc().long().unsqueeze(-1)
    last = _c.full((*u.shape, 1), in_size - pool, dtype=_dt.int64, device=u.device)
    from ember.functions.shape import cat

    return cat([starts, last], -1)


def _fractional_max_pool(input: Tensor, kernel_size: Any, output_size: Any, output_ratio: Any,
                         return_indices: bool, _random_samples: Tensor | None, nd: int) -> Any:
    name = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    kernel = _tuple(kernel_size, nd)
    spatial = list(input.shape[-nd:])
    if output_size is None:
        if len(output_ratio) > nd:  # (a bare float has no len(): PyTorch's functional form wants a sequence)
            raise ValueError(f"{name} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = _tuple(output_ratio, nd)
        output_size = [int(s * r) for s, r in zip(spatial, ratio, strict=True)]
    out = list(_tuple(output_size, nd))
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    for dim_name, k, o, s in zip(("time", "height", "width")[3 - nd:], kernel, out, spatial, strict=True):
        if k <= 0:
            raise RuntimeError(f"{name}(): kernel_size must be greater than zero, but got {kernel}")
        if o + k - 1 > s:
            raise RuntimeError(f"{name}_out(): pool {dim_name} {k} too large relative to input {dim_name} {s}")
    batched = input.dim() == nd + 2
    x = input if batched else input.unsqueeze(0)
    n, c = x.shape[0], x.shape[1]
    if _random_samples is None:
        _random_samples = _c.rand(n, c, nd, dtype=input.dtype, device=input.device)
    # PyTorch's sample order: in 2-d, width takes sample 0 and height sample 1; in 3-d, time, height and
    # width take samples 0, 1 and 2
    order = [1, 0] if nd == 2 else list(range(nd))
    starts = [_fractional_starts(_random_samples[..., order[k]], spatial[k], out[k], kernel[k]) for k in range(nd)]
    # flat input positions of every window element: (N, C, *out, prod(kernel))
    flat = None
    for k in range(nd):
        offsets = _c.arange(kernel[k], device=input.device)
        pos = starts[k].unsqueeze(-1) + offsets                       # (N, C, out_k, kernel_k)
        stride = math.prod(spatial[k + 1:])
        shape = [n, c] + [1] * nd + [1] * nd
        shape[2 + k], shape[2 + nd + k] = out[k], kernel[k]
        term = (pos * stride).reshape(shape)
        flat = term if flat is None else flat + term
    flat = flat.expand(n, c, *out, *kernel).reshape(n, c, math.prod(out), math.prod(kernel))
    values = x.reshape(n, c, 1, -1).expand(n, c, math.prod(out), math.prod(spatial)).gather(3, flat)
    result, pick = _pool_max(values, 3)  # PyTorch's rule: the first maximum or the last NaN
    result = result.reshape(n, c, *out)
    indices = flat.gather(3, pick.unsqueeze(3)).reshape(n, c, *out)
    if not batched:
        result, indices = result.squeeze(0), indices.squeeze(0)
    return (result, indices) if return_indices else result


def _tuple(v: Any, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Tensor | None = None) -> Any:
    """Max pooling over pseudo-randomly placed, overlapping windows (Graham's fractional max pooling);
    ``_random_samples`` (N, C, 2) fixes the placement.

    >>> import ember, ember.nn.functional as F
    >>> F.fractional_max_pool2d(ember.arange(16.0).reshape(1, 1, 4, 4), 2, output_size=2,
    ...                         _random_samples=ember.full((1, 1, 2), 0.5)).flatten().tolist()
    [5.0, 7.0, 13.0, 15.0]
    """
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2)


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Tensor | None = None) -> Any:
    """``fractional_max_pool2d`` over (T, H, W); ``_random_samples`` is (N, C, 3)."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3)


def fractional_max_pool2d_with_indices(*args: Any, **kwargs: Any) -> Any:
    return fractional_max_pool2d(*args, **{**kwargs, "return_indices": True})


def fractional_max_pool3d_with_indices(*args: Any, **kwargs: Any) -> Any:
    return fractional_max_pool3d(*args, **{**kwargs, "return_indices": True})
