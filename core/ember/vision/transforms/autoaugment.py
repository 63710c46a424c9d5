"""Learned and random augmentation policies: AutoAugment, RandAugment, TrivialAugmentWide, AugMix.

Each draws its choices from ember's generator in the order torchvision draws them from PyTorch's,
and applies the ops through :mod:`ember.vision.transforms.functional` (PIL images through Pillow,
tensors in ember ops on their device). Tensors are expected to be uint8 (posterize and equalize
need it), shaped [..., 1 or 3, H, W].

Example:
    >>> import ember
    >>> from ember.vision.transforms import AutoAugment, AutoAugmentPolicy
    >>> _ = ember.manual_seed(0)
    >>> img = ember.randint(0, 256, (3, 8, 8), dtype=ember.uint8)
    >>> AutoAugment(AutoAugmentPolicy.CIFAR10)(img).shape
    ember.Size([3, 8, 8])
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

import ember
from ember import nn

from . import functional as F
from .functional import InterpolationMode

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"]


# every op name _apply_op knows (v2 checks a name against it to raise its own message)
_OP_NAMES = frozenset({"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast",
                       "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize", "Invert", "Identity"})


def _apply_op(img: Any, op_name: str, magnitude: float, interpolation: InterpolationMode, fill: Any,
              fn: Any = F) -> Any:
    """Apply one augmentation op through ``fn`` (v1's functional module, or v2's, which v2 passes)."""
    if op_name in ("ShearX", "ShearY"):
        # AutoAugment's shear level is the slope; fn.affine takes an angle in degrees
        angle = math.degrees(math.atan(magnitude))
        shear = [angle, 0.0] if op_name == "ShearX" else [0.0, angle]
        return fn.affine(img, angle=0.0, translate=[0, 0], scale=1.0, shear=shear, interpolation=interpolation,
                         fill=fill, center=[0, 0])
    if op_name in ("TranslateX", "TranslateY"):
        translate = [int(magnitude), 0] if op_name == "TranslateX" else [0, int(magnitude)]
        return fn.affine(img, angle=0.0, translate=translate, scale=1.0, interpolation=interpolation,
                         shear=[0.0, 0.0], fill=fill)
    if op_name == "Rotate":
        return fn.rotate(img, magnitude, interpolation=interpolation, fill=fill)
    if op_name == "Brightness":
        return fn.adjust_brightness(img, 1.0 + magnitude)
    if op_name == "Color":
        return fn.adjust_saturation(img, 1.0 + magnitude)
    if op_name == "Contrast":
        return fn.adjust_contrast(img, 1.0 + magnitude)
    if op_name == "Sharpness":
        return fn.adjust_sharpness(img, 1.0 + magnitude)
    if op_name == "Posterize":
        return fn.posterize(img, int(magnitude))
    if op_name == "Solarize":
        return fn.solarize(img, magnitude)
    if op_name == "AutoContrast":
        return fn.autocontrast(img)
    if op_name == "Equalize":
        return fn.equalize(img)
    if op_name == "Invert":
        return fn.invert(img)
    if op_name == "Identity":
        return img
    raise ValueError(f"The provided operator {op_name} is not recognized.")


def _fill_for(fill: Any, img: Any) -> Any:
    if not isinstance(img, ember.Tensor):
        return fill
    if isinstance(fill, (int, float)):
        return [float(fill)] * F.get_image_num_channels(img)
    if fill is not None:
        return [float(f) for f in fill]
    return None


def _linspace(end: float, num_bins: int, start: float = 0.0) -> Any:
    return ember.linspace(start, end, num_bins)


def _posterize_bits(top: int, num_bins: int, span: int) -> Any:
    return top - (ember.arange(num_bins) / ((num_bins - 1) / span)).round().int()


def _no_magnitude() -> Any:
    return ember.tensor(0.0)


def _magnitude(magnitudes: Any, index: int) -> float:
    return float(magnitudes[index].item()) if magnitudes.ndim > 0 else 0.0


def _random_magnitude(magnitudes: Any, num_bins: int) -> float:
    """A magnitude at a bin drawn uniformly from ``num_bins`` (no draw for an op without magnitudes)."""
    if magnitudes.ndim == 0:
        return 0.0
    return float(magnitudes[int(ember.randint(num_bins, (1,), dtype=ember.long).item())].item())


def _random_sign(magnitude: float, signed: bool) -> float:
    """Negate a signed op's magnitude on a fair coin (drawn only for signed ops, as torchvision draws it)."""
    if signed and int(ember.randint(2, (1,)).item()):
        return -magnitude
    return magnitude


