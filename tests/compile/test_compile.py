"""ember.compile: compiled results equal eager ones (and PyTorch's), guards recapture, graph breaks
fall back to eager, effects (buffers, gradients, optimizer state) are redone on every replay."""

from __future__ import annotations

import copy

import ember
import ember.nn as nn
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _np(t):
    return t.detach().cpu().numpy()


def _replays(f):
    return f.stats.replays


# ---- functions --------------------------------------------------------------------------------
def test_elementwise_chain_is_fused_and_equal(device):
    f = ember.compile(lambda a, b: (a * b + b).relu())
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.standard_normal((2, 16, 16)).astype(np.float32)
        ea, eb = ember.tensor(a, device=device), ember.tensor(b, device=device)
        got = f(ea, eb)
        np.testing.assert_array_equal(_np(got), _np((ea * eb + eb).relu()))  # bitwise: same ops, same rounding
        np.testing.assert_allclose(_np(got), (torch.tensor(a) * torch.tensor(b) + torch.tensor(b)).relu().numpy(),
                                   rtol=1e-6)
    assert f.stats.replays == 3 and f.stats.captures == 2
    assert f.stats.kernels_captured == 3 and f.stats.kernels_replayed == 1 and f.stats.fused_groups == 1


def test_chain_with_scalars_broadcast_and_two_uses(device):
    def fn(x, b):
        h = (x * 2.0 - b).tanh()
        return h * h + (1.0 - h).exp(), h

    f = ember.compile(fn)
    x = ember.randn(4, 8, device=device)
    b = ember.randn(8, device=device)
    for _ in range(4):
        got = f(x, b)
        want = fn(x, b)
        for g, w in zip(got, want):
            np.testing.assert_allclose(_np(g), _np(w), rtol=1e-6, atol=1e-7)
    tx, tb = torch.tensor(_np(x)), torch.tensor(_np(b))
    th = (tx * 2.0 - tb).tanh()
    np.testing.assert_allclose(_np(got[0]), (th * th + (1.0 - th).exp()).numpy(), rtol=1e-5)


def test_non_contiguous_input_is_its_own_capture(device):
    f = ember.compile(lambda a: (a + 1) * 3)
    x = ember.randn(6, 4, device=device)
    for _ in range(3):
        f(x)
    xt = x.t()
    for _ in range(3):
        np.testing.assert_allclose(_np(f(xt)), (_np(x).T + 1) * 3, rtol=1e-6)
    assert f.stats.captures == 4


@pytest.mark.parametrize("change", ["shape", "dtype", "requires_grad", "no_grad"])
def test_guards_recapture(change):
    f = ember.compile(lambda a: a * 2 + 1)
    x = ember.randn(3, 4)
    for _ in range(3):
        f(x)
    assert f.stats.captures == 2
    y = {"shape": ember.randn(5, 4), "dtype": ember.randn(3, 4).double(),
         "requires_grad": ember.randn(3, 4).requires_grad_(), "no_grad": x}[change]
    for _ in range(3):
        if change == "no_grad":
            with ember.no_grad():
                out = f(y)
        else:
            out = f(y)
        assert out.dtype == y.dtype and tuple(out.shape) == tuple(y.shape)
        np.testing.assert_allclose(_np(out), _np(y) * 2 + 1, rtol=1e-6)
    assert f.stats.captures == 4  # the new signature was captured twice, then replayed


def test_cache_size_limit_bounds_the_entries():
    """Past the limit a new key runs eagerly (torch.compile's recompile limit); known keys replay."""
    f = ember.compile(lambda a: a + 1, options={"cache_size_limit": 2})
    for n in (1, 2, 3, 1):
        for _ in range(3):
            np.testing.assert_allclose(_np(f(ember.ones(n))), np.full(n, 2.0))
    assert len(f._cache) == 2
    assert f.stats.eager_calls == 3 and f.stats.replays == 1 + 1 + 3  # n=1, n=2 (third calls), n=1 again
    assert "cache_size_limit (2) reached" in " ".join(f.stats.graph_breaks)


