"""torchvision.ops' box utilities: areas, pairwise IoU variants, format conversion, clipping, NMS.

Boxes are ``(x1, y1, x2, y2)`` unless a ``fmt`` says otherwise, with any number of leading batch
dimensions where torchvision allows them. Everything is written with ember ops, so it runs on every
device and is differentiable (``nms``, ``batched_nms``, ``remove_small_boxes`` and ``masks_to_boxes``
return indices or integer-valued boxes, as in torchvision).

Example:
    >>> import ember
    >>> a = ember.tensor([[0.0, 0.0, 2.0, 2.0]])
    >>> b = ember.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0]])
    >>> box_iou(a, b)
    tensor([[0.1429, 1.0000]])
    >>> nms(ember.cat([a, b]), ember.tensor([0.9, 0.8, 0.7]), 0.5)
    tensor([0, 1])
"""

from __future__ import annotations

import numpy as np

import ember

from ._box_convert import (
    _box_cxcywh_to_xyxy,
    _box_cxcywhr_to_xywhr,
    _box_xywh_to_xyxy,
    _box_xywhr_to_cxcywhr,
    _box_xywhr_to_xyxyxyxy,
    _box_xyxy_to_cxcywh,
    _box_xyxy_to_xywh,
    _box_xyxyxyxy_to_xywhr,
)

__all__ = [
    "nms",
    "batched_nms",
    "remove_small_boxes",
    "clip_boxes_to_image",
    "box_convert",
    "box_area",
    "box_iou",
    "generalized_box_iou",
    "complete_box_iou",
    "distance_box_iou",
    "masks_to_boxes",
]

_AXIS_ALIGNED = ("xyxy", "xywh", "cxcywh")
_ROTATED = ("cxcywhr", "xywhr", "xyxyxyxy")

# Rows of the pairwise suppression matrix computed per device call in nms: bounds the memory of one
# block of IoUs (rows x N) when N is large.
_NMS_BLOCK_ROWS = 2048


def _upcast(t: ember.Tensor) -> ember.Tensor:
    # Protects products of coordinates from overflow: 16-bit floats go to float32, small ints to int32.
    if t.is_floating_point():
        return t if t.dtype in (ember.float32, ember.float64) else t.float()
    return t if t.dtype in (ember.int32, ember.int64) else t.int()


def _check_nms_args(boxes: ember.Tensor, scores: ember.Tensor) -> None:
    # torchvision's C++ kernel checks, with its wording
    if boxes.dim() != 2:
        raise RuntimeError(f"boxes should be a 2d tensor, got {boxes.dim()}D")
    if boxes.size(1) != 4:
        raise RuntimeError(f"boxes should have 4 elements in dimension 1, got {boxes.size(1)}")
    if scores.dim() != 1:
        raise RuntimeError(f"scores should be a 1d tensor, got {scores.dim()}D")
    if boxes.size(0) != scores.size(0):
        raise RuntimeError(
            "boxes and scores should have same number of elements in dimension 0, "
            f"got {boxes.size(0)} and {scores.size(0)}"
        )
    if boxes.dtype != scores.dtype:
        raise RuntimeError("dets should have the same type as scores")


def _threshold_for(iou_threshold: float, dtype: ember.dtype) -> float:
    """The largest value of ``dtype`` at or below ``iou_threshold``: ``iou > it`` in ``dtype`` then says
    what torchvision's kernel says comparing the IoU, widened to double, with the double threshold
    (a Python float is rounded to the tensor's dtype first, possibly upwards)."""
    np_type = {ember.float16: np.float16, ember.float32: np.float32}.get(dtype)
    if np_type is None:  # float64 holds the threshold exactly (other dtypes: compared as given)
        return iou_threshold
    t = np_type(iou_threshold)
    if float(t) > iou_threshold:
        t = np.nextafter(t, np_type(-np.inf))
    return float(t)


