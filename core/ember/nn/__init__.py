"""``ember.nn``: modules, layers, losses, ``functional``, ``init`` and ``utils`` (``torch.nn``).

Example:
    >>> import ember
    >>> from ember import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> net(ember.randn(3, 4)).shape
    ember.Size([3, 2])
"""

from ember.nn import functional, init, modules, parallel, utils
from ember.nn.modules import *  # noqa: F403 - every layer, as listed by ember.nn.modules.__all__
from ember.nn.parallel import DataParallel
from ember.nn.parameter import Buffer, Parameter

__all__ = ["Buffer", "Parameter", "functional", "init", "parallel", "utils", "DataParallel", *modules.__all__]
