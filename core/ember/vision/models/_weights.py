"""torchvision's pretrained-weight enums (``models.ResNet18_Weights.IMAGENET1K_V1`` and the like).

A builder given ``weights=`` loads the weight file through :mod:`ember.hub`, from the cache
torchvision downloads into, ``$TORCH_HOME/hub/checkpoints`` (``~/.cache/torch/hub/checkpoints`` by
default; the file name is the URL's last part), downloading it there first when it is missing. A
file already there loads as it is (torch.hub checks a hash only while downloading); a download that
fails (no network) raises an error that says where to put the file by hand.

Example:
    >>> from ember.vision import models
    >>> w = models.ResNet50_Weights.DEFAULT
    >>> w, w.url.rsplit("/", 1)[1], len(w.meta["categories"])
    (ResNet50_Weights.IMAGENET1K_V2, 'resnet50-11ad3fa6.pth', 1000)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any

from ._imagenet_categories import IMAGENET_CATEGORIES

__all__ = ["Weights", "WeightsEnum", "get_weight", "get_model_weights", "load_state_dict_from_url",
           "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights",
           "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights",
           "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights", "MobileNet_V2_Weights"]


@dataclass
class Weights:
    """One set of pretrained weights: where torchvision serves it, its preprocessing and its metadata."""

    url: str
    transforms: Callable
    meta: dict[str, Any]


class WeightsEnum(Enum):
    """The base of every ``<Model>_Weights`` enum; each value is a :class:`Weights`."""

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """``obj`` as a member of this enum: None, a member, or its name (``"IMAGENET1K_V1"`` or
        ``"ResNet18_Weights.IMAGENET1K_V1"``)."""
        if obj is None:
            return None
        if type(obj) is str:
            return cls[obj.replace(cls.__name__ + ".", "")]
        if not isinstance(obj, cls):
            raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received "
                            f"{obj.__class__.__name__}.")
        return obj

    def get_state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return load_state_dict_from_url(self.url, *args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self) -> Callable:
        return self.value.transforms

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta


def hub_dir() -> str:
    """torch.hub's directory (:func:`ember.hub.get_dir`): ``$TORCH_HOME/hub`` by default."""
    from ember import hub

    return hub.get_dir()


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None,
                             progress: bool = True, check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool | None = None) -> dict[str, Any]:
    """:func:`ember.hub.load_state_dict_from_url`; a download that fails says where to put the file."""
    from urllib.error import URLError

    from ember import hub

    try:
        return hub.load_state_dict_from_url(url, model_dir, map_location, progress, check_hash, file_name,
                                            weights_only)
    except URLError as e:  # no network: the file can still be put in the cache by hand
        model_dir = model_dir if model_dir is not None else os.path.join(hub_dir(), "checkpoints")
        name = file_name if file_name is not None else os.path.basename(url.split("?", 1)[0])
        raise RuntimeError(f"pretrained weights can't be downloaded here: put the file {url} at "
                           f"{os.path.join(model_dir, name)} (torch.hub's cache, where torchvision keeps it) and run "
                           f"again ({e.reason})") from e


def resolve(builder: str, enum: type[WeightsEnum], weights: Any, kwargs: dict[str, Any]) -> Any:
    """The builder's ``weights`` as a member of ``enum`` (or None), with torchvision's handling of the
    legacy ``pretrained=`` flag, and ``num_classes`` taken from the weights' categories."""
    kwargs.pop("progress", None)
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        default = enum["IMAGENET1K_V1"] if pretrained else None
        if weights is not None:
            raise ValueError(f"{builder}: pass weights= or the deprecated pretrained=, not both")
        warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed in the future, "
                      "please use 'weights' instead.", UserWarning, stacklevel=3)
        if pretrained:
            warnings.warn(f"Arguments other than a weight enum or `None` for 'weights' are deprecated since 0.13 "
                          f"and may be removed in the future. The current behavior is equivalent to passing "
                          f"`weights={default!r}`. You can also use `weights={enum.__name__}.DEFAULT` to get "
                          "the most up-to-date weights.", UserWarning, stacklevel=3)
        weights = default
    weights = enum.verify(weights)
    if weights is not None and weights.meta.get("categories") is not None:
        n = len(weights.meta["categories"])
        if "num_classes" in kwargs and kwargs["num_classes"] != n:
            raise ValueError(f"The parameter 'num_classes' expected value {n} but got {kwargs['num_classes']} "
                             "instead.")
        kwargs["num_classes"] = n
    return weights


def load_weights(model: Any, weights: Any, progress: bool = True) -> Any:
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model


def _classification(crop: int = 224, resize: int = 256, **kw: Any) -> Callable:
    from ember.vision.transforms._presets import ImageClassification

    return partial(ImageClassification, crop_size=crop, resize_size=resize, **kw) if kw or resize != 256 else \
        partial(ImageClassification, crop_size=crop)


_URL = "https://download.pytorch.org/models/"
_RESNET = "https://github.com/pytorch/vision/tree/main/references/classification#resnet"
_NEW_RECIPE = "https://github.com/pytorch/vision/issues/3995#new-recipe"
_VGG = "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"


def _w(file: str, params: int, min_size: tuple[int, int], acc: tuple[float, float], ops: float, size: float,
       recipe: str, transforms: Callable | None = None, categories: Any = IMAGENET_CATEGORIES) -> Weights:
    meta = {"min_size": min_size, "categories": list(categories) if categories is not None else None,
            "num_params": params, "recipe": recipe,
            "_metrics": {"ImageNet-1K": {"acc@1": acc[0], "acc@5": acc[1]}}, "_ops": ops, "_file_size": size}
    return Weights(_URL + file, transforms or _classification(), meta)


