"""DenseNet-121/161/169/201 as torchvision builds them (https://arxiv.org/abs/1608.06993), with their
module and state_dict names: ``features.conv0``, ``features.denseblock<i>.denselayer<j>.{norm1,conv1,
norm2,conv2}``, ``features.transition<i>``, ``features.norm5`` and ``classifier``.

``memory_efficient=True`` recomputes each layer's concatenate-BN-ReLU-conv1x1 bottleneck in the
backward pass instead of keeping it (``ember.utils.checkpoint``, non-reentrant, as torchvision):
same results, less memory, slower. Old weight files name the layer parts ``norm.1``/``conv.2``...;
the builders rename those keys while loading, as torchvision does.

Example:
    >>> import ember
    >>> m = densenet121(num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 29, 29)).shape)
    (1, 10)
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import ember
import ember.utils.checkpoint as cp
from ember import nn
from ember.nn import functional as F

from . import _weights
from ._registry import register_model
from ._weights_classic import DenseNet121_Weights, DenseNet161_Weights, DenseNet169_Weights, DenseNet201_Weights

__all__ = ["DenseNet", "DenseNet121_Weights", "DenseNet161_Weights", "DenseNet169_Weights", "DenseNet201_Weights",
           "densenet121", "densenet161", "densenet169", "densenet201"]


class _DenseLayer(nn.Module):
    """BN-ReLU-conv1x1 (to ``bn_size * growth_rate`` channels), then BN-ReLU-conv3x3 (to ``growth_rate``)."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int, drop_rate: float,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def bn_function(self, inputs: list[ember.Tensor] | tuple[ember.Tensor, ...]) -> ember.Tensor:
        return self.conv1(self.relu1(self.norm1(ember.cat(list(inputs), 1))))

    def any_requires_grad(self, inputs: list[ember.Tensor]) -> bool:
        return any(t.requires_grad for t in inputs)

    def call_checkpoint_bottleneck(self, inputs: list[ember.Tensor]) -> ember.Tensor:
        def closure(*xs: ember.Tensor) -> ember.Tensor:
            return self.bn_function(xs)

        return cp.checkpoint(closure, *inputs, use_reentrant=False)

    def forward(self, input: ember.Tensor | list[ember.Tensor]) -> ember.Tensor:  # noqa: A002 - torchvision's name
        prev_features = [input] if isinstance(input, ember.Tensor) else input
        if self.memory_efficient and self.any_requires_grad(prev_features):
            bottleneck_output = self.call_checkpoint_bottleneck(prev_features)
        else:
            bottleneck_output = self.bn_function(prev_features)
        new_features = self.conv2(self.relu2(self.norm2(bottleneck_output)))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers, each fed the concatenation of the block input and every earlier output."""

    _version = 2

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int, growth_rate: int, drop_rate: float,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate=growth_rate, bn_size=bn_size,
                                drop_rate=drop_rate, memory_efficient=memory_efficient)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features: ember.Tensor) -> ember.Tensor:
        features = [init_features]
        for _, layer in self.items():
            features.append(layer(features))
        return ember.cat(features, 1)


class _Transition(nn.Sequential):
    """BN-ReLU-conv1x1 then a 2x2 average pool: halves the channels and the resolution between blocks."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """DenseNet-BC: ``block_config`` dense layers per block, ``growth_rate`` new channels per layer,
    ``bn_size * growth_rate`` bottleneck channels, ``drop_rate`` dropout after each layer."""

    def __init__(self, growth_rate: int = 32, block_config: tuple[int, int, int, int] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, drop_rate: float = 0, num_classes: int = 1000,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers=num_layers, num_input_features=num_features, bn_size=bn_size,
                                growth_rate=growth_rate, drop_rate=drop_rate, memory_efficient=memory_efficient)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)
        # the original Torch (Lua) init; the Linear weight keeps PyTorch's default
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = ember.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


# old files name a dense layer's parts "norm.1", "conv.2"...: module names can't hold "." any more
_OLD_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def _load_state_dict(model: DenseNet, weights: _weights.WeightsEnum, progress: bool) -> None:
    state_dict = weights.get_state_dict(progress=progress, check_hash=True)
    for key in list(state_dict.keys()):
        found = _OLD_KEY.match(key)
        if found:
            state_dict[found.group(1) + found.group(2)] = state_dict.pop(key)
    model.load_state_dict(state_dict)


def _densenet(growth_rate: int, block_config: tuple[int, int, int, int], num_init_features: int, builder: str,
              enum: type[_weights.WeightsEnum], weights: Any, progress: bool, kwargs: dict[str, Any]) -> DenseNet:
    weights = _weights.resolve(builder, enum, weights, kwargs)
    model = DenseNet(growth_rate, block_config, num_init_features, **kwargs)
    if weights is not None:
        _load_state_dict(model, weights, progress)
    return model


@register_model()
def densenet121(*, weights: DenseNet121_Weights | None = None, progress: bool = True, **kwargs: Any) -> DenseNet:
    """DenseNet-121; ``weights`` load from torch.hub's cache; ``memory_efficient=True`` checkpoints."""
    return _densenet(32, (6, 12, 24, 16), 64, "densenet121", DenseNet121_Weights, weights, progress, kwargs)


@register_model()
def densenet161(*, weights: DenseNet161_Weights | None = None, progress: bool = True, **kwargs: Any) -> DenseNet:
    """DenseNet-161 (growth rate 48, 96 initial features)."""
    return _densenet(48, (6, 12, 36, 24), 96, "densenet161", DenseNet161_Weights, weights, progress, kwargs)


@register_model()
def densenet169(*, weights: DenseNet169_Weights | None = None, progress: bool = True, **kwargs: Any) -> DenseNet:
    """DenseNet-169."""
    return _densenet(32, (6, 12, 32, 32), 64, "densenet169", DenseNet169_Weights, weights, progress, kwargs)


@register_model()
def densenet201(*, weights: DenseNet201_Weights | None = None, progress: bool = True, **kwargs: Any) -> DenseNet:
    """DenseNet-201."""
    return _densenet(32, (6, 12, 48, 32), 64, "densenet201", DenseNet201_Weights, weights, progress, kwargs)
