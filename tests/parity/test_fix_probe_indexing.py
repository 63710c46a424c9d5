"""Indexing, scatter/gather and complex divergences from PyTorch found by probing. Each case runs
on real PyTorch and on ember (every device where it applies) and compares values, dtypes, shapes,
exception types and gradients; where the fix was an error message, the message too.

Advanced indexing: which objects are indices (sequences of floats become int64, NumPy uint8 arrays
are masks, int16/int8 tensors and non-index objects raise), Python ``True`` as an index tensor,
PyTorch's bounds check (only when the result is non-empty, naming the first bad value and its
position among the index tensors), broadcast errors, 0-d tensors. Setitem/index_put: the value's
dtype must match except in masked_fill_'s case (a lone mask and one element on the CPU), values
PyTorch refuses, ``x[False] = v``, accumulate through 0-d indices. The scatter family: index_add's
alpha in self's type, ``out=``, scatter_reduce's "max"/"min" derivative, complex refusals; narrow
with a tensor start; view_as_complex of a 0-d tensor.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, I64 = np.float32, np.int64
X = np.random.default_rng(11).standard_normal((3, 4, 5)).astype(F32)
X2 = np.random.default_rng(12).standard_normal((3, 4)).astype(F32)


def idx(lib, values, dtype="int64"):
    """An index tensor on the CPU (PyTorch's side: its only device; ember moves it to x's)."""
    return lib.tensor(values, dtype=getattr(lib, dtype))


def _run(fn, lib, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(lib, *args), None
        except Exception as exc:  # noqa: BLE001 - compared below
            return None, exc


def same_error(fn, device, array=X):
    """Both raise, the same builtin type and the same message (``torch`` read as ``ember``)."""
    _, t_exc = _run(fn, torch, torch.from_numpy(array.copy()))
    _, e_exc = _run(fn, ember, ember.tensor(array.copy(), device=device))
    assert t_exc is not None and e_exc is not None, (t_exc, e_exc)
    base = next(k for k in type(t_exc).__mro__ if k.__module__ == "builtins")
    assert isinstance(e_exc, base), (t_exc, e_exc)
    assert str(e_exc).replace("ember", "torch") == str(t_exc).split("\n")[0], (str(t_exc), str(e_exc))


def quiet(fn):
    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)
    return run


# ---- which objects are indices ---------------------------------------------------------------------
INDEX_OBJECTS = [
    [1.0], [1.5], [-1.2, 2.7], [[1.0]], [1.0, True], (1, [1.0, 2.9]),
    np.array([1.0]), np.array([1.7, -1.2]), np.array(1.0), np.array([1], np.uint8), np.array([1, 0, 1], np.uint8),
    [np.uint8(1), np.uint8(0)], np.int16(1), 1.0, (None, 1.0), np.float64(1.0), np.bool_(True), 1 + 2j, [1 + 2j],
    object(), "a", [None], [],
]


@pytest.mark.parametrize("case", range(len(INDEX_OBJECTS)))
def test_index_objects(device, case):
    item = INDEX_OBJECTS[case]
    check(quiet(lambda lib, x: x[item]), (Arg(X2),), {}, device)


@pytest.mark.parametrize("dtype", ["int16", "int8"])
def test_small_int_index_tensors_refused(device, dtype):
    check(lambda lib, x: x[idx(lib, [0, 1], dtype)], (Arg(X2),), {}, device)
    check(lambda lib, x: x[idx(lib, 1, dtype)], (Arg(X2),), {}, device)  # 0-d: an int


TRUE_INDEX = [
    lambda lib: ([0, 1], slice(None), True),
    lambda lib: (True, [0, 1]),
    lambda lib: ([0, 1], True),
    lambda lib: (slice(None), [0, 1], True),
    lambda lib: (True, slice(None), [0, 1]),
    lambda lib: ([0, 1], slice(None), False),
]


@pytest.mark.parametrize("case", range(len(TRUE_INDEX)))
def test_python_bool_is_an_index_tensor(device, case):
    check(lambda lib, x: x[TRUE_INDEX[case](lib)], (Arg(X2),), {}, device)


def test_true_index_is_a_copy(device):
    def fn(lib, x):
        b = x.detach().clone()
        y = b[True]
        y.zero_()
        return b, y
    check(fn, (Arg(X2),), {}, device)


# ---- bounds, broadcasting, 0-d ------------------------------------------------------------------
ERRORS = [
    lambda lib, x: x[:, :, [0, 7]],                        # dimension 0 among the index tensors
    lambda lib, x: x[[0, 1], [0, 9]],
    lambda lib, x: x[[3, -7]],
    lambda lib, x: x[:, [0, 5], [9, 1]],                    # the first bad position, then the first tensor
    lambda lib, x: x[[0, 1], [0, 1, 2]],                     # broadcast: an IndexError naming the shapes
    lambda lib, x: x[lib.tensor([True, False, True]), [1, 2, 3]],
    lambda lib, x: x[lib.tensor(False), [0, 1]],
    lambda lib, x: x[:, lib.ones(4, 4, dtype=lib.bool)],     # the first mismatching dim of the mask
    lambda lib, x: x[:, lib.ones(4, 0, dtype=lib.bool)],
    lambda lib, x: x[::0],
    lambda lib, x: x[1.0],
    lambda lib, x: x["a"],
    lambda lib, x: x[:, :0][:, [0]],                         # an indexed dim of size 0
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_index_errors(device, case):
    same_error(ERRORS[case], device)


def test_no_bounds_check_on_an_empty_result(device):
    check(lambda lib, x: x[:0, [0, 9]], (Arg(X2),), {}, device)
    check(lambda lib, x: x[[0, 9], :0], (Arg(X2),), {}, device)


@pytest.mark.parametrize("index", [0, 1, -1, slice(None)])
def test_zero_dim_single_index(device, index):
    same_error(lambda lib, x: x[index], device, np.array(2.0, F32))

    def assign(lib, x):
        x[index] = 1.0
    same_error(assign, device, np.array(2.0, F32))


# ---- setitem / index_put -------------------------------------------------------------------------
def _on(index, device):
    """Index tensors on x's device (the value stays where it was made: on the CPU)."""
    if isinstance(index, tuple):
        return tuple(_on(i, device) for i in index)
    return index.to(device) if hasattr(index, "dtype") else index


