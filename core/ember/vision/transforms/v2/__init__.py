"""torchvision.transforms.v2: transforms for whole samples (any nesting of tuples, lists and dicts) whose
images, videos, masks, bounding boxes and key points (``ember.vision.tv_tensors``) move together.

Example:
    >>> import ember
    >>> from ember.vision import tv_tensors
    >>> from ember.vision.transforms import v2
    >>> img = tv_tensors.Image(ember.zeros(3, 8, 10, dtype=ember.uint8))
    >>> boxes = tv_tensors.BoundingBoxes([[1, 2, 5, 6]], format="XYXY", canvas_size=(8, 10))
    >>> out = v2.Compose([v2.RandomHorizontalFlip(p=1.0), v2.Resize((4, 5))])({"image": img, "boxes": boxes})
    >>> out["boxes"].tolist(), out["boxes"].canvas_size
    ([[2, 1, 4, 3]], (4, 5))
"""

from __future__ import annotations

from ember.vision.transforms.autoaugment import AutoAugmentPolicy
from ember.vision.transforms.functional import InterpolationMode

from . import functional
from ._auto_augment import AugMix, AutoAugment, RandAugment, TrivialAugmentWide
from ._color import (
    RGB,
    ColorJitter,
    Grayscale,
    RandomAdjustSharpness,
    RandomAutocontrast,
    RandomChannelPermutation,
    RandomEqualize,
    RandomGrayscale,
    RandomInvert,
    RandomPhotometricDistort,
    RandomPosterize,
    RandomSolarize,
)
from ._geometry import (
    CenterCrop,
    ElasticTransform,
    FiveCrop,
    Pad,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomIoUCrop,
    RandomPerspective,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    RandomZoomOut,
    Resize,
    TenCrop,
)
from ._misc import (
    JPEG,
    ClampBoundingBoxes,
    ClampKeyPoints,
    Compose,
    ConvertBoundingBoxFormat,
    ConvertImageDtype,
    CutMix,
    GaussianBlur,
    GaussianNoise,
    Identity,
    Lambda,
    LinearTransformation,
    MixUp,
    Normalize,
    PILToTensor,
    RandomApply,
    RandomChoice,
    RandomErasing,
    RandomOrder,
    SanitizeBoundingBoxes,
    ToDtype,
    ToImage,
    ToPILImage,
    ToPureTensor,
    ToTensor,
)
from ._transform import Transform

__all__ = [
    "JPEG", "RGB", "AugMix", "AutoAugment", "AutoAugmentPolicy", "CenterCrop", "ClampBoundingBoxes",
    "ClampKeyPoints", "ColorJitter", "Compose", "ConvertBoundingBoxFormat", "ConvertImageDtype", "CutMix",
    "ElasticTransform", "FiveCrop", "GaussianBlur", "GaussianNoise", "Grayscale", "Identity", "InterpolationMode",
    "Lambda", "LinearTransformation", "MixUp", "Normalize", "PILToTensor", "Pad", "RandAugment",
    "RandomAdjustSharpness", "RandomAffine", "RandomApply", "RandomAutocontrast", "RandomChannelPermutation",
    "RandomChoice", "RandomCrop", "RandomEqualize", "RandomErasing", "RandomGrayscale", "RandomHorizontalFlip",
    "RandomInvert", "RandomIoUCrop", "RandomOrder", "RandomPerspective", "RandomPhotometricDistort",
    "RandomPosterize", "RandomResizedCrop", "RandomRotation", "RandomSolarize", "RandomVerticalFlip",
    "RandomZoomOut", "Resize", "SanitizeBoundingBoxes", "TenCrop", "ToDtype", "ToImage", "ToPILImage",
    "ToPureTensor", "ToTensor", "Transform", "TrivialAugmentWide", "functional",
]


def _v1_get_params() -> None:
    """torchvision's v2 classes keep their v1 counterpart's static ``get_params`` (programs call e.g.
    ``v2.RandomCrop.get_params(img, (h, w))`` to share one crop between inputs)."""
    from ember.vision.transforms import transforms as v1

    for name in ("RandomCrop", "RandomResizedCrop", "RandomRotation", "ColorJitter", "RandomAffine",
                 "RandomPerspective", "RandomErasing", "GaussianBlur", "ElasticTransform"):
        globals()[name].get_params = staticmethod(getattr(v1, name).get_params)


_v1_get_params()
