"""Statistics and scans: nanmean, nansum, kthvalue, mode, quantile, cummax, cummin, logcumsumexp, diff
(issue #14 sections 3/4)."""

from __future__ import annotations

from ember._ops.registry import Family

_ops = Family(__name__)
_op = _ops.op

__all__ = _ops.names()
