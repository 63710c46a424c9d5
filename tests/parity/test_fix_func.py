"""Issue #14 section 4: ``ember.func`` (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, vmap,
functional_call) against ``torch.func`` on the same inputs, on every device.

``parity_compare.check`` runs each expression on both frameworks and compares errors, results
(shape, dtype, device, requires_grad, values) and, where the inputs require grad, the gradients of
a backward *through* the transform, which exercises the nested (create_graph) path too.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
from parity_compare import Arg, check

torch = pytest.importorskip("torch")

R = np.random.default_rng(14)


def rnd(*shape: int) -> np.ndarray:
    return R.standard_normal(shape).astype(np.float32)


def cube_sum(lib, x):
    return (x ** 3).sum()


def mixed(lib, x, y):
    return (x.sin() * y).sum() + (y ** 2).mean()


# ---- grad / grad_and_value ---------------------------------------------------------------------------
@pytest.mark.parametrize("grad_inputs", [False, True], ids=["plain", "input-requires-grad"])
def test_grad_values(device, grad_inputs):
    x, y = rnd(4), rnd(4)
    check(lambda lib, a: lib.func.grad(lambda t: cube_sum(lib, t))(a), [Arg(x, grad=grad_inputs)], {}, device)
    check(lambda lib, a, b: lib.func.grad(lambda p, q: mixed(lib, p, q), argnums=(0, 1))(a, b),
          [Arg(x, grad=grad_inputs), Arg(y, grad=grad_inputs)], {}, device)
    check(lambda lib, a, b: lib.func.grad(lambda p, q: mixed(lib, p, q), argnums=1)(a, b),
          [Arg(x, grad=grad_inputs), Arg(y, grad=grad_inputs)], {}, device)
    check(lambda lib, a, b: lib.func.grad(lambda p, q: mixed(lib, p, q), argnums=-1)(a, b),
          [Arg(x, grad=grad_inputs), Arg(y, grad=grad_inputs)], {}, device)


def test_grad_has_aux_and_value(device):
    x = rnd(3, 2)

    def f(lib):
        return lambda t: ((t.exp()).sum(), {"mean": t.mean(), "max": t.amax()})

    check(lambda lib, a: (lambda g, aux: (g, aux["mean"], aux["max"]))(*lib.func.grad(f(lib), has_aux=True)(a)),
          [Arg(x, grad=False)], {}, device)
    check(lambda lib, a: lib.func.grad_and_value(lambda t: cube_sum(lib, t))(a), [Arg(x)], {}, device)
    check(lambda lib, a: (lambda g, va: (g, va[0], va[1]["max"]))(*lib.func.grad_and_value(f(lib), has_aux=True)(a)),
          [Arg(x, grad=False)], {}, device)


def test_grad_pytree_input(device):
    x, y = rnd(3), rnd(3)

    def f(lib):
        return lambda d: (d["a"] * d["b"][0]).sum() + d["b"][1].pow(2).sum()

    def run(lib, a, b):
        g = lib.func.grad(f(lib))({"a": a, "b": (b, a * 2)})
        assert isinstance(g, dict) and isinstance(g["b"], tuple)
        return g["a"], g["b"][0], g["b"][1]

    check(run, [Arg(x, grad=False), Arg(y, grad=False)], {}, device)


def test_grad_unused_input_and_constant_output(device):
    x, y = rnd(3), rnd(3)
    check(lambda lib, a, b: lib.func.grad(lambda p, q: (p * 2).sum(), argnums=(0, 1))(a, b),
          [Arg(x, grad=False), Arg(y, grad=False)], {}, device)
    check(lambda lib, a: lib.func.grad(lambda p: lib.ones((), device=p.device))(a), [Arg(x, grad=False)], {}, device)


def test_grad_through_closed_over_parameter(device):
    # the gradient depends on w (requires grad): it stays differentiable, as in PyTorch
    x, w = rnd(3), rnd(3)
    check(lambda lib, a, b: lib.func.grad(lambda t: (t * t * b).sum())(a.detach()), [Arg(x), Arg(w)], {}, device)


@pytest.mark.parametrize("case", ["non-scalar", "not-tensor", "aux-not-tuple", "argnum-range", "argnums-dup",
                                  "argnums-float", "argnums-empty", "int-input", "non-tensor-input"])
def test_grad_errors(device, case):
    x = rnd(3)
    fns = {
        "non-scalar": lambda lib, a: lib.func.grad(lambda t: t * 2)(a),
        "not-tensor": lambda lib, a: lib.func.grad(lambda t: 1.0)(a),
        "aux-not-tuple": lambda lib, a: lib.func.grad(lambda t: t.sum(), has_aux=True)(a),
        "argnum-range": lambda lib, a: lib.func.grad(lambda t: t.sum(), argnums=1)(a),
        "argnums-dup": lambda lib, a: lib.func.grad(lambda t: t.sum(), argnums=(0, 0))(a),
        "argnums-float": lambda lib, a: lib.func.grad(lambda t: t.sum(), argnums=0.5)(a),
        "argnums-empty": lambda lib, a: lib.func.grad(lambda t: t.sum(), argnums=())(a),
        "int-input": lambda lib, a: lib.func.grad(lambda t: t.sum())(a.long()),
        "non-tensor-input": lambda lib, a: lib.func.grad(lambda d: d["a"].sum())({"a": a, "b": 1.0}),
    }
    check(fns[case], [Arg(x, grad=False)], {}, device)


def test_grad_error_messages():
    x = ember.ones(3)
    with pytest.raises(RuntimeError, match=r"Expected f\(\*args\) to return a scalar Tensor, got tensor with 1 dims"):
        ember.func.grad(lambda t: t)(x)
    with pytest.raises(RuntimeError, match="Got argnum=1, but only 1 positional inputs"):
        ember.func.grad(lambda t: t.sum(), argnums=1)(x)


# ---- compositions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("grad_inputs", [False, True], ids=["plain", "input-requires-grad"])
def test_nested_levels(device, grad_inputs):
    """Perturbation confusion and transforms of functions that close over an outer level's input."""
    x, m = rnd(3), rnd(2, 3)
    F = lambda lib: lib.func  # noqa: E731
    check(lambda lib, a: F(lib).grad(lambda p: (p * F(lib).grad(lambda q: (p + q).sum())(p)).sum())(a),
          [Arg(x, grad=grad_inputs)], {}, device)
    check(lambda lib, a: F(lib).grad(lambda p: F(lib).grad(lambda q: (p * q * q).sum())(p).sum())(a),
          [Arg(x, grad=grad_inputs)], {}, device)
    check(lambda lib, a: F(lib).jacrev(lambda p: F(lib).vmap(lambda r: r * p.sum())(p))(a),
          [Arg(x, grad=grad_inputs)], {}, device)
    check(lambda lib, a: F(lib).vmap(F(lib).jacrev(lambda r: r.sin() * r.sum()))(a), [Arg(m, grad=grad_inputs)], {},
          device)


