"""Issue #14 section 4: ``nn.utils.parametrize``, ``nn.utils.parametrizations`` (weight_norm,
spectral_norm, orthogonal) and the old hook-based ``nn.utils.weight_norm`` / ``spectral_norm``.

Every case builds the same module in PyTorch and in ember (on every device) from the same weights
(PyTorch's state_dict loaded into ember), then compares forward values, the gradients of the
original tensors, the state_dict keys and values (loadable both ways), the power-iteration vectors
and the exceptions with PyTorch's.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

TOL = 1e-5
R = np.random.default_rng(4)


# ---- helpers ------------------------------------------------------------------------------------------
def to_ember(sd: dict, device: str) -> dict:
    return {k: ember.tensor(v.detach().numpy(), device=device) for k, v in sd.items()}


def to_torch(sd: dict) -> dict:
    return {k: torch.tensor(v.detach().cpu().numpy()) for k, v in sd.items()}


def npy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, ember.Tensor) else t.detach().numpy()


def close(e, t, tol: float = TOL) -> None:
    assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
    np.testing.assert_allclose(npy(e), npy(t), rtol=tol, atol=tol)


def pair(name: str, *args, device: str, **kwargs):
    """The same layer in both frameworks, ember's weights copied from PyTorch's."""
    t = getattr(torch.nn, name)(*args, **kwargs)
    e = getattr(ember.nn, name)(*args, device=device, **kwargs)
    e.load_state_dict(to_ember(t.state_dict(), device))
    return t, e


def inputs(name: str, device: str, t):
    shape = {"Linear": (5, getattr(t, "in_features", 0)), "Conv2d": (2, 2, 6, 6), "ConvTranspose2d": (2, 2, 5, 5)}[name]
    x = R.standard_normal(shape).astype(np.float32)
    return torch.tensor(x), ember.tensor(x, device=device)


LAYERS = [("Linear", (4, 3)), ("Conv2d", (2, 3, 3)), ("ConvTranspose2d", (2, 3, 3))]


def compare_forward_backward(t, e, name: str, device: str, tol: float = TOL) -> None:
    xt, xe = inputs(name, device, t)
    ot, oe = t(xt), e(xe)
    close(oe, ot, tol)
    g = R.standard_normal(tuple(ot.shape)).astype(np.float32)
    ot.backward(torch.tensor(g))
    oe.backward(ember.tensor(g, device=device))
    tp, ep = dict(t.named_parameters()), dict(e.named_parameters())
    assert list(ep) == list(tp)
    for k in tp:
        assert (ep[k].grad is None) == (tp[k].grad is None), k
        if tp[k].grad is not None:
            close(ep[k].grad, tp[k].grad, 10 * tol)


def compare_state(t, e) -> None:
    """Same keys in the same order, same values, and each framework loads the other's."""
    st, se = t.state_dict(), e.state_dict()
    assert list(se) == list(st)
    for k in st:
        close(se[k], st[k])
    t.load_state_dict(to_torch(se))
    e.load_state_dict(to_ember(st, next(iter(se.values())).device.type))


def same_error(fn_t, fn_e) -> None:
    """Same exception type and message (ember's Size/dtype reprs read "ember." where PyTorch's read "torch.")."""
    with pytest.raises(Exception) as te:
        fn_t()
    with pytest.raises(Exception) as ee:
        fn_e()
    assert type(ee.value) is type(te.value), (ee.value, te.value)
    assert str(ee.value).replace("ember", "torch") == str(te.value)


# ---- parametrizations.weight_norm --------------------------------------------------------------------
@pytest.mark.parametrize("name,args", LAYERS, ids=[c[0] for c in LAYERS])
@pytest.mark.parametrize("dim", [0, 1, -2, None])
def test_weight_norm(device, name, args, dim):
    from ember.nn.utils.parametrizations import weight_norm as ew
    from torch.nn.utils.parametrizations import weight_norm as tw

    t, e = pair(name, *args, device=device)
    tw(t, dim=dim)
    ew(e, dim=dim)
    assert type(e).__name__ == type(t).__name__ == f"Parametrized{name}"
    assert repr(e) == repr(t)
    close(e.parametrizations.weight.original0, t.parametrizations.weight.original0)
    close(e.weight, t.weight)
    compare_state(t, e)
    compare_forward_backward(t, e, name, device)


