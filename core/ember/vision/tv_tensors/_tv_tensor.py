"""The tv_tensor base class and the image-like types (Image, Video, Mask)."""

from __future__ import annotations

from typing import Any

from PIL import Image as _PIL

import ember
from ember import Tensor


class TVTensor(Tensor):
    """Base class of the tv_tensors: an ember Tensor whose type tells a v2 transform what it holds.

    Ops return plain ``Tensor``s (ember builds op outputs as ``Tensor``), except the few PyTorch keeps
    the subclass for in torchvision (``clone``, ``to``, ``detach``, ``requires_grad_``, ``pin_memory``).
    """

    @staticmethod
    def _to_tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool | None = None) -> Tensor:
        if requires_grad is None:
            requires_grad = data.requires_grad if isinstance(data, Tensor) else False
        t = ember.as_tensor(data, dtype=dtype, device=device)
        if isinstance(t, TVTensor):
            t = t.as_subclass(Tensor)
        return t.requires_grad_(requires_grad)

    @classmethod
    def _wrap(cls, tensor: Tensor) -> TVTensor:
        return tensor.as_subclass(cls)

    def _rewrap(self, out: Any) -> Any:
        """``out`` (an op's result on ``self``) with ``self``'s type and metadata."""
        from . import wrap

        if isinstance(out, Tensor) and not isinstance(out, type(self)):
            return wrap(out, like=self)
        if isinstance(out, type(self)) and out is not self:
            for k in ("format", "canvas_size", "clamping_mode"):
                if hasattr(self, k) and not hasattr(out, k):
                    setattr(out, k, getattr(self, k))
        return out

    def clone(self, *args: Any, **kwargs: Any) -> Any:
        return self._rewrap(Tensor.clone(self, *args, **kwargs))

    def to(self, *args: Any, **kwargs: Any) -> Any:
        return self._rewrap(Tensor.to(self, *args, **kwargs))

    def detach(self) -> Any:
        return self._rewrap(Tensor.detach(self))

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        return self._rewrap(Tensor.requires_grad_(self, requires_grad))

    def pin_memory(self, *args: Any, **kwargs: Any) -> Any:
        return self._rewrap(Tensor.pin_memory(self, *args, **kwargs))

    def __deepcopy__(self, memo: dict) -> Any:
        return self._rewrap(Tensor.__deepcopy__(self.as_subclass(Tensor), memo))

    def __reduce_ex__(self, protocol: int) -> Any:
        from ember.serialization import _rebuild_tensor_pickle

        meta = {k: getattr(self, k) for k in ("format", "canvas_size", "clamping_mode") if hasattr(self, k)}
        plain = (_rebuild_tensor_pickle, (self.detach().cpu().numpy(), str(self.device), self.requires_grad))
        return _rebuild_tv_tensor, (type(self), plain, meta)

    def _extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        body = repr(self.as_subclass(Tensor))
        body = body[len("tensor("):-1] if body.startswith("tensor(") else body
        extra = self._extra_repr()
        return f"{type(self).__name__}({body}{', ' + extra if extra else ''})"


def _plain_method(name: str) -> Any:
    def method(self: TVTensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.as_subclass(Tensor), name)(*args, **kwargs)

    method.__name__ = name
    return method


# dtype/device shorthands are ops of their own in PyTorch (not ``to``): they return plain tensors
for _name in ("float", "double", "half", "bfloat16", "int", "long", "short", "char", "byte", "bool", "cpu", "cuda"):
    setattr(TVTensor, _name, _plain_method(_name))


def _rebuild_tv_tensor(cls: type, plain: tuple, meta: dict) -> Any:
    fn, args = plain
    out = fn(*args).as_subclass(cls)
    for k, v in meta.items():
        setattr(out, k, v)
    return out


class Image(TVTensor):
    """An image tensor ``[..., C, H, W]``; a PIL image is read as ``pil_to_tensor`` does, a 2-d tensor gets C=1.

    Example:
        >>> import ember
        >>> from ember.vision import tv_tensors
        >>> tuple(tv_tensors.Image(ember.zeros(4, 5)).shape)
        (1, 4, 5)
    """

    def __new__(cls, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool | None = None) -> Image:
        if isinstance(data, _PIL.Image):
            from ember.vision.transforms import functional as _F

            data = _F.pil_to_tensor(data)
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 2:
            raise ValueError
        if tensor.ndim == 2:
            tensor = tensor.unsqueeze(0)
        return tensor.as_subclass(cls)


class Video(TVTensor):
    """A video tensor ``[..., T, C, H, W]``.

    Example:
        >>> import ember
        >>> from ember.vision import tv_tensors
        >>> type(tv_tensors.Video(ember.zeros(2, 3, 4, 4))).__name__
        'Video'
    """

    def __new__(cls, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool | None = None) -> Video:
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 4:
            raise ValueError
        return tensor.as_subclass(cls)


class Mask(TVTensor):
    """A segmentation or detection mask ``[..., H, W]`` (a PIL image is read as ``pil_to_tensor`` does).

    Example:
        >>> import ember
        >>> from ember.vision import tv_tensors
        >>> tv_tensors.Mask(ember.zeros(2, 3, dtype=ember.bool)).dtype
        ember.bool
    """

    def __new__(cls, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool | None = None) -> Mask:
        if isinstance(data, _PIL.Image):
            from ember.vision.transforms import functional as _F

            data = _F.pil_to_tensor(data)
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return tensor.as_subclass(cls)
