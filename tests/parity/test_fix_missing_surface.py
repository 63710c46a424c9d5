"""``torch.*`` functions and Tensor methods real programs call that ember lacked: eager ``cond`` and
``while_loop``, ``segment_reduce``, ``nonzero_static``, ``slice_inverse``, ``embedding_renorm_``, the
``native_*`` norms, ``norm_except_dim``, the deprecated ``cholesky``, randomized ``svd_lowrank`` and
``pca_lowrank``, the functional RNN cells, the deprecated autocast state functions, and the Tensor
methods ``resize``/``resize_as``, ``set_``, ``is_set_to``, ``untyped_storage``/``storage``,
``as_subclass``, ``record_stream``. Each row runs on PyTorch and on ember on every device."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

import ember  # noqa: E402
import torch  # noqa: E402
from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(7)
DATA = Arg(R.standard_normal((6, 3)))
DATA1 = Arg(R.standard_normal((6,)))


def _int(L, values, device=None):
    return L.tensor(values, device=device) if L is ember else L.tensor(values)


# ---- segment_reduce -----------------------------------------------------------------------------

@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("initial", [None, 0.5])
@pytest.mark.parametrize("data", [DATA, DATA1], ids=["2d", "1d"])
def test_segment_reduce_lengths_and_offsets_as_torch(reduce, initial, data, device):
    def by_lengths(L, a):
        return L.segment_reduce(a, reduce, lengths=_int(L, [2, 0, 4], a.device), initial=initial)

    def by_offsets(L, a):
        return L.segment_reduce(a, reduce, offsets=_int(L, [0, 1, 1, 6], a.device), initial=initial)

    check(by_lengths, [data], None, device)
    check(by_offsets, [data], None, device)


def test_segment_reduce_errors_as_torch(device):
    check(lambda L, a: L.segment_reduce(a, "sum", lengths=_int(L, [2, 3], a.device)), [DATA1], None, device)
    check(lambda L, a: L.segment_reduce(a, "sum", lengths=_int(L, [2, 3], a.device), unsafe=True).shape,
          [DATA1], None, device)
    check(lambda L, a: L.segment_reduce(a, "median", lengths=_int(L, [6], a.device)), [DATA1], None, device)
    check(lambda L, a: L.segment_reduce(a, "sum"), [DATA1], None, device)


# ---- nonzero_static / slice_inverse / norm_except_dim -----------------------------------------------

NZ = Arg(np.array([[0, 1, 0], [2, 0, 3]], dtype=np.int64), grad=False)


@pytest.mark.parametrize("size", [0, 2, 3, 6])
@pytest.mark.parametrize("fill", [-1, 9])
def test_nonzero_static_pads_or_truncates_as_torch(size, fill, device):
    check(lambda L, a: L.nonzero_static(a, size=size, fill_value=fill), [NZ], None, device)
    check(lambda L, a: a.nonzero_static(size=size), [NZ], None, device)


def test_nonzero_static_negative_size_as_torch(device):
    check(lambda L, a: L.nonzero_static(a, size=-1), [NZ], None, device)


def test_slice_inverse_gives_back_the_base_as_torch(device):
    def fn(L, a):
        base = a * 1
        s = base[1:5:2]
        inv = L.slice_inverse(s, base, 0, 1, 5, 2)
        return inv, s.slice_inverse(base, 0, 1, 5, 2)

    check(fn, [DATA], None, device)


@pytest.mark.parametrize("pow_", [2, 3, 1])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_norm_except_dim_as_torch(pow_, dim, device):
    check(lambda L, a: L.norm_except_dim(a, pow_, dim), [DATA], None, device)


# ---- embedding_renorm_ -----------------------------------------------------------------------------

def test_embedding_renorm_rescales_the_named_rows_in_place_as_torch(device):
    def fn(L, a):
        w = a.detach().clone()
        out = L.embedding_renorm_(w, _int(L, [1, 1, 3, 4], w.device), 1.0, 2.0)
        return out is w, w

    check(fn, [DATA], None, device, tol=10.0)


# ---- native_batch_norm / native_group_norm ------------------------------------------------------------

X = Arg(R.standard_normal((4, 3, 5)))
W3 = Arg(R.standard_normal((3,)))
B3 = Arg(R.standard_normal((3,)))


@pytest.mark.parametrize("training", [True, False])
def test_native_batch_norm_outputs_and_running_stats_as_torch(training, device):
    def fn(L, x, w, b):
        rm = L.zeros(3, dtype=x.dtype, device=x.device)
        rv = L.ones(3, dtype=x.dtype, device=x.device)
        out, mean, invstd = L.native_batch_norm(x, w, b, rm, rv, training, 0.1, 1e-5)
        return out, mean, invstd, rm, rv

    check(fn, [X, W3, B3], None, device, tol=10.0)


def test_native_batch_norm_without_running_stats_as_torch(device):
    check(lambda L, x: L.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5), [X], None, device,
          tol=10.0)


def test_native_group_norm_returns_mean_and_rstd_as_torch(device):
    G = Arg(R.standard_normal((2, 6, 4)))
    W6, B6 = Arg(R.standard_normal((6,))), Arg(R.standard_normal((6,)))
    check(lambda L, x, w, b: L.native_group_norm(x, w, b, 2, 6, 4, 3, 1e-5), [G, W6, B6], None, device, tol=10.0)


# ---- cholesky (deprecated) --------------------------------------------------------------------------

SPD = Arg(np.array([[4.0, 2.0, 0.4], [2.0, 5.0, 1.0], [0.4, 1.0, 3.0]]))


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_as_torch(upper, device):
    def fn(L, a):
        a = (a + a.mT) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return L.cholesky(a, upper=upper), a.cholesky(upper)

    check(fn, [SPD], None, device, tol=10.0)


def test_cholesky_warns_deprecation():
    import ember.functions.torch_surface as ts

    ts._CHOLESKY_WARNED[0] = False
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated in favor of torch.linalg.cholesky"):
        ember.cholesky(ember.eye(2))


# ---- functional RNN cells --------------------------------------------------------------------------

IN = Arg(R.standard_normal((2, 4)))
H = Arg(R.standard_normal((2, 3)))
C = Arg(R.standard_normal((2, 3)))


def _weights(k):
    return [Arg(R.standard_normal((k * 3, 4)) * 0.5), Arg(R.standard_normal((k * 3, 3)) * 0.5),
            Arg(R.standard_normal((k * 3,))), Arg(R.standard_normal((k * 3,)))]


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_as_torch(bias, device):
    w = _weights(4)
    if bias:
        check(lambda L, x, h, c, wi, wh, bi, bh: L.lstm_cell(x, (h, c), wi, wh, bi, bh), [IN, H, C, *w], None, device,
              tol=10.0)
    else:
        check(lambda L, x, h, c, wi, wh: L.lstm_cell(x, (h, c), wi, wh), [IN, H, C, *w[:2]], None, device, tol=10.0)


@pytest.mark.parametrize("name,k", [("gru_cell", 3), ("rnn_tanh_cell", 1), ("rnn_relu_cell", 1)])
def test_gru_and_rnn_cells_as_torch(name, k, device):
    w = _weights(k)
    check(lambda L, x, h, wi, wh, bi, bh: getattr(L, name)(x, h, wi, wh, bi, bh), [IN, H, *w], None, device,
          tol=10.0)
    check(lambda L, x, h, wi, wh: getattr(L, name)(x, h, wi, wh), [IN, H, *w[:2]], None, device, tol=10.0)


# ---- randomized low-rank SVD / PCA ---------------------------------------------------------------------

LOW = (R.standard_normal((20, 4)) @ R.standard_normal((4, 12)))


@pytest.mark.parametrize("shape_t", [False, True])
def test_svd_lowrank_reconstructs_a_low_rank_matrix_as_torch(shape_t, device):
    a = LOW.T if shape_t else LOW
    for L, dev in ((torch, "cpu"), (ember, device)):
        A = L.tensor(a, device=dev) if L is ember else L.tensor(a)
        U, S, V = L.svd_lowrank(A, q=6)
        assert tuple(U.shape) == (a.shape[0], 6) and tuple(S.shape) == (6,) and tuple(V.shape) == (a.shape[1], 6)
        err = np.abs(((U * S) @ V.mT).cpu().numpy() - a).max()
        assert err < 1e-8, (L.__name__, err)


def test_pca_lowrank_shapes_and_reconstruction_as_torch(device):
    for L, dev in ((torch, "cpu"), (ember, device)):
        A = L.tensor(LOW, device=dev) if L is ember else L.tensor(LOW)
        U, S, V = L.pca_lowrank(A)
        assert tuple(U.shape) == (20, 6) and tuple(S.shape) == (6,) and tuple(V.shape) == (12, 6)
        centered = LOW - LOW.mean(0, keepdims=True)
        assert np.abs(((U * S) @ V.mT).cpu().numpy() - centered).max() < 1e-8
        with pytest.raises(ValueError):
            L.pca_lowrank(A, q=13)


# ---- eager cond / while_loop -------------------------------------------------------------------------

@pytest.mark.parametrize("pred", [True, False, 1, 0.0, "tensor-true", "tensor-false"])
def test_cond_runs_one_branch_eagerly_as_torch(pred, device):
    def fn(L, a):
        p = L.tensor(pred == "tensor-true", device=a.device) if isinstance(pred, str) else pred
        return L.cond(p, lambda x: x.sin(), lambda x: x.cos() * 2, (a,))

    if isinstance(pred, str):  # PyTorch compiles a tensor predicate: compare with the branch it runs
        a = ember.tensor(DATA1.array, device=device)
        out = ember.cond(ember.tensor(pred == "tensor-true", device=device), lambda x: x.sin(), lambda x: x.cos() * 2,
                         (a,))
        want = np.sin(DATA1.array) if pred == "tensor-true" else np.cos(DATA1.array) * 2
        np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-7)
        return
    check(fn, [DATA1], None, device)


def test_cond_argument_checks_as_torch(device):
    check(lambda L, a: L.cond(a, lambda: 1, lambda: 2), [DATA1], None, device)
    check(lambda L, a: L.cond("yes", lambda: 1, lambda: 2), [DATA1], None, device)
    check(lambda L, a: L.cond(a[0] > 0, lambda x: x, lambda x: x, (1,)), [DATA1], None, device)
    check(lambda L, a: L.cond(a[0] > 0, 3, lambda x: x, (a,)), [DATA1], None, device)


def test_while_loop_as_torch(device):
    def fn(L, a):
        return L.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2), (L.tensor(0, device=a.device)
                                                                               if L is ember else L.tensor(0), a))

    check(fn, [DATA1], None, device)


def test_while_loop_checks():
    with pytest.raises(RuntimeError, match="Expect cond_fn and body_fn to be callable"):
        ember.while_loop(1, lambda x: (x,), (ember.tensor(1),))
    with pytest.raises(AssertionError, match="can only be of"):
        ember.while_loop(lambda x: x, lambda x: (x,), (1.0,))
    with pytest.raises(RuntimeError, match="cond_fn must return a boolean scalar tensor or a boolean"):
        ember.while_loop(lambda x: 1, lambda x: (x,), (1,))
    with pytest.raises(AssertionError, match="body_fn should return a tuple"):
        ember.while_loop(lambda x: x < 3, lambda x: x + 1, (1,))
    out = ember.while_loop(lambda x: x.sum() < 0, lambda x: (x,), (ember.ones(2),))
    assert isinstance(out, tuple) and out[0].tolist() == [1.0, 1.0]


# ---- small functions --------------------------------------------------------------------------------

def test_detach_and_to_dlpack(device):
    x = ember.ones(3, device=device, requires_grad=True) * 2
    assert ember.detach_(x) is x and not x.requires_grad and x.grad_fn is None
    if device == "cpu":
        t = torch.utils.dlpack.from_dlpack(ember.to_dlpack(ember.arange(3.0)))
        assert t.tolist() == [0.0, 1.0, 2.0]


def test_get_device_module_as_torch():
    assert ember.get_device_module("cpu") is ember.cpu
    assert ember.get_device_module(ember.device("cpu")) is ember.cpu
    assert ember.get_device_module("cuda") is ember.cuda
    for L in (torch, ember):
        with pytest.raises(RuntimeError, match="Invalid value of device '3'"):
            L.get_device_module(3)


DEPRECATED = [("is_autocast_cpu_enabled", ()), ("get_autocast_cpu_dtype", ()), ("get_autocast_gpu_dtype", ()),
              ("set_autocast_cpu_enabled", (False,)), ("set_autocast_cpu_dtype", ("bfloat16",)),
              ("set_autocast_gpu_dtype", ("float16",))]


@pytest.mark.parametrize("name,args", DEPRECATED, ids=[n for n, _ in DEPRECATED])
def test_deprecated_autocast_state_functions_warn_and_agree_as_torch(name, args):
    results = []
    for L in (torch, ember):
        call = [getattr(L, a) if isinstance(a, str) else a for a in args]
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            results.append(getattr(L, name)(*call))
        msgs = [str(x.message).split(" (Triggered")[0] for x in w if x.category is DeprecationWarning]
        results.append(msgs)
    assert str(results[0]).replace("torch.", "") == str(results[2]).replace("ember.", "")
    assert results[1] == results[3]


def test_autocast_state_is_ember_amp_state():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.set_autocast_cpu_enabled(True)
        try:
            assert ember.is_autocast_enabled("cpu") and ember.is_autocast_cpu_enabled()
        finally:
            ember.set_autocast_cpu_enabled(False)
        ember.set_autocast_cpu_dtype(ember.float16)
        try:
            assert ember.get_autocast_dtype("cpu") is ember.float16
        finally:
            ember.set_autocast_cpu_dtype(ember.bfloat16)
    assert ember.is_autocast_cache_enabled() is torch.is_autocast_cache_enabled() is True
    ember.set_autocast_cache_enabled(False)
    assert not ember.is_autocast_cache_enabled()
    ember.set_autocast_cache_enabled(True)
    ember.clear_autocast_cache()
    for L in (torch, ember):
        assert L.autocast_increment_nesting() == 1
        assert L.autocast_decrement_nesting() == 0
    with ember.autocast("cpu"):
        assert ember.autocast_increment_nesting() == 2
        assert ember.autocast_decrement_nesting() == 1


def test_set_flush_denormal_reports_unsupported():
    assert ember.set_flush_denormal(True) is False
    assert ember.set_flush_denormal(False) is False
    tiny = ember.tensor([1e-310], dtype=ember.float64)
    assert tiny.item() != 0.0  # denormals were kept


# ---- Tensor methods -----------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:non-inplace resize")
def test_resize_and_resize_as_warn_and_reshape_as_torch(device):
    def fn(L, a):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = a.resize(2, 9), a.resize_as(L.ones(9, 2)), a.resize(18)
        return out, [str(x.message) for x in w]

    check(fn, [DATA], None, device)
    check(lambda L, a: a.resize(5, 2), [DATA], None, device)
    check(lambda L, a: a.resize_as(L.ones(2)), [DATA], None, device)


def test_set_shares_memory_as_torch(device):
    def fn(L, a):
        base = a.detach().clone()
        t = L.zeros(3, dtype=base.dtype, device=base.device)
        t.set_(base)
        same = t.is_set_to(base), base.is_set_to(t)
        base.mul_(2)
        return same, t, tuple(t.shape), L.zeros(2, dtype=base.dtype, device=base.device).set_().shape

    check(fn, [DATA], None, device)


def test_set_with_geometry_as_torch(device):
    def fn(L, a):
        base = a.detach().clone().reshape(-1)
        t = L.zeros(1, dtype=base.dtype, device=base.device)
        try:
            t.set_(base, 2, (2, 3), (3, 1))
        except RuntimeError as e:  # a backend without as_strided/storage_size kernels
            if L is ember and "kernels" in str(e):
                return None
            raise
        return t.is_set_to(base), t.storage_offset(), t.stride(), t

    if device == "cpu":
        check(fn, [DATA], None, device)


def test_set_errors_as_torch(device):
    check(lambda L, a: L.zeros(3, dtype=L.float32, device=a.device).set_(a.detach()), [DATA1], None, device)
    check(lambda L, a: L.zeros(3, dtype=a.dtype, device=a.device, requires_grad=True).set_(a.detach()), [DATA1], None,
          device)


def test_untyped_storage_and_storage_as_torch(device):
    for L, dev in ((torch, "cpu"), (ember, device)):
        b = L.arange(6.0, device=dev) if L is ember else L.arange(6.0)
        s = b.untyped_storage()
        assert (s.size(), s.nbytes(), s.element_size(), len(s), s.device.type) == (24, 24, 1, 24, dev)
        if device == "cpu":
            assert s.data_ptr() == b.data_ptr()
            view = b[2:]
            assert view.untyped_storage().size() == 24 and view.untyped_storage().data_ptr() == b.data_ptr()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = b.storage()
        assert (t.size(), t.nbytes(), t.element_size(), len(t), str(t.dtype).split(".")[-1]) == (6, 24, 4, 6, "float32")


def test_storage_warns_once():
    import ember.functions.torch_surface as ts

    ts._TYPED_STORAGE_WARNED[0] = False
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        ember.ones(2).storage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.ones(2).storage()


def test_as_subclass_keeps_memory_and_graph():
    for L in (torch, ember):
        class Sub(L.Tensor):
            pass

        x = L.ones(3, requires_grad=True)
        y = (x * 2).as_subclass(Sub)
        assert type(y) is Sub and y.requires_grad
        y.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0, 2.0]
        with pytest.raises(TypeError, match="does not inherit from Tensor"):
            x.as_subclass(int)


def test_record_stream_is_a_no_op_and_chalf_is_refused(device):
    x = ember.ones(2, device=device)
    assert x.record_stream(None) is None
    with pytest.raises(TypeError, match="complex32"):
        x.chalf()
