"""PIL kernels of the colour and geometry transforms: Pillow does the work, as in torchvision.

Example:
    >>> from PIL import Image
    >>> from ember.vision.transforms import _functional_pil as F_pil
    >>> F_pil.invert(Image.new("L", (1, 1), 200)).getpixel((0, 0))
    55
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageOps


def _check(img: Any) -> None:
    if not isinstance(img, Image.Image):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


def parse_fill(fill: Any, img: Image.Image) -> Any:
    """A fill PIL accepts for ``img``: one number per band (ints unless the image is float)."""
    bands = len(img.getbands())
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and bands > 1:
        fill = tuple([fill] * bands)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * bands
        elif len(fill) != bands:
            raise ValueError("The number of elements in 'fill' does not match the number of channels of the image "
                             f"({len(fill)} != {bands})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return fill


def adjust_brightness(img: Image.Image, brightness_factor: float) -> Image.Image:
    _check(img)
    return ImageEnhance.Brightness(img).enhance(brightness_factor)


def adjust_contrast(img: Image.Image, contrast_factor: float) -> Image.Image:
    _check(img)
    return ImageEnhance.Contrast(img).enhance(contrast_factor)


def adjust_saturation(img: Image.Image, saturation_factor: float) -> Image.Image:
    _check(img)
    return ImageEnhance.Color(img).enhance(saturation_factor)


def adjust_sharpness(img: Image.Image, sharpness_factor: float) -> Image.Image:
    _check(img)
    return ImageEnhance.Sharpness(img).enhance(sharpness_factor)


def adjust_hue(img: Image.Image, hue_factor: float) -> Image.Image:
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check(img)
    mode = img.mode
    if mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    hue = np.array(h, dtype=np.uint8)
    # uint8 arithmetic wraps around, which is the cyclic hue shift wanted
    hue += np.int32(hue_factor * 255).astype(np.uint8)
    h = Image.fromarray(hue)  # a 2-d uint8 array is an "L" image
    return Image.merge("HSV", (h, s, v)).convert(mode)


def adjust_gamma(img: Image.Image, gamma: float, gain: float = 1.0) -> Image.Image:
    _check(img)
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    mode = img.mode
    img = img.convert("RGB")
    table = [int((255 + 1 - 1e-3) * gain * pow(v / 255.0, gamma)) for v in range(256)] * 3
    return img.point(table).convert(mode)


def invert(img: Image.Image) -> Image.Image:
    _check(img)
    return ImageOps.invert(img)


def posterize(img: Image.Image, bits: int) -> Image.Image:
    _check(img)
    return ImageOps.posterize(img, bits)


def solarize(img: Image.Image, threshold: float) -> Image.Image:
    _check(img)
    return ImageOps.solarize(img, threshold)


def autocontrast(img: Image.Image) -> Image.Image:
    _check(img)
    return ImageOps.autocontrast(img)


def equalize(img: Image.Image) -> Image.Image:
    _check(img)
    return ImageOps.equalize(img)


def affine(img: Image.Image, matrix: list[float], interpolation: int = Image.Resampling.NEAREST,
           fill: Any = None) -> Image.Image:
    _check(img)
    return img.transform(img.size, Image.Transform.AFFINE, matrix, interpolation, fillcolor=parse_fill(fill, img))


def rotate(img: Image.Image, angle: float, interpolation: int = Image.Resampling.NEAREST, expand: bool = False,
           center: Any = None, fill: Any = None) -> Image.Image:
    _check(img)
    return img.rotate(angle, interpolation, expand, tuple(center) if center is not None else None,
                      fillcolor=parse_fill(fill, img))


def perspective(img: Image.Image, coeffs: list[float], interpolation: int = Image.Resampling.BICUBIC,
                fill: Any = None) -> Image.Image:
    _check(img)
    return img.transform(img.size, Image.Transform.PERSPECTIVE, coeffs, interpolation,
                         fillcolor=parse_fill(fill, img))
