"""FCOS (https://arxiv.org/abs/1904.01355): an anchor-free one-stage detector (one point per feature
cell, class logits, distances to the box sides and a centerness score), as torchvision builds it.

Example:
    >>> import ember
    >>> m = fcos_resnet50_fpn(weights_backbone=None, num_classes=3, min_size=64, max_size=64).eval()
    >>> out = m([ember.rand(3, 48, 64)])
    >>> sorted(out[0])
    ['boxes', 'labels', 'scores']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import ember
import ember.nn.functional as F
from ember import nn

from ...ops import generalized_box_iou_loss, sigmoid_focal_loss
from ...ops import misc as misc_nn_ops
from ...ops.feature_pyramid_network import LastLevelP6P7
from .._registry import register_model
from .._weights import ResNet50_Weights
from ..resnet import resnet50
from . import _utils as det_utils
from ._weights import FCOS_ResNet50_FPN_Weights
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _load, _resolve
from .retinanet import _flatten_level, _nms_detections, _topk_level, _transform_and_features
from .transform import GeneralizedRCNNTransform

__all__ = ["FCOS", "FCOSHead", "FCOSClassificationHead", "FCOSRegressionHead", "fcos_resnet50_fpn",
           "FCOS_ResNet50_FPN_Weights"]


def _tower(in_channels: int, num_convs: int, norm_layer: Callable[..., nn.Module] | None) -> nn.Sequential:
    norm_layer = norm_layer or partial(nn.GroupNorm, 32)
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1), norm_layer(in_channels),
                   nn.ReLU()]
    conv = nn.Sequential(*layers)
    for layer in conv.children():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.constant_(layer.bias, 0)
    return conv


class FCOSClassificationHead(nn.Module):
    """``num_convs`` conv-GroupNorm-ReLU layers, then per-location class logits (bias at the prior)."""

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int, num_convs: int = 4,
                 prior_probability: float = 0.01, norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.conv = _tower(in_channels, num_convs, norm_layer)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3, stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_probability) / prior_probability))

    def forward(self, x: list[ember.Tensor]) -> ember.Tensor:
        return ember.cat([_flatten_level(self.cls_logits(self.conv(f)), self.num_classes) for f in x], dim=1)


class FCOSRegressionHead(nn.Module):
    """``num_convs`` conv-GroupNorm-ReLU layers, then ReLU'd side distances and a centerness logit."""

    def __init__(self, in_channels: int, num_anchors: int, num_convs: int = 4,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self.conv = _tower(in_channels, num_convs, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1, padding=1)
        self.bbox_ctrness = nn.Conv2d(in_channels, num_anchors * 1, kernel_size=3, stride=1, padding=1)
        for layer in (self.bbox_reg, self.bbox_ctrness):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, x: list[ember.Tensor]) -> tuple[ember.Tensor, ember.Tensor]:
        regs, ctrs = [], []
        for f in x:
            feat = self.conv(f)
            regs.append(_flatten_level(F.relu(self.bbox_reg(feat)), 4))
            ctrs.append(_flatten_level(self.bbox_ctrness(feat), 1))
        return ember.cat(regs, dim=1), ember.cat(ctrs, dim=1)


