"""torchvision.ops: the layers shared by torchvision's models, box utilities, RoI pooling and losses.

Example:
    >>> import ember
    >>> from ember.vision import ops
    >>> ops.box_area(ember.tensor([[0.0, 0.0, 2.0, 3.0]]))
    tensor([6.])
"""

from __future__ import annotations

# Each group of exports below is added by the module that provides it.
__all__: list[str] = []

from .misc import MLP, Conv2dNormActivation, Conv3dNormActivation, FrozenBatchNorm2d, Permute, SqueezeExcitation
from .stochastic_depth import StochasticDepth, stochastic_depth

__all__ += ["Conv2dNormActivation", "Conv3dNormActivation", "SqueezeExcitation", "MLP", "Permute",
            "FrozenBatchNorm2d", "StochasticDepth", "stochastic_depth"]

from .boxes import (  # noqa: E402
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    complete_box_iou,
    distance_box_iou,
    generalized_box_iou,
    masks_to_boxes,
    nms,
    remove_small_boxes,
)
from .ciou_loss import complete_box_iou_loss  # noqa: E402
from .deform_conv import DeformConv2d, deform_conv2d  # noqa: E402
from .diou_loss import distance_box_iou_loss  # noqa: E402
from .drop_block import DropBlock2d, DropBlock3d, drop_block2d, drop_block3d  # noqa: E402
from .feature_pyramid_network import FeaturePyramidNetwork  # noqa: E402
from .focal_loss import sigmoid_focal_loss  # noqa: E402
from .giou_loss import generalized_box_iou_loss  # noqa: E402
from .poolers import MultiScaleRoIAlign  # noqa: E402
from .ps_roi_align import PSRoIAlign, ps_roi_align  # noqa: E402
from .ps_roi_pool import PSRoIPool, ps_roi_pool  # noqa: E402
from .roi_align import RoIAlign, roi_align  # noqa: E402
from .roi_pool import RoIPool, roi_pool  # noqa: E402

__all__ += ["nms", "batched_nms", "remove_small_boxes", "clip_boxes_to_image", "box_convert", "box_area", "box_iou",
            "generalized_box_iou", "distance_box_iou", "complete_box_iou", "masks_to_boxes", "sigmoid_focal_loss",
            "generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss", "roi_align", "RoIAlign",
            "roi_pool", "RoIPool", "ps_roi_align", "PSRoIAlign", "ps_roi_pool", "PSRoIPool", "MultiScaleRoIAlign",
            "FeaturePyramidNetwork", "drop_block2d", "DropBlock2d", "drop_block3d", "DropBlock3d", "deform_conv2d",
            "DeformConv2d"]

from ember.vision.ops import _utils  # noqa: E402,F401 - torchvision.ops._utils (split_normalization_params)