def nms(boxes: ember.Tensor, scores: ember.Tensor, iou_threshold: float) -> ember.Tensor:
    """Non-maximum suppression: drops every box whose IoU with a higher-scoring kept box is above
    ``iou_threshold``.

    Returns the int64 indices of the kept boxes in decreasing order of score. Equal scores are taken in
    index order (a stable sort; torchvision leaves their order to its sort). Not differentiable.

    Example:
        >>> import ember
        >>> b = ember.tensor([[0.0, 0.0, 2.0, 2.0], [0.1, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
        >>> nms(b, ember.tensor([0.5, 0.9, 0.1]), 0.5)
        tensor([1, 2])
    """
    _check_nms_args(boxes, scores)
    device = boxes.device
    n = boxes.size(0)
    if n == 0:
        return ember.empty((0,), dtype=ember.int64, device=device)
    with ember.no_grad():
        order = ember.sort(scores, descending=True, stable=True).indices
        b = boxes[order]
        x1, y1, x2, y2 = b.unbind(1)
        areas = (x2 - x1) * (y2 - y1)
        # The pairwise suppression test runs vectorised on the device, a block of rows at a time (the
        # columns right of the block only: a box is only suppressed by higher-scoring ones), as
        # torchvision's CUDA kernel does with its bit mask. Which boxes survive is a greedy scan where
        # each step depends on the earlier survivors, so it runs on the host, one step per kept box:
        # each step is one vectorised NumPy OR of that box's row into the suppressed set.
        threshold = _threshold_for(iou_threshold, boxes.dtype)
        suppressed = np.zeros(n, dtype=bool)
        keep = []
        for start in range(0, n, _NMS_BLOCK_ROWS):
            stop = min(start + _NMS_BLOCK_ROWS, n)
            r, c = slice(start, stop), slice(start, n)
            # the kernel's operations in its order, so IoUs equal to the threshold compare alike
            w = (ember.minimum(x2[r, None], x2[None, c]) - ember.maximum(x1[r, None], x1[None, c])).clamp(min=0)
            h = (ember.minimum(y2[r, None], y2[None, c]) - ember.maximum(y1[r, None], y1[None, c])).clamp(min=0)
            inter = w * h
            over = (inter / (areas[r, None] + areas[None, c] - inter) > threshold).cpu().numpy()
            for i in range(start, stop):
                if suppressed[i]:
                    continue
                keep.append(i)
                suppressed[i + 1:] |= over[i - start, i + 1 - start:]
    kept = ember.tensor(keep, dtype=ember.int64, device=device)
    return order[kept]


def batched_nms(boxes: ember.Tensor, scores: ember.Tensor, idxs: ember.Tensor, iou_threshold: float) -> ember.Tensor:
    """NMS within each category of ``idxs``: boxes of different categories never suppress each other.

    Returns the int64 indices of the kept boxes in decreasing order of score. As in torchvision, small
    inputs offset each category's boxes so that one ``nms`` call does it (the coordinate trick) and
    large ones run ``nms`` per category; both give the same result.

    Example:
        >>> import ember
        >>> b = ember.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
        >>> batched_nms(b, ember.tensor([0.9, 0.8, 0.7]), ember.tensor([0, 1, 0]), 0.5)
        tensor([0, 1])
    """
    # torchvision's thresholds (benchmarked in pytorch/vision#1311 and #8925)
    if boxes.numel() > (4000 if boxes.device.type == "cpu" else 100_000):
        return _batched_nms_vanilla(boxes, scores, idxs, iou_threshold)
    return _batched_nms_coordinate_trick(boxes, scores, idxs, iou_threshold)


def _batched_nms_coordinate_trick(
    boxes: ember.Tensor, scores: ember.Tensor, idxs: ember.Tensor, iou_threshold: float
) -> ember.Tensor:
    # An offset per category, larger than every coordinate, so that boxes of different categories
    # cannot overlap.
    if boxes.numel() == 0:
        return ember.empty((0,), dtype=ember.int64, device=boxes.device)
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + ember.tensor(1).to(boxes))
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def _batched_nms_vanilla(
    boxes: ember.Tensor, scores: ember.Tensor, idxs: ember.Tensor, iou_threshold: float
) -> ember.Tensor:
    # nms per category (a loop over categories, not boxes), then every kept box sorted by score
    keep_mask = ember.zeros_like(scores, dtype=ember.bool)
    for class_id in ember.unique(idxs):
        curr = ember.where(idxs == class_id)[0]
        keep_mask[curr[nms(boxes[curr], scores[curr], iou_threshold)]] = True
    keep = ember.where(keep_mask)[0]
    return keep[ember.sort(scores[keep], descending=True, stable=True).indices]