def _enhance_ops(end: float, num_bins: int) -> dict[str, tuple[Any, bool]]:
    """Brightness, Color, Contrast and Sharpness, each a signed ``linspace(0, end)``."""
    return {name: (_linspace(end, num_bins), True) for name in ("Brightness", "Color", "Contrast", "Sharpness")}


def _policy_ops(num_bins: int, image_size: tuple[int, int]) -> dict[str, tuple[Any, bool]]:
    """The ops AutoAugment and RandAugment share, in torchvision's order (the order picks RandAugment's op)."""
    return {
        "ShearX": (_linspace(0.3, num_bins), True),
        "ShearY": (_linspace(0.3, num_bins), True),
        "TranslateX": (_linspace(150.0 / 331.0 * image_size[1], num_bins), True),
        "TranslateY": (_linspace(150.0 / 331.0 * image_size[0], num_bins), True),
        "Rotate": (_linspace(30.0, num_bins), True),
        **_enhance_ops(0.9, num_bins),
        "Posterize": (_posterize_bits(8, num_bins, 4), False),
        "Solarize": (_linspace(0.0, num_bins, start=255.0), False),
        "AutoContrast": (_no_magnitude(), False),
        "Equalize": (_no_magnitude(), False),
    }


class AutoAugmentPolicy(Enum):
    """The policies AutoAugment learned on ImageNet, CIFAR-10 and SVHN."""

    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


