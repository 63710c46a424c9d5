"""``ember.jit`` against ``torch.jit``: the decorators and markers, ``script``/``trace`` and the
classes they return, ``jit.isinstance``, ``Future``/``fork``/``wait``, ``freeze`` and
``optimize_for_inference``, the fusion settings, ``CompilationUnit``, and ``save``/``load``.

Each test runs the same program on PyTorch and on ember (PyTorch's weights copied into ember's
modules) and compares values, classes, exception types and the gist of messages. ``save``/``load``
write ember's own format, so a round trip is compared with the module saved (and with PyTorch's
own round trip), and a real TorchScript archive made here by ``torch.jit.save`` must be refused.
"""

# ruff: noqa: UP006, UP035, UP045 - typing.List/Dict/Optional are what torch.jit.isinstance is given
from __future__ import annotations

import io
import re
import typing
import zipfile
from typing import Dict, List, Optional, Tuple, Union

import ember
import ember.jit
import ember.serialization
import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")]  # PyTorch's trace check: is_tracing differs


def npy(t):
    return t.detach().cpu().numpy()


def outcome(fn):
    """``("ok", value)`` or ``("raise", exception type name, message)``."""
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - compared between the frameworks
        return ("raise", type(exc).__name__, str(exc))


def same_error(e, t, gist=None):
    assert e[0] == t[0] == "raise", (e, t)
    assert e[1] == t[1], (e, t)
    if gist is not None:
        assert re.search(gist, e[2]) and re.search(gist, t[2]), (e, t)


def copy_weights(t_mod, e_mod):
    e_mod.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()})
    return e_mod


# ---- the same model in both frameworks (top-level classes: ember.jit.save names a class) ---------------
class TNet(torch.nn.Module):
    def __init__(self, use_unused: bool = False):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.bn = torch.nn.BatchNorm1d(4)
        self.scale = 2
        self.use_unused = use_unused
        self.register_buffer("offset", torch.full((4,), 0.5), persistent=False)

    @torch.jit.unused
    def not_scriptable(self, x):
        return x + 10

    @torch.jit.ignore
    def scripting_inside_ignored(self) -> bool:
        return torch.jit.is_scripting()

    @torch.jit.export
    def triple(self, x):
        return x * 3

    def forward(self, x):
        if self.use_unused:
            return self.not_scriptable(x)
        y = self.bn(self.fc(x)) * self.scale + self.offset
        if torch.jit.is_scripting():
            return y + 1
        return y


class ENet(ember.nn.Module):
    def __init__(self, use_unused: bool = False):
        super().__init__()
        self.fc = ember.nn.Linear(3, 4)
        self.bn = ember.nn.BatchNorm1d(4)
        self.scale = 2
        self.use_unused = use_unused
        self.register_buffer("offset", ember.full((4,), 0.5), persistent=False)

    @ember.jit.unused
    def not_scriptable(self, x):
        return x + 10

    @ember.jit.ignore
    def scripting_inside_ignored(self) -> bool:
        return ember.jit.is_scripting()

    @ember.jit.export
    def triple(self, x):
        return x * 3

    def forward(self, x):
        if self.use_unused:
            return self.not_scriptable(x)
        y = self.bn(self.fc(x)) * self.scale + self.offset
        if ember.jit.is_scripting():
            return y + 1
        return y


class TTraceNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    def encode(self, x):
        return self.fc(x).relu()

    def forward(self, x):
        return self.fc(x) * (2 if torch.jit.is_tracing() else 3)


class ETraceNet(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = ember.nn.Linear(3, 2)

    def encode(self, x):
        return self.fc(x).relu()

    def forward(self, x):
        return self.fc(x) * (2 if ember.jit.is_tracing() else 3)


def pair(use_unused=False):
    t = TNet(use_unused)
    return t, copy_weights(t, ENet(use_unused))


X = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)


def xs():
    return torch.tensor(X), ember.tensor(X)


