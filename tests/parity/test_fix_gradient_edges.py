"""Gradients at the edges that the helpers' program runs found: ``logsigmoid`` at exactly 0 (the
composite's ``abs`` gave 1, PyTorch 0.5), ``clamp`` with an infinite upstream gradient outside the
range (``g * mask`` gave NaN, PyTorch 0), ``logit``'s double backward and ``func.jvp`` of ``logit`` and
``logcumsumexp`` (a zero cotangent or ``0 * inf`` in an unselected branch gave NaN). Each row runs on
PyTorch and on ember on every device."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import ember  # noqa: E402, F401
from parity_compare import Arg, check  # noqa: E402

EDGES = Arg(np.array([0.0, -0.0, 1.5, -2.0, 30.0, -30.0], np.float32))
UNIT = Arg(np.array([0.2, 0.5, 0.7, 0.9], np.float64))


def test_logsigmoid_gradient_at_zero_as_torch(device):
    check(lambda L, a: L.nn.functional.logsigmoid(a), [EDGES], None, device)


def test_logsigmoid_double_backward_as_torch(device):
    def fn(L, a):
        (g,) = L.autograd.grad(L.nn.functional.logsigmoid(a).sum(), a, create_graph=True)
        return g

    check(fn, [Arg(UNIT.array - 0.5)], None, device)


@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (None, 1.0), (-1.0, None)])
def test_clamp_passes_no_nan_from_an_infinite_gradient_outside_its_range(lo, hi, device):
    def fn(L, a):
        a = a.detach().requires_grad_()
        a.clamp(lo, hi).backward(L.full_like(a, float("inf")))
        return a.grad

    check(fn, [EDGES], None, device)


def test_logit_double_backward_and_jvp_as_torch(device):
    def double(L, a):
        (g,) = L.autograd.grad(a.logit().sum(), a, create_graph=True)
        return g

    check(double, [UNIT], None, device)
    check(lambda L, a: L.func.jvp(lambda x: x.logit(), (a.detach(),), (L.ones_like(a),))[1], [UNIT], None, device)


def test_jvp_of_logcumsumexp_as_torch(device):
    check(lambda L, a: L.func.jvp(lambda x: x.logcumsumexp(0), (a.detach(),), (a.detach() * 2,))[1], [UNIT], None,
          device)
