"""Reductions (dim int/tuple/None, keepdim) and shape ops (views share storage) against NumPy."""

from __future__ import annotations

import ember
import numpy as np
import pytest

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4, 5)).astype(np.float32)


def _np(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), (1,)])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name, ref", [
    ("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("amax", np.max), ("amin", np.min),
    ("var", lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1)),
    ("std", lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims, ddof=1)),
    ("logsumexp", lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))),
])
def test_reductions(device, name, ref, dim, keepdim):
    t = ember.tensor(X, device=device)
    if name == "prod" and isinstance(dim, tuple):
        pytest.skip("torch.prod takes a single dim")
    if dim is None:
        if name == "logsumexp":
            pytest.skip("logsumexp needs a dim")
        got = getattr(t, name)() if not keepdim else None
        if got is None:
            return
        exp = ref(X.astype(np.float64), axis=None, keepdims=False)
    else:
        got = getattr(ember, name)(t, dim, keepdim=keepdim)
        exp = ref(X.astype(np.float64), axis=dim, keepdims=keepdim)
    assert got.dtype is ember.float32
    assert tuple(got.shape) == np.shape(exp)
    np.testing.assert_allclose(_np(got), exp, rtol=1e-5, atol=1e-5)


def test_var_std_correction(device):
    t = ember.tensor(X, device=device)
    np.testing.assert_allclose(_np(t.var(1, correction=0)), X.var(1), rtol=1e-5)
    np.testing.assert_allclose(_np(t.std(unbiased=False)), X.std(), rtol=1e-5)
    np.testing.assert_allclose(_np(ember.var(t, dim=(0, 1), unbiased=True)), X.var((0, 1), ddof=1), rtol=1e-5)
    np.testing.assert_allclose(_np(t.std(dim=2, correction=2)), X.std(2, ddof=2), rtol=1e-5)


def test_integer_reductions_dtypes(device):
    i = ember.tensor([[1, 2], [3, 4]], dtype=ember.int32, device=device)
    assert i.sum().dtype is ember.int64 and i.sum().item() == 10
    assert i.prod().dtype is ember.int64 and i.prod().item() == 24
    assert ember.tensor([True, True, False], device=device).sum().item() == 2
    assert i.cumsum(0).dtype is ember.int64 and i.cumsum(0).tolist() == [[1, 2], [4, 6]]
    assert i.amax().dtype is ember.int32
    with pytest.raises(RuntimeError, match=r"mean\(\): could not infer output dtype. Input dtype must be either a "
                                           r"floating point or complex dtype. Got: Int"):
        i.mean()
    assert i.float().mean().item() == 2.5
    assert ember.tensor([1, 2], device=device).mean(dtype=ember.float32).item() == 1.5


def test_max_min_values_indices(device):
    t = ember.tensor(X, device=device)
    r = ember.max(t, dim=1)
    values, indices = r
    np.testing.assert_allclose(_np(values), X.max(1))
    np.testing.assert_array_equal(_np(indices), X.argmax(1))
    assert r.values is values and r.indices is indices
    assert type(r).__name__ == "max"
    r = t.min(-1, keepdim=True)
    np.testing.assert_array_equal(_np(r.indices), X.argmin(-1)[..., None])
    assert ember.max(t).item() == pytest.approx(float(X.max()))
    assert t.argmax().item() == int(X.argmax())
    np.testing.assert_array_equal(_np(t.argmin(dim=0)), X.argmin(0))
    np.testing.assert_array_equal(_np(ember.argmax(t, 2, keepdim=True)), X.argmax(2)[..., None])
    np.testing.assert_allclose(_np(ember.max(t, ember.zeros(5, device=device))), np.maximum(X, 0))
    # ties pick the first index
    assert ember.tensor([1, 3, 3], device=device).argmax().item() == 1