# ---- markers and small functions -------------------------------------------------------------------
def test_mode_queries_and_passthroughs():
    for lib in (torch, ember):
        assert lib.jit.is_scripting() is False and lib.jit.is_tracing() is False
        assert lib.jit.annotate(List[int], [1]) == [1]
        assert lib.jit.Final is typing.Final
    t_attr, e_attr = torch.jit.Attribute(3, int), ember.jit.Attribute(3, int)
    assert tuple(e_attr) == tuple(t_attr) and e_attr.value == t_attr.value == 3
    assert issubclass(ember.jit.Error, Exception) and ember.jit.Error.__name__ == torch.jit.Error.__name__


def test_markers_match():
    def f(x):
        return x

    for lib in (torch, ember):
        assert lib.jit.export(f) is f
    mods = torch.jit.FunctionModifiers if hasattr(torch.jit, "FunctionModifiers") else torch._jit_internal.FunctionModifiers
    assert ember.jit.FunctionModifiers.EXPORT == mods.EXPORT
    for name in ("ignore", "unused"):
        t_fn = getattr(torch.jit, name)(lambda x: x + 1)
        e_fn = getattr(ember.jit, name)(lambda x: x + 1)
        assert t_fn(1) == e_fn(1) == 2  # plain Python runs them
        assert e_fn._torchscript_modifier == t_fn._torchscript_modifier
    same_error(outcome(lambda: ember.jit.ignore("x")), outcome(lambda: torch.jit.ignore("x")), "must be a bool")
    with pytest.warns(FutureWarning, match="ignore\\(True\\) has been deprecated"):
        torch.jit.ignore(drop=True)
    with pytest.warns(FutureWarning, match="ignore\\(True\\) has been deprecated"):
        dropped = ember.jit.ignore(drop=True)(lambda x: x)
    assert dropped._torchscript_modifier == torch._jit_internal.FunctionModifiers.UNUSED


def test_interface_checks():
    for lib in (torch, ember):
        class Scorer:
            def score(self, x: lib.Tensor) -> lib.Tensor:
                pass

        assert lib.jit.interface(Scorer) is Scorer

    class Base:
        pass

    class Derived(Base):
        def f(self) -> int:
            return 1

    same_error(outcome(lambda: ember.jit.interface(3)), outcome(lambda: torch.jit.interface(3)), "applied to a class")
    same_error(outcome(lambda: ember.jit.interface(Derived)), outcome(lambda: torch.jit.interface(Derived)),
               "does not support inheritance")


# ---- script ----------------------------------------------------------------------------------------
def test_script_module_classes_and_state():
    t, e = pair()
    ts, es = torch.jit.script(t), ember.jit.script(e)
    for lib, m, s in ((torch, t, ts), (ember, e, es)):
        assert isinstance(s, lib.jit.ScriptModule) and isinstance(s, lib.nn.Module)
        assert isinstance(s, lib.jit.RecursiveScriptModule) and not isinstance(m, lib.jit.ScriptModule)
        assert isinstance(s.fc, lib.jit.ScriptModule)
        assert s.fc.weight is m.fc.weight  # parameters shared
        assert lib.jit.script(s) is s
        s.eval()
        assert m.training and not s.training and m.fc.training and not s.fc.training
    assert type(es).__name__ == type(ts).__name__ == "RecursiveScriptModule"
    assert repr(es) == repr(ts).replace("TNet", "ENet")
    assert (es.original_name, es.fc.original_name, ts.original_name, ts.fc.original_name) == ("ENet", "Linear", "TNet",
                                                                                              "Linear")
    # TorchScript ignores persistent=False (its state_dict has "offset"); ember keeps eager mode's rule
    assert list(es.state_dict()) == [k for k in ts.state_dict() if k != "offset"] == list(e.state_dict())
    assert [n for n, _ in es.named_buffers()] == [n for n, _ in ts.named_buffers()]
    assert es.scale == ts.scale == 2


