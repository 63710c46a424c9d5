"""The kernels shared by the cpu and cuda backends (``ember_cpu_numpy.xp_kernels``).

* Both backends' tables route every shared kernel name to the one shared implementation: the cpu
  table holds the shared closure itself (no wrapper on the eager hot path), the cuda table a
  forwarder to ``arraymod.shared``, which on NumPy (the cuda backend's stand-in without a GPU)
  runs the very same code.
* Each shared kernel, bound to NumPy, agrees with PyTorch (values, dtypes, shapes) on a few
  inputs, through the shared table, the cpu table and the cuda table on its NumPy stand-in.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ember_cpu_numpy import kernels as cpu_kernels  # noqa: E402
from ember_cpu_numpy import plugin as cpu_plugin  # noqa: E402
from ember_cpu_numpy import xp_kernels  # noqa: E402

SHARED = xp_kernels.make_kernels(np)


def _unwrap(fn):
    while hasattr(fn, "__wrapped__"):  # ember_cpu_numpy.lowp's float16/bfloat16 wrapper
        fn = fn.__wrapped__
    return fn


@pytest.fixture
def cuda_numpy():
    """The cuda backend's kernel table with NumPy as its array module (no GPU needed)."""
    pytest.importorskip("ember_cuda_cupy")
    from ember_cuda_cupy import arraymod as am
    from ember_cuda_cupy import plugin as cuda_plugin

    old = am.use(np)
    try:
        yield cuda_plugin.ember_kernels("cuda"), am
    finally:
        am.use(old)


# ---- one implementation ---------------------------------------------------------------------------
def test_cpu_table_holds_the_shared_closures():
    table = cpu_plugin.ember_kernels("cpu")
    for name, fn in SHARED.items():
        assert name in table, name
        assert _unwrap(table[name]).__code__ is fn.__code__, name
    # the eager hot path: the cpu kernel module's entries are the shared closures themselves
    for name, fn in cpu_kernels.SHARED.items():  # (relu: a size test first, for its compiled pass)
        assert getattr(cpu_kernels.KERNELS[name], "__wrapped__", None) is fn if name == "relu" else \
            cpu_kernels.KERNELS[name] is fn


def test_cuda_table_forwards_to_the_same_implementation(cuda_numpy):
    table, am = cuda_numpy
    cpu = cpu_plugin.ember_kernels("cpu")
    for name in SHARED:
        assert getattr(table[name], "shared_kernel", None) == name, name
        assert am.shared[name].__code__ is _unwrap(cpu[name]).__code__, name


def test_make_kernels_rejects_unknown_options():
    with pytest.raises(TypeError, match="unexpected options"):
        xp_kernels.make_kernels(np, no_such_option=True)


# ---- against PyTorch ------------------------------------------------------------------------------
_rng = np.random.default_rng(0)
F = _rng.normal(size=(3, 4)).astype(np.float32) * 3
F[0, 0], F[0, 1], F[0, 2] = np.nan, np.inf, -0.0
G = _rng.normal(size=(3, 4)).astype(np.float32) + 0.5
P = np.abs(G) + 0.1  # positive
U = (_rng.uniform(-0.9, 0.9, size=(3, 4))).astype(np.float64)
I = _rng.integers(-6, 7, size=(3, 4)).astype(np.int64)
J = _rng.integers(1, 5, size=(3, 4)).astype(np.int32)
B = F > 0
_LN_STATS = [v.numpy() for v in torch.native_layer_norm(torch.from_numpy(G), (4,), None, None, 1e-5)[1:]]
IDX = np.array([[2, 0, 1, 2], [0, 0, 1, 1]])
T = torch.from_numpy


