"""torchvision.utils: ``make_grid``, ``save_image`` and the drawing helpers.

The grid is built with tensor operations on the images' own device; only ``save_image`` brings the
final uint8 grid to the host for Pillow. ``draw_bounding_boxes`` and ``draw_keypoints`` draw with
Pillow's ImageDraw on the host (as torchvision does); ``draw_segmentation_masks`` and
``flow_to_image`` are tensor arithmetic in ember ops on the image's device.

Example:
    >>> import ember
    >>> tuple(make_grid(ember.zeros(5, 1, 4, 4), nrow=2, padding=1).shape)
    (3, 16, 11)
"""

from __future__ import annotations

import math
import os
import warnings
from typing import IO, Any, Union

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

import ember

__all__ = ["make_grid", "save_image", "draw_bounding_boxes", "draw_segmentation_masks", "draw_keypoints",
           "flow_to_image"]

Color = Union[str, tuple[int, int, int]]


def _as_batch(tensor: Any) -> ember.Tensor:
    """A 4-D (B, C, H, W) batch from a tensor or a list of tensors; one channel becomes three."""
    if not ember.is_tensor(tensor):
        if not isinstance(tensor, list):
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
        for t in tensor:
            if not ember.is_tensor(t):
                raise TypeError(f"tensor or list of tensors expected, got a list containing {type(t)}")
        tensor = ember.stack(tensor, dim=0)
    if tensor.dim() == 2:  # a single H x W image
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:  # a single C x H x W image
        if tensor.size(0) == 1:
            tensor = ember.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:  # single-channel images
        tensor = ember.cat((tensor, tensor, tensor), 1)
    return tensor


def _normalize_(img: ember.Tensor, value_range: tuple[float, float] | None) -> None:
    """Clamp ``img`` to ``value_range`` (default: its own min and max) and map that range to [0, 1]."""
    low, high = (float(img.min()), float(img.max())) if value_range is None else value_range
    img.clamp_(min=low, max=high)
    img.sub_(low).div_(max(high - low, 1e-5))


