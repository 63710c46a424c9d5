"""The ``meta`` device against PyTorch's: every expression runs on real PyTorch and on ember, and
the results' shapes, dtypes, strides, storage offsets, devices and autograd flags must agree, or
both must raise the same exception type (with the same message where ember words it as PyTorch).

Covers factories, ``with device("meta")``, ``Module.to("meta")``/``to_empty``, views and their
strides, elementwise ops with broadcasting and dtype promotion, reductions, products,
convolutions, pooling, normalisation, losses, attention, indexing without bound checks,
autograd (``backward`` gives meta gradients), optimizers, printing, and the errors for reading
values (``item``, ``tolist``, ``cpu``, ``numpy``, data-dependent ops).
"""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def _describe(value, lib):
    """What a result is, in library-independent terms."""
    if isinstance(value, lib.Tensor):
        return ("tensor", tuple(value.shape), str(value.dtype).split(".")[-1], tuple(value.stride()),
                value.storage_offset(), value.device.type, value.requires_grad, value.is_meta)
    if isinstance(value, (tuple, list)):
        return tuple(_describe(v, lib) for v in value)
    if isinstance(value, lib.Size):
        return tuple(value)
    return value


def _run(fn, lib):
    try:
        return _describe(fn(lib), lib)
    except Exception as exc:  # noqa: BLE001 - the exception type is the result compared
        return ("raises", type(exc).__name__)


def M(L, *shape, **kw):
    return L.empty(shape, device="meta", **kw)


