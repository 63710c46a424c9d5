"""``ember.autograd.forward_ad`` against ``torch.autograd.forward_ad``: tangents of elementwise ops,
matmul, reductions, views, nn layers and compositions (also under no_grad), in-place ops on duals,
tangents through backward (forward-over-reverse) and through the tangent (reverse-over-forward),
use with ember.func, custom Functions with ``jvp``, and the errors, on every device."""

from __future__ import annotations

import ember
import ember.autograd.forward_ad as efw
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.autograd.forward_ad as tfw  # noqa: E402

RNG = np.random.default_rng(0)


def _arr(*shape: int, positive: bool = False) -> np.ndarray:
    a = RNG.standard_normal(shape)
    return (np.abs(a) + 0.5 if positive else a).astype(np.float64)


def _np(x) -> np.ndarray | None:
    return None if x is None else x.detach().cpu().numpy()


def _both(fn_t, fn_e, primals: list, tangents: list, device: str, no_grad: bool = False, atol: float = 1e-7):
    """Run ``fn`` on dual inputs in both frameworks; compare outputs and tangents."""
    results = []
    for lib, fw, fn, dev in ((torch, tfw, fn_t, None), (ember, efw, fn_e, device)):
        def mk(a, dev=dev, lib=lib):
            return lib.tensor(a) if dev is None else lib.tensor(a, device=dev)

        ctx = lib.no_grad() if no_grad else _Null()
        with fw.dual_level(), ctx:
            duals = [fw.make_dual(mk(p), mk(t)) if t is not None else mk(p) for p, t in zip(primals, tangents)]
            out = fn(*duals)
            outs = out if isinstance(out, tuple) else (out,)
            results.append([(_np(fw.unpack_dual(o).primal), _np(fw.unpack_dual(o).tangent)) for o in outs])
    for (tp, tt), (ep, et) in zip(*results):
        np.testing.assert_allclose(ep, tp, rtol=1e-6, atol=atol)
        if tt is None:
            assert et is None
        else:
            assert et is not None
            np.testing.assert_allclose(et, tt, rtol=1e-6, atol=atol)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


UNARY = ["exp", "log", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "sqrt", "rsqrt", "reciprocal", "erf",
         "log1p", "expm1", "atan", "square", "neg", "floor", "sign", "trunc"]


@pytest.mark.parametrize("name", UNARY)
def test_unary(device, name) -> None:
    positive = name in ("log", "sqrt", "rsqrt")
    p, t = _arr(3, 4, positive=positive), _arr(3, 4)
    _both(lambda x: getattr(torch, name)(x), lambda x: getattr(ember, name)(x), [p], [t], device)


@pytest.mark.parametrize("expr", [
    lambda x, y: x * y + x / y - y ** 2,
    lambda x, y: x.pow(y.abs()),
    lambda x, y: (x - y).clamp(-0.3, 0.4) * 2,
    lambda x, y: x.maximum(y) + x.minimum(y) * 3,
    lambda x, y: x.atan2(y) + x.hypot(y),
    lambda x, y: (x > 0).float() * y + x.where(x > y, y),
    lambda x, y: x * 2.5 + 1 - y.exp() / 3,
])
@pytest.mark.parametrize("which", ["both", "first", "second"])
def test_binary_and_compositions(device, expr, which) -> None:
    p1, p2 = _arr(2, 3), _arr(2, 3, positive=True)
    t1 = _arr(2, 3) if which in ("both", "first") else None
    t2 = _arr(2, 3) if which in ("both", "second") else None
    _both(expr, expr, [p1, p2], [t1, t2], device)


@pytest.mark.parametrize("expr", [
    lambda a, b: a @ b,
    lambda a, b: (a @ b).relu() @ b.t(),
    lambda a, b: a.unsqueeze(0).expand(2, 3, 4).bmm(b.unsqueeze(0).expand(2, 4, 3)),
    lambda a, b: a.mm(b).sum(),
])
def test_matmul(device, expr) -> None:
    _both(expr, expr, [_arr(3, 4), _arr(4, 3)], [_arr(3, 4), _arr(4, 3)], device)


