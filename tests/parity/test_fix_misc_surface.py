"""Behaviour of the small torch.* surface (ember.functions.misc, ember.functions.torch_nn) that the
parity table cannot express: global switches, warnings, the exported in-place forms, legacy
``Tensor.new``, anomaly detection, ``set_default_device``. Expected values come from PyTorch."""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _np(t):
    return np.asarray(t.detach().cpu().tolist() if hasattr(t, "detach") else t)


@pytest.mark.parametrize("name", ["exp_", "sin_", "abs_", "neg_", "negative_", "clamp_", "relu_", "sigmoid_",
                                  "fix_", "index_put_", "fill_", "zero_", "clamp_min_", "addmv_", "ldexp_"])
def test_exported_inplace_forms_exist_as_in_pytorch(name):
    assert hasattr(torch, name)
    assert callable(getattr(ember, name))
    assert name in ember.__all__


def test_exported_inplace_is_the_tensor_method_and_writes_through(device):
    x = ember.tensor([0.5, -1.0], device=device)
    out = ember.exp_(x)
    assert out is x
    ref = torch.tensor([0.5, -1.0]).exp_()
    np.testing.assert_allclose(_np(x), _np(ref), rtol=1e-6)
    assert ember.exp_ is ember.Tensor.exp_
    assert not hasattr(ember, "absolute_") and not hasattr(torch, "absolute_")


