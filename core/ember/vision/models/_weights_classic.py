"""torchvision's weights enums for the classic CNNs: AlexNet, SqueezeNet, DenseNet, GoogLeNet, Inception v3,
ShuffleNetV2, MNASNet, ResNeXt and Wide ResNet (same URLs, preprocessing and metadata as torchvision 0.28;
the ``_docs`` prose is left out). Files load from torch.hub's cache as in :mod:`._weights`.

Example:
    >>> from ember.vision import models
    >>> w = models.Inception_V3_Weights.DEFAULT
    >>> w.url.rsplit("/", 1)[1], w.meta["min_size"], w.transforms().crop_size
    ('inception_v3_google-0cc3c7bd.pth', (75, 75), [299])
"""

from __future__ import annotations

from typing import Any

from ._weights import _NEW_RECIPE, _VGG, WeightsEnum, _classification, _w

__all__ = ["AlexNet_Weights", "SqueezeNet1_0_Weights", "SqueezeNet1_1_Weights", "DenseNet121_Weights",
           "DenseNet161_Weights", "DenseNet169_Weights", "DenseNet201_Weights", "GoogLeNet_Weights",
           "Inception_V3_Weights", "ShuffleNet_V2_X0_5_Weights", "ShuffleNet_V2_X1_0_Weights",
           "ShuffleNet_V2_X1_5_Weights", "ShuffleNet_V2_X2_0_Weights", "MNASNet0_5_Weights", "MNASNet0_75_Weights",
           "MNASNet1_0_Weights", "MNASNet1_3_Weights", "ResNeXt50_32X4D_Weights", "ResNeXt101_32X8D_Weights",
           "ResNeXt101_64X4D_Weights", "Wide_ResNet50_2_Weights", "Wide_ResNet101_2_Weights"]

_SQUEEZE = "https://github.com/pytorch/vision/pull/49#issuecomment-277560717"
_DENSE = "https://github.com/pytorch/vision/pull/116"
_GOOGLENET = "https://github.com/pytorch/vision/tree/main/references/classification#googlenet"
_INCEPTION = "https://github.com/pytorch/vision/tree/main/references/classification#inception-v3"
_SHUFFLE = "https://github.com/ericsun99/Shufflenet-v2-Pytorch"
_SHUFFLE_NEW = "https://github.com/pytorch/vision/pull/5906"
_MNAS = "https://github.com/1e100/mnasnet_trainer"
_MNAS_NEW = "https://github.com/pytorch/vision/pull/6019"
_RESNEXT = "https://github.com/pytorch/vision/tree/main/references/classification#resnext"
_FIXRES = "https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres"
_RESNEXT_64X4D = "https://github.com/pytorch/vision/pull/5935"
_WIDE = "https://github.com/pytorch/vision/pull/912#issue-445437439"


class AlexNet_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("alexnet-owt-7be5be79.pth", 61100840, (63, 63), (56.522, 79.066), 0.714, 233.087, _VGG)
    DEFAULT = IMAGENET1K_V1


class SqueezeNet1_0_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("squeezenet1_0-b66bff10.pth", 1248424, (21, 21), (58.092, 80.42), 0.819, 4.778, _SQUEEZE)
    DEFAULT = IMAGENET1K_V1


class SqueezeNet1_1_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("squeezenet1_1-b8a52dc0.pth", 1235496, (17, 17), (58.178, 80.624), 0.349, 4.729, _SQUEEZE)
    DEFAULT = IMAGENET1K_V1


class DenseNet121_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("densenet121-a639ec97.pth", 7978856, (29, 29), (74.434, 91.972), 2.834, 30.845, _DENSE)
    DEFAULT = IMAGENET1K_V1


class DenseNet161_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("densenet161-8d451a50.pth", 28681000, (29, 29), (77.138, 93.56), 7.728, 110.369, _DENSE)
    DEFAULT = IMAGENET1K_V1


class DenseNet169_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("densenet169-b2777c0a.pth", 14149480, (29, 29), (75.6, 92.806), 3.36, 54.708, _DENSE)
    DEFAULT = IMAGENET1K_V1


class DenseNet201_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("densenet201-c1103571.pth", 20013928, (29, 29), (76.896, 93.37), 4.291, 77.373, _DENSE)
    DEFAULT = IMAGENET1K_V1


class GoogLeNet_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("googlenet-1378be20.pth", 6624904, (15, 15), (69.778, 89.53), 1.498, 49.731, _GOOGLENET)
    DEFAULT = IMAGENET1K_V1


class Inception_V3_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("inception_v3_google-0cc3c7bd.pth", 27161264, (75, 75), (77.294, 93.45), 5.713, 103.903,
                       _INCEPTION, _classification(crop=299, resize=342))
    DEFAULT = IMAGENET1K_V1