def _put(index, value):
    def fn(lib, x):
        b = x.clone()
        b[_on(index(lib), x.device)] = value(lib)
        return b
    return fn


SETITEM = [
    # another dtype through index_put: refused (shapes are checked first)
    (lambda lib: [0, 1], lambda lib: lib.ones(5, dtype=lib.float64)),
    (lambda lib: [0, 1], lambda lib: lib.tensor(2)),
    (lambda lib: (slice(None), [0, 1]), lambda lib: lib.ones(3, 2, 5, dtype=lib.float64)),
    (lambda lib: lib.tensor(X > 0), lambda lib: lib.ones(int((X > 0).sum()), dtype=lib.float64)),
    (lambda lib: lib.tensor(X > 0), lambda lib: lib.tensor([3, 4])),
    # masked_fill_'s case: a lone mask and one CPU element, which it casts as a number
    (lambda lib: lib.tensor(X > 0), lambda lib: lib.tensor(3.5, dtype=lib.float64)),
    (lambda lib: lib.tensor(X > 0), lambda lib: lib.tensor([3])),
    (lambda lib: (lib.tensor(X[:, :, 0] > 0), 1), lambda lib: lib.tensor(3)),
    (lambda lib: (lib.tensor(X[:, :, 0] > 0), [1]), lambda lib: lib.tensor(3)),  # two index tensors: refused
    # a uint8 mask goes to masked_fill_, which refuses it
    (lambda lib: lib.tensor(X[:, 0, 0] > 0).to(lib.uint8), lambda lib: 1.0),
    (lambda lib: lib.tensor(X[:, 0, 0] > 0).to(lib.uint8), lambda lib: lib.tensor(1.0)),
    # values PyTorch does not assign
    (lambda lib: 0, lambda lib: np.float32(2)),
    (lambda lib: 0, lambda lib: np.bool_(True)),
    (lambda lib: 0, lambda lib: None),
    (lambda lib: 0, lambda lib: "a"),
    (lambda lib: [0], lambda lib: np.float64(2)),
    (lambda lib: [0], lambda lib: np.int32(2)),
    # x[False] writes and checks nothing
    (lambda lib: False, lambda lib: lib.ones(7)),
    (lambda lib: (False,), lambda lib: lib.ones(7)),
]


@pytest.mark.parametrize("case", range(len(SETITEM)))
def test_setitem_values(device, case):
    index, value = SETITEM[case]
    check(quiet(_put(index, value)), (Arg(X, grad=False),), {}, device)


def test_setitem_mask_cast_keeps_checks():
    def fn(lib, x):
        x = x.clone()
        x[lib.tensor(X2 > 0)] = lib.tensor(3 + 1j)  # masked_fill_ of a complex number into float
        return x
    check(fn, (Arg(X2, grad=False),), {}, "cpu")