CASES = {
    # factories
    "empty": lambda L: M(L, 2, 3),
    "empty_int": lambda L: M(L, 2, 3, dtype=L.int64),
    "empty_0d": lambda L: M(L),
    "empty_no_size": lambda L: L.empty(device="meta"),
    "empty_size0": lambda L: M(L, 0, 3),
    "zeros": lambda L: L.zeros(2, 3, device="meta"),
    "ones_bf16": lambda L: L.ones(4, dtype=L.bfloat16, device="meta"),
    "full": lambda L: L.full((2, 2), 7, device="meta"),
    "full_bool": lambda L: L.full((2,), True, device="meta"),
    "arange": lambda L: L.arange(5, device="meta"),
    "arange_float": lambda L: L.arange(0, 1, 0.3, device="meta"),
    "linspace": lambda L: L.linspace(0, 1, 7, device="meta"),
    "eye": lambda L: L.eye(3, 4, device="meta"),
    "tensor": lambda L: L.tensor([[1, 2], [3, 4]], device="meta"),
    "tensor_float": lambda L: L.tensor([1.5], device="meta"),
    "randn": lambda L: L.randn(3, 4, device="meta"),
    "rand_f64": lambda L: L.rand(3, dtype=L.float64, device="meta"),
    "randint": lambda L: L.randint(0, 5, (4,), device="meta"),
    "randperm": lambda L: L.randperm(6, device="meta"),
    "zeros_like": lambda L: L.zeros_like(M(L, 2, 3)),
    "empty_like_t": lambda L: L.empty_like(M(L, 2, 3).t()),
    "new_ones": lambda L: M(L, 2).new_ones(3, 1),
    "to_meta": lambda L: L.ones(2, 3).to("meta"),
    "to_meta_dtype": lambda L: L.ones(2, 3).to("meta", L.float16),
    "device_ctx": lambda L: _in_device_ctx(L),
    "device_object": lambda L: (L.empty(1, device=L.device("meta")).device.type, str(L.device("meta"))),
    # views and strides
    "t": lambda L: M(L, 2, 3).t(),
    "transpose_contig": lambda L: M(L, 2, 3, 4).transpose(0, 2).contiguous(),
    "permute": lambda L: M(L, 2, 3, 4).permute(2, 0, 1),
    "view": lambda L: M(L, 2, 3, 4).view(6, 4),
    "view_bad": lambda L: M(L, 2, 3).t().view(6),
    "reshape_copy": lambda L: M(L, 2, 3).t().reshape(6),
    "reshape_view": lambda L: M(L, 4, 6)[:, :3].reshape(2, 2, 3),
    "flatten": lambda L: M(L, 2, 3, 4).flatten(1),
    "unsqueeze": lambda L: M(L, 2, 3).unsqueeze(1),
    "squeeze": lambda L: M(L, 2, 1, 3).squeeze(),
    "expand": lambda L: M(L, 3, 1).expand(2, 3, 4),
    "slice_step": lambda L: M(L, 10, 4)[1:9:3],
    "select": lambda L: M(L, 5, 4)[2],
    "narrow": lambda L: M(L, 5, 4).narrow(1, 1, 2),
    "chunk": lambda L: M(L, 6, 2).chunk(3),
    "split": lambda L: M(L, 7, 2).split([3, 4]),
    "unbind": lambda L: M(L, 3, 2).unbind(1),
    "diagonal": lambda L: M(L, 3, 4).diagonal(),
    "as_strided": lambda L: M(L, 12).as_strided((3, 2), (4, 1), 2),
    "view_dtype": lambda L: M(L, 2, 4).view(L.int32),
    "view_dtype_narrow": lambda L: M(L, 2, 4).view(L.float16),
    "unfold": lambda L: M(L, 10).unfold(0, 3, 2),
    "movedim": lambda L: M(L, 2, 3, 4).movedim(0, -1),
    "contiguous_flag": lambda L: (M(L, 2, 3).t().is_contiguous(), M(L, 2, 3).is_contiguous()),
    "repeat": lambda L: M(L, 2, 3).repeat(2, 1, 2),
    "tile": lambda L: M(L, 2, 3).tile(2),
    "flip": lambda L: M(L, 2, 3).flip(0),
    "roll": lambda L: M(L, 2, 3).roll(1, 1),
    "cat": lambda L: L.cat([M(L, 2, 3), M(L, 4, 3)]),
    "stack": lambda L: L.stack([M(L, 2, 3), M(L, 2, 3)], 1),
    "pad": lambda L: L.nn.functional.pad(M(L, 2, 3), (1, 2)),
    "tril": lambda L: M(L, 3, 3).tril(),
    # elementwise, promotion, broadcasting
    "add_scalar": lambda L: M(L, 2, 3) + 1,
    "add_broadcast": lambda L: M(L, 2, 1) + M(L, 3),
    "int_plus_float": lambda L: M(L, 3, dtype=L.int64) + 1.5,
    "int_div": lambda L: M(L, 3, dtype=L.int64) / 2,
    "int_floordiv": lambda L: M(L, 3, dtype=L.int64) // M(L, 3, dtype=L.int64),
    "compare": lambda L: M(L, 2, 3) > M(L, 3),
    "where": lambda L: L.where(M(L, 2, 1, dtype=L.bool), M(L, 3), 0.0),
    "clamp": lambda L: M(L, 2, 3).clamp(0, 1),
    "exp_half": lambda L: M(L, 4, dtype=L.float16).exp(),
    "abs_int": lambda L: M(L, 4, dtype=L.int32).abs(),
    "sqrt_int": lambda L: M(L, 4, dtype=L.int32).sqrt(),
    "isnan": lambda L: M(L, 4).isnan(),
    "pow": lambda L: M(L, 2, 3) ** 2,
    "neg_bool": lambda L: -M(L, 2, dtype=L.bool),
    "broadcast_bad": lambda L: M(L, 2, 3) + M(L, 4),
    "to_float16": lambda L: M(L, 2, 3).half(),
    "float_t": lambda L: M(L, 2, 3).t().double(),
    "inplace_add": lambda L: M(L, 2, 3).add_(1),
    "inplace_bad_shape": lambda L: M(L, 3).add_(M(L, 2, 3)),
    "copy_": lambda L: M(L, 2, 3).copy_(M(L, 3)),
    "fill_": lambda L: M(L, 2, 3).fill_(2),
    "uniform_": lambda L: M(L, 2, 3).uniform_(),
    "normal_": lambda L: M(L, 2, 3).normal_(0, 2),
    "mixed_device": lambda L: M(L, 3) + L.ones(3),
    # reductions, scans, sorting
    "sum": lambda L: M(L, 2, 3).sum(),
    "sum_dim": lambda L: M(L, 2, 3, 4).sum((0, 2), keepdim=True),
    "sum_int": lambda L: M(L, 2, 3, dtype=L.int32).sum(1),
    "mean": lambda L: M(L, 2, 3).mean(-1),
    "mean_int": lambda L: M(L, 2, dtype=L.int64).mean(),
    "var": lambda L: M(L, 2, 3).var(0),
    "max_dim": lambda L: M(L, 2, 3).max(1),
    "argmax": lambda L: M(L, 2, 3).argmax(),
    "argmax_dim": lambda L: M(L, 2, 3).argmax(0, keepdim=True),
    "any": lambda L: M(L, 2, 3).any(1),
    "prod": lambda L: M(L, 2, 3).prod(0),
    "cumsum": lambda L: M(L, 2, 3).cumsum(1),
    "cumsum_int": lambda L: M(L, 2, 3, dtype=L.int32).cumsum(1),
    "sort": lambda L: M(L, 2, 3).sort(1),
    "topk": lambda L: M(L, 2, 5).topk(2),
    "norm": lambda L: M(L, 2, 3).norm(),
    "softmax": lambda L: M(L, 2, 3).softmax(-1),
    "log_softmax": lambda L: M(L, 2, 3).log_softmax(0),
    "logsumexp": lambda L: M(L, 2, 3).logsumexp(1),
    # products and layers
    "mm": lambda L: M(L, 2, 3) @ M(L, 3, 5),
    "mv": lambda L: M(L, 2, 3) @ M(L, 3),
    "vm": lambda L: M(L, 3) @ M(L, 3, 4),
    "dot": lambda L: M(L, 3) @ M(L, 3),
    "bmm_broadcast": lambda L: M(L, 2, 1, 3, 4) @ M(L, 5, 4, 6),
    "mm_bad": lambda L: M(L, 2, 3) @ M(L, 4, 5),
    "einsum": lambda L: L.einsum("bij,bjk->bik", M(L, 2, 3, 4), M(L, 2, 4, 5)),
    "linear": lambda L: L.nn.functional.linear(M(L, 5, 3), M(L, 4, 3), M(L, 4)),
    "conv2d": lambda L: L.nn.functional.conv2d(M(L, 2, 3, 9, 9), M(L, 4, 3, 3, 3), stride=2, padding=1),
    "conv2d_bad_channels": lambda L: L.nn.functional.conv2d(M(L, 2, 3, 9, 9), M(L, 4, 2, 3, 3)),
    "conv1d": lambda L: L.nn.functional.conv1d(M(L, 2, 3, 9), M(L, 4, 3, 3)),
    "conv_transpose2d": lambda L: L.nn.functional.conv_transpose2d(M(L, 2, 3, 5, 5), M(L, 3, 4, 3, 3), stride=2),
    "max_pool2d": lambda L: L.nn.functional.max_pool2d(M(L, 2, 3, 8, 8), 2),
    "avg_pool2d": lambda L: L.nn.functional.avg_pool2d(M(L, 2, 3, 8, 8), 3, 2),
    "adaptive_avg_pool2d": lambda L: L.nn.functional.adaptive_avg_pool2d(M(L, 2, 3, 8, 8), 1),
    "batch_norm": lambda L: L.nn.functional.batch_norm(M(L, 4, 3, 5), M(L, 3), M(L, 3), training=True),
    "layer_norm": lambda L: L.nn.functional.layer_norm(M(L, 4, 6), (6,)),
    "group_norm": lambda L: L.nn.functional.group_norm(M(L, 4, 6, 3), 3),
    "gelu": lambda L: L.nn.functional.gelu(M(L, 4, 6)),
    "dropout": lambda L: L.nn.functional.dropout(M(L, 4, 6), 0.5),
    "embedding": lambda L: L.nn.functional.embedding(M(L, 2, 3, dtype=L.int64), M(L, 10, 4)),
    "cross_entropy": lambda L: L.nn.functional.cross_entropy(M(L, 4, 5), M(L, 4, dtype=L.int64)),
    "cross_entropy_none": lambda L: L.nn.functional.cross_entropy(M(L, 4, 5), M(L, 4, dtype=L.int64),
                                                                  reduction="none"),
    "mse": lambda L: L.nn.functional.mse_loss(M(L, 4, 5), M(L, 4, 5)),
    "sdpa": lambda L: L.nn.functional.scaled_dot_product_attention(M(L, 2, 4, 8, 16), M(L, 2, 4, 8, 16),
                                                                   M(L, 2, 4, 8, 16), is_causal=True),
    "interpolate": lambda L: L.nn.functional.interpolate(M(L, 1, 2, 4, 4), scale_factor=2),
    "one_hot_meta": lambda L: L.nn.functional.one_hot(M(L, 3, dtype=L.int64), 5),
    # indexing (no bound checks on meta)
    "index_tensor": lambda L: M(L, 3, 4)[L.tensor([5, 0], device="meta")],
    "index_two": lambda L: M(L, 3, 4)[L.tensor([1], device="meta"), L.tensor([7, 2], device="meta")],
    "index_select": lambda L: M(L, 3, 4).index_select(1, L.tensor([9, 1, 1], device="meta")),
    "gather": lambda L: M(L, 3, 4).gather(1, M(L, 3, 2, dtype=L.int64)),
    "scatter_add": lambda L: M(L, 3, 4).scatter_add(0, M(L, 2, 4, dtype=L.int64), M(L, 2, 4)),
    "setitem": lambda L: _setitem(L),
    "index_put_bool_mask": lambda L: M(L, 3, 4)[M(L, 3, 4, dtype=L.bool)],
    # values cannot be read
    "item": lambda L: M(L).item(),
    "item_many": lambda L: M(L, 2).item(),
    "bool": lambda L: bool(M(L)),
    "float": lambda L: float(M(L)),
    "tolist": lambda L: M(L, 2).tolist(),
    "cpu": lambda L: M(L, 2).cpu(),
    "to_cpu": lambda L: M(L, 2).to("cpu"),
    "numpy": lambda L: M(L, 2).numpy(),
    "nonzero": lambda L: M(L, 2).nonzero(),
    "masked_select": lambda L: M(L, 2).masked_select(M(L, 2, dtype=L.bool)),
    "data_ptr": lambda L: M(L, 2).data_ptr(),
    # autograd and modules
    "grad_fn_name": lambda L: (M(L, 2, 3, requires_grad=True) * 2).sum().grad_fn.name(),
    "backward": lambda L: _backward(L),
    "linear_module": lambda L: _params(L.nn.Linear(3, 4, device="meta")),
    "module_to_meta": lambda L: _params(L.nn.Conv2d(3, 4, 3).to("meta")),
    "module_to_empty": lambda L: _params(L.nn.Linear(3, 4, device="meta").to_empty(device="cpu")),
    "module_ctx": lambda L: _module_ctx(L),
    "module_forward": lambda L: _forward(L),
    "module_forward_mixed": lambda L: L.nn.Linear(3, 4, device="meta")(L.ones(2, 3)),
    "module_meta_to_cpu": lambda L: L.nn.Linear(3, 4, device="meta").to("cpu"),
    "optimizer_step": lambda L: _optimizer_step(L),
    "deepcopy": lambda L: copy.deepcopy(M(L, 2, 3)),
    "deepcopy_module": lambda L: _params(copy.deepcopy(L.nn.Linear(2, 3, device="meta"))),
    "state_dict_load": lambda L: _load_into_meta(L),
    "is_meta_cpu": lambda L: L.ones(2).is_meta,
}


