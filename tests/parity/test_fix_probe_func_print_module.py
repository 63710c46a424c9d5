"""Parity with PyTorch for three probed areas: ``torch.func`` errors and aux/structure rules, tensor
printing options (profiles, ``edgeitems=0``, ``get_printoptions``/``printoptions``), and the
``nn.Module`` API (global module hooks, ``always_call`` forward hooks, ``set_submodule``,
``get_buffer``, registration errors, ``ParameterDict``/``ModuleDict``/``Sequential`` methods).
Every case runs on real PyTorch and on ember and the results (values, strings, error types and
messages, with "ember" read as "torch") are compared."""

from __future__ import annotations

import collections
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _norm(x):
    """A library-neutral description of a result."""
    if isinstance(x, (torch.Tensor, ember.Tensor)):
        vals = np.round(np.asarray(x.detach().tolist(), dtype=complex if x.dtype.is_complex else float), 4)
        return ("T", str(x.dtype).split(".")[-1], tuple(x.shape), vals.tolist(), bool(x.requires_grad))
    if isinstance(x, (torch.nn.Module, ember.nn.Module)):
        return ("M", repr(x).replace("ember", "torch"))
    if isinstance(x, str):
        return x.replace("ember", "torch")
    if isinstance(x, dict):
        return (type(x).__name__, tuple((k, _norm(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(_norm(v) for v in x))
    return x


def _run(fn, lib):
    try:
        return _norm(fn(lib))
    except Exception as e:  # noqa: BLE001 - the error is the result compared
        return ("ERR", type(e).__name__, str(e).replace("ember", "torch"))


def _same(fn):
    t, e = _run(fn, torch), _run(fn, ember)
    assert e == t, (t, e)


def _x(lib, *shape, seed=0):
    g = np.random.default_rng(seed + sum(shape))
    return lib.tensor(g.standard_normal(shape).tolist() if shape else float(g.standard_normal()))


# ---- torch.func ------------------------------------------------------------------------------------

FUNC_CASES = {
    "grad_int_input": lambda T: T.func.grad(lambda x: (x * 2).sum())(T.tensor([1, 2])),
    "jacobian_int_input": lambda T: T.autograd.functional.jacobian(lambda x: x * 2, T.tensor([1, 2])),
    "vjp_cotangent_shape": lambda T: T.func.vjp(lambda x: x * 2, _x(T, 3))[1](T.ones(4)),
    "jvp_structure_msg": lambda T: T.func.jvp(lambda x, y: x * y, (_x(T, 3), _x(T, 3)), (T.ones(3),)),
    "jvp_tangents_not_tuple": lambda T: T.func.jvp(lambda x: x * 2, (_x(T, 3),), T.ones(3)),
    "jvp_dict_structure": lambda T: T.func.jvp(lambda d: d["a"], ({"b": _x(T, 2), "a": _x(T, 2)},),
                                               ({"a": T.ones(2)},)),
    "jvp_nontensor_primal": lambda T: T.func.jvp(lambda x: x * 2, (2.0,), (1.0,)),
    "jvp_empty_primals": lambda T: T.func.jvp(lambda: T.ones(2), (), ()),
    "jvp_output_none": lambda T: T.func.jvp(lambda x: None, (_x(T, 2),), (T.ones(2),)),
    "vjp_output_none": lambda T: T.func.vjp(lambda x: None, _x(T, 2)),
    "jacrev_output_empty": lambda T: T.func.jacrev(lambda x: ())(_x(T, 2)),
    "jacfwd_output_none": lambda T: T.func.jacfwd(lambda x: None)(_x(T, 2)),
    "jacrev_output_int": lambda T: T.func.jacrev(lambda x: (x, 3))(_x(T, 2)),
    "jacfwd_output_int": lambda T: T.func.jacfwd(lambda x: (x, 3))(_x(T, 2)),
    "jacrev_has_aux_not_tuple": lambda T: T.func.jacrev(lambda x: x ** 2, has_aux=True)(_x(T, 2)),
    "jacfwd_has_aux_not_tuple": lambda T: T.func.jacfwd(lambda x: x ** 2, has_aux=True)(_x(T, 2)),
    "jacfwd_random_error": lambda T: T.func.jacfwd(lambda x: x * T.rand(2))(_x(T, 2)),
    "jacfwd_random_same": lambda T: T.func.jacfwd(lambda x: x * 2 + 0 * T.rand(2), randomness="same")(_x(T, 2)),
    "grad_aux_str": lambda T: T.func.grad(lambda x: ((x ** 2).sum(), "s"), has_aux=True)(_x(T, 2)),
    "grad_aux_none": lambda T: T.func.grad(lambda x: ((x ** 2).sum(), None), has_aux=True)(_x(T, 2)),
    "grad_aux_empty": lambda T: T.func.grad(lambda x: ((x ** 2).sum(), ()), has_aux=True)(_x(T, 2)),
    "grad_aux_nested": lambda T: T.func.grad(lambda x: ((x ** 2).sum(), {"a": [x * 2]}), has_aux=True)(_x(T, 2)),
    "grad_and_value_aux_int": lambda T: T.func.grad_and_value(lambda x: ((x ** 2).sum(), [1, x]),
                                                              has_aux=True)(_x(T, 2)),
    "vjp_aux_int": lambda T: T.func.vjp(lambda x: (x ** 2, 3), _x(T, 2), has_aux=True)[2],
    "jvp_aux_int": lambda T: T.func.jvp(lambda x: (x ** 2, 3), (_x(T, 2),), (T.ones(2),), has_aux=True),
    "jacrev_aux_int": lambda T: T.func.jacrev(lambda x: (x ** 2, 3), has_aux=True)(_x(T, 2)),
    "jacfwd_aux_int": lambda T: T.func.jacfwd(lambda x: (x ** 2, 3), has_aux=True)(_x(T, 2)),
    "vmap_in_dims_structure": lambda T: T.func.vmap(lambda x, y: x, in_dims=(0,))(_x(T, 4, 3), _x(T, 4)),
    "vmap_in_dims_dict_structure": lambda T: T.func.vmap(lambda d: d["a"], in_dims=({"a": 0},))(
        {"a": _x(T, 4, 3), "b": _x(T, 4)}),
    "vmap_out_dims_structure": lambda T: T.func.vmap(lambda x: (x, x), out_dims=(0, 0, 0))(_x(T, 4, 3)),
    "vmap_nested_out_dims": lambda T: T.func.vmap(lambda x: {"a": (x, x.sum()), "b": x * 2},
                                                  out_dims={"a": (1, 0), "b": -1})(_x(T, 4, 3)),
    "functional_call_non_dict_elements": lambda T: T.func.functional_call(T.nn.Linear(2, 2), [1, 2], (T.ones(2),)),
    "functional_call_repeated_keys_order": lambda T: T.func.functional_call(
        T.nn.Linear(2, 2), ({"weight": T.eye(2), "bias": T.ones(2)}, {"bias": T.zeros(2), "weight": T.eye(2)}),
        (T.ones(2),)),
    "functional_call_two_dicts": lambda T: T.func.functional_call(
        T.nn.Linear(2, 2), ({"weight": T.eye(2) * 3}, {"bias": T.ones(2)}), (T.ones(1, 2),)),
}


@pytest.mark.parametrize("name", sorted(FUNC_CASES))
def test_func_matches_torch(name):
    _same(FUNC_CASES[name])


# ---- tensor printing -------------------------------------------------------------------------------

PRINT_TENSORS = [
    "T.tensor([1.0, 2.123456789, 3.0])",
    "T.tensor([1.5, 1e-5, 100.0])",
    "T.arange(20.)",
    "T.arange(20)",
    "T.arange(2000.)",
    "T.arange(60.).reshape(3, 4, 5)",
    "T.tensor([1 + 2j, 3.123456 - 4j])",
    "T.tensor(3.14159265)",
    "T.tensor([1.0, 2.0], requires_grad=True)",
    "T.tensor([1.0e-9, 2.0], dtype=T.float64)",
    "T.tensor([[1, 2, 3], [4, 5, 6]]).repeat(5, 5)",
    "T.tensor([True, False] * 10)",
    "T.zeros(3, 0)",
]
PRINT_OPTIONS = [
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "short", "precision": 6},
    {"edgeitems": 0, "threshold": 5},
    {"edgeitems": 1, "threshold": 5},
    {"threshold": float("inf")},
    {"profile": "bogus"},
]


@pytest.mark.parametrize("opts", PRINT_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_printoptions_match_torch(opts):
    for expr in PRINT_TENSORS:
        out = []
        for lib in (torch, ember):
            lib.set_printoptions(**opts)
            try:
                out.append(repr(eval(expr, {"T": lib})).replace("ember", "torch"))
            finally:
                lib.set_printoptions(profile="default")
        assert out[1] == out[0], (expr, out[0], out[1])


def _options_probe(lib):
    mod = lib._tensor_str
    out = []
    lib.set_printoptions(precision=2)
    lib.set_printoptions(linewidth=100)  # the earlier precision stays
    out.append(repr(lib.tensor([1.23456])))
    lib.set_printoptions(profile="short")
    out.append(mod.get_printoptions())
    with mod.printoptions(precision=1, sci_mode=True):
        out.append(repr(lib.tensor([1.23456])))
    out.append(mod.get_printoptions())
    lib.set_printoptions(3, 10, 1, 60, "default", True)  # positional, PyTorch's order: profile before sci_mode
    out.append(mod.get_printoptions())
    lib.set_printoptions(profile="default")
    out.append(mod.get_printoptions())
    return out


def test_get_printoptions_and_context_manager_match_torch():
    try:
        assert _options_probe(ember) == _options_probe(torch)
    finally:
        ember.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


# ---- nn.Module ---------------------------------------------------------------------------------------


def _net(T):
    class Net(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = T.nn.Linear(2, 3)
            self.b = T.nn.Sequential(T.nn.Linear(3, 3), T.nn.ReLU(), T.nn.BatchNorm1d(3))
            self.register_buffer("buf", T.ones(2))
            self.scale = T.nn.Parameter(T.tensor(2.0))

        def forward(self, x):
            return self.b(self.a(x)) * self.scale

    return Net()


def _errors(calls):
    out = []
    for call in calls:
        try:
            r = call()
            out.append(repr(r) if isinstance(r, (torch.nn.Module, ember.nn.Module)) else type(r).__name__)
        except Exception as e:  # noqa: BLE001 - the error is the result compared
            out.append(f"{type(e).__name__}: {e}".replace("ember", "torch"))
    return out


def _set_submodule(T):
    m = _net(T)
    calls = [lambda t=t, v=v: m.set_submodule(t, v) for t, v in [
        ("b.0", T.nn.Tanh()), ("b.9", T.nn.Tanh()), ("nothing.x", T.nn.Tanh()), ("a", 3), ("", T.nn.Tanh()),
        ("buf", T.nn.Tanh()), ("new", T.nn.Tanh())]]
    calls += [lambda t=t: m.set_submodule(t, T.nn.Tanh(), strict=True) for t in ["zz", "b.zz", "b.0"]]
    return _errors(calls) + [repr(m)]


def _always_call(T):
    log = []

    class Boom(T.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()

    def bad(mod, a, o):
        raise KeyError("hook")

    m.register_forward_hook(lambda mod, a, o: log.append(("always", o)), always_call=True)
    m.register_forward_hook(lambda mod, a, o: log.append("normal"))
    m.register_forward_hook(bad, always_call=True)
    m.register_forward_hook(lambda mod, a, k, o: log.append(("kw", sorted(k))), always_call=True, with_kwargs=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            m(T.ones(1))
        except ValueError as e:
            log.append(str(e))
        log.append([str(x.message) for x in w])
    ident = T.nn.Identity()
    ident.register_forward_hook(lambda mod, a, o: log.append("first"), always_call=True)
    ident.register_forward_hook(bad)
    ident.register_forward_hook(lambda mod, a, o: log.append("after"), always_call=True)
    try:
        ident(T.ones(1))
    except KeyError as e:
        log.append(str(e))
    return log


def _global_forward_hooks(T):
    log = []
    mm = T.nn.modules.module
    handles = [
        mm.register_module_forward_pre_hook(lambda mod, a: log.append(("gpre", type(mod).__name__))),
        mm.register_module_forward_hook(lambda mod, a, o: log.append(("gfwd", type(mod).__name__))),
        mm.register_module_forward_hook(lambda mod, a, k, o: log.append(("gkw", sorted(k))), with_kwargs=True),
    ]
    try:
        s = T.nn.Sequential(T.nn.ReLU(), T.nn.Tanh())
        s[0].register_forward_hook(lambda mod, a, o: log.append(("local", type(mod).__name__)))
        s(T.ones(1))
    finally:
        for h in handles:
            h.remove()
    s(T.ones(1))
    with mm.register_module_forward_pre_hook(lambda mod, a: (a[0] + 1,)):
        with mm.register_module_forward_hook(lambda mod, a, o: o * 10):
            log.append(T.nn.Identity()(T.ones(1)).tolist())
    h = mm.register_module_forward_hook(lambda mod, a, o: log.append("always"), always_call=True)

    class Boom(T.nn.Module):
        def forward(self, x):
            raise ValueError("x")

    try:
        Boom()(T.ones(1))
    except ValueError:
        log.append("raised")
    finally:
        h.remove()
    return log


def _global_backward_and_registration_hooks(T):
    log = []
    mm = T.nn.modules.module
    handles = [
        mm.register_module_full_backward_hook(lambda m, gi, go: log.append(("bw", type(m).__name__))),
        mm.register_module_full_backward_pre_hook(lambda m, go: log.append(("bwpre", type(m).__name__))),
        mm.register_module_buffer_registration_hook(
            lambda m, n, b: log.append(("buf", n)) or (None if b is None else b * 2)),
        mm.register_module_module_registration_hook(lambda m, n, s: log.append(("mod", n))),
        mm.register_module_parameter_registration_hook(lambda m, n, p: log.append(("par", n))),
    ]
    try:
        lin = T.nn.Linear(2, 1)
        lin(T.ones(1, 2, requires_grad=True)).sum().backward()
        m = T.nn.Module()
        m.lin = lin
        m.register_buffer("b", T.ones(1))
        m.b = T.ones(1)
        m.p = T.nn.Parameter(T.ones(1))
        m.register_parameter("q", None)
        m.add_module("k", None)
        log.append(m.b.tolist())
    finally:
        for h in handles:
            h.remove()
    return log


def _registration_errors(T):
    m = T.nn.Module()
    m.x = 1
    m.register_buffer("b", T.ones(1))
    lin = T.nn.Linear(2, 2)
    bn = T.nn.BatchNorm1d(2)
    seq = T.nn.Sequential(T.nn.ReLU())

    def assign(obj, name, value):
        setattr(obj, name, value)

    return _errors([
        lambda: m.register_parameter("ok", T.ones(1)),
        lambda: m.register_parameter("nl", T.nn.Parameter(T.ones(1)) * 2),
        lambda: m.register_buffer("ok2", 5),
        lambda: m.add_module("x", T.nn.ReLU()),
        lambda: m.add_module(3, T.nn.ReLU()),
        lambda: assign(lin, "weight", T.ones(2, 2)),
        lambda: assign(lin, "bias", T.nn.ReLU()),
        lambda: assign(bn, "running_mean", 3),
        lambda: assign(seq, "0", 3),
        lambda: T.nn.Module(foo=1),
        lambda: T.nn.Module(1, 2),
        lambda: T.nn.Linear(1, 1).get_extra_state(),
        lambda: T.nn.Linear(1, 1).set_extra_state({}),
    ])


def _get_buffer(T):
    m = _net(T)
    return _errors([lambda t=t: m.get_buffer(t) for t in
                    ["b.2.running_mean", "buf", "scale", "nothing", "b.7.x", "a.in_features"]])


def _state_dict_hook_metadata(T):
    log = []
    m = T.nn.Linear(1, 1)
    m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: log.append(("pre", prefix, keep_vars)))
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: log.append(("post", prefix, sorted(sd), meta)))
    T.nn.Sequential(m).state_dict(prefix="z.")
    return log


def _containers(T):
    s = T.nn.Sequential(T.nn.ReLU())
    d = T.nn.ModuleDict({"a": T.nn.ReLU()})
    return _errors([
        lambda: s.insert(0, 3),
        lambda: d.update(3),
        lambda: d.update([1]),
        lambda: d.update([("a",)]),
    ]) + [repr(d)]


def _parameter_dict(T):
    out = []
    d = T.nn.ParameterDict({"b": T.ones(1), "a": T.ones(2)})  # a plain dict is added in sorted key order
    out.append(list(d))
    out.append(list(T.nn.ParameterDict(collections.OrderedDict([("b", T.ones(1)), ("a", T.ones(2))]))))
    d3 = T.nn.ParameterDict([("z", T.ones(1)), ("y", T.ones(1))])
    out += [list(reversed(d3)), repr(d3.popitem()), list(d3)]
    out.append(repr(d | T.nn.ParameterDict({"q": T.ones(1)})))
    out.append(repr(T.nn.ParameterDict({"r": T.ones(3)}).__ror__(d)))
    d |= {"w": T.ones(1)}
    out.append(list(d))
    out.append(d.setdefault("v", T.ones(1)) is d["v"])
    out.append(list(d.fromkeys(["k1", "k2"], T.ones(1))))
    out.append(repr(d.copy()))
    e = T.nn.ParameterDict()
    out += _errors([lambda: e.popitem(), lambda: e[3], lambda: e.__setitem__(3, T.ones(1)), lambda: e.update(3),
                    lambda: e.update([1]), lambda: e.update([(1, 2, 3)])])
    return out


def _compile(T):
    m = T.nn.Linear(2, 2)
    before = m._compiled_call_impl is None
    validating = T.distributions.Distribution._validate_args
    try:
        m.compile(backend="eager")
    finally:
        # importing torch._dynamo switches torch.distributions' default validation off for the whole
        # process (TorchPatcher): put it back, or later distribution rows compare against no checks
        T.distributions.Distribution.set_default_validate_args(validating)
    return before, m._compiled_call_impl is not None, tuple(m(T.ones(1, 2)).shape)


MODULE_CASES = {
    "set_submodule": _set_submodule,
    "always_call_hooks": _always_call,
    "global_forward_hooks": _global_forward_hooks,
    "global_backward_and_registration_hooks": _global_backward_and_registration_hooks,
    "registration_errors": _registration_errors,
    "get_buffer": _get_buffer,
    "state_dict_hook_metadata": _state_dict_hook_metadata,
    "containers": _containers,
    "parameter_dict": _parameter_dict,
    "compile": _compile,
}


@pytest.mark.parametrize("name", sorted(MODULE_CASES))
def test_module_api_matches_torch(name):
    _same(MODULE_CASES[name])
