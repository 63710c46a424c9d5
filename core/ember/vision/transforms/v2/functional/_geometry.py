"""Geometric functionals: one kernel per input type. Images reuse the v1 kernels
(``ember.vision.transforms.functional``); masks are images resampled with NEAREST; boxes and key
points move their coordinates with the same map and get the new canvas size."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image as _PIL

from ember import Tensor
from ember.vision import tv_tensors
from ember.vision.transforms import _functional_pil as _Fp
from ember.vision.transforms import _functional_tensor as _Ft
from ember.vision.transforms import functional as _F1
from ember.vision.transforms.functional import InterpolationMode
from ember.vision.tv_tensors import BoundingBoxFormat

from ._meta import _back, _clamp_np, _convert_np, _np
from ._utils import _dispatch, _register

_XYXY = BoundingBoxFormat.XYXY
_IMAGE_TYPES = (Tensor, tv_tensors.Image, _PIL.Image)


def _check_interpolation(interpolation: Any) -> InterpolationMode:
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int):
        return _F1._FROM_INT[interpolation]
    if isinstance(interpolation, str):
        return InterpolationMode(interpolation)
    raise ValueError(f"Argument interpolation should be an `InterpolationMode` or a corresponding Pillow integer "
                     f"constant, but got {interpolation}.")


def _as_4d(fn: Any) -> Any:
    """Run a tensor image kernel on ``[..., C, H, W]`` by folding the leading dims into one batch dim
    (videos ``[..., T, C, H, W]``); the v1 kernels take at most 4 dims."""

    def kernel(image: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(image, _PIL.Image) or image.ndim <= 4:
            return fn(image, *args, **kwargs)
        lead = tuple(image.shape[:-3])
        out = fn(image.reshape(-1, *image.shape[-3:]), *args, **kwargs)
        return out.reshape(*lead, *out.shape[-3:])

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


def _mask_kernel(fn: Any) -> Any:
    """An image kernel applied to a mask ``[..., H, W]`` (a 2-d mask gets and loses a channel dim)."""

    def kernel(mask: Any, *args: Any, **kwargs: Any) -> Any:
        if mask.ndim < 3:
            return fn(mask.unsqueeze(0), *args, **kwargs).squeeze(0)
        return fn(mask, *args, **kwargs)

    return kernel


def _float(a: np.ndarray) -> np.ndarray:
    """``a`` as torch promotes it against a float32 tensor: integers to float32, floats unchanged."""
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float32)


def _box_points(b: np.ndarray) -> np.ndarray:
    """The 4 corners (N, 4, 2) of XYXY boxes (N, 4)."""
    return b[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]


def _boxes_op(boxes: Tensor, format: Any, fn: Any, canvas_size: tuple[int, int], clamping_mode: Any = "soft",
              clamp: bool = True, convert_first: bool = False, cast_back_first: bool = False) -> Tensor:
    """Run ``fn`` on the boxes as float XYXY rows (N, 4), clamp to ``canvas_size``, and convert back to
    ``format`` and the boxes' dtype (torchvision's path through XYXY for every unrotated format).

    Where torchvision converts integer boxes to XYXY before going to float (``convert_first``:
    perspective, elastic) or casts the moved boxes back before clamping (``cast_back_first``: elastic),
    the integer rounding happens at the same step here."""
    a = _np(boxes)
    dtype = a.dtype
    if a.size == 0:
        return boxes
    shape = a.shape
    if convert_first:
        xyxy = _float(_convert_np(a, _fmt(format), _XYXY)).reshape(-1, 4)
    else:
        xyxy = _convert_np(_float(a), _fmt(format), _XYXY).reshape(-1, 4)
    f = xyxy
    out = fn(xyxy)
    if cast_back_first:
        out = out.astype(dtype)
        f = out
    if clamp:
        out = _clamp_np(out, _XYXY, canvas_size, clamping_mode)
    out = _convert_np(out.astype(f.dtype), _XYXY, _fmt(format)).reshape(shape)
    return _back(out.astype(dtype), boxes, boxes.dtype)


def _fmt(format: Any) -> BoundingBoxFormat:
    return BoundingBoxFormat[format.upper()] if isinstance(format, str) else format


def _register_boxes(functional: Any, kernel: Any) -> None:
    """Register a ``(boxes, format, canvas_size, ...) -> (boxes, canvas_size)`` kernel for BoundingBoxes."""

    def dispatch(inpt: tv_tensors.BoundingBoxes, *args: Any, **kwargs: Any) -> tv_tensors.BoundingBoxes:
        out = kernel(inpt.as_subclass(Tensor), inpt.format, inpt.canvas_size, *args,
                     clamping_mode=inpt.clamping_mode, **kwargs)
        out, canvas = out if isinstance(out, tuple) else (out, inpt.canvas_size)
        return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)

    _register(functional, tv_tensors.BoundingBoxes, tv_tensor_wrapper=False)(dispatch)


def _register_keypoints(functional: Any, kernel: Any) -> None:
    def dispatch(inpt: tv_tensors.KeyPoints, *args: Any, **kwargs: Any) -> tv_tensors.KeyPoints:
        out = kernel(inpt.as_subclass(Tensor), inpt.canvas_size, *args, **kwargs)
        out, canvas = out if isinstance(out, tuple) else (out, inpt.canvas_size)
        return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)

    _register(functional, tv_tensors.KeyPoints, tv_tensor_wrapper=False)(dispatch)


def _points_op(points: Tensor, fn: Any) -> Tensor:
    a = _np(points)
    f = a.astype(np.float32) if not np.issubdtype(a.dtype, np.floating) else a
    out = fn(f.reshape(-1, 2)).reshape(a.shape)
    return _back(out.astype(a.dtype), points, points.dtype)


# ---- flips ----------------------------------------------------------------------------------------
def horizontal_flip(inpt: Any) -> Any:
    """Mirror left-right (images, videos, masks, boxes, key points)."""
    return _dispatch(horizontal_flip, inpt)


def vertical_flip(inpt: Any) -> Any:
    """Mirror top-bottom (images, videos, masks, boxes, key points)."""
    return _dispatch(vertical_flip, inpt)


horizontal_flip_image = _register(horizontal_flip, *_IMAGE_TYPES, tv_tensors.Video)(_F1.hflip)
vertical_flip_image = _register(vertical_flip, *_IMAGE_TYPES, tv_tensors.Video)(_F1.vflip)
horizontal_flip_mask = _register(horizontal_flip, tv_tensors.Mask)(_mask_kernel(_F1.hflip))
vertical_flip_mask = _register(vertical_flip, tv_tensors.Mask)(_mask_kernel(_F1.vflip))


def horizontal_flip_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int],
                                   clamping_mode: Any = "soft") -> Tensor:
    """x -> W - x for the boxes' x extent (no clamping needed)."""
    w = canvas_size[1]
    return _boxes_op(bounding_boxes, format, lambda b: np.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], 1),
                     canvas_size, clamp=False)