def _in_device_ctx(L):
    with L.device("meta"):
        made = (L.ones(2), L.arange(3), L.zeros(2, 2))
    return made + (L.ones(2),)


def _setitem(L):
    x = M(L, 3, 4)
    x[0] = 1.0
    x[:, 1] = M(L, 3)
    x[L.tensor([7], device="meta")] = 2.0
    return x


def _backward(L):
    w = M(L, 3, 4, requires_grad=True)
    x = M(L, 5, 3)
    loss = (x @ w).relu().mean()
    loss.backward()
    return loss, w.grad


def _params(module):
    return [p for p in module.parameters()]


def _module_ctx(L):
    with L.device("meta"):
        net = L.nn.Sequential(L.nn.Linear(8, 16), L.nn.LayerNorm(16), L.nn.Embedding(10, 4), L.nn.BatchNorm1d(3))
    return _params(net) + list(net.buffers())


def _forward(L):
    net = L.nn.Sequential(L.nn.Conv2d(3, 8, 3, padding=1), L.nn.BatchNorm2d(8), L.nn.ReLU(), L.nn.MaxPool2d(2),
                          L.nn.Flatten(), L.nn.Linear(8 * 4 * 4, 10)).to("meta")
    out = net(M(L, 2, 3, 8, 8))
    out.sum().backward()
    return out, [p.grad for p in net.parameters()]


