"""Review of the newest surface against PyTorch 2.13: custom ops (keyword-only arguments with
autograd, Tensor[] inputs, schema spelling and errors, Library.define defaults), jit archives
crafted to name other code or to be malformed, ScriptModule pickling/deepcopy, the hub's archive
extraction (nothing outside the hub directory is removed), materialised lazy norms, package
``__getattr__`` hooks, linearize's primal check, treespec enum contexts and all_to_all_single's
split-size check on both ranks."""

import copy
import io
import itertools
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
import zipfile

import ember
import ember.hub
import ember.jit
import ember.library
import numpy as np
import pytest

torch = pytest.importorskip("torch")
_ids = itertools.count()


def _name() -> str:
    return f"reviewnew::op{next(_ids)}"  # PyTorch's operator registry is global: new names every time


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e)
    return None, None


# ---- custom ops ------------------------------------------------------------------------------------
def _kwonly_op(lib, name):
    T = lib.Tensor

    def f(x: T, y: T, *, s: float = 2.0) -> T:
        return x * y * s

    op = lib.library.custom_op(name, mutates_args=())(f)
    seen = {}

    def setup(ctx, inputs, keyword_only_inputs, output):
        seen["n"], seen["kw"] = len(inputs), dict(keyword_only_inputs)
        ctx.save_for_backward(*inputs)
        ctx.s = keyword_only_inputs["s"]

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y * ctx.s, g * x * ctx.s

    op.register_autograd(backward, setup_context=setup)
    return op, seen


@pytest.mark.parametrize("kwargs", [{"s": 3.0}, {}])
def test_keyword_only_argument_with_autograd_matches_torch(kwargs):
    results = []
    for lib in (torch, ember):
        op, seen = _kwonly_op(lib, _name())
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, 4.0], requires_grad=True)
        out = op(x, y, **kwargs)
        out.sum().backward()
        results.append((out.tolist(), x.grad.tolist(), y.grad.tolist(), seen))
    assert results[0] == results[1]


def test_keyword_only_passed_positionally_raises_like_torch():
    got = []
    for lib in (torch, ember):
        op, _ = _kwonly_op(lib, _name())
        for rg in (False, True):
            t, msg = _raises(lambda: op(lib.ones(2, requires_grad=rg), lib.ones(2), 3.0))  # noqa: B023
            got.append((t, msg.split("Declaration")[0].split("()", 1)[1]))
    assert got[:2] == got[2:] and got[0][0] is RuntimeError


def test_setup_context_without_keyword_only_inputs_raises_like_torch():
    for lib in (torch, ember):
        T = lib.Tensor

        def f(x: T, *, s: float = 2.0) -> T:
            return x * s

        op = lib.library.custom_op(_name(), mutates_args=())(f)
        op.register_autograd(lambda ctx, g: g, setup_context=lambda ctx, inputs, output: None)
        t, msg = _raises(lambda: op(lib.ones(2, requires_grad=True), s=1.0))  # noqa: B023
        assert t is TypeError and "keyword_only_inputs" in msg


def test_tensor_list_input_records_autograd_like_torch():
    results = []
    for lib in (torch, ember):
        T = lib.Tensor

        def f(xs: list[T]) -> T:
            return xs[0] * 2 + xs[1] * 3

        op = lib.library.custom_op(_name(), mutates_args=())(f)
        a = lib.ones(2, requires_grad=True)
        out = op([a, lib.ones(2)])
        no_formula = _raises(lambda: out.sum().backward())[0]  # noqa: B023
        op.register_autograd(lambda ctx, g: ([g * 2, g * 3],))
        b, c = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        op([b, c]).sum().backward()
        results.append((out.requires_grad, no_formula, b.grad.tolist(), c.grad.tolist()))
    assert results[0] == results[1] and results[0][0] is True


def _schemas(lib):
    T = lib.Tensor

    def dtype_default(x: T, d: lib.dtype = lib.float32, dev: lib.device = lib.device("cpu")) -> T: ...
    def scalar(x: T, s: lib.types.Number, o: lib.types.Number | None = None) -> T: ...
    def one_tuple(x: T) -> tuple[T]: ...
    def second_mutated(x: T, y: T, n: int = -1, f: float = 1e-5) -> None: ...
    return [(dtype_default, ()), (scalar, ()), (one_tuple, ()), (second_mutated, ("y",))]


