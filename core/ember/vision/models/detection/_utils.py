"""The box coders, matchers and sampler shared by torchvision's detectors
(torchvision/models/detection/_utils.py).

Example:
    >>> import ember
    >>> coder = BoxCoder((1.0, 1.0, 1.0, 1.0))
    >>> anchors = ember.tensor([[0.0, 0.0, 10.0, 10.0]])
    >>> codes = coder.encode_single(ember.tensor([[1.0, 1.0, 11.0, 11.0]]), anchors)
    >>> coder.decode_single(codes, anchors)
    tensor([[ 1.,  1., 11., 11.]])
"""

from __future__ import annotations

import math
from collections import OrderedDict

import ember
import ember.nn.functional as F
from ember import nn

from ...ops import FrozenBatchNorm2d, complete_box_iou_loss, distance_box_iou_loss, generalized_box_iou_loss

__all__ = ["BalancedPositiveNegativeSampler", "BoxCoder", "BoxLinearCoder", "Matcher", "SSDMatcher", "encode_boxes",
           "overwrite_eps", "retrieve_out_channels"]


class BalancedPositiveNegativeSampler:
    """Picks, per image, at most ``batch_size_per_image`` examples of which at most ``positive_fraction``
    are positive (label >= 1), at random; the rest are negatives (label 0). Labels -1 are ignored.

    Returns two lists of uint8 masks (positives, negatives), one per image.
    """

    def __init__(self, batch_size_per_image: int, positive_fraction: float) -> None:
        self.batch_size_per_image = batch_size_per_image
        self.positive_fraction = positive_fraction

    def __call__(self, matched_idxs: list[ember.Tensor]) -> tuple[list[ember.Tensor], list[ember.Tensor]]:
        pos_idx, neg_idx = [], []
        for matched in matched_idxs:
            positive = ember.where(matched >= 1)[0]
            negative = ember.where(matched == 0)[0]
            num_pos = min(positive.numel(), int(self.batch_size_per_image * self.positive_fraction))
            num_neg = min(negative.numel(), self.batch_size_per_image - num_pos)
            pos_pick = positive[ember.randperm(positive.numel(), device=positive.device)[:num_pos]]
            neg_pick = negative[ember.randperm(negative.numel(), device=negative.device)[:num_neg]]
            pos_mask = ember.zeros_like(matched, dtype=ember.uint8)
            neg_mask = ember.zeros_like(matched, dtype=ember.uint8)
            pos_mask[pos_pick] = 1
            neg_mask[neg_pick] = 1
            pos_idx.append(pos_mask)
            neg_idx.append(neg_mask)
        return pos_idx, neg_idx


def encode_boxes(reference_boxes: ember.Tensor, proposals: ember.Tensor, weights: ember.Tensor) -> ember.Tensor:
    """The ``(dx, dy, dw, dh)`` that take each proposal to its reference box, scaled by ``weights``."""
    wx, wy, ww, wh = weights[0], weights[1], weights[2], weights[3]
    ex_w = (proposals[:, 2] - proposals[:, 0]).unsqueeze(1)
    ex_h = (proposals[:, 3] - proposals[:, 1]).unsqueeze(1)
    ex_cx = proposals[:, 0].unsqueeze(1) + 0.5 * ex_w
    ex_cy = proposals[:, 1].unsqueeze(1) + 0.5 * ex_h
    gt_w = (reference_boxes[:, 2] - reference_boxes[:, 0]).unsqueeze(1)
    gt_h = (reference_boxes[:, 3] - reference_boxes[:, 1]).unsqueeze(1)
    gt_cx = reference_boxes[:, 0].unsqueeze(1) + 0.5 * gt_w
    gt_cy = reference_boxes[:, 1].unsqueeze(1) + 0.5 * gt_h
    dx = wx * (gt_cx - ex_cx) / ex_w
    dy = wy * (gt_cy - ex_cy) / ex_h
    dw = ww * ember.log(gt_w / ex_w)
    dh = wh * ember.log(gt_h / ex_h)
    return ember.cat((dx, dy, dw, dh), dim=1)