def remove_small_boxes(boxes: ember.Tensor, min_size: float) -> ember.Tensor:
    """Indices of the boxes whose width and height are both at least ``min_size``.

    Example:
        >>> import ember
        >>> remove_small_boxes(ember.tensor([[0.0, 0.0, 1.0, 5.0], [0.0, 0.0, 3.0, 3.0]]), 2.0)
        tensor([1])
    """
    ws, hs = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    return ember.where((ws >= min_size) & (hs >= min_size))[0]


def clip_boxes_to_image(boxes: ember.Tensor, size: tuple[int, int]) -> ember.Tensor:
    """Clamps ``(x1, y1, x2, y2)`` boxes into an image of ``size = (height, width)``.

    Example:
        >>> import ember
        >>> clip_boxes_to_image(ember.tensor([[-1.0, 2.0, 9.0, 4.0]]), (3, 5))
        tensor([[0., 2., 5., 3.]])
    """
    dim = boxes.dim()
    height, width = size
    boxes_x = boxes[..., 0::2].clamp(min=0, max=width)
    boxes_y = boxes[..., 1::2].clamp(min=0, max=height)
    return ember.stack((boxes_x, boxes_y), dim=dim).reshape(boxes.shape)


def box_convert(boxes: ember.Tensor, in_fmt: str, out_fmt: str) -> ember.Tensor:
    """Converts boxes between ``'xyxy'``, ``'xywh'``, ``'cxcywh'`` (and the rotated ``'xywhr'``,
    ``'cxcywhr'``, ``'xyxyxyxy'``), over the last dimension.

    Example:
        >>> import ember
        >>> box_convert(ember.tensor([[1.0, 1.0, 2.0, 4.0]]), "xywh", "cxcywh")
        tensor([[2., 3., 2., 4.]])
    """
    allowed = _AXIS_ALIGNED + _ROTATED
    if in_fmt not in allowed or out_fmt not in allowed:
        raise ValueError(f"Unsupported Bounding Box Conversions for given in_fmt {in_fmt} and out_fmt {out_fmt}")
    if in_fmt == out_fmt:
        return boxes.clone()
    steps = {
        ("xywh", "xyxy"): (_box_xywh_to_xyxy,),
        ("cxcywh", "xyxy"): (_box_cxcywh_to_xyxy,),
        ("xyxy", "xywh"): (_box_xyxy_to_xywh,),
        ("xyxy", "cxcywh"): (_box_xyxy_to_cxcywh,),
        ("xywh", "cxcywh"): (_box_xywh_to_xyxy, _box_xyxy_to_cxcywh),
        ("cxcywh", "xywh"): (_box_cxcywh_to_xyxy, _box_xyxy_to_xywh),
        ("cxcywhr", "xywhr"): (_box_cxcywhr_to_xywhr,),
        ("xywhr", "cxcywhr"): (_box_xywhr_to_cxcywhr,),
        ("cxcywhr", "xyxyxyxy"): (_box_cxcywhr_to_xywhr, _box_xywhr_to_xyxyxyxy),
        ("xyxyxyxy", "cxcywhr"): (_box_xyxyxyxy_to_xywhr, _box_xywhr_to_cxcywhr),
        ("xywhr", "xyxyxyxy"): (_box_xywhr_to_xyxyxyxy,),
        ("xyxyxyxy", "xywhr"): (_box_xyxyxyxy_to_xywhr,),
    }.get((in_fmt, out_fmt))
    if steps is None:
        raise NotImplementedError(f"Unsupported Bounding Box Conversions for given in_fmt {in_fmt} and out_fmt {out_fmt}")
    for step in steps:
        boxes = step(boxes)
    return boxes


