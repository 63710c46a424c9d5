"""``nn.functional.linear_cross_entropy``, ``nn.LinearCrossEntropyLoss`` and
``nn.LinearCrossEntropyOptions`` (new in PyTorch 2.13), compared with real PyTorch at runtime on
every device: values and gradients of input, linear weight and bias on the reference path
(``options=None``) and the chunked one (every reduction, class weights, ignore_index in and out of
range, 1-D input, 16-bit inputs accumulated in float32), the chunk sizes PyTorch picks, the
fall-back warning, the second-backward rule, and the error types and messages.
"""

from __future__ import annotations

import re
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(2013)
N, F_IN, C = 7, 3, 5


def X(*shape, dtype=np.float64, grad=True) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype), grad=grad)


def TGT(*shape, high=C, values=None) -> Arg:
    arr = np.array(values, dtype=np.int64) if values is not None else R.integers(0, high, shape).astype(np.int64)
    return Arg(arr, grad=False)


def CW(dtype=np.float64) -> Arg:
    """Class weights, positive like PyTorch's samples."""
    return Arg(R.uniform(0.5, 2.0, (C,)).astype(dtype), grad=False)


def lce(options: dict | None = None, **kwargs):
    """``F.linear_cross_entropy`` on either library, ``options`` given as the options' fields."""

    def fn(lib, x, w, t, **kw):
        opts = (
            None
            if options is None
            else lib.nn.LinearCrossEntropyOptions(
                **{
                    k: getattr(lib, v[6:]) if isinstance(v, str) and v.startswith("dtype:") else v
                    for k, v in options.items()
                }
            )
        )
        return lib.nn.functional.linear_cross_entropy(x, w, t, options=opts, **kw, **kwargs)

    return fn


OPTIONS = [
    None,
    {"batch_chunk_size": 2, "allow_retain_graph": True},
    {"batch_chunk_size": 3},
    {},
    {"chunking_method": "aspect_ratio:2"},
    {"chunking_method": "aspect_ratio"},
    {"batch_chunk_size": 1, "acc_policy": "accurate"},
]
IGNORED = [0, 1, 0, 1, 3, 0, 2]  # rows whose target is 1 or 0 are ignored below


def _rows():
    rows = []
    for opt in OPTIONS:
        for reduction in ("mean", "sum", "none"):
            rows.append((opt, {"reduction": reduction}, X(N, F_IN), X(C, F_IN), TGT(N)))
            rows.append((opt, {"reduction": reduction, "weight": CW()}, X(N, F_IN), X(C, F_IN), TGT(N)))
            rows.append((opt, {"reduction": reduction, "linear_bias": X(C)}, X(N, F_IN), X(C, F_IN), TGT(N)))
            rows.append(
                (
                    opt,
                    {"reduction": reduction, "linear_bias": X(C), "weight": CW(), "ignore_index": 1},
                    X(N, F_IN),
                    X(C, F_IN),
                    TGT(values=IGNORED),
                )
            )
            # an out-of-range ignore_index (the chunked path redirects those rows to class 0)
            rows.append(
                (
                    opt,
                    {"reduction": reduction, "ignore_index": C + 5},
                    X(N, F_IN),
                    X(C, F_IN),
                    TGT(values=[C + 5, 1, 2, C + 5, 4, 0, 3]),
                )
            )
            rows.append(
                (
                    opt,
                    {"reduction": reduction, "ignore_index": -1, "weight": CW()},
                    X(N, F_IN),
                    X(C, F_IN),
                    TGT(values=[-1, 1, 2, -1, 4, 0, 3]),
                )
            )
            # 1-D input with a 0-d target
            rows.append((opt, {"reduction": reduction, "linear_bias": X(C)}, X(F_IN), X(C, F_IN), TGT(values=2)))
            # every target ignored: mean is NaN (0/0), sum and none are zeros
            rows.append((opt, {"reduction": reduction, "ignore_index": 1}, X(N, F_IN), X(C, F_IN), TGT(values=[1] * N)))
            # an empty batch
            rows.append((opt, {"reduction": reduction}, X(0, F_IN), X(C, F_IN), TGT(0)))
    return rows


ROWS = _rows()