def vertical_flip_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int],
                                 clamping_mode: Any = "soft") -> Tensor:
    """y -> H - y for the boxes' y extent."""
    h = canvas_size[0]
    return _boxes_op(bounding_boxes, format, lambda b: np.stack([b[:, 0], h - b[:, 3], b[:, 2], h - b[:, 1]], 1),
                     canvas_size, clamp=False)


def horizontal_flip_keypoints(keypoints: Tensor, canvas_size: tuple[int, int]) -> Tensor:
    return _points_op(keypoints, lambda p: np.stack([canvas_size[1] - 1 - p[:, 0], p[:, 1]], 1))


def vertical_flip_keypoints(keypoints: Tensor, canvas_size: tuple[int, int]) -> Tensor:
    return _points_op(keypoints, lambda p: np.stack([p[:, 0], canvas_size[0] - 1 - p[:, 1]], 1))


_register_boxes(horizontal_flip, horizontal_flip_bounding_boxes)
_register_boxes(vertical_flip, vertical_flip_bounding_boxes)
_register_keypoints(horizontal_flip, horizontal_flip_keypoints)
_register_keypoints(vertical_flip, vertical_flip_keypoints)


# ---- resize ---------------------------------------------------------------------------------------
def _compute_resized_output_size(canvas_size: tuple[int, int], size: Any, max_size: int | None = None) -> list[int]:
    if isinstance(size, int):
        size = [size]
    elif max_size is not None and size is not None and len(size) != 1:
        raise ValueError("max_size should only be passed if size is None or specifies the length of the smaller "
                         "edge, i.e. size should be an int or a sequence of length 1 in torchscript mode.")
    h, w = canvas_size
    if size is None:
        if max_size is None:
            raise ValueError("size can only be None if max_size is also passed.")
        r = max_size / max(h, w)
        return [int(h * r), int(w * r)] if h != w else [max_size, max_size]
    if len(size) == 2:
        return [int(size[0]), int(size[1])]
    short, long = (w, h) if w <= h else (h, w)
    new_short = requested = int(size[0])
    new_long = int(requested * long / short)
    if max_size is not None:
        if max_size <= requested:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for the "
                             f"smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return [new_short, new_long] if w > h else [new_long, new_short]  # noqa: E501


def resize(inpt: Any, size: Any, interpolation: Any = InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True) -> Any:
    """Resize to ``size`` ((h, w), or the smaller edge; ``None`` with ``max_size``: the longer edge)."""
    return _dispatch(resize, inpt, size=size, interpolation=interpolation, max_size=max_size, antialias=antialias)


@_register(resize, *_IMAGE_TYPES, tv_tensors.Video)
def resize_image(image: Any, size: Any, interpolation: Any = InterpolationMode.BILINEAR, max_size: int | None = None,
                 antialias: bool | None = True) -> Any:
    interpolation = _check_interpolation(interpolation)
    h, w = _size_of(image)
    new = _compute_resized_output_size((h, w), size, max_size)
    if tuple(new) == (h, w):
        return image
    return _F1.resize(image, new, interpolation, antialias=antialias)