@pytest.mark.parametrize("expr", [
    lambda x: x.sum(), lambda x: x.sum(1, keepdim=True), lambda x: x.mean(0), lambda x: x.prod(1),
    lambda x: x.amax(1), lambda x: x.max(), lambda x: x.logsumexp(1), lambda x: x.norm(), lambda x: x.var(1),
    lambda x: x.std(0), lambda x: x.softmax(1), lambda x: x.log_softmax(0), lambda x: x.cumsum(1),
    lambda x: x.logcumsumexp(1), lambda x: x.cumprod(0),
    lambda x: x.max(1), lambda x: x.sort(1), lambda x: x.topk(2, 1),
])
def test_reductions(device, expr) -> None:
    _both(expr, expr, [_arr(3, 5)], [_arr(3, 5)], device)


@pytest.mark.parametrize("expr", [
    lambda x: x[0].t(), lambda x: x.permute(2, 0, 1), lambda x: x.reshape(6, 4), lambda x: x.view(2, 12),
    lambda x: x.view(x.shape), lambda x: x[1:, ::2], lambda x: x[0, :, 1], lambda x: x[None, ..., :1],
    lambda x: x.unsqueeze(1).squeeze(1), lambda x: x.transpose(0, 2).contiguous(), lambda x: x.flip(1),
    lambda x: x.unbind(1), lambda x: x.split(2, 2), lambda x: x.chunk(2, 0), lambda x: x.flatten(),
    lambda x: x.expand(4, 2, 3, 4), lambda x: x.narrow(2, 1, 2), lambda x: x.diagonal(0, 1, 2),
])
def test_views(device, expr) -> None:
    _both(expr, expr, [_arr(2, 3, 4)], [_arr(2, 3, 4)], device)


def test_cat_stack_index(device) -> None:
    idx = np.array([2, 0, 1])

    def f(lib):
        def g(x, y):
            i = lib.tensor(idx, device=x.device)
            return (lib.cat([x, y], 0), lib.stack([x, y], 1), x.index_select(1, i), x.gather(1, i.expand(3, 3)),
                    lib.where(x > 0, x, y))
        return g

    _both(f(torch), f(ember), [_arr(3, 3), _arr(3, 3)], [_arr(3, 3), None], device)


@pytest.mark.parametrize("no_grad", [False, True])
def test_nn_layers(device, no_grad) -> None:
    ws = {"w1": _arr(6, 4), "b1": _arr(6), "cw": _arr(2, 1, 3, 3), "ln_w": _arr(6), "ln_b": _arr(6)}
    tw = {k: _arr(*v.shape) for k, v in ws.items()}
    names = list(ws)
    x = _arr(2, 1, 6, 6)

    def f(lib):
        F = lib.nn.functional

        def g(w1, b1, cw, ln_w, ln_b):
            xx = lib.tensor(x, device=w1.device)
            h = F.conv2d(xx, cw, padding=1)
            h = F.max_pool2d(F.gelu(h), 2)
            h = F.avg_pool2d(h, 1).flatten(1)[:, :4]
            h = F.linear(h, w1, b1)
            h = F.layer_norm(h, (6,), ln_w, ln_b)
            h = F.batch_norm(h, None, None, training=True)
            return F.mse_loss(h.tanh(), lib.zeros_like(h)), F.cross_entropy(h, lib.tensor([1, 4], device=w1.device))
        return g

    _both(f(torch), f(ember), [ws[n] for n in names], [tw[n] for n in names], device, no_grad=no_grad, atol=1e-6)


