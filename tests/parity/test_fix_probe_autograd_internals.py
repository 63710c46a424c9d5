"""Autograd internals as PyTorch has them (found by probing): graph-node hooks and ``metadata``,
tensor-hook checks and ordering, ``torch.autograd.graph`` helpers (GradientEdge, multi-grad hooks,
``increment_version``, ``allow_mutation_on_saved_tensors``), custom-Function rules, and the
argument checks of ``autograd.grad``/``backward``. Every row runs the same code on PyTorch and on
ember and compares results, error types and messages.
"""

from __future__ import annotations

import warnings

import ember
import pytest

torch = pytest.importorskip("torch")


def _outcome(fn, L, dev):
    """``fn(L, dev)``'s result, or its exception's type and message (``torch`` read as ``ember``)."""
    try:
        return "ok", fn(L, dev)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc).__name__, str(exc).replace("torch.", "ember.")


def _same(fn, device="cpu"):
    want, got = _outcome(fn, torch, "cpu"), _outcome(fn, ember, device)
    assert got == want, f"ember {got!r} != torch {want!r}"
    return got


def _vals(t):
    return None if t is None else t.detach().cpu().tolist()


# ---- Node hooks -------------------------------------------------------------------------------


def test_node_prehook_and_hook_see_and_replace_gradients(device):
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        b = L.ones(3, device=dev)
        c = a * b
        log = []
        c.grad_fn.register_prehook(lambda go: log.append(("pre", [_vals(g) for g in go])))
        c.grad_fn.register_hook(lambda gi, go: log.append(("post", [_vals(g) for g in gi], [_vals(g) for g in go])))
        d = a * 2
        d.grad_fn.register_prehook(lambda go: (go[0] * 10,))
        d.grad_fn.register_hook(lambda gi, go: (gi[0] + 1, None))
        (c * 3 + d).sum().backward()
        return log, _vals(a.grad)
    _same(run, device)


def test_hook_order_tensor_hooks_retain_grad_node_hooks(device):
    """Tensor hooks, then retain_grad (whenever it was called), then the node's pre-hooks; the
    leaf's: tensor hook, accumulator pre-hook, post-accumulate hook, accumulator post-hook."""
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        c = a * 2
        log = []
        c.register_hook(lambda g: log.append("t1"))
        c.retain_grad()
        c.register_hook(lambda g: (log.append(("t2", _vals(c.grad))), g * 10)[1])
        c.grad_fn.register_prehook(lambda go: log.append(("pre", _vals(c.grad))))
        c.grad_fn.register_hook(lambda gi, go: log.append("post"))
        a.register_hook(lambda g: log.append("leaf"))
        acc = c.grad_fn.next_functions[0][0]
        acc.register_prehook(lambda go: log.append("acc-pre"))
        a.register_post_accumulate_grad_hook(lambda p: log.append("post-acc"))
        acc.register_hook(lambda gi, go: log.append(("acc-post", gi, _vals(go[0]))))
        (c * 3).sum().backward()
        return log, _vals(c.grad), _vals(a.grad)
    _same(run, device)


@pytest.mark.parametrize("case", ["tensor", "wrong_count", "int", "size", "post_tensor", "remove"])
def test_node_hook_results_are_checked(case):
    def run(L, dev):
        a = L.ones(3, requires_grad=True)
        c = a * 2
        node = c.grad_fn
        if case == "tensor":
            node.register_prehook(lambda go: go[0] * 10)
        elif case == "wrong_count":
            node.register_prehook(lambda go: (go[0], go[0]))
        elif case == "int":
            node.register_hook(lambda gi, go: 4)
        elif case == "size":
            node.register_prehook(lambda go: (L.ones(2),))
        elif case == "post_tensor":
            node.register_hook(lambda gi, go: gi[0] * 5)
        else:
            node.register_prehook(lambda go: (go[0] * 10,)).remove()
        (c * 3).sum().backward()
        return _vals(a.grad)
    _same(run)


