"""SSD (https://arxiv.org/abs/1512.02325): one-stage detection from default boxes over several feature
maps, as torchvision builds it (``ssd300_vgg16``); ``SSD`` also serves SSDlite.

Example:
    >>> import ember
    >>> gen = DefaultBoxGenerator([[2], [2]], steps=[8, 16])
    >>> gen.num_anchors_per_location()
    [4, 4]
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any

import ember
import ember.nn.functional as F
from ember import nn

from ...ops import boxes as box_ops
from .._registry import register_model
from .._weights import VGG16_Weights
from ..vgg import vgg16
from . import _utils as det_utils
from ._weights import SSD300_VGG16_Weights
from .anchor_utils import DefaultBoxGenerator
from .backbone_utils import _validate_trainable_layers
from .faster_rcnn import _load, _resolve
from .generalized_rcnn import _check_targets
from .retinanet import _flatten_level, _nms_detections, _transform_and_features
from .transform import GeneralizedRCNNTransform

__all__ = ["SSD", "SSDHead", "SSDScoringHead", "SSDClassificationHead", "SSDRegressionHead",
           "SSDFeatureExtractorVGG", "ssd300_vgg16", "SSD300_VGG16_Weights"]


def _xavier_init(conv: nn.Module) -> None:
    for layer in conv.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0.0)


class SSDScoringHead(nn.Module):
    """One module per feature map; outputs ``[N, sum(HWA), num_columns]``."""

    def __init__(self, module_list: nn.ModuleList, num_columns: int) -> None:
        super().__init__()
        self.module_list = module_list
        self.num_columns = num_columns

    def _get_result_from_module_list(self, x: ember.Tensor, idx: int) -> ember.Tensor:
        return self.module_list[idx](x)

    def forward(self, x: list[ember.Tensor]) -> ember.Tensor:
        return ember.cat([_flatten_level(self._get_result_from_module_list(f, i), self.num_columns)
                          for i, f in enumerate(x)], dim=1)


class SSDClassificationHead(SSDScoringHead):
    def __init__(self, in_channels: list[int], num_anchors: list[int], num_classes: int) -> None:
        cls_logits = nn.ModuleList([nn.Conv2d(c, num_classes * a, kernel_size=3, padding=1)
                                    for c, a in zip(in_channels, num_anchors)])
        _xavier_init(cls_logits)
        super().__init__(cls_logits, num_classes)


class SSDRegressionHead(SSDScoringHead):
    def __init__(self, in_channels: list[int], num_anchors: list[int]) -> None:
        bbox_reg = nn.ModuleList([nn.Conv2d(c, 4 * a, kernel_size=3, padding=1)
                                  for c, a in zip(in_channels, num_anchors)])
        _xavier_init(bbox_reg)
        super().__init__(bbox_reg, 4)


class SSDHead(nn.Module):
    """A 3x3 conv per feature map for the class logits and one for the box deltas."""

    def __init__(self, in_channels: list[int], num_anchors: list[int], num_classes: int) -> None:
        super().__init__()
        self.classification_head = SSDClassificationHead(in_channels, num_anchors, num_classes)
        self.regression_head = SSDRegressionHead(in_channels, num_anchors)

    def forward(self, x: list[ember.Tensor]) -> dict[str, ember.Tensor]:
        return {"bbox_regression": self.regression_head(x), "cls_logits": self.classification_head(x)}


class SSD(nn.Module):
    """SSD over ``backbone`` (an ordered dict of feature maps) and a :class:`DefaultBoxGenerator`; images
    are resized to exactly ``size``. Training returns ``bbox_regression`` (smooth L1 of the matched
    boxes) and ``classification`` (cross entropy over the positives and the hardest negatives,
    ``(1 - positive_fraction) / positive_fraction`` per positive), both over the number of positives;
    eval keeps per class the ``topk_candidates`` best above ``score_thresh``, then NMS per class."""

    def __init__(self, backbone: nn.Module, anchor_generator: DefaultBoxGenerator, size: tuple[int, int],
                 num_classes: int, image_mean: list[float] | None = None, image_std: list[float] | None = None,
                 head: nn.Module | None = None, score_thresh: float = 0.01, nms_thresh: float = 0.45,
                 detections_per_img: int = 200, iou_thresh: float = 0.5, topk_candidates: int = 400,
                 positive_fraction: float = 0.25, **kwargs: Any) -> None:
        super().__init__()
        self.backbone = backbone
        self.anchor_generator = anchor_generator
        self.box_coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        if head is None:
            out_channels = (backbone.out_channels if hasattr(backbone, "out_channels")
                            else det_utils.retrieve_out_channels(backbone, size))
            if len(out_channels) != len(anchor_generator.aspect_ratios):
                raise ValueError(f"The length of the output channels from the backbone ({len(out_channels)}) do not "
                                 "match the length of the anchor generator aspect ratios "
                                 f"({len(anchor_generator.aspect_ratios)})")
            head = SSDHead(out_channels, self.anchor_generator.num_anchors_per_location(), num_classes)
        self.head = head
        self.proposal_matcher = det_utils.SSDMatcher(iou_thresh)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min(size), max(size), image_mean, image_std, size_divisible=1,
                                                  fixed_size=size, **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self.neg_to_pos_ratio = (1.0 - positive_fraction) / positive_fraction
        self._has_warned = False

    def eager_outputs(self, losses: dict[str, ember.Tensor], detections: list[dict[str, ember.Tensor]]) -> Any:
        return losses if self.training else detections

    def compute_loss(self, targets: list[dict[str, ember.Tensor]], head_outputs: dict[str, ember.Tensor],
                     anchors: list[ember.Tensor], matched_idxs: list[ember.Tensor]) -> dict[str, ember.Tensor]:
        cls_logits = head_outputs["cls_logits"]
        num_foreground = 0
        bbox_loss, cls_targets = [], []
        for tgt, reg, logits, anc, matched in zip(targets, head_outputs["bbox_regression"], cls_logits, anchors,
                                                  matched_idxs):
            fg = ember.where(matched >= 0)[0]
            fg_matched = matched[fg]
            num_foreground += fg_matched.numel()
            target_regression = self.box_coder.encode_single(tgt["boxes"][fg_matched], anc[fg, :])
            bbox_loss.append(F.smooth_l1_loss(reg[fg, :], target_regression, reduction="sum"))
            classes = ember.zeros((logits.size(0),), dtype=tgt["labels"].dtype, device=tgt["labels"].device)
            classes[fg] = tgt["labels"][fg_matched]
            cls_targets.append(classes)
        bbox_loss = ember.stack(bbox_loss)
        cls_targets = ember.stack(cls_targets)
        num_classes = cls_logits.size(-1)
        cls_loss = F.cross_entropy(cls_logits.view(-1, num_classes), cls_targets.view(-1),
                                   reduction="none").view(cls_targets.size())
        # hard negative mining: per image the negatives with the largest loss, neg_to_pos_ratio per positive
        foreground = cls_targets > 0
        num_negative = self.neg_to_pos_ratio * foreground.sum(1, keepdim=True)
        negative_loss = cls_loss.clone()
        negative_loss[foreground] = -float("inf")  # positives sort last
        _, idx = negative_loss.sort(1, descending=True)
        background = idx.sort(1)[1] < num_negative
        n = max(1, num_foreground)
        return {"bbox_regression": bbox_loss.sum() / n,
                "classification": (cls_loss[foreground].sum() + cls_loss[background].sum()) / n}

    def forward(self, images: list[ember.Tensor], targets: list[dict[str, ember.Tensor]] | None = None) -> Any:
        if self.training:
            _check_targets(targets)
        original_image_sizes, images, targets, features = _transform_and_features(self, images, targets)
        head_outputs = self.head(features)
        anchors = self.anchor_generator(images, features)
        if self.training:
            matched_idxs = []
            for anc, tgt in zip(anchors, targets):
                if tgt["boxes"].numel() == 0:
                    matched_idxs.append(ember.full((anc.size(0),), -1, dtype=ember.int64, device=anc.device))
                    continue
                matched_idxs.append(self.proposal_matcher(box_ops.box_iou(tgt["boxes"], anc)))
            return self.eager_outputs(self.compute_loss(targets, head_outputs, anchors, matched_idxs), [])
        detections = self.postprocess_detections(head_outputs, anchors, images.image_sizes)
        return self.eager_outputs({}, self.transform.postprocess(detections, images.image_sizes,
                                                                 original_image_sizes))

    def postprocess_detections(self, head_outputs: dict[str, ember.Tensor], image_anchors: list[ember.Tensor],
                               image_shapes: list[tuple[int, int]]) -> list[dict[str, ember.Tensor]]:
        pred_scores = F.softmax(head_outputs["cls_logits"], dim=-1)
        num_classes = pred_scores.size(-1)
        detections = []
        for boxes, scores, anchors, image_shape in zip(head_outputs["bbox_regression"], pred_scores, image_anchors,
                                                       image_shapes):
            boxes = box_ops.clip_boxes_to_image(self.box_coder.decode_single(boxes, anchors), image_shape)
            image_boxes, image_scores, image_labels = [], [], []
            for label in range(1, num_classes):
                score = scores[:, label]
                keep = score > self.score_thresh
                score, box = score[keep], boxes[keep]
                score, idxs = score.topk(det_utils._topk_min(score, self.topk_candidates, 0))
                image_boxes.append(box[idxs])
                image_scores.append(score)
                image_labels.append(ember.full_like(score, fill_value=label, dtype=ember.int64))
            detections.append(_nms_detections(image_boxes, image_scores, image_labels, self.nms_thresh,
                                              self.detections_per_img))
        return detections


class SSDFeatureExtractorVGG(nn.Module):
    """VGG16 cut at conv4_3 (L2-normalised and scaled by a learned ``scale_weight``), then conv5 with the
    atrous fc6/fc7, then the extra stride-2 blocks: six (seven when ``highres``) feature maps."""

    def __init__(self, backbone: nn.Module, highres: bool) -> None:
        super().__init__()
        _, _, maxpool3_pos, maxpool4_pos, _ = (i for i, layer in enumerate(backbone) if isinstance(layer, nn.MaxPool2d))
        # conv4_3's map must be 38x38 at 300x300 (the paper's ceil mode on pool3)
        backbone[maxpool3_pos].ceil_mode = True
        self.scale_weight = nn.Parameter(ember.ones(512) * 20)
        self.features = nn.Sequential(*backbone[:maxpool4_pos])

        def block(cin: int, mid: int, cout: int, **conv: Any) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, mid, kernel_size=1), nn.ReLU(inplace=True),
                                 nn.Conv2d(mid, cout, **conv), nn.ReLU(inplace=True))

        extra = nn.ModuleList([
            block(1024, 256, 512, kernel_size=3, padding=1, stride=2),  # conv8_2
            block(512, 128, 256, kernel_size=3, padding=1, stride=2),  # conv9_2
            block(256, 128, 256, kernel_size=3),  # conv10_2
            block(256, 128, 256, kernel_size=3),  # conv11_2
        ])
        if highres:
            extra.append(block(256, 128, 256, kernel_size=4))  # conv12_2
        _xavier_init(extra)
        fc = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=False),  # pool5, stride 1
            nn.Conv2d(in_channels=512, out_channels=1024, kernel_size=3, padding=6, dilation=6),  # fc6, atrous
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels=1024, out_channels=1024, kernel_size=1),  # fc7
            nn.ReLU(inplace=True),
        )
        _xavier_init(fc)
        extra.insert(0, nn.Sequential(*backbone[maxpool4_pos:-1], fc))  # conv5_x (pool5 replaced) and fc6/fc7
        self.extra = extra

    def forward(self, x: ember.Tensor) -> dict[str, ember.Tensor]:
        x = self.features(x)
        output = [self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)]
        for block in self.extra:
            x = block(x)
            output.append(x)
        return OrderedDict([(str(i), v) for i, v in enumerate(output)])


def _vgg_extractor(backbone: nn.Module, highres: bool, trainable_layers: int) -> SSDFeatureExtractorVGG:
    backbone = backbone.features
    stage_indices = [0] + [i for i, b in enumerate(backbone) if isinstance(b, nn.MaxPool2d)][:-1]
    num_stages = len(stage_indices)
    if not 0 <= trainable_layers <= num_stages:
        raise AssertionError(f"trainable_layers should be in the range [0, {num_stages}]. "
                             f"Instead got {trainable_layers}")
    freeze_before = len(backbone) if trainable_layers == 0 else stage_indices[num_stages - trainable_layers]
    for b in backbone[:freeze_before]:
        for parameter in b.parameters():
            parameter.requires_grad_(False)
    return SSDFeatureExtractorVGG(backbone, highres)


@register_model()
def ssd300_vgg16(*, weights: SSD300_VGG16_Weights | None = None, progress: bool = True,
                 num_classes: int | None = None,
                 weights_backbone: VGG16_Weights | None = VGG16_Weights.IMAGENET1K_FEATURES,
                 trainable_backbone_layers: int | None = None, **kwargs: Any) -> SSD:
    """SSD300 with a VGG16 backbone (images resized to 300x300; the backbone's default weights are the
    amdegroot VGG16 features, loaded from torch.hub's cache)."""
    weights, weights_backbone, num_classes = _resolve(weights, SSD300_VGG16_Weights, weights_backbone, VGG16_Weights,
                                                      num_classes, kwargs, legacy_backbone="IMAGENET1K_FEATURES")
    if "size" in kwargs:
        warnings.warn("The size of the model is already fixed; ignoring the parameter.", stacklevel=2)
        kwargs.pop("size")
    trainable_backbone_layers = _validate_trainable_layers(weights is not None or weights_backbone is not None,
                                                           trainable_backbone_layers, 5, 4)
    backbone = _vgg_extractor(vgg16(weights=weights_backbone, progress=progress), False, trainable_backbone_layers)
    anchor_generator = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]],
                                           scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
                                           steps=[8, 16, 32, 64, 100, 300])
    defaults = {"image_mean": [0.48235, 0.45882, 0.40784],
                "image_std": [1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0]}  # undo ToTensor's 0-1 scaling
    model = SSD(backbone, anchor_generator, (300, 300), num_classes, **{**defaults, **kwargs})
    _load(model, weights, progress)
    return model
