"""ember.compile against ember eager, call after call, while the program changes what the function reads.

Each row is a small program: ``f`` (compiled or not) and ``drive(f, obs)``, which calls it 6-9 times,
changing between calls what a replay could silently keep (a default argument, a number inside a list
or dict that also holds tensors, a class attribute, a ``functools.partial``'s arguments, an item of a
big container, a tensor the backward reads modified in place, ``manual_seed`` inside the function).
Every row runs twice from fresh globals with the same seed, eagerly and through ``ember.compile``;
the observations (values, dtypes, shapes, ``requires_grad``, error types) must be equal. The first
rows gave stale results or missed errors before their fix; the rest guard what already worked.
"""

from __future__ import annotations

import textwrap

import ember
import numpy as np
import pytest

PROGRAMS = {
    "mutable_default": """
import ember
def f(x, cfg={"s": 2.0}): return x * cfg["s"]
def drive(ff, obs):
    x = ember.arange(3.)
    for i in range(8):
        if i == 4: f.__defaults__[0]["s"] = 9.0
        obs.append(ff(x))
""",
    "default_float_changed": """
import ember
def f(x, s=2.0): return x * s
def drive(ff, obs):
    x = ember.arange(3.)
    for i in range(8):
        if i == 4: f.__defaults__ = (5.0,)
        obs.append(ff(x))
""",
    "kwdefault": """
import ember
def f(x, *, s=2.0): return x * s
def drive(ff, obs):
    x = ember.arange(3.)
    for i in range(8):
        if i == 4: f.__kwdefaults__["s"] = 4.0
        obs.append(ff(x))
""",
    "default_tensor_rebound": """
import ember
def f(x, w=ember.ones(3)): return x * w
def drive(ff, obs):
    x = ember.arange(3.)
    for i in range(8):
        if i == 4: f.__defaults__ = (ember.full((3,), 4.),)
        obs.append(ff(x))
""",
    "mixed_list": """
import ember
L = [ember.ones(3), 2.0]
def f(x): return x * L[0] * L[1]
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(7):
        if i == 4: L[1] = 5.0
        obs.append(f(x))
""",
    "mixed_dict": """
import ember
D = {"w": ember.ones(3), "lr": 2.0, "n": 1}
def f(x): return x * D["w"] * D["lr"] + D["n"]
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(7):
        if i == 4: D["lr"] = 5.0
        if i == 5: D["n"] = 3
        obs.append(f(x))
""",
    "module_mixed_list_attr": """
import ember
class M(ember.nn.Module):
    def __init__(self):
        super().__init__(); self.stuff = [ember.ones(3), 2.0]
    def forward(self, x): return x * self.stuff[0] * self.stuff[1]
m = M()
def f(x): return m(x)
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(7):
        if i == 4: m.stuff[1] = 9.0
        obs.append(f(x))
""",
    "tuple_of_floats_in_list": """
import ember
L = [ember.ones(2), (1.0, 2.0)]
def f(x): return x * L[1][1]
def drive(f, obs):
    x = ember.arange(2.)
    for i in range(7):
        if i == 4: L[1] = (1.0, 7.0)
        obs.append(f(x))
""",
    "class_attr": """
import ember
class C:
    scale = 2.0
def f(x): return x * C.scale
def drive(ff, obs):
    x = ember.arange(3.)
    for i in range(8):
        if i == 4: C.scale = 4.0
        obs.append(ff(x))
""",
    "module_class_attr": """
import ember
class M(ember.nn.Module):
    scale = 2.0
    def forward(self, x): return x * self.scale
m = M()
def f(x): return m(x)
def drive(ff, obs):
    x = ember.arange(3.)
    for i in range(8):
        if i == 4: M.scale = 4.0
        obs.append(ff(x))
""",
    "partial_helper": """
import ember, functools
def mul(x, s): return x * s
h = functools.partial(mul, s=2.0)
def f(x): return h(x)
def drive(ff, obs):
    global h
    x = ember.arange(3.)
    for i in range(8):
        if i == 4: h.keywords["s"] = 5.0
        obs.append(ff(x))
""",
    "global_list_big": """
import ember
L = [float(i) for i in range(100)]
def f(x): return x * L[3]
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(7):
        if i == 4: L[3] = 42.0
        obs.append(f(x))
""",
    "global_dict_of_tensors_big": """
import ember
D = {i: float(i) for i in range(100)}
def f(x): return x * D[3]
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(7):
        if i == 4: D[3] = 42.0
        obs.append(f(x))
""",
    "big_list_tensor": """
import ember
L = [ember.ones(2) * i for i in range(100)]
def f(x): return x * L[3]
def drive(f, obs):
    x = ember.arange(2.)
    for i in range(7):
        if i == 4: L[3] = ember.ones(2) * 50
        obs.append(f(x))
""",
    "saved_modified_error": """
import ember
def f(x):
    y = x.exp()
    return y
def drive(ff, obs):
    for i in range(6):
        x = ember.ones(3, requires_grad=True)
        y = ff(x)
        y.add_(1)
        try:
            y.sum().backward(); obs.append(x.grad)
        except RuntimeError as e: obs.append(e)
""",
    "saved_input_modified": """
import ember
w = ember.ones(3, requires_grad=True)
def f(x): return (x * w).sum()
def drive(ff, obs):
    for i in range(6):
        x = ember.ones(3)
        y = ff(x)
        if i >= 3: x.add_(1)
        try:
            y.backward(); obs.append(w.grad.clone())
        except RuntimeError as e: obs.append(e)
""",
    "param_modified_before_backward": """
import ember
m = ember.nn.Linear(3, 1)
def f(x): return m(x.tanh()).pow(2).sum()
def drive(ff, obs):
    x = ember.ones(2, 3, requires_grad=True)
    for i in range(6):
        y = ff(x)
        if i >= 3:
            with ember.no_grad(): m.weight.add_(1)
        try:
            y.backward(); obs.append(x.grad.clone())
        except RuntimeError as e: obs.append(e)
""",
    "output_view_modified": """
import ember
def f(x): return x.exp()
def drive(ff, obs):
    for i in range(6):
        x = ember.ones(3, requires_grad=True)
        y = ff(x)
        if i >= 3: y[0] = 1.0
        try:
            y.sum().backward(); obs.append(x.grad)
        except RuntimeError as e: obs.append(e)
""",
    "fork_rng_seed_inside": """
import ember
def f(x):
    ember.manual_seed(7)
    return x + ember.rand(3)
def drive(ff, obs):
    for i in range(7): obs.append(ff(ember.ones(3))); obs.append(ember.rand(2))
""",
    "global_float": """
import ember
SCALE = 2.0
def f(x): return x * SCALE + 1
def drive(f, obs):
    global SCALE
    x = ember.arange(4.)
    for i in range(7):
        if i == 4: SCALE = 3.5
        obs.append(f(x))
""",
    "global_tensor_rebind": """
import ember
W = ember.ones(3)
def f(x): return x * W
def drive(f, obs):
    global W
    x = ember.arange(3.)
    for i in range(7):
        if i == 4: W = ember.full((3,), 5.)
        obs.append(f(x))
""",
    "closure_float": """
import ember
def make():
    s = [1.5]
    k = 2.0
    def f(x): return x * k
    def setk(v):
        nonlocal k; k = v
    return f, setk
f, setk = make()
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(7):
        if i == 4: setk(9.0)
        obs.append(f(x))
""",
    "global_dict_item": """
import ember
D = {"a": 1.0, "b": 2}
def f(x): return x * D["a"] + D["b"]
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(7):
        if i == 4: D["a"] = -3.0
        if i == 5: D["b"] = 10
        obs.append(f(x))
""",
    "submodule_swapped": """
import ember
m = ember.nn.Sequential(ember.nn.Linear(3, 3), ember.nn.ReLU())
def f(x): return m(x)
def drive(f, obs):
    x = ember.randn(2, 3)
    for i in range(7):
        if i == 4: m[1] = ember.nn.Tanh()
        obs.append(f(x))
""",
    "param_data_assign_shape": """
import ember
m = ember.nn.Linear(3, 2)
def f(x): return m(x)
def drive(f, obs):
    x = ember.randn(2, 3)
    for i in range(7):
        if i == 4:
            m.weight.data = ember.ones(4, 3); m.bias.data = ember.zeros(4)
        obs.append(f(x))
""",
    "requires_grad_toggle": """
import ember
m = ember.nn.Linear(3, 2)
def f(x):
    out = m(x).sum()
    return out
def drive(f, obs):
    x = ember.randn(2, 3)
    for i in range(7):
        if i == 3: m.weight.requires_grad_(False)
        if i == 5: m.weight.requires_grad_(True)
        y = f(x)
        obs.append((y, y.requires_grad))
        if y.requires_grad:
            y.backward()
            obs.append((m.weight.grad, m.bias.grad))
""",
    "output_modified_not_saved": """
import ember
def f(x): return x * 2
def drive(ff, obs):
    for i in range(6):
        x = ember.ones(3, requires_grad=True)
        y = ff(x)
        y.add_(1)
        y.sum().backward(); obs.append(x.grad)
""",
    "opt_scheduler": """
import ember
ember.manual_seed(0)
m = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 1))
opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
def f(x, y):
    opt.zero_grad()
    loss = ((m(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss

sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
def drive(f, obs):
    x = ember.randn(5, 4); y = ember.randn(5, 1)
    for i in range(8):
        obs.append(f(x, y).detach()); sched.step(); obs.append(m[0].weight.clone())
""",
    "train_eval_midway": """
import ember
ember.manual_seed(0)
m = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Dropout(0.3), ember.nn.Linear(8, 1))
opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
def f(x, y):
    opt.zero_grad()
    loss = ((m(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss

def drive(f, obs):
    x = ember.randn(5, 4); y = ember.randn(5, 1)
    for i in range(8):
        if i == 4: m.eval()
        if i == 6: m.train()
        obs.append(f(x, y).detach()); obs.append(m[0].weight.clone())
    obs.append(ember.randn(3))
""",
    "batchnorm_momentum_change": """
import ember
m = ember.nn.BatchNorm1d(3)
def f(x): return m(x)
def drive(f, obs):
    x = ember.randn(4, 3)
    for i in range(8):
        if i == 4: m.momentum = None
        obs.append(f(x)); obs.append(m.running_mean.clone()); obs.append(m.num_batches_tracked)
""",
    "dropout_rng": """
import ember
m = ember.nn.Dropout(0.5)
def f(x): return m(x) + ember.rand(3)
def drive(f, obs):
    x = ember.ones(3)
    for i in range(7):
        obs.append(f(x))
    obs.append(ember.rand(4))
""",
    "grad_mode_caller": """
import ember
w = ember.ones(3, requires_grad=True)
def f(x): return (x * w).sum()
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(8):
        if i % 3 == 0:
            with ember.no_grad(): y = f(x)
        else:
            y = f(x)
        obs.append((y, y.requires_grad))
""",
    "same_tensor_twice": """
import ember
def f(a, b):
    a.add_(1)
    return a + b
def drive(f, obs):
    x = ember.ones(3); y = ember.ones(3)
    for i in range(8):
        obs.append(f(x, x) if i % 2 else f(x, y)); obs.append(x.clone())
""",
    "views_overlap_same_shape": """
import ember
def f(a, b):
    a.mul_(2)
    return b + 0
def drive(f, obs):
    base = ember.arange(8.)
    other = ember.arange(8.)
    for i in range(8):
        if i % 2:
            obs.append(f(base[:4], base[2:6]))
        else:
            obs.append(f(base[:4], other[2:6]))
""",
    "exception_inside": """
import ember
def f(x, bad):
    y = x + 1
    if bad: raise ValueError("boom")
    return y
def drive(f, obs):
    for i in range(8):
        try: obs.append(f(ember.arange(3.) + i, i == 3 or i == 5))
        except ValueError as e: obs.append(e)
""",
    "kwargs_defaults": """
import ember
def f(x, scale=2.0, *, shift=1.0): return x * scale + shift
def drive(f, obs):
    x = ember.arange(3.)
    for i in range(8):
        if i < 3: obs.append(f(x))
        elif i < 5: obs.append(f(x, shift=5.0))
        else: obs.append(f(x, scale=-1.0))
""",
    "set_to_none_false_step": """
import ember
m = ember.nn.Linear(2, 1)
opt = ember.optim.SGD(m.parameters(), lr=0.1)
def f(x):
    l = m(x).sum(); l.backward(); return l.detach()
def drive(ff, obs):
    x = ember.ones(3, 2)
    for i in range(9):
        obs.append(ff(x)); obs.append(m.weight.grad.clone())
        if i % 3 == 2: opt.zero_grad(set_to_none=(i == 5))
        if i == 4: opt.step()
""",
    "storage_offset_inplace": """
import ember
def f(x): x.add_(1); return x.sum()
def drive(ff, obs):
    base = ember.zeros(10)
    for i in range(8):
        obs.append(ff(base[i % 3: i % 3 + 4])); obs.append(base.clone())
""",
    "hook_added_later": """
import ember
m = ember.nn.Linear(3, 2)
def f(x): return m(x)
def drive(ff, obs):
    x = ember.randn(2, 3)
    for i in range(8):
        if i == 4: h = m.register_forward_hook(lambda mod, inp, out: out * 10)
        if i == 6: h.remove()
        obs.append(ff(x).detach())
""",
}


