"""PyTorch's ``torch.nn.modules.instancenorm`` names (the classes live in ``normalization`` and ``lazy``).

Example:
    >>> from ember import nn
    >>> from ember.nn.modules.instancenorm import _InstanceNorm
    >>> isinstance(nn.InstanceNorm2d(3), _InstanceNorm)
    True
"""

from __future__ import annotations

from ember.nn.modules.lazy import LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d
from ember.nn.modules.normalization import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d", "_InstanceNorm"]
