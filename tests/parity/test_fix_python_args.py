"""Python and NumPy values where PyTorch takes tensors, sizes, dims and indices (a probe of 113 calls
found these): NumPy scalars and arrays as operands (``np.float32(2) * t`` was a NumPy array, off the
graph), NumPy integers as sizes and dims, floats as sizes (truncated before), ``tensor()``'s dtype for
NumPy scalars and its int64 overflow, ``from_numpy``'s refusals, ``t == None``, ``x in t``, NumPy
ufuncs on tensors, and a list of sequences as an index. Each row runs on PyTorch and on ember on every
device and compares results (values, dtypes, shapes) or error types."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

import ember  # noqa: E402
import torch  # noqa: E402
from parity_compare import DEVICE, Arg, check  # noqa: E402

R = np.random.default_rng(3)
X = Arg(R.standard_normal((2, 3)).astype(np.float32))
XI = Arg(np.arange(6, dtype=np.int32).reshape(2, 3))
X3 = Arg(R.standard_normal((2, 3, 4)).astype(np.float32))

SCALARS = [np.float64(1.5), np.float32(-2.5), np.float16(0.5), np.int64(3), np.int32(-2), np.uint8(7), np.bool_(True)]


@pytest.mark.parametrize("s", SCALARS, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("x", [X, XI], ids=["float32", "int32"])
def test_numpy_scalars_are_operands_promoting_as_python_numbers(s, x, device):
    check(lambda L, a: (a + s, s * a, a - s, s - a, a > s), [x], None, device)


def test_a_complex_numpy_scalar_loses_its_imaginary_part_as_torch(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        check(lambda L, a: a + np.complex64(1 + 2j), [X], None, device)


@pytest.mark.parametrize("arr", [np.ones(3), np.arange(3, dtype=np.int16), np.array(2.0, np.float32),
                                 np.arange(6.0)[::-2]], ids=["f64", "i16", "0d", "negative-stride"])
def test_a_numpy_array_on_the_right_is_a_cpu_tensor_operand(arr):
    """``t * array`` on CPU tensors without grad: the array's dtype promotes as a tensor's. (PyTorch
    computes it in NumPy through ``__array__``, so a tensor that requires grad or lives on a device
    is an error there; ember takes the array as a CPU tensor operand instead: documented leniency.)"""
    plain = Arg(X.array, grad=False)
    check(lambda L, a: a[:, :arr.size] * arr if arr.ndim else a * arr, [plain], None, "cpu")


def test_numpy_ufuncs_on_a_tensor_return_a_tensor():
    for lib in (torch, ember):
        out = np.exp(lib.ones(2))
        assert type(out) is lib.Tensor, lib
        np.testing.assert_allclose(out.numpy(), np.exp(np.ones(2, np.float32)))


@pytest.mark.parametrize("call", [
    lambda L, a: L.zeros(np.int64(2), np.int32(3), device=a.device),
    lambda L, a: L.ones((np.int16(2),), device=a.device),
    lambda L, a: a.view(np.int64(3), 2),
    lambda L, a: a.reshape(np.int64(-1)),
    lambda L, a: a.expand(np.int64(2), 2, 3),
    lambda L, a: a.sum(np.int64(1)),
    lambda L, a: a.sum((np.int64(0), 1)),
    lambda L, a: a.mean(np.int32(-1), keepdim=True),
    lambda L, a: a.sum(L.tensor([0])),
    lambda L, a: a.softmax(np.int64(0)),
    lambda L, a: a.permute(np.int64(1), 0),
    lambda L, a: a.transpose(np.int64(1), 0),
    lambda L, a: a.flatten(np.int64(0)),
    lambda L, a: a.view(3.0, 2),
    lambda L, a: a.view(True, 6),
    lambda L, a: a.reshape(2, 3.5),
    lambda L, a: a.sum(1.0),
], ids=["zeros", "ones-tuple", "view", "reshape", "expand", "sum", "sum-tuple", "mean", "sum-tensor-dims",
        "softmax", "permute", "transpose", "flatten", "view-float", "view-bool", "reshape-float", "sum-float"])
def test_numpy_integers_are_sizes_and_dims_and_floats_are_not(call, device):
    check(call, [X], None, device)


DATA = [np.float64(2.5), np.float32(1), np.int32(2), np.uint8(3), np.bool_(True), np.complex128(1j), np.float16(1),
        [np.float64(1), 2.0], [np.int32(1), np.int32(2)], [np.float16(1), 2], [[np.int8(1)], [True]],
        [np.float32(1), 2j], (np.int16(1), 2), [1, True], [[1, 2], [3, 4]], [2 ** 62, -(2 ** 63)],
        2 ** 63, [1, 2 ** 63], [[1], [2 ** 70]], -(2 ** 63) - 1, [2 ** 63, 1.5], None, [None], [1, None]]


@pytest.mark.parametrize("data", DATA, ids=repr)
def test_tensor_infers_dtypes_and_refuses_overflow_as_torch(data, device):
    if device != "cpu" and "j" in repr(data):
        pytest.skip("complex dtypes are cpu-only (the opencl backend declares none)")
    check(lambda L, d: L.tensor(data, device=d), [DEVICE], None, device)


@pytest.mark.parametrize("make", [lambda: np.arange(6.0)[::-1], lambda: [1, 2], lambda: 3.0],
                         ids=["negative-stride", "list", "float"])
def test_from_numpy_refuses_what_torch_refuses(make, device):
    check(lambda L, d: L.from_numpy(make()).to(d), [DEVICE], None, device)


def test_comparison_with_none_and_membership_as_torch(device):
    check(lambda L, a: (a == None, a != None), [X], None, device)  # noqa: E711 - the operator is the subject
    check(lambda L, a: (float(a[0, 1]) in a, 1e9 in a, a[1, 2] in a), [X], None, device)
    check(lambda L, a: "a" in a, [X], None, device)  # RuntimeError in both


@pytest.mark.parametrize("index", [
    [[0, 1], [1, 0]], [0, [1, 0]], [slice(0, 1), 1], [None, 0], [Ellipsis, 1], [0, 1], [[0, 1]], [(0, 1)],
    [range(2)], [True, False], [[True, False]], "arrays"], ids=repr)
def test_a_short_list_of_sequences_is_a_tuple_of_indices_as_torch(index, device):
    def get(L, a):
        idx = [np.array([0, 1]), np.array([1, 0])] if index == "arrays" else index
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return a[idx]

    check(get, [X3], None, device)


def test_the_list_as_tuple_rule_warns_as_torch():
    for lib in (torch, ember):
        with pytest.warns(UserWarning, match="non-tuple sequence for multidimensional indexing"):
            lib.zeros(2, 3)[[[0, 1], [1, 0]]]