def test_schema_spelling_matches_torch():
    for (fe, me), (ft, mt) in zip(_schemas(ember), _schemas(torch)):
        assert ember.library.infer_schema(fe, mutates_args=me) == torch.library.infer_schema(ft, mutates_args=mt)


def _bad_definitions(lib):
    T = lib.Tensor

    def posonly(x: T, /, y: T) -> T: ...
    def tuple_default(x: T, b: list[float] = (1.0,)) -> T: ...
    def mutated_int(x: T, n: int) -> T: ...
    def kw_tensor(x: T, *, o: T | None = None) -> T: ...
    return [
        lambda: lib.library.infer_schema(posonly, mutates_args=()),
        lambda: lib.library.infer_schema(tuple_default, mutates_args=()),
        lambda: lib.library.infer_schema(mutated_int, mutates_args=("n",)),
        lambda: lib.library.infer_schema(mutated_int, mutates_args="x"),
        lambda: lib.library.custom_op(_name(), mutates_args=())(kw_tensor),
    ]


def test_schema_errors_match_torch():
    for fe, ft in zip(_bad_definitions(ember), _bad_definitions(torch)):
        (te, me), (tt, mt) = _raises(fe), _raises(ft)
        assert te is tt and te is not None
        assert me.split(" Got func")[0].split(". Got:")[0] == mt.split(" Got func")[0].split(". Got:")[0]


def test_register_kernel_unknown_device_type_raises_like_torch():
    got = []
    for lib in (torch, ember):
        T = lib.Tensor

        def f(x: T) -> T:
            return x.clone()

        op = lib.library.custom_op(_name(), mutates_args=())(f)
        got.append(_raises(lambda: op.register_kernel("gpu", lambda x: x))[0])  # noqa: B023
    assert got == [RuntimeError, RuntimeError]


def test_library_define_list_default_matches_torch():
    results = []
    for lib in (torch, ember):
        ns = f"reviewlib{next(_ids)}"
        L = lib.library.Library(ns, "DEF")
        L.define("a(Tensor x, int[] dims=[0, 1], float s=2., *, bool keep=False) -> Tensor")
        L.impl("a", lambda x, dims=(0,), s=1.0, keep=False: x.sum(dim=list(dims), keepdim=keep) * s, "CPU")
        op = getattr(lib.ops, ns).a
        x = lib.arange(6.0).reshape(2, 3)
        results.append((op(x).tolist(), op(x, [1], keep=True).tolist(), op(x, [0, 1], 3.0).tolist()))
    assert results[0] == results[1]


# ---- jit archives ------------------------------------------------------------------------------------
def _archive(root=None, **kw):
    from ember.serialization import save

    payload = {"format": "ember.jit", "version": 1, "extra_files": {}, "kind": "module", "mode": "script",
               "frozen": False, "preserved": [], "root": root}
    payload.update(kw)
    buf = io.BytesIO()
    save(payload, buf)
    buf.seek(0)
    return buf


def _node(cls="ember.nn.modules.linear:Identity", **kw):
    node = {"class": cls, "training": False, "parameters": {}, "buffers": {}, "non_persistent": [], "modules": {},
            "attributes": {}, "refs": {}, "traced_methods": []}
    node.update(kw)
    return node


@pytest.mark.parametrize("archive", [
    {"root": _node(refs={"act": "ember:__getattr__"})},  # a dunder of ember, not an operator
    {"kind": "function", "ref": "ember.nn.functional:os.system"},  # reached through a module's import
    {"root": _node(modules={"a": {"same_as": ""}})},  # a module containing itself
    {"root": _node(traced_methods=["__init__"])},
    {"root": _node(traced_methods=["missing"])},
    {"root": _node(non_persistent=5)},
    {"root": _node(), "extra_files": [1]},
    {"root": _node(), "frozen": True, "preserved": 5},
])
def test_malformed_or_foreign_jit_archive_is_refused(archive):
    from ember.serialization import CheckpointError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(CheckpointError):  # a RuntimeError, as PyTorch's load errors are
            ember.jit.load(_archive(**archive), _extra_files={"a": ""})


def test_jit_load_imports_nothing_the_archive_names():
    sys.modules.pop("ember.nn.attention", None)
    had = hasattr(ember.nn, "__dict__") and "attention" in ember.nn.__dict__
    if had:
        pytest.skip("ember.nn.attention already imported in this process")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(RuntimeError):
            ember.jit.load(_archive(kind="function", ref="ember.nn:attention.sdpa_kernel"))
    assert "ember.nn.attention" not in sys.modules


