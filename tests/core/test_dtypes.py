"""Tensor attributes, PyTorch's type-promotion table and dtype conversions."""

from __future__ import annotations

import ember
import numpy as np
import pytest

E = ember


def _skip_unsupported(device, *dtypes):
    """Skip when a device can't hold a dtype (float16/float64 are optional on OpenCL devices)."""
    if device == "cpu":
        return
    ok = ember.plugins.backend(device).supported_dtypes(0)
    missing = [d for d in dtypes if d not in ok]
    if missing:
        pytest.skip(f"{device} does not support {missing}")

# ---- attributes ------------------------------------------------------------------------------


def test_attributes(device):
    t = ember.zeros(2, 3, 4, device=device)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, ember.Size)
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dtype is ember.float32
    assert t.device == ember.device(device if device == "cpu" else f"{device}:0")
    assert t.device.type == device
    assert t.ndim == 3 and t.dim() == 3 and t.numel() == 24
    assert t.T.shape == (4, 3, 2) if hasattr(t, "mT") else True
    m = ember.arange(6, device=device).reshape(2, 3)
    assert m.T.shape == (3, 2) and m.T.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert not t.requires_grad and t.grad is None and t.grad_fn is None and t.is_leaf
    w = ember.ones(2, requires_grad=True, device=device)
    y = w * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    assert not y.data.requires_grad and y.data.grad_fn is None
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.size(3)


def test_size_repr():
    assert repr(ember.Size([2, 3])) == "ember.Size([2, 3])"
    assert repr(ember.zeros(0).shape) == "ember.Size([0])"
    assert ember.Size([2, 3]).numel() == 6
    assert isinstance(ember.Size([2, 3])[1:], ember.Size)
    assert ember.Size([2]) == (2,)


# ---- promotion -----------------------------------------------------------------------------

# PyTorch's promotion of two dimensioned tensors (torch.promote_types), from its documentation.
_TABLE = [
    (E.int32, E.float16, E.float16), (E.uint8, E.int8, E.int16), (E.bool, E.int32, E.int32),
    (E.bool, E.int64, E.int64), (E.bool, E.uint8, E.uint8), (E.int8, E.int16, E.int16),
    (E.float16, E.float32, E.float32), (E.int64, E.float16, E.float16), (E.uint8, E.int64, E.int64),
    (E.float32, E.float64, E.float64), (E.int64, E.float32, E.float32), (E.uint8, E.int16, E.int16),
    (E.bool, E.bool, E.bool), (E.int32, E.int64, E.int64), (E.bool, E.float16, E.float16),
    (E.uint8, E.float16, E.float16), (E.int8, E.uint8, E.int16), (E.int16, E.int32, E.int32),
]


@pytest.mark.parametrize("a, b, expected", _TABLE)
def test_promote_types(a, b, expected):
    assert ember.promote_types(a, b) is expected
    assert ember.promote_types(b, a) is expected


@pytest.mark.parametrize("a, b, expected", _TABLE[:10])
def test_tensor_tensor_promotion(device, a, b, expected):
    _skip_unsupported(device, a, b)
    x = ember.ones(2, dtype=a, device=device)
    y = ember.ones(2, dtype=b, device=device)
    assert (x + y).dtype is expected
    assert (x * y).dtype is expected


@pytest.mark.parametrize("dtype, scalar, expected", [
    (E.int64, 2.5, E.float32), (E.int32, 2, E.int32), (E.float16, 1.0, E.float16), (E.uint8, 1000, E.uint8),
    (E.bool, 1, E.int64), (E.bool, 1.5, E.float32), (E.int8, True, E.int8), (E.float64, 2, E.float64),
    (E.bool, True, E.bool), (E.uint8, -1, E.uint8),
])
def test_tensor_scalar_promotion(device, dtype, scalar, expected):
    _skip_unsupported(device, dtype)
    t = ember.ones(3, dtype=dtype, device=device)
    assert (t + scalar).dtype is expected
    assert (scalar * t).dtype is expected


