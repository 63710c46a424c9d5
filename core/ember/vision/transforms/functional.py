"""Image operations on PIL images and on ember tensors shaped (..., C, H, W).

PIL images go through PIL itself. The colour and geometry operations on tensors (flips, crops,
rotate, affine, perspective, the colour adjustments, blur, ...) run in ember ops on the tensor's
device and follow torchvision's tensor arithmetic step by step (``_functional_tensor``); resize
and pad still compute on the host with NumPy and come back with the input's dtype and device.

Example:
    >>> from PIL import Image
    >>> import ember
    >>> from ember.vision.transforms import functional as F
    >>> t = F.to_tensor(Image.new("RGB", (4, 2), (255, 0, 0)))
    >>> tuple(t.shape), t[0, 0, 0].item(), t[1, 0, 0].item()
    ((3, 2, 4), 1.0, 0.0)
    >>> F.hflip(ember.tensor([[[1, 2, 3]]])).tolist()
    [[[3, 2, 1]]]
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np
from PIL import Image, ImageOps

import ember

from . import _functional_pil as F_pil
from . import _functional_tensor as F_t

__all__ = [
    "InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
    "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "crop", "center_crop",
    "resized_crop", "hflip", "vflip", "pad", "rotate", "to_grayscale", "rgb_to_grayscale",
    "convert_image_dtype", "pil_modes_mapping", "adjust_brightness", "adjust_contrast", "adjust_saturation",
    "adjust_hue", "adjust_gamma", "adjust_sharpness", "affine", "autocontrast", "equalize", "erase",
    "five_crop", "ten_crop", "gaussian_blur", "invert", "perspective", "posterize", "solarize",
    "elastic_transform",
]


class InterpolationMode(Enum):
    """Interpolation methods, as in torchvision."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_INTERP = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}
#: torchvision's name for the same table: the PIL integer constant of each mode
pil_modes_mapping = {
    InterpolationMode.NEAREST: 0,
    InterpolationMode.BILINEAR: 2,
    InterpolationMode.BICUBIC: 3,
    InterpolationMode.NEAREST_EXACT: 0,
    InterpolationMode.BOX: 4,
    InterpolationMode.HAMMING: 5,
    InterpolationMode.LANCZOS: 1,
}
_FROM_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR, 3: InterpolationMode.BICUBIC,
             4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interp(mode: Any) -> InterpolationMode:
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, int):  # PIL's integer constants, for backward compatibility
        return _FROM_INT[mode]
    if isinstance(mode, str):
        return InterpolationMode(mode)
    raise TypeError("Argument interpolation should be of type InterpolationMode or int")


# ---- type helpers ----------------------------------------------------------------------------
def _is_pil(img: Any) -> bool:
    return isinstance(img, Image.Image)


def _is_tensor(img: Any) -> bool:
    return isinstance(img, ember.Tensor)


def _check_img(img: Any) -> None:
    if not (_is_pil(img) or _is_tensor(img)):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def _to_np(t: Any) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def _from_np(a: np.ndarray, like: Any) -> Any:
    out = ember.from_numpy(np.ascontiguousarray(a))
    return out if str(out.device) == str(like.device) else out.to(like.device)


def _check_tensor_image(t: Any) -> None:
    if t.ndim < 2:
        raise TypeError(f"Tensor is not a torch image: expected at least 2 dimensions, got {t.ndim}")


def get_dimensions(img: Any) -> list[int]:
    """``[channels, height, width]``."""
    _check_img(img)
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    _check_tensor_image(img)
    shape = tuple(img.shape)
    return [1 if len(shape) == 2 else shape[-3], shape[-2], shape[-1]]


