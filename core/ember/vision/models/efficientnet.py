"""EfficientNet B0-B7 (https://arxiv.org/abs/1905.11946) and EfficientNetV2 S/M/L
(https://arxiv.org/abs/2104.00298) as torchvision builds them, with their state_dict names.

Restated from torchvision/models/efficientnet.py (pytorch/vision): ``features.0`` is the stem,
``features.<stage>.<block>.block.<j>`` the MBConv / FusedMBConv blocks, then the last 1x1 conv and
``classifier.1``. Each residual block drops its branch with stochastic depth ("row" mode), at a
probability rising linearly with the block's index.

Example:
    >>> import ember
    >>> m = efficientnet_b0(num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 32, 32)).shape)
    (1, 10)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import ember
from ember import nn

from ..ops.misc import Conv2dNormActivation, SqueezeExcitation
from ..ops.stochastic_depth import StochasticDepth
from . import _weights
from ._registry import register_model
from ._weights_modern import (
    EfficientNet_B0_Weights,
    EfficientNet_B1_Weights,
    EfficientNet_B2_Weights,
    EfficientNet_B3_Weights,
    EfficientNet_B4_Weights,
    EfficientNet_B5_Weights,
    EfficientNet_B6_Weights,
    EfficientNet_B7_Weights,
    EfficientNet_V2_L_Weights,
    EfficientNet_V2_M_Weights,
    EfficientNet_V2_S_Weights,
    resolve,
)
from .mobilenetv2 import _make_divisible

__all__ = ["EfficientNet", "MBConvConfig", "FusedMBConvConfig", "MBConv", "FusedMBConv", "efficientnet_b0",
           "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
           "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"]


@dataclass
class _MBConvConfig:
    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int
    block: Callable[..., nn.Module]

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConvConfig(_MBConvConfig):
    """A stage of MBConv blocks; widths scale by ``width_mult`` and the depth by ``depth_mult`` (rounded up)."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int, out_channels: int,
                 num_layers: int, width_mult: float = 1.0, depth_mult: float = 1.0,
                 block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__(expand_ratio, kernel, stride, self.adjust_channels(input_channels, width_mult),
                         self.adjust_channels(out_channels, width_mult), self.adjust_depth(num_layers, depth_mult),
                         block or MBConv)

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        return int(math.ceil(num_layers * depth_mult))


