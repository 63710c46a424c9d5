"""RegNetX / RegNetY (https://arxiv.org/abs/2003.13678) as torchvision builds them, with their state_dict names.

Restated from torchvision/models/regnet.py (pytorch/vision): ``stem``, ``trunk_output.block<i>.block<i>-<j>``
(each a residual bottleneck ``f.{a,b,se,c}`` with an optional ``proj`` shortcut), ``fc``. The stage widths and
depths come from the paper's quantized linear rule, evaluated in float32 as torchvision does (so the rounding
of borderline widths agrees).

Example:
    >>> import ember
    >>> m = regnet_x_400mf(num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 32, 32)).shape), BlockParams.from_init_params(22, 24, 24.48, 2.54, 16).widths
    ((1, 10), [32, 64, 160, 400])
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

import ember
from ember import nn

from ..ops.misc import Conv2dNormActivation, SqueezeExcitation
from . import _weights
from ._registry import register_model
from ._weights_modern import (
    RegNet_X_1_6GF_Weights,
    RegNet_X_3_2GF_Weights,
    RegNet_X_8GF_Weights,
    RegNet_X_16GF_Weights,
    RegNet_X_32GF_Weights,
    RegNet_X_400MF_Weights,
    RegNet_X_800MF_Weights,
    RegNet_Y_1_6GF_Weights,
    RegNet_Y_3_2GF_Weights,
    RegNet_Y_8GF_Weights,
    RegNet_Y_16GF_Weights,
    RegNet_Y_32GF_Weights,
    RegNet_Y_128GF_Weights,
    RegNet_Y_400MF_Weights,
    RegNet_Y_800MF_Weights,
    resolve,
)
from .mobilenetv2 import _make_divisible

__all__ = ["RegNet", "BlockParams", "SimpleStemIN", "BottleneckTransform", "ResBottleneckBlock", "AnyStage",
           "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
           "regnet_y_32gf", "regnet_y_128gf", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
           "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf"]


class SimpleStemIN(Conv2dNormActivation):
    """The stem: a stride-2 3x3 conv, norm, activation."""

    def __init__(self, width_in: int, width_out: int, norm_layer: Callable[..., nn.Module],
                 activation_layer: Callable[..., nn.Module]) -> None:
        super().__init__(width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer,
                         activation_layer=activation_layer)


class BottleneckTransform(nn.Sequential):
    """1x1 (``a``), grouped 3x3 (``b``), optional squeeze-excitation (``se``), 1x1 without activation (``c``)."""

    def __init__(self, width_in: int, width_out: int, stride: int, norm_layer: Callable[..., nn.Module],
                 activation_layer: Callable[..., nn.Module], group_width: int, bottleneck_multiplier: float,
                 se_ratio: float | None) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        w_b = int(round(width_out * bottleneck_multiplier))
        g = w_b // group_width
        layers["a"] = Conv2dNormActivation(width_in, w_b, kernel_size=1, stride=1, norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        layers["b"] = Conv2dNormActivation(w_b, w_b, kernel_size=3, stride=stride, groups=g, norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        if se_ratio:  # the squeeze width follows the block's input width (RegNetY)
            layers["se"] = SqueezeExcitation(input_channels=w_b, squeeze_channels=int(round(se_ratio * width_in)),
                                             activation=activation_layer)
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, stride=1, norm_layer=norm_layer,
                                           activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """``activation(x + f(x))``, the shortcut projected (1x1 conv + norm) when the width or stride changes."""

    def __init__(self, width_in: int, width_out: int, stride: int, norm_layer: Callable[..., nn.Module],
                 activation_layer: Callable[..., nn.Module], group_width: int = 1,
                 bottleneck_multiplier: float = 1.0, se_ratio: float | None = None) -> None:
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             norm_layer=norm_layer, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer, group_width,
                                     bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self.proj(x) + self.f(x) if self.proj is not None else x + self.f(x)
        return self.activation(x)


class AnyStage(nn.Sequential):
    """``depth`` blocks named ``block<stage>-<i>``; only the first changes width and stride."""

    def __init__(self, width_in: int, width_out: int, stride: int, depth: int,
                 block_constructor: Callable[..., nn.Module], norm_layer: Callable[..., nn.Module],
                 activation_layer: Callable[..., nn.Module], group_width: int, bottleneck_multiplier: float,
                 se_ratio: float | None = None, stage_index: int = 0) -> None:
        super().__init__()
        for i in range(depth):
            block = block_constructor(width_in if i == 0 else width_out, width_out, stride if i == 0 else 1,
                                      norm_layer, activation_layer, group_width, bottleneck_multiplier, se_ratio)
            self.add_module(f"block{stage_index}-{i}", block)


class BlockParams:
    """Per-stage depths, widths, group widths, bottleneck multipliers and strides."""

    def __init__(self, depths: list[int], widths: list[int], group_widths: list[int],
                 bottleneck_multipliers: list[float], strides: list[int], se_ratio: float | None = None) -> None:
        self.depths = depths
        self.widths = widths
        self.group_widths = group_widths
        self.bottleneck_multipliers = bottleneck_multipliers
        self.strides = strides
        self.se_ratio = se_ratio

    @classmethod
    def from_init_params(cls, depth: int, w_0: int, w_a: float, w_m: float, group_width: int,
                         bottleneck_multiplier: float = 1.0, se_ratio: float | None = None,
                         **kwargs: Any) -> BlockParams:
        """The stages of the design space's linear rule ``u_j = w_0 + w_a * j``, quantized to powers of ``w_m``
        and to multiples of 8; consecutive blocks of one width form a stage."""
        quant, stride = 8, 2
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError("Invalid RegNet settings")
        f32 = np.float32  # torchvision computes these with float32 tensors: the same rounding here
        widths_cont = np.arange(depth).astype(f32) * f32(w_a) + f32(w_0)
        block_capacity = np.round(np.log(widths_cont / f32(w_0)) / f32(math.log(w_m)))
        block_widths = (np.round(f32(w_0) * np.power(f32(w_m), block_capacity) / f32(quant)) * f32(quant))
        block_widths = [int(w) for w in block_widths.astype(np.int32)]
        num_stages = len(set(block_widths))
        # a stage ends where the width changes
        splits = [w != wp for w, wp in zip(block_widths + [0], [0] + block_widths)]
        stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
        ends = [d for d, t in enumerate(splits) if t]
        stage_depths = [b - a for a, b in zip(ends[:-1], ends[1:])]
        stage_widths, group_widths = cls._adjust_widths_groups_compatibilty(
            stage_widths, [bottleneck_multiplier] * num_stages, [group_width] * num_stages)
        return cls(depths=stage_depths, widths=stage_widths, group_widths=group_widths,
                   bottleneck_multipliers=[bottleneck_multiplier] * num_stages, strides=[stride] * num_stages,
                   se_ratio=se_ratio)

    def _get_expanded_params(self) -> Any:
        return zip(self.widths, self.strides, self.depths, self.group_widths, self.bottleneck_multipliers)

    @staticmethod
    def _adjust_widths_groups_compatibilty(stage_widths: list[int], bottleneck_ratios: list[float],
                                           group_widths: list[int]) -> tuple[list[int], list[int]]:
        """Bottleneck widths made divisible by their group widths (a group can't be wider than its stage)."""
        widths = [int(w * b) for w, b in zip(stage_widths, bottleneck_ratios)]
        group_widths_min = [min(g, w_bot) for g, w_bot in zip(group_widths, widths)]
        ws_bot = [_make_divisible(w_bot, g) for w_bot, g in zip(widths, group_widths_min)]
        return [int(w_bot / b) for w_bot, b in zip(ws_bot, bottleneck_ratios)], group_widths_min


class RegNet(nn.Module):
    def __init__(self, block_params: BlockParams, num_classes: int = 1000, stem_width: int = 32,
                 stem_type: Callable[..., nn.Module] | None = None, block_type: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 activation: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        stem_type = stem_type or SimpleStemIN
        norm_layer = norm_layer or nn.BatchNorm2d
        block_type = block_type or ResBottleneckBlock
        activation = activation or nn.ReLU
        self.stem = stem_type(3, stem_width, norm_layer, activation)
        current_width = stem_width
        blocks = []
        for i, (width_out, stride, depth, group_width, bottleneck_multiplier) in enumerate(
                block_params._get_expanded_params()):
            blocks.append((f"block{i + 1}", AnyStage(current_width, width_out, stride, depth, block_type, norm_layer,
                                                     activation, group_width, bottleneck_multiplier,
                                                     block_params.se_ratio, stage_index=i + 1)))
            current_width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_features=current_width, out_features=num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # He init with fan-out (pycls)
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


# builder -> (weights enum, depth, w_0, w_a, w_m, group_width, se_ratio)
_CONFIGS: dict[str, tuple[type, int, int, float, float, int, float | None]] = {
    "regnet_y_400mf": (RegNet_Y_400MF_Weights, 16, 48, 27.89, 2.09, 8, 0.25),
    "regnet_y_800mf": (RegNet_Y_800MF_Weights, 14, 56, 38.84, 2.4, 16, 0.25),
    "regnet_y_1_6gf": (RegNet_Y_1_6GF_Weights, 27, 48, 20.71, 2.65, 24, 0.25),
    "regnet_y_3_2gf": (RegNet_Y_3_2GF_Weights, 21, 80, 42.63, 2.66, 24, 0.25),
    "regnet_y_8gf": (RegNet_Y_8GF_Weights, 17, 192, 76.82, 2.19, 56, 0.25),
    "regnet_y_16gf": (RegNet_Y_16GF_Weights, 18, 200, 106.23, 2.48, 112, 0.25),
    "regnet_y_32gf": (RegNet_Y_32GF_Weights, 20, 232, 115.89, 2.53, 232, 0.25),
    "regnet_y_128gf": (RegNet_Y_128GF_Weights, 27, 456, 160.83, 2.52, 264, 0.25),
    "regnet_x_400mf": (RegNet_X_400MF_Weights, 22, 24, 24.48, 2.54, 16, None),
    "regnet_x_800mf": (RegNet_X_800MF_Weights, 16, 56, 35.73, 2.28, 16, None),
    "regnet_x_1_6gf": (RegNet_X_1_6GF_Weights, 18, 80, 34.01, 2.25, 24, None),
    "regnet_x_3_2gf": (RegNet_X_3_2GF_Weights, 25, 88, 26.31, 2.25, 48, None),
    "regnet_x_8gf": (RegNet_X_8GF_Weights, 23, 80, 49.56, 2.88, 120, None),
    "regnet_x_16gf": (RegNet_X_16GF_Weights, 22, 216, 55.59, 2.1, 128, None),
    "regnet_x_32gf": (RegNet_X_32GF_Weights, 23, 320, 69.86, 2.0, 168, None),
}


def _build(arch: str, weights: Any, progress: bool, kwargs: dict[str, Any]) -> RegNet:
    enum, depth, w_0, w_a, w_m, group_width, se_ratio = _CONFIGS[arch]
    weights = resolve(arch, enum, weights, kwargs)
    params = BlockParams.from_init_params(depth=depth, w_0=w_0, w_a=w_a, w_m=w_m, group_width=group_width,
                                          se_ratio=se_ratio, **kwargs)
    norm_layer = kwargs.pop("norm_layer", partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    return _weights.load_weights(RegNet(params, norm_layer=norm_layer, **kwargs), weights, progress)


@register_model()
def regnet_y_400mf(*, weights: RegNet_Y_400MF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetY-400MF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_y_400mf", weights, progress, kwargs)


@register_model()
def regnet_y_800mf(*, weights: RegNet_Y_800MF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetY-800MF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_y_800mf", weights, progress, kwargs)


@register_model()
def regnet_y_1_6gf(*, weights: RegNet_Y_1_6GF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetY-1.6GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_y_1_6gf", weights, progress, kwargs)


@register_model()
def regnet_y_3_2gf(*, weights: RegNet_Y_3_2GF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetY-3.2GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_y_3_2gf", weights, progress, kwargs)


@register_model()
def regnet_y_8gf(*, weights: RegNet_Y_8GF_Weights | None = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-8GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_y_8gf", weights, progress, kwargs)


@register_model()
def regnet_y_16gf(*, weights: RegNet_Y_16GF_Weights | None = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-16GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_y_16gf", weights, progress, kwargs)


@register_model()
def regnet_y_32gf(*, weights: RegNet_Y_32GF_Weights | None = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-32GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_y_32gf", weights, progress, kwargs)


@register_model()
def regnet_y_128gf(*, weights: RegNet_Y_128GF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetY-128GF (only SWAG weights); ``weights`` load from torch.hub's cache."""
    return _build("regnet_y_128gf", weights, progress, kwargs)


@register_model()
def regnet_x_400mf(*, weights: RegNet_X_400MF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetX-400MF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_x_400mf", weights, progress, kwargs)


@register_model()
def regnet_x_800mf(*, weights: RegNet_X_800MF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetX-800MF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_x_800mf", weights, progress, kwargs)


@register_model()
def regnet_x_1_6gf(*, weights: RegNet_X_1_6GF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetX-1.6GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_x_1_6gf", weights, progress, kwargs)


@register_model()
def regnet_x_3_2gf(*, weights: RegNet_X_3_2GF_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> RegNet:
    """RegNetX-3.2GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_x_3_2gf", weights, progress, kwargs)


@register_model()
def regnet_x_8gf(*, weights: RegNet_X_8GF_Weights | None = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-8GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_x_8gf", weights, progress, kwargs)


@register_model()
def regnet_x_16gf(*, weights: RegNet_X_16GF_Weights | None = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-16GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_x_16gf", weights, progress, kwargs)


@register_model()
def regnet_x_32gf(*, weights: RegNet_X_32GF_Weights | None = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-32GF; ``weights`` load from torch.hub's cache."""
    return _build("regnet_x_32gf", weights, progress, kwargs)