def get_image_size(img: Any) -> list[int]:
    """``[width, height]`` (note the order, as in torchvision)."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img: Any) -> int:
    return get_dimensions(img)[0]


def _cast_like(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Back to ``dtype``: integers are rounded and clipped to their range."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.round(a), info.min, info.max).astype(dtype)
    if dtype == np.bool_:
        return a > 0.5
    return a.astype(dtype)


# ---- conversions -------------------------------------------------------------------------------
def to_tensor(pic: Any) -> Any:
    """PIL image or HWC ndarray -> CHW tensor; uint8 data is scaled to float32 in [0, 1]."""
    if _is_pil(pic):
        nptype = {"I": np.int32, "I;16": np.int16, "F": np.float32}.get(pic.mode, np.uint8)
        arr = np.array(pic, nptype, copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        arr = arr.reshape(pic.height, pic.width, len(pic.getbands()))
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    arr = np.ascontiguousarray(arr.transpose(2, 0, 1))
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / np.float32(255)
    return ember.from_numpy(arr)


def pil_to_tensor(pic: Any) -> Any:
    """PIL image -> CHW tensor of the image's own dtype (no scaling)."""
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    arr = arr.reshape(pic.height, pic.width, len(pic.getbands()))
    return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def to_pil_image(pic: Any, mode: str | None = None) -> Image.Image:
    """CHW tensor or HWC ndarray -> PIL image; floats are scaled by 255 and truncated to uint8."""
    if _is_tensor(pic):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = _to_np(pic)
        arr = arr[None] if arr.ndim == 2 else arr
        if arr.shape[-3] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-3]} channels.")
        arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
        if arr.shape[-1] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-1]} channels.")
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if np.issubdtype(arr.dtype, np.floating) and mode != "F":
        arr = (arr * 255).astype(np.uint8)
    channels = arr.shape[2]
    if channels == 1:
        arr = arr[:, :, 0]
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16", np.dtype(np.int32): "I",
                    np.dtype(np.float32): "F"}.get(arr.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {arr.dtype}. Should be {expected}")
        mode = expected
    else:
        permitted = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}[channels]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {permitted} are supported for {channels}D inputs")
        if mode is None and arr.dtype == np.uint8:
            mode = permitted[0]
    if mode is None:
        raise TypeError(f"Input type {arr.dtype} is not supported")
    h, w = arr.shape[:2]
    if mode == "I;16":
        return Image.frombytes(mode, (w, h), np.ascontiguousarray(arr.astype("<u2")).tobytes())
    if mode in ("F", "I"):
        return Image.fromarray(np.ascontiguousarray(arr))
    return Image.frombytes(mode, (w, h), np.ascontiguousarray(arr).tobytes())


def convert_image_dtype(image: Any, dtype: Any = None) -> Any:
    """Convert a tensor image's dtype, rescaling values as torchvision does (uint8 255 <-> 1.0).

    Example:
        >>> import ember
        >>> convert_image_dtype(ember.tensor([[[0, 255]]], dtype=ember.uint8)).tolist()
        [[[0.0, 1.0]]]
    """
    if not _is_tensor(image):
        raise TypeError("Input img should be Tensor Image")
    return F_t.convert_image_dtype(image, ember.float32 if dtype is None else dtype)


# ---- normalisation -----------------------------------------------------------------------------
def _as_floats(v: Any) -> tuple[float, ...]:
    arr = _to_np(v) if _is_tensor(v) else np.asarray(v, dtype=np.float64)
    return tuple(float(x) for x in np.atleast_1d(arr).ravel())


@functools.lru_cache(maxsize=64)
def _mean_std(mean: tuple[float, ...], std: tuple[float, ...], dtype: Any, device: str) -> tuple[Any, Any]:
    """(C, 1, 1) mean and std tensors, cached: building them dominated per-sample cost."""
    np_dtype = np.dtype(str(dtype).replace("ember.", ""))
    std_np = np.asarray(std, dtype=np_dtype)
    if np.any(std_np == 0):
        raise ValueError(f"std evaluated to zero after conversion to {dtype}, leading to division by zero.")
    mean_t = ember.as_tensor(np.asarray(mean, dtype=np_dtype).reshape(-1, 1, 1), device=device)
    std_t = ember.as_tensor(std_np.reshape(-1, 1, 1), device=device)
    return mean_t, std_t


def normalize(tensor: Any, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Any:
    """``(tensor - mean) / std`` per channel of a float (..., C, H, W) tensor."""
    if not _is_tensor(tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). "
                         f"Got tensor.size() = {tuple(tensor.shape)}")
    mean_t, std_t = _mean_std(_as_floats(mean), _as_floats(std), tensor.dtype, str(tensor.device))
    if inplace:
        return tensor.sub_(mean_t).div_(std_t)
    return (tensor - mean_t) / std_t


