"""Autograd API details a probe of 45 calls found different from PyTorch: ``Function`` with
``setup_context`` (PyTorch 2's style), calling a ``Function`` instance, ``.grad`` assignment checks
(a gradient of another size or dtype was accepted silently) and the non-leaf ``.grad`` warning, a
gradient of another dtype reaching a leaf (now cast to the leaf's dtype, as PyTorch's engine does),
and ``autograd.grad(is_grads_batched=True)``. Each scenario runs on PyTorch and ember, every device."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

import ember  # noqa: E402
import torch  # noqa: E402
from parity_compare import Arg, check  # noqa: E402

X = Arg(np.array([1.0, -2.0, 3.0], np.float32))


def _square_setup_context(L):
    class Square(L.autograd.Function):
        @staticmethod
        def forward(x, scale):
            return x * x * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, scale = inputs
            ctx.save_for_backward(x)
            ctx.scale = scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x * ctx.scale, None

    return Square


def test_function_with_setup_context_as_torch(device):
    check(lambda L, a: _square_setup_context(L).apply(a, 3.0), [X], None, device)


def test_subclass_of_a_setup_context_function_keeps_working(device):
    def fn(L, a):
        class Cube(_square_setup_context(L)):
            @staticmethod
            def forward(x, scale):
                return x * x * x * scale

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x * x * ctx.scale, None

        return Cube.apply(a, 2.0)

    check(fn, [X], None, device)


def test_calling_a_function_instance_is_torch_error():
    for L in (torch, ember):
        class Ident(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        with pytest.warns(DeprecationWarning, match="should not be instantiated"):
            inst = Ident()
        with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward method"):
            inst(L.ones(1))


@pytest.mark.parametrize("value", ["size", "dtype", "int", "row"])
def test_grad_assignment_checks_as_torch(value, device):
    def fn(L, a):
        g = {"size": lambda: L.ones(2, device=a.device), "dtype": lambda: L.ones(3, dtype=L.float64, device=a.device),
             "int": lambda: 5, "row": lambda: L.ones(1, 3, device=a.device)}[value]()
        leaf = a.detach().requires_grad_()
        leaf.grad = g
        return leaf.grad

    check(fn, [X], None, device)


def test_grad_assignment_of_the_right_gradient_and_none(device):
    def fn(L, a):
        leaf = a.detach().requires_grad_()
        leaf.grad = a.detach() * 2
        first = leaf.grad.clone()
        leaf.grad = None
        return first, leaf.grad is None

    check(fn, [X], None, device)


def test_reading_a_non_leaf_grad_warns_unless_retained():
    for L in (torch, ember):
        x = L.ones(2, requires_grad=True)
        y = x * 2
        with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
            assert y.grad is None
        y.retain_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (y * 3).sum().backward()
            np.testing.assert_allclose(y.grad.numpy(), [3.0, 3.0])
            assert x.grad is not None and L.ones(1).grad is None  # leaves never warn


def test_a_gradient_of_another_dtype_reaches_the_leaf_in_its_dtype(device):
    def fn(L, a):
        leaf = a.detach().requires_grad_()
        L.relu(leaf).backward(L.tensor([1.0, 2.0, 3.0], dtype=L.float64, device=a.device))
        return leaf.grad

    check(fn, [X], None, device)


def test_autograd_grad_with_batched_cotangents_as_torch(device):
    def fn(L, a):
        y = a * a
        eye = L.eye(3, device=a.device)
        (rows,) = L.autograd.grad(y, a, eye, is_grads_batched=True, create_graph=True)
        return rows

    check(fn, [X], None, device)
    check(lambda L, a: L.autograd.grad(a * 2, a, L.ones(2, 2, device=a.device), is_grads_batched=True), [X], None,
          device)
