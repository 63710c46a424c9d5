"""``ember.nn``: modules, layers, losses, ``functional``, ``init`` and ``utils`` (``torch.nn``).

Example:
    >>> import ember
    >>> from ember import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> net(ember.randn(3, 4)).shape
    ember.Size([3, 2])
"""

from ember.nn import functional, grad, init, modules, parallel, utils
from ember.nn.modules import *  # noqa: F403 - every layer, as listed by ember.nn.modules.__all__
from ember.nn.parallel import DataParallel
from ember.nn.parameter import Buffer, Parameter

__all__ = ["Buffer", "Parameter", "functional", "grad", "init", "parallel", "utils", "DataParallel", *modules.__all__]


# a submodule not imported yet, by name (``ember.nn.attention`` after ``import ember``, as in PyTorch)
from ember import _lazy_submodules  # noqa: E402

__getattr__ = _lazy_submodules.package_getattr(__name__, __path__[0])  # noqa: F405 - the package's own __path__