@pytest.mark.parametrize("grad_inputs", [False, True], ids=["plain", "input-requires-grad"])
def test_compositions(device, grad_inputs):
    x = rnd(3)
    s = np.float32(0.7)
    F = lambda lib: lib.func  # noqa: E731
    check(lambda lib, a: F(lib).grad(F(lib).grad(lambda t: t.sin() * t ** 3))(a), [Arg(s, grad=grad_inputs)], {},
          device)
    check(lambda lib, a: F(lib).grad(F(lib).grad(F(lib).grad(lambda t: t.exp() * t ** 4)))(a),
          [Arg(s, grad=grad_inputs)], {}, device, tol=10)
    check(lambda lib, a: F(lib).jacrev(F(lib).grad(lambda t: (t.sin() * t).sum()))(a), [Arg(x, grad=grad_inputs)],
          {}, device)
    check(lambda lib, a: F(lib).vmap(F(lib).grad(lambda t: (t ** 2 * t.cos()).sum()))(a),
          [Arg(rnd(4, 3), grad=grad_inputs)], {}, device)
    check(lambda lib, a: F(lib).grad(lambda t: F(lib).vmap(lambda r: (r * r).sum())(t).sin().sum())(a),
          [Arg(rnd(4, 3), grad=grad_inputs)], {}, device)
    check(lambda lib, a: F(lib).jacrev(F(lib).jacrev(lambda t: t.sin() * t.sum()))(a), [Arg(x, grad=grad_inputs)],
          {}, device)


