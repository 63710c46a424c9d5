"""Indexing never leaves its buffer and raises as PyTorch does (issue #13 item 3), and item 5's
0-d scatter index, negative cross-entropy target and nn.Embedding's scale_grad_by_freq / sparse.

Every case runs one expression on PyTorch and on ember (every device) with valid, negative,
out-of-range, wrong-dtype and wrong-shape indices: same values and gradients where PyTorch
succeeds, the same exception type and message where it raises. The checks live in the frontend,
so every backend raises the same way; the OpenCL kernels also guard their accesses themselves
(tested below on bad indices that bypass the frontend).
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, I64 = np.float32, np.int64


def X(*shape: int) -> Arg:
    """A float input with distinct values (so a wrong pick shows) that requires grad."""
    n = int(np.prod(shape))
    return Arg(np.array(np.arange(n, dtype=F32).reshape(shape) * 0.75 - 2.0, dtype=F32))


def I(values, dtype=I64) -> Arg:  # noqa: E743 - reads like the index it is
    return Arg(np.array(values, dtype=dtype), grad=False)


def NOGRAD(arg: Arg) -> Arg:
    return Arg(arg.array, arg.layout, arg.shape, grad=False)


def B(values) -> Arg:
    return Arg(np.array(values, dtype=bool), grad=False)


def Z(*shape: int) -> Arg:
    return Arg(np.zeros(shape, F32))


R = np.random.default_rng(3)
SRC32 = Arg(R.standard_normal((3, 2)).astype(F32))
SRC34 = Arg(R.standard_normal((3, 4)).astype(F32))
W53 = Arg(R.standard_normal((5, 3)).astype(F32))
LOGITS = Arg(R.standard_normal((3, 4)).astype(F32))

gather = lambda L, x, d, i: x.gather(d, i)  # noqa: E731
scatter = lambda L, x, d, i, s: x.scatter(d, i, s)  # noqa: E731
scatter_add = lambda L, x, d, i, s: x.scatter_add(d, i, s)  # noqa: E731
index_select = lambda L, x, d, i: x.index_select(d, i)  # noqa: E731
index_add = lambda L, x, d, i, s: x.index_add(d, i, s)  # noqa: E731
index_fill = lambda L, x, d, i, v: x.index_fill(d, i, v)  # noqa: E731
take = lambda L, x, i: x.take(i)  # noqa: E731
masked_scatter = lambda L, x, m, s: x.masked_scatter(m, s)  # noqa: E731
take_along_dim = lambda L, x, i, d=None: L.take_along_dim(x, i, d)  # noqa: E731
embedding = lambda L, i, w, **kw: L.nn.functional.embedding(i, w, **kw)  # noqa: E731
cross_entropy = lambda L, x, t, **kw: L.nn.functional.cross_entropy(x, t, **kw)  # noqa: E731
nll_loss = lambda L, x, t, **kw: L.nn.functional.nll_loss(x, t, **kw)  # noqa: E731

# (id, fn, args, kwargs)
CASES = [
    # gather: index.dim == input.dim, index.size(d) <= input.size(d) off dim, values in [0, size)
    ("gather-dim1", gather, (X(3, 4), 1, I([[0, 3], [1, 1], [2, 0]])), {}),
    ("gather-dim0", gather, (X(3, 4), 0, I([[0, 2, 1, 0], [2, 2, 0, 1]])), {}),
    ("gather-smaller-negdim", gather, (X(3, 4), -1, I([[3], [0]])), {}),
    ("gather-longer-along-dim", gather, (X(3, 4), 1, I([[0, 1, 2, 3, 3, 0], [1, 1, 1, 1, 1, 1]])), {}),
    ("gather-transposed", gather, (Arg(X(4, 3).array, layout="T"), 1, I([[0, 3], [1, 1], [2, 0]])), {}),
    ("gather-int32", gather, (X(3, 4), 1, I([[0, 3], [1, 1], [2, 0]], np.int32)), {}),
    ("gather-negative", gather, (X(3, 4), 1, I([[0, -1], [1, 1], [2, 0]])), {}),
    ("gather-out-of-range", gather, (X(3, 4), 1, I([[0, 4], [1, 1], [2, 0]])), {}),
    ("gather-out-of-range-dim0", gather, (X(3, 4), 0, I([[0, 3, 0, 0]])), {}),
    ("gather-float-index", gather, (X(3, 4), 1, I([[0.0]], F32)), {}),
    ("gather-int16-index", gather, (X(3, 4), 1, I([[0]], np.int16)), {}),
    ("gather-wrong-ndim", gather, (X(3, 4), 1, I([0, 1, 2])), {}),
    ("gather-wrong-ndim3", gather, (X(3, 4), 1, I([[[0]]])), {}),
    ("gather-larger-other-dim", gather, (X(3, 4), 1, I(np.zeros((5, 1)))), {}),
    ("gather-larger-other-dim0", gather, (X(3, 4), 0, I(np.zeros((2, 6)))), {}),
    ("gather-0d-input", gather, (X(), 0, I([0, 0])), {}),
    ("gather-0d-input-out-of-range", gather, (X(), 0, I([1])), {}),
    ("gather-0d-index", gather, (X(5), 0, I(2)), {}),
    ("gather-0d-index-2d-input", gather, (X(3, 4), 1, I(2)), {}),
    ("gather-empty-index", gather, (X(3, 4), 1, I(np.zeros((0, 9)))), {}),
    # take_along_dim: negative indices count from the end (PyTorch), Long only
    ("take_along_dim-dim1", take_along_dim, (X(3, 4), I([[0, 3], [1, 1], [2, 0]]), 1), {}),
    ("take_along_dim-negative", take_along_dim, (X(3, 4), I([[0, -1], [-4, 1], [2, 0]]), 1), {}),
    ("take_along_dim-broadcast", take_along_dim, (X(3, 4), I([[0, -2]]), 1), {}),
    ("take_along_dim-flat", take_along_dim, (X(3, 4), I([[11, 0], [5, 5]])), {}),
    ("take_along_dim-flat-out-of-range", take_along_dim, (X(3, 4), I([[13]])), {}),
    ("take_along_dim-flat-negative", take_along_dim, (X(3, 4), I([[-1]])), {}),
    ("take_along_dim-int32", take_along_dim, (X(3, 4), I([[1]], np.int32), 1), {}),
    ("take_along_dim-float", take_along_dim, (X(3, 4), I([[1.0]], F32), 1), {}),
    ("take_along_dim-wrong-ndim", take_along_dim, (X(3, 4), I([1]), 1), {}),
    # scatter: as gather, and index no larger than src anywhere; src as many dims as index
    ("scatter-src", scatter, (Z(3, 4), 1, I([[0, 3], [1, 2], [3, 0]]), SRC32), {}),
    # (PyTorch cannot differentiate src larger than index: its gradient comes back in index's shape)
    ("scatter-src-larger", scatter, (Z(3, 4), 1, I([[0, 3], [1, 2], [3, 0]]), NOGRAD(SRC34)), {}),
    ("scatter-value", scatter, (X(3, 4), 0, I([[0, 2, 1, 0]]), 2.5), {}),
    ("scatter-int32", scatter, (Z(3, 4), 1, I([[0, 3], [1, 2], [3, 0]], np.int32), SRC32), {}),
    ("scatter-negative", scatter, (Z(3, 4), 1, I([[0, -1], [1, 2], [3, 0]]), SRC32), {}),
    ("scatter-out-of-range", scatter, (Z(3, 4), 1, I([[0, 4], [1, 2], [3, 0]]), SRC32), {}),
    ("scatter-out-of-range-value", scatter, (Z(3, 4), 0, I([[3]]), 1.0), {}),
    ("scatter-float-index", scatter, (Z(3, 4), 1, I([[0.0]], F32), 1.0), {}),
    ("scatter-wrong-ndim", scatter, (Z(3, 4), 1, I([0, 1, 2]), 1.0), {}),
    ("scatter-larger-other-dim", scatter, (Z(3, 4), 1, I(np.zeros((5, 1))), 1.0), {}),
    ("scatter-larger-than-src", scatter, (Z(3, 4), 1, I(np.zeros((3, 3))), SRC32), {}),
    ("scatter-src-more-dims", scatter, (Z(3, 4), 1, I(np.zeros((3, 1))), Arg(np.ones((3, 1, 1), F32))), {}),
    ("scatter-src-fewer-dims", scatter, (Z(3, 4), 1, I(np.zeros((3, 1))), Arg(np.ones(3, F32))), {}),
    ("scatter-src-dtype", scatter, (Z(3, 4), 1, I(np.zeros((3, 1))), Arg(np.ones((3, 1), np.float64))), {}),
    ("scatter-0d-index-src0d", scatter, (Z(5), 0, I(2), Arg(np.array(7.0, F32))), {}),
    ("scatter-0d-index-src1d", scatter, (Z(5), 0, I(2), Arg(np.array([7.0, 8.0], F32), grad=False)), {}),
    ("scatter-0d-index-out-of-range", scatter, (Z(5), 0, I(5), 1.0), {}),
    ("scatter-0d-input", scatter, (X(), 0, I([0, 0]), 2.0), {}),
    ("scatter-empty-index", scatter, (X(3, 4), 1, I(np.zeros(0)), 2.0), {}),
    ("scatter-reduce-add", lambda L, x, i, s: x.scatter(1, i, s, reduce="add"),
     (NOGRAD(Z(3, 4)), I([[0, 0], [1, 2], [3, 3]]), NOGRAD(SRC32)), {}),
    # the data tutorial's one-hot Lambda: a 0-d index, in place
    ("scatter_-one-hot", lambda L, i: L.zeros(10, device=i.device).scatter_(0, i, value=1), (I(3),), {}),
    ("scatter_add-dups", scatter_add, (X(3, 4), 1, I([[0, 0, 3], [1, 1, 1], [2, 3, 2]]), Arg(np.ones((3, 3), F32))), {}),
    ("scatter_add-dim0", scatter_add, (X(3, 4), 0, I([[0, 2, 2, 0], [0, 0, 1, 1]]), NOGRAD(SRC34)), {}),
    ("scatter_add-int32", scatter_add, (X(3, 4), 0, I([[0, 2, 2, 0]], np.int32), NOGRAD(SRC34)), {}),
    ("scatter_add-negative", scatter_add, (X(3, 4), 0, I([[0, -1, 2, 0]]), SRC34), {}),
    ("scatter_add-out-of-range", scatter_add, (X(3, 4), 0, I([[0, 3, 2, 0]]), SRC34), {}),
    ("scatter_add-float-index", scatter_add, (X(3, 4), 0, I([[0.0]], F32), SRC34), {}),
    ("scatter_add-larger-than-src", scatter_add, (X(3, 4), 1, I(np.zeros((3, 3))), SRC32), {}),
    ("scatter_add-larger-other-dim", scatter_add, (X(3, 4), 1, I(np.zeros((4, 1))), Arg(np.ones((4, 1), F32))), {}),
    ("scatter_add-0d-index", scatter_add, (X(5), 0, I(4), Arg(np.array(7.0, F32))), {}),
    # index_select: a vector (or 0-d) int32/int64 index in [0, size)
    ("index_select-dim0-dups", index_select, (X(3, 4), 0, I([2, 0, 2])), {}),
    ("index_select-dim1", index_select, (Arg(X(4, 3).array, layout="T"), 1, I([3, 1])), {}),
    ("index_select-int32", index_select, (X(3, 4), 1, I([3, 1], np.int32)), {}),
    ("index_select-0d-index", index_select, (X(3, 4), 0, I(2)), {}),
    ("index_select-empty", index_select, (X(3, 4), 1, I(np.zeros(0))), {}),
    ("index_select-negative", index_select, (X(3, 4), 0, I([0, -1])), {}),
    ("index_select-out-of-range", index_select, (X(3, 4), 0, I([3])), {}),
    ("index_select-1d-negative", index_select, (X(5), 0, I([-1])), {}),
    ("index_select-1d-out-of-range", index_select, (X(5), 0, I([5, 0])), {}),
    ("index_select-2d-index", index_select, (X(3, 4), 0, I([[1]])), {}),
    ("index_select-float-index", index_select, (X(3, 4), 0, I([1.0], F32)), {}),
    ("index_select-int16-index", index_select, (X(3, 4), 0, I([1], np.int16)), {}),
    ("index_select-0d-input", index_select, (X(), 0, I([0])), {}),
    ("index_select-0d-input-two", index_select, (X(), 0, I([0, 0])), {}),
    ("index_select-0d-input-out-of-range", index_select, (X(), 0, I([-1])), {}),
    # past 64K elements only the index's min and max travel to the host (indexing._HOST_RANGE_MAX)
    ("index_select-large", index_select, (X(10, 2), 0, I(np.arange(70000) % 10)), {}),
    ("index_select-large-negative", index_select, (X(10, 2), 0, I(np.where(np.arange(70000) == 69990, -1, 3))), {}),
    ("gather-large-out-of-range", gather, (X(10, 2), 0, I(np.where(np.arange(70000) == 5, 10, 2).reshape(35000, 2))),
     {}),
    # index_add: a vector int32/int64 index in [0, size); source matches self but along dim
    ("index_add-dups", index_add, (X(3, 4), 0, I([0, 2, 0]), SRC34), {}),
    ("index_add-dim1", index_add, (X(3, 4), 1, I([3, 1]), SRC32), {}),
    ("index_add-alpha", index_add, (X(3, 4), 1, I([3, 3]), SRC32), {"alpha": 2.0}),
    ("index_add-int32", index_add, (X(3, 4), 1, I([3, 1], np.int32), SRC32), {}),
    ("index_add-0d-index", index_add, (X(3, 4), 0, I(1), Arg(np.ones((1, 4), F32))), {}),
    ("index_add-0d-all", index_add, (X(), 0, I(0), Arg(np.array(2.0, F32))), {}),
    ("index_add-negative", index_add, (X(3, 4), 0, I([0, -1, 0]), SRC34), {}),
    ("index_add-out-of-range", index_add, (X(3, 4), 0, I([0, 3, 0]), SRC34), {}),
    ("index_add-1d-out-of-range", index_add, (X(3), 0, I([0, 3]), Arg(np.ones(2, F32))), {}),
    ("index_add-1d-negative", index_add, (X(3), 0, I([-1]), Arg(np.ones(1, F32))), {}),
    ("index_add-out-of-range-dim1", index_add, (X(3, 4), 1, I([4, 1]), SRC32), {}),
    ("index_add-far-out-of-range", index_add, (X(3, 4), 0, I([0, 1 << 40, 0]), SRC34), {}),
    ("index_add-float-index", index_add, (X(3, 4), 0, I([0.0, 1.0, 2.0], F32), SRC34), {}),
    ("index_add-int16-index", index_add, (X(3, 4), 0, I([0, 1, 2], np.int16), SRC34), {}),
    ("index_add-2d-index", index_add, (X(3, 4), 0, I([[0, 1, 2]]), SRC34), {}),
    ("index_add-source-count", index_add, (X(3, 4), 0, I([0, 1]), SRC34), {}),
    ("index_add-source-shape", index_add, (X(3, 4), 0, I([0, 1, 2]), Arg(np.ones((3, 3), F32))), {}),
    ("index_add-source-dtype", index_add, (X(3, 4), 0, I([0, 1, 2]), Arg(np.ones((3, 4), np.float64))), {}),
    ("index_add_-inplace", lambda L, x, i, s: (x * 1).index_add_(0, i, s), (X(3, 4), I([2, 2, 0]), SRC34), {}),
    # index_fill: int64 only, and (unlike index_select) negative indices count from the end
    ("index_fill-dim1", index_fill, (X(3, 4), 1, I([3, 1]), -1.5), {}),
    ("index_fill-negative", index_fill, (X(3, 4), 0, I([-1]), 5.0), {}),
    ("index_fill-0d-index", index_fill, (X(3, 4), 1, I(-4), 5.0), {}),
    ("index_fill-tensor-value", index_fill, (X(3, 4), 1, I([0, 0, 2]), Arg(np.array(4.0, F32))), {}),
    ("index_fill-out-of-range", index_fill, (X(3, 4), 0, I([3]), 5.0), {}),
    ("index_fill-too-negative", index_fill, (X(3, 4), 0, I([-4]), 5.0), {}),
    ("index_fill-int32", index_fill, (X(3, 4), 0, I([1], np.int32), 5.0), {}),
    ("index_fill-2d-index", index_fill, (X(3, 4), 0, I([[1]]), 5.0), {}),
    ("index_fill-1d-value", index_fill, (X(3, 4), 0, I([1]), Arg(np.ones(1, F32))), {}),
    ("index_fill-0d-input", index_fill, (X(), 0, I([0]), 5.0), {}),
    # take: int64 only; negative indices count from the end of the flattened input
    ("take-negative", take, (X(3, 4), I([[1, -2], [0, 11], [-12, 3]])), {}),
    ("take-transposed", take, (Arg(X(4, 3).array, layout="T"), I([0, 1, 5])), {}),
    ("take-0d-index", take, (X(3, 4), I(-1)), {}),
    ("take-out-of-range", take, (X(3, 4), I([0, 12])), {}),
    ("take-too-negative", take, (X(3, 4), I([-13])), {}),
    ("take-int32", take, (X(3, 4), I([1], np.int32)), {}),
    # masked_scatter: a bool mask (an integer one is not positions), broadcast before counting its ones
    ("masked_scatter-broadcast-mask", masked_scatter, (X(2, 3), B([True, False, True]), SRC32), {}),
    ("masked_scatter-int-mask", masked_scatter, (X(4), I([1, 1, 0, 0]), Arg(np.ones(4, F32))), {}),
    ("masked_scatter-short-source", masked_scatter, (X(4), B([True, True, True, False]), Arg(np.ones(2, F32))), {}),
    ("masked_scatter-source-dtype", masked_scatter, (X(4), B([True, False, False, False]), I([1, 2])), {}),
    # embedding: Long or Int indices in [0, num_embeddings)
    ("embedding-2d", embedding, (I([[1, 4, 0], [2, 2, 1]]), W53), {}),
    ("embedding-int32", embedding, (I([1, 4, 0], np.int32), W53), {}),
    ("embedding-negative", embedding, (I([1, -1]), W53), {}),
    ("embedding-out-of-range", embedding, (I([1, 5]), W53), {}),
    ("embedding-float", embedding, (I([1.0], F32), W53), {}),
    ("embedding-int16", embedding, (I([1], np.int16), W53), {}),
    ("embedding-1d-weight", embedding, (I([1]), X(5)), {}),
    ("embedding-padding", embedding, (I([[1, 4, 0], [2, 2, 1]]), W53), {"padding_idx": 2}),
    ("embedding-padding-negative", embedding, (I([[1, 4, 0], [2, 2, 1]]), W53), {"padding_idx": -4}),
    ("embedding-padding-out-of-range", embedding, (I([1]), W53), {"padding_idx": 5}),
    ("embedding-padding-too-negative", embedding, (I([1]), W53), {"padding_idx": -6}),
    ("embedding-scale-grad-by-freq", embedding, (I([[1, 1, 2], [1, 4, 4]]), W53), {"scale_grad_by_freq": True}),
    ("embedding-scale-grad-padding", embedding, (I([[1, 1, 2], [1, 4, 2]]), W53),
     {"scale_grad_by_freq": True, "padding_idx": 1}),
    # class-index targets: the message names the first bad target, sign included
    ("cross_entropy-valid", cross_entropy, (LOGITS, I([0, 3, 1])), {}),
    ("cross_entropy-negative", cross_entropy, (LOGITS, I([0, -2, 1])), {}),
    ("cross_entropy-out-of-range", cross_entropy, (LOGITS, I([0, 4, 1])), {}),
    ("cross_entropy-first-bad-negative", cross_entropy, (LOGITS, I([-7, 5, 0])), {}),
    ("cross_entropy-first-bad-positive", cross_entropy, (LOGITS, I([5, -7, 0])), {}),
    ("cross_entropy-ignore-index", cross_entropy, (LOGITS, I([1, -100, 2])), {}),
    ("cross_entropy-ignored-then-negative", cross_entropy, (LOGITS, I([1, -100, -3])), {}),
    ("cross_entropy-ignore-negative", cross_entropy, (LOGITS, I([1, -1, -3])), {"ignore_index": -1}),
    ("cross_entropy-weight-none", cross_entropy, (LOGITS, I([1, 0, 3])),
     {"weight": Arg(np.array([1.0, 2.0, 0.5, 3.0], F32), grad=False), "reduction": "none"}),
    ("cross_entropy-3d-negative", cross_entropy, (X(2, 3, 4), I([[0, -2, 1, 1], [0, 0, 0, 0]])), {}),
    ("cross_entropy-3d-valid", cross_entropy, (X(2, 3, 4), I([[0, 2, 1, 1], [0, 0, 2, 0]])), {}),
    ("cross_entropy-1d-negative", cross_entropy, (X(4), I(-2)), {}),
    ("cross_entropy-smoothing-negative", cross_entropy, (LOGITS, I([1, -2, 0])), {"label_smoothing": 0.1}),
    ("cross_entropy-smoothing-out-of-range", cross_entropy, (LOGITS, I([1, 4, 0])), {"label_smoothing": 0.1}),
    ("cross_entropy-int32-target", cross_entropy, (LOGITS, I([1, 2, 3], np.int32)), {}),
    ("cross_entropy-uint8-target", cross_entropy, (LOGITS, I([1, 2, 3], np.uint8)), {}),
    ("nll_loss-negative", nll_loss, (LOGITS, I([0, -2, 1])), {}),
    ("nll_loss-out-of-range", nll_loss, (LOGITS, I([0, 2, 9])), {"reduction": "sum"}),
    ("nll_loss-int32-target", nll_loss, (LOGITS, I([1, 2, 3], np.int32)), {}),
    ("nll_loss-float-target", nll_loss, (LOGITS, I([1, 2, 3], F32)), {}),
    ("nll_loss-valid-none", nll_loss, (LOGITS, I([1, 2, 3])), {"reduction": "none"}),
]


def _first_line(exc: BaseException) -> str:
    # a legacy type name carries the device (torch.cuda.FloatTensor): compare it without
    return str(exc).split("\n")[0].replace("torch.", "ember.").replace("ember.opencl.", "ember.")


def _error(fn, args, kwargs, lib, device) -> BaseException | None:
    """The exception ``fn`` raises on ``lib`` (None if it returns)."""
    from parity_compare import _run, _Side

    return _run(fn, _Side(lib, device), args, kwargs)[1]


@pytest.mark.parametrize("name, fn, args, kwargs", CASES, ids=[c[0] for c in CASES])
def test_index_op_matches_pytorch(name, fn, args, kwargs, device):
    with np.errstate(all="ignore"):
        check(fn, args, kwargs, device)
    t_exc = _error(fn, args, kwargs, torch, "cpu")
    if t_exc is not None:  # same type (check above) and same message
        assert _first_line(_error(fn, args, kwargs, ember, device)) == _first_line(t_exc)


# ---- the checks cost one host round trip, none for indices valid by construction -------------------
@pytest.fixture
def bounds_checks(monkeypatch):
    """Counts the frontend's bounds checks (each is one device->host transfer)."""
    from ember.functions import indexing
    from ember.nn import functional

    calls = []
    real = indexing._check_bounds

    def counting(*a, **k):
        calls.append(a[0].shape)
        return real(*a, **k)

    monkeypatch.setattr(indexing, "_check_bounds", counting)
    monkeypatch.setattr(functional, "_check_bounds", counting)
    return calls


