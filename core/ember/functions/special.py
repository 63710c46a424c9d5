"""Unary special and transcendental functions: inverse trigonometric and hyperbolic functions, exp2,
lgamma/digamma/erfc/erfinv, logit, sinc, xlogy (issue #14 section 3/4)."""

from __future__ import annotations

from ember._ops.registry import Family

_ops = Family(__name__)
_op = _ops.op

__all__ = _ops.names()