@ember.no_grad()
def make_grid(tensor: ember.Tensor | list[ember.Tensor], nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> ember.Tensor:
    """Tile a batch of images (B, C, H, W) or a list of (C, H, W) images into one (C, H', W') image.

    Args:
        nrow: images per row; the grid has ``ceil(B / nrow)`` rows.
        padding: pixels of ``pad_value`` around and between the images.
        normalize: shift and scale to [0, 1] by ``value_range`` (default: the batch's min and max,
            or each image's own with ``scale_each=True``).
    """
    tensor = _as_batch(tensor)
    if normalize is True:
        tensor = tensor.clone()  # normalize in place without touching the caller's tensor
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")
        if scale_each is True:
            for i in range(tensor.size(0)):
                _normalize_(tensor[i], value_range)
        else:
            _normalize_(tensor, value_range)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    grid = tensor.new_full((tensor.size(1), height * ymaps + padding, width * xmaps + padding), pad_value)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        cell = grid.narrow(1, y * height + padding, height - padding).narrow(2, x * width + padding, width - padding)
        cell.copy_(tensor[k])
    return grid


@ember.no_grad()
def save_image(tensor: ember.Tensor | list[ember.Tensor], fp: str | os.PathLike | IO[bytes],
               format: str | None = None, **kwargs: Any) -> None:
    """Save a tensor (or a batch, through :func:`make_grid` with ``kwargs``) as an image file via Pillow.

    Values in [0, 1] map to 0..255, rounded to the nearest integer. ``format`` is Pillow's
    (needed when ``fp`` is a file object; otherwise the file name's extension decides).
    """
    grid = make_grid(tensor, **kwargs)
    # +0.5 before the truncating uint8 cast rounds to the nearest integer, as torchvision does.
    ndarr = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", ember.uint8).numpy()
    Image.fromarray(ndarr).save(fp, format=format)


# ---- drawing -------------------------------------------------------------------------------------
def _palette(num_objects: int) -> list[tuple[int, int, int]]:
    """torchvision's default colours: ``(i * [2**25 - 1, 2**15 - 1, 2**21 - 1]) % 255``."""
    primes = (2**25 - 1, 2**15 - 1, 2**21 - 1)
    return [tuple((i * p) % 255 for p in primes) for i in range(num_objects)]  # type: ignore[misc]


def _parse_colors(colors: Color | list[Color] | None, *, num_objects: int,
                  floating: bool = False) -> list[tuple[Any, ...]]:
    """One RGB tuple per object from None (the palette), one colour, or a list of colours."""
    if colors is None:
        colors = _palette(num_objects)  # type: ignore[assignment]
    elif isinstance(colors, list):
        if len(colors) < num_objects:
            raise ValueError("Number of colors must be equal or larger than the number of objects, "
                             f"but got {len(colors)} < {num_objects}.")
    elif not isinstance(colors, (tuple, str)):
        raise ValueError(f"colors must be a tuple or a string, or a list thereof, but got {colors}.")
    elif isinstance(colors, tuple) and len(colors) != 3:
        raise ValueError(f"If passed as tuple, colors should be an RGB triplet, but got {colors}.")
    else:
        colors = [colors] * num_objects
    rgb = [ImageColor.getrgb(c) if isinstance(c, str) else c for c in colors]  # type: ignore[union-attr]
    if floating:  # [0, 255] -> [0, 1] for float images
        rgb = [tuple(v / 255 for v in c) for c in rgb]
    return rgb  # type: ignore[return-value]


def _to_uint8(image: ember.Tensor) -> ember.Tensor:
    """Float [0, 1] -> uint8 as torchvision's ``to_dtype(scale=True)``: multiply by 255.999, truncate."""
    return image.mul(255 + 1.0 - 1e-3).to(ember.uint8)


def _from_uint8(image: ember.Tensor, dtype: Any) -> ember.Tensor:
    return image.to(dtype).mul_(1.0 / 255)


def _check_rgb(image: Any) -> None:
    if not ember.is_tensor(image):
        raise TypeError(f"The image must be a tensor, got {type(image)}")
    if not (image.dtype == ember.uint8 or image.is_floating_point()):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.size(0) != 3:
        raise ValueError("Pass an RGB image. Other Image formats are not supported")


def _pil_of(image: ember.Tensor) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(image.permute(1, 2, 0).to("cpu").numpy()))


def _tensor_of(img: Image.Image, like: ember.Tensor) -> ember.Tensor:
    return ember.from_numpy(np.ascontiguousarray(np.asarray(img).transpose(2, 0, 1))).to(like.device)


def _dashed_line(draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float],
                 fill: Any, width: int, dash: float = 5, space: float = 5) -> None:
    """A 5-on/5-off dashed segment: the first edge of a rotated box, which marks its orientation."""
    (x1, y1), (x2, y2) = start, end
    remaining = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    angle = math.atan2(y2 - y1, x2 - x1)
    on = True
    while remaining > 0:
        step = min(remaining, dash if on else space)
        nx, ny = x1 + math.cos(angle) * step, y1 + math.sin(angle) * step
        if on:
            draw.line([(x1, y1), (nx, ny)], fill, width, None)
        remaining -= step
        x1, y1 = nx, ny
        on = not on


def _oriented_rectangle(draw: ImageDraw.ImageDraw, xy: list[int], fill: Any, outline: Any, width: int) -> None:
    _dashed_line(draw, (xy[0], xy[1]), (xy[2], xy[3]), outline, width)
    for i in range(2, len(xy), 2):
        draw.line(((xy[i], xy[i + 1]), (xy[(i + 2) % len(xy)], xy[(i + 3) % len(xy)])), width=width, fill=outline)
    draw.polygon(xy, fill=fill, outline=None, width=0)


