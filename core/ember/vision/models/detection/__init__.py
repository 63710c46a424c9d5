"""torchvision's detection models (``torchvision.models.detection``), with their state_dict names.

Example:
    >>> import ember
    >>> from ember.vision.models import detection
    >>> m = detection.fasterrcnn_resnet50_fpn(weights_backbone=None, num_classes=3, min_size=64, max_size=64)
    >>> losses = m([ember.rand(3, 64, 64)], [{"boxes": ember.tensor([[4.0, 4.0, 40.0, 30.0]]),
    ...                                       "labels": ember.tensor([1])}])
    >>> sorted(losses)
    ['loss_box_reg', 'loss_classifier', 'loss_objectness', 'loss_rpn_box_reg']
"""

from __future__ import annotations

from ._weights import *  # noqa: F403
from ._weights import __all__ as _weights_all
from .anchor_utils import AnchorGenerator, DefaultBoxGenerator
from .backbone_utils import BackboneWithFPN, IntermediateLayerGetter, mobilenet_backbone, resnet_fpn_backbone
from .faster_rcnn import (
    FasterRCNN,
    FastRCNNConvFCHead,
    FastRCNNPredictor,
    TwoMLPHead,
    fasterrcnn_mobilenet_v3_large_320_fpn,
    fasterrcnn_mobilenet_v3_large_fpn,
    fasterrcnn_resnet50_fpn,
    fasterrcnn_resnet50_fpn_v2,
)
from .fcos import FCOS, fcos_resnet50_fpn
from .generalized_rcnn import GeneralizedRCNN
from .image_list import ImageList
from .keypoint_rcnn import KeypointRCNN, keypointrcnn_resnet50_fpn
from .mask_rcnn import MaskRCNN, maskrcnn_resnet50_fpn, maskrcnn_resnet50_fpn_v2
from .retinanet import RetinaNet, retinanet_resnet50_fpn, retinanet_resnet50_fpn_v2
from .roi_heads import RoIHeads
from .rpn import RegionProposalNetwork, RPNHead
from .ssd import SSD, ssd300_vgg16
from .ssdlite import ssdlite320_mobilenet_v3_large
from .transform import GeneralizedRCNNTransform

__all__ = [*_weights_all, "AnchorGenerator", "DefaultBoxGenerator", "BackboneWithFPN", "IntermediateLayerGetter",
           "mobilenet_backbone", "resnet_fpn_backbone", "FasterRCNN", "FastRCNNConvFCHead", "FastRCNNPredictor",
           "TwoMLPHead", "fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_mobilenet_v3_large_fpn",
           "fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "GeneralizedRCNN", "ImageList", "RoIHeads",
           "RegionProposalNetwork", "RPNHead", "GeneralizedRCNNTransform", "KeypointRCNN", "keypointrcnn_resnet50_fpn",
           "MaskRCNN", "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "RetinaNet", "retinanet_resnet50_fpn",
           "retinanet_resnet50_fpn_v2", "FCOS", "fcos_resnet50_fpn", "SSD", "ssd300_vgg16",
           "ssdlite320_mobilenet_v3_large"]
