"""Colour functionals (images and videos; PIL images where torchvision has them): the v1 kernels,
registered per input type."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image as _PIL

import ember
from ember import Tensor
from ember.vision import tv_tensors
from ember.vision.transforms import _functional_tensor as _Ft
from ember.vision.transforms import functional as _F1

from ._geometry import _as_4d
from ._utils import _dispatch, _register

_TYPES = (Tensor, tv_tensors.Image, tv_tensors.Video, _PIL.Image)


def _functional(name: str, kernel: Any, doc: str, types: tuple = _TYPES) -> Any:
    def functional(inpt: Any, *args: Any, **kwargs: Any) -> Any:
        return _dispatch(functional, inpt, *args, **kwargs)

    functional.__name__ = functional.__qualname__ = name
    functional.__doc__ = doc
    _register(functional, *types)(_as_4d(kernel))
    return functional


def _grayscale_kernel(image: Any, num_output_channels: int = 1) -> Any:
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels}.")
    if isinstance(image, Tensor) and image.shape[-3] == 1:
        # torchvision's v2 kernel keeps a one-channel input as is (repeated for 3 outputs)
        return image.expand(*image.shape[:-3], num_output_channels, *image.shape[-2:]).clone()
    return _F1.rgb_to_grayscale(image, num_output_channels)


def _grayscale_to_rgb_kernel(image: Any) -> Any:
    if isinstance(image, _PIL.Image):
        return image.convert(mode="RGB")
    if image.shape[-3] >= 3:
        return image
    return image.expand(*image.shape[:-3], 3, *image.shape[-2:]).clone()


def _permute_channels_kernel(image: Any, permutation: Any) -> Any:
    if isinstance(image, _PIL.Image):
        from ember.vision.transforms.functional import pil_to_tensor, to_pil_image

        return to_pil_image(_permute_channels_kernel(pil_to_tensor(image), permutation), mode=image.mode)
    perm = permutation.tolist() if isinstance(permutation, Tensor) else list(permutation)
    return image[..., perm, :, :]


def _sharpness_kernel(image: Any, sharpness_factor: float) -> Any:
    """v2's kernel: the 3x3 smoothing filter's output is rounded for integer images, the blend is not
    (the cast truncates), which differs from v1's by one grey level on uint8."""
    if isinstance(image, _PIL.Image):
        return _F1.adjust_sharpness(image, sharpness_factor)
    c, h, w = image.shape[-3:]
    if c not in (1, 3):
        raise TypeError(f"Input image tensor can have 1 or 3 channels, but found {c}")
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor ({sharpness_factor}) is not non-negative.")
    if image.numel() == 0 or h <= 2 or w <= 2:
        return image
    bound = _Ft._max_value(image.dtype)
    fp = image.is_floating_point()
    kdtype = image.dtype if fp else ember.float32
    a, b = 1.0 / 13.0, 5.0 / 13.0
    kernel = ember.tensor([[a, a, a], [a, b, a], [a, a, a]], dtype=kdtype, device=image.device).expand(c, 1, 3, 3)
    out = image.to(kdtype).reshape(-1, c, h, w).clone()
    blurred = ember.nn.functional.conv2d(out, kernel, groups=c)
    if not fp:
        blurred = blurred.round()
    view = out[..., 1:-1, 1:-1]
    # torch's ``add_(x, alpha=)`` is a fused multiply-add with alpha rounded to the image dtype: the same
    # result as float64 arithmetic rounded once (the uint8 cast truncates, so one rounding matters)
    alpha = float(np.float32(1.0 - sharpness_factor)) if kdtype == ember.float32 else 1.0 - sharpness_factor
    wide = view.double() + (blurred - view).double() * alpha
    out[..., 1:-1, 1:-1] = wide.to(kdtype)
    out = out.clamp(0, bound).reshape(image.shape)
    return out if fp else out.to(image.dtype)


def _autocontrast_kernel(image: Any) -> Any:
    """v2's kernel: ``(x - min) / ((max - min) / bound)`` (v1 multiplies by the reciprocal instead)."""
    if isinstance(image, _PIL.Image):
        return _F1.autocontrast(image)
    c = image.shape[-3]
    if c not in [1, 3]:
        raise TypeError(f"Input image tensor permitted channel values are 1 or 3, but found {c}")
    if image.numel() == 0:
        return image
    bound = _Ft._max_value(image.dtype)
    f = image if image.is_floating_point() else image.to(ember.float32)
    minimum = f.amin(dim=(-2, -1), keepdim=True)
    maximum = f.amax(dim=(-2, -1), keepdim=True)
    eq = maximum == minimum
    inv_scale = (maximum - minimum) * (1.0 / bound)
    minimum = ember.where(eq, ember.zeros_like(minimum), minimum)
    inv_scale = ember.where(eq, ember.ones_like(inv_scale), inv_scale)
    return ((f - minimum) / inv_scale).clamp(0, bound).to(image.dtype)


_NO_VIDEO = (Tensor, tv_tensors.Image, _PIL.Image)  # torchvision has no video kernel for these two
rgb_to_grayscale = _functional("rgb_to_grayscale", _grayscale_kernel,
                               "RGB to luma (ITU-R 601-2), with 1 or 3 output channels.", _NO_VIDEO)
to_grayscale = rgb_to_grayscale
grayscale_to_rgb = _functional("grayscale_to_rgb", _grayscale_to_rgb_kernel, "One channel repeated to three.",
                               _NO_VIDEO)
adjust_brightness = _functional("adjust_brightness", _F1.adjust_brightness, "Blend with black by the factor.")
adjust_contrast = _functional("adjust_contrast", _F1.adjust_contrast, "Blend with the mean grey by the factor.")
adjust_saturation = _functional("adjust_saturation", _F1.adjust_saturation, "Blend with the greyscale image.")
adjust_hue = _functional("adjust_hue", _F1.adjust_hue, "Shift the hue by the factor (in [-0.5, 0.5]).")
adjust_gamma = _functional("adjust_gamma", _F1.adjust_gamma, "gain * x ** gamma.")
adjust_sharpness = _functional("adjust_sharpness", _sharpness_kernel, "Blend with a blurred image.")
invert = _functional("invert", _F1.invert, "max - x.")
posterize = _functional("posterize", _F1.posterize, "Keep the top ``bits`` bits of each channel.")
solarize = _functional("solarize", _F1.solarize, "Invert the values at or above the threshold.")
autocontrast = _functional("autocontrast", _autocontrast_kernel, "Stretch each channel to the full range.")
equalize = _functional("equalize", _F1.equalize, "Equalize each channel's histogram.")
permute_channels = _functional("permute_channels", _permute_channels_kernel, "Reorder the channels.")
