"""The v2 Transform base class: flatten any sample (tuples, lists, dicts, nested) with ember's pytree,
decide which leaves to transform, draw the parameters once, transform each leaf with its kernel."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image as _PIL

import ember
from ember import Tensor, nn
from ember.utils._pytree import tree_flatten, tree_unflatten
from ember.vision import tv_tensors
from ember.vision.transforms.functional import InterpolationMode

from .functional import get_dimensions, get_size
from .functional._utils import _get_kernel, is_pure_tensor


def check_type(obj: Any, types_or_checks: tuple) -> bool:
    for type_or_check in types_or_checks:
        if isinstance(obj, type_or_check) if isinstance(type_or_check, type) else type_or_check(obj):
            return True
    return False


def has_any(flat_inputs: list[Any], *types_or_checks: Any) -> bool:
    return any(check_type(inpt, types_or_checks) for inpt in flat_inputs)


def has_all(flat_inputs: list[Any], *types_or_checks: Any) -> bool:
    return all(has_any(flat_inputs, t) for t in types_or_checks)


def _sequence_to_str(seq: Sequence, separate_last: str = "") -> str:
    if not seq:
        return ""
    if len(seq) == 1:
        return f"'{seq[0]}'"
    head = "'" + "', '".join([str(item) for item in seq[:-1]]) + "'"
    tail = f"{'' if separate_last and len(seq) == 2 else ','} {separate_last}'{seq[-1]}'"
    return head + tail


def query_chw(flat_inputs: list[Any]) -> tuple[int, int, int]:
    """The one (C, H, W) of the images and videos in the sample."""
    chws = {tuple(get_dimensions(inpt)) for inpt in flat_inputs
            if check_type(inpt, (is_pure_tensor, tv_tensors.Image, _PIL.Image, tv_tensors.Video))}
    if not chws:
        raise TypeError("No image or video was found in the sample")
    if len(chws) > 1:
        raise ValueError(f"Found multiple CxHxW dimensions in the sample: {_sequence_to_str(sorted(chws))}")
    c, h, w = chws.pop()
    return c, h, w


def query_size(flat_inputs: list[Any]) -> tuple[int, int]:
    """The one (H, W) of the images, videos, masks, boxes and key points in the sample."""
    sizes = {tuple(get_size(inpt)) for inpt in flat_inputs
             if check_type(inpt, (is_pure_tensor, tv_tensors.Image, _PIL.Image, tv_tensors.Video, tv_tensors.Mask,
                                  tv_tensors.BoundingBoxes, tv_tensors.KeyPoints))}
    if not sizes:
        raise TypeError("No image, video, mask, bounding box of keypoint was found in the sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: {_sequence_to_str(sorted(sizes))}")
    h, w = sizes.pop()
    return h, w


def get_bounding_boxes(flat_inputs: list[Any]) -> tv_tensors.BoundingBoxes:
    """The (single) BoundingBoxes of the sample."""
    try:
        return next(inpt for inpt in flat_inputs if isinstance(inpt, tv_tensors.BoundingBoxes))
    except StopIteration:
        raise ValueError("No bounding boxes were found in the sample") from None


class Transform(nn.Module):
    """Base class of the v2 transforms: override ``make_params`` (drawn once per call) and ``transform``
    (applied to each leaf of the sample that ``_transformed_types`` selects).

    Example:
        >>> import ember
        >>> from ember.vision.transforms import v2
        >>> class AddOne(v2.Transform):
        ...     def transform(self, inpt, params):
        ...         return inpt + 1
        >>> AddOne()({"x": ember.zeros(1, 2, 2), "label": 3})["label"]
        3
    """

    _transformed_types: tuple[type | Callable[[Any], bool], ...] = (Tensor, _PIL.Image)

    def check_inputs(self, flat_inputs: list[Any]) -> None:
        pass

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {}

    def _call_kernel(self, functional: Callable, inpt: Any, *args: Any, **kwargs: Any) -> Any:
        kernel = _get_kernel(functional, type(inpt), allow_passthrough=True)
        return kernel(inpt, *args, **kwargs)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def forward(self, *inputs: Any) -> Any:
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        self.check_inputs(flat_inputs)
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([inpt for inpt, n in zip(flat_inputs, needs) if n])
        flat_outputs = [self.transform(inpt, params) if n else inpt for inpt, n in zip(flat_inputs, needs)]
        return tree_unflatten(flat_outputs, spec)

    def _needs_transform_list(self, flat_inputs: list[Any]) -> list[bool]:
        # A plain tensor is the image only when the sample has no other image: then the first one is.
        # Later plain tensors (labels, ...) pass through untouched.
        transform_pure_tensor = not has_any(flat_inputs, tv_tensors.Image, tv_tensors.Video, _PIL.Image)
        needs = []
        for inpt in flat_inputs:
            need = True
            if not check_type(inpt, self._transformed_types):
                need = False
            elif is_pure_tensor(inpt):
                if transform_pure_tensor:
                    transform_pure_tensor = False
                else:
                    need = False
            needs.append(need)
        return needs

    def extra_repr(self) -> str:
        extra = []
        for name, value in self.__dict__.items():
            if name.startswith("_") or name == "training":
                continue
            if not isinstance(value, (bool, int, float, str, tuple, list, enum.Enum)):
                continue
            if isinstance(value, InterpolationMode):  # torchvision 0.28's v2 transforms hold it as its string
                value = value.value
            extra.append(f"{name}={value}")
        return ", ".join(extra)


class _RandomApplyTransform(Transform):
    def __init__(self, p: float = 0.5) -> None:
        if not (0.0 <= p <= 1.0):
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        super().__init__()
        self.p = p

    def forward(self, *inputs: Any) -> Any:
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        self.check_inputs(flat_inputs)
        if ember.rand(1) >= self.p:
            return inputs
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([inpt for inpt, n in zip(flat_inputs, needs) if n])
        flat_outputs = [self.transform(inpt, params) if n else inpt for inpt, n in zip(flat_inputs, needs)]
        return tree_unflatten(flat_outputs, spec)


# ---- argument helpers shared by the transforms ----------------------------------------------------
def _setup_number_or_seq(arg: Any, name: str) -> list[float]:
    if not isinstance(arg, (int, float, Sequence)):
        raise TypeError(f"{name} should be a number or a sequence of numbers. Got {type(arg)}")
    if isinstance(arg, Sequence) and len(arg) not in (1, 2):
        raise ValueError(f"If {name} is a sequence its length should be 1 or 2. Got {len(arg)}")
    if isinstance(arg, Sequence):
        for element in arg:
            if not isinstance(element, (int, float)):
                raise ValueError(f"{name} should be a sequence of numbers. Got {type(element)}")
    if isinstance(arg, (int, float)):
        return [float(arg), float(arg)]
    return [float(arg[0]), float(arg[0])] if len(arg) == 1 else [float(arg[0]), float(arg[1])]


def _check_fill_arg(fill: Any) -> None:
    import numbers

    if isinstance(fill, dict):
        for value in fill.values():
            _check_fill_arg(value)
    elif fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg, only Numbers, tuples, lists and dicts are allowed.")


def _convert_fill_arg(fill: Any) -> Any:
    if fill is None or isinstance(fill, (int, float)):
        return fill
    return [float(v) for v in list(fill)]


def _setup_fill_arg(fill: Any) -> dict:
    _check_fill_arg(fill)
    if isinstance(fill, dict):
        return {k: _convert_fill_arg(v) for k, v in fill.items()}
    return {"others": _convert_fill_arg(fill)}


def _get_fill(fill_dict: dict, inpt_type: type) -> Any:
    if inpt_type in fill_dict:
        return fill_dict[inpt_type]
    return fill_dict.get("others")


def _check_padding_arg(padding: Any) -> None:
    err_msg = f"Padding must be an int or a 1, 2, or 4 element of tuple or list, got {padding}."
    if isinstance(padding, (tuple, list)):
        if len(padding) not in [1, 2, 4] or not all(isinstance(p, int) for p in padding):
            raise ValueError(err_msg)
    elif not isinstance(padding, int):
        raise ValueError(err_msg)


def _check_padding_mode_arg(padding_mode: str) -> None:
    if padding_mode not in ["constant", "edge", "reflect", "symmetric"]:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")


def _uniform(low: float, high: float) -> float:
    """One draw of ``torch.empty(1).uniform_(low, high).item()``."""
    return ember.empty(1).uniform_(low, high).item()
