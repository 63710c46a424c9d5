"""``make_grid`` and ``save_image``, as in torchvision.utils.

The grid is built with tensor operations on the images' own device; only ``save_image`` brings the
final uint8 grid to the host for Pillow.

Example:
    >>> import ember
    >>> tuple(make_grid(ember.zeros(5, 1, 4, 4), nrow=2, padding=1).shape)
    (3, 16, 11)
"""

from __future__ import annotations

import math
import os
from typing import IO, Any

from PIL import Image

import ember

__all__ = ["make_grid", "save_image"]


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
