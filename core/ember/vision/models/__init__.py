"""torchvision's classification models: ResNet, VGG, MobileNetV2, with its state_dict names.

Pretrained weights can't be downloaded here: ``weights=ResNet18_Weights.DEFAULT`` and the like load the
file from torch.hub's cache (``$TORCH_HOME/hub/checkpoints``), where torchvision keeps what it downloaded.

Example:
    >>> from ember.vision import models
    >>> m = models.resnet18()
    >>> m.fc.out_features
    1000
    >>> m.load_state_dict(m.state_dict())  # or ember.load("resnet18-f37072fd.pth")
    <All keys matched successfully>
"""

from __future__ import annotations

from ._weights import (
    MobileNet_V2_Weights,
    ResNet18_Weights,
    ResNet34_Weights,
    ResNet50_Weights,
    ResNet101_Weights,
    ResNet152_Weights,
    VGG11_BN_Weights,
    VGG11_Weights,
    VGG13_BN_Weights,
    VGG13_Weights,
    VGG16_BN_Weights,
    VGG16_Weights,
    VGG19_BN_Weights,
    VGG19_Weights,
    Weights,
    WeightsEnum,
)
from .mobilenetv2 import MobileNetV2, mobilenet_v2
from .resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = [
    "VGG", "MobileNetV2", "ResNet",
    "mobilenet_v2", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "Weights", "WeightsEnum", "get_model_weights", "get_weight",
    "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights",
    "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights", "VGG16_BN_Weights",
    "VGG19_Weights", "VGG19_BN_Weights", "MobileNet_V2_Weights",
]

# the model registry (builders register themselves with @register_model() in their own modules)
from ._registry import get_model, get_model_builder, get_model_weights, get_weight, list_models, register_model  # noqa: E402

__all__ += ["get_model", "get_model_builder", "list_models"]

# vgg and mobilenet_v2 predate the registry: list them with their weights enums
from ._registry import BUILTIN_MODELS as _BUILTIN_MODELS  # noqa: E402
from ._weights import _BY_BUILDER as _LEGACY_BUILDERS  # noqa: E402

for _name, _enum in _LEGACY_BUILDERS.items():
    if _name not in _BUILTIN_MODELS:
        register_model(weights=_enum)(globals()[_name])

# the classic CNNs (AlexNet, SqueezeNet, DenseNet, GoogLeNet, Inception v3, ShuffleNetV2, MNASNet, ResNeXt,
# Wide ResNet) and their weights enums
from ._weights_classic import *  # noqa: E402, F403
from ._weights_classic import __all__ as _classic_weights  # noqa: E402
from .alexnet import AlexNet, alexnet  # noqa: E402
from .densenet import DenseNet, densenet121, densenet161, densenet169, densenet201  # noqa: E402
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet  # noqa: E402
from .inception import Inception3, InceptionOutputs, inception_v3  # noqa: E402
from .mnasnet import MNASNet, mnasnet0_5, mnasnet0_75, mnasnet1_0, mnasnet1_3  # noqa: E402
from .resnet import resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, wide_resnet50_2, wide_resnet101_2  # noqa: E402
from .shufflenetv2 import (  # noqa: E402
    ShuffleNetV2,
    shufflenet_v2_x0_5,
    shufflenet_v2_x1_0,
    shufflenet_v2_x1_5,
    shufflenet_v2_x2_0,
)
from .squeezenet import SqueezeNet, squeezenet1_0, squeezenet1_1  # noqa: E402

__all__ += [*_classic_weights, "AlexNet", "alexnet", "DenseNet", "densenet121", "densenet161", "densenet169",
            "densenet201", "GoogLeNet", "GoogLeNetOutputs", "googlenet", "Inception3", "InceptionOutputs",
            "inception_v3", "MNASNet", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "resnext50_32x4d",
            "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2", "ShuffleNetV2",
            "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "SqueezeNet",
            "squeezenet1_0", "squeezenet1_1"]