def test_module_with_dual_parameters(device) -> None:
    """The tutorial's way: replace a module's parameters by duals."""
    tm = torch.nn.Linear(5, 3).double()
    em = ember.nn.Linear(5, 3).double().to(device)
    tangents = {n: _arr(*p.shape) for n, p in tm.named_parameters()}
    with ember.no_grad():
        for n, p in em.named_parameters():
            p.copy_(ember.tensor(_np(getattr(tm, n)), device=device))
    x = _arr(4, 5)
    outs = []
    for lib, fw, m, dev in ((torch, tfw, tm, "cpu"), (ember, efw, em, device)):
        with fw.dual_level():
            for n, p in list(m.named_parameters()):
                delattr(m, n)
                setattr(m, n, fw.make_dual(p, lib.tensor(tangents[n], device=dev)))
            outs.append(_np(fw.unpack_dual(m(lib.tensor(x, device=dev))).tangent))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6)
    # and with ember.func.functional_call
    em2 = ember.nn.Linear(5, 3).double().to(device)
    with efw.dual_level():
        duals = {n: efw.make_dual(getattr(em, n + "_p", p), ember.tensor(tangents[n], device=device))
                 for n, p in [("weight", ember.tensor(_np(tm.weight), device=device)),
                              ("bias", ember.tensor(_np(tm.bias), device=device))]}
        out = ember.func.functional_call(em2, duals, (ember.tensor(x, device=device),))
        np.testing.assert_allclose(_np(efw.unpack_dual(out).tangent), outs[0], rtol=1e-6)


# ---- which outputs have a tangent -------------------------------------------------------------------
def test_tangent_none_and_zero_cases(device) -> None:
    x, v = ember.tensor(_arr(4), device=device), ember.tensor(_arr(4), device=device)
    with efw.dual_level():
        d = efw.make_dual(x, v)
        assert efw.unpack_dual(x).tangent is None  # not dual
        assert efw.unpack_dual(ember.ones(2, device=device) * 3).tangent is None
        for out in (d > 0, d.argmax(), d.detach(), ember.zeros_like(d), d.long()):
            assert efw.unpack_dual(out).tangent is None
        np.testing.assert_array_equal(_np(efw.unpack_dual(d.sign()).tangent), np.zeros(4))
        np.testing.assert_array_equal(_np(efw.unpack_dual(d.round()).tangent), np.zeros(4))
        assert efw.unpack_dual(d).tangent is v  # the tangent as is (same layout)
        primal = efw.unpack_dual(d).primal
        assert efw.unpack_dual(primal).tangent is None
        np.testing.assert_array_equal(_np(primal), _np(x))
        assert d.dtype == x.dtype and not d.requires_grad
        m = ember.tensor(_arr(3, 2), device=device)
        alt = efw.make_dual(m, ember.tensor(_arr(2, 3), device=device).t())  # another layout: copied
        assert efw.unpack_dual(alt).tangent.is_contiguous()
    assert efw.unpack_dual(d).tangent is None  # dropped at exit
    assert type(d) is ember.Tensor and type(d.exp()) is ember.Tensor


def test_deepcopy_and_save_give_plain_tensors(device) -> None:
    import copy
    import io

    with efw.dual_level():
        d = efw.make_dual(ember.ones(2, device=device), ember.ones(2, device=device))
        c = copy.deepcopy(d)
        buf = io.BytesIO()
        ember.save(d, buf)
        buf.seek(0)
        loaded = ember.load(buf)
        for t in (c, loaded):
            assert type(t) is ember.Tensor and efw.unpack_dual(t).tangent is None
            np.testing.assert_array_equal(_np(t), [1.0, 1.0])


def test_memory_is_shared_with_the_primal(device) -> None:
    x = ember.tensor(_arr(3), device=device)
    with efw.dual_level():
        d = efw.make_dual(x, ember.ones(3, device=device))
        with ember.no_grad():
            d.add_(1)
    np.testing.assert_allclose(_np(x), _np(d))


# ---- in-place ops -----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["mul_", "view_mul_", "setitem", "fill_", "zero_", "plain_mul_dual", "copy_",
                                  "plain_setitem_dual", "add_view_later"])
