"""``ember.autograd.functional`` (vjp, jvp, jacobian, hessian, vhp, hvp) against
``torch.autograd.functional`` on the same inputs, on every device.

Each case runs in both frameworks and compares: the exact result structure (Tensor / tuple / list
nesting) and ``requires_grad`` of every result, then (``parity_compare.check``) shapes, dtypes,
devices, values and, where inputs require grad, the gradients of a backward *through* the results
(the create_graph path differentiated again). Errors compare type and message.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
from parity_compare import Arg, check

torch = pytest.importorskip("torch")

R = np.random.default_rng(7)
W, B = R.standard_normal((2, 3)), R.standard_normal(2)


def rnd(*shape: int) -> np.ndarray:
    return R.standard_normal(shape)


def linear(lib):
    """A function calling an ``nn.Linear`` with fixed weights (built once, moved to ``x``'s device)."""
    lin = lib.nn.Linear(3, 2).double()
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(W))
        lin.bias.copy_(lib.tensor(B))
    return lambda x: lin.to(x.device)(x)


# name -> (function of lib returning the user function, input shapes)
FUNCS = {
    "elementwise": (lambda lib: lambda x: x.sin() * x.exp(), [(2, 3)]),
    "matmul": (lambda lib: lambda x, y: x @ y, [(3, 2), (2, 4)]),
    "reduction": (lambda lib: lambda x: x.pow(2).sum(dim=1), [(3, 4)]),
    "multi_out": (lambda lib: lambda x, y: (x * y, x.sin().sum()), [(3,), (3,)]),
    "independent": (lambda lib: lambda x, y: (x.exp(), x.detach() + 1), [(2,), (3,)]),
    "linear_closure": (linear, [(4, 3)]),
}
SCALAR_FUNCS = {
    "cube": (lambda lib: lambda x: x.pow(3).sum(), [(2, 2)]),
    "mixed": (lambda lib: lambda x, y: (x.sin() * y).sum() + (y ** 2).mean(), [(3,), (3,)]),
    "unused_input": (lambda lib: lambda x, y: x.pow(3).sum(), [(2,), (3,)]),
    "linear_closure": (lambda lib: (lambda lin: lambda x: lin(x).tanh().sum())(linear(lib)), [(2, 3)]),
    "one_element": (lambda lib: lambda x: x.exp().prod(), [(1,)]),
}


def _out_shapes(name: str) -> list[tuple]:
    """Output shapes of FUNCS[name], from PyTorch (only used to build ``v``)."""
    make, shapes = FUNCS[name]
    out = make(torch)(*[torch.zeros(s, dtype=torch.float64) for s in shapes])
    return [tuple(o.shape) for o in (out if isinstance(out, tuple) else (out,))]


def _structure(value):
    if isinstance(value, (tuple, list)):
        return type(value).__name__, [_structure(v) for v in value]
    if isinstance(value, (torch.Tensor, ember.Tensor)):
        return "Tensor", value.requires_grad
    return type(value).__name__


def both(fn, args, device, tol=1.0):
    """Exact structure and requires_grad of the results, then values and gradients through them."""
    results = []
    for lib in (torch, ember):
        built = [lib.tensor(a.array, requires_grad=a.grad) if lib is torch
                 else ember.tensor(a.array, device=device, requires_grad=a.grad) for a in args]
        results.append(_structure(fn(lib, *built)))
    assert results[1] == results[0], f"ember {results[1]} != PyTorch {results[0]}"
    check(fn, args, {}, device, tol=tol)


def errors(fn, args, device):
    """Both raise the same exception type with the same message (Size repr aside)."""
    caught = []
    for lib in (torch, ember):
        built = [lib.tensor(a.array, requires_grad=a.grad) if lib is torch
                 else ember.tensor(a.array, device=device, requires_grad=a.grad) for a in args]
        with pytest.raises(Exception) as info:
            fn(lib, *built)
        caught.append(info.value)
    t_exc, e_exc = caught
    assert type(e_exc) is type(t_exc), (t_exc, e_exc)
    assert str(e_exc) == str(t_exc).replace("torch.Size", "ember.Size")


def _pack(xs: list, as_tuple: bool):
    return tuple(xs) if as_tuple else xs[0]


def _f(lib):
    return lib.autograd.functional