class FusedMBConvConfig(_MBConvConfig):
    """A stage of FusedMBConv blocks (EfficientNetV2's early stages)."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int, out_channels: int,
                 num_layers: int, block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__(expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                         block or FusedMBConv)


class MBConv(nn.Module):
    """Expand (1x1), depthwise kxk, squeeze-excitation (SiLU), project (1x1, linear), all with SiLU."""

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float, norm_layer: Callable[..., nn.Module],
                 se_layer: Callable[..., nn.Module] = SqueezeExcitation) -> None:
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers: list[nn.Module] = []
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded, norm_layer=norm_layer, activation_layer=nn.SiLU))
        # the squeeze width follows the block's input, not its expanded width
        layers.append(se_layer(expanded, max(1, cnf.input_channels // 4), activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class FusedMBConv(nn.Module):
    """A full kxk convolution in place of MBConv's expand + depthwise pair, then a 1x1 projection."""

    def __init__(self, cnf: FusedMBConvConfig, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers: list[nn.Module] = []
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=cnf.kernel,
                                               stride=cnf.stride, norm_layer=norm_layer, activation_layer=nn.SiLU))
            layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=None))
        else:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.out_channels, kernel_size=cnf.kernel,
                                               stride=cnf.stride, norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNet(nn.Module):
    def __init__(self, inverted_residual_setting: Sequence[MBConvConfig | FusedMBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None, last_channel: int | None = None) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence)
                and all(isinstance(s, _MBConvConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = norm_layer or nn.BatchNorm2d
        layers: list[nn.Module] = [Conv2dNormActivation(3, inverted_residual_setting[0].input_channels, kernel_size=3,
                                                        stride=2, norm_layer=norm_layer, activation_layer=nn.SiLU)]
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # only a stage's first block changes width or stride
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_out, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = ember.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def _efficientnet_conf(arch: str, **kwargs: Any) -> tuple[list[_MBConvConfig], int | None]:
    """The stage table of ``arch``: B0's scaled by ``width_mult``/``depth_mult``, or a V2 one."""
    if arch.startswith("efficientnet_b"):
        c = partial(MBConvConfig, width_mult=kwargs.pop("width_mult"), depth_mult=kwargs.pop("depth_mult"))
        # expand ratio, kernel, stride, in, out, layers
        return [c(1, 3, 1, 32, 16, 1), c(6, 3, 2, 16, 24, 2), c(6, 5, 2, 24, 40, 2), c(6, 3, 2, 40, 80, 3),
                c(6, 5, 1, 80, 112, 3), c(6, 5, 2, 112, 192, 4), c(6, 3, 1, 192, 320, 1)], None
    f, m = FusedMBConvConfig, MBConvConfig
    if arch.startswith("efficientnet_v2_s"):
        setting = [f(1, 3, 1, 24, 24, 2), f(4, 3, 2, 24, 48, 4), f(4, 3, 2, 48, 64, 4), m(4, 3, 2, 64, 128, 6),
                   m(6, 3, 1, 128, 160, 9), m(6, 3, 2, 160, 256, 15)]
    elif arch.startswith("efficientnet_v2_m"):
        setting = [f(1, 3, 1, 24, 24, 3), f(4, 3, 2, 24, 48, 5), f(4, 3, 2, 48, 80, 5), m(4, 3, 2, 80, 160, 7),
                   m(6, 3, 1, 160, 176, 14), m(6, 3, 2, 176, 304, 18), m(6, 3, 1, 304, 512, 5)]
    elif arch.startswith("efficientnet_v2_l"):
        setting = [f(1, 3, 1, 32, 32, 4), f(4, 3, 2, 32, 64, 7), f(4, 3, 2, 64, 96, 7), m(4, 3, 2, 96, 192, 10),
                   m(6, 3, 1, 192, 224, 19), m(6, 3, 2, 224, 384, 25), m(6, 3, 1, 384, 640, 7)]
    else:
        raise ValueError(f"Unsupported model type {arch}")
    return setting, 1280


# builder -> (weights enum, width_mult, depth_mult, default dropout, norm layer)
_BN_TF = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)  # B5-B7: ported from TF (lukemelas)
_BN_V2 = partial(nn.BatchNorm2d, eps=0.001)
_CONFIGS: dict[str, tuple[type, float, float, float, Any]] = {
    "efficientnet_b0": (EfficientNet_B0_Weights, 1.0, 1.0, 0.2, None),
    "efficientnet_b1": (EfficientNet_B1_Weights, 1.0, 1.1, 0.2, None),
    "efficientnet_b2": (EfficientNet_B2_Weights, 1.1, 1.2, 0.3, None),
    "efficientnet_b3": (EfficientNet_B3_Weights, 1.2, 1.4, 0.3, None),
    "efficientnet_b4": (EfficientNet_B4_Weights, 1.4, 1.8, 0.4, None),
    "efficientnet_b5": (EfficientNet_B5_Weights, 1.6, 2.2, 0.4, _BN_TF),
    "efficientnet_b6": (EfficientNet_B6_Weights, 1.8, 2.6, 0.5, _BN_TF),
    "efficientnet_b7": (EfficientNet_B7_Weights, 2.0, 3.1, 0.5, _BN_TF),
    "efficientnet_v2_s": (EfficientNet_V2_S_Weights, 1.0, 1.0, 0.2, _BN_V2),
    "efficientnet_v2_m": (EfficientNet_V2_M_Weights, 1.0, 1.0, 0.3, _BN_V2),
    "efficientnet_v2_l": (EfficientNet_V2_L_Weights, 1.0, 1.0, 0.4, _BN_V2),
}


def _build(arch: str, weights: Any, progress: bool, kwargs: dict[str, Any]) -> EfficientNet:
    enum, width_mult, depth_mult, dropout, norm_layer = _CONFIGS[arch]
    weights = resolve(arch, enum, weights, kwargs)
    conf_kw = {"width_mult": width_mult, "depth_mult": depth_mult} if arch.startswith("efficientnet_b") else {}
    setting, last_channel = _efficientnet_conf(arch, **conf_kw)
    dropout = kwargs.pop("dropout", dropout)
    if norm_layer is not None:  # as torchvision: passing norm_layer= too is a TypeError (given twice)
        model = EfficientNet(setting, dropout, last_channel=last_channel, norm_layer=norm_layer, **kwargs)
    else:
        model = EfficientNet(setting, dropout, last_channel=last_channel, **kwargs)
    return _weights.load_weights(model, weights, progress)


@register_model()
def efficientnet_b0(*, weights: EfficientNet_B0_Weights | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B0; ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_b0", weights, progress, kwargs)


@register_model()
def efficientnet_b1(*, weights: EfficientNet_B1_Weights | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B1; ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_b1", weights, progress, kwargs)


@register_model()
def efficientnet_b2(*, weights: EfficientNet_B2_Weights | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B2; ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_b2", weights, progress, kwargs)


@register_model()
def efficientnet_b3(*, weights: EfficientNet_B3_Weights | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B3; ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_b3", weights, progress, kwargs)


@register_model()
def efficientnet_b4(*, weights: EfficientNet_B4_Weights | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B4; ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_b4", weights, progress, kwargs)


@register_model()
def efficientnet_b5(*, weights: EfficientNet_B5_Weights | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B5 (TF-style BatchNorm: eps 1e-3, momentum 0.01); ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_b5", weights, progress, kwargs)


@register_model()
def efficientnet_b6(*, weights: EfficientNet_B6_Weights | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B6 (TF-style BatchNorm); ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_b6", weights, progress, kwargs)


@register_model()
def efficientnet_b7(*, weights: EfficientNet_B7_Weights | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B7 (TF-style BatchNorm); ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_b7", weights, progress, kwargs)


@register_model()
def efficientnet_v2_s(*, weights: EfficientNet_V2_S_Weights | None = None, progress: bool = True,
                      **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-S; ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_v2_s", weights, progress, kwargs)


@register_model()
def efficientnet_v2_m(*, weights: EfficientNet_V2_M_Weights | None = None, progress: bool = True,
                      **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-M; ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_v2_m", weights, progress, kwargs)


@register_model()
def efficientnet_v2_l(*, weights: EfficientNet_V2_L_Weights | None = None, progress: bool = True,
                      **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-L; ``weights`` load from torch.hub's cache."""
    return _build("efficientnet_v2_l", weights, progress, kwargs)
