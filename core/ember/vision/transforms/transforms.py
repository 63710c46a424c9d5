"""Transform objects (callables) built on :mod:`ember.vision.transforms.functional`.

Random transforms draw from ember's global generator (``ember.rand`` / ``ember.randint``), so
``ember.manual_seed`` makes them reproducible, and each DataLoader worker (seeded per worker)
gets its own stream.

Example:
    >>> import ember
    >>> from PIL import Image
    >>> from ember.vision import transforms as T
    >>> tf = T.Compose([T.CenterCrop(2), T.ToTensor(), T.Normalize([0.5], [0.5])])
    >>> tf(Image.new("L", (4, 4), 255)).tolist()
    [[[1.0, 1.0], [1.0, 1.0]]]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import ember

from . import functional as F
from .functional import InterpolationMode

__all__ = [
    "Compose", "ToTensor", "PILToTensor", "ToPILImage", "ConvertImageDtype", "Normalize", "Lambda",
    "Resize", "CenterCrop", "Pad", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip",
    "RandomVerticalFlip", "RandomRotation", "Grayscale", "RandomApply", "RandomChoice",
]


def _rand() -> float:
    return float(ember.rand(1).item())


def _randint(low: int, high: int) -> int:
    """An int in [low, high)."""
    return int(ember.randint(low, high, (1,)).item())


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * _rand()


def _setup_size(size: Any, error_msg: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(error_msg)
    return int(size[0]), int(size[1])


class Compose:
    """Apply transforms in order.

    Example:
        >>> Compose([lambda x: x + 1, lambda x: x * 2])(3)
        8
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}({body}\n)"


class _Repr:
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{self.__class__.__name__}({args})"


class ToTensor(_Repr):
    """PIL image / HWC uint8 ndarray -> float CHW tensor in [0, 1].

    Example:
        >>> import numpy as np
        >>> ToTensor()(np.full((1, 2, 3), 255, np.uint8)).shape
        ember.Size([3, 1, 2])
    """

    def __call__(self, pic: Any) -> Any:
        return F.to_tensor(pic)


class PILToTensor(_Repr):
    """PIL image -> CHW tensor with the image's dtype (uint8 stays uint8)."""

    def __call__(self, pic: Any) -> Any:
        return F.pil_to_tensor(pic)


class ToPILImage(_Repr):
    """Tensor (CHW) or ndarray (HWC) -> PIL image."""

    _fields = ("mode",)

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        return F.to_pil_image(pic, self.mode)


class ConvertImageDtype(_Repr):
    """Convert a tensor image to ``dtype``, rescaling the values."""

    _fields = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype

    def __call__(self, image: Any) -> Any:
        return F.convert_image_dtype(image, self.dtype)


class Normalize(_Repr):
    """Per-channel ``(x - mean) / std`` of a float tensor image.

    Example:
        >>> import ember
        >>> Normalize([1.0], [2.0])(ember.full((1, 1, 1), 5.0)).item()
        2.0
    """

    _fields = ("mean", "std")

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor: Any) -> Any:
        return F.normalize(tensor, self.mean, self.std, self.inplace)


