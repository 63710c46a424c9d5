"""DeepLabV3 (https://arxiv.org/abs/1706.05587) as torchvision builds it: a dilated ResNet-50/101 (output
stride 8) or MobileNetV3-Large (output stride 16), an ASPP head (``DeepLabHead``) and an optional
``FCNHead`` auxiliary classifier, with torchvision's state_dict names.

Example:
    >>> import ember
    >>> m = deeplabv3_mobilenet_v3_large(weights_backbone=None, num_classes=4).eval()
    >>> tuple(m(ember.zeros(1, 3, 32, 32))["out"].shape)
    (1, 4, 32, 32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ember
from ember import nn
from ember.nn import functional as F

from .._registry import register_model
from .._utils import IntermediateLayerGetter, handle_legacy_interface
from .._weights import ResNet50_Weights, ResNet101_Weights, WeightsEnum
from .._weights_modern import MobileNet_V3_Large_Weights
from ..mobilenetv3 import MobileNetV3, mobilenet_v3_large
from ..resnet import ResNet, resnet50, resnet101
from ._utils import _load, _resolve, _SimpleSegmentationModel, _voc_weights
from .fcn import FCNHead

__all__ = ["DeepLabV3", "DeepLabV3_ResNet50_Weights", "DeepLabV3_ResNet101_Weights",
           "DeepLabV3_MobileNet_V3_Large_Weights", "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50",
           "deeplabv3_resnet101"]


class DeepLabV3(_SimpleSegmentationModel):
    """DeepLabV3: ``backbone`` returns ``{"out": ..., "aux": ...}`` feature maps, ``classifier`` (a
    :class:`DeepLabHead`) and the optional ``aux_classifier`` turn them into per-pixel class scores."""


class ASPPConv(nn.Sequential):
    """One atrous branch: a 3x3 convolution dilated by ``dilation`` (same size out), batch norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
        super().__init__(nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class ASPPPooling(nn.Sequential):
    """The image-level branch: global average pool, 1x1 convolution, batch norm, ReLU, then upsampled
    (bilinear) back to the input's size."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        size = tuple(x.shape[-2:])
        for module in self:
            x = module(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling: a 1x1 branch, one :class:`ASPPConv` per rate and an
    :class:`ASPPPooling` branch (``convs``), concatenated and projected to ``out_channels`` (with dropout
    0.5; ``project``)."""

    def __init__(self, in_channels: int, atrous_rates: Sequence[int], out_channels: int = 256) -> None:
        super().__init__()
        branches: list[nn.Module] = [nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                                   nn.BatchNorm2d(out_channels), nn.ReLU())]
        branches += [ASPPConv(in_channels, out_channels, rate) for rate in tuple(atrous_rates)]
        branches.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return self.project(ember.cat([conv(x) for conv in self.convs], dim=1))


class DeepLabHead(nn.Sequential):
    """ASPP (256 channels), a 3x3 convolution, batch norm, ReLU and a 1x1 convolution to the class scores."""

    def __init__(self, in_channels: int, num_classes: int, atrous_rates: Sequence[int] = (12, 24, 36)) -> None:
        super().__init__(ASPP(in_channels, atrous_rates), nn.Conv2d(256, 256, 3, padding=1, bias=False),
                         nn.BatchNorm2d(256), nn.ReLU(), nn.Conv2d(256, num_classes, 1))


class DeepLabV3_ResNet50_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    COCO_WITH_VOC_LABELS_V1 = _voc_weights("deeplabv3_resnet50_coco-cd0a2569.pth", 42004074, "deeplabv3_resnet50",
                                           66.4, 92.4, 178.722, 160.515)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


class DeepLabV3_ResNet101_Weights(WeightsEnum):  # noqa: N801
    # torchvision's recipe link for this one points at fcn_resnet101 (kept as it is)
    COCO_WITH_VOC_LABELS_V1 = _voc_weights("deeplabv3_resnet101_coco-586e9e4e.pth", 60996202, "fcn_resnet101", 67.4,
                                           92.4, 258.743, 233.217)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


class DeepLabV3_MobileNet_V3_Large_Weights(WeightsEnum):  # noqa: N801
    COCO_WITH_VOC_LABELS_V1 = _voc_weights("deeplabv3_mobilenet_v3_large-fc3c493d.pth", 11029328,
                                           "deeplabv3_mobilenet_v3_large", 60.3, 91.2, 10.452, 42.301)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


def _deeplabv3_resnet(backbone: ResNet, num_classes: int, aux: bool | None) -> DeepLabV3:
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    body = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return DeepLabV3(body, DeepLabHead(2048, num_classes), aux_classifier)


