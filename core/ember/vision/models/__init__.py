"""torchvision's classification models: ResNet, VGG, MobileNetV2, with its state_dict names.

Pretrained weights can't be downloaded here; a torchvision weight file on disk loads as it is.

Example:
    >>> from ember.vision import models
    >>> m = models.resnet18()
    >>> m.fc.out_features
    1000
    >>> m.load_state_dict(m.state_dict())  # or ember.load("resnet18-f37072fd.pth")
    <All keys matched successfully>
"""

from __future__ import annotations

from typing import Any

from ._weights import weights_enum_error
from .mobilenetv2 import MobileNetV2, mobilenet_v2
from .resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = [
    "VGG", "MobileNetV2", "ResNet",
    "mobilenet_v2", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
]


def __getattr__(name: str) -> Any:
    # models.ResNet18_Weights.DEFAULT and the like: say why there are none rather than a bare AttributeError.
    if name.endswith("_Weights"):
        raise weights_enum_error(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