def test_inplace(device, case) -> None:
    p, t, q = _arr(2, 3), _arr(2, 3), _arr(2, 3)
    res = []
    for lib, fw, dev in ((torch, tfw, "cpu"), (ember, efw, device)):
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(p, device=dev).clone(), lib.tensor(t, device=dev).clone())
            plain = lib.tensor(q, device=dev)
            if case == "mul_":
                d.mul_(d.sin())
                out = d
            elif case == "view_mul_":
                d[1:, ::2].mul_(3)
                out = d
            elif case == "setitem":
                d[0, 1] = 5.0
                out = d
            elif case == "fill_":
                d[1].fill_(2.0)
                out = d
            elif case == "zero_":
                d.zero_()
                out = d
            elif case == "plain_mul_dual":
                plain.mul_(d)
                out = plain
            elif case == "copy_":
                plain[0].copy_(d[1])
                out = plain
            elif case == "plain_setitem_dual":
                plain[:, 1] = d[:, 0] * 2
                out = plain
            else:
                v = d[0]
                d.add_(d)  # the view's tangent follows its base's
                out = v * 1
            res.append((_np(fw.unpack_dual(out).primal), _np(fw.unpack_dual(out).tangent)))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-7)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-7)


# ---- with reverse mode -------------------------------------------------------------------------------
def test_backward_through_dual_and_reverse_over_forward(device) -> None:
    p, t = _arr(4), _arr(4)
    grads = []
    for lib, fw, dev in ((torch, tfw, "cpu"), (ember, efw, device)):
        x = lib.tensor(p, device=dev, requires_grad=True)
        with fw.dual_level():
            d = fw.make_dual(x, lib.tensor(t, device=dev))
            assert d.requires_grad
            out = (d.sin() * d).sum()
            tangent = fw.unpack_dual(out).tangent
            assert tangent.requires_grad
            g_tangent, = lib.autograd.grad(tangent, x, retain_graph=True)  # d/dx of (J v)
            out.backward()
        grads.append((_np(x.grad), _np(g_tangent), _np(tangent)))
    for e, t_ in zip(grads[1], grads[0]):
        np.testing.assert_allclose(e, t_, rtol=1e-6)


@pytest.mark.parametrize("create_graph", [False, True])
def test_forward_over_reverse_hvp(device, create_graph) -> None:
    p, t = _arr(5), _arr(5)
    res = []
    for lib, fw, dev in ((torch, tfw, "cpu"), (ember, efw, device)):
        x = lib.tensor(p, device=dev, requires_grad=True)
        with fw.dual_level():
            d = fw.make_dual(x, lib.tensor(t, device=dev))
            loss = (d.exp() * d.tanh()).sum() + (d ** 3).prod()
            g, = lib.autograd.grad(loss, d, create_graph=create_graph)
            res.append((_np(g), _np(fw.unpack_dual(g).tangent)))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-6)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-6)


def test_with_ember_func(device) -> None:
    p, t = _arr(3, 3), _arr(3, 3)

    def f(x):
        return (x @ x).tanh().sum(0)

    x, v = ember.tensor(p, device=device), ember.tensor(t, device=device)
    with efw.dual_level():
        dual_t = efw.unpack_dual(f(efw.make_dual(x, v))).tangent
        # func transforms inside a level, on plain tensors, are unaffected
        _, jvp_t = ember.func.jvp(f, (x,), (v,))
    np.testing.assert_allclose(_np(dual_t), _np(jvp_t), rtol=1e-6)
    with torch.autograd.forward_ad.dual_level():
        ref = tfw.unpack_dual(f(tfw.make_dual(torch.tensor(p), torch.tensor(t)))).tangent
    np.testing.assert_allclose(_np(dual_t), _np(ref), rtol=1e-6)

    # reverse over forward: ember.func.grad of a function that uses forward AD inside
    def directional(lib, fw):
        def h(x):
            with fw.dual_level():
                return fw.unpack_dual(f(fw.make_dual(x, lib.ones_like(x)))).tangent.sum()
        return h

    eg = ember.func.grad(directional(ember, efw))(x)
    tg = torch.func.grad(directional(torch, tfw))(torch.tensor(p))
    np.testing.assert_allclose(_np(eg), _np(tg), rtol=1e-6)


