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


# PyTorch's argument parser takes ``axis=`` for the ``dim`` of every native function, shape ops and
# indexing ops included (not only reductions).
I = Arg(np.array([[0, 2, 1, 0], [1, 1, 0, 2]], np.int64))
S = Arg(R.standard_normal((2, 4)).astype(np.float32))
AXIS = {
    "squeeze": (lambda L, a: L.squeeze(a.unsqueeze(1), axis=1), [S]),
    "unsqueeze": (lambda L, a: a.unsqueeze(axis=-1), [S]),
    "unbind": (lambda L, a: L.unbind(a, axis=1), [S]),
    "chunk": (lambda L, a: a.chunk(2, axis=1), [S]),
    "cat": (lambda L, a, b: L.cat([a, b], axis=1), [S, S]),
    "concatenate": (lambda L, a, b: L.concatenate([a, b], axis=0), [S, S]),
    "stack": (lambda L, a, b: L.stack([a, b], axis=2), [S, S]),
    "select": (lambda L, a: a.select(axis=1, index=2), [S]),
    "unflatten": (lambda L, a: L.unflatten(a, axis=1, sizes=(2, 2)), [S]),  # Tensor.unflatten: Python, no axis
    "gather": (lambda L, a, i: L.gather(a, axis=1, index=i), [S, I]),
    "index_select": (lambda L, a, i: a.index_select(axis=1, index=i[0]), [S, I]),
    "index_add": (lambda L, a, i: a.index_add(axis=0, index=i[0, :2], source=a), [S, I]),
    "scatter_add": (lambda L, a, i: a.scatter_add(axis=1, index=i, src=a), [S, I]),
    "take_along_dim": (lambda L, a, i: L.take_along_dim(a, i, axis=1), [S, I]),
    "cross": (lambda L, a, b: L.cross(a[:, :3], b[:, 1:], axis=1), [S, S]),
    "cosine_similarity": (lambda L, a, b: L.cosine_similarity(a, b, axis=0), [S, S]),
    "trapezoid": (lambda L, a: L.trapezoid(a, axis=0), [S]),
    "cumulative_trapezoid": (lambda L, a: L.cumulative_trapezoid(a, axis=1), [S]),
    "renorm": (lambda L, a: a.renorm(2, axis=0, maxnorm=1.0), [S]),
    "split_with_sizes": (lambda L, a: a.split_with_sizes([1, 3], axis=1), [S]),
    "slice_scatter": (lambda L, a, b: L.slice_scatter(a, b[:, :2], axis=1, start=1, end=3), [S, S]),
    "both names": (lambda L, a: a.squeeze(0, axis=0), [S]),  # TypeError in both
}


@pytest.mark.parametrize("name", sorted(AXIS))
def test_axis_is_dim_for_native_functions_as_torch(name, device):
    fn, args = AXIS[name]
    check(fn, args, None, device)


TENSORS = ["cat", "concat", "stack", "hstack", "vstack", "dstack", "column_stack", "row_stack"]


@pytest.mark.parametrize("name", TENSORS)
def test_a_tensor_where_a_sequence_of_tensors_is_expected_is_a_type_error_as_torch(name, device):
    check(lambda L, a: getattr(L, name)(a), [S], None, device)


def test_broadcast_tensors_returns_a_tuple_as_torch(device):
    check(lambda L, a, b: type(L.broadcast_tensors(a, b[:1])).__name__, [S, S], None, device)
    check(lambda L, a, b: L.broadcast_tensors(a, b[:1]), [S, S], None, device)


def test_small_tensor_members_as_torch(device):
    check(lambda L, a: (list(reversed(a[0])), reversed(a[0, 0]), a.cdouble().real if device == "cpu" else a), [X3],
          None, device)
    for L in (torch, ember):
        x = L.arange(4.0, requires_grad=True) * 1
        first, second = x.chunk(2)
        assert (x.output_nr, second.output_nr, x._is_view(), x[1:]._is_view()) == (0, 1, False, True)
        assert x.const_data_ptr() == x.data_ptr() and str(x.cfloat().dtype).endswith("complex64")


@pytest.mark.parametrize("name,kw", [("StepLR", {"step_size": 2}), ("CosineAnnealingLR", {"T_max": 4}),
                                     ("CosineAnnealingWarmRestarts", {"T_0": 2}), ("OneCycleLR", {"max_lr": 1.0,
                                                                                                  "total_steps": 5})])
def test_scheduler_get_lr_warns_outside_step_and_saves_its_flag_as_torch(name, kw):
    import warnings

    seen = []
    for L in (torch, ember):
        opt = L.optim.SGD([L.nn.Parameter(L.ones(1))], lr=0.1, momentum=0.9)
        sched = getattr(L.optim.lr_scheduler, name)(opt, **kw)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched.get_lr()
            opt.step()
            sched.step()
        seen.append(([str(w.message) for w in caught], sorted(sched.state_dict())))
    assert seen[0] == seen[1]


IMG = Arg(R.standard_normal((1, 1, 5, 5)).astype(np.float32))
KER = Arg(R.standard_normal((1, 1, 2, 2)).astype(np.float32))
FLOAT_WINDOWS = {
    "conv-stride": lambda L, x, w: L.nn.functional.conv2d(x, w, stride=1.0),
    "conv-padding": lambda L, x, w: L.nn.functional.conv2d(x, w, padding=(1.0, 1)),
    "conv-index-tensor": lambda L, x, w: L.nn.functional.conv2d(x, w, stride=L.tensor(1)),
    "conv-numpy-int": lambda L, x, w: L.nn.functional.conv2d(x, w, stride=np.int64(2)),
    "max_pool": lambda L, x, w: L.nn.functional.max_pool2d(x, 2.0),
    "avg_pool-stride": lambda L, x, w: L.nn.functional.avg_pool2d(x, 2, 1.0),
    "unfold": lambda L, x, w: L.nn.functional.unfold(x, 2.0),
    "Conv1d-module": lambda L, x, w: L.nn.Conv1d(3, 4, 3.0),
}


@pytest.mark.parametrize("name", sorted(FLOAT_WINDOWS))
def test_float_windows_strides_and_paddings_are_type_errors_as_torch(name, device):
    check(FLOAT_WINDOWS[name], [IMG, KER], None, device)


@pytest.mark.parametrize("name", ["float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte",
                                  "bool"])
def test_dtype_conversion_methods_take_memory_format_as_torch(name, device):
    check(lambda L, a: getattr(a, name)(memory_format=L.preserve_format), [X3], None, device)


def test_dtype_to_real_and_to_complex_as_torch():
    for name in ("float32", "float64", "bfloat16", "complex64", "complex128", "int32", "bool"):
        got = []
        for L in (torch, ember):
            d = getattr(L, name)
            for method in ("to_real", "to_complex"):
                try:
                    got.append(str(getattr(d, method)()).split(".")[-1])
                except RuntimeError:
                    got.append("RuntimeError")
        assert got[:2] == got[2:], (name, got)
