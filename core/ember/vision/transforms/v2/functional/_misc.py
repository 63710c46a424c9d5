"""Normalize, blur, noise, dtype conversion, erasing, JPEG, type conversions and box sanitizing."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image as _PIL

import ember
from ember import Tensor
from ember.vision import tv_tensors
from ember.vision.transforms import _functional_tensor as _Ft
from ember.vision.transforms import functional as _F1

from ._geometry import _as_4d
from ._meta import _convert_np, _np
from ._utils import _dispatch, _register, is_pure_tensor

_TENSOR_TYPES = (Tensor, tv_tensors.Image, tv_tensors.Video)


def normalize(inpt: Any, mean: list[float], std: list[float], inplace: bool = False) -> Any:
    """(x - mean) / std per channel, for float tensor images and videos."""
    return _dispatch(normalize, inpt, mean=mean, std=std, inplace=inplace)


@_register(normalize, *_TENSOR_TYPES)
def normalize_image(image: Tensor, mean: list[float], std: list[float], inplace: bool = False) -> Tensor:
    if not image.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {image.dtype}.")
    if image.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got {tuple(image.shape)}.")
    return _F1.normalize(image, mean, std, inplace)


def gaussian_blur(inpt: Any, kernel_size: Any, sigma: Any = None) -> Any:
    """Blur with a (kx, ky) Gaussian kernel (sigma default: 0.3 * ((k - 1) * 0.5 - 1) + 0.8)."""
    return _dispatch(gaussian_blur, inpt, kernel_size=kernel_size, sigma=sigma)


@_register(gaussian_blur, *_TENSOR_TYPES, _PIL.Image)
def gaussian_blur_image(image: Any, kernel_size: Any, sigma: Any = None) -> Any:
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    return _as_4d(_F1.gaussian_blur)(image, kernel_size, sigma)


def gaussian_noise(inpt: Any, mean: float = 0.0, sigma: float = 0.1, clip: bool = True) -> Any:
    """x + N(mean, sigma), clamped to [0, 1] when ``clip`` (float images only)."""
    return _dispatch(gaussian_noise, inpt, mean=mean, sigma=sigma, clip=clip)


@_register(gaussian_noise, *_TENSOR_TYPES)
def gaussian_noise_image(image: Tensor, mean: float = 0.0, sigma: float = 0.1, clip: bool = True) -> Tensor:
    if not image.is_floating_point():
        raise ValueError(f"Input tensor is expected to be in float dtype, got dtype={image.dtype}")
    if sigma < 0:
        raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
    noise = mean + ember.randn_like(image) * sigma
    out = image + noise
    return out.clamp(0, 1) if clip else out


def to_dtype(inpt: Any, dtype: Any = ember.float32, scale: bool = False) -> Any:
    """``inpt`` as ``dtype``; with ``scale``, image values are rescaled between the dtypes' ranges."""
    return _dispatch(to_dtype, inpt, dtype=dtype, scale=scale)


@_register(to_dtype, *_TENSOR_TYPES)
def to_dtype_image(image: Tensor, dtype: Any = ember.float32, scale: bool = False) -> Tensor:
    if image.dtype == dtype:
        return image
    if not scale:
        return image.to(dtype)
    float_in, float_out = image.is_floating_point(), dtype.is_floating_point
    if float_in:
        if float_out:
            return image.to(dtype)
        if (image.dtype == ember.float32 and dtype in (ember.int32, ember.int64)) or (
                image.dtype == ember.float64 and dtype == ember.int64):
            raise RuntimeError(f"The conversion from {image.dtype} to {dtype} cannot be performed safely.")
        # eps keeps 1.0 from landing one past the top value
        return image.mul(float(_Ft._max_value(dtype)) + 1.0 - 1e-3).to(dtype)
    if float_out:
        return image.to(dtype).mul_(1.0 / _Ft._max_value(image.dtype))
    bits_in, bits_out = _value_bits(image.dtype), _value_bits(dtype)
    if bits_in > bits_out:
        return image.bitwise_right_shift(bits_in - bits_out).to(dtype)
    return image.to(dtype).bitwise_left_shift(bits_out - bits_in)


def _value_bits(dtype: Any) -> int:
    return {ember.uint8: 8, ember.int8: 7, ember.int16: 15, ember.int32: 31, ember.int64: 63}.get(dtype, 8)


@_register(to_dtype, tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints, tv_tensor_wrapper=False)
def _to_dtype_tensor(inpt: Any, dtype: Any, scale: bool = False) -> Any:
    return inpt.to(dtype)


def convert_image_dtype(image: Tensor, dtype: Any = ember.float32) -> Tensor:
    """Deprecated: ``to_dtype(image, dtype, scale=True)``."""
    return to_dtype(image, dtype, scale=True)


def erase(inpt: Any, i: int, j: int, h: int, w: int, v: Tensor, inplace: bool = False) -> Any:
    """Set the ``h`` x ``w`` region at (``i``, ``j``) to ``v``."""
    return _dispatch(erase, inpt, i=i, j=j, h=h, w=w, v=v, inplace=inplace)


@_register(erase, *_TENSOR_TYPES)
def erase_image(image: Tensor, i: int, j: int, h: int, w: int, v: Tensor, inplace: bool = False) -> Tensor:
    if not inplace:
        image = image.clone()
    image[..., i:i + h, j:j + w] = v
    return image