class ShuffleNet_V2_X0_5_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("shufflenetv2_x0.5-f707e7126e.pth", 1366792, (1, 1), (60.552, 81.746), 0.04, 5.282, _SHUFFLE)
    DEFAULT = IMAGENET1K_V1


class ShuffleNet_V2_X1_0_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("shufflenetv2_x1-5666bf0f80.pth", 2278604, (1, 1), (69.362, 88.316), 0.145, 8.791, _SHUFFLE)
    DEFAULT = IMAGENET1K_V1


class ShuffleNet_V2_X1_5_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("shufflenetv2_x1_5-3c479a10.pth", 3503624, (1, 1), (72.996, 91.086), 0.296, 13.557,
                       _SHUFFLE_NEW, _classification(resize=232))
    DEFAULT = IMAGENET1K_V1


class ShuffleNet_V2_X2_0_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("shufflenetv2_x2_0-8be3c8ee.pth", 7393996, (1, 1), (76.23, 93.006), 0.583, 28.433,
                       _SHUFFLE_NEW, _classification(resize=232))
    DEFAULT = IMAGENET1K_V1


class MNASNet0_5_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("mnasnet0.5_top1_67.823-3ffadce67e.pth", 2218512, (1, 1), (67.734, 87.49), 0.104, 8.591, _MNAS)
    DEFAULT = IMAGENET1K_V1


class MNASNet0_75_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("mnasnet0_75-7090bc5f.pth", 3170208, (1, 1), (71.18, 90.496), 0.215, 12.303,
                       _MNAS_NEW, _classification(resize=232))
    DEFAULT = IMAGENET1K_V1


class MNASNet1_0_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("mnasnet1.0_top1_73.512-f206786ef8.pth", 4383312, (1, 1), (73.456, 91.51), 0.314, 16.915, _MNAS)
    DEFAULT = IMAGENET1K_V1


class MNASNet1_3_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("mnasnet1_3-a4c69d6f.pth", 6282256, (1, 1), (76.506, 93.522), 0.526, 24.246,
                       _MNAS_NEW, _classification(resize=232))
    DEFAULT = IMAGENET1K_V1


class ResNeXt50_32X4D_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("resnext50_32x4d-7cdf4587.pth", 25028904, (1, 1), (77.618, 93.698), 4.23, 95.789, _RESNEXT)
    IMAGENET1K_V2 = _w("resnext50_32x4d-1a0047aa.pth", 25028904, (1, 1), (81.198, 95.34), 4.23, 95.833,
                       _NEW_RECIPE, _classification(resize=232))
    DEFAULT = IMAGENET1K_V2


class ResNeXt101_32X8D_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("resnext101_32x8d-8ba56ff5.pth", 88791336, (1, 1), (79.312, 94.526), 16.414, 339.586, _RESNEXT)
    IMAGENET1K_V2 = _w("resnext101_32x8d-110c445d.pth", 88791336, (1, 1), (82.834, 96.228), 16.414, 339.673,
                       _FIXRES, _classification(resize=232))
    DEFAULT = IMAGENET1K_V2


class ResNeXt101_64X4D_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("resnext101_64x4d-173b62eb.pth", 83455272, (1, 1), (83.246, 96.454), 15.46, 319.318,
                       _RESNEXT_64X4D, _classification(resize=232))
    DEFAULT = IMAGENET1K_V1


class Wide_ResNet50_2_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("wide_resnet50_2-95faca4d.pth", 68883240, (1, 1), (78.468, 94.086), 11.398, 131.82, _WIDE)
    IMAGENET1K_V2 = _w("wide_resnet50_2-9ba9bcbe.pth", 68883240, (1, 1), (81.602, 95.758), 11.398, 263.124,
                       _FIXRES, _classification(resize=232))
    DEFAULT = IMAGENET1K_V2


class Wide_ResNet101_2_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("wide_resnet101_2-32ee1156.pth", 126886696, (1, 1), (78.848, 94.284), 22.753, 242.896, _WIDE)
    IMAGENET1K_V2 = _w("wide_resnet101_2-d733dc28.pth", 126886696, (1, 1), (82.51, 96.02), 22.753, 484.747,
                       _NEW_RECIPE, _classification(resize=232))
    DEFAULT = IMAGENET1K_V2



def _ovewrite_named_param(kwargs: dict[str, Any], param: str, new_value: Any) -> None:
    """Set ``kwargs[param]``; a caller's different value raises torchvision's ValueError."""
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got {kwargs[param]} instead.")
    else:
        kwargs[param] = new_value