def _size_of(image: Any) -> tuple[int, int]:
    if isinstance(image, _PIL.Image):
        return image.size[1], image.size[0]
    return int(image.shape[-2]), int(image.shape[-1])


@_register(resize, tv_tensors.Mask)
def resize_mask(mask: Tensor, size: Any, interpolation: Any = None, max_size: int | None = None,
                antialias: Any = None) -> Tensor:
    return _mask_kernel(resize_image)(mask, size, InterpolationMode.NEAREST, max_size)


def resize_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int], size: Any,
                          max_size: int | None = None, clamping_mode: Any = "soft", **_: Any) -> tuple[Tensor, tuple]:
    new_h, new_w = _compute_resized_output_size(canvas_size, size, max_size)
    if (new_h, new_w) == tuple(canvas_size):
        return bounding_boxes, tuple(canvas_size)
    a = _np(bounding_boxes)
    ratios = np.array([new_w / canvas_size[1], new_h / canvas_size[0]] * 2, dtype=np.float32)
    # torchvision multiplies by float32 ratios in torch's promoted dtype (float32 for integer boxes),
    # then casts back (truncating integer boxes)
    out = (_float(a) * ratios) if a.size else a
    return _back(out.astype(a.dtype), bounding_boxes, bounding_boxes.dtype), (new_h, new_w)


def resize_keypoints(keypoints: Tensor, canvas_size: tuple[int, int], size: Any, max_size: int | None = None,
                     **_: Any) -> tuple[Tensor, tuple]:
    new_h, new_w = _compute_resized_output_size(canvas_size, size, max_size)
    ratios = np.array([new_w / canvas_size[1], new_h / canvas_size[0]], dtype=np.float32)
    return _points_op(keypoints, lambda p: _float(p) * ratios), (new_h, new_w)


_register_boxes(resize, lambda b, f, c, size, interpolation=None, max_size=None, antialias=None, clamping_mode="soft":
                resize_bounding_boxes(b, f, c, size, max_size, clamping_mode))
_register_keypoints(resize, lambda k, c, size, interpolation=None, max_size=None, antialias=None:
                    resize_keypoints(k, c, size, max_size))


# ---- pad / crop -----------------------------------------------------------------------------------
def _parse_pad_padding(padding: Any) -> list[int]:
    """[left, right, top, bottom] from an int or a 1-, 2- or 4-element sequence."""
    if isinstance(padding, int):
        pad_left = pad_right = pad_top = pad_bottom = padding
    elif isinstance(padding, (tuple, list)):
        if len(padding) == 1:
            pad_left = pad_right = pad_top = pad_bottom = padding[0]
        elif len(padding) == 2:
            pad_left = pad_right = padding[0]
            pad_top = pad_bottom = padding[1]
        elif len(padding) == 4:
            pad_left, pad_top, pad_right, pad_bottom = padding
        else:
            raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element "
                             f"tuple")
    else:
        raise TypeError(f"`padding` should be an integer or tuple or list of integers, but got {padding}")
    return [pad_left, pad_right, pad_top, pad_bottom]


def pad(inpt: Any, padding: Any, fill: Any = None, padding_mode: str = "constant") -> Any:
    """Pad the borders (int, (lr, tb) or (l, t, r, b)); boxes shift by (left, top) on a larger canvas."""
    return _dispatch(pad, inpt, padding=padding, fill=fill, padding_mode=padding_mode)


@_register(pad, *_IMAGE_TYPES, tv_tensors.Video)
def pad_image(image: Any, padding: Any, fill: Any = None, padding_mode: str = "constant") -> Any:
    left, right, top, bottom = _parse_pad_padding(padding)
    if isinstance(fill, (list, tuple)) and len(fill) == 1:
        fill = fill[0]
    return _as_4d(_F1.pad)(image, [left, top, right, bottom], 0 if fill is None else fill, padding_mode)


@_register(pad, tv_tensors.Mask)
def pad_mask(mask: Tensor, padding: Any, fill: Any = None, padding_mode: str = "constant") -> Tensor:
    return _mask_kernel(pad_image)(mask, padding, 0 if fill is None else fill, padding_mode)


def pad_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int], padding: Any,
                       padding_mode: str = "constant", clamping_mode: Any = "soft") -> tuple[Tensor, tuple]:
    if padding_mode not in ["constant"]:
        raise ValueError(f"Padding mode '{padding_mode}' is not supported with bounding boxes")
    left, right, top, bottom = _parse_pad_padding(padding)
    canvas = (canvas_size[0] + top + bottom, canvas_size[1] + left + right)
    shift = {BoundingBoxFormat.XYXY: [left, top, left, top]}.get(_fmt(format), [left, top, 0, 0])
    a = _np(bounding_boxes)
    out = _clamp_np((a + np.array(shift, dtype=a.dtype)).astype(a.dtype), _fmt(format), canvas, clamping_mode)
    return _back(out, bounding_boxes, bounding_boxes.dtype), canvas


