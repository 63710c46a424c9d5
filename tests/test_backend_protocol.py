"""Issue #15 item 3: the Backend protocol is explicit.

* every attribute core reads from a backend is declared on ``ember.backend.Backend`` with a working
  default, and core reads it directly (no ``getattr``/``hasattr`` probing);
* core names no device type in the modules that dispatch, install-hint and DLPack routing live in:
  the install hint comes from the Backend (or ember's packaging extras), the DLPack device codes
  from ``Backend.dlpack_device_types``;
* every registered device type gets ``ember.<type>`` (as ``torch.cuda``) and ``Tensor.<type>()`` /
  ``Tensor.is_<type>`` generated from its Backend: a minimal third-party backend, and the real
  OpenCL one (PoCL here).
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import ember
import numpy as np
import pytest
from ember import dispatch
from ember._device_module import DeviceModule
from ember.backend import Backend
from ember.hookspecs import hookimpl

CORE = Path(ember.__file__).resolve().parent
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "writing-a-backend.md"

#: the public protocol: what Backend declares (methods and attributes), read off the class itself
PROTOCOL = sorted(n for n in vars(Backend) if not n.startswith("_"))


# ---- a minimal third-party backend: only the device type and a device count -----------------------
class ProtoArray:
    def __init__(self, data):
        self.data = np.asarray(data)

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)


class ProtoBackend(Backend):
    device_type = "protodev"

    def device_count(self) -> int:
        return 2


class ProtoPlugin:
    def __init__(self, backend: Backend, with_kernels: bool = True) -> None:
        self.backend, self.with_kernels = backend, with_kernels

    @hookimpl
    def ember_backend(self):
        return self.backend

    @hookimpl
    def ember_kernels(self, device_type):
        if device_type != self.backend.device_type or not self.with_kernels:
            return None
        return {"from_host": lambda host, index: ProtoArray(np.array(host)),
                "to_host": lambda x: np.array(x.data),
                "device_index": lambda x: 0}


@pytest.fixture
def proto():
    plugin = ProtoPlugin(ProtoBackend())
    ember.plugins.register(plugin, package="ember-protodev", version="0.0")
    try:
        yield plugin.backend
    finally:
        ember.plugins.unregister(plugin)


# ---- the protocol is declared ---------------------------------------------------------------------
_BACKEND_EXPR = re.compile(r"(^|\.)backend\(|_backend\(\)|_host\(\)|\.backends\.(items|values)\(\)|"
                           r"^(tbl|kt)\.backend$")


def _backend_names(scope: ast.AST) -> set[str]:
    """Local names bound to a Backend in ``scope``: ``be = plugins.backend(t)``, ``for t, be in
    reg.backends.items()``, ``backend = ember.plugins.backend(t)``..."""
    names = set()
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and _BACKEND_EXPR.search(ast.unparse(node.value)):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.For) and _BACKEND_EXPR.search(ast.unparse(node.iter)):
            names |= {t.id for t in ast.walk(node.target) if isinstance(t, ast.Name)}
    return names


def _backend_reads(tree: ast.AST) -> set[str]:
    """Attributes core reads from a Backend: on ``tbl.backend`` / ``kt.backend``, on a call of
    ``plugins.backend(t)`` / ``self._backend()`` / ``_host()``, and on a local bound to one."""
    found = set()
    for scope in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Module))]:
        local = _backend_names(scope) if isinstance(scope, ast.FunctionDef) else set()
        for node in ast.walk(scope):
            if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
                continue
            v = node.value
            if isinstance(v, ast.Name) and v.id in local:
                found.add(node.attr)
            elif isinstance(v, ast.Attribute) and v.attr == "backend" and isinstance(v.value, ast.Name) \
                    and v.value.id in ("tbl", "kt"):
                found.add(node.attr)
            elif isinstance(v, ast.Call) and (ast.unparse(v.func).endswith("plugins.backend") or (
                    not v.args and ast.unparse(v.func).endswith(("_backend", "_host")))):
                found.add(node.attr)
    return found


def _core_sources() -> dict[Path, ast.AST]:
    return {p: ast.parse(p.read_text()) for p in CORE.rglob("*.py")}


def test_every_attribute_core_reads_from_a_backend_is_declared_on_Backend():
    reads = {}
    for path, tree in _core_sources().items():
        for name in _backend_reads(tree):
            reads.setdefault(name, []).append(path.relative_to(CORE).as_posix())
    assert {"install_hint", "array_types", "from_object", "synchronize", "memory_allocated",
            "dlpack_device_types"} <= set(reads), sorted(reads)
    undeclared = {n: where for n, where in reads.items() if not hasattr(Backend, n)}
    assert not undeclared, f"core reads these from a backend, but Backend does not declare them: {undeclared}"


def test_core_never_probes_a_backend_with_getattr_or_hasattr():
    probes = []
    for path, tree in _core_sources().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("getattr", "hasattr") and node.args:
                target = ast.unparse(node.args[0])
                if re.search(r"\bbe\b|cpu_be|\bbackend\b|_backend\(\)|_host\(\)", target):
                    probes.append(f"{path.relative_to(CORE)}:{node.lineno}: {ast.unparse(node)}")
    assert not probes, "declare these on Backend and call them directly:\n" + "\n".join(probes)


@pytest.mark.parametrize("name", PROTOCOL)
def test_each_protocol_member_has_a_working_default(name):
    be = ProtoBackend()
    member = getattr(be, name)
    if not callable(member):
        assert member is not None
        return
    params = [p for p in inspect.signature(member).parameters.values() if p.default is inspect.Parameter.empty]
    args = {"index": 0, "dt": ember.float32, "rank": 0, "size": 1, "share": None, "array": np.zeros(1),
            "obj": [1.0], "dtype": None, "program": None}
    call = [args[p.name] for p in params]
    if name in ("dtype_of", "from_object"):  # only the host backend converts host objects
        with pytest.raises(TypeError, match="only the cpu backend"):
            member(*call)
        return
    member(*call)  # the default runs


def test_the_defaults_say_what_a_minimal_backend_has():
    be = ProtoBackend()
    assert be.is_available() and be.device_name(1) == "protodev:1"
    assert be.install_hint == "" and dict(be.unsupported) == {} and be.array_types == ()
    assert be.dlpack_device_types == ()
    assert be.memory_allocated(0) == be.max_memory_allocated(0) == be.memory_reserved(0) \
        == be.max_memory_reserved(0) == 0
    assert be.synchronize(None) is None and be.reset_peak_memory_stats(0) is None and be.empty_cache() is None
    assert be.supported_dtypes(0) and be.emulated_dtypes(0) == () and not be.is_accelerator(0)
    assert be.fork_safe() and not be.has_collectives() and be.collective_communicator(0, 1, None) is None


def test_the_guide_lists_the_whole_protocol():
    text = GUIDE.read_text()
    missing = [n for n in PROTOCOL if f"`{n}" not in text]
    assert not missing, f"docs/writing-a-backend.md does not describe Backend.{missing}"


# ---- core names no device type --------------------------------------------------------------------
_DEVICE_LITERAL = re.compile(r"^(cuda|opencl)(:\d+)?$")


def _literals(source: str) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(textwrap.dedent(source)))
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and _DEVICE_LITERAL.match(n.value)]


@pytest.mark.parametrize("where", ["dispatch.py", "_device_module.py", "backend.py", "utils/dlpack.py",
                                   "creation.from_dlpack", "creation._dlpack_device", "tensor.__dlpack__",
                                   "tensor.__dlpack_device__", "tensor._dlpack_hook"])
def test_no_device_type_literal_in_dispatch_and_dlpack_code(where):
    if where.endswith(".py"):
        source = (CORE / where).read_text()
    else:
        module, name = where.split(".")
        owner = ember.functions.creation if module == "creation" else ember.Tensor
        source = inspect.getsource(getattr(owner, name))
    assert not _literals(source), f"{where} names device types {_literals(source)}"
    assert not hasattr(dispatch, "_EXTRAS") and not hasattr(ember.functions.creation, "_DLPACK_DEVICES")


def test_install_hint_of_an_unregistered_type_comes_from_embers_extras(monkeypatch):
    monkeypatch.setattr(dispatch, "_ember_extras", lambda: frozenset({"protoextra"}))
    with pytest.raises(ember.DeviceError) as info:
        ember.zeros(1, device="protoextra")
    assert "unknown device type 'protoextra'" in str(info.value)
    assert "pip install 'ember[protoextra]'" in str(info.value)
    assert dispatch.install_hint("protoextra") == "pip install 'ember[protoextra]'"
    with pytest.raises(ember.DeviceError, match="install a backend package registering the device type 'nosuch'"):
        ember.zeros(1, device="nosuch")


def test_the_real_extras_are_read_from_the_ember_distribution():
    import importlib.metadata

    try:
        extras = set(importlib.metadata.metadata("ember").get_all("Provides-Extra") or ())
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("ember is not installed (no distribution metadata)")
    assert dispatch._ember_extras() == extras
    assert "cuda" in extras and "opencl" in extras  # pyproject.toml's backend extras


def test_a_declared_install_hint_wins(proto, monkeypatch):
    monkeypatch.setattr(ProtoBackend, "install_hint", "pip install ember-protodev")
    assert dispatch.install_hint("protodev") == "pip install ember-protodev"
    monkeypatch.setattr(ProtoBackend, "device_count", lambda self: 0)
    with pytest.raises(ember.DeviceError, match=r"device protodev:1 is not available: no device found "
                                                r"\(install: pip install ember-protodev\)"):
        ember.zeros(1, device="protodev:1")


_WITHOUT_CUDA = """
import ember
ember.plugins.device_types()  # load the entry points
plugin = ember.plugins._registry.owner.get("cuda")
if plugin is not None:
    ember.plugins.unregister(plugin)
