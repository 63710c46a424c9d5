"""PyTorch's ``torch.nn.modules.batchnorm`` names, where code imports them from (``_BatchNorm`` in
``isinstance`` checks of weight-decay and init loops). The classes live in ``normalization`` and
``lazy``; this module only gives them PyTorch's address.

Example:
    >>> from ember import nn
    >>> from ember.nn.modules.batchnorm import _BatchNorm
    >>> isinstance(nn.BatchNorm2d(3), _BatchNorm), isinstance(nn.LayerNorm(3), _BatchNorm)
    (True, False)
"""

from __future__ import annotations

from ember.nn.modules.lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d
from ember.nn.modules.lazy import _LazyNormMixin as _LazyNormBase
from ember.nn.modules.normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, SyncBatchNorm, _BatchNorm, _NormBase

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "SyncBatchNorm", "_BatchNorm", "_LazyNormBase", "_NormBase"]
