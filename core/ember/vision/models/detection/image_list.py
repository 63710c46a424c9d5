"""``ImageList``: a padded batch of images together with each image's size before padding.

Example:
    >>> import ember
    >>> il = ImageList(ember.zeros(2, 3, 32, 32), [(30, 20), (32, 32)])
    >>> il.image_sizes
    [(30, 20), (32, 32)]
"""

from __future__ import annotations

import ember

__all__ = ["ImageList"]


class ImageList:
    """``tensors [N, C, H, W]`` (zero-padded) and ``image_sizes``, the ``(h, w)`` each image really has."""

    def __init__(self, tensors: ember.Tensor, image_sizes: list[tuple[int, int]]) -> None:
        self.tensors = tensors
        self.image_sizes = image_sizes

    def to(self, device: ember.device | str) -> ImageList:
        return ImageList(self.tensors.to(device), self.image_sizes)
