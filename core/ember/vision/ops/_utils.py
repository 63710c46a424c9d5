"""Helpers of ``torchvision.ops._utils`` that training code calls directly.

torchvision's classification reference splits a model's parameters for ``--norm-weight-decay``
with :func:`split_normalization_params`:

    >>> from ember import nn
    >>> m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    >>> norm, other = split_normalization_params(m)
    >>> len(norm), len(other)
    (2, 2)
"""

from __future__ import annotations

from typing import Any

from ember import nn
from ember.nn.modules.batchnorm import _BatchNorm
from ember.nn.modules.instancenorm import _InstanceNorm

__all__ = ["split_normalization_params"]


def split_normalization_params(model: nn.Module, norm_classes: list[type] | None = None) -> tuple[list[Any], list[Any]]:
    """(parameters of normalization layers, every other parameter), trainable ones only, in
    ``model.modules()`` order; a container's own parameters count as "other"."""
    if not norm_classes:
        norm_classes = [_BatchNorm, nn.LayerNorm, nn.GroupNorm, _InstanceNorm, nn.LocalResponseNorm]
    for t in norm_classes:
        if not issubclass(t, nn.Module):
            raise ValueError(f"Class {t} is not a subclass of nn.Module.")
    classes = tuple(norm_classes)
    norm_params: list[Any] = []
    other_params: list[Any] = []
    for module in model.modules():
        if next(module.children(), None):  # a container: only what it holds itself
            other_params.extend(p for p in module.parameters(recurse=False) if p.requires_grad)
        elif isinstance(module, classes):
            norm_params.extend(p for p in module.parameters() if p.requires_grad)
        else:
            other_params.extend(p for p in module.parameters() if p.requires_grad)
    return norm_params, other_params
