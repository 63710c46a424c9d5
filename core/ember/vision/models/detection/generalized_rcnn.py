"""``GeneralizedRCNN``: the skeleton of the two-stage detectors (transform, backbone, RPN, RoI heads).

In training ``model(images, targets)`` returns the dict of losses; in eval ``model(images)`` returns
one dict per image with ``boxes`` (``[K, 4]``, original image coordinates), ``labels`` and ``scores``
(and ``masks`` / ``keypoints`` for Mask / Keypoint R-CNN).

Example:
    >>> from ember.vision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn
    >>> m = fasterrcnn_mobilenet_v3_large_320_fpn(weights_backbone=None, num_classes=3)
    >>> isinstance(m, GeneralizedRCNN), type(m.rpn).__name__, type(m.roi_heads).__name__
    (True, 'RegionProposalNetwork', 'RoIHeads')
"""

from __future__ import annotations

from collections import OrderedDict

import ember
from ember import nn

__all__ = ["GeneralizedRCNN"]


def _check_targets(targets: list[dict[str, ember.Tensor]] | None) -> None:
    if targets is None:
        raise AssertionError("targets should not be none when in training mode")
    for target in targets:
        boxes = target["boxes"]
        if not isinstance(boxes, ember.Tensor):
            raise AssertionError(f"Expected target boxes to be of type Tensor, got {type(boxes)}.")
        if not (len(boxes.shape) == 2 and boxes.shape[-1] == 4):
            raise AssertionError(f"Expected target boxes to be a tensor of shape [N, 4], got {boxes.shape}.")


def _check_degenerate(targets: list[dict[str, ember.Tensor]]) -> None:
    for target_idx, target in enumerate(targets):
        boxes = target["boxes"]
        degenerate = boxes[:, 2:] <= boxes[:, :2]
        if bool(degenerate.any()):
            bb_idx = int(ember.where(degenerate.any(dim=1))[0][0])
            raise AssertionError("All bounding boxes should have positive height and width. Found invalid box "
                                 f"{boxes[bb_idx].tolist()} for target at index {target_idx}.")


class GeneralizedRCNN(nn.Module):
    """``transform`` -> ``backbone`` -> ``rpn`` -> ``roi_heads`` -> ``transform.postprocess``."""

    def __init__(self, backbone: nn.Module, rpn: nn.Module, roi_heads: nn.Module, transform: nn.Module) -> None:
        super().__init__()
        self.transform = transform
        self.backbone = backbone
        self.rpn = rpn
        self.roi_heads = roi_heads
        self._has_warned = False

    def eager_outputs(self, losses: dict[str, ember.Tensor], detections: list[dict[str, ember.Tensor]]
                      ) -> dict[str, ember.Tensor] | list[dict[str, ember.Tensor]]:
        return losses if self.training else detections

    def forward(self, images: list[ember.Tensor], targets: list[dict[str, ember.Tensor]] | None = None
                ) -> dict[str, ember.Tensor] | list[dict[str, ember.Tensor]]:
        if self.training:
            _check_targets(targets)
        original_image_sizes = []
        for img in images:
            val = img.shape[-2:]
            if len(val) != 2:
                raise AssertionError("expecting the last two dimensions of the Tensor to be H and W instead got "
                                     f"{img.shape[-2:]}")
            original_image_sizes.append((int(val[0]), int(val[1])))
        images, targets = self.transform(images, targets)
        if targets is not None:
            _check_degenerate(targets)
        features = self.backbone(images.tensors)
        if isinstance(features, ember.Tensor):
            features = OrderedDict([("0", features)])
        proposals, proposal_losses = self.rpn(images, features, targets)
        detections, detector_losses = self.roi_heads(features, proposals, images.image_sizes, targets)
        detections = self.transform.postprocess(detections, images.image_sizes, original_image_sizes)
        losses = {**detector_losses, **proposal_losses}
        return self.eager_outputs(losses, detections)