@_register(erase, _PIL.Image)
def _erase_pil(image: _PIL.Image, i: int, j: int, h: int, w: int, v: Tensor, inplace: bool = False) -> _PIL.Image:
    t = _F1.pil_to_tensor(image)
    return _F1.to_pil_image(erase_image(t, i, j, h, w, v, inplace=inplace), mode=image.mode)


def jpeg(inpt: Any, quality: int) -> Any:
    """Encode to JPEG at ``quality`` (1..100) and decode (Pillow's codec; uint8 images)."""
    return _dispatch(jpeg, inpt, quality=quality)


@_register(jpeg, *_TENSOR_TYPES)
def jpeg_image(image: Tensor, quality: int) -> Tensor:
    if image.dtype != ember.uint8:
        raise TypeError(f"Input image should be of dtype uint8, but got {image.dtype}")
    if quality < 1 or quality > 100:
        raise ValueError(f"quality should be in [1, 100], but got {quality}")
    a = _np(image)
    shape = a.shape
    flat = a.reshape(-1, *shape[-3:])
    outs = [np.asarray(_jpeg_pil(_PIL.fromarray(x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)), quality))
            for x in flat]
    outs = [o[None] if o.ndim == 2 else o.transpose(2, 0, 1) for o in outs]
    return _F1._from_np(np.stack(outs).reshape(shape), image)


@_register(jpeg, _PIL.Image)
def _jpeg_pil(image: _PIL.Image, quality: int) -> _PIL.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = _PIL.open(buf)
    out.load()
    return out


# ---- type conversion ------------------------------------------------------------------------------
def to_image(inpt: Any) -> tv_tensors.Image:
    """A tv_tensors.Image from a PIL image, a NumPy ``HWC`` array or a tensor."""
    if isinstance(inpt, np.ndarray):
        arr = np.atleast_3d(inpt).transpose(2, 0, 1)
        output = ember.from_numpy(np.ascontiguousarray(arr))
    elif isinstance(inpt, _PIL.Image):
        output = _F1.pil_to_tensor(inpt)
    elif isinstance(inpt, Tensor):
        output = inpt
    else:
        raise TypeError(f"Input can either be a pure Tensor, a numpy array, or a PIL image, but got {type(inpt)} "
                        f"instead.")
    return tv_tensors.Image(output)


def pil_to_tensor(pic: _PIL.Image) -> Tensor:
    """A PIL image as a ``uint8`` ``C x H x W`` tensor (no scaling)."""
    return _F1.pil_to_tensor(pic)


def to_pil_image(pic: Any, mode: str | None = None) -> _PIL.Image:
    """A tensor or ndarray image as a PIL image."""
    if isinstance(pic, tv_tensors.TVTensor):
        pic = pic.as_subclass(Tensor)
    return _F1.to_pil_image(pic, mode)


def to_tensor(pic: Any) -> Tensor:
    """Deprecated: ``to_image`` then ``to_dtype(float32, scale=True)``."""
    return _F1.to_tensor(pic)


# ---- boxes ----------------------------------------------------------------------------------------
def _get_sanitize_bounding_boxes_mask(bounding_boxes: Tensor, format: Any, canvas_size: tuple[int, int],
                                      min_size: float = 1.0, min_area: float = 1.0) -> Tensor:
    a = _np(bounding_boxes)
    xyxy = _convert_np(a, format, tv_tensors.BoundingBoxFormat.XYXY)
    ws, hs = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    valid = (ws >= min_size) & (hs >= min_size) & (xyxy >= 0).all(-1) & (ws * hs >= min_area)
    valid &= (xyxy[:, 0] <= canvas_size[1]) & (xyxy[:, 2] <= canvas_size[1])
    valid &= (xyxy[:, 1] <= canvas_size[0]) & (xyxy[:, 3] <= canvas_size[0])
    out = ember.from_numpy(np.ascontiguousarray(valid))
    return out if str(out.device) == str(bounding_boxes.device) else out.to(bounding_boxes.device)


def sanitize_bounding_boxes(bounding_boxes: Tensor, format: Any = None, canvas_size: tuple[int, int] | None = None,
                            min_size: float = 1.0, min_area: float = 1.0) -> tuple[Tensor, Tensor]:
    """The boxes that are large enough and inside the canvas, and the boolean mask that picked them."""
    if is_pure_tensor(bounding_boxes):
        if format is None or canvas_size is None:
            raise ValueError("format and canvas_size cannot be None if bounding_boxes is a pure tensor. "
                             f"Got format={format} and canvas_size={canvas_size}.Set those to appropriate values or "
                             f"pass bounding_boxes as a tv_tensors.BoundingBoxes object.")
        if isinstance(format, str):
            format = tv_tensors.BoundingBoxFormat[format.upper()]
        valid = _get_sanitize_bounding_boxes_mask(bounding_boxes, format, canvas_size, min_size, min_area)
        return bounding_boxes[valid], valid
    if not isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        raise ValueError("bounding_boxes must be a tv_tensors.BoundingBoxes instance or a pure tensor.")
    if format is not None or canvas_size is not None:
        raise ValueError("format and canvas_size must be None when bounding_boxes is a tv_tensors.BoundingBoxes "
                         f"instance. Got format={format} and canvas_size={canvas_size}. Leave those to None or pass "
                         f"bounding_boxes as a pure tensor.")
    valid = _get_sanitize_bounding_boxes_mask(bounding_boxes, bounding_boxes.format, bounding_boxes.canvas_size,
                                              min_size, min_area)
    return tv_tensors.wrap(bounding_boxes.as_subclass(Tensor)[valid], like=bounding_boxes), valid