def test_weight_norm_loads_old_state_dict(device):
    """A checkpoint of the old hook-based weight_norm (weight_g/weight_v) loads into the new one."""
    from ember.nn.utils.parametrizations import weight_norm as ew
    from torch.nn.utils.parametrizations import weight_norm as tw

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3))
    t, e = tw(torch.nn.Linear(4, 3)), ew(ember.nn.Linear(4, 3, device=device))
    t.load_state_dict(old.state_dict())
    e.load_state_dict(to_ember(old.state_dict(), device))
    compare_state(t, e)
    compare_forward_backward(t, e, "Linear", device)


# ---- parametrizations.spectral_norm ------------------------------------------------------------------
@pytest.mark.parametrize("name,args", LAYERS, ids=[c[0] for c in LAYERS])
@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_spectral_norm(device, name, args, n_power_iterations):
    from ember.nn.utils.parametrizations import spectral_norm as es
    from torch.nn.utils.parametrizations import spectral_norm as ts

    t, e = pair(name, *args, device=device)
    ts(t, n_power_iterations=n_power_iterations)
    es(e, n_power_iterations=n_power_iterations)
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict(to_ember(t.state_dict(), device))  # PyTorch's random start vectors u, v
    for _ in range(4):  # training mode: every access runs the power method on the buffers
        close(e.weight, t.weight)
    pt, pe = t.parametrizations.weight[0], e.parametrizations.weight[0]
    close(pe._u, pt._u)
    close(pe._v, pt._v)
    compare_forward_backward(t, e, name, device)
    t.eval()
    e.eval()
    u_before = npy(pe._u)
    close(e.weight, t.weight)
    np.testing.assert_array_equal(npy(pe._u), u_before)  # eval: no power iteration
    compare_state(t, e)


def test_spectral_norm_vector_and_dim(device):
    from ember.nn.utils.parametrizations import spectral_norm as es
    from torch.nn.utils.parametrizations import spectral_norm as ts

    t, e = pair("Linear", 4, 3, device=device)
    ts(t, "bias")
    es(e, "bias")
    close(e.bias, t.bias)
    assert list(e.state_dict()) == list(t.state_dict())
    t, e = pair("Conv2d", 2, 3, 3, device=device)
    ts(t, dim=-1)
    es(e, dim=-1)
    e.load_state_dict(to_ember(t.state_dict(), device))
    close(e.weight, t.weight)
    same_error(lambda: ts(torch.nn.Linear(2, 2), dim=2), lambda: es(ember.nn.Linear(2, 2), dim=2))
    same_error(lambda: ts(torch.nn.Linear(2, 2), n_power_iterations=0),
               lambda: es(ember.nn.Linear(2, 2), n_power_iterations=0))
    same_error(lambda: ts(torch.nn.Linear(2, 2), "nope"), lambda: es(ember.nn.Linear(2, 2), "nope"))


