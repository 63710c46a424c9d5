"""``ember.nn``: modules, layers, losses, ``functional``, ``init`` and ``utils`` (``torch.nn``).

Example:
    >>> import ember
    >>> from ember import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> net(ember.randn(3, 4)).shape
    ember.Size([3, 2])
"""

from ember.nn import functional, init, utils
from ember.nn.modules import *  # noqa: F403 - the module list is spelled out in modules/__init__.py
from ember.nn.modules import __all__ as _modules_all
from ember.nn.parameter import Buffer, Parameter

__all__ = ["Buffer", "Parameter", "functional", "init", "utils", *_modules_all]
