"""BoundingBoxes (with their format, canvas size and clamping mode) and KeyPoints."""

from __future__ import annotations

from enum import Enum
from typing import Any

from ember import Tensor

from ._tv_tensor import TVTensor


class BoundingBoxFormat(Enum):
    """How a box's coordinates are laid out: corners (``XYXY``), corner and size (``XYWH``), centre and
    size (``CXCYWH``), and the rotated ``XYWHR``, ``CXCYWHR`` (angle in degrees) and ``XYXYXYXY``."""

    XYXY = "XYXY"
    XYWH = "XYWH"
    CXCYWH = "CXCYWH"
    XYWHR = "XYWHR"
    CXCYWHR = "CXCYWHR"
    XYXYXYXY = "XYXYXYXY"


def is_rotated_bounding_format(format: BoundingBoxFormat | str) -> bool:
    """True for the rotated formats (``XYWHR``, ``CXCYWHR``, ``XYXYXYXY``)."""
    if isinstance(format, BoundingBoxFormat):
        return format in (BoundingBoxFormat.XYWHR, BoundingBoxFormat.CXCYWHR, BoundingBoxFormat.XYXYXYXY)
    if isinstance(format, str):
        return format in ("XYWHR", "CXCYWHR", "XYXYXYXY")
    raise ValueError(f"format should be str or BoundingBoxFormat, got {type(format)}")


class BoundingBoxes(TVTensor):
    """Boxes ``[N, K]`` on an image of ``canvas_size`` (h, w); K is 4 (5 or 8 for rotated formats).

    Example:
        >>> from ember.vision import tv_tensors
        >>> b = tv_tensors.BoundingBoxes([1, 2, 3, 4], format="xywh", canvas_size=(10, 10))
        >>> tuple(b.shape), b.format
        ((1, 4), <BoundingBoxFormat.XYWH: 'XYWH'>)
    """

    format: BoundingBoxFormat
    canvas_size: tuple[int, int]
    clamping_mode: str | None

    @classmethod
    def _wrap(cls, tensor: Tensor, *, format: BoundingBoxFormat | str, canvas_size: tuple[int, int],  # type: ignore[override]
              clamping_mode: str | None = "soft", check_dims: bool = True) -> BoundingBoxes:
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.ndim != 2:
                raise ValueError(f"Expected a 1D or 2D tensor, got {tensor.ndim}D")
        if clamping_mode is not None and clamping_mode not in ("hard", "soft"):
            raise ValueError(f"clamping_mode must be None, hard or soft, got {clamping_mode}.")
        if isinstance(format, str):
            format = BoundingBoxFormat[format.upper()]
        out = tensor.as_subclass(cls)
        out.format = format
        out.canvas_size = tuple(canvas_size)
        out.clamping_mode = clamping_mode
        return out

    @classmethod
    def wrap(cls, tensor: Tensor, like: BoundingBoxes, **kwargs: Any) -> BoundingBoxes:
        """``tensor`` as boxes with ``like``'s metadata (``format``/``canvas_size``/``clamping_mode`` override)."""
        return cls._wrap(tensor, format=kwargs.get("format", like.format),
                         canvas_size=kwargs.get("canvas_size", like.canvas_size),
                         clamping_mode=kwargs.get("clamping_mode", like.clamping_mode), check_dims=False)

    def __new__(cls, data: Any, *, format: BoundingBoxFormat | str, canvas_size: tuple[int, int],
                clamping_mode: str | None = "soft", dtype: Any = None, device: Any = None,
                requires_grad: bool | None = None) -> BoundingBoxes:
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if not tensor.is_floating_point() and is_rotated_bounding_format(format):
            raise ValueError(f"Rotated bounding boxes should be floating point tensors, got {tensor.dtype}.")
        return cls._wrap(tensor, format=format, canvas_size=canvas_size, clamping_mode=clamping_mode)

    def _extra_repr(self) -> str:
        return f"format={self.format}, canvas_size={self.canvas_size}, clamping_mode={self.clamping_mode}"


class KeyPoints(TVTensor):
    """Points ``[..., 2]`` (x, y) on an image of ``canvas_size`` (h, w).

    Example:
        >>> from ember.vision import tv_tensors
        >>> tuple(tv_tensors.KeyPoints([1.0, 2.0], canvas_size=(4, 4)).shape)
        (1, 2)
    """

    canvas_size: tuple[int, int]

    @classmethod
    def _wrap(cls, tensor: Tensor, *, canvas_size: tuple[int, int], check_dims: bool = True) -> KeyPoints:  # type: ignore[override]
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.shape[-1] != 2:
                raise ValueError(f"Expected a tensor of shape (..., 2), not {tensor.shape}")
        out = tensor.as_subclass(cls)
        out.canvas_size = tuple(canvas_size)
        return out

    @classmethod
    def wrap(cls, tensor: Tensor, like: KeyPoints, **kwargs: Any) -> KeyPoints:
        """``tensor`` as key points with ``like``'s ``canvas_size`` (or ``canvas_size=``)."""
        return cls._wrap(tensor, canvas_size=kwargs.get("canvas_size", like.canvas_size), check_dims=False)

    def __new__(cls, data: Any, *, canvas_size: tuple[int, int], dtype: Any = None, device: Any = None,
                requires_grad: bool | None = None) -> KeyPoints:
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return cls._wrap(tensor, canvas_size=canvas_size)

    def _extra_repr(self) -> str:
        return f"canvas_size={self.canvas_size}"
