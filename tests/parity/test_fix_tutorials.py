"""Gaps found by running PyTorch's intermediate tutorials against ember, each checked against real
PyTorch for the mechanism in general (not the tutorial itself).

- spatial transformer: ``linspace`` (float32) and ``affine_grid`` give PyTorch's exact values, so a
  grid that lands exactly on pixels (the identity transform every STN starts from) lands there in
  ember too and the one-sided bilinear gradient agrees; ``grid_sample`` clips border/reflection
  coordinates with PyTorch's gradient (0 at and beyond the borders).
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

R = np.random.default_rng(11)


def _np(t):
    return t.detach().cpu().numpy()


# ---- linspace / affine_grid: exact values ----------------------------------------------------
@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (-3.3, 7.1), (0.0, 1.0), (5.0, -2.5)])
def test_linspace_float32_bit_exact(device, bounds):
    start, end = bounds
    for n in list(range(1, 70)) + [100, 255, 1000]:
        want = torch.linspace(start, end, n).numpy()
        got = _np(ember.linspace(start, end, n, device=device))
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=f"n={n}")


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 28, 28), (1, 1, 5, 4), (3, 2, 7, 33), (1, 1, 1, 6)])
def test_affine_grid_identity_bit_exact(device, align_corners, size):
    theta = np.tile(np.eye(2, 3, dtype=np.float32), (size[0], 1, 1))
    want = torch.nn.functional.affine_grid(torch.tensor(theta), size, align_corners=align_corners).numpy()
    got = _np(ember.nn.functional.affine_grid(ember.tensor(theta, device=device), size,
                                                align_corners=align_corners))
    np.testing.assert_array_equal(got, want)


# ---- grid_sample: gradients where samples hit pixels exactly, and at the borders ---------------
def _sample_grads(lib, x, theta, size, dev, mode, padding_mode, align_corners, upstream):
    kw = {} if lib is torch else {"device": dev}
    X = lib.tensor(x, requires_grad=True, **kw)
    T = lib.tensor(theta, requires_grad=True, **kw)
    grid = lib.nn.functional.affine_grid(T, size, align_corners=align_corners)
    grid.retain_grad()
    y = lib.nn.functional.grid_sample(X, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    (y * lib.tensor(upstream, **kw)).sum().backward()
    return [_np(t) for t in (y, X.grad, grid.grad, T.grad)]


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("hw", [(28, 28), (5, 4), (7, 6)])
def test_grid_sample_identity_transform_gradients(device, padding_mode, align_corners, mode, hw):
    """The identity transform samples exactly at pixel centres: the gradient there is one-sided, so it
    only agrees with PyTorch when every coordinate is bit-identical."""
    size = (2, 3, *hw)
    x = R.standard_normal(size).astype(np.float32)
    theta = np.tile(np.eye(2, 3, dtype=np.float32), (2, 1, 1))
    up = R.standard_normal(size).astype(np.float32)
    want = _sample_grads(torch, x, theta, size, None, mode, padding_mode, align_corners, up)
    got = _sample_grads(ember, x, theta, size, device, mode, padding_mode, align_corners, up)
    for name, g, w in zip(["out", "d_input", "d_grid", "d_theta"], got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(w).max())), err_msg=name)


@pytest.mark.parametrize("padding_mode", ["border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grid_sample_border_gradient_is_zero_on_and_past_edges(device, padding_mode, align_corners, dtype):
    # grid points exactly on the edges, past them, and inside, in 2-D and 3-D
    for spatial in [(4, 5), (3, 4, 5)]:
        d = len(spatial)
        x = R.standard_normal((1, 2, *spatial)).astype(dtype)
        vals = np.array([-1.5, -1.0, -0.6, 0.0, 0.3, 1.0, 1.25], dtype)
        grid = np.stack(np.meshgrid(*([vals] * d), indexing="ij"), -1).reshape(1, *([len(vals)] * d), d)
        grid = grid.astype(dtype)
        out = {}
        for lib in (torch, ember):
            kw = {} if lib is torch else {"device": device}
            X = lib.tensor(x, requires_grad=True, **kw)
            G = lib.tensor(grid, requires_grad=True, **kw)
            y = lib.nn.functional.grid_sample(X, G, padding_mode=padding_mode, align_corners=align_corners)
            y.sum().backward()
            out[lib] = [_np(t) for t in (y, X.grad, G.grad)]
        for g, w in zip(out[ember], out[torch]):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


# ---- grad_fn.next_functions: PyTorch's (node, output_nr) pairs, (None, 0) for no gradient ---------
def _walk(roots):
    """What torchviz.make_dot does: unpack every next_functions entry, collect node names."""
    seen, names = set(), []

    def visit(fn):
        if fn is None or id(fn) in seen:
            return
        seen.add(id(fn))
        names.append(type(fn).__name__)
        for nxt, nr in fn.next_functions:
            assert isinstance(nr, int)
            visit(nxt)

    for r in roots:
        visit(r.grad_fn)
    return sorted(names)


def _graphs(lib, dev):
    kw = {} if lib is torch else {"device": dev}

    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, factor, other):
            ctx.factor = factor
            return x * factor + other

        @staticmethod
        def backward(ctx, g):
            return g * ctx.factor, None, g

    x = lib.tensor([1.0, 2.0], requires_grad=True, **kw)
    c = lib.tensor([3.0, 4.0], **kw)
    y = (x * 2 + c).exp()
    z = Scale.apply(x, 3.0, c)                       # a non-tensor argument and an input without grad
    w = lib.where(c > 3, x, 1.0).sum()
    g, = lib.autograd.grad(y.sum(), x, create_graph=True)
    return [[y], [z], [w], [g, x, y]]


def test_next_functions_are_pairs_with_none_edges(device):
    for mine, ref in zip(_graphs(ember, device), _graphs(torch, None)):
        assert _walk(mine) == _walk(ref)
    x = ember.tensor([1.0, 2.0], requires_grad=True, device=device)
    c = ember.tensor([3.0, 4.0], device=device)
    fns = (x * c).grad_fn.next_functions
    assert fns[1] == (None, 0) and type(fns[0][0]).__name__ == "AccumulateGrad" and fns[0][1] == 0


# ---- grad_fn names the tutorials print --------------------------------------------------------
_INDEXES = [(0, 1), 0, -1, (slice(None), 1), (Ellipsis, 0), (0, slice(0, 2)), slice(None), slice(1, 3), Ellipsis,
            None, (0, None), (None, 0), (slice(None), slice(0, 2)), (slice(0, 2), slice(None)), (1, Ellipsis, None),
            (slice(1, None, 2),), (0, 1, 2), (slice(0, 4),), (Ellipsis, slice(0, 3)), (Ellipsis, slice(0, 2)),
            (None, Ellipsis), (slice(None), None, slice(None)), (slice(0, 10),)]


@pytest.mark.parametrize("index", _INDEXES, ids=[repr(i) for i in _INDEXES])
def test_basic_indexing_grad_fn_name(device, index):
    x = R.random((4, 5, 3)).astype(np.float32)
    want = (torch.tensor(x, requires_grad=True) * 1)[index].grad_fn.name()
    got = (ember.tensor(x, requires_grad=True, device=device) * 1)[index]
    assert got.grad_fn.name() == want
    # the renamed node still differentiates like the view it is
    g = R.random(tuple(got.shape)).astype(np.float32)
    xe = ember.tensor(x, requires_grad=True, device=device)
    xt = torch.tensor(x, requires_grad=True)
    xe[index].backward(ember.tensor(g, device=device))
    xt[index].backward(torch.tensor(g))
    np.testing.assert_array_equal(_np(xe.grad), xt.grad.numpy())


@pytest.mark.parametrize("p", [2, 1, float("inf"), 3.5])  # p=0: PyTorch's own backward fails
def test_dist_grad_fn_name_and_gradient(device, p):
    a, b = R.random((3, 4)).astype(np.float32), R.random((3, 4)).astype(np.float32)
    out = {}
    for lib in (torch, ember):
        kw = {} if lib is torch else {"device": device}
        ta, tb = lib.tensor(a, requires_grad=True, **kw), lib.tensor(b, requires_grad=True, **kw)
        d = lib.dist(ta, tb, p)
        d.backward()
        out[lib] = (d.grad_fn.name(), _np(d), _np(ta.grad), _np(tb.grad))
    assert out[ember][0] == out[torch][0] == "DistBackward0"
    for g, w in zip(out[ember][1:], out[torch][1:]):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


# ---- torch.func.stack_module_state (ensembling tutorial) -----------------------------------------
def _models(lib, dev, n=3):
    kw = {} if lib is torch else {"device": dev}
    out = []
    for i in range(n):
        m = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 2)).to(**kw)
        with lib.no_grad():
            for j, p in enumerate(m.parameters()):
                p.copy_(lib.tensor(np.full(tuple(p.shape), 0.1 * i + j, np.float32), **kw))
        out.append(m)
    return out


def test_stack_module_state_matches(device):
    (pe, be), (pt, bt) = ember.func.stack_module_state(_models(ember, device)), \
        torch.func.stack_module_state(_models(torch, None))
    assert list(pe) == list(pt) and list(be) == list(bt)
    for k in pt:
        assert pe[k].is_leaf and pe[k].requires_grad == pt[k].requires_grad
        assert pe[k].device.type == device
        np.testing.assert_array_equal(_np(pe[k]), pt[k].detach().numpy())
    for k in bt:
        assert str(be[k].dtype).split(".")[-1] == str(bt[k].dtype).split(".")[-1]
        np.testing.assert_array_equal(_np(be[k]), bt[k].numpy())
    # the stacked leaves are new: a step on them leaves the models alone
    models = _models(ember, device)
    params, _ = ember.func.stack_module_state(models)
    params["0.weight"].sum().backward()
    assert params["0.weight"].grad is not None and models[0][0].weight.grad is None


def _stack_error(lib, dev, case):
    models = _models(lib, dev)
    if case == "empty":
        models = []
    elif case == "mode":
        models[1].eval()
    elif case == "class":
        models[1] = lib.nn.Sequential(lib.nn.Linear(4, 3))
        models[1].__class__ = type("Other", (lib.nn.Sequential,), {})
    elif case == "requires_grad":
        models[2][0].weight.requires_grad_(False)
    try:
        (ember if lib is ember else torch).func.stack_module_state(models)
    except Exception as e:  # noqa: BLE001 - compared below
        return type(e), str(e)
    return None


@pytest.mark.parametrize("case", ["empty", "mode", "class", "requires_grad"])
def test_stack_module_state_errors(device, case):
    assert _stack_error(ember, device, case) == _stack_error(torch, None, case)


# ---- torch.utils.benchmark.Timer (per-sample-grads and ensembling tutorials) ---------------------
def test_benchmark_timer_surface():
    from ember.utils import benchmark as eb
    from torch.utils import benchmark as tb

    counter = {"n": 0}

    def bump():
        counter["n"] += 1

    for B in (eb, tb):
        m = B.Timer("f()", globals={"f": bump}, label="L", sub_label="S", description="D").timeit(7)
        assert m.number_per_run == 7 and len(m.times) == 1 and len(m.raw_times) == 1
        assert m.times[0] > 0 and m.mean == m.median == m.times[0] and m.iqr == 0
        assert "L: S" in repr(m) and "1 measurement, 7 runs" in repr(m)
        m = B.Timer(stmt="x + 1", setup="x = 1").blocked_autorange(min_run_time=0.01)
        assert sum(m.raw_times) >= 0.01 and len(m.times) >= 1 and m.number_per_run >= 1
        assert m.title == "x + 1"
    assert counter["n"] == 2 * 9  # two warm-up runs and seven timed, in both


# ---- torch._dynamo names tutorials import (neural tangent kernels) ----------------------------
def test_dynamo_config_and_reset():
    import warnings

    import ember._dynamo
    import torch._dynamo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch deprecates some of these flags
        for name in ("cache_size_limit", "accumulated_cache_size_limit", "inline_inbuilt_nn_modules",
                     "suppress_errors", "verbose", "capture_scalar_outputs", "automatic_dynamic_shapes",
                     "assume_static_by_default"):
            assert getattr(ember._dynamo.config, name) == getattr(torch._dynamo.config, name), name
    ember._dynamo.config.inline_inbuilt_nn_modules = 1  # settable, as in the tutorial
    f = ember.compile(lambda x: x * 2 + 1)
    assert float(f(ember.tensor(1.0))) == 3.0
    ember._dynamo.reset()
    assert float(f(ember.tensor(2.0))) == 5.0 and not ember._dynamo.is_compiling()


# ---- torch.autograd.graph: saved-tensor hooks (saved tensors hooks tutorial) -------------------
def _hooked_grads(lib, dev, op, pack, unpack):
    kw = {} if lib is torch else {"device": dev}
    x = lib.tensor(R_FIXED, requires_grad=True, **kw)
    w = lib.tensor(R_FIXED[::-1].copy(), requires_grad=True, **kw)
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = op(lib, x, w)
    y.sum().backward()
    return _np(y), _np(x.grad), _np(w.grad)


R_FIXED = np.linspace(-1.5, 2.0, 6).astype(np.float32)
_OPS = {
    "mul": lambda L, x, w: x * w, "pow": lambda L, x, w: x.pow(3) * w, "exp": lambda L, x, w: L.exp(x) * w,
    "chain": lambda L, x, w: ((x * x).tanh() * w).sigmoid(), "matmul": lambda L, x, w: x.reshape(2, 3) @ w.reshape(3, 2),
    "linear": lambda L, x, w: L.nn.functional.linear(x.reshape(3, 2), w.reshape(3, 2)),
}


@pytest.mark.parametrize("op", list(_OPS))
def test_saved_tensors_hooks_values_and_counts(device, op):
    calls = {}
    for lib in (torch, ember):
        n = {"pack": 0, "unpack": 0}
        store: list = []

        def pack(t, n=n, store=store):
            n["pack"] += 1
            store.append(t * 4)
            return len(store) - 1  # any object: an index into a list

        def unpack(i, n=n, store=store):
            n["unpack"] += 1
            return store[i] / 4

        calls[lib] = _hooked_grads(lib, device, _OPS[op], pack, unpack), n
    for g, w in zip(calls[ember][0], calls[torch][0]):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    assert calls[ember][1]["pack"] > 0 and calls[ember][1]["unpack"] > 0


def test_saved_tensors_hooks_nesting_disable_and_save_on_cpu(device):
    for lib in (torch, ember):
        g = lib.autograd.graph
        seen = []
        x = lib.ones(3, requires_grad=True, device=device if lib is ember else "cpu")
        with g.saved_tensors_hooks(lambda t, seen=seen: seen.append("outer") or t, lambda t: t):
            with g.saved_tensors_hooks(lambda t, seen=seen: seen.append("inner") or t, lambda t: t):
                y = x * x
            z = y * y
        (z.sum()).backward()
        assert seen and seen[-1] == "outer" and "inner" in seen
        with pytest.raises(RuntimeError, match="no hooks here"):
            with g.disable_saved_tensors_hooks("no hooks here"):
                with g.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        with pytest.raises(RuntimeError, match="not now"):
            with g.saved_tensors_hooks(lambda t: t, lambda t: t):
                with g.disable_saved_tensors_hooks("not now"):
                    pass
        with g.disable_saved_tensors_hooks("fine"):
            (x * x).sum().backward()  # plain saving still works
        w = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0], device=device if lib is ember else "cpu"))
        with g.save_on_cpu(pin_memory=True):
            loss = (w * w * 3).sum()
        loss.backward()
        np.testing.assert_allclose(_np(w.grad), [6.0, -12.0, 18.0])
        assert isinstance((x * 2).grad_fn, g.Node)


# ---- tensor repr: a suffix that would pass the line width goes on its own line -------------------
@pytest.mark.parametrize("shape", [(1, 6), (6,), (1, 5), (1, 7), (2, 3), (12,), (2, 9), (1, 3, 4)])
@pytest.mark.parametrize("scale", [1.0, 100.0, 1e-5])
def test_repr_suffix_wrapping(shape, scale):
    a = (R.standard_normal(shape) * scale).astype(np.float32)
    for dtype in ("float32", "float64"):
        for grad in (False, True):
            t, e = torch.tensor(a.astype(dtype), requires_grad=grad), ember.tensor(a.astype(dtype), requires_grad=grad)
            assert repr(e) == repr(t).replace("torch", "ember")
            if grad:
                assert repr(e.log_softmax(-1)) == repr(t.log_softmax(-1)).replace("torch", "ember")


# ---- the deprecated add(input, alpha, other) overload (char-RNN generation tutorial) -------------
_ALPHA_FIRST = ["x.add_(-0.5, y)", "x.add(2, y)", "L.add(x, 2, y)", "x.sub_(2, y)", "x.sub(2, y)", "L.sub(x, 2.5, y)",
                "x.add(2, 3)", "x.add(y, 2)", "x.add(2, y, y)", "L.add(x, y, y)"]


@pytest.mark.parametrize("call", _ALPHA_FIRST)
def test_add_sub_alpha_first_overload(device, call):
    import warnings

    res = {}
    for L in (torch, ember):
        kw = {} if L is torch else {"device": device}
        x = L.tensor([0.0, 1.0, -2.0], **kw)
        y = L.tensor([1.0, 2.0, 3.0], **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = eval(call, {"L": L, "x": x, "y": y})  # noqa: S307 - fixed expressions above
                res[L] = (_np(out), _np(x))
            except TypeError:
                res[L] = TypeError
    if res[torch] is TypeError:
        assert res[ember] is TypeError
    else:
        for g, w in zip(res[ember], res[torch]):
            np.testing.assert_array_equal(g, w)


def test_add_alpha_first_overload_gradient(device):
    for L in (torch, ember):
        kw = {} if L is torch else {"device": device}
        x = L.tensor([1.0, 2.0], requires_grad=True, **kw)
        y = L.tensor([3.0, 4.0], requires_grad=True, **kw)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            L.add(x, 3, y).sum().backward()
        np.testing.assert_array_equal(_np(y.grad), [3.0, 3.0])
        np.testing.assert_array_equal(_np(x.grad), [1.0, 1.0])


# ---- scaled_dot_product_attention: output layout and backend switches (SDPA tutorial) -----------
def _sdpa_layouts(L, dev):
    kw = {} if L is torch else {"device": dev}
    g = np.random.default_rng(5)

    def t(*shape):
        return L.tensor(g.random(shape).astype(np.float32), **kw)

    F = L.nn.functional
    x = t(2, 5, 36)
    a, b, c = [u.view(2, -1, 3, 4).transpose(1, 2) for u in x.chunk(3, -1)]  # the tutorial's heads
    q = t(2, 5, 3, 4).transpose(1, 2)
    k = t(2, 3, 5, 4)
    return {
        "chunked": F.scaled_dot_product_attention(a, b, c),
        "q-transposed": F.scaled_dot_product_attention(q, k, k),
        "k-transposed": F.scaled_dot_product_attention(k, q, q),
        "hbld": (lambda u: F.scaled_dot_product_attention(u, u, u))(t(3, 2, 5, 4).transpose(0, 1)),
        "d-not-last": (lambda u: F.scaled_dot_product_attention(u, u, u))(t(2, 3, 4, 5).transpose(2, 3)),
        "mask": F.scaled_dot_product_attention(q, q, q, attn_mask=L.ones(5, 5, dtype=L.bool, **kw)),
        "causal": F.scaled_dot_product_attention(q, q, q, is_causal=True),
        "3d": (lambda u: F.scaled_dot_product_attention(u, u, u))(t(5, 3, 4).transpose(0, 1)),
        "other-dv": F.scaled_dot_product_attention(q, k, t(2, 3, 5, 6)),
        "expanded": (lambda u: F.scaled_dot_product_attention(u, u, u))(t(1, 3, 5, 4).expand(2, 3, 5, 4)),
    }


def test_sdpa_output_layout_follows_query(device):
    got, want = _sdpa_layouts(ember, device), _sdpa_layouts(torch, None)
    for name in want:
        assert got[name].stride() == want[name].stride(), name
        np.testing.assert_allclose(_np(got[name]), want[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    # what the tutorial does with it
    y = got["chunked"].transpose(1, 2).view(2, -1, 12)
    np.testing.assert_allclose(_np(y), want["chunked"].transpose(1, 2).reshape(2, -1, 12).numpy(), rtol=1e-5)


def _sdpa_switch_results(L, dev):
    import warnings

    kw = {} if L is torch else {"device": dev}
    q = L.ones(1, 1, 2, 4, **kw)
    F = L.nn.functional
    from importlib import import_module

    att = import_module(L.__name__ + ".nn.attention")
    cuda = L.backends.cuda
    out = []

    def run():
        try:
            return tuple(F.scaled_dot_product_attention(q, q, q).shape)
        except RuntimeError as e:
            return str(e)

    for chosen in ([att.SDPBackend.MATH], att.SDPBackend.FLASH_ATTENTION, [att.SDPBackend.EFFICIENT_ATTENTION], [],
                   [att.SDPBackend.CUDNN_ATTENTION, att.SDPBackend.EFFICIENT_ATTENTION]):
        with att.sdpa_kernel(chosen):
            out.append((run(), cuda.math_sdp_enabled(), cuda.flash_sdp_enabled(), cuda.mem_efficient_sdp_enabled()))
    out.append((cuda.math_sdp_enabled(), cuda.flash_sdp_enabled()))  # restored
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with cuda.sdp_kernel(enable_math=False, enable_flash=False, enable_mem_efficient=True):
            out.append(run())
        with cuda.sdp_kernel(enable_math=True, enable_flash=False):
            out.append(run())
    out.append([type(w.message).__name__ for w in caught])
    out.append((str(att.SDPBackend.MATH), int(att.SDPBackend.FLASH_ATTENTION), cuda.SDPBackend.MATH == 0))
    return out


def test_sdpa_backend_switches():
    assert _sdpa_switch_results(ember, "cpu") == _sdpa_switch_results(torch, None)
