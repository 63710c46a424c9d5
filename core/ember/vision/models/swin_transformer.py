"""Swin Transformer V1 (https://arxiv.org/abs/2103.14030) and V2 (https://arxiv.org/abs/2111.09883) as
torchvision builds them, with their state_dict names.

Restated from torchvision/models/swin_transformer.py (pytorch/vision): ``features.0`` is the patch
embedding (conv, Permute to channels-last, norm), then stages of ``SwinTransformerBlock`` (shifted-window
attention with a relative position bias, an ``MLP``, stochastic depth) alternating with
``PatchMerging``; ``norm``, ``head``. Inputs of any size work: windows pad as needed.

Example:
    >>> import ember
    >>> m = SwinTransformer([4, 4], 8, [2, 2], [1, 2], [2, 2], num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 16, 16)).shape)
    (1, 10)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import ember
from ember import nn
from ember.nn import functional as F

from ..ops.misc import MLP, Permute
from ..ops.stochastic_depth import StochasticDepth
from . import _weights
from ._registry import register_model
from ._weights_modern import (
    Swin_B_Weights,
    Swin_S_Weights,
    Swin_T_Weights,
    Swin_V2_B_Weights,
    Swin_V2_S_Weights,
    Swin_V2_T_Weights,
    resolve,
)

__all__ = ["SwinTransformer", "SwinTransformerBlock", "SwinTransformerBlockV2", "ShiftedWindowAttention",
           "ShiftedWindowAttentionV2", "PatchMerging", "PatchMergingV2", "shifted_window_attention", "swin_t",
           "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"]


def _patch_merging_pad(x: ember.Tensor) -> ember.Tensor:
    """(..., H, W, C) -> (..., H/2, W/2, 4C): each 2x2 neighbourhood's features side by side (odd sizes padded)."""
    h, w, _ = x.shape[-3:]
    x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    return ember.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)


def _get_relative_position_bias(relative_position_bias_table: ember.Tensor, relative_position_index: ember.Tensor,
                                window_size: list[int]) -> ember.Tensor:
    n = window_size[0] * window_size[1]
    bias = relative_position_bias_table[relative_position_index].view(n, n, -1)  # Wh*Ww, Wh*Ww, heads
    return bias.permute(2, 0, 1).contiguous().unsqueeze(0)


class PatchMerging(nn.Module):
    """Halve the resolution, double the channels: 2x2 concat -> norm(4C) -> Linear(4C, 2C)."""

    def __init__(self, dim: int, norm_layer: Callable[..., nn.Module] = nn.LayerNorm) -> None:
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return self.reduction(self.norm(_patch_merging_pad(x)))


class PatchMergingV2(nn.Module):
    """Swin V2's patch merging: the norm comes after the reduction (norm(2C))."""

    def __init__(self, dim: int, norm_layer: Callable[..., nn.Module] = nn.LayerNorm) -> None:
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2 * dim)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return self.norm(self.reduction(_patch_merging_pad(x)))