def test_inline_cache_hands_every_other_call_to_the_general_path():
    """After a replay the plan's guards become the instance's __call__; calls they do not cover
    (another arity, keywords, a shape, grad mode, a non-tensor argument) still get eager's results."""

    def fn(a, b=None, scale=2):
        return a * scale + (0 if b is None else b)

    f = ember.compile(fn)
    x, y = ember.randn(3, 4), ember.randn(3, 4)
    for _ in range(3):
        f(x, y)
    assert type(f) is not ember.compiler.CompiledFunction and isinstance(f, ember.compiler.CompiledFunction)
    ex, ey = _np(x), _np(y)
    cases = [((x, y), {}, ex * 2 + ey), ((x,), {}, ex * 2), ((x, y, 3), {}, ex * 3 + ey),
             ((x,), {"b": y}, ex * 2 + ey), ((x,), {"scale": 5}, ex * 5), ((ember.randn(2, 4).abs(), None), {}, None),
             ((x, y), {}, ex * 2 + ey)]
    for args, kwargs, want in cases * 3:
        got = f(*args, **kwargs)
        np.testing.assert_allclose(_np(got), _np(args[0]) * 2 if want is None else want, rtol=1e-6)
    with ember.no_grad():
        np.testing.assert_allclose(_np(f(x, y)), ex * 2 + ey, rtol=1e-6)
    with pytest.raises(TypeError, match="positional argument"):
        f()  # the function's own error, through the general path
    with pytest.raises(TypeError, match="unexpected keyword argument 'a0'"):
        f(x, a0=y)  # a keyword is never taken for one of the cache's own parameters
    f.reset()
    assert type(f) is ember.compiler.CompiledFunction
    np.testing.assert_allclose(_np(f(x, y)), ex * 2 + ey, rtol=1e-6)


def test_a_replay_is_as_quiet_as_eager_on_overflow_and_nan(tmp_path):
    """PyTorch computes inf and NaN without a warning; the fused cpu chain (a NumPy ufunc called by
    the replay itself) must too, even where warnings are errors."""
    import subprocess
    import sys

    code = (
        "import ember\n"
        "f = ember.compile(lambda a, b: (a * b - a * b).relu())\n"
        "x = ember.full((4,), 3e38)\n"
        "for _ in range(4):\n"
        "    out = f(x, x)\n"
        "assert f.stats.replays == 2 and f.stats.fused_groups >= 1, f.stats.summary()\n"
        "print(out.tolist())\n"
    )
    run = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[nan, nan, nan, nan]"


def test_a_learning_rate_changing_every_step_stays_correct():
    """A per-step schedule changes a guarded hyperparameter on every call: results stay eager's."""
    ember.manual_seed(0)
    model = nn.Linear(4, 2)
    twin = copy.deepcopy(model)
    opts = [ember.optim.SGD(m.parameters(), lr=0.1) for m in (model, twin)]
    scheds = [ember.optim.lr_scheduler.LambdaLR(o, lambda step: 1.0 / (1 + step)) for o in opts]

    def step(m, opt, x):
        opt.zero_grad()
        loss = m(x).square().sum()
        loss.backward()
        opt.step()
        return loss

    compiled = ember.compile(step)
    x = ember.randn(3, 4)
    for _ in range(12):
        lc, le = compiled(model, opts[0], x), step(twin, opts[1], x)
        assert lc.item() == le.item()
        for s in scheds:
            s.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(_np(p), _np(q))


CONFIG = {"mult": 3.0, "shift": [0.5, 1.0]}