# ---- vjp / jvp ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
@pytest.mark.parametrize("name", list(FUNCS))
def test_vjp(device, name, create_graph):
    make, shapes = FUNCS[name]
    outs = _out_shapes(name)
    n_in, out_tuple = len(shapes), len(outs) > 1 or name == "independent"
    args = [Arg(rnd(*s)) for s in shapes] + [Arg(rnd(*s), grad=create_graph) for s in outs]

    def fn(lib, *a):
        return _f(lib).vjp(make(lib), _pack(list(a[:n_in]), n_in > 1), _pack(list(a[n_in:]), out_tuple),
                           create_graph=create_graph)
    both(fn, args, device)


@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
@pytest.mark.parametrize("name", list(FUNCS))
def test_jvp(device, name, create_graph):
    make, shapes = FUNCS[name]
    n_in = len(shapes)
    args = [Arg(rnd(*s)) for s in shapes] + [Arg(rnd(*s), grad=create_graph) for s in shapes]

    def fn(lib, *a):
        return _f(lib).jvp(make(lib), _pack(list(a[:n_in]), n_in > 1), _pack(list(a[n_in:]), n_in > 1),
                           create_graph=create_graph)
    both(fn, args, device)


def test_v_none_single_element(device):
    args = [Arg(rnd(1))]
    both(lambda lib, x: _f(lib).vjp(lambda t: t.exp().sum(), x), [Arg(rnd(3))], device)
    both(lambda lib, x: _f(lib).jvp(lambda t: t.exp() * 2, x), args, device)
    both(lambda lib, x: _f(lib).vhp(lambda t: t.pow(3).sum(), x), args, device)
    both(lambda lib, x: _f(lib).hvp(lambda t: t.pow(3).sum(), (x,)), args, device)


def test_inputs_requiring_grad_untouched(device):
    """Without create_graph, inputs that require grad give detached results and no .grad."""
    x = ember.tensor(rnd(3), device=device, requires_grad=True)
    out, g = ember.autograd.functional.vjp(lambda t: (t * t).sum(), x)
    assert not out.requires_grad and not g.requires_grad and x.grad is None
    assert x.requires_grad
    np.testing.assert_allclose(g.cpu().numpy(), 2 * x.detach().cpu().numpy())
    with ember.no_grad():
        _, g = ember.autograd.functional.vjp(lambda t: (t * t).sum(), x, create_graph=True)
    assert g.requires_grad


# ---- jacobian ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["plain", "create_graph", "vectorize", "vectorize_create_graph", "forward"])
@pytest.mark.parametrize("name", list(FUNCS))
def test_jacobian(device, name, mode):
    make, shapes = FUNCS[name]
    kw = {"create_graph": "create_graph" in mode, "vectorize": mode != "plain" and mode != "create_graph"}
    if mode == "forward":
        kw["strategy"] = "forward-mode"
    as_tuple = len(shapes) > 1
    both(lambda lib, *a: _f(lib).jacobian(make(lib), _pack(list(a), as_tuple), **kw),
         [Arg(rnd(*s), grad=mode != "forward") for s in shapes], device)


def test_jacobian_tuple_of_one(device):
    """A 1-tuple of inputs gives a tuple of blocks; a tensor input gives a tensor."""
    both(lambda lib, x: _f(lib).jacobian(lambda t: (t.exp(),), (x,)), [Arg(rnd(2))], device)
    both(lambda lib, x: _f(lib).jacobian(lambda t: (t.exp(),), (x,), vectorize=True, strategy="forward-mode"),
         [Arg(rnd(2), grad=False)], device)
    both(lambda lib, x: _f(lib).jacobian(lambda t: t.exp().sum(), x, create_graph=True), [Arg(rnd(2, 2))], device)


# ---- hessian / vhp / hvp -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["plain", "create_graph", "vectorize", "forward"])
@pytest.mark.parametrize("name", list(SCALAR_FUNCS))
def test_hessian(device, name, mode):
    make, shapes = SCALAR_FUNCS[name]
    kw = {"create_graph": mode == "create_graph", "vectorize": mode in ("vectorize", "forward")}
    if mode == "forward":
        kw["outer_jacobian_strategy"] = "forward-mode"
    as_tuple = len(shapes) > 1
    both(lambda lib, *a: _f(lib).hessian(make(lib), _pack(list(a), as_tuple), **kw),
         [Arg(rnd(*s), grad=mode != "forward") for s in shapes], device)