# ---- vjp / jvp -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("grad_inputs", [False, True], ids=["plain", "input-requires-grad"])
def test_vjp(device, grad_inputs):
    x, y, ct = rnd(3), rnd(3), rnd(3)

    def run(lib, a, b, c):
        out, fn = lib.func.vjp(lambda p, q: (p.sin() * q, p + q), a, b)
        return out, fn((c, c * 2)), fn((c * 3, c))

    check(run, [Arg(x, grad=grad_inputs), Arg(y, grad=grad_inputs), Arg(ct, grad=grad_inputs)], {}, device)

    def with_aux(lib, a, c):
        out, fn, aux = lib.func.vjp(lambda p: (p.exp(), p.sum()), a, has_aux=True)
        return out, fn(c), aux

    check(with_aux, [Arg(x, grad=grad_inputs), Arg(ct, grad=grad_inputs)], {}, device)


@pytest.mark.parametrize("case", ["not-tensor", "structure", "shape"])
def test_vjp_errors(device, case):
    x = rnd(3)
    fns = {
        "not-tensor": lambda lib, a: lib.func.vjp(lambda t: 1.0, a),
        "structure": lambda lib, a: lib.func.vjp(lambda t: t.sin(), a)[1]((a,)),
        "shape": lambda lib, a: lib.func.vjp(lambda t: t.sin(), a)[1](a[:2]),
    }
    check(fns[case], [Arg(x, grad=False)], {}, device)


@pytest.mark.parametrize("grad_inputs", [False, True], ids=["plain", "input-requires-grad"])
def test_jvp(device, grad_inputs):
    x, y, tx, ty = rnd(3), rnd(3), rnd(3), rnd(3)
    check(lambda lib, a, b, ta, tb: lib.func.jvp(lambda p, q: (p.sin() * q, (p * q).sum()), (a, b), (ta, tb)),
          [Arg(v, grad=grad_inputs) for v in (x, y, tx, ty)], {}, device)
    check(lambda lib, a, ta: lib.func.jvp(lambda p: (p.exp(), p.amax()), (a,), (ta,), has_aux=True),
          [Arg(x, grad=grad_inputs), Arg(tx, grad=grad_inputs)], {}, device)
    # an output that does not depend on the input: a zero tangent
    check(lambda lib, a, ta: lib.func.jvp(lambda p: (p * 2, lib.ones(2, device=p.device)), (a,), (ta,)),
          [Arg(x, grad=grad_inputs), Arg(tx, grad=grad_inputs)], {}, device)


@pytest.mark.parametrize("case", ["primals-not-tuple", "structure", "shape", "not-tensor"])
def test_jvp_errors(device, case):
    x, y = rnd(3), rnd(4)
    fns = {
        "primals-not-tuple": lambda lib, a, b: lib.func.jvp(lambda t: t.sin(), a, a),
        "structure": lambda lib, a, b: lib.func.jvp(lambda t: t.sin(), (a,), (a, a)),
        "shape": lambda lib, a, b: lib.func.jvp(lambda t: t.sin(), (a,), (b,)),
        "not-tensor": lambda lib, a, b: lib.func.jvp(lambda t: 1.0, (a,), (a,)),
    }
    check(fns[case], [Arg(x, grad=False), Arg(y, grad=False)], {}, device)