def _t(a):
    return T(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a


def _unary(name, tfn=None, inputs=(F, G, I)):
    tfn = tfn or getattr(torch, name)
    return [(name, (x,), lambda x, f=tfn: f(_t(x))) for x in inputs]


CASES = [
    *_unary("exp", inputs=(F, G)), *_unary("log", inputs=(P,)), *_unary("log1p", inputs=(P,)),
    *_unary("expm1", inputs=(F,)), *_unary("sqrt", inputs=(P,)), *_unary("rsqrt", inputs=(P,)),
    *_unary("sin", inputs=(F,)), *_unary("cos", inputs=(F,)), *_unary("tanh", inputs=(F,)),
    *_unary("sigmoid", inputs=(F, G.astype(np.float64) * 40)), *_unary("erf", inputs=(F, G.astype(np.float64))),
    *_unary("floor", inputs=(F, I)), *_unary("ceil", inputs=(F,)), *_unary("round", inputs=(F * 2,)),
    *_unary("trunc", inputs=(F,)), *_unary("logical_not", inputs=(F, I, B)), *_unary("isnan", inputs=(F,)),
    *_unary("neg"), *_unary("abs", inputs=(F, I)), *_unary("sign", inputs=(F, I, B)),
    *_unary("relu", torch.relu, inputs=(F, I)),
    *[(name, (a, b), lambda a, b, f=tfn: f(_t(a), _t(b))) for name, tfn in (
        ("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("div", torch.div),
        ("maximum", torch.maximum), ("minimum", torch.minimum), ("atan2", torch.atan2), ("pow", torch.pow),
        ("eq", torch.eq), ("ne", torch.ne), ("lt", torch.lt), ("le", torch.le), ("gt", torch.gt), ("ge", torch.ge),
        ("logical_and", torch.logical_and), ("logical_or", torch.logical_or), ("logical_xor", torch.logical_xor),
    ) for a, b in ((F, G), (G, F[0]))],
    *[(name, (I, J.astype(np.int64)), lambda a, b, f=tfn: f(_t(a), _t(b))) for name, tfn in (
        ("floor_divide", torch.floor_divide), ("remainder", torch.remainder), ("bitwise_and", torch.bitwise_and),
        ("bitwise_or", torch.bitwise_or), ("bitwise_xor", torch.bitwise_xor))],
    ("add", (F, 2.5), lambda a, b: torch.add(_t(a), b)),
    ("mul", (I.astype(np.int8), 3), lambda a, b: torch.mul(_t(a), b)),
    ("remainder", (G, -0.75), lambda a, b: torch.remainder(_t(a), b)),
    ("where", (B, F, G), lambda c, a, b: torch.where(_t(c), _t(a), _t(b))),
    ("where", (np.tile(B, (30, 40)), np.tile(F, (30, 40)), 0.0),  # >= 4096 elements: the branch-free path
     lambda c, a, b: torch.where(_t(c), _t(a), torch.tensor(b, dtype=torch.float32))),
    ("clamp", (F, -1.0, 1.0), lambda x, lo, hi: torch.clamp(_t(x), lo, hi)),
    ("clamp", (I, None, 2), lambda x, lo, hi: torch.clamp(_t(x), lo, hi)),
    ("sum", (G, (1,), False), lambda x, d, k: _t(x).sum(d, keepdim=k)),
    ("sum", (I, (0, 1), True), lambda x, d, k: _t(x).sum(d, keepdim=k)),
    ("prod", (G, (0,), True), lambda x, d, k: _t(x).prod(d[0], keepdim=k)),
    ("amax", (F, (1,), True), lambda x, d, k: _t(x).amax(d, keepdim=k)),
    ("amin", (I, (0,), False), lambda x, d, k: _t(x).amin(d, keepdim=k)),
    ("any", (B, (1,), False), lambda x, d, k: _t(x).any(d[0], keepdim=k)),
    ("all", (B, (0, 1), False), lambda x, d, k: _t(x).all()),
    ("argmax", (G, 1, True), lambda x, d, k: _t(x).argmax(d, keepdim=k)),
    ("argmax", (G, None, False), lambda x, d, k: _t(x).argmax()),
    ("argmin", (I, 0, False), lambda x, d, k: _t(x).argmin(d, keepdim=k)),
    ("cumsum", (G, 1), lambda x, d: _t(x).cumsum(d)),
    ("cumprod", (I, 0), lambda x, d: _t(x).cumprod(d)),
    ("sort", (F, 1, True), lambda x, d, desc: tuple(torch.sort(_t(x), dim=d, descending=desc, stable=True))),
    ("sort", (I, 0, False), lambda x, d, desc: tuple(torch.sort(_t(x), dim=d, descending=desc, stable=True))),
    ("reshape", (G, (4, 3)), lambda x, s: _t(x).reshape(s)),
    ("permute", (G, (1, 0)), lambda x, p: _t(x).permute(p)),
    ("expand", (G[:1], (3, 4)), lambda x, s: _t(x).expand(s)),
    ("slice", (G, ((0, 3, 2), (1, 4, 1))), lambda x, s: _t(x)[0:3:2, 1:4]),
    ("flip", (G, (0, 1)), lambda x, d: _t(x).flip(d)),
    ("pad", (G, ((1, 0), (0, 2)), -1.0), lambda x, p, v: torch.nn.functional.pad(_t(x), (0, 2, 1, 0), value=v)),
    ("cat", ([G, F], 0), lambda xs, d: torch.cat([_t(x) for x in xs], d)),
    ("clone", (G.T,), lambda x: _t(x).clone()),
    ("gather", (G, 0, IDX), lambda x, d, i: torch.gather(_t(x), d, _t(i))),
    ("scatter", (G, 0, IDX[:, :2], F[:2, :2]), lambda x, d, i, s: _t(x).scatter(d, _t(i), _t(s))),
    ("scatter_add", (G, 0, IDX, F), lambda x, d, i, s: _t(x).scatter_add(d, _t(i), _t(s[:2]))),
    ("index_select", (G, 1, np.array([3, 0, 3])), lambda x, d, i: _t(x).index_select(d, _t(i))),
    ("index_put", (G, (np.array([0, 0, 2]),), np.ones(4, np.float32), True),
     lambda x, i, v, acc: _t(x).index_put((_t(i[0]),), _t(v), accumulate=acc)),
    ("nonzero", (I,), lambda x: torch.nonzero(_t(x))),
    ("softmax", (F[1:], 1), lambda x, d: torch.softmax(_t(x), d)),
    ("log_softmax", (G, 0), lambda x, d: torch.log_softmax(_t(x), d)),
    ("relu_backward", (G, F), lambda g, y: torch.ops.aten.threshold_backward(_t(g), _t(y), 0)),
    # (below about -2 gelu and its gradient are differences of nearly equal terms, exact only to a
    # few ulps of float32's 1 in both libraries; 0-d operands are in tests/parity/test_fix_gelu.py)
    *[("gelu", (x, mode), lambda x, m: torch.nn.functional.gelu(_t(x), approximate=m))
      for x in (np.clip(F, -2.5, 5), U) for mode in ("none", "tanh")],
    *[("gelu_backward", (g, x, mode), lambda g, x, m: torch.ops.aten.gelu_backward(_t(g), _t(x), approximate=m))
      for g, x in ((G, np.clip(F, -2, 5)), (G.T.astype(np.float64), U.T))
      for mode in ("none", "tanh")],
    ("layer_norm", (G, 1, P[0], U[0].astype(np.float32), 1e-5),
     lambda x, k, w, b, eps: torch.native_layer_norm(_t(x), (4,), _t(w), _t(b), eps)),
    ("layer_norm", (U, 2, None, None, 1e-3), lambda x, k, w, b, eps: torch.native_layer_norm(_t(x), (3, 4), w, b, eps)),
    ("layer_norm_backward", (P, G, *_LN_STATS, P[1], 1, (True, True, True)),
     lambda g, x, m, r, w, k, needs: torch.ops.aten.native_layer_norm_backward(
         _t(g), _t(x), (4,), _t(m), _t(r), _t(w), torch.zeros(4), list(needs))),
    *[(name, (U,), lambda x, f=tfn: f(_t(x))) for name, tfn in (
        ("asin", torch.asin), ("acos", torch.acos), ("atan", torch.atan), ("sinh", torch.sinh), ("cosh", torch.cosh),
        ("asinh", torch.asinh), ("atanh", torch.atanh), ("exp2", torch.exp2), ("erfc", torch.erfc),
        ("lgamma", torch.lgamma), ("digamma", torch.digamma))],
    ("acosh", (P.astype(np.float64) + 1,), lambda x: torch.acosh(_t(x))),
    ("lgamma", (np.array([-2.5, -1.0, 0.0, 1.0, 2.0, 0.5, 30.0, np.inf]),), lambda x: torch.lgamma(_t(x))),
    ("digamma", (np.array([-2.5, -1.0, -0.0, 0.0, 1.0, 0.5, 30.0]),), lambda x: torch.digamma(_t(x))),
]


def _tables(cuda_numpy):
    table, _ = cuda_numpy
    return {"shared": SHARED, "cpu": cpu_plugin.ember_kernels("cpu"), "cuda-on-numpy": table}


def _check(out, ref, name):
    if isinstance(ref, (tuple, list)):
        assert len(out) == len(ref), name
        for o, r in zip(out, ref):
            _check(o, r, name)
        return
    assert isinstance(out, np.ndarray), (name, type(out))
    r = ref.numpy()
    assert out.shape == r.shape, (name, out.shape, r.shape)
    assert out.dtype == r.dtype, (name, out.dtype, r.dtype)
    if out.dtype.kind == "f":
        np.testing.assert_allclose(out, r, rtol=2e-6 if out.dtype == np.float32 else 1e-12, atol=1e-7, err_msg=name)
    else:
        np.testing.assert_array_equal(out, r, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_shared_kernel_matches_pytorch(case, cuda_numpy):
    name, args, ref = case
    expected = ref(*args)
    for where, table in _tables(cuda_numpy).items():
        fresh = [list(a) if isinstance(a, list) else a for a in args]
        before = [a.copy() if isinstance(a, np.ndarray) else a for a in fresh]
        out = table[name](*fresh)
        _check(out, expected, f"{name} ({where})")
        for a, b in zip(fresh, before):  # kernels never modify their inputs
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)


def test_every_shared_elementwise_kernel_is_checked():
    # linalg and optim have their own tests below, and two runtime queries need no reference
    checked = {c[0] for c in CASES}
    unchecked = (set(SHARED) - checked - set(xp_kernels.linalg_kernels(np)) - set(xp_kernels.optim_kernels(np))
                 - {"is_contiguous", "strides"})
    assert not unchecked, sorted(unchecked)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_shared_linalg_matches_pytorch(dt, cuda_numpy):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 4, 4)).astype(dt)
    spd = a @ np.swapaxes(a, -1, -2) + 4 * np.eye(4, dtype=dt)
    bad = spd.copy()
    bad[1, 2, 2] = -10.0
    tol = {"rtol": 1e-4, "atol": 1e-5} if dt == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for table in _tables(cuda_numpy).values():
        L, info = table["cholesky"](spd)
        np.testing.assert_allclose(L, torch.linalg.cholesky(T(spd)).numpy(), **tol)
        assert info.tolist() == [0, 0]
        _, info = table["cholesky"](bad)
        assert info.tolist() == torch.linalg.cholesky_ex(T(bad)).info.tolist()
        x = table["triangular_solve"](np.triu(spd), a, True, True, False)
        np.testing.assert_allclose(x, torch.linalg.solve_triangular(T(np.triu(spd)), T(a), upper=True).numpy(), **tol)
        lu, piv, info = table["lu_factor"](a)
        tlu, tpiv = torch.linalg.lu_factor(T(a))
        np.testing.assert_allclose(lu, tlu.numpy(), **tol)
        assert piv.tolist() == tpiv.tolist() and info.tolist() == [0, 0]
        w, v = table["eigh"](spd, False)
        np.testing.assert_allclose(w, torch.linalg.eigvalsh(T(spd)).numpy(), **tol)
        q, r = table["qr"](a, "reduced")
        np.testing.assert_allclose(q @ r, a, **tol)
        s = table["svd"](a, False)[1]
        np.testing.assert_allclose(s, torch.linalg.svdvals(T(a)).numpy(), **tol)


