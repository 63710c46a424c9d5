"""``Tensor.view`` on non-contiguous tensors: PyTorch's stride rule, views that really share memory,
PyTorch's error otherwise, and the ``strides`` kernel behind it.

Each case is run on an ember tensor and on a NumPy array side by side: the NumPy reshape of the
same view is a view too (checked), so writing through both and comparing the bases shows that
ember's view reached its base.
"""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.functions.shape import _compute_stride

VIEW_ERROR = ("view size is not compatible with input tensor's size and stride (at least one dimension spans "
              "across two contiguous subspaces). Use .reshape(...) instead.")


def _perm(*dims):
    return lambda a: a.transpose(dims) if isinstance(a, np.ndarray) else a.permute(*dims)


def _t(a):
    return a.T


def _unsq1(a):
    return np.expand_dims(a, 1) if isinstance(a, np.ndarray) else a.unsqueeze(1)


# (base shape, how to make the non-contiguous input, a shape it can be viewed as)
COMPATIBLE = [
    ((4, 6), _t, (2, 3, 4)),                              # split the first axis of a transpose
    ((4, 6), _t, (6, 2, 2)),                              # split the last one
    ((4, 6), _t, (6, 4)),                                 # same shape
    ((4, 6), _t, (1, 6, 1, 4, 1)),                        # only size-1 axes added
    ((4, 6), lambda a: a[:, ::2], (12,)),                 # rows of a stride-2 slice line up: one stride
    ((4, 6), lambda a: a[:, ::2], (2, 2, 3)),
    ((4, 6), lambda a: a[:, 1:5], (4, 2, 2)),
    ((2, 3, 4), _perm(2, 0, 1), (4, 6)),                  # axes 1 and 2 are still contiguous together
    ((2, 3, 4), _perm(1, 0, 2), (3, 2, 2, 2)),
    ((3, 4), lambda a: _unsq1(a.T), (4, 3)),              # size-1 axis with an arbitrary stride
    ((3, 4), lambda a: _unsq1(a.T), (2, 2, 1, 3)),
    ((5, 6), lambda a: a[2:3, ::2], (3,)),                # size-1 axis with a large stride
    ((5, 6), lambda a: a[2:3, ::2], (3, 1)),
]

INCOMPATIBLE = [
    ((4, 6), _t, (24,)),
    ((4, 6), _t, (4, 6)),
    ((4, 6), _t, (3, 8)),
    ((4, 6), lambda a: a[:, :3], (12,)),
    ((2, 3, 4), _perm(1, 0, 2), (3, 8)),
    ((2, 3, 4), _perm(1, 0, 2), (6, 4)),
    ((2, 3, 4), _perm(2, 0, 1), (8, 3)),
    ((3, 4), lambda a: _unsq1(a.T), (12,)),
]


def _ids(cases):
    return [f"{shape}-{i}->{new}" for i, (shape, _, new) in enumerate(cases)]


def _base(shape):
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)


