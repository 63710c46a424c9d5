"""Sizes of images/videos/masks/boxes, and the bounding-box format conversions and clamping.

Box arithmetic runs on the host in NumPy in the boxes' dtype (boxes are a few numbers per image, and
the integer formats need torchvision's exact floor/truncation rules); results go back to the boxes'
device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image as _PIL

import ember
from ember import Tensor
from ember.vision import tv_tensors
from ember.vision.transforms import functional as _F1
from ember.vision.tv_tensors import BoundingBoxFormat

from ._utils import _dispatch, _register, is_pure_tensor


def _np(t: Tensor) -> np.ndarray:
    return np.array(t.detach().cpu().numpy())


def _back(a: np.ndarray, like: Tensor, dtype: Any = None) -> Tensor:
    out = ember.from_numpy(np.ascontiguousarray(a))
    if dtype is not None and out.dtype != dtype:
        out = out.to(dtype)
    return out if str(out.device) == str(like.device) else out.to(like.device)


# ---- sizes ----------------------------------------------------------------------------------------
def get_dimensions(inpt: Any) -> list[int]:
    """[C, H, W] of an image or video (plain tensor, Image, Video or PIL image)."""
    return _dispatch(get_dimensions, inpt)


@_register(get_dimensions, Tensor, tv_tensors.Image, tv_tensors.Video, tv_tensor_wrapper=False)
def get_dimensions_image(image: Any) -> list[int]:
    chw = list(image.shape[-3:])
    if len(chw) == 3:
        return chw
    if len(chw) == 2:
        return [1, *chw]
    raise TypeError(f"Input tensor should have at least two dimensions, but got {len(chw)}")


@_register(get_dimensions, _PIL.Image)
def _get_dimensions_pil(image: _PIL.Image) -> list[int]:
    return _F1.get_dimensions(image)


def get_num_channels(inpt: Any) -> int:
    """C of an image or video."""
    return get_dimensions(inpt)[0]


def get_size(inpt: Any) -> list[int]:
    """[H, W] of an image, video, mask, boxes' or key points' canvas."""
    return _dispatch(get_size, inpt)


@_register(get_size, Tensor, tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask, tv_tensor_wrapper=False)
def get_size_image(image: Any) -> list[int]:
    hw = list(image.shape[-2:])
    if len(hw) != 2:
        raise TypeError(f"Input tensor should have at least two dimensions, but got {len(hw)}")
    return hw


@_register(get_size, _PIL.Image)
def _get_size_pil(image: _PIL.Image) -> list[int]:
    w, h = image.size
    return [h, w]


@_register(get_size, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints, tv_tensor_wrapper=False)
def _get_size_canvas(inpt: Any) -> list[int]:
    return list(inpt.canvas_size)


def get_num_frames(inpt: Any) -> int:
    """T of a video ``[..., T, C, H, W]``."""
    if isinstance(inpt, (tv_tensors.Video,)) or is_pure_tensor(inpt):
        return inpt.shape[-4]
    raise TypeError(f"Input can either be a plain tensor or a Video, but got {type(inpt)} instead.")


# ---- box formats ----------------------------------------------------------------------------------
def _fmt(format: Any) -> BoundingBoxFormat:
    return BoundingBoxFormat[format.upper()] if isinstance(format, str) else format


def _convert_np(b: np.ndarray, old: BoundingBoxFormat, new: BoundingBoxFormat) -> np.ndarray:
    """torchvision's conversions for the unrotated formats, in the array's dtype (ints: floor/truncate)."""
    if old == new:
        return b
    if tv_tensors.is_rotated_bounding_format(old) or tv_tensors.is_rotated_bounding_format(new):
        if tv_tensors.is_rotated_bounding_format(old) ^ tv_tensors.is_rotated_bounding_format(new):
            raise ValueError("Cannot convert between rotated and unrotated bounding boxes.")
        raise NotImplementedError("ember.vision: rotated bounding box formats are not supported by the v2 kernels")
    b = b.copy()
    is_float = np.issubdtype(b.dtype, np.floating)
    if old == BoundingBoxFormat.CXCYWH:
        f = b.astype(np.float32) if not is_float else b
        xy = f[..., :2] - f[..., 2:] / 2
        if new == BoundingBoxFormat.XYWH and not is_float:
            x2y2 = (xy + f[..., 2:]).astype(b.dtype)
            xy = xy.astype(b.dtype)
            return np.concatenate([xy, x2y2 - xy], -1)
        out = np.concatenate([xy, xy + f[..., 2:]], -1).astype(b.dtype)
        b, old = out, BoundingBoxFormat.XYXY
        if new == BoundingBoxFormat.XYXY:
            return b
    if old == BoundingBoxFormat.XYWH and new == BoundingBoxFormat.CXCYWH:
        half = b[..., 2:] / 2 if is_float else b[..., 2:] // 2
        return np.concatenate([b[..., :2] + half, b[..., 2:]], -1).astype(b.dtype)
    if old == BoundingBoxFormat.XYWH:
        b = np.concatenate([b[..., :2], b[..., :2] + b[..., 2:]], -1)
    if new == BoundingBoxFormat.XYWH:
        b = np.concatenate([b[..., :2], b[..., 2:] - b[..., :2]], -1)
    elif new == BoundingBoxFormat.CXCYWH:
        wh = b[..., 2:] - b[..., :2]
        s = b[..., :2] * 2 + wh
        b = np.concatenate([s / 2 if is_float else s // 2, wh], -1).astype(b.dtype)
    return b


def convert_bounding_box_format(inpt: Any, old_format: Any = None, new_format: Any = None,
                                inplace: bool = False) -> Any:
    """Boxes in ``new_format`` (``old_format`` only for a plain tensor; BoundingBoxes know theirs).

    Example:
        >>> from ember.vision import tv_tensors
        >>> from ember.vision.transforms.v2 import functional as F
        >>> b = tv_tensors.BoundingBoxes([[1, 2, 3, 4]], format="XYWH", canvas_size=(9, 9))
        >>> F.convert_bounding_box_format(b, new_format="XYXY").tolist()
        [[1, 2, 4, 6]]
    """
    if new_format is None:
        raise TypeError("convert_bounding_box_format() missing 1 required argument: 'new_format'")
    old_format = _fmt(old_format) if old_format is not None else None
    new_format = _fmt(new_format)
    if is_pure_tensor(inpt):
        if old_format is None:
            raise ValueError("For pure tensor inputs, `old_format` has to be passed.")
        return _back(_convert_np(_np(inpt), old_format, new_format), inpt, inpt.dtype)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if old_format is not None:
            raise ValueError("For bounding box tv_tensor inputs, `old_format` must not be passed.")
        out = _back(_convert_np(_np(inpt), inpt.format, new_format), inpt, inpt.dtype)
        return tv_tensors.wrap(out, like=inpt, format=new_format)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got {type(inpt)} instead.")


def _clamp_np(b: np.ndarray, format: BoundingBoxFormat, canvas_size: tuple[int, int],
              clamping_mode: str | None) -> np.ndarray:
    if clamping_mode is None:
        return b.copy()
    dtype = b.dtype
    f = b if np.issubdtype(dtype, np.floating) else b.astype(np.float32)
    xyxy = _convert_np(f, format, BoundingBoxFormat.XYXY).copy()
    # hard and soft clamping agree for unrotated boxes
    xyxy[..., 0::2] = np.clip(xyxy[..., 0::2], 0, canvas_size[1])
    xyxy[..., 1::2] = np.clip(xyxy[..., 1::2], 0, canvas_size[0])
    return _convert_np(xyxy, BoundingBoxFormat.XYXY, format).astype(dtype)


def clamp_bounding_boxes(inpt: Any, format: Any = None, canvas_size: tuple[int, int] | None = None,
                         clamping_mode: str | None = "auto") -> Any:
    """Clamp boxes to their canvas (``clamping_mode="auto"``: the boxes' own mode)."""
    if clamping_mode is not None and clamping_mode not in ("soft", "hard", "auto"):
        raise ValueError(f"clamping_mode must be soft, hard, auto or None, got {clamping_mode}")
    if is_pure_tensor(inpt):
        if format is None or canvas_size is None or clamping_mode == "auto":
            raise ValueError("For pure tensor inputs, `format`, `canvas_size` and `clamping_mode` have to be passed.")
        return _back(_clamp_np(_np(inpt), _fmt(format), canvas_size, clamping_mode), inpt, inpt.dtype)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("For bounding box tv_tensor inputs, `format` and `canvas_size` must not be passed.")
        mode = inpt.clamping_mode if clamping_mode == "auto" else clamping_mode
        out = _back(_clamp_np(_np(inpt), inpt.format, inpt.canvas_size, mode), inpt, inpt.dtype)
        return tv_tensors.wrap(out, like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got {type(inpt)} instead.")


def clamp_keypoints(inpt: Any, canvas_size: tuple[int, int] | None = None) -> Any:
    """Clamp points into ``[0, W-1] x [0, H-1]``."""
    size = inpt.canvas_size if isinstance(inpt, tv_tensors.KeyPoints) else canvas_size
    if size is None:
        raise ValueError("For pure tensor inputs, `canvas_size` has to be passed.")
    a = _np(inpt)
    f = a.astype(np.float32) if not np.issubdtype(a.dtype, np.floating) else a.copy()
    f[..., 0] = np.clip(f[..., 0], 0, size[1] - 1)
    f[..., 1] = np.clip(f[..., 1], 0, size[0] - 1)
    out = _back(f.astype(a.dtype), inpt, inpt.dtype)
    return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.KeyPoints) else out