def test_setitem_on_leaf(device):
    def write(index):
        def fn(lib, x):
            x[index(lib)] = 1.0
            return x
        return fn
    same_error(lambda lib, x: write(lambda lib: 0)(lib, x.requires_grad_()), device)      # a view of a leaf
    same_error(lambda lib, x: write(lambda lib: [0])(lib, x.requires_grad_()), device)    # the leaf itself
    check(write(lambda lib: False), (Arg(X2),), {}, device)                               # nothing written


def test_setitem_mask_grad_with_cast_value():
    def fn(lib, x, v):
        y = x * 2
        y[lib.tensor(X2 > 0)] = v
        return y
    check(fn, (Arg(X2), Arg(np.array(5.0))), {}, "cpu")


INDEX_PUT = [
    lambda lib, x: x.index_put_((lib.tensor(1),), lib.tensor(2.0), accumulate=True),
    lambda lib, x: x.index_put_((lib.tensor(1), lib.tensor(2)), lib.tensor(2.0), accumulate=True),
    lambda lib, x: x.index_put_((lib.tensor([0, 0]),), lib.tensor(2.0, dtype=lib.float64), accumulate=True),
    lambda lib, x: x.index_put_((lib.tensor([0, 0]),), lib.tensor(2), accumulate=False),
    lambda lib, x: x.index_put_((lib.tensor(X2[:, 0] > 0).to(x.device),), lib.tensor(2.0, dtype=lib.float64)),
    lambda lib, x: x.index_put_((lib.tensor([0, 0]),), 1.5, accumulate=True),
    lambda lib, x: lib.index_put(x, (lib.tensor([0, 0]),), 1.5),
    lambda lib, x: x.index_put_((None, lib.tensor([0, 0])), lib.tensor(2.0)),
    lambda lib, x: x.index_put_(([0],), lib.tensor(2.0)),
    lambda lib, x: x.index_put_((lib.tensor([0]),) * 3, lib.tensor(2.0)),
]


@pytest.mark.parametrize("case", range(len(INDEX_PUT)))
def test_index_put(device, case):
    check(lambda lib, x: INDEX_PUT[case](lib, x.clone()), (Arg(X2, grad=False),), {}, device)


def test_view_write_gradient():
    def fn(lib, x, val):
        b = x * 1
        b.t()[lib.tensor([0, 2]), lib.tensor([1, 0])] = val
        return b
    check(fn, (Arg(X2), Arg(np.array([9.0, 8.0], F32))), {}, "cpu")


# ---- gather / scatter family ---------------------------------------------------------------------
def test_index_add_alpha_in_self_type(device):
    x = np.array([[1, 2, 3], [4, 5, 6]], I64)
    s = Arg(np.array([[1, 1], [2, 2]], I64))
    for alpha in (2.5, -1.5, 3):
        check(lambda lib, x, s, alpha=alpha: lib.index_add(x, 1, idx(lib, [0, 0]).to(x.device), s, alpha=alpha),
              (Arg(x), s), {}, device)
    check(lambda lib, x, s: lib.index_add(x, 1, idx(lib, [0, 2]).to(x.device), s, alpha=0.5),
          (Arg(X2[:2, :3].copy()), Arg(X2[:2, :2].copy())), {}, device)


OUT = [
    lambda lib, x, o: lib.gather(x, 1, idx(lib, [[0, 3]]).to(x.device), out=o),
    lambda lib, x, o: lib.index_select(x[:1], 1, idx(lib, [3, 0]).to(x.device), out=o),
    lambda lib, x, o: lib.take(x, idx(lib, [[1, 5]]).to(x.device), out=o),
    lambda lib, x, o: lib.take_along_dim(x[:1], idx(lib, [[1, 0]]).to(x.device), 1, out=o),
    lambda lib, x, o: lib.masked_select(x[0, :2], lib.tensor([True, True]).to(x.device), out=o),
    lambda lib, x, o: lib.scatter(x[:1, :2], 1, idx(lib, [[1, 0]]).to(x.device), 2.0, out=o),
    lambda lib, x, o: lib.scatter_add(x[:1, :2], 1, idx(lib, [[1, 1]]).to(x.device), x[:1, :2], out=o),
    lambda lib, x, o: lib.scatter_reduce(x[:1, :2], 1, idx(lib, [[1, 1]]).to(x.device), x[:1, :2], "amax", out=o),
    lambda lib, x, o: lib.index_add(x[:1, :2], 1, idx(lib, [1]).to(x.device), x[:1, :1], out=o),
    lambda lib, x, o: lib.index_copy(x[:1, :2], 1, idx(lib, [1]).to(x.device), x[:1, :1], out=o),
    lambda lib, x, o: lib.index_reduce(x[:1, :2], 1, idx(lib, [1]).to(x.device), x[:1, :1], "prod", out=o),
]