def shifted_window_attention(input: ember.Tensor, qkv_weight: ember.Tensor, proj_weight: ember.Tensor,
                             relative_position_bias: ember.Tensor, window_size: list[int], num_heads: int,
                             shift_size: list[int], attention_dropout: float = 0.0, dropout: float = 0.0,
                             qkv_bias: ember.Tensor | None = None, proj_bias: ember.Tensor | None = None,
                             logit_scale: ember.Tensor | None = None, training: bool = True) -> ember.Tensor:
    """Multi-head self-attention within (shifted) windows of a (B, H, W, C) input; with ``logit_scale`` it is
    V2's scaled cosine attention."""
    b, h, w, c = input.shape
    # pad the feature map to multiples of the window size
    pad_r = (window_size[1] - w % window_size[1]) % window_size[1]
    pad_b = (window_size[0] - h % window_size[0]) % window_size[0]
    x = F.pad(input, (0, 0, 0, pad_r, 0, pad_b))
    _, pad_h, pad_w, _ = x.shape

    shift_size = shift_size.copy()
    # a window that covers the whole map has nothing to shift
    if window_size[0] >= pad_h:
        shift_size[0] = 0
    if window_size[1] >= pad_w:
        shift_size[1] = 0
    if sum(shift_size) > 0:
        x = ember.roll(x, shifts=(-shift_size[0], -shift_size[1]), dims=(1, 2))

    # partition into windows: (B * num_windows, Wh * Ww, C)
    num_windows = (pad_h // window_size[0]) * (pad_w // window_size[1])
    x = x.view(b, pad_h // window_size[0], window_size[0], pad_w // window_size[1], window_size[1], c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b * num_windows, window_size[0] * window_size[1], c)

    if logit_scale is not None and qkv_bias is not None:  # V2 has no key bias
        qkv_bias = qkv_bias.clone()
        length = qkv_bias.numel() // 3
        qkv_bias[length:2 * length].zero_()
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.size(0), x.size(1), 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if logit_scale is not None:  # cosine attention
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * ember.clamp(logit_scale, max=math.log(100.0)).exp()
    else:
        q = q * (c // num_heads) ** -0.5
        attn = q.matmul(k.transpose(-2, -1))
    attn = attn + relative_position_bias

    if sum(shift_size) > 0:
        # after the roll a window can hold pixels from different regions: they must not attend to each other
        attn_mask = x.new_zeros((pad_h, pad_w))
        h_slices = ((0, -window_size[0]), (-window_size[0], -shift_size[0]), (-shift_size[0], None))
        w_slices = ((0, -window_size[1]), (-window_size[1], -shift_size[1]), (-shift_size[1], None))
        count = 0
        for hs in h_slices:
            for ws in w_slices:
                attn_mask[hs[0]:hs[1], ws[0]:ws[1]] = count
                count += 1
        attn_mask = attn_mask.view(pad_h // window_size[0], window_size[0], pad_w // window_size[1], window_size[1])
        attn_mask = attn_mask.permute(0, 2, 1, 3).reshape(num_windows, window_size[0] * window_size[1])
        attn_mask = attn_mask.unsqueeze(1) - attn_mask.unsqueeze(2)
        attn_mask = attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)
        attn = attn.view(x.size(0) // num_windows, num_windows, num_heads, x.size(1), x.size(1))
        attn = attn + attn_mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, x.size(1), x.size(1))

    attn = F.softmax(attn, dim=-1)
    attn = F.dropout(attn, p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
    x = F.linear(x, proj_weight, proj_bias)
    x = F.dropout(x, p=dropout, training=training)

    # merge the windows back, undo the shift, drop the padding
    x = x.view(b, pad_h // window_size[0], pad_w // window_size[1], window_size[0], window_size[1], c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, pad_h, pad_w, c)
    if sum(shift_size) > 0:
        x = ember.roll(x, shifts=(shift_size[0], shift_size[1]), dims=(1, 2))
    return x[:, :h, :w, :].contiguous()


class ShiftedWindowAttention(nn.Module):
    """Window attention with a learned table of relative position biases (one per offset and head)."""

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int,
                 qkv_bias: bool = True, proj_bias: bool = True, attention_dropout: float = 0.0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if len(window_size) != 2 or len(shift_size) != 2:
            raise ValueError("window_size and shift_size must be of length 2")
        self.window_size = window_size
        self.shift_size = shift_size
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_relative_position_bias_table()
        self.define_relative_position_index()

    def define_relative_position_bias_table(self) -> None:
        self.relative_position_bias_table = nn.Parameter(
            ember.zeros((2 * self.window_size[0] - 1) * (2 * self.window_size[1] - 1), self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self) -> None:
        """For each pair of positions in a window, the row of the bias table of their offset."""
        coords = ember.stack(ember.meshgrid(ember.arange(self.window_size[0]), ember.arange(self.window_size[1]),
                                            indexing="ij"))
        coords_flatten = ember.flatten(coords, 1)  # 2, Wh*Ww
        relative = (coords_flatten[:, :, None] - coords_flatten[:, None, :]).permute(1, 2, 0).contiguous()
        relative[:, :, 0] += self.window_size[0] - 1  # offsets from 0
        relative[:, :, 1] += self.window_size[1] - 1
        relative[:, :, 0] *= 2 * self.window_size[1] - 1
        self.register_buffer("relative_position_index", relative.sum(-1).flatten())

    def get_relative_position_bias(self) -> ember.Tensor:
        return _get_relative_position_bias(self.relative_position_bias_table, self.relative_position_index,
                                           self.window_size)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
                                        self.window_size, self.num_heads, shift_size=self.shift_size,
                                        attention_dropout=self.attention_dropout, dropout=self.dropout,
                                        qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """V2's window attention: cosine similarity times a learned, clamped ``logit_scale``, and biases from a
    small MLP (``cpb_mlp``) over log-spaced relative coordinates."""

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int,
                 qkv_bias: bool = True, proj_bias: bool = True, attention_dropout: float = 0.0,
                 dropout: float = 0.0) -> None:
        super().__init__(dim, window_size, shift_size, num_heads, qkv_bias=qkv_bias, proj_bias=proj_bias,
                         attention_dropout=attention_dropout, dropout=dropout)
        self.logit_scale = nn.Parameter(ember.log(10 * ember.ones((num_heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(512, num_heads, bias=False))
        if qkv_bias:
            length = self.qkv.bias.numel() // 3
            with ember.no_grad():
                self.qkv.bias[length:2 * length].zero_()

    def define_relative_position_bias_table(self) -> None:
        ws = self.window_size
        coords_h = ember.arange(-(ws[0] - 1), ws[0], dtype=ember.float32)
        coords_w = ember.arange(-(ws[1] - 1), ws[1], dtype=ember.float32)
        table = ember.stack(ember.meshgrid([coords_h, coords_w], indexing="ij"))
        table = table.permute(1, 2, 0).contiguous().unsqueeze(0)  # 1, 2*Wh-1, 2*Ww-1, 2
        table[:, :, :, 0] /= ws[0] - 1
        table[:, :, :, 1] /= ws[1] - 1
        table *= 8  # normalized to [-8, 8], then log-spaced
        table = ember.sign(table) * ember.log2(ember.abs(table) + 1.0) / 3.0
        self.register_buffer("relative_coords_table", table)

    def get_relative_position_bias(self) -> ember.Tensor:
        bias = _get_relative_position_bias(self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads),
                                           self.relative_position_index, self.window_size)
        return 16 * ember.sigmoid(bias)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
                                        self.window_size, self.num_heads, shift_size=self.shift_size,
                                        attention_dropout=self.attention_dropout, dropout=self.dropout,
                                        qkv_bias=self.qkv.bias, proj_bias=self.proj.bias,
                                        logit_scale=self.logit_scale, training=self.training)


class SwinTransformerBlock(nn.Module):
    """Pre-norm: ``x + sd(attn(norm1(x)))``, then ``x + sd(mlp(norm2(x)))``."""

    def __init__(self, dim: int, num_heads: int, window_size: list[int], shift_size: list[int],
                 mlp_ratio: float = 4.0, dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.0, norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
                 attn_layer: Callable[..., nn.Module] = ShiftedWindowAttention) -> None:
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn_layer(dim, window_size, shift_size, num_heads, attention_dropout=attention_dropout,
                               dropout=dropout)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = norm_layer(dim)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class SwinTransformerBlockV2(SwinTransformerBlock):
    """V2's residual post-norm: ``x + sd(norm1(attn(x)))``, then ``x + sd(norm2(mlp(x)))``."""

    def __init__(self, dim: int, num_heads: int, window_size: list[int], shift_size: list[int],
                 mlp_ratio: float = 4.0, dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.0, norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
                 attn_layer: Callable[..., nn.Module] = ShiftedWindowAttentionV2) -> None:
        super().__init__(dim, num_heads, window_size, shift_size, mlp_ratio=mlp_ratio, dropout=dropout,
                         attention_dropout=attention_dropout, stochastic_depth_prob=stochastic_depth_prob,
                         norm_layer=norm_layer, attn_layer=attn_layer)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x + self.stochastic_depth(self.norm1(self.attn(x)))
        return x + self.stochastic_depth(self.norm2(self.mlp(x)))


class SwinTransformer(nn.Module):
    def __init__(self, patch_size: list[int], embed_dim: int, depths: list[int], num_heads: list[int],
                 window_size: list[int], mlp_ratio: float = 4.0, dropout: float = 0.0,
                 attention_dropout: float = 0.0, stochastic_depth_prob: float = 0.1, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None, block: Callable[..., nn.Module] | None = None,
                 downsample_layer: Callable[..., nn.Module] = PatchMerging) -> None:
        super().__init__()
        self.num_classes = num_classes
        block = block or SwinTransformerBlock
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-5)
        layers: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(3, embed_dim, kernel_size=(patch_size[0], patch_size[1]),
                      stride=(patch_size[0], patch_size[1])),
            Permute([0, 2, 3, 1]), norm_layer(embed_dim))]
        total_blocks = sum(depths)
        block_id = 0
        for i_stage in range(len(depths)):
            stage: list[nn.Module] = []
            dim = embed_dim * 2 ** i_stage
            for i_layer in range(depths[i_stage]):
                sd_prob = stochastic_depth_prob * float(block_id) / (total_blocks - 1)
                stage.append(block(dim, num_heads[i_stage], window_size=window_size,
                                   shift_size=[0 if i_layer % 2 == 0 else w // 2 for w in window_size],  # alternate
                                   mlp_ratio=mlp_ratio, dropout=dropout, attention_dropout=attention_dropout,
                                   stochastic_depth_prob=sd_prob, norm_layer=norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i_stage < len(depths) - 1:
                layers.append(downsample_layer(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(num_features)
        self.permute = Permute([0, 3, 1, 2])  # B H W C -> B C H W
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


# builder -> (weights enum, embed_dim, depths, num_heads, window_size, stochastic_depth_prob, V2)
_CONFIGS: dict[str, tuple[type, int, list[int], list[int], list[int], float, bool]] = {
    "swin_t": (Swin_T_Weights, 96, [2, 2, 6, 2], [3, 6, 12, 24], [7, 7], 0.2, False),
    "swin_s": (Swin_S_Weights, 96, [2, 2, 18, 2], [3, 6, 12, 24], [7, 7], 0.3, False),
    "swin_b": (Swin_B_Weights, 128, [2, 2, 18, 2], [4, 8, 16, 32], [7, 7], 0.5, False),
    "swin_v2_t": (Swin_V2_T_Weights, 96, [2, 2, 6, 2], [3, 6, 12, 24], [8, 8], 0.2, True),
    "swin_v2_s": (Swin_V2_S_Weights, 96, [2, 2, 18, 2], [3, 6, 12, 24], [8, 8], 0.3, True),
    "swin_v2_b": (Swin_V2_B_Weights, 128, [2, 2, 18, 2], [4, 8, 16, 32], [8, 8], 0.5, True),
}


def _build(arch: str, weights: Any, progress: bool, kwargs: dict[str, Any]) -> SwinTransformer:
    enum, embed_dim, depths, num_heads, window_size, sd_prob, v2 = _CONFIGS[arch]
    weights = resolve(arch, enum, weights, kwargs)
    if v2:  # as torchvision, block= / downsample_layer= given again is a TypeError
        kwargs = dict(block=SwinTransformerBlockV2, downsample_layer=PatchMergingV2, **kwargs)
    model = SwinTransformer(patch_size=[4, 4], embed_dim=embed_dim, depths=depths, num_heads=num_heads,
                            window_size=window_size, stochastic_depth_prob=sd_prob, **kwargs)
    return _weights.load_weights(model, weights, progress)


@register_model()
def swin_t(*, weights: Swin_T_Weights | None = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-T; ``weights`` load from torch.hub's cache."""
    return _build("swin_t", weights, progress, kwargs)


@register_model()
def swin_s(*, weights: Swin_S_Weights | None = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-S; ``weights`` load from torch.hub's cache."""
    return _build("swin_s", weights, progress, kwargs)


@register_model()
def swin_b(*, weights: Swin_B_Weights | None = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-B; ``weights`` load from torch.hub's cache."""
    return _build("swin_b", weights, progress, kwargs)


@register_model()
def swin_v2_t(*, weights: Swin_V2_T_Weights | None = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-T; ``weights`` load from torch.hub's cache."""
    return _build("swin_v2_t", weights, progress, kwargs)


@register_model()
def swin_v2_s(*, weights: Swin_V2_S_Weights | None = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-S; ``weights`` load from torch.hub's cache."""
    return _build("swin_v2_s", weights, progress, kwargs)


@register_model()
def swin_v2_b(*, weights: Swin_V2_B_Weights | None = None, progress: bool = True, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-B; ``weights`` load from torch.hub's cache."""
    return _build("swin_v2_b", weights, progress, kwargs)