class FCOSHead(nn.Module):
    """The classification and regression heads; the losses are the focal loss, GIoU of the decoded
    boxes and the centerness BCE, each summed over the foreground points and divided by their number."""

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int, num_convs: int | None = 4) -> None:
        super().__init__()
        self.box_coder = det_utils.BoxLinearCoder(normalize_by_size=True)
        self.classification_head = FCOSClassificationHead(in_channels, num_anchors, num_classes, num_convs)
        self.regression_head = FCOSRegressionHead(in_channels, num_anchors, num_convs)

    def compute_loss(self, targets: list[dict[str, ember.Tensor]], head_outputs: dict[str, ember.Tensor],
                     anchors: list[ember.Tensor], matched_idxs: list[ember.Tensor]) -> dict[str, ember.Tensor]:
        cls_logits = head_outputs["cls_logits"]
        gt_classes, gt_boxes = [], []
        for tgt, matched in zip(targets, matched_idxs):
            if len(tgt["labels"]) == 0:
                classes = tgt["labels"].new_zeros((len(matched),))
                boxes = tgt["boxes"].new_zeros((len(matched), 4))
            else:
                classes = tgt["labels"][matched.clip(min=0)]
                boxes = tgt["boxes"][matched.clip(min=0)]
            classes[matched < 0] = -1  # background
            gt_classes.append(classes)
            gt_boxes.append(boxes)
        gt_boxes, gt_classes, anchors = ember.stack(gt_boxes), ember.stack(gt_classes), ember.stack(anchors)
        foreground = gt_classes >= 0
        num_foreground = int(foreground.sum().item())
        img_idx, pt_idx = ember.where(foreground)
        cls_targets = ember.zeros_like(cls_logits)
        cls_targets[img_idx, pt_idx, gt_classes[img_idx, pt_idx]] = 1.0
        loss_cls = sigmoid_focal_loss(cls_logits, cls_targets, reduction="sum")
        pred_boxes = self.box_coder.decode(head_outputs["bbox_regression"], anchors)
        loss_bbox_reg = generalized_box_iou_loss(pred_boxes[foreground], gt_boxes[foreground], reduction="sum")
        reg_targets = self.box_coder.encode(anchors, gt_boxes)
        if len(reg_targets) == 0:
            ctrness_targets = reg_targets.new_zeros(reg_targets.size()[:-1])
        else:
            lft, top, rgt, bot = reg_targets.unbind(-1)
            ctrness_targets = ember.sqrt((ember.minimum(lft, rgt) / ember.maximum(lft, rgt))
                                         * (ember.minimum(top, bot) / ember.maximum(top, bot)))
        pred_ctrness = head_outputs["bbox_ctrness"].squeeze(dim=2)
        loss_ctrness = F.binary_cross_entropy_with_logits(pred_ctrness[foreground], ctrness_targets[foreground],
                                                          reduction="sum")
        n = max(1, num_foreground)
        return {"classification": loss_cls / n, "bbox_regression": loss_bbox_reg / n, "bbox_ctrness": loss_ctrness / n}

    def forward(self, x: list[ember.Tensor]) -> dict[str, ember.Tensor]:
        bbox_regression, bbox_ctrness = self.regression_head(x)
        return {"cls_logits": self.classification_head(x), "bbox_regression": bbox_regression,
                "bbox_ctrness": bbox_ctrness}


