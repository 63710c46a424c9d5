"""Lite R-ASPP (https://arxiv.org/abs/1905.02244) as torchvision builds it: a dilated MobileNetV3-Large
whose output-stride-8 ("low") and output-stride-16 ("high") features feed an ``LRASPPHead``, with
torchvision's state_dict names.

Example:
    >>> import ember
    >>> m = lraspp_mobilenet_v3_large(weights_backbone=None, num_classes=2).eval()
    >>> list(m(ember.zeros(1, 3, 32, 32)))
    ['out']
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import ember
from ember import nn
from ember.nn import functional as F

from .._registry import register_model
from .._utils import IntermediateLayerGetter, handle_legacy_interface
from .._weights import WeightsEnum
from .._weights_modern import MobileNet_V3_Large_Weights
from ..mobilenetv3 import MobileNetV3, mobilenet_v3_large
from ._utils import _load, _resolve, _voc_weights
from .deeplabv3 import _mobilenet_stages

__all__ = ["LRASPP", "LRASPP_MobileNet_V3_Large_Weights", "lraspp_mobilenet_v3_large"]


class LRASPP(nn.Module):
    """Lite R-ASPP: ``backbone`` returns ``{"low": ..., "high": ...}`` feature maps; the forward returns
    ``{"out": scores}`` upsampled (bilinear) to the input's size."""

    def __init__(self, backbone: nn.Module, low_channels: int, high_channels: int, num_classes: int,
                 inter_channels: int = 128) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = LRASPPHead(low_channels, high_channels, num_classes, inter_channels)

    def forward(self, input: ember.Tensor) -> OrderedDict[str, ember.Tensor]:
        out = self.classifier(self.backbone(input))
        result: OrderedDict[str, ember.Tensor] = OrderedDict()
        result["out"] = F.interpolate(out, size=tuple(input.shape[-2:]), mode="bilinear", align_corners=False)
        return result


class LRASPPHead(nn.Module):
    """The high features through a 1x1 conv-BN-ReLU (``cbr``), gated by a sigmoid of their global average
    (``scale``), upsampled to the low features' size; the sum of ``high_classifier`` on that and
    ``low_classifier`` on the low features."""

    def __init__(self, low_channels: int, high_channels: int, num_classes: int, inter_channels: int) -> None:
        super().__init__()
        self.cbr = nn.Sequential(nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                 nn.BatchNorm2d(inter_channels), nn.ReLU(inplace=True))
        self.scale = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                   nn.Sigmoid())
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, input: dict[str, ember.Tensor]) -> ember.Tensor:
        low, high = input["low"], input["high"]
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=tuple(low.shape[-2:]), mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)


class LRASPP_MobileNet_V3_Large_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    COCO_WITH_VOC_LABELS_V1 = _voc_weights("lraspp_mobilenet_v3_large-d234d4ea.pth", 3221538,
                                           "lraspp_mobilenet_v3_large", 57.9, 91.2, 2.086, 12.49)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


def _lraspp_mobilenetv3(backbone: MobileNetV3, num_classes: int) -> LRASPP:
    features = backbone.features
    stages = _mobilenet_stages(features)
    low_pos, high_pos = stages[-4], stages[-1]
    body = IntermediateLayerGetter(features, return_layers={str(low_pos): "low", str(high_pos): "high"})
    return LRASPP(body, features[low_pos].out_channels, features[high_pos].out_channels, num_classes)


@register_model()
@handle_legacy_interface(weights=("pretrained", LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1),
                         weights_backbone=("pretrained_backbone", MobileNet_V3_Large_Weights.IMAGENET1K_V1))
def lraspp_mobilenet_v3_large(*, weights: LRASPP_MobileNet_V3_Large_Weights | None = None, progress: bool = True,
                              num_classes: int | None = None,
                              weights_backbone: MobileNet_V3_Large_Weights | None = (
                                  MobileNet_V3_Large_Weights.IMAGENET1K_V1),
                              **kwargs: Any) -> LRASPP:
    """Lite R-ASPP with a dilated MobileNetV3-Large backbone (21 classes by default; no auxiliary head:
    ``aux_loss=True`` raises NotImplementedError). ``weights_backbone`` defaults to the ImageNet weights, as
    in torchvision: pass ``weights_backbone=None`` for a randomly initialized model."""
    if kwargs.pop("aux_loss", False):
        raise NotImplementedError("This model does not use auxiliary loss")
    weights, weights_backbone, num_classes, _ = _resolve(weights, weights_backbone, num_classes, None,
                                                         LRASPP_MobileNet_V3_Large_Weights,
                                                         MobileNet_V3_Large_Weights, has_aux=False)
    backbone = mobilenet_v3_large(weights=weights_backbone, dilated=True)
    return _load(_lraspp_mobilenetv3(backbone, num_classes), weights, progress)