_POLICIES = {
    AutoAugmentPolicy.IMAGENET: [
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ],
    AutoAugmentPolicy.CIFAR10: [
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ],
    AutoAugmentPolicy.SVHN: [
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)),
        (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
        (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
        (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
        (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
        (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
        (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
        (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ],
}


class AutoAugment(nn.Module):
    """AutoAugment (Cubuk et al., 2018): pick one of the policy's 25 sub-policies, then apply each
    of its two ops with its probability, at its magnitude bin (signed ops get a random sign)."""

    def __init__(self, policy: AutoAugmentPolicy = AutoAugmentPolicy.IMAGENET,
                 interpolation: InterpolationMode = InterpolationMode.NEAREST, fill: Any = None) -> None:
        super().__init__()
        self.policy = policy
        self.interpolation = interpolation
        self.fill = fill
        self.policies = self._get_policies(policy)

    @staticmethod
    def _get_policies(policy: AutoAugmentPolicy) -> list[tuple[tuple[str, float, int | None], ...]]:
        if policy not in _POLICIES:
            raise ValueError(f"The provided policy {policy} is not recognized.")
        return list(_POLICIES[policy])

    def _augmentation_space(self, num_bins: int, image_size: tuple[int, int]) -> dict[str, tuple[Any, bool]]:
        return {**_policy_ops(num_bins, image_size), "Invert": (_no_magnitude(), False)}

    @staticmethod
    def get_params(transform_num: int) -> tuple[int, Any, Any]:
        """``(policy_id, probs, signs)``: the sub-policy, and a draw and a sign per op."""
        policy_id = int(ember.randint(transform_num, (1,)).item())
        probs = ember.rand((2,))
        signs = ember.randint(2, (2,))
        return policy_id, probs, signs

    def forward(self, img: Any) -> Any:
        fill = _fill_for(self.fill, img)
        _, height, width = F.get_dimensions(img)
        transform_id, probs, signs = self.get_params(len(self.policies))
        probs, signs = probs.tolist(), signs.tolist()
        op_meta = self._augmentation_space(10, (height, width))
        for i, (op_name, p, magnitude_id) in enumerate(self.policies[transform_id]):
            if probs[i] <= p:
                magnitudes, signed = op_meta[op_name]
                magnitude = float(magnitudes[magnitude_id].item()) if magnitude_id is not None else 0.0
                if signed and signs[i] == 0:
                    magnitude *= -1.0
                img = _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(policy={self.policy}, fill={self.fill})"


class RandAugment(nn.Module):
    """RandAugment (Cubuk et al., 2019): ``num_ops`` ops drawn uniformly, all at ``magnitude``
    (a bin out of ``num_magnitude_bins``), each signed op with a random sign."""

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation: InterpolationMode = InterpolationMode.NEAREST, fill: Any = None) -> None:
        super().__init__()
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = interpolation
        self.fill = fill

    def _augmentation_space(self, num_bins: int, image_size: tuple[int, int]) -> dict[str, tuple[Any, bool]]:
        return {"Identity": (_no_magnitude(), False), **_policy_ops(num_bins, image_size)}

    def forward(self, img: Any) -> Any:
        fill = _fill_for(self.fill, img)
        _, height, width = F.get_dimensions(img)
        op_meta = self._augmentation_space(self.num_magnitude_bins, (height, width))
        names = list(op_meta.keys())
        for _ in range(self.num_ops):
            op_name = names[int(ember.randint(len(op_meta), (1,)).item())]
            magnitudes, signed = op_meta[op_name]
            magnitude = _random_sign(_magnitude(magnitudes, self.magnitude), signed)
            img = _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)
        return img

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_ops={self.num_ops}, magnitude={self.magnitude}, "
                f"num_magnitude_bins={self.num_magnitude_bins}, interpolation={self.interpolation}, "
                f"fill={self.fill})")


class TrivialAugmentWide(nn.Module):
    """TrivialAugment Wide (Müller and Hutter, 2021): one op drawn uniformly, at a magnitude bin
    drawn uniformly, with a random sign for signed ops."""

    def __init__(self, num_magnitude_bins: int = 31, interpolation: InterpolationMode = InterpolationMode.NEAREST,
                 fill: Any = None) -> None:
        super().__init__()
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = interpolation
        self.fill = fill

    def _augmentation_space(self, num_bins: int) -> dict[str, tuple[Any, bool]]:
        return {
            "Identity": (_no_magnitude(), False),
            "ShearX": (_linspace(0.99, num_bins), True),
            "ShearY": (_linspace(0.99, num_bins), True),
            "TranslateX": (_linspace(32.0, num_bins), True),
            "TranslateY": (_linspace(32.0, num_bins), True),
            "Rotate": (_linspace(135.0, num_bins), True),
            **_enhance_ops(0.99, num_bins),
            "Posterize": (_posterize_bits(8, num_bins, 6), False),
            "Solarize": (_linspace(0.0, num_bins, start=255.0), False),
            "AutoContrast": (_no_magnitude(), False),
            "Equalize": (_no_magnitude(), False),
        }

    def forward(self, img: Any) -> Any:
        fill = _fill_for(self.fill, img)
        op_meta = self._augmentation_space(self.num_magnitude_bins)
        op_name = list(op_meta.keys())[int(ember.randint(len(op_meta), (1,)).item())]
        magnitudes, signed = op_meta[op_name]
        magnitude = _random_sign(_random_magnitude(magnitudes, self.num_magnitude_bins), signed)
        return _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation}, fill={self.fill})")


