"""``ember.nn.utils.init``: ``skip_init``, a module built without paying for a chosen initialisation.

Example:
    >>> import ember
    >>> m = ember.nn.utils.skip_init(ember.nn.Linear, 5, 1)
    >>> m.weight.shape
    ember.Size([1, 5])
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Any:
    """An instance of ``module_cls(*args, **kwargs)`` whose parameters and buffers hold unspecified
    values, to be initialised by the caller (the module must take a ``device`` argument, as in
    PyTorch): built on the ``meta`` device, so its initialisation costs nothing, then given empty
    memory on ``device`` (cpu by default) with ``to_empty``."""
    from ember.nn import Module

    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=final_device)
