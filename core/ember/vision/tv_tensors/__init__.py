"""torchvision.tv_tensors: Tensor subclasses that tell the v2 transforms what a tensor holds.

``Image``, ``Video``, ``Mask``, ``BoundingBoxes`` (with ``format`` and ``canvas_size``) and ``KeyPoints``
are ember Tensors. As in torchvision, most ops on them return plain tensors (the metadata would be
stale); ``clone``, ``to``, ``detach`` and ``requires_grad_`` keep the type, and ``wrap`` re-attaches it.

Example:
    >>> import ember
    >>> from ember.vision import tv_tensors
    >>> boxes = tv_tensors.BoundingBoxes([[0, 0, 4, 4]], format="XYXY", canvas_size=(8, 8))
    >>> type(boxes + 1).__name__, type(boxes.clone()).__name__, boxes.canvas_size
    ('Tensor', 'BoundingBoxes', (8, 8))
"""

from __future__ import annotations

from ._bounding_boxes import BoundingBoxes, BoundingBoxFormat, KeyPoints, is_rotated_bounding_format
from ._tv_tensor import Image, Mask, TVTensor, Video

__all__ = ["BoundingBoxFormat", "BoundingBoxes", "Image", "KeyPoints", "Mask", "TVTensor", "Video",
           "is_rotated_bounding_format", "wrap"]


def wrap(wrappee: object, *, like: TVTensor, **kwargs: object) -> TVTensor:
    """``wrappee`` (a tensor) as the same tv_tensor type as ``like``, with its metadata (``kwargs`` override it).

    Example:
        >>> import ember
        >>> from ember.vision import tv_tensors
        >>> img = tv_tensors.Image(ember.zeros(3, 2, 2))
        >>> type(tv_tensors.wrap(img * 2, like=img)).__name__
        'Image'
    """
    if isinstance(like, (BoundingBoxes, KeyPoints)):
        return type(like).wrap(wrappee, like, **kwargs)
    return wrappee.as_subclass(type(like))
