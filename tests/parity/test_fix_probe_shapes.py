"""Shape, range and error divergences from PyTorch found by probing. Each case runs on real PyTorch
and on ember (every device) and compares values, dtypes, shapes, exception types and gradients.

Setitem with a value carrying extra leading size-1 dims; ``arange``/``linspace``/``logspace`` with an
integer dtype and float bounds; ``cat`` with legacy empty (0,) inputs (result dtype, gradients);
``chunk`` of a size-0 dim; ``nonzero(as_tuple=True)``/``where`` of a 0-d tensor; ``diff`` with
``n=0``; ``cov``'s clamped normaliser; ``mode`` with NaN (std::sort's order); ``einsum``'s
broadcast/empty contractions, sublist form and errors; ``masked_scatter`` broadcasting self; the
error types of ``diag`` and ``index_select``.

Second round (``SHAPE_ROWS``): ``infer_size``'s checks for view/reshape/unflatten, flatten of a 0-d
tensor, the keyword forms of permute/expand/broadcast_to/repeat/tile/split/tensor_split, squeeze's
repeated dims, broadcast_tensors/broadcast_shapes errors, repeat_interleave's messages, negative
split sizes (were silently accepted), flip/tril/rot90/tri_indices argument errors, einsum's dtype
rules (bmm for a contraction, mul otherwise) and the cat family's ``out=`` TypeError; ``MESSAGES``
compares the error text too.
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


# ==== second probe round: shape and movement ops ==================================================
# Each row runs on both frameworks through ``check`` (values, dtypes, shapes, error types, gradients);
# ``MESSAGES`` rows also compare the error text, where PyTorch's carries no C++ trace.
def _msg(fn, *args):
    """The error message ``fn`` raises on each framework (None when it does not raise)."""
    import ember

    out = []
    for lib in (torch, ember):
        try:
            fn(lib, *args)
            out.append(None)
        except Exception as exc:  # noqa: BLE001 - the message is what we compare
            out.append((builtin_base(type(exc)).__name__, str(exc).replace("torch.", "").replace("ember.", "")))
    return out


from parity_compare import builtin_base  # noqa: E402

SHAPE_ROWS = {
    # view / reshape: PyTorch's infer_size, its checks in order
    "view_zero_numel_infer": lambda L: L.zeros(0, 3).view(-1, 0),
    "view_zero_numel_infer_1d": lambda L: L.zeros(0).view(0, -1),
    "reshape_zero_numel_infer": lambda L: L.zeros(0, 3).reshape(2, -1, 0),
    "view_zero_numel_ok": lambda L: L.zeros(0, 3).reshape(2, -1),
    "view_invalid_dim": lambda L: L.arange(6.).view(-2, 3),
    "view_invalid_after_infer": lambda L: L.zeros(0).view(-1, -2),
    "view_two_infers": lambda L: L.arange(6.).view(-1, -1),
    "view_numel_no_infer": lambda L: L.arange(6.).view(-1, 0),
    # flatten / unflatten
    "flatten_0d_dim1": lambda L: L.tensor(3.).flatten(1),
    "flatten_0d_dims": lambda L: L.tensor(3.).flatten(0, 1),
    "flatten_0d_ok": lambda L: L.tensor(3.).flatten(-1, 0),
    "unflatten_bad_product": lambda L: L.arange(6.).unflatten(0, (4, -1)),
    "unflatten_empty_sizes": lambda L: L.arange(6.).unflatten(0, ()),
    "unflatten_0d_dim1": lambda L: L.tensor(3.).unflatten(1, (1,)),
    "unflatten_0d_empty": lambda L: L.tensor(3.).unflatten(0, ()),
    "unflatten_zero_numel": lambda L: L.zeros(0).unflatten(0, (2, -1)),
    # permute / transpose family
    "permute_dims_keyword": lambda L: L.permute(L.arange(6.).reshape(2, 3), dims=(1, 0)),
    "permute_no_dims": lambda L: L.arange(6.).reshape(2, 3).permute(),
    "permute_0d_no_dims": lambda L: L.tensor(3.).permute(),
    "t_inplace_3d": lambda L: L.zeros(2, 3, 4).t_(),
    "movedim_repeat_negative": lambda L: L.movedim(L.zeros(2, 3, 4), (0, -3), (1, 2)),
    "movedim_count": lambda L: L.moveaxis(L.zeros(2, 3, 4), (0, 1), (2,)),
    "movedim_int_and_list": lambda L: L.movedim(L.zeros(2, 3, 4), 0, [1]),
    "movedim_list_and_int": lambda L: L.movedim(L.zeros(2, 3, 4), [0, 2], 0),
    "movedim_tensor_dim": lambda L: L.movedim(L.arange(24.).reshape(2, 3, 4), L.tensor(0), 1),
    # squeeze / unsqueeze
    "squeeze_repeated": lambda L: L.zeros(1, 2, 1).squeeze((0, -3)),
    "squeeze_0d_repeated": lambda L: L.tensor(3.).squeeze((0, -1)),
    "squeeze_tensor_dim": lambda L: L.zeros(1, 2, 1).squeeze(L.tensor(0)),
    "squeeze_float_dim": lambda L: L.zeros(1, 2, 1).squeeze(1.0),
    "unsqueeze_tuple": lambda L: L.zeros(2, 3).unsqueeze((0, 1)),
    # expand / broadcast / repeat / tile keyword forms and errors
    "expand_size_keyword": lambda L: L.zeros(3, 1).expand(size=(2, 3, 4)),
    "broadcast_to_size_keyword": lambda L: L.broadcast_to(L.zeros(3, 1), size=(3, 4)),
    "expand_negative": lambda L: L.zeros(3, 1).expand(3, -2),
    "repeat_keyword": lambda L: L.arange(3.).repeat(repeats=(2, 2)),
    "repeat_no_args": lambda L: L.arange(3.).repeat(),
    "repeat_0d_no_args": lambda L: L.tensor(3.).repeat(),
    "tile_no_args": lambda L: L.arange(3.).tile(),
    "tile_keyword": lambda L: L.arange(3.).tile(dims=(2,)),
    "broadcast_tensors_pairwise": lambda L: L.broadcast_tensors(L.zeros(3, 1), L.zeros(4), L.zeros(2, 5, 1)),
    "broadcast_tensors_last": lambda L: L.broadcast_tensors(L.zeros(3, 1), L.zeros(4), L.zeros(2, 1, 5)),
    "broadcast_tensors_empty": lambda L: L.broadcast_tensors(L.zeros(3, 1), L.zeros(0, 4)),
    "broadcast_shapes_mismatch": lambda L: L.broadcast_shapes((3, 1), (1, 4), (2, 1, 5)),
    "broadcast_shapes_negative": lambda L: L.broadcast_shapes((-1,), (3,)),
    "broadcast_shapes_negative_late": lambda L: L.broadcast_shapes((2,), (-1,)),
    "broadcast_shapes_none": lambda L: L.broadcast_shapes((2, 1), None, 3),
    "broadcast_shapes_zero": lambda L: L.broadcast_shapes((0,), (3,)),
    # repeat_interleave
    "repeat_interleave_dim1_count": lambda L: L.repeat_interleave(L.zeros(2, 3), L.tensor([1, 2]), dim=1),
    "repeat_interleave_output_size": lambda L: L.repeat_interleave(L.zeros(2, 3), 2, dim=0, output_size=5),
    "repeat_interleave_output_size_ok": lambda L: L.repeat_interleave(L.arange(6.).reshape(2, 3), 2, 0, output_size=4),
    "repeat_interleave_0d_counts": lambda L: L.repeat_interleave(L.tensor(2)),
    "repeat_interleave_2d_counts": lambda L: L.repeat_interleave(L.tensor([[1, 2]])),
    "repeat_interleave_negative": lambda L: L.repeat_interleave(L.zeros(3), -1),
    # split family
    "split_negative_sizes": lambda L: L.split(L.arange(10.), [3, -1, 8]),
    "split_with_sizes_negative": lambda L: L.arange(10.).split_with_sizes([2, -1, 9]),
    "split_negative_size": lambda L: L.split(L.arange(10.), -1),
    "split_zero_size": lambda L: L.split(L.arange(10.), 0),
    "split_0d_tensor_size": lambda L: L.split(L.arange(10.), L.tensor(3)),
    "split_tensor_sizes": lambda L: L.split(L.arange(10.), L.tensor([3, 7])),
    "split_keyword": lambda L: L.arange(10.).split(split_size=4),
    "split_with_sizes_int": lambda L: L.split_with_sizes(L.arange(10.), 2),
    "tensor_split_indices_kw": lambda L: L.tensor_split(L.arange(10.), indices=[2, 5]),
    "tensor_split_sections_kw": lambda L: L.tensor_split(L.arange(10.), sections=3),
    "tensor_split_tensor_kw": lambda L: L.tensor_split(L.arange(10.), tensor_indices_or_sections=L.tensor([2], device="cpu")),
    "vsplit_1d": lambda L: L.vsplit(L.arange(12.), 2),
    "dsplit_2d": lambda L: L.dsplit(L.arange(12.).reshape(3, 4), 2),
    "hsplit_0d": lambda L: L.hsplit(L.tensor(3.), 1),
    "unbind_0d": lambda L: L.unbind(L.tensor(3.)),
    # flip / tril / rot90 / tri indices
    "flip_int_dims": lambda L: L.flip(L.arange(6.).reshape(2, 3), 0),
    "flip_method_no_dims": lambda L: L.arange(6.).reshape(2, 3).flip(),
    "flip_method_int": lambda L: L.arange(6.).reshape(2, 3).flip(1),
    "flip_method_ints": lambda L: L.arange(6.).reshape(2, 3).flip(1, 0),
    "tril_float_diagonal": lambda L: L.tril(L.ones(3, 4), 1.5),
    "triu_bool_diagonal": lambda L: L.triu(L.ones(3, 4), True),
    "rot90_out_of_range": lambda L: L.rot90(L.zeros(2, 3), 1, (0, 2)),
    "rot90_out_of_range_neg": lambda L: L.rot90(L.zeros(2, 3), 1, (-3, 0)),
    "rot90_same_dim": lambda L: L.rot90(L.zeros(2, 3), 1, (0, -2)),
    "triu_indices_int8": lambda L: L.triu_indices(3, 3, dtype=L.int8),
    "tril_indices_float": lambda L: L.tril_indices(3, 3, dtype=L.float32),
    "tril_indices_int32": lambda L: L.tril_indices(3, 4, 1, dtype=L.int32),
    # einsum: a contracted pair goes through bmm (no promotion), an uncontracted one through mul
    "einsum_contract_mixed": lambda L: L.einsum("bi,bi->b", L.ones(2, 3, dtype=L.int64), L.ones(2, 3)),
    "einsum_outer_mixed": lambda L: L.einsum("bi,bj->bij", L.ones(2, 3, dtype=L.int64), L.ones(2, 3)),
    "einsum_mul_mixed": lambda L: L.einsum("bi,bi->bi", L.ones(2, 3, dtype=L.int64), L.ones(2, 3)),
    "einsum_three_mixed": lambda L: L.einsum("bi,bi,bi->b", L.ones(2, 3, dtype=L.int32), L.ones(2, 3, dtype=L.int64),
                                             L.ones(2, 3)),
    "einsum_sum_widens": lambda L: L.einsum("ij,j->", L.ones(2, 3, dtype=L.int32), L.ones(3, dtype=L.int32)),
    "einsum_int32": lambda L: L.einsum("bi,bi->b", L.ones(2, 3, dtype=L.int32), L.ones(2, 3, dtype=L.int32)),
    "einsum_bool_outer": lambda L: L.einsum("i,j->ij", L.tensor([True, False]), L.tensor([True, True, False])),
    "einsum_half_mixed": lambda L: L.einsum("i,i", L.ones(3, dtype=L.bfloat16), L.ones(3, dtype=L.float16)),
    "einsum_complex_mixed": lambda L: L.einsum("i,i", L.ones(3, dtype=L.complex64), L.ones(3)),
    # cat family with out=: PyTorch's cat refuses a lower kind of out with a TypeError
    "cat_out_int": lambda L: L.cat([L.ones(2, 3), L.ones(2, 3)], out=L.empty(4, 3, dtype=L.int64)),
    "cat_out_narrower": lambda L: L.cat([L.ones(2, 3, dtype=L.int64)], out=L.empty(0, dtype=L.int8)),
    "stack_out_int": lambda L: L.stack([L.ones(2, 3), L.ones(2, 3)], out=L.empty(0, dtype=L.int64)),
    "hstack_out_int": lambda L: L.hstack([L.ones(2, 3), L.ones(2, 3)], out=L.empty(0, dtype=L.int64)),
    "hstack_out": lambda L: L.hstack([L.ones(2, 3), L.ones(2, 1)], out=L.empty(2, 4, dtype=L.float64)),
    "vstack_out_int": lambda L: L.vstack([L.ones(2, 3)], out=L.empty(0, dtype=L.int64)),
    "vstack_out": lambda L: L.vstack([L.ones(3), L.ones(3)], out=L.empty(0)),
    "column_stack_out_int": lambda L: L.column_stack([L.ones(2), L.ones(2)], out=L.empty(0, dtype=L.int32)),
    "row_stack_out": lambda L: L.row_stack([L.ones(2), L.ones(2)], out=L.empty(0, dtype=L.float64)),
    "dstack_out_int": lambda L: L.dstack([L.ones(2, 3)], out=L.empty(0, dtype=L.int64)),
}

# rows whose PyTorch message has no C++ trace appended: ember's must read the same
MESSAGES = [name for name in SHAPE_ROWS if name not in {
    "squeeze_float_dim", "unsqueeze_tuple", "expand_negative", "flip_method_no_dims", "split_with_sizes_int",
    "einsum_bool_outer", "unflatten_0d_dim1", "movedim_int_and_list", "movedim_list_and_int"}]


def _on(device: str, fn):
    """``fn`` with ember's factories making tensors on ``device`` (PyTorch's stay on its CPU)."""
    import ember

    def call(L):
        if L is torch:
            return fn(L)
        with ember.device(device):
            return fn(L)
    return call


CPU_ONLY = {"einsum_complex_mixed"}  # OpenCL has no complex64


@pytest.mark.parametrize("name", list(SHAPE_ROWS))
def test_shape_rows(device, name):
    if device != "cpu" and name in CPU_ONLY:
        pytest.skip("complex64 on the CPU only")
    fn = SHAPE_ROWS[name]
    check(_on(device, fn), (), {}, device)


@pytest.mark.parametrize("name", MESSAGES)
def test_shape_messages(name):
    t_err, e_err = _msg(lambda L: SHAPE_ROWS[name](L))
    assert t_err is not None or e_err is None, f"ember raised {e_err}; PyTorch did not"
    if t_err is not None:
        assert e_err is not None, f"PyTorch raised {t_err}; ember did not"
        assert e_err == t_err, f"ember {e_err!r} != PyTorch {t_err!r}"
