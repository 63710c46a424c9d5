"""Shape, range and error divergences from PyTorch found by probing. Each case runs on real PyTorch
and on ember (every device) and compares values, dtypes, shapes, exception types and gradients.

Setitem with a value carrying extra leading size-1 dims; ``arange``/``linspace``/``logspace`` with an
integer dtype and float bounds; ``cat`` with legacy empty (0,) inputs (result dtype, gradients);
``chunk`` of a size-0 dim; ``nonzero(as_tuple=True)``/``where`` of a 0-d tensor; ``diff`` with
``n=0``; ``cov``'s clamped normaliser; ``mode`` with NaN (std::sort's order); ``einsum``'s
broadcast/empty contractions, sublist form and errors; ``masked_scatter`` broadcasting self; the
error types of ``diag`` and ``index_select``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import DEVICE, Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
NAN = math.nan
R = np.random.default_rng(7)


def A(values, dtype=F32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def RND(*shape: int, dtype=F32) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype))


# ---- setitem: extra leading size-1 dims in the value ---------------------------------------------
def _assign(index, value_shape):
    def fn(L, x, v):
        b = x.clone()
        b[index(L)] = v
        return b
    return fn, (RND(3, 4), RND(*value_shape))


SETITEM = [
    (lambda L: 0, (1, 4)),
    (lambda L: 0, (1, 1, 4)),
    (lambda L: slice(0, 2), (1, 2, 4)),
    (lambda L: (0, slice(None)), (1, 1, 4)),
    (lambda L: (L.tensor([0, 1]), 1), (1, 1, 2)),
    (lambda L: (L.tensor([0, 2]),), (1, 2, 4)),
    (lambda L: (L.tensor([0, 1]), 1), (2, 1, 2)),  # not leading ones: an error in both
    (lambda L: (slice(None), L.tensor([1, 3])), (1, 1, 3, 2)),
]


@pytest.mark.parametrize("case", range(len(SETITEM)))
def test_setitem_leading_ones(device, case):
    index, vshape = SETITEM[case]
    fn, args = _assign(index, vshape)
    check(fn, args, {}, device)


def test_setitem_loop_pattern(device):
    def fn(L, x):
        out = L.zeros_like(x)
        for i in range(3):
            out[i] = x[i:i + 1] * 2
        return out
    check(fn, (RND(3, 4),), {}, device)


# ---- arange / linspace / logspace with integer dtypes --------------------------------------------
ARANGE = [
    ((3.5,), "int64"), ((1.9,), "int64"), ((0, 5, 1.5), "int64"), ((-2.5, 2), "int64"),
    ((0, 1, 0.1), "int64"), ((0.5, 3.7, 0.9), "int64"), ((-0.5, 3), "int64"), ((0, -3, -0.5), "int64"),
    ((-1.5, 2.1, 1.2), "int64"), ((0, -5, -1.5), "int64"), ((5.5, 0, -1.5), "int64"), ((0.5, 0.7), "int64"),
    ((0.5, 0.2), "int64"), ((0, 1, -0.5), "int64"), ((0, 1, 1e-300), "int64"), ((0, 1e30, 1), "int64"),
    ((0, 10, 2.5), "int32"), ((0, 10, 2.5), "int16"), ((0, 7, 2.5), "int8"), ((2.5,), "uint8"),
    ((0.5, 0.7, 0.1), "int32"), ((0.7, 0.1, -1), "int32"), ((0.2, -1, 1), "int32"), ((0, 1, 1e-300), "int32"),
    ((0, 1e10, 4e9), "int32"), ((0, 5, math.inf), "int32"), ((0, 5, NAN), "int64"), ((0, 5, NAN), None),
    ((0, 5, 1.5), "float32"), ((-3, 3), "uint8"), ((0, 10, 3), "int32"),
]


@pytest.mark.parametrize("args,dtype", ARANGE, ids=range(len(ARANGE)))
def test_arange_integer_dtype(device, args, dtype):
    kw = {"device": DEVICE} if dtype is None else {"dtype": f"dtype:{dtype}", "device": DEVICE}
    check(lambda L, *a, **k: L.arange(*a, **k), args, kw, device)


LINSPACE = [
    ("linspace", (-3.7, 5.2, 7), "int64"), ("linspace", (0, 300, 5), "uint8"), ("linspace", (-1, 200, 5), "uint8"),
    ("linspace", (-255, 3, 5), "uint8"), ("linspace", (-256, 3, 5), "uint8"), ("linspace", (-1.0, 200, 5), "uint8"),
    ("linspace", (0, 1000, 5), "int8"), ("linspace", (0.9, 10.9, 4), "int32"), ("linspace", (300, 300, 2), "uint8"),
    ("linspace", (0, 300, 0), "uint8"), ("linspace", (300, 2, 1), "uint8"), ("linspace", (2.7, 2.7, 1), "int64"),
    ("linspace", (0, NAN, 3), "int64"), ("linspace", (-128, 127, 6), "int8"),
    ("logspace", (0.5, 2.5, 3), "int64"), ("logspace", (0, 300, 3), "uint8"), ("logspace", (0, 2.5, 3, 2.5), "int16"),
    ("logspace", (0.5, 0.5, 1), "int64"), ("logspace", (3, 3, 1), "uint8"), ("logspace", (-1, 2, 3), "uint8"),
    ("logspace", (-1.0, 2, 3), "uint8"), ("logspace", (0, 3, 4), "uint8"), ("logspace", (0, 1, 5, 2), "int32"),
    ("logspace", (0, 2, 3, 1.1), "int64"), ("logspace", (0, 3, 0), "uint8"),
]


@pytest.mark.parametrize("name,args,dtype", LINSPACE, ids=range(len(LINSPACE)))
def test_linspace_logspace_integer_dtype(device, name, args, dtype):
    check(lambda L, *a, **k: getattr(L, name)(*a, **k), args, {"dtype": f"dtype:{dtype}", "device": DEVICE}, device)


# ---- cat with legacy empty (0,) tensors ----------------------------------------------------------
CAT = [
    ((A([1, 2], np.int32), A([], F32)), {}),
    ((A(np.ones((2, 3)), np.int32), A([], F64)), {}),
    ((RND(2, 3), A([], F64), RND(2, 2)), {"dim": 1}),
    ((A([], np.int32), A([], F32)), {"dim": 5}),
    ((A([], F32), A([], F64)), {}),
    ((A([]), RND(2, 3)), {"dim": 2}),
    ((A([]), A(1.0)), {}),
    ((RND(2, 3), RND(2)), {}),
]


@pytest.mark.parametrize("args,kwargs", CAT, ids=range(len(CAT)))
def test_cat_legacy_empty(device, args, kwargs):
    check(lambda L, *ts, **kw: L.cat(list(ts), **kw), args, kwargs, device)


# ---- chunk / split of a size-0 dim ---------------------------------------------------------------
CHUNK = [
    (lambda L, x: L.chunk(x, 3), (0, 2)),
    (lambda L, x: L.chunk(x, 3, 1), (2, 0)),
    (lambda L, x: x.chunk(1), (0,)),
    (lambda L, x: x.unsafe_chunk(4), (0, 3)),
    (lambda L, x: L.split(x, 3), (0, 2)),
    (lambda L, x: L.split(x, 0), (0, 2)),
    (lambda L, x: L.tensor_split(x, 3), (0, 2)),
    (lambda L, x: L.chunk(x, 3), (5, 2)),
]


@pytest.mark.parametrize("case", range(len(CHUNK)))
def test_chunk_size_zero(device, case):
    fn, shape = CHUNK[case]
    check(fn, (Arg(np.zeros(shape, F32)),), {}, device)


# ---- nonzero / where on 0-d ----------------------------------------------------------------------
@pytest.mark.parametrize("value", [3.0, 0.0])
@pytest.mark.parametrize("op", ["nonzero_tuple", "where", "nonzero", "argwhere", "method"])
def test_nonzero_zero_dim(device, value, op):
    fns = {"nonzero_tuple": lambda L, x: L.nonzero(x, as_tuple=True), "where": lambda L, x: L.where(x),
           "nonzero": lambda L, x: L.nonzero(x), "argwhere": lambda L, x: L.argwhere(x),
           "method": lambda L, x: x.nonzero(as_tuple=True)}
    check(fns[op], (A(value, grad=False),), {}, device)


# ---- diff with n=0 -------------------------------------------------------------------------------
DIFF = [
    ((RND(4),), {"n": 0, "prepend": RND(2), "append": RND(3)}),
    ((RND(2, 3),), {"n": 0, "dim": 0, "prepend": RND(1, 3)}),
    ((RND(4),), {"n": 0, "prepend": RND(2, 2)}),
    ((RND(4),), {"n": 0, "dim": 3}),
    ((RND(4),), {"n": 0, "prepend": RND(2, dtype=F64)}),
    ((RND(2, 3),), {"n": 0, "dim": 0, "prepend": RND(1, 4)}),
    ((RND(4),), {"n": 1, "prepend": RND(2, dtype=F64)}),
    ((A(1.0),), {"n": 0}),
]


@pytest.mark.parametrize("args,kwargs", DIFF, ids=range(len(DIFF)))
def test_diff_n_zero(device, args, kwargs):
    check(lambda L, x, **kw: L.diff(x, **kw), args, kwargs, device)


# ---- cov: degrees of freedom <= 0 ----------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{"correction": 6}, {"correction": 9}, {"correction": 3}])
def test_cov_clamped_normaliser(device, kwargs):
    w = Arg(R.random(6).astype(F64) + 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dof warning; NumPy on the infinities of the gradient
        check(lambda L, x, aw, **kw: L.cov(x, aweights=aw, **kw), (RND(3, 6, dtype=F64), w), kwargs, device)
        check(lambda L, x, fw, **kw: L.cov(x, fweights=fw, **kw), (RND(3, 6, dtype=F64), Arg(np.array([1, 2, 1, 1, 3, 1]))),
              kwargs, device)


# ---- mode with NaN -------------------------------------------------------------------------------
MODE_ROWS = [[NAN, 2, NAN, 2], [NAN, 2, NAN, 2, 2], [2, NAN, NAN, 1], [NAN, NAN], [NAN], [1, NAN, 2, NAN, 3],
             [NAN, 1, 1, NAN, NAN], [1, NAN], [NAN, 1], [NAN, NAN, 1, 1], [1, 1, NAN, NAN], [NAN, 5, NAN, 5, NAN, 5],
             [math.inf, NAN, NAN, math.inf], [2, 1, 2, 1, 3], [3, 1, 3, 1]]


@pytest.mark.parametrize("row", MODE_ROWS, ids=range(len(MODE_ROWS)))
def test_mode_nan(device, row):
    check(lambda L, x: L.mode(x), (A(row),), {}, device)


@pytest.mark.parametrize("n", [9, 17, 40, 120])
@pytest.mark.parametrize("dim,keepdim", [(-1, False), (0, True)])
def test_mode_nan_rows(device, n, dim, keepdim):
    rng = np.random.default_rng(n)
    a = rng.integers(0, 4, (3, n)).astype(F32)
    a[rng.random((3, n)) < 0.3] = NAN
    a[1] = rng.integers(0, 4, n)  # a row without NaN among rows with
    a = a if dim == -1 else np.ascontiguousarray(a.T)
    check(lambda L, x: L.mode(x, dim, keepdim), (Arg(a),), {}, device)


# ---- einsum ----------------------------------------------------------------------------------------
EINSUM = [
    ("ij,ij->i", ((2, 1), (2, 3))), ("i,i->", ((1,), (4,))), ("i,i->", ((0,), (0,))),
    ("ij,jk->ik", ((2, 0), (0, 3))), ("ij,kj->", ((2, 1), (3, 4))), ("ijk,ik->", ((2, 1, 3), (2, 1))),
    ("i,j,i->ij", ((1,), (3,), (4,))), ("bij,bjk->bik", ((1, 2, 3), (4, 3, 5))), ("A...,...A->...A", ((2, 3), (3, 2))),
    ("...,...->...", ((2, 1, 3), (4, 1))), ("ij,jk->iz", ((2, 3), (3, 4))), ("ij,jk->ii", ((2, 3), (3, 4))),
    ("ij,jk->i.", ((2, 3), (3, 4))), ("ij->j1", ((2, 3),)), ("ii", ((2, 3),)), ("ij,jk", ((2, 3), (4, 5))),
    ("...i,...i", ((2, 3, 4), (3, 3, 4))), ("i j -> j", ((2, 3),)), ("ij->...", ((2, 3),)), ("ii->i", ((3, 3),)),
    ("ijk", ((2, 3),)), ("...ijk", ((2, 3),)), ("ij,jk->ik", ((2, 3), (3, 4))), ("i,i,i", ((1,), (3,), (4,))),
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=range(len(EINSUM)))
def test_einsum(device, eq, shapes):
    check(lambda L, *ts: L.einsum(eq, *ts), tuple(RND(*s) for s in shapes), {}, device)


SUBLIST = [
    lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2], [0, 2]),
    lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2]),
    lambda L, a, b: L.einsum(a, [Ellipsis, 1], b, [1, 2], [Ellipsis, 2]),
    lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2], []),
    lambda L, a, b: L.einsum(a, [0, 60], b, [60, 2]),
    lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2], [2, 2]),
    lambda L, a, b: L.einsum(a, [27, 1], b, [1, 51], [51, 27]),
]


@pytest.mark.parametrize("case", range(len(SUBLIST)))
def test_einsum_sublist(device, case):
    check(SUBLIST[case], (RND(2, 3), RND(3, 4)), {}, device)


def test_einsum_too_few_args(device):
    check(lambda L, a: L.einsum("ij"), (RND(2, 3),), {}, device)
    check(lambda L, a: L.einsum(a), (RND(2, 3),), {}, device)
    check(lambda L, a: L.einsum("ij->i", [a]), (RND(2, 3),), {}, device)


# ---- error types and broadcasting ----------------------------------------------------------------
MASKED_SCATTER = [
    ((5,), (3, 5)), ((3, 1), (1, 5)), ((3, 1), (2, 5)), ((3, 5), (5,)), ((1,), (2, 3)),
]


@pytest.mark.parametrize("shapes", MASKED_SCATTER, ids=range(len(MASKED_SCATTER)))
def test_masked_scatter_broadcasts_self(device, shapes):
    sshape, mshape = shapes
    mask = Arg(R.random(mshape) < 0.5)
    check(lambda L, s, m, src: L.masked_scatter(s, m, src), (RND(*sshape), mask, RND(20)), {}, device)


def test_masked_scatter_inplace_does_not_broadcast_self(device):
    check(lambda L, s, m, src: s.clone().masked_scatter_(m, src),
          (RND(5), Arg(np.ones((3, 5), bool)), RND(20)), {}, device)


@pytest.mark.parametrize("shape", [(), (2, 2, 2), (3,), (2, 3)])
def test_diag_dims(device, shape):
    check(lambda L, x: L.diag(x), (RND(*shape),), {}, device)
    check(lambda L, x: x.diag(1), (RND(*shape),), {}, device)


INDEX_SELECT = [((3, 5), 1, [5]), ((3, 5), 1, [-1]), ((3, 5), 0, 3), ((3, 5), 1, 5), ((5,), 0, [5]), ((5,), 0, 5),
                ((3, 5), 0, [0, 7]), ((2, 3, 4), 1, [3]), ((2, 3, 4), -2, [3]), ((2, 3, 4), -1, [4]),
                ((3, 0), 1, [0]), ((3, 0), 0, [5]), ((3, 0), 0, [2]), ((0, 5), 0, [0]), ((), 0, [1]), ((), 0, 0),
                ((3, 5), 1, [4, 0])]


@pytest.mark.parametrize("shape,dim,index", INDEX_SELECT, ids=range(len(INDEX_SELECT)))
def test_index_select_errors(device, shape, dim, index):
    check(lambda L, x, i: L.index_select(x, dim, i), (RND(*shape), Arg(np.array(index, np.int64))), {}, device)
