"""Tensor kernels of the colour and geometry transforms, written in ember ops.

Everything here runs on the tensor's own device (cpu, opencl, ...): the image never leaves it. The
arithmetic follows torchvision's tensor code step by step (same dtypes, same operation order, the
same rounding before casting back to an integer dtype), so uint8 results equal torchvision's and
float results agree to rounding.

Example:
    >>> import ember
    >>> from ember.vision.transforms import _functional_tensor as F_t
    >>> F_t.invert(ember.tensor([[[0, 200]]], dtype=ember.uint8)).tolist()
    [[[255, 55]]]
"""

from __future__ import annotations

import math
from typing import Any

import ember
import ember.nn.functional as NF

_INT_DTYPES = ("uint8", "int8", "int16", "uint16", "int32", "int64")


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("ember.", "")


def _is_float(t: Any) -> bool:
    return t.dtype.is_floating_point


def _max_value(dtype: Any) -> int:
    """The largest value of an integer image dtype; 1 for floating images (torchvision's rule)."""
    return {"uint8": 255, "int8": 127, "int16": 32767, "uint16": 65535, "int32": 2147483647,
            "int64": 9223372036854775807}.get(_dtype_name(dtype), 1)


def _assert_image_tensor(img: Any) -> None:
    if img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def _channels(img: Any) -> int:
    return 1 if img.ndim == 2 else int(img.shape[-3])


def _assert_channels(img: Any, permitted: list[int]) -> None:
    c = _channels(img)
    if c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {permitted}, but found {c}")


def _assert_3d(img: Any) -> None:
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found {img.ndim}")


# ---- dtype conversion --------------------------------------------------------------------------
def convert_image_dtype(image: Any, dtype: Any = None) -> Any:
    """Change the dtype and rescale: integer max <-> 1.0, integer <-> integer by powers of two."""
    dtype = ember.float32 if dtype is None else dtype
    if image.dtype == dtype:
        return image
    target_float = dtype.is_floating_point
    if _is_float(image):
        if target_float:
            return image.to(dtype)
        src, dst = _dtype_name(image.dtype), _dtype_name(dtype)
        if (src == "float32" and dst in ("int32", "int64")) or (src == "float64" and dst == "int64"):
            raise RuntimeError(f"The cast from {image.dtype} to {dtype} cannot be performed safely.")
        # max + 1 - eps spreads [0, 1] evenly over the integer bins while 1.0 still maps to max
        return image.mul(float(_max_value(dtype)) + 1.0 - 1e-3).to(dtype)
    input_max = float(_max_value(image.dtype))
    if target_float:
        return image.to(dtype) / input_max
    output_max = float(_max_value(dtype))
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return ember.div(image, factor, rounding_mode="floor").to(dtype)
    factor = int((output_max + 1) // (input_max + 1))
    return image.to(dtype) * factor


# ---- geometry helpers ----------------------------------------------------------------------------
def hflip(img: Any) -> Any:
    _assert_image_tensor(img)
    return img.flip(-1)


def vflip(img: Any) -> Any:
    _assert_image_tensor(img)
    return img.flip(-2)


def _pad_symmetric(img: Any, padding: list[int]) -> Any:
    """Mirror padding that repeats the edge pixel; ``padding`` is (left, right, top, bottom)."""
    if min(padding) < 0:
        cl, cr, ct, cb = (-min(p, 0) for p in padding)
        img = img[..., ct:img.shape[-2] - cb, cl:img.shape[-1] - cr]
        padding = [max(p, 0) for p in padding]
    h, w = int(img.shape[-2]), int(img.shape[-1])
    xs = list(range(padding[0] - 1, -1, -1)) + list(range(w)) + [w - 1 - i for i in range(padding[1])]
    ys = list(range(padding[2] - 1, -1, -1)) + list(range(h)) + [h - 1 - i for i in range(padding[3])]
    xi = ember.tensor(xs, dtype=ember.int64, device=img.device)
    yi = ember.tensor(ys, dtype=ember.int64, device=img.device)
    return img.index_select(-2, yi).index_select(-1, xi)


def pad(img: Any, padding: list[int], fill: float = 0, padding_mode: str = "constant") -> Any:
    """``padding`` as torchvision's tensor pad: int, [all], [lr, tb] or [l, t, r, b]."""
    _assert_image_tensor(img)
    if isinstance(padding, int):
        p = [padding] * 4
    elif len(padding) == 1:
        p = [padding[0]] * 4
    elif len(padding) == 2:
        p = [padding[0], padding[0], padding[1], padding[1]]
    else:
        p = [padding[0], padding[2], padding[1], padding[3]]
    p = [int(v) for v in p]  # left, right, top, bottom
    if padding_mode == "symmetric":
        return _pad_symmetric(img, p)
    squeeze = img.ndim < 4
    out = img.unsqueeze(0) if squeeze else img
    out_dtype = out.dtype
    cast = padding_mode != "constant" and _dtype_name(out_dtype) not in ("float32", "float64")
    if cast:
        out = out.to(ember.float32)
    if padding_mode == "constant":
        out = NF.pad(out, p, mode="constant", value=float(0 if fill is None else fill))
    else:
        out = NF.pad(out, p, mode="replicate" if padding_mode == "edge" else padding_mode)
    if squeeze:
        out = out.squeeze(0)
    return out.to(out_dtype) if cast else out


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    _assert_image_tensor(img)
    h, w = int(img.shape[-2]), int(img.shape[-1])
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], ltrb, fill=0)
    return img[..., top:bottom, left:right]