def _optimizer_step(L):
    net = L.nn.Linear(3, 2, device="meta")
    opt = L.optim.Adam(net.parameters(), lr=0.1)
    net(M(L, 4, 3)).sum().backward()
    opt.step()
    return _params(net) + [opt.state[net.weight]["exp_avg"]]


def _load_into_meta(L):
    net = L.nn.Linear(3, 2, device="meta")
    result = net.load_state_dict(L.nn.Linear(3, 2).state_dict(), assign=True)
    return _params(net), tuple(result.missing_keys)


#: results whose strides differ from PyTorch's on every ember device (``empty_like`` and ``clone``
#: make C-order results where PyTorch preserves the input's layout, ``topk``
#: returns a slice of the sorted tensor): on meta they must have ember's cpu strides instead
_LAYOUT_DIFFERS = {"empty_like_t", "topk"}


def _strip_strides(desc):
    if isinstance(desc, tuple) and desc and desc[0] == "tensor":
        return desc[:3] + desc[4:]
    if isinstance(desc, tuple):
        return tuple(_strip_strides(d) for d in desc)
    return desc


def _on_cpu(fn):
    """``fn`` with every meta device replaced by the cpu (to compare layouts with ember's cpu)."""
    def cpu_fn(L):
        real_empty = L.empty
        L.empty = lambda *a, device=None, **k: real_empty(*a, **k)
        try:
            return fn(L)
        finally:
            L.empty = real_empty
    return cpu_fn