def test_all_any_norm_cumulative(device):
    b = ember.tensor([[True, False], [True, True]], device=device)
    assert b.all().item() is False and b.any().item() is True
    assert b.all(dim=1).tolist() == [False, True]
    assert ember.tensor([0.0, 1.0], device=device).any().item() is True
    t = ember.tensor(X, device=device)
    np.testing.assert_allclose(t.norm().item(), np.linalg.norm(X), rtol=1e-5)
    np.testing.assert_allclose(_np(t.norm(p=1, dim=1)), np.abs(X).sum(1), rtol=1e-5)
    np.testing.assert_allclose(_np(ember.norm(t, dim=(1, 2))), np.sqrt((X ** 2).sum((1, 2))), rtol=1e-5)
    np.testing.assert_allclose(_np(t.cumsum(dim=1)), np.cumsum(X, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(t.cumprod(dim=-1)), np.cumprod(X, -1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(ember.logsumexp(t * 100, dim=0)),
                               np.log(np.exp((X * 100).astype(np.float64) - (X * 100).max(0)).sum(0)) + (X * 100).max(0),
                               rtol=1e-5)


# ---- shape ops -----------------------------------------------------------------------------


def test_view_reshape_flatten(device):
    a = np.arange(24).reshape(2, 3, 4)
    t = ember.tensor(a, device=device)
    assert t.view(6, 4).tolist() == a.reshape(6, 4).tolist()
    assert t.view(-1, 4).shape == (6, 4)
    assert t.reshape(4, -1).shape == (4, 6)
    assert t.flatten().tolist() == a.reshape(-1).tolist()
    assert t.flatten(1).shape == (2, 12)
    assert ember.flatten(t, 0, 1).shape == (6, 4)
    assert t.unflatten(2, (2, 2)).shape == (2, 3, 2, 2)
    assert t.view(ember.Size([3, 8])).shape == (3, 8)
    with pytest.raises(RuntimeError, match="invalid for input of size 24"):
        t.view(5, 5)
    assert t.transpose(0, 1).reshape(-1).tolist() == a.transpose(1, 0, 2).reshape(-1).tolist()


def test_squeeze_unsqueeze_permute_transpose(device):
    t = ember.zeros(1, 3, 1, 2, device=device)
    assert t.squeeze().shape == (3, 2)
    assert t.squeeze(0).shape == (3, 1, 2)
    assert t.squeeze(1).shape == (1, 3, 1, 2)
    assert t.unsqueeze(0).shape == (1, 1, 3, 1, 2) and t.unsqueeze(-1).shape == (1, 3, 1, 2, 1)
    a = np.arange(24).reshape(2, 3, 4)
    u = ember.tensor(a, device=device)
    assert u.permute(2, 0, 1).tolist() == a.transpose(2, 0, 1).tolist()
    assert u.permute((1, 2, 0)).shape == (3, 4, 2)
    assert u.transpose(0, 2).tolist() == a.swapaxes(0, 2).tolist()
    assert not u.transpose(0, 1).is_contiguous() and u.transpose(0, 1).contiguous().is_contiguous()
    assert ember.arange(6, device=device).reshape(2, 3).t().shape == (3, 2)


def test_expand_repeat(device):
    t = ember.tensor([[1], [2]], device=device)
    assert t.expand(2, 3).tolist() == [[1, 1, 1], [2, 2, 2]]
    assert t.expand(4, -1, 2).shape == (4, 2, 2)
    assert t.expand_as(ember.zeros(2, 5)).shape == (2, 5)
    assert t.repeat(2, 2).tolist() == np.tile([[1], [2]], (2, 2)).tolist()
    assert t.repeat(2, 1, 1).shape == (2, 2, 1)
    with pytest.raises(RuntimeError):
        t.expand(3, 3)


def test_chunk_split_cat_stack(device):
    a = np.arange(10)
    t = ember.tensor(a, device=device)
    assert [c.tolist() for c in t.chunk(3)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [c.tolist() for c in t.split(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [c.tolist() for c in ember.split(t, [2, 8])] == [[0, 1], a[2:].tolist()]
    m = ember.tensor(np.arange(6).reshape(2, 3), device=device)
    assert ember.cat([m, m], 0).shape == (4, 3) and ember.cat((m, m), dim=1).tolist() == \
        np.concatenate([np.arange(6).reshape(2, 3)] * 2, 1).tolist()
    assert ember.cat([m, ember.tensor([[9, 9, 9]], device=device)]).tolist()[-1] == [9, 9, 9]
    assert ember.cat([m, m.float()]).dtype is ember.float32          # promotes like PyTorch
    assert ember.stack([m, m]).shape == (2, 2, 3) and ember.stack([m, m], dim=2).shape == (2, 3, 2)
    assert ember.stack([m, m], -1).tolist() == np.stack([np.arange(6).reshape(2, 3)] * 2, -1).tolist()
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 0.*"
                                           r"Expected size 3 but got size 2 for tensor number 1"):
        ember.cat([m, ember.zeros(2, 2, dtype=ember.int64, device=device)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        ember.stack([m, ember.zeros(3, 2, dtype=ember.int64, device=device)])
    with pytest.raises((RuntimeError, ValueError)):
        ember.cat([])


def test_flip_tril_triu_narrow(device):
    a = np.arange(12).reshape(3, 4)
    t = ember.tensor(a, device=device)
    assert t.flip(0).tolist() == a[::-1].tolist()
    assert ember.flip(t, (0, 1)).tolist() == a[::-1, ::-1].tolist()
    assert t.tril().tolist() == np.tril(a).tolist() and t.triu(1).tolist() == np.triu(a, 1).tolist()
    assert ember.tril(t, -1).tolist() == np.tril(a, -1).tolist()
    assert t.narrow(1, 1, 2).tolist() == a[:, 1:3].tolist()
    n = t.narrow(0, 1, 1)
    n.fill_(0)
    assert t.tolist()[1] == [0, 0, 0, 0]


def test_views_share_storage(device):
    t = ember.zeros(2, 3, device=device)
    for view in (t.view(6), t.reshape(3, 2), t.transpose(0, 1), t.unsqueeze(0), t.permute(1, 0), t[:, 1:],
                 t.flatten(), t.squeeze(), t.narrow(1, 0, 2), t.chunk(3, 1)[1],
                 t.split(1)[0], t.t(), t.T, t.detach(), t.data):
        before = t.sum().item()
        view.add_(1)
        assert t.sum().item() > before
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single"):
        t[0].expand(2, 3).add_(1)
