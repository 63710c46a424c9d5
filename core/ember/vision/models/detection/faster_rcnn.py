"""Faster R-CNN (https://arxiv.org/abs/1506.01497) as torchvision builds it, with its module and
state_dict names, so torchvision's COCO checkpoints load.

Example:
    >>> import ember
    >>> m = fasterrcnn_resnet50_fpn(weights_backbone=None, num_classes=3, min_size=64, max_size=64).eval()
    >>> out = m([ember.rand(3, 48, 64)])
    >>> sorted(out[0]), tuple(out[0]["boxes"].shape[1:])
    (['boxes', 'labels', 'scores'], (4,))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember
import ember.nn.functional as F
from ember import nn

from ...ops import misc as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._registry import register_model
from .._weights import ResNet50_Weights
from .._weights_modern import MobileNet_V3_Large_Weights
from ..mobilenetv3 import mobilenet_v3_large
from ..resnet import resnet50
from ._legacy import _handle_legacy, _ovewrite_value_param
from ._utils import overwrite_eps
from ._weights import (
    FasterRCNN_MobileNet_V3_Large_320_FPN_Weights,
    FasterRCNN_MobileNet_V3_Large_FPN_Weights,
    FasterRCNN_ResNet50_FPN_V2_Weights,
    FasterRCNN_ResNet50_FPN_Weights,
)
from .anchor_utils import AnchorGenerator
from .backbone_utils import _mobilenet_extractor, _resnet_fpn_extractor, _validate_trainable_layers
from .generalized_rcnn import GeneralizedRCNN
from .roi_heads import RoIHeads
from .rpn import RegionProposalNetwork, RPNHead
from .transform import GeneralizedRCNNTransform

__all__ = ["FasterRCNN", "TwoMLPHead", "FastRCNNConvFCHead", "FastRCNNPredictor", "fasterrcnn_resnet50_fpn",
           "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_mobilenet_v3_large_320_fpn",
           "FasterRCNN_ResNet50_FPN_Weights", "FasterRCNN_ResNet50_FPN_V2_Weights",
           "FasterRCNN_MobileNet_V3_Large_FPN_Weights", "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights"]


def _default_anchorgen() -> AnchorGenerator:
    anchor_sizes = ((32,), (64,), (128,), (256,), (512,))
    return AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))


class FasterRCNN(GeneralizedRCNN):
    """Faster R-CNN over ``backbone`` (a module with ``out_channels`` returning a tensor or an ordered
    dict of feature maps). Input: a list of ``[C, H, W]`` float images in [0, 1] (sizes may differ);
    training also takes targets, one dict per image with ``boxes`` ``[N, 4]`` (``x1, y1, x2, y2``) and
    ``labels`` ``[N]`` int64. The keyword arguments and their defaults are torchvision's."""

    def __init__(self, backbone: nn.Module, num_classes: int | None = None, min_size: int = 800,
                 max_size: int = 1333, image_mean: list[float] | None = None, image_std: list[float] | None = None,
                 rpn_anchor_generator: AnchorGenerator | None = None, rpn_head: nn.Module | None = None,
                 rpn_pre_nms_top_n_train: int = 2000, rpn_pre_nms_top_n_test: int = 1000,
                 rpn_post_nms_top_n_train: int = 2000, rpn_post_nms_top_n_test: int = 1000,
                 rpn_nms_thresh: float = 0.7, rpn_fg_iou_thresh: float = 0.7, rpn_bg_iou_thresh: float = 0.3,
                 rpn_batch_size_per_image: int = 256, rpn_positive_fraction: float = 0.5,
                 rpn_score_thresh: float = 0.0, box_roi_pool: MultiScaleRoIAlign | None = None,
                 box_head: nn.Module | None = None, box_predictor: nn.Module | None = None,
                 box_score_thresh: float = 0.05, box_nms_thresh: float = 0.5, box_detections_per_img: int = 100,
                 box_fg_iou_thresh: float = 0.5, box_bg_iou_thresh: float = 0.5,
                 box_batch_size_per_image: int = 512, box_positive_fraction: float = 0.25,
                 bbox_reg_weights: tuple[float, float, float, float] | None = None, **kwargs: Any) -> None:
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the number of output "
                             "channels (assumed to be the same for all the levels)")
        if not isinstance(rpn_anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("rpn_anchor_generator should be of type AnchorGenerator or None instead of "
                            f"{type(rpn_anchor_generator)}")
        if not isinstance(box_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError(f"box_roi_pool should be of type MultiScaleRoIAlign or None instead of {type(box_roi_pool)}")
        if num_classes is not None:
            if box_predictor is not None:
                raise ValueError("num_classes should be None when box_predictor is specified")
        elif box_predictor is None:
            raise ValueError("num_classes should not be None when box_predictor is not specified")
        out_channels = backbone.out_channels
        if rpn_anchor_generator is None:
            rpn_anchor_generator = _default_anchorgen()
        if rpn_head is None:
            rpn_head = RPNHead(out_channels, rpn_anchor_generator.num_anchors_per_location()[0])
        rpn = RegionProposalNetwork(
            rpn_anchor_generator, rpn_head, rpn_fg_iou_thresh, rpn_bg_iou_thresh, rpn_batch_size_per_image,
            rpn_positive_fraction, dict(training=rpn_pre_nms_top_n_train, testing=rpn_pre_nms_top_n_test),
            dict(training=rpn_post_nms_top_n_train, testing=rpn_post_nms_top_n_test), rpn_nms_thresh,
            score_thresh=rpn_score_thresh)
        if box_roi_pool is None:
            box_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=7, sampling_ratio=2)
        if box_head is None:
            resolution = box_roi_pool.output_size[0]
            box_head = TwoMLPHead(out_channels * resolution**2, 1024)
        if box_predictor is None:
            box_predictor = FastRCNNPredictor(1024, num_classes)
        roi_heads = RoIHeads(box_roi_pool, box_head, box_predictor, box_fg_iou_thresh, box_bg_iou_thresh,
                             box_batch_size_per_image, box_positive_fraction, bbox_reg_weights, box_score_thresh,
                             box_nms_thresh, box_detections_per_img)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std, **kwargs)
        super().__init__(backbone, rpn, roi_heads, transform)


