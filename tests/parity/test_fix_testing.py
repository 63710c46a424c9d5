"""Issue #14 section 4: ``ember.testing.assert_close`` and ``make_tensor`` against ``torch.testing``.

Each case runs ``assert_close`` on the same inputs in both frameworks (ember's on every device):
both pass, or both raise the same exception type with the same message (for value mismatches the
whole message; for attribute mismatches the line up to the values, whose reprs name the framework).
"""

from __future__ import annotations

import re

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def build(lib, value, device):
    """The same nest on each side: NumPy arrays become tensors, the rest is kept."""
    if isinstance(value, np.ndarray):
        return torch.tensor(value) if lib is torch else ember.tensor(value, device=device)
    if isinstance(value, tuple):
        return tuple(build(lib, v, device) for v in value)
    if isinstance(value, list):
        return [build(lib, v, device) for v in value]
    if isinstance(value, dict):
        return {k: build(lib, v, device) for k, v in value.items()}
    return value


def outcome(lib, actual, expected, device, **kw):
    try:
        lib.testing.assert_close(build(lib, actual, device), build(lib, expected, device), **kw)
    except Exception as exc:  # noqa: BLE001 - compared between the frameworks
        return type(exc), str(exc)
    return None, None


def supports(device, dtype) -> bool:
    try:
        ember.zeros(1, dtype=dtype, device=device)
    except TypeError:  # e.g. an OpenCL device without cl_khr_fp16
        return False
    return True


def same(actual, expected, device, *, exact=True, **kw):
    for v in (actual, expected):
        if isinstance(v, np.ndarray) and v.dtype == np.float16 and not supports(device, ember.float16):
            pytest.skip(f"{device} has no float16")
    t_type, t_msg = outcome(torch, actual, expected, device, **kw)
    e_type, e_msg = outcome(ember, actual, expected, device, **kw)
    if e_msg is not None:
        e_msg = e_msg.replace("ember.tensor.Tensor", "torch.Tensor")
    assert e_type is t_type, (e_type, e_msg, t_type, t_msg)
    if t_msg is None:
        return
    if exact:
        assert e_msg == t_msg
    else:  # names of types differ (torch.float32 / ember.float32): compare up to the values
        head = lambda m: re.sub(r"do not match: .*", "do not match", m)  # noqa: E731
        assert head(e_msg) == head(t_msg), (e_msg, t_msg)


F32 = np.float32
A = np.array([1.0, 2.0, 3.0], F32)

