"""PyTorch's top-level forms of ``nn.functional`` ops: ``torch.conv2d``, ``torch.layer_norm``...

Where the ``torch.*`` signature is the ``F.*`` one, the op *is* the ``ember.nn.functional``
function; elsewhere a thin adapter maps PyTorch's ATen-style signature onto it: positional
``train`` flags, ``reduction`` as an int (0 none, 1 mean, 2 sum; the default is 0 here, as in
PyTorch's top-level losses, where ``F.*`` defaults to ``"mean"``), ``torch.embedding(weight,
indices)`` and ``torch.batch_norm(input, weight, bias, running_mean, running_var, ...)`` in their
own argument orders, ``torch.max_pool2d`` without ``return_indices``.

Example:
    >>> import ember
    >>> x = ember.ones(1, 1, 4)
    >>> ember.conv1d(x, ember.ones(1, 1, 2))
    tensor([[[2., 2., 2.]]])
    >>> ember.embedding(ember.eye(3), ember.tensor([2, 0]))
    tensor([[0., 0., 1.],
            [1., 0., 0.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ember._ops.out import CAST, SAME
from ember._ops.registry import Family
from ember.nn import functional as F  # noqa: N812 - the usual name
from ember.nn.functional import (
    adaptive_avg_pool1d,
    avg_pool1d,
    bilinear,
    channel_shuffle,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    cosine_similarity,
    hardshrink,
    pairwise_distance,
    pdist,
    pixel_shuffle,
    pixel_unshuffle,
    prelu,
)
from ember.tensor import Tensor

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(reduction: Any) -> str:
    """ATen's reduction enum (``torch.*`` losses take an int) as ``F``'s string."""
    if isinstance(reduction, str):
        return reduction
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _REDUCTIONS[reduction]


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle`` (PyTorch's native kernel of it)."""
    return F.channel_shuffle(input, groups)


def _no_stride(stride: Any) -> Any:
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """``F.max_pool1d`` without ``return_indices`` (``torch.max_pool1d``'s form)."""
    return F.max_pool1d(input, kernel_size, _no_stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """``F.max_pool2d`` without ``return_indices``."""
    return F.max_pool2d(input, kernel_size, _no_stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """``F.max_pool3d`` without ``return_indices``."""
    return F.max_pool3d(input, kernel_size, _no_stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False) -> tuple:
    """``(output, indices)`` of ``F.max_pool1d``."""
    return F.max_pool1d(input, kernel_size, _no_stride(stride), padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple:
    """``(output, indices)``: ``torch.adaptive_max_pool1d`` always returns both."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def _aten_p(p: float) -> float:
    """aten's check of a dropout probability: RuntimeError (``F.*`` raise ValueError), in eval too."""
    if p < 0 or p > 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    return p


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.dropout(input, p, train)`` (``train`` has no default here, as in PyTorch)."""
    return F.dropout(input, _aten_p(p), train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``dropout``."""
    return F.dropout(input, _aten_p(p), train, inplace=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.alpha_dropout(input, p, train)``."""
    return F.alpha_dropout(input, _aten_p(p), train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``alpha_dropout``."""
    return F.alpha_dropout(input, _aten_p(p), train, inplace=True)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout with one draw per (dim 0, dim 1) entry, shared along the other dims (aten's
    ``feature_dropout``: a 2-D input drops single elements)."""
    return F._feature_dropout(input, _aten_p(p), train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_dropout``."""
    return F._feature_dropout(input, _aten_p(p), train, True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.feature_alpha_dropout(input, p, train)``."""
    return F.feature_alpha_dropout(input, _aten_p(p), train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_alpha_dropout``."""
    return F.feature_alpha_dropout(input, _aten_p(p), train, inplace=True)


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5, cudnn_enable: bool = True) -> Tensor:
    """``F.layer_norm`` (``cudnn_enable`` is accepted and ignored)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5, cudnn_enabled: bool = True) -> Tensor:
    """``F.group_norm`` (``cudnn_enabled`` is accepted and ignored)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
               running_var: Tensor | None, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool) -> Tensor:
    """``F.batch_norm`` with PyTorch's top-level argument order (weight and bias first)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                  running_var: Tensor | None, use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    """``F.instance_norm`` with PyTorch's top-level argument order."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``F.rms_norm``."""
    return F.rms_norm(input, normalized_shape, weight, eps)


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """``F.embedding(indices, weight)``: the table comes first here, and ``padding_idx=-1`` means none."""
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator: Any = None) -> Tensor:
    """``F.rrelu``."""
    return F.rrelu(input, lower, upper, training)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
           generator: Any = None) -> Tensor:
    """In-place ``rrelu``."""
    return F.rrelu(input, lower, upper, training, inplace=True)


def selu(input: Tensor) -> Tensor:
    """``F.selu``."""
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return F.selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``F.celu``."""
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return F.celu(input, alpha, inplace=True)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """``F.threshold``: ``value`` where ``input <= threshold``."""
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return F.threshold(input, threshold, value, inplace=True)


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:
    """``F.pad(input, pad, "constant", value)``."""
    return F.pad(input, pad, "constant", value)


def kl_div(input: Tensor, target: Tensor, reduction: Any = 0, *, log_target: bool = False) -> Tensor:
    """``F.kl_div`` with an int ``reduction``."""
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None, reduction: Any = 0) -> Tensor:
    """``F.binary_cross_entropy_with_logits`` with an int ``reduction``."""
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: Any = 0) -> Tensor:
    """``F.margin_ranking_loss`` with an int ``reduction``; operands broadcast (the aten op has no
    dimension check)."""
    from ember.nn._margin_losses import margin_ranking

    return margin_ranking(input1, input2, target, margin, _reduction(reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: Any = 0) -> Tensor:
    """``F.hinge_embedding_loss`` with an int ``reduction``."""
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: Any = 0) -> Tensor:
    """``F.cosine_embedding_loss`` with an int ``reduction``."""
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction: Any = 0) -> Tensor:
    """``F.triplet_margin_loss`` with an int ``reduction``."""
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: Any) -> Tensor:
    """``F.poisson_nll_loss`` (every argument required, ``reduction`` an int)."""
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: Any = 0, zero_infinity: bool = False) -> Tensor:
    """``F.ctc_loss`` with an int ``reduction``."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction), zero_infinity)


_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDINGS = {0: "zeros", 1: "border", 2: "reflection"}


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                 align_corners: bool) -> Tensor:
    """``F.grid_sample`` with ATen's enums (mode 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros,
    1 border, 2 reflection)."""
    return F.grid_sample(input, grid, _MODES[interpolation_mode], _PADDINGS[padding_mode], align_corners)


