"""Vision Transformer (https://arxiv.org/abs/2010.11929) as torchvision builds it, with its state_dict names.

Restated from torchvision/models/vision_transformer.py (pytorch/vision): ``conv_proj`` (the patch
embedding), ``class_token``, ``encoder.pos_embedding``, ``encoder.layers.encoder_layer_<i>`` (pre-norm
blocks of ``nn.MultiheadAttention`` and an ``MLP``), ``encoder.ln``, ``heads.head``. ``image_size``
must be a multiple of ``patch_size``; a model takes only images of exactly that size.

Example:
    >>> import ember
    >>> m = vit_b_32(image_size=32, num_classes=10).eval()
    >>> tuple(m(ember.zeros(1, 3, 32, 32)).shape), m.seq_length
    ((1, 10), 2)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import ember
from ember import nn

from ..ops.misc import MLP, Conv2dNormActivation
from . import _weights
from ._registry import register_model
from ._weights_modern import (
    ViT_B_16_Weights,
    ViT_B_32_Weights,
    ViT_H_14_Weights,
    ViT_L_16_Weights,
    ViT_L_32_Weights,
    resolve,
)

__all__ = ["VisionTransformer", "ConvStemConfig", "MLPBlock", "EncoderBlock", "Encoder", "vit_b_16", "vit_b_32",
           "vit_l_16", "vit_l_32", "vit_h_14", "interpolate_embeddings"]


def _assert(cond: bool, message: str) -> None:
    if not cond:  # torch._assert raises AssertionError
        raise AssertionError(message)


class ConvStemConfig(NamedTuple):
    """One conv-norm-activation layer of an optional convolutional stem (https://arxiv.org/abs/2106.14881)."""

    out_channels: int
    kernel_size: int
    stride: int
    norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d
    activation_layer: Callable[..., nn.Module] = nn.ReLU


class MLPBlock(MLP):
    """The transformer's feed-forward block: Linear -> GELU -> Dropout -> Linear -> Dropout."""

    _version = 2

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        # checkpoints older than version 2 named the two Linear layers linear_1 / linear_2
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            for i in range(2):
                for kind in ("weight", "bias"):
                    old_key = f"{prefix}linear_{i + 1}.{kind}"
                    if old_key in state_dict:
                        state_dict[f"{prefix}{3 * i}.{kind}"] = state_dict.pop(old_key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


class EncoderBlock(nn.Module):
    """``x = x + dropout(attention(ln_1(x)))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float, attention_dropout: float,
                 norm_layer: Callable[..., nn.Module] = partial(nn.LayerNorm, eps=1e-6)) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout,
                                                    batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        _assert(input.dim() == 3, f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Position embedding (learned), dropout, ``num_layers`` encoder blocks, final LayerNorm."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float, attention_dropout: float,
                 norm_layer: Callable[..., nn.Module] = partial(nn.LayerNorm, eps=1e-6)) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(ember.empty(1, seq_length, hidden_dim).normal_(std=0.02))  # BERT's init
        self.dropout = nn.Dropout(dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout,
                                                        norm_layer)
        self.layers = nn.Sequential(layers)
        self.ln = norm_layer(hidden_dim)

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        _assert(input.dim() == 3, f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float = 0.0, attention_dropout: float = 0.0, num_classes: int = 1000,
                 representation_size: int | None = None,
                 norm_layer: Callable[..., nn.Module] = partial(nn.LayerNorm, eps=1e-6),
                 conv_stem_configs: list[ConvStemConfig] | None = None) -> None:
        super().__init__()
        _assert(image_size % patch_size == 0, "Input shape indivisible by patch size!")
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.mlp_dim = mlp_dim
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.num_classes = num_classes
        self.representation_size = representation_size
        self.norm_layer = norm_layer

        if conv_stem_configs is not None:
            seq_proj = nn.Sequential()
            prev_channels = 3
            for i, cfg in enumerate(conv_stem_configs):
                seq_proj.add_module(f"conv_bn_relu_{i}", Conv2dNormActivation(
                    in_channels=prev_channels, out_channels=cfg.out_channels, kernel_size=cfg.kernel_size,
                    stride=cfg.stride, norm_layer=cfg.norm_layer, activation_layer=cfg.activation_layer))
                prev_channels = cfg.out_channels
            seq_proj.add_module("conv_last", nn.Conv2d(in_channels=prev_channels, out_channels=hidden_dim,
                                                       kernel_size=1))
            self.conv_proj: nn.Module = seq_proj
        else:
            self.conv_proj = nn.Conv2d(in_channels=3, out_channels=hidden_dim, kernel_size=patch_size,
                                       stride=patch_size)

        seq_length = (image_size // patch_size) ** 2 + 1  # the patches and the class token
        self.class_token = nn.Parameter(ember.zeros(1, 1, hidden_dim))
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout,
                               norm_layer)
        self.seq_length = seq_length

        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)

        if isinstance(self.conv_proj, nn.Conv2d):  # LeCun-normal patch embedding
            fan_in = self.conv_proj.in_channels * self.conv_proj.kernel_size[0] * self.conv_proj.kernel_size[1]
            nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
            if self.conv_proj.bias is not None:
                nn.init.zeros_(self.conv_proj.bias)
        elif self.conv_proj.conv_last is not None and isinstance(self.conv_proj.conv_last, nn.Conv2d):
            nn.init.normal_(self.conv_proj.conv_last.weight, mean=0.0,
                            std=math.sqrt(2.0 / self.conv_proj.conv_last.out_channels))
            if self.conv_proj.conv_last.bias is not None:
                nn.init.zeros_(self.conv_proj.conv_last.bias)
        if hasattr(self.heads, "pre_logits") and isinstance(self.heads.pre_logits, nn.Linear):
            nn.init.trunc_normal_(self.heads.pre_logits.weight, std=math.sqrt(1 / self.heads.pre_logits.in_features))
            nn.init.zeros_(self.heads.pre_logits.bias)
        if isinstance(self.heads.head, nn.Linear):  # a zero head: fine-tuning starts from uniform logits
            nn.init.zeros_(self.heads.head.weight)
            nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x: ember.Tensor) -> ember.Tensor:
        """(N, C, H, W) images -> (N, (H/p)*(W/p), hidden_dim) patch embeddings."""
        n, _, h, w = x.shape
        p = self.patch_size
        _assert(h == self.image_size, f"Wrong image height! Expected {self.image_size} but got {h}!")
        _assert(w == self.image_size, f"Wrong image width! Expected {self.image_size} but got {w}!")
        x = self.conv_proj(x)
        return x.reshape(n, self.hidden_dim, (h // p) * (w // p)).permute(0, 2, 1)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self._process_input(x)
        batch_class_token = self.class_token.expand(x.shape[0], -1, -1)
        x = self.encoder(ember.cat([batch_class_token, x], dim=1))
        return self.heads(x[:, 0])  # the class token's output


# builder -> (weights enum, patch_size, num_layers, num_heads, hidden_dim, mlp_dim)
_CONFIGS: dict[str, tuple[type, int, int, int, int, int]] = {
    "vit_b_16": (ViT_B_16_Weights, 16, 12, 12, 768, 3072),
    "vit_b_32": (ViT_B_32_Weights, 32, 12, 12, 768, 3072),
    "vit_l_16": (ViT_L_16_Weights, 16, 24, 16, 1024, 4096),
    "vit_l_32": (ViT_L_32_Weights, 32, 24, 16, 1024, 4096),
    "vit_h_14": (ViT_H_14_Weights, 14, 32, 16, 1280, 5120),
}


def _build(arch: str, weights: Any, progress: bool, kwargs: dict[str, Any]) -> VisionTransformer:
    enum, patch_size, num_layers, num_heads, hidden_dim, mlp_dim = _CONFIGS[arch]
    weights = resolve(arch, enum, weights, kwargs)
    if weights is not None:  # the weights fix the image size (their position embeddings' length)
        size = weights.meta["min_size"][0]
        if kwargs.get("image_size", size) != size:
            raise ValueError(f"The parameter 'image_size' expected value {size} but got {kwargs['image_size']} "
                             "instead.")
        kwargs["image_size"] = size
    image_size = kwargs.pop("image_size", 224)
    model = VisionTransformer(image_size=image_size, patch_size=patch_size, num_layers=num_layers,
                              num_heads=num_heads, hidden_dim=hidden_dim, mlp_dim=mlp_dim, **kwargs)
    return _weights.load_weights(model, weights, progress)


@register_model()
def vit_b_16(*, weights: ViT_B_16_Weights | None = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-B/16; ``weights`` load from torch.hub's cache."""
    return _build("vit_b_16", weights, progress, kwargs)


@register_model()
def vit_b_32(*, weights: ViT_B_32_Weights | None = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-B/32; ``weights`` load from torch.hub's cache."""
    return _build("vit_b_32", weights, progress, kwargs)


@register_model()
def vit_l_16(*, weights: ViT_L_16_Weights | None = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-L/16; ``weights`` load from torch.hub's cache."""
    return _build("vit_l_16", weights, progress, kwargs)


@register_model()
def vit_l_32(*, weights: ViT_L_32_Weights | None = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-L/32; ``weights`` load from torch.hub's cache."""
    return _build("vit_l_32", weights, progress, kwargs)


@register_model()
def vit_h_14(*, weights: ViT_H_14_Weights | None = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-H/14 (only SWAG weights); ``weights`` load from torch.hub's cache."""
    return _build("vit_h_14", weights, progress, kwargs)


def interpolate_embeddings(image_size: int, patch_size: int, model_state: OrderedDict[str, ember.Tensor],
                           interpolation_mode: str = "bicubic",
                           reset_heads: bool = False) -> OrderedDict[str, ember.Tensor]:
    """A ViT state_dict with its position embeddings resized (``interpolation_mode``, align_corners) to the
    patch grid of ``image_size``, for fine-tuning at another resolution; ``reset_heads`` drops ``heads.*``."""
    pos_embedding = model_state["encoder.pos_embedding"]
    n, seq_length, hidden_dim = pos_embedding.shape
    if n != 1:
        raise ValueError(f"Unexpected position embedding shape: {pos_embedding.shape}")
    new_seq_length = (image_size // patch_size) ** 2 + 1
    if new_seq_length != seq_length:
        # the class token's embedding stays; the patches' form a square grid that is resized
        seq_length -= 1
        new_seq_length -= 1
        pos_embedding_token = pos_embedding[:, :1, :]
        pos_embedding_img = pos_embedding[:, 1:, :].permute(0, 2, 1)
        side = int(math.sqrt(seq_length))
        if side * side != seq_length:
            raise ValueError(f"seq_length is not a perfect square! Instead got seq_length_1d * seq_length_1d = "
                             f"{side * side} and seq_length = {seq_length}")
        pos_embedding_img = pos_embedding_img.reshape(1, hidden_dim, side, side)
        new_img = nn.functional.interpolate(pos_embedding_img, size=image_size // patch_size,
                                            mode=interpolation_mode, align_corners=True)
        new_img = new_img.reshape(1, hidden_dim, new_seq_length).permute(0, 2, 1)
        model_state["encoder.pos_embedding"] = ember.cat([pos_embedding_token, new_img], dim=1)
        if reset_heads:
            model_state = OrderedDict((k, v) for k, v in model_state.items() if not k.startswith("heads"))
    return model_state