@pytest.mark.parametrize("name", sorted(CASES))
def test_meta_matches_pytorch(name):
    fn = CASES[name]
    expected, got = _run(fn, torch), _run(fn, ember)
    if name in _LAYOUT_DIFFERS:
        assert _strip_strides(got) == _strip_strides(expected), f"{name}: torch {expected}, ember {got}"
        on_cpu = _run(_on_cpu(fn), ember)
        assert [d[3] for d in (got if isinstance(got[0], tuple) else [got])] == \
            [d[3] for d in (on_cpu if isinstance(on_cpu[0], tuple) else [on_cpu])]
        return
    assert got == expected, f"{name}: torch {expected}, ember {got}"


REPRS = {
    "plain": lambda L: M(L, 3, 4),
    "int": lambda L: M(L, 2, dtype=L.int64),
    "bool": lambda L: M(L, 2, dtype=L.bool),
    "empty": lambda L: M(L, 0),
    "scalar": lambda L: M(L),
    "grad": lambda L: M(L, 2, requires_grad=True),
    "grad_fn": lambda L: M(L, 2, requires_grad=True) * 2,
    "parameter": lambda L: L.nn.Parameter(M(L, 2, 2)),
}


@pytest.mark.parametrize("name", sorted(REPRS))
def test_meta_repr_matches_pytorch(name):
    expected = repr(REPRS[name](torch)).replace("torch.", "")
    got = repr(REPRS[name](ember)).replace("ember.", "")
    assert got == expected


def test_meta_errors_word_as_pytorch():
    for fn in (lambda L: M(L, 2).cpu(), lambda L: M(L, 2).tolist(), lambda L: M(L).item(),
               lambda L: M(L, 2).numpy()):
        with pytest.raises(Exception) as want:
            fn(torch)
        with pytest.raises(type(want.value)) as got:
            fn(ember)
        assert str(got.value) == str(want.value).split("\n")[0] or str(want.value).startswith(str(got.value))