@pytest.mark.parametrize("i", range(len(ROWS)))
def test_values_and_grads(device, i):
    opt, kwargs, x, w, t = ROWS[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows the chunked path declines warn on both sides
        check(lce(opt), (x, w, t), kwargs, device)


# the reference path only: K-dimensional weights, class-probability targets, label smoothing
REFERENCE = [
    ({}, X(4, F_IN), X(C, 2, 3, F_IN), TGT(4, 2, 3)),
    ({"linear_bias": X(C, 2, 3), "reduction": "none"}, X(4, F_IN), X(C, 2, 3, F_IN), TGT(4, 2, 3)),
    ({"weight": CW(), "reduction": "sum", "ignore_index": 2}, X(4, F_IN), X(C, 2, F_IN), TGT(4, 2)),
    ({}, X(N, F_IN), X(C, F_IN), Arg(R.uniform(0, 1, (N, C)), grad=False)),
    ({"reduction": "none", "label_smoothing": 0.2}, X(N, F_IN), X(C, F_IN), Arg(R.uniform(0, 1, (N, C)))),
    ({}, X(F_IN), X(C, F_IN), Arg(R.uniform(0, 1, (C,)), grad=False)),
    ({"label_smoothing": 0.1, "weight": CW()}, X(N, F_IN), X(C, F_IN), TGT(N)),
    ({"label_smoothing": 0.1, "reduction": "none", "ignore_index": 0}, X(N, F_IN), X(C, F_IN), TGT(N)),
    ({}, X(N, F_IN, dtype=np.float32), X(C, F_IN, dtype=np.float32), TGT(N)),
]


@pytest.mark.parametrize("with_options", [False, True])
@pytest.mark.parametrize("i", range(len(REFERENCE)))
def test_reference_path(device, i, with_options):
    kwargs, x, w, t = REFERENCE[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # with options: the fall-back warning (checked below)
        check(lce({"batch_chunk_size": 2} if with_options else None), (x, w, t), kwargs, device)


# 16-bit inputs: "auto" accumulates in float32 (PyTorch's CPU pick), as does an explicit acc_dtype
LOWP = [
    (dt, opt, kw)
    for dt in ("float16", "bfloat16")
    for opt in ({"batch_chunk_size": 2, "allow_retain_graph": True}, {"acc_dtype": "dtype:float32"}, {})
    for kw in ({"reduction": "mean"}, {"reduction": "sum", "linear_bias": True}, {"reduction": "none"})
]


@pytest.mark.parametrize("i", range(len(LOWP)))
def test_low_precision_chunked(device, i):
    dt, opt, kw = LOWP[i]
    kw = dict(kw)
    if kw.pop("linear_bias", False):
        kw["linear_bias"] = X(C, dtype=np.float32)

    def fn(lib, x, w, t, **k):  # the 16-bit cast on each side keeps the arrays NumPy-friendly
        d = getattr(lib, dt)
        k = {n: (v.to(d) if n == "linear_bias" else v) for n, v in k.items()}
        return lce(opt)(lib, x.to(d), w.to(d), t, **k)

    check(fn, (X(N, F_IN, dtype=np.float32), X(C, F_IN, dtype=np.float32), TGT(N)), kw, device, tol=2.0)


def test_chunked_equals_reference_float64(device):
    """Chunking only bounds memory: each chunk size gives the reference path's values."""
    x = ember.tensor(R.standard_normal((9, 4)), device=device)
    w = ember.tensor(R.standard_normal((6, 4)), device=device)
    t = ember.tensor(R.integers(0, 6, 9), device=device)
    ref = ember.nn.functional.linear_cross_entropy(x, w, t, reduction="none")
    for size in (1, 2, 4, 9, 50):
        got = ember.nn.functional.linear_cross_entropy(
            x, w, t, reduction="none", options=ember.nn.LinearCrossEntropyOptions(batch_chunk_size=size)
        )
        np.testing.assert_allclose(got.cpu().numpy(), ref.cpu().numpy(), rtol=1e-12, atol=1e-12)


def test_chunks_bound_the_logits(monkeypatch):
    """The logits matmul never sees more than batch_chunk_size rows."""
    rows = []
    mm = ember.Tensor.mm

    def spy(self, other):
        rows.append(self.shape[0])
        return mm(self, other)

    monkeypatch.setattr(ember.Tensor, "mm", spy)
    x = ember.randn(10, 4, requires_grad=True)
    w = ember.randn(6, 4, requires_grad=True)
    loss = ember.nn.functional.linear_cross_entropy(
        x, w, ember.randint(0, 6, (10,)), options=ember.nn.LinearCrossEntropyOptions(batch_chunk_size=3)
    )
    loss.backward()
    assert rows and max(r for r in rows if r != 6) <= 3  # (6 rows: the weight-gradient p^T @ x)


@pytest.mark.parametrize("shape", [(8, 5, 4), (8, 4, 40), (1000, 16, 3000), (33, 7, 7), (1, 3, 9), (0, 3, 4)])
@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"chunking_method": "aspect_ratio"},
        {"chunking_method": "aspect_ratio:4"},
        {"batch_chunk_size": 5},
        {"chunking_method": None},
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_adjust_matches(shape, fields, dtype):
    """The resolved chunk size, policy and accumulation dtype are PyTorch's (CPU) ones."""
    n, f, c = shape
    t = torch.nn.LinearCrossEntropyOptions(**fields)._adjust(n, f, c, getattr(torch, dtype), torch.device("cpu"))
    e = ember.nn.LinearCrossEntropyOptions(**fields)._adjust(n, f, c, getattr(ember, dtype), ember.device("cpu"))
    assert (e.batch_chunk_size, e.acc_policy, e.chunking_method, str(e.acc_dtype).split(".")[-1]) == (
        t.batch_chunk_size,
        t.acc_policy,
        t.chunking_method,
        str(t.acc_dtype).split(".")[-1],
    )


def _msg(exc: BaseException) -> str:
    return re.sub(r"\b(torch|ember)\.", "LIB.", str(exc))


def _both_raise(fn):
    out = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as info:  # noqa: PT011 - the type is compared below
            fn(lib)
        out.append(info.value)
    t_exc, e_exc = out
    assert type(e_exc).__name__ == type(t_exc).__name__, (t_exc, e_exc)
    assert _msg(e_exc) == _msg(t_exc)


def _f(lib, *shapes, dtype="float32", **kw):
    d = getattr(lib, dtype)
    tensors = [lib.zeros(s, dtype=d) if isinstance(s, tuple) else s(lib) for s in shapes]
    return lib.nn.functional.linear_cross_entropy(*tensors, **kw)


def _long(*shape, fill=0):
    return lambda lib: lib.full(shape, fill, dtype=lib.int64)


ERRORS = [
    lambda lib: _f(lib, (2, 3, 3), (2, 3), (3, 2)),
    lambda lib: _f(lib, (2, 3), (2,), (2, 2)),
    lambda lib: _f(lib, (2, 3), (2, 4), (2, 2)),
    lambda lib: _f(lib, (2, 3), (2, 3), (2, 2), ignore_index=0),
    lambda lib: _f(lib, (3,), (2, 4, 3), (2, 4)),
    lambda lib: _f(lib, (2, 3), (2, 3), (2,), linear_bias=lib.zeros(3)),
    lambda lib: _f(lib, (2, 3), (4, 2, 3), _long(2, 2), linear_bias=lib.zeros(4)),
    lambda lib: _f(lib, (2, 3), (4, 3), _long(2), reduction="bad"),
    lambda lib: _f(lib, (2, 3), (4, 3), _long(2), reduction="bad", options=lib.nn.LinearCrossEntropyOptions()),
    lambda lib: _f(lib, (5, 3), (4, 3), _long(5, fill=7), options=lib.nn.LinearCrossEntropyOptions()),
    lambda lib: _f(lib, (5, 3), (4, 3), _long(5, fill=-1), options=lib.nn.LinearCrossEntropyOptions()),
    lambda lib: _f(
        lib, (5, 3), (4, 3), _long(5, fill=7), weight=lib.ones(4), options=lib.nn.LinearCrossEntropyOptions()
    ),
    lambda lib: _f(lib, (5, 3), (4, 3), _long(5), options=lib.nn.LinearCrossEntropyOptions(acc_dtype=lib.float16)),
    lambda lib: _f(lib, (5, 3), (4, 3), _long(5), options=lib.nn.LinearCrossEntropyOptions(acc_dtype=lib.float64)),
    lambda lib: _f(
        lib, (5, 3), (4, 3), _long(5), dtype="float16", options=lib.nn.LinearCrossEntropyOptions(acc_dtype=lib.float64)
    ),
    lambda lib: _f(
        lib,
        (8, 3),
        (4, 3),
        _long(8),
        options=lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2, chunking_method="aspect_ratio"),
    ),
    lambda lib: lib.nn.LinearCrossEntropyOptions(acc_policy="fast"),
    lambda lib: lib.nn.LinearCrossEntropyOptions(chunking_method="aspect_ratio:0"),
    lambda lib: lib.nn.LinearCrossEntropyOptions(chunking_method="ratio"),
    lambda lib: lib.nn.LinearCrossEntropyOptions(batch_chunk_size=0),
    lambda lib: lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2.0),
    lambda lib: lib.nn.LinearCrossEntropyOptions(acc_dtype=lib.int32),
    lambda lib: lib.nn.LinearCrossEntropyLoss(3, 4, weight=lib.ones(3)),
    lambda lib: lib.nn.LinearCrossEntropyLoss(3, 4, label_smoothing=1.5),
    # cross_entropy tells class probabilities from indices by the target's shape (equal to the input's)
    lambda lib: lib.nn.LinearCrossEntropyLoss(3, 2)(lib.zeros(4, 3), lib.zeros(4, 2, dtype=lib.int64)),
    lambda lib: lib.nn.LinearCrossEntropyLoss(3, 2)(lib.zeros(4, 3), lib.zeros(5, 2)),
    lambda lib: lib.nn.LinearCrossEntropyLoss(3, 2)(lib.zeros(4, 5), lib.zeros(4, 2)),
]