def test_script_module_computes_as_pytorch():
    t, e = pair()
    ts, es = torch.jit.script(t), ember.jit.script(e)
    tx, ex = xs()
    for _ in range(3):  # captures, then replays
        np.testing.assert_allclose(npy(es(ex)), npy(ts(tx)), rtol=1e-5, atol=1e-5)  # the is_scripting branch (+1)
    np.testing.assert_allclose(npy(e(ex)), npy(t(tx)), rtol=1e-5, atol=1e-5)  # eager: the other branch
    np.testing.assert_allclose(npy(es.triple(ex)), npy(ts.triple(tx)))  # an @export method
    assert es.scripting_inside_ignored() is ts.scripting_inside_ignored() is False
    ts.eval(), es.eval()
    np.testing.assert_allclose(npy(es(ex)), npy(ts(tx)), rtol=1e-5, atol=1e-5)
    (ts(tx).sum()).backward(), (es(ex).sum()).backward()
    np.testing.assert_allclose(npy(e.fc.weight.grad), npy(t.fc.weight.grad), rtol=1e-5, atol=1e-5)


def test_unused_raises_in_scripted_code_only():
    t, e = pair(use_unused=True)
    ts, es = torch.jit.script(t), ember.jit.script(e)
    tx, ex = xs()
    te, ee = outcome(lambda: ts(tx)), outcome(lambda: es(ex))
    same_error(ee, te, "annotated to be ignored and cannot be run")
    np.testing.assert_allclose(npy(e(ex)), npy(t(tx)))  # the eager module runs it
    np.testing.assert_allclose(npy(es.not_scriptable(ex)), npy(ts.not_scriptable(tx)))  # called from Python


def test_script_function_and_branches():
    def t_fn(x, k: int = 2):
        if torch.jit.is_scripting():
            return x * k
        return x - k

    def e_fn(x, k: int = 2):
        if ember.jit.is_scripting():
            return x * k
        return x - k

    tf, ef = torch.jit.script(t_fn), ember.jit.script(e_fn)
    assert isinstance(tf, torch.jit.ScriptFunction) and isinstance(ef, ember.jit.ScriptFunction)
    assert (ef.name, tf.name) == ("e_fn", "t_fn")
    tx, ex = xs()
    for _ in range(3):
        np.testing.assert_allclose(npy(ef(ex, 3)), npy(tf(tx, 3)))
        np.testing.assert_allclose(npy(ef(x=ex)), npy(tf(x=tx)))
    np.testing.assert_allclose(npy(e_fn(ex)), npy(t_fn(tx)))


def test_script_refuses_what_pytorch_refuses():
    same_error(outcome(lambda: ember.jit.script(ENet)), outcome(lambda: torch.jit.script(TNet)),
               "cannot be compiled since it inherits from nn.Module, pass an instance instead")
    same_error(outcome(lambda: ember.jit.script(3)), outcome(lambda: torch.jit.script(3)), "is a built-in class")

    class Pair:
        def __init__(self, a: int):
            self.a = a

    assert ember.jit.script(Pair) is Pair and torch.jit.script(Pair) is Pair