@ember.no_grad()
def draw_bounding_boxes(image: ember.Tensor, boxes: ember.Tensor, labels: list[str] | None = None,
                        colors: Color | list[Color] | None = None, fill: bool | None = False, width: int = 1,
                        font: str | None = None, font_size: int | None = None,
                        label_colors: Color | list[Color] | None = None,
                        label_background_colors: Color | list[Color] | None = None,
                        fill_labels: bool = False) -> ember.Tensor:
    """Draw boxes (N, 4) as ``xyxy`` or rotated boxes (N, 8) as four corners on a (1 or 3, H, W) image.

    ``image`` is uint8 in [0, 255] or float in [0, 1]; the result has its dtype (grayscale comes back RGB).
    ``colors`` is a colour name, ``"#RRGGBB"``, an RGB tuple or a list of those (default: torchvision's
    palette); ``fill`` paints the inside at alpha 100; ``font=None`` uses Pillow's default font.

    Example:
        >>> import ember
        >>> img = ember.zeros(3, 8, 8, dtype=ember.uint8)
        >>> out = draw_bounding_boxes(img, ember.tensor([[1.0, 1.0, 6.0, 6.0]]), colors="red")
        >>> out[:, 1, 3].tolist(), out[:, 3, 3].tolist()
        ([255, 0, 0], [0, 0, 0])
    """
    if not ember.is_tensor(image):
        raise TypeError(f"Tensor expected, got {type(image)}")
    if not (image.dtype == ember.uint8 or image.is_floating_point()):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.size(0) not in {1, 3}:
        raise ValueError("Only grayscale and RGB images are supported")
    if boxes.shape[-1] == 4 and bool(((boxes[:, 0] > boxes[:, 2]).any() | (boxes[:, 1] > boxes[:, 3]).any()).item()):
        raise ValueError(
            "Boxes need to be in (xmin, ymin, xmax, ymax) format. Use torchvision.ops.box_convert to convert them")
    num_boxes = boxes.shape[0]
    if num_boxes == 0:
        # stacklevel=1: the warning names this line, as torchvision's does (2 would name no_grad's wrapper)
        warnings.warn("boxes doesn't contain any box. No box was drawn", stacklevel=1)
        return image
    if labels is None:
        labels = [None] * num_boxes  # type: ignore[list-item]
    elif len(labels) != num_boxes:
        raise ValueError(f"Number of boxes ({num_boxes}) and labels ({len(labels)}) mismatch. "
                         "Please specify labels for each box.")
    box_colors = _parse_colors(colors, num_objects=num_boxes)
    if label_colors or fill_labels:
        text_colors = _parse_colors(label_colors if label_colors else "black", num_objects=num_boxes)
    else:
        text_colors = list(box_colors)
    if fill_labels and label_background_colors:
        bg_colors = _parse_colors(label_background_colors, num_objects=num_boxes)
    else:
        bg_colors = list(box_colors)
    if font is None:
        if font_size is not None:
            warnings.warn("Argument 'font_size' will be ignored since 'font' is not set.", stacklevel=1)
        txt_font = ImageFont.load_default()
    else:
        txt_font = ImageFont.truetype(font=font, size=font_size or 10)

    if image.size(0) == 1:
        image = ember.tile(image, (3, 1, 1))
    original_dtype = image.dtype
    if image.is_floating_point():
        image = _to_uint8(image)
    canvas = _pil_of(image)
    # fill=True draws in RGBA mode so the fill (alpha 100) blends with the image below
    draw = ImageDraw.Draw(canvas, "RGBA") if fill else ImageDraw.Draw(canvas)
    for bbox, color, label, text_color, bg_color in zip(boxes.to(ember.int64).tolist(), box_colors, labels,
                                                         text_colors, bg_colors):
        fill_color = tuple(color) + (100,) if fill else None
        if len(bbox) > 4:
            _oriented_rectangle(draw, bbox, fill=fill_color, outline=color, width=width)
        else:
            draw.rectangle(bbox, width=width, outline=color, fill=fill_color)
        if label is not None:
            box_margin = 1
            margin = width + box_margin
            if fill_labels:
                left, top, right, bottom = draw.textbbox((bbox[0] + margin, bbox[1] + margin), label, font=txt_font)
                draw.rectangle((left - box_margin, top - box_margin, right + box_margin, bottom + box_margin),
                               fill=bg_color)
            draw.text((bbox[0] + margin, bbox[1] + margin), label, fill=text_color, font=txt_font)
    out = _tensor_of(canvas, image)
    return _from_uint8(out, original_dtype) if original_dtype.is_floating_point else out