def test_lists_and_dicts_of_numbers_the_function_reads_are_guarded():
    """A replay freezes the Python numbers it computed with: changing one inside a list or dict
    (a module attribute, a global) must recapture, as changing a plain number does."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.scales = [1.0, 2.0]

        def forward(self, x):
            return self.fc(x) * self.scales[1] * CONFIG["mult"] + CONFIG["shift"][1]

    net = Net()
    model = ember.compile(net)
    x = ember.randn(2, 3)
    changes = [lambda: net.scales.__setitem__(1, 5.0), lambda: CONFIG.__setitem__("mult", 7.0),
               lambda: CONFIG["shift"].__setitem__(1, -2.0), lambda: net.scales.append(9.0)]
    try:
        for change in [None, *changes]:
            if change is not None:
                change()
            for _ in range(3):
                np.testing.assert_allclose(_np(model(x)), _np(net(x)), rtol=1e-6)
    finally:
        CONFIG.update({"mult": 3.0, "shift": [0.5, 1.0]})
    assert model.stats.replays >= 5


def test_a_list_of_tensors_that_grows_or_changes_is_seen():
    """A loop over a list runs as often as at the capture in every replay: a list that grew must
    recapture, and an item replaced must be read afresh (lists of a closure and of a module)."""
    weights = [ember.ones(3)]

    def fn(x):
        out = x * 0
        for w in weights:
            out = out + w * x
        return out

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.extra = [ember.ones(3)]

        def forward(self, x):
            y = self.fc(x)
            for e in self.extra:
                y = y * e
            return y

    net = Net()
    f, g = ember.compile(fn), ember.compile(net)
    x = ember.full((3,), 2.0)
    changes = [lambda: weights.append(ember.ones(3)), lambda: weights.__setitem__(0, ember.full((3,), 10.0)),
               lambda: weights.pop(), lambda: net.extra.append(ember.full((3,), 3.0)),
               lambda: net.extra.__setitem__(0, ember.full((3,), -1.0))]
    for change in [None, *changes]:
        if change is not None:
            change()
        for _ in range(3):
            np.testing.assert_array_equal(_np(f(x)), _np(fn(x)))
            np.testing.assert_allclose(_np(g(x)), _np(net(x)), rtol=1e-6)
    assert f.stats.replays >= 4 and g.stats.replays >= 4


def test_a_configuration_object_the_module_reads_is_guarded():
    import dataclasses

    @dataclasses.dataclass
    class Config:
        mult: float = 2.0
        shift: bool = True

    class Net(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.cfg = cfg
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            y = self.fc(x) * self.cfg.mult
            return y + 1 if self.cfg.shift else y

    net = Net(Config())
    model = ember.compile(net)
    x = ember.randn(2, 3)
    for change in [None, lambda: setattr(net.cfg, "mult", 5.0), lambda: setattr(net.cfg, "shift", False)]:
        if change is not None:
            change()
        for _ in range(3):
            np.testing.assert_allclose(_np(model(x)), _np(net(x)), rtol=1e-6)
    assert model.stats.replays >= 3


def test_global_tensor_rebinding_is_seen():
    global SCALE
    SCALE = ember.tensor([2.0])

    def fn(x):
        return x * SCALE

    f = ember.compile(fn)
    x = ember.ones(3)
    for _ in range(3):
        assert f(x).tolist() == [2.0, 2.0, 2.0]
    SCALE = ember.tensor([5.0])
    assert f(x).tolist() == [5.0, 5.0, 5.0]
    SCALE.mul_(2)
    assert f(x).tolist() == [10.0, 10.0, 10.0]


def test_arguments_that_are_one_tensor_are_their_own_capture():
    """A capture maps arrays to inputs: f(a, a) and f(a, b) must not share a graph."""
    f = ember.compile(lambda x, y, z: x * 2 + y - z)
    a, b = ember.ones(3), ember.full((3,), 5.0)
    calls = [(a, a, a), (a, b, a), (a, b, b), (b, a, a)] * 3
    for args in calls:
        x, y, z = (_np(t) for t in args)
        np.testing.assert_array_equal(_np(f(*args)), x * 2 + y - z)
    assert f.stats.replays >= 4


GLOBAL_SCALE = ember.full((3,), 3.0)


def test_an_argument_the_function_also_reads_itself_runs_eagerly():
    def fn(x):
        return x * GLOBAL_SCALE + x

    f = ember.compile(fn)
    other = ember.full((3,), 2.0)
    for arg in [GLOBAL_SCALE] * 3 + [other] * 3:
        np.testing.assert_array_equal(_np(f(arg)), _np(arg) * 3.0 + _np(arg))
    assert any("also reachable by the function" in r for r in f.stats.graph_breaks)


def test_structured_outputs():
    def fn(x):
        return {"sum": x.sum(), "pair": (x + 1, 3), "list": [x * 2]}

    f = ember.compile(fn)
    x = ember.arange(4.0)
    for _ in range(4):
        out = f(x)
    assert out["sum"].item() == 6.0 and out["pair"][1] == 3
    assert out["pair"][0].tolist() == [1.0, 2.0, 3.0, 4.0] and out["list"][0].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert f.stats.replays == 2


def test_a_tensor_returned_twice_is_one_tensor_in_replays_too():
    w = ember.randn(3, 4, requires_grad=True)
    f = ember.compile(lambda a: (lambda y: (y, {"again": y}, [y]))(a * 2))
    for _ in range(4):
        first, d, (third,) = f(w)
        assert first is d["again"] is third
        w.grad = None
        first.sum().backward()
        np.testing.assert_array_equal(_np(w.grad), np.full((3, 4), 2.0, np.float32))
    assert f.stats.replays == 2


def test_returning_an_input_returns_that_tensor():
    f = ember.compile(lambda x, y: (x, y + 1))
    x, y = ember.ones(2), ember.ones(2)
    for _ in range(4):
        a, b = f(x, y)
    assert a is x and b.tolist() == [2.0, 2.0]


# ---- graph breaks ----------------------------------------------------------------------------------
def test_host_read_runs_eagerly_and_is_counted():
    def fn(x):
        y = x * 2
        if y.sum().item() > 0:  # data-dependent control flow
            return y + 1
        return y - 1

    f = ember.compile(fn)
    for sign in (1, -1, 1, -1):
        x = ember.ones(3) * sign
        np.testing.assert_allclose(_np(f(x)), _np(fn(x)))
    assert f.stats.replays == 0 and f.stats.eager_calls >= 2
    reason = " ".join(f.stats.graph_breaks)
    assert "to_host" in reason and "test_compile.py" in reason


def test_fullgraph_raises_graph_break():
    f = ember.compile(lambda x: x.nonzero(), fullgraph=True)
    with pytest.raises(ember.compiler.GraphBreak, match="nonzero"):
        f(ember.tensor([0.0, 1.0]))


def test_disable_marks_a_graph_break():
    @ember.compiler.disable
    def helper(x):
        return x + 1

    f = ember.compile(lambda x: helper(x) * 2)
    for _ in range(3):
        assert f(ember.ones(2)).tolist() == [4.0, 4.0]
    assert f.stats.replays == 0 and "ember.compiler.disable" in " ".join(f.stats.graph_breaks)


def test_tensor_kept_outside_is_never_replayed():
    kept = []

    def fn(x):
        y = x + 1
        kept.append(y)
        return y * 2

    f = ember.compile(fn)
    for i in range(8):
        out = f(ember.full((2,), float(i)))
        assert out.tolist() == [2.0 * (i + 1)] * 2 and kept[-1].tolist() == [i + 1.0] * 2
    assert f.stats.replays == 0


def test_eager_backend_and_environment_switch(monkeypatch):
    f = ember.compile(lambda x: x + 1, backend="eager")
    for _ in range(3):
        f(ember.ones(1))
    assert f.stats.captures == 0
    monkeypatch.setenv("EMBER_COMPILE_DISABLE", "1")
    g = ember.compile(lambda x: x + 1)
    for _ in range(3):
        g(ember.ones(1))
    assert g.stats.captures == 0


def test_bad_arguments_are_refused():
    with pytest.raises(RuntimeError, match="Invalid backend"):
        ember.compile(lambda x: x, backend="nope")
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        ember.compile(lambda x: x, mode="fastest")
    with pytest.raises(TypeError):
        ember.compile(lambda x: x, backend=lambda gm, inputs: gm)


def test_is_compiling_inside_a_capture():
    seen = []
    f = ember.compile(lambda x: (seen.append(ember.compiler.is_compiling()), x + 1)[1])
    f(ember.ones(1))
    assert seen == [True] and not ember.compiler.is_compiling()


def test_random_ops_draw_fresh_numbers_like_eager(device):
    def fn(x):
        return nn.functional.dropout(x, 0.5, training=True) + ember.rand(x.shape, device=x.device)

    f = ember.compile(fn)
    x = ember.ones(64, device=device)
    for seed in range(5):
        ember.manual_seed(seed)
        got = _np(f(x))
        ember.manual_seed(seed)
        np.testing.assert_array_equal(got, _np(fn(x)))
    assert f.stats.replays == 3
    first, second = _np(f(x)), _np(f(x))
    assert not np.array_equal(first, second)  # the generator advances on every replay


# ---- modules: forward replayed, backward through the captured backward graph --------------------------
def _torch_copy(mod, tmod):
    with torch.no_grad():
        for p, tp in zip(mod.parameters(), tmod.parameters()):
            tp.copy_(torch.tensor(_np(p)))
    return tmod


def test_compiled_module_forward_and_gradients_match_torch(device):
    ember.manual_seed(0)
    mod = nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 4)).to(device)
    tmod = _torch_copy(mod, torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4)))
    cmod = ember.compile(mod)
    assert isinstance(cmod, ember.compiler.OptimizedModule) and cmod.training
    rng = np.random.default_rng(1)
    for _ in range(4):
        xn = rng.standard_normal((5, 10)).astype(np.float32)
        x = ember.tensor(xn, device=device, requires_grad=True)
        tx = torch.tensor(xn, requires_grad=True)
        out = cmod(x)
        tout = tmod(tx)
        (out * out).sum().backward()
        (tout * tout).sum().backward()
        np.testing.assert_allclose(_np(out), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-6)
        for p, tp in zip(mod.parameters(), tmod.parameters()):
            np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), rtol=1e-4, atol=1e-5)
            p.grad = None
            tp.grad = None
    assert cmod.stats.replays >= 1
    assert type(out.grad_fn).__name__ == "CompiledBackward" and out.grad_fn.name() == "CompiledFunctionBackward"


def test_compiled_module_state_dict_and_attributes():
    mod = nn.Linear(3, 2)
    cmod = ember.compile(mod)
    assert cmod.weight is mod.weight and cmod.in_features == 3
    assert sorted(cmod.state_dict()) == ["_orig_mod.bias", "_orig_mod.weight"]


def test_deepcopy_of_a_compiled_module_computes_with_the_copy():
    """A copy must not replay the original's captures (they read the original's weights)."""
    model = ember.compile(nn.Linear(3, 2))
    x = ember.randn(4, 3)
    for _ in range(4):
        model(x)
    twin = copy.deepcopy(model)
    with ember.no_grad():
        twin._orig_mod.weight.fill_(1.0)
        twin._orig_mod.bias.fill_(0.5)
    w, b = _np(model._orig_mod.weight), _np(model._orig_mod.bias)
    for _ in range(4):
        np.testing.assert_allclose(_np(twin(x)), _np(x).sum(1, keepdims=True) + np.full((4, 2), 0.5), rtol=1e-6)
        np.testing.assert_allclose(_np(model(x)), _np(x) @ w.T + b, rtol=1e-5, atol=1e-6)
    assert twin.stats.replays >= 2 and twin.stats.captures == 2

    def double(t):
        return t * 2

    f = ember.compile(double)
    for _ in range(3):
        f(x)
    g = copy.copy(f)
    assert g.stats.captures == 0 and g.__wrapped__ is double
    np.testing.assert_allclose(_np(g(x)), _np(x) * 2)


def test_a_parameter_moved_to_another_device_recaptures(device):
    """Moving the module after its capture changes the parameters' device, not their shape or
    dtype: the replay must notice, and the call then behaves as eager (here: its device error)."""
    others = [t for t in ember.plugins.device_types() if t != "cpu" and ember.plugins.backend(t).is_available()]
    other = "cpu" if device != "cpu" else (others[0] if others else None)
    if other is None:
        pytest.skip("needs a second device type")
    model = ember.compile(nn.Linear(3, 2).to(device))
    x = ember.randn(4, 3, device=device)
    for _ in range(3):
        model(x)
    model._orig_mod.to(other)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        model(x)
    xo = x.to(other)
    w, b = _np(model._orig_mod.weight), _np(model._orig_mod.bias)
    for _ in range(3):
        out = model(xo)
        assert out.device.type == ember.device(other).type
        np.testing.assert_allclose(_np(out), _np(x) @ w.T + b, rtol=1e-5, atol=1e-6)


def test_replays_raise_version_counters_as_eager_writes_do(device):
    """In-place writes bump a tensor's version; autograd compares it to refuse a backward through a
    tensor modified since it was saved. A replay's writes must count as eager's do."""

    def scale_(p, q):
        with ember.no_grad():
            p.mul_(2)
            p.add_(q)
        return p.sum()

    compiled = ember.compile(scale_)
    q = ember.ones(3, device=device)
    for fn in (scale_, compiled, compiled, compiled, compiled):
        w = ember.randn(3, device=device, requires_grad=True)
        y = (w * w).sum()  # saves w
        before = w._version[0]
        fn(w, q)
        assert w._version[0] == before + 2
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()
    assert compiled.stats.replays == 2


def test_a_compiled_module_saves_and_loads_as_a_module_that_compiles_afresh(tmp_path):
    import pickle

    model = ember.compile(nn.Linear(3, 2))
    x = ember.randn(4, 3)
    for _ in range(3):
        model(x)
    ember.save(model, tmp_path / "model.pt")
    loaded = ember.load(tmp_path / "model.pt", weights_only=False)
    again = pickle.loads(pickle.dumps(model))
    for other in (loaded, again):
        assert isinstance(other, type(model)) and other._orig_mod is not model._orig_mod
        for _ in range(3):
            np.testing.assert_array_equal(_np(other(x)), _np(model(x)))
        assert other.stats.captures == 2 and other.stats.replays == 1


def test_batchnorm_running_stats_and_eval_switch(device):
    ember.manual_seed(0)
    mod = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU()).to(device)
    ref = copy.deepcopy(mod)
    cmod = ember.compile(mod)
    rng = np.random.default_rng(2)
    for _ in range(4):
        x = ember.tensor(rng.standard_normal((2, 2, 5, 5)).astype(np.float32), device=device)
        np.testing.assert_allclose(_np(cmod(x)), _np(ref(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(mod[1].running_mean), _np(ref[1].running_mean), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(mod[1].running_var), _np(ref[1].running_var), rtol=1e-5, atol=1e-6)
    assert mod[1].num_batches_tracked.item() == ref[1].num_batches_tracked.item() == 4
    cmod.eval()
    ref.eval()
    for _ in range(3):
        np.testing.assert_allclose(_np(cmod(x)), _np(ref(x)), rtol=1e-5, atol=1e-5)


def test_double_backward_is_refused():
    cmod = ember.compile(nn.Linear(2, 1))
    x = ember.ones(1, 2, requires_grad=True)
    for _ in range(3):
        out = cmod(x)
    (g,) = ember.autograd.grad(out.sum(), x, create_graph=False)
    out = cmod(x)
    with pytest.raises(RuntimeError, match="double backward"):
        ember.autograd.grad(out.sum(), x, create_graph=True)


def test_backward_twice_needs_retain_graph():
    cmod = ember.compile(nn.Linear(2, 1))
    x = ember.ones(1, 2, requires_grad=True)
    for _ in range(3):
        out = cmod(x)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.sum().backward()


# ---- whole training steps ----------------------------------------------------------------------------
def _step_pair(device, make_opt):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4)).to(device)
    twin = copy.deepcopy(model)
    loss_fn = nn.CrossEntropyLoss()

    def make_step(m):
        opt = make_opt(m.parameters())

        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(m(x), y)
            loss.backward()
            opt.step()
            return loss

        step.opt = opt
        return step

    return model, twin, make_step(model), ember.compile(make_step(twin))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw"])
def test_training_step_compiled_equals_eager(device, opt, fused, hide_kernels):
    """A compiled step replays the backend's fused ``adam_step_device`` where it has one (bit for bit
    eager's ``adam_step`` on the cpu), else the composite with the step count on the device."""
    if not fused:
        if opt == "sgd":
            pytest.skip("SGD has no device-step variant")
        hide_kernels({"adam_step_device"})
    make = {"sgd": lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
            "adam": lambda p: ember.optim.Adam(p, lr=1e-2),
            "adamw": lambda p: ember.optim.AdamW(p, lr=1e-2, weight_decay=0.1)}[opt]
    model, twin, eager, compiled = _step_pair(device, make)
    rng = np.random.default_rng(3)
    for i in range(6):
        x = ember.tensor(rng.standard_normal((8, 12)).astype(np.float32), device=device)
        y = ember.tensor(rng.integers(0, 4, 8), device=device)
        ember.manual_seed(100 + i)
        le = eager(x, y)
        ember.manual_seed(100 + i)
        lc = compiled(x, y)
        exact = device == "cpu" and (opt == "sgd" or fused)
        tol = 0 if exact else 1e-5
        np.testing.assert_allclose(lc.item(), le.item(), rtol=tol, atol=tol)
        for p, q in zip(model.parameters(), twin.parameters()):
            np.testing.assert_allclose(_np(q), _np(p), rtol=tol, atol=tol)
    assert compiled.stats.replays >= 3, compiled.stats.summary()
    replayed = " ".join(e.plan.source for e in compiled._cache.values() if e.plan is not None)
    has_kernel = ember.dispatch.table(ember.device(device).type).has("adam_step_device")
    assert ("'adam_step_device'" in replayed) == (opt != "sgd" and fused and has_kernel)


