"""RetinaNet (https://arxiv.org/abs/1708.02002): a one-stage detector, dense classification (focal loss)
and box regression heads over a ResNet-FPN with P6/P7, as torchvision builds it.

Example:
    >>> import ember
    >>> m = retinanet_resnet50_fpn(weights_backbone=None, num_classes=3, min_size=64, max_size=64).eval()
    >>> out = m([ember.rand(3, 48, 64)])
    >>> sorted(out[0])
    ['boxes', 'labels', 'scores']
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

import ember
from ember import nn

from ...ops import boxes as box_ops
from ...ops import misc as misc_nn_ops
from ...ops import sigmoid_focal_loss
from ...ops.feature_pyramid_network import LastLevelP6P7
from .._registry import register_model
from .._weights import ResNet50_Weights
from ..resnet import resnet50
from . import _utils as det_utils
from ._utils import _box_loss, overwrite_eps
from ._weights import RetinaNet_ResNet50_FPN_V2_Weights, RetinaNet_ResNet50_FPN_Weights
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _load, _resolve
from .generalized_rcnn import _check_degenerate
from .transform import GeneralizedRCNNTransform

__all__ = ["RetinaNet", "RetinaNetHead", "RetinaNetClassificationHead", "RetinaNetRegressionHead",
           "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "RetinaNet_ResNet50_FPN_Weights",
           "RetinaNet_ResNet50_FPN_V2_Weights"]


def _sum(x: list[ember.Tensor]) -> ember.Tensor:
    res = x[0]
    for i in x[1:]:
        res = res + i
    return res


def _v1_to_v2_weights(state_dict: dict, prefix: str) -> None:
    # version-1 heads had bare convs at even indices: `conv.2.weight` is now `conv.1.0.weight`
    for i in range(4):
        for kind in ("weight", "bias"):
            old_key = f"{prefix}conv.{2 * i}.{kind}"
            if old_key in state_dict:
                state_dict[f"{prefix}conv.{i}.0.{kind}"] = state_dict.pop(old_key)


def _default_anchorgen() -> AnchorGenerator:
    anchor_sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [32, 64, 128, 256, 512])
    return AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))


class _VersionedHead(nn.Module):
    _version = 2

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            _v1_to_v2_weights(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


def _conv_tower(in_channels: int, norm_layer: Callable[..., nn.Module] | None) -> nn.Sequential:
    conv = nn.Sequential(*[misc_nn_ops.Conv2dNormActivation(in_channels, in_channels, norm_layer=norm_layer)
                           for _ in range(4)])
    for layer in conv.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0)
    return conv


def _flatten_level(x: ember.Tensor, c: int) -> ember.Tensor:
    # [N, A*C, H, W] -> [N, H*W*A, C]
    N, _, H, W = x.shape  # noqa: N806
    return x.view(N, -1, c, H, W).permute(0, 3, 4, 1, 2).reshape(N, -1, c)


def _transform_and_features(model: nn.Module, images: list[ember.Tensor],
                            targets: list[dict[str, ember.Tensor]] | None) -> tuple[Any, ...]:
    """The single-stage detectors' front (RetinaNet, FCOS, SSD): ``(original_image_sizes, images, targets,
    features)`` after ``model.transform``, the degenerate-box check and ``model.backbone`` (features as a list)."""
    original_image_sizes = [(int(img.shape[-2]), int(img.shape[-1])) for img in images]
    images, targets = model.transform(images, targets)
    if targets is not None:
        _check_degenerate(targets)
    features = model.backbone(images.tensors)
    if isinstance(features, ember.Tensor):
        features = OrderedDict([("0", features)])
    return original_image_sizes, images, targets, list(features.values())


def _topk_level(scores: ember.Tensor, reg: ember.Tensor, anc: ember.Tensor, num_classes: int, decode: Callable,
                score_thresh: float, topk_candidates: int, image_shape: tuple[int, int]) -> tuple[ember.Tensor, ...]:
    """One level's ``(boxes, scores, labels)``: the ``topk_candidates`` best flattened (anchor, class)
    ``scores`` above ``score_thresh``, their boxes decoded against their anchors and clipped to the image."""
    keep = scores > score_thresh
    scores = scores[keep]
    topk_idxs = ember.where(keep)[0]
    scores, idxs = scores.topk(det_utils._topk_min(topk_idxs, topk_candidates, 0))
    topk_idxs = topk_idxs[idxs]
    anchor_idxs = ember.div(topk_idxs, num_classes, rounding_mode="floor")
    boxes = decode(reg[anchor_idxs], anc[anchor_idxs])
    return box_ops.clip_boxes_to_image(boxes, image_shape), scores, topk_idxs % num_classes


def _nms_detections(image_boxes: list[ember.Tensor], image_scores: list[ember.Tensor],
                    image_labels: list[ember.Tensor], nms_thresh: float,
                    detections_per_img: int) -> dict[str, ember.Tensor]:
    """One image's detections: its candidates from all levels (or classes), per-class NMS, the best
    ``detections_per_img``."""
    boxes, scores, labels = ember.cat(image_boxes), ember.cat(image_scores), ember.cat(image_labels)
    keep = box_ops.batched_nms(boxes, scores, labels, nms_thresh)[:detections_per_img]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}


class RetinaNetClassificationHead(_VersionedHead):
    """Four 3x3 conv + ReLU layers, then per-anchor class logits; the logits' bias starts at the
    prior ``-log((1 - p) / p)``. Its loss is the sigmoid focal loss over non-ignored anchors, per
    image over its number of foreground anchors."""

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int, prior_probability: float = 0.01,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self.conv = _conv_tower(in_channels, norm_layer)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3, stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_probability) / prior_probability))
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.BETWEEN_THRESHOLDS = det_utils.Matcher.BETWEEN_THRESHOLDS

    def compute_loss(self, targets: list[dict[str, ember.Tensor]], head_outputs: dict[str, ember.Tensor],
                     matched_idxs: list[ember.Tensor]) -> ember.Tensor:
        losses = []
        for tgt, logits, matched in zip(targets, head_outputs["cls_logits"], matched_idxs):
            fg = ember.where(matched >= 0)[0]
            gt_classes_target = ember.zeros_like(logits)
            gt_classes_target[fg, tgt["labels"][matched[fg]]] = 1.0
            valid = matched != self.BETWEEN_THRESHOLDS
            loss = sigmoid_focal_loss(logits[valid], gt_classes_target[valid], reduction="sum")
            losses.append(loss / max(1, fg.numel()))
        return _sum(losses) / len(targets)

    def forward(self, x: list[ember.Tensor]) -> ember.Tensor:
        return ember.cat([_flatten_level(self.cls_logits(self.conv(f)), self.num_classes) for f in x], dim=1)


class RetinaNetRegressionHead(_VersionedHead):
    """Four 3x3 conv + ReLU layers, then 4 box deltas per anchor; its loss (``_loss_type``, L1 by
    default, GIoU in v2) is over the foreground anchors, per image over their number."""

    def __init__(self, in_channels: int, num_anchors: int, norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self.conv = _conv_tower(in_channels, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1, padding=1)
        nn.init.normal_(self.bbox_reg.weight, std=0.01)
        nn.init.zeros_(self.bbox_reg.bias)
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self._loss_type = "l1"

    def compute_loss(self, targets: list[dict[str, ember.Tensor]], head_outputs: dict[str, ember.Tensor],
                     anchors: list[ember.Tensor], matched_idxs: list[ember.Tensor]) -> ember.Tensor:
        losses = []
        for tgt, reg, anc, matched in zip(targets, head_outputs["bbox_regression"], anchors, matched_idxs):
            fg = ember.where(matched >= 0)[0]
            matched_gt = tgt["boxes"][matched[fg]]
            loss = _box_loss(self._loss_type, self.box_coder, anc[fg, :], matched_gt, reg[fg, :])
            losses.append(loss / max(1, fg.numel()))
        return _sum(losses) / max(1, len(targets))

    def forward(self, x: list[ember.Tensor]) -> ember.Tensor:
        return ember.cat([_flatten_level(self.bbox_reg(self.conv(f)), 4) for f in x], dim=1)


class RetinaNetHead(nn.Module):
    """The classification and regression heads, shared by every pyramid level."""

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self.classification_head = RetinaNetClassificationHead(in_channels, num_anchors, num_classes,
                                                               norm_layer=norm_layer)
        self.regression_head = RetinaNetRegressionHead(in_channels, num_anchors, norm_layer=norm_layer)

    def compute_loss(self, targets: list[dict[str, ember.Tensor]], head_outputs: dict[str, ember.Tensor],
                     anchors: list[ember.Tensor], matched_idxs: list[ember.Tensor]) -> dict[str, ember.Tensor]:
        return {"classification": self.classification_head.compute_loss(targets, head_outputs, matched_idxs),
                "bbox_regression": self.regression_head.compute_loss(targets, head_outputs, anchors, matched_idxs)}

    def forward(self, x: list[ember.Tensor]) -> dict[str, ember.Tensor]:
        return {"cls_logits": self.classification_head(x), "bbox_regression": self.regression_head(x)}


class RetinaNet(nn.Module):
    """RetinaNet over ``backbone``. Training returns ``{"classification", "bbox_regression"}`` losses;
    eval returns per-image ``boxes``/``scores``/``labels``: per level the ``topk_candidates`` best
    (anchor, class) scores above ``score_thresh``, then per-class NMS and ``detections_per_img``."""

    def __init__(self, backbone: nn.Module, num_classes: int, min_size: int = 800, max_size: int = 1333,
                 image_mean: list[float] | None = None, image_std: list[float] | None = None,
                 anchor_generator: AnchorGenerator | None = None, head: nn.Module | None = None,
                 proposal_matcher: det_utils.Matcher | None = None, score_thresh: float = 0.05,
                 nms_thresh: float = 0.5, detections_per_img: int = 300, fg_iou_thresh: float = 0.5,
                 bg_iou_thresh: float = 0.4, topk_candidates: int = 1000, **kwargs: Any) -> None:
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the number of output "
                             "channels (assumed to be the same for all the levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError(f"anchor_generator should be of type AnchorGenerator or None instead of "
                            f"{type(anchor_generator)}")
        if anchor_generator is None:
            anchor_generator = _default_anchorgen()
        self.anchor_generator = anchor_generator
        if head is None:
            head = RetinaNetHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0], num_classes)
        self.head = head
        if proposal_matcher is None:
            proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh, allow_low_quality_matches=True)
        self.proposal_matcher = proposal_matcher
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std, **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False

    def eager_outputs(self, losses: dict[str, ember.Tensor], detections: list[dict[str, ember.Tensor]]) -> Any:
        return losses if self.training else detections

    def compute_loss(self, targets: list[dict[str, ember.Tensor]], head_outputs: dict[str, ember.Tensor],
                     anchors: list[ember.Tensor]) -> dict[str, ember.Tensor]:
        matched_idxs = []
        for anchors_per_image, targets_per_image in zip(anchors, targets):
            if targets_per_image["boxes"].numel() == 0:
                matched_idxs.append(ember.full((anchors_per_image.size(0),), -1, dtype=ember.int64,
                                               device=anchors_per_image.device))
                continue
            matched_idxs.append(self.proposal_matcher(box_ops.box_iou(targets_per_image["boxes"], anchors_per_image)))
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs: dict[str, list[ember.Tensor]], anchors: list[list[ember.Tensor]],
                               image_shapes: list[tuple[int, int]]) -> list[dict[str, ember.Tensor]]:
        class_logits = head_outputs["cls_logits"]
        box_regression = head_outputs["bbox_regression"]
        detections = []
        for index, image_shape in enumerate(image_shapes):
            image_boxes, image_scores, image_labels = [], [], []
            for reg, logits, anc in zip([br[index] for br in box_regression], [cl[index] for cl in class_logits],
                                        anchors[index]):
                boxes, scores, labels = _topk_level(ember.sigmoid(logits).flatten(), reg, anc, logits.shape[-1],
                                                    self.box_coder.decode_single, self.score_thresh,
                                                    self.topk_candidates, image_shape)
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
                    raise AssertionError("Expected target boxes to be a tensor of shape [N, 4].")
        original_image_sizes, images, targets, features = _transform_and_features(self, images, targets)
        head_outputs = self.head(features)
        anchors = self.anchor_generator(images, features)
        losses: dict[str, ember.Tensor] = {}
        detections: list[dict[str, ember.Tensor]] = []
        if self.training:
            losses = self.compute_loss(targets, head_outputs, anchors)
        else:
            hw = [x.size(2) * x.size(3) for x in features]
            a = head_outputs["cls_logits"].size(1) // sum(hw)
            per_level = [n * a for n in hw]
            split_outputs = {k: list(v.split(per_level, dim=1)) for k, v in head_outputs.items()}
            split_anchors = [list(anc.split(per_level)) for anc in anchors]
            detections = self.postprocess_detections(split_outputs, split_anchors, images.image_sizes)
            detections = self.transform.postprocess(detections, images.image_sizes, original_image_sizes)
        return self.eager_outputs(losses, detections)


@register_model()
def retinanet_resnet50_fpn(*, weights: RetinaNet_ResNet50_FPN_Weights | None = None, progress: bool = True,
                           num_classes: int | None = None,
                           weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                           trainable_backbone_layers: int | None = None, **kwargs: Any) -> RetinaNet:
    """RetinaNet with a ResNet-50-FPN backbone (levels C3-C5, P6/P7 from P5)."""
    weights, weights_backbone, num_classes = _resolve(weights, RetinaNet_ResNet50_FPN_Weights, weights_backbone,
                                                      ResNet50_Weights, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    model = RetinaNet(backbone, num_classes, **kwargs)
    _load(model, weights, progress)
    if weights == RetinaNet_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)
    return model


@register_model()
def retinanet_resnet50_fpn_v2(*, weights: RetinaNet_ResNet50_FPN_V2_Weights | None = None, progress: bool = True,
                              num_classes: int | None = None, weights_backbone: ResNet50_Weights | None = None,
                              trainable_backbone_layers: int | None = None, **kwargs: Any) -> RetinaNet:
    """RetinaNet v2 (https://arxiv.org/abs/1912.02424): P6/P7 from C5, GroupNorm heads, GIoU box loss."""
    weights, weights_backbone, num_classes = _resolve(weights, RetinaNet_ResNet50_FPN_V2_Weights, weights_backbone,
                                                      ResNet50_Weights, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(2048, 256))
    anchor_generator = _default_anchorgen()
    head = RetinaNetHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0], num_classes,
                         norm_layer=partial(nn.GroupNorm, 32))
    head.regression_head._loss_type = "giou"
    model = RetinaNet(backbone, num_classes, anchor_generator=anchor_generator, head=head, **kwargs)
    _load(model, weights, progress)
    return model