class BoxCoder:
    """Encodes boxes as deltas from reference boxes (R-CNN's parametrisation) and decodes them back;
    ``dw``/``dh`` are clamped at ``bbox_xform_clip`` before the exponential."""

    def __init__(self, weights: tuple[float, float, float, float],
                 bbox_xform_clip: float = math.log(1000.0 / 16)) -> None:
        self.weights = weights
        self.bbox_xform_clip = bbox_xform_clip

    def encode(self, reference_boxes: list[ember.Tensor], proposals: list[ember.Tensor]) -> tuple[ember.Tensor, ...]:
        boxes_per_image = [len(b) for b in reference_boxes]
        targets = self.encode_single(ember.cat(reference_boxes, dim=0), ember.cat(proposals, dim=0))
        return targets.split(boxes_per_image, 0)

    def encode_single(self, reference_boxes: ember.Tensor, proposals: ember.Tensor) -> ember.Tensor:
        weights = ember.as_tensor(self.weights, dtype=reference_boxes.dtype, device=reference_boxes.device)
        return encode_boxes(reference_boxes, proposals, weights)

    def decode(self, rel_codes: ember.Tensor, boxes: list[ember.Tensor]) -> ember.Tensor:
        if not isinstance(boxes, (list, tuple)):
            raise AssertionError("This function expects boxes of type list or tuple.")
        if not isinstance(rel_codes, ember.Tensor):
            raise AssertionError("This function expects rel_codes of type torch.Tensor.")
        box_sum = sum(b.size(0) for b in boxes)
        if box_sum > 0:
            rel_codes = rel_codes.reshape(box_sum, -1)
        pred_boxes = self.decode_single(rel_codes, ember.cat(list(boxes), dim=0))
        return pred_boxes.reshape(box_sum, -1, 4) if box_sum > 0 else pred_boxes

    def decode_single(self, rel_codes: ember.Tensor, boxes: ember.Tensor) -> ember.Tensor:
        boxes = boxes.to(rel_codes.dtype)
        widths = boxes[:, 2] - boxes[:, 0]
        heights = boxes[:, 3] - boxes[:, 1]
        ctr_x = boxes[:, 0] + 0.5 * widths
        ctr_y = boxes[:, 1] + 0.5 * heights
        wx, wy, ww, wh = self.weights
        dx = rel_codes[:, 0::4] / wx
        dy = rel_codes[:, 1::4] / wy
        dw = ember.clamp(rel_codes[:, 2::4] / ww, max=self.bbox_xform_clip)
        dh = ember.clamp(rel_codes[:, 3::4] / wh, max=self.bbox_xform_clip)
        pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
        pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
        half_w = 0.5 * (ember.exp(dw) * widths[:, None])
        half_h = 0.5 * (ember.exp(dh) * heights[:, None])
        pred = ember.stack((pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h), dim=2)
        return pred.flatten(1)


class BoxLinearCoder:
    """FCOS's coder: distances from the box centre to the four sides (optionally over the box size)."""

    def __init__(self, normalize_by_size: bool = True) -> None:
        self.normalize_by_size = normalize_by_size

    def _size(self, boxes: ember.Tensor) -> ember.Tensor:
        w = boxes[..., 2] - boxes[..., 0]
        h = boxes[..., 3] - boxes[..., 1]
        return ember.stack((w, h, w, h), dim=-1)

    def encode(self, reference_boxes: ember.Tensor, proposals: ember.Tensor) -> ember.Tensor:
        cx = 0.5 * (reference_boxes[..., 0] + reference_boxes[..., 2])
        cy = 0.5 * (reference_boxes[..., 1] + reference_boxes[..., 3])
        targets = ember.stack((cx - proposals[..., 0], cy - proposals[..., 1], proposals[..., 2] - cx,
                               proposals[..., 3] - cy), dim=-1)
        return targets / self._size(reference_boxes) if self.normalize_by_size else targets

    def decode(self, rel_codes: ember.Tensor, boxes: ember.Tensor) -> ember.Tensor:
        boxes = boxes.to(dtype=rel_codes.dtype)
        cx = 0.5 * (boxes[..., 0] + boxes[..., 2])
        cy = 0.5 * (boxes[..., 1] + boxes[..., 3])
        if self.normalize_by_size:
            rel_codes = rel_codes * self._size(boxes)
        return ember.stack((cx - rel_codes[..., 0], cy - rel_codes[..., 1], cx + rel_codes[..., 2],
                            cy + rel_codes[..., 3]), dim=-1)


