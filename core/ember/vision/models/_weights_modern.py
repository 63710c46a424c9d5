"""Pretrained-weight enums of torchvision's newer classification models (MobileNetV3, EfficientNet,
RegNet, ConvNeXt, ViT, Swin, MaxViT), in the pattern of ``_weights.py``: the URLs, preprocessing and
metadata are torchvision 0.28's, and a builder given ``weights=`` loads the file from torch.hub's cache
(``$TORCH_HOME/hub/checkpoints``; nothing is downloaded here).

Example:
    >>> from ember.vision import models
    >>> w = models.EfficientNet_B0_Weights.DEFAULT
    >>> w.url.rsplit("/", 1)[1], w.transforms().crop_size, w.meta["min_size"]
    ('efficientnet_b0_rwightman-7f5810bc.pth', [224], (1, 1))
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

from . import _weights
from ._imagenet_categories import IMAGENET_CATEGORIES
from ._weights import Weights, WeightsEnum

__all__ = [
    "MobileNet_V3_Large_Weights", "MobileNet_V3_Small_Weights", "EfficientNet_B0_Weights", "EfficientNet_B1_Weights",
    "EfficientNet_B2_Weights", "EfficientNet_B3_Weights", "EfficientNet_B4_Weights", "EfficientNet_B5_Weights",
    "EfficientNet_B6_Weights", "EfficientNet_B7_Weights", "EfficientNet_V2_S_Weights", "EfficientNet_V2_M_Weights",
    "EfficientNet_V2_L_Weights", "RegNet_Y_400MF_Weights", "RegNet_Y_800MF_Weights", "RegNet_Y_1_6GF_Weights",
    "RegNet_Y_3_2GF_Weights", "RegNet_Y_8GF_Weights", "RegNet_Y_16GF_Weights", "RegNet_Y_32GF_Weights",
    "RegNet_Y_128GF_Weights", "RegNet_X_400MF_Weights", "RegNet_X_800MF_Weights", "RegNet_X_1_6GF_Weights",
    "RegNet_X_3_2GF_Weights", "RegNet_X_8GF_Weights", "RegNet_X_16GF_Weights", "RegNet_X_32GF_Weights",
    "ConvNeXt_Tiny_Weights", "ConvNeXt_Small_Weights", "ConvNeXt_Base_Weights", "ConvNeXt_Large_Weights",
    "ViT_B_16_Weights", "ViT_B_32_Weights", "ViT_L_16_Weights", "ViT_L_32_Weights", "ViT_H_14_Weights",
    "Swin_T_Weights", "Swin_S_Weights", "Swin_B_Weights", "Swin_V2_T_Weights", "Swin_V2_S_Weights",
    "Swin_V2_B_Weights", "MaxVit_T_Weights",
]

_URL = "https://download.pytorch.org/models/"
_REF = "https://github.com/pytorch/vision/tree/main/references/classification#"
_ISSUE = "https://github.com/pytorch/vision/issues/3995#"
_SWAG = "https://github.com/facebookresearch/SWAG"
_SWAG_LINEAR = "https://github.com/pytorch/vision/pull/5793"
_SWAG_LICENSE = "https://github.com/facebookresearch/SWAG/blob/main/LICENSE"


def _m(file: str, params: int, min_size: tuple[int, int], acc: tuple[float, float], ops: float, size: float,
       recipe: str, crop: int, resize: int = 256, bicubic: bool = False, mean: tuple[float, ...] | None = None,
       std: tuple[float, ...] | None = None, license: str | None = None) -> Weights:
    """One ImageNet-1K weight file and its ``ImageClassification`` preset (bilinear unless ``bicubic``)."""
    from ember.vision.transforms._presets import ImageClassification
    from ember.vision.transforms.functional import InterpolationMode

    kw: dict[str, Any] = {"crop_size": crop, "resize_size": resize}
    if bicubic:
        kw["interpolation"] = InterpolationMode.BICUBIC
    if mean is not None:
        kw.update(mean=mean, std=std)
    meta: dict[str, Any] = {"min_size": min_size, "categories": list(IMAGENET_CATEGORIES), "num_params": params,
                            "recipe": recipe, "_metrics": {"ImageNet-1K": {"acc@1": acc[0], "acc@5": acc[1]}},
                            "_ops": ops, "_file_size": size}
    if license is not None:
        meta["license"] = license
    return Weights(_URL + file, partial(ImageClassification, **kw), meta)


def resolve(builder: str, enum: type[WeightsEnum], weights: Any, kwargs: dict[str, Any]) -> Any:
    """``_weights.resolve``, also for the enums without ``IMAGENET1K_V1`` (vit_h_14, regnet_y_128gf), whose
    legacy ``pretrained=True`` torchvision maps to no weights (with its deprecation warnings)."""
    if "IMAGENET1K_V1" not in enum.__members__ and "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        if weights is not None:
            raise ValueError(f"{builder}: pass weights= or the deprecated pretrained=, not both")
        warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed in the future, "
                      "please use 'weights' instead.", UserWarning, stacklevel=3)
        if pretrained:
            warnings.warn("Arguments other than a weight enum or `None` for 'weights' are deprecated since 0.13 and "
                          "may be removed in the future. The current behavior is equivalent to passing "
                          f"`weights=None`. You can also use `weights={enum.__name__}.DEFAULT` to get the most "
                          "up-to-date weights.", UserWarning, stacklevel=3)
    return _weights.resolve(builder, enum, weights, kwargs)


# ---- mobilenetv3 -------------------------------------------------------------------------------------------


class MobileNet_V3_Large_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("mobilenet_v3_large-8738ca79.pth", 5483032, (1, 1), (74.042, 91.34), 0.217, 21.114,
                       _REF + "mobilenetv3-large--small", crop=224)
    IMAGENET1K_V2 = _m("mobilenet_v3_large-5c1a4163.pth", 5483032, (1, 1), (75.274, 92.566), 0.217, 21.107,
                       _ISSUE + "new-recipe-with-reg-tuning", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class MobileNet_V3_Small_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("mobilenet_v3_small-047dcff4.pth", 2542856, (1, 1), (67.668, 87.402), 0.057, 9.829,
                       _REF + "mobilenetv3-large--small", crop=224)
    DEFAULT = IMAGENET1K_V1


# ---- efficientnet ------------------------------------------------------------------------------------------


class EfficientNet_B0_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_b0_rwightman-7f5810bc.pth", 5288548, (1, 1), (77.692, 93.532), 0.386, 20.451,
                       _REF + "efficientnet-v1", crop=224, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B1_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_b1_rwightman-bac287d4.pth", 7794184, (1, 1), (78.642, 94.186), 0.687, 30.134,
                       _REF + "efficientnet-v1", crop=240, bicubic=True)
    IMAGENET1K_V2 = _m("efficientnet_b1-c27df63c.pth", 7794184, (1, 1), (79.838, 94.934), 0.687, 30.136,
                       _ISSUE + "new-recipe-with-lr-wd-crop-tuning", crop=240, resize=255)
    DEFAULT = IMAGENET1K_V2


class EfficientNet_B2_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_b2_rwightman-c35c1473.pth", 9109994, (1, 1), (80.608, 95.31), 1.088, 35.174,
                       _REF + "efficientnet-v1", crop=288, resize=288, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B3_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_b3_rwightman-b3899882.pth", 12233232, (1, 1), (82.008, 96.054), 1.827, 47.184,
                       _REF + "efficientnet-v1", crop=300, resize=320, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B4_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_b4_rwightman-23ab8bcd.pth", 19341616, (1, 1), (83.384, 96.594), 4.394, 74.489,
                       _REF + "efficientnet-v1", crop=380, resize=384, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B5_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_b5_lukemelas-1a07897c.pth", 30389784, (1, 1), (83.444, 96.628), 10.266, 116.864,
                       _REF + "efficientnet-v1", crop=456, resize=456, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B6_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_b6_lukemelas-24a108a5.pth", 43040704, (1, 1), (84.008, 96.916), 19.068, 165.362,
                       _REF + "efficientnet-v1", crop=528, resize=528, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B7_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_b7_lukemelas-c5b4e57e.pth", 66347960, (1, 1), (84.122, 96.908), 37.746, 254.675,
                       _REF + "efficientnet-v1", crop=600, resize=600, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_V2_S_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_v2_s-dd5fe13b.pth", 21458488, (33, 33), (84.228, 96.878), 8.366, 82.704,
                       _REF + "efficientnet-v2", crop=384, resize=384)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_V2_M_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_v2_m-dc08266a.pth", 54139356, (33, 33), (85.112, 97.156), 24.582, 208.01,
                       _REF + "efficientnet-v2", crop=480, resize=480)
    DEFAULT = IMAGENET1K_V1


class EfficientNet_V2_L_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("efficientnet_v2_l-59c71312.pth", 118515272, (33, 33), (85.808, 97.788), 56.08, 454.573,
                       _REF + "efficientnet-v2", crop=480, resize=480, bicubic=True,
                       mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    DEFAULT = IMAGENET1K_V1


# ---- regnet ------------------------------------------------------------------------------------------------


class RegNet_Y_400MF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_y_400mf-c65dace8.pth", 4344144, (1, 1), (74.046, 91.716), 0.402, 16.806,
                       _REF + "small-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_y_400mf-e6988f5f.pth", 4344144, (1, 1), (75.804, 92.742), 0.402, 16.806,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_800MF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_y_800mf-1b27b58c.pth", 6432512, (1, 1), (76.42, 93.136), 0.834, 24.774,
                       _REF + "small-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_y_800mf-58fc7688.pth", 6432512, (1, 1), (78.828, 94.502), 0.834, 24.774,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_1_6GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_y_1_6gf-b11a554e.pth", 11202430, (1, 1), (77.95, 93.966), 1.612, 43.152,
                       _REF + "small-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_y_1_6gf-0d7bc02a.pth", 11202430, (1, 1), (80.876, 95.444), 1.612, 43.152,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_3_2GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_y_3_2gf-b5a9779c.pth", 19436338, (1, 1), (78.948, 94.576), 3.176, 74.567,
                       _REF + "medium-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_y_3_2gf-9180c971.pth", 19436338, (1, 1), (81.982, 95.972), 3.176, 74.567,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_8GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_y_8gf-d0d0e4a8.pth", 39381472, (1, 1), (80.032, 95.048), 8.473, 150.701,
                       _REF + "medium-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_y_8gf-dc2b1b54.pth", 39381472, (1, 1), (82.828, 96.33), 8.473, 150.701,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_16GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_y_16gf-9e6ed7dd.pth", 83590140, (1, 1), (80.424, 95.24), 15.912, 319.49,
                       _REF + "large-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_y_16gf-3e4a00f9.pth", 83590140, (1, 1), (82.886, 96.328), 15.912, 319.49,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    IMAGENET1K_SWAG_E2E_V1 = _m("regnet_y_16gf_swag-43afe44d.pth", 83590140, (1, 1), (86.012, 98.054), 46.735, 319.49,
                                _SWAG, crop=384, resize=384, bicubic=True, license=_SWAG_LICENSE)
    IMAGENET1K_SWAG_LINEAR_V1 = _m("regnet_y_16gf_lc_swag-f3ec0043.pth", 83590140, (1, 1), (83.976, 97.244), 15.912,
                                   319.49, _SWAG_LINEAR, crop=224, resize=224, bicubic=True, license=_SWAG_LICENSE)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_32GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_y_32gf-4dee3f7a.pth", 145046770, (1, 1), (80.878, 95.34), 32.28, 554.076,
                       _REF + "large-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_y_32gf-8db6d4b5.pth", 145046770, (1, 1), (83.368, 96.498), 32.28, 554.076,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    IMAGENET1K_SWAG_E2E_V1 = _m("regnet_y_32gf_swag-04fdfa75.pth", 145046770, (1, 1), (86.838, 98.362), 94.826, 554.076,
                                _SWAG, crop=384, resize=384, bicubic=True, license=_SWAG_LICENSE)
    IMAGENET1K_SWAG_LINEAR_V1 = _m("regnet_y_32gf_lc_swag-e1583746.pth", 145046770, (1, 1), (84.622, 97.48), 32.28,
                                   554.076, _SWAG_LINEAR, crop=224, resize=224, bicubic=True, license=_SWAG_LICENSE)
    DEFAULT = IMAGENET1K_V2


class RegNet_Y_128GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_SWAG_E2E_V1 = _m("regnet_y_128gf_swag-c8ce3e52.pth", 644812894, (1, 1), (88.228, 98.682), 374.57,
                                2461.564, _SWAG, crop=384, resize=384, bicubic=True, license=_SWAG_LICENSE)
    IMAGENET1K_SWAG_LINEAR_V1 = _m("regnet_y_128gf_lc_swag-cbe8ce12.pth", 644812894, (1, 1), (86.068, 97.844), 127.518,
                                   2461.564, _SWAG_LINEAR, crop=224, resize=224, bicubic=True, license=_SWAG_LICENSE)
    DEFAULT = IMAGENET1K_SWAG_E2E_V1


class RegNet_X_400MF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_x_400mf-adf1edd5.pth", 5495976, (1, 1), (72.834, 90.95), 0.414, 21.258,
                       _REF + "small-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_x_400mf-62229a5f.pth", 5495976, (1, 1), (74.864, 92.322), 0.414, 21.257,
                       _ISSUE + "new-recipe-with-fixres", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_800MF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_x_800mf-ad17e45c.pth", 7259656, (1, 1), (75.212, 92.348), 0.8, 27.945,
                       _REF + "small-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_x_800mf-94a99ebd.pth", 7259656, (1, 1), (77.522, 93.826), 0.8, 27.945,
                       _ISSUE + "new-recipe-with-fixres", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_1_6GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_x_1_6gf-e3633e7f.pth", 9190136, (1, 1), (77.04, 93.44), 1.603, 35.339,
                       _REF + "small-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_x_1_6gf-a12f2b72.pth", 9190136, (1, 1), (79.668, 94.922), 1.603, 35.339,
                       _ISSUE + "new-recipe-with-fixres", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_3_2GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_x_3_2gf-f342aeae.pth", 15296552, (1, 1), (78.364, 93.992), 3.177, 58.756,
                       _REF + "medium-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_x_3_2gf-7071aa85.pth", 15296552, (1, 1), (81.196, 95.43), 3.177, 58.756,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_8GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_x_8gf-03ceed89.pth", 39572648, (1, 1), (79.344, 94.686), 7.995, 151.456,
                       _REF + "medium-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_x_8gf-2b70d774.pth", 39572648, (1, 1), (81.682, 95.678), 7.995, 151.456,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_16GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_x_16gf-2007eb11.pth", 54278536, (1, 1), (80.058, 94.944), 15.941, 207.627,
                       _REF + "medium-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_x_16gf-ba3796d7.pth", 54278536, (1, 1), (82.716, 96.196), 15.941, 207.627,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


class RegNet_X_32GF_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("regnet_x_32gf-9d47f8d0.pth", 107811560, (1, 1), (80.622, 95.248), 31.736, 412.039,
                       _REF + "large-models", crop=224)
    IMAGENET1K_V2 = _m("regnet_x_32gf-6eb8fdc6.pth", 107811560, (1, 1), (83.014, 96.288), 31.736, 412.039,
                       _ISSUE + "new-recipe", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V2


# ---- convnext ----------------------------------------------------------------------------------------------


class ConvNeXt_Tiny_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("convnext_tiny-983f1562.pth", 28589128, (32, 32), (82.52, 96.146), 4.456, 109.119,
                       _REF + "convnext", crop=224, resize=236)
    DEFAULT = IMAGENET1K_V1


class ConvNeXt_Small_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("convnext_small-0c510722.pth", 50223688, (32, 32), (83.616, 96.65), 8.684, 191.703,
                       _REF + "convnext", crop=224, resize=230)
    DEFAULT = IMAGENET1K_V1


class ConvNeXt_Base_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("convnext_base-6075fbad.pth", 88591464, (32, 32), (84.062, 96.87), 15.355, 338.064,
                       _REF + "convnext", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V1


class ConvNeXt_Large_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("convnext_large-ea097f82.pth", 197767336, (32, 32), (84.414, 96.976), 34.361, 754.537,
                       _REF + "convnext", crop=224, resize=232)
    DEFAULT = IMAGENET1K_V1


# ---- vision_transformer ------------------------------------------------------------------------------------


class ViT_B_16_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("vit_b_16-c867db91.pth", 86567656, (224, 224), (81.072, 95.318), 17.564, 330.285,
                       _REF + "vit_b_16", crop=224)
    IMAGENET1K_SWAG_E2E_V1 = _m("vit_b_16_swag-9ac1b537.pth", 86859496, (384, 384), (85.304, 97.65), 55.484, 331.398,
                                _SWAG, crop=384, resize=384, bicubic=True, license=_SWAG_LICENSE)
    IMAGENET1K_SWAG_LINEAR_V1 = _m("vit_b_16_lc_swag-4e70ced5.pth", 86567656, (224, 224), (81.886, 96.18), 17.564,
                                   330.285, _SWAG_LINEAR, crop=224, resize=224, bicubic=True, license=_SWAG_LICENSE)
    DEFAULT = IMAGENET1K_V1


class ViT_B_32_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("vit_b_32-d86f8d99.pth", 88224232, (224, 224), (75.912, 92.466), 4.409, 336.604,
                       _REF + "vit_b_32", crop=224)
    DEFAULT = IMAGENET1K_V1


class ViT_L_16_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("vit_l_16-852ce7e3.pth", 304326632, (224, 224), (79.662, 94.638), 61.555, 1161.023,
                       _REF + "vit_l_16", crop=224, resize=242)
    IMAGENET1K_SWAG_E2E_V1 = _m("vit_l_16_swag-4f3808c9.pth", 305174504, (512, 512), (88.064, 98.512), 361.986,
                                1164.258, _SWAG, crop=512, resize=512, bicubic=True, license=_SWAG_LICENSE)
    IMAGENET1K_SWAG_LINEAR_V1 = _m("vit_l_16_lc_swag-4d563306.pth", 304326632, (224, 224), (85.146, 97.422), 61.555,
                                   1161.023, _SWAG_LINEAR, crop=224, resize=224, bicubic=True, license=_SWAG_LICENSE)
    DEFAULT = IMAGENET1K_V1


class ViT_L_32_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("vit_l_32-c7638314.pth", 306535400, (224, 224), (76.972, 93.07), 15.378, 1169.449,
                       _REF + "vit_l_32", crop=224)
    DEFAULT = IMAGENET1K_V1


class ViT_H_14_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_SWAG_E2E_V1 = _m("vit_h_14_swag-80465313.pth", 633470440, (518, 518), (88.552, 98.694), 1016.717,
                                2416.643, _SWAG, crop=518, resize=518, bicubic=True, license=_SWAG_LICENSE)
    IMAGENET1K_SWAG_LINEAR_V1 = _m("vit_h_14_lc_swag-c1eb923e.pth", 632045800, (224, 224), (85.708, 97.73), 167.295,
                                   2411.209, _SWAG_LINEAR, crop=224, resize=224, bicubic=True, license=_SWAG_LICENSE)
    DEFAULT = IMAGENET1K_SWAG_E2E_V1


# ---- swin_transformer --------------------------------------------------------------------------------------


class Swin_T_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("swin_t-704ceda3.pth", 28288354, (224, 224), (81.474, 95.776), 4.491, 108.19,
                       _REF + "swintransformer", crop=224, resize=232, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class Swin_S_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("swin_s-5e29d889.pth", 49606258, (224, 224), (83.196, 96.36), 8.741, 189.786,
                       _REF + "swintransformer", crop=224, resize=246, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class Swin_B_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("swin_b-68c6b09e.pth", 87768224, (224, 224), (83.582, 96.64), 15.431, 335.364,
                       _REF + "swintransformer", crop=224, resize=238, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class Swin_V2_T_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("swin_v2_t-b137f0e2.pth", 28351570, (256, 256), (82.072, 96.132), 5.94, 108.626,
                       _REF + "swintransformer-v2", crop=256, resize=260, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class Swin_V2_S_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("swin_v2_s-637d8ceb.pth", 49737442, (256, 256), (83.712, 96.816), 11.546, 190.675,
                       _REF + "swintransformer-v2", crop=256, resize=260, bicubic=True)
    DEFAULT = IMAGENET1K_V1


class Swin_V2_B_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("swin_v2_b-781e5279.pth", 87930848, (256, 256), (84.112, 96.864), 20.325, 336.372,
                       _REF + "swintransformer-v2", crop=256, resize=272, bicubic=True)
    DEFAULT = IMAGENET1K_V1


# ---- maxvit ------------------------------------------------------------------------------------------------


class MaxVit_T_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _m("maxvit_t-bc5ab103.pth", 30919624, (224, 224), (83.7, 96.722), 5.558, 118.769, _REF + "maxvit",
                       crop=224, resize=224, bicubic=True)
    DEFAULT = IMAGENET1K_V1
