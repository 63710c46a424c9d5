"""The COCO weights enums of torchvision's detectors (``FasterRCNN_ResNet50_FPN_Weights.COCO_V1`` and
the like): the files load from torch.hub's cache, as the classifiers' (see ``models._weights``).

Example:
    >>> w = FasterRCNN_ResNet50_FPN_Weights.DEFAULT
    >>> w, w.url.rsplit("/", 1)[1], len(w.meta["categories"])
    (FasterRCNN_ResNet50_FPN_Weights.COCO_V1, 'fasterrcnn_resnet50_fpn_coco-258fb6c6.pth', 91)
"""

from __future__ import annotations

from typing import Any

import ember
from ember import nn

from .._weights import Weights, WeightsEnum
from ._coco_categories import COCO_CATEGORIES, COCO_PERSON_KEYPOINT_NAMES

__all__ = ["ObjectDetection", "FasterRCNN_ResNet50_FPN_Weights", "FasterRCNN_ResNet50_FPN_V2_Weights",
           "FasterRCNN_MobileNet_V3_Large_FPN_Weights", "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights",
           "RetinaNet_ResNet50_FPN_Weights", "RetinaNet_ResNet50_FPN_V2_Weights", "MaskRCNN_ResNet50_FPN_Weights",
           "MaskRCNN_ResNet50_FPN_V2_Weights", "KeypointRCNN_ResNet50_FPN_Weights", "FCOS_ResNet50_FPN_Weights",
           "SSD300_VGG16_Weights", "SSDLite320_MobileNet_V3_Large_Weights"]


class ObjectDetection(nn.Module):
    """torchvision's detection preset: a PIL image or tensor as a float image in [0, 1] (no resizing:
    the model's own transform does that)."""

    def forward(self, img: Any) -> ember.Tensor:
        from ember.vision.transforms import functional as TF

        if not isinstance(img, ember.Tensor):
            img = TF.pil_to_tensor(img)
        return TF.convert_image_dtype(img, ember.float)

    def __repr__(self) -> str:
        return self.__class__.__name__ + "()"

    def describe(self) -> str:
        return ("Accepts ``PIL.Image``, batched ``(B, C, H, W)`` and single ``(C, H, W)`` image ``torch.Tensor`` "
                "objects. The images are rescaled to ``[0.0, 1.0]``.")


_URL = "https://download.pytorch.org/models/"
_DET = "https://github.com/pytorch/vision/tree/main/references/detection#"


def _w(file: str, params: int, recipe: str, metrics: dict[str, float], ops: float, size: float,
       categories: Any = COCO_CATEGORIES, **extra: Any) -> Weights:
    meta = {"categories": list(categories), "min_size": (1, 1), **extra, "num_params": params, "recipe": recipe,
            "_metrics": {"COCO-val2017": metrics}, "_ops": ops, "_file_size": size}
    return Weights(_URL + file, ObjectDetection, meta)


class FasterRCNN_ResNet50_FPN_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    COCO_V1 = _w("fasterrcnn_resnet50_fpn_coco-258fb6c6.pth", 41755286, _DET + "faster-r-cnn-resnet-50-fpn",
                 {"box_map": 37.0}, 134.38, 159.743)
    DEFAULT = COCO_V1


class FasterRCNN_ResNet50_FPN_V2_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth", 43712278, "https://github.com/pytorch/vision/pull/5763",
                 {"box_map": 46.7}, 280.371, 167.104)
    DEFAULT = COCO_V1


class FasterRCNN_MobileNet_V3_Large_FPN_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth", 19386354,
                 _DET + "faster-r-cnn-mobilenetv3-large-fpn", {"box_map": 32.8}, 4.494, 74.239)
    DEFAULT = COCO_V1


class FasterRCNN_MobileNet_V3_Large_320_FPN_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth", 19386354,
                 _DET + "faster-r-cnn-mobilenetv3-large-320-fpn", {"box_map": 22.8}, 0.719, 74.239)
    DEFAULT = COCO_V1


class RetinaNet_ResNet50_FPN_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("retinanet_resnet50_fpn_coco-eeacb38b.pth", 34014999, _DET + "retinanet", {"box_map": 36.4},
                 151.54, 130.267)
    DEFAULT = COCO_V1


class RetinaNet_ResNet50_FPN_V2_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("retinanet_resnet50_fpn_v2_coco-5905b1c5.pth", 38198935, "https://github.com/pytorch/vision/pull/5756",
                 {"box_map": 41.5}, 152.238, 146.037)
    DEFAULT = COCO_V1


class MaskRCNN_ResNet50_FPN_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth", 44401393, _DET + "mask-r-cnn",
                 {"box_map": 37.9, "mask_map": 34.6}, 134.38, 169.84)
    DEFAULT = COCO_V1


class MaskRCNN_ResNet50_FPN_V2_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth", 46359409, "https://github.com/pytorch/vision/pull/5773",
                 {"box_map": 47.4, "mask_map": 41.8}, 333.577, 177.219)
    DEFAULT = COCO_V1


_PERSON = ("no person", "person")


class KeypointRCNN_ResNet50_FPN_Weights(WeightsEnum):  # noqa: N801
    COCO_LEGACY = _w("keypointrcnn_resnet50_fpn_coco-9f466800.pth", 59137258,
                     "https://github.com/pytorch/vision/issues/1606", {"box_map": 50.6, "kp_map": 61.1}, 133.924,
                     226.054, categories=_PERSON, keypoint_names=list(COCO_PERSON_KEYPOINT_NAMES))
    COCO_V1 = _w("keypointrcnn_resnet50_fpn_coco-fc266e95.pth", 59137258, _DET + "keypoint-r-cnn",
                 {"box_map": 54.6, "kp_map": 65.0}, 137.42, 226.054, categories=_PERSON,
                 keypoint_names=list(COCO_PERSON_KEYPOINT_NAMES))
    DEFAULT = COCO_V1


class FCOS_ResNet50_FPN_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("fcos_resnet50_fpn_coco-99b0c9b7.pth", 32269600, _DET + "fcos-resnet-50-fpn", {"box_map": 39.2},
                 128.207, 123.608)
    DEFAULT = COCO_V1


class SSD300_VGG16_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("ssd300_vgg16_coco-b556d3b4.pth", 35641826, _DET + "ssd300-vgg16", {"box_map": 25.1}, 34.858,
                 135.988)
    DEFAULT = COCO_V1


class SSDLite320_MobileNet_V3_Large_Weights(WeightsEnum):  # noqa: N801
    COCO_V1 = _w("ssdlite320_mobilenet_v3_large_coco-a79551df.pth", 3440060, _DET + "ssdlite320-mobilenetv3-large",
                 {"box_map": 21.3}, 0.583, 13.418)
    DEFAULT = COCO_V1
