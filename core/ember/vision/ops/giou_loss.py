"""The generalized IoU loss (Rezatofighi et al. 2019, https://arxiv.org/abs/1902.09630).

Example:
    >>> import ember
    >>> generalized_box_iou_loss(ember.tensor([0.0, 0.0, 2.0, 2.0]), ember.tensor([1.0, 0.0, 3.0, 2.0]))
    tensor(0.6667)
"""

from __future__ import annotations

import ember

from ._box_loss import _loss_inter_union, _reduce, _upcast_non_float

__all__ = ["generalized_box_iou_loss"]


def generalized_box_iou_loss(
    boxes1: ember.Tensor, boxes2: ember.Tensor, reduction: str = "none", eps: float = 1e-7
) -> ember.Tensor:
    """``1 - GIoU`` of paired ``xyxy`` boxes (``[N, 4]`` or ``[4]``): IoU less the share of the smallest
    enclosing box that neither box covers, so non-overlapping boxes still get a gradient. Symmetric.

    Example:
        >>> import ember
        >>> generalized_box_iou_loss(ember.tensor([[0.0, 0.0, 1.0, 1.0]]), ember.tensor([[2.0, 0.0, 3.0, 1.0]]))
        tensor([1.3333])
    """
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    intsctk, unionk = _loss_inter_union(boxes1, boxes2)
    iouk = intsctk / (unionk + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    # smallest enclosing box
    xc1, yc1 = ember.minimum(x1, x1g), ember.minimum(y1, y1g)
    xc2, yc2 = ember.maximum(x2, x2g), ember.maximum(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    miouk = iouk - ((area_c - unionk) / (area_c + eps))
    return _reduce(1 - miouk, reduction)
