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


def __getattr__(name: str) -> object:
    """A submodule not imported yet (``ember.nn.<name>`` after ``import ember``, as in PyTorch)."""
    from ember._lazy_submodules import submodule

    mod = submodule(__name__, __path__[0], name)  # noqa: F405 - the package's own __path__
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return mod