# ---- geometry --------------------------------------------------------------------------------
def _output_size(image_size: tuple[int, int], size: Any, max_size: int | None) -> list[int]:
    """torchvision's size rule: an int (or 1-list) sets the smaller edge, keeping aspect ratio."""
    h, w = image_size
    if isinstance(size, int) or (isinstance(size, Sequence) and len(size) == 1):
        requested = size if isinstance(size, int) else size[0]
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size "
                                 f"for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        return [new_h, new_w]
    if max_size is not None:
        raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, "
                         "i.e. size should be an int or a sequence of length 1 in torchscript mode.")
    return [int(size[0]), int(size[1])]


def _cubic(x: np.ndarray, a: float) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def _resample_matrix(in_size: int, out_size: int, mode: InterpolationMode, antialias: bool) -> np.ndarray:
    """The (out, in) weight matrix of a 1-D resampling, PIL's separable algorithm.

    Output pixel i is centred at ``(i + 0.5) * scale`` in input coordinates; the filter is
    widened by the scale when downsampling with antialias; weights are normalised per row.
    """
    scale = in_size / out_size
    m = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        pos = rows * scale if mode is InterpolationMode.NEAREST else (rows + 0.5) * scale
        m[rows, np.minimum(np.floor(pos).astype(np.int64), in_size - 1)] = 1.0
        return m
    if mode is InterpolationMode.BILINEAR:
        support, kernel = 1.0, (lambda x: np.maximum(0.0, 1.0 - np.abs(x)))
    elif mode is InterpolationMode.BICUBIC:
        a = -0.5 if antialias else -0.75  # PIL's cubic vs. torch.nn.functional.interpolate's
        support, kernel = 2.0, (lambda x: _cubic(x, a))
    else:
        raise ValueError(f"Interpolation {mode.value} is not supported for tensors; "
                         "use nearest, nearest-exact, bilinear or bicubic")
    fscale = max(scale, 1.0) if antialias else 1.0
    for i in range(out_size):
        center = (i + 0.5) * scale
        lo = max(int(math.floor(center - support * fscale + 0.5)), 0)
        hi = min(int(math.floor(center + support * fscale + 0.5)), in_size)
        x = np.arange(lo, hi)
        w = kernel((x - center + 0.5) / fscale)
        total = w.sum()
        m[i, lo:hi] = w / total if total != 0 else w
    return m


def _resize_array(a: np.ndarray, size: tuple[int, int], mode: InterpolationMode, antialias: bool) -> np.ndarray:
    h, w = a.shape[-2:]
    out = a.astype(np.float64)
    if h != size[0]:
        out = np.einsum("oh,...hw->...ow", _resample_matrix(h, size[0], mode, antialias), out)
    if w != size[1]:
        out = np.einsum("ow,...hw->...ho", _resample_matrix(w, size[1], mode, antialias), out)
    return _cast_like(out, a.dtype)


def resize(img: Any, size: int | Sequence[int], interpolation: Any = InterpolationMode.BILINEAR,
           max_size: int | None = None, antialias: bool | None = True) -> Any:
    """Resize to ``size`` = (h, w), or make the smaller edge ``size`` keeping the aspect ratio."""
    _check_img(img)
    mode = _interp(interpolation)
    _, h, w = get_dimensions(img)
    out_h, out_w = _output_size((h, w), size, max_size)
    if (out_h, out_w) == (h, w):
        return img
    if _is_pil(img):
        return img.resize((out_w, out_h), _PIL_INTERP[mode])
    a = _to_np(img)
    return _from_np(_resize_array(a, (out_h, out_w), mode, bool(antialias)), img)


def _padding_ltrb(padding: Any) -> list[int]:
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return [p, p, p, p]
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    if len(padding) == 4:
        return padding
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")


