"""``ember.amp``: automatic mixed precision, as ``torch.amp``.

``autocast`` runs the ops of PyTorch's lists in a lower-precision dtype (bfloat16/float16) and
the precision-sensitive ones in float32; ``GradScaler`` scales a float16 loss so that small
gradients survive, skips the optimizer steps whose gradients overflowed, and adapts the scale.

Example:
    >>> import ember
    >>> with ember.amp.autocast("cpu", dtype=ember.bfloat16):
    ...     y = ember.nn.functional.linear(ember.ones(2, 3), ember.ones(4, 3))
    >>> y.dtype
    ember.bfloat16
"""

from __future__ import annotations

from ember.amp.autocast_mode import (
    autocast,
    clear_autocast_cache,
    custom_bwd,
    custom_fwd,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_cache_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
)
from ember.amp.grad_scaler import GradScaler, OptState

__all__ = ["autocast", "GradScaler", "OptState", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype",
           "set_autocast_enabled", "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache", "custom_fwd", "custom_bwd"]