class TwoMLPHead(nn.Module):
    """Two fully connected layers with ReLU over the flattened pooled features (FPN's box head)."""

    def __init__(self, in_channels: int, representation_size: int) -> None:
        super().__init__()
        self.fc6 = nn.Linear(in_channels, representation_size)
        self.fc7 = nn.Linear(representation_size, representation_size)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return F.relu(self.fc7(F.relu(self.fc6(x.flatten(start_dim=1)))))


class FastRCNNConvFCHead(nn.Sequential):
    """``conv_layers`` 3x3 conv-norm-ReLU blocks, flatten, then ``fc_layers`` Linear + ReLU (the v2 box head)."""

    def __init__(self, input_size: tuple[int, int, int], conv_layers: list[int], fc_layers: list[int],
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        in_channels, in_height, in_width = input_size
        blocks: list[nn.Module] = []
        previous = in_channels
        for current in conv_layers:
            blocks.append(misc_nn_ops.Conv2dNormActivation(previous, current, norm_layer=norm_layer))
            previous = current
        blocks.append(nn.Flatten())
        previous = previous * in_height * in_width
        for current in fc_layers:
            blocks += [nn.Linear(previous, current), nn.ReLU(inplace=True)]
            previous = current
        super().__init__(*blocks)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)


class FastRCNNPredictor(nn.Module):
    """Class logits and per-class box deltas from the box head's representation."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.cls_score = nn.Linear(in_channels, num_classes)
        self.bbox_pred = nn.Linear(in_channels, num_classes * 4)

    def forward(self, x: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
        if x.dim() == 4 and list(x.shape[2:]) != [1, 1]:
            raise AssertionError("x has the wrong shape, expecting the last two dimensions to be [1,1] instead of "
                                 f"{list(x.shape[2:])}")
        x = x.flatten(start_dim=1)
        return self.cls_score(x), self.bbox_pred(x)


def _resolve(weights: Any, enum: type, weights_backbone: Any, backbone_enum: type, num_classes: int | None,
             kwargs: dict[str, Any], default_classes: int = 91,
             legacy_backbone: str = "IMAGENET1K_V1") -> tuple[Any, Any, int]:
    """The builder's weights, backbone weights and number of classes, torchvision's legacy flags handled."""
    legacy = enum["COCO_V1"]
    if kwargs.get("pretrained") == "legacy" and "COCO_LEGACY" in enum.__members__:
        legacy = enum["COCO_LEGACY"]
    weights = enum.verify(_handle_legacy(kwargs, "weights", weights, "pretrained", legacy))
    weights_backbone = backbone_enum.verify(_handle_legacy(kwargs, "weights_backbone", weights_backbone,
                                                           "pretrained_backbone", backbone_enum[legacy_backbone]))
    if weights is not None:
        weights_backbone = None
        num_classes = _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
    elif num_classes is None:
        num_classes = default_classes
    return weights, weights_backbone, num_classes


def _load(model: nn.Module, weights: Any, progress: bool) -> None:
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))


@register_model()
def fasterrcnn_resnet50_fpn(*, weights: FasterRCNN_ResNet50_FPN_Weights | None = None, progress: bool = True,
                            num_classes: int | None = None,
                            weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                            trainable_backbone_layers: int | None = None, **kwargs: Any) -> FasterRCNN:
    """Faster R-CNN with a ResNet-50-FPN backbone (FrozenBatchNorm2d when any weights are loaded).

    ``weights_backbone`` defaults to ImageNet weights, loaded from torch.hub's cache: pass ``None``
    for a randomly initialised model. ``trainable_backbone_layers`` (0-5, default 3) only applies to
    pretrained models."""
    weights, weights_backbone, num_classes = _resolve(weights, FasterRCNN_ResNet50_FPN_Weights, weights_backbone,
                                                      ResNet50_Weights, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    model = FasterRCNN(_resnet_fpn_extractor(backbone, trainable_backbone_layers), num_classes=num_classes, **kwargs)
    _load(model, weights, progress)
    if weights == FasterRCNN_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)
    return model


@register_model()
def fasterrcnn_resnet50_fpn_v2(*, weights: FasterRCNN_ResNet50_FPN_V2_Weights | None = None, progress: bool = True,
                               num_classes: int | None = None, weights_backbone: ResNet50_Weights | None = None,
                               trainable_backbone_layers: int | None = None, **kwargs: Any) -> FasterRCNN:
    """Faster R-CNN v2 (https://arxiv.org/abs/2111.11429): BatchNorm in the FPN, a two-conv RPN head and
    a four-conv + one-FC box head."""
    weights, weights_backbone, num_classes = _resolve(weights, FasterRCNN_ResNet50_FPN_V2_Weights, weights_backbone,
                                                      ResNet50_Weights, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers, norm_layer=nn.BatchNorm2d)
    anchor_generator = _default_anchorgen()
    rpn_head = RPNHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0], conv_depth=2)
    box_head = FastRCNNConvFCHead((backbone.out_channels, 7, 7), [256, 256, 256, 256], [1024],
                                  norm_layer=nn.BatchNorm2d)
    model = FasterRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchor_generator, rpn_head=rpn_head,
                       box_head=box_head, **kwargs)
    _load(model, weights, progress)
    return model


def _fasterrcnn_mobilenet_v3_large_fpn(weights: Any, progress: bool, num_classes: int | None, weights_backbone: Any,
                                       trainable_backbone_layers: int | None, **kwargs: Any) -> FasterRCNN:
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 6, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = mobilenet_v3_large(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _mobilenet_extractor(backbone, True, trainable_backbone_layers)
    anchor_sizes = ((32, 64, 128, 256, 512),) * 3
    model = FasterRCNN(backbone, num_classes,
                       rpn_anchor_generator=AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes)),
                       **kwargs)
    _load(model, weights, progress)
    return model


@register_model()
def fasterrcnn_mobilenet_v3_large_320_fpn(
        *, weights: FasterRCNN_MobileNet_V3_Large_320_FPN_Weights | None = None, progress: bool = True,
        num_classes: int | None = None,
        weights_backbone: MobileNet_V3_Large_Weights | None = MobileNet_V3_Large_Weights.IMAGENET1K_V1,
        trainable_backbone_layers: int | None = None, **kwargs: Any) -> FasterRCNN:
    """Low-resolution Faster R-CNN over MobileNetV3-Large-FPN (images resized to 320, fewer proposals)."""
    weights, weights_backbone, num_classes = _resolve(weights, FasterRCNN_MobileNet_V3_Large_320_FPN_Weights,
                                                      weights_backbone, MobileNet_V3_Large_Weights, num_classes, kwargs)
    defaults = {"min_size": 320, "max_size": 640, "rpn_pre_nms_top_n_test": 150, "rpn_post_nms_top_n_test": 150,
                "rpn_score_thresh": 0.05}
    return _fasterrcnn_mobilenet_v3_large_fpn(weights, progress, num_classes, weights_backbone,
                                              trainable_backbone_layers, **{**defaults, **kwargs})


@register_model()
def fasterrcnn_mobilenet_v3_large_fpn(
        *, weights: FasterRCNN_MobileNet_V3_Large_FPN_Weights | None = None, progress: bool = True,
        num_classes: int | None = None,
        weights_backbone: MobileNet_V3_Large_Weights | None = MobileNet_V3_Large_Weights.IMAGENET1K_V1,
        trainable_backbone_layers: int | None = None, **kwargs: Any) -> FasterRCNN:
    """High-resolution Faster R-CNN over MobileNetV3-Large-FPN."""
    weights, weights_backbone, num_classes = _resolve(weights, FasterRCNN_MobileNet_V3_Large_FPN_Weights,
                                                      weights_backbone, MobileNet_V3_Large_Weights, num_classes, kwargs)
    return _fasterrcnn_mobilenet_v3_large_fpn(weights, progress, num_classes, weights_backbone,
                                              trainable_backbone_layers, **{"rpn_score_thresh": 0.05, **kwargs})