# ---- jacrev / jacfwd / hessian ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("grad_inputs", [False, True], ids=["plain", "input-requires-grad"])
def test_jacobians(device, kind, grad_inputs):
    x, y = rnd(3), rnd(2, 3)
    check(lambda lib, a: getattr(lib.func, kind)(lambda t: t.sin() * t.sum())(a), [Arg(x, grad=grad_inputs)], {},
          device)
    check(lambda lib, a, b: getattr(lib.func, kind)(lambda p, q: q @ p, argnums=(0, 1))(a, b),
          [Arg(x, grad=grad_inputs), Arg(y, grad=grad_inputs)], {}, device)
    check(lambda lib, a, b: getattr(lib.func, kind)(lambda p, q: (q.sin() @ p, (q * q * p).sum()), argnums=1)(a, b),
          [Arg(x, grad=grad_inputs), Arg(y, grad=grad_inputs)], {}, device)
    # a block that is zero (p.sum() does not depend on q): the values and requires_grad agree; a
    # backward through it leaves q.grad None in ember where PyTorch's forward mode gives zeros
    check(lambda lib, a, b: getattr(lib.func, kind)(lambda p, q: (q @ p, p.sum()), argnums=1)(a, b),
          [Arg(x, grad=grad_inputs and kind == "jacrev"), Arg(y, grad=grad_inputs and kind == "jacrev")], {}, device)
    check(lambda lib, a: getattr(lib.func, kind)(lambda t: (t.exp(), t.sum()), has_aux=True)(a),
          [Arg(x, grad=grad_inputs)], {}, device)
    check(lambda lib, a: getattr(lib.func, kind)(lambda t: t.sum())(a), [Arg(np.float32(1.5), grad=grad_inputs)], {},
          device)


def test_jacobian_pytree_structure(device):
    x, y = rnd(3), rnd(2)

    def run(lib, a, b):
        jac = lib.func.jacrev(lambda d: {"u": d["p"] * 2, "v": (d["p"].sum() * d["q"])})({"p": a, "q": b})
        return jac["u"]["p"], jac["u"]["q"], jac["v"]["p"], jac["v"]["q"]

    check(run, [Arg(x, grad=False), Arg(y, grad=False)], {}, device)


@pytest.mark.parametrize("grad_inputs", [False, True], ids=["plain", "input-requires-grad"])
def test_hessian(device, grad_inputs):
    x, y = rnd(3), rnd(3)
    check(lambda lib, a: lib.func.hessian(lambda t: (t.sin() * t ** 2).sum())(a), [Arg(x, grad=grad_inputs)], {},
          device)
    check(lambda lib, a, b: lib.func.hessian(lambda p, q: (p * p * q).sum(), argnums=(0, 1))(a, b),
          [Arg(x, grad=grad_inputs), Arg(y, grad=grad_inputs)], {}, device)


def test_jacobian_errors(device):
    x = rnd(3)
    check(lambda lib, a: lib.func.jacrev(lambda t: t.sum(), argnums=2)(a), [Arg(x, grad=False)], {}, device)
    check(lambda lib, a: lib.func.jacrev(lambda t: 1.0)(a), [Arg(x, grad=False)], {}, device)
    check(lambda lib, a: lib.func.jacfwd(lambda t: 1.0)(a), [Arg(x, grad=False)], {}, device)


# ---- vmap ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("grad_inputs", [False, True], ids=["plain", "input-requires-grad"])
def test_vmap_values(device, grad_inputs):
    a, b = rnd(4, 3), rnd(3, 4)
    G = grad_inputs
    check(lambda lib, x, y: lib.func.vmap(lib.dot)(x, y.T), [Arg(a, grad=G), Arg(b, grad=G)], {}, device)
    check(lambda lib, x, y: lib.func.vmap(lib.dot, in_dims=(0, 1))(x, y), [Arg(a, grad=G), Arg(b, grad=G)], {}, device)
    check(lambda lib, x, y: lib.func.vmap(lambda r, s: r * s, in_dims=(None, 0))(x[0], y),
          [Arg(a, grad=G), Arg(b, grad=G)], {}, device)
    check(lambda lib, x: lib.func.vmap(lambda r: r.sum(0), in_dims=1, out_dims=0)(x), [Arg(rnd(2, 3, 4), grad=G)], {},
          device)
    check(lambda lib, x: lib.func.vmap(lambda r: r * 2, out_dims=1)(x), [Arg(a, grad=G)], {}, device)
    check(lambda lib, x: lib.func.vmap(lambda r: r * 2, in_dims=-1, out_dims=-1)(x), [Arg(a, grad=G)], {}, device)
    check(lambda lib, x: lib.func.vmap(lambda r, k: r * k, in_dims=(0, None))(x, 3.0), [Arg(a, grad=G)], {}, device)
    check(lambda lib, x: lib.func.vmap(lambda r, k=1.0: r * k)(x, k=2.0), [Arg(a, grad=G)], {}, device)
    check(lambda lib, x: lib.func.vmap(lambda r: r, chunk_size=2)(x), [Arg(a, grad=G)], {}, device)


