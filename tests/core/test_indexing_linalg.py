"""Indexing (basic, advanced, boolean, assignment), gather/scatter family, and linear algebra vs NumPy."""

from __future__ import annotations

import ember
import numpy as np
import pytest

A = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)


def _np(t):
    return t.detach().cpu().numpy()


_INDEXES = [
    (1,), (-1,), (slice(None), 1), (slice(0, 3, 2),), (Ellipsis, 1), (None, 0), (slice(None), None, 1),
    (1, Ellipsis, slice(None, None, 3)), (-1, -2, slice(1, None), 0), ([0, 1],), ([1, 0, 1],),
    (slice(None), [2, 0]), (slice(None), [0, 1], slice(None), [1, 2]),  # non-adjacent: advanced dims go first
    ([0, 1], [1, 2]), (slice(None), [0, 2], [1, 3]), ([[0], [1]], [0, 2]), (Ellipsis, [4, 0]),
    (0, [0, 2], slice(None), 1), (np.array([True, False]),), (slice(None), np.array([True, False, True])),
    (slice(1, 2), Ellipsis, None),
]


@pytest.mark.parametrize("idx", _INDEXES, ids=[str(i) for i in range(len(_INDEXES))])
def test_getitem_vs_numpy(device, idx):
    t = ember.tensor(A, device=device)
    eidx = tuple(ember.tensor(i, device=device) if isinstance(i, np.ndarray) else i for i in idx)
    got = t[eidx if len(eidx) > 1 else eidx[0]]
    exp = A[idx if len(idx) > 1 else idx[0]]
    assert tuple(got.shape) == exp.shape
    np.testing.assert_array_equal(_np(got), exp)


def test_index_with_tensors(device):
    t = ember.tensor(A, device=device)
    i = ember.tensor([[1, 0]], device=device)
    np.testing.assert_array_equal(_np(t[i]), A[np.array([[1, 0]])])
    np.testing.assert_array_equal(_np(t[:, ember.tensor([2, 1], device=device), 1]), A[:, [2, 1], 1])
    mask = ember.tensor(A > 50, device=device)
    np.testing.assert_array_equal(_np(t[mask]), A[A > 50])
    np.testing.assert_array_equal(_np(t[0][ember.tensor(A[0] % 2 == 0, device=device)]), A[0][A[0] % 2 == 0])
    assert t[1, 2, 3, 4].item() == A[1, 2, 3, 4]
    assert t[ember.tensor(1, device=device)].shape == (3, 4, 5)


def test_index_errors(device):
    t = ember.zeros(3, 4, device=device)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        t[5]
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1 with size 4"):
        t[0, 4]
    with pytest.raises(IndexError, match="out of bounds for dimension 0 with size 3"):
        t[[0, 3]]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0]


def test_setitem_vs_numpy(device):
    ref = A.astype(np.float32).copy()
    t = ember.tensor(ref, device=device)
    cases = [
        ((slice(None), 1), 0.0), ((0, Ellipsis, 2), ember.arange(4, dtype=ember.float32)),
        (([0, 1], [2, 0]), -1.0), ((slice(None), [0, 2]), ember.ones(2, 2, 4, 5)),
        ((1, slice(None, None, 2)), 7.5), ((Ellipsis, [1, 3]), ember.tensor([100.0, 200.0])),
    ]
    for idx, value in cases:
        t[idx] = value.to(device) if isinstance(value, ember.Tensor) else value
        ref[idx] = _np(value) if isinstance(value, ember.Tensor) else value
        np.testing.assert_array_equal(_np(t), ref)
    m = ref > 60
    t[ember.tensor(m, device=device)] = -5.0
    ref[m] = -5.0
    np.testing.assert_array_equal(_np(t), ref)
    v = ember.arange(int(m.sum()), dtype=ember.float32, device=device)
    t[ember.tensor(m, device=device)] = v
    ref[m] = np.arange(m.sum())
    np.testing.assert_array_equal(_np(t), ref)
    r = ember.zeros(4, 2, device=device)
    r[[0, 2]] = ember.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    assert r.tolist() == [[1, 2], [0, 0], [3, 4], [0, 0]]
    r[1] = ember.tensor([7, 8], device=device)     # int source cast into float storage
    assert r[1].tolist() == [7.0, 8.0]


def test_gather_scatter_family(device):
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    t = ember.tensor(x, device=device)
    idx = np.array([[0, 0, 1], [1, 0, 0]])
    it = ember.tensor(idx, device=device)
    np.testing.assert_array_equal(_np(t.gather(0, it)), np.take_along_axis(x, idx, 0))
    idx1 = np.array([[2, 0], [1, 1]])
    np.testing.assert_array_equal(_np(ember.gather(t, 1, ember.tensor(idx1, device=device))),
                                  np.take_along_axis(x, idx1, 1))
    # scatter: out[idx[i][j]][j] = src[i][j] (dim 0)
    src = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    idx2 = np.array([[0, 1, 0], [1, 0, 1]])
    exp = np.zeros((2, 3), np.float32)
    for i in range(2):
        for j in range(3):
            exp[idx2[i, j], j] = src[i, j]
    z = ember.zeros(2, 3, device=device)
    np.testing.assert_array_equal(_np(z.scatter(0, ember.tensor(idx2, device=device), ember.tensor(src, device=device))),
                                  exp)
    assert z.sum().item() == 0                            # out-of-place
    z.scatter_(0, ember.tensor(idx2, device=device), ember.tensor(src, device=device))
    np.testing.assert_array_equal(_np(z), exp)
    z.scatter_(1, ember.tensor([[0], [2]], device=device), 9.0)
    exp[0, 0] = exp[1, 2] = 9
    np.testing.assert_array_equal(_np(z), exp)
    acc = ember.zeros(3, device=device).scatter_add(0, ember.tensor([0, 1, 0, 2, 0], device=device),
                                                    ember.ones(5, device=device))
    assert acc.tolist() == [3.0, 1.0, 1.0]
    np.testing.assert_array_equal(_np(t.index_select(1, ember.tensor([2, 0, 2], device=device))), x[:, [2, 0, 2]])
    np.testing.assert_array_equal(_np(t.masked_fill(t > 3, -1.0)), np.where(x > 3, -1, x))
    np.testing.assert_array_equal(_np(t.masked_fill(ember.tensor([True, False, True], device=device), 0.0)),
                                  x * [0, 1, 0])
    nz = ember.tensor([[0, 1], [2, 0]], device=device).nonzero()
    assert nz.dtype is ember.int64 and nz.tolist() == [[0, 1], [1, 0]]
    rows, cols = ember.tensor([[0, 1], [2, 0]], device=device).nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    with pytest.raises(IndexError, match="index out of range in self"):  # PyTorch's message
        t.index_select(0, ember.tensor([2], device=device))