def box_area(boxes: ember.Tensor, fmt: str = "xyxy") -> ember.Tensor:
    """Area of each box (``fmt`` one of ``'xyxy'``, ``'xywh'``, ``'cxcywh'``).

    Example:
        >>> import ember
        >>> box_area(ember.tensor([[0.0, 0.0, 2.0, 3.0]]))
        tensor([6.])
    """
    if fmt not in _AXIS_ALIGNED:
        raise ValueError(f"Unsupported Bounding Box area for given format {fmt}")
    boxes = _upcast(boxes)
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def _box_inter_union(
    boxes1: ember.Tensor, boxes2: ember.Tensor, fmt: str = "xyxy"
) -> tuple[ember.Tensor, ember.Tensor]:
    area1 = box_area(boxes1, fmt=fmt)
    area2 = box_area(boxes2, fmt=fmt)
    if fmt not in _AXIS_ALIGNED:
        raise ValueError(f"Unsupported Box IoU Calculation for given fmt {fmt}.")
    if fmt == "xyxy":
        lo1, hi1, lo2, hi2 = boxes1[..., None, :2], boxes1[..., None, 2:], boxes2[..., None, :, :2], boxes2[..., None, :, 2:]
    elif fmt == "xywh":
        lo1, lo2 = boxes1[..., None, :2], boxes2[..., None, :, :2]
        hi1, hi2 = lo1 + boxes1[..., None, 2:], lo2 + boxes2[..., None, :, 2:]
    else:  # cxcywh
        c1, half1 = boxes1[..., None, :2], boxes1[..., None, 2:] / 2
        c2, half2 = boxes2[..., None, :, :2], boxes2[..., None, :, 2:] / 2
        lo1, hi1, lo2, hi2 = c1 - half1, c1 + half1, c2 - half2, c2 + half2
    wh = _upcast(ember.minimum(hi1, hi2) - ember.maximum(lo1, lo2)).clamp(min=0)  # [..., N, M, 2]
    inter = wh[..., 0] * wh[..., 1]
    union = area1[..., None] + area2[..., None, :] - inter
    return inter, union


def box_iou(boxes1: ember.Tensor, boxes2: ember.Tensor, fmt: str = "xyxy") -> ember.Tensor:
    """Pairwise intersection-over-union of ``boxes1 [..., N, 4]`` and ``boxes2 [..., M, 4]``: ``[..., N, M]``.

    ``fmt`` is ``'xyxy'``, ``'xywh'`` or ``'cxcywh'``; torchvision's rotated formats need its compiled
    ``box_iou_rotated`` and raise ``NotImplementedError`` here.

    Example:
        >>> import ember
        >>> box_iou(ember.tensor([[0.0, 0.0, 2.0, 2.0]]), ember.tensor([[1.0, 0.0, 3.0, 2.0]]))
        tensor([[0.3333]])
    """
    if fmt in _AXIS_ALIGNED:
        inter, union = _box_inter_union(boxes1, boxes2, fmt=fmt)
        return inter / union
    if fmt in _ROTATED:
        raise NotImplementedError("box_iou of rotated boxes (torchvision's compiled box_iou_rotated) is not available")
    raise ValueError(
        f"Unsupported format '{fmt}'. Supported axis-aligned formats: {_AXIS_ALIGNED}. "
        f"Supported rotated formats: {_ROTATED}."
    )


def _enclosing_wh(boxes1: ember.Tensor, boxes2: ember.Tensor) -> ember.Tensor:
    # width and height of the smallest box enclosing each pair, [..., N, M, 2]
    lti = ember.minimum(boxes1[..., None, :2], boxes2[..., None, :, :2])
    rbi = ember.maximum(boxes1[..., None, 2:], boxes2[..., None, :, 2:])
    return _upcast(rbi - lti).clamp(min=0)


def generalized_box_iou(boxes1: ember.Tensor, boxes2: ember.Tensor) -> ember.Tensor:
    """Pairwise generalized IoU (Rezatofighi et al. 2019) of ``xyxy`` boxes: ``[..., N, M]``.

    Example:
        >>> import ember
        >>> generalized_box_iou(ember.tensor([[0.0, 0.0, 1.0, 1.0]]), ember.tensor([[2.0, 0.0, 3.0, 1.0]]))
        tensor([[-0.3333]])
    """
    inter, union = _box_inter_union(boxes1, boxes2)
    iou = inter / union
    whi = _enclosing_wh(boxes1, boxes2)
    areai = whi[..., 0] * whi[..., 1]
    return iou - (areai - union) / areai