@ember.no_grad()
def draw_segmentation_masks(image: ember.Tensor, masks: ember.Tensor, alpha: float = 0.8,
                            colors: Color | list[Color] | None = None) -> ember.Tensor:
    """Blend boolean masks (N, H, W) or (H, W) onto a (3, H, W) image: ``image * (1 - alpha) + painted * alpha``.

    Pixels covered by more than one mask are painted black before blending, as in torchvision.

    Example:
        >>> import ember
        >>> img = ember.full((3, 2, 2), 100, dtype=ember.uint8)
        >>> mask = ember.tensor([[True, False], [False, False]])
        >>> draw_segmentation_masks(img, mask, alpha=0.5, colors="blue")[:, 0, 0].tolist()
        [50, 50, 177]
    """
    _check_rgb(image)
    if masks.ndim == 2:
        masks = masks[None, :, :]
    if masks.ndim != 3:
        raise ValueError("masks must be of shape (H, W) or (batch_size, H, W)")
    if masks.dtype != ember.bool:
        raise ValueError(f"The masks must be of dtype bool. Got {masks.dtype}")
    if masks.shape[-2:] != image.shape[-2:]:
        raise ValueError("The image and the masks must have the same height and width")
    num_masks = masks.size(0)
    if num_masks == 0:
        warnings.warn("masks doesn't contain any mask. No mask was drawn", stacklevel=1)
        return image
    masks = masks.to(image.device)
    overlapping = masks.sum(dim=0) > 1
    original_dtype = image.dtype
    painted = image.detach().clone()
    for mask, color in zip(masks, _parse_colors(colors, num_objects=num_masks,
                                                floating=original_dtype.is_floating_point)):
        color_t = ember.tensor(color, dtype=original_dtype, device=image.device)
        painted = ember.where(mask[None], color_t[:, None, None], painted)
    painted = ember.where(overlapping[None], ember.zeros((), dtype=original_dtype, device=image.device), painted)
    out = image * (1 - alpha) + painted * alpha
    return out.to(original_dtype)


@ember.no_grad()
def draw_keypoints(image: ember.Tensor, keypoints: ember.Tensor, connectivity: list[tuple[int, int]] | None = None,
                   colors: Color | None = None, radius: int = 2, width: int = 3,
                   visibility: ember.Tensor | None = None) -> ember.Tensor:
    """Draw keypoints (N, K, 2) as ``[x, y]`` discs of ``radius`` and their ``connectivity`` lines of ``width``.

    ``visibility`` (N, K) (or (N, K, 1)) hides points and the connections that touch them.

    Example:
        >>> import ember
        >>> img = ember.zeros(3, 9, 9, dtype=ember.uint8)
        >>> out = draw_keypoints(img, ember.tensor([[[4.0, 4.0]]]), colors="white", radius=1)
        >>> out[0, 4, 3:6].tolist()
        [255, 255, 255]
    """
    _check_rgb(image)
    if keypoints.ndim != 3:
        raise ValueError("keypoints must be of shape (num_instances, K, 2)")
    if visibility is None:
        visibility = ember.ones(tuple(keypoints.shape[:-1]), dtype=ember.bool)
    if visibility.ndim == 3:  # e.g. pred.split([2, 1], dim=-1) gives (N, K, 1)
        visibility = visibility.squeeze(-1)
    if visibility.ndim != 2:
        raise ValueError(f"visibility must be of shape (num_instances, K). Got ndim={visibility.ndim}")
    if tuple(visibility.shape) != tuple(keypoints.shape[:-1]):
        raise ValueError("keypoints and visibility must have the same dimensionality for num_instances and K. "
                         f"Got visibility.shape={visibility.shape} and keypoints.shape={keypoints.shape}")
    original_dtype = image.dtype
    if image.is_floating_point():
        image = _to_uint8(image)
    canvas = _pil_of(image)
    draw = ImageDraw.Draw(canvas)
    for kpts, vis in zip(keypoints.to(ember.int64).tolist(), visibility.to("cpu").bool().tolist()):
        for (x, y), visible in zip(kpts, vis):
            if visible:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colors, outline=None, width=0)
        for a, b in connectivity or ():
            if vis[a] and vis[b]:
                draw.line(((kpts[a][0], kpts[a][1]), (kpts[b][0], kpts[b][1])), width=width)
    out = _tensor_of(canvas, image)
    return _from_uint8(out, original_dtype) if original_dtype.is_floating_point else out