@pytest.mark.parametrize("case", range(len(OUT)))
def test_out_variants(device, case):
    def fn(lib, x, o):
        r = OUT[case](lib, x, o)
        return r, o, r is o
    check(fn, (Arg(X2, grad=False), Arg(np.zeros((1, 2), F32), grad=False)), {}, device)


SCATTER = [
    lambda lib, x, s: lib.scatter_reduce(x, 1, idx(lib, [[0, 2, 1, 0]]).to(x.device), s, "max"),  # no derivative
    lambda lib, x, s: lib.scatter_reduce(x, 1, idx(lib, [[0, 2, 1, 0]]).to(x.device), s, "min", include_self=False),
    lambda lib, x, s: lib.scatter_reduce(x, 1, idx(lib, [[0, 2, 1, 0]]).to(x.device), s, "amax"),
    lambda lib, x, s: lib.take(x[:0], idx(lib, [0]).to(x.device)),
    lambda lib, x, s: lib.take_along_dim(x[0, 0], idx(lib, 0).to(x.device), 0),
    lambda lib, x, s: lib.take_along_dim(x[0, 0], idx(lib, 0).to(x.device)),
    lambda lib, x, s: x.narrow(1, idx(lib, [1]).to(x.device), 2),
    lambda lib, x, s: x.narrow(1, idx(lib, 1).to(x.device), 2),
    lambda lib, x, s: x[0, 0].select(0, 0),
]


@pytest.mark.parametrize("case", range(len(SCATTER)))
def test_scatter_family(device, case):
    check(SCATTER[case], (Arg(X2), Arg(X2[:1].copy())), {}, device)


MESSAGES = [
    lambda lib, x: x.put(idx(lib, [1]).to(x.device), x[0, :1].double()),
    lambda lib, x: lib.take(x[:0], idx(lib, [0]).to(x.device)),
    lambda lib, x: lib.select_scatter(x, x[0, :3], 0, 1),
    lambda lib, x: lib.slice_scatter(x, x[:, 1:3], 1, 1, 4),
    lambda lib, x: x[0, 0].select(0, 0),
    lambda lib, x: x.narrow(1, idx(lib, [1]).to(x.device), 2),
]


@pytest.mark.parametrize("case", range(len(MESSAGES)))
def test_error_messages(device, case):
    same_error(MESSAGES[case], device, X2)


# ---- complex (the cpu backend) -------------------------------------------------------------------
Z = np.array([1 + 2j, -0.5 + 0j, 0 - 3j, 2.5 - 1.5j], np.complex64)
COMPLEX = [
    lambda lib, z: z.scatter_reduce(0, lib.tensor([1, 1]), z[:2], "amax"),
    lambda lib, z: z.scatter_reduce(0, lib.tensor([1, 1]), z[:2], "amin", include_self=False),
    lambda lib, z: z.scatter_reduce(0, lib.tensor([], dtype=lib.int64), z[:0], "amax"),
    lambda lib, z: z.scatter_reduce(0, lib.tensor([1, 1]), z[:2], "prod"),
    lambda lib, z: z.index_reduce(0, lib.tensor([1, 1]), z[:2], "mean"),
    lambda lib, z: lib.view_as_complex(lib.tensor(1.0)),
    lambda lib, z: z[lib.tensor([2, 0])],
]


@pytest.mark.parametrize("case", range(len(COMPLEX)))
def test_complex(case):
    check(quiet(COMPLEX[case]), (Arg(Z),), {}, "cpu")


def test_complex_messages():
    same_error(lambda lib, z: z.scatter_reduce(0, lib.tensor([1, 1]), z[:2], "amax"), "cpu", Z)
    same_error(lambda lib, z: quiet(lambda: z.index_reduce(0, lib.tensor([1, 1]), z[:2], "amin"))(), "cpu", Z)
    same_error(lambda lib, z: lib.view_as_complex(lib.tensor(1.0)), "cpu", Z)


# ---- expanded tensors and overlapping writes (probe round B) --------------------------------------
def _on_base(fn):
    """Run ``fn`` on a view-producing chain of a fresh base; return the base (it must see the write)
    and ``fn``'s result."""
    def run(lib, x):
        base = x.detach().clone()
        return base, fn(lib, base)
    return run


