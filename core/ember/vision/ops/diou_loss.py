"""The distance IoU loss (Zheng et al. 2019, https://arxiv.org/abs/1911.08287).

Example:
    >>> import ember
    >>> distance_box_iou_loss(ember.tensor([0.0, 0.0, 2.0, 2.0]), ember.tensor([1.0, 0.0, 3.0, 2.0]))
    tensor(0.7436)
"""

from __future__ import annotations

import ember

from ._box_loss import _diou_iou_loss, _reduce, _upcast_non_float

__all__ = ["distance_box_iou_loss"]


def distance_box_iou_loss(
    boxes1: ember.Tensor, boxes2: ember.Tensor, reduction: str = "none", eps: float = 1e-7
) -> ember.Tensor:
    """``1 - IoU`` plus the squared distance of the centres over the squared diagonal of the enclosing
    box, for paired ``xyxy`` boxes ``[N, 4]``. Symmetric.

    Example:
        >>> import ember
        >>> distance_box_iou_loss(ember.tensor([[0.0, 0.0, 1.0, 1.0]]), ember.tensor([[1.0, 0.0, 2.0, 1.0]]))
        tensor([1.2000])
    """
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    loss, _ = _diou_iou_loss(boxes1, boxes2, eps)
    return _reduce(loss, reduction)