@pytest.mark.parametrize("case", ["dtype", "size", "int", "leaf_size", "none"])
def test_tensor_hook_results_are_checked(case):
    def named(g):
        return {"dtype": g.double(), "size": g[:2], "int": 5, "leaf_size": g[:1], "none": None}[case]

    def run(L, dev):
        a = L.ones(3, requires_grad=True)
        c = a * 2
        (a if case == "leaf_size" else c).register_hook(named)
        (c * 3).sum().backward()
        return _vals(a.grad)
    _same(run)


def test_autograd_grad_stops_at_the_input_node():
    """grad(..., c) runs c's tensor hooks but not c.grad_fn or its node hooks (PyTorch's exec_info)."""
    def run(L, dev):
        a = L.ones(3, requires_grad=True)
        c = a * 2
        log = []
        c.register_hook(lambda g: log.append("tensor"))
        c.grad_fn.register_prehook(lambda go: log.append("pre"))
        c.grad_fn.register_hook(lambda gi, go: log.append("post"))
        (g,) = L.autograd.grad((c * 3).sum(), c)
        return log, _vals(g), _vals(a.grad)
    _same(run)


def test_node_metadata_name_repr_and_forward_cls():
    def run(L, dev):
        a = L.ones(3, requires_grad=True)
        y = a * 2
        y.grad_fn.metadata["k"] = 1
        acc = y.grad_fn.next_functions[0][0]
        try:
            y.grad_fn.metadata = {}
            settable = True
        except AttributeError:
            settable = False

        class F(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.metadata["seen"] = True
                return x.clone()

            @staticmethod
            def backward(ctx, g):
                return g

        z = F.apply(a)
        return (y.grad_fn.metadata, acc.metadata, acc.name(), repr(acc).split(" object")[0], acc.variable is a,
                settable, z.grad_fn.metadata, z.grad_fn._forward_cls is F, isinstance(y.grad_fn, L.autograd.graph.Node))
    _same(run)


def test_retain_grad_needs_requires_grad():
    _same(lambda L, dev: L.ones(3).retain_grad())
    _same(lambda L, dev: L.ones(3, requires_grad=True).retain_grad())


# ---- torch.autograd.graph ---------------------------------------------------------------------


def test_gradient_edges(device):
    def run(L, dev):
        G = L.autograd.graph
        a = L.ones(3, requires_grad=True, device=dev)
        y = a * 2
        z = (y * 3).sum()
        ey, ea = G.get_gradient_edge(y), G.get_gradient_edge(a)
        (gy,) = L.autograd.grad(z, ey, retain_graph=True)
        gy2, ga = L.autograd.grad(z, [ey, ea], retain_graph=True)
        (gu,) = L.autograd.grad(z, G.get_gradient_edge(L.ones(1, requires_grad=True)), allow_unused=True,
                                retain_graph=True)
        L.autograd.backward(z, inputs=[ea])
        return (type(ey).__name__, ey._fields, ey.node is y.grad_fn, ey.output_nr, ea.node.name(), _vals(gy),
                _vals(gy2), _vals(ga), gu, _vals(a.grad))
    _same(run, device)
    _same(lambda L, dev: L.autograd.grad((L.ones(1, requires_grad=True) * 2).sum(),
                                         L.autograd.graph.get_gradient_edge(L.ones(1, requires_grad=True)),
                                         materialize_grads=True))
    _same(lambda L, dev: L.autograd.graph.get_gradient_edge(L.ones(3)))
    _same(lambda L, dev: L.autograd.grad(L.autograd.graph.get_gradient_edge(L.ones(3, requires_grad=True) * 2),
                                         L.ones(1, requires_grad=True)))


@pytest.mark.parametrize("mode", ["all", "any"])
def test_register_multi_grad_hook(mode, device):
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        b = L.ones(3, requires_grad=True, device=dev)
        c = a * b
        d = a * b
        log = []
        fn = (lambda gs: log.append([g is not None for g in gs])) if mode == "all" else (lambda g: log.append(_vals(g)))
        h = L.autograd.graph.register_multi_grad_hook((a, b, c, d), fn, mode=mode)
        c.sum().backward(retain_graph=True)
        c.sum().backward(inputs=(a,), retain_graph=True)
        (a * 2).sum().backward()
        h.remove()
        c.sum().backward()
        return log
    _same(run, device)
    _same(lambda L, dev: L.autograd.graph.register_multi_grad_hook((L.ones(1, requires_grad=True),), print,
                                                                    mode="bad"))


@pytest.mark.parametrize("case", ["non_leaf", "leaf", "output", "inplace", "anomaly"])
def test_version_errors_name_the_tensor_as_torch(case):
    """increment_version marks a tensor modified; the error names the op that made the saved
    tensor (its current history, or this node for a saved output) and PyTorch's hint."""
    def run(L, dev):
        a = L.ones(3, requires_grad=True)
        b = a * 1
        if case == "output":
            y = b.exp()
            L.autograd.graph.increment_version(y)
        elif case == "leaf":
            y = a * a
            L.autograd.graph.increment_version([a])
        else:
            y = b * b
            if case == "non_leaf":
                L.autograd.graph.increment_version(b)
            else:
                b.add_(1)
        with warnings.catch_warnings(), L.autograd.set_detect_anomaly(case == "anomaly"):
            warnings.simplefilter("ignore")
            y.sum().backward()
    _same(run)


def test_allow_mutation_on_saved_tensors(device):
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        with L.autograd.graph.allow_mutation_on_saved_tensors() as ctx:
            c = a.clone()
            y = c * c
            c.mul_(2)
            y.sum().backward()
        return _vals(a.grad), type(ctx).__name__
    _same(run, device)

    def outside(L, dev):
        a = L.ones(3, requires_grad=True)
        with L.autograd.graph.allow_mutation_on_saved_tensors():
            y = a * a
        y.sum().backward()
    _same(outside)

    def nested(L, dev):
        with L.autograd.graph.allow_mutation_on_saved_tensors(), L.autograd.graph.allow_mutation_on_saved_tensors():
            pass
    _same(nested)


def test_saved_tensors_hooks_details():
    def as_value(L, dev):
        with L.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t) as h:
            return h
    _same(as_value)

    def bad_unpack(L, dev):
        a = L.ones(3, requires_grad=True)
        with L.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 5):
            y = a * a
        y.sum().backward()
    _same(bad_unpack)


