"""The complete IoU loss (Zheng et al. 2019, https://arxiv.org/abs/1911.08287).

Example:
    >>> import ember
    >>> complete_box_iou_loss(ember.tensor([0.0, 0.0, 2.0, 2.0]), ember.tensor([1.0, 0.0, 3.0, 2.0]))
    tensor(0.7436)
"""

from __future__ import annotations

import math

import ember

from ._box_loss import _diou_iou_loss, _reduce, _upcast_non_float

__all__ = ["complete_box_iou_loss"]


def complete_box_iou_loss(
    boxes1: ember.Tensor, boxes2: ember.Tensor, reduction: str = "none", eps: float = 1e-7
) -> ember.Tensor:
    """The distance IoU loss plus an aspect-ratio term ``alpha * v`` (``alpha`` carries no gradient),
    for paired ``xyxy`` boxes ``[N, 4]`` or ``[4]``. Symmetric.

    Example:
        >>> import ember
        >>> complete_box_iou_loss(ember.tensor([[0.0, 0.0, 1.0, 1.0]]), ember.tensor([[0.0, 0.0, 2.0, 1.0]]))
        tensor([0.5532])
    """
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    # torchvision uses the default eps here, whatever `eps` says
    diou_loss, iou = _diou_iou_loss(boxes1, boxes2)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    w_pred, h_pred = x2 - x1, y2 - y1
    w_gt, h_gt = x2g - x1g, y2g - y1g
    v = (4 / (math.pi**2)) * ember.pow(ember.atan(w_gt / h_gt) - ember.atan(w_pred / h_pred), 2)
    with ember.no_grad():
        alpha = v / (1 - iou + v + eps)
    return _reduce(diou_loss + alpha * v, reduction)
