"""item/tolist/numpy and PyTorch's exact repr strings."""

from __future__ import annotations

import ember
import numpy as np
import pytest


def test_item_tolist(device):
    assert ember.tensor(2.5, device=device).item() == 2.5
    assert isinstance(ember.tensor([3], device=device).item(), int)
    assert isinstance(ember.tensor(True, device=device).item(), bool)
    assert ember.tensor([[1, 2], [3, 4]], device=device).tolist() == [[1, 2], [3, 4]]
    assert ember.tensor(1.0, device=device).tolist() == 1.0
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        ember.ones(2, device=device).item()
    assert float(ember.tensor([1.5], device=device)) == 1.5 and int(ember.tensor(7, device=device)) == 7
    assert [1, 2, 3][ember.tensor(1, device=device)] == 2
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(ember.ones(2, device=device))
    assert len(ember.ones(4, 2, device=device)) == 4
    assert [x.tolist() for x in ember.tensor([[1], [2]], device=device)] == [[1], [2]]


def test_numpy(device):
    t = ember.tensor([1.0, 2.0], device=device)
    if device == "cpu":
        assert isinstance(t.numpy(), np.ndarray)
    else:
        with pytest.raises(TypeError, match=f"can't convert {t.device} device type tensor to numpy. Use "
                                            r"Tensor.cpu\(\) to copy the tensor to host memory first."):
            t.numpy()
    np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0])
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        w.numpy()
    assert w.detach().numpy().tolist() == [1.0, 1.0]


@pytest.mark.parametrize("make, text", [
    (lambda: ember.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: ember.tensor([[1, 2]]), "tensor([[1, 2]])"),
    (lambda: ember.tensor([1.5, 2.0], dtype=ember.float64), "tensor([1.5000, 2.0000], dtype=ember.float64)"),
    (lambda: ember.tensor(3.0, requires_grad=True), "tensor(3., requires_grad=True)"),
    (lambda: ember.tensor([1.0], requires_grad=True) + 1, "tensor([2.], grad_fn=<AddBackward0>)"),
    (lambda: ember.tensor([True, False]), "tensor([ True, False])"),
    (lambda: ember.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: ember.zeros(0), "tensor([])"),
    (lambda: ember.zeros(0, dtype=ember.int32), "tensor([], dtype=ember.int32)"),
    (lambda: ember.tensor([1, 2], dtype=ember.int32), "tensor([1, 2], dtype=ember.int32)"),
    (lambda: ember.arange(2000), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    (lambda: ember.tensor([1.0, 2000.0]), "tensor([1.0000e+00, 2.0000e+03])"),
    (lambda: ember.tensor([0.001, 1.0]), "tensor([0.0010, 1.0000])"),
    (lambda: ember.tensor([0.00001, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: ember.tensor([0.0, 100.0]), "tensor([  0., 100.])"),
    (lambda: ember.zeros(2), "tensor([0., 0.])"),
    (lambda: ember.tensor([-1.25, 10.5]), "tensor([-1.2500, 10.5000])"),
    (lambda: ember.tensor([[1.0, -2.0], [3.0, 4.0]]), "tensor([[ 1., -2.],\n        [ 3.,  4.]])"),
    (lambda: ember.tensor([float("nan"), 1.0, float("inf")]), "tensor([nan, 1., inf])"),
    (lambda: ember.tensor(2), "tensor(2)"),
    (lambda: ember.tensor([1.0], dtype=ember.float16), "tensor([1.], dtype=ember.float16)"),
])
def test_repr_matches_pytorch(make, text):
    assert repr(make()) == text


def test_repr_summarised_2d_and_device(device):
    r = repr(ember.arange(2000.0).reshape(1000, 2))
    assert r.startswith("tensor([[0.0000e+00, 1.0000e+00],\n        [2.0000e+00, 3.0000e+00],")
    assert "        ...,\n" in r and r.endswith("[1.9980e+03, 1.9990e+03]])")
    if device != "cpu":
        assert repr(ember.ones(1, device=device)) == f"tensor([1.], device='{device}:0')"