def test_custom_function_jvp_and_gradcheck(device) -> None:
    class Fn(ember.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = ember.exp(foo)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, g):
            out = g * ctx.result
            del ctx.result
            return out

    p, t = _arr(3, 2), _arr(3, 2)
    for requires_grad in (False, True):
        x = ember.tensor(p, device=device, requires_grad=requires_grad)
        with efw.dual_level():
            out = Fn.apply(efw.make_dual(x, ember.tensor(t, device=device)))
            np.testing.assert_allclose(_np(efw.unpack_dual(out).tangent), t * np.exp(p), rtol=1e-7)
    x = ember.tensor(p, device=device, requires_grad=True)
    assert ember.autograd.gradcheck(Fn.apply, (x,), check_forward_ad=True, check_backward_ad=False,
                                    check_undefined_grad=False, check_batched_grad=False)
    assert ember.autograd.gradcheck(lambda z: (z.sin() * z).sum(0), (x,), check_forward_ad=True)


# ---- API, repr and errors -------------------------------------------------------------------------------
def test_levels_and_decorator() -> None:
    assert efw.enter_dual_level() == tfw.enter_dual_level() == 0
    efw.exit_dual_level()
    tfw.exit_dual_level()

    @efw.dual_level()
    def inside():
        return efw.unpack_dual(efw.make_dual(ember.zeros(1), ember.ones(1)) * 2).tangent

    np.testing.assert_array_equal(_np(inside()), [2.0])
    assert efw.UnpackedDualTensor._fields == tfw.UnpackedDualTensor._fields == ("primal", "tangent")
    assert efw.unpack_dual(ember.ones(1)) == (ember.ones(1), None) or efw.unpack_dual(ember.ones(1)).tangent is None


def test_repr_matches_torch() -> None:
    p, t = np.array([1.5, -2.0, 3.25], dtype=np.float32), np.array([0.5, 1.0, -1.0], dtype=np.float32)
    with tfw.dual_level():
        tr = repr(tfw.make_dual(torch.tensor(p), torch.tensor(t)))
    with efw.dual_level():
        er = repr(efw.make_dual(ember.tensor(p), ember.tensor(t)))
    assert er == tr


def _same_error(tcall, ecall) -> None:
    with pytest.raises(Exception) as te:
        tcall()
    with pytest.raises(Exception) as ee:
        ecall()
    assert type(ee.value) is type(te.value)
    assert str(ee.value).replace("ember.", "torch.") == str(te.value)


def test_errors(device) -> None:
    x, v = ember.ones(3, device=device), ember.ones(3, device=device)
    tx, tv = torch.ones(3), torch.ones(3)
    _same_error(lambda: tfw.make_dual(tx, tv), lambda: efw.make_dual(x, v))
    _same_error(lambda: tfw.exit_dual_level(), lambda: efw.exit_dual_level())
    with tfw.dual_level(), efw.dual_level():
        _same_error(lambda: tfw.make_dual(tx, torch.ones(4)), lambda: efw.make_dual(x, ember.ones(4, device=device)))
        _same_error(lambda: tfw.make_dual(tx.long(), tv), lambda: efw.make_dual(x.long(), v))
        _same_error(lambda: tfw.make_dual(tx, tv.long()), lambda: efw.make_dual(x, v.long()))
        _same_error(lambda: tfw.enter_dual_level(), lambda: efw.enter_dual_level())
        _same_error(lambda: tfw.make_dual(tx, tv, level=3), lambda: efw.make_dual(x, v, level=3))
        _same_error(lambda: tfw.exit_dual_level(level=5), lambda: efw.exit_dual_level(level=5))
        td, ed = tfw.make_dual(tx, tv), efw.make_dual(x, v)
        _same_error(lambda: tfw.unpack_dual(td, level=3), lambda: efw.unpack_dual(ed, level=3))
        assert efw.unpack_dual(x, level=3).tangent is None and tfw.unpack_dual(tx, level=3).tangent is None
        _same_error(lambda: tfw.make_dual(td, tv), lambda: efw.make_dual(ed, v))
