"""torchvision's model-building helpers (torchvision/models/_utils.py): ``IntermediateLayerGetter``, which
returns a backbone's inner feature maps by name (the segmentation and detection models' backbones), the
keyword checks ``_ovewrite_named_param`` / ``_ovewrite_value_param``, ``_make_divisible`` and the
``handle_legacy_interface`` decorator that maps the deprecated ``pretrained=True`` onto ``weights=``.

Example:
    >>> import ember
    >>> from ember.vision.models import resnet18
    >>> body = IntermediateLayerGetter(resnet18(), {"layer1": "feat1", "layer3": "feat2"})
    >>> out = body(ember.zeros(1, 3, 64, 64))
    >>> [(k, tuple(v.shape)) for k, v in out.items()]
    [('feat1', (1, 64, 16, 16)), ('feat2', (1, 256, 4, 4))]
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import ember
from ember import nn

from ._weights import WeightsEnum
from ._weights_classic import _ovewrite_named_param
from .mobilenetv2 import _make_divisible

__all__ = ["IntermediateLayerGetter", "_make_divisible", "_ovewrite_named_param", "_ovewrite_value_param",
           "handle_legacy_interface", "kwonly_to_pos_or_kw"]

V = TypeVar("V")
D = TypeVar("D")


class IntermediateLayerGetter(nn.ModuleDict):
    """The direct children of ``model`` up to the last one named in ``return_layers``, run in order; the
    forward returns an ``OrderedDict`` of the outputs of the children in ``return_layers``, under their new
    names. It assumes the children were registered in the order the model runs them, and each is used once.

    ``return_layers`` maps a child's name to the name of its output, e.g. ``{"layer4": "out"}``.
    """

    _version = 2

    def __init__(self, model: nn.Module, return_layers: dict[str, str]) -> None:
        if not set(return_layers).issubset([name for name, _ in model.named_children()]):
            raise ValueError("return_layers are not present in model")
        wanted = {str(k) for k in return_layers}
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for name, module in model.named_children():
            layers[name] = module
            wanted.discard(name)
            if not wanted:  # the children after the last returned one are never run: leave them out
                break
        super().__init__(layers)
        self.return_layers = return_layers

    def forward(self, x: ember.Tensor) -> OrderedDict[str, ember.Tensor]:
        out: OrderedDict[str, ember.Tensor] = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


def _ovewrite_value_param(param: str, actual: V | None, expected: V) -> V:
    """``expected``; a caller's different (not None) ``actual`` raises torchvision's ValueError."""
    if actual is not None and actual != expected:
        raise ValueError(f"The parameter '{param}' expected value {expected} but got {actual} instead.")
    return expected


def kwonly_to_pos_or_kw(fn: Callable[..., D]) -> Callable[..., D]:
    """Let ``fn``'s keyword-only parameters also be passed by position, with torchvision's deprecation
    warning (builders took ``pretrained`` positionally before 0.13)."""
    params = list(inspect.signature(fn).parameters.values())
    try:
        start = next(i for i, p in enumerate(params) if p.kind == p.KEYWORD_ONLY)
    except StopIteration:
        raise TypeError(f"Found no keyword-only parameter on function '{fn.__name__}'") from None
    kw_names = [p.name for p in params[start:]]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> D:
        args, extra = args[:start], args[start:]
        if extra:
            moved = dict(zip(kw_names, extra))
            names = list(moved)
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            warnings.warn(f"Using {listed} as positional parameter(s) is deprecated since 0.13 and may be removed in "
                          "the future. Please use keyword parameter(s) instead.", stacklevel=2)
            kwargs.update(moved)
        return fn(*args, **kwargs)

    return wrapper


def handle_legacy_interface(**weights: tuple[str, Any]) -> Callable[[Callable[..., D]], Callable[..., D]]:
    """Map each deprecated flag onto its weights parameter, as torchvision: ``weights_param=(flag, default)``
    turns ``flag=True`` into ``weights_param=default`` (``default`` may be a function of the keyword
    arguments) and ``flag=False`` into ``None``, with torchvision's two warnings."""

    def outer(builder: Callable[..., D]) -> Callable[..., D]:
        @kwonly_to_pos_or_kw
        @functools.wraps(builder)
        def inner(*args: Any, **kwargs: Any) -> D:
            for weights_param, (pretrained_param, default) in weights.items():
                missing = object()
                value = kwargs.get(weights_param, missing)
                if ((weights_param not in kwargs and pretrained_param not in kwargs)
                        or isinstance(value, WeightsEnum) or (isinstance(value, str) and value != "legacy")
                        or value is None):
                    continue  # the new interface is in use: nothing to map
                # a positional ``pretrained`` arrives under the weights parameter's name (the signature's)
                positional = value is not missing
                if positional:
                    kwargs[pretrained_param] = pretrained = kwargs.pop(weights_param)
                else:
                    pretrained = kwargs[pretrained_param]
                if pretrained:
                    chosen = default(kwargs) if callable(default) else default
                    if not isinstance(chosen, WeightsEnum):
                        raise ValueError(f"No weights available for model {builder.__name__}")
                else:
                    chosen = None
                if not positional:
                    warnings.warn(f"The parameter '{pretrained_param}' is deprecated since 0.13 and may be removed in "
                                  f"the future, please use '{weights_param}' instead.", stacklevel=3)
                msg = (f"Arguments other than a weight enum or `None` for '{weights_param}' are deprecated since 0.13 "
                       "and may be removed in the future. The current behavior is equivalent to passing "
                       f"`{weights_param}={chosen}`.")
                if pretrained:
                    msg += (f" You can also use `{weights_param}={type(chosen).__name__}.DEFAULT` to get the most "
                            "up-to-date weights.")
                warnings.warn(msg, stacklevel=3)
                del kwargs[pretrained_param]
                kwargs[weights_param] = chosen
            return builder(*args, **kwargs)

        return inner

    return outer