_NP_PAD = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _pad_array(a: np.ndarray, ltrb: list[int], fill: Any, mode: str, channel_axis: int | None) -> np.ndarray:
    """Pad the two image axes of ``a`` (the last two, or the first two when ``channel_axis`` is
    -1 for HWC); negative padding crops."""
    left, top, right, bottom = ltrb
    hw = (-2, -1) if channel_axis != -1 else (0, 1)
    crop = [slice(None)] * a.ndim
    crop[hw[0]] = slice(max(-top, 0), a.shape[hw[0]] - max(-bottom, 0))
    crop[hw[1]] = slice(max(-left, 0), a.shape[hw[1]] - max(-right, 0))
    a = a[tuple(crop)]
    widths = [(0, 0)] * a.ndim
    widths[hw[0]] = (max(top, 0), max(bottom, 0))
    widths[hw[1]] = (max(left, 0), max(right, 0))
    if mode != "constant":
        return np.pad(a, widths, mode=_NP_PAD[mode])
    fills = np.atleast_1d(np.asarray(0 if fill is None else fill, dtype=np.float64))
    if fills.size == 1:
        return np.pad(a, widths, mode="constant", constant_values=fills[0].astype(a.dtype))
    # per-channel fill: pad each channel with its own constant
    axis = channel_axis if channel_axis is not None else -3
    parts = [np.pad(np.take(a, [c], axis=axis), widths, constant_values=fills[c % fills.size].astype(a.dtype))
             for c in range(a.shape[axis])]
    return np.concatenate(parts, axis=axis)


def pad(img: Any, padding: int | Sequence[int], fill: Any = 0, padding_mode: str = "constant") -> Any:
    """Pad the borders by ``padding`` (int, (lr, tb) or (l, t, r, b)) with a constant or by
    replicating (``edge``), mirroring without (``reflect``) or with (``symmetric``) the edge."""
    _check_img(img)
    if padding_mode not in _NP_PAD:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    ltrb = _padding_ltrb(padding)
    if _is_pil(img):
        if padding_mode == "constant" and min(ltrb) >= 0:
            return ImageOps.expand(img, border=tuple(ltrb), fill=_parse_fill(fill, img))
        arr = np.asarray(img)
        out = _pad_array(arr, ltrb, fill, padding_mode, -1 if arr.ndim == 3 else None)
        out = np.ascontiguousarray(out)
        if img.mode == "P":  # keep the palette: the array holds palette indices
            result = Image.frombytes("P", (out.shape[1], out.shape[0]), out.tobytes())
            result.putpalette(img.getpalette())
        else:
            result = Image.fromarray(out)
        return result
    if fill is None or isinstance(fill, numbers.Number):
        # torchvision's tensor pad, in ember ops on the tensor's device
        return F_t.pad(img, ltrb, fill, padding_mode)
    # a fill per channel (beyond torchvision, whose tensor pad takes one number): on the host
    a = _to_np(img)
    return _from_np(_pad_array(a, ltrb, fill, padding_mode, -3 if a.ndim >= 3 else None), img)


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height`` x ``width`` region at (``top``, ``left``); outside the image is zero."""
    _check_img(img)
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    return F_t.crop(img, top, left, height, width)


def _pair(size: Any, name: str = "size") -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")


def center_crop(img: Any, output_size: int | Sequence[int]) -> Any:
    """Crop the centre; pads with zeros first if the image is smaller than the crop."""
    crop_h, crop_w = _pair(output_size)
    _, h, w = get_dimensions(img)
    if crop_w > w or crop_h > h:
        ltrb = [(crop_w - w) // 2 if crop_w > w else 0, (crop_h - h) // 2 if crop_h > h else 0,
                (crop_w - w + 1) // 2 if crop_w > w else 0, (crop_h - h + 1) // 2 if crop_h > h else 0]
        img = pad(img, ltrb, fill=0)
        _, h, w = get_dimensions(img)
        if (crop_h, crop_w) == (h, w):
            return img
    top = int(round((h - crop_h) / 2.0))
    left = int(round((w - crop_w) / 2.0))
    return crop(img, top, left, crop_h, crop_w)


def resized_crop(img: Any, top: int, left: int, height: int, width: int, size: Sequence[int],
                 interpolation: Any = InterpolationMode.BILINEAR, antialias: bool | None = True) -> Any:
    """Crop, then resize to ``size``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img: Any) -> Any:
    """Mirror left-right."""
    _check_img(img)
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return F_t.hflip(img)


def vflip(img: Any) -> Any:
    """Mirror top-bottom."""
    _check_img(img)
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return F_t.vflip(img)


