"""``ember.nn.utils.stateless``: PyTorch's deprecated home of ``functional_call`` (now
``ember.func.functional_call``, which this forwards to with PyTorch's FutureWarning).

Example:
    >>> import warnings, ember
    >>> m = ember.nn.Linear(2, 1, bias=False)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     out = ember.nn.utils.stateless.functional_call(m, {"weight": ember.ones(1, 2)}, (ember.ones(2),))
    >>> out
    tensor([2.])
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["functional_call"]


def functional_call(module: Any, parameters_and_buffers: Any, args: Any = None, kwargs: dict | None = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the given ones for the
    call (deprecated: ``ember.func.functional_call`` is the drop-in replacement)."""
    from ember.func import functional_call as _functional_call

    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in "
                  "a future version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