def _scripted(lib):
    return lib.jit.script(lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU()))


def test_script_module_pickle_and_deepcopy_like_torch():
    for lib in (torch, ember):
        s = _scripted(lib)
        t, msg = _raises(lambda: pickle.dumps(s))  # noqa: B023
        assert t is RuntimeError and msg.startswith("Tried to serialize object __torch__.") and \
            msg.endswith("which does not have a __getstate__ method defined!")
        c = copy.deepcopy(s)
        assert next(c.parameters()) is not next(s.parameters()) and lib.equal(c(lib.ones(1, 2)), s(lib.ones(1, 2)))


# ---- hub archives ----------------------------------------------------------------------------------
def _fake_github(monkeypatch, hub, names, tmp_path):
    src = tmp_path / "src.zip"
    with zipfile.ZipFile(src, "w") as z:
        for n in names:
            z.writestr(n, "def tiny():\n    return 7\n" if n.endswith("hubconf.py") else "")
    monkeypatch.setattr(hub, "download_url_to_file", lambda url, dst, *a, **k: __import__("shutil").copy(src, dst))
    monkeypatch.setattr(hub, "_validate_not_a_forked_repo", lambda *a: None)


@pytest.mark.parametrize("hub", [torch.hub, ember.hub], ids=["torch", "ember"])
def test_github_archive_extracts_like_torch(hub, monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "_hub_dir", str(tmp_path / "hub"))
    os.makedirs(tmp_path / "hub")
    _fake_github(monkeypatch, hub, ["own-rep-abc123/", "own-rep-abc123/hubconf.py"], tmp_path)
    repo = hub._get_cache_or_reload("own/rep:main", False, True, skip_validation=True)
    assert repo == str(tmp_path / "hub" / "own_rep_main")
    assert sorted(os.listdir(repo)) == ["hubconf.py"]
    assert hub.load(repo, "tiny", source="local") == 7


@pytest.mark.parametrize("first", ["../../victim", "../../victim/", "./"])
def test_hostile_archive_removes_nothing_outside_the_hub_dir(first, monkeypatch, tmp_path):
    # PyTorch removes <hub dir>/<first entry> before its zip-slip check, so "../../victim" deletes it
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("x")
    hub_dir = tmp_path / "hubs" / "hub"
    hub_dir.mkdir(parents=True)
    monkeypatch.setattr(ember.hub, "_hub_dir", str(hub_dir))
    _fake_github(monkeypatch, ember.hub, [first, "repo/hubconf.py"], tmp_path)
    with pytest.raises(ValueError):  # PyTorch's error type for a zip-slip archive
        ember.hub._get_cache_or_reload("own/rep:main", False, True, skip_validation=True)
    assert (victim / "keep").read_text() == "x" and hub_dir.is_dir()


# ---- nn --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, shape", [("LazyBatchNorm2d", (2, 3, 4, 4)), ("LazyInstanceNorm1d", (2, 3, 5)),
                                         ("LazyLinear", (2, 3)), ("LazyConv1d", (2, 3, 5))])
def test_materialised_lazy_module_pickles_and_copies_like_torch(name, shape):
    got = []
    for lib in (torch, ember):
        args = (4,) if name == "LazyLinear" else (4, 1) if name == "LazyConv1d" else ()
        m = getattr(lib.nn, name)(*args)
        m(lib.ones(shape))
        back = pickle.loads(pickle.dumps(m))
        dup = copy.deepcopy(m)
        got.append((type(back).__name__, type(dup).__name__, sorted(back.state_dict()),
                    hasattr(m, "_load_hook"), len(m._load_state_dict_pre_hooks)))
    assert got[0] == got[1]


def test_deepcopy_of_unmaterialised_lazy_norm_raises_like_torch():
    types = [_raises(lambda: copy.deepcopy(lib.nn.LazyBatchNorm1d()))[0] for lib in (torch, ember)]  # noqa: B023
    assert types == [ValueError, ValueError]


# ---- package attributes ----------------------------------------------------------------------------
@pytest.mark.parametrize("pkg, name", [("nn", "../hub"), ("nn", "."), ("", "__pycache__"), ("nn", "modules.module"),
                                       ("utils", "data/../../hub")])
def test_odd_attribute_names_are_missing_like_torch(pkg, name):
    got = []
    for lib in (torch, ember):
        mod = getattr(lib, pkg) if pkg else lib
        got.append((hasattr(mod, name), _raises(lambda: getattr(mod, name))[0]))  # noqa: B023
    assert got[0] == got[1] == (False, AttributeError)


