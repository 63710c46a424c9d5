"""What torchvision's segmentation models share: ``_SimpleSegmentationModel`` (a backbone returning a dict
of feature maps, a classifier head on ``"out"`` and an optional auxiliary head on ``"aux"``, each upsampled
to the input's size), the preset their weights expect (``SemanticSegmentation``), the Pascal VOC category
names, and the builders' handling of ``weights`` / ``weights_backbone`` / ``num_classes`` / ``aux_loss``.

Example:
    >>> import ember
    >>> from ember import nn
    >>> from ember.vision.models._utils import IntermediateLayerGetter
    >>> body = IntermediateLayerGetter(nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1)), {"0": "out"})
    >>> m = _SimpleSegmentationModel(body, nn.Conv2d(4, 2, 1))
    >>> {k: tuple(v.shape) for k, v in m(ember.zeros(1, 3, 8, 8)).items()}
    {'out': (1, 2, 8, 8)}
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import partial
from typing import Any

import ember
from ember import nn
from ember.nn import functional as F

from .._utils import _ovewrite_value_param
from .._weights import Weights, WeightsEnum

__all__ = ["SemanticSegmentation"]

_VOC_CATEGORIES = [
    "__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
]

_RECIPE = "https://github.com/pytorch/vision/tree/main/references/segmentation#"


class SemanticSegmentation(nn.Module):
    """Resize (the shorter side to ``resize_size``; None keeps the size), scale to [0, 1] floats and
    normalize (torchvision's ``transforms._presets.SemanticSegmentation``): a PIL image or a uint8/float
    tensor in, a float tensor out."""

    def __init__(self, *, resize_size: int | None, mean: Sequence[float] = (0.485, 0.456, 0.406),
                 std: Sequence[float] = (0.229, 0.224, 0.225), interpolation: Any = None,
                 antialias: bool | None = True) -> None:
        from ember.vision.transforms import functional as TF

        super().__init__()
        self.resize_size = [resize_size] if resize_size is not None else None
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = TF.InterpolationMode.BILINEAR if interpolation is None else interpolation
        self.antialias = antialias

    def forward(self, img: Any) -> Any:
        from ember.vision.transforms import functional as TF

        if isinstance(self.resize_size, list):
            img = TF.resize(img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias)
        if not isinstance(img, ember.Tensor):
            img = TF.pil_to_tensor(img)
        img = TF.convert_image_dtype(img, ember.float)
        return TF.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        lines = [f"resize_size={self.resize_size}", f"mean={self.mean}", f"std={self.std}",
                 f"interpolation={self.interpolation}"]
        return self.__class__.__name__ + "(" + "".join(f"\n    {line}" for line in lines) + "\n)"

    def describe(self) -> str:
        return (f"Accepts ``PIL.Image``, batched ``(B, C, H, W)`` and single ``(C, H, W)`` image ``torch.Tensor`` "
                f"objects. The images are resized to ``resize_size={self.resize_size}`` using "
                f"``interpolation={self.interpolation}``. Finally the values are first rescaled to ``[0.0, 1.0]`` "
                f"and then normalized using ``mean={self.mean}`` and ``std={self.std}``.")


def _voc_weights(file: str, params: int, recipe: str, miou: float, pixel_acc: float, ops: float,
                 size: float) -> Weights:
    """One COCO-trained (VOC labels) weight file and its preset (the shorter side resized to 520)."""
    meta = {"categories": list(_VOC_CATEGORIES), "min_size": (1, 1), "num_params": params, "recipe": _RECIPE + recipe,
            "_metrics": {"COCO-val2017-VOC-labels": {"miou": miou, "pixel_acc": pixel_acc}},
            "_ops": ops, "_file_size": size}
    return Weights("https://download.pytorch.org/models/" + file, partial(SemanticSegmentation, resize_size=520), meta)


class _SimpleSegmentationModel(nn.Module):
    """``backbone(x)`` gives a dict with ``"out"`` (and ``"aux"``); the forward returns an ``OrderedDict``
    ``{"out": classifier(features["out"])}`` (plus ``"aux"`` from ``aux_classifier`` when there is one),
    each upsampled bilinearly (align_corners=False) to the input's height and width."""

    __constants__ = ["aux_classifier"]

    def __init__(self, backbone: nn.Module, classifier: nn.Module, aux_classifier: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x: ember.Tensor) -> OrderedDict[str, ember.Tensor]:
        size = tuple(x.shape[-2:])
        features = self.backbone(x)
        result: OrderedDict[str, ember.Tensor] = OrderedDict()
        out = self.classifier(features["out"])
        result["out"] = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        if self.aux_classifier is not None:
            aux = self.aux_classifier(features["aux"])
            result["aux"] = F.interpolate(aux, size=size, mode="bilinear", align_corners=False)
        return result


def _resolve(weights: Any, weights_backbone: Any, num_classes: int | None, aux_loss: bool | None,
             enum: type[WeightsEnum], backbone_enum: type[WeightsEnum],
             has_aux: bool = True) -> tuple[Any, Any, int, bool | None]:
    """torchvision's segmentation builders' argument rules: whole-model weights replace the backbone's,
    fix ``num_classes`` to their 21 categories and turn the auxiliary head on; otherwise 21 classes."""
    weights = enum.verify(weights)
    weights_backbone = backbone_enum.verify(weights_backbone)
    if weights is not None:
        weights_backbone = None
        num_classes = _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
        if has_aux:
            aux_loss = _ovewrite_value_param("aux_loss", aux_loss, True)
    elif num_classes is None:
        num_classes = 21
    return weights, weights_backbone, num_classes, aux_loss


def _load(model: nn.Module, weights: Any, progress: bool) -> Any:
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model
