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


def __getattr__(name: str) -> object:
    """A submodule not imported yet (``ember.nn.modules.batchnorm``, as in PyTorch)."""
    from ember._lazy_submodules import submodule

    mod = submodule(__name__, __path__[0], name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return mod
