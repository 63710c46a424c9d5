"""The focal loss of RetinaNet (Lin et al. 2017, https://arxiv.org/abs/1708.02002).

Example:
    >>> import ember
    >>> x = ember.tensor([2.0, -1.0])
    >>> sigmoid_focal_loss(x, ember.tensor([1.0, 0.0]), reduction="sum")
    tensor(0.0174)
"""

from __future__ import annotations

import ember
import ember.nn.functional as F

from ._box_loss import _reduce

__all__ = ["sigmoid_focal_loss"]


def sigmoid_focal_loss(
    inputs: ember.Tensor, targets: ember.Tensor, alpha: float = 0.25, gamma: float = 2, reduction: str = "none"
) -> ember.Tensor:
    """Binary cross-entropy on logits ``inputs`` scaled by ``(1 - p_t) ** gamma`` (easy examples weigh
    less) and by ``alpha`` for positives, ``1 - alpha`` for negatives (``alpha=-1``: no weighting).

    ``reduction`` is ``'none'`` (the default, as torchvision), ``'mean'`` or ``'sum'``.

    Example:
        >>> import ember
        >>> sigmoid_focal_loss(ember.zeros(2), ember.tensor([1.0, 0.0]), alpha=-1, gamma=0, reduction="mean")
        tensor(0.6931)
    """
    if not (0 <= alpha <= 1) and alpha != -1:
        raise ValueError(f"Invalid alpha value: {alpha}. alpha must be in the range [0,1] or -1 for ignore.")
    p = ember.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        return loss.mean()  # torchvision averages even an empty loss here (nan)
    return _reduce(loss, reduction)