@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
@pytest.mark.parametrize("which", ["vhp", "hvp"])
@pytest.mark.parametrize("name", list(SCALAR_FUNCS))
def test_vhp_hvp(device, name, which, create_graph):
    make, shapes = SCALAR_FUNCS[name]
    n = len(shapes)
    args = [Arg(rnd(*s)) for s in shapes] + [Arg(rnd(*s), grad=create_graph) for s in shapes]

    def fn(lib, *a):
        return getattr(_f(lib), which)(make(lib), _pack(list(a[:n]), n > 1), _pack(list(a[n:]), n > 1),
                                       create_graph=create_graph)
    both(fn, args, device)


def test_hessian_from_nested_jacobian(device):
    """jacobian(create_graph=True) differentiated again by jacobian gives the Hessian."""
    def fn(lib, x):
        F = _f(lib)
        return F.jacobian(lambda t: F.jacobian(lambda u: u.pow(3).sum() * u.sin().sum(), t, create_graph=True), x)
    both(fn, [Arg(rnd(3))], device)


# ---- errors ------------------------------------------------------------------------------------------
def _lin(x, y):
    return 2 * x + y


ERRORS = {
    "inputs_not_tensor": lambda lib, x: _f(lib).vjp(lambda t: t, [x]),
    "inputs_tuple_not_tensor": lambda lib, x: _f(lib).jvp(lambda a, b: a, (x, 3), (x, x)),
    "outputs_list": lambda lib, x: _f(lib).jacobian(lambda t: [t, t], x),
    "v_list": lambda lib, x: _f(lib).jvp(lambda t: t, x, [x]),
    "v_none_vjp": lambda lib, x: _f(lib).vjp(lambda t: t * 2, x),
    "v_none_jvp": lambda lib, x: _f(lib).jvp(lambda t: t * 2, x),
    "v_none_vhp": lambda lib, x: _f(lib).vhp(lambda t: t.sum(), x),
    "v_none_hvp": lambda lib, x: _f(lib).hvp(lambda t: t.sum(), (x, x)),
    "v_length_tuple": lambda lib, x: _f(lib).vjp(lambda t: (t, t), x, (x,)),
    "v_length_single": lambda lib, x: _f(lib).jvp(lambda t: t, x, (x, x)),
    "v_size": lambda lib, x: _f(lib).vjp(lambda t: t, x, x[:1]),
    "v_size_tuple": lambda lib, x: _f(lib).vhp(lambda a, b: (a * b).sum(), (x, x), (x, x[:2])),
    "vhp_tuple_out": lambda lib, x: _f(lib).vhp(lambda t: (t.sum(),), x, x),
    "hvp_many_elements": lambda lib, x: _f(lib).hvp(lambda t: t * 2, x, x),
    "hessian_tuple_out": lambda lib, x: _f(lib).hessian(lambda t: (t.sum(),), x),
    "hessian_many_elements": lambda lib, x: _f(lib).hessian(lambda t: t * 2, x),
    "jacobian_strategy": lambda lib, x: _f(lib).jacobian(lambda t: t, x, strategy="forward"),
    "hessian_strategy": lambda lib, x: _f(lib).hessian(lambda t: t.sum(), x, outer_jacobian_strategy="fwd"),
    "forward_create_graph": lambda lib, x: _f(lib).jacobian(lambda t: t, x, create_graph=True,
                                                            strategy="forward-mode"),
    "forward_strict": lambda lib, x: _f(lib).jacobian(lambda t: t, x, strict=True, vectorize=True,
                                                      strategy="forward-mode"),
    "forward_not_vectorized": lambda lib, x: _f(lib).jacobian(lambda t: t, x, strategy="forward-mode"),
    "hessian_forward_not_vectorized": lambda lib, x: _f(lib).hessian(lambda t: t.pow(3).sum(), x,
                                                                     outer_jacobian_strategy="forward-mode"),
    "vectorize_strict": lambda lib, x: _f(lib).jacobian(lambda t: t.exp(), x, strict=True, vectorize=True),
    # strict mode
    "strict_vjp_output": lambda lib, x: _f(lib).vjp(lambda t: t.detach(), x, x, strict=True),
    "strict_vjp_input": lambda lib, x: _f(lib).vjp(lambda a, b: a.exp(), (x, x), x, strict=True),
    "strict_vjp_constant": lambda lib, x: _f(lib).vjp(lambda t: t * 2, x, x, strict=True, create_graph=True),
    "strict_jvp_input": lambda lib, x: _f(lib).jvp(lambda a, b: a.exp(), (x, x), (x, x), strict=True),
    "strict_jvp_output": lambda lib, x: _f(lib).jvp(lambda t: (t.exp(), t.detach()), x, x, strict=True),
    "strict_jvp_constant": lambda lib, x: _f(lib).jvp(lambda t: t * 2, x, x, strict=True, create_graph=True),
    "strict_jacobian_input": lambda lib, x: _f(lib).jacobian(lambda a, b: a.exp(), (x, x), strict=True),
    "strict_jacobian_output": lambda lib, x: _f(lib).jacobian(lambda t: (t.exp(), t.detach()), x, strict=True),
    "strict_jacobian_constant": lambda lib, x: _f(lib).jacobian(lambda a, b: (a.exp(), a * 3 + b), (x, x),
                                                                strict=True, create_graph=True),
    "strict_hessian_linear": lambda lib, x: _f(lib).hessian(lambda a, b: _lin(a, b).sum(), (x, x), strict=True),
    "strict_hessian_unused": lambda lib, x: _f(lib).hessian(lambda a, b: a.pow(3).sum(), (x, x), strict=True),
    "strict_hessian_constant": lambda lib, x: _f(lib).hessian(lambda t: (t * t).sum(), x, strict=True,
                                                              create_graph=True),
    "strict_vhp_linear": lambda lib, x: _f(lib).vhp(lambda t: t.sum() * 2, x, x, strict=True),
    "strict_vhp_unused": lambda lib, x: _f(lib).vhp(lambda a, b: a.pow(3).sum(), (x, x), (x, x), strict=True),
    "strict_vhp_constant": lambda lib, x: _f(lib).vhp(lambda t: (t * t).sum(), x, x, strict=True,
                                                      create_graph=True),
    "strict_hvp_linear": lambda lib, x: _f(lib).hvp(lambda t: t.sum() * 2, x, x, strict=True),
    "strict_hvp_constant": lambda lib, x: _f(lib).hvp(lambda t: (t * t).sum(), x, x, strict=True,
                                                      create_graph=True),
    "strict_hvp_output": lambda lib, x: _f(lib).hvp(lambda t: t.detach().sum(), x, x, strict=True),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors(device, case):
    errors(ERRORS[case], [Arg(rnd(3), grad=False)], device)


@pytest.mark.parametrize("fn_name", ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"])
def test_strict_passes_when_dependent(device, fn_name):
    """strict=True changes nothing when every input matters and every derivative depends on the inputs."""
    def fn(lib, x, y):
        f = getattr(_f(lib), fn_name)
        g = (lambda a, b: (a.pow(3) * b.exp()).sum()) if fn_name in ("hessian", "vhp", "hvp", "vjp") \
            else (lambda a, b: a.pow(3) * b.exp())
        if fn_name in ("jacobian", "hessian"):
            return f(g, (x, y), strict=True, create_graph=True)
        return f(g, (x, y), (x.exp(), y.exp()) if fn_name != "vjp" else None, strict=True, create_graph=True)
    both(fn, [Arg(rnd(3)), Arg(rnd(3))], device)


def test_forward_mode_details(device):
    """Forward mode: blocks take the output's dtype, inputs requiring grad give differentiable blocks
    (backward through them compared), and an empty input gives empty blocks."""
    fwd = {"vectorize": True, "strategy": "forward-mode"}
    both(lambda lib, x: _f(lib).jacobian(lambda t: (t.float() * 2).sin(), x, **fwd), [Arg(rnd(3), grad=False)],
         device)
    both(lambda lib, x: _f(lib).jacobian(lambda t: t.sin() * t, x, **fwd), [Arg(rnd(3))], device)
    both(lambda lib, x, y: _f(lib).jacobian(lambda a, b: (a.sin() * b.sum(), b * 2), (x, y), **fwd),
         [Arg(rnd(3), grad=False), Arg(rnd(0), grad=False)], device)
