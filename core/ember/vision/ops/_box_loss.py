"""Pieces shared by the box regression losses (``generalized_box_iou_loss``, ``distance_box_iou_loss``,
``complete_box_iou_loss``): elementwise intersection and union of paired boxes, and the reduction.

Example:
    >>> import ember
    >>> _loss_inter_union(ember.tensor([0.0, 0.0, 2.0, 2.0]), ember.tensor([1.0, 1.0, 3.0, 3.0]))
    (tensor(1.), tensor(7.))
"""

from __future__ import annotations

import ember


def _upcast_non_float(t: ember.Tensor) -> ember.Tensor:
    # the losses compute in float32 or float64 (integer and 16-bit boxes go to float32)
    return t if t.dtype in (ember.float32, ember.float64) else t.float()


def _loss_inter_union(boxes1: ember.Tensor, boxes2: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1, ykis1 = ember.maximum(x1, x1g), ember.maximum(y1, y1g)
    xkis2, ykis2 = ember.minimum(x2, x2g), ember.minimum(y2, y2g)
    # torchvision writes the intersection through a mask; `where` gives the same values and gradients
    overlap = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk = ember.where(overlap, (xkis2 - xkis1) * (ykis2 - ykis1), ember.zeros_like(x1))
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    return intsctk, unionk


def _reduce(loss: ember.Tensor, reduction: str) -> ember.Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        # an empty batch averages to 0 (not nan), and keeps the graph
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(
        f"Invalid Value for arg 'reduction': '{reduction} \n Supported reduction modes: 'none', 'mean', 'sum'"
    )


def _diou_iou_loss(boxes1: ember.Tensor, boxes2: ember.Tensor, eps: float = 1e-7) -> tuple[ember.Tensor, ember.Tensor]:
    intsct, union = _loss_inter_union(boxes1, boxes2)
    iou = intsct / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    # squared diagonal of the smallest enclosing box
    xc1, yc1 = ember.minimum(x1, x1g), ember.minimum(y1, y1g)
    xc2, yc2 = ember.maximum(x2, x2g), ember.maximum(y2, y2g)
    diagonal_distance_squared = ((xc2 - xc1) ** 2) + ((yc2 - yc1) ** 2) + eps
    # squared distance between the centres
    centers_distance_squared = (((x2 + x1) / 2 - (x1g + x2g) / 2) ** 2) + (((y2 + y1) / 2 - (y1g + y2g) / 2) ** 2)
    return 1 - iou + (centers_distance_squared / diagonal_distance_squared), iou