assert ember.plugins.backend("cuda") is None
assert ember.cuda.is_available() is False and ember.cuda.device_count() == 0
print(ember.cuda.unavailable_reason())
try:
    ember.zeros(1, device="cuda")
except ember.DeviceError as exc:
    print(exc)
"""


def test_ember_cuda_without_a_cuda_backend_is_not_available_and_names_the_extra():
    if "cuda" not in dispatch._ember_extras():
        pytest.skip("ember's distribution metadata has no cuda extra here")
    out = subprocess.run([sys.executable, "-c", _WITHOUT_CUDA], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    reason, error = out.stdout.strip().splitlines()
    assert reason == "no backend for 'cuda' is installed (pip install 'ember[cuda]')"
    assert "unknown device type 'cuda'" in error and "pip install 'ember[cuda]'" in error


def test_a_bare_index_means_the_current_accelerator(monkeypatch):
    acc = ember.accelerator.current_accelerator()
    if acc is not None:
        assert ember.zeros(1, device=0).device == ember.device(acc.type, 0)
    monkeypatch.setattr(ember.accelerator, "current_accelerator", lambda check_available=False: None)
    with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
        ember.zeros(1, device=7)


# ---- ember.<type> and Tensor.<type>() from a minimal backend --------------------------------------
def test_a_minimal_backend_gets_its_device_module(proto):
    mod = ember.protodev
    assert isinstance(mod, DeviceModule) and mod.__name__ == "ember.protodev"
    import ember.protodev as imported

    assert imported is mod and sys.modules["ember.protodev"] is mod
    assert mod.is_available() and mod.unavailable_reason() == "" and mod.device_count() == 2
    assert mod.current_device() == 0 and mod.get_device_name(1) == "protodev:1"
    mod.set_device(1)
    try:
        assert mod.current_device() == 1
    finally:
        mod.set_device(0)
    mod.synchronize()
    mod.synchronize(1)
    assert mod.memory_allocated() == mod.max_memory_allocated(1) == mod.memory_reserved("protodev:1") == 0
    assert mod.max_memory_reserved(ember.device("protodev:0")) == 0
    mod.reset_peak_memory_stats()
    mod.empty_cache()


def test_a_minimal_backend_gets_tensor_helpers(proto):
    t = ember.arange(3.0)
    assert t.is_protodev is False
    on = t.protodev()
    assert on.device == ember.device("protodev:0") and on.is_protodev
    assert t.protodev(1).device == ember.device("protodev:1")
    assert on.cpu().tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="Invalid device, must be protodev device"):
        t.protodev("cpu")
    assert "protodev" in ember._device_module.generated_tensor_names()
    lin = ember.nn.Linear(2, 3).protodev(1)  # Module.<type>() too, as PyTorch generates for privateuse1
    assert lin.weight.device == ember.device("protodev:1") and lin.weight.is_protodev


def test_a_backend_without_dlpack_refuses_export_and_import_clearly(proto, monkeypatch):
    on = ember.arange(3.0).protodev()
    with pytest.raises(BufferError, match="the protodev backend has no DLPack support"):
        on.__dlpack__()
    with pytest.raises(BufferError, match="the protodev backend has no DLPack support"):
        on.__dlpack_device__()

    class Producer:  # a DLPack producer on a device code no registered backend declares
        def __init__(self, code):
            self.code = code

        def __dlpack__(self, **kwargs):
            raise AssertionError("must not be asked for its memory")

        def __dlpack_device__(self):
            return (self.code, 1)

    with pytest.raises(RuntimeError, match=r"unsupported DLPack device type 12: no registered backend imports it"):
        ember.from_dlpack(Producer(12))
    # the backend that declares the code is the one asked; without a from_dlpack hook, it says so
    monkeypatch.setattr(ProtoBackend, "dlpack_device_types", (12,))
    with pytest.raises(RuntimeError, match="the protodev backend cannot import DLPack tensors"):
        ember.from_dlpack(Producer(12))


def test_dlpack_codes_come_from_the_backends():
    assert 1 in ember.plugins.backend("cpu").dlpack_device_types  # kDLCPU
    cuda = ember.plugins.backend("cuda")
    if cuda is not None:
        assert 2 in cuda.dlpack_device_types  # kDLCUDA
    t = ember.from_dlpack(np.arange(4.0))
    assert t.device == ember.device("cpu") and t.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_an_unavailable_minimal_backend_module_reports_it(monkeypatch):
    monkeypatch.setattr(ProtoBackend, "device_count", lambda self: 0)
    plugin = ProtoPlugin(ProtoBackend(), with_kernels=False)
    ember.plugins.register(plugin, package="ember-protodev", version="0.0")
    try:
        assert ember.protodev.is_available() is False and ember.protodev.device_count() == 0
        assert ember.protodev.unavailable_reason() == "no device found"
        with pytest.raises(ember.DeviceError, match="protodev is not available: no device found"):
            ember.protodev.memory_allocated()
        ember.protodev.empty_cache()  # nothing to free: no error, as torch.cuda.empty_cache() on a CPU build
    finally:
        ember.plugins.unregister(plugin)


def test_an_unregistered_type_has_no_module():
    with pytest.raises(AttributeError, match="module 'ember' has no attribute 'nosuchdevice'"):
        ember.nosuchdevice  # noqa: B018
    assert isinstance(ember.cuda, DeviceModule) and isinstance(ember.cpu, DeviceModule)  # as torch.cuda/cpu
    assert ember.cpu.device_count() == 1


# ---- the real OpenCL backend (PoCL here) ---------------------------------------------------------
@pytest.fixture
def opencl():
    if "opencl" not in ember.plugins.device_types() or not ember.plugins.backend("opencl").is_available():
        pytest.skip("no OpenCL backend with a device here")
    return ember.opencl


def test_ember_opencl_is_generated_from_its_backend(opencl):
    assert isinstance(opencl, DeviceModule) and sys.modules["ember.opencl"] is opencl
    ember.ones(1)  # builds a kernel table: the device types' helpers are generated then
    assert "opencl" in ember._device_module.generated_tensor_names()  # not hand-written in tensor.py
    assert opencl.is_available() and opencl.device_count() == ember.plugins.backend("opencl").device_count() >= 1
    assert opencl.get_device_name() == ember.plugins.backend("opencl").device_name(0)
    opencl.reset_peak_memory_stats()
    before = opencl.memory_allocated()
    t = ember.ones(1 << 16).opencl()
    assert t.is_opencl and t.device == ember.device("opencl:0") and not t.is_cuda
    opencl.synchronize()
    assert opencl.memory_allocated() >= before + (1 << 16) * 4  # the backend counts its buffers
    assert opencl.max_memory_allocated() >= opencl.memory_allocated()
    assert opencl.memory_reserved() >= opencl.memory_allocated()
    assert t.opencl() is t and t.cpu().sum().item() == float(1 << 16)
    with pytest.raises(BufferError, match="the opencl backend has no DLPack support"):
        t.__dlpack__()
    del t
    opencl.empty_cache()