def test_meta_is_no_test_device_and_allocates_nothing():
    assert "meta" not in ember.plugins.device_types()
    assert all(row.device_type != "meta" for row in ember.plugins.report())
    import tracemalloc

    tracemalloc.start()
    try:
        with ember.device("meta"):
            net = ember.nn.Linear(8192, 8192)  # 256 MiB of float32 on a real device
            ember.nn.init.trunc_normal_(net.weight, std=0.02)
            y = net.weight @ net.weight.t() + 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert tuple(y.shape) == (8192, 8192) and y.is_meta
    assert peak < 16 << 20, peak


def test_ensembling_tutorial_meta_base_model():
    """PyTorch's model-ensembling tutorial: a meta copy of one model gives the structure that
    ``functional_call`` fills with the stacked parameters of several, under ``vmap``."""
    import numpy as np

    def build(L):
        return L.nn.Sequential(L.nn.Flatten(), L.nn.Linear(20, 16), L.nn.ReLU(), L.nn.Linear(16, 5))

    torch.manual_seed(0)
    t_models = [build(torch) for _ in range(3)]
    e_models = [build(ember) for _ in range(3)]
    for t_m, e_m in zip(t_models, e_models):
        e_m.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_m.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 8, 4, 5)).astype(np.float32)

    def ensemble(L, models):
        params, buffers = L.func.stack_module_state(models)
        base = copy.deepcopy(models[0]).to("meta")
        assert all(p.is_meta for p in base.parameters())
        return L.func.vmap(lambda p, b, xb: L.func.functional_call(base, (p, b), (xb,)))(params, buffers, L.tensor(x))

    want, got = ensemble(torch, t_models), ensemble(ember, e_models)
    assert got.device.type == "cpu" and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_materialize_after_meta_init():
    """Build on meta, then ``to_empty`` + ``reset_parameters`` (or ``load_state_dict(assign=True)``)."""
    with ember.device("meta"):
        net = ember.nn.Sequential(ember.nn.Linear(10, 20), ember.nn.LayerNorm(20), ember.nn.Linear(20, 3))
    assert ember.get_default_device().type == "cpu"  # the block restored the default
    net.to_empty(device="cpu")
    for m in net.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    assert all(p.device.type == "cpu" for p in net.parameters())
    assert float(net[1].weight.sum()) == 20.0  # LayerNorm's reset puts ones there
    source = ember.nn.Linear(4, 2)
    with ember.device("meta"):
        target = ember.nn.Linear(4, 2)
    target.load_state_dict(source.state_dict(), assign=True)
    x = ember.randn(3, 4)
    assert target.weight.device.type == "cpu" and ember.equal(target(x), source(x))


@pytest.mark.parametrize("writer, reader", [("ember", "ember"), ("ember", "torch"), ("torch", "ember"),
                                            ("ember-legacy", "torch"), ("torch-legacy", "ember")])
def test_meta_tensors_save_and_load_without_data(tmp_path, writer, reader):
    """PyTorch saves a meta tensor as its geometry alone and loads it back on meta (whatever
    ``map_location`` says); files go both ways between ember and PyTorch."""
    lib_w = torch if writer.startswith("torch") else ember
    legacy = writer.endswith("legacy")
    obj = {"w": lib_w.empty((3, 4), device="meta").t(),
           "p": lib_w.nn.Parameter(lib_w.empty((2,), device="meta", dtype=lib_w.float16)),
           "g": lib_w.empty((2, 2), device="meta", requires_grad=True),
           "x": lib_w.ones(2)}
    path = tmp_path / "m.pt"
    lib_w.save(obj, path, _use_new_zipfile_serialization=not legacy)
    lib_r = torch if reader == "torch" else ember
    got = lib_r.load(path, map_location="cpu", weights_only=True)
    want = {k: _describe(v, lib_w) for k, v in obj.items()}
    assert {k: _describe(v, lib_r) for k, v in got.items()} == want
    assert [type(got[k]).__name__ for k in ("w", "p")] == ["Tensor", "Parameter"]