@pytest.mark.parametrize("op", ["gather", "scatter_add", "index_select", "index_add", "embedding"])
def test_one_bounds_check_forward_none_backward(op, device, bounds_checks):
    x = ember.randn(4, 5, device=device, requires_grad=True)
    i2 = ember.tensor([[0, 3], [1, 1]], device=device)
    i1 = ember.tensor([3, 0, 3], device=device)
    run = {
        "gather": lambda: x.gather(1, i2),
        "scatter_add": lambda: x.scatter_add(1, i2, ember.ones(2, 2, device=device, requires_grad=True)),
        "index_select": lambda: x.index_select(0, i1),
        "index_add": lambda: x.index_add(0, i1, ember.ones(3, 5, device=device, requires_grad=True)),
        "embedding": lambda: ember.nn.functional.embedding(i1, x, scale_grad_by_freq=True),
    }[op]
    out = run()
    assert len(bounds_checks) == 1
    out.backward(ember.ones_like(out))
    assert len(bounds_checks) == 1


def test_cross_entropy_checks_its_targets_once(device, bounds_checks):
    x = ember.randn(2, 3, 4, device=device, requires_grad=True)  # (N, C, d): the composite path
    target = ember.tensor([[0, 1, 2, 1], [2, 2, 0, 1]], device=device)
    target.add_(0)  # written on the device: the host no longer knows its bounds (ember._value_range)
    loss = ember.nn.functional.cross_entropy(x, target)
    loss.backward()
    assert len(bounds_checks) == 1


