"""torchvision.ops.misc: the small layers torchvision's models are built from.

``Conv2dNormActivation`` / ``Conv3dNormActivation`` (conv, norm, activation as one ``Sequential``, so
their state_dict keys are ``0.weight``, ``1.running_mean``...), ``SqueezeExcitation``, ``MLP``,
``Permute`` and ``FrozenBatchNorm2d``, with torchvision's constructor arguments, defaults and module
names, restated from torchvision/ops/misc.py (pytorch/vision).

Example:
    >>> import ember
    >>> from ember.vision.ops import Conv2dNormActivation
    >>> block = Conv2dNormActivation(3, 8, kernel_size=3, stride=2)
    >>> [name for name, _ in block.named_children()], tuple(block(ember.zeros(1, 3, 8, 8)).shape)
    (['0', '1', '2'], (1, 8, 4, 4))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import ember
from ember import nn
from ember.nn.modules.utils import _ntuple

__all__ = ["FrozenBatchNorm2d", "ConvNormActivation", "Conv2dNormActivation", "Conv3dNormActivation",
           "SqueezeExcitation", "MLP", "Permute"]

interpolate = nn.functional.interpolate


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d whose statistics and affine parameters are fixed: all four are buffers, not parameters.

    Example:
        >>> import ember
        >>> bn = FrozenBatchNorm2d(2)
        >>> sorted(bn.state_dict()), bn(ember.ones(1, 2, 1, 1)).flatten().tolist()
        (['bias', 'running_mean', 'running_var', 'weight'], [0.9999949932098389, 0.9999949932098389])
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", ember.ones(num_features))
        self.register_buffer("bias", ember.zeros(num_features))
        self.register_buffer("running_mean", ember.zeros(num_features))
        self.register_buffer("running_var", ember.ones(num_features))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        # a BatchNorm2d checkpoint has num_batches_tracked, which a frozen layer has no use for
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        # the same order of operations as torchvision, so the rounding matches too
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        return x * scale + (b - rm * scale)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.weight.shape[0]}, eps={self.eps})"


class ConvNormActivation(nn.Sequential):
    """Convolution, then an optional norm layer, then an optional activation (the base of the 2d/3d blocks)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, ...] = 3,
                 stride: int | tuple[int, ...] = 1, padding: int | tuple[int, ...] | str | None = None,
                 groups: int = 1, norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU, dilation: int | tuple[int, ...] = 1,
                 inplace: bool | None = True, bias: bool | None = None,
                 conv_layer: Callable[..., nn.Module] = nn.Conv2d) -> None:
        if padding is None:  # "same" for odd kernels at stride 1
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                n = len(kernel_size) if isinstance(kernel_size, Sequence) else len(dilation)  # type: ignore[arg-type]
                kernel_size, dilation = _ntuple(n)(kernel_size), _ntuple(n)(dilation)
                padding = tuple((kernel_size[i] - 1) // 2 * dilation[i] for i in range(n))
        if bias is None:  # a norm layer's shift makes a conv bias redundant
            bias = norm_layer is None
        layers: list[nn.Module] = [conv_layer(in_channels, out_channels, kernel_size, stride, padding,
                                              dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer() if inplace is None else activation_layer(inplace=inplace))
        super().__init__(*layers)
        self.out_channels = out_channels
        if self.__class__ == ConvNormActivation:
            warnings.warn("Don't use ConvNormActivation directly, please use Conv2dNormActivation and "
                          "Conv3dNormActivation instead.", stacklevel=2)


class Conv2dNormActivation(ConvNormActivation):
    """``Conv2d`` -> norm (default ``BatchNorm2d``) -> activation (default ``ReLU``); the padding defaults to
    ``(kernel_size - 1) // 2 * dilation`` and the conv has a bias only when there is no norm layer.

    Example:
        >>> block = Conv2dNormActivation(4, 4, groups=4, activation_layer=None)
        >>> block[0].bias is None, len(block)
        (True, 2)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int] = 3,
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str | None = None,
                 groups: int = 1, norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU, dilation: int | tuple[int, int] = 1,
                 inplace: bool | None = True, bias: bool | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups, norm_layer,
                         activation_layer, dilation, inplace, bias, nn.Conv2d)


class Conv3dNormActivation(ConvNormActivation):
    """``Conv3d`` -> norm (default ``BatchNorm3d``) -> activation (default ``ReLU``), for video models.

    Example:
        >>> import ember
        >>> tuple(Conv3dNormActivation(3, 4)(ember.zeros(1, 3, 2, 4, 4)).shape)
        (1, 4, 2, 4, 4)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int, int] = 3,
                 stride: int | tuple[int, int, int] = 1, padding: int | tuple[int, int, int] | str | None = None,
                 groups: int = 1, norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm3d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 dilation: int | tuple[int, int, int] = 1, inplace: bool | None = True,
                 bias: bool | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups, norm_layer,
                         activation_layer, dilation, inplace, bias, nn.Conv3d)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-Excitation (https://arxiv.org/abs/1709.01507): the input times a per-channel gate
    ``scale_activation(fc2(activation(fc1(avgpool(input)))))``; ``fc1``/``fc2`` are 1x1 convolutions.

    Example:
        >>> import ember
        >>> se = SqueezeExcitation(8, 2)
        >>> tuple(se.fc1.weight.shape), tuple(se(ember.ones(1, 8, 3, 3)).shape)
        ((2, 8, 1, 1), (1, 8, 3, 3))
    """

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input: ember.Tensor) -> ember.Tensor:
        scale = self.activation(self.fc1(self.avgpool(input)))
        return self.scale_activation(self.fc2(scale))

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        return self._scale(input) * input


class MLP(nn.Sequential):
    """Linear layers of widths ``hidden_channels``; between two of them an optional norm layer, the
    activation and a Dropout; a Dropout after the last one too (so ``[64, 8]`` gives 5 modules).

    Example:
        >>> import ember
        >>> mlp = MLP(4, [16, 2], dropout=0.1)
        >>> [type(m).__name__ for m in mlp], tuple(mlp(ember.zeros(3, 4)).shape)
        (['Linear', 'ReLU', 'Dropout', 'Linear', 'Dropout'], (3, 2))
    """

    def __init__(self, in_channels: int, hidden_channels: list[int],
                 norm_layer: Callable[..., nn.Module] | None = None,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU, inplace: bool | None = None,
                 bias: bool = True, dropout: float = 0.0) -> None:
        params = {} if inplace is None else {"inplace": inplace}
        layers: list[nn.Module] = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))  # type: ignore[misc]
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)


class Permute(nn.Module):
    """``torch.permute(x, dims)`` as a module (channels-last blocks of ConvNeXt and Swin use it).

    Example:
        >>> import ember
        >>> tuple(Permute([0, 2, 3, 1])(ember.zeros(1, 3, 4, 5)).shape)
        (1, 4, 5, 3)
    """

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return ember.permute(x, self.dims)