def test_vmap_nested_and_pytrees(device):
    a, b = rnd(2, 3, 4), rnd(4)
    check(lambda lib, x, y: lib.func.vmap(lib.func.vmap(lambda r, s: r * s, in_dims=(0, None)), in_dims=(0, None))(x, y),
          [Arg(a), Arg(b)], {}, device)
    check(lambda lib, x: lib.func.vmap(lib.func.vmap(lambda r: r.sum(), in_dims=1), in_dims=2)(x), [Arg(a)], {}, device)

    def trees(lib, x, y):
        out = lib.func.vmap(lambda d, t: [d["p"] + t[0], {"k": d["q"] * t[1]}],
                            in_dims=({"p": 0, "q": None}, (1, None)))({"p": x, "q": y}, (x.T, y))
        assert isinstance(out, list) and isinstance(out[1], dict)
        return out[0], out[1]["k"]

    check(trees, [Arg(rnd(4, 4)), Arg(b)], {}, device)
    check(lambda lib, x: lib.func.vmap(lambda r: (r, r.sum()), out_dims=(1, 0))(x), [Arg(rnd(3, 2))], {}, device)
    check(lambda lib, x: lib.func.vmap(lambda r: (r * 2, 1.5), out_dims=(0, None))(x), [Arg(rnd(3, 2))], {}, device)
    check(lambda lib, x: lib.func.vmap(lambda r: r * 2)(x), [Arg(np.zeros((0, 2), np.float32))], {}, device)


@pytest.mark.parametrize("case", ["sizes", "in-dims-None", "in-dims-structure", "in-dims-float", "in-dim-leaf-float",
                                  "range", "range-0d", "non-tensor", "none-batched", "no-inputs", "returns-float",
                                  "returns-None", "out-dims-structure", "out-dims-float", "out-dim-range",
                                  "in-dims-list", "dict-keys", "randomness-value", "chunk-size"])
def test_vmap_errors(device, case):
    x, y = rnd(3), rnd(4)
    fns = {
        "sizes": lambda lib, a, b: lib.func.vmap(lib.add)(a, b),
        "in-dims-None": lambda lib, a, b: lib.func.vmap(lib.sin, in_dims=None)(a),
        "in-dims-structure": lambda lib, a, b: lib.func.vmap(lib.sin, in_dims=(0, 0))(a),
        "in-dims-float": lambda lib, a, b: lib.func.vmap(lib.sin, in_dims=0.5)(a),
        "in-dim-leaf-float": lambda lib, a, b: lib.func.vmap(lib.sin, in_dims=(0.5,))(a),
        "range": lambda lib, a, b: lib.func.vmap(lib.sin, in_dims=1)(a),
        "range-0d": lambda lib, a, b: lib.func.vmap(lib.sin)(a[0]),
        "non-tensor": lambda lib, a, b: lib.func.vmap(lambda p, q: p, in_dims=(0, 0))(a, 1.0),
        "none-batched": lambda lib, a, b: lib.func.vmap(lib.sin, in_dims=(None,))(a),
        "no-inputs": lambda lib, a, b: lib.func.vmap(lib.sin)(),
        "returns-float": lambda lib, a, b: lib.func.vmap(lambda p: 1.0)(a),
        "returns-None": lambda lib, a, b: lib.func.vmap(lambda p: None)(a),
        "out-dims-structure": lambda lib, a, b: lib.func.vmap(lambda p: (p, p), out_dims=(0,))(a),
        "out-dims-float": lambda lib, a, b: lib.func.vmap(lambda p: p, out_dims=0.5)(a),
        "out-dim-range": lambda lib, a, b: lib.func.vmap(lambda p: p.sum(), out_dims=2)(a),
        "in-dims-list": lambda lib, a, b: lib.func.vmap(lambda p, q: p, in_dims=[0, 0])(a, a),
        "dict-keys": lambda lib, a, b: lib.func.vmap(lambda d: d["a"], in_dims=({"a": 0},))({"a": a, "b": a}),
        "randomness-value": lambda lib, a, b: lib.func.vmap(lambda p: p, randomness="foo")(a),
        "chunk-size": lambda lib, a, b: lib.func.vmap(lambda p: p, chunk_size=0)(a),
    }
    check(fns[case], [Arg(x, grad=False), Arg(y, grad=False)], {}, device)