def _np_strides(a):
    return tuple(s // a.itemsize for s in a.strides)


@pytest.mark.parametrize("shape,make,new", COMPATIBLE, ids=_ids(COMPATIBLE))
def test_view_of_non_contiguous_shares_memory(device, shape, make, new):
    a = _base(shape)
    t = ember.tensor(a, device=device)
    src = make(t)
    assert not src.is_contiguous()
    v = src.view(new)
    a_v = make(a).reshape(new)
    assert np.shares_memory(a_v, a), "the NumPy reference must be a view too"
    assert tuple(v.shape) == new and v._version is t._version
    assert v.tolist() == a_v.tolist()
    inc = np.arange(a_v.size, dtype=np.float32).reshape(new) + 100
    v.add_(ember.tensor(inc, device=device))  # write through the view...
    a_v += inc
    np.testing.assert_array_equal(t.cpu().numpy(), a)  # ...it reached the base, where NumPy's did
    t.mul_(2)  # and a write to the base shows through the view
    a *= 2
    np.testing.assert_array_equal(v.cpu().numpy(), a_v)


@pytest.mark.parametrize("shape,make,new", INCOMPATIBLE, ids=_ids(INCOMPATIBLE))
def test_view_across_contiguous_subspaces_raises(device, shape, make, new):
    a = _base(shape)
    t = ember.tensor(a, device=device)
    with pytest.raises(RuntimeError) as exc:
        make(t).view(new)
    assert str(exc.value) == VIEW_ERROR
    with pytest.raises(RuntimeError, match=r"view size is not compatible"):
        make(t).view(-1, *new[1:])
    # reshape copies instead: right values, and a new tensor (writes don't reach the base)
    r = make(t).reshape(new)
    assert r.tolist() == make(a).reshape(new).tolist()
    assert r._version is not t._version
    r.add_(1)
    np.testing.assert_array_equal(t.cpu().numpy(), a)


def test_view_errors_come_in_pytorchs_order(device):
    t = ember.zeros(4, 6, device=device)
    with pytest.raises(RuntimeError, match="invalid for input of size 24"):
        t.t().view(5, 5)  # the size check comes before the stride check
    with pytest.raises(RuntimeError, match=r"view size is not compatible"):
        ember.zeros(3, 1, device=device).expand(3, 4).view(12)
    assert ember.zeros(3, 1, device=device).expand(3, 4).view(3, 2, 2).shape == (3, 2, 2)


def test_view_edge_cases(device):
    s = ember.tensor(3.0, device=device)  # 0-d
    for shape in ((1,), (1, 1), (), (-1,)):
        assert s.view(*shape).numel() == 1
    s.view(1, 1).fill_(7.0)
    assert s.item() == 7.0
    one = ember.tensor([[5.0]], device=device).t()
    one.view(()).fill_(1.0)
    assert one.item() == 1.0
    e = ember.zeros(0, 4, device=device).t()  # empty: PyTorch never looks at the strides
    assert e.view(-1).shape == (0,)
    assert e.view(2, 0, 2).shape == (2, 0, 2)
    assert ember.zeros(4, 0, device=device)[:, ::2].view(0, 4).shape == (0, 4)


def test_view_as_reshape_as_and_view_dtype(device):
    t = ember.zeros(4, 6, device=device).t()
    with pytest.raises(RuntimeError, match=r"view size is not compatible"):
        t.view_as(ember.zeros(24, device=device))
    assert t.view_as(ember.zeros(2, 3, 4)).shape == (2, 3, 4)
    assert t.reshape_as(ember.zeros(24, device=device)).shape == (24,)
    assert t.view(ember.float32).dtype == ember.float32 and t.view(ember.float32).shape == (6, 4)
    assert t.view(ember.int32).dtype == ember.int32


def test_view_and_reshape_gradients(device):
    a = ember.randn(4, 6, device=device, requires_grad=True)
    w = ember.arange(24.0, device=device)
    (a.t().view(2, 3, 4) * w.view(2, 3, 4)).sum().backward()
    np.testing.assert_array_equal(a.grad.cpu().numpy(), np.arange(24.0).reshape(6, 4).T)
    a.grad = None
    y = a.t().reshape(-1)
    assert type(y.grad_fn).__name__ == "UnsafeViewBackward0"
    (y * w).sum().backward()
    np.testing.assert_array_equal(a.grad.cpu().numpy(), np.arange(24.0).reshape(6, 4).T)


@pytest.mark.parametrize("dtype", ["float32", "int64", "int8", "bool"])
def test_strides_kernel_matches_numpy(device, dtype):
    a = _base((2, 3, 4)).astype(dtype)
    t = ember.tensor(a, device=device)
    kt = t._kt
    assert kt.has("strides")
    cases = [(t, a), (t.permute(2, 0, 1), a.transpose(2, 0, 1)), (t[:, ::2, 1:], a[:, ::2, 1:]),
             (t.transpose(0, 2)[1], a.transpose(2, 1, 0)[1]), (t[0].t(), a[0].T), (t[1, 2, 3], a[1, 2, 3])]
    for et, na in cases:
        assert tuple(kt["strides"](et._data)) == _np_strides(na), (et.shape, na.shape)
    v = t.permute(2, 0, 1).view(4, 6)  # a view's strides: those NumPy gives the same reshape
    assert tuple(kt["strides"](v._data)) == _np_strides(a.transpose(2, 0, 1).reshape(4, 6))


def test_without_strides_kernel_view_is_conservative(device, monkeypatch):
    t = ember.zeros(4, 6, device=device)
    monkeypatch.setattr(t._kt, "native", t._kt.native - {"strides"})
    assert not t._kt.has("strides")
    assert t.view(2, 12).shape == (2, 12)  # contiguous: always a view
    with pytest.raises(RuntimeError) as exc:
        t.t().view(2, 3, 4)  # a view in PyTorch, but the frontend can't see the strides
    assert str(exc.value) == VIEW_ERROR
    v = t.t().unsqueeze(0).view(6, 1, 4)  # only size-1 axes change: no stride can matter
    v.add_(1)
    assert t.sum().item() == 24
    assert ember.zeros(0, 4, device=device).t().view(-1).shape == (0,)
    assert t.t().reshape(-1).shape == (24,)


def test_compute_stride_matches_numpys_nocopy_reshape():
    """PyTorch's and NumPy's no-copy rules agree; compare on every permutation and slice."""
    checked = 0
    for shape in ((2, 3, 4), (4, 6), (2, 1, 3, 2), (2, 0, 3)):
        base = np.arange(int(np.prod(shape))).reshape(shape)
        for perm in itertools.permutations(range(len(shape))):
            for v in (base.transpose(perm), base.transpose(perm)[..., ::2]):
                n = v.size
                news = {(n,), (1, n), tuple(v.shape), (1, *v.shape, 1)}
                if n % 2 == 0:
                    news |= {(2, n // 2), (n // 2, 1, 2)}
                for new in news:
                    ours = _compute_stride(tuple(v.shape), _np_strides(v), new)
                    try:
                        w = np.reshape(v, new, copy=False)
                    except ValueError:
                        assert ours is None, (v.shape, v.strides, new)
                        continue
                    assert ours is not None, (v.shape, v.strides, new)
                    if n:
                        keep = [i for i, d in enumerate(new) if d != 1]
                        assert [ours[i] for i in keep] == [_np_strides(w)[i] for i in keep]
                    checked += 1
    assert checked > 100
