"""ConvNeXt (https://arxiv.org/abs/2201.03545) as torchvision builds it, with its state_dict names.

Restated from torchvision/models/convnext.py (pytorch/vision): ``features.0`` is the 4x4 patchify stem,
then stages of ``CNBlock`` (depthwise 7x7, channels-last LayerNorm and MLP, a learned ``layer_scale``,
stochastic depth) alternating with downsampling layers; ``classifier.{0,2}`` is LayerNorm2d + Linear.

Example:
    >>> import ember
    >>> m = ConvNeXt([CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 1)], num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 32, 32)).shape)
    (1, 10)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import ember
from ember import nn
from ember.nn import functional as F

from ..ops.misc import Conv2dNormActivation, Permute
from ..ops.stochastic_depth import StochasticDepth
from . import _weights
from ._registry import register_model
from ._weights_modern import (
    ConvNeXt_Base_Weights,
    ConvNeXt_Large_Weights,
    ConvNeXt_Small_Weights,
    ConvNeXt_Tiny_Weights,
    resolve,
)

__all__ = ["ConvNeXt", "CNBlock", "CNBlockConfig", "LayerNorm2d", "convnext_tiny", "convnext_small",
           "convnext_base", "convnext_large"]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor (normalized channels-last, then permuted back)."""

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """``x + stochastic_depth(layer_scale * block(x))``; ``block`` is dwconv 7x7 -> LayerNorm -> Linear(4x)
    -> GELU -> Linear, the norm and MLP channels-last."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True), Permute([0, 2, 3, 1]),
            norm_layer(dim), nn.Linear(in_features=dim, out_features=4 * dim, bias=True), nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True), Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(ember.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        result = self.stochastic_depth(self.layer_scale * self.block(input))
        result += input
        return result


class CNBlockConfig:
    """One stage: its width, the width the following downsampling layer goes to (None: last stage), depth."""

    def __init__(self, input_channels: int, out_channels: int | None, num_layers: int) -> None:
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(input_channels={self.input_channels}, "
                f"out_channels={self.out_channels}, num_layers={self.num_layers})")


class ConvNeXt(nn.Module):
    def __init__(self, block_setting: list[CNBlockConfig], stochastic_depth_prob: float = 0.0,
                 layer_scale: float = 1e-6, num_classes: int = 1000, block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None, **kwargs: Any) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not (isinstance(block_setting, Sequence) and all(isinstance(s, CNBlockConfig) for s in block_setting)):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = block or CNBlock
        norm_layer = norm_layer or partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [Conv2dNormActivation(3, block_setting[0].input_channels, kernel_size=4, stride=4,
                                                        padding=0, norm_layer=norm_layer, activation_layer=None,
                                                        bias=True)]
        total_blocks = sum(cnf.num_layers for cnf in block_setting)
        block_id = 0
        for cnf in block_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                # rises linearly from 0 (first block) to stochastic_depth_prob (last block)
                sd_prob = stochastic_depth_prob * block_id / (total_blocks - 1.0)
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(norm_layer(cnf.input_channels),
                                            nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        last_channels = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(norm_layer(last_channels), nn.Flatten(1), nn.Linear(last_channels, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


# builder -> (weights enum, stages (width, depth), default stochastic_depth_prob)
_CONFIGS: dict[str, tuple[type, list[tuple[int, int]], float]] = {
    "convnext_tiny": (ConvNeXt_Tiny_Weights, [(96, 3), (192, 3), (384, 9), (768, 3)], 0.1),
    "convnext_small": (ConvNeXt_Small_Weights, [(96, 3), (192, 3), (384, 27), (768, 3)], 0.4),
    "convnext_base": (ConvNeXt_Base_Weights, [(128, 3), (256, 3), (512, 27), (1024, 3)], 0.5),
    "convnext_large": (ConvNeXt_Large_Weights, [(192, 3), (384, 3), (768, 27), (1536, 3)], 0.5),
}


def _build(arch: str, weights: Any, progress: bool, kwargs: dict[str, Any]) -> ConvNeXt:
    enum, stages, sd_prob = _CONFIGS[arch]
    weights = resolve(arch, enum, weights, kwargs)
    outs = [w for w, _ in stages[1:]] + [None]
    block_setting = [CNBlockConfig(w, out, n) for (w, n), out in zip(stages, outs)]
    sd_prob = kwargs.pop("stochastic_depth_prob", sd_prob)
    return _weights.load_weights(ConvNeXt(block_setting, stochastic_depth_prob=sd_prob, **kwargs), weights, progress)


@register_model()
def convnext_tiny(*, weights: ConvNeXt_Tiny_Weights | None = None, progress: bool = True,
                  **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Tiny; ``weights`` load from torch.hub's cache."""
    return _build("convnext_tiny", weights, progress, kwargs)


@register_model()
def convnext_small(*, weights: ConvNeXt_Small_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Small; ``weights`` load from torch.hub's cache."""
    return _build("convnext_small", weights, progress, kwargs)


@register_model()
def convnext_base(*, weights: ConvNeXt_Base_Weights | None = None, progress: bool = True,
                  **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Base; ``weights`` load from torch.hub's cache."""
    return _build("convnext_base", weights, progress, kwargs)


@register_model()
def convnext_large(*, weights: ConvNeXt_Large_Weights | None = None, progress: bool = True,
                   **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Large; ``weights`` load from torch.hub's cache."""
    return _build("convnext_large", weights, progress, kwargs)
