"""``ember.utils._pytree``, the rest of ``ember.utils.checkpoint`` (selective checkpointing, the
helpers), ``ember.func.linearize``/``functionalize``/``replace_all_batch_norm_modules_`` and
``ember.autograd.set_multithreading_enabled``, each against PyTorch 2.13 run side by side.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import warnings

import ember
import ember.utils._pytree as ept
import ember.utils.checkpoint as ecp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.utils._pytree as tpt  # noqa: E402
import torch.utils.checkpoint as tcp  # noqa: E402

R = np.random.default_rng(7)
P = collections.namedtuple("P", "x y")
TREES = [
    1, None, [], (), {}, [1, (2, 3)], {"b": 1, "a": [2, {"c": 3}]}, P(1, (2, [3])),
    collections.OrderedDict(z=1, a=(2,)), collections.defaultdict(list, k=[1, 2]), collections.deque([1, 2], maxlen=4),
    ((1,), [[2]], {"x": (3, None)}),
]


def _same_structure(e_spec, t_spec):
    assert repr(e_spec) == repr(t_spec).replace("torch", "ember")
    assert (e_spec.num_leaves, e_spec.num_nodes, e_spec.num_children) == \
        (t_spec.num_leaves, t_spec.num_nodes, t_spec.num_children)


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_flatten_unflatten_repr_pprint_paths(tree):
    e_leaves, e_spec = ept.tree_flatten(tree)
    t_leaves, t_spec = tpt.tree_flatten(tree)
    assert e_leaves == t_leaves
    _same_structure(e_spec, t_spec)
    assert ept.treespec_pprint(e_spec) == tpt.treespec_pprint(t_spec)
    assert ept.tree_unflatten([("v", i) for i in range(len(e_leaves))], e_spec) == \
        tpt.tree_unflatten([("v", i) for i in range(len(t_leaves))], t_spec)
    assert list(ept.tree_iter(tree)) == list(tpt.tree_iter(tree))
    e_paths = ept.tree_leaves_with_path(tree)
    t_paths = tpt.tree_leaves_with_path(tree)
    assert [ept.keystr(p) for p, _ in e_paths] == [tpt.keystr(p) for p, _ in t_paths]
    assert [repr(p) for p, _ in e_paths] == [repr(p) for p, _ in t_paths]
    assert [ept.key_get(tree, p) for p, _ in e_paths] == [v for _, v in t_paths]
    assert ept.tree_map_with_path(lambda p, v: ept.keystr(p), tree) == tpt.tree_map_with_path(lambda p, v: tpt.keystr(p), tree)
    assert ept.tree_is_leaf(tree) == tpt.tree_is_leaf(tree)


def test_spec_equality_and_hash_follow_torch():
    pairs = [((1,), [1]), ({"a": 1}, {"a": 2}), ({"a": 1, "b": 2}, {"b": 1, "a": 2}),
             (collections.OrderedDict(a=1), {"a": 1}), ([1, [2]], [3, [4]]), (P(1, 2), (1, 2))]
    for a, b in pairs:
        assert (ept.tree_structure(a) == ept.tree_structure(b)) == (tpt.tree_structure(a) == tpt.tree_structure(b))
        if ept.tree_structure(a) == ept.tree_structure(b):
            assert hash(ept.tree_structure(a)) == hash(ept.tree_structure(b))


def test_size_is_a_node_as_torch_size():
    e_leaves, e_spec = ept.tree_flatten(ember.Size([2, 3]))
    t_leaves, t_spec = tpt.tree_flatten(torch.Size([2, 3]))
    assert e_leaves == t_leaves and repr(e_spec) == repr(t_spec)
    assert type(ept.tree_map(lambda v: v, ember.Size([2]))) is type(tpt.tree_map(lambda v: v, torch.Size([2])))


MAP_ERRORS = [([1, 2], [1]), ({"a": 1}, {"b": 1}), ([1], (1,)), (P(1, 2), (1, 2))]


@pytest.mark.parametrize("tree,other", MAP_ERRORS)
def test_tree_map_structure_errors(tree, other):
    with pytest.raises(ValueError) as t_err:
        tpt.tree_map(lambda a, b: a, tree, other)
    with pytest.raises(ValueError) as e_err:
        ept.tree_map(lambda a, b: a, tree, other)
    assert str(e_err.value) == str(t_err.value)


def test_unflatten_wrong_count_message():
    with pytest.raises(ValueError) as t_err:
        tpt.tree_unflatten([1, 2], tpt.tree_structure([1]))
    with pytest.raises(ValueError) as e_err:
        ept.tree_unflatten([1, 2], ept.tree_structure([1]))
    assert str(e_err.value) == str(t_err.value)


def test_map_helpers_match_torch():
    tree = {"a": [1, 2.5, "s"], "b": (3, None)}
    for mod in (ept, tpt):
        assert mod.tree_map(lambda a, b: (a, b), [1, 2], [[9], {"k": 0}]) == [(1, [9]), (2, {"k": 0})]
    assert ept.tree_map_only(int, lambda v: v * 10, tree) == tpt.tree_map_only(int, lambda v: v * 10, tree)
    assert ept.tree_map_only((int, float), str, tree) == tpt.tree_map_only((int, float), str, tree)
    for name in ("tree_all", "tree_any"):
        for pred in (lambda v: v is not None, lambda v: v == 3):
            assert getattr(ept, name)(pred, tree) == getattr(tpt, name)(pred, tree)
    for name in ("tree_all_only", "tree_any_only"):
        assert getattr(ept, name)(int, lambda v: v > 1, tree) == getattr(tpt, name)(int, lambda v: v > 1, tree)
    e_seen, t_seen = [], []
    assert ept.tree_map_(e_seen.append, tree) is tree
    tpt.tree_map_(t_seen.append, tree)
    e_only, t_only = [], []
    ept.tree_map_only_(str, e_only.append, tree)
    tpt.tree_map_only_(str, t_only.append, tree)
    assert (e_seen, e_only) == (t_seen, t_only)


def test_is_namedtuple_and_structseq():
    import os
    import time

    for obj in (P(1, 2), P, (1, 2), time.gmtime(0), os.stat_result, 3):
        for name in ("is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance", "is_structseq",
                     "is_structseq_class", "is_structseq_instance"):
            assert getattr(ept, name)(obj) == getattr(tpt, name)(obj), (name, obj)


@pytest.mark.parametrize("tree", [TREES[5], TREES[6], TREES[8], TREES[9], TREES[10], TREES[11], [1, (None,)]])
def test_treespec_dumps_loads_cross_frameworks(tree):
    e_text = ept.treespec_dumps(ept.tree_structure(tree))
    t_text = tpt.treespec_dumps(tpt.tree_structure(tree))
    assert e_text == t_text
    assert ept.treespec_loads(t_text) == ept.tree_structure(tree)
    assert tpt.treespec_loads(e_text) == tpt.tree_structure(tree)


def test_treespec_dumps_size_spec_loads_in_torch():
    text = ept.treespec_dumps(ept.tree_structure((ember.Size([1, 2]),)))
    assert text == tpt.treespec_dumps(tpt.tree_structure((torch.Size([1, 2]),)))
    assert repr(ept.treespec_loads(text)) == repr(tpt.treespec_loads(text))


def test_treespec_serialization_errors():
    q = collections.namedtuple("Q", "a")
    for mod in (ept, tpt):
        with pytest.raises(NotImplementedError, match="namedtuple class"):
            mod.treespec_dumps(mod.tree_structure(q(1)))
        with pytest.raises(ValueError, match="Unknown protocol 7"):
            mod.treespec_dumps(mod.tree_structure([1]), protocol=7)


def test_register_pytree_node_with_keys_and_serialization():
    class Box:
        def __init__(self, a, b):
            self.a, self.b = a, b

        def __eq__(self, other):
            return isinstance(other, Box) and (self.a, self.b) == (other.a, other.b)

    results = []
    for mod in (ept, tpt):
        mod.register_pytree_node(Box, lambda x: ([x.a, x.b], None), lambda xs, _: Box(*xs),
                                 serialized_type_name="tests.Box",
                                 flatten_with_keys_fn=lambda x, mod=mod: ([(mod.GetAttrKey("a"), x.a),
                                                                  (mod.GetAttrKey("b"), x.b)], None))
        try:
            with pytest.raises(ValueError, match="already registered"):
                mod.register_pytree_node(Box, lambda x: ([], None), lambda xs, _: Box(1, 2))
            tree = {"k": Box(1, [2, 3])}
            leaves, spec = mod.tree_flatten(tree)
            paths = [mod.keystr(p) for p, _ in mod.tree_leaves_with_path(tree)]
            text = mod.treespec_dumps(spec)
            results.append((leaves, repr(spec).split("Box")[-1], paths, text, mod.tree_unflatten(leaves, spec) == tree,
                            mod.treespec_loads(text) == spec))
        finally:
            mod._deregister_pytree_node(Box)
    assert results[0] == results[1]


def test_register_without_keys_fn_raises_on_paths():
    class Pair:
        def __init__(self, a):
            self.a = a

    msgs = []
    for mod in (ept, tpt):
        mod.register_pytree_node(Pair, lambda x: ([x.a], None), lambda xs, _: Pair(*xs))
        try:
            with pytest.raises(ValueError) as err:
                mod.tree_flatten_with_path([Pair(1)])
            msgs.append(str(err.value).split("type:")[0])
        finally:
            mod._deregister_pytree_node(Pair)
    assert msgs[0] == msgs[1]


def test_register_dataclass():
    @dataclasses.dataclass
    class Point:
        x: int
        y: object = None

    out = []
    for mod in (ept, tpt):
        mod.register_dataclass(Point)
        try:
            out.append((mod.tree_leaves([Point(1), Point(2, 3)]), mod.tree_map(lambda v: v + 1, Point(1, 2))))
        finally:
            mod._deregister_pytree_node(Point)
    assert out[0] == out[1]


def test_deprecations_warn_as_torch():
    spec = ept.tree_structure([1])
    with pytest.warns(FutureWarning, match="children_specs"):
        assert spec.children_specs == spec.children()
    with pytest.warns(FutureWarning, match="LeafSpec"):
        leaf = ept.LeafSpec()
    assert leaf == spec.child(0) and isinstance(spec.child(0), ept.LeafSpec) and leaf.is_leaf()


def test_flatten_matches_ember_func_use():
    outs = []
    for lib in (ember, torch):
        f = lib.func.vmap(lambda d: d["a"] * 2 + d["b"][0], in_dims=({"a": 0, "b": (None,)},))
        outs.append(f({"a": lib.ones(3, 2), "b": (lib.ones(2),)}).tolist())
    assert outs[0] == outs[1]


# ------------------------------------------------------------------------------------------ checkpoint


def _sac_inputs():
    a = R.standard_normal((4, 4)).astype(np.float32)
    b = R.standard_normal((4, 4)).astype(np.float32)
    return a, b


def _fn(lib):
    def f(x, y):
        return lib.sigmoid(lib.matmul(lib.matmul(x, y), y)) * y
    return f


def _count_torch_mm(fn):
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.aten.mm.default:
                Count.n += 1
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return Count.n


def _count_ember_matmul(fn):
    from ember import dispatch

    seen = []
    restore = dispatch.wrap_kernels(lambda tbl, name, f: (lambda *a, **k: (seen.append(name), f(*a, **k))[1]))
    try:
        fn()
    finally:
        restore()
    return seen.count("matmul")


def _run(lib, mod, a, b, policy, use_reentrant=False):
    x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
    kw = {"use_reentrant": use_reentrant}
    if policy is not None:
        kw["context_fn"] = functools.partial(mod.create_selective_checkpoint_contexts, policy)
    out = mod.checkpoint(_fn(lib), x, y, **kw)
    count = (_count_torch_mm if lib is torch else _count_ember_matmul)(lambda: out.sum().backward())
    return out.detach().numpy(), x.grad.numpy(), y.grad.numpy(), count


@pytest.mark.parametrize("as_list", [False, True])
def test_selective_checkpoint_saves_matmuls(as_list):
    a, b = _sac_inputs()
    calls = []

    def e_policy(ctx, op, *args, **kwargs):
        calls.append((op.name, ctx.is_recompute))
        return ecp.CheckpointPolicy.MUST_SAVE if op == "matmul" else ecp.CheckpointPolicy.PREFER_RECOMPUTE

    def t_policy(ctx, op, *args, **kwargs):
        return tcp.CheckpointPolicy.MUST_SAVE if op is torch.ops.aten.mm.default else \
            tcp.CheckpointPolicy.PREFER_RECOMPUTE

    e_pol = ["matmul"] if as_list else e_policy
    t_pol = [torch.ops.aten.mm.default] if as_list else t_policy
    e_plain, t_plain = _run(ember, ecp, a, b, None), _run(torch, tcp, a, b, None)
    e_sac, t_sac = _run(ember, ecp, a, b, e_pol), _run(torch, tcp, a, b, t_pol)
    for e, t in ((e_plain, t_plain), (e_sac, t_sac)):
        for ev, tv in zip(e[:3], t[:3]):
            np.testing.assert_allclose(ev, tv, rtol=1e-5, atol=1e-6)
    # the two forward matmuls are not run again in backward: as many fewer as PyTorch's mm
    assert e_plain[3] - e_sac[3] == t_plain[3] - t_sac[3] == 2
    if not as_list:
        assert ("matmul", False) in calls and all(not r for _, r in calls)
        assert sum(1 for n, _ in calls if n == "matmul") == 2  # asked in the forward only


def test_selective_checkpoint_bool_policy_and_second_backward_error():
    a, b = _sac_inputs()
    errors = []
    for lib, mod, pol in ((ember, ecp, lambda ctx, op, *a, **k: op == "matmul"),
                          (torch, tcp, lambda ctx, op, *a, **k: op is torch.ops.aten.mm.default)):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        ctx_fn = functools.partial(mod.create_selective_checkpoint_contexts, pol)
        out = mod.checkpoint(_fn(lib), x, y, use_reentrant=False, context_fn=ctx_fn).sum()
        out.backward(retain_graph=True)
        with pytest.raises(RuntimeError) as err:
            out.backward()
        errors.append(str(err.value))
    assert errors[0] == errors[1]


def test_selective_checkpoint_context_errors():
    for mod in (ecp, tcp):
        with pytest.raises(TypeError, match="policy_fn_or_list must be either a function or a list of ops."):
            mod.create_selective_checkpoint_contexts(3)
        with pytest.raises(ValueError, match="Expected op in `op_list` to be an OpOverload"):
            mod.create_selective_checkpoint_contexts([object()])


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_context_fn_rules_and_gradients(use_reentrant):
    a, b = _sac_inputs()
    entered = {"fwd": 0, "re": 0}

    def make_ctx(lib):
        import contextlib

        @contextlib.contextmanager
        def mark(key):
            entered[key] += 1
            yield

        return lambda: (mark("fwd"), mark("re"))

    if use_reentrant:
        for mod, lib in ((ecp, ember), (tcp, torch)):
            with pytest.raises(ValueError, match="Passing `context_fn` or `debug` is only supported"):
                mod.checkpoint(_fn(lib), lib.ones(1), lib.ones(1), use_reentrant=True, context_fn=make_ctx(lib))
        e, t = _run(ember, ecp, a, b, None, True), _run(torch, tcp, a, b, None, True)
    else:
        grads = []
        for mod, lib in ((ecp, ember), (tcp, torch)):
            entered.update(fwd=0, re=0)
            x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
            mod.checkpoint(_fn(lib), x, y, use_reentrant=False, context_fn=make_ctx(lib)).sum().backward()
            grads.append((x.grad.numpy(), y.grad.numpy(), dict(entered)))
        (ex, ey, e_ent), (tx, ty, t_ent) = grads
        np.testing.assert_allclose(ex, tx, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ey, ty, rtol=1e-5, atol=1e-6)
        assert e_ent == t_ent == {"fwd": 1, "re": 1}
        e, t = _run(ember, ecp, a, b, None), _run(torch, tcp, a, b, None)
    for ev, tv in zip(e[:3], t[:3]):
        np.testing.assert_allclose(ev, tv, rtol=1e-5, atol=1e-6)


def test_checkpoint_argument_errors():
    for mod, lib in ((ecp, ember), (tcp, torch)):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(ValueError, match="determinism_check should be one of"):
            mod.checkpoint(lambda t: t * 2, x, use_reentrant=False, determinism_check="bogus")
        with pytest.raises(ValueError, match="debug=True is incompatible with non-default context_fn"):
            mod.checkpoint(lambda t: t * 2, x, use_reentrant=False, debug=True, context_fn=lambda: (None, None))


def test_checkpoint_function_and_helpers():
    a = R.standard_normal((3,)).astype(np.float32)
    res = []
    for mod, lib in ((ecp, ember), (tcp, torch)):
        x = lib.tensor(a, requires_grad=True)
        out = mod.CheckpointFunction.apply(lambda t, k: (t.sin() * k).sum(), True, x, 3.0)
        out.backward()
        d = mod.detach_variable((x * 2, 5))
        with pytest.raises(RuntimeError, match="Only tuple of tensors is supported"):
            mod.detach_variable([x])
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            mod.check_backward_validity([lib.ones(1), 2])
        ids, states = mod.get_device_states(lib.ones(1), [lib.ones(1)])
        res.append((float(out.detach()), x.grad.numpy(), d[0].requires_grad, d[0].grad_fn is None, d[1], str(w[0].message),
                    ids, states))
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-6)
    assert res[0][0] == pytest.approx(res[1][0]) and res[0][2:] == res[1][2:]


def test_state_switches():
    assert issubclass(ecp.CheckpointError, RuntimeError) and ecp.CheckpointError is not ember.CheckpointError
    for mod in (ecp, tcp):
        with mod.set_checkpoint_early_stop(False):
            assert mod._enable_checkpoint_early_stop is False
        assert mod._enable_checkpoint_early_stop is None
        with mod.set_checkpoint_debug_enabled(True):
            assert mod._checkpoint_debug_enabled is True
        assert mod._checkpoint_debug_enabled is None
        assert [type(c).__name__ for c in mod.noop_context_fn()] == ["nullcontext", "nullcontext"]
        old = mod.DefaultDeviceType._default_device_type
        mod.DefaultDeviceType.set_device_type("cpu")
        assert mod.DefaultDeviceType.get_device_type() == "cpu"
        mod.DefaultDeviceType._default_device_type = old
        assert [p.value for p in mod.CheckpointPolicy] == list(range(6))
        ctx = mod.SelectiveCheckpointContext(is_recompute=False, op_output=1)
        assert (ctx.is_recompute, ctx.op_output) == (False, 1)


# ------------------------------------------------------------------------------------------------ func


def _lin_fn(lib):
    return lambda x, y: (x.sin() * y, {"s": (x * y).sum(), "n": 3})


def test_linearize_matches_torch():
    a, b, t1, t2 = (R.standard_normal(3).astype(np.float32) for _ in range(4))
    e_out, e_jvp = ember.func.linearize(_lin_fn(ember), ember.tensor(a), ember.tensor(b))
    t_out, t_jvp = torch.func.linearize(_lin_fn(torch), torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(e_out[0].numpy(), t_out[0].numpy(), rtol=1e-6)
    for _ in range(2):  # reusable
        e_j = e_jvp(ember.tensor(t1), ember.tensor(t2))
        t_j = t_jvp(torch.tensor(t1), torch.tensor(t2))
        np.testing.assert_allclose(e_j[0].numpy(), t_j[0].numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e_j[1]["s"].numpy(), t_j[1]["s"].numpy(), rtol=1e-5, atol=1e-6)
        assert e_j[1]["n"] == t_j[1]["n"]


@pytest.mark.parametrize("bad", ["shape", "dtype", "structure"])
def test_linearize_tangent_errors(bad):
    msgs = []
    for lib in (ember, torch):
        _, jvp_fn = lib.func.linearize(lambda x: x * 2, lib.ones(3))
        arg = {"shape": (lib.ones(2),), "dtype": (lib.ones(3, dtype=lib.float64),),
               "structure": ((lib.ones(3),),)}[bad]
        with pytest.raises(RuntimeError) as err:
            jvp_fn(*arg)
        msgs.append(str(err.value).replace("torch", "ember"))
    assert msgs[0] == msgs[1]


def _mutating(a, b):
    v = a.view(-1)
    v.add_(b.sum())
    c = b * 2
    c.mul_(3)
    return v, c


def test_functionalize_matches_torch():
    a = R.standard_normal((2, 2)).astype(np.float32)
    b = R.standard_normal(2).astype(np.float32)
    results = []
    for lib in (ember, torch):
        for remove in ("mutations", "mutations_and_views"):
            x, y = lib.tensor(a), lib.tensor(b)
            v, c = lib.func.functionalize(_mutating, remove=remove)(x, y)
            v.add_(100)  # outputs do not alias the inputs
            results.append((x.numpy().copy(), y.numpy().copy(), v.numpy().copy(), c.numpy().copy()))
        with pytest.raises(RuntimeError, match="received invalid argument for remove=bad"):
            lib.func.functionalize(_mutating, remove="bad")
    for e, t in zip(results[:2], results[2:]):
        for ev, tv in zip(e, t):
            np.testing.assert_allclose(ev, tv, rtol=1e-6)


def test_functionalize_gradients():
    a = R.standard_normal(3).astype(np.float32)
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        out = lib.func.functionalize(lambda t: (t * 2).exp_().sum())(x)
        out.backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5)


def test_replace_all_batch_norm_modules():
    states = []
    for lib in (ember, torch):
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2), lib.nn.Sequential(lib.nn.BatchNorm2d(1)))
        assert lib.func.replace_all_batch_norm_modules_(net) is net
        bns = [net[1], net[2][0]]
        states.append(([(m.running_mean, m.running_var, m.num_batches_tracked, m.track_running_stats) for m in bns],
                       sorted(net.state_dict()), repr(net)))
    assert states[0] == states[1]


def test_set_multithreading_enabled():
    from ember.autograd.multithreading import is_multithreading_enabled

    seen = []
    for lib, probe in ((ember, is_multithreading_enabled), (torch, torch._C._is_multithreading_enabled)):
        with lib.autograd.set_multithreading_enabled(False) as m:
            seen.append((m, probe()))
        seen.append(probe())
        m = lib.autograd.set_multithreading_enabled(False)
        seen.append(probe())
        m.__exit__(None, None, None)
        seen.append((probe(), type(m.clone()).__name__))
    assert seen[:4] == seen[4:]
    assert "set_multithreading_enabled" in ember.autograd.__all__