def _parse_fill(fill: Any, img: Image.Image) -> Any:
    """A fill value PIL accepts for this image: a tuple per band for multi-band images."""
    bands = len(img.getbands())
    if fill is None:
        fill = 0
    if isinstance(fill, numbers.Number) and bands > 1:
        fill = tuple([fill] * bands)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = fill * bands
        if len(fill) != bands:
            raise ValueError(f"The number of elements in 'fill' does not match the number of bands of the image "
                             f"({len(fill)} != {bands})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(v) for v in fill) if isinstance(fill, tuple) else int(fill)
    return fill


def _interp_arg(interpolation: Any) -> InterpolationMode:
    """rotate/affine/perspective accept an InterpolationMode or a PIL integer constant only."""
    if isinstance(interpolation, int):
        return _FROM_INT[interpolation]
    if not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding Pillow integer "
                        "constant")
    return interpolation


def rotate(img: Any, angle: float, interpolation: Any = InterpolationMode.NEAREST, expand: bool = False,
           center: Sequence[float] | None = None, fill: Any = None) -> Any:
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default: the image centre);
    uncovered pixels get ``fill``. Tensors sample on a grid (nearest or bilinear), as torchvision.

    Example:
        >>> import ember
        >>> rotate(ember.tensor([[[1, 2], [3, 4]]], dtype=ember.uint8), 90).tolist()
        [[[2, 4], [1, 3]]]
    """
    mode = _interp_arg(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _check_img(img)
    if _is_pil(img):
        return F_pil.rotate(img, angle, _PIL_INTERP[mode], expand, center, fill)
    center_f = [0.0, 0.0]
    if center is not None:
        _, height, width = get_dimensions(img)
        # the tensor grids put (0, 0) at the image centre
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    # rotate's angle is counter-clockwise, affine's clockwise
    matrix = F_t.inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    return F_t.rotate(img, matrix, mode.value, expand, fill)


# ---- colour --------------------------------------------------------------------------------
def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (PIL's ``convert('L')`` for PIL images)."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    _check_img(img)
    if _is_pil(img):
        gray = img.convert("L")
        if num_output_channels == 3:
            g = np.asarray(gray)
            return Image.fromarray(np.ascontiguousarray(np.stack([g, g, g], axis=-1)))
        return gray
    return F_t.rgb_to_grayscale(img, num_output_channels)


def to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Alias of :func:`rgb_to_grayscale` (torchvision's PIL name)."""
    return rgb_to_grayscale(img, num_output_channels)


# ---- crops -----------------------------------------------------------------------------------
def _crop_size(size: Any) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    return tuple(size)


def five_crop(img: Any, size: int | Sequence[int]) -> tuple[Any, Any, Any, Any, Any]:
    """The four corner crops and the central crop, as ``(tl, tr, bl, br, center)``.

    Example:
        >>> import ember
        >>> [c.tolist() for c in five_crop(ember.arange(9).reshape(1, 3, 3), 1)]
        [[[[0]]], [[[2]]], [[[6]]], [[[8]]], [[[4]]]]
    """
    size = _crop_size(size)
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = size
    if crop_width > image_width or crop_height > image_height:
        raise ValueError(f"Requested crop size {size} is bigger than input size {(image_height, image_width)}")
    tl = crop(img, 0, 0, crop_height, crop_width)
    tr = crop(img, 0, image_width - crop_width, crop_height, crop_width)
    bl = crop(img, image_height - crop_height, 0, crop_height, crop_width)
    br = crop(img, image_height - crop_height, image_width - crop_width, crop_height, crop_width)
    center = center_crop(img, [crop_height, crop_width])
    return tl, tr, bl, br, center


def ten_crop(img: Any, size: int | Sequence[int], vertical_flip: bool = False) -> tuple[Any, ...]:
    """:func:`five_crop` of the image, then of its horizontal (or vertical) mirror: 10 images."""
    size = _crop_size(size)
    first = five_crop(img, size)
    flipped = vflip(img) if vertical_flip else hflip(img)
    return first + five_crop(flipped, size)


# ---- colour adjustments --------------------------------------------------------------------------
def adjust_brightness(img: Any, brightness_factor: float) -> Any:
    """Multiply by ``brightness_factor`` (0 is black, 1 the original), clamped to the range.

    Example:
        >>> import ember
        >>> adjust_brightness(ember.tensor([[[100, 200]]], dtype=ember.uint8), 1.5).tolist()
        [[[150, 255]]]
    """
    if _is_tensor(img):
        return F_t.adjust_brightness(img, brightness_factor)
    return F_pil.adjust_brightness(img, brightness_factor)