class Lambda(_Repr):
    """Wrap a function as a transform."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)


class Resize(_Repr):
    """Resize to (h, w), or the smaller edge to ``size`` keeping the aspect ratio."""

    _fields = ("size", "interpolation", "max_size", "antialias")

    def __init__(self, size: int | Sequence[int], interpolation: Any = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = F._interp(interpolation)

    def __call__(self, img: Any) -> Any:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(_Repr):
    """Crop the centre to ``size`` (padding with zeros if the image is smaller)."""

    _fields = ("size",)

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def __call__(self, img: Any) -> Any:
        return F.center_crop(img, self.size)


class Pad(_Repr):
    """Pad the borders (see :func:`functional.pad`)."""

    _fields = ("padding", "fill", "padding_mode")

    def __init__(self, padding: int | Sequence[int], fill: Any = 0, padding_mode: str = "constant") -> None:
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img: Any) -> Any:
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class RandomCrop(_Repr):
    """Crop a random ``size`` region, optionally padding first.

    Example:
        >>> import ember
        >>> _ = ember.manual_seed(0)
        >>> RandomCrop(2, padding=1)(ember.ones(1, 3, 3)).shape
        ember.Size([1, 2, 2])
    """

    _fields = ("size", "padding")

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """Random ``(top, left, height, width)`` of a crop of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: Any = 0, padding_mode: str = "constant") -> None:
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    def __call__(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        i, j, th, tw = self.get_params(img, self.size)
        return F.crop(img, i, j, th, tw)


class RandomResizedCrop(_Repr):
    """Crop a random area/aspect ratio, then resize to ``size`` (Inception-style)."""

    _fields = ("size", "scale", "ratio", "interpolation")

    def __init__(self, size: int | Sequence[int], scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation: Any = InterpolationMode.BILINEAR, antialias: bool | None = True) -> None:
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        self.scale, self.ratio, self.antialias = tuple(scale), tuple(ratio), antialias
        self.interpolation = F._interp(interpolation)

    @staticmethod
    def get_params(img: Any, scale: Sequence[float], ratio: Sequence[float]) -> tuple[int, int, int, int]:
        """Random ``(top, left, height, width)``; after 10 misses, a central crop."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img: Any) -> Any:
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, antialias=self.antialias)


class RandomHorizontalFlip(_Repr):
    """Mirror left-right with probability ``p``."""

    _fields = ("p",)

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        return F.hflip(img) if _rand() < self.p else img


class RandomVerticalFlip(_Repr):
    """Mirror top-bottom with probability ``p``."""

    _fields = ("p",)

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        return F.vflip(img) if _rand() < self.p else img


class RandomRotation(_Repr):
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d means (-d, d))."""

    _fields = ("degrees", "interpolation", "expand", "fill")

    def __init__(self, degrees: float | Sequence[float], interpolation: Any = InterpolationMode.NEAREST,
                 expand: bool = False, center: Sequence[float] | None = None, fill: Any = 0) -> None:
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = (-float(degrees), float(degrees))
        elif not isinstance(degrees, Sequence) or len(degrees) != 2:
            raise ValueError("If degrees is a sequence, it must be of len 2.")
        self.degrees = (float(degrees[0]), float(degrees[1]))
        self.interpolation = F._interp(interpolation)
        self.expand, self.center, self.fill = expand, center, fill

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        return _uniform(float(degrees[0]), float(degrees[1]))

    def __call__(self, img: Any) -> Any:
        fill = self.fill
        if F._is_tensor(img) and isinstance(fill, numbers.Number):
            fill = [float(fill)] * F.get_image_num_channels(img)
        return F.rotate(img, self.get_params(self.degrees), self.interpolation, self.expand, self.center, fill)


class Grayscale(_Repr):
    """Convert to grayscale with 1 or 3 output channels."""

    _fields = ("num_output_channels",)

    def __init__(self, num_output_channels: int = 1) -> None:
        self.num_output_channels = num_output_channels

    def __call__(self, img: Any) -> Any:
        return F.rgb_to_grayscale(img, self.num_output_channels)


class RandomApply(_Repr):
    """Apply a list of transforms with probability ``p``."""

    _fields = ("transforms", "p")

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        self.transforms, self.p = list(transforms), p

    def __call__(self, img: Any) -> Any:
        if self.p < _rand():
            return img
        for t in self.transforms:
            img = t(img)
        return img


class RandomChoice(_Repr):
    """Apply one transform picked at random (uniformly, or by ``p``)."""

    _fields = ("transforms", "p")

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None) -> None:
        if p is not None and len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != {len(transforms)}")
        self.transforms = list(transforms)
        total = sum(p) if p is not None else len(transforms)
        self.p = [x / total for x in p] if p is not None else [1.0 / len(transforms)] * len(transforms)

    def __call__(self, img: Any) -> Any:
        u, acc = _rand(), 0.0
        for t, prob in zip(self.transforms, self.p):
            acc += prob
            if u < acc:
                return t(img)
        return self.transforms[-1](img)