def test_freezing_and_unfreezing_a_layer_after_capture():
    """requires_grad of the parameters is guarded: a compiled step must stop (and resume) updating
    a layer exactly when eager mode does."""
    model, twin, eager, compiled = _step_pair("cpu", lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9))
    rng = np.random.default_rng(5)
    x = ember.tensor(rng.standard_normal((8, 12)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 4, 8))
    for i in range(14):
        if i in (4, 9):
            for m in (model, twin):
                m[0].weight.requires_grad_(i == 9)
        _same_step(i, (model, eager), (twin, compiled), x, y)
    assert compiled.stats.replays >= 4, compiled.stats.summary()


def _same_step(i, eager_pair, compiled_pair, x, y):
    """Step ``i`` of both (model, step) pairs from the same seed: the same loss, the same weights."""
    (model, eager), (twin, compiled) = eager_pair, compiled_pair
    ember.manual_seed(100 + i)
    le = eager(x, y)
    ember.manual_seed(100 + i)
    assert compiled(x, y).item() == le.item()
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(_np(q), _np(p))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_optimizer_load_state_dict_after_capture(opt):
    """Rolling a run back (model and optimizer state dicts) must roll the compiled step back too:
    the optimizer's new state tensors are the ones a replay reads and updates."""
    make = {"sgd": lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9),
            "adam": lambda p: ember.optim.Adam(p, lr=1e-2)}[opt]
    model, twin, eager, compiled = _step_pair("cpu", make)
    rng = np.random.default_rng(6)
    x = ember.tensor(rng.standard_normal((8, 12)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 4, 8))
    opts = [eager.opt, compiled.__wrapped__.opt]
    saved = None
    for i in range(10):
        if i == 3:
            saved = copy.deepcopy(model.state_dict()), copy.deepcopy(opts[0].state_dict())
        if i == 6:
            for m, o in zip((model, twin), opts):
                m.load_state_dict(saved[0])
                o.load_state_dict(copy.deepcopy(saved[1]))
        _same_step(i, (model, eager), (twin, compiled), x, y)
    assert compiled.stats.replays >= 6, compiled.stats.summary()