class AugMix(nn.Module):
    """AugMix (Hendrycks et al., 2019): ``mixture_width`` chains of 1-3 (or ``chain_depth``) random
    ops, mixed with Dirichlet weights, then blended with the original by a Beta draw."""

    def __init__(self, severity: int = 3, mixture_width: int = 3, chain_depth: int = -1, alpha: float = 1.0,
                 all_ops: bool = True, interpolation: InterpolationMode = InterpolationMode.BILINEAR,
                 fill: Any = None) -> None:
        super().__init__()
        self._PARAMETER_MAX = 10
        if not (1 <= severity <= self._PARAMETER_MAX):
            raise ValueError(f"The severity must be between [1, {self._PARAMETER_MAX}]. Got {severity} instead.")
        self.severity = severity
        self.mixture_width = mixture_width
        self.chain_depth = chain_depth
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = interpolation
        self.fill = fill

    def _augmentation_space(self, num_bins: int, image_size: tuple[int, int]) -> dict[str, tuple[Any, bool]]:
        space = {
            "ShearX": (_linspace(0.3, num_bins), True),
            "ShearY": (_linspace(0.3, num_bins), True),
            "TranslateX": (_linspace(image_size[1] / 3.0, num_bins), True),
            "TranslateY": (_linspace(image_size[0] / 3.0, num_bins), True),
            "Rotate": (_linspace(30.0, num_bins), True),
            "Posterize": (_posterize_bits(4, num_bins, 4), False),
            "Solarize": (_linspace(0.0, num_bins, start=255.0), False),
            "AutoContrast": (_no_magnitude(), False),
            "Equalize": (_no_magnitude(), False),
        }
        if self.all_ops:
            space.update(_enhance_ops(0.9, num_bins))
        return space

    def _sample_dirichlet(self, params: Any) -> Any:
        # a method of its own so that tests can replace the draw
        from ember.distributions import Dirichlet

        return Dirichlet(params).sample()

    def forward(self, orig_img: Any) -> Any:
        fill = self.fill
        _, height, width = F.get_dimensions(orig_img)
        if isinstance(orig_img, ember.Tensor):
            img = orig_img
            fill = _fill_for(fill, img)
        else:
            img = F.pil_to_tensor(orig_img)
        op_meta = self._augmentation_space(self._PARAMETER_MAX, (height, width))
        names = list(op_meta.keys())
        orig_dims = list(img.shape)
        batch = img.view([1] * max(4 - img.ndim, 0) + orig_dims)
        batch_dims = [int(batch.shape[0])] + [1] * (batch.ndim - 1)
        n = batch_dims[0]
        # Beta(alpha, alpha) as a 2-way Dirichlet: column 0 weighs the original, column 1 the mix
        m = self._sample_dirichlet(ember.tensor([self.alpha, self.alpha], device=batch.device).expand(n, -1))
        weights = self._sample_dirichlet(
            ember.tensor([self.alpha] * self.mixture_width, device=batch.device).expand(n, -1)) * m[:, 1].view([n, -1])
        mix = m[:, 0].view(batch_dims) * batch
        for i in range(self.mixture_width):
            aug = batch
            depth = self.chain_depth if self.chain_depth > 0 else int(ember.randint(low=1, high=4, size=(1,)).item())
            for _ in range(depth):
                op_name = names[int(ember.randint(len(op_meta), (1,)).item())]
                magnitudes, signed = op_meta[op_name]
                magnitude = _random_sign(_random_magnitude(magnitudes, self.severity), signed)
                aug = _apply_op(aug, op_name, magnitude, interpolation=self.interpolation, fill=fill)
            mix.add_(weights[:, i].view(batch_dims) * aug)
        mix = mix.view(orig_dims).to(dtype=img.dtype)
        if not isinstance(orig_img, ember.Tensor):
            return F.to_pil_image(mix)
        return mix

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(severity={self.severity}, mixture_width={self.mixture_width}, "
                f"chain_depth={self.chain_depth}, alpha={self.alpha}, all_ops={self.all_ops}, "
                f"interpolation={self.interpolation}, fill={self.fill})")