def test_vmap_error_messages():
    with pytest.raises(ValueError, match=r"vmap: Expected all tensors to have the same size in the mapped dimension, "
                                         r"got sizes \[3, 4\] for the mapped dimension"):
        ember.func.vmap(ember.add)(ember.ones(3), ember.ones(4))
    with pytest.raises(ValueError, match=r"Got in_dim=1 for some input, but that input is a Tensor of dimensionality 1 "
                                         r"so expected in_dim to satisfy -1 <= in_dim < 1"):
        ember.func.vmap(ember.sin, in_dims=1)(ember.ones(3))


def test_vmap_randomness(device):
    x = ember.ones(4, 3, device=device)
    with pytest.raises(RuntimeError, match="called random operation while in randomness error mode"):
        ember.func.vmap(lambda r: r + ember.rand(3, device=device))(x)
    same = ember.func.vmap(lambda r: r + ember.rand(3, device=device), randomness="same")(x)
    assert bool((same == same[0]).all())
    different = ember.func.vmap(lambda r: r + ember.rand(3, device=device), randomness="different")(x)
    assert not bool((different == different[0]).all())
    # PyTorch agrees on which modes accept random ops
    t = torch.ones(4, 3)
    with pytest.raises(RuntimeError):
        torch.func.vmap(lambda r: r + torch.rand(3))(t)
    torch.func.vmap(lambda r: r + torch.rand(()), randomness="same")(t)


# ---- functional_call ---------------------------------------------------------------------------------
class _Net:
    """The same small module in both frameworks (a buffer, a submodule, tied weights)."""

    @staticmethod
    def make(lib, tied: bool = False):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(3, 3)
                self.out = lib.nn.Linear(3, 2)
                if tied:
                    self.lin2 = self.lin
                self.register_buffer("scale", lib.ones(3))

            def forward(self, x, shift=0.0):
                h = self.lin(x * self.scale).tanh()
                if tied:
                    h = self.lin2(h)
                return self.out(h) + shift

        return Net()


def _weights(lib, device: str, names: dict) -> dict:
    dev = "cpu" if lib is torch else device
    return {k: lib.tensor(v, device=dev) for k, v in names.items()}


def test_functional_call(device):
    arrays = {"lin.weight": rnd(3, 3), "lin.bias": rnd(3), "out.weight": rnd(2, 3), "out.bias": rnd(2), "scale": rnd(3)}
    x = rnd(4, 3)

    def run(lib, inp, kwargs=None, split=False, subset=None):
        net = _Net.make(lib)
        if lib is not torch:
            net = net.to(device)
        w = _weights(lib, device, {k: v for k, v in arrays.items() if subset is None or k in subset})
        dicts = ({k: v for k, v in w.items() if k.startswith("lin")}, {k: v for k, v in w.items()
                                                                        if not k.startswith("lin")}) if split else w
        out = lib.func.functional_call(net, dicts, (inp,), kwargs)
        # the module's own parameters are back afterwards
        assert net.lin.weight is dict(net.named_parameters())["lin.weight"]
        assert isinstance(net.lin.weight, lib.nn.Parameter)
        return out

    check(lambda lib, a: run(lib, a), [Arg(x)], {}, device)
    check(lambda lib, a: run(lib, a, {"shift": 1.5}), [Arg(x)], {}, device)
    check(lambda lib, a: run(lib, a, split=True), [Arg(x)], {}, device)
    # a subset: values given for some names only
    subset = {"out.weight", "scale"}
    t_net = _Net.make(torch)
    e_net = _Net.make(ember).to(device)
    e_net.load_state_dict({k: ember.tensor(v.detach().numpy(), device=device) for k, v in t_net.state_dict().items()})
    t_out = torch.func.functional_call(t_net, _weights(torch, device, {k: arrays[k] for k in subset}), torch.tensor(x))
    e_out = ember.func.functional_call(e_net, _weights(ember, device, {k: arrays[k] for k in subset}),
                                       ember.tensor(x, device=device))
    np.testing.assert_allclose(e_out.detach().cpu().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_functional_call_grad_wrt_params(device):
    arrays = {"lin.weight": rnd(3, 3), "lin.bias": rnd(3), "out.weight": rnd(2, 3), "out.bias": rnd(2)}
    x = rnd(4, 3)

    def run(lib, inp):
        net = _Net.make(lib)
        if lib is not torch:
            net = net.to(device)
        params = _weights(lib, device, arrays)
        grads = lib.func.grad(lambda p: lib.func.functional_call(net, p, (inp,)).pow(2).sum())(params)
        return tuple(grads[k] for k in arrays)

    check(run, [Arg(x, grad=False)], {}, device)

    def per_sample(lib, inp):  # per-sample gradients: vmap(grad(functional_call))
        net = _Net.make(lib)
        if lib is not torch:
            net = net.to(device)
        params = _weights(lib, device, arrays)
        loss = lambda p, s: lib.func.functional_call(net, p, (s.unsqueeze(0),)).pow(2).sum()  # noqa: E731
        grads = lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0))(params, inp)
        return tuple(grads[k] for k in arrays)

    check(per_sample, [Arg(x, grad=False)], {}, device)