STEP_MODEL = None
STEP_OPT = None


def test_a_global_or_closure_rebound_to_another_model_or_optimizer_is_seen():
    """Re-running a notebook cell binds new objects to the names a compiled step uses: replays must
    follow the new model and optimizer, not the ones of the capture."""
    global STEP_MODEL, STEP_OPT
    x = ember.ones(3, 4)

    def global_step(t):
        STEP_OPT.zero_grad()
        loss = STEP_MODEL(t).sum()
        loss.backward()
        STEP_OPT.step()
        return loss

    def make_closure_step():
        model = nn.Linear(4, 2)
        opt = ember.optim.SGD(model.parameters(), lr=0.1)

        def step(t):
            opt.zero_grad()
            loss = model(t).sum()
            loss.backward()
            opt.step()
            return loss

        def rebind(new_model, new_opt):
            nonlocal model, opt
            model, opt = new_model, new_opt

        return step, rebind

    closure_step, rebind = make_closure_step()
    for kind, step in (("global", global_step), ("closure", closure_step)):
        STEP_MODEL = nn.Linear(4, 2)
        STEP_OPT = ember.optim.SGD(STEP_MODEL.parameters(), lr=0.1)
        compiled = ember.compile(step)
        for _ in range(3):
            compiled(x)
        fresh = nn.Linear(4, 2)
        frozen = ember.optim.SGD(fresh.parameters(), lr=0.0)  # a step that must change nothing
        if kind == "global":
            STEP_MODEL, STEP_OPT = fresh, frozen
        else:
            rebind(fresh, frozen)
        before = _np(fresh.weight).copy()
        for _ in range(5):  # two captures (without, then with .grad), then replays
            np.testing.assert_allclose(compiled(x).item(), fresh(x).sum().item(), rtol=1e-6)
        np.testing.assert_array_equal(_np(fresh.weight), before)
        assert compiled.stats.replays >= 2, compiled.stats.summary()