class ResNet18_Weights(WeightsEnum):  # noqa: N801 - torchvision's names
    IMAGENET1K_V1 = _w("resnet18-f37072fd.pth", 11689512, (1, 1), (69.758, 89.078), 1.814, 44.661, _RESNET)
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("resnet34-b627a593.pth", 21797672, (1, 1), (73.314, 91.42), 3.664, 83.275, _RESNET)
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("resnet50-0676ba61.pth", 25557032, (1, 1), (76.13, 92.862), 4.089, 97.781, _RESNET)
    IMAGENET1K_V2 = _w("resnet50-11ad3fa6.pth", 25557032, (1, 1), (80.858, 95.434), 4.089, 97.79,
                       "https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621",
                       _classification(resize=232))
    DEFAULT = IMAGENET1K_V2


class ResNet101_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("resnet101-63fe2227.pth", 44549160, (1, 1), (77.374, 93.546), 7.801, 170.511, _RESNET)
    IMAGENET1K_V2 = _w("resnet101-cd907fc2.pth", 44549160, (1, 1), (81.886, 95.78), 7.801, 170.53, _NEW_RECIPE,
                       _classification(resize=232))
    DEFAULT = IMAGENET1K_V2


class ResNet152_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("resnet152-394f9c45.pth", 60192808, (1, 1), (78.312, 94.046), 11.514, 230.434, _RESNET)
    IMAGENET1K_V2 = _w("resnet152-f82ba261.pth", 60192808, (1, 1), (82.284, 96.002), 11.514, 230.474, _NEW_RECIPE,
                       _classification(resize=232))
    DEFAULT = IMAGENET1K_V2


class VGG11_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("vgg11-8a719046.pth", 132863336, (32, 32), (69.02, 88.628), 7.609, 506.84, _VGG)
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("vgg11_bn-6002323d.pth", 132868840, (32, 32), (70.37, 89.81), 7.609, 506.881, _VGG)
    DEFAULT = IMAGENET1K_V1


class VGG13_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("vgg13-19584684.pth", 133047848, (32, 32), (69.928, 89.246), 11.308, 507.545, _VGG)
    DEFAULT = IMAGENET1K_V1


class VGG13_BN_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("vgg13_bn-abd245e5.pth", 133053736, (32, 32), (71.586, 90.374), 11.308, 507.59, _VGG)
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("vgg16-397923af.pth", 138357544, (32, 32), (71.592, 90.382), 15.47, 527.796, _VGG)
    # the features of amdegroot's SSD VGG16 (no classifier weights: its classifier is left as built)
    IMAGENET1K_FEATURES = _w("vgg16_features-amdegroot-88682ab5.pth", 138357544, (32, 32),
                             (float("nan"), float("nan")), 15.47, 527.802,
                             "https://github.com/amdegroot/ssd.pytorch#training-ssd",
                             _classification(mean=(0.48235, 0.45882, 0.40784), std=(1.0 / 255,) * 3),
                             categories=None)
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("vgg16_bn-6c64b313.pth", 138365992, (32, 32), (73.36, 91.516), 15.47, 527.866, _VGG)
    DEFAULT = IMAGENET1K_V1


class VGG19_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("vgg19-dcbb9e9d.pth", 143667240, (32, 32), (72.376, 90.876), 19.632, 548.051, _VGG)
    DEFAULT = IMAGENET1K_V1


class VGG19_BN_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("vgg19_bn-c79401a0.pth", 143678248, (32, 32), (74.218, 91.842), 19.632, 548.143, _VGG)
    DEFAULT = IMAGENET1K_V1


class MobileNet_V2_Weights(WeightsEnum):  # noqa: N801
    IMAGENET1K_V1 = _w("mobilenet_v2-b0353104.pth", 3504872, (1, 1), (71.878, 90.286), 0.301, 13.555,
                       "https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv2")
    IMAGENET1K_V2 = _w("mobilenet_v2-7ebf99e0.pth", 3504872, (1, 1), (72.154, 90.822), 0.301, 13.598,
                       "https://github.com/pytorch/vision/issues/3995#new-recipe-with-reg-tuning",
                       _classification(resize=232))
    DEFAULT = IMAGENET1K_V2


_BY_BUILDER = {
    "resnet18": ResNet18_Weights, "resnet34": ResNet34_Weights, "resnet50": ResNet50_Weights,
    "resnet101": ResNet101_Weights, "resnet152": ResNet152_Weights, "vgg11": VGG11_Weights,
    "vgg11_bn": VGG11_BN_Weights, "vgg13": VGG13_Weights, "vgg13_bn": VGG13_BN_Weights, "vgg16": VGG16_Weights,
    "vgg16_bn": VGG16_BN_Weights, "vgg19": VGG19_Weights, "vgg19_bn": VGG19_BN_Weights,
    "mobilenet_v2": MobileNet_V2_Weights,
}


def get_model_weights(name: Callable | str) -> type[WeightsEnum]:
    """The weights enum of a model builder (the function or its name)."""
    key = name if isinstance(name, str) else getattr(name, "__name__", "")
    if key not in _BY_BUILDER:
        raise ValueError(f"Unknown model {key}")
    return _BY_BUILDER[key]


def get_weight(name: str) -> WeightsEnum:
    """A weights enum member by its full name, e.g. ``"ResNet50_Weights.IMAGENET1K_V1"``."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    enum = globals().get(enum_name)
    if not (isinstance(enum, type) and issubclass(enum, WeightsEnum)):
        raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be retrieved.")
    return enum[value_name]
