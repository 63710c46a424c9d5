"""Colour v2 transforms (images and videos; boxes and masks pass through)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ember

from . import functional as F
from ._transform import Transform, _RandomApplyTransform, query_chw


class Grayscale(Transform):
    """RGB to grayscale with ``num_output_channels`` (1 or 3)."""

    def __init__(self, num_output_channels: int = 1) -> None:
        super().__init__()
        self.num_output_channels = num_output_channels

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(F.rgb_to_grayscale, inpt, num_output_channels=self.num_output_channels)


class RandomGrayscale(_RandomApplyTransform):
    """Grayscale with probability ``p``, keeping the number of channels."""

    def __init__(self, p: float = 0.1) -> None:
        super().__init__(p=p)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        num_input_channels, *_ = query_chw(flat_inputs)
        return dict(num_input_channels=num_input_channels)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(F.rgb_to_grayscale, inpt, num_output_channels=params["num_input_channels"])


class RGB(Transform):
    """Grayscale images to RGB (others unchanged)."""

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(F.grayscale_to_rgb, inpt)


def _check_input(value: Any, name: str, center: float = 1.0, bound: tuple[float, float] = (0, float("inf")),
                 clip_first_on_zero: bool = True) -> tuple[float, float] | None:
    """A factor range from a number (``center`` +- it) or a (min, max) pair; None when it is the identity."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be non negative.")
        value = [center - value, center + value]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, Sequence) and len(value) == 2:
        value = [float(v) for v in value]
    else:
        raise TypeError(f"{name}={value} should be a single number or a sequence with length 2.")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"{name} values should be between {bound} and increasing, but got {value}.")
    return None if value[0] == value[1] == center else (float(value[0]), float(value[1]))


class ColorJitter(Transform):
    """Brightness, contrast, saturation and hue factors drawn from their ranges, applied in random order.

    Example:
        >>> import ember
        >>> from ember.vision.transforms import v2
        >>> tuple(v2.ColorJitter(brightness=0.5)(ember.rand(3, 4, 4)).shape)
        (3, 4, 4)
    """

    def __init__(self, brightness: Any = None, contrast: Any = None, saturation: Any = None, hue: Any = None) -> None:
        super().__init__()
        self.brightness = _check_input(brightness, "brightness")
        self.contrast = _check_input(contrast, "contrast")
        self.saturation = _check_input(saturation, "saturation")
        self.hue = _check_input(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def _generate_value(left: float, right: float) -> float:
        return ember.empty(1).uniform_(left, right).item()

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        fn_idx = ember.randperm(4)
        b = None if self.brightness is None else self._generate_value(*self.brightness)
        c = None if self.contrast is None else self._generate_value(*self.contrast)
        s = None if self.saturation is None else self._generate_value(*self.saturation)
        h = None if self.hue is None else self._generate_value(*self.hue)
        return dict(fn_idx=fn_idx, brightness_factor=b, contrast_factor=c, saturation_factor=s, hue_factor=h)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        output = inpt
        for fn_id in params["fn_idx"].tolist() if hasattr(params["fn_idx"], "tolist") else params["fn_idx"]:
            fn_id = int(fn_id)
            if fn_id == 0 and params["brightness_factor"] is not None:
                output = self._call_kernel(F.adjust_brightness, output, params["brightness_factor"])
            elif fn_id == 1 and params["contrast_factor"] is not None:
                output = self._call_kernel(F.adjust_contrast, output, params["contrast_factor"])
            elif fn_id == 2 and params["saturation_factor"] is not None:
                output = self._call_kernel(F.adjust_saturation, output, params["saturation_factor"])
            elif fn_id == 3 and params["hue_factor"] is not None:
                output = self._call_kernel(F.adjust_hue, output, params["hue_factor"])
        return output


class RandomChannelPermutation(Transform):
    """Shuffle the channels."""

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        num_channels, *_ = query_chw(flat_inputs)
        return dict(permutation=ember.randperm(num_channels))

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(F.permute_channels, inpt, params["permutation"])


class RandomPhotometricDistort(Transform):
    """SSD's photometric distortion: each of brightness, contrast (before or after), saturation, hue and a
    channel shuffle applied with probability ``p``."""

    def __init__(self, brightness: Sequence[float] = (0.875, 1.125), contrast: Sequence[float] = (0.5, 1.5),
                 saturation: Sequence[float] = (0.5, 1.5), hue: Sequence[float] = (-0.05, 0.05),
                 p: float = 0.5) -> None:
        super().__init__()
        check = _check_input
        self.brightness = check(brightness, "brightness")
        self.contrast = check(contrast, "contrast")
        self.hue = check(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)
        self.saturation = check(saturation, "saturation")
        self.p = p

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        num_channels, *_ = query_chw(flat_inputs)
        params: dict[str, Any] = {}
        for key, rng in [("brightness_factor", self.brightness), ("contrast_factor", self.contrast),
                         ("saturation_factor", self.saturation), ("hue_factor", self.hue)]:
            params[key] = ColorJitter._generate_value(rng[0], rng[1]) if ember.rand(1) < self.p else None
        params["contrast_before"] = bool(ember.rand(()) < 0.5)
        params["channel_permutation"] = ember.randperm(num_channels) if ember.rand(1) < self.p else None
        return params

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if params["brightness_factor"] is not None:
            inpt = self._call_kernel(F.adjust_brightness, inpt, params["brightness_factor"])
        if params["contrast_factor"] is not None and params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt, params["contrast_factor"])
        if params["saturation_factor"] is not None:
            inpt = self._call_kernel(F.adjust_saturation, inpt, params["saturation_factor"])
        if params["hue_factor"] is not None:
            inpt = self._call_kernel(F.adjust_hue, inpt, params["hue_factor"])
        if params["contrast_factor"] is not None and not params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt, params["contrast_factor"])
        if params["channel_permutation"] is not None:
            inpt = self._call_kernel(F.permute_channels, inpt, params["channel_permutation"])
        return inpt


class _ColorOp(_RandomApplyTransform):
    _fn: Any = None
    _kw: tuple[str, ...] = ()

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(type(self)._fn, inpt, *[getattr(self, k) for k in self._kw])


class RandomEqualize(_ColorOp):
    """Equalize with probability ``p``."""

    _fn = staticmethod(F.equalize)


class RandomInvert(_ColorOp):
    """Invert with probability ``p``."""

    _fn = staticmethod(F.invert)


class RandomAutocontrast(_ColorOp):
    """Autocontrast with probability ``p``."""

    _fn = staticmethod(F.autocontrast)


class RandomPosterize(_ColorOp):
    """Posterize to ``bits`` with probability ``p``."""

    _fn = staticmethod(F.posterize)
    _kw = ("bits",)

    def __init__(self, bits: int, p: float = 0.5) -> None:
        super().__init__(p=p)
        self.bits = bits


class RandomSolarize(_ColorOp):
    """Solarize above ``threshold`` with probability ``p``."""

    _fn = staticmethod(F.solarize)
    _kw = ("threshold",)

    def __init__(self, threshold: float, p: float = 0.5) -> None:
        super().__init__(p=p)
        self.threshold = threshold


class RandomAdjustSharpness(_ColorOp):
    """Sharpen by ``sharpness_factor`` with probability ``p``."""

    _fn = staticmethod(F.adjust_sharpness)
    _kw = ("sharpness_factor",)

    def __init__(self, sharpness_factor: float, p: float = 0.5) -> None:
        super().__init__(p=p)
        self.sharpness_factor = sharpness_factor