_register_boxes(pad, lambda b, f, c, padding, fill=None, padding_mode="constant", clamping_mode="soft":
                pad_bounding_boxes(b, f, c, padding, padding_mode, clamping_mode))
_register_keypoints(pad, lambda k, c, padding, fill=None, padding_mode="constant": _pad_keypoints(k, c, padding))


def _pad_keypoints(keypoints: Tensor, canvas_size: tuple[int, int], padding: Any) -> tuple[Tensor, tuple]:
    left, right, top, bottom = _parse_pad_padding(padding)
    canvas = (canvas_size[0] + top + bottom, canvas_size[1] + left + right)
    return _points_op(keypoints, lambda p: p + np.array([left, top], dtype=p.dtype)), canvas


def crop(inpt: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height`` x ``width`` region at (``top``, ``left``), zero outside the input."""
    return _dispatch(crop, inpt, top=top, left=left, height=height, width=width)


@_register(crop, *_IMAGE_TYPES, tv_tensors.Video)
def crop_image(image: Any, top: int, left: int, height: int, width: int) -> Any:
    return _F1.crop(image, top, left, height, width)


crop_mask = _register(crop, tv_tensors.Mask)(_mask_kernel(crop_image))


def crop_bounding_boxes(bounding_boxes: Tensor, format: Any, top: int, left: int, height: int, width: int,
                        clamping_mode: Any = "soft") -> tuple[Tensor, tuple[int, int]]:
    a = _np(bounding_boxes)
    sub = [left, top, left, top] if _fmt(format) == _XYXY else [left, top, 0, 0]
    canvas = (height, width)
    out = _clamp_np((a - np.array(sub, dtype=a.dtype)).astype(a.dtype), _fmt(format), canvas, clamping_mode)
    return _back(out, bounding_boxes, bounding_boxes.dtype), canvas


def crop_keypoints(keypoints: Tensor, top: int, left: int, height: int, width: int) -> tuple[Tensor, tuple]:
    return _points_op(keypoints, lambda p: p - np.array([left, top], dtype=p.dtype)), (height, width)


_register_boxes(crop, lambda b, f, c, top, left, height, width, clamping_mode="soft":
                crop_bounding_boxes(b, f, top, left, height, width, clamping_mode))
_register_keypoints(crop, lambda k, c, top, left, height, width: crop_keypoints(k, top, left, height, width))


def _center_crop_params(output_size: Any, canvas_size: tuple[int, int]) -> tuple[list[int], int, int, int, int]:
    if isinstance(output_size, numbers.Number):
        s = int(output_size)
        output_size = [s, s]
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = [output_size[0], output_size[0]]
    crop_h, crop_w = output_size
    h, w = canvas_size
    return list(output_size), int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0)), crop_h, crop_w


def center_crop(inpt: Any, output_size: Any) -> Any:
    """Crop the centre (zero-padding first where the input is smaller)."""
    return _dispatch(center_crop, inpt, output_size=output_size)


@_register(center_crop, *_IMAGE_TYPES, tv_tensors.Video)
def center_crop_image(image: Any, output_size: Any) -> Any:
    return _as_4d(_F1.center_crop)(image, output_size)


center_crop_mask = _register(center_crop, tv_tensors.Mask)(_mask_kernel(center_crop_image))


def center_crop_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int], output_size: Any,
                               clamping_mode: Any = "soft") -> tuple[Tensor, tuple]:
    _, top, left, h, w = _center_crop_params(output_size, canvas_size)
    return crop_bounding_boxes(bounding_boxes, format, top, left, h, w, clamping_mode)


_register_boxes(center_crop, center_crop_bounding_boxes)
_register_keypoints(center_crop, lambda k, c, output_size: crop_keypoints(k, *_center_crop_params(output_size, c)[1:]))


def resized_crop(inpt: Any, top: int, left: int, height: int, width: int, size: Any,
                 interpolation: Any = InterpolationMode.BILINEAR, antialias: bool | None = True) -> Any:
    """Crop, then resize to ``size``."""
    return _dispatch(resized_crop, inpt, top=top, left=left, height=height, width=width, size=size,
                     interpolation=interpolation, antialias=antialias)


@_register(resized_crop, *_IMAGE_TYPES, tv_tensors.Video)
def resized_crop_image(image: Any, top: int, left: int, height: int, width: int, size: Any,
                       interpolation: Any = InterpolationMode.BILINEAR, antialias: bool | None = True) -> Any:
    return resize_image(crop_image(image, top, left, height, width), size, interpolation, antialias=antialias)


@_register(resized_crop, tv_tensors.Mask)
def resized_crop_mask(mask: Tensor, top: int, left: int, height: int, width: int, size: Any, **_: Any) -> Tensor:
    return resize_mask(crop_mask(mask, top, left, height, width), size)


def resized_crop_bounding_boxes(bounding_boxes: Tensor, format: Any, top: int, left: int, height: int, width: int,
                                size: Any, clamping_mode: Any = "soft") -> tuple[Tensor, tuple]:
    b, canvas = crop_bounding_boxes(bounding_boxes, format, top, left, height, width, clamping_mode)
    return resize_bounding_boxes(b, format, canvas, size, clamping_mode=clamping_mode)


_register_boxes(resized_crop, lambda b, f, c, top, left, height, width, size, interpolation=None, antialias=None,
                clamping_mode="soft": resized_crop_bounding_boxes(b, f, top, left, height, width, size, clamping_mode))
_register_keypoints(resized_crop, lambda k, c, top, left, height, width, size, interpolation=None, antialias=None:
                    resize_keypoints(crop_keypoints(k, top, left, height, width)[0], (height, width), size))


# ---- affine / rotate / perspective / elastic ------------------------------------------------------
def _affine_matrix(center: list[float], angle: float, translate: list[float], scale: float, shear: list[float],
                   inverted: bool = True) -> list[float]:
    """torchvision's affine matrix (output -> input when ``inverted``, else input -> output)."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -(a * math.tan(sx) + math.sin(rot))
    c = math.sin(rot - sy) / math.cos(sy)
    d = math.cos(rot) - c * math.tan(sx)
    if inverted:
        m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
        m[2] += cx - m[0] * (cx + tx) - m[1] * (cy + ty)
        m[5] += cy - m[3] * (cx + tx) - m[4] * (cy + ty)
    else:
        m = [a * scale, b * scale, 0.0, c * scale, d * scale, 0.0]
        m[2] += cx + tx - m[0] * cx - m[1] * cy
        m[5] += cy + ty - m[3] * cx - m[4] * cy
    return m


def _affine_parse_args(angle: Any, translate: Any, scale: float, shear: Any, center: Any) -> tuple:
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    return float(angle), [float(t) for t in translate], float(scale), [float(s) for s in shear], center


def _affine_boxes_np(xyxy: np.ndarray, matrix: list[float]) -> np.ndarray:
    m = np.array(matrix, dtype=xyxy.dtype).reshape(2, 3).T
    pts = _box_points(xyxy).reshape(-1, 2)
    pts = np.concatenate([pts, np.ones((pts.shape[0], 1), dtype=xyxy.dtype)], -1) @ m
    pts = pts.reshape(-1, 4, 2)
    return np.concatenate([pts.min(1), pts.max(1)], 1)


def _affine_bounding_boxes_with_expand(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int],
                                       angle: float, translate: list[float], scale: float, shear: list[float],
                                       center: Any = None, expand: bool = False,
                                       clamping_mode: Any = "soft") -> tuple[Tensor, tuple[int, int]]:
    if bounding_boxes.numel() == 0:
        return bounding_boxes, canvas_size
    angle, translate, scale, shear, center = _affine_parse_args(angle, translate, scale, shear, center)
    h, w = canvas_size
    if center is None:
        center = [w * 0.5, h * 0.5]
    fwd = _affine_matrix(center, angle, translate, scale, shear, inverted=False)
    canvas = tuple(canvas_size)
    shift = None
    if expand:
        m = np.array(fwd, dtype=np.float32).reshape(2, 3).T
        corners = np.array([[0.0, 0.0, 1.0], [0.0, h, 1.0], [w, h, 1.0], [w, 0.0, 1.0]], dtype=np.float32) @ m
        shift = np.tile(corners.min(0), 2)
        ow, oh = _Ft._compute_affine_output_size(_affine_matrix(center, angle, translate, scale, shear), w, h)
        canvas = (oh, ow)

    def fn(xyxy: np.ndarray) -> np.ndarray:
        out = _affine_boxes_np(xyxy, fwd)
        return out - shift.astype(out.dtype) if shift is not None else out

    return _boxes_op(bounding_boxes, format, fn, canvas, clamping_mode), canvas


