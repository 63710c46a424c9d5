"""The second stage of the R-CNN detectors: per-proposal box classification and regression, and the
optional mask (Mask R-CNN) and keypoint (Keypoint R-CNN) branches, with their losses and inference.

Example:
    >>> import ember
    >>> cls, reg = ember.tensor([[2.0, 0.0]]), ember.zeros(1, 8)
    >>> [round(float(v), 4) for v in fastrcnn_loss(cls, reg, [ember.tensor([0])], [ember.zeros(1, 4)])]
    [0.1269, 0.0]
"""

from __future__ import annotations

from typing import Any

import ember
import ember.nn.functional as F
from ember import nn

from ...ops import boxes as box_ops
from ...ops import roi_align
from . import _utils as det_utils

__all__ = ["RoIHeads", "fastrcnn_loss", "maskrcnn_loss", "maskrcnn_inference", "keypointrcnn_loss",
           "keypointrcnn_inference", "paste_masks_in_image", "expand_boxes", "expand_masks",
           "keypoints_to_heatmap", "heatmaps_to_keypoints", "project_masks_on_boxes"]


def fastrcnn_loss(class_logits: ember.Tensor, box_regression: ember.Tensor, labels: list[ember.Tensor],
                  regression_targets: list[ember.Tensor]) -> tuple[ember.Tensor, ember.Tensor]:
    """Cross entropy over all sampled proposals, and smooth L1 (beta 1/9) of the positives' deltas for
    their own class, summed and divided by the number of proposals."""
    labels = ember.cat(labels, dim=0)
    regression_targets = ember.cat(regression_targets, dim=0)
    classification_loss = F.cross_entropy(class_logits, labels)
    pos = ember.where(labels > 0)[0]
    labels_pos = labels[pos]
    N = class_logits.shape[0]  # noqa: N806
    box_regression = box_regression.reshape(N, box_regression.size(-1) // 4, 4)
    box_loss = F.smooth_l1_loss(box_regression[pos, labels_pos], regression_targets[pos], beta=1 / 9,
                                reduction="sum")
    return classification_loss, box_loss / labels.numel()


def maskrcnn_inference(x: ember.Tensor, labels: list[ember.Tensor]) -> tuple[ember.Tensor, ...]:
    """The sigmoid mask of each detection's own class, ``[K, 1, M, M]``, split per image."""
    mask_prob = x.sigmoid()
    boxes_per_image = [label.shape[0] for label in labels]
    labels = ember.cat(labels)
    index = ember.arange(x.shape[0], device=labels.device)
    return mask_prob[index, labels][:, None].split(boxes_per_image, dim=0)


def project_masks_on_boxes(gt_masks: ember.Tensor, boxes: ember.Tensor, matched_idxs: ember.Tensor,
                           M: int) -> ember.Tensor:  # noqa: N803
    """Each proposal's matched gt mask cropped to the proposal and resampled to ``M x M`` (RoI Align)."""
    matched_idxs = matched_idxs.to(boxes)
    rois = ember.cat([matched_idxs[:, None], boxes], dim=1)
    gt_masks = gt_masks[:, None].to(rois)
    return roi_align(gt_masks, rois, (M, M), 1.0)[:, 0]


def maskrcnn_loss(mask_logits: ember.Tensor, proposals: list[ember.Tensor], gt_masks: list[ember.Tensor],
                  gt_labels: list[ember.Tensor], mask_matched_idxs: list[ember.Tensor]) -> ember.Tensor:
    """Binary cross entropy of each positive proposal's mask logits for its gt class."""
    size = mask_logits.shape[-1]
    labels = [gt_label[idxs] for gt_label, idxs in zip(gt_labels, mask_matched_idxs)]
    mask_targets = [project_masks_on_boxes(m, p, i, size) for m, p, i in zip(gt_masks, proposals, mask_matched_idxs)]
    labels = ember.cat(labels, dim=0)
    mask_targets = ember.cat(mask_targets, dim=0)
    if mask_targets.numel() == 0:
        return mask_logits.sum() * 0
    return F.binary_cross_entropy_with_logits(
        mask_logits[ember.arange(labels.shape[0], device=labels.device), labels], mask_targets)


def keypoints_to_heatmap(keypoints: ember.Tensor, rois: ember.Tensor,
                         heatmap_size: int) -> tuple[ember.Tensor, ember.Tensor]:
    """The flat heatmap index of each keypoint inside its roi, and whether it is visible and inside."""
    offset_x, offset_y = rois[:, 0][:, None], rois[:, 1][:, None]
    scale_x = (heatmap_size / (rois[:, 2] - rois[:, 0]))[:, None]
    scale_y = (heatmap_size / (rois[:, 3] - rois[:, 1]))[:, None]
    x, y = keypoints[..., 0], keypoints[..., 1]
    x_boundary = x == rois[:, 2][:, None]
    y_boundary = y == rois[:, 3][:, None]
    x = ((x - offset_x) * scale_x).floor().long()
    y = ((y - offset_y) * scale_y).floor().long()
    x[x_boundary] = heatmap_size - 1
    y[y_boundary] = heatmap_size - 1
    valid_loc = (x >= 0) & (y >= 0) & (x < heatmap_size) & (y < heatmap_size)
    valid = (valid_loc & (keypoints[..., 2] > 0)).long()
    return (y * heatmap_size + x) * valid, valid


def heatmaps_to_keypoints(maps: ember.Tensor, rois: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
    """Keypoint locations ``[R, K, 3]`` (x, y, 1) and scores ``[R, K]``: each heatmap is resized
    (bicubic) to its roi's size and its argmax taken at the pixel centre."""
    offset_x, offset_y = rois[:, 0], rois[:, 1]
    widths = (rois[:, 2] - rois[:, 0]).clamp(min=1)
    heights = (rois[:, 3] - rois[:, 1]).clamp(min=1)
    widths_ceil, heights_ceil = widths.ceil(), heights.ceil()
    num_keypoints = maps.shape[1]
    xy_preds = ember.zeros((len(rois), 3, num_keypoints), dtype=ember.float32, device=maps.device)
    end_scores = ember.zeros((len(rois), num_keypoints), dtype=ember.float32, device=maps.device)
    for i in range(len(rois)):
        roi_w, roi_h = int(widths_ceil[i].item()), int(heights_ceil[i].item())
        width_correction = widths[i] / roi_w
        height_correction = heights[i] / roi_h
        roi_map = F.interpolate(maps[i][:, None], size=(roi_h, roi_w), mode="bicubic", align_corners=False)[:, 0]
        w = roi_map.shape[2]
        pos = roi_map.reshape(num_keypoints, -1).argmax(dim=1)
        x_int = pos % w
        y_int = ember.div(pos - x_int, w, rounding_mode="floor")
        xy_preds[i, 0, :] = (x_int.float() + 0.5) * width_correction + offset_x[i]
        xy_preds[i, 1, :] = (y_int.float() + 0.5) * height_correction + offset_y[i]
        xy_preds[i, 2, :] = 1
        end_scores[i, :] = roi_map[ember.arange(num_keypoints, device=roi_map.device), y_int, x_int]
    return xy_preds.permute(0, 2, 1), end_scores


def keypointrcnn_loss(keypoint_logits: ember.Tensor, proposals: list[ember.Tensor],
                      gt_keypoints: list[ember.Tensor], keypoint_matched_idxs: list[ember.Tensor]) -> ember.Tensor:
    """Cross entropy over each visible keypoint's heatmap (a softmax over its ``H*W`` cells)."""
    N, K, H, W = keypoint_logits.shape  # noqa: N806
    if H != W:
        raise ValueError("keypoint_logits height and width (last two elements of shape) should be equal. "
                         f"Instead got H = {H} and W = {W}")
    heatmaps, valid = [], []
    for props, gt_kp, midx in zip(proposals, gt_keypoints, keypoint_matched_idxs):
        hm, v = keypoints_to_heatmap(gt_kp[midx], props, H)
        heatmaps.append(hm.view(-1))
        valid.append(v.view(-1))
    keypoint_targets = ember.cat(heatmaps, dim=0)
    valid = ember.where(ember.cat(valid, dim=0).to(dtype=ember.uint8))[0]
    if keypoint_targets.numel() == 0 or len(valid) == 0:
        return keypoint_logits.sum() * 0
    return F.cross_entropy(keypoint_logits.view(N * K, H * W)[valid], keypoint_targets[valid])


def keypointrcnn_inference(x: ember.Tensor, boxes: list[ember.Tensor]) -> tuple[list[ember.Tensor], list[ember.Tensor]]:
    kp_probs, kp_scores = [], []
    for xx, bb in zip(x.split([b.size(0) for b in boxes], dim=0), boxes):
        prob, scores = heatmaps_to_keypoints(xx, bb)
        kp_probs.append(prob)
        kp_scores.append(scores)
    return kp_probs, kp_scores


def expand_boxes(boxes: ember.Tensor, scale: float) -> ember.Tensor:
    """Boxes scaled by ``scale`` about their centres."""
    w_half = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale
    h_half = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale
    x_c = (boxes[:, 2] + boxes[:, 0]) * 0.5
    y_c = (boxes[:, 3] + boxes[:, 1]) * 0.5
    return ember.stack((x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half), dim=1)


def expand_masks(mask: ember.Tensor, padding: int) -> tuple[ember.Tensor, float]:
    M = mask.shape[-1]  # noqa: N806
    return F.pad(mask, (padding,) * 4), float(M + 2 * padding) / M


def paste_mask_in_image(mask: ember.Tensor, box: Any, im_h: int, im_w: int) -> ember.Tensor:
    x0b, y0b, x1b, y1b = (int(v) for v in box.tolist())
    w, h = max(x1b - x0b + 1, 1), max(y1b - y0b + 1, 1)
    mask = F.interpolate(mask.expand((1, 1, -1, -1)), size=(h, w), mode="bilinear", align_corners=False)[0][0]
    im_mask = ember.zeros((im_h, im_w), dtype=mask.dtype, device=mask.device)
    x_0, x_1 = max(x0b, 0), min(x1b + 1, im_w)
    y_0, y_1 = max(y0b, 0), min(y1b + 1, im_h)
    if x_1 > x_0 and y_1 > y_0:
        im_mask[y_0:y_1, x_0:x_1] = mask[(y_0 - y0b):(y_1 - y0b), (x_0 - x0b):(x_1 - x0b)]
    return im_mask


def paste_masks_in_image(masks: ember.Tensor, boxes: ember.Tensor, img_shape: tuple[int, int],
                         padding: int = 1) -> ember.Tensor:
    """``[K, 1, M, M]`` masks pasted into ``[K, 1, H, W]`` images, each resized (bilinear) to its box
    (the masks padded by ``padding`` and the boxes grown to match, then truncated to ints)."""
    masks, scale = expand_masks(masks, padding=padding)
    boxes = expand_boxes(boxes, scale).to(dtype=ember.int64)
    im_h, im_w = img_shape
    res = [paste_mask_in_image(m[0], b, im_h, im_w) for m, b in zip(masks, boxes)]
    if res:
        return ember.stack(res, dim=0)[:, None]
    return masks.new_empty((0, 1, im_h, im_w))


class RoIHeads(nn.Module):
    """Pools each proposal's features (``box_roi_pool``), runs ``box_head`` and ``box_predictor``; in
    training samples proposals (gt boxes added) and returns ``loss_classifier``/``loss_box_reg``
    (plus ``loss_mask``/``loss_keypoint`` with those branches), in eval the per-image detections
    after score threshold, per-class NMS and ``detections_per_img``."""

    def __init__(self, box_roi_pool: nn.Module, box_head: nn.Module, box_predictor: nn.Module,
                 fg_iou_thresh: float, bg_iou_thresh: float, batch_size_per_image: int, positive_fraction: float,
                 bbox_reg_weights: tuple[float, float, float, float] | None, score_thresh: float, nms_thresh: float,
                 detections_per_img: int, mask_roi_pool: nn.Module | None = None, mask_head: nn.Module | None = None,
                 mask_predictor: nn.Module | None = None, keypoint_roi_pool: nn.Module | None = None,
                 keypoint_head: nn.Module | None = None, keypoint_predictor: nn.Module | None = None) -> None:
        super().__init__()
        self.box_similarity = box_ops.box_iou
        self.proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh, allow_low_quality_matches=False)
        self.fg_bg_sampler = det_utils.BalancedPositiveNegativeSampler(batch_size_per_image, positive_fraction)
        if bbox_reg_weights is None:
            bbox_reg_weights = (10.0, 10.0, 5.0, 5.0)
        self.box_coder = det_utils.BoxCoder(bbox_reg_weights)
        self.box_roi_pool = box_roi_pool
        self.box_head = box_head
        self.box_predictor = box_predictor
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.mask_roi_pool = mask_roi_pool
        self.mask_head = mask_head
        self.mask_predictor = mask_predictor
        self.keypoint_roi_pool = keypoint_roi_pool
        self.keypoint_head = keypoint_head
        self.keypoint_predictor = keypoint_predictor

    def has_mask(self) -> bool:
        return not (self.mask_roi_pool is None or self.mask_head is None or self.mask_predictor is None)

    def has_keypoint(self) -> bool:
        return not (self.keypoint_roi_pool is None or self.keypoint_head is None or self.keypoint_predictor is None)

    def assign_targets_to_proposals(self, proposals: list[ember.Tensor], gt_boxes: list[ember.Tensor],
                                    gt_labels: list[ember.Tensor]) -> tuple[list[ember.Tensor], list[ember.Tensor]]:
        matched_idxs, labels = [], []
        for props, gt_b, gt_l in zip(proposals, gt_boxes, gt_labels):
            if gt_b.numel() == 0:  # background-only image
                clamped = ember.zeros((props.shape[0],), dtype=ember.int64, device=props.device)
                labels_in_image = ember.zeros((props.shape[0],), dtype=ember.int64, device=props.device)
            else:
                matched = self.proposal_matcher(box_ops.box_iou(gt_b, props))
                clamped = matched.clamp(min=0)
                labels_in_image = gt_l[clamped].to(dtype=ember.int64)
                labels_in_image[matched == self.proposal_matcher.BELOW_LOW_THRESHOLD] = 0
                labels_in_image[matched == self.proposal_matcher.BETWEEN_THRESHOLDS] = -1  # ignored by the sampler
            matched_idxs.append(clamped)
            labels.append(labels_in_image)
        return matched_idxs, labels

    def subsample(self, labels: list[ember.Tensor]) -> list[ember.Tensor]:
        pos, neg = self.fg_bg_sampler(labels)
        return [ember.where(p | n)[0] for p, n in zip(pos, neg)]

    def add_gt_proposals(self, proposals: list[ember.Tensor], gt_boxes: list[ember.Tensor]) -> list[ember.Tensor]:
        return [ember.cat((p, g)) for p, g in zip(proposals, gt_boxes)]

    def check_targets(self, targets: list[dict[str, ember.Tensor]] | None) -> None:
        if targets is None:
            raise ValueError("targets should not be None")
        if not all("boxes" in t for t in targets):
            raise ValueError("Every element of targets should have a boxes key")
        if not all("labels" in t for t in targets):
            raise ValueError("Every element of targets should have a labels key")
        if self.has_mask() and not all("masks" in t for t in targets):
            raise ValueError("Every element of targets should have a masks key")

    def select_training_samples(self, proposals: list[ember.Tensor], targets: list[dict[str, ember.Tensor]] | None
                                ) -> tuple[list[ember.Tensor], list[ember.Tensor], list[ember.Tensor],
                                           tuple[ember.Tensor, ...]]:
        self.check_targets(targets)
        dtype, device = proposals[0].dtype, proposals[0].device
        gt_boxes = [t["boxes"].to(dtype) for t in targets]
        gt_labels = [t["labels"] for t in targets]
        proposals = self.add_gt_proposals(proposals, gt_boxes)
        matched_idxs, labels = self.assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        sampled_inds = self.subsample(labels)
        matched_gt_boxes = []
        for img_id, inds in enumerate(sampled_inds):
            proposals[img_id] = proposals[img_id][inds]
            labels[img_id] = labels[img_id][inds]
            matched_idxs[img_id] = matched_idxs[img_id][inds]
            gt = gt_boxes[img_id]
            if gt.numel() == 0:
                gt = ember.zeros((1, 4), dtype=dtype, device=device)
            matched_gt_boxes.append(gt[matched_idxs[img_id]])
        regression_targets = self.box_coder.encode(matched_gt_boxes, proposals)
        return proposals, matched_idxs, labels, regression_targets

    def postprocess_detections(self, class_logits: ember.Tensor, box_regression: ember.Tensor,
                               proposals: list[ember.Tensor], image_shapes: list[tuple[int, int]]
                               ) -> tuple[list[ember.Tensor], list[ember.Tensor], list[ember.Tensor]]:
        device = class_logits.device
        num_classes = class_logits.shape[-1]
        boxes_per_image = [p.shape[0] for p in proposals]
        pred_boxes = self.box_coder.decode(box_regression, proposals)
        pred_scores = F.softmax(class_logits, -1)
        all_boxes, all_scores, all_labels = [], [], []
        for boxes, scores, image_shape in zip(pred_boxes.split(boxes_per_image, 0),
                                              pred_scores.split(boxes_per_image, 0), image_shapes):
            boxes = box_ops.clip_boxes_to_image(boxes, image_shape)
            labels = ember.arange(num_classes, device=device).view(1, -1).expand_as(scores)
            # one candidate per (proposal, class), the background class dropped
            boxes = boxes[:, 1:].reshape(-1, 4)
            scores = scores[:, 1:].reshape(-1)
            labels = labels[:, 1:].reshape(-1)
            inds = ember.where(scores > self.score_thresh)[0]
            boxes, scores, labels = boxes[inds], scores[inds], labels[inds]
            keep = box_ops.remove_small_boxes(boxes, min_size=1e-2)
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)[: self.detections_per_img]
            all_boxes.append(boxes[keep])
            all_scores.append(scores[keep])
            all_labels.append(labels[keep])
        return all_boxes, all_scores, all_labels

    def forward(self, features: dict[str, ember.Tensor], proposals: list[ember.Tensor],
                image_shapes: list[tuple[int, int]], targets: list[dict[str, ember.Tensor]] | None = None
                ) -> tuple[list[dict[str, ember.Tensor]], dict[str, ember.Tensor]]:
        if targets is not None:
            for t in targets:
                if t["boxes"].dtype not in (ember.float32, ember.float64, ember.float16):
                    raise TypeError(f"target boxes must of float type, instead got {t['boxes'].dtype}")
                if t["labels"].dtype != ember.int64:
                    raise TypeError(f"target labels must of int64 type, instead got {t['labels'].dtype}")
                if self.has_keypoint() and t["keypoints"].dtype != ember.float32:
                    raise TypeError(f"target keypoints must of float type, instead got {t['keypoints'].dtype}")
        labels = regression_targets = matched_idxs = None
        if self.training:
            proposals, matched_idxs, labels, regression_targets = self.select_training_samples(proposals, targets)
        box_features = self.box_head(self.box_roi_pool(features, proposals, image_shapes))
        class_logits, box_regression = self.box_predictor(box_features)
        result: list[dict[str, ember.Tensor]] = []
        losses: dict[str, ember.Tensor] = {}
        if self.training:
            loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression, labels, regression_targets)
            losses = {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        else:
            boxes, scores, labels = self.postprocess_detections(class_logits, box_regression, proposals, image_shapes)
            result = [{"boxes": b, "labels": lab, "scores": s} for b, s, lab in zip(boxes, scores, labels)]

        def positives() -> tuple[list[ember.Tensor], list[ember.Tensor]]:
            props, idxs = [], []
            for img_id in range(len(proposals)):
                pos = ember.where(labels[img_id] > 0)[0]
                props.append(proposals[img_id][pos])
                idxs.append(matched_idxs[img_id][pos])
            return props, idxs

        if self.has_mask():
            if self.training:
                mask_proposals, pos_matched_idxs = positives()
            else:
                mask_proposals = [p["boxes"] for p in result]
            mask_logits = self.mask_predictor(self.mask_head(self.mask_roi_pool(features, mask_proposals,
                                                                                image_shapes)))
            if self.training:
                losses["loss_mask"] = maskrcnn_loss(mask_logits, mask_proposals, [t["masks"] for t in targets],
                                                    [t["labels"] for t in targets], pos_matched_idxs)
            else:
                for mask_prob, r in zip(maskrcnn_inference(mask_logits, [r["labels"] for r in result]), result):
                    r["masks"] = mask_prob
        if self.has_keypoint():
            if self.training:
                kp_proposals, pos_matched_idxs = positives()
            else:
                kp_proposals = [p["boxes"] for p in result]
            kp_logits = self.keypoint_predictor(self.keypoint_head(self.keypoint_roi_pool(features, kp_proposals,
                                                                                          image_shapes)))
            if self.training:
                losses["loss_keypoint"] = keypointrcnn_loss(kp_logits, kp_proposals,
                                                            [t["keypoints"] for t in targets], pos_matched_idxs)
            else:
                probs, kp_scores = keypointrcnn_inference(kp_logits, kp_proposals)
                for prob, kps, r in zip(probs, kp_scores, result):
                    r["keypoints"] = prob
                    r["keypoints_scores"] = kps
        return result, losses
