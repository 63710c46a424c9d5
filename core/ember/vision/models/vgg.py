"""VGG as torchvision builds it, with its module and state_dict names.

Restated from torchvision/models/vgg.py (pytorch/vision): ``features`` (convolutions, ``M`` =
max pool), ``avgpool`` to 7x7, and a three-layer ``classifier``; ``_bn`` variants put a
BatchNorm2d after each convolution.

Example:
    >>> m = vgg11(num_classes=10, init_weights=False)  # skip the init: weights are loaded next
    >>> [k for k in m.state_dict() if k.startswith("classifier")][:2]
    ['classifier.0.weight', 'classifier.0.bias']
"""

from __future__ import annotations

from typing import Any

import ember
from ember import nn

from . import _weights

__all__ = ["VGG", "make_layers", "cfgs", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
           "vgg19", "vgg19_bn"]

# Output channels of each 3x3 convolution, "M" for a 2x2 max pool (torchvision's configurations A, B, D, E).
cfgs: dict[str, list[str | int]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = ember.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def make_layers(cfg: list[str | int], batch_norm: bool = False) -> nn.Sequential:
    """The ``features`` stack of one configuration."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv = nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(int(v)), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
        in_channels = int(v)
    return nn.Sequential(*layers)


def _vgg(name: str, cfg: str, batch_norm: bool, weights: Any, kwargs: dict[str, Any]) -> VGG:
    progress = kwargs.pop("progress", True)
    weights = _weights.resolve(name, _weights.get_model_weights(name), weights, kwargs)
    if weights is not None:
        kwargs["init_weights"] = False  # overwritten by the loaded weights
    model = VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)
    return _weights.load_weights(model, weights, progress)


def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration A, https://arxiv.org/abs/1409.1556); ``weights`` load from torch.hub's cache."""
    return _vgg("vgg11", "A", False, weights, {**kwargs, "progress": progress})


def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with batch normalization; ``weights`` load from torch.hub's cache."""
    return _vgg("vgg11_bn", "A", True, weights, {**kwargs, "progress": progress})


def vgg13(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 (configuration B); ``weights`` load from torch.hub's cache."""
    return _vgg("vgg13", "B", False, weights, {**kwargs, "progress": progress})


def vgg13_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 with batch normalization; ``weights`` load from torch.hub's cache."""
    return _vgg("vgg13_bn", "B", True, weights, {**kwargs, "progress": progress})


def vgg16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (configuration D); ``weights`` load from torch.hub's cache."""
    return _vgg("vgg16", "D", False, weights, {**kwargs, "progress": progress})


def vgg16_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 with batch normalization; ``weights`` load from torch.hub's cache."""
    return _vgg("vgg16_bn", "D", True, weights, {**kwargs, "progress": progress})


def vgg19(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 (configuration E); ``weights`` load from torch.hub's cache."""
    return _vgg("vgg19", "E", False, weights, {**kwargs, "progress": progress})


def vgg19_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 with batch normalization; ``weights`` load from torch.hub's cache."""
    return _vgg("vgg19_bn", "E", True, weights, {**kwargs, "progress": progress})