def test_training_step_matches_torch():
    """The compiled step against PyTorch itself, from the same weights (no dropout)."""
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    tmodel = _torch_copy(model, torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)))
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)

    @ember.compile
    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(4)
    for _ in range(8):
        xn, yn = rng.standard_normal((8, 6)).astype(np.float32), rng.integers(0, 3, 8)
        loss = step(ember.tensor(xn), ember.tensor(yn))
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(xn)), torch.tensor(yn))
        tloss.backward()
        topt.step()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(_np(p), tp.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert step.stats.replays >= 5


def test_value_checks_are_repeated_by_the_replay(device):
    loss_fn = nn.CrossEntropyLoss()
    f = ember.compile(lambda logits, target: loss_fn(logits, target))
    logits = ember.randn(4, 5, device=device)
    good = ember.tensor([0, 1, 2, 4], device=device)
    for _ in range(4):
        f(logits, good)
    assert f.stats.replays == 2
    bad = ember.tensor([0, 7, 2, 4], device=device)
    with pytest.raises(IndexError) as ours:
        f(logits, bad)
    with pytest.raises(IndexError) as theirs:
        torch.nn.functional.cross_entropy(torch.randn(4, 5), torch.tensor([0, 7, 2, 4]))
    assert str(ours.value) == str(theirs.value)
    assert f.stats.captures == 2  # the error came from the replay's check, not from a new capture


def test_replacing_a_submodule_recaptures():
    """A replay must never run a replaced submodule (its kernels and weights are the old one's)."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.body(x))

    net = Net()
    model = ember.compile(net)
    x = ember.randn(5, 3)
    swaps = [lambda: setattr(net, "head", nn.Linear(4, 2)),  # same type and shapes
             lambda: net.body.__setitem__(1, nn.Tanh()),  # another op, no weights
             lambda: setattr(net, "head", nn.Sequential(nn.Linear(4, 2), nn.Sigmoid()))]
    for swap in [None, *swaps]:
        if swap is not None:
            swap()
        for _ in range(3):  # (a fused tanh may differ from NumPy's by an ulp)
            np.testing.assert_allclose(_np(model(x)), _np(net(x)), rtol=1e-6, atol=1e-7)
    assert model.stats.replays >= 4


def test_hooks_added_or_removed_after_capture_are_seen():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model = ember.compile(net)
    x = ember.randn(5, 3)
    for _ in range(3):
        model(x)
    handle = net[2].register_forward_hook(lambda mod, inp, out: out * 10)
    pre = net[0].register_forward_pre_hook(lambda mod, inp: (inp[0] + 1,))
    for _ in range(3):
        np.testing.assert_allclose(_np(model(x)), _np(net(x)), rtol=1e-6, atol=1e-7)
    want = _np(net[2].forward(net[1].forward(net[0].forward(x + 1)))) * 10  # the hooks by hand
    np.testing.assert_allclose(_np(model(x)), want, rtol=1e-6, atol=1e-5)
    handle.remove()
    pre.remove()
    plain = _np(net[2].forward(net[1].forward(net[0].forward(x))))
    for _ in range(3):
        np.testing.assert_allclose(_np(model(x)), plain, rtol=1e-6, atol=1e-7)
    assert model.stats.replays >= 3


def _replaying(module, x):
    """``module`` compiled and called until its capture replays."""
    model = ember.compile(module)
    for _ in range(3):
        model(x)
    return model


def test_a_forward_set_on_the_instance_after_capture_is_seen():
    lin, x = nn.Linear(3, 3), ember.ones(2, 3)
    model = _replaying(lin, x)
    plain = lin.forward
    lin.forward = lambda t: plain(t) * 100
    for _ in range(3):
        np.testing.assert_allclose(_np(model(x)), _np(plain(x)) * 100, rtol=1e-6)


def test_parameter_replaced_by_load_state_dict():
    mod, x = nn.Linear(3, 1), ember.ones(2, 3)
    cmod = _replaying(mod, x)
    new = {"weight": ember.full((1, 3), 2.0), "bias": ember.zeros(1)}
    mod.load_state_dict(new)
    assert cmod(x).tolist() == [[6.0], [6.0]]
    mod.weight = nn.Parameter(ember.full((1, 3), 3.0))
    assert cmod(x).tolist() == [[9.0], [9.0]]


def test_jit_trace_and_script():
    traced = ember.jit.trace(lambda x: x * 3, ember.ones(2))
    assert traced(ember.ones(2)).tolist() == [3.0, 3.0]
    scripted = ember.jit.script(nn.Linear(2, 2))
    assert tuple(scripted(ember.ones(1, 2)).shape) == (1, 2)


def test_profiler_sees_replayed_kernels():
    f = ember.compile(lambda a: (a + 1).exp().sum())
    a = ember.randn(4)
    for _ in range(3):
        f(a)
    with ember.profiler.profile() as prof:
        f(a)
    names = {e.key for e in prof.key_averages()}
    assert "cpu::sum" in names


FACTOR = 2.0


def test_python_numbers_the_function_reads_are_guarded():
    """A global number, a module attribute (dropout's p) and a closure number are frozen into a
    replay, so a change must recapture, not replay the old value."""
    global FACTOR
    FACTOR = 2.0
    offset = [1.0]
    scale = 3.0

    def fn(x):
        return x * FACTOR * scale

    f = ember.compile(fn)
    x = ember.ones(2)
    for _ in range(3):
        assert f(x).tolist() == [6.0, 6.0]
    FACTOR = 5.0
    assert f(x).tolist() == [15.0, 15.0]
    drop = nn.Dropout(0.0)
    g = ember.compile(drop)
    for _ in range(3):
        assert g(x).tolist() == [1.0, 1.0]
    drop.p = 1.0
    assert g(x).tolist() == [0.0, 0.0]
    del offset