class Matcher:
    """Assigns each prediction (column of an ``[M gt, N pred]`` quality matrix) its best ground truth:
    the gt index when the quality is ``>= high_threshold``, ``BELOW_LOW_THRESHOLD`` (-1) below
    ``low_threshold``, ``BETWEEN_THRESHOLDS`` (-2) in between. ``allow_low_quality_matches`` keeps, for
    each gt, the predictions tied for its highest quality matched to their best gt."""

    BELOW_LOW_THRESHOLD = -1
    BETWEEN_THRESHOLDS = -2

    def __init__(self, high_threshold: float, low_threshold: float, allow_low_quality_matches: bool = False) -> None:
        if low_threshold > high_threshold:
            raise AssertionError("low_threshold should be <= high_threshold")
        self.high_threshold = high_threshold
        self.low_threshold = low_threshold
        self.allow_low_quality_matches = allow_low_quality_matches

    def __call__(self, match_quality_matrix: ember.Tensor) -> ember.Tensor:
        if match_quality_matrix.numel() == 0:
            if match_quality_matrix.shape[0] == 0:
                raise ValueError("No ground-truth boxes available for one of the images during training")
            raise ValueError("No proposal boxes available for one of the images during training")
        matched_vals, matches = match_quality_matrix.max(dim=0)
        all_matches = matches.clone() if self.allow_low_quality_matches else None
        below = matched_vals < self.low_threshold
        between = (matched_vals >= self.low_threshold) & (matched_vals < self.high_threshold)
        matches[below] = self.BELOW_LOW_THRESHOLD
        matches[between] = self.BETWEEN_THRESHOLDS
        if all_matches is not None:
            self.set_low_quality_matches_(matches, all_matches, match_quality_matrix)
        return matches

    def set_low_quality_matches_(self, matches: ember.Tensor, all_matches: ember.Tensor,
                                 match_quality_matrix: ember.Tensor) -> None:
        highest_quality_foreach_gt, _ = match_quality_matrix.max(dim=1)
        pairs = ember.where(match_quality_matrix == highest_quality_foreach_gt[:, None])
        pred_inds_to_update = pairs[1]
        matches[pred_inds_to_update] = all_matches[pred_inds_to_update]


class SSDMatcher(Matcher):
    """SSD's matcher: one threshold, and every gt also claims its best prediction."""

    def __init__(self, threshold: float) -> None:
        super().__init__(threshold, threshold, allow_low_quality_matches=False)

    def __call__(self, match_quality_matrix: ember.Tensor) -> ember.Tensor:
        matches = super().__call__(match_quality_matrix)
        _, best_pred_foreach_gt = match_quality_matrix.max(dim=1)
        matches[best_pred_foreach_gt] = ember.arange(best_pred_foreach_gt.size(0), dtype=ember.int64,
                                                     device=best_pred_foreach_gt.device)
        return matches


def overwrite_eps(model: nn.Module, eps: float) -> None:
    """Sets ``eps`` of every FrozenBatchNorm2d (the COCO_V1 checkpoints were trained with eps 0)."""
    for module in model.modules():
        if isinstance(module, FrozenBatchNorm2d):
            module.eps = eps


def retrieve_out_channels(model: nn.Module, size: tuple[int, int]) -> list[int]:
    """The channels of each output of ``model`` on a zero image of ``size`` (width, height)."""
    in_training = model.training
    model.eval()
    with ember.no_grad():
        device = next(model.parameters()).device
        features = model(ember.zeros((1, 3, size[1], size[0]), device=device))
        if isinstance(features, ember.Tensor):
            features = OrderedDict([("0", features)])
        out_channels = [x.size(1) for x in features.values()]
    if in_training:
        model.train()
    return out_channels


def _topk_min(input: ember.Tensor, orig_kval: int, axis: int) -> int:
    return min(orig_kval, input.size(axis))


def _box_loss(type: str, box_coder: BoxCoder, anchors_per_image: ember.Tensor,
              matched_gt_boxes_per_image: ember.Tensor, bbox_regression_per_image: ember.Tensor,
              cnf: dict[str, float] | None = None) -> ember.Tensor:
    if type not in ("l1", "smooth_l1", "ciou", "diou", "giou"):
        raise AssertionError(f"Unsupported loss: {type}")
    if type in ("l1", "smooth_l1"):
        target = box_coder.encode_single(matched_gt_boxes_per_image, anchors_per_image)
        if type == "l1":
            return F.l1_loss(bbox_regression_per_image, target, reduction="sum")
        beta = cnf["beta"] if cnf is not None and "beta" in cnf else 1.0
        return F.smooth_l1_loss(bbox_regression_per_image, target, reduction="sum", beta=beta)
    boxes = box_coder.decode_single(bbox_regression_per_image, anchors_per_image)
    eps = cnf["eps"] if cnf is not None and "eps" in cnf else 1e-7
    loss = {"ciou": complete_box_iou_loss, "diou": distance_box_iou_loss, "giou": generalized_box_iou_loss}[type]
    return loss(boxes, matched_gt_boxes_per_image, reduction="sum", eps=eps)
