"""Gaps left from the last probes: several ellipses in one index, the ``*_like`` factories' keyword-only
dtype, ``nn.CrossMapLRN2d`` (Torch7's LRN with its legacy window and backward) and ``nn.SyncBatchNorm``
without a process group (PyTorch falls back to batch norm there; the 2-process case is in
tests/distributed/_cases.py). Each row runs on PyTorch and on ember on every device."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import ember  # noqa: E402
import torch  # noqa: E402
from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(11)
X3 = Arg(R.standard_normal((2, 3, 4)).astype(np.float32))
X1 = Arg(R.standard_normal((5,)).astype(np.float32))

ELLIPSES = [(..., ...), (..., 0, ...), (0, ..., ...), (..., None, ...), (..., ..., 0), (..., 0, ..., 1),
            (..., 1, ..., ...), (None, ..., ...), (..., slice(1, 3), ...), (..., ..., ..., ...)]


@pytest.mark.parametrize("index", ELLIPSES, ids=repr)
@pytest.mark.parametrize("x", [X3, X1], ids=["3d", "1d"])
def test_every_ellipsis_skips_the_dimensions_left_over_as_torch(index, x, device):
    check(lambda L, a: a[index], [x], None, device)


@pytest.mark.parametrize("index", [(..., ...), (..., 0, ...), (0, ..., ...)], ids=repr)
def test_assignment_through_several_ellipses_as_torch(index, device):
    def fn(L, a):
        b = a.clone()
        b[index] = 7.0
        return b

    check(fn, [X3], None, device)


LIKE = {
    "empty_like": lambda L, a: L.empty_like(a, L.float64).shape,
    "zeros_like": lambda L, a: L.zeros_like(a, L.float64),
    "ones_like": lambda L, a: L.ones_like(a, L.int64),
    "full_like": lambda L, a: L.full_like(a, 2, L.int64),
    "rand_like": lambda L, a: L.rand_like(a, L.float64).shape,
    "randn_like": lambda L, a: L.randn_like(a, L.float64).shape,
}


@pytest.mark.parametrize("name", sorted(LIKE))
def test_like_factories_take_dtype_by_keyword_only_as_torch(name, device):
    check(LIKE[name], [X3], None, device)  # both raise TypeError
    keyword = {"full_like": lambda L, a: L.full_like(a, 2, dtype=L.int64)}.get(
        name, lambda L, a: getattr(L, name)(a, dtype=L.float64).shape)
    check(keyword, [X3], None, device)


LRN_X = Arg(R.standard_normal((2, 7, 3, 4)).astype(np.float64))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8])
def test_cross_map_lrn2d_values_and_legacy_gradient_as_torch(size, device):
    """Every window size (1's backward fails in PyTorch; ember raises the same RuntimeError)."""
    check(lambda L, a: L.nn.CrossMapLRN2d(size, 0.3, 0.75, 2.0)(a), [LRN_X], None, device)


def test_cross_map_lrn2d_float32_few_channels_and_errors(device):
    x = Arg(R.standard_normal((1, 2, 5, 5)).astype(np.float32) * 3)
    check(lambda L, a: L.nn.CrossMapLRN2d(5)(a), [x], None, device)
    check(lambda L, a: L.nn.CrossMapLRN2d(3)(a), [X3], None, device)  # 3-D input: ValueError, same words
    assert repr(ember.nn.CrossMapLRN2d(3, k=2)) == repr(torch.nn.CrossMapLRN2d(3, k=2))


BN_X = Arg(R.standard_normal((4, 3, 2, 5)).astype(np.float32) * 2 + 1)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_sync_batch_norm_without_a_group_is_batch_norm_as_torch(train, momentum, device):
    def fn(L, a):
        bn = L.nn.SyncBatchNorm(3, momentum=momentum)
        if device != "cpu" and L is ember:
            bn = bn.to(device)
        bn.train(train)
        out = bn(a) + bn(a * 2)  # two steps: running statistics and num_batches_tracked move
        return out, bn.running_mean, bn.running_var, bn.num_batches_tracked

    check(fn, [BN_X], None, device)


def test_sync_batch_norm_input_errors_as_torch(device):
    check(lambda L, a: L.nn.SyncBatchNorm(5)(a), [X1], None, device)  # 1-D: at least 2D
    empty_channels = Arg(np.zeros((2, 0, 3), np.float32))
    check(lambda L, a: L.nn.SyncBatchNorm(0)(a), [empty_channels], None, device)


def test_convert_sync_batchnorm_shares_parameters_and_buffers_as_torch():
    for lib in (torch, ember):
        net = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.BatchNorm2d(2, momentum=0.3),
                                lib.nn.Sequential(lib.nn.BatchNorm1d(4, affine=False), lib.nn.ReLU()))
        net[1].eval()
        before = {k: id(v) for k, v in net.state_dict(keep_vars=True).items()}
        out = lib.nn.SyncBatchNorm.convert_sync_batchnorm(net, process_group=None)
        names = [type(m).__name__ for m in out.modules()]
        after = {k: id(v) for k, v in out.state_dict(keep_vars=True).items()}
        if lib is torch:
            expected = (names, repr(out), out[1].training, sorted(after))
            assert after == before
        else:
            assert (names, repr(out), out[1].training, sorted(after)) == expected
            assert after == before
    bn = ember.nn.BatchNorm2d(2)
    assert type(ember.nn.SyncBatchNorm.convert_sync_batchnorm(bn)) is ember.nn.SyncBatchNorm
