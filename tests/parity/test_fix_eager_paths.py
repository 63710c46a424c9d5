"""Eager fast paths (issue #16) against PyTorch: each shortcut must give what the general path gave.

``linear``'s backward on the backend's arrays for inputs of any rank (rows flattened, as in
forward); ``matmul``'s shortcut for operands whose checks pass on shape tuples (the general path
still raises every error); ``tril``/``triu``'s cached masks (shapes, diagonals and directions
alternating, masks first built in ``inference_mode``); the cpu ``relu`` kernel's own dtype dispatch.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
R = np.random.default_rng(11)


def RND(*shape: int, dtype=F32, layout: str = "contiguous", grad: bool = True) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype), layout=layout, grad=grad)


# ---- linear: backward on flattened rows --------------------------------------------------------
LINEAR = [
    ((2, 3, 4), True), ((2, 2, 3, 4), True), ((0, 3, 4), True), ((5, 4), False), ((1, 1, 1, 4), False),
]


@pytest.mark.parametrize("case", range(len(LINEAR)))
@pytest.mark.parametrize("dtype", [F32, F64])
def test_linear_backward_any_rank(device, case, dtype):
    shape, bias = LINEAR[case]
    args = (RND(*shape, dtype=dtype), RND(5, 4, dtype=dtype)) + ((RND(5, dtype=dtype),) if bias else ())
    check(lambda L, *a: L.nn.functional.linear(*a), args, {}, device, tol=4)


def test_linear_backward_permuted_input(device):
    # a (3, 2, 4) view of permuted storage: its rows are not contiguous
    check(lambda L, x, w, b: L.nn.functional.linear(x.permute(1, 0, 2), w, b),
          (RND(2, 3, 4), RND(5, 4), RND(5)), {}, device, tol=4)


def test_linear_backward_weight_frozen(device):
    # only the input needs a gradient (a frozen layer): the weight's product is skipped
    check(lambda L, x, w, b: L.nn.functional.linear(x, w, b), (RND(2, 3, 4), RND(5, 4, grad=False), RND(5)),
          {}, device, tol=4)


# ---- matmul: the shortcut and the cases it leaves to the general path ---------------------------
MATMUL = [
    ((8, 4, 5, 3), (8, 4, 3, 6)),  # equal batches: the shortcut
    ((2, 5, 3), (3, 4)),  # a stack times a matrix
    ((5, 3), (2, 3, 4)),  # a matrix times a stack
    ((2, 1, 5, 3), (1, 4, 3, 2)),  # batches that broadcast: the general path
    ((2, 5, 3), (3, 5, 3, 2)),  # batches that do not broadcast: PyTorch's error
    ((5, 3), (4, 2)),  # inner sizes differ: PyTorch's error
    ((3,), (3, 4)),  # vectors: the general path
    ((0, 5, 3), (0, 3, 2)),  # empty batch
]


@pytest.mark.parametrize("case", range(len(MATMUL)))
def test_matmul_shapes(device, case):
    sa, sb = MATMUL[case]
    check(lambda L, a, b: a @ b, (RND(*sa), RND(*sb)), {}, device, tol=4)


def test_matmul_transposed_operand(device):
    check(lambda L, q, k: L.matmul(q, k.transpose(-2, -1)), (RND(2, 3, 4, 5), RND(2, 3, 6, 5)), {}, device, tol=4)


@pytest.mark.parametrize("pair", [(F32, F64), (np.int64, np.int64), (np.bool_, np.bool_)])
def test_matmul_dtype_rules(device, pair):
    a = Arg(R.integers(0, 2, (2, 3)).astype(pair[0]), grad=False)
    b = Arg(R.integers(0, 2, (3, 2)).astype(pair[1]), grad=False)
    check(lambda L, x, y: x @ y, (a, b), {}, device)


# ---- tril / triu: cached masks --------------------------------------------------------------------
def test_tri_masks_alternating(device):
    def fn(L, x, y):
        # the same (rows, cols) with other diagonals and directions, and another shape between them
        return (x.tril(), x.triu(), x.tril(1), x.triu(-1), y.tril(), x.tril(), x.tril(-2), y.triu(1))

    check(fn, (RND(4, 5), RND(2, 5, 4)), {}, device)


@pytest.mark.parametrize("dtype", [F32, np.int32, np.bool_])
def test_tri_mask_dtypes(device, dtype):
    x = Arg((R.standard_normal((3, 6, 6)) > 0).astype(dtype), grad=False)
    check(lambda L, t: (t.tril(), t.triu(2), t.tril(-7), t.triu(9)), (x,), {}, device)


def test_tri_mask_made_in_inference_mode_then_recorded(device):
    # a mask first built in inference_mode must not become an inference tensor that autograd saves later
    def fn(L, x):
        with L.inference_mode():
            L.ones(7, 7, device=x.device).tril()
        return (x * 2).tril()

    check(fn, (RND(7, 7),), {}, device)


# ---- relu: the cpu kernel's dtype dispatch ----------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int32", "int8"])
def test_relu_dtypes(device, dtype):
    vals = np.array([-1.5, -0.0, 0.0, 2.25, np.nan, -np.inf, np.inf], np.float64)
    if not dtype.startswith(("float", "bfloat")):
        vals = np.array([-3, 0, 5, -128, 127], np.float64)

    def fn(L, x):
        t = x.to(getattr(L, dtype))
        return t.relu(), L.nn.functional.relu(t), L.relu(t.reshape(1, -1).t())

    check(fn, (Arg(vals, grad=False),), {}, device)


def test_relu_large_array(device):
    # the cpu's compiled pass from 65,536 elements; NaN and -0.0 pass through
    x = R.standard_normal(70_000).astype(F32)
    x[::997] = np.nan
    x[1::991] = -0.0
    check(lambda L, t: L.relu(t), (Arg(x),), {}, device)




# ---- x[a:b:c]: a lone slice as one view --------------------------------------------------------
SLICES = [slice(1, 3), slice(None, None, 2), slice(-2, None), slice(5, 1), slice(None), slice(-100, 100, 3),
          slice(None, None, 0), slice(None, None, -1), slice(1, None, 4)]


@pytest.mark.parametrize("case", range(len(SLICES)))
@pytest.mark.parametrize("shape", [(6, 3), (6,), (0, 2)])
def test_lone_slice(device, case, shape):
    sl = SLICES[case]
    check(lambda L, x: x[sl], (RND(*shape),), {}, device)


def test_lone_slice_is_a_view(device):
    def fn(L, x):
        b = x * 1  # a non-leaf: writes through its slice reach it, and the gradient follows
        v = b[1:4:2]
        v.mul_(3)
        return b, v, type(v.grad_fn).__name__ if v.grad_fn is not None else None

    check(fn, (RND(5, 2),), {}, device)


def test_lone_slice_tensor_bounds(device):
    check(lambda L, x: x[L.tensor(1):L.tensor(4)], (RND(5, 2),), {}, device)


# ---- embedding: forward and backward on the backend's arrays --------------------------------------
EMBED_IDX = [[3], [[0, 2, 2], [4, 0, 2]], [[[1]], [[1]]], [], 2, [[0, 1], [1, 1]]]


@pytest.mark.parametrize("case", range(len(EMBED_IDX)))
@pytest.mark.parametrize("opts", [{}, {"padding_idx": 1}, {"scale_grad_by_freq": True}, {"padding_idx": -1}])
def test_embedding_rows(device, case, opts):
    idx = np.array(EMBED_IDX[case], np.int64)
    check(lambda L, w, i: L.nn.functional.embedding(i, w, **opts), (RND(5, 3), Arg(idx, grad=False)), {}, device)


@pytest.mark.parametrize("dtype", [F64, np.int32])
def test_embedding_dtypes(device, dtype):
    idx = np.array([[0, 4], [4, 4]], np.int32 if dtype is np.int32 else np.int64)
    check(lambda L, w, i: L.nn.functional.embedding(i, w), (RND(5, 3, dtype=F64 if dtype is F64 else F32),
                                                             Arg(idx, grad=False)), {}, device)


def test_embedding_double_backward(device):
    # create_graph takes the recorded path: the weight's gradient is itself differentiable
    def fn(L, w, i):
        out = L.nn.functional.embedding(i, w)
        (g,) = L.autograd.grad((out * out).sum(), w, create_graph=True)
        return g, L.autograd.grad((g * g).sum(), w)[0]

    check(fn, (RND(5, 3), Arg(np.array([[0, 2, 2]], np.int64), grad=False)), {}, device)


# ---- factories: zero fills through np.zeros, device strings resolved once -------------------------
@pytest.mark.parametrize("value", [0, 0.0, -0.0, False, 0j, 1, -1.5])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "bfloat16", "complex64"])
def test_full_keeps_sign_and_dtype(device, value, dtype):
    import ember

    if dtype == "complex64" and device.startswith("opencl"):
        pytest.skip("no complex dtypes on OpenCL")
    try:
        want = torch.full((2, 3), value, dtype=getattr(torch, dtype))
    except RuntimeError:  # a value the dtype cannot hold: both refuse it
        with pytest.raises(RuntimeError):
            ember.full((2, 3), value, dtype=getattr(ember, dtype), device=device)
        return
    got = ember.full((2, 3), value, dtype=getattr(ember, dtype), device=device)
    assert str(got.dtype).split(".")[-1] == dtype
    w = want.float().numpy() if dtype == "bfloat16" else want.numpy()
    g = got.float().cpu().numpy() if dtype == "bfloat16" else got.cpu().numpy()
    np.testing.assert_array_equal(g, w)
    if dtype.startswith("float") or dtype == "bfloat16":
        np.testing.assert_array_equal(np.signbit(g.astype(np.float64)), np.signbit(w.astype(np.float64)))


def test_device_strings_resolve_to_the_current_index():
    import ember

    if "opencl" not in ember.plugins.device_types() or not ember.opencl.is_available():
        pytest.skip("needs the OpenCL backend")
    assert ember.zeros(1, device="cpu").device is ember.zeros(1).device  # interned
    assert ember.zeros(1, device="opencl:0").device == ember.device("opencl", 0)
    before = ember.opencl.current_device()
    ember.opencl.set_device(0)
    try:
        assert ember.zeros(1, device="opencl").device == ember.device("opencl", ember.opencl.current_device())
    finally:
        ember.opencl.set_device(before)
