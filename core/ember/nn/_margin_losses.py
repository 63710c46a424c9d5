"""Margin, ranking and likelihood losses of ``torch.nn.functional``, written in ember ops.

They are composites (autograd and every backend for free) with PyTorch's formulas, argument
checks and error wording; ``ember.nn.functional`` re-exports them.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.margin_ranking_loss(ember.tensor([1.0, 2.0]), ember.tensor([2.0, 0.0]), ember.tensor([1.0, 1.0]))
    tensor(0.5000)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ember import dtypes as _dt
from ember.autograd.function import Function, grad_fn_name
from ember.functions import creation as _c
from ember.functions import elementwise as _e
from ember.functions.complex_ops import type_word
from ember.tensor import Tensor

__all__ = [
    "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
    "gaussian_nll_loss", "poisson_nll_loss",
]


def _legacy(size_average: Any, reduce: Any, reduction: str) -> str:
    from ember.nn.functional import _legacy_reduction

    return _legacy_reduction(size_average, reduce, reduction)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    from ember.nn.functional import _reduce

    return _reduce(loss, reduction)


def _sizes(t: Tensor) -> str:
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``, reduced.

    >>> import ember, ember.nn.functional as F
    >>> F.margin_ranking_loss(ember.tensor([3.0]), ember.tensor([1.0]), ember.tensor([-1.0]), reduction="sum")
    tensor(2.)
    """
    reduction = _legacy(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return margin_ranking(input1, input2, target, margin, reduction)


def margin_ranking(input1: Tensor, input2: Tensor, target: Tensor, margin: float, reduction: str) -> Tensor:
    """The loss without ``F.margin_ranking_loss``'s dimension check: ``torch.margin_ranking_loss``
    (the aten op) broadcasts its operands instead."""
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``x`` where ``target == 1``, ``max(0, margin - x)`` where ``target == -1`` (both terms where
    a target is neither, as PyTorch), reduced.

    >>> import ember, ember.nn.functional as F
    >>> F.hinge_embedding_loss(ember.tensor([0.3, 0.2]), ember.tensor([1.0, -1.0]), reduction="none")
    tensor([0.3000, 0.8000])
    """
    reduction = _legacy(size_average, reduce, reduction)
    # PyTorch fills ``margin`` into a tensor of the input's dtype before subtracting: the loss keeps
    # the input's dtype (an int64 input gives an int64 loss, the margin truncated)
    zeros = _c.zeros_like(input)
    margin_term = _e.where(target != 1, (_c.full_like(input, margin) - input).clamp(min=0), zeros)
    self_term = _e.where(target != -1, input, zeros)
    return _reduce(margin_term + self_term, reduction)


class _SoftMarginLoss(Function):
    """Elementwise ``log(1 + exp(-t x))`` in the input's dtype (PyTorch writes it into a tensor like
    the input), with PyTorch's backward ``-t z / (1 + z)``, ``z = exp(-t x)``: its ``-t`` refuses a
    bool target there, as PyTorch's does. The target has no gradient (refused in the forward)."""

    _backward_name = "SoftMarginLossBackward0"

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        loss = (-x * t).exp().log1p()
        return loss if loss.dtype is x.dtype else loss.to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        z = (-t * x).exp()
        gx = -t * z / (1 + z) * g
        return (gx if gx.dtype is x.dtype else gx.to(x.dtype)), None