def grid_sampler_2d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """``grid_sampler`` of a 4-D input."""
    if input.dim() != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """``grid_sampler`` of a 5-D input."""
    if input.dim() != 5:
        raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Sequence[int], padding: Sequence[int],
                dilation: Sequence[int], transposed: bool, output_padding: Sequence[int], groups: int) -> Tensor:
    """ATen's generic convolution: ``conv{1,2,3}d`` or ``conv_transpose{1,2,3}d`` by the weight's dims."""
    n = weight.dim() - 2
    if n not in (1, 2, 3):
        raise RuntimeError(f"Expected 3D, 4D or 5D weight for convolution, but got weight of size "
                           f"{list(weight.shape)}")
    if transposed:
        fn = (conv_transpose1d, conv_transpose2d, conv_transpose3d)[n - 1]
        return fn(input, weight, bias, tuple(stride), tuple(padding), tuple(output_padding), groups, tuple(dilation))
    fn = (conv1d, conv2d, conv3d)[n - 1]
    return fn(input, weight, bias, tuple(stride), tuple(padding), tuple(dilation), groups)


def affine_grid_generator(theta: Tensor, size: Sequence[int], align_corners: bool) -> Tensor:
    """``F.affine_grid`` (``align_corners`` required)."""
    return F.affine_grid(theta, list(size), align_corners)


# ---- declarations: ``ember.*`` (and the Tensor methods PyTorch has) come from these ----
_ops = Family(__name__)
_op = _ops.op
for _fn in (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, avg_pool1d,
            adaptive_avg_pool1d, pixel_shuffle, pixel_unshuffle, cosine_similarity, pairwise_distance, pdist,
            bilinear, channel_shuffle, native_channel_shuffle, max_pool1d, max_pool2d, max_pool3d,
            max_pool1d_with_indices, adaptive_max_pool1d, dropout, dropout_, alpha_dropout, alpha_dropout_,
            feature_dropout, feature_dropout_, feature_alpha_dropout, feature_alpha_dropout_, layer_norm,
            group_norm, batch_norm, instance_norm, rms_norm, embedding, rrelu, rrelu_, selu, selu_, celu, celu_,
            threshold, threshold_, constant_pad_nd, kl_div, binary_cross_entropy_with_logits,
            margin_ranking_loss, hinge_embedding_loss, cosine_embedding_loss, triplet_margin_loss,
            poisson_nll_loss, ctc_loss, grid_sampler, grid_sampler_2d, grid_sampler_3d, affine_grid_generator,
            convolution):
    if _fn is not threshold:
        _op(_fn, method=False)
_op(threshold, method=False, out=CAST)  # ``out=`` generated (ember._ops.out)
_op(prelu)  # ``Tensor.prelu``, ``Tensor.hardshrink`` too, as in PyTorch
_op(hardshrink, out=SAME)

__all__ = _ops.names()