def test_sigmoid_keeps_full_precision_in_both_tails():
    x = np.array([-745.0, -700.0, -40.0, 40.0, 745.0, math.nan])
    np.testing.assert_allclose(SHARED["sigmoid"](x)[:-1], torch.sigmoid(T(x)).numpy()[:-1], rtol=1e-15, atol=1e-300)
    assert np.isnan(SHARED["sigmoid"](x)[-1])


@pytest.mark.parametrize("config", [
    {"amsgrad": False, "maximize": False, "weight_decay": 0.0, "decoupled": False},
    {"amsgrad": True, "maximize": True, "weight_decay": 0.1, "decoupled": False},
    {"amsgrad": False, "maximize": False, "weight_decay": 0.1, "decoupled": True},
], ids=["adam", "adam-amsgrad-maximize-wd", "adamw"])
def test_shared_adam_step_matches_pytorch(config, cuda_numpy):
    rng = np.random.default_rng(2)
    p0 = rng.normal(size=(3, 5))
    grads = [rng.normal(size=(3, 5)) for _ in range(3)]
    tp = torch.tensor(p0, requires_grad=True)
    cls = torch.optim.AdamW if config["decoupled"] else torch.optim.Adam
    opt = cls([tp], lr=0.05, betas=(0.8, 0.99), eps=1e-8, weight_decay=config["weight_decay"],
              amsgrad=config["amsgrad"], maximize=config["maximize"], foreach=False)
    for g in grads:
        tp.grad = torch.tensor(g)
        opt.step()
    for table in _tables(cuda_numpy).values():
        p, m, v, vmax = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), np.zeros_like(p0)
        for step, g in enumerate(grads, 1):
            table["adam_step"](p, g, m, v, vmax, step, 0.05, 0.8, 0.99, 1e-8, config["weight_decay"],
                               config["amsgrad"], config["maximize"], config["decoupled"])
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("config", [
    {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0, "maximize": False},
    {"momentum": 0.9, "dampening": 0.1, "nesterov": False, "weight_decay": 0.01, "maximize": True},
    {"momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.0, "maximize": False},
], ids=["sgd", "momentum-dampening-wd-maximize", "nesterov"])
def test_shared_sgd_step_matches_pytorch(config, cuda_numpy):
    rng = np.random.default_rng(3)
    p0 = rng.normal(size=(4, 2))
    grads = [rng.normal(size=(4, 2)) for _ in range(3)]
    tp = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.SGD([tp], lr=0.1, foreach=False, **config)
    for g in grads:
        tp.grad = torch.tensor(g)
        opt.step()
    for table in _tables(cuda_numpy).values():
        p, buf = p0.copy(), np.zeros_like(p0)
        for step, g in enumerate(grads):
            table["sgd_step"](p, g, buf if config["momentum"] else None, 0.1, config["momentum"],
                              config["dampening"], config["weight_decay"], config["nesterov"], config["maximize"],
                              step == 0)
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-12, atol=1e-14)