def _observe(o):
    from ember.tensor import Tensor

    if isinstance(o, Tensor):
        return ("T", tuple(o.shape), str(o.dtype), o.requires_grad, np.asarray(o.detach().cpu().numpy()).copy())
    if isinstance(o, BaseException):
        return ("E", type(o).__name__)
    if isinstance(o, (list, tuple)):
        return (type(o).__name__, [_observe(x) for x in o])
    if isinstance(o, dict):
        return ("dict", [(k, _observe(v)) for k, v in o.items()])
    return ("v", o)


def _assert_same(a, b, where="obs"):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype, where
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=where)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: eager {a!r}, compiled {b!r}"


def _run(src: str, compiled: bool):
    g = {"__name__": "compile_probe"}
    ember.manual_seed(0)
    exec(textwrap.dedent(src), g)  # noqa: S102 - the rows above
    f = ember.compile(g["f"]) if compiled else g["f"]
    obs: list = []
    g["drive"](f, obs)
    return _observe(obs), f


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_compiled_equals_eager_call_after_call(name):
    want, _ = _run(PROGRAMS[name], compiled=False)
    got, f = _run(PROGRAMS[name], compiled=True)
    _assert_same(want, got)
    assert f.stats.captures + f.stats.eager_calls + f.stats.replays >= 6


def test_zero_dim_fused_result_is_an_array_that_takes_inplace_ops():
    # a fused chain ending in a 0-d result (a loss) returned a NumPy scalar, and ``loss.add_(1)`` failed
    m = ember.nn.Linear(3, 1)
    f = ember.compile(lambda x: m(x).pow(2).mean() * 100 + 1)
    x = ember.ones(2, 3)
    for _ in range(4):
        got = f(x)
        want = m(x).pow(2).mean() * 100 + 1
        got.add_(1)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy() + 1, rtol=1e-6)
    assert f.stats.replays >= 2


def test_saved_output_modified_in_place_names_the_compiled_function():
    f = ember.compile(lambda x: x.exp())
    for _ in range(4):
        x = ember.ones(3, requires_grad=True)
        y = f(x)
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    assert f.stats.replays >= 2


def test_seeding_inside_is_a_graph_break():
    f = ember.compile(lambda x: (ember.manual_seed(7), x + ember.rand(3))[1])
    outs = [f(ember.ones(3)) for _ in range(4)]
    for o in outs[1:]:
        np.testing.assert_array_equal(o.numpy(), outs[0].numpy())
    assert f.stats.replays == 0 and any("seeded" in r for r in f.stats.graph_breaks)
