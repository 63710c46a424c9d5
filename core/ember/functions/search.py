"""Sets, search and counting: unique, unique_consecutive, searchsorted, bucketize, histc, bincount
(issue #14 section 4)."""

from __future__ import annotations

from ember._ops.registry import Family

_ops = Family(__name__)
_op = _ops.op

__all__ = _ops.names()