def affine(inpt: Any, angle: float, translate: Sequence[float], scale: float, shear: Any,
           interpolation: Any = InterpolationMode.NEAREST, fill: Any = None, center: Any = None) -> Any:
    """Rotate (clockwise degrees), scale, shear and translate about ``center``; boxes become the
    axis-aligned hull of their moved corners."""
    return _dispatch(affine, inpt, angle=angle, translate=translate, scale=scale, shear=shear,
                     interpolation=interpolation, fill=fill, center=center)


def _fill_arg(fill: Any) -> Any:
    if fill is None or isinstance(fill, (int, float)):
        return fill
    return [float(v) for v in fill]


@_register(affine, *_IMAGE_TYPES, tv_tensors.Video)
def affine_image(image: Any, angle: float, translate: Sequence[float], scale: float, shear: Any,
                 interpolation: Any = InterpolationMode.NEAREST, fill: Any = None, center: Any = None) -> Any:
    return _as_4d(_F1.affine)(image, angle, list(translate), scale, shear, _check_interpolation(interpolation),
                              _fill_arg(fill), center)


@_register(affine, tv_tensors.Mask)
def affine_mask(mask: Tensor, angle: float, translate: Sequence[float], scale: float, shear: Any,
                fill: Any = 0, center: Any = None, **_: Any) -> Tensor:
    return _mask_kernel(affine_image)(mask, angle, translate, scale, shear, InterpolationMode.NEAREST,
                                      0 if fill is None else fill, center)