def test_uint8_scalar_wraps(device):
    t = ember.tensor([1, 200], dtype=ember.uint8, device=device)
    assert (t + 1000).tolist() == [(1 + 1000) % 256, (200 + 1000) % 256]
    assert (t + -2).tolist() == [255, 198]
    assert (t * 2).tolist() == [2, 144]


@pytest.mark.parametrize("dim_dtype, zero_dtype, expected", [
    (E.int64, E.float64, E.float64),   # a 0-d tensor of a higher category keeps its dtype (c10 rules)
    (E.int32, E.int64, E.int32),       # same category: the dimensioned tensor wins
    (E.float16, E.float64, E.float16),
    (E.bool, E.int32, E.int32),
    (E.uint8, E.int8, E.uint8),
])
def test_zero_dim_promotion(device, dim_dtype, zero_dtype, expected):
    _skip_unsupported(device, dim_dtype, zero_dtype)
    a = ember.ones(2, dtype=dim_dtype, device=device)
    z = ember.tensor(1, dtype=zero_dtype, device=device)
    assert (a + z).dtype is expected
    assert (z + a).dtype is expected
    assert ember.result_type(a, z) is expected


def test_zero_dim_only_and_scalars():
    assert (ember.tensor(1) + 2.5).dtype is ember.float32
    assert (ember.tensor(1, dtype=E.int32) + ember.tensor(2)).dtype is ember.int64
    assert ember.result_type(ember.tensor([1]), 1.0) is ember.float32
    ember.set_default_dtype(ember.float64)
    try:
        assert (ember.tensor([1]) + 2.5).dtype is ember.float64
        assert (ember.tensor([1.0], dtype=E.float32) + 2.5).dtype is ember.float32
    finally:
        ember.set_default_dtype(ember.float32)


def test_comparison_and_division_dtypes(device):
    a = ember.tensor([1, 2, 3], device=device)
    assert (a < 2).dtype is ember.bool
    assert (a / 2).dtype is ember.float32          # true division of ints gives the default float
    assert (a / a).dtype is ember.float32
    assert (a // 2).dtype is ember.int64
    np.testing.assert_allclose((a / 2).cpu().numpy(), [0.5, 1, 1.5])


# ---- conversions --------------------------------------------------------------------------


def test_conversion_methods(device):
    t = ember.tensor([-1.7, -0.5, 0.0, 0.5, 2.9], device=device)
    assert t.long().tolist() == [-1, 0, 0, 0, 2]          # truncation toward zero
    assert t.int().dtype is E.int32 and t.int().tolist() == [-1, 0, 0, 0, 2]
    assert t.bool().tolist() == [True, True, False, True, True]
    if device == "cpu" or E.float16 in ember.plugins.backend(device).supported_dtypes(0):
        assert t.half().dtype is E.float16
    assert t.float().dtype is E.float32
    assert t.to(E.int16).tolist() == [-1, 0, 0, 0, 2]
    assert t.type(E.int64).dtype is E.int64
    assert t.type() in ("ember.FloatTensor", f"ember.{device}.FloatTensor")
    assert t.type("ember.LongTensor").dtype is E.int64
    b = ember.tensor([True, False], device=device)
    assert b.float().tolist() == [1.0, 0.0] and b.long().tolist() == [1, 0]
    assert ember.tensor([300], device=device).to(E.uint8).tolist() == [44]


def test_double_conversion():
    t = ember.tensor([1.5])
    assert t.double().dtype is E.float64
    assert t.to(E.float64).tolist() == [1.5]
    # to() with the same dtype returns self; copy=True gives a new tensor
    assert t.to(E.float32) is t
    assert t.to(E.float32, copy=True) is not t


def test_dtype_objects():
    assert repr(ember.float32) == "ember.float32"
    assert ember.float is ember.float32 and ember.long is ember.int64 and ember.double is ember.float64
    assert ember.float32.is_floating_point and not ember.int64.is_floating_point
    assert ember.float64.itemsize == 8
    assert isinstance(ember.float32, ember.dtype)
