"""``GeneralizedRCNNTransform``: what a detector does to its inputs before the backbone (normalise,
resize so the short side is ``min_size`` and the long side at most ``max_size``, pad into one batch
whose sides are multiples of ``size_divisible``) and to its detections after (boxes, masks and
keypoints back to each image's original size).

Example:
    >>> import ember
    >>> t = GeneralizedRCNNTransform(32, 64, [0.5] * 3, [0.25] * 3).eval()
    >>> images, _ = t([ember.rand(3, 20, 30), ember.rand(3, 40, 20)])
    >>> tuple(images.tensors.shape), images.image_sizes
    ((2, 3, 64, 64), [(32, 48), (64, 32)])
"""

from __future__ import annotations

import math
from typing import Any

import ember
import ember.nn.functional as F
from ember import nn

from .image_list import ImageList

__all__ = ["GeneralizedRCNNTransform", "resize_boxes", "resize_keypoints"]


def _resize_image_and_masks(image: ember.Tensor, self_min_size: int, self_max_size: int,
                            target: dict[str, ember.Tensor] | None = None,
                            fixed_size: tuple[int, int] | None = None
                            ) -> tuple[ember.Tensor, dict[str, ember.Tensor] | None]:
    size = scale_factor = recompute = None
    if fixed_size is not None:
        size = [fixed_size[1], fixed_size[0]]
    else:
        h, w = image.shape[-2:]
        scale_factor = min(self_min_size / min(h, w), self_max_size / max(h, w))
        recompute = True  # the output size is floor(side * scale) and the scale is recomputed from it
    image = F.interpolate(image[None], size=size, scale_factor=scale_factor, mode="bilinear",
                          recompute_scale_factor=recompute, align_corners=False)[0]
    if target is not None and "masks" in target:
        mask = F.interpolate(target["masks"][:, None].float(), size=size, scale_factor=scale_factor,
                             recompute_scale_factor=recompute)[:, 0].byte()
        target["masks"] = mask
    return image, target


def _ratios(new_size: Any, original_size: Any, device: Any) -> list[ember.Tensor]:
    # float32 ratios, as torchvision computes them whatever the boxes' dtype
    return [ember.tensor(s, dtype=ember.float32, device=device) / ember.tensor(s0, dtype=ember.float32, device=device)
            for s, s0 in zip(new_size, original_size)]


def resize_boxes(boxes: ember.Tensor, original_size: list[int], new_size: list[int]) -> ember.Tensor:
    """``(x1, y1, x2, y2)`` boxes of an image of ``original_size (h, w)`` rescaled to ``new_size``."""
    ratio_h, ratio_w = _ratios(new_size, original_size, boxes.device)
    xmin, ymin, xmax, ymax = boxes.unbind(1)
    return ember.stack((xmin * ratio_w, ymin * ratio_h, xmax * ratio_w, ymax * ratio_h), dim=1)


def resize_keypoints(keypoints: ember.Tensor, original_size: list[int], new_size: list[int]) -> ember.Tensor:
    """``[..., (x, y, v)]`` keypoints rescaled from ``original_size (h, w)`` to ``new_size``."""
    ratio_h, ratio_w = _ratios(new_size, original_size, keypoints.device)
    resized = keypoints.clone()
    resized[..., 0] *= ratio_w
    resized[..., 1] *= ratio_h
    return resized