def test_script_module_subclass_old_api():
    class TOld(torch.jit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.k = torch.jit.Attribute(4, int)

        @torch.jit.script_method
        def forward(self, x):
            return x * self.k

    class EOld(ember.jit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.k = ember.jit.Attribute(4, int)

        @ember.jit.script_method
        def forward(self, x):
            return x * self.k

    t, e = TOld(), EOld()
    tx, ex = xs()
    assert e.k == t.k == 4
    assert isinstance(e, ember.jit.ScriptModule) and isinstance(t, torch.jit.ScriptModule)
    np.testing.assert_allclose(npy(e(ex)), npy(t(tx)))


# ---- trace -----------------------------------------------------------------------------------------
def test_trace_module_types_and_values():
    t = TTraceNet()
    e = copy_weights(t, ETraceNet())
    tx, ex = xs()
    tt, et = torch.jit.trace(t, tx), ember.jit.trace(e, ex)
    assert type(et).__name__ == type(tt).__name__ == "TopLevelTracedModule"
    assert type(et.fc).__name__ == type(tt.fc).__name__ == "TracedModule"
    assert isinstance(et, ember.jit.ScriptModule) and isinstance(et.fc, ember.jit.TracedModule)
    assert repr(et) == repr(tt).replace("TTraceNet", "ETraceNet")
    for _ in range(3):  # traced with is_tracing() True: every call computes that branch (x2)
        np.testing.assert_allclose(npy(et(ex)), npy(tt(tx)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(e(ex)), npy(t(tx)), rtol=1e-5, atol=1e-6)  # eager: x3
    tk, ek = torch.jit.trace(t, example_kwarg_inputs={"x": tx}), ember.jit.trace(e, example_kwarg_inputs={"x": ex})
    np.testing.assert_allclose(npy(ek(ex)), npy(tk(tx)), rtol=1e-5, atol=1e-6)


def test_trace_module_methods():
    t = TTraceNet()
    e = copy_weights(t, ETraceNet())
    tx, ex = xs()
    tm = torch.jit.trace_module(t, {"forward": tx, "encode": (tx,)})
    em = ember.jit.trace_module(e, {"forward": ex, "encode": (ex,)})
    assert type(em).__name__ == type(tm).__name__
    np.testing.assert_allclose(npy(em.encode(ex)), npy(tm.encode(tx)), rtol=1e-5, atol=1e-6)
    same_error(outcome(lambda: ember.jit.trace_module(e, [ex])), outcome(lambda: torch.jit.trace_module(t, [tx])),
               "expected a dictionary")
    same_error(outcome(lambda: ember.jit.trace_module(lambda x: x, {"forward": ex})),
               outcome(lambda: torch.jit.trace_module(lambda x: x, {"forward": tx})), "expected torch.nn.Module")


def test_trace_function_and_errors():
    tx, ex = xs()
    tf = torch.jit.trace(lambda x: x * 2 if torch.jit.is_tracing() else x, tx)
    ef = ember.jit.trace(lambda x: x * 2 if ember.jit.is_tracing() else x, ex)
    assert isinstance(ef, ember.jit.ScriptFunction) and isinstance(tf, torch.jit.ScriptFunction)
    for _ in range(3):
        np.testing.assert_allclose(npy(ef(ex)), npy(tf(tx)))
    np.testing.assert_allclose(npy(ef(x=ex)), npy(tf(x=tx)))
    same_error(outcome(lambda: ember.jit.trace(ETraceNet())), outcome(lambda: torch.jit.trace(TTraceNet())),
               "example_kwarg_inputs should be a dict")
    same_error(outcome(lambda: ember.jit.trace(lambda x: 3, ex)), outcome(lambda: torch.jit.trace(lambda x: 3, tx)),
               "Only tensors, lists, tuples of tensors, or dictionary of tensors")
    e_ts, t_ts = ember.jit.script(ETraceNet()), torch.jit.script(TTraceNet())
    with pytest.warns(UserWarning, match="already a ScriptModule"):
        assert ember.jit.trace(e_ts, ex) is e_ts
    with pytest.warns(UserWarning, match="already a ScriptModule"):
        assert torch.jit.trace(t_ts, tx) is t_ts


def test_script_if_tracing():
    def make(lib):
        @lib.jit.script_if_tracing
        def helper(x):
            return x + 1 if lib.jit.is_scripting() else x - 1

        return helper

    th, eh = make(torch), make(ember)
    tx, ex = xs()
    np.testing.assert_allclose(npy(eh(ex)), npy(th(tx)))  # not tracing: plain Python
    tt = torch.jit.trace(lambda x: th(x) * 2, tx)
    et = ember.jit.trace(lambda x: eh(x) * 2, ex)
    np.testing.assert_allclose(npy(et(ex)), npy(tt(tx)))  # tracing: the scripted branch


# ---- jit.isinstance ----------------------------------------------------------------------------------
ISINSTANCE_CASES = [
    ([1, 2], List[int]), ([1, "a"], List[int]), ([1], list[int]), ([[1], [2]], List[List[int]]),
    ({"a": 1}, Dict[str, int]), ({"a": 1}, Dict[str, str]), ({1: "a"}, Dict[str, str]),
    ((1, "a"), Tuple[int, str]), ((1, 2, 3), Tuple[int, int]), (None, Optional[int]), (3, Optional[int]),
    ("s", Optional[int]), (1, Union[str, int]), (1, int | None), (1, (str, int)), (1.5, (str, int)),
    ([1], List), ({}, dict), ((1,), Tuple), (1, Optional), (1, [str, int]), ([1, 2], list), (3, int),
]


@pytest.mark.parametrize("obj,tp", ISINSTANCE_CASES, ids=[str(i) for i in range(len(ISINSTANCE_CASES))])
def test_jit_isinstance(obj, tp):
    same = outcome(lambda: ember.jit.isinstance(obj, tp)), outcome(lambda: torch.jit.isinstance(obj, tp))
    if same[1][0] == "raise":
        same_error(*same)
        assert same[0][2] == same[1][2]
    else:
        assert same[0] == same[1]


def test_jit_isinstance_tensors_and_empty_warning():
    t, e = torch.ones(1), ember.ones(1)
    assert ember.jit.isinstance({"a": [e]}, Dict[str, List[ember.Tensor]]) is torch.jit.isinstance(
        {"a": [t]}, Dict[str, List[torch.Tensor]]) is True
    for lib in (torch, ember):
        with pytest.warns(UserWarning, match="inner type of a container is lost"):
            assert lib.jit.isinstance([], List[int]) is True


# ---- Future, fork, wait ------------------------------------------------------------------------------
@pytest.mark.parametrize("lib", ["torch", "ember"])
def test_future_semantics(lib):
    jit = torch.jit if lib == "torch" else ember.jit
    f = jit.Future()
    assert f.done() is False
    assert outcome(f.value)[0] == "raise" and outcome(f.value)[1] == "RuntimeError"
    chained = f.then(lambda fut: fut.value() + 1)
    seen = []
    f.add_done_callback(lambda fut: seen.append(fut.value()))
    f.set_result(5)
    assert (f.done(), f.value(), f.wait(), chained.wait(), seen) == (True, 5, 5, 6, [5])
    e = outcome(lambda: f.set_result(6))
    assert e[:2] == ("raise", "RuntimeError") and "can only be marked completed once" in e[2]
    g = jit.Future()
    g.set_exception(ValueError("boom"))
    assert outcome(g.wait)[:3] == ("raise", "ValueError", "boom") and g.done()
    bad = g.then(lambda fut: fut.value())
    e = outcome(bad.wait)
    assert e[1] == "RuntimeError" and "Got the following error when running the callback: ValueError: boom" in e[2]
    e = outcome(lambda: jit.Future().set_exception(3))
    assert e[:3] == ("raise", "AssertionError", "3 is of type <class 'int'>, not an Exception.")
    h = jit.Future()
    h.set_result(1)
    e = outcome(h.then(lambda fut: 1 / 0).wait)
    assert e[1] == "RuntimeError" and "ZeroDivisionError: division by zero" in e[2]


def test_fork_wait():
    for lib in (torch, ember):
        with pytest.warns(DeprecationWarning, match="`torch.jit.fork` is deprecated"):
            fut = lib.jit.fork(lambda a, b=1: a + b, 1, b=2)
        assert fut.done()  # PyTorch's eager fork runs at once (its future is a torch._C.Future)
        with pytest.warns(DeprecationWarning, match="`torch.jit.wait` is deprecated"):
            assert lib.jit.wait(fut) == 3
    assert isinstance(ember.jit.fork(max, 1, 2), ember.jit.Future)
    same_error(outcome(lambda: ember.jit.fork(lambda: 1 / 0)), outcome(lambda: torch.jit.fork(lambda: 1 / 0)))
    same_error(outcome(lambda: ember.jit.wait(3)), outcome(lambda: torch.jit.wait(3)), "incompatible function arguments")


# ---- fusion settings ---------------------------------------------------------------------------------
def test_fusion_settings():
    for lib in (torch, ember):
        first = lib.jit.set_fusion_strategy([("DYNAMIC", 3)])
        assert first == [("STATIC", 2), ("DYNAMIC", 10)]
        assert lib.jit.set_fusion_strategy(first) == [("DYNAMIC", 3)]
        assert lib.jit.onednn_fusion_enabled() is False
        lib.jit.enable_onednn_fusion(True)
        assert lib.jit.onednn_fusion_enabled() is True
        lib.jit.enable_onednn_fusion(False)
        with pytest.warns(UserWarning, match="Only works in script mode"):
            with lib.jit.strict_fusion():
                pass
    same_error(outcome(lambda: ember.jit.set_fusion_strategy([("FOO", 1)])),
               outcome(lambda: torch.jit.set_fusion_strategy([("FOO", 1)])),
               "FusionBehavior only supported 'STATIC' or 'DYNAMIC', got: FOO")
    same_error(outcome(lambda: ember.jit.set_fusion_strategy("STATIC")),
               outcome(lambda: torch.jit.set_fusion_strategy("STATIC")), "incompatible function arguments")


# ---- freeze, optimize_for_inference ------------------------------------------------------------------
def test_freeze_errors():
    t, e = pair()
    for name in ("freeze", "optimize_for_inference"):
        same_error(outcome(lambda n=name: getattr(ember.jit, n)(e)), outcome(lambda n=name: getattr(torch.jit, n)(t)),
                   "expects a ScriptModule as input")
    same_error(outcome(lambda: ember.jit.freeze(ember.jit.script(e))),
               outcome(lambda: torch.jit.freeze(torch.jit.script(t))), "only implemented for modules in eval mode")


def test_freeze_semantics():
    t, e = pair()
    ts, es = torch.jit.script(t).eval(), ember.jit.script(e).eval()
    tz, ez = torch.jit.freeze(ts, preserved_attrs=["triple", "scale"]), ember.jit.freeze(es, preserved_attrs=["triple",
                                                                                                             "scale"])
    tx, ex = xs()
    assert isinstance(ez, ember.jit.ScriptModule) and ez is not es
    assert list(ez.state_dict()) == list(tz.state_dict()) == []
    assert list(ez.parameters()) == list(tz.parameters()) == []
    assert repr(ez) == repr(tz).replace("TNet", "ENet") == "RecursiveScriptModule(original_name=ENet)"
    before_t, before_e = tz(tx), ez(ex)
    assert before_e.requires_grad is before_t.requires_grad is False
    np.testing.assert_allclose(npy(before_e), npy(before_t), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(npy(ez.triple(ex)), npy(tz.triple(tx)))
    assert ez.scale == tz.scale == 2
    same_error(outcome(lambda: ez.fc), outcome(lambda: tz.fc), "has no attribute 'fc'")
    with torch.no_grad():
        t.fc.weight.add_(1)
    with ember.no_grad():
        e.fc.weight.add_(1)
    np.testing.assert_allclose(npy(ez(ex)), npy(before_e))  # the frozen weights are constants
    np.testing.assert_allclose(npy(tz(tx)), npy(before_t))
    to, eo = torch.jit.optimize_for_inference(torch.jit.script(t)), ember.jit.optimize_for_inference(ember.jit.script(e))
    assert list(eo.state_dict()) == list(to.state_dict()) == []
    np.testing.assert_allclose(npy(eo(ex)), npy(to(tx)), rtol=1e-5, atol=1e-5)


# ---- CompilationUnit -----------------------------------------------------------------------------------
def test_compilation_unit():
    src = ("def scaled(x: Tensor, k: int) -> Tensor:\n    return x * k + torch.ones_like(x)\n\n"
           "def pick(xs: List[int]) -> int:\n    return xs[-1] // 2\n")
    tc, ec = torch.jit.CompilationUnit(src), ember.jit.CompilationUnit(src)
    tx, ex = xs()
    np.testing.assert_allclose(npy(ec.scaled(ex, 3)), npy(tc.scaled(tx, 3)))
    assert ec.pick([1, 9]) == tc.pick([1, 9]) == 4
    assert isinstance(ec.find_function("pick"), ember.jit.ScriptFunction) and tc.find_function("pick") is not None
    assert ec.find_function("nope") is tc.find_function("nope") is None


# ---- save / load -----------------------------------------------------------------------------------
def roundtrip(m, lib=ember, **load_kw):
    buf = io.BytesIO()
    lib.jit.save(m, buf)
    buf.seek(0)
    return lib.jit.load(buf, **load_kw)


def test_save_load_user_module_needs_opt_in():
    t, e = pair()
    ts, es = torch.jit.script(t), ember.jit.script(e)
    tx, ex = xs()
    ts(tx), es(ex)  # a training step moves BatchNorm's running statistics: they must travel
    ts.eval(), es.eval()
    with pytest.raises(ember.serialization.WeightsOnlyLoadError, match="safe_globals=\\[ENet\\]"):
        roundtrip(es)
    tl, el = roundtrip(ts, torch), roundtrip(es, safe_globals=[ENet])
    assert type(el).__name__ == type(tl).__name__ and el.training is tl.training is False
    assert list(el.state_dict()) == [k for k in tl.state_dict() if k != "offset"]  # see above
    np.testing.assert_allclose(npy(el.offset), npy(tl.offset))  # a non-persistent buffer travels too
    np.testing.assert_allclose(npy(el(ex)), npy(tl(tx)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(npy(el.triple(ex)), npy(tl.triple(tx)))
    assert el.scale == tl.scale
    with ember.serialization.safe_globals([ENet]):
        np.testing.assert_allclose(npy(roundtrip(es)(ex)), npy(tl(tx)), rtol=1e-5, atol=1e-5)


def test_save_load_paths_extra_files_and_map_location(tmp_path):
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GELU(), torch.nn.Linear(4, 2))
    e = copy_weights(t, ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.GELU(), ember.nn.Linear(4, 2)))
    tx, ex = xs()
    results = {}
    for lib, m, x in ((torch, torch.jit.script(t), tx), (ember, ember.jit.script(e), ex)):
        path = tmp_path / f"{lib.__name__}.pt"
        lib.jit.save(m, str(path), _extra_files={"meta.json": '{"v": 1}', "raw": b"\x00\x01"})
        extra = {"meta.json": "", "raw": "", "absent": ""}
        loaded = lib.jit.load(path, map_location="cpu", _extra_files=extra)  # ember's own classes: no opt-in
        results[lib.__name__] = (extra, npy(loaded(x)), type(loaded).__name__)
    assert results["ember"][0] == results["torch"][0] == {"meta.json": b'{"v": 1}', "raw": b"\x00\x01", "absent": b""}
    np.testing.assert_allclose(results["ember"][1], results["torch"][1], rtol=1e-5, atol=1e-5)
    assert results["ember"][2] == results["torch"][2]
    missing = str(tmp_path / "missing.pt")
    same_error(outcome(lambda: ember.jit.load(missing)), outcome(lambda: torch.jit.load(missing)), "does not exist")
    same_error(outcome(lambda: ember.jit.load(str(tmp_path))), outcome(lambda: torch.jit.load(str(tmp_path))),
               "is a directory")
    same_error(outcome(lambda: ember.jit.load(io.BytesIO(), map_location=3)),
               outcome(lambda: torch.jit.load(io.BytesIO(), map_location=3)), "map_location should be either None")


def test_save_of_plain_module_is_refused_as_pytorch():
    t, e = pair()
    same_error(outcome(lambda: ember.jit.save(e, io.BytesIO())), outcome(lambda: torch.jit.save(t, io.BytesIO())),
               "object has no attribute 'save_to_buffer'")


def test_archive_is_plain_data():
    """The archive is ember's safe format (a JSON tree and tensor blobs): no pickle to run."""
    buf = io.BytesIO()
    ember.jit.save(ember.jit.script(ember.nn.Linear(2, 2)), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        names = zf.namelist()
        header = zf.read("ember/header.json").decode()
    assert '"payload":"tree"' in header and '"pickle"' not in header and "ember/header.json" in names
    buf.seek(0)
    assert ember.load(buf, weights_only=True)["format"] == "ember.jit"


def test_torchscript_archive_is_refused(tmp_path):
    path = tmp_path / "ts.pt"
    torch.jit.save(torch.jit.script(TNet()), str(path))
    with pytest.raises(ember.jit.TorchScriptArchiveError, match="TorchScript archive written by torch.jit.save.*"
                                                                "state_dict"):
        ember.jit.load(str(path))
    with pytest.raises(RuntimeError, match="TorchScript"):  # a RuntimeError, as PyTorch's load errors
        ember.jit.load(io.BytesIO(path.read_bytes()))


def test_plain_checkpoint_is_not_a_jit_archive():
    buf = io.BytesIO()
    torch.save(TNet().state_dict(), buf)
    t_err = outcome(lambda: torch.jit.load(io.BytesIO(buf.getvalue())))
    e_err = outcome(lambda: ember.jit.load(io.BytesIO(buf.getvalue())))
    assert t_err[1] == "RuntimeError" and e_err[1] == "CheckpointError"
    assert issubclass(ember.serialization.CheckpointError, RuntimeError) and "not an ember.jit archive" in e_err[2]


def test_save_load_traced_frozen_and_shared():
    t = TTraceNet()
    e = copy_weights(t, ETraceNet())
    tx, ex = xs()
    tt, et = torch.jit.trace(t, tx), ember.jit.trace(e, ex)
    tl, el = roundtrip(tt, torch), roundtrip(et, safe_globals=[ETraceNet])
    np.testing.assert_allclose(npy(el(ex)), npy(tl(tx)), rtol=1e-5, atol=1e-6)  # still the traced branch
    frozen = ember.jit.freeze(ember.jit.script(copy_weights(t, ETraceNet())).eval())
    fl = roundtrip(frozen, safe_globals=[ETraceNet])
    assert list(fl.state_dict()) == [] and fl(ex).requires_grad is False
    np.testing.assert_allclose(npy(fl(ex)), npy(frozen(ex)))
    shared = ember.nn.Linear(3, 3)
    seq = ember.nn.Sequential(shared, ember.nn.ReLU(), shared)
    loaded = roundtrip(ember.jit.script(seq))
    assert loaded[0] is loaded[2]  # one module reached twice stays one
    np.testing.assert_allclose(npy(loaded(ex)), npy(seq(ex)))


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
    lambda lib: lib.nn.LSTM(8, 5, num_layers=2, batch_first=True),
    lambda lib: lib.nn.Sequential(lib.nn.Conv1d(4, 6, 3, padding=1), lib.nn.BatchNorm1d(6), lib.nn.SiLU()),
], ids=["transformer_layer", "lstm", "conv_bn"])
def test_save_load_ember_modules(make):
    t = make(torch).eval()
    e = copy_weights(t, make(ember)).eval()
    x = np.random.default_rng(3).standard_normal((2, 4, 8)).astype(np.float32)
    tx, ex = torch.tensor(x), ember.tensor(x)
    el = roundtrip(ember.jit.script(e))  # against PyTorch's eager module: its scripted LSTM has no forward to call

    def first(out):
        return out[0] if isinstance(out, tuple) else out

    np.testing.assert_allclose(npy(first(el(ex))), npy(first(t(tx))), rtol=1e-4, atol=1e-5)
    assert list(el.state_dict()) == list(t.state_dict())
