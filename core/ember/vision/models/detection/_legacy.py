"""torchvision's ``handle_legacy_interface`` for the detection builders: the deprecated
``pretrained=`` / ``pretrained_backbone=`` flags as ``weights=`` / ``weights_backbone=``.

Example:
    >>> kw = {}
    >>> _handle_legacy(kw, "weights", None, "pretrained", None)
"""

from __future__ import annotations

import warnings
from typing import Any

from .._utils import _ovewrite_value_param

__all__ = ["_handle_legacy", "_ovewrite_value_param"]


def _handle_legacy(kwargs: dict[str, Any], name: str, value: Any, legacy: str, default: Any) -> Any:
    """``value`` or, when the caller passed ``legacy=...`` in ``kwargs``, what it stands for (the warnings
    point at the builder's caller: builder -> ``_resolve`` -> here)."""
    if legacy not in kwargs:
        return value
    pretrained = kwargs.pop(legacy)
    warnings.warn(f"The parameter '{legacy}' is deprecated since 0.13 and may be removed in the future, "
                  f"please use '{name}' instead.", UserWarning, stacklevel=4)
    if pretrained:
        warnings.warn(f"Arguments other than a weight enum or `None` for '{name}' are deprecated since 0.13 and may "
                      f"be removed in the future. The current behavior is equivalent to passing `{name}={default!r}`. "
                      f"You can also use `{name}={type(default).__name__}.DEFAULT` to get the most up-to-date "
                      "weights.", UserWarning, stacklevel=4)
        return default
    return None