EXPANDED = [
    lambda lib, x: x[0].expand(3, 4)[1].add_(1),            # a non-aliasing view of an expanded tensor
    lambda lib, x: x[0].expand(3, 4)[1:2].mul_(2),
    lambda lib, x: x[:, :1].expand(3, 4)[:, 0].neg_(),
    lambda lib, x: x.unsqueeze(0).expand(2, 3, 4)[1].sub_(1),
    lambda lib, x: x[0].expand(3, 4)[1].copy_(lib.ones(4)),
    lambda lib, x: x[0].expand(3, 4)[1].fill_(7),
    lambda lib, x: x[0].expand(3, 4)[1].__setitem__(0, 9.0),
    lambda lib, x: x[0].expand(3, 4)[1].index_add_(0, lib.tensor([0, 0]), lib.ones(2)),
    lambda lib, x: x[0].expand(3, 4)[1].scatter_add_(0, lib.tensor([0, 0]), lib.ones(2)),
    lambda lib, x: lib.add(x[0], 1, out=x[0].expand(3, 4)[1]),
    lambda lib, x: x[0].expand(3, 4).fill_(1.0),             # a constant fill may alias (PyTorch)
    lambda lib, x: x[0].expand(3, 4).zero_(),
    lambda lib, x: x[0].expand(3, 4).__setitem__(1, 5.0),     # writes the view x[...][1]: no alias
    lambda lib, x: x[0].expand(3, 4).fill_(lib.tensor(2.0)),  # fill_(tensor) refuses
    lambda lib, x: x[0].expand(3, 4).add_(1),
    lambda lib, x: x[0].expand(3, 4)[:, 1].add_(1),
    lambda lib, x: x[0].expand(3, 4).__setitem__((slice(None), 1), 5.0),
    lambda lib, x: x[0].expand(3, 4).__setitem__(Ellipsis, lib.ones(4)),
    lambda lib, x: x[0].expand(3, 4).copy_(lib.ones(4)),
]


@pytest.mark.parametrize("case", range(len(EXPANDED)))
def test_writes_through_expanded_tensors(case):
    check(quiet(_on_base(EXPANDED[case])), (Arg(X2, grad=False),), {}, "cpu")


OVERLAP = [
    lambda lib, x: x.index_add_(0, lib.tensor([0, 1, 2]), x),            # the same memory: refused too
    lambda lib, x: x.index_add_(0, lib.tensor([0]), x[1:2]),
    lambda lib, x: x.index_add_(0, lib.tensor([0]), x[1:2].clone()),
    lambda lib, x: x.index_copy_(0, lib.tensor([0, 1, 2]), x),
    lambda lib, x: x.index_copy_(0, lib.tensor([0]), x[1:2]),
    lambda lib, x: x.scatter_(1, lib.tensor([[0]]), x),
    lambda lib, x: x.scatter_(1, lib.tensor([[0]]), x[1:]),
    lambda lib, x: x.scatter_add_(1, lib.tensor([[0]]), x[1:]),
    lambda lib, x: x.scatter_reduce_(1, lib.tensor([[0]]), x[1:], "sum"),
    lambda lib, x: x.index_reduce_(0, lib.tensor([0]), x[1:2], "prod"),
    lambda lib, x: x.view(-1).put_(lib.tensor([0, 1]), x.view(-1)[:2]),
    lambda lib, x: x.view(-1).put_(lib.tensor([0]), x.view(-1)),          # put_'s own error first
    lambda lib, x: x.index_put_((lib.tensor([0]),), x[1]),
    lambda lib, x: x.index_put_((lib.tensor([0]),), x[1], accumulate=True),
    lambda lib, x: x.index_put_((x > 0,), x[0, 0]),                       # masked_fill_'s case: a number
    lambda lib, x: x.index_put_((x > 0,), x[0, :1]),
    lambda lib, x: x.__setitem__(x > 0, x[0, 0]),
    lambda lib, x: x.masked_fill_(x > 0, x[0, 0]),
    lambda lib, x: x.index_fill_(0, lib.tensor([0]), x[0, 0]),
    lambda lib, x: x.scatter_(1, x[:1, :1].long(), 1.0),
]


@pytest.mark.parametrize("case", range(len(OVERLAP)))
def test_overlapping_sources(case):
    check(quiet(_on_base(OVERLAP[case])), (Arg(X2, grad=False),), {}, "cpu")


@pytest.mark.parametrize("case", [0, 1, 3, 5, 10, 12])
def test_overlap_messages(case):
    same_error(lambda lib, x: OVERLAP[case](lib, x.clone()), "cpu", X2)


@pytest.mark.parametrize("case", [13, 14, 15, 16, 17, 18])
def test_expanded_messages(case):
    same_error(lambda lib, x: EXPANDED[case](lib, x.clone()), "cpu", X2)
