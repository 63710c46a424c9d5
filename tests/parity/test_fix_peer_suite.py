"""What a peer framework's op test suite (tinygrad's test_ops, its PyTorch expressions run on ember
against PyTorch) and the follow-up probes found: argument errors of the wrong type or wording,
Python types as dtypes, empty reductions, arange's bounds, and a shift across devices that reached
the kernel. Each row runs on PyTorch and on ember on every device and compares errors (type, and
the message where it is PyTorch's own wording), values, dtypes and gradients."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import ember  # noqa: E402
import torch  # noqa: E402
from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(7)
X1 = Arg(R.standard_normal((1, 1, 6)).astype(np.float32))
X2 = Arg(R.standard_normal((1, 1, 6, 6)).astype(np.float32))
X3 = Arg(R.standard_normal((1, 1, 4, 4, 4)).astype(np.float32))
W1 = Arg(R.standard_normal((1, 1, 2)).astype(np.float32))
W2 = Arg(R.standard_normal((1, 1, 2, 2)).astype(np.float32))
W3 = Arg(R.standard_normal((1, 1, 2, 2, 2)).astype(np.float32))
M = Arg(R.standard_normal((3, 4)).astype(np.float32))
Q = Arg(R.standard_normal((2, 3, 4, 8)).astype(np.float32))


def F(lib):
    return lib.nn.functional


# A window, stride, padding or dilation of the wrong length: PyTorch's RuntimeError, worded per
# function family (compared word for word below).
ARITY = {
    "conv1d-padding": (lambda L, x, w: F(L).conv1d(x, w, padding=(1, 1)), [X1, W1]),
    "conv1d-stride": (lambda L, x, w: F(L).conv1d(x, w, stride=(1, 1)), [X1, W1]),
    "conv2d-padding": (lambda L, x, w: F(L).conv2d(x, w, padding=(1, 1, 1)), [X2, W2]),
    "conv2d-stride": (lambda L, x, w: F(L).conv2d(x, w, stride=[1, 1, 1]), [X2, W2]),
    "conv2d-dilation": (lambda L, x, w: F(L).conv2d(x, w, dilation=(1, 1, 1)), [X2, W2]),
    "conv3d-padding": (lambda L, x, w: F(L).conv3d(x, w, padding=(1, 1)), [X3, W3]),
    "conv_transpose1d-padding": (lambda L, x, w: F(L).conv_transpose1d(x, w, padding=(1, 1)), [X1, W1]),
    "conv_transpose2d-padding": (lambda L, x, w: F(L).conv_transpose2d(x, w, padding=(1, 1, 1)), [X2, W2]),
    "conv_transpose2d-output_padding": (
        lambda L, x, w: F(L).conv_transpose2d(x, w, stride=2, output_padding=(1, 1, 1)), [X2, W2]),
    "conv_transpose3d-padding": (lambda L, x, w: F(L).conv_transpose3d(x, w, padding=(1, 1)), [X3, W3]),
    "max_pool1d-padding": (lambda L, x: F(L).max_pool1d(x, 2, padding=(1, 1)), [X1]),
    "max_pool1d-kernel": (lambda L, x: F(L).max_pool1d(x, (2, 2)), [X1]),
    "max_pool2d-padding": (lambda L, x: F(L).max_pool2d(x, 2, padding=(1, 1, 1)), [X2]),
    "max_pool2d-kernel": (lambda L, x: F(L).max_pool2d(x, (2, 2, 2)), [X2]),
    "max_pool2d-stride": (lambda L, x: F(L).max_pool2d(x, 2, stride=(1, 1, 1)), [X2]),
    "max_pool2d-dilation": (lambda L, x: F(L).max_pool2d(x, 2, dilation=(1, 1, 1)), [X2]),
    "max_pool3d-padding": (lambda L, x: F(L).max_pool3d(x, 2, padding=(1, 1)), [X3]),
    "max_pool3d-kernel": (lambda L, x: F(L).max_pool3d(x, (2, 2)), [X3]),
    "max_pool3d-stride": (lambda L, x: F(L).max_pool3d(x, 2, stride=(1, 1)), [X3]),
    "max_pool3d-dilation": (lambda L, x: F(L).max_pool3d(x, 2, dilation=(1, 1)), [X3]),
    "avg_pool1d-padding": (lambda L, x: F(L).avg_pool1d(x, 2, padding=(1, 1)), [X1]),
    "avg_pool1d-kernel": (lambda L, x: F(L).avg_pool1d(x, (2, 2)), [X1]),
    "avg_pool2d-padding": (lambda L, x: F(L).avg_pool2d(x, 2, padding=(1, 1, 1)), [X2]),
    "avg_pool2d-kernel": (lambda L, x: F(L).avg_pool2d(x, (2, 2, 2)), [X2]),
    "avg_pool2d-stride": (lambda L, x: F(L).avg_pool2d(x, 2, stride=(1, 1, 1)), [X2]),
    "avg_pool3d-padding": (lambda L, x: F(L).avg_pool3d(x, 2, padding=(1, 1)), [X3]),
    "avg_pool3d-kernel": (lambda L, x: F(L).avg_pool3d(x, (2, 2)), [X3]),
    "avg_pool3d-stride": (lambda L, x: F(L).avg_pool3d(x, 2, stride=(1, 1)), [X3]),
    "unfold-kernel": (lambda L, x: F(L).unfold(x, (2, 2, 2)), [X2]),
    "fold-kernel": (lambda L, x: F(L).fold(x.reshape(1, 4, 9), (6, 6), (2, 2, 2)), [X2]),
    "einsum-more-operands": (lambda L, a: L.einsum("ij,jk", a, a.t(), a), [M]),
    "einsum-fewer-operands": (lambda L, a: L.einsum("ij,jk", a), [M]),
    # arange's bounds
    "arange-inf": (lambda L: L.arange(0, float("inf")), []),
    "arange-nan": (lambda L: L.arange(float("nan")), []),
    "arange-minus-inf-float-start": (lambda L: L.arange(0.5, float("-inf"), -1), []),
    "arange-beyond-int64": (lambda L: L.arange(0, 2**63), []),
    "arange-far-beyond-int64": (lambda L: L.arange(0, 2**70), []),
    "arange-too-long": (lambda L: L.arange(0.0, 1e19), []),
    "arange-tiny-step": (lambda L: L.arange(0, 10, 1e-18), []),
    # reductions over every dim of an empty tensor
    "amax-empty-all": (lambda L, t: t.amax(), [Arg(np.zeros((0, 3), np.float32))]),
    "amin-empty-all": (lambda L, t: L.amin(t), [Arg(np.zeros(0, np.float32))]),
    "argmax-empty-all": (lambda L, t: t.argmax(), [Arg(np.zeros((0, 3), np.float32))]),
    "argmin-empty-all": (lambda L, t: t.argmin(), [Arg(np.zeros(0, np.float32))]),
    # float()/int() of a tensor that is not one element: ValueError (item() stays RuntimeError)
    "float-of-3": (lambda L, t: float(t), [Arg(np.ones(3, np.float32))]),
    "int-of-empty": (lambda L, t: int(t), [Arg(np.ones(0, np.float32))]),
    "complex-of-3": (lambda L, t: complex(t), [Arg(np.ones(3, np.float32))]),
    "item-of-3": (lambda L, t: t.item(), [Arg(np.ones(3, np.float32))]),
    # attention: an explicit mask that requires grad cannot be combined with is_causal
    "sdpa-causal-grad-mask": (
        lambda L, q, m: F(L).scaled_dot_product_attention(q, q, q, attn_mask=m, is_causal=True),
        [Q, Arg(R.standard_normal((4, 4)).astype(np.float32))]),
    "mean-int-dtype": (lambda L, t: t.mean(dtype=int), [M]),
}

# The same values as PyTorch (and its errors) where the peer suite found them differing.
VALUES = {
    "logsumexp-empty-all": (lambda L, t: t.logsumexp(()), [Arg(np.zeros((0, 3), np.float32))]),
    "logsumexp-empty-dim0": (lambda L, t: t.logsumexp(0), [Arg(np.zeros((0, 3), np.float32))]),
    "logsumexp-empty-dim1": (lambda L, t: t.logsumexp(1, keepdim=True), [Arg(np.zeros((0, 3), np.float32))]),
    "sdpa-causal-mask-no-grad": (
        lambda L, q, m: F(L).scaled_dot_product_attention(q, q, q, attn_mask=m, is_causal=True),
        [Q, Arg(R.standard_normal((4, 4)).astype(np.float32), grad=False)]),
    "arange-inf-step": (lambda L: L.arange(0, 5, float("inf")), []),
    "arange-float-down": (lambda L: L.arange(5, 0, -1.5), []),
}

# Python's bool/int/float/complex wherever PyTorch takes a dtype.
PY_DTYPES = {
    "zeros-int": lambda L: L.zeros(2, 3, dtype=int),
    "ones-float": lambda L: L.ones(3, dtype=float),
    "full-bool": lambda L: L.full((2,), 1, dtype=bool),
    "arange-float": lambda L: L.arange(4, dtype=float),
    "linspace-float": lambda L: L.linspace(0, 1, 5, dtype=float),
    "eye-int": lambda L: L.eye(3, dtype=int),
    "tensor-float": lambda L: L.tensor([1, 2], dtype=float),
    "tensor-positional-dtype": lambda L: L.tensor([1, 2], float),  # keyword-only in PyTorch
    "as_tensor-positional-float": lambda L: L.as_tensor([1, 2], float),
    "as_tensor-int": lambda L: L.as_tensor([1.5, -2.5], dtype=int),
    "zeros_like-int": lambda L: L.zeros_like(L.ones(2, 2), dtype=int),
    "randint-float": lambda L: L.randint(0, 1, (3,), dtype=float),
    "sum-float": lambda L: L.arange(6).reshape(2, 3).sum(1, dtype=float),
    "prod-int": lambda L: L.tensor([1.5, 2.5]).prod(dtype=int),
    "mean-float": lambda L: L.ones(3).mean(dtype=float),
    "cumsum-int": lambda L: L.tensor([0.5, 1.5, 2.5]).cumsum(0, dtype=int),
    "cumprod-float": lambda L: L.tensor([1, 2, 3]).cumprod(0, dtype=float),
    "softmax-float": lambda L: L.ones(2, 3).softmax(1, dtype=float),
    "log_softmax-float": lambda L: L.nn.functional.log_softmax(L.ones(2, 3), 1, dtype=float),
    "nansum-float": lambda L: L.nansum(L.tensor([1.0, float("nan")]), dtype=float),
    "vector_norm-float": lambda L: L.linalg.vector_norm(L.ones(3), dtype=float),
    "to-float": lambda L: L.tensor([1, 2]).to(float),
    "to-kw-bool": lambda L: L.tensor([0, 2]).to(dtype=bool),
    "new_zeros-int": lambda L: L.ones(2).new_zeros(3, dtype=int),
    # and what stays a TypeError naming the function
    "ones-str": lambda L: L.ones(2, dtype="float32"),
    "sum-str": lambda L: L.ones(2).sum(dtype="float32"),
    "mean-str": lambda L: L.ones(2).mean(dtype="float32"),
    "cumsum-str": lambda L: L.ones(2).cumsum(0, dtype="float32"),
    "tensor-numpy-type": lambda L: L.tensor([1.0], dtype=np.float32),
    "randn-str": lambda L: L.randn(2, dtype="float32"),
    "ones-list": lambda L: L.ones(2, dtype=[1]),  # unhashable: still the TypeError, not a lookup error
    "to-list": lambda L: L.ones(2).to([1]),
}


@pytest.fixture
def on_device(device):
    """Factories inside the expressions make their tensors on the device under test (PyTorch's side
    stays on its cpu)."""
    ember.set_default_device(device)
    try:
        yield device
    finally:
        ember.set_default_device(None)


def _outcome(fn, lib):
    try:
        return fn(lib), None
    except Exception as exc:  # noqa: BLE001 - the exception is what we compare
        return None, exc


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(ARITY))
def test_errors_match_pytorch(device, name):
    fn, args = ARITY[name]
    check(fn, args, {}, device)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(ARITY))
def test_error_wording_matches_pytorch(name):
    """PyTorch's own words, with ``torch.`` read as ``ember.`` (the cpu device is enough: the checks
    run in the frontend before any kernel)."""
    fn, args = ARITY[name]
    t_args = [torch.tensor(a.array, requires_grad=a.grad) for a in args]
    e_args = [ember.tensor(a.array, requires_grad=a.grad) for a in args]
    _, t_exc = _outcome(lambda L: fn(L, *t_args), torch)
    _, e_exc = _outcome(lambda L: fn(L, *e_args), ember)
    assert t_exc is not None and e_exc is not None, (t_exc, e_exc)
    assert str(e_exc).splitlines()[0] == str(t_exc).splitlines()[0].replace("torch.", "ember.")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(VALUES))
def test_values_match_pytorch(on_device, name):
    fn, args = VALUES[name]
    check(fn, args, {}, on_device)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(PY_DTYPES))
def test_python_types_as_dtypes(on_device, name):
    check(lambda L: PY_DTYPES[name](L), [], {}, on_device, random=name.startswith("rand"))


def test_python_types_map_as_in_pytorch():
    for py in (bool, int, float, complex):
        assert ember.zeros(1, dtype=py, device="cpu").dtype.name == str(torch.zeros(1, dtype=py).dtype).split(".")[1]


def test_dtype_error_names_the_function():
    for fn, name in [(lambda: ember.ones(2, dtype="x"), "ones"), (lambda: ember.zeros_like(ember.ones(1), dtype="x"),
                                                                  "zeros_like"),
                     (lambda: ember.ones(2).sum(dtype="x"), "sum"), (lambda: ember.tensor([1], dtype="x"), "tensor")]:
        with pytest.raises(TypeError, match=rf"^{name}\(\): argument 'dtype' must be ember.dtype, not str$"):
            fn()


@pytest.mark.parametrize("op", ["__lshift__", "__rshift__"])
def test_shift_across_devices(device, op):
    """A shift by a tensor on another device is PyTorch's device error (it reached the kernel with
    the other device's buffer); a 0-d cpu count joins the tensor's device, as in PyTorch."""
    if device == "cpu":
        pytest.skip("needs a second device type")
    x = ember.tensor([[1, 2, 3]], dtype=ember.int32, device=device)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        getattr(x, op)(ember.tensor([0, 2, 4], dtype=ember.int32))
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        getattr(ember.tensor([1, 1, 1], dtype=ember.int32), op)(x)
    out = getattr(x, op)(ember.tensor(2, dtype=ember.int32))
    want = getattr(np.array([[1, 2, 3]], np.int32), op)(2)
    assert out.device == x.device and out.dtype is ember.int32
    np.testing.assert_array_equal(out.cpu().numpy(), want)
    scalar_first = getattr(ember.tensor(8, dtype=ember.int32), op)(x)
    assert scalar_first.device == x.device
    np.testing.assert_array_equal(scalar_first.cpu().numpy(), getattr(np.int32(8), op)(np.array([[1, 2, 3]], np.int32)))