# ---- linear algebra ----------------------------------------------------------------------------

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("sa, sb", [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((5, 3), (4, 3, 2)), ((2, 1, 3, 4), (5, 4, 2)),
    ((3,), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 3), (3, 4)), ((7, 2, 3), (7, 3, 1)),
])
def test_matmul_broadcasting(device, sa, sb):
    a = RNG.standard_normal(sa).astype(np.float32)
    b = RNG.standard_normal(sb).astype(np.float32)
    got = ember.tensor(a, device=device) @ ember.tensor(b, device=device)
    exp = a @ b
    assert tuple(got.shape) == np.shape(exp)
    np.testing.assert_allclose(_np(got), exp, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(ember.matmul(ember.tensor(a, device=device), ember.tensor(b, device=device))), exp,
                               rtol=1e-5, atol=1e-5)


def test_mm_bmm_mv_dot_outer(device):
    a = RNG.standard_normal((2, 3)).astype(np.float32)
    b = RNG.standard_normal((3, 4)).astype(np.float32)
    v = RNG.standard_normal(3).astype(np.float32)
    ta, tb, tv = (ember.tensor(x, device=device) for x in (a, b, v))
    np.testing.assert_allclose(_np(ember.mm(ta, tb)), a @ b, rtol=1e-5)
    np.testing.assert_allclose(_np(ta.mm(tb)), a @ b, rtol=1e-5)
    np.testing.assert_allclose(_np(ember.mv(ta, tv)), a @ v, rtol=1e-5)
    np.testing.assert_allclose(ember.dot(tv, tv).item(), v @ v, rtol=1e-5)
    np.testing.assert_allclose(_np(ember.outer(tv, ember.tensor(a[0], device=device))), np.outer(v, a[0]), rtol=1e-6)
    x = RNG.standard_normal((4, 2, 3)).astype(np.float32)
    y = RNG.standard_normal((4, 3, 5)).astype(np.float32)
    np.testing.assert_allclose(_np(ember.bmm(ember.tensor(x, device=device), ember.tensor(y, device=device))), x @ y,
                               rtol=1e-5, atol=1e-6)
    i = ember.tensor([[1, 2], [3, 4]], device=device)
    assert (i @ i).tolist() == [[7, 10], [15, 22]] and (i @ i).dtype is ember.int64


def test_linalg_errors(device):
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        ember.mm(ember.ones(2, 3, device=device), ember.ones(4, 5, device=device))
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        ember.ones(2, 3, device=device) @ ember.ones(4, 5, device=device)
    with pytest.raises(RuntimeError, match="expected (m1 and m2 to have the same dtype|both .* same dtype)"):
        ember.ones(2, 3, device=device) @ ember.ones(3, 2, dtype=ember.int64, device=device)
    with pytest.raises(RuntimeError, match="batch1 must be a 3D tensor"):
        ember.bmm(ember.ones(2, 3, device=device), ember.ones(3, 2, device=device))
    with pytest.raises(RuntimeError, match="inconsistent tensor size"):
        ember.dot(ember.ones(3, device=device), ember.ones(4, device=device))
    with pytest.raises(RuntimeError, match="both arguments to matmul need to be at least 1D"):
        ember.matmul(ember.tensor(1.0, device=device), ember.ones(2, device=device))


@pytest.mark.parametrize("eq, shapes", [
    ("ii->", [(4, 4)]), ("ii->i", [(3, 3)]), ("ij->ji", [(2, 3)]), ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]), ("...ij,...jk->...ik", [(2, 5, 2, 3), (5, 3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]), ("i,j", [(3,), (4,)]), ("ij,jk", [(2, 3), (3, 4)]), ("ba", [(2, 3)]),
    ("i,i->i", [(5,), (5,)]), ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("ij->", [(3, 3)]),
    ("i...->...", [(3, 2, 4)]), ("ijk,k", [(2, 3, 4), (4,)]),
])
def test_einsum_vs_numpy(device, eq, shapes):
    ops = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    got = ember.einsum(eq, *[ember.tensor(o, device=device) for o in ops])
    exp = np.einsum(eq, *ops)
    assert tuple(got.shape) == np.shape(exp)
    np.testing.assert_allclose(_np(got), exp, rtol=1e-4, atol=1e-5)
    got2 = ember.einsum(eq, [ember.tensor(o, device=device) for o in ops])  # list form
    np.testing.assert_allclose(_np(got2), exp, rtol=1e-4, atol=1e-5)