@pytest.mark.parametrize("fn", ERRORS)
def test_errors(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _both_raise(fn)


@pytest.mark.parametrize("case", ["int32 target", "label_smoothing", "K-dim", "probabilities"])
def test_fallback_warning(case):
    def run(lib):
        opts = lib.nn.LinearCrossEntropyOptions()
        x = lib.zeros(4, 3)
        if case == "int32 target":
            return lib.nn.functional.linear_cross_entropy(
                x, lib.zeros(5, 3), lib.zeros(4, dtype=lib.uint8), options=opts
            )
        if case == "label_smoothing":
            return lib.nn.functional.linear_cross_entropy(
                x, lib.zeros(5, 3), lib.zeros(4, dtype=lib.int64), label_smoothing=0.1, options=opts, reduction="sum"
            )
        if case == "K-dim":
            return lib.nn.functional.linear_cross_entropy(
                x, lib.zeros(5, 2, 3), lib.zeros(4, 2, dtype=lib.int64), linear_bias=lib.zeros(5, 2), options=opts
            )
        return lib.nn.functional.linear_cross_entropy(x, lib.zeros(5, 3), lib.zeros(4, 5), options=opts)

    msgs = []
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run(lib)
        assert [w.category for w in caught] == [UserWarning]
        assert caught[0].filename == __file__  # stacklevel: the caller's line
        msgs.append(_msg(caught[0].message))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("allow", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_second_backward(device, allow, reduction):
    """Scalar reductions consume their precomputed gradients unless allow_retain_graph; "none"
    recomputes them, so a retained graph backs through it twice."""
    results = []
    for lib, dev in ((torch, "cpu"), (ember, device)):
        g = np.random.default_rng(5)
        x = lib.tensor(g.standard_normal((6, 3)), device=dev, requires_grad=True)
        w = lib.tensor(g.standard_normal((4, 3)), device=dev, requires_grad=True)
        t = lib.tensor(g.integers(0, 4, 6), device=dev)
        opts = lib.nn.LinearCrossEntropyOptions(batch_chunk_size=4, allow_retain_graph=allow)
        loss = lib.nn.functional.linear_cross_entropy(x, w, t, reduction=reduction, options=opts).sum()
        loss.backward(retain_graph=True)
        try:
            loss.backward()
            results.append(("ok", x.grad.detach().cpu().numpy(), w.grad.detach().cpu().numpy()))
        except RuntimeError as exc:
            results.append(("raised", str(exc)))
    assert results[0][0] == results[1][0]
    if results[0][0] == "ok":
        for a, b in zip(results[0][1:], results[1][1:]):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    else:
        assert results[0][1] == results[1][1]


def test_no_grad_and_partial_grads(device):
    """Only the tensors that require grad get one; under no_grad the chunked path records nothing."""
    g = np.random.default_rng(3)
    arrays = g.standard_normal((5, 3)), g.standard_normal((4, 3)), g.standard_normal(4), g.integers(0, 4, 5)
    out = {}
    for lib, dev in ((torch, "cpu"), (ember, device)):
        x = lib.tensor(arrays[0], device=dev)
        w = lib.tensor(arrays[1], device=dev, requires_grad=True)
        b = lib.tensor(arrays[2], device=dev, requires_grad=True)
        t = lib.tensor(arrays[3], device=dev)
        opts = lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
        with lib.no_grad():
            assert not lib.nn.functional.linear_cross_entropy(x, w, t, linear_bias=b, options=opts).requires_grad
        lib.nn.functional.linear_cross_entropy(x, w, t, linear_bias=b, options=opts).backward()
        out[lib.__name__] = (x.grad, w.grad.cpu().numpy(), b.grad.cpu().numpy())
    assert out["ember"][0] is None and out["torch"][0] is None
    for a, e in zip(out["torch"][1:], out["ember"][1:]):
        np.testing.assert_allclose(e, a, rtol=1e-10, atol=1e-12)


MODULE_CASES = [
    {},
    {"bias": True},
    {"reduction": "none", "ignore_index": 1},
    {"reduction": "sum", "label_smoothing": 0.1},
    {"out_features": (2, 3)},
    {"out_features": (2,), "bias": True, "reduction": "none"},
    {"options": {"batch_chunk_size": 2}},
    {"bias": True, "options": {"batch_chunk_size": 3}},
    {"reduction": "none", "options": {}},
    {"weight": True, "options": {"chunking_method": "aspect_ratio:2"}},
]


@pytest.mark.parametrize("i", range(len(MODULE_CASES)))
def test_module(device, i):
    spec = dict(MODULE_CASES[i])
    g = np.random.default_rng(i)
    of = spec.get("out_features", ())
    x_np = g.standard_normal((6, 4))
    t_np = g.integers(0, 5, (6, *of))
    cw = g.uniform(0.5, 2, 5)
    results = []
    for lib, dev in ((torch, "cpu"), (ember, device)):
        kw = dict(spec)
        if "options" in kw:
            kw["options"] = lib.nn.LinearCrossEntropyOptions(**kw["options"])
        if kw.pop("weight", False):
            kw["weight"] = lib.tensor(cw, device=dev)
        m = lib.nn.LinearCrossEntropyLoss(4, 5, dtype=lib.float64, device=dev, **kw)
        if lib is torch:
            state = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
        m.load_state_dict({k: lib.tensor(v, device=dev) for k, v in state.items()})
        x = lib.tensor(x_np, device=dev, requires_grad=True)
        loss = m(x, lib.tensor(t_np, device=dev))
        loss.sum().backward()
        grads = [p.grad.cpu().numpy() for p in m.parameters()]
        results.append((repr(m), sorted(m.state_dict()), loss.detach().cpu().numpy(), x.grad.cpu().numpy(), grads))
    (t_repr, t_keys, *t_vals), (e_repr, e_keys, *e_vals) = results
    assert e_repr.replace("ember.", "torch.") == t_repr and e_keys == t_keys
    for a, e in zip(t_vals[:2] + t_vals[2], e_vals[:2] + e_vals[2]):
        np.testing.assert_allclose(e, a, rtol=1e-9, atol=1e-12)


def test_options_surface():
    e, t = ember.nn.LinearCrossEntropyOptions(), torch.nn.LinearCrossEntropyOptions()
    assert repr(e) == repr(t)
    with pytest.raises(Exception) as te:  # noqa: PT011 - frozen dataclass: the same error class
        t.batch_chunk_size = 3
    with pytest.raises(te.type):
        e.batch_chunk_size = 3
    assert "linear_cross_entropy" in ember.nn.functional.__all__
    assert ember.nn.LinearCrossEntropyLoss is ember.nn.modules.loss.LinearCrossEntropyLoss