def affine_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int], angle: float,
                          translate: list[float], scale: float, shear: list[float], center: Any = None,
                          clamping_mode: Any = "soft") -> Tensor:
    return _affine_bounding_boxes_with_expand(bounding_boxes, format, canvas_size, angle, translate, scale, shear,
                                              center, False, clamping_mode)[0]


_register_boxes(affine, lambda b, f, c, angle, translate, scale, shear, interpolation=None, fill=None, center=None,
                clamping_mode="soft": affine_bounding_boxes(b, f, c, angle, translate, scale, shear, center,
                                                            clamping_mode))


def _affine_keypoints(k: Tensor, c: tuple, angle: float, translate: Any, scale: float, shear: Any,
                      center: Any = None, expand: bool = False) -> tuple[Tensor, tuple[int, int]]:
    if k.numel() == 0:
        return k, c
    angle, translate, scale, shear, center = _affine_parse_args(angle, translate, scale, shear, center)
    h, w = c
    center = [w * 0.5, h * 0.5] if center is None else center
    fwd = _affine_matrix(center, angle, translate, scale, shear, inverted=False)
    canvas = tuple(c)
    shift = None
    if expand:
        corners = np.array([[0.0, 0.0, 1.0], [0.0, h, 1.0], [w, h, 1.0], [w, 0.0, 1.0]], dtype=np.float32)
        shift = (corners @ np.array(fwd, dtype=np.float32).reshape(2, 3).T).min(0)
        ow, oh = _Ft._compute_affine_output_size(_affine_matrix(center, angle, translate, scale, shear), w, h)
        canvas = (oh, ow)

    def fn(p: np.ndarray) -> np.ndarray:
        m = np.array(fwd, dtype=p.dtype).reshape(2, 3).T
        out = np.concatenate([p, np.ones((p.shape[0], 1), p.dtype)], -1) @ m
        return out - shift.astype(out.dtype) if shift is not None else out

    return _points_op(k, fn), canvas


_register_keypoints(affine, lambda k, c, angle, translate, scale, shear, interpolation=None, fill=None, center=None:
                    _affine_keypoints(k, c, angle, translate, scale, shear, center)[0])


def rotate(inpt: Any, angle: float, interpolation: Any = InterpolationMode.NEAREST, expand: bool = False,
           center: Any = None, fill: Any = None) -> Any:
    """Rotate counter-clockwise by ``angle`` degrees (``expand``: grow the canvas to hold the whole input)."""
    return _dispatch(rotate, inpt, angle=angle, interpolation=interpolation, expand=expand, center=center, fill=fill)


@_register(rotate, *_IMAGE_TYPES, tv_tensors.Video)
def rotate_image(image: Any, angle: float, interpolation: Any = InterpolationMode.NEAREST, expand: bool = False,
                 center: Any = None, fill: Any = None) -> Any:
    return _as_4d(_F1.rotate)(image, angle, _check_interpolation(interpolation), expand, center, _fill_arg(fill))


@_register(rotate, tv_tensors.Mask)
def rotate_mask(mask: Tensor, angle: float, expand: bool = False, center: Any = None, fill: Any = 0,
                **_: Any) -> Tensor:
    return _mask_kernel(rotate_image)(mask, angle, InterpolationMode.NEAREST, expand, center,
                                      0 if fill is None else fill)


def rotate_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int], angle: float,
                          expand: bool = False, center: Any = None,
                          clamping_mode: Any = "soft") -> tuple[Tensor, tuple[int, int]]:
    return _affine_bounding_boxes_with_expand(bounding_boxes, format, canvas_size, -angle, [0.0, 0.0], 1.0,
                                              [0.0, 0.0], center, expand, clamping_mode)


_register_keypoints(rotate, lambda k, c, angle, interpolation=None, expand=False, center=None, fill=None:
                    _affine_keypoints(k, c, -angle, [0.0, 0.0], 1.0, [0.0, 0.0], center, expand))
_register_boxes(rotate, lambda b, f, c, angle, interpolation=None, expand=False, center=None, fill=None,
                clamping_mode="soft": rotate_bounding_boxes(b, f, c, angle, expand, center, clamping_mode))