def _mobilenet_stages(features: nn.Sequential) -> list[int]:
    """The indices of ``features``' stage ends: the stem, every strided block (C1..Cn-1) and the last
    layer (Cn). ``[-1]`` has output stride 16 (the dilated backbone), ``[-4]`` output stride 8."""
    return [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)] + [len(features) - 1]


def _deeplabv3_mobilenetv3(backbone: MobileNetV3, num_classes: int, aux: bool | None) -> DeepLabV3:
    features = backbone.features
    stages = _mobilenet_stages(features)
    out_pos, aux_pos = stages[-1], stages[-4]
    return_layers = {str(out_pos): "out"}
    if aux:
        return_layers[str(aux_pos)] = "aux"
    body = IntermediateLayerGetter(features, return_layers=return_layers)
    aux_classifier = FCNHead(features[aux_pos].out_channels, num_classes) if aux else None
    return DeepLabV3(body, DeepLabHead(features[out_pos].out_channels, num_classes), aux_classifier)


@register_model()
@handle_legacy_interface(weights=("pretrained", DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1),
                         weights_backbone=("pretrained_backbone", ResNet50_Weights.IMAGENET1K_V1))
def deeplabv3_resnet50(*, weights: DeepLabV3_ResNet50_Weights | None = None, progress: bool = True,
                       num_classes: int | None = None, aux_loss: bool | None = None,
                       weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                       **kwargs: Any) -> DeepLabV3:
    """DeepLabV3 with a ResNet-50 backbone (21 classes by default). As in torchvision, ``weights_backbone``
    defaults to the ImageNet weights (loaded from torch.hub's cache): pass ``weights_backbone=None`` for a
    randomly initialized model. Other keyword arguments are ignored."""
    weights, weights_backbone, num_classes, aux_loss = _resolve(weights, weights_backbone, num_classes, aux_loss,
                                                                DeepLabV3_ResNet50_Weights, ResNet50_Weights)
    backbone = resnet50(weights=weights_backbone, replace_stride_with_dilation=[False, True, True])
    return _load(_deeplabv3_resnet(backbone, num_classes, aux_loss), weights, progress)


@register_model()
@handle_legacy_interface(weights=("pretrained", DeepLabV3_ResNet101_Weights.COCO_WITH_VOC_LABELS_V1),
                         weights_backbone=("pretrained_backbone", ResNet101_Weights.IMAGENET1K_V1))
def deeplabv3_resnet101(*, weights: DeepLabV3_ResNet101_Weights | None = None, progress: bool = True,
                        num_classes: int | None = None, aux_loss: bool | None = None,
                        weights_backbone: ResNet101_Weights | None = ResNet101_Weights.IMAGENET1K_V1,
                        **kwargs: Any) -> DeepLabV3:
    """DeepLabV3 with a ResNet-101 backbone; see :func:`deeplabv3_resnet50`."""
    weights, weights_backbone, num_classes, aux_loss = _resolve(weights, weights_backbone, num_classes, aux_loss,
                                                                DeepLabV3_ResNet101_Weights, ResNet101_Weights)
    backbone = resnet101(weights=weights_backbone, replace_stride_with_dilation=[False, True, True])
    return _load(_deeplabv3_resnet(backbone, num_classes, aux_loss), weights, progress)


@register_model()
@handle_legacy_interface(weights=("pretrained", DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1),
                         weights_backbone=("pretrained_backbone", MobileNet_V3_Large_Weights.IMAGENET1K_V1))
def deeplabv3_mobilenet_v3_large(*, weights: DeepLabV3_MobileNet_V3_Large_Weights | None = None,
                                 progress: bool = True, num_classes: int | None = None,
                                 aux_loss: bool | None = None,
                                 weights_backbone: MobileNet_V3_Large_Weights | None = (
                                     MobileNet_V3_Large_Weights.IMAGENET1K_V1),
                                 **kwargs: Any) -> DeepLabV3:
    """DeepLabV3 with a dilated MobileNetV3-Large backbone; see :func:`deeplabv3_resnet50`."""
    weights, weights_backbone, num_classes, aux_loss = _resolve(
        weights, weights_backbone, num_classes, aux_loss, DeepLabV3_MobileNet_V3_Large_Weights,
        MobileNet_V3_Large_Weights)
    backbone = mobilenet_v3_large(weights=weights_backbone, dilated=True)
    return _load(_deeplabv3_mobilenetv3(backbone, num_classes, aux_loss), weights, progress)
