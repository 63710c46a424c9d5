"""Image operations on PIL images and on ember tensors shaped (..., C, H, W).

PIL images go through PIL itself. Tensor images are processed on the host with NumPy (data
augmentation happens in the input pipeline, before the model, so nothing is differentiated
here) and come back with their dtype and device; ``normalize`` uses tensor ops.

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

__all__ = [
    "InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
    "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "crop", "center_crop",
    "resized_crop", "hflip", "vflip", "pad", "rotate", "to_grayscale", "rgb_to_grayscale",
    "convert_image_dtype",
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
    """Convert a tensor image's dtype, rescaling values as torchvision does (uint8 255 <-> 1.0)."""
    dtype = dtype or ember.float32
    if image.dtype == dtype:
        return image
    a = _to_np(image)
    target = np.dtype(str(dtype).replace("ember.", ""))
    src_float = np.issubdtype(a.dtype, np.floating)
    if np.issubdtype(target, np.floating):
        out = a.astype(target) if src_float else (a / float(np.iinfo(a.dtype).max)).astype(target)
    elif src_float:
        # torchvision scales by max + 1 - eps so that 1.0 maps to max and the bins are equal
        out = (a.astype(np.float64) * (np.iinfo(target).max + 1.0 - 1e-3)).astype(target)
    else:
        in_max, out_max = float(np.iinfo(a.dtype).max), float(np.iinfo(target).max)
        out = np.floor(a.astype(np.float64) * (out_max + 1) / (in_max + 1)).astype(target)
    return _from_np(out, image)


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
    a = _to_np(img)
    return _from_np(_pad_array(a, ltrb, fill, padding_mode, -3 if a.ndim >= 3 else None), img)


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height`` x ``width`` region at (``top``, ``left``); outside the image is zero."""
    _check_img(img)
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    a = _to_np(img)
    if left < 0 or top < 0 or right > w or bottom > h:
        ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        part = a[..., max(top, 0):bottom, max(left, 0):right]
        return _from_np(_pad_array(part, ltrb, 0, "constant", None), img)
    return _from_np(a[..., top:bottom, left:right], img)


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
    return _from_np(_to_np(img)[..., ::-1], img)


def vflip(img: Any) -> Any:
    """Mirror top-bottom."""
    _check_img(img)
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return _from_np(_to_np(img)[..., ::-1, :], img)


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


def _rotation_matrix(angle: float, center: tuple[float, float], w: int, h: int,
                     expand: bool) -> tuple[list[float], int, int]:
    """PIL's inverse affine matrix for ``Image.rotate`` (output -> input coordinates)."""
    a = -math.radians(angle)
    mat = [round(math.cos(a), 15), round(math.sin(a), 15), 0.0, round(-math.sin(a), 15), round(math.cos(a), 15), 0.0]

    def apply(x: float, y: float) -> tuple[float, float]:
        return mat[0] * x + mat[1] * y + mat[2], mat[3] * x + mat[4] * y + mat[5]

    cx, cy = center
    mat[2], mat[5] = apply(-cx, -cy)
    mat[2] += cx
    mat[5] += cy
    if expand:
        xs, ys = zip(*(apply(x, y) for x, y in ((0, 0), (w, 0), (w, h), (0, h))))
        nw = math.ceil(max(xs)) - math.floor(min(xs))
        nh = math.ceil(max(ys)) - math.floor(min(ys))
        mat[2], mat[5] = apply(-(nw - w) / 2.0, -(nh - h) / 2.0)
        w, h = nw, nh
    return mat, w, h


def _affine_sample(a: np.ndarray, mat: list[float], out_w: int, out_h: int, mode: InterpolationMode,
                   fill: Any) -> np.ndarray:
    """Sample (..., C, H, W) ``a`` at ``mat`` applied to output pixel centres."""
    h, w = a.shape[-2:]
    ys, xs = np.meshgrid(np.arange(out_h) + 0.5, np.arange(out_w) + 0.5, indexing="ij")
    sx = mat[0] * xs + mat[1] * ys + mat[2]
    sy = mat[3] * xs + mat[4] * ys + mat[5]
    lead = a.shape[:-2]
    fills = np.atleast_1d(np.asarray(0 if fill is None else fill, dtype=np.float64))
    channels = lead[-1] if lead else 1
    fill_img = np.broadcast_to(
        (fills if fills.size > 1 else np.repeat(fills, channels)).reshape((channels, 1, 1))
        if lead else fills[:1].reshape(1, 1), lead + (out_h, out_w))
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        # a hair of slack so that coordinates landing exactly on a pixel edge (up to float
        # rounding of cos/sin) pick the pixel the exact arithmetic would, as PIL does
        ix, iy = np.floor(sx + 1e-9).astype(np.int64), np.floor(sy + 1e-9).astype(np.int64)
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        vals = a[..., np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)].astype(np.float64)
        return _cast_like(np.where(inside, vals, fill_img), a.dtype)
    if mode is not InterpolationMode.BILINEAR:
        raise ValueError("Tensor rotation supports nearest and bilinear interpolation only")
    fx, fy = sx - 0.5, sy - 0.5  # continuous coordinates of pixel centres
    x0, y0 = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    out = np.zeros(lead + (out_h, out_w))
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - np.abs(fx - xi)) * (1 - np.abs(fy - yi))
            ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = a[..., np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)].astype(np.float64)
            out += np.where(ok, vals * wgt, fill_img * wgt)
    return _cast_like(out, a.dtype)


def rotate(img: Any, angle: float, interpolation: Any = InterpolationMode.NEAREST, expand: bool = False,
           center: Sequence[float] | None = None, fill: Any = None) -> Any:
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default: the image centre);
    uncovered pixels get ``fill``. Tensors follow PIL's sampling exactly for nearest."""
    _check_img(img)
    mode = _interp(interpolation)
    if _is_pil(img):
        return img.rotate(angle, _PIL_INTERP[mode], expand, tuple(center) if center is not None else None,
                          fillcolor=_parse_fill(fill, img))
    _, h, w = get_dimensions(img)
    c = (w / 2.0, h / 2.0) if center is None else (float(center[0]), float(center[1]))
    mat, out_w, out_h = _rotation_matrix(angle, c, w, h, expand)
    a = _to_np(img)
    squeeze = a.ndim == 2
    out = _affine_sample(a[None] if squeeze else a, mat, out_w, out_h, mode, fill)
    return _from_np(out[0] if squeeze else out, img)


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
    a = _to_np(img)
    if a.ndim < 3 or a.shape[-3] not in (1, 3):
        raise TypeError(f"Input image tensor permitted channel values are [1, 3], but found "
                        f"{a.shape[-3] if a.ndim >= 3 else 'no channel dimension'}")
    if a.shape[-3] == 3:
        r, g, b = (a[..., i, :, :].astype(np.float32) for i in range(3))
        lum = np.float32(0.2989) * r + np.float32(0.587) * g + np.float32(0.114) * b
        # like torchvision's `.to(img.dtype)`: integer images are truncated, not rounded
        lum = lum.astype(a.dtype)[..., None, :, :]
    else:
        lum = a.copy()
    if num_output_channels == 3:
        lum = np.broadcast_to(lum, lum.shape[:-3] + (3,) + lum.shape[-2:])
    return _from_np(lum, img)


def to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Alias of :func:`rgb_to_grayscale` (torchvision's PIL name)."""
    return rgb_to_grayscale(img, num_output_channels)