def _perspective_coefficients(startpoints: Any, endpoints: Any, coefficients: Any) -> list[float]:
    if coefficients is not None:
        if startpoints is not None and endpoints is not None:
            raise ValueError("The startpoints/endpoints and the coefficients shouldn't be defined concurrently.")
        if len(coefficients) != 8:
            raise ValueError("Argument coefficients should have 8 float values")
        return coefficients
    if startpoints is not None and endpoints is not None:
        return _F1._get_perspective_coeffs(startpoints, endpoints)
    raise ValueError("Either the startpoints/endpoints or the coefficients must have non `None` values.")


def perspective(inpt: Any, startpoints: Any, endpoints: Any, interpolation: Any = InterpolationMode.BILINEAR,
                fill: Any = None, coefficients: list[float] | None = None) -> Any:
    """Warp so the corners ``startpoints`` land on ``endpoints`` (or by the 8 ``coefficients``)."""
    return _dispatch(perspective, inpt, startpoints=startpoints, endpoints=endpoints, interpolation=interpolation,
                     fill=fill, coefficients=coefficients)


@_register(perspective, *_IMAGE_TYPES, tv_tensors.Video)
def perspective_image(image: Any, startpoints: Any, endpoints: Any, interpolation: Any = InterpolationMode.BILINEAR,
                      fill: Any = None, coefficients: list[float] | None = None) -> Any:
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    mode = _check_interpolation(interpolation)
    if isinstance(image, _PIL.Image):
        return _Fp.perspective(image, coeffs, _F1._PIL_INTERP[mode], _fill_arg(fill))
    return _as_4d(_Ft.perspective)(image, coeffs, mode.value, _fill_arg(fill))


@_register(perspective, tv_tensors.Mask)
def perspective_mask(mask: Tensor, startpoints: Any, endpoints: Any, fill: Any = 0,
                     coefficients: list[float] | None = None, **_: Any) -> Tensor:
    return _mask_kernel(perspective_image)(mask, startpoints, endpoints, InterpolationMode.NEAREST,
                                           0 if fill is None else fill, coefficients)


def _inverse_perspective(c: list[float], denom: float) -> list[float]:
    """The inverse map (input -> output) of perspective coefficients (output -> input)."""
    return [(c[4] - c[5] * c[7]) / denom, (-c[1] + c[2] * c[7]) / denom, (c[1] * c[5] - c[2] * c[4]) / denom,
            (-c[3] + c[5] * c[6]) / denom, (c[0] - c[2] * c[6]) / denom, (-c[0] * c[5] + c[2] * c[3]) / denom,
            (-c[4] * c[6] + c[3] * c[7]) / denom, (-c[0] * c[7] + c[1] * c[6]) / denom]


def perspective_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int], startpoints: Any,
                               endpoints: Any, coefficients: list[float] | None = None,
                               clamping_mode: Any = "soft") -> Tensor:
    if bounding_boxes.numel() == 0:
        return bounding_boxes
    c = _perspective_coefficients(startpoints, endpoints, coefficients)
    denom = c[0] * c[4] - c[1] * c[3]
    if denom == 0:
        raise RuntimeError(f"Provided perspective_coeffs {c} can not be inverted to transform bounding boxes. "
                           f"Denominator is zero, denom={denom}")
    inv = _inverse_perspective(c, denom)

    def fn(xyxy: np.ndarray) -> np.ndarray:
        t1 = np.array([inv[0:3], inv[3:6]], dtype=xyxy.dtype)
        t2 = np.array([[inv[6], inv[7], 1.0]] * 2, dtype=xyxy.dtype)
        pts = _box_points(xyxy).reshape(-1, 2)
        pts = np.concatenate([pts, np.ones((pts.shape[0], 1), dtype=xyxy.dtype)], -1)
        out = ((pts @ t1.T) / (pts @ t2.T)).reshape(-1, 4, 2)
        return np.concatenate([out.min(1), out.max(1)], 1)

    return _boxes_op(bounding_boxes, format, fn, canvas_size, clamping_mode, convert_first=True)


_register_boxes(perspective, lambda b, f, c, startpoints, endpoints, interpolation=None, fill=None, coefficients=None,
                clamping_mode="soft": perspective_bounding_boxes(b, f, c, startpoints, endpoints, coefficients,
                                                                 clamping_mode))


def _perspective_keypoints(keypoints: Tensor, startpoints: Any, endpoints: Any,
                           coefficients: list[float] | None = None) -> Tensor:
    if keypoints.numel() == 0:
        return keypoints
    c = _perspective_coefficients(startpoints, endpoints, coefficients)
    denom = c[0] * c[4] - c[1] * c[3]
    if denom == 0:
        raise RuntimeError(f"Provided perspective_coeffs {c} can not be inverted to transform keypoints. "
                           f"Denominator is zero, denom={denom}")
    inv = _inverse_perspective(c, denom)

    def fn(p: np.ndarray) -> np.ndarray:
        t1 = np.array([inv[0:3], inv[3:6]], dtype=p.dtype)
        t2 = np.array([[inv[6], inv[7], 1.0]] * 2, dtype=p.dtype)
        pts = np.concatenate([p, np.ones((p.shape[0], 1), dtype=p.dtype)], -1)
        return (pts @ t1.T) / (pts @ t2.T)

    return _points_op(keypoints, fn)


