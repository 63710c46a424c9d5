"""Mask R-CNN (https://arxiv.org/abs/1703.06870): Faster R-CNN with a branch that predicts a mask per
detection, as torchvision builds it. Eval outputs add ``masks`` ``[K, 1, H, W]`` (probabilities pasted
into the original image).

Example:
    >>> import ember
    >>> m = maskrcnn_resnet50_fpn(weights_backbone=None, num_classes=3, min_size=64, max_size=64).eval()
    >>> out = m([ember.rand(3, 48, 64)])
    >>> sorted(out[0]), tuple(out[0]["masks"].shape[1:])
    (['boxes', 'labels', 'masks', 'scores'], (1, 48, 64))
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ember import nn

from ...ops import misc as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._registry import register_model
from .._weights import ResNet50_Weights
from ..resnet import resnet50
from ._utils import overwrite_eps
from ._weights import MaskRCNN_ResNet50_FPN_V2_Weights, MaskRCNN_ResNet50_FPN_Weights
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import FasterRCNN, FastRCNNConvFCHead, _default_anchorgen, _load, _resolve
from .rpn import RPNHead

__all__ = ["MaskRCNN", "MaskRCNNHeads", "MaskRCNNPredictor", "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2",
           "MaskRCNN_ResNet50_FPN_Weights", "MaskRCNN_ResNet50_FPN_V2_Weights"]


class MaskRCNN(FasterRCNN):
    """:class:`FasterRCNN` plus ``mask_roi_pool`` (14x14 RoI Align), ``mask_head`` (four 3x3 convs) and
    ``mask_predictor`` (a 2x deconvolution and per-class 1x1 logits). Training targets also need
    ``masks`` ``[N, H, W]`` (uint8) and the losses add ``loss_mask``."""

    def __init__(self, backbone: nn.Module, num_classes: int | None = None, *, mask_roi_pool: MultiScaleRoIAlign |
                 None = None, mask_head: nn.Module | None = None, mask_predictor: nn.Module | None = None,
                 **kwargs: Any) -> None:
        if not isinstance(mask_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError(f"mask_roi_pool should be of type MultiScaleRoIAlign or None instead of "
                            f"{type(mask_roi_pool)}")
        if num_classes is not None and mask_predictor is not None:
            raise ValueError("num_classes should be None when mask_predictor is specified")
        out_channels = backbone.out_channels
        if mask_roi_pool is None:
            mask_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=14, sampling_ratio=2)
        if mask_head is None:
            mask_head = MaskRCNNHeads(out_channels, (256, 256, 256, 256), 1)
        if mask_predictor is None:
            mask_predictor = MaskRCNNPredictor(256, 256, num_classes)
        super().__init__(backbone, num_classes, **kwargs)
        self.roi_heads.mask_roi_pool = mask_roi_pool
        self.roi_heads.mask_head = mask_head
        self.roi_heads.mask_predictor = mask_predictor


class MaskRCNNHeads(nn.Sequential):
    """3x3 conv (+ norm) + ReLU blocks, one per entry of ``layers``."""

    _version = 2

    def __init__(self, in_channels: int, layers: Any, dilation: int,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        blocks = []
        previous = in_channels
        for features in layers:
            blocks.append(misc_nn_ops.Conv2dNormActivation(previous, features, kernel_size=3, stride=1,
                                                           padding=dilation, dilation=dilation, norm_layer=norm_layer))
            previous = features
        super().__init__(*blocks)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        # version-1 checkpoints named the convs `mask_fcn1`...: now `0.0`...
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            for i in range(len(self)):
                for kind in ("weight", "bias"):
                    old_key = f"{prefix}mask_fcn{i + 1}.{kind}"
                    if old_key in state_dict:
                        state_dict[f"{prefix}{i}.0.{kind}"] = state_dict.pop(old_key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


class MaskRCNNPredictor(nn.Sequential):
    """``conv5_mask`` (2x2 stride-2 transposed conv), ReLU, ``mask_fcn_logits`` (1x1 conv to the classes)."""

    def __init__(self, in_channels: int, dim_reduced: int, num_classes: int) -> None:
        super().__init__(OrderedDict([
            ("conv5_mask", nn.ConvTranspose2d(in_channels, dim_reduced, 2, 2, 0)),
            ("relu", nn.ReLU(inplace=True)),
            ("mask_fcn_logits", nn.Conv2d(dim_reduced, num_classes, 1, 1, 0)),
        ]))
        for name, param in self.named_parameters():
            if "weight" in name:
                nn.init.kaiming_normal_(param, mode="fan_out", nonlinearity="relu")


@register_model()
def maskrcnn_resnet50_fpn(*, weights: MaskRCNN_ResNet50_FPN_Weights | None = None, progress: bool = True,
                          num_classes: int | None = None,
                          weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                          trainable_backbone_layers: int | None = None, **kwargs: Any) -> MaskRCNN:
    """Mask R-CNN with a ResNet-50-FPN backbone; arguments as :func:`fasterrcnn_resnet50_fpn`."""
    weights, weights_backbone, num_classes = _resolve(weights, MaskRCNN_ResNet50_FPN_Weights, weights_backbone,
                                                      ResNet50_Weights, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    model = MaskRCNN(_resnet_fpn_extractor(backbone, trainable_backbone_layers), num_classes=num_classes, **kwargs)
    _load(model, weights, progress)
    if weights == MaskRCNN_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)
    return model


@register_model()
def maskrcnn_resnet50_fpn_v2(*, weights: MaskRCNN_ResNet50_FPN_V2_Weights | None = None, progress: bool = True,
                             num_classes: int | None = None, weights_backbone: ResNet50_Weights | None = None,
                             trainable_backbone_layers: int | None = None, **kwargs: Any) -> MaskRCNN:
    """Mask R-CNN v2 (https://arxiv.org/abs/2111.11429): the v2 Faster R-CNN plus BatchNorm in the mask head."""
    weights, weights_backbone, num_classes = _resolve(weights, MaskRCNN_ResNet50_FPN_V2_Weights, weights_backbone,
                                                      ResNet50_Weights, num_classes, kwargs)
    is_trained = weights is not None or weights_backbone is not None
    trainable_backbone_layers = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable_backbone_layers, norm_layer=nn.BatchNorm2d)
    anchor_generator = _default_anchorgen()
    rpn_head = RPNHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0], conv_depth=2)
    box_head = FastRCNNConvFCHead((backbone.out_channels, 7, 7), [256, 256, 256, 256], [1024],
                                  norm_layer=nn.BatchNorm2d)
    mask_head = MaskRCNNHeads(backbone.out_channels, [256, 256, 256, 256], 1, norm_layer=nn.BatchNorm2d)
    model = MaskRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchor_generator, rpn_head=rpn_head,
                     box_head=box_head, mask_head=mask_head, **kwargs)
    _load(model, weights, progress)
    return model
