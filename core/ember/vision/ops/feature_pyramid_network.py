"""Feature Pyramid Network (Lin et al. 2017, https://arxiv.org/abs/1612.03144), with torchvision's
module and state_dict names, and its extra blocks (``LastLevelMaxPool``, RetinaNet's ``LastLevelP6P7``).

Example:
    >>> import ember
    >>> from collections import OrderedDict
    >>> m = FeaturePyramidNetwork([10, 20, 30], 5)
    >>> x = OrderedDict(feat0=ember.rand(1, 10, 16, 16), feat2=ember.rand(1, 20, 4, 4), feat3=ember.rand(1, 30, 2, 2))
    >>> [(k, tuple(v.shape)) for k, v in m(x).items()]
    [('feat0', (1, 5, 16, 16)), ('feat2', (1, 5, 4, 4)), ('feat3', (1, 5, 2, 2))]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import ember
import ember.nn.functional as F
from ember import nn

from .misc import Conv2dNormActivation

__all__ = ["FeaturePyramidNetwork", "ExtraFPNBlock", "LastLevelMaxPool", "LastLevelP6P7"]


class ExtraFPNBlock(nn.Module):
    """Base of the extra FPN blocks: ``forward(results, x, names)`` takes the FPN outputs, the original
    features and their names, and returns the extended outputs and names."""

    def forward(self, results: list[ember.Tensor], x: list[ember.Tensor],
                names: list[str]) -> tuple[list[ember.Tensor], list[str]]:
        raise NotImplementedError


class FeaturePyramidNetwork(nn.Module):
    """A top-down pathway with lateral connections over feature maps given in increasing depth.

    Each input level gets a 1x1 "inner" conv to ``out_channels``; from the deepest level up, the running
    map is upsampled (nearest) to the next level's size and added to its lateral map, and a 3x3 "layer"
    conv makes that level's output. ``extra_blocks`` may add levels; ``norm_layer`` goes after each conv.
    Input and output are ordered dicts of ``[N, C, H, W]`` maps, highest resolution first.

    Example:
        >>> m = FeaturePyramidNetwork([8, 16], 4, extra_blocks=LastLevelMaxPool())
        >>> sorted(m.state_dict())[:2]
        ['inner_blocks.0.0.bias', 'inner_blocks.0.0.weight']
    """

    _version = 2

    def __init__(self, in_channels_list: list[int], out_channels: int, extra_blocks: ExtraFPNBlock | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        self.inner_blocks = nn.ModuleList()
        self.layer_blocks = nn.ModuleList()
        for in_channels in in_channels_list:
            if in_channels == 0:
                raise ValueError("in_channels=0 is currently not supported")
            self.inner_blocks.append(Conv2dNormActivation(in_channels, out_channels, kernel_size=1, padding=0,
                                                          norm_layer=norm_layer, activation_layer=None))
            self.layer_blocks.append(Conv2dNormActivation(out_channels, out_channels, kernel_size=3,
                                                          norm_layer=norm_layer, activation_layer=None))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
        if extra_blocks is not None and not isinstance(extra_blocks, ExtraFPNBlock):
            raise TypeError(f"extra_blocks should be of type ExtraFPNBlock not {type(extra_blocks)}")
        self.extra_blocks = extra_blocks

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        # checkpoints before version 2 had plain convs: `inner_blocks.0.weight` is now `inner_blocks.0.0.weight`
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            for block in ("inner_blocks", "layer_blocks"):
                for i in range(len(self.inner_blocks)):
                    for kind in ("weight", "bias"):
                        old_key = f"{prefix}{block}.{i}.{kind}"
                        if old_key in state_dict:
                            state_dict[f"{prefix}{block}.{i}.0.{kind}"] = state_dict.pop(old_key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def get_result_from_inner_blocks(self, x: ember.Tensor, idx: int) -> ember.Tensor:
        """``self.inner_blocks[idx](x)`` (torchvision's TorchScript-friendly spelling)."""
        return self.inner_blocks[idx](x)

    def get_result_from_layer_blocks(self, x: ember.Tensor, idx: int) -> ember.Tensor:
        """``self.layer_blocks[idx](x)``."""
        return self.layer_blocks[idx](x)

    def forward(self, x: dict[str, ember.Tensor]) -> dict[str, ember.Tensor]:
        names = list(x.keys())
        feats = list(x.values())
        last_inner = self.get_result_from_inner_blocks(feats[-1], -1)
        results = [self.get_result_from_layer_blocks(last_inner, -1)]
        for idx in range(len(feats) - 2, -1, -1):
            inner_lateral = self.get_result_from_inner_blocks(feats[idx], idx)
            inner_top_down = F.interpolate(last_inner, size=tuple(inner_lateral.shape[-2:]), mode="nearest")
            last_inner = inner_lateral + inner_top_down
            results.insert(0, self.get_result_from_layer_blocks(last_inner, idx))
        if self.extra_blocks is not None:
            results, names = self.extra_blocks(results, feats, names)
        return OrderedDict(zip(names, results))


class LastLevelMaxPool(ExtraFPNBlock):
    """Adds a level ``"pool"``: the last output subsampled by 2 (``max_pool2d`` with a 1x1 kernel).

    Example:
        >>> import ember
        >>> out, names = LastLevelMaxPool()([ember.ones(1, 1, 5, 5)], [], ["p5"])
        >>> names, tuple(out[-1].shape)
        (['p5', 'pool'], (1, 1, 3, 3))
    """

    def forward(self, x: list[ember.Tensor], y: list[ember.Tensor],
                names: list[str]) -> tuple[list[ember.Tensor], list[str]]:
        names.append("pool")
        x.append(F.max_pool2d(x[-1], kernel_size=1, stride=2, padding=0))
        return x, names


class LastLevelP6P7(ExtraFPNBlock):
    """RetinaNet's extra levels ``"p6"`` and ``"p7"``: two stride-2 3x3 convs (ReLU between), from the
    last FPN output P5 when ``in_channels == out_channels``, else from the last input C5.

    Example:
        >>> m = LastLevelP6P7(8, 8)
        >>> m.use_P5, sorted(m.state_dict())
        (True, ['p6.bias', 'p6.weight', 'p7.bias', 'p7.weight'])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.p6 = nn.Conv2d(in_channels, out_channels, 3, 2, 1)
        self.p7 = nn.Conv2d(out_channels, out_channels, 3, 2, 1)
        for module in (self.p6, self.p7):
            nn.init.kaiming_uniform_(module.weight, a=1)
            nn.init.constant_(module.bias, 0)
        self.use_P5 = in_channels == out_channels

    def forward(self, p: list[ember.Tensor], c: list[ember.Tensor],
                names: list[str]) -> tuple[list[ember.Tensor], list[str]]:
        p5, c5 = p[-1], c[-1]
        p6 = self.p6(p5 if self.use_P5 else c5)
        p7 = self.p7(F.relu(p6))
        p.extend([p6, p7])
        names.extend(["p6", "p7"])
        return p, names