class FCOS(nn.Module):
    """FCOS over ``backbone``. A point is matched to the smallest gt box whose centre region
    (``center_sampling_radius`` strides) contains it and whose size fits its level; eval scores are
    ``sqrt(sigmoid(class) * sigmoid(centerness))``."""

    def __init__(self, backbone: nn.Module, num_classes: int, min_size: int = 800, max_size: int = 1333,
                 image_mean: list[float] | None = None, image_std: list[float] | None = None,
                 anchor_generator: AnchorGenerator | None = None, head: nn.Module | None = None,
                 center_sampling_radius: float = 1.5, score_thresh: float = 0.2, nms_thresh: float = 0.6,
                 detections_per_img: int = 100, topk_candidates: int = 1000, **kwargs: Any) -> None:
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the number of output "
                             "channels (assumed to be the same for all the levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError(f"anchor_generator should be of type AnchorGenerator or None, instead  got "
                            f"{type(anchor_generator)}")
        if anchor_generator is None:
            anchor_sizes = ((8,), (16,), (32,), (64,), (128,))  # the strides of the levels: one point per cell
            anchor_generator = AnchorGenerator(anchor_sizes, ((1.0,),) * len(anchor_sizes))
        self.anchor_generator = anchor_generator
        if self.anchor_generator.num_anchors_per_location()[0] != 1:
            raise ValueError("anchor_generator.num_anchors_per_location()[0] should be 1 instead of "
                             f"{anchor_generator.num_anchors_per_location()[0]}")
        if head is None:
            head = FCOSHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0], num_classes)
        self.head = head
        self.box_coder = det_utils.BoxLinearCoder(normalize_by_size=True)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std, **kwargs)
        self.center_sampling_radius = center_sampling_radius
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False

    def eager_outputs(self, losses: dict[str, ember.Tensor], detections: list[dict[str, ember.Tensor]]) -> Any:
        return losses if self.training else detections

    def compute_loss(self, targets: list[dict[str, ember.Tensor]], head_outputs: dict[str, ember.Tensor],
                     anchors: list[ember.Tensor], num_anchors_per_level: list[int]) -> dict[str, ember.Tensor]:
        matched_idxs = []
        for anc, tgt in zip(anchors, targets):
            if tgt["boxes"].numel() == 0:
                matched_idxs.append(ember.full((anc.size(0),), -1, dtype=ember.int64, device=anc.device))
                continue
            gt = tgt["boxes"]
            gt_centers = (gt[:, :2] + gt[:, 2:]) / 2
            centers = (anc[:, :2] + anc[:, 2:]) / 2
            sizes = anc[:, 2] - anc[:, 0]
            # inside the gt's centre region ...
            match = (centers[:, None, :] - gt_centers[None, :, :]).abs().max(dim=2).values < \
                self.center_sampling_radius * sizes[:, None]
            x, y = centers.unsqueeze(dim=2).unbind(dim=1)
            x0, y0, x1, y1 = gt.unsqueeze(dim=0).unbind(dim=2)
            dist = ember.stack([x - x0, y - y0, x1 - x, y1 - y], dim=2)
            # ... inside the box, with its largest side distance in this level's range
            match = match & (dist.min(dim=2).values > 0)
            lower = sizes * 4
            lower[: num_anchors_per_level[0]] = 0
            upper = sizes * 8
            upper[-num_anchors_per_level[-1]:] = float("inf")
            dist = dist.max(dim=2).values
            match = match & (dist > lower[:, None]) & (dist < upper[:, None])
            # the smallest matching box wins
            areas = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
            min_values, matched = (match.to(ember.float32) * (1e8 - areas[None, :])).max(dim=1)
            matched[min_values < 1e-5] = -1
            matched_idxs.append(matched)
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs: dict[str, list[ember.Tensor]], anchors: list[list[ember.Tensor]],
                               image_shapes: list[tuple[int, int]]) -> list[dict[str, ember.Tensor]]:
        detections = []
        for index, image_shape in enumerate(image_shapes):
            image_boxes, image_scores, image_labels = [], [], []
            for reg, logits, ctr, anc in zip([v[index] for v in head_outputs["bbox_regression"]],
                                             [v[index] for v in head_outputs["cls_logits"]],
                                             [v[index] for v in head_outputs["bbox_ctrness"]], anchors[index]):
                scores = ember.sqrt(ember.sigmoid(logits) * ember.sigmoid(ctr)).flatten()
                boxes, scores, labels = _topk_level(scores, reg, anc, logits.shape[-1], self.box_coder.decode,
                                                    self.score_thresh, self.topk_candidates, image_shape)
                image_boxes.append(boxes)
                image_scores.append(scores)
                image_labels.append(labels)
            detections.append(_nms_detections(image_boxes, image_scores, image_labels, self.nms_thresh,
                                              self.detections_per_img))
        return detections

    def forward(self, images: list[ember.Tensor], targets: list[dict[str, ember.Tensor]] | None = None) -> Any:
        if self.training:
            if targets is None:
                raise AssertionError("targets should not be none when in training mode")
            for target in targets:
                boxes = target["boxes"]
                if not isinstance(boxes, ember.Tensor):
                    raise AssertionError("Expected target boxes to be of type Tensor.")
                if not (len(boxes.shape) == 2 and boxes.shape[-1] == 4):
                    raise AssertionError(f"Expected target boxes to be a tensor of shape [N, 4], got {boxes.shape}.")
        original_image_sizes, images, targets, features = _transform_and_features(self, images, targets)
        head_outputs = self.head(features)
        anchors = self.anchor_generator(images, features)
        per_level = [x.size(2) * x.size(3) for x in features]
        if self.training:
            return self.eager_outputs(self.compute_loss(targets, head_outputs, anchors, per_level), [])
        split_outputs = {k: list(v.split(per_level, dim=1)) for k, v in head_outputs.items()}
        split_anchors = [list(a.split(per_level)) for a in anchors]
        detections = self.postprocess_detections(split_outputs, split_anchors, images.image_sizes)
        return self.eager_outputs({}, self.transform.postprocess(detections, images.image_sizes,
                                                                 original_image_sizes))


@register_model()
def fcos_resnet50_fpn(*, weights: FCOS_ResNet50_FPN_Weights | None = None, progress: bool = True,
                      num_classes: int | None = None,
                      weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                      trainable_backbone_layers: int | None = None, **kwargs: Any) -> FCOS:
    """FCOS with a ResNet-50-FPN backbone (levels C3-C5 and P6/P7)."""
    weights, weights_backbone, num_classes = _resolve(weights, FCOS_ResNet50_FPN_Weights, weights_backbone,
                                                      ResNet50_Weights, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    model = FCOS(backbone, num_classes, **kwargs)
    _load(model, weights, progress)
    return model