def _make_colorwheel() -> ember.Tensor:
    """The (55, 3) Middlebury colour wheel (Baker et al., ICCV 2007) in float32."""
    segments = ((15, (255, None, 0), 1, True), (6, (None, 255, 0), 0, False), (4, (0, 255, None), 2, True),
                (11, (0, None, 255), 1, False), (13, (None, 0, 255), 0, True), (6, (255, 0, None), 2, False))
    rows = []
    for n, fixed, ramp_channel, rising in segments:
        ramp = np.floor(255 * np.arange(n) / n)
        block = np.zeros((n, 3))
        for c, v in enumerate(fixed):
            if v is not None:
                block[:, c] = v
        block[:, ramp_channel] = ramp if rising else 255 - ramp
        rows.append(block)
    return ember.from_numpy(np.concatenate(rows).astype(np.float32))


@ember.no_grad()
def flow_to_image(flow: ember.Tensor) -> ember.Tensor:
    """Colour an optical flow (2, H, W) or (N, 2, H, W) float32 by direction, brightness by magnitude (uint8).

    Example:
        >>> import ember
        >>> flow_to_image(ember.zeros(2, 1, 1)).tolist()   # no motion: white
        [[[255]], [[255]], [[255]]]
    """
    if flow.dtype != ember.float32:
        raise ValueError(f"Flow should be of dtype torch.float, got {flow.dtype}.")
    orig_shape = flow.shape
    if flow.ndim == 3:
        flow = flow[None]
    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"Input flow should have shape (2, H, W) or (N, 2, H, W), got {orig_shape}.")
    max_norm = ember.sum(flow.pow(2), dim=1).sqrt().max()
    normalized = flow / (max_norm + ember.finfo(flow.dtype).eps)
    wheel = _make_colorwheel().to(flow.device)
    num_cols = wheel.shape[0]
    norm = ember.sum(normalized.pow(2), dim=1).sqrt()
    a = ember.atan2(-normalized[:, 1], -normalized[:, 0]) / math.pi
    fk = (a + 1) / 2 * (num_cols - 1)
    k0 = ember.floor(fk).to(ember.int64)
    k1 = k0 + 1
    k1 = ember.where(k1 == num_cols, ember.zeros_like(k1), k1)
    f = fk - k0
    channels = []
    for c in range(wheel.shape[1]):
        tmp = wheel[:, c]
        col0, col1 = tmp[k0] / 255.0, tmp[k1] / 255.0
        col = (1 - f) * col0 + f * col1
        col = 1 - norm * (1 - col)
        channels.append(ember.floor(255 * col).to(ember.uint8))
    img = ember.stack(channels, dim=1)
    return img[0] if len(orig_shape) == 3 else img
