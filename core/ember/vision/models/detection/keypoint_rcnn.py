"""Keypoint R-CNN (Mask R-CNN's keypoint branch, https://arxiv.org/abs/1703.06870) as torchvision
builds it. Eval outputs add ``keypoints`` ``[K, num_keypoints, 3]`` (x, y, 1) and ``keypoints_scores``.

Example:
    >>> import ember
    >>> m = keypointrcnn_resnet50_fpn(weights_backbone=None, num_keypoints=5, min_size=64, max_size=64).eval()
    >>> out = m([ember.rand(3, 48, 64)])
    >>> sorted(out[0])
    ['boxes', 'keypoints', 'keypoints_scores', 'labels', 'scores']
"""

from __future__ import annotations

from typing import Any

import ember
import ember.nn.functional as F
from ember import nn

from ...ops import misc as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._registry import register_model
from .._weights import ResNet50_Weights
from ..resnet import resnet50
from ._legacy import _ovewrite_value_param
from ._utils import overwrite_eps
from ._weights import KeypointRCNN_ResNet50_FPN_Weights
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import FasterRCNN, _load, _resolve

__all__ = ["KeypointRCNN", "KeypointRCNNHeads", "KeypointRCNNPredictor", "keypointrcnn_resnet50_fpn",
           "KeypointRCNN_ResNet50_FPN_Weights"]


class KeypointRCNN(FasterRCNN):
    """:class:`FasterRCNN` plus ``keypoint_roi_pool`` (14x14), ``keypoint_head`` (eight 3x3 convs of 512)
    and ``keypoint_predictor`` (heatmaps at 56x56). ``min_size`` defaults to torchvision's multi-scale
    (640, ..., 800). Training targets also need ``keypoints`` ``[N, K, 3]`` float32."""

    def __init__(self, backbone: nn.Module, num_classes: int | None = None, min_size: Any = None, *,
                 keypoint_roi_pool: MultiScaleRoIAlign | None = None, keypoint_head: nn.Module | None = None,
                 keypoint_predictor: nn.Module | None = None, num_keypoints: int | None = None,
                 **kwargs: Any) -> None:
        if not isinstance(keypoint_roi_pool, (MultiScaleRoIAlign, type(None))):
            # torchvision's message (its braces are not an f-string)
            raise TypeError("keypoint_roi_pool should be of type MultiScaleRoIAlign or None instead of "
                            "{type(keypoint_roi_pool)}")
        if min_size is None:
            min_size = (640, 672, 704, 736, 768, 800)
        if num_keypoints is not None:
            if keypoint_predictor is not None:
                raise ValueError("num_keypoints should be None when keypoint_predictor is specified")
        else:
            num_keypoints = 17
        out_channels = backbone.out_channels
        if keypoint_roi_pool is None:
            keypoint_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=14,
                                                   sampling_ratio=2)
        if keypoint_head is None:
            keypoint_head = KeypointRCNNHeads(out_channels, tuple(512 for _ in range(8)))
        if keypoint_predictor is None:
            keypoint_predictor = KeypointRCNNPredictor(512, num_keypoints)
        super().__init__(backbone, num_classes, min_size, **kwargs)
        self.roi_heads.keypoint_roi_pool = keypoint_roi_pool
        self.roi_heads.keypoint_head = keypoint_head
        self.roi_heads.keypoint_predictor = keypoint_predictor


class KeypointRCNNHeads(nn.Sequential):
    """3x3 conv + ReLU pairs, one per entry of ``layers``."""

    def __init__(self, in_channels: int, layers: Any) -> None:
        d: list[nn.Module] = []
        previous = in_channels
        for out_channels in layers:
            d += [nn.Conv2d(previous, out_channels, 3, stride=1, padding=1), nn.ReLU(inplace=True)]
            previous = out_channels
        super().__init__(*d)
        for m in self.children():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)


class KeypointRCNNPredictor(nn.Module):
    """A 4x4 stride-2 transposed conv to one heatmap per keypoint, then 2x bilinear upsampling."""

    def __init__(self, in_channels: int, num_keypoints: int) -> None:
        super().__init__()
        deconv_kernel = 4
        self.kps_score_lowres = nn.ConvTranspose2d(in_channels, num_keypoints, deconv_kernel, stride=2,
                                                   padding=deconv_kernel // 2 - 1)
        nn.init.kaiming_normal_(self.kps_score_lowres.weight, mode="fan_out", nonlinearity="relu")
        nn.init.constant_(self.kps_score_lowres.bias, 0)
        self.up_scale = 2
        self.out_channels = num_keypoints

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return F.interpolate(self.kps_score_lowres(x), scale_factor=float(self.up_scale), mode="bilinear",
                             align_corners=False, recompute_scale_factor=False)


@register_model()
def keypointrcnn_resnet50_fpn(*, weights: KeypointRCNN_ResNet50_FPN_Weights | None = None, progress: bool = True,
                              num_classes: int | None = None, num_keypoints: int | None = None,
                              weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                              trainable_backbone_layers: int | None = None, **kwargs: Any) -> KeypointRCNN:
    """Keypoint R-CNN with a ResNet-50-FPN backbone (2 classes and 17 COCO keypoints by default)."""
    weights, weights_backbone, num_classes = _resolve(weights, KeypointRCNN_ResNet50_FPN_Weights, weights_backbone,
                                                      ResNet50_Weights, num_classes, kwargs, default_classes=2)
    if weights is not None:
        num_keypoints = _ovewrite_value_param("num_keypoints", num_keypoints, len(weights.meta["keypoint_names"]))
    elif num_keypoints is None:
        num_keypoints = 17
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    model = KeypointRCNN(_resnet_fpn_extractor(backbone, trainable_backbone_layers), num_classes,
                         num_keypoints=num_keypoints, **kwargs)
    _load(model, weights, progress)
    if weights == KeypointRCNN_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)
    return model