# ---- colour ------------------------------------------------------------------------------------
def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    _assert_3d(img)
    _assert_channels(img, [1, 3])
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if img.shape[-3] == 3:
        r, g, b = img.unbind(dim=-3)
        # ITU-R 601-2 luma; `.to` truncates integer images, as torchvision does
        gray = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(-3)
    else:
        gray = img.clone()
    if num_output_channels == 3:
        return gray.expand(tuple(img.shape))
    return gray


def _blend(img1: Any, img2: Any, ratio: float) -> Any:
    ratio = float(ratio)
    bound = _max_value(img1.dtype)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def adjust_brightness(img: Any, brightness_factor: float) -> Any:
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    return _blend(img, ember.zeros_like(img), brightness_factor)


def adjust_contrast(img: Any, contrast_factor: float) -> Any:
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [3, 1])
    dtype = img.dtype if _is_float(img) else ember.float32
    gray = rgb_to_grayscale(img) if _channels(img) == 3 else img
    mean = ember.mean(gray.to(dtype), dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, contrast_factor)


def adjust_saturation(img: Any, saturation_factor: float) -> Any:
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if _channels(img) == 1:  # as PIL: a grayscale image has no saturation to change
        return img
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb2hsv(img: Any) -> Any:
    r, g, b = img.unbind(dim=-3)
    maxc = ember.amax(img, dim=-3)
    minc = ember.amin(img, dim=-3)
    # where max == min the hue and saturation are 0: dividing by 1 there keeps NaN out
    eqc = maxc == minc
    cr = maxc - minc
    ones = ember.ones_like(maxc)
    s = cr / ember.where(eqc, ones, maxc)
    cr_divisor = ember.where(eqc, ones, cr)
    rc = (maxc - r) / cr_divisor
    gc = (maxc - g) / cr_divisor
    bc = (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = ember.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return ember.stack((h, s, maxc), dim=-3)


def _hsv2rgb(img: Any) -> Any:
    h, s, v = img.unbind(dim=-3)
    i = ember.floor(h * 6.0)
    f = (h * 6.0) - i
    i = i.to(ember.int32)
    p = ember.clamp(v * (1.0 - s), 0.0, 1.0)
    q = ember.clamp(v * (1.0 - s * f), 0.0, 1.0)
    t = ember.clamp(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    sector = (i % 6).to(ember.int64)
    # for each output channel, the value each of the six hue sectors takes
    table = ember.stack((ember.stack((v, q, p, p, t, v), dim=-3),
                         ember.stack((t, v, v, q, p, p), dim=-3),
                         ember.stack((p, p, t, v, v, q), dim=-3)), dim=-4)
    index = sector.unsqueeze(-3).unsqueeze(-3).expand(tuple(table.shape[:-3]) + (1,) + tuple(table.shape[-2:]))
    return ember.gather(table, -3, index).squeeze(-3)


def adjust_hue(img: Any, hue_factor: float) -> Any:
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if _channels(img) == 1:  # as PIL
        return img
    orig_dtype = img.dtype
    hsv = _rgb2hsv(convert_image_dtype(img, ember.float32))
    h, s, v = hsv.unbind(dim=-3)
    h = (h + hue_factor) % 1.0
    rgb = _hsv2rgb(ember.stack((h, s, v), dim=-3))
    return convert_image_dtype(rgb, orig_dtype)


def adjust_gamma(img: Any, gamma: float, gain: float = 1) -> Any:
    _assert_channels(img, [1, 3])
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    dtype = img.dtype
    result = img if _is_float(img) else convert_image_dtype(img, ember.float32)
    result = (gain * result.pow(gamma)).clamp(0, 1)
    return convert_image_dtype(result, dtype)


def invert(img: Any) -> Any:
    _assert_image_tensor(img)
    _assert_3d(img)
    _assert_channels(img, [1, 3])
    return _max_value(img.dtype) - img


def posterize(img: Any, bits: int) -> Any:
    _assert_image_tensor(img)
    _assert_3d(img)
    if _dtype_name(img.dtype) != "uint8":
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    _assert_channels(img, [1, 3])
    return img & -int(2 ** (8 - bits))  # keeps the top `bits` bits


def solarize(img: Any, threshold: float) -> Any:
    _assert_image_tensor(img)
    _assert_3d(img)
    _assert_channels(img, [1, 3])
    if threshold > _max_value(img.dtype):
        raise TypeError("Threshold should be less than bound of img.")
    return ember.where(img >= threshold, invert(img), img)


def autocontrast(img: Any) -> Any:
    _assert_image_tensor(img)
    _assert_3d(img)
    _assert_channels(img, [1, 3])
    bound = _max_value(img.dtype)
    dtype = img.dtype if _is_float(img) else ember.float32
    minimum = img.amin(dim=(-2, -1), keepdim=True).to(dtype)
    maximum = img.amax(dim=(-2, -1), keepdim=True).to(dtype)
    scale = bound / (maximum - minimum)
    flat = ember.isfinite(scale).logical_not()  # a constant channel is left as it is
    minimum = ember.where(flat, ember.zeros_like(minimum), minimum)
    scale = ember.where(flat, ember.ones_like(scale), scale)
    return ((img - minimum) * scale).clamp(0, bound).to(img.dtype)


def _equalize_channel(chan: Any) -> Any:
    hist = ember.bincount(chan.reshape(-1), minlength=256)
    nonzero = hist[hist != 0]
    step = ember.div(nonzero[:-1].sum(), 255, rounding_mode="floor")
    if int(step.item()) == 0:
        return chan
    lut = ember.div(ember.cumsum(hist, 0) + ember.div(step, 2, rounding_mode="floor"), step, rounding_mode="floor")
    lut = NF.pad(lut, [1, 0])[:-1].clamp(0, 255)
    return lut[chan.to(ember.int64)].to(ember.uint8)


def equalize(img: Any) -> Any:
    _assert_image_tensor(img)
    if not (3 <= img.ndim <= 4):
        raise TypeError(f"Input image tensor should have 3 or 4 dimensions, but found {img.ndim}")
    if _dtype_name(img.dtype) != "uint8":
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    _assert_channels(img, [1, 3])
    if img.ndim == 3:
        return ember.stack([_equalize_channel(img[c]) for c in range(img.shape[0])])
    return ember.stack([ember.stack([_equalize_channel(x[c]) for c in range(x.shape[0])]) for x in img])


# ---- convolutions ------------------------------------------------------------------------------
def _cast_squeeze_in(img: Any, req_dtypes: list[Any]) -> tuple[Any, bool, bool, Any]:
    squeeze = img.ndim < 4
    if squeeze:
        img = img.unsqueeze(0)
    out_dtype = img.dtype
    cast = out_dtype not in req_dtypes
    if cast:
        img = img.to(req_dtypes[0])
    return img, cast, squeeze, out_dtype


def _cast_squeeze_out(img: Any, cast: bool, squeeze: bool, out_dtype: Any) -> Any:
    if squeeze:
        img = img.squeeze(0)
    if cast:
        if _dtype_name(out_dtype) in _INT_DTYPES:
            img = ember.round(img)  # round, don't truncate, on the way back to integers
        img = img.to(out_dtype)
    return img


def _gaussian_kernel1d(kernel_size: int, sigma: float, dtype: Any, device: Any) -> Any:
    half = (kernel_size - 1) * 0.5
    x = ember.linspace(-half, half, steps=kernel_size, dtype=dtype, device=device)
    pdf = ember.exp(-0.5 * (x / sigma).pow(2))
    return pdf / pdf.sum()


def gaussian_blur(img: Any, kernel_size: list[int], sigma: list[float]) -> Any:
    _assert_image_tensor(img)
    dtype = img.dtype if _is_float(img) else ember.float32
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0], dtype, img.device)
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1], dtype, img.device)
    kernel = ember.mm(ky[:, None], kx[None, :])
    kernel = kernel.expand(int(img.shape[-3]), 1, int(kernel.shape[0]), int(kernel.shape[1]))
    x, cast, squeeze, out_dtype = _cast_squeeze_in(img, [kernel.dtype])
    padding = [kernel_size[0] // 2, kernel_size[0] // 2, kernel_size[1] // 2, kernel_size[1] // 2]
    x = NF.pad(x, padding, mode="reflect")
    x = NF.conv2d(x, kernel, groups=int(x.shape[-3]))
    return _cast_squeeze_out(x, cast, squeeze, out_dtype)


def _blurred_degenerate_image(img: Any) -> Any:
    """PIL's SMOOTH filter (a 3x3 box with centre weight 5) inside, the original on the border."""
    dtype = img.dtype if _is_float(img) else ember.float32
    kernel = ember.ones((3, 3), dtype=dtype, device=img.device)
    kernel[1, 1] = 5.0
    kernel = kernel / kernel.sum()
    kernel = kernel.expand(int(img.shape[-3]), 1, 3, 3)
    tmp, cast, squeeze, out_dtype = _cast_squeeze_in(img, [kernel.dtype])
    tmp = NF.conv2d(tmp, kernel, groups=int(tmp.shape[-3]))
    tmp = _cast_squeeze_out(tmp, cast, squeeze, out_dtype)
    result = img.clone()
    result[..., 1:-1, 1:-1] = tmp
    return result


def adjust_sharpness(img: Any, sharpness_factor: float) -> Any:
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor ({sharpness_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    return _blend(img, _blurred_degenerate_image(img), sharpness_factor)


def erase(img: Any, i: int, j: int, h: int, w: int, v: Any, inplace: bool = False) -> Any:
    _assert_image_tensor(img)
    if not inplace:
        img = img.clone()
    if isinstance(v, ember.Tensor) and v.device != img.device:
        v = v.to(img.device)
    img[..., i:i + h, j:j + w] = v
    return img


# ---- sampling on a grid (affine, rotate, perspective, elastic) -------------------------------
def _assert_grid_transform_inputs(img: Any, matrix: list[float] | None, interpolation: str, fill: Any,
                                  supported: list[str], coeffs: list[float] | None = None) -> None:
    if not isinstance(img, ember.Tensor):
        raise TypeError("Input img should be Tensor")
    _assert_image_tensor(img)
    if matrix is not None and not isinstance(matrix, list):
        raise TypeError("Argument matrix should be a list")
    if matrix is not None and len(matrix) != 6:
        raise ValueError("Argument matrix should have 6 float values")
    if coeffs is not None and len(coeffs) != 8:
        raise ValueError("Argument coeffs should have 8 float values")
    channels = _channels(img)
    if isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != channels:
        raise ValueError("The number of elements in 'fill' cannot broadcast to match the number of channels "
                         f"of the image ({len(fill)} != {channels})")
    if interpolation not in supported:
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input")


def _apply_grid_transform(img: Any, grid: Any, mode: str, fill: Any) -> Any:
    x, cast, squeeze, out_dtype = _cast_squeeze_in(img, [grid.dtype])
    n = int(x.shape[0])
    if n > 1:
        grid = grid.expand(n, int(grid.shape[1]), int(grid.shape[2]), int(grid.shape[3]))
    if fill is not None:
        # a channel of ones, sampled along with the image, tells which output pixels came from
        # outside it: cheaper than a second grid_sample
        ones = ember.ones((n, 1, int(x.shape[2]), int(x.shape[3])), dtype=x.dtype, device=x.device)
        x = ember.cat((x, ones), dim=1)
    x = NF.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        mask = x[:, -1:, :, :]
        x = x[:, :-1, :, :]
        mask = mask.expand_as(x)
        values = [float(f) for f in fill] if isinstance(fill, (tuple, list)) else [float(fill)]
        fill_img = ember.tensor(values, dtype=x.dtype, device=x.device).view(1, len(values), 1, 1).expand_as(x)
        if mode == "nearest":
            x = ember.where(mask < 0.5, fill_img, x)
        else:
            x = x * mask + (1.0 - mask) * fill_img
    return _cast_squeeze_out(x, cast, squeeze, out_dtype)


def _grid_coords(theta_t: Any, base: list[Any]) -> Any:
    """``base @ theta_t`` for a 3-column base grid, summed left to right in one rounding per step
    (PyTorch's small ``bmm`` does the same, so the grid matches it bit for bit)."""
    return base[0] * theta_t[0] + base[1] * theta_t[1] + theta_t[2]


def _base_grid(ow: int, oh: int, dtype: Any, device: Any, centred: bool) -> list[Any]:
    d = 0.5
    if centred:
        xs = ember.linspace(-ow * 0.5 + d, ow * 0.5 + d - 1, steps=ow, device=device)
        ys = ember.linspace(-oh * 0.5 + d, oh * 0.5 + d - 1, steps=oh, device=device)
    else:
        xs = ember.linspace(d, ow * 1.0 + d - 1.0, steps=ow, device=device)
        ys = ember.linspace(d, oh * 1.0 + d - 1.0, steps=oh, device=device)
    # torchvision builds the axes in float32 and copies them into a grid of theta's dtype
    gx = xs.to(dtype).view(1, ow).expand(oh, ow)
    gy = ys.to(dtype).view(oh, 1).expand(oh, ow)
    return [gx, gy]


def _gen_affine_grid(matrix: list[float], dtype: Any, device: Any, w: int, h: int, ow: int, oh: int) -> Any:
    """Sampling grid in [-1, 1] for output pixel centres mapped through the inverse affine
    ``matrix`` about the image centre, normalised by the input size (w, h)."""
    theta = ember.tensor(matrix, dtype=dtype, device=device).reshape(2, 3)
    scale = ember.tensor([0.5 * w, 0.5 * h], dtype=dtype, device=device)
    rescaled = theta.transpose(0, 1) / scale  # (3, 2)
    gx, gy = _base_grid(ow, oh, dtype, device, centred=True)
    out = [_grid_coords([rescaled[0, k], rescaled[1, k], rescaled[2, k]], [gx, gy]) for k in range(2)]
    return ember.stack(out, dim=-1).unsqueeze(0)


def affine(img: Any, matrix: list[float], interpolation: str = "nearest", fill: Any = None) -> Any:
    _assert_grid_transform_inputs(img, matrix, interpolation, fill, ["nearest", "bilinear"])
    dtype = img.dtype if _is_float(img) else ember.float32
    h, w = int(img.shape[-2]), int(img.shape[-1])
    grid = _gen_affine_grid(matrix, dtype, img.device, w, h, w, h)
    return _apply_grid_transform(img, grid, interpolation, fill)


def _compute_affine_output_size(matrix: list[float], w: int, h: int) -> tuple[int, int]:
    """(w, h) of the box that holds the whole transformed image (PIL's ``expand``)."""
    pts = ember.tensor([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=ember.float32)
    theta = ember.tensor(matrix, dtype=ember.float32).view(2, 3)
    new_pts = ember.matmul(pts, theta.T)
    centre = ember.tensor([w * 0.5, h * 0.5], dtype=ember.float32)
    min_vals = new_pts.amin(dim=0) + centre
    max_vals = new_pts.amax(dim=0) + centre
    # truncate to 1e-4 first so that 4.0000000001 does not ceil to 5
    tol = 1e-4
    cmax = ember.ceil(ember.trunc(max_vals / tol) * tol)
    cmin = ember.floor(ember.trunc(min_vals / tol) * tol)
    size = (cmax - cmin).tolist()
    return int(size[0]), int(size[1])


def rotate(img: Any, matrix: list[float], interpolation: str = "nearest", expand: bool = False,
           fill: Any = None) -> Any:
    _assert_grid_transform_inputs(img, matrix, interpolation, fill, ["nearest", "bilinear"])
    w, h = int(img.shape[-1]), int(img.shape[-2])
    ow, oh = _compute_affine_output_size(matrix, w, h) if expand else (w, h)
    dtype = img.dtype if _is_float(img) else ember.float32
    grid = _gen_affine_grid(matrix, dtype, img.device, w, h, ow, oh)
    return _apply_grid_transform(img, grid, interpolation, fill)


def _perspective_grid(coeffs: list[float], ow: int, oh: int, dtype: Any, device: Any) -> Any:
    # x_in = (a x + b y + c) / (g x + h y + 1), y_in = (d x + e y + f) / (g x + h y + 1), in pixels
    gx, gy = _base_grid(ow, oh, dtype, device, centred=False)

    def const(v: float) -> Any:
        return ember.tensor(v, dtype=dtype, device=device)

    half = [const(0.5 * ow), const(0.5 * oh)]
    num = [_grid_coords([const(coeffs[3 * k]) / half[k], const(coeffs[3 * k + 1]) / half[k],
                         const(coeffs[3 * k + 2]) / half[k]], [gx, gy]) for k in range(2)]
    den = _grid_coords([const(coeffs[6]), const(coeffs[7]), const(1.0)], [gx, gy])
    return ember.stack([num[0] / den - 1.0, num[1] / den - 1.0], dim=-1).unsqueeze(0)


def perspective(img: Any, perspective_coeffs: list[float], interpolation: str = "bilinear", fill: Any = None) -> Any:
    if not isinstance(img, ember.Tensor):
        raise TypeError("Input img should be Tensor.")
    _assert_image_tensor(img)
    _assert_grid_transform_inputs(img, None, interpolation, fill, ["nearest", "bilinear"], coeffs=perspective_coeffs)
    ow, oh = int(img.shape[-1]), int(img.shape[-2])
    dtype = img.dtype if _is_float(img) else ember.float32
    grid = _perspective_grid(perspective_coeffs, ow, oh, dtype, img.device)
    return _apply_grid_transform(img, grid, interpolation, fill)


def _identity_grid(size: list[int], device: Any) -> Any:
    axes = [ember.linspace((-s + 1) / s, (s - 1) / s, s, device=device) for s in size]
    gy, gx = ember.meshgrid(axes, indexing="ij")
    return ember.stack([gx, gy], -1).unsqueeze(0)


def elastic_transform(img: Any, displacement: Any, interpolation: str = "bilinear", fill: Any = None) -> Any:
    if not isinstance(img, ember.Tensor):
        raise TypeError(f"img should be Tensor. Got {type(img)}")
    size = [int(s) for s in img.shape[-2:]]
    displacement = displacement.to(img.device)
    grid = _identity_grid(size, img.device) + displacement
    return _apply_grid_transform(img, grid, interpolation, fill)


def inverse_affine_matrix(center: list[float], angle: float, translate: list[float], scale: float,
                          shear: list[float], inverted: bool = True) -> list[float]:
    """The 2x3 matrix (row-major, 6 numbers) of ``T * C * R * S * Sh * C^-1`` or, when
    ``inverted``, of its inverse (output pixel -> input pixel, what PIL and the grids want).

    Rotation ``angle`` and the shears are in degrees, clockwise; ``center`` is the pivot.
    """
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # rotation * shear without the scale; its determinant is 1
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    if inverted:
        m = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
        m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
        m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
        m[2] += cx
        m[5] += cy
    else:
        m = [x * scale for x in (a, b, 0.0, c, d, 0.0)]
        m[2] += m[0] * (-cx) + m[1] * (-cy)
        m[5] += m[3] * (-cx) + m[4] * (-cy)
        m[2] += cx + tx
        m[5] += cy + ty
    return m
