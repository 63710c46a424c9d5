"""torchvision.transforms.v2.functional: functionals that dispatch on the input's type (PIL image,
plain tensor, Image, Video, Mask, BoundingBoxes, KeyPoints) to a kernel per type.

Example:
    >>> import ember
    >>> from ember.vision import tv_tensors
    >>> from ember.vision.transforms.v2 import functional as F
    >>> boxes = tv_tensors.BoundingBoxes([[0, 0, 2, 3]], format="XYXY", canvas_size=(4, 6))
    >>> F.horizontal_flip(boxes).tolist()
    [[4, 0, 6, 3]]
"""

from __future__ import annotations

from ember.vision.transforms.functional import InterpolationMode

from ._color import (
    adjust_brightness,
    adjust_contrast,
    adjust_gamma,
    adjust_hue,
    adjust_saturation,
    adjust_sharpness,
    autocontrast,
    equalize,
    grayscale_to_rgb,
    invert,
    permute_channels,
    posterize,
    rgb_to_grayscale,
    solarize,
    to_grayscale,
)
from ._geometry import (
    affine,
    affine_bounding_boxes,
    affine_image,
    affine_mask,
    center_crop,
    center_crop_bounding_boxes,
    center_crop_image,
    center_crop_mask,
    crop,
    crop_bounding_boxes,
    crop_image,
    crop_mask,
    elastic,
    elastic_bounding_boxes,
    elastic_image,
    elastic_mask,
    elastic_transform,
    five_crop,
    horizontal_flip,
    horizontal_flip_bounding_boxes,
    horizontal_flip_image,
    horizontal_flip_mask,
    pad,
    pad_bounding_boxes,
    pad_image,
    pad_mask,
    perspective,
    perspective_bounding_boxes,
    perspective_image,
    perspective_mask,
    resize,
    resize_bounding_boxes,
    resize_image,
    resize_mask,
    resized_crop,
    resized_crop_bounding_boxes,
    resized_crop_image,
    resized_crop_mask,
    rotate,
    rotate_bounding_boxes,
    rotate_image,
    rotate_mask,
    ten_crop,
    vertical_flip,
    vertical_flip_bounding_boxes,
    vertical_flip_image,
    vertical_flip_mask,
)
from ._meta import (
    clamp_bounding_boxes,
    clamp_keypoints,
    convert_bounding_box_format,
    get_dimensions,
    get_num_channels,
    get_num_frames,
    get_size,
)
from ._misc import (
    convert_image_dtype,
    erase,
    gaussian_blur,
    gaussian_noise,
    jpeg,
    normalize,
    pil_to_tensor,
    sanitize_bounding_boxes,
    to_dtype,
    to_dtype_image,
    to_image,
    to_pil_image,
    to_tensor,
)
from ._utils import is_pure_tensor, register_kernel

hflip = horizontal_flip
vflip = vertical_flip

__all__ = [
    "InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue", "adjust_saturation",
    "adjust_sharpness", "affine", "affine_bounding_boxes", "affine_image", "affine_mask", "autocontrast",
    "center_crop", "center_crop_bounding_boxes", "center_crop_image", "center_crop_mask", "clamp_bounding_boxes",
    "clamp_keypoints", "convert_bounding_box_format", "convert_image_dtype", "crop", "crop_bounding_boxes",
    "crop_image", "crop_mask", "elastic", "elastic_bounding_boxes", "elastic_image", "elastic_mask",
    "elastic_transform", "equalize", "erase", "five_crop", "gaussian_blur", "gaussian_noise", "get_dimensions",
    "get_num_channels", "get_num_frames", "get_size", "grayscale_to_rgb", "hflip", "horizontal_flip",
    "horizontal_flip_bounding_boxes", "horizontal_flip_image", "horizontal_flip_mask", "invert", "is_pure_tensor",
    "jpeg", "normalize", "pad", "pad_bounding_boxes", "pad_image", "pad_mask", "permute_channels", "perspective",
    "perspective_bounding_boxes", "perspective_image", "perspective_mask", "pil_to_tensor", "posterize",
    "register_kernel", "resize", "resize_bounding_boxes", "resize_image", "resize_mask", "resized_crop",
    "resized_crop_bounding_boxes", "resized_crop_image", "resized_crop_mask", "rgb_to_grayscale", "rotate",
    "rotate_bounding_boxes", "rotate_image", "rotate_mask", "sanitize_bounding_boxes", "solarize", "ten_crop",
    "to_dtype", "to_dtype_image", "to_grayscale", "to_image", "to_pil_image", "to_tensor", "vertical_flip",
    "vertical_flip_bounding_boxes", "vertical_flip_image", "vertical_flip_mask", "vflip",
]