def _box_diou_iou(boxes1: ember.Tensor, boxes2: ember.Tensor, eps: float = 1e-7) -> tuple[ember.Tensor, ember.Tensor]:
    iou = box_iou(boxes1, boxes2)
    whi = _enclosing_wh(boxes1, boxes2)
    diagonal_distance_squared = (whi[..., 0] ** 2) + (whi[..., 1] ** 2) + eps
    x_p = (boxes1[..., 0] + boxes1[..., 2]) / 2
    y_p = (boxes1[..., 1] + boxes1[..., 3]) / 2
    x_g = (boxes2[..., 0] + boxes2[..., 2]) / 2
    y_g = (boxes2[..., 1] + boxes2[..., 3]) / 2
    centers_distance_squared = (_upcast(x_p[..., None] - x_g[..., None, :]) ** 2) + (
        _upcast(y_p[..., None] - y_g[..., None, :]) ** 2
    )
    return iou - (centers_distance_squared / diagonal_distance_squared), iou


def distance_box_iou(boxes1: ember.Tensor, boxes2: ember.Tensor, eps: float = 1e-7) -> ember.Tensor:
    """Pairwise distance IoU (Zheng et al. 2019): IoU less the squared centre distance over the squared
    diagonal of the enclosing box.

    Example:
        >>> import ember
        >>> distance_box_iou(ember.tensor([[0.0, 0.0, 2.0, 2.0]]), ember.tensor([[0.0, 0.0, 2.0, 2.0]]))
        tensor([[1.]])
    """
    diou, _ = _box_diou_iou(_upcast(boxes1), _upcast(boxes2), eps=eps)
    return diou


def complete_box_iou(boxes1: ember.Tensor, boxes2: ember.Tensor, eps: float = 1e-7) -> ember.Tensor:
    """Pairwise complete IoU (Zheng et al. 2019): distance IoU less an aspect-ratio penalty whose weight
    ``alpha`` carries no gradient.

    Example:
        >>> import ember
        >>> complete_box_iou(ember.tensor([[0.0, 0.0, 2.0, 2.0]]), ember.tensor([[0.0, 0.0, 2.0, 2.0]]))
        tensor([[1.]])
    """
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    diou, iou = _box_diou_iou(boxes1, boxes2, eps)
    w_pred = boxes1[..., None, 2] - boxes1[..., None, 0]
    h_pred = boxes1[..., None, 3] - boxes1[..., None, 1]
    w_gt = boxes2[..., None, :, 2] - boxes2[..., None, :, 0]
    h_gt = boxes2[..., None, :, 3] - boxes2[..., None, :, 1]
    v = (4 / (np.pi**2)) * ember.pow(ember.atan(w_pred / h_pred) - ember.atan(w_gt / h_gt), 2)
    with ember.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def masks_to_boxes(masks: ember.Tensor) -> ember.Tensor:
    """The ``(x1, y1, x2, y2)`` float boxes around the non-zero pixels of ``masks [N, H, W]``; an empty
    mask gives ``[0, 0, 0, 0]``.

    Example:
        >>> import ember
        >>> m = ember.zeros(1, 4, 5)
        >>> m[0, 1:3, 2:4] = 1
        >>> masks_to_boxes(m)
        tensor([[2., 1., 3., 2.]])
    """
    if masks.numel() == 0:
        return ember.zeros((0, 4), device=masks.device, dtype=ember.float)
    n, h, w = masks.shape
    masks_bool = masks.bool()
    non_zero_rows = ember.any(masks_bool, dim=2)
    non_zero_cols = ember.any(masks_bool, dim=1)
    empty_masks = ~ember.any(non_zero_rows, dim=1)
    rows_f, cols_f = non_zero_rows.float(), non_zero_cols.float()
    # argmax gives the first maximum: the first non-zero row/column, and from the flipped side the last
    y1 = rows_f.argmax(dim=1)
    x1 = cols_f.argmax(dim=1)
    y2 = (h - 1) - rows_f.flip(1).argmax(dim=1)
    x2 = (w - 1) - cols_f.flip(1).argmax(dim=1)
    bounding_boxes = ember.stack([x1, y1, x2, y2], dim=1).float()
    bounding_boxes[empty_masks] = 0
    return bounding_boxes