def test_inplace_comparison_keeps_dtype(device):
    for dt, tdt in ((ember.float32, torch.float32), (ember.int64, torch.int64)):
        x = ember.tensor([1, 2, 3], dtype=dt, device=device)
        t = torch.tensor([1, 2, 3], dtype=tdt)
        x.lt_(2)
        t.lt_(2)
        assert str(x.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert _np(x).tolist() == _np(t).tolist()


def test_range_is_inclusive_and_warns(device):
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        got = ember.range(1, 4, 0.5, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.range(1, 4, 0.5)
    assert str(got.dtype) == "ember.float32" and ref.dtype == torch.float32
    np.testing.assert_allclose(_np(got), _np(ref))


def test_chain_matmul_warns():
    a = ember.ones(2, 3)
    with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        ember.chain_matmul(a, ember.ones(3, 2))


def test_frexp_is_a_named_pair(device):
    x = [8.0, -0.3, 0.0, 1e-30]
    m, e = ember.frexp(ember.tensor(x, device=device))
    rm, re = torch.frexp(torch.tensor(x))
    np.testing.assert_allclose(_np(m), _np(rm), rtol=1e-6)
    assert _np(e).tolist() == _np(re).tolist() and str(e.dtype) == "ember.int32"
    assert ember.frexp(ember.tensor(x, device=device)).exponent is not None


def test_legacy_new(device):
    x = ember.ones(2, dtype=ember.float64, device=device)
    t = torch.ones(2, dtype=torch.float64)
    assert tuple(x.new().shape) == tuple(t.new().shape) == (0,)
    assert tuple(x.new(2, 3).shape) == tuple(t.new(2, 3).shape)
    assert x.new(2, 3).dtype == ember.float64 and x.new(2, 3).device == x.device
    assert _np(x.new([1, 2])).tolist() == t.new([1, 2]).tolist()
    assert x.new([1, 2]).dtype == ember.float64


def test_predicates_match():
    for data in ([1.0], [0.0], [3]):
        assert ember.is_nonzero(ember.tensor(data)) == torch.is_nonzero(torch.tensor(data))
    for d, td in ((ember.float32, torch.float32), (ember.int32, torch.int32), (ember.bool, torch.bool),
                  (ember.uint8, torch.uint8)):
        assert ember.ones(1, dtype=d).is_signed() == torch.ones(1, dtype=td).is_signed()
        assert ember.is_complex(ember.ones(1, dtype=d)) == torch.is_complex(torch.ones(1, dtype=td))
    pairs = [(ember.float32, ember.int32, torch.float32, torch.int32), (ember.int32, ember.float32, torch.int32,
             torch.float32), (ember.int64, ember.bool, torch.int64, torch.bool),
             (ember.bool, ember.uint8, torch.bool, torch.uint8), (ember.float64, ember.float16, torch.float64,
                                                                    torch.float16)]
    for a, b, ta, tb in pairs:
        assert ember.can_cast(a, b) == torch.can_cast(ta, tb)
    # ember's tensor type names say ember where PyTorch's say torch (as Tensor.type())
    assert ember.typename(ember.ones(2)).replace("ember.", "torch.") == torch.typename(torch.ones(2))
    assert ember.typename(1) == torch.typename(1)
    x = ember.ones(2)
    assert ember.conj(x) is x and ember.resolve_neg(x) is x and ember.real(x) is x
    assert not ember.is_conj(x) and not ember.is_neg(x) and not ember.is_inference(x)


def test_pin_memory_without_accelerator_raises_as_pytorch(monkeypatch):
    # with one (opencl, cuda) it pins, as PyTorch with CUDA: tests/parity/test_fix_nanogpt.py
    monkeypatch.setattr(ember.accelerator, "is_available", lambda: False)
    with pytest.raises(RuntimeError) as ours:
        ember.ones(2).pin_memory()
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(2).pin_memory()
    assert str(ours.value) == str(theirs.value)
    assert ember.ones(2).is_pinned() == torch.ones(2).is_pinned()


def test_global_switches_round_trip():
    assert ember.are_deterministic_algorithms_enabled() is False
    ember.use_deterministic_algorithms(True, warn_only=True)
    try:
        assert ember.are_deterministic_algorithms_enabled() and ember.is_deterministic_algorithms_warn_only_enabled()
        assert ember.get_deterministic_debug_mode() == 1
    finally:
        ember.use_deterministic_algorithms(False)
    assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    ember.set_float32_matmul_precision("high")
    try:
        assert ember.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="is not one of"):
            ember.set_float32_matmul_precision("bogus")
        assert ember.get_float32_matmul_precision() == "high"
    finally:
        ember.set_float32_matmul_precision("highest")
    ember.set_warn_always(True)
    assert ember.is_warn_always_enabled()
    ember.set_warn_always(False)
    assert not ember.is_inference_mode_enabled()
    with ember.inference_mode():
        assert ember.is_inference_mode_enabled()


def test_set_default_device(device):
    assert ember.get_default_device() == ember.device("cpu")
    ember.set_default_device(device)
    try:
        for t in (ember.zeros(2), ember.tensor([1.0]), ember.arange(3), ember.hann_window(4)):
            assert t.device == ember.get_default_device()
        assert ember.zeros(2, device="cpu").device.type == "cpu"
    finally:
        ember.set_default_device(None)
    assert ember.zeros(1).device.type == "cpu"


def test_detect_anomaly_names_the_node(device):
    def run(lib, dev):
        x = lib.tensor([0.0, 1.0], requires_grad=True, device=dev)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly():
                (x.sqrt() * lib.tensor([0.0, 1.0], device=dev)).sum().backward()

    with pytest.raises(RuntimeError) as ours:
        run(ember, device)
    with pytest.raises(RuntimeError) as theirs:
        run(torch, "cpu")
    assert str(ours.value) == str(theirs.value)
    assert not ember.is_anomaly_enabled()
    with ember.autograd.set_detect_anomaly(True):
        assert ember.is_anomaly_enabled() and ember.is_anomaly_check_nan_enabled()
    assert not ember.is_anomaly_enabled()


def test_fill_diagonal_wrap_and_sum_to_size(device):
    e = ember.zeros(7, 3, device=device).fill_diagonal_(5.0, wrap=True)
    t = torch.zeros(7, 3).fill_diagonal_(5.0, wrap=True)
    assert _np(e).tolist() == t.tolist()


def test_scatter_gradients(device):
    def run(lib, dev):
        x = lib.ones(3, 3, device=dev, requires_grad=True)
        s = lib.full((3,), 2.0, device=dev, requires_grad=True)
        w = lib.arange(9.0, device=dev).reshape(3, 3)
        (lib.diagonal_scatter(x, s) * w).sum().backward()
        return x.grad, s.grad

    for ours, theirs in zip(run(ember, device), run(torch, "cpu")):
        assert _np(ours).tolist() == theirs.tolist()


def test_torch_nn_top_level_forms_are_the_functional_ones():
    import ember.nn.functional as F

    assert ember.pixel_shuffle is F.pixel_shuffle and ember.channel_shuffle is F.channel_shuffle
    from ember._ops.registry import OPS

    assert ember.Tensor.hardshrink is OPS["hardshrink"].plain  # (ember.hardshrink adds PyTorch's out=)
    out = ember.adaptive_max_pool1d(ember.randn(1, 2, 6), 3)
    assert isinstance(out, tuple) and len(out) == 2


def test_set_default_tensor_type_and_frobenius_norm_warn():
    before = ember.get_default_dtype()
    with pytest.warns(UserWarning, match="set_default_tensor_type"):
        ember.set_default_tensor_type("torch.DoubleTensor")
    try:
        assert ember.get_default_dtype() == ember.float64
    finally:
        ember.set_default_dtype(before)
    with pytest.warns(UserWarning, match="frobenius_norm is deprecated"):
        got = ember.frobenius_norm(ember.ones(2, 3), [0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.frobenius_norm(torch.ones(2, 3), [0, 1])
    np.testing.assert_allclose(_np(got), _np(ref), rtol=1e-6)


def test_resize_keeps_leading_elements(device):
    x = ember.arange(6.0, device=device)
    t = torch.arange(6.0)
    assert _np(x.resize_(2, 2)).tolist() == t.resize_(2, 2).tolist()
    y = ember.arange(3.0, device=device).resize_as_(ember.ones(2, 3))
    assert tuple(y.shape) == (2, 3) and _np(y[0]).tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("size, arg", [((2, 3, 4), (0, 2, 1)), ((2, 3), (1, 0)), ((4,), (0,))])
def test_empty_permuted_layout(device, size, arg):
    e = ember.empty_permuted(size, arg, device=device)
    t = torch.empty_permuted(size, arg)
    assert tuple(e.shape) == tuple(t.shape)
    assert e.dim_order() == t.dim_order()


@pytest.mark.parametrize("size, stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 1, 3), (3, 7, 1))])
def test_empty_strided_dense_layouts(device, size, stride):
    e = ember.empty_strided(size, stride, device=device)
    t = torch.empty_strided(size, stride)
    assert tuple(e.shape) == tuple(t.shape) and e.dim_order() == t.dim_order()
    assert tuple(ember.ones(1, device=device).new_empty_strided(size, stride).shape) == size


def test_empty_permuted_errors():
    for args in (((2, 3), (0, 0)), ((2, 3), (0,))):
        with pytest.raises(RuntimeError) as ours:
            ember.empty_permuted(*args)
        with pytest.raises(RuntimeError) as theirs:
            torch.empty_permuted(*args)
        assert str(ours.value) == str(theirs.value)


def test_real_imag_properties(device):
    x = ember.ones(2, device=device)
    t = torch.ones(2)
    assert (x.real is x) == (t.real is t)
    with pytest.raises(RuntimeError) as ours:
        getattr(x, "imag")  # noqa: B009 - the property access is the test
    with pytest.raises(RuntimeError) as theirs:
        getattr(t, "imag")  # noqa: B009
    assert str(ours.value) == str(theirs.value)


def test_stacks_write_out(device):
    out = ember.empty(0, device=device)
    ember.column_stack([ember.ones(2, device=device), ember.zeros(2, device=device)], out=out)
    ref = torch.column_stack([torch.ones(2), torch.zeros(2)])
    assert _np(out).tolist() == ref.tolist()


@pytest.mark.parametrize("grad", [False, True])
def test_stack_without_a_graph_matches_pytorch(device, grad):
    """``stack`` skips autograd's per-tensor unsqueeze when nothing is recorded (a DataLoader's
    collate); values, the promoted dtype and the graph must be PyTorch's either way, for views too."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((4, 3)).astype(np.float32)
    other = rng.standard_normal((3, 4)).astype(np.float64)
    row = rng.standard_normal((1, 4)).astype(np.float32)
    for dim in (0, 1, 2, -1):
        outs = []
        for lib in (torch, ember):
            kw = {} if lib is torch else {"device": device}
            leaf = lib.tensor(base, requires_grad=grad, **kw)
            parts = [leaf.T, lib.tensor(other, **kw)[:, :], lib.tensor(row, **kw).expand(3, 4)]
            out = lib.stack(parts, dim)
            outs.append(out)
            if grad:
                out.sum().backward()
                assert type(out.grad_fn).__name__ == "StackBackward0"
                np.testing.assert_array_equal(_np(leaf.grad), np.ones((4, 3), np.float32))
            else:
                assert out.grad_fn is None
        assert str(outs[1].dtype).split(".")[-1] == str(outs[0].dtype).split(".")[-1]
        np.testing.assert_allclose(_np(outs[1].detach()), outs[0].detach().numpy(), rtol=1e-6)
