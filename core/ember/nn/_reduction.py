"""PyTorch's ``torch.nn._reduction`` (``F._Reduction``): reduction names as the kernels' enum, and the
legacy ``size_average``/``reduce`` pair as a name. Loss code written against PyTorch imports it.

Example:
    >>> from ember.nn import functional as F
    >>> F._Reduction.get_enum("sum"), F._Reduction.legacy_get_string(None, False, emit_warning=False)
    (2, 'none')
"""

from __future__ import annotations

import warnings


def get_enum(reduction: str) -> int:
    """0 for "none", 1 for "mean" (and the deprecated "elementwise_mean"), 2 for "sum"."""
    if reduction == "none":
        return 0
    if reduction == "mean":
        return 1
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      stacklevel=2)
        return 1
    if reduction == "sum":
        return 2
    raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_get_string(size_average: bool | None, reduce: bool | None, emit_warning: bool = True) -> str:
    """The reduction the deprecated ``size_average``/``reduce`` arguments ask for (None counts as True)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                      stacklevel=2)
    return ret


def legacy_get_enum(size_average: bool | None, reduce: bool | None, emit_warning: bool = True) -> int:
    return get_enum(legacy_get_string(size_average, reduce, emit_warning))
