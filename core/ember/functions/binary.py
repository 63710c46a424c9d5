"""Binary pointwise ops beyond the arithmetic core: logaddexp, logaddexp2, copysign, hypot, bit shifts
(issue #14 section 3)."""

from __future__ import annotations

from ember._ops.registry import Family

_ops = Family(__name__)
_op = _ops.op

__all__ = _ops.names()
