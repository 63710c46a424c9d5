"""ShuffleNetV2 (https://arxiv.org/abs/1807.11164) as torchvision builds it, with its module and
state_dict names: ``conv1``, ``stage2``..``stage4`` (``branch1``/``branch2`` of each unit), ``conv5``, ``fc``.

Example:
    >>> import ember
    >>> m = shufflenet_v2_x0_5(num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 32, 32)).shape)
    (1, 10)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember
from ember import nn

from . import _weights
from ._registry import register_model
from ._weights_classic import (
    ShuffleNet_V2_X0_5_Weights,
    ShuffleNet_V2_X1_0_Weights,
    ShuffleNet_V2_X1_5_Weights,
    ShuffleNet_V2_X2_0_Weights,
)

__all__ = ["ShuffleNetV2", "ShuffleNet_V2_X0_5_Weights", "ShuffleNet_V2_X1_0_Weights", "ShuffleNet_V2_X1_5_Weights",
           "ShuffleNet_V2_X2_0_Weights", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
           "shufflenet_v2_x2_0"]


def channel_shuffle(x: ember.Tensor, groups: int) -> ember.Tensor:
    """Interleave the channels of ``groups`` groups: (N, g*c, H, W) -> (N, c*g, H, W), transposed blocks."""
    batchsize, num_channels, height, width = x.size()
    x = x.view(batchsize, groups, num_channels // groups, height, width)
    x = ember.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


class InvertedResidual(nn.Module):
    """A ShuffleNetV2 unit: stride 1 splits the channels and transforms one half; stride > 1 transforms the
    whole input twice (``branch1`` and ``branch2``); then the two halves are concatenated and shuffled."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        if not (1 <= stride <= 3):
            raise ValueError("illegal stride value")
        self.stride = stride
        branch_features = oup // 2
        if self.stride == 1 and inp != branch_features << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} values. If stride == 1 "
                             "then inp should be equal to oup // 2 << 1.")
        if self.stride > 1:
            self.branch1 = nn.Sequential(
                self.depthwise_conv(inp, inp, kernel_size=3, stride=self.stride, padding=1),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, kernel_size=1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if self.stride > 1 else branch_features, branch_features, kernel_size=1, stride=1,
                      padding=0, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
            self.depthwise_conv(branch_features, branch_features, kernel_size=3, stride=self.stride, padding=1),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
        )

    @staticmethod
    def depthwise_conv(i: int, o: int, kernel_size: int, stride: int = 1, padding: int = 0,
                       bias: bool = False) -> nn.Conv2d:
        return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = ember.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = ember.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """Layers keep PyTorch's default initialisation, as in torchvision."""

    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int], num_classes: int = 1000,
                 inverted_residual: Callable[..., nn.Module] = InvertedResidual) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        input_channels = 3
        output_channels = stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(input_channels, output_channels, 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(output_channels), nn.ReLU(inplace=True))
        input_channels = output_channels
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.stage2: nn.Sequential
        self.stage3: nn.Sequential
        self.stage4: nn.Sequential
        for name, repeats, output_channels in zip(("stage2", "stage3", "stage4"), stages_repeats,
                                                  stages_out_channels[1:]):
            seq = [inverted_residual(input_channels, output_channels, 2)]
            seq += [inverted_residual(output_channels, output_channels, 1) for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*seq))
            input_channels = output_channels
        output_channels = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
                                   nn.BatchNorm2d(output_channels), nn.ReLU(inplace=True))
        self.fc = nn.Linear(output_channels, num_classes)

    def _forward_impl(self, x: ember.Tensor) -> ember.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))  # global average pool

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return self._forward_impl(x)


def _shufflenetv2(builder: str, enum: type[_weights.WeightsEnum], weights: Any, progress: bool,
                  repeats: list[int], channels: list[int], kwargs: dict[str, Any]) -> ShuffleNetV2:
    weights = _weights.resolve(builder, enum, weights, kwargs)
    return _weights.load_weights(ShuffleNetV2(repeats, channels, **kwargs), weights, progress)


@register_model()
def shufflenet_v2_x0_5(*, weights: ShuffleNet_V2_X0_5_Weights | None = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNetV2 with 0.5x output channels; ``weights`` load from torch.hub's cache."""
    return _shufflenetv2("shufflenet_v2_x0_5", ShuffleNet_V2_X0_5_Weights, weights, progress, [4, 8, 4],
                         [24, 48, 96, 192, 1024], kwargs)


@register_model()
def shufflenet_v2_x1_0(*, weights: ShuffleNet_V2_X1_0_Weights | None = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNetV2 with 1.0x output channels."""
    return _shufflenetv2("shufflenet_v2_x1_0", ShuffleNet_V2_X1_0_Weights, weights, progress, [4, 8, 4],
                         [24, 116, 232, 464, 1024], kwargs)


@register_model()
def shufflenet_v2_x1_5(*, weights: ShuffleNet_V2_X1_5_Weights | None = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNetV2 with 1.5x output channels."""
    return _shufflenetv2("shufflenet_v2_x1_5", ShuffleNet_V2_X1_5_Weights, weights, progress, [4, 8, 4],
                         [24, 176, 352, 704, 1024], kwargs)


@register_model()
def shufflenet_v2_x2_0(*, weights: ShuffleNet_V2_X2_0_Weights | None = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNetV2 with 2.0x output channels."""
    return _shufflenetv2("shufflenet_v2_x2_0", ShuffleNet_V2_X2_0_Weights, weights, progress, [4, 8, 4],
                         [24, 244, 488, 976, 2048], kwargs)
