"""AlexNet as torchvision builds it (https://arxiv.org/abs/1404.5997, the "one weird trick" variant),
with its module and state_dict names: ``features.<i>``, ``avgpool`` to 6x6, ``classifier.<i>``.

Layers keep PyTorch's default initialisation, as in torchvision.

Example:
    >>> import ember
    >>> m = alexnet(num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 63, 63)).shape)
    (1, 10)
"""

from __future__ import annotations

from typing import Any

import ember
from ember import nn

from . import _weights
from ._registry import register_model
from ._weights_classic import AlexNet_Weights

__all__ = ["AlexNet", "AlexNet_Weights", "alexnet"]


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(ember.flatten(x, 1))


@register_model()
def alexnet(*, weights: AlexNet_Weights | None = None, progress: bool = True, **kwargs: Any) -> AlexNet:
    """AlexNet; ``weights`` load from torch.hub's cache (see :mod:`._weights`)."""
    weights = _weights.resolve("alexnet", AlexNet_Weights, weights, kwargs)
    return _weights.load_weights(AlexNet(**kwargs), weights, progress)