# ---- custom Function --------------------------------------------------------------------------


def _fn(L, backward_value=None, body="clone"):
    class F(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x if body == "identity" else x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3 if backward_value is None else backward_value(L, g)

    return F


def test_function_returning_its_leaf_input_keeps_the_leaf(device):
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        y = _fn(L, body="identity").apply(a)
        (y * 1).sum().backward()
        return a.is_leaf, a.grad_fn, y is a, y.is_leaf, y.grad_fn.name(), _vals(a.grad)
    _same(run, device)


@pytest.mark.parametrize("grad", ["short", "broadcast", "leading", "wrong_rank", "float", "double"])
def test_function_gradient_checks(grad, device):
    """Each gradient a user's backward returns must fit its input: summed back when the input
    broadcasts to it, PyTorch's error naming both shapes otherwise, cast to the input's dtype."""
    make = {"short": lambda L, g: g[:2], "broadcast": lambda L, g: L.ones(2, 3, device=g.device),
            "leading": lambda L, g: L.ones(1, 1, 3, device=g.device), "wrong_rank": lambda L, g: L.ones(3, 1),
            "float": lambda L, g: 3.0, "double": lambda L, g: g.double()}[grad]

    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        b = a * 1
        _fn(L, make).apply(b).sum().backward()
        return _vals(a.grad), a.grad.dtype == L.float32
    _same(run, device)


def test_function_context_errors():
    def dirty_leaf(L, dev):
        class F(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        F.apply(L.ones(3, requires_grad=True))
    _same(dirty_leaf)

    def dirty_non_leaf(L, dev):
        a = L.ones(3, requires_grad=True)
        c = a.clone()

        class F(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        y = F.apply(c)
        y.sum().backward()
        return y is c, c.grad_fn.name(), _vals(a.grad)
    _same(dirty_non_leaf)

    def save_int(L, dev):
        class F(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g

        F.apply(L.ones(3, requires_grad=True))
    _same(save_int)


@pytest.mark.parametrize("which", ["vjp", "both", "inherit"])
def test_function_vjp_is_backward(which):
    def run(L, dev):
        def grad(ctx, g):
            return g * 5

        body = {"forward": staticmethod(lambda ctx, x: x * 2)}
        if which in ("vjp", "both"):
            body["vjp"] = staticmethod(grad)
        if which in ("both", "inherit"):
            body["backward"] = staticmethod(grad)
        F = type("F", (L.autograd.Function,), body)
        if which == "inherit":
            F = type("G", (F,), {"backward": staticmethod(lambda ctx, g: g * 7)})
        a = L.ones(2, requires_grad=True)
        F.apply(a).sum().backward()
        return _vals(a.grad)
    _same(run)
    _same(lambda L, dev: (L.autograd.Function.vjp is L.autograd.Function.backward,
                          L.autograd.Function.generate_vmap_rule, callable(L.autograd.Function.jvp)))
    _same(lambda L, dev: L.autograd.Function.setup_context(None, (), None))


# ---- autograd.grad / backward arguments -------------------------------------------------------

_ARGS = {
    "grad_inputs_empty": lambda L, a, b: L.autograd.grad((a * 2).sum(), []),
    "backward_inputs_empty": lambda L, a, b: (a * 2).sum().backward(inputs=[]),
    "backward_inputs_no_grad": lambda L, a, b: (a * 2).sum().backward(inputs=[b]),
    "element_index": lambda L, a, b: L.autograd.grad([(a * 2).sum(), b.sum()], a),
    "backward_element_index": lambda L, a, b: L.autograd.backward([(a * 2).sum(), b.sum()]),
    "unused_index": lambda L, a, b: L.autograd.grad((a * 2).sum(), [a, L.ones(1, requires_grad=True)]),
    "fewer_gradients": lambda L, a, b: L.autograd.grad([a * 2, (a * 3).sum()], a, [L.ones(3)]),
    "extra_gradients": lambda L, a, b: _vals(L.autograd.grad((a * 2).sum(), a, [L.tensor(2.0), L.tensor(3.0)])[0]),
    "dict_inputs": lambda L, a, b: {k: _vals(v) for k, v in L.autograd.grad((a * 2).sum(), {"x": a}).items()},
    "dict_backward": lambda L, a, b: ((a * 2).sum().backward(inputs={"x": a}), _vals(a.grad)),
    "complex_grad_output": lambda L, a, b: L.autograd.grad(a * 2, a, L.ones(3, dtype=L.complex64)),
    "scalar_grad_output": lambda L, a, b: L.autograd.grad((a * 2).sum(), a, 1.0),
    "shape_mismatch": lambda L, a, b: L.autograd.grad(a * 2, a, L.ones(2)),
    "batched_shape": lambda L, a, b: L.autograd.grad(a * 2, a, L.ones(2, 4), is_grads_batched=True),
    "grad_variables": lambda L, a, b: L.autograd.backward((a * 2).sum(), L.tensor(1.0), None, False, L.tensor(1.0)),
}


@pytest.mark.parametrize("case", sorted(_ARGS))
def test_grad_and_backward_arguments(case):
    def run(L, dev):
        a = L.ones(3, requires_grad=True)
        b = L.ones(3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _ARGS[case](L, a, b)
    _same(run)


def test_only_inputs_false_warns():
    def run(L, dev):
        a = L.ones(3, requires_grad=True)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            L.autograd.grad((a * 2).sum(), a, only_inputs=False)
        return [(x.category.__name__, str(x.message)) for x in w]
    _same(run)