# ---- sparse gradients (Embedding(sparse=True), gather(sparse_grad=True)): refused, not ignored ----------
def test_embedding_sparse_is_refused_with_what_to_use_instead():
    with pytest.raises(NotImplementedError, match="sparse=False"):
        ember.nn.Embedding(5, 3, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=False"):
        ember.nn.Embedding.from_pretrained(ember.randn(5, 3), sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=False"):
        ember.nn.functional.embedding(ember.tensor([1]), ember.randn(5, 3), sparse=True)
    with pytest.raises(NotImplementedError, match="sparse_grad=False"):
        ember.randn(3, 4).gather(1, ember.tensor([[0], [1], [2]]), sparse_grad=True)


def test_embedding_module_scale_grad_by_freq(device):
    torch.manual_seed(0)
    ref = torch.nn.Embedding(6, 3, scale_grad_by_freq=True, padding_idx=0)
    emb = ember.nn.Embedding(6, 3, scale_grad_by_freq=True, padding_idx=0).to(device)
    emb.weight.data.copy_(ember.tensor(ref.weight.detach().numpy(), device=device))
    idx = [[1, 1, 0, 5], [5, 1, 2, 0]]
    ref(torch.tensor(idx)).pow(2).sum().backward()
    emb(ember.tensor(idx, device=device)).pow(2).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.cpu().numpy(), ref.weight.grad.numpy(), rtol=1e-6, atol=1e-6)


# ---- the OpenCL kernels guard every access, even when handed indices the frontend would refuse -------
@pytest.fixture
def cl():
    if "opencl" not in ember.plugins.device_types() or not ember.opencl.is_available():
        pytest.skip("no OpenCL device")
    from ember_opencl import creation, indexing

    return creation, indexing


def _fenced(creation, values: np.ndarray, pad: int = 8):
    """``values`` as a view in the middle of a larger buffer whose other elements are a sentinel, and
    that whole buffer: a kernel writing outside the view shows as a changed sentinel."""
    flat = np.full(values.size + 2 * pad, -7.0, values.dtype)
    flat[pad:pad + values.size] = values.reshape(-1)
    base = creation.from_host(flat, 0)
    strides = tuple(s // values.itemsize for s in values.strides)
    return base.view(values.shape, strides, pad), base


BAD_INDICES = [np.array([[0, 7], [-9, 1]]), np.array([[1 << 40, -(1 << 40)], [2, 3]])]


@pytest.mark.parametrize("bad", BAD_INDICES, ids=["small", "huge"])
def test_opencl_gather_and_index_select_stay_inside_the_input(cl, bad):
    creation, ix = cl
    x, _ = _fenced(creation, np.arange(8, dtype=F32).reshape(2, 4))
    out = creation.to_host(ix.gather(x, 1, creation.from_host(bad, 0)))
    ok = (bad >= 0) & (bad < 4)
    ref = np.take_along_axis(np.arange(8, dtype=F32).reshape(2, 4), np.where(ok, bad, 0), 1)
    np.testing.assert_array_equal(out, np.where(ok, ref, 0))  # an invalid index reads nothing: 0
    rows = creation.to_host(ix.index_select(x, 0, creation.from_host(bad.reshape(-1), 0)))
    assert np.isin(rows, np.append(np.arange(8), 0)).all()


def test_opencl_gather_index_larger_than_input_off_dim(cl):
    creation, ix = cl
    x, _ = _fenced(creation, np.arange(8, dtype=F32).reshape(2, 4))
    out = creation.to_host(ix.gather(x, 1, creation.from_host(np.zeros((6, 1), I64), 0)))
    np.testing.assert_array_equal(out[:2, 0], [0, 4])
    assert not np.isin(out, [-7.0]).any()  # nothing read from outside the view


@pytest.mark.parametrize("bad", BAD_INDICES, ids=["small", "huge"])
@pytest.mark.parametrize("accumulate", [False, True])
def test_opencl_scatter_and_index_put_never_write_outside(cl, bad, accumulate):
    creation, ix = cl
    x = np.arange(8, dtype=F32).reshape(2, 4)
    src, src_base = _fenced(creation, np.ones((2, 2), F32))
    kernel = ix.scatter_add if accumulate else ix.scatter
    out = creation.to_host(kernel(creation.from_host(x, 0), 1, creation.from_host(bad, 0), src))
    ok = (bad >= 0) & (bad < 4)
    ref = x.copy()
    for (r, c), valid in np.ndenumerate(ok):
        if valid:
            ref[r, bad[r, c]] = ref[r, bad[r, c]] + 1 if accumulate else 1
    np.testing.assert_array_equal(out, ref)  # invalid entries skipped
    # index_put (index_add's and setitem's kernel) with rows out of range
    rows = bad.reshape(-1)
    out = creation.to_host(ix.index_put(creation.from_host(x, 0), creation.from_host(rows, 0), 1.0, accumulate))
    ref = x.copy()
    for r in rows[(rows >= 0) & (rows < 2)]:
        ref[r] = ref[r] + 1 if accumulate else 1
    np.testing.assert_array_equal(out, ref)


def test_opencl_scatter_index_larger_than_input_off_dim(cl):
    creation, ix = cl
    x = np.arange(8, dtype=F32).reshape(2, 4)
    src, src_base = _fenced(creation, np.ones((2, 2), F32))
    out = creation.to_host(ix.scatter(creation.from_host(x, 0), 1, creation.from_host(np.zeros((6, 1), I64), 0), src))
    np.testing.assert_array_equal(out[:, 0], [1, 1])
    np.testing.assert_array_equal(out[:, 1:], x[:, 1:])
    np.testing.assert_array_equal(creation.to_host(src_base)[[0, -1]], [-7.0, -7.0])


def test_opencl_index_kernels_read_int32_indices_nowhere(cl):
    """The kernels read int64 indices; the frontend converts int32 (PyTorch accepts it) first."""
    x = ember.arange(12.0, device="opencl").reshape(3, 4)
    i = ember.tensor([2, 0], dtype=ember.int32, device="opencl")
    src = ember.ones(2, 4, device="opencl")
    np.testing.assert_array_equal(x.index_add(0, i, src).cpu().numpy(),
                                  torch.arange(12.0).reshape(3, 4).index_add(0, torch.tensor([2, 0]), torch.ones(2, 4)))


def test_take_along_dim_past_the_end_raises(device):
    """PyTorch 2.13's take_along_dim(dim=d) takes an index past either end modulo the size (5 reads
    column 1 of 4), a silently wrong result; ember raises gather's error instead."""
    x = ember.arange(12.0, device=device).reshape(3, 4)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 4"):
        ember.take_along_dim(x, ember.tensor([[5]], device=device), 1)
    with pytest.raises(RuntimeError, match="index -5 is out of bounds for dimension 1 with size 4"):
        ember.take_along_dim(x, ember.tensor([[-5]], device=device), 1)