CASES = {
    "equal": (A, A.copy(), {}),
    "within-default-tol": (A, A + F32(5e-6), {}),
    "outside-default-tol": (A, A + np.array([0, 1e-3, 0], F32), {}),
    "several-mismatches": (np.arange(12, dtype=F32).reshape(3, 4), np.arange(12, dtype=F32).reshape(3, 4)[::-1].copy(),
                           {}),
    "rtol-atol": (A, A * F32(1.01), {"rtol": 0.02, "atol": 0.0}),
    "rtol-atol-fail": (A, A * F32(1.05), {"rtol": 0.02, "atol": 0.0}),
    "only-rtol": (A, A, {"rtol": 0.1}),
    "only-atol": (A, A, {"atol": 0.1}),
    "float64": (A.astype(np.float64), A.astype(np.float64) + 1e-6, {}),
    "float16": (A.astype(np.float16), (A + F32(0.01)).astype(np.float16), {}),
    "int-equal": (np.array([1, 2], np.int64), np.array([1, 2], np.int64), {}),
    "int-mismatch": (np.array([1, 5, 3], np.int64), np.array([1, 2, 4], np.int64), {}),
    "int32-mismatch": (np.array([[1, 5], [3, 0]], np.int32), np.array([[1, 2], [3, 7]], np.int32), {}),
    "bool-mismatch": (np.array([True, False]), np.array([True, True]), {}),
    "nan": (np.array([np.nan, 1.0], F32), np.array([np.nan, 1.0], F32), {}),
    "nan-equal-nan": (np.array([np.nan, 1.0], F32), np.array([np.nan, 1.0], F32), {"equal_nan": True}),
    "inf": (np.array([np.inf, -np.inf], F32), np.array([np.inf, -np.inf], F32), {}),
    "inf-sign": (np.array([np.inf, 1.0], F32), np.array([-np.inf, 1.0], F32), {}),
    "zero-d": (np.array(1.5, F32), np.array(1.75, F32), {}),
    "zero-expected": (np.array([0.0, 1.0], F32), np.array([0.0, 0.0], F32), {}),
    "empty": (np.zeros((0, 3), F32), np.zeros((0, 3), F32), {}),
    "msg-str": (A, A + 1, {"msg": "custom failure"}),
    "msg-callable": (A, A + 1, {"msg": lambda m: f"Header\n\n{m}\n\nFooter"}),
    "numbers-equal": (1.0, 1.0, {}),
    "numbers-close": (1.0, 1.0 + 1e-9, {}),
    "numbers-far": (1.0, 1.5, {}),
    "int-numbers": (3, 4, {}),
    "number-types": (1.0, 1, {}),
    "number-types-unchecked": (1.0, 1, {"check_dtype": False}),
    "bools": (True, False, {}),
    "none": (None, None, {}),
    "none-vs-number": (None, 1.0, {}),
    "sequence": ([A, 1.0, (2, 3)], [A.copy(), 1.0, (2, 3)], {}),
    "sequence-item": ([A, (A, A + 1)], [A, (A, A)], {}),
    "sequence-length": ([A, A], [A], {}),
    "mapping": ({"a": A, "b": 2}, {"a": A.copy(), "b": 2}, {}),
    "mapping-item": ({"a": A, "b": {"c": A}}, {"a": A, "b": {"c": A + 1}}, {}),
    "mapping-keys": ({"a": A, "b": A}, {"a": A, "c": A}, {}),
    "tensor-vs-number": (np.array(1.0, F32), 1.0, {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_assert_close_like_torch(device, name):
    actual, expected, kw = CASES[name]
    same(actual, expected, device, **kw)


@pytest.mark.parametrize("name", ["shape", "dtype", "dtype-unchecked", "dtype-unchecked-fail"])
def test_assert_close_attributes(device, name):
    cases = {
        "shape": (A, np.ones(4, F32), {}),
        "dtype": (A, A.astype(np.float64), {}),
        "dtype-unchecked": (A, A.astype(np.float64), {"check_dtype": False}),
        "dtype-unchecked-fail": (A, A.astype(np.float64) + 1, {"check_dtype": False}),
    }
    actual, expected, kw = cases[name]
    same(actual, expected, device, exact=False, **kw)


def test_assert_close_message_lines():
    with pytest.raises(AssertionError) as err:
        ember.testing.assert_close(ember.tensor([1.0, 2.0, 3.0]), ember.tensor([1.0, 4.0, 5.0]))
    assert str(err.value).splitlines() == [
        "Tensor-likes are not close!", "", "Mismatched elements: 2 / 3 (66.7%)",
        "Greatest absolute difference: 2.0 at index (1,) (up to 1e-05 allowed)",
        "Greatest relative difference: 0.5 at index (1,) (up to 1.3e-06 allowed)"]


def test_assert_close_device(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    a = ember.tensor(A)
    with pytest.raises(AssertionError, match="The values for attribute 'device' do not match"):
        ember.testing.assert_close(a, a.to(device))
    ember.testing.assert_close(a, a.to(device), check_device=False)


def test_assert_close_stride_and_layout(device):
    a = ember.tensor(np.arange(6, dtype=F32).reshape(2, 3), device=device)
    ember.testing.assert_close(a.t(), a.t().contiguous(), check_layout=True)
    with pytest.raises(AssertionError, match=r"The values for attribute 'stride\(\)' do not match"):
        ember.testing.assert_close(a.t(), a.t().contiguous(), check_stride=True)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"])
def test_make_tensor(device, dtype):
    dt = getattr(ember, dtype)
    if not supports(device, dt):
        pytest.skip(f"{device} has no {dtype}")
    t = ember.testing.make_tensor(3, 4, dtype=dt, device=device)
    ref = torch.testing.make_tensor(3, 4, dtype=getattr(torch, dtype), device="cpu")
    assert tuple(t.shape) == tuple(ref.shape) and t.dtype == dt and t.device.type == device
    v = t.cpu().numpy()
    if dtype != "bool":
        low, high = (-9, 9) if t.is_floating_point() else ((0, 10) if dtype == "uint8" else (-9, 10))
        assert v.min() >= low and v.max() < high
    t = ember.testing.make_tensor((2, 3), dtype=dt, device=device, low=1, high=3, noncontiguous=True,
                                  exclude_zero=True)
    assert not t.is_contiguous() and tuple(t.shape) == (2, 3)
    if dtype != "bool":
        assert t.cpu().numpy().min() >= 1 and t.cpu().numpy().max() < 3


def test_make_tensor_requires_grad_and_errors(device):
    t = ember.testing.make_tensor(2, dtype=ember.float32, device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    for kwargs in ({"dtype": "int64", "requires_grad": True}, {"dtype": "float32", "low": 5, "high": 1},
                   {"dtype": "float32", "low": float("nan")}, {"dtype": "uint8", "low": -10, "high": -5}):
        dtype = kwargs.pop("dtype")
        with pytest.raises(ValueError) as t_err:
            torch.testing.make_tensor(2, dtype=getattr(torch, dtype), device="cpu", **kwargs)
        with pytest.raises(ValueError) as e_err:
            ember.testing.make_tensor(2, dtype=getattr(ember, dtype), device=device, **kwargs)
        assert str(e_err.value).split(",")[0].replace("ember", "torch") == str(t_err.value).split(",")[0]
