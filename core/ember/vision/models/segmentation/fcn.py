"""FCN (https://arxiv.org/abs/1411.4038) as torchvision builds it: a dilated ResNet (output stride 8) and
an ``FCNHead``, with torchvision's state_dict names (``backbone.layer4...``, ``classifier.0.weight``,
``aux_classifier.4.bias``), so its COCO-trained weight files load as they are.

Example:
    >>> import ember
    >>> m = fcn_resnet50(weights_backbone=None, num_classes=3, aux_loss=True).eval()
    >>> out = m(ember.zeros(1, 3, 32, 32))
    >>> {k: tuple(v.shape) for k, v in out.items()}
    {'out': (1, 3, 32, 32), 'aux': (1, 3, 32, 32)}
"""

from __future__ import annotations

from typing import Any

from ember import nn

from .._registry import register_model
from .._utils import IntermediateLayerGetter, handle_legacy_interface
from .._weights import ResNet50_Weights, ResNet101_Weights, WeightsEnum
from ..resnet import ResNet, resnet50, resnet101
from ._utils import _load, _resolve, _SimpleSegmentationModel, _voc_weights

__all__ = ["FCN", "FCN_ResNet50_Weights", "FCN_ResNet101_Weights", "fcn_resnet50", "fcn_resnet101"]


class FCN(_SimpleSegmentationModel):
    """Fully Convolutional Network: ``backbone`` returns ``{"out": ..., "aux": ...}`` feature maps,
    ``classifier`` (and the optional ``aux_classifier``) turn them into per-pixel class scores."""


class FCNHead(nn.Sequential):
    """3x3 convolution to a quarter of the channels, batch norm, ReLU, dropout 0.1, 1x1 convolution to
    ``channels`` scores."""

    def __init__(self, in_channels: int, channels: int) -> None:
        inter_channels = in_channels // 4
        super().__init__(nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(inter_channels), nn.ReLU(), nn.Dropout(0.1),
                         nn.Conv2d(inter_channels, channels, 1))


class FCN_ResNet50_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    COCO_WITH_VOC_LABELS_V1 = _voc_weights("fcn_resnet50_coco-1167a1af.pth", 35322218, "fcn_resnet50", 60.5, 91.4,
                                           152.717, 135.009)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


class FCN_ResNet101_Weights(WeightsEnum):  # noqa: N801
    # torchvision's recipe link for this one points at deeplabv3_resnet101 (kept as it is)
    COCO_WITH_VOC_LABELS_V1 = _voc_weights("fcn_resnet101_coco-7ecb50ca.pth", 54314346, "deeplabv3_resnet101", 63.7,
                                           91.9, 232.738, 207.711)
    DEFAULT = COCO_WITH_VOC_LABELS_V1


def _fcn_resnet(backbone: ResNet, num_classes: int, aux: bool | None) -> FCN:
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    body = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return FCN(body, FCNHead(2048, num_classes), aux_classifier)


@register_model()
@handle_legacy_interface(weights=("pretrained", FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1),
                         weights_backbone=("pretrained_backbone", ResNet50_Weights.IMAGENET1K_V1))
def fcn_resnet50(*, weights: FCN_ResNet50_Weights | None = None, progress: bool = True,
                 num_classes: int | None = None, aux_loss: bool | None = None,
                 weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1, **kwargs: Any) -> FCN:
    """FCN with a ResNet-50 backbone (21 classes by default). As in torchvision, ``weights_backbone``
    defaults to the ImageNet weights (loaded from torch.hub's cache): pass ``weights_backbone=None`` for a
    randomly initialized model."""
    weights, weights_backbone, num_classes, aux_loss = _resolve(weights, weights_backbone, num_classes, aux_loss,
                                                                FCN_ResNet50_Weights, ResNet50_Weights)
    backbone = resnet50(weights=weights_backbone, replace_stride_with_dilation=[False, True, True])
    return _load(_fcn_resnet(backbone, num_classes, aux_loss), weights, progress)


@register_model()
@handle_legacy_interface(weights=("pretrained", FCN_ResNet101_Weights.COCO_WITH_VOC_LABELS_V1),
                         weights_backbone=("pretrained_backbone", ResNet101_Weights.IMAGENET1K_V1))
def fcn_resnet101(*, weights: FCN_ResNet101_Weights | None = None, progress: bool = True,
                  num_classes: int | None = None, aux_loss: bool | None = None,
                  weights_backbone: ResNet101_Weights | None = ResNet101_Weights.IMAGENET1K_V1,
                  **kwargs: Any) -> FCN:
    """FCN with a ResNet-101 backbone; see :func:`fcn_resnet50`."""
    weights, weights_backbone, num_classes, aux_loss = _resolve(weights, weights_backbone, num_classes, aux_loss,
                                                                FCN_ResNet101_Weights, ResNet101_Weights)
    backbone = resnet101(weights=weights_backbone, replace_stride_with_dilation=[False, True, True])
    return _load(_fcn_resnet(backbone, num_classes, aux_loss), weights, progress)
