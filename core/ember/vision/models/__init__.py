"""torchvision's classification models: ResNet, VGG, MobileNetV2, with its state_dict names.

Pretrained weights can't be downloaded here: ``weights=ResNet18_Weights.DEFAULT`` and the like load the
file from torch.hub's cache (``$TORCH_HOME/hub/checkpoints``), where torchvision keeps what it downloaded.

Example:
    >>> from ember.vision import models
    >>> m = models.resnet18()
    >>> m.fc.out_features
    1000
    >>> m.load_state_dict(m.state_dict())  # or ember.load("resnet18-f37072fd.pth")
    <All keys matched successfully>
"""

from __future__ import annotations

from ._weights import (
    MobileNet_V2_Weights,
    ResNet18_Weights,
    ResNet34_Weights,
    ResNet50_Weights,
    ResNet101_Weights,
    ResNet152_Weights,
    VGG11_BN_Weights,
    VGG11_Weights,
    VGG13_BN_Weights,
    VGG13_Weights,
    VGG16_BN_Weights,
    VGG16_Weights,
    VGG19_BN_Weights,
    VGG19_Weights,
    Weights,
    WeightsEnum,
    get_model_weights,
    get_weight,
)
from .mobilenetv2 import MobileNetV2, mobilenet_v2
from .resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = [
    "VGG", "MobileNetV2", "ResNet",
    "mobilenet_v2", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "Weights", "WeightsEnum", "get_model_weights", "get_weight",
    "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights",
    "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights", "VGG16_BN_Weights",
    "VGG19_Weights", "VGG19_BN_Weights", "MobileNet_V2_Weights",
]
