"""All ``nn`` modules, re-exported by ``ember.nn``.

Each submodule lists its public classes in its ``__all__``; this package re-exports exactly those
(``module`` contributes only ``Module``), so a new layer is declared once, in its own file, and its
file is named once, below.
"""

import importlib as _importlib

from ember.nn.modules.module import Module

_SUBMODULES = ("activation", "adaptive", "channelshuffle", "container", "conv", "distance", "dropout", "flatten",
               "fold", "lazy", "linear", "loss", "normalization", "padding", "pixelshuffle", "pooling", "rnn",
               "sparse", "transformer", "upsampling")

__all__ = ["Module"]
for _name in _SUBMODULES:
    _module = _importlib.import_module(f"{__name__}.{_name}")
    globals().update({n: getattr(_module, n) for n in _module.__all__})
    __all__ += _module.__all__
__all__ = sorted(set(__all__))


# a submodule not imported yet, by name (``ember.nn.attention`` after ``import ember``, as in PyTorch)
from ember import _lazy_submodules  # noqa: E402

__getattr__ = _lazy_submodules.package_getattr(__name__, __path__[0])