_register_keypoints(perspective, lambda k, c, startpoints, endpoints, interpolation=None, fill=None,
                    coefficients=None: _perspective_keypoints(k, startpoints, endpoints, coefficients))


def elastic(inpt: Any, displacement: Tensor, interpolation: Any = InterpolationMode.BILINEAR, fill: Any = None) -> Any:
    """Sample at the identity grid plus ``displacement`` ([1, H, W, 2] in grid units)."""
    return _dispatch(elastic, inpt, displacement=displacement, interpolation=interpolation, fill=fill)


elastic_transform = elastic


@_register(elastic, *_IMAGE_TYPES, tv_tensors.Video)
def elastic_image(image: Any, displacement: Tensor, interpolation: Any = InterpolationMode.BILINEAR,
                  fill: Any = None) -> Any:
    return _as_4d(_F1.elastic_transform)(image, displacement, _check_interpolation(interpolation), _fill_arg(fill))


@_register(elastic, tv_tensors.Mask)
def elastic_mask(mask: Tensor, displacement: Tensor, fill: Any = 0, **_: Any) -> Tensor:
    return _mask_kernel(elastic_image)(mask, displacement, InterpolationMode.NEAREST, 0 if fill is None else fill)


def elastic_bounding_boxes(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int], displacement: Tensor,
                           clamping_mode: Any = "soft") -> Tensor:
    """Move each corner (rounded up to a pixel) through the approximate inverse map ``identity -
    displacement`` read at that pixel, as torchvision, then take the hull."""
    expected = (1, canvas_size[0], canvas_size[1], 2)
    if not isinstance(displacement, Tensor):
        raise TypeError("Argument displacement should be a Tensor")
    if tuple(displacement.shape) != expected:
        raise ValueError(f"Argument displacement shape should be {expected}, but given {displacement.shape}")
    if bounding_boxes.numel() == 0:
        return bounding_boxes
    h, w = canvas_size

    def fn(xyxy: np.ndarray) -> np.ndarray:
        dt = xyxy.dtype
        grid = np.empty((h, w, 2), dtype=dt)
        grid[..., 0] = np.linspace((-w + 1) / w, (w - 1) / w, w, dtype=np.float64).astype(dt)
        grid[..., 1] = np.linspace((-h + 1) / h, (h - 1) / h, h, dtype=np.float64).astype(dt)[:, None]
        inv = grid - _np(displacement).astype(dt)[0]
        pts = np.ceil(_box_points(xyxy).reshape(-1, 2)).astype(np.int64)
        ix, iy = np.clip(pts[:, 0], 0, w - 1), np.clip(pts[:, 1], 0, h - 1)
        moved = ((inv[iy, ix] + 1) * (np.array([w, h], dtype=dt) * dt.type(0.5)) - dt.type(0.5)).reshape(-1, 4, 2)
        return np.concatenate([moved.min(1), moved.max(1)], 1)

    return _boxes_op(bounding_boxes, format, fn, canvas_size, clamping_mode, convert_first=True,
                     cast_back_first=True)


_register_boxes(elastic, lambda b, f, c, displacement, interpolation=None, fill=None, clamping_mode="soft":
                elastic_bounding_boxes(b, f, c, displacement, clamping_mode))


def _elastic_keypoints(keypoints: Tensor, canvas_size: tuple[int, int], displacement: Tensor) -> Tensor:
    if keypoints.numel() == 0:
        return keypoints
    h, w = canvas_size

    def fn(p: np.ndarray) -> np.ndarray:
        dt = p.dtype
        grid = np.empty((h, w, 2), dtype=dt)
        grid[..., 0] = np.linspace((-w + 1) / w, (w - 1) / w, w, dtype=np.float64).astype(dt)
        grid[..., 1] = np.linspace((-h + 1) / h, (h - 1) / h, h, dtype=np.float64).astype(dt)[:, None]
        inv = grid - _np(displacement).astype(dt)[0]
        idx = p.astype(np.int64)  # truncation, as torchvision's ``.to(long)``
        ix, iy = np.clip(idx[:, 0], 0, w - 1), np.clip(idx[:, 1], 0, h - 1)
        return (inv[iy, ix] + 1) * (np.array([w, h], dtype=dt) * dt.type(0.5)) - dt.type(0.5)

    return _points_op(keypoints, fn)


_register_keypoints(elastic, lambda k, c, displacement, interpolation=None, fill=None:
                    _elastic_keypoints(k, c, displacement))


def five_crop(inpt: Any, size: Any) -> tuple:
    """The four corner crops and the centre crop (images and videos only)."""
    return _F1.five_crop(inpt, size)


def ten_crop(inpt: Any, size: Any, vertical_flip: bool = False) -> tuple:
    """five_crop of the input and of its flip."""
    return _F1.ten_crop(inpt, size, vertical_flip)