@grad_fn_name("SoftMarginLossBackward0")
def soft_margin_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * input))``, reduced (PyTorch's formula, unclamped).

    >>> import ember, ember.nn.functional as F
    >>> round(F.soft_margin_loss(ember.tensor([0.0]), ember.tensor([1.0])).item(), 4)
    0.6931
    """
    from ember.nn.functional import _refuse_grad

    reduction = _legacy(size_average, reduce, reduction)
    _refuse_grad("soft_margin_loss", target=target)
    # PyTorch negates the input into a tensor of its dtype, then multiplies and exponentiates in place
    if input.dtype is _dt.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(f"result type Float can't be cast to the desired output type {type_word(input.dtype)}")
    return _reduce(_SoftMarginLoss.apply(input, target), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where ``target == -1``.

    >>> import ember, ember.nn.functional as F
    >>> F.cosine_embedding_loss(ember.tensor([[1.0, 0.0]]), ember.tensor([[0.0, 1.0]]), ember.tensor([1.0]))
    tensor(1.)
    """
    reduction = _legacy(size_average, reduce, reduction)
    d = target.dim()
    if d not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    want = 2 if d == 1 else 1
    if input1.dim() != want or input2.dim() != want:
        raise RuntimeError(f"{d}D target tensor expects {want}D input tensors, but found inputs with sizes "
                           f"{_sizes(input1)} and {_sizes(input2)}.")
    eps = 1e-12  # PyTorch's EPSILON: keeps a zero vector's cosine finite
    prod = (input1 * input2).sum(d)
    mag = (((input1 * input1).sum(d) + eps) * ((input2 * input2).sum(d) + eps)).sqrt()
    cos = prod / mag
    pos = _e.where(target == 1, 1 - cos, 0.0)
    neg = _e.where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(pos + neg, reduction)


def _check_triplet_dims(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not (a == p == n):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the pairwise p-norm distance.

    >>> import ember, ember.nn.functional as F
    >>> a, p, n = ember.zeros(1, 2), ember.zeros(1, 2), ember.ones(1, 2)
    >>> round(F.triplet_margin_loss(a, p, n, margin=2.0).item(), 3)
    0.586
    """
    from ember.nn.functional import pairwise_distance

    reduction = _legacy(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:  # PyTorch's check (a zero margin would make the loss 0 for equal distances)
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _e.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """``triplet_margin_loss`` with any distance function (default: ``pairwise_distance``).

    >>> import ember, ember.nn.functional as F
    >>> a, p, n = ember.zeros(1, 2), ember.zeros(1, 2), ember.ones(1, 2)
    >>> F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda x, y: (x - y).abs().sum(-1))
    tensor(0.)
    """
    from ember.nn.functional import pairwise_distance

    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = _e.minimum(d_neg, dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def _check_class_targets(input: Tensor, target: Tensor) -> tuple[int, int]:
    """(batch, classes) of a multi-class margin loss's input (1-D or 2-D), with PyTorch's checks."""
    nd = input.dim()
    if not ((nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{_sizes(input)}")
    n = input.shape[0] if nd == 2 else 1
    c = input.shape[-1] if nd else 1
    if target.dtype.is_floating_point or target.dtype.is_complex:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.name.capitalize()}")
    return n, c


@grad_fn_name("MultiMarginLossBackward0")
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``sum_{i != y} max(0, margin - x[y] + x[i])^p / C`` per sample (times ``weight[y]``), reduced.

    >>> import ember, ember.nn.functional as F
    >>> F.multi_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
    tensor(0.3250)
    """
    reduction = _legacy(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    n, c = _check_class_targets(input, target)
    if weight is not None and (weight.dim() > 1 or weight.numel() != c):
        raise RuntimeError(f"inconsistent weight size, expected {c} but got {_sizes(weight)}")
    if target.dim() > 1 or target.numel() != n:
        raise RuntimeError(f"inconsistent target size, expected {n} but got {_sizes(target)}")
    x = input.reshape(n, c)
    t = target.reshape(n, 1)
    if n and bool(((t < 0) | (t >= c)).any()):
        raise RuntimeError("target out of range")
    x_y = x.gather(1, t)
    z = margin - x_y + x
    hinge = _e.where(z > 0, z, 0.0)  # PyTorch's kernel counts z > 0 only: no gradient at the hinge (nor NaN)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight.gather(0, t.reshape(n)).reshape(n, 1)
    not_target = _c.arange(c, device=input.device).reshape(1, c) != t
    loss = _e.where(not_target, hinge, 0.0).sum(1) / c
    if input.dim() < 2 and reduction == "none":
        loss = loss.reshape(target.shape)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                           reduction: str = "mean") -> Tensor:
    """Hinge between each target class and each non-target class: ``target`` lists the sample's
    classes and ends at the first -1. ``sum_{j, i} max(0, 1 - (x[y_j] - x[i])) / C``.

    >>> import ember, ember.nn.functional as F
    >>> F.multilabel_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """
    reduction = _legacy(size_average, reduce, reduction)
    nd = input.dim()
    if not ((nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{_sizes(input)}")
    n = input.shape[0] if nd == 2 else 1
    c = input.shape[-1] if nd else 1
    want = (n, c) if nd == 2 else ((c,) if nd == 1 else ())
    if tuple(target.shape) != want:
        raise RuntimeError(f"inconsistent target size: {_sizes(target)} for input of size: {_sizes(input)}")
    x, t = input.reshape(n, c), target.reshape(n, c)
    # a target is valid up to (not including) the first -1 of its row
    valid = (t != -1).long().cumprod(1).bool()
    if bool((valid & ((t < 0) | (t >= c))).any()):
        raise RuntimeError("target out of range")
    safe = _e.where(valid, t, 0)
    is_target = _c.zeros((n, c), dtype=input.dtype, device=input.device).scatter_add(
        1, safe, valid.to(input.dtype)) > 0
    x_y = x.gather(1, safe)                                          # (n, j)
    z = 1 - x_y.unsqueeze(2) + x.unsqueeze(1)                       # (n, j, i)
    hinge = _e.where(z > 0, z, 0.0)  # PyTorch's kernel counts z > 0 only: no gradient at the hinge (nor NaN)
    keep = valid.unsqueeze(2) & ~is_target.unsqueeze(1)
    loss = _e.where(keep, hinge, 0.0).sum((1, 2)) / c
    if nd < 2 and reduction == "none":
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of each class's logit, averaged over the classes (last dim).

    >>> import ember, ember.nn.functional as F
    >>> round(F.multilabel_soft_margin_loss(ember.tensor([[0.0, 0.0]]), ember.tensor([[1.0, 0.0]])).item(), 4)
    0.6931
    """
    from ember.nn.functional import logsigmoid

    reduction = _legacy(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not valid")
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """``0.5 * (log(var) + (input - target)^2 / var)`` (+ ``0.5 log(2 pi)`` when ``full``), with var
    clamped to ``eps`` for stability (the clamp passes gradients through, as PyTorch's).

    >>> import ember, ember.nn.functional as F
    >>> F.gaussian_nll_loss(ember.tensor([1.0]), ember.tensor([3.0]), ember.tensor([1.0]))
    tensor(2.)
    """
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * _c.ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):  # one variance per sample: broadcast it
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim()
                  and sum(v for i, v in zip(input.shape, var.shape, strict=True) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # clamped without recording the clamp: PyTorch's ``var.clamp_(min=eps)`` under no_grad
    var = var + (var.clamp(min=eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target ~ Poisson(rate)``: ``exp(input) - target * input`` when
    ``log_input``, else ``input - target * log(input + eps)``; ``full`` adds Stirling's term where
    ``target > 1``.

    >>> import ember, ember.nn.functional as F
    >>> F.poisson_nll_loss(ember.tensor([0.0]), ember.tensor([2.0]))
    tensor(1.)
    """
    reduction = _legacy(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + _e.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)
