"""SqueezeNet 1.0 and 1.1 as torchvision builds them (https://arxiv.org/abs/1602.07360), with their
module and state_dict names: ``features.<i>`` (``Fire`` modules: ``squeeze``, ``expand1x1``,
``expand3x3``) and ``classifier.1`` (the final 1x1 convolution).

Example:
    >>> import ember
    >>> m = squeezenet1_1(num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 17, 17)).shape)
    (1, 10)
"""

from __future__ import annotations

from typing import Any

import ember
from ember import nn

from . import _weights
from ._registry import register_model
from ._weights_classic import SqueezeNet1_0_Weights, SqueezeNet1_1_Weights

__all__ = ["SqueezeNet", "SqueezeNet1_0_Weights", "SqueezeNet1_1_Weights", "squeezenet1_0", "squeezenet1_1"]


class Fire(nn.Module):
    """A 1x1 squeeze, then 1x1 and 3x3 expansions side by side, concatenated along the channels."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return ember.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), _pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), _pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                _pool(), Fire(512, 64, 256, 256),
            )
        elif version == "1_1":  # 2.4x less computation than 1.0 for the same accuracy
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), _pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), _pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), _pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        # the final convolution replaces a Linear layer: it gets a Linear-like small normal init
        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return ember.flatten(self.classifier(self.features(x)), 1)


def _squeezenet(version: str, builder: str, enum: type[_weights.WeightsEnum], weights: Any, progress: bool,
                kwargs: dict[str, Any]) -> SqueezeNet:
    weights = _weights.resolve(builder, enum, weights, kwargs)
    return _weights.load_weights(SqueezeNet(version, **kwargs), weights, progress)


@register_model()
def squeezenet1_0(*, weights: SqueezeNet1_0_Weights | None = None, progress: bool = True,
                  **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.0; ``weights`` load from torch.hub's cache."""
    return _squeezenet("1_0", "squeezenet1_0", SqueezeNet1_0_Weights, weights, progress, kwargs)


@register_model()
def squeezenet1_1(*, weights: SqueezeNet1_1_Weights | None = None, progress: bool = True,
                  **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.1 (https://github.com/forresti/SqueezeNet/tree/master/SqueezeNet_v1.1)."""
    return _squeezenet("1_1", "squeezenet1_1", SqueezeNet1_1_Weights, weights, progress, kwargs)