# ---- old-style nn.utils.weight_norm / spectral_norm --------------------------------------------------
@pytest.mark.parametrize("name,args", LAYERS[:2], ids=[c[0] for c in LAYERS[:2]])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_old_weight_norm(device, name, args, dim):
    t, e = pair(name, *args, device=device)
    with pytest.warns(FutureWarning, match="weight_norm` is deprecated"):
        torch.nn.utils.weight_norm(t, dim=dim)
    with pytest.warns(FutureWarning, match="weight_norm` is deprecated"):
        ember.nn.utils.weight_norm(e, dim=dim)
    compare_state(t, e)
    compare_forward_backward(t, e, name, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        same_error(lambda: torch.nn.utils.weight_norm(t, dim=dim), lambda: ember.nn.utils.weight_norm(e, dim=dim))
    torch.nn.utils.remove_weight_norm(t)
    ember.nn.utils.remove_weight_norm(e)
    compare_state(t, e)
    same_error(lambda: torch.nn.utils.remove_weight_norm(torch.nn.Linear(2, 2)),
               lambda: ember.nn.utils.remove_weight_norm(ember.nn.Linear(2, 2)))


@pytest.mark.parametrize("name,args", LAYERS, ids=[c[0] for c in LAYERS])
def test_old_spectral_norm(device, name, args):
    t, e = pair(name, *args, device=device)
    torch.nn.utils.spectral_norm(t, n_power_iterations=2)
    ember.nn.utils.spectral_norm(e, n_power_iterations=2)
    st, se = t.state_dict(), e.state_dict()
    assert list(se) == list(st) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert se._metadata[""]["spectral_norm"] == st._metadata[""]["spectral_norm"]
    e.load_state_dict(to_ember(st, device))
    for _ in range(3):
        compare_forward_backward(t, e, name, device)
    close(e.weight_u, t.weight_u)
    close(e.weight_v, t.weight_v)
    t.eval()
    e.eval()
    compare_forward_backward(t, e, name, device)
    compare_state(t, e)
    torch.nn.utils.remove_spectral_norm(t)
    ember.nn.utils.remove_spectral_norm(e)
    assert list(e.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    # PyTorch's remove_spectral_norm leaves its load pre-hook behind (the isinstance test misses the
    # hook wrapper), so that module cannot load a plain state_dict any more; ember's removes it.
    fresh = getattr(torch.nn, name)(*args)
    fresh.load_state_dict(to_torch(e.state_dict()))
    for k, v in t.state_dict().items():
        close(e.state_dict()[k], v)
    e.load_state_dict(to_ember(t.state_dict(), device))
    same_error(lambda: torch.nn.utils.remove_spectral_norm(t), lambda: ember.nn.utils.remove_spectral_norm(e))


def test_old_spectral_norm_errors():
    tm, em = torch.nn.Linear(3, 2), ember.nn.Linear(3, 2)
    torch.nn.utils.spectral_norm(tm)
    ember.nn.utils.spectral_norm(em)
    same_error(lambda: torch.nn.utils.spectral_norm(tm), lambda: ember.nn.utils.spectral_norm(em))
    same_error(lambda: torch.nn.utils.spectral_norm(torch.nn.Linear(3, 2), n_power_iterations=0),
               lambda: ember.nn.utils.spectral_norm(ember.nn.Linear(3, 2), n_power_iterations=0))
    tm, em = torch.nn.Linear(3, 2, bias=False), ember.nn.Linear(3, 2, bias=False)
    same_error(lambda: torch.nn.utils.spectral_norm(tm, "bias"), lambda: ember.nn.utils.spectral_norm(em, "bias"))


# ---- parametrize itself --------------------------------------------------------------------------------
def _custom(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()

    class Scale(lib.nn.Module):
        def __init__(self, s):
            super().__init__()
            self.s = s

        def forward(self, X):
            return X * self.s

        def right_inverse(self, X):
            return X / self.s

    class RankOne(lib.nn.Module):
        def forward(self, x, y):
            return x.unsqueeze(-1) @ y.unsqueeze(-2)

        def right_inverse(self, Z):
            return Z[:, 0].clone(), Z[0].clone() / Z[0, 0]

    class NoInverse(lib.nn.Module):
        def forward(self, X):
            return X.tanh()

    class Widen(lib.nn.Module):
        def forward(self, X):
            return lib.cat([X, X], 0)

    class BadInverse(lib.nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, X):
            return X[:1]

    class ToDouble(lib.nn.Module):
        def forward(self, X):
            return X.double()

    class ReturnsInt(lib.nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, X):
            return 3

    return dict(Symmetric=Symmetric, Scale=Scale, RankOne=RankOne, NoInverse=NoInverse, Widen=Widen,
                BadInverse=BadInverse, ToDouble=ToDouble, ReturnsInt=ReturnsInt)


TC, EC = _custom(torch), _custom(ember)


def test_register_stack_assign_remove(device):
    TP, EP = torch.nn.utils.parametrize, ember.nn.utils.parametrize
    t, e = pair("Linear", 4, 4, device=device)
    for P, m, C in ((TP, t, TC), (EP, e, EC)):
        assert not P.is_parametrized(m)
        P.register_parametrization(m, "weight", C["Symmetric"]())
        P.register_parametrization(m, "weight", C["Scale"](2.0))
        assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
        assert P.type_before_parametrizations(m).__name__ == "Linear"
    assert repr(e) == repr(t)
    close(e.weight, t.weight)
    close(e.parametrizations.weight.original, t.parametrizations.weight.original)
    compare_state(t, e)
    compare_forward_backward(t, e, "Linear", device)
    # assigning goes through every right_inverse, last registered first; the original keeps its identity
    a = R.standard_normal((4, 4)).astype(np.float32)
    a = a + a.T
    orig_e = e.parametrizations.weight.original
    t.weight = torch.tensor(a)
    e.weight = ember.tensor(a, device=device)
    assert e.parametrizations.weight.original is orig_e
    close(e.weight, t.weight)
    close(e.parametrizations.weight.original, t.parametrizations.weight.original)
    # cached(): one evaluation per tensor inside the block
    with TP.cached(), EP.cached():
        assert e.weight is e.weight and t.weight is t.weight
    assert e.weight is not e.weight
    # remove, keeping the parametrized value (same Parameter object) or the original
    TP.remove_parametrizations(t, "weight")
    EP.remove_parametrizations(e, "weight")
    assert type(e) is ember.nn.Linear and not hasattr(e, "parametrizations")
    assert e.weight is orig_e
    compare_state(t, e)
    compare_forward_backward(t, e, "Linear", device)
    for P, m, C in ((TP, t, TC), (EP, e, EC)):
        P.register_parametrization(m, "weight", C["Scale"](3.0))
        P.register_parametrization(m, "bias", C["Scale"](3.0))
        P.remove_parametrizations(m, "weight", leave_parametrized=False)
        assert P.is_parametrized(m)
    assert type(e).__name__ == "ParametrizedLinear"
    compare_state(t, e)
    compare_forward_backward(t, e, "Linear", device)


def test_multiple_originals(device):
    TP, EP = torch.nn.utils.parametrize, ember.nn.utils.parametrize
    t, e = pair("Linear", 3, 3, device=device)
    TP.register_parametrization(t, "weight", TC["RankOne"]())
    EP.register_parametrization(e, "weight", EC["RankOne"]())
    assert list(e.state_dict()) == list(t.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    assert isinstance(e.parametrizations.weight.original0, ember.nn.Parameter)
    close(e.weight, t.weight)
    compare_state(t, e)
    compare_forward_backward(t, e, "Linear", device)
    same_error(lambda: TP.remove_parametrizations(t, "weight", leave_parametrized=False),
               lambda: EP.remove_parametrizations(e, "weight", leave_parametrized=False))
    TP.remove_parametrizations(t, "weight")
    EP.remove_parametrizations(e, "weight")
    assert list(e.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    compare_state(t, e)


def test_buffer_and_no_right_inverse(device):
    TP, EP = torch.nn.utils.parametrize, ember.nn.utils.parametrize
    t, e = pair("BatchNorm1d", 3, device=device)
    TP.register_parametrization(t, "running_var", TC["NoInverse"]())
    EP.register_parametrization(e, "running_var", EC["NoInverse"]())
    assert list(e.state_dict()) == list(t.state_dict())
    assert not isinstance(e.parametrizations.running_var.original, ember.nn.Parameter)
    close(e.running_var, t.running_var)
    # no right_inverse: assignment is refused, as in PyTorch
    same_error(lambda: setattr(t, "running_var", torch.ones(3)), lambda: setattr(e, "running_var", ember.ones(3)))


def test_transfer_and_copies(device):
    TP, EP = torch.nn.utils.parametrize, ember.nn.utils.parametrize
    src_t, src_e = pair("Linear", 3, 3, device=device)
    TP.register_parametrization(src_t, "weight", TC["Scale"](2.0))
    EP.register_parametrization(src_e, "weight", EC["Scale"](2.0))
    dst_t, dst_e = pair("Linear", 3, 3, device=device)
    TP.transfer_parametrizations_and_params(src_t, dst_t)
    EP.transfer_parametrizations_and_params(src_e, dst_e)
    assert dst_e.parametrizations.weight.original is src_e.parametrizations.weight.original
    assert list(dst_e.state_dict()) == list(dst_t.state_dict())
    close(dst_e.weight, dst_t.weight)
    # deepcopy works; pickling a parametrized module is refused (state_dict only)
    c = copy.deepcopy(src_e)
    assert type(c).__name__ == "ParametrizedLinear" and c.parametrizations.weight.original is not \
        src_e.parametrizations.weight.original
    close(c.weight, src_t.weight)
    same_error(lambda: pickle.dumps(src_t), lambda: pickle.dumps(src_e))


def test_train_mode_follows_module():
    tm, em = torch.nn.Linear(2, 2), ember.nn.Linear(2, 2)
    tm.eval()
    em.eval()
    torch.nn.utils.parametrize.register_parametrization(tm, "weight", TC["Scale"](2.0))
    ember.nn.utils.parametrize.register_parametrization(em, "weight", EC["Scale"](2.0))
    assert em.parametrizations.weight[0].training is tm.parametrizations.weight[0].training is False


def test_register_errors():
    TP, EP = torch.nn.utils.parametrize, ember.nn.utils.parametrize

    def both(cls_name: str, tensor_name: str = "weight", unsafe: bool = False, stacked: str | None = None):
        tm, em = torch.nn.Linear(3, 3), ember.nn.Linear(3, 3)
        if stacked:
            TP.register_parametrization(tm, "weight", TC[stacked]())
            EP.register_parametrization(em, "weight", EC[stacked]())
        same_error(lambda: TP.register_parametrization(tm, tensor_name, TC[cls_name](), unsafe=unsafe),
                   lambda: EP.register_parametrization(em, tensor_name, EC[cls_name](), unsafe=unsafe))
        # a refused first registration leaves the module untouched
        assert TP.is_parametrized(tm) == EP.is_parametrized(em)
        assert list(em.state_dict()) == list(tm.state_dict())

    both("Symmetric", "nope")                       # no such parameter or buffer
    both("Widen")                                   # shape change without unsafe
    both("BadInverse")                              # right_inverse changes the shape
    both("ToDouble")                                # dtype change without unsafe
    both("ReturnsInt")                              # right_inverse returns a non-tensor
    both("Widen", stacked="Symmetric")
    both("BadInverse", stacked="Symmetric")
    both("ToDouble", stacked="Symmetric")
    tm, em = torch.nn.Linear(3, 3), ember.nn.Linear(3, 3)
    TP.register_parametrization(tm, "weight", TC["Widen"](), unsafe=True)
    EP.register_parametrization(em, "weight", EC["Widen"](), unsafe=True)
    assert tuple(em.weight.shape) == tuple(tm.weight.shape) == (6, 3)
    assert em.parametrizations.weight.unsafe and tm.parametrizations.weight.unsafe
    same_error(lambda: torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(2, 2), "nope"),
               lambda: ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(2, 2), "nope"))
    # assigning to a parametrization whose right_inverse gives a sequence of the wrong length
    tm, em = torch.nn.Linear(3, 3), ember.nn.Linear(3, 3)
    TP.register_parametrization(tm, "weight", TC["RankOne"]())
    EP.register_parametrization(em, "weight", EC["RankOne"]())
    tm.parametrizations.weight.ntensors = em.parametrizations.weight.ntensors = 3
    same_error(lambda: setattr(tm, "weight", torch.ones(3, 3)), lambda: setattr(em, "weight", ember.ones(3, 3)))
    same_error(lambda: TP.remove_parametrizations(torch.nn.Linear(2, 2), "weight"),
               lambda: EP.remove_parametrizations(ember.nn.Linear(2, 2), "weight"))


# ---- parametrizations.orthogonal -----------------------------------------------------------------------
def _linalg_has(*names: str) -> bool:
    return all(hasattr(ember.linalg, n) for n in names)


ORTH = [("matrix_exp", (4, 4), True), ("cayley", (4, 4), True), ("householder", (5, 3), True),
        ("matrix_exp", (3, 5), True), ("cayley", (5, 3), True), ("householder", (3, 5), True),
        (None, (4, 4), True), (None, (5, 3), True), ("householder", (5, 3), False), ("householder", (3, 5), False)]


@pytest.mark.parametrize("orthogonal_map,shape,triv", ORTH,
                         ids=[f"{m}-{s[0]}x{s[1]}-{'triv' if t else 'notriv'}" for m, s, t in ORTH])
def test_orthogonal(device, orthogonal_map, shape, triv):
    need = {"householder": ("householder_product", "qr"), "cayley": ("solve", "qr"),
            "matrix_exp": ("matrix_exp", "qr")}
    kind = orthogonal_map or ("matrix_exp" if shape[0] == shape[1] else "householder")
    if not _linalg_has(*need[kind]):
        pytest.skip(f"ember.linalg lacks {need[kind]}")
    if not triv and not hasattr(ember, "geqrf"):
        pytest.skip("ember lacks geqrf")
    from ember.nn.utils.parametrizations import orthogonal as eo
    from torch.nn.utils.parametrizations import orthogonal as to

    t, e = pair("Linear", shape[1], shape[0], device=device)
    to(t, orthogonal_map=orthogonal_map, use_trivialization=triv)
    eo(e, orthogonal_map=orthogonal_map, use_trivialization=triv)
    assert list(e.state_dict()) == list(t.state_dict())
    w = e.weight
    gram = w.mT @ w if shape[0] >= shape[1] else w @ w.mT
    close(gram, torch.eye(min(shape)), 1e-5)
    # Same original and trivialization base (random completion for non-square) -> same Q and gradients
    sd = t.state_dict()
    sd["parametrizations.weight.original"] = torch.randn(shape) * 0.3
    t.load_state_dict(sd)
    e.load_state_dict(to_ember(sd, device))
    close(e.weight, t.weight, 1e-5)
    compare_forward_backward(t, e, "Linear", device, tol=1e-5)
    # assigning an orthogonal matrix gives it back (right_inverse through the base or the reflectors)
    big, small = max(shape), min(shape)
    q = np.linalg.qr(R.standard_normal((big, small)))[0].astype(np.float32)
    q = q if shape[0] >= shape[1] else q.T
    t.weight = torch.tensor(q)
    e.weight = ember.tensor(q, device=device)
    close(e.weight, t.weight, 1e-5)
    close(e.weight, torch.tensor(q), 1e-5)


def test_orthogonal_errors():
    from ember.nn.utils.parametrizations import orthogonal as eo
    from torch.nn.utils.parametrizations import orthogonal as to

    same_error(lambda: to(torch.nn.Linear(3, 3), orthogonal_map="nope"),
               lambda: eo(ember.nn.Linear(3, 3), orthogonal_map="nope"))
    same_error(lambda: to(torch.nn.Linear(3, 3), "bias"), lambda: eo(ember.nn.Linear(3, 3), "bias"))
    same_error(lambda: to(torch.nn.Linear(3, 3), "nope"), lambda: eo(ember.nn.Linear(3, 3), "nope"))


# ---- nn.utils.fusion ---------------------------------------------------------------------------------------
def _bn_pair(name: str, n: int, device: str):
    t, e = pair(name, n, device=device)
    sd = t.state_dict()
    sd["running_mean"] = torch.randn(n)
    sd["running_var"] = torch.rand(n) + 0.5
    sd["weight"] = torch.randn(n)
    sd["bias"] = torch.randn(n)
    t.load_state_dict(sd)
    e.load_state_dict(to_ember(sd, device))
    return t.eval(), e.eval()


FUSE = [("Conv2d", (2, 3, 3), "BatchNorm2d", False, True), ("Conv2d", (2, 3, 3), "BatchNorm2d", False, False),
        ("ConvTranspose2d", (2, 3, 3), "BatchNorm2d", True, True), ("Linear", (4, 3), "BatchNorm1d", None, True)]


@pytest.mark.parametrize("name,args,bn_name,transpose,bias", FUSE, ids=[f"{c[0]}-{c[4]}" for c in FUSE])
def test_fusion(device, name, args, bn_name, transpose, bias):
    t, e = pair(name, *args, device=device, bias=bias)
    t.eval()
    e.eval()
    bt, be = _bn_pair(bn_name, 3, device)
    if transpose is None:
        ft, fe = torch.nn.utils.fuse_linear_bn_eval(t, bt), ember.nn.utils.fuse_linear_bn_eval(e, be)
    else:
        ft = torch.nn.utils.fuse_conv_bn_eval(t, bt, transpose)
        fe = ember.nn.utils.fuse_conv_bn_eval(e, be, transpose)
    assert fe is not e and isinstance(fe.bias, ember.nn.Parameter)
    compare_state(ft, fe)
    xt, xe = inputs(name, device, t)
    close(fe(xe), ft(xt), 1e-4)
    close(fe(xe), be(e(xe)), 1e-4)


def test_fusion_errors():
    same_error(lambda: torch.nn.utils.fuse_conv_bn_eval(torch.nn.Conv2d(2, 3, 1), torch.nn.BatchNorm2d(3)),
               lambda: ember.nn.utils.fuse_conv_bn_eval(ember.nn.Conv2d(2, 3, 1), ember.nn.BatchNorm2d(3)))
    same_error(lambda: torch.nn.utils.fuse_linear_bn_eval(torch.nn.Linear(2, 3).eval(), torch.nn.BatchNorm1d(2).eval()),
               lambda: ember.nn.utils.fuse_linear_bn_eval(ember.nn.Linear(2, 3).eval(), ember.nn.BatchNorm1d(2).eval()))


def test_move_parametrized_module(device):
    """``module.to(device)`` moves the originals and the power-iteration buffers with the module."""
    from ember.nn.utils.parametrizations import spectral_norm as es
    from ember.nn.utils.parametrizations import weight_norm as ew
    from torch.nn.utils.parametrizations import spectral_norm as ts
    from torch.nn.utils.parametrizations import weight_norm as tw

    for reg_t, reg_e in ((tw, ew), (ts, es)):
        t, e = pair("Linear", 4, 3, device="cpu")
        reg_t(t)
        reg_e(e)
        e.load_state_dict(to_ember(t.state_dict(), "cpu"))
        e.to(device)
        assert {p.device.type for p in e.state_dict().values()} == {device}
        compare_forward_backward(t, e, "Linear", device)


def test_old_spectral_norm_version0_checkpoint(device):
    """A version-0 checkpoint (``weight`` saved, no ``weight_v``) gets its ``v`` solved on load."""
    if not hasattr(ember.linalg, "pinv"):
        pytest.skip("ember.linalg lacks pinv")
    t, e = pair("Linear", 3, 4, device=device)  # tall: W^T W is invertible, so v is well defined
    torch.nn.utils.spectral_norm(t)
    ember.nn.utils.spectral_norm(e)
    t(torch.randn(2, 3))
    st = t.state_dict()
    st["weight"] = t.weight.detach()
    del st["weight_v"]
    st._metadata[""]["spectral_norm"]["weight.version"] = 0
    se = to_ember(st, device)
    se = type(st)(se)
    se._metadata = copy.deepcopy(st._metadata)
    t.load_state_dict(st)
    e.load_state_dict(se)
    close(e.weight_v, t.weight_v, 1e-4)
