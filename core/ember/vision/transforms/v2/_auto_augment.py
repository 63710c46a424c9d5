"""AutoAugment, RandAugment, TrivialAugmentWide and AugMix for v2: one image or video per sample (other
leaves pass through; boxes, masks and key points are refused), drawing as torchvision's v2 does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image as _PIL

import ember
from ember import Tensor
from ember.utils._pytree import tree_flatten, tree_unflatten
from ember.vision import tv_tensors
from ember.vision.transforms import _functional_tensor as _Ft
from ember.vision.transforms.autoaugment import _OP_NAMES, AutoAugmentPolicy, _apply_op
from ember.vision.transforms.autoaugment import AutoAugment as _V1AutoAugment
from ember.vision.transforms.functional import InterpolationMode

from . import functional as F
from ._transform import Transform, _get_fill, _setup_fill_arg, check_type
from .functional._geometry import _check_interpolation
from .functional._utils import is_pure_tensor


def _lin(end: float, start: float = 0.0) -> Callable[[int, int, int], Tensor]:
    return lambda num_bins, height, width: ember.linspace(start, end, num_bins)


def _posterize(top: int, span: int) -> Callable[[int, int, int], Tensor]:
    return lambda num_bins, height, width: (top - (ember.arange(num_bins) / ((num_bins - 1) / span))).round().int()


def _none(num_bins: int, height: int, width: int) -> None:
    return None


def _enhance(end: float) -> dict[str, tuple[Callable, bool]]:
    """Brightness, Color, Contrast and Sharpness, each a signed ``linspace(0, end)``."""
    return {name: (_lin(end), True) for name in ("Brightness", "Color", "Contrast", "Sharpness")}


# solarize thresholds fall from the dtype's maximum (1.0 here, scaled per image) to 0
_SOLARIZE = (_lin(0.0, start=1.0), False)

_SHARED = {
    "ShearX": (_lin(0.3), True), "ShearY": (_lin(0.3), True),
    "TranslateX": (lambda n, h, w: ember.linspace(0.0, 150.0 / 331.0 * w, n), True),
    "TranslateY": (lambda n, h, w: ember.linspace(0.0, 150.0 / 331.0 * h, n), True),
    "Rotate": (_lin(30.0), True), **_enhance(0.9), "Posterize": (_posterize(8, 4), False),
    "Solarize": _SOLARIZE, "AutoContrast": (_none, False), "Equalize": (_none, False),
}


class _AutoAugmentBase(Transform):
    _AUGMENTATION_SPACE: dict[str, tuple[Callable, bool]] = {}

    def __init__(self, *, interpolation: Any = InterpolationMode.NEAREST, fill: Any = None) -> None:
        super().__init__()
        self.interpolation = _check_interpolation(interpolation)
        self.fill = fill
        self._fill = _setup_fill_arg(fill)

    def _get_random_item(self, dct: dict) -> tuple[str, Any]:
        keys = tuple(dct.keys())
        key = keys[int(ember.randint(len(keys), ()))]
        return key, dct[key]

    def _flatten_and_extract_image_or_video(self, inputs: Any, unsupported_types: tuple = (
            tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints)) -> tuple[tuple, Any]:
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        needs = self._needs_transform_list(flat_inputs)
        found = []
        for idx, (inpt, need) in enumerate(zip(flat_inputs, needs)):
            if need and check_type(inpt, (tv_tensors.Image, _PIL.Image, is_pure_tensor, tv_tensors.Video)):
                found.append((idx, inpt))
            elif isinstance(inpt, unsupported_types):
                raise TypeError(f"Inputs of type {type(inpt).__name__} are not supported by {type(self).__name__}()")
        if not found:
            raise TypeError("Found no image in the sample.")
        if len(found) > 1:
            raise TypeError(f"Auto augment transformations are only properly defined for a single image or video, "
                            f"but found {len(found)}.")
        idx, image = found[0]
        return (flat_inputs, spec, idx), image

    @staticmethod
    def _insert(flat_with_spec: tuple, image: Any) -> Any:
        flat_inputs, spec, idx = flat_with_spec
        flat_inputs[idx] = image
        return tree_unflatten(flat_inputs, spec)

    def _apply_image_or_video_transform(self, image: Any, transform_id: str, magnitude: float) -> Any:
        if transform_id not in _OP_NAMES:
            raise ValueError(f"No transform available for {transform_id}")
        if transform_id == "Solarize":
            # v2's solarize magnitudes are fractions of the image dtype's largest value (v1's are 0-255 levels)
            magnitude *= _Ft._max_value(image.dtype) if isinstance(image, Tensor) else 255.0
        fill = _get_fill(self._fill, type(image))
        return _apply_op(image, transform_id, magnitude, self.interpolation, fill, fn=F)

    def _magnitude(self, magnitudes: Any, index: int, signed: bool) -> float:
        if magnitudes is None:
            return 0.0
        magnitude = float(magnitudes[index])
        if signed and ember.rand(()) <= 0.5:
            magnitude *= -1
        return magnitude

    def _random_bin_magnitude(self, magnitudes: Any, num_bins: int, signed: bool) -> float:
        """The magnitude at a bin drawn from ``num_bins`` (no draw for an op without magnitudes)."""
        if magnitudes is None:
            return 0.0
        return self._magnitude(magnitudes, int(ember.randint(num_bins, ())), signed)


class AutoAugment(_AutoAugmentBase):
    """The learned AutoAugment policies (ImageNet, CIFAR10, SVHN)."""

    _AUGMENTATION_SPACE = {**_SHARED, "Invert": (_none, False)}

    def __init__(self, policy: AutoAugmentPolicy = AutoAugmentPolicy.IMAGENET,
                 interpolation: Any = InterpolationMode.NEAREST, fill: Any = None) -> None:
        super().__init__(interpolation=interpolation, fill=fill)
        self.policy = policy
        self._policies = _V1AutoAugment(policy).policies

    def forward(self, *inputs: Any) -> Any:
        flat_with_spec, image = self._flatten_and_extract_image_or_video(inputs)
        height, width = F.get_size(image)
        policy = self._policies[int(ember.randint(len(self._policies), ()))]
        for transform_id, probability, magnitude_idx in policy:
            if not ember.rand(()) <= probability:
                continue
            magnitudes_fn, signed = self._AUGMENTATION_SPACE[transform_id]
            magnitudes = magnitudes_fn(10, height, width)
            magnitude = self._magnitude(magnitudes, magnitude_idx, signed)
            image = self._apply_image_or_video_transform(image, transform_id, magnitude)
        return self._insert(flat_with_spec, image)


class RandAugment(_AutoAugmentBase):
    """``num_ops`` random ops at a fixed ``magnitude`` (of ``num_magnitude_bins``)."""

    _AUGMENTATION_SPACE = {"Identity": (_none, False), **_SHARED}

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation: Any = InterpolationMode.NEAREST, fill: Any = None) -> None:
        super().__init__(interpolation=interpolation, fill=fill)
        if not isinstance(num_ops, int) or (num_ops < 0):
            raise ValueError(f"num_ops should be a non-negative integer, but got {num_ops} instead.")
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins

    def forward(self, *inputs: Any) -> Any:
        flat_with_spec, image = self._flatten_and_extract_image_or_video(inputs)
        height, width = F.get_size(image)
        for _ in range(self.num_ops):
            transform_id, (magnitudes_fn, signed) = self._get_random_item(self._AUGMENTATION_SPACE)
            magnitudes = magnitudes_fn(self.num_magnitude_bins, height, width)
            magnitude = self._magnitude(magnitudes, self.magnitude, signed)
            image = self._apply_image_or_video_transform(image, transform_id, magnitude)
        return self._insert(flat_with_spec, image)


class TrivialAugmentWide(_AutoAugmentBase):
    """One random op at a random magnitude (TrivialAugment's wide ranges)."""

    _AUGMENTATION_SPACE = {
        "Identity": (_none, False), "ShearX": (_lin(0.99), True), "ShearY": (_lin(0.99), True),
        "TranslateX": (_lin(32.0), True), "TranslateY": (_lin(32.0), True), "Rotate": (_lin(135.0), True),
        **_enhance(0.99), "Posterize": (_posterize(8, 6), False), "Solarize": _SOLARIZE,
        "AutoContrast": (_none, False), "Equalize": (_none, False),
    }

    def __init__(self, num_magnitude_bins: int = 31, interpolation: Any = InterpolationMode.NEAREST,
                 fill: Any = None) -> None:
        super().__init__(interpolation=interpolation, fill=fill)
        self.num_magnitude_bins = num_magnitude_bins

    def forward(self, *inputs: Any) -> Any:
        flat_with_spec, image = self._flatten_and_extract_image_or_video(inputs)
        height, width = F.get_size(image)
        transform_id, (magnitudes_fn, signed) = self._get_random_item(self._AUGMENTATION_SPACE)
        magnitudes = magnitudes_fn(self.num_magnitude_bins, height, width)
        magnitude = self._random_bin_magnitude(magnitudes, self.num_magnitude_bins, signed)
        image = self._apply_image_or_video_transform(image, transform_id, magnitude)
        return self._insert(flat_with_spec, image)


class AugMix(_AutoAugmentBase):
    """AugMix: a Dirichlet-weighted mix of ``mixture_width`` augmentation chains, blended with the input."""

    _PARTIAL_AUGMENTATION_SPACE = {
        "ShearX": (_lin(0.3), True), "ShearY": (_lin(0.3), True),
        "TranslateX": (lambda n, h, w: ember.linspace(0.0, w / 3.0, n), True),
        "TranslateY": (lambda n, h, w: ember.linspace(0.0, h / 3.0, n), True),
        "Rotate": (_lin(30.0), True), "Posterize": (_posterize(4, 4), False), "Solarize": _SOLARIZE,
        "AutoContrast": (_none, False), "Equalize": (_none, False),
    }
    _AUGMENTATION_SPACE = {**_PARTIAL_AUGMENTATION_SPACE, **_enhance(0.9)}

    def __init__(self, severity: int = 3, mixture_width: int = 3, chain_depth: int = -1, alpha: float = 1.0,
                 all_ops: bool = True, interpolation: Any = InterpolationMode.BILINEAR, fill: Any = None) -> None:
        super().__init__(interpolation=interpolation, fill=fill)
        self._PARAMETER_MAX = 10
        if not (1 <= severity <= self._PARAMETER_MAX):
            raise ValueError(f"The severity must be between [1, {self._PARAMETER_MAX}]. Got {severity} instead.")
        self.severity = severity
        self.mixture_width = mixture_width
        self.chain_depth = chain_depth
        self.alpha = alpha
        self.all_ops = all_ops

    def _sample_dirichlet(self, params: Tensor) -> Tensor:
        return ember.distributions.Dirichlet(params).sample()

    def forward(self, *inputs: Any) -> Any:
        flat_with_spec, orig = self._flatten_and_extract_image_or_video(inputs)
        height, width = F.get_size(orig)
        image = orig.as_subclass(Tensor) if isinstance(orig, Tensor) else F.pil_to_tensor(orig)
        space = self._AUGMENTATION_SPACE if self.all_ops else self._PARTIAL_AUGMENTATION_SPACE
        orig_dims = list(image.shape)
        expected_ndim = 5 if isinstance(orig, tv_tensors.Video) else 4
        batch = image.reshape([1] * max(expected_ndim - image.ndim, 0) + orig_dims)
        batch_dims = [batch.size(0)] + [1] * (batch.ndim - 1)
        m = self._sample_dirichlet(ember.tensor([self.alpha, self.alpha], device=batch.device).expand(batch_dims[0], -1))
        combined_weights = self._sample_dirichlet(
            ember.tensor([self.alpha] * self.mixture_width, device=batch.device).expand(batch_dims[0], -1)
        ) * m[:, 1].reshape([batch_dims[0], -1])
        mix = m[:, 0].reshape(batch_dims) * batch
        for i in range(self.mixture_width):
            aug = batch
            depth = self.chain_depth if self.chain_depth > 0 else int(ember.randint(low=1, high=4, size=(1,)).item())
            for _ in range(depth):
                transform_id, (magnitudes_fn, signed) = self._get_random_item(space)
                magnitudes = magnitudes_fn(self._PARAMETER_MAX, height, width)
                magnitude = self._random_bin_magnitude(magnitudes, self.severity, signed)
                aug = self._apply_image_or_video_transform(aug, transform_id, magnitude)
            mix.add_(combined_weights[:, i].reshape(batch_dims) * aug)
        mix = mix.reshape(orig_dims).to(dtype=image.dtype)
        if isinstance(orig, (tv_tensors.Image, tv_tensors.Video)):
            mix = tv_tensors.wrap(mix, like=orig)
        elif isinstance(orig, _PIL.Image):
            mix = F.to_pil_image(mix)
        return self._insert(flat_with_spec, mix)