def adjust_contrast(img: Any, contrast_factor: float) -> Any:
    """Blend with the mean gray level: 0 gives a solid gray image, 1 the original."""
    if _is_tensor(img):
        return F_t.adjust_contrast(img, contrast_factor)
    return F_pil.adjust_contrast(img, contrast_factor)


def adjust_saturation(img: Any, saturation_factor: float) -> Any:
    """Blend with the grayscale image: 0 gives black and white, 1 the original."""
    if _is_tensor(img):
        return F_t.adjust_saturation(img, saturation_factor)
    return F_pil.adjust_saturation(img, saturation_factor)


def adjust_hue(img: Any, hue_factor: float) -> Any:
    """Shift the hue (in HSV) by ``hue_factor`` turns, in [-0.5, 0.5]."""
    if _is_tensor(img):
        return F_t.adjust_hue(img, hue_factor)
    return F_pil.adjust_hue(img, hue_factor)


def adjust_gamma(img: Any, gamma: float, gain: float = 1) -> Any:
    """``gain * img ** gamma`` on values scaled to [0, 1]."""
    if _is_tensor(img):
        return F_t.adjust_gamma(img, gamma, gain)
    return F_pil.adjust_gamma(img, gamma, gain)


def adjust_sharpness(img: Any, sharpness_factor: float) -> Any:
    """Blend with a smoothed copy: 0 blurs, 1 is the original, 2 sharpens."""
    if _is_tensor(img):
        return F_t.adjust_sharpness(img, sharpness_factor)
    return F_pil.adjust_sharpness(img, sharpness_factor)


def invert(img: Any) -> Any:
    """``max - img`` (255 for uint8, 1.0 for floats)."""
    if _is_tensor(img):
        return F_t.invert(img)
    return F_pil.invert(img)


def posterize(img: Any, bits: int) -> Any:
    """Keep the top ``bits`` bits of each uint8 channel value."""
    if not (0 <= bits <= 8):
        raise ValueError(f"The number if bits should be between 0 and 8. Got {bits}")
    if _is_tensor(img):
        return F_t.posterize(img, bits)
    return F_pil.posterize(img, bits)


def solarize(img: Any, threshold: float) -> Any:
    """Invert the pixels whose value is at least ``threshold``."""
    if _is_tensor(img):
        return F_t.solarize(img, threshold)
    return F_pil.solarize(img, threshold)


def autocontrast(img: Any) -> Any:
    """Stretch each channel so that its minimum becomes 0 and its maximum the top of the range."""
    if _is_tensor(img):
        return F_t.autocontrast(img)
    return F_pil.autocontrast(img)


def equalize(img: Any) -> Any:
    """Equalize the histogram of each channel of a uint8 image (PIL's algorithm)."""
    if _is_tensor(img):
        return F_t.equalize(img)
    return F_pil.equalize(img)


# ---- geometry ----------------------------------------------------------------------------------
def affine(img: Any, angle: float, translate: Sequence[int], scale: float, shear: float | Sequence[float],
           interpolation: Any = InterpolationMode.NEAREST, fill: Any = None,
           center: Sequence[int] | None = None) -> Any:
    """Rotate by ``angle`` degrees clockwise, scale, shear (degrees) and translate (pixels),
    keeping ``center`` (default: the image centre) fixed.

    Example:
        >>> import ember
        >>> affine(ember.tensor([[[1, 2, 3]]]), 0.0, [1, 0], 1.0, 0.0).tolist()
        [[[0, 1, 2]]]
    """
    mode = _interp_arg(interpolation)
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
    angle = float(angle)
    translate = list(translate)
    shear = [shear, 0.0] if isinstance(shear, numbers.Number) else list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _check_img(img)
    _, height, width = get_dimensions(img)
    if _is_pil(img):
        # the centre without the half-pixel offset, so that a 90 degree turn lines up with the tensor path
        pivot = [width * 0.5, height * 0.5] if center is None else center
        matrix = F_t.inverse_affine_matrix(pivot, angle, translate, scale, shear)
        return F_pil.affine(img, matrix, _PIL_INTERP[mode], fill)
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = F_t.inverse_affine_matrix(center_f, angle, [1.0 * t for t in translate], scale, shear)
    return F_t.affine(img, matrix, mode.value, fill)