# torchvision's newer classifiers (each builder registers itself with @register_model())
from ._weights_modern import (  # noqa: E402
    ConvNeXt_Base_Weights,
    ConvNeXt_Large_Weights,
    ConvNeXt_Small_Weights,
    ConvNeXt_Tiny_Weights,
    EfficientNet_B0_Weights,
    EfficientNet_B1_Weights,
    EfficientNet_B2_Weights,
    EfficientNet_B3_Weights,
    EfficientNet_B4_Weights,
    EfficientNet_B5_Weights,
    EfficientNet_B6_Weights,
    EfficientNet_B7_Weights,
    EfficientNet_V2_L_Weights,
    EfficientNet_V2_M_Weights,
    EfficientNet_V2_S_Weights,
    MaxVit_T_Weights,
    MobileNet_V3_Large_Weights,
    MobileNet_V3_Small_Weights,
    RegNet_X_1_6GF_Weights,
    RegNet_X_3_2GF_Weights,
    RegNet_X_8GF_Weights,
    RegNet_X_16GF_Weights,
    RegNet_X_32GF_Weights,
    RegNet_X_400MF_Weights,
    RegNet_X_800MF_Weights,
    RegNet_Y_1_6GF_Weights,
    RegNet_Y_3_2GF_Weights,
    RegNet_Y_8GF_Weights,
    RegNet_Y_16GF_Weights,
    RegNet_Y_32GF_Weights,
    RegNet_Y_128GF_Weights,
    RegNet_Y_400MF_Weights,
    RegNet_Y_800MF_Weights,
    Swin_B_Weights,
    Swin_S_Weights,
    Swin_T_Weights,
    Swin_V2_B_Weights,
    Swin_V2_S_Weights,
    Swin_V2_T_Weights,
    ViT_B_16_Weights,
    ViT_B_32_Weights,
    ViT_H_14_Weights,
    ViT_L_16_Weights,
    ViT_L_32_Weights,
)
from .convnext import ConvNeXt, convnext_base, convnext_large, convnext_small, convnext_tiny  # noqa: E402
from .efficientnet import (  # noqa: E402
    EfficientNet,
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
    efficientnet_b4,
    efficientnet_b5,
    efficientnet_b6,
    efficientnet_b7,
    efficientnet_v2_l,
    efficientnet_v2_m,
    efficientnet_v2_s,
)
from .mobilenetv3 import MobileNetV3, mobilenet_v3_large, mobilenet_v3_small  # noqa: E402
from .regnet import (  # noqa: E402
    RegNet,
    regnet_x_1_6gf,
    regnet_x_3_2gf,
    regnet_x_8gf,
    regnet_x_16gf,
    regnet_x_32gf,
    regnet_x_400mf,
    regnet_x_800mf,
    regnet_y_1_6gf,
    regnet_y_3_2gf,
    regnet_y_8gf,
    regnet_y_16gf,
    regnet_y_32gf,
    regnet_y_128gf,
    regnet_y_400mf,
    regnet_y_800mf,
)
from .swin_transformer import SwinTransformer, swin_b, swin_s, swin_t, swin_v2_b, swin_v2_s, swin_v2_t  # noqa: E402
from .vision_transformer import VisionTransformer, vit_b_16, vit_b_32, vit_h_14, vit_l_16, vit_l_32  # noqa: E402

__all__ += [
    "MobileNetV3", "EfficientNet", "RegNet", "ConvNeXt", "VisionTransformer", "SwinTransformer",
    "mobilenet_v3_large", "mobilenet_v3_small",
    "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
    "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
    "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
    "regnet_y_32gf", "regnet_y_128gf", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
    "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf",
    "convnext_tiny", "convnext_small", "convnext_base", "convnext_large",
    "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14",
    "swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b",
    "ConvNeXt_Base_Weights", "ConvNeXt_Large_Weights", "ConvNeXt_Small_Weights", "ConvNeXt_Tiny_Weights",
    "EfficientNet_B0_Weights", "EfficientNet_B1_Weights", "EfficientNet_B2_Weights", "EfficientNet_B3_Weights",
    "EfficientNet_B4_Weights", "EfficientNet_B5_Weights", "EfficientNet_B6_Weights", "EfficientNet_B7_Weights",
    "EfficientNet_V2_L_Weights", "EfficientNet_V2_M_Weights", "EfficientNet_V2_S_Weights", "MaxVit_T_Weights",
    "MobileNet_V3_Large_Weights", "MobileNet_V3_Small_Weights", "RegNet_X_1_6GF_Weights", "RegNet_X_3_2GF_Weights",
    "RegNet_X_8GF_Weights", "RegNet_X_16GF_Weights", "RegNet_X_32GF_Weights", "RegNet_X_400MF_Weights",
    "RegNet_X_800MF_Weights", "RegNet_Y_1_6GF_Weights", "RegNet_Y_3_2GF_Weights", "RegNet_Y_8GF_Weights",
    "RegNet_Y_16GF_Weights", "RegNet_Y_32GF_Weights", "RegNet_Y_128GF_Weights", "RegNet_Y_400MF_Weights",
    "RegNet_Y_800MF_Weights", "Swin_B_Weights", "Swin_S_Weights", "Swin_T_Weights", "Swin_V2_B_Weights",
    "Swin_V2_S_Weights", "Swin_V2_T_Weights", "ViT_B_16_Weights", "ViT_B_32_Weights", "ViT_H_14_Weights",
    "ViT_L_16_Weights", "ViT_L_32_Weights",
]

# MaxViT, and the segmentation models (listed under their own module, as torchvision:
# list_models(module=models.segmentation))
from . import segmentation  # noqa: E402, F401
from .maxvit import MaxVit, maxvit_t  # noqa: E402

__all__ += ["MaxVit", "maxvit_t"]

# torchvision's detectors (Faster/Mask/Keypoint R-CNN, RetinaNet, FCOS, SSD) under models.detection, as in
# torchvision; importing it registers their builders (list_models(module=models.detection))
from . import detection  # noqa: E402, F401