def test_functional_call_tied_weights(device):
    arrays = {"lin.weight": rnd(3, 3), "lin.bias": rnd(3), "out.weight": rnd(2, 3), "out.bias": rnd(2)}
    x = rnd(2, 3)

    def run(lib, inp, tie):
        net = _Net.make(lib, tied=True)
        if lib is not torch:
            net = net.to(device)
        return lib.func.functional_call(net, _weights(lib, device, arrays), (inp,), tie_weights=tie)

    check(lambda lib, a: run(lib, a, True), [Arg(x)], {}, device)
    # tie_weights=False: lin2 keeps the module's own weights, which differ between the frameworks,
    # so only the error behaviour and shapes are compared
    check(lambda lib, a: run(lib, a, False), [Arg(x)], {}, device, random=True)


@pytest.mark.parametrize("case", ["strict-unexpected", "strict-missing", "repeated", "bad-type", "bad-path"])
def test_functional_call_errors(device, case):
    x = rnd(3)

    def run(lib, a):
        lin = lib.nn.Linear(3, 2)
        w = lib.ones(2, 3, device=a.device)
        calls = {
            "strict-unexpected": lambda: lib.func.functional_call(lin, {"weight": w, "bias": w[0, :2], "foo": w}, a,
                                                                  strict=True),
            "strict-missing": lambda: lib.func.functional_call(lin, {"weight": w}, (a,), strict=True),
            "repeated": lambda: lib.func.functional_call(lin, ({"weight": w}, {"weight": w}), (a,)),
            "bad-type": lambda: lib.func.functional_call(lin, 3, (a,)),
            "bad-path": lambda: lib.func.functional_call(lin, {"a.weight": w}, (a,)),
        }
        return calls[case]()

    check(run, [Arg(x, grad=False)], {}, device, random=True)


def test_functional_call_strict_message():
    lin = ember.nn.Linear(2, 2)
    with pytest.raises(RuntimeError) as err:
        ember.func.functional_call(lin, {"weight": ember.ones(2, 2), "foo": ember.ones(1)}, (ember.ones(2),),
                                   strict=True)
    assert str(err.value) == ("Error(s) in reparametrizing for Linear:\n\tUnexpected key(s): 'foo'.\n"
                              "\tMissing key(s): 'bias'.")


def test_pytree_roundtrip():
    from collections import namedtuple

    from ember.utils._pytree import tree_flatten, tree_map, tree_unflatten

    P = namedtuple("P", "a b")
    tree = {"x": [1, (2, 3)], "y": P(4, {"z": 5})}
    leaves, spec = tree_flatten(tree)
    assert leaves == [1, 2, 3, 4, 5]
    assert tree_unflatten(leaves, spec) == tree
    assert tree_map(lambda v: v * 2, tree) == {"x": [2, (4, 6)], "y": P(8, {"z": 10})}