# ---- func, pytree ----------------------------------------------------------------------------------
def test_linearize_integer_primal_raises_like_torch():
    got = []
    for lib in (torch, ember):
        t, msg = _raises(lambda: lib.func.linearize(lambda a: a * 2, lib.tensor([1, 2])))  # noqa: B023
        got.append((t, msg.replace("torch.", "").replace("ember.", "")))
    assert got[0] == got[1] and got[0][0] is ValueError


def test_treespec_enum_context_must_name_an_enum():
    from ember.utils import _pytree as pt

    # an Enum member is found as PyTorch finds it
    assert pt.enum_object_hook({"__enum__": True, "fqn": "ember.utils.checkpoint:CheckpointPolicy",
                                "name": "MUST_SAVE"}).name == "MUST_SAVE"
    # PyTorch indexes whatever the name finds: os.environ["HOME"] would come back as a context value
    with pytest.raises(TypeError):
        pt.enum_object_hook({"__enum__": True, "fqn": "os:environ", "name": "HOME"})


# ---- distributed -----------------------------------------------------------------------------------
def test_all_to_all_dtype_error_matches_torch():
    import ember.distributed as dist
    from torch.distributed.distributed_c10d import _ensure_all_tensors_same_dtype

    t = _raises(lambda: _ensure_all_tensors_same_dtype(torch.zeros(2, dtype=torch.float64), torch.ones(2)))
    e = _raises(lambda: dist.all_to_all_single(ember.zeros(2, dtype=ember.float64), ember.ones(2)))
    assert e[0] is t[0] is ValueError and e[1].replace("ember.", "torch.") == t[1]


def test_one_sided_split_mismatch_raises_on_both_ranks(tmp_path):
    script = tmp_path / "case.py"
    script.write_text(textwrap.dedent("""
        import time, ember, ember.distributed as dist
        dist.init_process_group("gloo", timeout=20)
        r = dist.get_rank()
        start = time.time()
        try:  # rank 0 sends rank 1 four rows where rank 1 expects two; rank 0's own counts agree
            dist.all_to_all_single(ember.zeros(4, 1), ember.ones(6 if r == 0 else 4, 1), [2, 2],
                                   [2, 4] if r == 0 else [2, 2])
        except RuntimeError as e:
            assert "sends 16 bytes" in str(e) and "expects 8" in str(e), e
            assert time.time() - start < 10, time.time() - start
        else:
            raise AssertionError("no error")
        dist.destroy_process_group()
        print(f"OK {r}", flush=True)
    """))
    out = subprocess.run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2", str(script)],
                         capture_output=True, text=True, timeout=60, cwd=os.getcwd())
    assert "OK 0" in out.stdout and "OK 1" in out.stdout, out.stdout + out.stderr


def test_adafactor_float32_matches_torch():
    # the review found bf16/fp16 differ by one ulp through rsqrt (not Adafactor's arithmetic); float32 is exact
    g = np.random.default_rng(0)
    init = [g.standard_normal(s).astype(np.float32) for s in ((3, 4), (5,), (2, 3, 4))]
    grads = [[g.standard_normal(a.shape).astype(np.float32) for a in init] for _ in range(3)]
    finals = []
    for lib in (torch, ember):
        ps = [lib.nn.Parameter(lib.tensor(a)) for a in init]
        opt = lib.optim.Adafactor(ps, lr=0.05, weight_decay=0.1, maximize=True)
        for step in grads:
            for p, gr in zip(ps, step):
                p.grad = lib.tensor(gr)
            opt.step()
        finals.append([p.detach().numpy() if lib is torch else np.asarray(p.tolist(), np.float32) for p in ps])
    for a, b in zip(*finals):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_ops_packet_and_overload_spelling_matches_torch():
    got = []
    for lib in (torch, ember):
        name = _name()
        T = lib.Tensor

        def f(x: T) -> T:
            return x * 2

        lib.library.custom_op(name, mutates_args=())(f)
        packet = getattr(lib.ops.reviewnew, name.split("::")[1])
        spell = [repr(packet), str(packet), repr(packet.default), str(packet.default), packet.default.name(),
                 packet.overloads(), packet.default(lib.ones(2)).tolist()]
        got.append([s.replace(name.split("::")[1], "OP") if isinstance(s, str) else s for s in spell])
    assert got[0] == got[1]