class GeneralizedRCNNTransform(nn.Module):
    """Normalises with ``image_mean``/``image_std``, resizes (in training to a random one of
    ``min_size`` when it is a tuple, in eval to its last), and batches; ``postprocess`` maps
    detections back to the original image sizes (eval only). Returns an :class:`ImageList` and the
    targets with resized boxes, masks and keypoints."""

    def __init__(self, min_size: int | tuple[int, ...], max_size: int, image_mean: list[float],
                 image_std: list[float], size_divisible: int = 32, fixed_size: tuple[int, int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        if not isinstance(min_size, (list, tuple)):
            min_size = (min_size,)
        self.min_size = min_size
        self.max_size = max_size
        self.image_mean = image_mean
        self.image_std = image_std
        self.size_divisible = size_divisible
        self.fixed_size = fixed_size
        self._skip_resize = kwargs.pop("_skip_resize", False)

    def forward(self, images: list[ember.Tensor], targets: list[dict[str, ember.Tensor]] | None = None
                ) -> tuple[ImageList, list[dict[str, ember.Tensor]] | None]:
        images = list(images)
        if targets is not None:
            targets = [dict(t) for t in targets]  # the caller's dicts are left as they are
        for i, image in enumerate(images):
            target = targets[i] if targets is not None else None
            if image.dim() != 3:
                raise ValueError(f"images is expected to be a list of 3d tensors of shape [C, H, W], got {image.shape}")
            image = self.normalize(image)
            image, target = self.resize(image, target)
            images[i] = image
            if targets is not None and target is not None:
                targets[i] = target
        image_sizes = [(int(img.shape[-2]), int(img.shape[-1])) for img in images]
        batched = self.batch_images(images, size_divisible=self.size_divisible)
        return ImageList(batched, image_sizes), targets

    def normalize(self, image: ember.Tensor) -> ember.Tensor:
        if not image.is_floating_point():
            raise TypeError(f"Expected input images to be of floating type (in range [0, 1]), "
                            f"but found type {image.dtype} instead")
        mean = ember.as_tensor(self.image_mean, dtype=image.dtype, device=image.device)
        std = ember.as_tensor(self.image_std, dtype=image.dtype, device=image.device)
        return (image - mean[:, None, None]) / std[:, None, None]

    def torch_choice(self, k: list[int]) -> int:
        """``random.choice`` drawn from ember's RNG."""
        return k[int(ember.empty(1).uniform_(0.0, float(len(k))).item())]

    def resize(self, image: ember.Tensor, target: dict[str, ember.Tensor] | None = None
               ) -> tuple[ember.Tensor, dict[str, ember.Tensor] | None]:
        h, w = image.shape[-2:]
        if self.training:
            if self._skip_resize:
                return image, target
            size = self.torch_choice(self.min_size)
        else:
            size = self.min_size[-1]
        image, target = _resize_image_and_masks(image, size, self.max_size, target, self.fixed_size)
        if target is None:
            return image, target
        new_size = tuple(image.shape[-2:])
        target["boxes"] = resize_boxes(target["boxes"], (h, w), new_size)
        if "keypoints" in target:
            target["keypoints"] = resize_keypoints(target["keypoints"], (h, w), new_size)
        return image, target

    def max_by_axis(self, the_list: list[list[int]]) -> list[int]:
        maxes = list(the_list[0])
        for sublist in the_list[1:]:
            for index, item in enumerate(sublist):
                maxes[index] = max(maxes[index], item)
        return maxes

    def batch_images(self, images: list[ember.Tensor], size_divisible: int = 32) -> ember.Tensor:
        """The images zero-padded (bottom and right) to a common size rounded up to ``size_divisible``."""
        max_size = self.max_by_axis([list(img.shape) for img in images])
        stride = float(size_divisible)
        max_size[1] = int(math.ceil(float(max_size[1]) / stride) * stride)
        max_size[2] = int(math.ceil(float(max_size[2]) / stride) * stride)
        batched = images[0].new_full([len(images)] + max_size, 0)
        for i, img in enumerate(images):
            batched[i, : img.shape[0], : img.shape[1], : img.shape[2]].copy_(img)
        return batched

    def postprocess(self, result: list[dict[str, ember.Tensor]], image_shapes: list[tuple[int, int]],
                    original_image_sizes: list[tuple[int, int]]) -> list[dict[str, ember.Tensor]]:
        if self.training:
            return result
        for i, (pred, im_s, o_im_s) in enumerate(zip(result, image_shapes, original_image_sizes)):
            boxes = resize_boxes(pred["boxes"], im_s, o_im_s)
            result[i]["boxes"] = boxes
            if "masks" in pred:
                from .roi_heads import paste_masks_in_image

                result[i]["masks"] = paste_masks_in_image(pred["masks"], boxes, o_im_s)
            if "keypoints" in pred:
                result[i]["keypoints"] = resize_keypoints(pred["keypoints"], im_s, o_im_s)
        return result

    def __repr__(self) -> str:
        indent = "\n    "
        return (f"{self.__class__.__name__}({indent}Normalize(mean={self.image_mean}, std={self.image_std})"
                f"{indent}Resize(min_size={self.min_size}, max_size={self.max_size}, mode='bilinear')\n)")