def _get_perspective_coeffs(startpoints: Sequence[Sequence[int]], endpoints: Sequence[Sequence[int]]) -> list[float]:
    """The 8 coefficients (a..h) of the map from ``endpoints`` back to ``startpoints``:
    ``(x, y) -> ((a x + b y + c) / (g x + h y + 1), (d x + e y + f) / (g x + h y + 1))``."""
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise ValueError(f"Please provide exactly four corners, got {len(startpoints)} startpoints and "
                         f"{len(endpoints)} endpoints.")
    rows = []
    for (x, y), (u, v) in zip(endpoints, startpoints):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = ember.tensor(rows, dtype=ember.float64)
    b = ember.tensor(startpoints, dtype=ember.float64).view(8)
    # least squares in double precision; the coefficients are then rounded to float32
    return ember.linalg.lstsq(a, b, driver="gels").solution.to(ember.float32).tolist()


def perspective(img: Any, startpoints: Sequence[Sequence[int]], endpoints: Sequence[Sequence[int]],
                interpolation: Any = InterpolationMode.BILINEAR, fill: Any = None) -> Any:
    """Warp so that the four ``startpoints`` corners (tl, tr, br, bl) land on ``endpoints``."""
    coeffs = _get_perspective_coeffs(startpoints, endpoints)
    mode = _interp_arg(interpolation)
    if _is_tensor(img):
        return F_t.perspective(img, coeffs, mode.value, fill)
    _check_img(img)
    return F_pil.perspective(img, coeffs, _PIL_INTERP[mode], fill)


def gaussian_blur(img: Any, kernel_size: int | Sequence[int], sigma: float | Sequence[float] | None = None) -> Any:
    """Blur with a (kx, ky) Gaussian kernel, reflecting at the borders; PIL images go through the
    tensor kernel and back, as in torchvision.

    Example:
        >>> import ember
        >>> gaussian_blur(ember.ones(1, 4, 4), 3, 1.0).tolist()[0][0]
        [1.0, 1.0, 1.0, 1.0]
    """
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}")
    for k in kernel_size:
        if k % 2 == 0 or k < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    if _is_tensor(img):
        return F_t.gaussian_blur(img, list(kernel_size), [float(s) for s in sigma])
    if not _is_pil(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
    out = F_t.gaussian_blur(pil_to_tensor(img), list(kernel_size), [float(s) for s in sigma])
    return to_pil_image(out, mode=img.mode)


def erase(img: Any, i: int, j: int, h: int, w: int, v: Any, inplace: bool = False) -> Any:
    """Set the ``h`` x ``w`` region at (``i``, ``j``) of a tensor image to ``v`` (a tensor that
    broadcasts to (C, h, w)).

    Example:
        >>> import ember
        >>> erase(ember.ones(1, 2, 2), 0, 0, 1, 1, ember.tensor(0.0)).tolist()
        [[[0.0, 1.0], [1.0, 1.0]]]
    """
    if not _is_tensor(img):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    return F_t.erase(img, i, j, h, w, v, inplace=inplace)


def elastic_transform(img: Any, displacement: Any, interpolation: Any = InterpolationMode.BILINEAR,
                      fill: Any = None) -> Any:
    """Sample the image at the identity grid plus ``displacement`` (shape [1, H, W, 2], in the
    [-1, 1] grid units of ``grid_sample``)."""
    if isinstance(interpolation, int):
        interpolation = _FROM_INT[interpolation]
    if not _is_tensor(displacement):
        raise TypeError("Argument displacement should be a Tensor")
    t_img = img
    if not _is_tensor(img):
        if not _is_pil(img):
            raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
        t_img = pil_to_tensor(img)
    shape = ember.Size((1,) + tuple(t_img.shape[-2:]) + (2,))
    if shape != displacement.shape:
        raise ValueError(f"Argument displacement shape should be {shape}, but given {displacement.shape}")
    out = F_t.elastic_transform(t_img, displacement, interpolation.value, fill)
    if not _is_tensor(img):
        out = to_pil_image(out, mode=img.mode)
    return out
